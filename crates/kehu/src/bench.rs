//! `kehu bench`: measures the data-at-scale paths on generated data in the
//! database it is given: import rows/s from CSV (first run and re-run),
//! export rows/s, peak memory, search latency by kind of query, list-page
//! latency with a filter and a sort, and REST API throughput. Results are
//! printed as Markdown tables.

use crate::demo;
use anyhow::{Context, Result};
use kehu_domain::customer::CustomerKind;
use kehu_domain::export::Format;
use kehu_domain::name::pinyin_keys;
use kehu_domain::role::Principal;
use kehu_store::audit::Actor;
use kehu_store::auth::{self, NewUser};
use kehu_store::customers::{self, Filter, Sort};
use kehu_store::export::{self, Exporter};
use kehu_store::import::Owner;
use kehu_store::{bulk, Db};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::SeedableRng;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// What the generated file holds of one customer, kept for queries.
struct Sampled {
    name: String,
    company: Option<String>,
    mobile: String,
    email: Option<String>,
    tag: Option<String>,
}

const HEADERS: [&str; 8] = [
    "外部编号",
    "姓名",
    "类型",
    "手机",
    "邮箱",
    "公司",
    "城市",
    "标签",
];

/// Writes `n` generated customers as a UTF-8 CSV file with Chinese headers;
/// each has a unique external id and mobile.
fn write_csv(path: &Path, n: usize, seed: u64) -> Result<Vec<Sampled>> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
    w.write_record(HEADERS)?;
    let mut kept = Vec::new();
    for (i, c) in demo::sample(seed).take(n).enumerate() {
        let f = &c.fields;
        let mobile = format!("13{i:09}");
        // Unique e-mails too: a shared one would (rightly) be rejected.
        let email = f
            .email
            .as_deref()
            .and_then(|e| e.split_once('@'))
            .map(|(local, domain)| format!("{local}.{i}@{domain}"));
        w.write_record([
            format!("B{i:08}").as_str(),
            &f.name,
            f.kind.code(),
            &mobile,
            email.as_deref().unwrap_or(""),
            f.company.as_deref().unwrap_or(""),
            f.city.as_deref().unwrap_or(""),
            &c.tags.join(";"),
        ])?;
        // Every 97th customer is a query target.
        if i % 97 == 0 {
            kept.push(Sampled {
                name: f.name.clone(),
                company: f.company.clone(),
                mobile,
                email,
                tag: c.tags.first().cloned(),
            });
        }
    }
    w.flush()?;
    Ok(kept)
}

/// Writes the rows of a CSV file as an .xlsx workbook (rust_xlsxwriter, in
/// constant memory), as another system's Excel export would hold them.
fn csv_to_xlsx(csv_path: &Path, xlsx_path: &Path) -> Result<()> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet_with_constant_memory()?;
    let mut r = csv::Reader::from_path(csv_path)?;
    for (col, h) in HEADERS.iter().enumerate() {
        sheet.write_string(0, col as u16, *h)?;
    }
    for (row, rec) in r.records().enumerate() {
        for (col, cell) in rec?.iter().enumerate() {
            if !cell.is_empty() {
                sheet.write_string(row as u32 + 1, col as u16, cell)?;
            }
        }
    }
    book.save(xlsx_path)?;
    Ok(())
}

/// Peak resident memory of this process so far, in KiB (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Runs `f` for each query and returns the latency row of a table.
async fn timed<F, Fut>(label: &str, queries: &[String], mut f: F) -> Result<String>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<usize>>,
{
    let mut times = Vec::with_capacity(queries.len());
    let mut hits = 0;
    for q in queries {
        let t = Instant::now();
        hits += f(q.clone()).await?;
        times.push(t.elapsed());
    }
    times.sort();
    Ok(format!(
        "| {label} | {} | {:.2} | {:.2} | {:.2} | {:.1} |",
        queries.len(),
        percentile(&times, 0.50),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
        hits as f64 / queries.len().max(1) as f64
    ))
}

