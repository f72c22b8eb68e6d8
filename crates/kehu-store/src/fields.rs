//! Custom field definitions, managed by admins.

use crate::audit::{self, Actor, Entry};
use crate::db::Query;
use crate::{Db, Error, Result};
use kehu_domain::custom_field::{parse_key, parse_options, FieldKind, FieldRule};
use kehu_domain::ids::FieldId;
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use kehu_domain::{text, FieldErrors, Problem};
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    id: String,
    key: String,
    label: String,
    kind: String,
    options: String,
    required: bool,
    position: i64,
    active: bool,
}

/// A custom field definition.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldDef {
    pub id: String,
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    pub options: Vec<String>,
    pub required: bool,
    pub position: i64,
    pub active: bool,
}

impl FieldDef {
    pub fn rule(&self) -> FieldRule {
        FieldRule {
            key: self.key.clone(),
            kind: self.kind,
            options: self.options.clone(),
            required: self.required,
        }
    }
}

impl From<Row> for FieldDef {
    fn from(r: Row) -> Self {
        FieldDef {
            id: r.id,
            key: r.key,
            label: r.label,
            kind: FieldKind::parse(&r.kind).unwrap_or(FieldKind::Text),
            options: serde_json::from_str(&r.options).unwrap_or_default(),
            required: r.required,
            position: r.position,
            active: r.active,
        }
    }
}

const SELECT: &str =
    "SELECT id, key, label, kind, options, required, position, active FROM custom_fields";

pub async fn all(db: &Db) -> Result<Vec<FieldDef>> {
    let rows: Vec<Row> = db
        .conn()
        .fetch_all(Query::new(format!("{SELECT} ORDER BY position, key")))
        .await?;
    Ok(rows.into_iter().map(FieldDef::from).collect())
}

pub async fn active(db: &Db) -> Result<Vec<FieldDef>> {
    Ok(all(db).await?.into_iter().filter(|f| f.active).collect())
}

/// A definition as sent by a form or API call.
#[derive(Debug, Clone, Default)]
pub struct FieldInput {
    pub key: String,
    pub label: String,
    pub kind: String,
    /// One option per line or comma-separated (choice fields).
    pub options: String,
    pub required: bool,
    pub position: i64,
    pub active: bool,
}

struct Parsed {
    key: String,
    label: String,
    kind: FieldKind,
    options: Vec<String>,
}

fn parse(i: &FieldInput) -> Result<Parsed, FieldErrors> {
    let mut e = FieldErrors::new();
    let key = e.take("key", parse_key(&i.key));
    let label = e.take("label", text::required(&i.label, 50));
    let kind = e.take("kind", FieldKind::parse(&i.kind));
    let options = parse_options(&i.options);
    if kind == Some(FieldKind::Choice) && options.is_empty() {
        e.add("options", Problem::Required);
    }
    e.clone().into_result()?;
    Ok(Parsed {
        key: key.unwrap(),
        label: label.unwrap(),
        kind: kind.unwrap(),
        options,
    })
}

fn snapshot(f: &FieldDef) -> serde_json::Map<String, serde_json::Value> {
    json!({"key": f.key, "label": f.label, "kind": f.kind.code(), "options": f.options,
           "required": f.required, "position": f.position, "active": f.active})
    .as_object()
    .cloned()
    .unwrap_or_default()
}

pub async fn get(db: &Db, id: &str) -> Result<FieldDef> {
    let r: Row = db
        .conn()
        .fetch_one(Query::new(format!("{SELECT} WHERE id = $1")).bind(id))
        .await?;
    Ok(r.into())
}

pub async fn create(db: &Db, by: &Principal, i: &FieldInput) -> Result<FieldDef> {
    if !by.role.is_admin() {
        return Err(Error::Forbidden);
    }
    let p = parse(i)?;
    let mut tx = db.begin().await?;
    if tx
        .scalar(Query::new("SELECT COUNT(*) FROM custom_fields WHERE key = $1").bind(&p.key))
        .await?
        > 0
    {
        return Err(FieldErrors::single("key", Problem::Taken).into());
    }
    let id = FieldId::new();
    tx.execute(
        Query::new("INSERT INTO custom_fields (id, key, label, kind, options, required, position, active, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)")
            .bind(&id)
            .bind(&p.key)
            .bind(&p.label)
            .bind(p.kind.code())
            .bind(serde_json::to_string(&p.options).unwrap())
            .bind(i.required)
            .bind(i.position)
            .bind(i.active)
            .bind(Timestamp::now()),
    )
    .await?;
    let r: Row = tx
        .fetch_one(Query::new(format!("{SELECT} WHERE id = $1")).bind(&id))
        .await?;
    let f = FieldDef::from(r);
    audit::record(
        &mut tx,
        &Actor::from(by),
        Entry {
            action: "create",
            entity: "custom_field",
            entity_id: id.as_str(),
            customer_id: None,
            changes: audit::created(&snapshot(&f)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(f)
}

/// Updates a definition. The key and the kind cannot change once values
/// exist under them; the label, options, order and flags can.
pub async fn update(db: &Db, by: &Principal, id: &str, i: &FieldInput) -> Result<FieldDef> {
    if !by.role.is_admin() {
        return Err(Error::Forbidden);
    }
    let before = get(db, id).await?;
    let mut input = i.clone();
    input.key = before.key.clone();
    input.kind = before.kind.code().into();
    let p = parse(&input)?;
    let mut tx = db.begin().await?;
    tx.execute(
        Query::new("UPDATE custom_fields SET label = $2, options = $3, required = $4, position = $5, active = $6 WHERE id = $1")
            .bind(id)
            .bind(&p.label)
            .bind(serde_json::to_string(&p.options).unwrap())
            .bind(i.required)
            .bind(i.position)
            .bind(i.active),
    )
    .await?;
    let r: Row = tx
        .fetch_one(Query::new(format!("{SELECT} WHERE id = $1")).bind(id))
        .await?;
    let after = FieldDef::from(r);
    audit::record(
        &mut tx,
        &Actor::from(by),
        Entry {
            action: "update",
            entity: "custom_field",
            entity_id: id,
            customer_id: None,
            changes: audit::diff(&snapshot(&before), &snapshot(&after)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}
