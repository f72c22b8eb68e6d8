//! The REST API of the customer archive, end to end over loopback, on
//! SQLite and on PostgreSQL.

mod support;

use kehu_store::both;
use reqwest::header::{ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_TYPE};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use support::{
    content_type, enc, error_fields, error_message, expect, id_of, problem, status_of, Answer,
    TestApp,
};

const NANA_MOBILE: &str = "13812345678";
const NANA_MASKED: &str = "138****5678";

/// The ids of a customer page's items, in order.
fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {page}"))
        .iter()
        .map(id_of)
        .collect()
}

fn id_set(page: &Value) -> BTreeSet<String> {
    ids(page).into_iter().collect()
}

/// Lists customers as `token` with the given query string.
async fn list(app: &TestApp, token: &str, query: &str) -> Value {
    let r = app
        .get(token, &format!("/api/v1/customers{query}"))
        .send()
        .await
        .unwrap();
    expect(r, 200).await
}

// ------------------------------------------------------------ the contract

both!(customer_contract, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let (li_id, li) = app.user("li", "agent", "销售一部").await;

    let r = app
        .post(
            &li,
            "/api/v1/customers",
            json!({"name": "欧阳娜娜", "kind": "person", "mobile": "+86 138 1234 5678"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(content_type(r.headers()), "application/json");
    let c = expect(r, 201).await;
    let id = id_of(&c);
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "ids are UUIDs: {id}");
    assert_eq!(c["mobile"], NANA_MOBILE, "mobile normalised");
    assert_eq!(c["mobile_masked"], false);
    assert_eq!(c["name"], "欧阳娜娜");
    assert_eq!(c["kind"], "person");
    assert_eq!(c["owner_id"], li_id.as_str(), "the creator owns it");
    assert_eq!(c["owner_name"], "li");
    assert_eq!(c["team_name"], "销售一部");
    assert_eq!(c["deleted_at"], Value::Null);
    let path = format!("/api/v1/customers/{id}");

    let got = app.get(&li, &path).expect(200).await;
    assert_eq!(got["id"], id.as_str());
    assert_eq!(got["mobile"], NANA_MOBILE);

    let patched = app
        .patch(
            &li,
            &path,
            json!({"city": "杭州", "email": "Nana.Ouyang@Example.com"}),
        )
        .expect(200)
        .await;
    assert_eq!(patched["city"], "杭州");
    assert_eq!(patched["email"], "nana.ouyang@example.com");
    assert_eq!(patched["mobile"], NANA_MOBILE, "absent fields stay");
    assert_eq!(patched["name"], "欧阳娜娜");
    let cleared = app
        .patch(&li, &path, json!({"city": null}))
        .expect(200)
        .await;
    assert_eq!(cleared["city"], Value::Null, "null clears");
    assert_eq!(cleared["email"], "nana.ouyang@example.com");

    // Into the recycle bin.
    app.delete(&admin, &path).expect(204).await;
    app.get(&admin, &path).problem(404).await;
    app.get(&li, &path).problem(404).await;
    app.patch(&li, &path, json!({"city": "北京"}))
        .problem(404)
        .await;
    app.delete(&admin, &path).problem(404).await;
    assert!(ids(&list(&app, &admin, "").await).is_empty());
    let bin = list(&app, &admin, "?deleted=true").await;
    assert_eq!(ids(&bin), vec![id.clone()]);
    assert_ne!(bin["items"][0]["deleted_at"], Value::Null);
    app.get(&li, "/api/v1/customers?deleted=true")
        .problem(403)
        .await;

    // And back.
    app.post(&li, &format!("{path}/restore"), json!({}))
        .problem(403)
        .await;
    let restored = app
        .post(&admin, &format!("{path}/restore"), json!({}))
        .expect(200)
        .await;
    assert_eq!(restored["deleted_at"], Value::Null);
    assert_eq!(restored["mobile"], NANA_MOBILE);
    app.get(&li, &path).expect(200).await;
    assert!(ids(&list(&app, &admin, "?deleted=true").await).is_empty());
    app.post(&admin, &format!("{path}/restore"), json!({}))
        .problem(404)
        .await;
    // Not a UUID: simply not found.
    app.get(&li, "/api/v1/customers/not-an-id")
        .problem(404)
        .await;
});

both!(search_finds_by_every_key, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, li) = app.user("li", "agent", "").await;
    let nana = app
        .customer(
            &li,
            json!({"name": "欧阳娜娜", "kind": "person", "mobile": "+86 138 1234 5678",
                   "email": "nana.ouyang@example.com", "tags": ["VIP"]}),
        )
        .await;
    // Something else to not find.
    app.customer(
        &li,
        json!({"name": "张伟", "kind": "person", "mobile": "13900001111",
               "email": "zw@other.cn", "tags": ["普通"]}),
    )
    .await;
    app.customer(
        &li,
        json!({"name": "深圳娜美科技有限公司", "kind": "organization"}),
    )
    .await;
    let nana_id = id_of(&nana);
    for q in [
        "娜娜",
        "欧阳娜娜",
        "ouyang",
        "OuYang",
        "ouyangnana",
        "oynn",
        NANA_MOBILE,
        "138 1234 5678",
        "5678",
        "nana.ouyang@example.com",
        "example.com",
        "VIP",
        "vip",
        // Full-width input, as Chinese keyboards type it.
        "５６７８",
        "ＯＹＮＮ",
    ] {
        let page = list(&app, &li, &format!("?q={}", enc(q))).await;
        assert_eq!(ids(&page), vec![nana_id.clone()], "search {q:?}: {page}");
    }
    for q in ["nothing-like-this", "qqqq", "2468", "%", "_", "%%", "\\"] {
        let page = list(&app, &li, &format!("?q={}", enc(q))).await;
        assert!(ids(&page).is_empty(), "search {q:?} finds nothing: {page}");
    }
    // A blank query is no filter.
    assert_eq!(ids(&list(&app, &li, "?q=%20").await).len(), 3);
});

