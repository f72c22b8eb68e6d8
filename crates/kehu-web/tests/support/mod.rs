//! Starts the real application on a loopback port against a fresh SQLite
//! file or PostgreSQL schema, and gives tests users with API tokens.
#![allow(dead_code)]

use kehu_domain::ids::UserId;
use kehu_store::audit::Actor;
use kehu_store::auth::{self, NewUser};
use kehu_store::testing::{fresh, Kind};
use kehu_store::Db;
use kehu_web::{AppState, Config};
use reqwest::{Client, RequestBuilder, Response};
use serde_json::Value;

/// Writes a test once and runs it on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)(kehu_store::testing::Kind::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)(kehu_store::testing::Kind::Postgres).await
            }
        }
    };
}

pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub http: Client,
}

pub const PASSWORD: &str = "test-password-123";

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
        let u = auth::create_user(
            &self.db,
            None,
            &NewUser {
                login: login.into(),
                name: login.into(),
                role: role.into(),
                team: team.into(),
                password: PASSWORD.into(),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("creating {login}: {e}"));
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
