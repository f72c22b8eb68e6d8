//! 服务分析: the service desk's figures for a period, filterable by team
//! and assignee — complaint volume by month, category, purpose and product;
//! service-level compliance and broken promises; response and resolution
//! times; compensation; satisfaction index and NPS; the words customers use;
//! arrivals by weekday and hour. Each chart (Apache ECharts) has its table,
//! and each table downloads as an Excel workbook.

use crate::auth::WebUser;
use crate::state::AppState;
use crate::ui::page::{render, Chrome, PageError, PageResult};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use kehu_domain::ids::{TeamId, UserId};
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Lang, Problem};
use kehu_store::auth;
use kehu_store::report::{Cell, Table};
use kehu_store::service_insight::{self, Filter, Insight};
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
    assignee: String,
    #[serde(default)]
    table: String,
}

/// The period and filters asked for: `from` and `to` are days (inclusive)
/// in the business time zone; by default the last three calendar months.
fn filter(p: &Params, zone: chrono_tz::Tz) -> Result<(Filter, NaiveDate, NaiveDate), FieldErrors> {
    let mut e = FieldErrors::new();
    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
    let default_from = NaiveDate::from_ymd_opt(today.year(), today.month(), 1)
        .and_then(|d| d.checked_sub_months(chrono::Months::new(2)))
        .unwrap_or(today);
    let day = |raw: &str, field: &str, d: NaiveDate, e: &mut FieldErrors| {
        if raw.trim().is_empty() {
            d
        } else {
            e.take(
                field,
                kehu_domain::text::date(raw).and_then(|d| d.ok_or(Problem::Required)),
            )
            .unwrap_or(d)
        }
    };
    let from = day(&p.from, "from", default_from, &mut e);
    let to = day(&p.to, "to", today, &mut e);
    if to < from {
        e.add(
            "to",
            Problem::Invalid {
                zh: "结束日期不能早于开始日期".into(),
                en: "the end is before the start".into(),
            },
        );
    }
    let team: Option<TeamId> = match p.team.trim() {
        "" => None,
        t => e.take("team", t.parse().map_err(|_| Problem::NotFound)),
    };
    let assignee: Option<UserId> = match p.assignee.trim() {
        "" => None,
        a => e.take("assignee", a.parse().map_err(|_| Problem::NotFound)),
    };
    e.into_result()?;
    let start = |d: NaiveDate| {
        kehu_domain::time::parse_local(&format!("{d} 00:00"), zone)
            .unwrap_or_else(|_| Timestamp::now())
    };
    let f = Filter {
        from: start(from),
        to: start(to.succ_opt().unwrap_or(to)),
        team_id: team,
        assignee_id: assignee,
    };
    Ok((f, from, to))
}

const WEEKDAYS_ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
const WEEKDAYS_EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn pct(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 * 100.0 / d as f64)
}

