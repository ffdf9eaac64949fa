//! PostgreSQL store, for replicas that share one database. Same semantics as
//! the SQLite store (every write durable before it returns, transitions and
//! their outbox rows in one transaction), plus what replicas need: the leader
//! lease ([`PgStore::try_lead`]) and fencing ([`Fence`]): once a daemon is
//! fenced, every ledger write checks, in its own transaction and with the
//! lease row share-locked, that the daemon's token is still the lease's
//! current, unexpired one, and is refused otherwise.
//!
//! The synchronous `postgres` client runs its own small runtime, which must
//! not be entered from tokio's, so each connection lives on a thread of its
//! own; calls are sent to that pool and answered within a time limit (a
//! connection that hangs never hangs the caller). A broken connection is
//! opened again at the next call.

pub mod testing;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use postgres::{Client, NoTls, Row, Transaction};

use super::{
    CalendarSync, CalendarWindow, CancelledWindow, Decision, DecisionAction, DeliveryOutcome, DeliveryRecord,
    DestinationStatus, Lifetime, LifetimeReason, NewLifetime, NotificationRecord, NotificationState, PendingDelivery,
    PendingNotification, ProjectionDay, Pruned, QuarantinedWindow, Retention, Store, StoreError, StoredAlarm,
    StoredSession, StoredTransition, StoredWindow, WindowPage, WindowPageQuery, list,
};
use crate::budget::{AlarmState, Evaluation, ThresholdKind, Transition};
use crate::event::{Event, EventKind};
use crate::schedule::Interval;

/// Migrations, applied in order under an advisory lock; index + 1 is the
/// schema version kept in `costd_schema`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE windows (
    id           BIGSERIAL PRIMARY KEY,
    start_utc    TIMESTAMPTZ NOT NULL,
    end_utc      TIMESTAMPTZ NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    cancelled_at TIMESTAMPTZ,
    CHECK (end_utc > start_utc)
);
CREATE TABLE lifetimes (
    id            BIGSERIAL PRIMARY KEY,
    deployment    TEXT NOT NULL,
    name          TEXT NOT NULL,
    window_ids    TEXT NOT NULL,
    reason        TEXT NOT NULL,
    reason_detail TEXT NOT NULL DEFAULT '',
    dry_run       BOOLEAN NOT NULL,
    lb_arn        TEXT,
    tg_arn        TEXT,
    listener_arns TEXT NOT NULL DEFAULT '',
    dns_name      TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    active_at     TIMESTAMPTZ,
    deleted_at    TIMESTAMPTZ,
    lease_token   BIGINT
);
CREATE INDEX lifetimes_open ON lifetimes (deployment, deleted_at);
CREATE INDEX lifetimes_lb_arn ON lifetimes (lb_arn);
CREATE TABLE decisions (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    action      TEXT NOT NULL,
    window_ids  TEXT NOT NULL,
    arn         TEXT,
    detail      TEXT NOT NULL,
    dry_run     BOOLEAN NOT NULL,
    edge_at     TIMESTAMPTZ,
    lease_token BIGINT,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX decisions_at ON decisions (at);
CREATE TABLE alarm_states (
    key           TEXT PRIMARY KEY,
    state         TEXT NOT NULL,
    since         TIMESTAMPTZ NOT NULL,
    value_usd     NUMERIC NOT NULL,
    threshold_usd NUMERIC NOT NULL,
    evaluated_at  TIMESTAMPTZ NOT NULL
);
CREATE TABLE alarm_transitions (
    id            BIGSERIAL PRIMARY KEY,
    at            TIMESTAMPTZ NOT NULL,
    month         TEXT NOT NULL,
    key           TEXT NOT NULL,
    budget        TEXT NOT NULL,
    scope         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    percent       NUMERIC NOT NULL,
    from_state    TEXT NOT NULL,
    to_state      TEXT NOT NULL,
    value_usd     NUMERIC NOT NULL,
    threshold_usd NUMERIC NOT NULL
);
CREATE INDEX alarm_transitions_at ON alarm_transitions (at);
CREATE TABLE notifications (
    transition_id   BIGINT NOT NULL REFERENCES alarm_transitions (id),
    channel         TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    delivered_at    TIMESTAMPTZ,
    last_error      TEXT,
    claim           TEXT,
    claimed_until   TIMESTAMPTZ,
    next_attempt_at TIMESTAMPTZ,
    dead_at         TIMESTAMPTZ,
    PRIMARY KEY (transition_id, channel)
);
CREATE INDEX notifications_open ON notifications (delivered_at, dead_at);
CREATE TABLE sessions (
    id_sha256    TEXT PRIMARY KEY,
    token_name   TEXT NOT NULL,
    token_sha256 TEXT NOT NULL,
    csrf         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    token       BIGINT NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL,
    renewed_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
INSERT INTO meta (key, value) VALUES ('changes', '0');
"#,
    r#"
CREATE TABLE cached_answers (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    fetched_at TIMESTAMPTZ NOT NULL
);
"#,
    r#"
CREATE TABLE projection_days (
    deployment        TEXT NOT NULL,
    month             TEXT NOT NULL,
    day               DATE NOT NULL,
    timezone          TEXT NOT NULL,
    at                TIMESTAMPTZ NOT NULL,
    partial_hour      TEXT NOT NULL,
    month_to_date_usd NUMERIC NOT NULL,
    projected_usd     NUMERIC NOT NULL,
    alb_actual_usd    NUMERIC NOT NULL,
    alb_projected_usd NUMERIC NOT NULL,
    PRIMARY KEY (deployment, month, day)
);
"#,
    r#"
CREATE TABLE events (
    seq  BIGSERIAL UNIQUE,
    id   TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    at   TIMESTAMPTZ NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX events_at ON events (at);
CREATE TABLE deliveries (
    event_id        TEXT NOT NULL REFERENCES events (id),
    destination     TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ,
    claim           TEXT,
    claimed_until   TIMESTAMPTZ,
    delivered_at    TIMESTAMPTZ,
    dead_at         TIMESTAMPTZ,
    last_error      TEXT,
    last_error_at   TIMESTAMPTZ,
    PRIMARY KEY (event_id, destination)
);
CREATE INDEX deliveries_due ON deliveries (delivered_at, dead_at, next_attempt_at);
"#,
    // 5: the windows that can still open, by start (see the SQLite store).
    r#"
CREATE INDEX windows_live_start ON windows (start_utc) WHERE cancelled_at IS NULL;
"#,
    // 6: every window by start and id, cancelled ones too: listings are
    // paged from a cursor (see the SQLite store).
    r#"
CREATE INDEX windows_start ON windows (start_utc, id);
"#,
    // 7: the ledger of a range without reading its history (see the SQLite store).
    r#"
CREATE INDEX lifetimes_created ON lifetimes (deployment, created_at);
INSERT INTO meta (key, value)
SELECT 'ledger_longest_seconds', COALESCE(MAX(CEIL(EXTRACT(EPOCH FROM deleted_at - created_at)))::BIGINT, 0)::TEXT
FROM lifetimes WHERE deleted_at IS NOT NULL;
"#,
    // 8: windows from subscribed calendars (see the SQLite store).
    r#"
ALTER TABLE windows ADD COLUMN calendar_key TEXT;
CREATE UNIQUE INDEX windows_calendar ON windows (created_by, calendar_key) WHERE calendar_key IS NOT NULL;
"#,
    // 9: a lifetime's Route 53 changes (see the SQLite store).
    r#"
ALTER TABLE lifetimes ADD COLUMN dns_changes TEXT NOT NULL DEFAULT '';
"#,
];

/// The rows that read back as windows (the others are quarantined and
/// skipped, with a warning), counted as read.
fn readable(
    counter: &std::sync::atomic::AtomicU64,
    found: Vec<::postgres::Row>,
) -> Result<Vec<StoredWindow>, StoreError> {
    counter.fetch_add(found.len() as u64, std::sync::atomic::Ordering::Relaxed);
    let mut out = Vec::new();
    for r in found {
        match window(&r)? {
            Ok(w) => out.push(w),
            Err(q) => {
                tracing::warn!(window = q.id, error = %q.problem, "skipping a stored window that cannot be read (quarantined; cancel it by id)")
            }
        }
    }
    Ok(out)
}

/// An event as kept (JSON).
fn event_body(body: String) -> Result<Event, StoreError> {
    serde_json::from_str(&body).map_err(|_| StoreError::Corrupt {
        column: "events.body",
        value: body,
    })
}

/// PostgreSQL's own message for an error (the client's `Display` says only "db error").
pub fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => {
            let mut s = e.to_string();
            if let Some(src) = std::error::Error::source(e) {
                s = format!("{s}: {src}");
            }
            s
        }
    }
}

