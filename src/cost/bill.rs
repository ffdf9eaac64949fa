//! The bill checks the ledger: AWS's billed load balancer hours per period
//! beside what the ledger's lifetimes predict under each partial-hour rule,
//! and which rule the account is billed by. PURE.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
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

/// The month's projection as made on one day, beside the bill.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProjectedOnDay {
    /// The UTC day the projection was made.
    pub day: NaiveDate,
    /// What it projected for the month (the load balancer: hours, capacity units, public IPv4).
    pub projected_usd: Decimal,
    /// Projected − billed, once the whole month is billed.
    pub error_usd: Option<Decimal>,
    /// The error as a percentage of the bill (one decimal), when the bill is not zero.
    pub error_percent: Option<Decimal>,
}

/// How far the month's projection was from the bill, day by day.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProjectionError {
    /// What AWS billed for the same usage types over the period read.
    pub billed_usd: Decimal,
    /// Whether the whole month was read (only then is an error final).
    pub month_complete: bool,
    /// One per day a projection was kept.
    pub days: Vec<ProjectedOnDay>,
    /// In words.
    pub summary: String,
}

/// The error of each day's projection (`(day, projected)`) against
/// `billed_usd`, the bill of the month (final only when `month_complete`).
pub fn projection_error(days: &[(NaiveDate, Decimal)], billed_usd: Decimal, month_complete: bool) -> ProjectionError {
    let days: Vec<ProjectedOnDay> = days
        .iter()
        .map(|&(day, projected_usd)| {
            let error_usd = month_complete.then(|| projected_usd - billed_usd);
            ProjectedOnDay {
                day,
                projected_usd,
                error_usd,
                error_percent: error_usd
                    .filter(|_| !billed_usd.is_zero())
                    .map(|e| (e * Decimal::ONE_HUNDRED / billed_usd).round_dp(1)),
            }
        })
        .collect();
    use crate::money::format_usd;
    let signed = |e: Decimal| {
        if e.is_sign_negative() {
            format_usd(e)
        } else {
            format!("+{}", format_usd(e))
        }
    };
    let said = |d: &ProjectedOnDay| match (d.error_usd, d.error_percent) {
        (Some(e), Some(p)) => format!(
            "on {} it projected {} ({}, {}{p:.1} %)",
            d.day,
            format_usd(d.projected_usd),
            signed(e),
            if p.is_sign_negative() { "" } else { "+" },
        ),
        (Some(e), None) => format!(
            "on {} it projected {} ({} against nothing billed)",
            d.day,
            format_usd(d.projected_usd),
            signed(e)
        ),
        _ => format!("on {} it projected {}", d.day, format_usd(d.projected_usd)),
    };
    let summary = match (days.first(), days.last()) {
        (None, _) | (_, None) => "no projection of this month was kept (the daemon keeps one a day)".to_string(),
        (Some(f), Some(l)) => {
            let head = if month_complete {
                format!("billed {} for the month", format_usd(billed_usd))
            } else {
                format!(
                    "billed {} so far; the month is not over, so the error is not final",
                    format_usd(billed_usd)
                )
            };
            if f.day == l.day {
                format!("{head}; {}", said(f))
            } else {
                format!("{head}; {}; {}", said(f), said(l))
            }
        }
    };
    ProjectionError {
        billed_usd,
        month_complete,
        days,
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

    #[test]
    fn each_days_projection_is_set_beside_the_bill() {
        let d = |n| NaiveDate::from_ymd_opt(2026, 10, n).unwrap();
        // Billed $0.1848. On the 1st the month was projected at $0.20: +0.0152, i.e.
        // 0.0152 / 0.1848 = +8.225 % → +8.2 %. On the 31st at $0.1848: 0.
        let e = projection_error(&[(d(1), dec!(0.20)), (d(31), dec!(0.1848))], dec!(0.1848), true);
        assert_eq!(e.days[0].error_usd, Some(dec!(0.0152)));
        assert_eq!(e.days[0].error_percent, Some(dec!(8.2)));
        assert_eq!(e.days[1].error_usd, Some(dec!(0)));
        assert_eq!(
            e.summary,
            "billed $0.18 for the month; on 2026-10-01 it projected $0.20 (+$0.02, +8.2 %); \
             on 2026-10-31 it projected $0.18 (+$0.00, +0.0 %)"
        );
        // Not over yet: no error is claimed.
        let e = projection_error(&[(d(1), dec!(0.20))], dec!(0.05), false);
        assert_eq!((e.days[0].error_usd, e.days[0].error_percent), (None, None));
        assert!(e.summary.contains("not final"), "{}", e.summary);
        // Nothing billed: an error in dollars, no percentage.
        let e = projection_error(&[(d(1), dec!(0.20))], dec!(0), true);
        assert_eq!((e.days[0].error_usd, e.days[0].error_percent), (Some(dec!(0.20)), None));
        assert!(
            projection_error(&[], dec!(1), true)
                .summary
                .starts_with("no projection")
        );
    }
}
