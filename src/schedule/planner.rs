//! The planner: given the demo windows, the ledger's open lifetime and an
//! instant, should the ALB exist now, why, and when is the next edge?
//! PURE: no I/O, no clock.
//!
//! - **Lead and grace**: the ALB is needed from `start − lead` (so it is active
//!   with DNS ready when the window opens) to `end + grace`. Overlapping needs
//!   merge.
//! - **Gap coalescing**: between two needs, the ALB is kept through the gap
//!   when one lifetime across it costs no more than two (partial hours are
//!   billed as full hours per lifetime, and public IPv4 per second), so a
//!   45-minute gap inside an already-paid hour is never a delete + re-create.
//!   The decision is made greedily from the current lifetime's real start, so
//!   it does not flip as time passes.

use chrono::{DateTime, Duration, DurationRound, Utc};
use rust_decimal::Decimal;

use super::Interval;
use super::blackout::Blackouts;
use crate::cost::billing::{PartialHour, ipv4_billed_seconds};
use crate::money::format_usd;
use crate::schedule::{WindowSpec, expand};

/// One concrete demo window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoWindow {
    /// Stable id: `cfg<i>@<start>` for config recurring, `cfg<i>` for config one-off, `w<id>` for stored.
    pub id: String,
    /// When it is open.
    pub interval: Interval,
}

/// How windows become ALB lifetimes: lead, grace and gap coalescing. The
/// daemon's `[schedule]` and a scenario's `[load_balancer]` both hold one,
/// with the same defaults, so `costd model` prices what the daemon runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifetimeRules {
    /// Create this long before a window opens (default 5 min).
    pub lead: Duration,
    /// Delete this long after it closes (default 5 min).
    pub grace: Duration,
    /// Keep the ALB through a gap when that is not dearer (default on).
    pub coalesce: bool,
}

impl Default for LifetimeRules {
    fn default() -> Self {
        LifetimeRules {
            lead: Duration::minutes(5),
            grace: Duration::minutes(5),
            coalesce: true,
        }
    }
}

/// The most lead or grace a schedule may have, in minutes.
pub const MAX_LEAD_OR_GRACE_MINUTES: u32 = 120;

/// What the planner needs besides the windows.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannerSettings {
    /// Create this long before a window opens.
    pub lead: Duration,
    /// Delete this long after it closes.
    pub grace: Duration,
    /// Keep the ALB through gaps when not dearer.
    pub coalesce: bool,
    /// ALB hourly rate (USD per hour or partial hour, per lifetime).
    pub lb_usd_per_hour: Decimal,
    /// Public IPv4 cost of the ALB per hour (all its addresses), billed per second.
    pub ipv4_usd_per_hour: Decimal,
    /// How partial hours are billed (coalescing and the window advice follow it).
    pub partial_hour: PartialHour,
}

impl PlannerSettings {
    /// Hours billed for a lifetime from `start` to `end`, under the rule.
    pub fn billed_hours(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
        Interval::new(start, end).map_or(0, |l| self.partial_hour.billed_hours(&l))
    }

    /// What one lifetime from `start` to `end` costs in fixed charges (hours + IPv4).
    pub fn lifetime_usd(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Decimal {
        Decimal::from(self.billed_hours(start, end)) * self.lb_usd_per_hour
            + Decimal::from(ipv4_billed_seconds((end - start).num_seconds())) * self.ipv4_usd_per_hour
                / Decimal::from(3600)
    }
}

/// A lifetime the plan wants: one ALB from `start` to `end`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedLifetime {
    /// When it should exist from (the real start, for the current one).
    pub start: DateTime<Utc>,
    /// When it should be deleted.
    pub end: DateTime<Utc>,
    /// Windows it serves, in order.
    pub window_ids: Vec<String>,
    /// Gaps it is kept through, with why.
    pub coalesced_gaps: Vec<CoalescedGap>,
}

