//! Bad input, tried at scale (proptest; cargo-fuzz needs a nightly toolchain):
//! scenario files, the config file, price tables, and every JSON/TOML body the
//! API accepts. Inputs are random text and mutations of valid files (bytes
//! flipped, lines dropped or duplicated, values swapped). The properties: no
//! panic, no hang, every rejection a clean error naming where.
//!
//! The default run is short (`PROPTEST_CASES`, 256 per target); a long run:
//! `PROPTEST_CASES=20000 cargo test --release --test api fuzz`.

use proptest::prelude::*;

use crate::helpers::repo;

fn seed(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap()
}

/// A valid file mutated: some lines dropped, duplicated or altered, a few bytes replaced.
fn mutated(base: String) -> impl Strategy<Value = String> {
    let lines: Vec<String> = base.lines().map(str::to_string).collect();
    let n = lines.len();
    (
        proptest::collection::vec((0..n, 0u8..4, any::<u8>(), "[ -~]{0,12}"), 1..8),
        proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
    )
        .prop_map(move |(edits, bytes)| {
            let mut l = lines.clone();
            for (i, op, b, text) in edits {
                let i = i % l.len().max(1);
                match op {
                    0 if !l.is_empty() => {
                        l.remove(i);
                    }
                    1 if !l.is_empty() => {
                        let dup = l[i].clone();
                        l.insert(i, dup);
                    }
                    2 if !l.is_empty() => {
                        // Replace the value after `=` with something else.
                        if let Some((k, _)) = l[i].split_once('=') {
                            l[i] = format!("{k}= {text}");
                        }
                    }
                    _ if !l.is_empty() => {
                        let bounds: Vec<usize> = l[i].char_indices().map(|(p, _)| p).chain([l[i].len()]).collect();
                        let pos = bounds[(b as usize) % bounds.len()];
                        l[i].insert_str(pos, &text);
                    }
                    _ => {}
                }
            }
            let mut s = l.join("\n").into_bytes();
            for (at, b) in bytes {
                if !s.is_empty() {
                    let at = at % s.len();
                    s[at] = b;
                }
            }
            String::from_utf8_lossy(&s).into_owned()
        })
}

/// Runs `f` on a thread of its own: an input that takes over 5 s is a hang
/// and fails the case (a panic inside fails it too).
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    within_for(std::time::Duration::from_secs(5), what, f)
}

fn within_for<T: Send + 'static>(limit: std::time::Duration, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("{what} hung: no answer in {limit:?}"),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("{what} panicked"),
    }
}

#[test]
#[should_panic(expected = "a stuck parser hung")]
fn the_hang_guard_fails_a_case_that_does_not_return() {
    within_for(std::time::Duration::from_millis(100), "a stuck parser", || {
        std::thread::sleep(std::time::Duration::from_secs(2))
    });
}

#[test]
#[should_panic(expected = "a broken parser panicked")]
fn the_hang_guard_fails_a_case_that_panics() {
    within("a broken parser", || panic!("boom"));
}

