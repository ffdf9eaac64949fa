//! `costd bill` against moto's Cost Explorer: results queued at
//! `/moto-api/static/ce/cost-and-usage-results`, requests read back from
//! moto's recorder to check what the SDK sent.

use std::io::Write;
use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Datelike, TimeZone, Utc};
use costd::store::{LifetimeReason, NewLifetime, ProjectionDay, Store};
use rust_decimal_macros::dec;
use serde_json::{Value, json};

use crate::helpers::{Moto, TempDir, http};

fn at(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, m, d, h, min, 0).unwrap()
}

/// A closed ALB lifetime in the ledger.
fn lifetime(store: &dyn Store, from: DateTime<Utc>, to: DateTime<Utc>) {
    let mut l = store
        .insert_lifetime(&NewLifetime {
            deployment: "bill".into(),
            name: "bill-demo-1".into(),
            window_ids: vec!["w1".into()],
            reason: LifetimeReason::Window,
            reason_detail: String::new(),
            dry_run: false,
            created_at: from,
        })
        .unwrap();
    l.lb_arn = Some(format!(
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/bill/{}",
        l.id
    ));
    l.deleted_at = Some(to);
    store.update_lifetime(&l).unwrap();
}

/// A Cost Explorer daily row of load balancer hours.
fn day(date: &str, next: &str, hours: u32) -> Value {
    json!({
        "TimePeriod": {"Start": date, "End": next},
        "Total": {},
        "Groups": [
            {"Keys": ["LoadBalancerUsage"], "Metrics": {
                "UsageQuantity": {"Amount": hours.to_string(), "Unit": "Hrs"},
                "UnblendedCost": {"Amount": format!("{:.4}", f64::from(hours) * 0.0225), "Unit": "USD"}}},
            {"Keys": ["LCUUsage"], "Metrics": {
                "UsageQuantity": {"Amount": "0.3", "Unit": "LCU-Hrs"},
                "UnblendedCost": {"Amount": "0.0024", "Unit": "USD"}}}
        ],
        "Estimated": false
    })
}

fn run(config: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    run_as(("test", "test"), config, args)
}

