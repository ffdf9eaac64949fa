//! Writes a scale fixture into a costd store (a SQLite file or a PostgreSQL
//! URL): `--windows N` windows and the ledger of their past ones over
//! `--years` (default 3); see `costd::store::fixture`.
//!
//! ```text
//! cargo run --release --example scalegen -- --store /tmp/scale.db --windows 100000
//! ```
//!
//! The deployment (`--deployment`, default `seed-demo`) and `--dry-run`
//! (default true) must match the config the daemon then runs with, or its
//! projection will not count the ledger.

use std::time::Instant;

use chrono::{DateTime, Utc};
use costd::config::StoreConfig;
use costd::store::fixture::Fixture;

struct Args {
    store: StoreConfig,
    windows: i64,
    years: i64,
    now: DateTime<Utc>,
    deployment: String,
    dry_run: bool,
}

const USAGE: &str = "usage: scalegen --store PATH|URL --windows N [--years 3] [--now RFC3339] \
                     [--deployment seed-demo] [--dry-run true|false]";

fn args() -> Result<Args, String> {
    let mut a = Args {
        store: StoreConfig::from_flag("scale.db").map_err(|e| e.to_string())?,
        windows: -1,
        years: 3,
        now: Utc::now(),
        deployment: "seed-demo".into(),
        dry_run: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value; {USAGE}"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--store" => a.store = StoreConfig::from_flag(&value).map_err(|e| bad(&e))?,
            "--windows" => a.windows = value.parse().map_err(|e| bad(&e))?,
            "--years" => a.years = value.parse().map_err(|e| bad(&e))?,
            "--now" => a.now = DateTime::parse_from_rfc3339(&value).map_err(|e| bad(&e))?.to_utc(),
            "--deployment" => a.deployment = value,
            "--dry-run" => a.dry_run = value.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown flag {flag}; {USAGE}")),
        }
    }
    if !(0..=1_000_000).contains(&a.windows) {
        return Err(format!("--windows is required, 0–1,000,000; {USAGE}"));
    }
    if !(0..=20).contains(&a.years) {
        return Err(format!("--years is 0–20; {USAGE}"));
    }
    Ok(a)
}

fn main() {
    let a = args().unwrap_or_else(|e| {
        eprintln!("scalegen: {e}");
        std::process::exit(2)
    });
    if let Err(e) = run(&a) {
        eprintln!("scalegen: {e}");
        std::process::exit(1)
    }
}

fn run(a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let store = costd::app::open_store(&a.store)?;
    let t0 = Instant::now();
    let w = costd::store::fixture::write(
        store.as_ref(),
        &Fixture {
            windows: a.windows,
            years: a.years,
            now: a.now,
            deployment: a.deployment.clone(),
            dry_run: a.dry_run,
        },
    )?;
    println!(
        "scalegen: {} windows, {} lifetimes, {} decisions in {:.1} s",
        w.windows,
        w.lifetimes,
        w.decisions,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
