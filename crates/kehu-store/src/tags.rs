//! Tags: free labels on customers. Applying an unknown tag creates it.

use crate::audit::{self, Actor, Entry};
use crate::db::{Query, Tx};
use crate::{Db, Error, Result};
use kehu_domain::ids::{CustomerId, TagId};
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use kehu_domain::{text, FieldErrors};
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Tag {
    pub id: String,
    pub name: String,
}

/// A tag with the number of (live) customers carrying it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TagCount {
    pub id: String,
    pub name: String,
    pub customers: i64,
}

/// Gives a customer a tag. The link holds the customer's sort keys (see
/// migration 0014), copied from its row.
pub(crate) async fn link(tx: &mut Tx, customer: &CustomerId, tag_id: &str) -> Result<()> {
    tx.execute(
        Query::new(
            "INSERT INTO customer_tags (customer_id, tag_id, created_at, updated_at, name_pinyin) \
             SELECT c.id, $2, c.created_at, c.updated_at, c.name_pinyin FROM customers c WHERE c.id = $1",
        )
        .bind(customer)
        .bind(tag_id),
    )
    .await?;
    Ok(())
}

pub async fn all(db: &Db) -> Result<Vec<TagCount>> {
    db.conn()
        .fetch_all(Query::new(
            "SELECT t.id, t.name, COUNT(c.id) AS customers FROM tags t \
             LEFT JOIN customer_tags ct ON ct.tag_id = t.id \
             LEFT JOIN customers c ON c.id = ct.customer_id AND c.deleted_at IS NULL \
             GROUP BY t.id, t.name ORDER BY t.name",
        ))
        .await
}

/// Every tag, by name (for choosing one; [`all`] also counts customers).
pub async fn names(db: &Db) -> Result<Vec<Tag>> {
    db.conn()
        .fetch_all(Query::new("SELECT id, name FROM tags ORDER BY name"))
        .await
}

/// Parses a list of tag names: trimmed, at most 30 characters each, no
/// duplicates, at most 50.
pub fn parse_names<S: AsRef<str>>(raw: &[S]) -> Result<Vec<String>, FieldErrors> {
    let mut out: Vec<String> = Vec::new();
    for r in raw {
        match text::optional(r.as_ref(), 30) {
            Ok(Some(n)) => {
                if !out.contains(&n) {
                    out.push(n)
                }
            }
            Ok(None) => {}
            Err(p) => return Err(FieldErrors::single("tags", p)),
        }
    }
    if out.len() > 50 {
        return Err(FieldErrors::single(
            "tags",
            kehu_domain::Problem::TooLong { max: 50 },
        ));
    }
    Ok(out)
}

/// Splits "a, b，c" as typed in a form.
pub fn split(raw: &str) -> Vec<String> {
    raw.split([',', '，', ';', '；'])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The ids of these tag names, creating the missing ones.
pub async fn ensure(tx: &mut Tx, actor: &Actor, names: &[String]) -> Result<Vec<Tag>> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let found: Option<Tag> = tx
            .fetch_optional(Query::new("SELECT id, name FROM tags WHERE name = $1").bind(name))
            .await?;
        let tag = match found {
            Some(t) => t,
            None => {
                let id = TagId::new();
                tx.execute(
                    Query::new("INSERT INTO tags (id, name, created_at) VALUES ($1, $2, $3)")
                        .bind(&id)
                        .bind(name)
                        .bind(Timestamp::now()),
                )
                .await?;
                audit::record(
                    tx,
                    actor,
                    Entry {
                        action: "create",
                        entity: "tag",
                        entity_id: id.as_str(),
                        customer_id: None,
                        changes: audit::created(json!({"name": name}).as_object().unwrap()),
                    },
                )
                .await?;
                Tag {
                    id: id.to_string(),
                    name: name.clone(),
                }
            }
        };
        out.push(tag);
    }
    Ok(out)
}

pub async fn create(db: &Db, by: &Principal, name: &str) -> Result<Tag> {
    if !by.role.can_write_customers() {
        return Err(Error::Forbidden);
    }
    let names = parse_names(&[name])?;
    let Some(_) = names.first() else {
        return Err(FieldErrors::single("name", kehu_domain::Problem::Required).into());
    };
    let mut tx = db.begin().await?;
    let t = ensure(&mut tx, &Actor::from(by), &names).await?.remove(0);
    tx.commit().await?;
    Ok(t)
}

/// Deletes a tag everywhere (admins).
pub async fn delete(db: &Db, by: &Principal, id: &str) -> Result<()> {
    if !by.role.is_admin() {
        return Err(Error::Forbidden);
    }
    let mut tx = db.begin().await?;
    let t: Tag = tx
        .fetch_one(Query::new("SELECT id, name FROM tags WHERE id = $1").bind(id))
        .await?;
    tx.execute(Query::new("DELETE FROM customer_tags WHERE tag_id = $1").bind(id))
        .await?;
    tx.execute(Query::new("DELETE FROM tags WHERE id = $1").bind(id))
        .await?;
    audit::record(
        &mut tx,
        &Actor::from(by),
        Entry {
            action: "delete",
            entity: "tag",
            entity_id: id,
            customer_id: None,
            changes: audit::diff(
                json!({"name": t.name}).as_object().unwrap(),
                &Default::default(),
            ),
        },
    )
    .await?;
    tx.commit().await
}
