//! Errors as answers: RFC 9457 problem documents for the API, an HTML page
//! for the UI. Internal details are logged, never sent.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use kehu_domain::error::FieldErrorView;
use kehu_domain::ids::CustomerId;
use kehu_domain::{FieldErrors, Lang};
use kehu_store::duplicates::Match;
use kehu_store::Error as StoreError;
use serde::Serialize;

/// A problem document (RFC 9457) with kehu's `errors` extension listing
/// field problems.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemDoc {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldErrorView>,
    /// On 409 from creating a customer: the existing customers it looks
    /// like (send `allow_duplicate: true` to create it anyway).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub duplicates: Vec<Match>,
    /// On 404 for a customer merged into another: the id it lives on as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<CustomerId>,
}

/// An error answered by the API.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: Option<String>,
    pub errors: Option<FieldErrors>,
    pub lang: Lang,
    pub retry_after: Option<u64>,
    pub duplicates: Vec<Match>,
    pub merged_into: Option<CustomerId>,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: Some(detail.into()),
            errors: None,
            lang: Lang::ZhCn,
            retry_after: None,
            duplicates: Vec::new(),
            merged_into: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "a valid API token (Authorization: Bearer ...) or session is required",
        )
    }

    pub fn invalid(errors: FieldErrors) -> Self {
        Self::with_errors(StatusCode::UNPROCESSABLE_ENTITY, errors)
    }

    pub fn with_errors(status: StatusCode, errors: FieldErrors) -> Self {
        ApiError {
            status,
            detail: None,
            errors: Some(errors),
            lang: Lang::ZhCn,
            retry_after: None,
            duplicates: Vec::new(),
            merged_into: None,
        }
    }

    pub fn lang(mut self, lang: Lang) -> Self {
        self.lang = lang;
        self
    }

    fn title(&self) -> &'static str {
        match self.status {
            StatusCode::BAD_REQUEST => "Bad request",
            StatusCode::UNAUTHORIZED => "Unauthorized",
            StatusCode::FORBIDDEN => "Forbidden",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::CONFLICT => "Conflict",
            StatusCode::UNPROCESSABLE_ENTITY => "Validation failed",
            StatusCode::TOO_MANY_REQUESTS => "Too many requests",
            StatusCode::SERVICE_UNAVAILABLE => "Service unavailable",
            StatusCode::PAYLOAD_TOO_LARGE => "Payload too large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported media type",
            StatusCode::METHOD_NOT_ALLOWED => "Method not allowed",
            s if s.is_client_error() => "Client error",
            _ => "Internal error",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::new(
                StatusCode::NOT_FOUND,
                "no such record, or not in your scope",
            ),
            StoreError::Merged(into) => ApiError {
                merged_into: Some(into.clone()),
                ..Self::new(
                    StatusCode::NOT_FOUND,
                    format!("this customer was merged into customer {into}"),
                )
            },
            StoreError::Duplicate(list) => ApiError {
                duplicates: list,
                ..Self::new(
                    StatusCode::CONFLICT,
                    "likely a duplicate of the customers listed; send \"allow_duplicate\": true to create it anyway",
                )
            },
            StoreError::Forbidden => {
                Self::new(StatusCode::FORBIDDEN, "your role does not allow this")
            }
            StoreError::Invalid(fe) => Self::invalid(fe),
            StoreError::BadQuery(fe) => Self::with_errors(StatusCode::BAD_REQUEST, fe),
            StoreError::BadCredentials => {
                Self::new(StatusCode::UNAUTHORIZED, "wrong login or password")
            }
            StoreError::RateLimited { retry_after_secs } => {
                let mut e = Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many failed attempts; try again later",
                );
                e.retry_after = Some(retry_after_secs);
                e
            }
            other => {
                tracing::error!(error = %other, "request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; see the server log",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let doc = ProblemDoc {
            kind: "about:blank".into(),
            title: self.title().into(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            errors: self
                .errors
                .as_ref()
                .map(|e| e.views(self.lang))
                .unwrap_or_default(),
            duplicates: self.duplicates.clone(),
            merged_into: self.merged_into.clone(),
        };
        let mut r = (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            serde_json::to_string(&doc).unwrap(),
        )
            .into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, s.into());
        }
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        r
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Turns store errors into API errors in the caller's language.
pub trait OrProblem<T> {
    fn or_problem(self, lang: Lang) -> ApiResult<T>;
}

impl<T> OrProblem<T> for Result<T, StoreError> {
    fn or_problem(self, lang: Lang) -> ApiResult<T> {
        self.map_err(|e| ApiError::from(e).lang(lang))
    }
}

impl<T> OrProblem<T> for Result<T, FieldErrors> {
    fn or_problem(self, lang: Lang) -> ApiResult<T> {
        self.map_err(|e| ApiError::invalid(e).lang(lang))
    }
}
