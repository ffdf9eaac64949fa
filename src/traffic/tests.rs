use super::*;

const RANGES: &str = include_str!("../../tests/fixtures/traffic/ip-ranges.json");
const GIB: u64 = 1 << 30;
/// 2023-11-14T22:13:20Z; the last record ends 730 h later, so a month of
/// 730 hours is exactly the period and GB/month = bytes / 2^30.
const T0: i64 = 1_700_000_000;
const T_END: i64 = T0 + 730 * 3600;

const HEADER: &str =
    "version interface-id az-id srcaddr dstaddr bytes start end action log-status flow-direction traffic-path";

fn rec(eni: &str, az: &str, src: &str, dst: &str, bytes: u64, dir: &str, path: &str) -> String {
    format!(
        "5 {eni} {az} {src} {dst} {bytes} {T0} {} ACCEPT OK {dir} {path}",
        T0 + 60
    )
}

/// Lines of a generated day: every kind of record the tally tells apart.
fn lines() -> Vec<String> {
    vec![
        HEADER.to_string(),
        // S3 through the gateway endpoint (path 7), both directions, AZ 1: 1 + 2 GiB.
        rec("eni-a", "apse1-az1", "10.0.1.5", "52.219.128.10", GIB, "egress", "7"),
        rec(
            "eni-a",
            "apse1-az1",
            "52.219.128.10",
            "10.0.1.5",
            2 * GIB,
            "ingress",
            "-",
        ),
        // An EC2 /24 inside S3's /20: the most specific prefix wins → unnamed AWS, 0.25 GiB.
        rec("eni-a", "apse1-az1", "10.0.1.5", "52.219.130.7", GIB / 4, "egress", "8"),
        // IPv6 to S3's /40 inside AMAZON's /32, AZ 2: 0.5 GiB.
        rec(
            "eni-b",
            "apse1-az2",
            "fd00::5",
            "2406:da18:80ab::1",
            GIB / 2,
            "egress",
            "7",
        ),
        // The internet: 1 GiB out, 3 GiB in.
        rec("eni-b", "apse1-az2", "10.0.2.9", "93.184.216.34", GIB, "egress", "8"),
        rec(
            "eni-b",
            "apse1-az2",
            "93.184.216.34",
            "10.0.2.9",
            3 * GIB,
            "ingress",
            "-",
        ),
        // S3 in another region: internet traffic, not egress. 0.5 GiB.
        rec("eni-a", "apse1-az1", "10.0.1.5", "3.5.0.9", GIB / 2, "egress", "8"),
        // In the VPC, AZ 1 → AZ 2 (10.0.2.9 is in AZ 2, learned above): 2 GiB cross-AZ,
        // logged at both ends; the ingress copy is not counted again.
        rec("eni-a", "apse1-az1", "10.0.1.5", "10.0.2.9", 2 * GIB, "egress", "1"),
        rec("eni-b", "apse1-az2", "10.0.1.5", "10.0.2.9", 2 * GIB, "ingress", "-"),
        // Same AZ: 123 + 77 bytes (10.0.1.6 is learned as AZ 1 by its own egress record).
        rec("eni-a", "apse1-az1", "10.0.1.5", "10.0.1.6", 123, "egress", "1"),
        rec("eni-c", "apse1-az1", "10.0.1.6", "10.0.1.5", 77, "egress", "1"),
        // To and from the CloudWatch Logs interface endpoint (named by --endpoint): 0.75 + 0.25 GiB.
        rec(
            "eni-a",
            "apse1-az1",
            "10.0.1.5",
            "10.0.1.200",
            3 * GIB / 4,
            "egress",
            "1",
        ),
        rec("eni-a", "apse1-az1", "10.0.1.200", "10.0.1.5", GIB / 4, "ingress", "-"),
        // Not attributed: rejected, NODATA, metadata, the skipped NAT interface, neither end in the VPC.
        rec("eni-a", "apse1-az1", "10.0.1.5", "52.219.0.1", 999, "egress", "8").replace("ACCEPT", "REJECT"),
        format!("5 eni-d apse1-az1 - - - {T0} {} - NODATA - -", T0 + 60),
        rec("eni-a", "apse1-az1", "10.0.1.5", "169.254.169.254", 50, "egress", "1"),
        rec("eni-nat", "apse1-az1", "10.0.1.5", "52.219.0.9", 5555, "egress", "8"),
        rec("eni-x", "apse1-az1", "52.219.0.9", "93.184.216.34", 1, "egress", "8"),
        // Malformed: line 20.
        rec("eni-a", "apse1-az1", "10.0.1.5", "not-an-ip", 1, "egress", "1"),
        // The last record: DynamoDB, 0.125 GiB, ending T0 + 730 h.
        format!(
            "5 eni-a apse1-az1 10.0.1.5 52.94.1.1 {} {} {T_END} ACCEPT OK egress 7",
            GIB / 8,
            T_END - 60
        ),
        String::new(),
    ]
}

