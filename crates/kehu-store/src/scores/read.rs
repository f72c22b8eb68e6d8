//! The recompute's reads: every live customer, then the facts about them
//! gathered from orders, interactions, referrals, compensations and
//! tickets, each read grouped by customer.

use super::Money;
use crate::db::{Backend, Query};
use crate::{Db, Error, Result};
use chrono::{Days, NaiveDate, TimeZone};
use kehu_domain::time::Timestamp;
use kehu_domain::value::{Facts, ValueSettings};
use kehu_models::summary::day_number;
use kehu_models::Transaction;
use std::collections::HashMap;
use std::time::Instant;

/// Rows per page of the grouped reads.
const PAGE: i64 = 20_000;

/// A live customer as the recompute needs it, with the scores it had.
#[derive(Debug, Clone)]
pub struct Customer {
    pub id: String,
    pub owner_id: Option<String>,
    pub team_id: Option<String>,
    /// The grade in force before this recompute.
    pub grade: Option<String>,
    pub overridden: bool,
    pub old_lifecycle: Option<String>,
    pub old_prev: Option<String>,
    pub old_as_of: Option<String>,
}

pub(super) struct Base {
    pub customers: Vec<Customer>,
    pub facts: Vec<Facts>,
    pub money: Vec<Money>,
    /// Purchases (refunds left out) keyed by the customer's position.
    pub purchases: Vec<Transaction<u32>>,
    pub orders: u64,
    /// Customers with at least one interaction.
    pub contacted: u64,
    /// Sales and cost to serve by (owner and team group, month).
    pub months: Monthly,
    /// How long the orders' and the interactions' reads took (at once).
    pub seconds_orders: f64,
    pub seconds_interactions: f64,
}

/// One month's figures for one owner and team.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonthStat {
    pub orders: i64,
    pub buyers: i64,
    pub new_buyers: i64,
    pub repeat_buyers: i64,
    pub revenue_fen: i64,
    pub discount_fen: i64,
    pub compensation_fen: i64,
    pub tickets: i64,
    pub effort_fen: i64,
}

/// Months are `year * 100 + month`; groups index `groups`.
#[derive(Debug, Default)]
pub struct Monthly {
    /// (owner id, team id), '' for none.
    pub groups: Vec<(String, String)>,
    /// Each customer's group.
    pub group_of: Vec<u32>,
    pub stats: HashMap<(u32, u32), MonthStat>,
}

impl Monthly {
    fn new(customers: &[Customer]) -> Monthly {
        let mut index: HashMap<(&str, &str), u32> = HashMap::new();
        let mut groups = Vec::new();
        let group_of = customers
            .iter()
            .map(|c| {
                let key = (
                    c.owner_id.as_deref().unwrap_or(""),
                    c.team_id.as_deref().unwrap_or(""),
                );
                *index.entry(key).or_insert_with(|| {
                    groups.push((key.0.to_string(), key.1.to_string()));
                    groups.len() as u32 - 1
                })
            })
            .collect();
        Monthly {
            groups,
            group_of,
            stats: HashMap::new(),
        }
    }

    fn at(&mut self, customer: u32, month: u32) -> &mut MonthStat {
        let g = self.group_of[customer as usize];
        self.stats.entry((g, month)).or_default()
    }
}

/// The month (`year * 100 + month`) of a day number.
fn month_of(day: i64) -> u32 {
    use chrono::Datelike;
    i32::try_from(day)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .map_or(0, |d| d.year().max(0) as u32 * 100 + d.month())
}

/// The first instant of `day` in `zone`.
pub(crate) fn start_of(day: NaiveDate, zone: chrono_tz::Tz) -> Result<Timestamp> {
    zone.from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map(|t| Timestamp::from(t.with_timezone(&chrono::Utc)))
        .ok_or_else(|| Error::Other(format!("no start of day for {day}")))
}

/// The days the rules look at, as day numbers and instants.
struct Window {
    today: i64,
    /// First day of the window.
    first: i64,
    /// First day of the recent half.
    recent: i64,
    /// First day of the half before it.
    prior: i64,
    start: Timestamp,
    end: Timestamp,
}

