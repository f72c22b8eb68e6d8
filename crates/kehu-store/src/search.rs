//! The customer search index: the terms of `kehu_domain::search::terms`
//! for every customer (name, company, e-mail domain, contacts' names), kept in `customer_terms` in the same transaction as
//! the change that alters them, so every server on one database sees the
//! same index.

use crate::db::{Arg, Query, Tx};
use crate::{Db, Result};
use kehu_domain::customer::CustomerFields;
use kehu_domain::ids::CustomerId;
use kehu_domain::search;
use std::collections::{BTreeSet, HashMap};

/// What the index is built from of a customer's own fields (name, company,
/// e-mail): when it changes, the customer is re-indexed.
pub(crate) type IndexedText = (String, Option<String>, Option<String>);

pub(crate) fn indexed_text(f: &CustomerFields) -> IndexedText {
    (f.name.clone(), f.company.clone(), f.email.clone())
}

/// The terms of a customer with these fields and contact names.
pub(crate) fn terms_of<'a>(
    f: &'a CustomerFields,
    contacts: impl IntoIterator<Item = &'a str>,
) -> BTreeSet<String> {
    search::terms(&f.name, f.company.as_deref(), f.email.as_deref(), contacts)
}

/// Customers per batch when the whole index is rebuilt.
const REBUILD_BATCH: usize = 1000;

/// Adds the terms of customers that have none yet (new customers).
pub(crate) async fn insert<'a>(
    tx: &mut Tx,
    items: impl IntoIterator<Item = (&'a CustomerId, &'a BTreeSet<String>)>,
) -> Result<()> {
    write(tx, "customer_terms", items).await
}

/// Stages the terms of new customers during a deferred load, to be sorted
/// into the index when it finishes (`crate::deferred`).
pub(crate) async fn stage<'a>(
    tx: &mut Tx,
    items: impl IntoIterator<Item = (&'a CustomerId, &'a BTreeSet<String>)>,
) -> Result<()> {
    write(tx, "customer_terms_staged", items).await
}

async fn write<'a>(
    tx: &mut Tx,
    table: &str,
    items: impl IntoIterator<Item = (&'a CustomerId, &'a BTreeSet<String>)>,
) -> Result<()> {
    let rows: Vec<[Arg; 2]> = items
        .into_iter()
        .flat_map(|(id, terms)| terms.iter().map(move |t| [Arg::from(t), Arg::from(id)]))
        .collect();
    tx.insert_rows(
        &format!("INSERT INTO {table} (term, customer_id)"),
        " ON CONFLICT DO NOTHING",
        rows,
    )
    .await?;
    Ok(())
}

/// Recomputes the terms of these customers from what is stored (name,
/// company, e-mail, contacts), replacing the old ones.
pub(crate) async fn reindex(tx: &mut Tx, ids: &[&CustomerId]) -> Result<()> {
    for chunk in ids.chunks(REBUILD_BATCH) {
        let mut q = Query::new("SELECT id, name, company, email FROM customers WHERE id IN ");
        q.push_list(chunk.iter().copied());
        let customers: Vec<(String, String, Option<String>, Option<String>)> =
            tx.fetch_all(q).await?;
        let mut q = Query::new("SELECT customer_id, name FROM contacts WHERE customer_id IN ");
        q.push_list(chunk.iter().copied());
        let contacts: Vec<(String, String)> = tx.fetch_all(q).await?;
        let mut by_customer: HashMap<&str, Vec<&str>> = HashMap::new();
        for (cid, name) in &contacts {
            by_customer.entry(cid).or_default().push(name);
        }
        remove(tx, chunk).await?;
        let parsed: Vec<(CustomerId, BTreeSet<String>)> = customers
            .iter()
            .filter_map(|(id, name, company, email)| {
                let contacts = by_customer.get(id.as_str()).cloned().unwrap_or_default();
                let terms = search::terms(name, company.as_deref(), email.as_deref(), contacts);
                id.parse().ok().map(|id| (id, terms))
            })
            .collect();
        insert(tx, parsed.iter().map(|(id, t)| (id, t))).await?;
    }
    Ok(())
}

/// Removes the terms of these customers (re-indexed, or deleted for good),
/// staged ones included.
pub(crate) async fn remove<A: Into<Arg> + Copy>(tx: &mut Tx, ids: &[A]) -> Result<()> {
    for chunk in ids.chunks(REBUILD_BATCH) {
        for table in ["customer_terms", "customer_terms_staged"] {
            let mut q = Query::new(format!("DELETE FROM {table} WHERE customer_id IN "));
            q.push_list(chunk.iter().copied());
            tx.execute(q).await?;
        }
    }
    Ok(())
}

/// Builds the index for every customer when a migration asked for it (the
/// first start after upgrading). Safe to run from several servers at once:
/// the flag is taken in the same transaction as the first batch.
pub async fn rebuild_if_pending(db: &Db) -> Result<u64> {
    let pending: Option<(String,)> = db
        .conn()
        .fetch_optional(Query::new(
            "SELECT value FROM settings WHERE key = 'search_index' AND value = 'rebuild'",
        ))
        .await?;
    if pending.is_none() {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    let taken = tx
        .execute(Query::new(
            "UPDATE settings SET value = 'ready' WHERE key = 'search_index' AND value = 'rebuild'",
        ))
        .await?;
    if taken == 0 {
        return Ok(0);
    }
    let mut after = String::new();
    let mut total = 0;
    loop {
        let ids: Vec<(String,)> = tx
            .fetch_all(
                Query::new("SELECT id FROM customers WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(&after)
                    .bind(REBUILD_BATCH as i64),
            )
            .await?;
        let Some((last,)) = ids.last().cloned() else {
            break;
        };
        let parsed: Vec<CustomerId> = ids.iter().filter_map(|(i,)| i.parse().ok()).collect();
        let refs: Vec<&CustomerId> = parsed.iter().collect();
        reindex(&mut tx, &refs).await?;
        total += ids.len() as u64;
        after = last;
    }
    tx.commit().await?;
    Ok(total)
}
