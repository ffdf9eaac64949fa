//! Load balancer cost: hours, capacity units (LCU/NLCU) and public IPv4.
//!
//! ALB LCU per hour = max of four dimensions (ELB pricing page):
//! new connections 25/s; active connections 3,000/min; processed bytes
//! 1 GB/h (instance/IP targets) or 0.4 GB/h (Lambda targets); rule evaluations
//! 1,000/s, where each request's first 10 processed rules are free.
//! NLB NLCU (TCP) = max of 800 new connections/s, 100,000 active, 1 GB/h.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::Serialize;

use super::LineItem;
use crate::cost::billing::{LifetimeTotals, PartialHour};
use crate::pricing::PriceTable;

/// ALB or NLB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LbKind {
    /// Application Load Balancer.
    Application,
    /// Network Load Balancer (TCP).
    Network,
}

/// Internet-facing load balancers hold public IPv4 addresses; internal ones do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// Public; one public IPv4 address per AZ at least.
    InternetFacing,
    /// Private addresses only.
    Internal,
}

/// What the load balancer forwards to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetType {
    /// IP addresses (EKS pods, as in the seed setup).
    Ip,
    /// EC2 instances.
    Instance,
    /// Lambda functions (ALB only; 0.4 GB/h per LCU).
    Lambda,
}

/// Traffic while the load balancer runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrafficProfile {
    /// New connections per second.
    pub new_connections_per_second: Decimal,
    /// How long a connection stays open, in seconds (gives active connections).
    pub connection_duration_seconds: Decimal,
    /// HTTP requests per second (ALB rule evaluations).
    pub requests_per_second: Decimal,
    /// GB processed per hour, both directions.
    pub processed_gb_per_hour: Decimal,
    /// Listener rules evaluated per request (the first 10 are free).
    pub rules_evaluated_per_request: Decimal,
}

/// A load balancer to price.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancerSpec {
    /// ALB or NLB.
    pub kind: LbKind,
    /// Internet-facing or internal.
    pub scheme: Scheme,
    /// Availability zones it is enabled in.
    pub azs: u32,
    /// Target type.
    pub target_type: TargetType,
    /// Traffic while running.
    pub traffic: TrafficProfile,
    /// A Route 53 hosted zone keeps a stable name pointed at it (`[alb.dns]`;
    /// a scenario's `stable_name = true`): the zone's month is billed, alias queries are free.
    pub hosted_zone: bool,
}

/// Capacity units per hour, by dimension; the bill uses the largest.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CapacityUnits {
    /// From new connections per second.
    pub new_connections: Decimal,
    /// From active connections.
    pub active_connections: Decimal,
    /// From processed bytes.
    pub processed_bytes: Decimal,
    /// From rule evaluations (ALB only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_evaluations: Option<Decimal>,
    /// The billed figure: max of the above.
    pub per_hour: Decimal,
    /// Which dimension is the max.
    pub dominant: &'static str,
}

/// Capacity units per hour for a traffic profile.
pub fn capacity_units(spec: &LoadBalancerSpec) -> CapacityUnits {
    let t = &spec.traffic;
    let active = t.new_connections_per_second * t.connection_duration_seconds;
    let (new_c, active_c, bytes, rules) = match spec.kind {
        LbKind::Application => {
            let gb_per_lcu = if spec.target_type == TargetType::Lambda {
                dec!(0.4)
            } else {
                dec!(1)
            };
            let paid_rules = (t.rules_evaluated_per_request - dec!(10)).max(Decimal::ZERO);
            (
                t.new_connections_per_second / dec!(25),
                active / dec!(3000),
                t.processed_gb_per_hour / gb_per_lcu,
                Some(t.requests_per_second * paid_rules / dec!(1000)),
            )
        }
        LbKind::Network => (
            t.new_connections_per_second / dec!(800),
            active / dec!(100000),
            t.processed_gb_per_hour,
            None,
        ),
    };
    let mut dims = vec![
        ("new connections", new_c),
        ("active connections", active_c),
        ("processed bytes", bytes),
    ];
    if let Some(r) = rules {
        dims.push(("rule evaluations", r));
    }
    let (dominant, per_hour) =
        dims.into_iter().fold(
            ("new connections", Decimal::ZERO),
            |best, d| if d.1 > best.1 { d } else { best },
        );
    CapacityUnits {
        new_connections: new_c.normalize(),
        active_connections: active_c.normalize(),
        processed_bytes: bytes.normalize(),
        rule_evaluations: rules.map(|r| r.normalize()),
        per_hour: per_hour.normalize(),
        dominant,
    }
}

/// Time on the bill for a load balancer over one period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// Lifetimes counted.
    pub lifetimes: Decimal,
    /// Billed hours (partial hours as full, under `partial_hour`).
    pub billed_hours: Decimal,
    /// Hours actually running.
    pub running_hours: Decimal,
    /// Billed IPv4 hours for one address (per second, 60 s minimum).
    pub ipv4_hours_per_address: Decimal,
    /// How the partial hours were counted.
    pub partial_hour: PartialHour,
}

