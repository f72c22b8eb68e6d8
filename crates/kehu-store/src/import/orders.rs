//! Imported orders (purchase history from a shop system or a sheet). A row
//! names its customer (see [`super::target`]); with `create_customers` an
//! external id no customer has yet creates one. An order with an order
//! number is matched by it (and updated when the file says otherwise);
//! one without is the same as a stored order of the customer with the same
//! time, amount and quantity. Running a file again changes nothing.
//!
//! A row may give the discount the customer had (the amount being what
//! they paid) and the product's SKU: the order then gets a line of that
//! product, with its warranty, replacing the lines it had. An unknown SKU
//! rejects the row. A row without a SKU leaves an order's lines as they are.

use super::customers::apply_in as apply_customers;
use super::target::{CustomerKeys, Targets};
use super::{push_customer_times, rejected, Outcome, Owner, PAIRS};
use crate::audit::{self, Actor, Entry};
use crate::db::{Arg, Query, Tx};
use crate::products::{by_sku, BySku};
use crate::{Db, Result};
use kehu_domain::ids::{CustomerId, OrderId};
use kehu_domain::import::{Column, ImportedRow, OrderRow};
use kehu_domain::money::Fen;
use kehu_domain::order::{warranty_until, NewLine};
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};

/// How an order import runs.
#[derive(Debug, Clone)]
pub struct OrderImport<'a> {
    pub actor: &'a Actor,
    /// A user's scope limits which customers rows may add orders to.
    pub scope: Option<&'a Principal>,
    /// Times written without an offset are read in this zone.
    pub zone: chrono_tz::Tz,
    /// An external id no customer has creates a customer (named by the
    /// row's customer column, else by the id) owned by `owner`.
    pub create_customers: bool,
    pub owner: &'a Owner,
    pub dry_run: bool,
}

/// A stored order, as matching needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Stored {
    id: String,
    customer_id: String,
    external_id: Option<String>,
    ordered_at: i64,
    amount_fen: i64,
    discount_fen: i64,
    quantity: i64,
    product: Option<String>,
    notes: Option<String>,
    /// The product of its lines (the first SKU), if any.
    sku: Option<String>,
}

impl Stored {
    fn same_as(&self, o: &OrderRow) -> bool {
        self.ordered_at == o.ordered_at.millis()
            && self.amount_fen == o.amount.0
            && self.discount_fen == o.discount.0
            && self.quantity == i64::from(o.quantity)
            && self.product == o.product
            && self.notes == o.notes
            && (o.sku.is_none() || self.sku == o.sku)
    }
}

const STORED: &str = "SELECT id, customer_id, external_id, ordered_at, amount_fen, discount_fen, quantity, product, notes, \
     (SELECT MIN(p.sku) FROM order_lines l JOIN products p ON p.id = l.product_id WHERE l.order_id = orders.id) AS sku \
     FROM orders WHERE ";

/// Orders already stored with the batch's order numbers.
async fn by_number(tx: &mut Tx, numbers: &[&str]) -> Result<HashMap<String, Stored>> {
    let mut out = HashMap::new();
    for chunk in numbers.chunks(500) {
        let mut q = Query::new(format!("{STORED}external_id IN "));
        q.push_list(chunk.iter().copied());
        let rows: Vec<Stored> = tx.fetch_all(q).await?;
        out.extend(
            rows.into_iter()
                .filter_map(|r| r.external_id.clone().map(|e| (e, r))),
        );
    }
    Ok(out)
}

/// What makes an order without a number the same as another.
type Key = (String, i64, i64, i64);

/// Orders already stored for the customers at the times the rows name.
async fn by_time(tx: &mut Tx, pairs: &[(&CustomerId, i64)]) -> Result<HashSet<Key>> {
    let mut out = HashSet::new();
    for chunk in pairs.chunks(PAIRS) {
        let mut q = Query::new(STORED);
        push_customer_times(&mut q, "ordered_at", chunk);
        let rows: Vec<Stored> = tx.fetch_all(q).await?;
        out.extend(
            rows.into_iter()
                .map(|r| (r.customer_id, r.ordered_at, r.amount_fen, r.quantity)),
        );
    }
    Ok(out)
}

