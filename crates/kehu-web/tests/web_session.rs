//! Signing in through the web UI: cookies, CSRF, rate limiting, and
//! sessions that end when they must. On SQLite and PostgreSQL.

mod support;

use kehu_store::both;
use reqwest::header::{COOKIE, LOCATION};
use serde_json::json;
use support::{expect, hidden_csrf, login, session, set_cookie, TestApp, PASSWORD};

both!(login_sets_a_safe_session_cookie, |kind| async move {
    let app = TestApp::spawn(kind).await;
    app.user("li", "agent", "").await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let r = login(&app, "li", PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/customers");
    let (_, header) = set_cookie(&r, "kehu_session").unwrap();
    assert!(header.contains("HttpOnly"), "{header}");
    assert!(header.contains("SameSite=Lax"), "{header}");
    let token = set_cookie(&r, "kehu_session").unwrap().0;
    let page = app
        .http
        .get(app.url("/customers"))
        .header(COOKIE, format!("kehu_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let logins = expect(
        app.get(&admin, "/api/v1/audit?action=login")
            .send()
            .await
            .unwrap(),
        200,
    )
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
    // A login form posted without its token is refused.
    let forged = app
        .http
        .post(app.url("/login"))
        .form(&[("login", "li"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
});

both!(failed_logins_are_rate_limited, |kind| async move {
    let app = TestApp::spawn(kind).await;
    app.user("li", "agent", "").await;
    for _ in 0..5 {
        assert_eq!(login(&app, "li", "wrong-password").await.status(), 401);
    }
    assert_eq!(
        login(&app, "li", PASSWORD).await.status(),
        429,
        "even the right password waits"
    );
    assert_eq!(
        login(&app, "nobody", "wrong-password").await.status(),
        401,
        "other logins are not blocked"
    );
});

both!(forms_need_the_session_csrf_token, |kind| async move {
    let app = TestApp::spawn(kind).await;
    app.user("li", "agent", "").await;
    let token = session(&app, "li").await;
    let cookie = format!("kehu_session={token}");
    let no_token = app
        .http
        .post(app.url("/customers/new"))
        .header(COOKIE, &cookie)
        .form(&[("kind", "person"), ("name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403);
    let wrong = app
        .http
        .post(app.url("/customers/new"))
        .header(COOKIE, &cookie)
        .form(&[("_csrf", "x"), ("kind", "person"), ("name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let form = app
        .http
        .get(app.url("/customers/new"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_csrf(&form);
    let ok = app
        .http
        .post(app.url("/customers/new"))
        .header(COOKIE, &cookie)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("kind", "person"),
            ("name", "张伟"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    // The API with a session cookie needs the token in a header for writes.
    let api = app
        .http
        .post(app.url("/api/v1/customers"))
        .header(COOKIE, &cookie)
        .json(&json!({"name": "x", "kind": "person"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 403);
    let api = app
        .http
        .post(app.url("/api/v1/customers"))
        .header(COOKIE, &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"name": "x", "kind": "person"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 201);
});

both!(
    sessions_end_on_logout_password_change_and_deactivation,
    |kind| async move {
        let app = TestApp::spawn(kind).await;
        let (_, admin) = app.user("admin", "admin", "").await;
        let (li_id, _) = app.user("li", "agent", "").await;
        let me = |token: String| {
            let r = app
                .http
                .get(app.url("/api/v1/me"))
                .header(COOKIE, format!("kehu_session={token}"));
            async move { r.send().await.unwrap().status().as_u16() }
        };
        // Logout.
        let t = session(&app, "li").await;
        assert_eq!(me(t.clone()).await, 200);
        let page = app
            .http
            .get(app.url("/customers"))
            .header(COOKIE, format!("kehu_session={t}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let out = app
            .http
            .post(app.url("/logout"))
            .header(COOKIE, format!("kehu_session={t}"))
            .form(&[("_csrf", hidden_csrf(&page))])
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), 303);
        assert_eq!(me(t).await, 401);
        // A password set by an admin.
        let t = session(&app, "li").await;
        expect(
            app.patch(
                &admin,
                &format!("/api/v1/users/{li_id}"),
                json!({"password": "another-password-1"}),
            )
            .send()
            .await
            .unwrap(),
            200,
        )
        .await;
        assert_eq!(me(t).await, 401);
        // Deactivation.
        expect(
            app.patch(
                &admin,
                &format!("/api/v1/users/{li_id}"),
                json!({"password": PASSWORD}),
            )
            .send()
            .await
            .unwrap(),
            200,
        )
        .await;
        let t = session(&app, "li").await;
        expect(
            app.patch(
                &admin,
                &format!("/api/v1/users/{li_id}"),
                json!({"active": false}),
            )
            .send()
            .await
            .unwrap(),
            200,
        )
        .await;
        assert_eq!(me(t).await, 401);
        assert_eq!(
            login(&app, "li", PASSWORD).await.status(),
            401,
            "a deactivated user cannot log in"
        );
    }
);
