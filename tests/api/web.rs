//! The HTTP API and dashboard through `spawn_app()`: the real daemon in
//! process (port 0, a temp SQLite file, moto as ELBv2), every route, both
//! roles, and bad input.

use std::net::SocketAddr;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::client::{Api, csrf_of};
use crate::helpers::{Moto, TempDir, wait_for};

pub const VIEWER: &str = "viewer-token-0123456789";
pub const OPERATOR: &str = "operator-token-0123456789";

/// A running daemon with its web server.
pub struct TestApp {
    pub addr: SocketAddr,
    api: Api,
    _rt: tokio::runtime::Runtime,
    shutdown: CancellationToken,
    _moto: Moto,
    _dir: TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Starts the daemon (moto for ELBv2, CloudWatch off) with a viewer and an operator token.
pub fn spawn_app(name: &str, edit: &dyn Fn(String) -> String) -> TestApp {
    let dir = TempDir::new(name);
    let moto = Moto::start();
    let store = dir.0.join("costd.db");
    let head = crate::helpers::DaemonToml {
        name: "web",
        deployment_extra: "",
        aws: &format!("endpoint_url = \"{}\"", moto.url),
        store: &store,
        tg_extra: "",
    }
    .head(&moto);
    let src = format!(
        r#"{head}
[schedule]
lead_minutes = 0
grace_minutes = 0
max_window_hours = 4
# The tests book windows in 2030, beyond the default 366 days ahead.
max_days_ahead = 3660
blackout_dates = ["2030-01-01"]

# Windows opening "now" bill the same hours whatever the minute (the clock-hour
# rule is tested on fixed dates).
[billing]
partial_hour = "lifetime"

[[budgets]]
name = "networking"
monthly_usd = 100
thresholds = [{{ type = "forecast", percent = 80 }}]

[web]
listen = "127.0.0.1:0"
public_dashboard = false
max_body_bytes = 4096

[[web.tokens]]
name = "finance"
role = "viewer"
token = "{VIEWER}"

[[web.tokens]]
name = "ops"
role = "operator"
token = "{OPERATOR}"
"#
    );
    let src = edit(src);
    // Written out too, so the command line can work on the same config and store.
    dir.write("test.toml", &src);
    let cfg = costd::config::Config::parse("test.toml", &src, std::path::Path::new(".")).unwrap();
    // The SDK reads credentials from the environment; the emulator accepts any.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let shutdown = CancellationToken::new();
    let daemon = rt.block_on(async {
        temp_env_credentials();
        costd::daemon::Daemon::build(cfg).await.unwrap()
    });
    let addr = daemon.web_address().unwrap();
    rt.spawn(daemon.run_until_stopped(shutdown.clone()));
    let app = TestApp {
        addr,
        api: Api { addr },
        _rt: rt,
        shutdown,
        _moto: moto,
        _dir: dir,
    };
    wait_for(20, "readiness", || (app.readyz(None).0 == 200).then_some(()));
    app
}

fn temp_env_credentials() {
    // SAFETY: set once, before any SDK client of this process reads them; every test sets the same values.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
}

impl TestApp {
    /// The app's directory (its `test.toml` and store).
    pub fn dir(&self) -> &std::path::Path {
        &self._dir.0
    }
}

impl std::ops::Deref for TestApp {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

#[test]
fn health_readiness_openapi_and_metrics() {
    let app = spawn_app("web-health", &|s| s);
    assert_eq!(app.healthz(), (200, "ok\n".to_string()));
    assert_eq!(app.readyz(None).0, 200);
    let (s, body) = app.openapi();
    assert_eq!(s, 200);
    let doc: Value = serde_json::from_str(&body).unwrap();
    for p in [
        "/api/v1/projection",
        "/api/v1/windows",
        "/api/v1/windows/{id}",
        "/api/v1/model",
        "/api/v1/reconcile",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} documented");
    }
    assert_eq!(
        app.metrics(None).0,
        401,
        "metrics need a token unless the dashboard is public"
    );
    wait_for(20, "the first projection", || {
        let (_, m) = app.metrics(Some(VIEWER));
        m.contains("costd_projected_spend_usd{component=\"all\"}").then_some(())
    });
    let (_, m) = app.metrics(Some(VIEWER));
    for needle in [
        "costd_reconcile_runs_total",
        "costd_reconcile_errors_total",
        "costd_alb_state{state=\"absent\"} 1",
        "costd_aws_call_duration_seconds_count{operation=\"DescribeLoadBalancers\"}",
        "costd_budget_alarm{threshold=\"networking/forecast/80\"}",
    ] {
        assert!(m.contains(needle), "{needle} in\n{m}");
    }
    // A strict OpenMetrics parser (Python's prometheus_client) accepts the
    // whole exposition: each family in one block, `# EOF` at the end.
    let families = python_check(
        "from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse\n\
         import sys\n\
         names = [f.name for f in parse(sys.stdin.read())]\n\
         assert len(names) == len(set(names)), names\n\
         print(' '.join(sorted(names)))",
        &m,
    );
    for family in [
        "costd_projected_spend_usd",
        "costd_month_to_date_spend_usd",
        "costd_reconcile_errors",
        "costd_aws_call_duration_seconds",
    ] {
        assert!(families.split(' ').any(|f| f == family), "{family} in {families}");
    }
    // /openapi.json is a valid OpenAPI 3.1 document (openapi-spec-validator).
    python_check(
        "import json, sys\n\
         from openapi_spec_validator import validate\n\
         validate(json.loads(sys.stdin.read()))\n\
         print('valid')",
        &body,
    );
}

/// Runs a Python check from the checkers venv on `input`; panics with its
/// error output when it fails, returns its output.
pub fn python_check(script: &str, input: &str) -> String {
    use std::io::Write;
    let python = crate::helpers::emulator_bin("checkers", "python");
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "the check failed:\n{stderr}\n--- input ---\n{input}"
    );
    stdout.trim().to_string()
}

