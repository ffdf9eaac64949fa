//! The dashboard's inline SVG charts: the month day by day against the
//! budgets, and NAT vs endpoints against traffic. Figures arrive as Decimal;
//! only the drawing's coordinates are floating point, and every figure shown
//! as text is formatted from the Decimal. Each chart comes with the same
//! figures as text (a table or a list) for screen readers and for copying.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::dashboard::{esc, text_with_code};
use crate::budget::projection::{Basis, DayPoint};
use crate::budget::{Budget, Component, Projection};
use crate::cost::network::{CostCurve, CurveLevel, NetworkModel, OptionName};
use crate::money::{format_quantity, format_usd};
use crate::schedule::Interval;

/// A coordinate written with one decimal by integer arithmetic: a chart has
/// hundreds, and float formatting is the page's most expensive step.
#[derive(Clone, Copy)]
struct P(f64);

impl std::fmt::Display for P {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tenths = (self.0 * 10.0).round() as i64;
        let sign = if tenths < 0 { "-" } else { "" };
        let t = tenths.unsigned_abs();
        write!(f, "{sign}{}.{}", t / 10, t % 10)
    }
}

/// The drawing area of a chart, in viewBox units.
struct Frame {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl Frame {
    const fn new(width: f64, height: f64) -> Self {
        Frame {
            width,
            height,
            left: 62.0,
            right: 12.0,
            top: 14.0,
            bottom: 30.0,
        }
    }
    fn plot_width(&self) -> f64 {
        self.width - self.left - self.right
    }
    fn plot_height(&self) -> f64 {
        self.height - self.top - self.bottom
    }
    /// y of `usd` on a scale from 0 to `max`.
    fn y(&self, usd: Decimal, max: Decimal) -> f64 {
        let f = (usd / max).to_f64().unwrap_or(0.0).clamp(0.0, 1.0);
        self.top + self.plot_height() * (1.0 - f)
    }
    /// x of `v` on a scale from 0 to `max`.
    fn x(&self, v: Decimal, max: Decimal) -> f64 {
        let f = (v / max).to_f64().unwrap_or(0.0).clamp(0.0, 1.0);
        self.left + self.plot_width() * f
    }
    /// x of `t` within `span`.
    fn x_time(&self, t: DateTime<Utc>, span: &Interval) -> f64 {
        let total = span.seconds().max(1) as f64;
        let f = ((t - span.start).num_seconds() as f64 / total).clamp(0.0, 1.0);
        self.left + self.plot_width() * f
    }
    /// Horizontal grid lines and their USD labels at 0, ½ and the top.
    fn usd_axis(&self, h: &mut String, max: Decimal) {
        for f in [Decimal::ZERO, Decimal::new(5, 1), Decimal::ONE] {
            let y = self.y(max * f, max);
            let _ = write!(
                h,
                "<line x1={l:.1} x2={r:.1} y1={y:.1} y2={y:.1} stroke=#e3e6ec></line>\
                 <text x={tx:.1} y={ty:.1} text-anchor=end class=axis>{}</text>",
                axis_usd(max * f, max),
                l = self.left,
                r = self.width - self.right,
                tx = self.left - 4.0,
                ty = y + 4.0,
            );
        }
    }
}

/// An axis label: whole dollars once the axis reaches $100, else cents.
fn axis_usd(usd: Decimal, max: Decimal) -> String {
    let s = format_usd(usd);
    if max >= Decimal::ONE_HUNDRED {
        s.trim_end_matches(".00").to_string()
    } else {
        s
    }
}

fn color(c: Component) -> &'static str {
    match c {
        Component::Network => "#0072B2",
        Component::Alb => "#E69F00",
        Component::Monitoring => "#009E73",
    }
}

/// A threshold's crossing: the first day the month's spend passes it.
pub struct Crossing<'a> {
    /// The budget.
    pub budget: &'a Budget,
    /// `actual 100%` or `forecast 80%`.
    pub label: String,
    /// The threshold in USD.
    pub threshold_usd: Decimal,
    /// The day it is passed, if it is this month.
    pub day: Option<&'a DayPoint>,
}

