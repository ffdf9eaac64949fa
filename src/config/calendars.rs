//! `[[schedule.calendars]]` (subscribed calendars whose events become demo
//! windows) and `[calendar_feed]` (the iCalendar feed costd serves).

use std::path::{Path, PathBuf};

use chrono::Duration;
use chrono_tz::Tz;
use url::Url;

use crate::input::{InputError, Value};
use crate::scenario::parse_timezone;

/// Calendars one deployment may subscribe to.
pub const MAX_CALENDARS: usize = 10;
/// The largest calendar read, in bytes.
pub const MAX_CALENDAR_BYTES: usize = 2 * 1024 * 1024;
/// Events one calendar may hold.
pub const MAX_CALENDAR_EVENTS: usize = 5_000;
/// Occurrences one event may have within the horizon.
pub const MAX_OCCURRENCES_PER_EVENT: u16 = 500;
/// The longest a fetch may take.
pub const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// The longest `match` text, in characters.
const MAX_MATCH_CHARS: usize = 100;

/// Where a calendar is read from.
#[derive(Clone, PartialEq)]
pub enum CalendarLocation {
    /// A secret iCal address, from the environment variable `var`.
    Url {
        /// The address (a secret: never logged; see [`CalendarLocation::describe`]).
        url: Url,
        /// The variable it came from.
        var: String,
    },
    /// A file.
    File(PathBuf),
}

impl CalendarLocation {
    /// Where it is read from, safe to log and show: the variable's name or the path.
    pub fn describe(&self) -> String {
        match self {
            CalendarLocation::Url { url, var } => {
                format!("{} (from ${var})", crate::redact::url(url.as_str()))
            }
            CalendarLocation::File(p) => p.display().to_string(),
        }
    }
}

impl std::fmt::Debug for CalendarLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A subscribed calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarSource {
    /// Its name (windows from it are `created_by = "calendar:<name>"`).
    pub name: String,
    /// Where it is read from.
    pub location: CalendarLocation,
    /// The text an event's summary contains (any case), or one of its categories is.
    pub filter: String,
    /// How often it is read again.
    pub refresh: Duration,
    /// How far ahead its events become windows.
    pub horizon: Duration,
    /// The zone of its floating times and all-day events (unless the file names one).
    pub timezone: Tz,
}

impl CalendarSource {
    /// Whether an event is a demo window.
    pub fn wants(&self, summary: &str, categories: &[String]) -> bool {
        let f = self.filter.to_lowercase();
        summary.to_lowercase().contains(&f) || categories.iter().any(|c| c.trim().to_lowercase() == f)
    }
}

