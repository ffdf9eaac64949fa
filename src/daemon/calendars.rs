//! The subscribed calendars, read on their own schedules: fetched with HTTP
//! caching (`ETag` / `Last-Modified`), bounded in size and time, applied to
//! the store (see [`crate::app::calendars::apply`]). The last good copy of
//! each is kept in the store, so a calendar that cannot be read, or reads
//! as malformed, keeps its windows (and keeps being expanded as the horizon
//! moves) until it reads well again; the failure is logged and shown on
//! `/readyz` and the dashboard.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::app::BodyError;
use crate::app::calendars::{ApplyError, apply};
use crate::config::{CalendarLocation, CalendarSource, FETCH_TIMEOUT, MAX_CALENDAR_BYTES};

/// A calendar's last good copy, as kept in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Copy {
    etag: Option<String>,
    last_modified: Option<String>,
    body: String,
}

fn copy_key(name: &str) -> String {
    format!("calendar:{name}")
}

/// What a fetch brought.
#[derive(Debug)]
enum Fetched {
    /// A new body (and its validators).
    Body(Copy),
    /// `304 Not Modified`: the copy held is current.
    NotModified,
}

/// Runs until shutdown: each calendar is read at once, then every
/// `refresh_minutes`, and all at once when kicked (`App::calendar_kick`).
/// Only a daemon that may act (the leader) writes windows.
pub async fn run(app: App, shutdown: CancellationToken) {
    let sources = app.cfg.schedule.calendars.clone();
    if sources.is_empty() {
        return;
    }
    let client = match reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::limited(5))
        .user_agent(concat!("costd/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => return tracing::error!(error = %e, "no HTTP client for the calendars; none is read"),
    };
    let mut copies: Vec<Option<Copy>> = sources
        .iter()
        .map(|s| match app.store.cached(&copy_key(&s.name)) {
            Ok(Some((json, _))) => serde_json::from_str(&json).ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(calendar = %s.name, error = %e, "reading the calendar's last copy");
                None
            }
        })
        .collect();
    let mut due: Vec<tokio::time::Instant> = vec![tokio::time::Instant::now(); sources.len()];
    loop {
        let next = *due.iter().min().expect("at least one calendar");
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = app.calendar_kick.notified() => due.iter_mut().for_each(|d| *d = tokio::time::Instant::now()),
            _ = shutdown.cancelled() => return,
        }
        for (i, src) in sources.iter().enumerate() {
            if due[i] > tokio::time::Instant::now() {
                continue;
            }
            due[i] = tokio::time::Instant::now() + src.refresh.to_std().unwrap_or(StdDuration::from_secs(300));
            if !app.leadership.may_mutate() {
                continue;
            }
            tokio::select! {
                _ = refresh(&app, &client, src, &mut copies[i]) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }
}

/// Reads one calendar and applies it; on any failure the last good copy is
/// applied instead (its windows stay, the horizon moves on) and the error is reported.
async fn refresh(app: &App, client: &reqwest::Client, src: &CalendarSource, copy: &mut Option<Copy>) {
    let now = (app.clock)();
    let held = copy.as_ref().map(|c| (c.etag.clone(), c.last_modified.clone()));
    let fetched = fetch(client, &src.location, held).await;
    let (outcome, fresh) = match fetched {
        Ok(Fetched::NotModified) => match copy.as_ref() {
            Some(c) => (apply(app, src, &c.body, now), None),
            None => (Err(ApplyError::Calendar(no_copy())), None),
        },
        Ok(Fetched::Body(new)) => (apply(app, src, &new.body, now), Some(new)),
        Err(why) => {
            record_failure(app, src, now, why, copy.as_ref());
            return;
        }
    };
    match outcome {
        Ok((want, sync)) => {
            if let Some(new) = fresh
                && copy.as_ref() != Some(&new)
            {
                match serde_json::to_string(&new) {
                    Ok(json) => {
                        if let Err(e) = app.store.put_cached(&copy_key(&src.name), &json, now) {
                            tracing::warn!(calendar = %src.name, error = %e, "keeping the calendar's copy");
                        }
                    }
                    Err(e) => tracing::warn!(calendar = %src.name, error = %e, "keeping the calendar's copy"),
                }
                *copy = Some(new);
            }
            let mut all = app.calendars.write().expect("calendar status lock");
            if let Some(st) = all.iter_mut().find(|s| s.name == src.name) {
                st.last_attempt = Some(now);
                st.last_success = Some(now);
                st.error = None;
                st.windows = want.windows.len();
                st.sync = sync;
                st.skipped = want.skipped;
                if want.skipped_count > st.skipped.len() {
                    st.skipped
                        .push(format!("and {} more", want.skipped_count - st.skipped.len()));
                }
            }
        }
        Err(e) => record_failure(app, src, now, e.to_string(), copy.as_ref()),
    }
}

