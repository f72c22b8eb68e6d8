//! Import job records: who imported which file from which source, whose
//! the new customers become, how far the run has got and how it ended; and
//! the column mapping saved for each source. Jobs started from the web UI
//! or the API are seen by the user who started them (admins see all); job
//! ids are random UUIDs (v4), so they cannot be guessed.

use crate::audit::{self, Actor, Entry};
use crate::auth;
use crate::db::{Arg, Query};
use crate::import::{Counts, Owner};
use crate::{Db, Error, Result};
use kehu_domain::ids::UserId;
use kehu_domain::import::{ImportKind, JobStatus};
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Problem};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A running job that has reported nothing for this long is taken for one
/// whose server stopped. Running jobs report at least every half minute.
pub const STALE_AFTER_MS: i64 = 2 * 60 * 1000;

/// A header → field code mapping ("" for a column left out).
pub type HeaderMapping = BTreeMap<String, String>;

/// A new job's id: random, not time-ordered.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// How far a run has got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Data rows handled so far.
    pub rows: u64,
    /// Bytes of the file read (rows for workbooks, whose size says little).
    pub read: u64,
    /// The file's length when `read` counts bytes.
    pub total: Option<u64>,
    pub counts: Counts,
    /// Every row is in and the indexes a large import deferred are being
    /// built (`kehu_store::deferred`).
    pub building_indexes: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    id: String,
    kind: String,
    file_name: String,
    source: String,
    actor_id: Option<String>,
    actor_login: String,
    owner_id: Option<String>,
    dry_run: bool,
    status: String,
    error: Option<String>,
    started_at: i64,
    finished_at: Option<i64>,
    progress_at: Option<i64>,
    rows_read: i64,
    bytes_read: i64,
    bytes_total: Option<i64>,
    created: i64,
    updated: i64,
    unchanged: i64,
    rejected: i64,
    building_indexes: bool,
    file_path: Option<String>,
    mapping: Option<String>,
}

const COLUMNS: &str = "id, kind, file_name, source, actor_id, actor_login, owner_id, dry_run, status, error, \
     started_at, finished_at, progress_at, rows_read, bytes_read, bytes_total, created, updated, unchanged, rejected, \
     building_indexes, file_path, mapping";

/// A recorded import.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub file_name: String,
    pub source: String,
    pub actor_id: Option<UserId>,
    pub actor_login: String,
    pub owner_id: Option<UserId>,
    pub dry_run: bool,
    pub status: JobStatus,
    pub error: Option<String>,
    /// When it was uploaded, then when its last run started.
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub progress_at: Option<Timestamp>,
    pub progress: Progress,
    /// The uploaded file, relative to the data directory (web and API jobs).
    pub file_path: Option<String>,
    /// The mapping of its last run.
    pub mapping: Option<HeaderMapping>,
}

impl Job {
    /// What the job's file holds.
    pub fn import_kind(&self) -> ImportKind {
        ImportKind::parse(&self.kind).unwrap_or(ImportKind::Customers)
    }

    /// May be run (again): awaiting its mapping, after a dry run, or after a
    /// run that failed or was cut short (imports create nothing twice).
    pub fn can_run(&self) -> bool {
        self.file_path.is_some()
            && match self.status {
                JobStatus::Uploaded | JobStatus::Failed | JobStatus::Interrupted => true,
                JobStatus::Done => self.dry_run,
                JobStatus::Running => false,
            }
    }
}

fn time(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).unwrap_or_else(Timestamp::now)
}

impl From<Row> for Job {
    fn from(r: Row) -> Job {
        let n = |v: i64| v.max(0) as u64;
        Job {
            status: JobStatus::parse(&r.status).unwrap_or(JobStatus::Interrupted),
            actor_id: r.actor_id.and_then(|a| a.parse().ok()),
            owner_id: r.owner_id.and_then(|o| o.parse().ok()),
            started_at: time(r.started_at),
            finished_at: r.finished_at.map(time),
            progress_at: r.progress_at.map(time),
            progress: Progress {
                rows: n(r.rows_read),
                read: n(r.bytes_read),
                total: r.bytes_total.map(n),
                counts: Counts {
                    created: n(r.created),
                    updated: n(r.updated),
                    unchanged: n(r.unchanged),
                    rejected: n(r.rejected),
                },
                building_indexes: r.building_indexes,
            },
            mapping: r.mapping.and_then(|m| serde_json::from_str(&m).ok()),
            id: r.id,
            kind: r.kind,
            file_name: r.file_name,
            source: r.source,
            actor_login: r.actor_login,
            dry_run: r.dry_run,
            error: r.error,
            file_path: r.file_path,
        }
    }
}

