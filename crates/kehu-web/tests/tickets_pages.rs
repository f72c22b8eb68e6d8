//! The service desk pages with a browser session, on both databases:
//! opening a ticket from a customer, walking its steps with the approved
//! phrases, promising, resolving; the queues; the script library and the
//! service settings (targets, hours, categories, holiday calendar).

mod support;

use kehu_store::both;
use kehu_store::testing::PASSWORD;
use serde_json::json;
use support::{hidden_csrf, id_of, TestApp};

async fn text(r: reqwest::RequestBuilder) -> (u16, String) {
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

both!(a_ticket_worked_in_the_browser, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, api) = app.user("li", "agent", "客服一部").await;
    let c = app
        .customer(
            &api,
            json!({"name": "张伟", "kind": "person", "mobile": "13800001111"}),
        )
        .await;
    let cid = id_of(&c);
    let s = app.session("li", PASSWORD).await;

    let (status, page) = text(app.page(&s, &format!("/customers/{cid}"))).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("/tickets/new?customer={cid}")),
        "the customer page offers a new ticket"
    );
    let (status, form) = text(app.page(&s, &format!("/tickets/new?customer={cid}"))).await;
    assert_eq!(status, 200);
    let csrf = hidden_csrf(&form).unwrap();
    // Refused input comes back with the errors and what was typed.
    let (status, again) = text(app.form(
        &s,
        "/tickets/new",
        &[
            ("_csrf", &csrf),
            ("customer_id", &cid),
            ("subject", ""),
            ("description", "漏水"),
            ("purpose", "accusation"),
            ("severity", "urgent"),
            ("channel", "phone"),
            ("kind", "complaint"),
        ],
    ))
    .await;
    assert_eq!(status, 422);
    assert!(again.contains("漏水") && again.contains("field-error"));
    let r = app
        .form(
            &s,
            "/tickets/new",
            &[
                ("_csrf", &csrf),
                ("customer_id", &cid),
                ("subject", "洗衣机漏水"),
                ("description", "维修后仍漏水"),
                ("purpose", "accusation"),
                ("severity", "urgent"),
                ("channel", "phone"),
                ("kind", "complaint"),
                ("category", "产品质量"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let at = location(&r);
    assert!(at.starts_with("/tickets/"), "{at}");
    let (status, t) = text(app.page(&s, &at)).await;
    assert_eq!(status, 200);
    assert!(t.contains("洗衣机漏水"));
    // CLEAR: the five steps with their guide and the approved phrases.
    for step in ["控制情绪", "聆听", "建立共鸣", "道歉", "解决"] {
        assert!(t.contains(step), "step {step}");
    }
    assert!(
        t.contains("我代表公司向您真诚地道歉"),
        "an approved phrase of the apologize step"
    );
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let mut f: Vec<(&str, String)> = vec![("_csrf", csrf.clone())];
        f.extend(form);
        let pairs: Vec<(String, String)> = f.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let s = s.clone();
        let app = &app;
        async move {
            let refs: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            app.form(&s, &path, &refs).send().await.unwrap()
        }
    };
    let r = post(
        format!("{at}/entry"),
        vec![
            ("kind", "step".into()),
            ("step", "apologize".into()),
            ("body", "已向客户真诚道歉".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = post(
        format!("{at}/entry"),
        vec![
            ("kind", "step".into()),
            ("step", "share".into()),
            ("body", "x".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 422, "share is not a CLEAR step");
    let r = post(
        format!("{at}/promise"),
        vec![
            ("promised_at", "2099-01-01T10:00".into()),
            ("note", "".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = post(
        format!("{at}/promise"),
        vec![("promised_at", "soon".into())],
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = post(
        format!("{at}/resolve"),
        vec![
            ("immediate_fix", "换新机".into()),
            ("preventive_action", "".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 422, "a complaint needs a preventive action");
    let (_, t) = text(app.page(&s, &at)).await;
    assert!(t.contains("已向客户真诚道歉"));
    assert!(
        t.contains("2099-01-01 10:00"),
        "the promise in the business time zone"
    );
    let r = post(
        format!("{at}/resolve"),
        vec![
            ("immediate_fix", "换新机".into()),
            ("preventive_action", "出厂前增加漏水测试".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, t) = text(app.page(&s, &at)).await;
    assert!(t.contains("出厂前增加漏水测试") && t.contains("已解决"));
    assert!(t.contains("回访"), "a follow-up visit task");

    let (_, q) = text(app.page(&s, "/tickets?queue=all")).await;
    assert!(q.contains("洗衣机漏水"));
    let (status, _) = text(app.page(&s, "/tickets?queue=nonsense")).await;
    assert_eq!(status, 400);
    let (_, cp) = text(app.page(&s, &format!("/customers/{cid}"))).await;
    assert!(
        cp.contains("洗衣机漏水"),
        "the ticket on the customer's page"
    );
    let (status, n) = text(app.page(&s, "/notifications")).await;
    assert_eq!(status, 200);
    assert!(n.contains("回访"), "my tasks list the follow-up");
    // Given to the team's manager, the ticket shows in their top bar.
    app.user("ma", "manager", "客服一部").await;
    let m = app.session("ma", PASSWORD).await;
    let (_, before) = text(app.page(&m, "/tickets")).await;
    assert!(!before.contains("id=\"unread\""));
    let (_, users) = text(app.page(&s, &at)).await;
    let ma_id = users
        .split("<option value=\"")
        .filter_map(|x| x.split_once("\">"))
        .find(|(_, rest)| rest.starts_with("ma<"))
        .map(|(id, _)| id.to_string())
        .expect("the manager among the assignees");
    let r = app
        .form(
            &s,
            &format!("{at}/assign"),
            &[("_csrf", &csrf), ("assignee_id", &ma_id)],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, after) = text(app.page(&m, "/tickets?queue=all")).await;
    assert!(
        after.contains("id=\"unread\">1<"),
        "one unread notification"
    );
    assert!(after.contains("洗衣机漏水"), "the manager sees it");
});

both!(scripts_and_service_settings, |kind| async move {
    let app = TestApp::spawn(kind).await;
    app.user("boss", "admin", "").await;
    app.user("ma", "manager", "A").await;
    app.user("li", "agent", "A").await;
    let admin = app.session("boss", PASSWORD).await;
    let manager = app.session("ma", PASSWORD).await;
    let agent = app.session("li", PASSWORD).await;

    let (status, page) = text(app.page(&agent, "/scripts")).await;
    assert_eq!(status, 200);
    let csrf = hidden_csrf(&page).unwrap();
    let r = app
        .form(
            &agent,
            "/scripts",
            &[("_csrf", &csrf), ("step", "listen"), ("body", "x")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "agents read the library, managers edit it");
    let (_, page) = text(app.page(&manager, "/scripts")).await;
    let csrf = hidden_csrf(&page).unwrap();
    let r = app
        .form(
            &manager,
            "/scripts",
            &[
                ("_csrf", &csrf),
                ("step", "listen"),
                ("channel", "wechat"),
                ("body", "您好，我在听，请慢慢说"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, page) = text(app.page(&agent, "/scripts")).await;
    assert!(page.contains("您好，我在听，请慢慢说"));
    let (status, _) = text(app.form(
        &manager,
        "/scripts",
        &[("_csrf", &csrf), ("step", "sing"), ("body", "")],
    ))
    .await;
    assert_eq!(status, 422);

    assert_eq!(
        app.page(&agent, "/admin/service")
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        app.page(&agent, "/admin/outbox")
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let (status, page) = text(app.page(&admin, "/admin/outbox")).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"outbox\"") || page.contains("class=\"empty\""));
    let (status, page) = text(app.page(&admin, "/admin/service")).await;
    assert_eq!(status, 200);
    assert!(page.contains("09:00-18:00"));
    let csrf = hidden_csrf(&page).unwrap();
    let (status, bad) = text(app.form(
        &admin,
        "/admin/service/calendar",
        &[
            ("_csrf", &csrf),
            ("calendar", "date,kind\n2027-01-01,holiday\n2027-13-01,休\n"),
        ],
    ))
    .await;
    assert_eq!(status, 422);
    assert!(bad.contains("line 3"), "the bad line is named");
    let r = app
        .form(
            &admin,
            "/admin/service/calendar",
            &[
                ("_csrf", &csrf),
                ("calendar", "date,kind\n2027-01-01,休\n2027-02-07,班\n"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, page) = text(app.page(&admin, "/admin/service")).await;
    assert!(page.contains("2027-01-01") && page.contains("2027-02-07"));
    let mut sla: Vec<(&str, &str)> = vec![("_csrf", &csrf), ("business_hours", "08:30-17:30")];
    for (k, v) in [
        ("urgent", ("30", "240")),
        ("high", ("120", "960")),
        ("normal", ("240", "1440")),
        ("low", ("480", "2400")),
    ] {
        sla.push((Box::leak(format!("{k}.first").into_boxed_str()), v.0));
        sla.push((Box::leak(format!("{k}.resolution").into_boxed_str()), v.1));
    }
    let r = app
        .form(&admin, "/admin/service/sla", &sla)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, page) = text(app.page(&admin, "/admin/service")).await;
    assert!(page.contains("08:30-17:30") && page.contains("value=\"30\""));
    sla[1] = ("business_hours", "late");
    let (status, _) = text(app.form(&admin, "/admin/service/sla", &sla)).await;
    assert_eq!(status, 422);
    let r = app
        .form(
            &admin,
            "/admin/service/categories",
            &[
                ("_csrf", &csrf),
                ("name", "退换货"),
                ("method", "clear"),
                ("active", "on"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, page) = text(app.page(&admin, "/admin/service")).await;
    assert!(page.contains("退换货"));
});

both!(
    service_insight_charts_tables_and_exports,
    |kind| async move {
        let app = TestApp::spawn(kind).await;
        let (_, admin_api) = app.user("boss", "admin", "").await;
        app.user("li", "agent", "A").await;
        let c = app
            .customer(&admin_api, json!({"name": "赵敏", "kind": "person"}))
            .await;
        for (subject, category) in [
            ("洗衣机漏水，维修后仍然漏水", "产品质量"),
            ("送货太慢，包装破损", "物流配送"),
            ("洗衣机噪音大，漏水", "产品质量"),
        ] {
            let t = app
            .post(&admin_api, "/api/v1/tickets", json!({"customer_id": id_of(&c), "subject": subject, "description": subject,
                "purpose": "criticism", "severity": "normal", "channel": "phone", "category": category}))
            .send()
            .await
            .unwrap();
            assert_eq!(t.status(), 201);
            let t: serde_json::Value = t.json().await.unwrap();
            let p = format!("/api/v1/tickets/{}", id_of(&t));
            let r = app
                .post(
                    &admin_api,
                    &format!("{p}/compensations"),
                    json!({"kind": "voucher", "amount": "100"}),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
        }
        let admin = app.session("boss", PASSWORD).await;
        let agent = app.session("li", PASSWORD).await;
        assert_eq!(
            app.page(&agent, "/service-insight")
                .send()
                .await
                .unwrap()
                .status(),
            403
        );
        let (status, page) = text(app.page(&admin, "/service-insight")).await;
        assert_eq!(status, 200);
        for id in [
            "months",
            "categories",
            "purposes",
            "sla",
            "compensation",
            "keywords",
            "keyword_trend",
            "heat",
        ] {
            assert!(page.contains(&format!("id=\"report-{id}\"")), "{id}");
        }
        assert!(
            page.contains("data-option=\""),
            "charts carry their options"
        );
        assert!(page.contains("/static/vendor/echarts.min.js"));
        assert!(page.contains("漏水"), "a keyword of the complaints");
        let r = app
            .page(&admin, "/static/vendor/echarts.min.js")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            r.text().await.unwrap().len() > 100_000,
            "ECharts is embedded"
        );
        let r = app
            .page(&admin, "/service-insight/export?table=categories")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".xlsx"));
        let rows = kehu_store::testing::read_export(
            kehu_domain::export::Format::Xlsx,
            &r.bytes().await.unwrap(),
        );
        assert_eq!(rows[1], ["产品质量", "2"]);
        let r = app
            .page(&admin, "/service-insight/export?table=compensation")
            .send()
            .await
            .unwrap();
        let rows = kehu_store::testing::read_export(
            kehu_domain::export::Format::Xlsx,
            &r.bytes().await.unwrap(),
        );
        assert_eq!(rows.last().unwrap()[2], "300", "three vouchers of 100 yuan");
        assert_eq!(
            app.page(&admin, "/service-insight/export?table=nope")
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
        assert_eq!(
            app.page(&admin, "/service-insight?from=yesterday")
                .send()
                .await
                .unwrap()
                .status(),
            400
        );
        assert_eq!(
            app.page(&admin, "/service-insight?from=2026-12-02&to=2026-01-01")
                .send()
                .await
                .unwrap()
                .status(),
            400
        );
    }
);
