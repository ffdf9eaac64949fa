//! The store: what costd must not forget. Windows added at run time, the
//! ledger of ALB lifetimes, and every reconcile decision. [`Store`] is the
//! interface callers use; [`sqlite::SqliteStore`] (one daemon per file) and
//! [`postgres::PgStore`] (replicas sharing a database) implement it, and
//! pass one contract (`conformance.rs`).

#[cfg(test)]
mod conformance;
pub mod fixture;
pub mod lock;
pub mod postgres;
pub mod sqlite;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::budget::{AlarmState, Evaluation, Transition};
use crate::schedule::Interval;

/// A random (version 4) UUID, `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`.
pub fn random_uuid() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("OS randomness");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `n` random bytes as hex, from the OS (session ids, CSRF tokens, outbox claims).
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("OS randomness");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A comma-separated list as stored (window ids, listener ARNs).
/// Lines of a text column (empty: none).
fn lines(s: &str) -> Vec<String> {
    s.lines().filter(|l| !l.is_empty()).map(str::to_string).collect()
}

fn list(s: &str) -> Vec<String> {
    s.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect()
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database said no.
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL said no (or the connection failed).
    #[error("store: PostgreSQL: {}", postgres::describe(.0))]
    Postgres(#[from] ::postgres::Error),
    /// The store did not answer in time, or cannot be reached.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A ledger write by a replica that does not hold the leader lease.
    #[error("store: this replica is not the leader; ledger writes are refused")]
    NotLeader,
    /// A ledger write with a fencing token that is no longer the lease's:
    /// another replica has taken over since.
    #[error("store: fencing token {token} is stale (another replica holds the leader lease); write refused")]
    Fenced {
        /// The stale token.
        token: i64,
    },
    /// No window with this id.
    #[error("no window with id {0}")]
    WindowNotFound(i64),
    /// A window longer than the store keeps.
    #[error("a window of {hours} h is longer than the store keeps (at most 168 h, the most max_window_hours allows)")]
    WindowTooLong {
        /// Its length.
        hours: i64,
    },
    /// The window was already cancelled.
    #[error("window {0} is already cancelled")]
    AlreadyCancelled(i64),
    /// A value in the database could not be read back.
    #[error("store: bad value in {column}: {value}")]
    Corrupt {
        /// Which column.
        column: &'static str,
        /// What was there.
        value: String,
    },
}

/// A one-off window added at run time (CLI or API).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredWindow {
    /// Id; the planner calls it `w<id>`.
    pub id: i64,
    /// When it is open.
    pub interval: Interval,
    /// Free text: what the demo is for.
    pub note: String,
    /// Who added it (`cli`, `api:<token name>`).
    pub created_by: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it was cancelled, if it was.
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// A stored window row that cannot be read back (a value out of range or
/// damaged by hand). It never stops the daemon: the planner skips it, it is
/// logged and shown on `/readyz` and the dashboard, and it can be cancelled by id.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QuarantinedWindow {
    /// Id, as `costd windows cancel` takes it.
    pub id: i64,
    /// The start as stored.
    pub start_utc: String,
    /// The end as stored.
    pub end_utc: String,
    /// The note as stored.
    pub note: String,
    /// What could not be read.
    pub problem: String,
}

/// A window row as cancelled: readable, or quarantined.
#[derive(Debug, Clone, PartialEq)]
pub enum CancelledWindow {
    /// A readable window.
    Window(StoredWindow),
    /// A quarantined row, now cancelled (and no longer reported).
    Quarantined(QuarantinedWindow),
}

impl CancelledWindow {
    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            CancelledWindow::Window(w) => format!(
                "cancelled window {} ({} to {})",
                w.id,
                w.interval.start.to_rfc3339(),
                w.interval.end.to_rfc3339()
            ),
            CancelledWindow::Quarantined(q) => format!(
                "cancelled quarantined window {} (stored as {} to {}: {})",
                q.id, q.start_utc, q.end_utc, q.problem
            ),
        }
    }
}

