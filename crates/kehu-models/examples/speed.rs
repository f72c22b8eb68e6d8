//! Times the three fits on synthetic customers, for comparing against
//! lifetimes (scripts/lifetimes-speed.py fits the same CSV).
//!
//! `cargo run --release -p kehu-models --example speed -- N [CSV]` draws N
//! customers from a seeded BG/NBD + Gamma-Gamma process (two years of daily
//! history, time in weeks), optionally writes them to CSV
//! (frequency,recency,T,monetary_value) and prints the fit times.

use std::io::Write;
use std::time::Instant;

use kehu_models::{bgnbd, gamma_gamma, pareto_nbd, FitOptions, Rfm, Spend};

/// SplitMix64: a small, seeded, portable generator.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// Gamma(shape, scale) by Marsaglia & Tsang.
    fn gamma(&mut self, shape: f64, scale: f64) -> f64 {
        if shape < 1.0 {
            let u = self.uniform();
            return self.gamma(shape + 1.0, scale) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.uniform();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v * scale;
            }
        }
    }

    fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a, 1.0);
        x / (x + self.gamma(b, 1.0))
    }
}

struct Customer {
    frequency: u32,
    recency: f64,
    t: f64,
    monetary_value: f64,
}

/// Two years of history: first purchases spread over the first year, daily
/// resolution, weekly time unit; BG/NBD r = 0.25, α = 4 weeks, a = 0.8,
/// b = 2.5; spend Gamma-Gamma p = 6, q = 4, v = 15 (yuan).
fn generate(n: usize, seed: u64) -> Vec<Customer> {
    let mut rng = Rng(seed);
    let end_day = 730i64;
    (0..n)
        .map(|_| {
            let first = (rng.uniform() * 365.0) as i64;
            let lambda = rng.gamma(0.25, 1.0 / 4.0) / 7.0; // per day
            let p = rng.beta(0.8, 2.5);
            let nu = rng.gamma(4.0, 1.0 / 15.0);
            let mut day = first as f64;
            let mut last = first;
            let mut days = 0u32;
            let mut spent = 0.0;
            loop {
                day += -rng.uniform().ln() / lambda;
                let d = day as i64;
                if d > end_day {
                    break;
                }
                if d != last {
                    days += 1;
                    last = d;
                }
                spent += (rng.gamma(6.0, 1.0 / nu) * 100.0).round() / 100.0;
                // BG/NBD: a customer may drop out after each repeat purchase.
                if rng.uniform() < p {
                    break;
                }
            }
            Customer {
                frequency: days,
                recency: (last - first) as f64 / 7.0,
                t: (end_day - first) as f64 / 7.0,
                monetary_value: if days > 0 {
                    spent / f64::from(days)
                } else {
                    0.0
                },
            }
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .expect("usage: speed N [CSV]");
    let customers = generate(n, 20_260_101);
    if let Some(path) = args.get(2) {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create CSV"));
        writeln!(f, "frequency,recency,T,monetary_value").unwrap();
        for c in &customers {
            // {:?} prints the shortest representation that reads back exactly.
            writeln!(
                f,
                "{},{:?},{:?},{:?}",
                c.frequency, c.recency, c.t, c.monetary_value
            )
            .unwrap();
        }
    }
    let rfm: Vec<Rfm> = customers
        .iter()
        .map(|c| Rfm {
            frequency: c.frequency,
            recency: c.recency,
            t: c.t,
        })
        .collect();
    let spend: Vec<Spend> = customers
        .iter()
        .map(|c| Spend {
            frequency: c.frequency,
            monetary_value: c.monetary_value,
        })
        .collect();
    let options = FitOptions::default();

    let start = Instant::now();
    let bg = bgnbd::fit(rfm.iter().copied(), &options).expect("BG/NBD");
    let bg_time = start.elapsed();
    let start = Instant::now();
    let pn = pareto_nbd::fit(rfm.iter().copied(), &options).expect("Pareto/NBD");
    let pn_time = start.elapsed();
    let start = Instant::now();
    let gg = gamma_gamma::fit(spend.iter().copied(), &options).expect("Gamma-Gamma");
    let gg_time = start.elapsed();

    println!("customers {n}");
    println!(
        "bgnbd       {:>9.3} s  iterations {:>5}  converged {}  {:?}",
        bg_time.as_secs_f64(),
        bg.iterations,
        bg.converged,
        bg.params
    );
    println!(
        "pareto_nbd  {:>9.3} s  iterations {:>5}  converged {}  {:?}",
        pn_time.as_secs_f64(),
        pn.iterations,
        pn.converged,
        pn.params
    );
    println!(
        "gamma_gamma {:>9.3} s  iterations {:>5}  converged {}  {:?}",
        gg_time.as_secs_f64(),
        gg.iterations,
        gg.converged,
        gg.params
    );
    println!(
        "total       {:>9.3} s",
        (bg_time + pn_time + gg_time).as_secs_f64()
    );
}
