//! Contacts of an organisation, each with a role in the buying decision.

use crate::audit::{self, Actor, Entry};
use crate::customers;
use crate::db::{Arg, Query};
use crate::{Db, Error, Result};
use kehu_domain::customer::{ContactFields, ContactRole, CustomerKind};
use kehu_domain::ids::{ContactId, CustomerId};
use kehu_domain::mobile::Mobile;
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Problem};
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Row {
    id: String,
    customer_id: String,
    name: String,
    position: Option<String>,
    role: String,
    mobile: Option<String>,
    email: Option<String>,
    wechat: Option<String>,
    birthday: Option<String>,
    preferences: Option<String>,
    notes: Option<String>,
    created_at: i64,
    updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct Contact {
    pub id: ContactId,
    pub customer_id: CustomerId,
    pub fields: ContactFields,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Row {
    pub(crate) fn into_contact(self) -> Result<Contact> {
        Ok(Contact {
            id: self.id.parse().map_err(Error::Other)?,
            customer_id: self.customer_id.parse().map_err(Error::Other)?,
            fields: ContactFields {
                name: self.name,
                position: self.position,
                role: ContactRole::parse(&self.role).unwrap_or(ContactRole::Other),
                mobile: self.mobile.map(Mobile::from_stored),
                email: self.email,
                wechat: self.wechat,
                birthday: self
                    .birthday
                    .and_then(|s| chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()),
                preferences: self.preferences,
                notes: self.notes,
            },
            created_at: Timestamp::from_millis(self.created_at).unwrap_or_else(Timestamp::now),
            updated_at: Timestamp::from_millis(self.updated_at).unwrap_or_else(Timestamp::now),
        })
    }
}

pub(crate) fn snapshot(f: &ContactFields) -> Map<String, Value> {
    let mut m = json!({
        "name": f.name, "position": f.position, "role": f.role.code(),
        "mobile": f.mobile.as_ref().map(|m| m.as_str()), "email": f.email, "wechat": f.wechat,
        "birthday": f.birthday.map(|d| d.to_string()), "preferences": f.preferences, "notes": f.notes,
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    m.retain(|_, v| !v.is_null());
    m
}

pub(crate) const SELECT: &str = "SELECT id, customer_id, name, position, role, mobile, email, wechat, birthday, preferences, notes, created_at, updated_at FROM contacts";

/// Contacts of a customer the principal may read; decision makers first.
pub async fn list(db: &Db, by: &Principal, customer: &CustomerId) -> Result<Vec<Contact>> {
    customers::get(db, by, customer).await?;
    let rows: Vec<Row> = db
        .conn()
        .fetch_all(
            Query::new(format!(
                "{SELECT} WHERE customer_id = $1 ORDER BY CASE role WHEN 'decision_maker' THEN 0 WHEN 'influencer' THEN 1 ELSE 2 END, name"
            ))
            .bind(customer),
        )
        .await?;
    rows.into_iter().map(Row::into_contact).collect()
}

/// One contact, if the principal may read its customer.
pub async fn get(db: &Db, by: &Principal, id: &ContactId) -> Result<Contact> {
    let row: Row = db
        .conn()
        .fetch_one(Query::new(format!("{SELECT} WHERE id = $1")).bind(id))
        .await?;
    let c = row.into_contact()?;
    customers::get(db, by, &c.customer_id).await?;
    Ok(c)
}

/// Why a person cannot be given a contact.
pub(crate) fn only_organisations(field: &str) -> FieldErrors {
    FieldErrors::single(
        field,
        Problem::Invalid {
            zh: "只有企业客户可以添加联系人".into(),
            en: "only organisations have contacts".into(),
        },
    )
}

/// The stored columns of a contact's fields, in [`FIELD_COLUMNS`] order.
pub(crate) fn field_args(f: &ContactFields) -> Vec<Arg> {
    vec![
        f.name.as_str().into(),
        f.position.clone().into(),
        f.role.code().into(),
        f.mobile.as_ref().map(|m| m.as_str()).into(),
        f.email.clone().into(),
        f.wechat.clone().into(),
        f.birthday.map(|d| d.format("%Y-%m-%d").to_string()).into(),
        f.preferences.clone().into(),
        f.notes.clone().into(),
    ]
}

pub(crate) const FIELD_COLUMNS: &str =
    "name, position, role, mobile, email, wechat, birthday, preferences, notes";

/// `UPDATE` of a contact's fields.
pub(crate) fn update_query(id: &ContactId, f: &ContactFields, now: Timestamp) -> Query {
    let mut q = Query::new(
        "UPDATE contacts SET name = $1, position = $2, role = $3, mobile = $4, email = $5, wechat = $6, birthday = $7, \
         preferences = $8, notes = $9, updated_at = $11 WHERE id = $10",
    );
    q.args = field_args(f);
    q.bind(id).bind(now)
}

pub async fn create(
    db: &Db,
    by: &Principal,
    customer: &CustomerId,
    f: ContactFields,
) -> Result<Contact> {
    let c = customers::get(db, by, customer).await?;
    if !by.can_write(&c.placement()) {
        return Err(Error::Forbidden);
    }
    if c.fields.kind != CustomerKind::Organization {
        return Err(only_organisations("customer_id").into());
    }
    let id = ContactId::new();
    let now = Timestamp::now();
    let mut tx = db.begin().await?;
    let mut q = Query::new(format!(
        "INSERT INTO contacts ({FIELD_COLUMNS}, id, customer_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)"
    ));
    q.args = field_args(&f);
    tx.execute(q.bind(&id).bind(customer).bind(now)).await?;
    crate::search::reindex(&mut tx, &[customer]).await?;
    audit::record(
        &mut tx,
        &Actor::from(by),
        Entry {
            action: "create",
            entity: "contact",
            entity_id: id.as_str(),
            customer_id: Some(customer),
            changes: audit::created(&snapshot(&f)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Contact {
        id,
        customer_id: customer.clone(),
        fields: f,
        created_at: now,
        updated_at: now,
    })
}

pub async fn update(db: &Db, by: &Principal, id: &ContactId, f: ContactFields) -> Result<Contact> {
    let before = get(db, by, id).await?;
    let c = customers::get(db, by, &before.customer_id).await?;
    if !by.can_write(&c.placement()) {
        return Err(Error::Forbidden);
    }
    let now = Timestamp::now();
    let mut tx = db.begin().await?;
    tx.execute(update_query(id, &f, now)).await?;
    if f.name != before.fields.name {
        crate::search::reindex(&mut tx, &[&before.customer_id]).await?;
    }
    let changes = audit::diff(&snapshot(&before.fields), &snapshot(&f));
    if !changes.is_empty() {
        audit::record(
            &mut tx,
            &Actor::from(by),
            Entry {
                action: "update",
                entity: "contact",
                entity_id: id.as_str(),
                customer_id: Some(&before.customer_id),
                changes,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Contact {
        fields: f,
        updated_at: now,
        ..before
    })
}

pub async fn delete(db: &Db, by: &Principal, id: &ContactId) -> Result<()> {
    let before = get(db, by, id).await?;
    let c = customers::get(db, by, &before.customer_id).await?;
    if !by.can_write(&c.placement()) {
        return Err(Error::Forbidden);
    }
    let mut tx = db.begin().await?;
    tx.execute(Query::new("DELETE FROM contacts WHERE id = $1").bind(id))
        .await?;
    crate::search::reindex(&mut tx, &[&before.customer_id]).await?;
    audit::record(
        &mut tx,
        &Actor::from(by),
        Entry {
            action: "delete",
            entity: "contact",
            entity_id: id.as_str(),
            customer_id: Some(&before.customer_id),
            changes: audit::diff(&snapshot(&before.fields), &Map::new()),
        },
    )
    .await?;
    tx.commit().await
}
