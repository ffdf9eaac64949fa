//! `costd bill`: what AWS billed for the deployment's load balancer, from
//! Cost Explorer, beside what the ledger predicts under each partial-hour
//! rule; which rule the account is billed by; and, with `--apply`, that rule
//! written into the config.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::aws::costexplorer::{BillGranularity, BillQuery, BilledUsage};
use crate::config::Config;
use crate::cost::bill::{BillCheck, BilledPeriod, ProjectionError, check, projection_error};
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
    /// The finest granularity read: hourly where the account has it (for
    /// the last 14 days, from `hourly_from`), daily otherwise.
    pub granularity: BillGranularity,
    /// Where hourly rows start (before it the rows are daily), if any are hourly.
    pub hourly_from: Option<DateTime<Utc>>,
    /// The period read: from (inclusive) …
    pub period_start: DateTime<Utc>,
    /// … to (exclusive): the month's end or today's midnight, whichever is first.
    pub period_end: DateTime<Utc>,
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
    /// The month's projection as kept each day, beside the bill.
    pub projection_error: ProjectionError,
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
/// `max_age`, else a fresh one (kept for next time).
async fn cached_query(
    store: &dyn Store,
    client: &aws_sdk_costexplorer::Client,
    q: &BillQuery,
    max_age: Duration,
    now: DateTime<Utc>,
) -> Result<Fetched, BillError> {
    let key = format!("ce:{}", serde_json::to_string(q).expect("a query serializes"));
    if let Some((value, at)) = store.cached(&key)?
        && now - at < max_age
        && let Ok(rows) = serde_json::from_str::<Vec<BilledUsage>>(&value)
    {
        return Ok(Fetched { rows, at, requests: 0 });
    }
    let rows = crate::aws::costexplorer::cost_and_usage(client, q).await?;
    let value = serde_json::to_string(&rows).expect("rows serialize");
    // As the store keeps it (milliseconds), so a kept answer reads back the same.
    let now = chrono::SubsecRound::trunc_subsecs(now, 3);
    // A very large answer is used once, not kept.
    if value.len() <= MAX_CACHED_BYTES {
        store.put_cached(&key, &value, now)?;
    }
    Ok(Fetched {
        rows,
        at: now,
        requests: 1,
    })
}

/// Rows read for a query plan, when, and at how many billed requests.
struct Fetched {
    rows: Vec<BilledUsage>,
    at: DateTime<Utc>,
    requests: usize,
}

/// The largest Cost Explorer answer kept in the store.
pub const MAX_CACHED_BYTES: usize = 4 << 20;

/// The longest `--max-age-hours`: a week.
pub const MAX_AGE_HOURS: u32 = 168;

/// Where the store remembers that the account has no hourly granularity.
const NO_HOURLY_KEY: &str = "ce:hourly-unavailable";

/// How long "no hourly granularity" is believed before hourly is tried again.
pub const NO_HOURLY_RECHECK_DAYS: i64 = 7;

/// What to read the bill for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillRequest {
    /// The month (UTC).
    pub month: Month,
    /// Daily, hourly, or `None`: hourly for the last 14 days where the
    /// account has it enabled, daily for the rest.
    pub granularity: Option<BillGranularity>,
    /// Answers younger than this come from the store (each request is billed).
    pub max_age: Duration,
}

/// Reads each part of `plan` (a period and its granularity), with the tag
/// filter when `tag` is given.
#[allow(clippy::too_many_arguments)]
async fn fetch_plan(
    store: &dyn Store,
    client: &aws_sdk_costexplorer::Client,
    plan: &[(Interval, BillGranularity)],
    usage_types: &[String],
    tag: Option<&str>,
    max_age: Duration,
    now: DateTime<Utc>,
) -> Result<Fetched, BillError> {
    let mut out = Fetched {
        rows: Vec::new(),
        at: now,
        requests: 0,
    };
    for (span, granularity) in plan {
        let q = BillQuery {
            start: span.start,
            end: span.end,
            granularity: *granularity,
            usage_types: usage_types.to_vec(),
            deployment_tag: tag.map(str::to_string),
        };
        let f = cached_query(store, client, &q, max_age, now).await?;
        out.rows.extend(f.rows);
        out.at = out.at.min(f.at);
        out.requests += f.requests;
    }
    Ok(out)
}

