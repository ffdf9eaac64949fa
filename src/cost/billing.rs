//! AWS's metering rules for resources that live for a while.
//!
//! - NAT Gateway, interface endpoint, ALB, NLB: "each hour or partial hour".
//!   AWS does not say from when hours count, so the rule is named
//!   ([`PartialHour`]): per lifetime from its start (a lifetime of 61 minutes
//!   is 2 billed hours), or per UTC clock hour touched, as the Cost and Usage
//!   Report's hourly rows are (08:55–12:05 touches 5 clock hours). The clock
//!   hour rule is never lower, by at most one hour per lifetime.
//! - Public IPv4: per second, with a 60-second minimum per address lifetime.

use rust_decimal::Decimal;

use crate::interval::Interval;

const SECONDS_PER_HOUR: i64 = 3600;

/// Hours billed for one lifetime: partial hours round up to full hours.
pub fn billed_hours(lifetime_seconds: i64) -> i64 {
    if lifetime_seconds <= 0 {
        0
    } else {
        (lifetime_seconds + SECONDS_PER_HOUR - 1) / SECONDS_PER_HOUR
    }
}

/// Billed hours of one lifetime that fall in `period`. The lifetime's hours
/// count from its start (hour k is `[start + k h, start + (k + 1) h)`) and each
/// belongs to the period in which it starts, so a lifetime across a period
/// boundary is billed its own hours once, never rounded up on both sides.
pub fn billed_hours_in(lifetime: &Interval, period: &Interval) -> i64 {
    let total = billed_hours(lifetime.seconds());
    // The first hour index k with start + k h >= t: ceil((t - start) / 1 h), within 0..=total.
    let from = |t: chrono::DateTime<chrono::Utc>| {
        let s = (t - lifetime.start).num_seconds();
        (-((-s).div_euclid(SECONDS_PER_HOUR))).clamp(0, total)
    };
    from(period.end) - from(period.start)
}

/// How partial hours are billed: the assumption behind every billed hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartialHour {
    /// Hours count from each lifetime's start; the last partial hour is a full hour.
    Lifetime,
    /// Every UTC clock hour a lifetime touches is a full hour (never lower; the default).
    #[default]
    ClockHour,
}

impl PartialHour {
    /// Both rules.
    pub const ALL: [PartialHour; 2] = [PartialHour::Lifetime, PartialHour::ClockHour];

    /// As written in config and output.
    pub fn as_str(self) -> &'static str {
        match self {
            PartialHour::Lifetime => "lifetime",
            PartialHour::ClockHour => "clock_hour",
        }
    }

    /// From config.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The rule in words, for output beside the figures.
    pub fn describe(self) -> &'static str {
        match self {
            PartialHour::Lifetime => "partial hours billed as full, counted from each lifetime's start",
            PartialHour::ClockHour => "every UTC clock hour a lifetime touches billed as a full hour",
        }
    }

    /// Hours billed for one whole lifetime.
    pub fn billed_hours(self, lifetime: &Interval) -> i64 {
        match self {
            PartialHour::Lifetime => billed_hours(lifetime.seconds()),
            PartialHour::ClockHour => clock_hours(lifetime, None),
        }
    }

    /// Billed hours of `lifetime` that fall in `period`, each counted once:
    /// a lifetime hour in the period where it starts, a clock hour in the
    /// period where it starts.
    pub fn billed_hours_in(self, lifetime: &Interval, period: &Interval) -> i64 {
        match self {
            PartialHour::Lifetime => billed_hours_in(lifetime, period),
            PartialHour::ClockHour => clock_hours(lifetime, Some(period)),
        }
    }
}

fn floor_hour(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp().div_euclid(SECONDS_PER_HOUR) * SECONDS_PER_HOUR
}

fn ceil_hour(t: chrono::DateTime<chrono::Utc>) -> i64 {
    let f = floor_hour(t);
    if t.timestamp() == f && t.timestamp_subsec_nanos() == 0 {
        f
    } else {
        f + SECONDS_PER_HOUR
    }
}

/// UTC clock hours `[H, H + 1 h)` that `lifetime` touches, counting only the
/// hours that start in `period` when one is given.
fn clock_hours(lifetime: &Interval, period: Option<&Interval>) -> i64 {
    if lifetime.end <= lifetime.start {
        return 0;
    }
    // Hour starts H with H >= floor(start) and H < end (and H in the period).
    let mut from = floor_hour(lifetime.start);
    let mut to = ceil_hour(lifetime.end);
    if let Some(p) = period {
        from = from.max(ceil_hour(p.start));
        to = to.min(ceil_hour(p.end.min(lifetime.end)));
    }
    ((to - from) / SECONDS_PER_HOUR).max(0)
}

