//! Importing customers from files: rows read by [`read`], matched and
//! written in batches by `kehu_store::import`, each outcome reported to an
//! [`Observer`] (a terminal progress bar, a job record). Rejected rows can
//! be written to a CSV file with their reasons.

pub mod read;

use anyhow::{bail, Context, Result};
use kehu_domain::import::{map_headers, Column, ImportedRow};
use kehu_domain::Lang;
use kehu_store::audit::Actor;
use kehu_store::import::{self, Counts, Outcome, Owner};
use kehu_store::Db;
use std::path::Path;

/// Rows written per transaction.
pub const BATCH: usize = 500;

/// What an import reports as it goes.
pub trait Observer {
    /// After each batch: how far the file has been read (bytes of `total`,
    /// or rows when the total is unknown) and the totals so far.
    fn progress(&mut self, read: u64, total: Option<u64>, counts: &Counts);
    /// A rejected row with its reasons (in Chinese).
    fn rejected(&mut self, line: u64, why: &str);
}

/// An observer that ignores everything.
impl Observer for () {
    fn progress(&mut self, _: u64, _: Option<u64>, _: &Counts) {}
    fn rejected(&mut self, _: u64, _: &str) {}
}

pub struct Report {
    pub counts: Counts,
    /// The text encoding of a CSV file, or "workbook".
    pub format: &'static str,
    pub unknown_columns: Vec<String>,
}

/// How an import runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Who new customers belong to.
    pub owner: Owner,
    /// Check every row and report, writing nothing.
    pub dry_run: bool,
    /// Where to write rejected rows (CSV with line numbers and reasons).
    pub rejects: Option<std::path::PathBuf>,
}

/// Imports customers from a CSV file or a workbook.
pub async fn customers(
    db: &Db,
    path: &Path,
    opts: &Options,
    observer: &mut dyn Observer,
) -> Result<Report> {
    let Options {
        owner,
        dry_run,
        rejects,
    } = opts;
    let dry_run = *dry_run;
    let mut source = read::open(path)?;
    let headers = source.headers.clone();
    let (columns, unknown_columns) = map_headers(&headers);
    if !columns.iter().any(|(_, c)| *c == Column::Name) {
        bail!(
            "no name column (姓名/名称/name) among the headers: {}",
            headers.join(", ")
        );
    }
    let actor = Actor::system("import");
    let file_name = path
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    let job = import::start_job(db, "customers", &file_name, &actor, dry_run).await?;
    let mut rejects_out = match rejects {
        Some(p) => {
            let mut w = csv::Writer::from_path(p)
                .with_context(|| format!("cannot write {}", p.display()))?;
            let mut h = vec!["行号/line".to_string()];
            h.extend(headers.iter().cloned());
            h.push("错误/errors".into());
            w.write_record(&h)?;
            Some(w)
        }
        None => None,
    };
    let mut counts = Counts::default();
    let mut batch: Vec<(u64, Vec<String>, ImportedRow)> = Vec::with_capacity(BATCH);
    let rows = source.rows.by_ref();
    loop {
        let next = rows.next();
        let done = next.is_none();
        if let Some(r) = next {
            let (line, cells) = r?;
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
            let row = ImportedRow::from_record(&columns, &refs);
            batch.push((line, cells, row));
        }
        if batch.len() == BATCH || (done && !batch.is_empty()) {
            let rows: Vec<ImportedRow> = batch.iter().map(|b| b.2.clone()).collect();
            let outcomes = import::apply(db, &actor, owner, &rows, dry_run).await?;
            for ((line, cells, _), o) in batch.drain(..).zip(outcomes) {
                counts.add(&o);
                if let Outcome::Rejected(e) = &o {
                    let why = e
                        .views(Lang::ZhCn)
                        .into_iter()
                        .map(|v| format!("{}: {}", v.field, v.message))
                        .collect::<Vec<_>>()
                        .join("; ");
                    observer.rejected(line, &why);
                    if let Some(w) = rejects_out.as_mut() {
                        let mut rec = vec![line.to_string()];
                        rec.extend(cells);
                        rec.push(why);
                        w.write_record(&rec)?;
                    }
                }
            }
        }
        observer.progress(
            source.done.load(std::sync::atomic::Ordering::Relaxed),
            source.total,
            &counts,
        );
        if done {
            break;
        }
    }
    if let Some(mut w) = rejects_out {
        w.flush()?;
    }
    import::finish_job(db, &job, counts).await?;
    Ok(Report {
        counts,
        format: source.format,
        unknown_columns,
    })
}
