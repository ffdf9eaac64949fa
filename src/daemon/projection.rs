//! The projection job: one step computes this month's projection from the
//! ledger and the plan, evaluates the budgets, stores transitions (with a
//! notification outbox), publishes CloudWatch metrics and delivers pending
//! notifications. Used by the daemon on a schedule and after reconcile
//! changes; the projection itself is [`crate::app::projection`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::aws::AwsError;
use crate::aws::cloudwatch::{self, AlarmSpec, CloudWatchApi, Datum, MONTH_TO_DATE, PROJECTED};
use crate::budget::{self, AlarmState, Component, Projection, ThresholdKind};
use crate::config::Config;
use crate::schedule::Month;
use crate::store::StoreError;

/// Why a projection step failed (the next step tries again).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// CloudWatch refused or could not be reached.
    #[error("{what}: {source}")]
    CloudWatch {
        /// What costd was doing.
        what: &'static str,
        /// The AWS error.
        source: AwsError,
    },
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
    cloudwatch::alarm_prefix(&cfg.deployment)
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
    /// Whether this term as leader has caught up on recent budget events.
    caught_up: std::sync::atomic::AtomicBool,
}

impl<C: CloudWatchApi + Clone + 'static> ProjectionJob<C> {
    /// A job; `cw` is `None` in dry-run or with CloudWatch disabled.
    pub fn new(app: crate::app::App, cw: Option<C>) -> Self {
        ProjectionJob {
            app,
            cw,
            caught_up: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The shared state (its clock, config, store).
    pub fn app(&self) -> &crate::app::App {
        &self.app
    }

    /// Creates, updates and deletes costd's alarms to match the budgets.
    pub async fn sync_alarms(&self) -> Result<(), JobError> {
        if let Some(cw) = &self.cw {
            let r = cloudwatch::sync_alarms(
                cw,
                &alarm_prefix(&self.app.cfg),
                &self.app.cfg.deployment,
                &desired_alarms(&self.app.cfg),
            )
            .await
            .map_err(|source| JobError::CloudWatch {
                what: "syncing the budget alarms",
                source,
            })?;
            tracing::info!(
                created = ?r.created, updated = ?r.updated, deleted = ?r.deleted,
                unchanged = r.unchanged.len(), foreign = ?r.foreign,
                "CloudWatch alarms in step with the budgets"
            );
        }
        Ok(())
    }

    /// One step at `at`.
    pub async fn run_once(&self, at: DateTime<Utc>) -> Result<Projection, JobError> {
        let month = Month::containing(at, self.app.cfg.projection.timezone);
        // The prices in use now (a scheduled refresh may have replaced them).
        let prices = self.app.prices.get();
        let p = crate::app::projection::compute(
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
        // A standby replica shows the projection; only the leader records and publishes.
        if !self.app.leadership.may_mutate() {
            // A new term as leader catches up on budget events again.
            self.caught_up.store(false, std::sync::atomic::Ordering::SeqCst);
            *self.app.latest.write().await = crate::app::Latest {
                projection: Some(p.clone()),
                evaluations,
            };
            return Ok(p);
        }
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
            self.app.outbox.notify_one();
        }
        // Budget events for `[[notify]]`: this run's transitions; on the first run of a
        // term as leader also those of the last hours, whose events a crash may have kept
        // from being recorded (their ids keep them single).
        let catch_up = !self.caught_up.load(std::sync::atomic::Ordering::SeqCst);
        let transitions = if catch_up {
            let since = at - chrono::Duration::hours(crate::notify::CATCH_UP_HOURS);
            let mut recent = self.app.store.transitions(50)?;
            recent.retain(|t| t.transition.at >= since);
            recent
        } else {
            stored.clone()
        };
        let events: Vec<_> = transitions
            .iter()
            .map(|t| crate::notify::budget_event(&self.app.cfg.deployment, t))
            .collect();
        if !events.is_empty()
            && self
                .app
                .store
                .record_events(&crate::notify::routed(&self.app.cfg, events))?
                > 0
        {
            self.app.outbox.notify_one();
        }
        self.caught_up.store(true, std::sync::atomic::Ordering::SeqCst);
        // The day's projection, kept so the bill can later say how far off it was.
        let (alb_actual_usd, alb_projected_usd) = p.totals(Some(crate::budget::Component::Alb));
        self.app.store.record_projection_day(&crate::store::ProjectionDay {
            deployment: self.app.cfg.deployment.clone(),
            month: p.month.clone(),
            timezone: p.timezone.clone(),
            day: at.date_naive(),
            at,
            partial_hour: p.partial_hour.as_str().to_string(),
            month_to_date_usd: p.month_to_date_usd,
            projected_usd: p.projected_usd,
            alb_actual_usd,
            alb_projected_usd,
        })?;
        if let Some(cw) = &self.cw {
            cw.put_data(&self.app.cfg.cloudwatch.namespace, &metric_data(&self.app.cfg, &p), at)
                .await
                .map_err(|source| JobError::CloudWatch {
                    what: "publishing spend metrics",
                    source,
                })?;
        }
        *self.app.latest.write().await = crate::app::Latest {
            projection: Some(p.clone()),
            evaluations,
        };
        Ok(p)
    }
}
