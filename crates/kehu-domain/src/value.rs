//! Customer value: grading (A/B/C) by a weighted score over five
//! dimensions, key and general customers, the lifecycle class (价值、潜力、
//! 迁移、冰点), RFM scores and the 80/20 (Pareto) view.
//!
//! Everything here is pure and works on all customers at once: each ranking
//! is one sort, so a million customers take a few sorts of a million items.

use crate::code_enum;
use crate::customer::Grade;
use crate::money::Fen;
use crate::text::half_width;
use crate::{FieldErrors, Lang, Problem};
use serde::{Deserialize, Serialize};

code_enum! {
    /// Where a customer stands in its life with the business.
    pub enum Lifecycle {
        Value = "value", "价值客户", "Value";
        Potential = "potential", "潜力客户", "Potential";
        Migrating = "migrating", "迁移客户", "Migrating";
        Frozen = "frozen", "冰点客户", "Frozen";
    }
}

code_enum! {
    /// A dimension of the value score.
    pub enum Dimension {
        Spend = "spend", "消费金额", "Spend";
        Purchases = "purchases", "购买及到访次数", "Purchases and visits";
        Referrals = "referrals", "推荐客户数", "Referrals";
        Age = "age", "客户年限", "Customer age";
        Power = "power", "购买力（客单价）", "Purchasing power (spend per purchase)";
    }
}

code_enum! {
    /// Key customers are the highest scores, a configured share of all.
    pub enum Tier {
        Key = "key", "重点客户", "Key customer";
        General = "general", "一般客户", "General customer";
    }
}

/// The weight of each dimension, 0-100; the score divides by their sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Weights {
    pub spend: u32,
    pub purchases: u32,
    pub referrals: u32,
    pub age: u32,
    pub power: u32,
}

/// The dimensions in the order of [`Scored::parts`].
pub const DIMENSIONS: [Dimension; 5] = [
    Dimension::Spend,
    Dimension::Purchases,
    Dimension::Referrals,
    Dimension::Age,
    Dimension::Power,
];

impl Weights {
    pub const DEFAULT: Weights = Weights {
        spend: 35,
        purchases: 25,
        referrals: 10,
        age: 10,
        power: 20,
    };

    pub fn get(&self, d: Dimension) -> u32 {
        match d {
            Dimension::Spend => self.spend,
            Dimension::Purchases => self.purchases,
            Dimension::Referrals => self.referrals,
            Dimension::Age => self.age,
            Dimension::Power => self.power,
        }
    }

    pub fn sum(&self) -> u32 {
        Dimension::ALL.iter().map(|d| self.get(*d)).sum()
    }
}

impl Default for Weights {
    fn default() -> Self {
        Weights::DEFAULT
    }
}

/// The highest service cost per ticket accepted: ¥1,000,000.00.
pub const MAX_SERVICE_COST_FEN: i64 = 100_000_000;

/// The admin's settings of customer value, stored as JSON. Fields missing
/// from older JSON take their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ValueSettings {
    pub weights: Weights,
    /// Score (0-100) at or above which a customer is grade A.
    pub a_min: u32,
    /// Score at or above which a customer is grade B (else C); below `a_min`.
    pub b_min: u32,
    /// Percent of customers that are key, by score (1-99).
    pub key_share_pct: u32,
    /// Spend, purchases and power count over the last this many days.
    pub window_days: u32,
    /// Silent this long (no purchase, no contact): frozen.
    pub frozen_days: u32,
    /// Spend of the recent half window fell at least this percent: migrating.
    pub migrating_drop_pct: u32,
    /// Cost of service effort per ticket, in fen.
    pub service_cost_fen: i64,
    /// Horizon of CLV and expected purchases, in weeks.
    pub horizon_weeks: u32,
}

impl Default for ValueSettings {
    fn default() -> Self {
        ValueSettings {
            weights: Weights::DEFAULT,
            a_min: 70,
            b_min: 40,
            key_share_pct: 40,
            window_days: 365,
            frozen_days: 180,
            migrating_drop_pct: 50,
            service_cost_fen: 5000,
            horizon_weeks: 52,
        }
    }
}

impl ValueSettings {
    /// Days in each half of the window, compared for a falling spend.
    pub fn half_days(&self) -> u32 {
        self.window_days / 2
    }

    /// Checks settings read from storage by the same rules as the form.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        ValueSettingsInput::from_settings(self).parse().map(|_| ())
    }
}

/// The settings form as submitted: all text. Money in yuan.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ValueSettingsInput {
    pub w_spend: String,
    pub w_purchases: String,
    pub w_referrals: String,
    pub w_age: String,
    pub w_power: String,
    pub a_min: String,
    pub b_min: String,
    pub key_share_pct: String,
    pub window_days: String,
    pub frozen_days: String,
    pub migrating_drop_pct: String,
    pub service_cost_yuan: String,
    pub horizon_weeks: String,
}

fn whole(raw: &str, lo: u32, hi: u32) -> Result<u32, Problem> {
    let folded = half_width(raw);
    let t = folded.trim();
    if t.is_empty() {
        return Err(Problem::Required);
    }
    t.parse::<u32>()
        .ok()
        .filter(|v| (lo..=hi).contains(v))
        .ok_or_else(|| Problem::Invalid {
            zh: format!("须为 {lo} 到 {hi} 的整数"),
            en: format!("must be a whole number from {lo} to {hi}"),
        })
}

fn service_cost(raw: &str) -> Result<i64, Problem> {
    if raw.trim().is_empty() {
        return Err(Problem::Required);
    }
    let fen = Fen::parse_non_negative(raw)?;
    if fen.0 > MAX_SERVICE_COST_FEN {
        return Err(Problem::Invalid {
            zh: format!("不能超过 {}", Fen(MAX_SERVICE_COST_FEN)),
            en: format!("must be at most {}", Fen(MAX_SERVICE_COST_FEN)),
        });
    }
    Ok(fen.0)
}

