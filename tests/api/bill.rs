//! `costd bill` against moto's Cost Explorer: results queued at
//! `/moto-api/static/ce/cost-and-usage-results`, requests read back from
//! moto's recorder to check what the SDK sent.

use std::process::Command;

use chrono::{DateTime, TimeZone, Utc};
use costd::store::{LifetimeReason, NewLifetime, Store};
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

    let (ok, out, err) = run(&config, &["--month", "2026-11", "--format", "json"]);
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
    let (ok, out, err) = run(&config, &["--month", "2026-11", "--format", "json"]);
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
