//! The product and order API over loopback on both databases: products and
//! their prices managed by managers, orders with lines and discounts added
//! by whoever may write the customer, scope, deletion, field errors named
//! by line, and the OpenAPI document listing it all.

mod support;

use kehu_store::both;
use serde_json::json;
use support::{error_fields, id_of, Answer, TestApp};

both!(products_and_prices, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, manager) = app.user("mgr", "manager", "A").await;
    let (_, agent) = app.user("li", "agent", "A").await;
    let body = json!({"sku": "WP-100", "name": "净水器", "category": "净水",
                      "warranty_months": 12, "price": "1299.00"});
    let doc = app
        .post(&agent, "/api/v1/products", body.clone())
        .problem(403)
        .await;
    assert_eq!(doc["status"], 403);
    let p = app
        .post(&manager, "/api/v1/products", body.clone())
        .expect(201)
        .await;
    let id = id_of(&p);
    assert_eq!(p["price_fen"], 129_900);
    assert_eq!(p["warranty_months"], 12);
    assert_eq!(p["active"], true);
    let taken = app
        .post(&manager, "/api/v1/products", body.clone())
        .problem(422)
        .await;
    assert_eq!(error_fields(&taken), ["sku"]);
    let bad = app
        .post(
            &manager,
            "/api/v1/products",
            json!({"sku": "", "name": "", "warranty_months": 601, "price_fen": -1}),
        )
        .problem(422)
        .await;
    assert_eq!(
        error_fields(&bad),
        ["name", "price_fen", "sku", "warranty_months"]
    );
    let both_units = app
        .post(
            &manager,
            "/api/v1/products",
            json!({"sku": "X", "name": "x", "price": "1", "price_fen": 100}),
        )
        .problem(422)
        .await;
    assert_eq!(error_fields(&both_units), ["price"]);

    // Everyone reads the catalogue; a new price keeps the old in history.
    let list = app.get(&agent, "/api/v1/products").expect(200).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("prices").is_none(), "lists leave out histories");
    app.post(
        &agent,
        &format!("/api/v1/products/{id}/prices"),
        json!({"price": "1199"}),
    )
    .problem(403)
    .await;
    let priced = app
        .post(
            &manager,
            &format!("/api/v1/products/{id}/prices"),
            json!({"price_fen": 119_900}),
        )
        .expect(201)
        .await;
    assert_eq!(priced["price_fen"], 119_900);
    let history = priced["prices"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["price_fen"], 119_900);
    assert_eq!(history[0]["current"], true);
    assert_eq!(history[1]["price_fen"], 129_900);
    assert_eq!(history[1]["current"], false);
    let later = app
        .post(
            &manager,
            &format!("/api/v1/products/{id}/prices"),
            json!({"price": "1399", "valid_from": "2999-01-01T00:00:00+08:00"}),
        )
        .expect(201)
        .await;
    assert_eq!(later["price_fen"], 119_900, "a future price waits");
    let bad_price = app
        .post(
            &manager,
            &format!("/api/v1/products/{id}/prices"),
            json!({"valid_from": "soon"}),
        )
        .problem(422)
        .await;
    assert_eq!(error_fields(&bad_price), ["price", "valid_from"]);
    // PATCH: absent fields stay, null clears.
    let patched = app
        .patch(
            &manager,
            &format!("/api/v1/products/{id}"),
            json!({"name": "净水器 Pro", "category": null, "active": false}),
        )
        .expect(200)
        .await;
    assert_eq!(patched["name"], "净水器 Pro");
    assert_eq!(patched["sku"], "WP-100");
    assert_eq!(patched["warranty_months"], 12);
    assert!(patched["category"].is_null());
    assert_eq!(patched["active"], false);
    app.patch(
        &agent,
        &format!("/api/v1/products/{id}"),
        json!({"name": "x"}),
    )
    .problem(403)
    .await;
    let got = app
        .get(&agent, &format!("/api/v1/products/{id}"))
        .expect(200)
        .await;
    assert_eq!(got["prices"].as_array().unwrap().len(), 3);
    assert_eq!(
        app.get(&agent, "/api/v1/products?active=true")
            .expect(200)
            .await,
        json!([])
    );
    app.get(&agent, "/api/v1/products/not-an-id")
        .problem(404)
        .await;
});

