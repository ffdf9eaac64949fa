//! `[[webhooks]]` and `[retention]`: where budget notifications go, and how
//! long decisions, transitions and notifications are kept.

use url::Url;

use super::{http_url, parse_http_url};
use crate::input::{InputError, Value};
use crate::store::Retention;

/// One webhook: where to POST budget notifications.
#[derive(Clone, PartialEq)]
pub struct WebhookConfig {
    /// Its name in the outbox, the logs and the API (`webhook:<name>`);
    /// by default the URL's scheme and host, never the whole URL.
    pub name: String,
    /// The URL (from `url` or the environment variable `url_env`). Often a
    /// secret: never logged or stored.
    pub url: Url,
    /// HMAC-SHA256 key for the `X-Costd-Signature` header (from `secret_env`).
    pub secret: Option<String>,
    /// Seconds one attempt may take.
    pub timeout_seconds: u32,
    /// Attempts before the notification becomes a dead letter.
    pub max_attempts: u32,
}

impl WebhookConfig {
    /// The outbox channel: `webhook:<name>`.
    pub fn channel(&self) -> String {
        format!("webhook:{}", self.name)
    }
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("name", &self.name)
            .field("url", &crate::redact::url(self.url.as_str()))
            .field("signed", &self.secret.is_some())
            .field("timeout_seconds", &self.timeout_seconds)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

/// The defaults of a webhook's optional keys.
const DEFAULT_TIMEOUT_SECONDS: u32 = 5;
const DEFAULT_MAX_ATTEMPTS: u32 = 10;

/// `[[webhooks]]`: each webhook, names unique.
pub(super) fn parse_webhooks(v: Option<Value>, secrets: super::Secrets) -> Result<Vec<WebhookConfig>, InputError> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let items = v.items()?;
    let mut out: Vec<WebhookConfig> = Vec::new();
    for item in &items {
        let Some(w) = webhook(item, secrets)? else {
            continue;
        };
        if out.iter().any(|o| o.name == w.name) {
            return Err(item.error(format!(
                "two webhooks are named `{}` (by default a webhook is named after its scheme and host); give each a `name`",
                w.name
            )));
        }
        out.push(w);
    }
    Ok(out)
}

/// One webhook; `None` when its URL's variable is unset and secrets are optional.
fn webhook(w: &Value, secrets: super::Secrets) -> Result<Option<WebhookConfig>, InputError> {
    let t = w.table()?;
    let env = |e: &Value| -> Result<Option<String>, InputError> {
        let var = e.str()?;
        match (std::env::var(&var), secrets) {
            (Ok(v), _) => Ok(Some(v)),
            (Err(_), super::Secrets::Optional) => Ok(None),
            (Err(_), super::Secrets::Required) => Err(e.error(format!("environment variable {var} is not set"))),
        }
    };
    let url = match (t.get("url"), t.get("url_env")) {
        (Some(u), None) => http_url(&u)?,
        (None, Some(e)) => {
            let var = e.str()?;
            let Some(u) = env(&e)? else {
                return Ok(None);
            };
            // The URL is a secret: the error names the variable, never its value.
            parse_http_url(&u).map_err(|_| e.error(format!("{var} is not an http(s) URL")))?
        }
        _ => return Err(t.error("url", "give exactly one of `url` or `url_env`")),
    };
    let secret = match t.get("secret_env") {
        Some(e) => match env(&e)? {
            Some(s) if s.len() < 16 => {
                return Err(e.error(format!("{} must hold at least 16 characters", e.str()?)));
            }
            s => s,
        },
        None => None,
    };
    let name = match t.get("name") {
        Some(n) => {
            let s = n.str()?;
            if s.is_empty() || s.len() > 64 || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(n.error("1–64 characters, no spaces"));
            }
            s
        }
        None => crate::redact::url(url.as_str()),
    };
    let timeout_seconds = match t.get("timeout_seconds") {
        Some(v) => v.u32_in(1, 60)?,
        None => DEFAULT_TIMEOUT_SECONDS,
    };
    let max_attempts = match t.get("max_attempts") {
        Some(v) => v.u32_in(1, 100)?,
        None => DEFAULT_MAX_ATTEMPTS,
    };
    t.finish()?;
    Ok(Some(WebhookConfig {
        name,
        url,
        secret,
        timeout_seconds,
        max_attempts,
    }))
}

/// `[retention]`, over [`Retention::default`].
pub(super) fn parse_retention(v: Option<Value>) -> Result<Retention, InputError> {
    let d = Retention::default();
    let Some(v) = v else { return Ok(d) };
    let t = v.table()?;
    let days = |key: &str, default: chrono::Duration| -> Result<chrono::Duration, InputError> {
        Ok(match t.get(key) {
            Some(v) => chrono::Duration::days(i64::from(v.u32_in(1, 3650)?)),
            None => default,
        })
    };
    let r = Retention {
        decisions: days("decisions_days", d.decisions)?,
        transitions: days("transitions_days", d.transitions)?,
        notifications: days("notifications_days", d.notifications)?,
    };
    t.finish()?;
    Ok(r)
}
