//! The `kehu` command as an operator uses it: migrate, add users (creating
//! teams), create tokens, load demo data, back up a live database, import
//! and export customers.

use kehu_store::{Db, Query};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn kehu(db: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kehu"))
        .args(args)
        .env("KEHU_DATABASE_URL", format!("sqlite://{}", db.display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("kehu-cli-{}", uuid_like()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

#[tokio::test]
async fn users_tokens_demo_and_backup() {
    let dir = temp_dir();
    let db = dir.join("data").join("kehu.db");
    ok(&kehu(&db, &["migrate"], ""));
    assert!(db.exists(), "the database and its directory are created");

    let out = ok(&kehu(
        &db,
        &[
            "user",
            "add",
            "zhao",
            "--role",
            "manager",
            "--team",
            "华东区",
            "--password-stdin",
        ],
        "a-long-password\n",
    ));
    assert!(out.contains("华东区"), "{out}");
    let short = kehu(
        &db,
        &["user", "add", "qian", "--role", "agent", "--password-stdin"],
        "short\n",
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("password"));
    let bad_role = kehu(
        &db,
        &[
            "user",
            "add",
            "sun",
            "--role",
            "emperor",
            "--password-stdin",
        ],
        "a-long-password\n",
    );
    assert!(!bad_role.status.success());
    let twice = kehu(
        &db,
        &["user", "add", "zhao", "--role", "agent", "--password-stdin"],
        "a-long-password\n",
    );
    assert!(!twice.status.success(), "logins are unique");

    let out = ok(&kehu(&db, &["token", "create", "zhao"], ""));
    let token = out.lines().last().unwrap();
    assert!(
        token.starts_with("kehu_") && token.len() > 40,
        "the token is the last line: {out}"
    );
    assert!(!kehu(&db, &["token", "create", "nobody"], "")
        .status
        .success());

    ok(&kehu(&db, &["demo", "--customers", "120"], ""));
    let backup = dir.join("backup.db");
    let out = ok(&kehu(&db, &["backup", backup.to_str().unwrap()], ""));
    assert!(out.contains("backup.db"));
    assert!(
        !kehu(&db, &["backup", backup.to_str().unwrap()], "")
            .status
            .success(),
        "an existing file is not overwritten"
    );

    let copy = Db::connect(&format!("sqlite://{}", backup.display()))
        .await
        .unwrap();
    let n = copy
        .conn()
        .scalar(Query::new("SELECT COUNT(*) FROM customers"))
        .await
        .unwrap();
    assert_eq!(n, 120);
    let users = copy
        .conn()
        .scalar(Query::new(
            "SELECT COUNT(*) FROM users WHERE login = 'zhao'",
        ))
        .await
        .unwrap();
    assert_eq!(users, 1);
    copy.close().await;
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn calendar_import_reads_gbk_and_reports_bad_lines() {
    let dir = temp_dir();
    let db = dir.join("kehu.db");
    let (gbk, _, _) =
        encoding_rs::GBK.encode("日期,类型\n2026-10-01,休\n2026-10-02,休\n2026-09-27,班\n");
    let file = dir.join("holidays.csv");
    std::fs::write(&file, &gbk).unwrap();
    let out = ok(&kehu(
        &db,
        &["calendar", "import", file.to_str().unwrap()],
        "",
    ));
    assert!(
        out.contains("2 holidays and 1 make-up workdays for 2026"),
        "{out}"
    );
    let listed = ok(&kehu(&db, &["calendar", "list"], ""));
    assert_eq!(
        listed,
        "2026-09-27\tworkday\n2026-10-01\tholiday\n2026-10-02\tholiday\n"
    );
    std::fs::write(&file, "date,kind\n2026-13-01,休\n2026-10-03,maybe\n").unwrap();
    let bad = kehu(&db, &["calendar", "import", file.to_str().unwrap()], "");
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("line 2") && err.contains("line 3"), "{err}");
    assert_eq!(
        ok(&kehu(&db, &["calendar", "list"], "")),
        listed,
        "a bad file changes nothing"
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn counts(out: &str) -> String {
    out.lines()
        .last()
        .unwrap()
        .split(" (")
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn import_customers_from_excel_csv_is_idempotent() {
    let dir = temp_dir();
    let db = dir.join("kehu.db");
    ok(&kehu(
        &db,
        &[
            "user",
            "add",
            "li",
            "--role",
            "agent",
            "--team",
            "华南",
            "--password-stdin",
        ],
        "a-long-password\n",
    ));
    // GBK, as Chinese Excel saves "CSV (逗号分隔)", with a bad mobile, a missing name and an unknown column.
    let text = "外部编号,姓名,手机,邮箱,公司,标签,颜色\r\n\
                C-1,张伟,13812345678,zw@example.com,恒达贸易,VIP；老客户,红\r\n\
                C-2,欧阳娜娜,+86 139 0000 1111,,,,\r\n\
                C-3,李四,12345,,,,\r\n\
                C-4,,13700000000,,,,\r\n\
                ,王芳,,wf@example.com,,,\r\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(text);
    let file = dir.join("customers.csv");
    std::fs::write(&file, &gbk).unwrap();
    let rejects = dir.join("rejects.csv");

    let dry = ok(&kehu(
        &db,
        &["import", "customers", file.to_str().unwrap(), "--dry-run"],
        "",
    ));
    assert!(
        dry.contains("nothing written: created 3, updated 0, unchanged 0, rejected 2"),
        "{dry}"
    );
    let out = kehu(
        &db,
        &[
            "import",
            "customers",
            file.to_str().unwrap(),
            "--owner",
            "li",
            "--rejects",
            rejects.to_str().unwrap(),
        ],
        "",
    );
    let text_out = ok(&out);
    assert_eq!(
        counts(&text_out),
        "created 3, updated 0, unchanged 0, rejected 2"
    );
    assert!(
        text_out.contains("GB18030") || text_out.contains("gb18030"),
        "{text_out}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("颜色"), "unknown columns are named: {err}");
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    assert!(
        rejected.contains("李四") && rejected.contains("mobile"),
        "{rejected}"
    );
    assert!(
        rejected.contains("C-4") && rejected.contains("name"),
        "{rejected}"
    );

    // The same file again: nothing new.
    let again = ok(&kehu(
        &db,
        &["import", "customers", file.to_str().unwrap()],
        "",
    ));
    assert_eq!(
        counts(&again),
        "created 0, updated 0, unchanged 3, rejected 2"
    );

    // A UTF-8 file with BOM and semicolons updates by mobile and adds a
    // tag; it is cut short mid-row, and that row is refused.
    let update = "\u{feff}name;mobile;city;tags\n张伟;138 1234 5678;广州;回访\n新客户;13600000000;深圳;\n半行;";
    std::fs::write(&file, update).unwrap();
    let out = kehu(&db, &["import", "customers", file.to_str().unwrap()], "");
    assert_eq!(
        counts(&ok(&out)),
        "created 1, updated 1, unchanged 0, rejected 1"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("文件在这一行中断"), "{err}");
    let out = ok(&kehu(
        &db,
        &["import", "customers", file.to_str().unwrap()],
        "",
    ));
    assert_eq!(
        counts(&out),
        "created 0, updated 0, unchanged 2, rejected 1"
    );

    let store = Db::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let n = store
        .conn()
        .scalar(Query::new("SELECT COUNT(*) FROM customers"))
        .await
        .unwrap();
    assert_eq!(n, 4);
    let zw: (String, Option<String>, Option<String>, Option<String>) = store
        .conn()
        .fetch_one(Query::new(
            "SELECT name, city, email, external_id FROM customers WHERE mobile = '13812345678'",
        ))
        .await
        .unwrap();
    assert_eq!(
        zw,
        (
            "张伟".into(),
            Some("广州".into()),
            Some("zw@example.com".into()),
            Some("C-1".into())
        ),
        "blank cells keep values"
    );
    let tags = store
        .conn()
        .scalar(Query::new("SELECT COUNT(*) FROM customer_tags ct JOIN customers c ON c.id = ct.customer_id WHERE c.mobile = '13812345678'"))
        .await
        .unwrap();
    assert_eq!(tags, 3, "VIP, 老客户 and 回访");
    let owned = store.conn().scalar(Query::new("SELECT COUNT(*) FROM customers c JOIN users u ON u.id = c.owner_id WHERE u.login = 'li'")).await.unwrap();
    assert_eq!(owned, 3);
    let jobs = store
        .conn()
        .scalar(Query::new(
            "SELECT COUNT(*) FROM import_jobs WHERE finished_at IS NOT NULL",
        ))
        .await
        .unwrap();
    assert_eq!(jobs, 5);
    let audited = store
        .conn()
        .scalar(Query::new(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'import'",
        ))
        .await
        .unwrap();
    assert_eq!(audited, 5, "every created or updated customer");
    store.close().await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn import_customers_from_a_workbook() {
    let dir = temp_dir();
    let db = dir.join("kehu.db");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/customers.xlsx");
    let out = ok(&kehu(
        &db,
        &["import", "customers", file.to_str().unwrap()],
        "",
    ));
    assert_eq!(
        counts(&out),
        "created 2, updated 0, unchanged 0, rejected 1"
    );
    let out = ok(&kehu(
        &db,
        &["import", "customers", file.to_str().unwrap()],
        "",
    ));
    assert_eq!(
        counts(&out),
        "created 0, updated 0, unchanged 2, rejected 1"
    );
    let store = Db::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let row: (String, Option<String>, Option<String>, Option<String>) = store
        .conn()
        .fetch_one(Query::new(
            "SELECT name, mobile, birthday, external_id FROM customers WHERE external_id = 'XL-1'",
        ))
        .await
        .unwrap();
    assert_eq!(
        row,
        (
            "诸葛亮".into(),
            Some("13911112222".into()),
            Some("1981-07-23".into()),
            Some("XL-1".into())
        )
    );
    store.close().await;

    // A sheet from openpyxl with a merged title above its headers and a
    // formula it stored without a result: the title is passed over, the
    // formula's row refused with the reason, not imported with a blank.
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formulas.xlsx");
    let rejects = dir.join("rejects.csv");
    let out = kehu(
        &db,
        &[
            "import",
            "customers",
            file.to_str().unwrap(),
            "--rejects",
            rejects.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(
        counts(&ok(&out)),
        "created 1, updated 0, unchanged 0, rejected 1"
    );
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    assert!(
        rejected.contains("3,F-1,公式客户,杭州,,notes: 是公式，但文件里没有它的计算结果"),
        "{rejected}"
    );
    assert_eq!(
        number(
            &db,
            "SELECT COUNT(*) FROM customers WHERE external_id = 'F-2' AND city = '苏州'"
        )
        .await,
        1
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn import_contacts_and_interactions() {
    let dir = temp_dir();
    let db = dir.join("kehu.db");
    let customers = dir.join("customers.csv");
    std::fs::write(
        &customers,
        "外部编号,客户类型,姓名,手机\nXL-1,企业,卧龙科技有限公司,\nXL-2,个人,诸葛亮,13911112222\n",
    )
    .unwrap();
    ok(&kehu(
        &db,
        &["import", "customers", customers.to_str().unwrap()],
        "",
    ));
    // Contacts in a GBK file with a semicolon separator, as some Excel
    // versions save CSV.
    let contacts = dir.join("contacts.csv");
    let text = "客户编号;联系人;职务;手机\r\nXL-1;黄月英;总经理;13700001111\r\nXL-2;马谡;;\r\n";
    std::fs::write(&contacts, encoding_rs::GBK.encode(text).0).unwrap();
    let rejects = dir.join("rejects.csv");
    let run = [
        "import",
        "contacts",
        contacts.to_str().unwrap(),
        "--rejects",
        rejects.to_str().unwrap(),
    ];
    let out = ok(&kehu(&db, &run, ""));
    assert_eq!(
        counts(&out),
        "created 1, updated 0, unchanged 0, rejected 1"
    );
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    assert!(rejected.contains("3,XL-2,马谡"), "{rejected}");
    assert!(
        rejected.contains("只有企业客户可以添加联系人"),
        "{rejected}"
    );
    let out = ok(&kehu(&db, &run, ""));
    assert_eq!(
        counts(&out),
        "created 0, updated 0, unchanged 1, rejected 1"
    );

    // Interactions from the workbook another program wrote.
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/interactions.xlsx");
    let run = ["import", "interactions", file.to_str().unwrap()];
    let out = ok(&kehu(&db, &run, ""));
    assert_eq!(
        counts(&out),
        "created 3, updated 0, unchanged 0, rejected 1"
    );
    let out = ok(&kehu(&db, &run, ""));
    assert_eq!(
        counts(&out),
        "created 0, updated 0, unchanged 3, rejected 1"
    );
    assert_eq!(number(&db, "SELECT COUNT(*) FROM interactions").await, 3);
    assert_eq!(
        number(
            &db,
            "SELECT COUNT(*) FROM import_jobs WHERE kind = 'interactions'"
        )
        .await,
        2
    );
    // A file that does not say when is refused whole, with the reason.
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "客户编号,内容\nXL-1,问候\n").unwrap();
    let o = kehu(&db, &["import", "interactions", bad.to_str().unwrap()], "");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("联系时间"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The raw CDNOW sample (master id, customer, YYYYMMDD, CDs, dollars) as
/// the Python `lifetimes` package ships it (scripts/lifetimes-install).
fn cdnow_sample() -> String {
    let python = std::env::var_os("KEHU_LIFETIMES_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME"))
                .join(".cache/kehu-lifetimes/bin/python")
        });
    let code = "import os, lifetimes; print(os.path.join(os.path.dirname(lifetimes.__file__), 'datasets', 'CDNOW_sample.txt'))";
    let out = Command::new(&python)
        .args(["-c", code])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/lifetimes-install", python.display()));
    assert!(
        out.status.success(),
        "lifetimes is missing: run scripts/lifetimes-install"
    );
    let path = String::from_utf8(out.stdout).unwrap();
    std::fs::read_to_string(path.trim()).unwrap()
}

/// CDNOW's orders imported as a shop's export (creating the customers),
/// then BG/NBD fitted on the 39-week calibration period as Fader, Hardie
/// and Lee (2005) did: the published parameters come back.
#[tokio::test]
async fn orders_imported_then_models_fitted_on_cdnow() {
    let dir = temp_dir();
    let db = dir.join("kehu.db");
    let mut csv = String::from("订单号,外部编号,日期,金额,数量\n");
    let raw = cdnow_sample();
    for (i, line) in raw.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let d = f[2];
        csv.push_str(&format!(
            "CD{i},C{},{}-{}-{},{},{}\n",
            f[1],
            &d[..4],
            &d[4..6],
            &d[6..],
            f[4],
            f[3]
        ));
    }
    let file = dir.join("cdnow.csv");
    std::fs::write(&file, &csv).unwrap();
    let run = [
        "import",
        "orders",
        file.to_str().unwrap(),
        "--create-customers",
    ];
    let first = tally(&ok(&kehu(&db, &run, "")));
    assert_eq!(first, [6919, 0, 0, 0]);
    assert_eq!(number(&db, "SELECT COUNT(*) FROM customers").await, 2357);
    let again = tally(&ok(&kehu(&db, &run, "")));
    assert_eq!(again, [0, 0, 6919, 0], "imported once");
    assert_eq!(
        number(&db, "SELECT SUM(amount_fen) FROM orders").await,
        24_409_194
    );

    let out = ok(&kehu(
        &db,
        &[
            "models",
            "fit",
            "--until",
            "1997-09-30",
            "--unit",
            "week",
            "--json",
        ],
        "",
    ));
    let run: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["customers"], 2357);
    let bg = &run["models"][0];
    assert_eq!(bg["model"], "bg_nbd");
    assert_eq!(bg["customers"], 2357);
    assert_eq!(bg["converged"], true);
    for (k, want) in [("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)] {
        let got = bg["params"][k].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 0.0005 + 1e-9,
            "{k}: {got}, published {want}"
        );
    }
    let ll = bg["log_likelihood"].as_f64().unwrap();
    assert!((ll - -9582.4).abs() <= 0.05, "log-likelihood {ll}");
    assert_eq!(run["models"][1]["model"], "pareto_nbd");
    assert_eq!(run["models"][2]["model"], "gamma_gamma");
    assert!(
        run["models"][2]["customers"].as_u64().unwrap() < 2357,
        "repeat buyers only"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// created, updated, unchanged, rejected of an import's report.
fn tally(out: &str) -> [usize; 4] {
    let words: Vec<usize> = counts(out)
        .split(", ")
        .map(|p| p.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    [words[0], words[1], words[2], words[3]]
}

/// A file of `n` customers (one of every 7 without a mobile, found again by
/// e-mail), as a sheet exported from another system would hold them.
fn many(n: usize) -> String {
    let mut s = String::from("外部编号,姓名,手机,邮箱,公司\n");
    for i in 0..n {
        let mobile = if i % 7 == 0 {
            String::new()
        } else {
            format!("139{i:08}")
        };
        s.push_str(&format!(
            "M{i},客户{i},{mobile},c{i}@example.com,公司{}\n",
            i % 13
        ));
    }
    s
}

#[tokio::test]
async fn a_file_cut_short_then_imported_whole_makes_no_duplicates() {
    let dir = temp_dir();
    let db = dir.join("kehu.db");
    let whole = many(1_300);
    // The first run stopped part-way through a row (a crash, a full disk).
    let cut = &whole[..whole.len() * 2 / 3];
    let file = dir.join("part.csv");
    std::fs::write(&file, cut).unwrap();
    let first = tally(&ok(&kehu(
        &db,
        &["import", "customers", file.to_str().unwrap()],
        "",
    )));
    // Every whole row went in; the fragment at the end went in or was refused.
    let whole_rows = cut.lines().count() - 2;
    assert!(
        first[0] == whole_rows || first[0] == whole_rows + 1,
        "{first:?}"
    );
    assert_eq!(first[0] + first[3], whole_rows + 1);
    std::fs::write(&file, &whole).unwrap();
    let second = tally(&ok(&kehu(
        &db,
        &["import", "customers", file.to_str().unwrap()],
        "",
    )));
    assert_eq!(
        second[0],
        1_300 - first[0],
        "only the rest is new: {second:?}"
    );
    assert_eq!(second[3], 0);
    assert_eq!(second[1] + second[2], first[0]);
    let store = Db::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let n = store
        .conn()
        .scalar(Query::new("SELECT COUNT(*) FROM customers"))
        .await
        .unwrap();
    assert_eq!(n, 1_300);
    // Rows across batch boundaries match each other: a later row with an
    // earlier row's e-mail and no external id updates that customer.
    let later = dir.join("later.csv");
    std::fs::write(&later, "姓名,邮箱,城市\n客户7改,c7@example.com,杭州\n").unwrap();
    let out = ok(&kehu(
        &db,
        &["import", "customers", later.to_str().unwrap()],
        "",
    ));
    assert_eq!(
        counts(&out),
        "created 0, updated 1, unchanged 0, rejected 0"
    );
    let (name, city): (String, Option<String>) = store
        .conn()
        .fetch_one(Query::new(
            "SELECT name, city FROM customers WHERE external_id = 'M7'",
        ))
        .await
        .unwrap();
    assert_eq!((name.as_str(), city.as_deref()), ("客户7改", Some("杭州")));
    store.close().await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn rows_cut_or_garbled_are_refused_and_the_rest_imported() {
    let dir = temp_dir();
    let db = dir.join("kehu.db");
    let file = dir.join("customers.csv");
    let rejects = dir.join("rejects.csv");
    let import = |extra: &[&str]| {
        let mut args = vec!["import", "customers", file.to_str().unwrap()];
        args.extend(extra);
        tally(&ok(&kehu(&db, &args, "")))
    };
    // Cut inside a character of a row without external id, mobile or
    // e-mail: that row is refused, so the whole file later adds it once.
    let whole = "姓名,手机,邮箱,公司\n张伟,13812345678,zw@example.com,北京科技\n\
                 李娜,13900001111,lina@example.com,上海贸易\n王芳,,,深圳\n";
    let cut = &whole.as_bytes()[..whole.find("芳").unwrap() + 2];
    std::fs::write(&file, cut).unwrap();
    assert_eq!(import(&[]), [2, 0, 0, 1]);
    std::fs::write(&file, whole).unwrap();
    assert_eq!(import(&[]), [1, 0, 2, 0]);
    assert_eq!(
        number(&db, "SELECT COUNT(*) FROM customers WHERE name LIKE '王%'").await,
        1
    );

    // A UTF-8 file with a stray Latin-1 byte stays UTF-8: only the row
    // holding it is refused, and the reason names its column.
    let mut bytes = "外部编号,姓名,手机,公司\n".as_bytes().to_vec();
    for i in 0..5 {
        bytes.extend(format!("W{i},张三{i},1370000000{i},北京公司\n").as_bytes());
    }
    bytes.extend_from_slice(b"W9,Jos\xe9,13700000009,ACME\n");
    std::fs::write(&file, &bytes).unwrap();
    assert_eq!(
        import(&["--rejects", rejects.to_str().unwrap()]),
        [5, 0, 0, 1]
    );
    assert_eq!(
        number(
            &db,
            "SELECT COUNT(*) FROM customers WHERE name = '张三0' AND company = '北京公司'"
        )
        .await,
        1
    );
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    assert!(rejected.contains("name: 含有无法识别的字符"), "{rejected}");

    // Old Mac line breaks (CR only) number the rows. A row with filled
    // cells past the headers (an unquoted comma) is refused, not cut
    // down; in the rejects file its reasons come before those cells.
    std::fs::write(
        &file,
        "姓名,手机\r甲,13800000201\r乙,123\r丙,13800000203,多余1,多余2\r,13800000204,多余\r",
    )
    .unwrap();
    assert_eq!(
        import(&["--rejects", rejects.to_str().unwrap()]),
        [1, 0, 0, 3]
    );
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    let lines: Vec<&str> = rejected.lines().collect();
    assert_eq!(lines[0], "\u{feff}行号/line,姓名,手机,错误/errors");
    assert!(lines[1].starts_with("3,乙,123,mobile: "), "{rejected}");
    assert!(
        lines[2].starts_with("4,丙,13800000203,file: 有 2 个单元格没有列标题（多余1、多余2）"),
        "{rejected}"
    );
    assert!(lines[2].ends_with(",多余1,多余2"), "{rejected}");
    assert!(lines[3].starts_with("5,,13800000204,"), "{rejected}");
    assert!(lines[3].ends_with(",多余"), "{rejected}");

    // An empty file, and one that is no workbook: said plainly, and each
    // run has its job record, failed.
    std::fs::write(&file, "").unwrap();
    let out = kehu(&db, &["import", "customers", file.to_str().unwrap()], "");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("文件是空的"), "{err}");
    let book = dir.join("cut.xlsx");
    std::fs::write(&book, b"PK\x03\x04 not a whole workbook").unwrap();
    let out = kehu(&db, &["import", "customers", book.to_str().unwrap()], "");
    assert!(!out.status.success());
    assert_eq!(
        number(
            &db,
            "SELECT COUNT(*) FROM import_jobs WHERE status = 'failed' AND error IS NOT NULL"
        )
        .await,
        2
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// One number from the SQLite database at `db`.
async fn number(db: &Path, sql: &str) -> i64 {
    let store = Db::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let n = store.conn().scalar(Query::new(sql)).await.unwrap();
    store.close().await;
    n
}

#[tokio::test]
async fn export_customers_with_filters_and_import_them_back() {
    use kehu_domain::export::{Format, CUSTOMER_COLUMNS};
    use kehu_store::testing::read_export;
    let dir = temp_dir();
    let db = dir.join("kehu.db");
    ok(&kehu(&db, &["demo", "--customers", "150"], ""));
    let export = |format: &str, out: &Path, filters: &[&str]| {
        let mut args = vec!["export", "customers", "--format", format];
        args.extend(["--out", out.to_str().unwrap()]);
        args.extend(filters);
        kehu(&db, &args, "")
    };
    let all = dir.join("all.csv");
    let out = ok(&export("csv", &all, &[]));
    assert!(out.starts_with("exported 150 customers to "), "{out}");
    let rows = read_export(Format::Csv, &std::fs::read(&all).unwrap());
    assert_eq!(rows.len(), 151);
    assert_eq!(rows[0], CUSTOMER_COLUMNS);

    // The list's filters and sort, as flags.
    let some = dir.join("agent1-a.xlsx");
    let filters = ["--owner", "agent1", "--grade", "A", "--sort", "-name"];
    let out = ok(&export("xlsx", &some, &filters));
    let n = number(&db, "SELECT COUNT(*) FROM customers c JOIN users u ON u.id = c.owner_id WHERE u.login = 'agent1' AND c.grade = 'A'").await;
    assert!(n > 0);
    assert!(out.starts_with(&format!("exported {n} customers")), "{out}");
    let rows = read_export(Format::Xlsx, &std::fs::read(&some).unwrap());
    assert_eq!(rows.len() as i64, n + 1);
    assert!(rows[1..].iter().all(|r| r[12] == "A" && r[16] == "李娜"));

    // Bad flags are refused and write nothing.
    let nothing = dir.join("nothing.csv");
    for bad in [
        ("pdf", &[][..]),
        ("csv", &["--owner", "nobody"][..]),
        ("csv", &["--grade", "Z"][..]),
        ("csv", &["--sort", "price"][..]),
    ] {
        let o = export(bad.0, &nothing, bad.1);
        assert!(!o.status.success(), "{bad:?}");
        assert!(!nothing.exists(), "{bad:?}");
    }

    // The export reads back in as it is: nothing changes.
    let import = ["import", "customers", all.to_str().unwrap()];
    let again = counts(&ok(&kehu(&db, &import, "")));
    assert_eq!(again, "created 0, updated 0, unchanged 150, rejected 0");
    let exports = number(
        &db,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'export' AND actor_login = 'system:export'",
    )
    .await;
    assert_eq!(exports, 2, "every export is audited");
    std::fs::remove_dir_all(&dir).ok();
}
