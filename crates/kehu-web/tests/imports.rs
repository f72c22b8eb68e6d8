//! Importing customer files through the REST API and the web UI, as
//! background jobs, on SQLite and on PostgreSQL.

mod support;

use kehu_domain::time::Timestamp;
use kehu_store::{both, Query};
use reqwest::header::{ACCEPT_LANGUAGE, CONTENT_DISPOSITION, COOKIE, LOCATION};
use reqwest::multipart::{Form, Part};
use reqwest::RequestBuilder;
use serde_json::{json, Value};
use support::{content_type, error_fields, hidden_csrf, id_of, Answer, TestApp};

/// A GBK-encoded CSV file as Chinese Excel saves it.
fn gbk(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
}

const WITH_A_BAD_ROW: &str = "姓名,手机,邮箱,标签\r\n张伟,13812345678,zw@example.com,VIP\r\n李娜,12345,,\r\n王芳,13900000000,,老客户\r\n";

/// `POST /api/v1/imports` with a file and form fields.
fn upload(
    app: &TestApp,
    token: &str,
    name: &str,
    file: Vec<u8>,
    fields: &[(&str, &str)],
) -> RequestBuilder {
    let mut form = Form::new().part("file", Part::bytes(file).file_name(name.to_string()));
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    app.http
        .post(app.url("/api/v1/imports"))
        .bearer_auth(token)
        .multipart(form)
}

/// Polls a job until it is no longer running.
async fn finished(app: &TestApp, token: &str, id: &str) -> Value {
    for _ in 0..600 {
        let j = app
            .get(token, &format!("/api/v1/imports/{id}"))
            .expect(200)
            .await;
        if j["status"] != "running" {
            return j;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("import {id} still running");
}

/// Uploads and waits for the job's end.
async fn import(
    app: &TestApp,
    token: &str,
    name: &str,
    file: Vec<u8>,
    fields: &[(&str, &str)],
) -> Value {
    let job = upload(app, token, name, file, fields).expect(202).await;
    finished(app, token, &id_of(&job)).await
}

fn counts(j: &Value) -> [u64; 4] {
    let c = &j["counts"];
    ["created", "updated", "unchanged", "rejected"].map(|k| c[k].as_u64().unwrap_or(u64::MAX))
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.db.conn().scalar(Query::new(sql)).await.unwrap()
}

both!(gbk_csv_with_a_bad_row, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let (wang_id, wang) = app.user("wang", "manager", "销售一部").await;
    let (_, zhao) = app.user("zhao", "manager", "销售二部").await;
    let file = gbk(WITH_A_BAD_ROW);
    let size = file.len() as u64;

    let r = upload(
        &app,
        &wang,
        "客户名单.csv",
        file.clone(),
        &[("source", "旧系统")],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 202);
    let location = r.headers()[LOCATION].to_str().unwrap().to_string();
    let job: Value = r.json().await.unwrap();
    let id = id_of(&job);
    assert_eq!(
        uuid::Uuid::parse_str(&id).unwrap().get_version_num(),
        4,
        "random ids"
    );
    assert_eq!(location, format!("/api/v1/imports/{id}"));
    assert_eq!(job["file_name"], "客户名单.csv");
    assert_eq!(job["source"], "旧系统");
    assert_eq!(job["actor_login"], "wang");

    let done = finished(&app, &wang, &id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["dry_run"], false);
    assert_eq!(counts(&done), [2, 0, 0, 1]);
    assert_eq!(done["rows_read"], 3);
    assert_eq!(done["bytes_total"], size);
    assert_eq!(done["bytes_read"], size);
    assert_eq!(done["percent"], 100);
    assert_eq!(done["building_indexes"], false);
    assert_eq!(done["mapping"]["手机"], "mobile");
    assert_eq!(done["owner_id"], wang_id.as_str());

    // The rejected row, named by its line, with the reason.
    let url = done["rejects_url"]
        .as_str()
        .expect("a rejects URL")
        .to_string();
    let r = app.get(&wang, &url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(content_type(r.headers()).starts_with("text/csv"));
    let disposition = r.headers()[CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.contains("filename*=UTF-8''%E8%A2%AB%E6%8B%92%E7%BB%9D%E7%9A%84%E8%A1%8C.csv"),
        "被拒绝的行.csv: {disposition}"
    );
    let text = r.text().await.unwrap();
    let text = text
        .strip_prefix('\u{feff}')
        .expect("a byte order mark for Excel");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("行号/line,姓名,手机"), "{text}");
    assert!(lines[1].starts_with("3,李娜,12345"), "{text}");
    assert!(lines[1].contains("mobile: 手机号格式不正确"), "{text}");

    // The new customers are the uploader's, and the audit log names them.
    let mine = app.get(&wang, "/api/v1/customers").expect(200).await;
    let items = mine["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|c| c["owner_id"] == wang_id.as_str()));
    assert!(items.iter().all(|c| c["team_name"] == "销售一部"));
    let audit = app
        .get(&admin, "/api/v1/audit?action=import")
        .expect(200)
        .await;
    let audit = audit.as_array().unwrap();
    assert_eq!(audit.len(), 2);
    assert!(audit
        .iter()
        .all(|e| e["actor_login"] == "wang" && e["actor_id"] == wang_id.as_str()));
    let job_audit = app
        .get(
            &admin,
            &format!("/api/v1/audit?entity=import_job&entity_id={id}"),
        )
        .expect(200)
        .await;
    let mut actions: Vec<&str> = job_audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["actor_login"], "wang");
            e["action"].as_str().unwrap()
        })
        .collect();
    actions.sort();
    assert_eq!(actions, vec!["create", "finish", "run"]);

    // The same file again changes nothing.
    let again = import(&app, &wang, "客户名单.csv", file, &[("source", "旧系统")]).await;
    assert_eq!(counts(&again), [0, 0, 2, 1]);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM customers").await, 2);

    // Who sees which jobs.
    let list = app.get(&wang, "/api/v1/imports").expect(200).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let list = app.get(&admin, "/api/v1/imports").expect(200).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let list = app.get(&zhao, "/api/v1/imports").expect(200).await;
    assert_eq!(list, json!([]));
    app.get(&zhao, &format!("/api/v1/imports/{id}"))
        .problem(404)
        .await;
    app.get(&zhao, &url).problem(404).await;
    app.get(&admin, &url).expect(200).await;
    app.get(&wang, "/api/v1/imports/not-a-uuid")
        .problem(404)
        .await;
});

