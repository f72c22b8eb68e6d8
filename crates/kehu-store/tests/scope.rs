//! The list query's scope (SQL) and the record checks (`Principal::can_read`)
//! must agree for every role, team and owner, on both databases.

use kehu_domain::customer::CustomerInput;
use kehu_domain::role::Principal;
use kehu_store::audit::Actor;
use kehu_store::bulk::{self, NewCustomer};
use kehu_store::customers::{self, Filter, Sort};
use kehu_store::testing::{self, fresh, Kind};
use std::collections::BTreeSet;

async fn agree(kind: Kind) {
    let db = fresh(kind).await.unwrap();
    let specs = [
        ("owner", "owner", ""),
        ("admin", "admin", ""),
        ("ma", "manager", "A"),
        ("m-lone", "manager", ""),
        ("a1", "agent", "A"),
        ("a2", "agent", "A"),
        ("b1", "agent", "B"),
        ("lone", "agent", ""),
        ("fin", "finance", "B"),
        ("ro", "read_only", "A"),
    ];
    let mut users = vec![];
    for (login, role, team) in specs {
        let u = testing::user(&db, login, role, team).await;
        users.push(u);
    }
    // Customers owned by each user (in the owner's team), plus unowned ones.
    let mut batch = vec![];
    for owner in users.iter().map(Some).chain([None, None]) {
        let fields = CustomerInput {
            kind: "person".into(),
            name: "客户".into(),
            ..Default::default()
        }
        .parse()
        .unwrap();
        batch.push(NewCustomer {
            fields,
            owner: owner.map(|u| u.id.clone()),
            team: owner.and_then(|u| u.team_id.clone()),
            tags: vec![],
            created_at: kehu_domain::time::Timestamp::now(),
            contacts: vec![],
            interactions: vec![],
        });
    }
    bulk::insert(&db, &Actor::system("test"), "scope", &batch)
        .await
        .unwrap();
    let admin: Principal = users[1].principal();
    let all = customers::list(
        &db,
        &admin,
        &Filter::default(),
        Sort::default(),
        200,
        None,
        None,
    )
    .await
    .unwrap()
    .items;
    assert_eq!(all.len(), batch.len());
    for u in &users {
        let p = u.principal();
        let listed: BTreeSet<String> = customers::list(
            &db,
            &p,
            &Filter::default(),
            Sort::default(),
            200,
            None,
            None,
        )
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| c.id.to_string())
        .collect();
        let allowed: BTreeSet<String> = all
            .iter()
            .filter(|c| p.can_read(&c.placement()))
            .map(|c| c.id.to_string())
            .collect();
        assert_eq!(listed, allowed, "{} ({:?})", u.login, u.role);
        assert_eq!(
            customers::count(&db, &p, &Filter::default()).await.unwrap() as usize,
            allowed.len()
        );
        for c in &all {
            assert_eq!(
                customers::get(&db, &p, &c.id).await.is_ok(),
                allowed.contains(&c.id.to_string()),
                "{} reading {}",
                u.login,
                c.id
            );
        }
    }
}

#[tokio::test]
async fn scope_agrees_sqlite() {
    agree(Kind::Sqlite).await
}

#[tokio::test]
async fn scope_agrees_postgres() {
    agree(Kind::Postgres).await
}
