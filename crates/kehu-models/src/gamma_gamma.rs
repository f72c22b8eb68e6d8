//! The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV:
//! Using Iso-Value Curves for Customer Base Analysis"; note 025) and
//! customer lifetime value.
//!
//! Purchase models say how many purchases to expect; this one says how much
//! each will be worth. A customer's spend per purchase varies around their
//! own mean with Gamma(p, ν) noise, and ν varies across customers as
//! Gamma(q, v); a few purchases are pulled towards the population mean, many
//! towards the customer's own. Multiplied with a purchase model's forecast
//! and discounted, it gives the lifetime value the CRM shows.

use crate::fit::{check_params, chunked, minimize_smooth, SpendRows};
use crate::special::{digamma, ln_gamma};
use crate::{Fit, FitOptions, ModelError, PurchaseModel, Rfm, Spend, TimeUnit};

/// Gamma-Gamma parameters. `v` is in the currency unit of the spend it was
/// fitted to (fen for summaries from [`crate::summary`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGammaParams {
    /// Shape of the per-transaction spend distribution.
    pub p: f64,
    /// Shape of the Gamma distribution of the spend scale across customers.
    pub q: f64,
    /// Scale of that distribution, in currency units.
    pub v: f64,
}

impl GammaGammaParams {
    /// Parameters, each of which must be positive and finite.
    pub fn new(p: f64, q: f64, v: f64) -> Result<Self, ModelError> {
        check_params(&[p, q, v], "Gamma-Gamma parameters must be positive")?;
        Ok(GammaGammaParams { p, q, v })
    }

    fn from_log(l: &[f64]) -> Self {
        GammaGammaParams {
            p: l[0].exp(),
            q: l[1].exp(),
            v: l[2].exp(),
        }
    }

