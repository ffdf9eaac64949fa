//! The store's contract, checked on every backend: each check takes
//! `open`, which returns a new handle on one store (a fresh store per check;
//! calling it again is a second process, or a restart, on the same store).

#![cfg(test)]

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;
use crate::budget::{AlarmState, Evaluation, ThresholdKind, Transition};

fn t(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, h, 0, 0).unwrap()
}

/// Budget `b` (threshold $`percent` of $100) in ALARM at `value_usd`.
fn alarm(kind: ThresholdKind, percent: Decimal, value_usd: Decimal) -> Evaluation {
    Evaluation {
        key: format!("b/{}/{}", kind.as_str(), percent.normalize()),
        budget: "b".into(),
        scope: "all".into(),
        kind,
        percent,
        value_usd,
        threshold_usd: percent,
        state: AlarmState::Alarm,
    }
}

pub(super) fn a_store_keeps_one_id_for_life(open: &dyn Fn() -> Arc<dyn Store>) {
    let id = open().store_id().unwrap();
    // A version 4 UUID.
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!((&id[14..15], id.matches('-').count()), ("4", 4), "{id}");
    assert_eq!(open().store_id().unwrap(), id, "kept on reopening");
}

pub(super) fn cached_answers_are_kept_and_replaced(open: &dyn Fn() -> Arc<dyn Store>) {
    let s = open();
    assert_eq!(s.cached("ce:a").unwrap(), None);
    s.put_cached("ce:a", "[1]", t(1)).unwrap();
    s.put_cached("ce:b", "[2]", t(2)).unwrap();
    s.put_cached("ce:a", "[3]", t(3)).unwrap();
    // Another process (or a restart) reads what was kept.
    let again = open();
    assert_eq!(again.cached("ce:a").unwrap(), Some(("[3]".to_string(), t(3))));
    assert_eq!(again.cached("ce:b").unwrap(), Some(("[2]".to_string(), t(2))));
}

pub(super) fn a_projection_per_day_is_kept_the_last_of_the_day_wins(open: &dyn Fn() -> Arc<dyn Store>) {
    let s = open();
    let day = |d: u32, at: DateTime<Utc>, projected: Decimal| ProjectionDay {
        deployment: "d".into(),
        month: "2026-11".into(),
        timezone: "UTC".into(),
        day: chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap(),
        at,
        partial_hour: "clock_hour".into(),
        month_to_date_usd: dec!(1.5),
        projected_usd: projected,
        alb_actual_usd: dec!(0.25),
        alb_projected_usd: dec!(2.9325),
    };
    s.record_projection_day(&day(2, t(20), dec!(10))).unwrap();
    s.record_projection_day(&day(1, t(5), dec!(9))).unwrap();
    // Later the same day: replaces the first.
    s.record_projection_day(&day(1, t(6), dec!(9.125))).unwrap();
    // Another month and another deployment are not read with it.
    s.record_projection_day(&ProjectionDay {
        month: "2026-12".into(),
        ..day(3, t(22), dec!(1))
    })
    .unwrap();
    s.record_projection_day(&ProjectionDay {
        deployment: "e".into(),
        ..day(3, t(22), dec!(1))
    })
    .unwrap();
    let kept = open().projection_days("d", "2026-11").unwrap();
    assert_eq!(kept, vec![day(1, t(6), dec!(9.125)), day(2, t(20), dec!(10))]);
}