// ------------------------------------------------------------ validation

both!(bad_input_is_a_problem_document, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, li) = app.user("li", "agent", "").await;
    let post = |body: Value| app.post(&li, "/api/v1/customers", body);

    let doc = post(json!({"name": "张伟", "kind": "person", "mobile": "12345"}))
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), vec!["mobile"]);
    let zh = error_message(&doc, "mobile");
    assert!(
        zh.contains("手机号"),
        "Chinese is the default language: {zh}"
    );
    let doc = post(json!({"name": "张伟", "kind": "person", "mobile": "12345"}))
        .header(ACCEPT_LANGUAGE, "en")
        .problem(422)
        .await;
    let en = error_message(&doc, "mobile");
    assert!(
        en.contains("mobile") && en.is_ascii(),
        "English on request: {en}"
    );
    let doc = post(json!({"kind": "person", "mobile": "12345"}))
        .header(ACCEPT_LANGUAGE, "en-GB,en;q=0.9")
        .problem(422)
        .await;
    assert_eq!(error_message(&doc, "name"), "is required");

    let doc = post(json!({"kind": "person"})).problem(422).await;
    assert_eq!(error_fields(&doc), vec!["name"]);
    assert_eq!(doc["errors"][0]["code"], "required");

    let doc = post(json!({"name": "张伟", "kind": "robot"}))
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), vec!["kind"]);

    // Every problem at once.
    let doc = post(json!({"kind": "robot", "mobile": "12345", "email": "nope"}))
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), ["email", "kind", "mobile", "name"]);

    // Unknown fields are refused, not ignored.
    let doc = post(json!({"name": "张伟", "kind": "person", "nickname": "伟哥"}))
        .problem(422)
        .await;
    assert!(
        doc["detail"].as_str().unwrap_or("").contains("nickname"),
        "the unknown field is named: {doc}"
    );

    // Not JSON at all.
    let doc = app
        .http
        .post(app.url("/api/v1/customers"))
        .bearer_auth(&li)
        .header(CONTENT_TYPE, "application/json")
        .body("{\"name\": ")
        .problem(400)
        .await;
    assert!(doc["detail"].is_string());

    // JSON under the wrong content type.
    app.http
        .post(app.url("/api/v1/customers"))
        .bearer_auth(&li)
        .header(CONTENT_TYPE, "text/plain")
        .body(json!({"name": "张伟", "kind": "person"}).to_string())
        .problem(415)
        .await;
    // Form-encoded.
    app.http
        .post(app.url("/api/v1/customers"))
        .bearer_auth(&li)
        .form(&[("name", "张伟"), ("kind", "person")])
        .problem(415)
        .await;

    // A bad query parameter.
    let doc = app
        .get(&li, "/api/v1/customers?kind=robot")
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), vec!["kind"]);
    app.get(&li, "/api/v1/customers?limit=many")
        .problem(400)
        .await;

    // An unknown API route is a problem document too.
    app.get(&li, "/api/v1/nothing-here").problem(404).await;

    // Nothing was written.
    assert!(ids(&list(&app, &li, "").await).is_empty());
});

// ------------------------------------------------------------ roles and scope

