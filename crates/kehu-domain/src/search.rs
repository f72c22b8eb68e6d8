//! What the one search box understands, and the index terms that let a
//! database answer it without scanning every customer.
//!
//! Names, company names and contact names are indexed as overlapping pairs
//! of characters (bigrams) after folding (full-width to half-width, lower
//! case in every script, spaces dropped), so any fragment of two characters
//! or more finds them on SQLite and PostgreSQL alike. A name's first
//! character is indexed on its own, so one character finds a surname.
//! Pinyin, phone numbers and e-mail addresses are matched by prefix on
//! their own indexed columns; an e-mail's domain is a term of its own
//! (`@example.com`), so a company's people are found by their domain.
//! The first one and two letters of a name's pinyin and initials and of an
//! e-mail address are terms too (`~:z`, `~:zh`, `~:zw`): so short a prefix
//! is shared by a large share of all customers, and as a term it is read
//! newest first and stops early, where a range of the column would be read
//! whole and sorted.

use crate::name::pinyin_keys;
use crate::text::half_width;
use std::collections::BTreeSet;

/// The most bigrams of a query that are looked up (a longer query still
/// matches: its first bigrams narrow the candidates enough).
const MAX_QUERY_GRAMS: usize = 8;
/// Characters of a query that count.
const MAX_QUERY_CHARS: usize = 100;

/// Text as it is indexed and searched: half-width, lower case, without
/// spaces or control characters.
pub fn fold(s: &str) -> String {
    half_width(s)
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Legal forms that end most company names: as terms they would match half
/// of all customers and find nobody in particular, so they are not indexed.
const LEGAL_FORMS: &[&str] = &["股份有限公司", "有限责任公司", "有限公司", "公司"];

/// A folded name without its legal form ("华联商贸有限公司" → "华联商贸").
fn without_legal_form(folded: &str) -> &str {
    LEGAL_FORMS
        .iter()
        .find_map(|f| folded.strip_suffix(f))
        .unwrap_or(folded)
}

/// A query without a legal form or the start of one at its end ("华联有限"
/// → "华联"), as those characters are not indexed.
fn query_without_legal_form(folded: &str) -> &str {
    for (start, _) in folded.char_indices() {
        let tail = &folded[start..];
        if LEGAL_FORMS.iter().any(|f| f.starts_with(tail)) {
            return &folded[..start];
        }
    }
    folded
}

fn bigrams(folded: &str) -> impl Iterator<Item = String> + '_ {
    let chars: Vec<char> = folded.chars().collect();
    (0..chars.len().saturating_sub(1))
        .map(move |i| chars[i..i + 2].iter().collect::<String>())
        .collect::<Vec<_>>()
        .into_iter()
}

/// The surname term of a name: its first character, marked.
fn initial(folded: &str) -> Option<String> {
    folded.chars().next().map(|c| format!("^{c}"))
}

/// The longest pinyin, initials or e-mail prefix that is a term of its
/// own; a longer one is matched as a range of its column.
pub const PREFIX_TERM_CHARS: usize = 2;

/// The mark of a prefix term: with it a prefix term has at least three
/// characters, and so is never a bigram or a surname term.
const PREFIX_MARK: &str = "~:";

fn prefix_term(prefix: &str) -> String {
    format!("{PREFIX_MARK}{prefix}")
}

/// The prefix terms of a pinyin, initials or folded e-mail address.
fn prefix_terms(key: &str) -> impl Iterator<Item = String> + '_ {
    key.char_indices()
        .skip(1)
        .map(|(i, _)| i)
        .chain(std::iter::once(key.len()))
        .take(PREFIX_TERM_CHARS)
        .filter(|&end| end > 0)
        .map(|end| prefix_term(&key[..end]))
}

/// The term of an e-mail address's domain.
fn domain_term(email: &str) -> Option<String> {
    email
        .rsplit_once('@')
        .map(|(_, d)| format!("@{}", fold(d)))
        .filter(|t| t.len() > 1)
}

/// The index terms of a customer: bigrams of the name, the company and the
/// contacts' names, the first character of the name, the e-mail domain,
/// and the short prefixes of the name's pinyin and initials and of the
/// e-mail address.
pub fn terms<'a>(
    name: &str,
    company: Option<&'a str>,
    email: Option<&str>,
    contacts: impl IntoIterator<Item = &'a str>,
) -> BTreeSet<String> {
    let keys = pinyin_keys(name);
    let email_key = email.map(fold).unwrap_or_default();
    let mut out: BTreeSet<String> = [&keys.full, &keys.initials, &email_key]
        .into_iter()
        .flat_map(|k| prefix_terms(k))
        .collect();
    let name = fold(name);
    out.extend(bigrams(without_legal_form(&name)));
    out.extend(initial(&name));
    out.extend(email.and_then(domain_term));
    for text in company.into_iter().chain(contacts) {
        let f = fold(text);
        out.extend(bigrams(without_legal_form(&f)));
        out.extend(initial(&f).filter(|_| f.chars().count() == 1));
    }
    out
}

