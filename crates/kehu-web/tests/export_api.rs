//! Downloading customer lists over HTTP (API and list page): permission,
//! scope, filters, masked phones, neutralised formulas, file headers and
//! the audit entry; on SQLite and PostgreSQL.

mod support;

use kehu_domain::export::{Format, CUSTOMER_COLUMNS};
use kehu_store::both;
use kehu_store::testing::read_export;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE};
use serde_json::json;
use support::{expect, hidden_csrf, TestApp, PASSWORD};

/// The names and mobiles of a download, after checking its headers.
async fn download(r: reqwest::Response, format: Format) -> Vec<(String, String)> {
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert_eq!(h[CONTENT_TYPE], format.content_type());
    let disposition = h[CONTENT_DISPOSITION].to_str().unwrap().to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"kehu-customers-20")
            && disposition.ends_with(&format!(".{}\"", format.code())),
        "{disposition}"
    );
    let rows = read_export(format, &r.bytes().await.unwrap());
    assert_eq!(rows[0], CUSTOMER_COLUMNS);
    rows[1..]
        .iter()
        .map(|r| (r[1].clone(), r[5].clone()))
        .collect()
}

async fn get(app: &TestApp, cookie: &str, path: &str) -> reqwest::Response {
    let req = app.http.get(app.url(path)).header(COOKIE, cookie);
    req.send().await.unwrap()
}

/// A page's HTML, with `&` in links as written.
async fn page(app: &TestApp, cookie: &str, path: &str) -> String {
    let html = get(app, cookie, path).await.text().await.unwrap();
    html.replace("&#38;", "&")
}

fn names(rows: &[(String, String)]) -> Vec<&str> {
    rows.iter().map(|r| r.0.as_str()).collect()
}

both!(export_downloads, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (li_id, li) = app.user("li", "agent", "A").await;
    let (_, wang) = app.user("wang", "agent", "B").await;
    let customers = [
        (
            &li,
            json!({"name": "张伟", "kind": "person", "mobile": "13812345678", "grade": "A", "tags": ["VIP"]}),
        ),
        (
            &li,
            json!({"name": "=1+1", "kind": "person", "company": "@SUM(A1)"}),
        ),
        (
            &wang,
            json!({"name": "李娜", "kind": "person", "mobile": "13900001111"}),
        ),
    ];
    for (token, body) in customers {
        app.customer(token, body).await;
    }
    let (_, admin) = app.user("admin", "admin", "").await;
    let (fin_id, fin) = app.user("fin", "finance", "").await;

    // Without the permission: a 403 problem document.
    let refused = app.get(&li, "/api/v1/customers/export?format=csv");
    let r = refused.send().await.unwrap();
    assert_eq!(r.headers()[CONTENT_TYPE], "application/problem+json");
    let problem = expect(r, 403).await;
    assert_eq!(problem["status"], 403);

    // An admin grants it through the users API.
    for id in [&li_id, &fin_id] {
        let grant = json!({"can_export": true});
        let r = app.patch(&admin, &format!("/api/v1/users/{id}"), grant);
        assert_eq!(
            expect(r.send().await.unwrap(), 200).await["can_export"],
            true
        );
    }

    // The agent gets their own customers only, formulas neutralised; the
    // list's filters apply; finance sees everyone, numbers masked.
    let cases = [
        (
            &li,
            Format::Csv,
            "sort=created_at",
            vec![("张伟", "13812345678"), ("'=1+1", "")],
        ),
        (
            &li,
            Format::Xlsx,
            "grade=A&tag=VIP",
            vec![("张伟", "13812345678")],
        ),
        (
            &fin,
            Format::Xlsx,
            "sort=name",
            vec![
                ("'=1+1", ""),
                ("李娜", "139****1111"),
                ("张伟", "138****5678"),
            ],
        ),
    ];
    for (token, format, query, expected) in cases {
        let path = format!("/api/v1/customers/export?format={}&{query}", format.code());
        let rows = download(app.get(token, &path).send().await.unwrap(), format).await;
        let got: Vec<(&str, &str)> = rows.iter().map(|(n, m)| (n.as_str(), m.as_str())).collect();
        assert_eq!(got, expected, "{path}");
    }

    // A missing or unknown format is a field problem.
    for q in ["", "?format=pdf"] {
        let r = app.get(&fin, &format!("/api/v1/customers/export{q}"));
        let e = expect(r.send().await.unwrap(), 422).await;
        assert_eq!(e["errors"][0]["field"], "format", "{q}");
    }

    // Each download is audited with its row count.
    let audit = app.get(&admin, "/api/v1/audit?action=export");
    let log = expect(audit.send().await.unwrap(), 200).await;
    let counts: Vec<(String, i64)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let rows = e["changes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["field"] == "rows")
                .unwrap()["new"]
                .as_i64()
                .unwrap();
            (e["actor_login"].as_str().unwrap().to_string(), rows)
        })
        .collect();
    assert_eq!(
        counts,
        [("fin".into(), 3), ("li".into(), 1), ("li".into(), 2)]
    );
});

both!(export_from_the_list_page, |kind| async move {
    let app = TestApp::spawn(kind).await;
    app.user("admin", "admin", "").await;
    let (li_id, li) = app.user("li", "agent", "").await;
    app.customer(&li, json!({"name": "张伟", "kind": "person", "grade": "A"}))
        .await;
    app.customer(&li, json!({"name": "王芳", "kind": "person"}))
        .await;
    let li_cookie = format!("kehu_session={}", app.session("li", PASSWORD).await);
    let html = page(&app, &li_cookie, "/customers?grade=A").await;
    assert!(
        !html.contains("/customers/export"),
        "no control without the permission"
    );
    let forbidden = get(&app, &li_cookie, "/customers/export?format=csv").await;
    assert_eq!(forbidden.status(), 403);

    // An admin grants it on the user's page.
    let admin_cookie = format!("kehu_session={}", app.session("admin", PASSWORD).await);
    let user_page = format!("/admin/users/{li_id}");
    let form = page(&app, &admin_cookie, &user_page).await;
    assert!(form.contains("name=\"can_export\""), "{form}");
    let csrf = hidden_csrf(&form).expect("a csrf field");
    let fields = [("_csrf", csrf.as_str()), ("name", "li"), ("role", "agent")];
    let checked = [("active", "on"), ("can_export", "on")];
    let post = app
        .http
        .post(app.url(&user_page))
        .header(COOKIE, &admin_cookie);
    let saved = post
        .form(&[&fields[..], &checked[..]].concat())
        .send()
        .await;
    assert_eq!(saved.unwrap().status(), 303);
    // Changing a user ends their sessions; signed in again, they have the control.
    let li_cookie = format!("kehu_session={}", app.session("li", PASSWORD).await);
    assert!(page(&app, &li_cookie, "/customers")
        .await
        .contains("id=\"export\""));
    let own = get(&app, &li_cookie, "/customers/export?format=csv").await;
    assert_eq!(names(&download(own, Format::Csv).await), ["王芳", "张伟"]);

    let html = page(&app, &admin_cookie, "/customers?grade=A&sort=name").await;
    let link = "/customers/export?q=&owner_id=&tag=&source=&grade=A&kind=&sort=name&format=xlsx";
    assert!(
        html.contains(link),
        "the control carries the filters: {html}"
    );
    let rows = download(get(&app, &admin_cookie, link).await, Format::Xlsx).await;
    assert_eq!(names(&rows), ["张伟"]);
});
