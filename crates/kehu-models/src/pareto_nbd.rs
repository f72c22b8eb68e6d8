//! The Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987),
//! with the likelihood of Fader & Hardie's note 009 as lifetimes'
//! `ParetoNBDFitter` computes it.
//!
//! While active, a customer buys as a Poisson process with rate λ ~
//! Gamma(r, α) and drops out after an exponential lifetime with rate μ ~
//! Gamma(s, β), at any time rather than only after a purchase as in BG/NBD.
//! It is the classic model to compare BG/NBD against; the CRM can offer
//! either.

use crate::fit::{check_params, chunked_sum, minimize, RfmRows};
use crate::special::{ln_gamma, ln_hyp2f1_a_b_a1, log_add_exp, log_sub_exp};
use crate::{Fit, FitOptions, ModelError, PurchaseModel, Rfm};

/// Pareto/NBD parameters: shape `r` and scale `alpha` of the purchase rate,
/// shape `s` and scale `beta` of the drop-out rate (scales in the time unit
/// of the data).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParetoNbdParams {
    /// Shape of the Gamma distribution of purchase rates.
    pub r: f64,
    /// Scale of the Gamma distribution of purchase rates, in time units.
    pub alpha: f64,
    /// Shape of the Gamma distribution of drop-out rates.
    pub s: f64,
    /// Scale of the Gamma distribution of drop-out rates, in time units.
    pub beta: f64,
}

impl ParetoNbdParams {
    /// Parameters, each of which must be positive and finite.
    pub fn new(r: f64, alpha: f64, s: f64, beta: f64) -> Result<Self, ModelError> {
        check_params(
            &[r, alpha, s, beta],
            "Pareto/NBD parameters must be positive",
        )?;
        Ok(ParetoNbdParams { r, alpha, s, beta })
    }

    fn from_log(p: &[f64]) -> Self {
        ParetoNbdParams {
            r: p[0].exp(),
            alpha: p[1].exp(),
            s: p[2].exp(),
            beta: p[3].exp(),
        }
    }

    /// ln A₀ of note 009 (eqs. 19–20): the part of the likelihood from a
    /// customer who dropped out between their last purchase and T.
    fn ln_a0(&self, x: f64, t_x: f64, t: f64) -> f64 {
        let ParetoNbdParams { r, alpha, s, beta } = *self;
        let (max, b) = if alpha < beta {
            (beta, r + x)
        } else {
            (alpha, s + 1.0)
        };
        let d = (alpha - beta).abs();
        let rsx = r + s + x;
        let part = |age: f64| {
            let q = max + age;
            ln_hyp2f1_a_b_a1(rsx, b, d / q) - rsx * q.ln()
        };
        log_sub_exp(part(t_x), part(t))
    }

    /// ln of Γ(r + x) α^r β^s / Γ(r): the frequency-only factor.
    #[inline]
    fn ln_front(&self, x: f64) -> f64 {
        ln_gamma(self.r + x) - ln_gamma(self.r) + self.r * self.alpha.ln() + self.s * self.beta.ln()
    }

    #[inline]
    fn row_log_likelihood(&self, x: f64, t_x: f64, t: f64, front: f64) -> f64 {
        let ParetoNbdParams { r, alpha, s, beta } = *self;
        let alive = -(r + x) * (alpha + t).ln() - s * (beta + t).ln();
        let dropped = s.ln() + self.ln_a0(x, t_x, t) - (r + s + x).ln();
        front + log_add_exp(alive, dropped)
    }

    /// Log-likelihood of one customer's history (note 009, eq. 18).
    pub fn log_likelihood(&self, c: &Rfm) -> f64 {
        let x = f64::from(c.frequency);
        self.row_log_likelihood(x, c.recency, c.t, self.ln_front(x))
    }

