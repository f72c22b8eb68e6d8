//! Customer pages: the list with filters and search, the customer page
//! with contacts, interactions and timeline, and the create/edit forms.

use crate::auth::{CsrfForm, WebUser};
use crate::state::AppState;
use crate::ui::form::{Errors, Posted};
use crate::ui::page::{invalid, render, Chrome, PageError, PageResult};
use crate::views::phone_for;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use kehu_domain::customer::{
    ConsentChannel, ConsentStatus, ContactInput, ContactRole, CustomerKind, GenderCode, Grade,
    InteractionKind, Source,
};
use kehu_domain::export::Format;
use kehu_domain::ids::{ContactId, CustomerId};
use kehu_domain::role::PhoneAccess;
use kehu_domain::{FieldErrors, Lang};
use kehu_store::contacts::{self, Contact};
use kehu_store::customers::{self, Customer, CustomerWrite, Filter, Sort};
use kehu_store::fields::{self, FieldDef};
use kehu_store::interactions::{self, InteractionInput};
use kehu_store::timeline::{self, Item};
use kehu_store::{auth, tags, Error as StoreError};
use serde::Deserialize;

const PAGE_SIZE: i64 = 25;
/// Matches counted for page numbers; beyond this the list says "1000+" and
/// the next-page link or a narrower search is the way on.
const COUNT_CAP: i64 = 1_000;

/// A choice in a select.
pub struct Opt {
    pub value: String,
    pub label: String,
}

fn opts<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    label: fn(T, Lang) -> &'static str,
    lang: Lang,
) -> Vec<Opt> {
    all.iter()
        .map(|v| Opt {
            value: code(*v).to_string(),
            label: label(*v, lang).to_string(),
        })
        .collect()
}

fn sort_label(s: Sort, lang: Lang) -> &'static str {
    match s {
        Sort::NewestFirst => lang.pick("最新创建", "Newest first"),
        Sort::OldestFirst => lang.pick("最早创建", "Oldest first"),
        Sort::Name => lang.pick("姓名（拼音 A→Z）", "Name A→Z"),
        Sort::NameDesc => lang.pick("姓名（拼音 Z→A）", "Name Z→A"),
        Sort::RecentlyUpdated => lang.pick("最近更新", "Recently updated"),
    }
}

fn parse_id<T: std::str::FromStr>(raw: &str, lang: Lang) -> Result<T, PageError> {
    raw.parse().map_err(|_| PageError::not_found(lang))
}

// ---------------------------------------------------------------- list

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    owner_id: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    grade: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: String,
}

impl ListQuery {
    fn filter(&self) -> Filter {
        let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        Filter {
            q: some(&self.q),
            owner_id: self.owner_id.parse().ok(),
            team_id: None,
            tag: some(&self.tag),
            source: Source::parse(&self.source).ok(),
            grade: Grade::parse(&self.grade).ok(),
            kind: CustomerKind::parse(&self.kind).ok(),
            deleted: false,
        }
    }

    /// The query string of this filter and sort.
    fn query(&self) -> String {
        let enc = crate::auth::urlencode;
        format!(
            "q={}&owner_id={}&tag={}&source={}&grade={}&kind={}&sort={}",
            enc(&self.q),
            enc(&self.owner_id),
            enc(&self.tag),
            enc(&self.source),
            enc(&self.grade),
            enc(&self.kind),
            enc(&self.sort)
        )
    }

    /// This filter's page `n`.
    fn link(&self, n: i64) -> String {
        format!("/customers?{}&page={n}", self.query())
    }

    fn sort(&self) -> Sort {
        Sort::parse(&self.sort).unwrap_or_default()
    }
}

pub struct Row {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub mobile: String,
    pub company: String,
    pub city: String,
    pub owner: String,
    pub tags: Vec<String>,
    pub grade: &'static str,
    pub created: String,
}

