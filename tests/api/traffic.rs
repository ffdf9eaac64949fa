//! `costd traffic` on generated VPC Flow Logs (a directory of gzip and plain
//! files, a custom format with a header and the default one without),
//! against the ip-ranges fixture: every byte where it belongs, malformed
//! lines reported by file and line, the measured volumes written into a
//! scenario and priced by `costd model`; NAT gateway counts read from
//! ministack's CloudWatch; ip-ranges.json fetched over HTTP.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::Command;

use serde_json::Value;

use crate::helpers::{Ministack, Rng, TempDir, costd, repo};

const RANGES: &str = "tests/fixtures/traffic/ip-ranges.json";
const HEADER: &str = "version account-id interface-id az-id srcaddr dstaddr bytes start end action log-status flow-direction traffic-path";

/// Where a generated record goes, and the scenario key it must land under.
const DESTS: [(&str, &str); 5] = [
    ("52.219.129.7", "s3"),          // S3's /20 (also listed as EC2 and AMAZON)
    ("52.94.2.1", "dynamodb"),       // DynamoDB's /22
    ("52.219.130.9", "aws_unnamed"), // EC2's /24 inside S3's /20: most specific wins
    ("2406:da18:80ab::9", "s3"),     // S3's IPv6 /40 inside AMAZON's /32
    ("93.184.216.34", "internet"),   // no AWS range
];

/// What the generator wrote, tallied independently of costd.
#[derive(Default)]
struct Truth {
    /// Scenario key → bytes (both directions).
    by_key: BTreeMap<String, u64>,
    /// Bytes sent to the internet.
    egress: u64,
    /// Cross-AZ bytes (egress records between AZs).
    cross_az: u64,
    records: u64,
}

/// One day of records starting at `t0`: `n` records with random
/// destinations, directions, AZs and sizes; in-VPC traffic between
/// 10.0.1.x (AZ 1) and 10.0.2.x (AZ 2).
fn generate(rng: &mut Rng, n: usize, t0: i64, truth: &mut Truth, header: bool) -> String {
    let mut out = String::new();
    if header {
        out.push_str(HEADER);
        out.push('\n');
    }
    for i in 0..n {
        let az = 1 + (rng.next() % 2);
        let local = if az == 1 { "10.0.1.5" } else { "10.0.2.9" };
        let local6 = if az == 1 { "fd00::15" } else { "fd00::29" };
        let bytes = 40 + rng.next() % 5_000_000;
        let start = t0 + (i as i64 * 86_340) / n as i64;
        let end = start + 60;
        // The default format has no direction or AZ: no in-VPC records there.
        let kind = rng.next() % if header { 7 } else { 5 };
        let (src, dst, dir, path) = if kind < 5 {
            let (remote, key) = DESTS[kind as usize];
            let local = if remote.contains(':') { local6 } else { local };
            let sent = rng.next().is_multiple_of(2);
            *truth.by_key.entry(key.to_string()).or_default() += bytes;
            if key == "internet" && sent {
                truth.egress += bytes;
            }
            if sent {
                (
                    local,
                    remote,
                    "egress",
                    if key == "s3" || key == "dynamodb" { "7" } else { "8" },
                )
            } else {
                (remote, local, "ingress", "-")
            }
        } else {
            // In the VPC, logged at both ends: the egress record counts.
            let other = if rng.next().is_multiple_of(2) {
                "10.0.1.6"
            } else {
                "10.0.2.8"
            };
            let other_az = if other.starts_with("10.0.1.") { 1 } else { 2 };
            if other_az != az {
                truth.cross_az += bytes;
            }
            out.push_str(&format!(
                "5 123456789012 eni-{other_az} apse1-az{other_az} {local} {other} {bytes} {start} {end} ACCEPT OK ingress -\n"
            ));
            truth.records += 1;
            (local, other, "egress", "1")
        };
        if header {
            out.push_str(&format!(
                "5 123456789012 eni-{az} apse1-az{az} {src} {dst} {bytes} {start} {end} ACCEPT OK {dir} {path}\n"
            ));
        } else {
            out.push_str(&format!(
                "2 123456789012 eni-{az} {src} {dst} 443 50000 6 10 {bytes} {start} {end} ACCEPT OK\n"
            ));
        }
        truth.records += 1;
    }
    out
}

