//! Working a ticket: the steps of its method, replies and notes, waiting on
//! the customer, promised reply times, solutions and the customer's choice,
//! compensation, resolution (immediate fix and preventive action), closing
//! and reopening. Every action writes an event on the ticket and an audit
//! entry in one transaction.

use super::{clock, load_tx, writable, Clock, Ticket};
use crate::audit::{self, Actor, Entry};
use crate::db::Query;
use crate::jobs::{self, Work};
use crate::{Db, Error, Result, Tx};
use kehu_domain::ids::{new_id, TicketId, UserId};
use kehu_domain::money::Fen;
use kehu_domain::role::Principal;
use kehu_domain::text;
use kehu_domain::ticket::{
    Channel, CompensationKind, EventKind, Resolution, Status, Step, NOTE_MAX,
};
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Problem};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A reminder goes this long before a promised reply time.
pub const REMINDER_LEAD_MS: i64 = 30 * 60 * 1000;
/// An escalated ticket still unanswered goes one level further up after
/// this many business minutes.
pub const ESCALATION_STEP_MINUTES: i64 = 120;
/// A follow-up visit is due this many days after the resolution.
pub const FOLLOW_UP_DAYS: i64 = 3;
/// The survey goes this long after the resolution (a resolution undone
/// before then sends none).
pub const SURVEY_DELAY_MS: i64 = 60 * 60 * 1000;

/// An entry of a ticket's history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Event {
    pub id: String,
    pub at: Timestamp,
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    pub kind: EventKind,
    pub step: Option<Step>,
    pub channel: Option<Channel>,
    pub body: Option<String>,
    #[schema(value_type = Object)]
    pub data: Value,
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn event(
    tx: &mut Tx,
    ticket: &TicketId,
    at: Timestamp,
    user: Option<&UserId>,
    kind: EventKind,
    step: Option<Step>,
    channel: Option<Channel>,
    body: Option<&str>,
    data: Value,
) -> Result<()> {
    tx.execute(
        Query::new(
            "INSERT INTO ticket_events (id, ticket_id, at, user_id, kind, step, channel, body, data) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        )
        .bind(new_id())
        .bind(ticket)
        .bind(at)
        .bind(user)
        .bind(kind.code())
        .bind(step.map(Step::code))
        .bind(channel.map(Channel::code))
        .bind(body)
        .bind(data.to_string()),
    )
    .await?;
    tx.execute(
        Query::new("UPDATE tickets SET updated_at = $2 WHERE id = $1")
            .bind(ticket)
            .bind(at),
    )
    .await?;
    Ok(())
}

/// The history of a ticket, oldest first.
pub async fn events(db: &Db, by: &Principal, id: &TicketId) -> Result<Vec<Event>> {
    super::readable(db, by, id, Timestamp::now()).await?;
    list_events(db, id).await
}

pub(crate) async fn list_events(db: &Db, id: &TicketId) -> Result<Vec<Event>> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(String, i64, Option<String>, Option<String>, String, Option<String>, Option<String>, Option<String>, String)> = db
        .conn()
        .fetch_all(
            Query::new(
                "SELECT e.id, e.at, e.user_id, u.name, e.kind, e.step, e.channel, e.body, e.data \
                 FROM ticket_events e LEFT JOIN users u ON u.id = e.user_id WHERE e.ticket_id = $1 ORDER BY e.at, e.id",
            )
            .bind(id),
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, at, uid, uname, kind, step, channel, body, data)| {
            Some(Event {
                id,
                at: Timestamp::from_millis(at)?,
                user_id: uid.and_then(|u| u.parse().ok()),
                user_name: uname,
                kind: EventKind::parse(&kind).ok()?,
                step: step.and_then(|s| Step::parse(&s).ok()),
                channel: channel.and_then(|c| Channel::parse(&c).ok()),
                body,
                data: serde_json::from_str(&data).unwrap_or(Value::Null),
            })
        })
        .collect())
}

