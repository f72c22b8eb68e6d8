//! 经营分析: the customer-value models fitted on the whole customer base
//! (owners, admins, managers, finance) — their parameters, fit and what
//! they mean — and, for admins, fitting them again now.

use crate::auth::{CsrfForm, WebUser};
use crate::state::AppState;
use crate::ui::form::Posted;
use crate::ui::page::{render, Chrome, PageError, PageResult};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kehu_domain::Lang;
use kehu_models::TimeUnit;
use kehu_store::analytics::{self, ModelFit};

pub struct FitRow {
    pub model: String,
    pub label: &'static str,
    pub meaning: &'static str,
    pub params: String,
    pub log_likelihood: String,
    pub customers: u64,
    pub until: String,
    pub unit: &'static str,
    pub fitted: String,
    pub converged: bool,
    pub seconds: String,
}

#[derive(Template)]
#[template(path = "analytics.html")]
struct Page {
    chrome: Chrome,
    fits: Vec<FitRow>,
    until: String,
    error: Option<String>,
}

fn label(model: &str, lang: Lang) -> (&'static str, &'static str) {
    match model {
        "bg_nbd" => (
            "BG/NBD",
            lang.pick(
                "购买频次与仍是活跃客户的概率：r、α 描述购买率的分布，a、b 描述流失概率的分布",
                "purchase frequency and the chance a customer is still active: r, α shape purchase rates, a, b drop-out",
            ),
        ),
        "pareto_nbd" => (
            "Pareto/NBD",
            lang.pick(
                "同上，流失可在任意时刻发生：r、α 为购买率，s、β 为客户寿命",
                "as above with drop-out at any time: r, α purchase rates, s, β lifetimes",
            ),
        ),
        _ => (
            "Gamma-Gamma",
            lang.pick(
                "每次购买的金额（分）：p、q、v；与 BG/NBD 合起来得出客户终身价值",
                "spend per purchase (fen): p, q, v; with BG/NBD it gives lifetime value",
            ),
        ),
    }
}

fn row(f: &ModelFit, chrome: &Chrome, lang: Lang) -> FitRow {
    let (label, meaning) = label(&f.model, lang);
    FitRow {
        label,
        meaning,
        params: f
            .params
            .iter()
            .map(|(k, v)| format!("{k} = {:.4}", v.as_f64().unwrap_or(f64::NAN)))
            .collect::<Vec<_>>()
            .join("，"),
        log_likelihood: format!("{:.1}", f.log_likelihood),
        customers: f.customers,
        until: f.until.to_string(),
        unit: match (f.unit.as_str(), lang) {
            ("day", Lang::ZhCn) => "天",
            ("day", Lang::En) => "days",
            (_, Lang::ZhCn) => "周",
            (_, Lang::En) => "weeks",
        },
        fitted: chrome.time(&f.fitted_at),
        converged: f.converged,
        seconds: format!("{:.1}", f.seconds),
        model: f.model.clone(),
    }
}

fn viewer(u: &WebUser) -> Result<(), PageError> {
    if u.principal.role.can_view_analytics() {
        Ok(())
    } else {
        Err(PageError::forbidden(u.lang))
    }
}

async fn page(
    s: &AppState,
    u: &WebUser,
    until: String,
    error: Option<String>,
) -> Result<Response, PageError> {
    let chrome = Chrome::new(u, "analytics", s.config.timezone);
    let fits = analytics::latest(&s.db).await.page(u.lang)?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let fits = fits.iter().map(|f| row(f, &chrome, u.lang)).collect();
    let mut r = render(&Page {
        chrome,
        fits,
        until,
        error,
    });
    *r.status_mut() = status;
    Ok(r)
}

pub async fn show(State(s): State<AppState>, u: WebUser) -> Result<Response, PageError> {
    viewer(&u)?;
    page(&s, &u, String::new(), None).await
}

/// Fits the models now on the purchases up to the day asked (yesterday by
/// default), in weeks; admins only.
pub async fn refit(
    State(s): State<AppState>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer(&u)?;
    if !u.principal.role.is_admin() {
        return Err(PageError::forbidden(u.lang));
    }
    let p = Posted::new(pairs);
    let asked = p.get("until");
    let zone = s.config.timezone;
    let until = match kehu_domain::text::date(&asked) {
        Ok(Some(d)) => d,
        Ok(None) => chrono::Utc::now().with_timezone(&zone).date_naive() - chrono::Days::new(1),
        Err(problem) => {
            let why = format!(
                "{}：{}",
                u.lang.pick("截止日期", "Until"),
                problem.message(u.lang)
            );
            return page(&s, &u, asked, Some(why)).await;
        }
    };
    match analytics::fit(&s.db, until, TimeUnit::Week, zone).await {
        Ok(_) => Ok(Redirect::to("/analytics").into_response()),
        Err(kehu_store::Error::Other(why)) => {
            let why = format!("{}{why}", u.lang.pick("无法拟合：", "cannot fit: "));
            page(&s, &u, asked, Some(why)).await
        }
        Err(e) => Err(PageError::from_store(e, u.lang)),
    }
}