both!(mappings_saved_per_source_and_sent, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let renamed = "客户全称,联系方式,备注信息\n欧阳娜娜,13812345678,展会认识\n";

    // Nothing says which column is the name.
    let doc = upload(
        &app,
        &admin,
        "a.csv",
        renamed.into(),
        &[("source", "展会名单")],
    )
    .problem(422)
    .await;
    assert_eq!(error_fields(&doc), vec!["mapping"]);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM import_jobs").await,
        0,
        "nothing recorded"
    );

    let mapping = r#"{"客户全称": "name", "联系方式": "mobile", "备注信息": "notes"}"#;
    let done = import(
        &app,
        &admin,
        "a.csv",
        renamed.into(),
        &[("source", "展会名单"), ("mapping", mapping)],
    )
    .await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(counts(&done), [1, 0, 0, 0]);
    let c = app
        .get(&admin, "/api/v1/customers?q=13812345678")
        .expect(200)
        .await;
    assert_eq!(c["items"][0]["name"], "欧阳娜娜");
    assert_eq!(c["items"][0]["notes"], "展会认识");

    // The next file from the same source needs no mapping.
    let next = "客户全称,联系方式,备注信息\n上官婉儿,13722223333,\n";
    let done = import(
        &app,
        &admin,
        "b.csv",
        next.into(),
        &[("source", "展会名单")],
    )
    .await;
    assert_eq!(counts(&done), [1, 0, 0, 0], "{done}");
    assert_eq!(done["mapping"]["客户全称"], "name");
    let saved = app
        .get(&admin, "/api/v1/audit?entity=import_mapping")
        .expect(200)
        .await;
    assert_eq!(saved[0]["entity_id"], "customers:展会名单");
    assert_eq!(saved[0]["actor_login"], "admin");
    // Another source still needs one.
    upload(&app, &admin, "c.csv", next.into(), &[("source", "旧系统")])
        .problem(422)
        .await;

    // Mappings that cannot be used.
    let doc = upload(
        &app,
        &admin,
        "d.csv",
        renamed.into(),
        &[("mapping", r#"{"无此列": "name", "联系方式": "phone"}"#)],
    )
    .problem(422)
    .await;
    assert_eq!(
        error_fields(&doc),
        vec!["mapping.无此列", "mapping.联系方式"]
    );
    let doc = upload(
        &app,
        &admin,
        "d.csv",
        renamed.into(),
        &[("mapping", "[1, 2]")],
    )
    .problem(422)
    .await;
    assert_eq!(error_fields(&doc), vec!["mapping"]);
    let doc = upload(
        &app,
        &admin,
        "d.csv",
        renamed.into(),
        &[("mapping", r#"{"客户全称": "name", "备注信息": "name"}"#)],
    )
    .problem(422)
    .await;
    assert_eq!(error_fields(&doc), vec!["mapping"]);

    // A dry run checks and writes nothing.
    let third = "姓名,手机\n陈静,13611112222\n";
    let dry = import(&app, &admin, "e.csv", third.into(), &[("dry_run", "true")]).await;
    assert_eq!(dry["dry_run"], true);
    assert_eq!(counts(&dry), [1, 0, 0, 0]);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM customers").await, 2);
});

both!(contacts_and_interactions, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let customers = "外部编号,客户类型,姓名,手机\nXL-1,organization,卧龙科技有限公司,\nP-1,person,诸葛亮,13911112222\n";
    let done = import(&app, &admin, "c.csv", customers.into(), &[]).await;
    assert_eq!(counts(&done), [2, 0, 0, 0], "{done}");

    // Contacts, from a GBK file, with the kind named in Chinese.
    let contacts = gbk("公司,联系人,职务,角色,手机\r\n卧龙科技有限公司,黄月英,总经理,关键人（决策者）,13700001111\r\n卧龙科技有限公司,马谡,,先锋,\r\n");
    let done = import(
        &app,
        &admin,
        "联系人.csv",
        contacts,
        &[("kind", "联系人"), ("source", "旧系统")],
    )
    .await;
    assert_eq!(done["kind"], "contacts");
    assert_eq!(counts(&done), [1, 0, 0, 1], "{done}");
    assert_eq!(done["mapping"]["公司"], "customer");
    let org = app
        .get(&admin, "/api/v1/customers?q=月英")
        .expect(200)
        .await;
    assert_eq!(
        org["items"][0]["name"], "卧龙科技有限公司",
        "found by its contact"
    );
    let rejects = app
        .get(&admin, done["rejects_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(rejects.contains("3,卧龙科技有限公司,马谡"), "{rejects}");
    assert!(rejects.contains("role"), "{rejects}");

    // Interactions from a workbook written by openpyxl.
    let file = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../kehu/tests/fixtures/interactions.xlsx"
    ))
    .unwrap();
    let done = import(
        &app,
        &admin,
        "interactions.xlsx",
        file.clone(),
        &[("kind", "interactions")],
    )
    .await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(counts(&done), [3, 0, 0, 1], "{done}");
    let again = import(
        &app,
        &admin,
        "interactions.xlsx",
        file,
        &[("kind", "interactions")],
    )
    .await;
    assert_eq!(counts(&again), [0, 0, 3, 1], "imported once: {again}");
    let p1 = app
        .get(&admin, "/api/v1/customers?q=13911112222")
        .expect(200)
        .await;
    let id = p1["items"][0]["id"].as_str().unwrap().to_string();
    let list = app
        .get(&admin, &format!("/api/v1/customers/{id}/interactions"))
        .expect(200)
        .await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["kind"], "call");
    assert_eq!(
        list[0]["occurred_at"], "2024-03-05T16:00:00.000+00:00",
        "midnight in Shanghai"
    );
    let org_id = org["items"][0]["id"].as_str().unwrap().to_string();
    let list = app
        .get(&admin, &format!("/api/v1/customers/{org_id}/interactions"))
        .expect(200)
        .await;
    let times: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["occurred_at"].as_str().unwrap())
        .collect();
    assert_eq!(
        times,
        vec![
            "2024-03-07T01:15:00.000+00:00",
            "2024-03-05T06:30:00.000+00:00"
        ]
    );

    // What cannot be imported is refused up front.
    let doc = upload(
        &app,
        &admin,
        "x.csv",
        "客户,内容\n诸葛亮,问候\n".into(),
        &[("kind", "interactions")],
    )
    .problem(422)
    .await;
    assert_eq!(error_fields(&doc), vec!["mapping"], "no time column");
    let doc = upload(
        &app,
        &admin,
        "x.csv",
        customers.into(),
        &[("kind", "payments")],
    )
    .problem(422)
    .await;
    assert_eq!(error_fields(&doc), vec!["kind"]);
    let doc = upload(
        &app,
        &admin,
        "x.csv",
        "公司,联系人\n卧龙科技有限公司,黄月英\n".into(),
        &[
            ("kind", "contacts"),
            ("mapping", r#"{"公司": "customer", "联系人": "tags"}"#),
        ],
    )
    .problem(422)
    .await;
    assert_eq!(
        error_fields(&doc),
        vec!["mapping.联系人"],
        "tags are not a contact field"
    );
});

