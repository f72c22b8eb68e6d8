//! Messages to users: a ticket assigned to them, a promised reply time
//! about to pass, a ticket escalated to them. Shown in the web UI with a
//! count of unread ones.

use crate::db::Query;
use crate::{Db, Result, Tx};
use kehu_domain::ids::{new_id, TicketId, UserId};
use kehu_domain::time::Timestamp;
use serde::Serialize;
use serde_json::Value;

pub(crate) async fn notify(
    tx: &mut Tx,
    user: &UserId,
    at: Timestamp,
    kind: &str,
    ticket: &TicketId,
    data: Value,
) -> Result<()> {
    tx.execute(
        Query::new(
            "INSERT INTO notifications (id, user_id, at, kind, ticket_id, data) VALUES ($1,$2,$3,$4,$5,$6)",
        )
        .bind(new_id())
        .bind(user)
        .bind(at)
        .bind(kind)
        .bind(ticket)
        .bind(data.to_string()),
    )
    .await?;
    Ok(())
}

/// A message to a user.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: String,
    pub at: Timestamp,
    /// `assigned`, `promise_due` or `escalated`.
    pub kind: String,
    pub ticket_id: Option<TicketId>,
    #[schema(value_type = Object)]
    pub data: Value,
    pub read_at: Option<Timestamp>,
}

/// id, at, kind, ticket, data, read at.
type Row = (String, i64, String, Option<String>, String, Option<i64>);

/// A user's newest messages.
pub async fn list(db: &Db, user: &UserId, limit: i64) -> Result<Vec<Notification>> {
    let rows: Vec<Row> = db
        .conn()
        .fetch_all(
            Query::new(
                "SELECT id, at, kind, ticket_id, data, read_at FROM notifications WHERE user_id = $1 \
                 ORDER BY at DESC, id DESC LIMIT $2",
            )
            .bind(user)
            .bind(limit.clamp(1, 500)),
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, at, kind, ticket, data, read)| {
            Some(Notification {
                id,
                at: Timestamp::from_millis(at)?,
                kind,
                ticket_id: ticket.and_then(|t| t.parse().ok()),
                data: serde_json::from_str(&data).unwrap_or(Value::Null),
                read_at: read.and_then(Timestamp::from_millis),
            })
        })
        .collect())
}

pub async fn unread(db: &Db, user: &UserId) -> Result<i64> {
    db.conn()
        .scalar(
            Query::new("SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL")
                .bind(user),
        )
        .await
}

/// Marks all of a user's messages read.
pub async fn mark_read(db: &Db, user: &UserId, now: Timestamp) -> Result<u64> {
    db.conn()
        .execute(
            Query::new(
                "UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL",
            )
            .bind(user)
            .bind(now),
        )
        .await
}
