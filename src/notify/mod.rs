//! The notification outbox's one delivery worker. Budget transitions and
//! their notifications are written in one transaction (the projection job);
//! this worker claims due rows, POSTs them, and records how each attempt
//! ended. A claim is a lease in the store, so two runs, two workers or two
//! processes never send the same notification at the same time, and a crash
//! mid-send only delays it until the lease expires.
//!
//! Receivers can check a body came from costd: with `secret_env` set, each
//! POST carries `X-Costd-Timestamp` (Unix seconds) and
//! `X-Costd-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.

pub mod format;
pub mod schedule;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Destination, DestinationKind, WebhookConfig};
use crate::event::{Event, EventKind, Severity};
use crate::store::{DeliveryOutcome, PendingNotification, Store, StoreError, StoredTransition};

/// The JSON body of one notification.
#[derive(Debug, Serialize)]
pub struct WebhookBody<'a> {
    /// Always `costd`.
    pub source: &'static str,
    /// The deployment.
    pub deployment: &'a str,
    /// A stable id: the same notification always has the same id (receivers can de-duplicate on it).
    pub id: String,
    /// One line for chat tools.
    pub text: String,
    /// The transition with its values.
    pub transition: &'a StoredTransition,
}

/// The body for one transition.
pub fn body(deployment: &str, t: &StoredTransition) -> Vec<u8> {
    let e = &t.transition.evaluation;
    let b = WebhookBody {
        source: "costd",
        deployment,
        id: format!("{deployment}/transition/{}", t.id),
        text: format!(
            "costd {deployment}: budget {} {} {}% is {} (${} vs ${})",
            e.budget,
            e.kind.as_str(),
            e.percent,
            t.transition.to,
            crate::money::to_cents(e.value_usd),
            e.threshold_usd
        ),
        transition: t,
    };
    serde_json::to_vec(&b).expect("a webhook body serialises")
}

/// Sends `e` to `dest` once (its `attempts` so far decide whether a
/// failure is retried or is the last). A refusal that retrying cannot
/// change (HTTP 4xx other than 408 and 429) is a dead letter at once.
pub async fn send(
    http: &reqwest::Client,
    cfg: &Config,
    dest: &Destination,
    e: &Event,
    attempts: u32,
) -> DeliveryOutcome {
    let dashboard = cfg.web.public_url.as_ref().map(|u| u.to_string());
    let dashboard = dashboard.as_deref();
    let body = match dest.kind {
        DestinationKind::Slack => serde_json::to_vec(&format::slack(e, dashboard)),
        DestinationKind::Teams => serde_json::to_vec(&format::teams(e, dashboard)),
        DestinationKind::PagerDuty => serde_json::to_vec(&format::pagerduty(
            e,
            dest.routing_key.as_deref().unwrap_or_default(),
            dashboard,
        )),
        DestinationKind::Webhook => Ok(format::webhook(e)),
    }
    .expect("JSON serialises");
    let result = post(http, &dest.url, dest.timeout_seconds, dest.secret.as_deref(), body).await;
    match result {
        Ok(()) => {
            tracing::info!(destination = %dest.name, event = %e.id, kind = e.kind.as_str(), "event delivered");
            DeliveryOutcome::Delivered
        }
        Err((permanent, error)) if permanent || attempts + 1 >= dest.max_attempts => {
            tracing::error!(destination = %dest.name, event = %e.id, attempts = attempts + 1, %error,
                "event delivery failed for the last time; it is a dead letter (GET /api/v1/events/deliveries?state=dead)");
            DeliveryOutcome::Dead { error }
        }
        Err((_, error)) => {
            let retry_at = Utc::now() + retry_delay(attempts);
            tracing::warn!(destination = %dest.name, event = %e.id, %error, retry_at = %retry_at.to_rfc3339(),
                "event delivery failed; will retry");
            DeliveryOutcome::Failed { error, retry_at }
        }
    }
}

