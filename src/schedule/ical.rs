//! iCalendar (RFC 5545): a calendar's events read from its text, their
//! recurrences (`RRULE`, `RDATE`, `EXDATE`, overrides by `RECURRENCE-ID`)
//! expanded in the event's own time zone by the `rrule` crate, and text
//! written back (escaping, line folding). PURE: text in, spans out; the range
//! to expand is passed in.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

use super::Interval;
use super::cron::resolve_local;

/// Bounds on what one calendar may hold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// `VEVENT`s in the file.
    pub max_events: usize,
    /// Occurrences one event may expand to within the range asked for.
    pub max_occurrences: u16,
}

/// The limits for files a person wrote by hand (`blackout_ics`).
pub const FILE_LIMITS: Limits = Limits {
    max_events: 10_000,
    max_occurrences: 1_000,
};

/// Components nested deeper than this are refused (VCALENDAR > VEVENT > VALARM is 3).
const MAX_DEPTH: usize = 8;
/// The longest UID kept, in bytes.
pub const MAX_UID_BYTES: usize = 255;

/// What is wrong, and on which line (1-based, the first line of a folded one).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct IcsError {
    /// The line.
    pub line: usize,
    /// What is wrong and what would be valid.
    pub message: String,
}

fn err(line: usize, message: impl Into<String>) -> IcsError {
    IcsError {
        line,
        message: message.into(),
    }
}

/// A date or a time as the file gives it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When {
    /// `VALUE=DATE`: a whole local day.
    Date(NaiveDate),
    /// A time in UTC (`…Z`).
    Utc(DateTime<Utc>),
    /// A local time in a named zone (`TZID=`).
    Zoned(NaiveDateTime, Tz),
    /// A floating local time: in the calendar's zone.
    Floating(NaiveDateTime),
}

impl When {
    /// The instant, with dates and floating times read in `tz`.
    pub fn instant(self, tz: Tz) -> DateTime<Utc> {
        match self {
            When::Date(d) => resolve_local(tz, d.and_hms_opt(0, 0, 0).expect("midnight")),
            When::Utc(t) => t,
            When::Zoned(n, z) => resolve_local(z, n),
            When::Floating(n) => resolve_local(tz, n),
        }
    }

    /// The zone its local time is in (UTC for `…Z`).
    fn zone(self, tz: Tz) -> Tz {
        match self {
            When::Zoned(_, z) => z,
            When::Utc(_) => Tz::UTC,
            When::Date(_) | When::Floating(_) => tz,
        }
    }

    /// The local wall time, if it has one.
    fn local(self) -> Option<NaiveDateTime> {
        match self {
            When::Date(d) => Some(d.and_hms_opt(0, 0, 0).expect("midnight")),
            When::Zoned(n, _) | When::Floating(n) => Some(n),
            When::Utc(_) => None,
        }
    }
}

/// One `VEVENT` as read. An event the file gets wrong keeps its first
/// problem in `problem`, so a caller can ignore events it does not want.
#[derive(Debug, Clone, PartialEq)]
pub struct VEvent {
    /// The line of its `BEGIN:VEVENT`.
    pub line: usize,
    /// `UID`.
    pub uid: String,
    /// `SUMMARY`, unescaped.
    pub summary: String,
    /// `DESCRIPTION`, unescaped.
    pub description: String,
    /// `CATEGORIES`, unescaped.
    pub categories: Vec<String>,
    /// `STATUS:CANCELLED`.
    pub cancelled: bool,
    /// `DTSTART`.
    pub start: Option<When>,
    /// `DTEND`.
    pub end: Option<When>,
    /// `DURATION`.
    pub duration: Option<Duration>,
    /// `RRULE`, as written, and its line.
    pub rrule: Option<(usize, String)>,
    /// `RDATE`s.
    pub rdates: Vec<When>,
    /// `EXDATE`s.
    pub exdates: Vec<When>,
    /// `RECURRENCE-ID`: which occurrence of a recurring event this one replaces.
    pub recurrence_id: Option<When>,
    /// The first thing wrong with it.
    pub problem: Option<IcsError>,
}

impl VEvent {
    fn new(line: usize) -> Self {
        VEvent {
            line,
            uid: String::new(),
            summary: String::new(),
            description: String::new(),
            categories: Vec::new(),
            cancelled: false,
            start: None,
            end: None,
            duration: None,
            rrule: None,
            rdates: Vec::new(),
            exdates: Vec::new(),
            recurrence_id: None,
            problem: None,
        }
    }

    fn problem(&mut self, e: IcsError) {
        self.problem.get_or_insert(e);
    }

