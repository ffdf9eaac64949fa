//! `costd serve`: the composition root. [`Daemon::build`] opens the store,
//! builds the prices, the shared [`App`] and the AWS clients, and binds the
//! web port; [`Daemon::run_until_stopped`] runs the reconcile loop
//! ([`reconcile_loop`]), the projection job and the price refresh
//! ([`jobs`]), the notification delivery worker and the web server until one
//! shutdown token (ctrl-c or SIGTERM) fires.

pub mod calendars;
pub mod dns;
pub mod events;
#[cfg(test)]
mod fake_elb;
pub mod jobs;
pub mod leader;
pub mod projection;
pub mod reconcile_loop;
pub mod reconciler;
pub mod sd_notify;

use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::app::leadership::{self, Leadership};
use crate::app::{App, Prices};
use crate::aws::cloudwatch::SdkCloudWatch;
use crate::aws::elb::SdkElb;
use crate::config::Config;
use crate::config::StoreConfig;
use crate::pricing::load::PriceBook;
use crate::store::Store;
use crate::store::postgres::{Fence, PgStore};
use crate::store::sqlite::SqliteStore;
use leader::Fenced;
use projection::ProjectionJob;
use reconciler::Reconciler;

/// The whole daemon, built (store open, clients made, web port bound) but not yet running.
/// This is the composition root: it makes the shared [`App`] and hands it to
/// the reconcile loop, the projection job, the delivery worker and the web
/// server, which know nothing of each other.
pub struct Daemon {
    app: App,
    reconciler: Reconciler<Fenced<SdkElb>, Fenced<crate::aws::route53::SdkRoute53>>,
    job: Arc<ProjectionJob<SdkCloudWatch>>,
    web: Option<crate::web::Application>,
    hold: Hold,
}

/// What makes this daemon the one that acts.
enum Hold {
    /// SQLite: the store's file lock, held while the daemon runs (one daemon per file).
    Lock(crate::store::lock::StoreLock),
    /// PostgreSQL: the leader lease, won and renewed by the elector.
    Lease {
        store: Arc<PgStore>,
        lease: crate::config::LeaseConfig,
    },
}

