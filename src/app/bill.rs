//! `costd bill`: what AWS billed for the deployment's load balancer, from
//! Cost Explorer, beside what the ledger predicts under each partial-hour
//! rule; which rule the account is billed by; and, with `--apply`, that rule
//! written into the config.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::aws::costexplorer::{BillGranularity, BillQuery, BilledUsage};
use crate::config::Config;
use crate::cost::bill::{BillCheck, BilledPeriod, check};
use crate::cost::billing::PartialHour;
use crate::pricing::PriceTable;
use crate::schedule::{Interval, Month};
use crate::store::Store;

/// Hourly granularity reaches this far back (Cost Explorer keeps 14 days of hourly data).
pub const HOURLY_DAYS: i64 = 14;

/// Why `costd bill` failed.
#[derive(Debug, thiserror::Error)]
pub enum BillError {
    /// The store.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Cost Explorer.
    #[error("{0}")]
    Aws(#[from] crate::aws::AwsError),
    /// Nothing to ask for.
    #[error("{0}")]
    Period(String),
}

/// `costd bill`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BillReport {
    /// The month (UTC, as AWS bills).
    pub month: String,
    /// Daily or hourly.
    pub granularity: BillGranularity,
    /// The usage type of the load balancer hours compared (e.g. `APS1-LoadBalancerUsage`).
    pub hours_usage_type: String,
    /// Whether the `costd:deployment` cost-allocation tag filtered the bill.
    pub filtered_by_tag: bool,
    /// When the figures were read from Cost Explorer (earlier than now when
    /// they came from the store's copy).
    pub fetched_at: DateTime<Utc>,
    /// Cost Explorer requests this run made (each is billed; kept answers cost none).
    pub requests_made: usize,
    /// What to know before trusting the figures.
    pub warnings: Vec<String>,
    /// The rule the config uses now.
    pub configured_rule: PartialHour,
    /// The comparison.
    pub check: BillCheck,
    /// Everything billed for the usage types, by usage type: (quantity, USD).
    #[schema(value_type = std::collections::BTreeMap<String, Vec<String>>)]
    pub totals_by_usage_type: std::collections::BTreeMap<String, (rust_decimal::Decimal, rust_decimal::Decimal)>,
}

/// The periods of `span` at `granularity`.
fn periods(span: Interval, granularity: BillGranularity) -> Vec<Interval> {
    let step = match granularity {
        BillGranularity::Daily => Duration::days(1),
        BillGranularity::Hourly => Duration::hours(1),
    };
    let mut out = Vec::new();
    let mut t = span.start;
    while t < span.end {
        out.push(Interval {
            start: t,
            end: (t + step).min(span.end),
        });
        t += step;
    }
    out
}

/// Cost Explorer's answer to `q`: the store's copy when it is younger than
/// `max_age`, else a fresh one (kept for next time). Returns the rows, when
/// they were fetched, and how many requests were made.
async fn cached_query(
    store: &dyn Store,
    client: &aws_sdk_costexplorer::Client,
    q: &BillQuery,
    max_age: Duration,
    now: DateTime<Utc>,
) -> Result<(Vec<BilledUsage>, DateTime<Utc>, usize), BillError> {
    let key = format!("ce:{}", serde_json::to_string(q).expect("a query serializes"));
    if let Some((value, at)) = store.cached(&key)?
        && now - at < max_age
        && let Ok(rows) = serde_json::from_str::<Vec<BilledUsage>>(&value)
    {
        return Ok((rows, at, 0));
    }
    let rows = crate::aws::costexplorer::cost_and_usage(client, q).await?;
    let value = serde_json::to_string(&rows).expect("rows serialize");
    // As the store keeps it (milliseconds), so a kept answer reads back the same.
    let now = chrono::SubsecRound::trunc_subsecs(now, 3);
    // A very large answer is used once, not kept.
    if value.len() <= MAX_CACHED_BYTES {
        store.put_cached(&key, &value, now)?;
    }
    Ok((rows, now, 1))
}

/// The largest Cost Explorer answer kept in the store.
pub const MAX_CACHED_BYTES: usize = 4 << 20;

/// The longest `--max-age-hours`: a week.
pub const MAX_AGE_HOURS: u32 = 168;