impl Usage {
    /// Running for the whole of `hours`, as one lifetime.
    pub fn always_on(hours: Decimal) -> Self {
        Usage {
            lifetimes: Decimal::ONE,
            billed_hours: hours,
            running_hours: hours,
            ipv4_hours_per_address: hours,
            partial_hour: PartialHour::default(),
        }
    }

    /// From lifetime totals, multiplied by `num / den` (1/1 for a real period;
    /// month hours / period hours when a longer period is averaged down to one
    /// month). Multiplying before dividing keeps whole results exact.
    pub fn from_lifetimes(t: &LifetimeTotals, num: Decimal, den: Decimal, partial_hour: PartialHour) -> Self {
        let scale = |x: Decimal| (x * num / den).normalize();
        Usage {
            lifetimes: scale(Decimal::from(t.lifetimes)),
            billed_hours: scale(Decimal::from(t.billed_hours)),
            running_hours: scale(t.running_hours()),
            ipv4_hours_per_address: scale(t.ipv4_hours_per_address()),
            partial_hour,
        }
    }
}

/// A priced load balancer over one period.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LoadBalancerCost {
    /// Billed load balancer hours.
    pub billed_hours: Decimal,
    /// Hours running.
    pub running_hours: Decimal,
    /// Sum of the line items.
    pub monthly_usd: Decimal,
    /// Hours, capacity units and IPv4.
    pub line_items: Vec<LineItem>,
}

/// The stable name's Route 53 charges for `zone_months` hosted zone-months:
/// the zone (billed whole per month) and its alias queries to the load
/// balancer (free: a zero item with its source, so the table says so). None
/// when the table has no Route 53 rates (refused earlier where a name is configured).
pub fn hosted_zone_items(prices: &PriceTable, zone_months: Decimal) -> Vec<LineItem> {
    let Some(r) = &prices.route53 else {
        return Vec::new();
    };
    vec![
        LineItem::priced(
            "Route 53 hosted zone for the stable name (a month is billed whole, not prorated)",
            zone_months,
            &r.hosted_zone_month,
        ),
        LineItem::priced(
            "Route 53 alias queries to the load balancer (free)",
            Decimal::ZERO,
            &r.alias_query_million,
        ),
    ]
}

