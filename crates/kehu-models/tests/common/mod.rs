//! The reference Python with `lifetimes`, and reading the raw CDNOW
//! transactions it ships; shared by the integration tests.

#![allow(dead_code)]

use chrono::NaiveDate;
use kehu_models::Transaction;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

/// Runs the reference Python (`KEHU_LIFETIMES_PYTHON`, default the
/// virtualenv scripts/lifetimes-install makes) with `args`; its output.
/// Fails, saying how to install it, when it is missing.
pub fn python(args: &[&OsStr]) -> Vec<u8> {
    let python = std::env::var_os("KEHU_LIFETIMES_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME is not set");
            PathBuf::from(home).join(".cache/kehu-lifetimes/bin/python")
        });
    let help = "install the reference with scripts/lifetimes-install \
                (a virtualenv in ~/.cache/kehu-lifetimes with the pins of \
                scripts/lifetimes-requirements.txt), or point \
                KEHU_LIFETIMES_PYTHON at a Python that has lifetimes 0.11.3";
    let out = Command::new(&python)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; {help}", python.display()));
    assert!(
        out.status.success(),
        "{} {:?} failed ({}): {}\n{help}",
        python.display(),
        args,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The raw CDNOW sample as the lifetimes package ships it.
pub fn cdnow_sample() -> String {
    let code = "import os, lifetimes; print(os.path.join(os.path.dirname(lifetimes.__file__), 'datasets', 'CDNOW_sample.txt'))";
    let out = python(&[OsStr::new("-c"), OsStr::new(code)]);
    let path = String::from_utf8(out).expect("a path");
    let path = path.trim();
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// Parses CDNOW_sample.txt: whitespace-separated master id, sample id
/// (1..=2357, the customer key), date as YYYYMMDD, number of CDs, and the
/// amount in dollars with two decimals, read into integer cents ("fen").
pub fn parse_cdnow(text: &str) -> Vec<Transaction<u32>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(f.len(), 5, "bad CDNOW line {line:?}");
            let customer: u32 = f[1].parse().expect("customer id");
            let date = NaiveDate::parse_from_str(f[2], "%Y%m%d").expect("date");
            Transaction::dated(customer, date, parse_fen(f[4]))
        })
        .collect()
}

/// "29.33" → 2933, "0.5" → 50, "7" → 700.
pub fn parse_fen(s: &str) -> i64 {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    assert!(frac.len() <= 2, "more than two decimals in {s:?}");
    let whole: i64 = whole.parse().expect("amount");
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().expect("amount")
    };
    whole * 100 + frac
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}
