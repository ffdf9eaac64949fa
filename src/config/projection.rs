//! `[projection]` and `[[budgets]]`: what the monthly projection models
//! besides the ledger, and the budgets it is held against.

use std::path::Path;

use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::budget::{Budget, Component, Threshold, ThresholdKind};
use crate::cost::network::OptionName;
use crate::input::{InputError, Value};
use crate::scenario::{EMBEDDED_SEED, Scenario};

/// The projection's inputs besides the ledger and the schedule.
#[derive(Debug, Clone)]
pub struct ProjectionConfig {
    /// Zone the calendar month is taken in.
    pub timezone: Tz,
    /// The scenario giving the network traffic, the ALB's traffic profile and costd's CloudWatch use.
    pub scenario: Scenario,
    /// Which egress option is deployed (its line items are the network baseline).
    pub network_option: OptionName,
    /// Recompute at least this often.
    pub recompute_seconds: u32,
}

fn embedded_regions() -> Vec<&'static str> {
    crate::pricing::load::EMBEDDED.iter().map(|(r, _)| *r).collect()
}

/// The embedded seed scenario (`config/scenarios/seed-production-vpc.toml`).
fn embedded_scenario() -> Result<Scenario, InputError> {
    Scenario::parse(
        "<embedded>/config/scenarios/seed-production-vpc.toml",
        EMBEDDED_SEED,
        &embedded_regions(),
    )
}

impl ProjectionConfig {
    /// The defaults: the UTC calendar month (AWS's invoice month), the
    /// embedded seed scenario, endpoints only, recomputed every 5 minutes.
    pub fn defaults() -> Result<Self, InputError> {
        Ok(ProjectionConfig {
            timezone: chrono_tz::UTC,
            scenario: embedded_scenario()?,
            network_option: OptionName::EndpointsOnly,
            recompute_seconds: 300,
        })
    }
}

pub(super) fn parse(v: Option<Value>, base: &Path) -> Result<ProjectionConfig, InputError> {
    let d = ProjectionConfig::defaults()?;
    let Some(v) = v else { return Ok(d) };
    let regions = embedded_regions();
    let t = v.table()?;
    let timezone = match t.get("timezone") {
        Some(z) => z
            .r()
            .parse_with("an IANA zone such as \"UTC\"", crate::scenario::parse_timezone)?,
        None => d.timezone,
    };
    let scenario = match t.get("scenario") {
        Some(s) => {
            let path = base.join(s.str()?);
            let src =
                std::fs::read_to_string(&path).map_err(|e| s.error(format!("cannot read {}: {e}", path.display())))?;
            Scenario::parse(&path.display().to_string(), &src, &regions)?
        }
        None => d.scenario,
    };
    let network_option = match t.get("network_option") {
        Some(o) => match o.str()?.as_str() {
            "endpoints_only" => OptionName::EndpointsOnly,
            "hybrid" => OptionName::Hybrid,
            "nat_per_az" => OptionName::NatPerAz,
            "nat_single" => OptionName::NatSingle,
            other => {
                return Err(o.error(format!(
                    "`{other}` is not valid; expected one of: endpoints_only, hybrid, nat_per_az, nat_single"
                )));
            }
        },
        None => d.network_option,
    };
    let recompute_seconds = t
        .get("recompute_seconds")
        .map(|v| v.u32_in(10, 86400))
        .transpose()?
        .unwrap_or(d.recompute_seconds);
    t.finish()?;
    Ok(ProjectionConfig {
        timezone,
        scenario,
        network_option,
        recompute_seconds,
    })
}

/// `[[budgets]]`: each budget, names unique.
pub(super) fn parse_budgets(v: Option<Value>) -> Result<Vec<Budget>, InputError> {
    let items = v.map(|v| v.items()).transpose()?.unwrap_or_default();
    let budgets = items.iter().map(budget).collect::<Result<Vec<_>, _>>()?;
    let mut names = std::collections::BTreeSet::new();
    for (b, v) in budgets.iter().zip(&items) {
        if !names.insert(b.name.clone()) {
            return Err(v.error(format!("budget `{}` is defined twice; names must be unique", b.name)));
        }
    }
    Ok(budgets)
}

fn budget(v: &Value) -> Result<Budget, InputError> {
    let t = v.table()?;
    let name_v = t.require("name")?;
    let name = name_v.str()?;
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(name_v.error("1–64 letters, digits, '-' or '_' (it is part of the alarm names)"));
    }
    let amount_v = t.require("monthly_usd")?;
    let monthly_usd = amount_v.decimal()?;
    if monthly_usd <= Decimal::ZERO {
        return Err(amount_v.error(format!("must be more than 0, found {monthly_usd}")));
    }
    let scope = match t.get("scope") {
        Some(s) => match s.str()?.as_str() {
            "all" => None,
            other => Some(
                Component::ALL
                    .into_iter()
                    .find(|c| c.as_str() == other)
                    .ok_or_else(|| {
                        s.error(format!(
                            "`{other}` is not valid; expected one of: all, network, alb, monitoring"
                        ))
                    })?,
            ),
        },
        None => None,
    };
    let th_v = t.require("thresholds")?;
    let mut thresholds: Vec<Threshold> = Vec::new();
    for item in th_v.items()? {
        let tt = item.table()?;
        let kind_v = tt.require("type")?;
        let kind = match kind_v.str()?.as_str() {
            "actual" => ThresholdKind::Actual,
            "forecast" => ThresholdKind::Forecast,
            other => return Err(kind_v.error(format!("`{other}` is not valid; expected actual or forecast"))),
        };
        let pv = tt.require("percent")?;
        let percent = pv.decimal()?;
        if percent <= Decimal::ZERO || percent > Decimal::from(1000) {
            return Err(pv.error(format!("must be more than 0 and at most 1000, found {percent}")));
        }
        tt.finish()?;
        let th = Threshold {
            kind,
            percent: percent.normalize(),
        };
        if thresholds.contains(&th) {
            return Err(item.error("the same threshold is listed twice"));
        }
        thresholds.push(th);
    }
    if thresholds.is_empty() {
        return Err(th_v.error("a budget needs at least one threshold, e.g. { type = \"forecast\", percent = 100 }"));
    }
    t.finish()?;
    Ok(Budget {
        name,
        monthly_usd,
        scope,
        thresholds,
    })
}
