//! Reading the raw CDNOW transactions, shared by the integration tests.

use chrono::NaiveDate;
use kehu_models::Transaction;

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
