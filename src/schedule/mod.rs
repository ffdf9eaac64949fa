//! Demo windows and their expansion into the instants the ALB exists.
//! PURE: no I/O, no clock; every instant is passed in.

pub mod blackout;
pub mod cron;
pub mod ical;
pub mod planner;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

pub use crate::interval::Interval;
pub use cron::CronExpr;

/// The most schedule entries (recurring + one-off) a scenario or the config may list.
pub const MAX_SCHEDULE_ENTRIES: usize = 100;

/// The most firings a day all recurring windows of one schedule may add up
/// to (a window every 15 minutes): a year of them expands to at most
/// 35,136 windows, milliseconds of work. `* * * * *` (1,440 a day) is refused.
pub const MAX_FIRINGS_PER_DAY: u32 = 96;

/// Keeps a schedule being parsed inside [`MAX_SCHEDULE_ENTRIES`] and
/// [`MAX_FIRINGS_PER_DAY`]; the errors say what is allowed.
#[derive(Debug, Default)]
pub struct ScheduleBounds {
    firings_per_day: u32,
}

impl ScheduleBounds {
    /// Checks the number of entries before any is parsed.
    pub fn entries(count: usize) -> Result<Self, String> {
        if count > MAX_SCHEDULE_ENTRIES {
            return Err(format!(
                "{count} schedule entries; the most allowed is {MAX_SCHEDULE_ENTRIES}"
            ));
        }
        Ok(ScheduleBounds::default())
    }

    /// Counts one recurring entry's firings against the daily total.
    pub fn add(&mut self, cron: &CronExpr) -> Result<(), String> {
        self.firings_per_day = self.firings_per_day.saturating_add(cron.firings_per_day_at_most());
        if self.firings_per_day > MAX_FIRINGS_PER_DAY {
            return Err(format!(
                "the recurring windows so far fire up to {} times a day; the most allowed is {MAX_FIRINGS_PER_DAY} (every 15 minutes) across all of them",
                self.firings_per_day
            ));
        }
        Ok(())
    }
}

/// A recurring demo window: opens at each cron firing, lasts `duration`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecurringWindow {
    /// When the window opens, in `timezone`.
    pub cron: CronExpr,
    /// How long it stays open (elapsed time, so DST days keep the same length).
    pub duration: Duration,
    /// IANA time zone the cron is read in.
    pub timezone: Tz,
}

/// A demo window: recurring or one-off.
#[derive(Debug, Clone, PartialEq)]
pub enum WindowSpec {
    /// Opens on a cron schedule.
    Recurring(RecurringWindow),
    /// Opens once.
    OneOff(Interval),
}

/// Every window that overlaps `[period.start, period.end)`, unclipped, sorted.
pub fn expand(windows: &[WindowSpec], period: Interval) -> Vec<Interval> {
    let mut out = Vec::new();
    for w in windows {
        match w {
            WindowSpec::Recurring(r) => {
                // A window that opened before the period may still be open in it.
                let from = period.start - r.duration;
                for start in r.cron.occurrences(r.timezone, from, period.end) {
                    let iv = Interval {
                        start,
                        end: start + r.duration,
                    };
                    if iv.end > period.start {
                        out.push(iv);
                    }
                }
            }
            WindowSpec::OneOff(iv) => {
                if iv.clip(&period).is_some() {
                    out.push(*iv);
                }
            }
        }
    }
    out.sort();
    out
}

