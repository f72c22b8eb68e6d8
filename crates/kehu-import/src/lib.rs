//! Importing customers, contacts, interactions and orders from files: rows read by
//! [`read`], matched and written in batches by `kehu_store::import`, each
//! outcome reported to an [`Observer`] (a terminal progress bar, a job record). Rejected rows can
//! be written to a CSV file with their reasons. Columns are found by their
//! headers, or given by a mapping a person chose; [`preview`] checks the
//! first rows without writing.

pub mod read;

use anyhow::{bail, Context, Result};
use kehu_domain::import::{map_headers, Column, ImportKind, ImportedRow, JobStatus};
use kehu_domain::role::Principal;
use kehu_domain::{FieldErrors, Lang, Problem};
use kehu_store::audit::Actor;
use kehu_store::deferred;
use kehu_store::import::{self, Counts, Outcome, Owner};
use kehu_store::import_jobs::{self, Progress};
use kehu_store::Db;
use std::io::Write;
use std::path::Path;

/// Written rows after which the planner's statistics are refreshed, so the
/// first searches after a big import are planned on the new data.
const REFRESH_STATISTICS_AFTER: u64 = 10_000;

/// When an import refreshes the planner's statistics as it goes: once
/// [`REFRESH_STATISTICS_AFTER`] rows are written, then each time the rows
/// written have doubled since (six times in a million rows), so that
/// the import's own lookups are planned for the table it fills.
#[derive(Debug, Default)]
struct Refreshes {
    /// Rows written at the last refresh.
    at: u64,
}

impl Refreshes {
    fn due(&mut self, written: u64) -> bool {
        let due = written >= REFRESH_STATISTICS_AFTER && written >= 2 * self.at;
        if due {
            self.at = written;
        }
        due
    }
}

/// Rows written per transaction: large, because a batch's writes to each
/// index share pages, so fewer pages are written per row (a million new
/// customers: 6,200-8,100 rows/s against 4,700 with 5,000-row batches),
/// yet small enough that another writer on SQLite waits a few seconds at
/// most (a batch takes 1-3 s at 6,000-20,000 rows/s), well within its
/// 10 s busy timeout.
pub const BATCH: usize = 20_000;

/// Rows per transaction once an import defers its indexes: the indexes
/// it still writes (matching keys, at random places) are written once per
/// batch, so larger batches write fewer pages per row; a batch still
/// takes only a few seconds.
pub const DEFERRED_BATCH: usize = 50_000;

/// What an import reports as it goes.
pub trait Observer {
    /// After each batch: how far the file has been read (bytes of `total`,
    /// or rows when the total is unknown) and the totals so far.
    fn progress(&mut self, read: u64, total: Option<u64>, counts: &Counts);
    /// A rejected row with its reasons (in Chinese).
    fn rejected(&mut self, line: u64, why: &str);
    /// Every row is in; the indexes deferred for a large import are being
    /// built (a minute or so for a million customers).
    fn building_indexes(&mut self) {}
}

/// An observer that ignores everything.
impl Observer for () {
    fn progress(&mut self, _: u64, _: Option<u64>, _: &Counts) {}
    fn rejected(&mut self, _: u64, _: &str) {}
}

pub struct Report {
    pub counts: Counts,
    /// Indexes dropped while the rows went in and built again after.
    pub deferred_indexes: usize,
    /// The text encoding of a CSV file, or "workbook".
    pub format: &'static str,
    pub unknown_columns: Vec<String>,
}

/// How an import runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// What the file holds.
    pub kind: ImportKind,
    /// The business time zone, for times written without an offset.
    pub zone: chrono_tz::Tz,
    /// Who new customers belong to.
    pub owner: Owner,
    /// Orders whose customer's external id is unknown create the customer.
    pub create_customers: bool,
    /// Check every row and report, writing nothing.
    pub dry_run: bool,
    /// Where to write rejected rows (CSV with line numbers and reasons).
    pub rejects: Option<std::path::PathBuf>,
    /// Which column goes where, `(index, field)`; `None` recognises the
    /// headers.
    pub mapping: Option<Columns>,
    /// Who imports: a user, whose scope limits which customers rows may
    /// update and who is named in the audit log; `None` is the system
    /// (`system:import`, every customer).
    pub by: Option<Principal>,
    /// A job record already started (running) to report into; `None`
    /// records a new one.
    pub job: Option<String>,
    /// Where the file came from (for the job record).
    pub source: String,
    /// The fewest new customers still to come for which an import into
    /// SQLite defers most indexes until its rows are in
    /// ([`deferred::worth_deferring`]).
    pub defer_at_least: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            kind: ImportKind::Customers,
            zone: chrono_tz::Asia::Shanghai,
            owner: Owner::default(),
            create_customers: false,
            dry_run: false,
            rejects: None,
            mapping: None,
            by: None,
            job: None,
            source: String::new(),
            defer_at_least: deferred::DEFER_AT_LEAST,
        }
    }
}

