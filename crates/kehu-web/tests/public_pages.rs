//! The public pages of the service desk over loopback, on SQLite and on
//! PostgreSQL: filing a request through `/support` (CSRF, honeypot, the
//! time gate, field errors, rate limits), the ticket's private link (only
//! that ticket, replies but no internal notes, adding a message), and the
//! satisfaction survey answered once.

mod support;

use kehu_store::both;
use reqwest::header::{COOKIE, LOCATION, RETRY_AFTER};
use reqwest::Response;
use serde_json::{json, Value};
use std::time::Duration;
use support::{id_of, set_cookie, Answer, TestApp};

const CSRF_COOKIE: &str = "kehu_public_csrf";

/// The value of the hidden input `name` of an HTML page.
fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html.find(&marker)? + marker.len();
    html[at..].split('"').next().map(str::to_string)
}

/// A public form as a browser holds it: its cookie and hidden fields.
struct Form {
    cookie: String,
    csrf: String,
    rendered_at: Option<String>,
    html: String,
}

/// Opens a public page with a form (with `cookies` sent, e.g. a language).
async fn open_form(app: &TestApp, path: &str, cookies: &str) -> Form {
    let mut req = app.http.get(app.url(path));
    if !cookies.is_empty() {
        req = req.header(COOKIE, cookies);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200, "GET {path}");
    let (cookie, header) = set_cookie(r.headers(), CSRF_COOKIE).expect("a CSRF cookie");
    assert!(header.contains("HttpOnly"), "{header}");
    assert!(header.contains("SameSite=Lax"), "{header}");
    let html = r.text().await.unwrap();
    let csrf = hidden(&html, "_csrf").expect("a hidden _csrf input");
    assert_eq!(csrf, cookie, "double-submit token");
    Form {
        cookie,
        csrf,
        rendered_at: hidden(&html, "rendered_at"),
        html,
    }
}

/// Posts `fields` to `path` with the form's cookie and token (plus any
/// `extra_cookies`), as the browser that rendered it would.
async fn post(
    app: &TestApp,
    path: &str,
    form: &Form,
    extra_cookies: &str,
    fields: &[(&str, &str)],
) -> Response {
    let mut body = vec![("_csrf", form.csrf.as_str())];
    if let Some(r) = &form.rendered_at {
        body.push(("rendered_at", r.as_str()));
    }
    body.extend_from_slice(fields);
    let mut cookies = format!("{CSRF_COOKIE}={}", form.cookie);
    if !extra_cookies.is_empty() {
        cookies = format!("{cookies}; {extra_cookies}");
    }
    app.http
        .post(app.url(path))
        .header(COOKIE, cookies)
        .form(&body)
        .send()
        .await
        .unwrap()
}

async fn status_and_text(r: Response) -> (u16, String) {
    let s = r.status().as_u16();
    (s, r.text().await.unwrap())
}

/// A valid filing by someone with this mobile.
fn filing<'a>(subject: &'a str, mobile: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", "赵敏"),
        ("mobile", mobile),
        ("email", ""),
        ("subject", subject),
        (
            "description",
            "上周在门店买的热水器安装后一直漏水，联系门店三次都没人处理。",
        ),
        ("purpose", "accusation"),
        ("product", "JSQ-20 热水器"),
        ("website", ""),
    ]
}

/// The tickets an admin sees.
async fn tickets(app: &TestApp, admin: &str) -> Vec<Value> {
    let v = app
        .get(admin, "/api/v1/tickets?queue=all")
        .expect(200)
        .await;
    v.as_array().cloned().unwrap_or_default()
}

/// The private link a successful filing leads to.
fn private_link(r: &Response) -> String {
    assert_eq!(r.status(), 303, "a filing is answered with a redirect");
    let to = r.headers()[LOCATION].to_str().unwrap().to_string();
    let token = to
        .strip_prefix("/support/t/")
        .unwrap_or_else(|| panic!("redirected to {to}"));
    assert_eq!(token.len(), 43, "a 256-bit token: {token}");
    to
}

/// Checks that a page asks to be kept private.
fn assert_private(r: &Response) {
    assert_eq!(r.headers()["x-robots-tag"], "noindex, nofollow");
    assert_eq!(r.headers()["cache-control"], "no-store");
}

