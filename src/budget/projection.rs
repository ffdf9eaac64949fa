//! This month's spend: actual so far (ledger) + scheduled for the rest
//! (planner), by component. PURE: every instant and record is passed in.
//!
//! - **Network** (always on, from the deployed egress option): the month's
//!   line items prorated by hours — elapsed hours are actual, the rest scheduled
//!   (traffic is assumed even over the month).
//! - **ALB**: each lifetime clipped to the month; partial hours billed as full
//!   hours per lifetime; public IPv4 per second (60 s minimum); LCU-hours from
//!   CloudWatch `ConsumedLCUs` where the lifetime has them, else modelled. A
//!   lifetime running at `at` is split: its billed hours so far are actual, the
//!   rest of its planned billed hours are scheduled.
//! - **Monitoring**: costd's own CloudWatch use, prorated like the network.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::cost::LineItem;
use crate::cost::billing::{PartialHour, ipv4_billed_seconds};
use crate::cost::load_balancer::{LbKind, LoadBalancerSpec, Scheme, capacity_units};
use crate::cost::monitoring::MonitoringSpec;
use crate::cost::network::{self, NetworkSpec, OptionName};
use crate::pricing::PriceTable;
use crate::schedule::{Interval, Month};

/// What a budget can be scoped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    /// NAT and VPC endpoints (always on).
    Network,
    /// The demo ALB.
    Alb,
    /// costd's own CloudWatch metrics and alarms.
    Monitoring,
}

impl Component {
    /// All components, in display order.
    pub const ALL: [Component; 3] = [Component::Network, Component::Alb, Component::Monitoring];

    /// Name used in config, metrics and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Network => "network",
            Component::Alb => "alb",
            Component::Monitoring => "monitoring",
        }
    }
}

/// Whether a figure is spent already or still to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Month to date.
    Actual,
    /// The rest of the month, from the schedule and the baseline.
    Scheduled,
}

/// A line item with its basis.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProjectedItem {
    /// Actual or scheduled.
    pub basis: Basis,
    /// Where a quantity came from when it matters (e.g. `cloudwatch ConsumedLCUs` or `modelled`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity_source: Option<String>,
    /// The priced quantity.
    #[serde(flatten)]
    pub item: LineItem,
}

/// One component's month.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ComponentProjection {
    /// Which.
    pub component: Component,
    /// Month to date.
    pub actual_usd: Decimal,
    /// Rest of the month.
    pub scheduled_usd: Decimal,
    /// `actual + scheduled`.
    pub projected_usd: Decimal,
    /// What is paid for.
    pub line_items: Vec<ProjectedItem>,
}

/// The month's projection.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Projection {
    /// `YYYY-MM`.
    pub month: String,
    /// Zone the month is taken in.
    pub timezone: String,
    /// When it was computed.
    pub at: DateTime<Utc>,
    /// The month's real hours.
    pub hours_in_month: Decimal,
    /// Hours of it elapsed at `at`.
    pub elapsed_hours: Decimal,
    /// Sum of actual.
    pub month_to_date_usd: Decimal,
    /// Sum of actual + scheduled.
    pub projected_usd: Decimal,
    /// How partial hours are billed in these figures.
    pub partial_hour: PartialHour,
    /// By component.
    pub components: Vec<ComponentProjection>,
    /// The ALB component's actual line items again, split by load balancer
    /// (one group per ARN; lifetimes without one together): what a bill
    /// names per resource. Their sum is the component's actual items.
    #[serde(skip)]
    pub alb_actual_by_resource: Vec<ResourceCharges>,
    /// Day by day: the spend from the month's start to each day's end, actual
    /// for the days over, then the schedule's. The last day's figure is
    /// `projected_usd`.
    pub days: Vec<DayPoint>,
}

/// The month's spend to the end of one day.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DayPoint {
    /// The day, in the projection's zone.
    #[schema(value_type = String, format = Date)]
    pub date: chrono::NaiveDate,
    /// Its end: the next local midnight (the month's end for the last day).
    pub end: DateTime<Utc>,
    /// `actual` when the day is over at the projection's time, else
    /// `scheduled` (the day in progress is actual so far plus the schedule).
    pub basis: Basis,
    /// Spend from the month's start to `end`.
    pub cumulative_usd: Decimal,
    /// The same per component, in the projection's order.
    pub components: Vec<ComponentDay>,
}

/// One component's spend to the end of a day.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ComponentDay {
    /// The component.
    pub component: Component,
    /// Its spend from the month's start to the day's end.
    pub cumulative_usd: Decimal,
}

/// A load balancer the ledger recorded: what a bill names it by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AlbResource {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
}

