//! What every page shares: the chrome around it (who is signed in, the
//! CSRF token for forms, the language), error pages, and time display.

use crate::auth::WebUser;
use crate::i18n::Tr;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono_tz::Tz;
use kehu_domain::ids::CustomerId;
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Lang};
use kehu_store::Error as StoreError;

/// The frame of a signed-in page.
pub struct Chrome {
    pub tr: Tr,
    pub user_name: String,
    pub role_label: &'static str,
    pub is_admin: bool,
    /// May import customer files (shows the 导入 link).
    pub can_import: bool,
    /// May review likely duplicates (the nav links to them).
    pub reviews_duplicates: bool,
    /// May read the management view (经营分析).
    pub views_analytics: bool,
    /// May manage products and prices (the nav links to them).
    pub manages_products: bool,
    pub csrf: String,
    /// Which top-level section is active ("customers", "admin", ...).
    pub section: &'static str,
    /// Unread notifications.
    pub unread: i64,
    pub tz: Tz,
}

impl Chrome {
    pub fn new(u: &WebUser, section: &'static str, tz: Tz) -> Chrome {
        Chrome {
            tr: Tr(u.lang),
            user_name: u.user.name.clone(),
            role_label: u.user.role.label(u.lang),
            is_admin: u.user.role.is_admin(),
            can_import: u.user.role.can_import(),
            reviews_duplicates: u.user.role.can_review_duplicates(),
            views_analytics: u.user.role.can_view_analytics(),
            manages_products: u.user.role.can_manage_products(),
            csrf: u.csrf.clone(),
            section,
            unread: u.unread,
            tz,
        }
    }

    /// A time in the business time zone, to the minute.
    pub fn time(&self, t: &Timestamp) -> String {
        t.utc()
            .with_timezone(&self.tz)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    pub fn time_opt(&self, t: &Option<Timestamp>) -> String {
        t.as_ref().map(|t| self.time(t)).unwrap_or_default()
    }
}

/// Renders a template into a response.
pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(s) => Html(s).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// Renders a form page shown again because its input was refused (422).
pub fn invalid<T: Template>(t: &T) -> Response {
    let mut r = render(t);
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    r
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    tr: Tr,
    message: &'a str,
    detail: &'a str,
}

/// An error shown as a page in the user's language.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub key: &'static str,
    pub detail: String,
    pub lang: Lang,
    /// The customer asked for was merged into this one: its page is shown
    /// instead.
    pub merged_into: Option<CustomerId>,
}

impl PageError {
    pub fn new(status: StatusCode, key: &'static str, lang: Lang) -> Self {
        PageError {
            status,
            key,
            detail: String::new(),
            lang,
            merged_into: None,
        }
    }

    pub fn not_found(lang: Lang) -> Self {
        Self::new(StatusCode::NOT_FOUND, "error.not_found", lang)
    }

    pub fn forbidden(lang: Lang) -> Self {
        Self::new(StatusCode::FORBIDDEN, "error.forbidden", lang)
    }

    pub fn csrf(lang: Lang) -> Self {
        Self::new(StatusCode::FORBIDDEN, "error.csrf", lang)
    }

    pub fn bad_form(lang: Lang, detail: &str) -> Self {
        PageError {
            detail: detail.to_string(),
            ..Self::new(StatusCode::BAD_REQUEST, "error.bad_form", lang)
        }
    }

    pub fn field_errors(status: StatusCode, fe: &FieldErrors, lang: Lang) -> Self {
        PageError {
            detail: fe
                .views(lang)
                .into_iter()
                .map(|v| format!("{}: {}", v.field, v.message))
                .collect::<Vec<_>>()
                .join("; "),
            ..Self::new(status, "error.bad_form", lang)
        }
    }

    pub fn from_store(e: StoreError, lang: Lang) -> Self {
        match e {
            StoreError::NotFound => Self::not_found(lang),
            StoreError::Merged(into) => PageError {
                merged_into: Some(into),
                ..Self::not_found(lang)
            },
            StoreError::Forbidden => Self::forbidden(lang),
            StoreError::Invalid(fe) => {
                Self::field_errors(StatusCode::UNPROCESSABLE_ENTITY, &fe, lang)
            }
            StoreError::BadQuery(fe) => Self::field_errors(StatusCode::BAD_REQUEST, &fe, lang),
            other => {
                tracing::error!(error = %other, "page failed");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "error.internal", lang)
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let Some(id) = &self.merged_into {
            return Redirect::to(&format!("/customers/{id}")).into_response();
        }
        let tr = Tr(self.lang);
        let mut r = render(&ErrorPage {
            tr,
            message: tr.t(self.key),
            detail: &self.detail,
        });
        *r.status_mut() = self.status;
        r
    }
}

/// Maps store errors to pages in the user's language.
pub trait PageResult<T> {
    fn page(self, lang: Lang) -> Result<T, PageError>;
}

impl<T> PageResult<T> for Result<T, StoreError> {
    fn page(self, lang: Lang) -> Result<T, PageError> {
        self.map_err(|e| PageError::from_store(e, lang))
    }
}