/// The tables of the page, in order.
pub fn tables(i: &Insight, lang: Lang) -> Vec<Table> {
    let t = |zh: &'static str, en: &'static str| lang.pick(zh, en).to_string();
    let mut out = vec![];
    out.push(Table {
        id: "months",
        title: t("每月工单与服务水平", "Tickets and service level by month"),
        headers: vec![
            t("月份", "Month"),
            t("工单", "Tickets"),
            t("投诉", "Complaints"),
            t("首次响应达标率 %", "First response in time %"),
            t("解决达标率 %", "Resolved in time %"),
            t("承诺失约", "Promises broken"),
            t("补偿（元）", "Compensation (yuan)"),
            t("答卷", "Survey answers"),
            t("满意度指数", "Satisfaction index"),
            "NPS".into(),
        ],
        rows: i
            .months
            .iter()
            .map(|m| {
                vec![
                    Cell::text(&m.month),
                    Cell::int(m.tickets as i64),
                    Cell::int(m.complaints as i64),
                    Cell::num(pct(m.first_response_met, m.first_response_due), 1),
                    Cell::num(pct(m.resolution_met, m.resolution_due), 1),
                    Cell::int(m.promises_broken as i64),
                    Cell::yuan(m.compensation_fen),
                    Cell::int(m.surveys as i64),
                    Cell::num(m.satisfaction_index, 1),
                    Cell::num(m.nps, 1),
                ]
            })
            .collect(),
    });
    let counts = |id: &'static str, title: String, head: String, rows: Vec<(String, u64)>| Table {
        id,
        title,
        headers: vec![head, t("工单", "Tickets")],
        rows: rows
            .into_iter()
            .map(|(k, n)| vec![Cell::text(k), Cell::int(n as i64)])
            .collect(),
    };
    out.push(counts(
        "categories",
        t("按类别", "By category"),
        t("类别", "Category"),
        i.by_category
            .iter()
            .map(|(k, n)| {
                (
                    if k.is_empty() {
                        t("（未分类）", "(none)")
                    } else {
                        k.clone()
                    },
                    *n,
                )
            })
            .collect(),
    ));
    out.push(counts(
        "purposes",
        t("按投诉目的", "By purpose"),
        t("目的", "Purpose"),
        i.by_purpose
            .iter()
            .map(|(p, n)| (p.label(lang).to_string(), *n))
            .collect(),
    ));
    out.push(counts(
        "products",
        t("按产品", "By product"),
        t("产品", "Product"),
        i.by_product.iter().take(30).cloned().collect(),
    ));
    let s = &i.sla;
    out.push(Table {
        id: "sla",
        title: t("服务水平与承诺", "Service level and promises"),
        headers: vec![t("指标", "Measure"), t("数值", "Value")],
        rows: vec![
            vec![
                Cell::text(t("工单", "Tickets")),
                Cell::int(s.tickets as i64),
            ],
            vec![
                Cell::text(t("首次响应达标率 %", "First response in time %")),
                Cell::num(pct(s.first_response_met, s.responded), 1),
            ],
            vec![
                Cell::text(t("解决达标率 %", "Resolved in time %")),
                Cell::num(pct(s.resolution_met, s.resolved), 1),
            ],
            vec![
                Cell::text(t("未结且已超时", "Open and overdue")),
                Cell::int(s.open_breached as i64),
            ],
            vec![
                Cell::text(t(
                    "首次响应（小时，中位数）",
                    "First response (hours, median)",
                )),
                Cell::num(s.first_response_hours_median, 1),
            ],
            vec![
                Cell::text(t("首次响应（小时，平均）", "First response (hours, mean)")),
                Cell::num(s.first_response_hours_mean, 1),
            ],
            vec![
                Cell::text(t("解决（小时，中位数）", "Resolution (hours, median)")),
                Cell::num(s.resolution_hours_median, 1),
            ],
            vec![
                Cell::text(t("解决（小时，平均）", "Resolution (hours, mean)")),
                Cell::num(s.resolution_hours_mean, 1),
            ],
            vec![
                Cell::text(t("承诺次数", "Promises made")),
                Cell::int(s.promises_made as i64),
            ],
            vec![
                Cell::text(t("守约", "Kept")),
                Cell::int(s.promises_kept as i64),
            ],
            vec![
                Cell::text(t("失约", "Broken")),
                Cell::int(s.promises_broken as i64),
            ],
            vec![
                Cell::text(t("满意度指数", "Satisfaction index")),
                Cell::num(i.satisfaction_index, 1),
            ],
            vec![Cell::text("NPS"), Cell::num(i.nps, 1)],
            vec![
                Cell::text(t("答卷", "Survey answers")),
                Cell::int(i.surveys as i64),
            ],
        ],
    });
    out.push(Table {
        id: "compensation",
        title: t("补偿成本", "Compensation cost"),
        headers: vec![
            t("方式", "Kind"),
            t("次数", "Count"),
            t("金额（元）", "Amount (yuan)"),
        ],
        rows: i
            .compensation
            .iter()
            .map(|(k, n, f)| {
                vec![
                    Cell::text(k.label(lang)),
                    Cell::int(*n as i64),
                    Cell::yuan(*f),
                ]
            })
            .chain(std::iter::once(vec![
                Cell::text(t("合计", "Total")),
                Cell::int(i.compensation.iter().map(|c| c.1 as i64).sum::<i64>()),
                Cell::yuan(i.compensation_fen),
            ]))
            .collect(),
    });
    out.push(Table {
        id: "keywords",
        title: t("客户之声：高频词", "Voice of the customer: frequent words"),
        headers: vec![
            t("词", "Word"),
            t("提及次数（本期）", "Texts mentioning it (this period)"),
            t("上期", "Previous period"),
            t("占比变化 %", "Change of share %"),
        ],
        rows: i
            .keywords
            .iter()
            .map(|k| {
                vec![
                    Cell::text(&k.word),
                    Cell::int(k.now as i64),
                    Cell::int(k.before as i64),
                    Cell::num(k.trend(i.texts_now, i.texts_before), 1),
                ]
            })
            .collect(),
    });
    out.push(Table {
        id: "keyword_trend",
        title: t("高频词逐月变化", "Frequent words month by month"),
        headers: std::iter::once(t("月份", "Month"))
            .chain(i.trend_words.iter().cloned())
            .collect(),
        rows: i
            .trend
            .iter()
            .map(|(m, counts)| {
                std::iter::once(Cell::text(m))
                    .chain(counts.iter().map(|n| Cell::int(*n as i64)))
                    .collect()
            })
            .collect(),
    });
    let days = if lang == Lang::En {
        WEEKDAYS_EN
    } else {
        WEEKDAYS_ZH
    };
    out.push(Table {
        id: "heat",
        title: t(
            "工单到达：星期 × 小时",
            "Ticket arrivals by weekday and hour",
        ),
        headers: std::iter::once(t("星期", "Day"))
            .chain((0..24).map(|h| format!("{h:02}")))
            .collect(),
        rows: i
            .heat
            .iter()
            .enumerate()
            .map(|(d, hours)| {
                std::iter::once(Cell::text(days[d]))
                    .chain(hours.iter().map(|n| Cell::int(*n as i64)))
                    .collect()
            })
            .collect(),
    });
    out
}

