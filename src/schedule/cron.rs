//! Standard 5-field cron expressions (`minute hour day-of-month month
//! day-of-week`), evaluated in an IANA time zone.
//!
//! Semantics follow Vixie cron, which ops people know:
//! - `*`, lists `a,b`, ranges `a-b`, steps `*/n`, `a-b/n`, `a/n`; month and
//!   weekday names (`Jan`, `Mon-Fri`), case-insensitive; weekday 0 and 7 are Sunday.
//! - When both day-of-month and day-of-week are restricted (neither starts
//!   with `*`), a day matches if **either** matches.
//! - DST: a local time that does not exist (spring forward) fires at the same
//!   offset from the change, i.e. 02:30 in a 02:00→03:00 gap fires at 03:30;
//!   a local time that exists twice (fall back) fires once, at the first.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// A parsed cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronExpr {
    source: String,
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    dom_restricted: bool,
    dow_restricted: bool,
}

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
    },
    Field {
        name: "day of week",
        min: 0,
        max: 7,
        names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    },
];

impl CronExpr {
    /// Parses a 5-field expression; the error says which field and what is valid.
    pub fn parse(expr: &str) -> Result<Self, String> {
        let parts: Vec<&str> = expr.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!(
                "`{expr}` has {} fields; a cron expression has 5: minute hour day-of-month month day-of-week (e.g. \"0 9 * * Mon-Fri\")",
                parts.len()
            ));
        }
        let mut sets = [0u64; 5];
        for (i, (part, field)) in parts.iter().zip(FIELDS.iter()).enumerate() {
            sets[i] = parse_field(part, field).map_err(|why| {
                let valid = if field.names.is_empty() {
                    format!("{}-{}", field.min, field.max)
                } else {
                    format!("{}-{} or names {}", field.min, field.max, field.names.join(","))
                };
                format!("field {} ({}) `{part}`: {why}; valid: {valid}", i + 1, field.name)
            })?;
        }
        // Sunday is both 0 and 7.
        if sets[4] & (1 << 7) != 0 {
            sets[4] |= 1;
        }
        Ok(CronExpr {
            source: expr.to_string(),
            minutes: sets[0],
            hours: sets[1],
            days_of_month: sets[2],
            months: sets[3],
            days_of_week: sets[4],
            dom_restricted: !parts[2].starts_with('*'),
            dow_restricted: !parts[4].starts_with('*'),
        })
    }

    /// An upper bound on how often it fires in one day (minutes × hours set).
    pub fn firings_per_day_at_most(&self) -> u32 {
        self.minutes.count_ones() * self.hours.count_ones()
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the cron fires on this local date.
    pub fn matches_date(&self, d: NaiveDate) -> bool {
        if self.months & (1 << d.month()) == 0 {
            return false;
        }
        let dom = self.days_of_month & (1 << d.day()) != 0;
        let dow = self.days_of_week & (1 << d.weekday().num_days_from_sunday()) != 0;
        match (self.dom_restricted, self.dow_restricted) {
            (true, true) => dom || dow,
            _ => dom && dow,
        }
    }

    /// Every firing instant in `[from, to)`, ascending, evaluated in `tz`.
    pub fn occurrences(&self, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        if from >= to {
            return out;
        }
        // One day of margin on each side covers offsets and DST shifts.
        let first = from.with_timezone(&tz).date_naive() - Duration::days(1);
        let last = to.with_timezone(&tz).date_naive() + Duration::days(1);
        let mut day = first;
        while day <= last {
            if self.matches_date(day) {
                for h in bits(self.hours) {
                    for m in bits(self.minutes) {
                        let local = day.and_time(NaiveTime::from_hms_opt(h, m, 0).expect("valid h:m"));
                        let at = resolve_local(tz, local);
                        if at >= from && at < to {
                            out.push(at);
                        }
                    }
                }
            }
            day += Duration::days(1);
        }
        out.sort();
        out.dedup();
        out
    }
}

/// A local wall-clock time in `tz` as an instant, with cron's DST rules:
/// a time in a gap is shifted forward by the gap; a repeated time is the first.
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // Interpret with the offset in force before the gap.
            let before = tz
                .from_local_datetime(&(local - Duration::hours(6)))
                .earliest()
                .map(|t| t.offset().fix())
                .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset"));
            (local - Duration::seconds(i64::from(before.local_minus_utc()))).and_utc()
        }
    }
}

fn bits(set: u64) -> impl Iterator<Item = u32> {
    (0..64).filter(move |i| set & (1u64 << i) != 0)
}

fn parse_field(text: &str, field: &Field) -> Result<u64, String> {
    let mut set = 0u64;
    for item in text.split(',') {
        if item.is_empty() {
            return Err("empty list item".into());
        }
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().map_err(|_| format!("step `{s}` is not a number"))?;
                if step == 0 {
                    return Err("a step must be 1 or more".into());
                }
                (r, step)
            }
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" {
            (field.min, field.max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, field)?, value(b, field)?)
        } else {
            let v = value(range, field)?;
            // `a/n` means a through the maximum, every n.
            (v, if item.contains('/') { field.max } else { v })
        };
        if lo > hi {
            return Err(format!("range {lo}-{hi} runs backwards"));
        }
        let mut v = lo;
        while v <= hi {
            set |= 1 << v;
            v += step;
        }
    }
    Ok(set)
}

