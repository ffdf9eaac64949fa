//! `costd check`: every problem named with its file, line and key, nothing
//! changed, exit status 0 or 1; with `--aws`, a missing permission is named
//! by its IAM action (moto enforcing IAM).

use std::process::Command;

use crate::helpers::{Moto, TempDir, costd};

/// A config with made-up (well-formed) IDs: `check` reads, it never creates.
fn config(dir: &TempDir, extra: &str) -> std::path::PathBuf {
    let store = dir.0.join("costd.db");
    dir.write(
        "costd.toml",
        &format!(
            r#"[deployment]
name = "chk"
region = "us-east-1"
timezone = "UTC"

[store]
path = "{}"

[alb]
name_prefix = "chk-demo"
subnets = ["subnet-0a", "subnet-0b"]
security_groups = ["sg-0a"]

[alb.target_group]
vpc_id = "vpc-0a"

[schedule]
{extra}"#,
            store.display()
        ),
    )
}

fn check(args: &[&str]) -> (Option<i32>, String) {
    let out = costd(&[&["check"], args].concat());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn a_good_config_passes_and_the_store_is_not_created() {
    let dir = TempDir::new("check-good");
    let cfg = config(&dir, "");
    let (code, text) = check(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");
    for line in [
        "ok    config:",
        "ok    price tables: embedded: us-east-1 has a table",
        "does not exist yet",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    assert!(!dir.0.join("costd.db").exists(), "check creates nothing");
    // The embedded default passes too.
    assert_eq!(check(&[]).0, Some(0));
}

#[test]
fn bad_input_is_named_by_file_line_and_key_with_status_1() {
    let dir = TempDir::new("check-bad");
    let cfg = config(&dir, "lead_minutes = 500\n");
    let (code, text) = check(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("FAIL  config:"), "{text}");
    assert!(text.contains("costd.toml:18: `schedule.lead_minutes`"), "{text}");
    // A broken price table in pricing_dir: its file and line.
    let prices = dir.0.join("prices");
    std::fs::create_dir_all(&prices).unwrap();
    // The shipped table with one rate made negative: its line is named.
    let table = std::fs::read_to_string(crate::helpers::repo().join("pricing/us-east-1.toml")).unwrap();
    let (n, line) = table
        .lines()
        .enumerate()
        .find(|(_, l)| l.trim_start().starts_with("usd = "))
        .expect("a rate");
    let broken = table.replacen(line, "usd = \"-1\"", 1);
    std::fs::write(prices.join("us-east-1.toml"), broken).unwrap();
    let at = format!("us-east-1.toml:{}", n + 1);
    let cfg = dir.write(
        "priced.toml",
        &format!(
            "pricing_dir = \"{}\"\n{}",
            prices.display(),
            std::fs::read_to_string(config(&dir, "")).unwrap()
        ),
    );
    let (code, text) = check(&["--config", cfg.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, Some(1), "{text}");
    let start = text.find('[').unwrap();
    let end = text.rfind(']').unwrap();
    let findings: serde_json::Value = serde_json::from_str(&text[start..=end]).unwrap();
    let prices_finding = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "price tables")
        .unwrap();
    assert_eq!(prices_finding["ok"], false);
    assert!(
        prices_finding["detail"].as_str().unwrap().contains(&at),
        "{prices_finding}"
    );
}

#[test]
fn the_store_schema_and_its_holder_are_reported() {
    let dir = TempDir::new("check-store");
    let cfg = config(&dir, "");
    let store = dir.0.join("costd.db");
    {
        let c = rusqlite::Connection::open(&store).unwrap();
        c.pragma_update(None, "user_version", 3).unwrap();
    }
    let (code, text) = check(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");
    // 14 migrations in all (src/store/sqlite.rs MIGRATIONS), 3 applied: 11 pending.
    assert!(text.contains("schema version 3; 11 migration(s) pending"), "{text}");
    let _held = costd::store::lock::StoreLock::acquire(&store, chrono::Utc::now()).unwrap();
    let (_, text) = check(&["--config", cfg.to_str().unwrap()]);
    assert!(
        text.contains(&format!("in use by pid {}", std::process::id())),
        "{text}"
    );
    rusqlite::Connection::open(&store)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let (code, text) = check(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("newer than this costd's"), "{text}");
}

/// moto enforcing IAM: a user with only some read permissions is told which
/// action is missing; a user with the policy `costd iam-policy` prints passes.
#[test]
fn with_aws_a_missing_permission_names_its_action() {
    // The six calls of the IAM setup below (three per user) go
    // unauthenticated; every later call is checked against the caller's policy.
    let moto = Moto::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "6")]);
    let dir = TempDir::new("check-aws");
    let full = String::from_utf8(costd(&["iam-policy"]).stdout).unwrap();
    let partial = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["elasticloadbalancing:DescribeLoadBalancers"],"Resource":"*"}]}"#;
    let keys = |user: &str, policy: &str| crate::helpers::moto_user_keys(&moto, user, policy);
    let full_keys = keys("costd-full", &full);
    let partial_keys = keys("costd-partial", partial);
    // CloudWatch off: moto does not speak the CBOR protocol the current SDK uses.
    let cfg = config(&dir, "\n[cloudwatch]\nenabled = false\n");
    let cfg = dir.write(
        "aws.toml",
        &std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("[store]", &format!("[aws]\nendpoint_url = \"{}\"\n\n[store]", moto.url)),
    );
    let run = |(id, secret): &(String, String)| {
        let out = Command::new(env!("CARGO_BIN_EXE_costd"))
            .args(["check", "--aws", "--config", cfg.to_str().unwrap()])
            .env("AWS_ACCESS_KEY_ID", id)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string())
    };
    let (code, text) = run(&full_keys);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("ok    elasticloadbalancing:DescribeLoadBalancers, elasticloadbalancing:DescribeTargetGroups"),
        "{text}"
    );
    let (code, text) = run(&partial_keys);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("missing permission elasticloadbalancing:DescribeTargetGroups"),
        "{text}"
    );
    // Unknown keys: named as such, not as a missing permission.
    let (code, text) = run(&("AKIAUNKNOWN000000000".into(), "nope".into()));
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("InvalidClientTokenId"), "{text}");
}

#[test]
fn a_calendar_file_is_read_and_expanded_as_the_daemon_would() {
    let dir = TempDir::new("check-calendar");
    let good = dir.write(
        "team.ics",
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:w@t\r\nSUMMARY:[demo] weekly\r\nDTSTART:20200106T090000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    );
    let cfg = config(
        &dir,
        &format!(
            "[[schedule.calendars]]\nname = \"team\"\nfile = \"{}\"\nmatch = \"[demo]\"\nhorizon_days = 28\n",
            good.display()
        ),
    );
    use chrono::{Datelike, Timelike};
    let now = chrono::Utc::now();
    let (code, text) = check(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");
    // Mondays 09:00–10:00 UTC over the next 28 days: 4 start in it, and one
    // more counts when it is running now.
    let running = now.weekday() == chrono::Weekday::Mon && now.hour() == 9;
    let want = format!(": {} window(s) in the next 28 days", 4 + usize::from(running));
    assert!(
        text.contains("ok    calendar team: ") && text.contains(&want),
        "{want} in {text}"
    );
    // A broken rule in a matching event: named by file and line, status 1.
    std::fs::write(
        &good,
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:w@t\r\nSUMMARY:[demo] weekly\r\nDTSTART:20200106T090000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=FORTNIGHTLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .unwrap();
    let (code, text) = check(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!("FAIL  calendar team: {}:7: RRULE", good.display())),
        "{text}"
    );
}
