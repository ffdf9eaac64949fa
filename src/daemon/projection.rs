//! The projection job: one step computes this month's projection from the
//! ledger and the plan, evaluates the budgets, stores transitions (with a
//! notification outbox), publishes CloudWatch metrics and delivers pending
//! notifications. Used by the daemon on a schedule and after reconcile
//! changes, and by `costd projection`.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::aws::cloudwatch::{self, AlarmSpec, CloudWatchApi, Datum, MONTH_TO_DATE, PROJECTED};
use crate::budget::projection::{AlbLifetime, ProjectionInputs, project};
use crate::budget::{self, AlarmState, Component, Projection, ThresholdKind};
use crate::config::Config;
use crate::cost::load_balancer::{LbKind, LoadBalancerSpec, Scheme, TargetType};
use crate::pricing::PriceTable;
use crate::schedule::Month;
use crate::schedule::planner::{self, PlannerSettings};
use crate::store::Store;

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
) -> anyhow::Result<Projection> {
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
    }))
}

/// The metric data for a projection: both metrics for `all` and each component.
pub fn metric_data(cfg: &Config, p: &Projection) -> Vec<Datum> {
    let mut out = Vec::new();
    let scopes: Vec<(&str, Option<Component>)> = std::iter::once(("all", None))
        .chain(Component::ALL.iter().map(|c| (c.as_str(), Some(*c))))
        .collect();
    for (name, scope) in scopes {
        let (mtd, projected) = p.totals(scope);
        let dimensions = vec![
            ("Deployment".to_string(), cfg.deployment.clone()),
            ("Component".to_string(), name.to_string()),
        ];
        out.push(Datum {
            metric: PROJECTED,
            dimensions: dimensions.clone(),
            value_usd: projected,
        });
        out.push(Datum {
            metric: MONTH_TO_DATE,
            dimensions,
            value_usd: mtd,
        });
    }
    out
}

/// Alarm name prefix of a deployment.
pub fn alarm_prefix(cfg: &Config) -> String {
    format!("costd-{}-", cfg.deployment)
}

/// One metric alarm per budget threshold.
pub fn desired_alarms(cfg: &Config) -> Vec<AlarmSpec> {
    let mut out = Vec::new();
    for b in &cfg.budgets {
        for t in &b.thresholds {
            let metric = match t.kind {
                ThresholdKind::Actual => MONTH_TO_DATE,
                ThresholdKind::Forecast => PROJECTED,
            };
            out.push(AlarmSpec {
                name: format!(
                    "{}{}-{}-{}",
                    alarm_prefix(cfg),
                    b.name,
                    t.kind.as_str(),
                    t.percent.normalize()
                ),
                description: format!(
                    "costd budget {} ({} ${} a month): {} spend above {}% (${})",
                    b.name,
                    b.scope_name(),
                    b.monthly_usd.normalize(),
                    t.kind.as_str(),
                    t.percent.normalize(),
                    b.threshold_usd(t)
                ),
                namespace: cfg.cloudwatch.namespace.clone(),
                metric: metric.to_string(),
                dimensions: vec![
                    ("Deployment".to_string(), cfg.deployment.clone()),
                    ("Component".to_string(), b.scope_name().to_string()),
                ],
                threshold_usd: b.threshold_usd(t),
                actions: cfg.cloudwatch.alarm_actions.clone(),
            });
        }
    }
    out
}

/// The projection job's state.
pub struct ProjectionJob<C> {
    app: crate::app::App,
    cw: Option<C>,
    /// Wakes the delivery worker when a run stored new notifications.
    pub new_notifications: Arc<tokio::sync::Notify>,
}

impl<C: CloudWatchApi + Clone + 'static> ProjectionJob<C> {
    /// A job; `cw` is `None` in dry-run or with CloudWatch disabled.
    pub fn new(app: crate::app::App, cw: Option<C>) -> Self {
        ProjectionJob {
            app,
            cw,
            new_notifications: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// Creates, updates and deletes costd's alarms to match the budgets.
    pub async fn sync_alarms(&self) -> anyhow::Result<()> {
        if let Some(cw) = &self.cw {
            let r = cloudwatch::sync_alarms(
                cw,
                &alarm_prefix(&self.app.cfg),
                &self.app.cfg.deployment,
                &desired_alarms(&self.app.cfg),
            )
            .await?;
            tracing::info!(
                created = ?r.created, updated = ?r.updated, deleted = ?r.deleted,
                unchanged = r.unchanged.len(), foreign = ?r.foreign,
                "CloudWatch alarms in step with the budgets"
            );
        }
        Ok(())
    }

    /// One step at `at`.
    pub async fn run_once(&self, at: DateTime<Utc>) -> anyhow::Result<Projection> {
        let month = Month::containing(at, self.app.cfg.projection.timezone);
        // The prices in use now (a scheduled refresh may have replaced them).
        let prices = self.app.prices.get();
        let p = compute(
            &self.app.cfg,
            self.app.store.as_ref(),
            prices.table(),
            &prices.settings,
            self.cw.as_ref(),
            month,
            at,
        )
        .await?;
        let previous: BTreeMap<String, AlarmState> = self
            .app
            .store
            .alarm_states()?
            .into_iter()
            .map(|(k, v)| (k, v.state))
            .collect();
        let (evaluations, transitions) = budget::evaluate(&self.app.cfg.budgets, &p, &previous, at);
        let channels: Vec<String> = self.app.cfg.webhooks.iter().map(|w| w.channel()).collect();
        let stored = self
            .app
            .store
            .apply_evaluations(&evaluations, &transitions, &channels, at)?;
        for t in &stored {
            let e = &t.transition.evaluation;
            tracing::warn!(
                budget = %e.budget, threshold = %e.key, from = %t.transition.from, to = %t.transition.to,
                value_usd = %e.value_usd, threshold_usd = %e.threshold_usd, month = %t.transition.month,
                "budget alarm {}", t.transition.to
            );
        }
        if !stored.is_empty() && !channels.is_empty() {
            self.new_notifications.notify_one();
        }
        if let Some(cw) = &self.cw {
            cw.put_data(&self.app.cfg.cloudwatch.namespace, &metric_data(&self.app.cfg, &p), at)
                .await
                .context("publishing spend metrics")?;
        }
        *self.app.latest.write().await = crate::app::Latest {
            projection: Some(p.clone()),
            evaluations,
        };
        Ok(p)
    }
}
