//! Special functions the likelihoods need, computed in log space.
//!
//! The models multiply gamma functions, large powers and hypergeometric
//! series whose values overflow `f64` for heavy buyers; working with their
//! logarithms (and log-sum-exp for sums) keeps every customer finite. ln Γ
//! comes from `libm`; no maintained Rust crate offers the Gauss
//! hypergeometric function 2F1, so its two uses are implemented here.

/// ln Γ(x) for x > 0.
#[inline]
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// The digamma function ψ(x) = d ln Γ(x) / dx for x > 0: the recurrence
/// ψ(x) = ψ(x + 1) − 1/x up to x ≥ 12, then the asymptotic series.
pub fn digamma(mut x: f64) -> f64 {
    let mut shift = 0.0;
    while x < 12.0 {
        shift -= 1.0 / x;
        x += 1.0;
    }
    let f = 1.0 / (x * x);
    let series = f
        * (1.0 / 12.0
            - f * (1.0 / 120.0 - f * (1.0 / 252.0 - f * (1.0 / 240.0 - f * (1.0 / 132.0)))));
    shift + x.ln() - 0.5 / x - series
}

/// ln(e^a + e^b) without overflow.
#[inline]
pub fn log_add_exp(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// ln(e^a − e^b) for a ≥ b; −∞ when they are equal.
#[inline]
pub fn log_sub_exp(a: f64, b: f64) -> f64 {
    if b == f64::NEG_INFINITY {
        return a;
    }
    let d = b - a;
    if d >= 0.0 {
        return f64::NEG_INFINITY;
    }
    a + (-d.exp_m1()).ln()
}

/// Most series terms summed before giving up (z very close to 1).
const MAX_TERMS: usize = 1_000_000;

/// ln 2F1(a, b; a + 1; z) for a > 0, b > 0, 0 ≤ z < 1, a + 1 − b > 0: the
/// form in the Pareto/NBD likelihood.
///
/// Euler's transformation turns it into (1 − z)^(1 − b) 2F1(1, a + 1 − b;
/// a + 1; z), a series of positive terms each at most z times the one before,
/// so it neither cancels nor overflows, and the error left after a term is
/// bounded by that term · z / (1 − z).
///
/// NaN when the series has not settled after [`FIT_TERMS`] terms (z within
/// about 1e-4 of 1, reached only by parameters far from any data's
/// maximum): the optimiser treats such points as the worst, instead of
/// spending up to a million terms on each customer at each step.
pub fn ln_hyp2f1_a_b_a1(a: f64, b: f64, z: f64) -> f64 {
    if z == 0.0 {
        return 0.0;
    }
    let c = a + 1.0;
    let e = c - b;
    let mut term = 1.0f64;
    let mut sum = 1.0f64;
    let tail = z / (1.0 - z);
    let mut n = 0.0f64;
    for _ in 0..FIT_TERMS {
        term *= (e + n) / (c + n) * z;
        sum += term;
        if term * tail <= sum * 1e-17 {
            return (1.0 - b) * (-z).ln_1p() + sum.ln();
        }
        n += 1.0;
    }
    f64::NAN
}

/// Most terms of the Pareto/NBD likelihood's series.
pub const FIT_TERMS: usize = 200_000;

/// ln 2F1(a, b; c; z) for a, b, c > 0 and 0 ≤ z < 1, by its power series
/// summed in log space (the terms of heavy buyers overflow `f64`).
///
/// Used for predictions (not in the fitting loop), where z = t / (α + T + t)
/// stays well below 1 for horizons comparable to the history.
pub fn ln_hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if z == 0.0 {
        return 0.0;
    }
    // The terms are positive: summed as plain numbers while they stay
    // finite (most customers, ten times faster), in log space otherwise.
    let mut term = 1.0f64;
    let mut sum = 1.0f64;
    let mut n = 0.0f64;
    for _ in 0..MAX_TERMS {
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        if !sum.is_finite() {
            return ln_hyp2f1_logs(a, b, c, z);
        }
        let ratio = (a + n + 1.0) * (b + n + 1.0) / ((c + n + 1.0) * (n + 2.0)) * z;
        if ratio < 1.0 && term * (ratio / (1.0 - ratio)) < sum * (-39.0f64).exp() {
            return sum.ln();
        }
        n += 1.0;
    }
    sum.ln()
}

