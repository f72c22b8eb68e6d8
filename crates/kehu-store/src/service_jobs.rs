//! The work of service jobs ([`crate::jobs::Work`]): reminding before a
//! promised reply time, escalating up the reporting line when it passes
//! unkept (and further up while the ticket stays unanswered), and sending
//! the satisfaction survey after a resolution. Each checks that what it
//! was queued for still holds, so work that is no longer needed does
//! nothing.

use crate::db::Query;
use crate::jobs::{self, Work};
use crate::tickets::handling::{event, ESCALATION_STEP_MINUTES};
use crate::tickets::{load_tx, Ticket};
use crate::{Db, Result, Tx};
use kehu_domain::ids::{TicketId, UserId};
use kehu_domain::ticket::{EventKind, Status};
use kehu_domain::time::Timestamp;
use serde_json::json;

pub(crate) async fn run(
    db: &Db,
    tx: &mut Tx,
    work: &Work,
    now: Timestamp,
    zone: chrono_tz::Tz,
) -> Result<()> {
    match work {
        Work::PromiseReminder {
            ticket_id,
            promised_at,
        } => {
            let Some(t) = outstanding(tx, ticket_id, *promised_at, now).await? else {
                return Ok(());
            };
            let to = t.assignee_id.clone().or(t.escalated_to.clone());
            event(
                tx,
                &t.id,
                now,
                None,
                EventKind::Reminder,
                None,
                None,
                None,
                json!({"promised_at": t.promised_at, "to": to}),
            )
            .await?;
            if let Some(to) = to {
                crate::notifications::notify(
                    tx,
                    &to,
                    now,
                    "promise_due",
                    &t.id,
                    json!({"number": t.number, "subject": t.subject, "promised_at": t.promised_at}),
                )
                .await?;
            }
            Ok(())
        }
        Work::PromiseEscalation {
            ticket_id,
            promised_at,
        } => {
            let Some(t) = outstanding(tx, ticket_id, *promised_at, now).await? else {
                return Ok(());
            };
            tx.execute(
                Query::new(
                    "UPDATE tickets SET promised_at = NULL, promises_broken = promises_broken + 1 \
                     WHERE id = $1 AND promised_at = $2",
                )
                .bind(&t.id)
                .bind(*promised_at),
            )
            .await?;
            event(
                tx,
                &t.id,
                now,
                None,
                EventKind::PromiseBroken,
                None,
                None,
                None,
                json!({"promised_at": promised_at}),
            )
            .await?;
            escalate(db, tx, &t, now, zone, "promise_broken").await
        }
        Work::Escalation { ticket_id, level } => {
            let t = load_tx(tx, ticket_id, now).await?;
            if !t.is_open() || t.escalation_level != level - 1 || t.status == Status::Waiting {
                return Ok(());
            }
            if answered_since_escalation(tx, ticket_id).await? {
                return Ok(());
            }
            escalate(db, tx, &t, now, zone, "unanswered").await
        }
        Work::SurveySend {
            ticket_id,
            resolved_at,
        } => {
            let t = load_tx(tx, ticket_id, now).await?;
            if t.is_open() || t.resolved_at.map(Timestamp::millis) != Some(*resolved_at) {
                return Ok(());
            }
            let sent = tx
                .scalar(
                    Query::new("SELECT COUNT(*) FROM surveys WHERE ticket_id = $1").bind(ticket_id),
                )
                .await?;
            if sent > 0 {
                return Ok(());
            }
            let (id, _) = crate::surveys::create_in(
                tx,
                &t.customer_id,
                Some((&t.id, t.number)),
                t.channel,
                now,
            )
            .await?;
            event(
                tx,
                &t.id,
                now,
                None,
                EventKind::SurveySent,
                None,
                Some(t.channel),
                None,
                json!({"survey_id": id}),
            )
            .await
        }
    }
}

/// The ticket, if it is open and its promise of `promised_at` is still
/// outstanding.
async fn outstanding(
    tx: &mut Tx,
    id: &TicketId,
    promised_at: i64,
    now: Timestamp,
) -> Result<Option<Ticket>> {
    let t = match load_tx(tx, id, now).await {
        Ok(t) => t,
        Err(crate::Error::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok((t.is_open() && t.promised_at.map(Timestamp::millis) == Some(promised_at)).then_some(t))
}

/// Whether the customer was answered (a reply or handling step) after the
/// latest escalation.
async fn answered_since_escalation(tx: &mut Tx, id: &TicketId) -> Result<bool> {
    let n = tx
        .scalar(
            Query::new(
                "SELECT COUNT(*) FROM ticket_events WHERE ticket_id = $1 AND kind IN ('reply', 'step') AND at > \
                 COALESCE((SELECT MAX(at) FROM ticket_events WHERE ticket_id = $1 AND kind = 'escalated'), 0)",
            )
            .bind(id),
        )
        .await?;
    Ok(n > 0)
}

/// Moves a ticket one level up the reporting line: to the manager of
/// whoever has it now (the last one escalated to, else the assignee);
/// without one, to the owners of the business. The next level follows
/// after [`ESCALATION_STEP_MINUTES`] business minutes unless the customer
/// is answered.
async fn escalate(
    db: &Db,
    tx: &mut Tx,
    t: &Ticket,
    now: Timestamp,
    zone: chrono_tz::Tz,
    why: &str,
) -> Result<()> {
    let holder = t.escalated_to.clone().or(t.assignee_id.clone());
    let manager: Option<UserId> = match &holder {
        Some(h) => tx
            .fetch_optional::<(Option<String>,)>(
                Query::new(
                    "SELECT m.id FROM users u JOIN users m ON m.id = u.manager_id WHERE u.id = $1 AND m.active = $2",
                )
                .bind(h)
                .bind(true),
            )
            .await?
            .and_then(|(m,)| m?.parse().ok()),
        None => None,
    };
    let to = match manager {
        Some(m) => Some(m),
        None => tx
            .fetch_optional::<(String,)>(
                Query::new("SELECT id FROM users WHERE role = 'owner' AND active = $1 ORDER BY created_at, id LIMIT 1")
                    .bind(true),
            )
            .await?
            .and_then(|(id,)| id.parse().ok())
            .filter(|o| Some(o) != holder.as_ref()),
    };
    let level = t.escalation_level + 1;
    tx.execute(
        Query::new("UPDATE tickets SET escalation_level = $2, escalated_to = COALESCE($3, escalated_to) WHERE id = $1")
            .bind(&t.id)
            .bind(level)
            .bind(to.as_ref()),
    )
    .await?;
    event(
        tx,
        &t.id,
        now,
        None,
        EventKind::Escalated,
        None,
        None,
        None,
        json!({"level": level, "to": to, "why": why}),
    )
    .await?;
    if let Some(to) = &to {
        crate::notifications::notify(
            tx,
            to,
            now,
            "escalated",
            &t.id,
            json!({"number": t.number, "subject": t.subject, "level": level, "why": why}),
        )
        .await?;
        let cal = crate::sla::calendar(db, zone).await?;
        if let Some(next) = crate::tickets::clock::due(&cal, now, ESCALATION_STEP_MINUTES, &[]) {
            jobs::enqueue(
                tx,
                &Work::Escalation {
                    ticket_id: t.id.clone(),
                    level: level + 1,
                },
                next,
            )
            .await?;
        }
    }
    Ok(())
}
