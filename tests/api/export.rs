//! `costd export --format focus` and `GET /api/v1/export`: FOCUS 1.2 CSV
//! parsed back, its types and units checked, and its billed total equal to
//! the month's actual figure.

use chrono::{DateTime, TimeZone, Utc};
use costd::store::{LifetimeReason, NewLifetime, Store};
use rust_decimal::Decimal;

use crate::helpers::{TempDir, costd};

/// RFC 4180: quoted fields may hold commas, doubled quotes and line breaks.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, d, h, m, 0).unwrap()
}

#[test]
fn a_past_month_exports_as_focus_and_its_billed_cost_is_the_actual_figure() {
    let dir = TempDir::new("export-focus");
    let src = std::fs::read_to_string(crate::helpers::repo().join("config/costd.toml")).unwrap();
    let db = dir.0.join("e.db");
    let cfg = dir
        .write(
            "costd.toml",
            // Not a dry run: the ledger's real lifetimes are the month's actual ALB spend.
            &src.replace("path = \"costd.db\"", &format!("path = \"{}\"", db.display()))
                .replace("dry_run = true", "dry_run = false"),
        )
        .display()
        .to_string();
    {
        // Two ALB lifetimes in February 2026: each a load balancer of its own.
        let store = costd::store::sqlite::SqliteStore::open(&db).unwrap();
        for (day, name, n) in [(3, "mlops-demo-0a1b2c3d", 1), (10, "mlops-demo-4e5f6a7b", 2)] {
            let mut l = store
                .insert_lifetime(&NewLifetime {
                    deployment: "seed-demo".into(),
                    name: name.into(),
                    window_ids: vec![format!("cfg0@202602{day:02}T0100Z")],
                    reason: LifetimeReason::Window,
                    reason_detail: String::new(),
                    dry_run: false,
                    created_at: at(day, 0, 55),
                })
                .unwrap();
            l.lb_arn = Some(format!(
                "arn:aws:elasticloadbalancing:ap-southeast-1:123456789012:loadbalancer/app/{name}/{n}"
            ));
            l.deleted_at = Some(at(day, 4, 5));
            store.update_lifetime(&l).unwrap();
        }
    }
    let out = costd(&["export", "--config", &cfg, "--month", "2026-02", "--format", "focus"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let rows = parse_csv(&text);
    let head = &rows[0];
    for c in [
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
    ] {
        assert!(head.iter().any(|h| h == c), "missing column {c}: {head:?}");
    }
    assert!(head.iter().filter(|h| !h.starts_with("x_")).count() >= 24);
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let body = &rows[1..];
    assert!(!body.is_empty());
    let mut billed = Decimal::ZERO;
    for r in body {
        assert_eq!(r.len(), head.len(), "{r:?}");
        for c in [
            "BillingPeriodStart",
            "BillingPeriodEnd",
            "ChargePeriodStart",
            "ChargePeriodEnd",
        ] {
            DateTime::parse_from_rfc3339(&r[col(c)]).unwrap_or_else(|e| panic!("{c} {}: {e}", r[col(c)]));
        }
        assert_eq!(r[col("BillingPeriodStart")], "2026-02-01T00:00:00Z");
        assert_eq!(r[col("BillingPeriodEnd")], "2026-03-01T00:00:00Z");
        for c in [
            "BilledCost",
            "EffectiveCost",
            "ListCost",
            "ListUnitPrice",
            "PricingQuantity",
            "ConsumedQuantity",
        ] {
            r[col(c)]
                .parse::<Decimal>()
                .unwrap_or_else(|e| panic!("{c} {}: {e}", r[col(c)]));
        }
        assert!(!r[col("PricingUnit")].is_empty() && r[col("PricingUnit")] == r[col("ConsumedUnit")]);
        assert_eq!(
            (r[col("BillingCurrency")].as_str(), r[col("RegionId")].as_str()),
            ("USD", "ap-southeast-1")
        );
        assert_eq!(r[col("ChargeCategory")], "Usage");
        // A past month is all actual.
        assert_eq!(r[col("x_CostdBasis")], "actual");
        assert_eq!(r[col("x_PartialHourRule")], "clock_hour");
        billed += r[col("BilledCost")].parse::<Decimal>().unwrap();
    }
    // The ALB's rows name the load balancer they are for: one set per lifetime.
    let alb: Vec<_> = body
        .iter()
        .filter(|r| r[col("ServiceName")] == "Elastic Load Balancing")
        .collect();
    for (name, n) in [("mlops-demo-0a1b2c3d", 1), ("mlops-demo-4e5f6a7b", 2)] {
        let mine: Vec<_> = alb.iter().filter(|r| r[col("ResourceName")] == name).collect();
        assert!(!mine.is_empty(), "{name}: {text}");
        assert!(
            mine.iter()
                .all(|r| r[col("ResourceId")].ends_with(&format!("/{name}/{n}")))
        );
        // 00:55–04:05 UTC touches 5 clock hours: the hours row is 5 × $0.0252 = $0.126.
        let hours = mine.iter().find(|r| r[col("PricingUnit")] == "hour").unwrap();
        assert_eq!(hours[col("PricingQuantity")], "5");
        assert_eq!(hours[col("BilledCost")], "0.126");
    }
    assert!(alb.iter().all(|r| !r[col("ResourceId")].is_empty()), "{text}");
    // The sum of BilledCost is the month's actual figure, as `costd projection` gives it.
    let p = costd(&["projection", "--config", &cfg, "--month", "2026-02", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&p.stdout).unwrap();
    let actual: Decimal = v["projection"]["month_to_date_usd"].as_str().unwrap().parse().unwrap();
    // Equal to Decimal's precision: address-hours are seconds / 3,600, a repeating fraction
    // that 28 digits cut off, so the per-load-balancer rows may differ from the total in the
    // 28th digit; anything above 10^-20 USD would be a real difference.
    assert!(
        (billed - actual).abs() < Decimal::new(1, 20),
        "rows sum to {billed}, the month's actual figure is {actual}"
    );
    assert_eq!(billed.round_dp(10), actual.round_dp(10));
}
