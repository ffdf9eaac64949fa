//! `[billing]`: how partial ALB hours are billed (`partial_hour`), the
//! assumption every ALB figure names, and the daemon's bill check
//! (`check_cron`, off by default).

use crate::cost::billing::PartialHour;
use crate::input::{InputError, Value};
use crate::schedule::CronExpr;

/// The bill check may run at most this many times a day (Cost Explorer
/// charges per request).
pub const MAX_CHECKS_PER_DAY: usize = 4;

/// `[billing]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BillingConfig {
    /// `partial_hour = "clock_hour" | "lifetime"` (default `clock_hour`).
    pub partial_hour: PartialHour,
    /// `check_cron`: when the daemon compares the bill with the ledger (UTC);
    /// `None`: never (the default).
    pub check_cron: Option<CronExpr>,
}

pub(super) fn parse(v: Option<Value>) -> Result<BillingConfig, InputError> {
    let Some(v) = v else {
        return Ok(BillingConfig::default());
    };
    let t = v.table()?;
    let partial_hour = t
        .get("partial_hour")
        .map(|v| crate::scenario::parse_partial_hour(&v))
        .transpose()?
        .unwrap_or_default();
    let check_cron = match t.get("check_cron") {
        None => None,
        Some(c) => {
            let cron = c
                .r()
                .parse_with("a 5-field cron expression such as \"30 6 * * *\"", CronExpr::parse)?;
            // Every day of a year is looked at (a cron may fire more on some days);
            // the first day over the limit decides.
            let start = chrono::DateTime::<chrono::Utc>::from_timestamp(1_767_225_600, 0).expect("2026-01-01");
            let over = (0..366)
                .map(|d| {
                    let from = start + chrono::Duration::days(d);
                    cron.occurrences(chrono_tz::UTC, from, from + chrono::Duration::days(1))
                        .len()
                })
                .find(|&n| n > MAX_CHECKS_PER_DAY);
            if let Some(busiest) = over {
                return Err(c.error(format!(
                    "fires {busiest} times a day; the bill check may run at most {MAX_CHECKS_PER_DAY} times a day \
                     (each run is billed Cost Explorer requests, and the bill changes a few times a day at most)"
                )));
            }
            Some(cron)
        }
    };
    t.finish()?;
    Ok(BillingConfig {
        partial_hour,
        check_cron,
    })
}
