//! Importing files of customers, contacts or interactions (owners, admins,
//! managers): upload a file with what it holds and its source, choose where each column goes with a preview of the first
//! rows, dry-run or run it, follow the job; the list of imports.

use crate::auth::WebUser;
use crate::imports::{self, UploadError, PREVIEW_ROWS};
use crate::state::AppState;
use crate::ui::customers::Opt;
use crate::ui::form::{Errors, Posted};
use crate::ui::page::{render, Chrome, PageError, PageResult};
use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use kehu_domain::import::{Column, ImportKind, JobStatus, Mapping};
use kehu_domain::{FieldErrors, Lang};
use kehu_store::auth;
use kehu_store::import::Outcome;
use kehu_store::import_jobs::{self, Job};
use kehu_store::Error as StoreError;

fn importer(u: &WebUser) -> Result<(), PageError> {
    if u.principal.role.can_import() {
        Ok(())
    } else {
        Err(PageError::forbidden(u.lang))
    }
}

async fn job_of(s: &AppState, u: &WebUser, id: &str) -> Result<Job, PageError> {
    importer(u)?;
    let id: uuid::Uuid = id.parse().map_err(|_| PageError::not_found(u.lang))?;
    import_jobs::get(&s.db, &u.principal, &id.to_string())
        .await
        .page(u.lang)
}

// ---------------------------------------------------------------- list

pub struct JobRow {
    pub id: String,
    pub kind: &'static str,
    pub when: String,
    pub file_name: String,
    pub source: String,
    pub who: String,
    pub status: &'static str,
    pub dry_run: bool,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

#[derive(Template)]
#[template(path = "imports.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<JobRow>,
}

pub async fn list(State(s): State<AppState>, u: WebUser) -> Result<Response, PageError> {
    importer(&u)?;
    let jobs = import_jobs::list(&s.db, &u.principal, 200)
        .await
        .page(u.lang)?;
    let chrome = Chrome::new(&u, "imports", s.config.timezone);
    let rows = jobs
        .into_iter()
        .map(|j| {
            let c = j.progress.counts;
            JobRow {
                kind: j.import_kind().label(u.lang),
                when: chrome.time(&j.started_at),
                status: j.status.label(u.lang),
                dry_run: j.dry_run,
                created: c.created,
                updated: c.updated,
                unchanged: c.unchanged,
                rejected: c.rejected,
                id: j.id,
                file_name: j.file_name,
                source: j.source,
                who: j.actor_login,
            }
        })
        .collect();
    Ok(render(&ListPage { chrome, rows }))
}

// ---------------------------------------------------------------- upload

#[derive(Template)]
#[template(path = "import_upload.html")]
struct UploadPage {
    chrome: Chrome,
    kinds: Vec<Opt>,
    kind: &'static str,
    sources: Vec<String>,
    source: String,
    max_size: String,
    error: Option<String>,
}

async fn upload_page(
    s: &AppState,
    u: &WebUser,
    kind: ImportKind,
    source: String,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let sources = import_jobs::sources(&s.db).await.page(u.lang)?;
    let status = error.as_ref().map(|e| e.0);
    let mut r = render(&UploadPage {
        chrome: Chrome::new(u, "imports", s.config.timezone),
        kinds: ImportKind::ALL
            .iter()
            .map(|k| Opt {
                value: k.code().into(),
                label: k.label(u.lang).into(),
            })
            .collect(),
        kind: kind.code(),
        sources,
        source,
        max_size: imports::size_text(s.config.max_upload),
        error: error.map(|e| e.1),
    });
    if let Some(status) = status {
        *r.status_mut() = status;
    }
    Ok(r)
}

pub async fn upload_form(State(s): State<AppState>, u: WebUser) -> Result<Response, PageError> {
    importer(&u)?;
    upload_page(&s, &u, ImportKind::Customers, String::new(), None).await
}

pub async fn upload(
    State(s): State<AppState>,
    u: WebUser,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    importer(&u)?;
    let form = form.map_err(|e| PageError::bad_form(u.lang, &e.body_text()))?;
    let up = match imports::receive(&s, &headers, form, Some(&u.csrf)).await {
        Ok(up) => up,
        Err(UploadError::Csrf) => return Err(PageError::csrf(u.lang)),
        Err(e) => {
            let error = Some((e.status(), e.message(u.lang)));
            return upload_page(&s, &u, ImportKind::Customers, String::new(), error).await;
        }
    };
    let source: String = up.field("source").chars().take(100).collect();
    let kind = match up.kind() {
        Ok(k) => k,
        Err(p) => {
            imports::discard(&s, &up.id).await;
            let error = Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "{}：{}",
                    u.lang.pick("导入内容", "The file holds"),
                    p.message(u.lang)
                ),
            ));
            return upload_page(&s, &u, ImportKind::Customers, source, error).await;
        }
    };
    match imports::record(&s, &u.principal, &up, kind, &source).await {
        Ok(job) => Ok(Redirect::to(&format!("/import/{}", job.id)).into_response()),
        Err(e) => {
            imports::discard(&s, &up.id).await;
            Err(PageError::from_store(e, u.lang))
        }
    }
}

