//! Getting private subnets to AWS services and the internet: NAT Gateway vs
//! VPC endpoints, priced per option with line items, break-even points per
//! interface-endpoint service, and a recommendation.
//!
//! Traffic is given per destination in GB/month, as processed (both
//! directions). Assumptions, stated so they can be checked:
//! - traffic is spread evenly over the AZs;
//! - with one NAT, the traffic of the other `N−1` AZs crosses AZs once and is
//!   billed on both sides (cross-AZ is charged in each direction);
//! - internet egress is billed on `internet_egress_gb` (defaults to all
//!   internet traffic, an upper bound: data in is free), with the account's
//!   100 GB/month free tier applied.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use super::{LineItem, total};
use crate::money::format_usd;
use crate::pricing::{PriceTable, TieredRate, Unit};

/// The scenario key for AWS addresses in the region no service could be
/// named for (AMAZON or EC2 ranges; `costd traffic` names them with
/// `--dns-log`/`--endpoint`). Only a NAT Gateway carries this traffic.
pub const UNNAMED_AWS: &str = "aws_unnamed";

/// Monthly traffic of a VPC by destination.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NetworkSpec {
    /// Availability zones with private subnets.
    pub azs: u32,
    /// GB/month to S3 (gateway endpoint possible).
    pub s3_gb: Decimal,
    /// GB/month to DynamoDB (gateway endpoint possible).
    pub dynamodb_gb: Decimal,
    /// GB/month per interface-endpoint service, e.g. `ecr.dkr`.
    pub services_gb: BTreeMap<String, Decimal>,
    /// GB/month to and from the internet.
    pub internet_gb: Decimal,
    /// GB/month leaving to the internet (billed egress); at most `internet_gb`.
    pub internet_egress_gb: Decimal,
    /// GB/month to AWS services in the region that no one has named (the
    /// published ranges share them: AMAZON, EC2). A NAT carries them; an
    /// endpoint can only once it is known which service they are.
    pub unnamed_aws_gb: Decimal,
    /// GB/month between the VPC's own AZs, the same under every option
    /// (billed on both sides).
    pub cross_az_gb: Decimal,
    /// Where the volumes were measured, if they were.
    pub measured: Option<Measured>,
}

/// Volumes measured from the VPC's own traffic (`costd traffic`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, utoipa::ToSchema)]
pub struct Measured {
    /// What they were measured from, e.g. "VPC Flow Logs: 24 files".
    pub source: String,
    /// The period the records cover, as written (RFC 3339).
    pub from: String,
    /// …to.
    pub to: String,
    /// Which volumes are measured: traffic keys, `internet_egress`, `cross_az`.
    pub keys: std::collections::BTreeSet<String>,
}

impl NetworkSpec {
    fn services_total_gb(&self) -> Decimal {
        self.services_gb.values().copied().sum()
    }

    fn total_gb(&self) -> Decimal {
        self.s3_gb + self.dynamodb_gb + self.services_total_gb() + self.internet_gb + self.unnamed_aws_gb
    }

    /// Whether a volume (a traffic key, `internet_egress` or `cross_az`) was measured.
    pub fn is_measured(&self, key: &str) -> bool {
        self.measured.as_ref().is_some_and(|m| m.keys.contains(key))
    }
}

/// The four ways to connect private subnets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OptionName {
    /// Gateway endpoints + one interface endpoint per service per AZ; no internet.
    EndpointsOnly,
    /// NAT per AZ for the internet, endpoints where they are cheaper.
    Hybrid,
    /// One NAT Gateway per AZ for everything.
    NatPerAz,
    /// One NAT Gateway for all AZs.
    NatSingle,
}

impl OptionName {
    /// The name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            OptionName::EndpointsOnly => "endpoints_only",
            OptionName::Hybrid => "hybrid",
            OptionName::NatPerAz => "nat_per_az",
            OptionName::NatSingle => "nat_single",
        }
    }
}

