//! The database handle: SQLite or PostgreSQL behind one interface.
//!
//! Queries are plain SQL with `$1..$n` placeholders (both drivers accept
//! them) and arguments from the small [`Arg`] set (integers, text, booleans),
//! so every query is written once. SQLite gets a separate one-connection
//! writer pool: writes are serialised in-process instead of failing with
//! SQLITE_BUSY, while reads run in parallel under WAL.

use crate::Result;
use kehu_domain::time::Timestamp;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{FromRow, PgPool, Postgres, Sqlite, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

/// A bound argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(Option<bool>),
    Float(Option<f64>),
}

impl From<f64> for Arg {
    fn from(v: f64) -> Self {
        Arg::Float(Some(v))
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(Some(v))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_string))
    }
}
impl From<Timestamp> for Arg {
    fn from(v: Timestamp) -> Self {
        Arg::Int(Some(v.millis()))
    }
}
impl From<Option<Timestamp>> for Arg {
    fn from(v: Option<Timestamp>) -> Self {
        Arg::Int(v.map(Timestamp::millis))
    }
}

macro_rules! id_args {
    ($($t:ty),*) => {$(
        impl From<&$t> for Arg {
            fn from(v: &$t) -> Self { Arg::Text(Some(v.as_str().to_string())) }
        }
        impl From<Option<&$t>> for Arg {
            fn from(v: Option<&$t>) -> Self { Arg::Text(v.map(|x| x.as_str().to_string())) }
        }
    )*};
}
id_args!(
    kehu_domain::ids::CustomerId,
    kehu_domain::ids::ContactId,
    kehu_domain::ids::InteractionId,
    kehu_domain::ids::UserId,
    kehu_domain::ids::TeamId,
    kehu_domain::ids::TagId,
    kehu_domain::ids::FieldId,
    kehu_domain::ids::TokenId,
    kehu_domain::ids::OrderId,
    kehu_domain::ids::TicketId,
    kehu_domain::ids::SurveyId,
    kehu_domain::ids::TaskId,
    kehu_domain::ids::ProductId
);

/// SQL text with its arguments. Static SQL names `$1..$n` itself and adds
/// arguments with [`Query::bind`]; dynamic SQL appends with [`Query::push`]
/// and [`Query::push_arg`], which writes the next placeholder.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub sql: String,
    pub args: Vec<Arg>,
}

