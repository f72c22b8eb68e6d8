//! Imports from the web UI and the API. An uploaded file is streamed to
//! `DATA_DIR/imports/{job id}/` (never held whole in memory) and its header
//! row read; a run checks the chosen column mapping and owner, saves the
//! mapping for the file's source, and imports in a background task that
//! reports its progress into the job record at most twice a second.
//! Rejected rows go to `rejects.csv` beside the upload.

use crate::auth::ct_eq;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::multipart::{Field, Multipart};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kehu_domain::ids::UserId;
use kehu_domain::import::{Column, ImportKind, JobStatus, Mapping};
use kehu_domain::role::Principal;
use kehu_domain::{FieldErrors, Lang};
use kehu_import::{Observer, Options, Preview};
use kehu_store::audit::Actor;
use kehu_store::import::{Counts, Owner};
use kehu_store::import_jobs::{self, HeaderMapping, Job, NewJob, Progress};
use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

/// Rejected rows, beside the upload.
pub const REJECTS: &str = "rejects.csv";
/// Rows shown on the mapping page, checked by a dry run.
pub const PREVIEW_ROWS: usize = 20;
/// The download name of the rejected rows.
const REJECTS_NAME: &str = "被拒绝的行.csv";
/// Text fields of an upload are short, and few.
const MAX_FIELD: usize = 64 * 1024;
const MAX_FIELDS: usize = 32;
/// File types read, by extension (anything CSV-like is read as CSV).
const EXTENSIONS: &[&str] = &["csv", "txt", "tsv", "xlsx", "xlsm", "xls", "xlsb", "ods"];
/// Progress is written at most this often, and at least every heartbeat.
const REPORT_EVERY: Duration = Duration::from_millis(500);
const HEARTBEAT: Duration = Duration::from_secs(30);

/// Why an upload was refused.
#[derive(Debug)]
pub enum UploadError {
    NoFile,
    Empty,
    TooLarge(u64),
    Unsupported(String),
    Unreadable(String),
    Csrf,
    Malformed(String),
    Io(std::io::Error),
}

impl From<std::io::Error> for UploadError {
    fn from(e: std::io::Error) -> Self {
        UploadError::Io(e)
    }
}

impl UploadError {
    pub fn status(&self) -> StatusCode {
        match self {
            UploadError::NoFile | UploadError::Malformed(_) => StatusCode::BAD_REQUEST,
            UploadError::Empty | UploadError::Unreadable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            UploadError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            UploadError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            UploadError::Csrf => StatusCode::FORBIDDEN,
            UploadError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match self {
            UploadError::NoFile => lang
                .pick("请选择要导入的文件", "choose a file to import (the `file` field)")
                .into(),
            UploadError::Empty => lang
                .pick(
                    "文件是空的：第一行应为标题行（如 姓名、手机、邮箱）",
                    "the file is empty: its first row should hold the headers (e.g. name, mobile, email)",
                )
                .into(),
            UploadError::TooLarge(max) => {
                let max = size_text(*max);
                match lang {
                    Lang::ZhCn => format!("文件超过 {max} 的上限，请拆分后分批导入"),
                    Lang::En => format!("the file is larger than the limit of {max}; split it and import the parts"),
                }
            }
            UploadError::Unsupported(ext) => match lang {
                Lang::ZhCn => format!("不支持“{ext}”文件：请上传 CSV（UTF-8 或 GBK）、.xlsx、.xls 或 .ods 文件"),
                Lang::En => format!("“{ext}” files are not supported: upload CSV (UTF-8 or GBK), .xlsx, .xls or .ods"),
            },
            UploadError::Unreadable(why) => match lang {
                Lang::ZhCn => format!("无法读取文件：{why}"),
                Lang::En => format!("the file cannot be read: {why}"),
            },
            UploadError::Csrf => lang
                .pick("表单已过期，请刷新后重试", "the form has expired; reload and try again")
                .into(),
            UploadError::Malformed(why) => match lang {
                Lang::ZhCn => format!("上传内容无法读取：{why}"),
                Lang::En => format!("the upload cannot be read: {why}"),
            },
            UploadError::Io(e) => {
                tracing::error!(error = %e, "storing an upload failed");
                lang.pick("服务器无法保存文件，请联系管理员", "the server could not store the file; tell your administrator")
                    .into()
            }
        }
    }
}

/// The body limit of upload routes: none from the extractor, as
/// [`receive`] keeps to `Config::max_upload` and says so clearly.
pub fn upload_limit() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::disable()
}

/// A size for people: 200 MB, 64 KB, 12 B.
pub fn size_text(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    match bytes {
        b if b >= MB && b % MB == 0 => format!("{} MB", b / MB),
        b if b >= MB => format!("{:.1} MB", b as f64 / MB as f64),
        b if b >= 1024 => format!("{} KB", b / 1024),
        b => format!("{b} B"),
    }
}

