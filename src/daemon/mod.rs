//! `costd serve`: the reconcile loop and its wiring. The loop sleeps until
//! the planner's next edge (not polling), wakes early when the store changes
//! or the safety-net job (tokio-cron-scheduler) fires, backs off after
//! errors, and stops on one shutdown token (ctrl-c or SIGTERM).

pub mod projection;
pub mod reconciler;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use tokio::sync::Notify;
use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::sync::CancellationToken;

use crate::app::{App, Prices, SharedPrices};
use crate::aws::cloudwatch::{CloudWatchApi, SdkCloudWatch};
use crate::aws::elb::{ElbApi, SdkElb};
use crate::config::Config;
use crate::pricing::load::PriceBook;
use crate::store::Store;
use crate::store::sqlite::SqliteStore;
use projection::ProjectionJob;
use reconciler::Reconciler;

/// Exponential backoff after failed runs: 1 s, 2 s, 4 s … capped at 30 s.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// The wait after one more failure.
    pub fn fail(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        Duration::seconds(1i64 << (self.failures - 1).min(5)).min(Duration::seconds(30))
    }

    /// A run succeeded.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// How soon to look again while something is in progress.
const PENDING_RECHECK: Duration = Duration::seconds(3);

/// Runs the reconcile loop until `shutdown` is cancelled.
pub async fn run_loop<E: ElbApi>(
    reconciler: Reconciler<E>,
    store: Arc<dyn Store>,
    safety_net: StdDuration,
    changed: Arc<Notify>,
    status: crate::app::SharedStatus,
    kick: Arc<Notify>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let scheduler = JobScheduler::new().await.context("job scheduler")?;
    // The safety net's tick is apart from `kick` (a changed schedule): a tick
    // does not cut a backoff short, a changed schedule does.
    let tick = Arc::new(Notify::new());
    {
        let tick = tick.clone();
        scheduler
            .add(Job::new_repeated(safety_net, move |_, _| tick.notify_one()).context("safety-net job")?)
            .await
            .context("safety-net job")?;
    }
    scheduler.start().await.context("job scheduler")?;
    {
        // `costd windows add` in another process: notice within a second, and
        // recompute the projection (the schedule changed).
        let kick = kick.clone();
        let changed = changed.clone();
        let store = store.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let mut last = store.external_change_marker().ok();
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(StdDuration::from_secs(1)) => {}
                }
                let now = store.external_change_marker().ok();
                if now != last {
                    last = now;
                    kick.notify_one();
                    changed.notify_one();
                }
            }
        });
    }

    let mut backoff = Backoff::default();
    let mut edge: Option<DateTime<Utc>> = None;
    // The last edge logged; `None` until the first plan is logged.
    let mut announced: Option<Option<DateTime<Utc>>> = None;
    loop {
        let at = Utc::now();
        let result = tokio::select! {
            r = reconciler.run_once(at, edge) => r,
            _ = shutdown.cancelled() => {
                tracing::info!("shutdown during a reconcile: abandoning it; the next start reconciles");
                break;
            }
        };
        crate::metrics::get().reconcile_runs.inc();
        if result.is_err() {
            crate::metrics::get().reconcile_errors.inc();
        }
        {
            let mut s = status.write().await;
            match &result {
                Ok(o) => {
                    s.last_ok_at = Some(Utc::now());
                    s.last_error = None;
                    s.last_error_summary = None;
                    s.plan = Some(o.plan.clone());
                }
                Err(e) => {
                    s.last_error = Some(e.to_string());
                    s.last_error_summary = Some(e.summary());
                }
            }
        }
        let backing_off = result.is_err();
        let wake = match result {
            Ok(outcome) => {
                backoff.reset();
                if !outcome.actions.is_empty() {
                    changed.notify_one();
                }
                let next = outcome.plan.next_edge;
                if announced != Some(next) {
                    announced = Some(next);
                    log_plan(&outcome.plan);
                }
                let mut wake = at + Duration::from_std(safety_net).unwrap_or(Duration::seconds(60));
                if let Some(n) = next {
                    wake = wake.min(n);
                }
                if outcome.pending {
                    wake = wake.min(at + PENDING_RECHECK);
                }
                edge = next;
                wake
            }
            Err(e) => {
                let wait = backoff.fail();
                tracing::warn!(error = %e, retry_in_s = wait.num_seconds(), "reconcile failed; retrying with backoff");
                edge = None;
                at + wait
            }
        };
        let sleep = (wake - Utc::now()).to_std().unwrap_or(StdDuration::ZERO);
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = kick.notified() => {}
            _ = tick.notified(), if !backing_off => {}
            _ = shutdown.cancelled() => break,
        }
        // Only a run that starts at or after its edge serves that edge.
        if edge.is_some_and(|e| Utc::now() < e) {
            edge = None;
        }
    }
    let mut scheduler = scheduler;
    let _ = scheduler.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