/// One load balancer's actual charges.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceCharges {
    /// Which (none for lifetimes without an ARN, e.g. dry runs).
    pub resource: Option<AlbResource>,
    /// Its actual line items.
    pub items: Vec<ProjectedItem>,
}

impl Projection {
    /// Month-to-date and projected for a scope (`None`: all components).
    pub fn totals(&self, scope: Option<Component>) -> (Decimal, Decimal) {
        self.components
            .iter()
            .filter(|c| scope.is_none_or(|s| s == c.component))
            .fold((Decimal::ZERO, Decimal::ZERO), |(a, p), c| {
                (a + c.actual_usd, p + c.projected_usd)
            })
    }
}

/// One ALB lifetime as the projection sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlbLifetime {
    /// When it started (AWS CreatedTime).
    pub start: DateTime<Utc>,
    /// When it ended or will end: the ledger's deletion for past lifetimes,
    /// the planner's end for the running and upcoming ones.
    pub end: DateTime<Utc>,
    /// LCU-hours from CloudWatch `ConsumedLCUs`, where known (for the part until `at`).
    pub consumed_lcu_hours: Option<Decimal>,
    /// The load balancer, for lifetimes in the ledger with an ARN.
    pub resource: Option<AlbResource>,
}

/// Everything the projection needs.
#[derive(Debug, Clone)]
pub struct ProjectionInputs<'a> {
    /// The month.
    pub month: Month,
    /// Its zone.
    pub timezone: Tz,
    /// Now.
    pub at: DateTime<Utc>,
    /// The region's rates.
    pub prices: &'a PriceTable,
    /// The network traffic and the option deployed, if modelled.
    pub network: Option<(&'a NetworkSpec, OptionName)>,
    /// The ALB as deployed (scheme, AZs, traffic profile).
    pub alb: &'a LoadBalancerSpec,
    /// Lifetimes: past (ledger), running (ledger start, planned end) and upcoming (planner).
    pub lifetimes: &'a [AlbLifetime],
    /// costd's CloudWatch use, if modelled.
    pub monitoring: Option<&'a MonitoringSpec>,
    /// How partial hours are billed.
    pub partial_hour: PartialHour,
}

fn hours(iv: &Interval) -> Decimal {
    Decimal::from(iv.seconds()) / Decimal::from(3600)
}

fn split(basis: Basis, items: &[LineItem], fraction: Decimal, source: Option<&str>) -> Vec<ProjectedItem> {
    items
        .iter()
        .filter(|_| !fraction.is_zero())
        .map(|i| ProjectedItem {
            basis,
            quantity_source: source.map(str::to_string),
            item: LineItem {
                quantity: (i.quantity * fraction).normalize(),
                cost_usd: (i.cost_usd * fraction).normalize(),
                ..i.clone()
            },
        })
        .collect()
}

fn component(component: Component, line_items: Vec<ProjectedItem>) -> ComponentProjection {
    let sum = |b: Basis| {
        line_items
            .iter()
            .filter(|i| i.basis == b)
            .map(|i| i.item.cost_usd)
            .sum::<Decimal>()
            .normalize()
    };
    let (actual_usd, scheduled_usd) = (sum(Basis::Actual), sum(Basis::Scheduled));
    ComponentProjection {
        component,
        actual_usd,
        scheduled_usd,
        projected_usd: (actual_usd + scheduled_usd).normalize(),
        line_items,
    }
}

/// Projects the month, with its day-by-day series.
pub fn project(i: &ProjectionInputs) -> Projection {
    let mut p = project_totals(i);
    p.days = days(i, &p);
    p
}

/// The month's day ends in its zone: each local midnight after the first,
/// then the month's end.
fn day_ends(month: Month, tz: Tz) -> Vec<(chrono::NaiveDate, DateTime<Utc>)> {
    let span = month.span(tz);
    let mut out = Vec::new();
    let mut day = month.first_day();
    while let Some(next) = day.succ_opt() {
        let end = crate::schedule::cron::resolve_local(tz, next.and_hms_opt(0, 0, 0).expect("midnight")).min(span.end);
        out.push((day, end));
        if end >= span.end {
            break;
        }
        day = next;
    }
    out
}