/// POSTs `body` (JSON) to `url` within `timeout_seconds`, signed with
/// `secret` when given. An error says whether retrying cannot help (HTTP 4xx
/// other than 408 and 429) and what happened, URLs redacted.
async fn post(
    http: &reqwest::Client,
    url: &url::Url,
    timeout_seconds: u32,
    secret: Option<&str>,
    body: Vec<u8>,
) -> Result<(), (bool, String)> {
    let mut req = http
        .post(url.clone())
        .timeout(StdDuration::from_secs(u64::from(timeout_seconds)))
        .header("content-type", "application/json")
        .header("user-agent", concat!("costd/", env!("CARGO_PKG_VERSION")));
    if let Some(secret) = secret {
        let ts = Utc::now().timestamp();
        req = req
            .header("x-costd-timestamp", ts.to_string())
            .header("x-costd-signature", signature(secret, ts, &body));
    }
    match req.body(body).send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => {
            let status = r.status();
            let permanent = status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429;
            Err((permanent, format!("HTTP {status}")))
        }
        // The error's text would quote the URL; say what kind of failure it was instead.
        Err(err) => Err((false, crate::redact::urls_in(&err.without_url().to_string()))),
    }
}

/// The HTTP client notifications are sent with: no redirects (a
/// redirect could carry a secret URL's request elsewhere).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// The events of budget transitions: into ALARM (critical for an actual
/// threshold, warning for a forecast) and back to OK, each opening or
/// closing its threshold's condition.
pub fn budget_event(deployment: &str, t: &crate::store::StoredTransition) -> Event {
    use crate::budget::{AlarmState, ThresholdKind};
    let e = &t.transition.evaluation;
    let alarm = t.transition.to == AlarmState::Alarm;
    let (kind, severity) = match (alarm, e.kind) {
        (true, ThresholdKind::Actual) => (EventKind::BudgetAlarm, Severity::Critical),
        (true, ThresholdKind::Forecast) => (EventKind::BudgetAlarm, Severity::Warning),
        (false, _) => (EventKind::BudgetOk, Severity::Info),
    };
    let money = crate::money::format_usd;
    let text = format!(
        "Budget {} ({}): the {} spend of {} is {} against the {}% threshold of {} — {}.",
        e.budget,
        e.scope,
        match e.kind {
            ThresholdKind::Actual => "actual",
            ThresholdKind::Forecast => "forecast",
        },
        t.transition.month,
        money(e.value_usd),
        e.percent.normalize(),
        money(e.threshold_usd),
        if alarm { "ALARM" } else { "OK again" }
    );
    Event::new(
        format!("{deployment}/transition/{}", t.id),
        kind,
        severity,
        t.transition.at,
        deployment,
        text,
    )
    .condition(format!("{deployment}/budget/{}", e.key), alarm)
    .fact("Budget", &e.budget)
    .fact("Scope", &e.scope)
    .fact("Month", &t.transition.month)
    .fact(
        match e.kind {
            ThresholdKind::Actual => "Actual",
            ThresholdKind::Forecast => "Forecast",
        },
        money(e.value_usd),
    )
    .fact(
        "Threshold",
        format!("{}% = {}", e.percent.normalize(), money(e.threshold_usd)),
    )
    .fact("State", format!("{} → {}", t.transition.from, t.transition.to))
}

/// `events`, each with the `[[notify]]` destinations that want it (events
/// no destination wants are recorded all the same: the API lists them).
pub fn routed(cfg: &Config, events: Vec<Event>) -> Vec<(Event, Vec<String>)> {
    events
        .into_iter()
        .map(|e| {
            let to = cfg
                .notify
                .iter()
                .filter(|d| d.wants(&e))
                .map(|d| d.name.clone())
                .collect();
            (e, to)
        })
        .collect()
}

/// How far back the projection job re-emits budget events on its first run
/// as leader: a crash between a transition's commit and its event's is made
/// up after the restart (or by the replica taking over), and
/// the event's id keeps it from being sent twice. Shorter than the shortest
/// retention (a day), so a pruned event is never sent again.
pub const CATCH_UP_HOURS: i64 = 12;