/// How to reach the database.
#[derive(Debug, Clone, PartialEq)]
pub struct PgSettings {
    /// `postgres://user@host:port/database` (a password in it is used, and never shown).
    pub url: url::Url,
    /// The password, when it comes from the environment rather than the URL.
    pub password: Option<String>,
    /// Connections (and their threads) the store keeps.
    pub connections: usize,
    /// How long a call may take, connecting included, before it fails as unavailable.
    pub call_timeout: StdDuration,
}

impl PgSettings {
    /// The URL with any password removed, for logs and errors.
    pub fn display_url(&self) -> String {
        let mut u = self.url.clone();
        let _ = u.set_password(None);
        u.to_string()
    }

    fn client_config(&self) -> Result<postgres::Config, StoreError> {
        let mut url = self.url.clone();
        // The client reads only the `postgres` and `postgresql` schemes.
        if url.scheme() == "postgresql" {
            let _ = url.set_scheme("postgres");
        }
        let mut c: postgres::Config = url.as_str().parse().map_err(|e: postgres::Error| {
            StoreError::Unavailable(format!("{}: {}", self.display_url(), describe(&e)))
        })?;
        if let Some(p) = &self.password {
            c.password(p);
        }
        let secs = self.call_timeout.as_secs().max(1);
        c.application_name("costd")
            .connect_timeout(self.call_timeout)
            .keepalives(true)
            .keepalives_idle(StdDuration::from_secs(5))
            .tcp_user_timeout(self.call_timeout)
            // A statement, a lock wait or an abandoned transaction never outlives a call.
            .options(&format!(
                "-c statement_timeout={ms} -c lock_timeout={ms} -c idle_in_transaction_session_timeout={ms} -c TimeZone=UTC",
                ms = secs * 1000
            ));
        Ok(c)
    }
}

/// Whether ledger writes must hold the leader lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fence {
    /// No check (the CLI, and tests).
    Off,
    /// The daemon: ledger writes need the lease `lease` with this token,
    /// unexpired; `None` while this replica is a standby.
    Required {
        /// The lease's name.
        lease: String,
        /// The token this replica holds, if it leads.
        token: Option<i64>,
    },
}

/// A lease row as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRecord {
    /// Who holds it.
    pub holder: String,
    /// Its fencing token: it grows by one at every change of holder.
    pub token: i64,
    /// When the current holder took it.
    pub acquired_at: DateTime<Utc>,
    /// When it was last renewed.
    pub renewed_at: DateTime<Utc>,
    /// When it runs out unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// What [`PgStore::inspect`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// The database's schema version (0: costd never ran on it).
    pub schema_version: i64,
    /// The version this build migrates to.
    pub current_version: i64,
    /// The leases by name.
    pub leases: Vec<(String, LeaseRecord)>,
}

/// What [`PgStore::try_lead`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadOutcome {
    /// This replica holds the lease (newly or still).
    Leading(LeaseRecord),
    /// Another replica holds it.
    Following(LeaseRecord),
}

type Job = Box<dyn FnOnce(&mut Conn) + Send>;

/// One connection, owned by its thread; opened on first use and again after it breaks.
struct Conn {
    config: postgres::Config,
    client: Option<Client>,
}

impl Conn {
    fn client(&mut self) -> Result<&mut Client, StoreError> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
        if self.client.is_none() {
            self.client = Some(self.config.connect(NoTls)?);
        }
        Ok(self.client.as_mut().expect("just connected"))
    }
}

/// The PostgreSQL-backed [`Store`].
pub struct PgStore {
    jobs: Mutex<mpsc::Sender<Job>>,
    settings: PgSettings,
    fence: Arc<Mutex<Fence>>,
    store_id: String,
    /// Window rows read by queries since opening.
    window_rows: Arc<std::sync::atomic::AtomicU64>,
    /// The quarantined rows last found, and the `changes` counter then.
    quarantine: Arc<Mutex<super::QuarantineCache>>,
}

const WINDOW_COLUMNS: &str = "id, start_utc, end_utc, note, created_by, created_at, cancelled_at";
const LIFETIME_COLUMNS: &str = "id, deployment, name, window_ids, reason, reason_detail, dry_run, lb_arn, tg_arn, \
     listener_arns, dns_name, created_at, active_at, deleted_at, dns_changes";
const TRANSITION_COLUMNS: &str =
    "id, at, month, key, budget, scope, kind, percent, from_state, to_state, value_usd, threshold_usd";

