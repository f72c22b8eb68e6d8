//! The `kehu` command as an operator uses it: migrate, add users (creating
//! teams), create tokens, load demo data, back up a live database.

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
