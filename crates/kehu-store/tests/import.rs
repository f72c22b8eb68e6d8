//! Imported rows match existing customers the same way on both databases.

use kehu_domain::import::{map_headers, ImportKind, ImportedRow};
use kehu_store::audit::Actor;
use kehu_store::import::{apply, Outcome, Owner};
use kehu_store::testing::{fresh, Kind};
use kehu_store::{Db, Query};

fn rows(lines: &[&str]) -> Vec<ImportedRow> {
    rows_of(ImportKind::Customers, lines)
}

/// The rows of a file of this kind, given as comma-separated lines with the
/// header row first.
fn rows_of(kind: ImportKind, lines: &[&str]) -> Vec<ImportedRow> {
    let headers: Vec<String> = lines[0].split(',').map(str::to_string).collect();
    let (cols, _) = map_headers(kind, &headers);
    lines[1..]
        .iter()
        .map(|l| ImportedRow::from_record(&cols, &l.split(',').collect::<Vec<_>>()))
        .collect()
}

async fn count(db: &Db) -> i64 {
    db.conn()
        .scalar(Query::new("SELECT COUNT(*) FROM customers"))
        .await
        .unwrap()
}

async fn matching(kind: Kind) {
    let db = fresh(kind).await.unwrap();
    let actor = Actor::system("test");
    let owner = Owner::default();
    let file = rows(&[
        "外部编号,姓名,手机,邮箱",
        "E1,张伟,13812345678,",
        "E2,李娜,,ln@example.com",
        ",王芳,13900000000,",
        "E1,张伟,13812345678,zw@example.com",
    ]);
    let out = apply(&db, &actor, None, &owner, &file, false)
        .await
        .unwrap();
    assert_eq!(
        out,
        vec![
            Outcome::Created,
            Outcome::Created,
            Outcome::Created,
            Outcome::Updated
        ],
        "a repeated row in one file updates"
    );
    let again = apply(&db, &actor, None, &owner, &file, false)
        .await
        .unwrap();
    assert!(again.iter().all(|o| *o == Outcome::Unchanged), "{again:?}");
    // By mobile when the external id is new (and then recorded); a customer
    // that already has another external id is not taken over.
    let out = apply(
        &db,
        &actor,
        None,
        &owner,
        &rows(&[
            "编号,姓名,手机,邮箱",
            "X9,王芳,139 0000 0000,",
            "X8,李娜,,LN@example.com",
        ]),
        false,
    )
    .await
    .unwrap();
    assert_eq!(out[0], Outcome::Updated, "王芳 had no external id");
    assert!(
        matches!(&out[1], Outcome::Rejected(e) if e.get("external_id").is_some()),
        "李娜 is E2, not X8: {out:?}"
    );
    assert_eq!(count(&db).await, 3);
    // Two customers with one mobile: the row cannot say which.
    apply(
        &db,
        &actor,
        None,
        &owner,
        &rows(&["姓名,手机", "张伟二号,13700000000"]),
        false,
    )
    .await
    .unwrap();
    apply(
        &db,
        &actor,
        None,
        &owner,
        &rows(&["外部编号,姓名,手机", "E7,张伟三号,13700000000"]),
        false,
    )
    .await
    .unwrap();
    db.conn()
        .execute(Query::new(
            "UPDATE customers SET mobile = '13700000000' WHERE external_id = 'E2'",
        ))
        .await
        .unwrap();
    let out = apply(
        &db,
        &actor,
        None,
        &owner,
        &rows(&["姓名,手机", "某人,13700000000"]),
        false,
    )
    .await
    .unwrap();
    assert!(
        matches!(&out[0], Outcome::Rejected(e) if e.get("mobile").is_some()),
        "{out:?}"
    );
    // A row that names one customer and gives it another's mobile or
    // e-mail: rejected, whichever key named it.
    let out = apply(
        &db,
        &actor,
        None,
        &owner,
        &rows(&[
            "外部编号,姓名,手机,邮箱",
            "E1,张伟,13900000000,",
            ",王芳,13900000000,LN@example.com",
            "E1,张伟,13812345678,zw@example.com",
        ]),
        false,
    )
    .await
    .unwrap();
    let message = |o: &Outcome, field: &str| match o {
        Outcome::Rejected(e) => e.get(field).map(|p| p.message(kehu_domain::Lang::ZhCn)),
        _ => None,
    };
    assert_eq!(
        message(&out[0], "mobile").as_deref(),
        Some("手机号已属于另一位客户（外部编号 X9），不能再给这位客户"),
        "{out:?}"
    );
    assert!(message(&out[1], "email").is_some(), "{out:?}");
    assert_eq!(out[2], Outcome::Unchanged, "its own keys again");
    let mobiles: i64 = db
        .conn()
        .scalar(Query::new(
            "SELECT COUNT(*) FROM customers WHERE mobile = '13900000000'",
        ))
        .await
        .unwrap();
    assert_eq!(mobiles, 1);
    // A dry run writes nothing.
    let before = count(&db).await;
    let out = apply(
        &db,
        &actor,
        None,
        &owner,
        &rows(&["姓名,手机", "新人,13600000000"]),
        true,
    )
    .await
    .unwrap();
    assert_eq!(out, vec![Outcome::Created]);
    assert_eq!(count(&db).await, before);
}

