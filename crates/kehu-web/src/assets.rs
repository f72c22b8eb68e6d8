//! Static files compiled into the binary: kehu's own stylesheet and script
//! from `static/`, and front-end libraries from `node_modules` (installed by
//! npm from the lockfile).

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

#[derive(rust_embed::RustEmbed)]
#[folder = "static/"]
struct Own;

/// Apache ECharts, for the charts of the analysis pages.
#[derive(rust_embed::RustEmbed)]
#[folder = "../../node_modules/echarts/dist/"]
#[include = "echarts.min.js"]
struct Vendor;

pub fn routes() -> Router<crate::AppState> {
    Router::new()
        .route("/static/vendor/{*path}", get(vendor))
        .route("/static/{*path}", get(serve))
}

async fn vendor(Path(path): Path<String>) -> Response {
    file(&path, Vendor::get(&path))
}

async fn serve(Path(path): Path<String>) -> Response {
    file(&path, Own::get(&path))
}

fn file(path: &str, f: Option<rust_embed::EmbeddedFile>) -> Response {
    match f {
        Some(f) => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            (
                [
                    (header::CONTENT_TYPE, mime.as_ref().to_string()),
                    (header::CACHE_CONTROL, "public, max-age=3600".to_string()),
                ],
                f.data.into_owned(),
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
