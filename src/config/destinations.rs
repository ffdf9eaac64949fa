//! `[[notify]]`: where events go (Slack, Microsoft Teams, PagerDuty or a
//! signed webhook), each with a filter on event kinds and severity. URLs of
//! chat webhooks and PagerDuty routing keys are secrets: they come from the
//! environment only, and are never logged or stored.

use std::collections::BTreeSet;

use url::Url;

use super::parse_http_url;
use crate::event::{EventKind, Severity};
use crate::input::{InputError, Value};

/// The kinds of destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestinationKind {
    /// A Slack incoming webhook.
    Slack,
    /// A Microsoft Teams Workflows webhook.
    Teams,
    /// PagerDuty's Events API v2.
    PagerDuty,
    /// Any HTTP endpoint taking costd's JSON event, optionally signed.
    Webhook,
}

impl DestinationKind {
    /// The name in config.
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationKind::Slack => "slack",
            DestinationKind::Teams => "teams",
            DestinationKind::PagerDuty => "pagerduty",
            DestinationKind::Webhook => "webhook",
        }
    }
}

/// PagerDuty's Events API v2.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// The most `[[notify]]` entries.
pub const MAX_DESTINATIONS: usize = 20;

/// One destination.
#[derive(Clone, PartialEq)]
pub struct Destination {
    /// Its name in the outbox, the logs, the API and `costd notify test --to`.
    pub name: String,
    /// What it speaks.
    pub kind: DestinationKind,
    /// Where to POST (a secret for Slack, Teams and webhooks).
    pub url: Url,
    /// PagerDuty's routing key (a secret).
    pub routing_key: Option<String>,
    /// A webhook's HMAC-SHA256 key (`X-Costd-Signature`).
    pub secret: Option<String>,
    /// The event kinds it gets (`None`: all).
    pub kinds: Option<BTreeSet<EventKind>>,
    /// The least severity it gets.
    pub min_severity: Severity,
    /// Seconds one attempt may take.
    pub timeout_seconds: u32,
    /// Attempts before a delivery becomes a dead letter.
    pub max_attempts: u32,
}

impl Destination {
    /// Whether it wants `kind` at `severity`. A closing event (back to OK, a
    /// recovery) goes wherever its opening one went, so a PagerDuty
    /// incident resolves even though the closing event is only `info`.
    pub fn wants(&self, e: &crate::event::Event) -> bool {
        let closing = e.condition.as_ref().is_some_and(|c| !c.open);
        let kind_ok = self
            .kinds
            .as_ref()
            .is_none_or(|k| k.contains(&e.kind) || (closing && e.kind.opened_by().is_some_and(|o| k.contains(&o))));
        kind_ok && (closing || e.severity >= self.min_severity)
    }
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &crate::redact::url(self.url.as_str()))
            .field(
                "routing_key",
                &self.routing_key.as_ref().map(|_| "<from the environment>"),
            )
            .field("signed", &self.secret.is_some())
            .field("kinds", &self.kinds)
            .field("min_severity", &self.min_severity)
            .finish()
    }
}

/// `[[notify]]`: each destination, names unique.
pub(super) fn parse(v: Option<Value>, secrets: super::Secrets) -> Result<Vec<Destination>, InputError> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let items = v.items()?;
    if items.len() > MAX_DESTINATIONS {
        return Err(v.error(format!("{} destinations; at most {MAX_DESTINATIONS}", items.len())));
    }
    let mut out: Vec<Destination> = Vec::new();
    for item in &items {
        let Some(d) = destination(item, secrets)? else {
            continue;
        };
        if out.iter().any(|o| o.name == d.name) {
            return Err(item.error(format!(
                "two destinations are named `{}` (by default a destination is named after its kind); give each a `name`",
                d.name
            )));
        }
        out.push(d);
    }
    Ok(out)
}

