//! Customer-value models fitted on the whole customer base: every live
//! customer's purchases (orders that are not refunds) up to the end of an
//! observation day in the business time zone, summarised per customer by
//! `kehu_models` (purchases on one day are one transaction), then BG/NBD,
//! Pareto/NBD and Gamma-Gamma fitted by maximum likelihood. The latest fit
//! of each model is kept in `model_fits` for the API and the pages.

use crate::db::{Backend, Query};
use crate::{Db, Error, Result};
use chrono::{NaiveDate, TimeZone};
use kehu_domain::time::Timestamp;
use kehu_models::summary::{day_number, summarize};
use kehu_models::{bgnbd, gamma_gamma, pareto_nbd, FitOptions, TimeUnit, Transaction};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::time::Instant;

/// The most optimiser steps a fit takes.
const MAX_ITERATIONS: u64 = 2_000;

/// The longest one model's fit may take (about ten times what Pareto/NBD
/// needs for a million customers).
const FIT_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Fewer buyers than this, or fewer with a repeat purchase than
/// [`MIN_REPEAT_BUYERS`], and the recompute leaves the models unfitted:
/// the estimates would say nothing, and the likelihood of so few customers
/// can drift towards parameters where it is slow to evaluate.
pub const MIN_BUYERS: usize = 20;
pub const MIN_REPEAT_BUYERS: usize = 5;

/// Customers whose orders are read per query.
const PAGE: i64 = 20_000;

/// The three models, by the name the API gives them.
pub const MODELS: [&str; 3] = ["bg_nbd", "pareto_nbd", "gamma_gamma"];

/// One model's fit, as stored and shown.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ModelFit {
    /// bg_nbd, pareto_nbd or gamma_gamma.
    pub model: String,
    /// The last day of the purchases used (in the business time zone).
    pub until: NaiveDate,
    /// day or week: the unit of recency, age and the rate parameters.
    pub unit: String,
    /// The fitted parameters by name (BG/NBD: r, alpha, a, b; Pareto/NBD:
    /// r, alpha, s, beta; Gamma-Gamma: p, q, v, with spend in fen).
    #[schema(value_type = Object)]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// The total log-likelihood at the fitted parameters.
    pub log_likelihood: f64,
    /// Customers the fit used (Gamma-Gamma: those with repeat purchases).
    pub customers: u64,
    pub iterations: u64,
    pub converged: bool,
    /// How long the fit took.
    pub seconds: f64,
    pub fitted_at: Timestamp,
}

/// Every fit of one run, with what went in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FitRun {
    pub until: NaiveDate,
    pub unit: String,
    /// Customers with at least one purchase up to `until`.
    pub customers: u64,
    /// Orders read (a day's orders of one customer are one purchase).
    pub orders: u64,
    /// Seconds spent reading the orders and summarising them.
    pub read_seconds: f64,
    pub models: Vec<ModelFit>,
}