    /// Whether it recurs (its occurrences are named by UID and start).
    pub fn recurs(&self) -> bool {
        self.rrule.is_some() || !self.rdates.is_empty() || self.recurrence_id.is_some()
    }
}

/// A calendar's events and its own zone (`X-WR-TIMEZONE`), if it names one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Calendar {
    /// The `VEVENT`s, in file order.
    pub events: Vec<VEvent>,
    /// The zone floating times and all-day events are read in, if the file says.
    pub timezone: Option<Tz>,
    /// Whether the text had a `BEGIN:VCALENDAR` (a fetched page without one
    /// is not a calendar, however few events it has).
    pub vcalendar: bool,
}

/// One occurrence of an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    /// The event's UID.
    pub uid: String,
    /// For a recurring event, the occurrence's original start (its `RECURRENCE-ID`).
    pub recurrence_id: Option<DateTime<Utc>>,
    /// When it happens.
    pub span: Interval,
    /// Whether it is all-day (dates, not times).
    pub all_day: bool,
    /// Its summary (an override's own, if it has one).
    pub summary: String,
    /// Its description.
    pub description: String,
    /// Its categories.
    pub categories: Vec<String>,
}

impl Occurrence {
    /// A stable name for it: the UID, and for a recurring event the
    /// original start in UTC (`<uid>/20261207T010000Z`).
    pub fn key(&self) -> String {
        match self.recurrence_id {
            Some(r) => format!("{}/{}", self.uid, r.format("%Y%m%dT%H%M%SZ")),
            None => self.uid.clone(),
        }
    }
}

/// Unfolds the text into content lines with their first line numbers.
fn unfold(text: &str) -> Vec<(usize, String)> {
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.trim_end_matches('\r');
        if let (Some(rest), Some(last)) = (raw.strip_prefix([' ', '\t']), lines.last_mut()) {
            last.1.push_str(rest);
            continue;
        }
        if raw.is_empty() {
            continue;
        }
        lines.push((i + 1, raw.to_string()));
    }
    lines
}

/// A content line split: name (upper case), parameters (name upper case,
/// value without quotes), value.
struct ContentLine<'a> {
    name: String,
    params: Vec<(String, String)>,
    value: &'a str,
}

impl ContentLine<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

fn split_line(line: &str) -> Option<ContentLine<'_>> {
    // The value starts at the first ':' outside a quoted parameter value.
    let mut quoted = false;
    let mut colon = None;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => {
                colon = Some(i);
                break;
            }
            _ => {}
        }
    }
    let colon = colon?;
    let (head, value) = (&line[..colon], &line[colon + 1..]);
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in head.chars() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    let mut parts = parts.into_iter();
    let name = parts.next()?.to_ascii_uppercase();
    if name.is_empty() {
        return None;
    }
    let params = parts
        .filter_map(|p| {
            let (n, v) = p.split_once('=')?;
            Some((n.to_ascii_uppercase(), v.to_string()))
        })
        .collect();
    Some(ContentLine { name, params, value })
}

/// Reads a calendar. Errors in the file's structure (components that do not
/// nest, too many events) refuse the whole file; an event's own errors are
/// kept in its `problem`.
pub fn parse(text: &str, limits: &Limits) -> Result<Calendar, IcsError> {
    let mut cal = Calendar::default();
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut event: Option<VEvent> = None;
    let mut seen_calendar = false;
    for (n, raw) in unfold(text) {
        let Some(line) = split_line(&raw) else {
            return Err(err(n, format!("`{}` is not a content line NAME:VALUE", clip(&raw))));
        };
        match line.name.as_str() {
            "BEGIN" => {
                let what = line.value.trim().to_ascii_uppercase();
                if stack.len() >= MAX_DEPTH {
                    return Err(err(n, format!("components nested deeper than {MAX_DEPTH}")));
                }
                if what == "VCALENDAR" {
                    seen_calendar = true;
                }
                if what == "VEVENT" {
                    if cal.events.len() >= limits.max_events {
                        return Err(err(
                            n,
                            format!("more than {} events; split the calendar", limits.max_events),
                        ));
                    }
                    if event.is_some() {
                        return Err(err(n, "BEGIN:VEVENT inside a VEVENT"));
                    }
                    event = Some(VEvent::new(n));
                }
                stack.push((what, n));
            }
            "END" => {
                let what = line.value.trim().to_ascii_uppercase();
                match stack.pop() {
                    Some((open, _)) if open == what => {}
                    Some((open, at)) => {
                        return Err(err(n, format!("END:{what} closes BEGIN:{open} of line {at}")));
                    }
                    None => return Err(err(n, format!("END:{what} without BEGIN:{what}"))),
                }
                if what == "VEVENT" {
                    let mut ev = event.take().expect("inside VEVENT");
                    finish_event(&mut ev);
                    cal.events.push(ev);
                }
            }
            _ => {
                let top = stack.last().map(|(s, _)| s.as_str());
                match (top, event.as_mut()) {
                    (Some("VEVENT"), Some(ev)) => event_property(ev, &line, n),
                    (Some("VCALENDAR"), _) if line.name == "X-WR-TIMEZONE" => {
                        // A zone the file gets wrong is no reason to refuse it:
                        // the configured zone is used instead.
                        cal.timezone = zone(line.value.trim());
                    }
                    _ => {}
                }
            }
        }
    }
    if let Some((open, at)) = stack.pop() {
        return Err(err(at, format!("BEGIN:{open} without END:{open}")));
    }
    cal.vcalendar = seen_calendar;
    Ok(cal)
}

