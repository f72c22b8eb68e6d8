//! From raw transactions to per-customer RFM summaries.
//!
//! Every model in this crate looks at a customer only through four numbers:
//! how many repeat purchases they made (frequency), when the last one was
//! (recency), how long we have known them (age, `T`) and how much their
//! repeat purchases were worth on average. This module computes them the way
//! the literature and `lifetimes.utils.summary_data_from_transaction_data`
//! do, so fitted parameters mean the same thing as published ones.

use chrono::NaiveDate;

use crate::ModelError;

/// The time unit recency, age and prediction horizons are measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// Days.
    Day,
    /// Weeks of 7 days; recency and age stay fractional (days / 7), as with
    /// `freq='D', freq_multiplier=7` in lifetimes (not `freq='W'`, which
    /// would round to calendar weeks).
    Week,
}

impl TimeUnit {
    /// Days in one unit.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Day => 1.0,
            TimeUnit::Week => 7.0,
        }
    }

    /// Units in one month, as lifetimes' `customer_lifetime_value` counts
    /// them: 30 days or 4.345 weeks.
    pub fn per_month(self) -> f64 {
        match self {
            TimeUnit::Day => 30.0,
            TimeUnit::Week => 4.345,
        }
    }
}

/// One purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction<K> {
    /// Whose purchase it is.
    pub customer: K,
    /// Day of the purchase as a day number (any fixed origin; see
    /// [`day_number`] for dates).
    pub day: i64,
    /// Amount in fen (integer hundredths of the currency unit).
    pub amount_fen: i64,
}

impl<K> Transaction<K> {
    /// A purchase on a calendar date.
    pub fn dated(customer: K, date: NaiveDate, amount_fen: i64) -> Self {
        Transaction {
            customer,
            day: day_number(date),
            amount_fen,
        }
    }
}

/// The day number of a date (days since 1 January of year 1, CE).
pub fn day_number(date: NaiveDate) -> i64 {
    i64::from(chrono::Datelike::num_days_from_ce(&date))
}

/// What the purchase models need of a customer: repeat purchases, recency
/// and age, in one time unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rfm {
    /// Number of repeat purchase days (x): purchase days after the first.
    pub frequency: u32,
    /// Time from the first to the last purchase (t_x); 0 without repeats.
    pub recency: f64,
    /// Time from the first purchase to the end of observation (T).
    pub t: f64,
}

/// What the spend model needs of a customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spend {
    /// Number of repeat purchase days.
    pub frequency: u32,
    /// Mean spend of the repeat purchase days, in fen.
    pub monetary_value: f64,
}

/// One customer's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerSummary<K> {
    /// The customer.
    pub customer: K,
    /// Number of repeat purchase days (days with a purchase after the first).
    pub frequency: u32,
    /// Time from the first to the last purchase day.
    pub recency: f64,
    /// Time from the first purchase day to the observation end (`T`).
    pub t: f64,
    /// Mean amount of the repeat purchase days in fen (the first day's
    /// purchases excluded); 0 when frequency is 0.
    pub monetary_value: f64,
}

impl<K> CustomerSummary<K> {
    /// Frequency, recency and age.
    pub fn rfm(&self) -> Rfm {
        Rfm {
            frequency: self.frequency,
            recency: self.recency,
            t: self.t,
        }
    }

    /// Frequency and mean repeat spend.
    pub fn spend(&self) -> Spend {
        Spend {
            frequency: self.frequency,
            monetary_value: self.monetary_value,
        }
    }
}

