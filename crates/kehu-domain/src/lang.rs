//! The user's language. zh-CN is the default; English is the second language.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Parses a cookie value or an `Accept-Language` header; anything that
    /// does not ask for English first is Chinese.
    pub fn from_tag(tag: &str) -> Lang {
        let first = tag
            .split(',')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if first.starts_with("en") {
            Lang::En
        } else {
            Lang::ZhCn
        }
    }

    /// Picks the text for this language.
    pub fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::ZhCn => zh,
            Lang::En => en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_only_when_asked_first() {
        assert_eq!(Lang::from_tag("en-US,en;q=0.9"), Lang::En);
        assert_eq!(Lang::from_tag("zh-CN,en;q=0.5"), Lang::ZhCn);
        assert_eq!(Lang::from_tag(""), Lang::ZhCn);
        assert_eq!(Lang::from_tag("EN"), Lang::En);
    }
}
