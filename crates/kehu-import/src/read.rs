//! Reading a file as rows of text, on its own thread: CSV as Excel writes
//! it (UTF-8 with or without BOM, or GBK/GB18030; comma, semicolon, tab or
//! `|` separated) or the first sheet of a workbook (.xlsx and .xlsm
//! streamed cell by cell; .xls, .xlsb and .ods read whole by calamine). The
//! first row is the header row.

use anyhow::{Context, Result};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

/// The encoding a byte-order mark names.
fn bom(sample: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    encoding_rs::Encoding::for_bom(sample).map(|(e, _)| e)
}

/// The encoding of text that has bytes beyond ASCII: UTF-8 when its valid
/// multi-byte characters are at least as many as its invalid sequences (a
/// UTF-8 file with a stray byte stays UTF-8, and the row holding it is
/// rejected), else GB18030, a superset of GBK (whose pairs of bytes seldom
/// form valid UTF-8). A character cut at the end of the sample counts as
/// neither. `None` when every byte is ASCII, which both read alike.
fn detect(sample: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    if let Some(e) = utf16(sample) {
        return Some(e);
    }
    if !sample.iter().any(|b| !b.is_ascii()) {
        return None;
    }
    let (mut valid, mut invalid) = (0usize, 0usize);
    let mut chunks = sample.utf8_chunks().peekable();
    while let Some(chunk) = chunks.next() {
        valid += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        // The last chunk's invalid bytes may be a character cut by the sample's end.
        if !chunk.invalid().is_empty() && chunks.peek().is_some() {
            invalid += 1;
        }
    }
    Some(if valid >= invalid {
        encoding_rs::UTF_8
    } else {
        encoding_rs::GB18030
    })
}

/// UTF-16 without a byte-order mark, told by its zero bytes, which text in
/// UTF-8 or GBK never has: the high bytes of ASCII characters (and of the
/// tabs and line breaks between Chinese ones), one byte in eight or
/// more, at odd offsets in little-endian, even ones in big-endian.
fn utf16(sample: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let zeros = |parity: usize| {
        sample
            .iter()
            .skip(parity)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count()
    };
    let (even, odd) = (zeros(0), zeros(1));
    // A stray zero byte in a damaged file does not make it UTF-16.
    if (even + odd) * 8 < sample.len() {
        None
    } else if odd > 4 * even {
        Some(encoding_rs::UTF_16LE)
    } else if even > 4 * odd {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    }
}

/// The encoding of a CSV file whose first bytes are `sample`: named by a
/// byte-order mark, or judged ([`detect`]) from the first [`SAMPLE`] bytes
/// that reach beyond ASCII, wherever in the file they are (a file sorted
/// with English names first may have its first Chinese far down). Leaves
/// the file where it was.
fn encoding_of(file: &mut File, sample: &[u8]) -> Result<&'static encoding_rs::Encoding> {
    if let Some(e) = bom(sample).or_else(|| detect(sample)) {
        return Ok(e);
    }
    let start = file.stream_position()?;
    let mut window = vec![0u8; SAMPLE];
    let mut found = None;
    loop {
        let n = read_up_to(file, &mut window)?;
        if n == 0 {
            break;
        }
        if let Some(at) = window[..n].iter().position(|b| !b.is_ascii()) {
            // The window from the first byte beyond ASCII, a full sample.
            window.copy_within(at..n, 0);
            let mut len = n - at;
            len += read_up_to(file, &mut window[len..])?;
            found = detect(&window[..len]);
            break;
        }
    }
    file.seek(SeekFrom::Start(start))?;
    Ok(found.unwrap_or(encoding_rs::UTF_8))
}

/// Bytes an encoding is judged from.
const SAMPLE: usize = 64 * 1024;

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

