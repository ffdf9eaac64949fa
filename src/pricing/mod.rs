//! Price tables: one TOML file per region (`pricing/<region>.toml`), parsed
//! into a [`PriceTable`] whose every rate carries its unit, the AWS usage type
//! it corresponds to, and where and when it was taken.
//!
//! Parsing is pure (text in, typed table out); reading files and the embedded
//! defaults live in [`load`].

pub mod load;
pub mod pricelist;
pub mod write;

use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::input::{Document, InputError, TableReader, Value};

/// The largest rate a price table may carry, in USD per unit (no AWS
/// networking rate is within a factor of 10,000 of it). Keeps every product
/// of rate × quantity inside `Decimal`'s range.
pub const MAX_RATE_USD: i64 = 1_000_000;

/// The unit a rate is priced in. Each key of a price table expects one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub enum Unit {
    /// One resource running for one hour (or part of one).
    #[serde(rename = "hour")]
    Hour,
    /// One interface endpoint in one AZ for one hour.
    #[serde(rename = "AZ-hour")]
    AzHour,
    /// One gigabyte.
    #[serde(rename = "GB")]
    Gb,
    /// One ALB Load Balancer Capacity Unit for one hour.
    #[serde(rename = "LCU-hour")]
    LcuHour,
    /// One NLB capacity unit for one hour.
    #[serde(rename = "NLCU-hour")]
    NlcuHour,
    /// One public IPv4 address for one hour.
    #[serde(rename = "address-hour")]
    AddressHour,
    /// One custom CloudWatch metric for one month.
    #[serde(rename = "metric-month")]
    MetricMonth,
    /// One standard-resolution CloudWatch alarm for one month.
    #[serde(rename = "alarm-month")]
    AlarmMonth,
    /// One thousand API requests.
    #[serde(rename = "1000 requests")]
    ThousandRequests,
    /// One thousand metrics requested (GetMetricData).
    #[serde(rename = "1000 metrics")]
    ThousandMetrics,
    /// One Route 53 hosted zone for one month (billed whole, not prorated).
    #[serde(rename = "hosted-zone-month")]
    HostedZoneMonth,
    /// One million DNS queries.
    #[serde(rename = "million queries")]
    MillionQueries,
}

impl Unit {
    const ALL: [Unit; 12] = [
        Unit::Hour,
        Unit::AzHour,
        Unit::Gb,
        Unit::LcuHour,
        Unit::NlcuHour,
        Unit::AddressHour,
        Unit::MetricMonth,
        Unit::AlarmMonth,
        Unit::ThousandRequests,
        Unit::ThousandMetrics,
        Unit::HostedZoneMonth,
        Unit::MillionQueries,
    ];

    /// The spelling used in price tables and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Hour => "hour",
            Unit::AzHour => "AZ-hour",
            Unit::Gb => "GB",
            Unit::LcuHour => "LCU-hour",
            Unit::NlcuHour => "NLCU-hour",
            Unit::AddressHour => "address-hour",
            Unit::MetricMonth => "metric-month",
            Unit::AlarmMonth => "alarm-month",
            Unit::ThousandRequests => "1000 requests",
            Unit::ThousandMetrics => "1000 metrics",
            Unit::HostedZoneMonth => "hosted-zone-month",
            Unit::MillionQueries => "million queries",
        }
    }

    fn parse(s: &str) -> Option<Unit> {
        Unit::ALL.into_iter().find(|u| u.as_str() == s)
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One price: USD per unit, with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Rate {
    /// USD per one `unit`.
    #[serde(with = "rust_decimal::serde::str")]
    pub usd: Decimal,
    /// What one unit is.
    pub unit: Unit,
    /// The AWS usage type this rate is billed under, e.g. `APS1-NatGateway-Hours`.
    pub usage_type: String,
    /// Where the figure was taken from.
    pub source: String,
    /// When the figure took effect (or was read).
    pub effective_date: NaiveDate,
}

/// One tier of a tiered rate: applies to usage up to `up_to_gb` (cumulative).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Tier {
    /// Upper bound of cumulative usage for this tier; `None` for the last tier.
    pub up_to_gb: Option<Decimal>,
    /// The rate inside this tier.
    pub rate: Rate,
}

/// A per-GB rate in tiers over the cumulative monthly volume.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TieredRate {
    /// Tiers in ascending order; the last has no upper bound.
    pub tiers: Vec<Tier>,
}

