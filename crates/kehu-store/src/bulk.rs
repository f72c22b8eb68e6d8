//! Writing many customers at once (demo data, and later imports): one
//! transaction per batch, prepared statements reused, tags resolved once.
//! Records are parsed before they reach here; owners are given explicitly.

use crate::audit::{self, Actor, Entry};
use crate::db::{Arg, Query};
use crate::{customers, tags, Db, Result};
use kehu_domain::customer::{ContactFields, CustomerFields, InteractionKind};
use kehu_domain::ids::{ContactId, CustomerId, InteractionId, OrderId, ProductId, TeamId, UserId};
use kehu_domain::time::Timestamp;
use serde_json::json;
use std::collections::HashMap;

/// An interaction to write with its customer.
#[derive(Debug, Clone)]
pub struct NewInteraction {
    pub kind: InteractionKind,
    pub body: String,
    pub at: Timestamp,
    pub user: Option<UserId>,
    /// Index into the customer's `contacts`.
    pub contact: Option<usize>,
}

/// A customer with everything that hangs off it.
#[derive(Debug, Clone)]
pub struct NewCustomer {
    pub fields: CustomerFields,
    pub owner: Option<UserId>,
    pub team: Option<TeamId>,
    pub tags: Vec<String>,
    pub created_at: Timestamp,
    pub contacts: Vec<ContactFields>,
    pub interactions: Vec<NewInteraction>,
}

