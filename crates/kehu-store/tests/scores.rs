//! The scores recompute on both databases: grades, tiers and lifecycle
//! classes of a small base worked out by hand, profit after discounts,
//! the manual override that survives recomputes and is audited, monthly
//! figures and the dashboard within a viewer's scope.

use chrono::{DateTime, NaiveDate, Utc};
use kehu_domain::customer::Grade;
use kehu_domain::ids::CustomerId;
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use kehu_domain::value::{Lifecycle, Tier};
use kehu_models::TimeUnit;
use kehu_store::audit::Actor;
use kehu_store::customers::{self, CustomerWrite};
use kehu_store::dashboard::{self, Filter};
use kehu_store::testing::{self, fresh};
use kehu_store::{both, scores, Db, Query};

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;
const AS_OF: &str = "2026-11-30";

fn as_of() -> NaiveDate {
    AS_OF.parse().unwrap()
}

/// Noon (Shanghai) `days` before the observation day.
fn days_before(days: i64) -> i64 {
    let noon = DateTime::parse_from_rfc3339("2026-11-30T12:00:00+08:00")
        .unwrap()
        .with_timezone(&Utc);
    Timestamp::from(noon - chrono::Duration::days(days)).millis()
}

async fn customer(db: &Db, by: &Principal, name: &str, mobile: &str) -> CustomerId {
    kehu_store::testing::person(db, by, name, mobile).await
}

