//! Scenario files (`config/scenarios/*.toml`): what to price. Parsed into
//! typed specs for the cost model; every error names the file, line and key.

use crate::schedule::planner::{LifetimeRules, MAX_LEAD_OR_GRACE_MINUTES};
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::cost::billing::PartialHour;
use crate::cost::load_balancer::{LbKind, LoadBalancerSpec, Scheme, TargetType, TrafficProfile};
use crate::cost::monitoring::MonitoringSpec;
use crate::cost::network::{Measured, NetworkSpec};
use crate::input::{Document, InputError, TableReader, Value};
use crate::schedule::{CronExpr, Interval, Month, RecurringWindow, WindowSpec, parse_duration};

/// The seed's production VPC, embedded so `costd model` runs with no files.
pub const EMBEDDED_SEED: &str = include_str!("../config/scenarios/seed-production-vpc.toml");

/// Hours in a what-if month unless the scenario says otherwise (AWS Pricing Calculator).
pub const DEFAULT_HOURS_PER_MONTH: Decimal = dec!(730);

/// A load balancer and the windows it runs in.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancerScenario {
    /// What it is and its traffic.
    pub spec: LoadBalancerSpec,
    /// When it runs (empty: only always-on is priced).
    pub schedule: Vec<WindowSpec>,
    /// How the windows become lifetimes (`lead_minutes`, `grace_minutes`,
    /// `coalesce`; the daemon's defaults).
    pub rules: LifetimeRules,
    /// Days on which recurring windows do not open (`blackout_dates`, whole
    /// days in `blackout_timezone`), as the daemon's `[schedule]` has them.
    pub blackouts: crate::schedule::blackout::Blackouts,
}

/// The most blackout dates a scenario lists.
pub const MAX_BLACKOUT_DATES: usize = 1000;

/// Which month the figures are for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Period {
    /// A what-if month of this many hours; schedules are averaged over a year.
    WhatIf {
        /// Hours in the month.
        hours_per_month: Decimal,
    },
    /// A real calendar month (UTC, as AWS bills).
    Calendar(Month),
}

/// A parsed scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// AWS region; a price table must exist for it.
    pub region: String,
    /// The month priced.
    pub period: Period,
    /// NAT vs endpoints, if present.
    pub network: Option<NetworkSpec>,
    /// The load balancer, if present.
    pub load_balancer: Option<LoadBalancerScenario>,
    /// costd's CloudWatch cost, if present.
    pub monitoring: Option<MonitoringSpec>,
    /// How partial hours are billed (`partial_hour`, default `clock_hour`).
    pub partial_hour: PartialHour,
}

/// A `partial_hour` value: `lifetime` or `clock_hour`.
pub fn parse_partial_hour(v: &Value) -> Result<PartialHour, InputError> {
    v.r().parse_with("\"lifetime\" or \"clock_hour\"", |s| {
        PartialHour::parse(s).ok_or_else(|| format!("`{s}` is not a partial-hour rule"))
    })
}

impl Scenario {
    /// Parses a scenario; `regions` are those with a price table.
    pub fn parse(file: &str, src: &str, regions: &[&str]) -> Result<Self, InputError> {
        let doc = Document::parse(file, src)?;
        let root = doc.root();
        let region_v = root.require("region")?;
        let region = region_v.str()?;
        if !regions.contains(&region.as_str()) {
            return Err(region_v.error(format!(
                "no price table for region `{region}`; available: {}",
                regions.join(", ")
            )));
        }
        let period = match (root.get("hours_per_month"), root.get("month")) {
            (Some(h), Some(_)) => {
                return Err(
                    h.error("set `month` (a real calendar month) or `hours_per_month` (a what-if month), not both")
                );
            }
            (_, Some(m)) => Period::Calendar(m.r().parse_with("a month as \"YYYY-MM\"", Month::parse)?),
            (Some(h), None) => {
                let hours = h.decimal()?;
                if hours <= Decimal::ZERO || hours > dec!(744) {
                    return Err(h.error(format!("must be more than 0 and at most 744 (31 × 24), found {hours}")));
                }
                Period::WhatIf { hours_per_month: hours }
            }
            (None, None) => Period::WhatIf {
                hours_per_month: DEFAULT_HOURS_PER_MONTH,
            },
        };
        let network = root.get("network").map(|v| network(&v)).transpose()?;
        let load_balancer = root.get("load_balancer").map(|v| load_balancer(&v)).transpose()?;
        let monitoring = root.get("monitoring").map(|v| monitoring(&v)).transpose()?;
        let partial_hour = root
            .get("partial_hour")
            .map(|v| parse_partial_hour(&v))
            .transpose()?
            .unwrap_or_default();
        if network.is_none() && load_balancer.is_none() && monitoring.is_none() {
            return Err(root.error(
                "network",
                "nothing to price: add a [network], [load_balancer] or [monitoring] section",
            ));
        }
        root.finish()?;
        Ok(Scenario {
            region,
            period,
            network,
            load_balancer,
            monitoring,
            partial_hour,
        })
    }
}

