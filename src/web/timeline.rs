//! The dashboard's next days: one row per local day with the demo windows
//! (recurring and one-off), the ALB lifetimes the planner wants around them
//! (lead, grace, gaps kept through), what already ran, and blackouts; then
//! each window's cost on its own and why each gap is kept. HTML and CSS
//! only, so it reflows on a phone; positions are percentages of the day.

use std::fmt::Write;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::dashboard::esc;
use crate::money::format_usd;
use crate::schedule::Interval;
use crate::schedule::planner::{DemoWindow, PlannedLifetime, PlannerSettings, window_cost};

/// What the next days show.
pub struct Timeline<'a> {
    /// The local days, each with its span (23 or 25 hours across DST).
    pub days: Vec<(NaiveDate, Interval)>,
    /// Demo windows overlapping them.
    pub windows: &'a [DemoWindow],
    /// The lifetimes the planner wants: the current one and the upcoming.
    pub planned: &'a [PlannedLifetime],
    /// Lifetimes in the ledger over the days (created → deleted, or now).
    pub ran: &'a [Interval],
    /// Blackout spans over the days.
    pub blackouts: &'a [Interval],
    /// Lead, grace, the billing rule and rates.
    pub settings: &'a PlannerSettings,
    /// The deployment's zone.
    pub tz: Tz,
    /// Now.
    pub now: DateTime<Utc>,
}

/// The local days from `now`'s on, `count` of them, in `tz`.
pub fn local_days(now: DateTime<Utc>, tz: Tz, count: u32) -> Vec<(NaiveDate, Interval)> {
    let midnight = |d: NaiveDate| crate::schedule::cron::resolve_local(tz, d.and_hms_opt(0, 0, 0).expect("midnight"));
    let mut day = now.with_timezone(&tz).date_naive();
    let mut out = Vec::new();
    for _ in 0..count {
        let Some(next) = day.succ_opt() else { break };
        if let Some(span) = Interval::new(midnight(day), midnight(next)) {
            out.push((day, span));
        }
        day = next;
    }
    out
}

/// `left:…%;width:…%` of `iv` within `day` (at least a sliver, so a short one shows).
fn place(iv: &Interval, day: &Interval) -> Option<String> {
    let part = iv.clip(day)?;
    let total = day.seconds().max(1) as f64;
    let left = 100.0 * (part.start - day.start).num_seconds() as f64 / total;
    let width = (100.0 * part.seconds() as f64 / total).max(0.6);
    Some(format!("left:{left:.2}%;width:{width:.2}%"))
}

/// The most bars of one kind (windows, planned, ran) drawn in one day: one
/// every 15 minutes. More would be drawn over each other anyway.
pub const MAX_BARS_PER_DAY: usize = 96;

/// The most windows one day lists with their cost; the rest are counted.
pub const MAX_SLOTS_PER_DAY: usize = 24;

