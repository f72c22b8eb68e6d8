//! The web UI: server-rendered pages that work without JavaScript, zh-CN
//! first. Each module holds the handlers of one area; templates live in
//! `templates/`, one per page, all extending `base.html`.

pub mod customers;
pub mod form;
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
        .route("/customers", get(customers::list))
        .route(
            "/customers/new",
            get(customers::new_form).post(customers::create),
        )
        .route("/customers/{id}", get(customers::show))
        .route(
            "/customers/{id}/edit",
            get(customers::edit_form).post(customers::update),
        )
        .route("/customers/{id}/delete", post(customers::delete))
        .route("/customers/{id}/reveal-phone", post(customers::reveal))
        .route(
            "/customers/{id}/interactions",
            post(customers::add_interaction),
        )
        .route("/customers/{id}/contacts", post(customers::add_contact))
        .route(
            "/contacts/{id}/edit",
            get(customers::edit_contact_form).post(customers::update_contact),
        )
        .route("/contacts/{id}/delete", post(customers::delete_contact))
}