fn tally(lines: &[String], settings: &Settings, names: &Names) -> Result<Report, String> {
    let ranges = IpRanges::parse("ip-ranges.json", RANGES).unwrap();
    let mut t = Tally::new(settings, &ranges, names);
    t.start_file();
    let mut format = Format::default_v2();
    for (i, l) in lines.iter().enumerate() {
        if i == 0
            && let Some(f) = Format::from_header(l.as_bytes())
        {
            format = f.unwrap();
        }
        t.line(&format, l.as_bytes(), "day.log", i as u64 + 1)?;
    }
    t.finish(&[])
}

fn settings() -> Settings {
    Settings::new("ap-southeast-1")
        .with_skipped_interfaces(&["eni-nat".into()])
        .unwrap()
}

fn logs_endpoint() -> Names {
    let mut names = Names::default();
    names.endpoint_flag("10.0.1.200=logs", "ap-southeast-1").unwrap();
    names
}

fn gb(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Asserts that one of the report's notes contains `text`.
fn noted(r: &Report, text: &str) {
    assert!(r.notes.iter().any(|n| n.contains(text)), "{text}: {:?}", r.notes);
}

#[test]
fn every_byte_is_attributed_to_its_service_region_and_az() {
    let r = tally(&lines(), &settings(), &logs_endpoint()).unwrap();
    assert_eq!((r.from.timestamp(), r.to.timestamp()), (T0, T_END));
    assert_eq!(r.period_hours, dec!(730));
    // GB/month = bytes / 2^30 (the period is the 730-hour month):
    //   s3 = 1 + 2 (AZ 1) + 0.5 (IPv6, AZ 2) = 3.5
    //   internet = 1 + 3 (internet) + 0.5 (S3 in us-east-1) = 4.5
    //   logs = 0.75 + 0.25 = 1; aws_unnamed = 0.25 (the EC2 /24); dynamodb = 0.125
    let want: BTreeMap<String, Decimal> = [
        ("aws_unnamed", "0.25"),
        ("dynamodb", "0.125"),
        ("internet", "4.5"),
        ("logs", "1"),
        ("s3", "3.5"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), gb(v)))
    .collect();
    assert_eq!(r.traffic_gb_per_month, want);
    // Only the 1 GiB sent to the internet is egress.
    assert_eq!(r.internet_egress_gb_per_month, gb("1"));
    // Through a NAT: all but the gateway-endpoint destinations (S3 in the
    // region, DynamoDB) and the interface endpoint: 0.25 + 4.5 GiB.
    assert_eq!(r.through_nat_bytes, GIB / 4 + 4 * GIB + GIB / 2);
    // Cross-AZ: the 2 GiB egress record, once; same AZ 123 + 77 bytes.
    assert_eq!(
        r.cross_az,
        CrossAz {
            measured: true,
            cross_az_bytes: 2 * GIB,
            same_az_bytes: 200,
            unknown_bytes: 0,
            gb_per_month: gb("2"),
        }
    );
    // Per destination and AZ, to the byte.
    let row = |dest: &str, az: &str| {
        r.destinations
            .iter()
            .find(|d| d.destination == dest && d.az.as_deref() == Some(az))
            .map(|d| (d.sent_bytes, d.received_bytes, d.records, d.scenario_key.as_str()))
    };
    assert_eq!(
        row("AWS S3 (ap-southeast-1)", "apse1-az1"),
        Some((GIB, 2 * GIB, 2, "s3"))
    );
    assert_eq!(row("AWS S3 (ap-southeast-1)", "apse1-az2"), Some((GIB / 2, 0, 1, "s3")));
    assert_eq!(
        row("AWS EC2 (ap-southeast-1)", "apse1-az1"),
        Some((GIB / 4, 0, 1, "aws_unnamed"))
    );
    assert_eq!(
        row("AWS S3 (us-east-1)", "apse1-az1"),
        Some((GIB / 2, 0, 1, "internet"))
    );
    assert_eq!(row("internet", "apse1-az2"), Some((GIB, 3 * GIB, 2, "internet")));
    assert_eq!(
        row("logs (ap-southeast-1)", "apse1-az1"),
        Some((3 * GIB / 4, GIB / 4, 2, "logs"))
    );
    assert_eq!(
        row("AWS DYNAMODB (ap-southeast-1)", "apse1-az1"),
        Some((GIB / 8, 0, 1, "dynamodb"))
    );
    assert_eq!(r.destinations.len(), 7);
    // Largest first: internet (4 GiB), then S3 in AZ 1 (3 GiB).
    assert_eq!(r.destinations[0].destination, "internet");
    assert_eq!(r.destinations[1].az.as_deref(), Some("apse1-az1"));
    // Every line is accounted for.
    assert_eq!(
        r.counts,
        Counts {
            lines: 22,
            headers: 1,
            records: 18,
            attributed: 14,
            no_data: 1,
            rejected: 1,
            skipped_interface: 1,
            link_local: 1,
            outside_vpc: 1,
            malformed: 1,
        }
    );
    assert_eq!(
        r.malformed,
        vec![Malformed {
            file: "day.log".into(),
            line: 20,
            reason: "dstaddr `not-an-ip` is not an IP address".into()
        }]
    );
    noted(&r, "256 MB went to AWS addresses in ap-southeast-1");
    noted(&r, "512 MB went to AWS in other regions");
    noted(&r, "1 records had neither end in the VPC");
}

