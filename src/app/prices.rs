//! The prices in use, as one unit: the price tables, the planner settings
//! derived from the deployment's table, and the NAT-vs-endpoints model of the
//! projection scenario. A scheduled refresh builds a new unit and swaps it in
//! whole, so no reader ever sees a new table with old settings or an old model.

use std::sync::{Arc, RwLock};

use rust_decimal::Decimal;

use crate::config::Config;
use crate::cost::network::NetworkModel;
use crate::pricing::PriceTable;
use crate::pricing::load::PriceBook;
use crate::schedule::planner::PlannerSettings;

/// No price table for the deployment's region, or one without rates the
/// config needs (`[route53]` for `[alb.dns]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", match .lacks {
    None => format!("no price table for region {}; available: {}", .region, .available),
    Some(what) => format!("the price table for region {} has no {what}", .region),
})]
pub struct MissingTable {
    /// The deployment's region.
    pub region: String,
    /// The regions the book has.
    pub available: String,
    /// What the region's table lacks, if it exists.
    pub lacks: Option<&'static str>,
}

/// How many steps the NAT-vs-endpoints curve has.
const NETWORK_CURVE_STEPS: u32 = 24;

/// Everything priced from the tables, built together.
#[derive(Debug, Clone)]
pub struct Prices {
    /// Every region's table.
    pub book: PriceBook,
    /// The planner's rates (ALB hour, public IPv4 held), from the deployment's table.
    pub settings: PlannerSettings,
    /// NAT Gateway vs VPC endpoints for the projection scenario's traffic, if it has any.
    pub network_model: Option<NetworkModel>,
    /// The same options as that traffic grows or shrinks (the dashboard's chart).
    pub network_curve: Option<crate::cost::network::CostCurve>,
    region: String,
}

impl Prices {
    /// Builds the unit for `cfg`'s deployment from `book`.
    pub fn build(cfg: &Config, book: PriceBook) -> Result<Self, MissingTable> {
        let settings = planner_settings(cfg, &book)?;
        let table = book.get(&cfg.region).expect("planner_settings checked the region");
        let network_model = cfg
            .projection
            .scenario
            .network
            .as_ref()
            .map(|n| crate::cost::network::model(n, table, crate::scenario::DEFAULT_HOURS_PER_MONTH));
        let network_curve = cfg.projection.scenario.network.as_ref().map(|n| {
            crate::cost::network::cost_curve(
                n,
                table,
                crate::scenario::DEFAULT_HOURS_PER_MONTH,
                NETWORK_CURVE_STEPS,
                crate::money::axis_top,
            )
        });
        Ok(Prices {
            book,
            settings,
            network_model,
            network_curve,
            region: cfg.region.clone(),
        })
    }

    /// The deployment's table.
    pub fn table(&self) -> &PriceTable {
        self.book.get(&self.region).expect("checked when built")
    }
}

/// The planner settings from `cfg` and its region's table: the ALB's hourly
/// rate and the public IPv4 addresses it holds (one per subnet/AZ when
/// internet-facing).
pub fn planner_settings(cfg: &Config, book: &PriceBook) -> Result<PlannerSettings, MissingTable> {
    let prices = book.get(&cfg.region).ok_or_else(|| MissingTable {
        region: cfg.region.clone(),
        available: book.regions().join(", "),
        lacks: None,
    })?;
    if cfg.alb.dns.is_some() && prices.route53.is_none() {
        return Err(MissingTable {
            region: cfg.region.clone(),
            available: book.regions().join(", "),
            lacks: Some("[route53] rates, which [alb.dns] needs (see pricing/us-east-1.toml)"),
        });
    }
    let addresses = if cfg.alb.internet_facing {
        cfg.alb.subnets.len()
    } else {
        0
    };
    Ok(PlannerSettings {
        lead: cfg.schedule.lead,
        grace: cfg.schedule.grace,
        coalesce: cfg.schedule.coalesce,
        lb_usd_per_hour: prices.alb.hour.usd,
        ipv4_usd_per_hour: prices.public_ipv4.address_hour.usd * Decimal::from(addresses),
        partial_hour: cfg.partial_hour,
    })
}

