//! `kehu bench --tickets N`: the service desk at scale. Generates N tickets
//! (a fifth of them open, the rest resolved, over two years) on customers
//! owned by 40 agents in 8 teams, then times the queue views each role uses
//! (mine, my team's, breaching soon), opening one ticket, and the
//! service-level computations (due times over a holiday calendar, a ticket
//! opened with its due times, a pause ended and the clock recomputed).

use anyhow::Result;
use chrono::{Duration as ChronoDuration, NaiveDate};
use kehu_domain::business_time::{Calendar, DayKind};
use kehu_domain::customer::CustomerInput;
use kehu_domain::ids::{new_id, CustomerId, UserId};
use kehu_domain::role::Principal;
use kehu_domain::ticket::{Severity, Status, TicketDraft};
use kehu_domain::time::Timestamp;
use kehu_store::audit::Actor;
use kehu_store::bulk::{self, NewCustomer};
use kehu_store::db::Arg;
use kehu_store::tickets::{self, handling, Clock, ListFilter, Queue};
use kehu_store::{auth, calendar, Db, Query};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};

const TEAMS: usize = 8;
const AGENTS_PER_TEAM: usize = 5;
const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

fn holidays() -> Vec<(NaiveDate, DayKind)> {
    crate::demo_tickets::holidays_2026()
}

async fn user(db: &Db, login: &str, role: &str, team: &str) -> Result<auth::User> {
    Ok(match auth::user_by_login(db, login).await {
        Ok(u) => u,
        Err(_) => {
            auth::create_user(
                db,
                None,
                &auth::NewUser {
                    login: login.into(),
                    name: login.into(),
                    role: role.into(),
                    team: team.into(),
                    password: "bench-password-2026".into(),
                },
            )
            .await?
        }
    })
}

fn ms(times: &mut [Duration], p: f64) -> f64 {
    times.sort();
    if times.is_empty() {
        return 0.0;
    }
    let i = ((times.len() as f64 - 1.0) * p).round() as usize;
    times[i].as_secs_f64() * 1000.0
}

fn row(label: &str, times: &mut [Duration], rows: f64) -> String {
    let n = times.len();
    format!(
        "| {label} | {n} | {:.2} | {:.2} | {:.2} | {rows:.1} |",
        ms(times, 0.5),
        ms(times, 0.95),
        ms(times, 0.99)
    )
}

