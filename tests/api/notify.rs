//! `[[notify]]` end to end: the daemon sends a budget event to Slack, Teams,
//! PagerDuty and a signed webhook (loopback receivers check each payload's
//! shape; Python checks the signature), lists it in the API with each
//! destination's record, and `costd notify test` checks a destination's
//! wiring.

use serde_json::{Value, json};

use crate::client::Api;
use crate::daemon::web_address;
use crate::helpers::{Daemon, TempDir, WebhookReceiver, wait_for};

const OPERATOR: &str = "operator-token-0123456789";
const ROUTING_KEY: &str = "R0UT1NGKEY0123456789abcdefABCDEF";
const SECRET: &str = "whsec-0123456789abcdef";

/// A dry-run daemon whose seed network (about $60 a month) crosses the
/// $5 forecast threshold at once, with one destination of each kind.
fn config(dir: &TempDir) -> std::path::PathBuf {
    dir.write(
        "costd.toml",
        &format!(
            r#"
[deployment]
name = "bell"
region = "us-east-1"
timezone = "UTC"
dry_run = true

[store]
path = "{store}"

[alb]
name_prefix = "bell-demo"
subnets = ["subnet-0a", "subnet-0b"]
security_groups = ["sg-0a"]

[alb.target_group]
vpc_id = "vpc-0a"

[schedule]

[projection]
timezone = "UTC"
network_option = "endpoints_only"

[[budgets]]
name = "tiny"
monthly_usd = 10
thresholds = [{{ type = "forecast", percent = 50 }}]

{destinations}
[web]
listen = "127.0.0.1:0"
public_url = "https://costd.example.com/"

[[web.tokens]]
name = "ops"
role = "operator"
token = "{OPERATOR}"
"#,
            store = dir.0.join("costd.db").display(),
            destinations = destinations("", "kinds = [\"budget_alarm\", \"budget_ok\"]"),
        ),
    )
}

/// One `[[notify]]` destination of each kind at the receivers' variables;
/// `pd_extra` and `hook_extra` are added to PagerDuty's and the webhook's.
fn destinations(pd_extra: &str, hook_extra: &str) -> String {
    format!(
        r#"[[notify]]
kind = "slack"
url_env = "COSTD_TEST_SLACK_URL"

[[notify]]
kind = "teams"
url_env = "COSTD_TEST_TEAMS_URL"

[[notify]]
name = "oncall"
kind = "pagerduty"
url_env = "COSTD_TEST_PD_URL"
routing_key_env = "COSTD_TEST_PD_KEY"
{pd_extra}

[[notify]]
name = "audit"
kind = "webhook"
url_env = "COSTD_TEST_HOOK_URL"
secret_env = "COSTD_TEST_HOOK_SECRET"
{hook_extra}
"#
    )
}

struct Receivers {
    slack: WebhookReceiver,
    teams: WebhookReceiver,
    pd: WebhookReceiver,
    hook: WebhookReceiver,
}

impl Receivers {
    fn start() -> Self {
        Receivers {
            slack: WebhookReceiver::start(0),
            teams: WebhookReceiver::start(0),
            pd: WebhookReceiver::start(0),
            hook: WebhookReceiver::start(0),
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("COSTD_TEST_SLACK_URL", self.slack.url.clone()),
            ("COSTD_TEST_TEAMS_URL", self.teams.url.clone()),
            ("COSTD_TEST_PD_URL", self.pd.url.clone()),
            ("COSTD_TEST_PD_KEY", ROUTING_KEY.into()),
            ("COSTD_TEST_HOOK_URL", self.hook.url.clone()),
            ("COSTD_TEST_HOOK_SECRET", SECRET.into()),
        ]
    }
}

fn body(r: &WebhookReceiver, i: usize) -> Value {
    serde_json::from_str(&r.bodies.lock().unwrap()[i]).unwrap()
}

fn header(head: &str, name: &str) -> String {
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no {name} in {head}"))
}