    /// Log-likelihood of a repeat buyer's mean spend `m` over `x` purchases
    /// (note 025, eq. 3, as the density of the mean).
    fn row_log_likelihood(&self, x: f64, m: f64) -> f64 {
        let GammaGammaParams { p, q, v } = *self;
        let px = p * x;
        ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q)
            + q * v.ln()
            + (px - 1.0) * m.ln()
            + px * x.ln()
            - (px + q) * (x * m + v).ln()
    }

    /// Log-likelihood of one repeat buyer (frequency > 0, positive spend).
    pub fn log_likelihood(&self, c: &Spend) -> f64 {
        self.row_log_likelihood(f64::from(c.frequency), c.monetary_value)
    }

    fn rows_log_likelihood(&self, rows: &SpendRows) -> f64 {
        self.rows_log_likelihood_and_gradient(rows).0
    }

    /// Total log-likelihood of compressed rows and its gradient with
    /// respect to the logarithms of (p, q, v).
    fn rows_log_likelihood_and_gradient(&self, rows: &SpendRows) -> (f64, [f64; 3]) {
        let GammaGammaParams { p, q, v } = *self;
        let (ln_v, psi_q, lg_q) = (v.ln(), digamma(q), ln_gamma(q));
        // Per frequency: the gamma-function terms and their derivatives.
        let per_x: Vec<[f64; 4]> = rows
            .xs
            .iter()
            .map(|&x| {
                let px = p * x;
                let psi_pxq = digamma(px + q);
                [
                    ln_gamma(px + q) - ln_gamma(px) - lg_q + q * ln_v + px * x.ln(),
                    x * (psi_pxq - digamma(px) + x.ln()),
                    psi_pxq - psi_q + ln_v,
                    p * x,
                ]
            })
            .collect();
        let parts = chunked(rows.x.len(), |range| {
            let mut acc = [0.0; 4];
            for i in range {
                let [shared, d_p, d_q, px] = per_x[rows.x_idx[i] as usize];
                let (x, ln_m) = (rows.x[i], rows.ln_m[i]);
                let xm_v = x * rows.m[i] + v;
                let ln_xm_v = xm_v.ln();
                let w = rows.weight[i];
                acc[0] += w * (shared + (px - 1.0) * ln_m - (px + q) * ln_xm_v);
                acc[1] += w * (d_p + x * (ln_m - ln_xm_v));
                acc[2] += w * (d_q - ln_xm_v);
                acc[3] += w * (q / v - (px + q) / xm_v);
            }
            acc
        });
        let mut total = [0.0; 4];
        for part in parts {
            for (t, value) in total.iter_mut().zip(part) {
                *t += value;
            }
        }
        (total[0], [total[1] * p, total[2] * q, total[3] * v])
    }

    /// The population's mean spend per purchase, v p / (q − 1); infinite
    /// when q ≤ 1.
    pub fn population_mean_spend(&self) -> f64 {
        if self.q <= 1.0 {
            return f64::INFINITY;
        }
        self.v * self.p / (self.q - 1.0)
    }

    /// Expected spend per purchase of a customer with this history: a
    /// weighted mean of the population mean and their own (note 025, eq. 5).
    /// Customers without repeat purchases get the population mean.
    pub fn conditional_expected_spend(&self, c: &Spend) -> f64 {
        let GammaGammaParams { p, q, .. } = *self;
        let px = p * f64::from(c.frequency);
        let own = px / (px + q - 1.0);
        (1.0 - own) * self.population_mean_spend() + own * c.monetary_value
    }

    /// Customer lifetime value as lifetimes' `customer_lifetime_value`
    /// computes it: for each month of the horizon, the purchases the
    /// purchase model expects in that month, times the customer's
    /// [expected spend](Self::conditional_expected_spend), discounted by
    /// (1 + monthly rate)^month. In the currency unit of the spend.
    pub fn customer_lifetime_value<M: PurchaseModel + ?Sized>(
        &self,
        purchases: &M,
        rfm: &Rfm,
        monetary_value: f64,
        horizon: &ClvHorizon,
    ) -> f64 {
        let spend = self.conditional_expected_spend(&Spend {
            frequency: rfm.frequency,
            monetary_value,
        });
        let month = horizon.unit.per_month();
        let mut value = 0.0;
        let mut before = 0.0;
        for i in 1..=horizon.months {
            let by_then = purchases.conditional_expected_purchases(f64::from(i) * month, rfm);
            value +=
                spend * (by_then - before) / (1.0 + horizon.monthly_discount_rate).powi(i as i32);
            before = by_then;
        }
        value
    }
}

/// How far ahead and how steeply to discount customer lifetime value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClvHorizon {
    /// Months to sum over (lifetimes' `time`, default 12).
    pub months: u32,
    /// Discount rate per month (lifetimes' `discount_rate`, default 0.01 =
    /// 1 % a month, about 12.7 % a year).
    pub monthly_discount_rate: f64,
    /// The time unit the purchase model was fitted in; a month is 30 days or
    /// 4.345 weeks.
    pub unit: TimeUnit,
}