async fn audit_ticket(
    tx: &mut Tx,
    by: &Actor,
    t: &Ticket,
    action: &str,
    changes: Value,
) -> Result<()> {
    let changes = match changes {
        Value::Object(m) => audit::created(&m),
        _ => vec![],
    };
    audit::record(
        tx,
        by,
        Entry {
            action,
            entity: "ticket",
            entity_id: t.id.as_str(),
            customer_id: Some(&t.customer_id),
            changes,
        },
    )
    .await
}

/// What an action on a ticket records: its event, and its audit entry.
struct Recorded<'a> {
    kind: EventKind,
    body: Option<&'a str>,
    data: Value,
    action: &'a str,
    audit: Value,
}

/// Ends an action by one user: its event and audit entry in the action's
/// transaction, which then commits; answers with the ticket as it is now.
async fn finish(
    mut tx: Tx,
    by: &Principal,
    t: &Ticket,
    now: Timestamp,
    r: Recorded<'_>,
) -> Result<Ticket> {
    event(
        &mut tx,
        &t.id,
        now,
        Some(&by.user_id),
        r.kind,
        None,
        None,
        r.body,
        r.data,
    )
    .await?;
    audit_ticket(&mut tx, &Actor::from(by), t, r.action, r.audit).await?;
    let fresh = load_tx(&mut tx, &t.id, now).await?;
    tx.commit().await?;
    Ok(fresh)
}

fn closed_ticket() -> Error {
    Error::Invalid(FieldErrors::single(
        "status",
        Problem::Invalid {
            zh: "工单已解决或已关闭".into(),
            en: "the ticket is resolved or closed".into(),
        },
    ))
}

/// What an agent records on a ticket, as sent.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct EntryDraft {
    /// `reply` (to the customer), `note` (internal) or `step` (of the
    /// ticket's method).
    pub kind: String,
    /// For `step`: the step's code (`listen`, `share`...).
    #[serde(default)]
    pub step: String,
    /// How the reply reached the customer (default: the ticket's channel).
    #[serde(default)]
    pub channel: String,
    pub body: String,
}

/// Records a reply, note or handling step. A reply or step is contact with
/// the customer: the first one is the first response, and one made by the
/// promised time keeps the promise.
pub async fn record(
    db: &Db,
    by: &Principal,
    id: &TicketId,
    d: &EntryDraft,
    clock: &Clock,
) -> Result<Ticket> {
    let (t, _) = writable(db, by, id, clock.now).await?;
    let mut e = FieldErrors::new();
    let kind = match d.kind.trim() {
        "reply" => Some(EventKind::Reply),
        "note" => Some(EventKind::Note),
        "step" => Some(EventKind::Step),
        _ => {
            e.add(
                "kind",
                Problem::InvalidChoice {
                    allowed: vec!["reply".into(), "note".into(), "step".into()],
                },
            );
            None
        }
    };
    let step = if kind == Some(EventKind::Step) {
        e.take(
            "step",
            Step::parse(&d.step).and_then(|s| {
                if t.method.has(s) {
                    Ok(s)
                } else {
                    Err(Problem::InvalidChoice {
                        allowed: t
                            .method
                            .steps()
                            .iter()
                            .map(|s| s.code().to_string())
                            .collect(),
                    })
                }
            }),
        )
    } else {
        None
    };
    let channel = if d.channel.trim().is_empty() {
        Some(t.channel)
    } else {
        e.take("channel", Channel::parse(&d.channel))
    };
    let body = e.take(
        "body",
        text::multiline(&d.body, NOTE_MAX).and_then(|b| b.ok_or(Problem::Required)),
    );
    e.into_result()?;
    let (kind, body) = (kind.expect("checked"), body.expect("checked"));
    if !t.is_open() && kind != EventKind::Note {
        return Err(closed_ticket());
    }
    let now = clock.now;
    let mut tx = db.begin().await?;
    let contact = kind != EventKind::Note;
    event(
        &mut tx,
        id,
        now,
        Some(&by.user_id),
        kind,
        step,
        channel.filter(|_| contact),
        Some(&body),
        json!({}),
    )
    .await?;
    if contact {
        contacted(&mut tx, db, &by.user_id, &t, clock).await?;
    }
    audit_ticket(
        &mut tx,
        &Actor::from(by),
        &t,
        kind.code(),
        json!({"step": step.map(Step::code), "body": body}),
    )
    .await?;
    let t = load_tx(&mut tx, id, now).await?;
    tx.commit().await?;
    Ok(t)
}