#[test]
fn a_budget_alarm_reaches_every_destination_in_its_own_format_once() {
    let dir = TempDir::new("notify-e2e");
    let rx = Receivers::start();
    let cfg = config(&dir);
    let env = rx.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let d = Daemon::start_with_env(&cfg, dir.0.join("d.log"), &env);
    let addr = web_address(&d);
    for (name, r) in [
        ("slack", &rx.slack),
        ("teams", &rx.teams),
        ("pagerduty", &rx.pd),
        ("webhook", &rx.hook),
    ] {
        wait_for(30, name, || (r.count() >= 1).then_some(()));
    }

    // Slack: the fallback text and Block Kit, with the dashboard's button.
    let slack = body(&rx.slack, 0);
    assert!(
        slack["text"]
            .as_str()
            .unwrap()
            .starts_with("Budget alarm · bell: Budget tiny (all)"),
        "{slack:#}"
    );
    let blocks = slack["blocks"].as_array().unwrap();
    assert_eq!(
        blocks[0],
        json!({"type": "header", "text": {"type": "plain_text", "text": "Budget alarm · bell", "emoji": false}})
    );
    assert_eq!(blocks[1]["type"], "section");
    let fields: Vec<&str> = blocks[2]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"*Budget*\ntiny"), "{fields:?}");
    assert!(fields.contains(&"*Threshold*\n50% = $5.00"), "{fields:?}");
    assert_eq!(
        blocks[3]["elements"][0],
        json!({"type": "button", "text": {"type": "plain_text", "text": "Open the dashboard"}, "url": "https://costd.example.com/"})
    );

    // Teams: one Adaptive Card in a message.
    let teams = body(&rx.teams, 0);
    assert_eq!(teams["type"], "message");
    let card = &teams["attachments"][0];
    assert_eq!(card["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert_eq!(card["content"]["body"][0]["text"], "Budget alarm · bell");
    assert_eq!(
        card["content"]["body"][0]["color"], "Warning",
        "a forecast threshold warns"
    );
    assert_eq!(card["content"]["body"][2]["type"], "FactSet");
    assert_eq!(
        card["content"]["actions"][0],
        json!({"type": "Action.OpenUrl", "title": "Open the dashboard", "url": "https://costd.example.com/"})
    );

    // PagerDuty: a trigger keyed by the threshold, so the OK event resolves the same incident.
    let pd = body(&rx.pd, 0);
    assert_eq!(pd["routing_key"], ROUTING_KEY);
    assert_eq!(pd["event_action"], "trigger");
    assert_eq!(pd["dedup_key"], "bell/budget/tiny/forecast/50");
    for field in ["summary", "source", "severity", "timestamp"] {
        assert!(pd["payload"][field].is_string(), "{field}: {pd:#}");
    }
    assert_eq!(pd["payload"]["severity"], "warning");
    assert_eq!(pd["payload"]["source"], "costd/bell");
    assert_eq!(pd["payload"]["custom_details"]["Budget"], "tiny");
    chrono::DateTime::parse_from_rfc3339(pd["payload"]["timestamp"].as_str().unwrap()).unwrap();

    // The webhook: the event itself, signed; Python's hmac checks the signature.
    let head = rx.hook.heads.lock().unwrap()[0].clone();
    let raw = rx.hook.bodies.lock().unwrap()[0].clone();
    let (ts, sig) = (header(&head, "x-costd-timestamp"), header(&head, "x-costd-signature"));
    let py = std::process::Command::new(crate::helpers::emulator_bin("checkers", "python"))
        .args([
            "-c",
            "import hmac,hashlib,sys; print('v1=' + hmac.new(sys.argv[1].encode(), (sys.argv[2] + '.' + sys.argv[3]).encode(), hashlib.sha256).hexdigest())",
            SECRET,
            &ts,
            &raw,
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&py.stdout).trim(),
        sig,
        "the signature verifies"
    );
    let hook: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(hook["kind"], "budget_alarm");
    assert_eq!(hook["severity"], "warning");
    assert_eq!(hook["deployment"], "bell");
    assert_eq!(
        hook["condition"],
        json!({"key": "bell/budget/tiny/forecast/50", "open": true})
    );
    let id = hook["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("bell/transition/"), "{id}");

    // The API lists the event and each destination's record; every destination got it once.
    let api = Api { addr };
    let (s, events) = api.json("GET", "/api/v1/events?kind=budget_alarm", Some(OPERATOR), "");
    assert_eq!(s, 200, "{events}");
    assert_eq!(events.as_array().unwrap().len(), 1, "{events:#}");
    assert_eq!(events[0]["id"], id.as_str());
    let (s, bad) = api.json("GET", "/api/v1/events?kind=alb_up", Some(OPERATOR), "");
    assert_eq!(s, 422, "{bad}");
    let (s, bad) = api.json("GET", "/api/v1/events?limit=201", Some(OPERATOR), "");
    assert_eq!(s, 422, "{bad}");
    let (s, bad) = api.json("GET", "/api/v1/events?limit=0", Some(OPERATOR), "");
    assert_eq!(s, 422, "{bad}");
    let (s, at_limit) = api.json("GET", "/api/v1/events?limit=200", Some(OPERATOR), "");
    assert_eq!((s, at_limit.as_array().map(Vec::len)), (200, Some(1)), "{at_limit}");
    let (s, _) = api.json("GET", "/api/v1/events", None, "");
    assert_eq!(s, 401);
    let status = wait_for(10, "every delivery recorded", || {
        let (_, v) = api.json("GET", "/api/v1/notify", Some(OPERATOR), "");
        v.as_array()?
            .iter()
            .all(|d| d["last_delivered_at"].is_string())
            .then_some(v)
    });
    let names: Vec<&str> = status
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["slack", "teams", "oncall", "audit"]);
    assert_eq!(status[3]["kinds"], json!(["budget_alarm", "budget_ok"]));
    assert_eq!(status[2]["min_severity"], "warning");
    let text = status.to_string();
    assert!(
        !text.contains(ROUTING_KEY) && !text.contains("127.0.0.1"),
        "no secret in the API: {text}"
    );
    // The dashboard lists the event and each destination's record; a kind filter narrows the list.
    let (s, page) = api.dashboard(Some(OPERATOR));
    assert_eq!(s, 200);
    let events_html = crate::client::section(&page, "events");
    assert!(
        events_html.contains("<tr class=\"event budget_alarm\">"),
        "{events_html}"
    );
    assert!(events_html.contains("Budget tiny (all)"), "{events_html}");
    let table = events_html.split("<table id=destinations>").nth(1).unwrap();
    for name in ["slack", "teams", "oncall", "audit"] {
        assert!(table.contains(&format!("<tr><td>{name}</td>")), "{table}");
    }
    assert!(
        !table.contains("<td>—</td>"),
        "every destination has delivered: {table}"
    );
    let (s, filtered) = api.request("GET", "/?events=alb_ready", Some(OPERATOR), "text/plain", "");
    assert_eq!(s, 200);
    let filtered = crate::client::section(&filtered, "events");
    assert!(
        filtered.contains("<strong>alb_ready</strong>") && filtered.contains("No events yet."),
        "{filtered}"
    );

    // Later projection runs emit nothing new: one POST per destination.
    std::thread::sleep(std::time::Duration::from_secs(3));
    for r in [&rx.slack, &rx.teams, &rx.pd, &rx.hook] {
        assert_eq!(r.count(), 1);
    }
    let logs = d.logs();
    assert!(
        !logs.contains(ROUTING_KEY) && !logs.contains(&rx.slack.url),
        "no secret in the logs"
    );

    // `costd notify test`: a sample to one destination, now, in its format.
    let run = |to: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_costd"))
            .args(["notify", "test", "--config", cfg.to_str().unwrap(), "--to", to])
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    let out = run("oncall");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "sent a test event to oncall (pagerduty): delivered"
    );
    assert_eq!(rx.pd.count(), 2);
    let sample = body(&rx.pd, 1);
    assert_eq!(
        (sample["event_action"].as_str(), sample["payload"]["class"].as_str()),
        (Some("trigger"), Some("test"))
    );
    let out = run("nobody");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no [[notify]] destination named `nobody`"), "{err}");
    assert!(err.contains("slack, teams, oncall, audit"), "{err}");
}