/// Merges overlapping or touching spans into one (an ALB that must exist
/// through both is one lifetime). Input need not be sorted.
pub fn merge(mut spans: Vec<Interval>) -> Vec<Interval> {
    spans.sort();
    let mut out: Vec<Interval> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

/// A calendar month `YYYY-MM` (ordered by year, then month).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    /// Year.
    pub year: i32,
    /// 1–12.
    pub month: u32,
}

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (y, m) = s.split_once('-').ok_or_else(|| format!("`{s}` is not a month"))?;
        let year: i32 = y.parse().map_err(|_| format!("`{s}` is not a month"))?;
        let month: u32 = m.parse().map_err(|_| format!("`{s}` is not a month"))?;
        if y.len() != 4 || !(1..=12).contains(&month) {
            return Err(format!("`{s}` is not a month"));
        }
        Ok(Month { year, month })
    }

    /// The month containing `at` in `tz`.
    pub fn containing(at: DateTime<Utc>, tz: Tz) -> Self {
        let local = at.with_timezone(&tz);
        Month {
            year: local.year(),
            month: local.month(),
        }
    }

    /// Whether this month is at most `years` years before or after `around`
    /// (projections and ledgers are asked for months near now).
    pub fn is_within_years_of(self, around: Month, years: i32) -> bool {
        let index = |m: Month| i64::from(m.year) * 12 + i64::from(m.month);
        (index(self) - index(around)).abs() <= i64::from(years) * 12
    }

    /// The month before this one.
    pub fn previous(self) -> Self {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The month after this one.
    pub fn next(self) -> Self {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// First day of the month.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("valid month")
    }

    /// `[local midnight on the 1st, local midnight on the 1st of the next month)` in `tz`.
    /// Its length is the month's real number of hours (743 or 745 in DST months).
    pub fn span(self, tz: Tz) -> Interval {
        let start = cron::resolve_local(tz, self.first_day().and_hms_opt(0, 0, 0).expect("midnight"));
        let end = cron::resolve_local(tz, self.next().first_day().and_hms_opt(0, 0, 0).expect("midnight"));
        Interval { start, end }
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The longest duration any input may give (a year): windows, leads and
/// graces are far shorter; this only keeps the arithmetic in range.
pub const MAX_DURATION_DAYS: i64 = 366;

/// Parses a duration such as `3h`, `90m`, `1h30m`, `2d`, `45s`: more than
/// zero and at most [`MAX_DURATION_DAYS`] days; the arithmetic is checked, so
/// no input can overflow it.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let too_long = || format!("`{s}` is longer than the most allowed ({MAX_DURATION_DAYS} days)");
    let max = Duration::days(MAX_DURATION_DAYS);
    let mut total = Duration::zero();
    let mut digits = String::new();
    let mut any = false;
    for ch in t.chars() {
        if ch.is_ascii_digit() {
            if digits.len() >= 12 {
                return Err(too_long());
            }
            digits.push(ch);
            continue;
        }
        let n: i64 = digits
            .parse()
            .map_err(|_| format!("`{s}` is not a duration like 3h, 90m or 1h30m"))?;
        digits.clear();
        let part = match ch {
            'd' => Duration::try_days(n),
            'h' => Duration::try_hours(n),
            'm' => Duration::try_minutes(n),
            's' => Duration::try_seconds(n),
            _ => return Err(format!("`{s}`: unknown unit `{ch}`; use d, h, m or s (e.g. 1h30m)")),
        };
        total = part
            .and_then(|p| total.checked_add(&p))
            .filter(|t| *t <= max)
            .ok_or_else(too_long)?;
        any = true;
    }
    if !digits.is_empty() || !any {
        return Err(format!(
            "`{s}` is not a duration like 3h, 90m or 1h30m (every number needs a unit)"
        ));
    }
    if total <= Duration::zero() {
        return Err(format!("`{s}`: a duration must be longer than zero"));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn daily(cron: &str, dur: &str, tz: Tz) -> WindowSpec {
        WindowSpec::Recurring(RecurringWindow {
            cron: CronExpr::parse(cron).unwrap(),
            duration: parse_duration(dur).unwrap(),
            timezone: tz,
        })
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3h").unwrap(), Duration::hours(3));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::minutes(90));
        assert_eq!(parse_duration("2d").unwrap(), Duration::hours(48));
        assert!(parse_duration("3").unwrap_err().contains("needs a unit"));
        assert!(parse_duration("3w").unwrap_err().contains("unknown unit `w`"));
        assert!(parse_duration("0h").unwrap_err().contains("longer than zero"));
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn window_crossing_midnight_and_month_end() {
        // 22:00 UTC for 4h on Dec 31 runs into Jan 1: it overlaps both months.
        let w = [daily("0 22 31 12 *", "4h", chrono_tz::UTC)];
        let dec = Month { year: 2026, month: 12 }.span(chrono_tz::UTC);
        let jan = Month { year: 2027, month: 1 }.span(chrono_tz::UTC);
        let in_dec = expand(&w, dec);
        let in_jan = expand(&w, jan);
        assert_eq!(
            in_dec,
            [Interval {
                start: utc(2026, 12, 31, 22, 0),
                end: utc(2027, 1, 1, 2, 0)
            }]
        );
        assert_eq!(
            in_jan, in_dec,
            "the window that opened in December is still open in January"
        );
        assert_eq!(in_dec[0].clip(&jan).unwrap().seconds(), 2 * 3600);
    }

    #[test]
    fn duration_is_elapsed_time_across_dst() {
        // Europe/Berlin falls back on 2026-10-25 at 03:00 CEST → 02:00 CET.
        // A window at 01:00 local for 3h lasts 3 real hours: 23:00 UTC → 02:00 UTC.
        let w = [daily("0 1 * * *", "3h", chrono_tz::Europe::Berlin)];
        let got = expand(
            &w,
            Interval {
                start: utc(2026, 10, 24, 12, 0),
                end: utc(2026, 10, 25, 12, 0),
            },
        );
        assert_eq!(
            got,
            [Interval {
                start: utc(2026, 10, 24, 23, 0),
                end: utc(2026, 10, 25, 2, 0)
            }]
        );
    }

    #[test]
    fn overlapping_and_touching_windows_merge() {
        let a = Interval {
            start: utc(2026, 12, 1, 9, 0),
            end: utc(2026, 12, 1, 11, 0),
        };
        let b = Interval {
            start: utc(2026, 12, 1, 10, 0),
            end: utc(2026, 12, 1, 12, 0),
        };
        let c = Interval {
            start: utc(2026, 12, 1, 12, 0),
            end: utc(2026, 12, 1, 13, 0),
        };
        let d = Interval {
            start: utc(2026, 12, 1, 14, 0),
            end: utc(2026, 12, 1, 15, 0),
        };
        assert_eq!(
            merge(vec![d, c, b, a]),
            [
                Interval {
                    start: a.start,
                    end: c.end
                },
                d
            ]
        );
    }

    #[test]
    fn month_spans_have_the_real_number_of_hours() {
        let h = |m: Month, tz: Tz| m.span(tz).seconds() / 3600;
        assert_eq!(h(Month { year: 2026, month: 11 }, chrono_tz::UTC), 720); // 30 days
        assert_eq!(h(Month { year: 2026, month: 12 }, chrono_tz::UTC), 744); // 31 days
        assert_eq!(h(Month { year: 2028, month: 2 }, chrono_tz::UTC), 696); // leap February
        // March 2027 in Berlin loses an hour to DST; October 2026 gains one.
        assert_eq!(h(Month { year: 2027, month: 3 }, chrono_tz::Europe::Berlin), 743);
        assert_eq!(h(Month { year: 2026, month: 10 }, chrono_tz::Europe::Berlin), 745);
        assert_eq!(Month::parse("2026-12").unwrap(), Month { year: 2026, month: 12 });
        assert!(Month::parse("2026-13").is_err());
        assert!(Month::parse("26-1").is_err());
    }
}

/// Why a window cannot be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// It starts before now.
    #[error("the window starts in the past ({start}); it must start now or later")]
    InThePast {
        /// The start given.
        start: String,
    },
    /// It starts too far ahead.
    #[error(
        "the window starts {days} days from now; the most allowed is {max_days} days ahead (schedule.max_days_ahead)"
    )]
    TooFarAhead {
        /// How far ahead it starts, in whole days.
        days: i64,
        /// The limit.
        max_days: i64,
    },
    /// It is longer than allowed.
    #[error("the window is {hours} h long; the most allowed is {max_hours} h (schedule.max_window_hours)")]
    TooLong {
        /// Its length in hours.
        hours: i64,
        /// The limit.
        max_hours: i64,
    },
    /// It overlaps a blackout.
    #[error("the window overlaps a blackout ({0})")]
    Blackout(String),
}