/// Every live customer's purchases up to the end of `until` in `zone`, as
/// transactions keyed by a dense customer number.
async fn purchases(
    db: &Db,
    until: NaiveDate,
    zone: chrono_tz::Tz,
) -> Result<(Vec<Transaction<u32>>, u64)> {
    let end = until
        .succ_opt()
        .and_then(|d| {
            zone.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
                .earliest()
        })
        .map(|t| Timestamp::from(t.with_timezone(&chrono::Utc)))
        .ok_or_else(|| Error::Other(format!("no end of day for {until}")))?;
    let gone: Vec<(String,)> = db
        .conn()
        .fetch_all(Query::new(
            "SELECT id FROM customers WHERE deleted_at IS NOT NULL",
        ))
        .await?;
    let gone: HashSet<String> = gone.into_iter().map(|r| r.0).collect();
    // One row per customer with its purchases as "at,amount;at,amount..."
    // read from the covering index orders_customer: a million rows to
    // decode instead of ten million.
    let list = match db.backend() {
        Backend::Sqlite => "group_concat(ordered_at || ',' || amount_fen, ';')",
        Backend::Postgres => "string_agg(ordered_at || ',' || amount_fen, ';')",
    };
    let mut out = Vec::new();
    let mut read = 0u64;
    let mut after = String::new();
    let mut number = 0u32;
    loop {
        let rows: Vec<(String, String)> = db
            .conn()
            .fetch_all(
                Query::new(format!(
                    "SELECT customer_id, {list} FROM orders \
                     WHERE customer_id > $1 AND ordered_at < $2 AND amount_fen >= 0 \
                     GROUP BY customer_id ORDER BY customer_id LIMIT $3"
                ))
                .bind(after.as_str())
                .bind(end)
                .bind(PAGE),
            )
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.0.clone();
        for (customer, purchases) in rows {
            if gone.contains(&customer) {
                continue;
            }
            for p in purchases.split(';') {
                let parsed = p.split_once(',').and_then(|(at, amount)| {
                    Some((at.parse::<i64>().ok()?, amount.parse::<i64>().ok()?))
                });
                let Some((at, amount)) = parsed else {
                    return Err(Error::Other(format!("an order of {customer} reads {p:?}")));
                };
                let Some(t) = Timestamp::from_millis(at) else {
                    continue;
                };
                read += 1;
                out.push(Transaction {
                    customer: number,
                    day: day_number(t.utc().with_timezone(&zone).date_naive()),
                    amount_fen: amount,
                });
            }
            number += 1;
        }
    }
    Ok((out, read))
}

fn params(pairs: &[(&str, f64)]) -> serde_json::Map<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
        .collect()
}

/// Fits the three models on purchases up to `until` and keeps the fits.
pub async fn fit(db: &Db, until: NaiveDate, unit: TimeUnit, zone: chrono_tz::Tz) -> Result<FitRun> {
    let started = Instant::now();
    let (transactions, orders) = purchases(db, until, zone).await?;
    let unit_code = unit_code(unit);
    let summary = summarize(transactions, day_number(until), unit)
        .map_err(|e| Error::Other(format!("summarising purchases: {e}")))?;
    let read_seconds = started.elapsed().as_secs_f64();
    let customers = summary.len() as u64;
    // Fitting is seconds of arithmetic: off the async workers.
    let models = tokio::task::spawn_blocking(move || fit_all(&summary, until, unit_code))
        .await
        .map_err(|e| Error::Other(format!("the fit stopped: {e}")))??;
    let run = FitRun {
        until,
        unit: unit_code.into(),
        customers,
        orders,
        read_seconds,
        models,
    };
    save(db, &run.models).await?;
    Ok(run)
}

/// Fits the three models on purchases keyed by customer position (as the
/// scores recompute reads them), keeps the fits, and gives each buyer's
/// P(alive), expected purchases over the settings' horizon and CLV.
pub(crate) async fn fit_base(
    db: &Db,
    purchases: Vec<Transaction<u32>>,
    until: NaiveDate,
    unit: TimeUnit,
    horizon_weeks: u32,
) -> Result<(Vec<ModelFit>, Vec<(u32, crate::scores::ModelValue)>)> {
    let unit_code = unit_code(unit);
    let (models, values) = tokio::task::spawn_blocking(move || -> Result<_> {
        let summary = summarize(purchases, day_number(until), unit)
            .map_err(|e| Error::Other(format!("summarising purchases: {e}")))?;
        let repeat = summary.iter().filter(|c| c.frequency > 0).count();
        if summary.len() < MIN_BUYERS || repeat < MIN_REPEAT_BUYERS {
            return Err(Error::Other(format!(
                "too few buyers to fit the models: {} ({repeat} with a repeat purchase); \
                 at least {MIN_BUYERS} ({MIN_REPEAT_BUYERS} with a repeat purchase) are needed",
                summary.len()
            )));
        }
        let models = fit_all(&summary, until, unit_code)?;
        let values = apply(&models, &summary, unit, horizon_weeks)?;
        Ok((models, values))
    })
    .await
    .map_err(|e| Error::Other(format!("the fit stopped: {e}")))??;
    save(db, &models).await?;
    Ok((models, values))
}

