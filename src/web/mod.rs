//! The HTTP server: the dashboard (`GET /`), the JSON API under `/api/v1`,
//! `/openapi.json`, `/metrics`, `/healthz`, `/readyz`. Build binds (port 0
//! allowed), run serves until the shutdown token fires.

pub mod api;
pub mod charts;
pub mod dashboard;
pub mod limits;
pub mod server;
pub mod timeline;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::Role;

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Token name (never the secret).
    pub name: String,
    /// Role.
    pub role: Role,
    /// The session's CSRF token, when authenticated by cookie.
    pub csrf: Option<String>,
}

/// Everything handlers need: the shared [`App`] (config, store, prices,
/// status, the projection's latest result) and the web's own limits.
#[derive(Clone)]
pub struct AppState {
    /// The shared state.
    pub app: App,
    /// The pool for expensive requests (model, off-month projections).
    pub expensive: limits::Expensive,
    /// Sign-in attempts per client address.
    pub logins: Arc<limits::LoginLimiter>,
    /// Dashboard parts kept rendered.
    pub sections: Arc<Sections>,
}

/// Dashboard parts that change only with the projection or the prices, kept
/// rendered (most of a page view's work otherwise).
#[derive(Default)]
pub struct Sections {
    /// The month's figures and charts, by month and projection time.
    pub spend: Rendered,
    /// NAT vs endpoints, by the prices in use.
    pub network: Rendered,
    /// The next 14 days and the ledger, by second and schedule change.
    pub days: Rendered,
    /// The windows table as callers without forms see it, likewise.
    pub windows: Rendered,
    /// `GET /api/v1/projection` of this month, by projection time.
    pub projection_json: Rendered,
}

/// One part kept rendered under a key; rendered again when the key changes.
/// A key is a base and a tick (`0` when only the base matters): when only
/// the tick has moved on and another request is rendering already, the part
/// kept is served as it is rather than rendered twice; when the base has
/// changed (the schedule, the projection, the prices) a request waits for
/// the one rendering. Under load one request renders a part per tick, not
/// every request that arrives while it does.
#[derive(Default)]
pub struct Rendered {
    kept: std::sync::Mutex<Option<Kept>>,
    rendering: std::sync::Mutex<()>,
}

struct Kept {
    base: String,
    tick: i64,
    part: Arc<str>,
}

impl Rendered {
    /// The part for `(base, tick)`, rendering it with `render` when it is not kept.
    pub fn get_or_render(&self, base: &str, tick: i64, render: impl FnOnce() -> String) -> Arc<str> {
        let kept = |exact: bool| {
            self.kept
                .lock()
                .expect("sections lock")
                .as_ref()
                .filter(|k| k.base == base && (!exact || k.tick == tick))
                .map(|k| k.part.clone())
        };
        if let Some(part) = kept(true) {
            return part;
        }
        let _rendering = match self.rendering.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::WouldBlock) => {
                if let Some(stale) = kept(false) {
                    return stale;
                }
                let guard = self.rendering.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(part) = kept(true) {
                    return part;
                }
                guard
            }
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
        };
        let part: Arc<str> = render().into();
        *self.kept.lock().expect("sections lock") = Some(Kept {
            base: base.to_string(),
            tick,
            part: part.clone(),
        });
        part
    }

    /// Drops the part kept (it was rendered from a failed read).
    pub fn forget(&self) {
        *self.kept.lock().expect("sections lock") = None;
    }
}

