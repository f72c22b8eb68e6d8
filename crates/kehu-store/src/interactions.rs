//! Interactions: calls, visits, WeChat, SMS, e-mail and notes on a
//! customer's timeline. Logging one also marks when the customer was last
//! contacted, which cadence rules read.

use crate::audit::{self, Actor, Entry};
use crate::customers;
use crate::db::Query;
use crate::{Db, Error, Result};
use kehu_domain::customer::InteractionKind;
use kehu_domain::ids::{ContactId, CustomerId, InteractionId, UserId};
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use kehu_domain::{text, FieldErrors, Problem};
use serde::Serialize;
use serde_json::json;

/// An interaction as sent.
#[derive(Debug, Clone, Default)]
pub struct InteractionInput {
    pub kind: String,
    pub body: String,
    pub contact_id: String,
    /// RFC 3339; blank means now.
    pub occurred_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Interaction {
    pub id: InteractionId,
    pub customer_id: CustomerId,
    pub contact_id: Option<ContactId>,
    pub contact_name: Option<String>,
    pub kind: InteractionKind,
    pub body: String,
    pub occurred_at: Timestamp,
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    pub created_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    customer_id: String,
    contact_id: Option<String>,
    contact_name: Option<String>,
    kind: String,
    body: String,
    occurred_at: i64,
    user_id: Option<String>,
    user_name: Option<String>,
    created_at: i64,
}

impl Row {
    fn into_interaction(self) -> Result<Interaction> {
        Ok(Interaction {
            id: self.id.parse().map_err(Error::Other)?,
            customer_id: self.customer_id.parse().map_err(Error::Other)?,
            contact_id: self.contact_id.and_then(|s| s.parse().ok()),
            contact_name: self.contact_name,
            kind: InteractionKind::parse(&self.kind).unwrap_or(InteractionKind::Note),
            body: self.body,
            occurred_at: Timestamp::from_millis(self.occurred_at).unwrap_or_else(Timestamp::now),
            user_id: self.user_id.and_then(|s| s.parse().ok()),
            user_name: self.user_name,
            created_at: Timestamp::from_millis(self.created_at).unwrap_or_else(Timestamp::now),
        })
    }
}

const SELECT: &str = "SELECT i.id, i.customer_id, i.contact_id, ct.name AS contact_name, i.kind, i.body, i.occurred_at, \
     i.user_id, u.name AS user_name, i.created_at FROM interactions i \
     LEFT JOIN contacts ct ON ct.id = i.contact_id LEFT JOIN users u ON u.id = i.user_id";

/// Interactions of a customer, newest first.
pub async fn list(
    db: &Db,
    by: &Principal,
    customer: &CustomerId,
    limit: i64,
) -> Result<Vec<Interaction>> {
    customers::get(db, by, customer).await?;
    let rows: Vec<Row> = db
        .conn()
        .fetch_all(
            Query::new(format!(
                "{SELECT} WHERE i.customer_id = $1 ORDER BY i.occurred_at DESC, i.id DESC LIMIT $2"
            ))
            .bind(customer)
            .bind(limit.clamp(1, 1000)),
        )
        .await?;
    rows.into_iter().map(Row::into_interaction).collect()
}

pub async fn get(db: &Db, by: &Principal, id: &InteractionId) -> Result<Interaction> {
    let row: Row = db
        .conn()
        .fetch_one(Query::new(format!("{SELECT} WHERE i.id = $1")).bind(id))
        .await?;
    let i = row.into_interaction()?;
    customers::get(db, by, &i.customer_id).await?;
    Ok(i)
}

pub async fn create(
    db: &Db,
    by: &Principal,
    customer: &CustomerId,
    input: &InteractionInput,
) -> Result<Interaction> {
    let c = customers::get(db, by, customer).await?;
    if !by.can_write(&c.placement()) {
        return Err(Error::Forbidden);
    }
    let mut e = FieldErrors::new();
    let kind = e.take("kind", InteractionKind::parse(&input.kind));
    let body = e.take(
        "body",
        text::multiline(&input.body, 10_000).and_then(|b| b.ok_or(Problem::Required)),
    );
    let now = Timestamp::now();
    let occurred_at = if input.occurred_at.trim().is_empty() {
        Some(now)
    } else {
        e.take(
            "occurred_at",
            chrono::DateTime::parse_from_rfc3339(input.occurred_at.trim())
                .map(|d| Timestamp::from(d.with_timezone(&chrono::Utc)))
                .map_err(|_| Problem::InvalidDate),
        )
    };
    let contact: Option<ContactId> = if input.contact_id.trim().is_empty() {
        None
    } else {
        e.take(
            "contact_id",
            input
                .contact_id
                .trim()
                .parse()
                .map_err(|_| Problem::NotFound),
        )
    };
    if let Some(ct) = &contact {
        let n = db
            .conn()
            .scalar(
                Query::new("SELECT COUNT(*) FROM contacts WHERE id = $1 AND customer_id = $2")
                    .bind(ct)
                    .bind(customer),
            )
            .await?;
        if n == 0 {
            e.add("contact_id", Problem::NotFound);
        }
    }
    e.clone().into_result()?;
    let (kind, body, occurred_at) = (kind.unwrap(), body.unwrap(), occurred_at.unwrap());
    let id = InteractionId::new();
    let mut tx = db.begin().await?;
    tx.execute(
        Query::new("INSERT INTO interactions (id, customer_id, contact_id, kind, body, occurred_at, user_id, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)")
            .bind(&id)
            .bind(customer)
            .bind(contact.as_ref())
            .bind(kind.code())
            .bind(&body)
            .bind(occurred_at)
            .bind(&by.user_id)
            .bind(now),
    )
    .await?;
    customers::touch_contact(&mut tx, customer, occurred_at).await?;
    audit::record(
        &mut tx,
        &Actor::from(by),
        Entry {
            action: "create",
            entity: "interaction",
            entity_id: id.as_str(),
            customer_id: Some(customer),
            changes: audit::created(
                json!({"kind": kind.code(), "body": body})
                    .as_object()
                    .unwrap(),
            ),
        },
    )
    .await?;
    let row: Row = tx
        .fetch_one(Query::new(format!("{SELECT} WHERE i.id = $1")).bind(&id))
        .await?;
    tx.commit().await?;
    row.into_interaction()
}
