//! The BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting Your
//! Customers the Easy Way").
//!
//! While active, a customer buys as a Poisson process with rate λ ~
//! Gamma(r, α); after each purchase they drop out with probability p ~
//! Beta(a, b). From frequency, recency and age alone it predicts how much a
//! customer will still buy and how likely they are to still be active — the
//! basis of churn flags and lifetime value in the CRM.

use crate::fit::{check_params, chunked, chunked_sum, minimize_smooth, RfmRows};
use crate::special::{digamma, ln_gamma, ln_hyp2f1, log_add_exp};
use crate::{Fit, FitOptions, ModelError, PurchaseModel, Rfm};

/// BG/NBD parameters: shape `r` and scale `alpha` (in the time unit of the
/// data) of the purchase rate, and `a`, `b` of the drop-out probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbdParams {
    /// Shape of the Gamma distribution of purchase rates.
    pub r: f64,
    /// Scale (rate parameter) of the Gamma distribution, in time units.
    pub alpha: f64,
    /// First shape of the Beta distribution of drop-out probabilities.
    pub a: f64,
    /// Second shape of the Beta distribution of drop-out probabilities.
    pub b: f64,
}

impl BgNbdParams {
    /// Parameters, each of which must be positive and finite.
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self, ModelError> {
        check_params(&[r, alpha, a, b], "BG/NBD parameters must be positive")?;
        Ok(BgNbdParams { r, alpha, a, b })
    }

    fn from_log(p: &[f64]) -> Self {
        BgNbdParams {
            r: p[0].exp(),
            alpha: p[1].exp(),
            a: p[2].exp(),
            b: p[3].exp(),
        }
    }

    /// Log-likelihood of one customer's history (FHL 2005, eq. 6), in the
    /// form of Fader & Hardie's note 004 that cannot overflow.
    pub fn log_likelihood(&self, c: &Rfm) -> f64 {
        let x = f64::from(c.frequency);
        let (shared, ln_drop) = self.frequency_terms(x);
        self.row_log_likelihood(x, c.recency, c.t, shared, ln_drop)
    }

    /// The parts of the log-likelihood that depend on frequency only.
    #[inline]
    fn frequency_terms(&self, x: f64) -> (f64, f64) {
        let BgNbdParams { r, alpha, a, b } = *self;
        let shared =
            ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + ln_gamma(a + b) + ln_gamma(b + x)
                - ln_gamma(b)
                - ln_gamma(a + b + x);
        let ln_drop = if x > 0.0 {
            a.ln() - (b + x - 1.0).ln()
        } else {
            f64::NEG_INFINITY
        };
        (shared, ln_drop)
    }

    #[inline]
    fn row_log_likelihood(&self, x: f64, t_x: f64, t: f64, shared: f64, ln_drop: f64) -> f64 {
        let rx = self.r + x;
        let alive = -rx * (self.alpha + t).ln();
        if x > 0.0 {
            let dropped = ln_drop - rx * (self.alpha + t_x).ln();
            shared + log_add_exp(alive, dropped)
        } else {
            shared + alive
        }
    }

    /// Total log-likelihood of compressed rows.
    pub(crate) fn rows_log_likelihood(&self, rows: &RfmRows) -> f64 {
        let ln_at: Vec<f64> = rows.times.iter().map(|t| (self.alpha + t).ln()).collect();
        let terms: Vec<(f64, f64)> = rows.xs.iter().map(|&x| self.frequency_terms(x)).collect();
        chunked_sum(rows.len(), |range| {
            let mut total = 0.0;
            for i in range {
                let x = rows.x[i];
                let (shared, ln_drop) = terms[rows.x_idx[i] as usize];
                let rx = self.r + x;
                let alive = -rx * ln_at[rows.t_idx[i] as usize];
                let ll = if x > 0.0 {
                    let dropped = ln_drop - rx * ln_at[rows.t_x_idx[i] as usize];
                    shared + log_add_exp(alive, dropped)
                } else {
                    shared + alive
                };
                total += rows.weight[i] * ll;
            }
            total
        })
    }

