//! The reconcile loop: one step at a time, sleeping until the planner's
//! next edge (no polling), rechecking soon while something is in progress,
//! at the latest after the safety net, and after a failure only when the
//! backoff is over. A changed schedule (this process's API, or another
//! process writing the store) wakes it at once. When it wakes is decided by
//! [`next_wake`], a pure function.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tokio_util::sync::CancellationToken;

use super::reconciler::Reconciler;
use crate::aws::elb::ElbApi;

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
pub const PENDING_RECHECK: Duration = Duration::seconds(3);

/// How a reconcile step ended, as far as the wake-up is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepResult {
    /// It succeeded: the plan's next edge, and whether something is still in progress.
    Done {
        /// The next planned edge, if any.
        next_edge: Option<DateTime<Utc>>,
        /// Provisioning, or a target group still in use.
        pending: bool,
    },
    /// It failed: wait this long (the backoff) before the next try.
    Failed {
        /// The backoff's wait.
        retry_in: Duration,
    },
}

/// When the loop runs next after a step that started at `at` (PURE): the
/// next edge, a quick recheck while something is pending, and at the latest
/// the safety net; after a failure, the backoff alone (the safety net does
/// not cut it short; a changed schedule wakes the loop anyway).
pub fn next_wake(at: DateTime<Utc>, result: StepResult, safety_net: Duration) -> DateTime<Utc> {
    match result {
        StepResult::Done { next_edge, pending } => {
            let mut wake = at + safety_net;
            if let Some(n) = next_edge {
                wake = wake.min(n);
            }
            if pending {
                wake = wake.min(at + PENDING_RECHECK);
            }
            wake
        }
        StepResult::Failed { retry_in } => at + retry_in,
    }
}

