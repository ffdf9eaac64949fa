//! Replicas on PostgreSQL, end to end against moto and a throw-away cluster:
//! - three replicas, the leader killed with SIGKILL at seeded random points
//!   mid-schedule (every third kill just after a window edge) and restarted:
//!   a standby takes over within the lease TTL plus one renewal and one
//!   reconcile, one ALB per window, every window served and closed, no
//!   lifetime left open, billed hours equal to the planner's minimum, and
//!   the fencing tokens in the ledger never go backwards in moto's order;
//! - the leader cut off from PostgreSQL (its connections black-holed):
//!   it stops acting before the other replica's lease starts.
//!
//! `COSTD_FAILOVER_KILLS` (default 4) and `COSTD_FAILOVER_TTL` (seconds,
//! default 4) change the run; `bash tests/proof.sh failover` runs 20 kills
//! at the default TTL of 10 s and reports the takeover times.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Utc};
use costd::schedule::Interval;
use costd::store::Store;
use costd::store::postgres::{PgStore, testing};

use crate::helpers::{Daemon, Moto, Rng, TempDir, ledger_and_planned_hours, wait_for};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// The replicas' config: moto for AWS, `store_url` for the store.
fn config(dir: &TempDir, moto: &Moto, name: &str, store_url: &str, ttl_s: u64) -> std::path::PathBuf {
    let sqlite = dir.0.join("unused.db");
    let head = crate::helpers::DaemonToml {
        name,
        deployment_extra: "",
        aws: &format!("endpoint_url = \"{}\"", moto.url),
        store: &sqlite,
        tg_extra: "",
    }
    .head(moto);
    let sqlite_block = format!("[store]\npath = \"{}\"", sqlite.display());
    assert!(head.contains(&sqlite_block), "{head}");
    let head = head.replace(
        &sqlite_block,
        &format!("[store]\nurl = \"{store_url}\"\nlease_ttl_seconds = {ttl_s}\ncall_timeout_seconds = 2"),
    );
    dir.write(
        &format!("{name}.toml"),
        &format!(
            r#"{head}
[schedule]
lead_minutes = 0
grace_minutes = 0
coalesce = false
[reconcile]
safety_net_seconds = 5
[web]
listen = "127.0.0.1:0"
public_dashboard = true
"#
        ),
    )
}

/// Rows from the database at `url`, as text columns (the sync client runs
/// on a thread of its own).
fn query(url: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    let (url, sql) = (url.to_string(), sql.to_string());
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.simple_query(&sql)
            .unwrap()
            .into_iter()
            .filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => {
                    Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                }
                _ => None,
            })
            .collect()
    })
    .join()
    .unwrap()
}

/// The lease's holder and token, if any.
fn lease(url: &str, deployment: &str) -> Option<(String, i64)> {
    query(
        url,
        &format!(
            "SELECT holder, token FROM leases WHERE name = 'leader:{deployment}' AND expires_at > clock_timestamp()"
        ),
    )
    .into_iter()
    .next()
    .map(|r| (r[0].clone().unwrap(), r[1].as_deref().unwrap().parse().unwrap()))
}

/// The pid in a holder (`host:pid:random`).
fn pid_of(holder: &str) -> u32 {
    holder.split(':').nth(1).unwrap().parse().unwrap()
}

/// ALBs as moto saw them: (CreatedTime, ARN). With the ledger's `lease_token`
/// per ARN, the tokens in creation order must never go down: a replica that
/// lost the lease created nothing after its successor started.
fn tokens_in_creation_order(url: &str, created: &[(DateTime<Utc>, String)]) -> Vec<i64> {
    let rows = query(
        url,
        "SELECT lb_arn, lease_token FROM lifetimes WHERE lb_arn IS NOT NULL",
    );
    let mut out = Vec::new();
    for (_, arn) in created {
        if let Some(r) = rows.iter().find(|r| r[0].as_deref() == Some(arn)) {
            out.push(r[1].as_deref().unwrap().parse().unwrap());
        }
    }
    out
}

