//! Two daemons never fight: one daemon per store (an OS lock), and between
//! stores the `costd:store` / `costd:until` tags, end to end against moto.

use std::time::{Duration, Instant};

use chrono::Utc;
use costd::store::Store;

use crate::client::Api;
use crate::daemon::{Rig, web_address};
use crate::helpers::{Daemon, wait_for};

/// A second `costd serve` on a store in use exits at once (status 1), naming
/// the store and the process that holds it; the first keeps running.
#[test]
fn a_second_daemon_on_the_same_store_refuses_at_once_naming_the_holder() {
    let rig = Rig::new("own-lock", true, None);
    let first = rig.daemon("1");
    wait_for(10, "the first daemon's lock", || {
        first.logs().contains("holding the store lock").then_some(())
    });
    let t0 = Instant::now();
    let mut second = rig.daemon("2");
    let status = second.wait_exit(5).expect("the second daemon exits by itself");
    let took = t0.elapsed();
    let log = second.logs();
    assert_eq!(status.code(), Some(1), "a runtime failure, not a usage error: {log}");
    assert!(took < Duration::from_secs(2), "refused in {took:?}");
    assert!(
        log.contains(&format!("pid {}", first.pid())) && log.contains(&rig.store_path.display().to_string()),
        "{log}"
    );
    assert!(log.contains("one daemon per store"), "{log}");
    // The holder still serves.
    assert_eq!(
        Api {
            addr: web_address(&first)
        }
        .healthz()
        .0,
        200
    );
}

/// A rolling deploy gone wrong: two daemons, same deployment, each with its
/// own store, one window in the first store. Over 60 s moto sees exactly one
/// ALB, never deleted before the window closes; the second daemon reports
/// the conflict (log, `/readyz`, `/metrics`) instead of adopting and
/// deleting it, and the first deletes it when the window is over.
#[test]
fn two_daemons_on_different_stores_never_fight() {
    let _heavy = crate::helpers::heavy();
    let rig = Rig::new("own-two", false, None);
    let other_store = rig.dir.0.join("other.db");
    let config = std::fs::read_to_string(&rig.config).unwrap();
    let store_line = format!("path = \"{}\"", rig.store_path.display());
    assert!(config.contains(&store_line), "{config}");
    let other_config = rig.dir.write(
        "other.toml",
        &config.replace(&store_line, &format!("path = \"{}\"", other_store.display())),
    );
    let a = rig.daemon("a");
    let b = Daemon::start(&other_config, rig.dir.0.join("daemon-b.log"));
    let b_addr = web_address(&b);
    let start = Utc::now();
    let iv = rig.window(2, 45);

    let mut seen = std::collections::BTreeSet::new();
    let mut closed_early = false;
    let mut conflict_on_readyz = false;
    let mut conflict_metric = false;
    while Utc::now() < start + chrono::Duration::seconds(60) {
        let lbs = rig.elb.owned();
        for lb in &lbs {
            seen.insert(lb.arn.clone());
        }
        let now = Utc::now();
        if now > iv.start + chrono::Duration::seconds(8)
            && now < iv.end - chrono::Duration::seconds(1)
            && lbs.is_empty()
        {
            closed_early = true;
        }
        if !conflict_on_readyz && !lbs.is_empty() {
            let (_, ready) = Api { addr: b_addr }.readyz(None);
            conflict_on_readyz = ready.contains("another costd store");
            let (_, m) = Api { addr: b_addr }.metrics(None);
            conflict_metric = m.lines().any(|l| l == "costd_conflicts 1");
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(seen.len(), 1, "exactly one ALB over the minute: {seen:?}");
    assert!(!closed_early, "the ALB was deleted before the window closed");
    assert!(rig.elb.owned().is_empty(), "deleted after the window");
    assert!(
        conflict_on_readyz && conflict_metric,
        "the second daemon reports the conflict"
    );
    let (a_log, b_log) = (a.logs(), b.logs());
    assert!(b_log.contains("another costd store runs an ALB"), "{b_log}");
    for never in ["created ALB", "deleted ALB", "orphan ALB"] {
        assert!(!b_log.contains(never), "the second daemon: {never}\n{b_log}");
    }
    assert_eq!(a_log.matches("created ALB").count(), 1, "{a_log}");
    // The ALB carried the first store's id and the window's end.
    let a_store = costd::store::sqlite::SqliteStore::open(&rig.store_path).unwrap();
    let lifetimes = a_store
        .lifetimes(
            "it",
            start - chrono::Duration::hours(1),
            Utc::now() + chrono::Duration::hours(1),
        )
        .unwrap();
    assert_eq!(lifetimes.len(), 1);
    assert!(lifetimes[0].deleted_at.unwrap() >= iv.end);
    let b_store = costd::store::sqlite::SqliteStore::open(&other_store).unwrap();
    assert_ne!(a_store.store_id().unwrap(), b_store.store_id().unwrap());
    assert!(
        b_store
            .lifetimes(
                "it",
                start - chrono::Duration::hours(1),
                Utc::now() + chrono::Duration::hours(1)
            )
            .unwrap()
            .is_empty(),
        "the second store ledgered nothing"
    );
}

/// The tags on what costd creates name its store and the planned end.
#[test]
fn created_resources_carry_the_store_and_the_planned_end() {
    let rig = Rig::new("own-tags", false, None);
    let _d = rig.daemon("1");
    let iv = rig.window(1, 20);
    let lb = wait_for(15, "the ALB", || rig.elb.owned().into_iter().next());
    let store_id = rig.store().store_id().unwrap();
    assert_eq!(lb.tags.get("costd:store"), Some(&store_id));
    let until = chrono::DateTime::parse_from_rfc3339(lb.tags.get("costd:until").unwrap()).unwrap();
    // Seconds precision: the window's end, rounded down.
    assert_eq!(until.timestamp(), iv.end.timestamp());
}