/// A gap between windows that the ALB is kept through.
#[derive(Debug, Clone, PartialEq)]
pub struct CoalescedGap {
    /// The gap.
    pub gap: Interval,
    /// The window before and after.
    pub between: (String, String),
    /// Cost of keeping vs deleting and re-creating, in words.
    pub why: String,
}

/// The answer at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Whether the ALB should exist now.
    pub should_exist: bool,
    /// The lifetime it belongs to, when it should exist.
    pub current: Option<PlannedLifetime>,
    /// Set when `at` lies in a coalesced gap (the ALB is kept, no window is open).
    pub in_gap: Option<CoalescedGap>,
    /// The next instant at which the answer changes (create or delete).
    pub next_edge: Option<DateTime<Utc>>,
    /// Lifetimes after the current one, within the windows given.
    pub upcoming: Vec<PlannedLifetime>,
}

struct Need {
    interval: Interval,
    ids: Vec<String>,
}

fn needs(windows: &[DemoWindow], s: &PlannerSettings) -> Vec<Need> {
    let mut v: Vec<Need> = windows
        .iter()
        .map(|w| Need {
            interval: Interval {
                start: w.interval.start - s.lead,
                end: w.interval.end + s.grace,
            },
            ids: vec![w.id.clone()],
        })
        .collect();
    v.sort_by_key(|n| n.interval);
    let mut out: Vec<Need> = Vec::with_capacity(v.len());
    for n in v {
        match out.last_mut() {
            Some(last) if n.interval.start <= last.interval.end => {
                last.interval.end = last.interval.end.max(n.interval.end);
                last.ids.extend(n.ids);
            }
            _ => out.push(n),
        }
    }
    out
}

