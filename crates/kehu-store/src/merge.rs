//! Merging two records of one customer, in one transaction.
//!
//! The survivor takes, field by field, the value chosen (by default its
//! own, or the other record's where it has none), the union of both
//! records' tags, custom field values and consents (a withdrawal wins unless
//! chosen otherwise), and every row that belonged to the other record: the
//! rows of [`CHILD_TABLES`] and the customers it referred.
//!
//! The merged-away record is not deleted. Its row stays, marked
//! `merged_into` the survivor and hidden like a deleted customer (out of
//! lists, search, the duplicate review and the recycle bin), so its old id
//! answers with the survivor's ([`crate::Error::Merged`]). Its audit entries
//! keep its id; reading the audit log of the survivor (its timeline)
//! includes the entries of every customer merged into it. Both records get
//! a `merge` entry naming the other, the survivor's with the choices made
//! and the rows moved.

use crate::audit::{self, Actor, Change, Entry};
use crate::customers::{self, update_query, write_relations, Customer};
use crate::db::{Arg, Query};
use crate::{Db, Error, Result};
use kehu_domain::customer::{ConsentChannel, CustomerKind};
use kehu_domain::duplicate::{merge_input, pick, pick_consent, Choices, Side};
use kehu_domain::ids::CustomerId;
use kehu_domain::role::{Placement, Principal};
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Problem};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A table whose rows belong to one customer through its `customer_id`.
pub struct Child {
    pub table: &'static str,
    /// A column whose value a customer holds at most once (a tag, a consent
    /// channel). A row of the merged record whose value the survivor
    /// already holds stays with the merged record; every other row moves.
    pub once_per: Option<&'static str>,
}

/// Every table that carries `customer_id`: a merge moves their rows to the
/// survivor. Tables added later (payments...) go here.
/// (The audit log keeps its ids, see the module comment; the search index
/// is recomputed.)
pub const CHILD_TABLES: &[Child] = &[
    Child {
        table: "contacts",
        once_per: None,
    },
    Child {
        table: "interactions",
        once_per: None,
    },
    Child {
        table: "orders",
        once_per: None,
    },
    Child {
        table: "tickets",
        once_per: None,
    },
    Child {
        table: "compensations",
        once_per: None,
    },
    Child {
        table: "surveys",
        once_per: None,
    },
    Child {
        table: "tasks",
        once_per: None,
    },
    Child {
        table: "outbox",
        once_per: None,
    },
    Child {
        table: "customer_tags",
        once_per: Some("tag_id"),
    },
    Child {
        table: "consents",
        once_per: Some("channel"),
    },
];

fn move_rows(child: &Child, survivor: &CustomerId, merged: &CustomerId) -> Query {
    let t = child.table;
    let mut sql = format!("UPDATE {t} SET customer_id = $1 WHERE customer_id = $2");
    if let Some(col) = child.once_per {
        sql.push_str(&format!(
            " AND {col} NOT IN (SELECT {col} FROM {t} WHERE customer_id = $1)"
        ));
    }
    Query::new(sql).bind(survivor).bind(merged)
}

fn invalid(field: &str, zh: &str, en: &str) -> Error {
    FieldErrors::single(
        field,
        Problem::Invalid {
            zh: zh.into(),
            en: en.into(),
        },
    )
    .into()
}

