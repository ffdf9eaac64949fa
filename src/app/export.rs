//! The month's charges for finance tools: FOCUS 1.2 CSV (`costd export`,
//! `GET /api/v1/export`), from the same projection the CLI, the API and the
//! dashboard show.

use crate::budget::Projection;
use crate::budget::focus::{self, FocusContext};
use crate::schedule::Month;

/// `p` (the projection of `month`) as FOCUS CSV; the ALB's actual rows
/// name each load balancer by its ARN.
pub fn focus_csv(app: &super::App, p: &Projection, month: Month) -> String {
    let ctx = FocusContext {
        billing_period: month.span(app.cfg.projection.timezone),
        region: &app.cfg.region,
        deployment: &app.cfg.deployment,
    };
    focus::csv(&focus::rows(p, &ctx))
}