/// The part of a volume that falls into one tier.
#[derive(Debug, Clone, PartialEq)]
pub struct TierUse<'a> {
    /// Lower bound of the tier (GB).
    pub from_gb: Decimal,
    /// The tier.
    pub tier: &'a Tier,
    /// GB of the volume inside this tier.
    pub gb: Decimal,
    /// `gb × rate`.
    pub cost_usd: Decimal,
}

impl TieredRate {
    /// Splits `total_gb` across the tiers (only tiers with usage are returned).
    pub fn split(&self, total_gb: Decimal) -> Vec<TierUse<'_>> {
        let mut out = Vec::new();
        let mut from = Decimal::ZERO;
        for tier in &self.tiers {
            if total_gb <= from {
                break;
            }
            let upper = tier.up_to_gb.map_or(total_gb, |u| u.min(total_gb));
            let gb = upper - from;
            out.push(TierUse {
                from_gb: from,
                tier,
                gb,
                cost_usd: gb * tier.rate.usd,
            });
            from = tier.up_to_gb.unwrap_or(total_gb);
        }
        out
    }

    /// Total cost of `total_gb`.
    pub fn cost_usd(&self, total_gb: Decimal) -> Decimal {
        self.split(total_gb).iter().map(|u| u.cost_usd).sum()
    }

    /// The rate that the next GB after `total_gb` would pay.
    pub fn marginal(&self, total_gb: Decimal) -> &Rate {
        self.tiers
            .iter()
            .find(|t| t.up_to_gb.is_none_or(|u| total_gb < u))
            .map(|t| &t.rate)
            .unwrap_or(&self.tiers[self.tiers.len() - 1].rate)
    }
}

/// NAT Gateway rates.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NatGatewayRates {
    /// Per NAT Gateway-hour (partial hours billed as full).
    pub hour: Rate,
    /// Per GB processed, whatever its source or destination.
    pub processed_gb: Rate,
}

/// Interface VPC endpoint (PrivateLink) rates. Gateway endpoints are free.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct InterfaceEndpointRates {
    /// Per endpoint per AZ per hour.
    pub az_hour: Rate,
    /// Per GB processed, tiered on the region-wide total of all interface endpoints.
    pub processed_gb: TieredRate,
}

/// Application Load Balancer rates.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AlbRates {
    /// Per ALB-hour (partial hours billed as full).
    pub hour: Rate,
    /// Per LCU-hour.
    pub lcu_hour: Rate,
}

/// Network Load Balancer rates.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NlbRates {
    /// Per NLB-hour (partial hours billed as full).
    pub hour: Rate,
    /// Per NLCU-hour.
    pub nlcu_hour: Rate,
}

/// Public IPv4 address rate.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PublicIpv4Rates {
    /// Per address-hour, billed per second with a 60-second minimum.
    pub address_hour: Rate,
}

/// Data transfer rates.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DataTransferRates {
    /// Per GB crossing AZs, charged in each direction (on both sides).
    pub cross_az_gb: Rate,
    /// Per GB out to the internet, tiered on the monthly volume (free tier first).
    pub internet_egress_gb: TieredRate,
}

/// CloudWatch rates for costd's own metrics and alarms.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CloudWatchRates {
    /// Per custom metric-month (first 10,000 metrics).
    pub metric_month: Rate,
    /// Per standard-resolution alarm-month.
    pub alarm_month: Rate,
    /// Per 1,000 API requests (PutMetricData, DescribeAlarms, …; not GetMetricData).
    pub requests_1k: Rate,
    /// GetMetricData: per 1,000 metrics requested (not per request; no free tier).
    pub get_metric_data_1k_metrics: Rate,
}

/// Route 53, for a stable demo name (`[alb.dns]`). A global service: the
/// same rates in every table.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Route53Rates {
    /// Per hosted zone-month (the first 25 zones of the account). AWS bills a
    /// zone's month whole, on the first of the month, not prorated.
    pub hosted_zone_month: Rate,
    /// Per million queries to an alias record that points at an ELB load
    /// balancer: free (zero), kept so the line item says so with its source.
    pub alias_query_million: Rate,
}

