//! Plain text inputs: trimmed, bounded, free of control characters.

use crate::Problem;

/// Turns full-width ASCII (１２３, ＡＢＣ, ＋) and the ideographic space,
/// as Chinese input methods type them, into their ordinary forms.
pub fn half_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect()
}

/// Trims and checks a required single-line text of at most `max` characters.
pub fn required(raw: &str, max: usize) -> Result<String, Problem> {
    match optional(raw, max)? {
        Some(s) => Ok(s),
        None => Err(Problem::Required),
    }
}

/// Trims and checks an optional single-line text; blank means absent.
pub fn optional(raw: &str, max: usize) -> Result<Option<String>, Problem> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().any(char::is_control) {
        return Err(Problem::ControlCharacters);
    }
    if s.chars().count() > max {
        return Err(Problem::TooLong { max });
    }
    Ok(Some(s.to_string()))
}

/// Like [`optional`] but for multi-line text: newlines and tabs are kept.
pub fn multiline(raw: &str, max: usize) -> Result<Option<String>, Problem> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(Problem::ControlCharacters);
    }
    if s.chars().count() > max {
        return Err(Problem::TooLong { max });
    }
    Ok(Some(s.replace("\r\n", "\n")))
}

/// Parses an optional e-mail address, normalised to lower case.
pub fn email(raw: &str) -> Result<Option<String>, Problem> {
    let Some(s) = optional(raw, 254)? else {
        return Ok(None);
    };
    let parsed: email_address::EmailAddress = s.parse().map_err(|_| Problem::InvalidEmail)?;
    // A CRM address needs a routable domain: reject "a@b".
    if !parsed.domain().contains('.') || s.contains(' ') {
        return Err(Problem::InvalidEmail);
    }
    Ok(Some(s.to_lowercase()))
}

/// Parses an optional calendar date written as YYYY-MM-DD.
pub fn date(raw: &str) -> Result<Option<chrono::NaiveDate>, Problem> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| Problem::InvalidDate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(required("  张伟 ", 10).unwrap(), "张伟");
        assert_eq!(required("   ", 10), Err(Problem::Required));
        assert_eq!(optional("", 10), Ok(None));
        assert_eq!(
            required("一二三四五六", 5),
            Err(Problem::TooLong { max: 5 })
        );
        assert_eq!(required("a\u{0}b", 5), Err(Problem::ControlCharacters));
        assert_eq!(multiline("a\r\nb", 5).unwrap().as_deref(), Some("a\nb"));
    }

    #[test]
    fn full_width_becomes_half_width() {
        assert_eq!(half_width("ｚｗ　１２３４＠ＱＱ．ｃｏｍ"), "zw 1234@QQ.com");
        assert_eq!(half_width("张伟"), "张伟");
    }

    #[test]
    fn emails() {
        assert_eq!(
            email(" Li@Example.COM ").unwrap().as_deref(),
            Some("li@example.com")
        );
        assert_eq!(email("").unwrap(), None);
        assert_eq!(email("not-an-email"), Err(Problem::InvalidEmail));
        assert_eq!(email("a@b"), Err(Problem::InvalidEmail));
        assert_eq!(email("a b@c.com"), Err(Problem::InvalidEmail));
    }

    #[test]
    fn dates() {
        assert_eq!(
            date("1990-02-28").unwrap(),
            chrono::NaiveDate::from_ymd_opt(1990, 2, 28)
        );
        assert_eq!(date("1990-02-30"), Err(Problem::InvalidDate));
        assert_eq!(date("28/02/1990"), Err(Problem::InvalidDate));
    }
}