async fn admin(db: &Db) -> Result<Principal> {
    let u = match auth::user_by_login(db, "bench").await {
        Ok(u) => u,
        Err(_) => auth::create_user(
            db,
            None,
            &NewUser {
                login: "bench".into(),
                name: "bench".into(),
                role: "admin".into(),
                team: String::new(),
                password: "bench-password-2026".into(),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("creating the bench user: {e}"))?,
    };
    Ok(u.principal())
}

/// Search queries of each kind, taken from the generated customers.
fn query_sets(kept: &[Sampled], per_kind: usize, seed: u64) -> Vec<(&'static str, Vec<String>)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pick = |f: &dyn Fn(&Sampled) -> Option<String>| -> Vec<String> {
        let pool: Vec<String> = kept.iter().filter_map(f).collect();
        (0..per_kind)
            .filter_map(|_| pool.choose(&mut rng).cloned())
            .collect()
    };
    let chars = |s: &str, from: usize, n: usize| s.chars().skip(from).take(n).collect::<String>();
    vec![
        ("name, 2 characters", pick(&|s| Some(chars(&s.name, 0, 2)))),
        ("name, full", pick(&|s| Some(s.name.clone()))),
        (
            "company, 2 characters",
            pick(&|s| s.company.as_deref().map(|c| chars(c, 2, 2))),
        ),
        ("pinyin, full", pick(&|s| Some(pinyin_keys(&s.name).full))),
        (
            "pinyin, initials",
            pick(&|s| Some(pinyin_keys(&s.name).initials)),
        ),
        // As typed: the first letters, shared by a large share of names.
        (
            "pinyin, first 1-3 letters",
            pick(&|s| {
                let n = 1 + s.name.chars().count() % 3;
                Some(chars(&pinyin_keys(&s.name).full, 0, n))
            }),
        ),
        ("mobile, full", pick(&|s| Some(s.mobile.clone()))),
        (
            "mobile, last 4",
            pick(&|s| Some(s.mobile[s.mobile.len() - 4..].to_string())),
        ),
        (
            "e-mail, prefix",
            pick(&|s| s.email.as_deref().map(|e| chars(e, 0, 6))),
        ),
        ("tag", pick(&|s| s.tag.clone())),
    ]
}

/// Gives every customer `per` interactions, in batches of 500 customers.
async fn add_interactions(db: &Db, per: usize, seed: u64) -> Result<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let actor = Actor::system("bench");
    let mut after = String::new();
    let mut total = 0;
    loop {
        let ids: Vec<(String,)> = db
            .conn()
            .fetch_all(
                kehu_store::Query::new(
                    "SELECT id FROM customers WHERE id > $1 ORDER BY id LIMIT 500",
                )
                .bind(&after),
            )
            .await?;
        let Some((last,)) = ids.last().cloned() else {
            break;
        };
        let mut items = Vec::with_capacity(ids.len() * per);
        for (i,) in &ids {
            let id: kehu_domain::ids::CustomerId =
                i.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            for x in demo::sample_interactions(&mut rng, per) {
                items.push((id.clone(), x));
            }
        }
        total += bulk::add_interactions(db, &actor, &items).await?;
        after = last;
    }
    Ok(total)
}

/// Times the nightly recompute: reading every customer's orders,
/// interactions and tickets, fitting the three models, scoring and writing
/// every customer's grade, tier, lifecycle, RFM, profit and value.
async fn models(db: &Db, per: usize, seed: u64) -> Result<()> {
    let end = chrono::NaiveDate::from_ymd_opt(2026, 6, 30).expect("a date");
    let t = Instant::now();
    let added = demo::add_orders(db, per, seed, end).await?;
    if added > 0 {
        db.settle_bulk_load().await?;
        let secs = t.elapsed().as_secs_f64();
        println!();
        println!("| step | rows | seconds | rows/s | peak RSS (MiB) |");
        println!("| --- | --- | --- | --- | --- |");
        println!(
            "| add orders (about {per} per customer) | {added} | {secs:.1} | {:.0} | {:.0} |",
            added as f64 / secs,
            peak_rss_kib().unwrap_or(0) as f64 / 1024.0
        );
    }
    let t = Instant::now();
    let run = kehu_store::scores::recompute(
        db,
        &kehu_store::audit::Actor::system("bench"),
        end,
        kehu_models::TimeUnit::Week,
        chrono_tz::Asia::Shanghai,
    )
    .await?;
    let total = t.elapsed().as_secs_f64();
    print_recompute(&run, total);
    Ok(())
}

/// The nightly recompute's report as the tables of docs/benchmarks.md.
pub fn print_recompute(run: &kehu_store::scores::Run, total: f64) {
    println!();
    println!(
        "| nightly recompute ({} customers, {} orders) | seconds | iterations | converged |",
        run.customers, run.orders
    );
    println!("| --- | --- | --- | --- |");
    println!(
        "| read customers, orders, interactions, referrals, tickets | {:.1} | | |",
        run.seconds_read
    );
    println!(
        "| of which orders / interactions (read at once) | {:.1} / {:.1} | | |",
        run.seconds_orders, run.seconds_interactions
    );
    for m in &run.fits {
        println!(
            "| fit {} | {:.2} | {} | {} |",
            m.model, m.seconds, m.iterations, m.converged
        );
    }
    println!(
        "| models' values per customer and all fits | {:.1} | | |",
        run.seconds_fit
    );
    println!(
        "| grades, tiers, lifecycle, RFM, Pareto | {:.1} | | |",
        run.seconds_score
    );
    println!(
        "| write scores and monthly figures | {:.1} | | |",
        run.seconds_write
    );
    println!(
        "| total (peak RSS {:.0} MiB) | {total:.1} | | |",
        peak_rss_kib().unwrap_or(0) as f64 / 1024.0
    );
}