impl Options {
    fn actor(&self) -> Actor {
        self.by
            .as_ref()
            .map(Actor::from)
            .unwrap_or_else(|| Actor::system("import"))
    }
}

/// Where each column read goes: `(index, field)`.
pub type Columns = Vec<(usize, Column)>;

/// The columns to read from a file with these headers: the explicit
/// mapping, else the recognised headers; and the headers left out.
fn columns(headers: &[String], opts: &Options) -> Result<(Columns, Vec<String>)> {
    if headers.iter().all(|h| h.trim().is_empty()) {
        bail!("文件是空的：第一行应是标题行 (the file is empty: its first row should hold the headers)");
    }
    let (columns, unknown) = match &opts.mapping {
        Some(m) => {
            let unknown = headers
                .iter()
                .enumerate()
                .filter(|(i, h)| !h.trim().is_empty() && !m.iter().any(|(j, _)| j == i))
                .map(|(_, h)| h.clone())
                .collect();
            (m.clone(), unknown)
        }
        None => map_headers(opts.kind, headers),
    };
    if let Err(e) = opts.kind.check(&columns) {
        bail!(
            "{} (headers: {})",
            reasons(&e, Lang::ZhCn),
            headers.join(", ")
        );
    }
    Ok((columns, unknown))
}

/// A row as the import reads it: `None` for a blank one; `Err` with its
/// outcome for one that cannot be imported whatever the database holds
/// ([`screen`]).
fn row_of(
    columns: &[(usize, Column)],
    headers: &[String],
    r: &read::Record,
) -> Option<std::result::Result<ImportedRow, Outcome>> {
    if read::filled(r.cells.iter().map(String::as_str)) == 0 {
        return None;
    }
    if let Some(rejected) = screen(columns, headers, r) {
        return Some(Err(rejected));
    }
    let refs: Vec<&str> = r.cells.iter().map(String::as_str).collect();
    Some(Ok(ImportedRow::from_record(columns, &refs)))
}

/// What rejects a row before it is matched: the file ends inside it (cut
/// short: importing the rest of it would make a customer of half a row,
/// and a duplicate when the whole file comes); it has filled cells under
/// no header (an unquoted comma splitting a cell, or a column without its
/// header), which would be lost; or a cell the import reads holds bytes
/// that are not text in the file's encoding (decoded as U+FFFD), which
/// would be stored garbled, or a workbook's formula without its result,
/// which would be read as blank.
fn screen(columns: &[(usize, Column)], headers: &[String], r: &read::Record) -> Option<Outcome> {
    let mut e = FieldErrors::new();
    let headless: Vec<&str> = r
        .cells
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            !c.trim().is_empty() && headers.get(*i).is_none_or(|h| h.trim().is_empty())
        })
        .map(|(_, c)| c.as_str())
        .collect();
    if !headless.is_empty() {
        let shown: Vec<&str> = headless.iter().take(3).copied().collect();
        let (zh_shown, shown) = (shown.join("、"), shown.join(", "));
        e.add(
            "file",
            Problem::Invalid {
                zh: format!(
                    "有 {} 个单元格没有列标题（{zh_shown}）：可能是没加引号的逗号把内容分开了，或缺少列标题；该行未导入",
                    headless.len()
                ),
                en: format!(
                    "{} filled cells have no header ({shown}): an unquoted comma splitting a cell, or a column without its header; the row was not imported",
                    headless.len()
                ),
            },
        );
    }
    if r.cut {
        e.add(
            "file",
            Problem::Invalid {
                zh: "文件在这一行中断（可能被截断），该行未导入；请用完整的文件重新导入".into(),
                en: "the file ends inside this row (cut short?); the row was not imported: import the whole file again".into(),
            },
        );
    }
    for (i, column) in columns {
        if r.uncalculated.contains(i) {
            e.add(
                column.code(),
                Problem::Invalid {
                    zh: "是公式，但文件里没有它的计算结果（文件由程序生成、未经 Excel 保存）：请在 Excel 中打开并保存后再导入".into(),
                    en: "holds a formula without its result (the file was written by a program, never saved by a spreadsheet): open and save it in Excel, then import it again".into(),
                },
            );
        }
        if r.cells.get(*i).is_some_and(|c| c.contains('\u{FFFD}')) {
            e.add(
                column.code(),
                Problem::Invalid {
                    zh: "含有无法识别的字符：文件的编码有误，或文件已损坏".into(),
                    en: "holds bytes that are not text in the file's encoding (wrong encoding or a damaged file)".into(),
                },
            );
        }
    }
    (!e.is_empty()).then_some(Outcome::Rejected(e))
}