/// Prices `usage` of the load balancer `spec`.
pub fn price(spec: &LoadBalancerSpec, prices: &PriceTable, usage: &Usage) -> LoadBalancerCost {
    let cu = capacity_units(spec);
    let (name, hour, cu_rate, cu_name) = match spec.kind {
        LbKind::Application => ("ALB", &prices.alb.hour, &prices.alb.lcu_hour, "LCU"),
        LbKind::Network => ("NLB", &prices.nlb.hour, &prices.nlb.nlcu_hour, "NLCU"),
    };
    let mut items = vec![
        LineItem::priced(
            format!("{name} hours ({})", usage.partial_hour.describe()),
            usage.billed_hours,
            hour,
        ),
        // "per LCU-hour (or partial hour)": capacity units are billed for the same
        // hours as the load balancer, at the rate they run at.
        LineItem::priced(
            format!(
                "{cu_name}s: {}/h ({}) × {} billed hours",
                cu.per_hour.round_dp(4).normalize(),
                cu.dominant,
                usage.billed_hours.round_dp(2).normalize()
            ),
            cu.per_hour * usage.billed_hours,
            cu_rate,
        ),
    ];
    if spec.scheme == Scheme::InternetFacing {
        items.push(LineItem::priced(
            format!(
                "Public IPv4: {} addresses (one per AZ, at least), per second, 60 s minimum",
                spec.azs
            ),
            Decimal::from(spec.azs) * usage.ipv4_hours_per_address,
            &prices.public_ipv4.address_hour,
        ));
    }
    if spec.hosted_zone {
        items.extend(hosted_zone_items(prices, Decimal::ONE));
    }
    LoadBalancerCost {
        billed_hours: usage.billed_hours,
        running_hours: usage.running_hours,
        monthly_usd: super::total(&items),
        line_items: items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::load::PriceBook;

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

    #[test]
    fn alb_lcu_is_the_max_of_four_dimensions() {
        // 10 new/s → 10/25 = 0.4; active 10 × 120 s = 1,200 → 1,200/3,000 = 0.4;
        // 0.5 GB/h → 0.5; 100 req/s × (15 − 10 free) rules = 500/s → 0.5 … tie with bytes at 0.5,
        // so make rules 16: 100 × 6 = 600/s → 0.6 LCU, the max.
        let cu = capacity_units(&alb(TrafficProfile {
            new_connections_per_second: dec!(10),
            connection_duration_seconds: dec!(120),
            requests_per_second: dec!(100),
            processed_gb_per_hour: dec!(0.5),
            rules_evaluated_per_request: dec!(16),
        }));
        assert_eq!(cu.new_connections, dec!(0.4));
        assert_eq!(cu.active_connections, dec!(0.4));
        assert_eq!(cu.processed_bytes, dec!(0.5));
        assert_eq!(cu.rule_evaluations, Some(dec!(0.6)));
        assert_eq!((cu.per_hour, cu.dominant), (dec!(0.6), "rule evaluations"));
    }

    #[test]
    fn the_first_ten_rules_are_free() {
        // 1,000 req/s × 10 rules: all free → 0 LCU from rules.
        let mut t = TrafficProfile {
            requests_per_second: dec!(1000),
            rules_evaluated_per_request: dec!(10),
            ..Default::default()
        };
        assert_eq!(capacity_units(&alb(t.clone())).rule_evaluations, Some(dec!(0)));
        // 60 rules (ELB pricing Example 1): (60 − 10) × 1,000 req/s = 50,000/s → 50 LCU.
        t.rules_evaluated_per_request = dec!(60);
        assert_eq!(capacity_units(&alb(t)).per_hour, dec!(50));
    }

    #[test]
    fn lambda_targets_get_0_4_gb_per_lcu() {
        // 1 GB/h to Lambda: 1 / 0.4 = 2.5 LCU; to IP targets: 1 LCU.
        let t = TrafficProfile {
            processed_gb_per_hour: dec!(1),
            ..Default::default()
        };
        let mut spec = alb(t);
        assert_eq!(capacity_units(&spec).per_hour, dec!(1));
        spec.target_type = TargetType::Lambda;
        assert_eq!(capacity_units(&spec).per_hour, dec!(2.5));
    }

    #[test]
    fn nlb_nlcu_dimensions() {
        // 1,600 new/s → 1,600/800 = 2; active 1,600 × 50 s = 80,000 → 0.8; 1.5 GB/h → 1.5. Max 2.
        let spec = LoadBalancerSpec {
            kind: LbKind::Network,
            scheme: Scheme::Internal,
            azs: 2,
            target_type: TargetType::Ip,
            traffic: TrafficProfile {
                new_connections_per_second: dec!(1600),
                connection_duration_seconds: dec!(50),
                processed_gb_per_hour: dec!(1.5),
                ..Default::default()
            },
            hosted_zone: false,
        };
        let cu = capacity_units(&spec);
        assert_eq!(
            (cu.new_connections, cu.active_connections, cu.processed_bytes),
            (dec!(2), dec!(0.8), dec!(1.5))
        );
        assert_eq!(
            (cu.per_hour, cu.dominant, cu.rule_evaluations),
            (dec!(2), "new connections", None)
        );
    }

    #[test]
    fn always_on_alb_in_singapore() {
        // ap-southeast-1: ALB $0.0252/h, LCU $0.008/LCU-h, IPv4 $0.005/address-h; 730 h.
        // LCU: 0.1 GB/h → 0.1 LCU (dominant). Hours 730 × 0.0252 = 18.396;
        // LCU-h 0.1 × 730 = 73 × 0.008 = 0.584; IPv4 2 × 730 = 1,460 × 0.005 = 7.30.
        // Total 18.396 + 0.584 + 7.30 = 26.28.
        let book = PriceBook::embedded().unwrap();
        let prices = book.get("ap-southeast-1").unwrap();
        let spec = alb(TrafficProfile {
            processed_gb_per_hour: dec!(0.1),
            ..Default::default()
        });
        let c = price(&spec, prices, &Usage::always_on(dec!(730)));
        let costs: Vec<Decimal> = c.line_items.iter().map(|i| i.cost_usd).collect();
        assert_eq!(costs, [dec!(18.396), dec!(0.584), dec!(7.300)]);
        assert_eq!(c.monthly_usd, dec!(26.28));
    }

    #[test]
    fn a_stable_name_adds_its_hosted_zone_and_free_alias_queries() {
        // The always-on ALB above plus a hosted zone: $0.50 per zone-month
        // (route53.hosted_zone_month), alias queries $0: 26.28 + 0.50 = 26.78.
        let book = PriceBook::embedded().unwrap();
        let spec = LoadBalancerSpec {
            hosted_zone: true,
            ..alb(TrafficProfile {
                processed_gb_per_hour: dec!(0.1),
                ..Default::default()
            })
        };
        let c = price(&spec, book.get("ap-southeast-1").unwrap(), &Usage::always_on(dec!(730)));
        let costs: Vec<Decimal> = c.line_items.iter().map(|i| i.cost_usd).collect();
        assert_eq!(costs, [dec!(18.396), dec!(0.584), dec!(7.300), dec!(0.5), dec!(0)]);
        assert_eq!(c.monthly_usd, dec!(26.78));
        assert!(c.line_items[4].item.contains("free"));
    }

    #[test]
    fn internal_load_balancers_have_no_public_ipv4() {
        let book = PriceBook::embedded().unwrap();
        let mut spec = alb(TrafficProfile::default());
        spec.scheme = Scheme::Internal;
        let c = price(&spec, book.get("us-east-1").unwrap(), &Usage::always_on(dec!(730)));
        // 730 × 0.0225 = 16.425; no LCUs; no IPv4.
        assert_eq!(c.line_items.len(), 2);
        assert_eq!(c.monthly_usd, dec!(16.425));
    }
}