impl PgStore {
    /// Connects, migrates (one process at a time, under an advisory lock) and
    /// reads the store's identity.
    pub fn open(settings: PgSettings) -> Result<Self, StoreError> {
        let config = settings.client_config()?;
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..settings.connections.max(1) {
            let rx = rx.clone();
            let config = config.clone();
            std::thread::Builder::new()
                .name(format!("costd-pg-{i}"))
                .spawn(move || {
                    let mut conn = Conn { config, client: None };
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = rx.lock().map(|r| r.recv());
                        match job {
                            Ok(Ok(job)) => job(&mut conn),
                            _ => return,
                        }
                    }
                })
                .map_err(|e| StoreError::Unavailable(format!("starting a connection thread: {e}")))?;
        }
        let mut store = PgStore {
            jobs: Mutex::new(tx),
            settings,
            fence: Arc::new(Mutex::new(Fence::Off)),
            store_id: String::new(),
            window_rows: Default::default(),
            quarantine: Default::default(),
        };
        store.store_id = store.call(|c| {
            let mut tx = c.transaction()?;
            // Two processes opening a new database never both apply a migration.
            tx.execute("SELECT pg_advisory_xact_lock(hashtext('costd-migrate'))", &[])?;
            tx.batch_execute("CREATE TABLE IF NOT EXISTS costd_schema (version INTEGER NOT NULL)")?;
            let version: i32 = match tx.query_opt("SELECT version FROM costd_schema", &[])? {
                Some(r) => r.get(0),
                None => {
                    tx.execute("INSERT INTO costd_schema (version) VALUES (0)", &[])?;
                    0
                }
            };
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
                tx.batch_execute(sql)?;
                if i == 0 {
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES ('store_id', $1)",
                        &[&super::random_uuid()],
                    )?;
                }
                tx.execute("UPDATE costd_schema SET version = $1", &[&(i as i32 + 1)])?;
            }
            let id: String = tx
                .query_one("SELECT value FROM meta WHERE key = 'store_id'", &[])?
                .get(0);
            tx.commit()?;
            Ok(id)
        })?;
        Ok(store)
    }

    /// The URL without its password.
    pub fn display_url(&self) -> String {
        self.settings.display_url()
    }

    /// Reads the database at `settings` without changing it: its schema
    /// version, the version this build migrates to, and the leases held.
    /// Runs on a thread of its own (callable from anywhere).
    pub fn inspect(settings: &PgSettings) -> Result<Inspection, StoreError> {
        let config = settings.client_config()?;
        std::thread::spawn(move || -> Result<Inspection, StoreError> {
            let mut c = config.connect(NoTls)?;
            let has = |c: &mut Client, table: &str| -> Result<bool, StoreError> {
                Ok(c.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])?.get(0))
            };
            let found = if has(&mut c, "costd_schema")? {
                c.query_opt("SELECT version FROM costd_schema", &[])?
                    .map_or(0, |r| i64::from(r.get::<_, i32>(0)))
            } else {
                0
            };
            let leases = if has(&mut c, "leases")? {
                c.query(
                    "SELECT holder, token, acquired_at, renewed_at, expires_at, name FROM leases ORDER BY name",
                    &[],
                )?
                .iter()
                .map(|r| Ok((r.try_get(5)?, lease_record(r)?)))
                .collect::<Result<_, StoreError>>()?
            } else {
                Vec::new()
            };
            Ok(Inspection {
                schema_version: found,
                current_version: MIGRATIONS.len() as i64,
                leases,
            })
        })
        .join()
        .map_err(|_| StoreError::Unavailable("the inspecting thread panicked".into()))?
    }

    /// Runs `f` on a pooled connection, within the call time limit.
    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |conn: &mut Conn| {
            let _ = tx.send(conn.client().and_then(f));
        });
        let gone = || StoreError::Unavailable(format!("{}: the connection threads are gone", self.display_url()));
        self.jobs.lock().map_err(|_| gone())?.send(job).map_err(|_| gone())?;
        // On tokio's multi-thread runtime the wait hands this worker's other
        // tasks to another thread first: a slow database never stalls the
        // web server or the lease's timers.
        let wait = || rx.recv_timeout(self.settings.call_timeout);
        let answer = match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            _ => wait(),
        };
        match answer {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(StoreError::Unavailable(format!(
                "{}: no answer within {} s",
                self.display_url(),
                self.settings.call_timeout.as_secs_f64()
            ))),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(gone()),
        }
    }

    /// Sets whether (and with which token) ledger writes are fenced.
    pub fn set_fence(&self, fence: Fence) {
        *self.fence.lock().expect("fence lock") = fence;
    }

    fn fence(&self) -> Fence {
        self.fence.lock().expect("fence lock").clone()
    }

    /// Takes the lease `name` for `holder` if it is free or expired, or renews
    /// it if `holder` already has it; the lease then runs `ttl` from the
    /// database's clock. A holder that lets its lease run out and takes it
    /// again gets a new token, as a new holder would.
    pub fn try_lead(&self, name: &str, holder: &str, ttl: StdDuration) -> Result<LeadOutcome, StoreError> {
        let (name, holder) = (name.to_string(), holder.to_string());
        let ttl_secs = ttl.as_secs_f64();
        self.call(move |c| {
            let row = c.query_opt(
                "INSERT INTO leases AS l (name, holder, token, acquired_at, renewed_at, expires_at) \
                 VALUES ($1, $2, 1, clock_timestamp(), clock_timestamp(), clock_timestamp() + make_interval(secs => $3::float8)) \
                 ON CONFLICT (name) DO UPDATE SET \
                   token = CASE WHEN l.holder = excluded.holder AND l.expires_at > clock_timestamp() \
                           THEN l.token ELSE l.token + 1 END, \
                   acquired_at = CASE WHEN l.holder = excluded.holder AND l.expires_at > clock_timestamp() \
                           THEN l.acquired_at ELSE excluded.acquired_at END, \
                   holder = excluded.holder, renewed_at = excluded.renewed_at, expires_at = excluded.expires_at \
                 WHERE l.holder = excluded.holder OR l.expires_at <= clock_timestamp() \
                 RETURNING holder, token, acquired_at, renewed_at, expires_at",
                &[&name, &holder, &ttl_secs],
            )?;
            match row {
                Some(r) => Ok(LeadOutcome::Leading(lease_record(&r)?)),
                None => {
                    let r = c.query_one(
                        "SELECT holder, token, acquired_at, renewed_at, expires_at FROM leases WHERE name = $1",
                        &[&name],
                    )?;
                    Ok(LeadOutcome::Following(lease_record(&r)?))
                }
            }
        })
    }

    /// Gives the lease up at once (a clean shutdown), if `holder` still has it with `token`.
    pub fn release(&self, name: &str, holder: &str, token: i64) -> Result<bool, StoreError> {
        let (name, holder) = (name.to_string(), holder.to_string());
        self.call(move |c| {
            Ok(c.execute(
                "UPDATE leases SET expires_at = clock_timestamp() WHERE name = $1 AND holder = $2 AND token = $3",
                &[&name, &holder, &token],
            )? == 1)
        })
    }

    /// The lease `name` as it stands, if anyone ever took it.
    pub fn lease(&self, name: &str) -> Result<Option<LeaseRecord>, StoreError> {
        let name = name.to_string();
        self.call(move |c| {
            c.query_opt(
                "SELECT holder, token, acquired_at, renewed_at, expires_at FROM leases WHERE name = $1",
                &[&name],
            )?
            .map(|r| lease_record(&r))
            .transpose()
        })
    }

    /// Runs `f` in a transaction that first checks the fence; `f` gets the
    /// token written (when fenced).
    fn fenced<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Transaction, Option<i64>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let fence = self.fence();
        self.call(move |c| {
            let mut tx = c.transaction()?;
            let token = check_fence(&mut tx, &fence)?;
            let out = f(&mut tx, token)?;
            tx.commit()?;
            Ok(out)
        })
    }
}

/// The fence check, inside the write's transaction: the lease row is share-locked,
/// so a takeover (which updates it) waits for this write to commit or roll back.
fn check_fence(tx: &mut Transaction, fence: &Fence) -> Result<Option<i64>, StoreError> {
    match fence {
        Fence::Off => Ok(None),
        Fence::Required { token: None, .. } => Err(StoreError::NotLeader),
        Fence::Required {
            lease,
            token: Some(token),
        } => {
            let held = tx.query_opt(
                "SELECT 1 FROM leases WHERE name = $1 AND token = $2 AND expires_at > clock_timestamp() FOR SHARE",
                &[lease, token],
            )?;
            match held {
                Some(_) => Ok(Some(*token)),
                None => Err(StoreError::Fenced { token: *token }),
            }
        }
    }
}

fn lease_record(r: &Row) -> Result<LeaseRecord, StoreError> {
    Ok(LeaseRecord {
        holder: r.try_get(0)?,
        token: r.try_get(1)?,
        acquired_at: r.try_get(2)?,
        renewed_at: r.try_get(3)?,
        expires_at: r.try_get(4)?,
    })
}

/// A `windows` row; `Err` holds it as quarantined when it does not make a window.
fn window(r: &Row) -> Result<Result<StoredWindow, QuarantinedWindow>, StoreError> {
    let (id, start, end): (i64, DateTime<Utc>, DateTime<Utc>) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
    let note: String = r.try_get(3)?;
    Ok(match Interval::new(start, end) {
        Some(interval) => Ok(StoredWindow {
            id,
            interval,
            note,
            created_by: r.try_get(4)?,
            created_at: r.try_get(5)?,
            cancelled_at: r.try_get(6)?,
        }),
        None => Err(QuarantinedWindow {
            id,
            start_utc: start.to_rfc3339(),
            end_utc: end.to_rfc3339(),
            note,
            problem: format!("store: bad value in windows.end_utc: {end} is not after {start}"),
        }),
    })
}

fn lifetime(r: &Row) -> Result<Lifetime, StoreError> {
    let reason: String = r.try_get(4)?;
    Ok(Lifetime {
        id: r.try_get(0)?,
        deployment: r.try_get(1)?,
        name: r.try_get(2)?,
        window_ids: list(&r.try_get::<_, String>(3)?),
        reason: LifetimeReason::parse(&reason).ok_or(StoreError::Corrupt {
            column: "lifetimes.reason",
            value: reason,
        })?,
        reason_detail: r.try_get(5)?,
        dry_run: r.try_get(6)?,
        lb_arn: r.try_get(7)?,
        tg_arn: r.try_get(8)?,
        listener_arns: list(&r.try_get::<_, String>(9)?),
        dns_name: r.try_get(10)?,
        dns_changes: super::lines(&r.try_get::<_, String>(14)?),
        created_at: r.try_get(11)?,
        active_at: r.try_get(12)?,
        deleted_at: r.try_get(13)?,
    })
}

fn alarm_state(column: &'static str, s: String) -> Result<AlarmState, StoreError> {
    AlarmState::parse(&s).ok_or(StoreError::Corrupt { column, value: s })
}

/// An `alarm_transitions` row whose columns start at `at`.
fn transition(r: &Row, at: usize) -> Result<StoredTransition, StoreError> {
    let kind: String = r.try_get(at + 6)?;
    let to: String = r.try_get(at + 9)?;
    Ok(StoredTransition {
        id: r.try_get(at)?,
        transition: Transition {
            at: r.try_get(at + 1)?,
            month: r.try_get(at + 2)?,
            from: alarm_state("alarm_transitions.from_state", r.try_get(at + 8)?)?,
            to: alarm_state("alarm_transitions.to_state", to.clone())?,
            evaluation: Evaluation {
                key: r.try_get(at + 3)?,
                budget: r.try_get(at + 4)?,
                scope: r.try_get(at + 5)?,
                kind: match kind.as_str() {
                    "actual" => ThresholdKind::Actual,
                    "forecast" => ThresholdKind::Forecast,
                    _ => {
                        return Err(StoreError::Corrupt {
                            column: "alarm_transitions.kind",
                            value: kind,
                        });
                    }
                },
                percent: r.try_get(at + 7)?,
                value_usd: r.try_get(at + 10)?,
                threshold_usd: r.try_get(at + 11)?,
                state: alarm_state("alarm_transitions.to_state", to)?,
            },
        },
    })
}

