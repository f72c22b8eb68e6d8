//! The web UI: server-rendered pages that work without JavaScript, zh-CN
//! first. Each module holds the handlers of one area; templates live in
//! `templates/`, one per page, all extending `base.html`.

pub mod login;
pub mod page;

use crate::state::AppState;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/customers") }))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/lang", post(login::set_lang))
}
