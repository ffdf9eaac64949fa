//! `costd windows add|list|cancel` on a real SQLite file.

use crate::helpers::{TempDir, costd};

fn config(dir: &TempDir) -> String {
    let src = std::fs::read_to_string(crate::helpers::repo().join("config/costd.toml")).unwrap();
    let src = src.replace(
        "path = \"costd.db\"",
        &format!("path = \"{}\"", dir.0.join("w.db").display()),
    );
    // Windows opening "now" bill the same hours whatever the minute under this rule.
    let src = format!("{src}\n[billing]\npartial_hour = \"lifetime\"\n");
    dir.write("costd.toml", &src).display().to_string()
}

pub(crate) fn run(cfg: &str, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["windows", "--config", cfg];
    all.extend_from_slice(args);
    let out = costd(&all);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn add_list_cancel() {
    let dir = TempDir::new("windows-cli");
    let cfg = config(&dir);
    let (ok, out, err) = run(
        &cfg,
        &["add", "--start", "now", "--duration", "2h", "--note", "board demo"],
    );
    assert!(ok, "{err}");
    assert!(out.starts_with("added window 1 from "), "{out}");
    // ap-southeast-1, grace 5 min (the lead has no time left: it opens now): 2 h + 5 min
    // = 125 min → 3 billed hours × $0.0252 = $0.0756, + 2 public IPv4 × $0.005/h for
    // 7,500 s = $0.020833…; $0.096433… → $0.10. Five minutes shorter fits in 2 hours:
    // 2 × $0.0252 + 2 × $0.005 × 2 h = $0.0704, saving $0.026033… → $0.03.
    assert!(
        out.contains("ALB for this window on its own: 125 min with lead and grace, 3 billed hours, $0.10"),
        "{out}"
    );
    assert!(
        out.contains("push it into billed hour 3; a window 5 min shorter bills 2 and saves $0.03"),
        "{out}"
    );
    let (ok, out, _) = run(&cfg, &["list", "--format", "json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["windows"][0]["note"], "board demo");
    // The stored window opens now: the first planned lifetime serves it (lead 5 min, grace
    // 5 min). A recurring window of the default config may be open now too; the two then
    // share that lifetime, so w1 is one of its windows, not necessarily the only one.
    let first = v["planned_lifetimes"][0]["windows"]
        .as_array()
        .expect("a planned lifetime");
    assert!(first.iter().any(|w| w == "w1"), "{v}");
    let (ok, out, _) = run(&cfg, &["list"]);
    assert!(ok && out.contains("board demo"), "{out}");
    let (ok, out, _) = run(&cfg, &["cancel", "1"]);
    assert!(ok && out.starts_with("cancelled window 1"), "{out}");
    // The same as JSON: the API's shapes (`AddedWindow`, `CancelledView`).
    let (ok, out, err) = run(&cfg, &["add", "--start", "now", "--duration", "1h", "--format", "json"]);
    assert!(ok, "{err}");
    let added: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(added["id"], 2);
    assert!(added["alb_cost"]["estimate"]["billed_hours"].is_i64(), "{added}");
    let (ok, out, _) = run(&cfg, &["cancel", "2", "--format", "json"]);
    assert!(ok);
    let cancelled: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(cancelled["cancelled_at"].is_string(), "{cancelled}");
    let (ok, _, err) = run(&cfg, &["cancel", "1"]);
    assert!(!ok && err.contains("window 1 is already cancelled"), "{err}");
    let (ok, _, err) = run(&cfg, &["cancel", "7"]);
    assert!(!ok && err.contains("no window with id 7"), "{err}");
}

/// `list` shows a page at a time and says how to get the next one.
#[test]
fn list_pages_with_a_cursor() {
    let dir = TempDir::new("windows-cli-pages");
    let cfg = config(&dir);
    // Thirty days ahead at 10:00, 11:00 and 12:00 UTC, added out of order.
    let day = (chrono::Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%d");
    let at = |h: u32| format!("{day}T{h}:00:00Z");
    for (start, note) in [(at(12), "third"), (at(10), "first"), (at(11), "second")] {
        let (ok, _, err) = run(&cfg, &["add", "--start", &start, "--duration", "30m", "--note", note]);
        assert!(ok, "{err}");
    }
    let (ok, out, err) = run(&cfg, &["list", "--limit", "2"]);
    assert!(ok, "{err}");
    let (first, second) = (out.find("first").unwrap(), out.find("second").unwrap());
    assert!(first < second && !out.contains("third"), "{out}");
    let cursor = out
        .split("more: costd windows list --cursor ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no next page named: {out}"));
    let (ok, out, _) = run(&cfg, &["list", "--limit", "2", "--cursor", cursor]);
    assert!(
        ok && out.contains("third") && !out.contains("first") && !out.contains("more:"),
        "{out}"
    );
    // From a time: only the windows ending after it.
    let (ok, out, _) = run(
        &cfg,
        &["list", "--from", &format!("{day}T11:15:00Z"), "--format", "json"],
    );
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let notes: Vec<&str> = v["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["note"].as_str().unwrap())
        .collect();
    assert_eq!(notes, ["second", "third"]);
    assert!(v["next"].is_null(), "{v}");
    // Out of bounds: usage errors, exit 2, naming the flag.
    for (args, expect) in [
        (&["list", "--limit", "501"][..], "limit"),
        (&["list", "--cursor", "nope"][..], "cursor"),
    ] {
        let out = costd(&[&["windows", "--config", &cfg][..], args].concat());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(expect), "{err}");
    }
}

#[test]
fn bad_windows_are_refused_and_change_nothing() {
    let dir = TempDir::new("windows-cli-bad");
    let cfg = config(&dir);
    for (args, expect) in [
        (
            vec!["add", "--start", "2020-01-01T09:00:00Z", "--duration", "1h"],
            "starts in the past",
        ),
        (
            vec!["add", "--start", "now", "--duration", "13h"],
            "the most allowed is 12 h",
        ),
        (
            vec!["add", "--start", "2027-01-01 09:00", "--duration", "1h"],
            "overlaps a blackout",
        ),
        (
            vec!["add", "--start", "now", "--end", "2020-01-01T00:00:00Z"],
            "--end: the window must end after it starts",
        ),
        (
            vec!["add", "--start", "tomorrow", "--duration", "1h"],
            "--start: `tomorrow` is not a time",
        ),
        (
            vec!["add", "--start", "now", "--duration", "1w"],
            "--duration: `1w`: unknown unit `w`",
        ),
        (vec!["add", "--start", "now"], "required"),
    ] {
        let (ok, _, err) = run(&cfg, &args);
        assert!(!ok, "{args:?} must fail");
        assert!(err.contains(expect), "{args:?}: {err}");
    }
    let (_, out, _) = run(&cfg, &["list", "--all", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["windows"].as_array().unwrap().len(), 0, "nothing was stored");
}

#[test]
fn a_window_that_cannot_be_priced_is_not_stored() {
    let dir = TempDir::new("windows-cli-unpriced");
    let empty = dir.0.join("no-tables");
    std::fs::create_dir_all(&empty).unwrap();
    let base = std::fs::read_to_string(config(&dir)).unwrap();
    let cfg = dir.write(
        "unpriced.toml",
        &format!("pricing_dir = \"{}\"\n{base}", empty.display()),
    );
    let start = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let (ok, _, err) = run(cfg.to_str().unwrap(), &["add", "--start", &start, "--duration", "1h"]);
    assert!(!ok && err.contains("no <region>.toml price tables"), "{err}");
    use costd::store::Store;
    let store = costd::store::sqlite::SqliteStore::open(&dir.0.join("w.db")).unwrap();
    assert!(store.windows(true).unwrap().is_empty(), "nothing was stored");
}

#[test]
fn projection_of_a_past_month_is_all_actual() {
    let dir = TempDir::new("projection-cli");
    let cfg = config(&dir);
    let out = costd(&["projection", "--config", &cfg, "--month", "2026-02", "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = &v["projection"];
    // February 2026 in UTC: 672 h, all elapsed. ap-southeast-1, endpoints_only:
    // 3 endpoints × 2 AZs × 672 h = 4,032 AZ-h × 0.013 = 52.416; 255 GB × 0.01 = 2.55 → 54.966.
    // Monitoring: 8 metrics × 0.30 = 2.40; 3 alarms × 0.10 = 0.30; 45 × 0.01 = 0.45 → 3.15.
    // No ALB lifetimes in the ledger: 0. Total 58.116, all of it actual.
    assert_eq!(
        (p["hours_in_month"].as_str(), p["elapsed_hours"].as_str()),
        (Some("672"), Some("672"))
    );
    assert_eq!(p["components"][0]["component"], "network");
    assert_eq!(p["components"][0]["actual_usd"], "54.966");
    assert_eq!(p["components"][2]["projected_usd"], "3.15");
    assert_eq!(
        (p["month_to_date_usd"].as_str(), p["projected_usd"].as_str()),
        (Some("58.116"), Some("58.116"))
    );
    // The budget ($100; forecast 80 % = $80) is not crossed.
    assert_eq!(v["budgets"][0]["state"], "OK");
    let bad = costd(&["projection", "--config", &cfg, "--month", "2026-13"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected YYYY-MM"));
}

/// Exit status 2 when the caller's input is at fault, 1 when something fails at run time.
#[test]
fn exit_status_tells_usage_errors_from_runtime_failures() {
    let dir = TempDir::new("windows-cli-exit");
    let cfg = config(&dir);
    let code = |args: &[&str]| {
        let mut all = vec!["windows", "--config", cfg.as_str()];
        all.extend_from_slice(args);
        costd(&all).status.code()
    };
    assert_eq!(
        code(&["add", "--start", "tomorrow", "--duration", "1h"]),
        Some(2),
        "a bad flag value"
    );
    assert_eq!(code(&["cancel", "7"]), Some(2), "an unknown id");
    assert_eq!(code(&["frobnicate"]), Some(2), "clap's own usage error");
    assert_eq!(
        costd(&["windows", "--config", "/nonexistent/costd.toml", "list"])
            .status
            .code(),
        Some(2),
        "a config that cannot be read"
    );
    // The store path is a directory: the store cannot be opened, a runtime failure.
    let src = std::fs::read_to_string(&cfg).unwrap();
    let broken = dir.write(
        "broken.toml",
        &src.replace(&dir.0.join("w.db").display().to_string(), &dir.0.display().to_string()),
    );
    let out = costd(&["windows", "--config", broken.to_str().unwrap(), "list"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Ops add windows from a shell that does not hold the daemon's secrets:
/// `costd windows` (and `costd projection`) run without the tokens' and
/// webhooks' environment variables; `costd check` and `costd serve` still
/// refuse, naming the variable.
#[test]
fn windows_runs_without_the_daemons_secrets_and_check_names_them() {
    let dir = TempDir::new("windows-secrets");
    let cfg = config(&dir);
    let with_secrets = format!(
        "{}\n[[web.tokens]]\nname = \"ops\"\nrole = \"operator\"\ntoken_env = \"COSTD_TEST_UNSET_TOKEN\"\n\n\
         [[webhooks]]\nurl_env = \"COSTD_TEST_UNSET_HOOK\"\nsecret_env = \"COSTD_TEST_UNSET_SECRET\"\n",
        std::fs::read_to_string(&cfg).unwrap()
    );
    let cfg = dir.write("secrets.toml", &with_secrets).display().to_string();
    let (ok, out, err) = run(&cfg, &["add", "--start", "now", "--duration", "1h"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("added window 1"), "{out}");
    assert!(run(&cfg, &["list"]).0);
    let projection = costd(&["projection", "--config", &cfg]);
    assert!(
        projection.status.success(),
        "{}",
        String::from_utf8_lossy(&projection.stderr)
    );
    let check = costd(&["check", "--config", &cfg]);
    assert_eq!(check.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&check.stdout)
            .contains("`webhooks[0].url_env`: environment variable COSTD_TEST_UNSET_HOOK is not set"),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let serve = costd(&["serve", "--config", &cfg]);
    assert_eq!(serve.status.code(), Some(2), "bad config: a usage error");
    assert!(String::from_utf8_lossy(&serve.stderr).contains("COSTD_TEST_UNSET_HOOK"));
}

/// `--store` and `--listen` override the config: `costd windows --store` writes
/// the file named, and `costd serve` on the embedded defaults serves on the
/// address given and reads that store.
#[test]
fn the_store_and_listen_flags_override_the_config() {
    let dir = TempDir::new("store-listen-flags");
    let store = dir.0.join("flags.db");
    let store = store.to_str().unwrap();
    let out = costd(&["windows", "--store", store, "add", "--start", "now", "--duration", "1h"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = costd(&["windows", "--store", store, "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("Stored windows ({store})")));
    let port = crate::helpers::free_port();
    let listen = format!("127.0.0.1:{port}");
    let log = dir.0.join("serve.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_costd"))
        .args(["serve", "--store", store, "--listen", &listen])
        .current_dir(&dir.0)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = listen.parse().unwrap();
    crate::helpers::wait_for(20, "the daemon on --listen", || {
        crate::helpers::http(addr, "GET", "/healthz", &[], "")
            .ok()
            .filter(|(s, _)| *s == 200)
    });
    // It reconciles the window from --store (dry-run: it would create the ALB now).
    let logs = crate::helpers::wait_for(20, "the plan", || {
        let l = std::fs::read_to_string(&log).unwrap_or_default();
        // `windows=w1`, or `windows=cfg0@…,w1` while a recurring window of the
        // defaults is open too.
        let planned = l.lines().any(|line| {
            line.split_whitespace()
                .filter_map(|f| f.strip_prefix("windows="))
                .any(|ids| ids.split(',').any(|id| id == "w1"))
        });
        planned.then_some(l)
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(logs.contains(&format!("store={store}")), "{logs}");
    let bad = costd(&["serve", "--store", "postgres://costd:pw@db/costd"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("password"));
}