impl Window {
    fn new(as_of: NaiveDate, zone: chrono_tz::Tz, s: &ValueSettings) -> Result<Window> {
        let today = day_number(as_of);
        let days = i64::from(s.window_days.max(1));
        let half = (days / 2).max(1);
        let first_day = as_of
            .checked_sub_days(Days::new(days as u64 - 1))
            .ok_or_else(|| Error::Other(format!("no window before {as_of}")))?;
        let next = as_of
            .succ_opt()
            .ok_or_else(|| Error::Other(format!("no day after {as_of}")))?;
        Ok(Window {
            today,
            first: today - days + 1,
            recent: today - half + 1,
            prior: today - 2 * half + 1,
            start: start_of(first_day, zone)?,
            end: start_of(next, zone)?,
        })
    }
}

/// What the orders say about one customer.
#[derive(Default, Clone, Copy)]
struct Orders {
    spend: i64,
    window_days: u32,
    recent: i64,
    prior: i64,
    revenue: i64,
    discount: i64,
    first_day: Option<i64>,
    last_day: Option<i64>,
    transactions: u32,
    monetary: i64,
}

pub(super) async fn base(
    db: &Db,
    as_of: NaiveDate,
    zone: chrono_tz::Tz,
    s: &ValueSettings,
) -> Result<Base> {
    let w = Window::new(as_of, zone, s)?;
    let (customers, created) = customers(db, zone).await?;
    let index: HashMap<&str, u32> = customers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i as u32))
        .collect();
    let n = customers.len();
    let mut orders = vec![Orders::default(); n];
    let mut purchases = Vec::new();
    let mut months = Monthly::new(&customers);
    let mut last_contact: Vec<Option<i64>> = vec![None; n];
    let mut visits = vec![0u32; n];
    // Two readers at once: the orders and the interactions.
    let ((read, seconds_orders), (contacted, seconds_interactions)) = tokio::try_join!(
        timed(read_orders(
            db,
            &w,
            zone,
            &index,
            &mut orders,
            &mut purchases,
            &mut months,
        )),
        timed(read_interactions(
            db,
            &w,
            zone,
            &index,
            &mut last_contact,
            &mut visits
        )),
    )?;

    let mut referrals = vec![0u32; n];
    let rows: Vec<(String, i64)> = db
        .conn()
        .fetch_all(Query::new(
            "SELECT referred_by, COUNT(*) FROM customers \
             WHERE referred_by IS NOT NULL AND deleted_at IS NULL GROUP BY referred_by",
        ))
        .await?;
    for (id, count) in rows {
        if let Some(&i) = index.get(id.as_str()) {
            referrals[i as usize] = count.clamp(0, u32::MAX as i64) as u32;
        }
    }

    // Compensation and tickets, each row read once: the window's sums per
    // customer and every month's per owner and team.
    let mut money = vec![Money::default(); n];
    let rows: Vec<(String, i64, i64)> = db
        .conn()
        .fetch_all(
            Query::new(
                "SELECT customer_id, created_at, amount_fen FROM compensations WHERE created_at < $1",
            )
            .bind(w.end),
        )
        .await?;
    for (id, at, fen) in rows {
        let (Some(&i), Some(day)) = (index.get(id.as_str()), day_of(at, zone)) else {
            continue;
        };
        if day >= w.first {
            let m = &mut money[i as usize];
            m.compensation_fen = m.compensation_fen.saturating_add(fen);
        }
        let stat = months.at(i, month_of(day));
        stat.compensation_fen = stat.compensation_fen.saturating_add(fen);
    }
    let rows: Vec<(String, i64)> = db
        .conn()
        .fetch_all(
            Query::new("SELECT customer_id, created_at FROM tickets WHERE created_at < $1")
                .bind(w.end),
        )
        .await?;
    for (id, at) in rows {
        let (Some(&i), Some(day)) = (index.get(id.as_str()), day_of(at, zone)) else {
            continue;
        };
        if day >= w.first {
            let m = &mut money[i as usize];
            m.tickets = m.tickets.saturating_add(1);
            m.effort_fen = m.effort_fen.saturating_add(s.service_cost_fen);
        }
        let stat = months.at(i, month_of(day));
        stat.tickets += 1;
        stat.effort_fen = stat.effort_fen.saturating_add(s.service_cost_fen);
    }
    drop(index);

    let since = |day: Option<i64>| day.map(|d| (w.today - d).clamp(0, u32::MAX as i64) as u32);
    let facts = (0..n)
        .map(|i| {
            let o = orders[i];
            let m = &mut money[i];
            m.revenue_fen = o.revenue;
            m.discount_fen = o.discount;
            let born = o.first_day.map_or(created[i], |f| f.min(created[i]));
            Facts {
                spend_fen: o.spend,
                purchases: o.window_days.saturating_add(visits[i]),
                referrals: referrals[i],
                age_days: since(Some(born)).unwrap_or(0),
                power_fen: if o.window_days > 0 {
                    (o.spend / i64::from(o.window_days)).max(0)
                } else {
                    0
                },
                recent_spend_fen: o.recent,
                prior_spend_fen: o.prior,
                days_since_purchase: since(o.last_day),
                days_since_contact: since(last_contact[i]),
                transactions: o.transactions,
                monetary_fen: o.monetary,
            }
        })
        .collect();
    Ok(Base {
        customers,
        facts,
        money,
        purchases,
        orders: read,
        contacted,
        months,
        seconds_orders,
        seconds_interactions,
    })
}

