//! 经营看板: the management dashboard — new and repeat buyers, revenue,
//! cost to serve and profit by month, the grade pyramid, the lifecycle mix
//! and its moves month to month, the Pareto curve of profit, the CLV
//! distribution and key customers at risk — filterable by team, owner and
//! period. Each chart (Apache ECharts) has its table, and each table
//! downloads as an Excel workbook.

use crate::api::analytics::DashboardQuery;
use crate::auth::WebUser;
use crate::state::AppState;
use crate::ui::insight::{choices, col, xlsx, Shown};
use crate::ui::page::{render, Chrome, PageError, PageResult};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{Datelike, NaiveDate};
use kehu_domain::money::Fen;
use kehu_domain::value::Lifecycle;
use kehu_domain::Lang;
use kehu_store::dashboard::{self, Dashboard, Filter};
use kehu_store::report::{Cell, Table};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    table: String,
}

/// The months asked for; by default the last twelve.
fn filter(
    p: &Params,
    zone: chrono_tz::Tz,
) -> Result<(Filter, String, String), kehu_domain::FieldErrors> {
    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let default_from = this_month
        .checked_sub_months(chrono::Months::new(11))
        .unwrap_or(this_month);
    let or = |raw: &str, d: NaiveDate| {
        if raw.trim().is_empty() {
            d.format("%Y-%m").to_string()
        } else {
            raw.trim().to_string()
        }
    };
    let q = DashboardQuery {
        team_id: Some(p.team.clone()),
        owner_id: Some(p.owner.clone()),
        from: Some(or(&p.from, default_from)),
        to: Some(or(&p.to, this_month)),
    };
    let f = q.filter()?;
    Ok((f, q.from.unwrap_or_default(), q.to.unwrap_or_default()))
}

fn class_label(code: &str, lang: Lang) -> String {
    match Lifecycle::parse(code) {
        Ok(l) => l.label(lang).to_string(),
        Err(_) => lang.pick("（新评分）", "(newly scored)").to_string(),
    }
}