/// `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("v1={hex}")
}

/// The wait before attempt `attempts + 1`: 5 s, 10 s, 20 s … capped at an hour.
pub fn retry_delay(attempts: u32) -> Duration {
    let secs = 5i64.saturating_mul(1i64 << attempts.min(20));
    Duration::seconds(secs.min(3600))
}

/// How many rows one step claims.
const BATCH: u32 = 20;
/// How often the worker looks for due retries when nothing wakes it.
const TICK: StdDuration = StdDuration::from_secs(5);
/// How often history is pruned.
const PRUNE_EVERY: StdDuration = StdDuration::from_secs(3600);

/// The delivery worker.
pub struct Delivery {
    cfg: Arc<Config>,
    store: Arc<dyn Store>,
    http: reqwest::Client,
    /// Delivers and prunes only while this is leading (replicas).
    leadership: Option<Arc<crate::app::leadership::Leadership>>,
}

impl Delivery {
    /// A worker for `cfg.webhooks`.
    pub fn new(cfg: Arc<Config>, store: Arc<dyn Store>) -> Self {
        Delivery {
            cfg,
            store,
            http: http_client(),
            leadership: None,
        }
    }

    /// Delivers (and prunes) only while `leadership` leads: one replica sends.
    pub fn gated_by(mut self, leadership: Arc<crate::app::leadership::Leadership>) -> Self {
        self.leadership = Some(leadership);
        self
    }

    fn lease(&self) -> Duration {
        let longest = self
            .cfg
            .webhooks
            .iter()
            .map(|w| w.timeout_seconds)
            .chain(self.cfg.notify.iter().map(|d| d.timeout_seconds))
            .max()
            .unwrap_or(5);
        Duration::seconds(i64::from(longest) * 2 + 30)
    }

    /// One step of event deliveries at `now`: claims the due ones and sends
    /// each once in its destination's format. Returns how many were delivered.
    pub async fn run_events_once(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let (claim, due) = self.store.claim_deliveries(now, self.lease(), BATCH)?;
        let mut delivered = 0;
        for d in due {
            let outcome = match self.cfg.notify.iter().find(|x| x.name == d.destination) {
                None => DeliveryOutcome::Dead {
                    error: format!("{} is no longer configured", d.destination),
                },
                Some(dest) => self.send_event(dest, &d.event, d.attempts).await,
            };
            if outcome == DeliveryOutcome::Delivered {
                delivered += 1;
            }
            if !self
                .store
                .finish_delivery(&d.event.id, &d.destination, &claim, &outcome, Utc::now())?
            {
                tracing::warn!(destination = %d.destination, event = %d.event.id, "delivery outlived its claim");
            }
        }
        Ok(delivered)
    }

    /// Sends `e` to `dest` once (see [`send`]).
    pub async fn send_event(&self, dest: &Destination, e: &Event, attempts: u32) -> DeliveryOutcome {
        send(&self.http, &self.cfg, dest, e, attempts).await
    }

