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
use std::sync::Arc;
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
#[derive(Clone, Copy)]
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

/// One order as the fold takes it: (day, amount, discount) in fen.
type Day = (i64, i64, i64);

/// The orders folded into each customer's figures, the purchases for the
/// models and the monthly figures.
struct OrderFold {
    w: Window,
    acc: Vec<Orders>,
    purchases: Vec<Transaction<u32>>,
    months: Monthly,
    read: u64,
}

impl OrderFold {
    fn new(customers: &[Customer], w: Window) -> OrderFold {
        OrderFold {
            w,
            acc: vec![Orders::default(); customers.len()],
            purchases: Vec::new(),
            months: Monthly::new(customers),
            read: 0,
        }
    }

    /// Folds in every order of customer `i` (in any order; emptied after).
    fn customer(&mut self, i: u32, days: &mut Vec<Day>) {
        let w = &self.w;
        self.read += days.len() as u64;
        days.sort_unstable();
        let o = &mut self.acc[i as usize];
        let mut last_purchase = None;
        let mut last_window = None;
        let mut first_month = None;
        let mut last_month = None;
        for &(day, amount, discount) in days.iter() {
            let month = month_of(day);
            let stat = self.months.at(i, month);
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
            self.purchases.push(Transaction {
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
        days.clear();
    }
}

/// Each customer's last contact day and store visits in the window.
struct Touches {
    last: Vec<Option<i64>>,
    visits: Vec<u32>,
    /// Customers with at least one interaction.
    seen: u64,
}

impl Touches {
    fn new(n: usize) -> Touches {
        Touches {
            last: vec![None; n],
            visits: vec![0; n],
            seen: 0,
        }
    }

    fn customer(&mut self, i: u32, last_at: i64, visits: i64, zone: chrono_tz::Tz) {
        self.seen += 1;
        self.last[i as usize] = day_of(last_at, zone);
        self.visits[i as usize] = visits.clamp(0, u32::MAX as i64) as u32;
    }
}

/// Finds customers by id in `customers` (sorted by id), cheaply when asked
/// in ascending order as the grouped reads do.
struct Walk<'a> {
    customers: &'a [Customer],
    at: usize,
}

impl<'a> Walk<'a> {
    fn new(customers: &'a [Customer]) -> Self {
        Walk { customers, at: 0 }
    }

    fn find(&mut self, id: &str) -> Option<u32> {
        let all = self.customers;
        if self.at > 0 && all.get(self.at - 1).is_some_and(|c| c.id.as_str() >= id) {
            return position(all, id);
        }
        while self.at < all.len() && all[self.at].id.as_str() < id {
            self.at += 1;
        }
        (all.get(self.at)?.id == id).then_some(self.at as u32)
    }
}

/// The position of customer `id` in `customers` (sorted by id).
fn position(customers: &[Customer], id: &str) -> Option<u32> {
    customers
        .binary_search_by(|c| c.id.as_str().cmp(id))
        .ok()
        .map(|i| i as u32)
}

pub(super) async fn base(
    db: &Db,
    as_of: NaiveDate,
    zone: chrono_tz::Tz,
    s: &ValueSettings,
) -> Result<Base> {
    let w = Window::new(as_of, zone, s)?;
    let (mut customers, mut created) = match db.backend() {
        Backend::Sqlite => {
            db.with_sqlite(false, move |c| sqlite_customers(c, zone))
                .await?
        }
        Backend::Postgres => customers(db, zone).await?,
    };
    if !customers.is_sorted_by(|a, b| a.id <= b.id) {
        // PostgreSQL's collation may order ids otherwise than by bytes.
        let mut both: Vec<_> = customers.into_iter().zip(created).collect();
        both.sort_unstable_by(|a, b| a.0.id.cmp(&b.0.id));
        (customers, created) = both.into_iter().unzip();
    }
    let customers = Arc::new(customers);
    let n = customers.len();
    // Two readers at once: the orders and the interactions.
    let ((fold, seconds_orders), (touches, seconds_interactions)) = match db.backend() {
        Backend::Sqlite => {
            let (a, b) = (customers.clone(), customers.clone());
            tokio::try_join!(
                timed(db.with_sqlite(false, move |c| sqlite_orders(c, &a, w, zone))),
                timed(db.with_sqlite(false, move |c| sqlite_interactions(c, &b, w, zone))),
            )?
        }
        Backend::Postgres => tokio::try_join!(
            timed(pg_orders(db, &customers, w, zone)),
            timed(pg_interactions(db, &customers, w, zone)),
        )?,
    };
    let OrderFold {
        acc: orders,
        purchases,
        mut months,
        read,
        ..
    } = fold;
    let customers = Arc::try_unwrap(customers).unwrap_or_else(|shared| (*shared).clone());

    let mut referrals = vec![0u32; n];
    let rows: Vec<(String, i64)> = db
        .conn()
        .fetch_all(Query::new(
            "SELECT referred_by, COUNT(*) FROM customers \
             WHERE referred_by IS NOT NULL AND deleted_at IS NULL GROUP BY referred_by",
        ))
        .await?;
    for (id, count) in rows {
        if let Some(i) = position(&customers, &id) {
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
        let (Some(i), Some(day)) = (position(&customers, &id), day_of(at, zone)) else {
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
        let (Some(i), Some(day)) = (position(&customers, &id), day_of(at, zone)) else {
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
                purchases: o.window_days.saturating_add(touches.visits[i]),
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
                days_since_contact: since(touches.last[i]),
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
        contacted: touches.seen,
        months,
        seconds_orders,
        seconds_interactions,
    })
}

/// A read's result with the seconds it took.
async fn timed<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<(T, f64)> {
    let t = Instant::now();
    let n = f.await?;
    Ok((n, t.elapsed().as_secs_f64()))
}

/// The live customers with the scores they had, ordered by id.
const CUSTOMERS: &str = "SELECT c.id, c.owner_id, c.team_id, c.created_at, c.grade, \
     c.grade_override IS NOT NULL, s.lifecycle, s.prev_lifecycle, s.as_of \
     FROM customers c LEFT JOIN customer_scores s ON s.customer_id = c.id \
     WHERE c.deleted_at IS NULL";

/// One row of [`CUSTOMERS`].
type CustomerRow = (
    String,
    Option<String>,
    Option<String>,
    i64,
    Option<String>,
    bool,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn customer(row: CustomerRow, zone: chrono_tz::Tz, created: &mut Vec<i64>) -> Customer {
    let (id, owner_id, team_id, at, grade, overridden, old_lifecycle, old_prev, old_as_of) = row;
    created.push(day_of(at, zone).unwrap_or(i64::MAX));
    Customer {
        id,
        owner_id,
        team_id,
        grade,
        overridden,
        old_lifecycle,
        old_prev,
        old_as_of,
    }
}

/// Every live customer, with the day each was created, a page at a time.
async fn customers(db: &Db, zone: chrono_tz::Tz) -> Result<(Vec<Customer>, Vec<i64>)> {
    let mut out = Vec::new();
    let mut created = Vec::new();
    let mut after = String::new();
    loop {
        let rows: Vec<CustomerRow> = db
            .conn()
            .fetch_all(
                Query::new(format!("{CUSTOMERS} AND c.id > $1 ORDER BY c.id LIMIT $2"))
                    .bind(after.as_str())
                    .bind(PAGE * 2),
            )
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.0.clone();
        out.extend(rows.into_iter().map(|r| customer(r, zone, &mut created)));
    }
    Ok((out, created))
}

/// [`customers`] in one pass over SQLite's raw connection.
fn sqlite_customers(
    conn: &rusqlite::Connection,
    zone: chrono_tz::Tz,
) -> Result<(Vec<Customer>, Vec<i64>)> {
    let mut stmt = conn.prepare(&format!("{CUSTOMERS} ORDER BY c.id"))?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    let mut created = Vec::new();
    while let Some(r) = rows.next()? {
        let row = (
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
        );
        out.push(customer(row, zone, &mut created));
    }
    Ok((out, created))
}

/// Column `i` of a row as text, without a copy.
fn text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> Result<&'r str> {
    r.get_ref(i)?
        .as_str()
        .map_err(|e| Error::Other(format!("column {i}: {e}")))
}

fn day_of(ms: i64, zone: chrono_tz::Tz) -> Option<i64> {
    Some(day_number(
        Timestamp::from_millis(ms)?
            .utc()
            .with_timezone(&zone)
            .date_naive(),
    ))
}

/// Every order up to the window's end in one pass over the covering index
/// `orders_customer`, grouped by customer as the index orders them.
fn sqlite_orders(
    conn: &rusqlite::Connection,
    customers: &[Customer],
    w: Window,
    zone: chrono_tz::Tz,
) -> Result<OrderFold> {
    let mut fold = OrderFold::new(customers, w);
    let mut stmt = conn.prepare(
        "SELECT customer_id, ordered_at, amount_fen, discount_fen FROM orders \
         WHERE ordered_at < ?1 ORDER BY customer_id, ordered_at",
    )?;
    let mut rows = stmt.query([w.end.millis()])?;
    let mut walk = Walk::new(customers);
    let mut id = String::new();
    let mut group = None;
    let mut days: Vec<Day> = Vec::new();
    while let Some(r) = rows.next()? {
        let customer = text(r, 0)?;
        if customer != id {
            if let Some(i) = group {
                fold.customer(i, &mut days);
            }
            id.clear();
            id.push_str(customer);
            group = walk.find(customer);
        }
        if group.is_none() {
            continue;
        }
        if let Some(day) = day_of(r.get(1)?, zone) {
            days.push((day, r.get(2)?, r.get(3)?));
        }
    }
    if let Some(i) = group {
        fold.customer(i, &mut days);
    }
    Ok(fold)
}

/// Each customer's last contact and visits in one pass over the covering
/// index `interactions_customer`.
fn sqlite_interactions(
    conn: &rusqlite::Connection,
    customers: &[Customer],
    w: Window,
    zone: chrono_tz::Tz,
) -> Result<Touches> {
    let mut touches = Touches::new(customers.len());
    let mut stmt = conn.prepare(
        "SELECT customer_id, MAX(occurred_at), \
         SUM(CASE WHEN kind = 'visit' AND occurred_at >= ?1 THEN 1 ELSE 0 END) \
         FROM interactions WHERE occurred_at < ?2 GROUP BY customer_id ORDER BY customer_id",
    )?;
    let mut rows = stmt.query([w.start.millis(), w.end.millis()])?;
    let mut walk = Walk::new(customers);
    while let Some(r) = rows.next()? {
        let customer = text(r, 0)?;
        if let Some(i) = walk.find(customer) {
            touches.customer(i, r.get(1)?, r.get(2)?, zone);
        }
    }
    Ok(touches)
}

/// The text aggregate of a group on each backend.
fn concat(expr: &str, backend: Backend) -> String {
    match backend {
        Backend::Sqlite => format!("group_concat({expr}, ';')"),
        Backend::Postgres => format!("string_agg({expr}, ';')"),
    }
}

/// Every order up to the window's end, a page of customers at a time, one
/// row per customer from the covering index `orders_customer`.
async fn pg_orders(
    db: &Db,
    customers: &[Customer],
    w: Window,
    zone: chrono_tz::Tz,
) -> Result<OrderFold> {
    let mut fold = OrderFold::new(customers, w);
    let list = concat(
        "ordered_at || ',' || amount_fen || ',' || discount_fen",
        db.backend(),
    );
    let mut walk = Walk::new(customers);
    let mut after = String::new();
    let mut days: Vec<Day> = Vec::new();
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
            let Some(i) = walk.find(&customer) else {
                continue;
            };
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
            fold.customer(i, &mut days);
        }
    }
    Ok(fold)
}

/// Each customer's last contact and visits in the window, a page of
/// customers at a time, from the covering index `interactions_customer`.
async fn pg_interactions(
    db: &Db,
    customers: &[Customer],
    w: Window,
    zone: chrono_tz::Tz,
) -> Result<Touches> {
    let mut touches = Touches::new(customers.len());
    let mut walk = Walk::new(customers);
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
            if let Some(i) = walk.find(&customer) {
                touches.customer(i, at, n, zone);
            }
        }
    }
    Ok(touches)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customers(ids: &[&str]) -> Vec<Customer> {
        ids.iter()
            .map(|id| Customer {
                id: id.to_string(),
                owner_id: None,
                team_id: None,
                grade: None,
                overridden: false,
                old_lifecycle: None,
                old_prev: None,
                old_as_of: None,
            })
            .collect()
    }

    #[test]
    fn the_walk_finds_ids_in_any_order() {
        let all = customers(&["a", "c", "e", "g"]);
        let mut walk = Walk::new(&all);
        // Ascending, with ids that are not customers in between.
        assert_eq!(walk.find("a"), Some(0));
        assert_eq!(walk.find("b"), None);
        assert_eq!(walk.find("e"), Some(2));
        // Back again (another collation's order), then on.
        assert_eq!(walk.find("c"), Some(1));
        assert_eq!(walk.find("e"), Some(2));
        assert_eq!(walk.find("g"), Some(3));
        assert_eq!(walk.find("h"), None);
        assert_eq!(walk.find("a"), Some(0));
    }
}