fn human(d: Duration) -> String {
    let m = d.num_minutes();
    match (m / 60, m % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// Whether to keep a lifetime that started at `start` and would otherwise end
/// at `end`, through to `next.end`. Returns the gap record when so.
fn coalesce(
    s: &PlannerSettings,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    last_id: &str,
    next: &Need,
) -> Option<CoalescedGap> {
    if !s.coalesce {
        return None;
    }
    let one = s.lifetime_usd(start, next.interval.end);
    let two = s.lifetime_usd(start, end) + s.lifetime_usd(next.interval.start, next.interval.end);
    if one > two {
        return None;
    }
    let gap = Interval {
        start: end,
        end: next.interval.start,
    };
    Some(CoalescedGap {
        between: (last_id.to_string(), next.ids[0].clone()),
        why: format!(
            "kept through the {} gap: one lifetime bills {} h ({}), deleting and re-creating bills {} h + {} h ({})",
            human(gap.end - gap.start),
            s.billed_hours(start, next.interval.end),
            format_usd(one),
            s.billed_hours(start, end),
            s.billed_hours(next.interval.start, next.interval.end),
            format_usd(two)
        ),
        gap,
    })
}

/// Extends `cur` greedily over the following needs.
fn extend(s: &PlannerSettings, cur: &mut PlannedLifetime, rest: &mut std::iter::Peekable<std::vec::IntoIter<Need>>) {
    while let Some(next) = rest.peek() {
        let last_id = cur.window_ids.last().cloned().unwrap_or_default();
        match coalesce(s, cur.start, cur.end, &last_id, next) {
            Some(gap) => {
                let next = rest.next().expect("peeked");
                cur.coalesced_gaps.push(gap);
                cur.end = next.interval.end;
                cur.window_ids.extend(next.ids);
            }
            None => break,
        }
    }
}

/// Plans at `at`. `active_since` is the start of the ALB lifetime that exists
/// now according to the ledger (or AWS), if any.
pub fn plan(
    at: DateTime<Utc>,
    windows: &[DemoWindow],
    active_since: Option<DateTime<Utc>>,
    s: &PlannerSettings,
) -> Plan {
    let mut rest = needs(windows, s)
        .into_iter()
        .filter(|n| n.interval.end > at)
        .collect::<Vec<_>>()
        .into_iter()
        .peekable();
    let open_now = rest.peek().is_some_and(|n| n.interval.start <= at);
    let mut in_gap = None;
    let mut current = match (active_since, open_now) {
        (since, true) => {
            let n = rest.next().expect("peeked");
            Some(PlannedLifetime {
                start: since.unwrap_or(at).min(at),
                end: n.interval.end,
                window_ids: n.ids,
                coalesced_gaps: Vec::new(),
            })
        }
        (Some(since), false) => match rest.peek() {
            // The ALB exists but no window needs it now: keep it only if that is
            // not dearer than deleting now and re-creating for the next window.
            Some(next) => coalesce(s, since, at, "", next).map(|gap| {
                let next = rest.next().expect("peeked");
                in_gap = Some(gap.clone());
                PlannedLifetime {
                    start: since,
                    end: next.interval.end,
                    window_ids: next.ids,
                    coalesced_gaps: vec![gap],
                }
            }),
            None => None,
        },
        (None, false) => None,
    };
    if let Some(cur) = current.as_mut() {
        extend(s, cur, &mut rest);
    }
    let mut upcoming = Vec::new();
    while let Some(n) = rest.next() {
        let mut l = PlannedLifetime {
            start: n.interval.start,
            end: n.interval.end,
            window_ids: n.ids,
            coalesced_gaps: Vec::new(),
        };
        extend(s, &mut l, &mut rest);
        upcoming.push(l);
    }
    let next_edge = match &current {
        Some(c) => Some(c.end),
        None => upcoming.first().map(|u| u.start),
    };
    Plan {
        should_exist: current.is_some(),
        current,
        in_gap,
        next_edge,
        upcoming,
    }
}

/// Every lifetime `windows` need, as the daemon runs them: planned from
/// before the first window's lead, with the same merging and coalescing.
pub fn lifetimes(windows: &[DemoWindow], s: &PlannerSettings) -> Vec<PlannedLifetime> {
    let Some(first) = windows.iter().map(|w| w.interval.start).min() else {
        return Vec::new();
    };
    plan(first - s.lead - Duration::seconds(1), windows, None, s).upcoming
}

/// The concrete windows overlapping `span`: config windows (recurring ones
/// not opening in a blackout) and stored one-off windows.
pub fn windows_in(
    config: &[WindowSpec],
    stored: &[(i64, Interval)],
    blackouts: &Blackouts,
    span: Interval,
) -> Vec<DemoWindow> {
    let mut out = Vec::new();
    for (i, spec) in config.iter().enumerate() {
        for iv in expand(std::slice::from_ref(spec), span) {
            match spec {
                WindowSpec::Recurring(_) if blackouts.suppresses(iv.start) => {}
                WindowSpec::Recurring(_) => out.push(DemoWindow {
                    id: format!("cfg{i}@{}", iv.start.format("%Y%m%dT%H%MZ")),
                    interval: iv,
                }),
                WindowSpec::OneOff(_) => out.push(DemoWindow {
                    id: format!("cfg{i}"),
                    interval: iv,
                }),
            }
        }
    }
    for (id, iv) in stored {
        if iv.clip(&span).is_some() {
            out.push(DemoWindow {
                id: format!("w{id}"),
                interval: *iv,
            });
        }
    }
    out.sort_by(|a, b| a.interval.cmp(&b.interval).then(a.id.cmp(&b.id)));
    out
}

/// What the ALB costs for one window on its own (no neighbour to share a
/// lifetime with): its lifetime with lead and grace, the hours billed, the
/// fixed charges (hours + public IPv4), and whether lead and grace push it
/// into one more billed hour than the window itself spans.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct WindowCost {
    /// Window + lead + grace (lead cut to what is left of it at `now`), in minutes.
    pub lifetime_minutes: i64,
    /// Hours billed, under `partial_hour`.
    pub billed_hours: i64,
    /// The partial-hour rule the hours are counted by.
    pub partial_hour: PartialHour,
    /// Under the clock-hour rule: the UTC clock hours the lifetime touches (`08:00–13:00 UTC`).
    pub clock_hours_utc: Option<String>,
    /// Billed hours × the ALB's hourly rate + public IPv4 per second.
    pub fixed_usd: Decimal,
    /// Set when lead and grace cost one more billed hour.
    pub extra_hour: Option<ExtraHour>,
}

/// The billed hour that lead and grace add to a window, and how to avoid it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ExtraHour {
    /// Hours billed with the window that much shorter (one fewer).
    pub billed_hours_without: i64,
    /// A window this much shorter (at its end) bills `billed_hours_without` hours.
    pub shorten_by_minutes: i64,
    /// What the shorter window saves.
    pub saves_usd: Decimal,
}