/// Spend to each day's end. A day over at `at` is the projection as it
/// stood at the day's end (the actual figures then; capacity units a
/// lifetime consumed count on the day it started). A day still to come is
/// the actual figure now plus what the schedule adds from now to the day's
/// end, every capacity unit modelled, so the last day is `projected_usd`.
fn days(i: &ProjectionInputs, now: &Projection) -> Vec<DayPoint> {
    let modelled: Vec<AlbLifetime> = i
        .lifetimes
        .iter()
        .map(|l| AlbLifetime {
            consumed_lcu_hours: None,
            ..l.clone()
        })
        .collect();
    let modelled_at = |at: DateTime<Utc>| {
        project_totals(&ProjectionInputs {
            at,
            lifetimes: &modelled,
            ..i.clone()
        })
    };
    let base = modelled_at(i.at);
    let span_end = i.month.span(i.timezone).end;
    day_ends(i.month, i.timezone)
        .into_iter()
        .map(|(date, end)| {
            let (basis, components): (Basis, Vec<ComponentDay>) = if end <= i.at {
                let then = project_totals(&ProjectionInputs { at: end, ..i.clone() });
                (
                    Basis::Actual,
                    then.components
                        .iter()
                        .map(|c| ComponentDay {
                            component: c.component,
                            cumulative_usd: c.actual_usd,
                        })
                        .collect(),
                )
            } else if end >= span_end {
                // The schedule's whole rest of the month: the projection itself
                // (the same sum, without Decimal's last-digit rounding).
                (
                    Basis::Scheduled,
                    now.components
                        .iter()
                        .map(|c| ComponentDay {
                            component: c.component,
                            cumulative_usd: c.projected_usd,
                        })
                        .collect(),
                )
            } else {
                let then = modelled_at(end);
                (
                    Basis::Scheduled,
                    now.components
                        .iter()
                        .zip(then.components.iter().zip(base.components.iter()))
                        .map(|(n, (t, b))| ComponentDay {
                            component: n.component,
                            cumulative_usd: (n.actual_usd + t.actual_usd - b.actual_usd).normalize(),
                        })
                        .collect(),
                )
            };
            DayPoint {
                date,
                end,
                basis,
                cumulative_usd: components.iter().map(|c| c.cumulative_usd).sum::<Decimal>().normalize(),
                components,
            }
        })
        .collect()
}

/// The month's totals and line items at `i.at` (no day-by-day series).
fn project_totals(i: &ProjectionInputs) -> Projection {
    let span = i.month.span(i.timezone);
    let total_h = hours(&span);
    let elapsed = Interval::new(span.start, i.at.clamp(span.start, span.end)).map_or(Decimal::ZERO, |e| hours(&e));
    let actual_fraction = elapsed / total_h;
    let scheduled_fraction = Decimal::ONE - actual_fraction;

    let mut components = Vec::new();
    if let Some((spec, option)) = i.network {
        let m = network::model(spec, i.prices, total_h);
        let items = m
            .options
            .iter()
            .find(|o| o.name == option)
            .map(|o| o.line_items.clone())
            .unwrap_or_default();
        let mut li = split(Basis::Actual, &items, actual_fraction, None);
        li.extend(split(Basis::Scheduled, &items, scheduled_fraction, None));
        components.push(component(Component::Network, li));
    }
    components.push(component(Component::Alb, alb_items(i, &span)));
    if let Some(m) = i.monitoring {
        let items = crate::cost::monitoring::monitoring_items(m, i.prices);
        let mut li = split(Basis::Actual, &items, actual_fraction, None);
        li.extend(split(Basis::Scheduled, &items, scheduled_fraction, None));
        components.push(component(Component::Monitoring, li));
    }
    let month_to_date_usd = components.iter().map(|c| c.actual_usd).sum::<Decimal>().normalize();
    let projected_usd = components.iter().map(|c| c.projected_usd).sum::<Decimal>().normalize();
    Projection {
        month: i.month.to_string(),
        timezone: i.timezone.name().to_string(),
        at: i.at,
        hours_in_month: total_h.normalize(),
        elapsed_hours: elapsed.normalize(),
        month_to_date_usd,
        projected_usd,
        partial_hour: i.partial_hour,
        components,
        alb_actual_by_resource: alb_actual_by_resource(i, &span),
        days: Vec::new(),
    }
}

/// The ALB's actual line items per load balancer: [`alb_items`] of each
/// resource's lifetimes alone. Every quantity is a sum over lifetimes, so the
/// groups add up to the component's actual items.
fn alb_actual_by_resource(i: &ProjectionInputs, month: &Interval) -> Vec<ResourceCharges> {
    let mut groups: std::collections::BTreeMap<Option<&AlbResource>, Vec<AlbLifetime>> = Default::default();
    for l in i.lifetimes.iter().filter(|l| l.start < i.at) {
        groups.entry(l.resource.as_ref()).or_default().push(l.clone());
    }
    groups
        .into_iter()
        .filter_map(|(resource, lifetimes)| {
            let items: Vec<ProjectedItem> = alb_items(
                &ProjectionInputs {
                    lifetimes: &lifetimes,
                    ..i.clone()
                },
                month,
            )
            .into_iter()
            .filter(|x| x.basis == Basis::Actual)
            .collect();
            (!items.is_empty()).then(|| ResourceCharges {
                resource: resource.cloned(),
                items,
            })
        })
        .collect()
}

