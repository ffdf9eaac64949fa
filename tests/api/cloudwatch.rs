//! CloudWatch against ministack over HTTP (the current SDK's CBOR protocol):
//! alarms follow the budgets, metrics land, an alarm goes to ALARM when the
//! published value crosses its threshold, and webhooks are told once.

use std::time::Duration as StdDuration;

use aws_sdk_cloudwatch as cw;
use costd::aws::cloudwatch::{CloudWatchApi, SdkCloudWatch, alarm_tags, sync_alarms};
use costd::config::Config;
use costd::daemon::projection::{alarm_prefix, desired_alarms};

use crate::helpers::{Daemon, Ministack, Moto, TempDir, WebhookReceiver, free_port, wait_for};

struct Cw {
    rt: tokio::runtime::Runtime,
    client: cw::Client,
}

impl Cw {
    fn new(url: &str) -> Self {
        let (rt, conf) = crate::helpers::emulator_sdk(url, "us-east-1");
        Cw {
            rt,
            client: cw::Client::new(&conf),
        }
    }

    fn api(&self) -> SdkCloudWatch {
        SdkCloudWatch::new(self.client.clone())
    }

    /// (name, threshold, state) of alarms with a prefix.
    fn alarms(&self, prefix: &str) -> Vec<(String, f64, String)> {
        self.rt.block_on(async {
            let mut v: Vec<_> = self
                .client
                .describe_alarms()
                .alarm_name_prefix(prefix)
                .send()
                .await
                .unwrap()
                .metric_alarms()
                .iter()
                .map(|a| {
                    (
                        a.alarm_name().unwrap().to_string(),
                        a.threshold().unwrap(),
                        a.state_value().map(|s| s.as_str().to_string()).unwrap_or_default(),
                    )
                })
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        })
    }
}

fn config(src: &str) -> Config {
    Config::parse("test.toml", src, std::path::Path::new(".")).unwrap()
}

const BASE: &str = include_str!("../../config/costd.toml");

#[test]
fn alarms_are_created_left_alone_updated_and_deleted_as_the_budgets_change() {
    let ms = Ministack::start();
    let cw = Cw::new(&ms.url);
    let api = cw.api();
    let cfg = config(BASE);
    let prefix = alarm_prefix(&cfg);
    // An alarm named like costd's, without its tags: never edited or deleted.
    let foreign = costd::aws::cloudwatch::AlarmSpec {
        name: format!("{prefix}someone-elses"),
        description: "not costd's".into(),
        namespace: "Other".into(),
        metric: "X".into(),
        dimensions: vec![],
        threshold_usd: rust_decimal_macros::dec!(1),
        actions: vec![],
    };
    cw.rt.block_on(api.put_alarm(&foreign, &[])).unwrap();

    // The default budget: $100 with forecast 80 % ($80), forecast 100 % ($100), actual 100 % ($100).
    let r = cw
        .rt
        .block_on(sync_alarms(&api, &prefix, &cfg.deployment, &desired_alarms(&cfg)))
        .unwrap();
    assert_eq!(r.created.len(), 3, "{r:?}");
    assert_eq!(r.foreign, std::slice::from_ref(&foreign.name));
    let alarms = cw.alarms(&prefix);
    let thresholds: Vec<(String, f64)> = alarms.iter().map(|a| (a.0.clone(), a.1)).collect();
    assert_eq!(
        thresholds,
        [
            ("costd-seed-demo-networking-actual-100".to_string(), 100.0),
            ("costd-seed-demo-networking-forecast-100".to_string(), 100.0),
            ("costd-seed-demo-networking-forecast-80".to_string(), 80.0),
            (foreign.name.clone(), 1.0),
        ]
    );
    let arn = cw
        .rt
        .block_on(api.alarms("costd-seed-demo-networking-forecast-80"))
        .unwrap()[0]
        .arn
        .clone();
    let tags = cw.rt.block_on(api.tags(&arn)).unwrap();
    assert!(
        alarm_tags(&cfg.deployment).iter().all(|(k, v)| tags.get(k) == Some(v)),
        "{tags:?}"
    );

    // Same definition: nothing changes.
    let r = cw
        .rt
        .block_on(sync_alarms(&api, &prefix, &cfg.deployment, &desired_alarms(&cfg)))
        .unwrap();
    assert_eq!(
        (r.unchanged.len(), r.created.len(), r.updated.len(), r.deleted.len()),
        (3, 0, 0, 0),
        "{r:?}"
    );

    // Budget raised to $200 and the actual threshold removed: two updated, one deleted.
    let changed = config(
        &BASE
            .replace("monthly_usd = 100", "monthly_usd = 200")
            .replace("  { type = \"actual\", percent = 100 },\n", ""),
    );
    let r = cw
        .rt
        .block_on(sync_alarms(
            &api,
            &prefix,
            &changed.deployment,
            &desired_alarms(&changed),
        ))
        .unwrap();
    assert_eq!(
        r.updated,
        [
            "costd-seed-demo-networking-forecast-100",
            "costd-seed-demo-networking-forecast-80"
        ]
    );
    assert_eq!(r.deleted, ["costd-seed-demo-networking-actual-100"]);
    let after: Vec<(String, f64)> = cw.alarms(&prefix).into_iter().map(|a| (a.0, a.1)).collect();
    assert_eq!(
        after,
        [
            ("costd-seed-demo-networking-forecast-100".to_string(), 200.0),
            ("costd-seed-demo-networking-forecast-80".to_string(), 160.0),
            (foreign.name.clone(), 1.0),
        ]
    );
}

