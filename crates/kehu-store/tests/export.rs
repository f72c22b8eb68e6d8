//! Exports hold what the exporter may see, as they see it, honour the
//! list's filters and sort, page through any number of rows, and are
//! audited; on both databases.

use kehu_domain::customer::CustomerInput;
use kehu_domain::export::{Format, CUSTOMER_COLUMNS};
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use kehu_store::audit::{self, Actor};
use kehu_store::auth::{self, NewUser, UserPatch};
use kehu_store::bulk::{self, NewCustomer};
use kehu_store::customers::{self, CustomerWrite, Filter, Sort};
use kehu_store::export::{self, Exporter};
use kehu_store::testing::{fresh, read_export, Kind};
use kehu_store::{Db, Error};

const TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

async fn user(db: &Db, login: &str, role: &str, team: &str) -> Principal {
    auth::create_user(
        db,
        None,
        &NewUser {
            login: login.into(),
            name: login.into(),
            role: role.into(),
            team: team.into(),
            password: "a-long-password".into(),
        },
    )
    .await
    .unwrap()
    .principal()
}

/// An admin allows `p` to export; returns them as they are now.
async fn grant(db: &Db, admin: &Principal, p: &Principal) -> Principal {
    let patch = UserPatch {
        can_export: Some(true),
        ..Default::default()
    };
    auth::update_user(db, admin, &p.user_id, &patch)
        .await
        .unwrap()
        .principal()
}

fn input(name: &str, mobile: &str) -> CustomerInput {
    CustomerInput {
        kind: "person".into(),
        name: name.into(),
        mobile: mobile.into(),
        ..Default::default()
    }
}