fn no_copy() -> crate::schedule::ical::IcsError {
    crate::schedule::ical::IcsError {
        line: 0,
        message: "304 Not Modified, but no copy is held".into(),
    }
}

/// Reports a failed read, and applies the last good copy so its windows
/// keep coming as the horizon moves (never cut short by the failure).
fn record_failure(app: &App, src: &CalendarSource, now: DateTime<Utc>, why: String, copy: Option<&Copy>) {
    let kept = match copy {
        Some(c) => match apply(app, src, &c.body, now) {
            Ok((want, _)) => format!("; keeping the last good copy ({} window(s))", want.windows.len()),
            Err(e) => format!("; the last copy cannot be applied either: {e}"),
        },
        None => "; no copy was ever read, so it has no windows yet".into(),
    };
    tracing::warn!(calendar = %src.name, source = %src.location.describe(), error = %why, "calendar not read{kept}");
    let mut all = app.calendars.write().expect("calendar status lock");
    if let Some(st) = all.iter_mut().find(|s| s.name == src.name) {
        st.last_attempt = Some(now);
        st.error = Some(format!("{why}{kept}"));
    }
}

/// Fetches a calendar: a file is read (bounded); a URL is asked with the
/// held validators (`If-None-Match`, `If-Modified-Since`), its body read up
/// to [`MAX_CALENDAR_BYTES`]. Errors never hold the URL (it is a secret).
async fn fetch(
    client: &reqwest::Client,
    location: &CalendarLocation,
    held: Option<(Option<String>, Option<String>)>,
) -> Result<Fetched, String> {
    let url = match location {
        CalendarLocation::File(path) => {
            let path = path.clone();
            return tokio::task::spawn_blocking(move || read_file(&path))
                .await
                .map_err(|e| e.to_string())?;
        }
        CalendarLocation::Url { url, .. } => url.clone(),
    };
    let mut req = client.get(url);
    if let Some((etag, modified)) = held {
        if let Some(e) = etag {
            req = req.header(reqwest::header::IF_NONE_MATCH, e);
        }
        if let Some(m) = modified {
            req = req.header(reqwest::header::IF_MODIFIED_SINCE, m);
        }
    }
    let resp = req
        .send()
        .await
        .map_err(|e| format!("cannot fetch: {}", e.without_url()))?;
    let status = resp.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if !status.is_success() {
        return Err(format!("the calendar's server answered HTTP {}", status.as_u16()));
    }
    let header = |name| {
        resp.headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .filter(|v| v.len() <= 200)
            .map(str::to_string)
    };
    let etag = header(reqwest::header::ETAG);
    let last_modified = header(reqwest::header::LAST_MODIFIED);
    let body = crate::app::read_body_bounded(resp, MAX_CALENDAR_BYTES)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => format!("the calendar is larger than {MAX_CALENDAR_BYTES} bytes"),
            BodyError::Transport(e) => format!("reading the calendar: {}", e.without_url()),
        })?;
    let body = String::from_utf8(body).map_err(|_| "the calendar is not UTF-8 text".to_string())?;
    Ok(Fetched::Body(Copy {
        etag,
        last_modified,
        body,
    }))
}

