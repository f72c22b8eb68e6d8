//! Duplicate customers: the review list, dismissing a pair, merging.

use super::{path_id, ApiJson, ApiQuery};
use crate::auth::ApiUser;
use crate::error::{ApiError, ApiResult, OrProblem, ProblemDoc};
use crate::state::AppState;
use crate::views::CustomerView;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kehu_domain::duplicate::{parse_choices, DuplicateReason};
use kehu_domain::ids::CustomerId;
use kehu_domain::{FieldErrors, Problem};
use kehu_store::{duplicates, merge};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewParams {
    /// Groups per page, 1-100 (default 20).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Live customers sharing one key.
#[derive(Serialize, ToSchema)]
pub struct GroupView {
    pub reason: DuplicateReason,
    /// The shared mobile, e-mail, or name (and organisation).
    pub key: String,
    /// How many customers in your scope share it.
    pub size: i64,
    /// Up to 10 of them, oldest first.
    pub customers: Vec<CustomerView>,
    /// Pairs among them nobody dismissed as different customers.
    pub pairs: Vec<[CustomerId; 2]>,
}

#[derive(Serialize, ToSchema)]
pub struct GroupPage {
    pub items: Vec<GroupView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Likely duplicates for review: groups of live customers in your scope sharing a mobile,
/// an e-mail, or a name and organisation (owners, admins, managers).
#[utoipa::path(get, path = "/api/v1/duplicates", tag = "duplicates", params(ReviewParams),
    responses((status = 200, body = GroupPage), (status = 400, body = ProblemDoc), (status = 403, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    u: ApiUser,
    ApiQuery(p): ApiQuery<ReviewParams>,
) -> ApiResult<Json<GroupPage>> {
    let page = duplicates::review(
        &s.db,
        &u.principal,
        p.limit.unwrap_or(20),
        p.cursor.as_deref(),
    )
    .await
    .or_problem(u.lang)?;
    Ok(Json(GroupPage {
        items: page
            .items
            .into_iter()
            .map(|g| GroupView {
                reason: g.reason,
                key: g.key,
                size: g.size,
                customers: g
                    .customers
                    .iter()
                    .map(|c| CustomerView::new(&u.principal, c))
                    .collect(),
                pairs: g.pairs.into_iter().map(|(a, b)| [a, b]).collect(),
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// The body of `POST /api/v1/duplicates/dismissals`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissBody {
    /// The two customers that are not the same one.
    pub customer_ids: Vec<String>,
}

fn field_error(field: &str, zh: &str, en: &str) -> FieldErrors {
    FieldErrors::single(
        field,
        Problem::Invalid {
            zh: zh.into(),
            en: en.into(),
        },
    )
}

/// Record that two customers are not duplicates: the pair leaves the review list. Audited.
#[utoipa::path(post, path = "/api/v1/duplicates/dismissals", tag = "duplicates", request_body = DismissBody,
    responses((status = 204), (status = 403, body = ProblemDoc), (status = 404, body = ProblemDoc), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn dismiss(
    State(s): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<DismissBody>,
) -> ApiResult<StatusCode> {
    let ids: Vec<CustomerId> = b
        .customer_ids
        .iter()
        .map(|i| i.parse())
        .collect::<Result<_, _>>()
        .ok()
        .filter(|v: &Vec<CustomerId>| v.len() == 2)
        .ok_or_else(|| {
            ApiError::invalid(field_error(
                "customer_ids",
                "应为两个客户编号",
                "must be two customer ids",
            ))
            .lang(u.lang)
        })?;
    duplicates::dismiss(&s.db, &u.principal, &ids[0], &ids[1])
        .await
        .or_problem(u.lang)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of `POST /api/v1/customers/{id}/merge`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The customer merged into this one. Afterwards it is out of lists and search, and reading
    /// it answers 404 with this customer's id in `merged_into`.
    pub merged_id: String,
    /// Per field, whose value this customer keeps: `survivor` or `merged`. Fields are the
    /// customer's own (`name`, `mobile`, `owner_id`...), `custom.KEY` and `consent.CHANNEL`.
    /// Without a choice a field keeps this customer's value, or takes the other's where this one
    /// has none; a consent withdrawn on either record stays withdrawn. Tags, contacts,
    /// interactions, referrals and history of both are always kept.
    #[serde(default)]
    #[schema(example = json!({"name": "merged", "mobile": "survivor"}))]
    pub choices: BTreeMap<String, String>,
}

/// Merge another customer into this one, in one transaction; needs write access to both.
#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", tag = "duplicates", params(("id" = String, Path)), request_body = MergeBody,
    responses((status = 200, body = CustomerView), (status = 403, body = ProblemDoc), (status = 404, body = ProblemDoc), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn merge(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<MergeBody>,
) -> ApiResult<Json<CustomerView>> {
    let survivor: CustomerId = path_id(&id)?;
    let merged: CustomerId = b
        .merged_id
        .trim()
        .parse()
        .map_err(|_| FieldErrors::single("merged_id", Problem::NotFound))
        .or_problem(u.lang)?;
    let choices = parse_choices(b.choices.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .or_problem(u.lang)?;
    let c = merge::merge(&s.db, &u.principal, &survivor, &merged, &choices)
        .await
        .or_problem(u.lang)?;
    Ok(Json(CustomerView::new(&u.principal, &c)))
}