/// The customer was contacted: the first response if none came yet (a
/// new ticket is then in progress), and an outstanding promise settled —
/// kept when in time.
async fn contacted(tx: &mut Tx, db: &Db, user: &UserId, t: &Ticket, clock: &Clock) -> Result<()> {
    let now = clock.now;
    if t.first_responded_at.is_none() {
        tx.execute(
            Query::new("UPDATE tickets SET first_responded_at = $2 WHERE id = $1 AND first_responded_at IS NULL")
                .bind(&t.id)
                .bind(now),
        )
        .await?;
        if t.status == Status::New {
            tx.execute(
                Query::new("UPDATE tickets SET status = $2 WHERE id = $1")
                    .bind(&t.id)
                    .bind(Status::Open.code()),
            )
            .await?;
        }
        let t = load_tx(tx, &t.id, now).await?;
        clock::refresh(tx, db, &t, clock.zone).await?;
    }
    settle_promise(tx, Some(user), t, now).await
}

/// Settles an outstanding promise at `now`: kept if in time, else broken
/// (when the escalation job has not already counted it).
async fn settle_promise(
    tx: &mut Tx,
    user: Option<&UserId>,
    t: &Ticket,
    now: Timestamp,
) -> Result<()> {
    let Some(promised) = t.promised_at else {
        return Ok(());
    };
    let kept = now <= promised;
    let column = if kept {
        "promises_kept"
    } else {
        "promises_broken"
    };
    tx.execute(
        Query::new(format!(
            "UPDATE tickets SET promised_at = NULL, {column} = {column} + 1 WHERE id = $1 AND promised_at = $2"
        ))
        .bind(&t.id)
        .bind(promised),
    )
    .await?;
    let kind = if kept {
        EventKind::PromiseKept
    } else {
        EventKind::PromiseBroken
    };
    event(
        tx,
        &t.id,
        now,
        user,
        kind,
        None,
        None,
        None,
        json!({"promised_at": promised}),
    )
    .await
}

/// Promises the customer a reply by `at` (承诺回复时间), replacing an
/// outstanding promise. The assignee is reminded before it passes; when it
/// passes unkept the ticket escalates.
pub async fn promise(
    db: &Db,
    by: &Principal,
    id: &TicketId,
    at: Timestamp,
    note: &str,
    clock: &Clock,
) -> Result<Ticket> {
    let (t, _) = writable(db, by, id, clock.now).await?;
    let mut e = FieldErrors::new();
    if at <= clock.now {
        e.add(
            "promised_at",
            Problem::Invalid {
                zh: "承诺回复时间必须晚于现在".into(),
                en: "the promised time must be in the future".into(),
            },
        );
    }
    let note = e.take("note", text::multiline(note, NOTE_MAX));
    e.into_result()?;
    if !t.is_open() {
        return Err(closed_ticket());
    }
    let now = clock.now;
    let mut tx = db.begin().await?;
    tx.execute(
        Query::new(
            "UPDATE tickets SET promised_at = $2, promises_made = promises_made + 1 WHERE id = $1",
        )
        .bind(id)
        .bind(at),
    )
    .await?;
    let remind_at =
        Timestamp::from_millis((at.millis() - REMINDER_LEAD_MS).max(now.millis())).unwrap_or(now);
    let (ticket_id, promised_at) = (id.clone(), at.millis());
    jobs::enqueue(
        &mut tx,
        &Work::PromiseReminder {
            ticket_id: ticket_id.clone(),
            promised_at,
        },
        remind_at,
    )
    .await?;
    jobs::enqueue(
        &mut tx,
        &Work::PromiseEscalation {
            ticket_id,
            promised_at,
        },
        at,
    )
    .await?;
    finish(
        tx,
        by,
        &t,
        now,
        Recorded {
            kind: EventKind::Promise,
            body: note.flatten().as_deref(),
            data: json!({"promised_at": at, "replaces": t.promised_at}),
            action: "promise",
            audit: json!({"promised_at": at}),
        },
    )
    .await
}