/// `[[schedule.calendars]]`. A calendar whose URL variable is unset is left
/// out with [`super::Secrets::Optional`] and refused with `Required`.
pub(super) fn parse(
    v: Option<Value>,
    tz: Tz,
    max_ahead: Duration,
    base: &Path,
    secrets: super::Secrets,
) -> Result<Vec<CalendarSource>, InputError> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let items = v.items()?;
    if items.len() > MAX_CALENDARS {
        return Err(v.error(format!("{} calendars; at most {MAX_CALENDARS}", items.len())));
    }
    let mut out: Vec<CalendarSource> = Vec::new();
    for item in &items {
        let t = item.table()?;
        let name_v = t.require("name")?;
        let name = name_v.str()?;
        if name.is_empty()
            || name.len() > 40
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(name_v.error(format!(
                "`{name}` is not a calendar name; use 1–40 lowercase letters, digits and dashes"
            )));
        }
        if out.iter().any(|c| c.name == name) {
            return Err(name_v.error(format!("two calendars are named `{name}`")));
        }
        let location = match (t.get("url"), t.get("url_env"), t.get("file")) {
            (Some(u), _, _) => {
                return Err(u.error(
                    "a calendar's iCal address is a secret: put it in an environment variable and name that in `url_env`",
                ));
            }
            (None, Some(_), Some(f)) => return Err(f.error("give one of `url_env` or `file`, not both")),
            (None, Some(e), None) => {
                let var = e.str()?;
                match std::env::var(&var) {
                    Ok(u) if !u.is_empty() => {
                        // The URL is a secret: the error names the variable, never its value.
                        let url =
                            super::parse_http_url(&u).map_err(|_| e.error(format!("{var} is not an http(s) URL")))?;
                        Some(CalendarLocation::Url { url, var })
                    }
                    _ if secrets == super::Secrets::Optional => None,
                    _ => return Err(e.error(format!("environment variable {var} is not set"))),
                }
            }
            (None, None, Some(f)) => Some(CalendarLocation::File(base.join(f.str()?))),
            (None, None, None) => {
                return Err(t.error(
                    "url_env",
                    "give `url_env` (the variable that holds the calendar's iCal address) or `file`",
                ));
            }
        };
        let filter_v = t.require("match")?;
        let filter = filter_v.str()?;
        if filter.trim().is_empty() || filter.chars().count() > MAX_MATCH_CHARS {
            return Err(filter_v.error(format!(
                "give the text a demo event's summary contains, such as \"[demo]\" (1–{MAX_MATCH_CHARS} characters)"
            )));
        }
        let refresh = match t.get("refresh_minutes") {
            Some(r) => Duration::minutes(i64::from(r.u32_in(1, 1440)?)),
            None => Duration::minutes(5),
        };
        let max_horizon = max_ahead.num_days().clamp(1, 366) as u32;
        let horizon = match t.get("horizon_days") {
            Some(h) => Duration::days(i64::from(h.u32_in(1, max_horizon)?)),
            None => Duration::days(i64::from(60.min(max_horizon))),
        };
        let timezone = match t.get("timezone") {
            Some(z) => z
                .r()
                .parse_with("an IANA zone such as \"Europe/Berlin\"", parse_timezone)?,
            None => tz,
        };
        t.finish()?;
        let Some(location) = location else { continue };
        out.push(CalendarSource {
            name,
            location,
            filter,
            refresh,
            horizon,
            timezone,
        });
    }
    Ok(out)
}

/// `[calendar_feed]`: the iCalendar feed of the demo windows.
#[derive(Clone, PartialEq)]
pub struct CalendarFeedConfig {
    /// Days of past windows it holds.
    pub past: Duration,
    /// Days of coming windows it holds.
    pub future: Duration,
    /// The secret of `/calendar/<token>.ics`, for calendar apps that cannot
    /// send a header; none: only `/calendar.ics` with a viewer's token.
    pub token: Option<String>,
}

impl std::fmt::Debug for CalendarFeedConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CalendarFeedConfig")
            .field("past", &self.past)
            .field("future", &self.future)
            .field("token", &self.token.as_ref().map(|_| "<from the environment>"))
            .finish()
    }
}

impl Default for CalendarFeedConfig {
    fn default() -> Self {
        CalendarFeedConfig {
            past: Duration::days(14),
            future: Duration::days(56),
            token: None,
        }
    }
}

/// The shortest secret-URL token accepted, in characters.
pub const MIN_FEED_TOKEN_CHARS: usize = 32;

pub(super) fn parse_feed(v: Option<Value>, secrets: super::Secrets) -> Result<CalendarFeedConfig, InputError> {
    let mut c = CalendarFeedConfig::default();
    let Some(v) = v else { return Ok(c) };
    let t = v.table()?;
    if let Some(p) = t.get("past_days") {
        c.past = Duration::days(i64::from(p.u32_in(0, 92)?));
    }
    if let Some(f) = t.get("future_days") {
        c.future = Duration::days(i64::from(f.u32_in(1, 366)?));
    }
    if let Some(e) = t.get("token_env") {
        let var = e.str()?;
        match std::env::var(&var) {
            Ok(tok)
                if tok.len() >= MIN_FEED_TOKEN_CHARS
                    && tok.len() <= 256
                    && tok.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                c.token = Some(tok)
            }
            Ok(tok) if !tok.is_empty() => {
                return Err(e.error(format!(
                    "{var} must hold {MIN_FEED_TOKEN_CHARS}–256 letters, digits, `-` or `_` (e.g. `openssl rand -hex 24`)"
                )));
            }
            _ if secrets == super::Secrets::Optional => {}
            _ => return Err(e.error(format!("environment variable {var} is not set"))),
        }
    }
    t.finish()?;
    Ok(c)
}