#[test]
fn reads_need_a_token_and_viewers_cannot_write() {
    let app = spawn_app("web-roles", &|s| s);
    for path in [
        "/api/v1/projection",
        "/api/v1/windows",
        "/api/v1/ledger",
        "/api/v1/budgets",
        "/api/v1/pricing",
        "/api/v1/alb",
    ] {
        let (s, b) = app.json("GET", path, None, "");
        assert_eq!(s, 401, "{path}");
        assert_eq!(b["error"], "unauthorized");
        assert_eq!(app.json("GET", path, Some("not-a-token-at-all"), "").0, 401, "{path}");
        assert_eq!(app.json("GET", path, Some(VIEWER), "").0, 200, "{path}");
        assert_eq!(app.json("GET", path, Some(OPERATOR), "").0, 200, "{path}");
    }
    let body = r#"{"start":"now","duration":"1h"}"#;
    assert_eq!(app.add_window(None, body).0, 401);
    let (s, b) = app.add_window(Some(VIEWER), body);
    assert_eq!(s, 403);
    assert!(b["message"].as_str().unwrap().contains("needs an operator"), "{b}");
    assert_eq!(app.cancel_window(Some(VIEWER), "1").0, 403);
    assert_eq!(app.reconcile(Some(VIEWER)).0, 403);
    // Nothing was written by the refused requests.
    let (_, w) = app.windows(Some(VIEWER));
    assert_eq!(w["windows"].as_array().unwrap().len(), 0);
}

/// Per clock hour (the daemon's default): the estimate names the UTC clock hours a
/// window's lifetime touches and what saves one; the projection and the dashboard say
/// which rule their figures use.
#[test]
fn per_clock_hour_the_estimate_names_the_hours_and_every_figure_names_the_rule() {
    let app = spawn_app("web-clock-hour", &|s| {
        with_lead_and_grace(s).replace("partial_hour = \"lifetime\"", "partial_hour = \"clock_hour\"")
    });
    let (s, w) = app.add_window(
        Some(OPERATOR),
        r#"{"start":"2030-02-01 10:00","end":"2030-02-01 13:00","note":"board demo"}"#,
    );
    assert_eq!(s, 201, "{w}");
    // UTC: 09:55–13:05 touches 09, 10, 11, 12 and 13: 5 clock hours (the window alone, 3).
    // Ending 5 min earlier (09:55–13:00) touches 4: one hour less, $0.0225 + 300 s of IPv4.
    let est = &w["alb_cost"]["estimate"];
    assert_eq!(
        (
            est["billed_hours"].as_i64(),
            est["partial_hour"].as_str(),
            est["clock_hours_utc"].as_str()
        ),
        (Some(5), Some("clock_hour"), Some("09:00–14:00 UTC"))
    );
    assert_eq!(
        (
            est["extra_hour"]["shorten_by_minutes"].as_i64(),
            est["extra_hour"]["billed_hours_without"].as_i64()
        ),
        (Some(5), Some(4))
    );
    assert!(
        w["alb_cost"]["note"]
            .as_str()
            .unwrap()
            .contains("touches 5 clock hours"),
        "{w}"
    );
    let (s, p) = app.projection(Some(VIEWER), None);
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["projection"]["partial_hour"], "clock_hour", "{p}");
    let (_, page) = app.dashboard(Some(VIEWER));
    assert!(
        page.contains("every UTC clock hour a lifetime touches billed as a full hour"),
        "{page}"
    );
}