/// Rows read for one transaction: those to apply, and per row read its
/// outcome when [`screen`] refused it.
#[derive(Default)]
struct Batch {
    rows: Vec<ImportedRow>,
    screened: Vec<Option<Outcome>>,
}

impl Batch {
    fn push(&mut self, row: std::result::Result<ImportedRow, Outcome>) {
        match row {
            Ok(row) => {
                self.rows.push(row);
                self.screened.push(None);
            }
            Err(o) => self.screened.push(Some(o)),
        }
    }

    fn len(&self) -> usize {
        self.screened.len()
    }

    /// Applies the rows (rolled back when `dry_run`) and empties the batch;
    /// returns the outcome of every row read, in order.
    async fn apply(
        &mut self,
        db: &Db,
        opts: &Options,
        actor: &Actor,
        dry_run: bool,
    ) -> Result<Vec<Outcome>> {
        let rows = std::mem::take(&mut self.rows);
        let mut applied = if rows.is_empty() {
            Vec::new()
        } else {
            apply(db, opts, actor, &rows, dry_run).await?
        }
        .into_iter();
        Ok(std::mem::take(&mut self.screened)
            .into_iter()
            .map(|o| {
                o.or_else(|| applied.next())
                    .expect("an outcome per applied row")
            })
            .collect())
    }
}

