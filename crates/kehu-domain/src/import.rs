//! Reading customer files from other systems and Excel: which column means
//! what (Chinese or English headers), and turning a row into a customer's
//! fields.

use crate::code_enum;
use crate::customer::CustomerInput;
use crate::{FieldErrors, Problem};
use std::collections::BTreeMap;

code_enum! {
    /// Where a column's values go; the code names the field in saved and
    /// API mappings.
    pub enum Column {
        ExternalId = "external_id", "外部编号", "External id";
        Kind = "kind", "客户类型", "Kind";
        Name = "name", "姓名/名称", "Name";
        Gender = "gender", "性别", "Gender";
        Title = "title", "称谓", "Title";
        Mobile = "mobile", "手机号", "Mobile";
        Email = "email", "邮箱", "E-mail";
        Wechat = "wechat", "微信号", "WeChat ID";
        Company = "company", "公司", "Company";
        City = "city", "城市", "City";
        Address = "address", "地址", "Address";
        Source = "source", "来源", "Source";
        Birthday = "birthday", "生日", "Birthday";
        Grade = "grade", "等级", "Grade";
        Notes = "notes", "备注", "Notes";
        Tags = "tags", "标签", "Tags";
    }
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

/// Where each column of a file goes, as a person chose it: one entry per
/// header, `None` for a column left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping(pub Vec<Option<Column>>);

/// Marks a column left out in a mapping by header (besides "").
pub const IGNORE: &str = "ignore";

fn invalid(zh: String, en: String) -> FieldErrors {
    FieldErrors::single("mapping", Problem::Invalid { zh, en })
}

impl Mapping {
    /// The mapping header recognition gives.
    pub fn recognise(headers: &[String]) -> Mapping {
        let mut m = Mapping(vec![None; headers.len()]);
        for (i, c) in map_headers(headers).0 {
            m.0[i] = Some(c);
        }
        m
    }

    /// A mapping saved by header (header → field code, "" when left out)
    /// laid over recognition: the headers it names take its choice, the
    /// others are recognised; a field already taken is left out.
    pub fn with_saved(headers: &[String], saved: &BTreeMap<String, String>) -> Mapping {
        let recognised = Mapping::recognise(headers);
        let mut m = Mapping(Vec::with_capacity(headers.len()));
        for (h, r) in headers.iter().zip(recognised.0) {
            let c = match saved.get(h.trim()) {
                Some(code) => Column::parse(code).ok(),
                None => r,
            };
            m.0.push(c.filter(|c| !m.0.contains(&Some(*c))));
        }
        m
    }

    /// A mapping sent by header (header → field code; "" or `ignore` leaves
    /// a column out): headers it does not name are left out. Every header
    /// it names must be in the file and every code a field.
    pub fn by_name(
        headers: &[String],
        named: &BTreeMap<String, String>,
    ) -> Result<Mapping, FieldErrors> {
        let mut m = Mapping(vec![None; headers.len()]);
        let mut errors = FieldErrors::new();
        for (h, code) in named {
            let Some(i) = headers.iter().position(|x| x.trim() == h.trim()) else {
                errors.add(
                    format!("mapping.{h}"),
                    Problem::Invalid {
                        zh: "文件中没有这一列".into(),
                        en: "is not a header of the file".into(),
                    },
                );
                continue;
            };
            let code = code.trim();
            if code.is_empty() || code.eq_ignore_ascii_case(IGNORE) {
                continue;
            }
            match Column::parse(code) {
                Ok(c) => m.0[i] = Some(c),
                Err(p) => errors.add(format!("mapping.{h}"), p),
            }
        }
        errors.into_result().map(|()| m)
    }

    /// The columns to read, `(index, field)`: a name column is required and
    /// no field may take two columns.
    pub fn columns(&self) -> Result<Vec<(usize, Column)>, FieldErrors> {
        let mut out: Vec<(usize, Column)> = Vec::new();
        for (i, c) in self.0.iter().enumerate() {
            let Some(c) = *c else { continue };
            if out.iter().any(|(_, k)| *k == c) {
                return Err(invalid(
                    format!(
                        "“{}”被选给了多列，每个字段只能对应一列",
                        c.label(crate::Lang::ZhCn)
                    ),
                    format!(
                        "“{}” is chosen for more than one column",
                        c.label(crate::Lang::En)
                    ),
                ));
            }
            out.push((i, c));
        }
        if !out.iter().any(|(_, c)| *c == Column::Name) {
            return Err(invalid(
                "没有姓名/名称列：请把一列对应到“姓名/名称”".into(),
                "no name column: map one column to “Name”".into(),
            ));
        }
        Ok(out)
    }

    /// The mapping by header, for saving (field code, "" when left out).
    pub fn by_header(&self, headers: &[String]) -> BTreeMap<String, String> {
        headers
            .iter()
            .zip(&self.0)
            .filter(|(h, _)| !h.trim().is_empty())
            .map(|(h, c)| {
                (
                    h.trim().to_string(),
                    c.map(|c| c.code()).unwrap_or("").to_string(),
                )
            })
            .collect()
    }
}

code_enum! {
    /// Where an import job is.
    pub enum JobStatus {
        Uploaded = "uploaded", "待确认列对应", "Awaiting mapping";
        Running = "running", "进行中", "Running";
        Done = "done", "已完成", "Done";
        Failed = "failed", "失败", "Failed";
        Interrupted = "interrupted", "已中断", "Interrupted";
    }
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

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn mappings_saved_sent_and_checked() {
        let headers = strings(&["客户全称", "电话", "备注", "颜色"]);
        let recognised = Mapping::recognise(&headers);
        assert_eq!(
            recognised.0,
            vec![None, Some(Column::Mobile), Some(Column::Notes), None]
        );
        let e = recognised.columns().unwrap_err();
        assert!(e.get("mapping").is_some(), "a name column is required");

        let saved: BTreeMap<String, String> =
            [("客户全称", "name"), ("备注", ""), ("颜色", "mobile")]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
        let m = Mapping::with_saved(&headers, &saved);
        assert_eq!(
            m.0,
            vec![Some(Column::Name), Some(Column::Mobile), None, None],
            "saved choices win; a field already taken is left out"
        );
        assert_eq!(
            m.columns().unwrap(),
            vec![(0, Column::Name), (1, Column::Mobile)]
        );
        assert_eq!(m.by_header(&headers)["备注"], "");
        assert_eq!(m.by_header(&headers)["客户全称"], "name");

        let sent: BTreeMap<String, String> =
            [("客户全称", "name"), ("电话", "ignore"), ("颜色", "notes")]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
        let m = Mapping::by_name(&headers, &sent).unwrap();
        assert_eq!(
            m.0,
            vec![Some(Column::Name), None, None, Some(Column::Notes)]
        );
        let bad: BTreeMap<String, String> = [("无此列", "name"), ("电话", "phone_number")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let e = Mapping::by_name(&headers, &bad).unwrap_err();
        assert!(e.get("mapping.无此列").is_some() && e.get("mapping.电话").is_some());
        let twice = Mapping(vec![Some(Column::Name), Some(Column::Name), None, None]);
        assert!(twice.columns().is_err());
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
