//! Hostile input, hostile clients and faults against the real binary: no
//! input may jam the schedule, no client may exhaust the daemon.

use chrono::Utc;
use costd::store::Store;

use crate::daemon::{Rig, web_address};
use crate::helpers::{costd, http, wait_for};

fn windows(rig: &Rig, args: &[&str]) -> (bool, String, String) {
    let cfg = rig.config.display().to_string();
    let mut all = vec!["windows", "--config", cfg.as_str()];
    all.extend_from_slice(args);
    let out = costd(&all);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// A window in the year 10000 once went into the store and made every read
/// fail from then on: no ALB was created or deleted again. Now the CLI and the
/// API refuse it, and a row that cannot be read (written by hand or by an
/// older costd) is quarantined while the daemon keeps reconciling.
#[test]
fn a_far_future_window_is_refused_and_an_unreadable_row_never_jams_the_daemon() {
    let rig = Rig::new("hardening-far-future", false, None);
    let (ok, _, err) = windows(&rig, &["add", "--start", "+10000-06-01 00:00", "--duration", "1h"]);
    assert!(!ok && err.contains("--start") && err.contains("1970 to 9999"), "{err}");
    // Within the years but beyond `max_days_ahead` (366 by default).
    let (ok, _, err) = windows(&rig, &["add", "--start", "2099-06-01 00:00", "--duration", "1h"]);
    assert!(!ok && err.contains("schedule.max_days_ahead"), "{err}");
    assert!(rig.store().windows(true).unwrap().is_empty(), "nothing was stored");

    // The row the old code stored, written straight into the SQLite file.
    rusqlite::Connection::open(&rig.store_path)
        .unwrap()
        .execute(
            "INSERT INTO windows (start_utc, end_utc, note, created_by, created_at) \
             VALUES ('+10000-05-31T16:00:00.000Z', '+10000-05-31T17:00:00.000Z', 'far', 'cli', ?1)",
            [Utc::now().to_rfc3339()],
        )
        .unwrap();
    let d = rig.daemon("1");
    let addr = web_address(&d);
    // The daemon still reconciles: a real window gets its ALB.
    let iv = rig.window(2, 6);
    let lb = wait_for(15, "the ALB despite the unreadable row", || {
        rig.elb.owned().into_iter().next()
    });
    assert!(lb.created.unwrap() < iv.end);
    let (status, ready) = http(addr, "GET", "/readyz", &[], "").unwrap();
    assert_eq!(status, 200, "{ready}");
    assert!(ready.contains("cannot be read") && ready.contains("ids 1"), "{ready}");
    let (ok, out, err) = windows(&rig, &["list"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("Quarantined") && out.contains("+10000-05-31T16:00:00.000Z"),
        "{out}"
    );
    let (ok, out, err) = windows(&rig, &["cancel", "1"]);
    assert!(ok && out.starts_with("cancelled quarantined window 1"), "{out}{err}");
    let (_, ready) = http(addr, "GET", "/readyz", &[], "").unwrap();
    assert!(!ready.contains("cannot be read"), "{ready}");
    assert!(d.logs().contains("quarantined"), "the skipped row is logged");
}

/// The API's share of the same bounds: far-future windows, far-off months and
/// schedules that would expand without end are 422s naming the field, at once.
#[test]
fn the_api_refuses_unbounded_input_by_field() {
    use crate::web::{OPERATOR, VIEWER, spawn_app};
    let app = spawn_app("hardening-api-bounds", &|s| s);
    for (body, field, text) in [
        (
            r#"{"start":"+10000-06-01 00:00","duration":"1h"}"#,
            "start",
            "1970 to 9999",
        ),
        (
            r#"{"start":"9999-12-31T23:00:00Z","duration":"366d"}"#,
            "start",
            "max_days_ahead",
        ),
        (
            r#"{"start":"now","duration":"9223372036854775807d"}"#,
            "duration",
            "most allowed",
        ),
        (
            r#"{"start":"now","duration":"99999999999999999999h"}"#,
            "duration",
            "most allowed",
        ),
    ] {
        let (s, b) = app.json("POST", "/api/v1/windows", Some(OPERATOR), body);
        assert_eq!((s, b["field"].as_str()), (422, Some(field)), "{body}: {b}");
        assert!(b["message"].as_str().unwrap().contains(text), "{body}: {b}");
    }
    let eleven_years = (chrono::Utc::now() + chrono::Duration::days(366 * 11))
        .format("%Y-%m")
        .to_string();
    for month in ["9999-12", "0001-01", eleven_years.as_str()] {
        let (s, b) = app.json("GET", &format!("/api/v1/projection?month={month}"), Some(VIEWER), "");
        assert_eq!((s, b["field"].as_str()), (422, Some("month")), "{month}: {b}");
        let (s, _) = app.json("GET", &format!("/api/v1/ledger?month={month}"), Some(VIEWER), "");
        assert_eq!(s, 422, "{month}");
    }
    // Ten years back is still answered.
    let back = chrono::Utc::now() - chrono::Duration::days(365 * 9);
    let (s, _) = app.json(
        "GET",
        &format!("/api/v1/projection?month={}", back.format("%Y-%m")),
        Some(VIEWER),
        "",
    );
    assert_eq!(s, 200);
    // Twenty `* * * * *` entries (1.8 KB) once took 12.9 s and 396 MB: now a 422 at once.
    let lb = "region = \"us-east-1\"\n[load_balancer]\nkind = \"application\"\nscheme = \"internet-facing\"\nazs = 2\ntarget_type = \"ip\"\n";
    let entry = "[[load_balancer.schedule]]\ncron = \"* * * * *\"\nduration = \"1h\"\ntimezone = \"UTC\"\n";
    let body = format!("{lb}{}", entry.repeat(20));
    let started = std::time::Instant::now();
    let (s, b) = app.request("POST", "/api/v1/model", Some(VIEWER), "application/toml", &body);
    let b: serde_json::Value = serde_json::from_str(&b).unwrap();
    assert_eq!(
        (s, b["field"].as_str()),
        (422, Some("load_balancer.schedule[0].cron")),
        "{b}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "refused at parse time"
    );
}