// ---------------------------------------------------------------- mapping and preview

pub struct ColumnRow {
    pub index: usize,
    pub header: String,
    /// The field code chosen ("" left out).
    pub chosen: &'static str,
    pub example: String,
}

pub struct PreviewRow {
    pub line: u64,
    /// created, updated, unchanged, rejected.
    pub kind: &'static str,
    pub outcome: &'static str,
    pub why: String,
    pub cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "import_mapping.html")]
struct MappingPage {
    chrome: Chrome,
    id: String,
    kind_label: &'static str,
    /// New customers get an owner; contacts and interactions do not.
    creates_customers: bool,
    file_name: String,
    source: String,
    size: String,
    columns: Vec<ColumnRow>,
    fields: Vec<Opt>,
    owners: Vec<Opt>,
    owner_id: String,
    errors: Errors,
    /// A problem with the mapping as a whole (no name column, a field twice).
    mapping_error: Option<String>,
    preview: Vec<PreviewRow>,
    preview_rows: usize,
}

fn outcome_text(o: &Outcome, lang: Lang) -> (&'static str, &'static str, String) {
    match o {
        Outcome::Created => ("created", lang.pick("新建", "New"), String::new()),
        Outcome::Updated => ("updated", lang.pick("更新", "Update"), String::new()),
        Outcome::Unchanged => ("unchanged", lang.pick("无变化", "Unchanged"), String::new()),
        Outcome::Rejected(e) => (
            "rejected",
            lang.pick("拒绝", "Rejected"),
            kehu_import::reasons(e, lang),
        ),
    }
}

/// The users whose new customers an import by `u` may create.
async fn owner_options(s: &AppState, u: &WebUser) -> Result<Vec<Opt>, PageError> {
    Ok(auth::users(&s.db)
        .await
        .page(u.lang)?
        .into_iter()
        .filter(|x| x.active && u.principal.can_assign(&x.id, x.team_id.as_ref()))
        .map(|x| Opt {
            value: x.id.to_string(),
            label: format!("{} ({})", x.name, x.login),
        })
        .collect())
}