/// Why a lifetime exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LifetimeReason {
    /// Created for a window.
    Window,
    /// Kept through a gap between windows (recorded on the lifetime that spans it).
    CoalescedGap,
    /// Found in AWS with costd's tags and no open ledger entry; adopted to be deleted or kept.
    OrphanCleanup,
    /// Created or deleted by an operator's request.
    Manual,
}

impl LifetimeReason {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LifetimeReason::Window => "window",
            LifetimeReason::CoalescedGap => "coalesced_gap",
            LifetimeReason::OrphanCleanup => "orphan_cleanup",
            LifetimeReason::Manual => "manual",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Window, Self::CoalescedGap, Self::OrphanCleanup, Self::Manual]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// One ALB lifetime in the ledger (also as `GET /api/v1/ledger` shows it).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Lifetime {
    /// Ledger id.
    pub id: i64,
    /// The deployment it belongs to.
    pub deployment: String,
    /// ALB and target group name.
    pub name: String,
    /// Windows it served (`cfg0@…`, `w12`).
    #[serde(rename = "windows")]
    pub window_ids: Vec<String>,
    /// Why it exists.
    pub reason: LifetimeReason,
    /// More on why (e.g. the coalescing arithmetic).
    pub reason_detail: String,
    /// Recorded by a dry run: nothing was created in AWS.
    pub dry_run: bool,
    /// Load balancer ARN, once created.
    pub lb_arn: Option<String>,
    /// Target group ARN, once created.
    pub tg_arn: Option<String>,
    /// Listener ARNs, once created.
    pub listener_arns: Vec<String>,
    /// Public DNS name, once created.
    pub dns_name: Option<String>,
    /// Route 53 changes made for its stable name (`[alb.dns]`), oldest first:
    /// `<change id> <UPSERT|DELETE> <what>`.
    pub dns_changes: Vec<String>,
    /// When costd began creating it (or AWS's CreatedTime for an adopted orphan).
    pub created_at: DateTime<Utc>,
    /// When AWS first reported it active.
    pub active_at: Option<DateTime<Utc>>,
    /// When its deletion completed.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A new ledger entry.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLifetime {
    /// The deployment.
    pub deployment: String,
    /// ALB and target group name.
    pub name: String,
    /// Windows served.
    pub window_ids: Vec<String>,
    /// Why.
    pub reason: LifetimeReason,
    /// More on why.
    pub reason_detail: String,
    /// Dry run.
    pub dry_run: bool,
    /// Start.
    pub created_at: DateTime<Utc>,
}

/// What a reconcile decision did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionAction {
    /// Created the ALB (or, in dry-run, would have).
    Create,
    /// Deleted it (or would have).
    Delete,
    /// AWS reported it active.
    Active,
    /// Took over a costd-tagged ALB the ledger did not know (a crash, a lost store).
    Adopt,
    /// Confirmed gone (a describe by ARN said NotFound): its lifetime closed.
    Gone,
    /// Reopened a lifetime closed by mistake while its window is open.
    Reopen,
    /// Kept the ALB through a gap between windows.
    Coalesce,
    /// Changed the stable name's records in Route 53 (`[alb.dns]`).
    Dns,
}

impl DecisionAction {
    const ALL: [DecisionAction; 8] = [
        DecisionAction::Create,
        DecisionAction::Delete,
        DecisionAction::Active,
        DecisionAction::Adopt,
        DecisionAction::Gone,
        DecisionAction::Reopen,
        DecisionAction::Coalesce,
        DecisionAction::Dns,
    ];

    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionAction::Create => "create",
            DecisionAction::Delete => "delete",
            DecisionAction::Active => "active",
            DecisionAction::Adopt => "adopt",
            DecisionAction::Gone => "gone",
            DecisionAction::Reopen => "reopen",
            DecisionAction::Coalesce => "coalesce",
            DecisionAction::Dns => "dns",
        }
    }

    /// From the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl std::fmt::Display for DecisionAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reconcile decision, for the audit trail and edge-latency measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// When it was taken.
    pub at: DateTime<Utc>,
    /// What it did.
    pub action: DecisionAction,
    /// Windows concerned.
    pub window_ids: Vec<String>,
    /// The ALB concerned, if any.
    pub arn: Option<String>,
    /// In words.
    pub detail: String,
    /// Whether AWS was left alone because of dry-run.
    pub dry_run: bool,
    /// The planned edge this decision served, if any.
    pub edge_at: Option<DateTime<Utc>>,
}

