//! Duplicate customers: the review list (owners, admins, managers), the
//! side-by-side comparison of two records choosing per field which value
//! survives, the merge, and dismissing a pair as different customers.

use crate::auth::{CsrfForm, WebUser};
use crate::state::AppState;
use crate::ui::customers::{field_label, field_value, json_text, Row};
use crate::ui::form::Posted;
use crate::ui::page::{render, Chrome, PageError, PageResult};
use crate::views::phone_for;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use kehu_domain::customer::{ConsentChannel, ConsentStatus};
use kehu_domain::duplicate::{field_text, Choices, Side, MERGE_FIELDS};
use kehu_domain::ids::CustomerId;
use kehu_domain::Lang;
use kehu_store::customers::{self, Customer};
use kehu_store::{auth, contacts, duplicates, fields, interactions, merge};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};

const GROUPS_PER_PAGE: i64 = 20;

fn parse_id(raw: &str, lang: Lang) -> Result<CustomerId, PageError> {
    raw.trim().parse().map_err(|_| PageError::not_found(lang))
}

// ---------------------------------------------------------------- review list

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    cursor: String,
}

pub struct PairRow {
    pub a: String,
    pub b: String,
    pub a_name: String,
    pub b_name: String,
}

pub struct GroupRow {
    pub reason: &'static str,
    pub key: String,
    pub size: i64,
    pub members: Vec<Row>,
    pub pairs: Vec<PairRow>,
}

#[derive(Template)]
#[template(path = "duplicates.html")]
struct ListPage {
    chrome: Chrome,
    groups: Vec<GroupRow>,
    first_page: bool,
    next: Option<String>,
}

pub async fn list(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let page = duplicates::review(&s.db, &u.principal, GROUPS_PER_PAGE, Some(&q.cursor))
        .await
        .page(lang)?;
    let chrome = Chrome::new(&u, "duplicates", s.config.timezone);
    let name_of = |list: &[Customer], id: &CustomerId| {
        list.iter()
            .find(|c| &c.id == id)
            .map(|c| c.fields.name.clone())
            .unwrap_or_default()
    };
    let groups = page
        .items
        .iter()
        .map(|g| GroupRow {
            reason: g.reason.label(lang),
            key: g.key.clone(),
            size: g.size,
            members: g
                .customers
                .iter()
                .map(|c| Row::of(&u, &chrome, c))
                .collect(),
            pairs: g
                .pairs
                .iter()
                .map(|(a, b)| PairRow {
                    a: a.to_string(),
                    b: b.to_string(),
                    a_name: name_of(&g.customers, a),
                    b_name: name_of(&g.customers, b),
                })
                .collect(),
        })
        .collect();
    Ok(render(&ListPage {
        chrome,
        groups,
        first_page: q.cursor.trim().is_empty(),
        next: page
            .next_cursor
            .map(|c| format!("/duplicates?cursor={}", crate::auth::urlencode(&c))),
    }))
}

#[derive(Debug, Deserialize)]
pub struct Pair {
    a: String,
    b: String,
}

pub async fn dismiss(
    State(s): State<AppState>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let p = Posted::new(pairs);
    let (a, b) = (
        parse_id(&p.get("a"), u.lang)?,
        parse_id(&p.get("b"), u.lang)?,
    );
    duplicates::dismiss(&s.db, &u.principal, &a, &b)
        .await
        .page(u.lang)?;
    Ok(Redirect::to("/duplicates").into_response())
}

// ---------------------------------------------------------------- compare and merge

/// One line of the comparison: a field's value on each record.
pub struct FieldRow {
    pub field: String,
    pub label: String,
    pub a: String,
    pub b: String,
    /// The values differ: the reviewer picks one.
    pub differs: bool,
    /// The side picked unless the reviewer changes it.
    pub takes_b: bool,
}

pub struct Record {
    pub id: String,
    pub name: String,
    pub contacts: usize,
    pub interactions: usize,
    pub tags: String,
}

#[derive(Template)]
#[template(path = "duplicate_compare.html")]
struct ComparePage {
    chrome: Chrome,
    a: Record,
    b: Record,
    rows: Vec<FieldRow>,
    can_merge: bool,
    can_dismiss: bool,
}

/// The value of a field of a record as shown on the comparison.
fn shown(
    u: &WebUser,
    c: &Customer,
    field: &str,
    names: &HashMap<String, String>,
) -> Option<String> {
    let lang = u.lang;
    let text = if let Some(key) = field.strip_prefix("custom.") {
        c.custom.get(key).map(json_text)
    } else if let Some(ch) = field.strip_prefix("consent.") {
        let ch = ConsentChannel::parse(ch).ok()?;
        c.consents.get(&ch).map(|s| s.code().to_string())
    } else {
        match field {
            "mobile" => phone_for(&u.principal, &c.fields.mobile).0,
            "referred_by" => c.referred_by_name.clone(),
            _ => field_text(&c.fields.to_input(), field),
        }
    };
    text.filter(|t| !t.trim().is_empty())
        .map(|t| field_value(field, &t, lang, names))
}

