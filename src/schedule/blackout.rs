//! Blackouts: days or spans on which recurring demo windows do not open
//! (holidays, change freezes). From a list of dates or an iCalendar file.
//! PURE: text in, spans out.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

use super::Interval;
use super::cron::resolve_local;

/// A set of blackout spans.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Blackouts {
    spans: Vec<Interval>,
}

impl Blackouts {
    /// The whole local day `d` in `tz`.
    pub fn add_date(&mut self, d: NaiveDate, tz: Tz) {
        self.spans.push(day_span(d, d + Duration::days(1), tz));
    }

    /// An explicit span.
    pub fn add_span(&mut self, span: Interval) {
        self.spans.push(span);
    }

    /// Whether a recurring window opening at `start` is suppressed.
    pub fn suppresses(&self, start: DateTime<Utc>) -> bool {
        self.spans.iter().any(|s| s.start <= start && start < s.end)
    }

    /// The first blackout overlapping `iv`, described, if any.
    pub fn overlapping(&self, iv: &Interval) -> Option<String> {
        self.spans
            .iter()
            .find(|s| s.clip(iv).is_some())
            .map(|s| format!("{} to {}", s.start.to_rfc3339(), s.end.to_rfc3339()))
    }

    /// The blackout spans overlapping `iv`, clipped to it, in order.
    pub fn spans_in(&self, iv: &Interval) -> Vec<Interval> {
        let mut out: Vec<Interval> = self.spans.iter().filter_map(|s| s.clip(iv)).collect();
        out.sort_by_key(|s| s.start);
        out
    }

