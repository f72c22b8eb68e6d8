//! Duplicate customers on SQLite and PostgreSQL: detection when creating
//! (each reason, within scope, never against deleted or merged customers),
//! the review list (paging, scope, dismissal), and merging (every row of
//! both records kept, field choices applied, the merged id hidden but
//! answering with the survivor, permissions, bad input).

use kehu_domain::customer::{
    ConsentChannel, ConsentStatus, ContactInput, CustomerInput, CustomerKind,
};
use kehu_domain::duplicate::{parse_choices, Choices, DuplicateReason};
use kehu_domain::ids::CustomerId;
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use kehu_store::auth::{self, NewUser};
use kehu_store::customers::{self, Customer, CustomerWrite, Filter, Sort};
use kehu_store::duplicates::{self, Group};
use kehu_store::fields::{self, FieldInput};
use kehu_store::interactions::{self, InteractionInput};
use kehu_store::merge::{self, CHILD_TABLES};
use kehu_store::testing::fresh;
use kehu_store::{audit, both, contacts, timeline, Db, Error, Query};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

async fn user(db: &Db, login: &str, role: &str, team: &str) -> Principal {
    auth::create_user(
        db,
        None,
        &NewUser {
            login: login.into(),
            name: login.into(),
            role: role.into(),
            team: team.into(),
            password: "a-long-enough-password".into(),
        },
    )
    .await
    .unwrap()
    .principal()
}

/// A person with these fields (`name`, then pairs like `("mobile", "...")`).
fn person(name: &str, more: &[(&str, &str)]) -> CustomerInput {
    let mut i = CustomerInput {
        kind: "person".into(),
        name: name.into(),
        ..Default::default()
    };
    for (k, v) in more {
        let v = v.to_string();
        match *k {
            "kind" => i.kind = v,
            "mobile" => i.mobile = v,
            "email" => i.email = v,
            "company" => i.company = v,
            "city" => i.city = v,
            "address" => i.address = v,
            "owner_id" => i.owner_id = v,
            "referred_by" => i.referred_by = v,
            other => panic!("no field {other} in these tests"),
        }
    }
    i
}

fn org(name: &str, more: &[(&str, &str)]) -> CustomerInput {
    let mut more = more.to_vec();
    more.push(("kind", "organization"));
    person(name, &more)
}

fn write(input: CustomerInput) -> CustomerWrite {
    CustomerWrite {
        fields: input.parse().unwrap(),
        custom: Default::default(),
        tags: vec![],
        consents: Default::default(),
    }
}

async fn add(db: &Db, p: &Principal, input: CustomerInput) -> Customer {
    customers::create(db, Some(p), write(input)).await.unwrap()
}

/// What creating with the duplicate check answers: the reasons by matching
/// customer name, or `None` when it created the customer.
async fn check(
    db: &Db,
    p: &Principal,
    input: CustomerInput,
) -> Option<BTreeMap<String, Vec<DuplicateReason>>> {
    match customers::create_unless_duplicate(db, p, write(input)).await {
        Ok(_) => None,
        Err(Error::Duplicate(list)) => {
            Some(list.into_iter().map(|m| (m.name, m.reasons)).collect())
        }
        Err(e) => panic!("creating: {e}"),
    }
}

fn reasons(list: &[(&str, &[DuplicateReason])]) -> Option<BTreeMap<String, Vec<DuplicateReason>>> {
    Some(
        list.iter()
            .map(|(n, r)| (n.to_string(), r.to_vec()))
            .collect(),
    )
}

async fn count(db: &Db, sql: &str) -> i64 {
    db.conn().scalar(Query::new(sql)).await.unwrap()
}

fn choices(list: &[(&str, &str)]) -> Choices {
    parse_choices(list.iter().copied()).unwrap()
}

// ------------------------------------------------------------ detection