#[derive(Default)]
struct AlbTotals {
    lifetimes: i64,
    billed_hours: i64,
    ipv4_seconds: i64,
    running_hours: Decimal,
    consumed_lcu_hours: Decimal,
    /// Billed hours whose capacity units are modelled (no ConsumedLCUs for them).
    modelled_billed_hours: Decimal,
}

fn alb_items(i: &ProjectionInputs, month: &Interval) -> Vec<ProjectedItem> {
    let mut actual = AlbTotals::default();
    let mut scheduled = AlbTotals::default();
    for l in i.lifetimes {
        let Some(whole) = Interval::new(l.start, l.end) else {
            continue;
        };
        let Some(full) = whole.clip(month) else {
            continue;
        };
        // Billed hours count from the lifetime's start and belong to the month
        // (and the side of `at`) in which each starts: never rounded up twice.
        let total_billed = i.partial_hour.billed_hours_in(&whole, month);
        let total_ipv4 = ipv4_billed_seconds(full.seconds());
        // The part until `at` is actual; the rest is scheduled.
        let past = Interval::new(full.start, i.at.min(full.end));
        let (past_billed, past_ipv4, past_h) = match past {
            Some(p) => (
                Interval::new(month.start, i.at.min(month.end))
                    .map_or(0, |so_far| i.partial_hour.billed_hours_in(&whole, &so_far)),
                ipv4_billed_seconds(p.seconds()),
                hours(&p),
            ),
            None => (0, 0, Decimal::ZERO),
        };
        if past.is_some() {
            actual.lifetimes += 1;
            actual.billed_hours += past_billed;
            actual.ipv4_seconds += past_ipv4;
            actual.running_hours += past_h;
            match l.consumed_lcu_hours {
                Some(lcu) => actual.consumed_lcu_hours += lcu,
                None => actual.modelled_billed_hours += Decimal::from(past_billed),
            }
        }
        if full.end > i.at {
            if past.is_none() {
                scheduled.lifetimes += 1;
            }
            scheduled.billed_hours += total_billed - past_billed;
            scheduled.ipv4_seconds += total_ipv4 - past_ipv4;
            let rest = hours(&full) - past_h;
            scheduled.running_hours += rest;
            scheduled.modelled_billed_hours += Decimal::from(total_billed - past_billed);
        }
    }
    let cu = capacity_units(i.alb);
    let (name, hour, cu_rate, cu_name) = match i.alb.kind {
        LbKind::Application => ("ALB", &i.prices.alb.hour, &i.prices.alb.lcu_hour, "LCU"),
        LbKind::Network => ("NLB", &i.prices.nlb.hour, &i.prices.nlb.nlcu_hour, "NLCU"),
    };
    let addresses = if i.alb.scheme == Scheme::InternetFacing {
        i.alb.azs
    } else {
        0
    };
    let mut out = Vec::new();
    for (basis, t) in [(Basis::Actual, &actual), (Basis::Scheduled, &scheduled)] {
        if t.lifetimes == 0 && t.billed_hours == 0 {
            continue;
        }
        let item = |item: LineItem, source: Option<String>| ProjectedItem {
            basis,
            quantity_source: source,
            item,
        };
        out.push(item(
            LineItem::priced(
                format!(
                    "{name} hours ({} lifetimes; {})",
                    t.lifetimes,
                    i.partial_hour.describe()
                ),
                Decimal::from(t.billed_hours),
                hour,
            ),
            None,
        ));
        if !t.consumed_lcu_hours.is_zero() {
            out.push(item(
                LineItem::priced(format!("{cu_name}-hours consumed"), t.consumed_lcu_hours, cu_rate),
                Some("cloudwatch AWS/ApplicationELB ConsumedLCUs".into()),
            ));
        }
        // "LCU-hour (or partial hour)": modelled capacity units are billed for the ALB's billed hours.
        if !t.modelled_billed_hours.is_zero() {
            out.push(item(
                LineItem::priced(
                    format!(
                        "{cu_name}s: {}/h × {} billed hours",
                        cu.per_hour,
                        t.modelled_billed_hours.round_dp(2).normalize()
                    ),
                    cu.per_hour * t.modelled_billed_hours,
                    cu_rate,
                ),
                Some(format!("modelled from the traffic profile ({})", cu.dominant)),
            ));
        }
        if addresses > 0 {
            out.push(item(
                LineItem::priced(
                    format!("Public IPv4: {addresses} addresses, per second, 60 s minimum"),
                    Decimal::from(t.ipv4_seconds) * Decimal::from(addresses) / Decimal::from(3600),
                    &i.prices.public_ipv4.address_hour,
                ),
                None,
            ));
        }
    }
    // The stable name's hosted zone: AWS bills its month whole on the first
    // of the month, so once the month has begun it is all actual.
    if i.alb.hosted_zone {
        let basis = if i.at >= month.start {
            Basis::Actual
        } else {
            Basis::Scheduled
        };
        out.extend(
            crate::cost::load_balancer::hosted_zone_items(i.prices, Decimal::ONE)
                .into_iter()
                .map(|item| ProjectedItem {
                    basis,
                    quantity_source: None,
                    item,
                }),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::load_balancer::{TargetType, TrafficProfile};
    use crate::pricing::load::PriceBook;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn prices(region: &str) -> PriceTable {
        PriceBook::embedded().unwrap().get(region).unwrap().clone()
    }

    fn alb(traffic: TrafficProfile) -> LoadBalancerSpec {
        LoadBalancerSpec {
            kind: LbKind::Application,
            scheme: Scheme::InternetFacing,
            azs: 2,
            target_type: TargetType::Ip,
            traffic,
            hosted_zone: false,
        }
    }

    fn seed_network() -> NetworkSpec {
        NetworkSpec {
            azs: 2,
            s3_gb: dec!(500),
            services_gb: [("ecr.api", dec!(5)), ("ecr.dkr", dec!(200)), ("logs", dec!(50))]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            ..Default::default()
        }
    }

    fn utc(m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, m, d, h, mi, 0).unwrap()
    }

    fn comp(p: &Projection, c: Component) -> &ComponentProjection {
        p.components.iter().find(|x| x.component == c).unwrap()
    }

    #[test]
    fn network_baseline_prorated_in_a_30_day_month() {
        // November 2026 (UTC): 720 h. At 2026-11-16T00:00Z, 360 h elapsed = half.
        // endpoints_only in ap-southeast-1 over 720 h: 3 × 2 × 720 = 4,320 AZ-h × 0.013 = 56.16
        // + 255 GB × 0.01 = 2.55 → 58.71. Actual = 29.355, scheduled = 29.355.
        let p = prices("ap-southeast-1");
        let net = seed_network();
        let r = project(&ProjectionInputs {
            month: Month { year: 2026, month: 11 },
            timezone: chrono_tz::UTC,
            at: utc(11, 16, 0, 0),
            prices: &p,
            network: Some((&net, OptionName::EndpointsOnly)),
            alb: &alb(TrafficProfile::default()),
            lifetimes: &[],
            monitoring: None,
            partial_hour: PartialHour::Lifetime,
        });
        assert_eq!((r.hours_in_month, r.elapsed_hours), (dec!(720), dec!(360)));
        let n = comp(&r, Component::Network);
        assert_eq!(
            (n.actual_usd, n.scheduled_usd, n.projected_usd),
            (dec!(29.355), dec!(29.355), dec!(58.71))
        );
        assert_eq!(comp(&r, Component::Alb).projected_usd, dec!(0));
    }

    #[test]
    fn a_stable_names_hosted_zone_is_billed_whole_from_the_first_of_the_month() {
        // us-east-1's table: a hosted zone is $0.50 per zone-month, not prorated,
        // billed on the first: in November, at any time, $0.50 actual and
        // nothing scheduled; December seen from November is $0.50 scheduled.
        // Alias queries to the ALB: a zero item. No lifetimes: nothing else.
        let p = prices("us-east-1");
        let spec = LoadBalancerSpec {
            hosted_zone: true,
            ..alb(TrafficProfile::default())
        };
        let at = |month: u32| ProjectionInputs {
            month: Month { year: 2026, month },
            timezone: chrono_tz::UTC,
            at: utc(11, 16, 0, 0),
            prices: &p,
            network: None,
            alb: &spec,
            lifetimes: &[],
            monitoring: None,
            partial_hour: PartialHour::ClockHour,
        };
        let nov = project(&at(11));
        let a = comp(&nov, Component::Alb);
        assert_eq!((a.actual_usd, a.scheduled_usd), (dec!(0.5), dec!(0)));
        let items: Vec<(&str, Decimal)> = a
            .line_items
            .iter()
            .map(|i| (i.item.unit.as_str(), i.item.cost_usd))
            .collect();
        assert_eq!(items, [("hosted-zone-month", dec!(0.5)), ("million queries", dec!(0))]);
        // Every day of the month carries it: billed on the 1st.
        assert_eq!(nov.days[0].cumulative_usd, dec!(0.5));
        let dec_ = project(&at(12));
        let a = comp(&dec_, Component::Alb);
        assert_eq!((a.actual_usd, a.scheduled_usd), (dec!(0), dec!(0.5)));
    }

    #[test]
    fn alb_actual_from_the_ledger_and_scheduled_from_the_plan_in_a_31_day_month() {
        // December 2026 (744 h), us-east-1: ALB $0.0225/h, LCU $0.008, IPv4 $0.005/address-h, 2 AZs.
        // Traffic 0.5 GB/h → 0.5 LCU/h (modelled).
        // Past lifetime: Dec 1 09:00–10:30 (1.5 h → 2 billed h), CloudWatch says 0.6 LCU-h.
        // Running lifetime: Dec 10 09:00–12:00 planned, at = 10:20 → actual 1 h 20 min (2 billed h),
        //   scheduled 3 − 2 = 1 billed h.
        // Upcoming: Dec 11 09:00–09:10 (10 min → 1 billed h).
        // Actual: 4 h × 0.0225 = 0.09; LCU 0.6 (CloudWatch) × 0.008 = 0.0048 and modelled LCUs for
        //   the 10th's 2 billed hours so far (its hours from 09:00 and 10:00 have begun):
        //   0.5 × 2 = 1 LCU-h × 0.008 = 0.008 ("LCU-hour or partial hour");
        //   IPv4: (5,400 + 4,800) s × 2 / 3,600 = 5.6667 address-h × 0.005 = 0.028333.
        //   Actual total = 0.09 + 0.0048 + 0.008 + 0.0283333 = 0.1311333.
        // Scheduled: 2 billed h (1 + 1) × 0.0225 = 0.045; LCU 0.5 × 2 billed h = 1 × 0.008 = 0.008;
        //   IPv4 (6,000 + 600) s × 2 / 3,600 = 3.6667 × 0.005 = 0.0183333. Total 0.0713333.
        let p = prices("us-east-1");
        let lifetimes = [
            AlbLifetime {
                start: utc(12, 1, 9, 0),
                end: utc(12, 1, 10, 30),
                consumed_lcu_hours: Some(dec!(0.6)),
                resource: Some(lb("a")),
            },
            AlbLifetime {
                start: utc(12, 10, 9, 0),
                end: utc(12, 10, 12, 0),
                consumed_lcu_hours: None,
                resource: Some(lb("b")),
            },
            AlbLifetime {
                start: utc(12, 11, 9, 0),
                end: utc(12, 11, 9, 10),
                consumed_lcu_hours: None,
                resource: None,
            },
        ];
        let r = project(&ProjectionInputs {
            month: Month { year: 2026, month: 12 },
            timezone: chrono_tz::UTC,
            at: utc(12, 10, 10, 20),
            prices: &p,
            network: None,
            alb: &alb(TrafficProfile {
                processed_gb_per_hour: dec!(0.5),
                ..Default::default()
            }),
            lifetimes: &lifetimes,
            monitoring: None,
            partial_hour: PartialHour::Lifetime,
        });
        assert_eq!(r.hours_in_month, dec!(744));
        let a = comp(&r, Component::Alb);
        assert_eq!(a.actual_usd.round_dp(6), dec!(0.131133));
        assert_eq!(a.scheduled_usd.round_dp(6), dec!(0.071333));
        let hours: Vec<(Basis, Decimal)> = a
            .line_items
            .iter()
            .filter(|i| i.item.item.starts_with("ALB hours"))
            .map(|i| (i.basis, i.item.quantity))
            .collect();
        assert_eq!(hours, [(Basis::Actual, dec!(4)), (Basis::Scheduled, dec!(2))]);
        let sources: Vec<&str> = a
            .line_items
            .iter()
            .filter_map(|i| i.quantity_source.as_deref())
            .collect();
        assert!(
            sources.contains(&"cloudwatch AWS/ApplicationELB ConsumedLCUs"),
            "{sources:?}"
        );
        assert!(sources.iter().any(|s| s.starts_with("modelled")), "{sources:?}");
        // The actual charges per load balancer (the upcoming lifetime has none yet):
        //   a: 2 h × 0.0225 = 0.045 + 0.6 LCU-h × 0.008 = 0.0048 + IPv4 5,400 s × 2 / 3,600
        //      = 3 address-h × 0.005 = 0.015 → 0.0648;
        //   b: 2 h × 0.0225 = 0.045 + 1 LCU-h × 0.008 = 0.008 + 4,800 s × 2 / 3,600 = 2.6667
        //      × 0.005 = 0.0133333 → 0.0663333; together the component's actual 0.1311333.
        let by: Vec<(String, Decimal)> = r
            .alb_actual_by_resource
            .iter()
            .map(|g| {
                (
                    g.resource.as_ref().unwrap().name.clone(),
                    g.items.iter().map(|i| i.item.cost_usd).sum::<Decimal>().round_dp(7),
                )
            })
            .collect();
        assert_eq!(by, [("a".into(), dec!(0.0648)), ("b".into(), dec!(0.0663333))]);
        let sum: Decimal = r
            .alb_actual_by_resource
            .iter()
            .flat_map(|g| &g.items)
            .map(|i| i.item.cost_usd)
            .sum();
        assert_eq!(sum, a.actual_usd);

        // Day by day (UTC days). Dec 1–9 are over: lifetime a alone, 0.0648 (above).
        assert_eq!(r.days.len(), 31);
        let day = |d: usize| &r.days[d - 1];
        assert_eq!(
            (day(1).basis, day(1).cumulative_usd, day(1).end),
            (Basis::Actual, dec!(0.0648), utc(12, 2, 0, 0))
        );
        assert_eq!((day(9).basis, day(9).cumulative_usd), (Basis::Actual, dec!(0.0648)));
        // Dec 10 is in progress: the actual 0.1311333 now, plus what the schedule adds from
        // 10:20 to midnight with capacity units modelled (a's are the same at both times):
        // b's 3rd billed hour 0.0225 + 0.5 LCU × 0.008 = 0.004 + IPv4 (10,800 − 4,800) s × 2
        // / 3,600 = 3.3333 address-h × 0.005 = 0.0166667 → 0.0431667; 0.1743.
        assert_eq!(day(10).basis, Basis::Scheduled);
        assert_eq!(day(10).cumulative_usd.round_dp(6), dec!(0.1743));
        // Dec 11 adds the 10-minute lifetime: 0.0225 + 0.004 + 600 s × 2 / 3,600 × 0.005 =
        // 0.0016667 → 0.0281667; 0.2024667, which is the projected total, and stays so.
        assert_eq!(day(11).cumulative_usd.round_dp(7), dec!(0.2024667));
        assert_eq!(day(31).cumulative_usd, r.projected_usd);
        // The 30th, summed the schedule's way, agrees with it but for Decimal's last digits.
        assert_eq!(day(30).cumulative_usd.round_dp(20), r.projected_usd.round_dp(20));
        assert_eq!(day(31).components[0].component, Component::Alb);
        assert_eq!(day(31).end, utc(12, 31, 0, 0) + chrono::Duration::days(1));
    }

    #[test]
    fn the_days_of_a_dst_month_end_at_local_midnight() {
        // March 2027 in Europe/Berlin: 31 days; the 28th is 23 h long (CET → CEST).
        let p = prices("us-east-1");
        let r = project(&ProjectionInputs {
            month: Month { year: 2027, month: 3 },
            timezone: chrono_tz::Europe::Berlin,
            at: Utc.with_ymd_and_hms(2027, 3, 15, 0, 0, 0).unwrap(),
            prices: &p,
            network: Some((&seed_network(), OptionName::EndpointsOnly)),
            alb: &alb(TrafficProfile::default()),
            lifetimes: &[],
            monitoring: None,
            partial_hour: PartialHour::Lifetime,
        });
        assert_eq!(r.days.len(), 31);
        // Mar 28 ends at midnight CEST = 22:00Z; Mar 27 at midnight CET = 23:00Z.
        assert_eq!(r.days[26].end, Utc.with_ymd_and_hms(2027, 3, 27, 23, 0, 0).unwrap());
        assert_eq!(r.days[27].end, Utc.with_ymd_and_hms(2027, 3, 28, 22, 0, 0).unwrap());
        assert_eq!(
            r.days[30].end,
            Month { year: 2027, month: 3 }.span(chrono_tz::Europe::Berlin).end
        );
        // The network accrues by the hour: 743 h in the month; the 28th adds 23 of them.
        // endpoints_only in us-east-1 over 743 h: 3 × 2 × 743 × 0.01 = 44.58 + 255 × 0.01
        // = 2.55 → 47.13 a month, 47.13 / 743 per hour.
        let per_hour = dec!(47.13) / dec!(743);
        let d28 = r.days[27].cumulative_usd - r.days[26].cumulative_usd;
        assert_eq!(d28.round_dp(10), (per_hour * dec!(23)).round_dp(10));
        assert_eq!(r.days[30].cumulative_usd.round_dp(10), dec!(47.13));
        // Days before the 14th's end are actual, the 14th ends at `at`; the 15th on is scheduled.
        assert_eq!(r.days[13].basis, Basis::Actual);
        assert_eq!(r.days[14].basis, Basis::Scheduled);
    }

    fn lb(name: &str) -> AlbResource {
        AlbResource {
            arn: format!("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/{name}/0"),
            name: name.into(),
        }
    }

    #[test]
    fn a_dst_month_in_its_own_zone_and_a_lifetime_across_the_month_start() {
        // March 2027 in Europe/Berlin: 743 h (DST starts on the 28th).
        // A lifetime from Feb 28 23:30 CET (22:30Z) to Mar 1 01:30 CET (00:30Z): 2 billed h,
        // counted from its start: 22:30Z (February: March starts at local midnight, 23:00Z)
        // and 23:30Z (March). March bills 1 h, not the 2 that rounding the 1.5 h after
        // midnight up would give; at = mid-month → all actual.
        // us-east-1 internal ALB (no IPv4), no traffic: 1 × 0.0225 = 0.0225.
        let p = prices("us-east-1");
        let mut spec = alb(TrafficProfile::default());
        spec.scheme = Scheme::Internal;
        let l = [AlbLifetime {
            start: Utc.with_ymd_and_hms(2027, 2, 28, 22, 30, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2027, 3, 1, 0, 30, 0).unwrap(),
            consumed_lcu_hours: None,
            resource: None,
        }];
        let r = project(&ProjectionInputs {
            month: Month { year: 2027, month: 3 },
            timezone: chrono_tz::Europe::Berlin,
            at: Utc.with_ymd_and_hms(2027, 3, 15, 0, 0, 0).unwrap(),
            prices: &p,
            network: None,
            alb: &spec,
            lifetimes: &l,
            monitoring: None,
            partial_hour: PartialHour::Lifetime,
        });
        assert_eq!(r.hours_in_month, dec!(743));
        assert_eq!(comp(&r, Component::Alb).actual_usd, dec!(0.0225));
        assert_eq!(comp(&r, Component::Alb).scheduled_usd, dec!(0));
    }

    #[test]
    fn a_lifetime_ending_just_after_the_month_starts_bills_nothing_in_it() {
        // Nov 30 23:30Z → Dec 1 00:20Z: its one billed hour starts in November, so
        // December (UTC) bills 0 ALB-hours for it (once it billed 1 in each month).
        // us-east-1 internal ALB (no IPv4), no traffic: December ALB = $0.
        let p = prices("us-east-1");
        let mut spec = alb(TrafficProfile::default());
        spec.scheme = Scheme::Internal;
        let l = [AlbLifetime {
            start: utc(11, 30, 23, 30),
            end: utc(12, 1, 0, 20),
            consumed_lcu_hours: None,
            resource: None,
        }];
        let inputs = |month, at| ProjectionInputs {
            month,
            timezone: chrono_tz::UTC,
            at,
            prices: &p,
            network: None,
            alb: &spec,
            lifetimes: &l,
            monitoring: None,
            partial_hour: PartialHour::Lifetime,
        };
        let dec_ = project(&inputs(Month { year: 2026, month: 12 }, utc(12, 15, 0, 0)));
        assert_eq!(comp(&dec_, Component::Alb).projected_usd, dec!(0));
        let nov = project(&inputs(Month { year: 2026, month: 11 }, utc(12, 15, 0, 0)));
        assert_eq!(comp(&nov, Component::Alb).actual_usd, dec!(0.0225), "1 h × 0.0225");
        // Per clock hour (the default) the same 50 minutes touch 23:00 in November and
        // 00:00 in December: 1 h in each, 0.0225 each, never the same hour twice.
        let clock = |month| ProjectionInputs {
            partial_hour: PartialHour::ClockHour,
            ..inputs(month, utc(12, 15, 0, 0))
        };
        let nov = project(&clock(Month { year: 2026, month: 11 }));
        let dec_ = project(&clock(Month { year: 2026, month: 12 }));
        assert_eq!(comp(&nov, Component::Alb).actual_usd, dec!(0.0225));
        assert_eq!(comp(&dec_, Component::Alb).actual_usd, dec!(0.0225));
        assert_eq!(dec_.partial_hour, PartialHour::ClockHour);
    }

    #[test]
    fn monitoring_and_totals_by_scope() {
        // us-east-1, November (720 h), at the very start: everything scheduled.
        // 6 metrics × 0.30 = 1.80; 3 alarms × 0.10 = 0.30; 45,000 requests = 45 × 0.01 = 0.45 → 2.55.
        let p = prices("us-east-1");
        let m = MonitoringSpec {
            custom_metrics: dec!(6),
            alarms: dec!(3),
            api_requests_per_month: dec!(45000),
            get_metric_data_metrics_per_month: dec!(0),
            free_tier: false,
        };
        let r = project(&ProjectionInputs {
            month: Month { year: 2026, month: 11 },
            timezone: chrono_tz::UTC,
            at: utc(11, 1, 0, 0),
            prices: &p,
            network: None,
            alb: &alb(TrafficProfile::default()),
            lifetimes: &[],
            monitoring: Some(&m),
            partial_hour: PartialHour::Lifetime,
        });
        assert_eq!(r.totals(Some(Component::Monitoring)), (dec!(0), dec!(2.55)));
        assert_eq!(r.totals(None), (dec!(0), dec!(2.55)));
        assert_eq!((r.month_to_date_usd, r.projected_usd), (dec!(0), dec!(2.55)));
    }
}
