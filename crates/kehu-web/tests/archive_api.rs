//! The REST API of the customer archive, end to end over loopback, on
//! SQLite and on PostgreSQL.

mod support;

use kehu_store::both;
use serde_json::{json, Value};
use support::{expect, TestApp};

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

both!(customer_contract, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let (_, agent) = app.user("li", "agent", "销售一部").await;
    let c = app.customer(&agent, json!({"name": "欧阳娜娜", "kind": "person", "mobile": "+86 138 1234 5678", "email": "Nana@Example.com", "tags": ["VIP"]})).await;
    assert_eq!(c["mobile"], "13812345678");
    assert_eq!(c["email"], "nana@example.com");
    assert_eq!(c["owner_name"], "li");
    assert_eq!(c["team_name"], "销售一部");
    let path = format!("/api/v1/customers/{}", id(&c));

    let got = expect(app.get(&agent, &path).send().await.unwrap(), 200).await;
    assert_eq!(got["name"], "欧阳娜娜");
    let patched = expect(
        app.patch(&agent, &path, json!({"city": "杭州", "email": null}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(patched["city"], "杭州");
    assert_eq!(patched["email"], Value::Null);
    assert_eq!(patched["mobile"], "13812345678", "absent fields stay");

    for q in [
        "娜娜",
        "ouyang",
        "oynn",
        "13812345678",
        "5678",
        "VIP",
        "欧阳娜娜",
        "５６７８",
        "ＯＹＮＮ",
    ] {
        let page = expect(
            app.get(&agent, &format!("/api/v1/customers?q={}", urlencode(q)))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        let names: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["欧阳娜娜"], "search {q}");
    }
    for q in ["zzzz", "%", "_", "9999"] {
        let page = expect(
            app.get(&agent, &format!("/api/v1/customers?q={}", urlencode(q)))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        assert!(
            page["items"].as_array().unwrap().is_empty(),
            "search {q} matches nothing"
        );
    }

    // An agent may not delete; an admin moves it to the recycle bin.
    expect(app.delete(&agent, &path).send().await.unwrap(), 403).await;
    expect(app.delete(&admin, &path).send().await.unwrap(), 204).await;
    expect(app.get(&admin, &path).send().await.unwrap(), 404).await;
    let bin = expect(
        app.get(&admin, "/api/v1/customers?deleted=true")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(bin["items"][0]["name"], "欧阳娜娜");
    expect(
        app.get(&agent, "/api/v1/customers?deleted=true")
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    expect(
        app.post(&admin, &format!("{path}/restore"), json!({}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    expect(app.get(&agent, &path).send().await.unwrap(), 200).await;
});

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

both!(bad_input_is_a_problem_document, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, agent) = app.user("li", "agent", "").await;
    let r = app
        .post(
            &agent,
            "/api/v1/customers",
            json!({"name": "", "kind": "robot", "mobile": "12345"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body = expect(r, 422).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in ["name", "kind", "mobile"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .chars()
            .any(|c| c > '\u{2e80}'),
        "Chinese by default: {body}"
    );
    let en = app
        .post(
            &agent,
            "/api/v1/customers",
            json!({"name": "x", "kind": "person", "mobile": "12345"}),
        )
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    let en = expect(en, 422).await;
    assert!(
        en["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("mobile"),
        "{en}"
    );
    // Unknown fields, broken JSON and the wrong content type are refused too.
    expect(
        app.post(
            &agent,
            "/api/v1/customers",
            json!({"name": "x", "kind": "person", "colour": "red"}),
        )
        .send()
        .await
        .unwrap(),
        422,
    )
    .await;
    let broken = app
        .http
        .post(app.url("/api/v1/customers"))
        .bearer_auth(&agent)
        .header("content-type", "application/json")
        .body("{\"name\":")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);
    let form = app
        .http
        .post(app.url("/api/v1/customers"))
        .bearer_auth(&agent)
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    expect(
        app.get(&agent, "/api/v1/customers/not-an-id")
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    expect(
        app.get(&agent, "/api/v1/customers?sort=shoe-size")
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    expect(
        app.get(&agent, "/api/v1/customers?cursor=garbage")
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    let r = app
        .get(&agent, "/api/v1/customers?limit=many")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    expect(r, 400).await;
    expect(
        app.get(&agent, "/api/v1/no-such-thing")
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
});

both!(roles_and_scope, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, owner) = app.user("boss", "owner", "").await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let (_, manager_a) = app.user("ma", "manager", "A").await;
    let (a1_id, a1) = app.user("a1", "agent", "A").await;
    let (_, a2) = app.user("a2", "agent", "A").await;
    let (b1_id, b1) = app.user("b1", "agent", "B").await;
    let (_, finance) = app.user("fin", "finance", "").await;
    let (_, viewer) = app.user("viewer", "read_only", "").await;
    let c1 = id(&app
        .customer(
            &a1,
            json!({"name": "一号", "kind": "person", "mobile": "13800000001"}),
        )
        .await);
    let c2 = id(&app
        .customer(&a2, json!({"name": "二号", "kind": "person"}))
        .await);
    let cb = id(&app
        .customer(&b1, json!({"name": "乙号", "kind": "person"}))
        .await);
    let path = |c: &str| format!("/api/v1/customers/{c}");
    let status = |t: &str, p: String| {
        let r = app.get(t, &p);
        async move { r.send().await.unwrap().status().as_u16() }
    };

    // Reading by id.
    assert_eq!(status(&a1, path(&c1)).await, 200);
    assert_eq!(
        status(&a1, path(&c2)).await,
        404,
        "an agent cannot read a teammate's customer"
    );
    assert_eq!(status(&a1, path(&cb)).await, 404);
    assert_eq!(
        status(&manager_a, path(&c2)).await,
        200,
        "a manager reads the team's customers"
    );
    assert_eq!(
        status(&manager_a, path(&cb)).await,
        404,
        "but not another team's"
    );
    for t in [&owner, &admin, &finance, &viewer] {
        for c in [&c1, &c2, &cb] {
            assert_eq!(status(t, path(c)).await, 200);
        }
    }
    // Listing.
    let count = |t: &str| {
        let r = app.get(t, "/api/v1/customers");
        async move {
            expect(r.send().await.unwrap(), 200).await["items"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(count(&a1).await, 1);
    assert_eq!(count(&manager_a).await, 2);
    assert_eq!(count(&b1).await, 1);
    assert_eq!(count(&admin).await, 3);
    assert_eq!(count(&viewer).await, 3);

    // Writing.
    for t in [&finance, &viewer] {
        expect(
            app.post(
                t,
                "/api/v1/customers",
                json!({"name": "x", "kind": "person"}),
            )
            .send()
            .await
            .unwrap(),
            403,
        )
        .await;
        expect(
            app.patch(t, &path(&c1), json!({"city": "上海"}))
                .send()
                .await
                .unwrap(),
            403,
        )
        .await;
        expect(app.delete(t, &path(&c1)).send().await.unwrap(), 403).await;
    }
    expect(
        app.patch(&a1, &path(&c2), json!({"city": "上海"}))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    expect(
        app.patch(&a1, &path(&c1), json!({"city": "上海"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let e = expect(
        app.patch(&a1, &path(&c1), json!({"owner_id": b1_id.to_string()}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(e["errors"][0]["field"], "owner_id");
    let e = expect(
        app.patch(
            &manager_a,
            &path(&c1),
            json!({"owner_id": b1_id.to_string()}),
        )
        .send()
        .await
        .unwrap(),
        422,
    )
    .await;
    assert_eq!(
        e["errors"][0]["field"], "owner_id",
        "a manager cannot give a customer to another team"
    );
    // A customer outside the caller's scope cannot be named as referrer.
    let e = expect(
        app.patch(&a1, &path(&c1), json!({"referred_by": cb}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(e["errors"][0]["field"], "referred_by");
    let ok = expect(
        app.patch(&manager_a, &path(&c1), json!({"referred_by": c2}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(ok["referred_by_name"], "二号");
    let moved = expect(
        app.patch(&admin, &path(&cb), json!({"owner_id": a1_id.to_string()}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(moved["team_name"], "A", "the team follows the owner");
    assert_eq!(status(&a1, path(&cb)).await, 200);
    assert_eq!(status(&b1, path(&cb)).await, 404);
    expect(
        app.delete(&manager_a, &path(&c2)).send().await.unwrap(),
        204,
    )
    .await;

    // Users and the audit log are for admins.
    let new_user =
        json!({"login": "newbie", "role": "agent", "team": "A", "password": "long-enough-pw"});
    expect(
        app.post(&manager_a, "/api/v1/users", new_user.clone())
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    expect(
        app.post(&admin, "/api/v1/users", new_user)
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let e = expect(
        app.post(
            &admin,
            "/api/v1/users",
            json!({"login": "boss2", "role": "owner", "password": "long-enough-pw"}),
        )
        .send()
        .await
        .unwrap(),
        422,
    )
    .await;
    assert_eq!(e["errors"][0]["field"], "role");
    expect(
        app.post(
            &owner,
            "/api/v1/users",
            json!({"login": "boss2", "role": "owner", "password": "long-enough-pw"}),
        )
        .send()
        .await
        .unwrap(),
        201,
    )
    .await;
    expect(app.get(&a1, "/api/v1/audit").send().await.unwrap(), 403).await;
    expect(app.get(&admin, "/api/v1/audit").send().await.unwrap(), 200).await;
});

both!(phone_masking_and_audited_reveal, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let (_, agent) = app.user("li", "agent", "").await;
    let (_, finance) = app.user("fin", "finance", "").await;
    let (_, viewer) = app.user("viewer", "read_only", "").await;
    let c = id(&app
        .customer(
            &agent,
            json!({"name": "张伟", "kind": "person", "mobile": "13812345678"}),
        )
        .await);
    let path = format!("/api/v1/customers/{c}");
    for t in [&finance, &viewer] {
        let v = expect(app.get(t, &path).send().await.unwrap(), 200).await;
        assert_eq!(v["mobile"], "138****5678");
        assert_eq!(v["mobile_masked"], true);
        let list = expect(app.get(t, "/api/v1/customers").send().await.unwrap(), 200).await;
        assert_eq!(list["items"][0]["mobile"], "138****5678");
    }
    let full = expect(app.get(&agent, &path).send().await.unwrap(), 200).await;
    assert_eq!(full["mobile_masked"], false);
    expect(
        app.post(&viewer, &format!("{path}/reveal-phone"), json!({}))
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    let shown = expect(
        app.post(&finance, &format!("{path}/reveal-phone"), json!({}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(shown["mobile"], "13812345678");
    let log = expect(
        app.get(
            &admin,
            &format!("/api/v1/audit?action=reveal&customer_id={c}"),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(log.as_array().unwrap().len(), 1);
    assert_eq!(log[0]["actor_login"], "fin");
});

both!(tokens_sessions_and_headers, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let (li_id, li) = app.user("li", "agent", "").await;
    let none = app
        .http
        .get(app.url("/api/v1/customers"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.headers()["content-type"], "application/problem+json");
    assert_eq!(none.status(), 401);
    expect(
        app.get("kehu_not-a-token", "/api/v1/me")
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    let ok = app.get(&li, "/api/v1/customers").send().await.unwrap();
    assert_eq!(ok.headers()["cache-control"], "no-store");
    expect(ok, 200).await;
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    // A second token, revoked.
    let t = expect(
        app.post(&li, "/api/v1/tokens", json!({"name": "script"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let secret = t["secret"].as_str().unwrap().to_string();
    expect(app.get(&secret, "/api/v1/me").send().await.unwrap(), 200).await;
    let listed = expect(app.get(&li, "/api/v1/tokens").send().await.unwrap(), 200).await;
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t.get("secret").is_none() && t.get("token_hash").is_none()));
    expect(
        app.delete(
            &li,
            &format!("/api/v1/tokens/{}", t["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap(),
        204,
    )
    .await;
    expect(app.get(&secret, "/api/v1/me").send().await.unwrap(), 401).await;

    // Deactivation ends access at once.
    expect(
        app.patch(
            &admin,
            &format!("/api/v1/users/{li_id}"),
            json!({"active": false}),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    expect(app.get(&li, "/api/v1/me").send().await.unwrap(), 401).await;
});

both!(timeline_shows_changes_and_interactions, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, agent) = app.user("li", "agent", "").await;
    let c = id(&app
        .customer(
            &agent,
            json!({"name": "王芳", "kind": "person", "city": "北京"}),
        )
        .await);
    let path = format!("/api/v1/customers/{c}");
    expect(
        app.patch(&agent, &path, json!({"city": "上海"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let i = expect(
        app.post(
            &agent,
            &format!("{path}/interactions"),
            json!({"kind": "call", "body": "回访：满意"}),
        )
        .send()
        .await
        .unwrap(),
        201,
    )
    .await;
    assert_eq!(i["kind"], "call");
    expect(
        app.post(
            &agent,
            &format!("{path}/interactions"),
            json!({"kind": "fax", "body": ""}),
        )
        .send()
        .await
        .unwrap(),
        422,
    )
    .await;
    let items = expect(
        app.get(&agent, &format!("{path}/timeline"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let items = items.as_array().unwrap();
    assert_eq!(items[0]["type"], "interaction");
    assert_eq!(items[0]["body"], "回访：满意");
    let change = items
        .iter()
        .find(|i| i["type"] == "change" && i["action"] == "update")
        .expect("the update");
    assert_eq!(
        change["changes"],
        json!([{"field": "city", "old": "北京", "new": "上海"}])
    );
    let c = expect(app.get(&agent, &path).send().await.unwrap(), 200).await;
    assert!(
        c["last_contact_at"].is_string(),
        "an interaction marks the last contact"
    );
});

both!(contacts_of_organisations, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, agent) = app.user("li", "agent", "").await;
    let (_, viewer) = app.user("viewer", "read_only", "").await;
    let org = id(&app
        .customer(
            &agent,
            json!({"name": "杭州恒达贸易有限公司", "kind": "organization"}),
        )
        .await);
    let person = id(&app
        .customer(&agent, json!({"name": "张伟", "kind": "person"}))
        .await);
    let ct = expect(
        app.post(&agent, &format!("/api/v1/customers/{org}/contacts"), json!({"name": "李总", "role": "decision_maker", "mobile": "13912345678", "position": "总经理"})).send().await.unwrap(),
        201,
    )
    .await;
    assert_eq!(ct["role"], "decision_maker");
    expect(
        app.post(
            &agent,
            &format!("/api/v1/customers/{person}/contacts"),
            json!({"name": "x"}),
        )
        .send()
        .await
        .unwrap(),
        422,
    )
    .await;
    expect(
        app.post(
            &agent,
            &format!("/api/v1/customers/{org}/contacts"),
            json!({"name": "x", "role": "boss"}),
        )
        .send()
        .await
        .unwrap(),
        422,
    )
    .await;
    let path = format!("/api/v1/contacts/{}", id(&ct));
    let p = expect(
        app.patch(&agent, &path, json!({"role": "influencer"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(p["role"], "influencer");
    assert_eq!(p["name"], "李总");
    let seen = expect(
        app.get(&viewer, &format!("/api/v1/customers/{org}/contacts"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(seen[0]["mobile"], "139****5678");
    expect(app.delete(&viewer, &path).send().await.unwrap(), 403).await;
    expect(app.delete(&agent, &path).send().await.unwrap(), 204).await;
    expect(app.get(&agent, &path).send().await.unwrap(), 404).await;
});

both!(custom_fields_are_validated, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let (_, agent) = app.user("li", "agent", "").await;
    expect(
        app.post(
            &agent,
            "/api/v1/custom-fields",
            json!({"key": "industry", "label": "行业", "kind": "choice", "options": ["零售"]}),
        )
        .send()
        .await
        .unwrap(),
        403,
    )
    .await;
    expect(app.post(&admin, "/api/v1/custom-fields", json!({"key": "industry", "label": "行业", "kind": "choice", "options": ["零售", "制造"]})).send().await.unwrap(), 201).await;
    expect(
        app.post(
            &admin,
            "/api/v1/custom-fields",
            json!({"key": "staff", "label": "员工数", "kind": "number"}),
        )
        .send()
        .await
        .unwrap(),
        201,
    )
    .await;
    expect(
        app.post(
            &admin,
            "/api/v1/custom-fields",
            json!({"key": "staff", "label": "again", "kind": "number"}),
        )
        .send()
        .await
        .unwrap(),
        422,
    )
    .await;
    expect(
        app.post(
            &admin,
            "/api/v1/custom-fields",
            json!({"key": "Bad Key", "label": "x", "kind": "text"}),
        )
        .send()
        .await
        .unwrap(),
        422,
    )
    .await;
    let c = app.customer(&agent, json!({"name": "制造厂", "kind": "organization", "custom_fields": {"industry": "制造", "staff": "120"}})).await;
    assert_eq!(
        c["custom_fields"],
        json!({"industry": "制造", "staff": 120})
    );
    let e = expect(
        app.post(
            &agent,
            "/api/v1/customers",
            json!({"name": "x", "kind": "person", "custom_fields": {"industry": "农业"}}),
        )
        .send()
        .await
        .unwrap(),
        422,
    )
    .await;
    assert_eq!(e["errors"][0]["field"], "custom.industry");
    let e = expect(
        app.post(
            &agent,
            "/api/v1/customers",
            json!({"name": "x", "kind": "person", "custom_fields": {"colour": "red"}}),
        )
        .send()
        .await
        .unwrap(),
        422,
    )
    .await;
    assert_eq!(e["errors"][0]["field"], "custom.colour");
});

both!(
    cursor_pagination_visits_every_customer_once,
    |kind| async move {
        let app = TestApp::spawn(kind).await;
        let (_, agent) = app.user("li", "agent", "").await;
        let names = ["庚", "甲", "丁", "乙", "戊", "丙", "己"];
        for n in names {
            app.customer(&agent, json!({"name": n, "kind": "person"}))
                .await;
        }
        for sort in ["name", "-name", "-created_at", "created_at"] {
            let mut seen: Vec<String> = vec![];
            let mut cursor: Option<String> = None;
            loop {
                let mut path = format!("/api/v1/customers?limit=3&sort={sort}");
                if let Some(c) = &cursor {
                    path.push_str(&format!("&cursor={c}"));
                }
                let page = expect(app.get(&agent, &path).send().await.unwrap(), 200).await;
                seen.extend(
                    page["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c["name"].as_str().unwrap().to_string()),
                );
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_string()),
                    None => break,
                }
            }
            let mut expected: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            match sort {
                // By reading: bing 丙, ding 丁, geng 庚, ji 己, jia 甲, wu 戊, yi 乙.
                "name" => expected.sort_by_key(|n| kehu_domain::name::pinyin_keys(n).full),
                "-name" => {
                    expected.sort_by_key(|n| kehu_domain::name::pinyin_keys(n).full);
                    expected.reverse()
                }
                "created_at" => {}
                _ => expected.reverse(),
            }
            assert_eq!(seen, expected, "sort {sort}");
        }
    }
);

both!(openapi_document_matches_the_router, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let doc: Value = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/customers",
        "/api/v1/customers/export",
        "/api/v1/customers/{id}",
        "/api/v1/customers/{id}/contacts",
        "/api/v1/customers/{id}/interactions",
        "/api/v1/users",
        "/api/v1/tags",
        "/api/v1/custom-fields",
    ] {
        assert!(paths.contains_key(p), "{p} documented");
    }
    let some_id = uuid::Uuid::now_v7().to_string();
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let url = app.url(&path.replace("{id}", &some_id));
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app.http.request(m, &url).send().await.unwrap();
            assert_eq!(
                r.status(),
                401,
                "{method} {path} is served (and needs authentication)"
            );
        }
    }
});