impl ValueSettingsInput {
    /// Parses every field, collecting all problems.
    pub fn parse(&self) -> Result<ValueSettings, FieldErrors> {
        let mut e = FieldErrors::new();
        let spend = e.take("w_spend", whole(&self.w_spend, 0, 100));
        let purchases = e.take("w_purchases", whole(&self.w_purchases, 0, 100));
        let referrals = e.take("w_referrals", whole(&self.w_referrals, 0, 100));
        let age = e.take("w_age", whole(&self.w_age, 0, 100));
        let power = e.take("w_power", whole(&self.w_power, 0, 100));
        let a_min = e.take("a_min", whole(&self.a_min, 0, 100));
        let b_min = e.take("b_min", whole(&self.b_min, 0, 100));
        let key_share_pct = e.take("key_share_pct", whole(&self.key_share_pct, 1, 99));
        let window_days = e.take("window_days", whole(&self.window_days, 30, 3650));
        let frozen_days = e.take("frozen_days", whole(&self.frozen_days, 7, 3650));
        let migrating_drop_pct = e.take(
            "migrating_drop_pct",
            whole(&self.migrating_drop_pct, 1, 100),
        );
        let service_cost_fen = e.take("service_cost_yuan", service_cost(&self.service_cost_yuan));
        let horizon_weeks = e.take("horizon_weeks", whole(&self.horizon_weeks, 1, 520));
        if let (Some(s), Some(p), Some(r), Some(a), Some(w)) =
            (spend, purchases, referrals, age, power)
        {
            if s + p + r + a + w == 0 {
                e.add(
                    "w_spend",
                    Problem::Invalid {
                        zh: "权重不能全部为 0".into(),
                        en: "the weights cannot all be 0".into(),
                    },
                );
            }
        }
        if let (Some(a), Some(b)) = (a_min, b_min) {
            if b >= a {
                e.add(
                    "b_min",
                    Problem::Invalid {
                        zh: format!("须低于 A 类分数线（{a}）"),
                        en: format!("must be below the grade A score ({a})"),
                    },
                );
            }
        }
        if !e.is_empty() {
            return Err(e);
        }
        let (
            Some(spend),
            Some(purchases),
            Some(referrals),
            Some(age),
            Some(power),
            Some(a_min),
            Some(b_min),
            Some(key_share_pct),
            Some(window_days),
            Some(frozen_days),
            Some(migrating_drop_pct),
            Some(service_cost_fen),
            Some(horizon_weeks),
        ) = (
            spend,
            purchases,
            referrals,
            age,
            power,
            a_min,
            b_min,
            key_share_pct,
            window_days,
            frozen_days,
            migrating_drop_pct,
            service_cost_fen,
            horizon_weeks,
        )
        else {
            return Err(e);
        };
        Ok(ValueSettings {
            weights: Weights {
                spend,
                purchases,
                referrals,
                age,
                power,
            },
            a_min,
            b_min,
            key_share_pct,
            window_days,
            frozen_days,
            migrating_drop_pct,
            service_cost_fen,
            horizon_weeks,
        })
    }

    /// The form filled with saved settings.
    pub fn from_settings(s: &ValueSettings) -> Self {
        ValueSettingsInput {
            w_spend: s.weights.spend.to_string(),
            w_purchases: s.weights.purchases.to_string(),
            w_referrals: s.weights.referrals.to_string(),
            w_age: s.weights.age.to_string(),
            w_power: s.weights.power.to_string(),
            a_min: s.a_min.to_string(),
            b_min: s.b_min.to_string(),
            key_share_pct: s.key_share_pct.to_string(),
            window_days: s.window_days.to_string(),
            frozen_days: s.frozen_days.to_string(),
            migrating_drop_pct: s.migrating_drop_pct.to_string(),
            service_cost_yuan: Fen(s.service_cost_fen).to_yuan_string(),
            horizon_weeks: s.horizon_weeks.to_string(),
        }
    }
}

/// One customer's facts as of the day of scoring.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// Net spend in the window (refunds may make it 0 or less).
    pub spend_fen: i64,
    /// Purchase days and store visits in the window.
    pub purchases: u32,
    /// Live customers naming this one as referrer.
    pub referrals: u32,
    /// Days since the first purchase, else since the record was created.
    pub age_days: u32,
    /// Spend per purchase day in the window (0 without purchases).
    pub power_fen: i64,
    /// Spend in the most recent half window.
    pub recent_spend_fen: i64,
    /// Spend in the half window before that.
    pub prior_spend_fen: i64,
    pub days_since_purchase: Option<u32>,
    /// Days since the last interaction of any kind.
    pub days_since_contact: Option<u32>,
    /// Lifetime purchase days (RFM F).
    pub transactions: u32,
    /// Lifetime net spend (RFM M).
    pub monetary_fen: i64,
}

impl Facts {
    /// The value a dimension ranks.
    pub fn raw(&self, d: Dimension) -> i64 {
        match d {
            Dimension::Spend => self.spend_fen,
            Dimension::Purchases => i64::from(self.purchases),
            Dimension::Referrals => i64::from(self.referrals),
            Dimension::Age => i64::from(self.age_days),
            Dimension::Power => self.power_fen,
        }
    }
}

/// One dimension's part of a score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub dimension: Dimension,
    pub raw: i64,
    /// Share of customers with a strictly lower value, 0-1.
    pub percentile: f64,
    pub weight: u32,
    /// Contribution to the 0-100 score.
    pub points: f64,
}

/// Why a customer is in its lifecycle class, with the numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum LifecycleRule {
    /// No purchase and no contact for `threshold` days or more: frozen.
    /// `days` is the time since the latest of them, `None` when neither.
    Silent { days: Option<u32>, threshold: u32 },
    /// Spend of the recent half window fell by `drop_pct` ≥ `threshold_pct`:
    /// migrating.
    SpendFalling {
        recent_fen: i64,
        prior_fen: i64,
        drop_pct: u32,
        threshold_pct: u32,
        half_days: u32,
    },
    /// A key customer buying in the window: value.
    KeyAndBuying { score: f64, purchases: u32 },
    /// Anyone else: potential.
    Other { key: bool, purchases: u32 },
}