/// One priced option.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EgressOption {
    /// Which option.
    pub name: OptionName,
    /// False when the option cannot carry the workload's traffic.
    pub feasible: bool,
    /// Why it is infeasible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub infeasible_reason: Option<String>,
    /// What the option is, in one sentence.
    pub summary: String,
    /// Sum of the line items.
    pub monthly_usd: Decimal,
    /// What is paid for.
    pub line_items: Vec<LineItem>,
}

/// Where an interface endpoint starts paying for itself.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BreakEven {
    /// The service, e.g. `ecr.dkr`.
    pub service: String,
    /// GB/month above which the endpoint (all AZs) is cheaper than NAT
    /// processing; `None` when NAT processing is never dearer per GB.
    pub gb_per_month: Option<Decimal>,
    /// The scenario's traffic to this service.
    pub traffic_gb_per_month: Decimal,
    /// Whether, at that traffic, the endpoint is cheaper than NAT processing.
    pub endpoint_cheaper: bool,
    /// Whether the traffic was measured (`costd traffic`) rather than estimated.
    pub measured: bool,
}

/// The priced options, break-even points and the recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NetworkModel {
    /// Every option, cheapest feasible first.
    pub options: Vec<EgressOption>,
    /// Per interface-endpoint service.
    pub break_even: Vec<BreakEven>,
    /// The cheapest feasible option and why.
    pub recommendation: String,
    /// Where the traffic was measured, when it was; absent: estimates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured: Option<Measured>,
}

struct Pricer<'a> {
    spec: &'a NetworkSpec,
    prices: &'a PriceTable,
    hours: Decimal,
}

