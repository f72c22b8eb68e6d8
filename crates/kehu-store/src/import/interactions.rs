//! Imported interactions (calls, visits, messages, notes) from older
//! systems. A row names its customer (see [`super::target`]); an
//! interaction with the same customer, time, channel and content is already
//! there and is left alone, so a file imports once however often it runs.
//! A named contact must be one of the customer's. The customer's last
//! contact time moves forward as when an interaction is logged by hand.

use super::target::{CustomerKeys, Targets};
use super::{push_customer_times, rejected, Outcome, PAIRS};
use crate::audit::{self, Actor, Entry};
use crate::db::{Arg, Query, Tx};
use crate::{Db, Result};
use kehu_domain::customer::InteractionKind;
use kehu_domain::ids::{CustomerId, InteractionId};
use kehu_domain::import::{ImportedRow, InteractionRow};
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// What makes two interactions the same one.
type Key = (String, i64, &'static str, String);

fn key(customer: &CustomerId, i: &InteractionRow) -> Key {
    (
        customer.as_str().to_string(),
        i.occurred_at.millis(),
        i.kind.code(),
        i.body.clone(),
    )
}

/// The interactions already stored at the times the rows name.
async fn existing(tx: &mut Tx, pairs: &[(&CustomerId, i64)]) -> Result<HashSet<Key>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        customer_id: String,
        occurred_at: i64,
        kind: String,
        body: String,
    }
    let mut found = HashSet::new();
    for chunk in pairs.chunks(PAIRS) {
        let mut q =
            Query::new("SELECT customer_id, occurred_at, kind, body FROM interactions WHERE ");
        push_customer_times(&mut q, "occurred_at", chunk);
        let rows: Vec<Row> = tx.fetch_all(q).await?;
        for r in rows {
            if let Ok(kind) = InteractionKind::parse(&r.kind) {
                found.insert((r.customer_id, r.occurred_at, kind.code(), r.body));
            }
        }
    }
    Ok(found)
}

/// The contacts of the customers, by customer and name (`None` where two
/// share a name).
async fn contacts(
    tx: &mut Tx,
    ids: &[&CustomerId],
) -> Result<HashMap<(String, String), Option<String>>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: String,
        customer_id: String,
        name: String,
    }
    let mut map: HashMap<(String, String), Option<String>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let mut q = Query::new("SELECT id, customer_id, name FROM contacts WHERE customer_id IN ");
        q.push_list(chunk.iter().copied());
        let rows: Vec<Row> = tx.fetch_all(q).await?;
        for r in rows {
            map.entry((r.customer_id, r.name))
                .and_modify(|v| *v = None)
                .or_insert(Some(r.id));
        }
    }
    Ok(map)
}

/// A new interaction.
struct New {
    id: InteractionId,
    customer: CustomerId,
    contact: Option<String>,
    row: InteractionRow,
}

/// Applies a batch of interaction rows in one transaction (rolled back
/// when `dry_run`); times without an offset are read in `zone`. `scope`
/// limits which customers a user's rows may add to, and the interactions
/// are recorded as that user's.
pub async fn apply(
    db: &Db,
    actor: &Actor,
    scope: Option<&Principal>,
    zone: chrono_tz::Tz,
    rows: &[ImportedRow],
    dry_run: bool,
) -> Result<Vec<Outcome>> {
    let parsed: Vec<(CustomerKeys, Result<InteractionRow, Outcome>)> = rows
        .iter()
        .map(|r| {
            (
                CustomerKeys::of(r, false),
                r.interaction(zone).map_err(Outcome::Rejected),
            )
        })
        .collect();
    let now = Timestamp::now();
    let mut tx = db.begin().await?;
    let targets = Targets::load(&mut tx, &parsed.iter().map(|p| &p.0).collect::<Vec<_>>()).await?;
    let found: Vec<Result<(CustomerId, InteractionRow), Outcome>> = parsed
        .into_iter()
        .map(|(keys, row)| {
            let row = row?;
            let t = targets.find(&keys, scope)?;
            Ok((t.id.clone(), row))
        })
        .collect();
    let pairs: Vec<(&CustomerId, i64)> = found
        .iter()
        .filter_map(|f| f.as_ref().ok())
        .map(|(c, r)| (c, r.occurred_at.millis()))
        .collect();
    let mut seen = existing(&mut tx, &pairs).await?;
    let named: Vec<&CustomerId> = found
        .iter()
        .filter_map(|f| f.as_ref().ok())
        .filter(|(_, r)| r.contact.is_some())
        .map(|(c, _)| c)
        .collect();
    let contact_ids = contacts(&mut tx, &named).await?;
    let mut out = Vec::with_capacity(found.len());
    let mut new: Vec<New> = Vec::new();
    for f in found {
        let (customer, row) = match f {
            Ok(x) => x,
            Err(o) => {
                out.push(o);
                continue;
            }
        };
        let contact = match &row.contact {
            None => None,
            Some(name) => match contact_ids.get(&(customer.as_str().to_string(), name.clone())) {
                Some(Some(id)) => Some(id.clone()),
                Some(None) => {
                    out.push(rejected(
                        "contact",
                        "该客户有多个同名联系人，无法确定是哪一个",
                        "the customer has several contacts of this name",
                    ));
                    continue;
                }
                None => {
                    out.push(rejected(
                        "contact",
                        "该客户没有这个联系人：请先导入或添加联系人",
                        "the customer has no contact of this name; add or import the contact first",
                    ));
                    continue;
                }
            },
        };
        if !seen.insert(key(&customer, &row)) {
            out.push(Outcome::Unchanged);
            continue;
        }
        out.push(Outcome::Created);
        new.push(New {
            id: InteractionId::new(),
            customer,
            contact,
            row,
        });
    }
    write(&mut tx, actor, scope, &new, now).await?;
    if !dry_run {
        tx.commit().await?;
    }
    Ok(out)
}

async fn write(
    tx: &mut Tx,
    actor: &Actor,
    scope: Option<&Principal>,
    new: &[New],
    now: Timestamp,
) -> Result<()> {
    let user = scope.map(|p| &p.user_id);
    tx.insert_rows(
        "INSERT INTO interactions (id, customer_id, contact_id, kind, body, occurred_at, user_id, created_at)",
        "",
        new.iter().map(|n| {
            [
                Arg::from(&n.id),
                Arg::from(&n.customer),
                n.contact.clone().into(),
                n.row.kind.code().into(),
                n.row.body.as_str().into(),
                n.row.occurred_at.into(),
                user.into(),
                now.into(),
            ]
        }),
    )
    .await?;
    let mut latest: HashMap<&CustomerId, Timestamp> = HashMap::new();
    for n in new {
        let t = latest.entry(&n.customer).or_insert(n.row.occurred_at);
        *t = (*t).max(n.row.occurred_at);
    }
    for (c, at) in latest {
        crate::customers::touch_contact(tx, c, at).await?;
    }
    let entries: Vec<Entry> = new
        .iter()
        .map(|n| Entry {
            action: "import",
            entity: "interaction",
            entity_id: n.id.as_str(),
            customer_id: Some(&n.customer),
            changes: audit::created(
                json!({
                    "kind": n.row.kind.code(),
                    "body": n.row.body,
                    "occurred_at": n.row.occurred_at.rfc3339(),
                })
                .as_object()
                .expect("an object"),
            ),
        })
        .collect();
    audit::record_many(tx, actor, entries).await
}
