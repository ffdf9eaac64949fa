//! The terminal table for `costd model`: every option with its line items
//! (quantity × rate = cost), totals rounded to cents, break-even points and
//! the recommendation.

use std::fmt::Write;

use rust_decimal::Decimal;

use crate::cost::LineItem;
use crate::cost::load_balancer::{LbKind, Scheme};
use crate::model::ModelReport;
use crate::money::{format_quantity, format_usd};

/// Renders the report as text for a terminal.
pub fn table(r: &ModelReport) -> String {
    let mut s = String::new();
    let month = r
        .month
        .as_deref()
        .map(|m| format!("calendar month {m}, "))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "costd model: {} ({month}{} h month)",
        r.region,
        format_quantity(r.hours_per_month, 2)
    );

    if let Some(n) = &r.network {
        let _ = writeln!(s, "\nNETWORK: NAT Gateway vs VPC endpoints, per month");
        match &n.measured {
            Some(m) => {
                let _ = writeln!(
                    s,
                    "  traffic measured: {} ({} to {}); volumes not measured are marked estimate",
                    m.source, m.from, m.to
                );
            }
            None => {
                let _ = writeln!(s, "  traffic: estimates (measure it with `costd traffic`)");
            }
        }
        for (i, o) in n.options.iter().enumerate() {
            let tag = match (o.feasible, i) {
                (false, _) => "  INFEASIBLE".to_string(),
                (true, 0) => "  cheapest".to_string(),
                _ => String::new(),
            };
            let _ = writeln!(s, "\n  {}  {}/month{tag}", o.name.as_str(), format_usd(o.monthly_usd));
            let _ = writeln!(s, "  {}", o.summary);
            if let Some(why) = &o.infeasible_reason {
                let _ = writeln!(s, "  infeasible: {why}");
            }
            items(&mut s, &o.line_items);
        }
        if !n.break_even.is_empty() {
            let _ = writeln!(s, "\n  Break-even: interface endpoint (all AZs) vs NAT data processing");
            let rows: Vec<[String; 5]> = n
                .break_even
                .iter()
                .map(|b| {
                    [
                        b.service.clone(),
                        format_quantity(b.traffic_gb_per_month, 2),
                        if b.measured { "measured" } else { "estimate" }.into(),
                        b.gb_per_month.map_or("never".into(), |g| format_quantity(g, 2)),
                        if b.endpoint_cheaper {
                            "endpoint".into()
                        } else {
                            "NAT".into()
                        },
                    ]
                })
                .collect();
            grid(
                &mut s,
                &[
                    "service",
                    "traffic GB/month",
                    "traffic",
                    "break-even GB/month",
                    "cheaper via",
                ],
                &rows,
                &[false, true, false, true, false],
            );
        }
        let _ = writeln!(s, "\n  Recommendation: {}", n.recommendation);
    }

    if let Some(lb) = &r.load_balancer {
        let kind = match lb.kind {
            LbKind::Application => "ALB",
            LbKind::Network => "NLB",
        };
        let scheme = match lb.scheme {
            Scheme::InternetFacing => "internet-facing",
            Scheme::Internal => "internal",
        };
        let unit = if lb.kind == LbKind::Application { "LCU" } else { "NLCU" };
        let _ = writeln!(
            s,
            "\nLOAD BALANCER: {kind}, {scheme}, {} AZs, {} {unit}/h while running ({})",
            lb.azs,
            format_quantity(lb.lcu_per_hour, 4),
            lb.capacity_units.dominant
        );
        let _ = writeln!(
            s,
            "\n  always on  {}/month ({} billed hours)",
            format_usd(lb.always_on.monthly_usd),
            format_quantity(lb.always_on.billed_hours, 2)
        );
        items(&mut s, &lb.always_on.line_items);
        if let Some(sc) = &lb.scheduled {
            let _ = writeln!(
                s,
                "\n  scheduled  {}/month ({} lifetimes, {} billed hours, {} running hours)\n  basis: {}\n  \
                 lifetimes as the daemon runs them: each window from {} min before to {} min after, {}",
                format_usd(sc.monthly_usd),
                format_quantity(sc.lifetimes, 2),
                format_quantity(sc.billed_hours, 2),
                format_quantity(sc.running_hours, 2),
                sc.basis,
                sc.lead_minutes,
                sc.grace_minutes,
                if sc.coalesce {
                    "kept through gaps where that is not dearer"
                } else {
                    "never kept through gaps"
                }
            );
            items(&mut s, &sc.line_items);
            let _ = writeln!(
                s,
                "  partial hours: {} (`partial_hour = \"{}\"`)",
                sc.partial_hour.describe(),
                sc.partial_hour.as_str()
            );
            if let Some(o) = &sc.under_other_rule {
                let _ = writeln!(
                    s,
                    "  with `partial_hour = \"{}\"` ({}): {}/month, {} billed hours",
                    o.partial_hour.as_str(),
                    o.partial_hour.describe(),
                    format_usd(o.monthly_usd),
                    format_quantity(o.billed_hours, 2)
                );
            }
        }
        if let Some(saves) = lb.schedule_saves_usd {
            let _ = writeln!(
                s,
                "\n  The schedule saves {}/month against always on.",
                format_usd(saves)
            );
        }
    }

    if let Some(m) = &r.monitoring {
        let _ = writeln!(
            s,
            "\nMONITORING: costd's own CloudWatch use  {}/month",
            format_usd(m.monthly_usd)
        );
        items(&mut s, &m.line_items);
    }
    s
}

