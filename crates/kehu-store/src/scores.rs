//! Every customer's grade, tier, lifecycle class, RFM, profitability and
//! lifetime value, recomputed for the whole base at once (nightly and on
//! demand): one read of the customers, one of the orders (one row per
//! customer from the covering index), one each of interactions, referrals,
//! compensations and tickets; the models fitted on the same purchases;
//! the rules of `kehu_domain::value` applied to all; the results written
//! in chunks, each chunk one transaction.

mod read;
mod write;

use crate::analytics::{self, ModelFit};
use crate::audit::{self, Actor};
use crate::db::Query;
use crate::{Db, Error, Result};
use chrono::NaiveDate;
use kehu_domain::customer::Grade;
use kehu_domain::ids::CustomerId;
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use kehu_domain::value::{score_all, Facts, Lifecycle, LifecycleRule, Part, Tier, ValueSettings};
use kehu_models::TimeUnit;
use serde::{Deserialize, Serialize};
use std::time::Instant;

pub use read::Customer;

/// The settings key of the admin's grading settings (JSON).
const SETTINGS_KEY: &str = "value_settings";
/// The settings key of the last recompute's report (JSON).
const LAST_RUN_KEY: &str = "scores_last_run";
/// The settings key that marks a recompute under way (its start, ms).
const RUNNING_KEY: &str = "scores_running";
/// A claim older than this is taken to belong to a server that stopped.
const STALE_CLAIM_MS: i64 = 30 * 60 * 1000;

/// The grading settings in force (the defaults until an admin saves some).
pub async fn settings(db: &Db) -> Result<ValueSettings> {
    let raw: Option<(String,)> = db
        .conn()
        .fetch_optional(Query::new("SELECT value FROM settings WHERE key = $1").bind(SETTINGS_KEY))
        .await?;
    Ok(raw
        .and_then(|(v,)| serde_json::from_str(&v).ok())
        .unwrap_or_default())
}

/// Saves new grading settings, audited with what changed. They apply from
/// the next recompute.
pub async fn save_settings(db: &Db, actor: &Actor, new: &ValueSettings) -> Result<()> {
    let old = settings(db).await?;
    let as_map = |s: &ValueSettings| match serde_json::to_value(s) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let changes = audit::diff(&as_map(&old), &as_map(new));
    if changes.is_empty() {
        return Ok(());
    }
    let json = serde_json::to_string(new).map_err(|e| Error::Other(e.to_string()))?;
    let mut tx = db.begin().await?;
    tx.execute(
        Query::new(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(SETTINGS_KEY)
        .bind(json),
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            action: "value_settings.update",
            entity: "settings",
            entity_id: SETTINGS_KEY,
            customer_id: None,
            changes,
        },
    )
    .await?;
    tx.commit().await
}

/// What one recompute did and how long each part took.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Run {
    /// The observation day: orders and contacts up to its end count.
    pub as_of: Option<NaiveDate>,
    pub customers: u64,
    pub orders: u64,
    pub interactions_customers: u64,
    /// Customers with a purchase (the models' customers).
    pub buyers: u64,
    pub key_customers: u64,
    /// Customers whose grade in force changed (overrides excepted).
    pub grades_changed: u64,
    /// Share of the total profit made by the top 20% of customers.
    pub top20_profit_share: Option<f64>,
    /// The model fits, or why there are none.
    #[schema(value_type = Vec<Object>)]
    pub fits: Vec<ModelFit>,
    pub fit_error: Option<String>,
    /// Reading customers, orders, interactions, referrals, tickets and
    /// compensation; of which the orders' read and aggregation, and the
    /// interactions' (the two run at once).
    pub seconds_read: f64,
    pub seconds_orders: f64,
    pub seconds_interactions: f64,
    pub seconds_fit: f64,
    pub seconds_score: f64,
    pub seconds_write: f64,
    pub seconds: f64,
    pub finished_at: Option<Timestamp>,
}

