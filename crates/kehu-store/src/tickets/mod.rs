//! Tickets: complaints and service requests on a customer, worked through
//! a handling method, measured against service-level targets in business
//! time, with promised reply times that are kept or escalated.
//!
//! Access follows the customer's scope: whoever may read the customer may
//! read its tickets, whoever may write it may work them, and a ticket is
//! only assigned to someone who may read its customer.

pub(crate) mod clock;
pub mod handling;
pub mod queue;

pub use clock::Clock;
pub use queue::{list, ListFilter, Queue};

use crate::audit::{self, Actor, Entry};
use crate::auth;
use crate::customers::{self, Customer};
use crate::db::Query;
use crate::{Db, Error, Result, Tx};
use kehu_domain::business_time::Pause;
use kehu_domain::ids::{CustomerId, TeamId, TicketId, UserId};
use kehu_domain::role::Principal;
use kehu_domain::ticket::{
    Channel, Method, NewTicket, Purpose, Severity, SlaTarget, Status, TicketKind,
};
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Problem};
use serde::Serialize;
use serde_json::json;

/// A ticket as shown and returned by the API.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ticket {
    pub id: TicketId,
    /// A short number for people to quote ("工单 1024").
    pub number: i64,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub kind: TicketKind,
    pub subject: String,
    pub description: String,
    pub channel: Channel,
    pub category: Option<String>,
    pub product: Option<String>,
    pub severity: Severity,
    pub purpose: Purpose,
    pub department: Option<String>,
    pub method: Method,
    pub status: Status,
    pub assignee_id: Option<UserId>,
    pub assignee_name: Option<String>,
    pub team_id: Option<TeamId>,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The targets the ticket was opened with, in business minutes.
    pub sla: SlaTarget,
    pub first_response_due_at: Option<Timestamp>,
    pub resolution_due_at: Option<Timestamp>,
    pub first_responded_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    /// Waiting on the customer since then: the clock is stopped.
    pub paused_at: Option<Timestamp>,
    /// The first response came (or, still missing, is due) after its target.
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    /// The reply time promised to the customer (承诺回复时间), while the
    /// promise is outstanding.
    pub promised_at: Option<Timestamp>,
    pub promises_made: i64,
    pub promises_kept: i64,
    pub promises_broken: i64,
    /// How far up the reporting line the ticket went (0: not escalated).
    pub escalation_level: i64,
    pub escalated_to: Option<UserId>,
    pub escalated_to_name: Option<String>,
    pub immediate_fix: Option<String>,
    pub preventive_action: Option<String>,
}

