//! Imported customer rows: each row is matched to an existing
//! customer by external id, then mobile, then e-mail (then, for rows with
//! none of those, by name and company), so that running the same file again
//! changes nothing. A row either updates the customer it matches (blank
//! cells keep what is there; tags are added), creates a new one, or is
//! rejected with its reasons. Every change is audited.

use super::{rejected, Outcome, Owner};
use crate::audit::{self, Actor, Entry};
use crate::customers::{self, field_args, Customer, FIELD_COLUMNS};
use crate::db::{Arg, Query, Tx};
use crate::search::{indexed_text, IndexedText};
use crate::tags::{self, Tag};
use crate::{Db, Result};
use kehu_domain::customer::{CustomerFields, CustomerInput};
use kehu_domain::ids::CustomerId;
use kehu_domain::import::ImportedRow;
use kehu_domain::mobile::Mobile;
use kehu_domain::role::Principal;
use kehu_domain::text;
use kehu_domain::time::Timestamp;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A customer as the batch sees it: as loaded (or new), and as it will be.
struct Rec {
    customer: Customer,
    /// The state before this batch; `None` for customers it creates.
    before: Option<Map<String, Value>>,
    external_before: Option<String>,
    /// What the search index holds of it (name, company, e-mail).
    indexed: IndexedText,
    tags_added: Vec<String>,
    dirty: bool,
}

impl Rec {
    fn mobile(&self) -> Option<&str> {
        self.customer.fields.mobile.as_ref().map(|m| m.as_str())
    }
    fn email(&self) -> Option<&str> {
        self.customer.fields.email.as_deref()
    }
    fn name_key(&self) -> (String, String) {
        let f = &self.customer.fields;
        (f.name.clone(), f.company.clone().unwrap_or_default())
    }
    fn live(&self) -> bool {
        self.customer.deleted_at.is_none()
    }
}

/// The customers a batch may touch, with lookups by each matching key.
/// Lookups reflect the batch's own changes, so a file that names one
/// customer twice updates it instead of creating it twice.
#[derive(Default)]
struct Known {
    recs: Vec<Rec>,
    by_external: HashMap<String, usize>,
    by_mobile: HashMap<String, Vec<usize>>,
    by_email: HashMap<String, Vec<usize>>,
    by_name: HashMap<(String, String), Vec<usize>>,
}

fn unlink<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Vec<usize>>, key: K, i: usize) {
    if let Some(v) = map.get_mut(&key) {
        v.retain(|&x| x != i);
    }
}

impl Known {
    fn link(&mut self, i: usize) {
        let r = &self.recs[i];
        if let Some(e) = &r.customer.external_id {
            self.by_external.insert(e.clone(), i);
        }
        if !r.live() {
            return;
        }
        let (m, e, n) = (
            r.mobile().map(str::to_string),
            r.email().map(str::to_string),
            r.name_key(),
        );
        if let Some(m) = m {
            self.by_mobile.entry(m).or_default().push(i);
        }
        if let Some(e) = e {
            self.by_email.entry(e).or_default().push(i);
        }
        self.by_name.entry(n).or_default().push(i);
    }

    fn unlink(&mut self, i: usize) {
        let r = &self.recs[i];
        let (m, e, n) = (
            r.mobile().map(str::to_string),
            r.email().map(str::to_string),
            r.name_key(),
        );
        if let Some(m) = m {
            unlink(&mut self.by_mobile, m, i);
        }
        if let Some(e) = e {
            unlink(&mut self.by_email, e, i);
        }
        unlink(&mut self.by_name, n, i);
    }

    fn add(&mut self, rec: Rec) -> usize {
        self.recs.push(rec);
        let i = self.recs.len() - 1;
        self.link(i);
        i
    }

