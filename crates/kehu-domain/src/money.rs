//! Money in integer fen (分, 1/100 yuan). Amounts are never floats: text in
//! yuan ("1,234.56", "¥12.3", "8 元") is parsed digit by digit, and sums use
//! checked arithmetic.

use crate::Problem;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of renminbi in fen. Negative values are refunds or credits;
/// callers that need a non-negative amount use [`Fen::parse_non_negative`].
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(pub i64);

/// The largest amount accepted from outside: 100 billion yuan. Far below
/// `i64::MAX`, so sums of many amounts cannot overflow in practice.
pub const MAX_FEN: i64 = 10_000_000_000_000;

impl Fen {
    pub const ZERO: Fen = Fen(0);

    /// Parses an amount written in yuan: optional sign, optional `¥`/`￥`
    /// before or `元` after, thousands separators (`,` or `，`), at most two
    /// decimals. Full-width digits are read as digits.
    pub fn parse_yuan(text: &str) -> Result<Fen, Problem> {
        let folded: String = text
            .trim()
            .chars()
            .map(|c| match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
                '．' => '.',
                '－' => '-',
                '＋' => '+',
                _ => c,
            })
            .collect();
        let mut s = folded.as_str();
        let mut negative = false;
        if let Some(rest) = s.strip_prefix('-') {
            negative = true;
            s = rest.trim_start();
        } else if let Some(rest) = s.strip_prefix('+') {
            s = rest.trim_start();
        }
        s = s
            .strip_prefix('¥')
            .or_else(|| s.strip_prefix('￥'))
            .unwrap_or(s)
            .trim_start();
        s = s.strip_suffix('元').unwrap_or(s).trim_end();
        if s.is_empty() {
            return Err(Problem::InvalidAmount);
        }
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (s, None),
        };
        let whole = parse_whole(whole)?;
        let frac = match frac {
            None => 0,
            Some(f) if f.is_empty() || f.len() > 2 || !f.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(Problem::InvalidAmount)
            }
            Some(f) => {
                let n: i64 = f.parse().map_err(|_| Problem::InvalidAmount)?;
                if f.len() == 1 {
                    n * 10
                } else {
                    n
                }
            }
        };
        let fen = whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(frac))
            .filter(|v| *v <= MAX_FEN)
            .ok_or(Problem::InvalidAmount)?;
        Ok(Fen(if negative { -fen } else { fen }))
    }

    /// [`Fen::parse_yuan`] refusing negative amounts.
    pub fn parse_non_negative(text: &str) -> Result<Fen, Problem> {
        let fen = Fen::parse_yuan(text)?;
        if fen.0 < 0 {
            return Err(Problem::InvalidAmount);
        }
        Ok(fen)
    }

    /// Whole fen from outside (the API takes integers): within ±[`MAX_FEN`].
    pub fn from_fen(value: i64) -> Result<Fen, Problem> {
        if value.abs() > MAX_FEN {
            return Err(Problem::InvalidAmount);
        }
        Ok(Fen(value))
    }

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    pub fn checked_sub(self, other: Fen) -> Option<Fen> {
        self.0.checked_sub(other.0).map(Fen)
    }

    pub fn checked_mul(self, times: i64) -> Option<Fen> {
        self.0.checked_mul(times).map(Fen)
    }

    /// Yuan with two decimals and no separators, as files and forms take
    /// it back: `1234.50`, `-0.05`.
    pub fn to_yuan_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

fn parse_whole(text: &str) -> Result<i64, Problem> {
    let digits: String = text.chars().filter(|c| *c != ',' && *c != '，').collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 15 {
        return Err(Problem::InvalidAmount);
    }
    // Separators, where present, must group by three: "1,234" but not "12,34".
    if digits.len() != text.chars().count() {
        let groups: Vec<&str> = text.split([',', '，']).collect();
        let first_ok = (1..=3).contains(&groups[0].len());
        if !first_ok || groups[1..].iter().any(|g| g.len() != 3) {
            return Err(Problem::InvalidAmount);
        }
    }
    digits.parse().map_err(|_| Problem::InvalidAmount)
}

/// `¥1,234.56`: for display.
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = (abs / 100).to_string();
        let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "{sign}¥{grouped}.{:02}", abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_yuan_as_written_in_china() {
        let cases = [
            ("1234.56", 123_456),
            ("1,234.5", 123_450),
            ("¥12", 1_200),
            ("￥ 0.05", 5),
            ("8 元", 800),
            ("１２．３", 1_230),
            ("-3.10", -310),
            ("  7.", -1),
            ("1.234", -1),
            ("12,34", -1),
            ("abc", -1),
            ("", -1),
            ("1e3", -1),
            ("999999999999999999", -1),
        ];
        for (text, want) in cases {
            let got = Fen::parse_yuan(text).map(|f| f.0).unwrap_or(-1);
            assert_eq!(got, want, "{text:?}");
        }
        assert_eq!(Fen::parse_non_negative("-1"), Err(Problem::InvalidAmount));
        assert_eq!(Fen::parse_yuan("100000000000").unwrap().0, MAX_FEN);
        assert!(Fen::parse_yuan("100000000000.01").is_err());
    }

    #[test]
    fn displays_with_groups() {
        assert_eq!(Fen(123_456_789).to_string(), "¥1,234,567.89");
        assert_eq!(Fen(-5).to_string(), "-¥0.05");
        assert_eq!(Fen(100).to_yuan_string(), "1.00");
        assert_eq!(Fen(-5).to_yuan_string(), "-0.05");
    }

    proptest! {
        #[test]
        fn yuan_text_round_trips(fen in -MAX_FEN..=MAX_FEN) {
            let f = Fen(fen);
            prop_assert_eq!(Fen::parse_yuan(&f.to_yuan_string()), Ok(f));
            prop_assert_eq!(Fen::parse_yuan(&f.to_string()), Ok(f));
        }
    }
}