/// Every rate costd needs for one region.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PriceTable {
    /// AWS region code, e.g. `ap-southeast-1`.
    pub region: String,
    /// NAT Gateway.
    pub nat_gateway: NatGatewayRates,
    /// Interface VPC endpoints.
    pub interface_endpoint: InterfaceEndpointRates,
    /// Application Load Balancer.
    pub alb: AlbRates,
    /// Network Load Balancer.
    pub nlb: NlbRates,
    /// Public IPv4 addresses.
    pub public_ipv4: PublicIpv4Rates,
    /// Data transfer.
    pub data_transfer: DataTransferRates,
    /// CloudWatch.
    pub cloudwatch: CloudWatchRates,
    /// Route 53 (optional: needed only with `[alb.dns]`).
    pub route53: Option<Route53Rates>,
}

impl PriceTable {
    /// Parses a price table. `file` names the source in errors.
    pub fn parse(file: &str, src: &str) -> Result<Self, InputError> {
        let doc = Document::parse(file, src)?;
        let root = doc.root();
        let region = root.require("region")?;
        let region_name = region.str()?;
        if !is_region_code(&region_name) {
            return Err(region.error(format!(
                "`{region_name}` is not an AWS region code; expected something like ap-southeast-1"
            )));
        }
        let currency = root.require("currency")?;
        if currency.str()? != "USD" {
            return Err(currency.error("only USD price tables are supported; expected \"USD\""));
        }

        // Each section is read and checked before the next, so the first
        // missing rate is reported in file order.
        let section = |name: &str| root.require(name).and_then(|v| v.table());
        let t = section("nat_gateway")?;
        let nat_gateway = NatGatewayRates {
            hour: rate(&t, "hour", Unit::Hour)?,
            processed_gb: rate(&t, "processed_gb", Unit::Gb)?,
        };
        t.finish()?;
        let t = section("interface_endpoint")?;
        let interface_endpoint = InterfaceEndpointRates {
            az_hour: rate(&t, "az_hour", Unit::AzHour)?,
            processed_gb: tiered(&t, "processed_gb", Unit::Gb)?,
        };
        t.finish()?;
        let t = section("alb")?;
        let alb = AlbRates {
            hour: rate(&t, "hour", Unit::Hour)?,
            lcu_hour: rate(&t, "lcu_hour", Unit::LcuHour)?,
        };
        t.finish()?;
        let t = section("nlb")?;
        let nlb = NlbRates {
            hour: rate(&t, "hour", Unit::Hour)?,
            nlcu_hour: rate(&t, "nlcu_hour", Unit::NlcuHour)?,
        };
        t.finish()?;
        let t = section("public_ipv4")?;
        let public_ipv4 = PublicIpv4Rates {
            address_hour: rate(&t, "address_hour", Unit::AddressHour)?,
        };
        t.finish()?;
        let t = section("data_transfer")?;
        let data_transfer = DataTransferRates {
            cross_az_gb: rate(&t, "cross_az_gb", Unit::Gb)?,
            internet_egress_gb: tiered(&t, "internet_egress_gb", Unit::Gb)?,
        };
        t.finish()?;
        let t = section("cloudwatch")?;
        let cloudwatch = CloudWatchRates {
            metric_month: rate(&t, "metric_month", Unit::MetricMonth)?,
            alarm_month: rate(&t, "alarm_month", Unit::AlarmMonth)?,
            requests_1k: rate(&t, "requests_1k", Unit::ThousandRequests)?,
            get_metric_data_1k_metrics: rate(&t, "get_metric_data_1k_metrics", Unit::ThousandMetrics)?,
        };
        t.finish()?;
        let route53 = match root.get("route53") {
            None => None,
            Some(v) => {
                let t = v.table()?;
                let r = Route53Rates {
                    hosted_zone_month: rate(&t, "hosted_zone_month", Unit::HostedZoneMonth)?,
                    alias_query_million: rate(&t, "alias_query_million", Unit::MillionQueries)?,
                };
                t.finish()?;
                Some(r)
            }
        };
        let table = PriceTable {
            region: region_name,
            nat_gateway,
            interface_endpoint,
            alb,
            nlb,
            public_ipv4,
            data_transfer,
            cloudwatch,
            route53,
        };
        root.finish()?;
        Ok(table)
    }
}

/// `xx-name-N`, e.g. `us-east-1`, `ap-southeast-1`, `us-gov-west-1`.
pub fn is_region_code(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
}