fn unit_code(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Day => "day",
        TimeUnit::Week => "week",
    }
}

/// Each summarised customer's value under the fits (BG/NBD for purchases,
/// Gamma-Gamma for spend, 1% a month discounting).
fn apply(
    fits: &[ModelFit],
    summary: &[kehu_models::CustomerSummary<u32>],
    unit: TimeUnit,
    horizon_weeks: u32,
) -> Result<Vec<(u32, crate::scores::ModelValue)>> {
    let bg = &fits[0];
    let purchases = bgnbd::BgNbdParams::new(
        param(bg, "r"),
        param(bg, "alpha"),
        param(bg, "a"),
        param(bg, "b"),
    )
    .map_err(|e| Error::Other(format!("the BG/NBD fit: {e}")))?;
    let spend = gamma_gamma::GammaGammaParams::new(
        param(&fits[2], "p"),
        param(&fits[2], "q"),
        param(&fits[2], "v"),
    )
    .ok();
    let horizon = f64::from(horizon_weeks) * 7.0 / unit.days();
    let clv = gamma_gamma::ClvHorizon {
        months: ((f64::from(horizon_weeks) * 7.0 / 30.0).round() as u32).max(1),
        monthly_discount_rate: 0.01,
        unit,
    };
    let value = |c: &kehu_models::CustomerSummary<u32>| {
        let rfm = c.rfm();
        let clv_fen = spend.as_ref().map(|g| {
            let s = g.conditional_expected_spend(&c.spend());
            g.customer_lifetime_value(&purchases, &rfm, s, &clv).round() as i64
        });
        (
            c.customer,
            crate::scores::ModelValue {
                p_alive: purchases.probability_alive(&rfm),
                expected_purchases: purchases.conditional_expected_purchases(horizon, &rfm),
                clv_fen,
            },
        )
    };
    // A dozen series per customer: spread over the cores.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = summary.len().div_ceil(threads).max(1);
    Ok(std::thread::scope(|scope| {
        let parts: Vec<_> = summary
            .chunks(per)
            .map(|part| scope.spawn(move || part.iter().map(value).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().expect("a value thread"))
            .collect()
    }))
}

/// Fits the three models on customer summaries.
fn fit_all(
    summary: &[kehu_models::CustomerSummary<u32>],
    until: NaiveDate,
    unit_code: &str,
) -> Result<Vec<ModelFit>> {
    // A fit that has not converged in this many steps is reported as such
    // rather than holding the nightly job for minutes (data whose maximum
    // lies at infinity, such as identical spend everywhere, never would).
    let opts = FitOptions {
        max_iterations: MAX_ITERATIONS,
        time_limit: Some(FIT_TIME_LIMIT),
        ..FitOptions::default()
    };
    let model_error =
        |m: &str, e: kehu_models::ModelError| Error::Other(format!("fitting {m}: {e}"));
    let now = Timestamp::now();
    let made = |model: &str, p, ll, customers: usize, iterations, converged, t: Instant| ModelFit {
        model: model.into(),
        until,
        unit: unit_code.into(),
        params: p,
        log_likelihood: ll,
        customers: customers as u64,
        iterations,
        converged,
        seconds: t.elapsed().as_secs_f64(),
        fitted_at: now,
    };
    let t = Instant::now();
    let f =
        bgnbd::fit(summary.iter().map(|c| c.rfm()), &opts).map_err(|e| model_error("BG/NBD", e))?;
    let p = f.params;
    let bg = made(
        MODELS[0],
        params(&[("r", p.r), ("alpha", p.alpha), ("a", p.a), ("b", p.b)]),
        f.log_likelihood,
        f.customers,
        f.iterations,
        f.converged,
        t,
    );
    let t = Instant::now();
    let f = pareto_nbd::fit(summary.iter().map(|c| c.rfm()), &opts)
        .map_err(|e| model_error("Pareto/NBD", e))?;
    let p = f.params;
    let pareto = made(
        MODELS[1],
        params(&[("r", p.r), ("alpha", p.alpha), ("s", p.s), ("beta", p.beta)]),
        f.log_likelihood,
        f.customers,
        f.iterations,
        f.converged,
        t,
    );
    let t = Instant::now();
    let f = gamma_gamma::fit(summary.iter().map(|c| c.spend()), &opts)
        .map_err(|e| model_error("Gamma-Gamma", e))?;
    let p = f.params;
    let gg = made(
        MODELS[2],
        params(&[("p", p.p), ("q", p.q), ("v", p.v)]),
        f.log_likelihood,
        f.customers,
        f.iterations,
        f.converged,
        t,
    );
    Ok(vec![bg, pareto, gg])
}

/// One customer's standing under the latest fits: how likely they are
/// still a customer, what they will probably buy, and their lifetime value.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustomerValue {
    /// The fits' observation end: orders up to this day count.
    pub until: NaiveDate,
    /// Orders up to `until` that are not refunds.
    pub orders: u64,
    /// Days with a purchase (the models' transactions).
    pub purchase_days: u32,
    /// What those orders came to, in fen.
    pub spent_fen: i64,
    /// Probability that the customer is still active (BG/NBD).
    pub p_alive: f64,
    /// Purchases expected in the next [`HORIZON_WEEKS`] weeks (BG/NBD).
    pub expected_purchases: f64,
    /// Discounted value of the next 12 months in fen (BG/NBD with
    /// Gamma-Gamma spend, 1% a month); none without a spend fit.
    pub clv_fen: Option<i64>,
}

