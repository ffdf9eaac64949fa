//! The team calendar and the schedule: the windows a subscribed calendar
//! wants (its text and the time in, windows out), each calendar's status,
//! and the iCalendar feed of the demo windows (`/calendar.ics`).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::App;
use crate::config::{CalendarSource, MAX_CALENDAR_EVENTS, MAX_OCCURRENCES_PER_EVENT, ScheduleConfig};
use crate::schedule::ical::{self, IcsError, Writer};
use crate::schedule::{Interval, planner};
use crate::store::{CalendarSync, CalendarWindow, StoreError};

/// Skipped events listed per calendar (the rest are counted).
const MAX_SKIPPED_LISTED: usize = 20;

/// The windows a calendar wants, and the matching events it cannot turn into one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Desired {
    /// Windows ending after now and starting within the horizon.
    pub windows: Vec<CalendarWindow>,
    /// Why matching occurrences were left out (too long, in a blackout), at most 20.
    pub skipped: Vec<String>,
    /// How many were left out.
    pub skipped_count: usize,
}

/// The windows the calendar `text` wants at `now`: its events whose summary
/// or category matches, expanded over `[now, now + horizon)` in their own
/// zones, each occurrence as a window named by its UID and original start.
/// A malformed file, or a matching event the file gets wrong, is an error:
/// the caller keeps the last good copy rather than drop its windows.
pub fn desired(
    text: &str,
    src: &CalendarSource,
    schedule: &ScheduleConfig,
    now: DateTime<Utc>,
) -> Result<Desired, IcsError> {
    let limits = ical::Limits {
        max_events: MAX_CALENDAR_EVENTS,
        max_occurrences: MAX_OCCURRENCES_PER_EVENT,
    };
    // A sign-in page or an error page served with 200 is not an empty calendar.
    let looks_like_one = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .get(..15)
        .is_some_and(|head| head.eq_ignore_ascii_case("BEGIN:VCALENDAR"));
    let cal = if looks_like_one {
        ical::parse(text, &limits)?
    } else {
        ical::Calendar::default()
    };
    if !cal.vcalendar {
        return Err(IcsError {
            line: 1,
            message:
                "no BEGIN:VCALENDAR: this is not an iCalendar file (is the address the calendar's iCal/ICS address?)"
                    .into(),
        });
    }
    let wanted = |e: &ical::VEvent| src.wants(&e.summary, &e.categories);
    if let Some(e) = cal.events.iter().find(|e| wanted(e) && e.uid.is_empty()) {
        return Err(IcsError {
            line: e.line,
            message: "VEVENT without UID".into(),
        });
    }
    let range = Interval {
        start: now,
        end: now + src.horizon,
    };
    let mut out = Desired::default();
    let skip = |out: &mut Desired, why: String| {
        out.skipped_count += 1;
        if out.skipped.len() < MAX_SKIPPED_LISTED {
            out.skipped.push(why);
        }
    };
    for o in ical::expand(&cal, range, src.timezone, &limits, &wanted)? {
        let label = format!(
            "`{}` at {}",
            o.summary.chars().take(60).collect::<String>(),
            o.span.start.to_rfc3339()
        );
        let length = o.span.end - o.span.start;
        if length > schedule.max_window {
            skip(
                &mut out,
                format!(
                    "{label}: {} h is longer than max_window_hours ({} h)",
                    length.num_minutes().div_euclid(60),
                    schedule.max_window.num_hours()
                ),
            );
            continue;
        }
        if let Some(b) = schedule.blackouts.overlapping(&o.span) {
            skip(&mut out, format!("{label}: overlaps a blackout ({b})"));
            continue;
        }
        out.windows.push(CalendarWindow {
            key: o.key(),
            interval: o.span,
            note: o.summary.chars().take(super::windows::MAX_NOTE_CHARS).collect(),
        });
    }
    Ok(out)
}

/// Reads a calendar file, at most [`crate::config::MAX_CALENDAR_BYTES`]
/// (never more is read into memory); the error names the file.
pub fn read_file(path: &std::path::Path) -> Result<String, String> {
    super::read_bounded(path, crate::config::MAX_CALENDAR_BYTES)
}