    /// Loads every customer a row of the batch could match, with a few
    /// indexed `IN` queries.
    async fn load(tx: &mut Tx, rows: &[Prepared<'_>]) -> Result<Known> {
        let keys: Vec<&Keys> = rows.iter().map(|p| &p.keys).collect();
        let mut known = Known::default();
        let mut seen: HashSet<CustomerId> = HashSet::new();
        let lists: [(&str, Vec<&str>); 4] = [
            (
                "c.external_id IN ",
                keys.iter().filter_map(|k| k.external.as_deref()).collect(),
            ),
            (
                "c.deleted_at IS NULL AND c.mobile IN ",
                keys.iter().filter_map(|k| k.mobile.as_deref()).collect(),
            ),
            (
                "c.deleted_at IS NULL AND c.email IN ",
                keys.iter().filter_map(|k| k.email.as_deref()).collect(),
            ),
            (
                "c.deleted_at IS NULL AND c.name IN ",
                keys.iter()
                    .filter_map(|k| k.name.as_ref().map(|n| n.0.as_str()))
                    .collect(),
            ),
        ];
        for (cond, mut values) in lists {
            values.sort_unstable();
            values.dedup();
            for chunk in values.chunks(1000) {
                let mut q = Query::new(cond);
                q.push_list(chunk.iter().copied());
                for c in customers::load_where_tx(tx, q).await? {
                    if seen.insert(c.id.clone()) {
                        known.add(Rec {
                            before: Some(c.snapshot()),
                            indexed: indexed_text(&c.fields),
                            external_before: c.external_id.clone(),
                            customer: c,
                            tags_added: Vec::new(),
                            dirty: false,
                        });
                    }
                }
            }
        }
        Ok(known)
    }

    /// The customer a row names, by external id, then mobile, then e-mail,
    /// then (for rows with none of those) name and company.
    fn find(&self, row: &ImportedRow, k: &Keys) -> Match {
        if let Some(ext) = &k.external {
            if let Some(&i) = self.by_external.get(ext) {
                if !self.recs[i].live() {
                    return Match::Problem(rejected(
                        "external_id",
                        "该外部编号的客户在回收站中，请先恢复",
                        "the customer with this external id is in the recycle bin; restore it first",
                    ));
                }
                return self.unless_taken(i, "external_id", k);
            }
        }
        let by_key = [
            (
                "mobile",
                "手机号",
                k.mobile.as_ref().and_then(|m| self.by_mobile.get(m)),
            ),
            (
                "email",
                "邮箱",
                k.email.as_ref().and_then(|e| self.by_email.get(e)),
            ),
        ];
        for (column, label, found) in by_key {
            match found.map(Vec::as_slice).unwrap_or_default() {
                [] => continue,
                [i] => {
                    let theirs = self.recs[*i].customer.external_id.as_ref();
                    if let (Some(theirs), Some(ours)) = (theirs, &row.external_id) {
                        if theirs != ours {
                            return Match::Problem(rejected(
                                "external_id",
                                &format!(
                                    "与已有客户（外部编号 {theirs}）的{label}相同，但外部编号不同"
                                ),
                                &format!(
                                    "has the {column} of the customer with external id {theirs}"
                                ),
                            ));
                        }
                    }
                    return self.unless_taken(*i, column, k);
                }
                _ => {
                    return Match::Problem(rejected(
                        column,
                        "与多个已有客户相同，无法确定更新哪一个",
                        "matches several customers; cannot tell which to update",
                    ))
                }
            }
        }
        if let Some(n) = &k.name {
            if let Some([i]) = self.by_name.get(n).map(Vec::as_slice) {
                return Match::One(*i, "name");
            }
        }
        Match::None
    }

    /// The customer `i` a row matched, unless the row gives it a mobile or
    /// e-mail that another customer already has: the update would make
    /// two customers share it.
    fn unless_taken(&self, i: usize, by: &'static str, k: &Keys) -> Match {
        let rec = &self.recs[i];
        let keys = [
            ("mobile", "手机号", &k.mobile, rec.mobile(), &self.by_mobile),
            ("email", "邮箱", &k.email, rec.email(), &self.by_email),
        ];
        for (column, label, key, own, holders) in keys {
            let Some(key) = key.as_deref().filter(|key| own != Some(*key)) else {
                continue;
            };
            let other = holders
                .get(key)
                .and_then(|v| v.iter().find(|&&j| j != i))
                .map(|&j| &self.recs[j].customer);
            if let Some(other) = other {
                // Named by its external id only: the importer may not be
                // allowed to see the customer itself.
                let (zh, en) = match &other.external_id {
                    Some(e) => (format!("（外部编号 {e}）"), format!(" (external id {e})")),
                    None => (String::new(), String::new()),
                };
                return Match::Problem(rejected(
                    column,
                    &format!("{label}已属于另一位客户{zh}，不能再给这位客户"),
                    &format!("another customer{en} has this {column}; it is not given to this one"),
                ));
            }
        }
        Match::One(i, by)
    }
}

enum Match {
    None,
    /// The customer at this index, and the column that named it.
    One(usize, &'static str),
    Problem(Outcome),
}

/// The keys a row is matched by, normalised as stored.
struct Keys {
    external: Option<String>,
    mobile: Option<String>,
    email: Option<String>,
    /// Name and company, only for rows without the other keys.
    name: Option<(String, String)>,
}

impl Keys {
    fn of(row: &ImportedRow, input: &CustomerInput) -> Keys {
        let mobile = Mobile::parse_optional(&input.mobile)
            .ok()
            .flatten()
            .map(|m| m.as_str().to_string());
        let email = text::email(&input.email).ok().flatten();
        let bare = row.external_id.is_none()
            && input.mobile.trim().is_empty()
            && input.email.trim().is_empty()
            && !input.name.trim().is_empty();
        Keys {
            external: row.external_id.clone(),
            mobile,
            email,
            name: bare.then(|| {
                (
                    input.name.trim().to_string(),
                    input.company.trim().to_string(),
                )
            }),
        }
    }
}

/// A row with what is read from it once: its fields over a blank record
/// (what a new customer gets) and its matching keys.
struct Prepared<'a> {
    row: &'a ImportedRow,
    fresh: CustomerInput,
    keys: Keys,
}

impl Prepared<'_> {
    fn of(row: &ImportedRow) -> Prepared<'_> {
        let fresh = row.overlay(&CustomerInput::default());
        let keys = Keys::of(row, &fresh);
        Prepared { row, fresh, keys }
    }
}

