//! AWS's metering rules for resources that live for a while.
//!
//! - NAT Gateway, interface endpoint, ALB, NLB: "each hour or partial hour",
//!   counted per lifetime: a lifetime of 61 minutes is 2 billed hours.
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
    /// time clipped to it, billed hours by [`billed_hours_in`].
    pub fn of(lifetimes: &[Interval], period: &Interval) -> Self {
        let mut t = LifetimeTotals::default();
        for (whole, l) in lifetimes.iter().filter_map(|l| Some((l, l.clip(period)?))) {
            let s = l.seconds();
            t.lifetimes += 1;
            t.running_seconds += s;
            t.billed_hours += billed_hours_in(whole, period);
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
        assert_eq!(LifetimeTotals::of(&short, &nov).billed_hours, 1);
        assert_eq!(LifetimeTotals::of(&short, &dec).billed_hours, 0);
        // 23:30 → 01:00 (90 min): hours starting 23:30 (November) and 00:30 (December).
        let long = [Interval::new(at(11, 30, 23, 30), at(12, 1, 1, 0)).unwrap()];
        assert_eq!(LifetimeTotals::of(&long, &nov).billed_hours, 1);
        assert_eq!(LifetimeTotals::of(&long, &dec).billed_hours, 1);
        // Running time is still split at the boundary (LCUs, IPv4 seconds).
        assert_eq!(LifetimeTotals::of(&short, &dec).running_seconds, 20 * 60);
        // Inside one period nothing changes: 3 h 10 min bills 4 h.
        let inside = [Interval::new(at(11, 3, 8, 55), at(11, 3, 12, 5)).unwrap()];
        assert_eq!(LifetimeTotals::of(&inside, &nov).billed_hours, 4);
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
        let t = LifetimeTotals::of(&lifetimes, &period);
        assert_eq!((t.lifetimes, t.running_seconds, t.billed_hours), (2, 3600, 2));
        assert_eq!(t.ipv4_seconds_per_address, 3600);
        // Clipped to a period that ends 10 minutes into the first lifetime.
        let t = LifetimeTotals::of(&lifetimes, &Interval::new(t0 - m(60), t0 + m(10)).unwrap());
        assert_eq!((t.lifetimes, t.running_seconds, t.billed_hours), (1, 600, 1));
    }
}
