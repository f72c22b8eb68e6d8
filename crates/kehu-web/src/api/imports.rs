//! Imports of customers, contacts and interactions: upload a file to run as a background job, follow its
//! progress, download its rejected rows. For owners, admins and managers;
//! a user sees the jobs they started (admins all).

use crate::auth::ApiUser;
use crate::error::{ApiError, ApiResult, OrProblem, ProblemDoc};
use crate::imports::{self, UploadError};
use crate::state::AppState;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kehu_domain::ids::UserId;
use kehu_domain::import::{ImportKind, JobStatus, Mapping};
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Lang, Problem};
use kehu_store::import_jobs::{self, HeaderMapping, Job};
use serde::Serialize;
use utoipa::ToSchema;

/// What became of the rows so far.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountsView {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

/// An import job.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportJobView {
    pub id: String,
    /// What the file holds: customers, contacts or interactions.
    pub kind: ImportKind,
    /// uploaded (waits for its column mapping, web UI), running, done, failed, interrupted.
    pub status: JobStatus,
    /// A dry run checks every row and writes nothing.
    pub dry_run: bool,
    pub file_name: String,
    pub source: String,
    /// Who started it.
    pub actor_login: String,
    /// Whose the new customers become.
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<UserId>,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// Data rows handled so far.
    pub rows_read: u64,
    /// Bytes of the file read, when progress is measured in bytes (CSV).
    pub bytes_read: Option<u64>,
    pub bytes_total: Option<u64>,
    /// 0-100, when known.
    pub percent: Option<u64>,
    /// Every row is in and the indexes a large import set aside are being
    /// built; the job is still running.
    pub building_indexes: bool,
    pub counts: CountsView,
    /// Why it failed.
    pub error: Option<String>,
    /// The column mapping of the run: header → field code ("" left out).
    pub mapping: Option<HeaderMapping>,
    /// The rejected rows as CSV, once the run has ended.
    pub rejects_url: Option<String>,
}

impl ImportJobView {
    pub fn new(s: &AppState, j: Job) -> ImportJobView {
        let c = j.progress.counts;
        ImportJobView {
            percent: imports::percent(&j),
            building_indexes: j.progress.building_indexes && j.status == JobStatus::Running,
            rejects_url: imports::has_rejects(s, &j)
                .then(|| format!("/api/v1/imports/{}/rejects", j.id)),
            bytes_read: j.progress.total.map(|_| j.progress.read),
            bytes_total: j.progress.total,
            rows_read: j.progress.rows,
            counts: CountsView {
                created: c.created,
                updated: c.updated,
                unchanged: c.unchanged,
                rejected: c.rejected,
            },
            kind: j.import_kind(),
            id: j.id,
            status: j.status,
            dry_run: j.dry_run,
            file_name: j.file_name,
            source: j.source,
            actor_login: j.actor_login,
            owner_id: j.owner_id,
            started_at: j.started_at,
            finished_at: j.finished_at,
            error: j.error,
            mapping: j.mapping,
        }
    }
}

fn importer(u: &ApiUser) -> ApiResult<()> {
    if u.principal.role.can_import() {
        Ok(())
    } else {
        Err(ApiError::from(kehu_store::Error::Forbidden).lang(u.lang))
    }
}

fn refused(e: UploadError, lang: Lang) -> ApiError {
    ApiError::new(e.status(), e.message(lang)).lang(lang)
}

/// The multipart form of `POST /api/v1/imports`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImportForm {
    /// CSV (UTF-8 or GBK; separated by commas, semicolons, tabs or `|`),
    /// .xlsx, .xls or .ods (first sheet). The first row holds the headers.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// What the file holds: customers (default), contacts (of
    /// organisations), interactions or orders.
    kind: Option<ImportKind>,
    /// Where the file comes from (e.g. 旧系统, 展会名单); the mapping used is
    /// saved for it and reused when the next file from it has none.
    source: Option<String>,
    /// A JSON object of header → field code ("" or "ignore" leaves a
    /// column out). Customers: external_id, kind, name, gender, title,
    /// mobile, email, wechat, company, city, address, source, birthday,
    /// grade, notes, tags. Contacts: external_id or customer (the
    /// organisation), name, position, role, mobile, email, wechat,
    /// birthday, preferences, notes. Interactions: external_id, customer,
    /// mobile or email (the customer), channel, occurred_at, body, contact.
    /// Orders: external_id, customer, mobile or email (the customer),
    /// order_no, ordered_at, amount (yuan), quantity, product, notes.
    /// Headers it does not name are left out. Without it: the mapping saved
    /// for the source, else the headers are recognised.
    mapping: Option<String>,
    /// true: check every row, write nothing.
    dry_run: Option<bool>,
    /// Whose the new customers become (default: the caller); another user
    /// within the caller's scope.
    owner_id: Option<String>,
}

fn invalid(field: &str, zh: &str, en: &str, lang: Lang) -> ApiError {
    ApiError::invalid(FieldErrors::single(
        field,
        Problem::Invalid {
            zh: zh.into(),
            en: en.into(),
        },
    ))
    .lang(lang)
}

/// What the form asks for, besides the file.
struct Asked {
    kind: ImportKind,
    source: String,
    mapping: Option<HeaderMapping>,
    dry_run: bool,
    owner: Option<UserId>,
}