/// The prices in use, shared by the daemon's jobs and the web server.
#[derive(Debug, Clone)]
pub struct SharedPrices(Arc<RwLock<Arc<Prices>>>);

impl SharedPrices {
    /// Shares `prices`.
    pub fn new(prices: Prices) -> Self {
        SharedPrices(Arc::new(RwLock::new(Arc::new(prices))))
    }

    /// The unit in use now (a cheap handle; a later swap does not change it).
    pub fn get(&self) -> Arc<Prices> {
        self.0.read().expect("prices lock").clone()
    }

    /// Swaps a new unit in.
    pub fn replace(&self, prices: Prices) {
        *self.0.write().expect("prices lock") = Arc::new(prices);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::billing::PartialHour;
    use crate::schedule::planner::{plan, windows_in};
    use crate::schedule::{Interval, Month};

    /// `costd model` of a scenario and the daemon's plan for the same windows
    /// give the same billed hours: one lifetime path (lead, grace, coalescing).
    #[test]
    fn the_model_bills_the_lifetimes_the_daemon_plans() {
        for (rule, hours) in [(PartialHour::Lifetime, 88), (PartialHour::ClockHour, 110)] {
            let mut cfg = Config::parse(
                "<embedded>/config/costd.toml",
                crate::config::EMBEDDED_DEFAULT,
                std::path::Path::new("."),
            )
            .unwrap();
            cfg.partial_hour = rule;
            model_and_daemon_agree(&cfg, hours);
        }
    }

    fn model_and_daemon_agree(cfg: &Config, hours: i64) {
        let rule = cfg.partial_hour;
        let book = PriceBook::embedded().unwrap();
        let settings = planner_settings(cfg, &book).unwrap();
        let december = Month::parse("2026-12").unwrap().span(chrono_tz::UTC);
        let around = Interval {
            start: december.start - chrono::Duration::days(1),
            end: december.end + chrono::Duration::days(1),
        };
        // The daemon's windows: the config's cron, less its blackout (2026-12-25).
        let windows = windows_in(&cfg.schedule.windows, &[], &cfg.schedule.blackouts, around);
        let daemon_hours: i64 = plan(around.start, &windows, None, &settings)
            .upcoming
            .iter()
            .map(|l| Interval {
                start: l.start,
                end: l.end,
            })
            .filter(|l| l.clip(&december).is_some())
            .map(|l| rule.billed_hours_in(&l, &december))
            .sum();
        // The seed scenario has the same windows: "0 9 * * Mon-Fri", 3 h, Asia/Singapore;
        // given the same blackout day, as the scenario's [load_balancer] blackout_dates.
        let src = format!(
            "partial_hour = \"{}\"\n{}",
            rule.as_str(),
            crate::scenario::EMBEDDED_SEED
                .replace("hours_per_month = 730", "month = \"2026-12\"")
                .replace(
                    "[load_balancer]\n",
                    "[load_balancer]\nblackout_dates = [\"2026-12-25\"]\n"
                )
        );
        assert!(src.contains("blackout_dates"), "the seed has a [load_balancer] table");
        let scenario = crate::scenario::Scenario::parse("seed.toml", &src, &book.regions()).unwrap();
        let report = crate::model::evaluate(&scenario, book.get(&scenario.region).unwrap(), december.start);
        let model_hours = report.load_balancer.unwrap().scheduled.unwrap().billed_hours;
        // 23 weekdays less Friday the 25th = 22 × (5 min + 3 h + 5 min = 190 min → 4 billed
        // hours) = 88 per lifetime; 00:55–04:05 UTC touches 5 clock hours: 22 × 5 = 110.
        assert_eq!(daemon_hours, hours, "{rule:?}");
        assert_eq!(model_hours, Decimal::from(daemon_hours), "{rule:?}");
    }
}