#[tokio::test]
async fn import_matching_sqlite() {
    matching(Kind::Sqlite).await
}

#[tokio::test]
async fn import_matching_postgres() {
    matching(Kind::Postgres).await
}

/// A user's import updates only customers the user may write; a row that
/// matches anyone else's customer is refused, not applied.
async fn scoped(kind: Kind) {
    use kehu_domain::customer::CustomerInput;
    use kehu_store::customers::{self, CustomerWrite};
    let db = fresh(kind).await.unwrap();
    let manager = kehu_store::testing::user(&db, "ma", "manager", "一部")
        .await
        .principal();
    let theirs = kehu_store::testing::user(&db, "b1", "agent", "二部")
        .await
        .principal();
    let ours = kehu_store::testing::user(&db, "a1", "agent", "一部")
        .await
        .principal();
    for (p, name, mobile) in [
        (&theirs, "外部客户", "13800000001"),
        (&ours, "本部客户", "13800000002"),
    ] {
        let input = CustomerInput {
            kind: "person".into(),
            name: name.into(),
            mobile: mobile.into(),
            ..Default::default()
        };
        let w = CustomerWrite {
            fields: input.parse().unwrap(),
            custom: Default::default(),
            tags: vec![],
            consents: Default::default(),
        };
        customers::create(&db, Some(p), w).await.unwrap();
    }
    let file = rows(&[
        "姓名,手机,城市",
        "改名,13800000001,杭州",
        "本部客户,13800000002,杭州",
    ]);
    let actor = Actor::from(&manager);
    let owner = Owner {
        user: Some(manager.user_id.clone()),
        team: manager.team_id.clone(),
    };
    let out = apply(&db, &actor, Some(&manager), &owner, &file, false)
        .await
        .unwrap();
    assert!(
        matches!(&out[0], Outcome::Rejected(e) if e.get("mobile").is_some()),
        "the column that matched is named: {out:?}"
    );
    assert_eq!(out[1], Outcome::Updated);
    let name: (String, Option<String>) = db
        .conn()
        .fetch_one(Query::new(
            "SELECT name, city FROM customers WHERE mobile = '13800000001'",
        ))
        .await
        .unwrap();
    assert_eq!(name, ("外部客户".to_string(), None), "untouched");
    // The system (the CLI) imports across every scope.
    let out = apply(
        &db,
        &Actor::system("test"),
        None,
        &Owner::default(),
        &file,
        false,
    )
    .await
    .unwrap();
    assert_eq!(out[0], Outcome::Updated);
}

#[tokio::test]
async fn import_scope_sqlite() {
    scoped(Kind::Sqlite).await
}

#[tokio::test]
async fn import_scope_postgres() {
    scoped(Kind::Postgres).await
}

async fn scalar(db: &Db, sql: &str) -> i64 {
    db.conn().scalar(Query::new(sql)).await.unwrap()
}