/// Whether `field` is a consent the customer withdrew.
fn withdrawn(c: &Customer, field: &str) -> bool {
    field
        .strip_prefix("consent.")
        .and_then(|ch| ConsentChannel::parse(ch).ok())
        .is_some_and(|ch| c.consents.get(&ch) == Some(&ConsentStatus::Withdrawn))
}

pub async fn compare(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<Pair>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let (a_id, b_id) = (parse_id(&q.a, lang)?, parse_id(&q.b, lang)?);
    let a = customers::get(&s.db, &u.principal, &a_id)
        .await
        .page(lang)?;
    let b = customers::get(&s.db, &u.principal, &b_id)
        .await
        .page(lang)?;
    let defs = fields::all(&s.db).await.page(lang)?;
    let names: HashMap<String, String> = auth::users(&s.db)
        .await
        .page(lang)?
        .into_iter()
        .map(|x| (x.id.to_string(), x.name))
        .collect();
    let mut all_fields: Vec<String> = MERGE_FIELDS.iter().map(|f| f.to_string()).collect();
    let custom: BTreeSet<&String> = a.custom.keys().chain(b.custom.keys()).collect();
    all_fields.extend(custom.into_iter().map(|k| format!("custom.{k}")));
    all_fields.extend(
        ConsentChannel::ALL
            .iter()
            .map(|c| format!("consent.{}", c.code())),
    );
    let rows = all_fields
        .into_iter()
        .filter_map(|field| {
            let (va, vb) = (shown(&u, &a, &field, &names), shown(&u, &b, &field, &names));
            if va.is_none() && vb.is_none() {
                return None;
            }
            // As the merge decides without a choice: A's value unless it
            // has none; a withdrawn consent on either side.
            let takes_b = va.is_none() || withdrawn(&b, &field);
            Some(FieldRow {
                label: field_label(&field, lang, &defs),
                differs: va != vb,
                a: va.unwrap_or_default(),
                b: vb.unwrap_or_default(),
                takes_b,
                field,
            })
        })
        .collect();
    let side = |c: &Customer, contacts: usize, interactions: usize| Record {
        id: c.id.to_string(),
        name: c.fields.name.clone(),
        contacts,
        interactions,
        tags: c
            .tags
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let count = |id: &CustomerId| {
        let (db, p, id) = (s.db.clone(), u.principal.clone(), id.clone());
        async move {
            let c = contacts::list(&db, &p, &id).await?.len();
            let i = interactions::list(&db, &p, &id, 1000).await?.len();
            Ok::<_, kehu_store::Error>((c, i))
        }
    };
    let (ac, ai) = count(&a.id).await.page(lang)?;
    let (bc, bi) = count(&b.id).await.page(lang)?;
    Ok(render(&ComparePage {
        chrome: Chrome::new(&u, "duplicates", s.config.timezone),
        can_merge: u.principal.can_merge(&a.placement(), &b.placement()),
        can_dismiss: u.principal.role.can_review_duplicates(),
        a: side(&a, ac, ai),
        b: side(&b, bc, bi),
        rows,
    }))
}

/// Merges the compared pair: `survivor` is `a` or `b`, and each
/// `choice.FIELD` names the record (`a` or `b`) whose value survives.
pub async fn merge(
    State(s): State<AppState>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let p = Posted::new(pairs);
    let (a, b) = (parse_id(&p.get("a"), lang)?, parse_id(&p.get("b"), lang)?);
    let keep_b = match p.get("survivor").as_str() {
        "a" => false,
        "b" => true,
        _ => return Err(PageError::bad_form(lang, "survivor")),
    };
    let (survivor, merged) = if keep_b { (b, a) } else { (a, b) };
    let mut choices = Choices::new();
    for (k, v) in &p.0 {
        let Some(field) = k.strip_prefix("choice.") else {
            continue;
        };
        let side = match (v.as_str(), keep_b) {
            ("a", false) | ("b", true) => Side::Survivor,
            ("a", true) | ("b", false) => Side::Merged,
            _ => return Err(PageError::bad_form(lang, k)),
        };
        choices.insert(field.to_string(), side);
    }
    merge::merge(&s.db, &u.principal, &survivor, &merged, &choices)
        .await
        .page(lang)?;
    Ok(Redirect::to(&format!("/customers/{survivor}")).into_response())
}
