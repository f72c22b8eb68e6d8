//! Maximum-likelihood machinery shared by the models.
//!
//! Each model only states its log-likelihood; this module validates and
//! compresses the customers into weighted rows (customers with identical
//! histories contribute identical terms, so a million customers collapse to
//! far fewer rows), sums likelihoods over them on all cores in a fixed order
//! (so results do not depend on the machine), and minimises the mean
//! negative log-likelihood over the logarithms of the parameters, which
//! keeps them positive without bounds: with `argmin`'s L-BFGS where a model
//! has an analytic gradient (BG/NBD, Gamma-Gamma), with its Nelder–Mead
//! otherwise (Pareto/NBD, whose gradient runs through 2F1).

use std::cell::RefCell;
use std::time::{Duration, Instant};

use argmin::core::{
    CostFunction, Error, Executor, Gradient, State, TerminationReason, TerminationStatus,
};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::neldermead::NelderMead;
use argmin::solver::quasinewton::LBFGS;

use crate::{ModelError, Rfm, Spend};

/// How hard the optimiser tries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    /// Most optimiser iterations per run.
    pub max_iterations: u64,
    /// A run stops when the standard deviation of the mean negative
    /// log-likelihood over the simplex falls below this.
    pub tolerance: f64,
    /// L-BFGS (used where a model has an analytic gradient) has converged
    /// when every component of the gradient of the mean negative
    /// log-likelihood over the log-parameters is at most this.
    pub gradient_tolerance: f64,
    /// Most runs: each restarts Nelder–Mead with a fresh simplex around the
    /// best point so far, until a run no longer improves the likelihood.
    pub max_restarts: u32,
    /// Wall time a fit may take; past it the best point so far is the
    /// result, reported as not converged. None: no limit.
    pub time_limit: Option<Duration>,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            max_iterations: 5_000,
            tolerance: 1e-12,
            gradient_tolerance: 1e-8,
            max_restarts: 4,
            time_limit: None,
        }
    }
}

impl FitOptions {
    /// The same options with what is left of the time limit at `deadline`.
    fn until(&self, deadline: Option<Instant>) -> FitOptions {
        FitOptions {
            time_limit: deadline.map(|d| d.saturating_duration_since(Instant::now())),
            ..*self
        }
    }
}

/// A fitted model.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit<P> {
    /// The maximum-likelihood parameters.
    pub params: P,
    /// The total log-likelihood of the customers used at `params` (a sum
    /// over customers, not lifetimes' mean negative log-likelihood), in the
    /// time unit and currency unit of the input.
    pub log_likelihood: f64,
    /// How many customers the fit used.
    pub customers: usize,
    /// Nelder–Mead iterations over all runs.
    pub iterations: u64,
    /// Whether the optimiser met its tolerance (rather than running out of
    /// iterations).
    pub converged: bool,
}

/// Customers' (x, t_x, T) compressed into distinct rows with weights,
/// ordered by frequency, with lookup tables so a likelihood evaluation
/// computes each expensive term once per distinct value rather than once
/// per row: with daily data there are only as many distinct times as days,
/// and few distinct (frequency, time) pairs.
#[derive(Debug, Clone, Default)]
pub(crate) struct RfmRows {
    pub x: Vec<f64>,
    pub t_x: Vec<f64>,
    pub t: Vec<f64>,
    pub weight: Vec<f64>,
    pub customers: usize,
    /// Distinct frequencies, ascending, and each row's index into them.
    pub xs: Vec<f64>,
    pub x_idx: Vec<u32>,
    /// Distinct values of t_x and T, ascending, and each row's indices.
    pub times: Vec<f64>,
    pub t_x_idx: Vec<u32>,
    pub t_idx: Vec<u32>,
    /// Distinct (frequency index, time index) pairs that rows use as
    /// (x, t_x) or (x, T), and each row's indices into them.
    pub pairs: Vec<(u32, u32)>,
    pub pair_t_x: Vec<u32>,
    pub pair_t: Vec<u32>,
}

fn index_of<T: Ord>(sorted: &[T], value: &T) -> u32 {
    // Every value looked up was put into `sorted` first.
    sorted.binary_search(value).unwrap_or(0) as u32
}

