//! Statistical customer-lifetime-value models for kehu.
//!
//! The CRM answers "how much is this customer still worth, and are they
//! still a customer at all?" from nothing but their purchase history. This
//! crate holds the models that answer it, as pure computation with no I/O:
//!
//! - [`summary`] turns raw transactions into per-customer
//!   frequency/recency/age/spend summaries;
//! - [`bgnbd`] and [`pareto_nbd`] model how often a customer buys and
//!   whether they are still active;
//! - [`gamma_gamma`] models how much a customer spends per purchase and
//!   combines it with a purchase model into customer lifetime value;
//! - [`fit`] is the maximum-likelihood machinery the three share.
//!
//! The formulas and the fitting follow the literature (Fader, Hardie & Lee
//! 2005; Schmittlein, Morrison & Colombo 1987; Fader & Hardie's notes) and the
//! Python `lifetimes` package, against which the crate is tested on the
//! CDNOW data set (`tests/lifetimes_cdnow.rs`).

pub mod bgnbd;
pub mod error;
pub mod fit;
pub mod gamma_gamma;
pub mod pareto_nbd;
pub mod special;
pub mod summary;

pub use error::ModelError;
pub use fit::{Fit, FitOptions};
pub use summary::{CustomerSummary, Rfm, Spend, TimeUnit, Transaction};

/// A model of how many purchases a customer makes: what customer lifetime
/// value needs from [`bgnbd`] or [`pareto_nbd`].
pub trait PurchaseModel {
    /// Expected number of purchases in the next `t` time units of a customer
    /// whose history is `rfm`.
    fn conditional_expected_purchases(&self, t: f64, rfm: &Rfm) -> f64;
}
