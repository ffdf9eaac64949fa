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
    /// Totals over `lifetimes`, each clipped to `period` first (a bill covers one period).
    pub fn of(lifetimes: &[Interval], period: &Interval) -> Self {
        let mut t = LifetimeTotals::default();
        for l in lifetimes.iter().filter_map(|l| l.clip(period)) {
            let s = l.seconds();
            t.lifetimes += 1;
            t.running_seconds += s;
            t.billed_hours += billed_hours(s);
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
