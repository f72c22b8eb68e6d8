//! Index building deferred during a large import into SQLite.
//!
//! A new customer costs some forty B-tree inserts, a dozen of them at
//! random places in indexes that outgrow the page cache near a million
//! rows; that held imports to 6,000-8,000 rows/s. A large import into a
//! comparatively small table instead drops the customer indexes it does
//! not match rows by ([`defer`]), stages its new customers' search terms in
//! an append-only table, and at the end ([`finish`]) sorts the terms in and
//! builds each dropped index again in one sorted pass.
//!
//! While a load is deferred every query stays correct, but lists sort
//! without their indexes and the customers it created are found by search
//! only once it finishes. The state lives in the database: a load whose
//! process stopped is finished by the next start, by the start or end of
//! another import, or by a running server within minutes
//! ([`finish_stale`]). PostgreSQL imports never defer.

use crate::db::{Backend, Query, Tx};
use crate::{Db, Result};
use kehu_domain::time::Timestamp;

/// The `settings` key present while a load defers; its value is the time
/// (Unix seconds) of the load's last batch.
const MARKER: &str = "deferred_load";

/// Indexes a deferred load keeps besides unique ones: what imported rows
/// are matched by, and what re-indexing a customer deletes by.
const KEPT: [&str; 4] = [
    "customers_mobile",
    "customers_email",
    "customers_name",
    TERMS_BY_CUSTOMER,
];

/// The search index's index by customer, which re-indexing deletes by:
/// kept while deferring, built again after the staged terms go in.
const TERMS_BY_CUSTOMER: &str = "customer_terms_customer";

/// Customers whose staged terms go in per transaction (some 500,000
/// terms, a few seconds of the write lock).
const MOVE_CUSTOMERS: i64 = 100_000;

/// WAL pages between checkpoints while a load defers (200 MB of 4 KB
/// pages; SQLite's default is 1,000): a batch's pages are copied into the
/// database once per several batches rather than after each one (import
/// of a million new customers 50-54 s against 54-56 s).
const LOAD_CHECKPOINT_PAGES: u32 = 50_000;

/// SQLite's default, restored when the load finishes.
const CHECKPOINT_PAGES: u32 = 1_000;

/// Tables whose other indexes are deferred.
const TABLES: [&str; 3] = ["customers", "customer_terms", "customer_tags"];

/// A deferred load whose last batch is older than this has stopped (a
/// batch takes seconds). Taking a running load for a stopped one is safe,
/// only slower: finishing it early makes its later batches write every
/// index as they go.
const STALE_SECS: i64 = 120;

/// Whether imports into this database can defer (SQLite).
pub fn possible(db: &Db) -> bool {
    db.backend() == Backend::Sqlite
}

/// How many customers the database holds, deleted ones included (what a
/// deferred index is built over).
pub async fn customers(db: &Db) -> Result<u64> {
    let n = db
        .conn()
        .scalar(Query::new("SELECT CAST(COUNT(*) AS BIGINT) FROM customers"))
        .await?;
    Ok(n.max(0) as u64)
}

