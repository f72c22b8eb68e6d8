//! The recompute's writes: the scores go into a new table a chunk of
//! customers at a time, with the grades that changed, one transaction per
//! chunk (on SQLite through prepared statements on the raw writer
//! connection, on PostgreSQL as one JSON document unpacked by
//! `jsonb_array_elements`); then one transaction puts the new table in the
//! place of `customer_scores` (readers see the old scores until then, and
//! no row is updated in place) and rewrites the monthly figures and the
//! month's lifecycle moves.

use super::read::{Customer, Monthly};
use super::{Detail, FactsView, ModelValue, Money};
use crate::db::{Arg, Backend, Query};
use crate::{Db, Error, Result};
use chrono::NaiveDate;
use kehu_domain::time::Timestamp;
use kehu_domain::value::{Facts, Scored};
use serde::Serialize;
use std::collections::HashMap;

/// Customers written per transaction.
const CHUNK: usize = 10_000;
/// Ids per `UPDATE ... WHERE id IN (...)`.
const IDS_PER_UPDATE: usize = 400;

pub(super) struct Results<'a> {
    pub as_of: NaiveDate,
    pub customers: &'a [Customer],
    pub facts: &'a [Facts],
    pub scored: &'a [Scored],
    pub money: &'a [Money],
    /// Model values by customer position, in position order.
    pub values: &'a [(u32, ModelValue)],
    pub months: &'a super::read::Monthly,
}

pub(super) struct Written {
    pub grades_changed: u64,
}

/// One customer's scores, in [`COLUMNS`] order up to `detail`.
#[derive(Serialize)]
struct Row(
    String,
    f64,
    &'static str,
    &'static str,
    &'static str,
    Option<String>,
    Option<String>,
    i64,
    i64,
    i64,
    Option<f64>,
    Option<f64>,
    Option<i64>,
    String,
);

/// A chunk's rows and the customers whose grade changes, by new grade.
struct Chunk {
    rows: Vec<Row>,
    regrade: HashMap<&'static str, Vec<String>>,
}

const COLUMNS: &str = "customer_id, score, grade, tier, lifecycle, prev_lifecycle, rfm, \
     revenue_fen, cost_fen, profit_fen, p_alive, expected_purchases, clv_fen, detail, as_of, computed_at";

/// The table a recompute fills before it replaces `customer_scores`.
const NEXT: &str = "customer_scores_next";

/// The insert of a chunk's JSON document into [`NEXT`] on PostgreSQL.
fn pg_insert() -> String {
    let types = [
        "", "::float8", "", "", "", "", "", "::bigint", "::bigint", "::bigint", "::float8",
        "::float8", "::bigint", "",
    ];
    let cols: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("(e ->> {i}){t}"))
        .collect();
    format!(
        "INSERT INTO {NEXT} ({COLUMNS}) SELECT {}, $2, $3 \
         FROM jsonb_array_elements($1::jsonb) e JOIN customers c ON c.id = e ->> 0",
        cols.join(", ")
    )
}

/// The insert of one row into [`NEXT`] on SQLite, skipping a customer
/// deleted for good since the read.
fn sqlite_insert() -> String {
    let params: Vec<String> = (1..=16).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO {NEXT} ({COLUMNS}) SELECT {} \
         WHERE EXISTS (SELECT 1 FROM customers WHERE id = ?1)",
        params.join(", ")
    )
}

/// Writes a chunk on SQLite's raw writer connection in one transaction;
/// returns the grades changed.
fn sqlite_chunk(conn: &rusqlite::Connection, chunk: Chunk, as_of: &str, now: i64) -> Result<u64> {
    use rusqlite::params;
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let mut insert = conn.prepare_cached(&sqlite_insert())?;
    for r in &chunk.rows {
        insert.execute(params![
            r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10, r.11, r.12, r.13, as_of, now
        ])?;
    }
    let mut update = conn.prepare_cached(
        "UPDATE customers SET grade = ?1 WHERE id = ?2 AND grade_override IS NULL",
    )?;
    let mut changed = 0u64;
    for (grade, ids) in &chunk.regrade {
        for id in ids {
            changed += update.execute(params![grade, id])? as u64;
        }
    }
    conn.execute_batch("COMMIT")?;
    Ok(changed)
}

