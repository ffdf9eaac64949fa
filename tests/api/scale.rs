//! Cost that does not grow with history: with 10,000 stored windows (30
//! minutes every 2 hours for 833 days, a team booking demos for two years),
//! a page view, a projection read and the daemon's own steps read the
//! windows of the time they show, not every window ever stored. Counted by
//! the store itself (`costd_store_window_rows_read` on `/metrics`) in a real
//! daemon process.

use chrono::{Duration, Utc};

use crate::client::Api;
use crate::daemon::{Rig, web_address};
use crate::helpers::wait_for;

const TOKEN: &str = "scale-viewer-token-0123456789";

/// Window rows the daemon's store has read.
fn rows_read(api: &Api) -> u64 {
    let (_, m) = api.metrics(None);
    m.lines()
        .find_map(|l| l.strip_prefix("costd_store_window_rows_read_total "))
        .unwrap_or_else(|| panic!("the counter on /metrics: {m}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn ten_thousand_stored_windows_are_not_read_per_page_view() {
    let rig = Rig::new("scale-reads", true, None);
    rig.add_viewer(TOKEN);
    drop(rig.store()); // the schema
    let first = (Utc::now() + Duration::days(1))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    {
        // Written in one transaction, as an import would (10,000 commits would take minutes).
        let mut c = rusqlite::Connection::open(&rig.store_path).unwrap();
        let tx = c.transaction().unwrap();
        let ts = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        for i in 0..10_000 {
            let start = first + Duration::hours(2 * i);
            tx.execute(
                "INSERT INTO windows (start_utc, end_utc, note, created_by, created_at) VALUES (?1, ?2, 'demo', 'test', ?3)",
                [ts(start), ts(start + Duration::minutes(30)), ts(Utc::now())],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let d = rig.daemon("1");
    let api = Api { addr: web_address(&d) };
    wait_for(30, "the first projection", || {
        api.dashboard(None).1.contains("id=month-chart").then_some(())
    });
    let (_, page) = api.dashboard(None);
    // The page shows the next 14 days of them: 12 a day.
    assert!(page.contains("Next 14 days"), "{page}");
    assert!(
        page.len() < 100 * 1024,
        "the page is {} bytes with 10,000 windows",
        page.len()
    );
    let before = rows_read(&api);
    for _ in 0..20 {
        assert_eq!(api.dashboard(None).0, 200);
        assert_eq!(api.projection(Some(TOKEN), None).0, 200);
    }
    let per_request = (rows_read(&api) - before) / 40;
    // A page view reads the next 14 days' windows twice (the timeline and the
    // table: 2 × 168) and the projection none (it is cached); the daemon's own
    // steps meanwhile read the days they plan. Reading all 10,000 per view
    // would be 10,000 or more.
    assert!(
        per_request <= 600,
        "{per_request} window rows read per request with 10,000 stored"
    );
    println!(
        "scale: {per_request} window rows read per request with 10,000 windows stored; page {} bytes",
        page.len()
    );

    // The API lists them a page at a time, by start, from a cursor: 20 pages
    // of 500, each one an index range. Reading all 10,000 per page would be
    // 200,000 rows; the pages read 10,020 (each page and its look-ahead row)
    // plus the daemon's own steps meanwhile.
    let before = rows_read(&api);
    let (mut seen, mut pages, mut query) = (Vec::<chrono::DateTime<Utc>>::new(), 0, "limit=500".to_string());
    loop {
        let (status, page) = api.windows_page(Some(TOKEN), &query);
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let windows = page["windows"].as_array().unwrap();
        seen.extend(
            windows
                .iter()
                .map(|w| w["start"].as_str().unwrap().parse::<chrono::DateTime<Utc>>().unwrap()),
        );
        match page["next"].as_str() {
            Some(next) => {
                assert_eq!(windows.len(), 500, "only the last page is short");
                query = format!("limit=500&cursor={next}");
            }
            None => break,
        }
        assert!(pages <= 21, "the cursor must end");
    }
    assert_eq!(seen.len(), 10_000, "every window once");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "by start");
    assert_eq!(seen[0], first);
    let read = rows_read(&api) - before;
    assert!(read < 15_000, "{read} window rows read listing 10,000 in 20 pages");
    // Bounds, each refused with a 422 naming the argument.
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("cursor=abc", "cursor"),
        ("cursor=1.-2", "cursor"),
        (&format!("cursor={}", "1".repeat(65)), "cursor"),
        ("from=yesterday", "from"),
        (&format!("from={}", "2".repeat(65)), "from"),
    ] {
        let (status, body) = api.windows_page(Some(TOKEN), query);
        assert_eq!((status, body["field"].as_str()), (422, Some(field)), "{query}: {body}");
    }
}
