//! The ticket API over loopback on both databases: the fixed contract of
//! `POST /api/v1/tickets` and `GET /api/v1/tickets/{id}`, scope, handling
//! through to resolution, settings, and a clear 4xx for bad input to every
//! endpoint.

mod support;

use chrono::DateTime;
use kehu_store::both;
use serde_json::{json, Value};
use support::{error_fields, id_of, Answer, TestApp};

fn rfc3339_with_offset(v: &Value) -> DateTime<chrono::FixedOffset> {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    assert!(
        s.ends_with('Z') || s[s.len() - 6..].starts_with(['+', '-']),
        "no offset in {s}"
    );
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

both!(ticket_contract, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, agent) = app.user("li", "agent", "客服一部").await;
    let (_, other) = app.user("wang", "agent", "客服二部").await;
    let c = app
        .customer(
            &agent,
            json!({"name": "张伟", "kind": "person", "mobile": "13800001111"}),
        )
        .await;
    let cid = id_of(&c);
    let body = json!({
        "customer_id": cid, "subject": "洗衣机漏水", "description": "维修后仍漏水",
        "purpose": "accusation", "severity": "urgent", "channel": "phone"
    });
    let t = app
        .post(&agent, "/api/v1/tickets", body.clone())
        .expect(201)
        .await;
    let id = id_of(&t);
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    for f in ["created_at", "first_response_due_at", "resolution_due_at"] {
        rfc3339_with_offset(&t[f]);
    }
    let created = rfc3339_with_offset(&t["created_at"]);
    let fr = rfc3339_with_offset(&t["first_response_due_at"]);
    let res = rfc3339_with_offset(&t["resolution_due_at"]);
    assert!(created <= fr && fr <= res, "{created} {fr} {res}");
    // Urgent: one business hour to respond, at least one and at most the
    // longest non-working stretch (a week-long holiday is not loaded here:
    // a weekend and a night, under three days) later.
    assert!(fr - created >= chrono::Duration::hours(1));
    assert!(fr - created <= chrono::Duration::hours(72));
    assert_eq!(t["customer_id"], cid.as_str());
    assert_eq!(t["purpose"], "accusation");
    assert_eq!(t["severity"], "urgent");
    assert_eq!(t["channel"], "phone");
    assert_eq!(t["status"], "new");
    let got = app
        .get(&agent, &format!("/api/v1/tickets/{id}"))
        .expect(200)
        .await;
    for f in [
        "id",
        "created_at",
        "first_response_due_at",
        "resolution_due_at",
        "subject",
        "description",
        "purpose",
        "severity",
        "channel",
        "customer_id",
    ] {
        assert_eq!(got[f], t[f], "{f}");
    }
    // Outside the customer's scope the ticket does not exist.
    app.get(&other, &format!("/api/v1/tickets/{id}"))
        .problem(404)
        .await;
    let denied = app
        .post(&other, "/api/v1/tickets", body.clone())
        .problem(422)
        .await;
    assert_eq!(error_fields(&denied), ["customer_id"]);
    let list = app
        .get(&agent, "/api/v1/tickets?queue=mine")
        .expect(200)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        app.get(&other, "/api/v1/tickets?queue=all")
            .expect(200)
            .await,
        json!([])
    );
});