/// A job to record.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub file_name: &'a str,
    pub source: &'a str,
    /// `Uploaded` (waits for its mapping) or `Running`.
    pub status: JobStatus,
    pub dry_run: bool,
    pub owner_id: Option<&'a UserId>,
    pub file_path: Option<&'a str>,
    pub bytes_total: Option<u64>,
    pub mapping: Option<&'a HeaderMapping>,
}

fn mapping_json(m: Option<&HeaderMapping>) -> Option<String> {
    m.map(|m| serde_json::to_string(m).expect("a mapping serialises"))
}

fn counts_json(p: &Progress) -> Value {
    let c = p.counts;
    json!({"rows": p.rows, "created": c.created, "updated": c.updated, "unchanged": c.unchanged, "rejected": c.rejected})
}

async fn audit_job(
    db: &Db,
    actor: &Actor,
    action: &str,
    id: &str,
    changes: Value,
    write: Query,
) -> Result<u64> {
    let mut tx = db.begin().await?;
    let n = tx.execute(write).await?;
    if n > 0 {
        audit::record(
            &mut tx,
            actor,
            Entry {
                action,
                entity: "import_job",
                entity_id: id,
                customer_id: None,
                changes: audit::created(changes.as_object().unwrap_or(&Map::new())),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(n)
}

/// Records a job (uploaded, or starting to run), audited.
pub async fn create(db: &Db, actor: &Actor, j: &NewJob<'_>) -> Result<()> {
    let now = Timestamp::now();
    let q = Query::new(
        "INSERT INTO import_jobs (id, kind, file_name, source, actor_id, actor_login, owner_id, dry_run, status, \
         started_at, progress_at, file_path, bytes_total, mapping) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13)",
    )
    .bind(j.id)
    .bind(j.kind)
    .bind(j.file_name)
    .bind(j.source)
    .bind(actor.user_id.as_ref())
    .bind(&actor.login)
    .bind(j.owner_id)
    .bind(j.dry_run)
    .bind(j.status.code())
    .bind(now)
    .bind(j.file_path)
    .bind(j.bytes_total.map(|b| b as i64))
    .bind(mapping_json(j.mapping));
    let changes = json!({
        "file_name": j.file_name, "source": j.source, "status": j.status.code(),
        "dry_run": j.dry_run, "owner_id": j.owner_id, "mapping": j.mapping,
    });
    audit_job(db, actor, "create", j.id, changes, q).await?;
    Ok(())
}

/// Starts a recorded job's run (again), if it may run: see [`Job::can_run`].
pub async fn run(
    db: &Db,
    actor: &Actor,
    id: &str,
    dry_run: bool,
    owner: Option<&UserId>,
    mapping: &HeaderMapping,
) -> Result<()> {
    let now = Timestamp::now();
    let q = Query::new(
        "UPDATE import_jobs SET status = 'running', dry_run = $2, owner_id = $3, mapping = $4, started_at = $5, \
         progress_at = $5, finished_at = NULL, error = NULL, rows_read = 0, bytes_read = 0, \
         created = 0, updated = 0, unchanged = 0, rejected = 0, building_indexes = FALSE \
         WHERE id = $1 AND file_path IS NOT NULL \
         AND (status IN ('uploaded', 'failed', 'interrupted') OR (status = 'done' AND dry_run = $6))",
    )
    .bind(id)
    .bind(dry_run)
    .bind(owner)
    .bind(mapping_json(Some(mapping)))
    .bind(now)
    .bind(true);
    let changes = json!({"dry_run": dry_run, "owner_id": owner, "mapping": mapping});
    if audit_job(db, actor, "run", id, changes, q).await? == 0 {
        return Err(FieldErrors::single(
            "status",
            Problem::Invalid {
                zh: "该导入正在进行或已经完成，不能再次运行".into(),
                en: "this import is running or done; it cannot run again".into(),
            },
        )
        .into());
    }
    Ok(())
}

/// The statement recording a running job's progress; with `done`, its end.
fn progress_update(id: &str, p: &Progress, done: bool) -> Query {
    let c = p.counts;
    let end = if done {
        "status = 'done', finished_at = $2, building_indexes = FALSE, "
    } else {
        ""
    };
    Query::new(format!(
        "UPDATE import_jobs SET {end}progress_at = $2, rows_read = $3, bytes_read = $4, bytes_total = $5, \
         created = $6, updated = $7, unchanged = $8, rejected = $9 WHERE id = $1 AND status = 'running'"
    ))
    .bind(id)
    .bind(Timestamp::now())
    .bind(p.rows as i64)
    .bind(p.read as i64)
    .bind(p.total.map(|t| t as i64))
    .bind(c.created as i64)
    .bind(c.updated as i64)
    .bind(c.unchanged as i64)
    .bind(c.rejected as i64)
}

/// Records how far a running job has got (through the writer, as the
/// job's own writes do).
pub async fn progress(db: &Db, id: &str, p: &Progress) -> Result<()> {
    let mut tx = db.begin().await?;
    tx.execute(progress_update(id, p, false)).await?;
    tx.commit().await
}

/// Records that a running job's rows are all in and the indexes it
/// deferred are being built (until it ends).
pub async fn building_indexes(db: &Db, id: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    tx.execute(
        Query::new(
            "UPDATE import_jobs SET building_indexes = TRUE, progress_at = $2 \
             WHERE id = $1 AND status = 'running'",
        )
        .bind(id)
        .bind(Timestamp::now()),
    )
    .await?;
    tx.commit().await
}

/// Records the end of a run, with its totals.
pub async fn finish(db: &Db, actor: &Actor, id: &str, p: &Progress) -> Result<()> {
    let q = progress_update(id, p, true);
    audit_job(db, actor, "finish", id, counts_json(p), q).await?;
    Ok(())
}

/// Records that a run failed, and why.
pub async fn fail(db: &Db, actor: &Actor, id: &str, error: &str) -> Result<()> {
    let error: String = error.chars().take(2000).collect();
    let q = Query::new(
        "UPDATE import_jobs SET status = 'failed', finished_at = $2, error = $3 WHERE id = $1 AND status = 'running'",
    )
    .bind(id)
    .bind(Timestamp::now())
    .bind(&error);
    audit_job(db, actor, "fail", id, json!({"error": error}), q).await?;
    Ok(())
}

/// Marks running jobs as interrupted: those named (stopped with their
/// server), and any that reported nothing for [`STALE_AFTER_MS`] (their
/// server died). Returns how many.
pub async fn interrupt(db: &Db, ids: &[String], now: Timestamp) -> Result<u64> {
    let mut q = Query::new("SELECT id FROM import_jobs WHERE status = 'running' AND (COALESCE(progress_at, started_at) < ");
    q.push_arg(now.millis() - STALE_AFTER_MS);
    if !ids.is_empty() {
        q.push(" OR id IN ").push_list(ids.iter().map(Arg::from));
    }
    q.push(")");
    let found: Vec<(String,)> = db.conn().fetch_all(q).await?;
    let actor = Actor::system("jobs");
    let mut n = 0;
    for (id,) in found {
        let q = Query::new(
            "UPDATE import_jobs SET status = 'interrupted', finished_at = $2 WHERE id = $1 AND status = 'running'",
        )
        .bind(&id)
        .bind(now);
        n += audit_job(
            db,
            &actor,
            "interrupt",
            &id,
            json!({"status": "interrupted"}),
            q,
        )
        .await?;
    }
    Ok(n)
}

/// Whose jobs a user sees: admins all, others their own.
fn visible(q: &mut Query, p: &Principal) {
    if !p.role.is_admin() {
        q.push(" AND actor_id = ").push_arg(&p.user_id);
    }
}

/// A job the user may see.
pub async fn get(db: &Db, p: &Principal, id: &str) -> Result<Job> {
    let mut q = Query::new(format!("SELECT {COLUMNS} FROM import_jobs WHERE id = "));
    q.push_arg(id);
    visible(&mut q, p);
    let row: Row = db.conn().fetch_one(q).await?;
    Ok(row.into())
}

/// The jobs a user may see, newest first.
pub async fn list(db: &Db, p: &Principal, limit: i64) -> Result<Vec<Job>> {
    let mut q = Query::new(format!("SELECT {COLUMNS} FROM import_jobs WHERE 1=1"));
    visible(&mut q, p);
    q.push(" ORDER BY started_at DESC, id DESC LIMIT ")
        .push_arg(limit.clamp(1, 500));
    let rows: Vec<Row> = db.conn().fetch_all(q).await?;
    Ok(rows.into_iter().map(Job::from).collect())
}

/// Whose new customers become: the user's own, or those of an active user
/// they may assign customers to.
pub async fn owner_for(db: &Db, p: &Principal, asked: Option<&UserId>) -> Result<Owner> {
    let Some(o) = asked.filter(|o| **o != p.user_id) else {
        return Ok(Owner {
            user: Some(p.user_id.clone()),
            team: p.team_id.clone(),
        });
    };
    let u = match auth::user(db, o).await {
        Ok(u) => u,
        Err(Error::NotFound) => {
            return Err(FieldErrors::single("owner_id", Problem::NotFound).into())
        }
        Err(e) => return Err(e),
    };
    if !u.active || !p.can_assign(&u.id, u.team_id.as_ref()) {
        return Err(FieldErrors::single("owner_id", Problem::NotAllowed).into());
    }
    Ok(Owner {
        user: Some(u.id),
        team: u.team_id,
    })
}

/// The mapping saved for a kind of file from a source.
pub async fn saved_mapping(
    db: &Db,
    kind: ImportKind,
    source: &str,
) -> Result<Option<HeaderMapping>> {
    let found: Option<(String,)> = db
        .conn()
        .fetch_optional(
            Query::new("SELECT mapping FROM import_mappings WHERE kind = $1 AND source = $2")
                .bind(kind.code())
                .bind(source.trim()),
        )
        .await?;
    Ok(found.and_then(|(m,)| serde_json::from_str(&m).ok()))
}

/// Saves the mapping for a kind of file from a source (audited when it
/// changes).
pub async fn save_mapping(
    db: &Db,
    actor: &Actor,
    kind: ImportKind,
    source: &str,
    m: &HeaderMapping,
) -> Result<()> {
    let source = source.trim();
    if source.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    let before: Option<(String,)> = tx
        .fetch_optional(
            Query::new("SELECT mapping FROM import_mappings WHERE kind = $1 AND source = $2")
                .bind(kind.code())
                .bind(source),
        )
        .await?;
    let before: Option<HeaderMapping> = before.and_then(|(m,)| serde_json::from_str(&m).ok());
    if before.as_ref() == Some(m) {
        return Ok(());
    }
    let text = mapping_json(Some(m));
    let now = Timestamp::now();
    let q = if before.is_some() {
        "UPDATE import_mappings SET mapping = $2, updated_by = $3, updated_at = $4 WHERE source = $1 AND kind = $5"
    } else {
        "INSERT INTO import_mappings (source, mapping, updated_by, updated_at, kind) VALUES ($1, $2, $3, $4, $5)"
    };
    tx.execute(
        Query::new(q)
            .bind(source)
            .bind(text)
            .bind(&actor.login)
            .bind(now)
            .bind(kind.code()),
    )
    .await?;
    let entity_id = format!("{}:{source}", kind.code());
    let as_object = |m: Option<&HeaderMapping>| -> Map<String, Value> {
        m.into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect()
    };
    audit::record(
        &mut tx,
        actor,
        Entry {
            action: if before.is_some() { "update" } else { "create" },
            entity: "import_mapping",
            entity_id: &entity_id,
            customer_id: None,
            changes: audit::diff(&as_object(before.as_ref()), &as_object(Some(m))),
        },
    )
    .await?;
    tx.commit().await
}

/// The sources with a saved mapping for any kind of file, by name.
pub async fn sources(db: &Db) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = db
        .conn()
        .fetch_all(Query::new(
            "SELECT DISTINCT source FROM import_mappings ORDER BY source",
        ))
        .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}