both!(roles_and_scope, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, owner) = app.user("boss", "owner", "").await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let (_, m_a) = app.user("ma", "manager", "一部").await;
    let (a1_id, a1) = app.user("a1", "agent", "一部").await;
    let (a2_id, a2) = app.user("a2", "agent", "一部").await;
    let (b1_id, b1) = app.user("b1", "agent", "二部").await;
    let (_, fin) = app.user("fin", "finance", "").await;
    let (_, ro) = app.user("ro", "read_only", "").await;

    let c1 = id_of(
        &app.customer(
            &a1,
            json!({"name": "王芳", "kind": "person", "mobile": NANA_MOBILE}),
        )
        .await,
    );
    let c2 = id_of(
        &app.customer(&a2, json!({"name": "李娜", "kind": "person"}))
            .await,
    );
    let c3 = id_of(
        &app.customer(&b1, json!({"name": "刘洋", "kind": "person"}))
            .await,
    );
    let all: BTreeSet<String> = [&c1, &c2, &c3].into_iter().cloned().collect();
    let path = |id: &str| format!("/api/v1/customers/{id}");

    // Who sees what, listing and by id.
    let sees: Vec<(&str, &String, Vec<&String>)> = vec![
        ("owner", &owner, vec![&c1, &c2, &c3]),
        ("admin", &admin, vec![&c1, &c2, &c3]),
        ("manager", &m_a, vec![&c1, &c2]),
        ("agent a1", &a1, vec![&c1]),
        ("agent a2", &a2, vec![&c2]),
        ("agent b1", &b1, vec![&c3]),
        ("finance", &fin, vec![&c1, &c2, &c3]),
        ("read_only", &ro, vec![&c1, &c2, &c3]),
    ];
    for (who, token, visible) in &sees {
        let visible: BTreeSet<String> = visible.iter().map(|s| s.to_string()).collect();
        assert_eq!(id_set(&list(&app, token, "").await), visible, "{who} lists");
        for c in &all {
            let want = if visible.contains(c) { 200 } else { 404 };
            assert_eq!(
                status_of(app.get(token, &path(c))).await,
                want,
                "{who} reads {c}"
            );
        }
    }

    // Finance and read-only read but never write.
    for (who, token) in [("finance", &fin), ("read_only", &ro)] {
        app.post(
            token,
            "/api/v1/customers",
            json!({"name": "新客户", "kind": "person"}),
        )
        .problem(403)
        .await;
        app.patch(token, &path(&c1), json!({"city": "北京"}))
            .problem(403)
            .await;
        app.delete(token, &path(&c1)).problem(403).await;
        assert_eq!(
            status_of(app.get(token, "/api/v1/customers?deleted=true")).await,
            403,
            "{who} has no recycle bin"
        );
    }

    // Agents edit their own but may not delete or give away.
    app.patch(&a1, &path(&c1), json!({"city": "北京"}))
        .expect(200)
        .await;
    app.delete(&a1, &path(&c1)).problem(403).await;
    for to in [&a2_id, &b1_id] {
        let doc = app
            .patch(&a1, &path(&c1), json!({"owner_id": to.as_str()}))
            .problem(422)
            .await;
        assert_eq!(error_fields(&doc), vec!["owner_id"]);
    }
    let doc = app
        .post(
            &a1,
            "/api/v1/customers",
            json!({"name": "送人", "kind": "person", "owner_id": a2_id.as_str()}),
        )
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), vec!["owner_id"]);
    // Out of scope is not found, whatever the verb.
    app.patch(&a1, &path(&c2), json!({"city": "北京"}))
        .problem(404)
        .await;

    // The manager reassigns within the team, not across it.
    let doc = app
        .patch(&m_a, &path(&c2), json!({"owner_id": b1_id.as_str()}))
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), vec!["owner_id"]);
    let moved = app
        .patch(&m_a, &path(&c2), json!({"owner_id": a1_id.as_str()}))
        .expect(200)
        .await;
    assert_eq!(moved["owner_id"], a1_id.as_str());
    assert_eq!(status_of(app.get(&a1, &path(&c2))).await, 200);
    assert_eq!(status_of(app.get(&a2, &path(&c2))).await, 404);
    app.delete(&m_a, &path(&c3)).problem(404).await;

    // An admin moves a customer across teams; its team follows the owner.
    let moved = app
        .patch(&admin, &path(&c3), json!({"owner_id": a2_id.as_str()}))
        .expect(200)
        .await;
    assert_eq!(moved["team_name"], "一部");
    assert_eq!(status_of(app.get(&m_a, &path(&c3))).await, 200);
    assert_eq!(status_of(app.get(&b1, &path(&c3))).await, 404);
    // Managers delete in their team.
    app.delete(&m_a, &path(&c3)).expect(204).await;

    // The audit log is for admins.
    for token in [&m_a, &a1, &fin, &ro] {
        app.get(token, "/api/v1/audit").problem(403).await;
    }
    for token in [&owner, &admin] {
        app.get(token, "/api/v1/audit").expect(200).await;
    }
});

both!(phone_masking_and_audited_reveal, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, owner) = app.user("boss", "owner", "").await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let (_, m_a) = app.user("ma", "manager", "一部").await;
    let (_, li) = app.user("li", "agent", "一部").await;
    let (_, fin) = app.user("fin", "finance", "").await;
    let (_, ro) = app.user("ro", "read_only", "").await;
    let c = id_of(
        &app.customer(
            &li,
            json!({"name": "华为技术有限公司", "kind": "organization", "mobile": NANA_MOBILE}),
        )
        .await,
    );
    let path = format!("/api/v1/customers/{c}");
    let reveal = format!("{path}/reveal-phone");

    // Finance and read-only see numbers masked, by id and in lists.
    for token in [&fin, &ro] {
        let seen = app.get(token, &path).expect(200).await;
        assert_eq!(seen["mobile"], NANA_MASKED);
        assert_eq!(seen["mobile_masked"], true);
        let listed = list(&app, token, "").await;
        assert_eq!(
            listed["items"][0]["mobile"], NANA_MASKED,
            "masked in lists too"
        );
    }
    // Everyone else sees them in full.
    for token in [&owner, &admin, &m_a, &li] {
        let seen = app.get(token, &path).expect(200).await;
        assert_eq!(seen["mobile"], NANA_MOBILE);
        assert_eq!(seen["mobile_masked"], false);
    }

    // Read-only may not reveal one; finance may, and the reveal is audited.
    app.post(&ro, &reveal, json!({})).problem(403).await;
    let revealed = app.post(&fin, &reveal, json!({})).expect(200).await;
    assert_eq!(revealed["mobile"], NANA_MOBILE);
    let reveals = app
        .get(
            &admin,
            &format!("/api/v1/audit?action=reveal&customer_id={c}"),
        )
        .expect(200)
        .await;
    let reveals = reveals.as_array().unwrap();
    assert_eq!(reveals.len(), 1, "{reveals:?}");
    assert_eq!(reveals[0]["actor_login"], "fin");
    assert_eq!(reveals[0]["entity"], "customer");
    assert_eq!(reveals[0]["entity_id"], c.as_str());
    assert_eq!(reveals[0]["customer_id"], c.as_str());

    // Nor do the changes on the timeline show them in full.
    app.post(
        &li,
        &format!("{path}/contacts"),
        json!({"name": "李经理", "mobile": "13987654321"}),
    )
    .expect(201)
    .await;
    app.patch(&li, &path, json!({"mobile": "13811112222"}))
        .expect(200)
        .await;
    let timeline = |token: &str| {
        let r = app.get(token, &format!("{path}/timeline"));
        async move { r.send().await.unwrap().text().await.unwrap() }
    };
    for (who, token) in [("read_only", &ro), ("finance", &fin)] {
        let body = timeline(token).await;
        for number in [NANA_MOBILE, "13987654321", "13811112222"] {
            assert!(
                !body.contains(number),
                "{who} must not read {number} in full in the timeline: {body}"
            );
        }
        assert!(
            body.contains("138****2222"),
            "{who} reads it masked: {body}"
        );
    }
    let body = timeline(&li).await;
    assert!(
        body.contains("13811112222"),
        "the agent reads it in full: {body}"
    );
});

