//! A large customer import into SQLite defers most indexes after its first
//! batch and builds them again at the end: every row is in, searchable and
//! listed by tag, and the schema is as before. (The threshold is lowered so
//! that three batches are enough.)

use kehu_import::{Options, BATCH};
use kehu_store::customers::{self, Filter, Sort};
use kehu_store::testing::{fresh, user, Kind};
use kehu_store::{Db, Query};
use std::collections::BTreeSet;
use std::io::Write;

async fn indexes(db: &Db) -> BTreeSet<(String, String)> {
    let rows: Vec<(String, String)> = db
        .conn()
        .fetch_all(Query::new(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
        ))
        .await
        .unwrap();
    rows.into_iter().collect()
}

/// Rows handled so far, and how many when the index build began.
#[derive(Default)]
struct Stages {
    rows: u64,
    building_after_rows: Option<u64>,
}

impl kehu_import::Observer for Stages {
    fn progress(&mut self, _: u64, _: Option<u64>, c: &kehu_store::import::Counts) {
        self.rows = c.created + c.updated + c.unchanged + c.rejected;
    }
    fn rejected(&mut self, _: u64, _: &str) {}
    fn building_indexes(&mut self) {
        self.building_after_rows = Some(self.rows);
    }
}

async fn scalar(db: &Db, sql: &str) -> i64 {
    db.conn().scalar(Query::new(sql)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_import_defers_its_indexes_and_builds_them_again() {
    let db = fresh(Kind::Sqlite).await.unwrap();
    let admin = user(&db, "admin", "admin", "").await.principal();
    let before = indexes(&db).await;
    let n = 2 * BATCH + 500;
    let path = std::env::temp_dir().join(format!(
        "kehu-deferred-{}-{}.csv",
        std::process::id(),
        kehu_domain::ids::new_id()
    ));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(f, "外部编号,姓名,手机,公司,标签").unwrap();
    for i in 0..n {
        writeln!(
            f,
            "L{i},延迟{i}号,138{i:08},东方{}公司,第{}批",
            i % 7,
            i / BATCH
        )
        .unwrap();
    }
    drop(f);
    let opts = Options {
        defer_at_least: 1_000,
        ..Options::default()
    };
    let mut seen = Stages::default();
    let r = kehu_import::file(&db, &path, &opts, &mut seen)
        .await
        .unwrap();
    assert_eq!(r.counts.created, n as u64);
    assert!(r.deferred_indexes >= 10, "{} deferred", r.deferred_indexes);
    // The index build came after every row, and the job ended done.
    assert_eq!(seen.building_after_rows, Some(n as u64));
    let jobs = kehu_store::import_jobs::list(&db, &admin, 10)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, kehu_domain::import::JobStatus::Done);
    assert!(!jobs[0].progress.building_indexes);
    assert_eq!(
        indexes(&db).await,
        before,
        "every index built again as it was"
    );
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM customer_terms_staged").await,
        0
    );
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM deferred_indexes").await,
        0
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM settings WHERE key = 'deferred_load'"
        )
        .await,
        0
    );

    // A customer of the last batch (its terms were staged) is found by a
    // name fragment and by company; each batch's tag lists its customers.
    let search = |q: &str| Filter {
        q: Some(q.into()),
        ..Default::default()
    };
    let last = format!("延迟{}号", n - 1);
    let page = customers::list(
        &db,
        &admin,
        &search(&last),
        Sort::NewestFirst,
        20,
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(page.items[0].fields.name, last);
    let tag = Filter {
        tag: Some("第2批".into()),
        ..Default::default()
    };
    let page = customers::list(&db, &admin, &tag, Sort::Name, 1000, None, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 500);
    let terms = scalar(&db, "SELECT COUNT(*) FROM customer_terms").await;
    assert!(terms >= 3 * n as i64, "{terms} terms");

    // Again, after another import's load stopped (its last batch long
    // ago): this import finishes it first. Every row is unchanged; nothing
    // is deferred (no customer is new).
    assert!(kehu_store::deferred::defer(&db).await.unwrap() >= 10);
    db.conn()
        .execute(Query::new(
            "UPDATE settings SET value = '0' WHERE key = 'deferred_load'",
        ))
        .await
        .unwrap();
    let r = kehu_import::file(&db, &path, &opts, &mut ()).await.unwrap();
    assert_eq!(r.counts.unchanged, n as u64);
    assert_eq!(r.deferred_indexes, 0);
    assert_eq!(indexes(&db).await, before, "the stopped load is finished");
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM customer_terms").await,
        terms
    );
    std::fs::remove_file(&path).unwrap();
}
