//! Project a month and evaluate the budgets: actual so far from the ledger
//! (with `ConsumedLCUs` from CloudWatch when a client is given) plus the rest
//! of the schedule. The daemon's projection job, `costd projection` and
//! `GET /api/v1/projection` all compute it here.

use chrono::{DateTime, Utc};

use super::views::ProjectionView;
use crate::aws::cloudwatch::{self, CloudWatchApi};
use crate::budget::projection::{AlbLifetime, AlbResource, ProjectionInputs, project};
use crate::budget::{self, Projection};
use crate::config::Config;
use crate::cost::load_balancer::{LbKind, LoadBalancerSpec, Scheme, TargetType};
use crate::pricing::PriceTable;
use crate::schedule::Month;
use crate::schedule::planner::{self, PlannerSettings};
use crate::store::{Store, StoreError};

/// The ALB as deployed: scheme and AZs from the config, traffic from the projection scenario.
pub fn deployed_alb(cfg: &Config) -> LoadBalancerSpec {
    LoadBalancerSpec {
        kind: LbKind::Application,
        scheme: if cfg.alb.internet_facing {
            Scheme::InternetFacing
        } else {
            Scheme::Internal
        },
        azs: cfg.alb.subnets.len() as u32,
        target_type: TargetType::Ip,
        traffic: cfg
            .projection
            .scenario
            .load_balancer
            .as_ref()
            .map(|l| l.spec.traffic.clone())
            .unwrap_or_default(),
        hosted_zone: cfg.alb.dns.is_some(),
    }
}

/// Computes the projection for `month` at `at`. `cw` supplies `ConsumedLCUs` when given.
pub async fn compute<C: CloudWatchApi>(
    cfg: &Config,
    store: &dyn Store,
    prices: &PriceTable,
    settings: &PlannerSettings,
    cw: Option<&C>,
    month: Month,
    at: DateTime<Utc>,
) -> Result<Projection, StoreError> {
    let span = month.span(cfg.projection.timezone);
    let ledger: Vec<_> = store
        .lifetimes(&cfg.deployment, span.start, span.end)?
        .into_iter()
        .filter(|l| l.dry_run == cfg.dry_run && (l.dry_run || l.lb_arn.is_some()))
        .filter(|l| l.deleted_at.is_none_or(|d| d > l.created_at))
        .collect();
    let open_since = ledger
        .iter()
        .filter(|l| l.deleted_at.is_none())
        .map(|l| l.created_at)
        .min();
    let plan = if span.end > at {
        let windows = crate::app::windows::demo_windows(cfg, store, at, span.end)?;
        Some(planner::plan(at, &windows, open_since, settings))
    } else {
        None
    };
    let planned_end = plan
        .as_ref()
        .and_then(|p| p.current.as_ref().map(|c| c.end))
        .unwrap_or(at);

    let mut queries = Vec::new();
    let mut lifetimes = Vec::new();
    for l in &ledger {
        let end = l.deleted_at.unwrap_or(planned_end.max(at));
        if let (Some(arn), false) = (&l.lb_arn, l.dry_run)
            && let Some(dim) = cloudwatch::lb_dimension(arn)
        {
            queries.push((l.id.to_string(), dim, l.created_at, end.min(at)));
        }
        lifetimes.push((
            l.id,
            AlbLifetime {
                start: l.created_at,
                end,
                consumed_lcu_hours: None,
                resource: l.lb_arn.as_ref().filter(|_| !l.dry_run).map(|arn| AlbResource {
                    arn: arn.clone(),
                    name: l.name.clone(),
                }),
            },
        ));
    }
    if let (Some(cw), false) = (cw, queries.is_empty()) {
        match cw.consumed_lcu_hours(&queries).await {
            Ok(found) => {
                for (id, l) in lifetimes.iter_mut() {
                    l.consumed_lcu_hours = found.get(&id.to_string()).cloned().flatten();
                }
            }
            Err(e) => tracing::warn!(error = %e, "ConsumedLCUs unavailable; modelling LCUs"),
        }
    }
    let mut lifetimes: Vec<AlbLifetime> = lifetimes.into_iter().map(|(_, l)| l).collect();
    if let Some(p) = &plan {
        let upcoming = p.upcoming.iter().filter(|u| u.start < span.end);
        let current_unrecorded = p.current.iter().filter(|_| open_since.is_none());
        for u in current_unrecorded.chain(upcoming) {
            lifetimes.push(AlbLifetime {
                start: u.start.max(at),
                end: u.end,
                consumed_lcu_hours: None,
                resource: None,
            });
        }
    }
    let alb = deployed_alb(cfg);
    let scenario = &cfg.projection.scenario;
    Ok(project(&ProjectionInputs {
        month,
        timezone: cfg.projection.timezone,
        at,
        prices,
        network: scenario.network.as_ref().map(|n| (n, cfg.projection.network_option)),
        alb: &alb,
        lifetimes: &lifetimes,
        monitoring: scenario.monitoring.as_ref(),
        partial_hour: cfg.partial_hour,
    }))
}

/// `month`'s projection at `at` with every budget evaluated against the
/// stored alarm states (nothing is stored: the daemon's job records
/// transitions). Uses the prices in use now.
pub async fn month_view<C: CloudWatchApi>(
    app: &super::App,
    cw: Option<&C>,
    month: Month,
    at: DateTime<Utc>,
) -> Result<ProjectionView, StoreError> {
    let prices = app.prices.get();
    let p = compute(
        &app.cfg,
        app.store.as_ref(),
        prices.table(),
        &prices.settings,
        cw,
        month,
        at,
    )
    .await?;
    let previous = app
        .store
        .alarm_states()?
        .into_iter()
        .map(|(k, v)| (k, v.state))
        .collect();
    let (budgets, _) = budget::evaluate(&app.cfg.budgets, &p, &previous, at);
    Ok(ProjectionView { projection: p, budgets })
}