/// Seconds billed for one public IPv4 address over one lifetime (60 s minimum).
pub fn ipv4_billed_seconds(lifetime_seconds: i64) -> i64 {
    if lifetime_seconds <= 0 {
        0
    } else {
        lifetime_seconds.max(60)
    }
}

/// What a set of lifetimes adds up to on the bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LifetimeTotals {
    /// Number of lifetimes.
    pub lifetimes: usize,
    /// Seconds actually running.
    pub running_seconds: i64,
    /// Sum of each lifetime's billed hours.
    pub billed_hours: i64,
    /// Sum of each lifetime's billed IPv4 seconds, for one address.
    pub ipv4_seconds_per_address: i64,
}

impl LifetimeTotals {
    /// Totals over `lifetimes` in `period` (a bill covers one period): running
    /// time clipped to it, billed hours by `rule`.
    pub fn of(lifetimes: &[Interval], period: &Interval, rule: PartialHour) -> Self {
        let mut t = LifetimeTotals::default();
        for (whole, l) in lifetimes.iter().filter_map(|l| Some((l, l.clip(period)?))) {
            let s = l.seconds();
            t.lifetimes += 1;
            t.running_seconds += s;
            t.billed_hours += rule.billed_hours_in(whole, period);
            t.ipv4_seconds_per_address += ipv4_billed_seconds(s);
        }
        t
    }

    /// Running time in hours (exact, fractional).
    pub fn running_hours(&self) -> Decimal {
        Decimal::from(self.running_seconds) / Decimal::from(SECONDS_PER_HOUR)
    }

