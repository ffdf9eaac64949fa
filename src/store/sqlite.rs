//! SQLite store in one file. WAL, `synchronous = FULL` (a commit survives a
//! kill or power loss), a busy timeout so the CLI and the daemon can share the
//! file, and numbered migrations tracked in `PRAGMA user_version`. One
//! connection writes; queries go to a few read-only connections, which in WAL
//! mode see the last commit without waiting for a commit in progress.

use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;

use super::{
    CalendarSync, CalendarWindow, CancelledWindow, Decision, DecisionAction, DeliveryOutcome, DeliveryRecord,
    DestinationStatus, Lifetime, LifetimeReason, NewLifetime, NotificationRecord, NotificationState, PendingDelivery,
    PendingNotification, ProjectionDay, Pruned, QuarantinedWindow, Retention, Store, StoreError, StoredAlarm,
    StoredSession, StoredTransition, StoredWindow, WindowPage, WindowPageQuery, lines, list,
};
use crate::budget::{AlarmState, Evaluation, ThresholdKind, Transition};
use crate::event::{Event, EventKind};
use crate::schedule::Interval;

/// Migrations, applied in order; index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE windows (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    start_utc    TEXT NOT NULL,
    end_utc      TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    cancelled_at TEXT,
    CHECK (end_utc > start_utc)
);
CREATE TABLE lifetimes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment    TEXT NOT NULL,
    name          TEXT NOT NULL,
    window_ids    TEXT NOT NULL,
    reason        TEXT NOT NULL,
    reason_detail TEXT NOT NULL DEFAULT '',
    dry_run       INTEGER NOT NULL,
    lb_arn        TEXT,
    tg_arn        TEXT,
    listener_arns TEXT NOT NULL DEFAULT '',
    dns_name      TEXT,
    created_at    TEXT NOT NULL,
    active_at     TEXT,
    deleted_at    TEXT
);
CREATE INDEX lifetimes_open ON lifetimes (deployment, deleted_at);
CREATE TABLE decisions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    action     TEXT NOT NULL,
    window_ids TEXT NOT NULL,
    arn        TEXT,
    detail     TEXT NOT NULL,
    dry_run    INTEGER NOT NULL,
    edge_at    TEXT
);
"#,
    r#"
CREATE TABLE alarm_states (
    key           TEXT PRIMARY KEY,
    state         TEXT NOT NULL,
    since         TEXT NOT NULL,
    value_usd     TEXT NOT NULL,
    threshold_usd TEXT NOT NULL,
    evaluated_at  TEXT NOT NULL
);
CREATE TABLE alarm_transitions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TEXT NOT NULL,
    month         TEXT NOT NULL,
    key           TEXT NOT NULL,
    budget        TEXT NOT NULL,
    scope         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    percent       TEXT NOT NULL,
    from_state    TEXT NOT NULL,
    to_state      TEXT NOT NULL,
    value_usd     TEXT NOT NULL,
    threshold_usd TEXT NOT NULL
);
CREATE TABLE notifications (
    transition_id INTEGER NOT NULL REFERENCES alarm_transitions (id),
    channel       TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    delivered_at  TEXT,
    last_error    TEXT,
    PRIMARY KEY (transition_id, channel)
);
"#,
    r#"
