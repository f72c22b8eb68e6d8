//! Imported contacts of organisations. A row names its organisation (see
//! [`super::target`]) and is matched to one of its contacts by mobile,
//! then e-mail, then name: a match is updated (blank cells keep what is
//! there), else the contact is created. Every change is audited and the
//! organisation's search terms follow its contacts' names.

use super::target::{CustomerKeys, Targets};
use super::{rejected, Outcome};
use crate::audit::{self, Actor, Entry};
use crate::contacts::{self, Contact, FIELD_COLUMNS};
use crate::db::{Arg, Query, Tx};
use crate::{Db, Result};
use kehu_domain::customer::{ContactFields, ContactInput, CustomerKind};
use kehu_domain::ids::{ContactId, CustomerId};
use kehu_domain::import::ImportedRow;
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use std::collections::{HashMap, HashSet};

/// A contact as the batch sees it.
struct Rec {
    contact: Contact,
    /// Its fields before the batch; `None` for contacts it creates.
    before: Option<ContactFields>,
    dirty: bool,
}

/// The contacts of the batch's organisations, by organisation.
#[derive(Default)]
struct Known {
    recs: Vec<Rec>,
    by_customer: HashMap<CustomerId, Vec<usize>>,
}

impl Known {
    async fn load(tx: &mut Tx, customers: &[&CustomerId]) -> Result<Known> {
        let mut known = Known::default();
        for chunk in customers.chunks(500) {
            let mut q = Query::new(format!("{} WHERE customer_id IN ", contacts::SELECT));
            q.push_list(chunk.iter().copied());
            q.push(" ORDER BY created_at, id");
            let rows: Vec<contacts::Row> = tx.fetch_all(q).await?;
            for r in rows {
                let c = r.into_contact()?;
                known.add(Rec {
                    before: Some(c.fields.clone()),
                    contact: c,
                    dirty: false,
                });
            }
        }
        Ok(known)
    }

    fn add(&mut self, r: Rec) -> usize {
        let i = self.recs.len();
        self.by_customer
            .entry(r.contact.customer_id.clone())
            .or_default()
            .push(i);
        self.recs.push(r);
        i
    }

    /// The organisation's contact a row describes: same mobile, else same
    /// e-mail, else same name; `Err` when several share the name.
    fn find(
        &self,
        customer: &CustomerId,
        f: &ContactInput,
    ) -> std::result::Result<Option<usize>, Outcome> {
        let Some(mine) = self.by_customer.get(customer) else {
            return Ok(None);
        };
        let fields = |i: &usize| &self.recs[*i].contact.fields;
        let mobile = kehu_domain::mobile::Mobile::parse_optional(&f.mobile)
            .ok()
            .flatten();
        if let Some(m) = mobile {
            if let Some(i) = mine.iter().find(|i| fields(i).mobile.as_ref() == Some(&m)) {
                return Ok(Some(*i));
            }
        }
        let email = kehu_domain::text::email(&f.email).ok().flatten();
        if let Some(e) = email {
            if let Some(i) = mine.iter().find(|i| fields(i).email.as_ref() == Some(&e)) {
                return Ok(Some(*i));
            }
        }
        let named: Vec<&usize> = mine
            .iter()
            .filter(|i| fields(i).name == f.name.trim())
            .collect();
        match named.as_slice() {
            [] => Ok(None),
            [i] => Ok(Some(**i)),
            _ => Err(rejected(
                "name",
                "该客户有多个同名联系人，无法确定更新哪一个：请填写手机或邮箱",
                "the customer has several contacts of this name; give a mobile or e-mail",
            )),
        }
    }
}