#[test]
fn killing_the_leader_hands_the_schedule_to_a_standby() {
    let _heavy = crate::helpers::heavy();
    let seed: u64 = env_or("COSTD_FAILOVER_SEED", 20261122);
    let kills_wanted: usize = env_or("COSTD_FAILOVER_KILLS", 4);
    let ttl_s: u64 = env_or("COSTD_FAILOVER_TTL", 4);
    let mut rng = Rng(seed | 1);
    let dir = TempDir::new("failover");
    let moto = Moto::start();
    let cluster = testing::shared();
    let url = cluster.fresh_database();
    let store = PgStore::open(cluster.settings(url.clone())).unwrap();
    let config = config(&dir, &moto, "ha", url.as_str(), ttl_s);

    // Windows of 12–16 s, and gaps longer than a takeover: a leader killed just
    // before a window closes is replaced in time to delete its ALB before the next opens.
    let takeover_bound = Duration::from_secs(ttl_s + ttl_s / 4 + 5);
    let per_kill = takeover_bound + Duration::from_secs(4);
    let run_for = per_kill * kills_wanted as u32 + Duration::from_secs(10);
    // Whole milliseconds: the store keeps microseconds, and windows are found again by value.
    let start = (Utc::now() + chrono::Duration::seconds(6)).trunc_subsecs(3);
    let mut windows = Vec::new();
    let mut t = start;
    while t < start + chrono::Duration::from_std(run_for).unwrap() {
        let len = chrono::Duration::from_std(rng.between_ms(12_000, 16_000)).unwrap();
        windows.push(Interval::new(t, t + len).unwrap());
        let gap = takeover_bound + rng.between_ms(1_000, 4_000);
        t = t + len + chrono::Duration::from_std(gap).unwrap();
    }
    for w in &windows {
        store.add_window(*w, "failover test", "test", Utc::now()).unwrap();
    }

    // Watch moto every 100 ms.
    type Sighting = (DateTime<Utc>, BTreeSet<String>);
    let seen: Arc<Mutex<Vec<Sighting>>> = Arc::default();
    // Each ALB's `costd:lease-token` tag: the term of the leader that created it.
    let signed: Arc<Mutex<std::collections::BTreeMap<String, String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (seen, signed, stop, murl) = (seen.clone(), signed.clone(), stop.clone(), moto.url.clone());
        std::thread::spawn(move || {
            let elb = crate::daemon::ElbView::new(&murl);
            while !stop.load(Ordering::SeqCst) {
                let at = Utc::now();
                let ours: Vec<_> = elb
                    .lbs()
                    .into_iter()
                    .filter(|l| l.tags.get("costd:deployment").map(String::as_str) == Some("ha"))
                    .collect();
                for l in &ours {
                    let token = l.tags.get("costd:lease-token").cloned().unwrap_or_default();
                    signed.lock().unwrap().insert(l.arn.clone(), token);
                }
                seen.lock()
                    .unwrap()
                    .push((at, ours.into_iter().map(|l| l.arn).collect()));
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    let mut replicas: Vec<Daemon> = (0..3)
        .map(|i| Daemon::start(&config, dir.0.join(format!("r{i}-0.log"))))
        .collect();
    let first = wait_for(30, "a leader", || lease(url.as_str(), "ha"));
    // A standby says so on /readyz and /metrics.
    let standby = replicas.iter().find(|d| d.pid() != pid_of(&first.0)).unwrap();
    let api = crate::client::Api {
        addr: crate::daemon::web_address(standby),
    };
    // Once its elector has looked (within one renewal), it names the leader.
    let body = wait_for(10, "the standby's /readyz naming the leader", || {
        let (code, body) = api.readyz(None);
        (code == 200 && body.contains(&first.0)).then_some(body)
    });
    assert!(body.starts_with("ready (standby)\nleader: "), "{body}");
    let (_, metrics) = api.metrics(None);
    assert!(metrics.contains("\ncostd_leader 0\n"), "{metrics}");
    let (_, page) = api.dashboard(None);
    assert!(
        page.contains(&format!("{} leads since", first.0)) && page.contains("Standby replica"),
        "{page}"
    );

    let edges: Vec<DateTime<Utc>> = windows.iter().flat_map(|w| [w.start, w.end]).collect();
    let (mut elections, mut takeovers): (Vec<Duration>, Vec<Duration>) = (Vec::new(), Vec::new());
    let mut leader = first;
    let deadline = Instant::now() + run_for;
    while takeovers.len() < kills_wanted && Instant::now() < deadline {
        // Let the leader act a while; every third kill lands just after an edge.
        let next_edge = edges.iter().find(|e| **e > Utc::now() + chrono::Duration::seconds(1));
        match next_edge {
            Some(edge) if takeovers.len() % 3 == 0 => {
                let at = *edge + chrono::Duration::from_std(rng.between_ms(0, 500)).unwrap();
                std::thread::sleep((at - Utc::now()).to_std().unwrap_or_default());
            }
            _ => std::thread::sleep(rng.between_ms(1000, 4000)),
        }
        let pid = pid_of(&leader.0);
        let i = replicas
            .iter()
            .position(|d| d.pid() == pid)
            .expect("the leader is a replica");
        replicas[i].kill9();
        let killed = Instant::now();
        let next = wait_for(takeover_bound.as_secs() + 10, "a new leader", || {
            lease(url.as_str(), "ha").filter(|(h, _)| *h != leader.0)
        });
        elections.push(killed.elapsed());
        assert!(
            next.1 > leader.1,
            "a new term has a higher token: {next:?} after {leader:?}"
        );
        // Taken over: the new leader has reconciled (its /readyz is ready as the leader).
        let new = replicas
            .iter()
            .find(|d| d.pid() == pid_of(&next.0))
            .expect("a replica leads");
        let api = crate::client::Api {
            addr: crate::daemon::web_address(new),
        };
        wait_for(
            takeover_bound.as_secs() + 10,
            "the new leader's first reconcile",
            || {
                let (code, body) = api.readyz(None);
                (code == 200 && body.starts_with("ready\n") && body.contains("(this replica)")).then_some(())
            },
        );
        takeovers.push(killed.elapsed());
        replicas[i] = Daemon::start(&config, dir.0.join(format!("r{i}-{}.log", takeovers.len())));
        leader = next;
    }

    // The schedule finishes; the last window closes.
    let last_end = windows
        .iter()
        .filter(|w| w.start < Utc::now())
        .map(|w| w.end)
        .max()
        .unwrap();
    for w in windows.iter().filter(|w| w.start >= Utc::now()) {
        store
            .cancel_window(
                store
                    .windows(false)
                    .unwrap()
                    .iter()
                    .find(|s| s.interval == *w)
                    .unwrap()
                    .id,
                Utc::now(),
            )
            .unwrap();
    }
    while Utc::now() < last_end + chrono::Duration::seconds(1) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let elb = crate::daemon::ElbView::new(&moto.url);
    wait_for(30, "every ALB deleted after the last window", || {
        elb.owned_arns("ha").is_empty().then_some(())
    });
    stop.store(true, Ordering::SeqCst);
    watcher.join().unwrap();
    for d in &mut replicas {
        d.terminate();
    }

    let served: Vec<Interval> = windows.iter().filter(|w| w.start < last_end).copied().collect();
    let seen = seen.lock().unwrap().clone();
    let covered = served
        .iter()
        .filter(|w| {
            seen.iter()
                .any(|(at, arns)| *at >= w.start && *at < w.end && !arns.is_empty())
        })
        .count();
    let distinct: BTreeSet<String> = seen.iter().flat_map(|(_, a)| a.iter().cloned()).collect();
    // Seen outside every window: how late after the window that last closed.
    let mut late_ms = 0;
    for (at, arns) in &seen {
        if arns.is_empty() || served.iter().any(|w| w.start <= *at && *at < w.end) {
            continue;
        }
        let closed = served.iter().filter(|w| w.end <= *at).map(|w| w.end).max();
        let closed = closed.unwrap_or_else(|| panic!("an ALB at {at}, before the first window"));
        late_ms = late_ms.max((*at - closed).num_milliseconds());
    }
    let lifetimes = store
        .lifetimes(
            "ha",
            start - chrono::Duration::hours(1),
            Utc::now() + chrono::Duration::hours(1),
        )
        .unwrap();
    let open = lifetimes.iter().filter(|l| l.deleted_at.is_none()).count();
    let (billed, planned) = ledger_and_planned_hours(&lifetimes, &served, start);
    // The fencing tokens of the ALBs in moto's creation order.
    let mut created: Vec<(DateTime<Utc>, String)> = Vec::new();
    for (at, arns) in &seen {
        for a in arns {
            if !created.iter().any(|(_, c)| c == a) {
                created.push((*at, a.clone()));
            }
        }
    }
    let tokens = tokens_in_creation_order(url.as_str(), &created);
    // Every ALB carries the token of the term that created it (`costd:lease-token`), and
    // in moto's creation order those never go down either: no old term created after a new one.
    let signed = signed.lock().unwrap().clone();
    let tags: Vec<i64> = created
        .iter()
        .map(|(_, arn)| {
            signed[arn]
                .parse()
                .unwrap_or_else(|_| panic!("{arn} has no lease-token tag"))
        })
        .collect();
    // And the decisions in the order the database recorded them.
    let decision_tokens: Vec<i64> = query(
        url.as_str(),
        "SELECT lease_token FROM decisions WHERE lease_token IS NOT NULL ORDER BY recorded_at, id",
    )
    .into_iter()
    .map(|r| r[0].as_deref().unwrap().parse().unwrap())
    .collect();
    let max_takeover = takeovers.iter().max().copied().unwrap_or_default();
    println!(
        "failover: seed {seed}, TTL {ttl_s} s, {} kills, lease won after {:?} s, reconciled after {:?} s (max {:.1} s), {} windows served, {covered} covered, \
         {} ALBs, {} lifetimes, {open} open, billed {billed} h (planner {planned} h), ALB seen at most {late_ms} ms \
         after a window closed, tokens {tokens:?}",
        takeovers.len(),
        elections
            .iter()
            .map(|d| format!("{:.1}", d.as_secs_f64()))
            .collect::<Vec<_>>(),
        takeovers
            .iter()
            .map(|d| format!("{:.1}", d.as_secs_f64()))
            .collect::<Vec<_>>(),
        max_takeover.as_secs_f64(),
        served.len(),
        distinct.len(),
        lifetimes.len(),
    );
    if let Ok(out) = std::env::var("COSTD_FAILOVER_REPORT") {
        let _ = std::fs::write(
            out,
            format!(
                "{{\"kills\": {}, \"ttl_s\": {ttl_s}, \"max_takeover_s\": {:.2}, \"takeovers_s\": [{}], \"late_ms\": {late_ms}}}\n",
                takeovers.len(),
                max_takeover.as_secs_f64(),
                takeovers
                    .iter()
                    .map(|d| format!("{:.2}", d.as_secs_f64()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    assert_eq!(takeovers.len(), kills_wanted, "every kill was followed by a takeover");
    assert!(max_takeover <= takeover_bound, "takeover took {max_takeover:?}");
    assert_eq!(covered, served.len(), "every window had its ALB while open");
    assert_eq!(distinct.len(), served.len(), "one ALB per window, never two");
    assert!(seen.iter().all(|(_, arns)| arns.len() <= 1), "never two ALBs at once");
    assert_eq!(open, 0, "no lifetime left open");
    assert_eq!(billed, planned, "billed ALB-hours equal the planner's minimum");
    assert!(
        late_ms <= takeover_bound.as_millis() as i64 + 3_000,
        "an ALB outlived its window by {late_ms} ms"
    );
    assert!(
        tokens.windows(2).all(|w| w[0] <= w[1]),
        "tokens in creation order: {tokens:?}"
    );
    assert!(
        tags.windows(2).all(|w| w[0] <= w[1]),
        "the ALBs' lease-token tags in creation order: {tags:?}"
    );
    assert!(
        decision_tokens.windows(2).all(|w| w[0] <= w[1]),
        "decisions' tokens never go back: {decision_tokens:?}"
    );
    assert!(
        decision_tokens.iter().collect::<BTreeSet<_>>().len() > 1,
        "more than one leader acted"
    );
}

/// A TCP proxy whose connections can all be black-holed at once (accepted,
/// bytes read and dropped, nothing answered) and restored.
struct Blackhole {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
}

impl Blackhole {
    fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let c = cut.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(upstream) = TcpStream::connect(target) else {
                    continue;
                };
                for (from, to) in [
                    (client.try_clone().unwrap(), upstream.try_clone().unwrap()),
                    (upstream, client),
                ] {
                    let c = c.clone();
                    std::thread::spawn(move || pipe(from, to, &c));
                }
            }
        });
        Blackhole { addr, cut }
    }
}

/// Copies `from` to `to`. While cut, the bytes are swallowed; once restored,
/// a connection that lost bytes is closed both ways (it is out of step, as
/// after a real partition, where the peers' TCP timers end it).
fn pipe(mut from: TcpStream, mut to: TcpStream, cut: &AtomicBool) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buf = [0u8; 16 * 1024];
    let mut swallowed = false;
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(_) if cut.load(Ordering::SeqCst) => swallowed = true,
            Ok(n) if !swallowed => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Ok(_) => break,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                if swallowed && !cut.load(Ordering::SeqCst) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
    let _ = from.shutdown(std::net::Shutdown::Both);
}

#[test]
fn a_leader_cut_off_from_postgres_stops_acting_before_another_takes_over() {
    let _heavy = crate::helpers::heavy();
    let ttl_s = 4;
    let dir = TempDir::new("cutoff");
    let moto = Moto::start();
    let cluster = testing::shared();
    let url = cluster.fresh_database();
    let store = PgStore::open(cluster.settings(url.clone())).unwrap();
    let hole = Blackhole::start(SocketAddr::from(([127, 0, 0, 1], cluster.port)));
    let mut via_hole = url.clone();
    via_hole.set_port(Some(hole.addr.port())).unwrap();
    let config_a = config(&dir, &moto, "cut", via_hole.as_str(), ttl_s);
    std::fs::rename(&config_a, dir.0.join("a.toml")).unwrap();
    let config_b = config(&dir, &moto, "cut", url.as_str(), ttl_s);

    // A starts first and leads; then B stands by.
    let a = Daemon::start(&dir.0.join("a.toml"), dir.0.join("a.log"));
    let (holder_a, token_a) = wait_for(30, "A leads", || lease(url.as_str(), "cut"));
    assert_eq!(pid_of(&holder_a), a.pid());
    let b = Daemon::start(Path::new(&config_b), dir.0.join("b.log"));
    let now = Utc::now();
    let window = Interval::new(now + chrono::Duration::seconds(3), now + chrono::Duration::seconds(30)).unwrap();
    store.add_window(window, "cut-off test", "test", now).unwrap();
    let elb = crate::daemon::ElbView::new(&moto.url);
    wait_for(20, "A creates the ALB", || {
        (!elb.owned_arns("cut").is_empty()).then_some(())
    });
    wait_for(10, "A records it", || {
        (!query(url.as_str(), "SELECT 1 FROM decisions WHERE action = 'create'").is_empty()).then_some(())
    });

    // Cut A off mid-window.
    hole.cut.store(true, Ordering::SeqCst);
    let cut_at = Utc::now();
    let (holder_b, token_b) = wait_for(ttl_s * 3 + 10, "B takes over", || {
        lease(url.as_str(), "cut").filter(|(h, _)| *h != holder_a)
    });
    assert_eq!(pid_of(&holder_b), b.pid());
    assert!(token_b > token_a);
    let acquired: DateTime<Utc> = query(
        url.as_str(),
        "SELECT to_char(acquired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM leases",
    )[0][0]
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    // A said it stopped acting, before B's term began.
    let stopped = wait_for(10, "A's log line", || {
        a.logs()
            .lines()
            .find(|l| l.contains("stopped acting"))
            .map(str::to_string)
    });
    let stopped_at: DateTime<Utc> = stopped.split_whitespace().next().unwrap().parse().unwrap();
    assert!(stopped_at > cut_at, "{stopped}");
    assert!(
        stopped_at < acquired,
        "A stopped at {stopped_at}, B's lease began at {acquired}; cut at {cut_at}\n{}",
        a.logs()
    );
    // B closes the window on time; one ALB in all; A never created a second.
    while Utc::now() < window.end + chrono::Duration::seconds(1) {
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_for(20, "B deletes the ALB after the window", || {
        elb.owned_arns("cut").is_empty().then_some(())
    });
    let lifetimes = store
        .lifetimes(
            "cut",
            now - chrono::Duration::hours(1),
            Utc::now() + chrono::Duration::hours(1),
        )
        .unwrap();
    assert_eq!(lifetimes.len(), 1, "{lifetimes:?}");
    // A comes back and stands by; its writes with the old token were refused.
    hole.cut.store(false, Ordering::SeqCst);
    wait_for(30, "A stands by", || {
        a.logs().contains("standing by: another replica leads").then_some(())
    });
    let tokens: Vec<i64> = query(
        url.as_str(),
        "SELECT lease_token FROM decisions WHERE lease_token IS NOT NULL ORDER BY recorded_at, id",
    )
    .into_iter()
    .map(|r| r[0].as_deref().unwrap().parse().unwrap())
    .collect();
    assert!(tokens.windows(2).all(|w| w[0] <= w[1]), "{tokens:?}");
    assert!(
        tokens.contains(&token_a) && tokens.contains(&token_b),
        "{tokens:?} {:?} {:?}\n{}",
        query(
            url.as_str(),
            "SELECT id, action, lease_token, recorded_at, detail FROM decisions ORDER BY id"
        ),
        query(
            url.as_str(),
            "SELECT id, lease_token, created_at, deleted_at FROM lifetimes ORDER BY id"
        ),
        a.logs()
    );
    // `costd check` names the leader and its token.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_costd"))
        .args(["check", "--config", config_b.to_str().unwrap()])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains(&format!("leader {holder_b} (token {token_b}")),
        "{report}"
    );
    drop(b);
}
