//! Tables of the analysis pages: shown under their charts and exported as
//! Excel workbooks (numbers as numbers, text neutralised so that no cell
//! runs as a formula).

use crate::{Error, Result};
use kehu_domain::export::neutralise;
use serde::Serialize;

/// A cell: text, or a number Excel can sum.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    pub fn int(n: impl Into<i64>) -> Cell {
        Cell::Number(n.into() as f64)
    }

    /// Rounded to `decimals` places, or empty.
    pub fn num(v: Option<f64>, decimals: i32) -> Cell {
        match v {
            Some(v) if v.is_finite() => {
                let f = 10f64.powi(decimals);
                Cell::Number((v * f).round() / f)
            }
            _ => Cell::Empty,
        }
    }

    /// Yuan from fen, as a number with two decimals.
    pub fn yuan(fen: i64) -> Cell {
        Cell::Number(fen as f64 / 100.0)
    }

    /// As shown on a page.
    pub fn show(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Cell::Number(n) => format!("{n:.2}"),
            Cell::Empty => String::new(),
        }
    }
}

/// A titled table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    /// Names the table in links (`?table=ID`).
    pub id: &'static str,
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// The table as an XLSX workbook of one sheet.
    pub fn to_xlsx(&self) -> Result<Vec<u8>> {
        let other =
            |e: rust_xlsxwriter::XlsxError| Error::Other(format!("writing the workbook: {e}"));
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        // Sheet names are at most 31 characters and avoid []:*?/\.
        let name: String = self
            .title
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        sheet
            .set_name(if name.is_empty() { "Sheet1" } else { &name })
            .map_err(other)?;
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (c, h) in self.headers.iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, neutralise(h).as_ref(), &bold)
                .map_err(other)?;
            sheet.set_column_width(c as u16, 16).map_err(other)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                match cell {
                    Cell::Text(s) => sheet
                        .write_string(r, c as u16, neutralise(s).as_ref())
                        .map_err(other)?,
                    Cell::Number(n) => sheet.write_number(r, c as u16, *n).map_err(other)?,
                    Cell::Empty => sheet,
                };
            }
        }
        book.save_to_buffer().map_err(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_export_numbers_as_numbers_and_neutralise_formulas() {
        let t = Table {
            id: "t",
            title: "按类别 [投诉]".into(),
            headers: vec!["类别".into(), "数量".into(), "金额".into()],
            rows: vec![
                vec![
                    Cell::text("=HYPERLINK(\"x\")"),
                    Cell::int(3),
                    Cell::yuan(12_345),
                ],
                vec![Cell::text("产品质量"), Cell::int(2), Cell::Empty],
            ],
        };
        let bytes = t.to_xlsx().unwrap();
        let rows = crate::testing::read_export(kehu_domain::export::Format::Xlsx, &bytes);
        assert_eq!(rows[0], ["类别", "数量", "金额"]);
        assert!(!rows[1][0].starts_with('='), "{:?}", rows[1][0]);
        assert_eq!(rows[1][1], "3");
        assert_eq!(rows[1][2], "123.45");
        assert_eq!(Cell::num(Some(2.0 / 3.0), 1).show(), "0.70");
        assert_eq!(Cell::int(7).show(), "7");
    }
}
