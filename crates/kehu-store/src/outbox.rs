//! Messages to customers waiting to be delivered (survey links, for now).
//! A channel integration (SMS gateway, WeChat, e-mail) reads the pending
//! ones, delivers them with the server's public address in front of their
//! links, and marks them sent. Admins only: the messages hold private links.

use crate::db::Query;
use crate::{Db, Error, Result};
use kehu_domain::ids::CustomerId;
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Message {
    pub id: String,
    pub customer_id: Option<CustomerId>,
    /// `sms`, `email`, `wechat` or `manual` (no address known).
    pub channel: String,
    pub recipient: Option<String>,
    pub subject: String,
    pub body: String,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

type Row = (
    String,
    Option<String>,
    String,
    Option<String>,
    String,
    String,
    i64,
    Option<i64>,
);

fn may(by: &Principal) -> Result<()> {
    if by.role.is_admin() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// Messages not yet sent, oldest first.
pub async fn pending(db: &Db, by: &Principal, limit: i64) -> Result<Vec<Message>> {
    may(by)?;
    let rows: Vec<Row> = db
        .conn()
        .fetch_all(
            Query::new(
                "SELECT id, customer_id, channel, recipient, subject, body, created_at, sent_at FROM outbox \
                 WHERE sent_at IS NULL ORDER BY created_at, id LIMIT $1",
            )
            .bind(limit.clamp(1, 1000)),
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Message {
                id: r.0,
                customer_id: r.1.and_then(|c| c.parse().ok()),
                channel: r.2,
                recipient: r.3,
                subject: r.4,
                body: r.5,
                created_at: Timestamp::from_millis(r.6)?,
                sent_at: r.7.and_then(Timestamp::from_millis),
            })
        })
        .collect())
}

/// Marks a message delivered; `NotFound` when there is no such pending one.
pub async fn mark_sent(db: &Db, by: &Principal, id: &str, now: Timestamp) -> Result<()> {
    may(by)?;
    let n = db
        .conn()
        .execute(
            Query::new("UPDATE outbox SET sent_at = $2 WHERE id = $1 AND sent_at IS NULL")
                .bind(id)
                .bind(now),
        )
        .await?;
    if n == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}