both!(only_admins_manage_users, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, owner) = app.user("boss", "owner", "").await;
    let (admin_id, admin) = app.user("admin", "admin", "").await;
    let (_, m_a) = app.user("ma", "manager", "一部").await;
    let (_, a1) = app.user("a1", "agent", "一部").await;
    let new_user = |login: &str, role: &str| json!({"login": login, "name": "新人", "role": role, "team": "一部", "password": "long-enough-pw"});

    let created = app
        .post(&admin, "/api/v1/users", new_user("xiaowang", "agent"))
        .expect(201)
        .await;
    assert_eq!(created["login"], "xiaowang");
    assert_eq!(created["role"], "agent");
    assert_eq!(created["team_name"], "一部");
    assert_eq!(created["active"], true);
    assert!(created.get("password").is_none() && created.get("password_hash").is_none());
    // The new user can sign in with that password.
    let signed_in = app.login("xiaowang", "long-enough-pw").await;
    assert_eq!(signed_in.status(), 303);

    for token in [&m_a, &a1] {
        app.post(token, "/api/v1/users", new_user("nobody", "agent"))
            .problem(403)
            .await;
    }
    let doc = app
        .post(&admin, "/api/v1/users", new_user("second", "owner"))
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), vec!["role"]);
    app.post(&owner, "/api/v1/users", new_user("second", "owner"))
        .expect(201)
        .await;
    let doc = app
        .post(&admin, "/api/v1/users", new_user("XiaoWang", "agent"))
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), vec!["login"], "logins are unique");
    let doc = app
        .post(
            &admin,
            "/api/v1/users",
            json!({"login": "x", "role": "king", "password": "short"}),
        )
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), ["login", "password", "role"]);
    // Nor may an admin promote anyone to owner, or deactivate themselves.
    let doc = app
        .patch(
            &admin,
            &format!("/api/v1/users/{}", id_of(&created)),
            json!({"role": "owner"}),
        )
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), vec!["role"]);
    let doc = app
        .patch(
            &admin,
            &format!("/api/v1/users/{admin_id}"),
            json!({"active": false}),
        )
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), vec!["active"]);
    app.patch(
        &m_a,
        &format!("/api/v1/users/{}", id_of(&created)),
        json!({"name": "改名"}),
    )
    .problem(403)
    .await;
});

// ------------------------------------------------------------ authentication

both!(tokens_and_deactivation, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let (li_id, li) = app.user("li", "agent", "").await;
    let (_, wang) = app.user("wang", "agent", "").await;

    // No token, or a wrong one.
    let r = app
        .http
        .get(app.url("/api/v1/customers"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    problem(r, 401).await;
    app.get("kehu_not-a-real-token", "/api/v1/customers")
        .problem(401)
        .await;
    app.http
        .get(app.url("/api/v1/me"))
        .header("authorization", format!("Basic {li}"))
        .problem(401)
        .await;

    let me = app.get(&li, "/api/v1/me").expect(200).await;
    assert_eq!(me["login"], "li");
    assert_eq!(me["id"], li_id.as_str());

    // A token made through the API works until revoked.
    let made = app
        .post(&li, "/api/v1/tokens", json!({"name": "脚本"}))
        .expect(201)
        .await;
    let secret = made["secret"].as_str().unwrap().to_string();
    let token_id = id_of(&made);
    assert!(secret.starts_with(made["prefix"].as_str().unwrap()));
    app.get(&secret, "/api/v1/me").expect(200).await;
    let listed = app.get(&li, "/api/v1/tokens").expect(200).await;
    let names: BTreeSet<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["test", "脚本"].into_iter().collect());
    assert!(
        !listed.to_string().contains(&secret),
        "secrets are never listed"
    );
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t.get("secret").is_none() && t.get("token_hash").is_none()));
    // Someone else's token is not theirs to revoke.
    app.delete(&wang, &format!("/api/v1/tokens/{token_id}"))
        .problem(404)
        .await;
    app.delete(&li, &format!("/api/v1/tokens/{token_id}"))
        .expect(204)
        .await;
    app.get(&secret, "/api/v1/me").problem(401).await;
    app.get(&li, "/api/v1/me").expect(200).await;

    // The helper's own token can be revoked the same way.
    let wang_tokens = app.get(&wang, "/api/v1/tokens").expect(200).await;
    let wang_token = id_of(&wang_tokens[0]);
    app.delete(&wang, &format!("/api/v1/tokens/{wang_token}"))
        .expect(204)
        .await;
    app.get(&wang, "/api/v1/me").problem(401).await;

    // Deactivation shuts the user out at once.
    let off = app
        .patch(
            &admin,
            &format!("/api/v1/users/{li_id}"),
            json!({"active": false}),
        )
        .expect(200)
        .await;
    assert_eq!(off["active"], false);
    app.get(&li, "/api/v1/me").problem(401).await;
    app.get(&li, "/api/v1/customers").problem(401).await;
    // Their tokens were revoked, not merely suspended.
    app.patch(
        &admin,
        &format!("/api/v1/users/{li_id}"),
        json!({"active": true}),
    )
    .expect(200)
    .await;
    app.get(&li, "/api/v1/me").problem(401).await;
});