pub(super) fn each_event_is_delivered_once_per_destination(open: &dyn Fn() -> Arc<dyn Store>) {
    use crate::event::{Event, EventKind, Severity};
    let s = open();
    let ev = |id: &str, kind: EventKind, h: u32| {
        Event::new(id.into(), kind, Severity::Info, t(h), "d", format!("event {id}")).fact("n", id)
    };
    let dests = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let first = vec![
        (ev("d/a", EventKind::AlbReady, 1), dests(&["slack", "pd"])),
        (ev("d/b", EventKind::AlbDeleted, 2), dests(&["slack"])),
        (ev("d/c", EventKind::WindowSoon, 3), vec![]),
    ];
    assert_eq!(s.record_events(&first).unwrap(), 3);
    // Emitted again (a restart, a catch-up): nothing new, nothing sent twice.
    assert_eq!(s.record_events(&first[..2]).unwrap(), 0);
    assert_eq!(
        s.events(None, None, 10)
            .unwrap()
            .iter()
            .map(|e| e.id.as_str())
            .collect::<Vec<_>>(),
        ["d/c", "d/b", "d/a"]
    );
    assert_eq!(
        s.events(Some(EventKind::AlbReady), None, 10).unwrap(),
        vec![first[0].0.clone()]
    );
    // Paged: older than an event id, newest first; an id no longer kept lists none.
    let older = |before, limit| {
        s.events(None, Some(before), limit)
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(older("d/c", 1), ["d/b"]);
    assert_eq!(older("d/b", 10), ["d/a"]);
    assert!(older("d/a", 10).is_empty());
    assert!(older("pruned/long-ago", 10).is_empty());
    // Two workers: the first claim takes all three deliveries, the second none while the lease holds.
    let (claim, due) = s.claim_deliveries(t(4), chrono::Duration::minutes(1), 10).unwrap();
    let got: Vec<(&str, &str)> = due
        .iter()
        .map(|d| (d.event.id.as_str(), d.destination.as_str()))
        .collect();
    assert_eq!(got, [("d/a", "pd"), ("d/a", "slack"), ("d/b", "slack")]);
    assert_eq!(due[0].event, first[0].0, "the event comes back whole");
    assert!(
        open()
            .claim_deliveries(t(4), chrono::Duration::minutes(1), 10)
            .unwrap()
            .1
            .is_empty()
    );
    let failed = DeliveryOutcome::Failed {
        error: "HTTP 503".into(),
        retry_at: t(6),
    };
    assert!(
        s.finish_delivery("d/a", "slack", &claim, &DeliveryOutcome::Delivered, t(4))
            .unwrap()
    );
    assert!(s.finish_delivery("d/a", "pd", &claim, &failed, t(4)).unwrap());
    assert!(
        s.finish_delivery(
            "d/b",
            "slack",
            &claim,
            &DeliveryOutcome::Dead {
                error: "HTTP 400".into()
            },
            t(5)
        )
        .unwrap()
    );
    assert!(
        !s.finish_delivery("d/b", "slack", &claim, &DeliveryOutcome::Delivered, t(5))
            .unwrap(),
        "the claim is spent"
    );
    // The failed one is due again at its retry time, not before.
    assert!(
        s.claim_deliveries(t(5), chrono::Duration::minutes(1), 10)
            .unwrap()
            .1
            .is_empty()
    );
    let (claim2, due) = s.claim_deliveries(t(6), chrono::Duration::minutes(1), 10).unwrap();
    assert_eq!((due.len(), due[0].attempts), (1, 1));
    assert!(
        s.finish_delivery("d/a", "pd", &claim2, &DeliveryOutcome::Delivered, t(7))
            .unwrap()
    );
    let delivered = s.deliveries(NotificationState::Delivered, 10).unwrap();
    assert_eq!(delivered.len(), 2);
    let dead = s.deliveries(NotificationState::Dead, 10).unwrap();
    assert_eq!(
        (dead[0].event_id.as_str(), dead[0].kind, dead[0].last_error.as_deref()),
        ("d/b", EventKind::AlbDeleted, Some("HTTP 400"))
    );
    let status = open().destination_status().unwrap();
    assert_eq!(status.len(), 2);
    let pd = &status[0];
    assert_eq!(
        (pd.destination.as_str(), pd.last_delivered_at, pd.pending, pd.dead),
        ("pd", Some(t(7)), 0, 0)
    );
    assert_eq!(
        (pd.last_error.as_deref(), pd.last_error_at),
        (Some("HTTP 503"), Some(t(4))),
        "the last error is kept after a success"
    );
    let slack = &status[1];
    assert_eq!(
        (slack.last_delivered_at, slack.dead, slack.last_error.as_deref()),
        (Some(t(4)), 1, Some("HTTP 400"))
    );
    // Dead letters can be deleted (after their cause is fixed); the others stay.
    assert_eq!(s.delete_dead_deliveries().unwrap(), 1);
    assert!(s.deliveries(NotificationState::Dead, 10).unwrap().is_empty());
    assert_eq!(s.deliveries(NotificationState::Delivered, 10).unwrap().len(), 2);
    // Pruned a month later: finished deliveries and their events go.
    let p = s
        .prune(t(7) + chrono::Duration::days(31), &Retention::default())
        .unwrap();
    assert_eq!(p.notifications, 2);
    assert!(s.events(None, None, 10).unwrap().is_empty());
}

pub(super) fn concurrent_first_opens_all_agree(open: &(dyn Fn() -> Arc<dyn Store> + Sync)) {
    // Four processes opening a new store at once: every one migrates or waits, none fails, one identity.
    let ids: Vec<String> = std::thread::scope(|sc| {
        (0..4)
            .map(|_| sc.spawn(|| open().store_id().unwrap()))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect()
    });
    assert!(ids.iter().all(|i| i == &ids[0]), "{ids:?}");
}

pub(super) fn windows_survive_reopening_and_can_be_cancelled_once(open: &dyn Fn() -> Arc<dyn Store>) {
    {
        let s = open();
        let w = s
            .add_window(Interval::new(t(9), t(12)).unwrap(), "customer demo", "cli", t(1))
            .unwrap();
        assert_eq!(w.id, 1);
        s.add_window(Interval::new(t(14), t(15)).unwrap(), "", "cli", t(1))
            .unwrap();
    }
    let s = open();
    let all = s.windows(false).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].note, "customer demo");
    assert_eq!(all[0].interval, Interval::new(t(9), t(12)).unwrap());
    s.cancel_window(1, t(2)).unwrap();
    assert_eq!(s.windows(false).unwrap().len(), 1);
    assert_eq!(s.windows(true).unwrap()[0].cancelled_at, Some(t(2)));
    assert!(matches!(s.cancel_window(1, t(2)), Err(StoreError::AlreadyCancelled(1))));
    assert!(matches!(s.cancel_window(99, t(2)), Err(StoreError::WindowNotFound(99))));
}

