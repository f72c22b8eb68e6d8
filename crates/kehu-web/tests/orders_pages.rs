//! The product and order pages with a browser session, on both databases:
//! a manager keeps the catalogue and its prices; an agent enters an order
//! on a customer's page, sees refused input again with what was typed,
//! calculates the totals, saves, and finds it under the purchases.

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

both!(products_kept_in_the_browser, |kind| async move {
    let app = TestApp::spawn(kind).await;
    app.user("mgr", "manager", "A").await;
    app.user("li", "agent", "A").await;
    let s = app.session("mgr", PASSWORD).await;
    let (status, list) = text(app.page(&s, "/products")).await;
    assert_eq!(status, 200);
    assert!(
        list.contains("id=\"nav-products\""),
        "managers see the link"
    );
    let (status, form) = text(app.page(&s, "/products/new")).await;
    assert_eq!(status, 200);
    let csrf = hidden_csrf(&form).unwrap();
    let (status, again) = text(app.form(
        &s,
        "/products/new",
        &[
            ("_csrf", &csrf),
            ("sku", "WP-100"),
            ("name", ""),
            ("warranty_months", "12"),
            ("price", "abc"),
            ("active", "1"),
        ],
    ))
    .await;
    assert_eq!(status, 422);
    assert!(again.contains("value=\"WP-100\"") && again.contains("field-error"));
    let r = app
        .form(
            &s,
            "/products/new",
            &[
                ("_csrf", &csrf),
                ("sku", "WP-100"),
                ("name", "净水器"),
                ("warranty_months", "12"),
                ("price", "1299"),
                ("active", "1"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let at = location(&r);
    assert!(at.starts_with("/products/"), "{at}");
    let r = app
        .form(
            &s,
            &format!("{at}/prices"),
            &[("_csrf", &csrf), ("price", "1199"), ("valid_from", "")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (status, page) = text(app.page(&s, &at)).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"price-history\""));
    assert!(page.contains("¥1,199.00") && page.contains("¥1,299.00"));
    let (status, list) = text(app.page(&s, "/products")).await;
    assert_eq!(status, 200);
    assert!(list.contains("净水器") && list.contains("¥1,199.00") && list.contains("12 个月"));
    let (_, bad) = text(app.form(
        &s,
        &format!("{at}/prices"),
        &[("_csrf", &csrf), ("price", "-5"), ("valid_from", "")],
    ))
    .await;
    assert!(bad.contains("field-error"));

    // Agents read the catalogue but neither see the link nor change it.
    let a = app.session("li", PASSWORD).await;
    let (status, list) = text(app.page(&a, "/products")).await;
    assert_eq!(status, 200);
    assert!(!list.contains("id=\"nav-products\"") && !list.contains("id=\"new-product\""));
    assert_eq!(text(app.page(&a, "/products/new")).await.0, 403);
    let (_, agent_form) = text(app.page(&a, "/customers")).await;
    let agent_csrf = hidden_csrf(&agent_form).unwrap();
    let r = app
        .form(
            &a,
            &format!("{at}/prices"),
            &[("_csrf", &agent_csrf), ("price", "1")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
});

both!(an_order_entered_in_the_browser, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("boss", "admin", "").await;
    let (_, api) = app.user("li", "agent", "A").await;
    let p = app
        .post(
            &admin,
            "/api/v1/products",
            json!({"sku": "WP-100", "name": "净水器", "warranty_months": 12, "price": "1299"}),
        )
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let pid = id_of(&p);
    let c = app
        .customer(&api, json!({"name": "张伟", "kind": "person"}))
        .await;
    let cid = id_of(&c);
    let s = app.session("li", PASSWORD).await;
    let (status, page) = text(app.page(&s, &format!("/customers/{cid}"))).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"purchases\""));
    assert!(page.contains(&format!("/customers/{cid}/orders/new")));
    let new = format!("/customers/{cid}/orders/new");
    let (status, form) = text(app.page(&s, &new)).await;
    assert_eq!(status, 200);
    assert!(form.contains(&format!("value=\"{pid}\" data-price=\"1299.00\"")));
    assert!(form.contains("/static/orders.js"));
    let csrf = hidden_csrf(&form).unwrap();
    let post = |fields: Vec<(&'static str, String)>| {
        let mut all = vec![("_csrf", csrf.clone())];
        all.extend(fields);
        let s = s.clone();
        let new = new.clone();
        let app = &app;
        async move {
            let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.form(&s, &new, &refs).send().await.unwrap()
        }
    };
    // Refused: the errors by line, and what was typed.
    let r = post(vec![
        ("ordered_at", "2025-03-05T14:30".into()),
        ("lines[0].product_id", pid.clone()),
        ("lines[0].quantity", "0".into()),
        ("lines[1].description", "上门安装费".into()),
        ("lines[1].quantity", "1".into()),
        ("discount", "abc".into()),
        ("action", "save".into()),
    ])
    .await;
    assert_eq!(r.status(), 422);
    let again = r.text().await.unwrap();
    assert!(again.contains("上门安装费") && again.contains("value=\"abc\""));
    assert!(again.matches("field-error").count() >= 3, "{again}");
    assert!(again.contains(&format!("value=\"{pid}\" data-price=\"1299.00\" selected")));
    // Calculated: the totals, nothing saved.
    let lines = vec![
        ("ordered_at", "2025-03-05T14:30".to_string()),
        ("lines[0].product_id", pid.clone()),
        ("lines[0].quantity", "2".into()),
        ("lines[0].discount", "100".into()),
        ("lines[1].description", "上门安装费".into()),
        ("lines[1].unit_price", "50".into()),
        ("lines[2].quantity", "1".into()),
        ("discount", "20".into()),
    ];
    let mut calc = lines.clone();
    calc.push(("action", "calculate".into()));
    let r = post(calc).await;
    assert_eq!(r.status(), 200);
    let shown = r.text().await.unwrap();
    assert!(shown.contains("id=\"order-total\">¥2,528.00"), "{shown}");
    assert!(shown.contains("¥2,498.00"), "the first line's amount");
    let mut add = lines.clone();
    add.push(("action", "add_line".into()));
    let r = post(add).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("lines[3].product_id"));
    let listed = app
        .get(&api, &format!("/api/v1/customers/{cid}/orders"))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(listed, json!([]), "calculating saves nothing");
    // Saved: back on the customer page under the purchases.
    let mut save = lines.clone();
    save.push(("action", "save".into()));
    let r = post(save).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("/customers/{cid}#purchases"));
    let (_, page) = text(app.page(&s, &format!("/customers/{cid}"))).await;
    assert!(page.contains("class=\"order-row\""));
    assert!(page.contains("净水器") && page.contains("¥2,528.00"));
    assert!(page.contains("2026-03-05"), "warranty until");
    // Its creator may delete it.
    let order = app
        .get(&api, &format!("/api/v1/customers/{cid}/orders"))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let oid = id_of(&order[0]);
    assert!(page.contains(&format!("/orders/{oid}/delete")));
    let r = app
        .form(&s, &format!("/orders/{oid}/delete"), &[("_csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, page) = text(app.page(&s, &format!("/customers/{cid}"))).await;
    assert!(!page.contains("class=\"order-row\""));
    // Someone who may not write the customer gets no form.
    app.user("ro", "read_only", "").await;
    let ro = app.session("ro", PASSWORD).await;
    assert_eq!(text(app.page(&ro, &new)).await.0, 403);
});
