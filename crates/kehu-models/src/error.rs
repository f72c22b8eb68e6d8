//! Errors of the models: every way a summary or a fit can fail is a value
//! here, so callers can tell bad data from a model that cannot be fitted and
//! nothing in the crate panics on user data.

use thiserror::Error;

/// Why a summary or a fit could not be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ModelError {
    /// There is no customer to fit the model to.
    #[error("no customers to fit the model to")]
    NoCustomers,
    /// Gamma-Gamma needs customers with at least one repeat purchase of
    /// positive spend; there were none.
    #[error("no customer has a repeat purchase with positive spend")]
    NoRepeatBuyers,
    /// A value that must be a finite number is NaN or infinite.
    #[error("customer {index}: {field} is not a finite number")]
    NonFinite {
        /// Position of the offending customer in the input.
        index: usize,
        /// Which value: `recency`, `T`, `monetary_value`.
        field: &'static str,
    },
    /// A value is finite but impossible, e.g. recency greater than age.
    #[error("customer {index}: {reason}")]
    InvalidInput {
        /// Position of the offending customer in the input.
        index: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A model parameter or prediction argument is not a positive finite
    /// number (or otherwise outside what the formula allows).
    #[error("invalid parameter: {0}")]
    InvalidParameter(&'static str),
    /// The sum of one customer's amounts does not fit in 64 bits.
    #[error("amounts of one customer overflow 64 bits")]
    AmountOverflow,
    /// The likelihood is not finite at any point the optimiser reached.
    #[error("the likelihood is not finite at the starting point")]
    NonFiniteLikelihood,
    /// The optimiser itself failed.
    #[error("optimiser failed: {0}")]
    Optimiser(String),
}
