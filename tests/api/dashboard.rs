//! The dashboard's views, server-rendered, checked against the JSON API and
//! against figures worked out by hand: the month day by day with its budget
//! crossings and month picker, the next 14 days, NAT vs endpoints against
//! traffic. (How they render in Chromium is in browser.rs.)

use chrono::{Datelike, Duration, Utc};
use serde_json::Value;

use crate::client::{section, usd};
use crate::web::{OPERATOR, VIEWER, spawn_app};

/// The month picker's links and field.
fn month_nav(page: &str) -> &str {
    page.split("<nav id=months")
        .nth(1)
        .expect("the month picker")
        .split("</nav>")
        .next()
        .unwrap()
}

/// The rows of the day-by-day table: (date, basis, the total cell).
fn day_rows(page: &str) -> Vec<(String, String, String)> {
    let table = page
        .split("<details id=days>")
        .nth(1)
        .expect("the day-by-day table")
        .split("</details>")
        .next()
        .unwrap();
    table
        .split("<tr class=\"day ")
        .skip(1)
        .map(|r| {
            let basis = r.split('"').next().unwrap().to_string();
            let date = r.split("data-date=").nth(1).unwrap()[..10].to_string();
            let total = r
                .rsplit("<td class=n>")
                .next()
                .unwrap()
                .split("</td>")
                .next()
                .unwrap()
                .to_string();
            (date, basis, total)
        })
        .collect()
}

/// A past month is the ledger's actual figures, day by day, and a budget's
/// threshold is marked on the day spend passes it; the page's table and
/// the API's `days` agree.
#[test]
fn a_past_month_day_by_day_with_the_day_a_threshold_is_passed() {
    // A network budget of one month's endpoints, alarming at half of it.
    let app = spawn_app("dash-month", &|s| {
        s.replace(
            "[web]\n",
            "[[budgets]]\nname = \"net\"\nmonthly_usd = 47.19\nscope = \"network\"\nthresholds = [{ type = \"actual\", percent = 50 }]\n\n[web]\n",
        )
    });
    let session = app.sign_in(VIEWER);
    let (s, page) = session.get("/?month=2026-10");
    assert_eq!(s, 200, "{page}");
    let spend = section(&page, "spend");
    assert!(spend.contains("<h2>Spend, October 2026</h2>"), "{spend}");
    assert!(spend.contains("Past month: the ledger's actual figures."), "{spend}");
    assert!(spend.contains("<svg id=month-chart"), "{spend}");
    // October 2026 in UTC: 744 h, no ALB. The network is the seed's endpoints in us-east-1:
    // 3 interface endpoints × 2 AZs × 744 h × $0.01 = $44.64 + 255 GB × $0.01 = $2.55 → $47.19,
    // accrued by the hour. Day 1: 47.19 × 24 / 744 = 1.5222… → $1.52; day 16: × 384 / 744 =
    // 24.356… → $24.36. The threshold is 50% of $47.19 = $23.595: the 15th ends at
    // 47.19 × 360 / 744 = 22.834 (under), the 16th at 24.356 (over) → passed on Fri 16 Oct.
    let (s, view) = app.projection(Some(VIEWER), Some("2026-10"));
    assert_eq!(s, 200, "{view}");
    let api = &view["projection"];
    let days = api["days"].as_array().unwrap();
    assert_eq!(days.len(), 31);
    let network = |d: &Value| d["components"][0].clone();
    assert_eq!(network(&days[0])["component"], "network");
    assert_eq!(usd(&network(&days[0])["cumulative_usd"]), "$1.52");
    assert_eq!(usd(&network(&days[15])["cumulative_usd"]), "$24.36");
    assert!(
        days.iter().all(|d| d["basis"] == "actual"),
        "a past month is all actual"
    );
    assert_eq!(usd(&days[30]["cumulative_usd"]), usd(&api["projected_usd"]));
    // The page's table: the same days and totals as the API.
    let rows = day_rows(spend);
    assert_eq!(rows.len(), 31);
    for (row, day) in rows.iter().zip(days) {
        assert_eq!(row.0, day["date"].as_str().unwrap());
        assert_eq!(row.1, day["basis"].as_str().unwrap());
        assert_eq!(row.2, usd(&day["cumulative_usd"]), "{}", row.0);
    }
    assert!(
        spend.contains("<li>net (network) actual 50% $23.60: passed on <strong>Fri 16 Oct</strong> (actual)</li>"),
        "{spend}"
    );
    // The all-components budget ($100, forecast 80%) is drawn as levels; not passed in October.
    assert!(spend.contains("class=budget"), "the budget line");
    assert!(
        spend.contains("<li>networking (all) forecast 80% $80.00: not passed this month</li>"),
        "{spend}"
    );
}