/// The config's recurring windows show as their coming occurrences (14 days),
/// each with its cost on its own, not as a count.
#[test]
fn the_configs_windows_are_listed_for_the_next_two_weeks_with_their_cost() {
    let app = spawn_app("web-coming", &|s| {
        format!("{s}\n[[schedule.windows]]\ncron = \"0 9 * * *\"\nduration = \"1h\"\ntimezone = \"UTC\"\n")
    });
    let (s, page) = app.dashboard(Some(VIEWER));
    assert_eq!(s, 200);
    let rows: Vec<&str> = page.split("<tr class=\"window recurring\">").skip(1).collect();
    // One a day for 14 days, plus today's while it has not ended.
    assert!((14..=15).contains(&rows.len()), "{}", rows.len());
    // Each alone (lead and grace 0, lifetime rule): 1 billed h × $0.0225 + 2 public IPv4
    // addresses × 1 h × $0.005 = $0.0325 → $0.03.
    assert!(rows.iter().all(|r| r.contains("<td>1 h · $0.03</td>")), "{}", rows[0]);
    assert!(rows[0].starts_with("<td>cfg0@"), "{}", rows[0]);
    assert!(!page.contains("recurring window(s) from the config"));
}

/// The ledger's latest lifetimes with their billed hours and cost, the
/// downloads, and the line items as CSV adding up to the projection.
#[test]
fn the_ledger_and_the_downloads_agree_with_the_api() {
    use costd::store::Store;
    let app = spawn_app("web-ledger", &|s| s);
    let now = chrono::Utc::now();
    {
        let store = costd::store::sqlite::SqliteStore::open(&app.dir().join("costd.db")).unwrap();
        let mut l = store
            .insert_lifetime(&costd::store::NewLifetime {
                deployment: "web".into(),
                name: "web-demo-ledger".into(),
                window_ids: vec!["w1".into()],
                reason: costd::store::LifetimeReason::Window,
                reason_detail: String::new(),
                dry_run: false,
                created_at: now - chrono::Duration::minutes(180),
            })
            .unwrap();
        l.lb_arn =
            Some("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web-demo-ledger/1".into());
        l.deleted_at = Some(now - chrono::Duration::minutes(110));
        store.update_lifetime(&l).unwrap();
    }
    let (s, page) = app.dashboard(Some(VIEWER));
    assert_eq!(s, 200);
    let ledger = crate::client::section(&page, "ledger");
    // 70 minutes, counted from its start (this app bills per lifetime): 2 h × $0.0225 = $0.045,
    // plus 2 public IPv4 addresses × 4,200 s × $0.005/h / 3,600 = $0.011667: $0.056667 → $0.06.
    assert!(
        ledger.contains("<td>web-demo-ledger</td>")
            && ledger.contains("<td>window</td><td class=n>2</td><td class=n>$0.06</td>"),
        "{ledger}"
    );
    let month = now.format("%Y-%m").to_string();
    assert!(
        page.contains(&format!("<a href=\"/api/v1/projection/items.csv?month={month}\">")),
        "downloads"
    );
    assert!(page.contains(&format!("<a href=\"/api/v1/export?month={month}\">")));

    // The daemon re-projects once it notices the store changed.
    let csv = wait_for(30, "the lifetime in the projection", || {
        let (s, csv) = app.request(
            "GET",
            &format!("/api/v1/projection/items.csv?month={month}"),
            Some(VIEWER),
            "text/plain",
            "",
        );
        assert_eq!(s, 200, "{csv}");
        csv.contains("\r\nalb,actual,").then_some(csv)
    });
    let mut lines = csv.split("\r\n").filter(|l| !l.is_empty());
    assert_eq!(
        lines.next().unwrap(),
        "component,basis,item,quantity,unit,rate_usd,cost_usd,usage_type,rate_source,quantity_source"
    );
    let rows: Vec<Vec<String>> = lines
        .map(|l| {
            // Items may hold quoted commas; split outside quotes.
            let mut out = vec![String::new()];
            let mut quoted = false;
            for c in l.chars() {
                match c {
                    '"' => quoted = !quoted,
                    ',' if !quoted => out.push(String::new()),
                    c => out.last_mut().unwrap().push(c),
                }
            }
            out
        })
        .collect();
    let hours = rows
        .iter()
        .find(|r| r[0] == "alb" && r[1] == "actual" && r[4] == "hour")
        .unwrap_or_else(|| panic!("the ledger's ALB hours: {csv}"));
    assert_eq!(hours[3], "2");
    let actual: rust_decimal::Decimal = rows
        .iter()
        .filter(|r| r[1] == "actual")
        .map(|r| r[6].parse::<rust_decimal::Decimal>().unwrap())
        .sum();
    let (_, p) = app.projection(Some(VIEWER), Some(&month));
    let mtd: rust_decimal::Decimal = p["projection"]["month_to_date_usd"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        actual.round_dp(10),
        mtd.round_dp(10),
        "the line items add up to the projection"
    );
    let (s, _) = app.request("GET", "/api/v1/projection/items.csv", None, "text/plain", "");
    assert_eq!(s, 401);
}