pub(super) fn a_calendar_sync_adds_moves_and_cancels_only_its_own_future_windows(open: &dyn Fn() -> Arc<dyn Store>) {
    let s = open();
    let iv = |a, b| Interval { start: t(a), end: t(b) };
    let want = |key: &str, a, b, note: &str| CalendarWindow {
        key: key.into(),
        interval: iv(a, b),
        note: note.into(),
    };
    let src = calendar_source("team");
    // A window someone booked by hand, and one of another calendar: never touched.
    let by_hand = s.add_window(iv(10, 11), "by hand", "cli", t(0)).unwrap();
    s.sync_calendar(&calendar_source("other"), &[want("a", 12, 13, "theirs")], t(0))
        .unwrap();

    let first = [
        want("a", 2, 3, "[demo] a"),
        want("b", 5, 6, "[demo] b"),
        want("c", 8, 9, "[demo] c"),
    ];
    let r = s.sync_calendar(&src, &first, t(1)).unwrap();
    assert_eq!((r.added, r.moved, r.cancelled, r.unchanged), (3, 0, 0, 0));
    // The same again (another process, or a restart): nothing changes.
    let r = open().sync_calendar(&src, &first, t(1)).unwrap();
    assert_eq!((r.added, r.moved, r.cancelled, r.unchanged), (0, 0, 0, 3));
    assert!(!r.changed());

    // At 04:00 `a` has ended: it is history and left alone though it is no
    // longer listed. `b` moves to 06–07, `c` is gone, `d` is new.
    let second = [want("b", 6, 7, "[demo] b"), want("d", 20, 21, "[demo] d")];
    let r = s.sync_calendar(&src, &second, t(4)).unwrap();
    assert_eq!((r.added, r.moved, r.cancelled, r.unchanged), (1, 1, 1, 0));
    let mine: Vec<_> = s
        .windows(true)
        .unwrap()
        .into_iter()
        .filter(|w| w.created_by == src)
        .map(|w| (w.note, w.interval, w.cancelled_at.is_some()))
        .collect();
    assert_eq!(
        mine,
        vec![
            ("[demo] a".to_string(), iv(2, 3), false),
            ("[demo] b".to_string(), iv(6, 7), false),
            ("[demo] c".to_string(), iv(8, 9), true),
            ("[demo] d".to_string(), iv(20, 21), false),
        ]
    );
    // `c` comes back (the event restored): the same row, opened again.
    let c_id = s
        .windows(true)
        .unwrap()
        .into_iter()
        .find(|w| w.note == "[demo] c")
        .unwrap()
        .id;
    let r = s
        .sync_calendar(
            &src,
            &[second[0].clone(), second[1].clone(), want("c", 8, 9, "[demo] c")],
            t(4),
        )
        .unwrap();
    assert_eq!((r.added, r.moved, r.cancelled, r.unchanged), (0, 1, 0, 2));
    assert_eq!(s.window(c_id).unwrap().cancelled_at, None);
    // The window booked by hand and the other calendar's are as they were.
    assert_eq!(s.window(by_hand.id).unwrap(), by_hand);
    assert_eq!(
        s.windows(false)
            .unwrap()
            .iter()
            .filter(|w| w.created_by == calendar_source("other"))
            .count(),
        1
    );
    // An empty calendar cancels every future window of its own.
    let r = s.sync_calendar(&src, &[], t(4)).unwrap();
    assert_eq!(r.cancelled, 3);
}