impl Query {
    pub fn new(sql: impl Into<String>) -> Self {
        Query {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    pub fn bind(mut self, a: impl Into<Arg>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    pub fn push_arg(&mut self, a: impl Into<Arg>) -> &mut Self {
        self.args.push(a.into());
        self.sql.push_str(&format!("${}", self.args.len()));
        self
    }

    /// Appends `(ph1, ph2, ...)` for a list of arguments, for `IN` lists.
    pub fn push_list<A: Into<Arg>>(&mut self, items: impl IntoIterator<Item = A>) -> &mut Self {
        self.sql.push('(');
        for (i, a) in items.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.push_arg(a);
        }
        self.sql.push(')');
        self
    }

    /// The query with SQLite's anonymous `?` placeholders and the arguments
    /// in the order they appear. SQLite files every numbered or named
    /// parameter in a list that is searched when the statement is prepared
    /// and again (through sqlx) for each argument bound, so a statement's
    /// cost would grow with the square of its arguments. `$N` inside
    /// quotes and comments is left alone; a query naming an argument it
    /// lacks is returned as it is.
    fn anonymous(self) -> Query {
        let spans = placeholders(&self.sql);
        if spans.iter().any(|&(_, _, k)| k >= self.args.len()) {
            return self;
        }
        let mut slots: Vec<Option<Arg>> = self.args.into_iter().map(Some).collect();
        // Where each argument went first, for a number used again.
        let mut placed: Vec<Option<usize>> = vec![None; slots.len()];
        let mut sql = String::with_capacity(self.sql.len());
        let mut args: Vec<Arg> = Vec::with_capacity(spans.len());
        let mut copied = 0;
        for (start, end, k) in spans {
            let arg = match (slots[k].take(), placed[k]) {
                (Some(a), _) => a,
                (None, Some(at)) => args[at].clone(),
                (None, None) => unreachable!("an argument is taken only when placed"),
            };
            placed[k] = Some(args.len());
            args.push(arg);
            sql.push_str(&self.sql[copied..start]);
            sql.push('?');
            copied = end;
        }
        sql.push_str(&self.sql[copied..]);
        Query { sql, args }
    }

    /// The query as the backend runs it.
    fn for_backend(self, backend: Backend) -> Query {
        match backend {
            Backend::Sqlite => self.anonymous(),
            Backend::Postgres => self,
        }
    }
}

/// The `$N` placeholders of `sql` outside quotes and comments: (start,
/// end, N - 1), with `usize::MAX` for `$0`.
fn placeholders(sql: &str) -> Vec<(usize, usize, usize)> {
    let src = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < src.len() {
        match src[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < src.len() && src[i] != q {
                    i += 1;
                }
                i += 1;
            }
            b'-' if src.get(i + 1) == Some(&b'-') => {
                while i < src.len() && src[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if src.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < src.len() && !(src[i] == b'*' && src.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            b'$' => {
                let digits = src[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                let end = i + 1 + digits;
                if digits > 0 {
                    let n: usize = sql[i + 1..end].parse().unwrap_or(0);
                    out.push((i, end, n.checked_sub(1).unwrap_or(usize::MAX)));
                }
                i = end.max(i + 1);
            }
            _ => i += 1,
        }
    }
    out
}

/// Arguments per multi-row statement on PostgreSQL, which gains from
/// fewer round trips.
const MAX_ARGS_POSTGRES: usize = 8_000;

impl Tx {
    /// Inserts many rows: `head` is the statement up to `VALUES`, `tail`
    /// what follows the row (`ON CONFLICT ...`, or ""). PostgreSQL gets
    /// multi-row `INSERT`s as large as the argument limit allows; SQLite
    /// runs one prepared single-row statement per row on the transaction's
    /// own connection (no round trips there, and no sqlx binding, whose
    /// cost grows with a statement's argument count).
    pub async fn insert_rows<R>(&mut self, head: &str, tail: &str, rows: R) -> Result<u64>
    where
        R: IntoIterator,
        R::Item: IntoIterator<Item = Arg>,
    {
        let t = match self {
            Tx::Sqlite(t) => t,
            Tx::Postgres(_) => return self.insert_rows_pg(head, tail, rows).await,
        };
        let mut locked = t.lock_handle().await?;
        let run = || -> Result<u64> {
            let conn = raw(&mut locked)?;
            let mut stmt: Option<(usize, rusqlite::Statement)> = None;
            let mut total = 0u64;
            let mut args: Vec<Arg> = Vec::new();
            for row in rows {
                args.clear();
                args.extend(row);
                let (arity, stmt) = match &mut stmt {
                    Some(s) => s,
                    None => {
                        let marks = vec!["?"; args.len()].join(", ");
                        let sql = format!("{head} VALUES ({marks}){tail}");
                        stmt.insert((args.len(), conn.prepare(&sql)?))
                    }
                };
                if *arity != args.len() {
                    return Err(crate::Error::Other(format!(
                        "a row of {} values for {arity} columns: {head}",
                        args.len()
                    )));
                }
                total += stmt.execute(rusqlite::params_from_iter(args.iter()))? as u64;
            }
            Ok(total)
        };
        // Short, but blocking: let the runtime move its other tasks away.
        match tokio::runtime::Handle::current().runtime_flavor() {
            tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(run),
            _ => run(),
        }
    }

    async fn insert_rows_pg<R>(&mut self, head: &str, tail: &str, rows: R) -> Result<u64>
    where
        R: IntoIterator,
        R::Item: IntoIterator<Item = Arg>,
    {
        let mut total = 0;
        let mut q: Option<Query> = None;
        for row in rows {
            let cur = q.get_or_insert_with(|| Query::new(format!("{head} VALUES ")));
            if !cur.args.is_empty() {
                cur.push(", ");
            }
            cur.push_list(row);
            if cur.args.len() >= MAX_ARGS_POSTGRES {
                let mut full = q.take().expect("a statement");
                full.push(tail);
                total += self.execute(full).await?;
            }
        }
        if let Some(mut last) = q {
            last.push(tail);
            total += self.execute(last).await?;
        }
        Ok(total)
    }
}

/// A rusqlite connection over a connection sqlx has locked for us; the
/// caller drops it (and any statement of it) before `locked`. It never
/// closes the handle.
fn raw(locked: &mut sqlx::sqlite::LockedSqliteHandle<'_>) -> Result<rusqlite::Connection> {
    // SAFETY: while `locked` lives sqlx's worker makes no call on this
    // handle, and a connection made from a handle does not close it.
    Ok(unsafe { rusqlite::Connection::from_handle(locked.as_raw_handle().as_ptr()) }?)
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value};
        Ok(match self {
            Arg::Int(Some(v)) => ToSqlOutput::from(*v),
            Arg::Text(Some(v)) => ToSqlOutput::from(v.as_str()),
            Arg::Bool(Some(v)) => ToSqlOutput::from(i64::from(*v)),
            Arg::Float(Some(v)) => ToSqlOutput::from(*v),
            Arg::Int(None) | Arg::Text(None) | Arg::Bool(None) | Arg::Float(None) => {
                ToSqlOutput::Owned(Value::Null)
            }
        })
    }
}

/// A row type both drivers can decode.
pub trait AnyRow:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> AnyRow for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Int(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
                Arg::Float(v) => q.bind(v),
            };
        }
        q
    }};
}

