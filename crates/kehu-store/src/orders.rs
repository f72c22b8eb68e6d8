//! Orders with their lines: a customer's purchase history. An order is
//! written with its lines in one transaction, with the totals the customer
//! paid (`amount_fen`, net of every discount) and the discounts given
//! (`discount_fen`), so the readers of `orders` alone (the customer-value
//! models, scores) need not read the lines. Orders follow the customer's
//! scope: whoever may read the customer reads its orders, whoever may write
//! it adds them; an admin or the order's creator deletes one.

use crate::audit::{self, Actor, Entry};
use crate::customers;
use crate::db::{Arg, Query};
use crate::{products, Db, Error, Result, Tx};
use kehu_domain::ids::{new_id, CustomerId, OrderId, ProductId, UserId};
use kehu_domain::order::{NewOrder, OrderInput};
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Problem};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// An order as shown and returned by the API.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Order {
    pub id: OrderId,
    pub customer_id: CustomerId,
    /// Its number in the system it came from, if any.
    pub order_no: Option<String>,
    pub ordered_at: Timestamp,
    /// What the customer paid, in fen, after every discount (negative for
    /// a refund).
    pub amount_fen: i64,
    /// Every discount given on the order, in fen (its lines' and its own).
    pub discount_fen: i64,
    /// The value at list prices: `amount_fen + discount_fen`.
    pub list_fen: i64,
    /// Items over all lines.
    pub quantity: i64,
    /// What was bought, in words (the lines' descriptions).
    pub product: Option<String>,
    pub notes: Option<String>,
    /// Who entered or imported it.
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    pub created_at: Timestamp,
    /// The lines in the order given (none for an order imported without a
    /// product code).
    pub lines: Vec<OrderLine>,
}

impl Order {
    /// The discount on the whole order: the order's discounts less its
    /// lines'.
    pub fn order_discount_fen(&self) -> i64 {
        self.discount_fen - self.lines.iter().map(|l| l.discount_fen).sum::<i64>()
    }
}

/// A line of an order.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderLine {
    pub id: String,
    pub product_id: Option<ProductId>,
    pub sku: Option<String>,
    pub description: String,
    pub quantity: i64,
    pub unit_price_fen: i64,
    pub discount_fen: i64,
    /// `quantity × unit_price_fen − discount_fen`.
    pub amount_fen: i64,
    /// The end of the product's warranty.
    pub warranty_until: Option<Timestamp>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    customer_id: String,
    external_id: Option<String>,
    ordered_at: i64,
    amount_fen: i64,
    discount_fen: i64,
    quantity: i64,
    product: Option<String>,
    notes: Option<String>,
    user_id: Option<String>,
    user_name: Option<String>,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    order_id: String,
    id: String,
    product_id: Option<String>,
    sku: Option<String>,
    description: String,
    quantity: i64,
    unit_price_fen: i64,
    discount_fen: i64,
    amount_fen: i64,
    warranty_until: Option<i64>,
}

const SELECT: &str =
    "SELECT o.id, o.customer_id, o.external_id, o.ordered_at, o.amount_fen, o.discount_fen, \
     o.quantity, o.product, o.notes, o.user_id, u.name AS user_name, o.created_at \
     FROM orders o LEFT JOIN users u ON u.id = o.user_id";

const SELECT_LINES: &str =
    "SELECT l.order_id, l.id, l.product_id, p.sku, l.description, l.quantity, \
     l.unit_price_fen, l.discount_fen, l.amount_fen, l.warranty_until \
     FROM order_lines l LEFT JOIN products p ON p.id = l.product_id WHERE l.order_id IN ";

impl Row {
    fn into_order(self, lines: Vec<OrderLine>) -> Result<Order> {
        Ok(Order {
            id: self.id.parse().map_err(Error::Other)?,
            customer_id: self.customer_id.parse().map_err(Error::Other)?,
            order_no: self.external_id,
            ordered_at: Timestamp::from_millis(self.ordered_at).unwrap_or_else(Timestamp::now),
            amount_fen: self.amount_fen,
            discount_fen: self.discount_fen,
            list_fen: self.amount_fen.saturating_add(self.discount_fen),
            quantity: self.quantity,
            product: self.product,
            notes: self.notes,
            user_id: self.user_id.and_then(|u| u.parse().ok()),
            user_name: self.user_name,
            created_at: Timestamp::from_millis(self.created_at).unwrap_or_else(Timestamp::now),
            lines,
        })
    }
}