fn asked(up: &imports::Upload, lang: Lang) -> ApiResult<Asked> {
    let kind = up
        .kind()
        .map_err(|p| ApiError::invalid(FieldErrors::single("kind", p)).lang(lang))?;
    let source: String = up.field("source").chars().take(100).collect();
    let mapping = match up.field("mapping") {
        "" => None,
        m => Some(serde_json::from_str(m).map_err(|_| {
            invalid(
                "mapping",
                "应为 JSON 对象：{\"标题\": \"字段代码\"}",
                "must be a JSON object of header → field code",
                lang,
            )
        })?),
    };
    let dry_run = match up.field("dry_run").to_ascii_lowercase().as_str() {
        "" | "false" | "0" | "off" => false,
        "true" | "1" | "on" => true,
        _ => {
            return Err(invalid(
                "dry_run",
                "应为 true 或 false",
                "must be true or false",
                lang,
            ))
        }
    };
    let owner = match up.field("owner_id") {
        "" => None,
        o => Some(o.parse().map_err(|_| {
            ApiError::invalid(FieldErrors::single("owner_id", Problem::NotFound)).lang(lang)
        })?),
    };
    Ok(Asked {
        kind,
        source,
        mapping,
        dry_run,
        owner,
    })
}

/// Upload a file of customers, contacts or interactions and import it in
/// the background (owners, admins, managers). Answers at once with the job;
/// follow it at its URL. Customer rows are matched by external id, mobile,
/// then e-mail; contact rows to their organisation's contact by mobile,
/// e-mail or name; an interaction with the same customer, time, channel and
/// content is not added twice. Running a file again creates nothing twice;
/// bad rows are rejected, good ones kept.
#[utoipa::path(post, path = "/api/v1/imports", tag = "imports",
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses((status = 202, body = ImportJobView), (status = 400, body = ProblemDoc), (status = 403, body = ProblemDoc),
        (status = 413, body = ProblemDoc), (status = 415, body = ProblemDoc), (status = 422, body = ProblemDoc)),
    security(("bearer" = [])))]
pub async fn create(
    State(s): State<AppState>,
    u: ApiUser,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    importer(&u)?;
    let lang = u.lang;
    let form = form.map_err(|e| {
        ApiError::bad_request(format!(
            "send the file as multipart/form-data (field `file`): {}",
            e.body_text()
        ))
        .lang(lang)
    })?;
    let up = imports::receive(&s, &headers, form, None)
        .await
        .map_err(|e| refused(e, lang))?;
    match start(&s, &u, &up).await {
        Ok(job) => Ok((
            StatusCode::ACCEPTED,
            [(header::LOCATION, format!("/api/v1/imports/{}", job.id))],
            Json(ImportJobView::new(&s, job)),
        )
            .into_response()),
        Err(e) => {
            imports::discard(&s, &up.id).await;
            Err(e)
        }
    }
}

async fn start(s: &AppState, u: &ApiUser, up: &imports::Upload) -> ApiResult<Job> {
    let lang = u.lang;
    let a = asked(up, lang)?;
    let headers = &up.headers;
    let mapping = match &a.mapping {
        Some(m) => Mapping::by_name(a.kind, headers, m).or_problem(lang)?,
        None => match import_jobs::saved_mapping(&s.db, a.kind, &a.source)
            .await
            .or_problem(lang)?
        {
            Some(saved) => Mapping::with_saved(a.kind, headers, &saved),
            None => Mapping::recognise(a.kind, headers),
        },
    };
    let plan = imports::plan(s, &u.principal, a.kind, headers, &mapping, a.owner.as_ref())
        .await
        .or_problem(lang)?;
    let job = imports::record(s, &u.principal, up, a.kind, &a.source)
        .await
        .or_problem(lang)?;
    imports::start(s, &u.principal, &job, plan, a.dry_run)
        .await
        .or_problem(lang)?;
    import_jobs::get(&s.db, &u.principal, &job.id)
        .await
        .or_problem(lang)
}

/// The caller's imports (admins: everyone's), newest first.
#[utoipa::path(get, path = "/api/v1/imports", tag = "imports",
    responses((status = 200, body = Vec<ImportJobView>), (status = 403, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn list(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<Vec<ImportJobView>>> {
    importer(&u)?;
    let jobs = import_jobs::list(&s.db, &u.principal, 200)
        .await
        .or_problem(u.lang)?;
    Ok(Json(
        jobs.into_iter()
            .map(|j| ImportJobView::new(&s, j))
            .collect(),
    ))
}

async fn job(s: &AppState, u: &ApiUser, id: &str) -> ApiResult<Job> {
    importer(u)?;
    let id: uuid::Uuid = super::path_id(id)?;
    import_jobs::get(&s.db, &u.principal, &id.to_string())
        .await
        .or_problem(u.lang)
}

/// An import's status, progress and counts.
#[utoipa::path(get, path = "/api/v1/imports/{id}", tag = "imports", params(("id" = String, Path)),
    responses((status = 200, body = ImportJobView), (status = 403, body = ProblemDoc), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn get(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ImportJobView>> {
    let j = job(&s, &u, &id).await?;
    Ok(Json(ImportJobView::new(&s, j)))
}

/// An import's rejected rows as CSV (UTF-8 with a byte order mark): the
/// line in the file, its cells, and why it was rejected.
#[utoipa::path(get, path = "/api/v1/imports/{id}/rejects", tag = "imports", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn rejects(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let j = job(&s, &u, &id).await?;
    imports::rejects_download(&s, &j).await.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "this import has no rejected rows (yet)",
        )
        .lang(u.lang)
    })
}
