//! Users, teams, tags, custom fields, API tokens and the audit log.

use super::{path_id, ApiJson, ApiQuery};
use crate::auth::ApiUser;
use crate::error::{ApiError, ApiResult, OrProblem, ProblemDoc};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kehu_domain::ids::UserId;
use kehu_store::audit::{self, AuditEntry};
use kehu_store::auth::{self, ApiToken, NewUser, Team, User, UserPatch};
use kehu_store::fields::{self, FieldDef, FieldInput};
use kehu_store::tags::{self, Tag, TagCount};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

fn admin_only(u: &ApiUser) -> ApiResult<()> {
    if u.principal.role.is_admin() {
        Ok(())
    } else {
        Err(ApiError::from(kehu_store::Error::Forbidden).lang(u.lang))
    }
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "users", responses((status = 200, body = User), (status = 401, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn me(u: ApiUser) -> Json<User> {
    Json(u.user)
}

/// All users (names and roles, for owner pickers and filters).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = Vec<User>)), security(("bearer" = [])))]
pub async fn list_users(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(auth::users(&s.db).await.or_problem(u.lang)?))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)), responses((status = 200, body = User), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn get_user(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<User>> {
    let id: UserId = path_id(&id)?;
    Ok(Json(auth::user(&s.db, &id).await.or_problem(u.lang)?))
}

/// The body of `POST /api/v1/users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    pub login: String,
    #[serde(default)]
    pub name: String,
    /// owner, admin, manager, agent, finance, read_only.
    pub role: String,
    /// Team name; created when new.
    #[serde(default)]
    pub team: String,
    /// At least 10 characters.
    pub password: String,
}

/// Create a user (admins; only an owner may create owners).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUserBody,
    responses((status = 201, body = User), (status = 403, body = ProblemDoc), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn create_user(
    State(s): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<NewUserBody>,
) -> ApiResult<(StatusCode, Json<User>)> {
    admin_only(&u)?;
    let n = NewUser {
        login: b.login,
        name: b.name,
        role: b.role,
        team: b.team,
        password: b.password,
    };
    let created = auth::create_user(&s.db, Some(&u.principal), &n)
        .await
        .or_problem(u.lang)?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The body of `PATCH /api/v1/users/{id}`; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchBody {
    pub name: Option<String>,
    pub role: Option<String>,
    /// Team name (created when new); "" removes the user from their team.
    pub team: Option<String>,
    /// The user they report to (escalations follow this line); null clears.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub manager_id: Option<Option<String>>,
    /// false deactivates: sessions end and tokens are revoked at once.
    pub active: Option<bool>,
    /// true allows the user to export customer lists (what they see, as
    /// they see it); owners and admins always may.
    pub can_export: Option<bool>,
    /// A new password; the user's sessions end.
    pub password: Option<String>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::<String>::deserialize(d)?))
}

/// Change a user's name, role, team, manager, password or activity (admins).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)), request_body = UserPatchBody,
    responses((status = 200, body = User), (status = 403, body = ProblemDoc), (status = 404, body = ProblemDoc), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn update_user(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<UserPatchBody>,
) -> ApiResult<Json<User>> {
    admin_only(&u)?;
    let id: UserId = path_id(&id)?;
    let manager_id = match b.manager_id {
        None => None,
        Some(None) => Some(None),
        Some(Some(m)) => Some(Some(m.parse().map_err(|_| {
            ApiError::invalid(kehu_domain::FieldErrors::single(
                "manager_id",
                kehu_domain::Problem::NotFound,
            ))
            .lang(u.lang)
        })?)),
    };
    let patch = UserPatch {
        name: b.name,
        role: b.role,
        team: b.team,
        manager_id,
        active: b.active,
        can_export: b.can_export,
        password: b.password,
    };
    Ok(Json(
        auth::update_user(&s.db, &u.principal, &id, &patch)
            .await
            .or_problem(u.lang)?,
    ))
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "users", responses((status = 200, body = Vec<Team>)), security(("bearer" = [])))]
pub async fn list_teams(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<Vec<Team>>> {
    Ok(Json(auth::teams(&s.db).await.or_problem(u.lang)?))
}

#[utoipa::path(get, path = "/api/v1/tags", tag = "tags", responses((status = 200, body = Vec<TagCount>)), security(("bearer" = [])))]
pub async fn list_tags(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<Vec<TagCount>>> {
    Ok(Json(tags::all(&s.db).await.or_problem(u.lang)?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagBody {
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/tags", tag = "tags", request_body = TagBody,
    responses((status = 201, body = Tag), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn create_tag(
    State(s): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<TagBody>,
) -> ApiResult<(StatusCode, Json<Tag>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            tags::create(&s.db, &u.principal, &b.name)
                .await
                .or_problem(u.lang)?,
        ),
    ))
}

/// Delete a tag from every customer (admins).
#[utoipa::path(delete, path = "/api/v1/tags/{id}", tag = "tags", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ProblemDoc), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn delete_tag(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    tags::delete(&s.db, &u.principal, &id)
        .await
        .or_problem(u.lang)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/custom-fields", tag = "custom fields", responses((status = 200, body = Vec<FieldDef>)), security(("bearer" = [])))]
pub async fn list_fields(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<Vec<FieldDef>>> {
    Ok(Json(fields::all(&s.db).await.or_problem(u.lang)?))
}

/// The body of custom field create and update (key and kind are fixed once created).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldBody {
    /// a-z, 0-9, _; starts with a letter.
    #[serde(default)]
    pub key: String,
    pub label: String,
    /// text, number, date, choice.
    #[serde(default)]
    pub kind: String,
    /// Options of a choice field.
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub position: i64,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl FieldBody {
    fn input(self) -> FieldInput {
        FieldInput {
            key: self.key,
            label: self.label,
            kind: self.kind,
            options: self.options.join("\n"),
            required: self.required,
            position: self.position,
            active: self.active,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/custom-fields", tag = "custom fields", request_body = FieldBody,
    responses((status = 201, body = FieldDef), (status = 403, body = ProblemDoc), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn create_field(
    State(s): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<FieldBody>,
) -> ApiResult<(StatusCode, Json<FieldDef>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            fields::create(&s.db, &u.principal, &b.input())
                .await
                .or_problem(u.lang)?,
        ),
    ))
}

#[utoipa::path(patch, path = "/api/v1/custom-fields/{id}", tag = "custom fields", params(("id" = String, Path)), request_body = FieldBody,
    responses((status = 200, body = FieldDef), (status = 403, body = ProblemDoc), (status = 404, body = ProblemDoc), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn update_field(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<FieldBody>,
) -> ApiResult<Json<FieldDef>> {
    Ok(Json(
        fields::update(&s.db, &u.principal, &id, &b.input())
            .await
            .or_problem(u.lang)?,
    ))
}

/// The caller's API tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", responses((status = 200, body = Vec<ApiToken>)), security(("bearer" = [])))]
pub async fn list_tokens(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<Vec<ApiToken>>> {
    Ok(Json(
        auth::tokens(&s.db, &u.principal.user_id)
            .await
            .or_problem(u.lang)?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: ApiToken,
    /// The secret; shown only now. Send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

/// Create an API token for the caller.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = TokenBody, responses((status = 201, body = CreatedToken)), security(("bearer" = [])))]
pub async fn create_token(
    State(s): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<TokenBody>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let (token, secret) =
        auth::create_token(&s.db, &(&u.principal).into(), &u.principal.user_id, &b.name)
            .await
            .or_problem(u.lang)?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, secret })))
}

/// Revoke a token (your own; admins any).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path)), responses((status = 204), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn revoke_token(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    auth::revoke_token(&s.db, &u.principal, &id)
        .await
        .or_problem(u.lang)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditParams {
    pub customer_id: Option<String>,
    /// customer, contact, interaction, user, tag, custom_field, api_token, team.
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub actor_id: Option<String>,
    /// create, update, delete, restore, purge, reveal, password, revoke.
    pub action: Option<String>,
    /// Entries older than this instant (RFC 3339), for paging back.
    pub before: Option<String>,
    /// Default 100, at most 500.
    pub limit: Option<i64>,
}

/// The audit log, newest first (admins).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = Vec<AuditEntry>), (status = 403, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn audit(
    State(s): State<AppState>,
    u: ApiUser,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    admin_only(&u)?;
    let bad = |f: &str| {
        ApiError::invalid(kehu_domain::FieldErrors::single(
            f,
            kehu_domain::Problem::Invalid {
                zh: "格式不正确".into(),
                en: "is malformed".into(),
            },
        ))
        .lang(u.lang)
    };
    let filter = audit::Filter {
        customer_id: p
            .customer_id
            .map(|c| c.parse().map_err(|_| bad("customer_id")))
            .transpose()?,
        entity: p.entity,
        entity_id: p.entity_id,
        actor_id: p
            .actor_id
            .map(|c| c.parse().map_err(|_| bad("actor_id")))
            .transpose()?,
        action: p.action,
        before: p
            .before
            .map(|b| {
                chrono::DateTime::parse_from_rfc3339(&b)
                    .map(|d| d.with_timezone(&chrono::Utc).into())
                    .map_err(|_| bad("before"))
            })
            .transpose()?,
    };
    Ok(Json(
        audit::list(&s.db, &filter, p.limit.unwrap_or(100))
            .await
            .or_problem(u.lang)?,
    ))
}
