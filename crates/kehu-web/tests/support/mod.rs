//! Starts the real application on a loopback port against a fresh SQLite
//! file or PostgreSQL schema, and gives tests users with API tokens.
#![allow(dead_code)]

use kehu_domain::ids::UserId;
use kehu_store::audit::Actor;
use kehu_store::auth;
use kehu_store::testing::{fresh, Kind};
use kehu_store::Db;
use kehu_web::{AppState, Config};
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Client, RequestBuilder, Response};
use serde_json::Value;

pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub http: Client,
}

pub use kehu_store::testing::PASSWORD;

impl TestApp {
    pub async fn spawn(kind: Kind) -> TestApp {
        let db = fresh(kind).await.expect("a fresh database");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(db.clone(), Config::default());
        tokio::spawn(kehu_web::serve(listener, state, std::future::pending()));
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestApp { base, db, http }
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
}

/// Checks the status and returns the JSON body.
pub async fn expect(r: Response, status: u16) -> Value {
    let got = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(got, status, "unexpected status; body: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }
}

/// The value of a cookie in a response's Set-Cookie headers, with the whole header.
pub fn set_cookie(r: &reqwest::Response, name: &str) -> Option<(String, String)> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            let value = v[name.len() + 1..].split(';').next().unwrap().to_string();
            (value, v.to_string())
        })
}

pub fn hidden_csrf(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a csrf field") + 20;
    html[at..].split('"').next().unwrap().to_string()
}

/// Posts the login form; returns the response.
pub async fn login(app: &TestApp, login: &str, password: &str) -> reqwest::Response {
    let page = app.http.get(app.url("/login")).send().await.unwrap();
    let (pre, _) = set_cookie(&page, "kehu_login_csrf").expect("login csrf cookie");
    let csrf = hidden_csrf(&page.text().await.unwrap());
    app.http
        .post(app.url("/login"))
        .header(COOKIE, format!("kehu_login_csrf={pre}"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("login", login),
            ("password", password),
            ("next", "/customers"),
        ])
        .send()
        .await
        .unwrap()
}

pub async fn session(app: &TestApp, who: &str) -> String {
    let r = login(app, who, PASSWORD).await;
    assert_eq!(r.status(), 303);
    set_cookie(&r, "kehu_session").expect("a session cookie").0
}