/// The tables of the page, in order.
pub fn tables(d: &Dashboard, lang: Lang) -> Vec<Table> {
    let t = |zh: &'static str, en: &'static str| lang.pick(zh, en).to_string();
    let mut out = vec![Table {
        id: "months",
        title: t(
            "新老客户与收入利润（按月）",
            "New and repeat buyers, revenue and profit by month",
        ),
        headers: vec![
            t("月份", "Month"),
            t("新客户", "New buyers"),
            t("老客户（复购）", "Repeat buyers"),
            t("订单", "Orders"),
            t("销售额（折前，元）", "Revenue before discounts (yuan)"),
            t("折让（元）", "Discounts (yuan)"),
            t("补偿（元）", "Compensation (yuan)"),
            t("服务成本（元）", "Service effort (yuan)"),
            t("利润（元）", "Profit (yuan)"),
        ],
        rows: d
            .months
            .iter()
            .map(|m| {
                vec![
                    Cell::text(&m.month),
                    Cell::int(m.new_buyers),
                    Cell::int(m.repeat_buyers),
                    Cell::int(m.orders),
                    Cell::yuan(m.revenue_fen),
                    Cell::yuan(m.discount_fen),
                    Cell::yuan(m.compensation_fen),
                    Cell::yuan(m.effort_fen),
                    Cell::yuan(m.profit_fen),
                ]
            })
            .collect(),
    }];
    out.push(Table {
        id: "grades",
        title: t("客户等级金字塔", "Grade pyramid"),
        headers: vec![
            t("等级", "Grade"),
            t("重点客户", "Key"),
            t("一般客户", "General"),
            t("合计", "Total"),
        ],
        rows: d
            .grades
            .iter()
            .map(|g| {
                vec![
                    Cell::text(if g.grade.is_empty() {
                        t("（未分级）", "(not graded)")
                    } else {
                        g.grade.clone()
                    }),
                    Cell::int(g.key),
                    Cell::int(g.general),
                    Cell::int(g.key + g.general),
                ]
            })
            .collect(),
    });
    out.push(Table {
        id: "lifecycle",
        title: t("客户生命周期分布", "Lifecycle mix"),
        headers: vec![t("类别", "Class"), t("客户", "Customers")],
        rows: d
            .lifecycle
            .iter()
            .map(|l| {
                vec![
                    Cell::text(class_label(&l.class, lang)),
                    Cell::int(l.customers),
                ]
            })
            .collect(),
    });
    out.push(Table {
        id: "moves",
        title: t("生命周期的月度迁移", "Lifecycle moves month to month"),
        headers: vec![
            t("月份", "Month"),
            t("上月末", "End of the month before"),
            t("本月", "This month"),
            t("客户", "Customers"),
        ],
        rows: d
            .moves
            .iter()
            .map(|m| {
                vec![
                    Cell::text(&m.month),
                    Cell::text(class_label(&m.from, lang)),
                    Cell::text(class_label(&m.to, lang)),
                    Cell::int(m.customers),
                ]
            })
            .collect(),
    });
    out.push(Table {
        id: "pareto",
        title: t("利润帕累托曲线（80/20）", "Pareto curve of profit (80/20)"),
        headers: vec![
            t("客户占比 %", "Share of customers %"),
            t("累计利润占比 %", "Cumulative share of profit %"),
        ],
        rows: d
            .pareto_curve
            .iter()
            .step_by(5)
            .map(|&(c, p)| vec![Cell::num(Some(c * 100.0), 0), Cell::num(Some(p * 100.0), 1)])
            .collect(),
    });
    out.push(Table {
        id: "clv",
        title: t("客户终身价值分布", "Lifetime value distribution"),
        headers: vec![
            t("终身价值（元）", "Lifetime value (yuan)"),
            t("客户", "Customers"),
        ],
        rows: d
            .clv
            .iter()
            .map(|b| {
                let range = match (b.from_yuan, b.to_yuan) {
                    (None, Some(to)) => format!("< {to}"),
                    (Some(from), Some(to)) => format!("{from} – {to}"),
                    (Some(from), None) => format!("≥ {from}"),
                    (None, None) => String::new(),
                };
                vec![Cell::text(range), Cell::int(b.customers)]
            })
            .collect(),
    });
    out.push(Table {
        id: "at_risk",
        title: t(
            "流失风险：活跃概率低的重点客户",
            "At risk: key customers unlikely to be still active",
        ),
        headers: vec![
            t("客户", "Customer"),
            t("等级", "Grade"),
            t("活跃概率 %", "P(alive) %"),
            t("终身价值（元）", "Lifetime value (yuan)"),
            t("利润（元）", "Profit (yuan)"),
            t("负责人", "Owner"),
        ],
        rows: d
            .at_risk
            .iter()
            .map(|r| {
                vec![
                    Cell::text(&r.name),
                    Cell::text(r.grade.clone().unwrap_or_default()),
                    Cell::num(Some(r.p_alive * 100.0), 0),
                    r.clv_fen.map_or(Cell::Empty, Cell::yuan),
                    Cell::yuan(r.profit_fen),
                    Cell::text(r.owner.clone().unwrap_or_default()),
                ]
            })
            .collect(),
    });
    out
}

