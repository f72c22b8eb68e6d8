//! Loading the holiday calendar replaces whole years, on both databases.

use chrono::{DateTime, NaiveDate, Utc};
use kehu_domain::business_time::{parse_calendar, DayKind};
use kehu_store::audit::Actor;
use kehu_store::calendar;
use kehu_store::testing::{fresh, Kind};

async fn replaces_years(kind: Kind) {
    let db = fresh(kind).await.unwrap();
    let actor = Actor::system("test");
    let first =
        parse_calendar("date,kind\n2025-10-01,休\n2025-10-02,休\n2025-09-28,班\n2026-01-01,休\n")
            .unwrap();
    assert_eq!(
        calendar::import(&db, &actor, &first).await.unwrap(),
        vec![2025, 2026]
    );
    // A corrected 2025 replaces 2025 only.
    let fix = parse_calendar("2025-10-01,休\n2025-10-08,休\n").unwrap();
    calendar::import(&db, &actor, &fix).await.unwrap();
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    assert_eq!(
        calendar::days(&db).await.unwrap(),
        vec![
            (d("2025-10-01"), DayKind::Holiday),
            (d("2025-10-08"), DayKind::Holiday),
            (d("2026-01-01"), DayKind::Holiday)
        ]
    );
    let cal = calendar::load(&db, chrono_tz::Asia::Shanghai)
        .await
        .unwrap();
    // New Year's Day 2026 is a Thursday holiday: 17:00 on 31 Dec + 2 h → Friday 10:00.
    let start: DateTime<Utc> = DateTime::parse_from_rfc3339("2025-12-31T17:00:00+08:00")
        .unwrap()
        .into();
    let due: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-01-02T10:00:00+08:00")
        .unwrap()
        .into();
    assert_eq!(cal.due(start, 7200, &[]), Some(due));
}

#[tokio::test]
async fn calendar_sqlite() {
    replaces_years(Kind::Sqlite).await
}

#[tokio::test]
async fn calendar_postgres() {
    replaces_years(Kind::Postgres).await
}
