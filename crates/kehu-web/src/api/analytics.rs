//! The management view's figures: the customer-value models fitted on the
//! whole customer base (nightly, or on demand by an admin). For owners,
//! admins, managers and finance.

use crate::auth::ApiUser;
use crate::error::{ApiError, ApiResult, OrProblem, ProblemDoc};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use kehu_domain::customer::GradeOverride;
use kehu_domain::value::{ValueSettings, ValueSettingsInput};
use kehu_domain::{FieldErrors, Problem};
use kehu_models::TimeUnit;
use kehu_store::analytics::{self, FitRun, ModelFit};
use kehu_store::audit::Actor;
use kehu_store::dashboard::{Dashboard, Filter};
use kehu_store::scores::{self, CustomerScore, Run};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa::ToSchema;

/// The latest fits of BG/NBD, Pareto/NBD and Gamma-Gamma (an empty list
/// before the first fit): parameters, log-likelihood, customers used, the
/// observation end and time unit.
#[utoipa::path(get, path = "/api/v1/analytics/models", tag = "analytics",
    responses((status = 200, body = Vec<ModelFit>), (status = 403, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn models(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<Vec<ModelFit>>> {
    if !u.principal.role.can_view_analytics() {
        return Err(ApiError::from(kehu_store::Error::Forbidden).lang(u.lang));
    }
    Ok(Json(analytics::latest(&s.db).await.or_problem(u.lang)?))
}

/// What to fit on.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FitBody {
    /// The last day of purchases used, YYYY-MM-DD in the business time
    /// zone (default: yesterday).
    pub until: Option<String>,
    /// `day` or `week` (default).
    pub unit: Option<String>,
}

/// Fit the models now (owners and admins); answers with the fits, which
/// also become the latest. Takes seconds on a large customer base.
#[utoipa::path(post, path = "/api/v1/analytics/models", tag = "analytics", request_body = FitBody,
    responses((status = 200, body = FitRun), (status = 403, body = ProblemDoc), (status = 422, body = ProblemDoc)),
    security(("bearer" = [])))]
pub async fn fit(
    State(s): State<AppState>,
    u: ApiUser,
    super::ApiJson(body): super::ApiJson<FitBody>,
) -> ApiResult<Json<FitRun>> {
    if !u.principal.role.is_admin() {
        return Err(ApiError::from(kehu_store::Error::Forbidden).lang(u.lang));
    }
    let zone = s.config.timezone;
    let (until, unit) = day_and_unit("until", body.until.as_deref(), body.unit.as_deref(), zone)
        .or_problem(u.lang)?;
    let run = analytics::fit(&s.db, until, unit, zone)
        .await
        .map_err(|e| match e {
            kehu_store::Error::Other(why) => ApiError::invalid(FieldErrors::single(
                "until",
                Problem::Invalid {
                    zh: format!("无法拟合：{why}"),
                    en: format!("cannot fit: {why}"),
                },
            )),
            e => ApiError::from(e),
        })
        .map_err(|e| e.lang(u.lang))?;
    Ok(Json(run))
}

/// A day (default: yesterday in `zone`) and a time unit (default: week)
/// as a request gives them.
fn day_and_unit(
    field: &str,
    day: Option<&str>,
    unit: Option<&str>,
    zone: chrono_tz::Tz,
) -> Result<(chrono::NaiveDate, TimeUnit), FieldErrors> {
    let mut errors = FieldErrors::new();
    let day = match day.map(str::trim) {
        None | Some("") => {
            Some(chrono::Utc::now().with_timezone(&zone).date_naive() - chrono::Days::new(1))
        }
        Some(d) => errors.take(
            field,
            kehu_domain::text::date(d).and_then(|d| d.ok_or(Problem::Required)),
        ),
    };
    let unit = match unit.map(str::trim) {
        None | Some("") | Some("week") => Some(TimeUnit::Week),
        Some("day") => Some(TimeUnit::Day),
        Some(_) => {
            errors.add(
                "unit",
                Problem::InvalidChoice {
                    allowed: vec!["day".into(), "week".into()],
                },
            );
            None
        }
    };
    match (day, unit) {
        (Some(d), Some(u)) if errors.is_empty() => Ok((d, u)),
        _ => Err(errors),
    }
}

fn viewer(u: &ApiUser) -> ApiResult<()> {
    if u.principal.role.can_view_analytics() {
        Ok(())
    } else {
        Err(ApiError::from(kehu_store::Error::Forbidden).lang(u.lang))
    }
}

fn admin(u: &ApiUser) -> ApiResult<()> {
    if u.principal.role.is_admin() {
        Ok(())
    } else {
        Err(ApiError::from(kehu_store::Error::Forbidden).lang(u.lang))
    }
}

/// The grading settings in force: dimension weights, grade thresholds
/// (score 0-100), the key-customer share, the windows of the lifecycle
/// rules, the cost of a ticket and the value horizon.
#[utoipa::path(get, path = "/api/v1/analytics/settings", tag = "analytics",
    responses((status = 200, body = Object), (status = 403, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn get_settings(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<ValueSettings>> {
    viewer(&u)?;
    Ok(Json(scores::settings(&s.db).await.or_problem(u.lang)?))
}

/// Replace the grading settings (owners and admins); audited. They apply
/// from the next recompute.
#[utoipa::path(put, path = "/api/v1/analytics/settings", tag = "analytics", request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = ProblemDoc), (status = 422, body = ProblemDoc)),
    security(("bearer" = [])))]
pub async fn put_settings(
    State(s): State<AppState>,
    u: ApiUser,
    super::ApiJson(body): super::ApiJson<ValueSettings>,
) -> ApiResult<Json<ValueSettings>> {
    admin(&u)?;
    // The same checks as the settings form.
    let checked = ValueSettingsInput::from_settings(&body)
        .parse()
        .or_problem(u.lang)?;
    scores::save_settings(&s.db, &Actor::from(&u.principal), &checked)
        .await
        .or_problem(u.lang)?;
    Ok(Json(checked))
}

/// What to recompute as of.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecomputeBody {
    /// The observation day, YYYY-MM-DD in the business time zone (default:
    /// yesterday).
    pub as_of: Option<String>,
    /// The models' unit: `day` or `week` (default).
    pub unit: Option<String>,
}