/// Checks one customer's history.
pub(crate) fn check_rfm(index: usize, c: &Rfm) -> Result<(), ModelError> {
    if !c.recency.is_finite() {
        return Err(ModelError::NonFinite {
            index,
            field: "recency",
        });
    }
    if !c.t.is_finite() {
        return Err(ModelError::NonFinite { index, field: "T" });
    }
    if c.recency < 0.0 {
        return Err(ModelError::InvalidInput {
            index,
            reason: "negative recency",
        });
    }
    if c.recency > c.t {
        return Err(ModelError::InvalidInput {
            index,
            reason: "recency greater than T",
        });
    }
    if c.frequency == 0 && c.recency != 0.0 {
        return Err(ModelError::InvalidInput {
            index,
            reason: "non-zero recency without repeat purchases",
        });
    }
    Ok(())
}

impl RfmRows {
    pub fn new<I: IntoIterator<Item = Rfm>>(customers: I) -> Result<Self, ModelError> {
        let mut keys = Vec::new();
        for (index, c) in customers.into_iter().enumerate() {
            check_rfm(index, &c)?;
            // +0.0 turns −0.0 into 0.0 so equal values have equal bits.
            keys.push((
                c.frequency,
                (c.recency + 0.0).to_bits(),
                (c.t + 0.0).to_bits(),
            ));
        }
        if keys.is_empty() {
            return Err(ModelError::NoCustomers);
        }
        let customers = keys.len();
        // Non-negative floats order like their bit patterns.
        keys.sort_unstable();
        let mut rows = RfmRows {
            customers,
            ..RfmRows::default()
        };
        let mut i = 0;
        while i < keys.len() {
            let mut j = i + 1;
            while j < keys.len() && keys[j] == keys[i] {
                j += 1;
            }
            let (x, t_x, t) = keys[i];
            rows.x.push(f64::from(x));
            rows.t_x.push(f64::from_bits(t_x));
            rows.t.push(f64::from_bits(t));
            rows.weight.push((j - i) as f64);
            i = j;
        }
        rows.build_tables();
        Ok(rows)
    }

    fn build_tables(&mut self) {
        let mut xs: Vec<u64> = self.x.iter().map(|v| v.to_bits()).collect();
        xs.dedup();
        let mut times: Vec<u64> = self
            .t_x
            .iter()
            .chain(&self.t)
            .map(|v| v.to_bits())
            .collect();
        times.sort_unstable();
        times.dedup();
        self.x_idx = self.x.iter().map(|v| index_of(&xs, &v.to_bits())).collect();
        self.t_x_idx = self
            .t_x
            .iter()
            .map(|v| index_of(&times, &v.to_bits()))
            .collect();
        self.t_idx = self
            .t
            .iter()
            .map(|v| index_of(&times, &v.to_bits()))
            .collect();
        let mut pairs: Vec<(u32, u32)> = (0..self.len())
            .flat_map(|i| {
                [
                    (self.x_idx[i], self.t_x_idx[i]),
                    (self.x_idx[i], self.t_idx[i]),
                ]
            })
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        self.pair_t_x = (0..self.len())
            .map(|i| index_of(&pairs, &(self.x_idx[i], self.t_x_idx[i])))
            .collect();
        self.pair_t = (0..self.len())
            .map(|i| index_of(&pairs, &(self.x_idx[i], self.t_idx[i])))
            .collect();
        self.pairs = pairs;
        self.xs = xs.into_iter().map(f64::from_bits).collect();
        self.times = times.into_iter().map(f64::from_bits).collect();
    }

    pub fn len(&self) -> usize {
        self.x.len()
    }

    pub fn mean_t(&self) -> f64 {
        let total: f64 = self.t.iter().zip(&self.weight).map(|(t, w)| t * w).sum();
        total / self.customers as f64
    }
}

/// Repeat buyers' (x, m) compressed into distinct rows with weights.
#[derive(Debug, Clone, Default)]
pub(crate) struct SpendRows {
    pub x: Vec<f64>,
    pub m: Vec<f64>,
    pub ln_m: Vec<f64>,
    /// Distinct frequencies, ascending, and each row's index into them.
    pub xs: Vec<f64>,
    pub x_idx: Vec<u32>,
    pub weight: Vec<f64>,
    pub customers: usize,
}