fn plural(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

impl LifecycleRule {
    pub fn lifecycle(&self) -> Lifecycle {
        match self {
            LifecycleRule::Silent { .. } => Lifecycle::Frozen,
            LifecycleRule::SpendFalling { .. } => Lifecycle::Migrating,
            LifecycleRule::KeyAndBuying { .. } => Lifecycle::Value,
            LifecycleRule::Other { .. } => Lifecycle::Potential,
        }
    }

    /// The reason in words, amounts in yuan.
    pub fn explain(&self, lang: Lang) -> String {
        match (self, lang) {
            (LifecycleRule::Silent { days: Some(d), threshold }, Lang::ZhCn) => {
                format!("已 {d} 天没有购买或联系（阈值 {threshold} 天）")
            }
            (LifecycleRule::Silent { days: Some(d), threshold }, Lang::En) => format!(
                "No purchase or contact for {} (threshold {})",
                plural(*d, "day", "days"),
                plural(*threshold, "day", "days")
            ),
            (LifecycleRule::Silent { days: None, threshold }, Lang::ZhCn) => {
                format!("从未购买或联系（阈值 {threshold} 天）")
            }
            (LifecycleRule::Silent { days: None, threshold }, Lang::En) => format!(
                "No purchase or contact on record (threshold {})",
                plural(*threshold, "day", "days")
            ),
            (
                LifecycleRule::SpendFalling {
                    recent_fen,
                    prior_fen,
                    drop_pct,
                    threshold_pct,
                    half_days,
                },
                Lang::ZhCn,
            ) => format!(
                "近 {half_days} 天消费 {}，比之前 {half_days} 天的 {} 下降 {drop_pct}%（阈值 {threshold_pct}%）",
                Fen(*recent_fen),
                Fen(*prior_fen)
            ),
            (
                LifecycleRule::SpendFalling {
                    recent_fen,
                    prior_fen,
                    drop_pct,
                    threshold_pct,
                    half_days,
                },
                Lang::En,
            ) => format!(
                "Spent {} in the last {}, down {drop_pct}% from {} in the {} before (threshold {threshold_pct}%)",
                Fen(*recent_fen),
                plural(*half_days, "day", "days"),
                Fen(*prior_fen),
                plural(*half_days, "day", "days")
            ),
            (LifecycleRule::KeyAndBuying { score, purchases }, Lang::ZhCn) => {
                format!("重点客户（得分 {score:.1}），窗口内购买及到访 {purchases} 次")
            }
            (LifecycleRule::KeyAndBuying { score, purchases }, Lang::En) => format!(
                "Key customer (score {score:.1}) with {} in the window",
                plural(*purchases, "purchase or visit", "purchases or visits")
            ),
            (LifecycleRule::Other { key: true, .. }, Lang::ZhCn) => {
                "重点客户，但窗口内没有购买或到访".into()
            }
            (LifecycleRule::Other { key: true, .. }, Lang::En) => {
                "Key customer without purchases or visits in the window".into()
            }
            (LifecycleRule::Other { key: false, purchases }, Lang::ZhCn) => {
                format!("一般客户，窗口内购买及到访 {purchases} 次")
            }
            (LifecycleRule::Other { key: false, purchases }, Lang::En) => format!(
                "General customer with {} in the window",
                plural(*purchases, "purchase or visit", "purchases or visits")
            ),
        }
    }
}

/// The lifecycle rule that holds first: frozen, migrating, value, potential.
pub fn classify(f: &Facts, key: bool, score: f64, s: &ValueSettings) -> LifecycleRule {
    let t = s.frozen_days;
    let silent = |d: Option<u32>| d.is_none_or(|d| d >= t);
    if silent(f.days_since_purchase) && silent(f.days_since_contact) && f.age_days >= t {
        return LifecycleRule::Silent {
            days: f
                .days_since_purchase
                .into_iter()
                .chain(f.days_since_contact)
                .min(),
            threshold: t,
        };
    }
    let (recent, prior) = (
        i128::from(f.recent_spend_fen),
        i128::from(f.prior_spend_fen),
    );
    let keep = 100 - i128::from(s.migrating_drop_pct.min(100));
    if prior > 0 && recent * 100 <= prior * keep {
        // The fall in percent, rounded half up; more than 100 after refunds.
        let fall = ((prior - recent) * 200 + prior) / (prior * 2);
        return LifecycleRule::SpendFalling {
            recent_fen: f.recent_spend_fen,
            prior_fen: f.prior_spend_fen,
            drop_pct: u32::try_from(fall).unwrap_or(u32::MAX),
            threshold_pct: s.migrating_drop_pct,
            half_days: s.half_days(),
        };
    }
    if key && f.purchases > 0 {
        return LifecycleRule::KeyAndBuying {
            score,
            purchases: f.purchases,
        };
    }
    LifecycleRule::Other {
        key,
        purchases: f.purchases,
    }
}

/// Recency, frequency and monetary quintiles, each 1-5, 5 best.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rfm {
    pub r: u8,
    pub f: u8,
    pub m: u8,
}

impl Rfm {
    /// Three digits, R then F then M: "545".
    pub fn code(&self) -> String {
        format!("{}{}{}", self.r, self.f, self.m)
    }

    /// Reads a code written by [`Rfm::code`].
    pub fn from_code(code: &str) -> Option<Rfm> {
        let d: Vec<u8> = code
            .bytes()
            .map(|b| b.wrapping_sub(b'0'))
            .filter(|v| (1..=5).contains(v))
            .collect();
        match (code.len(), d.as_slice()) {
            (3, [r, f, m]) => Some(Rfm {
                r: *r,
                f: *f,
                m: *m,
            }),
            _ => None,
        }
    }
}

/// One customer's results, in the order of the facts given.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// 0-100.
    pub score: f64,
    pub grade: Grade,
    pub tier: Tier,
    /// In the order of [`DIMENSIONS`].
    pub parts: [Part; 5],
    pub rule: LifecycleRule,
    /// `None` for customers who never bought.
    pub rfm: Option<Rfm>,
}

impl Scored {
    pub fn lifecycle(&self) -> Lifecycle {
        self.rule.lifecycle()
    }
}

/// How many of `n` customers are key: `ceil(n × pct / 100)`, at most `n`.
pub fn key_count(n: usize, key_share_pct: u32) -> usize {
    let pct = key_share_pct.min(100) as usize;
    (n * pct).div_ceil(100).min(n)
}

/// Sorts `buf` by key and calls `put(index, below)` with the number of
/// entries whose key is strictly lower.
fn rank_below(buf: &mut [(i64, u32)], mut put: impl FnMut(usize, u32)) {
    buf.sort_unstable_by_key(|e| e.0);
    let mut start = 0;
    for i in 0..buf.len() {
        if buf[i].0 != buf[start].0 {
            start = i;
        }
        put(buf[i].1 as usize, start as u32);
    }
}

/// Quintile from the count strictly worse among `m`: `1 + ⌊5 × worse / m⌋`.
fn quintile(worse: u32, m: usize) -> u8 {
    (1 + (5 * worse as usize) / m).clamp(1, 5) as u8
}