impl Row {
    /// A customer as a row of a list shown to this user.
    pub fn of(u: &WebUser, chrome: &Chrome, c: &Customer) -> Row {
        Row {
            id: c.id.to_string(),
            name: c.fields.name.clone(),
            kind: c.fields.kind.label(u.lang),
            mobile: phone_for(&u.principal, &c.fields.mobile)
                .0
                .unwrap_or_default(),
            company: c.fields.company.clone().unwrap_or_default(),
            city: c.fields.city.clone().unwrap_or_default(),
            owner: c.owner_name.clone().unwrap_or_default(),
            tags: c.tags.iter().map(|t| t.name.clone()).collect(),
            grade: c.fields.grade.map(|g| g.code()).unwrap_or(""),
            created: chrome.time(&c.created_at).chars().take(10).collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "customers.html")]
struct ListPage {
    chrome: Chrome,
    q: ListQuery,
    rows: Vec<Row>,
    /// The number of matches, or "1000+" beyond [`COUNT_CAP`].
    total: String,
    page: i64,
    /// The number of pages, or "40+" when the matches were not all counted.
    pages: String,
    prev: Option<String>,
    next: Option<String>,
    can_create: bool,
    /// Downloads of this filtered list (empty without the permission).
    exports: Vec<Opt>,
    owners: Vec<Opt>,
    tags: Vec<Opt>,
    sources: Vec<Opt>,
    grades: Vec<Opt>,
    kinds: Vec<Opt>,
    sorts: Vec<Opt>,
}

pub async fn list(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let filter = q.filter();
    let sort = q.sort();
    let page = q.page.trim().parse::<i64>().unwrap_or(1).max(1);
    let counted = customers::count_upto(&s.db, &u.principal, &filter, COUNT_CAP + 1)
        .await
        .page(lang)?;
    // Beyond the cap the page count is unknown: any page may be asked for,
    // and "next" shows while there are more rows.
    let capped = counted > COUNT_CAP;
    let known_pages = ((counted + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let (total, pages, page) = if capped {
        (
            format!("{COUNT_CAP}+"),
            format!("{known_pages}+"),
            page.min(i64::MAX / PAGE_SIZE),
        )
    } else {
        (
            counted.to_string(),
            known_pages.to_string(),
            page.min(known_pages),
        )
    };
    let result = customers::list(
        &s.db,
        &u.principal,
        &filter,
        sort,
        PAGE_SIZE,
        None,
        Some((page - 1) * PAGE_SIZE),
    )
    .await
    .page(lang)?;
    let chrome = Chrome::new(&u, "customers", s.config.timezone);
    let rows = result
        .items
        .iter()
        .map(|c| Row::of(&u, &chrome, c))
        .collect();
    let owners = auth::users(&s.db)
        .await
        .page(lang)?
        .into_iter()
        .map(|x| Opt {
            value: x.id.to_string(),
            label: x.name,
        })
        .collect();
    let tags = tags::names(&s.db)
        .await
        .page(lang)?
        .into_iter()
        .map(|t| Opt {
            value: t.name.clone(),
            label: t.name,
        })
        .collect();
    let page_view = ListPage {
        prev: (page > 1).then(|| q.link(page - 1)),
        next: result.next_cursor.is_some().then(|| q.link(page + 1)),
        can_create: u.principal.role.can_write_customers(),
        exports: if u.principal.can_export() {
            [Format::Xlsx, Format::Csv]
                .iter()
                .map(|f| Opt {
                    value: format!("/customers/export?{}&format={}", q.query(), f.code()),
                    label: f.label(lang).to_string(),
                })
                .collect()
        } else {
            vec![]
        },
        owners,
        tags,
        sources: opts(Source::ALL, Source::code, Source::label, lang),
        grades: opts(Grade::ALL, Grade::code, Grade::label, lang),
        kinds: opts(
            CustomerKind::ALL,
            CustomerKind::code,
            CustomerKind::label,
            lang,
        ),
        sorts: Sort::ALL
            .iter()
            .map(|s| Opt {
                value: s.code().into(),
                label: sort_label(*s, lang).into(),
            })
            .collect(),
        chrome,
        q,
        rows,
        total,
        page,
        pages,
    };
    Ok(render(&page_view))
}

#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: String,
}

/// The list as a download, with the filters and sort of the page it came from.
pub async fn export(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<ListQuery>,
    Query(e): Query<ExportQuery>,
) -> Result<Response, PageError> {
    let format = Format::parse(&e.format).map_err(|_| PageError::bad_form(u.lang, "format"))?;
    crate::export::customers(&s, &u.principal, &q.filter(), q.sort(), format)
        .await
        .page(u.lang)
}

// ---------------------------------------------------------------- form

#[derive(Template)]
#[template(path = "customer_form.html")]
struct FormPage {
    chrome: Chrome,
    editing: bool,
    action: String,
    cancel: String,
    values: Posted,
    errors: Errors,
    kinds: Vec<Opt>,
    genders: Vec<Opt>,
    sources: Vec<Opt>,
    grades: Vec<Opt>,
    owners: Option<Vec<Opt>>,
    fields: Vec<FieldDef>,
    channels: Vec<Opt>,
    statuses: Vec<Opt>,
    /// Customers the one being created looks like (then the form offers
    /// to create it anyway).
    duplicates: Vec<DuplicateRow>,
}

/// An existing customer a new one looks like, with why.
pub struct DuplicateRow {
    pub id: String,
    pub name: String,
    pub company: String,
    pub reasons: String,
}

async fn form_page(
    s: &AppState,
    u: &WebUser,
    editing: Option<&CustomerId>,
    values: Posted,
    errors: Errors,
) -> Result<FormPage, PageError> {
    let lang = u.lang;
    let owners = if u.principal.role.can_reassign() {
        let all = auth::users(&s.db).await.page(lang)?;
        Some(
            all.into_iter()
                .filter(|x| x.active && x.role.can_write_customers())
                .filter(|x| {
                    u.principal.role.is_admin()
                        || x.team_id == u.principal.team_id
                        || x.id == u.principal.user_id
                })
                .map(|x| Opt {
                    value: x.id.to_string(),
                    label: format!("{} ({})", x.name, x.login),
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(FormPage {
        chrome: Chrome::new(u, "customers", s.config.timezone),
        editing: editing.is_some(),
        action: editing
            .map(|id| format!("/customers/{id}/edit"))
            .unwrap_or_else(|| "/customers/new".into()),
        cancel: editing
            .map(|id| format!("/customers/{id}"))
            .unwrap_or_else(|| "/customers".into()),
        values,
        errors,
        kinds: opts(
            CustomerKind::ALL,
            CustomerKind::code,
            CustomerKind::label,
            lang,
        ),
        genders: opts(GenderCode::ALL, GenderCode::code, GenderCode::label, lang),
        sources: opts(Source::ALL, Source::code, Source::label, lang),
        grades: opts(Grade::ALL, Grade::code, Grade::label, lang),
        owners,
        fields: fields::active(&s.db).await.page(lang)?,
        channels: ConsentChannel::ALL
            .iter()
            .map(|c| Opt {
                value: c.code().into(),
                label: format!("{}{}", crate::i18n::Tr(lang).t("f.consent"), c.label(lang)),
            })
            .collect(),
        statuses: opts(
            ConsentStatus::ALL,
            ConsentStatus::code,
            ConsentStatus::label,
            lang,
        ),
        duplicates: Vec::new(),
    })
}

pub async fn new_form(State(s): State<AppState>, u: WebUser) -> Result<Response, PageError> {
    if !u.principal.role.can_write_customers() {
        return Err(PageError::forbidden(u.lang));
    }
    let mut values = Posted::default();
    values.0.insert("kind".into(), "person".into());
    Ok(render(
        &form_page(&s, &u, None, values, Errors::default()).await?,
    ))
}

/// Parses the posted customer form into what the store writes.
fn write_from(p: &Posted) -> Result<CustomerWrite, FieldErrors> {
    let mut errors = FieldErrors::new();
    let consents = p.consents(&mut errors);
    let fields = p.customer_input().parse();
    match fields {
        Ok(fields) if errors.is_empty() => Ok(CustomerWrite {
            fields,
            custom: p.custom(),
            tags: tags::split(&p.get("tags")),
            consents,
        }),
        Ok(_) => Err(errors),
        Err(mut e) => {
            e.0.extend(errors.0);
            Err(e)
        }
    }
}

async fn form_errors(
    s: &AppState,
    u: &WebUser,
    editing: Option<&CustomerId>,
    p: Posted,
    e: FieldErrors,
) -> Result<Response, PageError> {
    Ok(invalid(
        &form_page(s, u, editing, p, Errors::from(&e, u.lang)).await?,
    ))
}

pub async fn create(
    State(s): State<AppState>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let p = Posted::new(pairs);
    let w = match write_from(&p) {
        Ok(w) => w,
        Err(e) => return form_errors(&s, &u, None, p, e).await,
    };
    // After the warning, the form's "create anyway" button sends this.
    let created = if p.get("allow_duplicate") == "1" {
        customers::create(&s.db, Some(&u.principal), w).await
    } else {
        customers::create_unless_duplicate(&s.db, &u.principal, w).await
    };
    match created {
        Ok(c) => Ok(Redirect::to(&format!("/customers/{}", c.id)).into_response()),
        Err(StoreError::Invalid(e)) => form_errors(&s, &u, None, p, e).await,
        Err(StoreError::Duplicate(list)) => {
            let mut page = form_page(&s, &u, None, p, Errors::default()).await?;
            page.duplicates = list
                .into_iter()
                .map(|m| DuplicateRow {
                    id: m.id.to_string(),
                    name: m.name,
                    company: m.company.unwrap_or_default(),
                    reasons: m
                        .reasons
                        .iter()
                        .map(|r| r.label(u.lang))
                        .collect::<Vec<_>>()
                        .join(", "),
                })
                .collect();
            let mut r = render(&page);
            *r.status_mut() = axum::http::StatusCode::CONFLICT;
            Ok(r)
        }
        Err(e) => Err(PageError::from_store(e, u.lang)),
    }
}

/// The current record as form values; a masked number is shown masked.
fn values_of(u: &WebUser, c: &Customer) -> Posted {
    let i = c.fields.to_input();
    let mut m = Posted::default();
    for (k, v) in [
        ("kind", i.kind),
        ("name", i.name),
        ("gender", i.gender),
        ("title", i.title),
        ("email", i.email),
        ("wechat", i.wechat),
        ("company", i.company),
        ("city", i.city),
        ("address", i.address),
        ("source", i.source),
        ("referred_by", i.referred_by),
        ("birthday", i.birthday),
        ("grade", i.grade),
        ("notes", i.notes),
        ("owner_id", i.owner_id),
    ] {
        m.0.insert(k.into(), v);
    }
    m.0.insert(
        "mobile".into(),
        phone_for(&u.principal, &c.fields.mobile)
            .0
            .unwrap_or_default(),
    );
    m.0.insert(
        "tags".into(),
        c.tags
            .iter()
            .map(|t| t.name.clone())
            .collect::<Vec<_>>()
            .join(", "),
    );
    for (k, v) in &c.custom {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        m.0.insert(format!("custom.{k}"), text);
    }
    for (ch, st) in &c.consents {
        m.0.insert(format!("consent.{}", ch.code()), st.code().into());
    }
    m
}

pub async fn edit_form(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: CustomerId = parse_id(&id, u.lang)?;
    let c = customers::get(&s.db, &u.principal, &id)
        .await
        .page(u.lang)?;
    if !u.principal.can_write(&c.placement()) {
        return Err(PageError::forbidden(u.lang));
    }
    let values = values_of(&u, &c);
    Ok(render(
        &form_page(&s, &u, Some(&id), values, Errors::default()).await?,
    ))
}

pub async fn update(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id: CustomerId = parse_id(&id, u.lang)?;
    let current = customers::get(&s.db, &u.principal, &id)
        .await
        .page(u.lang)?;
    let mut p = Posted::new(pairs);
    // A masked number sent back unchanged keeps the stored number.
    if let Some(m) = &current.fields.mobile {
        if p.get("mobile") == m.masked() {
            p.0.insert("mobile".into(), m.as_str().to_string());
        }
    }
    let mut w = match write_from(&p) {
        Ok(w) => w,
        Err(e) => return form_errors(&s, &u, Some(&id), p, e).await,
    };
    // Values of custom fields not on the form (retired ones) are kept.
    for (k, v) in &current.custom {
        if !p.0.contains_key(&format!("custom.{k}")) {
            w.custom.insert(k.clone(), v.clone());
        }
    }
    match customers::update(&s.db, &u.principal, &id, w).await {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{id}")).into_response()),
        Err(StoreError::Invalid(e)) => form_errors(&s, &u, Some(&id), p, e).await,
        Err(e) => Err(PageError::from_store(e, u.lang)),
    }
}

// ---------------------------------------------------------------- customer page

pub struct Detail {
    pub label: String,
    pub value: String,
}

pub struct ContactRow {
    pub id: String,
    pub name: String,
    pub position: String,
    pub role: &'static str,
    pub mobile: String,
    pub email: String,
    pub preferences: String,
}

pub struct ChangeRow {
    pub field: String,
    pub old: String,
    pub new: String,
}

pub struct TimelineRow {
    pub when: String,
    pub who: String,
    pub label: String,
    pub body: String,
    pub changes: Vec<ChangeRow>,
    pub is_change: bool,
}

#[derive(Template)]
#[template(path = "customer.html")]
struct ShowPage {
    chrome: Chrome,
    id: String,
    name: String,
    kind: &'static str,
    is_org: bool,
    details: Vec<Detail>,
    tags: Vec<String>,
    mobile: String,
    can_reveal: bool,
    can_write: bool,
    can_delete: bool,
    referred_by: Option<(String, String)>,
    referrals: Vec<(String, String)>,
    contacts: Vec<ContactRow>,
    contact_values: Posted,
    contact_errors: Errors,
    contact_roles: Vec<Opt>,
    kinds: Vec<Opt>,
    interaction_values: Posted,
    interaction_errors: Errors,
    timeline: Vec<TimelineRow>,
    /// What the customer-value models say of this customer, once fitted.
    value: Option<ValueCard>,
    /// Grade, lifecycle, profit and value from the last recompute.
    scores: Option<crate::ui::scores::ScoreCard>,
    tickets: Vec<crate::ui::tickets::Row>,
    /// Orders with their lines (购买记录).
    purchases: crate::ui::orders::Purchases,
}

/// The customer-value card, in words and yuan.
pub struct ValueCard {
    pub until: String,
    pub orders: u64,
    pub purchase_days: u32,
    pub spent: String,
    pub p_alive: String,
    pub expected: String,
    pub clv: Option<String>,
}

impl ValueCard {
    fn new(v: kehu_store::analytics::CustomerValue) -> ValueCard {
        ValueCard {
            until: v.until.to_string(),
            orders: v.orders,
            purchase_days: v.purchase_days,
            spent: kehu_domain::money::Fen(v.spent_fen).to_string(),
            p_alive: format!("{:.0}%", v.p_alive * 100.0),
            expected: format!("{:.1}", v.expected_purchases),
            clv: v.clv_fen.map(|f| kehu_domain::money::Fen(f).to_string()),
        }
    }
}

pub(crate) fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}: {}", json_text(v)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn action_label(action: &str, entity: &str, lang: Lang) -> String {
    let a = match action {
        "create" => lang.pick("新建", "created"),
        "update" => lang.pick("修改", "changed"),
        "delete" => lang.pick("删除", "deleted"),
        "restore" => lang.pick("恢复", "restored"),
        "reveal" => lang.pick("查看完整号码", "revealed the number of"),
        "purge" => lang.pick("彻底删除", "purged"),
        "merge" => lang.pick("合并", "merged"),
        "not_duplicate" => lang.pick("标记为非重复", "marked as not a duplicate:"),
        other => return format!("{other} {entity}"),
    };
    let e = match entity {
        "customer" => lang.pick("客户", "customer"),
        "contact" => lang.pick("联系人", "contact"),
        "interaction" => lang.pick("跟进记录", "interaction"),
        "order" => lang.pick("订单", "order"),
        other => other,
    };
    match lang {
        Lang::ZhCn => format!("{a}{e}"),
        Lang::En => format!("{a} {e}"),
    }
}

/// A recorded change in words: the field's label and values as shown
/// elsewhere (codes as labels, owners by name).
fn change_row(
    field: &str,
    old: &serde_json::Value,
    new: &serde_json::Value,
    lang: Lang,
    defs: &[FieldDef],
    names: &std::collections::HashMap<String, String>,
) -> ChangeRow {
    ChangeRow {
        field: field_label(field, lang, defs),
        old: field_value(field, &json_text(old), lang, names),
        new: field_value(field, &json_text(new), lang, names),
    }
}

/// A field's label: own fields from the texts, custom fields by their
/// definition, consents by channel.
pub(crate) fn field_label(field: &str, lang: Lang, defs: &[FieldDef]) -> String {
    let tr = crate::i18n::Tr(lang);
    if let Some(key) = field.strip_prefix("custom.") {
        defs.iter()
            .find(|d| d.key == key)
            .map(|d| d.label.clone())
            .unwrap_or_else(|| key.to_string())
    } else if let Some(ch) = field.strip_prefix("consent.") {
        format!(
            "{}{}",
            tr.t("f.consent"),
            ConsentChannel::parse(ch)
                .map(|c| c.label(lang))
                .unwrap_or(ch)
        )
    } else {
        let key = match field {
            "owner_id" => "f.owner".to_string(),
            "role" => "f.contact_role".to_string(),
            other => format!("f.{other}"),
        };
        crate::i18n::lookup(&key, lang)
            .map(str::to_string)
            .unwrap_or_else(|| field.to_string())
    }
}

/// A field's stored text as shown: codes as labels, owners by name.
pub(crate) fn field_value(
    field: &str,
    text: &str,
    lang: Lang,
    names: &std::collections::HashMap<String, String>,
) -> String {
    let coded = match field {
        "kind" => CustomerKind::parse(text).map(|x| x.label(lang)).ok(),
        "source" => Source::parse(text).map(|x| x.label(lang)).ok(),
        "grade" => Grade::parse(text).map(|x| x.label(lang)).ok(),
        "gender" => GenderCode::parse(text).map(|x| x.label(lang)).ok(),
        "role" => ContactRole::parse(text).map(|x| x.label(lang)).ok(),
        f if f.starts_with("consent.") => ConsentStatus::parse(text).map(|x| x.label(lang)).ok(),
        _ => None,
    };
    match (coded, field) {
        (Some(l), _) => l.to_string(),
        (None, "owner_id") => names.get(text).cloned().unwrap_or_else(|| text.to_string()),
        (None, _) => text.to_string(),
    }
}

/// What the customer page shows besides the record: a revealed number, and
/// the contact or interaction form as posted when it had errors.
#[derive(Default)]
struct PageState {
    revealed: Option<String>,
    contact: (Posted, Errors),
    interaction: (Posted, Errors),
}

async fn show_page(
    s: &AppState,
    u: &WebUser,
    id: &CustomerId,
    state: PageState,
) -> Result<ShowPage, PageError> {
    let PageState {
        revealed,
        contact: (contact_values, contact_errors),
        interaction: (interaction_values, interaction_errors),
    } = state;
    let lang = u.lang;
    let c = customers::get(&s.db, &u.principal, id).await.page(lang)?;
    let chrome = Chrome::new(u, "customers", s.config.timezone);
    let tr = |zh: &'static str, en: &'static str| lang.pick(zh, en).to_string();
    let f = &c.fields;
    let mut details = vec![];
    let mut add = |label: String, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            details.push(Detail { label, value: v });
        }
    };
    add(tr("类型", "Kind"), Some(f.kind.label(lang).to_string()));
    add(
        tr("性别", "Gender"),
        f.gender.map(|g| g.label(lang).to_string()),
    );
    add(tr("称谓", "Title"), f.title.clone());
    add(tr("邮箱", "E-mail"), f.email.clone());
    add(tr("微信", "WeChat"), f.wechat.clone());
    add(tr("公司", "Company"), f.company.clone());
    add(tr("城市", "City"), f.city.clone());
    add(tr("地址", "Address"), f.address.clone());
    add(
        tr("来源", "Source"),
        f.source.map(|v| v.label(lang).to_string()),
    );
    add(
        tr("生日", "Birthday"),
        f.birthday.map(|d| d.format("%Y-%m-%d").to_string()),
    );
    add(
        tr("等级", "Grade"),
        f.grade.map(|g| g.label(lang).to_string()),
    );
    add(tr("负责人", "Owner"), c.owner_name.clone());
    add(tr("团队", "Team"), c.team_name.clone());
    add(
        tr("最近联系", "Last contact"),
        c.last_contact_at.map(|t| chrome.time(&t)),
    );
    add(tr("创建时间", "Created"), Some(chrome.time(&c.created_at)));
    add(tr("外部编号", "External id"), c.external_id.clone());
    add(tr("备注", "Notes"), f.notes.clone());
    let defs = fields::all(&s.db).await.page(lang)?;
    for (k, v) in &c.custom {
        let label = defs
            .iter()
            .find(|d| &d.key == k)
            .map(|d| d.label.clone())
            .unwrap_or_else(|| k.clone());
        add(label, Some(json_text(v)));
    }
    for (ch, st) in &c.consents {
        add(
            format!("{}{}", tr("授权·", "Consent: "), ch.label(lang)),
            Some(st.label(lang).to_string()),
        );
    }
    let mobile =
        revealed.unwrap_or_else(|| phone_for(&u.principal, &f.mobile).0.unwrap_or_default());
    let masked = f.mobile.is_some() && u.principal.role.phone_access() != PhoneAccess::Full;
    let contacts: Vec<Contact> = if f.kind == CustomerKind::Organization {
        contacts::list(&s.db, &u.principal, id).await.page(lang)?
    } else {
        vec![]
    };
    let contacts = contacts
        .iter()
        .map(|ct| ContactRow {
            id: ct.id.to_string(),
            name: ct.fields.name.clone(),
            position: ct.fields.position.clone().unwrap_or_default(),
            role: ct.fields.role.label(lang),
            mobile: phone_for(&u.principal, &ct.fields.mobile)
                .0
                .unwrap_or_default(),
            email: ct.fields.email.clone().unwrap_or_default(),
            preferences: ct.fields.preferences.clone().unwrap_or_default(),
        })
        .collect();
    let items = timeline::for_customer(&s.db, &u.principal, id, 200)
        .await
        .page(lang)?;
    let names: std::collections::HashMap<String, String> = auth::users(&s.db)
        .await
        .page(lang)?
        .into_iter()
        .map(|x| (x.id.to_string(), x.name))
        .collect();
    let timeline = items
        .iter()
        .map(|i| match i {
            Item::Interaction(x) => TimelineRow {
                when: chrome.time(&x.occurred_at),
                who: x.user_name.clone().unwrap_or_default(),
                label: match &x.contact_name {
                    Some(n) => format!("{} · {n}", x.kind.label(lang)),
                    None => x.kind.label(lang).to_string(),
                },
                body: x.body.clone(),
                changes: vec![],
                is_change: false,
            },
            Item::Change(a) => TimelineRow {
                when: chrome.time(&a.at),
                who: a.actor_login.clone().unwrap_or_default(),
                label: action_label(&a.action, &a.entity, lang),
                body: String::new(),
                changes: a
                    .changes
                    .iter()
                    .map(|ch| change_row(&ch.field, &ch.old, &ch.new, lang, &defs, &names))
                    .collect(),
                is_change: true,
            },
            Item::Ticket(t) => TimelineRow {
                when: chrome.time(&t.created_at),
                who: t.assignee_name.clone().unwrap_or_default(),
                label: format!(
                    "{} #{} · {} · {}",
                    t.kind.label(lang),
                    t.number,
                    t.status.label(lang),
                    t.severity.label(lang)
                ),
                body: t.subject.clone(),
                changes: vec![],
                is_change: false,
            },
            Item::Order(o) => {
                let (label, body) = crate::ui::orders::timeline_entry(o, lang);
                TimelineRow {
                    when: chrome.time(&o.ordered_at),
                    who: o.user_name.clone().unwrap_or_default(),
                    label,
                    body,
                    changes: vec![],
                    is_change: false,
                }
            }
            Item::Survey(v) => TimelineRow {
                when: chrome.time(&v.answered_at.unwrap_or(v.created_at)),
                who: String::new(),
                label: format!(
                    "{}：{}{}",
                    lang.pick("满意度调查", "Satisfaction survey"),
                    v.satisfaction.map(|x| x.label(lang)).unwrap_or(""),
                    v.nps.map(|n| format!(" · NPS {n}")).unwrap_or_default()
                ),
                body: v.comment.clone().unwrap_or_default(),
                changes: vec![],
                is_change: false,
            },
        })
        .collect();
    let tickets = kehu_store::tickets::list(
        &s.db,
        &u.principal,
        &kehu_store::tickets::ListFilter {
            queue: kehu_store::tickets::Queue::Customer(id.clone()),
            limit: 20,
            ..Default::default()
        },
        kehu_domain::time::Timestamp::now(),
    )
    .await
    .page(lang)?
    .iter()
    .map(|t| crate::ui::tickets::row(t, &chrome))
    .collect();
    let referrals = customers::referrals(&s.db, &u.principal, id)
        .await
        .page(lang)?
        .into_iter()
        .map(|(i, n)| (i.to_string(), n))
        .collect();
    let scores = crate::ui::scores::card(&s.db, &u.principal, id, lang).await?;
    // Scores with model values carry P(alive) and CLV; otherwise they come
    // from the latest fits applied to this customer's orders.
    let value = match &scores {
        Some(sc) if sc.p_alive.is_some() => None,
        _ => kehu_store::analytics::customer_value(&s.db, &u.principal, id, s.config.timezone)
            .await
            .page(lang)?
            .map(ValueCard::new),
    };
    let purchases = crate::ui::orders::purchases(s, u, &c, &chrome).await?;
    Ok(ShowPage {
        purchases,
        scores,
        value,
        tickets,
        id: c.id.to_string(),
        name: f.name.clone(),
        kind: f.kind.label(lang),
        is_org: f.kind == CustomerKind::Organization,
        details,
        tags: c.tags.iter().map(|t| t.name.clone()).collect(),
        mobile,
        can_reveal: masked && u.principal.role.phone_access() == PhoneAccess::Reveal,
        can_write: u.principal.can_write(&c.placement()),
        can_delete: u.principal.can_delete(&c.placement()),
        referred_by: f.referred_by.as_ref().map(|r| {
            (
                r.to_string(),
                c.referred_by_name.clone().unwrap_or_default(),
            )
        }),
        referrals,
        contacts,
        contact_values,
        contact_errors,
        contact_roles: opts(
            ContactRole::ALL,
            ContactRole::code,
            ContactRole::label,
            lang,
        ),
        kinds: opts(
            InteractionKind::ALL,
            InteractionKind::code,
            InteractionKind::label,
            lang,
        ),
        interaction_values,
        interaction_errors,
        timeline,
        chrome,
    })
}

pub async fn show(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: CustomerId = parse_id(&id, u.lang)?;
    Ok(render(&show_page(&s, &u, &id, PageState::default()).await?))
}

pub async fn reveal(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, _): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id: CustomerId = parse_id(&id, u.lang)?;
    let full = customers::reveal_mobile(&s.db, &u.principal, &id)
        .await
        .page(u.lang)?;
    Ok(render(
        &show_page(
            &s,
            &u,
            &id,
            PageState {
                revealed: full,
                ..Default::default()
            },
        )
        .await?,
    ))
}

pub async fn delete(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, _): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id: CustomerId = parse_id(&id, u.lang)?;
    customers::delete(&s.db, &u.principal, &id)
        .await
        .page(u.lang)?;
    Ok(Redirect::to("/customers").into_response())
}