/// [`WindowCost`] for `window` under `s`, as of `now` (a window that opens
/// within its lead time gets its ALB now, not `lead` before it opens).
pub fn window_cost(window: Interval, s: &PlannerSettings, now: DateTime<Utc>) -> WindowCost {
    let window_s = (window.end - window.start).num_seconds();
    let created = (window.start - s.lead).max(now.min(window.start));
    let life_end = window.end + s.grace;
    let life_s = (life_end - created).num_seconds();
    let billed = s.billed_hours(created, life_end);
    let without = s.billed_hours(window.start, window.end);
    let fixed_usd = s.lifetime_usd(created, life_end);
    // Lead and grace (or, per clock hour, where the lifetime falls) cost an hour
    // more than the window alone: the fewest whole minutes off the window's end
    // that bill one hour less, if the window is longer than that.
    let extra_hour = (billed > without)
        .then(|| {
            (1..=60)
                .take_while(|m| window_s > m * 60)
                .find(|m| s.billed_hours(created, life_end - Duration::minutes(*m)) < billed)
                .map(|m| {
                    let shorter_end = life_end - Duration::minutes(m);
                    ExtraHour {
                        billed_hours_without: s.billed_hours(created, shorter_end),
                        shorten_by_minutes: m,
                        saves_usd: fixed_usd - s.lifetime_usd(created, shorter_end),
                    }
                })
        })
        .flatten();
    let clock_hours_utc = (s.partial_hour == PartialHour::ClockHour).then(|| {
        let from = created.duration_trunc(Duration::hours(1)).unwrap_or(created);
        let to = from + Duration::hours(billed);
        format!("{}–{} UTC", from.format("%H:%M"), to.format("%H:%M"))
    });
    WindowCost {
        lifetime_minutes: life_s / 60,
        billed_hours: billed,
        partial_hour: s.partial_hour,
        clock_hours_utc,
        fixed_usd,
        extra_hour,
    }
}

