//! The job queue: work to do at a time (a reminder before a promised reply,
//! an escalation when it passes, a survey after a resolution), stored in
//! the database so it survives restarts.
//!
//! A worker takes one due job, does its work and marks it done in the same
//! transaction: the work (rows written) and "done" commit together or not
//! at all, so each job's work happens exactly once however many servers
//! run workers. On PostgreSQL the job row is locked `FOR UPDATE SKIP
//! LOCKED` (a second server takes the next job instead of waiting); on
//! SQLite the transaction holds the database's write lock. A job whose work
//! fails is retried later with backoff, and given up after
//! [`MAX_ATTEMPTS`].

use crate::db::{Backend, Query};
use crate::{Db, Result, Tx};
use kehu_domain::ids::{new_id, TicketId};
use kehu_domain::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Tries of a failing job before it is marked failed.
pub const MAX_ATTEMPTS: i64 = 5;

/// A unit of background work and what it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Work {
    /// Remind the assignee that a promised reply time is near.
    PromiseReminder {
        ticket_id: TicketId,
        promised_at: i64,
    },
    /// A promised reply time has passed: if the promise is still
    /// outstanding, it is broken and the ticket goes up the reporting line.
    PromiseEscalation {
        ticket_id: TicketId,
        promised_at: i64,
    },
    /// An escalated ticket still unanswered goes one level further up.
    Escalation { ticket_id: TicketId, level: i64 },
    /// Send the satisfaction survey of a ticket resolved at `resolved_at`
    /// (none if it was reopened since, or already has one).
    SurveySend {
        ticket_id: TicketId,
        resolved_at: i64,
    },
}

impl Work {
    pub fn kind(&self) -> &'static str {
        match self {
            Work::PromiseReminder { .. } => "promise_reminder",
            Work::PromiseEscalation { .. } => "promise_escalation",
            Work::Escalation { .. } => "escalation",
            Work::SurveySend { .. } => "survey_send",
        }
    }

    /// The same work is queued once: its key names it.
    pub fn key(&self) -> String {
        match self {
            Work::PromiseReminder {
                ticket_id,
                promised_at,
            }
            | Work::PromiseEscalation {
                ticket_id,
                promised_at,
            } => format!("{}:{ticket_id}:{promised_at}", self.kind()),
            Work::Escalation { ticket_id, level } => format!("escalation:{ticket_id}:{level}"),
            Work::SurveySend {
                ticket_id,
                resolved_at,
            } => format!("survey_send:{ticket_id}:{resolved_at}"),
        }
    }
}

/// Queues `work` to run at `run_at` (or when a worker next looks, if that
/// has passed), in the caller's transaction. Queuing the same work again
/// does nothing; returns whether it was queued now.
pub async fn enqueue(tx: &mut Tx, work: &Work, run_at: Timestamp) -> Result<bool> {
    let n = tx
        .execute(
            Query::new(
                "INSERT INTO jobs (id, kind, dedupe_key, payload, run_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedupe_key) DO NOTHING",
            )
            .bind(new_id())
            .bind(work.kind())
            .bind(work.key())
            .bind(serde_json::to_string(work).expect("work serialises"))
            .bind(run_at)
            .bind(Timestamp::now()),
        )
        .await?;
    Ok(n == 1)
}

/// What a worker did with one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    Done(Work),
    /// The work failed; it is retried later unless it has failed too often.
    Failed {
        work: Work,
        error: String,
    },
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    payload: String,
    attempts: i64,
}