fn snapshot(o: &OrderRow) -> Map<String, Value> {
    let mut m = json!({
        "order_no": o.order_no, "ordered_at": o.ordered_at.rfc3339(), "amount_fen": o.amount.0,
        "discount_fen": o.discount.0, "quantity": o.quantity, "product": o.product, "notes": o.notes,
        "sku": o.sku,
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    m.retain(|_, v| !v.is_null());
    m
}

fn stored_snapshot(s: &Stored) -> Map<String, Value> {
    let mut m = json!({
        "order_no": s.external_id,
        "ordered_at": Timestamp::from_millis(s.ordered_at).map(Timestamp::rfc3339),
        "amount_fen": s.amount_fen, "discount_fen": s.discount_fen, "quantity": s.quantity,
        "product": s.product, "notes": s.notes, "sku": s.sku,
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    m.retain(|_, v| !v.is_null());
    m
}

/// The customers to create for rows whose external id no customer has.
fn missing_customers(targets: &Targets, rows: &[&ImportedRow]) -> Vec<ImportedRow> {
    let mut seen = HashSet::new();
    rows.iter()
        .filter_map(|r| {
            let ext = r.external_id.as_ref()?;
            if targets.has_external(ext) || !seen.insert(ext.clone()) {
                return None;
            }
            let name = r
                .cell(Column::Customer)
                .map(str::to_string)
                .unwrap_or_else(|| ext.clone());
            Some(ImportedRow {
                external_id: Some(ext.clone()),
                tags: vec![],
                cells: vec![(Column::Name, name)],
            })
        })
        .collect()
}

/// A change the batch makes.
enum Write {
    New {
        id: OrderId,
        customer: CustomerId,
        row: OrderRow,
    },
    Changed {
        before: Stored,
        customer: CustomerId,
        row: OrderRow,
    },
}

/// Applies a batch of order rows in one transaction (rolled back when
/// `dry_run`).
pub async fn apply(db: &Db, run: &OrderImport<'_>, rows: &[ImportedRow]) -> Result<Vec<Outcome>> {
    let parsed: Vec<(CustomerKeys, std::result::Result<OrderRow, Outcome>)> = rows
        .iter()
        .map(|r| {
            (
                CustomerKeys::of(r, false),
                r.order(run.zone).map_err(Outcome::Rejected),
            )
        })
        .collect();
    let now = Timestamp::now();
    let mut tx = db.begin().await?;
    let skus: Vec<&str> = parsed
        .iter()
        .filter_map(|p| p.1.as_ref().ok()?.sku.as_deref())
        .collect();
    let products = by_sku(&mut tx, &skus).await?;
    let parsed: Vec<(CustomerKeys, std::result::Result<OrderRow, Outcome>)> = parsed
        .into_iter()
        .map(|(k, r)| (k, r.and_then(|o| with_product(o, &products))))
        .collect();
    let keys = || parsed.iter().map(|p| &p.0).collect::<Vec<_>>();
    let mut targets = Targets::load(&mut tx, &keys()).await?;
    let mut created_as: HashMap<String, Outcome> = HashMap::new();
    if run.create_customers {
        let wanted: Vec<&ImportedRow> = rows
            .iter()
            .zip(&parsed)
            .filter(|(_, p)| p.1.is_ok())
            .map(|(r, _)| r)
            .collect();
        let new = missing_customers(&targets, &wanted);
        if !new.is_empty() {
            let outcomes = apply_customers(&mut tx, run.actor, run.scope, run.owner, &new).await?;
            for (c, o) in new.iter().zip(outcomes) {
                if let (Some(ext), Outcome::Rejected(_)) = (&c.external_id, &o) {
                    created_as.insert(ext.clone(), o);
                }
            }
            targets = Targets::load(&mut tx, &keys()).await?;
        }
    }
    let found: Vec<std::result::Result<(CustomerId, OrderRow), Outcome>> = rows
        .iter()
        .zip(parsed)
        .map(|(r, (keys, order))| {
            let order = order?;
            if let Some(o) = r.external_id.as_ref().and_then(|e| created_as.get(e)) {
                return Err(o.clone());
            }
            let t = targets.find(&keys, run.scope)?;
            Ok((t.id.clone(), order))
        })
        .collect();
    let ok = || found.iter().filter_map(|f| f.as_ref().ok());
    let numbers: Vec<&str> = ok().filter_map(|(_, o)| o.order_no.as_deref()).collect();
    let mut numbered = by_number(&mut tx, &numbers).await?;
    let pairs: Vec<(&CustomerId, i64)> = ok()
        .filter(|(_, o)| o.order_no.is_none())
        .map(|(c, o)| (c, o.ordered_at.millis()))
        .collect();
    let mut seen = by_time(&mut tx, &pairs).await?;
    let mut out = Vec::with_capacity(found.len());
    let mut writes: Vec<Write> = Vec::new();
    for f in found {
        let (customer, row) = match f {
            Ok(x) => x,
            Err(o) => {
                out.push(o);
                continue;
            }
        };
        let Some(no) = row.order_no.clone() else {
            let key = (
                customer.as_str().to_string(),
                row.ordered_at.millis(),
                row.amount.0,
                i64::from(row.quantity),
            );
            if seen.insert(key) {
                out.push(Outcome::Created);
                writes.push(Write::New {
                    id: OrderId::new(),
                    customer,
                    row,
                });
            } else {
                out.push(Outcome::Unchanged);
            }
            continue;
        };
        match numbered.get(&no) {
            Some(s) if s.customer_id != customer.as_str() => out.push(rejected(
                "order_no",
                "该订单号已属于另一位客户",
                "this order number belongs to another customer",
            )),
            Some(s) if s.same_as(&row) => out.push(Outcome::Unchanged),
            Some(s) => {
                out.push(Outcome::Updated);
                let before = s.clone();
                numbered.insert(no, stored_of(&before.id, &customer, &row));
                writes.push(Write::Changed {
                    before,
                    customer,
                    row,
                });
            }
            None => {
                out.push(Outcome::Created);
                let id = OrderId::new();
                numbered.insert(no, stored_of(id.as_str(), &customer, &row));
                writes.push(Write::New { id, customer, row });
            }
        }
    }
    write(&mut tx, run, &writes, &products, now).await?;
    if !run.dry_run {
        tx.commit().await?;
    }
    Ok(out)
}

/// An order as stored after this batch writes it.
fn stored_of(id: &str, customer: &CustomerId, o: &OrderRow) -> Stored {
    Stored {
        id: id.to_string(),
        customer_id: customer.as_str().to_string(),
        external_id: o.order_no.clone(),
        ordered_at: o.ordered_at.millis(),
        amount_fen: o.amount.0,
        discount_fen: o.discount.0,
        quantity: i64::from(o.quantity),
        product: o.product.clone(),
        notes: o.notes.clone(),
        sku: o.sku.clone(),
    }
}

/// A row naming a product by SKU: refused when no product has it; the
/// product's name stands for a missing product column. Its line's unit
/// price is the list value (paid plus discount) over the quantity; when
/// that does not divide, the unit price is rounded up to the fen and the
/// difference counted as discount, so the row's discount becomes the
/// line's.
fn with_product(
    mut o: OrderRow,
    products: &HashMap<String, BySku>,
) -> std::result::Result<OrderRow, Outcome> {
    let Some(sku) = &o.sku else {
        return Ok(o);
    };
    match products.get(sku) {
        None => Err(rejected(
            "sku",
            &format!("没有产品编号为“{sku}”的产品"),
            &format!("no product has the SKU {sku:?}"),
        )),
        Some(p) => {
            if o.product.is_none() {
                o.product = Some(p.name.chars().take(200).collect());
            }
            let quantity = i64::from(o.quantity.max(1));
            let gross = o.amount.0 + o.discount.0;
            let unit = gross.div_euclid(quantity) + i64::from(gross.rem_euclid(quantity) != 0);
            o.discount = Fen(quantity * unit - o.amount.0);
            Ok(o)
        }
    }
}

/// The line of an order row with a SKU (see [`with_product`]).
fn line_of(o: &OrderRow, p: &BySku, zone: chrono_tz::Tz) -> NewLine {
    let quantity = i64::from(o.quantity.max(1));
    NewLine {
        product_id: Some(p.id.clone()),
        description: p.name.chars().take(200).collect(),
        quantity,
        unit_price: Fen((o.amount.0 + o.discount.0) / quantity),
        discount: o.discount,
        amount: o.amount,
        warranty_until: warranty_until(o.ordered_at, p.warranty_months, zone),
    }
}

async fn write(
    tx: &mut Tx,
    run: &OrderImport<'_>,
    writes: &[Write],
    products: &HashMap<String, BySku>,
    now: Timestamp,
) -> Result<()> {
    let user = run.scope.map(|p| &p.user_id);
    let new = writes.iter().filter_map(|w| match w {
        Write::New { id, customer, row } => Some([
            Arg::from(id),
            Arg::from(customer),
            row.order_no.clone().into(),
            row.ordered_at.into(),
            row.amount.0.into(),
            row.discount.0.into(),
            i64::from(row.quantity).into(),
            row.product.clone().into(),
            row.notes.clone().into(),
            user.into(),
            now.into(),
        ]),
        Write::Changed { .. } => None,
    });
    tx.insert_rows(
        "INSERT INTO orders (id, customer_id, external_id, ordered_at, amount_fen, discount_fen, quantity, product, notes, user_id, created_at)",
        "",
        new,
    )
    .await?;
    let mut entries = Vec::with_capacity(writes.len());
    let mut lines: Vec<(OrderId, NewLine)> = Vec::new();
    let line = |row: &OrderRow| {
        let p = products.get(row.sku.as_deref()?)?;
        Some(line_of(row, p, run.zone))
    };
    for w in writes {
        match w {
            Write::New { id, customer, row } => {
                if let Some(l) = line(row) {
                    lines.push((id.clone(), l));
                }
                entries.push((
                    id.as_str().to_string(),
                    customer,
                    audit::created(&snapshot(row)),
                ))
            }
            Write::Changed {
                before,
                customer,
                row,
            } => {
                tx.execute(
                    Query::new(
                        "UPDATE orders SET ordered_at = $2, amount_fen = $3, discount_fen = $4, quantity = $5, \
                         product = $6, notes = $7 WHERE id = $1",
                    )
                    .bind(before.id.as_str())
                    .bind(row.ordered_at)
                    .bind(row.amount.0)
                    .bind(row.discount.0)
                    .bind(i64::from(row.quantity))
                    .bind(row.product.clone())
                    .bind(row.notes.clone()),
                )
                .await?;
                if let Some(l) = line(row) {
                    tx.execute(
                        Query::new("DELETE FROM order_lines WHERE order_id = $1")
                            .bind(before.id.as_str()),
                    )
                    .await?;
                    let id: OrderId = before.id.parse().map_err(crate::Error::Other)?;
                    lines.push((id, l));
                }
                entries.push((
                    before.id.clone(),
                    customer,
                    audit::diff(&stored_snapshot(before), &snapshot(row)),
                ));
            }
        }
    }
    let rows = crate::orders::line_rows(lines.iter().map(|(id, l)| (id, 0, l)));
    crate::orders::insert_lines(tx, rows).await?;
    audit::record_many(
        tx,
        run.actor,
        entries.iter().map(|(id, customer, changes)| Entry {
            action: "import",
            entity: "order",
            entity_id: id,
            customer_id: Some(customer),
            changes: changes.clone(),
        }),
    )
    .await
}