impl Ticket {
    pub fn is_open(&self) -> bool {
        self.status.is_open()
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct Row {
    id: String,
    number: i64,
    customer_id: String,
    customer_name: String,
    kind: String,
    subject: String,
    description: String,
    channel: String,
    category: Option<String>,
    product: Option<String>,
    severity: String,
    purpose: String,
    department: Option<String>,
    method: String,
    status: String,
    assignee_id: Option<String>,
    assignee_name: Option<String>,
    team_id: Option<String>,
    created_by: Option<String>,
    created_at: i64,
    updated_at: i64,
    first_response_minutes: i64,
    resolution_minutes: i64,
    first_response_due_at: Option<i64>,
    resolution_due_at: Option<i64>,
    first_responded_at: Option<i64>,
    resolved_at: Option<i64>,
    closed_at: Option<i64>,
    paused_at: Option<i64>,
    promised_at: Option<i64>,
    promises_made: i64,
    promises_kept: i64,
    promises_broken: i64,
    escalation_level: i64,
    escalated_to: Option<String>,
    escalated_to_name: Option<String>,
    immediate_fix: Option<String>,
    preventive_action: Option<String>,
}

pub(crate) const SELECT: &str = "SELECT t.id, t.number, t.customer_id, c.name AS customer_name, t.kind, t.subject, \
     t.description, t.channel, t.category, t.product, t.severity, t.purpose, t.department, t.method, t.status, \
     t.assignee_id, a.name AS assignee_name, t.team_id, t.created_by, t.created_at, t.updated_at, \
     t.first_response_minutes, t.resolution_minutes, t.first_response_due_at, t.resolution_due_at, \
     t.first_responded_at, t.resolved_at, t.closed_at, t.paused_at, t.promised_at, t.promises_made, \
     t.promises_kept, t.promises_broken, t.escalation_level, t.escalated_to, e.name AS escalated_to_name, \
     t.immediate_fix, t.preventive_action \
     FROM tickets t JOIN customers c ON c.id = t.customer_id \
     LEFT JOIN users a ON a.id = t.assignee_id LEFT JOIN users e ON e.id = t.escalated_to";

fn ts(ms: Option<i64>) -> Option<Timestamp> {
    ms.and_then(Timestamp::from_millis)
}

fn parse_id<T: std::str::FromStr<Err = String>>(s: Option<String>) -> Option<T> {
    s.and_then(|s| s.parse().ok())
}

impl Row {
    pub(crate) fn into_ticket(self, now: Timestamp) -> Result<Ticket> {
        let bad =
            |what: &str, v: &str| Error::Other(format!("ticket {}: bad {what} {v:?}", self.id));
        let fr_due = ts(self.first_response_due_at);
        let res_due = ts(self.resolution_due_at);
        let responded = ts(self.first_responded_at);
        let resolved = ts(self.resolved_at);
        let late = |done: Option<Timestamp>, due: Option<Timestamp>| match (done, due) {
            (_, None) => false,
            (Some(d), Some(due)) => d > due,
            (None, Some(due)) => now > due,
        };
        Ok(Ticket {
            id: self.id.parse().map_err(Error::Other)?,
            number: self.number,
            customer_id: self.customer_id.parse().map_err(Error::Other)?,
            customer_name: self.customer_name,
            kind: TicketKind::parse(&self.kind).map_err(|_| bad("kind", &self.kind))?,
            subject: self.subject,
            description: self.description,
            channel: Channel::parse(&self.channel).map_err(|_| bad("channel", &self.channel))?,
            category: self.category,
            product: self.product,
            severity: Severity::parse(&self.severity)
                .map_err(|_| bad("severity", &self.severity))?,
            purpose: Purpose::parse(&self.purpose).map_err(|_| bad("purpose", &self.purpose))?,
            department: self.department,
            method: Method::parse(&self.method).map_err(|_| bad("method", &self.method))?,
            status: Status::parse(&self.status).map_err(|_| bad("status", &self.status))?,
            assignee_id: parse_id(self.assignee_id),
            assignee_name: self.assignee_name,
            team_id: parse_id(self.team_id),
            created_by: parse_id(self.created_by),
            created_at: Timestamp::from_millis(self.created_at).unwrap_or(now),
            updated_at: Timestamp::from_millis(self.updated_at).unwrap_or(now),
            sla: SlaTarget {
                first_response_minutes: self.first_response_minutes,
                resolution_minutes: self.resolution_minutes,
            },
            first_response_due_at: fr_due,
            resolution_due_at: res_due,
            first_responded_at: responded,
            resolved_at: resolved,
            closed_at: ts(self.closed_at),
            paused_at: ts(self.paused_at),
            first_response_breached: late(responded.or(resolved), fr_due),
            resolution_breached: late(resolved, res_due),
            promised_at: ts(self.promised_at),
            promises_made: self.promises_made,
            promises_kept: self.promises_kept,
            promises_broken: self.promises_broken,
            escalation_level: self.escalation_level,
            escalated_to: parse_id(self.escalated_to),
            escalated_to_name: self.escalated_to_name,
            immediate_fix: self.immediate_fix,
            preventive_action: self.preventive_action,
        })
    }
}

/// A ticket by id, without a scope check (callers check).
pub(crate) async fn load(db: &Db, id: &TicketId, now: Timestamp) -> Result<Ticket> {
    let row: Option<Row> = db
        .conn()
        .fetch_optional(Query::new(format!("{SELECT} WHERE t.id = $1")).bind(id))
        .await?;
    row.ok_or(Error::NotFound)?.into_ticket(now)
}

/// The same, read inside a transaction (which may have changed it).
pub(crate) async fn load_tx(tx: &mut Tx, id: &TicketId, now: Timestamp) -> Result<Ticket> {
    let row: Option<Row> = tx
        .fetch_optional(Query::new(format!("{SELECT} WHERE t.id = $1")).bind(id))
        .await?;
    row.ok_or(Error::NotFound)?.into_ticket(now)
}

/// A ticket the principal may read (its customer is in their scope).
pub async fn get(db: &Db, by: &Principal, id: &TicketId, now: Timestamp) -> Result<Ticket> {
    Ok(readable(db, by, id, now).await?.0)
}

async fn readable(
    db: &Db,
    by: &Principal,
    id: &TicketId,
    now: Timestamp,
) -> Result<(Ticket, Customer)> {
    let t = load(db, id, now).await?;
    let c = customers::get(db, by, &t.customer_id)
        .await
        .map_err(|e| match e {
            Error::Merged(_) => Error::NotFound,
            e => e,
        })?;
    Ok((t, c))
}

/// A ticket the principal may work on.
pub(crate) async fn writable(
    db: &Db,
    by: &Principal,
    id: &TicketId,
    now: Timestamp,
) -> Result<(Ticket, Customer)> {
    let (t, c) = readable(db, by, id, now).await?;
    if !by.can_write(&c.placement()) {
        return Err(Error::Forbidden);
    }
    Ok((t, c))
}

/// Someone a ticket on `customer` may be given to: an active user who may
/// read the customer. Returns their team.
pub(crate) async fn check_assignee(
    db: &Db,
    assignee: &UserId,
    customer: &Customer,
) -> Result<Option<TeamId>, Problem> {
    let u = auth::user(db, assignee)
        .await
        .map_err(|_| Problem::NotFound)?;
    if !u.active || !u.role.can_write_customers() || !u.principal().can_read(&customer.placement())
    {
        return Err(Problem::Invalid {
            zh: "此人无权处理该客户的工单".into(),
            en: "this user may not work on this customer's tickets".into(),
        });
    }
    Ok(u.team_id)
}

/// The method a category is handled with (LSCPA when it has none).
pub(crate) async fn category_method(db: &Db, category: Option<&str>) -> Result<Method, Problem> {
    let Some(cat) = category else {
        return Ok(Method::Lscpa);
    };
    let row: Option<(String,)> = db
        .conn()
        .fetch_optional(
            Query::new("SELECT method FROM ticket_categories WHERE name = $1 AND active = $2")
                .bind(cat)
                .bind(true),
        )
        .await
        .map_err(|_| Problem::NotFound)?;
    match row {
        Some((m,)) => Method::parse(&m),
        None => Err(Problem::Invalid {
            zh: format!("没有名为“{cat}”的工单类别"),
            en: format!("no ticket category named {cat:?}"),
        }),
    }
}

/// Where a new ticket comes from.
pub enum Origin<'a> {
    /// A signed-in user (UI or API).
    User(&'a Principal),
    /// The public support form.
    Public,
}

impl Origin<'_> {
    fn actor(&self) -> Actor {
        match self {
            Origin::User(p) => Actor::from(*p),
            Origin::Public => Actor::system("support-form"),
        }
    }
    fn user_id(&self) -> Option<&UserId> {
        match self {
            Origin::User(p) => Some(&p.user_id),
            Origin::Public => None,
        }
    }
}

/// Opens a ticket on a customer the principal may write. Without an
/// assignee it goes to the customer's owner (when they may take it).
pub async fn create(
    db: &Db,
    by: &Principal,
    customer: &CustomerId,
    t: &NewTicket,
    assignee: Option<&UserId>,
    clock: &Clock,
) -> Result<Ticket> {
    let c = customers::get(db, by, customer).await?;
    if !by.can_write(&c.placement()) {
        return Err(Error::Forbidden);
    }
    open(db, Origin::User(by), &c, t, assignee, None, clock).await
}

/// Writes a new ticket on `c` (whose access the caller checked);
/// `public_token_hash` marks one filed on the public form.
pub(crate) async fn open(
    db: &Db,
    origin: Origin<'_>,
    c: &Customer,
    t: &NewTicket,
    assignee: Option<&UserId>,
    public_token_hash: Option<&str>,
    clock: &Clock,
) -> Result<Ticket> {
    let mut e = FieldErrors::new();
    let method = e.take("category", category_method(db, t.category.as_deref()).await);
    let default_owner = c.fields.owner_id.as_ref().filter(|_| assignee.is_none());
    let (assignee, team) = match assignee.or(default_owner) {
        Some(a) => match check_assignee(db, a, c).await {
            Ok(team) => (Some(a.clone()), team.or(c.team_id.clone())),
            // The owner may have left: the ticket waits unassigned.
            Err(_) if assignee.is_none() => (None, c.team_id.clone()),
            Err(p) => {
                e.add("assignee_id", p);
                (None, None)
            }
        },
        None => (None, c.team_id.clone()),
    };
    e.into_result()?;
    let method = method.expect("checked");
    let target = crate::sla::targets(db).await?[&t.severity];
    let cal = crate::sla::calendar(db, clock.zone).await?;
    let now = clock.now;
    let fr_due = clock::due(&cal, now, target.first_response_minutes, &[]);
    let res_due = clock::due(&cal, now, target.resolution_minutes, &[]);
    let next_due = [fr_due, res_due].into_iter().flatten().min();
    let id = TicketId::new();
    let mut tx = db.begin().await?;
    let number = tx
        .scalar(Query::new(
            "UPDATE counters SET value = value + 1 WHERE name = 'tickets' RETURNING value",
        ))
        .await?;
    tx.execute(
        Query::new(
            "INSERT INTO tickets (id, number, customer_id, kind, subject, description, channel, category, product, \
             severity, purpose, department, method, status, assignee_id, team_id, created_by, created_at, updated_at, \
             first_response_minutes, resolution_minutes, first_response_due_at, resolution_due_at, next_due_at, \
             public_token_hash) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$18,$19,$20,$21,$22,$23,$24)",
        )
        .bind(&id)
        .bind(number)
        .bind(&c.id)
        .bind(t.kind.code())
        .bind(&t.subject)
        .bind(&t.description)
        .bind(t.channel.code())
        .bind(t.category.as_deref())
        .bind(t.product.as_deref())
        .bind(t.severity.code())
        .bind(t.purpose.code())
        .bind(t.department.as_deref())
        .bind(method.code())
        .bind(Status::New.code())
        .bind(assignee.as_ref())
        .bind(team.as_ref())
        .bind(origin.user_id())
        .bind(now)
        .bind(target.first_response_minutes)
        .bind(target.resolution_minutes)
        .bind(fr_due)
        .bind(res_due)
        .bind(next_due)
        .bind(public_token_hash),
    )
    .await?;
    handling::event(
        &mut tx,
        &id,
        now,
        origin.user_id(),
        kehu_domain::ticket::EventKind::Created,
        None,
        Some(t.channel),
        None,
        json!({}),
    )
    .await?;
    if let Some(a) = assignee.as_ref().filter(|a| Some(*a) != origin.user_id()) {
        crate::notifications::notify(
            &mut tx,
            a,
            now,
            "assigned",
            &id,
            json!({"number": number, "subject": t.subject}),
        )
        .await?;
    }
    audit::record(
        &mut tx,
        &origin.actor(),
        Entry {
            action: "create",
            entity: "ticket",
            entity_id: id.as_str(),
            customer_id: Some(&c.id),
            changes: audit::created(
                json!({
                    "number": number, "kind": t.kind.code(), "subject": t.subject, "channel": t.channel.code(),
                    "severity": t.severity.code(), "purpose": t.purpose.code(), "category": t.category,
                    "product": t.product, "department": t.department, "assignee_id": assignee,
                })
                .as_object()
                .expect("object"),
            ),
        },
    )
    .await?;
    let ticket = load_tx(&mut tx, &id, now).await?;
    tx.commit().await?;
    Ok(ticket)
}

/// The pauses of a ticket, oldest first.
pub(crate) async fn pauses(tx: &mut Tx, id: &TicketId) -> Result<Vec<Pause>> {
    let rows: Vec<(i64, Option<i64>)> = tx
        .fetch_all(
            Query::new("SELECT started_at, ended_at FROM ticket_pauses WHERE ticket_id = $1 ORDER BY started_at")
                .bind(id),
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(s, e)| {
            Some(Pause {
                start: Timestamp::from_millis(s)?.utc(),
                end: e.and_then(Timestamp::from_millis).map(Timestamp::utc),
            })
        })
        .collect())
}