/// Column `c` of a table as chart data.
pub(crate) fn col(t: &Table, c: usize) -> Vec<Value> {
    t.rows
        .iter()
        .map(|r| match &r[c] {
            Cell::Text(s) => json!(s),
            Cell::Number(n) => json!(n),
            Cell::Empty => Value::Null,
        })
        .collect()
}

/// The chart of a table, as an ECharts option.
fn chart(t: &Table, lang: Lang) -> Option<Value> {
    let base = |x: Vec<Value>, series: Vec<Value>| {
        json!({
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0},
            "grid": {"left": 40, "right": 20, "top": 40, "bottom": 30, "containLabel": true},
            "xAxis": {"type": "category", "data": x},
            "yAxis": {"type": "value"},
            "series": series,
        })
    };
    Some(match t.id {
        "months" => {
            let mut o = base(
                col(t, 0),
                vec![
                    json!({"name": t.headers[1], "type": "bar", "data": col(t, 1)}),
                    json!({"name": t.headers[2], "type": "bar", "data": col(t, 2)}),
                    json!({"name": t.headers[3], "type": "line", "yAxisIndex": 1, "data": col(t, 3)}),
                    json!({"name": t.headers[4], "type": "line", "yAxisIndex": 1, "data": col(t, 4)}),
                    json!({"name": t.headers[8], "type": "line", "yAxisIndex": 1, "data": col(t, 8)}),
                    json!({"name": "NPS", "type": "line", "yAxisIndex": 1, "data": col(t, 9)}),
                ],
            );
            o["yAxis"] = json!([{"type": "value"}, {"type": "value", "min": -100, "max": 100}]);
            o
        }
        "categories" | "products" | "compensation" => {
            let (x, y) = if t.id == "compensation" {
                let n = t.rows.len().saturating_sub(1);
                (col(t, 0)[..n].to_vec(), col(t, 2)[..n].to_vec())
            } else {
                (col(t, 0), col(t, 1))
            };
            base(
                x,
                vec![json!({"name": t.headers.last(), "type": "bar", "data": y})],
            )
        }
        "purposes" => json!({
            "tooltip": {"trigger": "item"},
            "series": [{"type": "pie", "radius": ["35%", "65%"],
                "data": t.rows.iter().map(|r| json!({"name": r[0].show(), "value": match r[1] { Cell::Number(n) => n, _ => 0.0 }})).collect::<Vec<_>>()}],
        }),
        "keywords" => {
            let n = t.rows.len().min(20);
            let mut o = base(
                col(t, 0)[..n].to_vec(),
                vec![json!({"name": t.headers[1], "type": "bar", "data": col(t, 1)[..n].to_vec()})],
            );
            o["xAxis"]["axisLabel"] = json!({"rotate": 45});
            o
        }
        "keyword_trend" => base(
            col(t, 0),
            (1..t.headers.len())
                .map(|c| json!({"name": t.headers[c], "type": "line", "data": col(t, c)}))
                .collect(),
        ),
        "heat" => {
            let mut data = vec![];
            let mut max = 1.0f64;
            for (d, r) in t.rows.iter().enumerate() {
                for h in 0..24 {
                    if let Cell::Number(n) = r[h + 1] {
                        max = max.max(n);
                        data.push(json!([h, d, n]));
                    }
                }
            }
            json!({
                "tooltip": {"position": "top"},
                "grid": {"left": 50, "right": 10, "top": 10, "bottom": 60},
                "xAxis": {"type": "category", "data": (0..24).map(|h| format!("{h:02}")).collect::<Vec<_>>(), "splitArea": {"show": true}},
                "yAxis": {"type": "category", "data": col(t, 0), "splitArea": {"show": true}},
                "visualMap": {"min": 0, "max": max, "calculable": true, "orient": "horizontal", "left": "center", "bottom": 0},
                "series": [{"name": lang.pick("工单", "Tickets"), "type": "heatmap", "data": data, "label": {"show": false}}],
            })
        }
        _ => return None,
    })
}