/// Renders a month's projection and the budget evaluations.
pub fn projection(p: &crate::budget::Projection, evaluations: &[crate::budget::Evaluation]) -> String {
    use crate::budget::projection::Basis;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "costd projection: {} ({}), {} of {} h elapsed",
        p.month,
        p.timezone,
        format_quantity(p.elapsed_hours, 2),
        format_quantity(p.hours_in_month, 2)
    );
    let _ = writeln!(
        s,
        "month to date {}   projected {}\npartial hours: {} ([billing] partial_hour = \"{}\")",
        format_usd(p.month_to_date_usd),
        format_usd(p.projected_usd),
        p.partial_hour.describe(),
        p.partial_hour.as_str()
    );
    let rows: Vec<[String; 4]> = p
        .components
        .iter()
        .map(|c| {
            [
                c.component.as_str().to_string(),
                format_usd(c.actual_usd),
                format_usd(c.scheduled_usd),
                format_usd(c.projected_usd),
            ]
        })
        .collect();
    let _ = writeln!(s);
    grid(
        &mut s,
        &["component", "actual", "scheduled", "projected"],
        &rows,
        &[false, true, true, true],
    );
    for c in &p.components {
        if c.line_items.is_empty() {
            continue;
        }
        let _ = writeln!(s, "\n  {}", c.component.as_str());
        let rows: Vec<[String; 6]> = c
            .line_items
            .iter()
            .map(|i| {
                [
                    match i.basis {
                        Basis::Actual => "actual".to_string(),
                        Basis::Scheduled => "scheduled".to_string(),
                    },
                    i.item.item.clone(),
                    format_quantity(i.item.quantity, 4),
                    i.item.unit.to_string(),
                    format_usd(i.item.cost_usd),
                    i.quantity_source.clone().unwrap_or_default(),
                ]
            })
            .collect();
        grid(
            &mut s,
            &["basis", "item", "quantity", "unit", "cost", "quantity from"],
            &rows,
            &[false, false, true, false, true, false],
        );
    }
    if !evaluations.is_empty() {
        let _ = writeln!(s, "\nBudgets");
        let rows: Vec<[String; 5]> = evaluations
            .iter()
            .map(|e| {
                [
                    e.key.clone(),
                    e.scope.clone(),
                    format_usd(e.value_usd),
                    format_usd(e.threshold_usd),
                    e.state.to_string(),
                ]
            })
            .collect();
        grid(
            &mut s,
            &["threshold", "scope", "value", "threshold", "state"],
            &rows,
            &[false, false, true, true, false],
        );
    }
    s
}

fn items(s: &mut String, items: &[LineItem]) {
    let rows: Vec<[String; 5]> = items
        .iter()
        .map(|i| {
            [
                i.item.clone(),
                format_quantity(i.quantity, 4),
                i.unit.to_string(),
                format!("${}", i.rate_usd.normalize()),
                format_usd(i.cost_usd),
            ]
        })
        .collect();
    grid(
        s,
        &["item", "quantity", "unit", "rate", "cost"],
        &rows,
        &[false, true, false, true, true],
    );
    let total: Decimal = items.iter().map(|i| i.cost_usd).sum();
    let width = widths(&["item", "quantity", "unit", "rate", "cost"], &rows)
        .iter()
        .sum::<usize>()
        + 8;
    let label = "total";
    let value = format_usd(total);
    let _ = writeln!(
        s,
        "    {label}{}{value}",
        " ".repeat(width.saturating_sub(label.len() + value.len()))
    );
}