both!(orders_then_models, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let (_, manager) = app.user("ma", "manager", "一部").await;
    let (_, agent) = app.user("ag", "agent", "一部").await;
    let customers = "外部编号,姓名\nC1,张伟\nC2,李娜\nC3,王芳\n";
    import(&app, &admin, "c.csv", customers.into(), &[]).await;
    let mut orders = String::from("订单号,外部编号,日期,金额\n");
    for (i, (c, d, a)) in [
        ("C1", "2024-01-03", "100"),
        ("C1", "2024-02-10", "80.5"),
        ("C1", "2024-05-01", "120"),
        ("C2", "2024-01-20", "60"),
        ("C2", "2024-03-02", "75"),
        ("C3", "2024-02-14", "300"),
        ("C9", "2024-02-14", "1"),
    ]
    .iter()
    .enumerate()
    {
        orders.push_str(&format!("SO{i},{c},{d},{a}\n"));
    }
    let done = import(
        &app,
        &admin,
        "orders.csv",
        orders.into(),
        &[("kind", "orders")],
    )
    .await;
    assert_eq!(done["kind"], "orders");
    assert_eq!(counts(&done), [6, 0, 0, 1], "{done}");

    app.get(&agent, "/api/v1/analytics/models")
        .problem(403)
        .await;
    let none = app
        .get(&manager, "/api/v1/analytics/models")
        .expect(200)
        .await;
    assert_eq!(none, json!([]));
    app.post(&manager, "/api/v1/analytics/models", json!({}))
        .problem(403)
        .await;
    let doc = app
        .post(
            &admin,
            "/api/v1/analytics/models",
            json!({"until": "2024-13-01", "unit": "month"}),
        )
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), vec!["unit", "until"]);
    let run = app
        .post(
            &admin,
            "/api/v1/analytics/models",
            json!({"until": "2024-06-30", "unit": "week"}),
        )
        .expect(200)
        .await;
    assert_eq!(run["customers"], 3);
    assert_eq!(run["orders"], 6);
    let fits = app
        .get(&manager, "/api/v1/analytics/models")
        .expect(200)
        .await;
    let fits = fits.as_array().unwrap();
    assert_eq!(fits.len(), 3);
    assert_eq!(fits[0]["model"], "bg_nbd");
    assert_eq!(fits[0]["until"], "2024-06-30");
    assert_eq!(fits[0]["unit"], "week");
    assert_eq!(fits[0]["customers"], 3);
    assert!(fits[0]["params"]["r"].as_f64().unwrap() > 0.0);
    assert_eq!(fits[2]["model"], "gamma_gamma");
    assert_eq!(fits[2]["customers"], 2, "repeat buyers");

    // The page of the management view.
    let session = app.session("ma", support::PASSWORD).await;
    let shown = html(app.page(&session, "/analytics"), 200).await;
    assert!(
        shown.contains("id=\"nav-analytics\""),
        "linked from the top bar"
    );
    assert!(shown.contains("data-model=\"bg_nbd\"") && shown.contains("2024-06-30"));
    assert!(shown.contains("r = "), "{shown}");
    assert!(!shown.contains("refit-form"), "managers do not refit");
    let agent_session = app.session("ag", support::PASSWORD).await;
    html(app.page(&agent_session, "/analytics"), 403).await;
    let admin_session = app.session("admin", support::PASSWORD).await;
    let page = html(app.page(&admin_session, "/analytics"), 200).await;
    let csrf = hidden_csrf(&page).unwrap();
    let bad = html(
        app.form(
            &admin_session,
            "/analytics/fit",
            &[("_csrf", &csrf), ("until", "2024-02-30")],
        ),
        422,
    )
    .await;
    assert!(bad.contains("截止日期"), "{bad}");
    let r = app
        .form(
            &admin_session,
            "/analytics/fit",
            &[("_csrf", &csrf), ("until", "2024-03-31")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // The recompute runs in the background; the page shows it when done.
    let mut page = String::new();
    for _ in 0..100 {
        page = html(app.page(&admin_session, "/analytics"), 200).await;
        if page.contains("2024-03-31") && !page.contains("scores-running") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(page.contains("2024-03-31"), "refitted");
    // The customer page shows what the models say of the customer.
    let c1 = app
        .get(&admin, "/api/v1/customers?q=%E5%BC%A0%E4%BC%9F")
        .expect(200)
        .await;
    let c1 = c1["items"][0]["id"].as_str().unwrap().to_string();
    let page = html(app.page(&admin_session, &format!("/customers/{c1}")), 200).await;
    assert!(page.contains("id=\"customer-value\""), "{page}");
    assert!(page.contains("仍是活跃客户的概率") && page.contains("id=\"value-p-alive\""));
    app.form(&admin_session, "/analytics/fit", &[("until", "2024-03-31")])
        .send()
        .await
        .map(|r| assert_eq!(r.status(), 403, "without the form's token"))
        .unwrap();
});

both!(who_may_import_and_for_whom, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, agent) = app.user("li", "agent", "销售一部").await;
    let (_, reader) = app.user("du", "read_only", "").await;
    let (_, finance) = app.user("cai", "finance", "").await;
    let (teammate_id, _) = app.user("zhou", "agent", "销售一部").await;
    let (stranger_id, _) = app.user("wu", "agent", "销售二部").await;
    let (_, manager) = app.user("wang", "manager", "销售一部").await;
    let file = "姓名,手机\n张伟,13812345678\n";
    for token in [&agent, &reader, &finance] {
        upload(&app, token, "a.csv", file.into(), &[])
            .problem(403)
            .await;
        app.get(token, "/api/v1/imports").problem(403).await;
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM import_jobs").await, 0);
    let imports_dir = app.data_dir.join("imports");
    assert!(!imports_dir.exists() || std::fs::read_dir(&imports_dir).unwrap().next().is_none());

    // A manager may give the new customers to a teammate, not to another team.
    let doc = upload(
        &app,
        &manager,
        "a.csv",
        file.into(),
        &[("owner_id", stranger_id.as_str())],
    )
    .problem(422)
    .await;
    assert_eq!(error_fields(&doc), vec!["owner_id"]);
    let done = import(
        &app,
        &manager,
        "a.csv",
        file.into(),
        &[("owner_id", teammate_id.as_str())],
    )
    .await;
    assert_eq!(counts(&done), [1, 0, 0, 0]);
    let owner: String = app
        .db
        .conn()
        .fetch_one::<(String,)>(Query::new("SELECT owner_id FROM customers"))
        .await
        .unwrap()
        .0;
    assert_eq!(owner, teammate_id.as_str());
});

