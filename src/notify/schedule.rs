//! The schedule's own events, derived from what the daemon already keeps:
//! the ledger (an ALB ready, an ALB deleted), the coming windows (one about
//! to start), the reconcile results (failing for too long, recovered,
//! conflicts) and a price refresh's changes. Each event's id is derived from
//! its subject (the lifetime, the window, the first failure), so deriving
//! it again after a crash or on every step records it once. PURE: every
//! record and instant is passed in.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::event::{Event, EventKind, Severity};
use crate::schedule::planner::{DemoWindow, PlannerSettings};
use crate::store::Lifetime;

/// How far back the ledger is looked at for ready and deleted ALBs: a
/// crash between the ledger's commit and the event's is made up for, and a
/// day-old event (the shortest retention) is never derived again.
pub const LOOKBACK: Duration = Duration::hours(12);

fn hhmm(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

pub use crate::event::alb_url;

/// *ALB ready* for each real lifetime that turned active since `since`,
/// and *ALB deleted* (with its billed hours and cost under the rule) for
/// each deleted since then.
pub fn lifetime_events(
    deployment: &str,
    lifetimes: &[Lifetime],
    since: DateTime<Utc>,
    https: bool,
    stable_name: Option<&str>,
    settings: &PlannerSettings,
    tz: Tz,
) -> Vec<Event> {
    let mut out = Vec::new();
    for l in lifetimes.iter().filter(|l| !l.dry_run && l.lb_arn.is_some()) {
        let windows = if l.window_ids.is_empty() {
            "none".to_string()
        } else {
            l.window_ids.join(", ")
        };
        if let (Some(active), Some(dns)) = (l.active_at, &l.dns_name)
            && active >= since
        {
            // The stable name (`[alb.dns]`) is the link people share; the ALB's own name stays a fact.
            let url = alb_url(stable_name.unwrap_or(dns), https);
            let mut e = Event::new(
                format!("{deployment}/alb_ready/{}", l.id),
                EventKind::AlbReady,
                Severity::Info,
                active,
                deployment,
                format!("The demo ALB {} is ready: {url}", l.name),
            )
            .link(&url)
            .fact("Load balancer", &l.name)
            .fact("DNS name", dns);
            if stable_name.is_some() {
                e = e.fact("ALB URL", alb_url(dns, https));
            }
            out.push(e.fact("Windows", &windows).fact("Active since", hhmm(active, tz)));
        }
        if let Some(deleted) = l.deleted_at.filter(|d| *d >= since) {
            let hours = settings.billed_hours(l.created_at, deleted);
            let usd = settings.lifetime_usd(l.created_at, deleted);
            out.push(
                Event::new(
                    format!("{deployment}/alb_deleted/{}", l.id),
                    EventKind::AlbDeleted,
                    Severity::Info,
                    deleted,
                    deployment,
                    format!(
                        "The demo ALB {} was deleted after {} billed hour(s) ({}, {}).",
                        l.name,
                        hours,
                        crate::money::format_usd(usd),
                        settings.partial_hour.describe()
                    ),
                )
                .fact("Load balancer", &l.name)
                .fact("Windows", &windows)
                .fact("Created", hhmm(l.created_at, tz))
                .fact("Deleted", hhmm(deleted, tz))
                .fact("Billed hours", hours)
                .fact("Cost", crate::money::format_usd(usd)),
            );
        }
    }
    out
}

/// *Window starting soon* for each window that opens within `before` of
/// `at` (and has not opened yet).
pub fn window_soon_events(
    deployment: &str,
    windows: &[DemoWindow],
    at: DateTime<Utc>,
    before: Duration,
    tz: Tz,
) -> Vec<Event> {
    windows
        .iter()
        .filter(|w| w.interval.start > at && w.interval.start - at <= before)
        .map(|w| {
            let minutes = (w.interval.start - at).num_minutes().max(0) + 1;
            let minutes = minutes.min(before.num_minutes());
            Event::new(
                format!("{deployment}/window_soon/{}", w.id),
                EventKind::WindowSoon,
                Severity::Info,
                at,
                deployment,
                format!(
                    "A demo window opens in about {minutes} min: {} to {}.",
                    hhmm(w.interval.start, tz),
                    hhmm(w.interval.end, tz)
                ),
            )
            .fact("Window", &w.id)
            .fact("Opens", hhmm(w.interval.start, tz))
            .fact("Closes", hhmm(w.interval.end, tz))
        })
        .collect()
}

/// When [`window_soon_events`] next has something to say after `at`: the
/// first window start − `before` that is still ahead.
pub fn next_window_soon(windows: &[DemoWindow], at: DateTime<Utc>, before: Duration) -> Option<DateTime<Utc>> {
    windows
        .iter()
        .map(|w| w.interval.start - before)
        .filter(|t| *t > at)
        .min()
}

/// *Conflict* for each ALB of this deployment's name that another costd
/// (another store) owns: once per ALB and owner.
pub fn conflict_events(deployment: &str, conflicts: &[crate::app::Conflict], at: DateTime<Utc>) -> Vec<Event> {
    conflicts
        .iter()
        .map(|c| {
            Event::new(
                format!("{deployment}/conflict/{}/{}", c.name, c.store),
                EventKind::Conflict,
                Severity::Critical,
                at,
                deployment,
                format!(
                    "Another costd (store {}) owns the load balancer {}; this deployment leaves it alone and \
                     creates none while it stands. Two daemons share a deployment name: give each its own.",
                    c.store, c.name
                ),
            )
            .fact("Load balancer", &c.name)
            .fact("Owner's store", &c.store)
            .fact("Its planned end", c.until.to_rfc3339())
        })
        .collect()
}

/// *Price table changed*: which rates a refresh moved.
pub fn price_changed_event(
    deployment: &str,
    region: &str,
    changes: &[crate::pricing::pricelist::RateChange],
    at: DateTime<Utc>,
) -> Event {
    let show = |d: Option<rust_decimal::Decimal>| d.map_or("none".to_string(), |d| d.normalize().to_string());
    let diff: Vec<String> = changes
        .iter()
        .map(|c| format!("{}: {} → {}", c.key, show(c.old), show(c.new)))
        .collect();
    let mut e = Event::new(
        format!("{deployment}/price_changed/{region}/{}", at.format("%Y%m%dT%H%M%SZ")),
        EventKind::PriceChanged,
        Severity::Warning,
        at,
        deployment,
        format!(
            "The AWS Price List moved {} rate(s) for {region}; costd uses the new prices now. {}",
            changes.len(),
            diff.join("; ")
        ),
    );
    for c in changes {
        e = e.fact(&c.key, format!("{} → {} USD", show(c.old), show(c.new)));
    }
    e
}

/// Watches reconcile results: *reconcile failing* once a failure has
/// lasted `after`, and *reconcile recovered* at the next success. Both
/// carry the condition `<deployment>/reconcile`, so PagerDuty resolves
/// the incident the failure opened.
#[derive(Debug, Clone)]
pub struct FailureWatch {
    deployment: String,
    after: Duration,
    since: Option<DateTime<Utc>>,
    /// The failing event sent for the current failure, if any.
    announced: Option<String>,
}

impl FailureWatch {
    /// A watch for `deployment` that speaks after `after` of failure.
    pub fn new(deployment: &str, after: Duration) -> Self {
        FailureWatch {
            deployment: deployment.to_string(),
            after,
            since: None,
            announced: None,
        }
    }

    /// The condition's key.
    pub fn condition(&self) -> String {
        format!("{}/reconcile", self.deployment)
    }

    /// A step failed at `at` with `error` (a summary, safe to send).
    pub fn failed(&mut self, at: DateTime<Utc>, error: &str) -> Option<Event> {
        let since = *self.since.get_or_insert(at);
        if self.announced.is_some() || at - since < self.after {
            return None;
        }
        let id = format!("{}/reconcile_failing/{}", self.deployment, since.timestamp_millis());
        self.announced = Some(id.clone());
        Some(
            Event::new(
                id,
                EventKind::ReconcileFailing,
                Severity::Critical,
                at,
                &self.deployment,
                format!(
                    "Reconciling has failed for {} min: {error}. The demo ALB may not be created or deleted on time.",
                    (at - since).num_minutes()
                ),
            )
            .condition(self.condition(), true)
            .fact("Failing since", since.to_rfc3339())
            .fact("Last error", error),
        )
    }

    /// A step succeeded at `at`. `unresolved` is the id of a failing event
    /// the store holds without a recovery (one sent before a restart).
    pub fn succeeded(&mut self, at: DateTime<Utc>, unresolved: Option<String>) -> Option<Event> {
        let since = self.since.take();
        let failing = self.announced.take().or(unresolved)?;
        Some(
            Event::new(
                format!("{failing}/recovered"),
                EventKind::ReconcileRecovered,
                Severity::Info,
                at,
                &self.deployment,
                match since {
                    Some(s) => format!("Reconciling works again after {} min.", (at - s).num_minutes()),
                    None => "Reconciling works again.".to_string(),
                },
            )
            .condition(self.condition(), false)
            .fact("Recovered", at.to_rfc3339()),
        )
    }

    /// Whether a failure is being watched (a success must then check for a recovery to send).
    pub fn failing(&self) -> bool {
        self.since.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::billing::PartialHour;
    use crate::schedule::Interval;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap()
    }

    fn settings() -> PlannerSettings {
        PlannerSettings {
            lead: Duration::minutes(5),
            grace: Duration::minutes(5),
            coalesce: true,
            lb_usd_per_hour: dec!(0.0252),
            ipv4_usd_per_hour: dec!(0.01),
            partial_hour: PartialHour::Lifetime,
        }
    }

    fn lifetime(id: i64, active: Option<DateTime<Utc>>, deleted: Option<DateTime<Utc>>) -> Lifetime {
        Lifetime {
            id,
            deployment: "demo".into(),
            name: format!("demo-{id}"),
            window_ids: vec!["cfg0@20261123T0100Z".into()],
            reason: crate::store::LifetimeReason::Window,
            reason_detail: String::new(),
            dry_run: false,
            lb_arn: Some(format!(
                "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/demo-{id}/x"
            )),
            tg_arn: None,
            listener_arns: vec![],
            dns_name: Some(format!("demo-{id}-1.us-east-1.elb.amazonaws.com")),
            dns_changes: Vec::new(),
            created_at: at(0, 55),
            active_at: active,
            deleted_at: deleted,
        }
    }

    #[test]
    fn ready_and_deleted_come_from_the_ledger_once_per_lifetime() {
        let ledger = [
            lifetime(1, Some(at(0, 57)), Some(at(4, 5))),
            lifetime(2, Some(at(0, 57)), None),
            // Before the lookback: nothing.
            Lifetime {
                created_at: at(0, 0) - Duration::days(2),
                ..lifetime(
                    3,
                    Some(at(0, 0) - Duration::days(2)),
                    Some(at(1, 0) - Duration::days(2)),
                )
            },
            // A dry run made nothing.
            Lifetime {
                dry_run: true,
                ..lifetime(4, Some(at(0, 57)), None)
            },
        ];
        let e = lifetime_events(
            "demo",
            &ledger,
            at(5, 0) - LOOKBACK,
            false,
            None,
            &settings(),
            chrono_tz::UTC,
        );
        let ids: Vec<&str> = e.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["demo/alb_ready/1", "demo/alb_deleted/1", "demo/alb_ready/2"]);
        assert_eq!(
            e[0].link.as_deref(),
            Some("http://demo-1-1.us-east-1.elb.amazonaws.com/")
        );
        assert_eq!(
            e[0].text,
            "The demo ALB demo-1 is ready: http://demo-1-1.us-east-1.elb.amazonaws.com/"
        );
        // 00:55–04:05 = 3 h 10 min: 4 billed hours × $0.0252 = $0.1008, plus public IPv4
        // 11,400 s × $0.01/h / 3,600 = $0.031667: $0.132467 → $0.13.
        assert_eq!(
            e[1].text,
            "The demo ALB demo-1 was deleted after 4 billed hour(s) ($0.13, partial hours billed as full, counted from each lifetime's start)."
        );
        let facts: Vec<(&str, &str)> = e[1].facts.iter().map(|f| (f.name.as_str(), f.value.as_str())).collect();
        assert!(facts.contains(&("Billed hours", "4")), "{facts:?}");
        assert_eq!(alb_url("x.elb.amazonaws.com", true), "https://x.elb.amazonaws.com/");
        // With a stable name, the link and the sentence give it; the ALB's own URL is a fact.
        let e = lifetime_events(
            "demo",
            &ledger,
            at(5, 0) - LOOKBACK,
            true,
            Some("demo.example.com"),
            &settings(),
            chrono_tz::UTC,
        );
        assert_eq!(e[0].link.as_deref(), Some("https://demo.example.com/"));
        assert_eq!(e[0].text, "The demo ALB demo-1 is ready: https://demo.example.com/");
        assert!(
            e[0].facts
                .iter()
                .any(|f| f.name == "ALB URL" && f.value == "https://demo-1-1.us-east-1.elb.amazonaws.com/")
        );
    }

    #[test]
    fn a_window_is_announced_within_its_lead_time_once() {
        let w = DemoWindow {
            id: "w7".into(),
            interval: Interval::new(at(9, 0), at(12, 0)).unwrap(),
        };
        let before = Duration::minutes(15);
        assert!(window_soon_events("demo", std::slice::from_ref(&w), at(8, 44), before, chrono_tz::UTC).is_empty());
        let e = window_soon_events("demo", std::slice::from_ref(&w), at(8, 45), before, chrono_tz::UTC);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].id, "demo/window_soon/w7");
        assert_eq!(
            e[0].text,
            "A demo window opens in about 15 min: 2026-11-23 09:00 UTC to 2026-11-23 12:00 UTC."
        );
        // The same id later: recorded once by the store.
        assert_eq!(
            window_soon_events("demo", std::slice::from_ref(&w), at(8, 58), before, chrono_tz::UTC)[0].id,
            e[0].id
        );
        assert!(window_soon_events("demo", std::slice::from_ref(&w), at(9, 0), before, chrono_tz::UTC).is_empty());
        assert_eq!(
            next_window_soon(std::slice::from_ref(&w), at(8, 0), before),
            Some(at(8, 45))
        );
        assert_eq!(next_window_soon(std::slice::from_ref(&w), at(8, 45), before), None);
    }

    #[test]
    fn a_failure_is_announced_after_its_time_and_recovers_once() {
        let mut w = FailureWatch::new("demo", Duration::seconds(60));
        assert!(w.failed(at(1, 0), "ELB unreachable").is_none());
        assert!(w.failed(at(1, 0) + Duration::seconds(59), "ELB unreachable").is_none());
        let e = w.failed(at(1, 1), "ELB unreachable").expect("a minute of failure");
        assert_eq!(e.kind, EventKind::ReconcileFailing);
        assert_eq!(
            e.condition.as_ref().map(|c| (c.key.as_str(), c.open)),
            Some(("demo/reconcile", true))
        );
        assert!(w.failed(at(1, 2), "ELB unreachable").is_none(), "once per failure");
        let r = w.succeeded(at(1, 3), None).expect("a recovery");
        assert_eq!(r.id, format!("{}/recovered", e.id));
        assert_eq!(r.condition.as_ref().map(|c| c.open), Some(false));
        assert_eq!(r.text, "Reconciling works again after 3 min.");
        assert!(w.succeeded(at(1, 4), None).is_none());
        // A short failure says nothing either way.
        assert!(w.failed(at(2, 0), "x").is_none());
        assert!(w.succeeded(at(2, 0) + Duration::seconds(10), None).is_none());
        // After a restart: the store's unresolved failure is recovered.
        let mut fresh = FailureWatch::new("demo", Duration::seconds(60));
        let r = fresh
            .succeeded(at(3, 0), Some("demo/reconcile_failing/1".into()))
            .unwrap();
        assert_eq!(r.id, "demo/reconcile_failing/1/recovered");
    }

    #[test]
    fn a_price_change_lists_the_rates_it_moved() {
        let e = price_changed_event(
            "demo",
            "us-east-1",
            &[crate::pricing::pricelist::RateChange {
                key: "alb.hour".into(),
                old: Some(dec!(0.0225)),
                new: Some(dec!(0.0252)),
                sku: "X".into(),
            }],
            at(3, 0),
        );
        assert_eq!(e.id, "demo/price_changed/us-east-1/20261123T030000Z");
        assert_eq!(
            e.text,
            "The AWS Price List moved 1 rate(s) for us-east-1; costd uses the new prices now. alb.hour: 0.0225 → 0.0252"
        );
        assert_eq!(e.severity, Severity::Warning);
    }
}
