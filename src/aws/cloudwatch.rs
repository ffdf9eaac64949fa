//! CloudWatch: publishing costd's spend metrics, keeping one metric alarm per
//! budget threshold in step with the config, and reading the ALB's
//! `ConsumedLCUs`. CloudWatch takes doubles: Decimal becomes f64 only here,
//! at the API boundary.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_cloudwatch as cw;
use aws_smithy_types::DateTime as SmithyTime;
use chrono::{DateTime, Utc};
use cw::types::{
    AlarmType, ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat, StandardUnit,
    Statistic, Tag,
};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;

use super::{AwsError, AwsErrorKind};

/// Metric: the projected month total.
pub const PROJECTED: &str = "ProjectedMonthlySpend";
/// Metric: spend so far this month.
pub const MONTH_TO_DATE: &str = "MonthToDateSpend";

/// Every IAM action costd's CloudWatch calls need.
pub const IAM_ACTIONS: &[&str] = &[
    "cloudwatch:DeleteAlarms",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:GetMetricData",
    "cloudwatch:ListTagsForResource",
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:PutMetricData",
    "cloudwatch:TagResource",
];

/// One data point to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    /// Metric name.
    pub metric: &'static str,
    /// Dimensions.
    pub dimensions: Vec<(String, String)>,
    /// USD.
    pub value_usd: Decimal,
}

/// A metric alarm as costd wants it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmSpec {
    /// Name: `costd-<deployment>-<budget>-<kind>-<percent>`.
    pub name: String,
    /// Description.
    pub description: String,
    /// Namespace.
    pub namespace: String,
    /// Metric.
    pub metric: String,
    /// Dimensions.
    pub dimensions: Vec<(String, String)>,
    /// Threshold in USD (GreaterThanThreshold, Maximum over 300 s, 1 period).
    pub threshold_usd: Decimal,
    /// SNS topics for ALARM and OK.
    pub actions: Vec<String>,
}

/// A metric alarm as CloudWatch has it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedAlarm {
    /// The definition, as far as costd manages it.
    pub spec: AlarmSpec,
    /// ARN.
    pub arn: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    /// Whether the rest of the definition is what costd sets (statistic, period, …).
    pub fixed_parts_match: bool,
}