    /// Total log-likelihood of compressed rows.
    pub(crate) fn rows_log_likelihood(&self, rows: &RfmRows) -> f64 {
        let ParetoNbdParams { r, alpha, s, beta } = *self;
        let ln_a: Vec<f64> = rows.times.iter().map(|t| (alpha + t).ln()).collect();
        let ln_b: Vec<f64> = rows.times.iter().map(|t| (beta + t).ln()).collect();
        let fronts: Vec<f64> = rows.xs.iter().map(|&x| self.ln_front(x)).collect();
        let ln_rsx: Vec<f64> = rows.xs.iter().map(|&x| (r + s + x).ln()).collect();
        // The two halves of A₀ depend on (x, time) only.
        let d = (alpha - beta).abs();
        let parts: Vec<f64> = rows
            .pairs
            .iter()
            .map(|&(xi, ti)| {
                let (xi, ti) = (xi as usize, ti as usize);
                let x = rows.xs[xi];
                let (max, b, ln_q) = if alpha < beta {
                    (beta, r + x, ln_b[ti])
                } else {
                    (alpha, s + 1.0, ln_a[ti])
                };
                let rsx = r + s + x;
                ln_hyp2f1_a_b_a1(rsx, b, d / (max + rows.times[ti])) - rsx * ln_q
            })
            .collect();
        let ln_s = s.ln();
        chunked_sum(rows.len(), |range| {
            let mut total = 0.0;
            for i in range {
                let (xi, ti) = (rows.x_idx[i] as usize, rows.t_idx[i] as usize);
                let x = rows.x[i];
                let alive = -(r + x) * ln_a[ti] - s * ln_b[ti];
                let ln_a0 = log_sub_exp(
                    parts[rows.pair_t_x[i] as usize],
                    parts[rows.pair_t[i] as usize],
                );
                let dropped = ln_s + ln_a0 - ln_rsx[xi];
                total += rows.weight[i] * (fronts[xi] + log_add_exp(alive, dropped));
            }
            total
        })
    }

    /// Probability that a customer with this history is still active (note
    /// 009, eqs. 36–37).
    pub fn probability_alive(&self, c: &Rfm) -> f64 {
        let ParetoNbdParams { r, alpha, s, beta } = *self;
        let x = f64::from(c.frequency);
        let ln_odds_dead = s.ln() - (r + s + x).ln()
            + (r + x) * (alpha + c.t).ln()
            + s * (beta + c.t).ln()
            + self.ln_a0(x, c.recency, c.t);
        1.0 / (1.0 + ln_odds_dead.exp())
    }

    /// Expected number of purchases in the next `t` time units of a customer
    /// with this history (note 009, eq. 41).
    pub fn conditional_expected_purchases(&self, t: f64, c: &Rfm) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let ParetoNbdParams { r, alpha, s, beta } = *self;
        let x = f64::from(c.frequency);
        let big_t = c.t;
        let ln_alive = self.ln_front(x)
            - (r + x) * (alpha + big_t).ln()
            - s * (beta + big_t).ln()
            - self.log_likelihood(c);
        let ln_rate = (r + x).ln() + (beta + big_t).ln() - (alpha + big_t).ln();
        // (1 − ((β + T)/(β + T + t))^(s − 1)) / (s − 1), continuous at s = 1.
        let ln_ratio = ((beta + big_t) / (beta + big_t + t)).ln();
        let horizon = if (s - 1.0).abs() < 1e-10 {
            -ln_ratio
        } else {
            -((s - 1.0) * ln_ratio).exp_m1() / (s - 1.0)
        };
        (ln_alive + ln_rate).exp() * horizon
    }

    /// Expected number of purchases of a new customer in their first `t`
    /// time units (note 009, eq. 27).
    pub fn expected_purchases(&self, t: f64) -> f64 {
        let ParetoNbdParams { r, alpha, s, beta } = *self;
        let ln_ratio = (beta / (beta + t)).ln();
        let horizon = if (s - 1.0).abs() < 1e-10 {
            -ln_ratio
        } else {
            -((s - 1.0) * ln_ratio).exp_m1() / (s - 1.0)
        };
        r * beta / alpha * horizon
    }
}

impl PurchaseModel for ParetoNbdParams {
    fn conditional_expected_purchases(&self, t: f64, rfm: &Rfm) -> f64 {
        ParetoNbdParams::conditional_expected_purchases(self, t, rfm)
    }
}