/// The stored state of one budget threshold.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoredAlarm {
    /// `<budget>/<kind>/<percent>`.
    pub key: String,
    /// Current state.
    pub state: AlarmState,
    /// Since when.
    pub since: DateTime<Utc>,
    /// The last value compared.
    pub value_usd: Decimal,
    /// The threshold in USD.
    pub threshold_usd: Decimal,
    /// When it was last evaluated.
    pub evaluated_at: DateTime<Utc>,
}

/// A stored transition.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoredTransition {
    /// Id.
    pub id: i64,
    /// The transition.
    #[serde(flatten)]
    pub transition: Transition,
}

/// A notification not yet delivered (as claimed by a delivery worker).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingNotification {
    /// The transition.
    pub transition: StoredTransition,
    /// `webhook:<name>` (never the URL: it is often a secret).
    pub channel: String,
    /// Attempts so far.
    pub attempts: u32,
}

/// An event's delivery to one destination, claimed by a delivery worker.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingDelivery {
    /// The event.
    pub event: crate::event::Event,
    /// The destination's name (`[[notify]] name`).
    pub destination: String,
    /// Attempts so far.
    pub attempts: u32,
}

/// An event's delivery as listed in the API and on the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeliveryRecord {
    /// The event.
    pub event_id: String,
    /// Its kind.
    pub kind: crate::event::EventKind,
    /// The destination's name.
    pub destination: String,
    /// Pending, delivered or dead.
    pub state: NotificationState,
    /// Attempts so far.
    pub attempts: u32,
    /// When the event happened.
    pub at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When it was given up on.
    pub dead_at: Option<DateTime<Utc>>,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last error (URLs and keys redacted).
    pub last_error: Option<String>,
}

/// One destination's record, from its deliveries.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DestinationStatus {
    /// The destination's name.
    pub destination: String,
    /// The last delivery it accepted.
    pub last_delivered_at: Option<DateTime<Utc>>,
    /// The last failed attempt's error (redacted), if any has failed.
    pub last_error: Option<String>,
    /// When that attempt failed.
    pub last_error_at: Option<DateTime<Utc>>,
    /// Deliveries waiting.
    pub pending: u32,
    /// Dead letters.
    pub dead: u32,
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    /// The receiver accepted it.
    Delivered,
    /// It failed; try again at `retry_at`.
    Failed {
        /// What went wrong (URLs redacted).
        error: String,
        /// When to try again.
        retry_at: DateTime<Utc>,
    },
    /// It failed for the last time: a dead letter.
    Dead {
        /// What went wrong (URLs redacted).
        error: String,
    },
}

/// What an outcome at `at` writes: (delivered at, next attempt at, dead at, error).
pub(crate) type OutcomeColumns = (
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<String>,
);

impl DeliveryOutcome {
    /// The columns this outcome sets, at `at`.
    pub(crate) fn columns(&self, at: DateTime<Utc>) -> OutcomeColumns {
        match self {
            DeliveryOutcome::Delivered => (Some(at), None, None, None),
            DeliveryOutcome::Failed { error, retry_at } => (None, Some(*retry_at), None, Some(error.clone())),
            DeliveryOutcome::Dead { error } => (None, None, Some(at), Some(error.clone())),
        }
    }
}

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationState {
    /// Waiting for its first or next attempt.
    Pending,
    /// Accepted by the receiver.
    Delivered,
    /// Given up on after the configured number of attempts.
    Dead,
}

/// A notification as listed in the API and on the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NotificationRecord {
    /// The transition it reports.
    pub transition_id: i64,
    /// `webhook:<name>`.
    pub channel: String,
    /// Pending, delivered or dead.
    pub state: NotificationState,
    /// Attempts so far.
    pub attempts: u32,
    /// The budget threshold and its new state, e.g. `networking/forecast/80 → ALARM`.
    pub summary: String,
    /// When the transition happened.
    pub at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When it was given up on.
    pub dead_at: Option<DateTime<Utc>>,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last error (URLs redacted).
    pub last_error: Option<String>,
}