#[cfg(test)]
mod rendered_tests {
    use super::Rendered;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};

    /// Eight requests in the same tick while one renders: one render, every
    /// request gets its part; the next tick is served stale to those that
    /// arrive while it renders; a new base is never served stale.
    #[test]
    fn one_request_renders_a_part_per_tick() {
        let r = Arc::new(Rendered::default());
        let renders = Arc::new(AtomicUsize::new(0));
        let slow = |label: &'static str, renders: &AtomicUsize| {
            renders.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(50));
            label.to_string()
        };
        assert_eq!(&*r.get_or_render("a", 1, || slow("a1", &renders)), "a1");
        // The tick moves on: the first request renders, seven arrive meanwhile.
        let start = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (r, renders, start) = (r.clone(), renders.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    if i > 0 {
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                    r.get_or_render("a", 2, || slow("a2", &renders)).to_string()
                })
            })
            .collect();
        let got: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(renders.load(Ordering::SeqCst), 2, "one render for tick 2");
        assert!(got.iter().all(|p| p == "a1" || p == "a2"), "{got:?}");
        assert!(got.iter().any(|p| p == "a2"), "{got:?}");
        // A new base while rendering: waits for it, never the old base's part.
        let start = Arc::new(Barrier::new(2));
        let (r2, renders2, start2) = (r.clone(), renders.clone(), start.clone());
        let first = std::thread::spawn(move || {
            start2.wait();
            r2.get_or_render("b", 0, || slow("b", &renders2)).to_string()
        });
        start.wait();
        std::thread::sleep(std::time::Duration::from_millis(10));
        let second = r.get_or_render("b", 0, || slow("b-again", &renders)).to_string();
        assert_eq!((first.join().unwrap().as_str(), second.as_str()), ("b", "b"));
        assert_eq!(renders.load(Ordering::SeqCst), 3);
    }
}

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

impl AppState {
    /// State for the server.
    pub fn new(app: App) -> Self {
        let expensive = limits::Expensive::new(app.cfg.web.expensive_concurrency, app.cfg.web.expensive_timeout);
        let logins = Arc::new(limits::LoginLimiter::new(app.cfg.web.login_attempts_per_minute));
        AppState {
            app,
            expensive,
            logins,
            sections: Arc::default(),
        }
    }

    /// The caller, from `Authorization: Bearer` or the session cookie.
    pub fn caller(&self, headers: &HeaderMap) -> Option<Caller> {
        if let Some(token) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            return self
                .cfg
                .web
                .tokens
                .iter()
                .find(|t| constant_time_eq(t.secret.as_bytes(), token.trim().as_bytes()))
                .map(|t| Caller {
                    name: t.name.clone(),
                    role: t.role,
                    csrf: None,
                });
        }
        let sid = session_id(headers)?;
        let stored = match self.store.session(&session_key(&sid), Utc::now()) {
            Ok(s) => s?,
            Err(e) => {
                tracing::error!(error = %e, "could not read a session");
                return None;
            }
        };
        // The token comes from the config as it is now: a token removed,
        // rotated or demoted there ends or narrows its sessions too.
        let token = self
            .cfg
            .web
            .tokens
            .iter()
            .find(|t| constant_time_eq(sha256_hex(&t.secret).as_bytes(), stored.token_sha256.as_bytes()))?;
        Some(Caller {
            name: token.name.clone(),
            role: token.role,
            csrf: Some(stored.csrf),
        })
    }

    /// The caller if it has at least `role`: 401 without credentials, 403 with too few rights.
    pub fn require(&self, headers: &HeaderMap, role: Role) -> Result<Caller, ApiError> {
        match self.caller(headers) {
            None => Err(ApiError::unauthorized()),
            Some(c) if c.role < role => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                None,
                format!(
                    "token `{}` is a {}; this needs an {}",
                    c.name,
                    c.role.as_str(),
                    role.as_str()
                ),
            )),
            Some(c) => Ok(c),
        }
    }

    /// For API writes: the caller by `Authorization: Bearer` only, with at
    /// least `role`. A browser session's cookie is not accepted here: a page
    /// on another origin could make the browser send it (the dashboard's own
    /// forms carry a CSRF token and go to `/ui/…` instead).
    pub fn require_bearer(&self, headers: &HeaderMap, role: Role) -> Result<Caller, ApiError> {
        if !headers.contains_key(header::AUTHORIZATION) {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                None,
                "API writes take `Authorization: Bearer <token>` with an operator token; a browser session is not accepted",
            ));
        }
        self.require(headers, role)
    }

    /// Starts a session (cookie `costd_session`) for a valid token; returns
    /// (session id, session as stored).
    pub fn login(&self, token: &str) -> Option<(String, crate::store::StoredSession)> {
        let t = self
            .cfg
            .web
            .tokens
            .iter()
            .find(|t| constant_time_eq(t.secret.as_bytes(), token.trim().as_bytes()))?;
        let now = Utc::now();
        let sid = random_hex(24);
        let stored = crate::store::StoredSession {
            token_name: t.name.clone(),
            token_sha256: sha256_hex(&t.secret),
            csrf: random_hex(16),
            created_at: now,
            expires_at: now + Duration::hours(SESSION_HOURS),
        };
        if let Err(e) = self.store.put_session(&session_key(&sid), &stored, now) {
            tracing::error!(error = %e, "could not save a session");
            return None;
        }
        Some((sid, stored))
    }

    /// Ends the session behind the cookie, if any.
    pub fn logout(&self, headers: &HeaderMap) -> Result<(), crate::store::StoreError> {
        match session_id(headers) {
            Some(sid) => self.store.delete_session(&session_key(&sid)),
            None => Ok(()),
        }
    }
}