/// What a run measures.
pub struct Plan {
    pub customers: usize,
    pub interactions: usize,
    /// Queries of each kind.
    pub queries: usize,
    pub seed: u64,
    /// The database holds an earlier run's customers: measure only
    /// searches, lists and the REST API.
    pub queries_only: bool,
    /// Orders per customer (on average) for the model-fit measure; 0
    /// skips it.
    pub orders: usize,
}

pub async fn run(db: &Db, plan: &Plan, dir: &Path) -> Result<()> {
    let Plan {
        customers,
        interactions: _,
        queries,
        seed,
        queries_only,
        orders,
    } = *plan;
    std::fs::create_dir_all(dir)?;
    let csv_path = dir.join(format!("bench-{customers}.csv"));
    let t = Instant::now();
    let kept = write_csv(&csv_path, customers, seed)?;
    let size = std::fs::metadata(&csv_path)?.len();
    println!(
        "generated {customers} customers ({:.1} MB CSV) in {:.1} s",
        size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let p = admin(db).await?;
    if !queries_only {
        load(db, &p, plan, dir, &csv_path).await?;
    }
    if queries > 0 {
        measure(db, &p, &kept, queries, seed).await?;
    }
    if orders > 0 {
        models(db, orders, seed).await?;
    }
    Ok(())
}

/// Imports the generated file (CSV, again, and as a workbook), adds the
/// interactions and exports everything, timing each step.
async fn load(db: &Db, p: &Principal, plan: &Plan, dir: &Path, csv_path: &Path) -> Result<()> {
    let (customers, interactions, seed) = (plan.customers, plan.interactions, plan.seed);
    let owner = Owner {
        user: Some(p.user_id.clone()),
        team: None,
    };
    println!();
    println!("| step | rows | seconds | rows/s | peak RSS (MiB) |");
    println!("| --- | --- | --- | --- | --- |");
    let xlsx_path = dir.join(format!("bench-{customers}.xlsx"));
    csv_to_xlsx(csv_path, &xlsx_path)?;
    let runs = [
        ("import CSV (new)", csv_path),
        ("import CSV (re-run, unchanged)", csv_path),
        ("import XLSX (same rows, unchanged)", xlsx_path.as_path()),
    ];
    for (label, path) in runs {
        let t = Instant::now();
        let opts = kehu_import::Options {
            owner: owner.clone(),
            ..Default::default()
        };
        let r = kehu_import::file(db, path, &opts, &mut ()).await?;
        let secs = t.elapsed().as_secs_f64();
        let c = r.counts;
        let rows = c.created + c.updated + c.unchanged + c.rejected;
        println!(
            "| {label} | {rows} | {secs:.1} | {:.0} | {:.0} |",
            rows as f64 / secs,
            peak_rss_kib().unwrap_or(0) as f64 / 1024.0
        );
        anyhow::ensure!(c.rejected == 0, "{} rows were rejected", c.rejected);
    }
    let t = Instant::now();
    let added = add_interactions(db, interactions, seed).await?;
    db.settle_bulk_load().await?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "| add {interactions} interactions per customer | {added} | {secs:.1} | {:.0} | {:.0} |",
        added as f64 / secs,
        peak_rss_kib().unwrap_or(0) as f64 / 1024.0
    );
    for format in [Format::Csv, Format::Xlsx] {
        let out = dir.join(format!("bench-export.{}", format.code()));
        let file = std::io::BufWriter::new(std::fs::File::create(&out)?);
        let t = Instant::now();
        let rows = export::customers(
            db,
            Exporter::System,
            &Filter::default(),
            Sort::NewestFirst,
            format,
            chrono_tz::Asia::Shanghai,
            file,
        )
        .await?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "| export {} (all) | {rows} | {secs:.1} | {:.0} | {:.0} |",
            format.code(),
            rows as f64 / secs,
            peak_rss_kib().unwrap_or(0) as f64 / 1024.0
        );
    }
    std::io::stdout().flush()?;
    Ok(())
}