/// Scores, grades, tiers, lifecycle classes and RFM of all customers, in
/// the order given. Percentiles and ranks are relative to this whole set.
pub fn score_all(facts: &[Facts], s: &ValueSettings) -> Vec<Scored> {
    let n = facts.len();
    assert!(
        u32::try_from(n).is_ok(),
        "at most u32::MAX customers at once"
    );
    if n == 0 {
        return Vec::new();
    }
    let w = s.weights;
    let w_sum = u64::from(w.sum());
    // Score = 100 × Σ weight × below / (weight sum × n), kept exact as the
    // integer Σ weight × below so grades and key ranks compare exactly.
    let denom = w_sum * n as u64;
    let mut out: Vec<Scored> = facts
        .iter()
        .map(|f| Scored {
            score: 0.0,
            grade: Grade::C,
            tier: Tier::General,
            parts: DIMENSIONS.map(|d| Part {
                dimension: d,
                raw: f.raw(d),
                percentile: 0.0,
                weight: w.get(d),
                points: 0.0,
            }),
            rule: LifecycleRule::Other {
                key: false,
                purchases: 0,
            },
            rfm: None,
        })
        .collect();
    let mut num = vec![0u64; n];
    let mut buf: Vec<(i64, u32)> = Vec::with_capacity(n);
    for (k, d) in DIMENSIONS.iter().enumerate() {
        let wd = u64::from(w.get(*d));
        buf.clear();
        buf.extend(facts.iter().enumerate().map(|(i, f)| (f.raw(*d), i as u32)));
        rank_below(&mut buf, |i, below| {
            let part = &mut out[i].parts[k];
            part.percentile = f64::from(below) / n as f64;
            if denom > 0 {
                part.points = (wd * u64::from(below)) as f64 * 100.0 / denom as f64;
            }
            num[i] += wd * u64::from(below);
        });
    }
    // score ≥ t exactly, as 100 × num ≥ t × denom.
    let at_least = |num: u64, t: u32| {
        if denom == 0 {
            t == 0
        } else {
            u128::from(num) * 100 >= u128::from(t) * u128::from(denom)
        }
    };
    for (o, &x) in out.iter_mut().zip(&num) {
        if denom > 0 {
            o.score = (x as f64 * 100.0) / denom as f64;
        }
        o.grade = if at_least(x, s.a_min) {
            Grade::A
        } else if at_least(x, s.b_min) {
            Grade::B
        } else {
            Grade::C
        };
    }

    // Key: the best `key_count` by score, then spend, then input order.
    let k = key_count(n, s.key_share_pct);
    if k > 0 {
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.select_nth_unstable_by(k - 1, |&a, &b| {
            let (a, b) = (a as usize, b as usize);
            num[b]
                .cmp(&num[a])
                .then(facts[b].spend_fen.cmp(&facts[a].spend_fen))
                .then(a.cmp(&b))
        });
        for &i in &order[..k] {
            if num[i as usize] > 0 {
                out[i as usize].tier = Tier::Key;
            }
        }
    }
    drop(num);

    for (o, f) in out.iter_mut().zip(facts) {
        o.rule = classify(f, o.tier == Tier::Key, o.score, s);
    }

    // RFM over buyers only; for each, "higher key" means better.
    buf.clear();
    let buyers = facts.iter().filter(|f| f.transactions > 0).count();
    if buyers > 0 {
        let fill = |buf: &mut Vec<(i64, u32)>, key: fn(&Facts) -> i64| {
            buf.clear();
            buf.extend(
                facts
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.transactions > 0)
                    .map(|(i, f)| (key(f), i as u32)),
            );
        };
        fill(&mut buf, |f| {
            f.days_since_purchase.map_or(i64::MIN, |d| -i64::from(d))
        });
        rank_below(&mut buf, |i, worse| {
            out[i].rfm = Some(Rfm {
                r: quintile(worse, buyers),
                f: 0,
                m: 0,
            });
        });
        fill(&mut buf, |f| i64::from(f.transactions));
        rank_below(&mut buf, |i, worse| {
            if let Some(r) = out[i].rfm.as_mut() {
                r.f = quintile(worse, buyers);
            }
        });
        fill(&mut buf, |f| f.monetary_fen);
        rank_below(&mut buf, |i, worse| {
            if let Some(r) = out[i].rfm.as_mut() {
                r.m = quintile(worse, buyers);
            }
        });
    }
    out
}

/// How many customers have each grade, A first.
pub fn grade_pyramid(scored: &[Scored]) -> [(Grade, usize); 3] {
    let mut c = [(Grade::A, 0), (Grade::B, 0), (Grade::C, 0)];
    for s in scored {
        match s.grade {
            Grade::A => c[0].1 += 1,
            Grade::B => c[1].1 += 1,
            Grade::C => c[2].1 += 1,
        }
    }
    c
}

/// How many customers are in each lifecycle class, in [`Lifecycle::ALL`] order.
pub fn lifecycle_counts(scored: &[Scored]) -> [(Lifecycle, usize); 4] {
    let mut c = [
        (Lifecycle::Value, 0),
        (Lifecycle::Potential, 0),
        (Lifecycle::Migrating, 0),
        (Lifecycle::Frozen, 0),
    ];
    for s in scored {
        let l = s.lifecycle();
        if let Some(e) = c.iter_mut().find(|e| e.0 == l) {
            e.1 += 1;
        }
    }
    c
}

/// How many customers are key and general.
pub fn tier_counts(scored: &[Scored]) -> [(Tier, usize); 2] {
    let key = scored.iter().filter(|s| s.tier == Tier::Key).count();
    [(Tier::Key, key), (Tier::General, scored.len() - key)]
}

/// The 80/20 view of spend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pareto {
    pub customers: usize,
    pub total_fen: i64,
    /// Spend of the top 20% of customers (the first `ceil(n / 5)`).
    pub top20_fen: i64,
    /// `top20_fen / total_fen`; `None` unless the total is positive. Above 1
    /// when refunds make the rest negative.
    pub top20_share: Option<f64>,
    /// 101 points: share of customers (0.00-1.00, best first) to the
    /// cumulative share of the total; all zeros unless the total is positive.
    pub curve: Vec<(f64, f64)>,
}

fn saturate(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v > 0 { i64::MAX } else { i64::MIN })
}