/// The NAT-vs-endpoints verdict is text with `<code>`, never raw Markdown backticks.
#[test]
fn the_network_verdict_renders_code_not_backticks() {
    let app = spawn_app("web-verdict", &|s| s);
    let (s, page) = app.dashboard(Some(VIEWER));
    assert_eq!(s, 200);
    let network = crate::client::section(&page, "network");
    assert!(!network.contains('`'), "{network}");
    let verdict = network.split("<p id=recommendation>").nth(1).unwrap();
    assert!(
        verdict.starts_with("<code>endpoints_only</code> is the cheapest"),
        "{verdict}"
    );
}

/// `GET /api/v1/export`: FOCUS CSV for a viewer, as a download; nobody else.
#[test]
fn the_focus_export_is_a_viewers_csv_download() {
    let app = spawn_app("web-export", &|s| s);
    let (s, body) = app.request("GET", "/api/v1/export?month=2030-01", Some(VIEWER), "text/plain", "");
    assert_eq!(s, 200, "{body}");
    assert!(
        body.starts_with("BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,"),
        "{body}"
    );
    assert!(body.contains("2030-01-01T00:00:00Z,2030-02-01T00:00:00Z"), "{body}");
    // January 2030 lies ahead: every row is projected, nothing billed yet.
    assert!(body.lines().skip(1).all(|l| l.contains(",projected,")), "{body}");
    let (s, _) = app.request("GET", "/api/v1/export?month=2030-01", None, "text/plain", "");
    assert_eq!(s, 401);
    let (s, _) = app.request("GET", "/api/v1/export?month=2030-13", Some(VIEWER), "text/plain", "");
    assert_eq!(s, 422, "a bad month, as for the projection");
}

/// `[billing] check_cron`: the daemon checks the bill against Cost Explorer
/// (moto) and `GET /api/v1/bill` serves the last check; a firing missed
/// before the start is made up at once. Without it, no check runs. The
/// projection job keeps the day's projection for the bill's error report.
#[test]
fn the_daemon_checks_the_bill_when_scheduled_and_serves_the_last_check() {
    let off = spawn_app("web-bill-off", &|s| s);
    let (s, body) = off.json("GET", "/api/v1/bill", Some(VIEWER), "");
    assert_eq!(s, 404, "{body}");
    assert!(body["message"].as_str().unwrap().contains("check_cron"), "{body}");

    // 00:00 UTC every day has always passed: a fresh daemon has missed it and checks at once.
    let app = spawn_app("web-bill", &|s| {
        s.replace(
            "partial_hour = \"lifetime\"",
            "partial_hour = \"lifetime\"\ncheck_cron = \"0 0 * * *\"",
        )
    });
    let (s, _) = app.json("GET", "/api/v1/bill", None, "");
    assert_eq!(s, 401, "viewers only");
    let checks = wait_for(30, "the bill check", || {
        let (s, v) = app.json("GET", "/api/v1/bill", Some(VIEWER), "");
        (s == 200).then_some(v)
    });
    let now = chrono::Utc::now();
    let current = now.format("%Y-%m").to_string();
    let reports = checks["reports"].as_array().unwrap();
    assert!(!reports.is_empty(), "{checks:#}");
    for r in reports {
        // moto bills nothing under the tag, so costd says so and reads the usage types alone.
        assert_eq!(r["filtered_by_tag"], false, "{r:#}");
        assert!(r["warnings"].to_string().contains("activate the tag"), "{r:#}");
        assert_eq!(r["configured_rule"], "lifetime");
        assert!(r["requests_made"].as_u64().unwrap() >= 2, "{r:#}");
        assert!(r["projection_error"]["summary"].is_string(), "{r:#}");
    }
    // The current month, unless today is its first day (nothing whole to compare yet).
    if chrono::Datelike::day(&now) > 1 {
        assert!(reports.iter().any(|r| r["month"] == current.as_str()), "{checks:#}");
    }
    // The projection job kept today's projection of the month.
    let store = costd::store::sqlite::SqliteStore::open(&app.dir().join("costd.db")).unwrap();
    let days = wait_for(30, "the day's projection", || {
        let d = costd::store::Store::projection_days(&store, "web", &current).unwrap();
        (!d.is_empty()).then_some(d)
    });
    assert_eq!(days.last().unwrap().day, now.date_naive());
    assert_eq!(days.last().unwrap().partial_hour, "lifetime");
}