/// A subscribed calendar as `/readyz`, the API and the dashboard show it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CalendarStatus {
    /// Its name.
    pub name: String,
    /// Where it is read from (the variable's name, never the address).
    pub source: String,
    /// When it was last read (or tried).
    pub last_attempt: Option<DateTime<Utc>>,
    /// When it was last read and applied without error.
    pub last_success: Option<DateTime<Utc>>,
    /// Why the last read failed; the windows of the last good copy stay.
    pub error: Option<String>,
    /// Its windows ending after now, as last applied.
    pub windows: usize,
    /// What the last sync changed.
    pub sync: CalendarSync,
    /// Matching events left out, and why (at most 20 listed).
    pub skipped: Vec<String>,
}

impl CalendarStatus {
    /// Before its first read.
    pub fn new(src: &CalendarSource) -> Self {
        CalendarStatus {
            name: src.name.clone(),
            source: src.location.describe(),
            last_attempt: None,
            last_success: None,
            error: None,
            windows: 0,
            sync: CalendarSync::default(),
            skipped: Vec::new(),
        }
    }
}

/// Applies a calendar's text: the windows it wants replace the calendar's
/// future windows in the store (see [`crate::store::Store::sync_calendar`]),
/// and the daemon is woken if anything changed.
pub fn apply(
    app: &App,
    src: &CalendarSource,
    text: &str,
    now: DateTime<Utc>,
) -> Result<(Desired, CalendarSync), ApplyError> {
    let want = desired(text, src, &app.cfg.schedule, now).map_err(ApplyError::Calendar)?;
    let sync = app
        .store
        .sync_calendar(&crate::store::calendar_source(&src.name), &want.windows, now)
        .map_err(ApplyError::Store)?;
    if sync.changed() {
        tracing::info!(
            calendar = %src.name,
            added = sync.added,
            moved = sync.moved,
            cancelled = sync.cancelled,
            "calendar applied"
        );
        app.schedule_changed();
    }
    Ok((want, sync))
}

