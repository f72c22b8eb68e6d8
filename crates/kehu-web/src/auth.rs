//! Who is asking. Extractors that authenticate a request (session cookie
//! for the UI, bearer token or session for the API), check CSRF tokens on
//! form posts, and find the caller's language and address.

use crate::error::ApiError;
use crate::state::AppState;
use crate::ui::page::PageError;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use kehu_domain::role::Principal;
use kehu_domain::Lang;
use kehu_store::auth::{self, User};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::net::SocketAddr;
use subtle::ConstantTimeEq;

pub const SESSION_COOKIE: &str = "kehu_session";
pub const LANG_COOKIE: &str = "kehu_lang";
pub const LOGIN_CSRF_COOKIE: &str = "kehu_login_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Builds a cookie with kehu's attributes: HttpOnly, SameSite=Lax, path /.
pub fn cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    max_age_days: i64,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.secure_cookies)
        .path("/")
        .max_age(time_days(max_age_days))
        .build()
}

fn time_days(d: i64) -> time::Duration {
    time::Duration::days(d)
}

pub fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The caller's address, for rate limits and the audit trail.
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        Ok(ClientIp(ip))
    }
}

/// The UI language: the `kehu_lang` cookie, else zh-CN.
pub struct UiLang(pub Lang);

pub fn ui_lang(jar: &CookieJar) -> Lang {
    jar.get(LANG_COOKIE)
        .map(|c| Lang::from_tag(c.value()))
        .unwrap_or_default()
}

impl<S: Send + Sync> FromRequestParts<S> for UiLang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(UiLang(ui_lang(&CookieJar::from_headers(&parts.headers))))
    }
}

/// The API language: `Accept-Language`, else zh-CN.
pub fn api_lang(parts: &Parts) -> Lang {
    parts
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::from_tag)
        .unwrap_or_default()
}

/// A signed-in user of the web UI. Without a live session the request is
/// sent to the login page.
pub struct WebUser {
    pub user: User,
    pub principal: Principal,
    pub csrf: String,
    pub lang: Lang,
    /// Notifications not read yet (shown in the top bar).
    pub unread: i64,
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = Response;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let lang = ui_lang(&jar);
        let to_login = || {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let next = if parts.method == Method::GET {
                next
            } else {
                "/"
            };
            Redirect::to(&format!("/login?next={}", urlencode(next))).into_response()
        };
        let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else {
            return Err(to_login());
        };
        match auth::session_user(&state.db, &token).await {
            Ok(Some((user, csrf))) => Ok(WebUser {
                unread: kehu_store::notifications::unread(&state.db, &user.id)
                    .await
                    .unwrap_or(0),
                principal: user.principal(),
                user,
                csrf,
                lang,
            }),
            Ok(None) => Err(to_login()),
            Err(e) => Err(PageError::from_store(e, lang).into_response()),
        }
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// A form posted by a signed-in user, with its CSRF token checked. Fields
/// may repeat (checkbox lists) where `T` has a `Vec`.
pub struct CsrfForm<T>(pub WebUser, pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let user = WebUser::from_request_parts(&mut parts, state).await?;
        let lang = user.lang;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let sent: CsrfField = serde_html_form::from_bytes(&bytes).unwrap_or(CsrfField {
            csrf: String::new(),
        });
        if !ct_eq(&sent.csrf, &user.csrf) {
            return Err(PageError::csrf(lang).into_response());
        }
        let form: T = serde_html_form::from_bytes(&bytes)
            .map_err(|e| PageError::bad_form(lang, &e.to_string()).into_response())?;
        Ok(CsrfForm(user, form))
    }
}

/// A caller of the REST API: a bearer token, or a browser session (whose
/// writes must carry the session's CSRF token in `X-CSRF-Token`).
pub struct ApiUser {
    pub user: User,
    pub principal: Principal,
    pub lang: Lang,
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = api_lang(parts);
        let unauthorized = || ApiError::unauthorized().lang(lang);
        if let Some(h) = parts.headers.get(header::AUTHORIZATION) {
            let v = h.to_str().map_err(|_| unauthorized())?;
            let token = v
                .strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .ok_or_else(unauthorized)?;
            let user = auth::token_user(&state.db, token.trim())
                .await
                .map_err(|e| ApiError::from(e).lang(lang))?
                .ok_or_else(unauthorized)?;
            return Ok(ApiUser {
                principal: user.principal(),
                user,
                lang,
            });
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let token = jar
            .get(SESSION_COOKIE)
            .map(|c| c.value().to_string())
            .ok_or_else(unauthorized)?;
        let (user, csrf) = auth::session_user(&state.db, &token)
            .await
            .map_err(|e| ApiError::from(e).lang(lang))?
            .ok_or_else(unauthorized)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !ct_eq(sent, &csrf) {
                return Err(ApiError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "missing or wrong X-CSRF-Token header",
                )
                .lang(lang));
            }
        }
        Ok(ApiUser {
            principal: user.principal(),
            user,
            lang,
        })
    }
}
