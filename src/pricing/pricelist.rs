//! The AWS Price List, read into costd's rates. PURE: JSON text in, rates out.
//!
//! Both sources are normalised to [`PriceItem`]s: the Query API's
//! `GetProducts` (each `PriceList` entry is a JSON string holding one
//! product and its terms) and a bulk offer file (`products` and
//! `terms.OnDemand` keyed by SKU). Each rate costd needs is one [`Query`]:
//! a service, a product family and a usage type, which must match exactly
//! one SKU in the region (with or without the region's usage-type prefix, so
//! `NatGateway-Hours` never matches `RegionalNatGateway-Hours`).

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;

use super::{PriceTable, Rate, Tier, TieredRate};

/// One on-demand price dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceDimension {
    /// Unit as the Price List says (`Hrs`, `GB`, `LCU-Hrs`, `Requests`, …).
    pub unit: String,
    /// USD per unit.
    pub usd: Decimal,
    /// Tier start (GB), `0` when untiered.
    pub begin: Decimal,
    /// Tier end, `None` for `Inf`.
    pub end: Option<Decimal>,
    /// AWS's description.
    pub description: String,
}

/// A product with its on-demand prices.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceItem {
    /// SKU.
    pub sku: String,
    /// `productFamily`.
    pub product_family: String,
    /// Service code (`AmazonEC2`, …).
    pub service_code: String,
    /// Product attributes (`usagetype`, `regionCode`, `operation`, …).
    pub attributes: BTreeMap<String, String>,
    /// On-demand dimensions, ordered by `begin`.
    pub dimensions: Vec<PriceDimension>,
    /// The on-demand term's effective date.
    pub effective_date: Option<NaiveDate>,
}

/// Why Price List data could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceListError {
    /// Not the JSON shape the Price List uses.
    #[error("unparseable Price List data: {0}")]
    Unparseable(String),
    /// No SKU for a rate.
    #[error("no price for `{key}`: {query}")]
    Missing {
        /// The rate's key.
        key: String,
        /// The product and filter.
        query: String,
    },
    /// Several SKUs for one rate.
    #[error("`{key}` matched {count} products ({skus}) for {query}; expected exactly one")]
    Ambiguous {
        /// The rate's key.
        key: String,
        /// The product and filter.
        query: String,
        /// How many.
        count: usize,
        /// Their SKUs.
        skus: String,
    },
}

fn dec(v: &Value, what: &str) -> Result<Decimal, PriceListError> {
    let s = v
        .as_str()
        .ok_or_else(|| PriceListError::Unparseable(format!("{what} is not a string")))?;
    Decimal::from_str(s)
        .map(|d| d.normalize())
        .map_err(|_| PriceListError::Unparseable(format!("{what} `{s}` is not a number")))
}