both!(bad_files_are_refused_clearly, |kind| async move {
    let app = TestApp::spawn_with(kind, |c| c.max_upload = 100 * 1024).await;
    let (_, admin) = app.user("admin", "admin", "").await;

    let doc = upload(&app, &admin, "empty.csv", Vec::new(), &[])
        .problem(422)
        .await;
    assert!(
        doc["detail"].as_str().unwrap().contains("文件是空的"),
        "{doc}"
    );
    let doc = upload(&app, &admin, "blank.csv", "\r\n\r\n".into(), &[])
        .problem(422)
        .await;
    assert!(
        doc["detail"].as_str().unwrap().contains("文件是空的"),
        "{doc}"
    );
    let doc = upload(
        &app,
        &admin,
        "phones.csv",
        "手机\n13812345678\n".into(),
        &[],
    )
    .problem(422)
    .await;
    assert!(
        doc["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("姓名/名称"),
        "{doc}"
    );

    let mut big = String::from("姓名,备注\n");
    while big.len() < 200 * 1024 {
        big.push_str("张伟,很长很长的备注很长很长的备注\n");
    }
    let doc = upload(&app, &admin, "big.csv", big.clone().into(), &[])
        .header(ACCEPT_LANGUAGE, "en")
        .problem(413)
        .await;
    assert!(
        doc["detail"].as_str().unwrap().contains("limit of 100 KB"),
        "{doc}"
    );
    assert_eq!(doc["title"], "Payload too large", "{doc}");

    let doc = upload(&app, &admin, "list.pdf", "%PDF-1.4".into(), &[])
        .problem(415)
        .await;
    assert!(doc["detail"].as_str().unwrap().contains(".pdf"), "{doc}");
    assert_eq!(doc["title"], "Unsupported media type", "{doc}");
    let doc = upload(&app, &admin, "bad.xlsx", "not a workbook".into(), &[])
        .problem(422)
        .await;
    assert!(
        doc["detail"].as_str().unwrap().contains("bad.xlsx"),
        "{doc}"
    );
    assert!(
        !doc["detail"].as_str().unwrap().contains("imports/"),
        "no server paths: {doc}"
    );

    let no_file = Form::new().text("source", "旧系统");
    app.http
        .post(app.url("/api/v1/imports"))
        .bearer_auth(&admin)
        .multipart(no_file)
        .problem(400)
        .await;
    app.post(&admin, "/api/v1/imports", json!({"file": "x"}))
        .problem(400)
        .await;
    let doc = upload(
        &app,
        &admin,
        "a.csv",
        "姓名\n张伟\n".into(),
        &[("dry_run", "maybe")],
    )
    .problem(422)
    .await;
    assert_eq!(error_fields(&doc), vec!["dry_run"]);

    // Nothing refused is kept or recorded.
    assert_eq!(count(&app, "SELECT COUNT(*) FROM import_jobs").await, 0);
    let imports_dir = app.data_dir.join("imports");
    let left: Vec<_> = std::fs::read_dir(&imports_dir)
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
});

both!(a_workbook_written_by_openpyxl, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let file = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../kehu/tests/fixtures/customers.xlsx"
    ))
    .unwrap();
    let done = import(&app, &admin, "customers.xlsx", file, &[]).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(counts(&done), [2, 0, 0, 1]);
    assert_eq!(done["bytes_total"], Value::Null, "workbooks count rows");
    assert_eq!(done["percent"], 100);
    let c = app
        .get(&admin, "/api/v1/customers?q=13911112222")
        .expect(200)
        .await;
    assert_eq!(c["items"][0]["name"], "诸葛亮");
    assert_eq!(c["items"][0]["birthday"], "1981-07-23");
    let rejects = app
        .get(&admin, done["rejects_url"].as_str().unwrap())
        .expect(200)
        .await;
    assert!(rejects.as_str().unwrap().contains("坏号码"), "{rejects}");
});

