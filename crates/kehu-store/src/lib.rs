//! Storage of kehu.
//!
//! One set of queries, written once in SQL that both SQLite and PostgreSQL
//! accept, runs against either database ([`db::Db`]). Each module owns one
//! part of the archive and enforces the caller's scope and writes the audit
//! entry in the same transaction as the change, so that the web UI, the REST
//! API and the CLI cannot differ in what they allow or forget to audit.

pub mod analytics;
pub mod audit;
pub mod auth;
pub mod bulk;
pub mod calendar;
pub mod contacts;
pub mod customers;
pub mod dashboard;
pub mod db;
pub mod deferred;
pub mod duplicates;
pub mod error;
pub mod export;
pub mod fields;
pub mod import;
pub mod import_jobs;
pub mod interactions;
pub mod jobs;
pub mod merge;
pub mod notifications;
pub mod orders;
pub mod outbox;
pub mod products;
pub mod rate;
pub mod report;
pub mod scores;
pub mod scripts;
pub mod search;
pub mod service_insight;
pub mod service_jobs;
pub mod sla;
pub mod support;
pub mod surveys;
pub mod tags;
pub mod tasks;
pub mod testing;
pub mod tickets;
pub mod timeline;

pub use db::{Db, Query, Tx};
pub use error::{Error, Result};
