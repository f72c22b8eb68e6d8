//! Export of customer lists to CSV and Excel files: the customers a
//! principal may see, as they see them (scope, masked phones), with the
//! list's filters and sort. The list query is read in chunks of [`CHUNK`]
//! rows and each row goes straight to the file (CSV, or an XLSX sheet in
//! constant-memory mode), so memory stays flat however many rows there are.
//! Every export is audited: who, which filter and sort, the format and the
//! number of rows.

use crate::audit::{self, Actor, Change, Entry};
use crate::customers::{self, Customer, Filter, Sort};
use crate::{Db, Error, Result};
use chrono_tz::Tz;
use kehu_domain::export::{neutralise, Format, CUSTOMER_COLUMNS, TAG_SEPARATOR};
use kehu_domain::ids::{new_id, UserId};
use kehu_domain::role::{PhoneAccess, Principal, Role};
use kehu_domain::{FieldErrors, Lang, Problem};
use serde_json::{json, Map, Value};
use std::io::Write;

/// Rows read from the database at a time.
pub const CHUNK: i64 = customers::MAX_LIMIT;

/// Data rows an XLSX sheet holds below its header.
const XLSX_MAX_ROWS: u64 = 1_048_575;

/// Who exports.
#[derive(Debug, Clone, Copy)]
pub enum Exporter<'a> {
    /// A user: needs the export permission; their scope and their view of
    /// phone numbers apply.
    User(&'a Principal),
    /// The operator's CLI, acting as the system: every customer, numbers in
    /// full.
    System,
}

fn other(e: impl std::fmt::Display) -> Error {
    Error::Other(format!("writing the export: {e}"))
}

/// A file being written, one row at a time.
enum Sheet<W: Write + Send> {
    Csv(Box<csv::Writer<W>>),
    Xlsx {
        book: Box<rust_xlsxwriter::Workbook>,
        out: W,
        rows: u32,
    },
}

impl<W: Write + Send> Sheet<W> {
    fn new(format: Format, mut out: W) -> Result<Sheet<W>> {
        match format {
            Format::Csv => {
                // A byte order mark, so that Excel reads the file as UTF-8.
                out.write_all("\u{feff}".as_bytes()).map_err(other)?;
                Ok(Sheet::Csv(Box::new(csv::Writer::from_writer(out))))
            }
            Format::Xlsx => {
                let mut book = Box::new(rust_xlsxwriter::Workbook::new());
                let sheet = book.add_worksheet_with_constant_memory().map_err(other)?;
                sheet.set_name("客户").map_err(other)?;
                sheet.set_freeze_panes(1, 0).map_err(other)?;
                for (col, width) in [(1, 12), (5, 14), (6, 24), (8, 24), (10, 30), (15, 30)] {
                    sheet.set_column_width(col, width).map_err(other)?;
                }
                sheet.set_column_width(18, 17).map_err(other)?;
                Ok(Sheet::Xlsx { book, out, rows: 0 })
            }
        }
    }

    fn row<S: AsRef<str>>(&mut self, cells: &[S]) -> Result<()> {
        let cells = cells.iter().map(|c| neutralise(c.as_ref()));
        match self {
            Sheet::Csv(w) => w.write_record(cells.map(|c| c.into_owned())).map_err(other),
            Sheet::Xlsx { book, rows, .. } => {
                if u64::from(*rows) > XLSX_MAX_ROWS {
                    return Err(FieldErrors::single(
                        "format",
                        Problem::Invalid {
                            zh: "超出 Excel 工作表的行数上限，请改用 CSV".into(),
                            en: "has more rows than an Excel sheet holds; use CSV".into(),
                        },
                    )
                    .into());
                }
                let sheet = book.worksheet_from_index(0).map_err(other)?;
                for (col, c) in cells.enumerate() {
                    if !c.is_empty() {
                        sheet.write_string(*rows, col as u16, c).map_err(other)?;
                    }
                }
                *rows += 1;
                Ok(())
            }
        }
    }

    fn finish(self) -> Result<()> {
        match self {
            Sheet::Csv(mut w) => w.flush().map_err(other),
            Sheet::Xlsx { mut book, out, .. } => book.save_to_writer(out).map_err(other),
        }
    }
}