/// Reads the bill for `req.month` (up to `now`) and checks it against the
/// ledger and the projections kept for the month.
pub async fn bill(
    cfg: &Config,
    store: &dyn Store,
    prices: &PriceTable,
    client: &aws_sdk_costexplorer::Client,
    req: BillRequest,
    now: DateTime<Utc>,
) -> Result<BillReport, BillError> {
    let month = req.month;
    let whole = month.span(chrono_tz::UTC);
    let today = midnight(now);
    let hourly_since = today - Duration::days(HOURLY_DAYS);
    let mut start = whole.start;
    if req.granularity == Some(BillGranularity::Hourly) {
        start = start.max(hourly_since);
    }
    let span = Interval::new(start, whole.end.min(today)).ok_or_else(|| {
        BillError::Period(format!(
            "no whole {} of {month} has passed yet to compare (Cost Explorer's figures for today are still moving)",
            match req.granularity {
                Some(BillGranularity::Hourly) => "hour in the last 14 days",
                _ => "day",
            }
        ))
    })?;
    let mut warnings = Vec::new();
    let no_hourly = match store.cached(NO_HOURLY_KEY)? {
        Some((said, at)) if now - at < Duration::days(NO_HOURLY_RECHECK_DAYS) => Some(said),
        _ => None,
    };
    let daily = vec![(span, BillGranularity::Daily)];
    let mut plan = match req.granularity {
        Some(g) => vec![(span, g)],
        None => {
            let cut = span.start.max(hourly_since);
            // The hours first: a refusal is then known before the days are paid for.
            match (&no_hourly, Interval::new(cut, span.end)) {
                (None, Some(recent)) => std::iter::once((recent, BillGranularity::Hourly))
                    .chain(Interval::new(span.start, cut).map(|older| (older, BillGranularity::Daily)))
                    .collect(),
                _ => daily.clone(),
            }
        }
    };
    if let (None, Some(said)) = (req.granularity, &no_hourly) {
        warnings.push(format!(
            "compared by day: the account has no hourly granularity ({said})"
        ));
    }
    let usage_types = vec![
        prices.alb.hour.usage_type.clone(),
        prices.alb.lcu_hour.usage_type.clone(),
        prices.public_ipv4.address_hour.usage_type.clone(),
    ];
    let tag = Some(cfg.deployment.as_str());
    let first = fetch_plan(store, client, &plan, &usage_types, tag, req.max_age, now).await;
    let mut fetched = match first {
        Err(BillError::Aws(e)) if crate::aws::costexplorer::hourly_unavailable(&e) => {
            let said = e.message.clone();
            if req.granularity.is_some() {
                return Err(BillError::Period(format!(
                    "Cost Explorer has no hourly figures for this account ({said}): enable \"Hourly and resource \
                     level data\" in Billing and Cost Management → Cost Management preferences (AWS charges for \
                     it), or use --granularity daily"
                )));
            }
            store.put_cached(NO_HOURLY_KEY, &said, chrono::SubsecRound::trunc_subsecs(now, 3))?;
            warnings.push(format!(
                "compared by day: the account has no hourly granularity ({said}); enable \"Hourly and resource \
                 level data\" in the Cost Management preferences to compare by hour (asked again in \
                 {NO_HOURLY_RECHECK_DAYS} days)"
            ));
            plan = daily;
            fetch_plan(store, client, &plan, &usage_types, tag, req.max_age, now).await?
        }
        r => r?,
    };
    let filtered_by_tag = !fetched.rows.is_empty();
    if !filtered_by_tag {
        warnings.push(format!(
            "nothing is billed under the cost-allocation tag costd:deployment={}: activate the tag in the Billing \
             console (Cost allocation tags) so the bill can be filtered by deployment; until then these figures are \
             the usage types of every load balancer in {}, not only costd's",
            cfg.deployment, cfg.region
        ));
        let untagged = fetch_plan(store, client, &plan, &usage_types, None, req.max_age, now).await?;
        fetched = Fetched {
            at: fetched.at.min(untagged.at),
            requests: fetched.requests + untagged.requests,
            rows: untagged.rows,
        };
    }
    let rows = &fetched.rows;
    let mut totals = std::collections::BTreeMap::new();
    for r in rows {
        let t = totals
            .entry(r.usage_type.clone())
            .or_insert((rust_decimal::Decimal::ZERO, rust_decimal::Decimal::ZERO));
        t.0 += r.quantity;
        t.1 += r.cost_usd;
    }
    let hours_type = &usage_types[0];
    let mut parts = plan.clone();
    parts.sort_by_key(|(p, _)| p.start);
    let billed: Vec<BilledPeriod> = parts
        .iter()
        .flat_map(|&(part, g)| periods(part, g))
        .map(|p| {
            let in_p = |r: &&BilledUsage| &r.usage_type == hours_type && r.start >= p.start && r.start < p.end;
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
    let kept = store.projection_days(&cfg.deployment, &month.to_string())?;
    let other_zone = kept.iter().filter(|d| d.timezone != "UTC").count();
    if other_zone > 0 {
        warnings.push(format!(
            "{other_zone} kept projection(s) of {month} took the month in another time zone than the bill's UTC \
             ([projection] timezone) and are left out of the projection error"
        ));
    }
    let days: Vec<(chrono::NaiveDate, rust_decimal::Decimal)> = kept
        .iter()
        .filter(|d| d.timezone == "UTC")
        .map(|d| (d.day, d.alb_projected_usd))
        .collect();
    let billed_usd = totals.values().map(|t| t.1).sum();
    let hourly_from = plan
        .iter()
        .find(|(_, g)| *g == BillGranularity::Hourly)
        .map(|(p, _)| p.start);
    Ok(BillReport {
        month: month.to_string(),
        granularity: if hourly_from.is_some() {
            BillGranularity::Hourly
        } else {
            BillGranularity::Daily
        },
        hourly_from,
        period_start: span.start,
        period_end: span.end,
        hours_usage_type: hours_type.clone(),
        filtered_by_tag,
        fetched_at: fetched.at,
        requests_made: fetched.requests,
        warnings,
        configured_rule: cfg.partial_hour,
        check: check(&lifetimes, &billed),
        projection_error: projection_error(&days, billed_usd, span == whole),
        totals_by_usage_type: totals,
    })
}

/// Where the daemon keeps its last bill check (the API serves it).
pub const LAST_CHECK_KEY: &str = "bill:last-check";

/// The previous month is checked again on the first days of a month, until
/// its bill is final.
pub const PREVIOUS_MONTH_DAYS: u32 = 5;

/// The daemon's bill check, as kept and served.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BillChecks {
    /// When it ran.
    pub checked_at: DateTime<Utc>,
    /// One report per month checked: the current one, and on the first days
    /// of a month the previous one too (its bill is becoming final).
    pub reports: Vec<BillReport>,
}

/// The daemon's scheduled check: the current month (UTC) and, in its first
/// [`PREVIOUS_MONTH_DAYS`] days, the previous one; answers younger than 6
/// hours come from the store. The result is kept under [`LAST_CHECK_KEY`].
pub async fn scheduled_check(app: &super::App, now: DateTime<Utc>) -> Result<BillChecks, BillError> {
    use chrono::Datelike;
    let client = crate::aws::cost_explorer_client(&app.cfg.aws.for_cost_explorer()).await;
    let current = Month::containing(now, chrono_tz::UTC);
    let mut months = vec![current];
    if now.day() <= PREVIOUS_MONTH_DAYS {
        months.insert(0, current.previous());
    }
    let prices = app.prices.get();
    let mut reports = Vec::new();
    for month in months {
        let req = BillRequest {
            month,
            granularity: None,
            max_age: Duration::hours(6),
        };
        match bill(&app.cfg, app.store.as_ref(), prices.table(), &client, req, now).await {
            Ok(r) => reports.push(r),
            // The month's first day: nothing whole to compare yet.
            Err(BillError::Period(why)) if month == current => tracing::debug!(%why, "bill check: {month} skipped"),
            Err(e) => return Err(e),
        }
    }
    let checks = BillChecks {
        checked_at: chrono::SubsecRound::trunc_subsecs(now, 3),
        reports,
    };
    let value = serde_json::to_string(&checks).expect("a bill check serializes");
    app.store.put_cached(LAST_CHECK_KEY, &value, checks.checked_at)?;
    Ok(checks)
}

/// The daemon's last bill check, as kept (JSON), if one has run.
pub fn last_check(store: &dyn Store) -> Result<Option<serde_json::Value>, crate::store::StoreError> {
    Ok(store
        .cached(LAST_CHECK_KEY)?
        .and_then(|(v, _)| serde_json::from_str(&v).ok()))
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