/// Shows the mapping page for `mapping`, with a preview when it holds.
async fn mapping_page(
    s: &AppState,
    u: &WebUser,
    job: Job,
    headers: Vec<String>,
    mapping: Mapping,
    owner_id: String,
    errors: FieldErrors,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let kind = job.import_kind();
    let mut errors = errors;
    let mut preview = Vec::new();
    if errors.is_empty() {
        let owner = owner_id.parse().ok();
        match imports::plan(s, &u.principal, kind, &headers, &mapping, owner.as_ref()).await {
            Ok(plan) => match imports::preview(s, &u.principal, &job, &plan).await {
                Ok(p) => {
                    preview = p
                        .rows
                        .into_iter()
                        .map(|(line, cells, o)| {
                            let (kind, outcome, why) = outcome_text(&o, lang);
                            PreviewRow {
                                line,
                                kind,
                                outcome,
                                why,
                                cells,
                            }
                        })
                        .collect()
                }
                Err(e) => errors.add(
                    "mapping",
                    kehu_domain::Problem::Invalid {
                        zh: format!("无法读取文件：{e:#}"),
                        en: format!("the file cannot be read: {e:#}"),
                    },
                ),
            },
            Err(StoreError::Invalid(e)) => errors.0.extend(e.0),
            Err(e) => return Err(PageError::from_store(e, lang)),
        }
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mapping_error = errors.get("mapping").map(|p| p.message(lang));
    let columns = headers
        .iter()
        .enumerate()
        .map(|(i, h)| ColumnRow {
            index: i,
            header: h.clone(),
            chosen: mapping
                .0
                .get(i)
                .copied()
                .flatten()
                .map(|c| c.code())
                .unwrap_or(""),
            example: preview
                .iter()
                .filter_map(|r| r.cells.get(i))
                .find(|c| !c.trim().is_empty())
                .cloned()
                .unwrap_or_default(),
        })
        .collect();
    let mut r = render(&MappingPage {
        chrome: Chrome::new(u, "imports", s.config.timezone),
        file_name: job.file_name.clone(),
        source: job.source.clone(),
        size: imports::size_text(job.progress.total.unwrap_or(0)),
        id: job.id,
        kind_label: kind.label(lang),
        creates_customers: kind == ImportKind::Customers,
        columns,
        fields: kind
            .columns()
            .map(|c| Opt {
                value: c.code().into(),
                label: c.label(lang).into(),
            })
            .collect(),
        owners: owner_options(s, u).await?,
        owner_id,
        errors: Errors::from(&errors, lang),
        mapping_error,
        preview,
        preview_rows: PREVIEW_ROWS,
    });
    *r.status_mut() = status;
    Ok(r)
}

async fn file_headers(s: &AppState, job: &Job, lang: Lang) -> Result<Vec<String>, PageError> {
    imports::headers(s, job).await.map_err(|e| {
        tracing::error!(job = %job.id, error = %format!("{e:#}"), "an uploaded file cannot be read");
        PageError::new(StatusCode::INTERNAL_SERVER_ERROR, "error.internal", lang)
    })
}

pub async fn mapping_form(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let job = job_of(&s, &u, &id).await?;
    if !job.can_run() {
        return Ok(Redirect::to(&format!("/import/{}", job.id)).into_response());
    }
    let headers = file_headers(&s, &job, u.lang).await?;
    let mapping = imports::prefill(&s, &job, &headers).await.page(u.lang)?;
    let owner = job
        .owner_id
        .as_ref()
        .unwrap_or(&u.principal.user_id)
        .to_string();
    mapping_page(&s, &u, job, headers, mapping, owner, FieldErrors::new()).await
}

pub async fn submit_mapping(
    State(s): State<AppState>,
    Path(id): Path<String>,
    crate::auth::CsrfForm(u, pairs): crate::auth::CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let job = job_of(&s, &u, &id).await?;
    if !job.can_run() {
        return Ok(Redirect::to(&format!("/import/{}", job.id)).into_response());
    }
    let p = Posted::new(pairs);
    let headers = file_headers(&s, &job, u.lang).await?;
    let mut errors = FieldErrors::new();
    let mapping = Mapping(
        (0..headers.len())
            .map(|i| {
                let name = format!("col.{i}");
                match p.get(&name).trim() {
                    "" => None,
                    code => errors.take(&name, Column::parse(code)),
                }
            })
            .collect(),
    );
    let owner_id = p.get("owner_id");
    let action = p.get("action");
    let dry_run = match action.as_str() {
        "run" => false,
        "dry_run" => true,
        _ => return mapping_page(&s, &u, job, headers, mapping, owner_id, errors).await,
    };
    if !errors.is_empty() {
        return mapping_page(&s, &u, job, headers, mapping, owner_id, errors).await;
    }
    let owner = owner_id.parse().ok();
    let kind = job.import_kind();
    let plan = match imports::plan(&s, &u.principal, kind, &headers, &mapping, owner.as_ref()).await
    {
        Ok(plan) => plan,
        Err(StoreError::Invalid(e)) => {
            return mapping_page(&s, &u, job, headers, mapping, owner_id, e).await
        }
        Err(e) => return Err(PageError::from_store(e, u.lang)),
    };
    imports::start(&s, &u.principal, &job, plan, dry_run)
        .await
        .page(u.lang)?;
    Ok(Redirect::to(&format!("/import/{}", job.id)).into_response())
}

// ---------------------------------------------------------------- the job

#[derive(Template)]
#[template(path = "import_job.html")]
struct JobPage {
    chrome: Chrome,
    job: Job,
    kind_label: &'static str,
    status: &'static str,
    running: bool,
    percent: Option<u64>,
    started: String,
    finished: String,
    has_rejects: bool,
    can_run: bool,
}

pub async fn show(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let job = job_of(&s, &u, &id).await?;
    if job.status == JobStatus::Uploaded {
        return Ok(Redirect::to(&format!("/import/{}/mapping", job.id)).into_response());
    }
    let chrome = Chrome::new(&u, "imports", s.config.timezone);
    Ok(render(&JobPage {
        kind_label: job.import_kind().label(u.lang),
        status: job.status.label(u.lang),
        running: job.status == JobStatus::Running,
        percent: imports::percent(&job),
        started: chrome.time(&job.started_at),
        finished: chrome.time_opt(&job.finished_at),
        has_rejects: imports::has_rejects(&s, &job),
        can_run: job.can_run(),
        chrome,
        job,
    }))
}

pub async fn rejects(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let job = job_of(&s, &u, &id).await?;
    imports::rejects_download(&s, &job)
        .await
        .ok_or_else(|| PageError::not_found(u.lang))
}
