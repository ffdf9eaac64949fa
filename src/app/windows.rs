//! Demo windows added at run time: add, list, cancel. The command line, the
//! API and the dashboard's forms all come here, so a window is parsed,
//! validated, priced and stored the same way, and refused with the same words.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::App;
use crate::schedule::planner::{self, WindowCost};
use crate::schedule::{Interval, WindowRequest, parse_new_window};
use crate::store::{MAX_WINDOW_PAGE, QuarantinedWindow, StoreError, StoredWindow, WindowCursor, WindowPageQuery};

/// The longest note a window may carry, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// A one-off window to add.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWindow {
    /// `now`, RFC 3339 with offset, or local `YYYY-MM-DD HH:MM` in the deployment's zone.
    pub start: String,
    /// When it closes (same forms); or give `duration`.
    pub end: Option<String>,
    /// How long: `3h`, `90m`, `1h30m`.
    pub duration: Option<String>,
    /// What the demo is for (at most 500 characters).
    #[serde(default)]
    pub note: String,
    /// IANA zone for local `start`/`end` without an offset (default: the deployment's).
    pub timezone: Option<String>,
}

/// Why a use case refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The caller's input is invalid: which field, and what would be valid.
    #[error("{field}: {message}")]
    Invalid {
        /// The field (`start`, `end`, `duration`, `note`, `timezone`).
        field: &'static str,
        /// What is wrong and what would be valid.
        message: String,
    },
    /// The store refused (unknown id, already cancelled) or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A stored window as every front end shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WindowView {
    /// Id (`costd windows cancel ID`); the planner calls it `w<id>`.
    pub id: i64,
    /// When it opens.
    pub start: DateTime<Utc>,
    /// When it closes.
    pub end: DateTime<Utc>,
    /// What the demo is for.
    pub note: String,
    /// Who added it: `cli`, `api:<token name>`, `ui:<token name>`.
    pub created_by: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it was cancelled, if it was.
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl From<&StoredWindow> for WindowView {
    fn from(w: &StoredWindow) -> Self {
        WindowView {
            id: w.id,
            start: w.interval.start,
            end: w.interval.end,
            note: w.note.clone(),
            created_by: w.created_by.clone(),
            created_at: w.created_at,
            cancelled_at: w.cancelled_at,
        }
    }
}

/// What the window's ALB costs on its own, in words and in figures.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AlbCost {
    /// One line for people (the CLI prints it).
    pub note: String,
    /// The figures.
    pub estimate: WindowCost,
}

/// A window just added, with what its ALB costs on its own.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AddedWindow {
    /// The window as stored.
    #[serde(flatten)]
    pub window: WindowView,
    /// Its ALB on its own: billed hours, fixed cost, the hour lead and grace add.
    pub alb_cost: AlbCost,
}

/// One ALB lifetime the planner wants.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlannedLifetimeView {
    /// When the ALB should exist from.
    pub start: DateTime<Utc>,
    /// When it should be deleted.
    pub end: DateTime<Utc>,
    /// Windows it serves (`cfg0@…`, `w12`).
    pub windows: Vec<String>,
    /// Gaps it is kept through, with why.
    pub coalesced_gaps: Vec<String>,
}

/// The windows a listing shows by default.
pub const DEFAULT_PAGE: u32 = 100;

/// Which page of stored windows to list (the API's query, the CLI's flags).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PageRequest {
    /// Only windows that end after this: `now`, RFC 3339, or local
    /// `YYYY-MM-DD HH:MM` (default: 24 hours ago).
    pub from: Option<String>,
    /// Windows per page, 1–500 (default 100).
    pub limit: Option<u32>,
    /// A previous page's `next`.
    pub cursor: Option<String>,
}

/// The longest `from` or `cursor` read, in bytes.
const MAX_PAGE_ARG: usize = 64;

