//! Who may act: one daemon per store leads (reconciles, publishes,
//! delivers); on PostgreSQL the others stand by and serve the dashboard and
//! the API. [`Leadership`] is what every part reads: the reconcile loop runs
//! only while it leads, each AWS mutation asks [`Leadership::may_mutate`]
//! first, and `/metrics`, `/readyz` and the dashboard show who leads.
//!
//! A leader's right to act ends at a local deadline set from its last
//! renewal *before* the lease can run out in the database: the deadline is
//! the time the renewal was sent plus the lease's TTL, less a margin, and
//! the database only lets another replica in once the TTL has passed since
//! it received that renewal. So a leader cut off from its database stops by
//! itself, ahead of any successor, without having to hear anything.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;

/// How this process relates to the others on its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// SQLite: this process holds the store's file lock and is the only daemon.
    Single,
    /// PostgreSQL: replicas elect a leader through a lease row.
    Replicated,
}

/// What the dashboard, `/readyz` and `/metrics` show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LeaderView {
    /// Single daemon or replicas.
    pub mode: Mode,
    /// This process's identity (`host:pid:random`).
    pub me: String,
    /// Whether this process leads now.
    pub leading: bool,
    /// Who leads, when known.
    pub leader: Option<String>,
    /// The leader's fencing token (replicas only; it grows at each change of leader).
    pub token: Option<i64>,
    /// Since when the current leader leads.
    pub since: Option<DateTime<Utc>>,
    /// When the leader's lease runs out unless renewed (replicas only).
    pub lease_expires_at: Option<DateTime<Utc>>,
}

struct State {
    view: LeaderView,
    /// While leading: the local deadline for acting.
    act_until: Option<Instant>,
}

/// The shared leadership state.
pub struct Leadership {
    state: Mutex<State>,
    leading: watch::Sender<bool>,
    /// Actions must have at least this much time left before the deadline to start.
    headroom: Duration,
}

impl Leadership {
    /// A single daemon holding its store's lock: it leads for as long as it runs.
    pub fn single(me: String, since: DateTime<Utc>) -> Self {
        Leadership {
            state: Mutex::new(State {
                view: LeaderView {
                    mode: Mode::Single,
                    leader: Some(me.clone()),
                    me,
                    leading: true,
                    token: None,
                    since: Some(since),
                    lease_expires_at: None,
                },
                act_until: None,
            }),
            leading: watch::Sender::new(true),
            headroom: Duration::ZERO,
        }
    }

    /// A replica, standing by until it wins the lease; actions start only
    /// with `headroom` left before the deadline.
    pub fn replica(me: String, headroom: Duration) -> Self {
        Leadership {
            state: Mutex::new(State {
                view: LeaderView {
                    mode: Mode::Replicated,
                    me,
                    leading: false,
                    leader: None,
                    token: None,
                    since: None,
                    lease_expires_at: None,
                },
                act_until: None,
            }),
            leading: watch::Sender::new(false),
            headroom,
        }
    }

    /// The view as it stands (`leading` false once the deadline has passed).
    pub fn view(&self) -> LeaderView {
        let s = self.state.lock().expect("leadership lock");
        let mut v = s.view.clone();
        if v.mode == Mode::Replicated && s.act_until.is_none_or(|d| Instant::now() >= d) {
            v.leading = false;
        }
        v
    }

    /// Whether this process may change AWS or the ledger now.
    pub fn may_mutate(&self) -> bool {
        let s = self.state.lock().expect("leadership lock");
        match s.view.mode {
            Mode::Single => true,
            Mode::Replicated => s.view.leading && s.act_until.is_some_and(|d| Instant::now() + self.headroom < d),
        }
    }

    /// Leads (won or renewed the lease), with the right to act until `act_until`.
    pub fn lead(&self, token: i64, since: DateTime<Utc>, expires_at: DateTime<Utc>, act_until: Instant) {
        let mut s = self.state.lock().expect("leadership lock");
        s.view.leading = true;
        s.view.leader = Some(s.view.me.clone());
        s.view.token = Some(token);
        s.view.since = Some(since);
        s.view.lease_expires_at = Some(expires_at);
        s.act_until = Some(act_until);
        drop(s);
        self.leading.send_if_modified(|l| !std::mem::replace(l, true));
    }

    /// Another replica leads (or nobody is known to).
    pub fn follow(&self, leader: Option<(String, i64, DateTime<Utc>, DateTime<Utc>)>) {
        let mut s = self.state.lock().expect("leadership lock");
        s.view.leading = false;
        s.act_until = None;
        match leader {
            Some((holder, token, since, expires)) => {
                s.view.leader = Some(holder);
                s.view.token = Some(token);
                s.view.since = Some(since);
                s.view.lease_expires_at = Some(expires);
            }
            None => {
                s.view.leader = None;
                s.view.token = None;
                s.view.since = None;
                s.view.lease_expires_at = None;
            }
        }
        drop(s);
        self.leading.send_if_modified(|l| std::mem::replace(l, false));
    }

    /// The local deadline passed without a renewal: stop acting.
    pub fn lapse(&self) {
        let mut s = self.state.lock().expect("leadership lock");
        if s.view.mode == Mode::Replicated && s.view.leading {
            s.view.leading = false;
            s.act_until = None;
            drop(s);
            self.leading.send_if_modified(|l| std::mem::replace(l, false));
        }
    }

    /// The local deadline, while leading a replica set.
    pub fn act_until(&self) -> Option<Instant> {
        self.state.lock().expect("leadership lock").act_until
    }

    /// Changes of "leading", for the loops that run only while leading.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.leading.subscribe()
    }
}

/// The lease replicas of `deployment` compete for.
pub fn lease_name(deployment: &str) -> String {
    format!("leader:{deployment}")
}

/// This process's identity: host name, process id and a random suffix (a
/// restarted process is a new holder, even with the same pid).
pub fn identity() -> String {
    format!(
        "{}:{}:{}",
        crate::store::lock::hostname(),
        std::process::id(),
        crate::store::random_hex(3)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_replica_acts_only_inside_its_deadline_less_the_headroom() {
        let l = Leadership::replica("a".into(), Duration::from_secs(2));
        assert!(!l.may_mutate(), "a standby never acts");
        let mut rx = l.subscribe();
        let now = Utc::now();
        l.lead(7, now, now, Instant::now() + Duration::from_secs(8));
        assert!(*rx.borrow_and_update());
        assert!(l.may_mutate());
        assert_eq!((l.view().token, l.view().leader.as_deref()), (Some(7), Some("a")));
        // 6 s on, 2 s are left: no new action may start (headroom), though the view still leads.
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(!l.may_mutate());
        assert!(l.view().leading);
        // Past the deadline, the view says so too, before anyone calls `lapse`.
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(!l.view().leading);
        l.lapse();
        assert!(rx.has_changed().unwrap() && !*rx.borrow_and_update());
        l.follow(Some(("b".into(), 8, now, now)));
        assert_eq!((l.view().leader.as_deref(), l.view().token), (Some("b"), Some(8)));
    }

    #[test]
    fn a_single_daemon_always_leads() {
        let l = Leadership::single("a".into(), Utc::now());
        assert!(l.may_mutate());
        assert!(l.view().leading);
        assert_eq!(l.view().mode, Mode::Single);
    }
}
