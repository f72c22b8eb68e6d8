//! Reading files from other systems and Excel: what a file holds
//! (customers, contacts of organisations, or interactions), which column
//! means what (Chinese or English headers), and turning a row into the
//! fields of a record.

use crate::code_enum;
use crate::customer::{ContactInput, CustomerInput, InteractionKind};
use crate::time::Timestamp;
use crate::{FieldErrors, Problem};
use std::collections::BTreeMap;

code_enum! {
    /// What a file holds; the code names it in the CLI and the API.
    pub enum ImportKind {
        Customers = "customers", "客户", "Customers";
        Contacts = "contacts", "联系人", "Contacts";
        Interactions = "interactions", "联系记录", "Interactions";
        Orders = "orders", "订单", "Orders";
    }
}

code_enum! {
    /// Where a column's values go; the code names the field in saved and
    /// API mappings. Which columns a file may have depends on its
    /// [`ImportKind`]; in contact and interaction files the customer is
    /// named by `external_id` (its external id), `customer` (its name) and,
    /// for interactions, its mobile or e-mail.
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
        Customer = "customer", "所属客户", "Customer";
        Position = "position", "职务", "Position";
        Role = "role", "决策角色", "Buying role";
        Preferences = "preferences", "偏好", "Preferences";
        Channel = "channel", "联系方式", "Channel";
        OccurredAt = "occurred_at", "联系时间", "Time";
        Body = "body", "内容", "Content";
        Contact = "contact", "联系人", "Contact";
        OrderNo = "order_no", "订单号", "Order number";
        OrderedAt = "ordered_at", "下单日期", "Order date";
        Amount = "amount", "金额（元）", "Amount (yuan)";
        Quantity = "quantity", "数量", "Quantity";
        Product = "product", "产品", "Product";
        Discount = "discount", "折扣（元）", "Discount (yuan)";
        Sku = "sku", "产品编号", "SKU";
    }
}

impl ImportKind {
    /// The header spellings of this kind's columns.
    fn headers(self) -> &'static [(Column, &'static [&'static str])] {
        match self {
            ImportKind::Customers => CUSTOMER_HEADERS,
            ImportKind::Contacts => CONTACT_HEADERS,
            ImportKind::Interactions => INTERACTION_HEADERS,
            ImportKind::Orders => ORDER_HEADERS,
        }
    }

    /// The columns a file of this kind may have, in the order offered.
    pub fn columns(self) -> impl Iterator<Item = Column> {
        self.headers().iter().map(|(c, _)| *c)
    }

    pub fn accepts(self, c: Column) -> bool {
        self.columns().any(|k| k == c)
    }