pub(super) fn windows_are_read_by_time_range(open: &dyn Fn() -> Arc<dyn Store>) {
    let s = open();
    let h = |n: i64| t(0) + chrono::Duration::hours(n);
    let add = |from: i64, to: i64| {
        s.add_window(Interval::new(h(from), h(to)).unwrap(), "", "cli", t(0))
            .unwrap()
    };
    // The range [h(100), h(110)).
    let range = Interval::new(h(100), h(110)).unwrap();
    let ends_at_start = add(90, 100); // touches, does not overlap
    let long_open = add(100 - 167, 101); // 168 h, the longest kept, still open
    let inside = add(102, 104);
    let cancelled = add(103, 105);
    s.cancel_window(cancelled.id, t(1)).unwrap();
    let across_end = add(109, 111);
    let starts_at_end = add(110, 112); // touches the end
    let far = add(1000, 1001);
    let ids: Vec<i64> = s.windows_in(range).unwrap().iter().map(|w| w.id).collect();
    assert_eq!(ids, [long_open.id, inside.id, across_end.id]);
    let _ = (ends_at_start, starts_at_end, far);
    // One by id, cancelled too.
    assert_eq!(s.window(cancelled.id).unwrap().cancelled_at, Some(t(1)));
    assert!(matches!(s.window(99), Err(StoreError::WindowNotFound(99))));
    // Longer than the longest a config allows (168 h): refused, nothing stored.
    let before = s.windows(true).unwrap().len();
    let e = s
        .add_window(Interval::new(h(200), h(200 + 169)).unwrap(), "", "cli", t(0))
        .unwrap_err();
    assert!(matches!(e, StoreError::WindowTooLong { hours: 169 }), "{e}");
    assert_eq!(s.windows(true).unwrap().len(), before);
    // Every row read is counted.
    let read = s.window_rows_read();
    s.windows_in(range).unwrap();
    assert_eq!(s.window_rows_read(), read + 3);
}

pub(super) fn windows_are_paged_by_start_from_a_cursor(open: &dyn Fn() -> Arc<dyn Store>) {
    use crate::store::{WindowCursor, WindowPageQuery};
    let s = open();
    let h = |n: i64| t(0) + chrono::Duration::hours(n);
    let add = |from: i64, to: i64| {
        s.add_window(Interval::new(h(from), h(to)).unwrap(), "", "cli", t(0))
            .unwrap()
            .id
    };
    // Added out of start order; two share a start (ordered by id then).
    let ended = add(10, 20); // ends at h(20): before `from`
    let c = add(40, 41);
    let a = add(21, 30);
    let b1 = add(30, 31);
    let b2 = add(30, 32);
    let cancelled = add(35, 36);
    s.cancel_window(cancelled, t(1)).unwrap();
    let d = add(50, 51);
    let q = |after, include_cancelled, limit| WindowPageQuery {
        ends_after: h(20),
        after,
        include_cancelled,
        limit,
    };
    let ids = |p: &crate::store::WindowPage| p.windows.iter().map(|w| w.id).collect::<Vec<_>>();
    // Page by page, two at a time: by start, then id; the cursor is the last one listed.
    let p1 = s.windows_page(&q(None, false, 2)).unwrap();
    assert_eq!(ids(&p1), [a, b1]);
    assert_eq!(p1.next, Some(WindowCursor { start: h(30), id: b1 }));
    let p2 = s.windows_page(&q(p1.next, false, 2)).unwrap();
    assert_eq!(ids(&p2), [b2, c]);
    let p3 = s.windows_page(&q(p2.next, false, 2)).unwrap();
    assert_eq!(ids(&p3), [d]);
    assert_eq!(p3.next, None, "the last page says so");
    // Exactly a page's worth left: still the last page.
    let p = s.windows_page(&q(p1.next, false, 3)).unwrap();
    assert_eq!((ids(&p), p.next), (vec![b2, c, d], None));
    // Cancelled ones when asked, in their place.
    let all = s.windows_page(&q(None, true, 10)).unwrap();
    assert_eq!(ids(&all), [a, b1, b2, cancelled, c, d]);
    let _ = ended;
    // The page and its look-ahead row are read, not the history.
    let read = s.window_rows_read();
    s.windows_page(&q(None, false, 2)).unwrap();
    assert_eq!(s.window_rows_read(), read + 3);
}

pub(super) fn the_ledger_round_trips_and_knows_what_is_open(open: &dyn Fn() -> Arc<dyn Store>) {
    let s = open();
    let mut l = s
        .insert_lifetime(&NewLifetime {
            deployment: "d".into(),
            name: "demo-0123abcd".into(),
            window_ids: vec!["cfg0@20261203T0900Z".into(), "w3".into()],
            reason: LifetimeReason::CoalescedGap,
            reason_detail: "kept through the 30 min gap".into(),
            dry_run: false,
            created_at: t(9),
        })
        .unwrap();
    assert_eq!(s.open_lifetimes("d").unwrap(), [l.clone()]);
    assert_eq!(s.lifetime_by_lb_arn("arn:lb").unwrap(), None);
    assert!(s.open_lifetimes("other").unwrap().is_empty());
    l.lb_arn = Some("arn:lb".into());
    l.listener_arns = vec!["arn:l1".into(), "arn:l2".into()];
    l.dns_changes = vec![
        "C0123 UPSERT A demo.example.com".into(),
        "C0456 DELETE A demo.example.com".into(),
    ];
    l.active_at = Some(t(10));
    l.deleted_at = Some(t(12));
    s.update_lifetime(&l).unwrap();
    assert!(s.open_lifetimes("d").unwrap().is_empty());
    assert_eq!(s.lifetime_by_lb_arn("arn:lb").unwrap(), Some(l.clone()));
    assert_eq!(s.lifetimes("d", t(11), t(13)).unwrap(), [l.clone()]);
    assert!(
        s.lifetimes("d", t(12), t(13)).unwrap().is_empty(),
        "deleted at 12: not in [12, 13)"
    );
}

