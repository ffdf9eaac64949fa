//! A whole scenario priced with the rules in [`crate::cost`]: the
//! `costd model` result (line items, totals, what the schedule saves).
//! PURE: the instant that anchors what-if schedules is passed in.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::cost::LineItem;
use crate::cost::billing::LifetimeTotals;
use crate::cost::load_balancer::{self, CapacityUnits, LbKind, LoadBalancerCost, Scheme, Usage};
use crate::cost::monitoring::{self, MonitoringCost};
use crate::cost::network::{self, NetworkModel};
use crate::pricing::PriceTable;
use crate::scenario::{LoadBalancerScenario, Period, Scenario};
use crate::schedule::{self, Interval, Month};

/// Everything `costd model` prints.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ModelReport {
    /// AWS region priced.
    pub region: String,
    /// Hours in the month priced.
    pub hours_per_month: Decimal,
    /// The calendar month, when the scenario names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    /// NAT vs endpoints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkModel>,
    /// The load balancer, always on and on its schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancerReport>,
    /// costd's own CloudWatch cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<MonitoringCost>,
}

/// The load balancer priced two ways.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LoadBalancerReport {
    /// ALB or NLB.
    pub kind: LbKind,
    /// Internet-facing or internal.
    pub scheme: Scheme,
    /// AZs.
    pub azs: u32,
    /// Billed capacity units per running hour.
    pub lcu_per_hour: Decimal,
    /// Capacity units by dimension.
    pub capacity_units: CapacityUnits,
    /// Running the whole month.
    pub always_on: LoadBalancerCost,
    /// Running only in its windows (absent without a schedule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<ScheduledCost>,
    /// `always_on − scheduled`: what the schedule saves per month.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_saves_usd: Option<Decimal>,
}

/// The load balancer on its schedule.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ScheduledCost {
    /// How the month was taken: a calendar month, or a year averaged to one month.
    pub basis: String,
    /// Lifetimes per month (merged windows).
    pub lifetimes: Decimal,
    /// Billed hours per month (partial hours billed as full, per lifetime).
    pub billed_hours: Decimal,
    /// Running hours per month.
    pub running_hours: Decimal,
    /// Sum of the line items.
    pub monthly_usd: Decimal,
    /// What is paid for.
    pub line_items: Vec<LineItem>,
}

/// The span priced and how to turn its totals into one month.
struct Basis {
    span: Interval,
    hours_per_month: Decimal,
    /// Totals over `span` × `scale_num / scale_den` = one month.
    scale_num: Decimal,
    scale_den: Decimal,
    label: String,
}

fn basis(period: Period, as_of: DateTime<Utc>) -> Basis {
    match period {
        Period::Calendar(m) => {
            let span = m.span(chrono_tz::UTC);
            let hours = Decimal::from(span.seconds()) / Decimal::from(3600);
            Basis {
                span,
                hours_per_month: hours,
                scale_num: Decimal::ONE,
                scale_den: Decimal::ONE,
                label: format!("calendar month {m} (UTC, {hours} h)"),
            }
        }
        Period::WhatIf { hours_per_month } => {
            // Twelve calendar months from the month of `as_of`, averaged down to one
            // month of `hours_per_month`, so weekday counts and month lengths even out.
            let first = Month::containing(as_of, chrono_tz::UTC);
            let mut last = first;
            for _ in 0..11 {
                last = last.next();
            }
            let span = Interval {
                start: first.span(chrono_tz::UTC).start,
                end: last.span(chrono_tz::UTC).end,
            };
            let span_hours = Decimal::from(span.seconds()) / Decimal::from(3600);
            Basis {
                span,
                hours_per_month,
                scale_num: hours_per_month,
                scale_den: span_hours,
                label: format!("average of {first} to {last} (UTC), scaled to a {hours_per_month} h month"),
            }
        }
    }
}

/// Prices `scenario` with `prices`. `as_of` anchors what-if schedules.
pub fn evaluate(scenario: &Scenario, prices: &PriceTable, as_of: DateTime<Utc>) -> ModelReport {
    let b = basis(scenario.period, as_of);
    ModelReport {
        region: scenario.region.clone(),
        hours_per_month: b.hours_per_month,
        month: match scenario.period {
            Period::Calendar(m) => Some(m.to_string()),
            Period::WhatIf { .. } => None,
        },
        network: scenario
            .network
            .as_ref()
            .map(|n| network::model(n, prices, b.hours_per_month)),
        load_balancer: scenario
            .load_balancer
            .as_ref()
            .map(|lb| price_load_balancer(lb, prices, &b)),
        monitoring: scenario.monitoring.as_ref().map(|m| monitoring::price(m, prices)),
    }
}