impl PageRequest {
    /// The store's query, or which argument is invalid and what is valid.
    fn query(
        &self,
        include_cancelled: bool,
        tz: chrono_tz::Tz,
        now: DateTime<Utc>,
    ) -> Result<WindowPageQuery, AppError> {
        let invalid = |field, message| AppError::Invalid { field, message };
        let too_long = |field: &'static str, v: &str| {
            (v.len() > MAX_PAGE_ARG).then(|| invalid(field, format!("longer than {MAX_PAGE_ARG} bytes")))
        };
        let ends_after = match &self.from {
            None => now - Duration::hours(24),
            Some(f) => {
                if let Some(e) = too_long("from", f) {
                    return Err(e);
                }
                crate::schedule::parse_when(f, tz, now).map_err(|m| invalid("from", m))?
            }
        };
        let limit = self.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_WINDOW_PAGE).contains(&limit) {
            return Err(invalid(
                "limit",
                format!("{limit} is out of range; expected 1–{MAX_WINDOW_PAGE}"),
            ));
        }
        let after = match &self.cursor {
            None => None,
            Some(c) => {
                if let Some(e) = too_long("cursor", c) {
                    return Err(e);
                }
                Some(parse_cursor(c).ok_or_else(|| {
                    invalid(
                        "cursor",
                        format!("`{c}` is not a cursor; pass a previous page's `next` as it was given"),
                    )
                })?)
            }
        };
        Ok(WindowPageQuery {
            ends_after,
            after,
            include_cancelled,
            limit,
        })
    }
}

/// A cursor as given out: the last window's start (Unix milliseconds) and id, `<ms>.<id>`.
fn cursor_text(c: WindowCursor) -> String {
    format!("{}.{}", c.start.timestamp_millis(), c.id)
}

fn parse_cursor(s: &str) -> Option<WindowCursor> {
    let (ms, id) = s.split_once('.')?;
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(ms) || !digits(id) {
        return None;
    }
    Some(WindowCursor {
        start: DateTime::from_timestamp_millis(ms.parse().ok()?)?,
        id: id.parse().ok()?,
    })
}

/// A page of stored windows, quarantined rows, and the ALB lifetimes planned for the next 7 days.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WindowList {
    /// Stored windows that end after `from`, by start then id, one page.
    pub windows: Vec<WindowView>,
    /// The cursor of the next page (`cursor=`), or null on the last.
    pub next: Option<String>,
    /// Stored rows that cannot be read: skipped, cancellable by id.
    pub quarantined: Vec<QuarantinedWindow>,
    /// The ALB lifetimes planned from now for the next 7 days (config and stored windows).
    pub planned_lifetimes: Vec<PlannedLifetimeView>,
}

/// A cancelled window: readable, or a quarantined row.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum CancelledView {
    /// A readable window.
    Window(WindowView),
    /// A row that could not be read, now cancelled.
    Quarantined(QuarantinedWindow),
}

/// What a window would cost before it is booked.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WindowQuote {
    /// When it would open.
    pub start: DateTime<Utc>,
    /// When it would close.
    pub end: DateTime<Utc>,
    /// Its ALB on its own: billed hours, fixed cost, the hour lead and grace add.
    pub alb_cost: AlbCost,
}

/// Prices a one-off window without booking it: parsed, validated and refused
/// with the same words as [`add`], nothing stored.
pub fn quote(app: &App, req: &NewWindow, now: DateTime<Utc>) -> Result<WindowQuote, AppError> {
    let iv = validate(app, req, now)?;
    let settings = app.prices.get().settings.clone();
    let estimate = planner::window_cost(iv, &settings, now);
    Ok(WindowQuote {
        start: iv.start,
        end: iv.end,
        alb_cost: AlbCost {
            note: estimate.describe(&settings),
            estimate,
        },
    })
}

/// Parses and validates a window request against the deployment's limits.
fn validate(app: &App, req: &NewWindow, now: DateTime<Utc>) -> Result<Interval, AppError> {
    let tz = match &req.timezone {
        Some(z) => crate::scenario::parse_timezone(z).map_err(|message| AppError::Invalid {
            field: "timezone",
            message,
        })?,
        None => app.cfg.timezone,
    };
    if req.note.chars().count() > MAX_NOTE_CHARS {
        return Err(AppError::Invalid {
            field: "note",
            message: format!("the note is longer than {MAX_NOTE_CHARS} characters"),
        });
    }
    let request = WindowRequest {
        start: &req.start,
        end: req.end.as_deref(),
        duration: req.duration.as_deref(),
    };
    parse_new_window(request, tz, now, &app.cfg.schedule.window_limits()).map_err(|e| AppError::Invalid {
        field: e.field,
        message: e.message,
    })
}

