//! Likely duplicate customers: the check made when one is created, the
//! review list of live customers that share a mobile, an e-mail, or a name
//! and organisation, and the pairs a reviewer dismissed as different
//! customers. Merging is in [`crate::merge`].
//!
//! Every lookup reads one of the partial indexes of migration 0006 (the key
//! columns plus owner and team, over live customers only): the review list
//! is a `GROUP BY` scan of an index in key order, paged by key, and never
//! compares customers with each other.

use crate::audit::{self, Actor, Entry};
use crate::customers::{self, push_scope, Customer};
use crate::db::Query;
use crate::{Db, Error, Result, Tx};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kehu_domain::customer::{CustomerFields, CustomerKind};
use kehu_domain::duplicate::DuplicateReason;
use kehu_domain::ids::CustomerId;
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Problem};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;

/// The keys two customers are compared by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Mobile,
    Email,
    /// A person's name and company.
    PersonName,
    /// An organisation's name.
    OrgName,
}

/// In the order of the review list.
const KEYS: [Key; 4] = [Key::Mobile, Key::Email, Key::PersonName, Key::OrgName];

impl Key {
    fn reason(self) -> DuplicateReason {
        match self {
            Key::Mobile => DuplicateReason::Mobile,
            Key::Email => DuplicateReason::Email,
            Key::PersonName | Key::OrgName => DuplicateReason::Name,
        }
    }

    /// The customers the key covers: the condition of its partial index,
    /// spelled as the index spells it so that SQLite uses the index.
    fn rows(self) -> &'static str {
        match self {
            Key::Mobile => "c.deleted_at IS NULL AND c.mobile IS NOT NULL",
            Key::Email => "c.deleted_at IS NULL AND c.email IS NOT NULL",
            Key::PersonName => {
                "c.deleted_at IS NULL AND c.kind = 'person' AND c.company IS NOT NULL"
            }
            Key::OrgName => "c.deleted_at IS NULL AND c.kind = 'organization'",
        }
    }

    fn columns(self) -> &'static [&'static str] {
        match self {
            Key::Mobile => &["c.mobile"],
            Key::Email => &["c.email"],
            Key::PersonName => &["c.name", "c.company"],
            Key::OrgName => &["c.name"],
        }
    }

    /// The key's values for these fields, when they have the key.
    fn values(self, f: &CustomerFields) -> Option<Vec<String>> {
        match self {
            Key::Mobile => f.mobile.as_ref().map(|m| vec![m.as_str().to_string()]),
            Key::Email => f.email.clone().map(|e| vec![e]),
            Key::PersonName => f
                .company
                .clone()
                .filter(|_| f.kind == CustomerKind::Person)
                .map(|c| vec![f.name.clone(), c]),
            Key::OrgName => (f.kind == CustomerKind::Organization).then(|| vec![f.name.clone()]),
        }
    }

    /// Appends `SELECT what FROM customers c WHERE` the key's rows, in the
    /// principal's scope (every customer for system writes).
    fn push_select(self, q: &mut Query, what: &str, by: Option<&Principal>) {
        q.push(&format!(
            "SELECT {what} FROM customers c WHERE {}",
            self.rows()
        ));
        if let Some(p) = by {
            push_scope(q, p);
        }
    }

    fn select(self, what: &str, by: &Principal) -> Query {
        let mut q = Query::default();
        self.push_select(&mut q, what, Some(by));
        q
    }

    /// ` AND` the key's columns equal `values`.
    fn push_equal(self, q: &mut Query, values: &[String]) {
        for (col, v) in self.columns().iter().zip(values) {
            q.push(&format!(" AND {col} = ")).push_arg(v);
        }
    }
}

// ---------------------------------------------------------------- on create

/// An existing customer a new one looks like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Match {
    pub id: CustomerId,
    pub name: String,
    pub kind: CustomerKind,
    pub company: Option<String>,
    /// Why it looks like the same customer.
    pub reasons: Vec<DuplicateReason>,
}

/// At most this many matches are reported.
const MAX_MATCHES: usize = 20;

