//! The recycle bin on SQLite and PostgreSQL: deleted customers can be
//! restored for 30 days and are then purged for good, their audit trail kept.

use kehu_domain::customer::{ContactInput, CustomerInput, CustomerKind};
use kehu_domain::ids::CustomerId;
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use kehu_store::auth::{self, NewUser};
use kehu_store::customers::{self, CustomerWrite};
use kehu_store::interactions::{self, InteractionInput};
use kehu_store::testing::{fresh, Kind};
use kehu_store::{audit, contacts, Db, Error, Query};
use std::collections::BTreeSet;

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

async fn count(db: &Db, sql: &str, arg: &str) -> i64 {
    db.conn().scalar(Query::new(sql).bind(arg)).await.unwrap()
}

async fn set_deleted_at(db: &Db, id: &CustomerId, at: Timestamp) {
    let n = db
        .conn()
        .execute(
            Query::new("UPDATE customers SET deleted_at = $1 WHERE id = $2")
                .bind(at)
                .bind(id),
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
}

async fn purge_keeps_recent_and_audit(kind: Kind) {
    let db = fresh(kind).await.unwrap();
    let p = admin(&db).await;
    let mut org = write("旧公司");
    org.fields.kind = CustomerKind::Organization;
    let old = customers::create(&db, Some(&p), org).await.unwrap();
    let recent = customers::create(&db, Some(&p), write("新删除"))
        .await
        .unwrap();
    let borderline = customers::create(&db, Some(&p), write("快到期"))
        .await
        .unwrap();
    // Referred by the one that will be purged.
    let mut referred = write("在用客户");
    referred.fields.referred_by = Some(old.id.clone());
    let live = customers::create(&db, Some(&p), referred).await.unwrap();
    // Things hanging off the old customer.
    let contact = contacts::create(
        &db,
        &p,
        &old.id,
        ContactInput {
            name: "李经理".into(),
            mobile: "13912345678".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    interactions::create(
        &db,
        &p,
        &old.id,
        &InteractionInput {
            kind: "call".into(),
            body: "回访".into(),
            contact_id: contact.id.to_string(),
            occurred_at: String::new(),
        },
    )
    .await
    .unwrap();

    for c in [&old, &recent, &borderline] {
        customers::delete(&db, &p, &c.id).await.unwrap();
    }
    let now = Timestamp::now();
    let hour = 3_600_000;
    set_deleted_at(&db, &old.id, now.minus_days(31)).await;
    set_deleted_at(&db, &recent.id, now.minus_days(29)).await;
    set_deleted_at(
        &db,
        &borderline.id,
        Timestamp::from_millis(now.minus_days(30).millis() + hour).unwrap(),
    )
    .await;

    assert_eq!(customers::purge_expired(&db, now).await.unwrap(), 1);
    assert_eq!(
        customers::purge_expired(&db, now).await.unwrap(),
        0,
        "purging twice does nothing more"
    );
    let old_id = old.id.to_string();
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM customers WHERE id <> $1",
            &old_id
        )
        .await,
        3,
        "only the old one went"
    );
    for table in ["contacts", "interactions", "customer_tags"] {
        assert_eq!(
            count(
                &db,
                &format!("SELECT COUNT(*) FROM {table} WHERE customer_id = $1"),
                &old_id
            )
            .await,
            0,
            "{table} of the purged customer"
        );
    }
    // The tag itself is not the customer's to take along.
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM tags WHERE name = $1", "VIP").await,
        1
    );
    let still = customers::get(&db, &p, &live.id).await.unwrap();
    assert_eq!(still.fields.referred_by, None, "the referral is cleared");
    // The recent ones can still be restored; the old one is gone.
    customers::restore(&db, &p, &recent.id).await.unwrap();
    customers::restore(&db, &p, &borderline.id).await.unwrap();
    assert!(matches!(
        customers::restore(&db, &p, &old.id).await,
        Err(Error::NotFound)
    ));

    // The audit trail outlives the customer.
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
    let actions: BTreeSet<(&str, &str)> = trail
        .iter()
        .map(|a| (a.entity.as_str(), a.action.as_str()))
        .collect();
    for want in [
        ("customer", "create"),
        ("contact", "create"),
        ("interaction", "create"),
        ("customer", "delete"),
        ("customer", "purge"),
    ] {
        assert!(actions.contains(&want), "{want:?} in {actions:?}");
    }
    assert_eq!(trail[0].action, "purge", "newest first");
    assert_eq!(trail[0].actor_login.as_deref(), Some("system:purge"));
}

#[tokio::test]
async fn purge_sqlite() {
    purge_keeps_recent_and_audit(Kind::Sqlite).await
}

#[tokio::test]
async fn purge_postgres() {
    purge_keeps_recent_and_audit(Kind::Postgres).await
}