fn run_as((id, secret): (&str, &str), config: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_costd"))
        .args(["bill", "--config", config.to_str().unwrap()])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn the_bill_names_the_rule_and_apply_writes_it() {
    let dir = TempDir::new("bill");
    let recording = dir.0.join("moto-recording.jsonl");
    let moto = Moto::start_with_env(&[("MOTO_RECORDER_FILEPATH", recording.to_str().unwrap())]);
    let store_path = dir.0.join("costd.db");
    let head = crate::helpers::DaemonToml {
        name: "bill",
        deployment_extra: "",
        aws: &format!("endpoint_url = \"{}\"", moto.url),
        store: &store_path,
        tg_extra: "",
    }
    .head(&moto);
    let config = dir.write("costd.toml", &format!("{head}\n[schedule]\n"));
    {
        let store = costd::store::sqlite::SqliteStore::open(&store_path).unwrap();
        // November: two lifetimes 00:55–04:05 UTC (4 h per lifetime, 5 clock hours) and one
        // 01:00–04:00 (3 h either way). October: the same on the 5th and 6th.
        lifetime(&store, at(11, 2, 0, 55), at(11, 2, 4, 5));
        lifetime(&store, at(11, 3, 0, 55), at(11, 3, 4, 5));
        lifetime(&store, at(11, 4, 1, 0), at(11, 4, 4, 0));
        lifetime(&store, at(10, 5, 0, 55), at(10, 5, 4, 5));
        lifetime(&store, at(10, 6, 0, 55), at(10, 6, 4, 5));
        // What the daemon projected for October's load balancer on the 1st and the 20th,
        // and one projection of the month taken in Berlin time (not the bill's month).
        for (d, zone, usd) in [
            (1, "UTC", dec!(0.20)),
            (20, "UTC", dec!(0.1848)),
            (2, "Europe/Berlin", dec!(9)),
        ] {
            store
                .record_projection_day(&ProjectionDay {
                    deployment: "bill".into(),
                    month: "2026-10".into(),
                    timezone: zone.into(),
                    day: chrono::NaiveDate::from_ymd_opt(2026, 10, d).unwrap(),
                    at: at(10, d, 12, 0),
                    partial_hour: "clock_hour".into(),
                    month_to_date_usd: dec!(0),
                    projected_usd: usd,
                    alb_actual_usd: dec!(0),
                    alb_projected_usd: usd,
                })
                .unwrap();
        }
    }
    let moto_api = |path: &str, body: &str| {
        let (s, b) = http(moto.addr, "POST", path, &[("content-type", "application/json")], body).unwrap();
        assert!((200..300).contains(&s), "{path}: {s} {b}");
    };
    moto_api("/moto-api/recorder/start-recording", "");
    // Queued in the order costd asks: November with the tag filter (billed per clock hour:
    // 5, 5, 3); October with the tag filter (nothing: the tag is not activated), then
    // October without it (billed per lifetime: 4, 4).
    let results = json!({"results": [
        {"ResultsByTime": [
            day("2026-11-02", "2026-11-03", 5),
            day("2026-11-03", "2026-11-04", 5),
            day("2026-11-04", "2026-11-05", 3)
        ], "DimensionValueAttributes": []},
        {"ResultsByTime": [], "DimensionValueAttributes": []},
        {"ResultsByTime": [
            day("2026-10-05", "2026-10-06", 4),
            day("2026-10-06", "2026-10-07", 4)
        ], "DimensionValueAttributes": []}
    ]});
    moto_api("/moto-api/static/ce/cost-and-usage-results", &results.to_string());

    let (ok, out, err) = run(
        &config,
        &["--month", "2026-11", "--granularity", "daily", "--format", "json"],
    );
    assert!(ok, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["check"]["billed_by"], "clock_hour", "{v:#}");
    assert_eq!(v["filtered_by_tag"], true);
    assert_eq!(v["hours_usage_type"], "LoadBalancerUsage");
    // 5 + 5 + 3 billed; the ledger predicts 4 + 4 + 3 = 11 (lifetime) and 5 + 5 + 3 = 13 (clock hour).
    assert_eq!(v["check"]["billed_hours"], "13");
    assert_eq!(v["check"]["predicted_hours"]["lifetime"], 11);
    assert_eq!(v["check"]["predicted_hours"]["clock_hour"], 13);
    assert_eq!(v["check"]["distinguishing_periods"], 2);
    assert_eq!(v["totals_by_usage_type"]["LCUUsage"][0], "0.9");

    assert_eq!(v["requests_made"], 1);
    // Again within the hour: the store's copy answers; Cost Explorer (billed per request) is not asked.
    let (ok, out, err) = run(
        &config,
        &["--month", "2026-11", "--granularity", "daily", "--format", "json"],
    );
    assert!(ok, "{out}{err}");
    let again: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(again["requests_made"], 0);
    assert_eq!(again["fetched_at"], v["fetched_at"]);
    assert_eq!(again["check"], v["check"]);
    // What the SDK sent: daily, both metrics, grouped by usage type, filtered by the tag and the usage types.
    let (_, rec) = http(moto.addr, "GET", "/moto-api/recorder/download-recording", &[], "").unwrap();
    let calls: Vec<Value> = rec
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| {
            e["headers"]["X-Amz-Target"]
                .as_str()
                .is_some_and(|t| t.ends_with("GetCostAndUsage"))
        })
        .collect();
    assert_eq!(calls.len(), 1, "{rec}");
    // The recorder keeps a byte body base64-encoded.
    let raw = calls[0]["body"].as_str().unwrap();
    let raw = if calls[0]["body_encoded"] == true {
        String::from_utf8(aws_smithy_types::base64::decode(raw).unwrap()).unwrap()
    } else {
        raw.to_string()
    };
    let body: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(body["Granularity"], "DAILY", "{body:#}");
    // Whole days only: from the 1st to today (or the month's end, once it is over).
    let end = std::cmp::min(
        Utc::now().date_naive(),
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
    );
    assert_eq!(
        body["TimePeriod"],
        json!({"Start": "2026-11-01", "End": end.format("%Y-%m-%d").to_string()})
    );
    assert_eq!(body["Metrics"], json!(["UsageQuantity", "UnblendedCost"]));
    assert_eq!(body["GroupBy"], json!([{"Type": "DIMENSION", "Key": "USAGE_TYPE"}]));
    let and = body["Filter"]["And"].as_array().unwrap();
    assert_eq!(and[0]["Tags"], json!({"Key": "costd:deployment", "Values": ["bill"]}));
    assert_eq!(
        and[1]["Dimensions"],
        json!({"Key": "USAGE_TYPE", "Values": ["LoadBalancerUsage", "LCUUsage", "USE1-PublicIPv4:InUseAddress"]})
    );

    // October: the tag filter finds nothing, so costd says why and falls back to usage types;
    // the bill follows the lifetime rule, and --apply writes it into the config.
    let (ok, out, err) = run(&config, &["--month", "2026-10", "--apply"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("NOT filtered by deployment"), "{out}");
    assert!(out.contains("activate the tag in the Billing console"), "{out}");
    assert!(
        out.contains("billed 8 h, ledger predicts 8 h (lifetime) / 10 h (clock_hour)"),
        "{out}"
    );
    assert!(out.contains("the account is billed by `lifetime`"), "{out}");
    // The month's projection error: October billed 2 × (4 h × $0.0225 + $0.0024 LCU) = $0.1848.
    // Projected $0.20 on the 1st: +$0.0152 = +8.2 %; $0.1848 on the 20th: exact.
    assert!(
        out.contains(
            "projection error: billed $0.18 for the month; on 2026-10-01 it projected $0.20 (+$0.02, +8.2 %); \
             on 2026-10-20 it projected $0.18 (+$0.00, +0.0 %)"
        ),
        "{out}"
    );
    assert!(
        out.contains("1 kept projection(s) of 2026-10 took the month in another time zone"),
        "{out}"
    );
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(
        written.ends_with("[billing]\npartial_hour = \"lifetime\"\n"),
        "{written}"
    );
    assert!(written.starts_with(&head), "the rest of the file is kept");
}

/// Without Cost Explorer access the refusal names the IAM action to add.
#[test]
fn without_cost_explorer_access_the_action_to_add_is_named() {
    let moto = Moto::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    let dir = TempDir::new("bill-denied");
    // The policy `costd iam-policy` prints, without its optional statement.
    let mut policy: Value =
        serde_json::from_str(&String::from_utf8(crate::helpers::costd(&["iam-policy"]).stdout).unwrap()).unwrap();
    policy["Statement"]
        .as_array_mut()
        .unwrap()
        .retain(|s| !s["Sid"].as_str().unwrap().starts_with("Optional"));
    let (id, secret) = crate::helpers::moto_user_keys(&moto, "costd-no-bill", &policy.to_string());
    // Written by hand: with IAM enforced, looking up moto's default VPC would need permissions too.
    let config = dir.write(
        "costd.toml",
        &format!(
            "[deployment]\nname = \"bill\"\nregion = \"us-east-1\"\ntimezone = \"UTC\"\n\
             [aws]\nendpoint_url = \"{}\"\n[store]\npath = \"{}\"\n\
             [alb]\nname_prefix = \"bill-demo\"\nsubnets = [\"subnet-0a\", \"subnet-0b\"]\nsecurity_groups = []\n\
             [alb.target_group]\nvpc_id = \"vpc-0a\"\n[schedule]\n",
            moto.url,
            dir.0.join("costd.db").display()
        ),
    );
    let before = std::fs::read_to_string(&config).unwrap();
    let (ok, out, err) = run_as((&id, &secret), &config, &["--month", "2026-11", "--apply"]);
    assert!(!ok, "{out}");
    assert!(err.contains("ce:GetCostAndUsage"), "{err}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), before, "nothing changed");
}

/// `--max-age-hours` is bounded (0–168): a week at most, refused as a usage error beyond.
#[test]
fn the_cache_age_is_bounded() {
    let dir = TempDir::new("bill-bounds");
    let config = dir.write("costd.toml", "unused");
    for (age, ok) in [("0", true), ("168", true), ("169", false), ("-1", false)] {
        let flag = format!("--max-age-hours={age}");
        let out = crate::helpers::costd(&["bill", "--config", config.to_str().unwrap(), &flag, "--help"]);
        // --help wins once the flags parse; a bad value is refused first, with status 2.
        assert_eq!(
            out.status.success(),
            ok,
            "{age}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if !ok {
            assert_eq!(out.status.code(), Some(2), "{age}");
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("--max-age-hours"),
                "{age}"
            );
        }
    }
}

/// Cost Explorer in front of moto, refusing hourly requests as AWS does for
/// an account without hourly granularity (when `refuse_hourly`), and counting them.
struct HourlyGate {
    url: String,
    hourly_requests: Arc<AtomicUsize>,
}

impl HourlyGate {
    fn start(moto: std::net::SocketAddr, refuse_hourly: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hourly_requests = Arc::new(AtomicUsize::new(0));
        let seen = hourly_requests.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let (head, body) = crate::helpers::read_http_request(&mut conn).unwrap_or_default();
                let hourly = body.contains("\"Granularity\":\"HOURLY\"");
                if hourly {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
                let (status, answer) = if hourly && refuse_hourly {
                    (
                        400,
                        json!({"__type": "ValidationException",
                               "message": "Hourly granularity is not enabled for this account"})
                        .to_string(),
                    )
                } else {
                    // Forwarded with the SDK's headers (moto tells the service by its signature).
                    let headers: Vec<(String, String)> = head
                        .lines()
                        .skip(1)
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                        .filter(|(k, _)| !["host", "content-length", "connection"].contains(&k.as_str()))
                        .collect();
                    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    http(moto, "POST", "/", &headers, &body).unwrap()
                };
                let _ = conn.write_all(
                    format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\
                         connection: close\r\n\r\n{answer}",
                        answer.len()
                    )
                    .as_bytes(),
                );
            }
        });
        HourlyGate { url, hourly_requests }
    }
}

