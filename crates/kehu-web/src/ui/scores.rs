//! The customer page's grade and value card: why the customer has its
//! grade (each dimension's share of the score), the lifecycle rule that
//! placed it, RFM, revenue and cost to serve, P(alive) and lifetime value;
//! and the manual override of the grade with its reason.

use crate::auth::CsrfForm;
use crate::state::AppState;
use crate::ui::form::Posted;
use crate::ui::page::{PageError, PageResult};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kehu_domain::customer::{Grade, GradeOverride};
use kehu_domain::ids::CustomerId;
use kehu_domain::money::Fen;
use kehu_domain::role::Principal;
use kehu_domain::value::Dimension;
use kehu_domain::Lang;
use kehu_store::scores::{self, CustomerScore};
use kehu_store::Db;

/// One dimension of the score, as shown.
pub struct PartRow {
    pub label: &'static str,
    pub raw: String,
    pub percentile: String,
    pub weight: u32,
    pub points: String,
}

/// The card, in words and yuan.
pub struct ScoreCard {
    pub as_of: String,
    pub grade: String,
    pub computed: String,
    pub overridden: Option<String>,
    pub score: String,
    pub tier: &'static str,
    pub lifecycle: &'static str,
    pub rule: String,
    pub rfm: String,
    pub parts: Vec<PartRow>,
    pub revenue: String,
    pub discounts: String,
    pub compensation: String,
    pub effort: String,
    pub profit: String,
    pub p_alive: Option<String>,
    pub expected: Option<String>,
    pub clv: Option<String>,
    /// The grades to choose from when overriding: (code, label, chosen).
    pub grades: Vec<(&'static str, &'static str, bool)>,
}

fn raw(d: Dimension, v: i64, lang: Lang) -> String {
    match d {
        Dimension::Spend | Dimension::Power => Fen(v).to_string(),
        Dimension::Age => format!("{v} {}", lang.pick("天", "days")),
        Dimension::Purchases | Dimension::Referrals => v.to_string(),
    }
}

impl ScoreCard {
    pub fn new(c: &CustomerScore, lang: Lang) -> ScoreCard {
        let in_force = c.grade.unwrap_or(c.computed_grade);
        ScoreCard {
            as_of: c.as_of.to_string(),
            grade: in_force.label(lang).to_string(),
            computed: c.computed_grade.label(lang).to_string(),
            overridden: c.override_reason.clone(),
            score: format!("{:.1}", c.score),
            tier: c.tier.label(lang),
            lifecycle: c.lifecycle.label(lang),
            rule: c.rule.explain(lang),
            rfm: c.rfm.clone().unwrap_or_else(|| "—".into()),
            parts: c
                .parts
                .iter()
                .map(|p| PartRow {
                    label: p.dimension.label(lang),
                    raw: raw(p.dimension, p.raw, lang),
                    percentile: format!("{:.0}%", p.percentile * 100.0),
                    weight: p.weight,
                    points: format!("{:.1}", p.points),
                })
                .collect(),
            revenue: Fen(c.money.revenue_fen).to_string(),
            discounts: Fen(c.money.discount_fen).to_string(),
            compensation: Fen(c.money.compensation_fen).to_string(),
            effort: format!(
                "{} ({} {})",
                Fen(c.money.effort_fen),
                c.money.tickets,
                lang.pick("张工单", "tickets")
            ),
            profit: Fen(c.profit_fen).to_string(),
            p_alive: c.model.map(|m| format!("{:.0}%", m.p_alive * 100.0)),
            expected: c.model.map(|m| format!("{:.1}", m.expected_purchases)),
            clv: c.model.and_then(|m| m.clv_fen).map(|f| Fen(f).to_string()),
            grades: Grade::ALL
                .iter()
                .map(|g| {
                    (
                        g.code(),
                        g.label(lang),
                        c.override_reason.is_some() && c.grade == Some(*g),
                    )
                })
                .collect(),
        }
    }
}

/// The card of a customer the principal may read, once scored.
pub async fn card(
    db: &Db,
    by: &Principal,
    id: &CustomerId,
    lang: Lang,
) -> Result<Option<ScoreCard>, PageError> {
    Ok(scores::for_customer(db, by, id)
        .await
        .page(lang)?
        .map(|c| ScoreCard::new(&c, lang)))
}

/// Sets the grade by hand with the reason, or (grade left blank) goes
/// back to the computed grade.
pub async fn override_grade(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id: CustomerId = id.parse().map_err(|_| PageError::not_found(u.lang))?;
    let p = Posted::new(pairs);
    let grade = p.get("grade");
    let (grade, reason) = GradeOverride::parse(Some(&grade), &p.get("reason"))
        .map_err(|e| PageError::field_errors(StatusCode::UNPROCESSABLE_ENTITY, &e, u.lang))?;
    scores::override_grade(&s.db, &u.principal, &id, grade, &reason)
        .await
        .page(u.lang)?;
    Ok(Redirect::to(&format!("/customers/{id}#customer-scores")).into_response())
}
