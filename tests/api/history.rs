//! History is read a page at a time: reconcile decisions and events through
//! the API (a `next` cursor, a `Link` header) and the dashboard's events
//! table (older and newest links), against a real daemon and its SQLite file.

use chrono::{Duration, TimeZone, Utc};
use costd::event::{Event, EventKind, Severity};
use costd::store::{Decision, DecisionAction, Store};

use crate::client::Api;
use crate::daemon::{Rig, web_address};
use crate::helpers::wait_for;

const TOKEN: &str = "history-viewer-token-0123456789";

#[test]
fn decisions_and_events_are_paged_with_a_cursor() {
    let rig = Rig::new("history", true, None);
    rig.add_viewer(TOKEN);
    // Seven decisions and 25 events, a minute apart, all in the past (the
    // daemon's own, if any, are newer and come first).
    let t0 = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    {
        let store = rig.store();
        for i in 0..7 {
            store
                .record_decision(&Decision {
                    at: t0 + Duration::minutes(i),
                    action: if i % 2 == 0 {
                        DecisionAction::Create
                    } else {
                        DecisionAction::Delete
                    },
                    window_ids: vec![format!("w{i}")],
                    arn: None,
                    detail: format!("seeded decision {i}"),
                    dry_run: true,
                    edge_at: None,
                })
                .unwrap();
        }
        let events: Vec<(Event, Vec<String>)> = (1..=25)
            .map(|i| {
                let id = format!("seed/{i:02}");
                let e = Event::new(
                    id.clone(),
                    EventKind::AlbReady,
                    Severity::Info,
                    t0 + Duration::minutes(i),
                    "d",
                    format!("seeded event {i:02}"),
                );
                (e, vec![])
            })
            .collect();
        assert_eq!(store.record_events(&events).unwrap(), 25);
    }
    let d = rig.daemon("1");
    let api = Api { addr: web_address(&d) };
    wait_for(30, "the daemon", || (api.dashboard(None).0 == 200).then_some(()));

    // Decisions: pages of 3 by `next`, newest first, each once.
    let (mut ids, mut details, mut query, mut pages) = (Vec::new(), Vec::new(), "limit=3".to_string(), 0);
    loop {
        let (status, page) = api.json("GET", &format!("/api/v1/decisions?{query}"), Some(TOKEN), "");
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let list = page["decisions"].as_array().unwrap();
        assert!(list.len() <= 3, "{page}");
        ids.extend(list.iter().map(|d| d["id"].as_i64().unwrap()));
        details.extend(list.iter().map(|d| d["detail"].as_str().unwrap().to_string()));
        match page["next"].as_i64() {
            Some(next) => query = format!("limit=3&before={next}"),
            None => break,
        }
        assert!(pages < 20, "the cursor must end");
    }
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first, no repeats: {ids:?}");
    let seeded: Vec<&String> = details.iter().filter(|d| d.starts_with("seeded decision")).collect();
    let want: Vec<String> = (0..7).rev().map(|i| format!("seeded decision {i}")).collect();
    assert_eq!(seeded, want.iter().collect::<Vec<_>>());
    assert_eq!(pages, ids.len().div_ceil(3).max(1), "{ids:?}");
    for bad in ["limit=0", "limit=201"] {
        let (status, body) = api.json("GET", &format!("/api/v1/decisions?{bad}"), Some(TOKEN), "");
        assert_eq!((status, body["field"].as_str()), (422, Some("limit")), "{body}");
    }

    // Events: pages of 10 by the Link header, newest first, each once.
    let http = reqwest::blocking::Client::new();
    let base = format!("http://{}", api.addr);
    let (mut seen, mut next) = (Vec::<String>::new(), Some("/api/v1/events?limit=10".to_string()));
    while let Some(path) = next.take() {
        let r = http.get(format!("{base}{path}")).bearer_auth(TOKEN).send().unwrap();
        assert_eq!(r.status(), 200);
        next = r.headers().get("link").map(|l| {
            let l = l.to_str().unwrap();
            assert!(l.ends_with(">; rel=\"next\""), "{l}");
            l.trim_start_matches('<').split('>').next().unwrap().to_string()
        });
        let page: Vec<serde_json::Value> = r.json().unwrap();
        assert!(page.len() <= 10);
        if page.len() < 10 {
            assert!(next.is_none(), "a short page is the last");
        }
        seen.extend(page.iter().map(|e| e["id"].as_str().unwrap().to_string()));
        assert!(seen.len() < 1000, "the cursor must end");
    }
    let seeded: Vec<&String> = seen.iter().filter(|id| id.starts_with("seed/")).collect();
    let want: Vec<String> = (1..=25).rev().map(|i| format!("seed/{i:02}")).collect();
    assert_eq!(seeded, want.iter().collect::<Vec<_>>(), "{seen:?}");
    let (status, body) = api.json(
        "GET",
        &format!("/api/v1/events?before={}", "x".repeat(201)),
        Some(TOKEN),
        "",
    );
    assert_eq!((status, body["field"].as_str()), (422, Some("before")), "{body}");

    // The dashboard: 20 events, then a link to the older ones, and back.
    let (_, page) = api.dashboard(None);
    let older = page
        .split("rel=next>Older events")
        .next()
        .and_then(|head| head.rsplit("href=\"").next())
        .and_then(|href| href.split('"').next())
        .map(|href| href.replace("&amp;", "&"))
        .filter(|href| href.starts_with("/?older="))
        .unwrap_or_else(|| panic!("no link to older events: {page}"));
    let last_on_first = seen[19].clone();
    assert_eq!(older, format!("/?older={}#events", last_on_first.replace('/', "%2F")));
    let (status, older_page) = api.request("GET", older.trim_end_matches("#events"), None, "text/plain", "");
    assert_eq!(status, 200);
    assert!(older_page.contains("Newest events"), "{older_page}");
    // An id longer than any costd makes is not looked up: the newest page, no way back.
    let (status, too_long) = api.request("GET", &format!("/?older={}", "x".repeat(201)), None, "text/plain", "");
    assert_eq!(status, 200);
    assert!(
        too_long.contains("rel=next>Older events") && !too_long.contains("Newest events"),
        "{too_long}"
    );
    // The 21st event and on are on it; the 20th is not.
    let text = |id: &str| format!("seeded event {}", id.trim_start_matches("seed/"));
    if let Some(id) = seen.get(20).filter(|id| id.starts_with("seed/")) {
        assert!(older_page.contains(&text(id)), "{id} on the older page");
    }
    if last_on_first.starts_with("seed/") {
        assert!(
            !older_page.contains(&format!("{}<", text(&last_on_first))),
            "{last_on_first} only on the first page"
        );
    }
}