both!(headers_and_health, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, li) = app.user("li", "agent", "").await;
    let r = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ok");
    for path in ["/api/v1/customers", "/api/v1/me", "/api/v1/users"] {
        let r = app.get(&li, path).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store", "{path}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
        assert!(content_type(r.headers()).starts_with("application/json"));
    }
    let r = app
        .post(&li, "/api/v1/customers", json!({"kind": "person"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[CACHE_CONTROL], "no-store", "errors too");
    let r = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
});

// ------------------------------------------------------------ audit trail

both!(timeline_shows_changes_and_interactions, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let (_, li) = app.user("li", "agent", "").await;
    let c = app
        .customer(
            &li,
            json!({"name": "陈静", "kind": "person", "city": "北京"}),
        )
        .await;
    let id = id_of(&c);
    let path = format!("/api/v1/customers/{id}");
    app.patch(&li, &path, json!({"city": "上海"}))
        .expect(200)
        .await;
    // A PATCH that changes nothing records nothing.
    app.patch(&li, &path, json!({"city": "上海"}))
        .expect(200)
        .await;
    let i = app
        .post(
            &li,
            &format!("{path}/interactions"),
            json!({"kind": "call", "body": "电话回访，客户满意"}),
        )
        .expect(201)
        .await;
    assert_eq!(i["kind"], "call");
    assert_eq!(i["customer_id"], id.as_str());
    let doc = app
        .post(
            &li,
            &format!("{path}/interactions"),
            json!({"kind": "telepathy", "body": ""}),
        )
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), ["body", "kind"]);

    let timeline = app.get(&li, &format!("{path}/timeline")).expect(200).await;
    let items = timeline.as_array().unwrap();
    let updates: Vec<&Value> = items
        .iter()
        .filter(|t| t["type"] == "change" && t["action"] == "update")
        .collect();
    assert_eq!(updates.len(), 1, "one update: {timeline}");
    assert_eq!(
        updates[0]["changes"],
        json!([{"field": "city", "old": "北京", "new": "上海"}])
    );
    assert_eq!(updates[0]["actor_login"], "li");
    assert!(
        items
            .iter()
            .any(|t| t["type"] == "change" && t["action"] == "create"),
        "the creation is there: {timeline}"
    );
    let calls: Vec<&Value> = items
        .iter()
        .filter(|t| t["type"] == "interaction")
        .collect();
    assert_eq!(calls.len(), 1, "{timeline}");
    assert_eq!(calls[0]["id"], i["id"]);
    assert_eq!(calls[0]["body"], "电话回访，客户满意");
    assert_eq!(calls[0]["kind"], "call");
    assert!(
        !items.iter().any(|t| t["entity"] == "interaction"),
        "an interaction is shown once: {timeline}"
    );
    let ats: Vec<&str> = items.iter().map(|t| t["type"].as_str().unwrap()).collect();
    assert_eq!(ats[0], "interaction", "newest first: {ats:?}");

    // The same change in the audit log, for the admin.
    let log = app
        .get(
            &admin,
            &format!("/api/v1/audit?customer_id={id}&action=update"),
        )
        .expect(200)
        .await;
    assert_eq!(log.as_array().unwrap().len(), 1);
    assert_eq!(log[0]["changes"][0]["field"], "city");
    // Touching the customer marks the last contact.
    let after = app.get(&li, &path).expect(200).await;
    assert_ne!(after["last_contact_at"], Value::Null);
});

// ------------------------------------------------------------ contacts