/// A new customer's record as the import writes it.
fn new_customer(
    fields: CustomerFields,
    owner: &Owner,
    external_id: Option<String>,
    now: Timestamp,
) -> Customer {
    Customer {
        id: CustomerId::new(),
        fields: CustomerFields {
            owner_id: owner.user.clone(),
            ..fields
        },
        owner_name: None,
        team_id: owner.team.clone(),
        team_name: None,
        referred_by_name: None,
        custom: Map::new(),
        external_id,
        tags: Vec::new(),
        consents: BTreeMap::new(),
        last_contact_at: None,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    }
}

/// Decides what each row does, against the customers loaded for the batch.
fn plan(
    known: &mut Known,
    scope: Option<&Principal>,
    owner: &Owner,
    rows: &[Prepared],
    now: Timestamp,
) -> Vec<Outcome> {
    let mut out = Vec::with_capacity(rows.len());
    for Prepared { row, fresh, keys } in rows {
        let tag_names = match tags::parse_names(&row.tags) {
            Ok(t) => t,
            Err(e) => {
                out.push(Outcome::Rejected(e));
                continue;
            }
        };
        let outcome = match known.find(row, keys) {
            Match::Problem(o) => o,
            Match::None => match fresh.parse() {
                Err(e) => Outcome::Rejected(e),
                Ok(fields) => {
                    let mut c = new_customer(fields, owner, row.external_id.clone(), now);
                    c.tags = tag_names
                        .iter()
                        .map(|n| Tag {
                            id: String::new(),
                            name: n.clone(),
                        })
                        .collect();
                    known.add(Rec {
                        indexed: indexed_text(&c.fields),
                        customer: c,
                        before: None,
                        external_before: None,
                        tags_added: tag_names,
                        dirty: true,
                    });
                    Outcome::Created
                }
            },
            Match::One(i, by) if scope.is_some_and(|p| !p.can_write(&known.recs[i].customer.placement())) => {
                rejected(
                    by,
                    "与您权限范围之外的已有客户相同（外部编号、手机或邮箱），不能更新",
                    "matches an existing customer outside your scope (external id, mobile or e-mail); not updated",
                )
            }
            Match::One(i, _) => {
                let rec = &known.recs[i];
                match row.overlay(&rec.customer.fields.to_input()).parse() {
                    Err(e) => Outcome::Rejected(e),
                    Ok(fields) => {
                        let new_ext = row.external_id.clone().or(rec.customer.external_id.clone());
                        let new_tags: Vec<String> = tag_names
                            .into_iter()
                            .filter(|t| !rec.customer.tags.iter().any(|h| &h.name == t))
                            .collect();
                        if fields == rec.customer.fields
                            && new_ext == rec.customer.external_id
                            && new_tags.is_empty()
                        {
                            Outcome::Unchanged
                        } else {
                            known.unlink(i);
                            let rec = &mut known.recs[i];
                            rec.customer.fields = fields;
                            rec.customer.external_id = new_ext;
                            rec.customer.updated_at = now;
                            rec.customer.tags.extend(new_tags.iter().map(|n| Tag {
                                id: String::new(),
                                name: n.clone(),
                            }));
                            rec.tags_added.extend(new_tags);
                            rec.dirty = true;
                            known.link(i);
                            Outcome::Updated
                        }
                    }
                }
            }
        };
        out.push(outcome);
    }
    out
}