/// Takes the recompute for this server unless another one is under way
/// (on any server sharing the database).
pub async fn claim(db: &Db, now: Timestamp) -> Result<bool> {
    db.conn()
        .execute(
            Query::new(
                "INSERT INTO settings (key, value) VALUES ($1, '0') ON CONFLICT (key) DO NOTHING",
            )
            .bind(RUNNING_KEY),
        )
        .await?;
    let stale = now.millis() - STALE_CLAIM_MS;
    let taken = db
        .conn()
        .execute(
            Query::new(
                "UPDATE settings SET value = $1 WHERE key = $2 AND CAST(value AS BIGINT) < $3",
            )
            .bind(now.millis().to_string())
            .bind(RUNNING_KEY)
            .bind(stale),
        )
        .await?;
    Ok(taken == 1)
}

/// Gives the claim back.
pub async fn release(db: &Db) -> Result<()> {
    db.conn()
        .execute(Query::new("UPDATE settings SET value = '0' WHERE key = $1").bind(RUNNING_KEY))
        .await?;
    Ok(())
}

/// Whether a recompute is under way, and since when.
pub async fn running(db: &Db, now: Timestamp) -> Result<Option<Timestamp>> {
    let raw: Option<(String,)> = db
        .conn()
        .fetch_optional(Query::new("SELECT value FROM settings WHERE key = $1").bind(RUNNING_KEY))
        .await?;
    Ok(raw
        .and_then(|(v,)| v.parse::<i64>().ok())
        .filter(|&ms| ms > now.millis() - STALE_CLAIM_MS)
        .and_then(Timestamp::from_millis))
}

/// The report of the last finished recompute.
pub async fn last_run(db: &Db) -> Result<Option<Run>> {
    let raw: Option<(String,)> = db
        .conn()
        .fetch_optional(Query::new("SELECT value FROM settings WHERE key = $1").bind(LAST_RUN_KEY))
        .await?;
    Ok(raw.and_then(|(v,)| serde_json::from_str(&v).ok()))
}

/// Recomputes unless a recompute is under way somewhere: `None` then.
pub async fn recompute_claimed(
    db: &Db,
    actor: &Actor,
    as_of: NaiveDate,
    unit: TimeUnit,
    zone: chrono_tz::Tz,
) -> Result<Option<Run>> {
    if !claim(db, Timestamp::now()).await? {
        return Ok(None);
    }
    let run = recompute(db, actor, as_of, unit, zone).await;
    release(db).await?;
    run.map(Some)
}

/// Recomputes every live customer's scores as of the end of `as_of` in
/// `zone`, fitting the models in `unit` on the same purchases.
pub async fn recompute(
    db: &Db,
    actor: &Actor,
    as_of: NaiveDate,
    unit: TimeUnit,
    zone: chrono_tz::Tz,
) -> Result<Run> {
    let started = Instant::now();
    let config = settings(db).await?;
    let base = read::base(db, as_of, zone, &config).await?;
    let seconds_read = started.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut base = base;
    let purchases = std::mem::take(&mut base.purchases);
    let (fits, fit_error, values) =
        analytics::fit_base(db, purchases, as_of, unit, config.horizon_weeks)
            .await
            .map_or_else(
                |e| (Vec::new(), Some(e.to_string()), Vec::new()),
                |(fits, values)| (fits, None, values),
            );
    let seconds_fit = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let facts = std::mem::take(&mut base.facts);
    let customers = std::mem::take(&mut base.customers);
    let money = std::mem::take(&mut base.money);
    let scored = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            let scored = score_all(&facts, &config);
            (scored, facts)
        })
        .await
        .map_err(|e| Error::Other(format!("scoring stopped: {e}")))?
    };
    let (scored, facts) = scored;
    let profits: Vec<i64> = money.iter().map(|m| m.profit_fen()).collect();
    let pareto = kehu_domain::value::pareto(&profits);
    let seconds_score = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let out = write::Results {
        as_of,
        customers: &customers,
        facts: &facts,
        scored: &scored,
        money: &money,
        values: &values,
        months: &base.months,
    };
    let written = write::save(db, &out).await?;
    let seconds_write = t.elapsed().as_secs_f64();

    let run = Run {
        as_of: Some(as_of),
        customers: customers.len() as u64,
        orders: base.orders,
        interactions_customers: base.contacted,
        buyers: facts.iter().filter(|f| f.transactions > 0).count() as u64,
        key_customers: scored.iter().filter(|s| s.tier == Tier::Key).count() as u64,
        grades_changed: written.grades_changed,
        top20_profit_share: pareto.top20_share,
        fits,
        fit_error,
        seconds_read,
        seconds_orders: base.seconds_orders,
        seconds_interactions: base.seconds_interactions,
        seconds_fit,
        seconds_score,
        seconds_write,
        seconds: started.elapsed().as_secs_f64(),
        finished_at: Some(Timestamp::now()),
    };
    let mut tx = db.begin().await?;
    tx.execute(
        Query::new(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(LAST_RUN_KEY)
        .bind(serde_json::to_string(&run).map_err(|e| Error::Other(e.to_string()))?),
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            action: "scores.recompute",
            entity: "settings",
            entity_id: LAST_RUN_KEY,
            customer_id: None,
            changes: vec![audit::Change {
                field: "run".into(),
                old: serde_json::Value::Null,
                new: serde_json::json!({
                    "as_of": as_of.to_string(),
                    "customers": run.customers,
                    "grades_changed": run.grades_changed,
                    "key_customers": run.key_customers,
                    "seconds": run.seconds,
                }),
            }],
        },
    )
    .await?;
    tx.commit().await?;
    Ok(run)
}