impl SpendRows {
    /// Keeps customers with frequency > 0 and positive spend.
    pub fn new<I: IntoIterator<Item = Spend>>(customers: I) -> Result<Self, ModelError> {
        let mut keys = Vec::new();
        for (index, c) in customers.into_iter().enumerate() {
            if !c.monetary_value.is_finite() {
                return Err(ModelError::NonFinite {
                    index,
                    field: "monetary_value",
                });
            }
            if c.frequency > 0 && c.monetary_value > 0.0 {
                keys.push((c.frequency, c.monetary_value.to_bits()));
            }
        }
        if keys.is_empty() {
            return Err(ModelError::NoRepeatBuyers);
        }
        let customers = keys.len();
        keys.sort_unstable();
        let mut rows = SpendRows {
            customers,
            ..SpendRows::default()
        };
        let mut i = 0;
        while i < keys.len() {
            let mut j = i + 1;
            while j < keys.len() && keys[j] == keys[i] {
                j += 1;
            }
            rows.x.push(f64::from(keys[i].0));
            rows.m.push(f64::from_bits(keys[i].1));
            rows.weight.push((j - i) as f64);
            i = j;
        }
        rows.ln_m = rows.m.iter().map(|m| m.ln()).collect();
        let mut xs: Vec<u64> = rows.x.iter().map(|v| v.to_bits()).collect();
        xs.dedup();
        rows.x_idx = rows.x.iter().map(|v| index_of(&xs, &v.to_bits())).collect();
        rows.xs = xs.into_iter().map(f64::from_bits).collect();
        Ok(rows)
    }
}

/// Rows are summed in this many fixed chunks, in order, whatever the number
/// of threads, so results do not depend on the machine.
const CHUNKS: usize = 8;
/// Below this many rows a likelihood is summed on the calling thread.
const PARALLEL_ROWS: usize = 20_000;

/// Σ f(range) over `0..len` split into fixed chunks; see [`chunked`].
pub(crate) fn chunked_sum<F>(len: usize, f: F) -> f64
where
    F: Fn(std::ops::Range<usize>) -> f64 + Sync,
{
    chunked(len, f).iter().sum()
}

/// f over `0..len` split into fixed chunks, the results in chunk order; the
/// chunks run on up to as many threads as there are cores.
pub(crate) fn chunked<T, F>(len: usize, f: F) -> Vec<T>
where
    T: Send + Default + Clone,
    F: Fn(std::ops::Range<usize>) -> T + Sync,
{
    if len < PARALLEL_ROWS {
        return vec![f(0..len)];
    }
    let size = len.div_ceil(CHUNKS);
    let ranges: Vec<_> = (0..CHUNKS)
        .map(|c| (c * size).min(len)..((c + 1) * size).min(len))
        .collect();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(CHUNKS);
    let mut results = vec![T::default(); CHUNKS];
    if threads <= 1 {
        for (out, range) in results.iter_mut().zip(ranges) {
            *out = f(range);
        }
    } else {
        let per_thread = CHUNKS.div_ceil(threads);
        std::thread::scope(|scope| {
            for (outs, ranges) in results
                .chunks_mut(per_thread)
                .zip(ranges.chunks(per_thread))
            {
                let f = &f;
                scope.spawn(move || {
                    for (out, range) in outs.iter_mut().zip(ranges) {
                        *out = f(range.clone());
                    }
                });
            }
        });
    }
    results
}