/// Renders the section.
pub fn render(h: &mut String, t: &Timeline) {
    let hm = |x: DateTime<Utc>| x.with_timezone(&t.tz).format("%H:%M").to_string();
    let day_name = |x: DateTime<Utc>| x.with_timezone(&t.tz).format("%a %d %b").to_string();
    let _ = write!(
        h,
        "<section id=timeline><h2>Next {} days</h2><p class=\"muted key\"><span class=\"sw win\"></span> demo window \
         <span class=\"sw win oneoff\"></span> one-off window <span class=\"sw life\"></span> ALB planned (lead {} min, grace {} min) \
         <span class=\"sw life gap\"></span> kept through a gap <span class=\"sw ran\"></span> ran \
         <span class=\"sw blackout\"></span> blackout · times in {}</p><div class=cal>\
         <div class=\"day hours\" aria-hidden=true><div></div><div class=ticks><span style=\"left:0\">00</span><span style=\"left:25%\">06</span>\
         <span style=\"left:50%\">12</span><span style=\"left:75%\">18</span></div></div>",
        t.days.len(),
        t.settings.lead.num_minutes(),
        t.settings.grace.num_minutes(),
        esc(t.tz.name())
    );
    for (date, span) in &t.days {
        let blacked = t.blackouts.iter().any(|b| b.clip(span).is_some());
        let _ = write!(
            h,
            "<div class=\"day{}\" data-date={date}><div class=date>{}</div><div class=track>",
            if blacked { " blacked" } else { "" },
            date.format("%a %d %b")
        );
        for b in t.blackouts {
            if let Some(style) = place(b, span) {
                let _ = write!(
                    h,
                    "<span class=\"bar blackout\" style=\"{style}\" title=\"blackout: recurring windows do not open\"></span>"
                );
            }
        }
        for r in t.ran.iter().filter(|r| r.clip(span).is_some()).take(MAX_BARS_PER_DAY) {
            if let Some(style) = place(r, span) {
                let _ = write!(
                    h,
                    "<span class=\"bar ran\" style=\"{style}\" title=\"ALB ran {}–{}\"></span>",
                    hm(r.start),
                    hm(r.end)
                );
            }
        }
        let planned = t
            .planned
            .iter()
            .filter_map(|l| Some((l, Interval::new(l.start.max(t.now), l.end)?)))
            .filter(|(_, iv)| iv.clip(span).is_some());
        for (l, iv) in planned.take(MAX_BARS_PER_DAY) {
            if let Some(style) = place(&iv, span) {
                let _ = write!(
                    h,
                    "<span class=\"bar life{}\" style=\"{style}\" title=\"ALB {}–{} for {}\"></span>",
                    if l.coalesced_gaps.is_empty() { "" } else { " gap" },
                    hm(l.start),
                    hm(l.end),
                    esc(&l.window_ids.join(", "))
                );
            }
        }
        for w in t
            .windows
            .iter()
            .filter(|w| w.interval.clip(span).is_some())
            .take(MAX_BARS_PER_DAY)
        {
            if let Some(style) = place(&w.interval, span) {
                let _ = write!(
                    h,
                    "<span class=\"bar win{}\" style=\"{style}\" title=\"{} {}–{}\"></span>",
                    if w.id.starts_with('w') { " oneoff" } else { "" },
                    esc(&w.id),
                    hm(w.interval.start),
                    hm(w.interval.end)
                );
            }
        }
        let _ = write!(h, "</div><div class=what>");
        let mut any = false;
        if blacked {
            let _ = write!(h, "<span class=muted>blackout</span> ");
            any = true;
        }
        // Each window that opens this day, with its ALB's cost on its own.
        let opening: Vec<&DemoWindow> = t
            .windows
            .iter()
            .filter(|w| span.start <= w.interval.start && w.interval.start < span.end)
            .collect();
        for w in opening.iter().take(MAX_SLOTS_PER_DAY) {
            let c = window_cost(w.interval, t.settings, t.now);
            let _ = write!(
                h,
                "<span class=\"slot\" data-window=\"{}\">{}–{} · {} h · {}",
                esc(&w.id),
                hm(w.interval.start),
                hm(w.interval.end),
                c.billed_hours,
                format_usd(c.fixed_usd)
            );
            if let Some(x) = &c.extra_hour {
                let _ = write!(
                    h,
                    " <span class=extra-hour>{} min shorter saves {}</span>",
                    x.shorten_by_minutes,
                    format_usd(x.saves_usd)
                );
            }
            let _ = write!(h, "</span> ");
            any = true;
        }
        if let Some(more) = opening.len().checked_sub(MAX_SLOTS_PER_DAY).filter(|m| *m > 0) {
            let _ = write!(
                h,
                "<span class=\"muted more\">+{more} more this day (<code>costd windows list</code> lists them all)</span>"
            );
        }
        if !any {
            let _ = write!(h, "<span class=muted>no window</span>");
        }
        let _ = write!(h, "</div></div>");
    }
    let _ = write!(h, "</div>");
    let gaps: Vec<_> = t
        .planned
        .iter()
        .flat_map(|l| l.coalesced_gaps.iter())
        .filter(|g| t.days.iter().any(|(_, d)| g.gap.clip(d).is_some()))
        .collect();
    if !gaps.is_empty() {
        let _ = write!(h, "<h3>Gaps the ALB is kept through</h3><ul id=gaps>");
        for g in gaps {
            let _ = write!(
                h,
                "<li>{} {}–{} (between {} and {}): {}</li>",
                day_name(g.gap.start),
                hm(g.gap.start),
                hm(g.gap.end),
                esc(&g.between.0),
                esc(&g.between.1),
                esc(&g.why)
            );
        }
        let _ = write!(h, "</ul>");
    }
    let _ = write!(
        h,
        "<p class=muted>Each window's cost is its ALB on its own (hours + public IPv4; {}); windows close together share one ALB.</p></section>",
        t.settings.partial_hour.describe()
    );
}

