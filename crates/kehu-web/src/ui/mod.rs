//! The web UI: server-rendered pages that work without JavaScript, zh-CN
//! first. Each module holds the handlers of one area; templates live in
//! `templates/`, one per page, all extending `base.html`.

pub mod admin;
pub mod analytics;
pub mod customers;
pub mod dashboard;
pub mod duplicates;
pub mod form;
pub mod imports;
pub mod insight;
pub mod login;
pub mod orders;
pub mod page;
pub mod public;
pub mod scores;
pub mod tickets;

use crate::state::AppState;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/customers") }))
        .merge(public::routes())
        .merge(tickets::routes())
        .merge(orders::routes())
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/lang", post(login::set_lang))
        .route("/customers", get(customers::list))
        .route("/customers/export", get(customers::export))
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
        .route("/duplicates", get(duplicates::list))
        .route("/duplicates/compare", get(duplicates::compare))
        .route("/duplicates/merge", post(duplicates::merge))
        .route("/duplicates/dismiss", post(duplicates::dismiss))
        .route("/admin/users", get(admin::users).post(admin::create_user))
        .route(
            "/admin/users/{id}",
            get(admin::user).post(admin::update_user),
        )
        .route(
            "/admin/fields",
            get(admin::field_list).post(admin::field_create),
        )
        .route(
            "/admin/fields/{id}",
            get(admin::field_edit).post(admin::field_update),
        )
        .route("/admin/recycle-bin", get(admin::recycle_bin))
        .route("/admin/recycle-bin/{id}/restore", post(admin::restore))
        .route("/admin/audit", get(admin::audit_log))
        .route("/service-insight", get(insight::show))
        .route("/service-insight/export", get(insight::export))
        .route("/analytics", get(analytics::show))
        .route("/analytics/fit", post(analytics::refit))
        .route("/analytics/settings", post(analytics::save_settings))
        .route("/dashboard", get(dashboard::show))
        .route("/dashboard/export", get(dashboard::export))
        .route("/customers/{id}/grade", post(scores::override_grade))
        .route("/imports", get(imports::list))
        .route(
            "/import",
            get(imports::upload_form)
                .post(imports::upload)
                .layer(crate::imports::upload_limit()),
        )
        .route("/import/{id}", get(imports::show))
        .route(
            "/import/{id}/mapping",
            get(imports::mapping_form).post(imports::submit_mapping),
        )
        .route("/import/{id}/rejects", get(imports::rejects))
        .route("/account", get(admin::account))
        .route("/account/password", post(admin::change_password))
        .route("/account/tokens", post(admin::create_token))
        .route("/account/tokens/{id}/revoke", post(admin::revoke_token))
}
