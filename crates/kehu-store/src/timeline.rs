//! A customer's timeline: interactions and every recorded change, newest
//! first. Later sources (orders, tickets, payments, surveys) add their own
//! variant to [`Item`].

use crate::audit::{self, AuditEntry};
use crate::interactions::{self, Interaction};
use crate::{customers, Db, Result};
use kehu_domain::ids::CustomerId;
use kehu_domain::role::{PhoneAccess, Principal};
use kehu_domain::time::Timestamp;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Item {
    Interaction(Interaction),
    Change(AuditEntry),
    /// A ticket opened on the customer (its handling is on the ticket).
    Ticket(Box<crate::tickets::Ticket>),
    /// A satisfaction survey the customer answered.
    Survey(Box<crate::surveys::Survey>),
    /// An order the customer placed (purchase history), with its lines.
    Order(Box<crate::orders::Order>),
}

impl Item {
    pub fn at(&self) -> Timestamp {
        match self {
            Item::Interaction(i) => i.occurred_at,
            Item::Change(a) => a.at,
            Item::Ticket(t) => t.created_at,
            Item::Survey(s) => s.answered_at.unwrap_or(s.created_at),
            Item::Order(o) => o.ordered_at,
        }
    }
}

/// The newest `limit` items of a customer's timeline.
pub async fn for_customer(
    db: &Db,
    by: &Principal,
    id: &CustomerId,
    limit: i64,
) -> Result<Vec<Item>> {
    customers::get(db, by, id).await?;
    let mut items: Vec<Item> = interactions::list(db, by, id, limit)
        .await?
        .into_iter()
        .map(Item::Interaction)
        .collect();
    let changes = audit::list(
        db,
        &audit::Filter {
            customer_id: Some(id.clone()),
            ..Default::default()
        },
        limit,
    )
    .await?;
    let masked = by.role.phone_access() != PhoneAccess::Full;
    let now = Timestamp::now();
    let tickets = crate::tickets::list(
        db,
        by,
        &crate::tickets::ListFilter {
            queue: crate::tickets::Queue::Customer(id.clone()),
            limit,
            ..Default::default()
        },
        now,
    )
    .await?;
    items.extend(tickets.into_iter().map(|t| Item::Ticket(Box::new(t))));
    let surveys = crate::surveys::for_customer(db, by, id, limit).await?;
    items.extend(
        surveys
            .into_iter()
            .filter(|s| s.answered_at.is_some())
            .map(|s| Item::Survey(Box::new(s))),
    );
    let orders = crate::orders::of_customer(db, id, limit).await?;
    items.extend(orders.into_iter().map(|o| Item::Order(Box::new(o))));
    // An interaction's own audit entry would say the same thing twice (so
    // would an order's, until it is deleted); a ticket's handling is shown
    // on the ticket.
    items.extend(
        changes
            .into_iter()
            .filter(|a| !["interaction", "ticket", "survey"].contains(&a.entity.as_str()))
            .filter(|a| !(a.entity == "order" && ["create", "import"].contains(&a.action.as_str())))
            .map(|mut a| {
                if masked {
                    a.mask_phones();
                }
                Item::Change(a)
            }),
    );
    items.sort_by_key(|i| std::cmp::Reverse(i.at()));
    items.truncate(limit as usize);
    Ok(items)
}