/// Orders read by `q` (over the alias `o`), with their lines.
async fn read(db: &Db, q: Query) -> Result<Vec<Order>> {
    let rows: Vec<Row> = db.conn().fetch_all(q).await?;
    let mut lines: HashMap<String, Vec<OrderLine>> = HashMap::new();
    for chunk in rows.chunks(500) {
        let mut q = Query::new(SELECT_LINES);
        q.push_list(chunk.iter().map(|r| r.id.as_str()));
        q.push(" ORDER BY l.order_id, l.position, l.id");
        let found: Vec<LineRow> = db.conn().fetch_all(q).await?;
        for l in found {
            lines.entry(l.order_id).or_default().push(OrderLine {
                id: l.id,
                product_id: l.product_id.and_then(|p| p.parse().ok()),
                sku: l.sku,
                description: l.description,
                quantity: l.quantity,
                unit_price_fen: l.unit_price_fen,
                discount_fen: l.discount_fen,
                amount_fen: l.amount_fen,
                warranty_until: l.warranty_until.and_then(Timestamp::from_millis),
            });
        }
    }
    rows.into_iter()
        .map(|r| {
            let l = lines.remove(&r.id).unwrap_or_default();
            r.into_order(l)
        })
        .collect()
}

/// The newest `limit` orders of a customer (whose access the caller
/// checked), newest first.
pub(crate) async fn of_customer(db: &Db, customer: &CustomerId, limit: i64) -> Result<Vec<Order>> {
    let mut q = Query::new(format!("{SELECT} WHERE o.customer_id = "));
    q.push_arg(customer)
        .push(" ORDER BY o.ordered_at DESC, o.id DESC LIMIT ")
        .push_arg(limit.clamp(1, 1000));
    read(db, q).await
}

/// A customer's orders with their lines, newest first, when the principal
/// may read the customer.
pub async fn list(
    db: &Db,
    by: &Principal,
    customer: &CustomerId,
    limit: i64,
) -> Result<Vec<Order>> {
    customers::get(db, by, customer).await?;
    of_customer(db, customer, limit).await
}

async fn load(db: &Db, id: &OrderId) -> Result<Order> {
    let q = Query::new(format!("{SELECT} WHERE o.id = $1")).bind(id);
    read(db, q).await?.pop().ok_or(Error::NotFound)
}

/// An order and its customer, when the principal may read the customer.
async fn readable(db: &Db, by: &Principal, id: &OrderId) -> Result<(Order, customers::Customer)> {
    let o = load(db, id).await?;
    let c = customers::get(db, by, &o.customer_id)
        .await
        .map_err(|e| match e {
            Error::Merged(_) => Error::NotFound,
            e => e,
        })?;
    Ok((o, c))
}

/// One order, when the principal may read its customer.
pub async fn get(db: &Db, by: &Principal, id: &OrderId) -> Result<Order> {
    Ok(readable(db, by, id).await?.0)
}