impl Daemon {
    /// Opens the store, builds the AWS clients (unless dry-run) and binds the web port.
    pub async fn build(cfg: Config) -> anyhow::Result<Self> {
        let book = match &cfg.pricing_dir {
            Some(d) => PriceBook::from_dir(d)?,
            None => PriceBook::embedded()?,
        };
        let prices = Prices::build(&cfg, book)?;
        let me = leadership::identity();
        let now = chrono::Utc::now();
        let (store, hold, leadership): (Arc<dyn Store>, Hold, Leadership) = match &cfg.store {
            StoreConfig::Sqlite { path } => {
                // Before anything else touches the store or AWS: one daemon per store.
                let lock = crate::store::lock::StoreLock::acquire(path, now)?;
                let store = SqliteStore::open(path).with_context(|| format!("opening store {}", path.display()))?;
                (Arc::new(store), Hold::Lock(lock), Leadership::single(me, now))
            }
            StoreConfig::Postgres { settings, lease } => {
                let pg = Arc::new(
                    PgStore::open(settings.clone())
                        .with_context(|| format!("opening store {}", settings.display_url()))?,
                );
                // A standby until the elector wins the lease: no ledger write before that.
                pg.set_fence(Fence::Required {
                    lease: leadership::lease_name(&cfg.deployment),
                    token: None,
                });
                let hold = Hold::Lease {
                    store: pg.clone(),
                    lease: *lease,
                };
                (pg, hold, Leadership::replica(me, lease.margin()))
            }
        };
        if cfg.dry_run {
            refuse_dry_run_over_a_live_alb(&cfg, store.as_ref())?;
        }
        tracing::info!(
            deployment = %cfg.deployment,
            region = %cfg.region,
            store = %cfg.store.describe(),
            me = %leadership.view().me,
            dry_run = cfg.dry_run,
            endpoint = cfg.aws.endpoint_url.as_ref().map_or("AWS", url::Url::as_str),
            "costd starting"
        );
        let mut app = App::new(Arc::new(cfg), store, prices);
        app.leadership = Arc::new(leadership);
        let cfg = app.cfg.clone();
        let elb = if cfg.dry_run {
            None
        } else {
            Some(Fenced::new(
                SdkElb::new(crate::aws::elb_client(&cfg.region, &cfg.aws.for_elb()).await),
                app.leadership.clone(),
            ))
        };
        // The stable name's records (`[alb.dns]`), changed only by the leader like the ALB.
        let dns = match (&cfg.alb.dns, cfg.dry_run) {
            (Some(_), false) => Some(Fenced::new(
                crate::aws::route53::SdkRoute53::new(crate::aws::route53_client(&cfg.aws.for_route53()).await),
                app.leadership.clone(),
            )),
            _ => None,
        };
        let reconciler = Reconciler::new(
            cfg.clone(),
            app.store.clone(),
            elb,
            app.prices.clone(),
            app.clock.clone(),
        )
        .with_dns(dns);
        let cw = if cfg.dry_run || !cfg.cloudwatch.enabled {
            None
        } else {
            Some(SdkCloudWatch::new(
                crate::aws::cloudwatch_client(&cfg.region, &cfg.aws.for_cloudwatch()).await,
            ))
        };
        let job = Arc::new(ProjectionJob::new(app.clone(), cw));
        let web = if cfg.web.enabled {
            let web = crate::web::Application::build(crate::web::AppState::new(app.clone())).await?;
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
            hold,
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
            hold,
        } = self;
        let cfg = app.cfg.clone();
        let refresh_task = cfg
            .pricing
            .refresh_cron
            .clone()
            .map(|cron| tokio::spawn(jobs::run_price_refresh(app.clone(), cron, shutdown.clone())));
        let bill_task = match (&cfg.bill_check_cron, cfg.dry_run) {
            (Some(_), true) => {
                tracing::warn!("[billing] check_cron is set, but a dry run makes no AWS calls: no bill check");
                None
            }
            (Some(cron), false) => Some(tokio::spawn(jobs::run_bill_check(
                app.clone(),
                cron.clone(),
                shutdown.clone(),
            ))),
            (None, _) => None,
        };
        let calendar_task = tokio::spawn(calendars::run(app.clone(), shutdown.clone()));
        let web_task = web.map(|a| tokio::spawn(a.run_until_stopped(shutdown.clone())));
        let delivery = crate::notify::Delivery::new(cfg.clone(), app.store.clone()).gated_by(app.leadership.clone());
        let delivery_task = tokio::spawn(delivery.run(app.outbox.clone(), shutdown.clone()));
        let projection_task = tokio::spawn(jobs::run_projection(
            job,
            cfg.clone(),
            app.changed.clone(),
            shutdown.clone(),
        ));
        let (elector, _lock) = match hold {
            Hold::Lock(lock) => {
                tracing::info!(lock = %lock.path.display(), "holding the store lock");
                (None, Some(lock))
            }
            Hold::Lease { store, lease } => (
                Some(tokio::spawn(leader::run_elector(
                    store,
                    leadership::lease_name(&cfg.deployment),
                    lease,
                    app.leadership.clone(),
                    shutdown.clone(),
                ))),
                None,
            ),
        };
        // The store is open, the web port bound and every job started: ready
        // (a standby replica is ready too: it serves the dashboard and the API).
        sd_notify::notify("READY=1");
        let result = if elector.is_some() {
            // Reconcile only while leading; stand by, and take over, otherwise.
            loop {
                if !leader::until_leading(&app.leadership, &shutdown).await {
                    break Ok(());
                }
                tracing::info!("leading: reconciling AWS with the store");
                let term = leader::term(&app.leadership, &shutdown);
                let r = reconcile_loop::run_loop(&reconciler, app.clone(), term).await;
                if r.is_err() || shutdown.is_cancelled() {
                    break r;
                }
                tracing::warn!("no longer leading: stopped reconciling; standing by");
            }
        } else {
            reconcile_loop::run_loop(&reconciler, app.clone(), shutdown.clone()).await
        };
        sd_notify::notify("STOPPING=1");
        if let Some(e) = elector {
            // Gives the lease up, so a standby takes over at once.
            let _ = e.await;
        }
        let _ = projection_task.await;
        // The delivery in flight finishes (bounded by its webhook's timeout) before the process exits.
        let _ = delivery_task.await;
        if let Some(r) = refresh_task {
            let _ = r.await;
        }
        if let Some(b) = bill_task {
            let _ = b.await;
        }
        let _ = calendar_task.await;
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
            store = cfg.store.describe(),
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
