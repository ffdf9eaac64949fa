//! costd's own CloudWatch cost: custom metrics, metric alarms, API requests.
//! PURE.

use rust_decimal::Decimal;
use serde::Serialize;

use super::{LineItem, total};
use crate::pricing::PriceTable;

/// costd's own CloudWatch usage.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitoringSpec {
    /// Custom metrics published (each name × dimension set is one metric).
    pub custom_metrics: Decimal,
    /// Standard-resolution metric alarms.
    pub alarms: Decimal,
    /// CloudWatch API requests per month (PutMetricData, DescribeAlarms, …; not GetMetricData).
    pub api_requests_per_month: Decimal,
    /// Metrics requested through GetMetricData per month (billed per 1,000 metrics, no free tier).
    pub get_metric_data_metrics_per_month: Decimal,
    /// Take CloudWatch's always-free tier off first (10 custom metrics, 10
    /// alarms, 1 M API requests a month; GetMetricData is not in it). It is
    /// account-wide: off unless the account's other workloads leave it to costd.
    pub free_tier: bool,
}

/// CloudWatch's always-free tier per month: custom metrics, alarms, API requests.
pub const FREE_TIER: (u32, u32, u32) = (10, 10, 1_000_000);

/// costd's own CloudWatch metrics, alarms and API calls.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MonitoringCost {
    /// Sum of the line items.
    pub monthly_usd: Decimal,
    /// What is paid for.
    pub line_items: Vec<LineItem>,
}

/// costd's own CloudWatch use for a month: metrics, alarms, API requests.
pub fn monitoring_items(m: &MonitoringSpec, prices: &PriceTable) -> Vec<LineItem> {
    let cw = &prices.cloudwatch;
    let (free_metrics, free_alarms, free_requests) = if m.free_tier { FREE_TIER } else { (0, 0, 0) };
    let beyond = |n: Decimal, free: u32| (n - Decimal::from(free)).max(Decimal::ZERO);
    let label = |what: &str, free: u32| {
        if m.free_tier {
            format!("{what}, after the free tier's {free}")
        } else {
            what.to_string()
        }
    };
    vec![
        LineItem::priced(
            label("Custom metrics", free_metrics),
            beyond(m.custom_metrics, free_metrics),
            &cw.metric_month,
        ),
        LineItem::priced(
            label("Metric alarms (standard resolution)", free_alarms),
            beyond(m.alarms, free_alarms),
            &cw.alarm_month,
        ),
        LineItem::priced(
            label("API requests (PutMetricData, DescribeAlarms, …)", free_requests),
            beyond(m.api_requests_per_month, free_requests) / Decimal::from(1000),
            &cw.requests_1k,
        ),
        LineItem::priced(
            "GetMetricData: metrics requested (no free tier)".to_string(),
            m.get_metric_data_metrics_per_month / Decimal::from(1000),
            &cw.get_metric_data_1k_metrics,
        ),
    ]
}

pub fn price(m: &MonitoringSpec, prices: &PriceTable) -> MonitoringCost {
    let items = monitoring_items(m, prices);
    MonitoringCost {
        monthly_usd: total(&items),
        line_items: items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn table() -> PriceTable {
        crate::pricing::load::PriceBook::embedded()
            .unwrap()
            .get("us-east-1")
            .unwrap()
            .clone()
    }

    fn spec(metrics: Decimal, alarms: Decimal, requests: Decimal, free_tier: bool) -> MonitoringSpec {
        MonitoringSpec {
            custom_metrics: metrics,
            alarms,
            api_requests_per_month: requests,
            get_metric_data_metrics_per_month: Decimal::ZERO,
            free_tier,
        }
    }

    /// GetMetricData is billed per 1,000 metrics requested, not per request,
    /// and the free tier's million requests do not cover it.
    #[test]
    fn get_metric_data_is_priced_per_thousand_metrics_without_free_tier() {
        let t = table();
        // us-east-1 $0.01 per 1,000 metrics: 300 requests × 50 metrics = 15,000 metrics → 15 × 0.01 = 0.15.
        let m = MonitoringSpec {
            get_metric_data_metrics_per_month: dec!(15000),
            ..spec(dec!(0), dec!(0), dec!(300), true)
        };
        let c = price(&m, &t);
        // The 300 requests are inside the free tier; the metrics are not.
        assert_eq!(c.monthly_usd, dec!(0.15));
        let gmd = c
            .line_items
            .iter()
            .find(|i| i.item.starts_with("GetMetricData"))
            .unwrap();
        assert_eq!((gmd.quantity, gmd.unit.as_str()), (dec!(15), "1000 metrics"));
        assert_eq!(gmd.usage_type, "CW:GMD-Metrics");
    }

    /// CloudWatch's always-free tier (10 custom metrics, 10 alarms, 1 M API
    /// requests a month, account-wide) is an explicit choice: other workloads
    /// in the account may already use it, so it is off unless the scenario
    /// says `free_tier = true`. (Once it was never applied.)
    #[test]
    fn the_free_tier_is_applied_only_when_chosen() {
        let t = table();
        // us-east-1: $0.30 a metric-month, $0.10 an alarm-month, $0.01 per 1,000 requests.
        // Without: 8 × 0.30 + 3 × 0.10 + 45 × 0.01 = 2.40 + 0.30 + 0.45 = 3.15.
        assert_eq!(
            price(&spec(dec!(8), dec!(3), dec!(45000), false), &t).monthly_usd,
            dec!(3.15)
        );
        // With: all inside the free tier → 0.
        assert_eq!(
            price(&spec(dec!(8), dec!(3), dec!(45000), true), &t).monthly_usd,
            dec!(0)
        );
        // With, beyond it: (12 − 10) × 0.30 + (12 − 10) × 0.10 + (1,500,000 − 1,000,000) / 1,000 × 0.01
        //   = 0.60 + 0.20 + 5.00 = 5.80.
        let c = price(&spec(dec!(12), dec!(12), dec!(1500000), true), &t);
        assert_eq!(c.monthly_usd, dec!(5.80));
        assert!(
            c.line_items[0].item.contains("after the free tier's 10"),
            "{:?}",
            c.line_items[0]
        );
    }
}
