//! kehu-models against the Python `lifetimes` package on the CDNOW sample.
//!
//! Runs scripts/lifetimes-reference.py with the interpreter in
//! `KEHU_LIFETIMES_PYTHON` (default ~/.cache/kehu-lifetimes/bin/python, as
//! installed by scripts/lifetimes-install), parses the raw transaction file
//! it names, and checks that summaries, fitted parameters, log-likelihoods
//! and every customer's predictions agree.
//!
//! Tolerance: summaries to 1e-12 relative (they are exact arithmetic);
//! everything that depends on a fit to [`TOL`] relative, i.e. at least
//! three significant digits with a wide margin. Both sides maximise the
//! same likelihood to their optimisers' tolerances, so that is what limits
//! agreement; the largest differences seen are printed.

mod common;

use std::path::PathBuf;

use kehu_models::gamma_gamma::ClvHorizon;
use kehu_models::summary::{day_number, summarize};
use kehu_models::{bgnbd, gamma_gamma, pareto_nbd, FitOptions, Spend, TimeUnit};
use serde_json::Value;

/// Relative tolerance for fitted quantities.
const TOL: f64 = 1e-4;

fn reference() -> Value {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/lifetimes-reference.py");
    let out = common::python(&[script.as_os_str()]);
    serde_json::from_slice(&out).expect("reference output is not JSON")
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("reference has no number {key}"))
}

/// Largest relative difference per quantity.
#[derive(Default)]
struct Worst(Vec<(String, f64)>);

impl Worst {
    fn check(&mut self, what: &str, got: f64, want: f64, tol: f64) {
        let diff = if got == want {
            0.0
        } else {
            (got - want).abs() / want.abs().max(f64::MIN_POSITIVE)
        };
        assert!(
            diff <= tol,
            "{what}: kehu-models {got}, lifetimes {want} (relative difference {diff:.3e} > {tol:e})"
        );
        let key = what.split('[').next().unwrap_or(what).to_string();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, d)) => *d = d.max(diff),
            None => self.0.push((key, diff)),
        }
    }
}

