//! Customers, their contacts, interactions and timeline.

use super::{path_id, ApiJson, ApiQuery};
use crate::auth::ApiUser;
use crate::error::{ApiError, ApiResult, OrProblem, ProblemDoc};
use crate::state::AppState;
use crate::views::{ContactBody, ContactView, CustomerBody, CustomerView};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use kehu_domain::customer::{CustomerKind, Grade, Source};
use kehu_domain::export::Format;
use kehu_domain::{FieldErrors, Problem};
use kehu_store::contacts;
use kehu_store::customers::{self, Filter, Sort};
use kehu_store::interactions::{self, Interaction, InteractionInput};
use kehu_store::timeline::{self, Item};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Filters and sort of the customer list (and of its export).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterParams {
    /// Search: name or company fragment, pinyin (full or initials), mobile or its last four digits, e-mail, tag.
    pub q: Option<String>,
    pub owner_id: Option<String>,
    pub team_id: Option<String>,
    /// A tag name.
    pub tag: Option<String>,
    pub source: Option<String>,
    pub grade: Option<String>,
    pub kind: Option<String>,
    /// `-created_at` (default), `created_at`, `name`, `-name`, `-updated_at`.
    pub sort: Option<String>,
    /// The recycle bin instead (admins).
    pub deleted: Option<bool>,
}

/// Paging of the customer list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-200, default 50.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl FilterParams {
    pub fn filter(&self) -> Result<(Filter, Sort), FieldErrors> {
        let mut e = FieldErrors::new();
        let blank = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let owner_id = blank(&self.owner_id)
            .and_then(|s| e.take("owner_id", s.parse().map_err(|_| Problem::NotFound)));
        let team_id = blank(&self.team_id)
            .and_then(|s| e.take("team_id", s.parse().map_err(|_| Problem::NotFound)));
        let source = blank(&self.source).and_then(|s| e.take("source", Source::parse(&s)));
        let grade = blank(&self.grade).and_then(|s| e.take("grade", Grade::parse(&s)));
        let kind = blank(&self.kind).and_then(|s| e.take("kind", CustomerKind::parse(&s)));
        let sort = match blank(&self.sort) {
            None => Sort::default(),
            Some(s) => e
                .take(
                    "sort",
                    Sort::parse(&s).ok_or(Problem::InvalidChoice {
                        allowed: Sort::ALL.iter().map(|s| s.code().to_string()).collect(),
                    }),
                )
                .unwrap_or_default(),
        };
        e.into_result()?;
        Ok((
            Filter {
                q: blank(&self.q),
                owner_id,
                team_id,
                tag: blank(&self.tag),
                source,
                grade,
                kind,
                deleted: self.deleted.unwrap_or(false),
            },
            sort,
        ))
    }
}

