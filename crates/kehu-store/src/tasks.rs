//! Tasks: things to do for a customer by a time, such as the follow-up
//! visit (回访) after a complaint is resolved.

use crate::db::Query;
use crate::tickets::Ticket;
use crate::{Db, Error, Result, Tx};
use kehu_domain::ids::{CustomerId, TaskId, TicketId, UserId};
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use serde::Serialize;

/// A task on someone's list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Task {
    pub id: TaskId,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub ticket_id: Option<TicketId>,
    /// `follow_up_visit`.
    pub kind: String,
    pub title: String,
    pub due_at: Timestamp,
    pub assignee_id: Option<UserId>,
    pub done_at: Option<Timestamp>,
}

pub(crate) async fn add_follow_up(
    tx: &mut Tx,
    t: &Ticket,
    to: &UserId,
    due: Timestamp,
    now: Timestamp,
) -> Result<()> {
    tx.execute(
        Query::new(
            "INSERT INTO tasks (id, customer_id, ticket_id, kind, title, due_at, assignee_id, created_at) \
             VALUES ($1,$2,$3,'follow_up_visit',$4,$5,$6,$7)",
        )
        .bind(&TaskId::new())
        .bind(&t.customer_id)
        .bind(&t.id)
        .bind(format!("回访：工单 {} {}", t.number, t.subject))
        .bind(due)
        .bind(to)
        .bind(now),
    )
    .await?;
    Ok(())
}

type TaskRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    i64,
    Option<String>,
    Option<i64>,
);

const SELECT: &str = "SELECT k.id, k.customer_id, c.name, k.ticket_id, k.kind, k.title, k.due_at, k.assignee_id, k.done_at \
     FROM tasks k JOIN customers c ON c.id = k.customer_id";

fn task(r: TaskRow) -> Option<Task> {
    Some(Task {
        id: r.0.parse().ok()?,
        customer_id: r.1.parse().ok()?,
        customer_name: r.2,
        ticket_id: r.3.and_then(|t| t.parse().ok()),
        kind: r.4,
        title: r.5,
        due_at: Timestamp::from_millis(r.6)?,
        assignee_id: r.7.and_then(|u| u.parse().ok()),
        done_at: r.8.and_then(Timestamp::from_millis),
    })
}

/// The open tasks of a user, soonest first.
pub async fn mine(db: &Db, by: &Principal, limit: i64) -> Result<Vec<Task>> {
    let rows: Vec<TaskRow> = db
        .conn()
        .fetch_all(
            Query::new(format!(
                "{SELECT} WHERE k.assignee_id = $1 AND k.done_at IS NULL AND c.deleted_at IS NULL ORDER BY k.due_at, k.id LIMIT $2"
            ))
            .bind(&by.user_id)
            .bind(limit.clamp(1, 500)),
        )
        .await?;
    Ok(rows.into_iter().filter_map(task).collect())
}

/// The tasks of a ticket.
pub async fn of_ticket(db: &Db, ticket: &TicketId) -> Result<Vec<Task>> {
    let rows: Vec<TaskRow> = db
        .conn()
        .fetch_all(
            Query::new(format!(
                "{SELECT} WHERE k.ticket_id = $1 ORDER BY k.due_at, k.id"
            ))
            .bind(ticket),
        )
        .await?;
    Ok(rows.into_iter().filter_map(task).collect())
}

/// Marks a task done: its assignee, or anyone who may write the customer.
pub async fn complete(db: &Db, by: &Principal, id: &TaskId, now: Timestamp) -> Result<()> {
    let row: Option<TaskRow> = db
        .conn()
        .fetch_optional(Query::new(format!("{SELECT} WHERE k.id = $1")).bind(id))
        .await?;
    let t = row.and_then(task).ok_or(Error::NotFound)?;
    let c = crate::customers::get(db, by, &t.customer_id).await?;
    if t.assignee_id.as_ref() != Some(&by.user_id) && !by.can_write(&c.placement()) {
        return Err(Error::Forbidden);
    }
    db.conn()
        .execute(
            Query::new("UPDATE tasks SET done_at = $2 WHERE id = $1 AND done_at IS NULL")
                .bind(id)
                .bind(now),
        )
        .await?;
    Ok(())
}