/// The CloudWatch calls costd makes.
pub trait CloudWatchApi: Send + Sync {
    /// Publishes data points.
    fn put_data(
        &self,
        namespace: &str,
        data: &[Datum],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// Metric alarms whose names start with `prefix`.
    fn alarms(&self, prefix: &str) -> impl Future<Output = Result<Vec<ObservedAlarm>, AwsError>> + Send;
    /// Tags of a resource.
    fn tags(&self, arn: &str) -> impl Future<Output = Result<HashMap<String, String>, AwsError>> + Send;
    /// Creates or overwrites a metric alarm.
    fn put_alarm(
        &self,
        spec: &AlarmSpec,
        tags: &[(String, String)],
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// Deletes alarms by name.
    fn delete_alarms(&self, names: &[String]) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// LCU-hours per query id: the hourly averages of `AWS/ApplicationELB ConsumedLCUs`
    /// for the load balancer dimension over `[from, to)`, summed; `None` without data.
    fn consumed_lcu_hours(
        &self,
        queries: &[(String, String, DateTime<Utc>, DateTime<Utc>)],
    ) -> impl Future<Output = Result<HashMap<String, Option<Decimal>>, AwsError>> + Send;
    /// A NAT gateway's byte counters (`AWS/NATGateway`, dimension
    /// `NatGatewayId`) over `[from, to)`: each metric's hourly sums, summed,
    /// in the order of [`NAT_METRICS`].
    fn nat_gateway_bytes(
        &self,
        nat_gateway_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<[u64; 4], AwsError>> + Send;
}

/// The NAT gateway byte metrics `costd traffic --nat-gateway` reads.
pub const NAT_METRICS: [&str; 4] = [
    "BytesOutToDestination",
    "BytesInFromDestination",
    "BytesOutToSource",
    "BytesInFromSource",
];

/// [`CloudWatchApi`] on aws-sdk-cloudwatch.
#[derive(Clone)]
pub struct SdkCloudWatch {
    client: cw::Client,
}

impl SdkCloudWatch {
    /// Wraps a configured client.
    pub fn new(client: cw::Client) -> Self {
        SdkCloudWatch { client }
    }
}

fn err<E, R>(op: &'static str, e: cw::error::SdkError<E, R>) -> AwsError
where
    E: cw::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use cw::error::SdkError;
    let (kind, message) = match &e {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("Unknown");
            let kind = match code {
                c if c.contains("NotFound") => AwsErrorKind::NotFound,
                "Throttling" | "ThrottlingException" | "ServiceUnavailable" | "InternalServiceFault" => {
                    AwsErrorKind::Transient
                }
                _ => AwsErrorKind::Other,
            };
            (kind, format!("{code}: {}", se.err().message().unwrap_or("")))
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            (AwsErrorKind::Transient, super::aws_smithy_error_chain(&e))
        }
        _ => (AwsErrorKind::Other, super::aws_smithy_error_chain(&e)),
    };
    AwsError { op, kind, message }
}

/// The name prefix of a deployment's alarms (`costd-<deployment>-`): what
/// costd manages, lists, and grants itself in the IAM policy.
pub fn alarm_prefix(deployment: &str) -> String {
    format!("costd-{deployment}-")
}

fn dims(pairs: &[(String, String)]) -> Vec<Dimension> {
    pairs
        .iter()
        .map(|(k, v)| Dimension::builder().name(k).value(v).build())
        .collect()
}

fn smithy(t: DateTime<Utc>) -> SmithyTime {
    SmithyTime::from_millis(t.timestamp_millis())
}

use crate::money::usd_to_f64;

impl CloudWatchApi for SdkCloudWatch {
    async fn put_data(&self, namespace: &str, data: &[Datum], at: DateTime<Utc>) -> Result<(), AwsError> {
        for chunk in data.chunks(1000) {
            let datums = chunk
                .iter()
                .map(|d| {
                    MetricDatum::builder()
                        .metric_name(d.metric)
                        .set_dimensions(Some(dims(&d.dimensions)))
                        .value(usd_to_f64(d.value_usd))
                        .unit(StandardUnit::None)
                        .timestamp(smithy(at))
                        .build()
                })
                .collect();
            self.client
                .put_metric_data()
                .namespace(namespace)
                .set_metric_data(Some(datums))
                .send()
                .await
                .map_err(|e| err("PutMetricData", e))?;
        }
        Ok(())
    }

    async fn alarms(&self, prefix: &str) -> Result<Vec<ObservedAlarm>, AwsError> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let r = self
                .client
                .describe_alarms()
                .alarm_name_prefix(prefix)
                .alarm_types(AlarmType::MetricAlarm)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| err("DescribeAlarms", e))?;
            for a in r.metric_alarms() {
                let dimensions = a
                    .dimensions()
                    .iter()
                    .map(|d| {
                        (
                            d.name().unwrap_or_default().to_string(),
                            d.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                let fixed_parts_match = a.statistic() == Some(&Statistic::Maximum)
                    && a.period() == Some(300)
                    && a.evaluation_periods() == Some(1)
                    && a.comparison_operator() == Some(&ComparisonOperator::GreaterThanThreshold)
                    && a.treat_missing_data() == Some("notBreaching")
                    && a.ok_actions() == a.alarm_actions();
                out.push(ObservedAlarm {
                    spec: AlarmSpec {
                        name: a.alarm_name().unwrap_or_default().to_string(),
                        description: a.alarm_description().unwrap_or_default().to_string(),
                        namespace: a.namespace().unwrap_or_default().to_string(),
                        metric: a.metric_name().unwrap_or_default().to_string(),
                        dimensions,
                        threshold_usd: a
                            .threshold()
                            .and_then(Decimal::from_f64)
                            .unwrap_or_default()
                            .round_dp(6),
                        actions: a.alarm_actions().to_vec(),
                    },
                    arn: a.alarm_arn().unwrap_or_default().to_string(),
                    state: a.state_value().map(|s| s.as_str().to_string()).unwrap_or_default(),
                    fixed_parts_match,
                });
            }
            token = r.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn tags(&self, arn: &str) -> Result<HashMap<String, String>, AwsError> {
        let r = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| err("ListTagsForResource", e))?;
        Ok(r.tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
            .collect())
    }

    async fn put_alarm(&self, spec: &AlarmSpec, tags: &[(String, String)]) -> Result<(), AwsError> {
        let tags: Vec<Tag> = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        self.client
            .put_metric_alarm()
            .alarm_name(&spec.name)
            .alarm_description(&spec.description)
            .namespace(&spec.namespace)
            .metric_name(&spec.metric)
            .set_dimensions(Some(dims(&spec.dimensions)))
            .statistic(Statistic::Maximum)
            .period(300)
            .evaluation_periods(1)
            .threshold(usd_to_f64(spec.threshold_usd))
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .treat_missing_data("notBreaching")
            .set_alarm_actions(Some(spec.actions.clone()))
            .set_ok_actions(Some(spec.actions.clone()))
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| err("PutMetricAlarm", e))?;
        Ok(())
    }

    async fn delete_alarms(&self, names: &[String]) -> Result<(), AwsError> {
        if names.is_empty() {
            return Ok(());
        }
        self.client
            .delete_alarms()
            .set_alarm_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(|e| err("DeleteAlarms", e))?;
        Ok(())
    }

    async fn consumed_lcu_hours(
        &self,
        queries: &[(String, String, DateTime<Utc>, DateTime<Utc>)],
    ) -> Result<HashMap<String, Option<Decimal>>, AwsError> {
        let mut out = HashMap::new();
        for (id, lb, from, to) in queries {
            let q = MetricDataQuery::builder()
                .id("lcu")
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("AWS/ApplicationELB")
                                .metric_name("ConsumedLCUs")
                                .dimensions(Dimension::builder().name("LoadBalancer").value(lb).build())
                                .build(),
                        )
                        .period(3600)
                        .stat("Average")
                        .build(),
                )
                .build();
            let r = self
                .client
                .get_metric_data()
                .metric_data_queries(q)
                .start_time(smithy(*from))
                .end_time(smithy(*to))
                .send()
                .await
                .map_err(|e| err("GetMetricData", e))?;
            let values: Vec<f64> = r
                .metric_data_results()
                .iter()
                .flat_map(|m| m.values().to_vec())
                .collect();
            let sum = (!values.is_empty()).then(|| {
                values
                    .iter()
                    .filter_map(|v| Decimal::from_f64(*v))
                    .sum::<Decimal>()
                    .round_dp(6)
            });
            out.insert(id.clone(), sum);
        }
        Ok(out)
    }