#[test]
fn without_the_endpoint_name_its_traffic_is_in_vpc_and_a_vpc_cidr_changes_what_is_local() {
    let r = tally(&lines(), &settings(), &Names::default()).unwrap();
    assert!(!r.traffic_gb_per_month.contains_key("logs"));
    // 10.0.1.200 has no interface in these logs, so no record names its AZ:
    // the 0.75 GiB sent to it are in-VPC bytes placed neither way (the 0.25
    // GiB from it are its ingress copy at eni-a, not counted again).
    assert_eq!(r.cross_az.unknown_bytes, 3 * GIB / 4);
    assert_eq!(r.cross_az.same_az_bytes, 200);
    noted(&r, "768 MB of in-VPC traffic went to addresses whose AZ");
    // With the VPC as 10.0.1.0/24 (and fd00::/8) only, 10.0.2.9 is outside.
    let narrow = settings()
        .with_vpc_cidrs(&["10.0.1.0/24".into(), "fd00::/8".into()])
        .unwrap();
    let r = tally(&lines(), &narrow, &logs_endpoint()).unwrap();
    // Its internet records have neither end in the VPC (2 more), and the
    // 2 GiB sent to it are internet traffic as logged at each end (AZ 1 and
    // AZ 2): internet = 0.5 (S3 in us-east-1) + 2 + 2.
    assert_eq!(r.traffic_gb_per_month["internet"], gb("4.5"));
    assert_eq!(r.internet_egress_gb_per_month, gb("4"));
    assert_eq!(r.counts.outside_vpc, 1 + 2);
    assert_eq!(r.cross_az.cross_az_bytes, 0);
}

