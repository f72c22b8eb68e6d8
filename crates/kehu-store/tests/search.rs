//! The one search box, on SQLite and PostgreSQL: every kind of query the
//! index answers, ranking, scope, and the index kept true through edits,
//! contacts, the recycle bin, a rebuild and a second server.

use kehu_domain::customer::{ContactInput, CustomerInput};
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use kehu_store::auth::{self, NewUser};
use kehu_store::customers::{self, CustomerWrite, Filter, Sort};
use kehu_store::testing::{fresh, fresh_pair};
use kehu_store::{both, contacts, search, Db, Query};
use std::collections::BTreeSet;

async fn user(db: &Db, login: &str, role: &str) -> Principal {
    auth::create_user(
        db,
        None,
        &NewUser {
            login: login.into(),
            name: login.into(),
            role: role.into(),
            team: String::new(),
            password: "a-long-enough-password".into(),
        },
    )
    .await
    .unwrap()
    .principal()
}

fn person(name: &str) -> CustomerInput {
    CustomerInput {
        kind: "person".into(),
        name: name.into(),
        ..Default::default()
    }
}

fn write(input: CustomerInput) -> CustomerWrite {
    CustomerWrite {
        fields: input.parse().unwrap(),
        custom: Default::default(),
        tags: vec![],
        consents: Default::default(),
    }
}

async fn add(db: &Db, p: &Principal, input: CustomerInput) -> customers::Customer {
    customers::create(db, Some(p), write(input)).await.unwrap()
}

/// The names a search finds, in rank order.
async fn ranked(db: &Db, p: &Principal, q: &str) -> Vec<String> {
    let f = Filter {
        q: Some(q.into()),
        ..Default::default()
    };
    customers::list(db, p, &f, Sort::Name, 200, None, None)
        .await
        .unwrap_or_else(|e| panic!("search {q:?}: {e}"))
        .items
        .into_iter()
        .map(|c| c.fields.name)
        .collect()
}