/// The bill config for `name`, with Cost Explorer at `ce_url`.
fn gated_config(dir: &TempDir, moto: &Moto, name: &str, ce_url: &str) -> std::path::PathBuf {
    let store_path = dir.0.join("costd.db");
    let head = crate::helpers::DaemonToml {
        name,
        deployment_extra: "",
        aws: &format!("endpoint_url = \"{}\"\nce_endpoint_url = \"{ce_url}\"", moto.url),
        store: &store_path,
        tg_extra: "",
    }
    .head(moto);
    dir.write("costd.toml", &format!("{head}\n[schedule]\n"))
}

/// The last 14 days are compared by the hour where the account has hourly
/// granularity; the rest of the month by the day.
#[test]
fn recent_days_are_compared_by_the_hour_where_the_account_has_it() {
    let dir = TempDir::new("bill-hourly");
    let moto = Moto::start();
    let gate = HourlyGate::start(moto.addr, false);
    let config = gated_config(&dir, &moto, "bill", &gate.url);
    // A lifetime 00:55–04:05 UTC three days ago: 4 h from its start, 5 clock hours.
    let today = Utc::now().date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let d = today - chrono::Duration::days(3);
    let month_start = d
        .date_naive()
        .with_day(1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let cut = std::cmp::max(month_start, today - chrono::Duration::days(14));
    {
        let store = costd::store::sqlite::SqliteStore::open(&dir.0.join("costd.db")).unwrap();
        lifetime(
            &store,
            d + chrono::Duration::minutes(55),
            d + chrono::Duration::minutes(245),
        );
    }
    // Billed per clock hour: one hour in each of 00:00 … 04:00.
    let hour = |h: i64| {
        let s = d + chrono::Duration::hours(h);
        let e = s + chrono::Duration::hours(1);
        json!({
            "TimePeriod": {"Start": s.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                           "End": e.format("%Y-%m-%dT%H:%M:%SZ").to_string()},
            "Total": {},
            "Groups": [{"Keys": ["LoadBalancerUsage"], "Metrics": {
                "UsageQuantity": {"Amount": "1", "Unit": "Hrs"},
                "UnblendedCost": {"Amount": "0.0225", "Unit": "USD"}}}],
            "Estimated": true
        })
    };
    // Asked in order: the hours, then the days before the last 14 (when the month has any).
    let mut results =
        vec![json!({"ResultsByTime": (0..5).map(hour).collect::<Vec<_>>(), "DimensionValueAttributes": []})];
    if cut > month_start {
        results.push(json!({"ResultsByTime": [], "DimensionValueAttributes": []}));
    }
    let (status, body) = http(
        moto.addr,
        "POST",
        "/moto-api/static/ce/cost-and-usage-results",
        &[("content-type", "application/json")],
        &json!({ "results": results }).to_string(),
    )
    .unwrap();
    assert!((200..300).contains(&status), "{status} {body}");
    let month = d.format("%Y-%m").to_string();
    let (ok, out, err) = run(&config, &["--month", &month, "--format", "json"]);
    assert!(ok, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["granularity"], "hourly", "{v:#}");
    assert_eq!(
        v["hourly_from"].as_str().map(|t| t.parse::<DateTime<Utc>>().unwrap()),
        Some(cut)
    );
    assert_eq!(gate.hourly_requests.load(Ordering::SeqCst), 1);
    assert_eq!(v["requests_made"], results.len());
    // By the hour the rules differ in one period: 04:00–05:00 is billed under clock_hour only.
    assert_eq!(v["check"]["distinguishing_periods"], 1, "{v:#}");
    assert_eq!(v["check"]["billed_by"], "clock_hour");
    assert_eq!(v["check"]["predicted_hours"]["lifetime"], 4);
    assert_eq!(v["check"]["predicted_hours"]["clock_hour"], 5);
    let hours: Vec<&str> = v["check"]["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["start"].as_str().unwrap())
        .collect();
    assert_eq!(hours.len(), 5, "{hours:?}");
}

/// An account without hourly granularity: Cost Explorer refuses the hourly
/// request; costd says so, compares by the day, and does not ask by the hour
/// again for a week. Asked for explicitly, hourly is refused with what to enable.
#[test]
fn without_hourly_granularity_the_bill_is_compared_by_the_day() {
    let dir = TempDir::new("bill-no-hourly");
    let moto = Moto::start();
    let gate = HourlyGate::start(moto.addr, true);
    let config = gated_config(&dir, &moto, "bill", &gate.url);
    let today = Utc::now().date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let d = today - chrono::Duration::days(3);
    let month = d.format("%Y-%m").to_string();
    let (ok, out, err) = run(&config, &["--month", &month, "--granularity", "hourly"]);
    assert!(!ok, "{out}");
    assert!(err.contains("Hourly and resource level data"), "{err}");
    assert!(err.contains("--granularity daily"), "{err}");

    let (status, body) = http(
        moto.addr,
        "POST",
        "/moto-api/static/ce/cost-and-usage-results",
        &[("content-type", "application/json")],
        &json!({"results": [
            {"ResultsByTime": [day(&d.format("%Y-%m-%d").to_string(), &today.format("%Y-%m-%d").to_string(), 5)],
             "DimensionValueAttributes": []},
            {"ResultsByTime": [], "DimensionValueAttributes": []}
        ]})
        .to_string(),
    )
    .unwrap();
    assert!((200..300).contains(&status), "{status} {body}");
    let (ok, out, err) = run(
        &config,
        &["--month", &month, "--format", "json", "--max-age-hours", "0"],
    );
    assert!(ok, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["granularity"], "daily", "{v:#}");
    assert_eq!(v["hourly_from"], Value::Null);
    let warnings = v["warnings"].to_string();
    assert!(warnings.contains("no hourly granularity"), "{warnings}");
    assert!(
        warnings.contains("Hourly granularity is not enabled for this account"),
        "{warnings}"
    );
    assert_eq!(v["check"]["billed_hours"], "5", "{v:#}");
    // Two refused hourly requests so far (the explicit one, the first automatic one).
    assert_eq!(gate.hourly_requests.load(Ordering::SeqCst), 2);
    // Remembered: the next run goes straight to daily and says why.
    let (ok, out, err) = run(
        &config,
        &["--month", &month, "--format", "json", "--max-age-hours", "0"],
    );
    assert!(ok, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["granularity"], "daily");
    assert!(v["warnings"].to_string().contains("no hourly granularity"));
    assert_eq!(
        gate.hourly_requests.load(Ordering::SeqCst),
        2,
        "not asked by the hour again"
    );
}
