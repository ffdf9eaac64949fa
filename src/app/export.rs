//! The month's charges for finance tools: FOCUS 1.2 CSV (`costd export`,
//! `GET /api/v1/export`), from the same projection the CLI, the API and the
//! dashboard show.

use crate::budget::Projection;
use crate::budget::focus::{self, FocusContext};
use crate::schedule::Month;
use crate::store::StoreError;

/// `p` (the projection of `month`) as FOCUS CSV. The ALB rows name the
/// load balancer when the month had one; a month of several lifetimes (each
/// a new ALB) names how many instead.
pub fn focus_csv(app: &super::App, p: &Projection, month: Month) -> Result<String, StoreError> {
    let span = month.span(app.cfg.projection.timezone);
    let lifetimes = app.store.lifetimes(&app.cfg.deployment, span.start, span.end)?;
    let mut arns: Vec<(String, String)> = lifetimes
        .iter()
        .filter(|l| !l.dry_run)
        .filter_map(|l| Some((l.lb_arn.clone()?, l.name.clone())))
        .collect();
    arns.dedup();
    let several = format!("{} ALB lifetimes (see the ledger)", arns.len());
    let alb = match arns.as_slice() {
        [(arn, name)] => Some((arn.as_str(), name.as_str())),
        [] => None,
        _ => Some(("", several.as_str())),
    };
    let ctx = FocusContext {
        billing_period: span,
        region: &app.cfg.region,
        deployment: &app.cfg.deployment,
        alb,
    };
    Ok(focus::csv(&focus::rows(p, &ctx)))
}
