//! Products: the catalogue that order lines name, each with a SKU, a
//! warranty and a price history. A new price is a new row of
//! `product_prices` (the old ones stay); the price in force at a time is
//! the one with the latest `valid_from` not after it. Anyone signed in reads
//! the catalogue; managers and admins change it, and every change is
//! audited.

use crate::audit::{self, Actor, Entry};
use crate::db::Query;
use crate::{Db, Error, Result, Tx};
use kehu_domain::ids::{new_id, ProductId, UserId};
use kehu_domain::money::Fen;
use kehu_domain::order::{NewPrice, ProductFields, ProductRef};
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Problem};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// A product as listed and returned by the API.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Product {
    pub id: ProductId,
    pub sku: String,
    pub name: String,
    pub category: Option<String>,
    /// Whole months from the order time; 0 for none.
    pub warranty_months: i64,
    /// Offered for new orders.
    pub active: bool,
    /// The price in force now, in fen (none before a first price).
    pub price_fen: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The price history, newest first (on `GET /products/{id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prices: Option<Vec<Price>>,
}

impl Product {
    pub fn price(&self) -> Option<Fen> {
        self.price_fen.map(Fen)
    }
}

/// One price of a product's history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Price {
    pub id: String,
    pub price_fen: i64,
    /// From when it applies.
    pub valid_from: Timestamp,
    /// In force now (the latest that has begun).
    pub current: bool,
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    pub created_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    sku: String,
    name: String,
    category: Option<String>,
    warranty_months: i64,
    active: bool,
    price_fen: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl Row {
    fn into_product(self) -> Result<Product> {
        Ok(Product {
            id: self.id.parse().map_err(Error::Other)?,
            sku: self.sku,
            name: self.name,
            category: self.category,
            warranty_months: self.warranty_months,
            active: self.active,
            price_fen: self.price_fen,
            created_at: Timestamp::from_millis(self.created_at).unwrap_or_else(Timestamp::now),
            updated_at: Timestamp::from_millis(self.updated_at).unwrap_or_else(Timestamp::now),
            prices: None,
        })
    }
}

/// The columns of a product with its price at `$1`.
const SELECT: &str = "SELECT p.id, p.sku, p.name, p.category, p.warranty_months, p.active, \
     (SELECT pp.price_fen FROM product_prices pp WHERE pp.product_id = p.id AND pp.valid_from <= $1 \
      ORDER BY pp.valid_from DESC, pp.id DESC LIMIT 1) AS price_fen, \
     p.created_at, p.updated_at FROM products p";

fn may_manage(by: &Principal) -> Result<()> {
    if by.role.can_manage_products() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// Every product (only those offered, with `active_only`), offered first,
/// then by SKU, with the prices in force at `now`.
pub async fn list(db: &Db, active_only: bool, now: Timestamp) -> Result<Vec<Product>> {
    let mut q = Query::new(SELECT).bind(now);
    if active_only {
        q.push(" WHERE p.active = ").push_arg(true);
    }
    q.push(" ORDER BY p.active DESC, p.sku");
    let rows: Vec<Row> = db.conn().fetch_all(q).await?;
    rows.into_iter().map(Row::into_product).collect()
}

async fn load_tx(tx: &mut Tx, id: &ProductId, now: Timestamp) -> Result<Product> {
    let row: Option<Row> = tx
        .fetch_optional(
            Query::new(format!("{SELECT} WHERE p.id = $2"))
                .bind(now)
                .bind(id),
        )
        .await?;
    row.ok_or(Error::NotFound)?.into_product()
}

/// A product with its price history, newest first.
pub async fn get(db: &Db, id: &ProductId, now: Timestamp) -> Result<Product> {
    let row: Option<Row> = db
        .conn()
        .fetch_optional(
            Query::new(format!("{SELECT} WHERE p.id = $2"))
                .bind(now)
                .bind(id),
        )
        .await?;
    let mut p = row.ok_or(Error::NotFound)?.into_product()?;
    let rows: Vec<PriceRow> = db
        .conn()
        .fetch_all(
            Query::new(
                "SELECT pp.id, pp.price_fen, pp.valid_from, pp.user_id, u.name, pp.created_at \
                 FROM product_prices pp LEFT JOIN users u ON u.id = pp.user_id \
                 WHERE pp.product_id = $1 ORDER BY pp.valid_from DESC, pp.id DESC",
            )
            .bind(id),
        )
        .await?;
    let current = rows
        .iter()
        .find(|r| r.2 <= now.millis())
        .map(|r| r.0.clone());
    p.prices = Some(
        rows.into_iter()
            .map(|(id, price, from, user, user_name, created)| Price {
                current: Some(&id) == current.as_ref(),
                id,
                price_fen: price,
                valid_from: Timestamp::from_millis(from).unwrap_or(now),
                user_id: user.and_then(|u| u.parse().ok()),
                user_name,
                created_at: Timestamp::from_millis(created).unwrap_or(now),
            })
            .collect(),
    );
    Ok(p)
}

/// id, price, valid from, user id, user name, created at.
type PriceRow = (String, i64, i64, Option<String>, Option<String>, i64);

/// What order lines need of these products: name, price now, warranty,
/// whether still offered.
pub(crate) async fn refs(
    tx: &mut Tx,
    ids: &[ProductId],
    now: Timestamp,
) -> Result<HashMap<ProductId, ProductRef>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let mut q = Query::new(format!("{SELECT} WHERE p.id IN ")).bind(now);
        q.push_list(chunk);
        let rows: Vec<Row> = tx.fetch_all(q).await?;
        for r in rows {
            let p = r.into_product()?;
            out.insert(
                p.id.clone(),
                ProductRef {
                    name: p.name,
                    price: p.price_fen.map(Fen),
                    warranty_months: u32::try_from(p.warranty_months).unwrap_or(0),
                    active: p.active,
                },
            );
        }
    }
    Ok(out)
}

/// A product found by its SKU, as imports name it.
#[derive(Debug, Clone)]
pub(crate) struct BySku {
    pub id: ProductId,
    pub name: String,
    pub warranty_months: u32,
}

/// The products with these SKUs (whether offered or not).
pub(crate) async fn by_sku(tx: &mut Tx, skus: &[&str]) -> Result<HashMap<String, BySku>> {
    let mut out = HashMap::new();
    for chunk in skus.chunks(500) {
        let mut q = Query::new("SELECT id, sku, name, warranty_months FROM products WHERE sku IN ");
        q.push_list(chunk.iter().copied());
        let rows: Vec<(String, String, String, i64)> = tx.fetch_all(q).await?;
        for (id, sku, name, months) in rows {
            out.insert(
                sku,
                BySku {
                    id: id.parse().map_err(Error::Other)?,
                    name,
                    warranty_months: u32::try_from(months).unwrap_or(0),
                },
            );
        }
    }
    Ok(out)
}

fn snapshot(p: &Product) -> Map<String, Value> {
    json!({
        "sku": p.sku, "name": p.name, "category": p.category,
        "warranty_months": p.warranty_months, "active": p.active,
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

fn fields_snapshot(f: &ProductFields) -> Map<String, Value> {
    json!({
        "sku": f.sku, "name": f.name, "category": f.category,
        "warranty_months": f.warranty_months, "active": f.active,
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

/// Refuses a SKU another product has.
async fn check_sku(tx: &mut Tx, sku: &str, except: Option<&ProductId>) -> Result<()> {
    let other: Option<(String,)> = tx
        .fetch_optional(Query::new("SELECT id FROM products WHERE sku = $1").bind(sku))
        .await?;
    match other {
        Some((id,)) if Some(id.as_str()) != except.map(ProductId::as_str) => {
            Err(FieldErrors::single("sku", Problem::Taken).into())
        }
        _ => Ok(()),
    }
}

async fn insert_price(
    tx: &mut Tx,
    by: &Principal,
    id: &ProductId,
    price: &NewPrice,
    now: Timestamp,
) -> Result<()> {
    tx.execute(
        Query::new(
            "INSERT INTO product_prices (id, product_id, price_fen, valid_from, user_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new_id())
        .bind(id)
        .bind(price.price.0)
        .bind(price.valid_from)
        .bind(&by.user_id)
        .bind(now),
    )
    .await?;
    Ok(())
}

/// Adds a product (managers and admins); its price, when given, applies
/// from `now`.
pub async fn create(db: &Db, by: &Principal, f: &ProductFields, now: Timestamp) -> Result<Product> {
    may_manage(by)?;
    let id = ProductId::new();
    let mut tx = db.begin().await?;
    check_sku(&mut tx, &f.sku, None).await?;
    tx.execute(
        Query::new(
            "INSERT INTO products (id, sku, name, category, warranty_months, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&id)
        .bind(&f.sku)
        .bind(&f.name)
        .bind(f.category.clone())
        .bind(i64::from(f.warranty_months))
        .bind(f.active)
        .bind(now),
    )
    .await?;
    let mut changes = fields_snapshot(f);
    if let Some(price) = f.price {
        insert_price(
            &mut tx,
            by,
            &id,
            &NewPrice {
                price,
                valid_from: now,
            },
            now,
        )
        .await?;
        changes.insert("price_fen".into(), json!(price.0));
    }
    audit::record(
        &mut tx,
        &Actor::from(by),
        Entry {
            action: "create",
            entity: "product",
            entity_id: id.as_str(),
            customer_id: None,
            changes: audit::created(&changes),
        },
    )
    .await?;
    let p = load_tx(&mut tx, &id, now).await?;
    tx.commit().await?;
    Ok(p)
}

/// Changes a product's fields (managers and admins). A price given that
/// differs from the one in force becomes the price from `now`, as
/// [`set_price`] would make it.
pub async fn update(
    db: &Db,
    by: &Principal,
    id: &ProductId,
    f: &ProductFields,
    now: Timestamp,
) -> Result<Product> {
    may_manage(by)?;
    let mut tx = db.begin().await?;
    let before = load_tx(&mut tx, id, now).await?;
    check_sku(&mut tx, &f.sku, Some(id)).await?;
    tx.execute(
        Query::new(
            "UPDATE products SET sku = $2, name = $3, category = $4, warranty_months = $5, active = $6, \
             updated_at = $7 WHERE id = $1",
        )
        .bind(id)
        .bind(&f.sku)
        .bind(&f.name)
        .bind(f.category.clone())
        .bind(i64::from(f.warranty_months))
        .bind(f.active)
        .bind(now),
    )
    .await?;
    let changes = audit::diff(&snapshot(&before), &fields_snapshot(f));
    if !changes.is_empty() {
        audit::record(
            &mut tx,
            &Actor::from(by),
            Entry {
                action: "update",
                entity: "product",
                entity_id: id.as_str(),
                customer_id: None,
                changes,
            },
        )
        .await?;
    }
    if let Some(price) = f.price.filter(|p| Some(*p) != before.price()) {
        priced(
            &mut tx,
            by,
            &before,
            &NewPrice {
                price,
                valid_from: now,
            },
            now,
        )
        .await?;
    }
    let p = load_tx(&mut tx, id, now).await?;
    tx.commit().await?;
    Ok(p)
}

/// Writes a new price row and its audit entry (the price in force before,
/// and the new one with when it applies).
async fn priced(
    tx: &mut Tx,
    by: &Principal,
    before: &Product,
    price: &NewPrice,
    now: Timestamp,
) -> Result<()> {
    insert_price(tx, by, &before.id, price, now).await?;
    audit::record(
        tx,
        &Actor::from(by),
        Entry {
            action: "price",
            entity: "product",
            entity_id: before.id.as_str(),
            customer_id: None,
            changes: vec![
                audit::Change {
                    field: "price_fen".into(),
                    old: json!(before.price_fen),
                    new: json!(price.price.0),
                },
                audit::Change {
                    field: "valid_from".into(),
                    old: Value::Null,
                    new: json!(price.valid_from.rfc3339()),
                },
            ],
        },
    )
    .await
}

/// Gives a product a new price from `price.valid_from` (managers and
/// admins); the history keeps the earlier ones. Returns the product with
/// its history.
pub async fn set_price(
    db: &Db,
    by: &Principal,
    id: &ProductId,
    price: &NewPrice,
    now: Timestamp,
) -> Result<Product> {
    may_manage(by)?;
    let mut tx = db.begin().await?;
    let before = load_tx(&mut tx, id, now).await?;
    tx.execute(
        Query::new("UPDATE products SET updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now),
    )
    .await?;
    priced(&mut tx, by, &before, price, now).await?;
    tx.commit().await?;
    get(db, id, now).await
}
