//! The cost model. PURE: rates × quantities → line items. No I/O, no clock,
//! no tokio, no AWS SDK; instants and price tables are passed in.
//!
//! Every dollar figure is a sum of [`LineItem`]s that say quantity × rate and
//! where the rate came from.

pub mod bill;
pub mod billing;
pub mod load_balancer;
pub mod monitoring;
pub mod network;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::pricing::{Rate, Unit};

/// One priced quantity: `quantity × rate_usd = cost_usd`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LineItem {
    /// What is being paid for, in the user's words.
    pub item: String,
    /// How many units.
    pub quantity: Decimal,
    /// The unit of `quantity` and of the rate.
    pub unit: Unit,
    /// USD per unit.
    pub rate_usd: Decimal,
    /// `quantity × rate_usd`, unrounded.
    pub cost_usd: Decimal,
    /// The AWS usage type the charge appears under (empty for free items).
    pub usage_type: String,
    /// Where the rate came from.
    pub source: String,
}

impl LineItem {
    /// `quantity` units at `rate`.
    pub fn priced(item: impl Into<String>, quantity: Decimal, rate: &Rate) -> Self {
        LineItem {
            item: item.into(),
            quantity: quantity.normalize(),
            unit: rate.unit,
            rate_usd: rate.usd.normalize(),
            cost_usd: (quantity * rate.usd).normalize(),
            usage_type: rate.usage_type.clone(),
            source: rate.source.clone(),
        }
    }

    /// A quantity that AWS does not charge for, and why.
    pub fn free(item: impl Into<String>, quantity: Decimal, unit: Unit, why: &str) -> Self {
        LineItem {
            item: item.into(),
            quantity: quantity.normalize(),
            unit,
            rate_usd: Decimal::ZERO,
            cost_usd: Decimal::ZERO,
            usage_type: String::new(),
            source: why.to_string(),
        }
    }
}

/// Sum of the line items' costs.
pub fn total(items: &[LineItem]) -> Decimal {
    items.iter().map(|i| i.cost_usd).sum::<Decimal>().normalize()
}
