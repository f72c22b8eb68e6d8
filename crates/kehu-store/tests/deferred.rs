//! A large import's deferred indexes: dropped and built again exactly as
//! they were, the staged search terms sorted in, edits during the load
//! kept true, and a load whose process stopped finished by the next start.

use kehu_domain::import::{map_headers, ImportKind, ImportedRow};
use kehu_domain::role::Principal;
use kehu_store::audit::Actor;
use kehu_store::customers::{self, CustomerWrite, Filter, Sort};
use kehu_store::import::{apply, Outcome, Owner};
use kehu_store::testing::{fresh, Kind};
use kehu_store::{both, deferred, search, Db, Query};
use std::collections::BTreeSet;

fn rows(lines: &[String]) -> Vec<ImportedRow> {
    let headers: Vec<String> = lines[0].split(',').map(str::to_string).collect();
    let (cols, _) = map_headers(ImportKind::Customers, &headers);
    lines[1..]
        .iter()
        .map(|l| ImportedRow::from_record(&cols, &l.split(',').collect::<Vec<_>>()))
        .collect()
}

/// A file of `n` customers from `from` on, each with a tag.
fn file(from: usize, n: usize, name: impl Fn(usize) -> String) -> Vec<ImportedRow> {
    let mut lines = vec!["外部编号,姓名,手机,公司,标签".to_string()];
    for i in from..from + n {
        lines.push(format!("D{i},{},139{i:08},公司{i},批次", name(i)));
    }
    rows(&lines)
}

async fn scalar(db: &Db, sql: &str) -> i64 {
    db.conn().scalar(Query::new(sql)).await.unwrap()
}

/// Every index of the customer tables, as `sqlite_master` holds it.
async fn indexes(db: &Db) -> BTreeSet<(String, String)> {
    let rows: Vec<(String, String)> = db
        .conn()
        .fetch_all(Query::new(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
             AND tbl_name IN ('customers', 'customer_terms', 'customer_tags')",
        ))
        .await
        .unwrap();
    rows.into_iter().collect()
}

/// The whole search index.
async fn terms(db: &Db) -> BTreeSet<(String, String)> {
    let rows: Vec<(String, String)> = db
        .conn()
        .fetch_all(Query::new("SELECT term, customer_id FROM customer_terms"))
        .await
        .unwrap();
    rows.into_iter().collect()
}

/// The customers a search finds (ids).
async fn found(db: &Db, p: &Principal, q: &str) -> BTreeSet<String> {
    let f = Filter {
        q: Some(q.into()),
        ..Default::default()
    };
    customers::list(db, p, &f, Sort::Name, 200, None, None)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.id.as_str().to_string())
        .collect()
}

async fn admin(db: &Db) -> Principal {
    kehu_store::testing::user(db, "admin", "admin", "")
        .await
        .principal()
}