both!(detection_on_create, |kind| async move {
    use DuplicateReason::{Email, Mobile, Name};
    let db = fresh(kind).await.unwrap();
    let admin = user(&db, "admin", "admin", "").await;
    let li = user(&db, "li", "agent", "一部").await;
    let wang = user(&db, "wang", "agent", "一部").await;
    add(
        &db,
        &li,
        person(
            "张伟",
            &[
                ("mobile", "13812345678"),
                ("email", "zw@example.com"),
                ("company", "华为"),
            ],
        ),
    )
    .await;
    add(&db, &li, org("阿里巴巴", &[])).await;
    let before = count(&db, "SELECT COUNT(*) FROM customers").await;

    assert_eq!(
        check(
            &db,
            &li,
            person("张 伟", &[("mobile", "+86 138 1234 5678")])
        )
        .await,
        reasons(&[("张伟", &[Mobile])])
    );
    assert_eq!(
        check(
            &db,
            &li,
            person("Zhang Wei", &[("email", "ZW@example.com")])
        )
        .await,
        reasons(&[("张伟", &[Email])])
    );
    assert_eq!(
        check(&db, &li, person("张伟", &[("company", "华为")])).await,
        reasons(&[("张伟", &[Name])])
    );
    assert_eq!(
        check(&db, &li, org("阿里巴巴", &[])).await,
        reasons(&[("阿里巴巴", &[Name])])
    );
    assert_eq!(
        check(
            &db,
            &li,
            person(
                "张伟",
                &[
                    ("mobile", "13812345678"),
                    ("email", "zw@example.com"),
                    ("company", "华为")
                ]
            )
        )
        .await,
        reasons(&[("张伟", &[Mobile, Email, Name])]),
        "one match with every reason"
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM customers").await,
        before,
        "nothing written"
    );

    // Not duplicates: a namesake without a company or elsewhere, a person
    // named like an organisation.
    assert_eq!(check(&db, &li, person("张伟", &[])).await, None);
    assert_eq!(
        check(&db, &li, person("张伟", &[("company", "腾讯")])).await,
        None
    );
    assert_eq!(check(&db, &li, person("阿里巴巴", &[])).await, None);

    // Only customers the creator may see count.
    assert_eq!(
        check(&db, &wang, person("王五", &[("mobile", "13812345678")])).await,
        None
    );
    assert!(
        check(&db, &admin, person("王五", &[("mobile", "13812345678")]))
            .await
            .is_some()
    );

    // Deleted and merged customers are not live.
    let gone = add(&db, &admin, person("赵六", &[("mobile", "13900000001")])).await;
    customers::delete(&db, &admin, &gone.id).await.unwrap();
    assert_eq!(
        check(&db, &admin, person("赵六", &[("mobile", "13900000001")])).await,
        None
    );
    let keep = add(
        &db,
        &admin,
        person(
            "孙七",
            &[("mobile", "13900000002"), ("email", "sun@example.com")],
        ),
    )
    .await;
    let merged = add(&db, &admin, person("孙七", &[("mobile", "13900000003")])).await;
    merge::merge(&db, &admin, &keep.id, &merged.id, &Choices::new())
        .await
        .unwrap();
    assert_eq!(
        check(&db, &admin, person("孙小七", &[("mobile", "13900000003")])).await,
        None
    );
    assert_eq!(
        check(&db, &admin, person("孙小七", &[("mobile", "13900000002")])).await,
        reasons(&[("孙七", &[Mobile])])
    );
});

// ------------------------------------------------------------ review list

/// Every group of the review list, page by page: (reason, key, names).
async fn all_groups(
    db: &Db,
    p: &Principal,
    limit: i64,
) -> Vec<(DuplicateReason, String, Vec<String>)> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let page = duplicates::review(db, p, limit, cursor.as_deref())
            .await
            .unwrap();
        assert!(page.items.len() as i64 <= limit);
        out.extend(page.items.iter().map(|g: &Group| {
            (
                g.reason,
                g.key.clone(),
                g.customers.iter().map(|c| c.fields.name.clone()).collect(),
            )
        }));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
    panic!("the pages do not end");
}