/// The month picker: this month, the months before, the next one; a bad
/// or far month is said so and this month is shown.
#[test]
fn the_month_picker_moves_between_months_and_refuses_bad_ones() {
    let app = spawn_app("dash-picker", &|s| s);
    let session = app.sign_in(VIEWER);
    crate::helpers::wait_for(30, "the first projection", || {
        session.page().1.contains("id=month-chart").then_some(())
    });
    let now = Utc::now().date_naive();
    let this = format!("{:04}-{:02}", now.year(), now.month());
    let next = (now.with_day(1).unwrap() + Duration::days(32))
        .format("%Y-%m")
        .to_string();
    let after = (now.with_day(1).unwrap() + Duration::days(63))
        .format("%Y-%m")
        .to_string();
    let (_, page) = session.page();
    let nav = month_nav(&page);
    assert!(nav.contains("<strong>this month</strong>"), "{nav}");
    assert!(nav.contains(&format!("href=\"/?month={next}#spend\"")), "{nav}");
    assert!(nav.contains(&format!("value={this}")), "{nav}");
    // The next month is the schedule's alone; no link beyond it.
    let (s, page) = session.get(&format!("/?month={next}"));
    assert_eq!(s, 200);
    assert!(page.contains("Next month: the schedule's figures."), "{page}");
    let nav = month_nav(&page);
    assert!(!nav.contains(&after), "no link past next month: {nav}");
    let (_, view) = app.projection(Some(VIEWER), Some(&next));
    let api = &view["projection"];
    assert!(
        api["days"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["basis"] == "scheduled")
    );
    assert_eq!(api["month_to_date_usd"], "0");
    // Bad months: said so beside the picker, this month shown.
    for (bad, words) in [
        ("2026-13", "expected YYYY-MM"),
        ("bogus", "expected YYYY-MM"),
        ("2099-01", "years from"),
    ] {
        let (s, page) = session.get(&format!("/?month={bad}"));
        assert_eq!(s, 200);
        let err = page
            .split("<p class=error id=month-error>")
            .nth(1)
            .unwrap_or_else(|| panic!("an error for {bad}: {page}"))
            .split("</p>")
            .next()
            .unwrap();
        assert!(
            err.contains(words) && err.ends_with("; showing this month."),
            "{bad}: {err}"
        );
        assert!(page.contains("<strong>this month</strong>"));
    }
}