/// Moves a ticket to waiting on the customer (the clock stops), back to in
/// progress (it runs again), from resolved back to in progress (reopen), or
/// from resolved to closed. Resolving is [`resolve`].
pub async fn set_status(
    db: &Db,
    by: &Principal,
    id: &TicketId,
    to: Status,
    note: &str,
    clock: &Clock,
) -> Result<Ticket> {
    let (t, _) = writable(db, by, id, clock.now).await?;
    let note = text::multiline(note, NOTE_MAX).map_err(|p| FieldErrors::single("note", p))?;
    if to == Status::Resolved || !t.status.can_move_to(to) {
        return Err(Error::Invalid(FieldErrors::single(
            "status",
            Problem::Invalid {
                zh: format!(
                    "工单不能从“{}”改为“{}”",
                    t.status.label(kehu_domain::Lang::ZhCn),
                    to.label(kehu_domain::Lang::ZhCn)
                ),
                en: format!(
                    "a ticket cannot go from {} to {}",
                    t.status.code(),
                    to.code()
                ),
            },
        )));
    }
    let mut tx = db.begin().await?;
    change_status(
        &mut tx,
        db,
        Some(&by.user_id),
        &t,
        to,
        note.as_deref(),
        clock,
    )
    .await?;
    audit_ticket(
        &mut tx,
        &Actor::from(by),
        &t,
        "status",
        json!({"status": to.code(), "from": t.status.code()}),
    )
    .await?;
    let t = load_tx(&mut tx, id, clock.now).await?;
    tx.commit().await?;
    Ok(t)
}

