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
                let _ = costd::cost::evaluate(s, book.get(&s.region).unwrap(), at);
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

    fn router() -> (axum::Router, crate::helpers::TempDir) {
        let dir = crate::helpers::TempDir::new("fuzz-api");
        let src = seed("config/costd.toml").replace(
            "path = \"costd.db\"",
            &format!("path = \"{}\"", dir.0.join("f.db").display()),
        ) + &format!("[[web.tokens]]\nname = \"ops\"\nrole = \"operator\"\ntoken = \"{OPERATOR}\"\n");
        let cfg = Arc::new(costd::config::Config::parse("fuzz.toml", &src, std::path::Path::new(".")).unwrap());
        let store: Arc<dyn costd::store::Store> =
            Arc::new(costd::store::sqlite::SqliteStore::open(&cfg.store_path).unwrap());
        let book = Arc::new(std::sync::RwLock::new(
            costd::pricing::load::PriceBook::embedded().unwrap(),
        ));
        let state = costd::web::AppState::new(
            cfg,
            store,
            book,
            Arc::default(),
            Arc::default(),
            Arc::default(),
            Arc::default(),
        );
        (costd::web::router(state), dir)
    }

    fn call(rt: &tokio::runtime::Runtime, app: &axum::Router, method: &str, path: &str, body: String) -> StatusCode {
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
                prop_assert!([200, 413, 422].contains(&s.as_u16()), "model: {} for {:?}", s, scenario);
                Ok(())
            })?;
        }
    }
}