pub(super) fn the_ledger_of_a_range_holds_every_lifetime_overlapping_it(open: &dyn Fn() -> Arc<dyn Store>) {
    let s = open();
    let h = |n: i64| t(0) + chrono::Duration::hours(n);
    let lifetime = |from: i64, to: Option<i64>| {
        let mut l = s
            .insert_lifetime(&NewLifetime {
                deployment: "d".into(),
                name: format!("l{from}"),
                window_ids: vec![],
                reason: LifetimeReason::Window,
                reason_detail: String::new(),
                dry_run: false,
                created_at: h(from),
            })
            .unwrap();
        if let Some(to) = to {
            l.deleted_at = Some(h(to));
            s.update_lifetime(&l).unwrap();
        }
        l.id
    };
    // Short ones every 10 h, and one of 500 h: the longest closed, which a
    // range read must reach back for, however far.
    let short: Vec<i64> = (0..50).map(|i| lifetime(10 * i, Some(10 * i + 1))).collect();
    let long = lifetime(-400, Some(100));
    let open_one = lifetime(-1000, None);
    let ids = |from, to| -> Vec<i64> { s.lifetimes("d", h(from), h(to)).unwrap().iter().map(|l| l.id).collect() };
    // [95, 125): the 500-hour one (ends at 100), the short ones from 100, 110 and 120, the open one.
    let mut want = vec![short[10], short[11], short[12], long, open_one];
    want.sort();
    assert_eq!(ids(95, 125), want);
    // [101, 110): none of the closed ones overlaps it; the open one does.
    assert_eq!(ids(101, 110), [open_one]);
    // Before the open one was created: nothing.
    assert!(ids(-2000, -1000).is_empty());
    // Closing an even longer one later still finds it: [2000, 2001) after a 5,000-hour lifetime.
    let longer = lifetime(-3000, Some(2000));
    assert_eq!(ids(1999, 2001), [open_one, longer]);
}

pub(super) fn a_scale_fixture_writes_its_windows_and_the_ledger_of_the_past_ones(open: &dyn Fn() -> Arc<dyn Store>) {
    use crate::store::WindowPageQuery;
    use crate::store::fixture::{Fixture, Written, write};
    let s = open();
    // 48 windows, every 2 hours from 48 hours before t(0): 24 past (each
    // closed, with lead and grace, by t(0) − 85 min at the latest), 24 coming.
    let w = write(
        s.as_ref(),
        &Fixture {
            windows: 48,
            years: 3,
            now: t(0),
            deployment: "d".into(),
            dry_run: true,
        },
    )
    .unwrap();
    assert_eq!(
        w,
        Written {
            windows: 48,
            lifetimes: 24,
            decisions: 48
        }
    );
    let all = s
        .windows_page(&WindowPageQuery {
            ends_after: t(0) - chrono::Duration::days(3),
            after: None,
            include_cancelled: false,
            limit: 100,
        })
        .unwrap();
    assert_eq!(all.windows.len(), 48);
    assert_eq!(all.windows[0].interval.start, t(0) - chrono::Duration::hours(48));
    let ledger = s.lifetimes("d", t(0) - chrono::Duration::days(3), t(0)).unwrap();
    assert_eq!(ledger.len(), 24);
    assert!(ledger.iter().all(|l| l.dry_run && l.deleted_at.is_some()));
    // The last lifetime: the window at t(0) − 2 h, 5 min lead and grace.
    let last = ledger.last().unwrap();
    assert_eq!(last.created_at, t(0) - chrono::Duration::minutes(125));
    assert_eq!(last.deleted_at, Some(t(0) - chrono::Duration::minutes(85)));
    assert_eq!(s.decisions(100).unwrap().len(), 48);
}

