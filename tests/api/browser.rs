//! The dashboard in a real headless Chromium (Debian `chromium`, installed by
//! tests/run.sh and .ci/run): the public page's DOM as Chromium builds it;
//! then, driven over the DevTools protocol (cdp.rs), each view at a phone's
//! and a laptop's width against the API's figures, a window priced and
//! booked through the form, and screenshots in `target/screenshots/`.

use std::path::Path;
use std::process::Command;

use crate::cdp::Browser;
use crate::client::usd;
use crate::helpers::{TempDir, repo};
use crate::web::{OPERATOR, VIEWER, spawn_app};

pub fn chromium() -> &'static str {
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: run `bash tests/run.sh` (it installs Debian's chromium)"
    );
    "/usr/bin/chromium"
}

/// The flags this machine needs: headless, no sandbox (as root), nothing
/// fetched in the background.
pub const FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
];

/// Runs headless Chromium with [`FLAGS`] and `args`.
fn headless(profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new(chromium())
        .args(FLAGS)
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
}

/// Measures the laid-out page from inside it: the viewport, how wide the
/// document is, the title's and the body text's font sizes, each chart's
/// width and the smallest and largest text in it as drawn (font size × the
/// SVG's scale), the 14-day tracks' widths, the page's size, and the figures
/// shown (the projected total, each day's total).
const MEASURE: &str = r#"(function () {
  var px = function (el) { return parseFloat(getComputedStyle(el).fontSize); };
  var r = { inner: window.innerWidth, scroll: document.documentElement.scrollWidth,
            h1: px(document.querySelector('h1')), body: px(document.body), charts: [], tracks: [],
            bytes: document.documentElement.outerHTML.length };
  document.querySelectorAll('svg').forEach(function (svg) {
    var box = svg.getBoundingClientRect(), scale = box.width / svg.viewBox.baseVal.width;
    var sizes = Array.prototype.map.call(svg.querySelectorAll('text'), function (t) { return px(t) * scale; });
    r.charts.push({ id: svg.id, width: box.width, right: box.right,
                    min: Math.min.apply(null, sizes), max: Math.max.apply(null, sizes) });
  });
  document.querySelectorAll('#timeline .day .track').forEach(function (t) {
    r.tracks.push(t.getBoundingClientRect().width);
  });
  var p = document.getElementById('projected');
  r.projected = p ? p.textContent : null;
  r.month = document.querySelector('#spend h2').textContent;
  r.days = Array.prototype.map.call(document.querySelectorAll('#days tr.day'), function (tr) {
    return [tr.getAttribute('data-date'), tr.lastElementChild.textContent];
  });
  return r;
})()"#;

/// The page's day-by-day figures are the API's for the same month.
fn same_days(layout: &serde_json::Value, api: &serde_json::Value) {
    let days = api["days"].as_array().unwrap();
    let shown = layout["days"].as_array().unwrap();
    assert_eq!(shown.len(), days.len(), "{layout}");
    for (row, day) in shown.iter().zip(days) {
        assert_eq!(row[0], day["date"]);
        assert_eq!(row[1].as_str().unwrap(), usd(&day["cumulative_usd"]), "{row}");
    }
}

