//! The bill checks the ledger: AWS's billed load balancer hours per period
//! beside what the ledger's lifetimes predict under each partial-hour rule,
//! and which rule the account is billed by. PURE.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::billing::PartialHour;
use crate::interval::Interval;

/// One period of the bill (a day or an hour): billed load balancer hours.
#[derive(Debug, Clone, PartialEq)]
pub struct BilledPeriod {
    /// The period.
    pub period: Interval,
    /// Load balancer hours AWS billed in it.
    pub hours: Decimal,
    /// What they cost (USD).
    pub cost_usd: Decimal,
}

/// One period checked.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PeriodCheck {
    /// Period start.
    pub start: DateTime<Utc>,
    /// Period end (exclusive).
    pub end: DateTime<Utc>,
    /// Billed hours.
    pub billed_hours: Decimal,
    /// What the ledger predicts, by rule.
    #[schema(value_type = BTreeMap<String, i64>)]
    pub predicted_hours: BTreeMap<PartialHour, i64>,
}

/// The whole check.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BillCheck {
    /// Periods with billed hours or predicted hours.
    pub periods: Vec<PeriodCheck>,
    /// Billed hours in all.
    pub billed_hours: Decimal,
    /// Predicted hours in all, by rule.
    #[schema(value_type = BTreeMap<String, i64>)]
    pub predicted_hours: BTreeMap<PartialHour, i64>,
    /// Periods where the two rules predict differently (only those can tell them apart).
    pub distinguishing_periods: usize,
    /// Of those, how many each rule got exactly right.
    #[schema(value_type = BTreeMap<String, usize>)]
    pub rule_matches: BTreeMap<PartialHour, usize>,
    /// The rule the bill follows, when the distinguishing periods say so.
    pub billed_by: Option<PartialHour>,
    /// In words.
    pub summary: String,
}

/// Checks `billed` against the ledger's `lifetimes` (whole lifetimes; open
/// ones end now).
pub fn check(lifetimes: &[Interval], billed: &[BilledPeriod]) -> BillCheck {
    let mut periods = Vec::new();
    let mut totals: BTreeMap<PartialHour, i64> = PartialHour::ALL.map(|r| (r, 0)).into_iter().collect();
    let mut matches: BTreeMap<PartialHour, usize> = PartialHour::ALL.map(|r| (r, 0)).into_iter().collect();
    let mut distinguishing = 0;
    let mut billed_hours = Decimal::ZERO;
    for b in billed {
        let predicted: BTreeMap<PartialHour, i64> = PartialHour::ALL
            .map(|r| {
                (
                    r,
                    lifetimes
                        .iter()
                        .filter(|l| l.clip(&b.period).is_some())
                        .map(|l| r.billed_hours_in(l, &b.period))
                        .sum(),
                )
            })
            .into_iter()
            .collect();
        for (r, h) in &predicted {
            *totals.get_mut(r).expect("every rule") += h;
        }
        billed_hours += b.hours;
        let (l, c) = (predicted[&PartialHour::Lifetime], predicted[&PartialHour::ClockHour]);
        if l != c {
            distinguishing += 1;
            for (r, h) in &predicted {
                if Decimal::from(*h) == b.hours {
                    *matches.get_mut(r).expect("every rule") += 1;
                }
            }
        }
        if !b.hours.is_zero() || l != 0 || c != 0 {
            periods.push(PeriodCheck {
                start: b.period.start,
                end: b.period.end,
                billed_hours: b.hours,
                predicted_hours: predicted,
            });
        }
    }
    let (ml, mc) = (matches[&PartialHour::Lifetime], matches[&PartialHour::ClockHour]);
    let billed_by = match ml.cmp(&mc) {
        std::cmp::Ordering::Greater => Some(PartialHour::Lifetime),
        std::cmp::Ordering::Less => Some(PartialHour::ClockHour),
        std::cmp::Ordering::Equal => None,
    };
    let mut summary = format!(
        "billed {} h, ledger predicts {} h (lifetime) / {} h (clock_hour)",
        billed_hours.normalize(),
        totals[&PartialHour::Lifetime],
        totals[&PartialHour::ClockHour]
    );
    match billed_by {
        Some(r) => summary.push_str(&format!(
            "; of the {distinguishing} period(s) where the rules differ, {} match `{}` and {} match `{}`: \
             the account is billed by `{}` ({})",
            matches[&r],
            r.as_str(),
            matches[&other(r)],
            other(r).as_str(),
            r.as_str(),
            r.describe()
        )),
        None if distinguishing == 0 => {
            summary.push_str("; no period yet where the two rules differ, so the bill cannot tell them apart")
        }
        None => summary.push_str(&format!(
            "; of the {distinguishing} period(s) where the rules differ, each rule matches {ml}: undecided"
        )),
    }
    BillCheck {
        periods,
        billed_hours,
        predicted_hours: totals,
        distinguishing_periods: distinguishing,
        rule_matches: matches,
        billed_by,
        summary,
    }
}

fn other(r: PartialHour) -> PartialHour {
    match r {
        PartialHour::Lifetime => PartialHour::ClockHour,
        PartialHour::ClockHour => PartialHour::Lifetime,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap()
    }

    fn day(d: u32, hours: Decimal) -> BilledPeriod {
        BilledPeriod {
            period: Interval::new(at(d, 0, 0), at(d + 1, 0, 0)).unwrap(),
            hours,
            cost_usd: hours * dec!(0.0252),
        }
    }

    #[test]
    fn the_bill_names_the_rule_it_follows() {
        // The seed's lifetimes on the 2nd and 3rd: 00:55–04:05 UTC: 4 h per lifetime, 5 per clock hour.
        // A lifetime on the 4th from 01:00 to 04:00: 3 h either way (does not tell the rules apart).
        let lifetimes = [
            Interval::new(at(2, 0, 55), at(2, 4, 5)).unwrap(),
            Interval::new(at(3, 0, 55), at(3, 4, 5)).unwrap(),
            Interval::new(at(4, 1, 0), at(4, 4, 0)).unwrap(),
        ];
        // Billed per clock hour: 5, 5, 3 (and 0 on the 1st).
        let by_clock = [day(1, dec!(0)), day(2, dec!(5)), day(3, dec!(5)), day(4, dec!(3))];
        let c = check(&lifetimes, &by_clock);
        assert_eq!(c.billed_by, Some(PartialHour::ClockHour));
        assert_eq!(c.distinguishing_periods, 2);
        assert_eq!(c.billed_hours, dec!(13));
        assert_eq!(
            (
                c.predicted_hours[&PartialHour::Lifetime],
                c.predicted_hours[&PartialHour::ClockHour]
            ),
            (11, 13)
        );
        assert_eq!(c.periods.len(), 3, "the empty 1st is left out");
        assert!(
            c.summary
                .starts_with("billed 13 h, ledger predicts 11 h (lifetime) / 13 h (clock_hour)"),
            "{}",
            c.summary
        );
        // Billed per lifetime: 4, 4, 3.
        let by_lifetime = [day(2, dec!(4)), day(3, dec!(4)), day(4, dec!(3))];
        assert_eq!(check(&lifetimes, &by_lifetime).billed_by, Some(PartialHour::Lifetime));
        // Only the undistinguishing day: no verdict.
        let c = check(&lifetimes[2..], &[day(4, dec!(3))]);
        assert_eq!((c.billed_by, c.distinguishing_periods), (None, 0));
        assert!(c.summary.contains("cannot tell them apart"), "{}", c.summary);
    }
}