    /// Billed IPv4 time in hours for one address.
    pub fn ipv4_hours_per_address(&self) -> Decimal {
        Decimal::from(self.ipv4_seconds_per_address) / Decimal::from(SECONDS_PER_HOUR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn the_two_partial_hour_rules() {
        let at = |d: u32, h: u32, m: u32| Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap();
        let iv = |a, b| Interval::new(a, b).unwrap();
        let (lifetime, clock) = (PartialHour::Lifetime, PartialHour::ClockHour);
        // The seed's window with lead and grace: 00:55–04:05 UTC (190 min).
        // Per lifetime: ceil(190 / 60) = 4. Per clock hour: 00, 01, 02, 03, 04 → 5.
        let seed = iv(at(23, 0, 55), at(23, 4, 5));
        assert_eq!((lifetime.billed_hours(&seed), clock.billed_hours(&seed)), (4, 5));
        // 10 min shorter at the end (00:55–03:55, 180 min): 3 per lifetime, but still 4 clock
        // hours (00–03): under the clock-hour rule the advice "10 min shorter saves an hour" fails.
        let shorter = iv(at(23, 0, 55), at(23, 3, 55));
        assert_eq!((lifetime.billed_hours(&shorter), clock.billed_hours(&shorter)), (3, 4));
        // What does save one: ending by 04:00 (5 min shorter) or starting at 01:00.
        assert_eq!(clock.billed_hours(&iv(at(23, 0, 55), at(23, 4, 0))), 4);
        assert_eq!(clock.billed_hours(&iv(at(23, 1, 0), at(23, 4, 5))), 4);
        // On the hour, 01:00–04:00: 3 either way; a clock hour is [H, H + 1 h), so 04:00 is not touched.
        let aligned = iv(at(23, 1, 0), at(23, 4, 0));
        assert_eq!((lifetime.billed_hours(&aligned), clock.billed_hours(&aligned)), (3, 3));
        // Five minutes across an hour boundary: 1 per lifetime, 2 clock hours.
        let across = iv(at(23, 0, 58), at(23, 1, 3));
        assert_eq!((lifetime.billed_hours(&across), clock.billed_hours(&across)), (1, 2));
        // Across a month boundary, 11-30 23:30 → 12-01 00:20: per lifetime 1 h, in November
        // (where it starts); per clock hour 23:00 in November and 00:00 in December.
        let edge = iv(at(30, 23, 30), Utc.with_ymd_and_hms(2026, 12, 1, 0, 20, 0).unwrap());
        let nov = iv(at(1, 0, 0), Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
        let dec = iv(nov.end, Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap());
        assert_eq!(
            (
                lifetime.billed_hours_in(&edge, &nov),
                lifetime.billed_hours_in(&edge, &dec)
            ),
            (1, 0)
        );
        assert_eq!(
            (clock.billed_hours_in(&edge, &nov), clock.billed_hours_in(&edge, &dec)),
            (1, 1)
        );
        // A period that ends mid-hour (the month so far, at 02:10): the clock hours that started by then.
        let so_far = iv(at(1, 0, 0), at(23, 2, 10));
        assert_eq!(clock.billed_hours_in(&seed, &so_far), 3, "00, 01 and 02");
        assert_eq!(
            lifetime.billed_hours_in(&seed, &so_far),
            2,
            "00:55 and 01:55 hours began"
        );
        // Never lower, and at most one more, per lifetime.
        for (a, b) in [(0, 1), (7, 59), (0, 61), (30, 200), (59, 121)] {
            let l = iv(
                at(5, 3, 0) + chrono::Duration::minutes(a),
                at(5, 3, 0) + chrono::Duration::minutes(b),
            );
            let (x, y) = (lifetime.billed_hours(&l), clock.billed_hours(&l));
            assert!(y >= x && y <= x + 1, "{a}–{b}: {x} vs {y}");
        }
        assert_eq!(PartialHour::default(), clock);
        assert_eq!(PartialHour::parse("clock_hour"), Some(clock));
        assert_eq!(PartialHour::parse("hourly"), None);
    }

    #[test]
    fn partial_hours_are_billed_as_full_hours() {
        assert_eq!(billed_hours(0), 0);
        assert_eq!(billed_hours(1), 1); // one second is a billed hour
        assert_eq!(billed_hours(3600), 1);
        assert_eq!(billed_hours(3601), 2); // 1 h 0 min 1 s → 2 h
        assert_eq!(billed_hours(3 * 3600 + 59 * 60), 4);
    }

    #[test]
    fn ipv4_is_per_second_with_a_minute_minimum() {
        assert_eq!(ipv4_billed_seconds(0), 0);
        assert_eq!(ipv4_billed_seconds(10), 60);
        assert_eq!(ipv4_billed_seconds(61), 61);
    }

    /// A lifetime across a month boundary is billed once: its hours count
    /// from its start, and each billed hour belongs to the month it starts in.
    /// (Once it was rounded up in both months: 1 h + 1 h for 50 minutes.)
    #[test]
    fn a_lifetime_across_a_month_boundary_is_not_rounded_up_twice() {
        let at = |m, d, h, min| Utc.with_ymd_and_hms(2026, m, d, h, min, 0).unwrap();
        let nov = Interval::new(at(11, 1, 0, 0), at(12, 1, 0, 0)).unwrap();
        let dec = Interval::new(at(12, 1, 0, 0), Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()).unwrap();
        // 23:30 → 00:20 (50 min): one billed hour, starting 23:30 in November.
        let short = [Interval::new(at(11, 30, 23, 30), at(12, 1, 0, 20)).unwrap()];
        assert_eq!(LifetimeTotals::of(&short, &nov, PartialHour::Lifetime).billed_hours, 1);
        assert_eq!(LifetimeTotals::of(&short, &dec, PartialHour::Lifetime).billed_hours, 0);
        // 23:30 → 01:00 (90 min): hours starting 23:30 (November) and 00:30 (December).
        let long = [Interval::new(at(11, 30, 23, 30), at(12, 1, 1, 0)).unwrap()];
        assert_eq!(LifetimeTotals::of(&long, &nov, PartialHour::Lifetime).billed_hours, 1);
        assert_eq!(LifetimeTotals::of(&long, &dec, PartialHour::Lifetime).billed_hours, 1);
        // Running time is still split at the boundary (LCUs, IPv4 seconds).
        assert_eq!(
            LifetimeTotals::of(&short, &dec, PartialHour::Lifetime).running_seconds,
            20 * 60
        );
        // Inside one period nothing changes: 3 h 10 min bills 4 h.
        let inside = [Interval::new(at(11, 3, 8, 55), at(11, 3, 12, 5)).unwrap()];
        assert_eq!(LifetimeTotals::of(&inside, &nov, PartialHour::Lifetime).billed_hours, 4);
        assert_eq!(billed_hours_in(&inside[0], &nov), 4);
        assert_eq!(billed_hours_in(&inside[0], &dec), 0);
    }

    #[test]
    fn partial_hours_round_up_per_lifetime_not_in_total() {
        // Two lifetimes of 30 min each: 1 h running, but 2 billed hours (1 + 1).
        let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let m = chrono::Duration::minutes;
        let lifetimes = [
            Interval::new(t0, t0 + m(30)).unwrap(),
            Interval::new(t0 + m(120), t0 + m(150)).unwrap(),
        ];
        let period = Interval::new(t0 - m(600), t0 + m(600)).unwrap();
        let t = LifetimeTotals::of(&lifetimes, &period, PartialHour::Lifetime);
        assert_eq!((t.lifetimes, t.running_seconds, t.billed_hours), (2, 3600, 2));
        assert_eq!(t.ipv4_seconds_per_address, 3600);
        // Clipped to a period that ends 10 minutes into the first lifetime.
        let t = LifetimeTotals::of(
            &lifetimes,
            &Interval::new(t0 - m(60), t0 + m(10)).unwrap(),
            PartialHour::Lifetime,
        );
        assert_eq!((t.lifetimes, t.running_seconds, t.billed_hours), (1, 600, 1));
    }
}
