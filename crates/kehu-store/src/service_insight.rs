//! What the service desk learns from its tickets over a period: complaint
//! volume by category, product and purpose; service-level compliance and
//! promises broken; time to first response and to resolution; compensation
//! cost; the satisfaction index and NPS month by month; the words customers
//! use (voice of the customer) against the period before; and when tickets
//! arrive, by weekday and hour, for staffing. Within the principal's scope,
//! optionally for one team or one assignee.
//!
//! The rows of the period are read once and aggregated here (months and
//! hours in the business time zone, which SQL cannot do alike on both
//! databases).

use crate::customers::push_scope;
use crate::db::Query;
use crate::{Db, Result};
use chrono::{Datelike, Timelike};
use chrono_tz::Tz;
use kehu_domain::ids::{TeamId, UserId};
use kehu_domain::role::Principal;
use kehu_domain::survey::{net_promoter_score, satisfaction_index, Nps, Satisfaction};
use kehu_domain::ticket::{CompensationKind, Purpose};
use kehu_domain::time::Timestamp;
use kehu_domain::voc::{self, Keyword};
use std::collections::BTreeMap;

/// Texts read for the voice of the customer, newest first, per period.
pub const VOC_TEXTS: i64 = 5_000;

#[derive(Debug, Clone)]
pub struct Filter {
    pub from: Timestamp,
    pub to: Timestamp,
    pub team_id: Option<TeamId>,
    pub assignee_id: Option<UserId>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Month {
    /// `YYYY-MM` in the business time zone.
    pub month: String,
    pub tickets: u64,
    pub complaints: u64,
    pub first_response_met: u64,
    pub first_response_due: u64,
    pub resolution_met: u64,
    pub resolution_due: u64,
    pub promises_broken: u64,
    pub compensation_fen: i64,
    pub surveys: u64,
    pub satisfaction_index: Option<f64>,
    pub nps: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Sla {
    pub tickets: u64,
    /// Tickets answered (or resolved) so far, and of them in time.
    pub responded: u64,
    pub first_response_met: u64,
    pub resolved: u64,
    pub resolution_met: u64,
    /// Open tickets past a target now.
    pub open_breached: u64,
    pub promises_made: u64,
    pub promises_kept: u64,
    pub promises_broken: u64,
    /// Wall-clock hours from opening.
    pub first_response_hours_median: Option<f64>,
    pub first_response_hours_mean: Option<f64>,
    pub resolution_hours_median: Option<f64>,
    pub resolution_hours_mean: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Insight {
    pub months: Vec<Month>,
    pub by_category: Vec<(String, u64)>,
    pub by_product: Vec<(String, u64)>,
    pub by_purpose: Vec<(Purpose, u64)>,
    pub sla: Sla,
    /// By kind: (count, fen).
    pub compensation: Vec<(CompensationKind, u64, i64)>,
    pub compensation_fen: i64,
    pub surveys: u64,
    pub satisfaction_index: Option<f64>,
    pub nps: Option<f64>,
    /// Arrivals: `[weekday Monday = 0][hour]`.
    pub heat: [[u64; 24]; 7],
    pub keywords: Vec<Keyword>,
    /// The ten most mentioned words month by month: the words, then per
    /// month (`YYYY-MM`) the texts that mention each.
    pub trend_words: Vec<String>,
    pub trend: Vec<(String, Vec<u64>)>,
    /// Texts read for the keywords, this period and the one before.
    pub texts_now: u64,
    pub texts_before: u64,
}

/// One ticket of the period, as the aggregation needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketRow {
    pub created_at: i64,
    pub kind: String,
    pub category: Option<String>,
    pub product: Option<String>,
    pub purpose: String,
    pub first_response_due_at: Option<i64>,
    pub resolution_due_at: Option<i64>,
    pub first_responded_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub promises_made: i64,
    pub promises_kept: i64,
    pub promises_broken: i64,
}

fn push_filter(q: &mut Query, by: &Principal, f: &Filter) {
    push_scope(q, by);
    if let Some(t) = &f.team_id {
        q.push(" AND t.team_id = ").push_arg(t);
    }
    if let Some(a) = &f.assignee_id {
        q.push(" AND t.assignee_id = ").push_arg(a);
    }
}

/// Reads and aggregates the period.
pub async fn insight(
    db: &Db,
    by: &Principal,
    f: &Filter,
    zone: Tz,
    now: Timestamp,
) -> Result<Insight> {
    let mut q = Query::new(
        "SELECT t.created_at, t.kind, t.category, t.product, t.purpose, t.first_response_due_at, t.resolution_due_at, \
         t.first_responded_at, t.resolved_at, t.promises_made, t.promises_kept, t.promises_broken \
         FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.created_at >= ",
    );
    q.push_arg(f.from)
        .push(" AND t.created_at < ")
        .push_arg(f.to);
    push_filter(&mut q, by, f);
    let tickets: Vec<TicketRow> = db.conn().fetch_all(q).await?;

    let mut q = Query::new(
        "SELECT p.created_at, p.kind, p.amount_fen FROM compensations p JOIN tickets t ON t.id = p.ticket_id \
         JOIN customers c ON c.id = p.customer_id WHERE p.created_at >= ",
    );
    q.push_arg(f.from)
        .push(" AND p.created_at < ")
        .push_arg(f.to);
    push_filter(&mut q, by, f);
    let comps: Vec<(i64, String, i64)> = db.conn().fetch_all(q).await?;

    // Surveys of the customers in scope; with a team or assignee, only
    // those about their tickets.
    let mut q = Query::new(if f.team_id.is_some() || f.assignee_id.is_some() {
        "SELECT s.answered_at, s.satisfaction, s.nps FROM surveys s JOIN tickets t ON t.id = s.ticket_id \
         JOIN customers c ON c.id = s.customer_id WHERE s.answered_at >= "
    } else {
        "SELECT s.answered_at, s.satisfaction, s.nps FROM surveys s \
         JOIN customers c ON c.id = s.customer_id WHERE s.answered_at >= "
    });
    q.push_arg(f.from)
        .push(" AND s.answered_at < ")
        .push_arg(f.to);
    push_filter(&mut q, by, f);
    let surveys: Vec<(i64, Option<i64>, Option<i64>)> = db.conn().fetch_all(q).await?;

    let span = f.to.millis() - f.from.millis();
    let before = Filter {
        from: Timestamp::from_millis(f.from.millis() - span).unwrap_or(f.from),
        to: f.from,
        ..f.clone()
    };
    let texts_now = texts(db, by, f).await?;
    let texts_before = texts(db, by, &before).await?;
    let mut out = aggregate(&tickets, &comps, &surveys, zone, now);
    // Each text's words, found once and counted three ways.
    let words_now: Vec<(i64, std::collections::HashSet<String>)> = texts_now
        .iter()
        .map(|(at, t)| (*at, voc::words(t)))
        .collect();
    let m_now = voc::tally(words_now.iter().map(|(_, set)| set));
    let m_before = voc::mentions(texts_before.iter().map(|(_, t)| t.as_str()));
    out.keywords = voc::top_keywords(&m_now, &m_before, 30);
    out.trend_words = out
        .keywords
        .iter()
        .take(10)
        .map(|k| k.word.clone())
        .collect();
    let mut by_month: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (at, set) in &words_now {
        let month = Timestamp::from_millis(*at)
            .unwrap_or(now)
            .utc()
            .with_timezone(&zone)
            .format("%Y-%m")
            .to_string();
        let row = by_month
            .entry(month)
            .or_insert_with(|| vec![0; out.trend_words.len()]);
        for (i, w) in out.trend_words.iter().enumerate() {
            if set.contains(w) {
                row[i] += 1;
            }
        }
    }
    out.trend = by_month.into_iter().collect();
    out.texts_now = texts_now.len() as u64;
    out.texts_before = texts_before.len() as u64;
    Ok(out)
}

/// Ticket texts and survey comments of a period with their time, newest
/// first, at most [`VOC_TEXTS`] of each.
async fn texts(db: &Db, by: &Principal, f: &Filter) -> Result<Vec<(i64, String)>> {
    let mut q = Query::new(
        "SELECT t.created_at, t.subject, t.description FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.created_at >= ",
    );
    q.push_arg(f.from)
        .push(" AND t.created_at < ")
        .push_arg(f.to);
    push_filter(&mut q, by, f);
    q.push(" ORDER BY t.created_at DESC LIMIT ")
        .push_arg(VOC_TEXTS);
    let rows: Vec<(i64, String, String)> = db.conn().fetch_all(q).await?;
    let mut out: Vec<(i64, String)> = rows
        .into_iter()
        .map(|(at, s, d)| (at, format!("{s}\n{d}")))
        .collect();
    let mut q = Query::new(
        "SELECT s.answered_at, s.comment FROM surveys s LEFT JOIN tickets t ON t.id = s.ticket_id \
         JOIN customers c ON c.id = s.customer_id WHERE s.comment IS NOT NULL AND s.answered_at >= ",
    );
    q.push_arg(f.from)
        .push(" AND s.answered_at < ")
        .push_arg(f.to);
    push_filter(&mut q, by, f);
    q.push(" ORDER BY s.answered_at DESC LIMIT ")
        .push_arg(VOC_TEXTS);
    let rows: Vec<(i64, String)> = db.conn().fetch_all(q).await?;
    out.extend(rows);
    Ok(out)
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The aggregation of the period's rows (pure: tested without a database).
pub fn aggregate(
    tickets: &[TicketRow],
    comps: &[(i64, String, i64)],
    surveys: &[(i64, Option<i64>, Option<i64>)],
    zone: Tz,
    now: Timestamp,
) -> Insight {
    let local = |ms: i64| {
        Timestamp::from_millis(ms)
            .unwrap_or(now)
            .utc()
            .with_timezone(&zone)
    };
    let month_of = |ms: i64| local(ms).format("%Y-%m").to_string();
    let mut months: BTreeMap<String, Month> = BTreeMap::new();
    let mut cats: BTreeMap<String, u64> = BTreeMap::new();
    let mut products: BTreeMap<String, u64> = BTreeMap::new();
    let mut purposes: BTreeMap<Purpose, u64> = BTreeMap::new();
    let mut sla = Sla::default();
    let mut heat = [[0u64; 24]; 7];
    let (mut fr_hours, mut res_hours) = (vec![], vec![]);
    for t in tickets {
        let m = months.entry(month_of(t.created_at)).or_default();
        m.tickets += 1;
        if t.kind == "complaint" {
            m.complaints += 1;
        }
        *cats
            .entry(t.category.clone().unwrap_or_default())
            .or_default() += 1;
        if let Some(p) = t.product.clone().filter(|p| !p.is_empty()) {
            *products.entry(p).or_default() += 1;
        }
        if let Ok(p) = Purpose::parse(&t.purpose) {
            *purposes.entry(p).or_default() += 1;
        }
        let at = local(t.created_at);
        heat[at.weekday().num_days_from_monday() as usize][at.hour() as usize] += 1;
        sla.tickets += 1;
        // The first answer, or the resolution when it came first.
        let answered = match (t.first_responded_at, t.resolved_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(a) = answered {
            sla.responded += 1;
            fr_hours.push((a - t.created_at) as f64 / 3_600_000.0);
            if let Some(due) = t.first_response_due_at {
                m.first_response_due += 1;
                if a <= due {
                    sla.first_response_met += 1;
                    m.first_response_met += 1;
                }
            }
        }
        if let Some(r) = t.resolved_at {
            sla.resolved += 1;
            res_hours.push((r - t.created_at) as f64 / 3_600_000.0);
            if let Some(due) = t.resolution_due_at {
                m.resolution_due += 1;
                if r <= due {
                    sla.resolution_met += 1;
                    m.resolution_met += 1;
                }
            }
        } else {
            let late = |due: Option<i64>| due.is_some_and(|d| now.millis() > d);
            if late(t.resolution_due_at) || (answered.is_none() && late(t.first_response_due_at)) {
                sla.open_breached += 1;
            }
        }
        sla.promises_made += t.promises_made as u64;
        sla.promises_kept += t.promises_kept as u64;
        sla.promises_broken += t.promises_broken as u64;
        m.promises_broken += t.promises_broken as u64;
    }
    sla.first_response_hours_mean = mean(&fr_hours);
    sla.first_response_hours_median = median(&mut fr_hours);
    sla.resolution_hours_mean = mean(&res_hours);
    sla.resolution_hours_median = median(&mut res_hours);

    let mut by_kind: BTreeMap<CompensationKind, (u64, i64)> = BTreeMap::new();
    let mut comp_total = 0i64;
    for (at, kind, fen) in comps {
        months.entry(month_of(*at)).or_default().compensation_fen += fen;
        comp_total += fen;
        if let Ok(k) = CompensationKind::parse(kind) {
            let e = by_kind.entry(k).or_default();
            e.0 += 1;
            e.1 += fen;
        }
    }

    type Answers = (Vec<Satisfaction>, Vec<Nps>);
    let mut by_month: BTreeMap<String, Answers> = BTreeMap::new();
    let (mut all_sat, mut all_nps) = (vec![], vec![]);
    for (at, sat, nps) in surveys {
        let e = by_month.entry(month_of(*at)).or_default();
        if let Some(s) = sat.and_then(|l| Satisfaction::from_level(u8::try_from(l).ok()?)) {
            e.0.push(s);
            all_sat.push(s);
        }
        if let Some(n) = nps.and_then(|n| Nps::new(n).ok()) {
            e.1.push(n);
            all_nps.push(n);
        }
    }
    for (month, (sat, nps)) in &by_month {
        let m = months.entry(month.clone()).or_default();
        m.surveys = sat.len() as u64;
        m.satisfaction_index = satisfaction_index(sat.iter().copied());
        m.nps = net_promoter_score(nps.iter().copied());
    }
    let sorted = |m: BTreeMap<String, u64>| {
        let mut v: Vec<(String, u64)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    };
    Insight {
        months: months
            .into_iter()
            .map(|(k, mut m)| {
                m.month = k;
                m
            })
            .collect(),
        by_category: sorted(cats),
        by_product: sorted(products),
        by_purpose: purposes.into_iter().collect(),
        sla,
        compensation: by_kind.into_iter().map(|(k, (n, f))| (k, n, f)).collect(),
        compensation_fen: comp_total,
        surveys: all_sat.len() as u64,
        satisfaction_index: satisfaction_index(all_sat),
        nps: net_promoter_score(all_nps),
        heat,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    fn row(
        created: &str,
        responded: Option<&str>,
        fr_due: &str,
        resolved: Option<&str>,
        res_due: &str,
    ) -> TicketRow {
        TicketRow {
            created_at: ms(created),
            kind: "complaint".into(),
            category: Some("产品质量".into()),
            product: Some("洗衣机".into()),
            purpose: "accusation".into(),
            first_response_due_at: Some(ms(fr_due)),
            resolution_due_at: Some(ms(res_due)),
            first_responded_at: responded.map(ms),
            resolved_at: resolved.map(ms),
            promises_made: 1,
            promises_kept: 0,
            promises_broken: 1,
        }
    }

    #[test]
    fn months_compliance_heat_and_satisfaction_in_the_business_zone() {
        let zone = chrono_tz::Asia::Shanghai;
        let now = Timestamp::from_millis(ms("2026-12-10T00:00:00Z")).unwrap();
        let tickets = [
            // 2026-11-30 23:30 UTC is Tuesday 1 December 07:30 in Shanghai.
            row(
                "2026-11-30T23:30:00Z",
                Some("2026-12-01T02:00:00Z"),
                "2026-12-01T05:00:00Z",
                Some("2026-12-02T02:00:00Z"),
                "2026-12-01T09:00:00Z",
            ),
            row(
                "2026-11-20T02:00:00Z",
                Some("2026-11-20T09:00:00Z"),
                "2026-11-20T06:00:00Z",
                None,
                "2026-11-25T06:00:00Z",
            ),
        ];
        let comps = [(ms("2026-12-01T03:00:00Z"), "voucher".to_string(), 20_000)];
        let surveys = [
            (ms("2026-12-03T03:00:00Z"), Some(7), Some(10)),
            (ms("2026-12-04T03:00:00Z"), Some(1), Some(0)),
        ];
        let i = aggregate(&tickets, &comps, &surveys, zone, now);
        assert_eq!(
            i.months
                .iter()
                .map(|m| m.month.as_str())
                .collect::<Vec<_>>(),
            ["2026-11", "2026-12"]
        );
        assert_eq!(i.heat[1][7], 1, "Tuesday 07:00 local");
        assert_eq!(i.heat[4][10], 1, "Friday 20 November 10:00 local");
        assert_eq!((i.sla.responded, i.sla.first_response_met), (2, 1));
        assert_eq!((i.sla.resolved, i.sla.resolution_met), (1, 0));
        assert_eq!(i.sla.open_breached, 1);
        assert_eq!(i.sla.promises_broken, 2);
        assert_eq!(
            i.sla.first_response_hours_median,
            Some(4.75),
            "2.5 h and 7 h"
        );
        assert_eq!(i.compensation_fen, 20_000);
        assert_eq!(i.compensation, vec![(CompensationKind::Voucher, 1, 20_000)]);
        assert_eq!(i.satisfaction_index, Some(50.0));
        assert_eq!(i.nps, Some(0.0));
        let dec = &i.months[1];
        assert_eq!(
            (dec.tickets, dec.surveys, dec.compensation_fen),
            (1, 2, 20_000)
        );
        assert_eq!(i.by_category, vec![("产品质量".to_string(), 2)]);
        assert_eq!(i.by_purpose, vec![(Purpose::Accusation, 2)]);
    }
}
