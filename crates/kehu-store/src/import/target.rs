//! The customer a contact or interaction row belongs to: named by its
//! external id, then (in interaction files) its mobile or e-mail, then its
//! name. A batch loads every customer its rows could name with one indexed
//! `IN` query per key; a merged-away customer leads to its survivor.

use super::{rejected, Outcome};
use crate::db::{Query, Tx};
use crate::Result;
use kehu_domain::customer::CustomerKind;
use kehu_domain::ids::{CustomerId, TeamId, UserId};
use kehu_domain::import::{Column, ImportedRow};
use kehu_domain::mobile::Mobile;
use kehu_domain::role::{Placement, Principal};
use kehu_domain::text;
use std::collections::HashMap;

/// What a row says about its customer, normalised as stored.
#[derive(Debug, Default)]
pub(crate) struct CustomerKeys {
    external: Option<String>,
    mobile: Option<String>,
    email: Option<String>,
    name: Option<String>,
}

impl CustomerKeys {
    /// The keys of a row; `contact_columns` when the row's mobile and
    /// e-mail are a contact's own, not the customer's.
    pub(crate) fn of(row: &ImportedRow, contact_columns: bool) -> CustomerKeys {
        let cell = |c| row.cell(c).map(str::trim).filter(|s| !s.is_empty());
        let (mobile, email) = if contact_columns {
            (None, None)
        } else {
            (
                cell(Column::Mobile)
                    .and_then(|m| Mobile::parse_optional(m).ok().flatten())
                    .map(|m| m.as_str().to_string()),
                cell(Column::Email).and_then(|e| text::email(e).ok().flatten()),
            )
        };
        CustomerKeys {
            external: row.external_id.clone(),
            mobile,
            email,
            name: cell(Column::Customer).map(str::to_string),
        }
    }
}

/// A customer as a contact or interaction row needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    id: String,
    kind: String,
    name: String,
    external_id: Option<String>,
    mobile: Option<String>,
    email: Option<String>,
    owner_id: Option<String>,
    team_id: Option<String>,
    deleted_at: Option<i64>,
    merged_into: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub id: CustomerId,
    pub kind: CustomerKind,
    pub placement: Placement,
    live: bool,
    merged_into: Option<String>,
}

const SELECT: &str = "SELECT id, kind, name, external_id, mobile, email, owner_id, team_id, deleted_at, merged_into FROM customers c WHERE ";

/// The customers a batch's rows name, with lookups by each key.
#[derive(Default)]
pub(crate) struct Targets {
    list: Vec<Target>,
    by_id: HashMap<String, usize>,
    by_external: HashMap<String, usize>,
    by_mobile: HashMap<String, Vec<usize>>,
    by_email: HashMap<String, Vec<usize>>,
    by_name: HashMap<String, Vec<usize>>,
}

fn not_found() -> Outcome {
    rejected(
        "customer",
        "找不到该客户，或您无权修改它",
        "no such customer, or you may not change it",
    )
}

impl Targets {
    fn add(&mut self, r: Row) -> Result<()> {
        if self.by_id.contains_key(&r.id) {
            return Ok(());
        }
        let t = Target {
            id: r.id.parse().map_err(crate::Error::Other)?,
            kind: CustomerKind::parse(&r.kind).unwrap_or(CustomerKind::Person),
            placement: Placement {
                owner_id: r.owner_id.and_then(|o| o.parse::<UserId>().ok()),
                team_id: r.team_id.and_then(|t| t.parse::<TeamId>().ok()),
            },
            live: r.deleted_at.is_none(),
            merged_into: r.merged_into,
        };
        let i = self.list.len();
        self.by_id.insert(r.id, i);
        if let Some(e) = r.external_id {
            self.by_external.insert(e, i);
        }
        if t.live {
            if let Some(m) = r.mobile {
                self.by_mobile.entry(m).or_default().push(i);
            }
            if let Some(e) = r.email {
                self.by_email.entry(e).or_default().push(i);
            }
            self.by_name.entry(r.name).or_default().push(i);
        }
        self.list.push(t);
        Ok(())
    }