/// A file received and its header row read.
pub struct Upload {
    pub id: String,
    /// The name the file had on the sender's computer.
    pub file_name: String,
    /// Where it is kept, relative to the data directory.
    pub rel_path: String,
    pub size: u64,
    /// Its header row.
    pub headers: Vec<String>,
    /// The other fields of the form.
    pub fields: HashMap<String, String>,
}

impl Upload {
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(|s| s.trim()).unwrap_or("")
    }

    /// What the file holds, from the `kind` field (customers when blank).
    pub fn kind(&self) -> Result<ImportKind, kehu_domain::Problem> {
        match self.field("kind") {
            "" => Ok(ImportKind::Customers),
            k => ImportKind::parse(k),
        }
    }
}

/// The folder of a job's files.
fn job_dir(state: &AppState, id: &str) -> PathBuf {
    state.config.data_dir.join("imports").join(id)
}

/// Receives an upload: the file streamed to disk within the size limit,
/// the other fields kept as text. With `csrf`, a form's `_csrf` field must
/// match it and come before the file.
pub async fn receive(
    state: &AppState,
    headers: &HeaderMap,
    mut form: Multipart,
    csrf: Option<&str>,
) -> Result<Upload, UploadError> {
    let max = state.config.max_upload;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max + (MAX_FIELDS * MAX_FIELD) as u64) {
        return Err(UploadError::TooLarge(max));
    }
    let id = import_jobs::new_id();
    let dir = job_dir(state, &id);
    let got = receive_into(state, &mut form, csrf, &dir).await;
    let (file_name, ext, size, fields) = match got {
        Ok(g) => g,
        Err(e) => {
            let _ = tokio::fs::remove_dir_all(&dir).await;
            return Err(e);
        }
    };
    let rel_path = format!("imports/{id}/upload.{ext}");
    let path = state.config.data_dir.join(&rel_path);
    let read = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || kehu_import::headers(&path)).await
    };
    let checked = match read {
        Ok(Ok(h)) if h.iter().all(|c| c.trim().is_empty()) => Err(UploadError::Empty),
        Ok(Ok(h)) => Ok(h),
        Ok(Err(e)) => Err(UploadError::Unreadable(
            format!("{e:#}").replace(&path.display().to_string(), &file_name),
        )),
        Err(e) => Err(UploadError::Unreadable(e.to_string())),
    };
    let headers = match checked {
        Ok(h) => h,
        Err(e) => {
            let _ = tokio::fs::remove_dir_all(&dir).await;
            return Err(e);
        }
    };
    Ok(Upload {
        id,
        file_name,
        rel_path,
        size,
        headers,
        fields,
    })
}

type Received = (String, &'static str, u64, HashMap<String, String>);

async fn receive_into(
    state: &AppState,
    form: &mut Multipart,
    csrf: Option<&str>,
    dir: &Path,
) -> Result<Received, UploadError> {
    let malformed =
        |e: axum::extract::multipart::MultipartError| UploadError::Malformed(e.body_text());
    let mut fields = HashMap::new();
    let mut file: Option<(String, &'static str, u64)> = None;
    let mut csrf_ok = csrf.is_none();
    while let Some(mut field) = form.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or("").to_string();
        if name != "file" {
            if fields.len() == MAX_FIELDS {
                return Err(UploadError::Malformed("too many fields".into()));
            }
            let text = field_text(&mut field).await?;
            if let (Some(expected), "_csrf") = (csrf, name.as_str()) {
                csrf_ok = ct_eq(&text, expected);
            }
            fields.insert(name, text);
            continue;
        }
        if !csrf_ok {
            return Err(UploadError::Csrf);
        }
        if file.is_some() {
            return Err(UploadError::Malformed("more than one file".into()));
        }
        let file_name: String = field
            .file_name()
            .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n))
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        if file_name.trim().is_empty() {
            return Err(UploadError::NoFile);
        }
        let ext = extension(&file_name)?;
        tokio::fs::create_dir_all(dir).await?;
        let mut out = tokio::io::BufWriter::new(
            tokio::fs::File::create(dir.join(format!("upload.{ext}"))).await?,
        );
        let mut size = 0u64;
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            size += chunk.len() as u64;
            if size > state.config.max_upload {
                return Err(UploadError::TooLarge(state.config.max_upload));
            }
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
        if size == 0 {
            return Err(UploadError::Empty);
        }
        file = Some((file_name, ext, size));
    }
    if !csrf_ok {
        return Err(UploadError::Csrf);
    }
    let (name, ext, size) = file.ok_or(UploadError::NoFile)?;
    Ok((name, ext, size, fields))
}