/// The month's projection as it stood on one UTC day (the last one made
/// that day), kept so the bill can later say how far off it was.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProjectionDay {
    /// The deployment.
    pub deployment: String,
    /// The month projected, `YYYY-MM`.
    pub month: String,
    /// The zone the month was taken in.
    pub timezone: String,
    /// The UTC day it was made.
    pub day: chrono::NaiveDate,
    /// When exactly.
    pub at: DateTime<Utc>,
    /// The partial-hour rule of its figures.
    pub partial_hour: String,
    /// Actual so far, all components.
    pub month_to_date_usd: Decimal,
    /// Projected month, all components.
    pub projected_usd: Decimal,
    /// Actual so far, the ALB (hours, capacity units, public IPv4).
    pub alb_actual_usd: Decimal,
    /// Projected month, the ALB.
    pub alb_projected_usd: Decimal,
}

/// How long history is kept; lifetimes (the ledger) are always kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Reconcile decisions older than this go.
    pub decisions: chrono::Duration,
    /// Budget transitions older than this go, with their delivered or dead notifications.
    pub transitions: chrono::Duration,
    /// Delivered and dead notifications older than this go.
    pub notifications: chrono::Duration,
}

impl Default for Retention {
    /// Decisions 90 days, transitions 400 (a year and a month), notifications 30.
    fn default() -> Self {
        Retention {
            decisions: chrono::Duration::days(90),
            transitions: chrono::Duration::days(400),
            notifications: chrono::Duration::days(30),
        }
    }
}

/// Rows removed by one [`Store::prune`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Decisions.
    pub decisions: usize,
    /// Transitions.
    pub transitions: usize,
    /// Notifications.
    pub notifications: usize,
}

/// The quarantined rows a store last found, and the change marker they go with.
pub(crate) type QuarantineCache = Option<(i64, Vec<QuarantinedWindow>)>;

/// Logs the window rows that cannot be read, when a scan finds any.
pub(crate) fn log_quarantined(list: &[QuarantinedWindow]) {
    if !list.is_empty() {
        let ids: Vec<String> = list.iter().map(|q| q.id.to_string()).collect();
        tracing::warn!(
            ids = %ids.join(","),
            "stored windows that cannot be read are skipped (quarantined; `costd windows cancel ID` removes one)"
        );
    }
}

/// The longest window the store keeps: the most `max_window_hours` allows.
/// [`Store::windows_in`] looks this far back for windows still open.
pub const MAX_STORED_WINDOW: chrono::Duration = chrono::Duration::days(7);

/// The most windows one page lists.
pub const MAX_WINDOW_PAGE: u32 = 500;

/// Where a page of windows continues: after this window in (start, id) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowCursor {
    /// The last listed window's start.
    pub start: DateTime<Utc>,
    /// Its id.
    pub id: i64,
}

impl WindowCursor {
    /// The cursor of `w`.
    pub fn of(w: &StoredWindow) -> Self {
        WindowCursor {
            start: w.interval.start,
            id: w.id,
        }
    }
}

/// Which windows a page lists: those ending after `ends_after`, by start
/// then id, from after `after`, at most `limit` (1–[`MAX_WINDOW_PAGE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowPageQuery {
    /// Only windows that end after this.
    pub ends_after: DateTime<Utc>,
    /// Continue after this window (from a previous page's `next`).
    pub after: Option<WindowCursor>,
    /// List cancelled windows too.
    pub include_cancelled: bool,
    /// At most this many.
    pub limit: u32,
}

impl WindowPageQuery {
    /// The index range's lower bound: the longest storable window before
    /// `ends_after`, or the cursor when it is later.
    fn lower_bound(&self) -> (DateTime<Utc>, i64) {
        let floor = self.ends_after - MAX_STORED_WINDOW;
        match self.after {
            Some(c) if c.start >= floor => (c.start, c.id),
            _ => (floor, i64::MIN),
        }
    }

