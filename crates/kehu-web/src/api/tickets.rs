//! Tickets (complaints and service requests) and their handling; the
//! script library; service-level settings; the user's notifications and
//! tasks. `POST /tickets` and `GET /tickets/{id}` are a fixed contract.

use super::{path_id, ApiJson, ApiQuery};
use crate::auth::ApiUser;
use crate::error::{ApiError, ApiResult, OrProblem, ProblemDoc};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kehu_domain::ids::{CustomerId, TaskId, TicketId, UserId};
use kehu_domain::ticket::{Method, Resolution, Severity, SlaTarget, Status, TicketDraft};
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Lang, Problem};
use kehu_store::notifications::{self, Notification};
use kehu_store::scripts::{self, Script, ScriptDraft};
use kehu_store::sla::{self, Hours};
use kehu_store::tasks::{self, Task};
use kehu_store::tickets::handling::{
    self, Compensation, CompensationDraft, EntryDraft, Event, Solution,
};
use kehu_store::tickets::{self, Category, Clock, ListFilter, Queue, Ticket};
use kehu_store::Error as StoreError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

fn clock(s: &AppState) -> Clock {
    Clock::wall(s.config.timezone)
}

/// A new ticket.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketBody {
    pub customer_id: Option<String>,
    pub subject: Option<String>,
    pub description: Option<String>,
    /// `suggestion` (建议性), `criticism` (批评性) or `accusation` (控告性).
    pub purpose: Option<String>,
    /// `low`, `normal`, `high` or `urgent`.
    pub severity: Option<String>,
    /// `phone`, `wechat`, `email`, `web` or `visit`.
    pub channel: Option<String>,
    /// `complaint` (default) or `request`.
    pub kind: Option<String>,
    /// One of the ticket categories (`GET /api/v1/ticket-categories`).
    pub category: Option<String>,
    pub product: Option<String>,
    /// The department responsible.
    pub department: Option<String>,
    /// Who works on it (default: the customer's owner).
    pub assignee_id: Option<String>,
}

/// Open a ticket on a customer in your scope. Answers with the ticket,
/// its first-response and resolution due times computed in business hours.
#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets", request_body = TicketBody,
    responses((status = 201, body = Ticket), (status = 403, body = ProblemDoc), (status = 422, body = ProblemDoc)),
    security(("bearer" = [])))]
pub async fn create(
    State(s): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<TicketBody>,
) -> ApiResult<(StatusCode, Json<Ticket>)> {
    let mut e = FieldErrors::new();
    let customer: Option<CustomerId> = match b.customer_id.as_deref().map(str::trim) {
        None | Some("") => {
            e.add("customer_id", Problem::Required);
            None
        }
        Some(c) => e.take("customer_id", c.parse().map_err(|_| Problem::NotFound)),
    };
    let assignee: Option<UserId> = match b.assignee_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(a) => e.take("assignee_id", a.parse().map_err(|_| Problem::NotFound)),
    };
    let draft = TicketDraft {
        subject: b.subject.unwrap_or_default(),
        description: b.description.unwrap_or_default(),
        purpose: b.purpose.unwrap_or_default(),
        severity: b.severity.unwrap_or_default(),
        channel: b.channel.unwrap_or_default(),
        kind: b.kind.unwrap_or_default(),
        category: b.category.unwrap_or_default(),
        product: b.product.unwrap_or_default(),
        department: b.department.unwrap_or_default(),
    };
    let checked = match draft.check() {
        Ok(t) => Some(t),
        Err(te) => {
            e.0.extend(te.0);
            None
        }
    };
    e.into_result().or_problem(u.lang)?;
    let (customer, checked) = (customer.expect("checked"), checked.expect("checked"));
    let t = tickets::create(
        &s.db,
        &u.principal,
        &customer,
        &checked,
        assignee.as_ref(),
        &clock(&s),
    )
    .await
    .map_err(|e| match e {
        // The customer is a field of the body: say which.
        StoreError::NotFound => {
            StoreError::Invalid(FieldErrors::single("customer_id", Problem::NotFound))
        }
        e => e,
    })
    .or_problem(u.lang)?;
    Ok((StatusCode::CREATED, Json(t)))
}

