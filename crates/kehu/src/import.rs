//! `kehu import customers FILE`: reads a CSV file as Excel writes it (UTF-8
//! with or without BOM, or GBK/GB18030; comma, semicolon, tab or `|`
//! separated), streaming, or the first sheet of an Excel workbook (.xlsx,
//! .xlsm, .xls, .ods), and writes it in batches of 500 rows, reporting what
//! became of every row. Rejected rows can be written to a file with their
//! reasons.

use anyhow::{bail, Context, Result};
use kehu_domain::import::{map_headers, ImportedRow};
use kehu_domain::Lang;
use kehu_store::audit::Actor;
use kehu_store::import::{self, Counts, Outcome, Owner};
use kehu_store::Db;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

const BATCH: usize = 500;

/// The encoding of a file from its first bytes: a UTF-8 BOM or valid UTF-8
/// (allowing a character cut at the end of the sample) is UTF-8; anything
/// else is GB18030, a superset of GBK.
fn detect(sample: &[u8]) -> &'static encoding_rs::Encoding {
    if sample.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return encoding_rs::UTF_8;
    }
    match std::str::from_utf8(sample) {
        Ok(_) => encoding_rs::UTF_8,
        Err(e) if e.error_len().is_none() && sample.len() - e.valid_up_to() < 4 => {
            encoding_rs::UTF_8
        }
        Err(_) => encoding_rs::GB18030,
    }
}

/// The separator of the header line: the most frequent of `,` `;` tab `|`
/// outside quotes.
fn sniff_delimiter(first_line: &str) -> u8 {
    let mut counts = [(b',', 0), (b';', 0), (b'\t', 0), (b'|', 0)];
    let mut quoted = false;
    for b in first_line.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for c in counts.iter_mut() {
                if c.0 == b {
                    c.1 += 1;
                }
            }
        }
    }
    counts
        .iter()
        .max_by_key(|c| c.1)
        .filter(|c| c.1 > 0)
        .map(|c| c.0)
        .unwrap_or(b',')
}

pub struct Report {
    pub counts: Counts,
    /// The text encoding of a CSV file, or "workbook".
    pub format: &'static str,
    pub unknown_columns: Vec<String>,
}

/// Numbered data rows of a file (line or sheet row, cells as text).
type Rows = Box<dyn Iterator<Item = Result<(u64, Vec<String>)>>>;

/// A file opened for reading: its headers, its rows, and how it was read.
struct Source {
    headers: Vec<String>,
    rows: Rows,
    format: &'static str,
}

fn open_csv(path: &Path) -> Result<Source> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut sample = vec![0u8; 64 * 1024];
    let n = read_up_to(&mut file, &mut sample)?;
    sample.truncate(n);
    let encoding = detect(&sample);
    let decoded_head = encoding.decode(&sample).0;
    let first_line = decoded_head.lines().next().unwrap_or("");
    let delimiter = sniff_delimiter(first_line);
    let stream = std::io::Cursor::new(sample).chain(file);
    let decoder = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding))
        .bom_override(true)
        .build(stream);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(BufReader::new(decoder));
    let headers: Vec<String> = reader
        .headers()
        .context("reading the header line")?
        .iter()
        .map(str::to_string)
        .collect();
    let shown = path.display().to_string();
    let rows = reader.into_records().map(move |r| {
        let r = r.with_context(|| format!("{shown}: unreadable CSV"))?;
        Ok((
            r.position().map(|p| p.line()).unwrap_or(0),
            r.iter().map(str::to_string).collect(),
        ))
    });
    Ok(Source {
        headers,
        rows: Box::new(rows),
        format: encoding.name(),
    })
}

/// A cell as the text a person sees: whole numbers without ".0" (phone
/// numbers are often stored as numbers), dates as YYYY-MM-DD.
fn cell_text(d: &calamine::Data) -> String {
    use calamine::Data;
    match d {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => {
                t.date().format("%Y-%m-%d").to_string()
            }
            Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => dt.to_string(),
        },
    }
}

fn open_workbook(path: &Path) -> Result<Source> {
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto(path)
        .with_context(|| format!("cannot open {} as a workbook", path.display()))?;
    let range = wb
        .worksheet_range_at(0)
        .context("the workbook has no sheet")?
        .context("reading the first sheet")?;
    let first_row = range.start().map(|(r, _)| r as u64).unwrap_or(0);
    // The sheet is in memory already; its text is collected once.
    let mut all = range
        .rows()
        .map(|r| r.iter().map(cell_text).collect::<Vec<String>>())
        .collect::<Vec<_>>()
        .into_iter()
        .enumerate();
    let headers = all.next().map(|(_, h)| h).unwrap_or_default();
    let rows = all.map(move |(i, cells)| Ok((first_row + i as u64 + 1, cells)));
    Ok(Source {
        headers,
        rows: Box::new(rows),
        format: "workbook",
    })
}

/// Imports customers from a CSV file or a workbook.
pub async fn customers(
    db: &Db,
    path: &Path,
    owner: Owner,
    dry_run: bool,
    rejects: Option<&Path>,
) -> Result<Report> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let Source {
        headers,
        mut rows,
        format,
    } = match ext.as_str() {
        "xlsx" | "xlsm" | "xls" | "xlsb" | "ods" => open_workbook(path)?,
        _ => open_csv(path)?,
    };
    let (columns, unknown_columns) = map_headers(&headers);
    if !columns
        .iter()
        .any(|(_, c)| *c == kehu_domain::import::Column::Name)
    {
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
    let mut shown = 0;
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
            let outcomes = import::apply(db, &actor, &owner, &rows, dry_run).await?;
            for ((line, cells, _), o) in batch.drain(..).zip(outcomes) {
                counts.add(&o);
                if let Outcome::Rejected(e) = &o {
                    let why = e
                        .views(Lang::ZhCn)
                        .into_iter()
                        .map(|v| format!("{}: {}", v.field, v.message))
                        .collect::<Vec<_>>()
                        .join("; ");
                    if shown < 20 {
                        eprintln!("line {line}: {why}");
                        shown += 1;
                    }
                    if let Some(w) = rejects_out.as_mut() {
                        let mut rec = vec![line.to_string()];
                        rec.extend(cells);
                        rec.push(why);
                        w.write_record(&rec)?;
                    }
                }
            }
        }
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
        format,
        unknown_columns,
    })
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_and_separators() {
        assert_eq!(detect("姓名,手机".as_bytes()), encoding_rs::UTF_8);
        let (gbk, _, _) = encoding_rs::GBK.encode("姓名,手机");
        assert_eq!(detect(&gbk), encoding_rs::GB18030);
        // A sample that cuts a UTF-8 character in two is still UTF-8.
        let s = "张伟".as_bytes();
        assert_eq!(detect(&s[..4]), encoding_rs::UTF_8);
        assert_eq!(sniff_delimiter("姓名;手机;\"a,b\""), b';');
        assert_eq!(sniff_delimiter("姓名\t手机"), b'\t');
        assert_eq!(sniff_delimiter("姓名"), b',');
    }
}