/// A read's result with the seconds it took.
async fn timed(f: impl std::future::Future<Output = Result<u64>>) -> Result<(u64, f64)> {
    let t = Instant::now();
    let n = f.await?;
    Ok((n, t.elapsed().as_secs_f64()))
}

/// Every live customer, with the day each was created.
async fn customers(db: &Db, zone: chrono_tz::Tz) -> Result<(Vec<Customer>, Vec<i64>)> {
    type Row = (
        String,
        Option<String>,
        Option<String>,
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let mut out = Vec::new();
    let mut created = Vec::new();
    let mut after = String::new();
    loop {
        let rows: Vec<Row> = db
            .conn()
            .fetch_all(
                Query::new(
                    "SELECT c.id, c.owner_id, c.team_id, c.created_at, c.grade, c.grade_override, \
                     s.lifecycle, s.prev_lifecycle, s.as_of \
                     FROM customers c LEFT JOIN customer_scores s ON s.customer_id = c.id \
                     WHERE c.id > $1 AND c.deleted_at IS NULL ORDER BY c.id LIMIT $2",
                )
                .bind(after.as_str())
                .bind(PAGE * 2),
            )
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.0.clone();
        for (id, owner_id, team_id, at, grade, overridden, lifecycle, prev, as_of) in rows {
            created.push(day_of(at, zone).unwrap_or(i64::MAX));
            out.push(Customer {
                id,
                owner_id,
                team_id,
                grade,
                overridden: overridden.is_some(),
                old_lifecycle: lifecycle,
                old_prev: prev,
                old_as_of: as_of,
            });
        }
    }
    Ok((out, created))
}

fn day_of(ms: i64, zone: chrono_tz::Tz) -> Option<i64> {
    Some(day_number(
        Timestamp::from_millis(ms)?
            .utc()
            .with_timezone(&zone)
            .date_naive(),
    ))
}

/// The text aggregate of a group on each backend.
fn concat(expr: &str, backend: Backend) -> String {
    match backend {
        Backend::Sqlite => format!("group_concat({expr}, ';')"),
        Backend::Postgres => format!("string_agg({expr}, ';')"),
    }
}

/// Reads every order up to the window's end, one row per customer from the
/// covering index `orders_customer`, into `acc`; returns the orders read.
async fn read_orders(
    db: &Db,
    w: &Window,
    zone: chrono_tz::Tz,
    index: &HashMap<&str, u32>,
    acc: &mut [Orders],
    purchases: &mut Vec<Transaction<u32>>,
    months: &mut Monthly,
) -> Result<u64> {
    let list = concat(
        "ordered_at || ',' || amount_fen || ',' || discount_fen",
        db.backend(),
    );
    let mut read = 0u64;
    let mut after = String::new();
    let mut days: Vec<(i64, i64, i64)> = Vec::new();
    loop {
        let rows: Vec<(String, String)> = db
            .conn()
            .fetch_all(
                Query::new(format!(
                    "SELECT customer_id, {list} FROM orders \
                     WHERE customer_id > $1 AND ordered_at < $2 \
                     GROUP BY customer_id ORDER BY customer_id LIMIT $3"
                ))
                .bind(after.as_str())
                .bind(w.end)
                .bind(PAGE),
            )
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.0.clone();
        for (customer, list) in rows {
            let Some(&i) = index.get(customer.as_str()) else {
                continue;
            };
            days.clear();
            for item in list.split(';') {
                let mut parts = item.split(',').map(str::parse::<i64>);
                let (Some(Ok(at)), Some(Ok(amount)), Some(Ok(discount))) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(Error::Other(format!(
                        "an order of {customer} reads {item:?}"
                    )));
                };
                if let Some(day) = day_of(at, zone) {
                    days.push((day, amount, discount));
                }
            }
            read += days.len() as u64;
            days.sort_unstable();
            let o = &mut acc[i as usize];
            let mut last_purchase = None;
            let mut last_window = None;
            let mut first_month = None;
            let mut last_month = None;
            for &(day, amount, discount) in &days {
                let month = month_of(day);
                let stat = months.at(i, month);
                stat.orders += 1;
                stat.revenue_fen = stat
                    .revenue_fen
                    .saturating_add(amount.saturating_add(discount));
                stat.discount_fen = stat.discount_fen.saturating_add(discount);
                if amount >= 0 && last_month != Some(month) {
                    last_month = Some(month);
                    stat.buyers += 1;
                    if *first_month.get_or_insert(month) == month {
                        stat.new_buyers += 1;
                    } else {
                        stat.repeat_buyers += 1;
                    }
                }
                o.monetary = o.monetary.saturating_add(amount);
                if day >= w.first {
                    o.spend = o.spend.saturating_add(amount);
                    o.revenue = o.revenue.saturating_add(amount.saturating_add(discount));
                    o.discount = o.discount.saturating_add(discount);
                }
                if day >= w.recent {
                    o.recent = o.recent.saturating_add(amount);
                } else if day >= w.prior {
                    o.prior = o.prior.saturating_add(amount);
                }
                if amount < 0 {
                    continue;
                }
                purchases.push(Transaction {
                    customer: i,
                    day,
                    amount_fen: amount,
                });
                o.first_day.get_or_insert(day);
                if last_purchase != Some(day) {
                    o.transactions += 1;
                    last_purchase = Some(day);
                }
                if day >= w.first && last_window != Some(day) {
                    o.window_days += 1;
                    last_window = Some(day);
                }
                o.last_day = Some(day);
            }
        }
    }
    Ok(read)
}

