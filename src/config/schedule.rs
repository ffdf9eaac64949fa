//! `[schedule]` and `[reconcile]`: the demo windows, blackouts, lead and
//! grace, and how often the safety-net reconcile runs.

use crate::schedule::planner::{LifetimeRules, MAX_LEAD_OR_GRACE_MINUTES};
use std::path::Path;

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;

use crate::input::{InputError, TableReader, Value};
use crate::scenario::{parse_instant, parse_timezone};
use crate::schedule::blackout::Blackouts;
use crate::schedule::{CronExpr, Interval, RecurringWindow, WindowSpec, parse_duration};

/// Demo windows and the rules around them.
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    /// Create the ALB this long before a window opens (DNS ready at the start).
    pub lead: Duration,
    /// Keep it this long after a window closes.
    pub grace: Duration,
    /// Longest allowed window.
    pub max_window: Duration,
    /// How far ahead a stored window may start (`max_days_ahead`).
    pub max_ahead: Duration,
    /// Keep the ALB through a gap when that is not dearer than re-creating it.
    pub coalesce: bool,
    /// Windows from the config file.
    pub windows: Vec<WindowSpec>,
    /// Days and spans on which recurring windows do not open.
    pub blackouts: Blackouts,
    /// Subscribed calendars whose events become windows.
    pub calendars: Vec<super::calendars::CalendarSource>,
}

/// Reconcile timing.
#[derive(Debug, Clone)]
pub struct ReconcileConfig {
    /// Safety-net reconcile every this many seconds (besides planned edges).
    pub safety_net_seconds: u32,
    /// Another store's ALB is left alone until its `costd:until` plus this;
    /// after that it is an orphan and is cleaned up.
    pub foreign_margin: Duration,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            lead: LifetimeRules::default().lead,
            grace: LifetimeRules::default().grace,
            max_window: Duration::hours(12),
            max_ahead: Duration::days(366),
            coalesce: LifetimeRules::default().coalesce,
            windows: Vec::new(),
            blackouts: Blackouts::default(),
            calendars: Vec::new(),
        }
    }
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        ReconcileConfig {
            safety_net_seconds: 60,
            foreign_margin: Duration::minutes(15),
        }
    }
}

impl ReconcileConfig {
    pub(super) fn parse(v: Option<Value>) -> Result<Self, InputError> {
        let mut c = ReconcileConfig::default();
        let Some(v) = v else { return Ok(c) };
        let t = v.table()?;
        if let Some(s) = t.get("safety_net_seconds") {
            c.safety_net_seconds = s.u32_in(5, 3600)?;
        }
        if let Some(m) = t.get("foreign_margin_minutes") {
            c.foreign_margin = Duration::minutes(i64::from(m.u32_in(0, 1440)?));
        }
        t.finish()?;
        Ok(c)
    }
}

impl ScheduleConfig {
    /// What a new one-off window must satisfy.
    pub fn window_limits(&self) -> crate::schedule::WindowLimits<'_> {
        crate::schedule::WindowLimits {
            max_window: self.max_window,
            max_ahead: self.max_ahead,
            blackouts: &self.blackouts,
        }
    }
}

fn minutes(t: &TableReader, key: &str, default: Duration, max: u32) -> Result<Duration, InputError> {
    Ok(match t.get(key) {
        Some(v) => Duration::minutes(i64::from(v.u32_in(0, max)?)),
        None => default,
    })
}

pub(super) fn parse(
    t: &TableReader,
    tz: Tz,
    base: &Path,
    secrets: super::Secrets,
) -> Result<ScheduleConfig, InputError> {
    let d = ScheduleConfig::default();
    let lead = minutes(t, "lead_minutes", d.lead, MAX_LEAD_OR_GRACE_MINUTES)?;
    let grace = minutes(t, "grace_minutes", d.grace, MAX_LEAD_OR_GRACE_MINUTES)?;
    let max_hours = match t.get("max_window_hours") {
        Some(v) => v.u32_in(1, 24 * 7)?,
        None => d.max_window.num_hours() as u32,
    };
    let max_window = Duration::hours(i64::from(max_hours));
    let max_ahead = match t.get("max_days_ahead") {
        Some(v) => Duration::days(i64::from(v.u32_in(1, 3660)?)),
        None => d.max_ahead,
    };
    let coalesce = t.get("coalesce").map(|v| v.bool()).transpose()?.unwrap_or(d.coalesce);

    let mut blackouts = Blackouts::default();
    if let Some(v) = t.get("blackout_dates") {
        for item in v.items()? {
            let s = item.str()?;
            let d = NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map_err(|_| item.error(format!("`{s}` is not a date; expected YYYY-MM-DD")))?;
            blackouts.add_date(d, tz);
        }
    }
    if let Some(v) = t.get("blackout_ics") {
        let rel = v.str()?;
        let path = base.join(&rel);
        let text =
            std::fs::read_to_string(&path).map_err(|e| v.error(format!("cannot read {}: {e}", path.display())))?;
        blackouts.add_ics(&text, tz).map_err(|(line, why)| InputError {
            file: path.display().to_string(),
            line,
            key: String::new(),
            message: why,
        })?;
    }

    let mut windows = Vec::new();
    if let Some(v) = t.get("windows") {
        let items = v.items()?;
        let mut bounds = crate::schedule::ScheduleBounds::entries(items.len()).map_err(|e| v.error(e))?;
        for item in items {
            let w = item.table()?;
            let spec = if let Some(c) = w.get("cron") {
                let cron = c
                    .r()
                    .parse_with("a 5-field cron expression such as \"0 9 * * Mon-Fri\"", CronExpr::parse)?;
                bounds.add(&cron).map_err(|e| c.error(e))?;
                let dv = w.require("duration")?;
                let duration = dv.r().parse_with("a duration such as \"3h\"", parse_duration)?;
                if duration > max_window {
                    return Err(dv.error(format!("longer than max_window_hours ({max_hours} h)")));
                }
                let timezone = match w.get("timezone") {
                    Some(z) => z
                        .r()
                        .parse_with("an IANA zone such as \"Asia/Singapore\"", parse_timezone)?,
                    None => tz,
                };
                WindowSpec::Recurring(RecurringWindow {
                    cron,
                    duration,
                    timezone,
                })
            } else if let Some(s) = w.get("start") {
                let what = "an RFC 3339 time with offset such as \"2026-12-03T09:00:00+08:00\"";
                let start = s.r().parse_with(what, parse_instant)?;
                let ev = w.require("end")?;
                let end = ev.r().parse_with(what, parse_instant)?;
                let iv = Interval::new(start, end).ok_or_else(|| ev.error("a window must end after it starts"))?;
                if end - start > max_window {
                    return Err(ev.error(format!("the window is longer than max_window_hours ({max_hours} h)")));
                }
                if let Some(b) = blackouts.overlapping(&iv) {
                    return Err(s.error(format!("the window overlaps a blackout ({b})")));
                }
                WindowSpec::OneOff(iv)
            } else {
                return Err(w.error(
                    "cron",
                    "a window needs `cron` + `duration` (+ `timezone`) or `start` + `end`",
                ));
            };
            w.finish()?;
            windows.push(spec);
        }
    }
    let calendars = super::calendars::parse(t.get("calendars"), tz, max_ahead, base, secrets)?;
    t.finish()?;
    Ok(ScheduleConfig {
        lead,
        grace,
        max_window,
        max_ahead,
        coalesce,
        windows,
        blackouts,
        calendars,
    })
}
