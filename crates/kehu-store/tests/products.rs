//! Products with their price history, and orders with lines and discounts,
//! on both databases: totals, validation, scope, deletion, the timeline,
//! merging, and imported orders naming a product by SKU.

use chrono::{DateTime, Utc};
use kehu_domain::customer::CustomerInput;
use kehu_domain::ids::{CustomerId, ProductId};
use kehu_domain::import::{map_headers, ImportKind, ImportedRow};
use kehu_domain::order::{LineInput, OrderInput, PriceInput, ProductInput};
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use kehu_store::audit::{self, Actor};
use kehu_store::customers::{self, CustomerWrite};
use kehu_store::import::orders::{apply, OrderImport};
use kehu_store::import::{Outcome, Owner};
use kehu_store::orders::{self, Order};
use kehu_store::products::{self, Product};
use kehu_store::testing::{self, fresh};
use kehu_store::timeline::{self, Item};
use kehu_store::{both, Db, Error, Query};

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

fn at(s: &str) -> Timestamp {
    Timestamp::from(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
}

async fn customer(db: &Db, by: &Principal, name: &str) -> CustomerId {
    let fields = CustomerInput {
        kind: "person".into(),
        name: name.into(),
        owner_id: by.user_id.to_string(),
        ..Default::default()
    }
    .parse()
    .unwrap();
    customers::create(
        db,
        Some(by),
        CustomerWrite {
            fields,
            custom: Default::default(),
            tags: vec![],
            consents: Default::default(),
        },
    )
    .await
    .unwrap()
    .id
}

async fn product(db: &Db, by: &Principal, sku: &str, price: &str, months: &str) -> Product {
    let f = ProductInput {
        sku: sku.into(),
        name: format!("产品{sku}"),
        warranty_months: months.into(),
        price: price.into(),
        ..Default::default()
    }
    .parse()
    .unwrap();
    products::create(db, by, &f, Timestamp::now())
        .await
        .unwrap()
}

fn line(product: &ProductId, qty: &str, price: &str, discount: &str) -> LineInput {
    LineInput {
        product_id: product.to_string(),
        quantity: qty.into(),
        unit_price: price.into(),
        discount: discount.into(),
        ..Default::default()
    }
}

async fn scalar(db: &Db, q: Query) -> i64 {
    db.conn().scalar(q).await.unwrap()
}

fn invalid_fields(e: Error) -> Vec<String> {
    match e {
        Error::Invalid(fe) => {
            let mut f: Vec<String> = fe.0.into_iter().map(|e| e.field).collect();
            f.sort();
            f
        }
        other => panic!("not a field error: {other:?}"),
    }
}

both!(products_keep_their_price_history, |kind| async move {
    let db = fresh(kind).await.unwrap();
    let manager = testing::user(&db, "mgr", "manager", "A").await.principal();
    let agent = testing::user(&db, "li", "agent", "A").await.principal();
    let t0 = at("2025-03-01T10:00:00+08:00");
    let fields = ProductInput {
        sku: "WP-100".into(),
        name: "净水器".into(),
        category: "净水".into(),
        warranty_months: "12".into(),
        price: "1299".into(),
        ..Default::default()
    }
    .parse()
    .unwrap();
    assert!(matches!(
        products::create(&db, &agent, &fields, t0).await,
        Err(Error::Forbidden)
    ));
    let p = products::create(&db, &manager, &fields, t0).await.unwrap();
    assert_eq!(p.price_fen, Some(129_900));
    assert_eq!(p.warranty_months, 12);
    let again = products::create(&db, &manager, &fields, t0)
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(again), ["sku"]);

    // A new price from a later day; one announced for the future is not
    // in force yet.
    let t1 = at("2025-04-01T09:00:00+08:00");
    let cut = PriceInput {
        price: "1199".into(),
        valid_from: String::new(),
    }
    .check(t1, ZONE)
    .unwrap();
    assert!(matches!(
        products::set_price(&db, &agent, &p.id, &cut, t1).await,
        Err(Error::Forbidden)
    ));
    products::set_price(&db, &manager, &p.id, &cut, t1)
        .await
        .unwrap();
    let future = PriceInput {
        price: "1399".into(),
        valid_from: "2025-05-01".into(),
    }
    .check(t1, ZONE)
    .unwrap();
    let got = products::set_price(&db, &manager, &p.id, &future, t1)
        .await
        .unwrap();
    assert_eq!(got.price_fen, Some(119_900));
    let history: Vec<(i64, bool)> = got
        .prices
        .unwrap()
        .iter()
        .map(|x| (x.price_fen, x.current))
        .collect();
    assert_eq!(
        history,
        [(139_900, false), (119_900, true), (129_900, false)]
    );
    // Read later, the announced price is the current one.
    let may = products::get(&db, &p.id, at("2025-05-02T00:00:00+08:00"))
        .await
        .unwrap();
    assert_eq!(may.price_fen, Some(139_900));

    // Each price change is audited with the old and the new price.
    let entries = audit::list(
        &db,
        &audit::Filter {
            entity: Some("product".into()),
            action: Some("price".into()),
            ..Default::default()
        },
        10,
    )
    .await
    .unwrap();
    assert_eq!(entries.len(), 2);
    let first = entries
        .iter()
        .find(|e| e.changes[0].new == 119_900)
        .unwrap();
    assert_eq!(first.changes[0].field, "price_fen");
    assert_eq!(first.changes[0].old, 129_900);
    assert_eq!(first.actor_login.as_deref(), Some("mgr"));

    // Editing: fields change, a changed price becomes a new history row,
    // an unchanged one adds nothing.
    let t2 = at("2025-04-02T09:00:00+08:00");
    let edit = ProductInput {
        sku: "WP-100".into(),
        name: "净水器 Pro".into(),
        warranty_months: "24".into(),
        price: "1199.00".into(),
        active: false,
        ..Default::default()
    }
    .parse()
    .unwrap();
    let edited = products::update(&db, &manager, &p.id, &edit, t2)
        .await
        .unwrap();
    assert_eq!(
        (edited.name.as_str(), edited.warranty_months, edited.active),
        ("净水器 Pro", 24, false)
    );
    assert_eq!(edited.category, None);
    let rows = Query::new("SELECT COUNT(*) FROM product_prices WHERE product_id = $1").bind(&p.id);
    assert_eq!(scalar(&db, rows.clone()).await, 3);
    let dearer = ProductInput {
        price: "1250".into(),
        ..edit.clone().into_input()
    };
    products::update(&db, &manager, &p.id, &dearer.parse().unwrap(), t2)
        .await
        .unwrap();
    assert_eq!(scalar(&db, rows).await, 4);
    // Another product may not take the SKU.
    let other = product(&db, &manager, "F-1", "30", "").await;
    let clash = ProductInput {
        sku: "WP-100".into(),
        name: "滤芯".into(),
        ..Default::default()
    };
    let e = products::update(&db, &manager, &other.id, &clash.parse().unwrap(), t2)
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(e), ["sku"]);
    // Lists: offered first; only the offered on request.
    let all = products::list(&db, false, t2).await.unwrap();
    let skus: Vec<&str> = all.iter().map(|p| p.sku.as_str()).collect();
    assert_eq!(skus, ["F-1", "WP-100"]);
    let offered = products::list(&db, true, Timestamp::now()).await.unwrap();
    assert_eq!(offered.len(), 1);
    assert_eq!(offered[0].price_fen, Some(3_000));
});

