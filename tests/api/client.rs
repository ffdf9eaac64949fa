//! The tests' client for costd's HTTP API and dashboard: one method per
//! endpoint on [`Api`], and a browser [`Session`] for the dashboard's forms.
//! Built on reqwest (see [`crate::helpers::client`]).

use std::net::SocketAddr;

use serde_json::Value;

use crate::helpers::http;

/// costd's API at `addr`.
#[derive(Debug, Clone, Copy)]
pub struct Api {
    /// The server.
    pub addr: SocketAddr,
}

impl Api {
    /// Any request, for what the endpoint methods below do not cover
    /// (unknown paths, wrong content types, hostile bodies).
    pub fn request(&self, method: &str, path: &str, token: Option<&str>, ctype: &str, body: &str) -> (u16, String) {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", ctype)];
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        http(self.addr, method, path, &headers, body).unwrap()
    }

    /// [`Self::request`] with a JSON body, answered in JSON (a body that is
    /// not JSON comes back as a JSON string).
    pub fn json(&self, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
        let (s, b) = self.request(method, path, token, "application/json", body);
        (s, serde_json::from_str(&b).unwrap_or(Value::String(b)))
    }

    // One method per endpoint. `token` is the Bearer token sent (`None`: none).

    /// `GET /healthz`.
    pub fn healthz(&self) -> (u16, String) {
        self.request("GET", "/healthz", None, "text/plain", "")
    }
    /// `GET /readyz`.
    pub fn readyz(&self, token: Option<&str>) -> (u16, String) {
        self.request("GET", "/readyz", token, "text/plain", "")
    }
    /// `GET /openapi.json` (as text, for the validator).
    pub fn openapi(&self) -> (u16, String) {
        self.request("GET", "/openapi.json", None, "text/plain", "")
    }
    /// `GET /metrics`.
    pub fn metrics(&self, token: Option<&str>) -> (u16, String) {
        self.request("GET", "/metrics", token, "text/plain", "")
    }
    /// `GET /` (the dashboard) with a Bearer token.
    pub fn dashboard(&self, token: Option<&str>) -> (u16, String) {
        self.request("GET", "/", token, "text/plain", "")
    }
    /// `GET /api/v1/projection[?month=]`.
    pub fn projection(&self, token: Option<&str>, month: Option<&str>) -> (u16, Value) {
        self.json("GET", &with_month("/api/v1/projection", month), token, "")
    }
    /// `GET /api/v1/ledger[?month=]`.
    pub fn ledger(&self, token: Option<&str>, month: Option<&str>) -> (u16, Value) {
        self.json("GET", &with_month("/api/v1/ledger", month), token, "")
    }
    /// `GET /api/v1/windows`.
    pub fn windows(&self, token: Option<&str>) -> (u16, Value) {
        self.json("GET", "/api/v1/windows", token, "")
    }
    /// `GET /api/v1/windows?<query>`: a page of them.
    pub fn windows_page(&self, token: Option<&str>, query: &str) -> (u16, Value) {
        self.json("GET", &format!("/api/v1/windows?{query}"), token, "")
    }
    /// `POST /api/v1/windows` with a JSON body.
    pub fn add_window(&self, token: Option<&str>, body: &str) -> (u16, Value) {
        self.json("POST", "/api/v1/windows", token, body)
    }
    /// `DELETE /api/v1/windows/{id}`.
    pub fn cancel_window(&self, token: Option<&str>, id: &str) -> (u16, Value) {
        self.json("DELETE", &format!("/api/v1/windows/{id}"), token, "")
    }
    /// `GET /api/v1/budgets`.
    pub fn budgets(&self, token: Option<&str>) -> (u16, Value) {
        self.json("GET", "/api/v1/budgets", token, "")
    }
    /// `GET /api/v1/pricing`.
    pub fn pricing(&self, token: Option<&str>) -> (u16, Value) {
        self.json("GET", "/api/v1/pricing", token, "")
    }
    /// `POST /api/v1/model` with a scenario in TOML.
    pub fn model(&self, token: Option<&str>, scenario: &str) -> (u16, Value) {
        let (s, b) = self.request("POST", "/api/v1/model", token, "application/toml", scenario);
        (s, serde_json::from_str(&b).unwrap_or(Value::String(b)))
    }
    /// `GET /api/v1/alb`.
    pub fn alb(&self, token: Option<&str>) -> (u16, Value) {
        self.json("GET", "/api/v1/alb", token, "")
    }
    /// `POST /api/v1/reconcile`.
    pub fn reconcile(&self, token: Option<&str>) -> (u16, Value) {
        self.json("POST", "/api/v1/reconcile", token, "")
    }
    /// `GET /api/v1/notifications[?state=]` (`pending`, `delivered`, `dead`).
    pub fn notifications(&self, token: Option<&str>, state: Option<&str>) -> (u16, Value) {
        let path = match state {
            Some(st) => format!("/api/v1/notifications?state={st}"),
            None => "/api/v1/notifications".to_string(),
        };
        self.json("GET", &path, token, "")
    }
    /// `DELETE /api/v1/notifications/dead`.
    pub fn delete_dead_notifications(&self, token: Option<&str>) -> (u16, Value) {
        self.json("DELETE", "/api/v1/notifications/dead", token, "")
    }
    /// `POST /login` with `token`: the browser session it opens.
    pub fn sign_in(&self, token: &str) -> Session {
        sign_in(self.addr, token)
    }
}