both!(review_list_pages_scope_and_dismissals, |kind| async move {
    use DuplicateReason::{Email, Mobile, Name};
    let db = fresh(kind).await.unwrap();
    let admin = user(&db, "admin", "admin", "").await;
    let manager = user(&db, "mgr", "manager", "一部").await;
    let a1 = user(&db, "a1", "agent", "一部").await;
    let b1 = user(&db, "b1", "agent", "二部").await;
    let (a, b) = (a1.user_id.to_string(), b1.user_id.to_string());
    let mut by_name: BTreeMap<String, CustomerId> = BTreeMap::new();
    for (name, owner, mobile, email, company, is_org) in [
        ("甲1", &a, "13800000001", "", "", false),
        ("甲2", &a, "13800000001", "", "", false),
        ("乙1", &a, "13800000002", "", "", false),
        ("乙2", &b, "13800000002", "", "", false),
        ("丙1", &b, "13800000003", "", "", false),
        ("丙2", &b, "13800000003", "", "", false),
        ("丁1", &a, "13800000004", "", "", false),
        ("丁2", &a, "13800000004", "", "", false),
        ("丁3", &a, "13800000004", "", "", false),
        ("戊1", &a, "13800000005", "", "", false),
        ("戊2", &a, "13800000005", "", "", false),
        ("邮1", &a, "", "same@example.com", "", false),
        ("邮2", &a, "", "same@example.com", "", false),
        ("李雷", &a, "", "", "腾讯", false),
        ("李雷", &a, "", "", "腾讯", false),
        ("李雷", &a, "", "", "百度", false),
        ("小米", &a, "", "", "", true),
        ("小米", &a, "", "", "", true),
    ] {
        let mut more = vec![("owner_id", owner.as_str())];
        for (k, v) in [("mobile", mobile), ("email", email), ("company", company)] {
            if !v.is_empty() {
                more.push((k, v));
            }
        }
        let input = if is_org {
            org(name, &more)
        } else {
            person(name, &more)
        };
        let c = add(&db, &admin, input).await;
        by_name.insert(name.to_string(), c.id);
    }
    customers::delete(&db, &admin, &by_name["戊2"])
        .await
        .unwrap();
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let want = vec![
        (Mobile, "13800000001".to_string(), names(&["甲1", "甲2"])),
        (Mobile, "13800000002".to_string(), names(&["乙1", "乙2"])),
        (Mobile, "13800000003".to_string(), names(&["丙1", "丙2"])),
        (
            Mobile,
            "13800000004".to_string(),
            names(&["丁1", "丁2", "丁3"]),
        ),
        (
            Email,
            "same@example.com".to_string(),
            names(&["邮1", "邮2"]),
        ),
        (Name, "李雷 · 腾讯".to_string(), names(&["李雷", "李雷"])),
        (Name, "小米".to_string(), names(&["小米", "小米"])),
    ];
    for limit in [1, 2, 3, 50] {
        assert_eq!(
            all_groups(&db, &admin, limit).await,
            want,
            "pages of {limit}"
        );
    }
    // The manager sees the groups within the team only.
    let team: Vec<String> = all_groups(&db, &manager, 2)
        .await
        .into_iter()
        .map(|g| g.1)
        .collect();
    assert_eq!(
        team,
        [
            "13800000001",
            "13800000004",
            "same@example.com",
            "李雷 · 腾讯",
            "小米"
        ]
    );
    assert!(matches!(
        duplicates::review(&db, &a1, 10, None).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        duplicates::review(&db, &admin, 10, Some("not-a-cursor")).await,
        Err(Error::BadQuery(_))
    ));

    // Dismissed pairs leave the list; a group keeps its other pairs.
    duplicates::dismiss(&db, &admin, &by_name["甲2"], &by_name["甲1"])
        .await
        .unwrap();
    duplicates::dismiss(&db, &admin, &by_name["甲1"], &by_name["甲2"])
        .await
        .unwrap();
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'not_duplicate'"
        )
        .await,
        2,
        "one entry on each customer, once"
    );
    let mut rows = db
        .conn()
        .fetch_all::<(String,)>(Query::new(
            "SELECT customer_id FROM audit_log WHERE action = 'not_duplicate'",
        ))
        .await
        .unwrap();
    rows.sort();
    let mut pair = vec![by_name["甲1"].to_string(), by_name["甲2"].to_string()];
    pair.sort();
    assert_eq!(rows.into_iter().map(|r| r.0).collect::<Vec<_>>(), pair);
    let (d1, d2, d3) = (
        by_name["丁1"].clone(),
        by_name["丁2"].clone(),
        by_name["丁3"].clone(),
    );
    duplicates::dismiss(&db, &manager, &d1, &d2).await.unwrap();
    let page = duplicates::review(&db, &admin, 50, None).await.unwrap();
    let keys: Vec<&str> = page.items.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "13800000002",
            "13800000003",
            "13800000004",
            "same@example.com",
            "李雷 · 腾讯",
            "小米"
        ]
    );
    let ding = &page.items[2];
    assert_eq!(ding.size, 3);
    assert_eq!(ding.customers.len(), 3);
    assert_eq!(
        ding.pairs,
        vec![(d1.clone(), d3.clone()), (d2.clone(), d3.clone())]
    );
    duplicates::dismiss(&db, &manager, &d1, &d3).await.unwrap();
    let page = duplicates::review(&db, &admin, 50, None).await.unwrap();
    let ding = &page.items[2];
    assert_eq!(ding.pairs, vec![(d2.clone(), d3.clone())]);
    let shown: Vec<&CustomerId> = ding.customers.iter().map(|c| &c.id).collect();
    assert_eq!(shown, vec![&d2, &d3], "only customers still in a pair");
    // Fully dismissed groups do not stop a page from filling.
    assert_eq!(
        duplicates::review(&db, &admin, 1, None)
            .await
            .unwrap()
            .items[0]
            .key,
        "13800000002"
    );

    // Who may dismiss what.
    let (c1, c2) = (by_name["丙1"].clone(), by_name["丙2"].clone());
    assert!(matches!(
        duplicates::dismiss(&db, &manager, &c1, &c2).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        duplicates::dismiss(&db, &a1, &d2, &d3).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        duplicates::dismiss(&db, &admin, &c1, &c1).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        duplicates::dismiss(&db, &admin, &c1, &CustomerId::new()).await,
        Err(Error::NotFound)
    ));
});