/// A daemon config: moto for ELBv2, ministack for CloudWatch, a tiny budget.
fn daemon_config(dir: &TempDir, moto: &Moto, ms: &Ministack, hook: &str) -> std::path::PathBuf {
    let store = dir.0.join("costd.db");
    let head = crate::helpers::DaemonToml {
        name: "cw",
        deployment_extra: "",
        aws: &format!(
            "elb_endpoint_url = \"{}\"\ncloudwatch_endpoint_url = \"{}\"",
            moto.url, ms.url
        ),
        store: &store,
        tg_extra: "",
    }
    .head(moto);
    dir.write(
        "costd.toml",
        &format!(
            r#"{head}
[schedule]

[projection]
timezone = "UTC"
network_option = "endpoints_only"
recompute_seconds = 10

# The seed network alone costs about $60 a month: the forecast threshold ($5) is crossed;
# month to date stays under $100.
[[budgets]]
name = "tiny"
monthly_usd = 10
thresholds = [{{ type = "forecast", percent = 50 }}, {{ type = "actual", percent = 1000 }}]

[cloudwatch]
namespace = "CostdTest"
publish_seconds = 10

[[webhooks]]
url = "{hook}"
timeout_seconds = 2

[web]
listen = "127.0.0.1:0"
"#
        ),
    )
}

#[test]
fn the_daemon_publishes_spend_its_alarm_fires_and_the_webhook_is_told_once() {
    let (moto, ms) = (Moto::start(), Ministack::start());
    let hook = WebhookReceiver::start(0);
    let dir = TempDir::new("cw-daemon");
    let config = daemon_config(&dir, &moto, &ms, &hook.url);
    let mut d = Daemon::start(&config, dir.0.join("d1.log"));
    let cw = Cw::new(&ms.url);
    // The forecast alarm ($5 threshold) goes to ALARM once the projection is published.
    wait_for(30, "the forecast alarm to go to ALARM", || {
        cw.alarms("costd-cw-tiny-forecast-50")
            .first()
            .filter(|a| a.2 == "ALARM")
            .map(|_| ())
    });
    let actual = cw.alarms("costd-cw-tiny-actual-1000");
    assert_eq!(actual.len(), 1);
    assert_ne!(actual[0].2, "ALARM", "month to date is below $100");
    // The metric landed.
    let listed = cw
        .rt
        .block_on(cw.client.list_metrics().namespace("CostdTest").send())
        .unwrap();
    let names: Vec<&str> = listed.metrics().iter().filter_map(|m| m.metric_name()).collect();
    assert!(
        names.contains(&"ProjectedMonthlySpend") && names.contains(&"MonthToDateSpend"),
        "{names:?}"
    );
    // costd's own transition was stored and the webhook told, once.
    wait_for(20, "the webhook", || (hook.count() == 1).then_some(()));
    let body: serde_json::Value = serde_json::from_str(&hook.bodies.lock().unwrap()[0]).unwrap();
    assert_eq!(body["transition"]["key"], "tiny/forecast/50");
    assert_eq!(
        (body["transition"]["from"].as_str(), body["transition"]["to"].as_str()),
        (Some("OK"), Some("ALARM"))
    );
    assert!(
        d.logs().contains("budget alarm ALARM"),
        "one structured log line per transition"
    );
    // A restart in ALARM neither repeats the notification …
    let took = d.terminate();
    assert!(took < StdDuration::from_secs(10), "SIGTERM took {took:?}");
    let _d2 = Daemon::start(&config, dir.0.join("d2.log"));
    wait_for(20, "the restarted daemon's projection", || {
        std::fs::read_to_string(dir.0.join("d2.log"))
            .ok()?
            .contains("projection")
            .then_some(())
    });
    std::thread::sleep(StdDuration::from_secs(3));
    assert_eq!(hook.count(), 1, "not repeated after a restart");
}