/// Generates the query methods for a type whose variants each hold an
/// executor expression for one backend.
macro_rules! query_methods {
    ($self:ident, $sqlite:expr, $pg:expr) => {
        query_methods!($self, $sqlite, $sqlite, $pg);
    };
    ($self:ident, $sqlite:expr, $sqlite_write:expr, $pg:expr) => {
        pub async fn fetch_all<T: AnyRow>(&mut $self, q: Query) -> Result<Vec<T>> {
            let Query { sql, args } = q.for_backend($self.backend());
            Ok(match $self.backend() {
                Backend::Sqlite => bind_args!(sqlx::query_as::<Sqlite, T>(&sql), args).fetch_all($sqlite).await?,
                Backend::Postgres => bind_args!(sqlx::query_as::<Postgres, T>(&sql), args).fetch_all($pg).await?,
            })
        }

        pub async fn fetch_optional<T: AnyRow>(&mut $self, q: Query) -> Result<Option<T>> {
            let Query { sql, args } = q.for_backend($self.backend());
            Ok(match $self.backend() {
                Backend::Sqlite => bind_args!(sqlx::query_as::<Sqlite, T>(&sql), args).fetch_optional($sqlite).await?,
                Backend::Postgres => bind_args!(sqlx::query_as::<Postgres, T>(&sql), args).fetch_optional($pg).await?,
            })
        }

        pub async fn fetch_one<T: AnyRow>(&mut $self, q: Query) -> Result<T> {
            $self.fetch_optional(q).await?.ok_or(crate::Error::NotFound)
        }

        /// Runs a query whose single column is an integer (a count, say).
        pub async fn scalar(&mut $self, q: Query) -> Result<i64> {
            let Query { sql, args } = q.for_backend($self.backend());
            Ok(match $self.backend() {
                Backend::Sqlite => bind_args!(sqlx::query_scalar::<Sqlite, i64>(&sql), args).fetch_one($sqlite).await?,
                Backend::Postgres => bind_args!(sqlx::query_scalar::<Postgres, i64>(&sql), args).fetch_one($pg).await?,
            })
        }

        /// Runs a statement; returns the number of rows it touched.
        pub async fn execute(&mut $self, q: Query) -> Result<u64> {
            let Query { sql, args } = q.for_backend($self.backend());
            Ok(match $self.backend() {
                Backend::Sqlite => bind_args!(sqlx::query::<Sqlite>(&sql), args).execute($sqlite_write).await?.rows_affected(),
                Backend::Postgres => bind_args!(sqlx::query::<Postgres>(&sql), args).execute($pg).await?.rows_affected(),
            })
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool to either database. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

/// The SQLite database a fresh install uses.
pub const DEFAULT_URL: &str = "sqlite://data/kehu.db";

impl Db {
    /// Connects to `sqlite://PATH` (created with its directory when missing)
    /// or `postgres://...`.
    pub async fn connect(url: &str) -> Result<Db> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url)?;
            Self::connect_pg(opts).await
        } else if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?;
            Self::connect_sqlite(opts).await
        } else {
            Err(crate::Error::Other(format!(
                "unsupported database URL {url:?}: use sqlite://PATH or postgres://USER@HOST/DB"
            )))
        }
    }

    pub async fn connect_pg(opts: PgConnectOptions) -> Result<Db> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await?;
        Ok(Db::Postgres(pool))
    }

    pub async fn connect_sqlite(opts: SqliteConnectOptions) -> Result<Db> {
        let path = opts.get_filename().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                crate::Error::Other(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let opts = opts
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-32000")
            .pragma("temp_store", "memory");
        // The writer keeps more pages: bulk writes touch every index.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts.clone().pragma("cache_size", "-131072"))
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts.read_only(false))
            .await?;
        Ok(Db::Sqlite { read, write })
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Brings the schema up to date; safe to run from several servers at
    /// once (PostgreSQL migrations take an advisory lock).
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Db::Sqlite { write, .. } => sqlx::migrate!("./migrations/sqlite").run(write).await?,
            Db::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        crate::search::rebuild_if_pending(self).await?;
        crate::deferred::finish_stale(self).await?;
        Ok(())
    }

    /// Refreshes PostgreSQL's planner statistics of the tables imports fill
    /// (`ANALYZE`, a sample of each): what a large import does as it goes,
    /// so that its own lookups are planned for the table it is filling.
    /// Without statistics (autovacuum off, or behind) PostgreSQL plans for
    /// an empty table: a million-row import slowed to 400 rows/s. SQLite's
    /// plans here come from the indexes alone, so nothing is done there.
    pub async fn refresh_statistics(&self) -> Result<()> {
        self.maintain("ANALYZE").await
    }

    /// After a bulk load: [`Db::refresh_statistics`], and on PostgreSQL the
    /// tables' pages marked all-visible (`VACUUM (ANALYZE)`), as autovacuum
    /// would some minutes later, so that a search reads a range of index
    /// entries without a visit to each row's page.
    pub async fn settle_bulk_load(&self) -> Result<()> {
        self.maintain("VACUUM (ANALYZE)").await
    }

    /// Runs a maintenance command on each table an import fills (PostgreSQL
    /// only).
    async fn maintain(&self, command: &str) -> Result<()> {
        if let Db::Postgres(pool) = self {
            for table in [
                "customers",
                "customer_terms",
                "customer_tags",
                "contacts",
                "interactions",
                "orders",
                "order_lines",
            ] {
                sqlx::query(&format!("{command} {table}"))
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Starts a transaction (on SQLite, on the writer connection, taking
    /// the write lock at once: a transaction that read first and wrote
    /// later would fail with SQLITE_BUSY_SNAPSHOT after a single-statement
    /// write on a reader connection, such as a token's last use).
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite { write, .. } => Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Runs `f` on a blocking thread over the raw connection of one of
    /// SQLite's pools (the single writer when `write`), for bulk passes that
    /// would spend most of their time in sqlx's per-row machinery. `f` must
    /// leave no transaction open; errors roll back what it began.
    pub async fn with_sqlite<T, F>(&self, write: bool, f: F) -> Result<T>
    where
        F: FnOnce(&rusqlite::Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let Db::Sqlite {
            read,
            write: writer,
        } = self
        else {
            return Err(crate::Error::Other("not an SQLite database".into()));
        };
        let mut conn = if write { writer } else { read }.acquire().await?;
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let mut locked = runtime.block_on(conn.lock_handle())?;
            let conn = raw(&mut locked)?;
            let out = f(&conn);
            if out.is_err() && !conn.is_autocommit() {
                conn.execute_batch("ROLLBACK")?;
            }
            out
        })
        .await
        .map_err(|e| crate::Error::Other(format!("database pass stopped: {e}")))?
    }

    /// A handle for single statements outside a transaction.
    pub fn conn(&self) -> Conn<'_> {
        Conn(self)
    }

    pub async fn ping(&self) -> Result<()> {
        self.conn()
            .scalar(Query::new("SELECT CAST(1 AS BIGINT)"))
            .await
            .map(|_| ())
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(p) => p.close().await,
        }
    }

    /// Writes a consistent copy of a live SQLite database to `path`.
    pub async fn backup_sqlite(&self, path: &str) -> Result<()> {
        match self {
            Db::Sqlite { write, .. } => {
                sqlx::query("VACUUM INTO $1")
                    .bind(path)
                    .execute(write)
                    .await?;
                Ok(())
            }
            Db::Postgres(_) => Err(crate::Error::Other(
                "backup of PostgreSQL is done with pg_dump".into(),
            )),
        }
    }
}

