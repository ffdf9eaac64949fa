//! What AWS billed: Cost Explorer's `GetCostAndUsage` for costd's load
//! balancer usage types, grouped by usage type, daily or hourly.
//!
//! The `costd:deployment` tag filters only once it is activated as a
//! cost-allocation tag in the Billing console; without it the query falls
//! back to usage type alone, and then every load balancer of the account in
//! the region is counted (the caller says so).

use aws_sdk_costexplorer::types::{
    DateInterval, Dimension, DimensionValues, Expression, Granularity, GroupDefinition, GroupDefinitionType, TagValues,
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;

use super::{AwsError, AwsErrorKind};

/// The IAM actions this module calls (an optional statement of `costd iam-policy`).
pub const IAM_ACTIONS: &[&str] = &["ce:GetCostAndUsage"];

/// At most this many result pages are read for one query (each page is a billed request).
pub const MAX_PAGES: usize = 20;

/// How finely AWS reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BillGranularity {
    /// One row per day (always available).
    Daily,
    /// One row per hour (only where hourly granularity is enabled; the last 14 days).
    Hourly,
}

/// What to ask for.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BillQuery {
    /// From (inclusive).
    pub start: DateTime<Utc>,
    /// To (exclusive).
    pub end: DateTime<Utc>,
    /// Daily or hourly.
    pub granularity: BillGranularity,
    /// The exact usage types, e.g. `APS1-LoadBalancerUsage`.
    pub usage_types: Vec<String>,
    /// Filter on `costd:deployment = <this>` (a cost-allocation tag), if set.
    pub deployment_tag: Option<String>,
}

/// One row of the bill: a usage type over a period.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BilledUsage {
    /// Period start.
    pub start: DateTime<Utc>,
    /// Period end (exclusive).
    pub end: DateTime<Utc>,
    /// The usage type.
    pub usage_type: String,
    /// `UsageQuantity` (hours, LCU-hours, address-hours).
    pub quantity: Decimal,
    /// `UnblendedCost` in USD.
    pub cost_usd: Decimal,
}

/// A Cost Explorer date or date-time (`2026-11-01`, `2026-11-01T00:00:00Z`).
fn instant(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d.and_hms_opt(0, 0, 0)?.and_utc());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ")
                .ok()
                .map(|t| t.and_utc())
        })
}

fn format(t: DateTime<Utc>, g: BillGranularity) -> String {
    match g {
        BillGranularity::Daily => t.format("%Y-%m-%d").to_string(),
        BillGranularity::Hourly => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    }
}

fn bad(message: String) -> AwsError {
    AwsError {
        op: "GetCostAndUsage",
        kind: AwsErrorKind::Other,
        message,
    }
}

/// Whether `e` says the account has no hourly figures (hourly granularity
/// is an opt-in of the Cost Management preferences, and reaches back only
/// 14 days): AWS answers such a request with a `ValidationException` that
/// names hourly granularity.
pub fn hourly_unavailable(e: &AwsError) -> bool {
    e.kind == AwsErrorKind::Other
        && e.message.contains("ValidationException")
        && e.message.to_lowercase().contains("hourly")
}