/// Applies a status change allowed by [`Status::can_move_to`] with its
/// effect on the clock.
pub(crate) async fn change_status(
    tx: &mut Tx,
    db: &Db,
    user: Option<&UserId>,
    t: &Ticket,
    to: Status,
    note: Option<&str>,
    clock: &Clock,
) -> Result<()> {
    let now = clock.now;
    let kind = match (t.status, to) {
        (_, Status::Waiting) => {
            tx.execute(
                Query::new("INSERT INTO ticket_pauses (ticket_id, started_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(&t.id)
                    .bind(now),
            )
            .await?;
            tx.execute(
                Query::new("UPDATE tickets SET paused_at = $2, next_due_at = NULL WHERE id = $1")
                    .bind(&t.id)
                    .bind(now),
            )
            .await?;
            EventKind::Waiting
        }
        (Status::Waiting, Status::Open) => {
            tx.execute(
                Query::new("UPDATE ticket_pauses SET ended_at = $2 WHERE ticket_id = $1 AND ended_at IS NULL")
                    .bind(&t.id)
                    .bind(now),
            )
            .await?;
            tx.execute(Query::new("UPDATE tickets SET paused_at = NULL WHERE id = $1").bind(&t.id))
                .await?;
            EventKind::Resumed
        }
        (Status::Resolved, Status::Open) => {
            tx.execute(
                Query::new("UPDATE tickets SET resolved_at = NULL, closed_at = NULL WHERE id = $1")
                    .bind(&t.id),
            )
            .await?;
            EventKind::Reopened
        }
        (_, Status::Closed) => {
            tx.execute(
                Query::new("UPDATE tickets SET closed_at = $2 WHERE id = $1")
                    .bind(&t.id)
                    .bind(now),
            )
            .await?;
            EventKind::Closed
        }
        _ => EventKind::Changed,
    };
    tx.execute(
        Query::new("UPDATE tickets SET status = $2 WHERE id = $1")
            .bind(&t.id)
            .bind(to.code()),
    )
    .await?;
    event(
        tx,
        &t.id,
        now,
        user,
        kind,
        None,
        None,
        note,
        json!({"from": t.status.code(), "to": to.code()}),
    )
    .await?;
    let t = load_tx(tx, &t.id, now).await?;
    clock::refresh(tx, db, &t, clock.zone).await
}

/// Gives the ticket to someone who may read its customer (or to nobody).
pub async fn assign(
    db: &Db,
    by: &Principal,
    id: &TicketId,
    assignee: Option<&UserId>,
    clock: &Clock,
) -> Result<Ticket> {
    let (t, c) = writable(db, by, id, clock.now).await?;
    if assignee != Some(&by.user_id)
        && !by.role.can_reassign()
        && t.assignee_id.as_ref() != Some(&by.user_id)
    {
        return Err(Error::Forbidden);
    }
    let team = match assignee {
        Some(a) => super::check_assignee(db, a, &c)
            .await
            .map_err(|p| FieldErrors::single("assignee_id", p))?
            .or(c.team_id.clone()),
        None => c.team_id.clone(),
    };
    let now = clock.now;
    let mut tx = db.begin().await?;
    tx.execute(
        Query::new("UPDATE tickets SET assignee_id = $2, team_id = $3 WHERE id = $1")
            .bind(id)
            .bind(assignee)
            .bind(team.as_ref()),
    )
    .await?;
    if let Some(a) = assignee.filter(|a| *a != &by.user_id) {
        crate::notifications::notify(
            &mut tx,
            a,
            now,
            "assigned",
            id,
            json!({"number": t.number, "subject": t.subject}),
        )
        .await?;
    }
    finish(
        tx,
        by,
        &t,
        now,
        Recorded {
            kind: EventKind::Assigned,
            body: None,
            data: json!({"from": t.assignee_id, "to": assignee}),
            action: "assign",
            audit: json!({"assignee_id": assignee}),
        },
    )
    .await
}

/// A solution offered to the customer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Solution {
    pub id: String,
    pub body: String,
    pub offered_by_name: Option<String>,
    pub offered_at: Timestamp,
    pub chosen: bool,
}

pub async fn solutions(db: &Db, by: &Principal, id: &TicketId) -> Result<Vec<Solution>> {
    super::readable(db, by, id, Timestamp::now()).await?;
    let rows: Vec<(String, String, Option<String>, i64, bool)> = db
        .conn()
        .fetch_all(
            Query::new(
                "SELECT s.id, s.body, u.name, s.offered_at, s.chosen FROM ticket_solutions s \
                 LEFT JOIN users u ON u.id = s.offered_by WHERE s.ticket_id = $1 ORDER BY s.offered_at, s.id",
            )
            .bind(id),
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, body, name, at, chosen)| {
            Some(Solution {
                id,
                body,
                offered_by_name: name,
                offered_at: Timestamp::from_millis(at)?,
                chosen,
            })
        })
        .collect())
}

/// Offers the customer a solution (one of several).
pub async fn offer_solution(
    db: &Db,
    by: &Principal,
    id: &TicketId,
    body: &str,
    clock: &Clock,
) -> Result<Ticket> {
    let (t, _) = writable(db, by, id, clock.now).await?;
    let body = text::multiline(body, NOTE_MAX)
        .and_then(|b| b.ok_or(Problem::Required))
        .map_err(|p| FieldErrors::single("body", p))?;
    if !t.is_open() {
        return Err(closed_ticket());
    }
    let mut tx = db.begin().await?;
    let sid = new_id();
    tx.execute(
        Query::new("INSERT INTO ticket_solutions (id, ticket_id, body, offered_by, offered_at) VALUES ($1,$2,$3,$4,$5)")
            .bind(&sid)
            .bind(id)
            .bind(&body)
            .bind(&by.user_id)
            .bind(clock.now),
    )
    .await?;
    finish(
        tx,
        by,
        &t,
        clock.now,
        Recorded {
            kind: EventKind::Solution,
            body: Some(&body),
            data: json!({"solution_id": sid}),
            action: "solution",
            audit: json!({"body": body}),
        },
    )
    .await
}

