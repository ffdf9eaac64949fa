//! Criterion benchmarks of the pure core (no I/O): scenario evaluations per
//! second, expanding a year of demo windows, and flow log records tallied
//! per second. Run: `cargo bench --bench model`.

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use costd::model;
use costd::pricing::load::PriceBook;
use costd::scenario::{EMBEDDED_SEED, Scenario};
use costd::schedule::{self, Interval};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn model(c: &mut Criterion) {
    let book = PriceBook::embedded().expect("embedded tables");
    let at = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
    let mut g = c.benchmark_group("model");
    g.throughput(Throughput::Elements(1));
    for (name, src) in [
        ("seed-production-vpc", EMBEDDED_SEED),
        (
            "internet-heavy-api",
            include_str!("../../config/scenarios/internet-heavy-api.toml"),
        ),
    ] {
        let scenario = Scenario::parse(name, src, &book.regions()).expect("scenario");
        let prices = book.get(&scenario.region).expect("table");
        g.bench_function(format!("evaluate/{name}"), |b| {
            b.iter(|| model::evaluate(black_box(&scenario), prices, at))
        });
    }
    g.bench_function("parse+evaluate/seed-production-vpc", |b| {
        b.iter(|| {
            let s = Scenario::parse("seed", black_box(EMBEDDED_SEED), &book.regions()).expect("scenario");
            model::evaluate(&s, book.get(&s.region).expect("table"), at)
        })
    });
    g.finish();
}

fn schedule_year(c: &mut Criterion) {
    let book = PriceBook::embedded().expect("embedded tables");
    let s = Scenario::parse("seed", EMBEDDED_SEED, &book.regions()).expect("scenario");
    let windows = s.load_balancer.expect("load balancer").schedule;
    let year = Interval::new(
        Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2028, 1, 1, 0, 0, 0).unwrap(),
    )
    .unwrap();
    c.bench_function("schedule/expand+merge a year of weekday windows", |b| {
        b.iter(|| schedule::merge(schedule::expand(black_box(&windows), year)))
    });
}

/// Flow log records parsed and attributed per second, on one core, against
/// an ip-ranges table about the size of AWS's (12,500 prefixes).
fn traffic(c: &mut Criterion) {
    use costd::traffic::fixture::{HEADER, Rng, ip_ranges, record};
    use costd::traffic::{Settings, Tally, flowlog::Format, ipranges::IpRanges, names::Names};
    let ranges = IpRanges::parse("generated", &ip_ranges(2500)).expect("ranges");
    let (n, mut rng) = (100_000u64, Rng(1));
    let mut text = String::new();
    for i in 0..n {
        record(&mut rng, 2500, i, n, 1_795_132_800, &mut text);
    }
    let lines: Vec<&[u8]> = text.lines().map(str::as_bytes).collect();
    let format = Format::parse(HEADER).expect("format");
    let settings = Settings::new("ap-southeast-1");
    let names = Names::default();
    let mut g = c.benchmark_group("traffic");
    g.throughput(Throughput::Elements(n));
    g.bench_function("tally 100,000 records", |b| {
        b.iter(|| {
            let mut t = Tally::new(&settings, &ranges, &names);
            for (i, l) in lines.iter().enumerate() {
                t.line(&format, black_box(l), "bench", i as u64).expect("line");
            }
            t.finish(&[]).expect("report")
        })
    });
    g.bench_function("ip-ranges lookup", |b| {
        let ip: std::net::IpAddr = "3.7.17.9".parse().unwrap();
        b.iter(|| ranges.lookup(black_box(ip)))
    });
    g.finish();
}

criterion_group!(benches, model, schedule_year, traffic);
criterion_main!(benches);
