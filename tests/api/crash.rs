//! Crash safety: `costd serve` against moto with a compressed schedule
//! (windows of 2.5–3.5 s, gaps of 2–3 s, no coalescing: one create → delete
//! cycle per window), reaching moto through a proxy that adds 40 ms to each
//! AWS call, killed with SIGKILL at seeded random points (at least 50 kills;
//! every fourth aimed just after an edge) and restarted each time. It counts
//! the kills that landed mid-create and mid-delete (from the ledger) and
//! fails unless there were some of each.
//!
//! A daemon killed faster than it can start serves nothing, so each window
//! gets one chance: while its ALB has not been seen yet, at most one kill
//! lands in it, and none in its last [`CHANCE`]. At the end:
//! - no costd-tagged ALB, listener or target group existed outside a window:
//!   none before a window opened (lead is 0), none longer after one closed
//!   than the restart slack, none left at the end;
//! - every window saw its ALB while it was open;
//! - the ledger has no open lifetime for an ALB that no longer exists;
//! - every window is served by exactly one ALB lifetime, and each lifetime
//!   bills the planner's minimum for the windows it served. A daemon killed
//!   while deleting one window's ALB may find the next window open when it
//!   comes back; it then keeps that ALB for the next window (one create
//!   saved) rather than deleting it and creating another.
//!
//! It prints the counts. `COSTD_CRASH_SEED` and `COSTD_CRASH_KILLS` change the run.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use costd::schedule::Interval;
use costd::store::Store;
use costd::store::sqlite::SqliteStore;

use crate::helpers::{Daemon, Moto, Outage, Rng, TempDir, wait_for};
use costd::cost::billing::billed_hours;

/// What each AWS call costs the daemon (moto answers at once; AWS does not),
/// so a create or a delete takes long enough for kills to land inside it.
const AWS_LATENCY: Duration = Duration::from_millis(40);

/// When the watcher looked, and what it saw: costd's ALBs, their listeners, target groups.
type Sighting = (chrono::DateTime<Utc>, BTreeSet<String>, usize, usize);

/// How long after a window's end its resources may still be seen: a kill just
/// before the delete, the restart, and one in-progress recheck (3 s) while the
/// target group is still attached to the ALB being deleted.
const LATE_SLACK_MS: i64 = 5_000;

/// The undisturbed time a window whose ALB is not up yet is given: a restart
/// (the process, the store, the first listing) and a create, on a loaded
/// two-core machine.
const CHANCE: chrono::Duration = chrono::Duration::milliseconds(2_000);