/// Runs the next job due at `now`, if any. `worker` names this server in
/// the job's record. Time inside the work is `now`, so tests can drive the
/// clock.
pub async fn run_next(
    db: &Db,
    worker: &str,
    now: Timestamp,
    zone: chrono_tz::Tz,
) -> Result<Option<Ran>> {
    let mut tx = db.begin().await?;
    let mut q = Query::new(
        "SELECT id, payload, attempts FROM jobs \
         WHERE done_at IS NULL AND failed_at IS NULL AND run_at <= $1 ORDER BY run_at, id LIMIT 1",
    )
    .bind(now);
    if db.backend() == Backend::Postgres {
        q.push(" FOR UPDATE SKIP LOCKED");
    }
    let Some(row): Option<Row> = tx.fetch_optional(q).await? else {
        return Ok(None);
    };
    let work: Work = match serde_json::from_str(&row.payload) {
        Ok(w) => w,
        Err(e) => {
            // Work this version cannot read is set aside, not retried.
            tx.execute(
                Query::new("UPDATE jobs SET failed_at = $2, last_error = $3 WHERE id = $1")
                    .bind(&row.id)
                    .bind(now)
                    .bind(format!("unreadable payload: {e}")),
            )
            .await?;
            tx.commit().await?;
            return Ok(None);
        }
    };
    match crate::service_jobs::run(db, &mut tx, &work, now, zone).await {
        Ok(()) => {
            tx.execute(
                Query::new("UPDATE jobs SET done_at = $2, done_by = $3, attempts = attempts + 1 WHERE id = $1")
                    .bind(&row.id)
                    .bind(now)
                    .bind(worker),
            )
            .await?;
            tx.commit().await?;
            Ok(Some(Ran::Done(work)))
        }
        Err(e) => {
            drop(tx);
            let attempts = row.attempts + 1;
            let retry = Timestamp::from_millis(now.millis() + backoff_ms(attempts)).unwrap_or(now);
            let mut tx = db.begin().await?;
            tx.execute(
                Query::new(
                    "UPDATE jobs SET attempts = $2, run_at = $3, last_error = $4, failed_at = $5 \
                     WHERE id = $1 AND done_at IS NULL",
                )
                .bind(&row.id)
                .bind(attempts)
                .bind(retry)
                .bind(e.to_string())
                .bind((attempts >= MAX_ATTEMPTS).then_some(now)),
            )
            .await?;
            tx.commit().await?;
            Ok(Some(Ran::Failed {
                work,
                error: e.to_string(),
            }))
        }
    }
}

/// One minute after the first failure, doubling each time.
fn backoff_ms(attempts: i64) -> i64 {
    60_000 * (1i64 << attempts.clamp(1, 10).saturating_sub(1))
}

/// Runs due jobs until none is left (or `limit` have run); returns what ran.
pub async fn run_due(
    db: &Db,
    worker: &str,
    now: Timestamp,
    zone: chrono_tz::Tz,
    limit: usize,
) -> Result<Vec<Ran>> {
    let mut out = vec![];
    while out.len() < limit {
        match run_next(db, worker, now, zone).await? {
            Some(r) => out.push(r),
            None => break,
        }
    }
    Ok(out)
}

/// Jobs waiting to run, with their time (for admins and tests).
pub async fn pending(db: &Db) -> Result<Vec<(Work, Timestamp)>> {
    let rows: Vec<(String, i64)> = db
        .conn()
        .fetch_all(Query::new(
            "SELECT payload, run_at FROM jobs WHERE done_at IS NULL AND failed_at IS NULL ORDER BY run_at, id",
        ))
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(p, at)| Some((serde_json::from_str(&p).ok()?, Timestamp::from_millis(at)?)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_the_work_and_backoff_doubles() {
        let t: TicketId = "0190a0b0-0000-7000-8000-000000000001".parse().unwrap();
        let w = Work::PromiseReminder {
            ticket_id: t.clone(),
            promised_at: 5,
        };
        assert_eq!(w.key(), format!("promise_reminder:{t}:5"));
        let json = serde_json::to_string(&w).unwrap();
        assert_eq!(serde_json::from_str::<Work>(&json).unwrap(), w);
        assert_eq!(backoff_ms(1), 60_000);
        assert_eq!(backoff_ms(3), 240_000);
        assert_eq!(backoff_ms(50), backoff_ms(10));
    }
}