impl WindowError {
    /// The input field at fault: `start` or `end`.
    pub fn field(&self) -> &'static str {
        match self {
            WindowError::InThePast { .. } | WindowError::TooFarAhead { .. } => "start",
            WindowError::TooLong { .. } | WindowError::Blackout(_) => "end",
        }
    }
}

/// What a new one-off window must satisfy.
#[derive(Debug, Clone, Copy)]
pub struct WindowLimits<'a> {
    /// The longest window (`schedule.max_window_hours`).
    pub max_window: Duration,
    /// How far ahead a window may start (`schedule.max_days_ahead`).
    pub max_ahead: Duration,
    /// Blackouts a window may not overlap.
    pub blackouts: &'a blackout::Blackouts,
}

/// Checks a one-off window being added at `now`: not in the past (a minute of
/// slack for "now"), starting at most `max_ahead` from now, at most
/// `max_window` long, clear of blackouts.
pub fn validate_new_window(iv: Interval, now: DateTime<Utc>, limits: &WindowLimits) -> Result<(), WindowError> {
    if iv.start < now - Duration::minutes(1) {
        return Err(WindowError::InThePast {
            start: iv.start.to_rfc3339(),
        });
    }
    if iv.start - now > limits.max_ahead {
        return Err(WindowError::TooFarAhead {
            days: (iv.start - now).num_days(),
            max_days: limits.max_ahead.num_days(),
        });
    }
    if iv.end - iv.start > limits.max_window {
        return Err(WindowError::TooLong {
            hours: (iv.end - iv.start).num_minutes().div_euclid(60),
            max_hours: limits.max_window.num_hours(),
        });
    }
    if let Some(b) = limits.blackouts.overlapping(&iv) {
        return Err(WindowError::Blackout(b));
    }
    Ok(())
}

