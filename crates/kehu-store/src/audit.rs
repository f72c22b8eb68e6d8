//! The audit log: who changed what, when, with old and new values. Every
//! write in the store records its entry in the same transaction.

use crate::db::{Arg, Query, Tx};
use crate::{Db, Result};
use kehu_domain::ids::{new_id, CustomerId, UserId};
use kehu_domain::mobile::mask;
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Who did something: a signed-in user, or the system (CLI, background job).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub login: String,
}

impl Actor {
    pub fn system(what: &str) -> Actor {
        Actor {
            user_id: None,
            login: format!("system:{what}"),
        }
    }
}

impl From<&Principal> for Actor {
    fn from(p: &Principal) -> Actor {
        Actor {
            user_id: Some(p.user_id.clone()),
            login: p.login.clone(),
        }
    }
}

/// One field's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Change {
    pub field: String,
    pub old: Value,
    pub new: Value,
}

/// The changed fields between two snapshots (JSON objects); fields absent
/// from one side count as null.
pub fn diff(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<Change> {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let o = old.get(k).cloned().unwrap_or(Value::Null);
            let n = new.get(k).cloned().unwrap_or(Value::Null);
            (o != n).then(|| Change {
                field: k.clone(),
                old: o,
                new: n,
            })
        })
        .collect()
}

/// Changes that create a record: every non-null field, from null.
pub fn created(new: &Map<String, Value>) -> Vec<Change> {
    diff(&Map::new(), new)
}

/// An audit entry to write.
pub struct Entry<'a> {
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub customer_id: Option<&'a CustomerId>,
    pub changes: Vec<Change>,
}

pub async fn record(tx: &mut Tx, actor: &Actor, e: Entry<'_>) -> Result<()> {
    record_many(tx, actor, std::iter::once(e)).await
}

/// Writes many entries with multi-row inserts (imports, bulk changes).
pub async fn record_many<'a>(
    tx: &mut Tx,
    actor: &Actor,
    entries: impl IntoIterator<Item = Entry<'a>>,
) -> Result<()> {
    let now = Timestamp::now();
    let rows: Vec<[Arg; 9]> = entries
        .into_iter()
        .map(|e| {
            let changes = serde_json::to_string(&e.changes).expect("changes serialise");
            [
                new_id().into(),
                now.into(),
                actor.user_id.as_ref().into(),
                Arg::from(&actor.login),
                e.action.into(),
                e.entity.into(),
                e.entity_id.into(),
                e.customer_id.into(),
                changes.into(),
            ]
        })
        .collect();
    tx.insert_rows(
        "INSERT INTO audit_log (id, at, actor_id, actor_login, action, entity, entity_id, customer_id, changes)",
        "",
        rows,
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    id: String,
    at: i64,
    actor_id: Option<String>,
    actor_login: Option<String>,
    action: String,
    entity: String,
    entity_id: String,
    customer_id: Option<String>,
    changes: String,
}

/// A recorded audit entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub at: Timestamp,
    pub actor_id: Option<String>,
    pub actor_login: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub customer_id: Option<String>,
    pub changes: Vec<Change>,
}

impl From<Row> for AuditEntry {
    fn from(r: Row) -> Self {
        AuditEntry {
            id: r.id,
            at: Timestamp::from_millis(r.at).unwrap_or_else(Timestamp::now),
            actor_id: r.actor_id,
            actor_login: r.actor_login,
            action: r.action,
            entity: r.entity,
            entity_id: r.entity_id,
            customer_id: r.customer_id,
            changes: serde_json::from_str(&r.changes).unwrap_or_default(),
        }
    }
}

/// Fields whose values are phone numbers.
const PHONE_FIELDS: [&str; 1] = ["mobile"];

impl AuditEntry {
    /// Masks the phone numbers among the changes, for a role that sees
    /// numbers masked.
    pub fn mask_phones(&mut self) {
        for c in &mut self.changes {
            if PHONE_FIELDS.contains(&c.field.as_str()) {
                for v in [&mut c.old, &mut c.new] {
                    if let Value::String(s) = v {
                        *s = mask(s);
                    }
                }
            }
        }
    }
}

const COLUMNS: &str =
    "id, at, actor_id, actor_login, action, entity, entity_id, customer_id, changes";

/// Filters for reading the log.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Entries about this customer and about the customers merged into it.
    pub customer_id: Option<CustomerId>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub actor_id: Option<UserId>,
    pub action: Option<String>,
    /// Only entries older than this (for paging back).
    pub before: Option<Timestamp>,
}

/// Newest first. Reading the whole log is an admin's right; callers check it.
pub async fn list(db: &Db, f: &Filter, limit: i64) -> Result<Vec<AuditEntry>> {
    let mut q = Query::new(format!("SELECT {COLUMNS} FROM audit_log WHERE 1=1"));
    if let Some(c) = &f.customer_id {
        // A customer's entries include those of customers merged into it.
        q.push(" AND (customer_id = ")
            .push_arg(c)
            .push(" OR customer_id IN (SELECT id FROM customers WHERE merged_into = ")
            .push_arg(c)
            .push("))");
    }
    if let Some(e) = &f.entity {
        q.push(" AND entity = ").push_arg(e);
    }
    if let Some(e) = &f.entity_id {
        q.push(" AND entity_id = ").push_arg(e);
    }
    if let Some(a) = &f.actor_id {
        q.push(" AND actor_id = ").push_arg(a);
    }
    if let Some(a) = &f.action {
        q.push(" AND action = ").push_arg(a);
    }
    if let Some(b) = f.before {
        q.push(" AND at < ").push_arg(b);
    }
    q.push(" ORDER BY at DESC, id DESC LIMIT ")
        .push_arg(limit.clamp(1, 500));
    let rows: Vec<Row> = db.conn().fetch_all(q).await?;
    Ok(rows.into_iter().map(AuditEntry::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_lists_only_changed_fields() {
        let old = json!({"name": "张伟", "city": "北京", "email": null});
        let new = json!({"name": "张伟", "city": "上海", "mobile": "13812345678"});
        let d = diff(old.as_object().unwrap(), new.as_object().unwrap());
        assert_eq!(
            d,
            vec![
                Change {
                    field: "city".into(),
                    old: json!("北京"),
                    new: json!("上海")
                },
                Change {
                    field: "mobile".into(),
                    old: Value::Null,
                    new: json!("13812345678")
                },
            ]
        );
    }
}