/// Writes a chunk on PostgreSQL in one transaction; returns the grades
/// changed.
async fn pg_chunk(db: &Db, chunk: Chunk, as_of: &str, now: Timestamp) -> Result<u64> {
    let doc = serde_json::to_string(&chunk.rows).map_err(|e| Error::Other(e.to_string()))?;
    let mut tx = db.begin().await?;
    tx.execute(Query::new(pg_insert()).bind(doc).bind(as_of).bind(now))
        .await?;
    let mut changed = 0u64;
    for (grade, ids) in &chunk.regrade {
        for part in ids.chunks(IDS_PER_UPDATE) {
            let mut q = Query::new("UPDATE customers SET grade = ");
            q.push_arg(*grade);
            q.push(" WHERE grade_override IS NULL AND id IN ");
            q.push_list(part.iter().map(|id| Arg::from(id.as_str())));
            changed += tx.execute(q).await?;
        }
    }
    tx.commit().await?;
    Ok(changed)
}

/// An empty [`NEXT`] shaped like `customer_scores`: on SQLite from the
/// table's own definition (key and reference included), on PostgreSQL
/// without the key, added after the load.
async fn prepare(db: &Db) -> Result<()> {
    db.conn()
        .execute(Query::new(format!("DROP TABLE IF EXISTS {NEXT}")))
        .await?;
    let create = match db.backend() {
        Backend::Sqlite => {
            let (sql,): (String,) = db
                .conn()
                .fetch_one(Query::new(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'customer_scores'",
                ))
                .await?;
            sql.replacen("customer_scores", NEXT, 1)
        }
        Backend::Postgres => {
            format!("CREATE TABLE {NEXT} (LIKE customer_scores INCLUDING DEFAULTS)")
        }
    };
    db.conn().execute(Query::new(create)).await?;
    Ok(())
}

/// Puts [`NEXT`] in the place of `customer_scores`, in `tx`.
async fn swap(tx: &mut crate::db::Tx) -> Result<()> {
    let backend = tx.backend();
    tx.execute(Query::new("DROP TABLE customer_scores")).await?;
    tx.execute(Query::new(format!(
        "ALTER TABLE {NEXT} RENAME TO customer_scores"
    )))
    .await?;
    if backend == Backend::Postgres {
        tx.execute(Query::new(
            "ALTER TABLE customer_scores ADD PRIMARY KEY (customer_id), \
             ADD FOREIGN KEY (customer_id) REFERENCES customers(id) ON DELETE CASCADE",
        ))
        .await?;
    }
    tx.execute(Query::new(
        "CREATE INDEX customer_scores_profit ON customer_scores(profit_fen)",
    ))
    .await?;
    Ok(())
}

/// The month ("2026-12") of a day written as "2026-12-02".
fn month(day: &str) -> &str {
    day.get(..7).unwrap_or(day)
}