/// Live customers in the principal's scope (every one for system writes)
/// that a customer with these fields would duplicate.
pub async fn matching(
    tx: &mut Tx,
    by: Option<&Principal>,
    f: &CustomerFields,
) -> Result<Vec<Match>> {
    let mut q = Query::default();
    for (i, key) in KEYS.iter().enumerate() {
        let Some(values) = key.values(f) else {
            continue;
        };
        if !q.sql.is_empty() {
            q.push(" UNION ALL ");
        }
        let what = format!("c.id, c.name, c.kind, c.company, CAST({i} AS BIGINT) AS k");
        key.push_select(&mut q, &what, by);
        key.push_equal(&mut q, &values);
    }
    if q.sql.is_empty() {
        return Ok(vec![]);
    }
    q.push(&format!(" LIMIT {}", MAX_MATCHES * KEYS.len()));
    let rows: Vec<(String, String, String, Option<String>, i64)> = tx.fetch_all(q).await?;
    let mut out: Vec<Match> = Vec::new();
    for (id, name, kind, company, k) in rows {
        let reason = KEYS[k as usize].reason();
        match out.iter_mut().find(|m| m.id.as_str() == id) {
            Some(m) if !m.reasons.contains(&reason) => m.reasons.push(reason),
            Some(_) => {}
            None => out.push(Match {
                id: id.parse().map_err(Error::Other)?,
                name,
                kind: CustomerKind::parse(&kind).unwrap_or(CustomerKind::Person),
                company,
                reasons: vec![reason],
            }),
        }
    }
    out.truncate(MAX_MATCHES);
    Ok(out)
}

// ---------------------------------------------------------------- review list

/// Customers shown per group (the group's size says how many share the key).
pub const GROUP_SHOWN: i64 = 10;

/// Index scans per page at most, when dismissed pairs hide whole groups.
const MAX_SCANS: usize = 20;

/// Live customers sharing one key.
#[derive(Debug, Clone)]
pub struct Group {
    pub reason: DuplicateReason,
    /// The shared value: mobile, e-mail, or name (and organisation).
    pub key: String,
    /// How many customers in the reviewer's scope share it.
    pub size: i64,
    /// Up to [`GROUP_SHOWN`] of them, oldest first: those in a pair below.
    pub customers: Vec<Customer>,
    /// The pairs among them nobody dismissed, older customer first.
    pub pairs: Vec<(CustomerId, CustomerId)>,
}

#[derive(Debug, Clone)]
pub struct GroupPage {
    pub items: Vec<Group>,
    pub next_cursor: Option<String>,
}

/// Where a page starts: a key, and the last group of it already listed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Cursor {
    #[serde(rename = "k")]
    key: usize,
    #[serde(rename = "a")]
    after: Option<Vec<String>>,
}

fn encode(c: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(c).expect("a cursor serialises"))
}

fn decode(s: &str) -> Result<Cursor> {
    URL_SAFE_NO_PAD
        .decode(s.trim())
        .ok()
        .and_then(|b| serde_json::from_slice::<Cursor>(&b).ok())
        .filter(|c| {
            c.key < KEYS.len()
                && c.after
                    .as_ref()
                    .is_none_or(|a| a.len() == KEYS[c.key].columns().len())
        })
        .ok_or_else(|| {
            Error::BadQuery(FieldErrors::single(
                "cursor",
                Problem::Invalid {
                    zh: "分页游标无效".into(),
                    en: "is not a valid cursor".into(),
                },
            ))
        })
}

/// The review list: groups of live customers in the principal's scope
/// sharing a mobile, then an e-mail, then a name and organisation, in key
/// order; `cursor` is the `next_cursor` of the page before. Owners, admins
/// and managers only.
pub async fn review(
    db: &Db,
    by: &Principal,
    limit: i64,
    cursor: Option<&str>,
) -> Result<GroupPage> {
    if !by.role.can_review_duplicates() {
        return Err(Error::Forbidden);
    }
    let limit = limit.clamp(1, 100) as usize;
    let mut at = match cursor.filter(|c| !c.trim().is_empty()) {
        Some(c) => decode(c)?,
        None => Cursor::default(),
    };
    let mut items = Vec::new();
    for _ in 0..MAX_SCANS {
        if items.len() >= limit || at.key >= KEYS.len() {
            break;
        }
        let key = KEYS[at.key];
        let want = limit - items.len();
        let found = group_keys(db, by, key, at.after.as_deref(), want).await?;
        at = match found.last() {
            Some((last, _)) if found.len() == want => Cursor {
                key: at.key,
                after: Some(last.clone()),
            },
            _ => Cursor {
                key: at.key + 1,
                after: None,
            },
        };
        items.extend(groups(db, by, key, found).await?);
    }
    Ok(GroupPage {
        items,
        next_cursor: (at.key < KEYS.len()).then(|| encode(&at)),
    })
}