fn log_plan(plan: &crate::schedule::planner::Plan) {
    match &plan.current {
        Some(c) => tracing::info!(
            windows = %c.window_ids.join(","),
            until = %c.end.to_rfc3339(),
            "the ALB should exist now"
        ),
        None => tracing::info!("no window is open; the ALB should not exist"),
    }
    for u in plan.upcoming.iter().take(5) {
        tracing::info!(
            windows = %u.window_ids.join(","),
            from = %u.start.to_rfc3339(),
            until = %u.end.to_rfc3339(),
            "upcoming ALB lifetime"
        );
    }
}

/// The whole daemon, built (store open, clients made, web port bound) but not yet running.
/// This is the composition root: it makes the shared [`App`] and hands it to
/// the reconcile loop, the projection job, the delivery worker and the web
/// server, which know nothing of each other.
pub struct Daemon {
    app: App,
    reconciler: Reconciler<SdkElb>,
    job: Arc<ProjectionJob<SdkCloudWatch>>,
    web: Option<crate::web::Application>,
}

impl Daemon {
    /// Opens the store, builds the AWS clients (unless dry-run) and binds the web port.
    pub async fn build(cfg: Config) -> anyhow::Result<Self> {
        let book = match &cfg.pricing_dir {
            Some(d) => PriceBook::from_dir(d)?,
            None => PriceBook::embedded()?,
        };
        let prices = Prices::build(&cfg, book)?;
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&cfg.store_path)
                .with_context(|| format!("opening store {}", cfg.store_path.display()))?,
        );
        if cfg.dry_run {
            refuse_dry_run_over_a_live_alb(&cfg, store.as_ref())?;
        }
        tracing::info!(
            deployment = %cfg.deployment,
            region = %cfg.region,
            store = %cfg.store_path.display(),
            dry_run = cfg.dry_run,
            endpoint = cfg.aws.endpoint_url.as_deref().unwrap_or("AWS"),
            "costd starting"
        );
        let app = App::new(Arc::new(cfg), store, prices);
        let cfg = app.cfg.clone();
        let elb = if cfg.dry_run {
            None
        } else {
            Some(SdkElb::new(
                crate::aws::elb_client(&cfg.region, &cfg.aws.for_elb()).await,
            ))
        };
        let reconciler = Reconciler::new(
            cfg.clone(),
            app.store.clone(),
            elb,
            app.prices.clone(),
            Arc::new(Utc::now),
        );
        let cw = if cfg.dry_run || !cfg.cloudwatch.enabled {
            None
        } else {
            Some(SdkCloudWatch::new(
                crate::aws::cloudwatch_client(&cfg.region, &cfg.aws.for_cloudwatch()).await,
            ))
        };
        let job = Arc::new(ProjectionJob::new(app.clone(), cw));
        let web = if cfg.web.enabled {
            let web = crate::web::Application::build(crate::web::AppState::new(app.clone()))
                .await
                .with_context(|| format!("binding the web server to {}", cfg.web.listen))?;
            tracing::info!(address = %web.address(), "dashboard and API listening");
            Some(web)
        } else {
            None
        };
        Ok(Daemon {
            app,
            reconciler,
            job,
            web,
        })
    }

    /// Where the dashboard and API listen, if enabled.
    pub fn web_address(&self) -> Option<std::net::SocketAddr> {
        self.web.as_ref().map(|a| a.address())
    }

    /// The shared state (for tests and embedding).
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Runs until `shutdown` is cancelled.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Daemon {
            app,
            reconciler,
            job,
            web,
        } = self;
        let cfg = app.cfg.clone();
        let refresh_task = cfg
            .pricing
            .refresh_cron
            .clone()
            .map(|cron| tokio::spawn(run_price_refresh(app.clone(), cron, shutdown.clone())));
        let safety_net = StdDuration::from_secs(u64::from(cfg.reconcile.safety_net_seconds));
        let web_task = web.map(|a| tokio::spawn(a.run_until_stopped(shutdown.clone())));
        let delivery = crate::notify::Delivery::new(cfg.clone(), app.store.clone());
        let delivery_task = tokio::spawn(delivery.run(job.new_notifications.clone(), shutdown.clone()));
        let projection_task = tokio::spawn(run_projection(job, cfg.clone(), app.changed.clone(), shutdown.clone()));
        let result = run_loop(
            reconciler,
            app.store.clone(),
            safety_net,
            app.changed.clone(),
            app.status.clone(),
            app.kick.clone(),
            shutdown,
        )
        .await;
        let _ = projection_task.await;
        // The delivery in flight finishes (bounded by its webhook's timeout) before the process exits.
        let _ = delivery_task.await;
        if let Some(r) = refresh_task {
            let _ = r.await;
        }
        if let Some(w) = web_task {
            let _ = w.await;
        }
        result
    }
}

