//! Criterion benchmarks of the pure core (no I/O): scenario evaluations per
//! second, and expanding a year of demo windows. Run: `cargo bench --bench model`.

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

criterion_group!(benches, model, schedule_year);
criterion_main!(benches);