/// Revenue and what it cost to serve a customer in the window, in fen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Money {
    /// List value of the orders in the window (paid plus discounts).
    pub revenue_fen: i64,
    /// Discounts given on those orders.
    pub discount_fen: i64,
    /// Compensation paid on tickets opened in the window.
    pub compensation_fen: i64,
    /// Tickets opened in the window.
    pub tickets: u32,
    /// Service effort: tickets times the cost per ticket.
    pub effort_fen: i64,
}

impl Money {
    pub fn cost_fen(&self) -> i64 {
        self.discount_fen
            .saturating_add(self.compensation_fen)
            .saturating_add(self.effort_fen)
    }
    pub fn profit_fen(&self) -> i64 {
        self.revenue_fen.saturating_sub(self.cost_fen())
    }
}

/// A customer's value under the fitted models.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ModelValue {
    pub p_alive: f64,
    pub expected_purchases: f64,
    pub clv_fen: Option<i64>,
}

/// Everything the last recompute says about one customer, and the grade
/// in force with the override that set it, if any.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustomerScore {
    pub as_of: NaiveDate,
    pub computed_at: Timestamp,
    pub score: f64,
    /// The grade the data gives.
    #[schema(value_type = String)]
    pub computed_grade: Grade,
    /// The grade in force: the override when there is one.
    #[schema(value_type = Option<String>)]
    pub grade: Option<Grade>,
    pub override_reason: Option<String>,
    #[schema(value_type = String)]
    pub tier: Tier,
    #[schema(value_type = String)]
    pub lifecycle: Lifecycle,
    #[schema(value_type = Object)]
    pub rule: LifecycleRule,
    /// "545": recency, frequency, monetary quintiles (5 best).
    pub rfm: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub parts: Vec<Part>,
    pub money: Money,
    pub profit_fen: i64,
    pub model: Option<ModelValue>,
    #[schema(value_type = Object)]
    pub facts: FactsView,
}

/// The facts behind a score, as stored with it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FactsView {
    pub spend_fen: i64,
    pub purchases: u32,
    pub referrals: u32,
    pub age_days: u32,
    pub power_fen: i64,
    pub recent_spend_fen: i64,
    pub prior_spend_fen: i64,
    pub days_since_purchase: Option<u32>,
    pub days_since_contact: Option<u32>,
    pub transactions: u32,
    pub monetary_fen: i64,
}

impl From<&Facts> for FactsView {
    fn from(f: &Facts) -> Self {
        FactsView {
            spend_fen: f.spend_fen,
            purchases: f.purchases,
            referrals: f.referrals,
            age_days: f.age_days,
            power_fen: f.power_fen,
            recent_spend_fen: f.recent_spend_fen,
            prior_spend_fen: f.prior_spend_fen,
            days_since_purchase: f.days_since_purchase,
            days_since_contact: f.days_since_contact,
            transactions: f.transactions,
            monetary_fen: f.monetary_fen,
        }
    }
}

/// What the `detail` column holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Detail {
    parts: Vec<Part>,
    rule: LifecycleRule,
    facts: FactsView,
    money: Money,
}