fn parse_terms(sku: &str, terms: &Value) -> Result<(Vec<PriceDimension>, Option<NaiveDate>), PriceListError> {
    let mut dims = Vec::new();
    let mut date = None;
    let Some(offers) = terms.as_object() else {
        return Ok((dims, date));
    };
    for offer in offers.values() {
        // `2026-11-01T00:00:00Z`: the date part (`get` never splits a character).
        date = offer["effectiveDate"]
            .as_str()
            .and_then(|d| d.get(..10))
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        for pd in offer["priceDimensions"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
        {
            let usd = dec(&pd["pricePerUnit"]["USD"], &format!("SKU {sku} pricePerUnit.USD"))?;
            let begin = match &pd["beginRange"] {
                Value::Null => Decimal::ZERO,
                v => dec(v, &format!("SKU {sku} beginRange"))?,
            };
            let end = match pd["endRange"].as_str() {
                None | Some("Inf") => None,
                Some(_) => Some(dec(&pd["endRange"], &format!("SKU {sku} endRange"))?),
            };
            dims.push(PriceDimension {
                unit: pd["unit"].as_str().unwrap_or_default().to_string(),
                usd,
                begin,
                end,
                description: pd["description"].as_str().unwrap_or_default().to_string(),
            });
        }
    }
    dims.sort_by_key(|d| d.begin);
    Ok((dims, date))
}

fn item(product: &Value, on_demand: &Value) -> Result<PriceItem, PriceListError> {
    let sku = product["sku"]
        .as_str()
        .ok_or_else(|| PriceListError::Unparseable("a product without a sku".into()))?;
    let attributes = product["attributes"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let (dimensions, effective_date) = parse_terms(sku, on_demand)?;
    Ok(PriceItem {
        sku: sku.to_string(),
        product_family: product["productFamily"].as_str().unwrap_or_default().to_string(),
        service_code: product["attributes"]["servicecode"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        attributes,
        dimensions,
        effective_date,
    })
}

/// One `PriceList` entry of a `GetProducts` response (a JSON string).
pub fn parse_get_products_entry(entry: &str) -> Result<PriceItem, PriceListError> {
    let v: Value =
        serde_json::from_str(entry).map_err(|e| PriceListError::Unparseable(format!("PriceList entry: {e}")))?;
    item(&v["product"], &v["terms"]["OnDemand"])
}

/// A bulk offer file (`…/offers/v1.0/aws/{ServiceCode}/current/{region}/index.json`).
pub fn parse_offer_file(text: &str) -> Result<Vec<PriceItem>, PriceListError> {
    let v: Value = serde_json::from_str(text).map_err(|e| PriceListError::Unparseable(format!("offer file: {e}")))?;
    let products = v["products"]
        .as_object()
        .ok_or_else(|| PriceListError::Unparseable("offer file without `products`".into()))?;
    let service = v["offerCode"].as_str().unwrap_or_default().to_string();
    let mut out = Vec::with_capacity(products.len());
    for (sku, product) in products {
        let mut it = item(product, &v["terms"]["OnDemand"][sku])?;
        if it.service_code.is_empty() {
            it.service_code = service.clone();
        }
        out.push(it);
    }
    Ok(out)
}

/// The usage-type prefix of a region (us-east-1 uses none or `USE1-`).
pub fn usage_prefix(region: &str) -> Option<&'static str> {
    Some(match region {
        "us-east-1" => "USE1-",
        "us-east-2" => "USE2-",
        "us-west-1" => "USW1-",
        "us-west-2" => "USW2-",
        "eu-west-1" => "EU-",
        "eu-west-2" => "EUW2-",
        "eu-west-3" => "EUW3-",
        "eu-central-1" => "EUC1-",
        "eu-north-1" => "EUN1-",
        "ap-southeast-1" => "APS1-",
        "ap-southeast-2" => "APS2-",
        "ap-northeast-1" => "APN1-",
        "ap-northeast-2" => "APN2-",
        "ap-south-1" => "APS3-",
        "ca-central-1" => "CAN1-",
        "sa-east-1" => "SAE1-",
        _ => return None,
    })
}

/// What one rate is in the Price List.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// costd's key, e.g. `nat_gateway.hour`.
    pub key: &'static str,
    /// Service code.
    pub service_code: &'static str,
    /// Product family, when it narrows the match.
    pub product_family: Option<&'static str>,
    /// Usage type without the region prefix.
    pub usage_type: &'static str,
    /// `operation`, when it tells ALB from NLB.
    pub operation: Option<&'static str>,
    /// Multiply the Price List's price by this to get costd's unit (1,000 for per-1,000-requests).
    pub per: u32,
    /// The attribute holding the region (`regionCode`; `fromRegionCode` for data transfer).
    pub region_attribute: &'static str,
}

/// Every rate of a price table, as Price List queries.
pub const QUERIES: &[Query] = &[
    Query {
        key: "nat_gateway.hour",
        service_code: "AmazonEC2",
        product_family: Some("NAT Gateway"),
        usage_type: "NatGateway-Hours",
        operation: None,
        per: 1,
        region_attribute: "regionCode",
    },
    Query {
        key: "nat_gateway.processed_gb",
        service_code: "AmazonEC2",
        product_family: Some("NAT Gateway"),
        usage_type: "NatGateway-Bytes",
        operation: None,
        per: 1,
        region_attribute: "regionCode",
    },
    Query {
        key: "interface_endpoint.az_hour",
        service_code: "AmazonVPC",
        product_family: Some("VpcEndpoint"),
        usage_type: "VpcEndpoint-Hours",
        operation: None,
        per: 1,
        region_attribute: "regionCode",
    },
    Query {
        key: "interface_endpoint.processed_gb",
        service_code: "AmazonVPC",
        product_family: Some("VpcEndpoint"),
        usage_type: "VpcEndpoint-Bytes",
        operation: None,
        per: 1,
        region_attribute: "regionCode",
    },
    Query {
        key: "alb.hour",
        service_code: "AWSELB",
        product_family: Some("Load Balancer-Application"),
        usage_type: "LoadBalancerUsage",
        operation: Some("LoadBalancing:Application"),
        per: 1,
        region_attribute: "regionCode",
    },
    Query {
        key: "alb.lcu_hour",
        service_code: "AWSELB",
        product_family: Some("Load Balancer-Application"),
        usage_type: "LCUUsage",
        operation: Some("LoadBalancing:Application"),
        per: 1,
        region_attribute: "regionCode",
    },
    Query {
        key: "nlb.hour",
        service_code: "AWSELB",
        product_family: Some("Load Balancer-Network"),
        usage_type: "LoadBalancerUsage",
        operation: Some("LoadBalancing:Net"),
        per: 1,
        region_attribute: "regionCode",
    },
    Query {
        key: "nlb.nlcu_hour",
        service_code: "AWSELB",
        product_family: Some("Load Balancer-Network"),
        usage_type: "LCUUsage",
        operation: Some("LoadBalancing:Net"),
        per: 1,
        region_attribute: "regionCode",
    },
    Query {
        key: "public_ipv4.address_hour",
        service_code: "AmazonVPC",
        product_family: None,
        usage_type: "PublicIPv4:InUseAddress",
        operation: None,
        per: 1,
        region_attribute: "regionCode",
    },
    Query {
        key: "data_transfer.cross_az_gb",
        service_code: "AWSDataTransfer",
        product_family: None,
        usage_type: "DataTransfer-Regional-Bytes",
        operation: None,
        per: 1,
        region_attribute: "fromRegionCode",
    },
    Query {
        key: "data_transfer.internet_egress_gb",
        service_code: "AWSDataTransfer",
        product_family: None,
        usage_type: "DataTransfer-Out-Bytes",
        operation: None,
        per: 1,
        region_attribute: "fromRegionCode",
    },
    Query {
        key: "cloudwatch.metric_month",
        service_code: "AmazonCloudWatch",
        product_family: None,
        usage_type: "CW:MetricMonitorUsage",
        operation: None,
        per: 1,
        region_attribute: "regionCode",
    },
    Query {
        key: "cloudwatch.alarm_month",
        service_code: "AmazonCloudWatch",
        product_family: None,
        usage_type: "CW:AlarmMonitorUsage",
        operation: None,
        per: 1,
        region_attribute: "regionCode",
    },
    Query {
        key: "cloudwatch.requests_1k",
        service_code: "AmazonCloudWatch",
        product_family: None,
        usage_type: "CW:Requests",
        operation: None,
        per: 1000,
        region_attribute: "regionCode",
    },
    Query {
        key: "cloudwatch.get_metric_data_1k_metrics",
        service_code: "AmazonCloudWatch",
        product_family: None,
        usage_type: "CW:GMD-Metrics",
        operation: None,
        per: 1000,
        region_attribute: "regionCode",
    },
];

impl Query {
    /// The query in words, for errors.
    pub fn describe(&self, region: &str) -> String {
        format!(
            "ServiceCode={}, productFamily={}, {}={region}, usagetype=[{p}]{}{}",
            self.service_code,
            self.product_family.unwrap_or("any"),
            self.region_attribute,
            self.usage_type,
            self.operation.map(|o| format!(", operation={o}")).unwrap_or_default(),
            p = usage_prefix(region).unwrap_or("")
        )
    }

    /// Whether an item is this rate in `region`.
    pub fn matches(&self, it: &PriceItem, region: &str) -> bool {
        let ut = it.attributes.get("usagetype").map(String::as_str).unwrap_or_default();
        let prefixed = usage_prefix(region).map(|p| format!("{p}{}", self.usage_type));
        let ut_ok = ut == self.usage_type && region == "us-east-1" || prefixed.as_deref() == Some(ut);
        ut_ok
            && it.attributes.get(self.region_attribute).map(String::as_str) == Some(region)
            && (it.service_code.is_empty() || it.service_code == self.service_code)
            && self.product_family.is_none_or(|f| it.product_family == f)
            && self
                .operation
                .is_none_or(|o| it.attributes.get("operation").map(String::as_str) == Some(o))
            && !it.dimensions.is_empty()
    }
}

/// A rate found in the Price List.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The query.
    pub key: &'static str,
    /// The SKU.
    pub sku: String,
    /// Its usage type.
    pub usage_type: String,
    /// Its dimensions, price already in costd's unit.
    pub dimensions: Vec<PriceDimension>,
    /// Effective date.
    pub effective_date: Option<NaiveDate>,
}

