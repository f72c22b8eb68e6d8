//! The recycle bin on SQLite and PostgreSQL: deleted customers can be
//! restored for 30 days and are then purged for good, their audit trail kept.

use kehu_domain::customer::CustomerInput;
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use kehu_store::auth::{self, NewUser};
use kehu_store::customers::{self, CustomerWrite};
use kehu_store::testing::{fresh, Kind};
use kehu_store::{audit, Db, Query};

async fn admin(db: &Db) -> Principal {
    auth::create_user(
        db,
        None,
        &NewUser {
            login: "admin".into(),
            name: "管理员".into(),
            role: "admin".into(),
            team: String::new(),
            password: "admin-password-1".into(),
        },
    )
    .await
    .unwrap()
    .principal()
}

fn write(name: &str) -> CustomerWrite {
    let fields = CustomerInput {
        kind: "person".into(),
        name: name.into(),
        ..Default::default()
    }
    .parse()
    .unwrap();
    CustomerWrite {
        fields,
        custom: Default::default(),
        tags: vec!["VIP".into()],
        consents: Default::default(),
    }
}

async fn purge_keeps_recent_and_audit(kind: Kind) {
    let db = fresh(kind).await.unwrap();
    let p = admin(&db).await;
    let old = customers::create(&db, Some(&p), write("旧客户"))
        .await
        .unwrap();
    let recent = customers::create(&db, Some(&p), write("新删除"))
        .await
        .unwrap();
    let live = customers::create(&db, Some(&p), write("在用客户"))
        .await
        .unwrap();
    customers::delete(&db, &p, &old.id).await.unwrap();
    customers::delete(&db, &p, &recent.id).await.unwrap();
    let now = Timestamp::now();
    db.conn()
        .execute(
            Query::new("UPDATE customers SET deleted_at = $1 WHERE id = $2")
                .bind(now.minus_days(31))
                .bind(&old.id),
        )
        .await
        .unwrap();
    db.conn()
        .execute(
            Query::new("UPDATE customers SET deleted_at = $1 WHERE id = $2")
                .bind(now.minus_days(29))
                .bind(&recent.id),
        )
        .await
        .unwrap();

    assert_eq!(customers::purge_expired(&db, now).await.unwrap(), 1);
    assert_eq!(
        customers::purge_expired(&db, now).await.unwrap(),
        0,
        "purging twice does nothing more"
    );
    let left = db
        .conn()
        .scalar(Query::new("SELECT COUNT(*) FROM customers"))
        .await
        .unwrap();
    assert_eq!(left, 2);
    // The recent one can still be restored; the old one is gone.
    customers::restore(&db, &p, &recent.id).await.unwrap();
    assert!(customers::restore(&db, &p, &old.id).await.is_err());
    assert!(customers::get(&db, &p, &live.id).await.is_ok());
    let trail = audit::list(
        &db,
        &audit::Filter {
            customer_id: Some(old.id.clone()),
            ..Default::default()
        },
        50,
    )
    .await
    .unwrap();
    let actions: Vec<&str> = trail.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, vec!["purge", "delete", "create"]);
}

#[tokio::test]
async fn purge_sqlite() {
    purge_keeps_recent_and_audit(Kind::Sqlite).await
}

#[tokio::test]
async fn purge_postgres() {
    purge_keeps_recent_and_audit(Kind::Postgres).await
}