/// A search box entry, taken apart into what each index can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// The folded text (for ranking exact and prefix matches).
    pub text: String,
    /// Index terms that must all be present (bigrams, or one surname term).
    pub terms: Vec<String>,
    /// Lower-case letters and digits: a pinyin (full or initials) prefix.
    pub pinyin: Option<String>,
    /// Three or more digits (spaces, `-` and `+` allowed): a mobile prefix,
    /// or with exactly four, the last four digits.
    pub digits: Option<String>,
    /// A prefix of an e-mail address (ASCII with a letter or a digit).
    pub email: Option<String>,
    /// The prefix term of a text of at most [`PREFIX_TERM_CHARS`] that
    /// is a pinyin or e-mail prefix: it stands for their range lookups.
    pub prefix: Option<String>,
    /// The domain term of a query that looks like one (`example.com`,
    /// `@example.com`).
    pub domain: Option<String>,
}

impl SearchQuery {
    pub fn parse(raw: &str) -> Option<SearchQuery> {
        let text: String = fold(raw).chars().take(MAX_QUERY_CHARS).collect();
        if text.is_empty() {
            return None;
        }
        let mut terms: Vec<String> = Vec::new();
        if text.chars().count() == 1 {
            terms.extend(initial(&text));
        } else {
            for g in bigrams(query_without_legal_form(&text)) {
                if !terms.contains(&g) && terms.len() < MAX_QUERY_GRAMS {
                    terms.push(g);
                }
            }
        }
        let trimmed = half_width(raw);
        let trimmed = trimmed.trim();
        let phone_like = !trimmed.is_empty()
            && trimmed
                .chars()
                .all(|c| c.is_ascii_digit() || " -+".contains(c));
        // A whole mainland number in any form (+86 138..., 0086...) is
        // looked up as stored.
        let digits: String = match crate::mobile::Mobile::parse(trimmed) {
            Ok(m) if !m.as_str().starts_with('+') => m.as_str().to_string(),
            _ => trimmed.chars().filter(char::is_ascii_digit).collect(),
        };
        let digits = (phone_like && digits.len() >= 3).then_some(digits);
        let pinyin = text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            .then(|| text.clone());
        let email = (text.is_ascii() && text.chars().any(|c| c.is_ascii_alphanumeric()))
            .then(|| text.clone());
        let prefix = ((pinyin.is_some() || email.is_some())
            && text.chars().count() <= PREFIX_TERM_CHARS)
            .then(|| prefix_term(&text));
        let bare = text.strip_prefix('@').unwrap_or(&text);
        let domain = (text.is_ascii() && bare.contains('.') && !bare.contains('@'))
            .then(|| format!("@{bare}"));
        Some(SearchQuery {
            text,
            terms,
            pinyin,
            digits,
            email,
            domain,
            prefix,
        })
    }
}

