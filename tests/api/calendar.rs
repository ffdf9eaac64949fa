//! The team calendar and the schedule, end to end: a calendar served over
//! HTTP and edited between refreshes drives the windows (and, against moto,
//! the ALB); the feed costd serves parses with Python's `icalendar`.

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Offset, TimeZone, Timelike, Utc};
use costd::store::Store;

use crate::daemon::{Rig, web_address};
use crate::helpers::{Daemon, emulator_bin, http, read_http_request, wait_for};

const OPERATOR: &str = "calendar-operator-token-0123456789";
const VIEWER: &str = "calendar-viewer-token-0123456789";
const FEED_TOKEN: &str = "feed0123456789abcdef0123456789abcdef";

/// What the calendar server holds and has answered.
#[derive(Default)]
struct Served {
    body: String,
    version: u32,
    fail: bool,
    /// (If-None-Match sent, status answered), per request.
    log: Vec<(Option<String>, u16)>,
}

/// A calendar's secret iCal address on loopback, edited by the test: it
/// answers `304` to a matching `If-None-Match`, and `500` while failing.
struct CalendarServer {
    served: Arc<Mutex<Served>>,
    url: String,
}

impl CalendarServer {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/calendar/private-0a1b2c/basic.ics",
            listener.local_addr().unwrap()
        );
        let served = Arc::new(Mutex::new(Served::default()));
        let s = served.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let Some((head, _)) = read_http_request(&mut conn) else {
                    continue;
                };
                let sent = head.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("if-none-match").then(|| v.trim().to_string())
                });
                let mut st = s.lock().unwrap();
                let etag = format!("\"v{}\"", st.version);
                let (status, body) = if st.fail {
                    (500, "oops".to_string())
                } else if sent.as_deref() == Some(etag.as_str()) {
                    (304, String::new())
                } else {
                    (200, st.body.clone())
                };
                st.log.push((sent, status));
                let reason = match status {
                    200 => "OK",
                    304 => "Not Modified",
                    _ => "Internal Server Error",
                };
                let extra = if status == 500 {
                    String::new()
                } else {
                    format!("ETag: {etag}\r\n")
                };
                let _ = conn.write_all(
                    format!(
                        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/calendar\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
            }
        });
        CalendarServer { served, url }
    }

    /// Serves `events` (VEVENTs) as a new version.
    fn set(&self, events: &str) {
        let mut s = self.served.lock().unwrap();
        s.version += 1;
        s.body = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//calendar//EN\r\nX-WR-TIMEZONE:Europe/Berlin\r\n{events}END:VCALENDAR\r\n"
        );
    }

    fn etag(&self) -> String {
        format!("\"v{}\"", self.served.lock().unwrap().version)
    }

    fn fail(&self, on: bool) {
        self.served.lock().unwrap().fail = on;
    }

    fn last(&self) -> (Option<String>, u16) {
        self.served.lock().unwrap().log.last().cloned().expect("a request")
    }
}