fn price_load_balancer(lb: &LoadBalancerScenario, prices: &PriceTable, b: &Basis) -> LoadBalancerReport {
    let cu = load_balancer::capacity_units(&lb.spec);
    let always_on = load_balancer::price(&lb.spec, prices, &Usage::always_on(b.hours_per_month));
    let scheduled = (!lb.schedule.is_empty()).then(|| {
        let lifetimes = schedule::merge(schedule::expand(&lb.schedule, b.span));
        let totals = LifetimeTotals::of(&lifetimes, &b.span);
        let usage = Usage::from_lifetimes(&totals, b.scale_num, b.scale_den);
        let c = load_balancer::price(&lb.spec, prices, &usage);
        ScheduledCost {
            basis: b.label.clone(),
            lifetimes: usage.lifetimes,
            billed_hours: c.billed_hours,
            running_hours: c.running_hours,
            monthly_usd: c.monthly_usd,
            line_items: c.line_items,
        }
    });
    LoadBalancerReport {
        kind: lb.spec.kind,
        scheme: lb.spec.scheme,
        azs: lb.spec.azs,
        lcu_per_hour: cu.per_hour,
        schedule_saves_usd: scheduled.as_ref().map(|s| always_on.monthly_usd - s.monthly_usd),
        capacity_units: cu,
        always_on,
        scheduled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::load::PriceBook;
    use crate::scenario::EMBEDDED_SEED;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn run(src: &str, as_of: DateTime<Utc>) -> ModelReport {
        let book = PriceBook::embedded().unwrap();
        let s = Scenario::parse("s.toml", src, &book.regions()).unwrap();
        evaluate(&s, book.get(&s.region).unwrap(), as_of)
    }

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap()
    }

    /// The seed's demo-usage table, with 720-hour (30-day) months as the seed used:
    /// only the ALB-hour line is compared, since the seed left out LCUs and IPv4.
    #[test]
    fn seed_demo_table_alb_hours_are_reproducible() {
        // us-east-1 ALB $0.0225/h. Daily windows over any 12 months: d × 24 h-days …
        // billed hours per month = (h/day × days) × 720 / (days × 24) = h × 30.
        //   8 h/day → 240 h × 0.0225 = 5.40  (seed: $5.4)
        //   3 h/day →  90 h × 0.0225 = 2.025 (seed: $2.0)
        //   1 h/day →  30 h × 0.0225 = 0.675 (seed: $0.7)
        //   24/7    → 720 h × 0.0225 = 16.20 (seed: $16.2)
        for (cron, dur, hours, usd) in [
            ("0 9 * * *", "8h", dec!(240), dec!(5.40)),
            ("0 9 * * *", "3h", dec!(90), dec!(2.025)),
            ("0 9 * * *", "1h", dec!(30), dec!(0.675)),
            ("0 0 * * *", "24h", dec!(720), dec!(16.20)),
        ] {
            let src = format!(
                "region = \"us-east-1\"\nhours_per_month = 720\n[load_balancer]\nkind = \"application\"\nscheme = \"internet-facing\"\nazs = 2\ntarget_type = \"ip\"\n[[load_balancer.schedule]]\ncron = \"{cron}\"\nduration = \"{dur}\"\ntimezone = \"UTC\"\n"
            );
            let r = run(&src, at());
            let s = r.load_balancer.unwrap().scheduled.unwrap();
            assert_eq!(s.billed_hours.round_dp(6), hours, "{cron} {dur}");
            assert_eq!(s.line_items[0].cost_usd.round_dp(6), usd, "{cron} {dur}");
        }
    }

    #[test]
    fn seed_scenario_scheduled_alb_in_a_real_month() {
        // December 2026 (744 h), ap-southeast-1, "0 9 * * Mon-Fri" for 3 h in Asia/Singapore (UTC+8):
        // weekdays in Dec 2026: 23 (Tue 1 … Thu 31) → 23 lifetimes × 3 h = 69 billed hours.
        // ALB: 69 × 0.0252 = 1.7388. LCU: max(1/25 = 0.04, 1 × 120 / 3,000 = 0.04, 0.1 GB/h = 0.1,
        //   5 req/s × 0 paid rules = 0) = 0.1 → 0.1 × 69 = 6.9 LCU-h × 0.008 = 0.0552.
        // IPv4: 2 × 69 = 138 address-h × 0.005 = 0.69. Total 1.7388 + 0.0552 + 0.69 = 2.484.
        let src = EMBEDDED_SEED.replace("hours_per_month = 730", "month = \"2026-12\"");
        let r = run(&src, at());
        assert_eq!(r.hours_per_month, dec!(744));
        let lb = r.load_balancer.unwrap();
        assert_eq!(lb.lcu_per_hour, dec!(0.1));
        let s = lb.scheduled.unwrap();
        assert_eq!((s.lifetimes, s.billed_hours), (dec!(23), dec!(69)));
        assert_eq!(s.monthly_usd, dec!(2.484));
        // Always on for 744 h: 744 × 0.0252 = 18.7488; 74.4 × 0.008 = 0.5952; 1,488 × 0.005 = 7.44 → 26.784.
        assert_eq!(lb.always_on.monthly_usd, dec!(26.784));
        assert_eq!(lb.schedule_saves_usd, Some(dec!(24.300)));
    }

    #[test]
    fn partial_hour_windows_bill_full_hours() {
        // One-off 09:00–10:01 UTC: 61 minutes → 2 billed ALB-hours; IPv4 per second: 2 × 3,660 s.
        // us-east-1: 2 × 0.0225 = 0.045; IPv4 2 × 3,660 / 3,600 = 2.0333… h × 0.005 = 0.010166…
        let src = "region = \"us-east-1\"\nmonth = \"2026-12\"\n[load_balancer]\nkind = \"application\"\nscheme = \"internet-facing\"\nazs = 2\ntarget_type = \"ip\"\n[[load_balancer.schedule]]\nstart = \"2026-12-03T09:00:00Z\"\nend = \"2026-12-03T10:01:00Z\"\n";
        let s = run(src, at()).load_balancer.unwrap().scheduled.unwrap();
        assert_eq!(s.billed_hours, dec!(2));
        assert_eq!(s.line_items[0].cost_usd, dec!(0.045));
        assert_eq!(s.line_items[2].quantity.round_dp(6), dec!(2.033333));
    }

    #[test]
    fn dst_month_schedule_in_new_york() {
        // March 2027 (UTC month, 744 h). "0 9 * * Mon-Fri" in America/New_York for 8 h:
        // 23 weekdays in March 2027 (Mon 1 … Wed 31); DST starts Sun 14 Mar, so local 09:00 is
        // 14:00 UTC before and 13:00 UTC after — every window is still 8 real hours.
        // 23 × 8 = 184 billed hours × 0.0225 = 4.14.
        let src = "region = \"us-east-1\"\nmonth = \"2027-03\"\n[load_balancer]\nkind = \"application\"\nscheme = \"internal\"\nazs = 2\ntarget_type = \"ip\"\n[[load_balancer.schedule]]\ncron = \"0 9 * * Mon-Fri\"\nduration = \"8h\"\ntimezone = \"America/New_York\"\n";
        let s = run(src, at()).load_balancer.unwrap().scheduled.unwrap();
        assert_eq!(s.billed_hours, dec!(184));
        assert_eq!(s.monthly_usd, dec!(4.14));
    }

    #[test]
    fn monitoring_line_items() {
        // us-east-1: 4 metrics × 0.30 = 1.20; 3 alarms × 0.10 = 0.30; 44,640 requests / 1,000 × 0.01 = 0.4464 → 1.9464.
        let src =
            "region = \"us-east-1\"\n[monitoring]\ncustom_metrics = 4\nalarms = 3\napi_requests_per_month = 44640\n";
        let m = run(src, at()).monitoring.unwrap();
        assert_eq!(m.monthly_usd, dec!(1.9464));
    }

    #[test]
    fn json_shape_and_absent_sections() {
        let r = run(EMBEDDED_SEED, at());
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["region"], "ap-southeast-1");
        assert_eq!(v["hours_per_month"], "730");
        let opt = &v["network"]["options"][0];
        for k in ["name", "feasible", "monthly_usd", "line_items"] {
            assert!(!opt[k].is_null(), "{k}");
        }
        let li = &opt["line_items"][0];
        for k in ["item", "quantity", "unit", "rate_usd", "cost_usd"] {
            assert!(!li[k].is_null(), "{k}");
        }
        assert!(li["cost_usd"].is_string(), "decimals are strings");
        assert!(v["network"]["break_even"][0]["gb_per_month"].is_string());
        assert!(v["network"]["recommendation"].is_string());
        for k in ["always_on", "scheduled"] {
            for f in ["billed_hours", "monthly_usd", "line_items"] {
                assert!(!v["load_balancer"][k][f].is_null(), "{k}.{f}");
            }
        }
        assert!(v["load_balancer"]["lcu_per_hour"].is_string());
        assert!(v.get("month").is_none(), "a what-if month has no calendar month");
        // Sections absent from the scenario are absent from the output.
        let lb_only = "region = \"us-east-1\"\n[load_balancer]\nkind = \"network\"\nscheme = \"internal\"\nazs = 1\ntarget_type = \"ip\"\n";
        let v = serde_json::to_value(run(lb_only, at())).unwrap();
        assert!(v.get("network").is_none() && v.get("monitoring").is_none());
        assert!(
            v["load_balancer"].get("scheduled").is_none(),
            "no schedule, no scheduled section"
        );
    }
}