    /// Number of spans.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

fn day_span(first: NaiveDate, end_exclusive: NaiveDate, tz: Tz) -> Interval {
    let midnight = |d: NaiveDate| resolve_local(tz, d.and_hms_opt(0, 0, 0).expect("midnight"));
    Interval {
        start: midnight(first),
        end: midnight(end_exclusive),
    }
}

/// Parses the VEVENTs of an iCalendar file into spans. All-day events
/// (`VALUE=DATE`) are whole local days in `tz`; timed events use their `Z`,
/// `TZID` or, if floating, `tz`. Errors give the 1-based line.
pub fn parse_ics(text: &str, tz: Tz) -> Result<Vec<Interval>, (usize, String)> {
    // Unfold continuation lines (RFC 5545 §3.1), keeping the first line number.
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.trim_end_matches('\r');
        if let (Some(rest), Some(last)) = (raw.strip_prefix([' ', '\t']), lines.last_mut()) {
            last.1.push_str(rest);
            continue;
        }
        lines.push((i + 1, raw.to_string()));
    }
    let mut out = Vec::new();
    // (line of BEGIN, DTSTART, DTEND) of the event being read.
    let mut event: Option<(usize, Option<When>, Option<When>)> = None;
    for (n, line) in lines {
        let (name_params, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
        let mut parts = name_params.split(';');
        let name = parts.next().unwrap_or("").to_ascii_uppercase();
        let params: Vec<&str> = parts.collect();
        match (name.as_str(), value) {
            ("BEGIN", "VEVENT") => event = Some((n, None, None)),
            ("END", "VEVENT") => {
                let (begin, start, end) = event.take().ok_or((n, "END:VEVENT without BEGIN:VEVENT".to_string()))?;
                let start = start.ok_or((begin, "VEVENT without DTSTART".to_string()))?;
                let span = match (start, end) {
                    (When::Date(d), None) => day_span(d, d + Duration::days(1), tz),
                    (When::Date(d), Some(When::Date(e))) if e > d => day_span(d, e, tz),
                    (When::Instant(s), Some(When::Instant(e))) if e > s => Interval { start: s, end: e },
                    (When::Instant(_), None) => return Err((begin, "timed VEVENT without DTEND".into())),
                    _ => {
                        return Err((
                            begin,
                            "DTEND must be after DTSTART and of the same kind (date or time)".into(),
                        ));
                    }
                };
                out.push(span);
            }
            ("DTSTART", _) | ("DTEND", _) if event.is_some() => {
                let when = parse_when(value, &params, tz).map_err(|e| (n, format!("{name}: {e}")))?;
                let ev = event.as_mut().expect("inside VEVENT");
                if name == "DTSTART" {
                    ev.1 = Some(when);
                } else {
                    ev.2 = Some(when);
                }
            }
            ("RRULE", _) | ("RDATE", _) | ("DURATION", _) if event.is_some() => {
                return Err((
                    n,
                    format!("{name} is not supported; list each blackout as its own event with DTEND"),
                ));
            }
            _ => {}
        }
    }
    if let Some((begin, _, _)) = event {
        return Err((begin, "BEGIN:VEVENT without END:VEVENT".into()));
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy)]
enum When {
    Date(NaiveDate),
    Instant(DateTime<Utc>),
}

fn parse_when(value: &str, params: &[&str], tz: Tz) -> Result<When, String> {
    let is_date = params.iter().any(|p| p.eq_ignore_ascii_case("VALUE=DATE"));
    if is_date || value.len() == 8 {
        return NaiveDate::parse_from_str(value, "%Y%m%d")
            .map(When::Date)
            .map_err(|_| format!("`{value}` is not a date YYYYMMDD"));
    }
    let zone = match params.iter().find_map(|p| p.strip_prefix("TZID=")) {
        Some(z) => z.parse::<Tz>().map_err(|_| format!("unknown TZID `{z}`"))?,
        None => tz,
    };
    if let Some(v) = value.strip_suffix('Z') {
        let t = NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").map_err(|_| format!("`{value}` is not a time"))?;
        return Ok(When::Instant(t.and_utc()));
    }
    let t = NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S").map_err(|_| format!("`{value}` is not a time"))?;
    Ok(When::Instant(resolve_local(zone, t)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const SG: Tz = chrono_tz::Asia::Singapore;

    #[test]
    fn a_date_blacks_out_the_local_day() {
        let mut b = Blackouts::default();
        b.add_date(NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(), SG);
        // 2026-12-25 in Singapore = 2026-12-24T16:00Z .. 2026-12-25T16:00Z.
        assert!(b.suppresses(Utc.with_ymd_and_hms(2026, 12, 24, 16, 0, 0).unwrap()));
        assert!(b.suppresses(Utc.with_ymd_and_hms(2026, 12, 25, 1, 0, 0).unwrap()));
        assert!(!b.suppresses(Utc.with_ymd_and_hms(2026, 12, 25, 16, 0, 0).unwrap()));
        assert!(!b.suppresses(Utc.with_ymd_and_hms(2026, 12, 24, 15, 59, 59).unwrap()));
    }

    #[test]
    fn ics_all_day_and_timed_events() {
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Christmas\r\nDTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261227\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART;TZID=Asia/Singapore:20261231T09\r\n 0000\r\nDTEND:20261231T040000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let spans = parse_ics(ics, SG).unwrap();
        assert_eq!(spans.len(), 2);
        // Two whole days in Singapore: 24 Dec 16:00Z → 26 Dec 16:00Z.
        assert_eq!(spans[0].start, Utc.with_ymd_and_hms(2026, 12, 24, 16, 0, 0).unwrap());
        assert_eq!(spans[0].end, Utc.with_ymd_and_hms(2026, 12, 26, 16, 0, 0).unwrap());
        // Folded line "20261231T09" + "0000": 09:00 SGT = 01:00Z, to 04:00Z.
        assert_eq!(spans[1].start, Utc.with_ymd_and_hms(2026, 12, 31, 1, 0, 0).unwrap());
    }

    #[test]
    fn ics_errors_name_the_line() {
        let e = parse_ics("BEGIN:VEVENT\nDTSTART:2026122\nEND:VEVENT\n", SG).unwrap_err();
        assert_eq!(e.0, 2, "{e:?}");
        let e = parse_ics(
            "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261225\nRRULE:FREQ=YEARLY\nEND:VEVENT\n",
            SG,
        )
        .unwrap_err();
        assert_eq!(e.0, 3);
        assert!(e.1.contains("RRULE is not supported"));
        let e = parse_ics("BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261225\n", SG).unwrap_err();
        assert!(e.1.contains("without END:VEVENT"));
    }
}
