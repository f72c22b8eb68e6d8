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

/// Characters a text may not hold: control characters, and the marks that
/// reverse the direction text is shown in (a name that displays as
/// another).
fn forbidden(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
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
    let visible: String;
    let raw = if raw.contains(zero_width) {
        visible = raw.replace(zero_width, "");
        &visible
    } else {
        raw
    };
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().any(forbidden) {
        return Err(Problem::ControlCharacters);
    }
    if s.chars().count() > max {
        return Err(Problem::TooLong { max });
    }
    Ok(Some(s.to_string()))
}

/// Invisible characters pasted along with text (from web pages, chat
/// apps), dropped from single-line text: "张\u{200B}伟" is 张伟, and found
/// as its duplicate. Joiners, which emoji need, are kept.
fn zero_width(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}')
}

/// Like [`optional`] but for multi-line text: newlines and tabs are kept.
pub fn multiline(raw: &str, max: usize) -> Result<Option<String>, Problem> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars()
        .any(|c| forbidden(c) && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(Problem::ControlCharacters);
    }
    if s.chars().count() > max {
        return Err(Problem::TooLong { max });
    }
    Ok(Some(s.replace("\r\n", "\n")))
}

/// Parses an optional e-mail address (full-width letters as typed by a
/// Chinese input method read as ASCII), normalised to lower case.
pub fn email(raw: &str) -> Result<Option<String>, Problem> {
    let Some(s) = optional(&half_width(raw), 254)? else {
        return Ok(None);
    };
    let parsed: email_address::EmailAddress = s.parse().map_err(|_| Problem::InvalidEmail)?;
    // A CRM address needs a routable domain: reject "a@b".
    if !parsed.domain().contains('.') || s.contains(' ') {
        return Err(Problem::InvalidEmail);
    }
    Ok(Some(s.to_lowercase()))
}

/// Parses an optional calendar date as people write one: 2024-05-17,
/// 2024/5/17, 2024.5.17, 2024年5月17日, 20240517, with full-width digits,
/// and with a time of day after it (from a spreadsheet) ignored. The year
/// has four digits; month and day one or two.
pub fn date(raw: &str) -> Result<Option<chrono::NaiveDate>, Problem> {
    let half = half_width(raw);
    let s = half.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let day = s.split([' ', 'T']).next().unwrap_or(s);
    let day = day.strip_suffix(['日', '号']).unwrap_or(day);
    let parts: Vec<&str> = if day.len() == 8 && day.bytes().all(|b| b.is_ascii_digit()) {
        vec![&day[..4], &day[4..6], &day[6..]]
    } else {
        day.split(['-', '/', '.', '年', '月']).collect()
    };
    let number = |p: &str, len: std::ops::RangeInclusive<usize>| {
        (len.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
    };
    match parts.as_slice() {
        [y, m, d] => match (number(y, 4..=4), number(m, 1..=2), number(d, 1..=2)) {
            (Some(y), Some(m), Some(d)) => chrono::NaiveDate::from_ymd_opt(y as i32, m, d)
                .map(Some)
                .ok_or(Problem::InvalidDate),
            _ => Err(Problem::InvalidDate),
        },
        _ => Err(Problem::InvalidDate),
    }
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
    fn zero_width_spaces_are_dropped() {
        assert_eq!(required("张\u{200B}伟\u{FEFF}", 10).unwrap(), "张伟");
        assert_eq!(optional("\u{200B}", 10), Ok(None));
        assert_eq!(
            email("zw\u{200B}@example.com").unwrap().as_deref(),
            Some("zw@example.com")
        );
    }

    #[test]
    fn direction_marks_are_refused() {
        assert_eq!(
            required("张\u{202E}伟", 10),
            Err(Problem::ControlCharacters)
        );
        assert_eq!(
            multiline("a\n\u{2066}b", 10),
            Err(Problem::ControlCharacters)
        );
    }

    #[test]
    fn dates_as_people_write_them() {
        let d = chrono::NaiveDate::from_ymd_opt(1990, 5, 17);
        for raw in [
            "1990-05-17",
            "1990-5-17",
            "1990/5/17",
            "1990.05.17",
            "1990年5月17日",
            "1990年05月17号",
            "19900517",
            "１９９０－０５－１７",
            " 1990-05-17 00:00:00 ",
            "1990-05-17T08:30:00",
        ] {
            assert_eq!(date(raw), Ok(d), "{raw}");
        }
        assert_eq!(date(""), Ok(None));
        for raw in [
            "90-5-17",
            "1990-13-01",
            "1990-02-30",
            "5/17/1990",
            "1990-05",
            "199005170",
            "1990-5-17-1",
            "明天",
        ] {
            assert_eq!(date(raw), Err(Problem::InvalidDate), "{raw}");
        }
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
        assert_eq!(
            email("ｆｗ＠Ｅｘａｍｐｌｅ．com").unwrap().as_deref(),
            Some("fw@example.com")
        );
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
