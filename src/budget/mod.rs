//! Budgets: the month's projection and the alarm state machine over it.
//! PURE: no I/O, no clock.
//!
//! Like AWS Budgets' notifications, each budget has thresholds of type
//! `actual` (month-to-date spend) or `forecast` (projected month total), each
//! a percentage of the monthly amount. A threshold is in ALARM while its value
//! is greater than the threshold (the same `GreaterThanThreshold` the
//! CloudWatch alarms use) and OK otherwise; every change of state is a
//! transition, stored with its time and values, and notified once.

pub mod focus;
pub mod projection;

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

pub use projection::{Component, Projection};

/// What a threshold watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord, Hash, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdKind {
    /// Month-to-date spend.
    Actual,
    /// Projected month total.
    Forecast,
}

impl ThresholdKind {
    /// Name in config and output.
    pub fn as_str(self) -> &'static str {
        match self {
            ThresholdKind::Actual => "actual",
            ThresholdKind::Forecast => "forecast",
        }
    }
}

/// One notification threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Threshold {
    /// Actual or forecast.
    pub kind: ThresholdKind,
    /// Percent of the budget, e.g. 80.
    pub percent: Decimal,
}

/// A monthly budget.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Budget {
    /// Name: letters, digits, `-`, `_`.
    pub name: String,
    /// Monthly amount in USD.
    pub monthly_usd: Decimal,
    /// All components (`None`) or one.
    pub scope: Option<Component>,
    /// Its thresholds.
    pub thresholds: Vec<Threshold>,
}

impl Budget {
    /// `<budget>/<kind>/<percent>`: the stable id of a threshold.
    pub fn key(&self, t: &Threshold) -> String {
        format!("{}/{}/{}", self.name, t.kind.as_str(), t.percent.normalize())
    }

    /// The threshold in USD.
    pub fn threshold_usd(&self, t: &Threshold) -> Decimal {
        (self.monthly_usd * t.percent / Decimal::ONE_HUNDRED).normalize()
    }

    /// Scope name: `all` or a component.
    pub fn scope_name(&self) -> &'static str {
        self.scope.map_or("all", Component::as_str)
    }
}

/// Alarm state of one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum AlarmState {
    /// Not crossed.
    Ok,
    /// Crossed.
    Alarm,
}

impl fmt::Display for AlarmState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
        })
    }
}

impl AlarmState {
    /// Parses `OK` / `ALARM`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "OK" => Some(AlarmState::Ok),
            "ALARM" => Some(AlarmState::Alarm),
            _ => None,
        }
    }
}

/// A threshold evaluated against a projection.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Evaluation {
    /// `<budget>/<kind>/<percent>`.
    pub key: String,
    /// The budget.
    pub budget: String,
    /// `all` or a component.
    pub scope: String,
    /// Actual or forecast.
    pub kind: ThresholdKind,
    /// Percent of the budget.
    pub percent: Decimal,
    /// The value compared.
    pub value_usd: Decimal,
    /// The threshold in USD.
    pub threshold_usd: Decimal,
    /// The resulting state.
    pub state: AlarmState,
}

/// A change of state, to store and notify.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Transition {
    /// When.
    pub at: DateTime<Utc>,
    /// The month the values are for.
    pub month: String,
    /// From.
    pub from: AlarmState,
    /// To.
    pub to: AlarmState,
    /// The evaluation that caused it.
    #[serde(flatten)]
    pub evaluation: Evaluation,
}

/// Evaluates every threshold. `previous` holds the stored states by key
/// (a threshold never seen is OK). Returns all evaluations and the transitions.
pub fn evaluate(
    budgets: &[Budget],
    projection: &Projection,
    previous: &BTreeMap<String, AlarmState>,
    at: DateTime<Utc>,
) -> (Vec<Evaluation>, Vec<Transition>) {
    let mut evaluations = Vec::new();
    let mut transitions = Vec::new();
    for b in budgets {
        let (actual, forecast) = projection.totals(b.scope);
        for t in &b.thresholds {
            let value = match t.kind {
                ThresholdKind::Actual => actual,
                ThresholdKind::Forecast => forecast,
            };
            let threshold_usd = b.threshold_usd(t);
            let state = if value > threshold_usd {
                AlarmState::Alarm
            } else {
                AlarmState::Ok
            };
            let e = Evaluation {
                key: b.key(t),
                budget: b.name.clone(),
                scope: b.scope_name().to_string(),
                kind: t.kind,
                percent: t.percent.normalize(),
                value_usd: value,
                threshold_usd,
                state,
            };
            let from = previous.get(&e.key).copied().unwrap_or(AlarmState::Ok);
            if from != state {
                transitions.push(Transition {
                    at,
                    month: projection.month.clone(),
                    from,
                    to: state,
                    evaluation: e.clone(),
                });
            }
            evaluations.push(e);
        }
    }
    (evaluations, transitions)
}

#[cfg(test)]
mod tests {
    use super::projection::ComponentProjection;
    use super::*;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn projection(mtd: Decimal, projected: Decimal) -> Projection {
        Projection {
            month: "2026-12".into(),
            timezone: "UTC".into(),
            at: Utc.with_ymd_and_hms(2026, 12, 10, 0, 0, 0).unwrap(),
            hours_in_month: dec!(744),
            elapsed_hours: dec!(216),
            month_to_date_usd: mtd,
            projected_usd: projected,
            partial_hour: crate::cost::billing::PartialHour::Lifetime,
            components: vec![ComponentProjection {
                component: Component::Alb,
                actual_usd: mtd,
                scheduled_usd: projected - mtd,
                projected_usd: projected,
                line_items: vec![],
            }],
            alb_actual_by_resource: vec![],
            days: vec![],
        }
    }