/// Fits Gamma-Gamma by maximum likelihood to the customers with at least one
/// repeat purchase and positive mean repeat spend; others are skipped
/// ([`Fit::customers`] counts those used).
pub fn fit<I>(customers: I, options: &FitOptions) -> Result<Fit<GammaGammaParams>, ModelError>
where
    I: IntoIterator<Item = Spend>,
{
    let rows = SpendRows::new(customers)?;
    let n = rows.customers as f64;
    let mean_m: f64 = rows
        .m
        .iter()
        .zip(&rows.weight)
        .map(|(m, w)| m * w)
        .sum::<f64>()
        / n;
    let start = vec![0.0, 0.0, mean_m.ln()];
    let m = minimize_smooth(
        |l| -GammaGammaParams::from_log(l).rows_log_likelihood(&rows) / n,
        |l| {
            let (ll, g) = GammaGammaParams::from_log(l).rows_log_likelihood_and_gradient(&rows);
            (-ll / n, g.iter().map(|v| -v / n).collect())
        },
        start,
        options,
    )?;
    let params = GammaGammaParams::from_log(&m.x);
    Ok(Fit {
        params,
        log_likelihood: params.rows_log_likelihood(&rows),
        customers: rows.customers,
        iterations: m.iterations,
        converged: m.converged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::SpendRows;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs()
    }

    #[test]
    fn likelihood_matches_the_density_of_the_mean() {
        // With x = 1 the mean is one Gamma(p, ν) draw with ν ~ Gamma(q, v):
        // f(m) = Γ(p + q) / (Γ(p) Γ(q)) · v^q m^(p−1) / (v + m)^(p + q).
        let g = GammaGammaParams::new(6.25, 3.74, 15.44).unwrap();
        let m = 20.0f64;
        let want = ln_gamma(6.25 + 3.74) - ln_gamma(6.25) - ln_gamma(3.74)
            + 3.74 * 15.44f64.ln()
            + 5.25 * m.ln()
            - 9.99 * (15.44 + m).ln();
        let got = g.log_likelihood(&Spend {
            frequency: 1,
            monetary_value: m,
        });
        assert!(close(got, want, 1e-13), "{got} {want}");
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let s = |frequency, monetary_value| Spend {
            frequency,
            monetary_value,
        };
        let rows = SpendRows::new(vec![s(1, 20.0), s(3, 31.5), s(3, 12.0), s(12, 44.0)]).unwrap();
        let logp = [6.0f64.ln(), 3.5f64.ln(), 15.0f64.ln()];
        let (ll, g) = GammaGammaParams::from_log(&logp).rows_log_likelihood_and_gradient(&rows);
        let direct: f64 = [s(1, 20.0), s(3, 31.5), s(3, 12.0), s(12, 44.0)]
            .iter()
            .map(|c| GammaGammaParams::from_log(&logp).log_likelihood(c))
            .sum();
        assert!(close(ll, direct, 1e-13));
        for k in 0..3 {
            let h = 1e-6;
            let (mut up, mut down) = (logp, logp);
            up[k] += h;
            down[k] -= h;
            let numeric = (GammaGammaParams::from_log(&up).rows_log_likelihood(&rows)
                - GammaGammaParams::from_log(&down).rows_log_likelihood(&rows))
                / (2.0 * h);
            assert!(close(g[k], numeric, 1e-6), "{k}: {} vs {numeric}", g[k]);
        }
    }

    #[test]
    fn expected_spend_moves_from_population_to_own_mean() {
        let g = GammaGammaParams::new(6.25, 3.74, 15.44).unwrap();
        let pop = g.population_mean_spend();
        let none = g.conditional_expected_spend(&Spend {
            frequency: 0,
            monetary_value: 0.0,
        });
        assert!(close(none, pop, 1e-15));
        let many = g.conditional_expected_spend(&Spend {
            frequency: 10_000,
            monetary_value: 100.0,
        });
        assert!(close(many, 100.0, 1e-3));
    }

    struct Steady(f64);
    impl PurchaseModel for Steady {
        fn conditional_expected_purchases(&self, t: f64, _: &Rfm) -> f64 {
            self.0 * t
        }
    }

    #[test]
    fn lifetime_value_discounts_each_month() {
        let g = GammaGammaParams::new(6.25, 3.74, 15.44).unwrap();
        let rfm = Rfm {
            frequency: 3,
            recency: 10.0,
            t: 20.0,
        };
        let spend = g.conditional_expected_spend(&Spend {
            frequency: 3,
            monetary_value: 30.0,
        });
        // One purchase a day = 30 a month, for 2 months at 10 % a month.
        let clv = g.customer_lifetime_value(
            &Steady(1.0),
            &rfm,
            30.0,
            &ClvHorizon {
                months: 2,
                monthly_discount_rate: 0.1,
                unit: TimeUnit::Day,
            },
        );
        assert!(close(clv, spend * 30.0 * (1.0 / 1.1 + 1.0 / 1.21), 1e-12));
    }

    #[test]
    fn fitting_without_repeat_buyers_is_an_error() {
        let e = fit(
            vec![Spend {
                frequency: 0,
                monetary_value: 0.0,
            }],
            &FitOptions::default(),
        );
        assert_eq!(e.unwrap_err(), ModelError::NoRepeatBuyers);
    }
}
