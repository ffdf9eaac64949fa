//! A whole scenario priced with the rules in [`crate::cost`]: the
//! `costd model` result (line items, totals, what the schedule saves).
//! PURE: the instant that anchors what-if schedules is passed in.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::cost::LineItem;
use crate::cost::billing::{LifetimeTotals, PartialHour};
use crate::cost::load_balancer::{self, CapacityUnits, LbKind, LoadBalancerCost, Scheme, Usage};
use crate::cost::monitoring::{self, MonitoringCost};
use crate::cost::network::{self, NetworkModel};
use crate::pricing::PriceTable;
use crate::scenario::{LoadBalancerScenario, Period, Scenario};
use crate::schedule::planner::{self, DemoWindow, PlannerSettings};
use crate::schedule::{Interval, Month};

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
    /// How partial hours are billed in these figures.
    pub partial_hour: PartialHour,
    /// The same schedule under the other rule, when that bills differently.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub under_other_rule: Option<OtherRule>,
    /// The period's first lifetimes, with their billed hours under each rule.
    pub first_lifetimes: Vec<ScheduledLifetime>,
    /// The ALB is created this long before each window opens.
    pub lead_minutes: i64,
    /// And deleted this long after it closes.
    pub grace_minutes: i64,
    /// Whether it is kept through gaps when that is not dearer.
    pub coalesce: bool,
    /// Lifetimes per month (windows with lead and grace, merged and coalesced as the daemon does).
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

/// The scheduled figures under the rule not chosen.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OtherRule {
    /// That rule.
    pub partial_hour: PartialHour,
    /// Billed hours per month under it.
    pub billed_hours: Decimal,
    /// The month's total under it.
    pub monthly_usd: Decimal,
}

/// One planned lifetime (window with lead and grace, merged or coalesced).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ScheduledLifetime {
    /// Created.
    pub start: DateTime<Utc>,
    /// Deleted.
    pub end: DateTime<Utc>,
    /// Billed hours by rule (`lifetime`, `clock_hour`).
    #[schema(value_type = std::collections::BTreeMap<String, i64>)]
    pub billed_hours: std::collections::BTreeMap<PartialHour, i64>,
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
            .map(|lb| price_load_balancer(lb, prices, &b, scenario.partial_hour)),
        monitoring: scenario.monitoring.as_ref().map(|m| monitoring::price(m, prices)),
    }
}

/// The lifetimes the daemon would run for the scenario's windows in `span`:
/// the same planner, lead, grace and coalescing (at the scenario's rates).
/// Windows just outside `span` are planned too, as their lead or grace (or
/// a coalesced gap) can reach into it; the caller clips to `span`.
fn scheduled_lifetimes(
    lb: &LoadBalancerScenario,
    prices: &PriceTable,
    span: &Interval,
    rule: PartialHour,
) -> Vec<Interval> {
    let reach = lb.rules.lead + lb.rules.grace + chrono::Duration::days(1);
    let wide = Interval {
        start: span.start - reach,
        end: span.end + reach,
    };
    // The daemon's expansion: recurring windows skip the blackout days.
    let windows: Vec<DemoWindow> = planner::windows_in(&lb.schedule, &[], &lb.blackouts, wide);
    let addresses = match lb.spec.scheme {
        Scheme::InternetFacing => Decimal::from(lb.spec.azs),
        Scheme::Internal => Decimal::ZERO,
    };
    let settings = PlannerSettings {
        lead: lb.rules.lead,
        grace: lb.rules.grace,
        coalesce: lb.rules.coalesce,
        lb_usd_per_hour: match lb.spec.kind {
            LbKind::Application => prices.alb.hour.usd,
            LbKind::Network => prices.nlb.hour.usd,
        },
        ipv4_usd_per_hour: prices.public_ipv4.address_hour.usd * addresses,
        partial_hour: rule,
    };
    planner::lifetimes(&windows, &settings)
        .into_iter()
        .map(|l| Interval {
            start: l.start,
            end: l.end,
        })
        .collect()
}

/// How many lifetimes the report lists (the first ones of the period).
const LIFETIMES_SHOWN: usize = 5;