/// Dry-run makes no AWS calls, so it could never delete an ALB that a real
/// run created: starting in dry-run while the ledger has one open would
/// leave it running (and billing) with nobody watching. Refuse, and say how
/// to get out.
pub fn refuse_dry_run_over_a_live_alb(cfg: &Config, store: &dyn Store) -> anyhow::Result<()> {
    let live: Vec<_> = store
        .open_lifetimes(&cfg.deployment)?
        .into_iter()
        .filter(|l| !l.dry_run)
        .collect();
    if let Some(l) = live.first() {
        anyhow::bail!(
            "dry_run = true, but the ledger in {store} has a live ALB that costd created: {name} ({arn}, since {since}, \
             windows {windows}). In dry-run costd makes no AWS calls and would leave it running and billing. \
             Start once with dry_run = false: costd deletes it when no window wants it (at once if none does), \
             or notices that it is gone if you deleted it yourself; then switch dry-run back on.",
            store = cfg.store_path.display(),
            name = l.name,
            arn = l.lb_arn.as_deref().unwrap_or("ARN not recorded yet"),
            since = l.created_at.to_rfc3339(),
            windows = if l.window_ids.is_empty() {
                "none".to_string()
            } else {
                l.window_ids.join(", ")
            },
        );
    }
    Ok(())
}

/// `costd serve`: builds the daemon and runs it until shutdown.
pub async fn serve(cfg: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    Daemon::build(cfg).await?.run_until_stopped(shutdown).await
}