/// The smallest string greater than every string starting with `prefix`
/// (for `col >= prefix AND col < prefix_end(prefix)` on an index). `None`
/// when no such bound exists.
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = last as u32 + 1;
        // Skip the surrogate gap.
        if (0xD800..0xE000).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn terms_cover_every_fragment_of_two() {
        let t = terms(
            "欧阳娜娜",
            Some("杭州 华联"),
            Some("nana@Example.COM"),
            ["王芳"],
        );
        assert_eq!(
            t,
            set(&[
                "^欧",
                "欧阳",
                "阳娜",
                "娜娜",
                "杭州",
                "州华",
                "华联",
                "王芳",
                "@example.com",
                // ouyangnana, oynn, nana@example.com
                "~:o",
                "~:ou",
                "~:oy",
                "~:n",
                "~:na",
            ])
        );
        // Every two-character fragment of the name is a term.
        let name: Vec<char> = "欧阳娜娜".chars().collect();
        for w in name.windows(2) {
            let q = SearchQuery::parse(&w.iter().collect::<String>()).unwrap();
            assert!(q.terms.iter().all(|g| t.contains(g)), "{w:?}");
        }
    }

    #[test]
    fn legal_forms_are_not_terms() {
        let t = terms("杭州华联商贸有限公司", None, None, []);
        assert!(!t.contains("公司") && !t.contains("有限") && !t.contains("贸有"));
        assert!(t.contains("华联") && t.contains("商贸"));
        assert_eq!(
            terms("鑫源股份有限公司", None, None, []),
            terms("鑫源公司", None, None, [])
        );
        // A query that runs into the legal form still finds the company.
        for q in ["华联商贸有限公司", "华联有限", "商贸有", "华联商贸公司"] {
            let q = SearchQuery::parse(q).unwrap();
            assert!(
                !q.terms.is_empty() && q.terms.iter().all(|g| t.contains(g)),
                "{q:?}"
            );
        }
        // A legal form alone finds nothing by name.
        assert!(SearchQuery::parse("有限公司").unwrap().terms.is_empty());
        // Names that merely contain the characters keep them.
        assert!(terms("公司通", None, None, []).contains("公司"));
    }

    #[test]
    fn case_and_width_fold_in_every_script() {
        assert_eq!(fold("ÉCOLE Française"), "écolefrançaise");
        assert_eq!(fold("ＡＢＣ　１２"), "abc12");
        let t = terms("ÉCOLE", None, None, []);
        let q = SearchQuery::parse("école").unwrap();
        assert!(q.terms.iter().all(|g| t.contains(g)));
    }

    #[test]
    fn one_character_is_a_surname() {
        let q = SearchQuery::parse("张").unwrap();
        assert_eq!(q.terms, vec!["^张"]);
        assert!(terms("张伟", None, None, []).contains("^张"));
        // A single-character company is findable too, but a company's first
        // character is not a surname.
        assert!(terms("李娜", Some("鑫"), None, []).contains("^鑫"));
        assert!(!terms("李娜", Some("鑫源"), None, []).contains("^鑫"));
    }

    #[test]
    fn queries_are_taken_apart() {
        let q = SearchQuery::parse("138 1234").unwrap();
        assert_eq!(q.digits.as_deref(), Some("1381234"));
        assert_eq!(q.pinyin.as_deref(), Some("1381234"));
        for whole in ["+86 138 1234 5678", "+8613812345678", "008613812345678"] {
            let q = SearchQuery::parse(whole).unwrap();
            assert_eq!(q.digits.as_deref(), Some("13812345678"), "{whole}");
        }
        let q = SearchQuery::parse("５６７８").unwrap();
        assert_eq!(q.digits.as_deref(), Some("5678"));
        let q = SearchQuery::parse("ZW").unwrap();
        assert_eq!(q.pinyin.as_deref(), Some("zw"));
        assert_eq!(q.email.as_deref(), Some("zw"));
        assert_eq!(q.digits, None);
        let q = SearchQuery::parse("Nana@Example").unwrap();
        assert_eq!(q.email.as_deref(), Some("nana@example"));
        assert_eq!((q.pinyin, q.domain), (None, None));
        for d in ["Example.COM", "@example.com"] {
            let q = SearchQuery::parse(d).unwrap();
            assert_eq!(q.domain.as_deref(), Some("@example.com"));
        }
        assert_eq!(SearchQuery::parse("a@example.com").unwrap().domain, None);
        let q = SearchQuery::parse("张伟").unwrap();
        assert_eq!((q.pinyin, q.email, q.digits), (None, None, None));
        assert_eq!(SearchQuery::parse("  　"), None);
        // Repeated bigrams are looked up once; long queries are bounded.
        assert_eq!(SearchQuery::parse("娜娜娜").unwrap().terms, vec!["娜娜"]);
        let long = "一二三四五六七八九十甲乙丙丁";
        assert_eq!(SearchQuery::parse(long).unwrap().terms.len(), 8);
    }

    #[test]
    fn short_prefixes_are_terms() {
        let t = terms("张伟", None, Some("13800138000@QQ.com"), []);
        // zhangwei, zw, 13800138000@qq.com: one and two letters each.
        for p in ["z", "zh", "zw", "1", "13"] {
            let q = SearchQuery::parse(p).unwrap();
            assert_eq!(q.prefix, Some(format!("~:{p}")), "{p}");
            assert!(t.contains(q.prefix.as_ref().unwrap()), "{p}");
        }
        assert_eq!(t.iter().filter(|t| t.starts_with("~:")).count(), 5);
        // Longer prefixes, and text no pinyin or address holds, are not.
        for q in ["zha", "138", "张伟", "张"] {
            assert_eq!(SearchQuery::parse(q).unwrap().prefix, None, "{q}");
        }
        // A one-letter name, and a customer without pinyin or address.
        assert!(terms("A", None, None, []).contains("~:a"));
        assert!(!terms("☆", None, None, [])
            .iter()
            .any(|t| t.starts_with("~:")));
        // A prefix term is never taken for a bigram or a surname term
        // (the name's bigrams "x~", "~:", ":a"; its pinyin "xa").
        let marked: BTreeSet<String> = terms("x~:a", None, None, [])
            .into_iter()
            .filter(|t| t.chars().count() >= 3)
            .collect();
        assert_eq!(marked, set(&["~:x", "~:xa"]));
        // The address's prefix also finds addresses that start with digits.
        let q = SearchQuery::parse("12").unwrap();
        assert_eq!(q.email.as_deref(), Some("12"));
    }

    #[test]
    fn prefix_bounds() {
        assert_eq!(prefix_end("zhang").as_deref(), Some("zhanh"));
        assert_eq!(prefix_end("ab\u{10FFFF}").as_deref(), Some("ac"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_end(""), None);
        for p in ["zhang", "138", "a@b"] {
            let end = prefix_end(p).unwrap();
            let inside = format!("{p}zzz");
            assert!(p <= inside.as_str() && inside.as_str() < end.as_str());
        }
    }
}
