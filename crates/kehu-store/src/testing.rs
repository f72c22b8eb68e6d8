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