trait IntoInput {
    fn into_input(self) -> ProductInput;
}

impl IntoInput for kehu_domain::order::ProductFields {
    fn into_input(self) -> ProductInput {
        ProductInput {
            sku: self.sku,
            name: self.name,
            category: self.category.unwrap_or_default(),
            warranty_months: self.warranty_months.to_string(),
            price: String::new(),
            active: self.active,
        }
    }
}

both!(orders_total_their_lines_and_discounts, |kind| async move {
    let db = fresh(kind).await.unwrap();
    let admin = testing::user(&db, "boss", "admin", "").await.principal();
    let agent = testing::user(&db, "li", "agent", "A").await.principal();
    let c = customer(&db, &agent, "张伟").await;
    let wp = product(&db, &admin, "WP-100", "1299", "12").await;
    let filter = product(&db, &admin, "F-1", "88.5", "").await;
    let now = Timestamp::now();
    let input = OrderInput {
        order_no: "SO-7".into(),
        ordered_at: "2025-03-05 14:30".into(),
        discount: "20".into(),
        notes: "老客户".into(),
        lines: vec![
            line(&wp.id, "1", "", "100"),
            line(&filter.id, "2", "80", ""),
            LineInput {
                description: "上门安装".into(),
                unit_price: "50".into(),
                ..Default::default()
            },
            LineInput {
                quantity: "1".into(),
                ..Default::default()
            },
        ],
    };
    let o = orders::create(&db, &agent, &c, &input, now, ZONE)
        .await
        .unwrap();
    // 1299 − 100 + 2 × 80 + 50 = 1409, less 20 for the order.
    assert_eq!(o.amount_fen, 138_900);
    assert_eq!(o.discount_fen, 12_000);
    assert_eq!(o.list_fen, 150_900);
    assert_eq!(o.order_discount_fen(), 2_000);
    assert_eq!(o.quantity, 4);
    assert_eq!(o.order_no.as_deref(), Some("SO-7"));
    assert_eq!(o.product.as_deref(), Some("产品WP-100、产品F-1、上门安装"));
    assert_eq!(o.ordered_at, at("2025-03-05T14:30:00+08:00"));
    let lines: Vec<(Option<&str>, i64, i64, i64, i64)> = o
        .lines
        .iter()
        .map(|l| {
            (
                l.sku.as_deref(),
                l.quantity,
                l.unit_price_fen,
                l.discount_fen,
                l.amount_fen,
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (Some("WP-100"), 1, 129_900, 10_000, 119_900),
            (Some("F-1"), 2, 8_000, 0, 16_000),
            (None, 1, 5_000, 0, 5_000),
        ]
    );
    assert_eq!(
        o.lines[0].warranty_until,
        Some(at("2026-03-05T14:30:00+08:00"))
    );
    assert_eq!(o.lines[1].warranty_until, None);
    // The order row holds the totals that readers of orders alone use.
    let (amount, discount, quantity): (i64, i64, i64) = db
        .conn()
        .fetch_one(
            Query::new("SELECT amount_fen, discount_fen, quantity FROM orders WHERE id = $1")
                .bind(&o.id),
        )
        .await
        .unwrap();
    assert_eq!((amount, discount, quantity), (138_900, 12_000, 4));
    let sum =
        Query::new("SELECT CAST(SUM(amount_fen) AS BIGINT) FROM order_lines WHERE order_id = $1")
            .bind(&o.id);
    assert_eq!(scalar(&db, sum).await - 2_000, 138_900);

    // A refund-free second order, newer: listed first.
    let second = OrderInput {
        lines: vec![line(&filter.id, "", "", "")],
        ..Default::default()
    };
    let o2 = orders::create(&db, &agent, &c, &second, now, ZONE)
        .await
        .unwrap();
    assert_eq!((o2.amount_fen, o2.discount_fen), (8_850, 0));
    let list = orders::list(&db, &agent, &c, 50).await.unwrap();
    let ids: Vec<&str> = list.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, [o2.id.as_str(), o.id.as_str()]);
    assert_eq!(list[1].lines.len(), 3);
    assert_eq!(
        orders::get(&db, &agent, &o.id).await.unwrap().lines[2].description,
        "上门安装"
    );

    // Audited once each, and on the timeline as purchases rather than as
    // changes.
    let audited = Query::new(
        "SELECT COUNT(*) FROM audit_log WHERE entity = 'order' AND action = 'create' AND customer_id = $1",
    )
    .bind(&c);
    assert_eq!(scalar(&db, audited).await, 2);
    let items = timeline::for_customer(&db, &agent, &c, 50).await.unwrap();
    let shown: Vec<&Order> = items
        .iter()
        .filter_map(|i| match i {
            Item::Order(o) => Some(o.as_ref()),
            _ => None,
        })
        .collect();
    assert_eq!(shown.len(), 2);
    assert!(!items
        .iter()
        .any(|i| matches!(i, Item::Change(a) if a.entity == "order")));

    // The same order number twice is refused.
    let dup = OrderInput {
        order_no: "SO-7".into(),
        ..second.clone()
    };
    let e = orders::create(&db, &agent, &c, &dup, now, ZONE)
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(e), ["order_no"]);
});

