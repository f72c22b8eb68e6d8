//! Tickets on both databases: due times in business hours, the stopped
//! clock while waiting on the customer, scope, promises kept and broken
//! with escalation up the reporting line under a driven clock, resolution
//! with its follow-up and survey, the public desk, and two servers sharing
//! the job queue.

use chrono::{DateTime, NaiveDate, Utc};
use kehu_domain::business_time::DayKind;
use kehu_domain::ids::{CustomerId, UserId};
use kehu_domain::role::Principal;
use kehu_domain::ticket::{Resolution, Status, TicketDraft, TicketKind};
use kehu_domain::time::Timestamp;
use kehu_store::audit::Actor;
use kehu_store::jobs::{self, Ran, Work};
use kehu_store::testing::{self, fresh, fresh_pair, Kind};
use kehu_store::tickets::handling::{self, EntryDraft};
use kehu_store::tickets::{self, Clock, ListFilter, Queue};
use kehu_store::{both, calendar, notifications, support, surveys, tasks, Db, Error, Query};

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

fn at(s: &str) -> Timestamp {
    Timestamp::from(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
}

fn clock(s: &str) -> Clock {
    Clock::new(at(s), ZONE)
}

async fn customer(db: &Db, by: &Principal, name: &str, mobile: &str) -> CustomerId {
    kehu_store::testing::person(db, by, name, mobile).await
}

fn draft(severity: &str) -> TicketDraft {
    TicketDraft {
        subject: "洗衣机漏水".into(),
        description: "上门维修后仍然漏水".into(),
        purpose: "accusation".into(),
        severity: severity.into(),
        channel: "phone".into(),
        category: "产品质量".into(),
        ..Default::default()
    }
}

async fn set_manager(db: &Db, user: &UserId, manager: &UserId) {
    db.conn()
        .execute(
            Query::new("UPDATE users SET manager_id = $1 WHERE id = $2")
                .bind(manager)
                .bind(user),
        )
        .await
        .unwrap();
}

fn reply(body: &str) -> EntryDraft {
    EntryDraft {
        kind: "reply".into(),
        body: body.into(),
        ..Default::default()
    }
}

both!(
    due_times_follow_business_hours_holidays_and_pauses,
    |kind| async move {
        let db = fresh(kind).await.unwrap();
        let agent = testing::user(&db, "a1", "agent", "A").await.principal();
        let c = customer(&db, &agent, "张伟", "13800001111").await;
        // Wednesday 10:00 in Shanghai, normal: 4 h to respond, 24 h to resolve
        // = Wed 8 h + Thu 9 h + Fri 7 h -> Friday 16:00.
        let t = tickets::create(
            &db,
            &agent,
            &c,
            &draft("normal").check().unwrap(),
            None,
            &clock("2026-12-02T10:00:00+08:00"),
        )
        .await
        .unwrap();
        assert_eq!(
            t.first_response_due_at,
            Some(at("2026-12-02T14:00:00+08:00"))
        );
        assert_eq!(t.resolution_due_at, Some(at("2026-12-04T16:00:00+08:00")));
        assert_eq!(t.status, Status::New);
        assert_eq!(
            t.assignee_id.as_ref(),
            Some(&agent.user_id),
            "goes to the customer's owner"
        );
        assert_eq!(t.method.code(), "clear", "产品质量 is handled with CLEAR");
        // Filed on Friday night: urgent is due Monday 10:00 and 17:00.
        let night = tickets::create(
            &db,
            &agent,
            &c,
            &draft("urgent").check().unwrap(),
            None,
            &clock("2026-12-04T22:30:00+08:00"),
        )
        .await
        .unwrap();
        assert_eq!(
            night.first_response_due_at,
            Some(at("2026-12-07T10:00:00+08:00"))
        );
        assert_eq!(
            night.resolution_due_at,
            Some(at("2026-12-07T17:00:00+08:00"))
        );
        assert!(night.number > t.number);

        // A holiday on Thursday and a make-up working Saturday.
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        calendar::import(
            &db,
            &Actor::system("test"),
            &[
                (d("2026-12-03"), DayKind::Holiday),
                (d("2026-12-05"), DayKind::Workday),
            ],
        )
        .await
        .unwrap();
        let h = tickets::create(
            &db,
            &agent,
            &c,
            &draft("low").check().unwrap(),
            None,
            &clock("2026-12-02T17:00:00+08:00"),
        )
        .await
        .unwrap();
        // 8 h: Wed 1 h, (Thu off), Fri 7 h -> Fri 16:00; 40 h: Wed 1 + Fri 9 +
        // Sat 9 + Mon 9 + Tue 9 = 37, Wed 3 -> Wednesday 12:00.
        assert_eq!(
            h.first_response_due_at,
            Some(at("2026-12-04T16:00:00+08:00"))
        );
        assert_eq!(h.resolution_due_at, Some(at("2026-12-09T12:00:00+08:00")));

        // Waiting on the customer from Wed 11:00 to Thu... (holiday) Fri 10:00:
        // the paused business time (Wed 7 h + Fri 1 h = 8 h) moves both dues.
        let w = handling::set_status(
            &db,
            &agent,
            &t.id,
            Status::Waiting,
            "等客户寄回照片",
            &clock("2026-12-02T11:00:00+08:00"),
        )
        .await
        .unwrap();
        assert!(w.paused_at.is_some());
        let soon = tickets::list(
            &db,
            &agent,
            &ListFilter {
                queue: Queue::BreachingSoon,
                ..Default::default()
            },
            at("2026-12-02T13:30:00+08:00"),
        )
        .await
        .unwrap();
        assert!(
            !soon.iter().any(|x| x.id == t.id),
            "a paused ticket is not breaching"
        );
        let r = handling::set_status(
            &db,
            &agent,
            &t.id,
            Status::Open,
            "",
            &clock("2026-12-04T10:00:00+08:00"),
        )
        .await
        .unwrap();
        assert_eq!(r.paused_at, None);
        // 4 h target: 1 h used before the pause (10-11 Wed), 3 h left from Fri
        // 10:00 -> 13:00.
        assert_eq!(
            r.first_response_due_at,
            Some(at("2026-12-04T13:00:00+08:00"))
        );
        // 24 h: 1 h used; 23 h from Fri 10:00: Fri 8, Sat 9 (make-up), Mon 6 -> 15:00.
        assert_eq!(r.resolution_due_at, Some(at("2026-12-07T15:00:00+08:00")));
        // Waiting -> Open is allowed, Open -> Closed is not.
        let e = handling::set_status(
            &db,
            &agent,
            &t.id,
            Status::Closed,
            "",
            &clock("2026-12-04T10:05:00+08:00"),
        )
        .await;
        assert!(matches!(e, Err(Error::Invalid(_))));
    }
);

both!(scope_reaches_tickets, |kind| async move {
    let db = fresh(kind).await.unwrap();
    let a1 = testing::user(&db, "a1", "agent", "A").await.principal();
    let a2 = testing::user(&db, "a2", "agent", "A").await.principal();
    let b1 = testing::user(&db, "b1", "agent", "B").await.principal();
    let ma = testing::user(&db, "ma", "manager", "A").await.principal();
    let ro = testing::user(&db, "ro", "read_only", "").await.principal();
    let c = customer(&db, &a1, "李娜", "13800002222").await;
    let now = clock("2026-12-02T10:00:00+08:00");
    let t = tickets::create(&db, &a1, &c, &draft("high").check().unwrap(), None, &now)
        .await
        .unwrap();
    assert!(matches!(
        tickets::get(&db, &b1, &t.id, now.now).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        tickets::get(&db, &a2, &t.id, now.now).await,
        Err(Error::NotFound)
    ));
    assert!(tickets::get(&db, &ma, &t.id, now.now).await.is_ok());
    assert!(tickets::get(&db, &ro, &t.id, now.now).await.is_ok());
    assert!(matches!(
        handling::record(&db, &ro, &t.id, &reply("你好"), &now).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        tickets::create(&db, &b1, &c, &draft("high").check().unwrap(), None, &now).await,
        Err(Error::NotFound)
    ));
    for (p, n) in [(&a1, 1), (&a2, 0), (&b1, 0), (&ma, 1), (&ro, 1)] {
        let open = tickets::list(&db, p, &ListFilter::default(), now.now)
            .await
            .unwrap();
        assert_eq!(open.len(), n, "{}", p.login);
    }
    let team = tickets::list(
        &db,
        &ma,
        &ListFilter {
            queue: Queue::Team,
            ..Default::default()
        },
        now.now,
    )
    .await
    .unwrap();
    assert_eq!(team.len(), 1);
    // Only someone who may read the customer can be given the ticket.
    assert!(matches!(
        handling::assign(&db, &ma, &t.id, Some(&b1.user_id), &now).await,
        Err(Error::Invalid(_))
    ));
    let moved = handling::assign(&db, &ma, &t.id, Some(&ma.user_id), &now)
        .await
        .unwrap();
    assert_eq!(moved.assignee_id.as_ref(), Some(&ma.user_id));
    let mine = tickets::list(
        &db,
        &ma,
        &ListFilter {
            queue: Queue::Mine,
            ..Default::default()
        },
        now.now,
    )
    .await
    .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        notifications::unread(&db, &ma.user_id).await.unwrap(),
        0,
        "no message for taking one's own"
    );
});