CREATE TABLE sessions (
    id_sha256  TEXT PRIMARY KEY,
    token_name TEXT NOT NULL,
    token_sha256 TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
"#,
    r#"
ALTER TABLE notifications ADD COLUMN claim TEXT;
ALTER TABLE notifications ADD COLUMN claimed_until TEXT;
ALTER TABLE notifications ADD COLUMN next_attempt_at TEXT;
ALTER TABLE notifications ADD COLUMN dead_at TEXT;
CREATE INDEX notifications_open ON notifications (delivered_at, dead_at);
CREATE INDEX decisions_at ON decisions (at);
CREATE INDEX alarm_transitions_at ON alarm_transitions (at);
"#,
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE cached_answers (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    fetched_at TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE projection_days (
    deployment        TEXT NOT NULL,
    month             TEXT NOT NULL,
    day               TEXT NOT NULL,
    timezone          TEXT NOT NULL,
    at                TEXT NOT NULL,
    partial_hour      TEXT NOT NULL,
    month_to_date_usd TEXT NOT NULL,
    projected_usd     TEXT NOT NULL,
    alb_actual_usd    TEXT NOT NULL,
    alb_projected_usd TEXT NOT NULL,
    PRIMARY KEY (deployment, month, day)
);
"#,
    r#"
CREATE TABLE events (
    id   TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    at   TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX events_at ON events (at);
CREATE TABLE deliveries (
    event_id        TEXT NOT NULL REFERENCES events (id),
    destination     TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    claim           TEXT,
    claimed_until   TEXT,
    delivered_at    TEXT,
    dead_at         TEXT,
    last_error      TEXT,
    last_error_at   TEXT,
    PRIMARY KEY (event_id, destination)
);
CREATE INDEX deliveries_due ON deliveries (delivered_at, dead_at, next_attempt_at);
"#,
    // 9: the windows that can still open, by start: the schedule and the
    // dashboard read a time range of them, never the whole history.
    r#"
CREATE INDEX windows_live_start ON windows (start_utc) WHERE cancelled_at IS NULL;
"#,
    // 10: every window by start, cancelled ones too: listings are paged by
    // (start, id) from a cursor.
    r#"
CREATE INDEX windows_start ON windows (start_utc);
"#,
    // 11: the ledger of a range without reading its history: lifetimes by
    // start, and the longest closed one (seconds, rounded up) so a range's
    // closed lifetimes are those started from that long before it.
    r#"
CREATE INDEX lifetimes_created ON lifetimes (deployment, created_at);
INSERT INTO meta (key, value)
SELECT 'ledger_longest_seconds',
       CAST(COALESCE(MAX(CAST((julianday(deleted_at) - julianday(created_at)) * 86400 AS INTEGER) + 1), 0) AS TEXT)
FROM lifetimes WHERE deleted_at IS NOT NULL;
"#,
    // 12: a counter of window writes, by any process (`costd windows`, a hand
    // edit): what the quarantine check is kept until, rather than any commit.
    r#"
INSERT INTO meta (key, value) VALUES ('window_changes', '0');
CREATE TRIGGER windows_inserted AFTER INSERT ON windows BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'window_changes';
END;
CREATE TRIGGER windows_updated AFTER UPDATE ON windows BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'window_changes';
END;
CREATE TRIGGER windows_deleted AFTER DELETE ON windows BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'window_changes';
END;
"#,
    // 13: windows from subscribed calendars, by the event occurrence they
    // come from (`created_by` names the calendar).
    r#"
ALTER TABLE windows ADD COLUMN calendar_key TEXT;
CREATE UNIQUE INDEX windows_calendar ON windows (created_by, calendar_key) WHERE calendar_key IS NOT NULL;
"#,
    // 14: the Route 53 changes made for a lifetime's stable name, one per line.
    r#"
ALTER TABLE lifetimes ADD COLUMN dns_changes TEXT NOT NULL DEFAULT '';
"#,
];

/// Up to `limit` rows of `stmt`, mapped by `f`. Rows are stepped one at a
/// time and the statement stops there, so the SQL needs no `LIMIT ?`: SQLite
/// compiles a statement with a bound `LIMIT` (or an `ORDER BY` the planner
/// weighed against a bound value) again at every run, which cost a page view
/// more than the reads themselves. The orders used here follow an index, so
/// nothing is sorted before the first row.
fn take<T>(
    stmt: &mut rusqlite::Statement<'_>,
    params: impl rusqlite::Params,
    limit: u32,
    mut f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while out.len() < limit as usize {
        match rows.next()? {
            Some(r) => out.push(f(r)?),
            None => break,
        }
    }
    Ok(out)
}

/// The lifetimes overlapping `[?2, ?3)` of deployment `?1`, two index
/// ranges whatever the history: the open ones (`lifetimes_open`), and the
/// closed ones started from the longest closed lifetime before `?2` up to
/// `?3` (`lifetimes_created`; the bound is read in the same statement, so it
/// holds every lifetime closed before it). One `OR` would read every
/// lifetime of the deployment. Unordered: the caller sorts (see [`take`]).
fn lifetimes_in() -> String {
    format!(
        "SELECT {LIFETIME_COLUMNS} FROM lifetimes INDEXED BY lifetimes_open \
         WHERE deployment = ?1 AND deleted_at IS NULL AND created_at < ?3 \
         UNION ALL SELECT {LIFETIME_COLUMNS} FROM lifetimes INDEXED BY lifetimes_created \
         WHERE deployment = ?1 AND created_at < ?3 AND deleted_at > ?2 AND created_at >= strftime('%Y-%m-%dT%H:%M:%fZ', ?2, \
         '-' || (SELECT value FROM meta WHERE key = 'ledger_longest_seconds') || ' seconds')"
    )
}

/// A page of windows (`windows_page`): from the lower bound (`?1`, `?2`: a
/// start and the id after which to continue at that start), ending after
/// `?3`, read up to the page's length (see [`take`]); live ones by
/// `windows_live_start`, all by `windows_start`. Both indexes hold the id (the rowid) after the start.
const WINDOWS_PAGE_LIVE: &str = "SELECT id, start_utc, end_utc, note, created_by, created_at, cancelled_at FROM windows \
     WHERE cancelled_at IS NULL AND start_utc >= ?1 AND (start_utc, id) > (?1, ?2) AND end_utc > ?3 \
     ORDER BY start_utc, id";
const WINDOWS_PAGE_ALL: &str = "SELECT id, start_utc, end_utc, note, created_by, created_at, cancelled_at FROM windows \
     WHERE start_utc >= ?1 AND (start_utc, id) > (?1, ?2) AND end_utc > ?3 ORDER BY start_utc, id";

/// The windows overlapping a range: those starting from the longest window
/// before it (`?1`) to its end (`?2`) and ending after its start (`?3`).
/// An index range on `windows_live_start`.
const WINDOWS_IN: &str = "SELECT id, start_utc, end_utc, note, created_by, created_at, cancelled_at FROM windows \
     WHERE cancelled_at IS NULL AND start_utc >= ?1 AND start_utc < ?2 AND end_utc > ?3 ORDER BY start_utc, id";

/// Before migration 4, a webhook's channel was `webhook:<its URL>` and
/// delivery errors quoted the URL: both are redacted to scheme and host.
fn redact_legacy_notifications(tx: &rusqlite::Transaction) -> Result<(), StoreError> {
    let rows: Vec<(i64, String, Option<String>)> = tx
        .prepare_cached("SELECT transition_id, channel, last_error FROM notifications")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (id, channel, error) in rows {
        let new_channel = match channel.strip_prefix("webhook:") {
            Some(url) if url.contains("://") => format!("webhook:{}", crate::redact::url(url)),
            _ => channel.clone(),
        };
        tx.execute(
            "UPDATE OR IGNORE notifications SET channel = ?3, last_error = ?4 WHERE transition_id = ?1 AND channel = ?2",
            params![id, channel, new_channel, error.map(|e| crate::redact::urls_in(&e))],
        )?;
    }
    Ok(())
}

/// The SQLite-backed [`Store`].
pub struct SqliteStore {
    /// The one connection that writes (and runs migrations).
    conn: Mutex<Connection>,
    /// Read-only connections for queries: in WAL mode a reader sees the last
    /// commit without waiting for the writer, so a dashboard request never
    /// queues behind a commit's fsync.
    readers: Vec<Mutex<Connection>>,
    next_reader: std::sync::atomic::AtomicUsize,
    /// Window rows read by queries since opening.
    window_rows: std::sync::atomic::AtomicU64,
    /// The quarantined rows last found, and the `window_changes` counter then
    /// (triggers move it at every window write, by any process), so a page
    /// view does not scan every window to list none. Held while a check
    /// scans, so concurrent requests wait for one scan rather than each run one.
    quarantine: Mutex<super::QuarantineCache>,
}

/// How many read connections a store keeps.
const READERS: usize = 4;

/// A `windows` row as read, before validation.
type WindowRow = (i64, String, String, String, String, String, Option<String>);

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_ts(column: &'static str, s: String) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt { column, value: s })
}

fn opt_ts(column: &'static str, s: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    s.map(|s| parse_ts(column, s)).transpose()
}

/// An event as kept (JSON).
fn event_body(body: String) -> Result<Event, StoreError> {
    serde_json::from_str(&body).map_err(|_| StoreError::Corrupt {
        column: "events.body",
        value: body,
    })
}

/// The schema version of the store file at `path` (read only, nothing
/// migrated) and the version this build migrates to; `None` if no file.
pub fn schema_versions(path: &Path) -> Result<Option<(i64, i64)>, StoreError> {
    if !path.exists() {
        return Ok(None);
    }
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let found: i64 = conn
        .prepare_cached("PRAGMA user_version")?
        .query_row([], |r| r.get(0))?;
    Ok(Some((found, MIGRATIONS.len() as i64)))
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Switching to WAL needs a moment alone with the file; another process
        // opening it at the same time makes this fail with SQLITE_BUSY at once.
        let mut tries = 0;
        loop {
            match conn.pragma_update(None, "journal_mode", "WAL") {
                Ok(()) => break,
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy && tries < 100 =>
                {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => return Err(e.into()),
            }
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = SqliteStore {
            conn: Mutex::new(conn),
            readers: Vec::new(),
            next_reader: Default::default(),
            window_rows: Default::default(),
            quarantine: Mutex::new(None),
        };
        store.migrate()?;
        // Readers open after the migration, so they never see an older schema.
        for _ in 0..READERS {
            let r = Connection::open(path)?;
            r.busy_timeout(std::time::Duration::from_secs(5))?;
            r.pragma_update(None, "query_only", "ON")?;
            // Every query the daemon and the dashboard run stays prepared.
            r.set_prepared_statement_cache_capacity(64);
            store.readers.push(Mutex::new(r));
        }
        Ok(store)
    }

    /// A read connection: the first one free, else wait for one in turn.
    fn read(&self) -> std::sync::MutexGuard<'_, Connection> {
        if let Some(conn) = self.readers.iter().find_map(|r| r.try_lock().ok()) {
            return conn;
        }
        let i = self.next_reader.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.readers.len();
        self.readers[i].lock().expect("store lock")
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.lock().expect("store lock");
        // IMMEDIATE takes the write lock first (waiting on the busy timeout), so two
        // processes opening a new file never both apply the same migration.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.prepare_cached("PRAGMA user_version")?.query_row([], |r| r.get(0))?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)?;
            if i == 3 {
                redact_legacy_notifications(&tx)?;
            }
            if i == 4 {
                // The store's identity, made once (in the migration's transaction,
                // so two processes opening a new file agree on it).
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('store_id', ?1)",
                    params![super::random_uuid()],
                )?;
            }
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .lock()
            .expect("store lock")
            .prepare_cached("PRAGMA user_version")?
            .query_row([], |r| r.get(0))?)
    }

    /// The rows that read back as windows (the others are quarantined and
    /// skipped, with a warning), counted as read.
    fn readable(&self, raws: Vec<WindowRow>) -> Result<Vec<StoredWindow>, StoreError> {
        self.window_rows
            .fetch_add(raws.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(raws
            .into_iter()
            .filter_map(|raw| {
                let id = raw.0;
                Self::to_window(raw)
                    .inspect_err(|e| {
                        tracing::warn!(window = id, error = %e, "skipping a stored window that cannot be read (quarantined; cancel it by id)")
                    })
                    .ok()
            })
            .collect())
    }

    fn window_from(row: &Row) -> rusqlite::Result<WindowRow> {
        Ok((
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
            row.get(6)?,
        ))
    }

    fn to_window(raw: WindowRow) -> Result<StoredWindow, StoreError> {
        let (id, start, end, note, created_by, created_at, cancelled_at) = raw;
        let start = parse_ts("windows.start_utc", start)?;
        let end = parse_ts("windows.end_utc", end)?;
        Ok(StoredWindow {
            id,
            interval: Interval::new(start, end).ok_or(StoreError::Corrupt {
                column: "windows.end_utc",
                value: format!("{end} is not after {start}"),
            })?,
            note,
            created_by,
            created_at: parse_ts("windows.created_at", created_at)?,
            cancelled_at: opt_ts("windows.cancelled_at", cancelled_at)?,
        })
    }

    fn get_window(conn: &Connection, id: i64) -> Result<StoredWindow, StoreError> {
        let raw = conn
            .prepare_cached(
                "SELECT id, start_utc, end_utc, note, created_by, created_at, cancelled_at FROM windows WHERE id = ?1",
            )?
            .query_row([id], Self::window_from)
            .optional()?
            .ok_or(StoreError::WindowNotFound(id))?;
        Self::to_window(raw)
    }

    /// The lifetimes `sql` finds, by id (the SQL has no `ORDER BY`: see [`take`]).
    fn lifetime_rows(conn: &Connection, sql: &str, p: &[&dyn rusqlite::ToSql]) -> Result<Vec<Lifetime>, StoreError> {
        let mut stmt = conn.prepare_cached(sql)?;
        let mut raws = stmt
            .query_map(p, |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, bool>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, String>(9)?,
                    r.get::<_, Option<String>>(10)?,
                    (
                        r.get::<_, String>(11)?,
                        r.get::<_, Option<String>>(12)?,
                        r.get::<_, Option<String>>(13)?,
                        r.get::<_, String>(14)?,
                    ),
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        raws.sort_by_key(|r| r.0);
        raws.into_iter()
            .map(
                |(id, deployment, name, window_ids, reason, reason_detail, dry_run, lb, tg, listeners, dns, times)| {
                    Ok(Lifetime {
                        id,
                        deployment,
                        name,
                        window_ids: list(&window_ids),
                        reason: LifetimeReason::parse(&reason).ok_or(StoreError::Corrupt {
                            column: "lifetimes.reason",
                            value: reason,
                        })?,
                        reason_detail,
                        dry_run,
                        lb_arn: lb,
                        tg_arn: tg,
                        listener_arns: list(&listeners),
                        dns_name: dns,
                        dns_changes: lines(&times.3),
                        created_at: parse_ts("lifetimes.created_at", times.0)?,
                        active_at: opt_ts("lifetimes.active_at", times.1)?,
                        deleted_at: opt_ts("lifetimes.deleted_at", times.2)?,
                    })
                },
            )
            .collect()
    }
}

fn quarantined(raw: WindowRow, e: &StoreError) -> QuarantinedWindow {
    QuarantinedWindow {
        id: raw.0,
        start_utc: raw.1,
        end_utc: raw.2,
        note: raw.3,
        problem: e.to_string(),
    }
}

fn dec(column: &'static str, s: String) -> Result<Decimal, StoreError> {
    Decimal::from_str(&s).map_err(|_| StoreError::Corrupt { column, value: s })
}

fn state(column: &'static str, s: String) -> Result<AlarmState, StoreError> {
    AlarmState::parse(&s).ok_or(StoreError::Corrupt { column, value: s })
}

const TRANSITION_COLUMNS: &str =
    "id, at, month, key, budget, scope, kind, percent, from_state, to_state, value_usd, threshold_usd";

type TransitionRow = (i64, [String; 11]);

fn transition_row(r: &Row) -> rusqlite::Result<TransitionRow> {
    let mut v: [String; 11] = Default::default();
    for (i, slot) in v.iter_mut().enumerate() {
        *slot = r.get(i + 1)?;
    }
    Ok((r.get(0)?, v))
}

fn to_transition((id, v): TransitionRow) -> Result<StoredTransition, StoreError> {
    let [at, month, key, budget, scope, kind, percent, from, to, value, threshold] = v;
    Ok(StoredTransition {
        id,
        transition: Transition {
            at: parse_ts("alarm_transitions.at", at)?,
            month,
            from: state("alarm_transitions.from_state", from)?,
            to: state("alarm_transitions.to_state", to.clone())?,
            evaluation: Evaluation {
                key,
                budget,
                scope,
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
                percent: dec("alarm_transitions.percent", percent)?,
                value_usd: dec("alarm_transitions.value_usd", value)?,
                threshold_usd: dec("alarm_transitions.threshold_usd", threshold)?,
                state: state("alarm_transitions.to_state", to)?,
            },
        },
    })
}

const LIFETIME_COLUMNS: &str = "id, deployment, name, window_ids, reason, reason_detail, dry_run, lb_arn, tg_arn, \
     listener_arns, dns_name, created_at, active_at, deleted_at, dns_changes";

impl Store for SqliteStore {
    fn store_id(&self) -> Result<String, StoreError> {
        Ok(self
            .read()
            .prepare_cached("SELECT value FROM meta WHERE key = 'store_id'")?
            .query_row([], |r| r.get(0))?)
    }

    fn add_window(
        &self,
        interval: Interval,
        note: &str,
        created_by: &str,
        at: DateTime<Utc>,
    ) -> Result<StoredWindow, StoreError> {
        super::check_window_length(&interval)?;
        let mut conn = self.conn.lock().expect("store lock");
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO windows (start_utc, end_utc, note, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![ts(interval.start), ts(interval.end), note, created_by, ts(at)],
        )?;
        // Read it back before committing: a row the store cannot read would
        // otherwise be kept, and every later read would trip over it.
        let w = Self::get_window(&tx, tx.last_insert_rowid())?;
        // Stored to the millisecond: compare at that precision.
        if (ts(w.interval.start), ts(w.interval.end)) != (ts(interval.start), ts(interval.end)) {
            return Err(StoreError::Corrupt {
                column: "windows.start_utc",
                value: format!("{} → {} reads back as {:?}", interval.start, interval.end, w.interval),
            });
        }
        tx.commit()?;
        Ok(w)
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
        let mut conn = self.conn.lock().expect("store lock");
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut out = CalendarSync::default();
        for d in desired {
            let (start, end) = (ts(d.interval.start), ts(d.interval.end));
            let found: Option<(i64, String, String, String, Option<String>)> = tx
                .prepare_cached(
                    "SELECT id, start_utc, end_utc, note, cancelled_at FROM windows \
                     WHERE created_by = ?1 AND calendar_key = ?2",
                )?
                .query_row(params![source, d.key], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .optional()?;
            match found {
                None => {
                    tx.prepare_cached(
                        "INSERT INTO windows (start_utc, end_utc, note, created_by, created_at, calendar_key) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![start, end, d.note, source, ts(now), d.key])?;
                    out.added += 1;
                }
                Some((_, s, e, note, None)) if s == start && e == end && note == d.note => out.unchanged += 1,
                Some((id, ..)) => {
                    tx.prepare_cached(
                        "UPDATE windows SET start_utc = ?1, end_utc = ?2, note = ?3, cancelled_at = NULL WHERE id = ?4",
                    )?
                    .execute(params![start, end, d.note, id])?;
                    out.moved += 1;
                }
            }
        }
        let wanted: std::collections::HashSet<&str> = desired.iter().map(|d| d.key.as_str()).collect();
        let live: Vec<(i64, String)> = tx
            .prepare_cached(
                "SELECT id, calendar_key FROM windows INDEXED BY windows_calendar \
                 WHERE created_by = ?1 AND calendar_key IS NOT NULL AND cancelled_at IS NULL AND end_utc > ?2",
            )?
            .query_map(params![source, ts(now)], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (id, key) in live {
            if !wanted.contains(key.as_str()) {
                tx.prepare_cached("UPDATE windows SET cancelled_at = ?1 WHERE id = ?2")?
                    .execute(params![ts(now), id])?;
                out.cancelled += 1;
            }
        }
        tx.commit()?;
        Ok(out)
    }

    fn cancel_window(&self, id: i64, at: DateTime<Utc>) -> Result<CancelledWindow, StoreError> {
        let conn = self.conn.lock().expect("store lock");
        let raw = conn
            .prepare_cached(
                "SELECT id, start_utc, end_utc, note, created_by, created_at, cancelled_at FROM windows WHERE id = ?1",
            )?
            .query_row([id], Self::window_from)
            .optional()?
            .ok_or(StoreError::WindowNotFound(id))?;
        // Cancelling looks only at `cancelled_at`, so a row that cannot be
        // read otherwise can still be cancelled.
        if raw.6.is_some() {
            return Err(StoreError::AlreadyCancelled(id));
        }
        conn.execute(
            "UPDATE windows SET cancelled_at = ?1 WHERE id = ?2",
            params![ts(at), id],
        )?;
        Ok(match Self::get_window(&conn, id) {
            Ok(w) => CancelledWindow::Window(w),
            Err(e) => CancelledWindow::Quarantined(quarantined(raw, &e)),
        })
    }

    fn windows(&self, include_cancelled: bool) -> Result<Vec<StoredWindow>, StoreError> {
        let conn = self.read();
        let sql = if include_cancelled {
            "SELECT id, start_utc, end_utc, note, created_by, created_at, cancelled_at FROM windows ORDER BY id"
        } else {
            "SELECT id, start_utc, end_utc, note, created_by, created_at, cancelled_at FROM windows \
             WHERE cancelled_at IS NULL ORDER BY id"
        };
        let mut stmt = conn.prepare_cached(sql)?;
        let raws = stmt.query_map([], Self::window_from)?.collect::<Result<Vec<_>, _>>()?;
        self.readable(raws)
    }

    fn windows_in(&self, range: Interval) -> Result<Vec<StoredWindow>, StoreError> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(WINDOWS_IN)?;
        let raws = stmt
            .query_map(
                params![
                    ts(range.start - super::MAX_STORED_WINDOW),
                    ts(range.end),
                    ts(range.start)
                ],
                Self::window_from,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        self.readable(raws)
    }

    fn windows_page(&self, q: &WindowPageQuery) -> Result<WindowPage, StoreError> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(if q.include_cancelled {
            WINDOWS_PAGE_ALL
        } else {
            WINDOWS_PAGE_LIVE
        })?;
        let (from, after_id) = q.lower_bound();
        let mut raws = take(
            &mut stmt,
            params![ts(from), after_id, ts(q.ends_after)],
            q.fetch() as u32,
            Self::window_from,
        )?;
        let more = raws.len() as i64 == q.fetch();
        raws.truncate(q.page_len());
        // The look-ahead row was read too.
        self.window_rows
            .fetch_add(u64::from(more), std::sync::atomic::Ordering::Relaxed);
        Ok(WindowPage::new(self.readable(raws)?, more))
    }

    fn window(&self, id: i64) -> Result<StoredWindow, StoreError> {
        let conn = self.read();
        self.window_rows.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self::get_window(&conn, id)
    }

    fn window_rows_read(&self) -> u64 {
        self.window_rows.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn quarantined_windows(&self) -> Result<Vec<QuarantinedWindow>, StoreError> {
        let conn = self.read();
        // Kept until a window is written (by any process), not until any commit.
        let version: i64 = conn
            .prepare_cached("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'window_changes'")?
            .query_row([], |r| r.get(0))?;
        let mut cache = self.quarantine.lock().expect("store lock");
        if let Some((v, list)) = cache.as_ref()
            && *v == version
        {
            return Ok(list.clone());
        }
        // Streamed: one row at a time is held, and the ones that cannot be read.
        let mut stmt = conn.prepare_cached(
            "SELECT id, start_utc, end_utc, note, created_by, created_at, cancelled_at FROM windows \
             WHERE cancelled_at IS NULL ORDER BY id",
        )?;
        let mut rows = stmt.query([])?;
        let (mut read, mut list) = (0u64, Vec::new());
        while let Some(r) = rows.next()? {
            read += 1;
            let raw = Self::window_from(r)?;
            if let Err(e) = Self::to_window(raw.clone()) {
                list.push(quarantined(raw, &e));
            }
        }
        self.window_rows.fetch_add(read, std::sync::atomic::Ordering::Relaxed);
        super::log_quarantined(&list);
        *cache = Some((version, list.clone()));
        Ok(list)
    }

    fn external_change_marker(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .lock()
            .expect("store lock")
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?)
    }

    fn cached(&self, key: &str) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        let row: Option<(String, String)> = self
            .read()
            .prepare_cached("SELECT value, fetched_at FROM cached_answers WHERE key = ?1")?
            .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(v, at)| Ok((v, parse_ts("cached_answers.fetched_at", at)?)))
            .transpose()
    }

    fn put_cached(&self, key: &str, value: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn.lock().expect("store lock").execute(
            "INSERT INTO cached_answers (key, value, fetched_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, fetched_at = excluded.fetched_at",
            params![key, value, ts(at)],
        )?;
        Ok(())
    }

    fn record_events(&self, events: &[(Event, Vec<String>)]) -> Result<usize, StoreError> {
        let mut conn = self.conn.lock().expect("store lock");
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut new = 0;
        for (e, destinations) in events {
            let body = serde_json::to_string(e).expect("an event serialises");
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO events (id, kind, at, body) VALUES (?1, ?2, ?3, ?4)",
                params![e.id, e.kind.as_str(), ts(e.at), body],
            )?;
            if inserted == 1 {
                new += 1;
                for d in destinations {
                    tx.execute(
                        "INSERT INTO deliveries (event_id, destination) VALUES (?1, ?2)",
                        params![e.id, d],
                    )?;
                }
            }
        }
        tx.commit()?;
        Ok(new)
    }

    fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: u32,
    ) -> Result<(String, Vec<PendingDelivery>), StoreError> {
        let claim = super::random_hex(12);
        let mut conn = self.conn.lock().expect("store lock");
        // IMMEDIATE: the select and the claim are one step for every process on the file.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let rows: Vec<(String, String, u32, String)> = {
            let mut stmt = tx.prepare_cached(
                "SELECT d.event_id, d.destination, d.attempts, e.body FROM deliveries d JOIN events e ON e.id = d.event_id \
                 WHERE d.delivered_at IS NULL AND d.dead_at IS NULL \
                 AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?1) \
                 AND (d.claimed_until IS NULL OR d.claimed_until <= ?1) \
                 ORDER BY e.rowid, d.destination LIMIT ?2",
            )?;
            stmt.query_map(params![ts(now), limit], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?
        };
        let until = ts(now + lease);
        let mut out = Vec::with_capacity(rows.len());
        for (id, destination, attempts, body) in rows {
            tx.execute(
                "UPDATE deliveries SET claim = ?3, claimed_until = ?4 WHERE event_id = ?1 AND destination = ?2",
                params![id, destination, claim, until],
            )?;
            out.push(PendingDelivery {
                event: event_body(body)?,
                destination,
                attempts,
            });
        }
        tx.commit()?;
        Ok((claim, out))
    }

    fn finish_delivery(
        &self,
        event_id: &str,
        destination: &str,
        claim: &str,
        outcome: &DeliveryOutcome,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let conn = self.conn.lock().expect("store lock");
        let (delivered, next, dead, error) = outcome.columns(at);
        let (delivered, next, dead) = (delivered.map(ts), next.map(ts), dead.map(ts));
        let n = conn.execute(
            "UPDATE deliveries SET attempts = attempts + 1, delivered_at = ?4, next_attempt_at = ?5, dead_at = ?6, \
             last_error = COALESCE(?7, last_error), last_error_at = CASE WHEN ?7 IS NULL THEN last_error_at ELSE ?8 END, \
             claim = NULL, claimed_until = NULL \
             WHERE event_id = ?1 AND destination = ?2 AND claim = ?3",
            params![event_id, destination, claim, delivered, next, dead, error, ts(at)],
        )?;
        Ok(n == 1)
    }

    fn events(&self, kind: Option<EventKind>, before: Option<&str>, limit: u32) -> Result<Vec<Event>, StoreError> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT body FROM events WHERE (?1 IS NULL OR kind = ?1) \
             AND (?2 IS NULL OR (at, rowid) < (SELECT at, rowid FROM events WHERE id = ?2)) \
             ORDER BY at DESC, rowid DESC",
        )?;
        let bodies: Vec<String> = take(&mut stmt, params![kind.map(EventKind::as_str), before], limit, |r| {
            r.get(0)
        })?;
        bodies.into_iter().map(event_body).collect()
    }

    fn deliveries(&self, state: NotificationState, limit: u32) -> Result<Vec<DeliveryRecord>, StoreError> {
        let conn = self.read();
        let filter = match state {
            NotificationState::Pending => "d.delivered_at IS NULL AND d.dead_at IS NULL",
            NotificationState::Delivered => "d.delivered_at IS NOT NULL",
            NotificationState::Dead => "d.dead_at IS NOT NULL",
        };
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT d.event_id, e.kind, d.destination, d.attempts, e.at, d.delivered_at, d.dead_at, d.next_attempt_at, \
             d.last_error FROM deliveries d JOIN events e ON e.id = d.event_id \
             WHERE {filter} ORDER BY e.at DESC, e.rowid DESC, d.destination"
        ))?;
        type Raw = (String, String, String, u32, String, [Option<String>; 4]);
        let raws: Vec<Raw> = take(&mut stmt, [], limit, |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                [r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?],
            ))
        })?;
        raws.into_iter()
            .map(
                |(event_id, kind, destination, attempts, at, [delivered, dead, next, error])| {
                    Ok(DeliveryRecord {
                        kind: EventKind::parse(&kind).ok_or(StoreError::Corrupt {
                            column: "events.kind",
                            value: kind.clone(),
                        })?,
                        event_id,
                        destination,
                        state,
                        attempts,
                        at: parse_ts("events.at", at)?,
                        delivered_at: opt_ts("deliveries.delivered_at", delivered)?,
                        dead_at: opt_ts("deliveries.dead_at", dead)?,
                        next_attempt_at: opt_ts("deliveries.next_attempt_at", next)?,
                        last_error: error,
                    })
                },
            )
            .collect()
    }

    fn destination_status(&self) -> Result<Vec<DestinationStatus>, StoreError> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT d.destination, MAX(d.delivered_at), \
             (SELECT x.last_error FROM deliveries x WHERE x.destination = d.destination \
              AND x.last_error_at IS NOT NULL ORDER BY x.last_error_at DESC LIMIT 1), MAX(d.last_error_at), \
             SUM(d.delivered_at IS NULL AND d.dead_at IS NULL), SUM(d.dead_at IS NOT NULL) \
             FROM deliveries d GROUP BY d.destination ORDER BY d.destination",
        )?;
        type Raw = (String, Option<String>, Option<String>, Option<String>, u32, u32);
        let raws: Vec<Raw> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })?
            .collect::<Result<_, _>>()?;
        raws.into_iter()
            .map(|(destination, delivered, last_error, error_at, pending, dead)| {
                Ok(DestinationStatus {
                    destination,
                    last_delivered_at: opt_ts("deliveries.delivered_at", delivered)?,
                    last_error,
                    last_error_at: opt_ts("deliveries.last_error_at", error_at)?,
                    pending,
                    dead,
                })
            })
            .collect()
    }

    fn record_projection_day(&self, d: &ProjectionDay) -> Result<(), StoreError> {
        self.conn.lock().expect("store lock").execute(
            "INSERT INTO projection_days (deployment, month, day, timezone, at, partial_hour, month_to_date_usd, \
             projected_usd, alb_actual_usd, alb_projected_usd) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
             ON CONFLICT (deployment, month, day) DO UPDATE SET timezone = excluded.timezone, at = excluded.at, \
             partial_hour = excluded.partial_hour, month_to_date_usd = excluded.month_to_date_usd, \
             projected_usd = excluded.projected_usd, alb_actual_usd = excluded.alb_actual_usd, \
             alb_projected_usd = excluded.alb_projected_usd",
            params![
                d.deployment,
                d.month,
                d.day.to_string(),
                d.timezone,
                ts(d.at),
                d.partial_hour,
                d.month_to_date_usd.to_string(),
                d.projected_usd.to_string(),
                d.alb_actual_usd.to_string(),
                d.alb_projected_usd.to_string(),
            ],
        )?;
        Ok(())
    }

    fn projection_days(&self, deployment: &str, month: &str) -> Result<Vec<ProjectionDay>, StoreError> {
        let conn = self.read();
        let mut q = conn.prepare_cached(
            "SELECT month, day, timezone, at, partial_hour, month_to_date_usd, projected_usd, alb_actual_usd, \
             alb_projected_usd FROM projection_days WHERE deployment = ?1 AND month = ?2 ORDER BY day",
        )?;
        let rows = q.query_map(params![deployment, month], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                [
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                ],
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (month, day, timezone, at, partial_hour, [mtd, projected, alb_actual, alb_projected]) = row?;
            out.push(ProjectionDay {
                deployment: deployment.to_string(),
                month,
                day: chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|_| StoreError::Corrupt {
                    column: "projection_days.day",
                    value: day.clone(),
                })?,
                timezone,
                at: parse_ts("projection_days.at", at)?,
                partial_hour,
                month_to_date_usd: dec("projection_days.month_to_date_usd", mtd)?,
                projected_usd: dec("projection_days.projected_usd", projected)?,
                alb_actual_usd: dec("projection_days.alb_actual_usd", alb_actual)?,
                alb_projected_usd: dec("projection_days.alb_projected_usd", alb_projected)?,
            });
        }
        Ok(out)
    }

    fn open_lifetimes(&self, deployment: &str) -> Result<Vec<Lifetime>, StoreError> {
        let conn = self.read();
        Self::lifetime_rows(
            &conn,
            &format!("SELECT {LIFETIME_COLUMNS} FROM lifetimes WHERE deployment = ?1 AND deleted_at IS NULL"),
            &[&deployment],
        )
        .map(|mut open| {
            open.reverse(); // newest first
            open
        })
    }

    fn lifetimes(&self, deployment: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Lifetime>, StoreError> {
        let conn = self.read();
        Self::lifetime_rows(&conn, &lifetimes_in(), &[&deployment, &ts(from), &ts(to)])
    }

    fn lifetime_by_lb_arn(&self, lb_arn: &str) -> Result<Option<Lifetime>, StoreError> {
        let conn = self.read();
        Ok(Self::lifetime_rows(
            &conn,
            &format!("SELECT {LIFETIME_COLUMNS} FROM lifetimes WHERE lb_arn = ?1"),
            &[&lb_arn],
        )?
        .pop())
    }

    fn insert_lifetime(&self, l: &NewLifetime) -> Result<Lifetime, StoreError> {
        let conn = self.conn.lock().expect("store lock");
        conn.execute(
            "INSERT INTO lifetimes (deployment, name, window_ids, reason, reason_detail, dry_run, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                l.deployment,
                l.name,
                l.window_ids.join(","),
                l.reason.as_str(),
                l.reason_detail,
                l.dry_run,
                ts(l.created_at)
            ],
        )?;
        let id = conn.last_insert_rowid();
        Self::lifetime_rows(
            &conn,
            &format!("SELECT {LIFETIME_COLUMNS} FROM lifetimes WHERE id = ?1"),
            &[&id],
        )?
        .pop()
        .ok_or(StoreError::Corrupt {
            column: "lifetimes.id",
            value: id.to_string(),
        })
    }

    fn update_lifetime(&self, l: &Lifetime) -> Result<(), StoreError> {
        let mut conn = self.conn.lock().expect("store lock");
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE lifetimes SET name = ?2, window_ids = ?3, reason = ?4, reason_detail = ?5, lb_arn = ?6, \
             tg_arn = ?7, listener_arns = ?8, dns_name = ?9, created_at = ?10, active_at = ?11, deleted_at = ?12, \
             dns_changes = ?13 WHERE id = ?1",
            params![
                l.id,
                l.name,
                l.window_ids.join(","),
                l.reason.as_str(),
                l.reason_detail,
                l.lb_arn,
                l.tg_arn,
                l.listener_arns.join(","),
                l.dns_name,
                ts(l.created_at),
                l.active_at.map(ts),
                l.deleted_at.map(ts),
                l.dns_changes.join("\n")
            ],
        )?;
        if let Some(seconds) = super::closed_seconds(l) {
            tx.execute(
                "UPDATE meta SET value = CAST(max(CAST(value AS INTEGER), ?1) AS TEXT) WHERE key = 'ledger_longest_seconds'",
                [seconds],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn record_decision(&self, d: &Decision) -> Result<(), StoreError> {
        let conn = self.conn.lock().expect("store lock");
        conn.execute(
            "INSERT INTO decisions (at, action, window_ids, arn, detail, dry_run, edge_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                ts(d.at),
                d.action.as_str(),
                d.window_ids.join(","),
                d.arn,
                d.detail,
                d.dry_run,
                d.edge_at.map(ts)
            ],
        )?;
        Ok(())
    }

    fn alarm_states(&self) -> Result<BTreeMap<String, StoredAlarm>, StoreError> {
        let conn = self.read();
        let mut stmt =
            conn.prepare_cached("SELECT key, state, since, value_usd, threshold_usd, evaluated_at FROM alarm_states")?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(key, st, since, value, threshold, evaluated)| {
                Ok((
                    key.clone(),
                    StoredAlarm {
                        key,
                        state: state("alarm_states.state", st)?,
                        since: parse_ts("alarm_states.since", since)?,
                        value_usd: dec("alarm_states.value_usd", value)?,
                        threshold_usd: dec("alarm_states.threshold_usd", threshold)?,
                        evaluated_at: parse_ts("alarm_states.evaluated_at", evaluated)?,
                    },
                ))
            })
            .collect()
    }

    fn apply_evaluations(
        &self,
        evaluations: &[Evaluation],
        transitions: &[Transition],
        channels: &[String],
        at: DateTime<Utc>,
    ) -> Result<Vec<StoredTransition>, StoreError> {
        let mut conn = self.conn.lock().expect("store lock");
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for e in evaluations {
            tx.execute(
                "INSERT INTO alarm_states (key, state, since, value_usd, threshold_usd, evaluated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?3) \
                 ON CONFLICT (key) DO UPDATE SET \
                   since = CASE WHEN alarm_states.state = excluded.state THEN alarm_states.since ELSE excluded.since END, \
                   state = excluded.state, value_usd = excluded.value_usd, \
                   threshold_usd = excluded.threshold_usd, evaluated_at = excluded.evaluated_at",
                params![e.key, e.state.to_string(), ts(at), e.value_usd.to_string(), e.threshold_usd.to_string()],
            )?;
        }
        let mut ids = Vec::new();
        for t in transitions {
            let e = &t.evaluation;
            tx.execute(
                "INSERT INTO alarm_transitions (at, month, key, budget, scope, kind, percent, from_state, to_state, \
                 value_usd, threshold_usd) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    ts(t.at),
                    t.month,
                    e.key,
                    e.budget,
                    e.scope,
                    e.kind.as_str(),
                    e.percent.to_string(),
                    t.from.to_string(),
                    t.to.to_string(),
                    e.value_usd.to_string(),
                    e.threshold_usd.to_string()
                ],
            )?;
            let id = tx.last_insert_rowid();
            for c in channels {
                tx.execute(
                    "INSERT INTO notifications (transition_id, channel) VALUES (?1, ?2)",
                    params![id, c],
                )?;
            }
            ids.push(StoredTransition {
                id,
                transition: t.clone(),
            });
        }
        tx.commit()?;
        Ok(ids)
    }

    fn claim_notifications(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: u32,
    ) -> Result<(String, Vec<PendingNotification>), StoreError> {
        let claim = super::random_hex(12);
        let mut conn = self.conn.lock().expect("store lock");
        // IMMEDIATE: the select and the claim are one step for every process on the file.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let rows = {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT n.channel, n.attempts, {} FROM notifications n JOIN alarm_transitions t ON t.id = n.transition_id \
                 WHERE n.delivered_at IS NULL AND n.dead_at IS NULL \
                 AND (n.next_attempt_at IS NULL OR n.next_attempt_at <= ?1) \
                 AND (n.claimed_until IS NULL OR n.claimed_until <= ?1) \
                 ORDER BY t.id, n.channel LIMIT ?2",
                TRANSITION_COLUMNS
                    .split(", ")
                    .map(|c| format!("t.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))?;
            stmt.query_map(params![ts(now), limit], |r| {
                let mut v: [String; 11] = Default::default();
                for (i, slot) in v.iter_mut().enumerate() {
                    *slot = r.get(i + 3)?;
                }
                Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?, (r.get::<_, i64>(2)?, v)))
            })?
            .collect::<Result<Vec<_>, _>>()?
        };
        let until = ts(now + lease);
        let mut out = Vec::with_capacity(rows.len());
        for (channel, attempts, row) in rows {
            tx.execute(
                "UPDATE notifications SET claim = ?3, claimed_until = ?4 WHERE transition_id = ?1 AND channel = ?2",
                params![row.0, channel, claim, until],
            )?;
            out.push(PendingNotification {
                transition: to_transition(row)?,
                channel,
                attempts,
            });
        }
        tx.commit()?;
        Ok((claim, out))
    }

    fn finish_notification(
        &self,
        transition_id: i64,
        channel: &str,
        claim: &str,
        outcome: &DeliveryOutcome,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let conn = self.conn.lock().expect("store lock");
        let (delivered, next, dead, error) = outcome.columns(at);
        let (delivered, next, dead) = (delivered.map(ts), next.map(ts), dead.map(ts));
        let n = conn.execute(
            "UPDATE notifications SET attempts = attempts + 1, delivered_at = ?4, next_attempt_at = ?5, dead_at = ?6, \
             last_error = ?7, claim = NULL, claimed_until = NULL \
             WHERE transition_id = ?1 AND channel = ?2 AND claim = ?3",
            params![transition_id, channel, claim, delivered, next, dead, error],
        )?;
        Ok(n == 1)
    }

    fn notifications(&self, state: NotificationState, limit: u32) -> Result<Vec<NotificationRecord>, StoreError> {
        let conn = self.read();
        let filter = match state {
            NotificationState::Pending => "n.delivered_at IS NULL AND n.dead_at IS NULL",
            NotificationState::Delivered => "n.delivered_at IS NOT NULL",
            NotificationState::Dead => "n.dead_at IS NOT NULL",
        };
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT n.transition_id, n.channel, n.attempts, t.key, t.to_state, t.at, n.delivered_at, n.dead_at, \
             n.next_attempt_at, n.last_error FROM notifications n JOIN alarm_transitions t ON t.id = n.transition_id \
             WHERE {filter} ORDER BY n.transition_id DESC, n.channel"
        ))?;
        type Raw = (
            i64,
            String,
            u32,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let raws: Vec<Raw> = take(&mut stmt, [], limit, |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            ))
        })?;
        raws.into_iter()
            .map(
                |(id, channel, attempts, key, to, at, delivered, dead, next, last_error)| {
                    Ok(NotificationRecord {
                        transition_id: id,
                        channel,
                        state,
                        attempts,
                        summary: format!("{key} → {to}"),
                        at: parse_ts("alarm_transitions.at", at)?,
                        delivered_at: opt_ts("notifications.delivered_at", delivered)?,
                        dead_at: opt_ts("notifications.dead_at", dead)?,
                        next_attempt_at: opt_ts("notifications.next_attempt_at", next)?,
                        last_error,
                    })
                },
            )
            .collect()
    }

    fn delete_dead_notifications(&self) -> Result<usize, StoreError> {
        let conn = self.conn.lock().expect("store lock");
        Ok(conn.execute("DELETE FROM notifications WHERE dead_at IS NOT NULL", [])?)
    }

    fn delete_dead_deliveries(&self) -> Result<usize, StoreError> {
        let conn = self.conn.lock().expect("store lock");
        Ok(conn.execute("DELETE FROM deliveries WHERE dead_at IS NOT NULL", [])?)
    }

    fn rename_channel(&self, from: &str, to: &str) -> Result<usize, StoreError> {
        let conn = self.conn.lock().expect("store lock");
        Ok(conn.execute(
            "UPDATE OR IGNORE notifications SET channel = ?2 WHERE channel = ?1",
            params![from, to],
        )?)
    }

    fn prune(&self, now: DateTime<Utc>, keep: &Retention) -> Result<Pruned, StoreError> {
        let mut conn = self.conn.lock().expect("store lock");
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let decisions = tx.execute("DELETE FROM decisions WHERE at < ?1", [ts(now - keep.decisions)])?;
        let notifications = tx.execute(
            "DELETE FROM notifications WHERE (delivered_at IS NOT NULL AND delivered_at < ?1) \
             OR (dead_at IS NOT NULL AND dead_at < ?1)",
            [ts(now - keep.notifications)],
        )?;
        // A transition goes once it is old and nothing about it is still to be delivered.
        let transitions = tx.execute(
            "DELETE FROM alarm_transitions WHERE at < ?1 AND NOT EXISTS \
             (SELECT 1 FROM notifications n WHERE n.transition_id = alarm_transitions.id \
              AND n.delivered_at IS NULL AND n.dead_at IS NULL)",
            [ts(now - keep.transitions)],
        )?;
        // Delivered or dead notifications of a pruned transition go with it.
        let orphans = tx.execute(
            "DELETE FROM notifications WHERE transition_id NOT IN (SELECT id FROM alarm_transitions)",
            [],
        )?;
        // Events: finished deliveries as notifications are; an event once nothing about it is pending.
        let cutoff = ts(now - keep.notifications);
        let deliveries = tx.execute(
            "DELETE FROM deliveries WHERE (delivered_at IS NOT NULL AND delivered_at < ?1) \
             OR (dead_at IS NOT NULL AND dead_at < ?1)",
            [&cutoff],
        )?;
        tx.execute(
            "DELETE FROM events WHERE at < ?1 AND NOT EXISTS \
             (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)",
            [&cutoff],
        )?;
        tx.commit()?;
        Ok(Pruned {
            decisions,
            transitions,
            notifications: notifications + orphans + deliveries,
        })
    }

    fn put_session(&self, id_sha256: &str, s: &StoredSession, now: DateTime<Utc>) -> Result<(), StoreError> {
        let conn = self.conn.lock().expect("store lock");
        conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", params![ts(now)])?;
        conn.execute(
            "INSERT OR REPLACE INTO sessions (id_sha256, token_name, token_sha256, csrf, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                id_sha256,
                s.token_name,
                s.token_sha256,
                s.csrf,
                ts(s.created_at),
                ts(s.expires_at)
            ],
        )?;
        Ok(())
    }

    fn session(&self, id_sha256: &str, now: DateTime<Utc>) -> Result<Option<StoredSession>, StoreError> {
        let conn = self.read();
        let row = conn
            .prepare_cached(
                "SELECT token_name, token_sha256, csrf, created_at, expires_at FROM sessions \
                 WHERE id_sha256 = ?1 AND expires_at > ?2",
            )?
            .query_row(params![id_sha256, ts(now)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()?;
        row.map(
            |(token_name, token_sha256, csrf, created, expires): (String, String, String, String, String)| {
                Ok(StoredSession {
                    token_name,
                    token_sha256,
                    csrf,
                    created_at: parse_ts("sessions.created_at", created)?,
                    expires_at: parse_ts("sessions.expires_at", expires)?,
                })
            },
        )
        .transpose()
    }

    fn delete_session(&self, id_sha256: &str) -> Result<(), StoreError> {
        let conn = self.conn.lock().expect("store lock");
        conn.execute("DELETE FROM sessions WHERE id_sha256 = ?1", params![id_sha256])?;
        Ok(())
    }

    fn transitions(&self, limit: u32) -> Result<Vec<StoredTransition>, StoreError> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {TRANSITION_COLUMNS} FROM alarm_transitions ORDER BY id DESC"
        ))?;
        let rows = take(&mut stmt, [], limit, transition_row)?;
        rows.into_iter().map(to_transition).collect()
    }

    fn decisions_page(&self, before: Option<i64>, limit: u32) -> Result<Vec<(i64, Decision)>, StoreError> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT at, action, window_ids, arn, detail, dry_run, edge_at, id FROM decisions WHERE id < ?1 \
             ORDER BY id DESC",
        )?;
        let raws = take(&mut stmt, params![before.unwrap_or(i64::MAX)], limit, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, bool>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, i64>(7)?,
            ))
        })?;
        raws.into_iter()
            .map(|(at, action, ids, arn, detail, dry_run, edge, id)| {
                Ok((
                    id,
                    Decision {
                        at: parse_ts("decisions.at", at)?,
                        action: DecisionAction::parse(&action).ok_or(StoreError::Corrupt {
                            column: "decisions.action",
                            value: action.clone(),
                        })?,
                        window_ids: list(&ids),
                        arn,
                        detail,
                        dry_run,
                        edge_at: opt_ts("decisions.edge_at", edge)?,
                    },
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, h, 0, 0).unwrap()
    }

    fn temp(name: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("costd-store-{name}-{}.db", std::process::id()));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
        }
        p
    }

    /// A new store file; the opener opens it (again).
    fn opener(name: &str) -> impl Fn() -> std::sync::Arc<dyn Store> + Sync + use<> {
        let path = temp(name);
        move || std::sync::Arc::new(SqliteStore::open(&path).unwrap()) as std::sync::Arc<dyn Store>
    }

    mod contract {
        use super::opener;
        // A file of its own for each check (they run in parallel).
        crate::store::conformance::conformance!(opener(&format!("contract-{}", crate::store::random_hex(6))));
    }

    /// The quarantine check reads the windows again only after a window is
    /// written (here or by another process), not after any commit: the
    /// daemon writes events and decisions all day.
    #[test]
    fn the_quarantine_check_is_kept_until_a_window_is_written() {
        let path = temp("quarantine-kept");
        let s = SqliteStore::open(&path).unwrap();
        for i in 0..100 {
            let start = t(0) + chrono::Duration::hours(i);
            s.add_window(
                Interval::new(start, start + chrono::Duration::minutes(30)).unwrap(),
                "",
                "cli",
                t(0),
            )
            .unwrap();
        }
        assert!(s.quarantined_windows().unwrap().is_empty());
        let read = s.window_rows_read();
        // Other tables written: the check is not repeated.
        s.record_decision(&Decision {
            at: t(1),
            action: DecisionAction::Create,
            window_ids: vec![],
            arn: None,
            detail: String::new(),
            dry_run: true,
            edge_at: None,
        })
        .unwrap();
        assert!(s.quarantined_windows().unwrap().is_empty());
        assert_eq!(s.window_rows_read(), read, "no window read after a decision");
        // Another process writes a window the check cannot read: found.
        let other = Connection::open(&path).unwrap();
        other
            .execute(
                "INSERT INTO windows (start_utc, end_utc, note, created_by, created_at) VALUES ('soon', 'tomorrow', '', 'hand', 'now')",
                [],
            )
            .unwrap();
        let q = s.quarantined_windows().unwrap();
        assert_eq!(q.len(), 1, "{q:?}");
        assert_eq!(s.window_rows_read(), read + 101);
    }

    /// The reads a page view makes run their cached statement as prepared:
    /// none is compiled again at each run. (SQLite compiles a statement
    /// again, at every new binding, when a bound value shaped its plan: a
    /// `?1 IS NULL OR …` filter, or a parameter matched against a partial
    /// index's condition.)
    #[test]
    fn hot_reads_are_not_prepared_again_at_each_run() {
        type Read = fn(&SqliteStore);
        let at = t(0);
        let reads: [(&str, Read); 7] = [
            ("open_lifetimes", |s| drop(s.open_lifetimes("d").unwrap())),
            ("lifetimes", |s| {
                drop(s.lifetimes("d", t(0), t(0) + chrono::Duration::days(31)).unwrap())
            }),
            ("events", |s| drop(s.events(None, None, 21).unwrap())),
            ("events of a kind", |s| {
                drop(s.events(Some(EventKind::AlbReady), None, 21).unwrap())
            }),
            ("windows_in", |s| {
                drop(
                    s.windows_in(Interval::new(t(0), t(0) + chrono::Duration::days(7)).unwrap())
                        .unwrap(),
                )
            }),
            ("quarantined_windows", |s| drop(s.quarantined_windows().unwrap())),
            ("decisions", |s| drop(s.decisions(10).unwrap())),
        ];
        let _ = at;
        // How often the statements cached on a store's read connections were compiled again.
        let reprepares = |s: &SqliteStore| -> i64 {
            let mut n = 0;
            for r in &s.readers {
                let conn = r.lock().unwrap();
                // SAFETY: the connection is locked and open; sqlite3_next_stmt walks its
                // own list of prepared statements, which nothing else touches meanwhile.
                unsafe {
                    let db = conn.handle();
                    let mut stmt = rusqlite::ffi::sqlite3_next_stmt(db, std::ptr::null_mut());
                    while !stmt.is_null() {
                        n += i64::from(rusqlite::ffi::sqlite3_stmt_status(
                            stmt,
                            rusqlite::ffi::SQLITE_STMTSTATUS_REPREPARE,
                            0,
                        ));
                        stmt = rusqlite::ffi::sqlite3_next_stmt(db, stmt);
                    }
                }
            }
            n
        };
        // Ten runs each; compiling again at every run would count ten.
        let mut again = Vec::new();
        for (name, read) in reads {
            let s = SqliteStore::open(&temp(&format!("reprepare-{}", name.replace(' ', "-")))).unwrap();
            read(&s);
            let before = reprepares(&s);
            for _ in 0..10 {
                read(&s);
            }
            let n = reprepares(&s) - before;
            if n > 1 {
                again.push((name, n));
            }
        }
        assert!(again.is_empty(), "compiled again at each run: {again:?}");
    }

    /// The ledger of a month reads the lifetimes still open and those
    /// deleted since it began, by index, not the deployment's whole history.
    #[test]
    fn the_ledger_of_a_time_range_searches_the_index() {
        let s = SqliteStore::open(&temp("ledger-plan")).unwrap();
        let conn = s.read();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", lifetimes_in()))
            .unwrap()
            .query_map(params!["d", "a", "b"], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for part in [
            "SEARCH lifetimes USING INDEX lifetimes_open (deployment=? AND deleted_at=?)",
            "SEARCH lifetimes USING INDEX lifetimes_created (deployment=? AND created_at>? AND created_at<?)",
        ] {
            assert!(plan.iter().any(|p| p == part), "{part} in {plan:?}");
        }
    }

    /// A page of a listing is an index range from its cursor, cancelled
    /// windows or not: the plans search `windows_live_start` and
    /// `windows_start` and sort nothing (the index is in start, rowid order).
    #[test]
    fn a_page_of_windows_searches_an_index_from_the_cursor() {
        let s = SqliteStore::open(&temp("page-plan")).unwrap();
        let conn = s.read();
        for (sql, index) in [
            (WINDOWS_PAGE_LIVE, "windows_live_start"),
            (WINDOWS_PAGE_ALL, "windows_start"),
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(params!["a", 1, "c"], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(
                plan.iter()
                    .any(|p| p.starts_with(&format!("SEARCH windows USING INDEX {index} (start_utc>?)"))),
                "{plan:?}"
            );
            assert!(
                !plan.iter().any(|p| p.contains("TEMP B-TREE")),
                "sorted afresh: {plan:?}"
            );
        }
    }

    /// The schedule's and the dashboard's read is an index range, whatever
    /// the history: the plan searches `windows_live_start`, and reading the
    /// next two weeks out of 10,000 windows steps over only the rows in it.
    #[test]
    fn reading_a_time_range_searches_the_index_instead_of_scanning() {
        let s = SqliteStore::open(&temp("range-plan")).unwrap();
        let conn = s.read();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {WINDOWS_IN}"))
            .unwrap()
            .query_map(params!["a", "b", "c"], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|p| p.starts_with("SEARCH windows USING INDEX windows_live_start (start_utc>? AND start_utc<?)")),
            "{plan:?}"
        );
        drop(conn);
        // 10,000 windows of 30 minutes every 2 hours from Dec 3 (833 days); a two-week read.
        {
            let mut w = s.conn.lock().unwrap();
            let tx = w.transaction().unwrap();
            for i in 0..10_000i64 {
                let start = t(0) + chrono::Duration::hours(2 * i);
                tx.execute(
                    "INSERT INTO windows (start_utc, end_utc, note, created_by, created_at) VALUES (?1, ?2, '', 'test', ?3)",
                    params![ts(start), ts(start + chrono::Duration::minutes(30)), ts(t(0))],
                )
                .unwrap();
            }
            tx.commit().unwrap();
        }
        let range = Interval::new(t(0) + chrono::Duration::days(100), t(0) + chrono::Duration::days(114)).unwrap();
        let before = s.window_rows_read();
        let found = s.windows_in(range).unwrap();
        // 14 days × 12 windows a day.
        assert_eq!(found.len(), 168);
        assert_eq!(s.window_rows_read() - before, 168);
        // The statement's own counters: no full scan, and steps for the rows in the
        // range (and the 7 days before it the index range starts at), not for 10,000.
        let conn = s.read();
        let mut stmt = conn.prepare_cached(WINDOWS_IN).unwrap();
        let _ = stmt.get_status(rusqlite::StatementStatus::VmStep);
        stmt.reset_status(rusqlite::StatementStatus::VmStep);
        stmt.reset_status(rusqlite::StatementStatus::FullscanStep);
        let n = stmt
            .query_map(
                params![
                    ts(range.start - MAX_STORED_WINDOW_FOR_TEST),
                    ts(range.end),
                    ts(range.start)
                ],
                |_| Ok(()),
            )
            .unwrap()
            .count();
        assert_eq!(n, 168);
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::FullscanStep), 0);
        // 21 days of index entries (252 rows) at most a few dozen VM steps each.
        let steps = stmt.get_status(rusqlite::StatementStatus::VmStep);
        assert!(steps < 252 * 40, "{steps} VM steps for 252 index entries");
    }

    const MAX_STORED_WINDOW_FOR_TEST: chrono::Duration = crate::store::MAX_STORED_WINDOW;

    #[test]
    fn a_store_keeps_one_id_for_life_and_two_stores_differ() {
        let (a, b) = (temp("id-a"), temp("id-b"));
        let id = SqliteStore::open(&a).unwrap().store_id().unwrap();
        // A version 4 UUID.
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!((&id[14..15], id.matches('-').count()), ("4", 4), "{id}");
        assert_eq!(
            SqliteStore::open(&a).unwrap().store_id().unwrap(),
            id,
            "kept on reopening"
        );
        assert_ne!(SqliteStore::open(&b).unwrap().store_id().unwrap(), id);
        // `costd check` reads the schema without migrating.
        assert_eq!(
            schema_versions(&a).unwrap(),
            Some((MIGRATIONS.len() as i64, MIGRATIONS.len() as i64))
        );
        assert_eq!(schema_versions(&temp("id-none")).unwrap(), None);
    }

    #[test]
    fn a_window_that_cannot_be_read_back_is_never_stored() {
        // Year 10000 formats as "+10000-…", which RFC 3339 cannot read back:
        // the insert is rolled back instead of jamming every later read.
        let s = SqliteStore::open(&temp("unreadable")).unwrap();
        let far = Utc.with_ymd_and_hms(10000, 5, 31, 16, 0, 0).unwrap();
        let e = s
            .add_window(
                Interval::new(far, far + chrono::Duration::hours(1)).unwrap(),
                "",
                "cli",
                t(1),
            )
            .unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::Corrupt {
                    column: "windows.start_utc",
                    ..
                }
            ),
            "{e}"
        );
        assert!(s.windows(true).unwrap().is_empty());
        assert!(s.quarantined_windows().unwrap().is_empty());
    }

    #[test]
    fn an_unreadable_row_is_quarantined_and_can_be_cancelled() {
        let path = temp("quarantine");
        let s = SqliteStore::open(&path).unwrap();
        s.add_window(Interval::new(t(9), t(12)).unwrap(), "good", "cli", t(1))
            .unwrap();
        // A row written by hand (or by an older costd) that reads back as nothing valid.
        Connection::open(&path)
            .unwrap()
            .execute(
                "INSERT INTO windows (start_utc, end_utc, note, created_by, created_at) \
                 VALUES ('+10000-05-31T16:00:00.000Z', '+10000-05-31T17:00:00.000Z', 'bad', 'cli', ?1)",
                [ts(t(1))],
            )
            .unwrap();
        let readable = s.windows(false).unwrap();
        assert_eq!(readable.iter().map(|w| w.note.as_str()).collect::<Vec<_>>(), ["good"]);
        let q = s.quarantined_windows().unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!((q[0].id, q[0].note.as_str()), (2, "bad"));
        assert!(q[0].problem.contains("windows.start_utc"), "{}", q[0].problem);
        match s.cancel_window(2, t(2)).unwrap() {
            CancelledWindow::Quarantined(c) => assert_eq!(c.id, 2),
            other => panic!("expected the quarantined row, got {other:?}"),
        }
        assert!(
            s.quarantined_windows().unwrap().is_empty(),
            "a cancelled row is no longer reported"
        );
        assert!(matches!(s.cancel_window(2, t(2)), Err(StoreError::AlreadyCancelled(2))));
        assert_eq!(s.windows(false).unwrap().len(), 1);
    }

    #[test]
    fn migrating_redacts_webhook_urls_kept_by_older_versions() {
        let path = temp("legacy-urls");
        {
            let conn = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..3] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 3).unwrap();
            conn.execute_batch(
                "INSERT INTO alarm_transitions (at, month, key, budget, scope, kind, percent, from_state, to_state, \
                 value_usd, threshold_usd) VALUES ('2026-01-01T00:00:00.000Z', '2026-01', 'b/actual/100', 'b', 'all', \
                 'actual', '100', 'OK', 'ALARM', '120', '100');
                 INSERT INTO notifications (transition_id, channel, attempts, last_error) VALUES \
                 (1, 'webhook:https://hooks.slack.com/services/T0/B0/SECRET', 1, \
                  'error sending request for url (https://hooks.slack.com/services/T0/B0/SECRET)');",
            )
            .unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        let pending = s.notifications(NotificationState::Pending, 10).unwrap();
        assert_eq!(pending[0].channel, "webhook:https://hooks.slack.com");
        assert_eq!(
            pending[0].last_error.as_deref(),
            Some("error sending request for url (https://hooks.slack.com)")
        );
        let raw = std::fs::read(&path).unwrap();
        assert!(
            !String::from_utf8_lossy(&raw).contains("SECRET")
                || {
                    // The old page may linger in the file until SQLite reuses it; the rows no longer hold it.
                    let conn = Connection::open(&path).unwrap();
                    let n: i64 = conn
                .query_row("SELECT count(*) FROM notifications WHERE channel LIKE '%SECRET%' OR last_error LIKE '%SECRET%'", [], |r| r.get(0))
                .unwrap();
                    n == 0
                }
        );
    }

    #[test]
    fn reads_see_the_last_commit_without_waiting_for_the_writer() {
        let path = temp("readers");
        let s = SqliteStore::open(&path).unwrap();
        s.add_window(Interval::new(t(9), t(10)).unwrap(), "committed", "cli", t(0))
            .unwrap();
        // The writer is mid-transaction (its lock held, a row inserted, not committed).
        let mut writer = s.conn.lock().unwrap();
        let tx = writer.transaction().unwrap();
        tx.execute(
            "INSERT INTO windows (start_utc, end_utc, note, created_by, created_at) VALUES (?1, ?2, 'pending', 'cli', ?1)",
            params![ts(t(11)), ts(t(12))],
        )
        .unwrap();
        // A read neither blocks on the held writer lock nor sees the uncommitted row.
        let notes: Vec<String> = s.windows(true).unwrap().into_iter().map(|w| w.note).collect();
        assert_eq!(notes, ["committed"]);
        tx.commit().unwrap();
        drop(writer);
        // Once committed, the next read sees it.
        assert_eq!(s.windows(true).unwrap().len(), 2);
    }

    #[test]
    fn concurrent_first_opens_all_succeed() {
        for round in 0..20 {
            let p = std::env::temp_dir().join(format!("costd-store-race-{round}-{}.db", std::process::id()));
            for s in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{s}", p.display()));
            }
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let p = p.clone();
                    std::thread::spawn(move || SqliteStore::open(&p).map(|s| s.schema_version().unwrap()))
                })
                .collect();
            for h in handles {
                let v = h.join().unwrap();
                assert_eq!(v.ok(), Some(MIGRATIONS.len() as i64), "round {round}");
            }
        }
    }
}