/// Records which offered solution the customer chose (one at a time).
pub async fn choose_solution(
    db: &Db,
    by: &Principal,
    id: &TicketId,
    solution: &str,
    clock: &Clock,
) -> Result<Ticket> {
    let (t, _) = writable(db, by, id, clock.now).await?;
    let mut tx = db.begin().await?;
    let body: Option<(String,)> = tx
        .fetch_optional(
            Query::new("SELECT body FROM ticket_solutions WHERE id = $1 AND ticket_id = $2")
                .bind(solution)
                .bind(id),
        )
        .await?;
    let Some((body,)) = body else {
        return Err(Error::Invalid(FieldErrors::single(
            "solution_id",
            Problem::NotFound,
        )));
    };
    tx.execute(
        Query::new("UPDATE ticket_solutions SET chosen = (id = $2) WHERE ticket_id = $1")
            .bind(id)
            .bind(solution),
    )
    .await?;
    finish(
        tx,
        by,
        &t,
        clock.now,
        Recorded {
            kind: EventKind::Choice,
            body: Some(&body),
            data: json!({"solution_id": solution}),
            action: "choose_solution",
            audit: json!({"solution": body}),
        },
    )
    .await
}

/// Compensation given on a ticket.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Compensation {
    pub id: String,
    pub kind: CompensationKind,
    pub amount_fen: i64,
    pub note: Option<String>,
    pub user_name: Option<String>,
    pub created_at: Timestamp,
}

/// id, kind, amount, note, user name, created at.
type CompensationRow = (String, String, i64, Option<String>, Option<String>, i64);

pub async fn compensations(db: &Db, by: &Principal, id: &TicketId) -> Result<Vec<Compensation>> {
    super::readable(db, by, id, Timestamp::now()).await?;
    let rows: Vec<CompensationRow> = db
        .conn()
        .fetch_all(
            Query::new(
                "SELECT p.id, p.kind, p.amount_fen, p.note, u.name, p.created_at FROM compensations p \
                 LEFT JOIN users u ON u.id = p.user_id WHERE p.ticket_id = $1 ORDER BY p.created_at, p.id",
            )
            .bind(id),
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, kind, amount_fen, note, user_name, at)| {
            Some(Compensation {
                id,
                kind: CompensationKind::parse(&kind).ok()?,
                amount_fen,
                note,
                user_name,
                created_at: Timestamp::from_millis(at)?,
            })
        })
        .collect())
}

/// Compensation as sent: a kind, an amount in yuan (may be 0 for a
/// non-monetary gesture) and a note.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CompensationDraft {
    pub kind: String,
    /// Yuan, e.g. "200" or "199.50"; or give `amount_fen`.
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub amount_fen: Option<i64>,
    #[serde(default)]
    pub note: String,
}