/// One ticket.
#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, body = Ticket), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn get(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Ticket>> {
    let t = tickets::get(&s.db, &u.principal, &path_id(&id)?, Timestamp::now())
        .await
        .or_problem(u.lang)?;
    Ok(Json(t))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `open` (default: every open ticket), `mine`, `team`, `breaching`
    /// (a target passing within two hours, or passed) or `all`.
    pub queue: Option<String>,
    /// Only a customer's tickets (newest first).
    pub customer_id: Option<String>,
    pub status: Option<String>,
    pub severity: Option<String>,
    pub category: Option<String>,
    /// At most this many (default 50, at most 500).
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// A ticket queue, within your scope.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets", params(ListParams),
    responses((status = 200, body = Vec<Ticket>), (status = 400, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    u: ApiUser,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Vec<Ticket>>> {
    let f =
        filter(&p).map_err(|e| ApiError::with_errors(StatusCode::BAD_REQUEST, e).lang(u.lang))?;
    Ok(Json(
        tickets::list(&s.db, &u.principal, &f, Timestamp::now())
            .await
            .or_problem(u.lang)?,
    ))
}

/// The list filter from query parameters (shared with the web UI).
pub fn filter(p: &ListParams) -> Result<ListFilter, FieldErrors> {
    let mut e = FieldErrors::new();
    let mut queue = e.take(
        "queue",
        Queue::parse(p.queue.as_deref().unwrap_or("").trim()).ok_or(Problem::InvalidChoice {
            allowed: ["open", "mine", "team", "breaching", "all"]
                .map(String::from)
                .to_vec(),
        }),
    );
    if let Some(c) = p
        .customer_id
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        queue = e.take(
            "customer_id",
            c.parse()
                .map(Queue::Customer)
                .map_err(|_| Problem::NotFound),
        );
    }
    let opt = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let status = match opt(&p.status) {
        Some(v) => e.take("status", Status::parse(&v)).map(Some),
        None => Some(None),
    };
    let severity = match opt(&p.severity) {
        Some(v) => e.take("severity", Severity::parse(&v)).map(Some),
        None => Some(None),
    };
    e.into_result()?;
    Ok(ListFilter {
        queue: queue.expect("checked"),
        status: status.flatten(),
        severity: severity.flatten(),
        category: opt(&p.category),
        limit: p.limit.unwrap_or(50),
        offset: p.offset.unwrap_or(0),
    })
}

/// Re-describe a ticket: subject, category, product, department, purpose,
/// severity (a new severity moves the due times to its targets).
#[utoipa::path(patch, path = "/api/v1/tickets/{id}", tag = "tickets", params(("id" = String, Path)), request_body = handling::TicketPatch,
    responses((status = 200, body = Ticket), (status = 404, body = ProblemDoc), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn update(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<handling::TicketPatch>,
) -> ApiResult<Json<Ticket>> {
    Ok(Json(
        handling::update(&s.db, &u.principal, &path_id(&id)?, &b, &clock(&s))
            .await
            .or_problem(u.lang)?,
    ))
}

/// The ticket's history: steps, replies, notes, promises, escalations.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/events", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Event>), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn events(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Event>>> {
    Ok(Json(
        handling::events(&s.db, &u.principal, &path_id(&id)?)
            .await
            .or_problem(u.lang)?,
    ))
}

/// Record a reply to the customer, an internal note, or a step of the
/// ticket's method (LSCPA: listen, share, clarify, present,
/// ask_for_action; CLEAR: control, listen, establish_empathy, apologize,
/// resolve). The first reply or step is the first response.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/entries", tag = "tickets", params(("id" = String, Path)), request_body = EntryDraft,
    responses((status = 200, body = Ticket), (status = 404, body = ProblemDoc), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn entry(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<EntryDraft>,
) -> ApiResult<Json<Ticket>> {
    Ok(Json(
        handling::record(&s.db, &u.principal, &path_id(&id)?, &b, &clock(&s))
            .await
            .or_problem(u.lang)?,
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// `waiting` (on the customer: the clock stops), `open` (resume or
    /// reopen) or `closed` (after resolution). Resolve with `/resolve`.
    pub status: String,
    #[serde(default)]
    pub note: String,
}

/// Change a ticket's status.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/status", tag = "tickets", params(("id" = String, Path)), request_body = StatusBody,
    responses((status = 200, body = Ticket), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn status(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<StatusBody>,
) -> ApiResult<Json<Ticket>> {
    let to = Status::parse(&b.status)
        .map_err(|p| FieldErrors::single("status", p))
        .or_problem(u.lang)?;
    Ok(Json(
        handling::set_status(&s.db, &u.principal, &path_id(&id)?, to, &b.note, &clock(&s))
            .await
            .or_problem(u.lang)?,
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromiseBody {
    /// RFC 3339, in the future.
    pub promised_at: String,
    #[serde(default)]
    pub note: String,
}

/// Promise the customer a reply by a time (承诺回复时间). The assignee is
/// reminded 30 minutes before; if it passes unkept the promise counts as
/// broken and the ticket escalates up the reporting line.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/promise", tag = "tickets", params(("id" = String, Path)), request_body = PromiseBody,
    responses((status = 200, body = Ticket), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn promise(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PromiseBody>,
) -> ApiResult<Json<Ticket>> {
    let at = chrono::DateTime::parse_from_rfc3339(b.promised_at.trim())
        .map(|d| Timestamp::from(d.with_timezone(&chrono::Utc)))
        .map_err(|_| FieldErrors::single("promised_at", Problem::InvalidDate))
        .or_problem(u.lang)?;
    Ok(Json(
        handling::promise(&s.db, &u.principal, &path_id(&id)?, at, &b.note, &clock(&s))
            .await
            .or_problem(u.lang)?,
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// A user who may read the customer; null to unassign.
    pub assignee_id: Option<String>,
}

/// Give the ticket to someone.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/assign", tag = "tickets", params(("id" = String, Path)), request_body = AssignBody,
    responses((status = 200, body = Ticket), (status = 403, body = ProblemDoc), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn assign(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AssignBody>,
) -> ApiResult<Json<Ticket>> {
    let to: Option<UserId> = match b.assignee_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(a) => Some(
            a.parse()
                .map_err(|_| FieldErrors::single("assignee_id", Problem::NotFound))
                .or_problem(u.lang)?,
        ),
    };
    Ok(Json(
        handling::assign(&s.db, &u.principal, &path_id(&id)?, to.as_ref(), &clock(&s))
            .await
            .or_problem(u.lang)?,
    ))
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/solutions", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Solution>), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn solutions(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Solution>>> {
    Ok(Json(
        handling::solutions(&s.db, &u.principal, &path_id(&id)?)
            .await
            .or_problem(u.lang)?,
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SolutionBody {
    pub body: String,
}

/// Offer the customer a solution (one of several).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/solutions", tag = "tickets", params(("id" = String, Path)), request_body = SolutionBody,
    responses((status = 201, body = Ticket), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn offer(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<SolutionBody>,
) -> ApiResult<(StatusCode, Json<Ticket>)> {
    let t = handling::offer_solution(&s.db, &u.principal, &path_id(&id)?, &b.body, &clock(&s))
        .await
        .or_problem(u.lang)?;
    Ok((StatusCode::CREATED, Json(t)))
}

/// Record that the customer chose this solution.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/solutions/{solution}/choose", tag = "tickets",
    params(("id" = String, Path), ("solution" = String, Path)),
    responses((status = 200, body = Ticket), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn choose(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, solution)): Path<(String, String)>,
) -> ApiResult<Json<Ticket>> {
    Ok(Json(
        handling::choose_solution(&s.db, &u.principal, &path_id(&id)?, &solution, &clock(&s))
            .await
            .or_problem(u.lang)?,
    ))
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/compensations", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Compensation>), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn compensations(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Compensation>>> {
    Ok(Json(
        handling::compensations(&s.db, &u.principal, &path_id(&id)?)
            .await
            .or_problem(u.lang)?,
    ))
}

/// Record compensation (refund, replacement, repair, voucher, gift, cash,
/// service, other) with its amount in yuan (`amount`) or fen
/// (`amount_fen`).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/compensations", tag = "tickets", params(("id" = String, Path)), request_body = CompensationDraft,
    responses((status = 201, body = Ticket), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn compensate(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<CompensationDraft>,
) -> ApiResult<(StatusCode, Json<Ticket>)> {
    let t = handling::compensate(&s.db, &u.principal, &path_id(&id)?, &b, &clock(&s))
        .await
        .or_problem(u.lang)?;
    Ok((StatusCode::CREATED, Json(t)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// What was done for the customer now (应急方案).
    pub immediate_fix: String,
    /// What keeps it from happening again (预防措施); required for complaints.
    #[serde(default)]
    pub preventive_action: String,
}

/// Resolve the ticket. A follow-up visit goes on the assignee's task list
/// and the satisfaction survey is sent an hour later.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/resolve", tag = "tickets", params(("id" = String, Path)), request_body = ResolveBody,
    responses((status = 200, body = Ticket), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn resolve(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ResolveBody>,
) -> ApiResult<Json<Ticket>> {
    let id: TicketId = path_id(&id)?;
    let t = tickets::get(&s.db, &u.principal, &id, Timestamp::now())
        .await
        .or_problem(u.lang)?;
    let r = Resolution::check(t.kind, &b.immediate_fix, &b.preventive_action).or_problem(u.lang)?;
    Ok(Json(
        handling::resolve(&s.db, &u.principal, &id, &r, &clock(&s))
            .await
            .or_problem(u.lang)?,
    ))
}

/// A survey link made for sending.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyLink {
    /// The path of the public survey page; put the server's address in front.
    pub path: String,
}

/// Send a satisfaction survey about the ticket now (besides the one sent
/// after resolution); the message waits in the outbox of its channel.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/surveys", tag = "tickets", params(("id" = String, Path)),
    responses((status = 201, body = SurveyLink), (status = 403, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn survey(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<SurveyLink>)> {
    let token =
        kehu_store::surveys::send_for_ticket(&s.db, &u.principal, &path_id(&id)?, Timestamp::now())
            .await
            .or_problem(u.lang)?;
    Ok((
        StatusCode::CREATED,
        Json(SurveyLink {
            path: kehu_store::surveys::link_path(&token),
        }),
    ))
}

/// Ticket categories and the handling method of each.
#[utoipa::path(get, path = "/api/v1/ticket-categories", tag = "tickets",
    responses((status = 200, body = Vec<Category>)), security(("bearer" = [])))]
pub async fn categories(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<Vec<Category>>> {
    Ok(Json(tickets::categories(&s.db).await.or_problem(u.lang)?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryBody {
    pub name: String,
    /// `lscpa` or `clear`.
    pub method: String,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// Add a category or change its method (managers and admins).
#[utoipa::path(post, path = "/api/v1/ticket-categories", tag = "tickets", request_body = CategoryBody,
    responses((status = 204), (status = 403, body = ProblemDoc), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn save_category(
    State(s): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<CategoryBody>,
) -> ApiResult<StatusCode> {
    let m = Method::parse(&b.method)
        .map_err(|p| FieldErrors::single("method", p))
        .or_problem(u.lang)?;
    tickets::save_category(&s.db, &u.principal, &b.name, m, b.active)
        .await
        .or_problem(u.lang)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The script library (话术库).
#[utoipa::path(get, path = "/api/v1/scripts", tag = "tickets", responses((status = 200, body = Vec<Script>)), security(("bearer" = [])))]
pub async fn list_scripts(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<Vec<Script>>> {
    Ok(Json(scripts::list(&s.db).await.or_problem(u.lang)?))
}

/// Add an approved phrase (managers and admins).
#[utoipa::path(post, path = "/api/v1/scripts", tag = "tickets", request_body = ScriptDraft,
    responses((status = 201, body = Script), (status = 403, body = ProblemDoc), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn create_script(
    State(s): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<ScriptDraft>,
) -> ApiResult<(StatusCode, Json<Script>)> {
    let sc = scripts::create(&s.db, &u.principal, &b)
        .await
        .or_problem(u.lang)?;
    Ok((StatusCode::CREATED, Json(sc)))
}

/// Change a phrase (managers and admins).
#[utoipa::path(put, path = "/api/v1/scripts/{id}", tag = "tickets", params(("id" = String, Path)), request_body = ScriptDraft,
    responses((status = 204), (status = 404, body = ProblemDoc), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn update_script(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ScriptDraft>,
) -> ApiResult<StatusCode> {
    scripts::update(&s.db, &u.principal, &id, &b)
        .await
        .or_problem(u.lang)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a phrase (managers and admins).
#[utoipa::path(delete, path = "/api/v1/scripts/{id}", tag = "tickets", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn delete_script(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    scripts::delete(&s.db, &u.principal, &id)
        .await
        .or_problem(u.lang)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Service-level settings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SlaSettings {
    /// Per severity (`urgent`, `high`, `normal`, `low`), in business minutes.
    pub targets: BTreeMap<String, SlaTargetBody>,
    /// Daily business hours, `HH:MM-HH:MM` (Monday to Friday, less holidays,
    /// plus make-up working days, from the calendar).
    pub business_hours: String,
    /// The business time zone.
    pub time_zone: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaTargetBody {
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
}

async fn sla_settings(s: &AppState, lang: Lang) -> ApiResult<SlaSettings> {
    let targets = sla::targets(&s.db).await.or_problem(lang)?;
    let hours = sla::hours(&s.db).await.or_problem(lang)?;
    Ok(SlaSettings {
        targets: targets
            .into_iter()
            .map(|(k, v)| {
                (
                    k.code().to_string(),
                    SlaTargetBody {
                        first_response_minutes: v.first_response_minutes,
                        resolution_minutes: v.resolution_minutes,
                    },
                )
            })
            .collect(),
        business_hours: hours.text(),
        time_zone: s.config.timezone.name().to_string(),
    })
}

#[utoipa::path(get, path = "/api/v1/sla", tag = "tickets", responses((status = 200, body = SlaSettings)), security(("bearer" = [])))]
pub async fn get_sla(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<SlaSettings>> {
    Ok(Json(sla_settings(&s, u.lang).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPatch {
    #[serde(default)]
    pub targets: BTreeMap<String, SlaTargetBody>,
    pub business_hours: Option<String>,
}

/// Change targets or business hours (admins). New tickets use them.
#[utoipa::path(patch, path = "/api/v1/sla", tag = "tickets", request_body = SlaPatch,
    responses((status = 200, body = SlaSettings), (status = 403, body = ProblemDoc), (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn patch_sla(
    State(s): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<SlaPatch>,
) -> ApiResult<Json<SlaSettings>> {
    if !u.principal.role.is_admin() {
        return Err(ApiError::from(StoreError::Forbidden).lang(u.lang));
    }
    let mut e = FieldErrors::new();
    let mut changes = vec![];
    for (k, v) in &b.targets {
        match (
            Severity::parse(k),
            SlaTarget::new(v.first_response_minutes, v.resolution_minutes),
        ) {
            (Ok(sev), Ok(t)) => changes.push((sev, t)),
            (Err(p), _) => e.add(format!("targets.{k}"), p),
            (_, Err(fe)) => e.0.extend(fe.0.into_iter().map(|mut x| {
                x.field = format!("targets.{k}.{}", x.field);
                x
            })),
        }
    }
    let hours = match b.business_hours.as_deref() {
        Some(h) => match Hours::parse(h) {
            Ok(h) => Some(h),
            Err(fe) => {
                e.0.extend(fe.0);
                None
            }
        },
        None => None,
    };
    e.into_result().or_problem(u.lang)?;
    for (sev, t) in changes {
        sla::set_target(&s.db, &u.principal, sev, t)
            .await
            .or_problem(u.lang)?;
    }
    if let Some(h) = hours {
        sla::set_hours(&s.db, &u.principal, h)
            .await
            .or_problem(u.lang)?;
    }
    Ok(Json(sla_settings(&s, u.lang).await?))
}

/// Your newest notifications (assigned, promise due, escalated, customer
/// message).
#[utoipa::path(get, path = "/api/v1/notifications", tag = "tickets", responses((status = 200, body = Vec<Notification>)), security(("bearer" = [])))]
pub async fn list_notifications(
    State(s): State<AppState>,
    u: ApiUser,
) -> ApiResult<Json<Vec<Notification>>> {
    Ok(Json(
        notifications::list(&s.db, &u.principal.user_id, 100)
            .await
            .or_problem(u.lang)?,
    ))
}

/// Mark all your notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "tickets", responses((status = 204)), security(("bearer" = [])))]
pub async fn read_notifications(State(s): State<AppState>, u: ApiUser) -> ApiResult<StatusCode> {
    notifications::mark_read(&s.db, &u.principal.user_id, Timestamp::now())
        .await
        .or_problem(u.lang)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your open tasks (follow-up visits), soonest first.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tickets", responses((status = 200, body = Vec<Task>)), security(("bearer" = [])))]
pub async fn list_tasks(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<Vec<Task>>> {
    Ok(Json(
        tasks::mine(&s.db, &u.principal, 200)
            .await
            .or_problem(u.lang)?,
    ))
}

/// Mark a task done.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/done", tag = "tickets", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn task_done(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: TaskId = path_id(&id)?;
    tasks::complete(&s.db, &u.principal, &id, Timestamp::now())
        .await
        .or_problem(u.lang)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Messages to customers waiting for a channel to deliver them (admins):
/// survey links and the like; put the server's address in front of a link
/// path, deliver, then mark the message sent.
#[utoipa::path(get, path = "/api/v1/outbox", tag = "tickets",
    responses((status = 200, body = Vec<kehu_store::outbox::Message>), (status = 403, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn outbox(
    State(s): State<AppState>,
    u: ApiUser,
) -> ApiResult<Json<Vec<kehu_store::outbox::Message>>> {
    Ok(Json(
        kehu_store::outbox::pending(&s.db, &u.principal, 500)
            .await
            .or_problem(u.lang)?,
    ))
}

/// Mark an outbox message delivered (admins).
#[utoipa::path(post, path = "/api/v1/outbox/{id}/sent", tag = "tickets", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ProblemDoc), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn outbox_sent(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    kehu_store::outbox::mark_sent(&s.db, &u.principal, &id, Timestamp::now())
        .await
        .or_problem(u.lang)?;
    Ok(StatusCode::NO_CONTENT)
}