fn widths<const N: usize>(head: &[&str; N], rows: &[[String; N]]) -> [usize; N] {
    let mut w = head.map(|h| h.chars().count());
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    w
}

fn grid<const N: usize>(s: &mut String, head: &[&str; N], rows: &[[String; N]], right: &[bool; N]) {
    let w = widths(head, rows);
    let line = |s: &mut String, cells: Vec<&str>| {
        let mut out = String::from("    ");
        for (i, c) in cells.iter().enumerate() {
            let pad = " ".repeat(w[i] - c.chars().count());
            if right[i] {
                out.push_str(&pad);
                out.push_str(c);
            } else {
                out.push_str(c);
                out.push_str(&pad);
            }
            if i + 1 < N {
                out.push_str("  ");
            }
        }
        let _ = writeln!(s, "{}", out.trim_end());
    };
    line(s, head.to_vec());
    for r in rows {
        line(s, r.iter().map(String::as_str).collect());
    }
}

/// `costd bill` for people.
pub fn bill(r: &crate::app::bill::BillReport) -> String {
    use crate::cost::billing::PartialHour;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "costd bill: {} ({}), {} {}",
        r.month,
        match r.hourly_from {
            Some(t) if t > r.period_start => format!("daily, hourly from {}", t.format("%Y-%m-%d")),
            Some(_) => "hourly".into(),
            None => "daily".into(),
        },
        r.hours_usage_type,
        if r.filtered_by_tag {
            "filtered by the costd:deployment tag"
        } else {
            "NOT filtered by deployment"
        }
    );
    let _ = writeln!(
        s,
        "read from Cost Explorer at {} ({} billed request(s) this run)",
        r.fetched_at.to_rfc3339(),
        r.requests_made
    );
    for w in &r.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    let rows: Vec<[String; 4]> = r
        .check
        .periods
        .iter()
        .map(|p| {
            [
                p.start.format("%Y-%m-%d %H:%M").to_string(),
                format_quantity(p.billed_hours, 2),
                p.predicted_hours[&PartialHour::Lifetime].to_string(),
                p.predicted_hours[&PartialHour::ClockHour].to_string(),
            ]
        })
        .collect();
    grid(
        &mut s,
        &["period (UTC)", "billed h", "lifetime h", "clock_hour h"],
        &rows,
        &[false, true, true, true],
    );
    let _ = writeln!(s, "{}", r.check.summary);
    let _ = writeln!(
        s,
        "configured: [billing] partial_hour = \"{}\"",
        r.configured_rule.as_str()
    );
    let e = &r.projection_error;
    if !e.days.is_empty() {
        let rows: Vec<[String; 3]> = e
            .days
            .iter()
            .map(|d| {
                [
                    d.day.to_string(),
                    crate::money::format_usd(d.projected_usd),
                    match (d.error_usd, d.error_percent) {
                        (Some(u), Some(p)) => format!("{} ({p:.1} %)", crate::money::format_usd(u)),
                        (Some(u), None) => crate::money::format_usd(u),
                        _ => "-".into(),
                    },
                ]
            })
            .collect();
        grid(
            &mut s,
            &["projected on (UTC)", "month's load balancer", "error vs bill"],
            &rows,
            &[false, true, true],
        );
    }
    let _ = writeln!(s, "projection error: {}", e.summary);
    s
}