/// The one item matching `q` in `region`.
pub fn find(items: &[PriceItem], q: &Query, region: &str) -> Result<Found, PriceListError> {
    let hits: Vec<&PriceItem> = items.iter().filter(|it| q.matches(it, region)).collect();
    match hits.as_slice() {
        [] => Err(PriceListError::Missing {
            key: q.key.into(),
            query: q.describe(region),
        }),
        [one] => Ok(Found {
            key: q.key,
            sku: one.sku.clone(),
            usage_type: one.attributes.get("usagetype").cloned().unwrap_or_default(),
            dimensions: one
                .dimensions
                .iter()
                .map(|d| PriceDimension {
                    usd: (d.usd * Decimal::from(q.per)).normalize(),
                    ..d.clone()
                })
                .collect(),
            effective_date: one.effective_date,
        }),
        many => Err(PriceListError::Ambiguous {
            key: q.key.into(),
            query: q.describe(region),
            count: many.len(),
            skus: many.iter().map(|i| i.sku.as_str()).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// One rate's change.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RateChange {
    /// Key (with `[i]` for a tier).
    pub key: String,
    /// Current USD.
    pub old: Option<Decimal>,
    /// Price List USD.
    pub new: Option<Decimal>,
    /// SKU.
    pub sku: String,
}

fn rate_from(old: &Rate, f: &Found, d: &PriceDimension, date_fallback: NaiveDate) -> Rate {
    if old.usd == d.usd {
        return old.clone();
    }
    Rate {
        usd: d.usd,
        unit: old.unit,
        usage_type: f.usage_type.clone(),
        source: format!("AWS Price List, SKU {}", f.sku),
        effective_date: f.effective_date.unwrap_or(date_fallback),
    }
}

fn tiers_from(old: &TieredRate, f: &Found, date: NaiveDate) -> TieredRate {
    // costd's egress table starts with the account's free allowance as a $0 tier;
    // the Price List's paid tiers follow it, their bounds cumulative from zero.
    let free = old
        .tiers
        .first()
        .filter(|t| t.rate.usd.is_zero() && t.up_to_gb.is_some())
        .cloned();
    let paid: Vec<&PriceDimension> = f
        .dimensions
        .iter()
        .filter(|d| !(free.is_some() && d.usd.is_zero()))
        .collect();
    let offset = usize::from(free.is_some());
    let mut tiers: Vec<Tier> = free.into_iter().collect();
    for (i, d) in paid.iter().enumerate() {
        let template = old
            .tiers
            .get(i + offset)
            .or(old.tiers.last())
            .expect("a tiered rate has tiers");
        tiers.push(Tier {
            up_to_gb: if i + 1 == paid.len() { None } else { d.end },
            rate: rate_from(&template.rate, f, d, date),
        });
    }
    TieredRate { tiers }
}

/// Rebuilds `current` from Price List items for its region. Returns the new
/// table and the changes (unchanged rates keep their source and date).
pub fn rebuild(
    current: &PriceTable,
    items: &[PriceItem],
    today: NaiveDate,
) -> Result<(PriceTable, Vec<RateChange>), PriceListError> {
    let region = current.region.as_str();
    let mut t = current.clone();
    let mut changes = Vec::new();
    for q in QUERIES {
        let f = find(items, q, region)?;
        let first = f.dimensions.first().expect("matches() requires dimensions");
        let mut single = |old: &mut Rate| {
            let new = rate_from(old, &f, first, today);
            if new.usd != old.usd {
                changes.push(RateChange {
                    key: q.key.into(),
                    old: Some(old.usd),
                    new: Some(new.usd),
                    sku: f.sku.clone(),
                });
            }
            *old = new;
        };
        match q.key {
            "nat_gateway.hour" => single(&mut t.nat_gateway.hour),
            "nat_gateway.processed_gb" => single(&mut t.nat_gateway.processed_gb),
            "interface_endpoint.az_hour" => single(&mut t.interface_endpoint.az_hour),
            "alb.hour" => single(&mut t.alb.hour),
            "alb.lcu_hour" => single(&mut t.alb.lcu_hour),
            "nlb.hour" => single(&mut t.nlb.hour),
            "nlb.nlcu_hour" => single(&mut t.nlb.nlcu_hour),
            "public_ipv4.address_hour" => single(&mut t.public_ipv4.address_hour),
            "data_transfer.cross_az_gb" => single(&mut t.data_transfer.cross_az_gb),
            "cloudwatch.metric_month" => single(&mut t.cloudwatch.metric_month),
            "cloudwatch.alarm_month" => single(&mut t.cloudwatch.alarm_month),
            "cloudwatch.requests_1k" => single(&mut t.cloudwatch.requests_1k),
            "cloudwatch.get_metric_data_1k_metrics" => single(&mut t.cloudwatch.get_metric_data_1k_metrics),
            "interface_endpoint.processed_gb" | "data_transfer.internet_egress_gb" => {
                let old = if q.key.starts_with("interface") {
                    &mut t.interface_endpoint.processed_gb
                } else {
                    &mut t.data_transfer.internet_egress_gb
                };
                let new = tiers_from(old, &f, today);
                let n = old.tiers.len().max(new.tiers.len());
                for i in 0..n {
                    let (o, w) = (old.tiers.get(i), new.tiers.get(i));
                    let differs = match (o, w) {
                        (Some(o), Some(w)) => o.rate.usd != w.rate.usd || o.up_to_gb != w.up_to_gb,
                        _ => true,
                    };
                    if differs {
                        changes.push(RateChange {
                            key: format!("{}[{i}]", q.key),
                            old: o.map(|t| t.rate.usd),
                            new: w.map(|t| t.rate.usd),
                            sku: f.sku.clone(),
                        });
                    }
                }
                *old = new;
            }
            other => unreachable!("every query key is handled: {other}"),
        }
    }
    Ok((t, changes))
}

/// Marks every rate of a template table as unknown (negative) so that
/// [`rebuild`] replaces all of them (for a region with no table yet).
pub fn mark_all_unknown(t: &mut PriceTable) {
    let rates: Vec<&mut Rate> = vec![
        &mut t.nat_gateway.hour,
        &mut t.nat_gateway.processed_gb,
        &mut t.interface_endpoint.az_hour,
        &mut t.alb.hour,
        &mut t.alb.lcu_hour,
        &mut t.nlb.hour,
        &mut t.nlb.nlcu_hour,
        &mut t.public_ipv4.address_hour,
        &mut t.data_transfer.cross_az_gb,
        &mut t.cloudwatch.metric_month,
        &mut t.cloudwatch.alarm_month,
        &mut t.cloudwatch.requests_1k,
        &mut t.cloudwatch.get_metric_data_1k_metrics,
    ];
    for r in rates {
        r.usd = Decimal::NEGATIVE_ONE;
    }
    for tier in t
        .interface_endpoint
        .processed_gb
        .tiers
        .iter_mut()
        .chain(t.data_transfer.internet_egress_gb.tiers.iter_mut())
    {
        if !tier.rate.usd.is_zero() {
            tier.rate.usd = Decimal::NEGATIVE_ONE;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    /// One `PriceList` entry as GetProducts returns it (shape of the Price List API docs).
    const NAT_HOURS: &str = r#"{"product":{"productFamily":"NAT Gateway","attributes":{"regionCode":"ap-southeast-1","servicecode":"AmazonEC2","usagetype":"APS1-NatGateway-Hours","operation":"NatGateway","location":"Asia Pacific (Singapore)"},"sku":"M2YSHUBETB3JX4M4"},"serviceCode":"AmazonEC2","terms":{"OnDemand":{"M2YSHUBETB3JX4M4.JRTCKXETXF":{"priceDimensions":{"M2YSHUBETB3JX4M4.JRTCKXETXF.6YS6EN2CT7":{"unit":"Hrs","endRange":"Inf","description":"$0.059 per NAT Gateway Hour","appliesTo":[],"rateCode":"M2YSHUBETB3JX4M4.JRTCKXETXF.6YS6EN2CT7","beginRange":"0","pricePerUnit":{"USD":"0.0590000000"}}},"sku":"M2YSHUBETB3JX4M4","effectiveDate":"2026-10-01T00:00:00Z","offerTermCode":"JRTCKXETXF","termAttributes":{}}}},"version":"20261001000000","publicationDate":"2026-10-01T00:00:00Z"}"#;

    #[test]
    fn a_get_products_entry_parses() {
        let it = parse_get_products_entry(NAT_HOURS).unwrap();
        assert_eq!(
            (it.sku.as_str(), it.product_family.as_str(), it.service_code.as_str()),
            ("M2YSHUBETB3JX4M4", "NAT Gateway", "AmazonEC2")
        );
        assert_eq!(it.dimensions.len(), 1);
        assert_eq!(
            (
                it.dimensions[0].usd,
                it.dimensions[0].end,
                it.dimensions[0].unit.as_str()
            ),
            (dec!(0.059), None, "Hrs")
        );
        assert_eq!(it.effective_date, NaiveDate::from_ymd_opt(2026, 10, 1));
        let q = &QUERIES[0];
        assert!(q.matches(&it, "ap-southeast-1"));
        assert!(!q.matches(&it, "us-east-1"), "another region");
    }

    #[test]
    fn regional_nat_and_unprefixed_types_outside_us_east_1_do_not_match() {
        let mut it = parse_get_products_entry(NAT_HOURS).unwrap();
        it.attributes
            .insert("usagetype".into(), "APS1-RegionalNatGateway-Hours".into());
        assert!(!QUERIES[0].matches(&it, "ap-southeast-1"));
        it.attributes.insert("usagetype".into(), "NatGateway-Hours".into());
        assert!(
            !QUERIES[0].matches(&it, "ap-southeast-1"),
            "no prefix is only us-east-1's spelling"
        );
        it.attributes.insert("regionCode".into(), "us-east-1".into());
        assert!(QUERIES[0].matches(&it, "us-east-1"));
        it.attributes.insert("usagetype".into(), "USE1-NatGateway-Hours".into());
        assert!(QUERIES[0].matches(&it, "us-east-1"), "us-east-1 with its prefix too");
    }

    #[test]
    fn a_malformed_effective_date_is_no_date_not_a_panic() {
        // Found by the fuzz test: a multi-byte character inside the first 10 bytes.
        let entry = NAT_HOURS.replace("2026-10-01T00:00:00Z", "2026-10-0\u{fffd}T00:00:00Z");
        assert_eq!(parse_get_products_entry(&entry).unwrap().effective_date, None);
    }

    #[test]
    fn per_request_prices_become_per_thousand_and_bad_prices_are_errors() {
        let entry = NAT_HOURS
            .replace("NAT Gateway", "API Request")
            .replace("AmazonEC2", "AmazonCloudWatch")
            .replace("APS1-NatGateway-Hours", "APS1-CW:Requests")
            .replace("0.0590000000", "0.0000100000");
        let it = parse_get_products_entry(&entry).unwrap();
        let q = QUERIES.iter().find(|q| q.key == "cloudwatch.requests_1k").unwrap();
        let f = find(&[it], q, "ap-southeast-1").unwrap();
        assert_eq!(f.dimensions[0].usd, dec!(0.01), "0.00001 per request × 1,000");
        let bad = NAT_HOURS.replace("0.0590000000", "about five cents");
        assert!(
            matches!(parse_get_products_entry(&bad), Err(PriceListError::Unparseable(m)) if m.contains("pricePerUnit"))
        );
        assert!(matches!(
            parse_get_products_entry("not json"),
            Err(PriceListError::Unparseable(_))
        ));
    }
}
