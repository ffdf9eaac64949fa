//! `[billing]`: how partial ALB hours are billed (`partial_hour`), the
//! assumption every ALB figure names.

use crate::cost::billing::PartialHour;
use crate::input::{InputError, Value};

/// `[billing] partial_hour = "clock_hour" | "lifetime"` (default `clock_hour`).
pub(super) fn parse(v: Option<Value>) -> Result<PartialHour, InputError> {
    let Some(v) = v else { return Ok(PartialHour::default()) };
    let t = v.table()?;
    let rule = t
        .get("partial_hour")
        .map(|v| crate::scenario::parse_partial_hour(&v))
        .transpose()?
        .unwrap_or_default();
    t.finish()?;
    Ok(rule)
}