#[test]
fn cdnow_agrees_with_lifetimes() {
    let reference = reference();
    let raw_path = reference["raw_transactions_path"]
        .as_str()
        .expect("raw_transactions_path");
    let text =
        std::fs::read_to_string(raw_path).unwrap_or_else(|e| panic!("cannot read {raw_path}: {e}"));
    let end = day_number(common::date(1998, 6, 30));
    assert_eq!(reference["observation_end"], "1998-06-30");
    let summary = summarize(common::parse_cdnow(&text), end, TimeUnit::Week).unwrap();

    let mut worst = Worst::default();
    let customers = reference["customers"].as_array().expect("customers");
    assert_eq!(summary.len(), customers.len(), "number of customers");
    for (c, want) in summary.iter().zip(customers) {
        let id = c.customer;
        assert_eq!(f64::from(id), num(want, "id"), "customer order");
        assert_eq!(
            f64::from(c.frequency),
            num(want, "frequency"),
            "frequency of {id}"
        );
        worst.check(
            &format!("recency[{id}]"),
            c.recency,
            num(want, "recency"),
            1e-12,
        );
        worst.check(&format!("T[{id}]"), c.t, num(want, "T"), 1e-12);
        worst.check(
            &format!("monetary_value[{id}]"),
            c.monetary_value / 100.0,
            num(want, "monetary_value"),
            1e-12,
        );
    }

    let options = FitOptions::default();
    let bg = bgnbd::fit(summary.iter().map(|c| c.rfm()), &options).unwrap();
    let pn = pareto_nbd::fit(summary.iter().map(|c| c.rfm()), &options).unwrap();
    let gg = gamma_gamma::fit(summary.iter().map(|c| c.spend()), &options).unwrap();
    assert!(bg.converged && pn.converged && gg.converged);
    assert_eq!(bg.customers, 2357);

    let r = &reference["bgnbd"];
    for (name, got) in [
        ("r", bg.params.r),
        ("alpha", bg.params.alpha),
        ("a", bg.params.a),
        ("b", bg.params.b),
    ] {
        worst.check(&format!("bgnbd.{name}"), got, num(&r["params"], name), TOL);
    }
    worst.check(
        "bgnbd.log_likelihood",
        bg.log_likelihood,
        num(r, "log_likelihood"),
        TOL,
    );
    for (t, want) in r["unconditional_expected"].as_object().unwrap() {
        let t: f64 = t.parse().unwrap();
        let got = bg.params.expected_purchases(t);
        worst.check("bgnbd.expected_purchases", got, want.as_f64().unwrap(), TOL);
    }

    let r = &reference["pareto_nbd"];
    for (name, got) in [
        ("r", pn.params.r),
        ("alpha", pn.params.alpha),
        ("s", pn.params.s),
        ("beta", pn.params.beta),
    ] {
        worst.check(
            &format!("pareto_nbd.{name}"),
            got,
            num(&r["params"], name),
            TOL,
        );
    }
    worst.check(
        "pareto_nbd.log_likelihood",
        pn.log_likelihood,
        num(r, "log_likelihood"),
        TOL,
    );
    for (t, want) in r["unconditional_expected"].as_object().unwrap() {
        let t: f64 = t.parse().unwrap();
        let got = pn.params.expected_purchases(t);
        worst.check(
            "pareto_nbd.expected_purchases",
            got,
            want.as_f64().unwrap(),
            TOL,
        );
    }

    // Gamma-Gamma is fitted in fen, lifetimes in dollars: v scales by 100
    // and each customer's log-density by −ln 100.
    let r = &reference["gamma_gamma"];
    assert_eq!(gg.customers as f64, num(r, "customers"));
    worst.check("gamma_gamma.p", gg.params.p, num(&r["params"], "p"), TOL);
    worst.check("gamma_gamma.q", gg.params.q, num(&r["params"], "q"), TOL);
    worst.check(
        "gamma_gamma.v",
        gg.params.v / 100.0,
        num(&r["params"], "v"),
        TOL,
    );
    worst.check(
        "gamma_gamma.log_likelihood",
        gg.log_likelihood + gg.customers as f64 * 100f64.ln(),
        num(r, "log_likelihood"),
        TOL,
    );

    let horizon_weeks = num(&reference, "horizon_weeks");
    let horizon = ClvHorizon {
        months: reference["clv_months"].as_u64().unwrap() as u32,
        monthly_discount_rate: num(&reference, "clv_monthly_discount"),
        unit: TimeUnit::Week,
    };
    for (c, want) in summary.iter().zip(customers) {
        let id = c.customer;
        let rfm = c.rfm();
        let pairs = [
            (
                "bg_expected",
                bg.params
                    .conditional_expected_purchases(horizon_weeks, &rfm),
            ),
            ("bg_alive", bg.params.probability_alive(&rfm)),
            (
                "pn_expected",
                pn.params
                    .conditional_expected_purchases(horizon_weeks, &rfm),
            ),
            ("pn_alive", pn.params.probability_alive(&rfm)),
            (
                "expected_spend",
                gg.params.conditional_expected_spend(&Spend {
                    frequency: c.frequency,
                    monetary_value: c.monetary_value,
                }) / 100.0,
            ),
            (
                "clv_bgnbd",
                gg.params
                    .customer_lifetime_value(&bg.params, &rfm, c.monetary_value, &horizon)
                    / 100.0,
            ),
            (
                "clv_pareto",
                gg.params
                    .customer_lifetime_value(&pn.params, &rfm, c.monetary_value, &horizon)
                    / 100.0,
            ),
        ];
        for (key, got) in pairs {
            worst.check(&format!("{key}[{id}]"), got, num(want, key), TOL);
        }
    }

    eprintln!("largest relative differences from lifetimes:");
    for (what, diff) in &worst.0 {
        eprintln!("  {what:<28} {diff:.2e}");
    }
}