/// Categories that tickets may have, in order, with their methods.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Category {
    pub name: String,
    pub method: Method,
    pub active: bool,
}

pub async fn categories(db: &Db) -> Result<Vec<Category>> {
    let rows: Vec<(String, String, bool)> = db
        .conn()
        .fetch_all(Query::new(
            "SELECT name, method, active FROM ticket_categories ORDER BY position, name",
        ))
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(name, m, active)| {
            Some(Category {
                name,
                method: Method::parse(&m).ok()?,
                active,
            })
        })
        .collect())
}

/// Adds a category or changes the method or state of one (managers and
/// admins). New tickets of the category use the method; open ones keep
/// theirs.
pub async fn save_category(
    db: &Db,
    by: &Principal,
    name: &str,
    method: Method,
    active: bool,
) -> Result<()> {
    if !by.role.can_reassign() {
        return Err(Error::Forbidden);
    }
    let name =
        kehu_domain::text::required(name, 100).map_err(|p| FieldErrors::single("name", p))?;
    let mut tx = db.begin().await?;
    let old: Option<(String, bool)> = tx
        .fetch_optional(
            Query::new("SELECT method, active FROM ticket_categories WHERE name = $1").bind(&name),
        )
        .await?;
    tx.execute(
        Query::new(
            "INSERT INTO ticket_categories (name, method, position, active) \
             VALUES ($1, $2, (SELECT COALESCE(MAX(position), 0) + 1 FROM ticket_categories), $3) \
             ON CONFLICT (name) DO UPDATE SET method = $2, active = $3",
        )
        .bind(&name)
        .bind(method.code())
        .bind(active),
    )
    .await?;
    let old = old
        .map(|(m, a)| json!({"method": m, "active": a}))
        .unwrap_or(json!({}));
    audit::record(
        &mut tx,
        &Actor::from(by),
        Entry {
            action: "update",
            entity: "ticket_category",
            entity_id: &name,
            customer_id: None,
            changes: audit::diff(
                old.as_object().expect("object"),
                json!({"method": method.code(), "active": active})
                    .as_object()
                    .expect("object"),
            ),
        },
    )
    .await?;
    tx.commit().await
}