/// Adds a one-off window: parse → validate → price → store → wake the daemon.
/// `by` says who (`cli`, `api:<token>`, `ui:<token>`).
pub fn add(app: &App, req: &NewWindow, by: &str, now: DateTime<Utc>) -> Result<AddedWindow, AppError> {
    let iv = validate(app, req, now)?;
    // Priced before it is stored: the settings come from the prices in use.
    let settings = app.prices.get().settings.clone();
    let stored = app.store.add_window(iv, &req.note, by, now)?;
    tracing::info!(window = stored.id, by, "window added");
    app.schedule_changed();
    let estimate = planner::window_cost(iv, &settings, stored.created_at);
    Ok(AddedWindow {
        window: WindowView::from(&stored),
        alb_cost: AlbCost {
            note: estimate.describe(&settings),
            estimate,
        },
    })
}

/// Cancels a stored window (or a quarantined row) by id.
pub fn cancel(app: &App, id: i64, by: &str, now: DateTime<Utc>) -> Result<CancelledView, AppError> {
    // A calendar's window follows its event: the next refresh would bring it back.
    if let Ok(w) = app.store.window(id)
        && let Some(name) = w.created_by.strip_prefix("calendar:")
    {
        return Err(AppError::Invalid {
            field: "id",
            message: format!(
                "window {id} comes from the calendar `{name}`; cancel or move the event in that calendar \
                 (costd follows it at the next refresh)"
            ),
        });
    }
    let c = app.store.cancel_window(id, now)?;
    tracing::info!(window = id, by, "window cancelled");
    app.schedule_changed();
    Ok(match c {
        crate::store::CancelledWindow::Window(w) => CancelledView::Window(WindowView::from(&w)),
        crate::store::CancelledWindow::Quarantined(q) => CancelledView::Quarantined(q),
    })
}

/// A page of stored windows (cancelled ones too when asked), quarantined
/// rows, and the ALB lifetimes the planner wants from `now` for the next 7
/// days. Reads the page and the days planned, never the whole history.
pub fn list(
    app: &App,
    include_cancelled: bool,
    page: &PageRequest,
    now: DateTime<Utc>,
) -> Result<WindowList, AppError> {
    let q = page.query(include_cancelled, app.cfg.timezone, now)?;
    let stored = app.store.windows_page(&q)?;
    let quarantined = app.store.quarantined_windows()?;
    let demo = demo_windows(&app.cfg, app.store.as_ref(), now, now + Duration::days(7))?;
    // The ALB that exists now (the real one, or the dry run's) keeps its start.
    let active_since = app
        .store
        .open_lifetimes(&app.cfg.deployment)?
        .into_iter()
        .filter(|l| l.dry_run == app.cfg.dry_run)
        .map(|l| l.created_at)
        .min();
    let plan = planner::plan(now, &demo, active_since, &app.prices.get().settings);
    let planned_lifetimes = plan
        .current
        .iter()
        .chain(plan.upcoming.iter())
        .filter(|l| l.start < now + Duration::days(7))
        .map(|l| PlannedLifetimeView {
            start: l.start,
            end: l.end,
            windows: l.window_ids.clone(),
            coalesced_gaps: l.coalesced_gaps.iter().map(|g| g.why.clone()).collect(),
        })
        .collect();
    Ok(WindowList {
        windows: stored.windows.iter().map(WindowView::from).collect(),
        next: stored.next.map(cursor_text),
        quarantined,
        planned_lifetimes,
    })
}

/// The demo windows overlapping `[at − longest window, until)`.
pub fn demo_windows(
    cfg: &crate::config::Config,
    store: &dyn crate::store::Store,
    at: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<planner::DemoWindow>, StoreError> {
    let s = &cfg.schedule;
    let back = s.max_window + s.lead + s.grace + Duration::days(1);
    let span = Interval {
        start: at - back,
        end: until.max(at + Duration::days(1)),
    };
    let stored: Vec<(i64, Interval)> = store
        .windows_in(span)?
        .into_iter()
        .map(|w| (w.id, w.interval))
        .collect();
    Ok(planner::windows_in(&s.windows, &stored, &s.blackouts, span))
}