pub async fn run(db: &Db, n: usize, samples: usize, seed: u64) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let admin = user(db, "bench-admin", "admin", "").await?.principal();
    let mut agents = vec![];
    let mut managers = vec![];
    for t in 0..TEAMS {
        let team = format!("服务{}组", t + 1);
        let m = user(db, &format!("bench-manager-{t}"), "manager", &team).await?;
        for a in 0..AGENTS_PER_TEAM {
            let u = user(db, &format!("bench-agent-{t}-{a}"), "agent", &team).await?;
            db.conn()
                .execute(
                    Query::new("UPDATE users SET manager_id = $1 WHERE id = $2")
                        .bind(&m.id)
                        .bind(&u.id),
                )
                .await?;
            agents.push(u);
        }
        managers.push(m);
    }
    calendar::import(db, &Actor::system("bench"), &holidays()).await?;

    let have = db
        .conn()
        .scalar(Query::new("SELECT COUNT(*) FROM tickets"))
        .await? as usize;
    if have < n {
        generate(db, &mut rng, &agents, n - have).await?;
        db.refresh_statistics().await?;
        for t in ["tickets", "ticket_events"] {
            if db.backend() == kehu_store::db::Backend::Postgres {
                db.conn()
                    .execute(Query::new(format!("ANALYZE {t}")))
                    .await?;
            }
        }
    }
    let total = db
        .conn()
        .scalar(Query::new("SELECT COUNT(*) FROM tickets"))
        .await?;
    let open = db
        .conn()
        .scalar(Query::new(
            "SELECT COUNT(*) FROM tickets WHERE resolved_at IS NULL",
        ))
        .await?;
    println!();
    println!(
        "{total} tickets ({open} open) on customers of {} agents in {TEAMS} teams",
        agents.len()
    );
    println!();
    println!("| query | runs | p50 ms | p95 ms | p99 ms | rows |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let now = Timestamp::now();
    let queue = |p: &Principal, q: Queue| {
        let f = ListFilter {
            queue: q,
            limit: 50,
            ..Default::default()
        };
        let (db, p) = (db.clone(), p.clone());
        async move {
            let t = Instant::now();
            let rows = tickets::list(&db, &p, &f, now).await?.len();
            Ok::<_, anyhow::Error>((t.elapsed(), rows))
        }
    };
    for (label, who, q) in [
        ("mine (agent)", "agent", Queue::Mine),
        ("my team's (manager)", "manager", Queue::Team),
        ("breaching soon (manager)", "manager", Queue::BreachingSoon),
        (
            "breaching soon (admin, all teams)",
            "admin",
            Queue::BreachingSoon,
        ),
        ("all open (admin)", "admin", Queue::Open),
    ] {
        let mut times = vec![];
        let mut rows = 0;
        for _ in 0..samples {
            let p = match who {
                "agent" => agents[rng.random_range(0..agents.len())].principal(),
                "manager" => managers[rng.random_range(0..managers.len())].principal(),
                _ => admin.clone(),
            };
            let (d, r) = queue(&p, q.clone()).await?;
            times.push(d);
            rows += r;
        }
        println!("{}", row(label, &mut times, rows as f64 / samples as f64));
    }

    // Opening one ticket by id (the page's main read).
    let ids: Vec<(String,)> = db
        .conn()
        .fetch_all(Query::new(
            "SELECT id FROM tickets WHERE resolved_at IS NULL ORDER BY id LIMIT 2000",
        ))
        .await?;
    let mut times = vec![];
    for _ in 0..samples {
        let id: kehu_domain::ids::TicketId = ids[rng.random_range(0..ids.len())]
            .0
            .parse()
            .map_err(anyhow::Error::msg)?;
        let t = Instant::now();
        tickets::get(db, &admin, &id, now).await?;
        times.push(t.elapsed());
    }
    println!("{}", row("one ticket by id", &mut times, 1.0));

    // Service-level computations.
    let cal = Calendar::new(ZONE).with_days(holidays());
    let mut times = vec![];
    let base = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00+08:00")?
        .with_timezone(&chrono::Utc);
    for _ in 0..samples * 10 {
        let start = base + ChronoDuration::minutes(rng.random_range(0..365 * 1440));
        let sev = Severity::ALL[rng.random_range(0..4)].default_target();
        let t = Instant::now();
        let due = cal.due(start, sev.resolution_minutes * 60, &[]);
        times.push(t.elapsed());
        std::hint::black_box(due);
    }
    times.sort();
    let us = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e6;
    println!(
        "| due time over the holiday calendar, in memory | {} | {:.1} µs | {:.1} µs | {:.1} µs | 1.0 |",
        times.len(),
        us(0.5),
        us(0.95),
        us(0.99)
    );

    let customers: Vec<(String,)> = db
        .conn()
        .fetch_all(
            Query::new("SELECT id FROM customers WHERE owner_id = $1 LIMIT 50").bind(&agents[0].id),
        )
        .await?;
    let me = agents[0].principal();
    let mut create_times = vec![];
    let mut resume_times = vec![];
    for i in 0..samples {
        let c: CustomerId = customers[i % customers.len()]
            .0
            .parse()
            .map_err(anyhow::Error::msg)?;
        let draft = TicketDraft {
            subject: "基准测试工单".into(),
            description: "送货延迟".into(),
            purpose: "criticism".into(),
            severity: Severity::ALL[i % 4].code().into(),
            channel: "phone".into(),
            ..Default::default()
        }
        .check()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let clock = Clock::new(Timestamp::now(), ZONE);
        let t = Instant::now();
        let ticket = tickets::create(db, &me, &c, &draft, None, &clock).await?;
        create_times.push(t.elapsed());
        handling::set_status(db, &me, &ticket.id, Status::Waiting, "", &clock).await?;
        let t = Instant::now();
        handling::set_status(
            db,
            &me,
            &ticket.id,
            Status::Open,
            "",
            &Clock::new(Timestamp::now(), ZONE),
        )
        .await?;
        resume_times.push(t.elapsed());
    }
    println!(
        "{}",
        row(
            "open a ticket (due times, insert, audit)",
            &mut create_times,
            1.0
        )
    );
    println!(
        "{}",
        row("end a pause (due times recomputed)", &mut resume_times, 1.0)
    );

    // The service insight page over the last 90 days, as an admin sees it.
    let f = kehu_store::service_insight::Filter {
        from: now.minus_days(90),
        to: now,
        team_id: None,
        assignee_id: None,
    };
    let mut times = vec![];
    let mut rows = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let i = kehu_store::service_insight::insight(db, &admin, &f, ZONE, now).await?;
        times.push(t.elapsed());
        rows = i.sla.tickets;
    }
    println!(
        "{}",
        row(
            "service insight, last 90 days (admin; rows = tickets)",
            &mut times,
            rows as f64
        )
    );
    Ok(())
}