fn assert_private_html(html: &str) {
    assert!(html.contains(r#"<meta name="robots" content="noindex, nofollow">"#));
    assert!(html.contains(r#"<meta name="referrer" content="no-referrer">"#));
    assert!(
        html.contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#)
    );
}

both!(filing_through_the_support_form, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("admin", "admin", "").await;

    let form = open_form(&app, "/support", "").await;
    let html = &form.html;
    assert!(
        html.contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#)
    );
    assert!(html.contains(r#"name="website""#), "a honeypot field");
    assert!(!html.contains("noindex"), "the desk itself may be found");
    assert!(!html.contains("/logout"), "no staff navigation");
    for p in ["suggestion", "criticism", "accusation"] {
        assert!(
            html.contains(&format!(r#"name="purpose" value="{p}""#)),
            "purpose {p}"
        );
    }
    assert!(html.contains("投诉控告") && html.contains("建议") && html.contains("批评"));
    let stamp = form.rendered_at.clone().expect("a rendered_at stamp");

    // Sent back at once: a robot. Nothing is filed; what was typed stays.
    let (s, page) = status_and_text(
        post(
            &app,
            "/support",
            &form,
            "",
            &filing("热水器漏水", "13900000001"),
        )
        .await,
    )
    .await;
    assert_eq!(s, 400, "{page}");
    assert!(page.contains("提交得太快了"), "{page}");
    assert!(page.contains(r#"value="热水器漏水""#), "input kept");
    // The honeypot filled in.
    let mut bot = filing("热水器漏水", "13900000001");
    bot.retain(|f| f.0 != "website");
    bot.push(("website", "http://spam.example/"));
    let (s, page) = status_and_text(post(&app, "/support", &form, "", &bot).await).await;
    assert_eq!(s, 400);
    assert!(page.contains("提交未通过检查"), "{page}");
    assert!(!page.contains("spam.example"), "the honeypot is emptied");
    // A stamp made up, or moved back in time: its digest does not match.
    let (ms, digest) = stamp.split_once('.').unwrap();
    let older = ms.parse::<i64>().unwrap() - 60_000;
    for forged in [
        format!("{older}.{digest}"),
        format!("{older}.{}", "0".repeat(64)),
        String::new(),
        "garbage".into(),
    ] {
        let f = Form {
            rendered_at: Some(forged.clone()),
            cookie: form.cookie.clone(),
            csrf: form.csrf.clone(),
            html: String::new(),
        };
        let (s, page) = status_and_text(
            post(
                &app,
                "/support",
                &f,
                "",
                &filing("热水器漏水", "13900000001"),
            )
            .await,
        )
        .await;
        assert_eq!(s, 400, "stamp {forged:?}");
        assert!(page.contains("表单已过期"), "stamp {forged:?}: {page}");
    }
    // Another site's form: no cookie (SameSite keeps it home), or another
    // browser's token.
    let r = app
        .http
        .post(app.url("/support"))
        .form(&[
            ("_csrf", form.csrf.as_str()),
            ("rendered_at", stamp.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let other = Form {
        cookie: "x".repeat(43),
        csrf: form.csrf.clone(),
        rendered_at: Some(stamp.clone()),
        html: String::new(),
    };
    let r = post(
        &app,
        "/support",
        &other,
        "",
        &filing("热水器漏水", "13900000001"),
    )
    .await;
    assert_eq!(r.status(), 403);
    assert!(tickets(&app, &admin).await.is_empty(), "nothing filed");

    // A person takes a few seconds.
    tokio::time::sleep(Duration::from_millis(3200)).await;

    // An empty form: every missing field is named beside it.
    let (s, page) = status_and_text(post(&app, "/support", &form, "", &[]).await).await;
    assert_eq!(s, 422, "{page}");
    for f in ["name", "mobile", "subject", "description", "purpose"] {
        assert!(page.contains(&format!(r#"id="err-{f}""#)), "error for {f}");
    }
    // Only the purpose missing; a bad e-mail.
    let mut fields = filing("热水器漏水", "13900000001");
    fields.retain(|f| f.0 != "purpose" && f.0 != "email");
    fields.push(("email", "not-an-email"));
    let (s, page) = status_and_text(post(&app, "/support", &form, "", &fields).await).await;
    assert_eq!(s, 422);
    assert!(page.contains(r#"id="err-purpose""#));
    assert!(page.contains(r#"id="err-email""#));
    assert!(!page.contains(r#"id="err-subject""#));
    assert!(page.contains(r#"value="热水器漏水""#), "input kept");
    assert!(page.contains(r#"value="not-an-email""#), "input kept");
    assert!(tickets(&app, &admin).await.is_empty(), "nothing filed");

    // Filed: the answer goes to the private link.
    let r = post(
        &app,
        "/support",
        &form,
        "",
        &filing("热水器漏水", "13900000001"),
    )
    .await;
    let link = private_link(&r);
    // Someone else files too.
    let r = post(
        &app,
        "/support",
        &form,
        "",
        &filing("售后电话打不通", "13900000002"),
    )
    .await;
    let other_link = private_link(&r);
    assert_ne!(link, other_link);

    let all = tickets(&app, &admin).await;
    assert_eq!(all.len(), 2);
    let mine = all.iter().find(|t| t["subject"] == "热水器漏水").unwrap();
    assert_eq!(mine["channel"], "web");
    assert_eq!(mine["purpose"], "accusation");
    assert_eq!(mine["severity"], "high", "an accusation is urgent");
    let number = mine["number"].as_i64().unwrap();
    let tid = id_of(mine);
    // Staff reply, and keep a note the customer must not see.
    app.post(
        &admin,
        &format!("/api/v1/tickets/{tid}/entries"),
        json!({"kind": "reply", "body": "您好，维修师傅明天上午上门。"}),
    )
    .expect(200)
    .await;
    app.post(
        &admin,
        &format!("/api/v1/tickets/{tid}/entries"),
        json!({"kind": "note", "body": "内部备注：门店主管失职"}),
    )
    .expect(200)
    .await;

    let r = app.http.get(app.url(&link)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_private(&r);
    let page = r.text().await.unwrap();
    assert_private_html(&page);
    assert!(page.contains("热水器漏水"), "the subject");
    assert!(
        page.contains(&format!(r#"<dd id="ticket-number">{number}</dd>"#)),
        "the number"
    );
    assert!(page.contains("维修师傅明天上午上门"), "the reply");
    assert!(!page.contains("内部备注"), "no internal notes");
    assert!(!page.contains("售后电话打不通"), "nothing of other tickets");
    assert!(!page.contains("13900000001"), "no contact details");
    assert!(!page.contains("/logout"), "no staff navigation");
    let other_page = app
        .http
        .get(app.url(&other_link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(other_page.contains("售后电话打不通"));
    assert!(!other_page.contains("热水器漏水") && !other_page.contains("维修师傅"));

    // The customer adds a message.
    let f = open_form(&app, &link, "").await;
    assert!(f.html.contains(r#"id="message-form""#));
    let r = post(&app, &link, &f, "", &[("body", "好的，明天上午我在家。")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], link.as_str());
    let page = app
        .http
        .get(app.url(&link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("好的，明天上午我在家。"));
    assert!(page.contains("处理中"), "a status in words: {page}");
    let events = app
        .get(&admin, &format!("/api/v1/tickets/{tid}/events"))
        .expect(200)
        .await;
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "customer_message" && e["body"] == "好的，明天上午我在家。"));
    // An empty message is named; one without the token is refused.
    let (s, page) = status_and_text(post(&app, &link, &f, "", &[("body", "  ")]).await).await;
    assert_eq!(s, 422);
    assert!(page.contains(r#"id="err-body""#));
    let r = app
        .http
        .post(app.url(&link))
        .form(&[("_csrf", f.csrf.as_str()), ("body", "跨站提交")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let page = app
        .http
        .get(app.url(&link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("跨站提交"), "nothing added: {page}");
    // Ten messages an hour on one ticket: the eleventh waits, and what was
    // typed stays in the box.
    for i in 2..=10 {
        let r = post(&app, &link, &f, "", &[("body", &format!("第 {i} 条补充"))]).await;
        assert_eq!(r.status(), 303, "message {i}");
    }
    let r = post(&app, &link, &f, "", &[("body", "第 11 条补充")]).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get(RETRY_AFTER).is_some());
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="err-body""#) && page.contains("提交得太频繁"));
    assert!(
        page.contains(">第 11 条补充</textarea>"),
        "the text is kept"
    );

    // Unknown and ill-formed links reveal nothing.
    for path in [
        format!("/support/t/{}", "A".repeat(43)),
        "/support/t/short".into(),
        format!("/support/t/{}", link[11..].to_lowercase()),
    ] {
        let r = app.http.get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let page = r.text().await.unwrap();
        assert!(page.contains("链接无效"), "{page}");
        assert!(!page.contains("热水器") && !page.contains("message-form"));
        let r = post(&app, &path, &f, "", &[("body", "hello")]).await;
        assert_eq!(r.status(), 404, "POST {path}");
    }

    // Five filings an hour from one address: the sixth waits, in the
    // user's language.
    for i in 3..=5 {
        let subject = format!("第 {i} 次反馈");
        let mobile = format!("1390000000{i}");
        let r = post(&app, "/support", &form, "", &filing(&subject, &mobile)).await;
        private_link(&r);
    }
    let r = post(
        &app,
        "/support",
        &form,
        "",
        &filing("第 6 次反馈", "13900000006"),
    )
    .await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get(RETRY_AFTER).is_some());
    let page = r.text().await.unwrap();
    assert!(page.contains("提交得太频繁"), "{page}");
    let r = post(
        &app,
        "/support",
        &form,
        "kehu_lang=en",
        &filing("第 6 次反馈", "13900000006"),
    )
    .await;
    assert_eq!(r.status(), 429);
    let page = r.text().await.unwrap();
    assert!(page.contains("too many requests"), "{page}");
    assert!(page.contains(r#"<html lang="en">"#));
    assert_eq!(tickets(&app, &admin).await.len(), 5);
});

both!(the_pages_speak_english_when_asked, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let r = app
        .http
        .get(app.url("/support?lang=en"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (lang, _) = set_cookie(r.headers(), "kehu_lang").expect("the language is remembered");
    assert_eq!(lang, "en");
    let page = r.text().await.unwrap();
    assert!(page.contains("Feedback and complaints"), "{page}");
    assert!(page.contains("A formal complaint"));
    assert!(
        page.contains(r#"href="?lang=zh-CN""#),
        "a way back to Chinese"
    );
    let form = open_form(&app, "/support", "kehu_lang=en").await;
    assert!(form.html.contains("Feedback and complaints"));
    let (s, page) = status_and_text(post(&app, "/support", &form, "kehu_lang=en", &[]).await).await;
    assert_eq!(s, 400);
    assert!(page.contains("That was very quick"), "{page}");
    let r = app
        .http
        .get(app.url(&format!("/survey/{}", "b".repeat(43))))
        .header(COOKIE, "kehu_lang=en")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("This link is not valid"));
});

/// A customer (with this mobile) with a ticket, and a survey link about it: (ticket id,
/// survey path).
async fn survey_link(app: &TestApp, agent: &str, mobile: &str) -> (String, String) {
    let c = app
        .customer(
            agent,
            json!({"name": "周芷若", "kind": "person", "mobile": mobile}),
        )
        .await;
    let t = app
        .post(
            agent,
            "/api/v1/tickets",
            json!({"customer_id": id_of(&c), "subject": "安装师傅迟到", "description": "约好九点，十一点才到",
                "purpose": "criticism", "severity": "normal", "channel": "phone"}),
        )
        .expect(201)
        .await;
    let tid = id_of(&t);
    let link = app
        .post(agent, &format!("/api/v1/tickets/{tid}/surveys"), json!({}))
        .expect(201)
        .await;
    let path = link["path"].as_str().unwrap().to_string();
    assert!(path.starts_with("/survey/"), "{path}");
    (tid, path)
}

both!(a_survey_is_answered_once, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, agent) = app.user("li", "agent", "客服一部").await;
    let (tid, path) = survey_link(&app, &agent, "13700001111").await;

    let r = app.http.get(app.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_private(&r);
    let form = open_form(&app, &path, "").await;
    let html = &form.html;
    assert_private_html(html);
    for (level, label) in [
        "很不满意",
        "不满意",
        "不太满意",
        "一般",
        "较满意",
        "满意",
        "很满意",
    ]
    .iter()
    .enumerate()
    {
        let input = format!(r#"name="satisfaction" value="{}""#, level + 1);
        assert!(html.contains(&input), "{input}");
        assert!(html.contains(&format!("<span>{label}</span>")), "{label}");
    }
    for n in 0..=10 {
        assert!(
            html.contains(&format!(r#"name="nps" value="{n}""#)),
            "nps {n}"
        );
    }
    assert!(html.contains(r#"name="comment""#));
    assert!(!html.contains("周芷若") && !html.contains("13700001111"));

    // Another site's post is refused and records nothing.
    let r = app
        .http
        .post(app.url(&path))
        .form(&[("_csrf", form.csrf.as_str()), ("satisfaction", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Bad answers are named beside their fields; the choices stay.
    let (s, page) = status_and_text(post(&app, &path, &form, "", &[]).await).await;
    assert_eq!(s, 422);
    assert!(page.contains(r#"id="err-satisfaction""#), "{page}");
    let (s, page) = status_and_text(
        post(
            &app,
            &path,
            &form,
            "",
            &[("satisfaction", "9"), ("nps", "3")],
        )
        .await,
    )
    .await;
    assert_eq!(s, 422);
    assert!(page.contains(r#"id="err-satisfaction""#));
    assert!(!page.contains(r#"id="err-nps""#));
    assert!(page.contains(r#"value="3" checked"#), "the score is kept");
    let (s, page) = status_and_text(
        post(
            &app,
            &path,
            &form,
            "",
            &[
                ("satisfaction", "6"),
                ("nps", "11"),
                ("comment", "师傅很专业"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(s, 422);
    assert!(page.contains(r#"id="err-nps""#));
    assert!(!page.contains(r#"id="err-satisfaction""#));
    assert!(page.contains(r#"value="6" checked"#), "the level is kept");
    assert!(page.contains("师傅很专业"), "the comment is kept");

    // Answered.
    let (s, page) = status_and_text(
        post(
            &app,
            &path,
            &form,
            "",
            &[
                ("satisfaction", "6"),
                ("nps", "9"),
                ("comment", "师傅很专业"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains(r#"id="survey-thanks""#));
    assert!(page.contains("感谢您的评价"));
    let events = app
        .get(&agent, &format!("/api/v1/tickets/{tid}/events"))
        .expect(200)
        .await;
    let answered: Vec<&Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "survey_answered")
        .collect();
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0]["data"]["satisfaction"], "satisfied");
    assert_eq!(answered[0]["data"]["nps"], 9);
    assert_eq!(answered[0]["body"], "师傅很专业");

    // Only once: a second answer is refused and the page says so.
    let (s, page) =
        status_and_text(post(&app, &path, &form, "", &[("satisfaction", "1")]).await).await;
    assert_eq!(s, 409);
    assert!(page.contains(r#"id="survey-answered""#), "{page}");
    let r = app.http.get(app.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("已经填写过了"), "{page}");
    assert!(!page.contains("survey-form"), "no form any more");
    let events = app
        .get(&agent, &format!("/api/v1/tickets/{tid}/events"))
        .expect(200)
        .await;
    assert_eq!(
        events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "survey_answered")
            .count(),
        1
    );

    // An unknown link.
    for p in [format!("/survey/{}", "Z".repeat(43)), "/survey/nope".into()] {
        let r = app.http.get(app.url(&p)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{p}");
        let r = post(&app, &p, &form, "", &[("satisfaction", "7")]).await;
        assert_eq!(r.status(), 404, "POST {p}");
    }

    // A link past its time says so and takes no answer.
    let (_, late) = survey_link(&app, &agent, "13700002222").await;
    let late_form = open_form(&app, &late, "").await;
    app.db
        .conn()
        .execute(
            kehu_store::Query::new("UPDATE surveys SET expires_at = $1 WHERE answered_at IS NULL")
                .bind(1_i64),
        )
        .await
        .unwrap();
    let r = app.http.get(app.url(&late)).send().await.unwrap();
    assert_eq!(r.status(), 410);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="survey-expired""#) && !page.contains("survey-form"));
    let r = post(&app, &late, &late_form, "", &[("satisfaction", "7")]).await;
    assert_eq!(r.status(), 410);
});