/// Reads each customer's last contact and store visits in the window from
/// the covering index `interactions_customer`; returns the customers seen.
async fn read_interactions(
    db: &Db,
    w: &Window,
    zone: chrono_tz::Tz,
    index: &HashMap<&str, u32>,
    last: &mut [Option<i64>],
    visits: &mut [u32],
) -> Result<u64> {
    let mut seen = 0u64;
    let mut after = String::new();
    loop {
        let rows: Vec<(String, i64, i64)> = db
            .conn()
            .fetch_all(
                Query::new(
                    "SELECT customer_id, MAX(occurred_at), \
                     SUM(CASE WHEN kind = 'visit' AND occurred_at >= $1 THEN 1 ELSE 0 END) \
                     FROM interactions WHERE customer_id > $2 AND occurred_at < $3 \
                     GROUP BY customer_id ORDER BY customer_id LIMIT $4",
                )
                .bind(w.start)
                .bind(after.as_str())
                .bind(w.end)
                .bind(PAGE),
            )
            .await?;
        let Some(row) = rows.last() else { break };
        after = row.0.clone();
        for (customer, at, n) in rows {
            if let Some(&i) = index.get(customer.as_str()) {
                seen += 1;
                last[i as usize] = day_of(at, zone);
                visits[i as usize] = n.clamp(0, u32::MAX as i64) as u32;
            }
        }
    }
    Ok(seen)
}