/// A signed-in browser: its session cookie and CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

impl Browser {
    async fn new(app: &TestApp, login: &str) -> Browser {
        let session = app.session(login, support::PASSWORD).await;
        let html = app
            .page(&session, "/import")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        Browser {
            csrf: hidden_csrf(&html).unwrap_or_default(),
            cookie: format!("kehu_session={session}"),
        }
    }

    fn get(&self, app: &TestApp, path: &str) -> RequestBuilder {
        app.http.get(app.url(path)).header(COOKIE, &self.cookie)
    }

    fn post(&self, app: &TestApp, path: &str, form: &[(&str, &str)]) -> RequestBuilder {
        let mut all = vec![("_csrf", self.csrf.as_str())];
        all.extend_from_slice(form);
        app.http
            .post(app.url(path))
            .header(COOKIE, &self.cookie)
            .form(&all)
    }

    fn upload(
        &self,
        app: &TestApp,
        csrf: &str,
        name: &str,
        file: Vec<u8>,
        source: &str,
    ) -> RequestBuilder {
        let form = Form::new()
            .text("_csrf", csrf.to_string())
            .text("source", source.to_string())
            .part("file", Part::bytes(file).file_name(name.to_string()));
        app.http
            .post(app.url("/import"))
            .header(COOKIE, &self.cookie)
            .multipart(form)
    }
}