impl Pricer<'_> {
    fn azs(&self) -> Decimal {
        Decimal::from(self.spec.azs)
    }

    /// NAT hours and each NAT's Elastic IP.
    fn nat_fixed(&self, nats: u32) -> Vec<LineItem> {
        let n = Decimal::from(nats);
        vec![
            LineItem::priced(
                format!("NAT Gateway hours: {nats} × {} h", self.hours),
                n * self.hours,
                &self.prices.nat_gateway.hour,
            ),
            LineItem::priced(
                format!("NAT Elastic IP (public IPv4): {nats} × {} h", self.hours),
                n * self.hours,
                &self.prices.public_ipv4.address_hour,
            ),
        ]
    }

    fn nat_processing(&self, what: &str, gb: Decimal) -> LineItem {
        LineItem::priced(
            format!("NAT data processing: {what}"),
            gb,
            &self.prices.nat_gateway.processed_gb,
        )
    }

    fn egress(&self) -> Vec<LineItem> {
        tier_items(
            "Internet egress",
            &self.prices.data_transfer.internet_egress_gb,
            self.spec.internet_egress_gb,
        )
    }

    /// The VPC's own cross-AZ traffic: the same under every option.
    fn cross_az(&self) -> Vec<LineItem> {
        if self.spec.cross_az_gb.is_zero() {
            return Vec::new();
        }
        vec![LineItem::priced(
            format!(
                "Cross-AZ within the VPC ({}): {} GB, billed on both sides",
                if self.spec.is_measured("cross_az") {
                    "measured"
                } else {
                    "estimate"
                },
                self.spec.cross_az_gb.normalize()
            ),
            self.spec.cross_az_gb * Decimal::TWO,
            &self.prices.data_transfer.cross_az_gb,
        )]
    }

    fn gateway_endpoints(&self) -> Vec<LineItem> {
        let why = "gateway endpoints (S3, DynamoDB) have no hourly or data charge (VPC user guide)";
        let mut items = Vec::new();
        for (name, gb) in [("S3", self.spec.s3_gb), ("DynamoDB", self.spec.dynamodb_gb)] {
            if gb > Decimal::ZERO {
                items.push(LineItem::free(format!("{name} gateway endpoint"), gb, Unit::Gb, why));
            }
        }
        items
    }

    /// One interface endpoint per service per AZ, plus tiered processing on their total.
    fn interface_endpoints<'s>(&self, services: impl Iterator<Item = (&'s String, &'s Decimal)>) -> Vec<LineItem> {
        let mut items = Vec::new();
        let mut gb_total = Decimal::ZERO;
        for (service, gb) in services {
            items.push(LineItem::priced(
                format!("Interface endpoint {service}: {} AZs × {} h", self.spec.azs, self.hours),
                self.azs() * self.hours,
                &self.prices.interface_endpoint.az_hour,
            ));
            gb_total += *gb;
        }
        items.extend(tier_items(
            "Interface endpoint data processing",
            &self.prices.interface_endpoint.processed_gb,
            gb_total,
        ));
        items
    }

    fn endpoint_fixed_usd(&self) -> Decimal {
        self.azs() * self.hours * self.prices.interface_endpoint.az_hour.usd
    }

    fn break_even(&self) -> Vec<BreakEven> {
        let ep_rate = self
            .prices
            .interface_endpoint
            .processed_gb
            .marginal(self.spec.services_total_gb())
            .usd;
        let saving_per_gb = self.prices.nat_gateway.processed_gb.usd - ep_rate;
        let gb = (saving_per_gb > Decimal::ZERO).then(|| self.endpoint_fixed_usd() / saving_per_gb);
        self.spec
            .services_gb
            .iter()
            .map(|(service, traffic)| BreakEven {
                service: service.clone(),
                gb_per_month: gb,
                traffic_gb_per_month: *traffic,
                endpoint_cheaper: gb.is_some_and(|g| *traffic > g),
                measured: self.spec.is_measured(service),
            })
            .collect()
    }

    fn nat_per_az(&self) -> EgressOption {
        let mut items = self.nat_fixed(self.spec.azs);
        items.push(self.nat_processing("all traffic, S3/DynamoDB included", self.spec.total_gb()));
        items.extend(self.egress());
        items.extend(self.cross_az());
        option(
            OptionName::NatPerAz,
            format!(
                "One NAT Gateway in each of the {} AZs processes all {} GB/month.",
                self.spec.azs,
                self.spec.total_gb().normalize()
            ),
            items,
        )
    }

    fn nat_single(&self) -> EgressOption {
        let mut items = self.nat_fixed(1);
        let all = self.spec.total_gb();
        items.push(self.nat_processing("all traffic, S3/DynamoDB included", all));
        if self.spec.azs > 1 {
            let crossing = all * Decimal::from(self.spec.azs - 1) / self.azs();
            items.push(LineItem::priced(
                format!(
                    "Cross-AZ to the one NAT: {}/{} of the traffic, billed on both sides",
                    self.spec.azs - 1,
                    self.spec.azs
                ),
                crossing * Decimal::TWO,
                &self.prices.data_transfer.cross_az_gb,
            ));
        }
        items.extend(self.egress());
        items.extend(self.cross_az());
        option(
            OptionName::NatSingle,
            format!(
                "One NAT Gateway for all {} AZs: the other AZs pay cross-AZ both ways and lose the internet if its AZ fails.",
                self.spec.azs
            ),
            items,
        )
    }

    fn endpoints_only(&self) -> EgressOption {
        let mut items = self.gateway_endpoints();
        items.extend(self.interface_endpoints(self.spec.services_gb.iter()));
        items.extend(self.cross_az());
        let mut o = option(
            OptionName::EndpointsOnly,
            format!(
                "Gateway endpoints for S3/DynamoDB and {} interface endpoints in each of {} AZs; no route to the internet.",
                self.spec.services_gb.len(),
                self.spec.azs
            ),
            items,
        );
        if self.spec.internet_gb > Decimal::ZERO {
            o.feasible = false;
            o.infeasible_reason = Some(format!(
                "the workload has {} GB/month of internet traffic and this option has no route to the internet",
                self.spec.internet_gb.normalize()
            ));
        } else if self.spec.unnamed_aws_gb > Decimal::ZERO {
            o.feasible = false;
            o.infeasible_reason = Some(format!(
                "{} GB/month go to AWS services not yet named (aws_unnamed), so it is not known which endpoints they need; name them with `costd traffic --dns-log`",
                self.spec.unnamed_aws_gb.normalize()
            ));
        }
        o
    }

    /// NAT per AZ for what must go through it; endpoints for services above break-even.
    fn hybrid(&self, break_even: &[BreakEven], endpoints_only: &EgressOption) -> EgressOption {
        let (via_endpoint, via_nat): (Vec<_>, Vec<_>) = self
            .spec
            .services_gb
            .iter()
            .partition(|(s, _)| break_even.iter().any(|b| &b.service == *s && b.endpoint_cheaper));
        let mut items = self.nat_fixed(self.spec.azs);
        let nat_gb =
            self.spec.internet_gb + self.spec.unnamed_aws_gb + via_nat.iter().map(|(_, gb)| **gb).sum::<Decimal>();
        items.push(self.nat_processing("internet traffic and services without an endpoint", nat_gb));
        items.extend(self.gateway_endpoints());
        items.extend(self.interface_endpoints(via_endpoint.iter().copied()));
        items.extend(self.egress());
        items.extend(self.cross_az());
        let names: Vec<&str> = via_endpoint.iter().map(|(s, _)| s.as_str()).collect();
        let with_nat = option(
            OptionName::Hybrid,
            format!(
                "NAT per AZ for the internet{}, gateway endpoints for S3/DynamoDB, interface endpoints only above break-even ({}).",
                if via_nat.is_empty() {
                    ""
                } else {
                    " and low-volume services"
                },
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ),
            items,
        );
        // With no internet traffic a NAT is only worth it if it beats endpoints for everything.
        if self.spec.internet_gb.is_zero()
            && endpoints_only.feasible
            && endpoints_only.monthly_usd <= with_nat.monthly_usd
        {
            return EgressOption {
                name: OptionName::Hybrid,
                summary: "No internet traffic, so no NAT: the same as endpoints_only, which costs less than a NAT for the low-volume services."
                    .into(),
                ..endpoints_only.clone()
            };
        }
        with_nat
    }
}

