//! Messages to customers waiting to be delivered (survey links, for now).
//! E-mail goes out by the server's own sender when SMTP is configured
//! ([`claim`], [`delivered`], [`failed`]); other channels (SMS gateway,
//! WeChat) are delivered by an integration reading [`pending`] and marking
//! each message sent, or by hand from the admin page. A message's link is a
//! path of this server, sent after the body with its public address. Admins
//! only: the messages hold private links.

use crate::db::Query;
use crate::{Db, Error, Result};
use kehu_domain::ids::CustomerId;
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use serde::Serialize;

/// A claim older than this is taken to be of a sender that stopped.
pub const CLAIM_MS: i64 = 10 * 60 * 1000;
/// A message that failed this often is left for a person to look at.
pub const MAX_ATTEMPTS: i64 = 5;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Message {
    pub id: String,
    pub customer_id: Option<CustomerId>,
    /// `sms`, `email`, `wechat` or `manual` (no address known).
    pub channel: String,
    pub recipient: Option<String>,
    pub subject: String,
    pub body: String,
    /// A path of this server to send after the body (with its address).
    pub link: Option<String>,
    pub created_at: Timestamp,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<Timestamp>,
}

impl Message {
    /// The text to send: the body, then the link made absolute with the
    /// server's public address (`https://crm.example.com`).
    pub fn text(&self, public_url: &str) -> String {
        match &self.link {
            Some(l) => format!("{} {}{l}", self.body, public_url.trim_end_matches('/')),
            None => self.body.clone(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    customer_id: Option<String>,
    channel: String,
    recipient: Option<String>,
    subject: String,
    body: String,
    link: Option<String>,
    created_at: i64,
    attempts: i64,
    last_error: Option<String>,
    sent_at: Option<i64>,
}

impl Row {
    fn message(self) -> Option<Message> {
        Some(Message {
            id: self.id,
            customer_id: self.customer_id.and_then(|c| c.parse().ok()),
            channel: self.channel,
            recipient: self.recipient,
            subject: self.subject,
            body: self.body,
            link: self.link,
            created_at: Timestamp::from_millis(self.created_at)?,
            attempts: self.attempts,
            last_error: self.last_error,
            sent_at: self.sent_at.and_then(Timestamp::from_millis),
        })
    }
}

const SELECT: &str = "SELECT id, customer_id, channel, recipient, subject, body, link, created_at, attempts, last_error, sent_at FROM outbox";

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
            Query::new(format!(
                "{SELECT} WHERE sent_at IS NULL ORDER BY created_at, id LIMIT $1"
            ))
            .bind(limit.clamp(1, 1000)),
        )
        .await?;
    Ok(rows.into_iter().filter_map(Row::message).collect())
}

/// Marks a message delivered by hand or by an integration; `NotFound` when
/// there is no such pending one.
pub async fn mark_sent(db: &Db, by: &Principal, id: &str, now: Timestamp) -> Result<()> {
    may(by)?;
    if delivered(db, id, now).await? {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

/// Takes up to `limit` pending messages of `channel` for `worker` to send.
/// A message is taken by one worker only (a claim is a conditional
/// `UPDATE`); one claimed longer than [`CLAIM_MS`] ago, by a sender that
/// stopped, may be taken again.
pub async fn claim(
    db: &Db,
    channel: &str,
    worker: &str,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<Message>> {
    let cutoff = now.millis() - CLAIM_MS;
    let rows: Vec<Row> = db
        .conn()
        .fetch_all(
            Query::new(format!(
                "{SELECT} WHERE sent_at IS NULL AND channel = $1 AND attempts < $2 AND recipient IS NOT NULL \
                 AND (claimed_at IS NULL OR claimed_at < $3) ORDER BY created_at, id LIMIT $4"
            ))
            .bind(channel)
            .bind(MAX_ATTEMPTS)
            .bind(cutoff)
            .bind(limit),
        )
        .await?;
    let mut out = vec![];
    for r in rows {
        let n = db
            .conn()
            .execute(
                Query::new(
                    "UPDATE outbox SET claimed_at = $2, claimed_by = $3 WHERE id = $1 AND sent_at IS NULL \
                     AND (claimed_at IS NULL OR claimed_at < $4)",
                )
                .bind(&r.id)
                .bind(now)
                .bind(worker)
                .bind(cutoff),
            )
            .await?;
        if n == 1 {
            out.extend(r.message());
        }
    }
    Ok(out)
}

/// Records a message as delivered; false when it already was.
pub async fn delivered(db: &Db, id: &str, now: Timestamp) -> Result<bool> {
    let n = db
        .conn()
        .execute(
            Query::new("UPDATE outbox SET sent_at = $2, claimed_at = NULL WHERE id = $1 AND sent_at IS NULL")
                .bind(id)
                .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// Records a failed delivery and releases the claim, for a later try.
pub async fn failed(db: &Db, id: &str, error: &str) -> Result<()> {
    db.conn()
        .execute(
            Query::new(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2, claimed_at = NULL, claimed_by = NULL \
                 WHERE id = $1 AND sent_at IS NULL",
            )
            .bind(id)
            .bind(error),
        )
        .await?;
    Ok(())
}
