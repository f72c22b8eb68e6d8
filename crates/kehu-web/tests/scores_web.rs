//! Grading and the dashboard over loopback on both databases: the settings
//! API with its checks, the recompute on demand, a customer's scores and
//! the manual override through the API and the customer page, the
//! dashboard within the caller's scope with its Excel export, and who may
//! do what.

mod support;

use kehu_store::both;
use kehu_store::testing::PASSWORD;
use serde_json::{json, Value};
use support::{error_fields, hidden_csrf, id_of, Answer, TestApp};

async fn text(r: reqwest::RequestBuilder) -> (u16, String) {
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn order(app: &TestApp, cid: &str, at: &str, fen: i64) {
    let ms = chrono::DateTime::parse_from_rfc3339(at)
        .unwrap()
        .timestamp_millis();
    app.db
        .conn()
        .execute(
            kehu_store::Query::new(
                "INSERT INTO orders (id, customer_id, ordered_at, amount_fen, discount_fen, quantity, created_at) \
                 VALUES ($1, $2, $3, $4, 0, 1, $3)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(cid)
            .bind(ms)
            .bind(fen),
        )
        .await
        .unwrap();
}

both!(grades_through_the_api_and_the_pages, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("boss", "admin", "总部").await;
    let (_, agent) = app.user("li", "agent", "一组").await;
    let (_, finance) = app.user("cai", "finance", "财务").await;
    let mine = id_of(
        &app.customer(
            &agent,
            json!({"name": "张伟", "kind": "person", "mobile": "13800001111"}),
        )
        .await,
    );
    let other = id_of(
        &app.customer(
            &admin,
            json!({"name": "李娜", "kind": "person", "mobile": "13800002222"}),
        )
        .await,
    );
    for at in [
        "2026-03-01T10:00:00+08:00",
        "2026-08-01T10:00:00+08:00",
        "2026-10-01T10:00:00+08:00",
    ] {
        order(&app, &mine, at, 50_000).await;
    }
    order(&app, &other, "2026-09-05T10:00:00+08:00", 9_000).await;

    // Settings: anyone of the management roles reads, only admins write,
    // and bad values are refused field by field.
    let s = app
        .get(&finance, "/api/v1/analytics/settings")
        .expect(200)
        .await;
    assert_eq!(s["key_share_pct"], 40);
    app.get(&agent, "/api/v1/analytics/settings")
        .problem(403)
        .await;
    let mut bad = s.clone();
    bad["b_min"] = json!(90);
    bad["a_min"] = json!(80);
    let doc = app
        .http
        .put(app.url("/api/v1/analytics/settings"))
        .bearer_auth(&admin)
        .json(&bad)
        .send()
        .await
        .unwrap();
    let doc = support::problem(doc, 422).await;
    assert_eq!(error_fields(&doc), ["b_min"]);
    let mut good = s.clone();
    good["key_share_pct"] = json!(50);
    let r = app
        .http
        .put(app.url("/api/v1/analytics/settings"))
        .bearer_auth(&finance)
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let saved = app
        .http
        .put(app.url("/api/v1/analytics/settings"))
        .bearer_auth(&admin)
        .json(&good)
        .send()
        .await
        .unwrap();
    let saved = support::expect(saved, 200).await;
    assert_eq!(saved["key_share_pct"], 50);

    // No scores before the first recompute.
    app.get(&agent, &format!("/api/v1/customers/{mine}/scores"))
        .problem(404)
        .await;
    app.post(&agent, "/api/v1/analytics/recompute", json!({}))
        .problem(403)
        .await;
    let bad = app
        .post(
            &admin,
            "/api/v1/analytics/recompute",
            json!({"as_of": "yesterday"}),
        )
        .problem(422)
        .await;
    assert_eq!(error_fields(&bad), ["as_of"]);
    let run = app
        .post(
            &admin,
            "/api/v1/analytics/recompute",
            json!({"as_of": "2026-11-30"}),
        )
        .expect(200)
        .await;
    assert_eq!(run["customers"], 2);
    assert_eq!(run["orders"], 4);
    // Half of two customers are key.
    assert_eq!(run["key_customers"], 1);

    let sc = app
        .get(&agent, &format!("/api/v1/customers/{mine}/scores"))
        .expect(200)
        .await;
    assert_eq!(sc["tier"], "key");
    assert_eq!(sc["lifecycle"], "value");
    assert_eq!(sc["parts"].as_array().unwrap().len(), 5);
    assert_eq!(sc["money"]["revenue_fen"], 150_000);
    // The agent does not see the other customer's scores.
    app.get(&agent, &format!("/api/v1/customers/{other}/scores"))
        .problem(404)
        .await;

    // Override: a reason is required; the grade in force changes and the
    // customer record says so.
    let bad = app
        .post(
            &agent,
            &format!("/api/v1/customers/{mine}/grade"),
            json!({"grade": "C"}),
        )
        .problem(422)
        .await;
    assert_eq!(error_fields(&bad), ["reason"]);
    let bad = app
        .post(
            &agent,
            &format!("/api/v1/customers/{mine}/grade"),
            json!({"grade": "Z", "reason": "试一下"}),
        )
        .problem(422)
        .await;
    assert_eq!(error_fields(&bad), ["grade"]);
    app.post(
        &agent,
        &format!("/api/v1/customers/{mine}/grade"),
        json!({"grade": "C", "reason": "只看价格，不在乎关系"}),
    )
    .expect(204)
    .await;
    let c: Value = app
        .get(&agent, &format!("/api/v1/customers/{mine}"))
        .expect(200)
        .await;
    assert_eq!(c["grade"], "C");
    let sc = app
        .get(&agent, &format!("/api/v1/customers/{mine}/scores"))
        .expect(200)
        .await;
    assert_eq!(sc["grade"], "C");
    assert_eq!(sc["override_reason"], "只看价格，不在乎关系");

    // The customer page explains the grade and takes an override.
    let session = app.session("li", PASSWORD).await;
    let (status, page) = text(app.page(&session, &format!("/customers/{mine}"))).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"customer-scores\""), "{page}");
    assert!(page.contains("只看价格，不在乎关系"));
    assert!(page.contains("价值客户"));
    assert!(page.contains("消费金额"));
    let csrf = hidden_csrf(&page).unwrap();
    let r = app
        .form(
            &session,
            &format!("/customers/{mine}/grade"),
            &[("_csrf", csrf.as_str()), ("grade", ""), ("reason", "")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let sc = app
        .get(&agent, &format!("/api/v1/customers/{mine}/scores"))
        .expect(200)
        .await;
    assert!(sc["override_reason"].is_null());
    assert_eq!(sc["grade"], sc["computed_grade"]);

    // The dashboard: the agent may not; finance sees both customers; the
    // owner filter narrows to one.
    app.get(&agent, "/api/v1/analytics/dashboard")
        .problem(403)
        .await;
    let d = app
        .get(&finance, "/api/v1/analytics/dashboard")
        .expect(200)
        .await;
    assert_eq!(d["customers"], 2);
    assert_eq!(d["as_of"], "2026-11-30");
    let months: Vec<&str> = d["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["month"].as_str().unwrap())
        .collect();
    assert_eq!(months, ["2026-03", "2026-08", "2026-09", "2026-10"]);
    assert_eq!(d["months"][0]["new_buyers"], 1);
    assert_eq!(d["months"][1]["repeat_buyers"], 1);
    let bad = app
        .get(&finance, "/api/v1/analytics/dashboard?from=2026-13")
        .problem(422)
        .await;
    assert_eq!(error_fields(&bad), ["from"]);
    let me: Value = app.get(&agent, "/api/v1/me").expect(200).await;
    let owner = me["id"].as_str().unwrap().to_string();
    let one = app
        .get(
            &finance,
            &format!("/api/v1/analytics/dashboard?owner_id={owner}&from=2026-06&to=2026-12"),
        )
        .expect(200)
        .await;
    assert_eq!(one["customers"], 1);
    assert_eq!(one["months"].as_array().unwrap().len(), 2);

    let fs = app.session("cai", PASSWORD).await;
    let (status, page) = text(app.page(&fs, "/dashboard?from=2026-01&to=2026-12")).await;
    assert_eq!(status, 200);
    for id in [
        "report-months",
        "report-grades",
        "report-lifecycle",
        "report-moves",
        "report-pareto",
        "report-clv",
        "report-at_risk",
    ] {
        assert!(page.contains(id), "{id} missing");
    }
    assert!(page.contains("data-option"));
    let r = app
        .page(
            &fs,
            "/dashboard/export?table=months&from=2026-01&to=2026-12",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let bytes = r.bytes().await.unwrap();
    let rows = kehu_store::testing::read_export(kehu_domain::export::Format::Xlsx, &bytes);
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert_eq!(rows[1][0], "2026-03");
    let (status, _) = text(app.page(&fs, "/dashboard/export?table=nonsense")).await;
    assert_eq!(status, 404);
    let (status, _) = text(app.page(&session, "/dashboard")).await;
    assert_eq!(status, 403);

    // The settings form: admins only; bad input keeps what was typed.
    let bs = app.session("boss", PASSWORD).await;
    let (status, page) = text(app.page(&bs, "/analytics")).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"settings-form\""));
    assert!(page.contains("id=\"scores-last\""));
    let csrf = hidden_csrf(&page).unwrap();
    let (status, page) = text(app.form(
        &bs,
        "/analytics/settings",
        &[
            ("_csrf", csrf.as_str()),
            ("w_spend", "35"),
            ("w_purchases", "25"),
            ("w_referrals", "10"),
            ("w_age", "10"),
            ("w_power", "abc"),
            ("a_min", "70"),
            ("b_min", "40"),
            ("key_share_pct", "40"),
            ("window_days", "365"),
            ("frozen_days", "180"),
            ("migrating_drop_pct", "50"),
            ("service_cost_yuan", "50"),
            ("horizon_weeks", "52"),
        ],
    ))
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("value=\"abc\""));
    let (_, agent_page) = text(app.page(&session, &format!("/customers/{mine}"))).await;
    let agent_csrf = hidden_csrf(&agent_page).unwrap();
    let (status, _) = text(app.form(
        &session,
        "/analytics/settings",
        &[("_csrf", agent_csrf.as_str())],
    ))
    .await;
    assert_eq!(status, 403);
});