async fn create(db: &Db, by: &Principal, i: CustomerInput, tags: &[&str]) {
    customers::create(
        db,
        Some(by),
        CustomerWrite {
            fields: i.parse().unwrap(),
            custom: Default::default(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            consents: Default::default(),
        },
    )
    .await
    .unwrap();
}

async fn run(
    db: &Db,
    who: Exporter<'_>,
    f: &Filter,
    sort: Sort,
    format: Format,
) -> Result<Vec<Vec<String>>, Error> {
    let mut out = vec![];
    let n = export::customers(db, who, f, sort, format, TZ, &mut out).await?;
    let rows = read_export(format, &out);
    assert_eq!(rows[0], CUSTOMER_COLUMNS, "the header row");
    assert_eq!(rows.len() as u64, n + 1, "the count returned");
    Ok(rows)
}

fn column(rows: &[Vec<String>], header: &str) -> Vec<String> {
    let i = CUSTOMER_COLUMNS.iter().position(|h| *h == header).unwrap();
    rows[1..].iter().map(|r| r[i].clone()).collect()
}

async fn permission_scope_masking_and_audit(kind: Kind) {
    let db = fresh(kind).await.unwrap();
    let admin = user(&db, "admin", "admin", "").await;
    let a1 = user(&db, "a1", "agent", "A").await;
    let b1 = user(&db, "b1", "agent", "B").await;
    let fin = user(&db, "fin", "finance", "").await;
    let ro = user(&db, "ro", "read_only", "").await;
    let zw = CustomerInput {
        grade: "A".into(),
        source: "referral".into(),
        email: "zw@example.com".into(),
        company: "恒达贸易".into(),
        birthday: "1980-02-29".into(),
        ..input("张伟", "13812345678")
    };
    create(&db, &a1, zw, &["VIP", "老客户"]).await;
    let formula = CustomerInput {
        notes: "-先报价".into(),
        company: "@公司".into(),
        ..input("=HYPERLINK(\"http://evil\",\"点我\")", "")
    };
    create(&db, &a1, formula, &[]).await;
    create(&db, &b1, input("李娜", "13900001111"), &["VIP"]).await;

    // Without the permission: refused, for agents, finance and read-only alike.
    for p in [&a1, &fin, &ro] {
        let mut out = vec![];
        let r = export::customers(
            &db,
            Exporter::User(p),
            &Filter::default(),
            Sort::default(),
            Format::Csv,
            TZ,
            &mut out,
        )
        .await;
        assert!(matches!(r, Err(Error::Forbidden)), "{}: {r:?}", p.login);
        assert!(out.is_empty(), "nothing is written");
    }
    let a1 = grant(&db, &admin, &a1).await;
    let fin = grant(&db, &admin, &fin).await;
    let ro = grant(&db, &admin, &ro).await;

    // An agent exports only their own customers, numbers in full; oldest first.
    let rows = run(
        &db,
        Exporter::User(&a1),
        &Filter::default(),
        Sort::OldestFirst,
        Format::Csv,
    )
    .await
    .unwrap();
    assert_eq!(
        column(&rows, "姓名"),
        ["张伟", "'=HYPERLINK(\"http://evil\",\"点我\")"]
    );
    let zw = &rows[1];
    let expect = [
        ("类型", "个人"),
        ("手机", "13812345678"),
        ("邮箱", "zw@example.com"),
        ("公司", "恒达贸易"),
        ("来源", "转介绍"),
        ("等级", "A"),
        ("生日", "1980-02-29"),
        ("标签", "VIP、老客户"),
        ("负责人", "a1"),
        ("团队", "A"),
    ];
    for (h, v) in expect {
        let i = CUSTOMER_COLUMNS.iter().position(|x| *x == h).unwrap();
        assert_eq!(zw[i], v, "{h}");
    }
    let created = &zw[CUSTOMER_COLUMNS.len() - 1];
    assert_eq!(created.len(), "2026-01-01 08:00".len(), "{created}");
    assert_eq!(
        column(&rows, "备注")[1],
        "'-先报价",
        "formula cells neutralised"
    );
    assert_eq!(column(&rows, "公司")[1], "'@公司");

    // Filters of the list apply: grade, tag, search text.
    let by_grade = Filter {
        grade: Some(kehu_domain::customer::Grade::A),
        ..Default::default()
    };
    let rows = run(
        &db,
        Exporter::User(&a1),
        &by_grade,
        Sort::default(),
        Format::Xlsx,
    )
    .await
    .unwrap();
    assert_eq!(column(&rows, "姓名"), ["张伟"]);
    let by_search = Filter {
        q: Some("zw".into()),
        ..Default::default()
    };
    let rows = run(
        &db,
        Exporter::User(&a1),
        &by_search,
        Sort::default(),
        Format::Csv,
    )
    .await
    .unwrap();
    assert_eq!(column(&rows, "姓名"), ["张伟"]);

    // Finance and read-only see everyone, with numbers masked as in the list.
    for (p, format) in [(&fin, Format::Xlsx), (&ro, Format::Csv)] {
        let by_tag = Filter {
            tag: Some("VIP".into()),
            ..Default::default()
        };
        let rows = run(&db, Exporter::User(p), &by_tag, Sort::Name, format)
            .await
            .unwrap();
        assert_eq!(column(&rows, "姓名"), ["李娜", "张伟"], "{}", p.login);
        assert_eq!(
            column(&rows, "手机"),
            ["139****1111", "138****5678"],
            "{}",
            p.login
        );
    }
    // The formula is neutralised in a workbook too.
    let rows = run(
        &db,
        Exporter::User(&fin),
        &Filter::default(),
        Sort::Name,
        Format::Xlsx,
    )
    .await
    .unwrap();
    assert!(column(&rows, "姓名").contains(&"'=HYPERLINK(\"http://evil\",\"点我\")".to_string()));

    // Recycle bin exports stay an admin's.
    let bin = Filter {
        deleted: true,
        ..Default::default()
    };
    let r = run(
        &db,
        Exporter::User(&fin),
        &bin,
        Sort::default(),
        Format::Csv,
    )
    .await;
    assert!(matches!(r, Err(Error::Forbidden)), "{r:?}");

    // Every export is in the audit log: who, format, rows, filter.
    let log = audit::list(
        &db,
        &audit::Filter {
            action: Some("export".into()),
            ..Default::default()
        },
        100,
    )
    .await
    .unwrap();
    assert_eq!(log.len(), 6);
    let grade_export = log
        .iter()
        .find(|e| {
            e.changes
                .iter()
                .any(|c| c.new == serde_json::json!({"grade": "A"}))
        })
        .expect("the grade export");
    assert_eq!(grade_export.actor_login.as_deref(), Some("a1"));
    assert_eq!(grade_export.entity, "customers");
    let value = |field: &str| {
        grade_export
            .changes
            .iter()
            .find(|c| c.field == field)
            .map(|c| c.new.clone())
    };
    assert_eq!(value("format"), Some(serde_json::json!("xlsx")));
    assert_eq!(value("rows"), Some(serde_json::json!(1)));
    assert_eq!(value("sort"), Some(serde_json::json!("-created_at")));
}

#[tokio::test]
async fn permission_scope_masking_and_audit_sqlite() {
    permission_scope_masking_and_audit(Kind::Sqlite).await
}

#[tokio::test]
async fn permission_scope_masking_and_audit_postgres() {
    permission_scope_masking_and_audit(Kind::Postgres).await
}

/// More rows than one chunk, in both paging modes of the list (keyset for
/// sorts, offsets for ranked search).
async fn large_exports_visit_every_row_once(kind: Kind) {
    let db = fresh(kind).await.unwrap();
    let n = 2 * export::CHUNK as usize + 345;
    let start = Timestamp::now().millis() - n as i64 * 1000;
    let batch: Vec<NewCustomer> = (0..n)
        .map(|i| NewCustomer {
            fields: input(&format!("客户{i:05}"), "").parse().unwrap(),
            owner: None,
            team: None,
            tags: vec![],
            created_at: Timestamp::from_millis(start + i as i64 * 1000).unwrap(),
            contacts: vec![],
            interactions: vec![],
        })
        .collect();
    bulk::insert(&db, &Actor::system("test"), "export", &batch)
        .await
        .unwrap();
    let all: Vec<String> = (0..n).map(|i| format!("客户{i:05}")).collect();
    let search = Filter {
        q: Some("客户".into()),
        ..Default::default()
    };
    for (f, sort, format) in [
        (Filter::default(), Sort::OldestFirst, Format::Csv),
        (Filter::default(), Sort::OldestFirst, Format::Xlsx),
        (search, Sort::OldestFirst, Format::Csv),
    ] {
        let rows = run(&db, Exporter::System, &f, sort, format).await.unwrap();
        assert_eq!(column(&rows, "姓名"), all, "{f:?} {format:?}");
    }
    let log = audit::list(
        &db,
        &audit::Filter {
            action: Some("export".into()),
            ..Default::default()
        },
        10,
    )
    .await
    .unwrap();
    assert_eq!(log.len(), 3);
    assert!(log
        .iter()
        .all(|e| e.actor_login.as_deref() == Some("system:export") && e.actor_id.is_none()));
}

#[tokio::test]
async fn large_exports_visit_every_row_once_sqlite() {
    large_exports_visit_every_row_once(Kind::Sqlite).await
}

#[tokio::test]
async fn large_exports_visit_every_row_once_postgres() {
    large_exports_visit_every_row_once(Kind::Postgres).await
}