#[test]
fn the_default_format_measures_destinations_but_not_cross_az() {
    let f = Format::default_v2();
    let line = |src: &str, dst: &str, bytes: u64, start: i64, end: i64| {
        format!("2 123456789012 eni-a {src} {dst} 443 50000 6 10 {bytes} {start} {end} ACCEPT OK")
    };
    let lines = [
        line("10.0.1.5", "52.219.128.1", 1000, T0, T0 + 1800),
        line("10.0.1.5", "10.0.2.9", 500, T0, T0 + 3600),
    ];
    let ranges = IpRanges::parse("r", RANGES).unwrap();
    let s = Settings::new("ap-southeast-1");
    let names = Names::default();
    let mut t = Tally::new(&s, &ranges, &names);
    for (i, l) in lines.iter().enumerate() {
        t.line(&f, l.as_bytes(), "f", i as u64 + 1).unwrap();
    }
    let r = t.finish(&[]).unwrap();
    // One hour of records scaled to 730 h: 1000 B × 730 / 2^30 = 0.00068 GB → 0.001.
    assert_eq!(r.period_hours, dec!(1));
    assert_eq!(r.traffic_gb_per_month["s3"], gb("0.001"));
    assert_eq!(r.destinations[0].az, None);
    assert!(!r.cross_az.measured);
    assert_eq!(r.cross_az.unknown_bytes, 500);
    noted(&r, "cross-AZ traffic is not measured");
}

#[test]
fn too_short_or_empty_logs_are_refused() {
    let f = Format::default_v2();
    let ranges = IpRanges::parse("r", RANGES).unwrap();
    let s = Settings::new("ap-southeast-1");
    let names = Names::default();
    let t = Tally::new(&s, &ranges, &names);
    assert!(t.finish(&[]).unwrap_err().contains("no records with traffic"));
    let mut t = Tally::new(&s, &ranges, &names);
    let l = format!("2 1 eni-a 10.0.1.5 52.219.128.1 1 2 6 1 10 {T0} {}", T0 + 59);
    t.line(&f, format!("{l} ACCEPT OK").as_bytes(), "f", 1).unwrap();
    assert!(t.finish(&[]).unwrap_err().contains("cover 59 s; at least 60 s"));
    let mut t = Tally::new(&s, &ranges, &names);
    let l = format!("2 1 eni-a 10.0.1.5 52.219.128.1 1 2 6 1 10 {T0} {} ACCEPT OK", T0 + 60);
    t.line(&f, l.as_bytes(), "f", 1).unwrap();
    assert_eq!(t.finish(&[]).unwrap().period_hours, gb("0.0167"));
}

#[test]
fn malformed_lines_are_counted_all_and_listed_up_to_the_bound() {
    let f = Format::default_v2();
    let ranges = IpRanges::parse("r", RANGES).unwrap();
    let s = Settings::new("ap-southeast-1");
    let names = Names::default();
    let mut t = Tally::new(&s, &ranges, &names);
    for i in 0..25 {
        t.line(&f, b"garbage", "bad.log", i + 1).unwrap();
    }
    let l = format!("2 1 eni-a 10.0.1.5 52.219.128.1 1 2 6 1 10 {T0} {} ACCEPT OK", T0 + 600);
    t.line(&f, l.as_bytes(), "bad.log", 26).unwrap();
    let r = t.finish(&[]).unwrap();
    assert_eq!(r.counts.malformed, 25);
    assert_eq!(r.malformed.len(), MAX_MALFORMED_LISTED);
    assert_eq!(r.malformed[19].line, 20);
    assert_eq!(r.malformed[0].reason, "1 fields where the format has 14");
}