    /// Windows on a page: `limit`, within 1–[`MAX_WINDOW_PAGE`].
    fn page_len(&self) -> usize {
        self.limit.clamp(1, MAX_WINDOW_PAGE) as usize
    }

    /// Rows to fetch: one more than the page, to know whether another follows.
    fn fetch(&self) -> i64 {
        self.page_len() as i64 + 1
    }
}

/// One page of windows and where the next begins (`None`: this was the last).
#[derive(Debug, Clone, PartialEq)]
pub struct WindowPage {
    /// The readable windows of the page (quarantined rows are skipped; see
    /// [`Store::quarantined_windows`]).
    pub windows: Vec<StoredWindow>,
    /// Pass as `after` for the next page.
    pub next: Option<WindowCursor>,
}

impl WindowPage {
    /// The page from up to `q.fetch()` rows in order: `read` are the readable
    /// ones among the first `limit`, `more` whether a row beyond them exists.
    fn new(read: Vec<StoredWindow>, more: bool) -> Self {
        let next = if more { read.last().map(WindowCursor::of) } else { None };
        WindowPage { windows: read, next }
    }
}

/// A closed lifetime's length in whole seconds, rounded up: what the stores
/// keep the longest of (`ledger_longest_seconds`) to bound a range's read.
pub(crate) fn closed_seconds(l: &Lifetime) -> Option<i64> {
    let d = l.deleted_at? - l.created_at;
    Some(d.num_seconds() + i64::from(d.subsec_nanos() > 0))
}

/// Refuses a window longer than [`MAX_STORED_WINDOW`].
pub(crate) fn check_window_length(interval: &Interval) -> Result<(), StoreError> {
    if interval.end - interval.start > MAX_STORED_WINDOW {
        return Err(StoreError::WindowTooLong {
            hours: (interval.end - interval.start).num_hours(),
        });
    }
    Ok(())
}

/// A window a subscribed calendar wants.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarWindow {
    /// Which event occurrence it is: the event's UID and, for a recurring
    /// event, the occurrence's original start (see `ical::Occurrence::key`).
    pub key: String,
    /// When it is open.
    pub interval: Interval,
    /// The event's summary.
    pub note: String,
}

/// What one calendar sync changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CalendarSync {
    /// Windows added.
    pub added: usize,
    /// Windows moved, renamed or opened again.
    pub moved: usize,
    /// Windows cancelled (the event was removed or cancelled).
    pub cancelled: usize,
    /// Windows already as the calendar wants.
    pub unchanged: usize,
}

impl CalendarSync {
    /// Whether the schedule changed.
    pub fn changed(&self) -> bool {
        self.added + self.moved + self.cancelled > 0
    }
}

/// The `created_by` of a subscribed calendar's windows.
pub fn calendar_source(name: &str) -> String {
    format!("calendar:{name}")
}

