//! Fresh databases for tests: a new SQLite file, or a new schema on the
//! PostgreSQL server named by `KEHU_TEST_PG_URL` (default: the local `test`
//! database). Every test suite runs against both.

use crate::db::Db;
use crate::Result;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::Connection;
use std::str::FromStr;

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The password of users made by [`user`].
pub const PASSWORD: &str = "test-password-123";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

fn random_suffix() -> String {
    use rand::Rng;
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

/// Writes a test once and runs it on SQLite and on PostgreSQL:
/// `both!(name, |kind| async move { ... })` gives the tests `name::sqlite`
/// and `name::postgres`. The PostgreSQL one never skips: without a server
/// it fails. The calling crate needs `tokio` (with its test macro).
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)($crate::testing::Kind::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)($crate::testing::Kind::Postgres).await
            }
        }
    };
}

/// A migrated, empty database of the given kind.
pub async fn fresh(kind: Kind) -> Result<Db> {
    Ok(fresh_pair(kind).await?.0)
}

/// Two connection pools on one fresh database, as two kehu servers sharing
/// it would have (on SQLite, two processes on one file).
pub async fn fresh_pair(kind: Kind) -> Result<(Db, Db)> {
    let (db, other) = match kind {
        Kind::Sqlite => {
            let dir = std::env::temp_dir().join("kehu-tests");
            std::fs::create_dir_all(&dir).map_err(|e| crate::Error::Other(e.to_string()))?;
            let path = dir.join(format!("{}.db", random_suffix()));
            let opts = SqliteConnectOptions::new().filename(path);
            (
                Db::connect_sqlite(opts.clone()).await?,
                Db::connect_sqlite(opts).await?,
            )
        }
        Kind::Postgres => {
            let url = std::env::var("KEHU_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.into());
            let now = chrono::Utc::now().timestamp();
            let schema = format!("kt_{now}_{}", random_suffix());
            let mut admin = sqlx::PgConnection::connect(&url).await?;
            // Drop what earlier runs left behind (older than an hour).
            let old: Vec<String> =
                sqlx::query_scalar("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'kt\\_%'")
                    .fetch_all(&mut admin)
                    .await?;
            for s in old {
                let born: i64 = s
                    .split('_')
                    .nth(1)
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                if born < now - 3600 {
                    sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{s}\" CASCADE"))
                        .execute(&mut admin)
                        .await?;
                }
            }
            sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
                .execute(&mut admin)
                .await?;
            admin.close().await?;
            let opts =
                PgConnectOptions::from_str(&url)?.options([("search_path", schema.as_str())]);
            (
                Db::connect_pg(opts.clone()).await?,
                Db::connect_pg(opts).await?,
            )
        }
    };
    db.migrate().await?;
    other.migrate().await?;
    Ok((db, other))
}

/// A user with this role (and team, created when new), password [`PASSWORD`].
pub async fn user(db: &Db, login: &str, role: &str, team: &str) -> crate::auth::User {
    let new = crate::auth::NewUser {
        login: login.into(),
        name: login.into(),
        role: role.into(),
        team: team.into(),
        password: PASSWORD.into(),
    };
    crate::auth::create_user(db, None, &new)
        .await
        .unwrap_or_else(|e| panic!("creating {login}: {e}"))
}

/// A person named `name` with this mobile, owned by `by` (who creates it).
pub async fn person(
    db: &Db,
    by: &kehu_domain::role::Principal,
    name: &str,
    mobile: &str,
) -> kehu_domain::ids::CustomerId {
    let fields = kehu_domain::customer::CustomerInput {
        kind: "person".into(),
        name: name.into(),
        mobile: mobile.into(),
        owner_id: by.user_id.to_string(),
        ..Default::default()
    }
    .parse()
    .unwrap_or_else(|e| panic!("fields of {name}: {e:?}"));
    let write = crate::customers::CustomerWrite {
        fields,
        custom: Default::default(),
        tags: vec![],
        consents: Default::default(),
    };
    crate::customers::create(db, Some(by), write)
        .await
        .unwrap_or_else(|e| panic!("creating {name}: {e}"))
        .id
}

/// The rows of an exported file (header first) as text, read back the way
/// a spreadsheet program would: CSV after its byte order mark, or the first
/// sheet of a workbook.
pub fn read_export(format: kehu_domain::export::Format, bytes: &[u8]) -> Vec<Vec<String>> {
    use kehu_domain::export::Format;
    match format {
        Format::Csv => {
            let text = std::str::from_utf8(bytes).expect("UTF-8");
            let text = text.strip_prefix('\u{feff}').expect("a byte order mark");
            csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(text.as_bytes())
                .into_records()
                .map(|r| {
                    r.expect("a CSV record")
                        .iter()
                        .map(str::to_string)
                        .collect()
                })
                .collect()
        }
        Format::Xlsx => {
            use calamine::Reader;
            let mut book: calamine::Xlsx<_> =
                calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("a workbook");
            let sheet = book
                .worksheet_range_at(0)
                .expect("a sheet")
                .expect("readable");
            sheet
                .rows()
                .map(|r| r.iter().map(|c| c.to_string()).collect())
                .collect()
        }
    }
}
