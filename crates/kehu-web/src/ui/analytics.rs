//! 经营分析: the customer-value models fitted on the whole customer base
//! (owners, admins, managers, finance) — their parameters, fit and what
//! they mean — and, for admins, fitting them again now.

use crate::auth::{CsrfForm, WebUser};
use crate::state::AppState;
use crate::ui::form::{Errors, Posted};
use crate::ui::page::{render, Chrome, PageError, PageResult};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kehu_domain::time::Timestamp;
use kehu_domain::value::{ValueSettings, ValueSettingsInput};
use kehu_domain::Lang;
use kehu_models::TimeUnit;
use kehu_store::analytics::{self, ModelFit};
use kehu_store::audit::Actor;
use kehu_store::scores;

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
    settings: Posted,
    settings_errors: Errors,
    saved: bool,
    running: Option<String>,
    last: Option<LastRun>,
}

/// The last recompute, as shown.
pub struct LastRun {
    pub as_of: String,
    pub finished: String,
    pub customers: u64,
    pub buyers: u64,
    pub key: u64,
    pub changed: u64,
    pub top20: String,
    pub seconds: String,
    pub fit_error: Option<String>,
}

/// The settings form's fields as the form posts them.
fn settings_posted(s: &ValueSettings) -> Posted {
    let i = ValueSettingsInput::from_settings(s);
    Posted::new(
        [
            ("w_spend", i.w_spend),
            ("w_purchases", i.w_purchases),
            ("w_referrals", i.w_referrals),
            ("w_age", i.w_age),
            ("w_power", i.w_power),
            ("a_min", i.a_min),
            ("b_min", i.b_min),
            ("key_share_pct", i.key_share_pct),
            ("window_days", i.window_days),
            ("frozen_days", i.frozen_days),
            ("migrating_drop_pct", i.migrating_drop_pct),
            ("service_cost_yuan", i.service_cost_yuan),
            ("horizon_weeks", i.horizon_weeks),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    )
}

fn settings_input(p: &Posted) -> ValueSettingsInput {
    ValueSettingsInput {
        w_spend: p.get("w_spend"),
        w_purchases: p.get("w_purchases"),
        w_referrals: p.get("w_referrals"),
        w_age: p.get("w_age"),
        w_power: p.get("w_power"),
        a_min: p.get("a_min"),
        b_min: p.get("b_min"),
        key_share_pct: p.get("key_share_pct"),
        window_days: p.get("window_days"),
        frozen_days: p.get("frozen_days"),
        migrating_drop_pct: p.get("migrating_drop_pct"),
        service_cost_yuan: p.get("service_cost_yuan"),
        horizon_weeks: p.get("horizon_weeks"),
    }
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

/// What the page shows besides the fits.
#[derive(Default)]
struct Shown {
    until: String,
    error: Option<String>,
    settings: Option<(Posted, Errors)>,
    saved: bool,
}

async fn page(s: &AppState, u: &WebUser, shown: Shown) -> Result<Response, PageError> {
    let Shown {
        until,
        error,
        settings,
        saved,
    } = shown;
    let chrome = Chrome::new(u, "analytics", s.config.timezone);
    let fits = analytics::latest(&s.db).await.page(u.lang)?;
    let invalid = settings.is_some();
    let (settings, settings_errors) = match settings {
        Some(x) => x,
        None => (
            settings_posted(&scores::settings(&s.db).await.page(u.lang)?),
            Errors::default(),
        ),
    };
    let running = scores::running(&s.db, Timestamp::now())
        .await
        .page(u.lang)?
        .map(|t| chrome.time(&t));
    let last = scores::last_run(&s.db)
        .await
        .page(u.lang)?
        .map(|r| LastRun {
            as_of: r.as_of.map(|d| d.to_string()).unwrap_or_default(),
            finished: r.finished_at.map(|t| chrome.time(&t)).unwrap_or_default(),
            customers: r.customers,
            buyers: r.buyers,
            key: r.key_customers,
            changed: r.grades_changed,
            top20: r
                .top20_profit_share
                .map(|x| format!("{:.1}%", x * 100.0))
                .unwrap_or_else(|| "—".into()),
            seconds: format!("{:.1}", r.seconds),
            fit_error: r.fit_error,
        });
    let status = if error.is_some() || invalid {
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
        settings,
        settings_errors,
        saved,
        running,
        last,
    });
    *r.status_mut() = status;
    Ok(r)
}

pub async fn show(State(s): State<AppState>, u: WebUser) -> Result<Response, PageError> {
    viewer(&u)?;
    page(&s, &u, Shown::default()).await
}

/// Recomputes every customer's scores and fits the models on the history
/// up to the day asked (yesterday by default), in weeks, in the
/// background; admins only. The page shows the run under way and then its
/// report.
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
            return page(
                &s,
                &u,
                Shown {
                    until: asked,
                    error: Some(why),
                    ..Shown::default()
                },
            )
            .await;
        }
    };
    if !scores::claim(&s.db, Timestamp::now()).await.page(u.lang)? {
        let why = u
            .lang
            .pick("重新计算正在进行中", "a recompute is already under way");
        return page(
            &s,
            &u,
            Shown {
                until: asked,
                error: Some(why.into()),
                ..Shown::default()
            },
        )
        .await;
    }
    let db = s.db.clone();
    let actor = Actor::from(&u.principal);
    tokio::spawn(async move {
        if let Err(e) = scores::recompute(&db, &actor, until, TimeUnit::Week, zone).await {
            tracing::error!(error = %e, "recomputing customer scores failed");
        }
        if let Err(e) = scores::release(&db).await {
            tracing::error!(error = %e, "releasing the recompute claim failed");
        }
    });
    Ok(Redirect::to("/analytics").into_response())
}

/// Saves the grading settings (admins); bad values re-render the form
/// with what was typed and why.
pub async fn save_settings(
    State(s): State<AppState>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer(&u)?;
    if !u.principal.role.is_admin() {
        return Err(PageError::forbidden(u.lang));
    }
    let p = Posted::new(pairs);
    match settings_input(&p).parse() {
        Ok(v) => {
            scores::save_settings(&s.db, &Actor::from(&u.principal), &v)
                .await
                .page(u.lang)?;
            page(
                &s,
                &u,
                Shown {
                    saved: true,
                    ..Shown::default()
                },
            )
            .await
        }
        Err(e) => {
            let errors = Errors::from(&e, u.lang);
            page(
                &s,
                &u,
                Shown {
                    settings: Some((p, errors)),
                    ..Shown::default()
                },
            )
            .await
        }
    }
}