/// A receiver that refuses the payload (HTTP 400) makes a dead letter at
/// once, and `costd notify test` reports the refusal with status 1.
#[test]
fn a_refused_payload_is_a_dead_letter_at_once_and_the_test_says_so() {
    let dir = TempDir::new("notify-refused");
    let refusing = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/services/T0/B0/SECRET", refusing.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for c in refusing.incoming() {
            let Ok(mut c) = c else { continue };
            let mut buf = [0u8; 65536];
            let _ = c.read(&mut buf);
            let _ = c.write_all(
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\nconnection: close\r\n\r\ninvalid_blocks",
            );
        }
    });
    let rx = Receivers::start();
    let cfg = config(&dir);
    let mut env = rx.env();
    env[0].1 = url.clone();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_costd"))
        .args(["notify", "test", "--config", cfg.to_str().unwrap(), "--to", "slack"])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sending a test event to slack (slack) failed: HTTP 400 Bad Request"),
        "{err}"
    );
    assert!(!err.contains("SECRET"), "{err}");

    let d = Daemon::start_with_env(&cfg, dir.0.join("d.log"), &env);
    let api = Api { addr: web_address(&d) };
    let dead = wait_for(30, "a dead letter", || {
        let (_, v) = api.json("GET", "/api/v1/events/deliveries?state=dead", Some(OPERATOR), "");
        (v.as_array()?.len() == 1).then_some(v)
    });
    assert_eq!(dead[0]["destination"], "slack");
    assert_eq!(dead[0]["attempts"], 1, "a 400 is not retried");
    assert_eq!(dead[0]["last_error"], "HTTP 400 Bad Request");
    // The dashboard lists it; an operator deletes it.
    let (_, page) = api.dashboard(Some(OPERATOR));
    let table = page
        .split("<table id=dead-deliveries>")
        .nth(1)
        .expect("the dead letters on the dashboard");
    assert!(
        table.contains("<td>slack</td>") && table.contains("HTTP 400 Bad Request"),
        "{table}"
    );
    let (s, v) = api.json("DELETE", "/api/v1/events/deliveries/dead", Some(OPERATOR), "");
    assert_eq!((s, v["deleted"].as_u64()), (200, Some(1)), "{v}");
    let (_, v) = api.json("GET", "/api/v1/events/deliveries?state=dead", Some(OPERATOR), "");
    assert_eq!(v, json!([]));
    // The others got it.
    wait_for(30, "the others", || {
        (rx.teams.count() == 1 && rx.pd.count() == 1).then_some(())
    });
}