/// Runs the reconcile loop until `shutdown` is cancelled: on `app`'s clock,
/// with `[reconcile] safety_net_seconds`, woken by `app.kick`; it wakes
/// `app.changed` (the projection) when it changed something and keeps
/// `app.status` for `/readyz` and the dashboard.
pub async fn run_loop<E: ElbApi, D: crate::aws::route53::Route53Api>(
    reconciler: &Reconciler<E, D>,
    app: crate::app::App,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut emitter = super::events::Emitter::new(&app);
    let events_app = app.clone();
    let crate::app::App {
        cfg,
        store,
        status,
        kick,
        changed,
        clock,
        ..
    } = app;
    let safety_net = StdDuration::from_secs(u64::from(cfg.reconcile.safety_net_seconds));
    {
        // `costd windows add` in another process: notice within a second, and
        // recompute the projection (the schedule changed).
        let kick = kick.clone();
        let changed = changed.clone();
        let generation = events_app.generation.clone();
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
                    generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
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
        let at = clock();
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
                    s.last_ok_at = Some(clock());
                    s.last_error = None;
                    s.last_error_summary = None;
                    s.plan = Some(o.plan.clone());
                    s.conflicts = o.conflicts.clone();
                    s.dns_problem = o.dns_problem.clone();
                }
                Err(e) => {
                    s.last_error = Some(e.to_string());
                    s.last_error_summary = Some(e.summary());
                }
            }
        }
        let window_soon = emitter.after_step(&events_app, at, result.as_ref().map_err(|e| e.summary()));
        let step = match result {
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
                edge = next;
                StepResult::Done {
                    next_edge: next,
                    pending: outcome.pending,
                }
            }
            Err(e) => {
                let wait = backoff.fail();
                tracing::warn!(error = %e, retry_in_s = wait.num_seconds(), "reconcile failed; retrying with backoff");
                edge = None;
                StepResult::Failed { retry_in: wait }
            }
        };
        let safety = Duration::from_std(safety_net).unwrap_or(Duration::seconds(60));
        let wake = next_wake(at, step, safety);
        let wake = window_soon.map_or(wake, |w| wake.min(w));
        let sleep = (wake - clock()).to_std().unwrap_or(StdDuration::ZERO);
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = kick.notified() => {}
            _ = shutdown.cancelled() => break,
        }
        // Only a run that starts at or after its edge serves that edge.
        if edge.is_some_and(|e| clock() < e) {
            edge = None;
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use chrono::TimeZone;
    use std::sync::Arc;

    /// The whole loop on tokio's paused clock (its sleeps auto-advance): a
    /// one-hour window ten minutes ahead. The ALB is created at the window's
    /// start and deleted at its end, each on the second, in a handful of
    /// runs: the loop sleeps until the edges, it does not poll.
    #[tokio::test(start_paused = true)]
    async fn on_paused_time_the_alb_follows_the_edges_without_polling() {
        use crate::daemon::fake_elb::FakeElb;
        use crate::store::sqlite::SqliteStore;
        let path = std::env::temp_dir().join(format!("costd-loop-{}.db", std::process::id()));
        for s in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{s}", path.display()));
        }
        let src = crate::config::EMBEDDED_DEFAULT
            .replace("dry_run = true", "dry_run = false")
            .replace("lead_minutes = 5", "lead_minutes = 0")
            .replace("grace_minutes = 5", "grace_minutes = 0");
        let mut cfg = crate::config::Config::parse("loop.toml", &src, std::path::Path::new("/")).unwrap();
        assert_eq!(cfg.schedule.lead, Duration::zero());
        // Only the stored window below.
        cfg.schedule.windows.clear();
        // The safety net far off: every run in this test is an edge or a wake-up.
        cfg.reconcile.safety_net_seconds = 3600;
        let cfg = Arc::new(cfg);
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        let prices = crate::app::Prices::build(&cfg, crate::pricing::load::PriceBook::embedded().unwrap()).unwrap();
        let mut app = crate::app::App::new(cfg.clone(), store.clone(), prices);
        app.clock = crate::app::clock::tokio_time();
        let clock = app.clock.clone();
        let t0 = clock();
        // Whole seconds (the store keeps milliseconds).
        let start = chrono::DurationRound::duration_trunc(t0 + Duration::minutes(10), Duration::seconds(1)).unwrap();
        let end = start + Duration::hours(1);
        store
            .add_window(crate::schedule::Interval::new(start, end).unwrap(), "", "test", t0)
            .unwrap();
        let elb = FakeElb::default();
        let reconciler: Reconciler<FakeElb> = Reconciler::new(
            cfg.clone(),
            store.clone(),
            Some(elb.clone()),
            app.prices.clone(),
            clock.clone(),
        );
        let shutdown = CancellationToken::new();
        let task = {
            let shutdown = shutdown.clone();
            tokio::spawn(async move { run_loop(&reconciler, app, shutdown).await })
        };
        let ledger = || store.lifetimes(&cfg.deployment, t0, t0 + Duration::hours(3)).unwrap();

        tokio::time::sleep(StdDuration::from_secs(9 * 60 + 59)).await;
        assert!(elb.w().lbs.is_empty(), "nothing before the window");
        tokio::time::sleep(StdDuration::from_secs(2)).await;
        assert_eq!(elb.w().lbs.len(), 1, "created at the start");
        let created = ledger()[0].created_at;
        assert!(
            created >= start && created - start < Duration::seconds(1),
            "{created} vs {start}"
        );

        tokio::time::sleep(StdDuration::from_secs(3600 - 3)).await;
        assert_eq!(elb.w().lbs.len(), 1, "kept until the end");
        tokio::time::sleep(StdDuration::from_secs(2)).await;
        assert!(elb.w().lbs.is_empty(), "deleted at the end");
        let deleted = ledger()[0].deleted_at.unwrap();
        assert!(
            deleted >= end && deleted - end < Duration::seconds(1),
            "{deleted} vs {end}"
        );

        // 70 minutes: the first run, the two edges, the store watcher's wake-ups
        // after the loop's own writes; polling every second would be 4,200.
        let runs = elb.w().listings;
        assert!((3..=12).contains(&runs), "{runs} runs");
        shutdown.cancel();
        task.await.unwrap().unwrap();
    }

    #[test]
    fn backoff_doubles_to_a_cap_and_resets() {
        let mut b = Backoff::default();
        let waits: Vec<i64> = (0..8).map(|_| b.fail().num_seconds()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
        b.reset();
        assert_eq!(b.fail().num_seconds(), 1);
    }

    #[test]
    fn the_loop_wakes_at_the_edge_a_recheck_the_safety_net_or_the_backoff() {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let s = |x: i64| at + Duration::seconds(x);
        let net = Duration::seconds(60);
        let done = |edge: Option<i64>, pending| StepResult::Done {
            next_edge: edge.map(s),
            pending,
        };
        for (result, wake, why) in [
            (done(None, false), s(60), "nothing planned: the safety net"),
            (done(Some(20), false), s(20), "an edge before the safety net"),
            (done(Some(600), false), s(60), "an edge after it: the safety net first"),
            (done(Some(20), true), s(3), "in progress: recheck in 3 s"),
            (done(Some(1), true), s(1), "an edge sooner than the recheck"),
            (done(Some(-5), false), s(-5), "an edge already past: at once"),
            (
                StepResult::Failed {
                    retry_in: Duration::seconds(16),
                },
                s(16),
                "failed: the backoff",
            ),
            (
                StepResult::Failed {
                    retry_in: Duration::seconds(120),
                },
                s(120),
                "the safety net never cuts a backoff short",
            ),
        ] {
            assert_eq!(next_wake(at, result, net), wake, "{why}");
        }
    }
}