/// Decides what each row does.
fn plan(
    targets: &Targets,
    known: &mut Known,
    scope: Option<&Principal>,
    rows: &[(&ImportedRow, CustomerKeys)],
    now: Timestamp,
) -> Vec<Outcome> {
    let mut out = Vec::with_capacity(rows.len());
    for (row, keys) in rows {
        let target = match targets.find(keys, scope) {
            Ok(t) => t,
            Err(o) => {
                out.push(o);
                continue;
            }
        };
        if target.kind != CustomerKind::Organization {
            out.push(Outcome::Rejected(contacts::only_organisations("customer")));
            continue;
        }
        let fresh = row.contact_overlay(&ContactInput::default());
        let outcome = match known.find(&target.id, &fresh) {
            Err(o) => o,
            Ok(None) => match fresh.parse() {
                Err(e) => Outcome::Rejected(e),
                Ok(fields) => {
                    known.add(Rec {
                        contact: Contact {
                            id: ContactId::new(),
                            customer_id: target.id.clone(),
                            fields,
                            created_at: now,
                            updated_at: now,
                        },
                        before: None,
                        dirty: true,
                    });
                    Outcome::Created
                }
            },
            Ok(Some(i)) => {
                let rec = &mut known.recs[i];
                match row.contact_overlay(&rec.contact.fields.to_input()).parse() {
                    Err(e) => Outcome::Rejected(e),
                    Ok(f) if f == rec.contact.fields => Outcome::Unchanged,
                    Ok(f) => {
                        rec.contact.fields = f;
                        rec.contact.updated_at = now;
                        rec.dirty = true;
                        Outcome::Updated
                    }
                }
            }
        };
        out.push(outcome);
    }
    out
}

async fn write(tx: &mut Tx, actor: &Actor, known: &Known, now: Timestamp) -> Result<()> {
    // A contact a file changes and changes back is left as it was.
    let dirty: Vec<&Rec> = known
        .recs
        .iter()
        .filter(|r| r.dirty && r.before.as_ref() != Some(&r.contact.fields))
        .collect();
    let created = dirty.iter().filter(|r| r.before.is_none()).map(|r| {
        let c = &r.contact;
        let mut args = contacts::field_args(&c.fields);
        args.extend([
            Arg::from(&c.id),
            Arg::from(&c.customer_id),
            now.into(),
            now.into(),
        ]);
        args
    });
    tx.insert_rows(
        &format!("INSERT INTO contacts ({FIELD_COLUMNS}, id, customer_id, created_at, updated_at)"),
        "",
        created,
    )
    .await?;
    for r in dirty.iter().filter(|r| r.before.is_some()) {
        tx.execute(contacts::update_query(
            &r.contact.id,
            &r.contact.fields,
            now,
        ))
        .await?;
    }
    let renamed: HashSet<&CustomerId> = dirty
        .iter()
        .filter(|r| r.before.as_ref().map(|b| &b.name) != Some(&r.contact.fields.name))
        .map(|r| &r.contact.customer_id)
        .collect();
    crate::search::reindex(tx, &renamed.into_iter().collect::<Vec<_>>()).await?;
    let entries = dirty.iter().map(|r| {
        let after = contacts::snapshot(&r.contact.fields);
        Entry {
            action: "import",
            entity: "contact",
            entity_id: r.contact.id.as_str(),
            customer_id: Some(&r.contact.customer_id),
            changes: match &r.before {
                Some(b) => audit::diff(&contacts::snapshot(b), &after),
                None => audit::created(&after),
            },
        }
    });
    audit::record_many(tx, actor, entries.collect::<Vec<_>>()).await
}

/// Applies a batch of contact rows in one transaction (rolled back when
/// `dry_run`); `scope` limits which customers a user's rows may change.
pub async fn apply(
    db: &Db,
    actor: &Actor,
    scope: Option<&Principal>,
    rows: &[ImportedRow],
    dry_run: bool,
) -> Result<Vec<Outcome>> {
    let keyed: Vec<(&ImportedRow, CustomerKeys)> = rows
        .iter()
        .map(|r| (r, CustomerKeys::of(r, true)))
        .collect();
    let now = Timestamp::now();
    let mut tx = db.begin().await?;
    let targets = Targets::load(&mut tx, &keyed.iter().map(|k| &k.1).collect::<Vec<_>>()).await?;
    let ids = targets.ids();
    let mut known = Known::load(&mut tx, &ids).await?;
    let out = plan(&targets, &mut known, scope, &keyed, now);
    write(&mut tx, actor, &known, now).await?;
    if !dry_run {
        tx.commit().await?;
    }
    Ok(out)
}