fn network(v: &Value) -> Result<NetworkSpec, InputError> {
    let t = v.table()?;
    let azs = t.require("azs")?.u32_in(1, 32)?;
    let traffic = t.require("traffic_gb_per_month")?.table()?;
    let mut spec = NetworkSpec {
        azs,
        ..Default::default()
    };
    let mut services = BTreeMap::new();
    for (dest, gb) in traffic.entries() {
        let amount = gb.non_negative()?;
        match dest.as_str() {
            "s3" => spec.s3_gb = amount,
            "dynamodb" => spec.dynamodb_gb = amount,
            "internet" => spec.internet_gb = amount,
            crate::cost::network::UNNAMED_AWS => spec.unnamed_aws_gb = amount,
            service => {
                let valid = !service.is_empty()
                    && service
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
                if !valid {
                    return Err(gb.error(format!(
                        "`{service}` is not a destination; use s3, dynamodb, internet, aws_unnamed, or an interface-endpoint service name such as \"ecr.dkr\", logs, sts"
                    )));
                }
                services.insert(service.to_string(), amount);
            }
        }
    }
    spec.services_gb = services;
    spec.internet_egress_gb = match t.get("internet_egress_gb_per_month") {
        Some(e) => {
            let gb = e.non_negative()?;
            if gb > spec.internet_gb {
                return Err(e.error(format!(
                    "egress ({gb} GB) cannot exceed the internet traffic in traffic_gb_per_month.internet ({} GB)",
                    spec.internet_gb
                )));
            }
            gb
        }
        None => spec.internet_gb,
    };
    spec.cross_az_gb = t
        .get("cross_az_gb_per_month")
        .map(|v| v.non_negative())
        .transpose()?
        .unwrap_or_default();
    spec.measured = t.get("measured").map(|m| measured(&m, &spec, &t)).transpose()?;
    traffic.finish()?;
    t.finish()?;
    Ok(spec)
}

