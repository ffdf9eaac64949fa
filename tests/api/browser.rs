//! The dashboard in a real headless Chromium (Debian `chromium`, installed by
//! tests/run.sh and .ci/run): the chart, the banner and the windows render;
//! a window created with the operator token shows up on the page.

use std::path::Path;
use std::process::Command;

use crate::helpers::{TempDir, repo};
use crate::web::{OPERATOR, VIEWER, spawn_app};

fn chromium() -> &'static str {
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: run `bash tests/run.sh` (it installs Debian's chromium)"
    );
    "/usr/bin/chromium"
}

/// Runs headless Chromium with the flags this machine needs (no sandbox as root, no background networking).
fn headless(profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("run chromium")
}

#[test]
fn the_dashboard_renders_in_chromium_and_shows_a_new_window() {
    let app = spawn_app("browser", &|s| {
        s.replace("public_dashboard = false", "public_dashboard = true")
    });
    let url = format!("http://{}/", app.addr);
    let profile = TempDir::new("chromium-profile");
    // Wait for the first projection so the chart has data.
    crate::helpers::wait_for(30, "the first projection", || {
        app.dashboard(None).1.contains("id=chart").then_some(())
    });
    let (s, w) = app.add_window(
        Some(OPERATOR),
        r#"{"start":"now","duration":"45m","note":"customer demo from the browser test"}"#,
    );
    assert_eq!(s, 201, "{w}");

    let out = headless(&profile.0, &["--dump-dom", &url]);
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("<svg id=\"chart\""), "the spend chart is in the DOM");
    assert!(
        dom.contains("class=\"actual\"") && dom.contains("class=\"scheduled\""),
        "stacked bars"
    );
    assert!(
        dom.contains("id=\"banner\"") && dom.contains("Budgets OK"),
        "the alarm banner"
    );
    assert!(
        dom.contains("customer demo from the browser test"),
        "the new window is listed"
    );
    assert!(dom.contains("id=\"timeline\""), "the timeline");
    assert!(dom.contains("id=\"recommendation\""), "NAT vs endpoints");

    let shots = repo().join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for (name, size) in [
        ("dashboard-laptop.png", "1280,1800"),
        // A headless window is at least 500 px wide; the 390 px layout is checked in a frame below.
        ("dashboard-narrow.png", "500,1800"),
    ] {
        let path = shots.join(name);
        let _ = std::fs::remove_file(&path);
        let out = headless(
            &profile.0,
            &[
                &format!("--screenshot={}", path.display()),
                &format!("--window-size={size}"),
                &url,
            ],
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(len > 10_000, "{name} is a real image ({len} bytes)");
    }
}

/// Measures the laid-out page from inside Chromium and writes what it found
/// into `<body data-layout=…>`: the viewport, how wide the document is, the
/// title's font size, each chart's width and the smallest and largest text in
/// it as drawn (font size × the SVG's scale), the 14-day tracks' widths, and
/// the figures shown (the projected total, each day's total).
const MEASURE: &str = r#"<script>
(function () {
  var px = function (el) { return parseFloat(getComputedStyle(el).fontSize); };
  var r = { inner: window.innerWidth, scroll: document.documentElement.scrollWidth,
            h1: px(document.querySelector('h1')), charts: [], tracks: [] };
  document.querySelectorAll('svg').forEach(function (svg) {
    var box = svg.getBoundingClientRect(), scale = box.width / svg.viewBox.baseVal.width;
    var sizes = Array.prototype.map.call(svg.querySelectorAll('text'), function (t) { return px(t) * scale; });
    r.charts.push({ id: svg.id, width: box.width, right: box.right,
                    min: Math.min.apply(null, sizes), max: Math.max.apply(null, sizes) });
  });
  document.querySelectorAll('#timeline .day .track').forEach(function (t) {
    r.tracks.push(t.getBoundingClientRect().width);
  });
  r.projected = document.getElementById('projected').textContent;
  r.days = Array.prototype.map.call(document.querySelectorAll('#days tr.day'), function (tr) {
    return [tr.getAttribute('data-date'), tr.lastElementChild.textContent];
  });
  document.body.setAttribute('data-layout', JSON.stringify(r));
})();
</script>"#;

/// A page holding `page` in a frame `width` px wide (a headless window is at
/// least 500 px wide; a frame can be a phone's), which copies the page's
/// measurements out onto its own body for `--dump-dom`.
fn frame(page: &str, width: u32) -> String {
    format!(
        "<!doctype html><html><body style=\"margin:0\"><iframe id=f src=\"{page}\" style=\"border:0;width:{width}px;height:2400px\"></iframe>\
         <script>document.getElementById('f').addEventListener('load', function () {{\
         document.body.setAttribute('data-layout', this.contentDocument.body.getAttribute('data-layout')); }});</script></body></html>"
    )
}

