//! Lists filtered by a tag read the tag's links in the list's order: the
//! same customers in the same order as the whole list with the others left
//! out, page after page, in every sort, through edits, imports, bulk loads
//! and merges, within each user's scope.

use kehu_domain::customer::CustomerInput;
use kehu_domain::duplicate::Choices;
use kehu_domain::import::{map_headers, ImportKind, ImportedRow};
use kehu_domain::role::Principal;
use kehu_store::audit::Actor;
use kehu_store::customers::{self, CustomerWrite, Filter, Sort};
use kehu_store::import::{self, Owner};
use kehu_store::testing::{fresh, user};
use kehu_store::{both, merge, Db, Query};

fn write(name: &str, owner: &Principal, tags: &[&str]) -> CustomerWrite {
    CustomerWrite {
        fields: CustomerInput {
            kind: "person".into(),
            name: name.into(),
            owner_id: owner.user_id.to_string(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
        custom: Default::default(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        consents: Default::default(),
    }
}

fn vip() -> Filter {
    Filter {
        tag: Some("VIP".into()),
        ..Default::default()
    }
}

/// Every page of a list, followed by cursor, three customers a page.
async fn paged(db: &Db, p: &Principal, f: &Filter, sort: Sort) -> Vec<String> {
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = customers::list(db, p, f, sort, 3, cursor.as_deref(), None)
            .await
            .unwrap();
        names.extend(page.items.iter().map(|c| c.fields.name.clone()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return names,
        }
    }
}

/// The whole list in this order with the customers lacking the tag left
/// out: what the tag's list must show.
async fn expected(db: &Db, p: &Principal, sort: Sort) -> Vec<String> {
    customers::list(db, p, &Filter::default(), sort, 1000, None, None)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|c| c.tags.iter().any(|t| t.name == "VIP"))
        .map(|c| c.fields.name)
        .collect()
}

/// Links whose copied sort keys differ from their customer's.
async fn stale_links(db: &Db) -> i64 {
    db.conn()
        .scalar(Query::new(
            "SELECT COUNT(*) FROM customer_tags ct JOIN customers c ON c.id = ct.customer_id \
             WHERE ct.created_at <> c.created_at OR ct.updated_at <> c.updated_at \
             OR ct.name_pinyin <> c.name_pinyin",
        ))
        .await
        .unwrap()
}

async fn check_every_sort(db: &Db, p: &Principal, why: &str) {
    assert_eq!(stale_links(db).await, 0, "{why}: links out of step");
    for sort in Sort::ALL {
        let want = expected(db, p, sort).await;
        assert!(!want.is_empty(), "{why}: no VIP customers to list");
        assert_eq!(paged(db, p, &vip(), sort).await, want, "{why}, {sort:?}");
        let offset = customers::list(db, p, &vip(), sort, 2, None, Some(1))
            .await
            .unwrap();
        let names: Vec<String> = offset.items.into_iter().map(|c| c.fields.name).collect();
        assert_eq!(names, want[1..want.len().min(3)], "{why}, {sort:?} from 1");
        let counted = customers::count(db, p, &vip()).await.unwrap();
        assert_eq!(counted, want.len() as i64, "{why}: count");
        let upto = customers::count_upto(db, p, &vip(), 2).await.unwrap();
        assert_eq!(upto, want.len().min(2) as i64, "{why}: count up to 2");
    }
}

both!(tag_lists_follow_the_list_order, |kind| async move {
    let db = fresh(kind).await.unwrap();
    let admin = user(&db, "admin", "admin", "").await.principal();
    let alice = user(&db, "alice", "agent", "").await.principal();
    let names = [
        "张伟", "李娜", "王芳", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴昊",
    ];
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let owner = if i % 3 == 0 { &alice } else { &admin };
        let tags: &[&str] = if i % 2 == 0 {
            &["VIP", "老客户"]
        } else {
            &[]
        };
        let c = customers::create(&db, Some(&admin), write(name, owner, tags))
            .await
            .unwrap();
        ids.push(c.id);
    }
    // Newer customers without the tag, which a walk in list order would
    // have to pass before reaching the tagged ones.
    for i in 0..12 {
        customers::create(&db, Some(&admin), write(&format!("新客{i}"), &admin, &[]))
            .await
            .unwrap();
    }
    check_every_sort(&db, &admin, "created").await;
    check_every_sort(&db, &alice, "alice's scope").await;

    // A rename moves the customer in the name order; an edit to the top of
    // "recently updated".
    let renamed = customers::update(&db, &admin, &ids[4], write("阿杰", &admin, &["VIP"]))
        .await
        .unwrap();
    assert_eq!(renamed.fields.name, "阿杰");
    let first = customers::list(&db, &admin, &vip(), Sort::Name, 1, None, None)
        .await
        .unwrap();
    assert_eq!(first.items[0].fields.name, "阿杰", "阿 (a) sorts first");
    let newest = customers::list(&db, &admin, &vip(), Sort::RecentlyUpdated, 1, None, None)
        .await
        .unwrap();
    assert_eq!(newest.items[0].id, ids[4]);
    check_every_sort(&db, &admin, "edited").await;

    // A tag given by an import, to a customer that exists and to a new one.
    let headers: Vec<String> = ["姓名", "标签"].iter().map(|s| s.to_string()).collect();
    let (cols, _) = map_headers(ImportKind::Customers, &headers);
    let rows = [
        ImportedRow::from_record(&cols, &["李娜", "VIP"]),
        ImportedRow::from_record(&cols, &["孙丽", "VIP"]),
    ];
    let owner = Owner {
        user: Some(admin.user_id.clone()),
        team: None,
    };
    import::apply(&db, &Actor::system("test"), None, &owner, &rows, false)
        .await
        .unwrap();
    let tagged = expected(&db, &admin, Sort::Name).await;
    assert!(tagged.contains(&"李娜".to_string()) && tagged.contains(&"孙丽".to_string()));
    check_every_sort(&db, &admin, "imported").await;

    // A merge moves the merged customer's tags to the survivor, which keeps
    // its own place in every order.
    merge::merge(&db, &admin, &ids[1], &ids[2], &Choices::new())
        .await
        .unwrap();
    let survivor = customers::get(&db, &admin, &ids[1]).await.unwrap();
    assert!(survivor.tags.iter().any(|t| t.name == "VIP"));
    check_every_sort(&db, &admin, "merged").await;

    // Deleted customers leave the tag's list.
    customers::delete(&db, &admin, &ids[0]).await.unwrap();
    let left = expected(&db, &admin, Sort::NewestFirst).await;
    assert!(!left.contains(&names[0].to_string()));
    check_every_sort(&db, &admin, "deleted").await;
});