/// What costd keeps. Implementations must make every write durable before
/// returning (the daemon may be killed at any point).
pub trait Store: Send + Sync {
    /// Adds a one-off window.
    fn add_window(
        &self,
        interval: Interval,
        note: &str,
        created_by: &str,
        at: DateTime<Utc>,
    ) -> Result<StoredWindow, StoreError>;
    /// Cancels a window, readable or quarantined; it no longer opens.
    fn cancel_window(&self, id: i64, at: DateTime<Utc>) -> Result<CancelledWindow, StoreError>;
    /// Makes the windows of a subscribed calendar (`created_by` = `source`)
    /// that end after `now` exactly `desired`, in one transaction: a key not
    /// stored is added, a stored one that differs (times, note, cancelled) is
    /// updated and opened again, and a live window ending after `now` whose key
    /// is not desired is cancelled. Windows that have ended are left as they
    /// are (they are history). The caller leaves out desired windows that have ended.
    fn sync_calendar(
        &self,
        source: &str,
        desired: &[CalendarWindow],
        now: DateTime<Utc>,
    ) -> Result<CalendarSync, StoreError>;
    /// Readable windows, newest last; cancelled ones only when asked. Rows
    /// that cannot be read are skipped (see [`Store::quarantined_windows`]).
    /// Reads every row: for listings, not for the schedule or a page view.
    fn windows(&self, include_cancelled: bool) -> Result<Vec<StoredWindow>, StoreError>;
    /// Readable windows, not cancelled, overlapping `range`, by start: an
    /// index range over the windows starting from [`MAX_STORED_WINDOW`]
    /// before it to its end, whatever the history holds.
    fn windows_in(&self, range: Interval) -> Result<Vec<StoredWindow>, StoreError>;
    /// A page of windows by start, then id (see [`WindowPageQuery`]): an
    /// index range from the cursor, or from [`MAX_STORED_WINDOW`] before
    /// `ends_after`, whatever the history holds.
    fn windows_page(&self, q: &WindowPageQuery) -> Result<WindowPage, StoreError>;
    /// One window by id, cancelled or not.
    fn window(&self, id: i64) -> Result<StoredWindow, StoreError>;
    /// Window rows read since the store was opened (by any query): what the
    /// bounded reads keep small, exposed on `/metrics`.
    fn window_rows_read(&self) -> u64;
    /// Window rows, not cancelled, that cannot be read back.
    fn quarantined_windows(&self) -> Result<Vec<QuarantinedWindow>, StoreError>;
    /// A number that changes whenever another process commits (e.g. `costd windows add`).
    fn external_change_marker(&self) -> Result<i64, StoreError>;
    /// This store's identity: a UUID made once, when the store was created.
    /// Every AWS resource costd creates carries it (`costd:store`), so a
    /// daemon can tell its own resources from another store's.
    fn store_id(&self) -> Result<String, StoreError>;
    /// An answer of an API that is billed per request (Cost Explorer), kept
    /// under `key`, and when it was fetched.
    fn cached(&self, key: &str) -> Result<Option<(String, DateTime<Utc>)>, StoreError>;
    /// Keeps an answer under `key`, replacing the one before.
    fn put_cached(&self, key: &str, value: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Records events, each with the destinations it goes to: an event whose
    /// id is already stored is left alone (with its deliveries), so emitting
    /// the same event again delivers nothing twice. Returns how many were new.
    fn record_events(&self, events: &[(crate::event::Event, Vec<String>)]) -> Result<usize, StoreError>;
    /// Claims up to `limit` due deliveries for `lease` (as
    /// [`Store::claim_notifications`] does for webhooks).
    fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: u32,
    ) -> Result<(String, Vec<PendingDelivery>), StoreError>;
    /// Records how a claimed delivery ended; `false` when the claim is no longer held.
    fn finish_delivery(
        &self,
        event_id: &str,
        destination: &str,
        claim: &str,
        outcome: &DeliveryOutcome,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Up to `limit` events (of `kind`, if given), newest first, older than
    /// the event with id `before` when given (none when that event is no
    /// longer kept).
    fn events(
        &self,
        kind: Option<crate::event::EventKind>,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<crate::event::Event>, StoreError>;
    /// Deliveries in `state`, newest first.
    fn deliveries(&self, state: NotificationState, limit: u32) -> Result<Vec<DeliveryRecord>, StoreError>;
    /// Each destination that has deliveries: its last success, last error, pending and dead.
    fn destination_status(&self) -> Result<Vec<DestinationStatus>, StoreError>;
    /// Keeps the day's projection of its month, replacing an earlier one of
    /// the same day (a ledger write: fenced where the store is).
    fn record_projection_day(&self, d: &ProjectionDay) -> Result<(), StoreError>;
    /// The kept projections of `month` (`YYYY-MM`), by day.
    fn projection_days(&self, deployment: &str, month: &str) -> Result<Vec<ProjectionDay>, StoreError>;
    /// The open (not deleted) lifetime of a deployment, newest first if several.
    fn open_lifetimes(&self, deployment: &str) -> Result<Vec<Lifetime>, StoreError>;
    /// Lifetimes of a deployment overlapping `[from, to)`.
    fn lifetimes(&self, deployment: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Lifetime>, StoreError>;
    /// The newest lifetime that recorded this load balancer ARN, open or not.
    fn lifetime_by_lb_arn(&self, lb_arn: &str) -> Result<Option<Lifetime>, StoreError>;
    /// Writes a new ledger entry.
    fn insert_lifetime(&self, l: &NewLifetime) -> Result<Lifetime, StoreError>;
    /// Overwrites a ledger entry (ARNs, active, deleted).
    fn update_lifetime(&self, l: &Lifetime) -> Result<(), StoreError>;
    /// Appends a decision.
    fn record_decision(&self, d: &Decision) -> Result<(), StoreError>;
    /// Up to `limit` decisions older than decision `before` (all when
    /// `None`), newest first, with their ids: an index range on the id.
    fn decisions_page(&self, before: Option<i64>, limit: u32) -> Result<Vec<(i64, Decision)>, StoreError>;
    /// The latest `limit` decisions, newest first.
    fn decisions(&self, limit: u32) -> Result<Vec<Decision>, StoreError> {
        Ok(self.decisions_page(None, limit)?.into_iter().map(|(_, d)| d).collect())
    }
    /// Stored alarm states by key.
    fn alarm_states(&self) -> Result<BTreeMap<String, StoredAlarm>, StoreError>;
    /// In one transaction: the latest evaluations, the transitions, and one
    /// pending notification per transition and channel.
    fn apply_evaluations(
        &self,
        evaluations: &[Evaluation],
        transitions: &[Transition],
        channels: &[String],
        at: DateTime<Utc>,
    ) -> Result<Vec<StoredTransition>, StoreError>;
    /// Claims up to `limit` notifications that are due at `now` and not
    /// claimed by anyone else, for `lease`; returns the claim's token and the
    /// rows. Two workers (or two processes) never hold the same row.
    fn claim_notifications(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: u32,
    ) -> Result<(String, Vec<PendingNotification>), StoreError>;
    /// Records how a claimed delivery ended and releases the claim. `false`
    /// when the claim is no longer held (it expired and someone else took it).
    fn finish_notification(
        &self,
        transition_id: i64,
        channel: &str,
        claim: &str,
        outcome: &DeliveryOutcome,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Notifications in `state`, newest first.
    fn notifications(&self, state: NotificationState, limit: u32) -> Result<Vec<NotificationRecord>, StoreError>;
    /// Deletes dead letters; returns how many.
    fn delete_dead_notifications(&self) -> Result<usize, StoreError>;
    /// Deletes the event deliveries that are dead letters; returns how many.
    fn delete_dead_deliveries(&self) -> Result<usize, StoreError>;
    /// Renames a notification channel (a webhook's channel name changed).
    fn rename_channel(&self, from: &str, to: &str) -> Result<usize, StoreError>;
    /// Deletes history older than the retention allows at `now`.
    fn prune(&self, now: DateTime<Utc>, keep: &Retention) -> Result<Pruned, StoreError>;
    /// The latest `limit` transitions, newest first.
    fn transitions(&self, limit: u32) -> Result<Vec<StoredTransition>, StoreError>;
    /// Saves a browser session under the SHA-256 of its id (the id itself,
    /// the cookie's secret, is never stored) and drops expired ones.
    fn put_session(&self, id_sha256: &str, s: &StoredSession, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// The session with that id hash, unless it has expired by `now`.
    fn session(&self, id_sha256: &str, now: DateTime<Utc>) -> Result<Option<StoredSession>, StoreError>;
    /// Ends a session (signing out).
    fn delete_session(&self, id_sha256: &str) -> Result<(), StoreError>;
}

/// A browser session as stored: the token it was opened with (by the
/// SHA-256 of its secret: the name and role are looked up in the config at
/// each request, and rotating the secret ends the session), its CSRF token,
/// and when it ends.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSession {
    /// The `[[web.tokens]]` name when it was opened (for the record).
    pub token_name: String,
    /// SHA-256 of that token's secret, hex.
    pub token_sha256: String,
    /// The CSRF token every form POST must carry.
    pub csrf: String,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}