/// The mapping form: the field code of each column, and the button pressed.
fn mapping<'a>(fields: &[&'a str], action: &'a str) -> Vec<(&'static str, &'a str)> {
    const COLUMNS: [&str; 4] = ["col.0", "col.1", "col.2", "col.3"];
    let mut form: Vec<_> = COLUMNS.into_iter().zip(fields.iter().copied()).collect();
    form.push(("action", action));
    form
}

async fn location(r: RequestBuilder) -> String {
    let r = r.send().await.unwrap();
    assert_eq!(r.status(), 303, "a redirect");
    r.headers()[LOCATION].to_str().unwrap().to_string()
}

async fn html(r: RequestBuilder, status: u16) -> String {
    let r = r.send().await.unwrap();
    let got = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    text
}

both!(web_upload_map_preview_run, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin_token) = app.user("admin", "admin", "").await;
    app.user("li", "agent", "").await;
    let admin = Browser::new(&app, "admin").await;
    let agent = Browser::new(&app, "li").await;

    // Agents see no import link and may not import.
    let page = html(agent.get(&app, "/customers"), 200).await;
    assert!(!page.contains("href=\"/imports\""));
    html(agent.get(&app, "/import"), 403).await;
    html(agent.get(&app, "/imports"), 403).await;
    let page = html(admin.get(&app, "/customers"), 200).await;
    assert!(page.contains("href=\"/imports\""));

    // Upload: the form's token is required.
    let file = gbk("客户,电话,城市\r\n张伟,13812345678,北京\r\n李娜,12345,上海\r\n");
    html(
        admin.upload(&app, "wrong", "名单.csv", file.clone(), "旧系统"),
        403,
    )
    .await;
    let page = html(
        admin.upload(&app, &admin.csrf, "名单.pdf", file.clone(), "旧系统"),
        415,
    )
    .await;
    assert!(page.contains("不支持"), "{page}");
    let job = location(admin.upload(&app, &admin.csrf, "名单.csv", file.clone(), "旧系统")).await;
    let id = job.trim_start_matches("/import/").to_string();
    let mapping_url = format!("/import/{id}/mapping");
    assert_eq!(location(admin.get(&app, &job)).await, mapping_url);

    // The mapping page: recognised headers (客户 is the name, 电话 the
    // mobile), a preview of what each row would do.
    let page = html(admin.get(&app, &mapping_url), 200).await;
    assert!(page.contains(r#"<option value="name" selected>"#), "{page}");
    assert!(
        page.contains(r#"<option value="mobile" selected>"#),
        "{page}"
    );
    assert!(page.contains("preview-row created"), "{page}");
    assert!(page.contains("preview-row rejected"), "{page}");
    assert!(page.contains("手机号格式不正确"), "{page}");

    // Another mapping: without a name column it is refused, with the
    // city left out the preview still holds.
    let refused = mapping(&["", "mobile", "city"], "preview");
    let page = html(admin.post(&app, &mapping_url, &refused), 422).await;
    assert!(page.contains("没有姓名/名称列"), "{page}");
    let without_city = mapping(&["name", "mobile", ""], "preview");
    let page = html(admin.post(&app, &mapping_url, &without_city), 200).await;
    assert!(page.contains("preview-row created"), "{page}");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM customers").await,
        0,
        "a preview writes nothing"
    );

    // A dry run of the whole file, then the import.
    let fields = ["name", "mobile", "city"];
    let dry_run = mapping(&fields, "dry_run");
    assert_eq!(
        location(admin.post(&app, &mapping_url, &dry_run)).await,
        job
    );
    let dry = finished(&app, &admin_token, &id).await;
    assert_eq!(
        (dry["dry_run"].as_bool(), counts(&dry)),
        (Some(true), [1, 0, 0, 1])
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM customers").await, 0);
    let page = html(admin.get(&app, &job), 200).await;
    assert!(page.contains("id=\"run-again\""), "{page}");
    let form = mapping(&fields, "run");
    location(admin.post(&app, &mapping_url, &form)).await;
    let done = finished(&app, &admin_token, &id).await;
    assert_eq!(
        (done["dry_run"].as_bool(), counts(&done)),
        (Some(false), [1, 0, 0, 1])
    );
    let page = html(admin.get(&app, &job), 200).await;
    assert!(page.contains("id=\"rejects-link\""), "{page}");
    assert!(
        !page.contains("id=\"run-again\""),
        "a finished import does not run again"
    );
    assert!(!page.contains("import.js"), "no script once done");
    let rejects = html(admin.get(&app, &format!("{job}/rejects")), 200).await;
    assert!(rejects.contains("李娜"));
    // Done: the mapping page sends back to the job.
    assert_eq!(location(admin.get(&app, &mapping_url)).await, job);
    assert_eq!(location(admin.post(&app, &mapping_url, &form)).await, job);

    // The mapping was saved for the source: the next upload from it starts
    // with the city column left out.
    let next = location(admin.upload(&app, &admin.csrf, "名单2.csv", file, "旧系统")).await;
    let page = html(admin.get(&app, &format!("{next}/mapping")), 200).await;
    assert!(page.contains(r#"<option value="city" selected>"#), "{page}");
    let list = html(admin.get(&app, "/imports"), 200).await;
    assert_eq!(list.matches("class=\"import-row\"").count(), 2);
    assert!(list.contains("名单.csv") && list.contains("旧系统"));
});

both!(interrupted_jobs_run_again_safely, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.user("admin", "admin", "").await;
    let browser = Browser::new(&app, "admin").await;
    let done = import(&app, &token, "a.csv", WITH_A_BAD_ROW.into(), &[]).await;
    let id = id_of(&done);
    // As if its server had died while it ran.
    app.db
        .conn()
        .execute(
            Query::new("UPDATE import_jobs SET status = 'running', progress_at = $2 WHERE id = $1")
                .bind(id.as_str())
                .bind(Timestamp::now().millis() - 10 * 60 * 1000),
        )
        .await
        .unwrap();
    let page = html(browser.get(&app, &format!("/import/{id}")), 200).await;
    assert!(
        page.contains("/static/import.js") && page.contains("http-equiv=\"refresh\""),
        "{page}"
    );
    assert!(
        page.contains(r#"id="job-stage" class="notice" hidden"#),
        "{page}"
    );
    // Its rows are in and its deferred indexes are being built: said on
    // the page and in the job's record.
    kehu_store::import_jobs::building_indexes(&app.db, &id)
        .await
        .unwrap();
    let page = html(browser.get(&app, &format!("/import/{id}")), 200).await;
    assert!(
        page.contains(r#"id="job-stage" class="notice">所有行已写入，正在重建索引"#),
        "{page}"
    );
    let j = app
        .get(&token, &format!("/api/v1/imports/{id}"))
        .expect(200)
        .await;
    assert_eq!(j["building_indexes"], true, "{j}");
    // Then its server died.
    app.db
        .conn()
        .execute(
            Query::new("UPDATE import_jobs SET progress_at = $2 WHERE id = $1")
                .bind(id.as_str())
                .bind(Timestamp::now().millis() - 10 * 60 * 1000),
        )
        .await
        .unwrap();
    let n = kehu_store::import_jobs::interrupt(&app.db, &[], Timestamp::now())
        .await
        .unwrap();
    assert_eq!(n, 1);
    let j = app
        .get(&token, &format!("/api/v1/imports/{id}"))
        .expect(200)
        .await;
    assert_eq!(j["status"], "interrupted");
    let page = html(browser.get(&app, &format!("/import/{id}")), 200).await;
    assert!(page.contains("id=\"run-again\""), "{page}");
    let form = mapping(&["name", "mobile", "email", "tags"], "run");
    location(browser.post(&app, &format!("/import/{id}/mapping"), &form)).await;
    let again = finished(&app, &token, &id).await;
    assert_eq!(counts(&again), [0, 0, 2, 1], "nothing twice");

    // The script that follows a running job is served.
    let js = app
        .http
        .get(app.url("/static/import.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(content_type(js.headers()).contains("javascript"));
});