/// One destination; `None` when a secret's variable is unset and secrets are optional.
fn destination(item: &Value, secrets: super::Secrets) -> Result<Option<Destination>, InputError> {
    let t = item.table()?;
    let kind_v = t.require("kind")?;
    let kind = match kind_v.str()?.as_str() {
        "slack" => DestinationKind::Slack,
        "teams" => DestinationKind::Teams,
        "pagerduty" => DestinationKind::PagerDuty,
        "webhook" => DestinationKind::Webhook,
        other => {
            return Err(kind_v.error(format!(
                "`{other}` is not a destination kind; expected slack, teams, pagerduty or webhook"
            )));
        }
    };
    // Some(None): the variable is unset and secrets are optional (`costd windows`, `costd check`).
    let env = |e: &Value| -> Result<Option<String>, InputError> {
        let var = e.str()?;
        match (std::env::var(&var), secrets) {
            (Ok(v), _) if !v.is_empty() => Ok(Some(v)),
            (_, super::Secrets::Optional) => Ok(None),
            (_, super::Secrets::Required) => Err(e.error(format!("environment variable {var} is not set"))),
        }
    };
    let url = match (kind, t.get("url"), t.get("url_env")) {
        (DestinationKind::Slack | DestinationKind::Teams, Some(u), _) => {
            return Err(u.error(format!(
                "a {} webhook URL is a secret: put it in an environment variable and name that in `url_env`",
                kind.as_str()
            )));
        }
        (_, Some(_), Some(e)) => return Err(e.error("give one of `url` or `url_env`, not both")),
        (_, None, Some(e)) => {
            let var = e.str()?;
            let Some(u) = env(&e)? else { return Ok(None) };
            // The URL is a secret: the error names the variable, never its value.
            parse_http_url(&u).map_err(|_| e.error(format!("{var} is not an http(s) URL")))?
        }
        (_, Some(u), None) => super::http_url(&u)?,
        (DestinationKind::PagerDuty, None, None) => Url::parse(PAGERDUTY_EVENTS_URL).expect("a URL"),
        (_, None, None) => return Err(t.error("url_env", "give `url_env`: the variable that holds the URL")),
    };
    let routing_key = match (kind, t.get("routing_key_env")) {
        (DestinationKind::PagerDuty, Some(e)) => {
            let var = e.str()?;
            let Some(k) = env(&e)? else { return Ok(None) };
            if k.len() != 32 || !k.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(e.error(format!(
                    "{var} is not a PagerDuty routing key (32 letters and digits, from the service's Events API v2 integration)"
                )));
            }
            Some(k)
        }
        (DestinationKind::PagerDuty, None) => {
            return Err(t.error(
                "routing_key_env",
                "give `routing_key_env`: the variable that holds the routing key",
            ));
        }
        (_, Some(e)) => return Err(e.error("only a pagerduty destination takes a routing key")),
        (_, None) => None,
    };
    let secret = match (kind, t.get("secret_env")) {
        (DestinationKind::Webhook, Some(e)) => match env(&e)? {
            Some(s) if s.len() < 16 => {
                return Err(e.error(format!("{} must hold at least 16 characters", e.str()?)));
            }
            Some(s) => Some(s),
            None => return Ok(None),
        },
        (_, Some(e)) => return Err(e.error("only a webhook destination is signed")),
        (_, None) => None,
    };
    let name = match t.get("name") {
        Some(n) => {
            let s = n.str()?;
            if s.is_empty() || s.len() > 64 || !s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
                return Err(n.error("1–64 letters, digits, `-`, `_` or `.`"));
            }
            s
        }
        None => kind.as_str().to_string(),
    };
    let kinds = match t.get("kinds") {
        None => None,
        Some(v) => {
            let mut set = BTreeSet::new();
            let items = v.items()?;
            if items.len() > EventKind::ALL.len() {
                return Err(v.error(format!(
                    "{} entries; there are {} event kinds, list each at most once",
                    items.len(),
                    EventKind::ALL.len()
                )));
            }
            for k in items {
                let s = k.str()?;
                let parsed = EventKind::parse(&s).ok_or_else(|| {
                    k.error(format!(
                        "`{s}` is not an event kind; expected one of {}",
                        EventKind::ALL.map(EventKind::as_str).join(", ")
                    ))
                })?;
                set.insert(parsed);
            }
            if set.is_empty() {
                return Err(v.error("an empty list sends nothing; leave `kinds` out to send every kind"));
            }
            Some(set)
        }
    };
    let min_severity = match t.get("min_severity") {
        Some(v) => {
            let s = v.str()?;
            Severity::parse(&s)
                .ok_or_else(|| v.error(format!("`{s}` is not a severity; expected info, warning or critical")))?
        }
        // Paging for information would wake people for nothing.
        None if kind == DestinationKind::PagerDuty => Severity::Warning,
        None => Severity::Info,
    };
    let timeout_seconds = match t.get("timeout_seconds") {
        Some(v) => v.u32_in(1, 60)?,
        None => 5,
    };
    let max_attempts = match t.get("max_attempts") {
        Some(v) => v.u32_in(1, 100)?,
        None => 10,
    };
    t.finish()?;
    Ok(Some(Destination {
        name,
        kind,
        url,
        routing_key,
        secret,
        kinds,
        min_severity,
        timeout_seconds,
        max_attempts,
    }))
}

/// `[events]`: when the schedule's events are due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSettings {
    /// *Window starting soon* this long before a window opens (`window_soon_minutes`; 0: never).
    pub window_soon: Option<chrono::Duration>,
    /// *Reconcile failing* once a failure has lasted this long (`reconcile_failing_after_seconds`).
    pub reconcile_failing_after: chrono::Duration,
}

impl Default for EventSettings {
    /// 15 minutes' notice of a window; a failure announced after 5 minutes.
    fn default() -> Self {
        EventSettings {
            window_soon: Some(chrono::Duration::minutes(15)),
            reconcile_failing_after: chrono::Duration::minutes(5),
        }
    }
}

/// `[events]`, over [`EventSettings::default`].
pub(super) fn parse_events(v: Option<Value>) -> Result<EventSettings, InputError> {
    let mut s = EventSettings::default();
    let Some(v) = v else { return Ok(s) };
    let t = v.table()?;
    if let Some(m) = t.get("window_soon_minutes") {
        let m = m.u32_in(0, 1440)?;
        s.window_soon = (m > 0).then(|| chrono::Duration::minutes(i64::from(m)));
    }
    if let Some(f) = t.get("reconcile_failing_after_seconds") {
        s.reconcile_failing_after = chrono::Duration::seconds(i64::from(f.u32_in(10, 86_400)?));
    }
    t.finish()?;
    Ok(s)
}
