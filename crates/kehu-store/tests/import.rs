//! Imported rows match existing customers the same way on both databases.

use kehu_domain::import::{map_headers, ImportedRow};
use kehu_store::audit::Actor;
use kehu_store::import::{apply, Outcome, Owner};
use kehu_store::testing::{fresh, Kind};
use kehu_store::{Db, Query};

fn rows(lines: &[&str]) -> Vec<ImportedRow> {
    let headers: Vec<String> = lines[0].split(',').map(str::to_string).collect();
    let (cols, _) = map_headers(&headers);
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
    assert!(matches!(&out[0], Outcome::Rejected(_)), "{out:?}");
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