fn option(name: OptionName, summary: String, line_items: Vec<LineItem>) -> EgressOption {
    EgressOption {
        name,
        feasible: true,
        infeasible_reason: None,
        summary,
        monthly_usd: total(&line_items),
        line_items,
    }
}

/// One line item per tier that `gb` reaches.
pub fn tier_items(what: &str, rate: &TieredRate, gb: Decimal) -> Vec<LineItem> {
    let last = rate.tiers.len() - 1;
    rate.split(gb)
        .into_iter()
        .enumerate()
        .map(|(i, u)| {
            let range = match u.tier.up_to_gb {
                Some(up) if i == 0 => format!("first {} GB", up.normalize()),
                Some(up) => format!("{}–{} GB", u.from_gb.normalize(), up.normalize()),
                None if i == last && i > 0 => format!("over {} GB", u.from_gb.normalize()),
                None => "all GB".to_string(),
            };
            LineItem::priced(format!("{what} ({range})"), u.gb, &u.tier.rate)
        })
        .collect()
}

/// Prices every option for `spec` over a month of `hours_per_month`.
pub fn model(spec: &NetworkSpec, prices: &PriceTable, hours_per_month: Decimal) -> NetworkModel {
    let p = Pricer {
        spec,
        prices,
        hours: hours_per_month,
    };
    let break_even = p.break_even();
    let endpoints_only = p.endpoints_only();
    let hybrid = p.hybrid(&break_even, &endpoints_only);
    let mut options = vec![endpoints_only, hybrid, p.nat_per_az(), p.nat_single()];
    // Cheapest feasible first; on a tie keep the order above (fewer moving parts first).
    options.sort_by(|a, b| b.feasible.cmp(&a.feasible).then(a.monthly_usd.cmp(&b.monthly_usd)));
    let recommendation = recommend(&options);
    NetworkModel {
        options,
        break_even,
        recommendation,
        measured: spec.measured.clone(),
    }
}

/// Every option's monthly cost as a VPC's whole traffic grows or shrinks
/// with its mix kept: what the dashboard draws.
#[derive(Debug, Clone, PartialEq)]
pub struct CostCurve {
    /// Today's traffic, GB/month.
    pub total_gb: Decimal,
    /// The last level: at least twice today's traffic, further to show the
    /// break-even points within five times it.
    pub to_gb: Decimal,
    /// Evenly spaced levels from 0 to `to_gb`.
    pub levels: Vec<CurveLevel>,
    /// Where each service's interface endpoint pays for itself, as total
    /// traffic (its own break-even over its share of today's traffic).
    pub break_even_total_gb: Vec<(String, Decimal)>,
}