both!(contacts_of_organisations, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, li) = app.user("li", "agent", "").await;
    let (_, wang) = app.user("wang", "agent", "").await;
    let (_, ro) = app.user("ro", "read_only", "").await;
    let org = id_of(
        &app.customer(
            &li,
            json!({"name": "华为技术有限公司", "kind": "organization"}),
        )
        .await,
    );
    let person = id_of(
        &app.customer(&li, json!({"name": "张伟", "kind": "person"}))
            .await,
    );

    let contact = app
        .post(
            &li,
            &format!("/api/v1/customers/{org}/contacts"),
            json!({"name": "李经理", "position": "采购经理", "role": "decision_maker",
                    "mobile": "139 8765 4321", "email": "Li@Huawei.com"}),
        )
        .expect(201)
        .await;
    assert_eq!(contact["mobile"], "13987654321");
    assert_eq!(contact["email"], "li@huawei.com");
    assert_eq!(contact["role"], "decision_maker");
    assert_eq!(contact["customer_id"], org.as_str());
    let cid = id_of(&contact);
    let cpath = format!("/api/v1/contacts/{cid}");

    let doc = app
        .post(
            &li,
            &format!("/api/v1/customers/{person}/contacts"),
            json!({"name": "王秘书"}),
        )
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), vec!["customer_id"]);
    let doc = app
        .post(
            &li,
            &format!("/api/v1/customers/{org}/contacts"),
            json!({"role": "boss", "mobile": "123"}),
        )
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), ["mobile", "name", "role"]);

    let listed = app
        .get(&li, &format!("/api/v1/customers/{org}/contacts"))
        .expect(200)
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // Read-only sees the number masked and cannot change anything.
    let seen = app.get(&ro, &cpath).expect(200).await;
    assert_eq!(seen["mobile"], "139****4321");
    assert_eq!(seen["mobile_masked"], true);
    let seen = app
        .get(&ro, &format!("/api/v1/customers/{org}/contacts"))
        .expect(200)
        .await;
    assert_eq!(seen[0]["mobile"], "139****4321");
    app.patch(&ro, &cpath, json!({"position": "总监"}))
        .problem(403)
        .await;
    app.delete(&ro, &cpath).problem(403).await;
    // Another agent does not see it at all.
    app.get(&wang, &cpath).problem(404).await;
    app.patch(&wang, &cpath, json!({"position": "总监"}))
        .problem(404)
        .await;

    let patched = app
        .patch(
            &li,
            &cpath,
            json!({"position": "采购总监", "role": "influencer", "email": null}),
        )
        .expect(200)
        .await;
    assert_eq!(patched["position"], "采购总监");
    assert_eq!(patched["role"], "influencer");
    assert_eq!(patched["email"], Value::Null);
    assert_eq!(patched["name"], "李经理", "absent fields stay");
    assert_eq!(patched["mobile"], "13987654321");
    let again = app.get(&li, &cpath).expect(200).await;
    assert_eq!(again["position"], "采购总监");

    app.delete(&li, &cpath).expect(204).await;
    app.get(&li, &cpath).problem(404).await;
    let listed = app
        .get(&li, &format!("/api/v1/customers/{org}/contacts"))
        .expect(200)
        .await;
    assert_eq!(listed, json!([]));
});

// ------------------------------------------------------------ custom fields

both!(custom_fields_are_validated, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let (_, li) = app.user("li", "agent", "").await;
    let industry = json!({"key": "industry", "label": "行业", "kind": "choice",
                          "options": ["零售", "制造"], "required": false});
    app.post(&li, "/api/v1/custom-fields", industry.clone())
        .problem(403)
        .await;
    let def = app
        .post(&admin, "/api/v1/custom-fields", industry)
        .expect(201)
        .await;
    assert_eq!(def["kind"], "choice");
    assert_eq!(def["options"], json!(["零售", "制造"]));
    assert_eq!(def["required"], false);
    app.post(
        &admin,
        "/api/v1/custom-fields",
        json!({"key": "staff", "label": "员工数", "kind": "number"}),
    )
    .expect(201)
    .await;
    // A key is taken once, and is a plain identifier.
    for (key, label) in [("staff", "again"), ("Bad Key", "x")] {
        let doc = app
            .post(
                &admin,
                "/api/v1/custom-fields",
                json!({"key": key, "label": label, "kind": "text"}),
            )
            .problem(422)
            .await;
        assert_eq!(error_fields(&doc), vec!["key"], "{key}");
    }
    let defs = app.get(&li, "/api/v1/custom-fields").expect(200).await;
    assert_eq!(defs.as_array().unwrap().len(), 2);

    let c = app
        .customer(
            &li,
            json!({"name": "华联超市", "kind": "organization",
                   "custom_fields": {"industry": "零售", "staff": " 42 "}}),
        )
        .await;
    assert_eq!(c["custom_fields"], json!({"industry": "零售", "staff": 42}));
    let path = format!("/api/v1/customers/{}", id_of(&c));
    let got = app.get(&li, &path).expect(200).await;
    assert_eq!(
        got["custom_fields"],
        json!({"industry": "零售", "staff": 42})
    );
    // Not required: absent is fine.
    let plain = app
        .customer(&li, json!({"name": "无名店", "kind": "organization"}))
        .await;
    assert_eq!(plain["custom_fields"], json!({}));
    // PATCH merges; null removes.
    let patched = app
        .patch(&li, &path, json!({"custom_fields": {"staff": null}}))
        .expect(200)
        .await;
    assert_eq!(patched["custom_fields"], json!({"industry": "零售"}));
    let patched = app
        .patch(&li, &path, json!({"custom_fields": {"staff": 7.5}}))
        .expect(200)
        .await;
    assert_eq!(
        patched["custom_fields"],
        json!({"industry": "零售", "staff": 7.5})
    );

    let doc = app
        .post(
            &li,
            "/api/v1/customers",
            json!({"name": "农场", "kind": "organization", "custom_fields": {"industry": "农业"}}),
        )
        .header(ACCEPT_LANGUAGE, "en")
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), vec!["custom.industry"]);
    assert!(error_message(&doc, "custom.industry").contains("零售"));
    let doc = app
        .post(
            &li,
            "/api/v1/customers",
            json!({"name": "农场", "kind": "organization", "custom_fields": {"colour": "red"}}),
        )
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), vec!["custom.colour"]);
    let doc = app
        .patch(&li, &path, json!({"custom_fields": {"staff": "many"}}))
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), vec!["custom.staff"]);
    // The rejected changes left the record alone.
    let got = app.get(&li, &path).expect(200).await;
    assert_eq!(
        got["custom_fields"],
        json!({"industry": "零售", "staff": 7.5})
    );
});