/// Writes the batch's new and changed customers, their tags and their
/// audit entries with multi-row statements.
async fn write(tx: &mut Tx, actor: &Actor, known: &Known, now: Timestamp) -> Result<()> {
    let dirty: Vec<&Rec> = known.recs.iter().filter(|r| r.dirty).collect();
    let mut names: Vec<String> = dirty
        .iter()
        .flat_map(|r| r.tags_added.iter().cloned())
        .collect();
    names.sort();
    names.dedup();
    let tag_ids: HashMap<String, String> = tags::ensure(tx, actor, &names)
        .await?
        .into_iter()
        .map(|t| (t.name, t.id))
        .collect();
    let created: Vec<Vec<Arg>> = dirty
        .iter()
        .filter(|r| r.before.is_none())
        .map(|r| {
            let c = &r.customer;
            let mut args = vec![Arg::from(&c.id)];
            args.extend(field_args(&c.fields));
            args.extend([
                c.fields.owner_id.as_ref().into(),
                c.team_id.as_ref().into(),
                c.external_id.clone().into(),
                now.into(),
                now.into(),
            ]);
            args
        })
        .collect();
    tx.insert_rows(
        &format!("INSERT INTO customers (id, {FIELD_COLUMNS}, owner_id, team_id, external_id, created_at, updated_at)"),
        "",
        created,
    )
    .await?;
    for r in dirty.iter().filter(|r| r.before.is_some()) {
        let c = &r.customer;
        tx.execute(customers::update_query(
            &c.id,
            &c.fields,
            vec![
                ("external_id", c.external_id.clone().into()),
                ("updated_at", now.into()),
            ],
        ))
        .await?;
    }
    let new_terms: Vec<(&CustomerId, BTreeSet<String>)> = dirty
        .iter()
        .filter(|r| r.before.is_none())
        .map(|r| {
            (
                &r.customer.id,
                crate::search::terms_of(&r.customer.fields, []),
            )
        })
        .collect();
    let new_terms = new_terms.iter().map(|(id, t)| (*id, t));
    if crate::deferred::active(tx).await? {
        crate::search::stage(tx, new_terms).await?;
    } else {
        crate::search::insert(tx, new_terms).await?;
    }
    let renamed: Vec<&CustomerId> = dirty
        .iter()
        .filter(|r| r.before.is_some() && r.indexed != indexed_text(&r.customer.fields))
        .map(|r| &r.customer.id)
        .collect();
    crate::search::reindex(tx, &renamed).await?;
    // Each link holds its customer's sort keys (migration 0014).
    let links: Vec<[Arg; 5]> = dirty
        .iter()
        .flat_map(|r| {
            let c = &r.customer;
            let pinyin = c.fields.pinyin().full;
            r.tags_added
                .iter()
                .filter_map(|n| tag_ids.get(n))
                .map(move |t| {
                    [
                        Arg::from(&c.id),
                        Arg::from(t),
                        c.created_at.into(),
                        c.updated_at.into(),
                        pinyin.clone().into(),
                    ]
                })
        })
        .collect();
    tx.insert_rows(
        "INSERT INTO customer_tags (customer_id, tag_id, created_at, updated_at, name_pinyin)",
        " ON CONFLICT DO NOTHING",
        links,
    )
    .await?;
    let entries: Vec<Entry> = dirty
        .iter()
        .map(|r| {
            let after = r.customer.snapshot();
            let mut changes = match &r.before {
                Some(b) => audit::diff(b, &after),
                None => audit::created(&after),
            };
            if r.customer.external_id != r.external_before {
                changes.push(audit::Change {
                    field: "external_id".into(),
                    old: json!(r.external_before),
                    new: json!(r.customer.external_id),
                });
            }
            Entry {
                action: "import",
                entity: "customer",
                entity_id: r.customer.id.as_str(),
                customer_id: Some(&r.customer.id),
                changes,
            }
        })
        .collect();
    audit::record_many(tx, actor, entries).await
}

/// Applies a batch of rows in one transaction (rolled back when `dry_run`).
/// Each row's outcome is returned in order.
pub async fn apply(
    db: &Db,
    actor: &Actor,
    scope: Option<&Principal>,
    owner: &Owner,
    rows: &[ImportedRow],
    dry_run: bool,
) -> Result<Vec<Outcome>> {
    let mut tx = db.begin().await?;
    let out = apply_in(&mut tx, actor, scope, owner, rows).await?;
    if !dry_run {
        tx.commit().await?;
    }
    Ok(out)
}

/// [`apply`] within a transaction of the caller's.
pub(crate) async fn apply_in(
    tx: &mut Tx,
    actor: &Actor,
    scope: Option<&Principal>,
    owner: &Owner,
    rows: &[ImportedRow],
) -> Result<Vec<Outcome>> {
    let prepared: Vec<Prepared> = rows.iter().map(Prepared::of).collect();
    let now = Timestamp::now();
    let mut known = Known::load(tx, &prepared).await?;
    let out = plan(&mut known, scope, owner, &prepared, now);
    write(tx, actor, &known, now).await?;
    Ok(out)
}