/// What the store keeps for a session id: its SHA-256, hex. The id is the
/// cookie's secret; a copy of the store does not sign anyone in.
fn session_key(sid: &str) -> String {
    sha256_hex(sid)
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares two secrets in constant time: their SHA-256 digests, which have
/// the same length whatever the secrets' lengths, so neither the content nor
/// the length leaks through timing.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::Digest;
    use subtle::ConstantTimeEq;
    let (da, db) = (sha2::Sha256::digest(a), sha2::Sha256::digest(b));
    da.as_slice().ct_eq(db.as_slice()).into()
}

/// A handler argument: the caller, who must hold at least a viewer token
/// (Bearer or a signed-in session). 401 without one.
pub struct RequireViewer(pub Caller);

impl axum::extract::FromRequestParts<AppState> for RequireViewer {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, s: &AppState) -> Result<Self, ApiError> {
        s.require(&parts.headers, Role::Viewer).map(RequireViewer)
    }
}

/// A handler argument for API writes: the caller, by `Authorization: Bearer`
/// only, with an operator token. 401 without one (a session cookie is not
/// accepted), 403 with a viewer token.
pub struct RequireOperator(pub Caller);

impl axum::extract::FromRequestParts<AppState> for RequireOperator {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, s: &AppState) -> Result<Self, ApiError> {
        s.require_bearer(&parts.headers, Role::Operator).map(RequireOperator)
    }
}

pub use crate::store::random_hex;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "costd_session";

/// How long a dashboard session lasts.
pub const SESSION_HOURS: i64 = 12;

/// The session id from the request's cookies, if any.
fn session_id(headers: &HeaderMap) -> Option<String> {
    axum_extra::extract::CookieJar::from_headers(headers)
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty())
}

/// The session cookie for `sid` (empty `sid`: the cookie that ends it):
/// `HttpOnly`, `SameSite=Strict`, `Path=/`, `Secure` when configured.
pub fn session_cookie(sid: String, secure: bool) -> axum_extra::extract::cookie::Cookie<'static> {
    use axum_extra::extract::cookie::{Cookie, SameSite};
    let max_age = if sid.is_empty() {
        cookie::time::Duration::ZERO
    } else {
        cookie::time::Duration::hours(SESSION_HOURS)
    };
    Cookie::build((SESSION_COOKIE, sid))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .max_age(max_age)
        .secure(secure)
        .build()
}

/// An error as the client sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Machine-readable kind: `validation`, `malformed`, `not_found`, `unauthorized`, `forbidden`, `conflict`, `internal`.
    pub error: String,
    /// The field at fault, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong and what would be valid.
    pub message: String,
}

/// An HTTP error: logs the internal cause, answers with a clear body and the right status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    retry_after_s: Option<u64>,
}

impl ApiError {
    /// Any error.
    pub fn new(status: StatusCode, error: &str, field: Option<&str>, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                error: error.into(),
                field: field.map(str::to_string),
                message: message.into(),
            },
            retry_after_s: None,
        }
    }

    /// Adds `Retry-After: <seconds>` (429 and 503 answers).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_s = Some(seconds);
        self
    }

    /// The message, for people.
    pub fn message(&self) -> &str {
        &self.body.message
    }

    /// 422 naming the field.
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", Some(field), message)
    }

    /// 401.
    pub fn unauthorized() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            None,
            "send `Authorization: Bearer <token>` with a viewer or operator token",
        )
    }

    /// 500; the cause is logged, not shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            None,
            "internal error; see the daemon's log",
        )
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::WindowNotFound(id) => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                None,
                format!("no window with id {id}"),
            ),
            crate::store::StoreError::AlreadyCancelled(id) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                None,
                format!("window {id} is already cancelled"),
            ),
            e @ crate::store::StoreError::WindowTooLong { .. } => ApiError::validation("end", e.to_string()),
            other => ApiError::internal(other),
        }
    }
}