#[test]
fn a_dead_webhook_never_blocks_and_its_notification_survives_a_restart() {
    let (moto, ms) = (Moto::start(), Ministack::start());
    let port = free_port(); // nothing listens here yet
    let dir = TempDir::new("cw-dead-hook");
    let config = daemon_config(&dir, &moto, &ms, &format!("http://127.0.0.1:{port}/hook"));
    let mut d = Daemon::start(&config, dir.0.join("d1.log"));
    wait_for(30, "a failed delivery", || {
        d.logs().contains("notification failed; will retry").then_some(())
    });
    // The daemon kept working meanwhile: it keeps projecting.
    wait_for(30, "another projection", || {
        (d.logs().matches("projection").count() >= 2).then_some(())
    });
    d.kill9();
    // The receiver comes up; the restarted daemon delivers the stored notification.
    let hook = WebhookReceiver::start(port);
    let _d2 = Daemon::start(&config, dir.0.join("d2.log"));
    wait_for(30, "the late delivery", || (hook.count() >= 1).then_some(()));
    let body: serde_json::Value = serde_json::from_str(&hook.bodies.lock().unwrap()[0]).unwrap();
    assert_eq!(body["transition"]["to"], "ALARM");
}

#[test]
fn consumed_lcus_are_read_as_hourly_averages_summed() {
    use aws_sdk_cloudwatch::primitives::DateTime as SmithyTime;
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    use chrono::{Duration, Utc};
    let ms = Ministack::start();
    let cw = Cw::new(&ms.url);
    let lb = "app/demo-abc/0123456789abcdef";
    // Two hours ago: 2 and 4 LCUs (average 3); one hour ago: 1 LCU. Sum of hourly averages = 4.
    let now = Utc::now();
    let hour = |h: i64| (now - Duration::hours(h)).timestamp() / 3600 * 3600;
    for (at, v) in [(hour(2) + 60, 2.0), (hour(2) + 120, 4.0), (hour(1) + 60, 1.0)] {
        let d = MetricDatum::builder()
            .metric_name("ConsumedLCUs")
            .dimensions(Dimension::builder().name("LoadBalancer").value(lb).build())
            .value(v)
            .timestamp(SmithyTime::from_secs(at))
            .build();
        cw.rt
            .block_on(
                cw.client
                    .put_metric_data()
                    .namespace("AWS/ApplicationELB")
                    .metric_data(d)
                    .send(),
            )
            .unwrap();
    }
    let api = cw.api();
    let from = chrono::DateTime::from_timestamp(hour(3), 0).unwrap();
    let q = vec![
        ("1".to_string(), lb.to_string(), from, now),
        ("2".to_string(), "app/none/0".to_string(), from, now),
    ];
    let got = cw.rt.block_on(api.consumed_lcu_hours(&q)).unwrap();
    assert_eq!(got["1"], Some(rust_decimal_macros::dec!(4)));
    assert_eq!(got["2"], None, "no data: the projection models LCUs instead");
}