#[test]
fn operators_create_list_and_cancel_windows() {
    let app = spawn_app("web-windows", &|s| s);
    let (s, w) = app.add_window(
        Some(OPERATOR),
        r#"{"start":"now","duration":"30m","note":"board demo"}"#,
    );
    assert_eq!(s, 201, "{w}");
    assert_eq!(w["created_by"], "api:ops");
    // us-east-1, no lead or grace: 30 min → 1 billed hour × $0.0225, + 2 public IPv4 ×
    // $0.005/h for 1,800 s = $0.005; $0.0275, and no extra hour.
    let est = &w["alb_cost"]["estimate"];
    assert_eq!(
        (est["lifetime_minutes"].as_i64(), est["billed_hours"].as_i64()),
        (Some(30), Some(1))
    );
    let fixed: rust_decimal::Decimal = est["fixed_usd"].as_str().unwrap().parse().unwrap();
    assert_eq!(fixed, rust_decimal_macros::dec!(0.0275));
    assert!(est["extra_hour"].is_null(), "{est}");
    let id = w["id"].as_i64().unwrap();
    // The daemon acts on it: the ALB appears in moto, the API shows it.
    wait_for(20, "the ALB to be created", || {
        let (_, a) = app.alb(Some(VIEWER));
        (a["state"] == "active").then_some(())
    });
    let (_, list) = app.windows(Some(VIEWER));
    assert_eq!(list["windows"][0]["note"], "board demo");
    let (_, ledger) = app.ledger(Some(VIEWER), None);
    assert_eq!(ledger["lifetimes"][0]["windows"][0], format!("w{id}"));
    assert_eq!(app.reconcile(Some(OPERATOR)).0, 202);
    let (s, c) = app.cancel_window(Some(OPERATOR), &id.to_string());
    assert_eq!(s, 200, "{c}");
    assert!(c["cancelled_at"].is_string());
    wait_for(20, "the ALB to be deleted after the cancel", || {
        let (_, a) = app.alb(Some(VIEWER));
        (a["state"] == "absent").then_some(())
    });
    assert_eq!(app.cancel_window(Some(OPERATOR), &id.to_string()).0, 409);
    let (s, b) = app.cancel_window(Some(OPERATOR), "999");
    assert_eq!((s, b["error"].as_str()), (404, Some("not_found")));
    assert_eq!(app.cancel_window(Some(OPERATOR), "abc").1["field"], "id");
}

