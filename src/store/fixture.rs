//! A scale fixture, written through the store's own write path (SQLite or
//! PostgreSQL alike): `windows` one-off windows of 30 minutes, one every 2
//! hours, half before `now` and half after (a team booking demos all day,
//! for years); the ledger the daemon would have written for the past ones
//! within `years`: one ALB lifetime per window, created 5 minutes before it
//! opens (lead), active 3 minutes later, deleted 5 minutes after it closes
//! (grace); and their create and delete decisions within the decisions' 90
//! days of retention. The `scalegen` example and `tests/proof.sh scale`
//! use it.

use chrono::{DateTime, Duration, Utc};

use super::{Decision, DecisionAction, LifetimeReason, NewLifetime, Store, StoreError};
use crate::interval::Interval;

/// What to write.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// Windows, half past and half coming.
    pub windows: i64,
    /// Years of ledger (for the past windows within them).
    pub years: i64,
    /// The fixture's now (on the hour below it).
    pub now: DateTime<Utc>,
    /// The deployment the ledger belongs to (the config's `[deployment] name`).
    pub deployment: String,
    /// Whether the ledger is a dry run's (the config's `dry_run`).
    pub dry_run: bool,
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Windows.
    pub windows: i64,
    /// Lifetimes, each closed.
    pub lifetimes: i64,
    /// Decisions.
    pub decisions: i64,
}

/// Writes `f` into `store`.
pub fn write(store: &dyn Store, f: &Fixture) -> Result<Written, StoreError> {
    let hour = f.now.timestamp() - f.now.timestamp().rem_euclid(3600);
    let on_the_hour = DateTime::from_timestamp(hour, 0).unwrap_or(f.now);
    let first = on_the_hour - Duration::hours(2 * (f.windows / 2));
    let ledger_from = f.now - Duration::days(365 * f.years);
    let decisions_from = f.now - Duration::days(90);
    let mut written = Written {
        windows: 0,
        lifetimes: 0,
        decisions: 0,
    };
    for i in 0..f.windows {
        let start = first + Duration::hours(2 * i);
        let window = Interval {
            start,
            end: start + Duration::minutes(30),
        };
        let w = store.add_window(window, "scale fixture", "scalegen", start - Duration::days(1))?;
        written.windows += 1;
        let (created, deleted) = (window.start - Duration::minutes(5), window.end + Duration::minutes(5));
        if created < ledger_from || deleted > f.now {
            continue;
        }
        let ids = vec![format!("w{}", w.id)];
        let mut l = store.insert_lifetime(&NewLifetime {
            deployment: f.deployment.clone(),
            name: format!("costd-scale-{}", w.id),
            window_ids: ids.clone(),
            reason: LifetimeReason::Window,
            reason_detail: String::new(),
            dry_run: f.dry_run,
            created_at: created,
        })?;
        l.lb_arn = Some(format!(
            "arn:aws:elasticloadbalancing:ap-southeast-1:123456789012:loadbalancer/app/costd-scale-{}/{:016x}",
            w.id, w.id
        ));
        l.dns_name = Some(format!("costd-scale-{}.ap-southeast-1.elb.amazonaws.com", w.id));
        l.active_at = Some(created + Duration::minutes(3));
        l.deleted_at = Some(deleted);
        store.update_lifetime(&l)?;
        written.lifetimes += 1;
        if created >= decisions_from {
            for (at, action) in [(created, DecisionAction::Create), (deleted, DecisionAction::Delete)] {
                store.record_decision(&Decision {
                    at,
                    action,
                    window_ids: ids.clone(),
                    arn: l.lb_arn.clone(),
                    detail: "scale fixture".into(),
                    dry_run: f.dry_run,
                    edge_at: Some(at),
                })?;
                written.decisions += 1;
            }
        }
    }
    Ok(written)
}
