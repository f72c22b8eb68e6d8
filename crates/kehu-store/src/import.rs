//! Writing imported rows in batches, one transaction each: customers
//! ([`apply`]), contacts of organisations ([`contacts`]) and interactions
//! ([`interactions`]). Rows are matched to what is there so that running a
//! file again changes nothing; each row's [`Outcome`] is reported.

pub mod contacts;
mod customers;
pub mod interactions;
pub mod orders;
mod target;

pub use customers::apply;

use kehu_domain::ids::{TeamId, UserId};
use kehu_domain::{FieldErrors, Problem};

/// What became of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Rejected(FieldErrors),
}

/// Totals of an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Outcome) {
        match o {
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::Rejected(_) => self.rejected += 1,
        }
    }
}

/// Who new customers belong to.
#[derive(Debug, Clone, Default)]
pub struct Owner {
    pub user: Option<UserId>,
    pub team: Option<TeamId>,
}

/// Pairs of customer and time looked up per statement.
pub(crate) const PAIRS: usize = 200;

/// Appends `(customer_id = $c AND {time} = $t) OR ...` for a chunk of
/// (customer, time) pairs: stored rows a batch might repeat, found through
/// the `(customer_id, time)` indexes.
pub(crate) fn push_customer_times(
    q: &mut crate::db::Query,
    time: &str,
    pairs: &[(&kehu_domain::ids::CustomerId, i64)],
) {
    for (n, (c, at)) in pairs.iter().enumerate() {
        q.push(if n == 0 {
            "(customer_id = "
        } else {
            " OR (customer_id = "
        });
        q.push_arg(*c)
            .push(&format!(" AND {time} = "))
            .push_arg(*at)
            .push(")");
    }
}

pub(crate) fn rejected(field: &str, zh: &str, en: &str) -> Outcome {
    Outcome::Rejected(FieldErrors::single(
        field,
        Problem::Invalid {
            zh: zh.into(),
            en: en.into(),
        },
    ))
}
