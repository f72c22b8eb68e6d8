//! Customers: create, read, update, delete to the recycle bin, restore,
//! purge, list with filters and search, reveal a phone number. Every
//! operation takes the acting [`Principal`] and enforces its scope.

use crate::audit::{self, Actor, Entry};
use crate::db::{Arg, Query, Tx};
use crate::tags::{self, Tag};
use crate::{Db, Error, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kehu_domain::custom_field;
use kehu_domain::customer::{
    ConsentChannel, ConsentStatus, CustomerFields, CustomerKind, GenderCode, Grade, Source,
};
use kehu_domain::ids::{CustomerId, TeamId, UserId};
use kehu_domain::mobile::Mobile;
use kehu_domain::role::{PhoneAccess, Placement, Principal, Scope};
use kehu_domain::search::{self, SearchQuery};
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Problem};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// How long a deleted customer stays in the recycle bin.
pub const RECYCLE_DAYS: i64 = 30;

#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    id: String,
    kind: String,
    name: String,
    gender: Option<String>,
    title: Option<String>,
    mobile: Option<String>,
    email: Option<String>,
    wechat: Option<String>,
    company: Option<String>,
    city: Option<String>,
    address: Option<String>,
    source: Option<String>,
    referred_by: Option<String>,
    referred_by_name: Option<String>,
    birthday: Option<String>,
    grade: Option<String>,
    notes: Option<String>,
    owner_id: Option<String>,
    owner_name: Option<String>,
    team_id: Option<String>,
    team_name: Option<String>,
    custom_fields: String,
    external_id: Option<String>,
    last_contact_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    deleted_at: Option<i64>,
}

/// The columns of a customer row, over the alias `c` and [`joins!`].
macro_rules! columns {
    () => {
        "SELECT c.id, c.kind, c.name, c.gender, c.title, c.mobile, c.email, c.wechat, c.company, c.city, \
         c.address, c.source, c.referred_by, r.name AS referred_by_name, c.birthday, c.grade, c.notes, c.owner_id, \
         u.name AS owner_name, c.team_id, t.name AS team_name, c.custom_fields, c.external_id, c.last_contact_at, c.created_at, \
         c.updated_at, c.deleted_at"
    };
}
/// The names of a customer's owner, team and referrer.
macro_rules! joins {
    () => {
        "LEFT JOIN users u ON u.id = c.owner_id \
         LEFT JOIN teams t ON t.id = c.team_id \
         LEFT JOIN customers r ON r.id = c.referred_by"
    };
}
const SELECT: &str = concat!(columns!(), " FROM customers c ", joins!());

/// A customer record with everything the archive holds on it.
#[derive(Debug, Clone)]
pub struct Customer {
    pub id: CustomerId,
    pub fields: CustomerFields,
    pub owner_name: Option<String>,
    pub team_id: Option<TeamId>,
    pub team_name: Option<String>,
    pub referred_by_name: Option<String>,
    pub custom: Map<String, Value>,
    /// The customer's id in the system it was imported from.
    pub external_id: Option<String>,
    pub tags: Vec<Tag>,
    pub consents: BTreeMap<ConsentChannel, ConsentStatus>,
    pub last_contact_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

impl Customer {
    pub fn placement(&self) -> Placement {
        Placement {
            owner_id: self.fields.owner_id.clone(),
            team_id: self.team_id.clone(),
        }
    }