/// One customer's cells, in the order of [`CUSTOMER_COLUMNS`]. Codes are
/// written as their Chinese labels, which the importer reads back.
fn cells(c: &Customer, phones: PhoneAccess, tz: Tz) -> [String; CUSTOMER_COLUMNS.len()] {
    let f = &c.fields;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let zh = Lang::ZhCn;
    [
        text(&c.external_id),
        f.name.clone(),
        f.kind.label(zh).into(),
        f.gender.map(|g| g.label(zh)).unwrap_or_default().into(),
        text(&f.title),
        f.mobile
            .as_ref()
            .map(|m| phones.show(m).0)
            .unwrap_or_default(),
        text(&f.email),
        text(&f.wechat),
        text(&f.company),
        text(&f.city),
        text(&f.address),
        f.source.map(|s| s.label(zh)).unwrap_or_default().into(),
        f.grade.map(|g| g.code()).unwrap_or_default().into(),
        f.birthday
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        c.tags
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(TAG_SEPARATOR),
        text(&f.notes),
        text(&c.owner_name),
        text(&c.team_name),
        c.created_at
            .utc()
            .with_timezone(&tz)
            .format("%Y-%m-%d %H:%M")
            .to_string(),
    ]
}

/// The filter as the audit log shows it: what was set, codes as stored.
fn filter_record(f: &Filter) -> Value {
    // Every field named, so that a new filter cannot be left out here.
    let Filter {
        q,
        owner_id,
        team_id,
        tag,
        source,
        grade,
        kind,
        deleted,
    } = f;
    let set = [
        ("q", q.clone()),
        ("owner_id", owner_id.as_ref().map(|x| x.to_string())),
        ("team_id", team_id.as_ref().map(|x| x.to_string())),
        ("tag", tag.clone()),
        ("source", source.map(|x| x.code().into())),
        ("grade", grade.map(|x| x.code().into())),
        ("kind", kind.map(|x| x.code().into())),
    ];
    let mut m: Map<String, Value> = set
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), json!(v))))
        .collect();
    if *deleted {
        m.insert("deleted".into(), json!(true));
    }
    Value::Object(m)
}

/// Writes the customers `who` may see that match `f`, in `sort` order, to
/// `out` as `format`, with times in the business time zone `tz`; records
/// the export in the audit log and returns the number of rows written.
pub async fn customers<W: Write + Send>(
    db: &Db,
    who: Exporter<'_>,
    f: &Filter,
    sort: Sort,
    format: Format,
    tz: Tz,
    out: W,
) -> Result<u64> {
    let (by, actor) = match who {
        Exporter::User(p) if p.can_export() => (p.clone(), Actor::from(p)),
        Exporter::User(_) => return Err(Error::Forbidden),
        Exporter::System => (
            // Used only to read the list: everything in scope, numbers in full.
            Principal {
                user_id: UserId::new(),
                login: "system:export".into(),
                name: "system".into(),
                role: Role::Owner,
                team_id: None,
                export_granted: true,
            },
            Actor::system("export"),
        ),
    };
    let phones = by.role.phone_access();
    let mut sheet = Sheet::new(format, out)?;
    sheet.row(&CUSTOMER_COLUMNS)?;
    let mut rows = 0u64;
    let mut cursor: Option<String> = None;
    loop {
        let page = customers::list_every_match(db, &by, f, sort, CHUNK, cursor.as_deref()).await?;
        for c in &page.items {
            sheet.row(&cells(c, phones, tz))?;
            rows += 1;
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    sheet.finish()?;
    let change = |field: &str, new: Value| Change {
        field: field.into(),
        old: Value::Null,
        new,
    };
    let mut tx = db.begin().await?;
    audit::record(
        &mut tx,
        &actor,
        Entry {
            action: "export",
            entity: "customers",
            entity_id: &new_id(),
            customer_id: None,
            changes: vec![
                change("format", json!(format.code())),
                change("rows", json!(rows)),
                change("filter", filter_record(f)),
                change("sort", json!(sort.code())),
            ],
        },
    )
    .await?;
    tx.commit().await?;
    Ok(rows)
}
