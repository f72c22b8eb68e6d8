//! Public pages (no login): the support desk at `/support`, a ticket's
//! private link, and the satisfaction survey.

use crate::state::AppState;
use axum::Router;

/// (key, zh-CN, English) texts of these pages.
pub const TEXTS: &[(&str, &str, &str)] = &[];

pub fn routes() -> Router<AppState> {
    Router::new()
}