pub async fn add_interaction(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id: CustomerId = parse_id(&id, u.lang)?;
    let p = Posted::new(pairs);
    let input = InteractionInput {
        kind: p.get("kind"),
        body: p.get("body"),
        contact_id: p.get("contact_id"),
        occurred_at: String::new(),
    };
    match interactions::create(&s.db, &u.principal, &id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{id}#timeline")).into_response()),
        Err(StoreError::Invalid(e)) => {
            let state = PageState {
                interaction: (p, Errors::from(&e, u.lang)),
                ..Default::default()
            };
            Ok(invalid(&show_page(&s, &u, &id, state).await?))
        }
        Err(e) => Err(PageError::from_store(e, u.lang)),
    }
}

fn contact_input(p: &Posted) -> ContactInput {
    ContactInput {
        name: p.get("name"),
        position: p.get("position"),
        role: p.get("role"),
        mobile: p.get("mobile"),
        email: p.get("email"),
        wechat: p.get("wechat"),
        birthday: p.get("birthday"),
        preferences: p.get("preferences"),
        notes: p.get("notes"),
    }
}

pub async fn add_contact(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id: CustomerId = parse_id(&id, u.lang)?;
    let p = Posted::new(pairs);
    let result = match contact_input(&p).parse() {
        Ok(f) => contacts::create(&s.db, &u.principal, &id, f).await,
        Err(e) => Err(StoreError::Invalid(e)),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{id}#contacts")).into_response()),
        Err(StoreError::Invalid(e)) => {
            let state = PageState {
                contact: (p, Errors::from(&e, u.lang)),
                ..Default::default()
            };
            Ok(invalid(&show_page(&s, &u, &id, state).await?))
        }
        Err(e) => Err(PageError::from_store(e, u.lang)),
    }
}