/// The section's styles.
pub const CSS: &str = ".cal{display:grid;gap:2px}.day{display:grid;grid-template-columns:92px 1fr;gap:2px 8px;align-items:center;padding:3px 0;border-bottom:1px solid #eceef2}\
.day .date{font-size:13px;font-weight:600}.day .what{grid-column:2;font-size:13px}.track{position:relative;height:22px;border-radius:4px;\
background:repeating-linear-gradient(to right,#eef0f4 0,#eef0f4 calc(25% - 1px),#d5d9e0 calc(25% - 1px),#d5d9e0 25%)}\
.bar{position:absolute;border-radius:3px}.bar.life{top:2px;height:18px;background:#cde9f8}.bar.life.gap{background:#efd5e6}.bar.ran{top:2px;height:18px;background:#56B4E9}\
.bar.win{top:6px;height:10px;background:#0072B2}.bar.win.oneoff{background:#E69F00}.bar.blackout{top:0;height:22px;background:repeating-linear-gradient(45deg,#0000 0,#0000 4px,#D55E0066 4px,#D55E0066 7px)}\
.ticks{position:relative;height:14px;font-size:11px;color:#667}.ticks span{position:absolute;padding-left:2px}.day.hours{border:0;padding:0}\
.slot{white-space:nowrap;margin-right:10px}.sw{display:inline-block;width:14px;height:10px;border-radius:2px;vertical-align:middle}\
.sw.win{background:#0072B2}.sw.win.oneoff{background:#E69F00}.sw.life{background:#cde9f8}.sw.life.gap{background:#efd5e6}.sw.ran{background:#56B4E9}\
.sw.blackout{background:repeating-linear-gradient(45deg,#0000 0,#0000 3px,#D55E0099 3px,#D55E0099 5px)}\
@media (max-width:520px){.day{grid-template-columns:1fr}.day .what{grid-column:1}.day.hours>div:first-child{display:none}}";

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use rust_decimal_macros::dec;

    /// A day of windows every 5 minutes (288) draws at most 96 bars of each
    /// kind and lists 24 windows with their cost, counting the rest: the
    /// page grows with the days shown, not with how densely they are booked.
    #[test]
    fn a_densely_booked_day_is_drawn_and_listed_within_its_caps() {
        let tz: Tz = "Asia/Singapore".parse().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 16, 0, 0).unwrap(); // midnight local, Dec 3
        let days = local_days(now, tz, 1);
        let windows: Vec<DemoWindow> = (0..288)
            .map(|i| {
                let start = now + Duration::minutes(5 * i);
                DemoWindow {
                    id: format!("w{i}"),
                    interval: Interval::new(start, start + Duration::minutes(4)).unwrap(),
                }
            })
            .collect();
        let settings = PlannerSettings {
            lead: Duration::zero(),
            grace: Duration::zero(),
            coalesce: false,
            lb_usd_per_hour: dec!(0.0252),
            ipv4_usd_per_hour: dec!(0.01),
            partial_hour: crate::cost::billing::PartialHour::ClockHour,
        };
        let ran: Vec<Interval> = windows.iter().map(|w| w.interval).collect();
        let mut h = String::new();
        render(
            &mut h,
            &Timeline {
                days,
                windows: &windows,
                planned: &[],
                ran: &ran,
                blackouts: &[],
                settings: &settings,
                tz,
                now,
            },
        );
        assert_eq!(h.matches("class=\"bar win oneoff\"").count(), MAX_BARS_PER_DAY);
        assert_eq!(h.matches("class=\"bar ran\"").count(), MAX_BARS_PER_DAY);
        assert_eq!(h.matches("class=\"slot\"").count(), MAX_SLOTS_PER_DAY);
        // 288 − 24 = 264 counted, not listed.
        assert!(h.contains("+264 more this day"), "{h}");
        // The first of them are the ones listed: 00:00, 00:05, …
        assert!(h.contains("data-window=\"w0\">00:00–00:04"), "{h}");
        assert!(!h.contains("data-window=\"w24\""), "{h}");
    }
}