fn value(text: &str, field: &Field) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = field.names.iter().position(|n| *n == lower) {
        return Ok(i as u32 + field.min);
    }
    let v: u32 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number or a known name"))?;
    if v < field.min || v > field.max {
        return Err(format!("{v} is out of range"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn weekdays_at_nine_in_singapore() {
        let c = CronExpr::parse("0 9 * * Mon-Fri").unwrap();
        // 2026-12-01 is a Tuesday. Singapore is UTC+8 all year: 09:00 local = 01:00 UTC.
        let got = c.occurrences(
            chrono_tz::Asia::Singapore,
            utc(2026, 12, 1, 0, 0),
            utc(2026, 12, 8, 0, 0),
        );
        let days: Vec<u32> = got.iter().map(|t| t.day()).collect();
        assert_eq!(days, [1, 2, 3, 4, 7]); // Tue..Fri, then Mon the 7th
        assert!(got.iter().all(|t| t.hour() == 1 && t.minute() == 0));
    }

    use chrono::Timelike;

    #[test]
    fn lists_ranges_steps_and_names() {
        let c = CronExpr::parse("*/20 8-10 1,15 jan,JUL 0").unwrap();
        assert_eq!(bits(c.minutes).collect::<Vec<_>>(), [0, 20, 40]);
        assert_eq!(bits(c.hours).collect::<Vec<_>>(), [8, 9, 10]);
        assert_eq!(bits(c.days_of_month).collect::<Vec<_>>(), [1, 15]);
        assert_eq!(bits(c.months).collect::<Vec<_>>(), [1, 7]);
        assert_eq!(bits(c.days_of_week).collect::<Vec<_>>(), [0]);
        let c = CronExpr::parse("5/15 * * * 7").unwrap();
        assert_eq!(bits(c.minutes).collect::<Vec<_>>(), [5, 20, 35, 50]);
        assert_eq!(bits(c.days_of_week).collect::<Vec<_>>(), [0, 7]);
    }

    #[test]
    fn restricted_day_of_month_and_week_are_ored() {
        // Vixie cron: "on the 1st OR on Mondays".
        let c = CronExpr::parse("0 0 1 * Mon").unwrap();
        assert!(c.matches_date(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())); // Tue the 1st
        assert!(c.matches_date(NaiveDate::from_ymd_opt(2026, 12, 7).unwrap())); // Monday
        assert!(!c.matches_date(NaiveDate::from_ymd_opt(2026, 12, 8).unwrap()));
        // With `*` in day-of-month, only weekdays count.
        let c = CronExpr::parse("0 0 * * Mon").unwrap();
        assert!(!c.matches_date(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()));
    }

    #[test]
    fn bad_expressions_say_which_field_and_what_is_valid() {
        let e = CronExpr::parse("0 9 * * Mon-Fro").unwrap_err();
        assert!(
            e.contains("field 5 (day of week)") && e.contains("Fro") && e.contains("sun,mon"),
            "{e}"
        );
        let e = CronExpr::parse("0 24 * * *").unwrap_err();
        assert!(e.contains("field 2 (hour)") && e.contains("0-23"), "{e}");
        let e = CronExpr::parse("0 9 * *").unwrap_err();
        assert!(e.contains("has 4 fields"), "{e}");
        assert!(CronExpr::parse("*/0 * * * *").unwrap_err().contains("step"));
        assert!(CronExpr::parse("0 10-9 * * *").unwrap_err().contains("backwards"));
    }

    #[test]
    fn spring_forward_gap_fires_after_the_change() {
        // Europe/Berlin, 2027-03-28: 02:00 CET → 03:00 CEST. 02:30 does not exist;
        // cron fires at 03:30 CEST = 01:30 UTC.
        let c = CronExpr::parse("30 2 * * *").unwrap();
        let got = c.occurrences(
            chrono_tz::Europe::Berlin,
            utc(2027, 3, 27, 0, 0),
            utc(2027, 3, 30, 0, 0),
        );
        assert_eq!(
            got,
            [
                utc(2027, 3, 27, 1, 30),
                utc(2027, 3, 28, 1, 30),
                utc(2027, 3, 29, 0, 30)
            ]
        );
    }

    #[test]
    fn fall_back_repeated_hour_fires_once() {
        // America/New_York, 2026-11-01: 01:00–02:00 happens twice (EDT then EST).
        // 01:30 fires once, at the first (EDT, UTC−4) = 05:30 UTC.
        let c = CronExpr::parse("30 1 * * *").unwrap();
        let got = c.occurrences(
            chrono_tz::America::New_York,
            utc(2026, 11, 1, 0, 0),
            utc(2026, 11, 2, 0, 0),
        );
        assert_eq!(got, [utc(2026, 11, 1, 5, 30)]);
    }
}