both!(orders_with_lines, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("boss", "admin", "").await;
    let (_, agent) = app.user("li", "agent", "A").await;
    let (_, other) = app.user("wang", "agent", "B").await;
    let (_, ro) = app.user("ro", "read_only", "").await;
    let p = app
        .post(
            &admin,
            "/api/v1/products",
            json!({"sku": "WP-100", "name": "净水器", "warranty_months": 24, "price": "1299"}),
        )
        .expect(201)
        .await;
    let pid = id_of(&p);
    let c = app
        .customer(&agent, json!({"name": "张伟", "kind": "person"}))
        .await;
    let cid = id_of(&c);
    let body = json!({
        "customer_id": cid,
        "order_no": "SO-1",
        "ordered_at": "2025-03-05T14:30:00+08:00",
        "discount": "20",
        "lines": [
            {"product_id": pid, "quantity": 2, "discount_fen": 10_000},
            {"description": "上门安装", "unit_price_fen": 5_000}
        ]
    });
    let o = app
        .post(&agent, "/api/v1/orders", body.clone())
        .expect(201)
        .await;
    let oid = id_of(&o);
    // 2 × 1299 − 100 + 50 = 2548, less 20 for the order.
    assert_eq!(o["amount_fen"], 252_800);
    assert_eq!(o["discount_fen"], 12_000);
    assert_eq!(o["list_fen"], 264_800);
    assert_eq!(o["quantity"], 3);
    assert_eq!(o["order_no"], "SO-1");
    assert_eq!(o["customer_id"], cid.as_str());
    let lines = o["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["sku"], "WP-100");
    assert_eq!(lines[0]["unit_price_fen"], 129_900);
    assert_eq!(lines[0]["amount_fen"], 249_800);
    assert_eq!(lines[0]["description"], "净水器");
    assert!(lines[0]["warranty_until"]
        .as_str()
        .unwrap()
        .starts_with("2027-03-05T06:30:00"));
    assert!(lines[1]["warranty_until"].is_null());
    let got = app
        .get(&agent, &format!("/api/v1/orders/{oid}"))
        .expect(200)
        .await;
    assert_eq!(got, o);
    let list = app
        .get(&ro, &format!("/api/v1/customers/{cid}/orders"))
        .expect(200)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Scope: another team's agent sees nothing; read-only may not add.
    app.get(&other, &format!("/api/v1/orders/{oid}"))
        .problem(404)
        .await;
    app.get(&other, &format!("/api/v1/customers/{cid}/orders"))
        .problem(404)
        .await;
    let denied = app
        .post(
            &other,
            "/api/v1/orders",
            json!({"customer_id": cid, "lines": [{"product_id": pid}]}),
        )
        .problem(422)
        .await;
    assert_eq!(error_fields(&denied), ["customer_id"]);
    app.post(
        &ro,
        "/api/v1/orders",
        json!({"customer_id": cid, "lines": [{"product_id": pid}]}),
    )
    .problem(403)
    .await;

    // Field errors name the line; amounts sent in fen name the fen field.
    let bad = app
        .post(
            &agent,
            "/api/v1/orders",
            json!({
                "customer_id": cid, "order_no": "SO-1", "ordered_at": "2999-01-01", "discount_fen": 1,
                "lines": [
                    {"product_id": pid, "quantity": 0},
                    {"description": "x", "unit_price_fen": 100, "discount_fen": 101},
                    {"product_id": "nope"}
                ]
            }),
        )
        .problem(422)
        .await;
    assert_eq!(
        error_fields(&bad),
        [
            "lines[0].quantity",
            "lines[1].discount_fen",
            "lines[2].product_id",
            "ordered_at"
        ]
    );
    let none = app
        .post(&agent, "/api/v1/orders", json!({"customer_id": cid}))
        .problem(422)
        .await;
    assert_eq!(error_fields(&none), ["lines"]);
    let over = app
        .post(
            &agent,
            "/api/v1/orders",
            json!({"customer_id": cid, "discount": "1300", "lines": [{"product_id": pid}]}),
        )
        .problem(422)
        .await;
    assert_eq!(error_fields(&over), ["discount"]);
    let taken = app
        .post(&agent, "/api/v1/orders", body.clone())
        .problem(422)
        .await;
    assert_eq!(error_fields(&taken), ["order_no"]);
    let unknown = app
        .post(
            &agent,
            "/api/v1/orders",
            json!({"customer_id": cid, "color": "red"}),
        )
        .problem(422)
        .await;
    assert_eq!(unknown["status"], 422);

    // The timeline shows the purchase.
    let timeline = app
        .get(&agent, &format!("/api/v1/customers/{cid}/timeline"))
        .expect(200)
        .await;
    assert!(timeline
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["type"] == "order" && i["id"] == oid.as_str()));

    // Deleting: not by someone else, then by its creator.
    app.delete(&other, &format!("/api/v1/orders/{oid}"))
        .problem(404)
        .await;
    app.delete(&ro, &format!("/api/v1/orders/{oid}"))
        .problem(403)
        .await;
    app.delete(&agent, &format!("/api/v1/orders/{oid}"))
        .expect(204)
        .await;
    app.get(&agent, &format!("/api/v1/orders/{oid}"))
        .problem(404)
        .await;
});

both!(openapi_lists_products_and_orders, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let doc = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    for (path, methods) in [
        ("/api/v1/products", &["get", "post"][..]),
        ("/api/v1/products/{id}", &["get", "patch"]),
        ("/api/v1/products/{id}/prices", &["post"]),
        ("/api/v1/customers/{id}/orders", &["get"]),
        ("/api/v1/orders", &["post"]),
        ("/api/v1/orders/{id}", &["get", "delete"]),
    ] {
        for m in methods {
            assert!(
                doc["paths"][path][m].is_object(),
                "{m} {path} is not in the document"
            );
        }
    }
    for schema in [
        "Product",
        "Price",
        "Order",
        "OrderLine",
        "OrderBody",
        "LineBody",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema}"
        );
    }
});