/// A row of the file: its number (the file's line or the sheet's row),
/// its cells as text, and whether the file ends inside it (cut short).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: u64,
    pub cells: Vec<String>,
    /// The last row of a file that does not end with a line break and
    /// stops inside a quoted cell or short of the header's cells: what is
    /// left of a file cut short, not a row to import.
    pub cut: bool,
    /// Cells (by index) of a workbook holding a formula without its
    /// result: a program wrote the file and no spreadsheet computed it.
    pub uncalculated: Vec<usize>,
}

impl Record {
    fn new(line: u64, cells: Vec<String>) -> Record {
        Record {
            line,
            cells,
            cut: false,
            uncalculated: Vec::new(),
        }
    }
}

/// A row as read, or why reading stopped.
pub type Row = Result<Record>;

/// Rows a sheet may have above its header row: a title such as
/// "客户名单（2026年）" in a merged cell, a note, blank rows. The header row
/// is the first row with two cells or more filled; when none of the first
/// rows has, the first row is (a file of one column).
const TITLE_ROWS: usize = 5;

/// How many of a row's cells hold something.
pub(crate) fn filled<'a>(cells: impl IntoIterator<Item = &'a str>) -> usize {
    cells.into_iter().filter(|c| !c.trim().is_empty()).count()
}

/// Rows read ahead of the database by a reader thread, at most this many.
const READ_AHEAD: usize = 2_000;

/// A file being read on its own thread: its headers, its rows, how it was
/// read, and how far the reader has got (bytes of the file, or rows).
pub struct Source {
    pub headers: Vec<String>,
    pub rows: std::iter::Chain<std::vec::IntoIter<Row>, std::sync::mpsc::IntoIter<Row>>,
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
    // Rows read past a would-be title while looking for the header row.
    let mut ahead = Vec::new();
    let headers = match rows.next() {
        Some(Ok(h)) if filled(h.cells.iter().map(String::as_str)) >= 2 => h.cells,
        Some(Ok(first)) => {
            let mut header = None;
            while ahead.len() < TITLE_ROWS {
                match rows.next() {
                    Some(Ok(r)) if filled(r.cells.iter().map(String::as_str)) >= 2 => {
                        header = Some(r.cells);
                        break;
                    }
                    Some(r) => ahead.push(r),
                    None => break,
                }
            }
            match header {
                // The rows above it were a title and notes.
                Some(h) => {
                    ahead.clear();
                    h
                }
                // A file of one column.
                None => first.cells,
            }
        }
        Some(Err(e)) => return Err(e),
        None => Vec::new(),
    };
    Ok(Source {
        headers,
        rows: ahead.into_iter().chain(rows),
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
    let mut sample = vec![0u8; SAMPLE];
    let n = read_up_to(&mut file, &mut sample)?;
    sample.truncate(n);
    let encoding = encoding_of(&mut file, &sample)?;
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
            .from_reader(Tail::new(LfOnly {
                inner: BufReader::new(decoder),
                cr: false,
            }));
        let base = progress.load(Ordering::Relaxed);
        let mut record = csv::StringRecord::new();
        // The width of the header row (the first of two cells or more).
        let mut header_cells = None;
        // Each row is sent once the next is read: the last one is judged
        // by how the file ends.
        let mut held: Option<Record> = None;
        while reader
            .read_record(&mut record)
            .with_context(|| format!("{shown}: unreadable CSV"))?
        {
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            progress.store(base + counted.load(Ordering::Relaxed), Ordering::Relaxed);
            if header_cells.is_none() && filled(&record) >= 2 {
                header_cells = Some(record.len());
            }
            let next = Record::new(line, record.iter().map(str::to_string).collect());
            if let Some(row) = held.replace(next) {
                if tx.send(Ok(row)).is_err() {
                    return Ok(());
                }
            }
        }
        if let Some(mut last) = held {
            let tail = reader.get_ref();
            last.cut = !tail.ended_line()
                && (tail.in_quotes() || last.cells.len() < header_cells.unwrap_or(0));
            let _ = tx.send(Ok(last));
        }
        Ok(())
    })
}

/// Reads `\r\n` and a lone `\r` (old Mac files) as `\n`. The CSV reader
/// counts a line only at `\n` and a CRLF line break only when it reads
/// the next record: rows would be numbered too low.
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
                    out[n] = b'\n';
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
                    out[n] = b'\n';
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