// ------------------------------------------------------------ pagination

const SEVEN: [&str; 7] = ["郭靖", "张伟", "安琪", "章伟", "陈晨", "张伟", "白雪"];

/// Creates the seven; returns (id, name) in the order they were made.
async fn seven(app: &TestApp, token: &str) -> Vec<(String, String)> {
    let mut made = Vec::new();
    for name in SEVEN {
        let c = app
            .customer(token, json!({"name": name, "kind": "person"}))
            .await;
        made.push((id_of(&c), name.to_string()));
    }
    made
}

/// Follows `next_cursor` from the first page; returns (ids, page sizes).
async fn walk(app: &TestApp, token: &str, query: &str) -> (Vec<String>, Vec<usize>) {
    let mut all = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let q = match &cursor {
            None => query.to_string(),
            Some(c) => format!("{query}&cursor={}", enc(c)),
        };
        let page = list(app, token, &q).await;
        let got = ids(&page);
        sizes.push(got.len());
        all.extend(got);
        match page.get("next_cursor").and_then(Value::as_str) {
            Some(c) => cursor = Some(c.to_string()),
            None => return (all, sizes),
        }
    }
    panic!("paging did not end: {all:?}");
}

both!(cursor_pagination_visits_each_once, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, li) = app.user("li", "agent", "").await;
    let made = seven(&app, &li).await;
    let name_of: BTreeMap<&str, &str> = made
        .iter()
        .map(|(id, name)| (id.as_str(), name.as_str()))
        .collect();
    let in_order: Vec<String> = made.iter().map(|(id, _)| id.clone()).collect();

    let (got, sizes) = walk(&app, &li, "?limit=3&sort=name").await;
    assert_eq!(sizes, vec![3, 3, 1]);
    let unique: BTreeSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), 7, "no repeats: {got:?}");
    let names: Vec<&str> = got.iter().map(|i| name_of[i.as_str()]).collect();
    assert_eq!(&names[..4], &["安琪", "白雪", "陈晨", "郭靖"], "{names:?}");
    let mut tail = names[4..].to_vec();
    tail.sort();
    assert_eq!(
        tail,
        vec!["张伟", "张伟", "章伟"],
        "zhangwei last: {names:?}"
    );

    // Backwards by name: the exact reverse.
    let (back, _) = walk(&app, &li, "?limit=2&sort=-name").await;
    let mut reversed = got.clone();
    reversed.reverse();
    assert_eq!(back, reversed);

    // By date, in the order they were made.
    for sort in ["-created_at", "created_at", "-updated_at"] {
        let (got, sizes) = walk(&app, &li, &format!("?limit=3&sort={sort}")).await;
        assert_eq!(sizes, vec![3, 3, 1], "{sort}");
        let mut want = in_order.clone();
        if sort.starts_with('-') {
            want.reverse();
        }
        assert_eq!(got, want, "{sort}");
    }
    // Search results page too.
    let (found, _) = walk(&app, &li, "?limit=1&q=zhangwei").await;
    assert_eq!(found.len(), 3);
    assert_eq!(found.iter().collect::<BTreeSet<_>>().len(), 3);

    // A page size beyond the limit is clamped, not refused.
    let page = list(&app, &li, "?limit=1000").await;
    assert_eq!(ids(&page).len(), 7);
    assert_eq!(page["next_cursor"], Value::Null);

    // A cursor that is not one, or that another order gave, is a client
    // error, never a server error.
    let next = |page: Value| page["next_cursor"].as_str().unwrap().to_string();
    let by_name = next(list(&app, &li, "?limit=3&sort=name").await);
    let by_date = next(list(&app, &li, "?limit=3&sort=-created_at").await);
    let bad = [
        ("", "not-a-cursor".to_string()),
        ("", "eyJ4IjoxfQ".to_string()),
        ("", "!!!".to_string()),
        ("&sort=-created_at", by_name.clone()),
        ("&sort=name", by_date.clone()),
        ("&sort=created_at", by_date),
        ("&sort=name&q=zhangwei", by_name),
    ];
    for (query, cursor) in bad {
        let doc = app
            .get(
                &li,
                &format!("/api/v1/customers?limit=3{query}&cursor={}", enc(&cursor)),
            )
            .problem(400)
            .await;
        assert_eq!(error_fields(&doc), vec!["cursor"], "{query} {cursor}");
    }
    let doc = app
        .get(&li, "/api/v1/customers?sort=colour")
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), vec!["sort"]);
});

