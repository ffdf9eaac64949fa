//! An event in each destination's own format. PURE.
//!
//! - **Slack** (incoming webhook): `text` (the notification's fallback) and
//!   Block Kit `blocks`: a header, the sentence, the facts as fields, and
//!   buttons to the link and the dashboard.
//! - **Microsoft Teams** (a Workflows "post to a channel when a webhook
//!   request is received" URL): a `message` with one Adaptive Card
//!   attachment (TextBlocks, a FactSet, `Action.OpenUrl`s). The retired
//!   Office 365 connector MessageCard is not sent.
//! - **PagerDuty** (Events API v2): `trigger` with `payload.summary`,
//!   `source`, `severity`, `timestamp`, `custom_details`; `resolve` for an
//!   event that closes a condition, with the same `dedup_key` (the
//!   condition's key), so the incident resolves itself.
//! - **Webhook**: the event as JSON (signed by the caller).

use serde_json::{Value, json};

use crate::event::{Event, Severity};

/// Slack's limit on a header's text.
const SLACK_HEADER_CHARS: usize = 150;
/// Slack's limit on a section's text.
const SLACK_TEXT_CHARS: usize = 3000;

/// `&`, `<` and `>` escaped, as Slack's mrkdwn wants them.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn header(e: &Event) -> String {
    format!("{} · {}", e.kind.title(), e.deployment)
}

/// The buttons: the event's link (the demo) and the dashboard.
fn links<'a>(e: &'a Event, dashboard: Option<&'a str>) -> Vec<(&'static str, &'a str)> {
    let mut out = Vec::new();
    if let Some(l) = &e.link {
        out.push(("Open the demo", l.as_str()));
    }
    if let Some(d) = dashboard {
        out.push(("Open the dashboard", d));
    }
    out
}

/// A Slack incoming-webhook body.
pub fn slack(e: &Event, dashboard: Option<&str>) -> Value {
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": crate::event::cut(&header(e), SLACK_HEADER_CHARS), "emoji": false}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": crate::event::cut(&slack_escape(&e.text), SLACK_TEXT_CHARS)}}),
    ];
    if !e.facts.is_empty() {
        let fields: Vec<Value> = e
            .facts
            .iter()
            .map(|f| json!({"type": "mrkdwn", "text": format!("*{}*\n{}", slack_escape(&f.name), slack_escape(&f.value))}))
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    let buttons: Vec<Value> = links(e, dashboard)
        .into_iter()
        .map(|(text, url)| json!({"type": "button", "text": {"type": "plain_text", "text": text}, "url": url}))
        .collect();
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "elements": buttons}));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn",
        "text": format!("costd · {} · {} · {}", e.kind.as_str(), e.severity.as_str(), e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))}]}));
    json!({
        "text": format!("{}: {}", header(e), e.text),
        "blocks": blocks,
    })
}

/// A Teams Workflows webhook body: one Adaptive Card.
pub fn teams(e: &Event, dashboard: Option<&str>) -> Value {
    let mut body = vec![
        json!({"type": "TextBlock", "text": header(e), "weight": "Bolder", "size": "Medium", "wrap": true,
               "color": match e.severity { Severity::Critical => "Attention", Severity::Warning => "Warning", Severity::Info => "Default" }}),
        json!({"type": "TextBlock", "text": e.text, "wrap": true}),
    ];
    if !e.facts.is_empty() {
        let facts: Vec<Value> = e
            .facts
            .iter()
            .map(|f| json!({"title": f.name, "value": f.value}))
            .collect();
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    body.push(json!({"type": "TextBlock", "isSubtle": true, "size": "Small", "wrap": true,
        "text": format!("costd · {} · {} · {}", e.kind.as_str(), e.severity.as_str(), e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))}));
    let actions: Vec<Value> = links(e, dashboard)
        .into_iter()
        .map(|(title, url)| json!({"type": "Action.OpenUrl", "title": title, "url": url}))
        .collect();
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    });
    if !actions.is_empty() {
        card["actions"] = Value::Array(actions);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

/// PagerDuty's severity for ours.
fn pagerduty_severity(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

/// A PagerDuty Events API v2 body. An event closing a condition resolves
/// it; any other triggers, keyed by its condition (or, without one, by the
/// event's own id).
pub fn pagerduty(e: &Event, routing_key: &str, dashboard: Option<&str>) -> Value {
    let dedup_key = e.condition.as_ref().map_or(e.id.as_str(), |c| c.key.as_str());
    if e.condition.as_ref().is_some_and(|c| !c.open) {
        return json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": dedup_key,
        });
    }
    let details: serde_json::Map<String, Value> = e
        .facts
        .iter()
        .map(|f| (f.name.clone(), Value::String(f.value.clone())))
        .chain([("event_id".to_string(), Value::String(e.id.clone()))])
        .collect();
    let mut body = json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": crate::event::cut(&e.text, 1024),
            "source": format!("costd/{}", e.deployment),
            "severity": pagerduty_severity(e.severity),
            "timestamp": e.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "component": "costd",
            "group": e.deployment,
            "class": e.kind.as_str(),
            "custom_details": details,
        },
        "client": "costd",
    });
    if let Some(d) = dashboard {
        body["client_url"] = Value::String(d.to_string());
    }
    let links: Vec<Value> = links(e, dashboard)
        .into_iter()
        .map(|(text, href)| json!({"href": href, "text": text}))
        .collect();
    if !links.is_empty() {
        body["links"] = Value::Array(links);
    }
    body
}

