//! Writing imported customer rows: each row is matched to an existing
//! customer by external id, then mobile, then e-mail (then, for rows with
//! none of those, by name and company), so that running the same file again
//! changes nothing. A row either updates the customer it matches (blank
//! cells keep what is there; tags are added), creates a new one, or is
//! rejected with its reasons. Every change is audited.

use crate::audit::{self, Actor, Entry};
use crate::customers::{self, field_args, FIELD_COLUMNS};
use crate::db::{Arg, Query, Tx};
use crate::{tags, Db, Result};
use kehu_domain::customer::CustomerInput;
use kehu_domain::ids::{CustomerId, TeamId, UserId};
use kehu_domain::import::ImportedRow;
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Problem};
use serde_json::json;

/// What became of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Rejected(FieldErrors),
}

/// Totals of an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Outcome) {
        match o {
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::Rejected(_) => self.rejected += 1,
        }
    }
}

/// Who new customers belong to.
#[derive(Debug, Clone, Default)]
pub struct Owner {
    pub user: Option<UserId>,
    pub team: Option<TeamId>,
}

fn rejected(field: &str, zh: &str, en: &str) -> Outcome {
    Outcome::Rejected(FieldErrors::single(
        field,
        Problem::Invalid {
            zh: zh.into(),
            en: en.into(),
        },
    ))
}

/// The live customers a query finds.
async fn ids(tx: &mut Tx, q: Query) -> Result<Vec<CustomerId>> {
    let rows: Vec<(String,)> = tx.fetch_all(q).await?;
    Ok(rows.into_iter().filter_map(|(i,)| i.parse().ok()).collect())
}

enum Match {
    None,
    One(CustomerId),
    Problem(Outcome),
}

async fn find(tx: &mut Tx, row: &ImportedRow, input: &CustomerInput) -> Result<Match> {
    if let Some(ext) = &row.external_id {
        let found: Option<(String, Option<i64>)> = tx
            .fetch_optional(
                Query::new("SELECT id, deleted_at FROM customers WHERE external_id = $1").bind(ext),
            )
            .await?;
        if let Some((id, deleted)) = found {
            if deleted.is_some() {
                return Ok(Match::Problem(rejected(
                    "external_id",
                    "该外部编号的客户在回收站中，请先恢复",
                    "the customer with this external id is in the recycle bin; restore it first",
                )));
            }
            return Ok(id.parse().map(Match::One).unwrap_or(Match::None));
        }
    }
    let keys: [(&str, Option<String>); 2] = [
        (
            "mobile",
            kehu_domain::mobile::Mobile::parse_optional(&input.mobile)
                .ok()
                .flatten()
                .map(|m| m.as_str().to_string()),
        ),
        (
            "email",
            kehu_domain::text::email(&input.email).ok().flatten(),
        ),
    ];
    for (column, value) in keys {
        let Some(v) = value else { continue };
        let found: Vec<(String, Option<String>)> =
            tx.fetch_all(Query::new(format!("SELECT id, external_id FROM customers WHERE {column} = $1 AND deleted_at IS NULL LIMIT 2")).bind(v)).await?;
        match found.len() {
            0 => continue,
            1 => {
                let (id, ext) = &found[0];
                if let (Some(theirs), Some(ours)) = (ext, &row.external_id) {
                    if theirs != ours {
                        return Ok(Match::Problem(rejected(
                            "external_id",
                            &format!(
                                "与已有客户（外部编号 {theirs}）的{}相同，但外部编号不同",
                                if column == "mobile" {
                                    "手机号"
                                } else {
                                    "邮箱"
                                }
                            ),
                            &format!("has the {column} of the customer with external id {theirs}"),
                        )));
                    }
                }
                return Ok(id.parse().map(Match::One).unwrap_or(Match::None));
            }
            _ => {
                return Ok(Match::Problem(rejected(
                    column,
                    "与多个已有客户相同，无法确定更新哪一个",
                    "matches several customers; cannot tell which to update",
                )))
            }
        }
    }
    if row.external_id.is_none()
        && input.mobile.trim().is_empty()
        && input.email.trim().is_empty()
        && !input.name.trim().is_empty()
    {
        let found = ids(
            tx,
            Query::new("SELECT id FROM customers WHERE name = $1 AND COALESCE(company, '') = $2 AND deleted_at IS NULL LIMIT 2").bind(input.name.trim()).bind(input.company.trim()),
        )
        .await?;
        if found.len() == 1 {
            return Ok(Match::One(found[0].clone()));
        }
    }
    Ok(Match::None)
}

async fn add_tags(tx: &mut Tx, actor: &Actor, id: &CustomerId, names: &[String]) -> Result<()> {
    let names = tags::parse_names(names)?;
    for t in tags::ensure(tx, actor, &names).await? {
        tx.execute(Query::new("INSERT INTO customer_tags (customer_id, tag_id) VALUES ($1, $2) ON CONFLICT DO NOTHING").bind(id).bind(&t.id)).await?;
    }
    Ok(())
}