async fn order(db: &Db, c: &CustomerId, days: i64, yuan: i64, discount_yuan: i64) {
    db.conn()
        .execute(
            Query::new(
                "INSERT INTO orders (id, customer_id, ordered_at, amount_fen, discount_fen, quantity, created_at) \
                 VALUES ($1, $2, $3, $4, $5, 1, $3)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(c)
            .bind(days_before(days))
            .bind(yuan * 100)
            .bind(discount_yuan * 100),
        )
        .await
        .unwrap();
}

/// Backdates a customer's creation.
async fn created(db: &Db, c: &CustomerId, days: i64) {
    db.conn()
        .execute(
            Query::new("UPDATE customers SET created_at = $1 WHERE id = $2")
                .bind(days_before(days))
                .bind(c),
        )
        .await
        .unwrap();
}

async fn grade(db: &Db, c: &CustomerId) -> Option<String> {
    let row: (Option<String>,) = db
        .conn()
        .fetch_one(Query::new("SELECT grade FROM customers WHERE id = $1").bind(c))
        .await
        .unwrap();
    row.0
}

both!(
    recompute_grades_classifies_and_explains,
    |kind| async move {
        let db = fresh(kind).await.unwrap();
        let admin = testing::user(&db, "boss", "admin", "总部")
            .await
            .principal();
        let agent = testing::user(&db, "a1", "agent", "一组").await.principal();
        // X: the best on every dimension (5 purchases of ¥600 with ¥100
        // off each, a referral, the oldest).
        let x = customer(&db, &admin, "张伟", "13800000001").await;
        created(&db, &x, 400).await;
        for d in [300, 200, 100, 50, 5] {
            order(&db, &x, d, 600, 100).await;
        }
        // W: spent ¥1,000 in the earlier half of the year, ¥100 lately.
        let w = customer(&db, &admin, "李娜", "13800000002").await;
        created(&db, &w, 300).await;
        order(&db, &w, 250, 1000, 0).await;
        order(&db, &w, 10, 100, 0).await;
        // Y: one purchase 200 days ago and silence since.
        let y = customer(&db, &admin, "王芳", "13800000003").await;
        created(&db, &y, 210).await;
        order(&db, &y, 200, 80, 0).await;
        // Z: new today, nothing bought; referred by X; owned by the agent.
        let z = customer(&db, &agent, "刘洋", "13800000004").await;
        db.conn()
            .execute(
                Query::new("UPDATE customers SET referred_by = $1 WHERE id = $2")
                    .bind(&x)
                    .bind(&z),
            )
            .await
            .unwrap();

        let actor = Actor::system("test");
        let run = scores::recompute(&db, &actor, as_of(), TimeUnit::Week, ZONE)
            .await
            .unwrap();
        assert_eq!(run.customers, 4);
        assert_eq!(run.orders, 8);
        assert_eq!(run.buyers, 3);
        // 40% of 4 customers, rounded up.
        assert_eq!(run.key_customers, 2);

        let sx = scores::for_customer(&db, &admin, &x)
            .await
            .unwrap()
            .unwrap();
        // Three of four customers below X on every dimension: 75 points.
        assert!((sx.score - 75.0).abs() < 1e-9, "{}", sx.score);
        assert_eq!(sx.computed_grade, Grade::A);
        assert_eq!(sx.tier, Tier::Key);
        assert_eq!(sx.lifecycle, Lifecycle::Value);
        assert_eq!(sx.parts.len(), 5);
        let sum: f64 = sx.parts.iter().map(|p| p.points).sum();
        assert!((sum - sx.score).abs() < 1e-6);
        // Revenue is the list value; discounts are a cost of serving.
        assert_eq!(sx.money.revenue_fen, 5 * 70_000);
        assert_eq!(sx.money.discount_fen, 5 * 10_000);
        assert_eq!(sx.profit_fen, 5 * 60_000);
        assert_eq!(sx.facts.referrals, 1);
        assert_eq!(sx.facts.transactions, 5);
        assert_eq!(sx.rfm.as_deref().map(|r| r.len()), Some(3));
        assert_eq!(grade(&db, &x).await.as_deref(), Some("A"));

        let sw = scores::for_customer(&db, &admin, &w)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(sw.lifecycle, Lifecycle::Migrating);
        assert!(sw.rule.explain(kehu_domain::Lang::ZhCn).contains("下降"));
        let sy = scores::for_customer(&db, &admin, &y)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(sy.lifecycle, Lifecycle::Frozen);
        let sz = scores::for_customer(&db, &admin, &z)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(sz.lifecycle, Lifecycle::Potential);
        assert_eq!(sz.tier, Tier::General);
        assert_eq!(sz.computed_grade, Grade::C);
        assert!(sz.rfm.is_none());

        // A manual grade wins over the data until cleared, with its reason
        // in the audit log.
        scores::override_grade(&db, &admin, &y, Some(Grade::A), "老朋友，关系深")
            .await
            .unwrap();
        assert_eq!(grade(&db, &y).await.as_deref(), Some("A"));
        let again = scores::recompute(&db, &actor, as_of(), TimeUnit::Week, ZONE)
            .await
            .unwrap();
        assert_eq!(again.grades_changed, 0);
        assert_eq!(grade(&db, &y).await.as_deref(), Some("A"));
        let sy = scores::for_customer(&db, &admin, &y)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(sy.grade, Some(Grade::A));
        assert_ne!(sy.computed_grade, Grade::A);
        assert_eq!(sy.override_reason.as_deref(), Some("老朋友，关系深"));
        let audited: i64 = db
            .conn()
            .scalar(
                Query::new(
                    "SELECT COUNT(*) FROM audit_log WHERE action = 'customer.grade_override' \
                     AND customer_id = $1 AND changes LIKE '%老朋友%'",
                )
                .bind(&y),
            )
            .await
            .unwrap();
        assert_eq!(audited, 1);
        scores::override_grade(&db, &admin, &y, None, "")
            .await
            .unwrap();
        assert_eq!(
            grade(&db, &y).await.as_deref(),
            Some(sy.computed_grade.code())
        );
        // An agent cannot change a customer out of their scope.
        assert!(
            scores::override_grade(&db, &agent, &x, Some(Grade::C), "试试")
                .await
                .is_err()
        );

        // The dashboard: every customer for the admin, the agent's own.
        let d = dashboard::read(&db, &admin, &Filter::default())
            .await
            .unwrap();
        assert_eq!(d.as_of, Some(as_of()));
        assert_eq!(d.customers, 4);
        let graded: i64 = d.grades.iter().map(|g| g.key + g.general).sum();
        assert_eq!(graded, 4);
        for l in &d.lifecycle {
            assert_eq!(l.customers, 1, "{l:?}");
        }
        let revenue: i64 = d.months.iter().map(|m| m.revenue_fen).sum();
        assert_eq!(revenue, 5 * 70_000 + 110_000 + 8_000);
        let new: i64 = d.months.iter().map(|m| m.new_buyers).sum();
        assert_eq!(new, 3);
        let repeat: i64 = d.months.iter().map(|m| m.repeat_buyers).sum();
        // X bought again in four later months, W in one.
        assert_eq!(repeat, 5);
        assert_eq!(d.pareto_curve.len(), 101);
        let moved: i64 = d.moves.iter().map(|m| m.customers).sum();
        assert_eq!(moved, 4);
        let mine = dashboard::read(&db, &agent, &Filter::default())
            .await
            .unwrap();
        assert_eq!(mine.customers, 1);
        assert!(mine.months.is_empty());
        // A period without sales shows none.
        let old = Filter {
            to: Some("2020-01-01".parse().unwrap()),
            ..Filter::default()
        };
        assert!(dashboard::read(&db, &admin, &old)
            .await
            .unwrap()
            .months
            .is_empty());
    }
);

both!(
    settings_change_the_grades_and_are_audited,
    |kind| async move {
        let db = fresh(kind).await.unwrap();
        let admin = testing::user(&db, "boss", "admin", "总部")
            .await
            .principal();
        let a = customer(&db, &admin, "赵敏", "13900000001").await;
        let b = customer(&db, &admin, "周杰", "13900000002").await;
        order(&db, &a, 20, 500, 0).await;
        order(&db, &b, 20, 100, 0).await;
        let actor = Actor::system("test");
        scores::recompute(&db, &actor, as_of(), TimeUnit::Week, ZONE)
            .await
            .unwrap();
        // Half of two customers below A on spend and on power, ties on the
        // rest: (35 + 20) × 0.5 = 27.5 points by default weights, so C.
        let sa = scores::for_customer(&db, &admin, &a)
            .await
            .unwrap()
            .unwrap();
        assert!((sa.score - 27.5).abs() < 1e-9, "{}", sa.score);
        assert_eq!(sa.computed_grade, Grade::C);
        // Spend alone decides: A has half the customers below on it → 50.
        let mut s = scores::settings(&db).await.unwrap();
        s.weights = kehu_domain::value::Weights {
            spend: 1,
            purchases: 0,
            referrals: 0,
            age: 0,
            power: 0,
        };
        s.a_min = 50;
        s.b_min = 10;
        scores::save_settings(&db, &Actor::from(&admin), &s)
            .await
            .unwrap();
        let audited = db
            .conn()
            .scalar(Query::new(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'value_settings.update'",
            ))
            .await
            .unwrap();
        assert_eq!(audited, 1);
        let run = scores::recompute(&db, &actor, as_of(), TimeUnit::Week, ZONE)
            .await
            .unwrap();
        assert!(run.grades_changed >= 1);
        let sa = scores::for_customer(&db, &admin, &a)
            .await
            .unwrap()
            .unwrap();
        assert!((sa.score - 50.0).abs() < 1e-9, "{}", sa.score);
        assert_eq!(sa.computed_grade, Grade::A);
        assert_eq!(grade(&db, &a).await.as_deref(), Some("A"));
        // A grade changed in the customer's record is kept by the next
        // recompute, with where it came from.
        let before = customers::get(&db, &admin, &b).await.unwrap();
        let mut fields = before.fields.clone();
        fields.grade = Some(Grade::A);
        customers::update(
            &db,
            &admin,
            &b,
            CustomerWrite {
                fields,
                custom: Default::default(),
                tags: vec![],
                consents: Default::default(),
            },
        )
        .await
        .unwrap();
        scores::recompute(&db, &actor, as_of(), TimeUnit::Week, ZONE)
            .await
            .unwrap();
        assert_eq!(grade(&db, &b).await.as_deref(), Some("A"));
        let sb = scores::for_customer(&db, &admin, &b)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(sb.grade, Some(Grade::A));
        assert_eq!(
            sb.override_reason.as_deref(),
            Some(customers::GRADE_SET_IN_RECORD)
        );
        assert_eq!(sb.computed_grade, Grade::C);
        // One recompute at a time across servers.
        assert!(scores::claim(&db, Timestamp::now()).await.unwrap());
        assert!(!scores::claim(&db, Timestamp::now()).await.unwrap());
        assert!(
            scores::recompute_claimed(&db, &actor, as_of(), TimeUnit::Week, ZONE)
                .await
                .unwrap()
                .is_none()
        );
        scores::release(&db).await.unwrap();
        assert!(
            scores::recompute_claimed(&db, &actor, as_of(), TimeUnit::Week, ZONE)
                .await
                .unwrap()
                .is_some()
        );
    }
);