/// [`ln_hyp2f1`] with every term in log space.
fn ln_hyp2f1_logs(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let ln_z = z.ln();
    let mut ln_term = 0.0f64;
    let mut ln_sum = 0.0f64;
    let mut n = 0.0f64;
    for _ in 0..MAX_TERMS {
        ln_term += ((a + n) * (b + n) / ((c + n) * (n + 1.0))).ln() + ln_z;
        ln_sum = log_add_exp(ln_sum, ln_term);
        // Once the ratio of successive terms is below 1 it keeps shrinking
        // towards z, so the rest is bounded by a geometric series.
        let ratio = (a + n + 1.0) * (b + n + 1.0) / ((c + n + 1.0) * (n + 2.0)) * z;
        if ratio < 1.0 && ln_term + (ratio / (1.0 - ratio)).ln() < ln_sum - 39.0 {
            break;
        }
        n += 1.0;
    }
    ln_sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        assert!(close(ln_gamma(5.0), 24f64.ln(), 1e-14));
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-14
        ));
    }

    #[test]
    fn digamma_matches_known_values() {
        let euler = 0.577_215_664_901_532_9;
        assert!(close(digamma(1.0), -euler, 1e-14));
        assert!(close(digamma(0.5), -euler - 2.0 * 2f64.ln(), 1e-14));
        assert!(close(digamma(10.0), 2.251_752_589_066_721, 1e-14));
        // derivative of ln Γ by central differences
        let h = 1e-5;
        let x = 3.7;
        let numeric = (ln_gamma(x + h) - ln_gamma(x - h)) / (2.0 * h);
        assert!(close(digamma(x), numeric, 1e-9));
    }

    #[test]
    fn log_add_and_sub_exp_do_not_overflow() {
        assert!(close(
            log_add_exp(1000.0, 1000.0),
            1000.0 + 2f64.ln(),
            1e-15
        ));
        assert_eq!(log_add_exp(-f64::INFINITY, 3.0), 3.0);
        assert!(close(
            log_sub_exp(1000.0, 1000.0 - 2f64.ln()),
            1000.0 - 2f64.ln(),
            1e-15
        ));
        assert_eq!(log_sub_exp(2.0, 2.0), f64::NEG_INFINITY);
    }

    #[test]
    fn hyp2f1_closed_forms() {
        // 2F1(1, 1; 2; z) = −ln(1 − z) / z
        for z in [0.1f64, 0.5, 0.9, 0.99] {
            let want = (-(-z).ln_1p() / z).ln();
            assert!(close(ln_hyp2f1_a_b_a1(1.0, 1.0, z), want, 1e-13), "z={z}");
            assert!(close(ln_hyp2f1(1.0, 1.0, 2.0, z), want, 1e-12), "z={z}");
        }
        // 2F1(a, b; b; z) = (1 − z)^(−a)
        let want = -2.5 * (-0.3f64).ln_1p();
        assert!(close(ln_hyp2f1(2.5, 1.7, 1.7, 0.3), want, 1e-13));
        assert!(close(ln_hyp2f1_a_b_a1(2.5, 3.5, 0.3), want, 1e-13));
    }

    #[test]
    fn hyp2f1_of_heavy_buyers_stays_finite() {
        // (1 − z)^(−a) with a = 5000 overflows f64 but not its logarithm.
        let v = ln_hyp2f1(5000.0, 3.0, 3.0, 0.5);
        assert!(close(v, 5000.0 * 2f64.ln(), 1e-10), "{v}");
    }
}
