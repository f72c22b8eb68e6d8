//! Service-level settings: the targets per severity and the business hours,
//! which with the holiday calendar ([`crate::calendar`]) make the business
//! clock tickets are measured by. Changes are for admins and audited; a
//! ticket keeps the targets it was opened with.

use crate::audit::{self, Actor, Entry};
use crate::db::Query;
use crate::{Db, Error, Result};
use chrono::NaiveTime;
use chrono_tz::Tz;
use kehu_domain::business_time::Calendar;
use kehu_domain::role::Principal;
use kehu_domain::ticket::{Severity, SlaTarget};
use kehu_domain::{FieldErrors, Problem};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// The targets of every severity (the defaults where none is stored).
pub async fn targets(db: &Db) -> Result<BTreeMap<Severity, SlaTarget>> {
    let rows: Vec<(String, i64, i64)> = db
        .conn()
        .fetch_all(Query::new(
            "SELECT severity, first_response_minutes, resolution_minutes FROM sla_targets",
        ))
        .await?;
    let mut out: BTreeMap<Severity, SlaTarget> = Severity::ALL
        .iter()
        .map(|s| (*s, s.default_target()))
        .collect();
    for (s, f, r) in rows {
        if let Ok(s) = Severity::parse(&s) {
            out.insert(
                s,
                SlaTarget {
                    first_response_minutes: f,
                    resolution_minutes: r,
                },
            );
        }
    }
    Ok(out)
}

pub async fn set_target(db: &Db, by: &Principal, severity: Severity, t: SlaTarget) -> Result<()> {
    if !by.role.is_admin() {
        return Err(Error::Forbidden);
    }
    let old = targets(db).await?[&severity];
    let mut tx = db.begin().await?;
    tx.execute(
        Query::new(
            "INSERT INTO sla_targets (severity, first_response_minutes, resolution_minutes) VALUES ($1, $2, $3) \
             ON CONFLICT (severity) DO UPDATE SET first_response_minutes = $2, resolution_minutes = $3",
        )
        .bind(severity.code())
        .bind(t.first_response_minutes)
        .bind(t.resolution_minutes),
    )
    .await?;
    let changes = audit::diff(
        json!({"first_response_minutes": old.first_response_minutes, "resolution_minutes": old.resolution_minutes})
            .as_object()
            .expect("object"),
        json!({"first_response_minutes": t.first_response_minutes, "resolution_minutes": t.resolution_minutes})
            .as_object()
            .expect("object"),
    );
    audit::record(
        &mut tx,
        &Actor::from(by),
        Entry {
            action: "update",
            entity: "sla_target",
            entity_id: severity.code(),
            customer_id: None,
            changes,
        },
    )
    .await?;
    tx.commit().await
}

/// The daily business hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Hours {
    #[schema(value_type = String, example = "09:00")]
    pub open: NaiveTime,
    #[schema(value_type = String, example = "18:00")]
    pub close: NaiveTime,
}

impl Default for Hours {
    fn default() -> Self {
        let c = Calendar::new(chrono_tz::UTC);
        Hours {
            open: c.open,
            close: c.close,
        }
    }
}

impl Hours {
    /// Parses `HH:MM-HH:MM`; the day must open before it closes.
    pub fn parse(raw: &str) -> Result<Hours, FieldErrors> {
        let bad = || {
            FieldErrors::single(
                "business_hours",
                Problem::Invalid {
                    zh: "营业时间格式为 09:00-18:00，且上班早于下班".into(),
                    en: "business hours look like 09:00-18:00, opening before closing".into(),
                },
            )
        };
        let (a, b) = raw.trim().split_once('-').ok_or_else(bad)?;
        let t = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| bad());
        let (open, close) = (t(a)?, t(b)?);
        if open >= close {
            return Err(bad());
        }
        Ok(Hours { open, close })
    }

    pub fn text(&self) -> String {
        format!(
            "{}-{}",
            self.open.format("%H:%M"),
            self.close.format("%H:%M")
        )
    }
}

pub async fn hours(db: &Db) -> Result<Hours> {
    let v: Option<(String,)> = db
        .conn()
        .fetch_optional(Query::new(
            "SELECT value FROM settings WHERE key = 'business_hours'",
        ))
        .await?;
    Ok(v.and_then(|(v,)| Hours::parse(&v).ok()).unwrap_or_default())
}

pub async fn set_hours(db: &Db, by: &Principal, h: Hours) -> Result<()> {
    if !by.role.is_admin() {
        return Err(Error::Forbidden);
    }
    let old = hours(db).await?;
    let mut tx = db.begin().await?;
    tx.execute(
        Query::new(
            "INSERT INTO settings (key, value) VALUES ('business_hours', $1) \
             ON CONFLICT (key) DO UPDATE SET value = $1",
        )
        .bind(h.text()),
    )
    .await?;
    audit::record(
        &mut tx,
        &Actor::from(by),
        Entry {
            action: "update",
            entity: "business_hours",
            entity_id: "business_hours",
            customer_id: None,
            changes: audit::diff(
                json!({"hours": old.text()}).as_object().expect("object"),
                json!({"hours": h.text()}).as_object().expect("object"),
            ),
        },
    )
    .await?;
    tx.commit().await
}

/// The business clock: the hours and the loaded holidays in `zone`.
pub async fn calendar(db: &Db, zone: Tz) -> Result<Calendar> {
    let h = hours(db).await?;
    let c = crate::calendar::load(db, zone).await?;
    c.with_hours(h.open, h.close)
        .map_err(|p| Error::Other(p.message(kehu_domain::Lang::En)))
}
