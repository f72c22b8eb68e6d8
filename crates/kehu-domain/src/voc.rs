//! Voice of the customer: the words customers use in complaints and survey
//! comments, found by Chinese word segmentation (jieba), counted as the
//! number of texts that mention each word, and compared between two
//! periods to show what is rising.

use jieba_rs::Jieba;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

fn jieba() -> &'static Jieba {
    static J: OnceLock<Jieba> = OnceLock::new();
    J.get_or_init(Jieba::new)
}

/// Words too common in any complaint to say anything about one.
const STOPWORDS: &[&str] = &[
    "我们",
    "你们",
    "他们",
    "她们",
    "它们",
    "自己",
    "一个",
    "一下",
    "一些",
    "这个",
    "那个",
    "这些",
    "那些",
    "这样",
    "那样",
    "怎么",
    "什么",
    "为什么",
    "没有",
    "不是",
    "就是",
    "还是",
    "还有",
    "已经",
    "可以",
    "可能",
    "因为",
    "所以",
    "但是",
    "而且",
    "如果",
    "然后",
    "现在",
    "时候",
    "非常",
    "比较",
    "特别",
    "真的",
    "而是",
    "之后",
    "以后",
    "之前",
    "以前",
    "一直",
    "一次",
    "两次",
    "问题",
    "情况",
    "客户",
    "您好",
    "你好",
    "谢谢",
    "麻烦",
    "希望",
    "请问",
    "感觉",
    "觉得",
    "知道",
    "需要",
    "要求",
    "进行",
    "出现",
    "发现",
    "的话",
    "有点",
    "一点",
    "东西",
    "事情",
    "今天",
    "昨天",
    "明天",
    "这里",
    "那里",
    "公司",
    "你们家",
    "是不是",
    "有没有",
];

/// The distinct words of a text worth counting: at least two characters,
/// holding a letter (Chinese or Latin), not a stop word; Latin folded to
/// lower case.
pub fn words(text: &str) -> HashSet<String> {
    let stop: &HashSet<&str> = {
        static S: OnceLock<HashSet<&'static str>> = OnceLock::new();
        S.get_or_init(|| STOPWORDS.iter().copied().collect())
    };
    jieba()
        .cut(text, true)
        .into_iter()
        .map(|t| t.word.trim())
        .filter(|w| w.chars().count() >= 2 && w.chars().any(char::is_alphabetic))
        .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
        .filter(|w| !stop.contains(w))
        .map(|w| w.to_lowercase())
        .collect()
}

/// How many of `texts` mention each word.
pub fn mentions<'a>(texts: impl IntoIterator<Item = &'a str>) -> HashMap<String, u64> {
    let sets: Vec<HashSet<String>> = texts.into_iter().map(words).collect();
    tally(&sets)
}

/// How many of the texts, given as their [`words`], mention each word.
pub fn tally<'a>(texts: impl IntoIterator<Item = &'a HashSet<String>>) -> HashMap<String, u64> {
    let mut out: HashMap<String, u64> = HashMap::new();
    for set in texts {
        for w in set {
            *out.entry(w.clone()).or_default() += 1;
        }
    }
    out
}

/// A word customers used, in this period and the one before.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Keyword {
    pub word: String,
    /// Texts of this period that mention it.
    pub now: u64,
    /// Texts of the previous period that mention it.
    pub before: u64,
}

impl Keyword {
    /// The change of its share of texts, in percent (`None` when it was
    /// not mentioned before).
    pub fn trend(&self, texts_now: u64, texts_before: u64) -> Option<f64> {
        if self.before == 0 || texts_now == 0 || texts_before == 0 {
            return None;
        }
        let share_now = self.now as f64 / texts_now as f64;
        let share_before = self.before as f64 / texts_before as f64;
        Some((share_now / share_before - 1.0) * 100.0)
    }
}

/// The `top` most mentioned words of this period, with their mentions in
/// the previous one; ties broken by the word, so the order is stable.
pub fn top_keywords(
    now: &HashMap<String, u64>,
    before: &HashMap<String, u64>,
    top: usize,
) -> Vec<Keyword> {
    let mut v: Vec<Keyword> = now
        .iter()
        .map(|(w, n)| Keyword {
            word: w.clone(),
            now: *n,
            before: before.get(w).copied().unwrap_or(0),
        })
        .collect();
    v.sort_by(|a, b| b.now.cmp(&a.now).then_with(|| a.word.cmp(&b.word)));
    v.truncate(top);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_chinese_and_drops_stop_words() {
        let w = words("我们的洗衣机漏水了，维修师傅上门两次还是漏水，非常失望！");
        assert!(w.contains("洗衣机"), "{w:?}");
        assert!(w.contains("漏水"), "{w:?}");
        assert!(w.contains("失望"), "{w:?}");
        assert!(!w.contains("我们") && !w.contains("非常") && !w.contains("还是"));
        assert!(w.iter().all(|x| x.chars().count() >= 2));
        // A word counts once per text however often it is said.
        let m = mentions(["漏水漏水漏水", "漏水", "送货太慢"]);
        assert_eq!(m.get("漏水"), Some(&2));
        assert!(words("APP 闪退 2026").contains("app"));
        assert!(!words("12345 678")
            .iter()
            .any(|x| x.chars().all(|c| c.is_ascii_digit())));
    }

    #[test]
    fn top_keywords_compare_periods() {
        let now = mentions(["物流太慢", "物流慢，包装破损", "包装破损"]);
        let before = mentions(["物流太慢", "客服态度差"]);
        let top = top_keywords(&now, &before, 10);
        let wl = top.iter().find(|k| k.word == "物流").unwrap();
        assert_eq!((wl.now, wl.before), (2, 1));
        // 2 of 3 now against 1 of 2 before: +33 %.
        assert!((wl.trend(3, 2).unwrap() - 33.333).abs() < 0.01);
        let pb = top.iter().find(|k| k.word == "破损").unwrap();
        assert_eq!(pb.trend(3, 2), None);
        assert!(top.windows(2).all(|w| w[0].now >= w[1].now));
    }
}
