//! Duplicate customers over HTTP, on SQLite and PostgreSQL: 409 on create
//! and its override, the review list and dismissals, merging through the
//! API and through the compare page, and what the merged id answers.

mod support;

use kehu_store::both;
use serde_json::{json, Value};
use support::{enc, error_fields, hidden_csrf, id_of, status_of, Answer, TestApp, PASSWORD};

/// The ids listed in a 409's `duplicates`, with their reasons.
fn listed(doc: &Value) -> Vec<(String, Vec<String>)> {
    doc["duplicates"]
        .as_array()
        .unwrap_or_else(|| panic!("no duplicates in {doc}"))
        .iter()
        .map(|d| {
            let reasons = d["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect();
            (id_of(d), reasons)
        })
        .collect()
}

/// Every group of the review list as (reason, key), following cursors.
async fn review(app: &TestApp, token: &str, limit: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut path = format!("/api/v1/duplicates?limit={limit}");
    loop {
        let page = app.get(token, &path).expect(200).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        for g in items {
            assert!(g["pairs"].as_array().is_some_and(|p| !p.is_empty()), "{g}");
            out.push((
                g["reason"].as_str().unwrap().into(),
                g["key"].as_str().unwrap().into(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/duplicates?limit={limit}&cursor={}", enc(c)),
            None => return out,
        }
    }
}

both!(create_refuses_duplicates_unless_told, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, li) = app.user("li", "agent", "一部").await;
    let (_, wang) = app.user("wang", "agent", "一部").await;
    let first = app
        .customer(&li, json!({"name": "张伟", "kind": "person", "mobile": "13812345678", "email": "zw@example.com", "company": "华为"}))
        .await;
    let id = id_of(&first);

    let doc = app
        .post(
            &li,
            "/api/v1/customers",
            json!({"name": "张伟", "kind": "person", "company": "华为", "email": "ZW@example.com"}),
        )
        .problem(409)
        .await;
    assert_eq!(
        listed(&doc),
        vec![(id.clone(), vec!["email".to_string(), "name".to_string()])]
    );
    assert_eq!(doc["duplicates"][0]["name"], "张伟");
    assert!(
        doc["detail"].as_str().unwrap().contains("allow_duplicate"),
        "{doc}"
    );
    let doc = app
        .post(
            &li,
            "/api/v1/customers",
            json!({"name": "张三", "kind": "person", "mobile": "+86 138-1234-5678"}),
        )
        .problem(409)
        .await;
    assert_eq!(listed(&doc), vec![(id.clone(), vec!["mobile".to_string()])]);
    let page = app.get(&li, "/api/v1/customers").expect(200).await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        1,
        "nothing created"
    );

    // Knowingly created; and a colleague who cannot see the first creates freely.
    let body =
        json!({"name": "张三", "kind": "person", "mobile": "13812345678", "allow_duplicate": true});
    app.post(&li, "/api/v1/customers", body).expect(201).await;
    app.customer(
        &wang,
        json!({"name": "张三", "kind": "person", "mobile": "13812345678"}),
    )
    .await;
    // allow_duplicate is no field of a customer's own.
    app.patch(
        &li,
        &format!("/api/v1/customers/{id}"),
        json!({"allow_duplicate": true}),
    )
    .expect(200)
    .await;
    app.post(
        &li,
        "/api/v1/customers",
        json!({"name": "x", "kind": "person", "allow_duplicate": "yes"}),
    )
    .problem(422)
    .await;
});

both!(review_list_and_dismissals, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let (_, mgr) = app.user("mgr", "manager", "一部").await;
    let (_, li) = app.user("li", "agent", "一部").await;
    let (_, ro) = app.user("ro", "read_only", "").await;
    let mut ids = Vec::new();
    for (name, mobile, email) in [
        ("甲", "13800000001", ""),
        ("甲乙", "13800000001", ""),
        ("丙", "13800000002", "same@example.com"),
        ("丁", "13800000002", "same@example.com"),
        ("戊", "", ""),
    ] {
        let mut body = json!({"name": name, "kind": "person", "allow_duplicate": true});
        if !mobile.is_empty() {
            body["mobile"] = json!(mobile);
        }
        if !email.is_empty() {
            body["email"] = json!(email);
        }
        ids.push(id_of(&app.customer(&li, body).await));
    }
    app.customer(&li, json!({"name": "小米", "kind": "organization"}))
        .await;
    app.post(
        &li,
        "/api/v1/customers",
        json!({"name": "小米", "kind": "organization", "allow_duplicate": true}),
    )
    .expect(201)
    .await;
    let all = vec![
        ("mobile".to_string(), "13800000001".to_string()),
        ("mobile".into(), "13800000002".into()),
        ("email".into(), "same@example.com".into()),
        ("name".into(), "小米".into()),
    ];
    assert_eq!(review(&app, &admin, 1).await, all);
    assert_eq!(review(&app, &mgr, 3).await, all, "the manager's team");
    let page = app.get(&admin, "/api/v1/duplicates").expect(200).await;
    let first = &page["items"][0];
    assert_eq!(first["size"], 2);
    assert_eq!(first["pairs"], json!([[ids[0], ids[1]]]));
    assert_eq!(first["customers"][0]["name"], "甲");
    app.get(&li, "/api/v1/duplicates").problem(403).await;
    app.get(&ro, "/api/v1/duplicates").problem(403).await;
    app.get(&admin, "/api/v1/duplicates?cursor=nonsense")
        .problem(400)
        .await;

    let dismiss = |token: &str, body: Value| app.post(token, "/api/v1/duplicates/dismissals", body);
    dismiss(&mgr, json!({"customer_ids": [ids[1], ids[0]]}))
        .expect(204)
        .await;
    dismiss(&admin, json!({"customer_ids": [ids[0], ids[1]]}))
        .expect(204)
        .await;
    assert_eq!(review(&app, &admin, 10).await, all[1..].to_vec());
    let doc = dismiss(&admin, json!({"customer_ids": [ids[0]]}))
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), ["customer_ids"]);
    dismiss(&admin, json!({"customer_ids": [ids[0], ids[0]]}))
        .problem(422)
        .await;
    dismiss(
        &admin,
        json!({"customer_ids": [ids[0], "0190f1e2-0000-7000-8000-000000000000"]}),
    )
    .problem(404)
    .await;
    dismiss(&li, json!({"customer_ids": [ids[2], ids[3]]}))
        .problem(403)
        .await;
    // The dismissal is on both customers' timelines.
    let timeline = app
        .get(&li, &format!("/api/v1/customers/{}/timeline", ids[0]))
        .expect(200)
        .await;
    let dismissals = timeline
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["action"] == "not_duplicate")
        .count();
    assert_eq!(dismissals, 1, "recorded once");
});