pub(super) fn decisions_are_kept_newest_first(open: &dyn Fn() -> Arc<dyn Store>) {
    let s = open();
    for (i, action) in [DecisionAction::Create, DecisionAction::Delete].into_iter().enumerate() {
        s.record_decision(&Decision {
            at: t(i as u32),
            action,
            window_ids: vec!["w1".into()],
            arn: None,
            detail: String::new(),
            dry_run: true,
            edge_at: Some(t(0)),
        })
        .unwrap();
    }
    let d = s.decisions(10).unwrap();
    assert_eq!(
        d.iter().map(|d| d.action.as_str()).collect::<Vec<_>>(),
        ["delete", "create"]
    );
    assert_eq!(d[0].edge_at, Some(t(0)));
    // Paged by id, newest first: one page of one, then the one before it, then none.
    let first = s.decisions_page(None, 1).unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].1.action, DecisionAction::Delete);
    let second = s.decisions_page(Some(first[0].0), 1).unwrap();
    assert_eq!(second[0].1.action, DecisionAction::Create);
    assert!(second[0].0 < first[0].0);
    assert!(s.decisions_page(Some(second[0].0), 1).unwrap().is_empty());
}
pub(super) fn alarm_states_transitions_and_the_notification_outbox(open: &dyn Fn() -> Arc<dyn Store>) {
    let s = open();
    let e = alarm(ThresholdKind::Forecast, dec!(80), dec!(85.5));
    let tr = Transition {
        at: t(3),
        month: "2026-12".into(),
        from: AlarmState::Ok,
        to: AlarmState::Alarm,
        evaluation: e.clone(),
    };
    let stored = s
        .apply_evaluations(
            std::slice::from_ref(&e),
            std::slice::from_ref(&tr),
            &["webhook:http://a".into(), "webhook:http://b".into()],
            t(3),
        )
        .unwrap();
    assert_eq!(stored[0].transition, tr);
    let states = s.alarm_states().unwrap();
    assert_eq!(
        (states["b/forecast/80"].state, states["b/forecast/80"].since),
        (AlarmState::Alarm, t(3))
    );
    // A later evaluation in the same state keeps `since`.
    s.apply_evaluations(
        &[Evaluation {
            value_usd: dec!(90),
            ..e
        }],
        &[],
        &[],
        t(4),
    )
    .unwrap();
    let a = &s.alarm_states().unwrap()["b/forecast/80"];
    assert_eq!((a.since, a.value_usd, a.evaluated_at), (t(3), dec!(90), t(4)));
    // Two pending notifications, claimed together; one delivered, one failed once.
    let lease = chrono::Duration::minutes(2);
    let (claim, due) = s.claim_notifications(t(5), lease, 10).unwrap();
    assert_eq!(due.len(), 2);
    assert_eq!(due[0].transition.transition, tr);
    // Claimed rows are nobody else's until the lease ends.
    assert!(s.claim_notifications(t(5), lease, 10).unwrap().1.is_empty());
    assert!(
        s.finish_notification(
            stored[0].id,
            "webhook:http://a",
            &claim,
            &DeliveryOutcome::Delivered,
            t(5)
        )
        .unwrap()
    );
    let retry = DeliveryOutcome::Failed {
        error: "timeout".into(),
        retry_at: t(6),
    };
    assert!(
        s.finish_notification(stored[0].id, "webhook:http://b", &claim, &retry, t(5))
            .unwrap()
    );
    // Not due again before its retry time; due after it, with one attempt counted.
    assert!(s.claim_notifications(t(5), lease, 10).unwrap().1.is_empty());
    let (claim2, p) = s.claim_notifications(t(6), lease, 10).unwrap();
    assert_eq!(
        (p.len(), p[0].channel.as_str(), p[0].attempts),
        (1, "webhook:http://b", 1)
    );
    // A claim that was lost (its lease ran out and someone else took the row) records nothing.
    let (claim3, p3) = s.claim_notifications(t(6) + lease, lease, 10).unwrap();
    assert_eq!(p3.len(), 1);
    assert!(
        !s.finish_notification(
            stored[0].id,
            "webhook:http://b",
            &claim2,
            &DeliveryOutcome::Delivered,
            t(7)
        )
        .unwrap()
    );
    let dead = DeliveryOutcome::Dead {
        error: "HTTP 500 Internal Server Error".into(),
    };
    assert!(
        s.finish_notification(stored[0].id, "webhook:http://b", &claim3, &dead, t(8))
            .unwrap()
    );
    let letters = s.notifications(NotificationState::Dead, 10).unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!((letters[0].attempts, letters[0].dead_at), (2, Some(t(8))));
    assert_eq!(letters[0].summary, "b/forecast/80 → ALARM");
    assert_eq!(s.notifications(NotificationState::Delivered, 10).unwrap().len(), 1);
    assert!(s.notifications(NotificationState::Pending, 10).unwrap().is_empty());
    assert!(
        s.claim_notifications(t(20), lease, 10).unwrap().1.is_empty(),
        "dead letters are not retried"
    );
    assert_eq!(s.delete_dead_notifications().unwrap(), 1);
    assert!(s.notifications(NotificationState::Dead, 10).unwrap().is_empty());
    assert_eq!(s.transitions(10).unwrap()[0].transition, tr);
}