fn read_file(path: &std::path::Path) -> Result<Fetched, String> {
    crate::app::calendars::read_file(path).map(|body| {
        Fetched::Body(Copy {
            etag: None,
            last_modified: None,
            body,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// One-connection-at-a-time HTTP server answering `answer(request head)`
    /// (the raw response bytes), on loopback; returns its URL.
    fn serve(
        answer: impl Fn(&str) -> Vec<u8> + Send + 'static,
    ) -> (CalendarLocation, std::sync::mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = url::Url::parse(&format!("http://{}/private/basic.ics", listener.local_addr().unwrap())).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut buf = [0u8; 4096];
                let mut head = String::new();
                while !head.contains("\r\n\r\n") {
                    let Ok(n) = conn.read(&mut buf) else { break };
                    if n == 0 {
                        break;
                    }
                    head.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
                let _ = tx.send(head.clone());
                let _ = conn.write_all(&answer(&head));
            }
        });
        (CalendarLocation::Url { url, var: "CAL".into() }, rx)
    }

    fn client(timeout: std::time::Duration) -> reqwest::Client {
        reqwest::Client::builder().timeout(timeout).build().unwrap()
    }

    fn ok_response(headers: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 200 OK\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    #[tokio::test]
    async fn validators_are_kept_and_sent_and_304_means_the_copy_is_current() {
        let (loc, heads) = serve(|head| {
            if head.contains("If-None-Match: \"v7\"") || head.contains("if-none-match: \"v7\"") {
                b"HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n".to_vec()
            } else {
                ok_response(
                    "ETag: \"v7\"\r\nLast-Modified: Mon, 23 Nov 2026 04:00:00 GMT\r\n",
                    "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
                )
            }
        });
        let c = client(std::time::Duration::from_secs(5));
        let Fetched::Body(copy) = fetch(&c, &loc, None).await.unwrap() else {
            panic!("a body")
        };
        assert_eq!(copy.etag.as_deref(), Some("\"v7\""));
        assert_eq!(copy.last_modified.as_deref(), Some("Mon, 23 Nov 2026 04:00:00 GMT"));
        let first = heads.recv().unwrap().to_ascii_lowercase();
        assert!(!first.contains("if-none-match"), "{first}");
        let again = fetch(&c, &loc, Some((copy.etag.clone(), copy.last_modified.clone())))
            .await
            .unwrap();
        assert!(matches!(again, Fetched::NotModified), "{again:?}");
        let second = heads.recv().unwrap().to_ascii_lowercase();
        assert!(second.contains("if-none-match: \"v7\""), "{second}");
        assert!(
            second.contains("if-modified-since: mon, 23 nov 2026 04:00:00 gmt"),
            "{second}"
        );
    }

    #[tokio::test]
    async fn a_calendar_larger_than_the_bound_is_refused_declared_or_streamed() {
        let big = "X".repeat(MAX_CALENDAR_BYTES + 1);
        let declared = big.clone();
        let (loc, _) = serve(move |_| ok_response("", &declared));
        let c = client(std::time::Duration::from_secs(10));
        let e = fetch(&c, &loc, None).await.unwrap_err();
        assert!(e.contains(&format!("larger than {MAX_CALENDAR_BYTES} bytes")), "{e}");
        // No Content-Length: chunked, counted as it streams.
        let (loc, _) = serve(move |_| {
            let mut r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
            for chunk in big.as_bytes().chunks(64 * 1024) {
                r.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                r.extend_from_slice(chunk);
                r.extend_from_slice(b"\r\n");
            }
            r.extend_from_slice(b"0\r\n\r\n");
            r
        });
        let e = fetch(&c, &loc, None).await.unwrap_err();
        assert!(e.contains(&format!("larger than {MAX_CALENDAR_BYTES} bytes")), "{e}");
        // Exactly the bound is read.
        let exact = format!("BEGIN:VCALENDAR\r\n{}", "X".repeat(MAX_CALENDAR_BYTES - 17));
        assert_eq!(exact.len(), MAX_CALENDAR_BYTES);
        let (loc, _) = serve(move |_| ok_response("", &exact));
        assert!(matches!(fetch(&c, &loc, None).await.unwrap(), Fetched::Body(_)));
        // A file likewise.
        let path = std::env::temp_dir().join(format!("costd-calendar-big-{}.ics", std::process::id()));
        std::fs::write(&path, "X".repeat(MAX_CALENDAR_BYTES + 1)).unwrap();
        let e = fetch(&c, &CalendarLocation::File(path.clone()), None)
            .await
            .unwrap_err();
        std::fs::remove_file(&path).ok();
        assert!(e.contains(&format!("larger than {MAX_CALENDAR_BYTES} bytes")), "{e}");
    }

    #[tokio::test]
    async fn errors_name_the_status_and_never_the_secret_address() {
        let (loc, _) = serve(|_| b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec());
        let c = client(std::time::Duration::from_secs(5));
        assert_eq!(
            fetch(&c, &loc, None).await.unwrap_err(),
            "the calendar's server answered HTTP 403"
        );
        // A server that never answers: the client's timeout ends it.
        let (stalled, _) = serve(|_| {
            std::thread::sleep(std::time::Duration::from_secs(5));
            Vec::new()
        });
        let c = client(std::time::Duration::from_millis(300));
        let e = fetch(&c, &stalled, None).await.unwrap_err();
        assert!(e.starts_with("cannot fetch"), "{e}");
        assert!(!e.contains("/private/basic.ics"), "the address is a secret: {e}");
        // Nobody listening.
        let refused = CalendarLocation::Url {
            url: url::Url::parse("http://127.0.0.1:9/private/basic.ics").unwrap(),
            var: "CAL".into(),
        };
        let e = fetch(&c, &refused, None).await.unwrap_err();
        assert!(!e.contains("/private/"), "{e}");
    }
}