/// Reads the bill for `month` (up to `now`) and checks it against the ledger.
/// Answers younger than `max_age` are taken from the store (Cost Explorer
/// charges per request).
#[allow(clippy::too_many_arguments)]
pub async fn bill(
    cfg: &Config,
    store: &dyn Store,
    prices: &PriceTable,
    client: &aws_sdk_costexplorer::Client,
    month: Month,
    granularity: BillGranularity,
    max_age: Duration,
    now: DateTime<Utc>,
) -> Result<BillReport, BillError> {
    let whole = month.span(chrono_tz::UTC);
    let mut start = whole.start;
    let end = whole.end.min(midnight(now));
    if granularity == BillGranularity::Hourly {
        start = start.max(midnight(now) - Duration::days(HOURLY_DAYS));
    }
    let span = Interval::new(start, end).ok_or_else(|| {
        BillError::Period(format!(
            "no whole {} of {month} has passed yet to compare (Cost Explorer's figures for today are still moving)",
            match granularity {
                BillGranularity::Daily => "day",
                BillGranularity::Hourly => "hour in the last 14 days",
            }
        ))
    })?;
    let hours_type = prices.alb.hour.usage_type.clone();
    let usage_types = vec![
        hours_type.clone(),
        prices.alb.lcu_hour.usage_type.clone(),
        prices.public_ipv4.address_hour.usage_type.clone(),
    ];
    let mut query = BillQuery {
        start: span.start,
        end: span.end,
        granularity,
        usage_types,
        deployment_tag: Some(cfg.deployment.clone()),
    };
    let mut warnings = Vec::new();
    let (mut rows, mut fetched_at, mut requests_made) = cached_query(store, client, &query, max_age, now).await?;
    let filtered_by_tag = !rows.is_empty();
    if rows.is_empty() {
        warnings.push(format!(
            "nothing is billed under the cost-allocation tag costd:deployment={}: activate the tag in the Billing \
             console (Cost allocation tags) so the bill can be filtered by deployment; until then these figures are \
             the usage types of every load balancer in {}, not only costd's",
            cfg.deployment, cfg.region
        ));
        query.deployment_tag = None;
        let (r, at, n) = cached_query(store, client, &query, max_age, now).await?;
        (rows, fetched_at, requests_made) = (r, fetched_at.min(at), requests_made + n);
    }
    let mut totals = std::collections::BTreeMap::new();
    for r in &rows {
        let t = totals
            .entry(r.usage_type.clone())
            .or_insert((rust_decimal::Decimal::ZERO, rust_decimal::Decimal::ZERO));
        t.0 += r.quantity;
        t.1 += r.cost_usd;
    }
    let billed: Vec<BilledPeriod> = periods(span, granularity)
        .into_iter()
        .map(|p| {
            let in_p = |r: &&BilledUsage| r.usage_type == hours_type && r.start >= p.start && r.start < p.end;
            BilledPeriod {
                period: p,
                hours: rows.iter().filter(in_p).map(|r| r.quantity).sum(),
                cost_usd: rows.iter().filter(in_p).map(|r| r.cost_usd).sum(),
            }
        })
        .collect();
    let lifetimes: Vec<Interval> = store
        .lifetimes(&cfg.deployment, span.start, span.end)?
        .into_iter()
        .filter(|l| !l.dry_run && l.lb_arn.is_some())
        .filter_map(|l| Interval::new(l.created_at, l.deleted_at.unwrap_or(now)))
        .collect();
    Ok(BillReport {
        month: month.to_string(),
        granularity,
        hours_usage_type: hours_type,
        filtered_by_tag,
        fetched_at,
        requests_made,
        warnings,
        configured_rule: cfg.partial_hour,
        check: check(&lifetimes, &billed),
        totals_by_usage_type: totals,
    })
}

/// Midnight UTC of `t`'s day.
fn midnight(t: DateTime<Utc>) -> DateTime<Utc> {
    t.date_naive().and_hms_opt(0, 0, 0).expect("midnight").and_utc()
}

/// `text` (a config file) with `[billing] partial_hour` set to `rule`: the
/// key replaced where it is, added to an existing `[billing]` section, or a
/// new section appended. Comments and everything else are kept.
pub fn with_partial_hour(text: &str, rule: PartialHour) -> String {
    let line = format!("partial_hour = \"{}\"", rule.as_str());
    let mut out: Vec<String> = Vec::new();
    let mut in_billing = false;
    let mut done = false;
    for l in text.lines() {
        let t = l.trim_start();
        if t.starts_with('[') {
            if in_billing && !done {
                out.push(line.clone());
                done = true;
            }
            in_billing = t.starts_with("[billing]");
        }
        if in_billing && !done && t.starts_with("partial_hour") {
            out.push(line.clone());
            done = true;
            continue;
        }
        out.push(l.to_string());
    }
    if in_billing && !done {
        out.push(line.clone());
        done = true;
    }
    if !done {
        out.push(String::new());
        out.push("[billing]".into());
        out.push(line);
    }
    out.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_is_written_into_the_config_keeping_the_rest() {
        // No [billing] yet: appended.
        let t = with_partial_hour("# mine\n[deployment]\nname = \"d\"\n", PartialHour::Lifetime);
        assert_eq!(
            t,
            "# mine\n[deployment]\nname = \"d\"\n\n[billing]\npartial_hour = \"lifetime\"\n"
        );
        // Replaced where it is, comments kept.
        let t = with_partial_hour(
            "[billing]\n# measured\npartial_hour = \"lifetime\"\n[web]\nlisten = \"x\"\n",
            PartialHour::ClockHour,
        );
        assert_eq!(
            t,
            "[billing]\n# measured\npartial_hour = \"clock_hour\"\n[web]\nlisten = \"x\"\n"
        );
        // An empty [billing] section before another: added inside it.
        let t = with_partial_hour("[billing]\n[web]\n", PartialHour::Lifetime);
        assert_eq!(t, "[billing]\npartial_hour = \"lifetime\"\n[web]\n");
    }

    #[test]
    fn periods_cover_the_span() {
        use chrono::TimeZone;
        let s = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        let span = Interval::new(s, s + Duration::days(3)).unwrap();
        assert_eq!(periods(span, BillGranularity::Daily).len(), 3);
        assert_eq!(periods(span, BillGranularity::Hourly).len(), 72);
    }
}
