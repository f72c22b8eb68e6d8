//! The management dashboard's figures, read from what the last scores
//! recompute left: monthly sales and cost to serve (`monthly_stats`),
//! lifecycle moves (`lifecycle_moves`) and each customer's scores
//! (`customer_scores`), narrowed by the viewer's scope and by team, owner
//! and period.

use crate::db::Query;
use crate::{Db, Result};
use chrono::NaiveDate;
use kehu_domain::role::{Principal, Scope};
use kehu_domain::value::{pareto, Pareto};
use serde::Serialize;

/// P(alive) below which a key customer counts as at risk.
pub const AT_RISK_P_ALIVE: f64 = 0.5;
/// Customers listed as at risk, at most.
const AT_RISK_ROWS: usize = 100;
/// Upper bounds of the CLV distribution's buckets, in yuan (the last one
/// is open).
pub const CLV_BUCKETS_YUAN: [i64; 7] = [0, 100, 500, 1_000, 5_000, 10_000, 50_000];

/// What the dashboard shows: months from `from` to `to` inclusive.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub team_id: Option<String>,
    pub owner_id: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MonthRow {
    pub month: String,
    pub orders: i64,
    pub buyers: i64,
    pub new_buyers: i64,
    pub repeat_buyers: i64,
    pub revenue_fen: i64,
    pub discount_fen: i64,
    pub compensation_fen: i64,
    pub effort_fen: i64,
    pub profit_fen: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct GradeRow {
    /// A, B, C, or "" for not graded yet.
    pub grade: String,
    pub key: i64,
    pub general: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CountRow {
    pub class: String,
    pub customers: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MoveRow {
    pub month: String,
    /// "" for customers not scored at the end of the month before.
    pub from: String,
    pub to: String,
    pub customers: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Bucket {
    /// Lower bound in yuan (inclusive); the first bucket holds negatives.
    pub from_yuan: Option<i64>,
    /// Upper bound in yuan (exclusive); none for the last.
    pub to_yuan: Option<i64>,
    pub customers: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RiskRow {
    pub id: String,
    pub name: String,
    pub grade: Option<String>,
    pub p_alive: f64,
    pub clv_fen: Option<i64>,
    pub profit_fen: i64,
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    /// The observation day of the scores shown; none before the first
    /// recompute.
    pub as_of: Option<NaiveDate>,
    pub months: Vec<MonthRow>,
    pub grades: Vec<GradeRow>,
    pub lifecycle: Vec<CountRow>,
    pub moves: Vec<MoveRow>,
    pub customers: i64,
    pub profit_fen: i64,
    pub top20_profit_share: Option<f64>,
    /// (share of customers, cumulative share of profit), 101 points.
    pub pareto_curve: Vec<(f64, f64)>,
    pub clv: Vec<Bucket>,
    pub at_risk: Vec<RiskRow>,
}

/// Narrows `q` (after its `WHERE`) to the viewer's scope and the filter,
/// over the owner and team columns named.
fn narrow(q: &mut Query, by: &Principal, f: &Filter, owner: &str, team: &str) {
    match by.scope() {
        Scope::All => {}
        Scope::Team => {
            q.push(&format!(" AND ({owner} = "));
            q.push_arg(by.user_id.as_str());
            q.push(&format!(" OR {team} = "));
            q.push_arg(by.team_id.as_ref().map_or("-", |t| t.as_str()));
            q.push(")");
        }
        Scope::Own => {
            q.push(&format!(" AND {owner} = "));
            q.push_arg(by.user_id.as_str());
        }
    }
    if let Some(t) = &f.team_id {
        q.push(&format!(" AND {team} = "));
        q.push_arg(t.as_str());
    }
    if let Some(o) = &f.owner_id {
        q.push(&format!(" AND {owner} = "));
        q.push_arg(o.as_str());
    }
}

fn month_key(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

fn period(q: &mut Query, f: &Filter, column: &str) {
    if let Some(from) = f.from {
        q.push(&format!(" AND {column} >= "));
        q.push_arg(month_key(from));
    }
    if let Some(to) = f.to {
        q.push(&format!(" AND {column} <= "));
        q.push_arg(month_key(to));
    }
}

pub async fn read(db: &Db, by: &Principal, f: &Filter) -> Result<Dashboard> {
    let as_of: Option<(String,)> = db
        .conn()
        .fetch_optional(Query::new("SELECT as_of FROM customer_scores LIMIT 1"))
        .await?;
    let as_of = as_of.and_then(|(d,)| d.parse().ok());

    type M = (String, i64, i64, i64, i64, i64, i64, i64, i64);
    let mut q = Query::new(
        "SELECT month, CAST(SUM(orders) AS BIGINT), CAST(SUM(buyers) AS BIGINT), \
         CAST(SUM(new_buyers) AS BIGINT), CAST(SUM(repeat_buyers) AS BIGINT), \
         CAST(SUM(revenue_fen) AS BIGINT), CAST(SUM(discount_fen) AS BIGINT), \
         CAST(SUM(compensation_fen) AS BIGINT), CAST(SUM(effort_fen) AS BIGINT) \
         FROM monthly_stats WHERE 1 = 1",
    );
    narrow(&mut q, by, f, "owner_id", "team_id");
    period(&mut q, f, "month");
    q.push(" GROUP BY month ORDER BY month");
    let rows: Vec<M> = db.conn().fetch_all(q).await?;
    let months = rows
        .into_iter()
        .map(
            |(
                month,
                orders,
                buyers,
                new_buyers,
                repeat_buyers,
                revenue,
                discount,
                comp,
                effort,
            )| {
                MonthRow {
                    month,
                    orders,
                    buyers,
                    new_buyers,
                    repeat_buyers,
                    revenue_fen: revenue,
                    discount_fen: discount,
                    compensation_fen: comp,
                    effort_fen: effort,
                    profit_fen: revenue
                        .saturating_sub(discount)
                        .saturating_sub(comp)
                        .saturating_sub(effort),
                }
            },
        )
        .collect();

    let mut q = Query::new(
        "SELECT from_class, to_class, month, CAST(SUM(customers) AS BIGINT) \
         FROM lifecycle_moves WHERE 1 = 1",
    );
    narrow(&mut q, by, f, "owner_id", "team_id");
    period(&mut q, f, "month");
    q.push(" GROUP BY month, from_class, to_class ORDER BY month, from_class, to_class");
    let rows: Vec<(String, String, String, i64)> = db.conn().fetch_all(q).await?;
    let moves = rows
        .into_iter()
        .map(|(from, to, month, customers)| MoveRow {
            month,
            from,
            to,
            customers,
        })
        .collect();

    // The scores as of the last recompute, of live customers in scope: one
    // read of them all, counted, bucketed and ranked here.
    let mut q = Query::new(
        "SELECT COALESCE(c.grade, ''), s.tier, s.lifecycle, s.profit_fen, s.clv_fen, \
         s.p_alive, s.customer_id \
         FROM customer_scores s JOIN customers c ON c.id = s.customer_id \
         WHERE c.deleted_at IS NULL",
    );
    narrow(&mut q, by, f, "c.owner_id", "c.team_id");
    type S = (
        String,
        String,
        String,
        i64,
        Option<i64>,
        Option<f64>,
        String,
    );
    let rows: Vec<S> = db.conn().fetch_all(q).await?;
    let mut grades: Vec<GradeRow> = ["A", "B", "C"]
        .iter()
        .map(|g| GradeRow {
            grade: g.to_string(),
            ..GradeRow::default()
        })
        .collect();
    let mut lifecycle: Vec<CountRow> = kehu_domain::value::Lifecycle::ALL
        .iter()
        .map(|l| CountRow {
            class: l.code().into(),
            customers: 0,
        })
        .collect();
    let mut counts = [0i64; CLV_BUCKETS_YUAN.len()];
    let mut profits = Vec::with_capacity(rows.len());
    let mut risky: Vec<(i64, String)> = Vec::new();
    for (grade, tier, class, profit, clv_fen, p_alive, id) in rows {
        let row = match grades.iter().position(|g| g.grade == grade) {
            Some(i) => &mut grades[i],
            None => {
                grades.push(GradeRow {
                    grade,
                    ..GradeRow::default()
                });
                grades.last_mut().expect("just pushed")
            }
        };
        let key = tier == "key";
        if key {
            row.key += 1;
        } else {
            row.general += 1;
        }
        if let Some(l) = lifecycle.iter_mut().find(|l| l.class == class) {
            l.customers += 1;
        }
        profits.push(profit);
        if let Some(v) = clv_fen {
            // The last bound at or below the value; below the second
            // bound (negatives included) is the first bucket.
            let i = CLV_BUCKETS_YUAN
                .iter()
                .rposition(|&b| v >= b * 100)
                .unwrap_or(0);
            counts[i] += 1;
        }
        if key && p_alive.is_some_and(|p| p < AT_RISK_P_ALIVE) {
            risky.push((profit, id));
        }
    }
    let Pareto {
        customers,
        total_fen,
        top20_share,
        curve,
        ..
    } = pareto(&profits);
    let edges = CLV_BUCKETS_YUAN;
    let clv = counts
        .iter()
        .enumerate()
        .map(|(i, &customers)| Bucket {
            from_yuan: (i > 0).then(|| edges[i]),
            to_yuan: edges.get(i + 1).copied(),
            customers,
        })
        .collect();

    // The most profitable at risk first; their names in one more read.
    risky.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    risky.truncate(AT_RISK_ROWS);
    let mut at_risk = Vec::new();
    if !risky.is_empty() {
        let mut q = Query::new(
            "SELECT c.id, c.name, c.grade, s.p_alive, s.clv_fen, s.profit_fen, \
             (SELECT u.name FROM users u WHERE u.id = c.owner_id) \
             FROM customer_scores s JOIN customers c ON c.id = s.customer_id WHERE c.id IN ",
        );
        q.push_list(risky.iter().map(|r| r.1.as_str()));
        type R = (
            String,
            String,
            Option<String>,
            f64,
            Option<i64>,
            i64,
            Option<String>,
        );
        let rows: Vec<R> = db.conn().fetch_all(q).await?;
        let mut found: std::collections::HashMap<String, RiskRow> = rows
            .into_iter()
            .map(|(id, name, grade, p_alive, clv_fen, profit_fen, owner)| {
                (
                    id.clone(),
                    RiskRow {
                        id,
                        name,
                        grade,
                        p_alive,
                        clv_fen,
                        profit_fen,
                        owner,
                    },
                )
            })
            .collect();
        at_risk = risky.iter().filter_map(|r| found.remove(&r.1)).collect();
    }

    Ok(Dashboard {
        as_of,
        months,
        grades,
        lifecycle,
        moves,
        customers: customers as i64,
        profit_fen: total_fen,
        top20_profit_share: top20_share,
        pareto_curve: curve,
        clv,
        at_risk,
    })
}