    async fn nat_gateway_bytes(
        &self,
        nat_gateway_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<[u64; 4], AwsError> {
        let queries: Vec<MetricDataQuery> = NAT_METRICS
            .iter()
            .enumerate()
            .map(|(i, name)| {
                MetricDataQuery::builder()
                    .id(format!("m{i}"))
                    .metric_stat(
                        MetricStat::builder()
                            .metric(
                                Metric::builder()
                                    .namespace("AWS/NATGateway")
                                    .metric_name(*name)
                                    .dimensions(Dimension::builder().name("NatGatewayId").value(nat_gateway_id).build())
                                    .build(),
                            )
                            .period(3600)
                            .stat("Sum")
                            .build(),
                    )
                    .build()
            })
            .collect();
        let mut sums = [0f64; 4];
        let mut token: Option<String> = None;
        // At most 93 days of hourly points per metric: 4 × 2,232 points, a page or two.
        for _ in 0..10 {
            let r = self
                .client
                .get_metric_data()
                .set_metric_data_queries(Some(queries.clone()))
                .start_time(smithy(from))
                .end_time(smithy(to))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| err("GetMetricData", e))?;
            for m in r.metric_data_results() {
                let i = m
                    .id()
                    .and_then(|id| id.strip_prefix('m'))
                    .and_then(|d| d.parse::<usize>().ok());
                if let Some(i) = i.filter(|i| *i < 4) {
                    sums[i] += m.values().iter().sum::<f64>();
                }
            }
            token = r.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok(sums.map(|v| v.max(0.0).round() as u64))
    }
}

/// What [`sync_alarms`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlarmSync {
    /// Created.
    pub created: Vec<String>,
    /// Overwritten because the definition changed.
    pub updated: Vec<String>,
    /// Deleted because their threshold is gone.
    pub deleted: Vec<String>,
    /// Already as wanted.
    pub unchanged: Vec<String>,
    /// Named like costd's but not tagged as its own: left alone.
    pub foreign: Vec<String>,
}

/// Ownership tags for an alarm of `deployment`.
pub fn alarm_tags(deployment: &str) -> Vec<(String, String)> {
    vec![
        (super::elb::TAG_MANAGED.into(), "true".into()),
        (super::elb::TAG_DEPLOYMENT.into(), deployment.into()),
    ]
}

/// Makes CloudWatch's alarms under `prefix` match `desired`: create missing,
/// overwrite changed, delete those no longer wanted. Alarms without costd's
/// tags for `deployment` are never modified.
pub async fn sync_alarms<C: CloudWatchApi>(
    api: &C,
    prefix: &str,
    deployment: &str,
    desired: &[AlarmSpec],
) -> Result<AlarmSync, AwsError> {
    let mut report = AlarmSync::default();
    let existing = api.alarms(prefix).await?;
    let tags = alarm_tags(deployment);
    let mut owned: HashMap<String, ObservedAlarm> = HashMap::new();
    for a in existing {
        let t = api.tags(&a.arn).await?;
        if super::elb::owned_by(&t, deployment) {
            owned.insert(a.spec.name.clone(), a);
        } else {
            report.foreign.push(a.spec.name.clone());
        }
    }
    for spec in desired {
        if report.foreign.contains(&spec.name) {
            continue;
        }
        match owned.remove(&spec.name) {
            Some(a) if a.spec == *spec && a.fixed_parts_match => report.unchanged.push(spec.name.clone()),
            Some(_) => {
                api.put_alarm(spec, &tags).await?;
                report.updated.push(spec.name.clone());
            }
            None => {
                api.put_alarm(spec, &tags).await?;
                report.created.push(spec.name.clone());
            }
        }
    }
    let stale: Vec<String> = owned.into_keys().collect();
    api.delete_alarms(&stale).await?;
    report.deleted = stale;
    report.created.sort();
    report.updated.sort();
    report.deleted.sort();
    Ok(report)
}

/// The `LoadBalancer` dimension of an ALB ARN (`app/<name>/<id>`).
pub fn lb_dimension(arn: &str) -> Option<String> {
    arn.split_once(":loadbalancer/").map(|(_, rest)| rest.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_balancer_dimension_from_arn() {
        assert_eq!(
            lb_dimension("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/demo/50dc6c495c0c9188")
                .as_deref(),
            Some("app/demo/50dc6c495c0c9188")
        );
        assert_eq!(lb_dimension("arn:aws:sns:x"), None);
    }
}