#[test]
fn bounds_on_azs_and_flags() {
    let header = "version az-id srcaddr dstaddr bytes start end";
    let f = Format::parse(header).unwrap();
    let ranges = IpRanges::parse("r", RANGES).unwrap();
    let s = Settings::new("ap-southeast-1");
    let names = Names::default();
    let mut t = Tally::new(&s, &ranges, &names);
    for i in 0..MAX_AZS {
        let l = format!("5 az{i} 10.0.0.1 52.219.128.1 1 {T0} {}", T0 + 60);
        t.line(&f, l.as_bytes(), "f", 1).unwrap();
    }
    let l = format!("5 az-too-many 10.0.0.1 52.219.128.1 1 {T0} {}", T0 + 60);
    let e = t.line(&f, l.as_bytes(), "f", 1).unwrap_err();
    assert!(e.contains("more than 64 distinct az-id values"), "{e}");

    let cidrs: Vec<String> = (0..MAX_CIDRS).map(|i| format!("10.{i}.0.0/16")).collect();
    assert!(Settings::new("r").with_vpc_cidrs(&cidrs).is_ok());
    let mut over = cidrs.clone();
    over.push("10.99.0.0/16".into());
    assert!(
        Settings::new("r")
            .with_vpc_cidrs(&over)
            .unwrap_err()
            .contains("at most 50")
    );
    let e = Settings::new("r").with_vpc_cidrs(&["10.0.0.0".into()]).unwrap_err();
    assert!(e.contains("--vpc-cidr: `10.0.0.0` is not a CIDR block"), "{e}");
    let enis: Vec<String> = (0..MAX_SKIPPED_INTERFACES).map(|i| format!("eni-{i:017x}")).collect();
    assert!(Settings::new("r").with_skipped_interfaces(&enis).is_ok());
    let mut over = enis.clone();
    over.push("eni-1".into());
    assert!(
        Settings::new("r")
            .with_skipped_interfaces(&over)
            .unwrap_err()
            .contains("at most 1000")
    );
    let e = Settings::new("r")
        .with_skipped_interfaces(&["i-123".into()])
        .unwrap_err();
    assert!(e.contains("is not an interface ID"), "{e}");
}

#[test]
fn the_traffic_file_reads_back_as_a_scenario_network() {
    let r = tally(&lines(), &settings(), &logs_endpoint()).unwrap();
    let text = r.to_toml("VPC Flow Logs: 1 file");
    let scenario = format!("region = \"ap-southeast-1\"\n{text}\n[network.more]\n");
    assert!(text.contains("cross_az_gb_per_month = 2\n"), "{text}");
    assert!(
        text.contains("s3 = 3.5\n") && text.contains("aws_unnamed = 0.25\n"),
        "{text}"
    );
    assert!(text.contains("source = \"VPC Flow Logs: 1 file\""), "{text}");
    // The same volumes come back out of the scenario parser (minus the stray table).
    let scenario = scenario.replace("\n[network.more]\n", "");
    let s = crate::scenario::Scenario::parse(
        "t.toml",
        &scenario.replace("[network]\n", "[network]\nazs = 2\n"),
        &["ap-southeast-1"],
    )
    .unwrap();
    let n = s.network.unwrap();
    assert_eq!(
        (n.s3_gb, n.dynamodb_gb, n.internet_gb),
        (gb("3.5"), gb("0.125"), gb("4.5"))
    );
    assert_eq!(n.services_gb["logs"], gb("1"));
    assert_eq!(n.unnamed_aws_gb, gb("0.25"));
    assert_eq!(n.cross_az_gb, gb("2"));
    let m = n.measured.unwrap();
    assert_eq!(m.source, "VPC Flow Logs: 1 file");
    assert!(m.keys.contains("s3") && m.keys.contains("cross_az") && m.keys.contains("internet_egress"));
}

#[test]
fn in_vpc_addresses_and_pairs_are_bounded() {
    let ranges = IpRanges::parse("r", RANGES).unwrap();
    let s = Settings::new("ap-southeast-1");
    let names = Names::default();
    let mut t = Tally::new(&s, &ranges, &names);
    for k in 0..MAX_VPC_ADDRESSES as u128 {
        t.learn(k, 0);
    }
    assert_eq!(t.vpc.overflow, 0);
    t.learn(0, 1); // a known address may move
    assert_eq!(t.vpc.az_of[&0], 1);
    t.learn(u128::MAX, 0);
    assert_eq!((t.vpc.overflow, t.vpc.az_of.len()), (1, MAX_VPC_ADDRESSES));
    let f = Format::parse(HEADER).unwrap();
    let egress = |dst: u128| {
        let ip = std::net::Ipv6Addr::from((0xfd00u128 << 112) | dst);
        format!("5 eni-a apse1-az1 fd00::1 {ip} 10 {T0} {} ACCEPT OK egress 1", T0 + 60)
    };
    for k in 0..MAX_VPC_ADDRESSES as u128 {
        t.vpc.pending.insert((0, k), 1);
    }
    t.line(&f, egress(5).as_bytes(), "f", 1).unwrap();
    // One more address (fd00::1, the sender) and one more pair: two more overflows.
    assert_eq!(t.vpc.overflow, 3);
    assert_eq!(t.vpc.unplaced, 10);
}