/// Summarises transactions per customer as of the end of day
/// `observation_end` (a day number, see [`day_number`]).
///
/// Purchases after `observation_end` are ignored, purchases of one customer
/// on the same day count as one transaction with their amounts summed, and
/// customers whose first purchase is after `observation_end` do not appear.
/// The result is ordered by customer key.
pub fn summarize<K, I>(
    transactions: I,
    observation_end: i64,
    unit: TimeUnit,
) -> Result<Vec<CustomerSummary<K>>, ModelError>
where
    K: Ord + Clone,
    I: IntoIterator<Item = Transaction<K>>,
{
    let mut kept: Vec<Transaction<K>> = transactions
        .into_iter()
        .filter(|t| t.day <= observation_end)
        .collect();
    kept.sort_unstable_by(|a, b| a.customer.cmp(&b.customer).then(a.day.cmp(&b.day)));

    let days_per_unit = unit.days();
    let mut out = Vec::new();
    let mut i = 0;
    while i < kept.len() {
        let customer = &kept[i].customer;
        let first_day = kept[i].day;
        let mut last_day = first_day;
        let mut purchase_days: u32 = 0;
        let mut repeat_total: i128 = 0;
        let mut j = i;
        while j < kept.len() && kept[j].customer == *customer {
            let day = kept[j].day;
            let mut day_total: i64 = 0;
            while j < kept.len() && kept[j].customer == *customer && kept[j].day == day {
                day_total = day_total
                    .checked_add(kept[j].amount_fen)
                    .ok_or(ModelError::AmountOverflow)?;
                j += 1;
            }
            if purchase_days > 0 {
                repeat_total += i128::from(day_total);
            }
            purchase_days += 1;
            last_day = day;
        }
        let frequency = purchase_days - 1;
        out.push(CustomerSummary {
            customer: customer.clone(),
            frequency,
            recency: (last_day - first_day) as f64 / days_per_unit,
            t: (observation_end - first_day) as f64 / days_per_unit,
            monetary_value: if frequency == 0 {
                0.0
            } else {
                repeat_total as f64 / f64::from(frequency)
            },
        });
        i = j;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(customer: u32, day: i64, amount_fen: i64) -> Transaction<u32> {
        Transaction {
            customer,
            day,
            amount_fen,
        }
    }

    #[test]
    fn same_day_purchases_are_one_transaction_with_summed_amount() {
        let s = summarize(
            vec![tx(1, 0, 100), tx(1, 5, 300), tx(1, 5, 200), tx(1, 0, 50)],
            10,
            TimeUnit::Day,
        )
        .unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].frequency, 1);
        assert_eq!(s[0].recency, 5.0);
        assert_eq!(s[0].t, 10.0);
        assert_eq!(s[0].monetary_value, 500.0);
    }

    #[test]
    fn first_day_spend_is_not_part_of_monetary_value() {
        let s = summarize(
            vec![tx(7, 3, 10_000), tx(7, 4, 100), tx(7, 9, 300)],
            9,
            TimeUnit::Day,
        )
        .unwrap();
        assert_eq!(s[0].frequency, 2);
        assert_eq!(s[0].monetary_value, 200.0);
        assert_eq!(s[0].recency, 6.0);
        assert_eq!(s[0].t, 6.0);
    }

    #[test]
    fn observation_end_cuts_off_later_purchases_and_customers() {
        let s = summarize(
            vec![tx(1, 0, 100), tx(1, 14, 100), tx(1, 30, 999), tx(2, 31, 5)],
            21,
            TimeUnit::Week,
        )
        .unwrap();
        assert_eq!(s.len(), 1, "customer 2 starts after the end");
        assert_eq!(s[0].frequency, 1);
        assert_eq!(s[0].recency, 2.0);
        assert_eq!(s[0].t, 3.0);
        assert_eq!(s[0].monetary_value, 100.0);
    }

    #[test]
    fn weeks_stay_fractional() {
        let s = summarize(vec![tx(1, 0, 1), tx(1, 3, 1)], 10, TimeUnit::Week).unwrap();
        assert!((s[0].recency - 3.0 / 7.0).abs() < 1e-15);
        assert!((s[0].t - 10.0 / 7.0).abs() < 1e-15);
    }

    #[test]
    fn one_time_buyers_have_zero_recency_and_spend() {
        let s = summarize(vec![tx(3, 2, 500), tx(3, 2, 500)], 2, TimeUnit::Day).unwrap();
        assert_eq!(
            s[0],
            CustomerSummary {
                customer: 3,
                frequency: 0,
                recency: 0.0,
                t: 0.0,
                monetary_value: 0.0
            }
        );
    }

    #[test]
    fn customers_come_out_ordered_by_key() {
        let s = summarize(
            vec![tx(9, 0, 1), tx(2, 0, 1), tx(5, 1, 1)],
            3,
            TimeUnit::Day,
        )
        .unwrap();
        let keys: Vec<u32> = s.iter().map(|c| c.customer).collect();
        assert_eq!(keys, vec![2, 5, 9]);
    }

    #[test]
    fn dates_become_day_numbers() {
        let a = NaiveDate::from_ymd_opt(1997, 1, 1).unwrap();
        let b = NaiveDate::from_ymd_opt(1997, 3, 1).unwrap();
        assert_eq!(day_number(b) - day_number(a), 59);
        let s = summarize(
            vec![Transaction::dated("x", a, 1), Transaction::dated("x", b, 1)],
            day_number(b),
            TimeUnit::Day,
        )
        .unwrap();
        assert_eq!(s[0].recency, 59.0);
    }

    #[test]
    fn overflowing_amounts_are_an_error() {
        let e = summarize(vec![tx(1, 0, i64::MAX), tx(1, 0, 1)], 0, TimeUnit::Day);
        assert_eq!(e, Err(ModelError::AmountOverflow));
    }
}