/// The next 14 days: the config's recurring windows and stored one-offs,
/// blackouts, the ALB kept through a short gap and why, each window's cost.
#[test]
fn the_next_14_days_show_windows_blackouts_gaps_and_costs() {
    let today = Utc::now().date_naive();
    let (d1, d2) = (today + Duration::days(1), today + Duration::days(2));
    let app = spawn_app("dash-days", &|s| {
        let s = s.replace(
            "blackout_dates = [\"2030-01-01\"]",
            &format!("blackout_dates = [\"{d2}\"]"),
        );
        format!("{s}\n[[schedule.windows]]\ncron = \"0 9 * * *\"\nduration = \"1h\"\ntimezone = \"UTC\"\n")
    });
    // Two one-offs 10 minutes apart tomorrow: one ALB for both is cheaper.
    for (start, end) in [("14:00", "14:30"), ("14:40", "15:00")] {
        let body = format!(r#"{{"start":"{d1} {start}","end":"{d1} {end}","note":"pair"}}"#);
        let (s, w) = app.add_window(Some(OPERATOR), &body);
        assert_eq!(s, 201, "{w}");
    }
    let (_, page) = app.dashboard(Some(VIEWER));
    let t = section(&page, "timeline");
    assert!(t.contains("<h2>Next 14 days</h2>"), "{t}");
    let rows: Vec<&str> = t
        .split("<div class=\"day")
        .skip(1)
        .filter(|r| !r.starts_with(" hours"))
        .collect();
    assert_eq!(rows.len(), 14, "{t}");
    let row = |d: chrono::NaiveDate| {
        *rows
            .iter()
            .find(|r| r.contains(&format!("data-date={d}")))
            .unwrap_or_else(|| panic!("a row for {d}"))
    };
    // Tomorrow: the recurring 09:00 window and both one-offs, each with its cost on its own.
    // us-east-1, no lead or grace, per lifetime: 1 billed h × $0.0225 + 2 public IPv4 ×
    // $0.005/h × its minutes: 60 min → 0.0325; 30 min → 0.0275; 20 min → 0.02583; all $0.03.
    let r1 = row(d1);
    assert!(
        r1.contains("<span class=\"slot\" data-window=\"cfg0@") && r1.contains(">09:00–10:00 · 1 h · $0.03</span>"),
        "{r1}"
    );
    assert!(
        r1.contains("data-window=\"w1\">14:00–14:30 · 1 h · $0.03</span>"),
        "{r1}"
    );
    assert!(
        r1.contains("data-window=\"w2\">14:40–15:00 · 1 h · $0.03</span>"),
        "{r1}"
    );
    assert!(
        r1.contains("class=\"bar win oneoff\""),
        "one-offs drawn apart from recurring"
    );
    assert!(
        r1.contains("class=\"bar life gap\""),
        "one lifetime kept through the gap"
    );
    // The day after: blacked out, so the recurring window does not open.
    let r2 = row(d2);
    assert!(r2.starts_with(" blacked\""), "{r2}");
    assert!(r2.contains("class=\"bar blackout\""), "{r2}");
    assert!(!r2.contains("data-window"), "no window on a blackout day: {r2}");
    // Why the gap is kept, in words.
    let gaps = t
        .split("<ul id=gaps>")
        .nth(1)
        .expect("the gaps list")
        .split("</ul>")
        .next()
        .unwrap();
    assert!(gaps.contains("14:30–14:40 (between w1 and w2)"), "{gaps}");
    // The API plans the same: one lifetime 14:00–15:00 for w1 and w2.
    let (_, list) = app.windows(Some(VIEWER));
    let planned = list["planned_lifetimes"].as_array().unwrap();
    let pair = planned
        .iter()
        .find(|l| l["windows"] == serde_json::json!(["w1", "w2"]))
        .unwrap_or_else(|| panic!("one lifetime for both: {list}"));
    assert_eq!(pair["start"].as_str().unwrap(), format!("{d1}T14:00:00Z"));
    assert!(!pair["coalesced_gaps"].as_array().unwrap().is_empty());
}

/// NAT vs endpoints as a picture: each option against traffic, today's
/// traffic marked, where an interface endpoint pays for itself.
#[test]
fn nat_vs_endpoints_is_drawn_against_traffic_with_break_even_points() {
    let app = spawn_app("dash-network", &|s| s);
    let (_, page) = app.dashboard(Some(VIEWER));
    let n = section(&page, "network");
    let chart = n
        .split("<svg id=network-chart")
        .nth(1)
        .expect("the chart")
        .split("</svg>")
        .next()
        .unwrap();
    for option in ["endpoints_only", "hybrid", "nat_per_az", "nat_single"] {
        assert!(
            chart.contains(&format!("class=\"option {option}\"")),
            "{option}: {chart}"
        );
    }
    // The seed's VPC: 500 GB S3 + 5 ecr.api + 200 ecr.dkr + 50 logs = 755 GB/month.
    assert!(chart.contains(">now 755 GB</text>"), "{chart}");
    // us-east-1: an interface endpoint in 2 AZs costs 2 × 730 h × $0.01 = $14.60/month and
    // saves $0.045 − $0.01 = $0.035/GB of NAT processing: 14.60 / 0.035 = 417.14 GB/month.
    // As total traffic with the mix kept, ecr.dkr (200 of 755) gets there at 417.14 × 755 / 200
    // = 1,574.7 GB (drawn; the axis runs to 2,000); logs at 6,298.6 and ecr.api at 62,986 are
    // beyond five times today's traffic and only listed.
    assert!(chart.contains(">2,000 GB</text>"), "{chart}");
    let marks: Vec<&str> = chart.split("class=break-even").skip(1).collect();
    assert_eq!(marks.len(), 1, "{chart}");
    assert!(marks[0].contains(">ecr.dkr</text>"), "{chart}");
    assert!(
        n.contains("<li><code>ecr.dkr</code>: 200 GB/month today (estimate); its endpoint pays for itself above 417.14 GB/month of its own traffic</li>"),
        "{n}"
    );
    assert!(n.contains("<p id=traffic-source class=estimate>"), "{n}");
    assert!(
        n.contains("<p id=recommendation><code>endpoints_only</code> is the cheapest"),
        "{n}"
    );
    assert!(!n.contains('`'), "no Markdown in HTML: {n}");
}

/// A projection scenario whose traffic `costd traffic` measured: the chart
/// and the break-even list say which volumes are measured and which are not.
#[test]
fn measured_traffic_is_marked_as_measured() {
    let dir = crate::helpers::TempDir::new("dash-measured-scenario");
    let seed =
        std::fs::read_to_string(crate::helpers::repo().join("config/scenarios/seed-production-vpc.toml")).unwrap();
    // As `costd traffic --scenario … --write` leaves it, with ecr.api kept as an estimate.
    let measured = seed.replacen(
        "[load_balancer]",
        "[network.measured]\nsource = \"VPC Flow Logs: 24 file(s), 1000 records\"\nfrom = \"2026-11-20T00:00:00+00:00\"\nto = \"2026-11-21T00:00:00+00:00\"\nrecords = 1000\nestimated = [\"ecr.api\"]\n\n[load_balancer]",
        1,
    );
    let path = dir.write("measured.toml", &measured);
    let path = path.display().to_string();
    let app = spawn_app("dash-measured", &|s| {
        format!("{s}\n[projection]\nscenario = \"{path}\"\n")
    });
    let (_, page) = app.dashboard(Some(VIEWER));
    let n = section(&page, "network");
    assert!(
        n.contains("<p id=traffic-source class=measured>Traffic measured: VPC Flow Logs: 24 file(s), 1000 records (2026-11-20T00:00:00+00:00 to 2026-11-21T00:00:00+00:00)."),
        "{n}"
    );
    assert!(
        n.contains("<li><code>ecr.dkr</code>: 200 GB/month today (measured);"),
        "{n}"
    );
    assert!(
        n.contains("<li><code>ecr.api</code>: 5 GB/month today (estimate);"),
        "{n}"
    );
}