/// Single statements outside a transaction: reads on the reader pool,
/// writes ([`Conn::execute`]) on SQLite's one writer connection, so they
/// queue in-process instead of failing with SQLITE_BUSY under load.
/// Anything that reads and then writes belongs in a [`Tx`].
pub struct Conn<'a>(&'a Db);

impl Conn<'_> {
    fn backend(&self) -> Backend {
        self.0.backend()
    }
}

impl Conn<'_> {
    query_methods!(
        self,
        match self.0 {
            Db::Sqlite { read, .. } => read,
            _ => unreachable!(),
        },
        match self.0 {
            Db::Sqlite { write, .. } => write,
            _ => unreachable!(),
        },
        match self.0 {
            Db::Postgres(p) => p,
            _ => unreachable!(),
        }
    );
}

/// A transaction on either database; dropped without commit, it rolls back.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    query_methods!(
        self,
        match self {
            Tx::Sqlite(t) => &mut **t,
            _ => unreachable!(),
        },
        match self {
            Tx::Postgres(t) => &mut **t,
            _ => unreachable!(),
        }
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{fresh, Kind};

    #[tokio::test]
    async fn a_failed_raw_pass_rolls_back_and_frees_the_writer() {
        let db = fresh(Kind::Sqlite).await.unwrap();
        let failed: Result<()> = db
            .with_sqlite(true, |c| {
                c.execute_batch(
                    "BEGIN IMMEDIATE; INSERT INTO settings (key, value) VALUES ('raw', '1')",
                )?;
                Err(crate::Error::Other("stopped halfway".into()))
            })
            .await;
        assert!(failed.is_err());
        // The single writer is usable again and the half-done pass left nothing.
        db.conn()
            .execute(Query::new(
                "INSERT INTO settings (key, value) VALUES ('after', '1')",
            ))
            .await
            .unwrap();
        let seen = db
            .with_sqlite(false, |c| {
                Ok(c.query_row(
                    "SELECT group_concat(key) FROM settings WHERE key IN ('raw', 'after')",
                    [],
                    |r| r.get::<_, String>(0),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(seen, "after");
    }

    #[test]
    fn sqlite_gets_anonymous_placeholders_in_order() {
        let q = Query::new(
            "SELECT '$1', \"a$2\" FROM t WHERE x = $2 AND y IN ($1, $3) -- $1\n AND z = $2 /* $3 */",
        )
        .bind(1i64)
        .bind("two")
        .bind(3i64)
        .anonymous();
        assert_eq!(
            q.sql,
            "SELECT '$1', \"a$2\" FROM t WHERE x = ? AND y IN (?, ?) -- $1\n AND z = ? /* $3 */"
        );
        assert_eq!(
            q.args,
            vec![
                Arg::from("two"),
                Arg::from(1i64),
                Arg::from(3i64),
                Arg::from("two")
            ]
        );
        // An argument the query lacks: left for the driver to report.
        let q = Query::new("SELECT $2").bind(1i64).anonymous();
        assert_eq!(q.sql, "SELECT $2");
        // JSON paths are not parameters.
        let q = Query::new("SELECT json_extract(d, '$.a') WHERE $1")
            .bind(true)
            .anonymous();
        assert_eq!(q.sql, "SELECT json_extract(d, '$.a') WHERE ?");
    }

    #[tokio::test]
    async fn anonymous_placeholders_bind_what_the_numbers_named() {
        let db = fresh(Kind::Sqlite).await.unwrap();
        let row: (i64, String, i64) = db
            .conn()
            .fetch_one(
                Query::new("SELECT $3, $1 || $1, $2")
                    .bind("a")
                    .bind(2i64)
                    .bind(3i64),
            )
            .await
            .unwrap();
        assert_eq!(row, (3, "aa".to_string(), 2));
    }

    #[tokio::test]
    async fn raw_passes_are_for_sqlite_only() {
        let db = fresh(Kind::Postgres).await.unwrap();
        assert!(db.with_sqlite(false, |_| Ok(())).await.is_err());
    }
}