/// A short text field of an upload.
async fn field_text(field: &mut Field<'_>) -> Result<String, UploadError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| UploadError::Malformed(e.body_text()))?
    {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_FIELD {
            return Err(UploadError::Malformed("a field is too long".into()));
        }
    }
    String::from_utf8(bytes).map_err(|_| UploadError::Malformed("a field is not UTF-8".into()))
}

/// The extension a file is kept under, from its name.
fn extension(file_name: &str) -> Result<&'static str, UploadError> {
    let ext = Path::new(file_name)
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    EXTENSIONS
        .iter()
        .find(|e| **e == ext)
        .copied()
        .ok_or_else(|| {
            UploadError::Unsupported(if ext.is_empty() {
                file_name.into()
            } else {
                format!(".{ext}")
            })
        })
}

/// Records an upload as a job waiting for its mapping.
pub async fn record(
    state: &AppState,
    p: &Principal,
    up: &Upload,
    kind: ImportKind,
    source: &str,
) -> kehu_store::Result<Job> {
    let job = NewJob {
        id: &up.id,
        kind: kind.code(),
        file_name: &up.file_name,
        source,
        status: JobStatus::Uploaded,
        dry_run: false,
        owner_id: Some(&p.user_id),
        file_path: Some(&up.rel_path),
        bytes_total: Some(up.size),
        mapping: None,
    };
    import_jobs::create(&state.db, &Actor::from(p), &job).await?;
    import_jobs::get(&state.db, p, &up.id).await
}

/// Removes an upload that was refused.
pub async fn discard(state: &AppState, id: &str) {
    let _ = tokio::fs::remove_dir_all(job_dir(state, id)).await;
}

/// A job's uploaded file on disk.
fn file_of(state: &AppState, job: &Job) -> Option<PathBuf> {
    job.file_path
        .as_ref()
        .map(|f| state.config.data_dir.join(f))
}

/// Runs `make()`'s future on a thread of its own: file reading blocks.
async fn on_blocking_thread<F, Fut, T>(make: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || handle.block_on(make()))
        .await
        .expect("the blocking task ran to its end")
}

/// A job's header row, read from its file.
pub async fn headers(state: &AppState, job: &Job) -> anyhow::Result<Vec<String>> {
    let path = file_of(state, job).ok_or_else(|| anyhow::anyhow!("the job has no file"))?;
    tokio::task::spawn_blocking(move || kehu_import::headers(&path)).await?
}

/// The prefilled mapping of a job: its last run's, else the one saved for
/// its source, else what the headers say.
pub async fn prefill(
    state: &AppState,
    job: &Job,
    headers: &[String],
) -> kehu_store::Result<Mapping> {
    let kind = job.import_kind();
    let saved = match &job.mapping {
        Some(m) => Some(m.clone()),
        None => import_jobs::saved_mapping(&state.db, kind, &job.source).await?,
    };
    Ok(match saved {
        Some(m) => Mapping::with_saved(kind, headers, &m),
        None => Mapping::recognise(kind, headers),
    })
}

/// A run, checked: what the file holds, the columns to read, whose new
/// customers become, and the mapping by header to save and record.
pub struct Plan {
    pub kind: ImportKind,
    pub columns: Vec<(usize, Column)>,
    pub owner: Owner,
    pub by_header: HeaderMapping,
}

/// Checks a mapping and the owner asked for; every problem at once.
pub async fn plan(
    state: &AppState,
    p: &Principal,
    kind: ImportKind,
    headers: &[String],
    mapping: &Mapping,
    owner: Option<&UserId>,
) -> kehu_store::Result<Plan> {
    let mut errors = FieldErrors::new();
    let columns = mapping.columns(kind).map_err(|e| errors.0.extend(e.0)).ok();
    let owner = match import_jobs::owner_for(&state.db, p, owner).await {
        Ok(o) => Some(o),
        Err(kehu_store::Error::Invalid(e)) => {
            errors.0.extend(e.0);
            None
        }
        Err(e) => return Err(e),
    };
    match (columns, owner) {
        (Some(columns), Some(owner)) => Ok(Plan {
            kind,
            columns,
            owner,
            by_header: mapping.by_header(headers),
        }),
        _ => Err(errors.into()),
    }
}

fn options(state: &AppState, p: &Principal, job: &Job, plan: &Plan, dry_run: bool) -> Options {
    Options {
        kind: plan.kind,
        zone: state.config.timezone,
        owner: plan.owner.clone(),
        create_customers: false,
        dry_run,
        rejects: Some(job_dir(state, &job.id).join(REJECTS)),
        mapping: Some(plan.columns.clone()),
        by: Some(p.clone()),
        job: Some(job.id.clone()),
        source: job.source.clone(),
        ..Options::default()
    }
}