/// How far ahead a customer's expected purchases look.
pub const HORIZON_WEEKS: f64 = 10.0;

fn param(f: &ModelFit, k: &str) -> f64 {
    f.params.get(k).and_then(|v| v.as_f64()).unwrap_or(f64::NAN)
}

/// A customer's value under the latest fits, if the models have been
/// fitted and the customer bought something by their end. Out of the
/// principal's scope reads as not found.
pub async fn customer_value(
    db: &Db,
    by: &kehu_domain::role::Principal,
    id: &kehu_domain::ids::CustomerId,
    zone: chrono_tz::Tz,
) -> Result<Option<CustomerValue>> {
    crate::customers::get(db, by, id).await?;
    let fits = latest(db).await?;
    let Some(bg) = fits.iter().find(|f| f.model == MODELS[0]) else {
        return Ok(None);
    };
    let unit = if bg.unit == "day" {
        TimeUnit::Day
    } else {
        TimeUnit::Week
    };
    let end = end_of(bg.until, zone)?;
    let rows: Vec<(i64, i64)> = db
        .conn()
        .fetch_all(
            Query::new(
                "SELECT ordered_at, amount_fen FROM orders WHERE customer_id = $1 AND ordered_at < $2 AND amount_fen >= 0",
            )
            .bind(id)
            .bind(end),
        )
        .await?;
    let orders = rows.len() as u64;
    let spent_fen = rows.iter().map(|r| r.1).sum();
    let transactions = rows.into_iter().filter_map(|(at, amount)| {
        Some(Transaction {
            customer: 0u8,
            day: day_number(
                Timestamp::from_millis(at)?
                    .utc()
                    .with_timezone(&zone)
                    .date_naive(),
            ),
            amount_fen: amount,
        })
    });
    let summary = summarize(transactions, day_number(bg.until), unit)
        .map_err(|e| Error::Other(format!("summarising purchases: {e}")))?;
    let Some(c) = summary.first() else {
        return Ok(None);
    };
    let purchases = bgnbd::BgNbdParams::new(
        param(bg, "r"),
        param(bg, "alpha"),
        param(bg, "a"),
        param(bg, "b"),
    )
    .map_err(|e| Error::Other(format!("the stored BG/NBD fit: {e}")))?;
    let rfm = c.rfm();
    let horizon = HORIZON_WEEKS * 7.0 / unit.days();
    let clv_fen = fits
        .iter()
        .find(|f| f.model == MODELS[2])
        .and_then(|g| {
            gamma_gamma::GammaGammaParams::new(param(g, "p"), param(g, "q"), param(g, "v")).ok()
        })
        .map(|g| {
            let spend = g.conditional_expected_spend(&c.spend());
            let h = gamma_gamma::ClvHorizon {
                months: 12,
                monthly_discount_rate: 0.01,
                unit,
            };
            g.customer_lifetime_value(&purchases, &rfm, spend, &h)
                .round() as i64
        });
    Ok(Some(CustomerValue {
        until: bg.until,
        orders,
        purchase_days: c.frequency + 1,
        spent_fen,
        p_alive: purchases.probability_alive(&rfm),
        expected_purchases: purchases.conditional_expected_purchases(horizon, &rfm),
        clv_fen,
    }))
}