/// One scheduled price refresh: fetch, rebuild, log the changes, swap the
/// prices in whole (tables, planner settings, NAT-vs-endpoints model) and
/// write the table when configured. A failure keeps the prices in use.
pub async fn refresh_prices(
    cfg: &Config,
    prices: &SharedPrices,
) -> anyhow::Result<Vec<crate::pricing::pricelist::RateChange>> {
    let p = &cfg.pricing;
    let client = crate::aws::pricing::client(&p.api_region, p.endpoint_url.as_deref()).await;
    let items = crate::aws::pricing::fetch(&client, &cfg.region).await?;
    let current = prices.get();
    let (table, changes) = crate::pricing::pricelist::rebuild(current.table(), &items, Utc::now().date_naive())?;
    for c in &changes {
        tracing::warn!(rate = %c.key, old = ?c.old, new = ?c.new, sku = %c.sku, "price changed in the AWS Price List");
    }
    if !changes.is_empty() {
        let mut book = current.book.clone();
        book.replace(table.clone());
        prices.replace(Prices::build(cfg, book)?);
        if let (true, Some(dir)) = (p.write, &cfg.pricing_dir) {
            let path = dir.join(format!("{}.toml", cfg.region));
            crate::pricing::write::write_atomically(&path, &table.to_toml())
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(changes)
}

async fn run_price_refresh(app: App, cron: String, shutdown: CancellationToken) {
    let due = Arc::new(Notify::new());
    let mut scheduler = match JobScheduler::new().await {
        Ok(s) => s,
        Err(e) => return tracing::error!(error = %e, "price refresh scheduler"),
    };
    let d = due.clone();
    // tokio-cron-scheduler takes seconds first: run at second 0 of the configured minute.
    let job = Job::new(format!("0 {cron}").as_str(), move |_, _| d.notify_one());
    let scheduled = match job {
        Ok(j) => scheduler.add(j).await.is_ok() && scheduler.start().await.is_ok(),
        Err(_) => false,
    };
    if !scheduled {
        return tracing::error!(cron = %cron, "could not schedule the price refresh");
    }
    loop {
        tokio::select! {
            _ = due.notified() => {}
            _ = shutdown.cancelled() => break,
        }
        let r = tokio::select! {
            r = refresh_prices(&app.cfg, &app.prices) => r,
            _ = shutdown.cancelled() => break,
        };
        match r {
            Ok(c) if c.is_empty() => tracing::info!("price refresh: no changes"),
            Ok(c) => {
                tracing::info!(changes = c.len(), "price refresh: the new prices are in use");
                app.changed.notify_one();
            }
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "price refresh failed; keeping the current prices"),
        }
    }
    let _ = scheduler.shutdown().await;
}

/// The projection loop: on start, every `recompute_seconds`/`publish_seconds`
/// (a tokio-cron-scheduler job), and when the reconciler changed something.
async fn run_projection<C: CloudWatchApi + Clone + 'static>(
    job: Arc<ProjectionJob<C>>,
    cfg: Arc<Config>,
    changed: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let every = cfg.projection.recompute_seconds.min(cfg.cloudwatch.publish_seconds);
    let mut scheduler = match JobScheduler::new().await {
        Ok(s) => s,
        Err(e) => return tracing::error!(error = %e, "projection scheduler"),
    };
    let kick = changed.clone();
    let added = match Job::new_repeated(StdDuration::from_secs(u64::from(every)), move |_, _| kick.notify_one()) {
        Ok(j) => scheduler.add(j).await.is_ok(),
        Err(_) => false,
    };
    if !added || scheduler.start().await.is_err() {
        return tracing::error!("could not schedule the projection job");
    }
    let mut alarms_synced = false;
    let mut backoff = Backoff::default();
    loop {
        // AWS calls can take a while to fail (retries, timeouts); shutdown abandons them.
        if !alarms_synced {
            tokio::select! {
                r = job.sync_alarms() => match r {
                    Ok(()) => alarms_synced = true,
                    Err(e) => tracing::warn!(error = %e, "syncing CloudWatch alarms failed; will retry"),
                },
                _ = shutdown.cancelled() => break,
            }
        }
        let result = tokio::select! {
            r = job.run_once(Utc::now()) => r,
            _ = shutdown.cancelled() => break,
        };
        let wait = match result {
            Ok(p) => {
                backoff.reset();
                tracing::info!(
                    month = %p.month, month_to_date_usd = %crate::money::to_cents(p.month_to_date_usd),
                    projected_usd = %crate::money::to_cents(p.projected_usd), "projection"
                );
                None
            }
            Err(e) => {
                let w = backoff.fail();
                tracing::warn!(error = %format!("{e:#}"), retry_in_s = w.num_seconds(), "projection failed");
                Some(w.to_std().unwrap_or(StdDuration::from_secs(1)))
            }
        };
        tokio::select! {
            _ = changed.notified() => {}
            _ = tokio::time::sleep(wait.unwrap_or(StdDuration::from_secs(u64::from(every)))) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    let _ = scheduler.shutdown().await;
}

/// A token cancelled on ctrl-c or SIGTERM.
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("install SIGTERM handler");
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutdown signal received");
        t.cancel();
    });
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_and_resets() {
        let mut b = Backoff::default();
        let waits: Vec<i64> = (0..8).map(|_| b.fail().num_seconds()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
        b.reset();
        assert_eq!(b.fail().num_seconds(), 1);
    }
}