    fn budget() -> Budget {
        Budget {
            name: "networking".into(),
            monthly_usd: dec!(100),
            scope: None,
            thresholds: vec![
                Threshold {
                    kind: ThresholdKind::Forecast,
                    percent: dec!(80),
                },
                Threshold {
                    kind: ThresholdKind::Forecast,
                    percent: dec!(100),
                },
                Threshold {
                    kind: ThresholdKind::Actual,
                    percent: dec!(100),
                },
            ],
        }
    }

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 10, h, 0, 0).unwrap()
    }

    /// Runs a sequence of (mtd, projected), carrying state like the daemon and its store do.
    fn run(
        seq: &[(Decimal, Decimal)],
        start: BTreeMap<String, AlarmState>,
    ) -> (Vec<(String, String)>, BTreeMap<String, AlarmState>) {
        let mut state = start;
        let mut log = Vec::new();
        for (i, (mtd, p)) in seq.iter().enumerate() {
            let (_, ts) = evaluate(&[budget()], &projection(*mtd, *p), &state, at(i as u32));
            for t in ts {
                log.push((t.evaluation.key.clone(), format!("{}→{}", t.from, t.to)));
                state.insert(t.evaluation.key, t.to);
            }
        }
        (log, state)
    }

    #[test]
    fn crossing_up_then_down() {
        // Forecast 79 (< 80): OK. 85 (> 80): forecast/80 → ALARM. 101: forecast/100 → ALARM.
        // 90: forecast/100 → OK. 70: forecast/80 → OK. Actual stays ≤ 100 throughout.
        let (log, _) = run(
            &[
                (dec!(10), dec!(79)),
                (dec!(20), dec!(85)),
                (dec!(30), dec!(101)),
                (dec!(40), dec!(90)),
                (dec!(40), dec!(70)),
            ],
            BTreeMap::new(),
        );
        assert_eq!(
            log,
            [
                ("networking/forecast/80".into(), "OK→ALARM".into()),
                ("networking/forecast/100".into(), "OK→ALARM".into()),
                ("networking/forecast/100".into(), "ALARM→OK".into()),
                ("networking/forecast/80".into(), "ALARM→OK".into()),
            ]
        );
    }

    #[test]
    fn exactly_at_the_threshold_is_not_over_it() {
        // 80 % of $100 = $80: greater-than, so $80.00 is OK and $80.01 is ALARM.
        let (log, _) = run(&[(dec!(0), dec!(80)), (dec!(0), dec!(80.01))], BTreeMap::new());
        assert_eq!(log, [("networking/forecast/80".into(), "OK→ALARM".into())]);
    }

    #[test]
    fn flapping_gives_one_transition_per_crossing_and_none_while_steady() {
        let seq = [
            dec!(81),
            dec!(81),
            dec!(79),
            dec!(79),
            dec!(81),
            dec!(79),
            dec!(81),
            dec!(81),
        ]
        .map(|p| (dec!(0), p));
        let (log, _) = run(&seq, BTreeMap::new());
        let f80: Vec<&str> = log
            .iter()
            .filter(|(k, _)| k == "networking/forecast/80")
            .map(|(_, t)| t.as_str())
            .collect();
        assert_eq!(f80, ["OK→ALARM", "ALARM→OK", "OK→ALARM", "ALARM→OK", "OK→ALARM"]);
    }

    #[test]
    fn restart_in_alarm_neither_repeats_nor_loses() {
        // Before the restart: forecast/80 went to ALARM; the store kept that state.
        let (_, stored) = run(&[(dec!(0), dec!(90))], BTreeMap::new());
        assert_eq!(stored.get("networking/forecast/80"), Some(&AlarmState::Alarm));
        // After the restart, still 90: no transition (not repeated).
        let (log, stored) = run(&[(dec!(0), dec!(90))], stored);
        assert!(log.is_empty(), "{log:?}");
        // It drops while costd was down: the recovery is seen at once (not lost).
        let (log, _) = run(&[(dec!(0), dec!(50))], stored);
        assert_eq!(log, [("networking/forecast/80".into(), "ALARM→OK".into())]);
    }

    #[test]
    fn actual_thresholds_use_month_to_date_and_scope_filters_components() {
        let mut b = budget();
        b.scope = Some(Component::Network); // the projection has only ALB spend
        let (e, t) = evaluate(&[b], &projection(dec!(150), dec!(300)), &BTreeMap::new(), at(0));
        assert!(t.is_empty());
        assert!(e.iter().all(|e| e.value_usd.is_zero() && e.scope == "network"));
        let (e, _) = evaluate(&[budget()], &projection(dec!(150), dec!(300)), &BTreeMap::new(), at(0));
        let actual = e.iter().find(|e| e.kind == ThresholdKind::Actual).unwrap();
        assert_eq!(
            (actual.value_usd, actual.threshold_usd, actual.state),
            (dec!(150), dec!(100), AlarmState::Alarm)
        );
    }
}
