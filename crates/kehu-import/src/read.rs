//! Reading a file as rows of text, on its own thread: CSV as Excel writes
//! it (UTF-8 with or without BOM, or GBK/GB18030; comma, semicolon, tab or
//! `|` separated) or the first sheet of a workbook (.xlsx and .xlsm
//! streamed cell by cell; .xls, .xlsb and .ods read whole by calamine). The
//! first row is the header row.

use anyhow::{Context, Result};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

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

/// A numbered data row (file line or sheet row, cells as text).
pub type Row = Result<(u64, Vec<String>)>;

/// Rows read ahead of the database by a reader thread, at most this many.
const READ_AHEAD: usize = 2_000;

/// A file being read on its own thread: its headers, its rows, how it was
/// read, and how far the reader has got (bytes of the file, or rows).
pub struct Source {
    pub headers: Vec<String>,
    pub rows: std::sync::mpsc::IntoIter<Row>,
    pub format: &'static str,
    /// Length of the file in bytes when progress is in bytes; else `None`.
    pub total: Option<u64>,
    pub done: Arc<AtomicU64>,
}

/// Runs `read` on a thread that sends the header row first, then the data
/// rows, through a bounded channel: the file is parsed while the previous
/// batch is written, and never held in memory whole.
fn spawn_reader(
    format: &'static str,
    total: Option<u64>,
    read: impl FnOnce(&SyncSender<Row>, &AtomicU64) -> Result<()> + Send + 'static,
) -> Result<Source> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Row>(READ_AHEAD);
    let done = Arc::new(AtomicU64::new(0));
    let progress = done.clone();
    std::thread::spawn(move || {
        if let Err(e) = read(&tx, &progress) {
            let _ = tx.send(Err(e));
        }
    });
    let mut rows = rx.into_iter();
    let headers = match rows.next() {
        Some(Ok((_, h))) => h,
        Some(Err(e)) => return Err(e),
        None => Vec::new(),
    };
    Ok(Source {
        headers,
        rows,
        format,
        total,
        done,
    })
}

/// Opens a file by its extension: a workbook, or else CSV.
pub fn open(path: &Path) -> Result<Source> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "xlsx" | "xlsm" => open_xlsx(path),
        "xls" | "xlsb" | "ods" => open_workbook(path),
        _ => open_csv(path),
    }
}

impl Source {
    /// How far the reader has got: bytes of the file, or rows.
    pub fn read_so_far(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn open_csv(path: &Path) -> Result<Source> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let total = file.metadata().map(|m| m.len()).ok();
    let mut sample = vec![0u8; 64 * 1024];
    let n = read_up_to(&mut file, &mut sample)?;
    sample.truncate(n);
    let encoding = detect(&sample);
    let decoded_head = encoding.decode(&sample).0;
    let first_line = decoded_head.lines().next().unwrap_or("");
    let delimiter = sniff_delimiter(first_line);
    let shown = path.display().to_string();
    spawn_reader(encoding.name(), total, move |tx, progress| {
        progress.store(sample.len() as u64, Ordering::Relaxed);
        let file = Counting {
            inner: file,
            read: Arc::new(AtomicU64::new(0)),
        };
        let counted = file.read.clone();
        let stream = std::io::Cursor::new(sample).chain(file);
        let decoder = encoding_rs_io::DecodeReaderBytesBuilder::new()
            .encoding(Some(encoding))
            .bom_override(true)
            .build(stream);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(LfOnly {
                inner: BufReader::new(decoder),
                cr: false,
            });
        let base = progress.load(Ordering::Relaxed);
        for r in reader.records() {
            let r = r.with_context(|| format!("{shown}: unreadable CSV"))?;
            let line = r.position().map(|p| p.line()).unwrap_or(0);
            progress.store(base + counted.load(Ordering::Relaxed), Ordering::Relaxed);
            if tx
                .send(Ok((line, r.iter().map(str::to_string).collect())))
                .is_err()
            {
                break;
            }
        }
        Ok(())
    })
}

/// Reads `\r\n` as `\n`. The CSV reader counts a CRLF line break only
/// when it reads the next record, which would number every row after the
/// first one line too low.
struct LfOnly<R> {
    inner: R,
    /// A `\r` held back until the next byte shows whether a `\n` follows.
    cr: bool,
}

impl<R: std::io::BufRead> Read for LfOnly<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < out.len() {
            let input = self.inner.fill_buf()?;
            if input.is_empty() {
                if std::mem::take(&mut self.cr) {
                    out[n] = b'\r';
                    n += 1;
                }
                break;
            }
            let mut used = 0;
            for &b in input {
                if self.cr && b != b'\n' {
                    if n == out.len() {
                        break;
                    }
                    out[n] = b'\r';
                    n += 1;
                    self.cr = false;
                }
                if n == out.len() {
                    break;
                }
                used += 1;
                if b == b'\r' {
                    self.cr = true;
                } else {
                    self.cr = false;
                    out[n] = b;
                    n += 1;
                }
            }
            self.inner.consume(used);
            if n > 0 {
                break;
            }
        }
        Ok(n)
    }
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

