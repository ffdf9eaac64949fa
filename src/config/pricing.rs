//! `[pricing]`: the scheduled refresh from the AWS Price List.

use url::Url;

use super::http_url;
use crate::input::{InputError, Value};
use crate::schedule::CronExpr;

/// Scheduled refresh of the price table from the Price List Query API.
#[derive(Debug, Clone, PartialEq)]
pub struct PricingConfig {
    /// 5-field cron (UTC) for the refresh; `None`: off (the default).
    pub refresh_cron: Option<CronExpr>,
    /// Where the Price List API is served: us-east-1, eu-central-1 or ap-south-1.
    pub api_region: String,
    /// Endpoint override for GetProducts.
    pub endpoint_url: Option<Url>,
    /// Also write the refreshed table to `pricing_dir/<region>.toml`.
    pub write: bool,
}

impl Default for PricingConfig {
    fn default() -> Self {
        PricingConfig {
            refresh_cron: None,
            api_region: "us-east-1".into(),
            endpoint_url: None,
            write: false,
        }
    }
}

/// The regions that serve the Price List Query API.
pub const API_REGIONS: [&str; 3] = ["us-east-1", "eu-central-1", "ap-south-1"];

impl PricingConfig {
    pub(super) fn parse(v: Option<Value>) -> Result<Self, InputError> {
        let mut c = PricingConfig::default();
        let Some(v) = v else { return Ok(c) };
        let t = v.table()?;
        if let Some(cr) = t.get("refresh_cron") {
            c.refresh_cron = Some(
                cr.r()
                    .parse_with("a 5-field cron expression such as \"0 3 * * *\"", CronExpr::parse)?,
            );
        }
        if let Some(r) = t.get("api_region") {
            let s = r.str()?;
            if !API_REGIONS.contains(&s.as_str()) {
                return Err(r.error(format!(
                    "`{s}` does not serve the Price List API; expected us-east-1, eu-central-1 or ap-south-1"
                )));
            }
            c.api_region = s;
        }
        c.endpoint_url = t.get("endpoint_url").map(|e| http_url(&e)).transpose()?;
        if let Some(w) = t.get("write") {
            c.write = w.bool()?;
        }
        t.finish()?;
        Ok(c)
    }
}