both!(bad_input_is_a_clear_4xx_everywhere, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, agent) = app.user("li", "agent", "A").await;
    let (_, ro) = app.user("ro", "read_only", "").await;
    let c = app
        .customer(&agent, json!({"name": "李娜", "kind": "person"}))
        .await;
    let cid = id_of(&c);
    // Every missing or bad field is named at once.
    let doc = app
        .post(&agent, "/api/v1/tickets", json!({}))
        .problem(422)
        .await;
    assert_eq!(
        error_fields(&doc),
        [
            "channel",
            "customer_id",
            "description",
            "purpose",
            "severity",
            "subject"
        ]
    );
    let doc = app
        .post(
            &agent,
            "/api/v1/tickets",
            json!({"customer_id": "x", "subject": "s", "description": "d",
            "purpose": "angry", "severity": "critical", "channel": "fax"}),
        )
        .problem(422)
        .await;
    assert_eq!(
        error_fields(&doc),
        ["channel", "customer_id", "purpose", "severity"]
    );
    app.post(
        &agent,
        "/api/v1/tickets",
        json!({"customer_id": cid, "surprise": 1}),
    )
    .problem(422)
    .await;
    app.post(&agent, "/api/v1/tickets", json!({"customer_id": 5}))
        .problem(422)
        .await;
    let r = app
        .post(&agent, "/api/v1/tickets", json!({}))
        .header("content-type", "text/plain")
        .body("{")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    app.get(&agent, "/api/v1/tickets/not-an-id")
        .problem(404)
        .await;
    app.get(&agent, "/api/v1/tickets?queue=everything")
        .problem(400)
        .await;
    app.get(&agent, "/api/v1/tickets?severity=meh")
        .problem(400)
        .await;
    app.get(&agent, "/api/v1/tickets?limit=abc")
        .problem(400)
        .await;

    let t = app
        .post(
            &agent,
            "/api/v1/tickets",
            json!({"customer_id": cid, "subject": "发票开错", "description": "抬头错了",
            "purpose": "criticism", "severity": "low", "channel": "wechat", "kind": "request"}),
        )
        .expect(201)
        .await;
    let p = format!("/api/v1/tickets/{}", id_of(&t));
    app.post(
        &agent,
        &format!("{p}/entries"),
        json!({"kind": "shout", "body": ""}),
    )
    .problem(422)
    .await;
    let doc = app
        .post(
            &agent,
            &format!("{p}/entries"),
            json!({"kind": "step", "step": "apologize", "body": "x"}),
        )
        .problem(422)
        .await;
    assert_eq!(error_fields(&doc), ["step"], "LSCPA has no apologize step");
    app.post(
        &agent,
        &format!("{p}/status"),
        json!({"status": "resolved"}),
    )
    .problem(422)
    .await;
    app.post(&agent, &format!("{p}/status"), json!({"status": "limbo"}))
        .problem(422)
        .await;
    app.post(
        &agent,
        &format!("{p}/promise"),
        json!({"promised_at": "tomorrow"}),
    )
    .problem(422)
    .await;
    app.post(
        &agent,
        &format!("{p}/promise"),
        json!({"promised_at": "2020-01-01T00:00:00+08:00"}),
    )
    .problem(422)
    .await;
    app.post(
        &agent,
        &format!("{p}/assign"),
        json!({"assignee_id": "nobody"}),
    )
    .problem(422)
    .await;
    app.post(&agent, &format!("{p}/solutions"), json!({"body": "  "}))
        .problem(422)
        .await;
    app.post(&agent, &format!("{p}/solutions/zzz/choose"), json!({}))
        .problem(422)
        .await;
    app.post(
        &agent,
        &format!("{p}/compensations"),
        json!({"kind": "gold", "amount": "1e9"}),
    )
    .problem(422)
    .await;
    app.post(
        &agent,
        &format!("{p}/compensations"),
        json!({"kind": "cash", "amount": "10", "amount_fen": 1000}),
    )
    .problem(422)
    .await;
    app.post(
        &agent,
        &format!("{p}/resolve"),
        json!({"immediate_fix": ""}),
    )
    .problem(422)
    .await;
    app.post(
        &ro,
        &format!("{p}/entries"),
        json!({"kind": "reply", "body": "hi"}),
    )
    .problem(403)
    .await;
    app.post(
        &agent,
        "/api/v1/scripts",
        json!({"step": "listen", "body": "x"}),
    )
    .problem(403)
    .await;
    app.post(
        &agent,
        "/api/v1/ticket-categories",
        json!({"name": "x", "method": "lscpa"}),
    )
    .problem(403)
    .await;
    app.patch(
        &agent,
        "/api/v1/sla",
        json!({"business_hours": "09:00-18:00"}),
    )
    .problem(403)
    .await;
    app.post(&agent, "/api/v1/tasks/not-an-id/done", json!({}))
        .problem(404)
        .await;
});

