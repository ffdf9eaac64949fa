//! A month's charges in the FinOps Open Cost and Usage Specification
//! (FOCUS 1.2) columns, for finance tools: one row per charge of the
//! projection, actual rows (from the ledger) billed, the rest of the month
//! marked as projected, plus costd's own `x_` columns. PURE.

use rust_decimal::Decimal;

use super::projection::{AlbResource, Basis, Component, ProjectedItem, Projection};
use crate::interval::Interval;

/// The columns, in order: FOCUS 1.2's, then costd's.
pub const COLUMNS: [&str; 30] = [
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ListUnitPrice",
    "PricingQuantity",
    "PricingUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "BillingCurrency",
    "RegionId",
    "ResourceId",
    "ResourceName",
    "ServiceName",
    "ServiceCategory",
    "ServiceProviderName",
    "SkuId",
    "Tags",
    "x_CostdBasis",
    "x_ProjectedCost",
    "x_PartialHourRule",
    "x_UsageType",
    "x_RateSource",
    "x_QuantitySource",
];

/// What the rows need besides the projection.
#[derive(Debug, Clone, PartialEq)]
pub struct FocusContext<'a> {
    /// The month as billed (UTC).
    pub billing_period: Interval,
    /// AWS region.
    pub region: &'a str,
    /// The `costd:deployment` tag.
    pub deployment: &'a str,
}

/// One row, in [`COLUMNS`] order.
pub type FocusRow = [String; 30];

fn instant(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn number(d: Decimal) -> String {
    d.normalize().to_string()
}

/// The projection's charges as FOCUS rows. The ALB's actual charges are one
/// row set per load balancer (ResourceId is its ARN: each lifetime is a new
/// ALB); what is still to come names no resource yet.
pub fn rows(p: &Projection, ctx: &FocusContext) -> Vec<FocusRow> {
    let mut out = Vec::new();
    for c in &p.components {
        let split = c.component == Component::Alb && !p.alb_actual_by_resource.is_empty();
        if split {
            for g in &p.alb_actual_by_resource {
                for i in &g.items {
                    out.push(row(p, ctx, c.component, i, g.resource.as_ref()));
                }
            }
        }
        for i in c.line_items.iter().filter(|i| !(split && i.basis == Basis::Actual)) {
            out.push(row(p, ctx, c.component, i, None));
        }
    }
    out
}

/// One charge as a FOCUS row.
fn row(
    p: &Projection,
    ctx: &FocusContext,
    component: Component,
    i: &ProjectedItem,
    resource: Option<&AlbResource>,
) -> FocusRow {
    let period = ctx.billing_period;
    let at = p.at.clamp(period.start, period.end);
    let (service, category) = match component {
        Component::Network => ("Amazon Virtual Private Cloud", "Networking"),
        Component::Alb => ("Elastic Load Balancing", "Networking"),
        Component::Monitoring => ("Amazon CloudWatch", "Management and Governance"),
    };
    let actual = i.basis == Basis::Actual;
    let (from, to) = if actual { (period.start, at) } else { (at, period.end) };
    let billed = if actual { i.item.cost_usd } else { Decimal::ZERO };
    [
        instant(period.start),
        instant(period.end),
        instant(from),
        instant(to),
        "Usage".into(),
        String::new(),
        i.item.item.clone(),
        number(billed),
        number(billed),
        number(if actual {
            i.item.quantity * i.item.rate_usd
        } else {
            Decimal::ZERO
        }),
        number(i.item.rate_usd),
        number(i.item.quantity),
        i.item.unit.to_string(),
        number(i.item.quantity),
        i.item.unit.to_string(),
        "USD".into(),
        ctx.region.to_string(),
        resource.map(|r| r.arn.clone()).unwrap_or_default(),
        resource.map(|r| r.name.clone()).unwrap_or_default(),
        service.into(),
        category.into(),
        "AWS".into(),
        String::new(),
        serde_json::json!({ "costd:deployment": ctx.deployment }).to_string(),
        if actual { "actual" } else { "projected" }.into(),
        number(if actual { Decimal::ZERO } else { i.item.cost_usd }),
        p.partial_hour.as_str().into(),
        i.item.usage_type.clone(),
        i.item.source.clone(),
        i.quantity_source.clone().unwrap_or_default(),
    ]
}

/// RFC 4180 CSV with a header row: fields with a comma, a quote or a line
/// break are quoted, quotes doubled; lines end with CRLF.
pub fn csv(rows: &[FocusRow]) -> String {
    table_csv(&COLUMNS, rows.iter().map(|r| r.as_slice()))
}

/// Any table as RFC 4180 CSV with `header`: fields with a comma, a quote or
/// a line break are quoted, quotes doubled; lines end with CRLF.
pub fn table_csv<'a>(header: &[&str], rows: impl IntoIterator<Item = &'a [String]>) -> String {
    let field = |f: &str| {
        if f.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", f.replace('"', "\"\""))
        } else {
            f.to_string()
        }
    };
    let mut out = header.iter().map(|h| field(h)).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&r.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// The columns of [`line_items_csv`].