both!(
    handling_steps_solutions_compensation_and_resolution,
    |kind| async move {
        let db = fresh(kind).await.unwrap();
        let a = testing::user(&db, "a1", "agent", "A").await.principal();
        let c = customer(&db, &a, "王芳", "13800003333").await;
        let c0 = clock("2026-12-02T10:00:00+08:00");
        let t = tickets::create(&db, &a, &c, &draft("normal").check().unwrap(), None, &c0)
            .await
            .unwrap();
        // CLEAR has no "share" step.
        let bad = EntryDraft {
            kind: "step".into(),
            step: "share".into(),
            body: "x".into(),
            ..Default::default()
        };
        assert!(matches!(
            handling::record(&db, &a, &t.id, &bad, &c0).await,
            Err(Error::Invalid(_))
        ));
        let note = EntryDraft {
            kind: "note".into(),
            body: "内部：查维修记录".into(),
            ..Default::default()
        };
        let t1 = handling::record(&db, &a, &t.id, &note, &clock("2026-12-02T10:30:00+08:00"))
            .await
            .unwrap();
        assert_eq!(
            t1.first_responded_at, None,
            "an internal note is not a response"
        );
        let step = EntryDraft {
            kind: "step".into(),
            step: "control".into(),
            body: "客户情绪激动，先稳定".into(),
            ..Default::default()
        };
        let t2 = handling::record(&db, &a, &t.id, &step, &clock("2026-12-02T15:00:00+08:00"))
            .await
            .unwrap();
        assert_eq!(t2.status, Status::Open);
        assert_eq!(t2.first_responded_at, Some(at("2026-12-02T15:00:00+08:00")));
        assert!(t2.first_response_breached, "due 14:00, answered 15:00");
        let c1 = clock("2026-12-02T15:10:00+08:00");
        handling::offer_solution(&db, &a, &t.id, "上门更换新机", &c1)
            .await
            .unwrap();
        handling::offer_solution(&db, &a, &t.id, "退款并赠送延保", &c1)
            .await
            .unwrap();
        let sols = handling::solutions(&db, &a, &t.id).await.unwrap();
        assert_eq!(sols.len(), 2);
        handling::choose_solution(&db, &a, &t.id, &sols[1].id, &c1)
            .await
            .unwrap();
        handling::choose_solution(&db, &a, &t.id, &sols[0].id, &c1)
            .await
            .unwrap();
        let sols = handling::solutions(&db, &a, &t.id).await.unwrap();
        assert_eq!(sols.iter().filter(|s| s.chosen).count(), 1);
        assert!(sols[0].chosen);
        let comp = handling::CompensationDraft {
            kind: "voucher".into(),
            amount: "200".into(),
            note: "代金券".into(),
            ..Default::default()
        };
        handling::compensate(&db, &a, &t.id, &comp, &c1)
            .await
            .unwrap();
        let neg = handling::CompensationDraft {
            kind: "cash".into(),
            amount: "-5".into(),
            ..Default::default()
        };
        assert!(matches!(
            handling::compensate(&db, &a, &t.id, &neg, &c1).await,
            Err(Error::Invalid(_))
        ));
        assert_eq!(
            handling::compensations(&db, &a, &t.id).await.unwrap()[0].amount_fen,
            20_000
        );

        let r = Resolution::check(
            TicketKind::Complaint,
            "已上门更换新机",
            "安装后增加漏水测试环节",
        )
        .unwrap();
        let done = handling::resolve(&db, &a, &t.id, &r, &clock("2026-12-03T11:00:00+08:00"))
            .await
            .unwrap();
        assert_eq!(done.status, Status::Resolved);
        assert!(!done.resolution_breached);
        assert_eq!(
            done.preventive_action.as_deref(),
            Some("安装后增加漏水测试环节")
        );
        assert!(matches!(
            handling::record(
                &db,
                &a,
                &t.id,
                &reply("again"),
                &clock("2026-12-03T11:01:00+08:00")
            )
            .await,
            Err(Error::Invalid(_))
        ));
        let follow = tasks::mine(&db, &a, 10).await.unwrap();
        assert_eq!(follow.len(), 1);
        assert_eq!(follow[0].kind, "follow_up_visit");
        // The survey goes an hour later, once, whoever runs the queue.
        let early = jobs::run_due(&db, "s1", at("2026-12-03T11:30:00+08:00"), ZONE, 10)
            .await
            .unwrap();
        assert!(early.is_empty());
        let ran = jobs::run_due(&db, "s1", at("2026-12-03T12:01:00+08:00"), ZONE, 10)
            .await
            .unwrap();
        assert!(matches!(&ran[..], [Ran::Done(Work::SurveySend { .. })]));
        assert!(
            jobs::run_due(&db, "s1", at("2026-12-05T12:00:00+08:00"), ZONE, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let sv = surveys::for_ticket(&db, &t.id).await.unwrap();
        assert_eq!(sv.len(), 1);
        let outbox = db
            .conn()
            .scalar(Query::new("SELECT COUNT(*) FROM outbox WHERE customer_id = $1").bind(&c))
            .await
            .unwrap();
        assert_eq!(outbox, 1);
        let events = handling::events(&db, &a, &t.id).await.unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.code()).collect();
        for k in [
            "created",
            "note",
            "step",
            "solution",
            "choice",
            "compensation",
            "resolved",
            "survey_sent",
        ] {
            assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
        }
    }
);

both!(
    promises_remind_then_escalate_up_the_reporting_line,
    |kind| async move {
        let db = fresh(kind).await.unwrap();
        let owner = testing::user(&db, "boss", "owner", "").await;
        let ma = testing::user(&db, "ma", "manager", "A").await;
        let a = testing::user(&db, "a1", "agent", "A").await;
        set_manager(&db, &a.id, &ma.id).await;
        let ap = a.principal();
        let c = customer(&db, &ap, "赵磊", "13800004444").await;
        let t = tickets::create(
            &db,
            &ap,
            &c,
            &draft("normal").check().unwrap(),
            None,
            &clock("2026-12-02T10:00:00+08:00"),
        )
        .await
        .unwrap();
        // Promise 1: kept.
        let p1 = at("2026-12-02T16:00:00+08:00");
        handling::promise(
            &db,
            &ap,
            &t.id,
            p1,
            "今天下午四点前回复",
            &clock("2026-12-02T10:10:00+08:00"),
        )
        .await
        .unwrap();
        assert!(
            jobs::run_due(&db, "s1", at("2026-12-02T15:00:00+08:00"), ZONE, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let ran = jobs::run_due(&db, "s1", at("2026-12-02T15:31:00+08:00"), ZONE, 10)
            .await
            .unwrap();
        assert!(matches!(
            &ran[..],
            [Ran::Done(Work::PromiseReminder { .. })]
        ));
        let n = notifications::list(&db, &a.id, 10).await.unwrap();
        assert!(n.iter().any(|n| n.kind == "promise_due"));
        let kept = handling::record(
            &db,
            &ap,
            &t.id,
            &reply("已查明原因"),
            &clock("2026-12-02T15:45:00+08:00"),
        )
        .await
        .unwrap();
        assert_eq!(
            (kept.promises_kept, kept.promises_broken, kept.promised_at),
            (1, 0, None)
        );
        jobs::run_due(&db, "s1", at("2026-12-02T16:01:00+08:00"), ZONE, 10)
            .await
            .unwrap();
        let t1 = tickets::get(&db, &ap, &t.id, at("2026-12-02T16:01:00+08:00"))
            .await
            .unwrap();
        assert_eq!(t1.escalation_level, 0, "a kept promise does not escalate");

        // Promise 2: broken. Escalates to the manager at the promised time...
        let p2 = at("2026-12-03T10:00:00+08:00");
        handling::promise(&db, &ap, &t.id, p2, "", &clock("2026-12-02T16:30:00+08:00"))
            .await
            .unwrap();
        jobs::run_due(&db, "s1", at("2026-12-03T09:59:00+08:00"), ZONE, 10)
            .await
            .unwrap();
        let before = tickets::get(&db, &ap, &t.id, at("2026-12-03T09:59:00+08:00"))
            .await
            .unwrap();
        assert_eq!(before.escalation_level, 0);
        jobs::run_due(&db, "s1", at("2026-12-03T10:00:00+08:00"), ZONE, 10)
            .await
            .unwrap();
        let up = tickets::get(&db, &ap, &t.id, at("2026-12-03T10:00:00+08:00"))
            .await
            .unwrap();
        assert_eq!((up.promises_broken, up.escalation_level), (1, 1));
        assert_eq!(up.escalated_to.as_ref(), Some(&ma.id));
        assert!(notifications::list(&db, &ma.id, 10)
            .await
            .unwrap()
            .iter()
            .any(|n| n.kind == "escalated"));
        // ...and, still unanswered two business hours later, to the owner.
        jobs::run_due(&db, "s1", at("2026-12-03T11:59:00+08:00"), ZONE, 10)
            .await
            .unwrap();
        assert_eq!(
            tickets::get(&db, &ap, &t.id, at("2026-12-03T11:59:00+08:00"))
                .await
                .unwrap()
                .escalation_level,
            1
        );
        jobs::run_due(&db, "s1", at("2026-12-03T12:00:00+08:00"), ZONE, 10)
            .await
            .unwrap();
        let top = tickets::get(&db, &ap, &t.id, at("2026-12-03T12:00:00+08:00"))
            .await
            .unwrap();
        assert_eq!(top.escalation_level, 2);
        assert_eq!(top.escalated_to.as_ref(), Some(&owner.id));
        // An answer stops the climb.
        handling::record(
            &db,
            &ap,
            &t.id,
            &reply("抱歉久等"),
            &clock("2026-12-03T12:30:00+08:00"),
        )
        .await
        .unwrap();
        jobs::run_due(&db, "s1", at("2026-12-10T12:00:00+08:00"), ZONE, 10)
            .await
            .unwrap();
        let calm = tickets::get(&db, &ap, &t.id, at("2026-12-10T12:00:00+08:00"))
            .await
            .unwrap();
        assert_eq!(calm.escalation_level, 2);
        assert_eq!(calm.promises_broken, 1, "counted once");
        assert!(jobs::pending(&db).await.unwrap().is_empty());
        // A promise must lie ahead.
        assert!(matches!(
            handling::promise(
                &db,
                &ap,
                &t.id,
                at("2026-12-01T00:00:00Z"),
                "",
                &clock("2026-12-03T12:31:00+08:00")
            )
            .await,
            Err(Error::Invalid(_))
        ));
    }
);

both!(
    surveys_are_answered_once_through_their_link,
    |kind| async move {
        let db = fresh(kind).await.unwrap();
        let a = testing::user(&db, "a1", "agent", "A").await.principal();
        let c = customer(&db, &a, "钱多多", "13800005555").await;
        let now = clock("2026-12-02T10:00:00+08:00");
        let t = tickets::create(&db, &a, &c, &draft("normal").check().unwrap(), None, &now)
            .await
            .unwrap();
        let token = surveys::send_for_ticket(&db, &a, &t.id, now.now)
            .await
            .unwrap();
        assert_eq!(
            surveys::open(&db, &token, now.now).await.unwrap(),
            surveys::Public::Open {
                ticket_number: Some(t.number)
            }
        );
        assert!(matches!(
            surveys::open(&db, "not-a-token", now.now).await,
            Err(Error::NotFound)
        ));
        // The same token but its last character.
        let last = if token.ends_with('A') { 'B' } else { 'A' };
        let forged = format!("{}{last}", &token[..42]);
        assert!(matches!(
            surveys::open(&db, &forged, now.now).await,
            Err(Error::NotFound)
        ));
        let bad = surveys::AnswerDraft {
            satisfaction: "9".into(),
            nps: "11".into(),
            ..Default::default()
        };
        match surveys::answer(&db, &token, &bad, now.now).await {
            Err(Error::Invalid(e)) => {
                assert!(e.get("satisfaction").is_some() && e.get("nps").is_some());
            }
            other => panic!("{other:?}"),
        }
        let good = surveys::AnswerDraft {
            satisfaction: "较满意".into(),
            nps: "9".into(),
            comment: "处理及时".into(),
        };
        surveys::answer(&db, &token, &good, now.now).await.unwrap();
        let again = surveys::AnswerDraft {
            satisfaction: "1".into(),
            ..Default::default()
        };
        assert!(matches!(
            surveys::answer(&db, &token, &again, now.now).await,
            Err(Error::Invalid(_))
        ));
        assert_eq!(
            surveys::open(&db, &token, now.now).await.unwrap(),
            surveys::Public::Answered
        );
        let s = surveys::for_customer(&db, &a, &c, 10).await.unwrap();
        assert_eq!(s[0].satisfaction.map(|x| x.level()), Some(5));
        assert_eq!(s[0].nps, Some(9));
        // An unanswered link expires.
        let late = surveys::send_for_ticket(&db, &a, &t.id, now.now)
            .await
            .unwrap();
        let later = now.now.minus_days(-(surveys::VALID_DAYS + 1));
        assert_eq!(
            surveys::open(&db, &late, later).await.unwrap(),
            surveys::Public::Expired
        );
        assert!(surveys::answer(&db, &late, &good, later).await.is_err());
    }
);

both!(
    the_public_desk_files_and_follows_one_ticket,
    |kind| async move {
        let db = fresh(kind).await.unwrap();
        let a = testing::user(&db, "a1", "agent", "A").await.principal();
        let known = customer(&db, &a, "孙丽", "13800006666").await;
        let now = clock("2026-12-02T10:00:00+08:00");
        let form = support::PublicDraft {
            name: "孙丽".into(),
            mobile: "138 0000 6666".into(),
            subject: "快递破损".into(),
            description: "收到的包裹外箱破损，商品有划痕".into(),
            purpose: "criticism".into(),
            ..Default::default()
        };
        let (number, token) = support::file(&db, &form, "10.0.0.1", &now).await.unwrap();
        let open = tickets::list(&db, &a, &ListFilter::default(), now.now)
            .await
            .unwrap();
        let t = open.iter().find(|t| t.number == number).unwrap();
        assert_eq!(t.customer_id, known, "matched by mobile");
        assert_eq!(t.channel.code(), "web");
        // Someone new becomes a customer.
        let stranger = support::PublicDraft {
            name: "新客户".into(),
            email: "new@example.com".into(),
            mobile: String::new(),
            ..form.clone()
        };
        support::file(&db, &stranger, "10.0.0.2", &now)
            .await
            .unwrap();
        let n = db
            .conn()
            .scalar(Query::new(
                "SELECT COUNT(*) FROM customers WHERE email = 'new@example.com'",
            ))
            .await
            .unwrap();
        assert_eq!(n, 1);
        let by = db
            .conn()
            .scalar(Query::new(
                "SELECT COUNT(*) FROM audit_log WHERE entity = 'customer' AND action = 'create' \
                 AND actor_login = 'system:support-form'",
            ))
            .await
            .unwrap();
        assert_eq!(by, 1, "audited as the support form");
        // The link shows replies, never internal notes.
        let note = EntryDraft {
            kind: "note".into(),
            body: "内部备注：物流商责任".into(),
            ..Default::default()
        };
        handling::record(&db, &a, &t.id, &note, &now).await.unwrap();
        handling::record(&db, &a, &t.id, &reply("已为您补发新品"), &now)
            .await
            .unwrap();
        handling::set_status(&db, &a, &t.id, Status::Waiting, "", &now)
            .await
            .unwrap();
        let v = support::view(&db, &token, now.now).await.unwrap();
        assert_eq!(v.messages.len(), 1);
        assert_eq!(v.messages[0].2, "已为您补发新品");
        assert!(!format!("{v:?}").contains("内部备注"));
        support::message(
            &db,
            &token,
            "收到了，谢谢",
            &clock("2026-12-02T11:00:00+08:00"),
        )
        .await
        .unwrap();
        let back = tickets::get(&db, &a, &t.id, now.now).await.unwrap();
        assert_eq!(
            back.status,
            Status::Open,
            "a customer's message resumes the clock"
        );
        assert!(matches!(
            support::view(&db, &token[..40], now.now).await,
            Err(Error::NotFound)
        ));
        // Bad input is reported field by field; robots are held back.
        let empty = support::PublicDraft::default();
        match support::file(&db, &empty, "10.0.0.3", &now).await {
            Err(Error::Invalid(e)) => {
                for f in ["name", "mobile", "subject", "description"] {
                    assert!(e.get(f).is_some(), "{f}");
                }
            }
            other => panic!("{other:?}"),
        }
        let spam = support::PublicDraft {
            description: "http://a.cn http://b.cn http://c.cn".into(),
            ..form.clone()
        };
        assert!(matches!(
            support::file(&db, &spam, "10.0.0.4", &now).await,
            Err(Error::Invalid(_))
        ));
        let mut limited = false;
        for i in 0..(support::PER_IP_PER_HOUR + 1) {
            let f = support::PublicDraft {
                mobile: format!("1390000{:04}", i),
                ..form.clone()
            };
            if let Err(Error::RateLimited { .. }) = support::file(&db, &f, "10.9.9.9", &now).await {
                limited = true;
            }
        }
        assert!(limited, "one address cannot file without limit");
    }
);

both!(two_servers_run_each_job_once, |kind| async move {
    let (db1, db2) = fresh_pair(kind).await.unwrap();
    let a = testing::user(&db1, "a1", "agent", "A").await.principal();
    let c = customer(&db1, &a, "周杰", "13800007777").await;
    let start = clock("2026-12-02T10:00:00+08:00");
    let mut ids = vec![];
    for _ in 0..30 {
        let t = tickets::create(
            &db1,
            &a,
            &c,
            &draft("normal").check().unwrap(),
            None,
            &start,
        )
        .await
        .unwrap();
        handling::promise(&db1, &a, &t.id, at("2026-12-02T12:00:00+08:00"), "", &start)
            .await
            .unwrap();
        ids.push(t.id);
    }
    // 30 reminders and 30 escalations are due; both servers work at once.
    let when = at("2026-12-02T12:00:00+08:00");
    let (r1, r2) = tokio::join!(
        jobs::run_due(&db1, "s1", when, ZONE, 1000),
        jobs::run_due(&db2, "s2", when, ZONE, 1000)
    );
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    assert_eq!(r1.len() + r2.len(), 60, "every job ran, none twice");
    assert!(r1.iter().chain(&r2).all(|r| matches!(r, Ran::Done(_))));
    let reminders = db1
        .conn()
        .scalar(Query::new(
            "SELECT COUNT(*) FROM ticket_events WHERE kind = 'reminder'",
        ))
        .await
        .unwrap();
    let broken = db1
        .conn()
        .scalar(Query::new(
            "SELECT CAST(COALESCE(SUM(promises_broken), 0) AS BIGINT) FROM tickets",
        ))
        .await
        .unwrap();
    assert_eq!((reminders, broken), (30, 30));
    let done = db1
        .conn()
        .scalar(Query::new(
            "SELECT COUNT(*) FROM jobs WHERE done_at IS NOT NULL",
        ))
        .await
        .unwrap();
    assert_eq!(done, 60);
});

both!(
    merge_moves_every_row_that_names_a_customer,
    |kind| async move {
        // Every table with a customer_id column is one a merge moves.
        let db = fresh(kind).await.unwrap();
        let sql = match kind {
        Kind::Sqlite => "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p \
                         WHERE m.type = 'table' AND p.name = 'customer_id' ORDER BY 1",
        Kind::Postgres => "SELECT table_name::text FROM information_schema.columns \
                           WHERE column_name = 'customer_id' AND table_schema = current_schema() ORDER BY 1",
    };
        let tables: Vec<(String,)> = db.conn().fetch_all(Query::new(sql)).await.unwrap();
        let moved: Vec<&str> = kehu_store::merge::CHILD_TABLES
            .iter()
            .map(|c| c.table)
            .collect();
        for (t,) in tables {
            // The audit log keeps its ids; the search index (and terms
            // staged by a large import) is rebuilt; the merged record's
            // scores are dropped (the next recompute scores the survivor
            // with every row).
            if [
                "audit_log",
                "customer_terms",
                "customer_terms_staged",
                "duplicate_dismissals",
                "customer_scores",
            ]
            .contains(&t.as_str())
            {
                continue;
            }
            assert!(moved.contains(&t.as_str()), "merge does not move {t}");
        }
    }
);

both!(
    queues_put_what_falls_due_first_and_the_paused_last,
    |kind| async move {
        let db = fresh(kind).await.unwrap();
        let a = testing::user(&db, "a1", "agent", "A").await.principal();
        let c = customer(&db, &a, "吴昊", "13800008888").await;
        let at0 = clock("2026-12-02T10:00:00+08:00");
        let later = tickets::create(&db, &a, &c, &draft("low").check().unwrap(), None, &at0)
            .await
            .unwrap();
        let paused = tickets::create(&db, &a, &c, &draft("high").check().unwrap(), None, &at0)
            .await
            .unwrap();
        let soon = tickets::create(&db, &a, &c, &draft("urgent").check().unwrap(), None, &at0)
            .await
            .unwrap();
        handling::set_status(&db, &a, &paused.id, Status::Waiting, "", &at0)
            .await
            .unwrap();
        let page = |offset: i64, limit: i64| {
            let db = db.clone();
            let a = a.clone();
            async move {
                tickets::list(
                    &db,
                    &a,
                    &ListFilter {
                        queue: Queue::Mine,
                        limit,
                        offset,
                        ..Default::default()
                    },
                    at0.now,
                )
                .await
                .unwrap()
                .into_iter()
                .map(|t| t.id)
                .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            page(0, 10).await,
            vec![soon.id.clone(), later.id.clone(), paused.id.clone()]
        );
        assert_eq!(page(1, 1).await, vec![later.id.clone()]);
        assert_eq!(page(2, 5).await, vec![paused.id.clone()]);
        assert!(page(3, 5).await.is_empty());
        let open = tickets::list(&db, &a, &ListFilter::default(), at0.now)
            .await
            .unwrap();
        assert_eq!(open.len(), 3);
        let urgent = tickets::list(
            &db,
            &a,
            &ListFilter {
                severity: Some(kehu_domain::ticket::Severity::Urgent),
                ..Default::default()
            },
            at0.now,
        )
        .await
        .unwrap();
        assert_eq!(urgent.len(), 1);
    }
);