fn rate(section: &TableReader, key: &str, unit: Unit) -> Result<Rate, InputError> {
    let v = section.require(key)?;
    let t = v.table()?;
    let r = rate_fields(&t, unit)?;
    t.finish()?;
    Ok(r)
}

fn rate_fields(t: &TableReader, expected: Unit) -> Result<Rate, InputError> {
    let usd_v = t.require("usd")?;
    let usd = usd_v.decimal()?;
    if usd.is_sign_negative() && !usd.is_zero() {
        return Err(usd_v.error(format!("a rate must be zero or more, found {usd}")));
    }
    if usd > Decimal::from(MAX_RATE_USD) {
        return Err(usd_v.error(format!(
            "a rate of ${usd} per unit is not plausible; rates are at most ${MAX_RATE_USD}"
        )));
    }
    let unit_v = t.require("unit")?;
    let unit_s = unit_v.str()?;
    let unit = Unit::parse(&unit_s).ok_or_else(|| {
        let valid: Vec<&str> = Unit::ALL.iter().map(|u| u.as_str()).collect();
        unit_v.error(format!("unknown unit `{unit_s}`; valid units: {}", valid.join(", ")))
    })?;
    if unit != expected {
        return Err(unit_v.error(format!("this rate must be priced per `{expected}`, found `{unit}`")));
    }
    let usage_type = non_empty(t.require("usage_type")?)?;
    let source = non_empty(t.require("source")?)?;
    let date_v = t.require("effective_date")?;
    let effective_date = date(&date_v)?;
    Ok(Rate {
        usd,
        unit,
        usage_type,
        source,
        effective_date,
    })
}

fn non_empty(v: Value) -> Result<String, InputError> {
    let s = v.str()?;
    if s.trim().is_empty() {
        return Err(v.error("must not be empty"));
    }
    Ok(s)
}

fn date(v: &Value) -> Result<NaiveDate, InputError> {
    let s = v.str()?;
    NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| v.error(format!("`{s}` is not a date; expected YYYY-MM-DD")))
}