    /// The state compared by the audit log.
    pub(crate) fn snapshot(&self) -> Map<String, Value> {
        let f = &self.fields;
        let mut m = json!({
            "kind": f.kind.code(), "name": f.name, "gender": f.gender.map(|g| g.code()),
            "title": f.title, "mobile": f.mobile.as_ref().map(|m| m.as_str()), "email": f.email,
            "wechat": f.wechat, "company": f.company, "city": f.city, "address": f.address,
            "source": f.source.map(|s| s.code()), "referred_by": f.referred_by,
            "birthday": f.birthday.map(|d| d.to_string()), "grade": f.grade.map(|g| g.code()),
            "notes": f.notes, "owner_id": f.owner_id,
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        for (k, v) in &self.custom {
            m.insert(format!("custom.{k}"), v.clone());
        }
        let mut tags: Vec<&str> = self.tags.iter().map(|t| t.name.as_str()).collect();
        tags.sort();
        if !tags.is_empty() {
            m.insert("tags".into(), json!(tags.join(", ")));
        }
        for (ch, st) in &self.consents {
            m.insert(format!("consent.{}", ch.code()), json!(st.code()));
        }
        m.retain(|_, v| !v.is_null());
        m
    }
}

fn parse_opt<T>(v: Option<String>, p: fn(&str) -> Result<T, Problem>) -> Option<T> {
    v.and_then(|s| p(&s).ok())
}

impl Row {
    fn into_customer(self) -> Result<Customer> {
        let bad = |e: String| Error::Other(e);
        Ok(Customer {
            id: self.id.parse().map_err(bad)?,
            fields: CustomerFields {
                kind: CustomerKind::parse(&self.kind).unwrap_or(CustomerKind::Person),
                name: self.name,
                gender: parse_opt(self.gender, GenderCode::parse),
                title: self.title,
                mobile: self.mobile.map(Mobile::from_stored),
                email: self.email,
                wechat: self.wechat,
                company: self.company,
                city: self.city,
                address: self.address,
                source: parse_opt(self.source, Source::parse),
                referred_by: self.referred_by.and_then(|s| s.parse().ok()),
                birthday: self
                    .birthday
                    .and_then(|s| chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()),
                grade: parse_opt(self.grade, Grade::parse),
                notes: self.notes,
                owner_id: self.owner_id.and_then(|s| s.parse().ok()),
            },
            owner_name: self.owner_name,
            team_id: self.team_id.and_then(|s| s.parse().ok()),
            team_name: self.team_name,
            referred_by_name: self.referred_by_name,
            custom: serde_json::from_str(&self.custom_fields).unwrap_or_default(),
            external_id: self.external_id,
            tags: Vec::new(),
            consents: BTreeMap::new(),
            last_contact_at: self.last_contact_at.and_then(Timestamp::from_millis),
            created_at: Timestamp::from_millis(self.created_at).unwrap_or_else(Timestamp::now),
            updated_at: Timestamp::from_millis(self.updated_at).unwrap_or_else(Timestamp::now),
            deleted_at: self.deleted_at.and_then(Timestamp::from_millis),
        })
    }
}

#[derive(sqlx::FromRow)]
struct ConsentRow {
    channel: String,
    status: String,
}

/// A tag (`is_tag`: tag id and name) or a consent (channel and status) of
/// a customer, as [`relation_query`] reads them.
#[derive(sqlx::FromRow)]
struct RelationRow {
    is_tag: bool,
    customer_id: String,
    a: String,
    b: String,
}

/// One query for the tags (by name) and consents of these customers.
fn relation_query(list: &[Customer]) -> Query {
    let ids = || list.iter().map(|c| c.id.as_str());
    let mut q = Query::new(
        "SELECT TRUE AS is_tag, ct.customer_id, t.id AS a, t.name AS b \
         FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.customer_id IN ",
    );
    q.push_list(ids()).push(
        " UNION ALL SELECT FALSE, customer_id, channel, status FROM consents WHERE customer_id IN ",
    );
    q.push_list(ids()).push(" ORDER BY 1, 4");
    q
}

/// Puts loaded tag and consent rows on their customers.
fn put_relations(list: &mut [Customer], rows: Vec<RelationRow>) {
    let index: HashMap<String, usize> = list
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.to_string(), i))
        .collect();
    for r in rows {
        let Some(&i) = index.get(&r.customer_id) else {
            continue;
        };
        if r.is_tag {
            list[i].tags.push(Tag { id: r.a, name: r.b });
        } else if let (Ok(ch), Ok(st)) = (ConsentChannel::parse(&r.a), ConsentStatus::parse(&r.b)) {
            list[i].consents.insert(ch, st);
        }
    }
}

/// Loads tags and consents of these customers (one query).
async fn attach(db: &Db, list: &mut [Customer]) -> Result<()> {
    if list.is_empty() {
        return Ok(());
    }
    let rows = db.conn().fetch_all(relation_query(list)).await?;
    put_relations(list, rows);
    Ok(())
}

/// Customers (live or deleted) matching `cond` (SQL after `WHERE`, over the
/// alias `c`), with tags and consents, read inside a transaction.
pub(crate) async fn load_where_tx(tx: &mut Tx, cond: Query) -> Result<Vec<Customer>> {
    let Query { sql, args } = cond;
    let q = Query {
        sql: format!("{SELECT} WHERE {sql}"),
        args,
    };
    let rows: Vec<Row> = tx.fetch_all(q).await?;
    let mut list = rows
        .into_iter()
        .map(Row::into_customer)
        .collect::<Result<Vec<_>>>()?;
    if !list.is_empty() {
        let rows = tx.fetch_all(relation_query(&list)).await?;
        put_relations(&mut list, rows);
    }
    Ok(list)
}

pub(crate) async fn load_tx(tx: &mut Tx, id: &CustomerId) -> Result<Customer> {
    load_where_tx(tx, Query::new("c.id = $1").bind(id))
        .await?
        .pop()
        .ok_or(Error::NotFound)
}

pub(crate) async fn load(db: &Db, id: &CustomerId) -> Result<Customer> {
    let row: Row = db
        .conn()
        .fetch_one(Query::new(format!("{SELECT} WHERE c.id = $1")).bind(id))
        .await?;
    let mut list = [row.into_customer()?];
    attach(db, &mut list).await?;
    let [c] = list;
    Ok(c)
}

/// A live customer the principal may read; `NotFound` otherwise, or
/// `Merged` naming the survivor when it was merged into one the principal
/// may read.
pub async fn get(db: &Db, by: &Principal, id: &CustomerId) -> Result<Customer> {
    let c = load(db, id).await?;
    if !by.can_read(&c.placement()) {
        return Err(Error::NotFound);
    }
    if c.deleted_at.is_some() {
        return Err(match crate::merge::survivor_of(db, by, id).await? {
            Some(s) => Error::Merged(s),
            None => Error::NotFound,
        });
    }
    Ok(c)
}

/// Customers (live or deleted) matching `cond` (SQL after `WHERE`, over
/// the alias `c`), with tags and consents.
pub(crate) async fn load_where(db: &Db, cond: Query) -> Result<Vec<Customer>> {
    let Query { sql, args } = cond;
    let q = Query {
        sql: format!("{SELECT} WHERE {sql}"),
        args,
    };
    let rows: Vec<Row> = db.conn().fetch_all(q).await?;
    let mut list = rows
        .into_iter()
        .map(Row::into_customer)
        .collect::<Result<Vec<_>>>()?;
    attach(db, &mut list).await?;
    Ok(list)
}

/// What a create or an update writes. An update sends the whole record
/// (the caller overlays its changes on the current one).
#[derive(Debug, Clone)]
pub struct CustomerWrite {
    pub fields: CustomerFields,
    pub custom: Map<String, Value>,
    pub tags: Vec<String>,
    pub consents: BTreeMap<ConsentChannel, ConsentStatus>,
}

impl CustomerWrite {
    /// The current record in write form, to overlay changes on.
    pub fn from_customer(c: &Customer) -> CustomerWrite {
        CustomerWrite {
            fields: c.fields.clone(),
            custom: c.custom.clone(),
            tags: c.tags.iter().map(|t| t.name.clone()).collect(),
            consents: c.consents.clone(),
        }
    }
}

/// Checks the owner a write asks for and returns (owner, team).
async fn resolve_owner(
    tx: &mut Tx,
    by: Option<&Principal>,
    asked: Option<&UserId>,
    current: Option<&UserId>,
) -> Result<(Option<UserId>, Option<TeamId>)> {
    let owner = match (asked, by) {
        (Some(o), _) => Some(o.clone()),
        (None, _) if current.is_some() => current.cloned(),
        (None, Some(p)) => Some(p.user_id.clone()),
        (None, None) => None,
    };
    let Some(owner) = owner else {
        return Ok((None, None));
    };
    let row: Option<(Option<String>, bool)> = tx
        .fetch_optional(Query::new("SELECT team_id, active FROM users WHERE id = $1").bind(&owner))
        .await?;
    let Some((team, active)) = row else {
        return Err(FieldErrors::single("owner_id", Problem::NotFound).into());
    };
    let team: Option<TeamId> = team.and_then(|t| t.parse().ok());
    if let Some(p) = by {
        let changes_owner = Some(&owner) != current && owner != p.user_id;
        if changes_owner {
            let allowed = active && p.can_assign(&owner, team.as_ref());
            if !allowed {
                return Err(FieldErrors::single("owner_id", Problem::NotAllowed).into());
            }
        }
    }
    Ok((Some(owner), team))
}

/// Checks a write of `w` over `before` (none when creating).
async fn check_write(
    tx: &mut Tx,
    by: Option<&Principal>,
    w: &CustomerWrite,
    before: Option<&Customer>,
) -> Result<(Map<String, Value>, Vec<String>)> {
    let mut e = FieldErrors::new();
    let self_id = before.map(|b| &b.id);
    let kept = |r: &CustomerId| before.is_some_and(|b| b.fields.referred_by.as_ref() == Some(r));
    if let Some(r) = w.fields.referred_by.as_ref().filter(|r| !kept(r)) {
        // A new referrer must be a live customer the writer may see; one
        // already there stays, whoever may see it.
        let found: Option<(Option<String>, Option<String>)> = tx
            .fetch_optional(
                Query::new(
                    "SELECT owner_id, team_id FROM customers WHERE id = $1 AND deleted_at IS NULL",
                )
                .bind(r),
            )
            .await?;
        let visible = found.is_some_and(|(owner, team)| {
            let place = Placement {
                owner_id: owner.and_then(|o| o.parse().ok()),
                team_id: team.and_then(|t| t.parse().ok()),
            };
            by.is_none_or(|p| p.can_read(&place))
        });
        if !visible || Some(r) == self_id {
            e.add("referred_by", Problem::NotFound);
        }
    }
    let defs: Vec<(String, String, String, bool, bool)> = tx
        .fetch_all(Query::new(
            "SELECT key, kind, options, required, active FROM custom_fields",
        ))
        .await?;
    let rules: Vec<custom_field::FieldRule> = defs
        .iter()
        .filter(|d| d.4)
        .map(|d| custom_field::FieldRule {
            key: d.0.clone(),
            kind: custom_field::FieldKind::parse(&d.1).unwrap_or(custom_field::FieldKind::Text),
            options: serde_json::from_str(&d.2).unwrap_or_default(),
            required: d.3,
        })
        .collect();
    // Values of retired fields are kept as they are.
    let retired: Vec<&String> = defs.iter().filter(|d| !d.4).map(|d| &d.0).collect();
    let (kept, active): (Map<String, Value>, Map<String, Value>) = {
        let mut kept = Map::new();
        let mut active = Map::new();
        for (k, v) in &w.custom {
            if retired.contains(&k) {
                kept.insert(k.clone(), v.clone());
            } else {
                active.insert(k.clone(), v.clone());
            }
        }
        (kept, active)
    };
    let mut custom = match custom_field::validate(&rules, &active) {
        Ok(m) => m,
        Err(fe) => {
            e.0.extend(fe.0);
            Map::new()
        }
    };
    custom.extend(kept);
    let tag_names = match tags::parse_names(&w.tags) {
        Ok(t) => t,
        Err(fe) => {
            e.0.extend(fe.0);
            vec![]
        }
    };
    e.into_result()?;
    Ok((custom, tag_names))
}

pub(crate) async fn write_relations(
    tx: &mut Tx,
    actor: &Actor,
    id: &CustomerId,
    tag_names: &[String],
    consents: &BTreeMap<ConsentChannel, ConsentStatus>,
) -> Result<()> {
    let tags = tags::ensure(tx, actor, tag_names).await?;
    tx.execute(Query::new("DELETE FROM customer_tags WHERE customer_id = $1").bind(id))
        .await?;
    for t in &tags {
        tags::link(tx, id, &t.id).await?;
    }
    let now = Timestamp::now();
    let current: Vec<ConsentRow> = tx
        .fetch_all(
            Query::new("SELECT channel, status FROM consents WHERE customer_id = $1").bind(id),
        )
        .await?;
    for r in &current {
        if ConsentChannel::parse(&r.channel)
            .map(|c| !consents.contains_key(&c))
            .unwrap_or(true)
        {
            tx.execute(
                Query::new("DELETE FROM consents WHERE customer_id = $1 AND channel = $2")
                    .bind(id)
                    .bind(&r.channel),
            )
            .await?;
        }
    }
    for (ch, st) in consents {
        let same = current
            .iter()
            .any(|r| r.channel == ch.code() && r.status == st.code());
        if !same {
            tx.execute(
                Query::new(
                    "INSERT INTO consents (customer_id, channel, status, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (customer_id, channel) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                )
                .bind(id)
                .bind(ch.code())
                .bind(st.code())
                .bind(now)
                .bind(actor.user_id.as_ref()),
            )
            .await?;
        }
    }
    Ok(())
}

/// The values of [`FIELD_COLUMNS`], in order.
pub(crate) fn field_args(f: &CustomerFields) -> Vec<Arg> {
    let py = f.pinyin();
    vec![
        f.kind.code().into(),
        f.name.as_str().into(),
        py.full.into(),
        py.initials.into(),
        f.gender.map(|g| g.code()).into(),
        f.title.clone().into(),
        f.mobile.as_ref().map(|m| m.as_str()).into(),
        f.mobile.as_ref().map(|m| m.last4()).into(),
        f.email.clone().into(),
        f.wechat.clone().into(),
        f.company.clone().into(),
        f.city.clone().into(),
        f.address.clone().into(),
        f.source.map(|s| s.code()).into(),
        f.referred_by.as_ref().into(),
        f.birthday.map(|d| d.format("%Y-%m-%d").to_string()).into(),
        f.grade.map(|g| g.code()).into(),
        f.notes.clone().into(),
    ]
}

/// The columns a customer's own fields are stored in.
pub(crate) const FIELD_COLUMNS: &str = "kind, name, name_pinyin, name_initials, gender, title, mobile, mobile_last4, email, wechat, company, city, address, source, referred_by, birthday, grade, notes";

/// `UPDATE customers` of a customer's own fields plus `extra` columns.
pub(crate) fn update_query(id: &CustomerId, f: &CustomerFields, extra: Vec<(&str, Arg)>) -> Query {
    let mut sets: Vec<String> = FIELD_COLUMNS
        .split(", ")
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 2))
        .collect();
    let n = sets.len() + 2;
    sets.extend(
        extra
            .iter()
            .enumerate()
            .map(|(i, (c, _))| format!("{c} = ${}", n + i)),
    );
    let mut q = Query::new(format!(
        "UPDATE customers SET {} WHERE id = $1",
        sets.join(", ")
    ));
    q.args.push(Arg::from(id));
    q.args.extend(field_args(f));
    q.args.extend(extra.into_iter().map(|(_, a)| a));
    q
}