#[derive(Template)]
#[template(path = "contact_form.html")]
struct ContactPage {
    chrome: Chrome,
    id: String,
    customer_id: String,
    values: Posted,
    errors: Errors,
    roles: Vec<Opt>,
}

fn contact_values(u: &WebUser, c: &Contact) -> Posted {
    let i = c.fields.to_input();
    let mut m = Posted::default();
    for (k, v) in [
        ("name", i.name),
        ("position", i.position),
        ("role", i.role),
        ("email", i.email),
        ("wechat", i.wechat),
        ("birthday", i.birthday),
        ("preferences", i.preferences),
        ("notes", i.notes),
    ] {
        m.0.insert(k.into(), v);
    }
    m.0.insert(
        "mobile".into(),
        phone_for(&u.principal, &c.fields.mobile)
            .0
            .unwrap_or_default(),
    );
    m
}

fn contact_page(
    s: &AppState,
    u: &WebUser,
    c: &Contact,
    values: Posted,
    errors: Errors,
) -> ContactPage {
    ContactPage {
        chrome: Chrome::new(u, "customers", s.config.timezone),
        id: c.id.to_string(),
        customer_id: c.customer_id.to_string(),
        values,
        errors,
        roles: opts(
            ContactRole::ALL,
            ContactRole::code,
            ContactRole::label,
            u.lang,
        ),
    }
}

