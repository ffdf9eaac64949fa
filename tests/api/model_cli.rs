//! `costd model` end to end: the shipped scenarios, both output formats, and
//! bad input that must fail with a clear error and a non-zero exit.

use serde_json::Value;

use crate::helpers::{TempDir, costd, repo};

const AT: &str = "--at=2026-11-22T00:00:00Z";

fn json(args: &[&str]) -> Value {
    let out = costd(args);
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn option<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["network"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == name)
        .unwrap()
}

#[test]
fn default_runs_the_embedded_seed_scenario() {
    let out = costd(&["model", AT]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    // Worked in src/cost/network.rs: 3 × 2 AZs × 730 h × $0.013 + 255 GB × $0.01 = $59.49.
    assert!(text.contains("endpoints_only  $59.49/month  cheapest"), "{text}");
    assert!(text.contains("Recommendation:"), "{text}");
}

#[test]
fn seed_scenario_file_as_json() {
    let v = json(&[
        "model",
        "--scenario",
        "config/scenarios/seed-production-vpc.toml",
        "--format",
        "json",
        AT,
    ]);
    assert_eq!(v["region"], "ap-southeast-1");
    assert_eq!(option(&v, "endpoints_only")["monthly_usd"], "59.49");
    assert_eq!(option(&v, "nat_per_az")["monthly_usd"], "137.985");
    // Scheduled ALB, Nov 2026–Oct 2027, with the daemon's 5 min lead and 5 min grace: each
    // lifetime runs 08:55–12:05 SGT = 00:55–04:05 UTC (3 h 10 min). Running 260 weekdays
    // × 190 min = 823.333… h a year × 730 / 8,760 = 68.6111… h a month.
    // Per clock hour (the default): 00–04 UTC, 5 h; 260 × 5 = 1,300 h a year → 108.333… h a month.
    //   ALB 108.333… × 0.0252 = 2.73; LCU 0.1 × 108.333… = 10.8333… × 0.008 = 0.086666…;
    //   IPv4 2 × 68.6111… × 0.005 = 0.686111… → 3.502777….
    // Per lifetime: 4 h; 1,040 h a year → 86.666… h. ALB 2.184; LCU 8.666… × 0.008 = 0.069333…;
    //   IPv4 0.686111… → 2.939444….
    let s = &v["load_balancer"]["scheduled"];
    assert_eq!(
        (s["lead_minutes"].as_i64(), s["grace_minutes"].as_i64()),
        (Some(5), Some(5))
    );
    assert_eq!(s["partial_hour"], "clock_hour");
    let dec = |v: &serde_json::Value| -> rust_decimal::Decimal { v.as_str().unwrap().parse().unwrap() };
    assert_eq!(
        dec(&s["billed_hours"]).round_dp(6),
        rust_decimal_macros::dec!(108.333333)
    );
    assert_eq!(dec(&s["monthly_usd"]).round_dp(6), rust_decimal_macros::dec!(3.502778));
    let other = &s["under_other_rule"];
    assert_eq!(other["partial_hour"], "lifetime");
    assert_eq!(
        dec(&other["billed_hours"]).round_dp(6),
        rust_decimal_macros::dec!(86.666667)
    );
    assert_eq!(
        dec(&other["monthly_usd"]).round_dp(6),
        rust_decimal_macros::dec!(2.939444)
    );
    // Each lifetime: 4 hours counted from its start, 5 clock hours.
    let first = &s["first_lifetimes"][0];
    assert_eq!(
        (
            first["billed_hours"]["lifetime"].as_i64(),
            first["billed_hours"]["clock_hour"].as_i64()
        ),
        (Some(4), Some(5))
    );
    assert!(s["lifetimes"].is_string(), "the count of lifetimes per month");
}

#[test]
fn internet_heavy_scenario_keeps_nat() {
    let v = json(&[
        "model",
        "--scenario",
        "config/scenarios/internet-heavy-api.toml",
        "--format=json",
        AT,
    ]);
    // Worked in src/cost/network.rs: hybrid 447.445 is cheapest; endpoints_only is infeasible.
    assert_eq!(v["network"]["options"][0]["name"], "hybrid");
    assert_eq!(v["network"]["options"][0]["monthly_usd"], "447.445");
    assert_eq!(option(&v, "endpoints_only")["feasible"], false);
    // ALB always on, us-east-1, 3 AZs: LCU = max(40/25 = 1.6, 40 × 30 / 3,000 = 0.4, 2.5 GB/h = 2.5,
    // 200 × (12 − 10) / 1,000 = 0.4) = 2.5. 730 × 0.0225 = 16.425; 2.5 × 730 = 1,825 × 0.008 = 14.60;
    // 3 × 730 = 2,190 × 0.005 = 10.95. Total 41.975.
    let lb = &v["load_balancer"];
    assert_eq!(lb["lcu_per_hour"], "2.5");
    assert_eq!(lb["always_on"]["monthly_usd"], "41.975");
    assert!(lb.get("scheduled").is_none(), "no schedule in this scenario");
}

#[test]
fn the_seed_demo_table_is_reproducible_from_config() {
    // ALB-hour line, us-east-1 $0.0225/h, 720 h months: 8 h/day → 240 h = $5.40; 3 h → $2.025;
    // 1 h → $0.675; 24/7 → 720 h = $16.20 (the seed's $5.4, $2.0, $0.7, $16.2).
    for (file, usd) in [
        ("8h-per-day", "5.40"),
        ("3h-per-day", "2.025"),
        ("1h-per-day", "0.675"),
        ("always-on", "16.20"),
    ] {
        let path = format!("config/scenarios/seed-demo-table/{file}.toml");
        let v = json(&["model", "--scenario", &path, "--format", "json", AT]);
        let hours_line = &v["load_balancer"]["scheduled"]["line_items"][0];
        let cost: rust_decimal::Decimal = hours_line["cost_usd"].as_str().unwrap().parse().unwrap();
        assert_eq!(cost.round_dp(6), usd.parse().unwrap(), "{file}");
    }
}

#[test]
fn a_pricing_directory_replaces_the_embedded_tables() {
    let dir = TempDir::new("pricing-dir");
    let src = std::fs::read_to_string(repo().join("pricing/ap-southeast-1.toml")).unwrap();
    // Interface endpoints at $0.02/AZ-h instead of $0.013: 4,380 AZ-h × 0.02 = 87.60 + 2.55 = 90.15.
    dir.write(
        "ap-southeast-1.toml",
        &src.replacen("usd = \"0.013\"", "usd = \"0.02\"", 1),
    );
    let v = json(&[
        "model",
        "--pricing-dir",
        dir.0.to_str().unwrap(),
        "--format",
        "json",
        AT,
    ]);
    assert_eq!(option(&v, "endpoints_only")["monthly_usd"], "90.15");
}

fn fails(args: &[&str]) -> String {
    let out = costd(args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty(), "nothing is printed on stdout on error");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn bad_scenario_files_name_the_file_line_and_key() {
    let dir = TempDir::new("bad-scenarios");
    let seed = std::fs::read_to_string(repo().join("config/scenarios/seed-production-vpc.toml")).unwrap();
    for (name, from, to, expect) in [
        (
            "tz",
            "Asia/Singapore",
            "Asia/Singapur",
            "`load_balancer.schedule[0].timezone`: `Asia/Singapur` is not an IANA time zone",
        ),
        ("cron", "0 9 * * Mon-Fri", "0 9 * * Mon-Fry", "field 5 (day of week)"),
        (
            "region",
            "region = \"ap-southeast-1\"",
            "region = \"ap-southeast-9\"",
            "no price table for region `ap-southeast-9`",
        ),
        (
            "negative",
            "s3 = 500",
            "s3 = -500",
            "`network.traffic_gb_per_month.s3`: must be zero or more",
        ),
        (
            "missing",
            "target_type = \"ip\"\n",
            "",
            "missing required key `target_type` in [load_balancer]",
        ),
    ] {
        let path = dir.write(&format!("{name}.toml"), &seed.replacen(from, to, 1));
        let err = fails(&["model", "--scenario", path.to_str().unwrap()]);
        assert!(
            err.contains(&format!("{}:", path.display())),
            "{name}: names the file: {err}"
        );
        assert!(err.contains(expect), "{name}: {err}");
    }
}

#[test]
fn bad_flags_and_missing_files() {
    assert!(fails(&["model", "--scenario", "no/such/file.toml"]).contains("cannot read scenario no/such/file.toml"));
    assert!(fails(&["model", "--format", "yaml"]).contains("possible values: table, json"));
    assert!(fails(&["model", "--at", "yesterday"]).contains("expected e.g. 2026-12-01T00:00:00Z"));
    let dir = TempDir::new("bad-pricing");
    let src = std::fs::read_to_string(repo().join("pricing/us-east-1.toml")).unwrap();
    let path = dir.write(
        "us-east-1.toml",
        &src.replacen("unit = \"GB\"", "unit = \"gigabytes\"", 1),
    );
    let err = fails(&["model", "--pricing-dir", dir.0.to_str().unwrap()]);
    assert!(
        err.contains(&format!("{}:", path.display())) && err.contains("unknown unit `gigabytes`"),
        "{err}"
    );
}
