//! After each reconcile step, the schedule's events: derived from the
//! ledger, the coming windows and the step's result
//! ([`crate::notify::schedule`]), recorded in the store's outbox (an id
//! already there is left alone, so deriving the same event again after a
//! crash sends nothing twice) and handed to the delivery worker.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};

use crate::app::App;
use crate::daemon::reconciler::Outcome;
use crate::event::{Event, EventKind};
use crate::notify::schedule::{self, FailureWatch, LOOKBACK};
use crate::store::StoreError;

/// How many recorded ids are remembered before the memory is cleared (the
/// store keeps the truth; this only saves writes).
const REMEMBERED: usize = 10_000;

/// The reconcile loop's event source.
pub struct Emitter {
    failures: FailureWatch,
    recorded: HashSet<String>,
    /// Whether the store was asked for a failure left unresolved by an earlier process.
    checked_unresolved: bool,
}

impl Emitter {
    /// For `app`'s deployment and `[events]`.
    pub fn new(app: &App) -> Self {
        Emitter {
            failures: FailureWatch::new(&app.cfg.deployment, app.cfg.events.reconcile_failing_after),
            recorded: HashSet::new(),
            checked_unresolved: false,
        }
    }

    /// After a step at `at` that ended with `result` (an error as its
    /// summary): records the due events. Returns when a *window starting
    /// soon* is next due, for the loop to wake then. A store error is
    /// logged; the events are derived again at the next step.
    pub fn after_step(
        &mut self,
        app: &App,
        at: DateTime<Utc>,
        result: Result<&Outcome, &str>,
    ) -> Option<DateTime<Utc>> {
        match self.derive(app, at, result) {
            Ok((events, next)) => {
                self.record(app, events);
                next
            }
            Err(e) => {
                tracing::warn!(error = %e, "deriving the schedule's events; trying again at the next step");
                None
            }
        }
    }

    fn derive(
        &mut self,
        app: &App,
        at: DateTime<Utc>,
        result: Result<&Outcome, &str>,
    ) -> Result<(Vec<Event>, Option<DateTime<Utc>>), StoreError> {
        let cfg = &app.cfg;
        let store = app.store.as_ref();
        let mut events = Vec::new();
        match result {
            Ok(outcome) => {
                let unresolved = if self.failures.failing() || !self.checked_unresolved {
                    self.checked_unresolved = true;
                    unresolved_failure(app)?
                } else {
                    None
                };
                events.extend(self.failures.succeeded(at, unresolved));
                events.extend(schedule::conflict_events(&cfg.deployment, &outcome.conflicts, at));
            }
            Err(summary) => events.extend(self.failures.failed(at, summary)),
        }
        let settings = app.prices.get().settings.clone();
        let lifetimes = store.lifetimes(&cfg.deployment, at - LOOKBACK, at + Duration::seconds(1))?;
        events.extend(schedule::lifetime_events(
            &cfg.deployment,
            &lifetimes,
            at - LOOKBACK,
            cfg.alb.https.is_some(),
            cfg.alb.dns.as_ref().map(|d| d.record_name.as_str()),
            &settings,
            cfg.timezone,
        ));
        let mut next = None;
        if let Some(before) = cfg.events.window_soon {
            let windows = crate::app::windows::demo_windows(cfg, store, at, at + before + Duration::days(1))?;
            events.extend(schedule::window_soon_events(
                &cfg.deployment,
                &windows,
                at,
                before,
                cfg.timezone,
            ));
            next = schedule::next_window_soon(&windows, at, before);
        }
        Ok((events, next))
    }

    fn record(&mut self, app: &App, mut events: Vec<Event>) {
        events.retain(|e| !self.recorded.contains(&e.id));
        if events.is_empty() {
            return;
        }
        let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        match app.store.record_events(&crate::notify::routed(&app.cfg, events)) {
            Ok(new) => {
                if self.recorded.len() + ids.len() > REMEMBERED {
                    self.recorded.clear();
                }
                self.recorded.extend(ids);
                if new > 0 {
                    app.outbox.notify_one();
                }
            }
            Err(e) => tracing::warn!(error = %e, "recording the schedule's events; trying again at the next step"),
        }
    }
}

/// The last *reconcile failing* event, if no recovery followed it (an
/// earlier process announced a failure and stopped before it recovered).
fn unresolved_failure(app: &App) -> Result<Option<String>, StoreError> {
    let Some(failing) = app.store.events(Some(EventKind::ReconcileFailing), None, 1)?.pop() else {
        return Ok(None);
    };
    let recovered = app.store.events(Some(EventKind::ReconcileRecovered), None, 1)?.pop();
    let resolved = recovered.is_some_and(|r| r.id == format!("{}/recovered", failing.id));
    Ok((!resolved).then_some(failing.id))
}
