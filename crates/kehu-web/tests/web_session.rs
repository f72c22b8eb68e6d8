//! Signing in through the web UI: cookies, CSRF, rate limiting, where a
//! login leads, and sessions that end when they must. On SQLite and
//! PostgreSQL.

mod support;

use kehu_store::both;
use reqwest::header::{COOKIE, LOCATION};
use serde_json::json;
use support::{hidden_csrf, set_cookie, status_of, Answer, TestApp, PASSWORD};

both!(login_sets_a_safe_session_cookie, |kind| async move {
    let app = TestApp::spawn(kind).await;
    app.user("li", "agent", "").await;
    let (_, admin) = app.user("admin", "admin", "").await;

    // The form's token must match its cookie (double submit): without the
    // cookie the form is refused.
    let (cookie, field) = app.login_form().await;
    assert_eq!(cookie, field, "double-submit token");
    let forged = app
        .http
        .post(app.url("/login"))
        .form(&[
            ("_csrf", field.as_str()),
            ("login", "li"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(set_cookie(forged.headers(), "kehu_session").is_none());

    let r = app.login("li", PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/customers");
    let (token, header) = set_cookie(r.headers(), "kehu_session").expect("a session cookie");
    assert!(header.contains("HttpOnly"), "{header}");
    assert!(header.contains("SameSite=Lax"), "{header}");
    assert!(header.contains("Path=/"), "{header}");
    assert!(token.len() >= 32);
    assert_eq!(app.me_status(&token).await, 200);
    let page = app.page(&token, "/customers").send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let logins = app
        .get(&admin, "/api/v1/audit?action=login")
        .expect(200)
        .await;
    assert_eq!(
        logins[0]["actor_login"], "li",
        "logins are in the audit log"
    );
    assert_eq!(logins[0]["changes"][0]["new"], "127.0.0.1");
    // Without a session the page sends you to log in.
    let anon = app.http.get(app.url("/customers")).send().await.unwrap();
    assert_eq!(anon.status(), 303);
    assert!(anon.headers()[LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/login"));
});

both!(login_redirects_only_within_the_site, |kind| async move {
    let app = TestApp::spawn(kind).await;
    app.user("li", "agent", "").await;
    let r = app.login_to("li", PASSWORD, "/customers?q=%E5%BC%A0").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/customers?q=%E5%BC%A0");
    // Anything but a path of this site goes home. Browsers drop tabs and
    // newlines from URLs, so "/\t/evil.example/" would leave the site too.
    for next in [
        "//evil.example/",
        "/\\evil.example/",
        "https://evil.example/",
        "/\t/evil.example/",
        "/\n/evil.example/",
        "/\r\n/evil.example/",
    ] {
        let r = app.login_to("li", PASSWORD, next).await;
        assert_eq!(r.status(), 303, "next {next:?}");
        assert_eq!(r.headers()[LOCATION], "/customers", "next {next:?}");
    }
});

both!(failed_logins_are_rate_limited, |kind| async move {
    let app = TestApp::spawn(kind).await;
    app.user("li", "agent", "").await;
    app.user("wang", "agent", "").await;
    for i in 0..5 {
        let r = app.login("li", "wrong-password").await;
        assert_eq!(r.status(), 401, "attempt {i}");
        assert!(set_cookie(r.headers(), "kehu_session").is_none());
    }
    let r = app.login("li", PASSWORD).await;
    assert_eq!(r.status(), 429, "even the right password waits");
    assert!(set_cookie(r.headers(), "kehu_session").is_none());
    let r = app.login("LI", PASSWORD).await;
    assert_eq!(r.status(), 429, "logins are case-insensitive");
    // Other users are not locked out.
    assert_eq!(app.login("wang", PASSWORD).await.status(), 303);
});

both!(forms_need_the_session_csrf_token, |kind| async move {
    let app = TestApp::spawn(kind).await;
    app.user("li", "agent", "").await;
    let token = app.session("li", PASSWORD).await;
    let new = |form: &[(&str, &str)]| status_of(app.form(&token, "/customers/new", form));
    assert_eq!(new(&[("kind", "person"), ("name", "x")]).await, 403);
    assert_eq!(
        new(&[("_csrf", "x"), ("kind", "person"), ("name", "x")]).await,
        403
    );
    let form = app.page(&token, "/customers/new").send().await.unwrap();
    let csrf = hidden_csrf(&form.text().await.unwrap()).expect("a _csrf field on the form");
    assert_eq!(
        new(&[("_csrf", &csrf), ("kind", "person"), ("name", "张伟")]).await,
        303
    );
    // The API with a session cookie needs the token in a header for writes.
    let api = |csrf: Option<&str>| {
        let mut r = app
            .http
            .post(app.url("/api/v1/customers"))
            .header(COOKIE, format!("kehu_session={token}"))
            .json(&json!({"name": "x", "kind": "person"}));
        if let Some(c) = csrf {
            r = r.header("x-csrf-token", c);
        }
        r
    };
    api(None).problem(403).await;
    api(Some("wrong")).problem(403).await;
    api(Some(&csrf)).expect(201).await;
});

both!(
    sessions_end_on_logout_password_change_and_deactivation,
    |kind| async move {
        let app = TestApp::spawn(kind).await;
        let (_, admin) = app.user("admin", "admin", "").await;
        let (li_id, _) = app.user("li", "agent", "").await;
        let change = |body: serde_json::Value| {
            let r = app.patch(&admin, &format!("/api/v1/users/{li_id}"), body);
            async move { r.expect(200).await }
        };
        // Logging out needs the session's token, and ends the session.
        let t = app.session("li", PASSWORD).await;
        let page = app.page(&t, "/customers").send().await.unwrap();
        let csrf = hidden_csrf(&page.text().await.unwrap()).expect("a _csrf field on the page");
        let logout = |form: &[(&str, &str)]| status_of(app.form(&t, "/logout", form));
        assert_eq!(logout(&[("x", "y")]).await, 403);
        assert_eq!(app.me_status(&t).await, 200, "still signed in");
        assert_eq!(logout(&[("_csrf", &csrf)]).await, 303);
        assert_eq!(app.me_status(&t).await, 401, "signed out");

        // A new name is no reason to sign out.
        let s1 = app.session("li", PASSWORD).await;
        let s2 = app.session("li", PASSWORD).await;
        change(json!({"name": "李雷"})).await;
        assert_eq!(app.me_status(&s1).await, 200, "renamed, still signed in");
        // A password set by an admin ends every session; only it works then.
        change(json!({"password": "a-brand-new-password"})).await;
        assert_eq!(app.me_status(&s1).await, 401);
        assert_eq!(app.me_status(&s2).await, 401);
        assert_eq!(app.login("li", PASSWORD).await.status(), 401);
        let s3 = app.session("li", "a-brand-new-password").await;
        assert_eq!(app.me_status(&s3).await, 200);
        // Deactivation ends it at once.
        change(json!({"active": false})).await;
        assert_eq!(app.me_status(&s3).await, 401);
        assert_eq!(
            app.login("li", "a-brand-new-password").await.status(),
            401,
            "a deactivated user cannot log in"
        );
    }
);