fn with_month(path: &str, month: Option<&str>) -> String {
    match month {
        Some(m) => format!("{path}?month={m}"),
        None => path.to_string(),
    }
}

/// A dashboard session, as a browser holds it: the cookie, sent to `addr`.
#[derive(Clone)]
pub struct Session {
    /// The server.
    pub addr: SocketAddr,
    /// The `Set-Cookie` value the sign-in answered with.
    pub set_cookie: String,
    /// The `Cookie` header to send.
    pub cookie: String,
}

impl Session {
    /// The same cookie sent to another server (a restarted daemon).
    pub fn at(&self, addr: SocketAddr) -> Session {
        Session { addr, ..self.clone() }
    }
    /// `GET /`.
    pub fn page(&self) -> (u16, String) {
        self.get("/")
    }
    /// `GET path` in this session (`/?month=2026-10`).
    pub fn get(&self, path: &str) -> (u16, String) {
        http(self.addr, "GET", path, &[("Cookie", self.cookie.as_str())], "").unwrap()
    }
    /// The CSRF token in the signed-in page's forms.
    pub fn csrf(&self) -> String {
        csrf_of(&self.page().1)
    }
    /// A form POST to `path` (`/ui/windows`, `/ui/windows/{id}/cancel`, `/logout`).
    pub fn post_form(&self, path: &str, form: &str) -> (u16, String) {
        let headers = [
            ("Cookie", self.cookie.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        http(self.addr, "POST", path, &headers, form).unwrap()
    }
    /// `POST /ui/windows` (the add-a-window form; `csrf=` is prepended).
    pub fn add_window(&self, csrf: &str, fields: &str) -> (u16, String) {
        self.post_form("/ui/windows", &format!("csrf={csrf}&{fields}"))
    }
    /// `POST /ui/windows/{id}/cancel`.
    pub fn cancel_window(&self, csrf: &str, id: &str) -> (u16, String) {
        self.post_form(&format!("/ui/windows/{id}/cancel"), &format!("csrf={csrf}"))
    }
    /// `POST /logout`.
    pub fn sign_out(&self, csrf: &str) -> u16 {
        self.post_form("/logout", &format!("csrf={csrf}")).0
    }
}

/// Signs in with `token` through the form.
pub fn sign_in(addr: SocketAddr, token: &str) -> Session {
    let r = crate::helpers::client()
        .post(format!("http://{addr}/login"))
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .unwrap();
    let set_cookie = r
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .unwrap_or_else(|| panic!("no cookie in a {} answer", r.status()))
        .to_str()
        .unwrap()
        .to_string();
    let cookie = set_cookie.split(';').next().unwrap().trim().to_string();
    assert!(cookie.starts_with("costd_session="), "{set_cookie}");
    Session {
        addr,
        set_cookie,
        cookie,
    }
}

/// A Decimal string from the API as the dashboard shows it (`$1,234.56`).
pub fn usd(v: &serde_json::Value) -> String {
    let d: rust_decimal::Decimal = v.as_str().expect("a decimal string").parse().unwrap();
    costd::money::format_usd(d)
}

/// The inside of the dashboard's `<section id=ID>`.
pub fn section<'a>(page: &'a str, id: &str) -> &'a str {
    page.split(&format!("<section id={id}>"))
        .nth(1)
        .unwrap_or_else(|| panic!("no section {id} in the page"))
        .split("</section>")
        .next()
        .unwrap_or_default()
}

/// The CSRF token in a signed-in page's forms.
pub fn csrf_of(page: &str) -> String {
    let after = page
        .split("name=csrf value=\"")
        .nth(1)
        .expect("a form with a CSRF token");
    after.split('"').next().unwrap().to_string()
}