/// The Pareto view of customers' spend.
pub fn pareto(values_fen: &[i64]) -> Pareto {
    let n = values_fen.len();
    let mut sorted = values_fen.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let total: i128 = sorted.iter().map(|v| i128::from(*v)).sum();
    let top20: i128 = sorted[..n.div_ceil(5)].iter().map(|v| i128::from(*v)).sum();
    let share = |part: i128| {
        if total > 0 {
            part as f64 / total as f64
        } else {
            0.0
        }
    };
    let mut curve = Vec::with_capacity(101);
    let (mut cum, mut taken) = (0i128, 0usize);
    for k in 0..=100usize {
        let upto = (n * k).div_ceil(100);
        while taken < upto {
            cum += i128::from(sorted[taken]);
            taken += 1;
        }
        curve.push((k as f64 / 100.0, share(cum)));
    }
    Pareto {
        customers: n,
        total_fen: saturate(total),
        top20_fen: saturate(top20),
        top20_share: (total > 0).then(|| share(top20)),
        curve,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ValueSettings {
        ValueSettings::default()
    }

    fn spend(v: &[i64]) -> Vec<Facts> {
        v.iter()
            .map(|s| Facts {
                spend_fen: *s,
                ..Facts::default()
            })
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn percentiles_share_the_lower_value_on_ties() {
        let out = score_all(&spend(&[10, 0, 20, 10, -5]), &settings());
        let p: Vec<f64> = out.iter().map(|s| s.parts[0].percentile).collect();
        // Strictly below: 10 → 2 (0, -5); 0 → 1; 20 → 4; -5 → 0.
        assert_eq!(p, [0.4, 0.2, 0.8, 0.4, 0.0]);
        // Zero spend with nobody below scores 0; the unique top is (n-1)/n.
        let out = score_all(&spend(&[0, 0, 7]), &settings());
        assert_eq!(out[0].parts[0].percentile, 0.0);
        assert_eq!(out[2].parts[0].percentile, 2.0 / 3.0);
        assert_eq!(out[0].parts[0].dimension, Dimension::Spend);
        assert_eq!(out[2].parts[0].raw, 7);
        assert_eq!(out[2].parts[0].weight, 35);
    }

    fn small_base() -> Vec<Facts> {
        let row = |spend, purchases, referrals, age, power| Facts {
            spend_fen: spend,
            purchases,
            referrals,
            age_days: age,
            power_fen: power,
            ..Facts::default()
        };
        vec![
            row(0, 0, 0, 0, 0),
            row(100, 1, 0, 10, 100),
            row(200, 1, 1, 20, 200),
            row(300, 3, 2, 30, 100),
        ]
    }

    #[test]
    fn score_and_grade_of_a_small_base() {
        let s = ValueSettings {
            a_min: 65,
            ..settings()
        };
        let out = score_all(&small_base(), &s);
        // Percentiles (spend, purchases, referrals, age, power), n = 4:
        // c1 .25 .25 0 .25 .25 → 8.75 + 6.25 + 0 + 2.5 + 5 = 22.5
        // c2 .5 .25 .5 .5 .75 → 17.5 + 6.25 + 5 + 5 + 15 = 48.75
        // c3 .75 .75 .75 .75 .25 → 26.25 + 18.75 + 7.5 + 7.5 + 5 = 65
        let scores: Vec<f64> = out.iter().map(|o| o.score).collect();
        assert_eq!(scores, [0.0, 22.5, 48.75, 65.0]);
        let grades: Vec<Grade> = out.iter().map(|o| o.grade).collect();
        assert_eq!(grades, [Grade::C, Grade::C, Grade::B, Grade::A]);
        let points: Vec<f64> = out[2].parts.iter().map(|p| p.points).collect();
        assert_eq!(points, [17.5, 6.25, 5.0, 5.0, 15.0]);
        assert_eq!(out[2].parts[4].percentile, 0.75);
        // 40% of 4 is 1.6: two key customers.
        let tiers: Vec<Tier> = out.iter().map(|o| o.tier).collect();
        assert_eq!(tiers, [Tier::General, Tier::General, Tier::Key, Tier::Key]);
        assert_eq!(
            grade_pyramid(&out),
            [(Grade::A, 1), (Grade::B, 1), (Grade::C, 2)]
        );
        assert_eq!(tier_counts(&out), [(Tier::Key, 2), (Tier::General, 2)]);
        // Just above the score: B.
        let s = ValueSettings {
            a_min: 66,
            ..settings()
        };
        assert_eq!(score_all(&small_base(), &s)[3].grade, Grade::B);
        // Weights are normalised by their sum.
        let doubled = ValueSettings {
            weights: Weights {
                spend: 70,
                purchases: 50,
                referrals: 20,
                age: 20,
                power: 40,
            },
            a_min: 65,
            ..settings()
        };
        let again: Vec<f64> = score_all(&small_base(), &doubled)
            .iter()
            .map(|o| o.score)
            .collect();
        assert_eq!(again, scores);
        assert!(score_all(&[], &s).is_empty());
    }

    #[test]
    fn zero_weights_score_nothing() {
        let s = ValueSettings {
            weights: Weights {
                spend: 0,
                purchases: 0,
                referrals: 0,
                age: 0,
                power: 0,
            },
            ..settings()
        };
        let out = score_all(&small_base(), &s);
        assert!(out
            .iter()
            .all(|o| o.score == 0.0 && o.grade == Grade::C && o.tier == Tier::General));
        assert_eq!(out[3].parts[0].percentile, 0.75);
    }

    #[test]
    fn key_count_rounds_up() {
        assert_eq!(key_count(0, 40), 0);
        assert_eq!(key_count(4, 40), 2);
        assert_eq!(key_count(5, 1), 1);
        assert_eq!(key_count(10, 40), 4);
        assert_eq!(key_count(100, 99), 99);
        assert_eq!(key_count(101, 99), 100);
        assert_eq!(key_count(3, 100), 3);
    }

    #[test]
    fn key_ties_go_to_spend_then_input_order_and_never_to_zero_scores() {
        // Only purchases weigh: c3 (no purchases) scores 0, the others 20.
        let w = Weights {
            spend: 0,
            purchases: 100,
            referrals: 0,
            age: 0,
            power: 0,
        };
        let facts: Vec<Facts> = [(10, 1), (30, 1), (30, 1), (999, 0), (20, 1)]
            .iter()
            .map(|&(spend_fen, purchases)| Facts {
                spend_fen,
                purchases,
                ..Facts::default()
            })
            .collect();
        let keys = |pct| {
            let s = ValueSettings {
                weights: w,
                key_share_pct: pct,
                ..settings()
            };
            let out = score_all(&facts, &s);
            assert_eq!(out[3].score, 0.0);
            assert_eq!(out[0].score, 20.0);
            (0..facts.len())
                .filter(|i| out[*i].tier == Tier::Key)
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(1), [1]);
        assert_eq!(keys(20), [1]);
        assert_eq!(keys(21), [1, 2]);
        assert_eq!(keys(40), [1, 2]);
        assert_eq!(keys(60), [1, 2, 4]);
        assert_eq!(keys(80), [0, 1, 2, 4]);
        // Five would be key, but the zero score stays general.
        assert_eq!(keys(99), [0, 1, 2, 4]);
        // Nobody scores: nobody is key.
        let out = score_all(&spend(&[5, 5, 5]), &settings());
        assert!(out.iter().all(|o| o.tier == Tier::General));
    }

    fn facts_silent(purchase: Option<u32>, contact: Option<u32>, age: u32) -> Facts {
        Facts {
            days_since_purchase: purchase,
            days_since_contact: contact,
            age_days: age,
            purchases: 2,
            ..Facts::default()
        }
    }

    #[test]
    fn frozen_when_silent_long_enough_and_not_new() {
        let s = settings();
        let rule = |f: &Facts| classify(f, true, 80.0, &s);
        assert_eq!(
            rule(&facts_silent(Some(180), Some(180), 180)),
            LifecycleRule::Silent {
                days: Some(180),
                threshold: 180
            }
        );
        assert_eq!(
            rule(&facts_silent(Some(400), Some(200), 900)),
            LifecycleRule::Silent {
                days: Some(200),
                threshold: 180
            }
        );
        assert_eq!(
            rule(&facts_silent(None, None, 180)),
            LifecycleRule::Silent {
                days: None,
                threshold: 180
            }
        );
        assert_eq!(
            rule(&facts_silent(None, Some(181), 500)),
            LifecycleRule::Silent {
                days: Some(181),
                threshold: 180
            }
        );
        // A day short on either side, or a young record: not frozen.
        for f in [
            facts_silent(Some(179), Some(400), 900),
            facts_silent(Some(400), Some(179), 900),
            facts_silent(None, Some(0), 900),
            facts_silent(Some(0), None, 900),
            facts_silent(None, None, 179),
        ] {
            assert_eq!(rule(&f).lifecycle(), Lifecycle::Value, "{f:?}");
        }
        assert_eq!(
            rule(&facts_silent(Some(200), None, 300)).explain(Lang::ZhCn),
            "已 200 天没有购买或联系（阈值 180 天）"
        );
        assert_eq!(
            rule(&facts_silent(None, None, 300)).explain(Lang::En),
            "No purchase or contact on record (threshold 180 days)"
        );
    }

    fn spending(recent: i64, prior: i64) -> Facts {
        Facts {
            recent_spend_fen: recent,
            prior_spend_fen: prior,
            purchases: 1,
            days_since_purchase: Some(1),
            days_since_contact: Some(1),
            age_days: 1000,
            ..Facts::default()
        }
    }

    #[test]
    fn migrating_when_spend_falls_by_the_threshold() {
        let s = settings();
        let rule = |f: &Facts| classify(f, true, 80.0, &s);
        assert_eq!(
            rule(&spending(2500, 5000)),
            LifecycleRule::SpendFalling {
                recent_fen: 2500,
                prior_fen: 5000,
                drop_pct: 50,
                threshold_pct: 50,
                half_days: 182
            }
        );
        assert_eq!(rule(&spending(2501, 5000)).lifecycle(), Lifecycle::Value);
        assert_eq!(rule(&spending(0, 0)).lifecycle(), Lifecycle::Value);
        assert_eq!(rule(&spending(-100, 0)).lifecycle(), Lifecycle::Value);
        // A third left: a fall of 66.7%, shown as 67.
        match rule(&spending(1, 3)) {
            LifecycleRule::SpendFalling { drop_pct, .. } => assert_eq!(drop_pct, 67),
            other => panic!("{other:?}"),
        }
        // Refunds can make the fall more than 100%.
        match rule(&spending(-50, 100)) {
            LifecycleRule::SpendFalling { drop_pct, .. } => assert_eq!(drop_pct, 150),
            other => panic!("{other:?}"),
        }
        let r = rule(&spending(120_000, 500_000));
        assert_eq!(
            r.explain(Lang::ZhCn),
            "近 182 天消费 ¥1,200.00，比之前 182 天的 ¥5,000.00 下降 76%（阈值 50%）"
        );
        assert_eq!(
            r.explain(Lang::En),
            "Spent ¥1,200.00 in the last 182 days, down 76% from ¥5,000.00 in the 182 days before (threshold 50%)"
        );
        // A full drop needs nothing left.
        let all = ValueSettings {
            migrating_drop_pct: 100,
            ..settings()
        };
        assert_eq!(
            classify(&spending(0, 100), false, 0.0, &all).lifecycle(),
            Lifecycle::Migrating
        );
        assert_eq!(
            classify(&spending(1, 100), false, 0.0, &all).lifecycle(),
            Lifecycle::Potential
        );
        // Frozen comes first.
        let mut f = spending(0, 100);
        f.days_since_purchase = None;
        f.days_since_contact = None;
        assert_eq!(rule(&f).lifecycle(), Lifecycle::Frozen);
    }

    #[test]
    fn value_needs_key_and_purchases() {
        let s = settings();
        let f = spending(100, 100);
        assert_eq!(
            classify(&f, true, 72.5, &s),
            LifecycleRule::KeyAndBuying {
                score: 72.5,
                purchases: 1
            }
        );
        let none = Facts {
            purchases: 0,
            ..f.clone()
        };
        assert_eq!(
            classify(&none, true, 72.5, &s),
            LifecycleRule::Other {
                key: true,
                purchases: 0
            }
        );
        let general = classify(&f, false, 30.0, &s);
        assert_eq!(
            general,
            LifecycleRule::Other {
                key: false,
                purchases: 1
            }
        );
        assert_eq!(general.lifecycle(), Lifecycle::Potential);
        assert_eq!(
            classify(&f, true, 72.5, &s).explain(Lang::ZhCn),
            "重点客户（得分 72.5），窗口内购买及到访 1 次"
        );
        assert_eq!(
            classify(&f, true, 72.5, &s).explain(Lang::En),
            "Key customer (score 72.5) with 1 purchase or visit in the window"
        );
        assert_eq!(
            general.explain(Lang::En),
            "General customer with 1 purchase or visit in the window"
        );
    }

    #[test]
    fn lifecycle_rule_json_names_the_rule() {
        let r = LifecycleRule::Silent {
            days: None,
            threshold: 180,
        };
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, r#"{"rule":"silent","days":null,"threshold":180}"#);
        assert_eq!(serde_json::from_str::<LifecycleRule>(&json).unwrap(), r);
        assert_eq!(Lifecycle::Frozen.label(Lang::ZhCn), "冰点客户");
        assert_eq!(Dimension::parse("power"), Ok(Dimension::Power));
        assert_eq!(Tier::Key.label(Lang::En), "Key customer");
    }

    #[test]
    fn rfm_quintiles_with_ties() {
        let buyer = |days, transactions, monetary_fen| Facts {
            days_since_purchase: Some(days),
            transactions,
            monetary_fen,
            ..Facts::default()
        };
        let mut facts = vec![
            buyer(1, 5, 100),
            buyer(1, 5, 200),
            buyer(5, 5, 300),
            buyer(10, 1, 400),
            buyer(30, 2, 500),
        ];
        facts.insert(2, Facts::default());
        let out = score_all(&facts, &settings());
        let codes: Vec<Option<String>> = out.iter().map(|o| o.rfm.map(|r| r.code())).collect();
        let want = [
            Some("431"),
            Some("432"),
            None,
            Some("333"),
            Some("214"),
            Some("125"),
        ];
        assert_eq!(codes, want.map(|c| c.map(String::from)));
        // Three buyers: 1 + ⌊5 × worse / 3⌋ gives 1, 2, 4.
        let out = score_all(
            &[buyer(3, 1, 1), buyer(2, 2, 2), buyer(1, 3, 3)],
            &settings(),
        );
        let codes: Vec<String> = out.iter().map(|o| o.rfm.unwrap().code()).collect();
        assert_eq!(codes, ["111", "222", "444"]);
        assert_eq!(Rfm::from_code("545"), Some(Rfm { r: 5, f: 4, m: 5 }));
        assert_eq!(Rfm::from_code("605"), None);
        assert_eq!(Rfm::from_code("55"), None);
        assert_eq!(Rfm::from_code("5555"), None);
    }

    fn form() -> ValueSettingsInput {
        ValueSettingsInput::from_settings(&ValueSettings::default())
    }

    #[test]
    fn settings_round_trip() {
        let d = ValueSettings::default();
        assert_eq!(form().service_cost_yuan, "50.00");
        assert_eq!(form().parse(), Ok(d.clone()));
        assert_eq!(d.validate(), Ok(()));
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<ValueSettings>(&json).unwrap(), d);
        // Older JSON without some fields still reads.
        assert_eq!(serde_json::from_str::<ValueSettings>("{}").unwrap(), d);
        let old: ValueSettings =
            serde_json::from_str(r#"{"a_min":80,"weights":{"spend":50}}"#).unwrap();
        assert_eq!(old.a_min, 80);
        assert_eq!(old.weights.spend, 50);
        assert_eq!(old.weights.power, 20);
        assert_eq!(old.b_min, 40);
        let custom = ValueSettings {
            weights: Weights {
                spend: 0,
                purchases: 0,
                referrals: 0,
                age: 0,
                power: 1,
            },
            a_min: 100,
            b_min: 0,
            key_share_pct: 99,
            window_days: 3650,
            frozen_days: 7,
            migrating_drop_pct: 100,
            service_cost_fen: MAX_SERVICE_COST_FEN,
            horizon_weeks: 520,
        };
        assert_eq!(
            ValueSettingsInput::from_settings(&custom).parse(),
            Ok(custom)
        );
        let typed = ValueSettingsInput {
            service_cost_yuan: " ¥50 ".into(),
            a_min: "７０".into(),
            ..form()
        };
        assert_eq!(typed.parse(), Ok(d));
        let posted: ValueSettingsInput = serde_json::from_str(r#"{"a_min":"70"}"#).unwrap();
        assert_eq!(posted.a_min, "70");
        assert_eq!(
            posted.parse().unwrap_err().get("b_min"),
            Some(&Problem::Required)
        );
    }

    #[test]
    fn settings_errors_name_the_field() {
        type Set = fn(&mut ValueSettingsInput, &str);
        let fields: [(&str, Set, &[&str]); 13] = [
            ("w_spend", |i, v| i.w_spend = v.into(), &["101", "-1", "x"]),
            (
                "w_purchases",
                |i, v| i.w_purchases = v.into(),
                &["101", "1.5"],
            ),
            ("w_referrals", |i, v| i.w_referrals = v.into(), &["101"]),
            ("w_age", |i, v| i.w_age = v.into(), &["101"]),
            ("w_power", |i, v| i.w_power = v.into(), &["101"]),
            ("a_min", |i, v| i.a_min = v.into(), &["101"]),
            ("b_min", |i, v| i.b_min = v.into(), &["101", "70", "71"]),
            (
                "key_share_pct",
                |i, v| i.key_share_pct = v.into(),
                &["0", "100"],
            ),
            (
                "window_days",
                |i, v| i.window_days = v.into(),
                &["29", "3651"],
            ),
            (
                "frozen_days",
                |i, v| i.frozen_days = v.into(),
                &["6", "3651"],
            ),
            (
                "migrating_drop_pct",
                |i, v| i.migrating_drop_pct = v.into(),
                &["0", "101"],
            ),
            (
                "service_cost_yuan",
                |i, v| i.service_cost_yuan = v.into(),
                &["-1", "abc", "1.234", "1000000.01"],
            ),
            (
                "horizon_weeks",
                |i, v| i.horizon_weeks = v.into(),
                &["0", "521"],
            ),
        ];
        for (field, set, bad) in fields {
            for v in bad.iter().chain(&[""]) {
                let mut input = form();
                set(&mut input, v);
                let e = input.parse().unwrap_err();
                assert_eq!(e.0.len(), 1, "{field}={v:?}: {e}");
                assert_eq!(e.0[0].field, field, "{field}={v:?}");
                let zh = e.0[0].problem.message(Lang::ZhCn);
                let en = e.0[0].problem.message(Lang::En);
                assert!(!zh.is_empty() && !en.is_empty() && zh != en);
            }
        }
        // The edges themselves are accepted.
        let mut edge = form();
        edge.key_share_pct = "1".into();
        edge.window_days = "30".into();
        edge.frozen_days = "7".into();
        edge.migrating_drop_pct = "1".into();
        edge.service_cost_yuan = "1000000".into();
        edge.horizon_weeks = "1".into();
        edge.b_min = "69".into();
        assert!(edge.parse().is_ok());
        let mut zero = form();
        zero.w_spend = "0".into();
        zero.w_purchases = "0".into();
        zero.w_referrals = "0".into();
        zero.w_age = "0".into();
        zero.w_power = "0".into();
        let e = zero.parse().unwrap_err();
        assert_eq!(e.0.len(), 1);
        assert_eq!(
            e.get("w_spend").map(|p| p.message(Lang::En)),
            Some("the weights cannot all be 0".into())
        );
        let mut b = form();
        b.b_min = "70".into();
        assert_eq!(
            b.parse()
                .unwrap_err()
                .get("b_min")
                .map(|p| p.message(Lang::ZhCn)),
            Some("须低于 A 类分数线（70）".into())
        );
        let bad = ValueSettings {
            key_share_pct: 0,
            ..settings()
        };
        assert!(bad.validate().unwrap_err().get("key_share_pct").is_some());
    }

    #[test]
    fn pareto_of_a_known_list() {
        let p = pareto(&[25, 100, 10, 50, 15]);
        assert_eq!(p.customers, 5);
        assert_eq!(p.total_fen, 200);
        assert_eq!(p.top20_fen, 100);
        assert_eq!(p.top20_share, Some(0.5));
        assert_eq!(p.curve.len(), 101);
        assert_eq!(p.curve[0], (0.0, 0.0));
        // 1% of 5 customers rounds up to the first one.
        assert_eq!(p.curve[1], (0.01, 0.5));
        assert_eq!(p.curve[20], (0.2, 0.5));
        assert_eq!(p.curve[21], (0.21, 0.75));
        assert_eq!(p.curve[40], (0.4, 0.75));
        assert_eq!(p.curve[100], (1.0, 1.0));
        // Six customers: the top 20% is two of them.
        let p = pareto(&[1, 1, 1, 1, 10, 6]);
        assert_eq!((p.top20_fen, p.total_fen), (16, 20));
        assert_eq!(p.top20_share, Some(0.8));
        // Nothing positive to share.
        for v in [&[][..], &[0, 0], &[10, -30]] {
            let p = pareto(v);
            assert_eq!(p.top20_share, None);
            assert_eq!(p.curve.len(), 101);
            assert!(p.curve.iter().all(|c| c.1 == 0.0));
            assert_eq!(p.curve[100].0, 1.0);
        }
        assert_eq!(pareto(&[10, -30]).top20_fen, 10);
        assert_eq!(pareto(&[]).customers, 0);
    }

    /// A small deterministic generator for the random base.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % n
        }

        fn days(&mut self) -> Option<u32> {
            match self.below(5) {
                0 => None,
                _ => Some(self.below(400) as u32),
            }
        }
    }

    fn random_base(n: usize, seed: u64) -> Vec<Facts> {
        let mut g = Lcg(seed);
        (0..n)
            .map(|_| {
                let purchases = g.below(8) as u32;
                let spend_fen = if purchases == 0 {
                    0
                } else {
                    g.below(50) as i64 * 1000 - 2000
                };
                Facts {
                    spend_fen,
                    purchases,
                    referrals: g.below(3) as u32,
                    age_days: g.below(1000) as u32,
                    power_fen: if purchases == 0 {
                        0
                    } else {
                        spend_fen / i64::from(purchases)
                    },
                    recent_spend_fen: g.below(20) as i64 * 500,
                    prior_spend_fen: g.below(20) as i64 * 500,
                    days_since_purchase: g.days(),
                    days_since_contact: g.days(),
                    transactions: g.below(6) as u32,
                    monetary_fen: g.below(40) as i64 * 1000,
                }
            })
            .collect()
    }

    #[test]
    fn random_base_keeps_the_invariants() {
        let n = 10_000;
        let facts = random_base(n, 7);
        let s = ValueSettings {
            key_share_pct: 33,
            ..settings()
        };
        let out = score_all(&facts, &s);
        assert_eq!(out.len(), n);

        // Percentiles against a sorted copy of each dimension.
        for (k, d) in Dimension::ALL.iter().enumerate() {
            let mut sorted: Vec<i64> = facts.iter().map(|f| f.raw(*d)).collect();
            sorted.sort_unstable();
            for (o, f) in out.iter().zip(&facts) {
                let below = sorted.partition_point(|v| *v < f.raw(*d));
                assert_eq!(o.parts[k].percentile, below as f64 / n as f64);
                assert_eq!(o.parts[k].dimension, *d);
            }
        }

        let w = f64::from(s.weights.sum());
        for o in &out {
            assert!((0.0..100.0).contains(&o.score), "{}", o.score);
            let sum: f64 = o.parts.iter().map(|p| p.points).sum();
            assert!(close(sum, o.score), "{sum} vs {}", o.score);
            for p in &o.parts {
                assert!(close(
                    p.points,
                    f64::from(p.weight) / w * p.percentile * 100.0
                ));
            }
            let want = if o.score >= f64::from(s.a_min) {
                Grade::A
            } else if o.score >= f64::from(s.b_min) {
                Grade::B
            } else {
                Grade::C
            };
            assert_eq!(o.grade, want);
        }
        let [(_, a), (_, b), (_, c)] = grade_pyramid(&out);
        assert_eq!(a + b + c, n);
        assert!(a > 0 && b > 0 && c > 0);

        // Exactly ceil(33% of n) key customers, and each ranks above every
        // general customer with a score.
        let keys: Vec<usize> = (0..n).filter(|i| out[*i].tier == Tier::Key).collect();
        assert_eq!(keys.len(), 3300);
        let rank = |i: usize| (out[i].score, facts[i].spend_fen, std::cmp::Reverse(i));
        let worst_key = keys
            .iter()
            .map(|i| rank(*i))
            .min_by(|a, b| a.partial_cmp(b).unwrap())
            .unwrap();
        for i in (0..n).filter(|i| out[*i].tier == Tier::General && out[*i].score > 0.0) {
            assert!(rank(i) < worst_key, "{i}");
        }

        // Each class's rule holds, and the earlier rules do not.
        for (o, f) in out.iter().zip(&facts) {
            let silent = |d: Option<u32>| d.is_none_or(|d| d >= s.frozen_days);
            let frozen = silent(f.days_since_purchase)
                && silent(f.days_since_contact)
                && f.age_days >= s.frozen_days;
            let migrating = f.prior_spend_fen > 0
                && f.recent_spend_fen as f64
                    <= f.prior_spend_fen as f64 * f64::from(100 - s.migrating_drop_pct) / 100.0;
            let want = if frozen {
                Lifecycle::Frozen
            } else if migrating {
                Lifecycle::Migrating
            } else if o.tier == Tier::Key && f.purchases > 0 {
                Lifecycle::Value
            } else {
                Lifecycle::Potential
            };
            assert_eq!(o.lifecycle(), want, "{f:?}");
        }
        assert!(lifecycle_counts(&out).iter().all(|c| c.1 > 0));

        // RFM against sorted copies over buyers.
        let buyers: Vec<&Facts> = facts.iter().filter(|f| f.transactions > 0).collect();
        let m = buyers.len();
        let sorted = |key: fn(&Facts) -> i64| {
            let mut v: Vec<i64> = buyers.iter().map(|f| key(f)).collect();
            v.sort_unstable();
            v
        };
        let recency: fn(&Facts) -> i64 = |f| -i64::from(f.days_since_purchase.unwrap_or(u32::MAX));
        let (rs, fs, ms) = (
            sorted(recency),
            sorted(|f| i64::from(f.transactions)),
            sorted(|f| f.monetary_fen),
        );
        let q = |v: &[i64], x: i64| (1 + 5 * v.partition_point(|y| *y < x) / m) as u8;
        for (o, f) in out.iter().zip(&facts) {
            if f.transactions == 0 {
                assert_eq!(o.rfm, None);
            } else {
                let want = Rfm {
                    r: q(&rs, recency(f)),
                    f: q(&fs, i64::from(f.transactions)),
                    m: q(&ms, f.monetary_fen),
                };
                assert_eq!(o.rfm, Some(want));
            }
        }
        assert!(out.iter().any(|o| o.rfm.is_some_and(|r| r.r == 5)));

        // Pareto over the same spend: the top fifth is the largest fifth.
        let spends: Vec<i64> = facts.iter().map(|f| f.spend_fen).collect();
        let p = pareto(&spends);
        assert_eq!(p.total_fen, spends.iter().sum::<i64>());
        let mut desc = spends.clone();
        desc.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(p.top20_fen, desc[..2000].iter().sum::<i64>());
        assert!(close(p.curve[20].1, p.top20_share.unwrap()));
        assert!(close(p.curve[100].1, 1.0));
    }
}