/// A new window as people give it (CLI flags, API body, dashboard form).
#[derive(Debug, Clone, Copy)]
pub struct WindowRequest<'a> {
    /// `now`, RFC 3339, or local `YYYY-MM-DD HH:MM`.
    pub start: &'a str,
    /// When it closes (same forms); or `duration`.
    pub end: Option<&'a str>,
    /// How long (`3h`, `1h30m`).
    pub duration: Option<&'a str>,
}

/// A rejected input: which field and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// `start`, `end` or `duration`.
    pub field: &'static str,
    /// What is wrong and what would be valid.
    pub message: String,
}

impl FieldError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

/// Parses and validates a new one-off window: the one path the CLI, the API
/// and the dashboard share. Local times are read in `tz`.
pub fn parse_new_window(
    req: WindowRequest,
    tz: Tz,
    now: DateTime<Utc>,
    limits: &WindowLimits,
) -> Result<Interval, FieldError> {
    let start = parse_when(req.start, tz, now).map_err(|e| FieldError::new("start", e))?;
    let end = match (req.end, req.duration) {
        (Some(e), None) => parse_when(e, tz, now).map_err(|e| FieldError::new("end", e))?,
        (None, Some(d)) => {
            let d = parse_duration(d).map_err(|e| FieldError::new("duration", e))?;
            start
                .checked_add_signed(d)
                .ok_or_else(|| FieldError::new("duration", "the window would end past the year 9999"))?
        }
        (Some(_), Some(_)) => return Err(FieldError::new("end", "give `end` or `duration`, not both")),
        (None, None) => return Err(FieldError::new("end", "give `end` or `duration`")),
    };
    let iv = Interval::new(start, end).ok_or_else(|| FieldError::new("end", "the window must end after it starts"))?;
    validate_new_window(iv, now, limits).map_err(|e| FieldError::new(e.field(), e.to_string()))?;
    Ok(iv)
}

/// The years an instant given by a person may fall in.
pub const YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

/// Parses an instant given on the command line or in an API body: `now`,
/// RFC 3339 with an offset, or a local `YYYY-MM-DDTHH:MM` / `YYYY-MM-DD HH:MM` in `tz`.
/// Years outside 1970–9999 are refused (they cannot be stored or scheduled).
pub fn parse_when(s: &str, tz: Tz, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if s == "now" {
        return Ok(now);
    }
    let out_of_range = || format!("`{s}` is outside the years 1970 to 9999");
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        let t = t.with_timezone(&Utc);
        return if YEARS.contains(&t.year()) {
            Ok(t)
        } else {
            Err(out_of_range())
        };
    }
    for f in [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(local) = chrono::NaiveDateTime::parse_from_str(s, f) {
            if !YEARS.contains(&local.year()) {
                return Err(out_of_range());
            }
            return Ok(cron::resolve_local(tz, local));
        }
    }
    Err(format!(
        "`{s}` is not a time; use now, 2026-12-03T09:00:00+08:00, or 2026-12-03 09:00 (in {})",
        tz.name()
    ))
}

