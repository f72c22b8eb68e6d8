//! Exports hold what the exporter may see, as they see it, honour the
//! list's filters and sort, page through any number of rows, and are
//! audited; on both databases.

use kehu_domain::customer::{CustomerInput, Grade};
use kehu_domain::export::{Format, CUSTOMER_COLUMNS};
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use kehu_store::audit::{self, Actor, AuditEntry};
use kehu_store::auth::{self, UserPatch};
use kehu_store::both;
use kehu_store::bulk::{self, NewCustomer};
use kehu_store::customers::{self, CustomerWrite, Filter, Sort};
use kehu_store::export::{self, Exporter};
use kehu_store::testing::{fresh, read_export, user};
use kehu_store::{Db, Error};
use serde_json::{json, Value};

const TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// Allows `p` to export, as `admin`; returns them as they act now.
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

async fn principal(db: &Db, login: &str, role: &str, team: &str) -> Principal {
    user(db, login, role, team).await.principal()
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
    let w = CustomerWrite {
        fields: i.parse().unwrap(),
        custom: Default::default(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        consents: Default::default(),
    };
    customers::create(db, Some(by), w).await.unwrap();
}

/// Exports into memory and reads the file back (header row first).
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

/// What a user's export holds.
async fn rows_for(
    db: &Db,
    p: &Principal,
    f: &Filter,
    sort: Sort,
    format: Format,
) -> Vec<Vec<String>> {
    run(db, Exporter::User(p), f, sort, format).await.unwrap()
}

/// One column of the data rows.
fn column(rows: &[Vec<String>], header: &str) -> Vec<String> {
    let i = CUSTOMER_COLUMNS.iter().position(|h| *h == header).unwrap();
    rows[1..].iter().map(|r| r[i].clone()).collect()
}

async fn exports_in_the_log(db: &Db) -> Vec<AuditEntry> {
    let only = audit::Filter {
        action: Some("export".into()),
        ..Default::default()
    };
    audit::list(db, &only, 100).await.unwrap()
}

fn recorded(e: &AuditEntry, field: &str) -> Value {
    let c = e.changes.iter().find(|c| c.field == field).unwrap();
    c.new.clone()
}

const FORMULA: &str = "=HYPERLINK(\"http://evil\",\"点我\")";

both!(permission_scope_masking_and_audit, |kind| async move {
    let db = fresh(kind).await.unwrap();
    let admin = principal(&db, "admin", "admin", "").await;
    let a1 = principal(&db, "a1", "agent", "A").await;
    let b1 = principal(&db, "b1", "agent", "B").await;
    let fin = principal(&db, "fin", "finance", "").await;
    let ro = principal(&db, "ro", "read_only", "").await;
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
        ..input(FORMULA, "")
    };
    create(&db, &a1, formula, &[]).await;
    create(&db, &b1, input("李娜", "13900001111"), &["VIP"]).await;

    // Without the permission: refused, and nothing is written.
    let everyone = Filter::default();
    for p in [&a1, &fin, &ro] {
        let mut out = vec![];
        let r = export::customers(
            &db,
            Exporter::User(p),
            &everyone,
            Sort::Name,
            Format::Csv,
            TZ,
            &mut out,
        )
        .await;
        assert!(matches!(r, Err(Error::Forbidden)), "{}: {r:?}", p.login);
        assert!(out.is_empty(), "{}", p.login);
    }
    let a1 = grant(&db, &admin, &a1).await;
    let fin = grant(&db, &admin, &fin).await;
    let ro = grant(&db, &admin, &ro).await;

    // An agent exports only their own customers, numbers in full.
    let rows = rows_for(&db, &a1, &everyone, Sort::OldestFirst, Format::Csv).await;
    let fields = [
        ("姓名", ["张伟", &format!("'{FORMULA}")]),
        ("类型", ["个人", "个人"]),
        ("手机", ["13812345678", ""]),
        ("邮箱", ["zw@example.com", ""]),
        ("公司", ["恒达贸易", "'@公司"]),
        ("来源", ["转介绍", ""]),
        ("等级", ["A", ""]),
        ("生日", ["1980-02-29", ""]),
        ("标签", ["VIP、老客户", ""]),
        ("备注", ["", "'-先报价"]),
        ("负责人", ["a1", "a1"]),
        ("团队", ["A", "A"]),
    ];
    for (header, values) in fields {
        assert_eq!(column(&rows, header), values, "{header}");
    }
    let created = &column(&rows, "创建时间")[0];
    assert_eq!(created.len(), "2026-01-01 08:00".len(), "{created}");

    // The list's filters apply: grade, search text, tag.
    let filters = [
        Filter {
            grade: Some(Grade::A),
            ..Default::default()
        },
        Filter {
            q: Some("zw".into()),
            ..Default::default()
        },
    ];
    for (f, format) in filters.iter().zip([Format::Xlsx, Format::Csv]) {
        let rows = rows_for(&db, &a1, f, Sort::default(), format).await;
        assert_eq!(column(&rows, "姓名"), ["张伟"], "{f:?}");
    }
    // Finance and read-only see everyone, numbers masked as in the list.
    let vip = Filter {
        tag: Some("VIP".into()),
        ..Default::default()
    };
    for (p, format) in [(&fin, Format::Xlsx), (&ro, Format::Csv)] {
        let rows = rows_for(&db, p, &vip, Sort::Name, format).await;
        assert_eq!(column(&rows, "姓名"), ["李娜", "张伟"], "{}", p.login);
        let phones = column(&rows, "手机");
        assert_eq!(phones, ["139****1111", "138****5678"], "{}", p.login);
    }
    // Formulas are neutralised in a workbook too.
    let rows = rows_for(&db, &fin, &everyone, Sort::Name, Format::Xlsx).await;
    assert!(column(&rows, "姓名").contains(&format!("'{FORMULA}")));
    // Recycle bin exports stay an admin's.
    let bin = Filter {
        deleted: true,
        ..Default::default()
    };
    let r = run(&db, Exporter::User(&fin), &bin, Sort::Name, Format::Csv).await;
    assert!(matches!(r, Err(Error::Forbidden)), "{r:?}");

    // Every export is in the audit log: who, format, rows, filter, sort.
    let log = exports_in_the_log(&db).await;
    assert_eq!(log.len(), 6, "refused exports are not");
    let by_grade = log
        .iter()
        .find(|e| recorded(e, "filter") == json!({"grade": "A"}))
        .expect("the export by grade");
    assert_eq!(by_grade.actor_login.as_deref(), Some("a1"));
    assert_eq!(by_grade.entity, "customers");
    assert_eq!(recorded(by_grade, "format"), json!("xlsx"));
    assert_eq!(recorded(by_grade, "rows"), json!(1));
    assert_eq!(recorded(by_grade, "sort"), json!("-created_at"));
});

// More rows than one chunk, in both paging modes of the list (keyset for
// sorts, offsets for ranked search).
both!(large_exports_visit_every_row_once, |kind| async move {
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
    for (f, format) in [
        (Filter::default(), Format::Csv),
        (Filter::default(), Format::Xlsx),
        (search, Format::Csv),
    ] {
        let rows = run(&db, Exporter::System, &f, Sort::OldestFirst, format)
            .await
            .unwrap();
        assert_eq!(column(&rows, "姓名"), all, "{f:?} {format:?}");
    }
    let log = exports_in_the_log(&db).await;
    assert_eq!(log.len(), 3);
    for e in &log {
        assert_eq!(e.actor_login.as_deref(), Some("system:export"));
        assert_eq!(e.actor_id, None);
        assert_eq!(recorded(e, "rows"), json!(n));
    }
});