/// Why a calendar could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The calendar is malformed.
    #[error("{0}")]
    Calendar(IcsError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

/// The iCalendar feed: the demo windows from `past` before `now` to
/// `future` after it (stored, from calendars, and the config's recurring
/// ones), each with its ALB's lead and grace, its cost on its own and the
/// billed-hour advice, and the ALB's URL once known; blackouts as all-day
/// events (timed ones where they are not whole local days).
pub fn feed(app: &App, now: DateTime<Utc>) -> Result<String, StoreError> {
    let cfg = &app.cfg;
    let range = Interval {
        start: now - cfg.calendar_feed.past,
        end: now + cfg.calendar_feed.future,
    };
    let prices = app.prices.get();
    let settings = &prices.settings;
    let https = cfg.alb.https.is_some();
    let lifetimes = app
        .store
        .lifetimes(&cfg.deployment, range.start - Duration::days(1), range.end)?;
    let stored = app.store.windows_in(range)?;
    let mut events: Vec<(String, Interval, String, String)> = Vec::new();
    for w in planner::windows_in(&cfg.schedule.windows, &[], &cfg.schedule.blackouts, range) {
        events.push((w.id.clone(), w.interval, String::new(), "config".into()));
    }
    for w in &stored {
        events.push((format!("w{}", w.id), w.interval, w.note.clone(), w.created_by.clone()));
    }
    events.sort_by_key(|e| e.1.start);
    let host = format!("{}.costd", cfg.deployment);
    let mut out = Writer::default();
    out.line("BEGIN", "VCALENDAR")
        .line("VERSION", "2.0")
        .line("PRODID", "-//costd//demo windows//EN")
        .line("CALSCALE", "GREGORIAN")
        .line("METHOD", "PUBLISH")
        .text("X-WR-CALNAME", &format!("costd {} demo windows", cfg.deployment))
        .line("X-PUBLISHED-TTL", "PT15M")
        .line("REFRESH-INTERVAL;VALUE=DURATION", "PT15M");
    for (id, iv, note, by) in &events {
        let cost = planner::window_cost(*iv, settings, now);
        let mut description = String::new();
        if !note.is_empty() {
            description.push_str(note);
            description.push_str("\n\n");
        }
        description.push_str(&format!(
            "The ALB exists from {} to {} (lead {} min, grace {} min).\n{}\nWindow {id}, added by {by}.",
            (iv.start - settings.lead).format("%Y-%m-%d %H:%M UTC"),
            (iv.end + settings.grace).format("%Y-%m-%d %H:%M UTC"),
            settings.lead.num_minutes(),
            settings.grace.num_minutes(),
            cost.describe(settings),
        ));
        let url = lifetimes
            .iter()
            .filter(|l| l.window_ids.iter().any(|w| w == id))
            .find_map(|l| l.dns_name.as_deref())
            .map(|dns| crate::event::alb_url(dns, https));
        if let Some(u) = &url {
            description.push_str(&format!("\nALB: {u}"));
        }
        let summary = if note.is_empty() {
            format!("Demo window ({})", cfg.deployment)
        } else {
            format!("Demo: {note}")
        };
        out.line("BEGIN", "VEVENT")
            .text("UID", &format!("{}@{host}", id.replace('@', "-")))
            .utc("DTSTAMP", now)
            .utc("DTSTART", iv.start)
            .utc("DTEND", iv.end)
            .text("SUMMARY", &summary)
            .text("DESCRIPTION", &description)
            .line("CATEGORIES", "costd")
            .line("STATUS", "CONFIRMED")
            .line("TRANSP", "OPAQUE");
        if let Some(u) = &url {
            out.line("URL", u);
        }
        out.line("END", "VEVENT");
    }
    for span in cfg.schedule.blackouts.spans_in(&range) {
        out.line("BEGIN", "VEVENT")
            .text(
                "UID",
                &format!("blackout-{}@{host}", span.start.format("%Y%m%dT%H%M%SZ")),
            )
            .utc("DTSTAMP", now);
        match ical::whole_days(span, cfg.timezone) {
            Some((first, end)) => out.date("DTSTART", first).date("DTEND", end),
            None => out.utc("DTSTART", span.start).utc("DTEND", span.end),
        };
        out.text("SUMMARY", "Blackout: no recurring demo windows")
            .line("CATEGORIES", "costd,blackout")
            .line("TRANSP", "TRANSPARENT")
            .line("END", "VEVENT");
    }
    out.line("END", "VCALENDAR");
    Ok(out.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CalendarLocation;
    use chrono::TimeZone;

    fn utc(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap()
    }

    fn team() -> CalendarSource {
        CalendarSource {
            name: "team".into(),
            location: CalendarLocation::File("team.ics".into()),
            filter: "[demo]".into(),
            refresh: Duration::minutes(5),
            horizon: Duration::days(14),
            timezone: chrono_tz::Asia::Singapore,
        }
    }

    fn wrap(events: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{events}END:VCALENDAR\r\n")
    }

    #[test]
    fn matching_events_become_windows_named_by_uid_and_occurrence() {
        let mut schedule = ScheduleConfig::default();
        schedule.blackouts.add_date(
            chrono::NaiveDate::from_ymd_opt(2026, 12, 9).unwrap(),
            chrono_tz::Asia::Singapore,
        );
        let text = wrap(
            "BEGIN:VEVENT\r\nUID:one\r\nSUMMARY:[Demo] Acme\r\nDTSTART:20261202T010000Z\r\nDTEND:20261202T040000Z\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:lunch\r\nSUMMARY:Lunch\r\nDTSTART:20261202T050000Z\r\nDTEND:20261202T060000Z\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:cat\r\nSUMMARY:Customer call\r\nCATEGORIES:Sales,[demo]\r\nDTSTART:20261203T010000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:long\r\nSUMMARY:[demo] offsite\r\nDTSTART;VALUE=DATE:20261204\r\nDTEND;VALUE=DATE:20261206\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:weekly\r\nSUMMARY:[demo] weekly\r\nDTSTART;TZID=Asia/Singapore:20261202T090000\r\nDTEND;TZID=Asia/Singapore:20261202T100000\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:past\r\nSUMMARY:[demo] done\r\nDTSTART:20261130T010000Z\r\nDTEND:20261130T020000Z\r\nEND:VEVENT\r\n",
        );
        // Now: 1 Dec 00:00Z; horizon 14 days → to 15 Dec 00:00Z.
        let d = desired(&text, &team(), &schedule, utc(1, 0)).unwrap();
        let got: Vec<(&str, DateTime<Utc>)> = d.windows.iter().map(|w| (w.key.as_str(), w.interval.start)).collect();
        // Weekly 09:00 Singapore = 01:00Z on 2 Dec and 16 Dec (past the
        // horizon); 9 Dec is a blackout day, so it is left out.
        assert_eq!(
            got,
            vec![
                ("one", utc(2, 1)),
                ("weekly/20261202T010000Z", utc(2, 1)),
                ("cat", utc(3, 1)),
            ]
        );
        assert_eq!(d.windows[0].note, "[Demo] Acme");
        assert_eq!(d.skipped_count, 2, "{:?}", d.skipped);
        // The two-day offsite (48 h) is longer than max_window_hours (12).
        assert!(
            d.skipped[0].contains("48 h is longer than max_window_hours (12 h)"),
            "{:?}",
            d.skipped
        );
        assert!(d.skipped[1].contains("overlaps a blackout"), "{:?}", d.skipped);
    }

    #[test]
    fn a_page_that_is_not_a_calendar_or_a_matching_event_without_uid_is_refused() {
        let schedule = ScheduleConfig::default();
        for page in ["<html>sign in</html>", "ééééééééé BEGIN:VCALENDAR", ""] {
            let e = desired(page, &team(), &schedule, utc(1, 0)).unwrap_err();
            assert!(e.message.contains("not an iCalendar file"), "{e}");
        }
        let e = desired(
            &wrap("BEGIN:VEVENT\r\nSUMMARY:[demo] x\r\nDTSTART:20261202T010000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\n"),
            &team(),
            &schedule,
            utc(1, 0),
        )
        .unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (3, "VEVENT without UID"));
        // The bounds: events per calendar, occurrences per event, UID length.
        let events = |n: usize| {
            (0..n)
                .map(|i| format!("BEGIN:VEVENT\r\nUID:e{i}\r\nSUMMARY:x\r\nDTSTART:20261202T010000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\n"))
                .collect::<String>()
        };
        assert!(desired(&wrap(&events(MAX_CALENDAR_EVENTS)), &team(), &schedule, utc(1, 0)).is_ok());
        let e = desired(&wrap(&events(MAX_CALENDAR_EVENTS + 1)), &team(), &schedule, utc(1, 0)).unwrap_err();
        assert!(e.message.contains("more than 5000 events"), "{e}");
        // Hourly for 14 days: 336 occurrences, within 500; every 30 minutes: 672, refused.
        let rule = |r: &str| {
            wrap(&format!(
                "BEGIN:VEVENT\r\nUID:r\r\nSUMMARY:[demo] r\r\nDTSTART:20261201T000000Z\r\nDURATION:PT10M\r\nRRULE:{r}\r\nEND:VEVENT\r\n"
            ))
        };
        assert_eq!(
            desired(&rule("FREQ=HOURLY"), &team(), &schedule, utc(1, 0))
                .unwrap()
                .windows
                .len(),
            336
        );
        let e = desired(&rule("FREQ=MINUTELY;INTERVAL=30"), &team(), &schedule, utc(1, 0)).unwrap_err();
        assert!(e.message.contains("repeats more than 500 times"), "{e}");
        let long_uid = "u".repeat(ical::MAX_UID_BYTES + 1);
        let e = desired(
            &wrap(&format!("BEGIN:VEVENT\r\nUID:{long_uid}\r\nSUMMARY:[demo] x\r\nDTSTART:20261202T010000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\n")),
            &team(),
            &schedule,
            utc(1, 0),
        )
        .unwrap_err();
        assert!(e.message.contains("UID longer than 255 bytes"), "{e}");
        // An empty calendar is a calendar: no windows.
        assert!(
            desired(&wrap(""), &team(), &schedule, utc(1, 0))
                .unwrap()
                .windows
                .is_empty()
        );
    }
}