fn price_load_balancer(
    lb: &LoadBalancerScenario,
    prices: &PriceTable,
    b: &Basis,
    rule: PartialHour,
) -> LoadBalancerReport {
    let cu = load_balancer::capacity_units(&lb.spec);
    let always_on = load_balancer::price(&lb.spec, prices, &Usage::always_on(b.hours_per_month));
    let scheduled = (!lb.schedule.is_empty()).then(|| {
        let priced = |rule: PartialHour| {
            let lifetimes = scheduled_lifetimes(lb, prices, &b.span, rule);
            let totals = LifetimeTotals::of(&lifetimes, &b.span, rule);
            let usage = Usage::from_lifetimes(&totals, b.scale_num, b.scale_den, rule);
            (lifetimes, usage, load_balancer::price(&lb.spec, prices, &usage))
        };
        let (lifetimes, usage, c) = priced(rule);
        // The other rule, shown when it bills differently.
        let other = PartialHour::ALL.into_iter().find(|r| *r != rule).expect("two rules");
        let (_, _, alt) = priced(other);
        let under_other_rule = (alt.billed_hours != c.billed_hours).then_some(OtherRule {
            partial_hour: other,
            billed_hours: alt.billed_hours,
            monthly_usd: alt.monthly_usd,
        });
        let first = lifetimes
            .iter()
            .filter(|l| l.clip(&b.span).is_some())
            .take(LIFETIMES_SHOWN)
            .map(|l| ScheduledLifetime {
                start: l.start,
                end: l.end,
                billed_hours: PartialHour::ALL.map(|r| (r, r.billed_hours(l))).into_iter().collect(),
            })
            .collect();
        ScheduledCost {
            basis: b.label.clone(),
            partial_hour: rule,
            under_other_rule,
            first_lifetimes: first,
            lead_minutes: lb.rules.lead.num_minutes(),
            grace_minutes: lb.rules.grace.num_minutes(),
            coalesce: lb.rules.coalesce,
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

    /// The seed's demo-usage table, with 720-hour (30-day) months as the seed used,
    /// and no lead or grace (the seed's table has none): only the ALB-hour line is
    /// compared, since the seed left out LCUs and IPv4.
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
                "region = \"us-east-1\"\nhours_per_month = 720\n[load_balancer]\nkind = \"application\"\nscheme = \"internet-facing\"\nazs = 2\ntarget_type = \"ip\"\nlead_minutes = 0\ngrace_minutes = 0\n[[load_balancer.schedule]]\ncron = \"{cron}\"\nduration = \"{dur}\"\ntimezone = \"UTC\"\n"
            );
            let r = run(&src, at());
            let s = r.load_balancer.unwrap().scheduled.unwrap();
            assert_eq!(s.billed_hours.round_dp(6), hours, "{cron} {dur}");
            assert_eq!(s.line_items[0].cost_usd.round_dp(6), usd, "{cron} {dur}");
        }
    }

    #[test]
    fn seed_scenario_scheduled_alb_in_a_real_month() {
        // December 2026 (744 h), ap-southeast-1, "0 9 * * Mon-Fri" for 3 h in Asia/Singapore (UTC+8),
        // with the daemon's default lead and grace (5 + 5 min): each lifetime runs 08:55–12:05,
        // 3 h 10 min = 190 min → 4 billed hours. Weekdays in Dec 2026: 23 (Tue 1 … Thu 31)
        // → 23 lifetimes × 4 h = 92 billed hours; running 23 × 190 min = 4,370 min = 72.8333… h.
        // ALB: 92 × 0.0252 = 2.3184. LCU: max(1/25 = 0.04, 1 × 120 / 3,000 = 0.04, 0.1 GB/h = 0.1,
        //   5 req/s × 0 paid rules = 0) = 0.1 → 0.1 × 4,370/60 = 7.2833… LCU-h × 0.008 = 0.0582666….
        // IPv4: 2 × 4,370/60 = 145.666… address-h × 0.005 = 0.728333….
        // LCU + IPv4 = (3.496 + 43.7) / 60 = 47.196 / 60 = 0.7866. Total 2.3184 + 0.7866 = 3.105.
        // Capacity units are billed per LCU-hour "or partial hour", for the billed hours:
        // 0.1 LCU/h (max(1/25 = 0.04, 1 × 120 / 3,000 = 0.04, 0.1 GB/h = 0.1, 5 req/s × 0 paid rules = 0)).
        // Per lifetime: ALB 92 × 0.0252 = 2.3184; LCU 0.1 × 92 = 9.2 × 0.008 = 0.0736;
        //   IPv4 (per second, either rule): 2 × 4,370/60 = 145.666… × 0.005 = 0.728333…
        //   → 3.120333….
        // Per clock hour (the default): 08:55–12:05 SGT = 00:55–04:05 UTC touches 00–04, 5 hours:
        //   23 × 5 = 115 h. ALB 115 × 0.0252 = 2.898; LCU 11.5 × 0.008 = 0.092; IPv4 0.728333…
        //   → 3.718333….
        let src = EMBEDDED_SEED.replace("hours_per_month = 730", "month = \"2026-12\"");
        let r = run(&src, at());
        assert_eq!(r.hours_per_month, dec!(744));
        let lb = r.load_balancer.unwrap();
        assert_eq!(lb.lcu_per_hour, dec!(0.1));
        let s = lb.scheduled.unwrap();
        assert_eq!((s.lead_minutes, s.grace_minutes, s.coalesce), (5, 5, true));
        assert_eq!(s.partial_hour, PartialHour::ClockHour);
        assert_eq!((s.lifetimes, s.billed_hours), (dec!(23), dec!(115)));
        assert_eq!(s.monthly_usd.round_dp(6), dec!(3.718333));
        let other = s.under_other_rule.clone().expect("the rules differ for this schedule");
        assert_eq!(
            (other.partial_hour, other.billed_hours),
            (PartialHour::Lifetime, dec!(92))
        );
        assert_eq!(other.monthly_usd.round_dp(6), dec!(3.120333));
        // Each lifetime: 4 hours per lifetime, 5 per clock hour.
        let first = &s.first_lifetimes[0];
        assert_eq!(
            (
                first.billed_hours[&PartialHour::Lifetime],
                first.billed_hours[&PartialHour::ClockHour]
            ),
            (4, 5)
        );
        assert_eq!(first.start.to_rfc3339(), "2026-12-01T00:55:00+00:00");
        // Always on for 744 h: 744 × 0.0252 = 18.7488; 74.4 × 0.008 = 0.5952; 1,488 × 0.005 = 7.44 → 26.784.
        assert_eq!(lb.always_on.monthly_usd, dec!(26.784));
        // Saves 26.784 − 3.718333… = 23.065666….
        assert_eq!(lb.schedule_saves_usd.unwrap().round_dp(6), dec!(23.065667));
        // Under `partial_hour = "lifetime"` the scenario's figures are the other rule's.
        let by_lifetime = run(&format!("partial_hour = \"lifetime\"\n{src}"), at());
        let s = by_lifetime.load_balancer.unwrap().scheduled.unwrap();
        assert_eq!((s.partial_hour, s.billed_hours), (PartialHour::Lifetime, dec!(92)));
        assert_eq!(s.monthly_usd.round_dp(6), dec!(3.120333));
        // Without lead and grace the same month bills 23 × 3 = 69 hours: the model used to say so.
        let bare = src.replace(
            "[[load_balancer.schedule]]",
            "lead_minutes = 0\ngrace_minutes = 0\n[[load_balancer.schedule]]",
        );
        let s = run(&format!("partial_hour = \"lifetime\"\n{bare}"), at())
            .load_balancer
            .unwrap()
            .scheduled
            .unwrap();
        assert_eq!(s.billed_hours, dec!(69));
    }

    #[test]
    fn close_windows_are_coalesced_as_the_daemon_does() {
        // Two one-off windows 09:00–09:20 and 09:40–10:00 UTC with 5 + 5 min lead and grace:
        // needs 08:55–09:25 and 09:35–10:05. us-east-1, internal (no public IPv4):
        // one lifetime 08:55–10:05 (70 min) bills 2 h × 0.0225 = 0.045; two of 30 min bill
        // 1 h + 1 h = 0.045. Keeping is not dearer, so the daemon keeps it: one lifetime, 2 h.
        let src = "region = \"us-east-1\"\nmonth = \"2026-12\"\n[load_balancer]\nkind = \"application\"\nscheme = \"internal\"\nazs = 2\ntarget_type = \"ip\"\n[[load_balancer.schedule]]\nstart = \"2026-12-03T09:00:00Z\"\nend = \"2026-12-03T09:20:00Z\"\n[[load_balancer.schedule]]\nstart = \"2026-12-03T09:40:00Z\"\nend = \"2026-12-03T10:00:00Z\"\n";
        let by_lifetime = format!("partial_hour = \"lifetime\"\n{src}");
        let s = run(&by_lifetime, at()).load_balancer.unwrap().scheduled.unwrap();
        assert_eq!((s.lifetimes, s.billed_hours), (dec!(1), dec!(2)));
        // Running 70 min.
        assert_eq!(s.running_hours.round_dp(6), dec!(1.166667));
        // With coalescing off: two lifetimes of 30 min, 1 h each.
        let apart = by_lifetime.replace("target_type = \"ip\"\n", "target_type = \"ip\"\ncoalesce = false\n");
        let s = run(&apart, at()).load_balancer.unwrap().scheduled.unwrap();
        assert_eq!((s.lifetimes, s.billed_hours), (dec!(2), dec!(2)));
        assert_eq!(s.running_hours, dec!(1));
        // Per clock hour (the default) keeping matters more: one lifetime touches 08, 09 and 10
        // (3 h); apart, 08:55–09:25 touches 08 and 09 and 09:35–10:05 touches 09 and 10 (4 h).
        let s = run(src, at()).load_balancer.unwrap().scheduled.unwrap();
        assert_eq!((s.lifetimes, s.billed_hours), (dec!(1), dec!(3)));
        let apart = src.replace("target_type = \"ip\"\n", "target_type = \"ip\"\ncoalesce = false\n");
        let s = run(&apart, at()).load_balancer.unwrap().scheduled.unwrap();
        assert_eq!((s.lifetimes, s.billed_hours), (dec!(2), dec!(4)));
    }

    #[test]
    fn lead_and_grace_are_bounded_like_the_daemons() {
        let book = PriceBook::embedded().unwrap();
        let base = "region = \"us-east-1\"\n[load_balancer]\nkind = \"application\"\nscheme = \"internal\"\nazs = 2\ntarget_type = \"ip\"\n";
        for (extra, ok) in [
            ("lead_minutes = 120", true),
            ("lead_minutes = 121", false),
            ("grace_minutes = 0", true),
            ("grace_minutes = 121", false),
            ("coalesce = \"yes\"", false),
        ] {
            let r = Scenario::parse("s.toml", &format!("{base}{extra}\n"), &book.regions());
            assert_eq!(r.is_ok(), ok, "{extra}: {r:?}");
            if let Err(e) = r {
                assert!(e.key.starts_with("load_balancer."), "{e}");
            }
        }
    }

    #[test]
    fn partial_hour_windows_bill_full_hours() {
        // One-off 09:00–10:01 UTC, no lead or grace: 61 minutes → 2 billed ALB-hours; IPv4 per second: 2 × 3,660 s.
        // us-east-1: 2 × 0.0225 = 0.045; IPv4 2 × 3,660 / 3,600 = 2.0333… h × 0.005 = 0.010166…
        let src = "region = \"us-east-1\"\nmonth = \"2026-12\"\n[load_balancer]\nkind = \"application\"\nscheme = \"internet-facing\"\nazs = 2\ntarget_type = \"ip\"\nlead_minutes = 0\ngrace_minutes = 0\n[[load_balancer.schedule]]\nstart = \"2026-12-03T09:00:00Z\"\nend = \"2026-12-03T10:01:00Z\"\n";
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
        // No lead or grace: 23 × 8 = 184 billed hours × 0.0225 = 4.14.
        let src = "region = \"us-east-1\"\nmonth = \"2027-03\"\n[load_balancer]\nkind = \"application\"\nscheme = \"internal\"\nazs = 2\ntarget_type = \"ip\"\nlead_minutes = 0\ngrace_minutes = 0\n[[load_balancer.schedule]]\ncron = \"0 9 * * Mon-Fri\"\nduration = \"8h\"\ntimezone = \"America/New_York\"\n";
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