pub(super) fn concurrent_claimers_never_share_a_row(open: &dyn Fn() -> Arc<dyn Store>) {
    // Two handles on one file (two processes), claiming at once: every row goes to exactly one.
    let a = open();
    let b = open();
    let e = alarm(ThresholdKind::Forecast, dec!(80), dec!(85));
    let trs: Vec<Transition> = (0..50)
        .map(|i| Transition {
            at: t(3) + chrono::Duration::seconds(i),
            month: "2026-12".into(),
            from: AlarmState::Ok,
            to: AlarmState::Alarm,
            evaluation: e.clone(),
        })
        .collect();
    a.apply_evaluations(&[], &trs, &["webhook:x".into()], t(3)).unwrap();
    let claimed: Vec<Vec<i64>> = std::thread::scope(|sc| {
        [a.clone(), b.clone()]
            .into_iter()
            .map(|st| {
                sc.spawn(move || {
                    let mut mine = Vec::new();
                    for _ in 0..10 {
                        let (_, rows) = st.claim_notifications(t(4), chrono::Duration::minutes(5), 3).unwrap();
                        mine.extend(rows.iter().map(|r| r.transition.id));
                    }
                    mine
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect()
    });
    let mut all: Vec<i64> = claimed.concat();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "no row claimed twice");
    assert_eq!(n, 50, "every row claimed");
}

pub(super) fn history_is_pruned_past_its_retention_but_undelivered_notifications_stay(
    open: &dyn Fn() -> Arc<dyn Store>,
) {
    let s = open();
    let e = alarm(ThresholdKind::Actual, dec!(100), dec!(120));
    let tr = |day: u32| Transition {
        at: Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).unwrap(),
        month: "2026-01".into(),
        from: AlarmState::Ok,
        to: AlarmState::Alarm,
        evaluation: e.clone(),
    };
    // Day 1: delivered. Day 2: still pending (never pruned). Day 3: dead.
    let old = s
        .apply_evaluations(&[], &[tr(1), tr(2), tr(3)], &["webhook:x".into()], t(1))
        .unwrap();
    let lease = chrono::Duration::minutes(1);
    let at = Utc.with_ymd_and_hms(2026, 1, 4, 0, 0, 0).unwrap();
    let (claim, _) = s.claim_notifications(at, lease, 10).unwrap();
    s.finish_notification(old[0].id, "webhook:x", &claim, &DeliveryOutcome::Delivered, at)
        .unwrap();
    s.finish_notification(
        old[2].id,
        "webhook:x",
        &claim,
        &DeliveryOutcome::Dead { error: "gone".into() },
        at,
    )
    .unwrap();
    for d in 0..3 {
        s.record_decision(&Decision {
            at: Utc.with_ymd_and_hms(2026, 1, 1 + d, 0, 0, 0).unwrap(),
            action: DecisionAction::Coalesce,
            window_ids: vec![],
            arn: None,
            detail: String::new(),
            dry_run: false,
            edge_at: None,
        })
        .unwrap();
    }
    let keep = Retention {
        decisions: chrono::Duration::days(90),
        transitions: chrono::Duration::days(400),
        notifications: chrono::Duration::days(30),
    };
    // Ten days on: nothing is old enough.
    let ten = Utc.with_ymd_and_hms(2026, 1, 11, 0, 0, 0).unwrap();
    assert_eq!(s.prune(ten, &keep).unwrap(), Pruned::default());
    // 100 days on: the decisions and the delivered/dead notifications go; transitions stay (400 days).
    let hundred = Utc.with_ymd_and_hms(2026, 4, 11, 0, 0, 0).unwrap();
    let p = s.prune(hundred, &keep).unwrap();
    assert_eq!((p.decisions, p.transitions, p.notifications), (3, 0, 2));
    assert_eq!(s.transitions(10).unwrap().len(), 3);
    // Two years on: the transitions go too, except the one still waiting to be delivered.
    let later = Utc.with_ymd_and_hms(2028, 1, 11, 0, 0, 0).unwrap();
    let p = s.prune(later, &keep).unwrap();
    assert_eq!(p.transitions, 2);
    assert_eq!(s.transitions(10).unwrap()[0].id, old[1].id);
    assert_eq!(s.notifications(NotificationState::Pending, 10).unwrap().len(), 1);
}

pub(super) fn sessions_survive_reopening_expire_and_end_on_sign_out(open: &dyn Fn() -> Arc<dyn Store>) {
    let s = open();
    let session = StoredSession {
        token_name: "ops".into(),
        token_sha256: "ab12".into(),
        csrf: "c0ffee".into(),
        created_at: t(9),
        expires_at: t(21),
    };
    s.put_session("hash-a", &session, t(9)).unwrap();
    drop(s);
    let s = open();
    assert_eq!(s.session("hash-a", t(10)).unwrap(), Some(session.clone()));
    assert_eq!(s.session("hash-b", t(10)).unwrap(), None, "an unknown id");
    assert_eq!(s.session("hash-a", t(21)).unwrap(), None, "expired at 21:00");
    // A later sign-in drops expired rows.
    let later = StoredSession {
        created_at: t(22),
        expires_at: t(23),
        ..session
    };
    s.put_session("hash-b", &later, t(22)).unwrap();
    s.delete_session("hash-b").unwrap();
    assert_eq!(s.session("hash-b", t(22)).unwrap(), None, "signed out");
}

pub(super) fn another_connection_committing_changes_the_marker(open: &dyn Fn() -> Arc<dyn Store>) {
    let daemon = open();
    let before = daemon.external_change_marker().unwrap();
    let cli = open();
    cli.add_window(Interval::new(t(9), t(10)).unwrap(), "", "cli", t(1))
        .unwrap();
    assert_ne!(daemon.external_change_marker().unwrap(), before);
}

/// One `#[test]` per check for a backend: `$open` is an expression that
/// makes a fresh store and returns its opener.
macro_rules! conformance {
    ($fresh:expr) => {
        #[test]
        fn a_store_keeps_one_id_for_life() {
            crate::store::conformance::a_store_keeps_one_id_for_life(&$fresh);
        }
        #[test]
        fn cached_answers_are_kept_and_replaced() {
            crate::store::conformance::cached_answers_are_kept_and_replaced(&$fresh);
        }
        #[test]
        fn a_projection_per_day_is_kept_the_last_of_the_day_wins() {
            crate::store::conformance::a_projection_per_day_is_kept_the_last_of_the_day_wins(&$fresh);
        }
        #[test]
        fn each_event_is_delivered_once_per_destination() {
            crate::store::conformance::each_event_is_delivered_once_per_destination(&$fresh);
        }
        #[test]
        fn concurrent_first_opens_all_agree() {
            crate::store::conformance::concurrent_first_opens_all_agree(&$fresh);
        }
        #[test]
        fn windows_survive_reopening_and_can_be_cancelled_once() {
            crate::store::conformance::windows_survive_reopening_and_can_be_cancelled_once(&$fresh);
        }
        #[test]
        fn a_calendar_sync_adds_moves_and_cancels_only_its_own_future_windows() {
            crate::store::conformance::a_calendar_sync_adds_moves_and_cancels_only_its_own_future_windows(&$fresh);
        }
        #[test]
        fn windows_are_read_by_time_range() {
            crate::store::conformance::windows_are_read_by_time_range(&$fresh);
        }
        #[test]
        fn windows_are_paged_by_start_from_a_cursor() {
            crate::store::conformance::windows_are_paged_by_start_from_a_cursor(&$fresh);
        }
        #[test]
        fn the_ledger_round_trips_and_knows_what_is_open() {
            crate::store::conformance::the_ledger_round_trips_and_knows_what_is_open(&$fresh);
        }
        #[test]
        fn the_ledger_of_a_range_holds_every_lifetime_overlapping_it() {
            crate::store::conformance::the_ledger_of_a_range_holds_every_lifetime_overlapping_it(&$fresh);
        }
        #[test]
        fn a_scale_fixture_writes_its_windows_and_the_ledger_of_the_past_ones() {
            crate::store::conformance::a_scale_fixture_writes_its_windows_and_the_ledger_of_the_past_ones(&$fresh);
        }
        #[test]
        fn decisions_are_kept_newest_first() {
            crate::store::conformance::decisions_are_kept_newest_first(&$fresh);
        }
        #[test]
        fn alarm_states_transitions_and_the_notification_outbox() {
            crate::store::conformance::alarm_states_transitions_and_the_notification_outbox(&$fresh);
        }
        #[test]
        fn concurrent_claimers_never_share_a_row() {
            crate::store::conformance::concurrent_claimers_never_share_a_row(&$fresh);
        }
        #[test]
        fn history_is_pruned_past_its_retention_but_undelivered_notifications_stay() {
            crate::store::conformance::history_is_pruned_past_its_retention_but_undelivered_notifications_stay(&$fresh);
        }
        #[test]
        fn sessions_survive_reopening_expire_and_end_on_sign_out() {
            crate::store::conformance::sessions_survive_reopening_expire_and_end_on_sign_out(&$fresh);
        }
        #[test]
        fn another_connection_committing_changes_the_marker() {
            crate::store::conformance::another_connection_committing_changes_the_marker(&$fresh);
        }
    };
}
pub(crate) use conformance;
