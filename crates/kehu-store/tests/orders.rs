//! Orders imported from files, the customer-value models fitted on them,
//! and the nightly fit claimed once across servers; on both databases.

use kehu_domain::import::{map_headers, ImportKind, ImportedRow};
use kehu_store::audit::Actor;
use kehu_store::import::orders::{apply, OrderImport};
use kehu_store::import::{Outcome, Owner};
use kehu_store::testing::{fresh, fresh_pair, Kind};
use kehu_store::{analytics, Db, Query};

fn rows(kind: ImportKind, lines: &[&str]) -> Vec<ImportedRow> {
    let headers: Vec<String> = lines[0].split(',').map(str::to_string).collect();
    let (cols, _) = map_headers(kind, &headers);
    lines[1..]
        .iter()
        .map(|l| ImportedRow::from_record(&cols, &l.split(',').collect::<Vec<_>>()))
        .collect()
}

async fn scalar(db: &Db, sql: &str) -> i64 {
    db.conn().scalar(Query::new(sql)).await.unwrap()
}

fn fields(o: &Outcome) -> Vec<String> {
    match o {
        Outcome::Rejected(e) => e.0.iter().map(|f| f.field.clone()).collect(),
        other => panic!("not rejected: {other:?}"),
    }
}

async fn orders_import(kind: Kind) {
    let db = fresh(kind).await.unwrap();
    let actor = Actor::system("test");
    let owner = Owner::default();
    let customers = rows(
        ImportKind::Customers,
        &[
            "外部编号,姓名,手机",
            "C1,张伟,13812345678",
            "C2,李娜,13900000000",
        ],
    );
    kehu_store::import::apply(&db, &actor, None, &owner, &customers, false)
        .await
        .unwrap();
    let mut run = OrderImport {
        actor: &actor,
        scope: None,
        zone: chrono_tz::Asia::Shanghai,
        create_customers: false,
        owner: &owner,
        dry_run: false,
    };
    let file = rows(
        ImportKind::Orders,
        &[
            "订单号,外部编号,手机,日期,金额,数量,产品",
            "SO-1,C1,,2024-03-05,¥1299.00,1,净水器",
            ",,138 1234 5678,2024/3/6 10:00,￥88.5,2,滤芯",
            ",,138 1234 5678,2024/3/6 10:00,￥88.5,2,滤芯",
            "SO-2,C2,,2024-03-07,-50,1,退货",
            "SO-3,C9,,2024-03-07,10,1,",
            "SO-4,C1,,昨天,十元,0,",
            "SO-1,C2,,2024-03-05,1299,1,净水器",
        ],
    );
    let out = apply(&db, &run, &file).await.unwrap();
    assert_eq!(
        out[..4],
        [
            Outcome::Created,
            Outcome::Created,
            Outcome::Unchanged,
            Outcome::Created
        ]
    );
    assert_eq!(fields(&out[4]), vec!["external_id"], "no customer C9");
    assert_eq!(fields(&out[5]), vec!["ordered_at", "amount", "quantity"]);
    assert_eq!(fields(&out[6]), vec!["order_no"], "SO-1 is C1's");
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM orders").await, 3);
    assert_eq!(
        scalar(&db, "SELECT CAST(SUM(amount_fen) AS BIGINT) FROM orders").await,
        129_900 + 8_850 - 5_000
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT ordered_at FROM orders WHERE external_id = 'SO-1'"
        )
        .await,
        1_709_568_000_000,
        "midnight of 2024-03-05 in Shanghai"
    );
    // Again: nothing changes; a corrected amount updates the numbered order.
    let again = apply(&db, &run, &file).await.unwrap();
    assert_eq!(again[..4], [const { Outcome::Unchanged }; 4]);
    let fix = rows(
        ImportKind::Orders,
        &["订单号,外部编号,日期,金额", "SO-1,C1,2024-03-05,1199"],
    );
    assert_eq!(
        apply(&db, &run, &fix).await.unwrap(),
        vec![Outcome::Updated]
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT amount_fen FROM orders WHERE external_id = 'SO-1'"
        )
        .await,
        119_900
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'order' AND action = 'import'"
        )
        .await,
        4
    );
    // Unknown customers are created when asked, once.
    run.create_customers = true;
    let new = rows(
        ImportKind::Orders,
        &[
            "外部编号,客户,日期,金额",
            "N1,新客户,2024-04-01,10",
            "N1,新客户,2024-04-02,20",
            "N2,,2024-04-02,5",
        ],
    );
    let out = apply(&db, &run, &new).await.unwrap();
    assert_eq!(out, vec![Outcome::Created; 3]);
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM customers WHERE external_id IN ('N1', 'N2')"
        )
        .await,
        2
    );
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM customers WHERE name = '新客户'").await,
        1
    );
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM customers WHERE name = 'N2'").await,
        1
    );
    // A dry run writes nothing, not even the customers it would create.
    run.dry_run = true;
    let dry = rows(
        ImportKind::Orders,
        &["外部编号,日期,金额", "N3,2024-04-01,10"],
    );
    assert_eq!(
        apply(&db, &run, &dry).await.unwrap(),
        vec![Outcome::Created]
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM customers WHERE external_id = 'N3'"
        )
        .await,
        0
    );
}
kehu_store::both!(orders_from_files, orders_import);

