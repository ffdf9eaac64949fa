//! Writes a scale fixture into a costd store (a SQLite file or a PostgreSQL
//! URL), through the store's own write path:
//!
//! - `--windows N` one-off windows of 30 minutes, one every 2 hours, half
//!   of them before `--now` and half after (a team booking demos all day,
//!   for years);
//! - the ledger the daemon would have written for the past ones within
//!   `--years` (default 3): one ALB lifetime per window, created 5 minutes
//!   before it opens (lead), active 3 minutes later, deleted 5 minutes after
//!   it closes (grace), each with its create and delete decisions when it
//!   falls within the decisions' 90-day retention.
//!
//! ```text
//! cargo run --release --example scalegen -- --store /tmp/scale.db --windows 100000
//! ```
//!
//! The deployment (`--deployment`, default `seed-demo`) and `--dry-run`
//! (default true) must match the config the daemon then runs with, or its
//! projection will not count the ledger.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use costd::config::StoreConfig;
use costd::interval::Interval;
use costd::store::{Decision, DecisionAction, LifetimeReason, NewLifetime};

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
    // On the hour, so every run of one size writes the same pattern relative to `now`.
    let hour = a.now.timestamp() - a.now.timestamp().rem_euclid(3600);
    let first = DateTime::from_timestamp(hour, 0).unwrap() - Duration::hours(2 * (a.windows / 2));
    let ledger_from = a.now - Duration::days(365 * a.years);
    let decisions_from = a.now - Duration::days(90);
    let (mut lifetimes, mut decisions) = (0, 0);
    for i in 0..a.windows {
        let start = first + Duration::hours(2 * i);
        let window = Interval {
            start,
            end: start + Duration::minutes(30),
        };
        let w = store.add_window(window, "scale fixture", "scalegen", start - Duration::days(1))?;
        let (created, deleted) = (window.start - Duration::minutes(5), window.end + Duration::minutes(5));
        if created < ledger_from || deleted > a.now {
            continue;
        }
        let ids = vec![format!("w{}", w.id)];
        let mut l = store.insert_lifetime(&NewLifetime {
            deployment: a.deployment.clone(),
            name: format!("costd-scale-{}", w.id),
            window_ids: ids.clone(),
            reason: LifetimeReason::Window,
            reason_detail: String::new(),
            dry_run: a.dry_run,
            created_at: created,
        })?;
        l.lb_arn = Some(format!(
            "arn:aws:elasticloadbalancing:ap-southeast-1:123456789012:loadbalancer/app/costd-scale-{}/{:016x}",
            w.id, w.id
        ));
        l.dns_name = Some(format!("costd-scale-{}.ap-southeast-1.elb.amazonaws.com", w.id));
        l.active_at = Some(created + Duration::minutes(3));
        l.deleted_at = Some(deleted);
        store.update_lifetime(&l)?;
        lifetimes += 1;
        if created >= decisions_from {
            for (at, action) in [(created, DecisionAction::Create), (deleted, DecisionAction::Delete)] {
                store.record_decision(&Decision {
                    at,
                    action,
                    window_ids: ids.clone(),
                    arn: l.lb_arn.clone(),
                    detail: "scale fixture".into(),
                    dry_run: a.dry_run,
                    edge_at: Some(at),
                })?;
                decisions += 1;
            }
        }
    }
    println!(
        "scalegen: {} windows, {lifetimes} lifetimes, {decisions} decisions in {:.1} s",
        a.windows,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