impl WindowCost {
    /// One or two lines for people: the cost, and the extra hour if any.
    pub fn describe(&self, s: &PlannerSettings) -> String {
        let touches = self
            .clock_hours_utc
            .as_ref()
            .map_or(String::new(), |h| format!(" (clock hours {h})"));
        let mut out = format!(
            "ALB for this window on its own: {} min with lead and grace, {} billed hour{}{touches}, {} (hours + public IPv4; {})",
            self.lifetime_minutes,
            self.billed_hours,
            if self.billed_hours == 1 { "" } else { "s" },
            format_usd(self.fixed_usd),
            self.partial_hour.describe()
        );
        if let Some(x) = &self.extra_hour {
            let why = match self.partial_hour {
                PartialHour::Lifetime => format!(
                    "lead ({} min) and grace ({} min) push it into billed hour {}",
                    s.lead.num_minutes(),
                    s.grace.num_minutes(),
                    self.billed_hours
                ),
                PartialHour::ClockHour => format!(
                    "with lead ({} min) and grace ({} min) it touches {} clock hours",
                    s.lead.num_minutes(),
                    s.grace.num_minutes(),
                    self.billed_hours
                ),
            };
            out.push_str(&format!(
                "\nnote: {why}; a window {} min shorter bills {} and saves {}",
                x.shorten_by_minutes,
                x.billed_hours_without,
                format_usd(x.saves_usd)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{CronExpr, RecurringWindow, parse_duration};
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn t(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, d, h, m, 0).unwrap()
    }

    fn w(id: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> DemoWindow {
        DemoWindow {
            id: id.into(),
            interval: Interval::new(start, end).unwrap(),
        }
    }

    /// us-east-1 ALB $0.0225/h, 2 public IPv4 × $0.005/h = $0.01/h; no lead or grace.
    fn settings() -> PlannerSettings {
        PlannerSettings {
            lead: Duration::zero(),
            grace: Duration::zero(),
            coalesce: true,
            lb_usd_per_hour: dec!(0.0225),
            ipv4_usd_per_hour: dec!(0.01),
            partial_hour: PartialHour::Lifetime,
        }
    }

    #[test]
    fn per_clock_hour_the_advice_names_the_hours_and_what_saves_one() {
        let s = PlannerSettings {
            lead: Duration::minutes(5),
            grace: Duration::minutes(5),
            partial_hour: PartialHour::ClockHour,
            ..settings()
        };
        // 09:00–12:00 UTC with lead and grace: 08:55–12:05 touches 08, 09, 10, 11 and 12: 5 hours.
        let c = window_cost(Interval::new(t(1, 9, 0), t(1, 12, 0)).unwrap(), &s, t(1, 0, 0));
        assert_eq!(
            (c.billed_hours, c.clock_hours_utc.as_deref()),
            (5, Some("08:00–13:00 UTC"))
        );
        // The window alone touches 3 (09–11). Ten minutes shorter (ending 11:50 + 5 = 11:55)
        // would still touch 08–11 = 4 hours, yet 5 minutes shorter is enough: 08:55–12:00 → 4.
        let x = c.extra_hour.clone().expect("an extra clock hour is flagged");
        assert_eq!((x.shorten_by_minutes, x.billed_hours_without), (5, 4));
        // One hour × $0.0225 plus 300 s of IPv4 at $0.01/h: $0.0225 + $0.000833….
        assert_eq!(
            x.saves_usd.round_dp(12),
            (dec!(0.0225) + dec!(3) / dec!(3600)).round_dp(12)
        );
        assert!(c.describe(&s).contains("touches 5 clock hours"), "{}", c.describe(&s));
        // On the hour with no lead or grace: 3 hours either way, nothing to flag.
        let bare = PlannerSettings {
            partial_hour: PartialHour::ClockHour,
            ..settings()
        };
        let c = window_cost(Interval::new(t(1, 9, 0), t(1, 12, 0)).unwrap(), &bare, t(1, 0, 0));
        assert_eq!((c.billed_hours, c.extra_hour), (3, None));
    }

    #[test]
    fn lead_and_grace_that_push_a_window_into_another_hour_are_flagged() {
        let s = PlannerSettings {
            lead: Duration::minutes(5),
            grace: Duration::minutes(5),
            ..settings()
        };
        // 3 h window + 5 + 5 min = 190 min = 11,400 s → 4 billed hours.
        // Fixed: 4 × $0.0225 = $0.09, IPv4 11,400 s × $0.01/h ÷ 3600 = $0.031666…
        let c = window_cost(Interval::new(t(1, 9, 0), t(1, 12, 0)).unwrap(), &s, t(1, 0, 0));
        assert_eq!(c.lifetime_minutes, 190);
        assert_eq!(c.billed_hours, 4);
        assert_eq!(c.fixed_usd, dec!(0.09) + dec!(114) / dec!(3600));
        // The window alone spans 3 h; 10 min shorter (2 h 50 min + 10 min = 3 h) bills 3:
        // 3 × $0.0225 + 10,800 s × $0.01/h ÷ 3600 = $0.0675 + $0.03 = $0.0975,
        // saving $0.121666… − $0.0975 = $0.0225 + 600 s × $0.01/h ÷ 3600 = $0.0225 + $0.001666…
        let x = c.extra_hour.clone().expect("the 4th hour is flagged");
        assert_eq!(x.billed_hours_without, 3);
        assert_eq!(x.shorten_by_minutes, 10);
        assert_eq!(x.saves_usd, c.fixed_usd - dec!(0.0975));
        assert_eq!((x.saves_usd * dec!(10000)).round(), dec!(242)); // ≈ $0.0242
        let text = c.describe(&s);
        assert!(
            text.contains("190 min with lead and grace, 4 billed hours, $0.12"),
            "{text}"
        );
        assert!(
            text.contains("lead (5 min) and grace (5 min) push it into billed hour 4; a window 10 min shorter bills 3 and saves $0.02"),
            "{text}"
        );

        // 2 h 50 min + 10 min = exactly 3 h: 3 billed hours, nothing to flag.
        let fits = window_cost(Interval::new(t(1, 9, 0), t(1, 11, 50)).unwrap(), &s, t(1, 0, 0));
        assert_eq!((fits.billed_hours, fits.extra_hour), (3, None));
        assert_eq!(fits.fixed_usd, dec!(0.0975));
        // 2 h 55 min + 10 min = 3 h 5 min: 4 hours, 5 min too long.
        let over = window_cost(Interval::new(t(1, 9, 0), t(1, 11, 55)).unwrap(), &s, t(1, 0, 0));
        assert_eq!(over.extra_hour.map(|x| x.shorten_by_minutes), Some(5));
        // Without lead and grace a 3 h window bills exactly 3 hours.
        let bare = window_cost(Interval::new(t(1, 9, 0), t(1, 12, 0)).unwrap(), &settings(), t(1, 0, 0));
        assert_eq!((bare.billed_hours, bare.extra_hour), (3, None));
        // Added at 08:58 for 09:00–12:00: the ALB comes now (2 min of lead),
        // 182 + 5 = 187 min → 4 hours; 7 min shorter fits in 3.
        let late = window_cost(Interval::new(t(1, 9, 0), t(1, 12, 0)).unwrap(), &s, t(1, 8, 58));
        assert_eq!(late.lifetime_minutes, 187);
        assert_eq!(late.extra_hour.map(|x| x.shorten_by_minutes), Some(7));
        // 2 min window + 10 min: 1 hour either way; nothing to shorten.
        let tiny = window_cost(Interval::new(t(1, 9, 0), t(1, 9, 2)).unwrap(), &s, t(1, 0, 0));
        assert_eq!((tiny.billed_hours, tiny.extra_hour), (1, None));
    }

    #[test]
    fn exists_exactly_in_a_window_with_lead_and_grace() {
        let s = PlannerSettings {
            lead: Duration::minutes(5),
            grace: Duration::minutes(10),
            ..settings()
        };
        let ws = [w("a", t(3, 9, 0), t(3, 12, 0))];
        // (instant, should exist, next edge)
        for (at, exists, edge) in [
            (t(3, 8, 0), false, t(3, 8, 55)),
            (t(3, 8, 55), true, t(3, 12, 10)),
            (t(3, 11, 0), true, t(3, 12, 10)),
            (t(3, 12, 9), true, t(3, 12, 10)),
        ] {
            let p = plan(at, &ws, if exists { Some(t(3, 8, 55)) } else { None }, &s);
            assert_eq!((p.should_exist, p.next_edge), (exists, Some(edge)), "at {at}");
        }
        let p = plan(t(3, 12, 10), &ws, Some(t(3, 8, 55)), &s);
        assert!(
            !p.should_exist && p.next_edge.is_none(),
            "deleted at end + grace; nothing after"
        );
    }

    #[test]
    fn late_start_creates_now_for_an_open_window() {
        // The daemon was down when the window opened: create now, delete at the end.
        let p = plan(t(3, 10, 0), &[w("a", t(3, 9, 0), t(3, 12, 0))], None, &settings());
        let c = p.current.unwrap();
        assert_eq!((c.start, c.end), (t(3, 10, 0), t(3, 12, 0)));
    }

    #[test]
    fn a_gap_inside_paid_hours_is_coalesced() {
        // a 09:00–10:20, b 10:50–11:40. Together 09:00–11:40 = 2 h 40 min → 3 billed hours.
        // Apart: 1 h 20 min → 2 h, plus 50 min → 1 h = 3 h. IPv4: 160 min × $0.01/h = 0.0267
        // vs 80 + 50 = 130 min = 0.0217. Hours equal (3 × 0.0225 = 0.0675); IPv4 makes one
        // lifetime dearer by 30 min × $0.01/h = $0.005: 0.0941 > 0.0891 → NOT coalesced.
        let ws = [w("a", t(3, 9, 0), t(3, 10, 20)), w("b", t(3, 10, 50), t(3, 11, 40))];
        let p = plan(t(3, 9, 0), &ws, Some(t(3, 9, 0)), &settings());
        assert_eq!(p.current.as_ref().unwrap().end, t(3, 10, 20));
        // With IPv4 free (an internal ALB), hours alone decide: 3 h = 3 h → keep (not dearer).
        let internal = PlannerSettings {
            ipv4_usd_per_hour: dec!(0),
            ..settings()
        };
        let p = plan(t(3, 9, 0), &ws, Some(t(3, 9, 0)), &internal);
        let c = p.current.unwrap();
        assert_eq!(
            (c.end, c.window_ids.clone()),
            (t(3, 11, 40), vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(c.coalesced_gaps.len(), 1);
        assert!(
            c.coalesced_gaps[0].why.contains("one lifetime bills 3 h"),
            "{}",
            c.coalesced_gaps[0].why
        );
        // In the gap, the plan says keep, and why.
        let p = plan(t(3, 10, 30), &ws, Some(t(3, 9, 0)), &internal);
        assert!(p.should_exist && p.in_gap.is_some());
        assert_eq!(p.next_edge, Some(t(3, 11, 40)));
    }

    #[test]
    fn a_gap_that_saves_an_hour_is_coalesced_even_with_ipv4() {
        // a 09:00–09:30, b 10:00–10:30. Together 1 h 30 min → 2 h = 0.045 + IPv4 90 min 0.015 = 0.06.
        // Apart: 1 h + 1 h = 0.045 + IPv4 60 min 0.01 = 0.055 → apart is cheaper: not coalesced.
        // c 09:40–10:10 after a 09:00–09:20: together 1 h 10 min → 2 h (0.045 + 0.0117 = 0.0567);
        // apart 1 h + 1 h (0.045 + 0.0083 = 0.0533) → not coalesced either.
        // d: a 09:00–09:50, b 09:55–10:40: together 1 h 40 min → 2 h = 0.045 + 0.0167 = 0.0617;
        // apart 1 h + 1 h = 0.045 + 0.0158 = 0.0608 → not coalesced by $0.0008 of IPv4.
        // So with IPv4 on, only gaps where one lifetime saves a whole billed hour coalesce:
        // a 09:00–09:40, b 10:10–10:50: together 1 h 50 min → 2 h = 0.045 + 0.0183 = 0.0633;
        // apart 1 h + 1 h = 0.045 + 0.0133 = 0.0583 → no. And a 09:00–10:10, b 10:20–10:50:
        // together 1 h 50 min → 2 h = 0.0633; apart 2 h + 1 h = 0.0675 + 0.0167 = 0.0842 → YES.
        let ws = [w("a", t(3, 9, 0), t(3, 10, 10)), w("b", t(3, 10, 20), t(3, 10, 50))];
        let p = plan(t(3, 9, 0), &ws, Some(t(3, 9, 0)), &settings());
        assert_eq!(p.current.unwrap().end, t(3, 10, 50));
        let ws = [w("a", t(3, 9, 0), t(3, 9, 30)), w("b", t(3, 10, 0), t(3, 10, 30))];
        let p = plan(t(3, 9, 0), &ws, Some(t(3, 9, 0)), &settings());
        assert_eq!(p.current.unwrap().end, t(3, 9, 30));
        assert_eq!(p.upcoming.len(), 1);
    }

    #[test]
    fn coalescing_can_be_turned_off() {
        let ws = [w("a", t(3, 9, 0), t(3, 10, 10)), w("b", t(3, 10, 20), t(3, 10, 50))];
        let s = PlannerSettings {
            coalesce: false,
            ..settings()
        };
        assert_eq!(
            plan(t(3, 9, 0), &ws, Some(t(3, 9, 0)), &s).current.unwrap().end,
            t(3, 10, 10)
        );
    }

    #[test]
    fn an_alb_with_no_window_is_deleted() {
        // Exists (e.g. an orphan from a crash) with no window now or soon: delete.
        let p = plan(
            t(3, 15, 0),
            &[w("a", t(3, 9, 0), t(3, 10, 0))],
            Some(t(3, 9, 0)),
            &settings(),
        );
        assert!(!p.should_exist);
        assert_eq!(p.next_edge, None);
    }

    #[test]
    fn the_keep_decision_does_not_flip_inside_the_gap() {
        let ws = [w("a", t(3, 9, 0), t(3, 10, 10)), w("b", t(3, 10, 20), t(3, 10, 50))];
        for m in [10, 12, 15, 19] {
            let p = plan(t(3, 10, m), &ws, Some(t(3, 9, 0)), &settings());
            assert!(p.should_exist, "10:{m}");
        }
    }

    #[test]
    fn windows_crossing_midnight_and_dst() {
        // Europe/Berlin spring forward 2027-03-28 02:00→03:00. A nightly window 01:00–04:00 local
        // (3 h elapsed: 00:00Z–03:00Z on the 28th, normally 00:00Z–03:00Z in CET).
        let spec = WindowSpec::Recurring(RecurringWindow {
            cron: CronExpr::parse("0 1 * * *").unwrap(),
            duration: parse_duration("3h").unwrap(),
            timezone: chrono_tz::Europe::Berlin,
        });
        let u = |d, h| Utc.with_ymd_and_hms(2027, 3, d, h, 0, 0).unwrap();
        let span = Interval::new(u(27, 0), u(29, 12)).unwrap();
        let ws = windows_in(&[spec], &[], &Blackouts::default(), span);
        let starts: Vec<_> = ws.iter().map(|w| w.interval.start).collect();
        // 01:00 CET = 00:00Z on 27 and 28; 01:00 CEST = 23:00Z on the 28th (for the 29th).
        assert_eq!(starts, [u(27, 0), u(28, 0), u(28, 23)]);
        assert_eq!(ws[0].id, "cfg0@20270327T0000Z");
        // Crossing midnight UTC: the window opening 23:00Z on the 28th is open at 01:00Z on the 29th.
        let p = plan(u(29, 1), &ws, Some(u(28, 23)), &settings());
        assert!(p.should_exist);
        assert_eq!(p.next_edge, Some(u(29, 2)));
    }

    #[test]
    fn blackouts_suppress_recurring_windows_only() {
        let spec = WindowSpec::Recurring(RecurringWindow {
            cron: CronExpr::parse("0 9 * * *").unwrap(),
            duration: parse_duration("1h").unwrap(),
            timezone: chrono_tz::UTC,
        });
        let mut b = Blackouts::default();
        b.add_date(chrono::NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(), chrono_tz::UTC);
        let span = Interval::new(t(24, 0, 0), t(27, 0, 0)).unwrap();
        let stored = [(7, Interval::new(t(25, 14, 0), t(25, 15, 0)).unwrap())];
        let ids: Vec<String> = windows_in(&[spec], &stored, &b, span)
            .into_iter()
            .map(|w| w.id)
            .collect();
        assert_eq!(ids, ["cfg0@20261224T0900Z", "w7", "cfg0@20261226T0900Z"]);
    }

    #[test]
    fn month_end_window_spans_into_the_next_month() {
        let ws = [w(
            "nye",
            t(31, 22, 0),
            Utc.with_ymd_and_hms(2027, 1, 1, 2, 0, 0).unwrap(),
        )];
        let p = plan(
            Utc.with_ymd_and_hms(2027, 1, 1, 1, 0, 0).unwrap(),
            &ws,
            Some(t(31, 22, 0)),
            &settings(),
        );
        assert!(p.should_exist);
        assert_eq!(
            p.current.unwrap().start,
            t(31, 22, 0),
            "the lifetime keeps its real start"
        );
    }
}