    /// Total log-likelihood of compressed rows and its gradient with
    /// respect to the logarithms of (r, α, a, b).
    pub(crate) fn rows_log_likelihood_and_gradient(&self, rows: &RfmRows) -> (f64, [f64; 4]) {
        let BgNbdParams { r, alpha, a, b } = *self;
        let ln_at: Vec<f64> = rows.times.iter().map(|t| (alpha + t).ln()).collect();
        let inv_at: Vec<f64> = rows.times.iter().map(|t| 1.0 / (alpha + t)).collect();
        let (psi_r, psi_ab, psi_b, ln_alpha) = (digamma(r), digamma(a + b), digamma(b), alpha.ln());
        // Per frequency: the terms and the parts of the gradient that do not
        // depend on the times.
        let per_x: Vec<[f64; 5]> = rows
            .xs
            .iter()
            .map(|&x| {
                let (shared, ln_drop) = self.frequency_terms(x);
                let psi_abx = digamma(a + b + x);
                [
                    shared,
                    ln_drop,
                    digamma(r + x) - psi_r + ln_alpha,
                    psi_ab - psi_abx,
                    psi_ab + digamma(b + x) - psi_b - psi_abx,
                ]
            })
            .collect();
        let parts = chunked(rows.len(), |range| {
            let mut acc = [0.0; 5];
            for i in range {
                let x = rows.x[i];
                let [shared, ln_drop, d_r, d_a, d_b] = per_x[rows.x_idx[i] as usize];
                let (ti, txi) = (rows.t_idx[i] as usize, rows.t_x_idx[i] as usize);
                let rx = r + x;
                let alive = -rx * ln_at[ti];
                // w: posterior weight of "dropped out after the last purchase".
                let (ll, w) = if x > 0.0 {
                    let dropped = ln_drop - rx * ln_at[txi];
                    let w = 1.0 / (1.0 + (alive - dropped).exp());
                    (shared + log_add_exp(alive, dropped), w)
                } else {
                    (shared + alive, 0.0)
                };
                let weight = rows.weight[i];
                acc[0] += weight * ll;
                acc[1] += weight * (d_r - (1.0 - w) * ln_at[ti] - w * ln_at[txi]);
                acc[2] += weight * (r / alpha - rx * ((1.0 - w) * inv_at[ti] + w * inv_at[txi]));
                acc[3] += weight * (d_a + w / a);
                acc[4] += weight * (d_b - if x > 0.0 { w / (b + x - 1.0) } else { 0.0 });
            }
            acc
        });
        let mut total = [0.0; 5];
        for p in parts {
            for (t, v) in total.iter_mut().zip(p) {
                *t += v;
            }
        }
        (
            total[0],
            [total[1] * r, total[2] * alpha, total[3] * a, total[4] * b],
        )
    }

    /// Probability that a customer with this history is still active (Fader,
    /// Hardie & Lee's note 021). Always 1 without repeat purchases: in
    /// BG/NBD customers can only drop out right after a purchase.
    pub fn probability_alive(&self, c: &Rfm) -> f64 {
        if c.frequency == 0 {
            return 1.0;
        }
        let x = f64::from(c.frequency);
        let ln_odds_dead = self.a.ln() - (self.b + x - 1.0).ln()
            + (self.r + x) * ((self.alpha + c.t) / (self.alpha + c.recency)).ln();
        1.0 / (1.0 + ln_odds_dead.exp())
    }

    /// Expected number of purchases in the next `t` time units of a customer
    /// with this history (FHL 2005, eq. 10).
    pub fn conditional_expected_purchases(&self, t: f64, c: &Rfm) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let BgNbdParams { r, alpha, a, b } = *self;
        let x = f64::from(c.frequency);
        let big_t = c.t;
        let z = t / (alpha + big_t + t);
        let ln_hyp = ln_hyp2f1(r + x, b + x, a + b + x - 1.0, z);
        let ln_tail = ln_hyp + (r + x) * ((alpha + big_t) / (alpha + big_t + t)).ln();
        let first = (a + b + x - 1.0) / (a - 1.0);
        first * -ln_tail.exp_m1() * self.probability_alive(c)
    }

    /// Expected number of purchases of a new customer in their first `t`
    /// time units (FHL 2005, eq. 9).
    pub fn expected_purchases(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let BgNbdParams { r, alpha, a, b } = *self;
        let ln_hyp = ln_hyp2f1(r, b, a + b - 1.0, t / (alpha + t));
        let ln_tail = ln_hyp + r * (alpha / (alpha + t)).ln();
        (a + b - 1.0) / (a - 1.0) * -ln_tail.exp_m1()
    }
}

impl PurchaseModel for BgNbdParams {
    fn conditional_expected_purchases(&self, t: f64, rfm: &Rfm) -> f64 {
        BgNbdParams::conditional_expected_purchases(self, t, rfm)
    }
}

