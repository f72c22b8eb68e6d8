//! Logging in and out, and switching the language.

use crate::auth::{self, ClientIp, UiLang, LANG_COOKIE, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::i18n::Tr;
use crate::state::AppState;
use crate::ui::page::render;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::CookieJar;
use kehu_domain::Lang;
use kehu_store::Error as StoreError;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    tr: Tr,
    csrf: String,
    next: String,
    login: String,
    error: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// Only same-site paths are followed after login: one `/`, then not a
/// second `/` or `\`, and no control characters (browsers drop tabs and
/// newlines, so `/\t/host` would become `//host`). Anything else goes home.
fn safe_next(next: &str) -> &str {
    let same_site = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(char::is_control);
    if same_site {
        next
    } else {
        "/customers"
    }
}

/// The login form carries a token that must match a cookie set with it
/// (double submit), so that no other site can post a login.
fn login_csrf(jar: &CookieJar) -> Option<String> {
    jar.get(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() >= 32)
}

fn new_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn login_page(
    state: &AppState,
    jar: CookieJar,
    lang: Lang,
    next: &str,
    login: &str,
    error: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let csrf = login_csrf(&jar).unwrap_or_else(new_token);
    let jar = jar.add(auth::cookie(state, LOGIN_CSRF_COOKIE, csrf.clone(), 1));
    let mut r = render(&LoginPage {
        tr: Tr(lang),
        csrf,
        next: safe_next(next).to_string(),
        login: login.to_string(),
        error,
    });
    *r.status_mut() = status;
    (jar, r).into_response()
}

pub async fn form(
    State(state): State<AppState>,
    UiLang(lang): UiLang,
    jar: CookieJar,
    Query(q): Query<NextQuery>,
) -> Response {
    login_page(&state, jar, lang, &q.next, "", None, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn submit(
    State(state): State<AppState>,
    UiLang(lang): UiLang,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Form(f): Form<LoginForm>,
) -> Response {
    let tr = Tr(lang);
    let fresh = login_csrf(&jar).is_some_and(|c| auth::ct_eq(&c, &f.csrf));
    if !fresh {
        return login_page(
            &state,
            jar,
            lang,
            &f.next,
            &f.login,
            Some(tr.t("error.csrf")),
            StatusCode::FORBIDDEN,
        );
    }
    match kehu_store::auth::login(&state.db, &f.login, &f.password, &ip).await {
        Ok((_, session)) => {
            let jar = jar
                .remove(auth::cookie(&state, LOGIN_CSRF_COOKIE, String::new(), 0))
                .add(auth::cookie(
                    &state,
                    SESSION_COOKIE,
                    session.token,
                    kehu_store::auth::SESSION_IDLE_DAYS,
                ));
            (jar, Redirect::to(safe_next(&f.next))).into_response()
        }
        Err(StoreError::BadCredentials) => login_page(
            &state,
            jar,
            lang,
            &f.next,
            &f.login,
            Some(tr.t("login.failed")),
            StatusCode::UNAUTHORIZED,
        ),
        Err(StoreError::RateLimited { .. }) => login_page(
            &state,
            jar,
            lang,
            &f.next,
            &f.login,
            Some(tr.t("login.rate_limited")),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(e) => crate::ui::page::PageError::from_store(e, lang).into_response(),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    crate::auth::CsrfForm(_, _): crate::auth::CsrfForm<Empty>,
) -> Response {
    if let Some(c) = jar.get(SESSION_COOKIE) {
        if let Err(e) = kehu_store::auth::logout(&state.db, c.value()).await {
            tracing::error!(error = %e, "logout failed");
        }
    }
    let jar = jar.remove(auth::cookie(&state, SESSION_COOKIE, String::new(), 0));
    (jar, Redirect::to("/login")).into_response()
}

/// A form with nothing but its CSRF token.
#[derive(Deserialize)]
pub struct Empty {}

#[derive(Deserialize)]
pub struct LangForm {
    #[serde(default)]
    lang: String,
}

/// Switches the language. Harmless, so it needs no session; it only sets
/// a cookie and returns to the page it came from.
pub async fn set_lang(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: axum::http::HeaderMap,
    Form(f): Form<LangForm>,
) -> Response {
    let lang = Lang::from_tag(&f.lang);
    let back = headers
        .get(axum::http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("://").map(|i| &r[i + 3..]))
        .and_then(|r| r.find('/').map(|i| r[i..].to_string()))
        .unwrap_or_else(|| "/customers".into());
    let jar = jar.add(auth::cookie(
        &state,
        LANG_COOKIE,
        lang.code().to_string(),
        365,
    ));
    (jar, Redirect::to(safe_next(&back))).into_response()
}
