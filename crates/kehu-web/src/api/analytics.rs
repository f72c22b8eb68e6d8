//! The management view's figures: the customer-value models fitted on the
//! whole customer base (nightly, or on demand by an admin). For owners,
//! admins, managers and finance.

use crate::auth::ApiUser;
use crate::error::{ApiError, ApiResult, OrProblem, ProblemDoc};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use kehu_domain::{FieldErrors, Problem};
use kehu_models::TimeUnit;
use kehu_store::analytics::{self, FitRun, ModelFit};
use serde::Deserialize;
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
    let mut errors = FieldErrors::new();
    let until = match body.until.as_deref().map(str::trim) {
        None | Some("") => {
            Some(chrono::Utc::now().with_timezone(&zone).date_naive() - chrono::Days::new(1))
        }
        Some(d) => errors.take(
            "until",
            kehu_domain::text::date(d).and_then(|d| d.ok_or(Problem::Required)),
        ),
    };
    let unit = match body.unit.as_deref().map(str::trim) {
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
    errors.clone().into_result().or_problem(u.lang)?;
    let (Some(until), Some(unit)) = (until, unit) else {
        return Err(ApiError::invalid(errors).lang(u.lang));
    };
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