/// Inserts the customers in one transaction and records one audit entry
/// for the batch. Returns their ids in order.
pub async fn insert(
    db: &Db,
    actor: &Actor,
    what: &str,
    batch: &[NewCustomer],
) -> Result<Vec<CustomerId>> {
    let mut tx = db.begin().await?;
    let mut tag_ids: HashMap<String, String> = HashMap::new();
    let mut ids = Vec::with_capacity(batch.len());
    for c in batch {
        let id = CustomerId::new();
        let last_contact = c.interactions.iter().map(|i| i.at).max();
        let mut args: Vec<Arg> = vec![(&id).into()];
        args.extend(customers::field_args(&c.fields));
        args.extend([
            c.owner.as_ref().into(),
            c.team.as_ref().into(),
            last_contact.into(),
            c.created_at.into(),
            c.created_at.into(),
        ]);
        let mut q = Query::new(format!(
            "INSERT INTO customers (id, {}, owner_id, team_id, last_contact_at, created_at, updated_at) VALUES ",
            customers::FIELD_COLUMNS
        ));
        q.push_list(args);
        tx.execute(q).await?;
        for name in &c.tags {
            let tag_id = match tag_ids.get(name) {
                Some(t) => t.clone(),
                None => {
                    let t = tags::ensure(&mut tx, actor, std::slice::from_ref(name))
                        .await?
                        .remove(0)
                        .id;
                    tag_ids.insert(name.clone(), t.clone());
                    t
                }
            };
            tags::link(&mut tx, &id, &tag_id).await?;
        }
        let mut contact_ids = Vec::with_capacity(c.contacts.len());
        for ct in &c.contacts {
            let cid = ContactId::new();
            tx.execute(
                Query::new(
                    "INSERT INTO contacts (id, customer_id, name, position, role, mobile, email, wechat, birthday, preferences, notes, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
                )
                .bind(&cid)
                .bind(&id)
                .bind(ct.name.as_str())
                .bind(ct.position.clone())
                .bind(ct.role.code())
                .bind(ct.mobile.as_ref().map(|m| m.as_str()))
                .bind(ct.email.clone())
                .bind(ct.wechat.clone())
                .bind(ct.birthday.map(|d| d.format("%Y-%m-%d").to_string()))
                .bind(ct.preferences.clone())
                .bind(ct.notes.clone())
                .bind(c.created_at),
            )
            .await?;
            contact_ids.push(cid);
        }
        for i in &c.interactions {
            tx.execute(
                Query::new("INSERT INTO interactions (id, customer_id, contact_id, kind, body, occurred_at, user_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $6)")
                    .bind(&InteractionId::new())
                    .bind(&id)
                    .bind(i.contact.and_then(|n| contact_ids.get(n)))
                    .bind(i.kind.code())
                    .bind(i.body.as_str())
                    .bind(i.at)
                    .bind(i.user.as_ref()),
            )
            .await?;
        }
        ids.push(id);
    }
    let terms: Vec<_> = batch
        .iter()
        .map(|c| crate::search::terms_of(&c.fields, c.contacts.iter().map(|ct| ct.name.as_str())))
        .collect();
    crate::search::insert(&mut tx, ids.iter().zip(&terms)).await?;
    audit::record(
        &mut tx,
        actor,
        Entry {
            action: "bulk_create",
            entity: "customer",
            entity_id: what,
            customer_id: None,
            changes: audit::created(json!({"customers": batch.len()}).as_object().unwrap()),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(ids)
}

/// Adds interactions to existing customers in one transaction (demo data
/// and benchmarks; each row is trusted) and records one audit entry for the
/// batch. Contacts are not linked.
pub async fn add_interactions(
    db: &Db,
    actor: &Actor,
    items: &[(CustomerId, NewInteraction)],
) -> Result<u64> {
    let mut tx = db.begin().await?;
    let rows: Vec<[Arg; 7]> = items
        .iter()
        .map(|(c, i)| {
            [
                (&InteractionId::new()).into(),
                c.into(),
                i.kind.code().into(),
                i.body.as_str().into(),
                i.at.into(),
                i.user.as_ref().into(),
                i.at.into(),
            ]
        })
        .collect();
    let n = insert_audited(
        &mut tx,
        actor,
        "interaction",
        "INSERT INTO interactions (id, customer_id, kind, body, occurred_at, user_id, created_at)",
        rows,
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

/// Inserts trusted rows and records one audit entry counting them.
async fn insert_audited<R>(
    tx: &mut crate::db::Tx,
    actor: &Actor,
    entity: &str,
    head: &str,
    rows: R,
) -> Result<u64>
where
    R: IntoIterator,
    R::Item: IntoIterator<Item = Arg>,
{
    let n = tx.insert_rows(head, "", rows).await?;
    audit::record(
        tx,
        actor,
        Entry {
            action: "bulk_create",
            entity,
            entity_id: "bulk",
            customer_id: None,
            changes: audit::created(json!({ "rows": n }).as_object().expect("an object")),
        },
    )
    .await?;
    Ok(n)
}

/// An order to write (demo data; trusted): `amount_fen` is what was paid,
/// after `discount_fen`.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub at: Timestamp,
    pub amount_fen: i64,
    pub discount_fen: i64,
    pub quantity: i64,
    /// The product bought, as the order's one line.
    pub line: Option<NewLine>,
}

/// A catalogue product on an order, at the price it had then.
#[derive(Debug, Clone)]
pub struct NewLine {
    pub product: ProductId,
    pub description: String,
    pub unit_price_fen: i64,
    pub warranty_until: Option<Timestamp>,
}

/// Adds orders (with their lines) to existing customers in one
/// transaction and records one audit entry for the batch.
pub async fn add_orders(db: &Db, actor: &Actor, items: &[(CustomerId, NewOrder)]) -> Result<u64> {
    let mut tx = db.begin().await?;
    let ids: Vec<OrderId> = items.iter().map(|_| OrderId::new()).collect();
    let rows = items.iter().zip(&ids).map(|((c, o), id)| {
        [
            id.into(),
            Arg::from(c),
            o.at.into(),
            o.amount_fen.into(),
            o.discount_fen.into(),
            o.quantity.into(),
            o.at.into(),
        ]
    });
    let n = insert_audited(
        &mut tx,
        actor,
        "order",
        "INSERT INTO orders (id, customer_id, ordered_at, amount_fen, discount_fen, quantity, created_at)",
        rows,
    )
    .await?;
    let lines = items.iter().zip(&ids).filter_map(|((_, o), id)| {
        let l = o.line.as_ref()?;
        Some([
            Arg::from(uuid::Uuid::new_v4().to_string()),
            id.into(),
            Arg::from(&l.product),
            l.description.as_str().into(),
            o.quantity.into(),
            l.unit_price_fen.into(),
            o.discount_fen.into(),
            o.amount_fen.into(),
            l.warranty_until.into(),
        ])
    });
    tx.insert_rows(
        "INSERT INTO order_lines (id, order_id, product_id, description, quantity, \
         unit_price_fen, discount_fen, amount_fen, warranty_until)",
        "",
        lines,
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}