    /// One step at `now`: claims the due notifications and delivers each
    /// once. Returns how many were delivered.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let (claim, due) = self.store.claim_notifications(now, self.lease(), BATCH)?;
        let mut delivered = 0;
        for n in due {
            let Some(hook) = self.cfg.webhooks.iter().find(|w| w.channel() == n.channel) else {
                let outcome = DeliveryOutcome::Dead {
                    error: format!("{} is no longer configured", n.channel),
                };
                self.store
                    .finish_notification(n.transition.id, &n.channel, &claim, &outcome, now)?;
                continue;
            };
            let outcome = self.attempt(hook, &n).await;
            if outcome == DeliveryOutcome::Delivered {
                delivered += 1;
            }
            if !self
                .store
                .finish_notification(n.transition.id, &n.channel, &claim, &outcome, Utc::now())?
            {
                tracing::warn!(channel = %n.channel, transition = n.transition.id, "delivery outlived its claim");
            }
        }
        Ok(delivered)
    }

    async fn attempt(&self, hook: &WebhookConfig, n: &PendingNotification) -> DeliveryOutcome {
        let body = body(&self.cfg.deployment, &n.transition);
        let result = post(
            &self.http,
            &hook.url,
            hook.timeout_seconds,
            hook.secret.as_deref(),
            body,
        )
        .await
        .map_err(|(_, error)| error);
        match result {
            Ok(()) => {
                tracing::info!(channel = %n.channel, transition = n.transition.id, "notification delivered");
                DeliveryOutcome::Delivered
            }
            Err(error) if n.attempts + 1 >= hook.max_attempts => {
                tracing::error!(channel = %n.channel, transition = n.transition.id, attempts = n.attempts + 1, %error,
                    "notification failed for the last time; it is a dead letter (GET /api/v1/notifications?state=dead)");
                DeliveryOutcome::Dead { error }
            }
            Err(error) => {
                let retry_at = Utc::now() + retry_delay(n.attempts);
                tracing::warn!(channel = %n.channel, transition = n.transition.id, %error, retry_at = %retry_at.to_rfc3339(),
                    "notification failed; will retry");
                DeliveryOutcome::Failed { error, retry_at }
            }
        }
    }

    /// Runs until `shutdown`: a step when woken (new notifications), every few
    /// seconds (retries falling due), and history pruned hourly. Shutdown waits
    /// for the delivery in flight, so a notification is never sent and then
    /// forgotten.
    pub async fn run(self, wake: Arc<Notify>, shutdown: CancellationToken) {
        // Before channels were named, a webhook's channel was its URL, redacted
        // by the store's migration to scheme and host: map those to today's names.
        for w in &self.cfg.webhooks {
            let legacy = format!("webhook:{}", crate::redact::url(w.url.as_str()));
            if legacy != w.channel()
                && let Err(e) = self.store.rename_channel(&legacy, &w.channel())
            {
                tracing::error!(error = %e, "renaming a webhook's channel");
            }
        }
        let mut last_prune: Option<std::time::Instant> = None;
        // The first pass also settles deliveries left for destinations no longer configured.
        let mut first = true;
        loop {
            if self.leadership.as_ref().is_some_and(|l| !l.may_mutate()) {
                // A standby: the leader delivers.
                tokio::select! {
                    _ = tokio::time::sleep(TICK) => continue,
                    _ = shutdown.cancelled() => break,
                }
            }
            if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
                last_prune = Some(std::time::Instant::now());
                match self.store.prune(Utc::now(), &self.cfg.retention) {
                    Ok(p) if p != Default::default() => tracing::info!(
                        decisions = p.decisions,
                        transitions = p.transitions,
                        notifications = p.notifications,
                        "pruned history past its retention"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "pruning history"),
                }
            }
            if !self.cfg.webhooks.is_empty() || last_prune.is_none() {
                match self.run_once(Utc::now()).await {
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "reading the notification outbox"),
                }
            }
            if !self.cfg.notify.is_empty() || first {
                match self.run_events_once(Utc::now()).await {
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "reading the event outbox"),
                }
            }
            first = false;
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(TICK) => {}
                _ = shutdown.cancelled() => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // RFC 4231 test case 2 uses key "Jefe" and data "what do ya want for nothing?";
        // here the data is "<timestamp>.<body>" = "1700000000.what do ya want for nothing?".
        // Expected value computed independently with Python's hmac module:
        // hmac.new(b"Jefe", b"1700000000.what do ya want for nothing?", hashlib.sha256).hexdigest()
        assert_eq!(
            signature("Jefe", 1_700_000_000, b"what do ya want for nothing?"),
            "v1=1cdd0650c8be1cb0974b1788d458b1e781206cfef59b85faafc582d2e182c57e"
        );
    }

    #[test]
    fn retries_back_off_to_an_hour() {
        let waits: Vec<i64> = (0..12).map(|a| retry_delay(a).num_seconds()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]);
        assert_eq!(retry_delay(u32::MAX).num_seconds(), 3600);
    }
}
