//! Names that must mean one thing, on SQLite and PostgreSQL: a login is
//! taken once whatever its case, and a tag name is one tag.

use kehu_domain::role::Principal;
use kehu_domain::Problem;
use kehu_store::audit::{self, Actor};
use kehu_store::auth::{self, NewUser};
use kehu_store::testing::{fresh, Kind};
use kehu_store::{both, tags, Db, Error};

async fn db(kind: Kind) -> Db {
    fresh(kind)
        .await
        .unwrap_or_else(|e| panic!("a fresh {kind:?} database: {e}"))
}

fn new_user(login: &str, role: &str) -> NewUser {
    NewUser {
        login: login.into(),
        name: login.into(),
        role: role.into(),
        team: String::new(),
        password: "a-long-enough-password".into(),
    }
}

async fn admin(db: &Db) -> Principal {
    auth::create_user(db, None, &new_user("admin", "admin"))
        .await
        .unwrap()
        .principal()
}

both!(a_login_is_taken_once, |kind| async move {
    let db = db(kind).await;
    auth::create_user(&db, None, &new_user("li", "agent"))
        .await
        .unwrap();
    for again in ["li", " LI ", "Li"] {
        match auth::create_user(&db, None, &new_user(again, "manager")).await {
            Err(Error::Invalid(fe)) => {
                assert_eq!(fe.get("login"), Some(&Problem::Taken), "{again:?}: {fe}");
                assert_eq!(fe.0.len(), 1);
            }
            other => panic!("{again:?}: expected login taken, got {other:?}"),
        }
    }
    assert_eq!(auth::users(&db).await.unwrap().len(), 1);
    // Through an admin too.
    let p = admin(&db).await;
    match auth::create_user(&db, Some(&p), &new_user("li", "agent")).await {
        Err(Error::Invalid(fe)) => assert_eq!(fe.get("login"), Some(&Problem::Taken)),
        other => panic!("expected login taken, got {other:?}"),
    }
});

both!(ensuring_tags_is_idempotent, |kind| async move {
    let db = db(kind).await;
    let actor = Actor::system("test");
    let names = vec!["VIP".to_string(), "重要客户".to_string()];
    let mut tx = db.begin().await.unwrap();
    let first = tags::ensure(&mut tx, &actor, &names).await.unwrap();
    let again = tags::ensure(&mut tx, &actor, &names).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(first, again, "same tags within a transaction");
    let mut tx = db.begin().await.unwrap();
    let later = tags::ensure(&mut tx, &actor, &names).await.unwrap();
    let doubled = tags::ensure(&mut tx, &actor, &["新".to_string(), "新".to_string()])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(first, later, "same tags in a later transaction");
    assert_eq!(first[0].name, "VIP");
    assert_eq!(first[1].name, "重要客户");
    assert_eq!(doubled[0], doubled[1]);
    let all = tags::all(&db).await.unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
    let created = audit::list(
        &db,
        &audit::Filter {
            entity: Some("tag".into()),
            action: Some("create".into()),
            ..Default::default()
        },
        100,
    )
    .await
    .unwrap();
    assert_eq!(created.len(), 3, "each tag's creation is recorded once");
});