/// The next `limit` values of `key` that more than one customer in scope
/// shares, after `after`, with how many share each.
async fn group_keys(
    db: &Db,
    by: &Principal,
    key: Key,
    after: Option<&[String]>,
    limit: usize,
) -> Result<Vec<(Vec<String>, i64)>> {
    let cols = key.columns();
    let second = cols.get(1).copied().unwrap_or("CAST(NULL AS TEXT)");
    let mut q = key.select(
        &format!("{} AS k1, {second} AS k2, COUNT(*) AS n", cols[0]),
        by,
    );
    match after {
        Some([a]) => {
            q.push(&format!(" AND {} > ", cols[0])).push_arg(a);
        }
        Some([a, b]) => {
            q.push(&format!(" AND {c} >= ", c = cols[0]))
                .push_arg(a)
                .push(&format!(" AND ({c} > ", c = cols[0]))
                .push_arg(a)
                .push(&format!(" OR {} > ", cols[1]))
                .push_arg(b)
                .push(")");
        }
        _ => {}
    }
    let list = cols.join(", ");
    q.push(&format!(
        " GROUP BY {list} HAVING COUNT(*) > 1 ORDER BY {list} LIMIT "
    ))
    .push_arg(limit as i64);
    let rows: Vec<(String, Option<String>, i64)> = db.conn().fetch_all(q).await?;
    Ok(rows
        .into_iter()
        .map(|(a, b, n)| (std::iter::once(a).chain(b).collect(), n))
        .collect())
}

/// Loads the customers of these groups and keeps the pairs nobody
/// dismissed; groups left without a pair are dropped.
async fn groups(
    db: &Db,
    by: &Principal,
    key: Key,
    found: Vec<(Vec<String>, i64)>,
) -> Result<Vec<Group>> {
    let mut members: Vec<Vec<String>> = Vec::with_capacity(found.len());
    for (values, _) in &found {
        let mut q = key.select("c.id", by);
        key.push_equal(&mut q, values);
        q.push(" ORDER BY c.created_at, c.id LIMIT ")
            .push_arg(GROUP_SHOWN);
        let ids: Vec<(String,)> = db.conn().fetch_all(q).await?;
        members.push(ids.into_iter().map(|(i,)| i).collect());
    }
    let all: Vec<&str> = members.iter().flatten().map(String::as_str).collect();
    if all.is_empty() {
        return Ok(vec![]);
    }
    let mut q = Query::new("c.id IN ");
    q.push_list(all.iter().copied());
    let loaded = customers::load_where(db, q).await?;
    let mut q =
        Query::new("SELECT customer_a, customer_b FROM duplicate_dismissals WHERE customer_a IN ");
    q.push_list(all.iter().copied())
        .push(" AND customer_b IN ")
        .push_list(all.iter().copied());
    let dismissed: HashSet<(String, String)> = db.conn().fetch_all(q).await?.into_iter().collect();
    let mut out = Vec::new();
    for ((values, size), ids) in found.into_iter().zip(members) {
        let mut pairs = Vec::new();
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                if !dismissed.contains(&ordered(a, b)) {
                    pairs.push((a.clone(), b.clone()));
                }
            }
        }
        let shown: Vec<Customer> = ids
            .iter()
            .filter(|id| pairs.iter().any(|(a, b)| a == *id || b == *id))
            .filter_map(|id| loaded.iter().find(|c| c.id.as_str() == id).cloned())
            .collect();
        if pairs.is_empty() {
            continue;
        }
        out.push(Group {
            reason: key.reason(),
            key: values.join(" · "),
            size,
            customers: shown,
            pairs: pairs
                .into_iter()
                .filter_map(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
                .collect(),
        });
    }
    Ok(out)
}

/// A pair as the dismissals table keeps it: the smaller id first.
fn ordered(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

// ---------------------------------------------------------------- dismissal

/// Records that two customers are not the same one, so the pair leaves the
/// review list; audited on both. Owners, admins and managers, for customers
/// in their scope.
pub async fn dismiss(db: &Db, by: &Principal, a: &CustomerId, b: &CustomerId) -> Result<()> {
    if !by.role.can_review_duplicates() {
        return Err(Error::Forbidden);
    }
    if a == b {
        return Err(FieldErrors::single(
            "customer_ids",
            Problem::Invalid {
                zh: "请选择两个不同的客户".into(),
                en: "must name two different customers".into(),
            },
        )
        .into());
    }
    customers::get(db, by, a).await?;
    customers::get(db, by, b).await?;
    let (first, second) = ordered(a.as_str(), b.as_str());
    let mut tx = db.begin().await?;
    let added = tx
        .execute(
            Query::new(
                "INSERT INTO duplicate_dismissals (customer_a, customer_b, dismissed_by, dismissed_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(&first)
            .bind(&second)
            .bind(&by.user_id)
            .bind(Timestamp::now()),
        )
        .await?;
    if added > 0 {
        audit::record_many(
            &mut tx,
            &Actor::from(by),
            [(a, b), (b, a)].map(|(this, other)| Entry {
                action: "not_duplicate",
                entity: "customer",
                entity_id: this.as_str(),
                customer_id: Some(this),
                changes: vec![audit::Change {
                    field: "not_duplicate_of".into(),
                    old: Value::Null,
                    new: Value::String(other.to_string()),
                }],
            }),
        )
        .await?;
    }
    tx.commit().await
}