#[derive(Serialize, ToSchema)]
pub struct CustomerPage {
    pub items: Vec<CustomerView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// List and search customers in the caller's scope.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(FilterParams, PageParams),
    responses((status = 200, body = CustomerPage), (status = 400, body = ProblemDoc), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    u: ApiUser,
    ApiQuery(f): ApiQuery<FilterParams>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> ApiResult<Json<CustomerPage>> {
    let (filter, sort) = f.filter().or_problem(u.lang)?;
    let page = customers::list(
        &s.db,
        &u.principal,
        &filter,
        sort,
        p.limit.unwrap_or(50).clamp(1, 200),
        p.cursor.as_deref(),
        None,
    )
    .await
    .or_problem(u.lang)?;
    Ok(Json(CustomerPage {
        items: page
            .items
            .iter()
            .map(|c| CustomerView::new(&u.principal, c))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// The file format of an export.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `csv` (UTF-8 with a byte order mark, for Excel) or `xlsx`.
    pub format: Option<String>,
}

/// Download the customer list, with the list's filters and sort, as CSV or
/// XLSX: the customers in the caller's scope, phone numbers as their role
/// sees them. Needs the export permission (owners and admins, and users an
/// admin granted it); every export is audited with its row count.
#[utoipa::path(get, path = "/api/v1/customers/export", tag = "customers", params(ExportParams, FilterParams),
    responses(
        (status = 200, description = "The file, named kehu-customers-YYYY-MM-DD.csv or .xlsx (Content-Disposition: attachment)",
            content((Vec<u8> = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, body = ProblemDoc), (status = 422, body = ProblemDoc)),
    security(("bearer" = [])))]
pub async fn export(
    State(s): State<AppState>,
    u: ApiUser,
    ApiQuery(e): ApiQuery<ExportParams>,
    ApiQuery(f): ApiQuery<FilterParams>,
) -> ApiResult<Response> {
    if !u.principal.can_export() {
        return Err(ApiError::from(kehu_store::Error::Forbidden).lang(u.lang));
    }
    let format = match e.format.as_deref().map(str::trim).unwrap_or("") {
        "" => Err(Problem::Required),
        code => Format::parse(code),
    }
    .map_err(|p| FieldErrors::single("format", p))
    .or_problem(u.lang)?;
    let (filter, sort) = f.filter().or_problem(u.lang)?;
    crate::export::customers(&s, &u.principal, &filter, sort, format)
        .await
        .or_problem(u.lang)
}

/// Create a customer. The caller becomes its owner unless `owner_id` names someone they may assign to.
/// One that looks like a live customer the caller may see (same mobile, e-mail, or name and
/// organisation) is refused with 409 listing them in `duplicates`, unless `allow_duplicate` is true.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = CustomerBody,
    responses((status = 201, body = CustomerView), (status = 409, body = ProblemDoc), (status = 422, body = ProblemDoc), (status = 403, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn create(
    State(s): State<AppState>,
    u: ApiUser,
    ApiJson(body): ApiJson<CustomerBody>,
) -> ApiResult<(StatusCode, Json<CustomerView>)> {
    let w = body.to_write(None).or_problem(u.lang)?;
    let created = if body.allow_duplicate {
        customers::create(&s.db, Some(&u.principal), w).await
    } else {
        customers::create_unless_duplicate(&s.db, &u.principal, w).await
    };
    let c = created.or_problem(u.lang)?;
    Ok((
        StatusCode::CREATED,
        Json(CustomerView::new(&u.principal, &c)),
    ))
}

/// One customer (404 when it is outside the caller's scope; for a customer merged into
/// another, 404 with the survivor's id in `merged_into`).
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = String, Path)),
    responses((status = 200, body = CustomerView), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn get(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<CustomerView>> {
    let c = customers::get(&s.db, &u.principal, &path_id(&id)?)
        .await
        .or_problem(u.lang)?;
    Ok(Json(CustomerView::new(&u.principal, &c)))
}

/// Change a customer: absent fields stay, `null` clears.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = String, Path)), request_body = CustomerBody,
    responses((status = 200, body = CustomerView), (status = 404, body = ProblemDoc), (status = 403, body = ProblemDoc), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn update(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CustomerBody>,
) -> ApiResult<Json<CustomerView>> {
    let id = path_id(&id)?;
    let lang = u.lang;
    let current = customers::get(&s.db, &u.principal, &id)
        .await
        .or_problem(lang)?;
    // A masked number sent back unchanged is not a new number.
    let mut body = body;
    if let crate::views::Patch::Set(m) = &body.mobile {
        if current
            .fields
            .mobile
            .as_ref()
            .is_some_and(|cur| &cur.masked() == m)
        {
            body.mobile = crate::views::Patch::Keep;
        }
    }
    let w = body.to_write(Some(&current)).or_problem(lang)?;
    let c = customers::update(&s.db, &u.principal, &id, w)
        .await
        .or_problem(lang)?;
    Ok(Json(CustomerView::new(&u.principal, &c)))
}

/// Move a customer to the recycle bin (kept 30 days).
#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ProblemDoc), (status = 403, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn delete(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    customers::delete(&s.db, &u.principal, &path_id(&id)?)
        .await
        .or_problem(u.lang)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Restore a customer from the recycle bin (admins).
#[utoipa::path(post, path = "/api/v1/customers/{id}/restore", tag = "customers", params(("id" = String, Path)),
    responses((status = 200, body = CustomerView), (status = 404, body = ProblemDoc), (status = 403, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn restore(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<CustomerView>> {
    let c = customers::restore(&s.db, &u.principal, &path_id(&id)?)
        .await
        .or_problem(u.lang)?;
    Ok(Json(CustomerView::new(&u.principal, &c)))
}

#[derive(Serialize, ToSchema)]
pub struct RevealedPhone {
    pub mobile: Option<String>,
}

/// Show a masked mobile number in full; the reveal is written to the audit log.
#[utoipa::path(post, path = "/api/v1/customers/{id}/reveal-phone", tag = "customers", params(("id" = String, Path)),
    responses((status = 200, body = RevealedPhone), (status = 403, body = ProblemDoc), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn reveal_phone(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<RevealedPhone>> {
    let mobile = customers::reveal_mobile(&s.db, &u.principal, &path_id(&id)?)
        .await
        .or_problem(u.lang)?;
    Ok(Json(RevealedPhone { mobile }))
}

#[derive(Deserialize, IntoParams)]
pub struct LimitParams {
    /// At most this many items (default 100).
    pub limit: Option<i64>,
}

/// The customer's timeline: interactions and recorded changes, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", tag = "customers", params(("id" = String, Path), LimitParams),
    responses((status = 200, body = Vec<Item>), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn timeline(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<LimitParams>,
) -> ApiResult<Json<Vec<Item>>> {
    let items = timeline::for_customer(
        &s.db,
        &u.principal,
        &path_id(&id)?,
        p.limit.unwrap_or(100).clamp(1, 500),
    )
    .await
    .or_problem(u.lang)?;
    Ok(Json(items))
}

/// Contacts of an organisation.
#[utoipa::path(get, path = "/api/v1/customers/{id}/contacts", tag = "contacts", params(("id" = String, Path)),
    responses((status = 200, body = Vec<ContactView>), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn list_contacts(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<ContactView>>> {
    let list = contacts::list(&s.db, &u.principal, &path_id(&id)?)
        .await
        .or_problem(u.lang)?;
    Ok(Json(
        list.iter()
            .map(|c| ContactView::new(&u.principal, c))
            .collect(),
    ))
}

/// Add a contact to an organisation.
#[utoipa::path(post, path = "/api/v1/customers/{id}/contacts", tag = "contacts", params(("id" = String, Path)), request_body = ContactBody,
    responses((status = 201, body = ContactView), (status = 404, body = ProblemDoc), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn create_contact(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ContactBody>,
) -> ApiResult<(StatusCode, Json<ContactView>)> {
    let fields = body.to_input(None).parse().or_problem(u.lang)?;
    let c = contacts::create(&s.db, &u.principal, &path_id(&id)?, fields)
        .await
        .or_problem(u.lang)?;
    Ok((
        StatusCode::CREATED,
        Json(ContactView::new(&u.principal, &c)),
    ))
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path)),
    responses((status = 200, body = ContactView), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn get_contact(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ContactView>> {
    let c = contacts::get(&s.db, &u.principal, &path_id(&id)?)
        .await
        .or_problem(u.lang)?;
    Ok(Json(ContactView::new(&u.principal, &c)))
}

#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path)), request_body = ContactBody,
    responses((status = 200, body = ContactView), (status = 404, body = ProblemDoc), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn update_contact(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ContactBody>,
) -> ApiResult<Json<ContactView>> {
    let id = path_id(&id)?;
    let current = contacts::get(&s.db, &u.principal, &id)
        .await
        .or_problem(u.lang)?;
    let fields = body.to_input(Some(&current)).parse().or_problem(u.lang)?;
    let c = contacts::update(&s.db, &u.principal, &id, fields)
        .await
        .or_problem(u.lang)?;
    Ok(Json(ContactView::new(&u.principal, &c)))
}

#[utoipa::path(delete, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn delete_contact(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    contacts::delete(&s.db, &u.principal, &path_id(&id)?)
        .await
        .or_problem(u.lang)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of `POST /api/v1/customers/{id}/interactions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionBody {
    /// call, visit, wechat, sms, email, note.
    pub kind: String,
    pub body: String,
    pub contact_id: Option<String>,
    /// RFC 3339; default now.
    pub occurred_at: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/interactions", tag = "interactions", params(("id" = String, Path), LimitParams),
    responses((status = 200, body = Vec<Interaction>), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn list_interactions(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<LimitParams>,
) -> ApiResult<Json<Vec<Interaction>>> {
    let list = interactions::list(&s.db, &u.principal, &path_id(&id)?, p.limit.unwrap_or(100))
        .await
        .or_problem(u.lang)?;
    Ok(Json(list))
}

/// Log a call, visit, message or note.
#[utoipa::path(post, path = "/api/v1/customers/{id}/interactions", tag = "interactions", params(("id" = String, Path)), request_body = InteractionBody,
    responses((status = 201, body = Interaction), (status = 404, body = ProblemDoc), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn create_interaction(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<InteractionBody>,
) -> ApiResult<(StatusCode, Json<Interaction>)> {
    let input = InteractionInput {
        kind: b.kind,
        body: b.body,
        contact_id: b.contact_id.unwrap_or_default(),
        occurred_at: b.occurred_at.unwrap_or_default(),
    };
    let i = interactions::create(&s.db, &u.principal, &path_id(&id)?, &input)
        .await
        .or_problem(u.lang)?;
    Ok((StatusCode::CREATED, Json(i)))
}

#[utoipa::path(get, path = "/api/v1/interactions/{id}", tag = "interactions", params(("id" = String, Path)),
    responses((status = 200, body = Interaction), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn get_interaction(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Interaction>> {
    let i = interactions::get(&s.db, &u.principal, &path_id(&id)?)
        .await
        .or_problem(u.lang)?;
    Ok(Json(i))
}