both!(bad_orders_name_each_field, |kind| async move {
    let db = fresh(kind).await.unwrap();
    let admin = testing::user(&db, "boss", "admin", "").await.principal();
    let c = customer(&db, &admin, "李娜").await;
    let wp = product(&db, &admin, "WP-100", "1299", "12").await;
    let unpriced = product(&db, &admin, "NEW-1", "", "").await;
    let now = Timestamp::now();
    let bad = OrderInput {
        ordered_at: "2999-01-01".into(),
        discount: "-1".into(),
        lines: vec![
            line(&wp.id, "0", "", ""),
            line(&ProductId::new(), "1", "", ""),
            line(&unpriced.id, "1", "", ""),
            line(&wp.id, "2", "10", "20.01"),
        ],
        ..Default::default()
    };
    let e = orders::create(&db, &admin, &c, &bad, now, ZONE)
        .await
        .unwrap_err();
    assert_eq!(
        invalid_fields(e),
        [
            "discount",
            "lines[0].quantity",
            "lines[1].product_id",
            "lines[2].unit_price",
            "lines[3].discount",
            "ordered_at",
        ]
    );
    let over = OrderInput {
        discount: "1299.01".into(),
        lines: vec![line(&wp.id, "1", "", "")],
        ..Default::default()
    };
    let e = orders::create(&db, &admin, &c, &over, now, ZONE)
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(e), ["discount"]);
    let empty = OrderInput::default();
    let e = orders::create(&db, &admin, &c, &empty, now, ZONE)
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(e), ["lines"]);
    let huge = OrderInput {
        lines: vec![line(&wp.id, "1000000", "99999999999", "")],
        ..Default::default()
    };
    let e = orders::create(&db, &admin, &c, &huge, now, ZONE)
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(e), ["lines[0].unit_price"]);
    // A product no longer offered.
    let stop = ProductInput {
        sku: "WP-100".into(),
        name: "净水器".into(),
        warranty_months: "12".into(),
        active: false,
        ..Default::default()
    };
    products::update(&db, &admin, &wp.id, &stop.parse().unwrap(), now)
        .await
        .unwrap();
    let old = OrderInput {
        lines: vec![line(&wp.id, "1", "", "")],
        ..Default::default()
    };
    let e = orders::create(&db, &admin, &c, &old, now, ZONE)
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(e), ["lines[0].product_id"]);
    assert_eq!(
        scalar(&db, Query::new("SELECT COUNT(*) FROM orders")).await,
        0
    );
    assert_eq!(
        scalar(&db, Query::new("SELECT COUNT(*) FROM order_lines")).await,
        0
    );
});