/// The chart of a table, as an ECharts option.
fn chart(t: &Table, lang: Lang) -> Option<Value> {
    let axis = |x: Vec<Value>, series: Vec<Value>| {
        json!({
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0},
            "grid": {"left": 40, "right": 20, "top": 40, "bottom": 30, "containLabel": true},
            "xAxis": {"type": "category", "data": x},
            "yAxis": {"type": "value"},
            "series": series,
        })
    };
    let pie = |t: &Table| {
        json!({
            "tooltip": {"trigger": "item"},
            "legend": {"top": 0},
            "series": [{"type": "pie", "radius": ["35%", "65%"],
                "data": t.rows.iter().map(|r| json!({"name": r[0].show(), "value": match r[1] { Cell::Number(n) => n, _ => 0.0 }})).collect::<Vec<_>>()}],
        })
    };
    Some(match t.id {
        "months" => {
            let mut o = axis(
                col(t, 0),
                vec![
                    json!({"name": t.headers[1], "type": "bar", "stack": "buyers", "data": col(t, 1)}),
                    json!({"name": t.headers[2], "type": "bar", "stack": "buyers", "data": col(t, 2)}),
                    json!({"name": t.headers[4], "type": "line", "yAxisIndex": 1, "data": col(t, 4)}),
                    json!({"name": t.headers[8], "type": "line", "yAxisIndex": 1, "data": col(t, 8)}),
                ],
            );
            o["yAxis"] = json!([{"type": "value"}, {"type": "value"}]);
            o
        }
        "grades" => {
            // A pyramid: C at the base, A at the top.
            let rows: Vec<&Vec<Cell>> = t.rows.iter().rev().collect();
            let names: Vec<Value> = rows.iter().map(|r| json!(r[0].show())).collect();
            let series = |c: usize| {
                rows.iter()
                    .map(|r| match r[c] {
                        Cell::Number(n) => json!(n),
                        _ => json!(0),
                    })
                    .collect::<Vec<_>>()
            };
            json!({
                "tooltip": {"trigger": "axis"},
                "legend": {"top": 0},
                "grid": {"left": 40, "right": 20, "top": 40, "bottom": 30, "containLabel": true},
                "xAxis": {"type": "value"},
                "yAxis": {"type": "category", "data": names},
                "series": [
                    {"name": t.headers[1], "type": "bar", "stack": "all", "data": series(1)},
                    {"name": t.headers[2], "type": "bar", "stack": "all", "data": series(2)},
                ],
            })
        }
        "lifecycle" => pie(t),
        "moves" => {
            // Customers in each class at the end of each month.
            let mut months: Vec<String> = t.rows.iter().map(|r| r[0].show()).collect();
            months.dedup();
            let classes: Vec<String> = Lifecycle::ALL
                .iter()
                .map(|l| l.label(lang).to_string())
                .collect();
            let series: Vec<Value> = classes
                .iter()
                .map(|class| {
                    let data: Vec<f64> = months
                        .iter()
                        .map(|m| {
                            t.rows
                                .iter()
                                .filter(|r| &r[0].show() == m && &r[2].show() == class)
                                .map(|r| match r[3] {
                                    Cell::Number(n) => n,
                                    _ => 0.0,
                                })
                                .sum()
                        })
                        .collect();
                    json!({"name": class, "type": "bar", "stack": "mix", "data": data})
                })
                .collect();
            axis(months.into_iter().map(Value::from).collect(), series)
        }
        "pareto" => {
            let mut o = axis(
                col(t, 0),
                vec![
                    json!({"name": t.headers[1], "type": "line", "smooth": true, "areaStyle": {}, "data": col(t, 1)}),
                ],
            );
            o["yAxis"] = json!({"type": "value", "max": 100});
            o
        }
        "clv" => axis(
            col(t, 0),
            vec![json!({"name": t.headers[1], "type": "bar", "data": col(t, 1)})],
        ),
        _ => return None,
    })
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Page {
    chrome: Chrome,
    from: String,
    to: String,
    teams: Vec<(String, String, bool)>,
    users: Vec<(String, String, bool)>,
    query: String,
    shown: Vec<Shown>,
    as_of: Option<String>,
    customers: i64,
    profit: String,
    top20: Option<String>,
}

async fn read(
    s: &AppState,
    u: &WebUser,
    p: &Params,
) -> Result<(Dashboard, String, String), PageError> {
    if !u.principal.role.can_view_analytics() {
        return Err(PageError::forbidden(u.lang));
    }
    let (f, from, to) = filter(p, s.config.timezone)
        .map_err(|e| PageError::field_errors(axum::http::StatusCode::BAD_REQUEST, &e, u.lang))?;
    let d = dashboard::read(&s.db, &u.principal, &f)
        .await
        .page(u.lang)?;
    Ok((d, from, to))
}

pub async fn show(
    State(s): State<AppState>,
    u: WebUser,
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let (d, from, to) = read(&s, &u, &p).await?;
    let (teams, users) = choices(&s, lang, &p.team, &p.owner).await?;
    let query = format!(
        "from={from}&to={to}&team={}&owner={}",
        urlencoding(&p.team),
        urlencoding(&p.owner)
    );
    Ok(render(&Page {
        chrome: Chrome::new(&u, "dashboard", s.config.timezone),
        teams,
        users,
        query,
        shown: Shown::all(tables(&d, lang), |t| chart(t, lang)),
        as_of: d.as_of.map(|d| d.to_string()),
        customers: d.customers,
        profit: Fen(d.profit_fen).to_string(),
        top20: d.top20_profit_share.map(|s| format!("{:.1}%", s * 100.0)),
        from,
        to,
    }))
}

/// Ids and months only: anything else is dropped from links.
fn urlencoding(v: &str) -> String {
    v.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

/// One table of the dashboard as an Excel workbook.
pub async fn export(
    State(s): State<AppState>,
    u: WebUser,
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let (d, from, to) = read(&s, &u, &p).await?;
    let Some(t) = tables(&d, lang).into_iter().find(|t| t.id == p.table) else {
        return Err(PageError::not_found(lang));
    };
    xlsx(
        &t,
        &format!("kehu-dashboard-{}-{from}-{to}.xlsx", t.id),
        lang,
    )
}
