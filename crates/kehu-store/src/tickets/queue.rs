//! Ticket queues: mine, my team's, breaching soon, every open one, a
//! customer's; always within the principal's customer scope. Open queues
//! are ordered by what falls due first (tickets waiting on the customer
//! last), each read from its own partial index.

use super::{Row, Ticket, SELECT};
use crate::customers::push_scope;
use crate::db::{Backend, Query};
use crate::{Db, Result};
use kehu_domain::ids::CustomerId;
use kehu_domain::role::Principal;
use kehu_domain::ticket::{Severity, Status};
use kehu_domain::time::Timestamp;

/// "Breaching soon" looks this far ahead (and includes what is overdue).
pub const SOON_MS: i64 = 2 * 60 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queue {
    /// Open tickets assigned to the principal.
    Mine,
    /// Open tickets of the principal's team.
    Team,
    /// Open tickets with a target passing within [`SOON_MS`] or passed.
    BreachingSoon,
    /// Every open ticket in scope.
    Open,
    /// Every ticket in scope, newest first.
    All,
    /// A customer's tickets, newest first.
    Customer(CustomerId),
}

impl Queue {
    pub fn parse(s: &str) -> Option<Queue> {
        Some(match s {
            "mine" => Queue::Mine,
            "team" => Queue::Team,
            "breaching" => Queue::BreachingSoon,
            "open" | "" => Queue::Open,
            "all" => Queue::All,
            _ => return None,
        })
    }

    pub fn code(&self) -> &'static str {
        match self {
            Queue::Mine => "mine",
            Queue::Team => "team",
            Queue::BreachingSoon => "breaching",
            Queue::Open => "open",
            Queue::All => "all",
            Queue::Customer(_) => "customer",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ListFilter {
    pub queue: Queue,
    pub status: Option<Status>,
    pub severity: Option<Severity>,
    pub category: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

impl Default for ListFilter {
    fn default() -> Self {
        ListFilter {
            queue: Queue::Open,
            status: None,
            severity: None,
            category: None,
            limit: 50,
            offset: 0,
        }
    }
}

/// The select of a queue read in its index's order: tickets first, each
/// ticket's customer looked up for the scope, until the page is full. Left
/// to themselves the planners start from the customers of the scope (an
/// owner's or a team's) and sort all their tickets, tens of milliseconds
/// at a million tickets: SQLite keeps the order of a `CROSS JOIN`, and
/// PostgreSQL does not flatten a `LATERAL` subquery with `OFFSET 0`.
fn ordered(db: &Db) -> String {
    let sql = match db.backend() {
        Backend::Sqlite => SELECT.replacen(" JOIN customers c ", " CROSS JOIN customers c ", 1),
        Backend::Postgres => SELECT.replacen(
            " JOIN customers c ON c.id = t.customer_id ",
            " CROSS JOIN LATERAL (SELECT * FROM customers c0 WHERE c0.id = t.customer_id OFFSET 0) c ",
            1,
        ),
    };
    debug_assert_ne!(sql, SELECT, "the join of the ticket select changed");
    sql
}

/// A page of a queue.
pub async fn list(db: &Db, by: &Principal, f: &ListFilter, now: Timestamp) -> Result<Vec<Ticket>> {
    let limit = f.limit.clamp(1, 500);
    let offset = f.offset.max(0);
    // The conditions of the queue, its filters and the scope, after WHERE.
    let conditions = |q: &mut Query| {
        q.push(" c.deleted_at IS NULL");
        push_scope(q, by);
        match &f.queue {
            Queue::Mine => {
                q.push(" AND t.resolved_at IS NULL AND t.assignee_id = ")
                    .push_arg(&by.user_id);
            }
            Queue::Team => {
                match &by.team_id {
                    Some(team) => q
                        .push(" AND t.resolved_at IS NULL AND t.team_id = ")
                        .push_arg(team),
                    // Without a team, "my team's" is just mine.
                    None => q
                        .push(" AND t.resolved_at IS NULL AND t.assignee_id = ")
                        .push_arg(&by.user_id),
                };
            }
            Queue::BreachingSoon => {
                q.push(" AND t.resolved_at IS NULL AND t.next_due_at <= ")
                    .push_arg(now.millis() + SOON_MS);
            }
            Queue::Open => {
                q.push(" AND t.resolved_at IS NULL");
            }
            Queue::All => {}
            Queue::Customer(c) => {
                q.push(" AND t.customer_id = ").push_arg(c);
            }
        }
        if let Some(s) = f.status {
            q.push(" AND t.status = ").push_arg(s.code());
        }
        if let Some(s) = f.severity {
            q.push(" AND t.severity = ").push_arg(s.code());
        }
        if let Some(c) = &f.category {
            q.push(" AND t.category = ").push_arg(c);
        }
    };
    let mut q = Query::new("");
    match f.queue {
        Queue::Mine | Queue::Team | Queue::Open => {
            // What falls due first, then the paused (nothing due): each
            // part read in its index's order and cut, then the two joined.
            let reach = limit + offset;
            let select = ordered(db);
            let part = |n: u8| {
                select.replacen(
                    " FROM tickets t ",
                    &format!(", t.next_due_at, {n} AS part FROM tickets t "),
                    1,
                )
            };
            q.push(&format!("SELECT * FROM ({} WHERE", part(0)));
            conditions(&mut q);
            q.push(" AND t.next_due_at IS NOT NULL ORDER BY t.next_due_at, t.id LIMIT ")
                .push_arg(reach);
            q.push(&format!(") a UNION ALL SELECT * FROM ({} WHERE", part(1)));
            conditions(&mut q);
            q.push(" AND t.next_due_at IS NULL ORDER BY t.next_due_at, t.id LIMIT ")
                .push_arg(reach);
            q.push(") b ORDER BY part, next_due_at, id");
        }
        Queue::BreachingSoon => {
            q.push(&format!("{} WHERE", ordered(db)));
            conditions(&mut q);
            q.push(" ORDER BY t.next_due_at, t.id");
        }
        Queue::All | Queue::Customer(_) => {
            q.push(&format!("{SELECT} WHERE"));
            conditions(&mut q);
            q.push(" ORDER BY t.created_at DESC, t.id DESC");
        }
    }
    q.push(" LIMIT ").push_arg(limit);
    q.push(" OFFSET ").push_arg(offset);
    let rows: Vec<Row> = db.conn().fetch_all(q).await?;
    rows.into_iter().map(|r| r.into_ticket(now)).collect()
}
