//! A small Chrome DevTools Protocol client for the browser tests: headless
//! Chromium driven over its debugging WebSocket, so a test can set a
//! phone's viewport (a headless window is at least 500 px wide), follow
//! links, fill and submit the dashboard's forms, read what the page shows
//! and take screenshots. Commands are sent one at a time; events that
//! arrive meanwhile are queued for `wait_event`.

use std::collections::VecDeque;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::helpers::TempDir;

/// How long any one command or wait may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A headless Chromium and one page in it.
pub struct Browser {
    child: Child,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    events: VecDeque<Value>,
    _profile: TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Starts Chromium on a free debugging port and attaches to its page.
    pub fn launch() -> Self {
        let profile = TempDir::new("cdp-profile");
        let child = Command::new(super::browser::chromium())
            .args(super::browser::FLAGS)
            .arg("--remote-debugging-port=0")
            .arg(format!("--user-data-dir={}", profile.0.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        // Chromium writes the port it chose into the profile.
        let file = profile.0.join("DevToolsActivePort");
        let port = crate::helpers::wait_for(30, "Chromium's debugging port", || {
            std::fs::read_to_string(&file)
                .ok()
                .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<u16>().ok()))
        });
        let targets: Value = crate::helpers::wait_for(30, "Chromium's page", || {
            let list: Value = crate::helpers::client()
                .get(format!("http://127.0.0.1:{port}/json/list"))
                .send()
                .ok()?
                .json()
                .ok()?;
            list.as_array()?.iter().any(|t| t["type"] == "page").then_some(list)
        });
        let url = targets
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page")
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .expect("a page's WebSocket")
            .to_string();
        let (ws, _) = tungstenite::connect(url).expect("the page's WebSocket");
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        }
        let mut b = Browser {
            child,
            ws,
            next_id: 0,
            events: VecDeque::new(),
            _profile: profile,
        };
        b.call("Page.enable", json!({}));
        b.call("Runtime.enable", json!({}));
        b
    }

    /// The next message, or `None` after the read timeout.
    fn read(&mut self) -> Option<Value> {
        match self.ws.read() {
            Ok(Message::Text(t)) => Some(serde_json::from_str(t.as_str()).expect("CDP speaks JSON")),
            Ok(_) => None,
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
            {
                None
            }
            Err(e) => panic!("the DevTools connection failed: {e}"),
        }
    }

    /// Sends `method` and returns its result; panics on a protocol error.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({ "id": id, "method": method, "params": params }).to_string();
        self.ws.send(Message::text(msg)).expect("send a DevTools command");
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            let Some(m) = self.read() else { continue };
            if m["id"] == id {
                assert!(m.get("error").is_none(), "{method}: {m}");
                return m["result"].clone();
            }
            if m.get("method").is_some() {
                self.events.push_back(m);
            }
        }
        panic!("{method}: no answer in {TIMEOUT:?}");
    }

    /// Waits for the event `method` (one already queued counts).
    pub fn wait_event(&mut self, method: &str) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(i) = self.events.iter().position(|e| e["method"] == method) {
                return self.events.remove(i).unwrap();
            }
            assert!(Instant::now() < deadline, "no {method} in {TIMEOUT:?}");
            if let Some(m) = self.read()
                && m.get("method").is_some()
            {
                self.events.push_back(m);
            }
        }
    }

    /// A viewport `width` × `height` CSS pixels, as a phone or a laptop.
    pub fn viewport(&mut self, width: u32, height: u32) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500 }),
        );
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&mut self, url: &str) {
        self.events.clear();
        self.call("Page.navigate", json!({ "url": url }));
        self.wait_event("Page.loadEventFired");
    }

    /// The value of `js`, evaluated in the page.
    pub fn eval(&mut self, js: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": js, "returnByValue": true, "awaitPromise": true }),
        );
        assert!(r.get("exceptionDetails").is_none(), "{js}: {r}");
        r["result"]["value"].clone()
    }

    /// Runs `js` (which submits a form or follows a link) and waits for the next page.
    pub fn navigate_by(&mut self, js: &str) {
        self.events.clear();
        self.eval(js);
        self.wait_event("Page.loadEventFired");
    }

    /// The text of the first element matching `selector`, or `None`.
    pub fn text(&mut self, selector: &str) -> Option<String> {
        let js = format!(
            "(function(){{var e=document.querySelector({});return e?e.textContent:null;}})()",
            serde_json::to_string(selector).unwrap()
        );
        self.eval(&js).as_str().map(str::to_string)
    }

    /// A PNG of the whole page at the current width.
    pub fn screenshot(&mut self, path: &Path) {
        use base64::Engine;
        let r = self.call(
            "Page.captureScreenshot",
            json!({ "format": "png", "captureBeyondViewport": true }),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().expect("image data"))
            .expect("base64");
        std::fs::write(path, png).unwrap();
    }
}