/// Checks the layout at `width`: nothing wider than the screen, chart text
/// readable and no larger than the body text, the 14-day rows usable.
fn fits(layout: &serde_json::Value, width: u32, min_text_px: f64) {
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
    let body = f(&layout["body"]);
    assert!(f(&layout["h1"]) > body, "the title above the body text: {layout}");
    let charts = layout["charts"].as_array().unwrap();
    let ids: Vec<&str> = charts.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["month-chart", "chart", "network-chart"], "{layout}");
    for c in charts {
        assert!(f(&c["right"]) <= width as f64, "{} inside the screen: {c}", c["id"]);
        assert!(
            f(&c["max"]) <= body,
            "{} text ({} px) no larger than the body text ({body} px) at {width} px",
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
    assert!(
        f(&layout["bytes"]) < 100.0 * 1024.0,
        "the page stays under 100 KB: {layout}"
    );
}

/// The dashboard in Chromium at a phone's (390 px) and a laptop's (1280 px)
/// width, signed in as an operator: each view fits the screen, its figures
/// are the API's (this month, the month before through the picker), and a
/// window is priced with the form's preview (the API's quote) and booked
/// (the API lists it); screenshots of both widths.
#[test]
fn the_dashboard_in_chromium_at_phone_and_laptop_widths_matches_the_api_and_books_a_window() {
    let app = spawn_app("browser-layout", &|s| {
        s.replace(
            "lead_minutes = 0\ngrace_minutes = 0",
            "lead_minutes = 5\ngrace_minutes = 5",
        )
    });
    crate::helpers::wait_for(30, "the first projection", || {
        (app.projection(Some(VIEWER), None).1["projection"]["at"].is_string()).then_some(())
    });
    let base = format!("http://{}", app.addr);
    let shots = repo().join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let mut b = Browser::launch();
    b.goto(&format!("{base}/"));
    b.navigate_by(&format!(
        "document.querySelector('input[name=token]').value = '{OPERATOR}'; document.querySelector('form[action=\"/login\"]').submit()"
    ));
    assert!(b.text("#book").is_some(), "signed in as an operator");
    let day = (chrono::Utc::now() + chrono::Duration::days(3)).date_naive();
    for (width, min_text_px) in [(390, 9.5), (1280, 11.0)] {
        b.viewport(width, 900);
        // This month: the page and the API read the same cached projection; take a
        // page loaded between two reads of the API that found the same one.
        let (layout, api) = crate::helpers::wait_for(30, "a projection that holds still", || {
            let (_, before) = app.projection(Some(VIEWER), None);
            b.goto(&format!("{base}/"));
            let layout = b.eval(MEASURE);
            let (_, after) = app.projection(Some(VIEWER), None);
            (before["projection"]["at"] == after["projection"]["at"]).then(|| (layout, after["projection"].clone()))
        });
        fits(&layout, width, min_text_px);
        assert_eq!(layout["projected"].as_str().unwrap(), usd(&api["projected_usd"]));
        same_days(&layout, &api);
        b.screenshot(&shots.join(format!("dashboard-{width}.png")));
        // The month before, through the picker.
        b.navigate_by("document.querySelector('#months a').click()");
        let before = b.eval(MEASURE);
        fits(&before, width, min_text_px);
        let month = before["days"][0][0].as_str().unwrap()[..7].to_string();
        let (_, past) = app.projection(Some(VIEWER), Some(&month));
        assert!(before["month"].as_str().unwrap().starts_with("Spend, "), "{before}");
        assert_eq!(
            before["projected"].as_str().unwrap(),
            usd(&past["projection"]["projected_usd"])
        );
        same_days(&before, &past["projection"]);
        // Price a window with the form, then book it.
        b.goto(&format!("{base}/"));
        let start = if width == 390 { "09:00" } else { "14:00" };
        let note = format!("booked at {width} px");
        b.navigate_by(&format!(
            "document.getElementById('book-start').value = '{day} {start}'; document.getElementById('book-duration').value = '3h'; \
             document.getElementById('book-note').value = '{note}'; document.querySelector('button[value=preview]').click()"
        ));
        let (s, quote) = app.json(
            "POST",
            "/api/v1/windows/quote",
            Some(VIEWER),
            &format!(r#"{{"start":"{day} {start}","duration":"3h"}}"#),
        );
        assert_eq!(s, 200, "{quote}");
        let est = &quote["alb_cost"]["estimate"];
        // 3 h + 5 + 5 min = 190 min → 4 billed hours (lead and grace add one): the advice shows.
        assert_eq!(est["billed_hours"], 4);
        assert_eq!(b.text("#quote-hours").as_deref(), Some("4"));
        assert_eq!(b.text("#quote-usd").unwrap(), usd(&est["fixed_usd"]));
        let advice = b.text("#quote-advice").expect("the advice");
        assert!(
            advice.contains(&format!(
                "a window {} min shorter",
                est["extra_hour"]["shorten_by_minutes"]
            )),
            "{advice}"
        );
        let (_, list) = app.windows(Some(VIEWER));
        assert!(!list.to_string().contains(&note), "a preview books nothing");
        b.navigate_by("document.querySelector('button[value=book]').click()");
        let day_name = day.format("%a %d %b");
        let booked = b.text("#booked").expect("a confirmation");
        assert!(
            booked.contains(&format!("{day_name} {start} → ")) && booked.contains("4 billed h"),
            "{booked}"
        );
        assert!(booked.contains(&usd(&est["fixed_usd"])), "{booked}");
        let (_, list) = app.windows(Some(VIEWER));
        let stored = list["windows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["note"] == note.as_str())
            .unwrap_or_else(|| panic!("booked: {list}"));
        assert_eq!(stored["start"].as_str().unwrap(), format!("{day}T{start}:00Z"));
        // It shows in the next 14 days.
        let slot = b
            .text(&format!("[data-window=\"w{}\"]", stored["id"]))
            .expect("the booked window in the next 14 days");
        assert!(slot.starts_with(start), "{slot}");
    }
    for width in [390, 1280] {
        let len = std::fs::metadata(shots.join(format!("dashboard-{width}.png"))).map_or(0, |m| m.len());
        assert!(len > 10_000, "a real screenshot at {width} px ({len} bytes)");
    }
}