pub(super) async fn save(db: &Db, r: &Results<'_>) -> Result<Written> {
    let now = Timestamp::now();
    let as_of = r.as_of.to_string();
    let this_month = month(&as_of).to_string();
    prepare(db).await?;
    let mut values: Vec<Option<ModelValue>> = vec![None; r.customers.len()];
    for &(i, v) in r.values {
        if let Some(slot) = values.get_mut(i as usize) {
            *slot = Some(v);
        }
    }
    let mut moves: HashMap<(&str, &str, &str, &'static str), i64> = HashMap::new();
    let mut grades_changed = 0u64;
    for start in (0..r.customers.len()).step_by(CHUNK) {
        let end = (start + CHUNK).min(r.customers.len());
        let mut chunk = Chunk {
            rows: Vec::with_capacity(end - start),
            regrade: HashMap::new(),
        };
        for (i, c) in r.customers.iter().enumerate().take(end).skip(start) {
            let s = &r.scored[i];
            let m = r.money[i];
            let lifecycle = s.rule.lifecycle().code();
            let prev: Option<&str> = match c.old_as_of.as_deref() {
                Some(old) if month(old) < this_month.as_str() => c.old_lifecycle.as_deref(),
                Some(_) => c.old_prev.as_deref(),
                None => None,
            };
            *moves
                .entry((
                    c.owner_id.as_deref().unwrap_or(""),
                    c.team_id.as_deref().unwrap_or(""),
                    prev.unwrap_or(""),
                    lifecycle,
                ))
                .or_default() += 1;
            let grade = s.grade.code();
            if !c.overridden && c.grade.as_deref() != Some(grade) {
                chunk.regrade.entry(grade).or_default().push(c.id.clone());
            }
            let detail = Detail {
                parts: s.parts.to_vec(),
                rule: s.rule.clone(),
                facts: FactsView::from(&r.facts[i]),
                money: m,
            };
            let v = values[i];
            chunk.rows.push(Row(
                c.id.clone(),
                s.score,
                grade,
                s.tier.code(),
                lifecycle,
                prev.map(str::to_string),
                s.rfm.map(|x| x.code()),
                m.revenue_fen,
                m.cost_fen(),
                m.profit_fen(),
                v.map(|v| v.p_alive).filter(|p| p.is_finite()),
                v.map(|v| v.expected_purchases).filter(|p| p.is_finite()),
                v.and_then(|v| v.clv_fen),
                serde_json::to_string(&detail).map_err(|e| Error::Other(e.to_string()))?,
            ));
        }
        grades_changed += match db.backend() {
            Backend::Sqlite => {
                let as_of = as_of.clone();
                let now = now.millis();
                db.with_sqlite(true, move |c| sqlite_chunk(c, chunk, &as_of, now))
                    .await?
            }
            Backend::Postgres => pg_chunk(db, chunk, &as_of, now).await?,
        };
    }
    let mut tx = db.begin().await?;
    swap(&mut tx).await?;
    tx.execute(
        Query::new("DELETE FROM lifecycle_moves WHERE month = $1").bind(this_month.as_str()),
    )
    .await?;
    let rows: Vec<[Arg; 6]> = moves
        .into_iter()
        .map(|((owner, team, from, to), n)| {
            [
                this_month.as_str().into(),
                owner.into(),
                team.into(),
                from.into(),
                to.into(),
                n.into(),
            ]
        })
        .collect();
    tx.insert_rows(
        "INSERT INTO lifecycle_moves (month, owner_id, team_id, from_class, to_class, customers)",
        "",
        rows,
    )
    .await?;
    write_months(&mut tx, r.months).await?;
    tx.commit().await?;
    Ok(Written { grades_changed })
}

/// Replaces every month's figures.
async fn write_months(tx: &mut crate::db::Tx, m: &Monthly) -> Result<()> {
    tx.execute(Query::new("DELETE FROM monthly_stats")).await?;
    let rows: Vec<[Arg; 12]> = m
        .stats
        .iter()
        .map(|(&(g, month), s)| {
            let (owner, team) = &m.groups[g as usize];
            [
                format!("{:04}-{:02}", month / 100, month % 100).into(),
                owner.as_str().into(),
                team.as_str().into(),
                s.orders.into(),
                s.buyers.into(),
                s.new_buyers.into(),
                s.repeat_buyers.into(),
                s.revenue_fen.into(),
                s.discount_fen.into(),
                s.compensation_fen.into(),
                s.tickets.into(),
                s.effort_fen.into(),
            ]
        })
        .collect();
    tx.insert_rows(
        "INSERT INTO monthly_stats (month, owner_id, team_id, orders, buyers, new_buyers, \
         repeat_buyers, revenue_fen, discount_fen, compensation_fen, tickets, effort_fen)",
        "",
        rows,
    )
    .await?;
    Ok(())
}