// ------------------------------------------------------------ merge

/// Rows per child table (and in all) that belong to either customer.
async fn child_rows(db: &Db, ids: &[&CustomerId]) -> BTreeMap<&'static str, i64> {
    let mut out = BTreeMap::new();
    for c in CHILD_TABLES {
        let mut q = Query::new(format!(
            "SELECT COUNT(*) FROM {} WHERE customer_id IN ",
            c.table
        ));
        q.push_list(ids.iter().copied());
        out.insert(c.table, db.conn().scalar(q).await.unwrap());
    }
    out
}

async fn audit_rows(db: &Db, ids: &[&CustomerId]) -> i64 {
    let mut q = Query::new("SELECT COUNT(*) FROM audit_log WHERE customer_id IN ");
    q.push_list(ids.iter().copied());
    db.conn().scalar(q).await.unwrap()
}

async fn note(db: &Db, p: &Principal, id: &CustomerId, body: &str, contact: &str) {
    interactions::create(
        db,
        p,
        id,
        &InteractionInput {
            kind: "call".into(),
            body: body.into(),
            contact_id: contact.into(),
            occurred_at: String::new(),
        },
    )
    .await
    .unwrap();
}

async fn contact(db: &Db, p: &Principal, id: &CustomerId, name: &str) -> String {
    let f = ContactInput {
        name: name.into(),
        ..Default::default()
    };
    contacts::create(db, p, id, f.parse().unwrap())
        .await
        .unwrap()
        .id
        .to_string()
}

fn field(db: &str) -> FieldInput {
    FieldInput {
        key: db.into(),
        label: db.into(),
        kind: "text".into(),
        active: true,
        ..Default::default()
    }
}

async fn names_found(db: &Db, p: &Principal, q: &str) -> BTreeSet<String> {
    let f = Filter {
        q: Some(q.into()),
        ..Default::default()
    };
    customers::list(db, p, &f, Sort::Name, 100, None, None)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.fields.name)
        .collect()
}