/// Notes how the text read through it ends: with a line break or not, and
/// inside a quoted cell or not (an odd number of `"`: a doubled quote
/// inside a cell counts twice).
struct Tail<R> {
    inner: R,
    last: Option<u8>,
    quotes: bool,
}

impl<R> Tail<R> {
    fn new(inner: R) -> Tail<R> {
        Tail {
            inner,
            last: None,
            quotes: false,
        }
    }

    /// Whether the text was empty or ended with a line break.
    fn ended_line(&self) -> bool {
        matches!(self.last, None | Some(b'\n'))
    }

    fn in_quotes(&self) -> bool {
        self.quotes
    }
}

impl<R: Read> Read for Tail<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        for &b in &out[..n] {
            if b == b'"' {
                self.quotes = !self.quotes;
            }
        }
        if n > 0 {
            self.last = Some(out[n - 1]);
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
        Data::Float(f) => {
            // As Excel shows it: 15 significant digits, so that a formula's
            // 99.89999999999999 reads 99.9.
            let f: f64 = format!("{f:.14e}").parse().unwrap_or(*f);
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", f as i64)
            } else {
                f.to_string()
            }
        }
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
#[derive(Default)]
struct RowBuilder {
    row: Option<u32>,
    cells: Vec<String>,
    uncalculated: Vec<usize>,
}

impl RowBuilder {
    /// Adds a cell (`uncalculated` when it is a formula without its
    /// result); returns the finished previous row when a new one starts.
    fn push(&mut self, (r, c): (u32, u32), text: String, uncalculated: bool) -> Option<Record> {
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
        if uncalculated {
            self.uncalculated.push(c);
        }
        finished
    }

    fn take(&mut self) -> Option<Record> {
        let r = self.row.take()?;
        let mut record = Record::new(r as u64 + 1, std::mem::take(&mut self.cells));
        record.uncalculated = std::mem::take(&mut self.uncalculated);
        Some(record)
    }
}

