//! Mobile numbers. Mainland numbers are 11 digits starting with 1[3-9] and
//! are kept in that form; "+86 138-1234-5678" and "0086 13812345678" parse
//! to the same value. Other countries are kept as E.164 ("+85291234567").

use crate::Problem;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mobile(String);

impl Mobile {
    pub fn parse(raw: &str) -> Result<Mobile, Problem> {
        // Chinese input methods often type full-width digits and signs.
        let half = crate::text::half_width(raw);
        let trimmed = half.trim();
        // A number a spreadsheet or pandas wrote as a float: 13800138000.0.
        let trimmed = match trimmed.split_once('.') {
            Some((whole, zeros))
                if !whole.is_empty()
                    && whole.bytes().all(|b| b.is_ascii_digit())
                    && !zeros.is_empty()
                    && zeros.bytes().all(|b| b == b'0') =>
            {
                whole
            }
            _ => trimmed,
        };
        let mut digits = String::with_capacity(trimmed.len());
        let mut plus = false;
        for (i, c) in trimmed.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => plus = true,
                ' ' | '-' | '(' | ')' | '.' | '\u{200B}' | '\u{2060}' | '\u{FEFF}' => {}
                _ => return Err(Problem::InvalidMobile),
            }
        }
        let international = if plus {
            Some(digits.as_str())
        } else {
            digits.strip_prefix("00")
        };
        let national = match international {
            Some(rest) => match rest.strip_prefix("86") {
                Some(cn) => cn.to_string(),
                None => {
                    return if (8..=15).contains(&rest.len()) && !rest.starts_with('0') {
                        Ok(Mobile(format!("+{rest}")))
                    } else {
                        Err(Problem::InvalidMobile)
                    };
                }
            },
            // The country code without its "+": 8613800138000.
            None if digits.len() == 13 && digits.starts_with("86") => digits[2..].to_string(),
            None => digits,
        };
        let b = national.as_bytes();
        if b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
            Ok(Mobile(national))
        } else {
            Err(Problem::InvalidMobile)
        }
    }

    /// Parses an optional number; blank means none.
    pub fn parse_optional(raw: &str) -> Result<Option<Mobile>, Problem> {
        if raw.trim().is_empty() {
            Ok(None)
        } else {
            Mobile::parse(raw).map(Some)
        }
    }

    /// Wraps a value read back from storage, which was parsed when written.
    pub fn from_stored(s: String) -> Mobile {
        Mobile(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four digits (手机尾号), the usual way to look a caller up.
    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    /// 138****5678: keeps the first three and last four digits.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks any phone-like text, keeping the first three and last four
/// characters when there are enough of them.
pub fn mask(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

impl fmt::Display for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mainland_forms_normalise() {
        for raw in [
            "13812345678",
            " 138 1234 5678 ",
            "138-1234-5678",
            "+86 138 1234 5678",
            "+8613812345678",
            "008613812345678",
            "8613812345678",
            "13812345678.0",
            "13812345678.00",
            "138.1234.5678",
            "138\u{200B}1234\u{200B}5678",
        ] {
            assert_eq!(Mobile::parse(raw).unwrap().as_str(), "13812345678", "{raw}");
        }
    }

    #[test]
    fn bad_numbers_are_refused() {
        for raw in [
            "",
            "1381234567",
            "138123456789",
            "12812345678",
            "23812345678",
            "abc",
            "138a2345678",
            "+86 12812345678",
            "+1",
            "138+12345678",
            "13812345678.5",
            "8713812345678",
        ] {
            assert_eq!(Mobile::parse(raw), Err(Problem::InvalidMobile), "{raw}");
        }
    }

    #[test]
    fn full_width_input_is_accepted() {
        assert_eq!(
            Mobile::parse("１３８　１２３４　５６７８")
                .unwrap()
                .as_str(),
            "13812345678"
        );
        assert_eq!(
            Mobile::parse("＋８６－１３８１２３４５６７８")
                .unwrap()
                .as_str(),
            "13812345678"
        );
    }

    #[test]
    fn international_numbers_keep_their_country_code() {
        assert_eq!(
            Mobile::parse("+852 9123 4567").unwrap().as_str(),
            "+85291234567"
        );
        assert_eq!(
            Mobile::parse("00447911123456").unwrap().as_str(),
            "+447911123456"
        );
    }

    #[test]
    fn masking_and_suffix() {
        let m = Mobile::parse("13812345678").unwrap();
        assert_eq!(m.masked(), "138****5678");
        assert_eq!(m.last4(), "5678");
        assert_eq!(mask("+85291234567"), "+85*****4567");
        assert_eq!(mask("1234"), "****");
    }
}