fn clip(s: &str) -> String {
    s.chars().take(60).collect()
}

fn finish_event(ev: &mut VEvent) {
    let at = ev.line;
    if ev.start.is_none() {
        ev.problem(err(at, "VEVENT without DTSTART"));
    }
    if ev.end.is_some() && ev.duration.is_some() {
        ev.problem(err(at, "VEVENT with both DTEND and DURATION"));
    }
}

fn event_property(ev: &mut VEvent, line: &ContentLine<'_>, n: usize) {
    let value = line.value;
    match line.name.as_str() {
        "UID" => {
            if value.len() > MAX_UID_BYTES {
                ev.problem(err(n, format!("UID longer than {MAX_UID_BYTES} bytes")));
            }
            ev.uid = value.to_string();
        }
        "SUMMARY" => ev.summary = unescape(value),
        "DESCRIPTION" => ev.description = unescape(value),
        "CATEGORIES" => ev.categories.extend(split_list(value).iter().map(|c| unescape(c))),
        "STATUS" => ev.cancelled = value.trim().eq_ignore_ascii_case("CANCELLED"),
        "DTSTART" | "DTEND" | "RECURRENCE-ID" => match when(value, line) {
            Ok(w) => {
                if line.name == "RECURRENCE-ID" && line.param("RANGE").is_some() {
                    ev.problem(err(n, "RECURRENCE-ID with RANGE is not supported"));
                }
                match line.name.as_str() {
                    "DTSTART" => ev.start = Some(w),
                    "DTEND" => ev.end = Some(w),
                    _ => ev.recurrence_id = Some(w),
                }
            }
            Err(e) => ev.problem(err(n, format!("{}: {e}", line.name))),
        },
        "DURATION" => match parse_duration(value) {
            Some(d) => ev.duration = Some(d),
            None => ev.problem(err(
                n,
                format!("DURATION: `{}` is not a duration such as PT1H30M or P1D", clip(value)),
            )),
        },
        "RRULE" => {
            if ev.rrule.is_some() {
                ev.problem(err(n, "more than one RRULE"));
            }
            ev.rrule = Some((n, value.to_string()));
        }
        "RDATE" | "EXDATE" => {
            if line.param("VALUE").is_some_and(|v| v.eq_ignore_ascii_case("PERIOD")) {
                ev.problem(err(n, format!("{} periods are not supported", line.name)));
                return;
            }
            for v in split_list(value) {
                match when(&v, line) {
                    Ok(w) if line.name == "RDATE" => ev.rdates.push(w),
                    Ok(w) => ev.exdates.push(w),
                    Err(e) => ev.problem(err(n, format!("{}: {e}", line.name))),
                }
            }
        }
        _ => {}
    }
}

/// Splits a comma-separated value, keeping escaped commas.
fn split_list(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            cur.push('\\');
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

/// A TEXT value unescaped (`\\`, `\;`, `\,`, `\n`).
pub fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// A zone by IANA name, by a Mozilla-style path ending in one, or by the
/// Windows name Outlook writes.
pub fn zone(name: &str) -> Option<Tz> {
    let name = name.trim().trim_matches('"');
    if let Ok(z) = name.parse::<Tz>() {
        return Some(z);
    }
    // "/mozilla.org/20050126_1/Europe/Berlin" and the like.
    let parts: Vec<&str> = name.split('/').collect();
    for i in 1..parts.len() {
        if let Ok(z) = parts[i..].join("/").parse::<Tz>() {
            return Some(z);
        }
    }
    WINDOWS_ZONES
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(name))
        .and_then(|(_, iana)| iana.parse().ok())
}

