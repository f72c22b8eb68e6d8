//! The `kehu` command: serve the web UI and API, migrate, manage users and
//! tokens, load demo data, import and export customers, back up. Every
//! subcommand reads the database from `--database-url` /
//! `KEHU_DATABASE_URL` (default: SQLite in ./data).

/// Many small allocations per request and per imported row: mimalloc
/// serves them with less locking than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bench;
mod bench_tickets;
mod demo;
mod demo_tickets;
mod export;
mod import;
mod jobs;
mod mail;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use kehu_domain::import::ImportKind;
use kehu_store::{auth, Db};
use std::io::Read;

#[derive(Parser)]
#[command(
    name = "kehu",
    version,
    about = "kehu (客户): customer relationship and service management"
)]
struct Cli {
    /// sqlite://PATH or postgres://USER@HOST/DB
    #[arg(long, env = "KEHU_DATABASE_URL", default_value = kehu_store::db::DEFAULT_URL, global = true)]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web UI and REST API (migrates the database first).
    Serve {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, env = "KEHU_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// Business time zone for showing times.
        #[arg(long, env = "KEHU_TIMEZONE", default_value = "Asia/Shanghai")]
        timezone: String,
        /// Mark cookies Secure (when served over HTTPS behind a proxy).
        #[arg(long, env = "KEHU_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Where uploaded files are kept (default: the SQLite database's
        /// folder, else ./data).
        #[arg(long, env = "KEHU_DATA_DIR")]
        data_dir: Option<std::path::PathBuf>,
        /// The largest file an import upload may carry, in MB.
        #[arg(long, env = "KEHU_MAX_UPLOAD_MB", default_value_t = 200)]
        max_upload_mb: u64,
        /// Load this many demo customers first if the database has no users.
        #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1000")]
        demo: Option<usize>,
        /// The address customers open (e.g. https://crm.example.com): put
        /// in front of the links sent to them (surveys).
        #[arg(long, env = "KEHU_PUBLIC_URL")]
        public_url: Option<String>,
        /// Send e-mail through this SMTP server
        /// (smtp://user:password@host:587?tls=required, smtps://host);
        /// without it, messages wait in the outbox for an integration.
        #[arg(long, env = "KEHU_SMTP_URL", requires = "public_url")]
        smtp_url: Option<String>,
        /// The sender of e-mail.
        #[arg(
            long,
            env = "KEHU_MAIL_FROM",
            default_value = "kehu <noreply@localhost>"
        )]
        mail_from: String,
    },
    /// Bring the database schema up to date.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Load realistic Chinese demo data (users, teams, customers, contacts, interactions).
    Demo {
        #[arg(long, default_value_t = 1000)]
        customers: usize,
        /// Seed for reproducible data.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
    /// Write a consistent copy of a live SQLite database to PATH.
    Backup { path: std::path::PathBuf },
    /// Import records from a file.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Export records to a file.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Customer scores: grades, lifecycle, RFM, profitability, value.
    Scores {
        #[command(subcommand)]
        command: ScoresCommand,
    },
    /// Customer-value models (BG/NBD, Pareto/NBD, Gamma-Gamma) fitted on
    /// every customer's orders.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// The holiday calendar used for service-level times.
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// Measure import, search and list speed on generated customers, in the
    /// database given (use an empty one: it gets N customers).
    Bench {
        #[arg(long, default_value_t = 100_000)]
        customers: usize,
        /// Interactions given to each customer after the import.
        #[arg(long, default_value_t = 10)]
        interactions: usize,
        /// Queries of each kind.
        #[arg(long, default_value_t = 200)]
        queries: usize,
        /// Where the generated CSV file goes.
        #[arg(long, default_value = "data/bench")]
        dir: std::path::PathBuf,
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// The database already holds the N customers of an earlier run
        /// with this seed: skip the import, interactions and exports and
        /// measure only searches, lists and the REST API.
        #[arg(long)]
        queries_only: bool,
        /// Then give customers this many orders each on average (once) and
        /// time the nightly model fit over all of them; 0 skips it.
        #[arg(long, default_value_t = 0)]
        orders: usize,
        /// Then generate this many tickets (once) and time the service
        /// desk's queues and service-level computations; 0 skips it. Use
        /// `--customers 0` to run only this.
        #[arg(long, default_value_t = 0)]
        tickets: usize,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Customers from a CSV file (UTF-8 or GBK) or an Excel workbook's first
    /// sheet (.xlsx, .xls, .ods; headers in Chinese or
    /// English: 姓名/name, 手机/mobile, 邮箱/email, 公司/company,
    /// 外部编号/external_id, 标签/tags ...). Rows are matched to existing
    /// customers by external id, mobile, then e-mail; re-running a file
    /// creates nothing twice.
    Customers {
        #[command(flatten)]
        run: ImportRun,
        /// Login of the user who owns the new customers (default: none, the shared pool).
        #[arg(long)]
        owner: Option<String>,
        /// Keep every index written as rows go in. By default a large
        /// import into SQLite (100,000 new customers or more, and at least
        /// half as many as are there) builds most indexes after its rows,
        /// which is faster, but lists and searches of other users are slow
        /// until it ends and its customers are found by search only then.
        #[arg(long)]
        keep_indexes: bool,
    },
    /// Contacts of organisations (公司/customer or 外部编号/external_id
    /// naming the organisation; 联系人/name, 职务/position, 角色/role,
    /// 手机/mobile, 邮箱/email, 微信/wechat, 生日/birthday, 偏好/preferences,
    /// 备注/notes). A row updates the organisation's contact with the same
    /// mobile, e-mail or name, else adds one.
    Contacts {
        #[command(flatten)]
        run: ImportRun,
    },
    /// Interactions from an older system (外部编号/external_id,
    /// 客户/customer, 手机/mobile or 邮箱/email naming the customer;
    /// 联系时间/time, 联系方式/channel (电话, 拜访, 微信, 短信, 邮件, 备注),
    /// 内容/content, 联系人/contact). One with the same customer, time,
    /// channel and content is not added again.
    Interactions {
        #[command(flatten)]
        run: ImportRun,
        /// Business time zone for times written without an offset.
        #[arg(long, env = "KEHU_TIMEZONE", default_value = "Asia/Shanghai")]
        timezone: String,
    },
    /// Orders (外部编号/external_id, 客户/customer, 手机/mobile or
    /// 邮箱/email naming the customer; 日期/date, 金额/amount in yuan,
    /// optional 数量/quantity, 订单号/order_no, 产品/product, 备注/notes,
    /// 折扣/discount in yuan (the amount being what was paid), 产品编号/sku:
    /// the order gets a line of that product, an unknown SKU rejects the
    /// row). An order with the same order number, or else the same
    /// customer, date, amount and quantity, is not added twice.
    Orders {
        #[command(flatten)]
        run: ImportRun,
        /// An external id no customer has creates a customer with it.
        #[arg(long)]
        create_customers: bool,
        /// Login of the user who owns customers created that way.
        #[arg(long)]
        owner: Option<String>,
        /// Business time zone for dates and times without an offset.
        #[arg(long, env = "KEHU_TIMEZONE", default_value = "Asia/Shanghai")]
        timezone: String,
    },
}

/// What every import takes.
#[derive(clap::Args)]
struct ImportRun {
    file: std::path::PathBuf,
    /// Check every row and report, but write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write rejected rows with their reasons to this CSV file.
    #[arg(long)]
    rejects: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
enum ExportCommand {
    /// The customer list with the list's filters and sort, as CSV (UTF-8
    /// with a byte order mark, for Excel) or an Excel workbook, with the
    /// headers `kehu import customers` reads. Runs as the system: every
    /// customer, phone numbers in full; the export is audited.
    Customers {
        /// csv or xlsx.
        #[arg(long)]
        format: String,
        /// The file to write (replaced if it exists).
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
        #[command(flatten)]
        filters: export::Filters,
        /// Business time zone for the creation times.
        #[arg(long, env = "KEHU_TIMEZONE", default_value = "Asia/Shanghai")]
        timezone: String,
    },
}

#[derive(Subcommand)]
enum ScoresCommand {
    /// Recompute every customer's grade, key/general tier, lifecycle class,
    /// RFM, profitability and lifetime value (fitting the models on the
    /// same purchases), as the nightly job does.
    Recompute {
        /// The observation day, YYYY-MM-DD in the business time zone
        /// (default: yesterday).
        #[arg(long, value_name = "DATE")]
        as_of: Option<String>,
        /// The models' time unit: day or week.
        #[arg(long, default_value = "week")]
        unit: String,
        /// Print the run's report as JSON.
        #[arg(long)]
        json: bool,
        #[arg(long, env = "KEHU_TIMEZONE", default_value = "Asia/Shanghai")]
        timezone: String,
    },
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Fit the models by maximum likelihood on the purchases up to DATE
    /// (purchases on one day count as one; recency and age in days or
    /// fractional weeks) and keep the fits for the API and the pages.
    Fit {
        /// The last day of purchases used, YYYY-MM-DD in the business time
        /// zone (default: yesterday).
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// day or week.
        #[arg(long, default_value = "week")]
        unit: String,
        /// Print the fits as JSON (parameters, log-likelihood, customers used).
        #[arg(long)]
        json: bool,
        #[arg(long, env = "KEHU_TIMEZONE", default_value = "Asia/Shanghai")]
        timezone: String,
    },
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// Load official holidays and make-up working days from a CSV file with
    /// columns `date,kind` (kind: holiday/休 or workday/班; UTF-8 or GBK).
    /// Each year in the file replaces that year's calendar.
    Import { file: std::path::PathBuf },
    /// List the loaded days.
    List,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input.
    Add {
        login: String,
        /// owner, admin, manager, agent, finance, read_only
        #[arg(long)]
        role: String,
        /// Team name; created when new.
        #[arg(long)]
        team: Option<String>,
        /// Display name (default: the login).
        #[arg(long)]
        name: Option<String>,
        /// Read the password from standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Set a user's password (read from standard input); their sessions end.
    Passwd {
        login: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List users.
    List,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for LOGIN; the token is the last line printed.
    Create {
        login: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

fn read_password() -> Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("reading the password from standard input")?;
    let p = s.lines().next().unwrap_or("").to_string();
    if p.is_empty() {
        bail!("no password on standard input");
    }
    Ok(p)
}

/// Text from a file: UTF-8 (with or without BOM), else GB18030 as Chinese
/// Excel writes it.
fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.trim_start_matches('\u{feff}').to_string(),
        Err(_) => encoding_rs::GB18030.decode(bytes).0.into_owned(),
    }
}

/// A day given as YYYY-MM-DD, or yesterday in `zone`.
fn day_or_yesterday(
    flag: &str,
    day: Option<&str>,
    zone: chrono_tz::Tz,
) -> Result<chrono::NaiveDate> {
    match day {
        Some(d) => chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
            .with_context(|| format!("{flag} {d:?} is not a date (YYYY-MM-DD)")),
        None => Ok(chrono::Utc::now().with_timezone(&zone).date_naive() - chrono::Days::new(1)),
    }
}

fn time_unit(unit: &str) -> Result<kehu_models::TimeUnit> {
    match unit.trim() {
        "day" | "days" => Ok(kehu_models::TimeUnit::Day),
        "week" | "weeks" => Ok(kehu_models::TimeUnit::Week),
        other => bail!("--unit {other:?}: day or week"),
    }
}

async fn open(url: &str) -> Result<Db> {
    let db = Db::connect(url)
        .await
        .with_context(|| format!("cannot open database {}", redact(url)))?;
    db.migrate().await.context("migrating the database")?;
    Ok(db)
}

/// Where uploads go unless set: beside a SQLite database, else `data`.
fn default_data_dir(url: &str) -> std::path::PathBuf {
    let file = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .map(|f| f.split('?').next().unwrap_or(f));
    match file.map(std::path::Path::new).and_then(|f| f.parent()) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        Some(_) => ".".into(),
        None => "data".into(),
    }
}

/// Hides a password in a database URL for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn time_zone(name: &str) -> Result<chrono_tz::Tz> {
    name.parse()
        .map_err(|_| anyhow::anyhow!("unknown time zone {name:?} (e.g. Asia/Shanghai)"))
}

/// The user with this login.
async fn user_named(db: &Db, login: &str) -> Result<auth::User> {
    auth::user_by_login(db, login)
        .await
        .map_err(|_| anyhow::anyhow!("no user {login:?}"))
}

fn show_errors(e: kehu_store::Error) -> anyhow::Error {
    match e {
        kehu_store::Error::Invalid(fe) => anyhow::anyhow!("invalid: {fe}"),
        other => anyhow::anyhow!(other),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KEHU_LOG")
                .unwrap_or_else(|_| "kehu=info,tower_http=warn,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            bind,
            timezone,
            secure_cookies,
            data_dir,
            max_upload_mb,
            demo,
            public_url,
            smtp_url,
            mail_from,
        } => {
            let tz = time_zone(&timezone)?;
            let mailer = match &smtp_url {
                Some(url) => Some(std::sync::Arc::new(mail::Mailer::new(
                    url,
                    &mail_from,
                    public_url.as_deref().unwrap_or_default(),
                )?)),
                None => None,
            };
            let started = std::time::Instant::now();
            let db = open(&cli.database_url).await?;
            if let Some(n) = demo {
                if auth::users(&db).await?.is_empty() {
                    demo::load(&db, n, 2026).await?;
                    println!("loaded {n} demo customers");
                }
                if demo::present(&db).await {
                    demo::print_logins();
                }
            }
            let listener = tokio::net::TcpListener::bind(&bind)
                .await
                .with_context(|| format!("cannot listen on {bind}"))?;
            let addr = listener.local_addr()?;
            jobs::spawn(db.clone(), tz, mailer);
            let state = kehu_web::AppState::new(
                db.clone(),
                kehu_web::Config {
                    secure_cookies,
                    timezone: tz,
                    data_dir: data_dir.unwrap_or_else(|| default_data_dir(&cli.database_url)),
                    max_upload: max_upload_mb.saturating_mul(1024 * 1024),
                    public_url,
                },
            );
            println!(
                "kehu listening on http://{addr} (ready in {} ms)",
                started.elapsed().as_millis()
            );
            use std::io::Write;
            std::io::stdout().flush().ok();
            kehu_web::serve(listener, state.clone(), shutdown_signal()).await?;
            jobs::interrupt(&db, &state.running_jobs()).await;
            db.close().await;
        }
        Command::Migrate => {
            open(&cli.database_url).await?;
            println!("database {} is up to date", redact(&cli.database_url));
        }
        Command::User { command } => {
            let db = open(&cli.database_url).await?;
            match command {
                UserCommand::Add {
                    login,
                    role,
                    team,
                    name,
                    password_stdin: _,
                } => {
                    let password = read_password()?;
                    let u = auth::create_user(
                        &db,
                        None,
                        &auth::NewUser {
                            login,
                            name: name.unwrap_or_default(),
                            role,
                            team: team.unwrap_or_default(),
                            password,
                        },
                    )
                    .await
                    .map_err(show_errors)?;
                    println!(
                        "created user {} ({}{})",
                        u.login,
                        u.role.code(),
                        u.team_name
                            .map(|t| format!(", team {t}"))
                            .unwrap_or_default()
                    );
                }
                UserCommand::Passwd {
                    login,
                    password_stdin: _,
                } => {
                    let password = read_password()?;
                    auth::set_password(&db, &login, &password)
                        .await
                        .map_err(show_errors)?;
                    println!("password of {login} changed; their sessions have ended");
                }
                UserCommand::List => {
                    for u in auth::users(&db).await? {
                        println!(
                            "{}\t{}\t{}\t{}\t{}",
                            u.login,
                            u.role.code(),
                            u.team_name.unwrap_or_default(),
                            if u.active { "active" } else { "inactive" },
                            u.name
                        );
                    }
                }
            }
        }
        Command::Token {
            command: TokenCommand::Create { login, name },
        } => {
            let db = open(&cli.database_url).await?;
            let u = user_named(&db, &login).await?;
            if !u.active {
                bail!("user {login:?} is deactivated");
            }
            let (t, secret) =
                auth::create_token(&db, &kehu_store::audit::Actor::system("cli"), &u.id, &name)
                    .await
                    .map_err(show_errors)?;
            println!(
                "token {} for {} (send as Authorization: Bearer ...):",
                t.id, u.login
            );
            println!("{secret}");
        }
        Command::Demo { customers, seed } => {
            let db = open(&cli.database_url).await?;
            let started = std::time::Instant::now();
            demo::load(&db, customers, seed).await?;
            println!(
                "loaded {customers} demo customers in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            demo::print_logins();
        }
        Command::Import { command } => {
            let db = open(&cli.database_url).await?;
            let mut opts = kehu_import::Options::default();
            let owner_of = |login: Option<String>| {
                let db = db.clone();
                async move {
                    anyhow::Ok(match login {
                        Some(login) => {
                            let u = user_named(&db, &login).await?;
                            kehu_store::import::Owner {
                                user: Some(u.id),
                                team: u.team_id,
                            }
                        }
                        None => kehu_store::import::Owner::default(),
                    })
                }
            };
            let run = match command {
                ImportCommand::Customers {
                    run,
                    owner,
                    keep_indexes,
                } => {
                    opts.owner = owner_of(owner).await?;
                    if keep_indexes {
                        opts.defer_at_least = u64::MAX;
                    }
                    run
                }
                ImportCommand::Orders {
                    run,
                    create_customers,
                    owner,
                    timezone,
                } => {
                    opts.kind = ImportKind::Orders;
                    opts.create_customers = create_customers;
                    opts.owner = owner_of(owner).await?;
                    opts.zone = time_zone(&timezone)?;
                    run
                }
                ImportCommand::Contacts { run } => {
                    opts.kind = ImportKind::Contacts;
                    run
                }
                ImportCommand::Interactions { run, timezone } => {
                    opts.kind = ImportKind::Interactions;
                    opts.zone = time_zone(&timezone)?;
                    run
                }
            };
            opts.dry_run = run.dry_run;
            opts.rejects = run.rejects;
            let started = std::time::Instant::now();
            let mut terminal = import::Terminal::new();
            let r = kehu_import::file(&db, &run.file, &opts, &mut terminal).await;
            terminal.finish();
            let r = r?;
            if !r.unknown_columns.is_empty() {
                // The first few by name: a sheet may have thousands.
                const SHOWN: usize = 20;
                let more = r.unknown_columns.len().saturating_sub(SHOWN);
                let names = r.unknown_columns[..r.unknown_columns.len().min(SHOWN)].join(", ");
                if more > 0 {
                    eprintln!("columns not imported: {names} and {more} more");
                } else {
                    eprintln!("columns not imported: {names}");
                }
            }
            let c = r.counts;
            println!(
                "{}created {}, updated {}, unchanged {}, rejected {} ({}, {:.1} s)",
                if opts.dry_run {
                    "dry run, nothing written: "
                } else {
                    ""
                },
                c.created,
                c.updated,
                c.unchanged,
                c.rejected,
                r.format,
                started.elapsed().as_secs_f64()
            );
        }
        Command::Bench {
            customers,
            interactions,
            queries,
            dir,
            seed,
            queries_only,
            orders,
            tickets,
        } => {
            let db = open(&cli.database_url).await?;
            println!("kehu bench on {}", redact(&cli.database_url));
            if customers > 0 {
                let plan = bench::Plan {
                    customers,
                    interactions,
                    queries,
                    seed,
                    queries_only,
                    orders,
                };
                bench::run(&db, &plan, &dir).await?;
            }
            if tickets > 0 {
                bench_tickets::run(&db, tickets, queries.max(20), seed).await?;
            }
        }
        Command::Export {
            command:
                ExportCommand::Customers {
                    format,
                    out,
                    filters,
                    timezone,
                },
        } => {
            let tz = time_zone(&timezone)?;
            let db = open(&cli.database_url).await?;
            let started = std::time::Instant::now();
            let rows = export::customers(&db, &format, &out, &filters, tz).await?;
            println!(
                "exported {rows} customers to {} ({:.1} s)",
                out.display(),
                started.elapsed().as_secs_f64()
            );
        }
        Command::Scores {
            command:
                ScoresCommand::Recompute {
                    as_of,
                    unit,
                    json,
                    timezone,
                },
        } => {
            let zone = time_zone(&timezone)?;
            let as_of = day_or_yesterday("--as-of", as_of.as_deref(), zone)?;
            let unit = time_unit(&unit)?;
            let db = open(&cli.database_url).await?;
            let actor = kehu_store::audit::Actor::system("cli");
            let Some(run) =
                kehu_store::scores::recompute_claimed(&db, &actor, as_of, unit, zone).await?
            else {
                bail!("a recompute is already under way on this database");
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&run)?);
            } else {
                println!(
                    "{} customers ({} buyers, {} key), {} orders, as of {}; {} grades changed",
                    run.customers,
                    run.buyers,
                    run.key_customers,
                    run.orders,
                    as_of,
                    run.grades_changed
                );
                if let Some(share) = run.top20_profit_share {
                    println!("top 20% of customers: {:.1}% of profit", share * 100.0);
                }
                if let Some(e) = &run.fit_error {
                    println!("models not fitted: {e}");
                }
                println!(
                    "read {:.1} s, fit {:.1} s, score {:.1} s, write {:.1} s, total {:.1} s",
                    run.seconds_read,
                    run.seconds_fit,
                    run.seconds_score,
                    run.seconds_write,
                    run.seconds
                );
            }
        }
        Command::Models {
            command:
                ModelsCommand::Fit {
                    until,
                    unit,
                    json,
                    timezone,
                },
        } => {
            let zone = time_zone(&timezone)?;
            let until = day_or_yesterday("--until", until.as_deref(), zone)?;
            let unit = time_unit(&unit)?;
            let db = open(&cli.database_url).await?;
            let run = kehu_store::analytics::fit(&db, until, unit, zone).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&run)?);
            } else {
                println!(
                    "{} customers, {} orders up to {} (read in {:.1} s), time in {}s",
                    run.customers, run.orders, run.until, run.read_seconds, run.unit
                );
                for m in &run.models {
                    let params: Vec<String> =
                        m.params.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                    println!(
                        "{:<12} {}; log-likelihood {:.3}; {} customers; {} iterations{}; {:.2} s",
                        m.model,
                        params.join(", "),
                        m.log_likelihood,
                        m.customers,
                        m.iterations,
                        if m.converged { "" } else { " (not converged)" },
                        m.seconds
                    );
                }
            }
        }
        Command::Calendar { command } => {
            let db = open(&cli.database_url).await?;
            match command {
                CalendarCommand::Import { file } => {
                    let bytes = std::fs::read(&file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    let text = decode_text(&bytes);
                    let days = kehu_domain::business_time::parse_calendar(&text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                    if days.is_empty() {
                        bail!("{} holds no dates", file.display());
                    }
                    let years = kehu_store::calendar::import(
                        &db,
                        &kehu_store::audit::Actor::system("cli"),
                        &days,
                    )
                    .await
                    .map_err(show_errors)?;
                    let holidays = days
                        .iter()
                        .filter(|d| d.1 == kehu_domain::business_time::DayKind::Holiday)
                        .count();
                    let years: Vec<String> = years.iter().map(|y| y.to_string()).collect();
                    println!(
                        "loaded {holidays} holidays and {} make-up workdays for {}",
                        days.len() - holidays,
                        years.join(", ")
                    );
                }
                CalendarCommand::List => {
                    for (d, k) in kehu_store::calendar::days(&db).await? {
                        println!("{d}\t{}", k.code());
                    }
                }
            }
        }
        Command::Backup { path } => {
            if path.exists() {
                bail!("{} exists already; choose a new file", path.display());
            }
            let db = Db::connect(&cli.database_url)
                .await
                .context("opening the database")?;
            let target = path.to_str().context("backup path must be valid UTF-8")?;
            db.backup_sqlite(target).await.map_err(show_errors)?;
            println!("backup written to {}", path.display());
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://data/kehu.db"), "sqlite://data/kehu.db");
    }

    #[test]
    fn uploads_go_beside_the_database() {
        use std::path::PathBuf;
        assert_eq!(
            default_data_dir("sqlite://data/kehu.db"),
            PathBuf::from("data")
        );
        assert_eq!(
            default_data_dir("sqlite:///var/lib/kehu/kehu.db?mode=rwc"),
            PathBuf::from("/var/lib/kehu")
        );
        assert_eq!(default_data_dir("sqlite://kehu.db"), PathBuf::from("."));
        assert_eq!(default_data_dir("postgres://u@h/db"), PathBuf::from("data"));
    }
}