/// Customers for the agents (one per 10 tickets) and the tickets on them.
async fn generate(db: &Db, rng: &mut StdRng, agents: &[auth::User], n: usize) -> Result<()> {
    let started = Instant::now();
    let n_customers = (n / 10).max(100);
    let mut owners: Vec<(CustomerId, UserId, Option<kehu_domain::ids::TeamId>)> =
        Vec::with_capacity(n_customers);
    let actor = Actor::system("bench");
    for chunk in (0..n_customers).collect::<Vec<_>>().chunks(2000) {
        let batch: Vec<NewCustomer> = chunk
            .iter()
            .map(|i| {
                let a = &agents[i % agents.len()];
                NewCustomer {
                    fields: CustomerInput {
                        kind: "person".into(),
                        name: format!("工单客户{i}"),
                        ..Default::default()
                    }
                    .parse()
                    .expect("valid"),
                    owner: Some(a.id.clone()),
                    team: a.team_id.clone(),
                    tags: vec![],
                    created_at: Timestamp::now(),
                    contacts: vec![],
                    interactions: vec![],
                }
            })
            .collect();
        let ids = bulk::insert(db, &actor, "bench tickets", &batch).await?;
        for (id, c) in ids.into_iter().zip(batch) {
            owners.push((id, c.owner.expect("owned"), c.team));
        }
    }
    let cal = Calendar::new(ZONE).with_days(holidays());
    let now = Timestamp::now().millis();
    let two_years = 730 * 86_400_000i64;
    let start_number = db
        .conn()
        .scalar(Query::new(
            "SELECT value FROM counters WHERE name = 'tickets'",
        ))
        .await?;
    let mut number = start_number;
    let categories = [
        "产品质量",
        "服务态度",
        "物流配送",
        "安装维修",
        "价格收费",
        "咨询建议",
    ];
    let mut done = 0;
    while done < n {
        let k = (n - done).min(20_000);
        let mut rows: Vec<Vec<Arg>> = Vec::with_capacity(k);
        for _ in 0..k {
            number += 1;
            let (cid, owner, team) = &owners[rng.random_range(0..owners.len())];
            let open = rng.random_bool(0.2);
            // Open tickets are recent (the last ten days), others spread
            // over two years.
            let created = if open {
                now - rng.random_range(0..10 * 86_400_000i64)
            } else {
                now - rng.random_range(0..two_years)
            };
            let sev = Severity::ALL[rng.random_range(0..4)];
            let target = sev.default_target();
            let start = Timestamp::from_millis(created).expect("in range").utc();
            let fr = cal
                .due(start, target.first_response_minutes * 60, &[])
                .map(|d| d.timestamp_millis());
            let res = cal
                .due(start, target.resolution_minutes * 60, &[])
                .map(|d| d.timestamp_millis());
            let responded = (!open || rng.random_bool(0.6))
                .then(|| created + rng.random_range(600_000..36_000_000i64));
            let resolved = (!open).then(|| created + rng.random_range(3_600_000..400_000_000i64));
            let waiting = open && rng.random_bool(0.1);
            let next = if open && !waiting {
                [fr.filter(|_| responded.is_none()), res]
                    .into_iter()
                    .flatten()
                    .min()
            } else {
                None
            };
            let status = match (open, waiting, responded) {
                (false, _, _) => "resolved",
                (true, true, _) => "waiting",
                (true, false, Some(_)) => "open",
                (true, false, None) => "new",
            };
            rows.push(vec![
                Arg::from(new_id()),
                Arg::from(number),
                Arg::from(cid),
                Arg::from("complaint"),
                Arg::from(format!("工单 {number}")),
                Arg::from("客户反映产品问题，需要处理"),
                Arg::from("phone"),
                Arg::from(categories[rng.random_range(0..categories.len())]),
                Arg::from(sev.code()),
                Arg::from("criticism"),
                Arg::from("lscpa"),
                Arg::from(status),
                Arg::from(owner),
                Arg::from(team.as_ref()),
                Arg::from(created),
                Arg::from(created),
                Arg::from(target.first_response_minutes),
                Arg::from(target.resolution_minutes),
                Arg::from(fr),
                Arg::from(res),
                Arg::from(next),
                Arg::from(responded),
                Arg::from(resolved),
                Arg::from(waiting.then_some(created + 3_600_000)),
            ]);
        }
        let mut tx = db.begin().await?;
        tx.insert_rows(
            "INSERT INTO tickets (id, number, customer_id, kind, subject, description, channel, category, severity, purpose, \
             method, status, assignee_id, team_id, created_at, updated_at, first_response_minutes, resolution_minutes, \
             first_response_due_at, resolution_due_at, next_due_at, first_responded_at, resolved_at, paused_at)",
            "",
            rows,
        )
        .await?;
        tx.execute(
            Query::new("UPDATE counters SET value = $1 WHERE name = 'tickets'").bind(number),
        )
        .await?;
        tx.commit().await?;
        done += k;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "generated {n} tickets on {n_customers} customers in {secs:.1} s ({:.0} tickets/s)",
        n as f64 / secs
    );
    Ok(())
}