    /// Which mapped columns a file must have: `Err` says what is missing.
    pub fn check(self, columns: &[(usize, Column)]) -> Result<(), FieldErrors> {
        let has = |c: Column| columns.iter().any(|(_, k)| *k == c);
        let customer_named = |keys: &[Column]| keys.iter().any(|c| has(*c));
        match self {
            ImportKind::Customers if !has(Column::Name) => Err(invalid(
                "没有姓名/名称列：请把一列对应到“姓名/名称”".into(),
                "no name column: map one column to “Name”".into(),
            )),
            ImportKind::Contacts if !has(Column::Name) => Err(invalid(
                "没有联系人姓名列：请把一列对应到“姓名/名称”".into(),
                "no contact name column: map one column to “Name”".into(),
            )),
            ImportKind::Contacts if !customer_named(&[Column::ExternalId, Column::Customer]) => {
                Err(invalid(
                    "没有指明所属客户的列：请把一列对应到“外部编号”或“所属客户”".into(),
                    "no column names the customer: map one to “External id” or “Customer”"
                        .into(),
                ))
            }
            ImportKind::Interactions if !has(Column::Body) || !has(Column::OccurredAt) => {
                Err(invalid(
                    "联系记录需要“内容”和“联系时间”两列".into(),
                    "interactions need a “Content” and a “Time” column".into(),
                ))
            }
            ImportKind::Interactions
                if !customer_named(&[
                    Column::ExternalId,
                    Column::Customer,
                    Column::Mobile,
                    Column::Email,
                ]) =>
            {
                Err(invalid(
                    "没有指明客户的列：请把一列对应到“外部编号”“所属客户”“手机号”或“邮箱”".into(),
                    "no column names the customer: map one to “External id”, “Customer”, “Mobile” or “E-mail”".into(),
                ))
            }
            ImportKind::Orders if !has(Column::OrderedAt) || !has(Column::Amount) => {
                Err(invalid(
                    "订单需要“下单日期”和“金额（元）”两列".into(),
                    "orders need an “Order date” and an “Amount (yuan)” column".into(),
                ))
            }
            ImportKind::Orders
                if !customer_named(&[
                    Column::ExternalId,
                    Column::Customer,
                    Column::Mobile,
                    Column::Email,
                ]) =>
            {
                Err(invalid(
                    "没有指明客户的列：请把一列对应到“外部编号”“所属客户”“手机号”或“邮箱”".into(),
                    "no column names the customer: map one to “External id”, “Customer”, “Mobile” or “E-mail”".into(),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// Header spellings, compared after trimming, lower-casing and dropping
/// spaces, `_`, `-` and a trailing `*` (required-field marks in templates).
const CUSTOMER_HEADERS: &[(Column, &[&str])] = &[
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

/// The customer's external id, in contact and interaction files.
const CUSTOMER_KEY: &[&str] = &[
    "外部编号",
    "客户编号",
    "客户外部编号",
    "编号",
    "externalid",
    "customerexternalid",
    "customerid",
    "客户id",
    "id",
];

const CONTACT_HEADERS: &[(Column, &[&str])] = &[
    (Column::ExternalId, CUSTOMER_KEY),
    (
        Column::Customer,
        &[
            "所属客户",
            "客户",
            "客户名称",
            "公司",
            "公司名称",
            "单位",
            "企业",
            "customer",
            "company",
            "organization",
            "organisation",
            "account",
        ],
    ),
    (
        Column::Name,
        &[
            "姓名",
            "联系人",
            "联系人姓名",
            "name",
            "contact",
            "contactname",
            "fullname",
        ],
    ),
    (
        Column::Position,
        &["职务", "职位", "岗位", "position", "jobtitle", "title"],
    ),
    (
        Column::Role,
        &["决策角色", "角色", "购买角色", "role", "buyingrole"],
    ),
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
            "tel",
        ],
    ),
    (
        Column::Email,
        &["邮箱", "电子邮件", "电子邮箱", "邮件", "email", "mail"],
    ),
    (Column::Wechat, &["微信", "微信号", "wechat", "weixin"]),
    (
        Column::Birthday,
        &["生日", "出生日期", "birthday", "birthdate", "dateofbirth"],
    ),
    (
        Column::Preferences,
        &["偏好", "爱好", "喜好", "preferences", "interests"],
    ),
    (
        Column::Notes,
        &[
            "备注", "说明", "notes", "note", "remark", "remarks", "comment",
        ],
    ),
];

const INTERACTION_HEADERS: &[(Column, &[&str])] = &[
    (Column::ExternalId, CUSTOMER_KEY),
    (
        Column::Customer,
        &[
            "所属客户",
            "客户",
            "客户名称",
            "客户姓名",
            "姓名",
            "名称",
            "公司",
            "customer",
            "customername",
            "name",
            "company",
        ],
    ),
    (
        Column::Mobile,
        &[
            "手机",
            "手机号",
            "手机号码",
            "客户手机",
            "移动电话",
            "电话",
            "mobile",
            "phone",
        ],
    ),
    (
        Column::Email,
        &["邮箱", "电子邮件", "客户邮箱", "邮件地址", "email"],
    ),
    (
        Column::Channel,
        &[
            "联系方式",
            "方式",
            "类型",
            "渠道",
            "沟通方式",
            "channel",
            "type",
            "kind",
            "via",
        ],
    ),
    (
        Column::OccurredAt,
        &[
            "联系时间",
            "时间",
            "日期",
            "日期时间",
            "沟通时间",
            "拜访时间",
            "date",
            "time",
            "datetime",
            "occurredat",
            "when",
        ],
    ),
    (
        Column::Body,
        &[
            "内容",
            "联系内容",
            "沟通内容",
            "记录",
            "摘要",
            "备注",
            "说明",
            "content",
            "body",
            "summary",
            "notes",
            "note",
        ],
    ),
    (Column::Contact, &["联系人", "联系人姓名", "contact"]),
];

const ORDER_HEADERS: &[(Column, &[&str])] = &[
    (Column::ExternalId, CUSTOMER_KEY),
    (
        Column::Customer,
        &[
            "所属客户",
            "客户",
            "客户名称",
            "客户姓名",
            "姓名",
            "名称",
            "customer",
            "customername",
            "name",
        ],
    ),
    (
        Column::Mobile,
        &[
            "手机",
            "手机号",
            "手机号码",
            "客户手机",
            "电话",
            "mobile",
            "phone",
        ],
    ),
    (Column::Email, &["邮箱", "电子邮件", "客户邮箱", "email"]),
    (
        Column::OrderNo,
        &[
            "订单号",
            "订单编号",
            "单号",
            "订单id",
            "orderno",
            "ordernumber",
            "orderid",
            "order",
        ],
    ),
    (
        Column::OrderedAt,
        &[
            "日期",
            "下单日期",
            "下单时间",
            "购买日期",
            "订单日期",
            "成交日期",
            "时间",
            "date",
            "orderdate",
            "orderedat",
            "time",
        ],
    ),
    (
        Column::Amount,
        &[
            "金额",
            "金额（元）",
            "金额(元)",
            "订单金额",
            "实付金额",
            "成交金额",
            "amount",
            "total",
            "value",
        ],
    ),
    (Column::Quantity, &["数量", "件数", "quantity", "qty"]),
    (
        Column::Product,
        &["产品", "商品", "产品名称", "商品名称", "product", "item"],
    ),
    (
        Column::Notes,
        &["备注", "说明", "notes", "note", "remark", "remarks"],
    ),
    (
        Column::Discount,
        &[
            "折扣",
            "折扣（元）",
            "折扣(元)",
            "折扣金额",
            "优惠",
            "优惠金额",
            "discount",
        ],
    ),
    (
        Column::Sku,
        &[
            "产品编号",
            "商品编号",
            "产品编码",
            "商品编码",
            "货号",
            "sku",
            "productcode",
            "itemcode",
        ],
    ),
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

/// The column a header names in a file of this kind, if any.
pub fn column_for(kind: ImportKind, header: &str) -> Option<Column> {
    let h = normalise(header);
    kind.headers()
        .iter()
        .find(|(_, names)| names.iter().any(|n| *n == h))
        .map(|(c, _)| *c)
}

/// The columns of a header row: `(index, column)` for recognised headers,
/// and the headers not recognised. A column named twice keeps the first.
pub fn map_headers(kind: ImportKind, headers: &[String]) -> (Vec<(usize, Column)>, Vec<String>) {
    let mut known: Vec<(usize, Column)> = vec![];
    let mut unknown = vec![];
    for (i, h) in headers.iter().enumerate() {
        match column_for(kind, h) {
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
    pub fn recognise(kind: ImportKind, headers: &[String]) -> Mapping {
        let mut m = Mapping(vec![None; headers.len()]);
        for (i, c) in map_headers(kind, headers).0 {
            m.0[i] = Some(c);
        }
        m
    }

    /// A mapping saved by header (header → field code, "" when left out)
    /// laid over recognition: the headers it names take its choice, the
    /// others are recognised; a field already taken, or not of this kind of
    /// file, is left out.
    pub fn with_saved(
        kind: ImportKind,
        headers: &[String],
        saved: &BTreeMap<String, String>,
    ) -> Mapping {
        let recognised = Mapping::recognise(kind, headers);
        let mut m = Mapping(Vec::with_capacity(headers.len()));
        for (h, r) in headers.iter().zip(recognised.0) {
            let c = match saved.get(h.trim()) {
                Some(code) => Column::parse(code).ok().filter(|c| kind.accepts(*c)),
                None => r,
            };
            m.0.push(c.filter(|c| !m.0.contains(&Some(*c))));
        }
        m
    }

    /// A mapping sent by header (header → field code; "" or `ignore` leaves
    /// a column out): headers it does not name are left out. Every header
    /// it names must be in the file and every code a field of this kind.
    pub fn by_name(
        kind: ImportKind,
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
                Ok(c) if kind.accepts(c) => m.0[i] = Some(c),
                Ok(_) | Err(_) => errors.add(
                    format!("mapping.{h}"),
                    Problem::InvalidChoice {
                        allowed: kind.columns().map(|c| c.code().to_string()).collect(),
                    },
                ),
            }
        }
        errors.into_result().map(|()| m)
    }

    /// The columns to read, `(index, field)`: the columns the kind needs
    /// must be there, each a field of the kind, and no field may take two
    /// columns.
    pub fn columns(&self, kind: ImportKind) -> Result<Vec<(usize, Column)>, FieldErrors> {
        let mut out: Vec<(usize, Column)> = Vec::new();
        for (i, c) in self.0.iter().enumerate() {
            let Some(c) = *c else { continue };
            if !kind.accepts(c) {
                return Err(invalid(
                    format!(
                        "“{}”不是{}文件的字段",
                        c.label(crate::Lang::ZhCn),
                        kind.label(crate::Lang::ZhCn)
                    ),
                    format!(
                        "“{}” is not a field of a {} file",
                        c.label(crate::Lang::En),
                        kind.code()
                    ),
                ));
            }
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
        kind.check(&out)?;
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

    /// The text of a column, if the row has it.
    pub fn cell(&self, c: Column) -> Option<&str> {
        self.cells
            .iter()
            .find(|(k, _)| *k == c)
            .map(|(_, v)| v.as_str())
    }

    /// The order a row records, its date read in `zone` unless it carries
    /// an offset; the amount in yuan (negative for a refund), the quantity
    /// 1 when blank, the discount in yuan (0 when blank), the product's
    /// SKU if given.
    pub fn order(&self, zone: chrono_tz::Tz) -> Result<OrderRow, FieldErrors> {
        let mut e = FieldErrors::new();
        let order_no = e.take(
            "order_no",
            crate::text::optional(self.cell(Column::OrderNo).unwrap_or(""), 100),
        );
        let ordered_at = e.take(
            "ordered_at",
            crate::time::parse_local(self.cell(Column::OrderedAt).unwrap_or(""), zone),
        );
        let amount = e.take(
            "amount",
            match self.cell(Column::Amount) {
                None => Err(Problem::Required),
                Some(a) => crate::money::Fen::parse_yuan(a),
            },
        );
        let quantity = e.take(
            "quantity",
            match self.cell(Column::Quantity).map(crate::text::half_width) {
                None => Ok(1),
                Some(q) => q
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|q| (1..=MAX_QUANTITY).contains(q))
                    .ok_or(Problem::InvalidNumber),
            },
        );
        let product = e.take(
            "product",
            crate::text::optional(self.cell(Column::Product).unwrap_or(""), 200),
        );
        let notes = e.take(
            "notes",
            crate::text::multiline(self.cell(Column::Notes).unwrap_or(""), 2000),
        );
        let discount = e.take(
            "discount",
            match self.cell(Column::Discount) {
                None => Ok(crate::money::Fen::ZERO),
                Some(d) => crate::money::Fen::parse_non_negative(d),
            },
        );
        let sku = e.take(
            "sku",
            match self.cell(Column::Sku) {
                None => Ok(None),
                Some(s) => crate::order::sku(s).map(Some),
            },
        );
        match (
            order_no, ordered_at, amount, quantity, product, notes, discount, sku,
        ) {
            (
                Some(order_no),
                Some(ordered_at),
                Some(amount),
                Some(quantity),
                Some(product),
                Some(notes),
                Some(discount),
                Some(sku),
            ) => Ok(OrderRow {
                order_no,
                ordered_at,
                amount,
                quantity,
                product,
                notes,
                discount,
                sku,
            }),
            _ => Err(e),
        }
    }

    /// Lays this row's cells over a contact (a blank cell keeps what is
    /// there).
    pub fn contact_overlay(&self, base: &ContactInput) -> ContactInput {
        let mut i = base.clone();
        for (c, v) in &self.cells {
            let v = v.clone();
            match c {
                Column::Name => i.name = v,
                Column::Position => i.position = v,
                Column::Role => i.role = v,
                Column::Mobile => i.mobile = v,
                Column::Email => i.email = v,
                Column::Wechat => i.wechat = v,
                Column::Birthday => i.birthday = v.replace('/', "-"),
                Column::Preferences => i.preferences = v,
                Column::Notes => i.notes = v,
                _ => {}
            }
        }
        i
    }

    /// The interaction a row records, its time read in `zone` unless it
    /// carries an offset; a blank channel is a note.
    pub fn interaction(&self, zone: chrono_tz::Tz) -> Result<InteractionRow, FieldErrors> {
        let mut e = FieldErrors::new();
        let kind = e.take(
            "channel",
            self.cell(Column::Channel)
                .map_or(Ok(InteractionKind::Note), channel),
        );
        let body = e.take(
            "body",
            crate::text::multiline(self.cell(Column::Body).unwrap_or(""), 10_000)
                .and_then(|b| b.ok_or(Problem::Required)),
        );
        let occurred_at = e.take(
            "occurred_at",
            crate::time::parse_local(self.cell(Column::OccurredAt).unwrap_or(""), zone),
        );
        let contact = e.take(
            "contact",
            crate::text::optional(self.cell(Column::Contact).unwrap_or(""), 100),
        );
        match (kind, body, occurred_at, contact) {
            (Some(kind), Some(body), Some(occurred_at), Some(contact)) => Ok(InteractionRow {
                kind,
                body,
                occurred_at,
                contact,
            }),
            _ => Err(e),
        }
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
                _ => {}
            }
        }
        if i.kind.trim().is_empty() {
            i.kind = "person".into();
        }
        i
    }
}

/// An order as a file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRow {
    /// The order's number in the system it comes from.
    pub order_no: Option<String>,
    pub ordered_at: Timestamp,
    pub amount: crate::money::Fen,
    pub quantity: u32,
    pub product: Option<String>,
    pub notes: Option<String>,
    /// Every discount given on the order, in fen (0 when the file has
    /// none); `amount` is what was paid after it.
    pub discount: crate::money::Fen,
    /// The product sold, by its SKU: the order gets a line of it.
    pub sku: Option<String>,
}

/// The most items one order line may count.
const MAX_QUANTITY: u32 = 1_000_000;

/// An interaction as a file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InteractionRow {
    pub kind: InteractionKind,
    pub body: String,
    pub occurred_at: Timestamp,
    /// The name of one of the customer's contacts.
    pub contact: Option<String>,
}

/// How an interaction happened, as other systems write it: the codes and
/// labels of [`InteractionKind`] and common words for them.
pub fn channel(raw: &str) -> Result<InteractionKind, Problem> {
    let s = normalise(raw);
    let kind = match s.as_str() {
        "" => InteractionKind::Note,
        "电话" | "打电话" | "来电" | "去电" | "通话" | "phone" | "phonecall" | "call" => {
            InteractionKind::Call
        }
        "拜访" | "上门" | "面谈" | "见面" | "到访" | "会面" | "visit" | "meeting" => {
            InteractionKind::Visit
        }
        "微信" | "企业微信" | "wechat" | "weixin" => InteractionKind::Wechat,
        "短信" | "sms" | "text" => InteractionKind::Sms,
        "邮件" | "电子邮件" | "email" | "mail" => InteractionKind::Email,
        "备注" | "其他" | "其它" | "note" | "other" => InteractionKind::Note,
        _ => return InteractionKind::parse(raw),
    };
    Ok(kind)
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
        let (known, unknown) = map_headers(ImportKind::Customers, &headers);
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
        assert_eq!(
            column_for(ImportKind::Customers, " Mobile Phone "),
            Some(Column::Mobile)
        );
        assert_eq!(
            column_for(ImportKind::Customers, "ＮＡＭＥ"),
            Some(Column::Name)
        );
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn mappings_saved_sent_and_checked() {
        let headers = strings(&["客户全称", "电话", "备注", "颜色"]);
        let recognised = Mapping::recognise(ImportKind::Customers, &headers);
        assert_eq!(
            recognised.0,
            vec![None, Some(Column::Mobile), Some(Column::Notes), None]
        );
        let e = recognised.columns(ImportKind::Customers).unwrap_err();
        assert!(e.get("mapping").is_some(), "a name column is required");

        let saved: BTreeMap<String, String> =
            [("客户全称", "name"), ("备注", ""), ("颜色", "mobile")]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
        let m = Mapping::with_saved(ImportKind::Customers, &headers, &saved);
        assert_eq!(
            m.0,
            vec![Some(Column::Name), Some(Column::Mobile), None, None],
            "saved choices win; a field already taken is left out"
        );
        assert_eq!(
            m.columns(ImportKind::Customers).unwrap(),
            vec![(0, Column::Name), (1, Column::Mobile)]
        );
        assert_eq!(m.by_header(&headers)["备注"], "");
        assert_eq!(m.by_header(&headers)["客户全称"], "name");

        let sent: BTreeMap<String, String> =
            [("客户全称", "name"), ("电话", "ignore"), ("颜色", "notes")]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
        let m = Mapping::by_name(ImportKind::Customers, &headers, &sent).unwrap();
        assert_eq!(
            m.0,
            vec![Some(Column::Name), None, None, Some(Column::Notes)]
        );
        let bad: BTreeMap<String, String> = [("无此列", "name"), ("电话", "phone_number")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let e = Mapping::by_name(ImportKind::Customers, &headers, &bad).unwrap_err();
        assert!(e.get("mapping.无此列").is_some() && e.get("mapping.电话").is_some());
        let twice = Mapping(vec![Some(Column::Name), Some(Column::Name), None, None]);
        assert!(twice.columns(ImportKind::Customers).is_err());
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

    #[test]
    fn headers_mean_what_the_kind_of_file_says() {
        let h = strings(&["客户编号", "公司", "联系人", "职务", "角色", "手机", "标签"]);
        let (known, unknown) = map_headers(ImportKind::Contacts, &h);
        assert_eq!(
            known,
            vec![
                (0, Column::ExternalId),
                (1, Column::Customer),
                (2, Column::Name),
                (3, Column::Position),
                (4, Column::Role),
                (5, Column::Mobile)
            ]
        );
        assert_eq!(unknown, vec!["标签".to_string()], "contacts have no tags");
        let h = strings(&["客户", "类型", "日期", "沟通内容", "联系人"]);
        let m = Mapping::recognise(ImportKind::Interactions, &h);
        assert_eq!(
            m.columns(ImportKind::Interactions).unwrap(),
            vec![
                (0, Column::Customer),
                (1, Column::Channel),
                (2, Column::OccurredAt),
                (3, Column::Body),
                (4, Column::Contact)
            ]
        );
        assert_eq!(
            column_for(ImportKind::Customers, "类型"),
            Some(Column::Kind),
            "in a customer file 类型 is the customer's kind"
        );
        // What each kind needs.
        let no_customer = Mapping(vec![None, None, Some(Column::Name)]);
        assert!(no_customer.columns(ImportKind::Contacts).is_err());
        let no_time = Mapping(vec![Some(Column::Customer), Some(Column::Body)]);
        assert!(no_time.columns(ImportKind::Interactions).is_err());
        let foreign = Mapping(vec![Some(Column::Name), Some(Column::Body)]);
        assert!(
            foreign.columns(ImportKind::Customers).is_err(),
            "content is not a customer field"
        );
        let sent: BTreeMap<String, String> = [("客户", "tags")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert!(Mapping::by_name(ImportKind::Interactions, &h, &sent).is_err());
        // A mapping saved from a customer file does not carry its fields over.
        let saved: BTreeMap<String, String> = [("客户", "name"), ("类型", "kind")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let m = Mapping::with_saved(ImportKind::Interactions, &h, &saved);
        assert_eq!(m.0[0], None);
        assert_eq!(m.0[1], None);
        assert_eq!(m.0[2], Some(Column::OccurredAt));
    }

    #[test]
    fn interaction_rows() {
        let cols = vec![
            (0, Column::Customer),
            (1, Column::Channel),
            (2, Column::OccurredAt),
            (3, Column::Body),
            (4, Column::Contact),
        ];
        let sh = chrono_tz::Asia::Shanghai;
        let row =
            ImportedRow::from_record(&cols, &["张伟", "上门", "2024/3/5 14:30", "谈续约", ""]);
        let i = row.interaction(sh).unwrap();
        assert_eq!(i.kind, InteractionKind::Visit);
        assert_eq!(i.body, "谈续约");
        assert_eq!(i.occurred_at.rfc3339(), "2024-03-05T06:30:00.000+00:00");
        assert_eq!(i.contact, None);
        let blank = ImportedRow::from_record(&cols, &["张伟", "", "2024-03-05", "记一笔", "李四"]);
        let i = blank.interaction(sh).unwrap();
        assert_eq!(i.kind, InteractionKind::Note);
        assert_eq!(i.contact.as_deref(), Some("李四"));
        let bad = ImportedRow::from_record(&cols, &["张伟", "飞鸽传书", "昨天", "", ""]);
        let e = bad.interaction(sh).unwrap_err();
        for f in ["channel", "occurred_at", "body"] {
            assert!(e.get(f).is_some(), "{f} is reported: {e:?}");
        }
        assert_eq!(channel("E-mail").unwrap(), InteractionKind::Email);
        assert_eq!(channel("电话").unwrap(), InteractionKind::Call);
    }

    #[test]
    fn order_rows_with_discount_and_sku() {
        let headers: Vec<String> = ["订单号", "日期", "实付金额", "优惠金额", "产品编号"]
            .map(String::from)
            .to_vec();
        let (cols, unknown) = map_headers(ImportKind::Orders, &headers);
        assert!(unknown.is_empty(), "{unknown:?}");
        assert_eq!(cols[3], (3, Column::Discount));
        assert_eq!(cols[4], (4, Column::Sku));
        let sh = chrono_tz::Asia::Shanghai;
        let row = ImportedRow::from_record(&cols, &["SO-1", "2024-03-05", "1199", "100", "WP-100"]);
        let o = row.order(sh).unwrap();
        assert_eq!(o.amount.0, 119_900);
        assert_eq!(o.discount.0, 10_000);
        assert_eq!(o.sku.as_deref(), Some("WP-100"));
        let plain = ImportedRow::from_record(&cols, &["SO-2", "2024-03-05", "10", "", ""]);
        let o = plain.order(sh).unwrap();
        assert_eq!((o.discount.0, o.sku), (0, None));
        let bad = ImportedRow::from_record(&cols, &["SO-3", "2024-03-05", "10", "-1", "W P"]);
        let e = bad.order(sh).unwrap_err();
        for f in ["discount", "sku"] {
            assert!(e.get(f).is_some(), "{f} is reported: {e:?}");
        }
    }

    #[test]
    fn contact_rows_overlay_without_clearing() {
        let cols = vec![
            (0, Column::Name),
            (1, Column::Position),
            (2, Column::Mobile),
        ];
        let row = ImportedRow::from_record(&cols, &["李四", "采购经理", ""]);
        let base = ContactInput {
            name: "李四".into(),
            mobile: "13800000000".into(),
            ..Default::default()
        };
        let i = row.contact_overlay(&base);
        assert_eq!(i.position, "采购经理");
        assert_eq!(i.mobile, "13800000000");
    }
}