pub struct Shown {
    pub table: Table,
    pub chart: Option<String>,
    pub rows: Vec<Vec<String>>,
}

impl Shown {
    /// Tables with their charts and cells as shown.
    pub fn all(tables: Vec<Table>, chart: impl Fn(&Table) -> Option<Value>) -> Vec<Shown> {
        tables
            .into_iter()
            .map(|t| Shown {
                chart: chart(&t).map(|c| c.to_string()),
                rows: t
                    .rows
                    .iter()
                    .map(|r| r.iter().map(Cell::show).collect())
                    .collect(),
                table: t,
            })
            .collect()
    }
}

#[derive(Template)]
#[template(path = "service_insight.html")]
struct Page {
    chrome: Chrome,
    from: String,
    to: String,
    teams: Vec<(String, String, bool)>,
    users: Vec<(String, String, bool)>,
    query: String,
    shown: Vec<Shown>,
    texts_now: u64,
}

/// The figures of the period asked for, if the user may see them.
async fn read(
    s: &AppState,
    u: &WebUser,
    p: &Params,
) -> Result<(Insight, Filter, NaiveDate, NaiveDate), PageError> {
    if !u.principal.role.can_view_analytics() {
        return Err(PageError::forbidden(u.lang));
    }
    let zone = s.config.timezone;
    let (f, from, to) = filter(p, zone)
        .map_err(|e| PageError::field_errors(axum::http::StatusCode::BAD_REQUEST, &e, u.lang))?;
    let i = service_insight::insight(&s.db, &u.principal, &f, zone, Timestamp::now())
        .await
        .page(u.lang)?;
    Ok((i, f, from, to))
}

pub async fn show(
    State(s): State<AppState>,
    u: WebUser,
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let zone = s.config.timezone;
    let (i, f, from, to) = read(&s, &u, &p).await?;
    let shown = Shown::all(tables(&i, lang), |t| chart(t, lang));
    let (teams, users) = choices(&s, lang, &p.team, &p.assignee).await?;
    let query = format!(
        "from={from}&to={to}&team={}&assignee={}",
        f.team_id
            .as_ref()
            .map(|t| t.to_string())
            .unwrap_or_default(),
        f.assignee_id
            .as_ref()
            .map(|t| t.to_string())
            .unwrap_or_default()
    );
    Ok(render(&Page {
        chrome: Chrome::new(&u, "insight", zone),
        from: from.to_string(),
        to: to.to_string(),
        teams,
        users,
        query,
        shown,
        texts_now: i.texts_now,
    }))
}

/// One table of the page as an Excel workbook.
pub async fn export(
    State(s): State<AppState>,
    u: WebUser,
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let (i, _, from, to) = read(&s, &u, &p).await?;
    let Some(t) = tables(&i, lang).into_iter().find(|t| t.id == p.table) else {
        return Err(PageError::not_found(lang));
    };
    xlsx(&t, &format!("kehu-service-{}-{from}-{to}.xlsx", t.id), lang)
}

/// A filter's choices: (id, name, chosen) of every team and of every user
/// who may own customers.
pub(crate) type Choices = Vec<(String, String, bool)>;

pub(crate) async fn choices(
    s: &AppState,
    lang: Lang,
    team: &str,
    user: &str,
) -> Result<(Choices, Choices), PageError> {
    let teams = auth::teams(&s.db)
        .await
        .page(lang)?
        .into_iter()
        .map(|t| (t.id.clone(), t.name, t.id == team))
        .collect();
    let users = auth::users(&s.db)
        .await
        .page(lang)?
        .into_iter()
        .filter(|x| x.role.can_write_customers())
        .map(|x| (x.id.to_string(), x.name, x.id.to_string() == user))
        .collect();
    Ok((teams, users))
}

/// A table as an Excel download named `name`.
pub(crate) fn xlsx(t: &Table, name: &str, lang: Lang) -> Result<Response, PageError> {
    let bytes = t.to_xlsx().page(lang)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                kehu_domain::export::Format::Xlsx.content_type().to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