/// Collects streamed cells (row by row, left to right) into rows; blank
/// rows between are skipped, as they carry nothing.
struct RowBuilder {
    row: Option<u32>,
    cells: Vec<String>,
}

impl RowBuilder {
    /// Adds a cell; returns the finished previous row when a new one starts.
    fn push(&mut self, (r, c): (u32, u32), text: String) -> Option<(u64, Vec<String>)> {
        let finished = match self.row {
            Some(cur) if cur != r => self.take(),
            _ => None,
        };
        self.row = Some(r);
        let c = c as usize;
        if self.cells.len() <= c {
            self.cells.resize(c + 1, String::new());
        }
        self.cells[c] = text;
        finished
    }

    fn take(&mut self) -> Option<(u64, Vec<String>)> {
        let r = self.row.take()?;
        Some((r as u64 + 1, std::mem::take(&mut self.cells)))
    }
}

/// An .xlsx/.xlsm workbook's first sheet, streamed cell by cell.
fn open_xlsx(path: &Path) -> Result<Source> {
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(path)
        .with_context(|| format!("cannot open {} as a workbook", path.display()))?;
    spawn_reader("workbook", None, move |tx, progress| {
        let sheet = wb
            .sheet_names()
            .first()
            .cloned()
            .context("the workbook has no sheet")?;
        let mut cells = wb
            .worksheet_cells_reader(&sheet)
            .context("reading the first sheet")?;
        let mut b = RowBuilder {
            row: None,
            cells: Vec::new(),
        };
        let emit = |row: (u64, Vec<String>)| {
            progress.fetch_add(1, Ordering::Relaxed);
            tx.send(Ok(row)).is_ok()
        };
        while let Some(cell) = cells.next_cell().context("reading the first sheet")? {
            let text = cell_text(&calamine::Data::from(cell.get_value().clone()));
            if text.is_empty() {
                continue;
            }
            if let Some(row) = b.push(cell.get_position(), text) {
                if !emit(row) {
                    return Ok(());
                }
            }
        }
        if let Some(row) = b.take() {
            emit(row);
        }
        Ok(())
    })
}

/// Older formats (.xls, .xlsb, .ods): calamine reads the sheet whole.
fn open_workbook(path: &Path) -> Result<Source> {
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto(path)
        .with_context(|| format!("cannot open {} as a workbook", path.display()))?;
    let range = wb
        .worksheet_range_at(0)
        .context("the workbook has no sheet")?
        .context("reading the first sheet")?;
    let first_row = range.start().map(|(r, _)| r as u64).unwrap_or(0);
    spawn_reader("workbook", None, move |tx, progress| {
        for (i, r) in range.rows().enumerate() {
            progress.fetch_add(1, Ordering::Relaxed);
            let cells = r.iter().map(cell_text).collect();
            if tx.send(Ok((first_row + i as u64 + 1, cells))).is_err() {
                break;
            }
        }
        Ok(())
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

    #[test]
    fn crlf_reads_as_lf() {
        for size in [1, 2, 3, 64] {
            let text = "a\r\nb\rc\r\n\r\r";
            let mut r = LfOnly {
                inner: BufReader::with_capacity(size, text.as_bytes()),
                cr: false,
            };
            let mut got = Vec::new();
            let mut buf = vec![0u8; size];
            loop {
                let n = r.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            assert_eq!(
                String::from_utf8(got).unwrap(),
                "a\nb\rc\n\r\r",
                "buffers of {size}"
            );
        }
    }

    #[test]
    fn rows_are_numbered_as_lines_of_the_file() {
        let dir = std::env::temp_dir().join(format!("kehu-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in [
            (
                "crlf.csv",
                "姓名,手机\r\n张伟,1\r\n李娜,2\r\n\"王\r\n芳\",3\r\n陈静,4",
            ),
            (
                "lf.csv",
                "姓名,手机\n张伟,1\n李娜,2\n\"王\n芳\",3\n陈静,4\n",
            ),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            let source = open(&path).unwrap();
            let rows: Vec<(u64, Vec<String>)> = source.rows.map(|r| r.unwrap()).collect();
            let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
            assert_eq!(lines, vec![2, 3, 4, 6], "{name}");
            assert_eq!(rows[2].1[0], "王\n芳", "{name}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