/// The generic webhook's body: the event itself, with `source: "costd"`.
pub fn webhook(e: &Event) -> Vec<u8> {
    let mut v = serde_json::to_value(e).expect("an event serialises");
    v["source"] = Value::String("costd".into());
    serde_json::to_vec(&v).expect("JSON serialises")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;

    fn ready() -> Event {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-23T00:55:03Z")
            .unwrap()
            .to_utc();
        Event::new(
            "demo/alb_ready/17".into(),
            EventKind::AlbReady,
            Severity::Info,
            at,
            "demo",
            "The demo ALB <mlops-demo-1> is ready & serving.".into(),
        )
        .link("http://mlops-demo-1.elb.amazonaws.com/")
        .fact("Window", "09:00–12:00 Asia/Singapore")
    }

    #[test]
    fn slack_has_a_fallback_text_and_escaped_blocks_with_buttons() {
        let v = slack(&ready(), Some("https://costd.example.com/"));
        assert_eq!(
            v,
            json!({
                "text": "Demo ALB ready · demo: The demo ALB <mlops-demo-1> is ready & serving.",
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": "Demo ALB ready · demo", "emoji": false}},
                    {"type": "section", "text": {"type": "mrkdwn", "text": "The demo ALB &lt;mlops-demo-1&gt; is ready &amp; serving."}},
                    {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Window*\n09:00–12:00 Asia/Singapore"}]},
                    {"type": "actions", "elements": [
                        {"type": "button", "text": {"type": "plain_text", "text": "Open the demo"}, "url": "http://mlops-demo-1.elb.amazonaws.com/"},
                        {"type": "button", "text": {"type": "plain_text", "text": "Open the dashboard"}, "url": "https://costd.example.com/"}
                    ]},
                    {"type": "context", "elements": [{"type": "mrkdwn", "text": "costd · alb_ready · info · 2026-11-23T00:55:03Z"}]}
                ]
            })
        );
    }

    #[test]
    fn teams_gets_an_adaptive_card_in_a_message() {
        let v = teams(&ready(), None);
        assert_eq!(v["type"], "message");
        let a = &v["attachments"][0];
        assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
        assert_eq!(a["contentUrl"], Value::Null);
        let card = &a["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
        assert_eq!(card["body"][0]["text"], "Demo ALB ready · demo");
        assert_eq!(
            card["body"][1]["text"],
            "The demo ALB <mlops-demo-1> is ready & serving."
        );
        assert_eq!(
            card["body"][2],
            json!({"type": "FactSet", "facts": [{"title": "Window", "value": "09:00–12:00 Asia/Singapore"}]})
        );
        assert_eq!(
            card["actions"],
            json!([{"type": "Action.OpenUrl", "title": "Open the demo", "url": "http://mlops-demo-1.elb.amazonaws.com/"}])
        );
    }

    #[test]
    fn pagerduty_triggers_and_resolves_one_incident_per_condition() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-23T06:00:00Z")
            .unwrap()
            .to_utc();
        let open = Event::new(
            "demo/transition/4".into(),
            EventKind::BudgetAlarm,
            Severity::Critical,
            at,
            "demo",
            "Budget networking is in ALARM.".into(),
        )
        .condition("demo/budget/networking/actual/100".into(), true)
        .fact("Budget", "networking");
        let v = pagerduty(&open, "R0UT1NGKEY", Some("https://costd.example.com/"));
        assert_eq!(
            v,
            json!({
                "routing_key": "R0UT1NGKEY",
                "event_action": "trigger",
                "dedup_key": "demo/budget/networking/actual/100",
                "payload": {
                    "summary": "Budget networking is in ALARM.",
                    "source": "costd/demo",
                    "severity": "critical",
                    "timestamp": "2026-11-23T06:00:00.000Z",
                    "component": "costd",
                    "group": "demo",
                    "class": "budget_alarm",
                    "custom_details": {"Budget": "networking", "event_id": "demo/transition/4"}
                },
                "client": "costd",
                "client_url": "https://costd.example.com/",
                "links": [{"href": "https://costd.example.com/", "text": "Open the dashboard"}]
            })
        );
        let mut closed = open.clone();
        closed.id = "demo/transition/5".into();
        closed.condition = Some(crate::event::Condition {
            key: "demo/budget/networking/actual/100".into(),
            open: false,
        });
        assert_eq!(
            pagerduty(&closed, "R0UT1NGKEY", None),
            json!({"routing_key": "R0UT1NGKEY", "event_action": "resolve", "dedup_key": "demo/budget/networking/actual/100"})
        );
        // Without a condition the event's own id keys it.
        assert_eq!(pagerduty(&ready(), "K", None)["dedup_key"], "demo/alb_ready/17");
    }

    #[test]
    fn the_webhook_body_is_the_event() {
        let v: Value = serde_json::from_slice(&webhook(&ready())).unwrap();
        assert_eq!(v["source"], "costd");
        assert_eq!(v["id"], "demo/alb_ready/17");
        assert_eq!(v["kind"], "alb_ready");
        assert_eq!(v["severity"], "info");
        assert_eq!(v["at"], "2026-11-23T00:55:03Z");
        assert_eq!(
            v["facts"],
            json!([{"name": "Window", "value": "09:00–12:00 Asia/Singapore"}])
        );
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(back, ready());
    }
}