/// Times searches, list pages and the REST API.
async fn measure(
    db: &Db,
    p: &Principal,
    kept: &[Sampled],
    queries: usize,
    seed: u64,
) -> Result<()> {
    println!();
    println!("| query (20 rows, ranked) | n | p50 ms | p95 ms | p99 ms | rows found |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (label, qs) in query_sets(kept, queries, seed) {
        let row = timed(label, &qs, |q| {
            let p = p.clone();
            async move {
                let f = Filter {
                    q: Some(q),
                    ..Default::default()
                };
                let page = customers::list(db, &p, &f, Sort::NewestFirst, 20, None, None).await?;
                Ok(page.items.len())
            }
        })
        .await?;
        println!("{row}");
    }

    println!();
    println!("| list page (count up to 1,001, then 20 rows) | n | p50 ms | p95 ms | p99 ms | rows found |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let pages: Vec<String> = (0..queries).map(|i| (i % 50).to_string()).collect();
    let views: [(&str, Filter, Sort); 4] = [
        (
            "newest first, no filter",
            Filter::default(),
            Sort::NewestFirst,
        ),
        ("by name (pinyin)", Filter::default(), Sort::Name),
        (
            "kind = organisation, by name",
            Filter {
                kind: Some(CustomerKind::Organization),
                ..Default::default()
            },
            Sort::Name,
        ),
        (
            "tag = VIP, recently updated",
            Filter {
                tag: Some("VIP".into()),
                ..Default::default()
            },
            Sort::RecentlyUpdated,
        ),
    ];
    for (label, filter, sort) in views {
        let label = format!("{label}, pages 1-50");
        let row = timed(&label, &pages, |page| {
            let (p, f) = (p.clone(), filter.clone());
            async move {
                // As the list page does: the capped count for page numbers,
                // then the page.
                let offset = page.parse::<i64>().unwrap_or(0) * 20;
                customers::count_upto(db, &p, &f, 1_001).await?;
                let items = customers::list(db, &p, &f, sort, 20, None, Some(offset)).await?;
                Ok(items.items.len())
            }
        })
        .await?;
        println!("{row}");
    }
    // An exact count of a filter over the whole table, for comparison.
    let counted = timed(
        "exact count, kind = organisation",
        &pages[..queries.min(20)],
        |_| {
            let p = p.clone();
            async move {
                let f = Filter {
                    kind: Some(CustomerKind::Organization),
                    ..Default::default()
                };
                Ok(customers::count(db, &p, &f).await? as usize)
            }
        },
    )
    .await?;
    println!("{counted}");

    println!();
    println!("| REST API, {CLIENTS} clients over loopback | requests | req/s | p50 ms | p95 ms | p99 ms |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for row in api(db, p).await? {
        println!("{row}");
    }
    Ok(())
}

/// Concurrent API clients.
const CLIENTS: usize = 8;
/// How long each API load runs.
const LOAD: Duration = Duration::from_secs(10);

/// Serves the API on a loopback port and loads it with [`CLIENTS`] clients:
/// a 20-row customer list page, then creating customers.
async fn api(db: &Db, p: &Principal) -> Result<Vec<String>> {
    let (_, token) = auth::create_token(db, &Actor::from(p), &p.user_id, "bench")
        .await
        .map_err(|e| anyhow::anyhow!("creating a token: {e}"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = kehu_web::AppState::new(db.clone(), kehu_web::Config::default());
    let server = tokio::spawn(kehu_web::serve(listener, state, async {
        stopped.await.ok();
    }));
    let client = reqwest::Client::new();
    let mut rows = Vec::new();
    for (label, create) in [
        ("GET /api/v1/customers?limit=20", false),
        ("POST /api/v1/customers", true),
    ] {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for n in 0..CLIENTS {
            let (client, base, token) = (client.clone(), base.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                let mut times = Vec::new();
                let mut i = 0u64;
                while started.elapsed() < LOAD {
                    let req = if create {
                        let body = serde_json::json!({"kind": "person", "name": format!("压测客户{n}-{i}")});
                        client.post(format!("{base}/api/v1/customers")).json(&body)
                    } else {
                        client.get(format!("{base}/api/v1/customers?limit=20"))
                    };
                    let t = Instant::now();
                    let res = req.bearer_auth(&token).send().await?;
                    let status = res.status();
                    res.bytes().await?;
                    anyhow::ensure!(status.is_success(), "{label}: {status}");
                    times.push(t.elapsed());
                    i += 1;
                }
                anyhow::Ok(times)
            }));
        }
        let mut times = Vec::new();
        for t in tasks {
            times.extend(t.await??);
        }
        let secs = started.elapsed().as_secs_f64();
        times.sort();
        rows.push(format!(
            "| {label} | {} | {:.0} | {:.2} | {:.2} | {:.2} |",
            times.len(),
            times.len() as f64 / secs,
            percentile(&times, 0.50),
            percentile(&times, 0.95),
            percentile(&times, 0.99)
        ));
    }
    stop.send(()).ok();
    server.await??;
    Ok(rows)
}