async fn found(db: &Db, p: &Principal, q: &str) -> BTreeSet<String> {
    ranked(db, p, q).await.into_iter().collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A small archive with one customer for each kind of query.
async fn archive(db: &Db, p: &Principal) {
    add(
        db,
        p,
        CustomerInput {
            mobile: "13812345678".into(),
            email: "Zhang.Wei@Example.com".into(),
            company: "杭州华联商贸有限公司".into(),
            ..person("张伟")
        },
    )
    .await;
    add(
        db,
        p,
        CustomerInput {
            mobile: "13900005678".into(),
            ..person("张伟华")
        },
    )
    .await;
    add(db, p, person("欧阳娜娜")).await;
    add(db, p, person("曾小贤")).await;
    add(
        db,
        p,
        CustomerInput {
            email: "li.na@corp.cn".into(),
            ..person("李娜")
        },
    )
    .await;
    add(
        db,
        p,
        CustomerInput {
            email: "20261234@qq.com".into(),
            ..person("马丽")
        },
    )
    .await;
}

both!(every_kind_of_query, |kind| async move {
    let db = fresh(kind).await.unwrap();
    let p = user(&db, "admin", "admin").await;
    archive(&db, &p).await;
    let cases: &[(&str, &[&str])] = &[
        // Chinese fragments of two characters, anywhere in the name.
        ("张伟", &["张伟", "张伟华"]),
        ("伟华", &["张伟华"]),
        ("阳娜", &["欧阳娜娜"]),
        // One character: a surname.
        ("张", &["张伟", "张伟华"]),
        ("娜", &[]),
        // Company fragments.
        ("华联", &["张伟"]),
        ("商贸有限", &["张伟"]),
        // Pinyin in full and initials, any case, compound and polyphonic
        // surnames.
        ("zhangwei", &["张伟", "张伟华"]),
        ("zw", &["张伟", "张伟华"]),
        ("ZWH", &["张伟华"]),
        ("ouyang", &["欧阳娜娜"]),
        ("oynn", &["欧阳娜娜"]),
        ("zengxiaoxian", &["曾小贤"]),
        // The first letters, as typed: pinyin, initials, e-mail.
        ("z", &["张伟", "张伟华", "曾小贤"]),
        ("Zh", &["张伟", "张伟华"]),
        ("zx", &["曾小贤"]),
        ("zha", &["张伟", "张伟华"]),
        ("l", &["李娜"]),
        ("m", &["马丽"]),
        // Mobile in full, spaced, with the country code, a prefix, or the
        // last four digits.
        ("13812345678", &["张伟"]),
        ("138 1234 5678", &["张伟"]),
        ("+86 138-1234-5678", &["张伟"]),
        ("008613812345678", &["张伟"]),
        ("1381234", &["张伟"]),
        ("5678", &["张伟", "张伟华"]),
        ("５６７８", &["张伟", "张伟华"]),
        // E-mail, by any case and as a prefix.
        ("zhang.wei@example.com", &["张伟"]),
        ("ZHANG.WEI@", &["张伟"]),
        ("li.na", &["李娜"]),
        // An address that starts with digits (a QQ number).
        ("20", &["马丽"]),
        ("20261234", &["马丽"]),
        ("2027", &[]),
        // E-mail domains find a company's people.
        ("corp.cn", &["李娜"]),
        ("@EXAMPLE.com", &["张伟"]),
        // Nothing that is not there.
        ("王芳", &[]),
        ("9999", &[]),
    ];
    for (q, want) in cases {
        assert_eq!(found(&db, &p, q).await, names(want), "search {q:?}");
    }
});

both!(ranked_exact_then_prefix_then_the_rest, |kind| async move {
    let db = fresh(kind).await.unwrap();
    let p = user(&db, "admin", "admin").await;
    for (name, company) in [
        ("大张伟", ""),
        ("张伟华", ""),
        ("张伟", ""),
        ("王芳", "张伟工作室"),
    ] {
        add(
            &db,
            &p,
            CustomerInput {
                company: company.into(),
                ..person(name)
            },
        )
        .await;
    }
    let r = ranked(&db, &p, "张伟").await;
    assert_eq!(r[0], "张伟", "the exact name first: {r:?}");
    assert_eq!(r[1], "张伟华", "then a name that starts so: {r:?}");
    assert_eq!(r.len(), 4);
    // The mobile's owner comes before customers whose numbers merely end so.
    add(
        &db,
        &p,
        CustomerInput {
            mobile: "13700001234".into(),
            ..person("甲")
        },
    )
    .await;
    let r = ranked(&db, &p, "1234").await;
    assert_eq!(r, vec!["甲"]);
});

both!(case_and_width_beyond_ascii, |kind| async move {
    let db = fresh(kind).await.unwrap();
    let p = user(&db, "admin", "admin").await;
    add(
        &db,
        &p,
        CustomerInput {
            kind: "organization".into(),
            name: "ÉCOLE Française".into(),
            company: "Société Générale".into(),
            ..Default::default()
        },
    )
    .await;
    add(&db, &p, person("Hello")).await;
    for q in ["hello", "HELLO", "ｈｅｌｌｏ", "ell"] {
        assert_eq!(found(&db, &p, q).await, names(&["Hello"]), "{q:?}");
    }
    for q in ["école", "ÉCOLE", "française", "société", "GÉNÉRALE"] {
        assert_eq!(
            found(&db, &p, q).await,
            names(&["ÉCOLE Française"]),
            "search {q:?}"
        );
    }
});

both!(wildcards_are_plain_characters, |kind| async move {
    let db = fresh(kind).await.unwrap();
    let p = user(&db, "admin", "admin").await;
    for name in [
        "张伟",
        "李娜",
        "100%满意",
        "a_b 工作室",
        "axb 工作室",
        "%开头",
    ] {
        add(&db, &p, person(name)).await;
    }
    for q in ["%%", "__", "%_%", "\\", "\\%", "'", "' OR 1=1 --"] {
        assert!(found(&db, &p, q).await.is_empty(), "{q:?}");
    }
    assert_eq!(found(&db, &p, "%").await, names(&["%开头"]));
    assert_eq!(found(&db, &p, "0%满").await, names(&["100%满意"]));
    assert_eq!(found(&db, &p, "a_b").await, names(&["a_b 工作室"]));
    assert_eq!(
        found(&db, &p, "工作室").await,
        names(&["a_b 工作室", "axb 工作室"])
    );
});

both!(tags_and_contacts_are_searched, |kind| async move {
    let db = fresh(kind).await.unwrap();
    let p = user(&db, "admin", "admin").await;
    let mut w = write(person("张伟"));
    w.tags = vec!["VIP客户".into()];
    customers::create(&db, Some(&p), w).await.unwrap();
    let org = add(
        &db,
        &p,
        CustomerInput {
            kind: "organization".into(),
            name: "远航科技".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(found(&db, &p, "vip客户").await, names(&["张伟"]));
    let contact = |name: &str, mobile: &str| ContactInput {
        name: name.into(),
        role: "decision_maker".into(),
        mobile: mobile.into(),
        ..Default::default()
    };
    let c = contacts::create(
        &db,
        &p,
        &org.id,
        contact("司马光", "13611112222").parse().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(found(&db, &p, "司马").await, names(&["远航科技"]));
    assert_eq!(found(&db, &p, "1361111").await, names(&["远航科技"]));
    // Renaming the contact moves the index with it; deleting removes it.
    contacts::update(
        &db,
        &p,
        &c.id,
        contact("诸葛亮", "13611112222").parse().unwrap(),
    )
    .await
    .unwrap();
    assert!(found(&db, &p, "司马").await.is_empty());
    assert_eq!(found(&db, &p, "诸葛").await, names(&["远航科技"]));
    contacts::delete(&db, &p, &c.id).await.unwrap();
    assert!(found(&db, &p, "诸葛").await.is_empty());
    assert!(found(&db, &p, "1361111").await.is_empty());
});

both!(edits_scope_and_the_recycle_bin, |kind| async move {
    let db = fresh(kind).await.unwrap();
    let admin = user(&db, "admin", "admin").await;
    let agent = user(&db, "li", "agent").await;
    let mine = add(&db, &agent, person("张伟")).await;
    add(&db, &admin, person("张伟华")).await;
    // An agent finds only their own customers.
    assert_eq!(found(&db, &agent, "张伟").await, names(&["张伟"]));
    assert_eq!(found(&db, &admin, "张伟").await.len(), 2);
    // A renamed customer is found by the new name only.
    let mut w = CustomerWrite::from_customer(&mine);
    w.fields.name = "王芳".into();
    w.fields.company = Some("鼎盛实业".into());
    customers::update(&db, &agent, &mine.id, w).await.unwrap();
    assert!(found(&db, &agent, "张伟").await.is_empty());
    assert_eq!(found(&db, &agent, "鼎盛").await, names(&["王芳"]));
    assert_eq!(found(&db, &agent, "wangfang").await, names(&["王芳"]));
    // In the recycle bin it is not found; purged, its terms go too.
    customers::delete(&db, &admin, &mine.id).await.unwrap();
    assert!(found(&db, &admin, "王芳").await.is_empty());
    let far = Timestamp::from_millis(Timestamp::now().millis() + 40 * 86_400_000).unwrap();
    assert_eq!(customers::purge_expired(&db, far).await.unwrap(), 1);
    let left = db
        .conn()
        .scalar(
            Query::new("SELECT COUNT(*) FROM customer_terms WHERE customer_id = $1").bind(&mine.id),
        )
        .await
        .unwrap();
    assert_eq!(left, 0);
});

both!(rebuild_indexes_what_was_there_before, |kind| async move {
    let db = fresh(kind).await.unwrap();
    let p = user(&db, "admin", "admin").await;
    archive(&db, &p).await;
    // As if the rows had been written before the index existed.
    db.conn()
        .execute(Query::new("DELETE FROM customer_terms"))
        .await
        .unwrap();
    db.conn()
        .execute(Query::new(
            "UPDATE settings SET value = 'rebuild' WHERE key = 'search_index'",
        ))
        .await
        .unwrap();
    assert!(found(&db, &p, "华联").await.is_empty());
    assert_eq!(search::rebuild_if_pending(&db).await.unwrap(), 6);
    assert_eq!(found(&db, &p, "zx").await, names(&["曾小贤"]));
    assert_eq!(found(&db, &p, "华联").await, names(&["张伟"]));
    // Done once: a second call finds nothing to do.
    assert_eq!(search::rebuild_if_pending(&db).await.unwrap(), 0);
});

both!(two_servers_see_one_index, |kind| async move {
    let (one, two) = fresh_pair(kind).await.unwrap();
    let p = user(&one, "admin", "admin").await;
    let c = add(&one, &p, person("欧阳娜娜")).await;
    assert_eq!(found(&two, &p, "阳娜").await, names(&["欧阳娜娜"]));
    let mut w = CustomerWrite::from_customer(&c);
    w.fields.name = "司马光".into();
    customers::update(&two, &p, &c.id, w).await.unwrap();
    assert!(found(&one, &p, "阳娜").await.is_empty());
    assert_eq!(found(&one, &p, "smg").await, names(&["司马光"]));
});

both!(counting_stops_at_the_cap, |kind| async move {
    let db = fresh(kind).await.unwrap();
    let p = user(&db, "admin", "admin").await;
    archive(&db, &p).await;
    let all = Filter::default();
    assert_eq!(customers::count_upto(&db, &p, &all, 3).await.unwrap(), 3);
    assert_eq!(customers::count_upto(&db, &p, &all, 100).await.unwrap(), 6);
    let zhang = Filter {
        q: Some("张伟".into()),
        ..Default::default()
    };
    assert_eq!(
        customers::count_upto(&db, &p, &zhang, 100).await.unwrap(),
        2
    );
    assert_eq!(customers::count(&db, &p, &zhang).await.unwrap(), 2);
});

/// `n` people named `prefix` + a number, added in one batch.
async fn many(db: &Db, prefix: &str, n: usize, owner: &Principal) {
    use kehu_store::audit::Actor;
    use kehu_store::bulk::{self, NewCustomer};
    let batch: Vec<NewCustomer> = (0..n)
        .map(|i| NewCustomer {
            fields: person(&format!("{prefix}{i}")).parse().unwrap(),
            owner: Some(owner.user_id.clone()),
            team: None,
            tags: vec![],
            created_at: Timestamp::now(),
            contacts: vec![],
            interactions: vec![],
        })
        .collect();
    bulk::insert(db, &Actor::system("test"), "test", &batch)
        .await
        .unwrap();
}

both!(broad_searches_rank_a_bounded_reach, |kind| async move {
    let db = fresh(kind).await.unwrap();
    let admin = user(&db, "admin", "admin").await;
    let agent = user(&db, "agent", "agent").await;
    // The oldest customers: an exact match, and the agent's only customer.
    add(&db, &admin, person("欧阳")).await;
    add(&db, &agent, person("欧阳的客户")).await;
    let broad = customers::SEARCH_REACH as usize + 200;
    many(&db, "欧阳", broad, &admin).await;
    let q = Filter {
        q: Some("欧阳".into()),
        ..Default::default()
    };
    // The exact match ranks first although it is older than the reach.
    let page = customers::list(&db, &admin, &q, Sort::NewestFirst, 20, None, None)
        .await
        .unwrap();
    assert_eq!(page.items[0].fields.name, "欧阳");
    assert_eq!(page.items.len(), 20);
    // Then the newest of the rest, in the list's order.
    assert_eq!(page.items[1].fields.name, format!("欧阳{}", broad - 1));
    // A page counts what it can show: the reach, not every match ...
    let shown = customers::count_upto(&db, &admin, &q, 100_000)
        .await
        .unwrap();
    assert!(
        shown > customers::SEARCH_REACH && shown <= 2 * customers::SEARCH_REACH,
        "{shown}"
    );
    // ... while the count and an export hold every match.
    let total = broad as i64 + 2;
    assert_eq!(customers::count(&db, &admin, &q).await.unwrap(), total);
    let mut out = Vec::new();
    let rows = kehu_store::export::customers(
        &db,
        kehu_store::export::Exporter::User(&admin),
        &q,
        Sort::NewestFirst,
        kehu_domain::export::Format::Csv,
        chrono_tz::Asia::Shanghai,
        &mut out,
    )
    .await
    .unwrap();
    assert_eq!(rows as i64, total);
    // The reach is taken within the user's scope: the agent's one old
    // customer is found among a thousand newer ones they cannot see.
    assert_eq!(found(&db, &agent, "欧阳").await, names(&["欧阳的客户"]));
    // So are the first letters of the pinyin and initials (o, oy: terms
    // read newest first), with the exact initials first.
    for q in ["o", "oy", "ouy"] {
        assert_eq!(found(&db, &agent, q).await, names(&["欧阳的客户"]), "{q}");
    }
    let r = ranked(&db, &admin, "oy").await;
    assert_eq!(r[0], "欧阳", "{r:?}");
    assert_eq!(r.len(), 200);
});