/// Recompute every customer's scores and fit the models now (owners and
/// admins), as the nightly job does; answers when done with the run's
/// report. 409 while another recompute is under way.
#[utoipa::path(post, path = "/api/v1/analytics/recompute", tag = "analytics", request_body = RecomputeBody,
    responses((status = 200, body = Run), (status = 403, body = ProblemDoc), (status = 409, body = ProblemDoc),
    (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn recompute(
    State(s): State<AppState>,
    u: ApiUser,
    super::ApiJson(body): super::ApiJson<RecomputeBody>,
) -> ApiResult<Json<Run>> {
    admin(&u)?;
    let zone = s.config.timezone;
    let (as_of, unit) = day_and_unit("as_of", body.as_of.as_deref(), body.unit.as_deref(), zone)
        .or_problem(u.lang)?;
    let actor = Actor::from(&u.principal);
    match scores::recompute_claimed(&s.db, &actor, as_of, unit, zone)
        .await
        .or_problem(u.lang)?
    {
        Some(run) => Ok(Json(run)),
        None => Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            u.lang
                .pick("重新计算正在进行中", "a recompute is already under way"),
        )),
    }
}

/// Filters of the dashboard.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct DashboardQuery {
    pub team_id: Option<String>,
    pub owner_id: Option<String>,
    /// First month, YYYY-MM.
    pub from: Option<String>,
    /// Last month, YYYY-MM.
    pub to: Option<String>,
}

impl DashboardQuery {
    pub fn filter(&self) -> Result<Filter, FieldErrors> {
        let mut e = FieldErrors::new();
        let month = |raw: &Option<String>| -> Result<Option<chrono::NaiveDate>, Problem> {
            match raw.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(m) => chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| Problem::Invalid {
                        zh: "月份格式应为 2026-01".into(),
                        en: "a month is written 2026-01".into(),
                    }),
            }
        };
        let from = e.take("from", month(&self.from));
        let to = e.take("to", month(&self.to));
        let blank = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        e.into_result()?;
        Ok(Filter {
            team_id: blank(&self.team_id),
            owner_id: blank(&self.owner_id),
            from: from.flatten(),
            to: to.flatten(),
        })
    }
}

/// The management dashboard's figures within the caller's scope: monthly
/// new and repeat buyers, revenue, cost to serve and profit; the grade
/// pyramid; the lifecycle mix and its moves month to month; the Pareto
/// curve of profit; the CLV distribution; key customers at risk.
#[utoipa::path(get, path = "/api/v1/analytics/dashboard", tag = "analytics", params(DashboardQuery),
    responses((status = 200, body = Dashboard), (status = 403, body = ProblemDoc), (status = 422, body = ProblemDoc)),
    security(("bearer" = [])))]
pub async fn dashboard(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<DashboardQuery>,
) -> ApiResult<Json<Dashboard>> {
    viewer(&u)?;
    let f = q.filter().or_problem(u.lang)?;
    Ok(Json(
        kehu_store::dashboard::read(&s.db, &u.principal, &f)
            .await
            .or_problem(u.lang)?,
    ))
}

/// A customer's scores as of the last recompute, with why: each
/// dimension's share of the score, the lifecycle rule that placed the
/// customer, RFM, revenue and cost to serve, P(alive) and CLV; and the
/// grade in force with the reason of a manual override. 404 before the
/// first recompute.
#[utoipa::path(get, path = "/api/v1/customers/{id}/scores", tag = "analytics",
    responses((status = 200, body = CustomerScore), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn customer_scores(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<CustomerScore>> {
    let id: kehu_domain::ids::CustomerId = super::path_id(&id)?;
    match scores::for_customer(&s.db, &u.principal, &id)
        .await
        .or_problem(u.lang)?
    {
        Some(c) => Ok(Json(c)),
        None => Err(ApiError::from(kehu_store::Error::NotFound).lang(u.lang)),
    }
}

/// A manual grade.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GradeBody {
    /// A, B or C; null to go back to the computed grade.
    pub grade: Option<String>,
    /// Why (required when setting a grade).
    #[serde(default)]
    pub reason: String,
}

/// Set a customer's grade by hand with the reason, or clear the override
/// (`grade: null`); kept in the audit log. Anyone who may change the
/// customer may do it.
#[utoipa::path(post, path = "/api/v1/customers/{id}/grade", tag = "analytics", request_body = GradeBody,
    responses((status = 204), (status = 403, body = ProblemDoc), (status = 404, body = ProblemDoc), (status = 422, body = ProblemDoc)),
    security(("bearer" = [])))]
pub async fn override_grade(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    super::ApiJson(body): super::ApiJson<GradeBody>,
) -> ApiResult<axum::http::StatusCode> {
    let id: kehu_domain::ids::CustomerId = super::path_id(&id)?;
    let (grade, reason) =
        GradeOverride::parse(body.grade.as_deref(), &body.reason).or_problem(u.lang)?;
    scores::override_grade(&s.db, &u.principal, &id, grade, &reason)
        .await
        .or_problem(u.lang)?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