#[test]
fn kill_9_at_random_points_leaks_no_alb_hours() {
    let _heavy = crate::helpers::heavy();
    let seed: u64 = std::env::var("COSTD_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261122);
    let kills_wanted: usize = std::env::var("COSTD_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let mut rng = Rng(seed | 1);
    let dir = TempDir::new("crash");
    let moto = Moto::start();
    let aws = Outage::proxy_with_latency(moto.addr, AWS_LATENCY);
    let store_path = dir.0.join("costd.db");
    let head = crate::helpers::DaemonToml {
        name: "crash",
        deployment_extra: "",
        aws: &format!("endpoint_url = \"{}\"", aws.url),
        store: &store_path,
        tg_extra: "",
    }
    .head(&moto);
    let config = dir.write(
        "costd.toml",
        &format!(
            r#"{head}
[schedule]
lead_minutes = 0
grace_minutes = 0
# Off: every window is its own create → delete cycle, so kills land mid-create and mid-delete.
coalesce = false
[reconcile]
safety_net_seconds = 5
[web]
enabled = false
"#
        ),
    );

    // The schedule: windows of 2.5–3.5 s separated by 2–3 s, enough to cover the kills.
    let start = Utc::now() + chrono::Duration::seconds(2);
    let mut windows = Vec::new();
    let mut t = start;
    let run_for = Duration::from_millis(kills_wanted as u64 * 1000 + 2000);
    while t < start + chrono::Duration::from_std(run_for).unwrap() {
        let len = chrono::Duration::from_std(rng.between_ms(2500, 3500)).unwrap();
        windows.push(Interval::new(t, t + len).unwrap());
        t = t + len + chrono::Duration::from_std(rng.between_ms(2000, 3000)).unwrap();
    }
    {
        let s = SqliteStore::open(&store_path).unwrap();
        for w in &windows {
            s.add_window(*w, "crash test", "test", Utc::now()).unwrap();
        }
    }

    // Watch moto every 50 ms: which costd-tagged ALBs exist when.
    let seen: Arc<Mutex<Vec<Sighting>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (seen, stop, url) = (seen.clone(), stop.clone(), moto.url.clone());
        std::thread::spawn(move || {
            let elb = crate::daemon::ElbView::new(&url);
            while !stop.load(Ordering::SeqCst) {
                let at = Utc::now();
                let (arns, listeners, tgs) = elb.footprint("crash");
                seen.lock().unwrap().push((at, arns, listeners, tgs));
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };

    // Kill -9 at random points, restarting each time. Every fourth kill aims
    // just after an edge (0–300 ms after a window opens or closes), while the
    // daemon is between the calls of a create or a delete; what it was doing
    // is read from the ledger right after the kill.
    let edges: Vec<chrono::DateTime<Utc>> = windows.iter().flat_map(|w| [w.start, w.end]).collect();
    let (mut kills, mut mid_create, mut mid_delete) = (0, 0, 0);
    let mut last_kill = start - chrono::Duration::hours(1);
    let mut d = Daemon::start(&config, dir.0.join("d0.log"));
    let deadline = Instant::now() + run_for;
    while kills < kills_wanted && Instant::now() < deadline + Duration::from_secs(30) {
        let next_edge = edges
            .iter()
            .find(|e| **e > Utc::now() + chrono::Duration::milliseconds(200));
        match next_edge {
            Some(edge) if kills % 4 == 0 => {
                let at = *edge + chrono::Duration::from_std(rng.between_ms(0, 300)).unwrap();
                std::thread::sleep((at - Utc::now()).to_std().unwrap_or_default());
            }
            _ => std::thread::sleep(rng.between_ms(150, 1100)),
        }
        // A window still waiting for its ALB keeps its chance.
        loop {
            let now = Utc::now();
            let waiting = windows.iter().find(|w| {
                w.start <= now
                    && now < w.end
                    && !saw_alb(&seen.lock().unwrap(), w)
                    && (last_kill >= w.start || now > w.end - CHANCE)
            });
            if waiting.is_none() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        d.kill9();
        let at = Utc::now();
        last_kill = at;
        kills += 1;
        let open = SqliteStore::open(&store_path).unwrap().open_lifetimes("crash").unwrap();
        let in_window = windows.iter().any(|w| w.start <= at && at < w.end);
        if !in_window && !open.is_empty() {
            mid_delete += 1; // a window had closed; its ALB was not yet all gone
        } else if open.iter().any(|l| l.listener_arns.is_empty()) {
            mid_create += 1; // intent recorded, not every resource made yet
        }
        d = Daemon::start(&config, dir.0.join(format!("d{kills}.log")));
    }
    // Let the last daemon finish the schedule and settle.
    let last_end = windows.last().unwrap().end;
    while Utc::now() < last_end + chrono::Duration::seconds(2) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let elb = crate::daemon::ElbView::new(&moto.url);
    wait_for(30, "every costd ALB to be deleted after the last window", || {
        elb.owned_arns("crash").is_empty().then_some(())
    });
    let tgs_gone = (0..300).any(|_| {
        let gone = elb.tg_count() == 0;
        if !gone {
            std::thread::sleep(Duration::from_millis(100));
        }
        gone
    });
    assert!(tgs_gone, "target groups left: {}", elb.tg_report());
    stop.store(true, Ordering::SeqCst);
    watcher.join().unwrap();
    d.terminate();

    // Every window saw an ALB while open; none lingered long after the last window.
    let seen = seen.lock().unwrap().clone();
    let covered = windows.iter().filter(|w| saw_alb(&seen, w)).count();
    let lingering_ms = seen
        .iter()
        .filter(|(at, arns, _, _)| !arns.is_empty() && *at > last_end)
        .map(|(at, ..)| (*at - last_end).num_milliseconds())
        .max()
        .unwrap_or(0);
    // Outside every window: how late after the last window that closed, or
    // "early" when no window had closed yet (nothing may exist before the first).
    let mut latest_ms = 0;
    let mut outside = Vec::new();
    for (at, arns, listeners, tgs) in &seen {
        let something = !arns.is_empty() || *listeners > 0 || *tgs > 0;
        if !something || windows.iter().any(|w| w.start <= *at && *at < w.end) {
            continue;
        }
        match windows.iter().filter(|w| w.end <= *at).map(|w| w.end).max() {
            Some(closed) => {
                let late = (*at - closed).num_milliseconds();
                latest_ms = latest_ms.max(late);
                if late > LATE_SLACK_MS {
                    outside.push(format!(
                        "{at}: {arns:?}, {listeners} listeners, {tgs} TGs, {late} ms late"
                    ));
                }
            }
            None => outside.push(format!(
                "{at}: {arns:?}, {listeners} listeners, {tgs} TGs before the first window"
            )),
        }
    }
    let distinct_albs: BTreeSet<String> = seen.iter().flat_map(|(_, a, ..)| a.iter().cloned()).collect();

    // The ledger: nothing left open, billed hours equal the planner's minimum.
    let store = SqliteStore::open(&store_path).unwrap();
    let lifetimes = store
        .lifetimes(
            "crash",
            start - chrono::Duration::hours(1),
            Utc::now() + chrono::Duration::hours(1),
        )
        .unwrap();
    let open_without_alb = lifetimes.iter().filter(|l| l.deleted_at.is_none()).count();
    // Which ALB lifetime served each window, and what each one bills against
    // the planner's minimum for the windows it served (lead and grace are 0).
    let with_alb: Vec<&costd::store::Lifetime> = lifetimes.iter().filter(|l| l.lb_arn.is_some()).collect();
    let id_of = |i: usize| format!("w{}", i + 1);
    let mut ledger_problems = Vec::new();
    for i in 0..windows.len() {
        let n = with_alb.iter().filter(|l| l.window_ids.contains(&id_of(i))).count();
        if n != 1 {
            ledger_problems.push(format!("{} is served by {n} ALB lifetimes", id_of(i)));
        }
    }
    let (mut ledger_billed, mut planned_billed) = (0, 0);
    for l in &with_alb {
        let served: Vec<&Interval> = (0..windows.len())
            .filter(|i| l.window_ids.contains(&id_of(*i)))
            .map(|i| &windows[i])
            .collect();
        let (Some(from), Some(to), Some(deleted)) = (
            served.iter().map(|w| w.start).min(),
            served.iter().map(|w| w.end).max(),
            l.deleted_at,
        ) else {
            ledger_problems.push(format!("lifetime #{} serves no window or is still open", l.id));
            continue;
        };
        let billed = billed_hours((deleted - l.created_at).num_seconds());
        let minimum = billed_hours((to - from).num_seconds());
        ledger_billed += billed;
        planned_billed += minimum;
        if billed != minimum {
            ledger_problems.push(format!(
                "lifetime #{} bills {billed} h for windows that need {minimum} h",
                l.id
            ));
        }
    }

    println!(
        "crash test: seed {seed}, {kills} kills ({mid_create} mid-create, {mid_delete} mid-delete), {} windows, {covered} covered, {} ALBs seen, {} lifetimes, \
         {open_without_alb} left open, billed {ledger_billed} h (planner minimum {planned_billed} h), \
         ALB seen {lingering_ms} ms after the last window, resources seen at most {latest_ms} ms after a window \
         closed, {} sightings outside a window beyond the {LATE_SLACK_MS} ms slack",
        windows.len(),
        distinct_albs.len(),
        lifetimes.len(),
        outside.len()
    );
    assert!(kills >= kills_wanted, "only {kills} kills");
    assert!(
        mid_create > 0 && mid_delete > 0,
        "kills landed mid-create ({mid_create}) and mid-delete ({mid_delete})"
    );
    assert!(outside.is_empty(), "resources outside a window: {outside:#?}");
    assert_eq!(covered, windows.len(), "every window had its ALB while open");
    assert_eq!(open_without_alb, 0, "no open lifetime for an ALB that no longer exists");
    let ledger_rows: Vec<String> = lifetimes
        .iter()
        .map(|l| {
            format!(
                "#{} {:?} {} arn={} created {} deleted {:?} reason {}",
                l.id,
                l.window_ids,
                l.name,
                l.lb_arn.is_some(),
                l.created_at.format("%H:%M:%S%.3f"),
                l.deleted_at.map(|d| d.format("%H:%M:%S%.3f").to_string()),
                l.reason_detail
            )
        })
        .collect();
    assert!(
        ledger_problems.is_empty(),
        "every window served by one ALB lifetime, each billing the planner's minimum: {ledger_problems:#?}\nthe ledger:\n{}",
        ledger_rows.join("\n")
    );
    assert_eq!(ledger_billed, planned_billed);
    assert!(
        lingering_ms < 15_000,
        "the ALB outlived the last window by {lingering_ms} ms"
    );
    assert_eq!(
        distinct_albs.len(),
        with_alb.len(),
        "one ALB per lifetime (no duplicates from retries)"
    );
}

/// Whether the watcher saw one of costd's ALBs while `w` was open.
fn saw_alb(seen: &[Sighting], w: &Interval) -> bool {
    seen.iter()
        .any(|(at, arns, _, _)| *at >= w.start && *at < w.end && !arns.is_empty())
}