/// Minimises `f` with L-BFGS given `fg`, its value and gradient at once
/// (both over log-parameters), continuing with Nelder–Mead from the best
/// point L-BFGS reached if it fails or does not converge.
pub(crate) fn minimize_smooth<F, G>(
    f: F,
    fg: G,
    start: Vec<f64>,
    opts: &FitOptions,
) -> Result<Minimum, ModelError>
where
    F: Fn(&[f64]) -> f64,
    G: Fn(&[f64]) -> (f64, Vec<f64>),
{
    if !start.iter().all(|v| v.is_finite()) || !f(&start).is_finite() {
        return Err(ModelError::NonFiniteLikelihood);
    }
    let problem = Smooth {
        fg: &fg,
        last: RefCell::new(None),
    };
    let deadline = opts.time_limit.map(|t| Instant::now() + t);
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7)
        .with_tolerance_grad(opts.gradient_tolerance)
        .and_then(|s| s.with_tolerance_cost(0.0))
        .map_err(|e| ModelError::Optimiser(e.to_string()))?;
    let mut executor = Executor::new(problem, solver)
        .configure(|s| s.param(start.clone()).max_iters(opts.max_iterations));
    if let Some(t) = opts.time_limit {
        executor = executor.timeout(t);
    }
    let run = executor.run();
    // Judge convergence by the gradient at the best point: near the optimum
    // the line search may stop on rounding noise after getting there.
    let mut from = start;
    if let Ok(result) = run {
        let state = result.state();
        if let Some(x) = state.get_best_param() {
            if f(x) <= f(&from) {
                from = x.clone();
            }
            let (value, gradient) = fg(x);
            let small = gradient.iter().all(|g| g.abs() <= opts.gradient_tolerance);
            if value.is_finite() && small {
                return Ok(Minimum {
                    x: x.clone(),
                    iterations: state.get_iter(),
                    converged: true,
                });
            }
        }
    }
    minimize(f, from, &opts.until(deadline))
}

/// A point with its value and gradient.
type Evaluated = (Vec<f64>, f64, Vec<f64>);

/// A smooth objective for L-BFGS that evaluates value and gradient in one
/// pass and remembers the last point (the line search asks for both).
struct Smooth<'a, G> {
    fg: &'a G,
    last: RefCell<Option<Evaluated>>,
}

impl<G: Fn(&[f64]) -> (f64, Vec<f64>)> Smooth<'_, G> {
    fn at(&self, p: &[f64]) -> (f64, Vec<f64>) {
        if let Some((q, v, g)) = self.last.borrow().as_ref() {
            if q.as_slice() == p {
                return (*v, g.clone());
            }
        }
        let (v, g) = (self.fg)(p);
        let v = if v.is_nan() { f64::INFINITY } else { v };
        *self.last.borrow_mut() = Some((p.to_vec(), v, g.clone()));
        (v, g)
    }
}

impl<G: Fn(&[f64]) -> (f64, Vec<f64>)> CostFunction for Smooth<'_, G> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, p: &Self::Param) -> Result<f64, Error> {
        Ok(self.at(p).0)
    }
}

impl<G: Fn(&[f64]) -> (f64, Vec<f64>)> Gradient for Smooth<'_, G> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, p: &Self::Param) -> Result<Vec<f64>, Error> {
        Ok(self.at(p).1)
    }
}

/// Where the optimiser ended.
#[derive(Debug, Clone)]
pub(crate) struct Minimum {
    pub x: Vec<f64>,
    pub iterations: u64,
    pub converged: bool,
}

struct Objective<'a, F>(&'a F);

impl<F: Fn(&[f64]) -> f64> CostFunction for Objective<'_, F> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, p: &Self::Param) -> Result<f64, Error> {
        let v = (self.0)(p);
        // The simplex must be able to order points: NaN counts as worst.
        Ok(if v.is_nan() { f64::INFINITY } else { v })
    }
}

/// Minimises `f` (a mean negative log-likelihood over log-parameters) from
/// `start` with restarted Nelder–Mead.
pub(crate) fn minimize<F>(f: F, start: Vec<f64>, opts: &FitOptions) -> Result<Minimum, ModelError>
where
    F: Fn(&[f64]) -> f64,
{
    if !start.iter().all(|v| v.is_finite()) || !f(&start).is_finite() {
        return Err(ModelError::NonFiniteLikelihood);
    }
    let mut best = start;
    let mut best_value = f64::INFINITY;
    let mut iterations = 0;
    let mut converged = false;
    let deadline = opts.time_limit.map(|t| Instant::now() + t);
    for run in 0..=opts.max_restarts {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left.is_some_and(|t| t.is_zero()) && best_value.is_finite() {
            break;
        }
        // The first simplex is wide to find the basin; restarts are tighter.
        let step = if run == 0 { 0.5 } else { 0.05 };
        let mut simplex = vec![best.clone()];
        for i in 0..best.len() {
            let mut p = best.clone();
            p[i] += step;
            simplex.push(p);
        }
        let solver = NelderMead::new(simplex)
            .with_sd_tolerance(opts.tolerance)
            .map_err(|e| ModelError::Optimiser(e.to_string()))?;
        let mut executor =
            Executor::new(Objective(&f), solver).configure(|s| s.max_iters(opts.max_iterations));
        if let Some(t) = left.filter(|t| !t.is_zero()) {
            executor = executor.timeout(t);
        }
        let result = executor
            .run()
            .map_err(|e| ModelError::Optimiser(e.to_string()))?;
        let state = result.state();
        iterations += state.get_iter();
        let met_tolerance = matches!(
            state.get_termination_status(),
            TerminationStatus::Terminated(TerminationReason::SolverConverged)
        );
        let value = state.get_best_cost();
        let param = state
            .get_best_param()
            .cloned()
            .ok_or_else(|| ModelError::Optimiser("no best parameter".into()))?;
        let improvement = best_value - value;
        if value <= best_value {
            best = param;
            best_value = value;
        }
        if met_tolerance && improvement.abs() <= 1e-12 * (1.0 + best_value.abs()) {
            converged = true;
            break;
        }
    }
    if !best_value.is_finite() {
        return Err(ModelError::NonFiniteLikelihood);
    }
    Ok(Minimum {
        x: best,

        iterations,
        converged,
    })
}

