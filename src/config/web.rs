//! `[web]`: the dashboard and JSON API: address, tokens, TLS and the
//! limits on clients.

use std::path::{Path, PathBuf};
use std::time::Duration as Std;

use crate::input::{InputError, Value};

/// Who may do what over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Read everything (finance).
    Viewer,
    /// Also create and cancel windows and trigger a reconcile (ops).
    Operator,
}

impl Role {
    /// Name in config and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
        }
    }
}

/// An API token.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Who it belongs to (logged; the secret never is).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The secret.
    pub secret: String,
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ApiToken {{ name: {:?}, role: {:?}, secret: <hidden> }}",
            self.name, self.role
        )
    }
}

/// The HTTP server.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Whether to serve at all.
    pub enabled: bool,
    /// Address to listen on (`127.0.0.1:8080`; port 0 picks one).
    pub listen: std::net::SocketAddr,
    /// Whether `GET /` is readable without a token (read-only).
    pub public_dashboard: bool,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Tokens.
    pub tokens: Vec<ApiToken>,
    /// Connections served at once; more wait in the accept queue.
    pub max_connections: usize,
    /// Time for a request's headers to arrive; also ends idle keep-alive connections.
    pub header_read_timeout: std::time::Duration,
    /// Time for a whole request (body and handler); then 408.
    pub request_timeout: std::time::Duration,
    /// How long shutdown waits for open connections before closing them.
    pub shutdown_timeout: std::time::Duration,
    /// PEM certificate chain and private key: serve HTTPS instead of HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Mark the session cookie `Secure` (always so with `tls`; set it behind a TLS proxy).
    pub secure_cookies: bool,
    /// Model and off-month projection requests computed at once; more get 429.
    pub expensive_concurrency: usize,
    /// How long one of those may take; then 503.
    pub expensive_timeout: std::time::Duration,
    /// Sign-in attempts a client address may make per minute; more get 429.
    pub login_attempts_per_minute: u32,
    /// The dashboard's address as people reach it (for links in notifications).
    pub public_url: Option<url::Url>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            enabled: true,
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_dashboard: false,
            max_body_bytes: 64 * 1024,
            tokens: Vec::new(),
            max_connections: 512,
            header_read_timeout: Std::from_secs(10),
            request_timeout: Std::from_secs(30),
            shutdown_timeout: Std::from_secs(10),
            tls: None,
            secure_cookies: false,
            expensive_concurrency: 2,
            expensive_timeout: Std::from_secs(10),
            login_attempts_per_minute: 10,
            public_url: None,
        }
    }
}

pub(super) fn parse(v: Option<Value>, base: &Path, secrets: super::Secrets) -> Result<WebConfig, InputError> {
    let mut w = WebConfig::default();
    let Some(v) = v else { return Ok(w) };
    let t = v.table()?;
    if let Some(e) = t.get("enabled") {
        w.enabled = e.bool()?;
    }
    if let Some(l) = t.get("listen") {
        let s = l.str()?;
        w.listen = s.parse().map_err(|_| {
            l.error(format!(
                "`{s}` is not an address; expected e.g. 127.0.0.1:8080 or 0.0.0.0:8080"
            ))
        })?;
    }
    if let Some(p) = t.get("public_dashboard") {
        w.public_dashboard = p.bool()?;
    }
    if let Some(m) = t.get("max_body_bytes") {
        w.max_body_bytes = m.u32_in(1024, 16 * 1024 * 1024)? as usize;
    }
    let secs = |key: &str, min: u32, max: u32, default: Std| -> Result<Std, InputError> {
        Ok(match t.get(key) {
            Some(v) => Std::from_secs(u64::from(v.u32_in(min, max)?)),
            None => default,
        })
    };
    w.header_read_timeout = secs("header_read_timeout_seconds", 1, 300, w.header_read_timeout)?;
    w.request_timeout = secs("request_timeout_seconds", 1, 600, w.request_timeout)?;
    w.shutdown_timeout = secs("shutdown_timeout_seconds", 0, 300, w.shutdown_timeout)?;
    w.expensive_timeout = secs("expensive_timeout_seconds", 1, 300, w.expensive_timeout)?;
    if let Some(m) = t.get("max_connections") {
        w.max_connections = m.u32_in(1, 65_535)? as usize;
    }
    if let Some(m) = t.get("expensive_concurrency") {
        w.expensive_concurrency = m.u32_in(1, 64)? as usize;
    }
    if let Some(m) = t.get("login_attempts_per_minute") {
        w.login_attempts_per_minute = m.u32_in(1, 1000)?;
    }
    if let Some(u) = t.get("public_url") {
        w.public_url = Some(super::http_url(&u)?);
    }
    match (t.get("tls_cert"), t.get("tls_key")) {
        (Some(c), Some(k)) => w.tls = Some((base.join(c.str()?), base.join(k.str()?))),
        (None, None) => {}
        (Some(_), None) => return Err(t.error("tls_key", "give both `tls_cert` and `tls_key`, or neither")),
        (None, Some(_)) => return Err(t.error("tls_cert", "give both `tls_cert` and `tls_key`, or neither")),
    }
    w.secure_cookies = t.get("secure_cookies").map(|v| v.bool()).transpose()?.unwrap_or(false) || w.tls.is_some();
    if let Some(list) = t.get("tokens") {
        for item in list.items()? {
            let tt = item.table()?;
            let name = tt.require("name")?.str()?;
            let role_v = tt.require("role")?;
            let role = match role_v.str()?.as_str() {
                "viewer" => Role::Viewer,
                "operator" => Role::Operator,
                other => return Err(role_v.error(format!("`{other}` is not valid; expected viewer or operator"))),
            };
            let secret = match (tt.get("token"), tt.get("token_env")) {
                (Some(s), None) => s.str()?,
                (None, Some(e)) => {
                    let var = e.str()?;
                    match (std::env::var(&var), secrets) {
                        (Ok(s), _) => s,
                        (Err(_), super::Secrets::Optional) => {
                            tt.finish()?;
                            continue;
                        }
                        (Err(_), super::Secrets::Required) => {
                            return Err(e.error(format!("environment variable {var} is not set")));
                        }
                    }
                }
                _ => return Err(tt.error("token", "give exactly one of `token` or `token_env`")),
            };
            if secret.len() < 16 {
                return Err(item.error("a token must be at least 16 characters"));
            }
            tt.finish()?;
            if w.tokens.iter().any(|x| x.secret == secret) {
                return Err(item.error("two tokens have the same secret"));
            }
            w.tokens.push(ApiToken { name, role, secret });
        }
    }
    t.finish()?;
    Ok(w)
}
