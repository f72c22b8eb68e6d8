//! The holiday calendar: official holidays and make-up working days, loaded
//! a year at a time (from the admin UI or `kehu calendar import`).

use crate::audit::{self, Actor, Entry};
use crate::db::Query;
use crate::{Db, Result};
use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use kehu_domain::business_time::{Calendar, DayKind};
use kehu_domain::time::Timestamp;
use serde_json::json;
use std::collections::BTreeSet;

/// Replaces the calendar of every year that `days` mentions with `days`.
/// Returns the years replaced.
pub async fn import(db: &Db, actor: &Actor, days: &[(NaiveDate, DayKind)]) -> Result<Vec<i32>> {
    let years: BTreeSet<i32> = days.iter().map(|(d, _)| d.year()).collect();
    let now = Timestamp::now();
    let mut tx = db.begin().await?;
    for y in &years {
        tx.execute(
            Query::new("DELETE FROM calendar_days WHERE day >= $1 AND day <= $2")
                .bind(format!("{y:04}-01-01"))
                .bind(format!("{y:04}-12-31")),
        )
        .await?;
    }
    for (d, k) in days {
        tx.execute(
            Query::new("INSERT INTO calendar_days (day, kind, updated_at) VALUES ($1, $2, $3)")
                .bind(d.format("%Y-%m-%d").to_string())
                .bind(k.code())
                .bind(now),
        )
        .await?;
    }
    let summary = json!({"years": years, "holidays": days.iter().filter(|d| d.1 == DayKind::Holiday).count(), "workdays": days.iter().filter(|d| d.1 == DayKind::Workday).count()});
    audit::record(
        &mut tx,
        actor,
        Entry {
            action: "import",
            entity: "calendar",
            entity_id: "calendar",
            customer_id: None,
            changes: audit::created(summary.as_object().unwrap()),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(years.into_iter().collect())
}

/// All loaded days, in date order.
pub async fn days(db: &Db) -> Result<Vec<(NaiveDate, DayKind)>> {
    let rows: Vec<(String, String)> = db
        .conn()
        .fetch_all(Query::new(
            "SELECT day, kind FROM calendar_days ORDER BY day",
        ))
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(d, k)| {
            Some((
                NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()?,
                DayKind::parse(&k).ok()?,
            ))
        })
        .collect())
}

/// The business calendar: standard hours in `tz` with the loaded days.
pub async fn load(db: &Db, tz: Tz) -> Result<Calendar> {
    Ok(Calendar::new(tz).with_days(days(db).await?))
}