impl From<crate::app::windows::AppError> for ApiError {
    fn from(e: crate::app::windows::AppError) -> Self {
        match e {
            crate::app::windows::AppError::Invalid { field, message } => ApiError::validation(field, message),
            crate::app::windows::AppError::Store(s) => s.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(self.body)).into_response();
        if let Some(s) = self.retry_after_s {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"costd\""),
            );
        }
        r
    }
}

/// The router (also for `oneshot` tests).
pub fn router(state: AppState) -> Router {
    use tower_http::set_header::SetResponseHeaderLayer;
    let limit = state.cfg.web.max_body_bytes;
    let request_timeout = state.cfg.web.request_timeout;
    let header = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(header::HeaderName::from_static(name), HeaderValue::from_static(value))
    };
    api::routes()
        .merge(dashboard::routes())
        .layer(DefaultBodyLimit::max(limit))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        // The dashboard is server-rendered HTML with inline CSS and SVG and no
        // script: nothing else may load, nothing may frame it.
        .layer(header("content-security-policy", CONTENT_SECURITY_POLICY))
        .layer(header("x-content-type-options", "nosniff"))
        .layer(header("x-frame-options", "DENY"))
        .layer(header("referrer-policy", "no-referrer"))
        .layer(axum::middleware::from_fn(count_requests))
        .with_state(state)
}

/// The policy on every response: no scripts, no foreign resources, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn count_requests(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    crate::metrics::get().http_requests.inc();
    next.run(req).await
}

/// Why the web server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The certificate or key could not be loaded (names the setting and the file).
    #[error("{0}")]
    Tls(String),
    /// The address could not be bound (in use, or not this machine's).
    #[error("web.listen {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A bound server.
pub struct Application {
    listener: tokio::net::TcpListener,
    router: Router,
    limits: server::ServerLimits,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Application {
    /// Binds `cfg.web.listen` (port 0 picks a free one) and loads the TLS
    /// certificate when one is configured.
    pub async fn build(state: AppState) -> Result<Self, StartError> {
        let addr = state.cfg.web.listen;
        let tls = match &state.cfg.web.tls {
            Some((cert, key)) => Some(server::tls_acceptor(cert, key).map_err(StartError::Tls)?),
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        Ok(Application {
            listener,
            limits: server::ServerLimits::from_config(&state.cfg.web),
            tls,
            router: router(state),
        })
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound")
    }

    /// Serves until `shutdown`, then lets open requests finish within the shutdown deadline.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> std::io::Result<()> {
        server::serve(self.listener, self.router, self.limits, self.tls, shutdown).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_session_cookie_is_read_among_others_and_set_strictly() {
        use axum::http::{HeaderMap, HeaderValue, header};
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; costd_session=abc123"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("other=1"));
        assert_eq!(super::session_id(&h).as_deref(), Some("abc123"));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("costd_sessionx=no; costd_session="),
        );
        assert_eq!(
            super::session_id(&h),
            None,
            "an empty or look-alike cookie is no session"
        );
        let set = super::session_cookie("abc123".into(), true).to_string();
        for part in [
            "costd_session=abc123",
            "HttpOnly",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=43200",
            "Secure",
        ] {
            assert!(set.contains(part), "{part} missing from {set}");
        }
        let end = super::session_cookie(String::new(), false).to_string();
        assert!(end.contains("Max-Age=0") && !end.contains("Secure"), "{end}");
    }

    #[test]
    fn secrets_compare_by_digest() {
        assert!(super::constant_time_eq(
            b"operator-token-0123456789",
            b"operator-token-0123456789"
        ));
        assert!(!super::constant_time_eq(
            b"operator-token-0123456789",
            b"operator-token-0123456788"
        ));
        assert!(!super::constant_time_eq(b"short", b"a much longer secret than that"));
        assert!(!super::constant_time_eq(b"", b"x"));
    }
}