/// Why a row was rejected, field by field.
pub fn reasons(e: &FieldErrors, lang: Lang) -> String {
    e.views(lang)
        .into_iter()
        .map(|v| format!("{}: {}", v.field, v.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A file's header row (an empty list for an empty file).
pub fn headers(path: &Path) -> Result<Vec<String>> {
    Ok(read::open(path)?.headers)
}

/// The first rows of a file as the import would read them.
pub struct Preview {
    pub headers: Vec<String>,
    /// (line, cells, what would become of the row).
    pub rows: Vec<(u64, Vec<String>, Outcome)>,
}

/// Blank rows a preview reads past before it gives up.
const BLANK_ROWS_SKIPPED: usize = 10_000;

/// Reads the first `n` rows of a file and checks them against the database
/// without writing anything (a dry run of those rows).
pub async fn preview(db: &Db, path: &Path, opts: &Options, n: usize) -> Result<Preview> {
    let source = read::open(path)?;
    let headers = source.headers.clone();
    let (columns, _) = columns(&headers, opts)?;
    let mut read = Vec::with_capacity(n);
    let mut batch = Batch::default();
    for r in source.rows.take(n + BLANK_ROWS_SKIPPED) {
        let r = r?;
        if let Some(row) = row_of(&columns, &headers, &r) {
            batch.push(row);
            read.push((r.line, r.cells));
            if read.len() == n {
                break;
            }
        }
    }
    let outcomes = batch.apply(db, opts, &opts.actor(), true).await?;
    Ok(Preview {
        headers,
        rows: read
            .into_iter()
            .zip(outcomes)
            .map(|((line, cells), o)| (line, cells, o))
            .collect(),
    })
}

/// Applies a batch of rows of the options' kind.
async fn apply(
    db: &Db,
    opts: &Options,
    actor: &Actor,
    rows: &[ImportedRow],
    dry_run: bool,
) -> Result<Vec<Outcome>> {
    let scope = opts.by.as_ref();
    Ok(match opts.kind {
        ImportKind::Customers => {
            import::apply(db, actor, scope, &opts.owner, rows, dry_run).await?
        }
        ImportKind::Contacts => import::contacts::apply(db, actor, scope, rows, dry_run).await?,
        ImportKind::Interactions => {
            import::interactions::apply(db, actor, scope, opts.zone, rows, dry_run).await?
        }
        ImportKind::Orders => {
            let run = import::orders::OrderImport {
                actor,
                scope,
                zone: opts.zone,
                create_customers: opts.create_customers,
                owner: &opts.owner,
                dry_run,
            };
            import::orders::apply(db, &run, rows).await?
        }
    })
}

/// Imports the records of `opts.kind` from a CSV file or a workbook,
/// recording the run as an import job (failed, with the error, when it
/// stops short).
pub async fn file(
    db: &Db,
    path: &Path,
    opts: &Options,
    observer: &mut dyn Observer,
) -> Result<Report> {
    let actor = opts.actor();
    let opened = read::open(path).and_then(|s| Ok((columns(&s.headers, opts)?, s)));
    // Every import has its record, one that fails to open included.
    let job = match &opts.job {
        Some(id) => id.clone(),
        None => {
            let id = import_jobs::new_id();
            let file_name = path
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default();
            let job = import_jobs::NewJob {
                id: &id,
                kind: opts.kind.code(),
                file_name: &file_name,
                source: &opts.source,
                status: JobStatus::Running,
                dry_run: opts.dry_run,
                owner_id: opts.owner.user.as_ref(),
                file_path: None,
                bytes_total: opened.as_ref().ok().and_then(|(_, s)| s.total),
                mapping: None,
            };
            import_jobs::create(db, &actor, &job).await?;
            id
        }
    };
    let ((columns, unknown_columns), mut source) = match opened {
        Ok(o) => o,
        Err(e) => return Err(failed(db, &actor, &job, e).await),
    };
    let mut deferred = 0;
    let ran = run(
        db,
        &mut source,
        &columns,
        opts,
        &actor,
        observer,
        &mut deferred,
    )
    .await;
    // Indexes dropped for this import are built again however it ended.
    if deferred > 0 {
        observer.building_indexes();
        if let Err(e) = import_jobs::building_indexes(db, &job).await {
            tracing::warn!(job = %job, error = %e, "recording the index build failed");
        }
    }
    let ran = match (ran, deferred > 0) {
        // Another import's load that stopped meanwhile is finished here.
        (Ok(progress), false) if may_defer(db, opts) => deferred::finish_stale(db)
            .await
            .map(|_| progress)
            .context("finishing a stopped import's deferred indexes"),
        (ran, false) => ran,
        (Ok(progress), true) => deferred::finish(db)
            .await
            .map(|_| progress)
            .context("building the deferred indexes"),
        (Err(e), true) => match deferred::finish(db).await {
            Ok(_) => Err(e),
            Err(f) => Err(e.context(format!("building the deferred indexes: {f}"))),
        },
    };
    match ran {
        Ok(progress) => {
            import_jobs::finish(db, &actor, &job, &progress).await?;
            let c = &progress.counts;
            if !opts.dry_run && c.created + c.updated >= REFRESH_STATISTICS_AFTER {
                db.settle_bulk_load().await?;
            }
            Ok(Report {
                counts: progress.counts,
                deferred_indexes: deferred,
                format: source.format,
                unknown_columns,
            })
        }
        Err(e) => Err(failed(db, &actor, &job, e).await),
    }
}

/// Records a job's failure; returns its error.
async fn failed(db: &Db, actor: &Actor, job: &str, e: anyhow::Error) -> anyhow::Error {
    match import_jobs::fail(db, actor, job, &format!("{e:#}")).await {
        Ok(()) => e,
        Err(f) => e.context(format!("recording the failure: {f}")),
    }
}

/// Whether an import with these options may defer indexes: of customers,
/// writing, into SQLite.
fn may_defer(db: &Db, opts: &Options) -> bool {
    opts.kind == ImportKind::Customers && !opts.dry_run && deferred::possible(db)
}

/// Reads, matches and writes every row in batches. A large import of
/// customers defers most indexes ([`deferred`]) once its first batch shows
/// how many new customers are coming, and sets `deferred` to how many.
async fn run(
    db: &Db,
    source: &mut read::Source,
    columns: &[(usize, Column)],
    opts: &Options,
    actor: &Actor,
    observer: &mut dyn Observer,
    deferred: &mut usize,
) -> Result<Progress> {
    // The customers there before, while this import may still defer.
    let mut undecided = None;
    if may_defer(db, opts) {
        deferred::finish_stale(db).await?;
        undecided = Some(deferred::customers(db).await?);
    }
    let mut rejects_out = match &opts.rejects {
        Some(p) => {
            let mut file = std::fs::File::create(p)
                .with_context(|| format!("cannot write {}", p.display()))?;
            // A byte order mark, so that Excel reads the file as UTF-8.
            file.write_all("\u{feff}".as_bytes())?;
            let mut w = csv::WriterBuilder::new()
                .flexible(true)
                .from_writer(std::io::BufWriter::new(file));
            let mut h = vec!["行号/line".to_string()];
            h.extend(source.headers.iter().cloned());
            h.push("错误/errors".into());
            w.write_record(&h)?;
            Some(w)
        }
        None => None,
    };
    // The line number, then the cells under their headers.
    let width = 1 + source.headers.len();
    let mut progress = Progress {
        total: source.total,
        ..Progress::default()
    };
    let mut batch_len = BATCH;
    // A batch's rows, and each one's line with its cells (kept only to
    // write the rejected ones to a file).
    let mut batch = Batch::default();
    let mut lines: Vec<(u64, Vec<String>)> = Vec::with_capacity(BATCH);
    let mut refreshes = Refreshes::default();
    loop {
        let next = source.rows.next();
        let done = next.is_none();
        if let Some(r) = next {
            let r = r?;
            if let Some(row) = row_of(columns, &source.headers, &r) {
                batch.push(row);
                let cells = if rejects_out.is_some() {
                    r.cells
                } else {
                    Vec::new()
                };
                lines.push((r.line, cells));
            }
        }
        if batch.len() >= batch_len || (done && batch.len() > 0) {
            let outcomes = batch.apply(db, opts, actor, opts.dry_run).await?;
            for ((line, cells), o) in lines.drain(..).zip(outcomes) {
                progress.counts.add(&o);
                progress.rows += 1;
                if let Outcome::Rejected(e) = &o {
                    let why = reasons(e, Lang::ZhCn);
                    observer.rejected(line, &why);
                    if let Some(w) = rejects_out.as_mut() {
                        let mut rec = vec![line.to_string()];
                        rec.extend(cells);
                        // Workbook rows end at their last filled cell;
                        // cells past the headers go after the reasons.
                        if rec.len() < width {
                            rec.resize(width, String::new());
                        }
                        rec.insert(width, why);
                        w.write_record(&rec)?;
                    }
                }
            }
            if let Some(existing) = undecided {
                let read = source.read_so_far();
                let c = progress.counts.created;
                if deferred::worth_deferring(c, read, source.total, existing, opts.defer_at_least) {
                    *deferred = deferred::defer(db).await?;
                    if *deferred > 0 {
                        batch_len = DEFERRED_BATCH;
                    }
                    undecided = None;
                }
            }
            if *deferred > 0 {
                deferred::heartbeat(db).await?;
            }
            let written = progress.counts.created + progress.counts.updated;
            if !opts.dry_run && refreshes.due(written) {
                db.refresh_statistics().await?;
            }
        }
        progress.read = source.read_so_far();
        if done {
            if let Some(t) = progress.total {
                progress.read = t;
            }
        }
        observer.progress(progress.read, progress.total, &progress.counts);
        if done {
            break;
        }
    }
    if let Some(mut w) = rejects_out {
        w.flush()?;
    }
    Ok(progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_are_refreshed_as_the_written_rows_double() {
        let mut r = Refreshes::default();
        let due: Vec<u64> = (1..=50)
            .map(|b| b * BATCH as u64)
            .filter(|&w| r.due(w))
            .collect();
        assert_eq!(
            due,
            [20_000, 40_000, 80_000, 160_000, 320_000, 640_000],
            "{due:?}"
        );
        let mut small = Refreshes::default();
        assert!(!small.due(REFRESH_STATISTICS_AFTER - 1));
        assert!(small.due(REFRESH_STATISTICS_AFTER));
        assert!(!small.due(REFRESH_STATISTICS_AFTER + 1));
    }
}