/// Creates a customer. `by` is `None` for system imports (no owner unless
/// the fields name one).
pub async fn create(db: &Db, by: Option<&Principal>, w: CustomerWrite) -> Result<Customer> {
    create_in(db, by, "import", w, false).await
}

/// Creates a customer for a system path other than imports (the public
/// support form), audited as `system:{what}`.
pub async fn create_by_system(db: &Db, what: &str, w: CustomerWrite) -> Result<Customer> {
    create_in(db, None, what, w, false).await
}

/// Creates a customer unless it looks like one the principal may already
/// see (same mobile, e-mail, or name and organisation): then nothing is
/// written and the answer is [`Error::Duplicate`] listing them.
pub async fn create_unless_duplicate(
    db: &Db,
    by: &Principal,
    w: CustomerWrite,
) -> Result<Customer> {
    create_in(db, Some(by), "import", w, true).await
}

async fn create_in(
    db: &Db,
    by: Option<&Principal>,
    system: &str,
    w: CustomerWrite,
    refuse_duplicates: bool,
) -> Result<Customer> {
    if let Some(p) = by {
        if !p.role.can_write_customers() {
            return Err(Error::Forbidden);
        }
    }
    let actor = by.map(Actor::from).unwrap_or_else(|| Actor::system(system));
    let mut tx = db.begin().await?;
    let (custom, tag_names) = check_write(&mut tx, by, &w, None).await?;
    let (owner, team) = resolve_owner(&mut tx, by, w.fields.owner_id.as_ref(), None).await?;
    if refuse_duplicates {
        let found = crate::duplicates::matching(&mut tx, by, &w.fields).await?;
        if !found.is_empty() {
            return Err(Error::Duplicate(found));
        }
    }
    let id = CustomerId::new();
    let now = Timestamp::now();
    let mut q = Query::new(format!(
        "INSERT INTO customers (id, {FIELD_COLUMNS}, owner_id, team_id, custom_fields, created_by, created_at, updated_at) VALUES "
    ));
    let mut args = vec![Arg::from(&id)];
    args.extend(field_args(&w.fields));
    args.extend([
        owner.as_ref().into(),
        team.as_ref().into(),
        serde_json::to_string(&custom).unwrap().into(),
        actor.user_id.as_ref().into(),
        now.into(),
        now.into(),
    ]);
    q.push_list(args);
    tx.execute(q).await?;
    write_relations(&mut tx, &actor, &id, &tag_names, &w.consents).await?;
    // A new customer has no contacts: its terms come from its own fields.
    let terms = crate::search::terms_of(&w.fields, []);
    crate::search::insert(&mut tx, [(&id, &terms)]).await?;
    let c = load_tx(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        &actor,
        Entry {
            action: "create",
            entity: "customer",
            entity_id: id.as_str(),
            customer_id: Some(&id),
            changes: audit::created(&c.snapshot()),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(c)
}

/// Replaces a customer's record with `w` (within the principal's scope).
pub async fn update(
    db: &Db,
    by: &Principal,
    id: &CustomerId,
    w: CustomerWrite,
) -> Result<Customer> {
    let mut tx = db.begin().await?;
    let before = load_tx(&mut tx, id).await?;
    if before.deleted_at.is_some() || !by.can_read(&before.placement()) {
        return Err(Error::NotFound);
    }
    if !by.can_write(&before.placement()) {
        return Err(Error::Forbidden);
    }
    let (custom, tag_names) = check_write(&mut tx, Some(by), &w, Some(&before)).await?;
    let (owner, team) = resolve_owner(
        &mut tx,
        Some(by),
        w.fields.owner_id.as_ref(),
        before.fields.owner_id.as_ref(),
    )
    .await?;
    let actor = Actor::from(by);
    let mut extra = vec![
        ("owner_id", owner.as_ref().into()),
        ("team_id", team.as_ref().into()),
        (
            "custom_fields",
            serde_json::to_string(&custom).unwrap().into(),
        ),
        ("updated_at", Timestamp::now().into()),
    ];
    // A grade changed by hand stays until cleared (the nightly recompute
    // sets only grades nobody chose); clearing it goes back to the data.
    if w.fields.grade != before.fields.grade {
        let chosen = w.fields.grade.map(|g| g.code());
        extra.push(("grade_override", chosen.into()));
        extra.push(("grade_reason", chosen.map(|_| GRADE_SET_IN_RECORD).into()));
    }
    let q = update_query(id, &w.fields, extra);
    tx.execute(q).await?;
    write_relations(&mut tx, &actor, id, &tag_names, &w.consents).await?;
    let after = load_tx(&mut tx, id).await?;
    if crate::search::indexed_text(&after.fields) != crate::search::indexed_text(&before.fields) {
        crate::search::reindex(&mut tx, &[id]).await?;
    }
    let changes = audit::diff(&before.snapshot(), &after.snapshot());
    if !changes.is_empty() {
        audit::record(
            &mut tx,
            &actor,
            Entry {
                action: "update",
                entity: "customer",
                entity_id: id.as_str(),
                customer_id: Some(id),
                changes,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(after)
}

/// The reason kept with a grade changed in the customer's record.
pub const GRADE_SET_IN_RECORD: &str = "在客户资料中手工修改 (set in the customer record)";

/// Moves a customer to the recycle bin.
pub async fn delete(db: &Db, by: &Principal, id: &CustomerId) -> Result<()> {
    let c = get(db, by, id).await?;
    if !by.can_delete(&c.placement()) {
        return Err(Error::Forbidden);
    }
    let mut tx = db.begin().await?;
    let now = Timestamp::now();
    tx.execute(Query::new("UPDATE customers SET deleted_at = $2, deleted_by = $3 WHERE id = $1 AND deleted_at IS NULL").bind(id).bind(now).bind(&by.user_id))
        .await?;
    audit::record(
        &mut tx,
        &Actor::from(by),
        Entry {
            action: "delete",
            entity: "customer",
            entity_id: id.as_str(),
            customer_id: Some(id),
            changes: vec![],
        },
    )
    .await?;
    tx.commit().await
}

/// Takes a customer out of the recycle bin (admins).
pub async fn restore(db: &Db, by: &Principal, id: &CustomerId) -> Result<Customer> {
    if !by.role.is_admin() {
        return Err(Error::Forbidden);
    }
    let mut tx = db.begin().await?;
    let n = tx.execute(Query::new("UPDATE customers SET deleted_at = NULL, deleted_by = NULL WHERE id = $1 AND deleted_at IS NOT NULL AND merged_into IS NULL").bind(id)).await?;
    if n == 0 {
        return Err(Error::NotFound);
    }
    audit::record(
        &mut tx,
        &Actor::from(by),
        Entry {
            action: "restore",
            entity: "customer",
            entity_id: id.as_str(),
            customer_id: Some(id),
            changes: vec![],
        },
    )
    .await?;
    let c = load_tx(&mut tx, id).await?;
    tx.commit().await?;
    Ok(c)
}

/// Deletes for good what has been in the recycle bin longer than
/// [`RECYCLE_DAYS`], with the customers once merged into them. Their audit
/// entries stay. Returns how many went.
pub async fn purge_expired(db: &Db, now: Timestamp) -> Result<u64> {
    let cutoff = now.minus_days(RECYCLE_DAYS);
    let mut tx = db.begin().await?;
    let ids: Vec<(String,)> = tx
        .fetch_all(
            Query::new("SELECT id FROM customers WHERE deleted_at IS NOT NULL AND merged_into IS NULL AND deleted_at < $1")
                .bind(cutoff),
        )
        .await?;
    let actor = Actor::system("purge");
    let gone: Vec<&str> = ids.iter().map(|(i,)| i.as_str()).collect();
    crate::search::remove(&mut tx, &gone).await?;
    for (id,) in &ids {
        tx.execute(
            Query::new("UPDATE customers SET referred_by = NULL WHERE referred_by = $1").bind(id),
        )
        .await?;
        tx.execute(Query::new("DELETE FROM customers WHERE id = $1").bind(id))
            .await?;
        let cid: Option<CustomerId> = id.parse().ok();
        audit::record(
            &mut tx,
            &actor,
            Entry {
                action: "purge",
                entity: "customer",
                entity_id: id,
                customer_id: cid.as_ref(),
                changes: vec![],
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(ids.len() as u64)
}

/// Shows a customer's full mobile number to a principal whose role sees it
/// masked, recording the reveal in the audit log.
pub async fn reveal_mobile(db: &Db, by: &Principal, id: &CustomerId) -> Result<Option<String>> {
    let c = get(db, by, id).await?;
    if by.role.phone_access() == PhoneAccess::Masked {
        return Err(Error::Forbidden);
    }
    let mut tx = db.begin().await?;
    audit::record(
        &mut tx,
        &Actor::from(by),
        Entry {
            action: "reveal",
            entity: "customer",
            entity_id: id.as_str(),
            customer_id: Some(id),
            changes: vec![audit::Change {
                field: "mobile".into(),
                old: Value::Null,
                new: Value::Null,
            }],
        },
    )
    .await?;
    tx.commit().await?;
    Ok(c.fields.mobile.map(|m| m.as_str().to_string()))
}

/// Records that the customer was contacted now (an interaction).
pub async fn touch_contact(tx: &mut Tx, id: &CustomerId, at: Timestamp) -> Result<()> {
    tx.execute(Query::new("UPDATE customers SET last_contact_at = $2 WHERE id = $1 AND (last_contact_at IS NULL OR last_contact_at < $2)").bind(id).bind(at)).await?;
    Ok(())
}

// ---------------------------------------------------------------- listing

/// Filters of the customer list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    pub q: Option<String>,
    pub owner_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    /// A tag name.
    pub tag: Option<String>,
    pub source: Option<Source>,
    pub grade: Option<Grade>,
    pub kind: Option<CustomerKind>,
    /// The recycle bin instead of live customers (admins only).
    pub deleted: bool,
}

/// Sort orders of the customer list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Sort {
    #[default]
    #[serde(rename = "-created_at")]
    NewestFirst,
    #[serde(rename = "created_at")]
    OldestFirst,
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "-name")]
    NameDesc,
    #[serde(rename = "-updated_at")]
    RecentlyUpdated,
}

impl Sort {
    pub const ALL: [Sort; 5] = [
        Sort::NewestFirst,
        Sort::OldestFirst,
        Sort::Name,
        Sort::NameDesc,
        Sort::RecentlyUpdated,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Sort::NewestFirst => "-created_at",
            Sort::OldestFirst => "created_at",
            Sort::Name => "name",
            Sort::NameDesc => "-name",
            Sort::RecentlyUpdated => "-updated_at",
        }
    }

    pub fn parse(s: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|x| x.code() == s.trim())
    }

    /// The column sorted on (of `customers`, and copied on each tag link).
    fn column(self) -> &'static str {
        match self {
            Sort::NewestFirst | Sort::OldestFirst => "created_at",
            // Chinese names sort by their reading (pinyin), as people expect.
            Sort::Name | Sort::NameDesc => "name_pinyin",
            Sort::RecentlyUpdated => "updated_at",
        }
    }

    fn descending(self) -> bool {
        matches!(
            self,
            Sort::NewestFirst | Sort::NameDesc | Sort::RecentlyUpdated
        )
    }
}

/// Where a page starts. Cursors are opaque to clients.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Cursor {
    /// The sort it was made for (its code): under another it means nothing.
    #[serde(rename = "s")]
    sort: String,
    #[serde(rename = "p")]
    at: Position,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
enum Position {
    /// After this sort value and id (keyset paging).
    #[serde(rename = "k")]
    Key(Value, String),
    /// After this many rows (ranked search results).
    #[serde(rename = "o")]
    Offset(i64),
}

/// Where a page of `sort` starts, read from a cursor.
enum Start {
    After(Arg, String),
    Skip(i64),
}

fn encode_cursor(sort: Sort, at: Position) -> String {
    let c = Cursor {
        sort: sort.code().into(),
        at,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap())
}

/// Reads a cursor for a list in `sort` order, `searching` or not. Anything
/// else than a cursor that list gave is the caller's mistake.
fn decode_cursor(s: &str, sort: Sort, searching: bool) -> Result<Start> {
    let bad = |zh: &str, en: &str| {
        Error::BadQuery(FieldErrors::single(
            "cursor",
            Problem::Invalid {
                zh: zh.into(),
                en: en.into(),
            },
        ))
    };
    let invalid = || bad("分页游标无效", "is not a valid cursor");
    let c: Cursor = URL_SAFE_NO_PAD
        .decode(s.trim())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(invalid)?;
    if c.sort != sort.code() {
        return Err(bad(
            "分页游标属于另一种排序",
            "was made for another sort order",
        ));
    }
    let by_name = matches!(sort, Sort::Name | Sort::NameDesc);
    match (c.at, searching) {
        (Position::Key(Value::String(v), id), false) if by_name => Ok(Start::After(v.into(), id)),
        (Position::Key(Value::Number(n), id), false) if !by_name => n
            .as_i64()
            .map(|v| Start::After(v.into(), id))
            .ok_or_else(invalid),
        (Position::Offset(n), _) if n >= 0 => Ok(Start::Skip(n)),
        _ => Err(invalid()),
    }
}

/// A page of the list.
#[derive(Debug, Clone)]
pub struct Page {
    pub items: Vec<Customer>,
    pub next_cursor: Option<String>,
}

/// Escapes LIKE wildcards; patterns use `ESCAPE '\'`.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Appends the scope, filter and search conditions (after a WHERE). A
/// search reaches at most `reach` candidates per kind of match (see
/// [`SEARCH_REACH`]); `None` reaches every match.
fn push_conditions(
    q: &mut Query,
    by: &Principal,
    f: &Filter,
    search: Option<&Search>,
    reach: Option<i64>,
) {
    push_scope_and_filters(q, by, f);
    if let Some(s) = search {
        push_search(q, by, f, s, reach);
    }
}

/// A parsed search and how its lookups are read: on SQLite each lookup
/// walks its index in id order and stops at the reach, the terms rarest
/// first with `EXISTS` for the others; on PostgreSQL, whose planner spends
/// longer on many ordered subqueries and chains of `EXISTS` than the
/// lookups themselves take, the lookups are collected (terms grouped) and
/// then cut to the reach, except for a search that is one term and nothing
/// else (two characters of a name or company), which walks as on SQLite:
/// collecting every posting of a common bigram is what costs there.
struct Search {
    query: SearchQuery,
    walk: bool,
}

/// The conditions besides the search, over the alias `c`.
fn push_scope_and_filters(q: &mut Query, by: &Principal, f: &Filter) {
    // Customers merged into another are hidden like deleted ones, and are
    // not in the recycle bin either.
    q.push(if f.deleted {
        " c.deleted_at IS NOT NULL AND c.merged_into IS NULL"
    } else {
        " c.deleted_at IS NULL"
    });
    push_scope(q, by);
    push_filters(q, f);
}

/// Appends ` AND` the principal's scope over the alias `c` (nothing for
/// those who see every customer).
pub(crate) fn push_scope(q: &mut Query, by: &Principal) {
    match by.scope() {
        Scope::All => {}
        Scope::Team => {
            q.push(" AND (c.owner_id = ")
                .push_arg(&by.user_id)
                .push(" OR c.team_id = ")
                .push_arg(by.team_id.as_ref())
                .push(")");
        }
        Scope::Own => {
            q.push(" AND c.owner_id = ").push_arg(&by.user_id);
        }
    }
}

fn push_filters(q: &mut Query, f: &Filter) {
    if let Some(o) = &f.owner_id {
        q.push(" AND c.owner_id = ").push_arg(o);
    }
    if let Some(t) = &f.team_id {
        q.push(" AND c.team_id = ").push_arg(t);
    }
    if let Some(s) = f.source {
        q.push(" AND c.source = ").push_arg(s.code());
    }
    if let Some(g) = f.grade {
        q.push(" AND c.grade = ").push_arg(g.code());
    }
    if let Some(k) = f.kind {
        q.push(" AND c.kind = ").push_arg(k.code());
    }
    if let Some(t) = tag_of(f) {
        // The tag's id is a constant subquery, looked up once per query
        // rather than once per customer checked.
        q.push(" AND EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.customer_id = c.id AND ct.tag_id = (SELECT id FROM tags WHERE name = ").push_arg(t).push("))");
    }
}

/// The filter's tag, if it names one.
fn tag_of(f: &Filter) -> Option<&str> {
    f.tag.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

/// Where a list reads its customers from. A tag filter without a search
/// walks the tag's links in the list's order (each holds its customer's
/// sort keys, migration 0014) and stops after the page, instead of walking
/// every customer in order to check each for the tag.
enum Driver {
    Customers,
    Tag(String),
}

impl Driver {
    /// The driver for a filter, with what is left of the filter to check
    /// on each customer.
    fn of<'f>(f: &'f Filter, search: Option<&Search>) -> (Driver, Cow<'f, Filter>) {
        match (tag_of(f), search) {
            (Some(t), None) => (
                Driver::Tag(t.to_string()),
                Cow::Owned(Filter {
                    tag: None,
                    ..f.clone()
                }),
            ),
            _ => (Driver::Customers, Cow::Borrowed(f)),
        }
    }

    /// `FROM` the tables read first (`c` is the customer; `ct` a tag's
    /// link), then `joins`, then `WHERE` and the driver's own conditions,
    /// ready for more.
    fn push_from(&self, q: &mut Query, joins: &str) {
        q.push(match self {
            Driver::Customers => " FROM customers c ",
            // CROSS JOIN keeps SQLite's loop over the links outermost.
            Driver::Tag(_) => " FROM customer_tags ct CROSS JOIN customers c ",
        });
        q.push(joins).push(" WHERE");
        if let Driver::Tag(t) = self {
            q.push(" ct.tag_id = (SELECT id FROM tags WHERE name = ")
                .push_arg(t.as_str())
                .push(") AND c.id = ct.customer_id AND");
        }
    }

    /// The sort column and the id column the driver reads in order.
    fn key(&self, sort: Sort) -> (String, &'static str) {
        match self {
            Driver::Customers => (format!("c.{}", sort.column()), "c.id"),
            Driver::Tag(_) => (format!("ct.{}", sort.column()), "ct.customer_id"),
        }
    }
}

fn search_text(f: &Filter) -> Option<SearchQuery> {
    f.q.as_deref().and_then(SearchQuery::parse)
}

/// Index entries counted per term when ordering a search's terms.
const TERM_COUNT_CAP: i64 = 5_000;

/// The filter's search with its terms rarest first (counted up to
/// [`TERM_COUNT_CAP`] each, in one query): the term lookup walks the first
/// term's entries and checks the others in order, so a rare first term
/// means a short walk.
async fn search_of(db: &Db, f: &Filter) -> Result<Option<Search>> {
    let Some(mut s) = search_text(f) else {
        return Ok(None);
    };
    let one_term = s.terms.len() == 1
        && s.pinyin.is_none()
        && s.digits.is_none()
        && s.email.is_none()
        && s.domain.is_none();
    // A short prefix's term is shared by many customers: collecting it on
    // PostgreSQL would cost what collecting a common bigram does.
    let walk = db.backend() == crate::db::Backend::Sqlite || one_term || s.prefix.is_some();
    if !walk || s.terms.len() < 2 {
        return Ok(Some(Search { query: s, walk }));
    }
    let mut q = Query::new("");
    for (i, t) in s.terms.iter().enumerate() {
        if i > 0 {
            q.push(" UNION ALL ");
        }
        q.push(&format!(
            "SELECT CAST({i} AS BIGINT) AS i, (SELECT COUNT(*) FROM (SELECT 1 FROM customer_terms WHERE term = "
        ))
        .push_arg(t)
        .push(" LIMIT ")
        .push_arg(TERM_COUNT_CAP)
        .push(") x) AS n");
    }
    let counts: Vec<(i64, i64)> = db.conn().fetch_all(q).await?;
    let mut order: Vec<(i64, usize)> = counts
        .into_iter()
        .filter_map(|(i, n)| usize::try_from(i).ok().map(|i| (n, i)))
        .collect();
    order.sort();
    let terms: Vec<String> = order
        .into_iter()
        .filter_map(|(_, i)| s.terms.get(i).cloned())
        .collect();
    if terms.len() == s.terms.len() {
        s.terms = terms;
    }
    Ok(Some(Search { query: s, walk }))
}

/// `AND col >= prefix AND col < end` (an index range on both databases).
fn push_prefix(q: &mut Query, col: &str, prefix: &str) {
    q.push(&format!(" {col} >= ")).push_arg(prefix);
    if let Some(end) = search::prefix_end(prefix) {
        q.push(&format!(" AND {col} < ")).push_arg(end);
    }
}

/// How many candidates of each kind a search page ranks: the exact matches
/// (name, pinyin, initials, phone, last four digits, e-mail) and all
/// matches, each the most recently added first (ids are time-ordered), within
/// the user's scope and filters. A search matching more customers than this
/// asks for a narrower search; ranking tens of thousands of rows for a page
/// of 20 would make every broad search slow. Exports reach every match.
pub const SEARCH_REACH: i64 = 1000;

/// Narrows to customers the search finds: index lookups (terms, pinyin,
/// mobile, e-mail, tag, contacts' mobiles), never a scan.
fn push_search(q: &mut Query, by: &Principal, f: &Filter, search: &Search, reach: Option<i64>) {
    let (s, walk) = (&search.query, search.walk);
    let Some(reach) = reach else {
        q.push(" AND c.id IN (");
        push_matches(q, s, None, walk);
        q.push(")");
        return;
    };
    q.push(" AND c.id IN (SELECT id FROM (");
    if walk {
        // Each lookup keeps the newest `reach` in scope, and so does each
        // union of them.
        let within = Some((by, f, reach));
        q.push("SELECT id FROM (");
        push_exact(q, s, within);
        q.push(") exact_all ORDER BY id DESC LIMIT ")
            .push_arg(reach)
            .push(") exact UNION SELECT id FROM (SELECT id FROM (");
        push_matches(q, s, within, true);
        q.push(") found ORDER BY id DESC LIMIT ")
            .push_arg(reach)
            .push(") matched)");
    } else {
        push_reached(q, by, f, reach, |q| push_exact(q, s, None));
        q.push(") exact UNION SELECT id FROM (");
        push_reached(q, by, f, reach, |q| push_matches(q, s, None, false));
        q.push(") matched)");
    }
}

/// The newest `reach` ids of a union of lookups that pass the scope and
/// filters. Inside, the alias `c` names the candidate's row.
fn push_reached(
    q: &mut Query,
    by: &Principal,
    f: &Filter,
    reach: i64,
    union: impl FnOnce(&mut Query),
) {
    q.push("SELECT m.id FROM (");
    union(q);
    q.push(") m JOIN customers c ON c.id = m.id WHERE");
    push_scope_and_filters(q, by, f);
    q.push(" ORDER BY m.id DESC LIMIT ").push_arg(reach);
}

/// Customers the text names exactly: the first rank of [`push_rank`], and
/// its pinyin and initials. Within a reach each lookup walks its index
/// (value, then id) newest first.
fn push_exact(q: &mut Query, s: &SearchQuery, within: Within) {
    let text = s.text.as_str();
    let mut exact: Vec<(&str, &str)> = vec![("c.name", text), ("c.email", text)];
    if s.pinyin.is_some() {
        exact.extend([("c.name_pinyin", text), ("c.name_initials", text)]);
    }
    if let Some(d) = &s.digits {
        exact.push(("c.mobile", d.as_str()));
        if d.len() == 4 {
            exact.push(("c.mobile_last4", d.as_str()));
        }
    }
    for (i, (col, value)) in exact.into_iter().enumerate() {
        push_lookup(q, within, i == 0, "customers c", "c.id", |q| {
            q.push(&format!(" {col} = ")).push_arg(value);
        });
    }
}

/// The newest `reach` customers in the principal's scope and filters of
/// one index lookup, or every customer it finds.
type Within<'a> = Option<(&'a Principal, &'a Filter, i64)>;

/// One lookup of [`push_matches`]: the `id` column `key` of `from` (which
/// joins `customers c` unless it is that table) where `cond` holds. Within
/// a reach it keeps the newest ids in scope, so that the database walks the
/// index in id order and stops early instead of collecting every match.
fn push_lookup(
    q: &mut Query,
    within: Within,
    first: bool,
    from: &str,
    key: &str,
    cond: impl FnOnce(&mut Query),
) {
    if !first {
        q.push(" UNION ");
    }
    let joined = if from == "customers c" {
        from.to_string()
    } else {
        format!("{from} JOIN customers c ON c.id = {key}")
    };
    match within {
        None => {
            q.push(&format!("SELECT {key} AS id FROM {from} WHERE"));
            cond(q);
        }
        Some((by, f, reach)) => {
            q.push(&format!(
                "SELECT id FROM (SELECT {key} AS id FROM {joined} WHERE"
            ));
            cond(q);
            q.push(" AND");
            push_scope_and_filters(q, by, f);
            q.push(&format!(" ORDER BY {key} DESC LIMIT "))
                .push_arg(reach)
                .push(") hits");
        }
    }
}

/// Every customer the search finds: a union of index lookups (one column,
/// `id`). The search terms are read as a walk over the first term's
/// entries (in id order) that keeps those having the others too.
fn push_matches(q: &mut Query, s: &SearchQuery, within: Within, walk: bool) {
    // The first lookup always applies, so the union is never empty (a tag's
    // exact name became the tag filter before this; see `tag_as_filter`).
    let terms: Vec<&String> = s
        .terms
        .iter()
        .chain(s.terms.is_empty().then_some(&s.text))
        .collect();
    if walk {
        push_lookup(q, within, true, "customer_terms t", "t.customer_id", |q| {
            q.push(" t.term = ").push_arg(terms[0]);
            for other in &terms[1..] {
                q.push(" AND EXISTS (SELECT 1 FROM customer_terms u WHERE u.term = ")
                    .push_arg(*other)
                    .push(" AND u.customer_id = t.customer_id)");
            }
        });
    } else {
        q.push("SELECT customer_id AS id FROM customer_terms WHERE term IN ")
            .push_list(terms.iter().copied())
            .push(" GROUP BY customer_id HAVING COUNT(*) = ")
            .push_arg(terms.len() as i64);
    }
    // A short prefix is a term (see `kehu_domain::search`); a longer one a
    // range of each column.
    if let Some(t) = &s.prefix {
        push_lookup(q, within, false, "customer_terms t", "t.customer_id", |q| {
            q.push(" t.term = ").push_arg(t.as_str());
        });
    } else if let Some(p) = &s.pinyin {
        for col in ["c.name_pinyin", "c.name_initials"] {
            push_lookup(q, within, false, "customers c", "c.id", |q| {
                push_prefix(q, col, p)
            });
        }
    }
    if let Some(d) = &s.digits {
        push_lookup(q, within, false, "customers c", "c.id", |q| {
            push_prefix(q, "c.mobile", d)
        });
        push_lookup(q, within, false, "contacts ct", "ct.customer_id", |q| {
            push_prefix(q, "ct.mobile", d)
        });
        if d.len() == 4 {
            push_lookup(q, within, false, "customers c", "c.id", |q| {
                q.push(" c.mobile_last4 = ").push_arg(d.as_str());
            });
        }
    }
    if let Some(e) = s.email.as_ref().filter(|_| s.prefix.is_none()) {
        push_lookup(q, within, false, "customers c", "c.id", |q| {
            push_prefix(q, "c.email", e)
        });
    }
    if let Some(d) = &s.domain {
        push_lookup(q, within, false, "customer_terms t", "t.customer_id", |q| {
            q.push(" t.term = ").push_arg(d.as_str());
        });
    }
}

/// How well a row matches the search, best first: exact name, phone, last
/// four digits or e-mail; then a name that starts with the text or whose
/// pinyin or initials are the text; then the rest.
fn push_rank(q: &mut Query, s: &SearchQuery) {
    let text = s.text.as_str();
    let prefix = format!("{}%", like_escape(text));
    q.push("CASE WHEN lower(c.name) = ").push_arg(text);
    if let Some(d) = &s.digits {
        q.push(" OR c.mobile = ").push_arg(d.as_str());
        q.push(" OR c.mobile_last4 = ").push_arg(d.as_str());
    }
    q.push(" OR c.email = ").push_arg(text);
    q.push(" THEN 0 WHEN lower(c.name) LIKE ")
        .push_arg(&prefix)
        .push(" ESCAPE '\\'");
    q.push(" OR c.name_initials = ").push_arg(text);
    q.push(" OR c.name_pinyin = ").push_arg(text);
    q.push(" THEN 1 ELSE 2 END");
}

/// The most customers one call of [`list`] returns: the chunk size of
/// exports (the API's pages hold at most 200).
pub const MAX_LIMIT: i64 = 1000;

/// A search for exactly a tag's name (any case) means the customers with
/// that tag: the search becomes the tag filter, which reads customers in
/// the list's order instead of ranking every customer with a popular tag.
async fn tag_as_filter(db: &Db, f: &Filter) -> Result<Filter> {
    let Some(s) = search_text(f) else {
        return Ok(f.clone());
    };
    let tag: Option<(String,)> = db
        .conn()
        .fetch_optional(
            Query::new("SELECT name FROM tags WHERE lower(name) = $1").bind(s.text.as_str()),
        )
        .await?;
    Ok(match (tag, &f.tag) {
        (Some((name,)), None) => Filter {
            q: None,
            tag: Some(name),
            ..f.clone()
        },
        _ => f.clone(),
    })
}

/// Lists customers in the principal's scope. Pass `offset` for numbered
/// pages (UI) or `cursor` for continuing from an earlier page (API). A
/// search ranks at most [`SEARCH_REACH`] candidates of each kind.
pub async fn list(
    db: &Db,
    by: &Principal,
    f: &Filter,
    sort: Sort,
    limit: i64,
    cursor: Option<&str>,
    offset: Option<i64>,
) -> Result<Page> {
    let reach = Some(SEARCH_REACH);
    list_reaching(db, by, f, sort, limit, cursor, offset, reach).await
}

/// [`list`] whose search reaches every match (exports).
pub(crate) async fn list_every_match(
    db: &Db,
    by: &Principal,
    f: &Filter,
    sort: Sort,
    limit: i64,
    cursor: Option<&str>,
) -> Result<Page> {
    list_reaching(db, by, f, sort, limit, cursor, None, None).await
}

#[allow(clippy::too_many_arguments)]
async fn list_reaching(
    db: &Db,
    by: &Principal,
    f: &Filter,
    sort: Sort,
    limit: i64,
    cursor: Option<&str>,
    offset: Option<i64>,
    reach: Option<i64>,
) -> Result<Page> {
    if f.deleted && !by.role.is_admin() {
        return Err(Error::Forbidden);
    }
    let limit = limit.clamp(1, MAX_LIMIT);
    let f = &tag_as_filter(db, f).await?;
    let search = search_of(db, f).await?;
    let start = cursor
        .filter(|c| !c.trim().is_empty())
        .map(|c| decode_cursor(c, sort, search.is_some()))
        .transpose()?;
    let (driver, f) = Driver::of(f, search.as_ref());
    let mut q = Query::new(columns!());
    driver.push_from(&mut q, joins!());
    push_conditions(&mut q, by, &f, search.as_ref(), reach);
    let (col, id_col) = driver.key(sort);
    let (cmp, dir) = if sort.descending() {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    let mut skip = offset.unwrap_or(0).max(0);
    match start {
        Some(Start::After(v, id)) => {
            q.push(&format!(" AND ({col} {cmp} "))
                .push_arg(v.clone())
                .push(&format!(" OR ({col} = "))
                .push_arg(v)
                .push(&format!(" AND {id_col} {cmp} "))
                .push_arg(id)
                .push("))");
        }
        Some(Start::Skip(n)) => skip = n,
        None => {}
    }
    q.push(" ORDER BY ");
    if let Some(t) = &search {
        push_rank(&mut q, &t.query);
        q.push(", ");
    }
    q.push(&format!("{col} {dir}, {id_col} {dir} LIMIT "))
        .push_arg(limit + 1);
    if skip > 0 {
        q.push(" OFFSET ").push_arg(skip);
    }
    let rows: Vec<Row> = db.conn().fetch_all(q).await?;
    let more = rows.len() as i64 > limit;
    let mut items = rows
        .into_iter()
        .take(limit as usize)
        .map(Row::into_customer)
        .collect::<Result<Vec<_>>>()?;
    attach(db, &mut items).await?;
    let next_cursor = match (more, items.last()) {
        (true, Some(last)) => Some(encode_cursor(
            sort,
            if search.is_some() || offset.is_some() {
                Position::Offset(skip + limit)
            } else {
                let v = match sort {
                    Sort::NewestFirst | Sort::OldestFirst => json!(last.created_at.millis()),
                    Sort::Name | Sort::NameDesc => json!(last.fields.pinyin().full),
                    Sort::RecentlyUpdated => json!(last.updated_at.millis()),
                };
                Position::Key(v, last.id.to_string())
            },
        )),
        _ => None,
    };
    Ok(Page { items, next_cursor })
}

/// How many customers match, every match of a search included (an export
/// of the list holds this many).
pub async fn count(db: &Db, by: &Principal, f: &Filter) -> Result<i64> {
    let f = &tag_as_filter(db, f).await?;
    let search = search_of(db, f).await?;
    let (driver, f) = Driver::of(f, search.as_ref());
    let mut q = Query::new("SELECT COUNT(*)");
    driver.push_from(&mut q, "");
    push_conditions(&mut q, by, &f, search.as_ref(), None);
    db.conn().scalar(q).await
}

/// How many customers a list page can show, counting no further than `cap`
/// (a list page needs "more than 1,000", not an exact count of a million
/// rows; a search reaches [`SEARCH_REACH`] candidates of each kind).
pub async fn count_upto(db: &Db, by: &Principal, f: &Filter, cap: i64) -> Result<i64> {
    let f = &tag_as_filter(db, f).await?;
    let search = search_of(db, f).await?;
    let (driver, f) = Driver::of(f, search.as_ref());
    let mut q = Query::new("SELECT COUNT(*) FROM (SELECT 1");
    driver.push_from(&mut q, "");
    push_conditions(&mut q, by, &f, search.as_ref(), Some(SEARCH_REACH));
    q.push(" LIMIT ").push_arg(cap).push(") AS matched");
    db.conn().scalar(q).await
}

/// Customers referred by this one (the referral chain, one level down).
pub async fn referrals(
    db: &Db,
    by: &Principal,
    id: &CustomerId,
) -> Result<Vec<(CustomerId, String)>> {
    let mut q = Query::new("SELECT c.id, c.name FROM customers c WHERE");
    push_conditions(&mut q, by, &Filter::default(), None, None);
    q.push(" AND c.referred_by = ")
        .push_arg(id)
        .push(" ORDER BY c.created_at");
    let rows: Vec<(String, String)> = db.conn().fetch_all(q).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(i, n)| i.parse().ok().map(|i| (i, n)))
        .collect())
}