pub async fn compensate(
    db: &Db,
    by: &Principal,
    id: &TicketId,
    d: &CompensationDraft,
    clock: &Clock,
) -> Result<Ticket> {
    let (t, _) = writable(db, by, id, clock.now).await?;
    let mut e = FieldErrors::new();
    let kind = e.take("kind", CompensationKind::parse(&d.kind));
    let amount = match (d.amount_fen, d.amount.trim()) {
        (Some(f), "") => e.take("amount_fen", Fen::from_fen(f).and_then(non_negative)),
        (None, "") => Some(Fen::ZERO),
        (None, a) => e.take("amount", Fen::parse_non_negative(a)),
        (Some(_), _) => {
            e.add(
                "amount",
                Problem::Invalid {
                    zh: "金额只能填一种（元或分）".into(),
                    en: "give the amount once, in yuan or in fen".into(),
                },
            );
            None
        }
    };
    let note = e.take("note", text::multiline(&d.note, NOTE_MAX));
    e.into_result()?;
    let (kind, amount, note) = (
        kind.expect("checked"),
        amount.expect("checked"),
        note.expect("checked"),
    );
    let mut tx = db.begin().await?;
    tx.execute(
        Query::new(
            "INSERT INTO compensations (id, ticket_id, customer_id, kind, amount_fen, note, user_id, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        )
        .bind(new_id())
        .bind(id)
        .bind(&t.customer_id)
        .bind(kind.code())
        .bind(amount.0)
        .bind(note.as_deref())
        .bind(&by.user_id)
        .bind(clock.now),
    )
    .await?;
    finish(
        tx,
        by,
        &t,
        clock.now,
        Recorded {
            kind: EventKind::Compensation,
            body: note.as_deref(),
            data: json!({"kind": kind.code(), "amount_fen": amount.0}),
            action: "compensate",
            audit: json!({"kind": kind.code(), "amount_fen": amount.0}),
        },
    )
    .await
}

fn non_negative(f: Fen) -> Result<Fen, Problem> {
    if f.0 < 0 {
        Err(Problem::InvalidAmount)
    } else {
        Ok(f)
    }
}

/// Resolves a ticket with its immediate fix and preventive action. A
/// follow-up visit is put on the assignee's list and the satisfaction
/// survey is queued.
pub async fn resolve(
    db: &Db,
    by: &Principal,
    id: &TicketId,
    r: &Resolution,
    clock: &Clock,
) -> Result<Ticket> {
    let (t, c) = writable(db, by, id, clock.now).await?;
    if !t.is_open() {
        return Err(closed_ticket());
    }
    let now = clock.now;
    let mut tx = db.begin().await?;
    if t.status == Status::Waiting {
        tx.execute(
            Query::new(
                "UPDATE ticket_pauses SET ended_at = $2 WHERE ticket_id = $1 AND ended_at IS NULL",
            )
            .bind(id)
            .bind(now),
        )
        .await?;
    }
    tx.execute(
        Query::new(
            "UPDATE tickets SET status = $2, resolved_at = $3, paused_at = NULL, next_due_at = NULL, \
             immediate_fix = $4, preventive_action = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(Status::Resolved.code())
        .bind(now)
        .bind(&r.immediate_fix)
        .bind(r.preventive_action.as_deref()),
    )
    .await?;
    // Resolving answers the customer: a promise outstanding is settled.
    settle_promise(&mut tx, Some(&by.user_id), &t, now).await?;
    event(
        &mut tx,
        id,
        now,
        Some(&by.user_id),
        EventKind::Resolved,
        None,
        None,
        Some(&r.immediate_fix),
        json!({"preventive_action": r.preventive_action}),
    )
    .await?;
    let follow_up_to = t
        .assignee_id
        .clone()
        .or(c.fields.owner_id.clone())
        .unwrap_or(by.user_id.clone());
    crate::tasks::add_follow_up(
        &mut tx,
        &t,
        &follow_up_to,
        now.minus_days(-FOLLOW_UP_DAYS),
        now,
    )
    .await?;
    jobs::enqueue(
        &mut tx,
        &Work::SurveySend {
            ticket_id: id.clone(),
            resolved_at: now.millis(),
        },
        Timestamp::from_millis(now.millis() + SURVEY_DELAY_MS).unwrap_or(now),
    )
    .await?;
    audit_ticket(
        &mut tx,
        &Actor::from(by),
        &t,
        "resolve",
        json!({"immediate_fix": r.immediate_fix, "preventive_action": r.preventive_action}),
    )
    .await?;
    let t = load_tx(&mut tx, id, now).await?;
    tx.commit().await?;
    Ok(t)
}

/// Changes to a ticket's description fields, as sent; absent means keep.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    pub subject: Option<String>,
    pub category: Option<String>,
    pub product: Option<String>,
    pub department: Option<String>,
    pub purpose: Option<String>,
    /// A new severity takes that severity's targets as they are now and
    /// moves the due times.
    pub severity: Option<String>,
}

fn keep(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim)
}

