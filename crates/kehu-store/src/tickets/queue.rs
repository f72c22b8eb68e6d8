//! Ticket queues: mine, my team's, breaching soon, every open one, a
//! customer's; always within the principal's customer scope. Open queues
//! are ordered by what falls due first (tickets waiting on the customer
//! last), each read from its own partial index.

use super::{Row, Ticket, SELECT};
use crate::customers::push_scope;
use crate::db::Query;
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

/// A page of a queue.
pub async fn list(db: &Db, by: &Principal, f: &ListFilter, now: Timestamp) -> Result<Vec<Ticket>> {
    let mut q = Query::new(format!("{SELECT} WHERE c.deleted_at IS NULL"));
    push_scope(&mut q, by);
    let open_order = " ORDER BY t.next_due_at IS NULL, t.next_due_at, t.id";
    let order = match &f.queue {
        Queue::Mine => {
            q.push(" AND t.resolved_at IS NULL AND t.assignee_id = ")
                .push_arg(&by.user_id);
            open_order
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
            open_order
        }
        Queue::BreachingSoon => {
            q.push(" AND t.resolved_at IS NULL AND t.next_due_at <= ")
                .push_arg(now.millis() + SOON_MS);
            " ORDER BY t.next_due_at, t.id"
        }
        Queue::Open => {
            q.push(" AND t.resolved_at IS NULL");
            open_order
        }
        Queue::All => " ORDER BY t.created_at DESC, t.id DESC",
        Queue::Customer(c) => {
            q.push(" AND t.customer_id = ").push_arg(c);
            " ORDER BY t.created_at DESC, t.id DESC"
        }
    };
    if let Some(s) = f.status {
        q.push(" AND t.status = ").push_arg(s.code());
    }
    if let Some(s) = f.severity {
        q.push(" AND t.severity = ").push_arg(s.code());
    }
    if let Some(c) = &f.category {
        q.push(" AND t.category = ").push_arg(c);
    }
    q.push(order);
    q.push(" LIMIT ").push_arg(f.limit.clamp(1, 500));
    q.push(" OFFSET ").push_arg(f.offset.max(0));
    let rows: Vec<Row> = db.conn().fetch_all(q).await?;
    rows.into_iter().map(|r| r.into_ticket(now)).collect()
}
