//! Blackouts: days or spans on which recurring demo windows do not open
//! (holidays, change freezes). From a list of dates or an iCalendar file.
//! PURE: text in, spans out.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::Interval;
use super::cron::resolve_local;
use super::ical::{self, Calendar};

/// A set of blackout spans: fixed ones, and recurring events from an
/// iCalendar file expanded when asked about a range.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Blackouts {
    spans: Vec<Interval>,
    recurring: Vec<(Arc<Calendar>, Tz)>,
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

    /// The events of an iCalendar file: single ones become spans, recurring
    /// ones (`RRULE`, `RDATE`, overrides) are kept and expanded in their own
    /// zone when a range is asked about. All-day events are whole local days
    /// in `tz`. Errors give the 1-based line; every recurring event is tried
    /// over its first year, so a bad rule is refused when the file is read.
    pub fn add_ics(&mut self, text: &str, tz: Tz) -> Result<(), (usize, String)> {
        let cal = ical::parse(text, &ical::FILE_LIMITS).map_err(|e| (e.line, e.message))?;
        let mut recurring = Calendar {
            events: Vec::new(),
            timezone: cal.timezone,
            vcalendar: true,
        };
        for ev in cal.events {
            if let Some(p) = &ev.problem {
                return Err((p.line, p.message.clone()));
            }
            let start = ev.start.expect("checked: DTSTART").instant(cal.timezone.unwrap_or(tz));
            let first_year = Interval {
                start,
                end: start + Duration::days(366),
            };
            let one = Calendar {
                events: vec![ev],
                timezone: cal.timezone,
                vcalendar: true,
            };
            let occurrences =
                ical::expand(&one, first_year, tz, &ical::FILE_LIMITS, &|_| true).map_err(|e| (e.line, e.message))?;
            let ev = one.events.into_iter().next().expect("one event");
            if ev.recurs() {
                recurring.events.push(ev);
            } else if !ev.cancelled {
                self.spans.extend(occurrences.into_iter().map(|o| o.span));
            }
        }
        if !recurring.events.is_empty() {
            self.recurring.push((Arc::new(recurring), tz));
        }
        Ok(())
    }

    /// The recurring blackouts' occurrences overlapping `iv`. Each was tried
    /// when its file was read; one that fails here (a range far larger than
    /// any the daemon asks about) is logged and counts as no blackout.
    fn recurring_in(&self, iv: &Interval) -> Vec<Interval> {
        let mut out = Vec::new();
        for (cal, tz) in &self.recurring {
            match ical::expand(cal, *iv, *tz, &ical::FILE_LIMITS, &|_| true) {
                Ok(occ) => out.extend(occ.into_iter().map(|o| o.span)),
                Err(e) => tracing::warn!(error = %e, "a recurring blackout could not be expanded"),
            }
        }
        out
    }

    /// Whether a recurring window opening at `start` is suppressed.
    pub fn suppresses(&self, start: DateTime<Utc>) -> bool {
        self.spans.iter().any(|s| s.start <= start && start < s.end)
            || (!self.recurring.is_empty()
                && !self
                    .recurring_in(&Interval {
                        start,
                        end: start + Duration::seconds(1),
                    })
                    .is_empty())
    }

    /// The first blackout overlapping `iv`, described, if any.
    pub fn overlapping(&self, iv: &Interval) -> Option<String> {
        self.spans
            .iter()
            .copied()
            .find(|s| s.clip(iv).is_some())
            .or_else(|| self.recurring_in(iv).into_iter().next())
            .map(|s| format!("{} to {}", s.start.to_rfc3339(), s.end.to_rfc3339()))
    }

    /// The blackout spans overlapping `iv`, clipped to it, in order.
    pub fn spans_in(&self, iv: &Interval) -> Vec<Interval> {
        let mut out: Vec<Interval> = self.spans.iter().filter_map(|s| s.clip(iv)).collect();
        out.extend(self.recurring_in(iv).iter().filter_map(|s| s.clip(iv)));
        out.sort_by_key(|s| s.start);
        out
    }

    /// Number of fixed spans and recurring events.
    pub fn len(&self) -> usize {
        self.spans.len() + self.recurring.iter().map(|(c, _)| c.events.len()).sum::<usize>()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn day_span(first: NaiveDate, end_exclusive: NaiveDate, tz: Tz) -> Interval {
    let midnight = |d: NaiveDate| resolve_local(tz, d.and_hms_opt(0, 0, 0).expect("midnight"));
    Interval {
        start: midnight(first),
        end: midnight(end_exclusive),
    }
}

/// The spans of an iCalendar file's events (no recurrence), for tests.
#[cfg(test)]
fn parse_ics(text: &str, tz: Tz) -> Result<Vec<Interval>, (usize, String)> {
    let mut b = Blackouts::default();
    b.add_ics(text, tz)?;
    Ok(b.spans)
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
        let e = parse_ics(
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nDTSTART:2026122\nEND:VEVENT\nEND:VCALENDAR\n",
            SG,
        )
        .unwrap_err();
        assert_eq!(e.0, 4, "{e:?}");
        let e = parse_ics(
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nDTSTART;VALUE=DATE:20261225\nRRULE:FREQ=FORTNIGHTLY\nEND:VEVENT\nEND:VCALENDAR\n",
            SG,
        )
        .unwrap_err();
        assert_eq!(e.0, 5);
        assert!(e.1.contains("RRULE"), "{e:?}");
        let e = parse_ics(
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nDTSTART;VALUE=DATE:20261225\n",
            SG,
        )
        .unwrap_err();
        assert!(e.1.contains("without END:VEVENT"));
    }

    #[test]
    fn recurring_blackouts_are_expanded_in_their_zone() {
        // Every 25 Dec, all day in Singapore (24 Dec 16:00Z → 25 Dec 16:00Z),
        // and every Friday 17:00–19:00 Berlin (a change freeze).
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:xmas\r\nDTSTART;VALUE=DATE:20201225\r\nRRULE:FREQ=YEARLY\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:freeze\r\nDTSTART;TZID=Europe/Berlin:20260102T170000\r\nDTEND;TZID=Europe/Berlin:20260102T190000\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let mut b = Blackouts::default();
        b.add_ics(ics, SG).unwrap();
        assert_eq!(b.len(), 2);
        assert!(b.suppresses(Utc.with_ymd_and_hms(2031, 12, 24, 16, 0, 0).unwrap()));
        assert!(!b.suppresses(Utc.with_ymd_and_hms(2031, 12, 25, 16, 0, 0).unwrap()));
        // Friday 2026-12-04 17:00 CET = 16:00Z; in July (CEST) 17:00 = 15:00Z.
        assert!(b.suppresses(Utc.with_ymd_and_hms(2026, 12, 4, 16, 30, 0).unwrap()));
        assert!(!b.suppresses(Utc.with_ymd_and_hms(2026, 12, 4, 15, 30, 0).unwrap()));
        assert!(b.suppresses(Utc.with_ymd_and_hms(2026, 7, 3, 15, 0, 0).unwrap()));
        let week = Interval {
            start: Utc.with_ymd_and_hms(2026, 12, 21, 0, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 12, 28, 0, 0, 0).unwrap(),
        };
        let spans = b.spans_in(&week);
        // Christmas (24 Dec 16:00Z) and Friday 25 Dec 16:00Z–18:00Z.
        assert_eq!(spans.len(), 2, "{spans:?}");
        assert_eq!(spans[1].start, Utc.with_ymd_and_hms(2026, 12, 25, 16, 0, 0).unwrap());
        assert!(b.overlapping(&week).is_some());
    }
}