pub async fn edit_contact_form(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: ContactId = parse_id(&id, u.lang)?;
    let c = contacts::get(&s.db, &u.principal, &id).await.page(u.lang)?;
    let values = contact_values(&u, &c);
    Ok(render(&contact_page(&s, &u, &c, values, Errors::default())))
}

pub async fn update_contact(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id: ContactId = parse_id(&id, u.lang)?;
    let current = contacts::get(&s.db, &u.principal, &id).await.page(u.lang)?;
    let mut p = Posted::new(pairs);
    if let Some(m) = &current.fields.mobile {
        if p.get("mobile") == m.masked() {
            p.0.insert("mobile".into(), m.as_str().to_string());
        }
    }
    let result = match contact_input(&p).parse() {
        Ok(f) => contacts::update(&s.db, &u.principal, &id, f).await,
        Err(e) => Err(StoreError::Invalid(e)),
    };
    match result {
        Ok(c) => {
            Ok(Redirect::to(&format!("/customers/{}#contacts", c.customer_id)).into_response())
        }
        Err(StoreError::Invalid(e)) => Ok(invalid(&contact_page(
            &s,
            &u,
            &current,
            p,
            Errors::from(&e, u.lang),
        ))),
        Err(e) => Err(PageError::from_store(e, u.lang)),
    }
}

pub async fn delete_contact(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, _): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id: ContactId = parse_id(&id, u.lang)?;
    let c = contacts::get(&s.db, &u.principal, &id).await.page(u.lang)?;
    contacts::delete(&s.db, &u.principal, &id)
        .await
        .page(u.lang)?;
    Ok(Redirect::to(&format!("/customers/{}#contacts", c.customer_id)).into_response())
}