async fn apply_row(
    tx: &mut Tx,
    actor: &Actor,
    owner: &Owner,
    row: &ImportedRow,
) -> Result<Outcome> {
    let fresh = row.overlay(&CustomerInput::default());
    let found = find(tx, row, &fresh).await?;
    let now = Timestamp::now();
    match found {
        Match::Problem(o) => Ok(o),
        Match::None => {
            let fields = match fresh.parse() {
                Ok(f) => f,
                Err(e) => return Ok(Outcome::Rejected(e)),
            };
            if let Err(e) = tags::parse_names(&row.tags) {
                return Ok(Outcome::Rejected(e));
            }
            let id = CustomerId::new();
            let mut q = Query::new(format!("INSERT INTO customers (id, {FIELD_COLUMNS}, owner_id, team_id, external_id, created_at, updated_at) VALUES "));
            let mut args = vec![Arg::from(&id)];
            args.extend(field_args(&fields));
            args.extend([
                owner.user.as_ref().into(),
                owner.team.as_ref().into(),
                row.external_id.clone().into(),
                now.into(),
                now.into(),
            ]);
            q.push_list(args);
            tx.execute(q).await?;
            add_tags(tx, actor, &id, &row.tags).await?;
            let c = customers::load_tx(tx, &id).await?;
            let mut changes = audit::created(&c.snapshot());
            if let Some(ext) = &row.external_id {
                changes.push(audit::Change {
                    field: "external_id".into(),
                    old: serde_json::Value::Null,
                    new: json!(ext),
                });
            }
            audit::record(
                tx,
                actor,
                Entry {
                    action: "import",
                    entity: "customer",
                    entity_id: id.as_str(),
                    customer_id: Some(&id),
                    changes,
                },
            )
            .await?;
            Ok(Outcome::Created)
        }
        Match::One(id) => {
            let before = customers::load_tx(tx, &id).await?;
            let fields = match row.overlay(&before.fields.to_input()).parse() {
                Ok(f) => f,
                Err(e) => return Ok(Outcome::Rejected(e)),
            };
            let current_ext: Option<(Option<String>,)> = tx
                .fetch_optional(
                    Query::new("SELECT external_id FROM customers WHERE id = $1").bind(&id),
                )
                .await?;
            let current_ext = current_ext.and_then(|r| r.0);
            let new_ext = row.external_id.clone().or(current_ext.clone());
            let have: Vec<&str> = before.tags.iter().map(|t| t.name.as_str()).collect();
            let new_tags: Vec<String> = row
                .tags
                .iter()
                .filter(|t| !have.contains(&t.as_str()))
                .cloned()
                .collect();
            if fields == before.fields && new_ext == current_ext && new_tags.is_empty() {
                return Ok(Outcome::Unchanged);
            }
            let q = customers::update_query(
                &id,
                &fields,
                vec![
                    ("external_id", new_ext.clone().into()),
                    ("updated_at", now.into()),
                ],
            );
            tx.execute(q).await?;
            add_tags(tx, actor, &id, &new_tags).await?;
            let after = customers::load_tx(tx, &id).await?;
            let mut changes = audit::diff(&before.snapshot(), &after.snapshot());
            if new_ext != current_ext {
                changes.push(audit::Change {
                    field: "external_id".into(),
                    old: json!(current_ext),
                    new: json!(new_ext),
                });
            }
            audit::record(
                tx,
                actor,
                Entry {
                    action: "import",
                    entity: "customer",
                    entity_id: id.as_str(),
                    customer_id: Some(&id),
                    changes,
                },
            )
            .await?;
            Ok(Outcome::Updated)
        }
    }
}

/// Applies a batch of rows in one transaction (rolled back when `dry_run`).
/// Each row's outcome is returned in order.
pub async fn apply(
    db: &Db,
    actor: &Actor,
    owner: &Owner,
    rows: &[ImportedRow],
    dry_run: bool,
) -> Result<Vec<Outcome>> {
    let mut tx = db.begin().await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(apply_row(&mut tx, actor, owner, row).await?);
    }
    if !dry_run {
        tx.commit().await?;
    }
    Ok(out)
}

/// Records that an import started; returns the job's id.
pub async fn start_job(
    db: &Db,
    kind: &str,
    file_name: &str,
    actor: &Actor,
    dry_run: bool,
) -> Result<String> {
    let id = kehu_domain::ids::new_id();
    db.conn()
        .execute(
            Query::new("INSERT INTO import_jobs (id, kind, file_name, actor_login, dry_run, started_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&id)
                .bind(kind)
                .bind(file_name)
                .bind(&actor.login)
                .bind(dry_run)
                .bind(Timestamp::now()),
        )
        .await?;
    Ok(id)
}

/// Records an import's totals when it ends.
pub async fn finish_job(db: &Db, id: &str, c: Counts) -> Result<()> {
    db.conn()
        .execute(
            Query::new("UPDATE import_jobs SET finished_at = $2, created = $3, updated = $4, unchanged = $5, rejected = $6 WHERE id = $1")
                .bind(id)
                .bind(Timestamp::now())
                .bind(c.created as i64)
                .bind(c.updated as i64)
                .bind(c.unchanged as i64)
                .bind(c.rejected as i64),
        )
        .await?;
    Ok(())
}
