//! Satisfaction surveys: the 7-level scale of the service handbooks
//! (很不满意 ... 很满意), the satisfaction index built on it, and the Net
//! Promoter Score.

use crate::code_enum;
use crate::Problem;

code_enum! {
    /// An answer on the 7-level satisfaction scale (7 梯级).
    pub enum Satisfaction {
        VeryDissatisfied = "very_dissatisfied", "很不满意", "Very dissatisfied";
        Dissatisfied = "dissatisfied", "不满意", "Dissatisfied";
        SomewhatDissatisfied = "somewhat_dissatisfied", "不太满意", "Somewhat dissatisfied";
        Neutral = "neutral", "一般", "Neutral";
        SomewhatSatisfied = "somewhat_satisfied", "较满意", "Somewhat satisfied";
        Satisfied = "satisfied", "满意", "Satisfied";
        VerySatisfied = "very_satisfied", "很满意", "Very satisfied";
    }
}

impl Satisfaction {
    /// 1 (很不满意) to 7 (很满意).
    pub fn level(self) -> u8 {
        Satisfaction::ALL
            .iter()
            .position(|s| *s == self)
            .expect("in ALL") as u8
            + 1
    }

    pub fn from_level(level: u8) -> Option<Satisfaction> {
        Satisfaction::ALL
            .get(usize::from(level).checked_sub(1)?)
            .copied()
    }

    /// Points on the satisfaction index: the levels spread evenly from 0
    /// (很不满意) to 100 (很满意).
    pub fn points(self) -> f64 {
        f64::from(self.level() - 1) * 100.0 / 6.0
    }
}

/// The satisfaction index (0-100) of a set of answers: the mean of their
/// points; `None` without answers.
pub fn satisfaction_index(answers: impl IntoIterator<Item = Satisfaction>) -> Option<f64> {
    let (n, sum) = answers
        .into_iter()
        .fold((0u64, 0.0), |(n, s), a| (n + 1, s + a.points()));
    (n > 0).then(|| sum / n as f64)
}

/// A likelihood-to-recommend answer, 0 to 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Nps(u8);

/// Where an NPS answer puts the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpsGroup {
    /// 0-6.
    Detractor,
    /// 7-8.
    Passive,
    /// 9-10.
    Promoter,
}

impl Nps {
    pub fn new(score: i64) -> Result<Nps, Problem> {
        u8::try_from(score)
            .ok()
            .filter(|s| *s <= 10)
            .map(Nps)
            .ok_or(Problem::Invalid {
                zh: "推荐意愿须为 0 到 10 的整数".into(),
                en: "the score must be a whole number from 0 to 10".into(),
            })
    }

    pub fn score(self) -> u8 {
        self.0
    }

    pub fn group(self) -> NpsGroup {
        match self.0 {
            0..=6 => NpsGroup::Detractor,
            7 | 8 => NpsGroup::Passive,
            _ => NpsGroup::Promoter,
        }
    }
}

/// The Net Promoter Score (-100 to 100): the share of promoters less the
/// share of detractors, in percent; `None` without answers.
pub fn net_promoter_score(answers: impl IntoIterator<Item = Nps>) -> Option<f64> {
    let (mut n, mut promoters, mut detractors) = (0u64, 0u64, 0u64);
    for a in answers {
        n += 1;
        match a.group() {
            NpsGroup::Promoter => promoters += 1,
            NpsGroup::Detractor => detractors += 1,
            NpsGroup::Passive => {}
        }
    }
    (n > 0).then(|| (promoters as f64 - detractors as f64) * 100.0 / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seven_levels_in_order_with_chinese_labels() {
        let labels: Vec<_> = Satisfaction::ALL
            .iter()
            .map(|s| s.label(crate::Lang::ZhCn))
            .collect();
        assert_eq!(
            labels,
            [
                "很不满意",
                "不满意",
                "不太满意",
                "一般",
                "较满意",
                "满意",
                "很满意"
            ]
        );
        for (i, s) in Satisfaction::ALL.iter().enumerate() {
            assert_eq!(usize::from(s.level()), i + 1);
            assert_eq!(Satisfaction::from_level(s.level()), Some(*s));
        }
        assert_eq!(Satisfaction::from_level(0), None);
        assert_eq!(Satisfaction::from_level(8), None);
        assert_eq!(
            Satisfaction::parse("较满意"),
            Ok(Satisfaction::SomewhatSatisfied)
        );
    }

    #[test]
    fn index_and_nps() {
        assert_eq!(satisfaction_index([]), None);
        assert_eq!(
            satisfaction_index([Satisfaction::VerySatisfied, Satisfaction::VeryDissatisfied]),
            Some(50.0)
        );
        assert_eq!(satisfaction_index([Satisfaction::Neutral]), Some(50.0));
        let s = |v: &[i64]| net_promoter_score(v.iter().map(|x| Nps::new(*x).unwrap()));
        assert_eq!(s(&[]), None);
        assert_eq!(s(&[10, 9, 8, 7, 6]), Some(20.0));
        assert_eq!(s(&[0, 0, 10, 8]), Some(-25.0));
        assert!(Nps::new(11).is_err() && Nps::new(-1).is_err());
    }
}