/// Every budget's thresholds against the month's days: spend greater than
/// the threshold (as the alarms compare) on the first day it is.
pub fn crossings<'a>(p: &'a Projection, budgets: &'a [Budget]) -> Vec<Crossing<'a>> {
    let mut out = Vec::new();
    for b in budgets {
        for t in &b.thresholds {
            let threshold_usd = b.threshold_usd(t);
            let day = p.days.iter().find(|d| scoped(d, b.scope) > threshold_usd);
            out.push(Crossing {
                budget: b,
                label: format!("{} {}%", t.kind.as_str(), t.percent.normalize()),
                threshold_usd,
                day,
            });
        }
    }
    out
}

/// A day's spend for a budget's scope.
fn scoped(d: &DayPoint, scope: Option<Component>) -> Decimal {
    match scope {
        None => d.cumulative_usd,
        Some(c) => d
            .components
            .iter()
            .filter(|x| x.component == c)
            .map(|x| x.cumulative_usd)
            .sum(),
    }
}

/// The month's spend day by day: the actual line to now, the projection on
/// to the month's end (dashed), each component (thin), every all-components
/// budget and threshold as a level, and the day each threshold is passed.
pub fn month_chart(h: &mut String, p: &Projection, span: &Interval, budgets: &[Budget], tz: Tz) {
    const F: Frame = Frame::new(480.0, 240.0);
    let whole: Vec<&Budget> = budgets.iter().filter(|b| b.scope.is_none()).collect();
    let top = whole
        .iter()
        .map(|b| b.monthly_usd)
        .chain(
            whole
                .iter()
                .flat_map(|b| b.thresholds.iter().map(|t| b.threshold_usd(t))),
        )
        .chain([p.projected_usd])
        .max()
        .unwrap_or(Decimal::ONE);
    let max = crate::money::axis_top(top * Decimal::new(105, 2));
    let _ = write!(
        h,
        "<svg id=month-chart class=chart viewBox=\"0 0 {w} {ht}\" role=img aria-label=\"spend day by day, {month}\">",
        w = F.width,
        ht = F.height,
        month = esc(&p.month),
    );
    let _ = write!(
        h,
        "<title>Spend day by day, {}</title><desc>Month to date {}, projected {}{}. The table below the chart has each day's figures.</desc>",
        esc(&p.month),
        format_usd(p.month_to_date_usd),
        format_usd(p.projected_usd),
        whole
            .iter()
            .map(|b| format!("; budget {} {}", esc(&b.name), format_usd(b.monthly_usd)))
            .collect::<String>()
    );
    F.usd_axis(h, max);
    // Days along the bottom: the 1st, 8th, 15th, 22nd and the last.
    for (i, d) in p.days.iter().enumerate() {
        if [0, 7, 14, 21].contains(&i) || i + 1 == p.days.len() {
            let start = d.end - chrono::Duration::days(1);
            let x = F.x_time(start.max(span.start), span);
            let _ = write!(
                h,
                "<text x={x:.1} y={y:.1} text-anchor=middle class=axis>{}</text>",
                d.date.format("%d %b"),
                y = F.height - 10.0
            );
        }
    }
    // Budgets and thresholds as levels.
    for b in &whole {
        let y = F.y(b.monthly_usd, max);
        let _ = write!(
            h,
            "<line class=budget x1={l:.1} x2={r:.1} y1={y:.1} y2={y:.1} stroke=#D55E00 stroke-width=1.5></line>\
             <text x={r:.1} y={ty:.1} text-anchor=end class=level>budget {} {}</text>",
            esc(&b.name),
            format_usd(b.monthly_usd),
            l = F.left,
            r = F.width - F.right,
            ty = y - 4.0
        );
        for t in &b.thresholds {
            let usd = b.threshold_usd(t);
            if usd == b.monthly_usd {
                continue;
            }
            let y = F.y(usd, max);
            let _ = write!(
                h,
                "<line class=threshold x1={l:.1} x2={r:.1} y1={y:.1} y2={y:.1} stroke=#D55E00 stroke-dasharray=\"2 4\"></line>\
                 <text x={tx:.1} y={ty:.1} class=level>{} {}% · {}</text>",
                t.kind.as_str(),
                t.percent.normalize(),
                format_usd(usd),
                l = F.left,
                r = F.width - F.right,
                tx = F.left + 4.0,
                ty = y - 4.0
            );
        }
    }
    // One polyline per series: actual up to now, then the schedule.
    let at = p.at.clamp(span.start, span.end);
    let series = |pick: &dyn Fn(&DayPoint) -> Decimal, so_far: Decimal| {
        let mut actual = vec![(span.start, Decimal::ZERO)];
        let mut scheduled = Vec::new();
        for d in &p.days {
            match d.basis {
                Basis::Actual => actual.push((d.end, pick(d))),
                Basis::Scheduled => scheduled.push((d.end, pick(d))),
            }
        }
        if at > span.start && at < span.end {
            actual.push((at, so_far));
        }
        if !scheduled.is_empty() {
            let joint = *actual.last().expect("the month's start");
            scheduled.insert(0, joint);
        }
        (actual, scheduled)
    };
    let points = |pts: &[(DateTime<Utc>, Decimal)]| {
        pts.iter()
            .map(|(t, v)| format!("{},{}", P(F.x_time(*t, span)), P(F.y(*v, max))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for c in &p.components {
        let (a, s) = series(&|d: &DayPoint| scoped(d, Some(c.component)), c.actual_usd);
        for (pts, dash) in [(a, ""), (s, " stroke-dasharray=\"5 4\"")] {
            if pts.len() > 1 {
                let _ = write!(
                    h,
                    "<polyline class=\"component {name}\" points=\"{}\" fill=none stroke={col} stroke-width=1.5{dash}></polyline>",
                    points(&pts),
                    name = c.component.as_str(),
                    col = color(c.component),
                );
            }
        }
    }
    let (a, s) = series(&|d: &DayPoint| d.cumulative_usd, p.month_to_date_usd);
    if a.len() > 1 {
        let _ = write!(
            h,
            "<polyline class=\"total actual\" points=\"{}\" fill=none stroke=#000 stroke-width=3></polyline>",
            points(&a)
        );
    }
    if s.len() > 1 {
        let _ = write!(
            h,
            "<polyline class=\"total scheduled\" points=\"{}\" fill=none stroke=#000 stroke-width=3 stroke-dasharray=\"7 5\"></polyline>",
            points(&s)
        );
    }
    // Where each threshold of an all-components budget is passed.
    let list = crossings(p, budgets);
    for c in list.iter().filter(|c| c.budget.scope.is_none()) {
        if let Some(d) = c.day {
            let (x, y) = (F.x_time(d.end, span), F.y(c.threshold_usd, max));
            let _ = write!(
                h,
                "<circle class=crossing cx={x:.1} cy={y:.1} r=5 fill=#D55E00><title>{} {} passed on {}</title></circle>",
                esc(&c.budget.name),
                c.label,
                d.date.format("%a %d %b")
            );
        }
    }
    if at > span.start && at < span.end {
        let x = F.x_time(at, span);
        let _ = write!(
            h,
            "<line x1={x:.1} x2={x:.1} y1={t:.1} y2={b:.1} stroke=#667 stroke-dasharray=\"1 3\"></line>",
            t = F.top,
            b = F.height - F.bottom
        );
    }
    let _ = write!(h, "</svg>");
    // The key, and the same figures as text.
    let _ = write!(
        h,
        "<p class=\"muted key\"><span style=\"color:#000\">━</span> total, actual <span style=\"color:#000\">╍</span> total, scheduled"
    );
    for c in &p.components {
        let _ = write!(
            h,
            " <span style=\"color:{}\">━</span> {}",
            color(c.component),
            c.component.as_str()
        );
    }
    let _ = write!(h, " · times in {}</p>", esc(tz.name()));
    if !list.is_empty() {
        let _ = write!(h, "<ul id=crossings>");
        for c in &list {
            let when = match c.day {
                Some(d) => format!(
                    "passed on <strong>{}</strong> ({})",
                    d.date.format("%a %d %b"),
                    match d.basis {
                        Basis::Actual => "actual",
                        Basis::Scheduled => "scheduled",
                    }
                ),
                None => "not passed this month".into(),
            };
            let _ = write!(
                h,
                "<li>{} ({}) {} {}: {when}</li>",
                esc(&c.budget.name),
                c.budget.scope_name(),
                c.label,
                format_usd(c.threshold_usd)
            );
        }
        let _ = write!(h, "</ul>");
    }
    let _ = write!(
        h,
        "<details id=days><summary>Day by day</summary><table><tr><th>day</th><th></th>"
    );
    for c in &p.components {
        let _ = write!(h, "<th class=n>{}</th>", c.component.as_str());
    }
    let _ = write!(h, "<th class=n>total</th></tr>");
    for d in &p.days {
        let _ = write!(
            h,
            "<tr class=\"day {basis}\" data-date={date}><td>{date}</td><td class=muted>{basis}</td>",
            date = d.date,
            basis = match d.basis {
                Basis::Actual => "actual",
                Basis::Scheduled => "scheduled",
            }
        );
        for c in &d.components {
            let _ = write!(h, "<td class=n>{}</td>", format_usd(c.cumulative_usd));
        }
        let _ = write!(h, "<td class=n>{}</td></tr>", format_usd(d.cumulative_usd));
    }
    let _ = write!(
        h,
        "</table><p class=muted>Spend from the month's start to each day's end (local midnight).</p></details>"
    );
}

/// NAT vs endpoints against traffic: every feasible option's monthly cost as
/// the scenario's traffic is scaled (its mix kept), the current traffic
/// marked, and where each service's interface endpoint pays for itself.
pub fn network_chart(h: &mut String, curve: &CostCurve, hours_per_month: Decimal, current: &NetworkModel) {
    const F: Frame = Frame::new(480.0, 240.0);
    let x_max = curve.to_gb;
    let options = [
        OptionName::EndpointsOnly,
        OptionName::Hybrid,
        OptionName::NatPerAz,
        OptionName::NatSingle,
    ];
    let cost = |l: &CurveLevel, o: OptionName| l.options.iter().find(|(n, _)| *n == o).and_then(|(_, c)| *c);
    let y_top = curve
        .levels
        .iter()
        .flat_map(|l| options.iter().filter_map(|o| cost(l, *o)))
        .max()
        .unwrap_or(Decimal::ONE);
    let max = crate::money::axis_top(y_top);
    let _ = write!(
        h,
        "<svg id=network-chart class=chart viewBox=\"0 0 {w} {ht}\" role=img aria-label=\"monthly cost of each option against traffic\">",
        w = F.width,
        ht = F.height
    );
    let _ = write!(
        h,
        "<title>NAT Gateway vs VPC endpoints against traffic</title><desc>Today's traffic is {} GB a month; {} The lists below have each service's break-even point.</desc>",
        format_quantity(curve.total_gb, 0),
        esc(&current.recommendation.replace('`', ""))
    );
    F.usd_axis(h, max);
    for f in [Decimal::ZERO, Decimal::new(5, 1), Decimal::ONE] {
        let _ = write!(
            h,
            "<text x={x:.1} y={y:.1} text-anchor=middle class=axis>{} GB</text>",
            // Grouped like money, without the sign and the cents.
            format_usd((x_max * f).round())
                .trim_start_matches('$')
                .trim_end_matches(".00"),
            x = F.x(x_max * f, x_max).clamp(F.left + 14.0, F.width - F.right - 24.0),
            y = F.height - 10.0
        );
    }
    let palette = ["#009E73", "#CC79A7", "#D55E00", "#0072B2"];
    // Hybrid is often endpoints_only itself: dashed, so both show.
    let dashes = ["", " stroke-dasharray=\"6 5\"", "", ""];
    for ((o, col), dash) in options.iter().zip(palette).zip(dashes) {
        let pts: Vec<String> = curve
            .levels
            .iter()
            .filter_map(|l| cost(l, *o).map(|c| format!("{},{}", P(F.x(l.gb_per_month, x_max)), P(F.y(c, max)))))
            .collect();
        if pts.len() > 1 {
            let _ = write!(
                h,
                "<polyline class=\"option {name}\" points=\"{}\" fill=none stroke={col} stroke-width=2{dash}><title>{name}</title></polyline>",
                pts.join(" "),
                name = o.as_str()
            );
        }
    }
    for (i, (service, gb)) in curve
        .break_even_total_gb
        .iter()
        .filter(|(_, g)| *g <= x_max)
        .enumerate()
    {
        let x = F.x(*gb, x_max);
        let _ = write!(
            h,
            "<line class=break-even x1={x:.1} x2={x:.1} y1={t:.1} y2={b:.1} stroke=#999 stroke-dasharray=\"3 3\"></line>\
             <text x={tx:.1} y={ty:.1} class=level>{}</text>",
            esc(service),
            t = F.top,
            b = F.height - F.bottom,
            tx = x + 3.0,
            ty = F.top + 12.0 + 13.0 * (i % 4) as f64
        );
    }
    let total = curve.total_gb;
    let x = F.x(total, x_max);
    let _ = write!(
        h,
        "<line id=current-traffic x1={x:.1} x2={x:.1} y1={t:.1} y2={b:.1} stroke=#000 stroke-width=2></line>\
         <text x={tx:.1} y={ty:.1} class=level>now {} GB</text></svg>",
        format_quantity(total, 0),
        t = F.top,
        b = F.height - F.bottom,
        tx = x + 3.0,
        ty = F.height - F.bottom - 4.0
    );
    let _ = write!(h, "<p class=\"muted key\">");
    for (o, col) in options.iter().zip(palette) {
        let _ = write!(h, "<span style=\"color:{col}\">━</span> {} ", o.as_str());
    }
    let _ = write!(
        h,
        "· monthly cost ({} h) as the whole traffic grows or shrinks with its mix kept; grey: where a service's interface endpoint pays for itself; black: today's traffic.</p>",
        hours_per_month.normalize()
    );
    match &current.measured {
        Some(m) => {
            let _ = write!(
                h,
                "<p id=traffic-source class=measured>Traffic measured: {} ({} to {}). Volumes marked <em>estimate</em> were not.</p>",
                esc(&m.source),
                esc(&m.from),
                esc(&m.to)
            );
        }
        None => {
            let _ = write!(
                h,
                "<p id=traffic-source class=estimate>Traffic: the scenario's estimates, not measured (<code>costd traffic</code> measures it from VPC Flow Logs).</p>"
            );
        }
    }
    let _ = write!(h, "<ul id=break-even-points>");
    for b in &current.break_even {
        let _ = write!(
            h,
            "<li><code>{}</code>: {} GB/month today ({}); its endpoint pays for itself above {}</li>",
            esc(&b.service),
            format_quantity(b.traffic_gb_per_month, 2),
            if b.measured { "measured" } else { "estimate" },
            b.gb_per_month
                .map(|g| format!("{} GB/month of its own traffic", format_quantity(g, 2)))
                .unwrap_or_else(|| "never (NAT processing is not dearer per GB)".into())
        );
    }
    let _ = write!(
        h,
        "</ul><p id=recommendation>{}</p>",
        text_with_code(&current.recommendation)
    );
}

#[cfg(test)]
mod tests {
    use super::P;

    #[test]
    fn coordinates_have_one_decimal() {
        let shown: Vec<String> = [0.0, 1.04, 1.05, 12.96, 468.0, -0.04, -3.25, 0.95]
            .iter()
            .map(|x| P(*x).to_string())
            .collect();
        assert_eq!(shown, ["0.0", "1.0", "1.1", "13.0", "468.0", "0.0", "-3.3", "1.0"]);
    }
}