fn snapshot(o: &NewOrder) -> Map<String, Value> {
    let lines: Vec<Value> = o
        .lines
        .iter()
        .map(|l| {
            json!({
                "product_id": l.product_id, "description": l.description, "quantity": l.quantity,
                "unit_price_fen": l.unit_price.0, "discount_fen": l.discount.0, "amount_fen": l.amount.0,
            })
        })
        .collect();
    let mut m = json!({
        "order_no": o.order_no, "ordered_at": o.ordered_at.rfc3339(), "amount_fen": o.amount.0,
        "discount_fen": o.discount.0, "quantity": o.quantity, "product": o.product,
        "notes": o.notes, "lines": lines,
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    m.retain(|_, v| !v.is_null());
    m
}

fn stored_snapshot(o: &Order) -> Map<String, Value> {
    let lines: Vec<Value> = o
        .lines
        .iter()
        .map(|l| {
            json!({
                "product_id": l.product_id, "description": l.description, "quantity": l.quantity,
                "unit_price_fen": l.unit_price_fen, "discount_fen": l.discount_fen, "amount_fen": l.amount_fen,
            })
        })
        .collect();
    let mut m = json!({
        "order_no": o.order_no, "ordered_at": o.ordered_at.rfc3339(), "amount_fen": o.amount_fen,
        "discount_fen": o.discount_fen, "quantity": o.quantity, "product": o.product,
        "notes": o.notes,
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    if !lines.is_empty() {
        m.insert("lines".into(), Value::Array(lines));
    }
    m.retain(|_, v| !v.is_null());
    m
}

/// Writes order lines: (order, position in the order, line).
pub(crate) async fn insert_lines(tx: &mut Tx, rows: Vec<[Arg; 10]>) -> Result<u64> {
    tx.insert_rows(
        "INSERT INTO order_lines (id, order_id, position, product_id, description, quantity, unit_price_fen, \
         discount_fen, amount_fen, warranty_until)",
        "",
        rows,
    )
    .await
}

/// The arguments of order lines for [`insert_lines`].
pub(crate) fn line_rows<'a>(
    rows: impl IntoIterator<Item = (&'a OrderId, usize, &'a kehu_domain::order::NewLine)>,
) -> Vec<[Arg; 10]> {
    rows.into_iter()
        .map(|(order, position, l)| {
            [
                Arg::from(new_id()),
                Arg::from(order),
                Arg::from(position as i64),
                Arg::from(l.product_id.as_ref()),
                Arg::from(&l.description),
                Arg::from(l.quantity),
                Arg::from(l.unit_price.0),
                Arg::from(l.discount.0),
                Arg::from(l.amount.0),
                Arg::from(l.warranty_until),
            ]
        })
        .collect()
}

/// Adds an order with its lines to a customer the principal may write. A
/// line naming a product without a unit price takes the product's price in
/// force at `now`; times without an offset are read in `zone`.
pub async fn create(
    db: &Db,
    by: &Principal,
    customer: &CustomerId,
    input: &OrderInput,
    now: Timestamp,
    zone: chrono_tz::Tz,
) -> Result<Order> {
    let c = customers::get(db, by, customer).await?;
    if !by.can_write(&c.placement()) {
        return Err(Error::Forbidden);
    }
    let mut tx = db.begin().await?;
    let refs = products::refs(&mut tx, &input.product_ids(), now).await?;
    let new = input.check(|id| refs.get(id).cloned(), now, zone)?;
    if let Some(no) = &new.order_no {
        let taken: Option<(String,)> = tx
            .fetch_optional(Query::new("SELECT id FROM orders WHERE external_id = $1").bind(no))
            .await?;
        if taken.is_some() {
            return Err(FieldErrors::single("order_no", Problem::Taken).into());
        }
    }
    let id = OrderId::new();
    tx.execute(
        Query::new(
            "INSERT INTO orders (id, customer_id, external_id, ordered_at, amount_fen, discount_fen, quantity, \
             product, notes, user_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&id)
        .bind(&c.id)
        .bind(new.order_no.clone())
        .bind(new.ordered_at)
        .bind(new.amount.0)
        .bind(new.discount.0)
        .bind(new.quantity)
        .bind(new.product.clone())
        .bind(new.notes.clone())
        .bind(&by.user_id)
        .bind(now),
    )
    .await?;
    let rows = line_rows(new.lines.iter().enumerate().map(|(n, l)| (&id, n, l)));
    insert_lines(&mut tx, rows).await?;
    audit::record(
        &mut tx,
        &Actor::from(by),
        Entry {
            action: "create",
            entity: "order",
            entity_id: id.as_str(),
            customer_id: Some(&c.id),
            changes: audit::created(&snapshot(&new)),
        },
    )
    .await?;
    tx.commit().await?;
    load(db, &id).await
}

/// Whether the principal may delete this order of a customer they read:
/// admins may, and its creator while they may write the customer.
pub fn may_delete(by: &Principal, o: &Order, c: &customers::Customer) -> bool {
    by.role.is_admin() || (o.user_id.as_ref() == Some(&by.user_id) && by.can_write(&c.placement()))
}

/// Deletes an order (entered by mistake, or void) with its lines; the
/// audit entry keeps what it was.
pub async fn delete(db: &Db, by: &Principal, id: &OrderId) -> Result<()> {
    let (o, c) = readable(db, by, id).await?;
    if !may_delete(by, &o, &c) {
        return Err(Error::Forbidden);
    }
    let mut tx = db.begin().await?;
    let n = tx
        .execute(Query::new("DELETE FROM orders WHERE id = $1").bind(id))
        .await?;
    if n == 0 {
        return Err(Error::NotFound);
    }
    audit::record(
        &mut tx,
        &Actor::from(by),
        Entry {
            action: "delete",
            entity: "order",
            entity_id: id.as_str(),
            customer_id: Some(&o.customer_id),
            changes: audit::diff(&stored_snapshot(&o), &Map::new()),
        },
    )
    .await?;
    tx.commit().await
}