/// Fits Pareto/NBD by maximum likelihood to the customers' histories.
pub fn fit<I>(customers: I, options: &FitOptions) -> Result<Fit<ParetoNbdParams>, ModelError>
where
    I: IntoIterator<Item = Rfm>,
{
    let rows = RfmRows::new(customers)?;
    let n = rows.customers as f64;
    let ln_scale = rows.mean_t().max(1e-3).ln();
    let start = vec![0.0, ln_scale, 0.0, ln_scale];
    let m = minimize(
        |p| -ParetoNbdParams::from_log(p).rows_log_likelihood(&rows) / n,
        start,
        options,
    )?;
    let params = ParetoNbdParams::from_log(&m.x);
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

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs()
    }

    /// The likelihood as an integral over the drop-out time τ (note 009,
    /// eq. 3 integrated over λ and μ): alive at T, or dropped at τ ∈ (t_x,
    /// T). Integrated numerically, independently of 2F1.
    fn likelihood_by_quadrature(p: &ParetoNbdParams, x: f64, t_x: f64, t: f64) -> f64 {
        let ParetoNbdParams { r, alpha, s, beta } = *p;
        let g = (ln_gamma(r + x) - ln_gamma(r)).exp();
        // E over λ of λ^x e^{−λ τ} = g α^r / (α + τ)^(r + x)
        let purchases = |tau: f64| g * alpha.powf(r) / (alpha + tau).powf(r + x);
        // survival of μ to τ and its density
        let survive = |tau: f64| (beta / (beta + tau)).powf(s);
        let density = |tau: f64| s / beta * (beta / (beta + tau)).powf(s + 1.0);
        let n = 200_000;
        let h = (t - t_x) / n as f64;
        let mut integral = 0.0;
        for i in 0..n {
            let tau = t_x + (i as f64 + 0.5) * h;
            integral += purchases(tau) * density(tau) * h;
        }
        purchases(t) * survive(t) + integral
    }

    #[test]
    fn likelihood_matches_numerical_integration() {
        for (p, c) in [
            (
                ParetoNbdParams::new(0.55, 10.58, 0.61, 11.67).unwrap(),
                rfm(2, 30.43, 38.86),
            ),
            (
                ParetoNbdParams::new(0.55, 10.58, 0.61, 11.67).unwrap(),
                rfm(0, 0.0, 38.86),
            ),
            (
                ParetoNbdParams::new(1.3, 3.0, 0.8, 40.0).unwrap(),
                rfm(7, 12.0, 52.0),
            ),
        ] {
            let want = likelihood_by_quadrature(&p, f64::from(c.frequency), c.recency, c.t).ln();
            let got = p.log_likelihood(&c);
            assert!(close(got, want, 1e-8), "{c:?}: {got} vs {want}");
        }
    }

    #[test]
    fn equal_scales_need_no_series() {
        // α = β makes z = 0 in A₀; the likelihood must be continuous there.
        let c = rfm(3, 10.0, 20.0);
        let at = ParetoNbdParams::new(0.7, 5.0, 0.9, 5.0)
            .unwrap()
            .log_likelihood(&c);
        let near = ParetoNbdParams::new(0.7, 5.0, 0.9, 5.0 + 1e-9)
            .unwrap()
            .log_likelihood(&c);
        assert!(close(at, near, 1e-8));
    }

    #[test]
    fn alive_probability_falls_with_silence() {
        let p = ParetoNbdParams::new(0.55, 10.58, 0.61, 11.67).unwrap();
        let recent = p.probability_alive(&rfm(4, 38.0, 39.0));
        let silent = p.probability_alive(&rfm(4, 2.0, 39.0));
        assert!(recent > 0.9 && silent < 0.2, "{recent} {silent}");
        // Unlike BG/NBD, one-time buyers can be gone too.
        assert!(p.probability_alive(&rfm(0, 0.0, 39.0)) < 1.0);
    }

    #[test]
    fn conditional_expectation_of_a_new_customer_is_the_unconditional_one() {
        let p = ParetoNbdParams::new(0.55, 10.58, 0.61, 11.67).unwrap();
        for t in [1.0, 10.0, 39.0] {
            assert!(close(
                p.conditional_expected_purchases(t, &rfm(0, 0.0, 0.0)),
                p.expected_purchases(t),
                1e-12
            ));
        }
        let unit = ParetoNbdParams::new(0.55, 10.58, 1.0, 11.67).unwrap();
        let near = ParetoNbdParams::new(0.55, 10.58, 1.0 + 1e-7, 11.67).unwrap();
        assert!(close(
            unit.expected_purchases(10.0),
            near.expected_purchases(10.0),
            1e-6
        ));
    }
}
