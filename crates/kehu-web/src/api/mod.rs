//! The REST API under `/api/v1/`. JSON in and out, errors as RFC 9457
//! problem documents, cursor pagination on lists. Each handler is described
//! for the OpenAPI document with `#[utoipa::path]`.

pub mod admin;
pub mod analytics;
pub mod customers;
pub mod duplicates;
pub mod imports;
pub mod orders;
pub mod tickets;

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::Router;
use serde::de::DeserializeOwned;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers", get(customers::list).post(customers::create))
        .route("/customers/export", get(customers::export))
        .route(
            "/customers/{id}",
            get(customers::get)
                .patch(customers::update)
                .delete(customers::delete),
        )
        .route("/customers/{id}/restore", post(customers::restore))
        .route(
            "/customers/{id}/reveal-phone",
            post(customers::reveal_phone),
        )
        .route("/customers/{id}/timeline", get(customers::timeline))
        .route("/customers/{id}/merge", post(duplicates::merge))
        .route("/duplicates", get(duplicates::list))
        .route("/duplicates/dismissals", post(duplicates::dismiss))
        .route(
            "/customers/{id}/contacts",
            get(customers::list_contacts).post(customers::create_contact),
        )
        .route(
            "/contacts/{id}",
            get(customers::get_contact)
                .patch(customers::update_contact)
                .delete(customers::delete_contact),
        )
        .route(
            "/customers/{id}/interactions",
            get(customers::list_interactions).post(customers::create_interaction),
        )
        .route("/interactions/{id}", get(customers::get_interaction))
        .route(
            "/products",
            get(orders::list_products).post(orders::create_product),
        )
        .route(
            "/products/{id}",
            get(orders::get_product).patch(orders::update_product),
        )
        .route("/products/{id}/prices", post(orders::set_price))
        .route("/customers/{id}/orders", get(orders::customer_orders))
        .route("/orders", post(orders::create_order))
        .route(
            "/orders/{id}",
            get(orders::get_order).delete(orders::delete_order),
        )
        .route(
            "/analytics/models",
            get(analytics::models).post(analytics::fit),
        )
        .route(
            "/analytics/settings",
            get(analytics::get_settings).put(analytics::put_settings),
        )
        .route("/analytics/recompute", post(analytics::recompute))
        .route("/analytics/dashboard", get(analytics::dashboard))
        .route("/customers/{id}/scores", get(analytics::customer_scores))
        .route("/customers/{id}/grade", post(analytics::override_grade))
        .route("/tickets", get(tickets::list).post(tickets::create))
        .route("/tickets/{id}", get(tickets::get).patch(tickets::update))
        .route("/tickets/{id}/events", get(tickets::events))
        .route("/tickets/{id}/entries", post(tickets::entry))
        .route("/tickets/{id}/status", post(tickets::status))
        .route("/tickets/{id}/promise", post(tickets::promise))
        .route("/tickets/{id}/assign", post(tickets::assign))
        .route(
            "/tickets/{id}/solutions",
            get(tickets::solutions).post(tickets::offer),
        )
        .route(
            "/tickets/{id}/solutions/{solution}/choose",
            post(tickets::choose),
        )
        .route(
            "/tickets/{id}/compensations",
            get(tickets::compensations).post(tickets::compensate),
        )
        .route("/tickets/{id}/resolve", post(tickets::resolve))
        .route("/tickets/{id}/surveys", post(tickets::survey))
        .route(
            "/ticket-categories",
            get(tickets::categories).post(tickets::save_category),
        )
        .route(
            "/scripts",
            get(tickets::list_scripts).post(tickets::create_script),
        )
        .route(
            "/scripts/{id}",
            axum::routing::put(tickets::update_script).delete(tickets::delete_script),
        )
        .route("/sla", get(tickets::get_sla).patch(tickets::patch_sla))
        .route("/notifications", get(tickets::list_notifications))
        .route("/notifications/read", post(tickets::read_notifications))
        .route("/tasks", get(tickets::list_tasks))
        .route("/outbox", get(tickets::outbox))
        .route("/outbox/{id}/sent", post(tickets::outbox_sent))
        .route("/tasks/{id}/done", post(tickets::task_done))
        .route("/me", get(admin::me))
        .route("/users", get(admin::list_users).post(admin::create_user))
        .route(
            "/users/{id}",
            get(admin::get_user).patch(admin::update_user),
        )
        .route("/teams", get(admin::list_teams))
        .route("/tags", get(admin::list_tags).post(admin::create_tag))
        .route("/tags/{id}", delete(admin::delete_tag))
        .route(
            "/custom-fields",
            get(admin::list_fields).post(admin::create_field),
        )
        .route(
            "/custom-fields/{id}",
            axum::routing::patch(admin::update_field),
        )
        .route("/tokens", get(admin::list_tokens).post(admin::create_token))
        .route("/tokens/{id}", delete(admin::revoke_token))
        .route("/audit", get(admin::audit))
        .route(
            "/imports",
            get(imports::list)
                .post(imports::create)
                .layer(crate::imports::upload_limit()),
        )
        .route("/imports/{id}", get(imports::get))
        .route("/imports/{id}/rejects", get(imports::rejects))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such API route") })
}

/// A JSON body whose rejections are problem documents.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as JSON with Content-Type: application/json",
            )),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                e.body_text(),
            )),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// Query parameters whose rejections are problem documents.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))
    }
}

/// Parses a path id, answering 404 for anything that is not one.
pub fn path_id<T: std::str::FromStr>(raw: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no such record, or not in your scope",
        )
    })
}