both!(merge_keeps_everything_of_both, |kind| async move {
    use ConsentChannel::{Email, Phone, Sms};
    use ConsentStatus::{Granted, Withdrawn};
    let db = fresh(kind).await.unwrap();
    let p = user(&db, "admin", "admin", "").await;
    for key in ["industry", "level"] {
        fields::create(&db, &p, &field(key)).await.unwrap();
    }
    let referrer = add(&db, &p, person("介绍人", &[])).await;
    let mut m = write(org(
        "华为技术有限公司",
        &[
            ("mobile", "13900000001"),
            ("email", "m@huawei.example"),
            ("address", "坂田"),
        ],
    ));
    m.fields.referred_by = Some(referrer.id.clone());
    m.tags = vec!["VIP".into(), "老客户".into()];
    m.consents = [(Sms, Withdrawn), (Phone, Granted)].into_iter().collect();
    m.custom = json!({"industry": "电子", "level": "A"})
        .as_object()
        .unwrap()
        .clone();
    let m = customers::create(&db, Some(&p), m).await.unwrap();
    let mut s = write(org(
        "华为技术",
        &[
            ("mobile", "13800000001"),
            ("email", "s@huawei.example"),
            ("city", "深圳"),
        ],
    ));
    s.fields.referred_by = Some(m.id.clone());
    s.tags = vec!["VIP".into(), "大客户".into()];
    s.consents = [(Sms, Granted), (Email, Granted)].into_iter().collect();
    s.custom = json!({"industry": "通信"}).as_object().unwrap().clone();
    let s = customers::create(&db, Some(&p), s).await.unwrap();
    let k1 = add(&db, &p, person("客一", &[("referred_by", m.id.as_str())])).await;
    let k2 = add(&db, &p, person("客二", &[("referred_by", m.id.as_str())])).await;
    let sc = contact(&db, &p, &s.id, "周经理").await;
    let mc1 = contact(&db, &p, &m.id, "吴总监").await;
    contact(&db, &p, &m.id, "郑采购").await;
    note(&db, &p, &s.id, "S 一", &sc).await;
    note(&db, &p, &s.id, "S 二", "").await;
    note(&db, &p, &m.id, "M 一", &mc1).await;
    note(&db, &p, &m.id, "M 二", "").await;
    note(&db, &p, &m.id, "M 三", "").await;
    customers::reveal_mobile(&db, &p, &m.id).await.unwrap();

    let both = [&s.id, &m.id];
    let rows_before = child_rows(&db, &both).await;
    let audit_before = audit_rows(&db, &both).await;
    assert_eq!(rows_before["contacts"], 3);
    assert_eq!(rows_before["interactions"], 5);

    let after = merge::merge(
        &db,
        &p,
        &s.id,
        &m.id,
        &choices(&[("name", "merged"), ("custom.industry", "merged")]),
    )
    .await
    .unwrap();

    // Field choices, defaults and unions.
    let f = &after.fields;
    assert_eq!(f.name, "华为技术有限公司", "chosen from the merged record");
    assert_eq!(
        f.mobile.as_ref().unwrap().as_str(),
        "13800000001",
        "the survivor's by default"
    );
    assert_eq!(f.email.as_deref(), Some("s@huawei.example"));
    assert_eq!(f.city.as_deref(), Some("深圳"));
    assert_eq!(
        f.address.as_deref(),
        Some("坂田"),
        "a blank takes the other's value"
    );
    assert_eq!(f.referred_by, None, "a referral by itself is cleared");
    let tags: BTreeSet<&str> = after.tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tags, BTreeSet::from(["VIP", "大客户", "老客户"]));
    let want: BTreeMap<_, _> = [(Sms, Withdrawn), (Email, Granted), (Phone, Granted)]
        .into_iter()
        .collect();
    assert_eq!(after.consents, want, "a withdrawal wins");
    assert_eq!(
        after.custom,
        *json!({"industry": "电子", "level": "A"})
            .as_object()
            .unwrap()
    );

    // Every row is kept; the survivor has every contact and interaction.
    assert_eq!(child_rows(&db, &both).await, rows_before);
    assert_eq!(child_rows(&db, &[&s.id]).await["contacts"], 3);
    assert_eq!(contacts::list(&db, &p, &s.id).await.unwrap().len(), 3);
    assert_eq!(
        interactions::list(&db, &p, &s.id, 100).await.unwrap().len(),
        5
    );
    for k in [&k1, &k2] {
        assert_eq!(
            customers::get(&db, &p, &k.id)
                .await
                .unwrap()
                .fields
                .referred_by
                .as_ref(),
            Some(&s.id)
        );
    }
    let referrals: Vec<CustomerId> = customers::referrals(&db, &p, &s.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(referrals, vec![k1.id.clone(), k2.id.clone()]);

    // Audit: nothing lost, the merge recorded on both, the survivor's
    // timeline shows the merged record's history.
    assert_eq!(audit_rows(&db, &both).await, audit_before + 2);
    let trail = audit::list(
        &db,
        &audit::Filter {
            customer_id: Some(s.id.clone()),
            ..Default::default()
        },
        500,
    )
    .await
    .unwrap();
    assert_eq!(trail.len() as i64, audit_before + 2);
    let entry = trail
        .iter()
        .find(|a| a.action == "merge" && a.entity_id == s.id.as_str())
        .unwrap();
    let change = |name: &str| {
        entry
            .changes
            .iter()
            .find(|c| c.field == name)
            .unwrap_or_else(|| panic!("{name} in {entry:?}"))
            .new
            .clone()
    };
    assert_eq!(change("merged_id"), json!(m.id));
    assert_eq!(change("choices")["name"], "merged");
    assert_eq!(change("choices")["city"], "survivor");
    assert_eq!(change("moved")["interactions"], 3);
    assert_eq!(change("moved")["referrals"], 2);
    assert_eq!(change("name"), json!("华为技术有限公司"));
    let on_merged = trail
        .iter()
        .find(|a| a.action == "merge" && a.entity_id == m.id.as_str())
        .unwrap();
    assert_eq!(on_merged.changes[0].new, json!(s.id));
    let k1_trail = audit::list(
        &db,
        &audit::Filter {
            customer_id: Some(k1.id.clone()),
            ..Default::default()
        },
        50,
    )
    .await
    .unwrap();
    assert_eq!(k1_trail[0].changes[0].field, "referred_by");
    let items = timeline::for_customer(&db, &p, &s.id, 500).await.unwrap();
    let json = serde_json::to_string(&items).unwrap();
    for seen in ["M 三", "吴总监", "reveal", m.id.as_str()] {
        assert!(json.contains(seen), "{seen} on the survivor's timeline");
    }

    // The merged id is out of lists and search, and answers with the survivor.
    let all = customers::list(&db, &p, &Filter::default(), Sort::Name, 100, None, None)
        .await
        .unwrap();
    assert!(all.items.iter().all(|c| c.id != m.id));
    assert_eq!(
        names_found(&db, &p, "华为").await,
        BTreeSet::from(["华为技术有限公司".to_string()])
    );
    assert!(names_found(&db, &p, "13900000001").await.is_empty());
    assert!(names_found(&db, &p, "m@huawei.example").await.is_empty());
    assert_eq!(
        names_found(&db, &p, "郑采购").await,
        BTreeSet::from(["华为技术有限公司".to_string()]),
        "moved contacts are searchable"
    );
    match customers::get(&db, &p, &m.id).await {
        Err(Error::Merged(into)) => assert_eq!(into, s.id),
        other => panic!("merged id: {other:?}"),
    }
    let bin = Filter {
        deleted: true,
        ..Default::default()
    };
    assert!(customers::list(&db, &p, &bin, Sort::Name, 100, None, None)
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(matches!(
        customers::restore(&db, &p, &m.id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        merge::merge(&db, &p, &s.id, &m.id, &Choices::new()).await,
        Err(Error::Invalid(_))
    ));

    // A chain: what merges into the survivor later follows it.
    let third = add(&db, &p, org("华为", &[])).await;
    merge::merge(&db, &p, &third.id, &s.id, &Choices::new())
        .await
        .unwrap();
    match customers::get(&db, &p, &m.id).await {
        Err(Error::Merged(into)) => assert_eq!(into, third.id),
        other => panic!("merged twice: {other:?}"),
    }
    assert_eq!(
        interactions::list(&db, &p, &third.id, 100)
            .await
            .unwrap()
            .len(),
        5
    );

    // Purging the survivor takes the records merged into it.
    customers::delete(&db, &p, &third.id).await.unwrap();
    db.conn()
        .execute(
            Query::new("UPDATE customers SET deleted_at = $1 WHERE id = $2")
                .bind(Timestamp::now().minus_days(40))
                .bind(&third.id),
        )
        .await
        .unwrap();
    assert_eq!(
        customers::purge_expired(&db, Timestamp::now())
            .await
            .unwrap(),
        1
    );
    let mut q = Query::new("SELECT COUNT(*) FROM customers WHERE id IN ");
    q.push_list([&s.id, &m.id, &third.id]);
    assert_eq!(db.conn().scalar(q).await.unwrap(), 0);
});

both!(merge_permissions_and_bad_input, |kind| async move {
    let db = fresh(kind).await.unwrap();
    let li = user(&db, "li", "agent", "一部").await;
    let wang = user(&db, "wang", "agent", "一部").await;
    let mgr = user(&db, "mgr", "manager", "一部").await;
    let ro = user(&db, "ro", "read_only", "").await;
    let l1 = add(&db, &li, person("李一", &[("mobile", "13800000001")])).await;
    let l2 = add(&db, &li, person("李一", &[("mobile", "13800000001")])).await;
    let w1 = add(&db, &wang, person("王一", &[])).await;
    let none = Choices::new();
    let try_merge = |by: Principal, a: CustomerId, b: CustomerId| {
        let db = db.clone();
        async move { merge::merge(&db, &by, &a, &b, &Choices::new()).await }
    };

    assert!(matches!(
        try_merge(ro.clone(), l1.id.clone(), l2.id.clone()).await,
        Err(Error::Forbidden)
    ));
    let field_error = |r: Result<Customer, Error>, field: &str| match r {
        Err(Error::Invalid(e)) => assert!(e.get(field).is_some(), "{field} in {e}"),
        other => panic!("expected an error on {field}: {other:?}"),
    };
    field_error(
        try_merge(li.clone(), l1.id.clone(), w1.id.clone()).await,
        "merged_id",
    );
    assert!(matches!(
        try_merge(li.clone(), w1.id.clone(), l1.id.clone()).await,
        Err(Error::NotFound)
    ));
    field_error(
        try_merge(li.clone(), l1.id.clone(), l1.id.clone()).await,
        "merged_id",
    );
    field_error(
        try_merge(li.clone(), l1.id.clone(), CustomerId::new()).await,
        "merged_id",
    );
    assert!(matches!(
        try_merge(li.clone(), CustomerId::new(), l1.id.clone()).await,
        Err(Error::NotFound)
    ));
    // Nothing changed by the refusals.
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM customers WHERE merged_into IS NOT NULL"
        )
        .await,
        0
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM audit_log WHERE action = 'merge'").await,
        0
    );

    // An organisation with contacts stays one.
    let o1 = add(&db, &mgr, org("某公司", &[])).await;
    let p1 = add(&db, &mgr, person("某公司", &[])).await;
    contact(&db, &mgr, &o1.id, "联系人").await;
    field_error(
        merge::merge(&db, &mgr, &p1.id, &o1.id, &none).await,
        "choices.kind",
    );
    let kept = merge::merge(&db, &mgr, &p1.id, &o1.id, &choices(&[("kind", "merged")]))
        .await
        .unwrap();
    assert_eq!(kept.fields.kind, CustomerKind::Organization);

    // A manager may merge within the team; the owner can come from either.
    let merged = merge::merge(
        &db,
        &mgr,
        &w1.id,
        &l2.id,
        &choices(&[("owner_id", "merged"), ("name", "merged")]),
    )
    .await
    .unwrap();
    assert_eq!(merged.fields.owner_id.as_ref(), Some(&li.user_id));
    assert_eq!(merged.fields.name, "李一");
    assert!(customers::get(&db, &li, &w1.id).await.is_ok(), "now li's");
    assert!(
        matches!(
            customers::get(&db, &wang, &l2.id).await,
            Err(Error::NotFound)
        ),
        "no survivor named outside scope"
    );

    // Two merges of one record at once: one goes ahead, the other finds it gone.
    let x = add(&db, &mgr, person("重复", &[])).await;
    let y = add(&db, &mgr, person("重复", &[])).await;
    let z = add(&db, &mgr, person("重复", &[])).await;
    let (first, second) = tokio::join!(
        merge::merge(&db, &mgr, &x.id, &z.id, &none),
        merge::merge(&db, &mgr, &y.id, &z.id, &none)
    );
    let outcomes = [first.is_ok(), second.is_ok()];
    assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1, "{outcomes:?}");
    for r in [first, second].into_iter().filter(Result::is_err) {
        field_error(r, "merged_id");
    }
});