both!(merge_over_the_api, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let (_, li) = app.user("li", "agent", "一部").await;
    let (_, wang) = app.user("wang", "agent", "一部").await;
    let (_, ro) = app.user("ro", "read_only", "").await;
    let keep = app
        .customer(&li, json!({"name": "欧阳娜娜", "kind": "person", "mobile": "13812345678", "tags": ["VIP"], "city": "杭州"}))
        .await;
    let gone = app
        .post(&li, "/api/v1/customers", json!({"name": "欧阳 娜娜", "kind": "person", "mobile": "13812345678", "email": "nana@example.com", "city": "上海", "tags": ["老客户"], "allow_duplicate": true}))
        .expect(201)
        .await;
    let (k, g) = (id_of(&keep), id_of(&gone));
    app.post(
        &li,
        &format!("/api/v1/customers/{g}/interactions"),
        json!({"kind": "call", "body": "回访一次"}),
    )
    .expect(201)
    .await;
    let other = app
        .customer(&wang, json!({"name": "王五", "kind": "person"}))
        .await;
    let w = id_of(&other);
    let merge = |token: &str, into: &str, body: Value| {
        app.post(token, &format!("/api/v1/customers/{into}/merge"), body)
    };

    // Refusals first; nothing changes.
    let doc = merge(&li, &k, json!({"merged_id": k})).problem(422).await;
    assert_eq!(error_fields(&doc), ["merged_id"]);
    let doc = merge(
        &li,
        &k,
        json!({"merged_id": "0190f1e2-0000-7000-8000-000000000000"}),
    )
    .problem(422)
    .await;
    assert_eq!(error_fields(&doc), ["merged_id"]);
    merge(&li, &k, json!({"merged_id": "not-an-id"}))
        .problem(422)
        .await;
    merge(&li, &k, json!({"merged_id": w})).problem(422).await;
    merge(&li, &w, json!({"merged_id": k})).problem(404).await;
    merge(
        &li,
        "0190f1e2-0000-7000-8000-000000000000",
        json!({"merged_id": k}),
    )
    .problem(404)
    .await;
    merge(&ro, &k, json!({"merged_id": g})).problem(403).await;
    let doc = merge(
        &li,
        &k,
        json!({"merged_id": g, "choices": {"password": "merged", "city": "theirs"}}),
    )
    .problem(422)
    .await;
    assert_eq!(error_fields(&doc), ["choices.city", "choices.password"]);
    merge(&li, &k, json!({"merged_id": g, "extra": 1}))
        .problem(422)
        .await;
    app.get(&li, &format!("/api/v1/customers/{g}"))
        .expect(200)
        .await;

    let merged = merge(
        &li,
        &k,
        json!({"merged_id": g, "choices": {"city": "merged"}}),
    )
    .expect(200)
    .await;
    assert_eq!(merged["id"], k.as_str());
    assert_eq!(merged["name"], "欧阳娜娜");
    assert_eq!(merged["city"], "上海", "chosen");
    assert_eq!(merged["email"], "nana@example.com", "filled from the other");
    assert_eq!(merged["tags"], json!(["VIP", "老客户"]));

    // The old id answers with the survivor; lists and search forget it.
    let doc = app
        .get(&li, &format!("/api/v1/customers/{g}"))
        .problem(404)
        .await;
    assert_eq!(doc["merged_into"], k.as_str());
    app.get(&wang, &format!("/api/v1/customers/{g}"))
        .problem(404)
        .await;
    let doc = app
        .get(&wang, &format!("/api/v1/customers/{g}"))
        .problem(404)
        .await;
    assert!(
        doc.get("merged_into").is_none(),
        "nothing named outside scope: {doc}"
    );
    app.patch(
        &li,
        &format!("/api/v1/customers/{g}"),
        json!({"city": "北京"}),
    )
    .problem(404)
    .await;
    let page = app.get(&li, "/api/v1/customers").expect(200).await;
    let ids: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(ids, vec![k.clone()]);
    let found = app
        .get(
            &li,
            &format!("/api/v1/customers?q={}", enc("nana@example.com")),
        )
        .expect(200)
        .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["id"], k.as_str());
    let bin = app
        .get(&admin, "/api/v1/customers?deleted=true")
        .expect(200)
        .await;
    assert!(
        bin["items"].as_array().unwrap().is_empty(),
        "not in the recycle bin"
    );
    app.post(&admin, &format!("/api/v1/customers/{g}/restore"), json!({}))
        .problem(404)
        .await;

    // The survivor's timeline has the other's interaction and history.
    let timeline = app
        .get(&li, &format!("/api/v1/customers/{k}/timeline"))
        .expect(200)
        .await;
    let items = timeline.as_array().unwrap();
    assert!(items
        .iter()
        .any(|i| i["type"] == "interaction" && i["body"] == "回访一次"));
    assert!(items
        .iter()
        .any(|i| i["action"] == "create" && i["entity_id"] == g.as_str()));
    let entry = items
        .iter()
        .find(|i| i["action"] == "merge" && i["entity_id"] == k.as_str())
        .unwrap();
    let change = |f: &str| {
        entry["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["field"] == f)
            .unwrap()["new"]
            .clone()
    };
    assert_eq!(change("merged_id"), g.as_str());
    assert_eq!(change("choices")["city"], "merged");

    // In the OpenAPI document.
    let doc = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    for path in [
        "/api/v1/duplicates",
        "/api/v1/duplicates/dismissals",
        "/api/v1/customers/{id}/merge",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
});