both!(a_ticket_worked_to_resolution, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, admin) = app.user("admin", "admin", "").await;
    let (_, agent) = app.user("li", "agent", "A").await;
    let c = app
        .customer(
            &agent,
            json!({"name": "王芳", "kind": "person", "email": "wf@example.com"}),
        )
        .await;
    let t = app
        .post(&agent, "/api/v1/tickets", json!({"customer_id": id_of(&c), "subject": "服务态度差", "description": "门店店员态度恶劣",
            "purpose": "criticism", "severity": "normal", "channel": "email", "category": "服务态度"}))
        .expect(201)
        .await;
    assert_eq!(t["method"], "clear");
    let p = format!("/api/v1/tickets/{}", id_of(&t));
    let after = app
        .post(
            &agent,
            &format!("{p}/entries"),
            json!({"kind": "step", "step": "apologize", "body": "已真诚道歉"}),
        )
        .expect(200)
        .await;
    assert_eq!(after["status"], "open");
    assert!(after["first_responded_at"].is_string());
    let future = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let promised = app
        .post(
            &agent,
            &format!("{p}/promise"),
            json!({"promised_at": future, "note": "两天内答复"}),
        )
        .expect(200)
        .await;
    assert_eq!(promised["promises_made"], 1);
    app.post(
        &agent,
        &format!("{p}/solutions"),
        json!({"body": "更换门店接待人员并赠送代金券"}),
    )
    .expect(201)
    .await;
    let sols = app.get(&agent, &format!("{p}/solutions")).expect(200).await;
    let sid = id_of(&sols[0]);
    app.post(&agent, &format!("{p}/solutions/{sid}/choose"), json!({}))
        .expect(200)
        .await;
    app.post(
        &agent,
        &format!("{p}/compensations"),
        json!({"kind": "voucher", "amount": "¥50"}),
    )
    .expect(201)
    .await;
    let comps = app
        .get(&agent, &format!("{p}/compensations"))
        .expect(200)
        .await;
    assert_eq!(comps[0]["amount_fen"], 5000);
    let doc = app
        .post(
            &agent,
            &format!("{p}/resolve"),
            json!({"immediate_fix": "道歉并补偿"}),
        )
        .problem(422)
        .await;
    assert_eq!(
        error_fields(&doc),
        ["preventive_action"],
        "a complaint needs a preventive action"
    );
    let done = app
        .post(
            &agent,
            &format!("{p}/resolve"),
            json!({"immediate_fix": "道歉并补偿", "preventive_action": "门店服务培训"}),
        )
        .expect(200)
        .await;
    assert_eq!(done["status"], "resolved");
    assert_eq!(
        done["promises_kept"], 1,
        "resolving in time keeps the promise"
    );
    let events = app.get(&agent, &format!("{p}/events")).expect(200).await;
    assert!(events.as_array().unwrap().len() >= 7);
    let tasks = app.get(&agent, "/api/v1/tasks").expect(200).await;
    assert_eq!(tasks[0]["kind"], "follow_up_visit");
    app.post(
        &agent,
        &format!("/api/v1/tasks/{}/done", id_of(&tasks[0])),
        json!({}),
    )
    .expect(204)
    .await;
    assert_eq!(
        app.get(&agent, "/api/v1/tasks").expect(200).await,
        json!([])
    );
    let link = app
        .post(&agent, &format!("{p}/surveys"), json!({}))
        .expect(201)
        .await;
    assert!(link["path"].as_str().unwrap().starts_with("/survey/"));
    let closed = app
        .post(&agent, &format!("{p}/status"), json!({"status": "closed"}))
        .expect(200)
        .await;
    assert_eq!(closed["status"], "closed");
    // The survey waits in the outbox for a channel (admins only).
    app.get(&agent, "/api/v1/outbox").problem(403).await;
    let outbox = app.get(&admin, "/api/v1/outbox").expect(200).await;
    let msg = outbox
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["recipient"] == "wf@example.com")
        .expect("the survey message")
        .clone();
    assert_eq!(msg["channel"], "email");
    assert_eq!(msg["link"], link["path"]);
    app.post(
        &admin,
        &format!("/api/v1/outbox/{}/sent", id_of(&msg)),
        json!({}),
    )
    .expect(204)
    .await;
    app.post(
        &admin,
        &format!("/api/v1/outbox/{}/sent", id_of(&msg)),
        json!({}),
    )
    .problem(404)
    .await;
    // Re-describing: a new severity moves the due times; bad values are named.
    let moved = app
        .patch(
            &agent,
            &p,
            json!({"severity": "low", "department": "门店运营部"}),
        )
        .expect(200)
        .await;
    assert_eq!(moved["severity"], "low");
    assert_eq!(moved["department"], "门店运营部");
    assert_eq!(moved["sla"]["resolution_minutes"], 2400);
    assert!(moved["resolution_due_at"].as_str() > t["resolution_due_at"].as_str());
    let bad = app
        .patch(
            &agent,
            &p,
            json!({"severity": "meh", "category": "不存在的类别", "subject": ""}),
        )
        .problem(422)
        .await;
    assert_eq!(error_fields(&bad), ["category", "severity", "subject"]);
    app.patch(&agent, &p, json!({"colour": "red"}))
        .problem(422)
        .await;

    // Settings: admins change targets and hours; new tickets use them.
    let sla = app.get(&agent, "/api/v1/sla").expect(200).await;
    assert_eq!(sla["targets"]["urgent"]["first_response_minutes"], 60);
    assert_eq!(sla["targets"]["low"]["resolution_minutes"], 2400);
    assert_eq!(sla["business_hours"], "09:00-18:00");
    let bad = app
        .patch(&admin, "/api/v1/sla", json!({"targets": {"urgent": {"first_response_minutes": 600, "resolution_minutes": 60}}, "business_hours": "18:00-09:00"}))
        .problem(422)
        .await;
    assert_eq!(
        error_fields(&bad),
        ["business_hours", "targets.urgent.first_response_minutes"]
    );
    let ok = app
        .patch(&admin, "/api/v1/sla", json!({"targets": {"urgent": {"first_response_minutes": 30, "resolution_minutes": 240}}, "business_hours": "08:30-17:30"}))
        .expect(200)
        .await;
    assert_eq!(ok["targets"]["urgent"]["first_response_minutes"], 30);
    assert_eq!(ok["business_hours"], "08:30-17:30");
    let u = app
        .post(
            &agent,
            "/api/v1/tickets",
            json!({"customer_id": id_of(&c), "subject": "s", "description": "d",
            "purpose": "suggestion", "severity": "urgent", "channel": "visit"}),
        )
        .expect(201)
        .await;
    assert_eq!(u["sla"]["first_response_minutes"], 30);
    // The script library and categories.
    let scripts = app.get(&agent, "/api/v1/scripts").expect(200).await;
    assert!(scripts
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["step"] == "apologize"));
    let s = app
        .post(
            &admin,
            "/api/v1/scripts",
            json!({"step": "listen", "channel": "wechat", "body": "您好，请讲"}),
        )
        .expect(201)
        .await;
    app.delete(&admin, &format!("/api/v1/scripts/{}", id_of(&s)))
        .send()
        .await
        .unwrap();
    app.post(
        &admin,
        "/api/v1/ticket-categories",
        json!({"name": "退换货", "method": "clear"}),
    )
    .expect(204)
    .await;
    let cats = app
        .get(&agent, "/api/v1/ticket-categories")
        .expect(200)
        .await;
    assert!(cats
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "退换货" && c["method"] == "clear"));
});