async fn deferral(kind: Kind) {
    let db = fresh(kind).await.unwrap();
    let p = admin(&db).await;
    let actor = Actor::system("test");
    let owner = Owner::default();
    let name = |i: usize| format!("客户{i}号");
    let out = apply(&db, &actor, None, &owner, &file(0, 10, name), false)
        .await
        .unwrap();
    assert!(out.iter().all(|o| *o == Outcome::Created), "{out:?}");
    if kind == Kind::Postgres {
        assert_eq!(
            deferred::defer(&db).await.unwrap(),
            0,
            "PostgreSQL never defers"
        );
        assert_eq!(deferred::finish(&db).await.unwrap(), Default::default());
        return;
    }
    let before = indexes(&db).await;
    let dropped = deferred::defer(&db).await.unwrap();
    assert!(dropped >= 10, "{dropped} indexes deferred");
    assert_eq!(deferred::defer(&db).await.unwrap(), 0, "already deferring");
    let during = indexes(&db).await;
    let names: BTreeSet<&str> = during.iter().map(|(n, _)| n.as_str()).collect();
    for kept in [
        "customers_external_id",
        "customers_mobile",
        "customers_email",
        "customers_name",
        "customer_terms_customer",
    ] {
        assert!(names.contains(kept), "{kept} is kept: {names:?}");
    }
    for gone in [
        "customers_pinyin",
        "customers_updated",
        "customer_tags_name",
    ] {
        assert!(!names.contains(gone), "{gone} is deferred");
    }
    assert_eq!(before.len() - during.len(), dropped);
    assert_eq!(
        checkpoint_pages(&db).await,
        50_000,
        "WAL checkpoints spaced"
    );

    // Batches while deferring: new customers' terms are staged; repeated
    // rows match by external id; a renamed one is indexed at once.
    let out = apply(&db, &actor, None, &owner, &file(10, 30, name), false)
        .await
        .unwrap();
    assert!(out.iter().all(|o| *o == Outcome::Created), "{out:?}");
    let staged = scalar(&db, "SELECT COUNT(*) FROM customer_terms_staged").await;
    assert!(staged >= 30 * 3, "{staged} terms staged");
    assert_eq!(
        found(&db, &p, "客户").await.len(),
        10,
        "staged, not yet found"
    );
    let mut again = file(20, 5, name);
    again.extend(file(30, 1, |_| "王改名".to_string()));
    let out = apply(&db, &actor, None, &owner, &again, false)
        .await
        .unwrap();
    assert!(out[..5].iter().all(|o| *o == Outcome::Unchanged), "{out:?}");
    assert_eq!(out[5], Outcome::Updated);
    assert_eq!(found(&db, &p, "改名").await.len(), 1);
    // An edit through the UI while deferring: a staged customer renamed.
    let edited = found(&db, &p, "13900000015").await;
    assert_eq!(edited.len(), 1, "found by mobile while deferring");
    let id = edited.into_iter().next().unwrap().parse().unwrap();
    let mut w = CustomerWrite::from_customer(&customers::get(&db, &p, &id).await.unwrap());
    w.fields.name = "新名字".into();
    customers::update(&db, &p, &id, w).await.unwrap();

    let done = deferred::finish(&db).await.unwrap();
    assert_eq!(
        done.indexes,
        dropped + 1,
        "and the terms' index by customer, built after them"
    );
    assert!(done.terms >= 28 * 3, "{done:?}");
    assert_eq!(checkpoint_pages(&db).await, 1_000, "SQLite's default again");
    assert_eq!(indexes(&db).await, before, "every index built as it was");
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM customer_terms_staged").await,
        0
    );
    assert_eq!(deferred::finish(&db).await.unwrap(), Default::default());
    assert!(!deferred::finish_stale(&db).await.unwrap());
    assert_eq!(found(&db, &p, "客户").await.len(), 38);
    assert_eq!(found(&db, &p, "改名").await.len(), 1);
    assert_eq!(found(&db, &p, "新名").await.len(), 1);

    // The index holds exactly what a rebuild from the stored customers
    // gives: no term of an old name, none missing.
    let kept = terms(&db).await;
    for sql in [
        "UPDATE settings SET value = 'rebuild' WHERE key = 'search_index'",
        "DELETE FROM customer_terms",
    ] {
        db.conn().execute(Query::new(sql)).await.unwrap();
    }
    search::rebuild_if_pending(&db).await.unwrap();
    assert_eq!(kept, terms(&db).await);
    let tagged = customers::list(
        &db,
        &p,
        &Filter {
            tag: Some("批次".into()),
            ..Default::default()
        },
        Sort::Name,
        200,
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(tagged.items.len(), 40, "tag links written while deferring");
}
both!(indexes_deferred_and_built_again, deferral);

/// How many WAL pages the writer connection lets accumulate.
async fn checkpoint_pages(db: &Db) -> i64 {
    db.with_sqlite(true, |c| {
        Ok(c.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))?)
    })
    .await
    .unwrap()
}

/// A load whose process stopped: the next start finishes it once its last
/// batch is old, not while it may still be running.
async fn stopped(kind: Kind) {
    let db = fresh(kind).await.unwrap();
    if kind == Kind::Postgres {
        assert!(!deferred::finish_stale(&db).await.unwrap());
        return;
    }
    let before = indexes(&db).await;
    let actor = Actor::system("test");
    deferred::defer(&db).await.unwrap();
    apply(
        &db,
        &actor,
        None,
        &Owner::default(),
        &file(0, 5, |i| format!("停止{i}")),
        false,
    )
    .await
    .unwrap();
    db.migrate().await.unwrap();
    assert_ne!(indexes(&db).await, before, "a running load is left alone");
    db.conn()
        .execute(Query::new(
            "UPDATE settings SET value = '0' WHERE key = 'deferred_load'",
        ))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    assert_eq!(indexes(&db).await, before);
    let p = admin(&db).await;
    assert_eq!(found(&db, &p, "停止").await.len(), 5);

    // Stopped while building the indexes again: the marker is gone but
    // indexes are still listed.
    deferred::defer(&db).await.unwrap();
    db.conn()
        .execute(Query::new(
            "DELETE FROM settings WHERE key = 'deferred_load'",
        ))
        .await
        .unwrap();
    assert!(deferred::finish_stale(&db).await.unwrap());
    assert_eq!(indexes(&db).await, before);
}
both!(a_stopped_load_is_finished_by_the_next_start, stopped);
