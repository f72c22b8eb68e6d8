//! 工单: ticket queues, the ticket page that walks an agent through the
//! handling method, the script library, and service settings.

use crate::state::AppState;
use axum::Router;

/// (key, zh-CN, English) texts of these pages.
pub const TEXTS: &[(&str, &str, &str)] = &[];

pub fn routes() -> Router<AppState> {
    Router::new()
}