/// Contacts go to the organisation a row names, match its contacts by
/// mobile, e-mail or name, and import once however often the file runs.
async fn contacts(kind: Kind) {
    let db = fresh(kind).await.unwrap();
    let actor = Actor::system("test");
    let owner = Owner::default();
    let customers = rows(&[
        "外部编号,客户类型,姓名,手机",
        "ORG1,organization,华兴贸易有限公司,",
        "ORG2,organization,同名公司,",
        "ORG3,organization,同名公司,",
        "P1,person,张伟,13812345678",
    ]);
    apply(&db, &actor, None, &owner, &customers, false)
        .await
        .unwrap();
    let file = rows_of(
        ImportKind::Contacts,
        &[
            "客户编号,公司,联系人,职务,角色,手机,邮箱",
            "ORG1,,李四,采购经理,关键人（决策者）,13900000001,",
            ",华兴贸易有限公司,王五,财务,把关者,,ww@example.com",
            "ORG1,,李四,采购总监,,13900000001,",
            ",同名公司,赵六,,,,",
            "P1,,孙七,,,,",
            "NOPE,,周八,,,,",
            "ORG1,,,经理,,,",
            "ORG1,,吴九,,大老板,,",
        ],
    );
    let out = kehu_store::import::contacts::apply(&db, &actor, None, &file, false)
        .await
        .unwrap();
    assert_eq!(out[0], Outcome::Created);
    assert_eq!(out[1], Outcome::Created, "named by the organisation's name");
    assert_eq!(out[2], Outcome::Updated, "the same mobile in one file");
    let field = |o: &Outcome| match o {
        Outcome::Rejected(e) => e.0.iter().map(|f| f.field.clone()).collect::<Vec<_>>(),
        other => panic!("not rejected: {other:?}"),
    };
    assert_eq!(
        field(&out[3]),
        vec!["customer"],
        "two organisations of that name"
    );
    assert_eq!(field(&out[4]), vec!["customer"], "a person has no contacts");
    assert_eq!(field(&out[5]), vec!["external_id"]);
    assert_eq!(field(&out[6]), vec!["name"]);
    assert_eq!(field(&out[7]), vec!["role"]);
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM contacts").await, 2);
    let li: (String, String) = db
        .conn()
        .fetch_one(Query::new(
            "SELECT position, role FROM contacts WHERE name = '李四'",
        ))
        .await
        .unwrap();
    assert_eq!(
        li,
        ("采购总监".to_string(), "decision_maker".to_string()),
        "a blank cell keeps the role"
    );
    // Again: nothing new; the file names 李四 twice, and its last row wins
    // again.
    let again = kehu_store::import::contacts::apply(&db, &actor, None, &file, false)
        .await
        .unwrap();
    assert_eq!(again[1], Outcome::Unchanged, "{again:?}");
    assert_eq!(again[2], Outcome::Updated);
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM contacts").await, 2);
    // Matched by e-mail, renamed: the search finds the new name.
    let renamed = rows_of(
        ImportKind::Contacts,
        &["外部编号,姓名,邮箱", "ORG1,王小五,WW@example.com"],
    );
    let out = kehu_store::import::contacts::apply(&db, &actor, None, &renamed, false)
        .await
        .unwrap();
    assert_eq!(out, vec![Outcome::Updated]);
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM customer_terms WHERE term = '小五'"
        )
        .await,
        1,
        "the organisation is found by its contact's new name"
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'contact' AND action = 'import'"
        )
        .await,
        3,
        "two created, one renamed (the re-run changed nothing in the end)"
    );
    // A dry run writes nothing.
    let dry = rows_of(ImportKind::Contacts, &["外部编号,姓名", "ORG1,郑十"]);
    let out = kehu_store::import::contacts::apply(&db, &actor, None, &dry, true)
        .await
        .unwrap();
    assert_eq!(out, vec![Outcome::Created]);
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM contacts").await, 2);
}
kehu_store::both!(contacts_import, contacts);