/// Re-describes a ticket (subject, category, product, department, purpose,
/// severity). The method stays the one the ticket was opened with.
pub async fn update(
    db: &Db,
    by: &Principal,
    id: &TicketId,
    p: &TicketPatch,
    clock: &Clock,
) -> Result<Ticket> {
    let (t, _) = writable(db, by, id, clock.now).await?;
    let mut e = FieldErrors::new();
    let subject = match keep(&p.subject) {
        Some(s) => e.take(
            "subject",
            text::required(s, kehu_domain::ticket::SUBJECT_MAX),
        ),
        None => Some(t.subject.clone()),
    };
    let category = match keep(&p.category) {
        Some("") => Some(None),
        Some(c) => match super::category_method(db, Some(c)).await {
            Ok(_) => Some(Some(c.to_string())),
            Err(pr) => {
                e.add("category", pr);
                None
            }
        },
        None => Some(t.category.clone()),
    };
    let product = match keep(&p.product) {
        Some(s) => e.take("product", text::optional(s, 200)),
        None => Some(t.product.clone()),
    };
    let department = match keep(&p.department) {
        Some(s) => e.take("department", text::optional(s, 100)),
        None => Some(t.department.clone()),
    };
    let purpose = match keep(&p.purpose) {
        Some(s) => e.take("purpose", kehu_domain::ticket::Purpose::parse(s)),
        None => Some(t.purpose),
    };
    let severity = match keep(&p.severity) {
        Some(s) => e.take("severity", kehu_domain::ticket::Severity::parse(s)),
        None => Some(t.severity),
    };
    e.into_result()?;
    let (subject, category, product, department, purpose, severity) = (
        subject.expect("checked"),
        category.expect("checked"),
        product.expect("checked"),
        department.expect("checked"),
        purpose.expect("checked"),
        severity.expect("checked"),
    );
    let target = if severity != t.severity {
        crate::sla::targets(db).await?[&severity]
    } else {
        t.sla
    };
    let now = clock.now;
    let mut tx = db.begin().await?;
    tx.execute(
        Query::new(
            "UPDATE tickets SET subject = $2, category = $3, product = $4, department = $5, purpose = $6, \
             severity = $7, first_response_minutes = $8, resolution_minutes = $9 WHERE id = $1",
        )
        .bind(id)
        .bind(&subject)
        .bind(category.as_deref())
        .bind(product.as_deref())
        .bind(department.as_deref())
        .bind(purpose.code())
        .bind(severity.code())
        .bind(target.first_response_minutes)
        .bind(target.resolution_minutes),
    )
    .await?;
    let old = json!({"subject": t.subject, "category": t.category, "product": t.product, "department": t.department,
        "purpose": t.purpose.code(), "severity": t.severity.code()});
    let new = json!({"subject": subject, "category": category, "product": product, "department": department,
        "purpose": purpose.code(), "severity": severity.code()});
    let changes = audit::diff(
        old.as_object().expect("object"),
        new.as_object().expect("object"),
    );
    if changes.is_empty() {
        return Ok(t);
    }
    event(
        &mut tx,
        id,
        now,
        Some(&by.user_id),
        EventKind::Changed,
        None,
        None,
        None,
        json!({"changes": changes}),
    )
    .await?;
    audit::record(
        &mut tx,
        &Actor::from(by),
        Entry {
            action: "update",
            entity: "ticket",
            entity_id: id.as_str(),
            customer_id: Some(&t.customer_id),
            changes,
        },
    )
    .await?;
    let fresh = load_tx(&mut tx, id, now).await?;
    if severity != t.severity {
        clock::refresh(&mut tx, db, &fresh, clock.zone).await?;
    }
    let fresh = load_tx(&mut tx, id, now).await?;
    tx.commit().await?;
    Ok(fresh)
}