/// Starts deferring: drops the deferrable indexes, recording how to build
/// them again, in one transaction. Returns how many were dropped; 0 when
/// the database is PostgreSQL or a load is already deferring.
pub async fn defer(db: &Db) -> Result<usize> {
    if db.backend() != Backend::Sqlite {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    if active(&mut tx).await? {
        return Ok(0);
    }
    let mut q = Query::new(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
         AND sql NOT LIKE 'CREATE UNIQUE%' AND tbl_name IN ",
    );
    q.push_list(TABLES);
    q.push(" AND name NOT IN ");
    q.push_list(KEPT);
    q.push(" ORDER BY name");
    let indexes: Vec<(String, String)> = tx.fetch_all(q).await?;
    for (name, sql) in &indexes {
        tx.execute(
            Query::new(
                "INSERT INTO deferred_indexes (name, sql) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(name)
            .bind(sql),
        )
        .await?;
        tx.execute(Query::new(format!("DROP INDEX IF EXISTS \"{name}\"")))
            .await?;
    }
    tx.execute(
        Query::new("INSERT INTO settings (key, value) VALUES ($1, $2)")
            .bind(MARKER)
            .bind(now_secs().to_string()),
    )
    .await?;
    tx.commit().await?;
    checkpoint_every(db, LOAD_CHECKPOINT_PAGES).await?;
    Ok(indexes.len())
}

/// Whether a load is deferring, seen from a batch's transaction: the
/// batch then stages its new customers' terms.
pub(crate) async fn active(tx: &mut Tx) -> Result<bool> {
    if tx.backend() != Backend::Sqlite {
        return Ok(false);
    }
    let n = tx
        .scalar(
            Query::new("SELECT CAST(COUNT(*) AS BIGINT) FROM settings WHERE key = $1").bind(MARKER),
        )
        .await?;
    Ok(n > 0)
}

/// Notes that the load deferring is still running (after each of its
/// batches), so that it is not taken for a stopped one.
pub async fn heartbeat(db: &Db) -> Result<()> {
    if db.backend() == Backend::Sqlite {
        db.conn()
            .execute(
                Query::new("UPDATE settings SET value = $1 WHERE key = $2")
                    .bind(now_secs().to_string())
                    .bind(MARKER),
            )
            .await?;
    }
    Ok(())
}

/// What [`finish`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    /// Search terms sorted in from the staging table.
    pub terms: u64,
    /// Indexes built again.
    pub indexes: usize,
}

/// Ends a deferred load: ends the deferral (so no later batch stages
/// terms that would stay behind), sorts the staged terms into the search
/// index a range of customers at a time, then builds each dropped index,
/// one transaction each. Safe to run again after a crash at any point,
/// and a no-op when nothing is deferred.
pub async fn finish(db: &Db) -> Result<Finished> {
    if db.backend() != Backend::Sqlite {
        return Ok(Finished::default());
    }
    let mut done = Finished::default();
    let started = std::time::Instant::now();
    checkpoint_every(db, CHECKPOINT_PAGES).await?;
    step(db, end_deferral).await?;
    while let Some(moved) = step(db, move_terms).await? {
        done.terms += moved;
    }
    tracing::info!(
        terms = done.terms,
        secs = started.elapsed().as_secs_f64(),
        "staged search terms sorted in"
    );
    while step(db, build_index).await? {
        done.indexes += 1;
    }
    tracing::info!(
        indexes = done.indexes,
        secs = started.elapsed().as_secs_f64(),
        "deferred indexes built"
    );
    Ok(done)
}

/// Sets how many WAL pages the writer connection lets accumulate before
/// it checkpoints.
async fn checkpoint_every(db: &Db, pages: u32) -> Result<()> {
    db.with_sqlite(true, move |conn| {
        Ok(conn.execute_batch(&format!("PRAGMA wal_autocheckpoint = {pages}"))?)
    })
    .await
}

/// Runs one transaction of [`finish`] on the writer connection, lent for
/// that transaction only, so that other writers of the process go between
/// steps. Sorts spill to a file rather than growing the writer's memory.
async fn step<T: Send + 'static>(db: &Db, f: fn(&rusqlite::Connection) -> Result<T>) -> Result<T> {
    db.with_sqlite(true, move |conn| {
        conn.execute_batch("PRAGMA temp_store = FILE")?;
        let out = conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(crate::Error::from)
            .and_then(|()| f(conn))
            .and_then(|out| Ok(conn.execute_batch("COMMIT").map(|()| out)?));
        if out.is_err() && !conn.is_autocommit() {
            conn.execute_batch("ROLLBACK")?;
        }
        conn.execute_batch("PRAGMA temp_store = MEMORY")?;
        out
    })
    .await
}

/// No batch stages terms after this. The index by customer would take the
/// sorted terms in random order: it is dropped, to be built again after
/// them with the deferred ones.
fn end_deferral(conn: &rusqlite::Connection) -> Result<()> {
    conn.execute("DELETE FROM settings WHERE key = ?1", [MARKER])?;
    if !staged(conn)? {
        return Ok(());
    }
    if let Some(sql) = index_sql(conn, TERMS_BY_CUSTOMER)? {
        conn.execute(
            "INSERT INTO deferred_indexes (name, sql) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            [TERMS_BY_CUSTOMER, sql.as_str()],
        )?;
        conn.execute_batch(&format!("DROP INDEX {TERMS_BY_CUSTOMER}"))?;
    }
    Ok(())
}

/// Sorts the staged terms of the next [`MOVE_CUSTOMERS`] customers into
/// the search index; `None` once none are left.
fn move_terms(conn: &rusqlite::Connection) -> Result<Option<u64>> {
    if !staged(conn)? {
        return Ok(None);
    }
    let mut last = conn.prepare(
        "SELECT customer_id FROM customer_terms_staged GROUP BY customer_id \
         ORDER BY customer_id LIMIT 1 OFFSET ?1",
    )?;
    let upto: Option<String> = match last.query([MOVE_CUSTOMERS - 1])?.next()? {
        Some(r) => Some(r.get(0)?),
        None => None,
    };
    drop(last);
    let range = if upto.is_some() {
        "customer_id <= ?1"
    } else {
        "?1 IS NULL"
    };
    let moved = conn.execute(
        &format!(
            "INSERT INTO customer_terms (term, customer_id) \
             SELECT term, customer_id FROM customer_terms_staged WHERE {range} \
             ORDER BY term, customer_id ON CONFLICT DO NOTHING"
        ),
        [&upto],
    )?;
    conn.execute(
        &format!("DELETE FROM customer_terms_staged WHERE {range}"),
        [&upto],
    )?;
    Ok(Some(moved as u64))
}