/// Reads the bill for `q`, following result pages (at most [`MAX_PAGES`]).
pub async fn cost_and_usage(
    client: &aws_sdk_costexplorer::Client,
    q: &BillQuery,
) -> Result<Vec<BilledUsage>, AwsError> {
    let usage = Expression::builder()
        .dimensions(
            DimensionValues::builder()
                .key(Dimension::UsageType)
                .set_values(Some(q.usage_types.clone()))
                .build(),
        )
        .build();
    let filter = match &q.deployment_tag {
        Some(d) => Expression::builder()
            .and(
                Expression::builder()
                    .tags(
                        TagValues::builder()
                            .key(crate::aws::elb::TAG_DEPLOYMENT)
                            .values(d.clone())
                            .build(),
                    )
                    .build(),
            )
            .and(usage)
            .build(),
        None => usage,
    };
    let period = DateInterval::builder()
        .start(format(q.start, q.granularity))
        .end(format(q.end, q.granularity))
        .build()
        .map_err(|e| bad(e.to_string()))?;
    let granularity = match q.granularity {
        BillGranularity::Daily => Granularity::Daily,
        BillGranularity::Hourly => Granularity::Hourly,
    };
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let r = client
            .get_cost_and_usage()
            .time_period(period.clone())
            .granularity(granularity.clone())
            .metrics("UsageQuantity")
            .metrics("UnblendedCost")
            .filter(filter.clone())
            .group_by(
                GroupDefinition::builder()
                    .r#type(GroupDefinitionType::Dimension)
                    .key("USAGE_TYPE")
                    .build(),
            )
            .set_next_page_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                let e = AwsError::from_sdk("GetCostAndUsage", e);
                if e.message.contains("AccessDenied") || e.message.contains("not authorized") {
                    bad(format!(
                        "Cost Explorer refused the call: the role needs the IAM action ce:GetCostAndUsage \
                         (`costd iam-policy` prints it as an optional statement); {}",
                        e.message
                    ))
                } else {
                    e
                }
            })?;
        for row in r.results_by_time() {
            let tp = row
                .time_period()
                .ok_or_else(|| bad("a result without a time period".into()))?;
            let (start, end) = match (instant(tp.start()), instant(tp.end())) {
                (Some(s), Some(e)) => (s, e),
                _ => return Err(bad(format!("unreadable period {} – {}", tp.start(), tp.end()))),
            };
            for g in row.groups() {
                let metric = |name: &str| -> Result<Decimal, AwsError> {
                    match g.metrics().and_then(|m| m.get(name)).and_then(|v| v.amount()) {
                        Some(a) => a
                            .parse::<Decimal>()
                            .map_err(|_| bad(format!("{name} is not a number: {a}"))),
                        None => Ok(Decimal::ZERO),
                    }
                };
                out.push(BilledUsage {
                    start,
                    end,
                    usage_type: g.keys().first().cloned().unwrap_or_default(),
                    quantity: metric("UsageQuantity")?,
                    cost_usd: metric("UnblendedCost")?,
                });
            }
        }
        token = r.next_page_token().map(str::to_string).filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(out);
        }
    }
    Err(bad(format!(
        "more than {MAX_PAGES} result pages (each a billed request): ask for a shorter period"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn cost_explorer_dates_and_times_are_read() {
        let day = Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0).unwrap();
        assert_eq!(instant("2026-11-03"), Some(day));
        assert_eq!(instant("2026-11-03T00:00:00Z"), Some(day));
        assert_eq!(instant("03/11/2026"), None);
        assert_eq!(format(day, BillGranularity::Daily), "2026-11-03");
        assert_eq!(format(day, BillGranularity::Hourly), "2026-11-03T00:00:00Z");
    }

    #[test]
    fn a_refused_hourly_request_is_told_apart() {
        let e = |kind, message: &str| AwsError {
            op: "GetCostAndUsage",
            kind,
            message: message.into(),
        };
        assert!(hourly_unavailable(&e(
            AwsErrorKind::Other,
            "ValidationException: Hourly granularity is not enabled for this account"
        )));
        assert!(hourly_unavailable(&e(
            AwsErrorKind::Other,
            "ValidationException: start date is too old for hourly, the max supported days for hourly granularity is 14 days"
        )));
        assert!(!hourly_unavailable(&e(
            AwsErrorKind::Other,
            "ValidationException: Start date (and hour) should be before end date (and hour)"
        )));
        assert!(!hourly_unavailable(&e(
            AwsErrorKind::Transient,
            "dispatch failure: hourly"
        )));
        assert!(!hourly_unavailable(&e(
            AwsErrorKind::Other,
            "AccessDeniedException: hourly"
        )));
    }
}