/// The dashboard at a phone's and a laptop's width in Chromium: nothing wider
/// than the screen, chart text readable and never larger than the page title,
/// the 14-day rows usable; the figures Chromium shows are the API's.
#[test]
fn the_dashboard_fits_a_phone_and_a_laptop_and_shows_the_apis_figures() {
    let app = spawn_app("browser-layout", &|s| {
        s.replace("public_dashboard = false", "public_dashboard = true")
    });
    crate::helpers::wait_for(30, "the first projection", || {
        app.dashboard(None).1.contains("id=month-chart").then_some(())
    });
    let (s, w) = app.add_window(
        Some(OPERATOR),
        r#"{"start":"now","duration":"45m","note":"layout check"}"#,
    );
    assert_eq!(s, 201, "{w}");
    // The page and the API read the same cached projection: take a page
    // fetched between two reads of the API that found the same one.
    let (api, page) = crate::helpers::wait_for(30, "a projection that holds still", || {
        let (_, before) = app.projection(Some(VIEWER), None);
        let (s, page) = app.dashboard(None);
        let (_, after) = app.projection(Some(VIEWER), None);
        (s == 200 && before["projection"]["at"] == after["projection"]["at"])
            .then(|| (after["projection"].clone(), page))
    });
    let api = &api;
    // The page as served, with the measuring script added (the served page
    // forbids scripts; this copy is opened from a file).
    let dir = TempDir::new("chromium-layout");
    let file = dir.0.join("dashboard.html");
    std::fs::write(&file, page.replace("</body>", &format!("{MEASURE}</body>"))).unwrap();
    let profile = TempDir::new("chromium-layout-profile");
    for (width, min_text_px) in [(390, 9.5), (1280, 11.0)] {
        let holder = dir.0.join(format!("at-{width}.html"));
        std::fs::write(&holder, frame("dashboard.html", width)).unwrap();
        let out = headless(
            &profile.0,
            &[
                "--window-size=1400,2400",
                "--allow-file-access-from-files",
                "--dump-dom",
                &format!("file://{}", holder.display()),
            ],
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let dom = String::from_utf8_lossy(&out.stdout).to_string();
        let layout: serde_json::Value = serde_json::from_str(
            &dom.split("data-layout=\"")
                .nth(1)
                .expect("the measurements")
                .split('"')
                .next()
                .unwrap()
                .replace("&quot;", "\""),
        )
        .unwrap();
        let f = |v: &serde_json::Value| v.as_f64().unwrap();
        assert_eq!(
            f(&layout["inner"]),
            width as f64,
            "the viewport is {width} px: {layout}"
        );
        assert!(
            f(&layout["scroll"]) <= f(&layout["inner"]),
            "nothing wider than {width} px: {layout}"
        );
        let h1 = f(&layout["h1"]);
        let charts = layout["charts"].as_array().unwrap();
        let ids: Vec<&str> = charts.iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["month-chart", "chart", "network-chart"], "{layout}");
        for c in charts {
            assert!(f(&c["right"]) <= width as f64, "{} inside the screen: {c}", c["id"]);
            assert!(
                f(&c["max"]) <= h1,
                "{} text ({} px) no larger than the title ({h1} px) at {width} px",
                c["id"],
                c["max"]
            );
            assert!(
                f(&c["min"]) >= min_text_px,
                "{} text readable at {width} px: {} px",
                c["id"],
                c["min"]
            );
        }
        let tracks = layout["tracks"].as_array().unwrap();
        assert_eq!(tracks.len(), 14, "{layout}");
        assert!(
            tracks.iter().all(|t| f(t) >= 0.75 * (width.min(980) - 60) as f64),
            "the day tracks take the width: {layout}"
        );
        // What Chromium shows is the API's.
        let usd = |v: &serde_json::Value| {
            costd::money::format_usd(v.as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap())
        };
        assert_eq!(layout["projected"].as_str().unwrap(), usd(&api["projected_usd"]));
        let days = api["days"].as_array().unwrap();
        let shown = layout["days"].as_array().unwrap();
        assert_eq!(shown.len(), days.len(), "{layout}");
        for (row, day) in shown.iter().zip(days) {
            assert_eq!(row[0], day["date"]);
            assert_eq!(row[1].as_str().unwrap(), usd(&day["cumulative_usd"]), "{row}");
        }
    }
}
