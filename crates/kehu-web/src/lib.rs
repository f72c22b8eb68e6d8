//! The HTTP face of kehu: server-rendered web UI under `/`, the REST API
//! under `/api/v1/`, its OpenAPI document at `/api/openapi.json`, and
//! `/healthz`. Handlers are thin: extractors authenticate and parse, the
//! store decides what is allowed and writes the audit log.

pub mod api;
pub mod assets;
pub mod auth;
pub mod error;
pub mod export;
pub mod i18n;
pub mod imports;
pub mod openapi;
pub mod state;
pub mod ui;
pub mod views;

use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::Router;
pub use state::{AppState, Config};
use tower_http::set_header::SetResponseHeaderLayer;

/// The whole application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(ui::routes())
        .nest("/api/v1", api::routes())
        .route("/api/openapi.json", get(openapi::document))
        .route("/healthz", get(health))
        .merge(assets::routes())
        // Pages and answers hold personal data: never cached, unless a
        // route (static files) says otherwise.
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
        ))
        // Bodies are read by extractors, which keep to this limit; uploads
        // set their own (`imports::upload_limit`).
        .layer(axum::extract::DefaultBodyLimit::max(2 * 1024 * 1024))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

async fn health(
    axum::extract::State(s): axum::extract::State<AppState>,
) -> (axum::http::StatusCode, &'static str) {
    match s.db.ping().await {
        Ok(()) => (axum::http::StatusCode::OK, "ok"),
        Err(_) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "database unreachable",
        ),
    }
}

/// Serves the application on a bound listener until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