/// Interactions go to the customer a row names, with its contact; the same
/// customer, time, channel and content imports once.
async fn interactions(kind: Kind) {
    let db = fresh(kind).await.unwrap();
    let actor = Actor::system("test");
    let customers = rows(&[
        "外部编号,客户类型,姓名,手机,邮箱",
        "ORG1,organization,华兴贸易有限公司,,",
        "P1,person,张伟,13812345678,zw@example.com",
    ]);
    apply(&db, &actor, None, &Owner::default(), &customers, false)
        .await
        .unwrap();
    let contact = rows_of(ImportKind::Contacts, &["外部编号,联系人", "ORG1,李四"]);
    kehu_store::import::contacts::apply(&db, &actor, None, &contact, false)
        .await
        .unwrap();
    let sh = chrono_tz::Asia::Shanghai;
    let file = rows_of(
        ImportKind::Interactions,
        &[
            "客户编号,客户,手机,联系方式,联系时间,内容,联系人",
            "ORG1,,,拜访,2024-03-05 14:30,谈续约,李四",
            ",,138 1234 5678,电话,2024/3/6 9:00,回访满意度,",
            ",张伟,,微信,2024-03-07,发了新品目录,",
            "ORG1,,,拜访,2024-03-05 14:30,谈续约,李四",
            "ORG1,,,飞鸽,2024-03-08,,",
            "ORG1,,,电话,2024-03-09,问候,王五",
            ",李娜,,电话,2024-03-09,问候,",
        ],
    );
    let out = kehu_store::import::interactions::apply(&db, &actor, None, sh, &file, false)
        .await
        .unwrap();
    assert_eq!(
        out[..3],
        [Outcome::Created, Outcome::Created, Outcome::Created]
    );
    assert_eq!(out[3], Outcome::Unchanged, "the same one twice in a file");
    let fields = |o: &Outcome| match o {
        Outcome::Rejected(e) => e.0.iter().map(|f| f.field.clone()).collect::<Vec<_>>(),
        other => panic!("not rejected: {other:?}"),
    };
    assert_eq!(fields(&out[4]), vec!["channel", "body"]);
    assert_eq!(fields(&out[5]), vec!["contact"], "no contact 王五");
    assert_eq!(fields(&out[6]), vec!["customer"], "no customer 李娜");
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM interactions").await, 3);
    let visit: (i64, String, Option<String>) = db
        .conn()
        .fetch_one(Query::new(
            "SELECT i.occurred_at, i.kind, c.name FROM interactions i LEFT JOIN contacts c ON c.id = i.contact_id WHERE i.body = '谈续约'",
        ))
        .await
        .unwrap();
    assert_eq!(
        visit,
        (
            1_709_620_200_000,
            "visit".to_string(),
            Some("李四".to_string())
        ),
        "14:30 in Shanghai is 06:30 UTC"
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT last_contact_at FROM customers WHERE external_id = 'P1'"
        )
        .await,
        1_709_740_800_000,
        "the latest of 张伟's interactions (2024-03-07 00:00 in Shanghai)"
    );
    let again = kehu_store::import::interactions::apply(&db, &actor, None, sh, &file, false)
        .await
        .unwrap();
    assert_eq!(
        again.iter().filter(|o| **o == Outcome::Unchanged).count(),
        4,
        "{again:?}"
    );
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM interactions").await, 3);
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'interaction' AND action = 'import'"
        )
        .await,
        3
    );
}
kehu_store::both!(interactions_import, interactions);

/// A user's contact and interaction rows reach only customers they may
/// change; others read as not found.
async fn children_scoped(kind: Kind) {
    use kehu_domain::customer::CustomerInput;
    use kehu_store::customers::{self, CustomerWrite};
    let db = fresh(kind).await.unwrap();
    let mine = kehu_store::testing::user(&db, "a1", "agent", "一部")
        .await
        .principal();
    let other = kehu_store::testing::user(&db, "b1", "agent", "二部")
        .await
        .principal();
    for (p, name) in [(&mine, "我的公司"), (&other, "别人的公司")] {
        let input = CustomerInput {
            kind: "organization".into(),
            name: name.into(),
            ..Default::default()
        };
        let w = CustomerWrite {
            fields: input.parse().unwrap(),
            custom: Default::default(),
            tags: vec![],
            consents: Default::default(),
        };
        customers::create(&db, Some(p), w).await.unwrap();
    }
    let actor = Actor::from(&mine);
    let file = rows_of(
        ImportKind::Contacts,
        &["公司,联系人", "我的公司,甲", "别人的公司,乙"],
    );
    let out = kehu_store::import::contacts::apply(&db, &actor, Some(&mine), &file, false)
        .await
        .unwrap();
    assert_eq!(out[0], Outcome::Created);
    assert!(matches!(&out[1], Outcome::Rejected(e) if e.get("customer").is_some()));
    let file = rows_of(
        ImportKind::Interactions,
        &[
            "客户,时间,内容",
            "我的公司,2024-01-02,一",
            "别人的公司,2024-01-02,二",
        ],
    );
    let out = kehu_store::import::interactions::apply(
        &db,
        &actor,
        Some(&mine),
        chrono_tz::Asia::Shanghai,
        &file,
        false,
    )
    .await
    .unwrap();
    assert_eq!(out[0], Outcome::Created);
    assert!(matches!(&out[1], Outcome::Rejected(e) if e.get("customer").is_some()));
    assert_eq!(
        scalar(
            &db,
            &format!(
                "SELECT COUNT(*) FROM interactions WHERE user_id = '{}'",
                mine.user_id
            )
        )
        .await,
        1,
        "recorded as the importer's"
    );
}
kehu_store::both!(children_import_scope, children_scoped);

