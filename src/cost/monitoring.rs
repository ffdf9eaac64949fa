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
    /// CloudWatch API requests per month (PutMetricData, GetMetricData, …).
    pub api_requests_per_month: Decimal,
}

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
    vec![
        LineItem::priced("Custom metrics", m.custom_metrics, &cw.metric_month),
        LineItem::priced("Metric alarms (standard resolution)", m.alarms, &cw.alarm_month),
        LineItem::priced(
            "API requests (PutMetricData, GetMetricData, …)",
            m.api_requests_per_month / Decimal::from(1000),
            &cw.requests_1k,
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
