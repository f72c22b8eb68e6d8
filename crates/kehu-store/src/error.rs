//! Errors of storage operations, in terms the callers can answer with.

use kehu_domain::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Missing, deleted, or outside the caller's scope (the caller is not
    /// told which, so ids outside the scope reveal nothing).
    #[error("not found")]
    NotFound,
    /// The customer was merged into this one (which the caller may read).
    #[error("merged into customer {0}")]
    Merged(kehu_domain::ids::CustomerId),
    /// A new customer looks like these existing ones; nothing was written.
    #[error("likely duplicate of {} customer(s)", .0.len())]
    Duplicate(Vec<crate::duplicates::Match>),
    /// The caller may see the record but not do this to it.
    #[error("forbidden")]
    Forbidden,
    #[error("invalid input: {0}")]
    Invalid(FieldErrors),
    /// A parameter of the request itself that cannot be used, such as a
    /// page cursor that is malformed or was made for another order.
    #[error("bad request: {0}")]
    BadQuery(FieldErrors),
    #[error("too many attempts; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("wrong login or password")]
    BadCredentials,
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Other(String),
}

impl From<FieldErrors> for Error {
    fn from(e: FieldErrors) -> Self {
        Error::Invalid(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
