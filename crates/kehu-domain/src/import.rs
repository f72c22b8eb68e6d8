//! Reading customer files from other systems and Excel: which column means
//! what (Chinese or English headers), and turning a row into a customer's
//! fields.

use crate::customer::CustomerInput;

/// Where a column's values go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    ExternalId,
    Kind,
    Name,
    Gender,
    Title,
    Mobile,
    Email,
    Wechat,
    Company,
    City,
    Address,
    Source,
    Birthday,
    Grade,
    Notes,
    Tags,
}

/// Header spellings, compared after trimming, lower-casing and dropping
/// spaces, `_`, `-` and a trailing `*` (required-field marks in templates).
const HEADERS: &[(Column, &[&str])] = &[
    (
        Column::ExternalId,
        &[
            "外部编号",
            "客户编号",
            "编号",
            "externalid",
            "id",
            "customerid",
            "客户id",
        ],
    ),
    (Column::Kind, &["类型", "客户类型", "kind", "type"]),
    (
        Column::Name,
        &[
            "姓名",
            "名称",
            "客户名称",
            "客户姓名",
            "客户",
            "name",
            "customer",
            "customername",
            "fullname",
        ],
    ),
    (Column::Gender, &["性别", "gender", "sex"]),
    (Column::Title, &["称谓", "称呼", "title"]),
    (
        Column::Mobile,
        &[
            "手机",
            "手机号",
            "手机号码",
            "移动电话",
            "联系电话",
            "电话",
            "mobile",
            "phone",
            "cell",
            "mobilephone",
            "tel",
        ],
    ),
    (
        Column::Email,
        &[
            "邮箱",
            "电子邮件",
            "电子邮箱",
            "邮件",
            "email",
            "mail",
            "emailaddress",
        ],
    ),
    (Column::Wechat, &["微信", "微信号", "wechat", "weixin"]),
    (
        Column::Company,
        &[
            "公司",
            "单位",
            "公司名称",
            "工作单位",
            "company",
            "organization",
            "organisation",
        ],
    ),
    (Column::City, &["城市", "所在城市", "city"]),
    (
        Column::Address,
        &["地址", "详细地址", "联系地址", "address"],
    ),
    (Column::Source, &["来源", "客户来源", "source"]),
    (
        Column::Birthday,
        &["生日", "出生日期", "birthday", "birthdate", "dateofbirth"],
    ),
    (Column::Grade, &["等级", "客户等级", "grade", "level"]),
    (
        Column::Notes,
        &[
            "备注", "说明", "notes", "note", "remark", "remarks", "comment",
        ],
    ),
    (Column::Tags, &["标签", "tags", "tag", "labels"]),
];

fn normalise(h: &str) -> String {
    crate::text::half_width(h)
        .trim()
        .trim_start_matches('\u{feff}')
        .trim_end_matches('*')
        .to_lowercase()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .collect()
}

/// The column a header names, if any.
pub fn column_for(header: &str) -> Option<Column> {
    let h = normalise(header);
    HEADERS
        .iter()
        .find(|(_, names)| names.iter().any(|n| *n == h))
        .map(|(c, _)| *c)
}

/// The columns of a header row: `(index, column)` for recognised headers,
/// and the headers not recognised. A column named twice keeps the first.
pub fn map_headers(headers: &[String]) -> (Vec<(usize, Column)>, Vec<String>) {
    let mut known: Vec<(usize, Column)> = vec![];
    let mut unknown = vec![];
    for (i, h) in headers.iter().enumerate() {
        match column_for(h) {
            Some(c) if !known.iter().any(|(_, k)| *k == c) => known.push((i, c)),
            Some(_) => unknown.push(h.clone()),
            None if h.trim().is_empty() => {}
            None => unknown.push(h.clone()),
        }
    }
    (known, unknown)
}

/// A row read from a file: what it says, by column (blank cells left out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportedRow {
    pub external_id: Option<String>,
    pub tags: Vec<String>,
    /// Column → cell text, for the customer's own fields.
    pub cells: Vec<(Column, String)>,
}

impl ImportedRow {
    pub fn from_record(columns: &[(usize, Column)], record: &[&str]) -> ImportedRow {
        let mut row = ImportedRow::default();
        for &(i, c) in columns {
            let v = record
                .get(i)
                .map(|s| crate::export::restore(s.trim()))
                .unwrap_or("");
            if v.is_empty() {
                continue;
            }
            match c {
                Column::ExternalId => row.external_id = Some(v.chars().take(100).collect()),
                Column::Tags => {
                    row.tags = v
                        .split([',', '，', ';', '；', '|', '、'])
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                        .collect()
                }
                c => row.cells.push((c, v.to_string())),
            }
        }
        row
    }

    /// Lays this row's cells over `base` (a blank cell keeps what is there).
    pub fn overlay(&self, base: &CustomerInput) -> CustomerInput {
        let mut i = base.clone();
        for (c, v) in &self.cells {
            let v = v.clone();
            match c {
                Column::Kind => i.kind = v,
                Column::Name => i.name = v,
                Column::Gender => i.gender = v,
                Column::Title => i.title = v,
                Column::Mobile => i.mobile = v,
                Column::Email => i.email = v,
                Column::Wechat => i.wechat = v,
                Column::Company => i.company = v,
                Column::City => i.city = v,
                Column::Address => i.address = v,
                Column::Source => i.source = v,
                Column::Birthday => i.birthday = v.replace('/', "-"),
                Column::Grade => i.grade = v,
                Column::Notes => i.notes = v,
                Column::ExternalId | Column::Tags => {}
            }
        }
        if i.kind.trim().is_empty() {
            i.kind = "person".into();
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_and_english_headers() {
        let headers: Vec<String> = [
            "外部编号",
            "姓名*",
            "手机号码",
            "E-mail",
            "公司",
            "标签",
            "颜色",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (known, unknown) = map_headers(&headers);
        assert_eq!(
            known,
            vec![
                (0, Column::ExternalId),
                (1, Column::Name),
                (2, Column::Mobile),
                (3, Column::Email),
                (4, Column::Company),
                (5, Column::Tags)
            ]
        );
        assert_eq!(unknown, vec!["颜色".to_string()]);
        assert_eq!(column_for(" Mobile Phone "), Some(Column::Mobile));
        assert_eq!(column_for("ＮＡＭＥ"), Some(Column::Name));
    }

    #[test]
    fn rows_overlay_without_clearing() {
        let cols = vec![
            (0, Column::ExternalId),
            (1, Column::Name),
            (2, Column::Mobile),
            (3, Column::Email),
            (4, Column::Tags),
        ];
        let row =
            ImportedRow::from_record(&cols, &["C-001", "张伟", "13812345678", "", "VIP；老客户"]);
        assert_eq!(row.external_id.as_deref(), Some("C-001"));
        assert_eq!(row.tags, vec!["VIP", "老客户"]);
        let base = CustomerInput {
            kind: "person".into(),
            name: "张伟".into(),
            email: "zw@example.com".into(),
            ..Default::default()
        };
        let merged = row.overlay(&base);
        assert_eq!(
            merged.email, "zw@example.com",
            "a blank cell keeps the value"
        );
        assert_eq!(merged.mobile, "13812345678");
        assert_eq!(row.overlay(&CustomerInput::default()).kind, "person");
    }
}