/// The options at one level of traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveLevel {
    /// Total traffic, GB/month.
    pub gb_per_month: Decimal,
    /// Each option's monthly cost; `None` where it cannot carry the traffic.
    pub options: Vec<(OptionName, Option<Decimal>)>,
}

/// The most levels a curve has.
pub const MAX_CURVE_STEPS: u32 = 200;

/// Prices `spec` scaled from 0 to a round top in `steps` (at most
/// [`MAX_CURVE_STEPS`]) even steps; `round_up` picks the top from the
/// furthest point to show.
pub fn cost_curve(
    spec: &NetworkSpec,
    prices: &PriceTable,
    hours_per_month: Decimal,
    steps: u32,
    round_up: impl Fn(Decimal) -> Decimal,
) -> CostCurve {
    let steps = steps.clamp(1, MAX_CURVE_STEPS);
    let total = spec.total_gb();
    let today = model(spec, prices, hours_per_month);
    let break_even_total_gb: Vec<(String, Decimal)> = today
        .break_even
        .iter()
        .filter_map(|b| {
            let g = b.gb_per_month?;
            (!b.traffic_gb_per_month.is_zero() && !total.is_zero())
                .then(|| (b.service.clone(), g * total / b.traffic_gb_per_month))
        })
        .collect();
    let far = break_even_total_gb
        .iter()
        .map(|(_, g)| *g)
        .filter(|g| *g <= total * Decimal::from(5))
        .max()
        .unwrap_or(Decimal::ZERO);
    let to_gb = round_up((total * Decimal::TWO).max(far * Decimal::new(11, 1)).max(Decimal::TEN));
    let scaled = |gb: Decimal| -> NetworkSpec {
        let k = if total.is_zero() { Decimal::ZERO } else { gb / total };
        NetworkSpec {
            azs: spec.azs,
            s3_gb: spec.s3_gb * k,
            dynamodb_gb: spec.dynamodb_gb * k,
            services_gb: spec.services_gb.iter().map(|(s, g)| (s.clone(), *g * k)).collect(),
            internet_gb: spec.internet_gb * k,
            internet_egress_gb: spec.internet_egress_gb * k,
            unnamed_aws_gb: spec.unnamed_aws_gb * k,
            cross_az_gb: spec.cross_az_gb,
            measured: None,
        }
    };
    let levels = (0..=steps)
        .map(|i| {
            let gb = to_gb * Decimal::from(i) / Decimal::from(steps);
            let m = model(&scaled(gb), prices, hours_per_month);
            let options = [
                OptionName::EndpointsOnly,
                OptionName::Hybrid,
                OptionName::NatPerAz,
                OptionName::NatSingle,
            ]
            .into_iter()
            .map(|o| {
                let cost = m
                    .options
                    .iter()
                    .find(|x| x.name == o && x.feasible)
                    .map(|x| x.monthly_usd);
                (o, cost)
            })
            .collect();
            CurveLevel {
                gb_per_month: gb,
                options,
            }
        })
        .collect();
    CostCurve {
        total_gb: total,
        to_gb,
        levels,
        break_even_total_gb,
    }
}