#[test]
fn a_measured_section_is_bounded_and_names_its_estimates() {
    let base = "region = \"ap-southeast-1\"\n[network]\nazs = 2\n[network.traffic_gb_per_month]\ns3 = 1\nlogs = 2\n[network.measured]\n";
    let parse = |m: &str| crate::scenario::Scenario::parse("m.toml", &format!("{base}{m}"), &["ap-southeast-1"]);
    let ok = "source = \"x\"\nfrom = \"a\"\nto = \"b\"\n";
    let n = parse(ok).unwrap().network.unwrap();
    assert!(n.is_measured("logs") && n.is_measured("s3") && !n.is_measured("cross_az"));
    let n = parse(&format!("{ok}estimated = [\"logs\"]\n"))
        .unwrap()
        .network
        .unwrap();
    assert!(!n.is_measured("logs") && n.is_measured("s3"));
    let e = parse(&format!("{ok}estimated = [\"sts\"]\n")).unwrap_err();
    assert!(e.message.contains("`sts` is not one of the volumes"), "{e}");
    let long = |n: usize| "x".repeat(n);
    assert!(
        parse(&format!(
            "source = \"{}\"\nfrom = \"{}\"\nto = \"{}\"\n",
            long(200),
            long(40),
            long(40)
        ))
        .is_ok()
    );
    for (src, key) in [
        (
            format!("source = \"{}\"\nfrom = \"a\"\nto = \"b\"\n", long(201)),
            "network.measured.source",
        ),
        (
            format!("source = \"a\"\nfrom = \"{}\"\nto = \"b\"\n", long(41)),
            "network.measured.from",
        ),
        (
            format!("source = \"a\"\nfrom = \"b\"\nto = \"{}\"\n", long(41)),
            "network.measured.to",
        ),
    ] {
        let e = parse(&src).unwrap_err();
        assert_eq!(e.key, key, "{e}");
    }
    let e = parse("source = \"a\"\nfrom = \"b\"\n").unwrap_err();
    assert!(e.message.contains("missing"), "{e}");
}

/// With the endpoint's own interface in the logs, each byte to or from it
/// is logged twice; the workload's copy is counted.
#[test]
fn an_endpoint_logged_at_both_ends_is_counted_once() {
    let lines = vec![
        HEADER.to_string(),
        // 100 bytes to the endpoint: the workload's egress and the endpoint's ingress.
        rec("eni-a", "apse1-az1", "10.0.1.5", "10.0.1.200", 100, "egress", "1"),
        rec("eni-ep", "apse1-az1", "10.0.1.5", "10.0.1.200", 100, "ingress", "-"),
        // 300 bytes back: the endpoint's egress and the workload's ingress.
        rec("eni-ep", "apse1-az1", "10.0.1.200", "10.0.1.5", 300, "egress", "1"),
        rec("eni-a", "apse1-az1", "10.0.1.200", "10.0.1.5", 300, "ingress", "-"),
        format!(
            "5 eni-a apse1-az1 10.0.1.5 93.184.216.34 1 {T0} {} ACCEPT OK egress 8",
            T0 + 3600
        ),
    ];
    let r = tally(&lines, &settings(), &logs_endpoint()).unwrap();
    let logs = r.destinations.iter().find(|d| d.scenario_key == "logs").unwrap();
    assert_eq!((logs.sent_bytes, logs.received_bytes, logs.records), (100, 300, 2));
    assert_eq!(r.counts.attributed, 5);
}