fn gzip(text: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

fn json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "costd failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn bytes_of(v: &Value, key: &str) -> u64 {
    v["traffic"]["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["scenario_key"] == key)
        .map(|d| d["sent_bytes"].as_u64().unwrap() + d["received_bytes"].as_u64().unwrap())
        .sum()
}

const T0: i64 = 1_795_132_800; // 2026-11-20T00:00:00Z

#[test]
fn a_generated_day_is_attributed_to_the_byte_and_priced_as_measured() {
    let dir = TempDir::new("traffic-day");
    let logs = dir.0.join("AWSLogs/123456789012/vpcflowlogs/ap-southeast-1/2026/11/20");
    std::fs::create_dir_all(&logs).unwrap();
    let mut rng = Rng(17);
    let mut truth = Truth::default();
    // Two gzip files with a header (the custom format, as S3 delivery writes them)…
    let a = generate(&mut rng, 4000, T0, &mut truth, true);
    std::fs::write(logs.join("a.log.gz"), gzip(&a)).unwrap();
    let b = generate(&mut rng, 3000, T0, &mut truth, true);
    // … one of them two gzip members back to back.
    let (b1, b2) = b.split_at(b.len() / 2 + b[b.len() / 2..].find('\n').unwrap() + 1);
    let mut two = gzip(b1);
    two.extend(gzip(&format!("{HEADER}\n{b2}")));
    std::fs::write(logs.join("b.log.gz"), two).unwrap();
    // … a plain file in the default format, no header (as exported from CloudWatch Logs) …
    let d = generate(&mut rng, 500, T0, &mut truth, false);
    std::fs::write(logs.join("d.log"), d).unwrap();
    // … and a plain file with bad lines: lines 2 and 4.
    let c = format!(
        "{HEADER}\n5 1 eni-1 apse1-az1 10.0.1.5 52.219.129.7 12 {T0} notatime ACCEPT OK egress 7\n5 123456789012 eni-1 apse1-az1 10.0.1.5 93.184.216.34 100 {T0} {} ACCEPT OK egress 8\ntruncated line\n",
        T0 + 86_400
    );
    truth.records += 1;
    *truth.by_key.entry("internet".into()).or_default() += 100;
    truth.egress += 100;
    std::fs::write(logs.join("c.log"), c).unwrap();

    let measure = |format: &str| {
        let dir = dir.0.to_str().unwrap();
        costd(&[
            "traffic",
            dir,
            "--ip-ranges",
            RANGES,
            "--region",
            "ap-southeast-1",
            "--format",
            format,
        ])
    };
    let v = json(&measure("json"));
    let t = &v["traffic"];
    assert_eq!(t["files"], 4);
    assert_eq!(t["counts"]["records"].as_u64().unwrap(), truth.records);
    assert_eq!(t["counts"]["malformed"], 2);
    let c_path = logs.join("c.log").display().to_string();
    assert_eq!(t["malformed"][0]["file"], c_path.as_str());
    assert_eq!(t["malformed"][0]["line"], 2);
    assert!(t["malformed"][0]["reason"].as_str().unwrap().contains("end `notatime`"));
    assert_eq!(t["malformed"][1]["line"], 4);
    // Every byte under its key.
    for (key, want) in &truth.by_key {
        assert_eq!(bytes_of(&v, key), *want, "{key}");
    }
    let sent_internet: u64 = t["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["destination"] == "internet")
        .map(|d| d["sent_bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(sent_internet, truth.egress);
    assert_eq!(t["cross_az"]["cross_az_bytes"].as_u64().unwrap(), truth.cross_az);
    assert_eq!(t["cross_az"]["measured"], true);
    // Scaled to a month: the records cover T0 → T0 + 24 h (c.log's last
    // record), so GB/month = bytes / 2^30 × 730 / 24.
    assert_eq!(t["period_hours"], "24");
    let gb = |b: u64| -> rust_decimal::Decimal {
        (rust_decimal::Decimal::from(b) / rust_decimal::Decimal::from(1u64 << 30) * rust_decimal::Decimal::from(730)
            / rust_decimal::Decimal::from(24))
        .round_dp(3)
    };
    for (key, want) in &truth.by_key {
        let got: rust_decimal::Decimal = t["traffic_gb_per_month"][key].as_str().unwrap().parse().unwrap();
        assert_eq!(got, gb(*want), "{key}");
    }

    // The traffic file, priced by costd model with the seed scenario.
    let measured = measure("toml");
    assert!(measured.status.success());
    let measured_path = dir.write("measured.toml", std::str::from_utf8(&measured.stdout).unwrap());
    let model = json(&costd(&[
        "model",
        "--traffic",
        measured_path.to_str().unwrap(),
        "--format",
        "json",
    ]));
    let n = &model["network"];
    assert!(
        n["measured"]["source"]
            .as_str()
            .unwrap()
            .starts_with("VPC Flow Logs: 4 file(s)")
    );
    // A NAT carries the internet and the unnamed AWS traffic in the hybrid
    // option: its processing quantity is their sum as the traffic file has them.
    let file_gb =
        |k: &str| -> rust_decimal::Decimal { t["traffic_gb_per_month"][k].as_str().unwrap().parse().unwrap() };
    let hybrid = n["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "hybrid")
        .unwrap();
    let processing = hybrid["line_items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["item"].as_str().unwrap().starts_with("NAT data processing"))
        .unwrap();
    let quantity: rust_decimal::Decimal = processing["quantity"].as_str().unwrap().parse().unwrap();
    assert_eq!(quantity, file_gb("internet") + file_gb("aws_unnamed"));
    assert!(n["break_even"].as_array().unwrap().is_empty());
    let table = costd(&["model", "--traffic", measured_path.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("traffic measured: VPC Flow Logs: 4 file(s)"), "{text}");
    assert!(text.contains("Cross-AZ within the VPC (measured)"), "{text}");

    // --write puts the volumes into a scenario; the rest of it is kept.
    let seed = std::fs::read_to_string(repo().join("config/scenarios/seed-production-vpc.toml")).unwrap();
    let scenario = dir.write("vpc.toml", &seed);
    let out = costd(&[
        "traffic",
        dir.0.to_str().unwrap(),
        "--ip-ranges",
        RANGES,
        "--scenario",
        scenario.to_str().unwrap(),
        "--write",
        "--endpoint",
        "10.0.1.6=logs",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("PRICED WITH THE SCENARIO"), "{text}");
    assert!(text.contains("logs: "), "{text}");
    let written = std::fs::read_to_string(&scenario).unwrap();
    assert!(
        written.contains("[load_balancer]") && written.contains("[network.measured]"),
        "{written}"
    );
    let model = json(&costd(&[
        "model",
        "--scenario",
        scenario.to_str().unwrap(),
        "--format",
        "json",
    ]));
    let logs_row = model["network"]["break_even"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["service"] == "logs")
        .unwrap()
        .clone();
    assert_eq!(logs_row["measured"], true);
}

#[test]
fn bad_inputs_are_refused_naming_what_is_wrong() {
    let dir = TempDir::new("traffic-bad");
    let log = dir.write(
        "x.log",
        &format!(
            "2 1 eni-1 10.0.1.5 52.219.129.7 1 2 6 1 10 {T0} {} ACCEPT OK\n",
            T0 + 600
        ),
    );
    let l = log.to_str().unwrap();
    let bad_header = dir.write("h.log", "version srcaddr dstaddr bytes start colour\n");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec![l, "--ip-ranges", RANGES], "--region: the VPC's region is needed"),
        (
            vec![l, "--ip-ranges", RANGES, "--region", "nowhere"],
            "is not an AWS region code",
        ),
        (
            vec![l, "--ip-ranges", "missing.json", "--region", "ap-southeast-1"],
            "cannot read missing.json",
        ),
        (
            vec![
                l,
                "--ip-ranges",
                RANGES,
                "--region",
                "ap-southeast-1",
                "--vpc-cidr",
                "10.0.0.0",
            ],
            "--vpc-cidr: `10.0.0.0` is not a CIDR block",
        ),
        (
            vec![
                l,
                "--ip-ranges",
                RANGES,
                "--region",
                "ap-southeast-1",
                "--endpoint",
                "10.0.0.1",
            ],
            "expected ADDRESS=SERVICE",
        ),
        (
            vec![
                l,
                "--ip-ranges",
                RANGES,
                "--region",
                "ap-southeast-1",
                "--fields",
                "srcaddr dstaddr",
            ],
            "--fields: the format lacks `bytes`",
        ),
        (
            vec![
                bad_header.to_str().unwrap(),
                "--ip-ranges",
                RANGES,
                "--region",
                "ap-southeast-1",
            ],
            "h.log:1: header: `colour` is not a flow log field",
        ),
        (
            vec!["/nonexistent-dir", "--ip-ranges", RANGES, "--region", "ap-southeast-1"],
            "cannot read /nonexistent-dir",
        ),
        (
            vec![
                l,
                "--ip-ranges",
                RANGES,
                "--region",
                "ap-southeast-1",
                "--nat-gateway",
                "igw-1",
            ],
            "is not a NAT gateway ID",
        ),
        (
            vec![
                l,
                "--ip-ranges",
                RANGES,
                "--region",
                "ap-southeast-1",
                "--hours-per-month",
                "745",
            ],
            "745 is not in 1..=744",
        ),
        (
            vec![
                l,
                "--ip-ranges",
                RANGES,
                "--region",
                "ap-southeast-1",
                "--hours-per-month",
                "0",
            ],
            "0 is not in 1..=744",
        ),
    ];
    // At most 10 NAT gateways.
    let ids: Vec<String> = (0..11).map(|i| format!("nat-{i:017x}")).collect();
    let mut args = vec!["traffic", l, "--ip-ranges", RANGES, "--region", "ap-southeast-1"];
    for id in &ids {
        args.extend(["--nat-gateway", id.as_str()]);
    }
    let out = costd(&args);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("11 --nat-gateway values; at most 10"));
    for (args, want) in cases {
        let mut all = vec!["traffic"];
        all.extend(args.iter());
        let out = costd(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{all:?}: {err}");
        assert!(err.contains(want), "{all:?}: {err}");
    }
    let out = costd(&["model", "--traffic", bad_header.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("h.log"));
}

#[test]
fn nat_gateway_counts_from_cloudwatch_are_set_beside_the_flow_logs() {
    use aws_sdk_cloudwatch::primitives::DateTime as SmithyTime;
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    let ms = Ministack::start();
    let (rt, conf) = crate::helpers::emulator_sdk(&ms.url, "ap-southeast-1");
    let client = aws_sdk_cloudwatch::Client::new(&conf);
    let nat = "nat-0123456789abcdef0";
    // Three hours of flow logs ending at the last whole hour.
    let end = chrono::Utc::now().timestamp() / 3600 * 3600 - 3600;
    let start = end - 3 * 3600;
    let dir = TempDir::new("traffic-nat");
    // Through the NAT: 300 MiB out and 700 MiB back from the internet (1,000 MiB).
    let mib = 1u64 << 20;
    let log = format!(
        "{HEADER}\n5 1 eni-1 apse1-az1 10.0.1.5 93.184.216.34 {} {start} {} ACCEPT OK egress 8\n5 1 eni-1 apse1-az1 93.184.216.34 10.0.1.5 {} {} {end} ACCEPT OK ingress -\n",
        300 * mib,
        start + 60,
        700 * mib,
        end - 60
    );
    let log = dir.write("nat.log", &log);
    // The NAT's own counters, one datum per metric per hour: it processed
    // BytesInFromSource 3 × 100 MiB + BytesInFromDestination 3 × 250 MiB = 1,050 MiB.
    let metrics = [
        ("BytesOutToDestination", 100.0),
        ("BytesInFromDestination", 250.0),
        ("BytesOutToSource", 250.0),
        ("BytesInFromSource", 100.0),
    ];
    for h in 0..3 {
        for (name, mibs) in metrics {
            let d = MetricDatum::builder()
                .metric_name(name)
                .dimensions(Dimension::builder().name("NatGatewayId").value(nat).build())
                .value(mibs * mib as f64)
                .timestamp(SmithyTime::from_secs(start + h * 3600 + 120))
                .build();
            rt.block_on(
                client
                    .put_metric_data()
                    .namespace("AWS/NATGateway")
                    .metric_data(d)
                    .send(),
            )
            .unwrap();
        }
    }
    let defaults = std::fs::read_to_string(repo().join("config/costd.toml")).unwrap();
    let cfg = dir.write(
        "costd.toml",
        &defaults.replacen(
            "[aws]\n",
            &format!("[aws]\ncloudwatch_endpoint_url = \"{}\"\n", ms.url),
            1,
        ),
    );
    let nat_check = |format: &str| {
        Command::new(env!("CARGO_BIN_EXE_costd"))
            .args([
                "traffic",
                log.to_str().unwrap(),
                "--ip-ranges",
                RANGES,
                "--region",
                "ap-southeast-1",
            ])
            .args([
                "--nat-gateway",
                nat,
                "--config",
                cfg.to_str().unwrap(),
                "--format",
                format,
            ])
            .current_dir(repo())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .output()
            .unwrap()
    };
    let out = nat_check("json");
    let v = json(&out);
    let n = &v["traffic"]["nat_gateways"][0];
    assert_eq!(n["nat_gateway_id"], nat);
    assert_eq!(n["bytes_in_from_source"].as_u64().unwrap(), 300 * mib);
    assert_eq!(n["bytes_in_from_destination"].as_u64().unwrap(), 750 * mib);
    assert_eq!(n["bytes_out_to_destination"].as_u64().unwrap(), 300 * mib);
    assert_eq!(n["processed_bytes"].as_u64().unwrap(), 1050 * mib);
    assert_eq!(v["traffic"]["through_nat_bytes"].as_u64().unwrap(), 1000 * mib);
    assert_eq!(n["flow_log_bytes"].as_u64().unwrap(), 1000 * mib);
    assert_eq!(n["difference_bytes"].as_i64().unwrap(), 50 * mib as i64);
    // The table shows the difference: 1,050 − 1,000 MiB = 50 MB, 4.8 % of the NAT's count.
    let out = nat_check("table");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("difference 50 MB (4.8% of the NAT's count)"), "{text}");
}

#[test]
fn ip_ranges_are_fetched_over_http_when_asked() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let body = std::fs::read_to_string(repo().join(RANGES)).unwrap();
    let loops = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = loops.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let Some((head, _)) = crate::helpers::read_http_request(&mut conn) else {
                continue;
            };
            let resp = if head.starts_with("GET /ip-ranges.json ") {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else if head.starts_with("GET /big.json ") {
                // One byte over the 32 MiB bound, declared: refused before the body.
                "HTTP/1.1 200 OK\r\nContent-Length: 33554433\r\nConnection: close\r\n\r\n".to_string()
            } else if head.starts_with("GET /loop.json ") {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                "HTTP/1.1 302 Found\r\nLocation: /loop.json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_string()
            } else {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
            };
            let _ = conn.write_all(resp.as_bytes());
        }
    });
    let dir = TempDir::new("traffic-fetch");
    let log = dir.write(
        "x.log",
        &format!(
            "2 1 eni-1 10.0.1.5 52.219.129.7 1 2 6 1 1000 {T0} {} ACCEPT OK\n",
            T0 + 3600
        ),
    );
    let url = format!("http://{addr}/ip-ranges.json");
    let v = json(&costd(&[
        "traffic",
        log.to_str().unwrap(),
        "--fetch-ip-ranges",
        "--ip-ranges-url",
        &url,
        "--region",
        "ap-southeast-1",
        "--format",
        "json",
    ]));
    assert_eq!(v["traffic"]["ip_ranges_date"], "2026-11-20-01-02-03");
    assert_eq!(bytes_of(&v, "s3"), 1000);
    let out = costd(&[
        "traffic",
        log.to_str().unwrap(),
        "--fetch-ip-ranges",
        "--ip-ranges-url",
        &format!("http://{addr}/missing.json"),
        "--region",
        "ap-southeast-1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 404"));
    // Bounded: 32 MiB, and at most 5 redirects.
    let fetch = |path: &str| {
        costd(&[
            "traffic",
            log.to_str().unwrap(),
            "--fetch-ip-ranges",
            "--ip-ranges-url",
            &format!("http://{addr}/{path}"),
            "--region",
            "ap-southeast-1",
        ])
    };
    let out = fetch("big.json");
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("larger than 33554432 bytes"), "{e}");
    let out = fetch("loop.json");
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("redirect"), "{e}");
    // The first request and 5 redirects followed.
    assert_eq!(loops.load(std::sync::atomic::Ordering::SeqCst), 6);
}