/// Builds the next deferred index again; `false` once none are left.
fn build_index(conn: &rusqlite::Connection) -> Result<bool> {
    let mut next = conn.prepare("SELECT name, sql FROM deferred_indexes ORDER BY name LIMIT 1")?;
    let Some((name, sql)) = next
        .query([])?
        .next()?
        .map(|r| Ok::<_, rusqlite::Error>((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .transpose()?
    else {
        return Ok(false);
    };
    drop(next);
    if index_sql(conn, &name)?.is_none() {
        conn.execute_batch(&sql)?;
    }
    conn.execute("DELETE FROM deferred_indexes WHERE name = ?1", [&name])?;
    Ok(true)
}

/// Whether any search terms are staged.
fn staged(conn: &rusqlite::Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM customer_terms_staged)",
        [],
        |r| r.get(0),
    )?)
}

/// How an index of the database was created; `None` when there is none.
fn index_sql(conn: &rusqlite::Connection, name: &str) -> Result<Option<String>> {
    let mut stmt =
        conn.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1")?;
    let mut rows = stmt.query([name])?;
    Ok(match rows.next()? {
        Some(r) => r.get(0)?,
        None => None,
    })
}

/// Finishes a deferred load whose process stopped: its last batch is older
/// than [`STALE_SECS`], or it stopped while finishing. Returns whether it
/// did.
pub async fn finish_stale(db: &Db) -> Result<bool> {
    if db.backend() != Backend::Sqlite {
        return Ok(false);
    }
    let last: Option<(String,)> = db
        .conn()
        .fetch_optional(Query::new("SELECT value FROM settings WHERE key = $1").bind(MARKER))
        .await?;
    let pending = match last {
        Some((at,)) => at
            .parse::<i64>()
            .map_or(true, |at| now_secs() - at > STALE_SECS),
        None => {
            db.conn()
                .scalar(Query::new(
                    "SELECT CAST(COUNT(*) AS BIGINT) FROM (SELECT 1 FROM deferred_indexes \
                     UNION ALL SELECT 1 FROM customer_terms_staged LIMIT 1) s",
                ))
                .await?
                > 0
        }
    };
    if pending {
        finish(db).await?;
    }
    Ok(pending)
}

/// Whether an import that has created `created` customers, read `read` of
/// `total` bytes, into a database of `existing` customers should defer:
/// when the customers still to come (estimated from the share of the file
/// read; as many again when the size is unknown) number at least
/// `at_least` ([`DEFER_AT_LEAST`]) and half the customers already there,
/// so that building the indexes again costs less than keeping them.
pub fn worth_deferring(
    created: u64,
    read: u64,
    total: Option<u64>,
    existing: u64,
    at_least: u64,
) -> bool {
    let to_come = match total {
        Some(total) if read > 0 => {
            (created as f64 * (total.saturating_sub(read)) as f64 / read as f64) as u64
        }
        Some(_) => 0,
        None => created,
    };
    to_come >= at_least.max(1) && to_come >= existing / 2
}

/// The fewest new customers still to come for which an import defers by
/// default.
pub const DEFER_AT_LEAST: u64 = 100_000;

fn now_secs() -> i64 {
    Timestamp::now().millis() / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defers_only_for_many_customers_to_come_against_those_there() {
        let worth = |created, read, total, existing| {
            worth_deferring(created, read, total, existing, DEFER_AT_LEAST)
        };
        // 20,000 created from 2% of a file: ~980,000 to come.
        assert!(worth(20_000, 2, Some(100), 0));
        assert!(worth(20_000, 2, Some(100), 1_900_000));
        assert!(!worth(20_000, 2, Some(100), 2_000_000));
        // A small file, or one nearly read.
        assert!(!worth(20_000, 20, Some(100), 0));
        assert!(!worth(20_000, 99, Some(100), 0));
        // Updates only.
        assert!(!worth(0, 2, Some(100), 0));
        // Unknown size: as many again.
        assert!(!worth(60_000, 60_000, None, 0));
        assert!(worth(100_000, 100_000, None, 0));
        assert!(!worth(100_000, 100_000, None, 300_000));
        assert!(!worth(20_000, 0, Some(100), 0));
    }
}
