//! The use cases, one function each, shared by the command line, the JSON
//! API and the dashboard: they parse, validate, price, store and wake the
//! daemon the same way whoever calls, and return typed values that each
//! front end renders (`--format json`, the API's bodies, the page).
//!
//! [`App`] is the state every front end and job shares; the composition root
//! (`daemon::Daemon::build`) makes one and hands it to the daemon's jobs and
//! to the web server, which therefore never import each other.

pub mod bill;
pub mod calendars;
pub mod check;
pub mod clock;
pub mod export;
pub mod leadership;
pub mod prices;
pub mod projection;
pub mod traffic;
pub mod views;
pub mod windows;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, RwLock};

use crate::budget::{Evaluation, Projection};
use crate::config::Config;
use crate::store::Store;
pub use clock::Clock;
pub use prices::{Prices, SharedPrices};

/// Another store's ALB in this deployment, left alone until its planned end
/// plus a margin (two daemons on different stores must not fight).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Conflict {
    /// The ALB's name.
    pub name: String,
    /// The store that made it (`costd:store`).
    pub store: String,
    /// Its planned end (`costd:until`).
    pub until: DateTime<Utc>,
}

/// What the reconcile loop last saw, for `/readyz` and the dashboard.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// When the last reconcile finished without error.
    pub last_ok_at: Option<DateTime<Utc>>,
    /// The last error, if the last run failed (for operators: may name AWS resources).
    pub last_error: Option<String>,
    /// The same in words safe to show anyone (no AWS error text).
    pub last_error_summary: Option<&'static str>,
    /// The last plan.
    pub plan: Option<crate::schedule::planner::Plan>,
    /// Other stores' ALBs seen in the last successful run.
    pub conflicts: Vec<Conflict>,
    /// The stable name (`[alb.dns]`) is someone else's or points elsewhere: why.
    pub dns_problem: Option<String>,
}

/// Shared [`Status`].
pub type SharedStatus = Arc<RwLock<Status>>;

/// The projection job's latest result, shared with the web layer.
#[derive(Debug, Clone, Default)]
pub struct Latest {
    /// The projection.
    pub projection: Option<Projection>,
    /// The budget evaluations.
    pub evaluations: Vec<Evaluation>,
}

/// The state the use cases, the daemon's jobs and the web server share.
#[derive(Clone)]
pub struct App {
    /// The config.
    pub cfg: Arc<Config>,
    /// The store.
    pub store: Arc<dyn Store>,
    /// The prices in use (replaced whole by a refresh).
    pub prices: SharedPrices,
    /// The reconcile loop's status.
    pub status: SharedStatus,
    /// The projection job's latest result.
    pub latest: Arc<RwLock<Latest>>,
    /// Wakes the reconcile loop (the schedule changed).
    pub kick: Arc<Notify>,
    /// Wakes the projection job.
    pub changed: Arc<Notify>,
    /// Wakes the delivery worker (new notifications or events in the outbox).
    pub outbox: Arc<Notify>,
    /// Where the loops read the time ([`clock::wall`] unless a test swaps it).
    pub clock: Clock,
    /// Whether this process leads (always, for a single daemon on SQLite).
    pub leadership: Arc<leadership::Leadership>,
    /// Counts this process's schedule changes (windows added or cancelled),
    /// so views kept rendered know when they are stale.
    pub generation: Arc<std::sync::atomic::AtomicU64>,
    /// Each subscribed calendar's status, in config order.
    pub calendars: Arc<std::sync::RwLock<Vec<calendars::CalendarStatus>>>,
    /// Reads every subscribed calendar now (`POST /api/v1/calendars/refresh`).
    pub calendar_kick: Arc<Notify>,
}

/// Opens the configured store (a new SQLite file or PostgreSQL database is
/// created and migrated).
pub fn open_store(store: &crate::config::StoreConfig) -> Result<Arc<dyn Store>, crate::store::StoreError> {
    Ok(match store {
        crate::config::StoreConfig::Sqlite { path } => Arc::new(crate::store::sqlite::SqliteStore::open(path)?),
        crate::config::StoreConfig::Postgres { settings, .. } => {
            Arc::new(crate::store::postgres::PgStore::open(settings.clone())?)
        }
    })
}

impl App {
    /// Shared state for `cfg`, `store` and `prices`; nothing running yet.
    pub fn new(cfg: Arc<Config>, store: Arc<dyn Store>, prices: Prices) -> Self {
        let cfg_calendars = cfg.schedule.calendars.clone();
        App {
            cfg,
            store,
            prices: SharedPrices::new(prices),
            status: Arc::default(),
            latest: Arc::default(),
            kick: Arc::default(),
            changed: Arc::default(),
            outbox: Arc::default(),
            clock: clock::wall(),
            leadership: Arc::new(leadership::Leadership::single(
                leadership::identity(),
                chrono::Utc::now(),
            )),
            generation: Arc::default(),
            calendars: Arc::new(std::sync::RwLock::new(
                cfg_calendars.iter().map(calendars::CalendarStatus::new).collect(),
            )),
            calendar_kick: Arc::default(),
        }
    }

    /// The schedule changed: reconcile and re-project soon. (Another
    /// process's daemon notices the store's change within a second.)
    pub fn schedule_changed(&self) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.kick.notify_one();
        self.changed.notify_one();
    }
}

/// Reads a file of at most `max` bytes as text (never more is read into
/// memory); errors name the file.
pub fn read_bounded(path: &std::path::Path, max: usize) -> Result<String, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut text = String::new();
    f.take(max as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if text.len() > max {
        return Err(format!("{} is larger than {max} bytes", path.display()));
    }
    Ok(text)
}

/// Why [`read_body_bounded`] gave up.
#[derive(Debug)]
pub enum BodyError {
    /// The body is longer than the bound (declared or as it streamed).
    TooLarge,
    /// The transfer failed.
    Transport(reqwest::Error),
}

/// An HTTP response's body, at most `max` bytes: refused from its declared
/// length when it has one, else counted as it streams.
pub async fn read_body_bounded(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > max {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
