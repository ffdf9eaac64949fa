//! What costd tells people: events with a stable id, a kind, a severity, a
//! time, the deployment and a sentence, plus the facts a chat card shows.
//! Budget transitions and the schedule's own events (an ALB ready, a window
//! about to start, an ALB deleted, reconciling failing and recovering, a
//! conflict, a price change) are all events; each destination gets each
//! event once, through the store's outbox (the `notify` module derives and
//! delivers them). PURE.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A budget threshold went into ALARM.
    BudgetAlarm,
    /// A budget threshold is OK again.
    BudgetOk,
    /// The demo ALB is active: its URL works.
    AlbReady,
    /// A demo window opens soon.
    WindowSoon,
    /// The demo ALB was deleted, with what its lifetime billed.
    AlbDeleted,
    /// A reconcile step has been failing for longer than the configured time.
    ReconcileFailing,
    /// Reconciling works again.
    ReconcileRecovered,
    /// Another costd owns resources this deployment would create.
    Conflict,
    /// A price refresh moved a rate.
    PriceChanged,
    /// A sample sent by `costd notify test`.
    Test,
}

impl EventKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [EventKind; 10] = [
        EventKind::BudgetAlarm,
        EventKind::BudgetOk,
        EventKind::AlbReady,
        EventKind::WindowSoon,
        EventKind::AlbDeleted,
        EventKind::ReconcileFailing,
        EventKind::ReconcileRecovered,
        EventKind::Conflict,
        EventKind::PriceChanged,
        EventKind::Test,
    ];

    /// The name in config, JSON and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::BudgetAlarm => "budget_alarm",
            EventKind::BudgetOk => "budget_ok",
            EventKind::AlbReady => "alb_ready",
            EventKind::WindowSoon => "window_soon",
            EventKind::AlbDeleted => "alb_deleted",
            EventKind::ReconcileFailing => "reconcile_failing",
            EventKind::ReconcileRecovered => "reconcile_recovered",
            EventKind::Conflict => "conflict",
            EventKind::PriceChanged => "price_changed",
            EventKind::Test => "test",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The kind whose condition this kind closes (a budget back to OK
    /// closes its alarm; a recovery closes a failing reconcile).
    pub fn opened_by(self) -> Option<EventKind> {
        match self {
            EventKind::BudgetOk => Some(EventKind::BudgetAlarm),
            EventKind::ReconcileRecovered => Some(EventKind::ReconcileFailing),
            _ => None,
        }
    }

    /// A short title for a card's header.
    pub fn title(self) -> &'static str {
        match self {
            EventKind::BudgetAlarm => "Budget alarm",
            EventKind::BudgetOk => "Budget OK",
            EventKind::AlbReady => "Demo ALB ready",
            EventKind::WindowSoon => "Demo window starting soon",
            EventKind::AlbDeleted => "Demo ALB deleted",
            EventKind::ReconcileFailing => "Reconcile failing",
            EventKind::ReconcileRecovered => "Reconcile recovered",
            EventKind::Conflict => "Conflict with another costd",
            EventKind::PriceChanged => "Price table changed",
            EventKind::Test => "Test notification",
        }
    }
}

/// How urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record.
    Info,
    /// Someone should look today.
    Warning,
    /// Someone should look now.
    Critical,
}

impl Severity {
    /// The name in config and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Self> {
        [Severity::Info, Severity::Warning, Severity::Critical]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A condition an event opens or closes: a budget threshold in ALARM,
/// reconciling failing. PagerDuty's `dedup_key` is its key, so the event
/// that closes it resolves the incident the opening one triggered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Condition {
    /// Stable per condition, e.g. `demo/budget/networking/forecast/80`.
    pub key: String,
    /// Whether this event opens it (`true`) or closes it.
    pub open: bool,
}

/// The longest event id looked up as a cursor (`before=`, `?older=`); the
/// ids costd makes are far shorter.
pub const MAX_ID_BYTES: usize = 200;

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    /// Stable: the same event always has the same id (receivers can
    /// de-duplicate on it; the outbox stores it once).
    pub id: String,
    /// What happened.
    pub kind: EventKind,
    /// How urgent.
    pub severity: Severity,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The deployment.
    pub deployment: String,
    /// One sentence for people.
    pub text: String,
    /// The condition it opens or closes, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    /// Where to go: the demo's URL for an ALB, else none (cards link the dashboard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The facts a card shows, in order.
    #[serde(default)]
    pub facts: Vec<Fact>,
}

/// One fact of an event: a name and its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Fact {
    /// E.g. `Budget`.
    pub name: String,
    /// E.g. `networking`.
    pub value: String,
}

/// The longest sentence kept (PagerDuty's summary takes 1,024 characters).
pub const MAX_TEXT_CHARS: usize = 1000;
/// The most facts an event carries (a Slack section takes 10 fields).
pub const MAX_FACTS: usize = 10;

impl Event {
    /// An event, its sentence and facts cut to their bounds.
    pub fn new(
        id: String,
        kind: EventKind,
        severity: Severity,
        at: DateTime<Utc>,
        deployment: &str,
        text: String,
    ) -> Self {
        Event {
            id,
            kind,
            severity,
            at,
            deployment: deployment.to_string(),
            text: cut(&text, MAX_TEXT_CHARS),
            condition: None,
            link: None,
            facts: Vec::new(),
        }
    }

    /// With a fact (kept while there are fewer than [`MAX_FACTS`]).
    pub fn fact(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        if self.facts.len() < MAX_FACTS {
            self.facts.push(Fact {
                name: cut(name, 100),
                value: cut(&value.to_string(), 500),
            });
        }
        self
    }

    /// With a link.
    pub fn link(mut self, url: &str) -> Self {
        self.link = Some(url.to_string());
        self
    }

    /// Opening (`open`) or closing a condition.
    pub fn condition(mut self, key: String, open: bool) -> Self {
        self.condition = Some(Condition { key, open });
        self
    }
}

/// `s` cut to `max` characters, with an ellipsis when cut.
pub fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The sample `costd notify test` sends.
pub fn test_event(deployment: &str, destination: &str, at: DateTime<Utc>) -> Event {
    Event::new(
        format!("{deployment}/test/{destination}/{}", at.timestamp_millis()),
        EventKind::Test,
        Severity::Info,
        at,
        deployment,
        format!("A test from costd ({deployment}) to {destination}: if you can read this, the wiring works."),
    )
    .fact("Destination", destination)
    .fact("Sent", at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// The URL people open for an ALB: `https://` when it has an HTTPS listener.
pub fn alb_url(dns_name: &str, https: bool) -> String {
    format!("{}://{dns_name}/", if https { "https" } else { "http" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_severities_round_trip_their_names() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert_eq!(EventKind::parse("alb-ready"), None);
        assert_eq!(Severity::parse("warning"), Some(Severity::Warning));
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Critical);
    }

    #[test]
    fn text_and_facts_are_bounded() {
        let at = chrono::DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let mut e = Event::new("i".into(), EventKind::Test, Severity::Info, at, "d", "x".repeat(5000));
        assert_eq!(e.text.chars().count(), MAX_TEXT_CHARS);
        assert!(e.text.ends_with('…'));
        for i in 0..20 {
            e = e.fact(&format!("f{i}"), i);
        }
        assert_eq!(e.facts.len(), MAX_FACTS);
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "ab…");
    }
}
