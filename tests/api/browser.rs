//! The dashboard in a real headless Chromium (Debian `chromium`, installed by
//! tests/run.sh and .ci/run): the chart, the banner and the windows render;
//! a window created with the operator token shows up on the page.

use std::path::Path;
use std::process::Command;

use crate::helpers::{TempDir, repo};
use crate::web::{OPERATOR, spawn_app};

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
        ("dashboard-phone.png", "390,1800"),
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