/// Checks that every parameter is a positive finite number.
pub(crate) fn check_params(values: &[f64], what: &'static str) -> Result<(), ModelError> {
    if values.iter().all(|v| v.is_finite() && *v > 0.0) {
        Ok(())
    } else {
        Err(ModelError::InvalidParameter(what))
    }
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

    #[test]
    fn identical_histories_become_one_weighted_row() {
        let rows = RfmRows::new(vec![
            rfm(2, 3.0, 9.0),
            rfm(0, 0.0, 9.0),
            rfm(2, 3.0, 9.0),
            rfm(0, -0.0, 9.0),
            rfm(1, 3.0, 9.0),
        ])
        .unwrap();
        assert_eq!(rows.customers, 5);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows.x, vec![0.0, 1.0, 2.0]);
        assert_eq!(rows.weight, vec![2.0, 1.0, 2.0]);
    }

    #[test]
    fn bad_histories_are_typed_errors() {
        assert_eq!(
            RfmRows::new(Vec::new()).unwrap_err(),
            ModelError::NoCustomers
        );
        assert_eq!(
            RfmRows::new(vec![rfm(1, f64::NAN, 2.0)]).unwrap_err(),
            ModelError::NonFinite {
                index: 0,
                field: "recency"
            }
        );
        assert_eq!(
            RfmRows::new(vec![rfm(1, 1.0, 2.0), rfm(1, 1.0, f64::INFINITY)]).unwrap_err(),
            ModelError::NonFinite {
                index: 1,
                field: "T"
            }
        );
        assert!(matches!(
            RfmRows::new(vec![rfm(1, 3.0, 2.0)]).unwrap_err(),
            ModelError::InvalidInput { index: 0, .. }
        ));
        assert!(matches!(
            RfmRows::new(vec![rfm(0, 1.0, 2.0)]).unwrap_err(),
            ModelError::InvalidInput { index: 0, .. }
        ));
    }

    #[test]
    fn spend_rows_keep_positive_repeat_spend() {
        let s = |frequency, monetary_value| Spend {
            frequency,
            monetary_value,
        };
        let rows = SpendRows::new(vec![s(0, 0.0), s(2, 10.0), s(2, 10.0), s(1, 0.0)]).unwrap();
        assert_eq!(rows.customers, 2);
        assert_eq!(rows.weight, vec![2.0]);
        assert_eq!(
            SpendRows::new(vec![s(0, 0.0)]).unwrap_err(),
            ModelError::NoRepeatBuyers
        );
        assert!(matches!(
            SpendRows::new(vec![s(1, f64::NAN)]).unwrap_err(),
            ModelError::NonFinite { .. }
        ));
    }

    #[test]
    fn minimize_finds_a_quadratic_minimum() {
        let m = minimize(
            |p| (p[0] - 1.0).powi(2) + 3.0 * (p[1] + 2.0).powi(2),
            vec![0.0, 0.0],
            &FitOptions::default(),
        )
        .unwrap();
        assert!(m.converged);
        assert!((m.x[0] - 1.0).abs() < 1e-5 && (m.x[1] + 2.0).abs() < 1e-5);
    }
}
