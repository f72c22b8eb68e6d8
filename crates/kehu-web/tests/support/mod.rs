//! Starts the real application on a loopback port against a fresh SQLite
//! file or PostgreSQL schema, gives tests users with API tokens and web
//! sessions, and reads the answers: JSON, problem documents, cookies.
//! Tests are written once for both databases with `kehu_store::both!`.
#![allow(dead_code)]

use kehu_domain::ids::UserId;
use kehu_store::audit::Actor;
use kehu_store::auth;
use kehu_store::testing::{fresh, Kind};
use kehu_store::Db;
use kehu_web::{AppState, Config};
use reqwest::header::{HeaderMap, CONTENT_TYPE, COOKIE, SET_COOKIE};
use reqwest::{Client, RequestBuilder, Response};
use serde_json::Value;

pub struct TestApp {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base: String,
    pub db: Db,
    /// Follows no redirects and keeps no cookies: tests see every answer.
    pub http: Client,
    /// Where uploads are kept.
    pub data_dir: std::path::PathBuf,
}

/// The password every test user gets.
pub const PASSWORD: &str = "test-password-123";

impl TestApp {
    pub async fn spawn(kind: Kind) -> TestApp {
        Self::spawn_with(kind, |_| {}).await
    }

    /// The application with settings changed by `configure`; uploads go to
    /// a fresh temporary folder.
    pub async fn spawn_with(kind: Kind, configure: impl FnOnce(&mut Config)) -> TestApp {
        let db = fresh(kind)
            .await
            .unwrap_or_else(|e| panic!("a fresh {kind:?} database: {e}"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let data_dir = std::env::temp_dir()
            .join("kehu-tests")
            .join(format!("data-{}", uuid::Uuid::new_v4()));
        let mut config = Config {
            data_dir: data_dir.clone(),
            ..Config::default()
        };
        configure(&mut config);
        let state = AppState::new(db.clone(), config);
        tokio::spawn(kehu_web::serve(listener, state, std::future::pending()));
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestApp {
            base,
            db,
            http,
            data_dir,
        }
    }

    /// A user with this role (and team) and an API token of theirs.
    pub async fn user(&self, login: &str, role: &str, team: &str) -> (UserId, String) {
        let u = kehu_store::testing::user(&self.db, login, role, team).await;
        let (_, secret) = auth::create_token(&self.db, &Actor::system("test"), &u.id, "test")
            .await
            .unwrap();
        (u.id, secret)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, token: &str, path: &str) -> RequestBuilder {
        self.http.get(self.url(path)).bearer_auth(token)
    }

    pub fn post(&self, token: &str, path: &str, body: Value) -> RequestBuilder {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
    }

    pub fn patch(&self, token: &str, path: &str, body: Value) -> RequestBuilder {
        self.http
            .patch(self.url(path))
            .bearer_auth(token)
            .json(&body)
    }

    pub fn delete(&self, token: &str, path: &str) -> RequestBuilder {
        self.http.delete(self.url(path)).bearer_auth(token)
    }

    /// Creates a customer as `token`, panicking unless it answers 201.
    pub async fn customer(&self, token: &str, body: Value) -> Value {
        let r = self
            .post(token, "/api/v1/customers", body)
            .send()
            .await
            .unwrap();
        expect(r, 201).await
    }

    /// Fetches the login form: (CSRF cookie value, hidden field value).
    pub async fn login_form(&self) -> (String, String) {
        let page = self.http.get(self.url("/login")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let (cookie, header) =
            set_cookie(page.headers(), "kehu_login_csrf").expect("a kehu_login_csrf cookie");
        assert!(header.contains("HttpOnly"), "{header}");
        let html = page.text().await.unwrap();
        let field = hidden_csrf(&html).expect("a hidden _csrf input");
        (cookie, field)
    }

    /// Posts the login form as a browser would, without a page to return to.
    pub async fn login(&self, login: &str, password: &str) -> Response {
        self.post_login(&[("login", login), ("password", password)])
            .await
    }

    /// Posts the login form asking to return to `next`.
    pub async fn login_to(&self, login: &str, password: &str, next: &str) -> Response {
        self.post_login(&[("login", login), ("password", password), ("next", next)])
            .await
    }

    async fn post_login(&self, fields: &[(&str, &str)]) -> Response {
        let (cookie, csrf) = self.login_form().await;
        let mut form = vec![("_csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        self.http
            .post(self.url("/login"))
            .header(COOKIE, format!("kehu_login_csrf={cookie}"))
            .form(&form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("no answer to the login form {fields:?}: {e}"))
    }

    /// Signs in and returns the session cookie's value.
    pub async fn session(&self, login: &str, password: &str) -> String {
        let r = self.login(login, password).await;
        assert_eq!(r.status(), 303, "signing in {login}");
        set_cookie(r.headers(), "kehu_session")
            .expect("a kehu_session cookie")
            .0
    }

    /// A GET with this session's cookie.
    pub fn page(&self, session: &str, path: &str) -> RequestBuilder {
        self.http
            .get(self.url(path))
            .header(COOKIE, format!("kehu_session={session}"))
    }

    /// A form posted with this session's cookie.
    pub fn form(&self, session: &str, path: &str, form: &[(&str, &str)]) -> RequestBuilder {
        self.http
            .post(self.url(path))
            .header(COOKIE, format!("kehu_session={session}"))
            .form(form)
    }

    /// The status of `/api/v1/me` with this session: 200 while it lasts.
    pub async fn me_status(&self, session: &str) -> u16 {
        status_of(self.page(session, "/api/v1/me")).await
    }
}

/// Sends a request and checks its answer, as [`expect`] and [`problem`] do.
pub trait Answer {
    async fn expect(self, status: u16) -> Value;
    async fn problem(self, status: u16) -> Value;
}

impl Answer for RequestBuilder {
    async fn expect(self, status: u16) -> Value {
        expect(self.send().await.unwrap(), status).await
    }

    async fn problem(self, status: u16) -> Value {
        problem(self.send().await.unwrap(), status).await
    }
}

/// Checks the status and returns the body as JSON (`Null` when empty, a
/// string when it is not JSON).
pub async fn expect(r: Response, status: u16) -> Value {
    let url = r.url().to_string();
    let got = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(got, status, "{url}: unexpected status; body: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }
}

/// Checks a problem document: the status, its content type, and that the
/// body's `status` agrees. Returns the document.
pub async fn problem(r: Response, status: u16) -> Value {
    let ct = content_type(r.headers());
    let doc = expect(r, status).await;
    assert_eq!(
        ct, "application/problem+json",
        "problem content type; body: {doc}"
    );
    assert_eq!(doc["status"], status, "status inside the document: {doc}");
    doc
}

pub async fn status_of(r: RequestBuilder) -> u16 {
    r.send().await.unwrap().status().as_u16()
}

pub fn content_type(h: &HeaderMap) -> String {
    h.get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// The fields named in a problem document's `errors`, sorted.
pub fn error_fields(doc: &Value) -> Vec<String> {
    let mut fields: Vec<String> = doc["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["field"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    fields.sort();
    fields
}

/// The message given for one field in a problem document.
pub fn error_message(doc: &Value, field: &str) -> String {
    doc["errors"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["field"] == field))
        .and_then(|e| e["message"].as_str())
        .unwrap_or_else(|| panic!("no error for {field} in {doc}"))
        .to_string()
}

/// A cookie set by a response: (value, the whole Set-Cookie header).
pub fn set_cookie(h: &HeaderMap, name: &str) -> Option<(String, String)> {
    let prefix = format!("{name}=");
    h.get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&prefix))
        .map(|v| {
            let value = v[prefix.len()..]
                .split(';')
                .next()
                .unwrap_or("")
                .to_string();
            (value, v.to_string())
        })
}

/// The value of the first hidden `_csrf` input of an HTML page.
pub fn hidden_csrf(html: &str) -> Option<String> {
    let marker = "name=\"_csrf\" value=\"";
    let at = html.find(marker)? + marker.len();
    html[at..].split('"').next().map(str::to_string)
}

/// Percent-encodes a query parameter value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `id` of a JSON record.
pub fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}