/// `[[notify]]` entries for all four kinds at `rx`'s addresses (every
/// severity, so the schedule's info events page too), appended to a rig's config.
fn notify_all(config: &std::path::Path, extra: &str) {
    let mut text = std::fs::read_to_string(config).unwrap();
    text.push_str(&format!("\n{extra}\n\n{}", destinations("min_severity = \"info\"", "")));
    std::fs::write(config, text).unwrap();
}

/// What the webhook receiver got, by kind.
fn kinds(r: &WebhookReceiver) -> Vec<String> {
    let mut k: Vec<String> = r
        .bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| {
            serde_json::from_str::<Value>(b).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    k.sort();
    k
}

/// A window opens and closes against moto: *window starting soon*, *ALB
/// ready* (with the DNS name moto returned) and *ALB deleted* (with its
/// billed hours) reach every destination once each, although the
/// receivers were down at first and the daemon was killed (`kill -9`)
/// with the deliveries still in the outbox.
#[test]
fn a_window_is_announced_ready_and_deleted_once_each_across_a_kill_9() {
    let _heavy = crate::helpers::heavy();
    // The window's lifetime inside one clock hour, so it bills one (checked below).
    crate::helpers::clear_of_an_hour_boundary(40);
    let rig = crate::daemon::Rig::new("notify-window", false, None);
    notify_all(&rig.config, "");
    // The receivers' ports, with nothing listening yet: every first attempt fails.
    let ports: Vec<u16> = (0..4).map(|_| crate::helpers::free_port()).collect();
    let url = |p: u16| format!("http://127.0.0.1:{p}/hook/s3cret-path-token");
    let env = [
        ("COSTD_TEST_SLACK_URL", url(ports[0])),
        ("COSTD_TEST_TEAMS_URL", url(ports[1])),
        ("COSTD_TEST_PD_URL", url(ports[2])),
        ("COSTD_TEST_PD_KEY", ROUTING_KEY.to_string()),
        ("COSTD_TEST_HOOK_URL", url(ports[3])),
        ("COSTD_TEST_HOOK_SECRET", SECRET.to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut first = Daemon::start_with_env(&rig.config, rig.dir.0.join("d1.log"), &env);
    let iv = rig.window(3, 7);
    let store = rig.store();
    use costd::store::Store;
    // The window comes and goes; its three events wait in the outbox, each tried and failed.
    let events = wait_for(30, "the three events", || {
        let e = store.events(None, None, 10).unwrap();
        let tried = store
            .deliveries(costd::store::NotificationState::Pending, 50)
            .unwrap()
            .iter()
            .filter(|d| d.attempts >= 1)
            .count();
        (e.len() == 3 && tried == 12).then_some(e)
    });
    assert!(chrono::Utc::now() >= iv.end);
    first.kill9();
    let rx = Receivers {
        slack: WebhookReceiver::start(ports[0]),
        teams: WebhookReceiver::start(ports[1]),
        pd: WebhookReceiver::start(ports[2]),
        hook: WebhookReceiver::start(ports[3]),
    };
    let second = Daemon::start_with_env(&rig.config, rig.dir.0.join("d2.log"), &env);
    for (name, r) in [
        ("slack", &rx.slack),
        ("teams", &rx.teams),
        ("pagerduty", &rx.pd),
        ("webhook", &rx.hook),
    ] {
        wait_for(30, name, || (r.count() >= 3).then_some(()));
    }
    // Time for a duplicate to show up, if one were coming (the retry tick is 5 s).
    std::thread::sleep(std::time::Duration::from_secs(7));
    for r in [&rx.slack, &rx.teams, &rx.pd, &rx.hook] {
        assert_eq!(r.count(), 3, "once each");
    }
    assert_eq!(kinds(&rx.hook), ["alb_deleted", "alb_ready", "window_soon"]);
    let lifetime = store
        .lifetimes(
            crate::daemon::DEPLOYMENT,
            iv.start - chrono::Duration::hours(1),
            iv.end + chrono::Duration::hours(1),
        )
        .unwrap()
        .pop()
        .unwrap();
    let dns = lifetime.dns_name.clone().expect("moto's DNS name");
    let ready = events
        .iter()
        .find(|e| e.kind == costd::event::EventKind::AlbReady)
        .unwrap();
    assert_eq!(ready.link, Some(format!("http://{dns}/")));
    // Slack shows the link as the demo's button; PagerDuty links it too.
    let slack_ready = (0..3)
        .map(|i| body(&rx.slack, i))
        .find(|b| b["text"].as_str().unwrap().contains("is ready"))
        .unwrap();
    assert!(slack_ready["text"].as_str().unwrap().contains(&dns), "{slack_ready:#}");
    assert!(
        slack_ready.to_string().contains(&format!("\"url\":\"http://{dns}/\"")),
        "{slack_ready:#}"
    );
    let pd_deleted = (0..3)
        .map(|i| body(&rx.pd, i))
        .find(|b| b["payload"]["class"] == "alb_deleted")
        .unwrap();
    // A few seconds' lifetime bills one hour under either rule.
    assert_eq!(
        pd_deleted["payload"]["custom_details"]["Billed hours"], "1",
        "{pd_deleted:#}"
    );
    assert!(
        pd_deleted["payload"]["summary"]
            .as_str()
            .unwrap()
            .contains("after 1 billed hour(s)")
    );
    drop(second);
}

/// A 60 s AWS outage: one *reconcile failing* (after the configured 20 s)
/// and one *reconcile recovered*, with PagerDuty's trigger and resolve on
/// the same `dedup_key`.
#[test]
fn an_outage_is_one_failing_event_and_one_recovery() {
    let _heavy = crate::helpers::heavy();
    let (rig, outage) = crate::daemon::Rig::behind_proxy("notify-outage");
    notify_all(&rig.config, "[events]\nreconcile_failing_after_seconds = 20");
    let rx = Receivers::start();
    let env = rx.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let d = Daemon::start_with_env(&rig.config, rig.dir.0.join("d.log"), &env);
    wait_for(20, "a first good step", || {
        d.logs().contains("the ALB should not exist").then_some(())
    });
    outage.down();
    let down_at = std::time::Instant::now();
    wait_for(60, "the failing event", || (rx.pd.count() == 1).then_some(()));
    assert!(
        down_at.elapsed() >= std::time::Duration::from_secs(20),
        "not before 20 s of failure"
    );
    let failing = body(&rx.pd, 0);
    assert_eq!(failing["event_action"], "trigger");
    assert_eq!(failing["dedup_key"], "it/reconcile");
    assert_eq!(failing["payload"]["severity"], "critical");
    let left = std::time::Duration::from_secs(60).saturating_sub(down_at.elapsed());
    std::thread::sleep(left);
    assert_eq!(rx.pd.count(), 1, "one failing event for the whole outage");
    outage.up();
    wait_for(45, "the recovery", || (rx.pd.count() == 2).then_some(()));
    assert_eq!(
        body(&rx.pd, 1),
        json!({"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": "it/reconcile"})
    );
    assert_eq!(kinds(&rx.hook), ["reconcile_failing", "reconcile_recovered"]);
    std::thread::sleep(std::time::Duration::from_secs(6));
    assert_eq!(rx.slack.count(), 2, "nothing more once recovered");
}