// ------------------------------------------------------------ OpenAPI

/// API routes clients rely on, as (method, path) in the document.
const ROUTES_USED: &[(&str, &str)] = &[
    ("get", "/api/v1/customers"),
    ("post", "/api/v1/customers"),
    ("get", "/api/v1/customers/{id}"),
    ("patch", "/api/v1/customers/{id}"),
    ("delete", "/api/v1/customers/{id}"),
    ("post", "/api/v1/customers/{id}/restore"),
    ("post", "/api/v1/customers/{id}/reveal-phone"),
    ("get", "/api/v1/customers/{id}/timeline"),
    ("get", "/api/v1/customers/{id}/contacts"),
    ("post", "/api/v1/customers/{id}/contacts"),
    ("get", "/api/v1/contacts/{id}"),
    ("patch", "/api/v1/contacts/{id}"),
    ("delete", "/api/v1/contacts/{id}"),
    ("post", "/api/v1/customers/{id}/interactions"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/users"),
    ("get", "/api/v1/tags"),
    ("post", "/api/v1/users"),
    ("patch", "/api/v1/users/{id}"),
    ("get", "/api/v1/custom-fields"),
    ("post", "/api/v1/custom-fields"),
    ("get", "/api/v1/tokens"),
    ("post", "/api/v1/tokens"),
    ("delete", "/api/v1/tokens/{id}"),
    ("get", "/api/v1/audit"),
];

both!(openapi_document_matches_the_router, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let r = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(content_type(r.headers()).starts_with("application/json"));
    let doc: Value = serde_json::from_str(&r.text().await.unwrap()).expect("valid JSON");
    assert!(
        doc["openapi"].as_str().unwrap_or("").starts_with("3."),
        "OpenAPI 3.x: {}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 15, "{} paths", paths.len());

    let mut wrong = Vec::new();
    let mut operations = BTreeSet::new();
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            operations.insert((method.to_string(), path.clone()));
            // Every path parameter is an id.
            let concrete = path
                .split('/')
                .map(|seg| {
                    if seg.starts_with('{') && seg.ends_with('}') {
                        uuid::Uuid::new_v4().to_string()
                    } else {
                        seg.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut req = app.http.request(m, app.url(&concrete));
            if method != "get" && method != "delete" {
                req = req.json(&json!({}));
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            if status != 401 || content_type(r.headers()) != "application/problem+json" {
                wrong.push(format!("{method} {path} -> {status}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "documented operations the router does not answer with 401: {wrong:?}"
    );
    for (method, path) in ROUTES_USED {
        assert!(
            operations.contains(&(method.to_string(), path.to_string())),
            "{method} {path} is used but not documented"
        );
    }
});

// ------------------------------------------------------------ referrals

both!(
    referrers_are_checked_when_set_not_when_kept,
    |kind| async move {
        let app = TestApp::spawn(kind).await;
        let (_, admin) = app.user("admin", "admin", "").await;
        let (_, m_a) = app.user("ma", "manager", "一部").await;
        let (a1_id, a1) = app.user("a1", "agent", "一部").await;
        let (_, a2) = app.user("a2", "agent", "一部").await;
        let (_, b1) = app.user("b1", "agent", "二部").await;

        // A referrer outside the editor's scope, set by an admin.
        let theirs = id_of(
            &app.customer(&b1, json!({"name": "刘洋", "kind": "person"}))
                .await,
        );
        let referred = app
        .customer(
            &admin,
            json!({"name": "王芳", "kind": "person", "owner_id": a1_id.as_str(), "referred_by": theirs}),
        )
        .await;
        assert_eq!(referred["referred_by"], theirs.as_str());
        let path = format!("/api/v1/customers/{}", id_of(&referred));
        let after = app
            .patch(&a1, &path, json!({"city": "北京"}))
            .expect(200)
            .await;
        assert_eq!(after["referred_by"], theirs.as_str(), "kept as it was");
        // Setting one out of scope is still refused.
        let other = id_of(
            &app.customer(&b1, json!({"name": "赵强", "kind": "person"}))
                .await,
        );
        let doc = app
            .patch(&a1, &path, json!({"referred_by": other}))
            .problem(422)
            .await;
        assert_eq!(error_fields(&doc), vec!["referred_by"]);
        // A manager may name any customer of the team.
        let teammates = id_of(
            &app.customer(&a2, json!({"name": "李娜", "kind": "person"}))
                .await,
        );
        let ok = app
            .patch(&m_a, &path, json!({"referred_by": teammates}))
            .expect(200)
            .await;
        assert_eq!(ok["referred_by_name"], "李娜");

        // A referrer moved to the recycle bin.
        let gone = id_of(
            &app.customer(&a1, json!({"name": "陈静", "kind": "person"}))
                .await,
        );
        let child = app
            .customer(
                &a1,
                json!({"name": "陈晨", "kind": "person", "referred_by": gone}),
            )
            .await;
        app.delete(&admin, &format!("/api/v1/customers/{gone}"))
            .expect(204)
            .await;
        app.patch(
            &a1,
            &format!("/api/v1/customers/{}", id_of(&child)),
            json!({"city": "上海"}),
        )
        .expect(200)
        .await;
    }
);
