//! The business clock of a ticket: when its first response and resolution
//! are due, given its targets, the calendar and the time it spent waiting
//! on the customer.

use super::Ticket;
use crate::db::Query;
use crate::{Db, Result, Tx};
use chrono_tz::Tz;
use kehu_domain::business_time::{Calendar, Pause};
use kehu_domain::time::Timestamp;

/// The time "now" and the business time zone. Passed in rather than read,
/// so tests and benchmarks drive the clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now: Timestamp,
    pub zone: Tz,
}

impl Clock {
    pub fn new(now: Timestamp, zone: Tz) -> Clock {
        Clock { now, zone }
    }

    /// The wall clock.
    pub fn wall(zone: Tz) -> Clock {
        Clock::new(Timestamp::now(), zone)
    }
}

/// When `minutes` business minutes after `start` will have passed.
pub(crate) fn due(
    cal: &Calendar,
    start: Timestamp,
    minutes: i64,
    pauses: &[Pause],
) -> Option<Timestamp> {
    cal.due(start.utc(), minutes * 60, pauses)
        .map(Timestamp::from)
}

/// Stores a ticket's due times anew from its pauses (after a pause ends,
/// or the targets change). While it is paused only `next_due_at` is
/// cleared: nothing is due while the clock stands still.
pub(crate) async fn refresh(tx: &mut Tx, db: &Db, t: &Ticket, zone: Tz) -> Result<()> {
    let pauses = super::pauses(tx, &t.id).await?;
    let paused = pauses.iter().any(|p| p.end.is_none());
    let (fr, res) = if paused {
        (t.first_response_due_at, t.resolution_due_at)
    } else {
        let cal = crate::sla::calendar(db, zone).await?;
        (
            due(&cal, t.created_at, t.sla.first_response_minutes, &pauses),
            due(&cal, t.created_at, t.sla.resolution_minutes, &pauses),
        )
    };
    let open = t.resolved_at.is_none();
    let next = if paused || !open {
        None
    } else {
        [fr.filter(|_| t.first_responded_at.is_none()), res]
            .into_iter()
            .flatten()
            .min()
    };
    tx.execute(
        Query::new(
            "UPDATE tickets SET first_response_due_at = $2, resolution_due_at = $3, next_due_at = $4 WHERE id = $1",
        )
        .bind(&t.id)
        .bind(fr)
        .bind(res)
        .bind(next),
    )
    .await?;
    Ok(())
}