pub const LINE_ITEM_COLUMNS: [&str; 10] = [
    "component",
    "basis",
    "item",
    "quantity",
    "unit",
    "rate_usd",
    "cost_usd",
    "usage_type",
    "rate_source",
    "quantity_source",
];

/// The projection's line items as CSV, one row each (exact figures, not rounded).
pub fn line_items_csv(p: &Projection) -> String {
    let rows: Vec<Vec<String>> = p
        .components
        .iter()
        .flat_map(|c| {
            c.line_items.iter().map(move |i| {
                vec![
                    c.component.as_str().to_string(),
                    match i.basis {
                        Basis::Actual => "actual",
                        Basis::Scheduled => "scheduled",
                    }
                    .to_string(),
                    i.item.item.clone(),
                    number(i.item.quantity),
                    i.item.unit.to_string(),
                    number(i.item.rate_usd),
                    number(i.item.cost_usd),
                    i.item.usage_type.clone(),
                    i.item.source.clone(),
                    i.quantity_source.clone().unwrap_or_default(),
                ]
            })
        })
        .collect();
    table_csv(&LINE_ITEM_COLUMNS, rows.iter().map(|r| r.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::projection::{ComponentProjection, ResourceCharges};
    use crate::cost::LineItem;
    use crate::cost::billing::PartialHour;
    use crate::pricing::Unit;
    use chrono::{TimeZone, Utc};
    use rust_decimal_macros::dec;

    fn item(basis: Basis, what: &str, q: Decimal, rate: Decimal) -> ProjectedItem {
        ProjectedItem {
            basis,
            quantity_source: None,
            item: LineItem {
                item: what.into(),
                quantity: q,
                unit: Unit::Hour,
                rate_usd: rate,
                cost_usd: q * rate,
                usage_type: "LoadBalancerUsage".into(),
                source: "aws.amazon.com/elasticloadbalancing/pricing".into(),
            },
        }
    }

    #[test]
    fn actual_rows_are_billed_projected_rows_are_marked_and_the_csv_quotes() {
        let nov = Interval::new(
            Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
        )
        .unwrap();
        let at = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        // Actual 40 h × 0.0225 = 0.90; projected 20 h × 0.0225 = 0.45.
        let p = Projection {
            month: "2026-11".into(),
            timezone: "UTC".into(),
            at,
            hours_in_month: dec!(720),
            elapsed_hours: dec!(516),
            month_to_date_usd: dec!(0.90),
            projected_usd: dec!(1.35),
            partial_hour: PartialHour::ClockHour,
            components: vec![ComponentProjection {
                component: Component::Alb,
                actual_usd: dec!(0.90),
                scheduled_usd: dec!(0.45),
                projected_usd: dec!(1.35),
                line_items: vec![
                    item(
                        Basis::Actual,
                        "ALB hours (40 lifetimes, \"clock\", hours)",
                        dec!(40),
                        dec!(0.0225),
                    ),
                    item(Basis::Scheduled, "ALB hours", dec!(20), dec!(0.0225)),
                ],
            }],
            alb_actual_by_resource: vec![ResourceCharges {
                resource: Some(AlbResource {
                    arn: "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/demo-1/x".into(),
                    name: "demo-1".into(),
                }),
                items: vec![item(
                    Basis::Actual,
                    "ALB hours (40 lifetimes, \"clock\", hours)",
                    dec!(40),
                    dec!(0.0225),
                )],
            }],
            days: vec![],
        };
        let ctx = FocusContext {
            billing_period: nov,
            region: "us-east-1",
            deployment: "demo",
        };
        let r = rows(&p, &ctx);
        let col = |name: &str| COLUMNS.iter().position(|c| *c == name).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0][col("BilledCost")], "0.9");
        assert_eq!(r[1][col("BilledCost")], "0");
        assert_eq!(r[1][col("x_ProjectedCost")], "0.45");
        assert_eq!(
            (r[0][col("x_CostdBasis")].as_str(), r[1][col("x_CostdBasis")].as_str()),
            ("actual", "projected")
        );
        assert_eq!(r[0][col("ChargePeriodEnd")], "2026-11-22T12:00:00Z");
        assert_eq!(r[1][col("ChargePeriodStart")], "2026-11-22T12:00:00Z");
        assert_eq!(r[0][col("BillingPeriodStart")], "2026-11-01T00:00:00Z");
        assert_eq!(r[0][col("ResourceName")], "demo-1");
        assert_eq!(
            r[1][col("ResourceId")],
            "",
            "what is still to come names no load balancer yet"
        );
        assert_eq!(r[0][col("PricingUnit")], "hour");
        assert_eq!(r[0][col("Tags")], r#"{"costd:deployment":"demo"}"#);
        // The sum of BilledCost is the month's actual figure.
        let billed: Decimal = r.iter().map(|x| x[col("BilledCost")].parse::<Decimal>().unwrap()).sum();
        assert_eq!(billed, p.month_to_date_usd);
        let text = csv(&r);
        let first = text.lines().nth(1).unwrap();
        assert!(
            first.contains(r#""ALB hours (40 lifetimes, ""clock"", hours)""#),
            "{first}"
        );
        assert!(text.starts_with("BillingPeriodStart,BillingPeriodEnd,"));
        assert_eq!(text.matches("\r\n").count(), 3);
    }
}