/// Fits BG/NBD by maximum likelihood to the customers' histories.
pub fn fit<I>(customers: I, options: &FitOptions) -> Result<Fit<BgNbdParams>, ModelError>
where
    I: IntoIterator<Item = Rfm>,
{
    let rows = RfmRows::new(customers)?;
    let n = rows.customers as f64;
    let start = vec![0.0, rows.mean_t().max(1e-3).ln(), 0.0, 0.0];
    let m = minimize_smooth(
        |p| -BgNbdParams::from_log(p).rows_log_likelihood(&rows) / n,
        |p| {
            let (ll, g) = BgNbdParams::from_log(p).rows_log_likelihood_and_gradient(&rows);
            (-ll / n, g.iter().map(|v| -v / n).collect())
        },
        start,
        options,
    )?;
    let params = BgNbdParams::from_log(&m.x);
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

    fn rfm(frequency: u32, recency: f64, t: f64) -> Rfm {
        Rfm {
            frequency,
            recency,
            t,
        }
    }

    fn params() -> BgNbdParams {
        BgNbdParams::new(0.243, 4.414, 0.793, 2.426).unwrap()
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs()
    }

    #[test]
    fn likelihood_matches_the_formula_by_hand() {
        let p = params();
        // x = 0: L = (α / (α + T))^r
        let want = 0.243 * (4.414f64 / (4.414 + 38.86)).ln();
        assert!(close(p.log_likelihood(&rfm(0, 0.0, 38.86)), want, 1e-13));
        // x = 2, t_x = 30.43, T = 38.86, straight from FHL 2005 eq. 6:
        // B(a, b + x)/B(a, b) Γ(r + x) α^r / (Γ(r)(α + T)^(r + x))
        //   + B(a + 1, b + x − 1)/B(a, b) Γ(r + x) α^r / (Γ(r)(α + t_x)^(r + x))
        let (r, al, a, b, x, tx, t) = (0.243f64, 4.414f64, 0.793f64, 2.426f64, 2.0, 30.43, 38.86);
        let lb = |p: f64, q: f64| ln_gamma(p) + ln_gamma(q) - ln_gamma(p + q);
        let g = ln_gamma(r + x) - ln_gamma(r) + r * al.ln();
        let l = (lb(a, b + x) - lb(a, b) + g - (r + x) * (al + t).ln()).exp()
            + (lb(a + 1.0, b + x - 1.0) - lb(a, b) + g - (r + x) * (al + tx).ln()).exp();
        assert!(close(p.log_likelihood(&rfm(2, tx, t)), l.ln(), 1e-12));
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let customers = [
            rfm(0, 0.0, 38.86),
            rfm(2, 30.43, 38.86),
            rfm(1, 1.71, 38.86),
            rfm(7, 29.43, 35.0),
            rfm(0, 0.0, 12.0),
        ];
        let rows = RfmRows::new(customers).unwrap();
        let logp = [(0.3f64).ln(), (5.0f64).ln(), (0.7f64).ln(), (2.2f64).ln()];
        let (ll, g) = BgNbdParams::from_log(&logp).rows_log_likelihood_and_gradient(&rows);
        assert!(close(
            ll,
            BgNbdParams::from_log(&logp).rows_log_likelihood(&rows),
            1e-14
        ));
        for k in 0..4 {
            let h = 1e-6;
            let (mut up, mut down) = (logp, logp);
            up[k] += h;
            down[k] -= h;
            let numeric = (BgNbdParams::from_log(&up).rows_log_likelihood(&rows)
                - BgNbdParams::from_log(&down).rows_log_likelihood(&rows))
                / (2.0 * h);
            assert!(close(g[k], numeric, 1e-6), "{k}: {} vs {numeric}", g[k]);
        }
    }

    #[test]
    fn no_repeat_purchases_means_alive() {
        let p = params();
        assert_eq!(p.probability_alive(&rfm(0, 0.0, 100.0)), 1.0);
        let gone = p.probability_alive(&rfm(5, 2.0, 100.0));
        assert!(gone > 0.0 && gone < 0.01, "{gone}");
        let active = p.probability_alive(&rfm(5, 100.0, 100.0));
        assert!(active > 0.5, "{active}");
    }

    #[test]
    fn conditional_expectation_of_a_new_customer_is_the_unconditional_one() {
        // With no history (x = 0, T = 0) the conditional expectation reduces
        // to eq. 9.
        let p = params();
        for t in [1.0, 10.0, 39.0] {
            assert!(close(
                p.conditional_expected_purchases(t, &rfm(0, 0.0, 0.0)),
                p.expected_purchases(t),
                1e-12
            ));
        }
    }

    #[test]
    fn heavy_buyers_stay_finite() {
        let p = params();
        let c = rfm(3000, 150.0, 156.0);
        assert!(p.log_likelihood(&c).is_finite());
        let e = p.conditional_expected_purchases(52.0, &c);
        assert!(e.is_finite() && e > 0.0, "{e}");
    }

    #[test]
    fn parameters_must_be_positive() {
        assert!(BgNbdParams::new(0.0, 1.0, 1.0, 1.0).is_err());
        assert!(BgNbdParams::new(1.0, f64::NAN, 1.0, 1.0).is_err());
    }

    #[test]
    fn fitting_nothing_is_an_error() {
        assert_eq!(
            fit(Vec::new(), &FitOptions::default()).unwrap_err(),
            ModelError::NoCustomers
        );
    }
}