/// The first instant after `day` in `zone`.
fn end_of(day: NaiveDate, zone: chrono_tz::Tz) -> Result<Timestamp> {
    day.succ_opt()
        .and_then(|d| {
            zone.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
                .earliest()
        })
        .map(|t| Timestamp::from(t.with_timezone(&chrono::Utc)))
        .ok_or_else(|| Error::Other(format!("no end of day for {day}")))
}

/// Claims the nightly fit of `day` for this server: true for exactly one
/// caller per day, however many servers share the database.
pub async fn claim_nightly(db: &Db, day: NaiveDate) -> Result<bool> {
    db.conn()
        .execute(Query::new(
            "INSERT INTO settings (key, value) VALUES ('models_nightly', '') ON CONFLICT (key) DO NOTHING",
        ))
        .await?;
    let claimed = db
        .conn()
        .execute(
            Query::new(
                "UPDATE settings SET value = $1 WHERE key = 'models_nightly' AND value < $1",
            )
            .bind(day.to_string()),
        )
        .await?;
    Ok(claimed == 1)
}

async fn save(db: &Db, fits: &[ModelFit]) -> Result<()> {
    let mut tx = db.begin().await?;
    for f in fits {
        tx.execute(Query::new("DELETE FROM model_fits WHERE model = $1").bind(f.model.as_str()))
            .await?;
        tx.execute(
            Query::new(
                "INSERT INTO model_fits (model, until_date, unit, params, log_likelihood, customers, iterations, converged, seconds, fitted_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(f.model.as_str())
            .bind(f.until.to_string())
            .bind(f.unit.as_str())
            .bind(serde_json::Value::Object(f.params.clone()).to_string())
            .bind(f.log_likelihood)
            .bind(f.customers as i64)
            .bind(f.iterations as i64)
            .bind(f.converged)
            .bind(f.seconds)
            .bind(f.fitted_at),
        )
        .await?;
    }
    tx.commit().await
}

/// The latest fit of each model, in [`MODELS`] order.
pub async fn latest(db: &Db) -> Result<Vec<ModelFit>> {
    type Row = (
        String,
        String,
        String,
        String,
        f64,
        i64,
        i64,
        bool,
        f64,
        i64,
    );
    let rows: Vec<Row> = db
        .conn()
        .fetch_all(Query::new(
            "SELECT model, until_date, unit, params, log_likelihood, customers, iterations, converged, seconds, fitted_at FROM model_fits",
        ))
        .await?;
    let mut fits: Vec<ModelFit> = rows
        .into_iter()
        .filter_map(
            |(model, until, unit, params, ll, customers, iterations, converged, seconds, at)| {
                Some(ModelFit {
                    until: until.parse().ok()?,
                    params: serde_json::from_str(&params).ok()?,
                    fitted_at: Timestamp::from_millis(at)?,
                    model,
                    unit,
                    log_likelihood: ll,
                    customers: customers.max(0) as u64,
                    iterations: iterations.max(0) as u64,
                    converged,
                    seconds,
                })
            },
        )
        .collect();
    fits.sort_by_key(|f| MODELS.iter().position(|m| *m == f.model));
    Ok(fits)
}