/// Merges `merged` into `survivor` with these field choices and returns
/// the survivor as it now is. Needs write access to both. An unknown or
/// out-of-scope survivor is `NotFound`; the same for `merged`, or `merged`
/// being the survivor, is a field error on `merged_id`.
pub async fn merge(
    db: &Db,
    by: &Principal,
    survivor: &CustomerId,
    merged: &CustomerId,
    choices: &Choices,
) -> Result<Customer> {
    if survivor == merged {
        return Err(invalid(
            "merged_id",
            "不能把客户与自身合并",
            "cannot merge a customer into itself",
        ));
    }
    let now = Timestamp::now();
    let mut tx = db.begin().await?;
    // Both rows are locked before they are read, so two merges touching
    // one record run one after the other and the second sees the first.
    tx.execute(
        Query::new(
            "UPDATE customers SET updated_at = $3 WHERE id IN ($1, $2) AND deleted_at IS NULL",
        )
        .bind(survivor)
        .bind(merged)
        .bind(now),
    )
    .await?;
    let visible = |c: &Customer| c.deleted_at.is_none() && by.can_read(&c.placement());
    let s = customers::load_tx(&mut tx, survivor).await?;
    if !visible(&s) {
        return Err(Error::NotFound);
    }
    let m = match customers::load_tx(&mut tx, merged).await {
        Ok(m) if visible(&m) => m,
        Ok(_) | Err(Error::NotFound) => {
            return Err(FieldErrors::single("merged_id", Problem::NotFound).into())
        }
        Err(e) => return Err(e),
    };
    if !by.can_merge(&s.placement(), &m.placement()) {
        return Err(Error::Forbidden);
    }

    let mut used = Choices::new();
    let mut input = merge_input(
        &s.fields.to_input(),
        &m.fields.to_input(),
        choices,
        &mut used,
    );
    // Who referred one of the two cannot be the customer itself.
    if [survivor.as_str(), merged.as_str()].contains(&input.referred_by.as_str()) {
        input.referred_by.clear();
    }
    let fields = input.parse()?;
    if fields.kind == CustomerKind::Person {
        let contacts = tx
            .scalar(
                Query::new("SELECT COUNT(*) FROM contacts WHERE customer_id IN ($1, $2)")
                    .bind(survivor)
                    .bind(merged),
            )
            .await?;
        if contacts > 0 {
            return Err(invalid(
                "choices.kind",
                "有联系人的客户只能是企业",
                "a customer with contacts must stay an organisation",
            ));
        }
    }
    let team = match used.get("owner_id") {
        Some(Side::Merged) => m.team_id.clone(),
        _ => s.team_id.clone(),
    };
    let keys: BTreeSet<&String> = s.custom.keys().chain(m.custom.keys()).collect();
    let mut custom = Map::new();
    for k in keys {
        let (ours, theirs) = (s.custom.get(k).cloned(), m.custom.get(k).cloned());
        if let Some(v) = pick(&format!("custom.{k}"), ours, theirs, choices, &mut used) {
            custom.insert(k.clone(), v);
        }
    }
    let mut consents = BTreeMap::new();
    for &ch in ConsentChannel::ALL {
        let (ours, theirs) = (s.consents.get(&ch).copied(), m.consents.get(&ch).copied());
        if let Some(st) = pick_consent(ch, ours, theirs, choices, &mut used) {
            consents.insert(ch, st);
        }
    }
    let mut tags: Vec<String> = s.tags.iter().map(|t| t.name.clone()).collect();
    for t in &m.tags {
        if !tags.contains(&t.name) {
            tags.push(t.name.clone());
        }
    }

    let mut moved = Map::new();
    for child in CHILD_TABLES {
        let n = tx.execute(move_rows(child, survivor, merged)).await?;
        moved.insert(child.table.into(), json!(n));
    }
    tx.execute(Query::new("DELETE FROM customer_scores WHERE customer_id = $1").bind(merged))
        .await?;
    let referred: Vec<(String,)> = tx
        .fetch_all(
            Query::new("SELECT id FROM customers WHERE referred_by = $2 AND id <> $1")
                .bind(survivor)
                .bind(merged),
        )
        .await?;
    tx.execute(
        Query::new("UPDATE customers SET referred_by = $1 WHERE referred_by = $2 AND id <> $1")
            .bind(survivor)
            .bind(merged),
    )
    .await?;
    moved.insert("referrals".into(), json!(referred.len()));

    let takes_external = s.external_id.is_none() && m.external_id.is_some();
    // Customers merged earlier into the merged one now name the survivor.
    tx.execute(
        Query::new("UPDATE customers SET merged_into = $1 WHERE merged_into = $2")
            .bind(survivor)
            .bind(merged),
    )
    .await?;
    tx.execute(
        Query::new(
            "UPDATE customers SET merged_into = $1, deleted_at = $3, deleted_by = $4, \
             external_id = CASE WHEN $5 THEN NULL ELSE external_id END WHERE id = $2",
        )
        .bind(survivor)
        .bind(merged)
        .bind(now)
        .bind(&by.user_id)
        .bind(takes_external),
    )
    .await?;
    let external = if takes_external {
        m.external_id.clone()
    } else {
        s.external_id.clone()
    };
    let last_contact = s.last_contact_at.max(m.last_contact_at);
    let extra: Vec<(&str, Arg)> = vec![
        ("owner_id", fields.owner_id.as_ref().into()),
        ("team_id", team.as_ref().into()),
        (
            "custom_fields",
            serde_json::to_string(&custom).unwrap().into(),
        ),
        ("external_id", external.into()),
        ("last_contact_at", last_contact.into()),
        ("updated_at", now.into()),
    ];
    tx.execute(update_query(survivor, &fields, extra)).await?;
    let actor = Actor::from(by);
    write_relations(&mut tx, &actor, survivor, &tags, &consents).await?;
    crate::search::reindex(&mut tx, &[survivor]).await?;
    crate::search::remove(&mut tx, &[merged.as_str()]).await?;
    let after = customers::load_tx(&mut tx, survivor).await?;

    let noted = |field: &str, new: Value| Change {
        field: field.into(),
        old: Value::Null,
        new,
    };
    let choices_made: Map<String, Value> = used
        .iter()
        .map(|(f, side)| (f.clone(), json!(side.code())))
        .collect();
    let mut changes = vec![
        noted("merged_id", json!(merged)),
        noted("choices", Value::Object(choices_made)),
        noted("moved", Value::Object(moved)),
    ];
    changes.extend(audit::diff(&s.snapshot(), &after.snapshot()));
    audit::record_many(
        &mut tx,
        &actor,
        [
            Entry {
                action: "merge",
                entity: "customer",
                entity_id: survivor.as_str(),
                customer_id: Some(survivor),
                changes,
            },
            Entry {
                action: "merge",
                entity: "customer",
                entity_id: merged.as_str(),
                customer_id: Some(merged),
                changes: vec![noted("merged_into", json!(survivor))],
            },
        ],
    )
    .await?;
    let referred: Vec<CustomerId> = referred.iter().filter_map(|(i,)| i.parse().ok()).collect();
    audit::record_many(
        &mut tx,
        &actor,
        referred.iter().map(|id| Entry {
            action: "update",
            entity: "customer",
            entity_id: id.as_str(),
            customer_id: Some(id),
            changes: vec![Change {
                field: "referred_by".into(),
                old: json!(merged),
                new: json!(survivor),
            }],
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// The customer `id` (which the principal may read, and which is deleted)
/// was merged into, when that one is live and the principal may read it.
pub(crate) async fn survivor_of(
    db: &Db,
    by: &Principal,
    id: &CustomerId,
) -> Result<Option<CustomerId>> {
    let row: Option<(String, Option<String>, Option<String>)> = db
        .conn()
        .fetch_optional(
            Query::new(
                "SELECT s.id, s.owner_id, s.team_id FROM customers c \
                 JOIN customers s ON s.id = c.merged_into WHERE c.id = $1 AND s.deleted_at IS NULL",
            )
            .bind(id),
        )
        .await?;
    let Some((survivor, owner, team)) = row else {
        return Ok(None);
    };
    let place = Placement {
        owner_id: owner.and_then(|o| o.parse().ok()),
        team_id: team.and_then(|t| t.parse().ok()),
    };
    Ok(by.can_read(&place).then(|| survivor.parse().ok()).flatten())
}