fn bump_changes(tx: &mut Transaction) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'changes'",
        &[],
    )?;
    Ok(())
}

impl Store for PgStore {
    fn add_window(
        &self,
        interval: Interval,
        note: &str,
        created_by: &str,
        at: DateTime<Utc>,
    ) -> Result<StoredWindow, StoreError> {
        super::check_window_length(&interval)?;
        let (note, created_by) = (note.to_string(), created_by.to_string());
        self.call(move |c| {
            let mut tx = c.transaction()?;
            let r = tx.query_one(
                &format!(
                    "INSERT INTO windows (start_utc, end_utc, note, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING {WINDOW_COLUMNS}"
                ),
                &[&interval.start, &interval.end, &note, &created_by, &at],
            )?;
            let w = window(&r)?.map_err(|q| StoreError::Corrupt {
                column: "windows.start_utc",
                value: q.problem,
            })?;
            bump_changes(&mut tx)?;
            tx.commit()?;
            Ok(w)
        })
    }

    fn sync_calendar(
        &self,
        source: &str,
        desired: &[CalendarWindow],
        now: DateTime<Utc>,
    ) -> Result<CalendarSync, StoreError> {
        for d in desired {
            super::check_window_length(&d.interval)?;
        }
        let (source, desired) = (source.to_string(), desired.to_vec());
        self.call(move |c| {
            let mut tx = c.transaction()?;
            let mut out = CalendarSync::default();
            for d in &desired {
                let found = tx.query_opt(
                    "SELECT id, start_utc, end_utc, note, cancelled_at FROM windows \
                     WHERE created_by = $1 AND calendar_key = $2 FOR UPDATE",
                    &[&source, &d.key],
                )?;
                match found {
                    None => {
                        tx.execute(
                            "INSERT INTO windows (start_utc, end_utc, note, created_by, created_at, calendar_key) \
                             VALUES ($1, $2, $3, $4, $5, $6)",
                            &[&d.interval.start, &d.interval.end, &d.note, &source, &now, &d.key],
                        )?;
                        out.added += 1;
                    }
                    Some(r) => {
                        let (id, s, e, note, cancelled): (i64, DateTime<Utc>, DateTime<Utc>, String, Option<DateTime<Utc>>) =
                            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?);
                        if s == d.interval.start && e == d.interval.end && note == d.note && cancelled.is_none() {
                            out.unchanged += 1;
                        } else {
                            tx.execute(
                                "UPDATE windows SET start_utc = $1, end_utc = $2, note = $3, cancelled_at = NULL WHERE id = $4",
                                &[&d.interval.start, &d.interval.end, &d.note, &id],
                            )?;
                            out.moved += 1;
                        }
                    }
                }
            }
            let wanted: std::collections::HashSet<&str> = desired.iter().map(|d| d.key.as_str()).collect();
            let live = tx.query(
                "SELECT id, calendar_key FROM windows \
                 WHERE created_by = $1 AND calendar_key IS NOT NULL AND cancelled_at IS NULL AND end_utc > $2",
                &[&source, &now],
            )?;
            for r in live {
                let (id, key): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
                if !wanted.contains(key.as_str()) {
                    tx.execute("UPDATE windows SET cancelled_at = $1 WHERE id = $2", &[&now, &id])?;
                    out.cancelled += 1;
                }
            }
            if out.changed() {
                bump_changes(&mut tx)?;
            }
            tx.commit()?;
            Ok(out)
        })
    }

    fn cancel_window(&self, id: i64, at: DateTime<Utc>) -> Result<CancelledWindow, StoreError> {
        self.call(move |c| {
            let mut tx = c.transaction()?;
            let cancelled: Option<DateTime<Utc>> = tx
                .query_opt("SELECT cancelled_at FROM windows WHERE id = $1 FOR UPDATE", &[&id])?
                .ok_or(StoreError::WindowNotFound(id))?
                .try_get(0)?;
            if cancelled.is_some() {
                return Err(StoreError::AlreadyCancelled(id));
            }
            let r = tx.query_one(
                &format!("UPDATE windows SET cancelled_at = $2 WHERE id = $1 RETURNING {WINDOW_COLUMNS}"),
                &[&id, &at],
            )?;
            bump_changes(&mut tx)?;
            tx.commit()?;
            Ok(match window(&r)? {
                Ok(w) => CancelledWindow::Window(w),
                Err(q) => CancelledWindow::Quarantined(q),
            })
        })
    }

    fn windows(&self, include_cancelled: bool) -> Result<Vec<StoredWindow>, StoreError> {
        let rows = self.window_rows.clone();
        self.call(move |c| {
            let sql = format!(
                "SELECT {WINDOW_COLUMNS} FROM windows {} ORDER BY id",
                if include_cancelled {
                    ""
                } else {
                    "WHERE cancelled_at IS NULL"
                }
            );
            readable(&rows, c.query(&sql, &[])?)
        })
    }

    fn windows_in(&self, range: Interval) -> Result<Vec<StoredWindow>, StoreError> {
        let rows = self.window_rows.clone();
        self.call(move |c| {
            let sql = format!(
                "SELECT {WINDOW_COLUMNS} FROM windows WHERE cancelled_at IS NULL \
                 AND start_utc >= $1 AND start_utc < $2 AND end_utc > $3 ORDER BY start_utc, id"
            );
            let from = range.start - super::MAX_STORED_WINDOW;
            readable(&rows, c.query(&sql, &[&from, &range.end, &range.start])?)
        })
    }

    fn windows_page(&self, q: &WindowPageQuery) -> Result<WindowPage, StoreError> {
        let (rows, q) = (self.window_rows.clone(), *q);
        self.call(move |c| {
            let live = if q.include_cancelled {
                ""
            } else {
                "cancelled_at IS NULL AND "
            };
            let sql = format!(
                "SELECT {WINDOW_COLUMNS} FROM windows WHERE {live}start_utc >= $1 AND (start_utc, id) > ($1, $2) \
                 AND end_utc > $3 ORDER BY start_utc, id LIMIT $4"
            );
            let (from, after_id) = q.lower_bound();
            let mut found = c.query(&sql, &[&from, &after_id, &q.ends_after, &q.fetch()])?;
            let more = found.len() as i64 == q.fetch();
            found.truncate(q.page_len());
            // The look-ahead row was read too.
            rows.fetch_add(u64::from(more), std::sync::atomic::Ordering::Relaxed);
            Ok(WindowPage::new(readable(&rows, found)?, more))
        })
    }

    fn window(&self, id: i64) -> Result<StoredWindow, StoreError> {
        self.window_rows.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.call(move |c| {
            let r = c
                .query_opt(&format!("SELECT {WINDOW_COLUMNS} FROM windows WHERE id = $1"), &[&id])?
                .ok_or(StoreError::WindowNotFound(id))?;
            window(&r)?.map_err(|q| StoreError::Corrupt {
                column: "windows.start_utc",
                value: q.problem,
            })
        })
    }

    fn window_rows_read(&self) -> u64 {
        self.window_rows.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn quarantined_windows(&self) -> Result<Vec<QuarantinedWindow>, StoreError> {
        let (rows, cache) = (self.window_rows.clone(), self.quarantine.clone());
        self.call(move |c| {
            // Every window write bumps `changes`: while it stands, so does the last answer.
            let changes: i64 = c
                .query_one("SELECT value::bigint FROM meta WHERE key = 'changes'", &[])?
                .try_get(0)?;
            let mut cache = cache.lock().expect("store lock");
            if let Some((v, list)) = cache.as_ref()
                && *v == changes
            {
                return Ok(list.clone());
            }
            let sql = format!("SELECT {WINDOW_COLUMNS} FROM windows WHERE cancelled_at IS NULL ORDER BY id");
            let mut out = Vec::new();
            let found = c.query(&sql, &[])?;
            rows.fetch_add(found.len() as u64, std::sync::atomic::Ordering::Relaxed);
            for r in found {
                if let Err(q) = window(&r)? {
                    out.push(q);
                }
            }
            super::log_quarantined(&out);
            *cache = Some((changes, out.clone()));
            Ok(out)
        })
    }

    fn external_change_marker(&self) -> Result<i64, StoreError> {
        self.call(|c| {
            Ok(
                c.query_one("SELECT value::bigint FROM meta WHERE key = 'changes'", &[])?
                    .try_get(0)?,
            )
        })
    }

    fn store_id(&self) -> Result<String, StoreError> {
        Ok(self.store_id.clone())
    }

    fn cached(&self, key: &str) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        let key = key.to_string();
        self.call(move |c| {
            c.query_opt("SELECT value, fetched_at FROM cached_answers WHERE key = $1", &[&key])?
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .transpose()
        })
    }

    fn put_cached(&self, key: &str, value: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let (key, value) = (key.to_string(), value.to_string());
        self.call(move |c| {
            c.execute(
                "INSERT INTO cached_answers (key, value, fetched_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, fetched_at = excluded.fetched_at",
                &[&key, &value, &at],
            )?;
            Ok(())
        })
    }

    fn record_events(&self, events: &[(Event, Vec<String>)]) -> Result<usize, StoreError> {
        let events = events.to_vec();
        self.fenced(move |tx, _| {
            let mut new = 0;
            for (e, destinations) in &events {
                let body = serde_json::to_string(e).expect("an event serialises");
                let inserted = tx.execute(
                    "INSERT INTO events (id, kind, at, body) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
                    &[&e.id, &e.kind.as_str(), &e.at, &body],
                )?;
                if inserted == 1 {
                    new += 1;
                    for d in destinations {
                        tx.execute(
                            "INSERT INTO deliveries (event_id, destination) VALUES ($1, $2)",
                            &[&e.id, d],
                        )?;
                    }
                }
            }
            Ok(new)
        })
    }

    fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: u32,
    ) -> Result<(String, Vec<PendingDelivery>), StoreError> {
        let claim = super::random_hex(12);
        let until = now + lease;
        self.fenced(move |tx, _| {
            // SKIP LOCKED: two claimers at once each take rows the other did not.
            let claimed = tx.query(
                "WITH due AS (SELECT d.event_id, d.destination FROM deliveries d JOIN events e ON e.id = d.event_id \
                   WHERE d.delivered_at IS NULL AND d.dead_at IS NULL \
                   AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= $1) \
                   AND (d.claimed_until IS NULL OR d.claimed_until <= $1) \
                   ORDER BY e.seq, d.destination LIMIT $2 FOR UPDATE OF d SKIP LOCKED) \
                 UPDATE deliveries d SET claim = $3, claimed_until = $4 FROM due, events e \
                 WHERE d.event_id = due.event_id AND d.destination = due.destination AND e.id = d.event_id \
                 RETURNING e.seq, d.destination, d.attempts, e.body",
                &[&now, &i64::from(limit), &claim, &until],
            )?;
            let mut rows: Vec<(i64, String, i32, String)> = claimed
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
                .collect::<Result<_, StoreError>>()?;
            rows.sort();
            let out = rows
                .into_iter()
                .map(|(_, destination, attempts, body)| {
                    Ok(PendingDelivery {
                        event: event_body(body)?,
                        destination,
                        attempts: u32::try_from(attempts).unwrap_or(0),
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok((claim, out))
        })
    }

    fn finish_delivery(
        &self,
        event_id: &str,
        destination: &str,
        claim: &str,
        outcome: &DeliveryOutcome,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (event_id, destination, claim) = (event_id.to_string(), destination.to_string(), claim.to_string());
        let (delivered, next, dead, error) = outcome.columns(at);
        self.fenced(move |tx, _| {
            Ok(tx.execute(
                "UPDATE deliveries SET attempts = attempts + 1, delivered_at = $4, next_attempt_at = $5, \
                 dead_at = $6, last_error = COALESCE($7, last_error), \
                 last_error_at = CASE WHEN $7::TEXT IS NULL THEN last_error_at ELSE $8 END, \
                 claim = NULL, claimed_until = NULL \
                 WHERE event_id = $1 AND destination = $2 AND claim = $3",
                &[&event_id, &destination, &claim, &delivered, &next, &dead, &error, &at],
            )? == 1)
        })
    }

    fn events(&self, kind: Option<EventKind>, before: Option<&str>, limit: u32) -> Result<Vec<Event>, StoreError> {
        let kind = kind.map(|k| k.as_str().to_string());
        let before = before.map(str::to_string);
        self.call(move |c| {
            c.query(
                "SELECT body FROM events WHERE ($1::TEXT IS NULL OR kind = $1) \
                 AND ($2::TEXT IS NULL OR (at, seq) < (SELECT at, seq FROM events WHERE id = $2)) \
                 ORDER BY at DESC, seq DESC LIMIT $3",
                &[&kind, &before, &i64::from(limit)],
            )?
            .iter()
            .map(|r| event_body(r.try_get(0)?))
            .collect()
        })
    }

    fn deliveries(&self, state: NotificationState, limit: u32) -> Result<Vec<DeliveryRecord>, StoreError> {
        let filter = match state {
            NotificationState::Pending => "d.delivered_at IS NULL AND d.dead_at IS NULL",
            NotificationState::Delivered => "d.delivered_at IS NOT NULL",
            NotificationState::Dead => "d.dead_at IS NOT NULL",
        };
        self.call(move |c| {
            c.query(
                &format!(
                    "SELECT d.event_id, e.kind, d.destination, d.attempts, e.at, d.delivered_at, d.dead_at, \
                     d.next_attempt_at, d.last_error FROM deliveries d JOIN events e ON e.id = d.event_id \
                     WHERE {filter} ORDER BY e.at DESC, e.seq DESC, d.destination LIMIT $1"
                ),
                &[&i64::from(limit)],
            )?
            .iter()
            .map(|r| {
                let kind: String = r.try_get(1)?;
                Ok(DeliveryRecord {
                    event_id: r.try_get(0)?,
                    kind: EventKind::parse(&kind).ok_or(StoreError::Corrupt {
                        column: "events.kind",
                        value: kind.clone(),
                    })?,
                    destination: r.try_get(2)?,
                    state,
                    attempts: u32::try_from(r.try_get::<_, i32>(3)?).unwrap_or(0),
                    at: r.try_get(4)?,
                    delivered_at: r.try_get(5)?,
                    dead_at: r.try_get(6)?,
                    next_attempt_at: r.try_get(7)?,
                    last_error: r.try_get(8)?,
                })
            })
            .collect()
        })
    }

    fn destination_status(&self) -> Result<Vec<DestinationStatus>, StoreError> {
        self.call(move |c| {
            c.query(
                "SELECT d.destination, MAX(d.delivered_at), \
                 (SELECT x.last_error FROM deliveries x WHERE x.destination = d.destination \
                  AND x.last_error_at IS NOT NULL ORDER BY x.last_error_at DESC LIMIT 1), MAX(d.last_error_at), \
                 COUNT(*) FILTER (WHERE d.delivered_at IS NULL AND d.dead_at IS NULL), \
                 COUNT(*) FILTER (WHERE d.dead_at IS NOT NULL) \
                 FROM deliveries d GROUP BY d.destination ORDER BY d.destination",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(DestinationStatus {
                    destination: r.try_get(0)?,
                    last_delivered_at: r.try_get(1)?,
                    last_error: r.try_get(2)?,
                    last_error_at: r.try_get(3)?,
                    pending: u32::try_from(r.try_get::<_, i64>(4)?).unwrap_or(u32::MAX),
                    dead: u32::try_from(r.try_get::<_, i64>(5)?).unwrap_or(u32::MAX),
                })
            })
            .collect()
        })
    }

    fn record_projection_day(&self, d: &ProjectionDay) -> Result<(), StoreError> {
        let d = d.clone();
        self.fenced(move |tx, _| {
            tx.execute(
                "INSERT INTO projection_days (deployment, month, day, timezone, at, partial_hour, month_to_date_usd, \
                 projected_usd, alb_actual_usd, alb_projected_usd) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (deployment, month, day) DO UPDATE SET timezone = excluded.timezone, at = excluded.at, \
                 partial_hour = excluded.partial_hour, month_to_date_usd = excluded.month_to_date_usd, \
                 projected_usd = excluded.projected_usd, alb_actual_usd = excluded.alb_actual_usd, \
                 alb_projected_usd = excluded.alb_projected_usd",
                &[
                    &d.deployment,
                    &d.month,
                    &d.day,
                    &d.timezone,
                    &d.at,
                    &d.partial_hour,
                    &d.month_to_date_usd,
                    &d.projected_usd,
                    &d.alb_actual_usd,
                    &d.alb_projected_usd,
                ],
            )?;
            Ok(())
        })
    }

    fn projection_days(&self, deployment: &str, month: &str) -> Result<Vec<ProjectionDay>, StoreError> {
        let (deployment, month) = (deployment.to_string(), month.to_string());
        self.call(move |c| {
            c.query(
                "SELECT month, day, timezone, at, partial_hour, month_to_date_usd, projected_usd, alb_actual_usd, \
                 alb_projected_usd FROM projection_days WHERE deployment = $1 AND month = $2 ORDER BY day",
                &[&deployment, &month],
            )?
            .iter()
            .map(|r| {
                Ok(ProjectionDay {
                    deployment: deployment.clone(),
                    month: r.try_get(0)?,
                    day: r.try_get(1)?,
                    timezone: r.try_get(2)?,
                    at: r.try_get(3)?,
                    partial_hour: r.try_get(4)?,
                    month_to_date_usd: r.try_get(5)?,
                    projected_usd: r.try_get(6)?,
                    alb_actual_usd: r.try_get(7)?,
                    alb_projected_usd: r.try_get(8)?,
                })
            })
            .collect()
        })
    }

    fn open_lifetimes(&self, deployment: &str) -> Result<Vec<Lifetime>, StoreError> {
        let deployment = deployment.to_string();
        self.call(move |c| {
            c.query(
                &format!(
                    "SELECT {LIFETIME_COLUMNS} FROM lifetimes WHERE deployment = $1 AND deleted_at IS NULL ORDER BY id DESC"
                ),
                &[&deployment],
            )?
            .iter()
            .map(lifetime)
            .collect()
        })
    }

    fn lifetimes(&self, deployment: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Lifetime>, StoreError> {
        let deployment = deployment.to_string();
        self.call(move |c| {
            c.query(
                &format!(
                    "SELECT {LIFETIME_COLUMNS} FROM lifetimes WHERE deployment = $1 AND deleted_at IS NULL AND created_at < $3 \
                     UNION ALL SELECT {LIFETIME_COLUMNS} FROM lifetimes WHERE deployment = $1 AND deleted_at > $2 \
                     AND created_at < $3 AND created_at >= $2 - make_interval(secs => \
                     (SELECT value::BIGINT FROM meta WHERE key = 'ledger_longest_seconds')) ORDER BY id"
                ),
                &[&deployment, &from, &to],
            )?
            .iter()
            .map(lifetime)
            .collect()
        })
    }

    fn lifetime_by_lb_arn(&self, lb_arn: &str) -> Result<Option<Lifetime>, StoreError> {
        let lb_arn = lb_arn.to_string();
        self.call(move |c| {
            c.query_opt(
                &format!("SELECT {LIFETIME_COLUMNS} FROM lifetimes WHERE lb_arn = $1 ORDER BY id DESC LIMIT 1"),
                &[&lb_arn],
            )?
            .map(|r| lifetime(&r))
            .transpose()
        })
    }

    fn insert_lifetime(&self, l: &NewLifetime) -> Result<Lifetime, StoreError> {
        let l = l.clone();
        self.fenced(move |tx, token| {
            let r = tx.query_one(
                &format!(
                    "INSERT INTO lifetimes (deployment, name, window_ids, reason, reason_detail, dry_run, created_at, \
                     lease_token) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {LIFETIME_COLUMNS}"
                ),
                &[
                    &l.deployment,
                    &l.name,
                    &l.window_ids.join(","),
                    &l.reason.as_str(),
                    &l.reason_detail,
                    &l.dry_run,
                    &l.created_at,
                    &token,
                ],
            )?;
            lifetime(&r)
        })
    }

    fn update_lifetime(&self, l: &Lifetime) -> Result<(), StoreError> {
        let l = l.clone();
        self.fenced(move |tx, token| {
            tx.execute(
                "UPDATE lifetimes SET name = $2, window_ids = $3, reason = $4, reason_detail = $5, lb_arn = $6, \
                 tg_arn = $7, listener_arns = $8, dns_name = $9, created_at = $10, active_at = $11, deleted_at = $12, \
                 lease_token = COALESCE(lease_token, $13), dns_changes = $14 WHERE id = $1",
                &[
                    &l.id,
                    &l.name,
                    &l.window_ids.join(","),
                    &l.reason.as_str(),
                    &l.reason_detail,
                    &l.lb_arn,
                    &l.tg_arn,
                    &l.listener_arns.join(","),
                    &l.dns_name,
                    &l.created_at,
                    &l.active_at,
                    &l.deleted_at,
                    &token,
                    &l.dns_changes.join("\n"),
                ],
            )?;
            if let Some(seconds) = super::closed_seconds(&l) {
                tx.execute(
                    "UPDATE meta SET value = GREATEST(value::BIGINT, $1)::TEXT WHERE key = 'ledger_longest_seconds'",
                    &[&seconds],
                )?;
            }
            Ok(())
        })
    }

    fn record_decision(&self, d: &Decision) -> Result<(), StoreError> {
        let d = d.clone();
        self.fenced(move |tx, token| {
            tx.execute(
                "INSERT INTO decisions (at, action, window_ids, arn, detail, dry_run, edge_at, lease_token) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &d.at,
                    &d.action.as_str(),
                    &d.window_ids.join(","),
                    &d.arn,
                    &d.detail,
                    &d.dry_run,
                    &d.edge_at,
                    &token,
                ],
            )?;
            Ok(())
        })
    }

    fn decisions_page(&self, before: Option<i64>, limit: u32) -> Result<Vec<(i64, Decision)>, StoreError> {
        self.call(move |c| {
            c.query(
                "SELECT at, action, window_ids, arn, detail, dry_run, edge_at, id FROM decisions WHERE id < $1 \
                 ORDER BY id DESC LIMIT $2",
                &[&before.unwrap_or(i64::MAX), &i64::from(limit)],
            )?
            .iter()
            .map(|r| {
                let action: String = r.try_get(1)?;
                Ok((
                    r.try_get(7)?,
                    Decision {
                        at: r.try_get(0)?,
                        action: DecisionAction::parse(&action).ok_or(StoreError::Corrupt {
                            column: "decisions.action",
                            value: action.clone(),
                        })?,
                        window_ids: list(&r.try_get::<_, String>(2)?),
                        arn: r.try_get(3)?,
                        detail: r.try_get(4)?,
                        dry_run: r.try_get(5)?,
                        edge_at: r.try_get(6)?,
                    },
                ))
            })
            .collect()
        })
    }

    fn alarm_states(&self) -> Result<BTreeMap<String, StoredAlarm>, StoreError> {
        self.call(|c| {
            c.query(
                "SELECT key, state, since, value_usd, threshold_usd, evaluated_at FROM alarm_states",
                &[],
            )?
            .iter()
            .map(|r| {
                let key: String = r.try_get(0)?;
                Ok((
                    key.clone(),
                    StoredAlarm {
                        key,
                        state: alarm_state("alarm_states.state", r.try_get(1)?)?,
                        since: r.try_get(2)?,
                        value_usd: r.try_get(3)?,
                        threshold_usd: r.try_get(4)?,
                        evaluated_at: r.try_get(5)?,
                    },
                ))
            })
            .collect()
        })
    }

    fn apply_evaluations(
        &self,
        evaluations: &[Evaluation],
        transitions: &[Transition],
        channels: &[String],
        at: DateTime<Utc>,
    ) -> Result<Vec<StoredTransition>, StoreError> {
        let (evaluations, transitions, channels) = (evaluations.to_vec(), transitions.to_vec(), channels.to_vec());
        self.fenced(move |tx, _| {
            for e in &evaluations {
                tx.execute(
                    "INSERT INTO alarm_states AS a (key, state, since, value_usd, threshold_usd, evaluated_at) \
                     VALUES ($1, $2, $3, $4, $5, $3) \
                     ON CONFLICT (key) DO UPDATE SET \
                       since = CASE WHEN a.state = excluded.state THEN a.since ELSE excluded.since END, \
                       state = excluded.state, value_usd = excluded.value_usd, \
                       threshold_usd = excluded.threshold_usd, evaluated_at = excluded.evaluated_at",
                    &[&e.key, &e.state.to_string(), &at, &e.value_usd, &e.threshold_usd],
                )?;
            }
            let mut out = Vec::new();
            for t in transitions {
                let e = &t.evaluation;
                let id: i64 = tx
                    .query_one(
                        "INSERT INTO alarm_transitions (at, month, key, budget, scope, kind, percent, from_state, \
                         to_state, value_usd, threshold_usd) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                         RETURNING id",
                        &[
                            &t.at,
                            &t.month,
                            &e.key,
                            &e.budget,
                            &e.scope,
                            &e.kind.as_str(),
                            &e.percent,
                            &t.from.to_string(),
                            &t.to.to_string(),
                            &e.value_usd,
                            &e.threshold_usd,
                        ],
                    )?
                    .try_get(0)?;
                for ch in &channels {
                    tx.execute(
                        "INSERT INTO notifications (transition_id, channel) VALUES ($1, $2)",
                        &[&id, ch],
                    )?;
                }
                out.push(StoredTransition { id, transition: t });
            }
            Ok(out)
        })
    }

    fn claim_notifications(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: u32,
    ) -> Result<(String, Vec<PendingNotification>), StoreError> {
        let claim = super::random_hex(12);
        let until = now + lease;
        self.fenced(move |tx, _| {
            // SKIP LOCKED: two claimers at once each take rows the other did not.
            let claimed = tx.query(
                "WITH due AS (SELECT transition_id, channel FROM notifications \
                   WHERE delivered_at IS NULL AND dead_at IS NULL \
                   AND (next_attempt_at IS NULL OR next_attempt_at <= $1) \
                   AND (claimed_until IS NULL OR claimed_until <= $1) \
                   ORDER BY transition_id, channel LIMIT $2 FOR UPDATE SKIP LOCKED) \
                 UPDATE notifications n SET claim = $3, claimed_until = $4 FROM due \
                 WHERE n.transition_id = due.transition_id AND n.channel = due.channel \
                 RETURNING n.transition_id, n.channel, n.attempts",
                &[&now, &i64::from(limit), &claim, &until],
            )?;
            let mut rows: Vec<(i64, String, i32)> = claimed
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                .collect::<Result<_, StoreError>>()?;
            rows.sort();
            let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
            let mut by_id = BTreeMap::new();
            for r in tx.query(
                &format!("SELECT {TRANSITION_COLUMNS} FROM alarm_transitions WHERE id = ANY($1)"),
                &[&ids],
            )? {
                let t = transition(&r, 0)?;
                by_id.insert(t.id, t);
            }
            let out = rows
                .into_iter()
                .map(|(id, channel, attempts)| {
                    Ok(PendingNotification {
                        transition: by_id.get(&id).cloned().ok_or(StoreError::Corrupt {
                            column: "notifications.transition_id",
                            value: id.to_string(),
                        })?,
                        channel,
                        attempts: u32::try_from(attempts).unwrap_or(0),
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok((claim, out))
        })
    }

    fn finish_notification(
        &self,
        transition_id: i64,
        channel: &str,
        claim: &str,
        outcome: &DeliveryOutcome,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (channel, claim) = (channel.to_string(), claim.to_string());
        let (delivered, next, dead, error) = outcome.columns(at);
        self.fenced(move |tx, _| {
            Ok(tx.execute(
                "UPDATE notifications SET attempts = attempts + 1, delivered_at = $4, next_attempt_at = $5, \
                 dead_at = $6, last_error = $7, claim = NULL, claimed_until = NULL \
                 WHERE transition_id = $1 AND channel = $2 AND claim = $3",
                &[&transition_id, &channel, &claim, &delivered, &next, &dead, &error],
            )? == 1)
        })
    }

    fn notifications(&self, state: NotificationState, limit: u32) -> Result<Vec<NotificationRecord>, StoreError> {
        let filter = match state {
            NotificationState::Pending => "n.delivered_at IS NULL AND n.dead_at IS NULL",
            NotificationState::Delivered => "n.delivered_at IS NOT NULL",
            NotificationState::Dead => "n.dead_at IS NOT NULL",
        };
        self.call(move |c| {
            c.query(
                &format!(
                    "SELECT n.transition_id, n.channel, n.attempts, t.key, t.to_state, t.at, n.delivered_at, \
                     n.dead_at, n.next_attempt_at, n.last_error FROM notifications n \
                     JOIN alarm_transitions t ON t.id = n.transition_id \
                     WHERE {filter} ORDER BY n.transition_id DESC, n.channel LIMIT $1"
                ),
                &[&i64::from(limit)],
            )?
            .iter()
            .map(|r| {
                let (key, to): (String, String) = (r.try_get(3)?, r.try_get(4)?);
                Ok(NotificationRecord {
                    transition_id: r.try_get(0)?,
                    channel: r.try_get(1)?,
                    state,
                    attempts: u32::try_from(r.try_get::<_, i32>(2)?).unwrap_or(0),
                    summary: format!("{key} → {to}"),
                    at: r.try_get(5)?,
                    delivered_at: r.try_get(6)?,
                    dead_at: r.try_get(7)?,
                    next_attempt_at: r.try_get(8)?,
                    last_error: r.try_get(9)?,
                })
            })
            .collect()
        })
    }

    fn delete_dead_notifications(&self) -> Result<usize, StoreError> {
        self.call(|c| Ok(c.execute("DELETE FROM notifications WHERE dead_at IS NOT NULL", &[])? as usize))
    }

    fn delete_dead_deliveries(&self) -> Result<usize, StoreError> {
        self.fenced(|tx, _| Ok(tx.execute("DELETE FROM deliveries WHERE dead_at IS NOT NULL", &[])? as usize))
    }

    fn rename_channel(&self, from: &str, to: &str) -> Result<usize, StoreError> {
        let (from, to) = (from.to_string(), to.to_string());
        self.call(move |c| {
            // Rows already present under the new name are left as they are.
            Ok(c.execute(
                "UPDATE notifications n SET channel = $2 WHERE n.channel = $1 AND NOT EXISTS \
                 (SELECT 1 FROM notifications m WHERE m.transition_id = n.transition_id AND m.channel = $2)",
                &[&from, &to],
            )? as usize)
        })
    }

    fn prune(&self, now: DateTime<Utc>, keep: &Retention) -> Result<Pruned, StoreError> {
        let keep = *keep;
        self.fenced(move |tx, _| {
            let decisions = tx.execute("DELETE FROM decisions WHERE at < $1", &[&(now - keep.decisions)])?;
            let notifications = tx.execute(
                "DELETE FROM notifications WHERE (delivered_at IS NOT NULL AND delivered_at < $1) \
                 OR (dead_at IS NOT NULL AND dead_at < $1)",
                &[&(now - keep.notifications)],
            )?;
            // Delivered or dead notifications of a transition old enough to go, go with it.
            let cutoff = now - keep.transitions;
            let orphans = tx.execute(
                "DELETE FROM notifications n USING alarm_transitions t WHERE t.id = n.transition_id AND t.at < $1 \
                 AND NOT EXISTS (SELECT 1 FROM notifications p WHERE p.transition_id = t.id \
                 AND p.delivered_at IS NULL AND p.dead_at IS NULL)",
                &[&cutoff],
            )?;
            let transitions = tx.execute(
                "DELETE FROM alarm_transitions t WHERE t.at < $1 AND NOT EXISTS \
                 (SELECT 1 FROM notifications n WHERE n.transition_id = t.id)",
                &[&cutoff],
            )?;
            // Events: finished deliveries as notifications are; an event once nothing about it is pending.
            let cutoff = now - keep.notifications;
            let deliveries = tx.execute(
                "DELETE FROM deliveries WHERE (delivered_at IS NOT NULL AND delivered_at < $1) \
                 OR (dead_at IS NOT NULL AND dead_at < $1)",
                &[&cutoff],
            )?;
            tx.execute(
                "DELETE FROM events e WHERE e.at < $1 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)",
                &[&cutoff],
            )?;
            Ok(Pruned {
                decisions: decisions as usize,
                transitions: transitions as usize,
                notifications: (notifications + orphans + deliveries) as usize,
            })
        })
    }

    fn transitions(&self, limit: u32) -> Result<Vec<StoredTransition>, StoreError> {
        self.call(move |c| {
            c.query(
                &format!("SELECT {TRANSITION_COLUMNS} FROM alarm_transitions ORDER BY id DESC LIMIT $1"),
                &[&i64::from(limit)],
            )?
            .iter()
            .map(|r| transition(r, 0))
            .collect()
        })
    }

    fn put_session(&self, id_sha256: &str, s: &StoredSession, now: DateTime<Utc>) -> Result<(), StoreError> {
        let (id, s) = (id_sha256.to_string(), s.clone());
        self.call(move |c| {
            let mut tx = c.transaction()?;
            tx.execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now])?;
            tx.execute(
                "INSERT INTO sessions (id_sha256, token_name, token_sha256, csrf, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id_sha256) DO UPDATE SET \
                 token_name = excluded.token_name, token_sha256 = excluded.token_sha256, csrf = excluded.csrf, \
                 created_at = excluded.created_at, expires_at = excluded.expires_at",
                &[
                    &id,
                    &s.token_name,
                    &s.token_sha256,
                    &s.csrf,
                    &s.created_at,
                    &s.expires_at,
                ],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn session(&self, id_sha256: &str, now: DateTime<Utc>) -> Result<Option<StoredSession>, StoreError> {
        let id = id_sha256.to_string();
        self.call(move |c| {
            c.query_opt(
                "SELECT token_name, token_sha256, csrf, created_at, expires_at FROM sessions \
                 WHERE id_sha256 = $1 AND expires_at > $2",
                &[&id, &now],
            )?
            .map(|r| {
                Ok(StoredSession {
                    token_name: r.try_get(0)?,
                    token_sha256: r.try_get(1)?,
                    csrf: r.try_get(2)?,
                    created_at: r.try_get(3)?,
                    expires_at: r.try_get(4)?,
                })
            })
            .transpose()
        })
    }

    fn delete_session(&self, id_sha256: &str) -> Result<(), StoreError> {
        let id = id_sha256.to_string();
        self.call(move |c| {
            c.execute("DELETE FROM sessions WHERE id_sha256 = $1", &[&id])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A new database on the shared test cluster; the opener opens it (again).
    fn opener() -> impl Fn() -> Arc<dyn Store> + Sync + use<> {
        let cluster = testing::shared();
        let settings = cluster.settings(cluster.fresh_database());
        move || Arc::new(PgStore::open(settings.clone()).unwrap()) as Arc<dyn Store>
    }

    mod contract {
        use super::opener;
        crate::store::conformance::conformance!(opener());
    }

    fn store() -> PgStore {
        let cluster = testing::shared();
        PgStore::open(cluster.settings(cluster.fresh_database())).unwrap()
    }

    fn lifetime_row() -> NewLifetime {
        NewLifetime {
            deployment: "d".into(),
            name: "demo-1".into(),
            window_ids: vec!["w1".into()],
            reason: LifetimeReason::Window,
            reason_detail: String::new(),
            dry_run: false,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn one_leader_at_a_time_a_new_token_per_term_and_stale_tokens_are_refused() {
        let a = store();
        let ttl = StdDuration::from_millis(600);
        let LeadOutcome::Leading(first) = a.try_lead("leader:d", "a", ttl).unwrap() else {
            panic!("the first caller leads")
        };
        assert_eq!((first.holder.as_str(), first.token), ("a", 1));
        // B shares A's database (a second replica).
        let b_on_a = PgStore::open(a.settings.clone()).unwrap();
        match b_on_a.try_lead("leader:d", "b", ttl).unwrap() {
            LeadOutcome::Following(l) => assert_eq!((l.holder.as_str(), l.token), ("a", 1)),
            other => panic!("b must follow while a's lease runs: {other:?}"),
        }
        // Renewing keeps the term (same token, same acquired_at) and pushes the expiry.
        let LeadOutcome::Leading(renewed) = a.try_lead("leader:d", "a", ttl).unwrap() else {
            panic!("a renews")
        };
        assert_eq!((renewed.token, renewed.acquired_at), (1, first.acquired_at));
        assert!(renewed.expires_at > first.expires_at);
        // A fenced write with the current token goes through, and is recorded with it.
        a.set_fence(Fence::Required {
            lease: "leader:d".into(),
            token: Some(1),
        });
        let l = a.insert_lifetime(&lifetime_row()).unwrap();
        // A lets the lease run out; B takes over with the next token.
        std::thread::sleep(ttl + StdDuration::from_millis(200));
        let LeadOutcome::Leading(second) = b_on_a.try_lead("leader:d", "b", ttl).unwrap() else {
            panic!("b takes over an expired lease")
        };
        assert_eq!((second.holder.as_str(), second.token), ("b", 2));
        // A's token is stale now: every ledger write is refused, and nothing is written.
        assert!(matches!(a.update_lifetime(&l), Err(StoreError::Fenced { token: 1 })));
        assert!(matches!(
            a.insert_lifetime(&lifetime_row()),
            Err(StoreError::Fenced { token: 1 })
        ));
        assert!(matches!(
            a.record_decision(&Decision {
                at: Utc::now(),
                action: DecisionAction::Create,
                window_ids: vec![],
                arn: None,
                detail: String::new(),
                dry_run: false,
                edge_at: None,
            }),
            Err(StoreError::Fenced { token: 1 })
        ));
        assert_eq!(b_on_a.decisions(10).unwrap().len(), 0);
        assert_eq!(b_on_a.open_lifetimes("d").unwrap().len(), 1);
        // A comes back and finds B leading.
        assert!(matches!(
            a.try_lead("leader:d", "a", ttl).unwrap(),
            LeadOutcome::Following(LeaseRecord { token: 2, .. })
        ));
        // A standby (fenced, no token) may not write the ledger at all; windows are anyone's.
        a.set_fence(Fence::Required {
            lease: "leader:d".into(),
            token: None,
        });
        assert!(matches!(a.insert_lifetime(&lifetime_row()), Err(StoreError::NotLeader)));
        let now = Utc::now();
        a.add_window(
            Interval::new(now, now + chrono::Duration::hours(1)).unwrap(),
            "",
            "api:ops",
            now,
        )
        .unwrap();
        // B hands over at once on a clean shutdown; A then takes the next term.
        assert!(b_on_a.release("leader:d", "b", 2).unwrap());
        assert!(matches!(
            a.try_lead("leader:d", "a", ttl).unwrap(),
            LeadOutcome::Leading(LeaseRecord { token: 3, .. })
        ));
        assert_eq!(b_on_a.lease("leader:d").unwrap().map(|l| l.holder), Some("a".into()));
    }

    #[test]
    fn a_database_that_never_answers_fails_the_call_within_its_time_limit() {
        // Accepts the connection, then says nothing (a hung server or a black hole).
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let held = std::thread::spawn(move || {
            let conns: Vec<_> = silent.incoming().take(1).collect();
            std::thread::sleep(StdDuration::from_secs(5));
            drop(conns);
        });
        let started = std::time::Instant::now();
        let e = PgStore::open(PgSettings {
            url: url::Url::parse(&format!("postgres://costd@127.0.0.1:{port}/costd")).unwrap(),
            password: None,
            connections: 1,
            call_timeout: StdDuration::from_secs(1),
        })
        .err()
        .expect("no store from a silent server");
        let took = started.elapsed();
        assert!(matches!(e, StoreError::Unavailable(_)), "{e}");
        assert!(e.to_string().contains("no answer within 1 s"), "{e}");
        assert!(took < StdDuration::from_secs(3), "{took:?}");
        let _ = held.join();
    }

    #[test]
    fn the_password_is_never_shown() {
        let s = PgSettings {
            url: url::Url::parse("postgres://costd:hunter2@db.internal:5432/costd").unwrap(),
            password: None,
            connections: 1,
            call_timeout: StdDuration::from_secs(1),
        };
        assert_eq!(s.display_url(), "postgres://costd@db.internal:5432/costd");
    }
}
