//! Fitting BG/NBD to the CDNOW sample as Fader, Hardie & Lee (2005) did
//! must reproduce their published parameters: 2,357 customers, 39-week
//! calibration period ending 1997-09-30, time in weeks. The raw sample is
//! read from the lifetimes package, which redistributes Hardie's CDNOW
//! sample (see scripts/lifetimes-install).

mod common;

use kehu_models::summary::{day_number, summarize};
use kehu_models::{bgnbd, FitOptions, TimeUnit};

#[test]
fn bgnbd_reproduces_the_published_cdnow_parameters() {
    let text = common::cdnow_sample();
    let tx = common::parse_cdnow(&text);
    let end = day_number(common::date(1997, 9, 30));
    let summary = summarize(tx, end, TimeUnit::Week).unwrap();
    assert_eq!(summary.len(), 2357);
    // Hardie's calibration summary: customer 1 bought twice more, last at
    // 30.43 weeks, and is 38.86 weeks old.
    assert_eq!(summary[0].frequency, 2);
    assert!((summary[0].recency - 30.43).abs() < 0.005);
    assert!((summary[0].t - 38.86).abs() < 0.005);

    let fit = bgnbd::fit(summary.iter().map(|c| c.rfm()), &FitOptions::default()).unwrap();
    assert!(fit.converged);
    assert_eq!(fit.customers, 2357);
    let p = fit.params;
    // FHL 2005, section 4: r = 0.243, α = 4.414, a = 0.793, b = 2.426,
    // LL = −9582.4 (published to three decimals and one decimal).
    for (name, got, want) in [
        ("r", p.r, 0.243),
        ("alpha", p.alpha, 4.414),
        ("a", p.a, 0.793),
        ("b", p.b, 2.426),
    ] {
        assert!(
            (got - want).abs() <= 0.0005 + 1e-9,
            "{name}: fitted {got}, published {want}"
        );
    }
    assert!(
        (fit.log_likelihood - -9582.4).abs() <= 0.05,
        "log-likelihood {}",
        fit.log_likelihood
    );
}
