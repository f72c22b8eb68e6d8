//! Chinese names: surname split (compound surnames such as 欧阳 and 诸葛),
//! salutations (王先生, 梁小姐) and the pinyin keys that let "zhangwei" or
//! "zw" find 张伟.

use pinyin::ToPinyin;

/// Two-character surnames; a name starting with one of these has it as its
/// surname rather than the first character alone.
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "宇文",
    "司徒", "夏侯", "轩辕", "端木", "独孤", "南宫", "西门", "百里", "呼延", "万俟", "闻人", "澹台",
    "公冶", "宗政", "濮阳", "淳于", "单于", "太叔", "申屠", "钟离", "赫连", "拓跋", "第五", "司空",
    "司寇", "子车", "颛孙", "巫马", "公西", "漆雕", "乐正", "壤驷", "公良", "谷梁", "左丘", "东郭",
    "梁丘", "羊舌", "微生", "亓官", "仲孙",
];

/// Surnames read differently from the character's everyday reading.
const SURNAME_READINGS: &[(&str, &str)] = &[
    ("单", "shan"),
    ("曾", "zeng"),
    ("区", "ou"),
    ("仇", "qiu"),
    ("解", "xie"),
    ("朴", "piao"),
    ("查", "zha"),
    ("盖", "ge"),
    ("乐", "yue"),
    ("缪", "miao"),
    ("覃", "qin"),
    ("秘", "bi"),
    ("尉迟", "yuchi"),
    ("万俟", "moqi"),
    ("单于", "chanyu"),
    ("长孙", "zhangsun"),
    ("乐正", "yuezheng"),
];

/// The surname of a Chinese personal name: a compound surname when the name
/// starts with one (and has more than those two characters), else the first
/// character. Names in Latin script return their last word.
pub fn surname(name: &str) -> &str {
    let name = name.trim();
    if name.is_ascii() {
        return name.split_whitespace().last().unwrap_or("");
    }
    for c in COMPOUND_SURNAMES {
        if name.starts_with(c) && name.chars().count() > 2 {
            return &name[..c.len()];
        }
    }
    match name.char_indices().nth(1) {
        Some((i, _)) => &name[..i],
        None => name,
    }
}

/// The part of a name after its surname.
pub fn given_name(name: &str) -> &str {
    let name = name.trim();
    if name.is_ascii() {
        return name.split_whitespace().next().unwrap_or("");
    }
    &name[surname(name).len()..]
}

/// Pinyin search keys of a text: the full reading and the initials, both
/// lower-case without tones or spaces. Letters and digits are kept as they
/// are; other characters are dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinyinKeys {
    pub full: String,
    pub initials: String,
}

pub fn pinyin_keys(text: &str) -> PinyinKeys {
    let mut full = String::new();
    let mut initials = String::new();
    let text = text.trim();
    // A personal name's surname may have its own reading.
    let mut rest = text;
    for (sur, reading) in SURNAME_READINGS {
        if let Some(tail) = text.strip_prefix(sur) {
            if !tail.is_empty() {
                full.push_str(reading);
                initials.push_str(&initial_letters(sur, reading));
                rest = tail;
                break;
            }
        }
    }
    for (c, py) in rest.chars().zip(rest.to_pinyin()) {
        match py {
            Some(p) => {
                full.push_str(p.plain());
                initials.push_str(p.first_letter());
            }
            None if c.is_ascii_alphanumeric() => {
                let l = c.to_ascii_lowercase();
                full.push(l);
                initials.push(l);
            }
            None => {}
        }
    }
    PinyinKeys { full, initials }
}

/// Initials for an overridden surname reading ("yuchi" for 尉迟 gives "yc").
fn initial_letters(surname: &str, reading: &str) -> String {
    if surname.chars().count() == 1 {
        return reading[..1].to_string();
    }
    surname
        .to_pinyin()
        .flatten()
        .map(|p| p.first_letter().to_string())
        .collect::<String>()
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 {
                reading.chars().next().unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

/// A person's gender as far as salutations go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Male,
    Female,
}

/// The customary salutation: 王先生 / 梁小姐, or surname plus title (李总)
/// when a title is given.
pub fn salutation(name: &str, gender: Option<Gender>, title: Option<&str>) -> String {
    let s = surname(name);
    match (title.map(str::trim).filter(|t| !t.is_empty()), gender) {
        (Some(t), _) => format!("{s}{t}"),
        (None, Some(Gender::Male)) => format!("{s}先生"),
        (None, Some(Gender::Female)) => format!("{s}女士"),
        (None, None) => name.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surnames_single_and_compound() {
        assert_eq!(surname("张伟"), "张");
        assert_eq!(surname("欧阳娜娜"), "欧阳");
        assert_eq!(surname("诸葛亮"), "诸葛");
        assert_eq!(surname("司马相如"), "司马");
        // Two characters only: read as surname 欧 and given name 阳.
        assert_eq!(surname("欧阳"), "欧");
        assert_eq!(given_name("欧阳娜娜"), "娜娜");
        assert_eq!(surname("Wei Zhang"), "Zhang");
    }

    #[test]
    fn pinyin_full_and_initials() {
        let k = pinyin_keys("张伟");
        assert_eq!(k.full, "zhangwei");
        assert_eq!(k.initials, "zw");
        let k = pinyin_keys("欧阳娜娜");
        assert_eq!(k.full, "ouyangnana");
        assert_eq!(k.initials, "oynn");
        let k = pinyin_keys("ABC 科技 2号");
        assert_eq!(k.full, "abckeji2hao");
        assert_eq!(k.initials, "abckj2h");
    }

    #[test]
    fn surname_readings_override_everyday_ones() {
        assert_eq!(pinyin_keys("曾国藩").full, "zengguofan");
        assert_eq!(pinyin_keys("单田芳").initials, "stf");
        assert_eq!(pinyin_keys("尉迟恭").full, "yuchigong");
        assert_eq!(pinyin_keys("尉迟恭").initials, "ycg");
    }

    #[test]
    fn salutations() {
        assert_eq!(salutation("王建国", Some(Gender::Male), None), "王先生");
        assert_eq!(
            salutation("梁晓燕", Some(Gender::Female), Some("小姐")),
            "梁小姐"
        );
        assert_eq!(salutation("李明", None, Some("总")), "李总");
        assert_eq!(
            salutation("欧阳娜娜", Some(Gender::Female), None),
            "欧阳女士"
        );
    }
}