fn z(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn event(uid: &str, summary: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    format!(
        "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:{}\r\nSUMMARY:{summary}\r\nDTSTART:{}\r\nDTEND:{}\r\nEND:VEVENT\r\n",
        z(start),
        z(start),
        z(end)
    )
}

/// The first Sunday on which Berlin's UTC offset changes, at least 21 days
/// after `from`: a DST week to expand a weekly event across.
fn next_berlin_dst_change(from: DateTime<Utc>) -> NaiveDate {
    let berlin = chrono_tz::Europe::Berlin;
    let offset = |d: NaiveDate| {
        berlin
            .from_local_datetime(&d.and_hms_opt(12, 0, 0).unwrap())
            .single()
            .unwrap()
            .offset()
            .fix()
            .local_minus_utc()
    };
    let mut d = (from + Duration::days(21)).date_naive();
    while offset(d) == offset(d - Duration::days(1)) {
        d += Duration::days(1);
    }
    assert_eq!(d.weekday(), chrono::Weekday::Sun, "EU clocks change on Sundays");
    d
}

/// A calendar window as stored: id, note, start, end, cancelled.
type Row = (i64, String, DateTime<Utc>, DateTime<Utc>, bool);

/// The calendar's windows in the store, by id.
fn calendar_windows(store: &dyn Store) -> Vec<Row> {
    store
        .windows(true)
        .unwrap()
        .into_iter()
        .filter(|w| w.created_by == "calendar:team")
        .map(|w| (w.id, w.note, w.interval.start, w.interval.end, w.cancelled_at.is_some()))
        .collect()
}

fn calendars(addr: std::net::SocketAddr) -> serde_json::Value {
    let (code, body) = http(
        addr,
        "GET",
        "/api/v1/calendars",
        &[("authorization", &format!("Bearer {VIEWER}"))],
        "",
    )
    .unwrap();
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Asks the daemon to read the calendar now and waits until it has.
fn refresh(addr: std::net::SocketAddr) -> serde_json::Value {
    let before = calendars(addr)[0]["last_attempt"].clone();
    let (code, body) = http(
        addr,
        "POST",
        "/api/v1/calendars/refresh",
        &[("authorization", &format!("Bearer {OPERATOR}"))],
        "",
    )
    .unwrap();
    assert_eq!(code, 202, "{body}");
    wait_for(10, "the calendar to be read again", || {
        let now = calendars(addr);
        (now[0]["last_attempt"] != before).then_some(now[0].clone())
    })
}

fn rig_with_calendar(name: &str, dry_run: bool, extra: &str) -> Rig {
    let rig = Rig::new(name, dry_run, None);
    let mut config = std::fs::read_to_string(&rig.config).unwrap();
    config.push_str(&format!(
        r#"
[[web.tokens]]
name = "ops"
role = "operator"
token = "{OPERATOR}"

[[web.tokens]]
name = "finance"
role = "viewer"
token = "{VIEWER}"

[calendar_feed]
token_env = "COSTD_TEST_FEED_TOKEN"
{extra}"#
    ));
    std::fs::write(&rig.config, config).unwrap();
    rig
}

#[test]
fn a_calendar_edited_between_refreshes_drives_the_windows_and_the_alb() {
    let _heavy = crate::helpers::heavy();
    let server = CalendarServer::start();
    let rig = rig_with_calendar(
        "calendar-in",
        false,
        r#"
[[schedule.calendars]]
name = "team"
url_env = "COSTD_TEST_CALENDAR_URL"
match = "[demo]"
refresh_minutes = 60
horizon_days = 366
"#,
    );
    let now = Utc::now().with_nanosecond(0).unwrap();
    // Lunch (not a demo), and a weekly demo at 10:00 Berlin time on four
    // Sundays around the next change of clocks.
    let lunch = event(
        "lunch@test",
        "Lunch",
        now + Duration::seconds(4),
        now + Duration::hours(1),
    );
    let change = next_berlin_dst_change(now);
    let first = change - Duration::days(14);
    let weekly = format!(
        "BEGIN:VEVENT\r\nUID:weekly@test\r\nDTSTAMP:{}\r\nSUMMARY:[demo] weekly\r\nDTSTART;TZID=Europe/Berlin:{}T100000\r\nDTEND;TZID=Europe/Berlin:{}T110000\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\nEND:VEVENT\r\n",
        z(now),
        first.format("%Y%m%d"),
        first.format("%Y%m%d")
    );
    server.set(&format!("{lunch}{weekly}"));
    let d = Daemon::start_with_env(
        &rig.config,
        rig.dir.0.join("daemon.log"),
        &[
            ("COSTD_TEST_CALENDAR_URL", &server.url),
            ("COSTD_TEST_FEED_TOKEN", FEED_TOKEN),
        ],
    );
    let addr = web_address(&d);
    let store = rig.store();

    // Read at start: the four weekly occurrences, not lunch.
    let weekly_rows = wait_for(15, "the calendar's windows", || {
        let ws = calendar_windows(&store);
        (ws.len() == 4).then_some(ws)
    });
    // Each weekly occurrence at 10:00 Berlin: on the change day and after it
    // the offset moved by an hour, so the UTC time did too.
    let berlin = chrono_tz::Europe::Berlin;
    let weekly_starts: Vec<DateTime<Utc>> = weekly_rows.iter().map(|w| w.2).collect();
    for (i, s) in weekly_starts.iter().enumerate() {
        let local = s.with_timezone(&berlin);
        assert_eq!(
            (local.date_naive(), local.hour()),
            (first + Duration::days(7 * i as i64), 10),
            "{s}"
        );
        assert_eq!(weekly_rows[i].3 - *s, Duration::hours(1));
    }
    let shift = (weekly_starts[2] - weekly_starts[1]) - Duration::days(7);
    assert_eq!(
        shift.num_minutes().abs(),
        60,
        "the DST week moves the UTC time by an hour"
    );
    let st = calendars(addr);
    assert_eq!(st[0]["windows"], 4, "{st}");
    assert!(
        st[0]["source"].as_str().unwrap().contains("COSTD_TEST_CALENDAR_URL"),
        "{st}"
    );
    assert!(
        !st.to_string().contains("private-0a1b2c"),
        "the secret address is never shown: {st}"
    );

    // A demo added to the calendar, starting in 5 s for 40 s: at the next
    // read it is a window, and when it opens its ALB is created.
    let at = Utc::now().with_nanosecond(0).unwrap() + Duration::seconds(5);
    let acme = event("acme@test", "[demo] Acme", at, at + Duration::seconds(40));
    server.set(&format!("{acme}{lunch}{weekly}"));
    let st = refresh(addr);
    assert_eq!(st["sync"]["added"], 1, "{st}");
    let ws = calendar_windows(&store);
    assert_eq!(ws.len(), 5);
    let acme_row = ws.iter().find(|w| w.1 == "[demo] Acme").unwrap();
    assert_eq!((acme_row.2, acme_row.3), (at, at + Duration::seconds(40)));
    let lb = wait_for(15, "Acme's ALB", || rig.elb.owned().into_iter().next());
    assert!(Utc::now() < at + Duration::seconds(40), "created while Acme runs");

    // The calendar's server fails while Acme runs: an error is reported,
    // the last good copy stays, and Acme's ALB is not cut short.
    server.fail(true);
    let st = refresh(addr);
    assert!(st["error"].as_str().unwrap().contains("HTTP 500"), "{st}");
    assert!(
        st["error"]
            .as_str()
            .unwrap()
            .contains("keeping the last good copy (5 window(s))"),
        "{st}"
    );
    assert_eq!(calendar_windows(&store), ws, "a failed read changes nothing");
    let (_, ready) = http(
        addr,
        "GET",
        "/readyz",
        &[("authorization", &format!("Bearer {VIEWER}"))],
        "",
    )
    .unwrap();
    assert!(
        ready.contains("warning: calendar `team`: the calendar's server answered HTTP 500"),
        "{ready}"
    );
    let (_, page) = http(addr, "GET", "/", &[], "").unwrap();
    assert!(page.contains("id=\"calendar-team\""), "the dashboard shows the failure");
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(
        rig.elb.owned().first().map(|l| l.arn.clone()),
        Some(lb.arn.clone()),
        "the ALB stays"
    );
    server.fail(false);

    // Unchanged since the last good read: the server answers 304, nothing moves.
    let st = refresh(addr);
    assert_eq!(server.last(), (Some(server.etag()), 304));
    assert_eq!(st["error"], serde_json::Value::Null, "{st}");
    assert_eq!(st["sync"]["unchanged"], 5, "{st}");
    assert_eq!(calendar_windows(&store), ws);

    // A new event becomes a window; moving it moves the same window.
    let beta_at = now + Duration::hours(3);
    let beta = |at: DateTime<Utc>| event("beta@test", "[demo] Beta", at, at + Duration::hours(1));
    server.set(&format!("{acme}{lunch}{weekly}{}", beta(beta_at)));
    let st = refresh(addr);
    assert_eq!(
        (st["sync"]["added"].as_u64(), st["sync"]["moved"].as_u64()),
        (Some(1), Some(0)),
        "{st}"
    );
    let beta_row = calendar_windows(&store)
        .into_iter()
        .find(|w| w.1 == "[demo] Beta")
        .unwrap();
    assert_eq!(beta_row.2, beta_at);
    server.set(&format!("{acme}{lunch}{weekly}{}", beta(beta_at + Duration::hours(2))));
    let st = refresh(addr);
    assert_eq!(
        (st["sync"]["added"].as_u64(), st["sync"]["moved"].as_u64()),
        (Some(0), Some(1)),
        "{st}"
    );
    let moved = calendar_windows(&store)
        .into_iter()
        .find(|w| w.1 == "[demo] Beta")
        .unwrap();
    assert_eq!(
        (moved.0, moved.2),
        (beta_row.0, beta_at + Duration::hours(2)),
        "the same window, moved"
    );

    // One occurrence of the weekly demo cancelled in the calendar (the one
    // on the day the clocks change): only that window is cancelled.
    let cancelled_start = weekly_starts[2];
    let cancel_one = format!(
        "BEGIN:VEVENT\r\nUID:weekly@test\r\nDTSTAMP:{}\r\nRECURRENCE-ID;TZID=Europe/Berlin:{}T100000\r\nSUMMARY:[demo] weekly\r\nDTSTART;TZID=Europe/Berlin:{}T100000\r\nDTEND;TZID=Europe/Berlin:{}T110000\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\n",
        z(now),
        change.format("%Y%m%d"),
        change.format("%Y%m%d"),
        change.format("%Y%m%d")
    );
    server.set(&format!(
        "{acme}{lunch}{weekly}{cancel_one}{}",
        beta(beta_at + Duration::hours(2))
    ));
    let st = refresh(addr);
    assert_eq!(st["sync"]["cancelled"], 1, "{st}");
    let weekly_rows: Vec<(DateTime<Utc>, bool)> = calendar_windows(&store)
        .into_iter()
        .filter(|w| w.1 == "[demo] weekly")
        .map(|w| (w.2, w.4))
        .collect();
    let expected: Vec<(DateTime<Utc>, bool)> = weekly_starts.iter().map(|s| (*s, *s == cancelled_start)).collect();
    assert_eq!(weekly_rows, expected);

    // A window from a calendar is cancelled in the calendar, not by costd.
    let (code, body) = http(
        addr,
        "DELETE",
        &format!("/api/v1/windows/{}", moved.0),
        &[("authorization", &format!("Bearer {OPERATOR}"))],
        "",
    )
    .unwrap();
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("comes from the calendar `team`"), "{body}");

    // Acme ends: its ALB goes.
    wait_for(60, "Acme's ALB to be deleted", || {
        rig.elb.lbs().is_empty().then_some(())
    });

    // Killed, and restarted while the calendar cannot be read: the copy
    // kept in the store is applied (nothing is emptied) and the failure shown.
    let mut d = d;
    d.kill9();
    let before = calendar_windows(&store);
    server.fail(true);
    let d = Daemon::start_with_env(
        &rig.config,
        rig.dir.0.join("daemon-2.log"),
        &[
            ("COSTD_TEST_CALENDAR_URL", &server.url),
            ("COSTD_TEST_FEED_TOKEN", FEED_TOKEN),
        ],
    );
    let addr = web_address(&d);
    let st = wait_for(15, "the first read after the restart", || {
        let c = calendars(addr);
        c[0]["last_attempt"].is_string().then(|| c[0].clone())
    });
    assert!(
        st["error"]
            .as_str()
            .unwrap()
            .contains("HTTP 500; keeping the last good copy"),
        "{st}"
    );
    assert_eq!(calendar_windows(&store), before);
    // Back: the kept ETag is sent, so an unchanged calendar is a 304.
    server.fail(false);
    refresh(addr);
    assert_eq!(server.last(), (Some(server.etag()), 304));
    assert_eq!(calendar_windows(&store), before);
}

/// The Python script that reads the feed: every component's parse errors,
/// and each event as JSON.
const READ_FEED: &str = r#"
import json, sys
from icalendar import Calendar
cal = Calendar.from_ical(sys.stdin.read())
out = {"errors": [], "events": []}
for c in cal.walk():
    if c.errors:
        out["errors"].append([c.name, [str(e) for e in c.errors]])
    if c.name == "VEVENT":
        s, e = c.decoded("DTSTART"), c.decoded("DTEND")
        out["events"].append({
            "uid": str(c["UID"]),
            "start": s.isoformat(),
            "end": e.isoformat(),
            "all_day": not hasattr(s, "hour"),
            "summary": str(c["SUMMARY"]),
            "description": str(c.get("DESCRIPTION", "")),
            "dtstamp": "DTSTAMP" in c,
        })
print(json.dumps(out))
"#;

fn read_with_python(feed: &str) -> serde_json::Value {
    let mut child = std::process::Command::new(emulator_bin("checkers", "python"))
        .args(["-c", READ_FEED])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(feed.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_feed_parses_with_pythons_icalendar_and_round_trips_windows_costs_and_blackouts() {
    let now = Utc::now();
    // A blackout day in 3 days, a stored window tomorrow 10:00–12:00 UTC
    // whose note needs escaping, and a calendar file with one demo.
    let blackout = (now + Duration::days(3)).date_naive();
    let tomorrow = (now + Duration::days(1)).date_naive();
    let w_start = Utc.from_utc_datetime(&tomorrow.and_hms_opt(10, 0, 0).unwrap());
    let demo_start = Utc.from_utc_datetime(&(now + Duration::days(2)).date_naive().and_hms_opt(14, 0, 0).unwrap());
    let rig = rig_with_calendar("calendar-feed", true, "");
    // Paths in the config are relative to the daemon's working directory: this one is absolute.
    let mut config = std::fs::read_to_string(&rig.config).unwrap().replacen(
        "[schedule]\n",
        &format!("[schedule]\nblackout_dates = [\"{blackout}\"]\n"),
        1,
    );
    config.push_str(&format!(
        "\n[[schedule.calendars]]\nname = \"team\"\nfile = \"{}\"\nmatch = \"[demo]\"\n",
        rig.dir.0.join("team.ics").display()
    ));
    std::fs::write(&rig.config, config).unwrap();
    rig.dir.write(
        "team.ics",
        &format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n{}END:VCALENDAR\r\n",
            event("d1@test", "[demo] Gamma", demo_start, demo_start + Duration::hours(1))
        ),
    );
    let note = "Acme, Inc; \"board\" demo\nsecond line \\ done";
    let stored = rig
        .store()
        .add_window(
            costd::schedule::Interval::new(w_start, w_start + Duration::hours(2)).unwrap(),
            note,
            "test",
            now,
        )
        .unwrap();
    let d = Daemon::start_with_env(
        &rig.config,
        rig.dir.0.join("daemon.log"),
        &[("COSTD_TEST_FEED_TOKEN", FEED_TOKEN)],
    );
    let addr = web_address(&d);
    wait_for(15, "the calendar file's window", || {
        (calendar_windows(&rig.store()).len() == 1).then_some(())
    });

    // A viewer's token, or the secret address; nothing else.
    let auth = [("authorization", format!("Bearer {VIEWER}"))];
    let auth: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, feed) = http(addr, "GET", "/calendar.ics", &auth, "").unwrap();
    assert_eq!(code, 200, "{feed}");
    let (code, by_secret) = http(addr, "GET", &format!("/calendar/{FEED_TOKEN}.ics"), &[], "").unwrap();
    assert_eq!(code, 200);
    let strip_stamps = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("DTSTAMP"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip_stamps(&by_secret), strip_stamps(&feed));
    for path in [
        "/calendar/wrong-token-0123456789abcdef0123456789.ics",
        "/calendar/.ics",
        "/calendar/x",
    ] {
        assert_eq!(http(addr, "GET", path, &[], "").unwrap().0, 404, "{path}");
    }
    assert_eq!(http(addr, "GET", "/calendar.ics", &[], "").unwrap().0, 401);

    // RFC 5545's shape: CRLF, lines of at most 75 octets.
    assert!(feed.ends_with("END:VCALENDAR\r\n"));
    for line in feed.split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line}", line.len());
        assert!(!line.contains('\n'), "bare LF in {line:?}");
    }

    let parsed = read_with_python(&feed);
    assert_eq!(parsed["errors"], serde_json::json!([]), "{parsed}");
    let events = parsed["events"].as_array().unwrap();
    assert!(
        events.iter().all(|e| e["dtstamp"] == true),
        "every VEVENT has a DTSTAMP"
    );
    let by_uid = |uid: &str| {
        events
            .iter()
            .find(|e| e["uid"] == uid)
            .unwrap_or_else(|| panic!("{uid} in {parsed}"))
    };
    // The stored window: its times, its note unescaped as written, and its
    // cost on its own. By hand from pricing/us-east-1.toml: lead and grace
    // are 0, so the ALB lives 120 min, 2 billed hours × $0.0225 = $0.045,
    // plus 2 public IPv4 addresses × $0.005/h × 2 h = $0.02: $0.065, shown $0.07.
    let w = by_uid(&format!("w{}@it.costd", stored.id));
    assert_eq!(w["start"], w_start.to_rfc3339());
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(w["end"].as_str().unwrap()).unwrap(),
        w_start + Duration::hours(2)
    );
    assert_eq!(w["summary"], format!("Demo: {note}"));
    let desc = w["description"].as_str().unwrap();
    assert!(desc.starts_with(note), "{desc}");
    assert!(desc.contains("120 min with lead and grace, 2 billed hours"), "{desc}");
    assert!(desc.contains("$0.07"), "{desc}");
    // The calendar's own window comes back out too.
    let gamma = events
        .iter()
        .find(|e| e["summary"] == "Demo: [demo] Gamma")
        .expect("the calendar's window");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(gamma["start"].as_str().unwrap()).unwrap(),
        demo_start
    );
    assert!(
        gamma["description"]
            .as_str()
            .unwrap()
            .contains("added by calendar:team")
    );
    // The blackout: an all-day event on its date.
    let b = events.iter().find(|e| e["all_day"] == true).expect("the blackout day");
    assert_eq!(b["start"], blackout.to_string());
    assert_eq!(b["end"], (blackout + Duration::days(1)).to_string());
    assert_eq!(b["summary"], "Blackout: no recurring demo windows");
}