/// What a large import runs as it goes and at its end: on PostgreSQL the
/// tables get planner statistics, then a vacuum (pages marked visible); on
/// SQLite both do nothing and succeed.
async fn bulk_load_maintenance(kind: Kind) {
    let db = fresh(kind).await.unwrap();
    let owner = Owner::default();
    let file = rows(&["外部编号,姓名,手机", "E1,张伟,13812345678"]);
    apply(&db, &Actor::system("test"), None, &owner, &file, false)
        .await
        .unwrap();
    db.refresh_statistics().await.unwrap();
    db.settle_bulk_load().await.unwrap();
    if kind == Kind::Postgres {
        let done = |col: &str| {
            format!(
                "SELECT COUNT(*) FROM pg_stat_user_tables WHERE relname = 'customers' AND schemaname = current_schema() AND {col} IS NOT NULL"
            )
        };
        assert_eq!(scalar(&db, &done("last_analyze")).await, 1);
        assert_eq!(scalar(&db, &done("last_vacuum")).await, 1);
    }
}
kehu_store::both!(bulk_load_maintenance_runs, bulk_load_maintenance);

fn new_job(
    id: &str,
    status: kehu_domain::import::JobStatus,
) -> kehu_store::import_jobs::NewJob<'_> {
    kehu_store::import_jobs::NewJob {
        id,
        kind: "customers",
        file_name: "big.csv",
        source: "",
        status,
        dry_run: false,
        owner_id: None,
        file_path: None,
        bytes_total: Some(100),
        mapping: None,
    }
}

/// A running job says when its deferred indexes are being built, until it
/// ends; a job that is not running is left as it is.
async fn index_stage(kind: Kind) {
    use kehu_domain::import::JobStatus;
    use kehu_store::import_jobs::{self, Progress};
    let db = fresh(kind).await.unwrap();
    let admin = kehu_store::testing::user(&db, "admin", "admin", "")
        .await
        .principal();
    let actor = Actor::from(&admin);
    let (running, uploaded) = (import_jobs::new_id(), import_jobs::new_id());
    for (id, status) in [
        (&running, JobStatus::Running),
        (&uploaded, JobStatus::Uploaded),
    ] {
        import_jobs::create(&db, &actor, &new_job(id, status))
            .await
            .unwrap();
    }
    let stage = |id: String| {
        let (db, admin) = (db.clone(), admin.clone());
        async move {
            import_jobs::get(&db, &admin, &id)
                .await
                .unwrap()
                .progress
                .building_indexes
        }
    };
    assert!(!stage(running.clone()).await);
    for id in [&running, &uploaded] {
        import_jobs::building_indexes(&db, id).await.unwrap();
    }
    assert!(stage(running.clone()).await);
    assert!(!stage(uploaded.clone()).await, "not running: unchanged");
    // Progress reported meanwhile keeps the stage; the end clears it.
    let p = Progress {
        rows: 10,
        read: 100,
        total: Some(100),
        ..Progress::default()
    };
    import_jobs::progress(&db, &running, &p).await.unwrap();
    assert!(stage(running.clone()).await);
    import_jobs::finish(&db, &actor, &running, &p)
        .await
        .unwrap();
    let done = import_jobs::get(&db, &admin, &running).await.unwrap();
    assert_eq!(done.status, JobStatus::Done);
    assert!(!done.progress.building_indexes);
}
kehu_store::both!(import_index_stage, index_stage);
