//! Domain types of kehu.
//!
//! Values from outside (HTTP, files, CLI) are parsed into these types once, at
//! the edge; code further in can rely on them being valid. Nothing here does
//! I/O, so every rule is testable without a database.

pub mod business_time;
pub mod code_enum;
pub mod custom_field;
pub mod customer;
pub mod duplicate;
pub mod error;
pub mod export;
pub mod ids;
pub mod import;
pub mod lang;
pub mod mobile;
pub mod money;
pub mod name;
pub mod order;
pub mod role;
pub mod search;
pub mod survey;
pub mod text;
pub mod ticket;
pub mod time;
pub mod value;
pub mod voc;

pub use error::{FieldError, FieldErrors, Problem};
pub use lang::Lang;