fn regions() -> Vec<&'static str> {
    vec!["ap-southeast-1", "eu-west-1", "us-east-1", "us-west-2"]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn scenarios_never_panic(text in prop_oneof![mutated(seed("config/scenarios/seed-production-vpc.toml")), mutated(seed("config/scenarios/internet-heavy-api.toml")), "\\PC{0,400}"]) {
        let input = text.clone();
        let parsed = within("scenario parse + evaluate", move || {
            let parsed = costd::scenario::Scenario::parse("fuzz.toml", &input, &regions());
            if let Ok(s) = &parsed {
                // Whatever parses also prices without panicking.
                let book = costd::pricing::load::PriceBook::embedded().unwrap();
                let at = chrono::DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z").unwrap().to_utc();
                let _ = costd::model::evaluate(s, book.get(&s.region).unwrap(), at);
            }
            parsed.err()
        });
        if let Some(e) = parsed {
            prop_assert_eq!(e.file.as_str(), "fuzz.toml");
            prop_assert!(!e.message.is_empty());
            prop_assert!(e.line <= text.lines().count() + 1, "line {} of {}", e.line, text.lines().count());
        }
    }

    #[test]
    fn configs_never_panic(text in prop_oneof![mutated(seed("config/costd.toml")), "\\PC{0,400}"]) {
        // Paths in a mutated config resolve under a directory with nothing in it.
        let dir = std::env::temp_dir().join("costd-fuzz-empty");
        let _ = std::fs::create_dir_all(&dir);
        let input = text.clone();
        let parsed = within("config parse", move || costd::config::Config::parse("fuzz.toml", &input, &dir).err());
        if let Some(e) = parsed {
            prop_assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn price_tables_never_panic(text in prop_oneof![mutated(seed("pricing/ap-southeast-1.toml")), mutated(seed("pricing/us-east-1.toml")), "\\PC{0,400}"]) {
        let parsed = within("price table parse", move || costd::pricing::PriceTable::parse("fuzz.toml", &text).err());
        if let Some(e) = parsed {
            prop_assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn price_list_entries_never_panic(text in prop_oneof![
        Just(r#"{"product":{"productFamily":"NAT Gateway","attributes":{"regionCode":"us-east-1","usagetype":"NatGateway-Hours"},"sku":"S"},"terms":{"OnDemand":{"S.T":{"effectiveDate":"2026-11-01T00:00:00Z","priceDimensions":{"S.T.R":{"unit":"Hrs","beginRange":"0","endRange":"Inf","pricePerUnit":{"USD":"0.045"}}}}}}}"#.to_string()).prop_flat_map(mutated),
        "\\PC{0,300}"
    ]) {
        within("Price List parse", move || {
            let _ = costd::pricing::pricelist::parse_get_products_entry(&text);
            let _ = costd::pricing::pricelist::parse_offer_file(&text);
        });
    }
}

/// The API bodies, through the real router (`oneshot`, no network).
mod api_bodies {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use std::sync::Arc;
    use tower::ServiceExt;

    const OPERATOR: &str = "fuzz-operator-token-0123456789";

    pub(super) fn router() -> (axum::Router, crate::helpers::TempDir) {
        let dir = crate::helpers::TempDir::new("fuzz-api");
        let src = seed("config/costd.toml").replace(
            "path = \"costd.db\"",
            &format!("path = \"{}\"", dir.0.join("f.db").display()),
        ) + &format!("[[web.tokens]]\nname = \"ops\"\nrole = \"operator\"\ntoken = \"{OPERATOR}\"\n");
        let cfg = costd::config::Config::parse("fuzz.toml", &src, std::path::Path::new(".")).unwrap();
        let store: Arc<dyn costd::store::Store> =
            Arc::new(costd::store::sqlite::SqliteStore::open(cfg.store.sqlite_path().unwrap()).unwrap());
        let prices = costd::app::Prices::build(&cfg, costd::pricing::load::PriceBook::embedded().unwrap()).unwrap();
        let state = costd::web::AppState::new(costd::app::App::new(Arc::new(cfg), store, prices));
        (costd::web::router(state), dir)
    }

    pub(super) fn call(
        rt: &tokio::runtime::Runtime,
        app: &axum::Router,
        method: &str,
        path: &str,
        body: String,
    ) -> StatusCode {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("Authorization", format!("Bearer {OPERATOR}"))
            .header("Content-Type", "application/json")
            .body(Body::from(body))
            .unwrap();
        // A request that takes over 5 s is a hang.
        rt.block_on(async { tokio::time::timeout(std::time::Duration::from_secs(5), app.clone().oneshot(req)).await })
            .unwrap_or_else(|_| panic!("{method} {path} hung: no answer in 5 s"))
            .unwrap()
            .status()
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn window_and_model_bodies_get_clean_answers(
            body in prop_oneof![
                mutated(r#"{"start": "now", "duration": "1h", "note": "demo", "timezone": "UTC"}"#.to_string()),
                mutated(r#"{"start": "2030-02-01 10:00", "end": "2030-02-01 11:00"}"#.to_string()),
                "\\PC{0,200}",
            ],
            scenario in prop_oneof![mutated(seed("config/scenarios/seed-production-vpc.toml")), "\\PC{0,200}"],
        ) {
            thread_local! {
                static APP: (tokio::runtime::Runtime, axum::Router, crate::helpers::TempDir) = {
                    let (r, d) = router();
                    (tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap(), r, d)
                };
            }
            APP.with(|(rt, app, _)| {
                let s = call(rt, app, "POST", "/api/v1/windows", body.clone());
                prop_assert!([201, 400, 413, 422].contains(&s.as_u16()), "windows: {} for {:?}", s, body);
                let s = call(rt, app, "POST", "/api/v1/model", scenario.clone());
                prop_assert!([200, 413, 422, 429, 503].contains(&s.as_u16()), "model: {} for {:?}", s, scenario);
                Ok(())
            })?;
        }
    }
}

/// Structured generators that reach the extremes byte mutations never do:
/// years from 0 to +262143, durations and counts up to the type limits,
/// thousands of schedule entries, huge decimals, every config key.
mod extremes {
    use super::*;

    /// A year anywhere chrono can hold, and the edges of what costd accepts.
    fn year() -> impl Strategy<Value = i64> {
        prop_oneof![
            Just(0i64),
            Just(1969),
            Just(1970),
            Just(9999),
            Just(10000),
            Just(262143),
            Just(-262143),
            -262143i64..=262143
        ]
    }

    /// A number as text: small, at the limits of u32/i64/u64/Decimal, or absurd.
    fn number() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u64..100).prop_map(|n| n.to_string()),
            Just(u32::MAX.to_string()),
            Just((u32::MAX as u64 + 1).to_string()),
            Just(i64::MAX.to_string()),
            Just(u64::MAX.to_string()),
            Just("79228162514264337593543950335".to_string()),
            Just("79228162514264337593543950336".to_string()),
            Just("1".repeat(300)),
            Just("-1".to_string()),
            Just("1e300".to_string()),
            Just("0.000000000000000000000000000001".to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
        ]
    }

    fn unit() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just("d"), Just("h"), Just("m"), Just("s"), Just("w"), Just("")]
    }

    /// A duration such as `9223372036854775807d` or `1h30m`.
    fn duration() -> impl Strategy<Value = String> {
        proptest::collection::vec((number(), unit()), 1..4)
            .prop_map(|parts| parts.into_iter().map(|(n, u)| format!("{n}{u}")).collect())
    }

    /// An instant as a person might type it, in any year.
    fn instant() -> impl Strategy<Value = String> {
        (year(), 1u32..=12, 1u32..=28, 0u32..24, 0u32..60, 0u8..4).prop_map(|(y, mo, d, h, mi, form)| {
            let y = if (0..=9999).contains(&y) {
                format!("{y:04}")
            } else {
                format!("{y:+}")
            };
            match form {
                0 => format!("{y}-{mo:02}-{d:02} {h:02}:{mi:02}"),
                1 => format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:00Z"),
                2 => format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:00+14:00"),
                _ => "now".into(),
            }
        })
    }

    fn cron_field() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("*".to_string()),
            (1u64..=100).prop_map(|n| format!("*/{n}")),
            (0u64..70, 0u64..70).prop_map(|(a, b)| format!("{a}-{b}")),
            number(),
            Just("Mon-Fri".to_string()),
        ]
    }

    /// A scenario with up to thousands of schedule entries, random crons and huge traffic figures.
    fn scenario() -> impl Strategy<Value = String> {
        let entry = prop_oneof![
            (proptest::collection::vec(cron_field(), 5), duration()).prop_map(|(f, d)| format!(
                "[[load_balancer.schedule]]\ncron = \"{}\"\nduration = \"{d}\"\ntimezone = \"Europe/Berlin\"\n",
                f.join(" ")
            )),
            (instant(), instant())
                .prop_map(|(a, b)| format!("[[load_balancer.schedule]]\nstart = \"{a}\"\nend = \"{b}\"\n")),
        ];
        (
            number(),
            number(),
            number(),
            proptest::collection::vec(entry, 0..8),
            prop_oneof![Just(0usize), Just(1), Just(99), Just(101), Just(3000)],
        )
            .prop_map(|(rps, gb, s3, entries, repeat)| {
                let mut s = format!(
                    "region = \"us-east-1\"\n[network]\nazs = 2\n[network.traffic_gb_per_month]\ns3 = {s3}\n\
                     [load_balancer]\nkind = \"application\"\nscheme = \"internet-facing\"\nazs = 2\ntarget_type = \"ip\"\n\
                     requests_per_second = {rps}\nprocessed_gb_per_hour = {gb}\n"
                );
                for e in &entries {
                    s.push_str(e);
                }
                // Many copies of a harmless entry: the count limit, not the expansion, must stop it.
                let one_off = "[[load_balancer.schedule]]\nstart = \"2026-12-03T09:00:00+08:00\"\nend = \"2026-12-03T10:00:00+08:00\"\n";
                s.push_str(&one_off.repeat(repeat));
                s
            })
    }

    /// The shipped config with `key` (one of [`config_keys`]) set to `value`.
    fn config_with(from: &str, key: &str, value: &str) -> String {
        let to = match from {
            // A section of its own goes before the one it was put in front of.
            _ if from.ends_with('\n') && !key.starts_with(from) => format!("{key} = {value}\n\n{from}"),
            _ if from.ends_with('\n') => format!("{key} = {value}\n"),
            _ => format!("{key} = {value}"),
        };
        seed("config/costd.toml").replacen(from, &to, 1)
    }

    /// The sections the shipped config leaves out parse with a sound value,
    /// so the extremes below test their bounds, not a broken template.
    #[test]
    fn the_added_sections_parse_with_sound_values() {
        let dir = std::env::temp_dir();
        for (i, value) in [(15usize, "15"), (16, "60"), (17, "30"), (18, "7"), (19, "30")] {
            let (from, key) = config_keys()[i];
            let text = config_with(from, key, value);
            if let Err(e) = costd::config::Config::parse("t.toml", &text, &dir) {
                panic!("{key} = {value}: {e}");
            }
        }
    }

    fn config_keys() -> [(&'static str, &'static str); 20] {
        [
            ("lead_minutes = 5", "lead_minutes"),
            ("grace_minutes = 5", "grace_minutes"),
            ("max_window_hours = 12", "max_window_hours"),
            ("safety_net_seconds = 60", "safety_net_seconds"),
            ("recompute_seconds = 300", "recompute_seconds"),
            ("monthly_usd = 100", "monthly_usd"),
            ("publish_seconds = 300", "publish_seconds"),
            ("max_body_bytes = 65536", "max_body_bytes"),
            ("port = 80", "port"),
            ("duration = \"3h\"", "duration"),
            ("[schedule]\n", "[schedule]\nmax_days_ahead"),
            ("[web]\n", "[web]\nmax_connections"),
            ("[web]\n", "[web]\nheader_read_timeout_seconds"),
            ("[web]\n", "[web]\nexpensive_concurrency"),
            ("[web]\n", "[web]\nlogin_attempts_per_minute"),
            // Sections the shipped config leaves out, each put back after the key.
            (
                "[schedule]\n",
                "[alb.dns]\nhosted_zone_id = \"Z1\"\nrecord_name = \"d.example.com\"\nrelease_timeout_minutes",
            ),
            (
                "[web]\n",
                "[[schedule.calendars]]\nname = \"team\"\nfile = \"team.ics\"\nmatch = \"[demo]\"\nrefresh_minutes",
            ),
            (
                "[web]\n",
                "[[schedule.calendars]]\nname = \"team\"\nfile = \"team.ics\"\nmatch = \"[demo]\"\nhorizon_days",
            ),
            ("[web]\n", "[calendar_feed]\npast_days"),
            ("[web]\n", "[calendar_feed]\nfuture_days"),
        ]
    }

    /// The shipped config with one key set to an extreme value.
    fn config() -> impl Strategy<Value = String> {
        let keys = config_keys();
        (0..keys.len(), number(), any::<bool>()).prop_map(move |(k, v, quoted)| {
            let (from, key) = keys[k];
            let value = if quoted { format!("\"{v}\"") } else { v };
            config_with(from, key, &value)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn extreme_instants_and_durations_are_refused_cleanly(start in instant(), end in instant(), d in duration()) {
            let now = chrono::DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z").unwrap().to_utc();
            let (start2, end2, d2) = (start.clone(), end.clone(), d.clone());
            let r = within("new window", move || {
                let blackouts = costd::schedule::blackout::Blackouts::default();
                let limits = costd::schedule::WindowLimits {
                    max_window: chrono::Duration::hours(12),
                    max_ahead: chrono::Duration::days(366),
                    blackouts: &blackouts,
                };
                let tz = chrono_tz::Asia::Singapore;
                let by_end = costd::schedule::WindowRequest { start: &start2, end: Some(&end2), duration: None };
                let by_duration = costd::schedule::WindowRequest { start: &start2, end: None, duration: Some(&d2) };
                (
                    costd::schedule::parse_new_window(by_end, tz, now, &limits),
                    costd::schedule::parse_new_window(by_duration, tz, now, &limits),
                )
            });
            for accepted in [r.0, r.1].into_iter().flatten() {
                // Whatever is accepted is storable: years 1970–9999, at most a year ahead, at most 12 h.
                prop_assert!(accepted.start >= now - chrono::Duration::minutes(1));
                prop_assert!(accepted.start - now <= chrono::Duration::days(366));
                prop_assert!(accepted.end - accepted.start <= chrono::Duration::hours(12));
            }
        }

        #[test]
        fn extreme_scenarios_are_refused_or_priced_quickly(text in scenario()) {
            let input = text.clone();
            let r = within("extreme scenario", move || {
                let parsed = costd::scenario::Scenario::parse("fuzz.toml", &input, &regions());
                if let Ok(s) = &parsed {
                    let book = costd::pricing::load::PriceBook::embedded().unwrap();
                    let at = chrono::DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z").unwrap().to_utc();
                    let report = costd::model::evaluate(s, book.get(&s.region).unwrap(), at);
                    // The expansion is bounded: a year of the densest allowed schedule plus the one-offs.
                    let lifetimes = report.load_balancer.and_then(|l| l.scheduled).map(|s| s.lifetimes);
                    return Ok(lifetimes);
                }
                Err(parsed.err().unwrap())
            });
            match r {
                Ok(Some(n)) => prop_assert!(n <= rust_decimal::Decimal::from(35_136 + 100), "{n} lifetimes"),
                Ok(None) => {}
                Err(e) => {
                    prop_assert!(!e.message.is_empty());
                    prop_assert!(e.line <= text.lines().count() + 1);
                }
            }
        }

        #[test]
        fn every_config_key_at_its_extremes_parses_or_names_itself(text in config()) {
            let dir = std::env::temp_dir().join("costd-fuzz-empty");
            let _ = std::fs::create_dir_all(&dir);
            let input = text.clone();
            let r = within("extreme config", move || costd::config::Config::parse("fuzz.toml", &input, &dir));
            match r {
                Ok(cfg) => {
                    prop_assert!(cfg.schedule.lead <= chrono::Duration::minutes(120));
                    prop_assert!(cfg.schedule.max_window <= chrono::Duration::hours(168));
                    prop_assert!(cfg.schedule.max_ahead <= chrono::Duration::days(3660));
                    prop_assert!(cfg.web.max_connections <= 65_535 && cfg.web.max_body_bytes <= 16 * 1024 * 1024);
                }
                Err(e) => {
                    prop_assert!(!e.message.is_empty());
                    prop_assert!(e.line >= 1, "{e}");
                }
            }
        }

        #[test]
        fn extreme_api_bodies_and_months_get_clean_answers(start in instant(), d in duration(), y in year(), m in 0u32..14) {
            thread_local! {
                static APP: (tokio::runtime::Runtime, axum::Router, crate::helpers::TempDir) = {
                    let (r, d) = super::api_bodies::router();
                    (tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap(), r, d)
                };
            }
            APP.with(|(rt, app, _)| {
                let body = serde_json::json!({ "start": start, "duration": d }).to_string();
                let s = super::api_bodies::call(rt, app, "POST", "/api/v1/windows", body.clone());
                prop_assert!([201, 400, 422].contains(&s.as_u16()), "windows: {} for {}", s, body);
                let month = format!("/api/v1/projection?month={y}-{m:02}");
                let s = super::api_bodies::call(rt, app, "GET", &month, String::new());
                prop_assert!([200, 422, 429, 503].contains(&s.as_u16()), "{}: {}", month, s);
                Ok(())
            })?;
        }

        #[test]
        fn price_tables_with_huge_rates_are_refused_by_key(v in number(), which in 0usize..6) {
            let keys = ["usd = \"0.059\"", "usd = \"0.013\"", "usd = \"0.01\"", "usd = \"0.006\"", "usd = \"0.0252\"", "usd = \"0.008\""];
            let text = seed("pricing/ap-southeast-1.toml").replacen(keys[which], &format!("usd = \"{v}\""), 1);
            let r = within("price table", move || costd::pricing::PriceTable::parse("fuzz.toml", &text).map(|_| ()));
            if let Err(e) = r {
                prop_assert!(e.key.ends_with("usd") || e.key.is_empty(), "{e}");
            }
        }
    }
}