    async fn fetch(&mut self, tx: &mut Tx, cond: &str, mut values: Vec<&str>) -> Result<()> {
        values.sort_unstable();
        values.dedup();
        for chunk in values.chunks(500) {
            let mut q = Query::new(format!("{SELECT}{cond}"));
            q.push_list(chunk.iter().copied());
            let rows: Vec<Row> = tx.fetch_all(q).await?;
            for r in rows {
                self.add(r)?;
            }
        }
        Ok(())
    }

    /// Loads every customer the rows' keys could name.
    pub(crate) async fn load(tx: &mut Tx, keys: &[&CustomerKeys]) -> Result<Targets> {
        let mut t = Targets::default();
        let pick = |f: fn(&CustomerKeys) -> Option<&String>| -> Vec<&str> {
            keys.iter()
                .filter_map(|k| f(k).map(String::as_str))
                .collect()
        };
        t.fetch(tx, "c.external_id IN ", pick(|k| k.external.as_ref()))
            .await?;
        t.fetch(
            tx,
            "c.deleted_at IS NULL AND c.mobile IN ",
            pick(|k| k.mobile.as_ref()),
        )
        .await?;
        t.fetch(
            tx,
            "c.deleted_at IS NULL AND c.email IN ",
            pick(|k| k.email.as_ref()),
        )
        .await?;
        t.fetch(
            tx,
            "c.deleted_at IS NULL AND c.name IN ",
            pick(|k| k.name.as_ref()),
        )
        .await?;
        let survivors: Vec<String> = t
            .list
            .iter()
            .filter_map(|x| x.merged_into.clone())
            .filter(|id| !t.by_id.contains_key(id))
            .collect();
        t.fetch(
            tx,
            "c.deleted_at IS NULL AND c.id IN ",
            survivors.iter().map(String::as_str).collect(),
        )
        .await?;
        Ok(t)
    }

    /// Whether a customer (live, deleted or merged) has this external id.
    pub(crate) fn has_external(&self, ext: &str) -> bool {
        self.by_external.contains_key(ext)
    }

    /// The live customers loaded.
    pub(crate) fn ids(&self) -> Vec<&CustomerId> {
        self.list.iter().filter(|t| t.live).map(|t| &t.id).collect()
    }

    /// The customer a row names, if the importer may change it; `Err` is
    /// the row's outcome. Out of scope reads as not found.
    pub(crate) fn find(
        &self,
        k: &CustomerKeys,
        scope: Option<&Principal>,
    ) -> std::result::Result<&Target, Outcome> {
        let i = self.index(k)?;
        let t = &self.list[i];
        if scope.is_some_and(|p| !p.can_write(&t.placement)) {
            return Err(not_found());
        }
        Ok(t)
    }

    fn index(&self, k: &CustomerKeys) -> std::result::Result<usize, Outcome> {
        if let Some(&i) = k.external.as_ref().and_then(|e| self.by_external.get(e)) {
            let t = &self.list[i];
            if let Some(s) = t.merged_into.as_ref().and_then(|s| self.by_id.get(s)) {
                return Ok(*s);
            }
            if !t.live {
                return Err(rejected(
                    "external_id",
                    "该外部编号的客户在回收站中，请先恢复",
                    "the customer with this external id is in the recycle bin; restore it first",
                ));
            }
            return Ok(i);
        }
        let keys = [
            ("mobile", k.mobile.as_ref().map(|m| self.by_mobile.get(m))),
            ("email", k.email.as_ref().map(|e| self.by_email.get(e))),
            ("customer", k.name.as_ref().map(|n| self.by_name.get(n))),
        ];
        for (field, found) in keys {
            match found.flatten().map(Vec::as_slice).unwrap_or_default() {
                [] => continue,
                [i] => return Ok(*i),
                _ => {
                    return Err(rejected(
                        field,
                        "有多个客户与之相同，无法确定是哪一个：请用外部编号指明",
                        "matches several customers; name the customer by its external id",
                    ))
                }
            }
        }
        if k.external.is_some() {
            return Err(rejected(
                "external_id",
                "没有这个外部编号的客户",
                "no customer has this external id",
            ));
        }
        if k.mobile.is_none() && k.email.is_none() && k.name.is_none() {
            return Err(rejected(
                "customer",
                "没有指明客户：请填写外部编号、客户名称、手机或邮箱",
                "the row does not name its customer (external id, name, mobile or e-mail)",
            ));
        }
        Err(not_found())
    }
}