/// Windows zone names as Outlook writes them in `TZID`, to IANA zones
/// (Unicode CLDR's windowsZones, the territory-neutral "001" mapping).
const WINDOWS_ZONES: &[(&str, &str)] = &[
    ("UTC", "Etc/UTC"),
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("FLE Standard Time", "Europe/Kiev"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("Turkey Standard Time", "Europe/Istanbul"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("India Standard Time", "Asia/Calcutta"),
    ("SE Asia Standard Time", "Asia/Bangkok"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("China Standard Time", "Asia/Shanghai"),
    ("Taipei Standard Time", "Asia/Taipei"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("W. Australia Standard Time", "Australia/Perth"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
    ("Eastern Standard Time", "America/New_York"),
    ("Central Standard Time", "America/Chicago"),
    ("Mountain Standard Time", "America/Denver"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("Argentina Standard Time", "America/Buenos_Aires"),
    ("Central Standard Time (Mexico)", "America/Mexico_City"),
];

fn when(value: &str, line: &ContentLine<'_>) -> Result<When, String> {
    let value = value.trim();
    let is_date = line.param("VALUE").is_some_and(|v| v.eq_ignore_ascii_case("DATE"));
    if is_date || value.len() == 8 {
        return NaiveDate::parse_from_str(value, "%Y%m%d")
            .map(When::Date)
            .map_err(|_| format!("`{}` is not a date YYYYMMDD", clip(value)));
    }
    let naive = |v: &str| {
        NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S")
            .map_err(|_| format!("`{}` is not a time YYYYMMDDTHHMMSS", clip(value)))
    };
    if let Some(v) = value.strip_suffix('Z') {
        return Ok(When::Utc(naive(v)?.and_utc()));
    }
    let t = naive(value)?;
    match line.param("TZID") {
        Some(z) => zone(z)
            .map(|tz| When::Zoned(t, tz))
            .ok_or_else(|| format!("unknown TZID `{}`; use an IANA zone such as Europe/Berlin", clip(z))),
        None => Ok(When::Floating(t)),
    }
}

/// `DURATION` (RFC 5545 §3.3.6): `P1D`, `PT1H30M`, `P1W`; not negative.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let s = s.strip_prefix('+').unwrap_or(s);
    let rest = s.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total = Duration::zero();
    let mut read = |part: &str, units: &[(char, i64)]| -> Option<()> {
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let secs = units.iter().find(|(u, _)| *u == c)?.1;
            let n: i64 = num.parse().ok()?;
            total = total.checked_add(&Duration::try_seconds(n.checked_mul(secs)?)?)?;
            num.clear();
        }
        num.is_empty().then_some(())
    };
    read(date, &[('W', 604_800), ('D', 86_400)])?;
    if let Some(t) = time {
        if t.is_empty() {
            return None;
        }
        read(t, &[('H', 3600), ('M', 60), ('S', 1)])?;
    }
    (rest != "T" && !rest.is_empty()).then_some(total)
}

/// The occurrences of `events` overlapping `range`, by start, with dates and
/// floating times read in `tz`. Overrides (`RECURRENCE-ID`) replace the
/// occurrence they name; cancelled events and occurrences are left out.
/// `wanted` picks the events (an override is picked on its own); an event
/// that is not picked is skipped even if it is wrong, one that is and is
/// wrong is an error.
pub fn expand(
    cal: &Calendar,
    range: Interval,
    tz: Tz,
    limits: &Limits,
    wanted: &dyn Fn(&VEvent) -> bool,
) -> Result<Vec<Occurrence>, IcsError> {
    let tz = cal.timezone.unwrap_or(tz);
    // Overrides by (UID, original start), whether they are picked or not: an
    // override that drops the match removes the occurrence.
    let mut overridden: std::collections::HashSet<(&str, DateTime<Utc>)> = std::collections::HashSet::new();
    for ev in &cal.events {
        if let Some(r) = ev.recurrence_id {
            overridden.insert((ev.uid.as_str(), r.instant(tz)));
        }
    }
    let mut out = Vec::new();
    for ev in cal.events.iter().filter(|e| wanted(e)) {
        if let Some(p) = &ev.problem {
            return Err(p.clone());
        }
        if ev.cancelled {
            continue;
        }
        let start = ev.start.expect("checked: DTSTART");
        if let Some(r) = ev.recurrence_id {
            let (s, e) = span_of(ev, start, tz)?;
            push(&mut out, ev, Some(r.instant(tz)), s, e, range);
            continue;
        }
        if !ev.recurs() {
            let (s, e) = span_of(ev, start, tz)?;
            push(&mut out, ev, None, s, e, range);
            continue;
        }
        let starts = occurrence_starts(ev, start, range, tz, limits)?;
        for original in starts {
            if overridden.contains(&(ev.uid.as_str(), original)) {
                continue;
            }
            let end = end_of(ev, start, original, tz)?;
            push(&mut out, ev, Some(original), original, end, range);
        }
    }
    out.sort_by(|a, b| a.span.start.cmp(&b.span.start).then_with(|| a.uid.cmp(&b.uid)));
    Ok(out)
}

fn push(
    out: &mut Vec<Occurrence>,
    ev: &VEvent,
    recurrence_id: Option<DateTime<Utc>>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    range: Interval,
) {
    if start < range.end && end > range.start && end > start {
        out.push(Occurrence {
            uid: ev.uid.clone(),
            recurrence_id,
            span: Interval { start, end },
            all_day: matches!(ev.start, Some(When::Date(_))),
            summary: ev.summary.clone(),
            description: ev.description.clone(),
            categories: ev.categories.clone(),
        });
    }
}

/// A single event's span: DTSTART to DTEND, or + DURATION, or a day for a
/// date; a timed event with neither is refused (it would last no time).
fn span_of(ev: &VEvent, start: When, tz: Tz) -> Result<(DateTime<Utc>, DateTime<Utc>), IcsError> {
    let s = start.instant(tz);
    Ok((s, end_of(ev, start, s, tz)?))
}

/// The end of the occurrence starting at `at` (an instant of the event's
/// DTSTART local time): the same local length as DTSTART → DTEND, so a
/// 09:00–12:00 meeting stays 09:00–12:00 across a DST change.
fn end_of(ev: &VEvent, start: When, at: DateTime<Utc>, tz: Tz) -> Result<DateTime<Utc>, IcsError> {
    let zone = start.zone(tz);
    let local_at = at.with_timezone(&zone).naive_local();
    let nominal = |d: Duration| resolve_local(zone, local_at + d);
    match (ev.end, ev.duration) {
        (Some(end), _) => match (start.local(), end.local(), start, end) {
            (_, _, When::Date(a), When::Date(b)) if b > a => Ok(nominal(b - a)),
            (Some(a), Some(b), When::Zoned(_, za), When::Zoned(_, zb)) if za == zb && b > a => Ok(nominal(b - a)),
            (Some(a), Some(b), When::Floating(_), When::Floating(_)) if b > a => Ok(nominal(b - a)),
            (_, _, When::Date(_), _) | (_, _, _, When::Date(_)) => Err(err(
                ev.line,
                "DTEND must be after DTSTART and of the same kind (date or time)",
            )),
            _ => {
                let exact = end.instant(tz) - start.instant(tz);
                if exact <= Duration::zero() {
                    return Err(err(ev.line, "DTEND must be after DTSTART"));
                }
                Ok(at + exact)
            }
        },
        (None, Some(d)) => {
            if d <= Duration::zero() {
                return Err(err(ev.line, "DURATION must be longer than zero"));
            }
            // Days and weeks are nominal (local days), hours and less exact.
            let days = Duration::days(d.num_days());
            Ok(nominal(days) + (d - days))
        }
        (None, None) => match start {
            When::Date(_) => Ok(nominal(Duration::days(1))),
            _ => Err(err(ev.line, "timed VEVENT without DTEND or DURATION")),
        },
    }
}

/// The original starts of a recurring event's occurrences that may overlap `range`.
fn occurrence_starts(
    ev: &VEvent,
    start: When,
    range: Interval,
    tz: Tz,
    limits: &Limits,
) -> Result<Vec<DateTime<Utc>>, IcsError> {
    let zone = start.zone(tz);
    let rtz = rrule::Tz::Tz(zone);
    let first = start.instant(tz);
    // The longest an occurrence may last, so ones starting before the range
    // but still running are found.
    let longest = end_of(ev, start, first, tz)? - first + Duration::days(1);
    let from = range.start - longest;
    let mut starts: Vec<DateTime<Utc>> = Vec::new();
    if let Some((line, rule)) = &ev.rrule {
        let (rule, until) = split_until(rule);
        let until = match until {
            None => None,
            Some(u) => Some(
                until_instant(&u, zone)
                    .ok_or_else(|| err(*line, format!("RRULE: UNTIL=`{u}` is not a date or time")))?,
            ),
        };
        let parsed: rrule::RRule<rrule::Unvalidated> = rule.parse().map_err(|e| err(*line, format!("RRULE: {e}")))?;
        let set = parsed
            .build(first.with_timezone(&rtz))
            .map_err(|e| err(*line, format!("RRULE: {e}")))?;
        let before = match until {
            Some(u) => range.end.min(u + Duration::seconds(1)),
            None => range.end,
        };
        if before > from {
            let result = set
                .after(from.with_timezone(&rtz))
                .before(before.with_timezone(&rtz))
                .all(limits.max_occurrences);
            if result.limited && result.dates.len() >= usize::from(limits.max_occurrences) {
                return Err(err(
                    *line,
                    format!(
                        "RRULE repeats more than {} times in {} to {}; give it a longer INTERVAL",
                        limits.max_occurrences,
                        range.start.date_naive(),
                        range.end.date_naive()
                    ),
                ));
            }
            starts.extend(result.dates.iter().map(|d| d.with_timezone(&Utc)));
        }
    } else {
        // RDATE alone: DTSTART is an occurrence too.
        starts.push(first);
    }
    starts.extend(ev.rdates.iter().map(|r| r.instant(tz)));
    let excluded: Vec<DateTime<Utc>> = ev.exdates.iter().map(|x| x.instant(tz)).collect();
    starts.retain(|s| !excluded.contains(s) && *s >= from && *s < range.end);
    starts.sort();
    starts.dedup();
    if starts.len() > usize::from(limits.max_occurrences) {
        return Err(err(
            ev.line,
            format!("more than {} occurrences in the range", limits.max_occurrences),
        ));
    }
    Ok(starts)
}

/// The rule without its `UNTIL`, and the `UNTIL` value: costd applies it
/// itself, so a date, a UTC time or a floating time all work whatever DTSTART is.
fn split_until(rule: &str) -> (String, Option<String>) {
    let mut until = None;
    let kept: Vec<&str> = rule
        .split(';')
        .filter(|part| match part.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("UNTIL") => {
                until = Some(v.trim().to_string());
                false
            }
            _ => true,
        })
        .collect();
    (kept.join(";"), until)
}

/// The last instant an occurrence may start at under `UNTIL=value`.
fn until_instant(value: &str, zone: Tz) -> Option<DateTime<Utc>> {
    if value.len() == 8 {
        // A date: occurrences on that local day still count.
        let d = NaiveDate::parse_from_str(value, "%Y%m%d").ok()?;
        let next = d.succ_opt()?.and_hms_opt(0, 0, 0)?;
        return Some(resolve_local(zone, next) - Duration::seconds(1));
    }
    if let Some(v) = value.strip_suffix('Z') {
        return Some(NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").ok()?.and_utc());
    }
    let n = NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S").ok()?;
    Some(resolve_local(zone, n))
}

/// Escapes a TEXT value (RFC 5545 §3.3.11).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Writes an iCalendar object: content lines ended by CRLF and folded at 75
/// octets without splitting a UTF-8 character (RFC 5545 §3.1).
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
}

impl Writer {
    /// One content line, `name:value` (the value already escaped if TEXT).
    pub fn line(&mut self, name: &str, value: &str) -> &mut Self {
        let full = format!("{name}:{value}");
        let mut width = 0;
        for c in full.chars() {
            let n = c.len_utf8();
            // The first line holds 75 octets; continuations hold 74 after their space.
            if width + n > 75 {
                self.out.push_str("\r\n ");
                width = 1;
            }
            self.out.push(c);
            width += n;
        }
        self.out.push_str("\r\n");
        self
    }

    /// A TEXT property, escaped.
    pub fn text(&mut self, name: &str, value: &str) -> &mut Self {
        self.line(name, &escape(value))
    }

    /// A UTC date-time property (`…Z`).
    pub fn utc(&mut self, name: &str, t: DateTime<Utc>) -> &mut Self {
        self.line(name, &t.format("%Y%m%dT%H%M%SZ").to_string())
    }

    /// A DATE property.
    pub fn date(&mut self, name: &str, d: NaiveDate) -> &mut Self {
        self.line(&format!("{name};VALUE=DATE"), &d.format("%Y%m%d").to_string())
    }

    /// The text written.
    pub fn finish(self) -> String {
        self.out
    }
}

/// The local dates `span` covers exactly, if it runs from one local midnight
/// in `tz` to another (an all-day event), first and end (exclusive).
pub fn whole_days(span: Interval, tz: Tz) -> Option<(NaiveDate, NaiveDate)> {
    let s = span.start.with_timezone(&tz);
    let e = span.end.with_timezone(&tz);
    let midnight = |t: &DateTime<Tz>| t.time() == chrono::NaiveTime::MIN;
    (midnight(&s) && midnight(&e) && e.date_naive() > s.date_naive()).then(|| (s.date_naive(), e.date_naive()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    const BERLIN: Tz = chrono_tz::Europe::Berlin;
    const SG: Tz = chrono_tz::Asia::Singapore;
    const ALL: &dyn Fn(&VEvent) -> bool = &|_| true;

    fn cal(events: &str) -> Calendar {
        let text = format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{events}END:VCALENDAR\r\n");
        parse(&text, &FILE_LIMITS).unwrap()
    }

    fn range(from: DateTime<Utc>, days: i64) -> Interval {
        Interval {
            start: from,
            end: from + Duration::days(days),
        }
    }

    #[test]
    fn weekly_event_keeps_its_local_time_across_dst() {
        // Mondays 10:00–11:00 Berlin. 2026-10-19 is CEST (UTC+2): 08:00Z;
        // after the change on 2026-10-25, 2026-10-26 is CET (UTC+1): 09:00Z.
        let c = cal(
            "BEGIN:VEVENT\r\nUID:weekly@x\r\nSUMMARY:[demo] Acme\r\nDTSTART;TZID=Europe/Berlin:20261019T100000\r\nDTEND;TZID=Europe/Berlin:20261019T110000\r\nRRULE:FREQ=WEEKLY;BYDAY=MO\r\nEND:VEVENT\r\n",
        );
        let occ = expand(&c, range(utc(2026, 10, 18, 0, 0), 14), SG, &FILE_LIMITS, ALL).unwrap();
        let spans: Vec<_> = occ.iter().map(|o| (o.span.start, o.span.end)).collect();
        assert_eq!(
            spans,
            vec![
                (utc(2026, 10, 19, 8, 0), utc(2026, 10, 19, 9, 0)),
                (utc(2026, 10, 26, 9, 0), utc(2026, 10, 26, 10, 0)),
            ]
        );
        assert_eq!(occ[0].key(), "weekly@x/20261019T080000Z");
        assert_eq!(occ[1].recurrence_id, Some(utc(2026, 10, 26, 9, 0)));
    }

    #[test]
    fn overrides_exdates_and_cancelled_occurrences() {
        // Daily 09:00 UTC for 5 days; the 2nd excluded (EXDATE), the 3rd
        // moved to 14:00 by an override, the 4th cancelled by an override.
        let c = cal(
            "BEGIN:VEVENT\r\nUID:d\r\nDTSTART:20261201T090000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY;COUNT=5\r\nEXDATE:20261202T090000Z\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:d\r\nRECURRENCE-ID:20261203T090000Z\r\nDTSTART:20261203T140000Z\r\nDTEND:20261203T150000Z\r\nSUMMARY:moved\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:d\r\nRECURRENCE-ID:20261204T090000Z\r\nDTSTART:20261204T090000Z\r\nDTEND:20261204T100000Z\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\n",
        );
        let occ = expand(&c, range(utc(2026, 11, 30, 0, 0), 10), SG, &FILE_LIMITS, ALL).unwrap();
        let got: Vec<_> = occ.iter().map(|o| (o.key(), o.span.start)).collect();
        assert_eq!(
            got,
            vec![
                ("d/20261201T090000Z".to_string(), utc(2026, 12, 1, 9, 0)),
                ("d/20261203T090000Z".to_string(), utc(2026, 12, 3, 14, 0)),
                ("d/20261205T090000Z".to_string(), utc(2026, 12, 5, 9, 0)),
            ]
        );
        assert_eq!(occ[1].summary, "moved");
    }

    #[test]
    fn until_as_a_date_rdate_and_all_day_events() {
        // Yearly all-day 25 Dec until 2027-12-25 (a date), plus an RDATE.
        let c = cal(
            "BEGIN:VEVENT\r\nUID:xmas\r\nDTSTART;VALUE=DATE:20261225\r\nRRULE:FREQ=YEARLY;UNTIL=20271225\r\nRDATE;VALUE=DATE:20261231\r\nEND:VEVENT\r\n",
        );
        let occ = expand(&c, range(utc(2026, 1, 1, 0, 0), 1200), SG, &FILE_LIMITS, ALL).unwrap();
        // In Singapore (UTC+8): 2026-12-25 00:00 local = 12-24 16:00Z, one day long.
        let starts: Vec<_> = occ.iter().map(|o| o.span.start).collect();
        assert_eq!(
            starts,
            vec![
                utc(2026, 12, 24, 16, 0),
                utc(2026, 12, 30, 16, 0),
                utc(2027, 12, 24, 16, 0)
            ]
        );
        assert!(
            occ.iter()
                .all(|o| o.all_day && o.span.end - o.span.start == Duration::days(1))
        );
    }

    #[test]
    fn an_unwanted_broken_event_is_skipped_a_wanted_one_is_an_error() {
        let c = cal(
            "BEGIN:VEVENT\r\nUID:a\r\nSUMMARY:lunch\r\nDTSTART;TZID=Mars/Olympus:20261201T090000\r\nEND:VEVENT\r\n",
        );
        let demo = |e: &VEvent| e.summary.contains("[demo]");
        assert!(
            expand(&c, range(utc(2026, 11, 30, 0, 0), 5), SG, &FILE_LIMITS, &demo)
                .unwrap()
                .is_empty()
        );
        let e = expand(&c, range(utc(2026, 11, 30, 0, 0), 5), SG, &FILE_LIMITS, ALL).unwrap_err();
        assert_eq!(e.line, 6, "{e}");
        assert!(e.message.contains("unknown TZID `Mars/Olympus`"), "{e}");
    }

    #[test]
    fn bounds_on_events_and_occurrences() {
        let limits = Limits {
            max_events: 2,
            max_occurrences: 10,
        };
        let three = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nEND:VEVENT\nBEGIN:VEVENT\nUID:2\nEND:VEVENT\nBEGIN:VEVENT\nUID:3\nEND:VEVENT\nEND:VCALENDAR\n";
        let e = parse(three, &limits).unwrap_err();
        assert_eq!(e.line, 8);
        assert!(e.message.contains("more than 2 events"));
        // Every minute for a day: 1,440 occurrences, more than 10.
        let c = cal(
            "BEGIN:VEVENT\r\nUID:m\r\nDTSTART:20261201T000000Z\r\nDURATION:PT1M\r\nRRULE:FREQ=MINUTELY\r\nEND:VEVENT\r\n",
        );
        let e = expand(&c, range(utc(2026, 12, 1, 0, 0), 1), SG, &limits, ALL).unwrap_err();
        assert!(e.message.contains("repeats more than 10 times"), "{e}");
    }

    #[test]
    fn structure_errors_name_the_line() {
        let e = parse("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nEND:VTODO\n", &FILE_LIMITS).unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (4, "END:VTODO closes BEGIN:VEVENT of line 2")
        );
        let e = parse("BEGIN:VCALENDAR\nnonsense\n", &FILE_LIMITS).unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse("BEGIN:VCALENDAR\nBEGIN:VEVENT\n", &FILE_LIMITS).unwrap_err();
        assert!(e.message.contains("without END:VEVENT"), "{e}");
    }

    #[test]
    fn windows_zone_names_and_quoted_parameters() {
        let c = cal(
            "BEGIN:VEVENT\r\nUID:o\r\nDTSTART;TZID=\"W. Europe Standard Time\":20261201T100000\r\nDTEND;TZID=\"W. Europe Standard Time\":20261201T110000\r\nEND:VEVENT\r\n",
        );
        let occ = expand(&c, range(utc(2026, 11, 30, 0, 0), 5), SG, &FILE_LIMITS, ALL).unwrap();
        // 10:00 CET = 09:00Z.
        assert_eq!(occ[0].span.start, utc(2026, 12, 1, 9, 0));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT1H30M"), Some(Duration::minutes(90)));
        assert_eq!(parse_duration("P1W"), Some(Duration::days(7)));
        assert_eq!(parse_duration("P1DT2H"), Some(Duration::hours(26)));
        assert_eq!(parse_duration("-PT1H"), None);
        assert_eq!(parse_duration("PT"), None);
        assert_eq!(parse_duration("P"), None);
        assert_eq!(parse_duration("PT5X"), None);
    }

    #[test]
    fn writer_escapes_and_folds_at_75_octets() {
        let mut w = Writer::default();
        let long = "é".repeat(60);
        w.text("DESCRIPTION", &format!("a;b,c\\d\n{long}"));
        let out = w.finish();
        for line in out.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        let unfolded = unfold(&out);
        assert_eq!(unfolded.len(), 1);
        let value = unfolded[0].1.strip_prefix("DESCRIPTION:").unwrap();
        assert_eq!(unescape(value), format!("a;b,c\\d\n{long}"));
    }

    #[test]
    fn whole_days_in_a_zone() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let span = Interval {
            start: utc(2026, 12, 24, 16, 0),
            end: utc(2026, 12, 26, 16, 0),
        };
        assert_eq!(whole_days(span, SG), Some((d(2026, 12, 25), d(2026, 12, 27))));
        assert_eq!(whole_days(span, BERLIN), None);
    }
}