/// `[network.measured]`: where the volumes came from (`costd traffic`
/// writes it). Every volume is measured except those listed in `estimated`.
fn measured(v: &Value, spec: &NetworkSpec, network: &TableReader) -> Result<Measured, InputError> {
    let t = v.table()?;
    let text = |key: &str, max: usize| -> Result<String, InputError> {
        let v = t.require(key)?;
        let s = v.str()?;
        if s.chars().count() > max {
            return Err(v.error(format!("at most {max} characters")));
        }
        Ok(s)
    };
    let source = text("source", 200)?;
    let from = text("from", 40)?;
    let to = text("to", 40)?;
    if let Some(r) = t.get("records") {
        r.non_negative()?;
    }
    let mut keys: std::collections::BTreeSet<String> = spec.services_gb.keys().cloned().collect();
    for key in ["s3", "dynamodb", "internet", crate::cost::network::UNNAMED_AWS] {
        keys.insert(key.to_string());
    }
    if network.get("internet_egress_gb_per_month").is_some() {
        keys.insert("internet_egress".into());
    }
    if network.get("cross_az_gb_per_month").is_some() {
        keys.insert("cross_az".into());
    }
    if let Some(list) = t.get("estimated") {
        for item in list.items()? {
            let k = item.str()?;
            if !keys.remove(&k) {
                return Err(item.error(format!(
                    "`{k}` is not one of the volumes: {}",
                    keys.iter().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
        }
    }
    t.finish()?;
    Ok(Measured { source, from, to, keys })
}

fn choice<T: Copy>(v: &Value, options: &[(&str, T)]) -> Result<T, InputError> {
    let s = v.str()?;
    options
        .iter()
        .find(|(name, _)| *name == s)
        .map(|(_, x)| *x)
        .ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            v.error(format!("`{s}` is not valid; expected one of: {}", names.join(", ")))
        })
}

fn opt_non_negative(t: &TableReader, key: &str) -> Result<Decimal, InputError> {
    t.get(key)
        .map(|v| v.non_negative())
        .transpose()
        .map(|d| d.unwrap_or(Decimal::ZERO))
}

/// A traffic figure, zero up to `max`: the bounds keep every product in the
/// capacity-unit arithmetic (connections × duration, requests × rules, LCUs ×
/// hours × rate) inside `Decimal`'s range whatever the file says.
fn traffic(t: &TableReader, key: &str, max: i64, unit: &str) -> Result<Decimal, InputError> {
    let d = opt_non_negative(t, key)?;
    if d > Decimal::from(max) {
        let v = t.require(key)?;
        return Err(v.error(format!("{d} is more than the most allowed, {max} {unit}")));
    }
    Ok(d)
}

fn load_balancer(v: &Value) -> Result<LoadBalancerScenario, InputError> {
    let t = v.table()?;
    let kind = choice(
        &t.require("kind")?,
        &[("application", LbKind::Application), ("network", LbKind::Network)],
    )?;
    let scheme = choice(
        &t.require("scheme")?,
        &[
            ("internet-facing", Scheme::InternetFacing),
            ("internal", Scheme::Internal),
        ],
    )?;
    let azs_v = t.require("azs")?;
    let azs = azs_v.u32_in(1, 32)?;
    if kind == LbKind::Application && azs < 2 {
        return Err(azs_v.error("an Application Load Balancer needs at least 2 AZs"));
    }
    let tt_v = t.require("target_type")?;
    let target_type = choice(
        &tt_v,
        &[
            ("ip", TargetType::Ip),
            ("instance", TargetType::Instance),
            ("lambda", TargetType::Lambda),
        ],
    )?;
    if kind == LbKind::Network && target_type == TargetType::Lambda {
        return Err(tt_v.error("a Network Load Balancer cannot target Lambda; expected ip or instance"));
    }
    let traffic = TrafficProfile {
        new_connections_per_second: traffic(&t, "new_connections_per_second", 1_000_000_000, "per second")?,
        connection_duration_seconds: traffic(&t, "connection_duration_seconds", 1_000_000, "seconds")?,
        requests_per_second: traffic(&t, "requests_per_second", 1_000_000_000, "per second")?,
        processed_gb_per_hour: traffic(&t, "processed_gb_per_hour", 1_000_000_000, "GB per hour")?,
        rules_evaluated_per_request: traffic(&t, "rules_evaluated_per_request", 10_000, "rules")?,
    };
    let schedule = match t.get("schedule") {
        Some(s) => {
            let items = s.items()?;
            let mut bounds = crate::schedule::ScheduleBounds::entries(items.len()).map_err(|e| s.error(e))?;
            let mut out = Vec::with_capacity(items.len());
            for item in &items {
                let w = window(item)?;
                if let WindowSpec::Recurring(r) = &w {
                    bounds.add(&r.cron).map_err(|e| {
                        item.table()
                            .and_then(|t| t.require("cron"))
                            .map_or_else(|x| x, |c| c.error(e))
                    })?;
                }
                out.push(w);
            }
            out
        }
        None => Vec::new(),
    };
    let d = LifetimeRules::default();
    let minutes = |key: &str, default: chrono::Duration| -> Result<chrono::Duration, InputError> {
        Ok(match t.get(key) {
            Some(v) => chrono::Duration::minutes(i64::from(v.u32_in(0, MAX_LEAD_OR_GRACE_MINUTES)?)),
            None => default,
        })
    };
    let rules = LifetimeRules {
        lead: minutes("lead_minutes", d.lead)?,
        grace: minutes("grace_minutes", d.grace)?,
        coalesce: t.get("coalesce").map(|v| v.bool()).transpose()?.unwrap_or(d.coalesce),
    };
    // Blackout days are local to a zone: `blackout_timezone`, else the first
    // recurring window's, else UTC.
    let tz = match t.get("blackout_timezone") {
        Some(v) => v
            .r()
            .parse_with("a zone such as \"Asia/Singapore\" or \"UTC\"", parse_timezone)?,
        None => schedule
            .iter()
            .find_map(|w| match w {
                WindowSpec::Recurring(r) => Some(r.timezone),
                WindowSpec::OneOff(_) => None,
            })
            .unwrap_or(chrono_tz::UTC),
    };
    let mut blackouts = crate::schedule::blackout::Blackouts::default();
    if let Some(v) = t.get("blackout_dates") {
        let items = v.items()?;
        if items.len() > MAX_BLACKOUT_DATES {
            return Err(v.error(format!("{} dates; at most {MAX_BLACKOUT_DATES}", items.len())));
        }
        for item in items {
            let s = item.str()?;
            let d = chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map_err(|_| item.error(format!("`{s}` is not a date; expected YYYY-MM-DD")))?;
            blackouts.add_date(d, tz);
        }
    }
    let hosted_zone = t.get("stable_name").map(|v| v.bool()).transpose()?.unwrap_or(false);
    t.finish()?;
    Ok(LoadBalancerScenario {
        blackouts,
        rules,
        spec: LoadBalancerSpec {
            kind,
            scheme,
            azs,
            target_type,
            traffic,
            hosted_zone,
        },
        schedule,
    })
}

/// Parses an IANA time zone name.
pub fn parse_timezone(s: &str) -> Result<Tz, String> {
    s.parse::<Tz>().map_err(|_| format!("`{s}` is not an IANA time zone"))
}

/// Parses an RFC 3339 instant with its offset.
pub fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{s}`: {e}"))
}

fn window(v: &Value) -> Result<WindowSpec, InputError> {
    let t = v.table()?;
    let w = if let Some(c) = t.get("cron") {
        let cron = c
            .r()
            .parse_with("a 5-field cron expression such as \"0 9 * * Mon-Fri\"", CronExpr::parse)?;
        let duration = t
            .require("duration")?
            .r()
            .parse_with("a duration such as \"3h\" or \"1h30m\"", parse_duration)?;
        let timezone = t
            .require("timezone")?
            .r()
            .parse_with("a zone such as \"Asia/Singapore\" or \"UTC\"", parse_timezone)?;
        WindowSpec::Recurring(RecurringWindow {
            cron,
            duration,
            timezone,
        })
    } else if let Some(s) = t.get("start") {
        let what = "an RFC 3339 time with offset such as \"2026-12-03T09:00:00+08:00\"";
        let start = s.r().parse_with(what, parse_instant)?;
        let end_v = t.require("end")?;
        let end = end_v.r().parse_with(what, parse_instant)?;
        WindowSpec::OneOff(Interval::new(start, end).ok_or_else(|| end_v.error("a window must end after it starts"))?)
    } else {
        return Err(t.error(
            "cron",
            "a window needs either `cron` + `duration` + `timezone` (recurring) or `start` + `end` (one-off)",
        ));
    };
    t.finish()?;
    Ok(w)
}

fn monitoring(v: &Value) -> Result<MonitoringSpec, InputError> {
    let t = v.table()?;
    let m = MonitoringSpec {
        custom_metrics: t.require("custom_metrics")?.non_negative()?,
        alarms: t.require("alarms")?.non_negative()?,
        api_requests_per_month: t.require("api_requests_per_month")?.non_negative()?,
        get_metric_data_metrics_per_month: t
            .get("get_metric_data_metrics_per_month")
            .map(|v| v.non_negative())
            .transpose()?
            .unwrap_or_default(),
        free_tier: t.get("free_tier").map(|v| v.bool()).transpose()?.unwrap_or(false),
    };
    t.finish()?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGIONS: &[&str] = &["ap-southeast-1", "us-east-1"];

    fn err(src: &str) -> InputError {
        Scenario::parse("s.toml", src, REGIONS).unwrap_err()
    }

    const LB: &str =
        "[load_balancer]\nkind = \"application\"\nscheme = \"internet-facing\"\nazs = 2\ntarget_type = \"ip\"\n";

    #[test]
    fn the_embedded_seed_parses() {
        let s = Scenario::parse("seed", EMBEDDED_SEED, REGIONS).unwrap();
        assert_eq!(s.region, "ap-southeast-1");
        assert_eq!(
            s.period,
            Period::WhatIf {
                hours_per_month: dec!(730)
            }
        );
        assert_eq!(s.network.unwrap().services_gb.len(), 3);
        assert_eq!(s.load_balancer.unwrap().schedule.len(), 1);
    }

    #[test]
    fn unknown_region() {
        let e = err("region = \"mars-north-1\"\n[network]\nazs = 2\n[network.traffic_gb_per_month]\n");
        assert_eq!((e.line, e.key.as_str()), (1, "region"));
        assert!(e.message.contains("available: ap-southeast-1, us-east-1"), "{e}");
    }

    #[test]
    fn a_schedule_that_would_expand_without_bound_is_refused() {
        // 20 entries firing every minute: 28,800 windows a day, 10.5 million a
        // year of what-if expansion. The first one alone (1,440 a day) is over
        // the 96-a-day limit, so the error names it.
        let every_minute = "[[load_balancer.schedule]]\ncron = \"* * * * *\"\nduration = \"1h\"\ntimezone = \"UTC\"\n";
        let e = err(&format!("region = \"us-east-1\"\n{LB}{}", every_minute.repeat(20)));
        assert_eq!((e.line, e.key.as_str()), (8, "load_balancer.schedule[0].cron"), "{e}");
        assert!(
            e.message.contains("1440 times a day") && e.message.contains("96"),
            "{e}"
        );
        // Every 15 minutes is allowed once; a second such entry is over the total.
        let quarter = "[[load_balancer.schedule]]\ncron = \"*/15 * * * *\"\nduration = \"10m\"\ntimezone = \"UTC\"\n";
        assert!(Scenario::parse("s.toml", &format!("region = \"us-east-1\"\n{LB}{quarter}"), REGIONS).is_ok());
        let e = err(&format!("region = \"us-east-1\"\n{LB}{}", quarter.repeat(2)));
        assert_eq!(e.key, "load_balancer.schedule[1].cron", "{e}");
        // More than 100 entries, even harmless one-offs, are refused.
        let one_off =
            "[[load_balancer.schedule]]\nstart = \"2026-12-03T09:00:00+08:00\"\nend = \"2026-12-03T10:00:00+08:00\"\n";
        let e = err(&format!("region = \"us-east-1\"\n{LB}{}", one_off.repeat(101)));
        assert!(
            e.message.contains("101 schedule entries; the most allowed is 100"),
            "{e}"
        );
        assert!(
            Scenario::parse(
                "s.toml",
                &format!("region = \"us-east-1\"\n{LB}{}", one_off.repeat(100)),
                REGIONS
            )
            .is_ok()
        );
    }

    #[test]
    fn huge_numbers_are_refused_by_name() {
        // 10^28 requests a second once overflowed Decimal in the LCU arithmetic (a panic).
        let e = err(&format!(
            "region = \"us-east-1\"\n{LB}requests_per_second = 10000000000000000000000000000\n"
        ));
        assert_eq!(e.key, "load_balancer.requests_per_second", "{e}");
        assert!(
            e.message.contains("too large") || e.message.contains("not a number"),
            "{e}"
        );
        let e = err(&format!(
            "region = \"us-east-1\"\n{LB}requests_per_second = 1000000000001\n"
        ));
        assert!(e.message.contains("too large"), "{e}");
        let e = err(&format!(
            "region = \"us-east-1\"\n{LB}requests_per_second = 1000000001\n"
        ));
        assert!(e.message.contains("most allowed, 1000000000 per second"), "{e}");
        let e = err("region = \"us-east-1\"\n[network]\nazs = 2\n[network.traffic_gb_per_month]\ns3 = 1e13\n");
        assert_eq!(e.key, "network.traffic_gb_per_month.s3", "{e}");
    }

    #[test]
    fn the_largest_inputs_price_without_overflow() {
        // Every traffic figure at its maximum, a year of the densest schedule
        // allowed: the model answers (no panic) with finite figures.
        let src = format!(
            "region = \"us-east-1\"\n[network]\nazs = 32\n[network.traffic_gb_per_month]\ns3 = 1000000000000\n\
             internet = 1000000000000\n{LB}new_connections_per_second = 1000000000\n\
             connection_duration_seconds = 1000000\nrequests_per_second = 1000000000\n\
             processed_gb_per_hour = 1000000000\nrules_evaluated_per_request = 10000\n\
             [[load_balancer.schedule]]\ncron = \"*/15 * * * *\"\nduration = \"12h\"\ntimezone = \"UTC\"\n"
        );
        let scenario = Scenario::parse("s.toml", &src, REGIONS).unwrap();
        let book = crate::pricing::load::PriceBook::embedded().unwrap();
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")
            .unwrap()
            .to_utc();
        let report = crate::model::evaluate(&scenario, book.get("us-east-1").unwrap(), at);
        let lb = report.load_balancer.unwrap();
        assert!(lb.always_on.monthly_usd > Decimal::ZERO);
        assert!(lb.scheduled.unwrap().monthly_usd > Decimal::ZERO);
    }

    #[test]
    fn blackout_dates_are_days_in_a_zone_and_bounded() {
        use chrono::TimeZone;
        let parse = |extra: &str| {
            Scenario::parse(
                "s.toml",
                &format!(
                    "region = \"us-east-1\"\n{LB}{extra}[[load_balancer.schedule]]\ncron = \"0 9 * * *\"\n\
                     duration = \"3h\"\ntimezone = \"Asia/Singapore\"\n"
                ),
                REGIONS,
            )
        };
        // In the first recurring window's zone by default: Singapore's 25th starts at 24th 16:00Z.
        let s = parse("blackout_dates = [\"2026-12-25\"]\n").unwrap();
        let b = &s.load_balancer.unwrap().blackouts;
        assert!(b.suppresses(Utc.with_ymd_and_hms(2026, 12, 24, 16, 0, 0).unwrap()));
        assert!(!b.suppresses(Utc.with_ymd_and_hms(2026, 12, 25, 16, 0, 0).unwrap()));
        // Or in a zone of its own.
        let s = parse("blackout_dates = [\"2026-12-25\"]\nblackout_timezone = \"UTC\"\n").unwrap();
        let b = &s.load_balancer.unwrap().blackouts;
        assert!(!b.suppresses(Utc.with_ymd_and_hms(2026, 12, 24, 16, 0, 0).unwrap()));
        assert!(b.suppresses(Utc.with_ymd_and_hms(2026, 12, 25, 16, 0, 0).unwrap()));
        let e = parse("blackout_dates = [\"25/12/2026\"]\n").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (7, "load_balancer.blackout_dates[0]"), "{e}");
        assert!(e.message.contains("expected YYYY-MM-DD"), "{e}");
        // At most 1,000 dates.
        let dates = |n: usize| {
            (0..n)
                .map(|i| {
                    format!(
                        "\"{}\"",
                        chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Duration::days(i as i64)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        assert!(parse(&format!("blackout_dates = [{}]\n", dates(1000))).is_ok());
        let e = parse(&format!("blackout_dates = [{}]\n", dates(1001))).unwrap_err();
        assert_eq!(e.key, "load_balancer.blackout_dates", "{e}");
        assert!(e.message.contains("at most 1000"), "{e}");
    }

    #[test]
    fn get_metric_data_metrics_are_bounded_like_every_number() {
        let m = |n: &str| {
            Scenario::parse(
                "s.toml",
                &format!(
                    "region = \"us-east-1\"\n[monitoring]\ncustom_metrics = 1\nalarms = 1\n\
                     api_requests_per_month = 1\nget_metric_data_metrics_per_month = {n}\n"
                ),
                REGIONS,
            )
        };
        // At the limit (10^12 metrics): priced, 10^9 × $0.01 per 1,000 = $10,000,000.
        let book = crate::pricing::load::PriceBook::embedded().unwrap();
        let s = m("1000000000000").unwrap();
        let c = crate::cost::monitoring::price(s.monitoring.as_ref().unwrap(), book.get("us-east-1").unwrap());
        let gmd = c
            .line_items
            .iter()
            .find(|i| i.item.starts_with("GetMetricData"))
            .unwrap();
        assert_eq!(gmd.cost_usd, Decimal::from(10_000_000));
        let e = m("1000000000001").unwrap_err();
        assert_eq!(e.key, "monitoring.get_metric_data_metrics_per_month", "{e}");
        assert!(e.message.contains("too large"), "{e}");
        let e = m("-1").unwrap_err();
        assert_eq!(e.key, "monitoring.get_metric_data_metrics_per_month", "{e}");
    }

    #[test]
    fn negative_traffic() {
        let e = err("region = \"us-east-1\"\n[network]\nazs = 2\n[network.traffic_gb_per_month]\ns3 = -5\n");
        assert_eq!((e.line, e.key.as_str()), (5, "network.traffic_gb_per_month.s3"));
        assert!(e.message.contains("zero or more"), "{e}");
    }

    #[test]
    fn bad_cron() {
        let src = format!(
            "region = \"us-east-1\"\n{LB}[[load_balancer.schedule]]\ncron = \"0 25 * * *\"\nduration = \"3h\"\ntimezone = \"UTC\"\n"
        );
        let e = err(&src);
        assert_eq!((e.line, e.key.as_str()), (8, "load_balancer.schedule[0].cron"));
        assert!(e.message.contains("field 2 (hour)"), "{e}");
    }

    #[test]
    fn bad_time_zone() {
        let src = format!(
            "region = \"us-east-1\"\n{LB}[[load_balancer.schedule]]\ncron = \"0 9 * * *\"\nduration = \"3h\"\ntimezone = \"Asia/Singapur\"\n"
        );
        let e = err(&src);
        assert_eq!((e.line, e.key.as_str()), (10, "load_balancer.schedule[0].timezone"));
        assert!(e.message.contains("not an IANA time zone"), "{e}");
    }

    #[test]
    fn missing_keys() {
        let e = err("region = \"us-east-1\"\n[network]\n[network.traffic_gb_per_month]\n");
        assert_eq!(e.key, "network.azs");
        assert!(e.message.contains("missing required key `azs` in [network]"), "{e}");
        let e = err("[network]\nazs = 2\n");
        assert_eq!(e.key, "region");
        let e = err("region = \"us-east-1\"\n[load_balancer]\nkind = \"application\"\n");
        assert_eq!(e.key, "load_balancer.scheme");
    }

    #[test]
    fn misc_rejections() {
        let e =
            err("region = \"us-east-1\"\nhours_per_month = 0\n[network]\nazs = 2\n[network.traffic_gb_per_month]\n");
        assert!(e.message.contains("more than 0"), "{e}");
        let e = err(
            "region = \"us-east-1\"\nmonth = \"2026-12\"\nhours_per_month = 720\n[network]\nazs = 1\n[network.traffic_gb_per_month]\n",
        );
        assert!(e.message.contains("not both"), "{e}");
        let e = err(&format!("region = \"us-east-1\"\n{LB}").replace("\"application\"", "\"classic\""));
        assert!(e.message.contains("expected one of: application, network"), "{e}");
        let e = err(&format!("region = \"us-east-1\"\n{LB}").replace("azs = 2", "azs = 1"));
        assert!(e.message.contains("at least 2 AZs"), "{e}");
        let e = err(&format!(
            "region = \"us-east-1\"\n{LB}[[load_balancer.schedule]]\nstart = \"2026-12-03T12:00:00+08:00\"\nend = \"2026-12-03T09:00:00+08:00\"\n"
        ));
        assert!(e.message.contains("end after it starts"), "{e}");
        let e = err("region = \"us-east-1\"\n[network]\nazs = 2\n[network.traffic_gb_per_month]\n\"ECR DKR\" = 5\n");
        assert!(e.message.contains("not a destination"), "{e}");
        let e = err("region = \"us-east-1\"\n");
        assert!(e.message.contains("nothing to price"), "{e}");
        let e = err("region = \"us-east-1\"\n[network]\nazs = 2\ntraffic = 1\n[network.traffic_gb_per_month]\n");
        assert_eq!(e.key, "network.traffic");
    }
}
