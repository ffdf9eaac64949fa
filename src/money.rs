//! Money helpers. Money is [`Decimal`] everywhere; rounding to cents happens
//! only here, for display.

use rust_decimal::{Decimal, RoundingStrategy};

/// Rounds half-up (away from zero) to whole cents, for display only.
pub fn to_cents(usd: Decimal) -> Decimal {
    usd.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// `$1,234.57`: rounded half-up to cents with thousands separators.
pub fn format_usd(usd: Decimal) -> String {
    let c = to_cents(usd);
    let neg = c.is_sign_negative() && !c.is_zero();
    let s = format!("{:.2}", c.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{}${grouped}.{frac}", if neg { "-" } else { "" })
}

/// A quantity for display: trailing zeros dropped, at most `dp` decimals.
pub fn format_quantity(q: Decimal, dp: u32) -> String {
    q.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
        .normalize()
        .to_string()
}

/// The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k at or above
/// `v` (at least a cent): a round top for an axis with little room wasted.
pub fn axis_top(v: Decimal) -> Decimal {
    let v = v.max(Decimal::new(1, 2));
    let mut step = Decimal::new(1, 2);
    loop {
        for m in [10, 12, 15, 20, 25, 30, 40, 50, 60, 80].map(|m| Decimal::new(m, 1)) {
            if step * m >= v {
                return (step * m).normalize();
            }
        }
        step *= Decimal::TEN;
    }
}

/// USD as a float, for the APIs that take only floats (CloudWatch, the
/// OpenMetrics exposition): the one place a Decimal becomes an `f64`.
pub fn usd_to_f64(d: Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    d.round_dp(6).to_f64().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn axis_tops_are_round_and_never_below_the_value() {
        assert_eq!(axis_top(dec!(105)), dec!(120));
        assert_eq!(axis_top(dec!(1732.19)), dec!(2000));
        assert_eq!(axis_top(dec!(0)), dec!(0.01));
        assert_eq!(axis_top(dec!(0.013)), dec!(0.015));
        assert_eq!(axis_top(dec!(80)), dec!(80));
        assert_eq!(axis_top(dec!(80.0001)), dec!(100));
    }

    #[test]
    fn cents_round_half_up_only_for_display() {
        assert_eq!(to_cents(dec!(2.025)), dec!(2.03));
        assert_eq!(to_cents(dec!(2.0249)), dec!(2.02));
        assert_eq!(format_usd(dec!(1234567.005)), "$1,234,567.01");
        assert_eq!(format_usd(dec!(0)), "$0.00");
        assert_eq!(format_usd(dec!(-18.985)), "-$18.99");
        assert_eq!(format_quantity(dec!(1460.000), 4), "1460");
        assert_eq!(format_quantity(dec!(0.123456), 4), "0.1235");
    }
}