#[cfg(test)]
mod window_tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn new_windows_are_checked() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let iv = |h0, h1| Interval::new(now + Duration::hours(h0), now + Duration::hours(h1)).unwrap();
        let none = blackout::Blackouts::default();
        let limits = |b| WindowLimits {
            max_window: Duration::hours(12),
            max_ahead: Duration::days(366),
            blackouts: b,
        };
        assert!(validate_new_window(iv(1, 3), now, &limits(&none)).is_ok());
        assert!(matches!(
            validate_new_window(iv(-2, 3), now, &limits(&none)),
            Err(WindowError::InThePast { .. })
        ));
        assert_eq!(
            validate_new_window(iv(1, 14), now, &limits(&none)),
            Err(WindowError::TooLong {
                hours: 13,
                max_hours: 12
            })
        );
        // 367 days ahead is one day too far; 366 days is the limit itself.
        assert_eq!(
            validate_new_window(iv(367 * 24, 367 * 24 + 1), now, &limits(&none)),
            Err(WindowError::TooFarAhead {
                days: 367,
                max_days: 366
            })
        );
        assert!(validate_new_window(iv(366 * 24, 366 * 24 + 1), now, &limits(&none)).is_ok());
        let mut b = blackout::Blackouts::default();
        b.add_date(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(), chrono_tz::UTC);
        assert!(matches!(
            validate_new_window(iv(1, 3), now, &limits(&b)),
            Err(WindowError::Blackout(_))
        ));
    }

    #[test]
    fn instants_from_people() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let sg = chrono_tz::Asia::Singapore;
        assert_eq!(parse_when("now", sg, now).unwrap(), now);
        let nine_sgt = Utc.with_ymd_and_hms(2026, 12, 3, 1, 0, 0).unwrap();
        assert_eq!(parse_when("2026-12-03T09:00:00+08:00", sg, now).unwrap(), nine_sgt);
        assert_eq!(parse_when("2026-12-03 09:00", sg, now).unwrap(), nine_sgt);
        assert!(parse_when("tomorrow", sg, now).unwrap_err().contains("Asia/Singapore"));
    }

    #[test]
    fn extreme_instants_and_durations_are_refused_not_panics() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let sg = chrono_tz::Asia::Singapore;
        // The far-future start that once jammed the store: refused at the boundary.
        for s in [
            "+10000-06-01 00:00",
            "+262142-12-31 23:59",
            "-0001-01-01 00:00",
            "1969-12-31 23:59",
        ] {
            assert!(parse_when(s, sg, now).unwrap_err().contains("1970 to 9999"), "{s}");
        }
        // Past chrono's own range: not a time at all, still a clean error.
        assert!(
            parse_when("+262143-12-31 23:59", sg, now)
                .unwrap_err()
                .contains("not a time")
        );
        assert!(parse_when("9999-12-31 23:59", sg, now).is_ok());
        // Durations: type limits and more are a clean error, never an overflow.
        for d in [
            "9223372036854775807d",
            "99999999999999999999s",
            "367d",
            "366d1s",
            "153722867280912930m",
        ] {
            assert!(parse_duration(d).unwrap_err().contains("most allowed"), "{d}");
        }
        assert_eq!(parse_duration("366d").unwrap(), Duration::days(366));
        // A start at the end of time plus a long duration: a field error, not a panic.
        let none = blackout::Blackouts::default();
        let limits = WindowLimits {
            max_window: Duration::hours(12),
            max_ahead: Duration::days(366),
            blackouts: &none,
        };
        let req = |start, duration| WindowRequest {
            start,
            end: None,
            duration: Some(duration),
        };
        let e = parse_new_window(req("9999-12-31T23:00:00Z", "366d"), sg, now, &limits).unwrap_err();
        assert_eq!(e.field, "start", "{e}");
        let e = parse_new_window(req("+10000-06-01 00:00", "1h"), sg, now, &limits).unwrap_err();
        assert_eq!(e.field, "start");
        let e = parse_new_window(req("2027-12-10 00:00", "1h"), sg, now, &limits).unwrap_err();
        assert_eq!((e.field, e.message.contains("max_days_ahead")), ("start", true), "{e}");
        let ok = parse_new_window(req("2026-12-03 09:00", "3h"), sg, now, &limits).unwrap();
        assert_eq!(ok.seconds(), 3 * 3600);
    }
}