/// A merge keeps the orders of both customers.
async fn merge_keeps_orders(kind: Kind) {
    let db = fresh(kind).await.unwrap();
    let actor = Actor::system("test");
    let owner = Owner::default();
    let admin = kehu_store::testing::user(&db, "admin", "admin", "")
        .await
        .principal();
    let run = OrderImport {
        actor: &actor,
        scope: None,
        zone: chrono_tz::Asia::Shanghai,
        create_customers: true,
        owner: &owner,
        dry_run: false,
    };
    let file = rows(
        ImportKind::Orders,
        &[
            "外部编号,客户,日期,金额",
            "A,王芳,2024-01-01,10",
            "B,王芳,2024-01-02,20",
            "B,王芳,2024-01-03,30",
        ],
    );
    apply(&db, &run, &file).await.unwrap();
    let id = |ext: &'static str| {
        let db = db.clone();
        async move {
            let (id,): (String,) = db
                .conn()
                .fetch_one(Query::new("SELECT id FROM customers WHERE external_id = $1").bind(ext))
                .await
                .unwrap();
            id.parse::<kehu_domain::ids::CustomerId>().unwrap()
        }
    };
    let (a, b) = (id("A").await, id("B").await);
    kehu_store::merge::merge(&db, &admin, &a, &b, &Default::default())
        .await
        .unwrap();
    let mut q = Query::new("SELECT COUNT(*) FROM orders WHERE customer_id = $1");
    q = q.bind(&a);
    assert_eq!(db.conn().scalar(q).await.unwrap(), 3);
}
kehu_store::both!(merged_customers_keep_orders, merge_keeps_orders);

/// Purchases from a known BG/NBD process fit back near its parameters; the
/// fits are kept, and a fit of nothing is an error.
async fn models_fit(kind: Kind) {
    use rand::{Rng, SeedableRng};
    let db = fresh(kind).await.unwrap();
    let until = chrono::NaiveDate::from_ymd_opt(2024, 12, 31).unwrap();
    assert!(analytics::fit(
        &db,
        until,
        kehu_models::TimeUnit::Week,
        chrono_tz::Asia::Shanghai
    )
    .await
    .is_err());
    assert!(analytics::latest(&db).await.unwrap().is_empty());
    // 1,500 customers over a year: each buys at a rate drawn from
    // Gamma(r = 2, alpha = 10) per week and stops after each purchase with
    // probability drawn from Beta(1, 3).
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut lines = vec!["订单号,外部编号,日期,金额".to_string()];
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    for c in 0..1_500 {
        let rate: f64 = (0..2).map(|_| -rng.random::<f64>().ln()).sum::<f64>() / 10.0;
        let p_drop = 1.0 - rng.random::<f64>().powf(1.0 / 3.0);
        let first = rng.random_range(0..180);
        let mut week = first as f64 / 7.0;
        let mut n = 0;
        loop {
            let day = (week * 7.0) as u64;
            if day > 365 {
                break;
            }
            let date = start + chrono::Days::new(day);
            lines.push(format!(
                "O{c}-{n},C{c},{date},{}",
                50 + rng.random_range(0..200)
            ));
            n += 1;
            if rng.random::<f64>() < p_drop {
                break;
            }
            week += -rng.random::<f64>().ln() / rate;
        }
    }
    let text: Vec<&str> = lines.iter().map(String::as_str).collect();
    let actor = Actor::system("test");
    let owner = Owner::default();
    let run = OrderImport {
        actor: &actor,
        scope: None,
        zone: chrono_tz::Asia::Shanghai,
        create_customers: true,
        owner: &owner,
        dry_run: false,
    };
    let file = rows(ImportKind::Orders, &text);
    for chunk in file.chunks(500) {
        apply(&db, &run, chunk).await.unwrap();
    }
    let fit = analytics::fit(
        &db,
        until,
        kehu_models::TimeUnit::Week,
        chrono_tz::Asia::Shanghai,
    )
    .await
    .unwrap();
    assert_eq!(fit.customers, 1_500);
    assert_eq!(fit.orders as usize, lines.len() - 1);
    let names: Vec<&str> = fit.models.iter().map(|m| m.model.as_str()).collect();
    assert_eq!(names, analytics::MODELS);
    for m in &fit.models {
        assert!(m.converged, "{m:?}");
        assert!(
            m.log_likelihood.is_finite() && m.log_likelihood < 0.0,
            "{m:?}"
        );
    }
    let bg = &fit.models[0].params;
    let r = bg["r"].as_f64().unwrap();
    let alpha = bg["alpha"].as_f64().unwrap();
    // The mean purchase rate r / alpha is what 1,500 customers pin down best.
    assert!((r / alpha - 0.2).abs() < 0.06, "r/alpha = {}", r / alpha);
    let latest = analytics::latest(&db).await.unwrap();
    assert_eq!(
        latest, fit.models,
        "the fits are kept as they were returned"
    );
}
kehu_store::both!(models_fitted_on_orders, models_fit);

/// Two servers on one database: exactly one claims a day's nightly fit.
async fn nightly_claimed_once(kind: Kind) {
    let (a, b) = fresh_pair(kind).await.unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let (x, y) = tokio::join!(
        analytics::claim_nightly(&a, day),
        analytics::claim_nightly(&b, day)
    );
    assert_eq!(
        [x.unwrap(), y.unwrap()].iter().filter(|c| **c).count(),
        1,
        "one of the two"
    );
    assert!(
        !analytics::claim_nightly(&a, day).await.unwrap(),
        "not twice"
    );
    let next = day.succ_opt().unwrap();
    assert!(
        analytics::claim_nightly(&b, next).await.unwrap(),
        "the next day is new"
    );
}
kehu_store::both!(nightly_fit_claimed_once, nightly_claimed_once);