/// One customer's scores, read with the principal's scope (out of scope
/// reads as not found); `None` before the first recompute.
pub async fn for_customer(
    db: &Db,
    by: &Principal,
    id: &CustomerId,
) -> Result<Option<CustomerScore>> {
    crate::customers::get(db, by, id).await?;
    type Row = (
        f64,
        String,
        String,
        String,
        Option<String>,
        i64,
        Option<f64>,
        Option<f64>,
        Option<i64>,
        String,
        String,
        i64,
        Option<String>,
        Option<String>,
    );
    let row: Option<Row> = db
        .conn()
        .fetch_optional(
            Query::new(
                "SELECT s.score, s.grade, s.tier, s.lifecycle, s.rfm, s.profit_fen, s.p_alive, \
                 s.expected_purchases, s.clv_fen, s.detail, s.as_of, s.computed_at, c.grade, \
                 c.grade_reason \
                 FROM customer_scores s JOIN customers c ON c.id = s.customer_id \
                 WHERE s.customer_id = $1",
            )
            .bind(id),
        )
        .await?;
    let Some((
        score,
        grade,
        tier,
        lifecycle,
        rfm,
        profit_fen,
        p_alive,
        expected,
        clv_fen,
        detail,
        as_of,
        at,
        in_force,
        reason,
    )) = row
    else {
        return Ok(None);
    };
    let bad = |what: &str| Error::Other(format!("the stored scores of {id}: {what}"));
    let detail: Detail = serde_json::from_str(&detail).map_err(|e| bad(&e.to_string()))?;
    Ok(Some(CustomerScore {
        as_of: as_of.parse().map_err(|_| bad("as_of"))?,
        computed_at: Timestamp::from_millis(at).ok_or_else(|| bad("computed_at"))?,
        score,
        computed_grade: Grade::parse(&grade).map_err(|_| bad("grade"))?,
        grade: in_force.as_deref().and_then(|g| Grade::parse(g).ok()),
        override_reason: reason,
        tier: Tier::parse(&tier).map_err(|_| bad("tier"))?,
        lifecycle: Lifecycle::parse(&lifecycle).map_err(|_| bad("lifecycle"))?,
        rule: detail.rule,
        rfm,
        parts: detail.parts,
        money: detail.money,
        profit_fen,
        model: p_alive.map(|p| ModelValue {
            p_alive: p,
            expected_purchases: expected.unwrap_or(0.0),
            clv_fen,
        }),
        facts: detail.facts,
    }))
}

/// Sets a customer's grade by hand with the reason, or with `None` goes
/// back to the computed grade; audited with the reason either way.
pub async fn override_grade(
    db: &Db,
    by: &Principal,
    id: &CustomerId,
    grade: Option<Grade>,
    reason: &str,
) -> Result<()> {
    let current = crate::customers::get(db, by, id).await?;
    if !by.can_write(&current.placement()) {
        return Err(Error::Forbidden);
    }
    let reason = reason.trim();
    let computed: Option<(String,)> = db
        .conn()
        .fetch_optional(
            Query::new("SELECT grade FROM customer_scores WHERE customer_id = $1").bind(id),
        )
        .await?;
    let new_grade = match grade {
        Some(g) => Some(g.code().to_string()),
        None => computed.map(|c| c.0),
    };
    let old_grade = current.fields.grade.map(|g| g.code().to_string());
    let mut tx = db.begin().await?;
    tx.execute(
        Query::new(
            "UPDATE customers SET grade = $1, grade_override = $2, grade_reason = $3 WHERE id = $4",
        )
        .bind(new_grade.clone())
        .bind(grade.map(|g| g.code()))
        .bind(grade.map(|_| reason))
        .bind(id),
    )
    .await?;
    audit::record(
        &mut tx,
        &Actor::from(by),
        audit::Entry {
            action: if grade.is_some() {
                "customer.grade_override"
            } else {
                "customer.grade_override_cleared"
            },
            entity: "customer",
            entity_id: id.as_str(),
            customer_id: Some(id),
            changes: vec![
                audit::Change {
                    field: "grade".into(),
                    old: old_grade.into(),
                    new: new_grade.into(),
                },
                audit::Change {
                    field: "reason".into(),
                    old: serde_json::Value::Null,
                    new: reason.into(),
                },
            ],
        },
    )
    .await?;
    tx.commit().await
}