/// A page's HTML as this session sees it.
async fn page_html(app: &TestApp, session: &str, path: &str) -> String {
    app.page(session, path)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

both!(duplicates_in_the_web_ui, |kind| async move {
    let app = TestApp::spawn(kind).await;
    app.user("admin", "admin", "").await;
    let (_, li_token) = app.user("li", "agent", "").await;
    let admin = app.session("admin", PASSWORD).await;
    let li = app.session("li", PASSWORD).await;
    let first = app
        .customer(
            &li_token,
            json!({"name": "李雷", "kind": "person", "mobile": "13812345678"}),
        )
        .await;
    let a = id_of(&first);

    // The form warns, names the match, and creates on "create anyway".
    let form = page_html(&app, &li, "/customers/new").await;
    let csrf = hidden_csrf(&form).unwrap();
    let fields = [
        ("_csrf", csrf.as_str()),
        ("kind", "person"),
        ("name", "李 雷"),
        ("mobile", "13812345678"),
    ];
    let r = app
        .form(&li, "/customers/new", &fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("duplicate-warning") && html.contains(&format!("/customers/{a}")),
        "{html}"
    );
    assert!(html.contains("手机号相同") && html.contains("仍然新建"));
    let mut anyway = fields.to_vec();
    anyway.push(("allow_duplicate", "1"));
    let r = app
        .form(&li, "/customers/new", &anyway)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let b = r.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/customers/")
        .to_string();

    // Only reviewers get the list and the nav link.
    assert_eq!(status_of(app.page(&li, "/duplicates")).await, 403);
    let nav = page_html(&app, &li, "/customers").await;
    assert!(!nav.contains("href=\"/duplicates\""));
    let list = page_html(&app, &admin, "/duplicates").await;
    assert!(list.contains("href=\"/duplicates\"") && list.contains("13812345678"));
    assert!(
        list.contains(&format!("/duplicates/compare?a={a}&amp;b={b}")),
        "{list}"
    );

    // Compare, then merge keeping b with a's name.
    let page = app
        .page(&admin, &format!("/duplicates/compare?a={a}&b={b}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("name=\"choice.name\""), "names differ");
    assert!(
        !html.contains("name=\"choice.mobile\""),
        "mobiles are equal"
    );
    let csrf = hidden_csrf(&html).unwrap();
    let r = app
        .form(
            &admin,
            "/duplicates/merge",
            &[
                ("_csrf", &csrf),
                ("a", &a),
                ("b", &b),
                ("survivor", "b"),
                ("choice.name", "a"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/customers/{b}").as_str());
    let kept = app
        .get(&li_token, &format!("/api/v1/customers/{b}"))
        .expect(200)
        .await;
    assert_eq!(kept["name"], "李雷");
    // The old page leads to the survivor.
    let r = app
        .page(&li, &format!("/customers/{a}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/customers/{b}").as_str());
    let page = app
        .page(&li, &format!("/customers/{b}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("合并"), "the merge is on the timeline");
    let list = page_html(&app, &admin, "/duplicates").await;
    assert!(!list.contains("13812345678"), "nothing left to review");
});