fn recommend(options: &[EgressOption]) -> String {
    let Some(best) = options.iter().find(|o| o.feasible) else {
        return "No option can carry this traffic.".into();
    };
    let mut s = format!(
        "`{}` is the cheapest feasible option at {}/month: {}",
        best.name.as_str(),
        format_usd(best.monthly_usd),
        best.summary
    );
    if let Some(next) = options
        .iter()
        .find(|o| o.feasible && o.name != best.name && o.monthly_usd > best.monthly_usd)
    {
        s.push_str(&format!(
            " It saves {}/month against `{}`.",
            format_usd(next.monthly_usd - best.monthly_usd),
            next.name.as_str()
        ));
    }
    for o in options.iter().filter(|o| !o.feasible) {
        if let Some(why) = &o.infeasible_reason {
            s.push_str(&format!(" `{}` is infeasible: {why}.", o.name.as_str()));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::load::PriceBook;
    use rust_decimal_macros::dec;

    fn prices(region: &str) -> PriceTable {
        PriceBook::embedded().unwrap().get(region).unwrap().clone()
    }

    /// The seed's production VPC: 2 AZs, S3 via gateway, ECR api/dkr + logs, no internet.
    fn seed() -> NetworkSpec {
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

    fn find(m: &NetworkModel, n: OptionName) -> &EgressOption {
        m.options.iter().find(|o| o.name == n).unwrap()
    }

    #[test]
    fn measured_cross_az_and_unnamed_aws_traffic_are_priced() {
        // us-east-1, the seed's VPC plus 100 GB/month between its AZs and
        // 40 GB/month to AWS addresses no service was named for.
        let spec = NetworkSpec {
            cross_az_gb: dec!(100),
            unnamed_aws_gb: dec!(40),
            ..seed()
        };
        let m = model(&spec, &prices("us-east-1"), dec!(730));
        // Cross-AZ is billed on both sides: 100 × 2 × 0.01 = 2.00, in every option.
        for o in &m.options {
            let item = o
                .line_items
                .iter()
                .find(|i| i.item.starts_with("Cross-AZ within the VPC (estimate): 100 GB"))
                .unwrap_or_else(|| panic!("{:?} has no cross-AZ item", o.name));
            assert_eq!((item.quantity, item.cost_usd), (dec!(200), dec!(2.00)));
        }
        // Endpoints alone cannot carry traffic to unnamed AWS addresses.
        let only = find(&m, OptionName::EndpointsOnly);
        assert!(!only.feasible);
        assert!(
            only.infeasible_reason
                .as_deref()
                .unwrap()
                .contains("40 GB/month go to AWS services not yet named")
        );
        // The hybrid's NAT carries it, with the services below break-even
        // (ecr.api 5 + ecr.dkr 200 + logs 50, each under 417 GB): 40 + 255 = 295 GB
        // × 0.045 = 13.275.
        let hybrid = find(&m, OptionName::Hybrid);
        let nat = hybrid
            .line_items
            .iter()
            .find(|i| i.item.starts_with("NAT data processing"))
            .unwrap();
        assert_eq!((nat.quantity, nat.cost_usd), (dec!(295), dec!(13.275)));
    }

    #[test]
    fn the_cost_curve_scales_the_mix_and_reaches_the_model_at_todays_traffic() {
        // us-east-1, the seed's VPC (755 GB): an interface endpoint in 2 AZs costs
        // 2 × 730 × 0.01 = 14.60 and saves 0.045 − 0.01 = 0.035/GB: 417.142857 GB of its own.
        // ecr.dkr (200 of 755) gets there at 417.142857 × 755 / 200 = 1,574.71 GB total;
        // logs (50) at 6,298.86 and ecr.api (5) at 62,988.6 are past five times 755.
        let p = prices("us-east-1");
        let c = cost_curve(&seed(), &p, dec!(730), 10, |v| v.round());
        assert_eq!(c.total_gb, dec!(755));
        // The top: max(2 × 755, 1,574.71 × 1.1 = 1,732.19) → 1,732 (the caller's rounding).
        assert_eq!(c.to_gb, dec!(1732));
        assert_eq!(c.levels.len(), 11);
        let be: Vec<(&str, Decimal)> = c
            .break_even_total_gb
            .iter()
            .map(|(s, g)| (s.as_str(), g.round_dp(2)))
            .collect();
        assert_eq!(be[1], ("ecr.dkr", dec!(1574.71)));
        // At zero traffic: endpoints_only is the endpoints' hours alone, 3 × 2 × 730 × 0.01 = 43.80;
        // nat_single one NAT's hours 730 × 0.045 = 32.85 + its IPv4 730 × 0.005 = 3.65 → 36.50.
        let zero = &c.levels[0];
        assert_eq!(zero.gb_per_month, dec!(0));
        assert_eq!(zero.options[0], (OptionName::EndpointsOnly, Some(dec!(43.80))));
        assert_eq!(zero.options[3], (OptionName::NatSingle, Some(dec!(36.50))));
        // Each level is the model of the traffic scaled with its mix: the top one by hand,
        // endpoints_only = 43.80 + 1,732 × 255 / 755 GB × 0.01 = 43.80 + 5.8498… = 49.6498….
        let top = c.levels.last().unwrap();
        assert_eq!(top.gb_per_month, dec!(1732));
        assert_eq!(top.options[0].1.unwrap().round_dp(4), dec!(49.6498));
        // Out-of-range step counts are clamped.
        assert_eq!(
            cost_curve(&seed(), &p, dec!(730), 10_000, |v| v).levels.len(),
            MAX_CURVE_STEPS as usize + 1
        );
    }

    #[test]
    fn seed_vpc_in_singapore() {
        // ap-southeast-1: NAT $0.059/h + $0.059/GB; endpoint $0.013/AZ-h + $0.01/GB; IPv4 $0.005/h;
        // cross-AZ $0.01/GB each way; 730 h. Traffic 500 + 5 + 200 + 50 = 755 GB.
        let m = model(&seed(), &prices("ap-southeast-1"), dec!(730));
        // endpoints_only: 3 services × 2 AZs × 730 h = 4,380 AZ-h × 0.013 = 56.94; 255 GB × 0.01 = 2.55 → 59.49.
        // (The seed says $21.6: it ignores the 2 AZs and uses us-east-1's $0.01.)
        assert_eq!(find(&m, OptionName::EndpointsOnly).monthly_usd, dec!(59.49));
        // nat_per_az: 2 × 730 × 0.059 = 86.14; 755 × 0.059 = 44.545; IPv4 1,460 × 0.005 = 7.30 → 137.985.
        assert_eq!(find(&m, OptionName::NatPerAz).monthly_usd, dec!(137.985));
        // nat_single: 730 × 0.059 = 43.07; 44.545; 730 × 0.005 = 3.65; cross-AZ 755 × ½ × 2 = 755 GB × 0.01 = 7.55 → 98.815.
        assert_eq!(find(&m, OptionName::NatSingle).monthly_usd, dec!(98.815));
        // hybrid: no internet; a NAT would cost 86.14 + 7.30 + 255 × 0.059 (15.045) = 108.485 > 59.49, so no NAT.
        assert_eq!(find(&m, OptionName::Hybrid).monthly_usd, dec!(59.49));
        assert_eq!(m.options[0].name, OptionName::EndpointsOnly);
        assert!(
            m.recommendation
                .starts_with("`endpoints_only` is the cheapest feasible option at $59.49/month"),
            "{}",
            m.recommendation
        );
        // Break-even: 2 × 730 × 0.013 = 18.98 / (0.059 − 0.01 = 0.049) = 387.3469… GB/month.
        let be = &m.break_even;
        assert_eq!(be.len(), 3);
        assert_eq!(be[1].service, "ecr.dkr");
        assert_eq!(be[1].gb_per_month.unwrap().round_dp(4), dec!(387.3469));
        assert!(!be[1].endpoint_cheaper);
    }

    /// An internet-heavy workload where NAT stays.
    fn internet_heavy() -> NetworkSpec {
        NetworkSpec {
            azs: 3,
            s3_gb: dec!(2000),
            services_gb: [("ecr.dkr", dec!(1000)), ("sts", dec!(1))]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            internet_gb: dec!(5000),
            internet_egress_gb: dec!(1000),
            ..Default::default()
        }
    }

    #[test]
    fn internet_heavy_workload_keeps_nat_and_endpoints_only_is_infeasible() {
        // us-east-1: NAT $0.045/h + $0.045/GB; endpoint $0.01/AZ-h + $0.01/GB; IPv4 $0.005; 730 h; 3 AZs.
        let m = model(&internet_heavy(), &prices("us-east-1"), dec!(730));
        let eo = find(&m, OptionName::EndpointsOnly);
        assert!(!eo.feasible);
        assert!(
            eo.infeasible_reason
                .as_ref()
                .unwrap()
                .contains("5000 GB/month of internet traffic")
        );
        // Break-even: 3 × 730 × 0.01 = 21.90 / (0.045 − 0.01) = 625.714… GB. ecr.dkr (1,000) is above, sts (1) below.
        assert!(
            m.break_even
                .iter()
                .find(|b| b.service == "ecr.dkr")
                .unwrap()
                .endpoint_cheaper
        );
        assert!(
            !m.break_even
                .iter()
                .find(|b| b.service == "sts")
                .unwrap()
                .endpoint_cheaper
        );
        // Egress 1,000 GB: first 100 free; 900 × 0.09 = 81.
        // hybrid: NAT 3 × 730 × 0.045 = 98.55; IPv4 2,190 × 0.005 = 10.95;
        //   NAT processing (5,000 internet + 1 sts) = 5,001 × 0.045 = 225.045; S3 gateway free;
        //   ecr.dkr endpoint 2,190 × 0.01 = 21.90 + 1,000 GB × 0.01 = 10; egress 81.
        //   Total 98.55 + 10.95 + 225.045 + 21.90 + 10 + 81 = 447.445.
        assert_eq!(find(&m, OptionName::Hybrid).monthly_usd, dec!(447.445));
        // nat_per_az: 98.55 + 10.95 + 8,001 × 0.045 (= 360.045) + 81 = 550.545.
        assert_eq!(find(&m, OptionName::NatPerAz).monthly_usd, dec!(550.545));
        // nat_single: 32.85 + 3.65 + 360.045 + cross-AZ 8,001 × ⅔ × 2 = 10,668 GB × 0.01 = 106.68 + 81 = 584.225.
        assert_eq!(find(&m, OptionName::NatSingle).monthly_usd, dec!(584.225));
        assert_eq!(m.options[0].name, OptionName::Hybrid);
        assert!(
            m.recommendation.contains("saves $103.10/month against `nat_per_az`"),
            "{}",
            m.recommendation
        );
        assert!(
            m.recommendation.contains("`endpoints_only` is infeasible"),
            "{}",
            m.recommendation
        );
    }

    #[test]
    fn egress_tiers_and_free_allowance() {
        // ap-southeast-1: 100 GB free, then $0.12 to 10,240 GB, $0.085 to 51,200 GB.
        // 20,000 GB: 0 + 10,140 × 0.12 (= 1,216.80) + 9,760 × 0.085 (= 829.60) = 2,046.40.
        let p = prices("ap-southeast-1");
        let items = tier_items("Internet egress", &p.data_transfer.internet_egress_gb, dec!(20000));
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].item, "Internet egress (first 100 GB)");
        assert_eq!(items[0].cost_usd, dec!(0));
        assert_eq!(items[1].item, "Internet egress (100–10240 GB)");
        assert_eq!(total(&items), dec!(2046.40));
    }

    #[test]
    fn privatelink_tiers_apply_to_the_sum_of_all_endpoints() {
        // Two services of 600,000 GB each = 1,200,000 GB over all endpoints (us-east-1, 1 AZ, 730 h):
        // hours 2 × 730 × 0.01 = 14.60; processing 1,048,576 × 0.01 = 10,485.76
        //   + 151,424 × 0.006 = 908.544 → 11,394.304. Total 11,408.904.
        // (Tiering each endpoint on its own would wrongly give 1,200,000 × 0.01 = 12,000.)
        let spec = NetworkSpec {
            azs: 1,
            services_gb: [("a", dec!(600000)), ("b", dec!(600000))]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            ..Default::default()
        };
        let m = model(&spec, &prices("us-east-1"), dec!(730));
        assert_eq!(find(&m, OptionName::EndpointsOnly).monthly_usd, dec!(11408.904));
    }

    #[test]
    fn no_break_even_when_nat_processing_is_not_dearer() {
        let mut p = prices("us-east-1");
        p.nat_gateway.processed_gb.usd = dec!(0.01);
        let m = model(&seed(), &p, dec!(730));
        assert!(
            m.break_even
                .iter()
                .all(|b| b.gb_per_month.is_none() && !b.endpoint_cheaper)
        );
    }
}