/// The terminal table for `costd traffic`.
pub fn traffic(r: &crate::traffic::Report) -> String {
    use crate::traffic::human_bytes;
    let mut s = String::new();
    let c = &r.counts;
    let _ = writeln!(
        s,
        "costd traffic: {} ({} file(s), {} records; {} to {}, {} h, scaled to a month of {} h)",
        r.region,
        r.files,
        c.records,
        r.from.to_rfc3339(),
        r.to.to_rfc3339(),
        format_quantity(r.period_hours, 2),
        format_quantity(r.hours_per_month, 0)
    );
    let _ = writeln!(
        s,
        "  attributed {}; not attributed: {} rejected, {} NODATA/SKIPDATA, {} link-local, {} of skipped interfaces, {} with neither end in the VPC; {} malformed",
        c.attributed, c.rejected, c.no_data, c.link_local, c.skipped_interface, c.outside_vpc, c.malformed
    );
    for m in &r.malformed {
        let _ = writeln!(s, "  malformed {}:{}: {}", m.file, m.line, m.reason);
    }
    if c.malformed > r.malformed.len() as u64 {
        let _ = writeln!(
            s,
            "  … and {} more malformed lines",
            c.malformed - r.malformed.len() as u64
        );
    }
    let _ = writeln!(s, "\nBY DESTINATION (both directions; GB = 2^30 bytes)");
    let rows: Vec<[String; 6]> = r
        .destinations
        .iter()
        .map(|d| {
            [
                d.destination.clone(),
                d.az.clone().unwrap_or_else(|| "-".into()),
                human_bytes(d.sent_bytes),
                human_bytes(d.received_bytes),
                format_quantity(d.gb_per_month, 3),
                d.scenario_key.clone(),
            ]
        })
        .collect();
    grid(
        &mut s,
        &["destination", "az", "sent", "received", "GB/month", "scenario key"],
        &rows,
        &[false, false, true, true, true, false],
    );
    let _ = writeln!(s, "\nAS A SCENARIO'S [network] (GB/month)");
    for (k, gb) in &r.traffic_gb_per_month {
        let _ = writeln!(s, "  traffic_gb_per_month.{k} = {}", format_quantity(*gb, 3));
    }
    let _ = writeln!(
        s,
        "  internet_egress_gb_per_month = {}",
        format_quantity(r.internet_egress_gb_per_month, 3)
    );
    if r.cross_az.measured {
        let _ = writeln!(
            s,
            "  cross_az_gb_per_month = {} ({} between AZs, {} within one, {} unplaced)",
            format_quantity(r.cross_az.gb_per_month, 3),
            human_bytes(r.cross_az.cross_az_bytes),
            human_bytes(r.cross_az.same_az_bytes),
            human_bytes(r.cross_az.unknown_bytes)
        );
    }
    for n in &r.nat_gateways {
        let flows = n.flow_log_bytes;
        let diff = i128::from(n.difference_bytes);
        let pct = if n.processed_bytes == 0 {
            "-".to_string()
        } else {
            format!(
                "{}%",
                (Decimal::from(diff) * Decimal::ONE_HUNDRED / Decimal::from(n.processed_bytes)).round_dp(1)
            )
        };
        let _ = writeln!(
            s,
            "\nNAT GATEWAY {}: CloudWatch says it processed {} ({} GB/month: BytesInFromSource {} + BytesInFromDestination {}); the flow logs have {} to and from outside the VPC not through an endpoint; difference {}{} ({pct} of the NAT's count)",
            n.nat_gateway_id,
            human_bytes(n.processed_bytes),
            format_quantity(n.processed_gb_per_month, 3),
            human_bytes(n.bytes_in_from_source),
            human_bytes(n.bytes_in_from_destination),
            human_bytes(flows),
            if diff < 0 { "-" } else { "" },
            human_bytes(diff.unsigned_abs() as u64),
        );
    }
    if !r.notes.is_empty() {
        let _ = writeln!(s, "\nNOTES");
        for n in &r.notes {
            let _ = writeln!(s, "  - {n}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::load::PriceBook;
    use crate::scenario::{EMBEDDED_SEED, Scenario};
    use chrono::TimeZone;

    #[test]
    fn the_table_shows_options_items_totals_break_even_and_recommendation() {
        let book = PriceBook::embedded().unwrap();
        let s = Scenario::parse("seed", EMBEDDED_SEED, &book.regions()).unwrap();
        let r = crate::model::evaluate(
            &s,
            book.get(&s.region).unwrap(),
            chrono::Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap(),
        );
        let t = table(&r);
        assert!(t.contains("endpoints_only  $59.49/month  cheapest"), "{t}");
        assert!(
            t.contains("nat_per_az  $137.99/month"),
            "137.985 rounds half-up to 137.99:\n{t}"
        );
        assert!(t.contains("Interface endpoint ecr.dkr: 2 AZs × 730 h"), "{t}");
        assert!(t.contains("387.35"), "break-even shown:\n{t}");
        assert!(t.contains("Recommendation: `endpoints_only`"), "{t}");
        assert!(t.contains("always on  $26.28/month (730 billed hours)"), "{t}");
        assert!(t.contains("MONITORING"), "{t}");
    }
}