both!(orders_follow_the_customers_scope, |kind| async move {
    let db = fresh(kind).await.unwrap();
    let admin = testing::user(&db, "boss", "admin", "").await.principal();
    let li = testing::user(&db, "li", "agent", "A").await.principal();
    let wang = testing::user(&db, "wang", "agent", "A").await.principal();
    let manager = testing::user(&db, "mgr", "manager", "A").await.principal();
    let ro = testing::user(&db, "ro", "read_only", "").await.principal();
    let c = customer(&db, &li, "张伟").await;
    let p = product(&db, &admin, "WP-100", "1299", "12").await;
    let input = OrderInput {
        lines: vec![line(&p.id, "1", "", "")],
        ..Default::default()
    };
    let now = Timestamp::now();
    // Another agent cannot see the customer; a read-only user cannot write.
    assert!(matches!(
        orders::create(&db, &wang, &c, &input, now, ZONE).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        orders::create(&db, &ro, &c, &input, now, ZONE).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        orders::list(&db, &wang, &c, 10).await,
        Err(Error::NotFound)
    ));
    let mine = orders::create(&db, &li, &c, &input, now, ZONE)
        .await
        .unwrap();
    let theirs = orders::create(&db, &manager, &c, &input, now, ZONE)
        .await
        .unwrap();
    assert!(matches!(
        orders::get(&db, &wang, &mine.id).await,
        Err(Error::NotFound)
    ));
    assert_eq!(orders::list(&db, &ro, &c, 10).await.unwrap().len(), 2);
    // Deleting: the creator or an admin.
    assert!(matches!(
        orders::delete(&db, &wang, &mine.id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        orders::delete(&db, &li, &theirs.id).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        orders::delete(&db, &ro, &mine.id).await,
        Err(Error::Forbidden)
    ));
    orders::delete(&db, &li, &mine.id).await.unwrap();
    orders::delete(&db, &admin, &theirs.id).await.unwrap();
    assert!(matches!(
        orders::get(&db, &li, &mine.id).await,
        Err(Error::NotFound)
    ));
    assert_eq!(
        scalar(&db, Query::new("SELECT COUNT(*) FROM order_lines")).await,
        0,
        "lines go with their order"
    );
    let deleted = Query::new(
        "SELECT COUNT(*) FROM audit_log WHERE entity = 'order' AND action = 'delete' AND customer_id = $1",
    )
    .bind(&c);
    assert_eq!(scalar(&db, deleted).await, 2);
    // A deletion stays on the timeline.
    let items = timeline::for_customer(&db, &li, &c, 50).await.unwrap();
    assert!(items
        .iter()
        .any(|i| matches!(i, Item::Change(a) if a.entity == "order" && a.action == "delete")));
});

both!(merging_keeps_orders_and_their_lines, |kind| async move {
    let db = fresh(kind).await.unwrap();
    let admin = testing::user(&db, "boss", "admin", "").await.principal();
    let survivor = customer(&db, &admin, "王芳").await;
    let merged = customer(&db, &admin, "王芳").await;
    let p = product(&db, &admin, "WP-100", "1299", "12").await;
    let now = Timestamp::now();
    let two_lines = OrderInput {
        lines: vec![line(&p.id, "1", "", ""), line(&p.id, "2", "1000", "5")],
        ..Default::default()
    };
    let o = orders::create(&db, &admin, &merged, &two_lines, now, ZONE)
        .await
        .unwrap();
    orders::create(&db, &admin, &survivor, &two_lines, now, ZONE)
        .await
        .unwrap();
    kehu_store::merge::merge(&db, &admin, &survivor, &merged, &Default::default())
        .await
        .unwrap();
    let kept = orders::list(&db, &admin, &survivor, 10).await.unwrap();
    assert_eq!(kept.len(), 2);
    let moved = kept.iter().find(|x| x.id == o.id).unwrap();
    assert_eq!(moved.customer_id, survivor);
    assert_eq!(moved.lines.len(), 2);
    assert_eq!(moved.amount_fen, 129_900 + 199_500);
    assert_eq!(
        scalar(&db, Query::new("SELECT COUNT(*) FROM order_lines")).await,
        4
    );
});

fn rows(lines: &[&str]) -> Vec<ImportedRow> {
    let headers: Vec<String> = lines[0].split(',').map(str::to_string).collect();
    let (cols, unknown) = map_headers(ImportKind::Orders, &headers);
    assert!(unknown.is_empty(), "{unknown:?}");
    lines[1..]
        .iter()
        .map(|l| ImportedRow::from_record(&cols, &l.split(',').collect::<Vec<_>>()))
        .collect()
}

both!(imported_orders_with_sku_and_discount, |kind| async move {
    let db = fresh(kind).await.unwrap();
    let admin = testing::user(&db, "boss", "admin", "").await.principal();
    let actor = Actor::system("test");
    let owner = Owner::default();
    let p = product(&db, &admin, "WP-100", "1299", "24").await;
    let run = OrderImport {
        actor: &actor,
        scope: None,
        zone: ZONE,
        create_customers: true,
        owner: &owner,
        dry_run: false,
    };
    let file = rows(&[
        "订单号,外部编号,客户,日期,实付金额,数量,优惠金额,产品编号",
        "SO-1,C1,张伟,2024-03-05 10:00,1199,1,100,WP-100",
        "SO-2,C1,张伟,2024-03-06,100,3,,WP-100",
        "SO-3,C2,李娜,2024-03-07,50,1,5,",
        "SO-4,C2,李娜,2024-03-07,50,1,,NOPE-9",
        "SO-5,C2,李娜,2024-03-07,50,1,-3,",
    ]);
    let out = apply(&db, &run, &file).await.unwrap();
    assert_eq!(out[..3], [const { Outcome::Created }; 3]);
    let rejected = |o: &Outcome| match o {
        Outcome::Rejected(e) => e.0.iter().map(|f| f.field.clone()).collect::<Vec<_>>(),
        other => panic!("not rejected: {other:?}"),
    };
    assert_eq!(rejected(&out[3]), ["sku"], "no product NOPE-9");
    assert_eq!(rejected(&out[4]), ["discount"]);
    let order = |no: &'static str| {
        let db = db.clone();
        let admin = admin.clone();
        async move {
            let (id,): (String,) = db
                .conn()
                .fetch_one(Query::new("SELECT id FROM orders WHERE external_id = $1").bind(no))
                .await
                .unwrap();
            orders::get(&db, &admin, &id.parse().unwrap())
                .await
                .unwrap()
        }
    };
    let so1 = order("SO-1").await;
    assert_eq!((so1.amount_fen, so1.discount_fen), (119_900, 10_000));
    assert_eq!(so1.product.as_deref(), Some("产品WP-100"));
    assert_eq!(so1.lines.len(), 1);
    let l = &so1.lines[0];
    assert_eq!(l.product_id.as_ref(), Some(&p.id));
    assert_eq!(
        (l.quantity, l.unit_price_fen, l.discount_fen, l.amount_fen),
        (1, 129_900, 10_000, 119_900)
    );
    assert_eq!(l.warranty_until, Some(at("2026-03-05T10:00:00+08:00")));
    // 100 yuan for three: 33.34 each, the two fen over counted as discount.
    let so2 = order("SO-2").await;
    let l = &so2.lines[0];
    assert_eq!(
        (l.quantity, l.unit_price_fen, l.discount_fen, l.amount_fen),
        (3, 3_334, 2, 10_000)
    );
    assert_eq!((so2.amount_fen, so2.discount_fen), (10_000, 2));
    let so3 = order("SO-3").await;
    assert_eq!((so3.discount_fen, so3.lines.len()), (500, 0));

    // Again: nothing changes. A corrected discount updates the order and
    // its line.
    let again = apply(&db, &run, &file).await.unwrap();
    assert_eq!(again[..3], [const { Outcome::Unchanged }; 3]);
    let fix = rows(&[
        "订单号,外部编号,日期,实付金额,折扣,产品编号",
        "SO-1,C1,2024-03-05 10:00,1099,200,WP-100",
    ]);
    assert_eq!(apply(&db, &run, &fix).await.unwrap(), [Outcome::Updated]);
    let so1 = order("SO-1").await;
    assert_eq!((so1.amount_fen, so1.discount_fen), (109_900, 20_000));
    assert_eq!(so1.lines.len(), 1);
    assert_eq!(so1.lines[0].discount_fen, 20_000);
    assert_eq!(
        scalar(&db, Query::new("SELECT COUNT(*) FROM order_lines")).await,
        2
    );
});