/// An .xlsx/.xlsm workbook's first sheet, streamed cell by cell.
fn open_xlsx(path: &Path) -> Result<Source> {
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(path).with_context(|| {
        format!(
            "无法读取工作簿（文件不完整或已损坏？）cannot open {} as a workbook",
            path.display()
        )
    })?;
    spawn_reader("workbook", None, move |tx, progress| {
        let sheet = wb
            .sheet_names()
            .first()
            .cloned()
            .context("the workbook has no sheet")?;
        let mut cells = wb
            .worksheet_cells_reader(&sheet)
            .context("reading the first sheet")?;
        let mut b = RowBuilder::default();
        let emit = |row: Record| {
            progress.fetch_add(1, Ordering::Relaxed);
            tx.send(Ok(row)).is_ok()
        };
        while let Some(cell) = cells
            .next_cell_with_formula_metadata()
            .context("reading the first sheet")?
        {
            let text = cell_text(&calamine::Data::from(cell.value));
            let uncalculated = text.is_empty() && cell.formula.is_some();
            if text.is_empty() && !uncalculated {
                continue;
            }
            if let Some(row) = b.push(cell.pos, text, uncalculated) {
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
    let mut wb = calamine::open_workbook_auto(path).with_context(|| {
        format!(
            "无法读取工作簿（文件不完整或已损坏？）cannot open {} as a workbook",
            path.display()
        )
    })?;
    let range = wb
        .worksheet_range_at(0)
        .context("the workbook has no sheet")?
        .context("reading the first sheet")?;
    let first_row = range.start().map(|(r, _)| r as u64).unwrap_or(0);
    spawn_reader("workbook", None, move |tx, progress| {
        for (i, r) in range.rows().enumerate() {
            progress.fetch_add(1, Ordering::Relaxed);
            let cells = r.iter().map(cell_text).collect();
            if tx
                .send(Ok(Record::new(first_row + i as u64 + 1, cells)))
                .is_err()
            {
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

    /// A file in a fresh directory, and its records as read.
    fn read(name: &str, bytes: &[u8]) -> (Source, Vec<Record>) {
        let dir = std::env::temp_dir().join(format!(
            "kehu-read-{}-{}",
            std::process::id(),
            name.replace('.', "-")
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let mut source = open(&path).unwrap();
        let rows = source.rows.by_ref().map(|r| r.unwrap()).collect();
        std::fs::remove_dir_all(&dir).ok();
        (source, rows)
    }

    #[test]
    fn encodings_and_separators() {
        assert_eq!(detect("姓名,手机".as_bytes()), Some(encoding_rs::UTF_8));
        let (gbk, _, _) = encoding_rs::GBK.encode("姓名,手机,小王");
        assert_eq!(detect(&gbk), Some(encoding_rs::GB18030));
        assert_eq!(detect(b"name,mobile"), None, "ASCII reads alike");
        // A sample that cuts a UTF-8 character in two is still UTF-8.
        let s = "张伟".as_bytes();
        assert_eq!(detect(&s[..4]), Some(encoding_rs::UTF_8));
        // One stray Latin-1 byte among Chinese text does not make it GBK.
        let mut stray = "张三,北京公司\n李四,上海\n".as_bytes().to_vec();
        stray.extend_from_slice(b"Jos\xe9,Caf\xe9\n");
        assert_eq!(detect(&stray), Some(encoding_rs::UTF_8));
        assert_eq!(bom(b"\xff\xfeA\x00"), Some(encoding_rs::UTF_16LE));
        // UTF-16 without a mark, as some tools write "Unicode text".
        let le: Vec<u8> = "姓名\t手机\r\n王芳\t13700001234\r\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(detect(&le), Some(encoding_rs::UTF_16LE));
        let be: Vec<u8> = "name,mobile\n"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(detect(&be), Some(encoding_rs::UTF_16BE));
        assert_eq!(detect(b"name,mobile\nab\x00c,1\n"), None, "one stray zero");
        assert_eq!(sniff_delimiter("姓名;手机;\"a,b\""), b';');
        assert_eq!(sniff_delimiter("姓名\t手机"), b'\t');
        assert_eq!(sniff_delimiter("姓名"), b',');
    }

    #[test]
    fn the_encoding_is_judged_where_the_text_goes_beyond_ascii() {
        let mut text = String::from("external_id,name,company\n");
        for i in 0..4000 {
            text.push_str(&format!("A{i:05},Person {i},ACME Ltd\n"));
        }
        assert!(text.len() > SAMPLE);
        let mut bytes = text.clone().into_bytes();
        bytes.extend(encoding_rs::GBK.encode("Z1,张伟,北京科技\n").0.iter());
        let (source, rows) = read("late-gbk.csv", &bytes);
        assert_eq!(source.format, "gb18030");
        assert_eq!(rows.last().unwrap().cells, ["Z1", "张伟", "北京科技"]);
        text.push_str("Z1,张伟,北京科技\n");
        let (source, rows) = read("late-utf8.csv", text.as_bytes());
        assert_eq!(source.format, "UTF-8");
        assert_eq!(rows.last().unwrap().cells[1], "张伟");
    }

    #[test]
    fn a_stray_byte_spoils_only_its_own_cell() {
        let mut bytes = "姓名,公司\n张三,北京公司\n".as_bytes().to_vec();
        bytes.extend_from_slice(b"Jos\xe9,Caf\xe9\n");
        let (source, rows) = read("stray.csv", &bytes);
        assert_eq!(source.format, "UTF-8");
        assert_eq!(rows[0].cells, ["张三", "北京公司"]);
        assert_eq!(rows[1].cells, ["Jos\u{FFFD}", "Caf\u{FFFD}"]);
    }

    #[test]
    fn utf16_with_a_byte_order_mark() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "姓名\t手机\r\n张伟\t13812345678\r\n".encode_utf16() {
            bytes.extend(u.to_le_bytes());
        }
        let (source, rows) = read("unicode.txt", &bytes);
        assert_eq!(source.format, "UTF-16LE");
        assert_eq!(source.headers, ["姓名", "手机"]);
        assert_eq!(rows[0].cells, ["张伟", "13812345678"]);
    }

    #[test]
    fn line_breaks_read_as_lf() {
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
                "a\nb\nc\n\n\n",
                "buffers of {size}"
            );
        }
    }

    #[test]
    fn rows_are_numbered_as_lines_of_the_file() {
        for (name, text) in [
            (
                "crlf.csv",
                "姓名,手机\r\n张伟,1\r\n李娜,2\r\n\"王\r\n芳\",3\r\n陈静,4",
            ),
            (
                "lf.csv",
                "姓名,手机\n张伟,1\n李娜,2\n\"王\n芳\",3\n陈静,4\n",
            ),
            (
                "cr.csv",
                "姓名,手机\r张伟,1\r李娜,2\r\"王\r芳\",3\r陈静,4\r",
            ),
        ] {
            let (_, rows) = read(name, text.as_bytes());
            let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
            assert_eq!(lines, vec![2, 3, 4, 6], "{name}");
            assert_eq!(rows[2].cells[0], "王\n芳", "{name}");
            assert!(rows.iter().all(|r| !r.cut), "{name}");
        }
    }

    #[test]
    fn a_file_cut_short_marks_its_last_row() {
        let cut = |name: &str, text: &str| {
            let (_, rows) = read(name, text.as_bytes());
            rows.iter().map(|r| r.cut).collect::<Vec<_>>()
        };
        // Whole files, with or without a line break at the end.
        assert_eq!(cut("a.csv", "姓名,手机\n张伟,1\n李娜,2\n"), [false, false]);
        assert_eq!(cut("b.csv", "姓名,手机\n张伟,1\n李娜,2"), [false, false]);
        // Cut before the last cell, or inside a quoted one.
        assert_eq!(cut("c.csv", "姓名,手机\n张伟,1\n王"), [false, true]);
        assert_eq!(
            cut("d.csv", "姓名,备注\n张伟,1\n李娜,\"第一行\n第二"),
            [false, true]
        );
        // A quoted cell with a doubled quote, closed: whole.
        assert_eq!(cut("e.csv", "姓名,备注\n张伟,\"说\"\"好\"\"\""), [false]);
    }

    #[test]
    fn a_title_above_the_headers_is_passed_over() {
        let (source, rows) = read(
            "title.csv",
            "客户名单（2026年）,,\n制表：销售部,,\n姓名,手机,城市\n张伟,1,北京\n".as_bytes(),
        );
        assert_eq!(source.headers, ["姓名", "手机", "城市"]);
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].line, rows[0].cells[0].as_str()), (4, "张伟"));
        // One column: its first row is the header.
        let (source, rows) = read("names.csv", "姓名\n张伟\n李娜\n".as_bytes());
        assert_eq!(source.headers, ["姓名"]);
        assert_eq!(rows.len(), 2);
        // A title with no cells after it; the cut last row is still seen.
        let (source, rows) = read(
            "cut-title.csv",
            "客户名单\n姓名,手机\n张伟,1\n王".as_bytes(),
        );
        assert_eq!(source.headers, ["姓名", "手机"]);
        assert_eq!(
            rows.iter().map(|r| r.cut).collect::<Vec<_>>(),
            [false, true]
        );
    }

    #[test]
    fn numbers_read_as_excel_shows_them() {
        use calamine::Data;
        assert_eq!(cell_text(&Data::Float(3.0 * 33.3)), "99.9");
        assert_eq!(cell_text(&Data::Float(0.1 + 0.2)), "0.3");
        assert_eq!(cell_text(&Data::Float(13800138000.0)), "13800138000");
        assert_eq!(cell_text(&Data::Float(1234.5)), "1234.5");
        assert_eq!(cell_text(&Data::Float(-0.05)), "-0.05");
    }
}
