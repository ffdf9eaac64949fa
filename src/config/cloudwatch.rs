//! `[cloudwatch]`: spend metrics and the budget alarms.

use super::strings;
use crate::input::{InputError, Value};

/// CloudWatch publishing and alarms.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudWatchConfig {
    /// Publish metrics and manage alarms (off in dry-run regardless).
    pub enabled: bool,
    /// Metric namespace.
    pub namespace: String,
    /// Publish at least this often.
    pub publish_seconds: u32,
    /// SNS topic ARNs for the alarms' ALARM and OK actions.
    pub alarm_actions: Vec<String>,
}

impl Default for CloudWatchConfig {
    /// Off: no `[cloudwatch]` section, no metrics.
    fn default() -> Self {
        CloudWatchConfig {
            enabled: false,
            namespace: "Costd".into(),
            publish_seconds: 300,
            alarm_actions: Vec::new(),
        }
    }
}

pub(super) fn parse(v: Option<Value>) -> Result<CloudWatchConfig, InputError> {
    let default = CloudWatchConfig::default();
    let Some(v) = v else { return Ok(default) };
    let t = v.table()?;
    let enabled = t.get("enabled").map(|v| v.bool()).transpose()?.unwrap_or(true);
    let namespace = match t.get("namespace") {
        Some(n) => {
            let s = n.str()?;
            if s.is_empty() || s.len() > 255 || s.starts_with("AWS/") || s.starts_with(':') {
                return Err(n.error("1–255 characters, not starting with \"AWS/\" (reserved for AWS)"));
            }
            s
        }
        None => default.namespace,
    };
    let publish_seconds = t
        .get("publish_seconds")
        .map(|v| v.u32_in(10, 86400))
        .transpose()?
        .unwrap_or(default.publish_seconds);
    let alarm_actions = match t.get("alarm_actions") {
        Some(a) => strings(&a, "an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)", |s| {
            s.starts_with("arn:aws") && s.contains(":sns:")
        })?,
        None => Vec::new(),
    };
    t.finish()?;
    Ok(CloudWatchConfig {
        enabled,
        namespace,
        publish_seconds,
        alarm_actions,
    })
}