/// The first rows of a job's file with what a run would do to each.
pub async fn preview(
    state: &AppState,
    p: &Principal,
    job: &Job,
    plan: &Plan,
) -> anyhow::Result<Preview> {
    let path = file_of(state, job).ok_or_else(|| anyhow::anyhow!("the job has no file"))?;
    let mut opts = options(state, p, job, plan, true);
    opts.rejects = None;
    let db = state.db.clone();
    on_blocking_thread(move || async move {
        kehu_import::preview(&db, &path, &opts, PREVIEW_ROWS).await
    })
    .await
}

/// Saves the mapping for the job's source and starts the run in the
/// background, acting as `p`.
pub async fn start(
    state: &AppState,
    p: &Principal,
    job: &Job,
    plan: Plan,
    dry_run: bool,
) -> kehu_store::Result<()> {
    let actor = Actor::from(p);
    let path = file_of(state, job).ok_or(kehu_store::Error::NotFound)?;
    import_jobs::save_mapping(&state.db, &actor, plan.kind, &job.source, &plan.by_header).await?;
    import_jobs::run(
        &state.db,
        &actor,
        &job.id,
        dry_run,
        plan.owner.user.as_ref(),
        &plan.by_header,
    )
    .await?;
    let opts = options(state, p, job, &plan, dry_run);
    let id = job.id.clone();
    if let Ok(mut r) = state.running.lock() {
        r.insert(id.clone());
    }
    let state = state.clone();
    tokio::spawn(async move {
        let (tx, rx) = watch::channel(Progress::default());
        let reporter = tokio::spawn(report(state.db.clone(), id.clone(), rx));
        let db = state.db.clone();
        let result = on_blocking_thread(move || async move {
            let mut observer = JobObserver(tx);
            kehu_import::file(&db, &path, &opts, &mut observer).await
        })
        .await;
        let _ = reporter.await;
        match result {
            Ok(r) => {
                tracing::info!(job = %id, created = r.counts.created, updated = r.counts.updated, rejected = r.counts.rejected, "import done")
            }
            Err(e) => tracing::warn!(job = %id, error = %format!("{e:#}"), "import failed"),
        }
        if let Ok(mut r) = state.running.lock() {
            r.remove(&id);
        }
    });
    Ok(())
}

/// Passes a run's progress to its reporter.
struct JobObserver(watch::Sender<Progress>);

impl Observer for JobObserver {
    fn progress(&mut self, read: u64, total: Option<u64>, c: &Counts) {
        self.0.send_replace(Progress {
            rows: c.created + c.updated + c.unchanged + c.rejected,
            read,
            total,
            counts: *c,
            building_indexes: false,
        });
    }

    fn rejected(&mut self, _: u64, _: &str) {}
}

/// Writes a run's progress into its job record: at most every
/// [`REPORT_EVERY`], and at least every [`HEARTBEAT`] so that the job is
/// not taken for dead. Ends with the run.
async fn report(db: kehu_store::Db, id: String, mut rx: watch::Receiver<Progress>) {
    loop {
        if let Ok(Err(_)) = tokio::time::timeout(HEARTBEAT, rx.changed()).await {
            return;
        }
        let p = *rx.borrow_and_update();
        if let Err(e) = import_jobs::progress(&db, &id, &p).await {
            tracing::warn!(job = %id, error = %e, "recording import progress failed");
        }
        tokio::time::sleep(REPORT_EVERY).await;
    }
}

/// How far a job has got, in percent, when its size is known.
pub fn percent(job: &Job) -> Option<u64> {
    match (job.status, job.progress.total) {
        (JobStatus::Done, _) => Some(100),
        (_, Some(t)) if t > 0 => Some((job.progress.read.min(t) * 100) / t),
        _ => None,
    }
}

/// Whether a job has a file of rejected rows to download.
pub fn has_rejects(state: &AppState, job: &Job) -> bool {
    job.status != JobStatus::Running
        && job.progress.counts.rejected > 0
        && job_dir(state, &job.id).join(REJECTS).is_file()
}

/// The rejected rows of a job as a CSV download (被拒绝的行.csv), streamed.
pub async fn rejects_download(state: &AppState, job: &Job) -> Option<Response> {
    if !has_rejects(state, job) {
        return None;
    }
    let file = tokio::fs::File::open(job_dir(state, &job.id).join(REJECTS))
        .await
        .ok()?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let disposition = format!(
        "attachment; filename=\"rejected-rows.csv\"; filename*=UTF-8''{}",
        crate::auth::urlencode(REJECTS_NAME)
    );
    Some(
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            body,
        )
            .into_response(),
    )
}