#[test]
fn bad_window_bodies_are_refused_with_the_field_and_change_nothing() {
    let app = spawn_app("web-bad", &|s| s);
    for (body, status, field, text) in [
        (
            r#"{"start":"2020-01-01T00:00:00Z","duration":"1h"}"#,
            422,
            "start",
            "starts in the past",
        ),
        (
            r#"{"start":"now","end":"2020-01-01T00:00:00Z"}"#,
            422,
            "end",
            "end after it starts",
        ),
        (
            r#"{"start":"now","duration":"5h"}"#,
            422,
            "end",
            "the most allowed is 4 h",
        ),
        (
            r#"{"start":"2030-01-01T10:00:00Z","duration":"1h"}"#,
            422,
            "end",
            "overlaps a blackout",
        ),
        (
            r#"{"start":"2030-02-01 10:00","duration":"1h","timezone":"Mars/Olympus"}"#,
            422,
            "timezone",
            "not an IANA time zone",
        ),
        (r#"{"start":"soon","duration":"1h"}"#, 422, "start", "is not a time"),
        (r#"{"start":"now","duration":"1w"}"#, 422, "duration", "unknown unit"),
        (r#"{"start":"now"}"#, 422, "end", "give `end` or `duration`"),
        (r#"{"duration":"1h"}"#, 422, "start", "missing field `start`"),
        (
            r#"{"start":"now","duration":"1h","colour":"red"}"#,
            422,
            "colour",
            "unknown field",
        ),
        (r#"{"start": "now", "duration": "1h""#, 400, "", "malformed JSON"),
        ("not json", 400, "", "malformed JSON"),
    ] {
        let (s, b) = app.add_window(Some(OPERATOR), body);
        assert_eq!(s, status, "{body}: {b}");
        if !field.is_empty() {
            assert_eq!(b["field"], field, "{body}: {b}");
        }
        assert!(b["message"].as_str().unwrap_or_default().contains(text), "{body}: {b}");
    }
    // Oversized body (limit 4096 bytes).
    let big = format!(r#"{{"start":"now","duration":"1h","note":"{}"}}"#, "x".repeat(5000));
    assert_eq!(app.add_window(Some(OPERATOR), &big).0, 413);
    let (_, w) = app.windows(Some(VIEWER));
    assert_eq!(w["windows"].as_array().unwrap().len(), 0, "nothing stored");
    assert_eq!(app.projection(Some(VIEWER), Some("2026-13")).1["field"], "month");
}

#[test]
fn projection_budgets_pricing_and_model() {
    let app = spawn_app("web-reads", &|s| s);
    let (s, p) = app.projection(Some(VIEWER), Some("2026-02"));
    assert_eq!(s, 200);
    // February 2026, us-east-1, endpoints_only from the embedded seed traffic, 672 h:
    // 3 × 2 × 672 = 4,032 AZ-h × 0.01 = 40.32 + 255 GB × 0.01 = 2.55 → 42.87 (all actual, the month is over).
    assert_eq!(p["projection"]["components"][0]["projected_usd"], "42.87");
    assert_eq!(p["budgets"][0]["key"], "networking/forecast/80");
    let (_, b) = app.budgets(Some(VIEWER));
    assert_eq!(b["budgets"][0]["name"], "networking");
    let (_, pr) = app.pricing(Some(VIEWER));
    assert_eq!(pr["table"]["nat_gateway"]["hour"]["usd"], "0.045");
    // POST a scenario: the `costd model --format json` result.
    let seed =
        std::fs::read_to_string(crate::helpers::repo().join("config/scenarios/seed-production-vpc.toml")).unwrap();
    let (s, m) = app.model(Some(VIEWER), &seed);
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["network"]["options"][0]["monthly_usd"], "59.49");
    let (s, e) = app.model(Some(VIEWER), &seed.replace("Asia/Singapore", "Asia/Nowhere"));
    assert_eq!(
        (s, e["field"].as_str()),
        (422, Some("load_balancer.schedule[0].timezone")),
        "{e}"
    );
}

#[test]
fn a_window_whose_lead_and_grace_add_an_hour_is_flagged_in_the_api_and_on_the_dashboard() {
    let app = spawn_app("web-extra-hour", &|s| with_lead_and_grace(s));
    // In two days: the dashboard lists the next 14 days' windows.
    let day = (chrono::Utc::now() + chrono::Duration::days(2)).date_naive();
    let (s, w) = app.add_window(
        Some(OPERATOR),
        &format!(r#"{{"start":"{day} 10:00","end":"{day} 13:00","note":"board demo"}}"#),
    );
    assert_eq!(s, 201, "{w}");
    // us-east-1: 3 h + 5 + 5 min = 190 min → 4 billed hours × $0.0225 = $0.09, + 2 public
    // IPv4 × $0.005/h × 190 min = $0.031666…; $0.121666… → $0.12. Ten minutes shorter:
    // 3 × $0.0225 + $0.03 = $0.0975, saving $0.024166… → $0.02.
    let est = &w["alb_cost"]["estimate"];
    assert_eq!(
        (est["lifetime_minutes"].as_i64(), est["billed_hours"].as_i64()),
        (Some(190), Some(4))
    );
    assert_eq!(est["extra_hour"]["billed_hours_without"], 3);
    assert_eq!(est["extra_hour"]["shorten_by_minutes"], 10);
    let saves: rust_decimal::Decimal = est["extra_hour"]["saves_usd"].as_str().unwrap().parse().unwrap();
    assert_eq!(saves.round_dp(4), rust_decimal_macros::dec!(0.0242));
    assert!(
        w["alb_cost"]["note"]
            .as_str()
            .unwrap()
            .contains("push it into billed hour 4"),
        "{w}"
    );
    let (s, page) = app.dashboard(Some(VIEWER));
    assert_eq!(s, 200);
    assert!(
        page.contains("4 h · $0.12 <span class=extra-hour>lead + grace add an hour: 10 min shorter saves $0.02</span>"),
        "{page}"
    );
}

#[test]
fn a_signed_in_session_survives_a_restart_follows_the_config_and_ends_on_sign_out() {
    // Three daemons in turn on one store file.
    let shared = TempDir::new("web-session-store");
    let db = shared.0.join("sessions.db");
    let on_shared_store = |s: String| -> String {
        s.lines()
            .map(|l| {
                if l.starts_with("path = ") {
                    format!("path = \"{}\"", db.display())
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (session, csrf) = {
        let app = spawn_app("web-session-1", &on_shared_store);
        let session = app.sign_in(OPERATOR);
        let (st, body) = session.page();
        assert_eq!(st, 200);
        (session, csrf_of(&body))
    };
    // The daemon restarted: the same cookie still signs in, with the same CSRF token.
    let app = spawn_app("web-session-2", &on_shared_store);
    let (st, body) = session.at(app.addr).page();
    assert_eq!(st, 200, "{body}");
    assert_eq!(csrf_of(&body), csrf);
    assert!(body.contains("Book a window"), "an operator's forms");
    drop(app);
    // The operator token renamed: same secret, same session.
    let app = spawn_app("web-session-3", &|s| {
        on_shared_store(s).replace("name = \"ops\"", "name = \"ops-2\"")
    });
    assert_eq!(session.at(app.addr).page().0, 200, "renamed, not rotated");
    drop(app);
    // Demoted to viewer: the session reads but loses the operator's forms.
    let app = spawn_app("web-session-3b", &|s| {
        on_shared_store(s).replace("role = \"operator\"", "role = \"viewer\"")
    });
    let (st, body) = session.at(app.addr).page();
    assert!(st == 200 && !body.contains("Book a window"), "{st}");
    drop(app);
    // Its secret rotated in the config: the sessions opened with the old one end.
    let app = spawn_app("web-session-4", &|s| {
        on_shared_store(s).replace(
            &format!("token = \"{OPERATOR}\""),
            "token = \"another-operator-secret-0123\"",
        )
    });
    assert_eq!(session.at(app.addr).page().0, 401, "rotated: signed out");
    drop(app);
    // Signing out ends a session for good.
    let app = spawn_app("web-session-5", &on_shared_store);
    let session = app.sign_in(OPERATOR);
    assert_eq!(session.sign_out(&session.csrf()), 303);
    assert_eq!(session.page().0, 401, "signed out");
}

#[test]
fn the_dashboard_needs_a_sign_in_unless_public() {
    let app = spawn_app("web-page", &|s| s);
    let (s, body) = app.dashboard(None);
    assert_eq!(s, 401);
    assert!(body.contains("name=token"), "a sign-in form");
    let (s, body) = app.dashboard(Some(VIEWER));
    assert_eq!(s, 200);
    assert!(body.contains("id=banner") && body.contains("id=timeline"), "{body}");
    // Signing in sets an HttpOnly, SameSite cookie; a form POST without the CSRF token is refused.
    let session = app.sign_in(OPERATOR);
    assert!(
        session.set_cookie.contains("HttpOnly") && session.set_cookie.contains("SameSite=Strict"),
        "{}",
        session.set_cookie
    );
    assert_eq!(
        session.add_window("wrong", "start=now&duration=1h").0,
        403,
        "wrong CSRF token"
    );
    let csrf = session.csrf();
    let (st, _) = session.add_window(&csrf, "start=now&duration=1h&note=from+the+page");
    assert_eq!(st, 303, "redirect back to the page");
    let (_, page) = session.page();
    assert!(page.contains("from the page"), "the new window is on the page");
    // Cancel it from the page, then sign out; the old session no longer works.
    let id = page
        .split("/ui/windows/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(session.cancel_window(&csrf, &id).0, 303);
    let (_, page) = session.page();
    assert!(!page.contains("from the page"), "cancelled windows leave the page");
    // The token itself never reaches the page.
    assert!(!page.contains(OPERATOR));
    assert_eq!(session.sign_out(&csrf), 303);
    assert_eq!(session.page().0, 401, "signed out");
}

/// The command line, the API and the dashboard's form add a window through
/// one use case: the same bad window gets the same refusal from all three,
/// naming the same field, and none of them stores it.
#[test]
fn the_same_bad_window_gets_the_same_refusal_from_the_cli_the_api_and_the_dashboard() {
    let app = spawn_app("web-one-path", &|s| s);
    let cfg = app.dir().join("test.toml");
    let session = app.sign_in(OPERATOR);
    let csrf = session.csrf();
    for (start, duration, field, words) in [
        ("2020-01-01T09:00:00Z", "1h", "start", "starts in the past"),
        ("now", "5h", "end", "the most allowed is 4 h"),
        ("now", "1w", "duration", "unknown unit `w`"),
        ("+10000-06-01 00:00", "1h", "start", "1970 to 9999"),
    ] {
        // The API: 422 naming the field.
        let body = serde_json::json!({ "start": start, "duration": duration }).to_string();
        let (s, api) = app.add_window(Some(OPERATOR), &body);
        assert_eq!((s, api["field"].as_str()), (422, Some(field)), "{api}");
        let message = api["message"].as_str().unwrap().to_string();
        assert!(message.contains(words), "{message}");
        // The CLI: the same message after the flag for the same field.
        let out = crate::helpers::costd(&[
            "windows",
            "--config",
            cfg.to_str().unwrap(),
            "add",
            "--start",
            start,
            "--duration",
            duration,
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(
            err.contains(&format!("--{field}: {message}")),
            "{err}\nvs API: {message}"
        );
        // The dashboard's form: the page again, the same message beside the
        // field (the form has no `end`: its errors are about the duration),
        // what was typed kept.
        let fields = format!(
            "start={}&duration={duration}&action=book",
            start.replace('+', "%2B").replace(' ', "+")
        );
        let (s, page) = session.add_window(&csrf, &fields);
        assert_eq!(s, 422, "{page}");
        let form_field = if field == "end" { "duration" } else { field };
        assert!(
            page.contains(&format!(
                "<span class=error id=book-{form_field}-error>{}</span>",
                html_escape(&message)
            )),
            "{message} beside {form_field}: {page}"
        );
        assert!(
            page.contains(&format!(
                "<input id=book-{form_field} name={form_field} value=\"{}\" aria-invalid=true",
                html_escape(if form_field == "start" { start } else { duration })
            )),
            "{page}"
        );
    }
    let (_, list) = app.windows(Some(VIEWER));
    assert!(list["windows"].as_array().unwrap().is_empty(), "nothing stored: {list}");
}

/// Text as the dashboard escapes it.
fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The dashboard's form prices a window before booking it (the same figures
/// as `POST /api/v1/windows/quote`, nothing stored), then books it and says
/// what it costs.
#[test]
fn the_booking_form_previews_the_price_then_books() {
    let app = spawn_app("web-booking", &|s| with_lead_and_grace(s));
    let session = app.sign_in(OPERATOR);
    let csrf = session.csrf();
    let fields = "start=2030-02-01+10%3A00&duration=3h&note=board+demo";
    let (s, page) = session.add_window(&csrf, &format!("{fields}&action=preview"));
    assert_eq!(s, 200, "{page}");
    // us-east-1: 3 h + 5 + 5 min = 190 min → 4 billed hours × $0.0225 = $0.09, + 2 public
    // IPv4 × $0.005/h × 190 min = $0.031666…; $0.121666… → $0.12. Ten minutes shorter:
    // 3 h × $0.0225 + 2 × $0.005 × 180 min = $0.0675 + $0.03 = $0.0975, saving $0.024166… → $0.02.
    let quote = page
        .split("<div id=quote class=quote>")
        .nth(1)
        .unwrap_or_else(|| panic!("a price preview: {page}"))
        .split("</div>")
        .next()
        .unwrap();
    assert!(quote.contains("runs 190 min with lead and grace"), "{quote}");
    assert!(quote.contains("<span id=quote-hours>4</span> billed h"), "{quote}");
    assert!(quote.contains("<span id=quote-usd>$0.12</span>"), "{quote}");
    assert!(
        quote.contains("a window 10 min shorter bills 3 h and saves $0.02"),
        "{quote}"
    );
    assert!(quote.contains("Not booked yet"), "{quote}");
    // The typed values stay in the form; nothing is stored.
    assert!(page.contains("name=note value=\"board demo\""), "{page}");
    let (_, list) = app.windows(Some(VIEWER));
    assert!(
        list["windows"].as_array().unwrap().is_empty(),
        "a preview stores nothing: {list}"
    );
    // The API's quote: the same figures, for a viewer too.
    let (s, q) = app.json(
        "POST",
        "/api/v1/windows/quote",
        Some(VIEWER),
        r#"{"start":"2030-02-01 10:00","duration":"3h","note":"board demo"}"#,
    );
    assert_eq!(s, 200, "{q}");
    let est = &q["alb_cost"]["estimate"];
    assert_eq!(
        (est["billed_hours"].as_i64(), est["lifetime_minutes"].as_i64()),
        (Some(4), Some(190))
    );
    assert_eq!(est["extra_hour"]["shorten_by_minutes"], 10);
    let (s, e) = app.json(
        "POST",
        "/api/v1/windows/quote",
        Some(VIEWER),
        r#"{"start":"now","duration":"9h"}"#,
    );
    assert_eq!((s, e["field"].as_str()), (422, Some("end")), "{e}");
    let (s, _) = app.json(
        "POST",
        "/api/v1/windows/quote",
        None,
        r#"{"start":"now","duration":"1h"}"#,
    );
    assert_eq!(s, 401, "signed in only");
    // Booking: back to the page, which confirms it with its cost.
    let (s, _) = session.add_window(&csrf, &format!("{fields}&action=book"));
    assert_eq!(s, 303);
    let (_, list) = app.windows(Some(VIEWER));
    let id = list["windows"][0]["id"].as_i64().expect("booked");
    let (s, page) = session.get(&format!("/?booked={id}"));
    assert_eq!(s, 200);
    assert!(
        page.contains(&format!(
            "<p class=\"banner ok\" id=booked>Booked w{id}: Fri 01 Feb 10:00 → Fri 01 Feb 13:00, 4 billed h · $0.12 on its own.</p>"
        )),
        "{page}"
    );
    // An unknown action is refused and books nothing.
    let (s, _) = session.add_window(&csrf, &format!("{fields}&action=launch"));
    assert_eq!(s, 422);
    let (_, list) = app.windows(Some(VIEWER));
    assert_eq!(list["windows"].as_array().unwrap().len(), 1);
}

/// The test config with the daemon's default 5 min lead and 5 min grace.
fn with_lead_and_grace(s: String) -> String {
    s.replace(
        "lead_minutes = 0\ngrace_minutes = 0",
        "lead_minutes = 5\ngrace_minutes = 5",
    )
}
