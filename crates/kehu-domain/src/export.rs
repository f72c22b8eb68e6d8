//! Exporting customer lists to spreadsheet files: the formats, the columns
//! (headers that `kehu import customers` reads back, so an export
//! re-imports), and cells a spreadsheet must not run as formulas.

use crate::code_enum;
use chrono::NaiveDate;
use std::borrow::Cow;

code_enum! {
    /// The file format of an export.
    pub enum Format {
        Csv = "csv", "CSV（UTF-8）", "CSV (UTF-8)";
        Xlsx = "xlsx", "Excel 工作簿", "Excel workbook";
    }
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// The download's file name, dated in the business time zone.
    pub fn file_name(self, day: NaiveDate) -> String {
        format!("kehu-customers-{}.{}", day.format("%Y-%m-%d"), self.code())
    }
}

/// The columns of a customer export, in order. All but the last three are
/// headers the importer recognises; owner, team and creation time are for
/// the reader and are left out when the file is imported again.
pub const CUSTOMER_COLUMNS: [&str; 19] = [
    "外部编号",
    "姓名",
    "类型",
    "性别",
    "称谓",
    "手机",
    "邮箱",
    "微信",
    "公司",
    "城市",
    "地址",
    "来源",
    "等级",
    "生日",
    "标签",
    "备注",
    "负责人",
    "团队",
    "创建时间",
];

/// How the tags of one customer are joined in a cell (the importer splits
/// on it).
pub const TAG_SEPARATOR: &str = "、";

/// First characters that make a spreadsheet treat a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as written to a file: text a spreadsheet would run as a formula
/// (`=`, `+`, `-`, `@`, tab, carriage return first) gets a leading `'`, so
/// that it is shown as the text it is.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The text of a cell that [`neutralise`] wrote: the `'` in front of a
/// formula character is dropped again on import.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{column_for, Column, ImportKind};

    #[test]
    fn formula_cells_get_a_quote() {
        for (raw, written) in [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+86 138", "'+86 138"),
            ("-1+2", "'-1+2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
        ] {
            assert_eq!(neutralise(raw), written, "{raw:?}");
            assert_eq!(restore(&neutralise(raw)), raw, "{raw:?} comes back");
        }
        for plain in ["张伟", "13812345678", "a=b", "", "'quoted", "1-2"] {
            assert!(matches!(neutralise(plain), Cow::Borrowed(_)), "{plain:?}");
            assert_eq!(restore(plain), plain, "{plain:?} is left alone");
        }
    }

    #[test]
    fn imported_cells_lose_the_quote() {
        let row = crate::import::ImportedRow::from_record(&[(0, Column::Notes)], &["'-先报价"]);
        assert_eq!(row.cells, vec![(Column::Notes, "-先报价".to_string())]);
    }

    #[test]
    fn headers_are_the_importers() {
        let read: Vec<Option<Column>> = CUSTOMER_COLUMNS
            .iter()
            .map(|h| column_for(ImportKind::Customers, h))
            .collect();
        assert_eq!(
            read,
            vec![
                Some(Column::ExternalId),
                Some(Column::Name),
                Some(Column::Kind),
                Some(Column::Gender),
                Some(Column::Title),
                Some(Column::Mobile),
                Some(Column::Email),
                Some(Column::Wechat),
                Some(Column::Company),
                Some(Column::City),
                Some(Column::Address),
                Some(Column::Source),
                Some(Column::Grade),
                Some(Column::Birthday),
                Some(Column::Tags),
                Some(Column::Notes),
                None,
                None,
                None,
            ]
        );
    }

    #[test]
    fn formats() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        assert_eq!(
            Format::Xlsx.file_name(day),
            "kehu-customers-2026-03-08.xlsx"
        );
        assert_eq!(Format::parse("CSV").unwrap(), Format::Csv);
        assert!(Format::parse("pdf").is_err());
    }
}