fn tiered(section: &TableReader, key: &str, unit: Unit) -> Result<TieredRate, InputError> {
    let v = section.require(key)?;
    let items = v.items()?;
    if items.is_empty() {
        return Err(v.error("needs at least one tier ([[…]] with usd, unit, …)"));
    }
    let mut tiers = Vec::with_capacity(items.len());
    let mut previous = Decimal::ZERO;
    let last = items.len() - 1;
    for (i, item) in items.iter().enumerate() {
        let t = item.table()?;
        let up_to = t.get("up_to_gb");
        let up_to_gb = match (&up_to, i == last) {
            (Some(u), false) => {
                let gb = u.decimal()?;
                if gb <= previous {
                    return Err(u.error(format!(
                        "tiers must rise: {gb} is not above the previous bound {previous}"
                    )));
                }
                previous = gb;
                Some(gb)
            }
            (Some(u), true) => return Err(u.error("the last tier must have no `up_to_gb` (it has no upper bound)")),
            (None, false) => return Err(t.error("up_to_gb", "every tier but the last needs `up_to_gb`")),
            (None, true) => None,
        };
        let rate = rate_fields(&t, unit)?;
        t.finish()?;
        tiers.push(Tier { up_to_gb, rate });
    }
    Ok(TieredRate { tiers })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn shipped() -> PriceTable {
        load::PriceBook::embedded()
            .unwrap()
            .get("ap-southeast-1")
            .unwrap()
            .clone()
    }

    #[test]
    fn tiers_split_the_volume_at_their_bounds() {
        let t = shipped();
        let tiers = &t.interface_endpoint.processed_gb;
        // 1 PB = 1,048,576 GB at $0.01, then 4 PB at $0.006, then $0.004.
        // 2,000,000 GB: 1,048,576 × 0.01 = 10,485.76; (2,000,000 − 1,048,576) × 0.006 = 951,424 × 0.006 = 5,708.544
        assert_eq!(tiers.cost_usd(dec!(2000000)), dec!(16194.304));
        // Exactly at the bound: all in the first tier.
        assert_eq!(tiers.split(dec!(1048576)).len(), 1);
        assert_eq!(tiers.marginal(dec!(1048576)).usd, dec!(0.006));
        assert_eq!(tiers.marginal(dec!(1048575)).usd, dec!(0.01));
        // Past 5 PB (5,242,880 GB): third tier.
        // 6,000,000: 10,485.76 + 4,194,304 × 0.006 (= 25,165.824) + 757,120 × 0.004 (= 3,028.48) = 38,680.064
        assert_eq!(tiers.cost_usd(dec!(6000000)), dec!(38680.064));
        assert_eq!(tiers.cost_usd(Decimal::ZERO), Decimal::ZERO);
    }

    const MINIMAL: &str = r#"
region = "us-east-1"
currency = "USD"
[nat_gateway.hour]
usd = 0.045
unit = "hour"
usage_type = "NatGateway-Hours"
source = "test"
effective_date = "2026-11-01"
"#;

    #[test]
    fn a_missing_rate_is_named() {
        let e = PriceTable::parse("pricing/us-east-1.toml", MINIMAL).unwrap_err();
        assert_eq!(e.key, "nat_gateway.processed_gb", "{e}");
        assert_eq!(e.file, "pricing/us-east-1.toml");
        assert_eq!(e.line, 4, "{e}");
    }

    fn shipped_text() -> String {
        load::EMBEDDED
            .iter()
            .find(|(n, _)| *n == "ap-southeast-1")
            .unwrap()
            .1
            .to_string()
    }

    #[test]
    fn a_negative_rate_is_rejected_with_its_line() {
        let src = shipped_text().replacen("usd = \"0.059\"", "usd = \"-0.059\"", 1);
        let e = PriceTable::parse("p.toml", &src).unwrap_err();
        assert_eq!(e.key, "nat_gateway.hour.usd");
        assert!(e.message.contains("zero or more"), "{e}");
        assert_eq!(src.lines().nth(e.line - 1).unwrap().trim(), "usd = \"-0.059\"");
    }

    #[test]
    fn a_non_numeric_rate_is_rejected() {
        let src = shipped_text().replacen("usd = \"0.059\"", "usd = \"0.05x\"", 1);
        let e = PriceTable::parse("p.toml", &src).unwrap_err();
        assert_eq!(e.key, "nat_gateway.hour.usd");
        assert!(e.message.contains("not a number"), "{e}");
    }

    #[test]
    fn an_unknown_unit_lists_the_valid_ones() {
        let src = shipped_text().replacen("unit = \"hour\"", "unit = \"hours\"", 1);
        let e = PriceTable::parse("p.toml", &src).unwrap_err();
        assert_eq!(e.key, "nat_gateway.hour.unit");
        assert!(
            e.message.contains("unknown unit `hours`") && e.message.contains("LCU-hour"),
            "{e}"
        );
    }

    #[test]
    fn a_wrong_unit_for_the_key_is_rejected() {
        let src = shipped_text().replacen("unit = \"hour\"", "unit = \"GB\"", 1);
        let e = PriceTable::parse("p.toml", &src).unwrap_err();
        assert!(e.message.contains("must be priced per `hour`"), "{e}");
    }

    #[test]
    fn a_duplicate_key_is_rejected_with_its_line() {
        let src = shipped_text().replacen("unit = \"hour\"", "unit = \"hour\"\nunit = \"hour\"", 1);
        let e = PriceTable::parse("p.toml", &src).unwrap_err();
        assert!(e.message.contains("duplicate"), "{e}");
        assert!(e.line > 1);
    }

    #[test]
    fn an_unknown_key_is_rejected() {
        let src = shipped_text().replacen("unit = \"hour\"", "unit = \"hour\"\nusd_per_year = 1", 1);
        let e = PriceTable::parse("p.toml", &src).unwrap_err();
        assert_eq!(e.key, "nat_gateway.hour.usd_per_year");
    }

    #[test]
    fn tiers_must_rise_and_end_unbounded() {
        let src = shipped_text().replacen("up_to_gb = 10240", "up_to_gb = 50", 1);
        let e = PriceTable::parse("p.toml", &src).unwrap_err();
        assert!(e.message.contains("tiers must rise"), "{e}");
    }

    #[test]
    fn region_codes() {
        assert!(is_region_code("ap-southeast-1"));
        assert!(is_region_code("us-gov-west-1"));
        assert!(!is_region_code("Singapore"));
        assert!(!is_region_code("us-east"));
    }
}
