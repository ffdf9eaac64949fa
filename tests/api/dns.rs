//! The stable demo name end to end against moto (Route 53 hosted zones and
//! alias records, ELBv2): one name follows each window's ALB, leaves before
//! the ALB is deleted, converges after `kill -9` at either side of the
//! record's change, and a name costd did not write is never overwritten.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use aws_sdk_route53 as r53;
use chrono::{Duration, Utc};
use costd::store::Store;

use crate::daemon::{ElbView, web_address};
use crate::helpers::{Daemon, DaemonToml, Moto, Outage, TempDir, http, read_http_request, wait_for};

const DEPLOYMENT: &str = "dns";
const NAME: &str = "demo.example.com";

/// moto's Route 53, seen from the test.
struct Zone {
    rt: tokio::runtime::Runtime,
    client: r53::Client,
    id: String,
}

impl Zone {
    /// A new public hosted zone `example.com` in moto.
    fn create(moto: &Moto) -> Self {
        let (rt, conf) = crate::helpers::emulator_sdk(&moto.url, "us-east-1");
        let client = r53::Client::new(&conf);
        let id = rt.block_on(async {
            let r = client
                .create_hosted_zone()
                .name("example.com")
                .caller_reference(format!("costd-test-{}", std::process::id()))
                .send()
                .await
                .unwrap();
            r.hosted_zone()
                .unwrap()
                .id()
                .trim_start_matches("/hostedzone/")
                .to_string()
        });
        Zone { rt, client, id }
    }

    /// (type, alias target or values) of the records at `name`.
    fn at(&self, name: &str) -> Vec<(String, String)> {
        self.rt.block_on(async {
            let r = self
                .client
                .list_resource_record_sets()
                .hosted_zone_id(&self.id)
                .send()
                .await
                .unwrap();
            r.resource_record_sets()
                .iter()
                .filter(|s| s.name().trim_end_matches('.') == name)
                .map(|s| {
                    let v = match s.alias_target() {
                        Some(a) => a.dns_name().trim_end_matches('.').to_ascii_lowercase(),
                        None => s
                            .resource_records()
                            .iter()
                            .map(|v| v.value().to_string())
                            .collect::<Vec<_>>()
                            .join(","),
                    };
                    (s.r#type().as_str().to_string(), v)
                })
                .collect()
        })
    }

    /// The alias target of the name's A record, if any.
    fn alias(&self) -> Option<String> {
        self.at(NAME).into_iter().find(|(t, _)| t == "A").map(|(_, v)| v)
    }

    fn put_a(&self, ip: &str) {
        self.rt.block_on(async {
            use r53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
            self.client
                .change_resource_record_sets()
                .hosted_zone_id(&self.id)
                .change_batch(
                    ChangeBatch::builder()
                        .changes(
                            Change::builder()
                                .action(ChangeAction::Upsert)
                                .resource_record_set(
                                    ResourceRecordSet::builder()
                                        .name(NAME)
                                        .r#type(RrType::A)
                                        .ttl(60)
                                        .resource_records(ResourceRecord::builder().value(ip).build().unwrap())
                                        .build()
                                        .unwrap(),
                                )
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
        });
    }
}

/// An HTTP proxy to moto that answers `503` to the ELBv2 actions it is told
/// to refuse (by the form body's `Action=`), and forwards everything else:
/// a fault at one exact call.
struct FaultProxy {
    url: String,
    refused: Arc<Mutex<Vec<String>>>,
}

impl FaultProxy {
    fn start(target: std::net::SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let refused: Arc<Mutex<Vec<String>>> = Arc::default();
        let r = refused.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { continue };
                let r = r.clone();
                std::thread::spawn(move || {
                    // One request per connection: moto's answer closes it.
                    if let Some((head, body)) = read_http_request(&mut client) {
                        let action = body
                            .split('&')
                            .find_map(|kv| kv.strip_prefix("Action="))
                            .unwrap_or_default()
                            .to_string();
                        if r.lock().unwrap().contains(&action) {
                            let _ = client.write_all(
                                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                            );
                            return;
                        }
                        let head: Vec<&str> = head
                            .lines()
                            .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
                            .collect();
                        let Ok(mut up) = TcpStream::connect(target) else { return };
                        let request = format!("{}\r\nConnection: close\r\n\r\n{body}", head.join("\r\n"));
                        if up.write_all(request.as_bytes()).is_err() {
                            return;
                        }
                        let mut response = Vec::new();
                        if up.read_to_end(&mut response).is_ok() {
                            let _ = client.write_all(&response);
                        }
                    }
                });
            }
        });
        FaultProxy { url, refused }
    }

    fn refuse(&self, actions: &[&str]) {
        *self.refused.lock().unwrap() = actions.iter().map(|a| a.to_string()).collect();
    }
}

/// moto, a hosted zone, and a config whose ELB calls go through a
/// [`FaultProxy`] and Route 53 calls through a proxy that can be switched off.
struct DnsRig {
    dir: TempDir,
    elb: ElbView,
    zone: Zone,
    config: std::path::PathBuf,
    elb_proxy: FaultProxy,
    dns_proxy: Outage,
    _moto: Moto,
}

impl DnsRig {
    fn new(name: &str, dns_extra: &str) -> Self {
        let dir = TempDir::new(name);
        let moto = Moto::start();
        let zone = Zone::create(&moto);
        let elb_proxy = FaultProxy::start(moto.addr);
        let dns_proxy = Outage::proxy(moto.addr);
        let head = DaemonToml {
            name: DEPLOYMENT,
            deployment_extra: "dry_run = false",
            aws: &format!(
                "endpoint_url = \"{}\"\nelb_endpoint_url = \"{}\"\nroute53_endpoint_url = \"{}\"",
                moto.url, elb_proxy.url, dns_proxy.url
            ),
            store: &dir.0.join("costd.db"),
            tg_extra: "port = 80",
        }
        .head(&moto);
        let config = dir.write(
            "costd.toml",
            &format!(
                r#"{head}
[alb.dns]
hosted_zone_id = "{zone}"
record_name = "{NAME}"
{dns_extra}

[schedule]
lead_minutes = 0
grace_minutes = 0
coalesce = false                 # each window its own ALB, so the name moves

[reconcile]
safety_net_seconds = 5

[cloudwatch]
enabled = false                  # moto does not speak the CBOR protocol the current SDK uses

[web]
listen = "127.0.0.1:0"
public_dashboard = true
"#,
                zone = zone.id
            ),
        );
        DnsRig {
            elb: ElbView::new(&moto.url),
            dir,
            zone,
            config,
            elb_proxy,
            dns_proxy,
            _moto: moto,
        }
    }

    fn store(&self) -> costd::store::sqlite::SqliteStore {
        costd::store::sqlite::SqliteStore::open(&self.dir.0.join("costd.db")).unwrap()
    }

    /// A window `[now + from, now + to)` seconds.
    fn window(&self, from_s: i64, to_s: i64) -> costd::schedule::Interval {
        let now = Utc::now();
        let iv =
            costd::schedule::Interval::new(now + Duration::seconds(from_s), now + Duration::seconds(to_s)).unwrap();
        self.store().add_window(iv, "demo", "test", now).unwrap();
        iv
    }

    fn daemon(&self, tag: &str) -> Daemon {
        Daemon::start(&self.config, self.dir.0.join(format!("daemon-{tag}.log")))
    }

    /// The ALB's own DNS name, lower case, as the alias targets it.
    fn alb_alias(&self) -> Option<String> {
        let lb = self.elb.lbs().into_iter().next()?;
        let dns = self
            .store()
            .lifetime_by_lb_arn(&lb.arn)
            .unwrap()
            .and_then(|l| l.dns_name)?;
        Some(format!("dualstack.{}", dns.to_ascii_lowercase()))
    }
}

#[test]
fn one_name_follows_each_windows_alb_and_leaves_before_it_is_deleted() {
    let _heavy = crate::helpers::heavy();
    let rig = DnsRig::new("dns-follow", "");
    let d = rig.daemon("1");
    let addr = web_address(&d);
    let first = rig.window(2, 6);
    let second = rig.window(12, 16);

    // The first window: the name points at its ALB, with costd's ownership record.
    let a1 = wait_for(15, "the name to point at the first ALB", || {
        let want = rig.alb_alias()?;
        (rig.zone.alias().as_deref() == Some(want.as_str())).then_some(want)
    });
    let owner = rig.zone.at("_costd.demo.example.com");
    assert_eq!(owner.len(), 1, "{owner:?}");
    // The dashboard links the stable URL, the ALB's own beside it; so does the *ALB ready* event.
    let page = wait_for(10, "the dashboard's stable URL", || {
        let (_, page) = http(addr, "GET", "/", &[], "").ok()?;
        page.contains("id=stable-url href=\"http://demo.example.com/\"")
            .then_some(page)
    });
    assert!(page.contains("id=alb-url"));
    let ready = wait_for(10, "the ALB ready event", || {
        rig.store()
            .events(Some(costd::event::EventKind::AlbReady), None, 10)
            .unwrap()
            .into_iter()
            .next()
    });
    assert_eq!(ready.link.as_deref(), Some("http://demo.example.com/"));
    assert_eq!(ready.text.rsplit(' ').next(), Some("http://demo.example.com/"));
    assert!(
        owner[0].1.contains("heritage=costd,costd/deployment=dns,costd/store="),
        "{owner:?}"
    );

    // It closes: the name goes first, then the ALB.
    wait_for(20, "the first ALB to be deleted", || {
        rig.elb.lbs().is_empty().then_some(())
    });
    assert!(Utc::now() >= first.end);
    // The delete decision is written when the call returns, a moment after moto lists no ALB.
    let decisions = wait_for(10, "the delete decision", || {
        let d = rig.store().decisions(50).unwrap();
        d.iter()
            .any(|d| d.action == costd::store::DecisionAction::Delete)
            .then_some(d)
    });
    let at = |pred: &dyn Fn(&costd::store::Decision) -> bool| decisions.iter().rev().position(pred).unwrap();
    let name_gone =
        at(&|d| d.action == costd::store::DecisionAction::Dns && d.detail.contains("DELETE A demo.example.com"));
    let alb_gone = at(&|d| d.action == costd::store::DecisionAction::Delete);
    assert!(
        name_gone < alb_gone,
        "the record's deletion is decided before the ALB's: {decisions:#?}"
    );

    // The second window: the same name, the second ALB.
    let a2 = wait_for(20, "the name to point at the second ALB", || {
        let want = rig.alb_alias()?;
        (rig.zone.alias().as_deref() == Some(want.as_str())).then_some(want)
    });
    assert_ne!(a1, a2);
    assert!(Utc::now() < second.end + Duration::seconds(5));
    // The ledger keeps each change on its lifetime.
    let lifetimes = rig
        .store()
        .lifetimes(
            DEPLOYMENT,
            first.start - Duration::hours(1),
            second.end + Duration::hours(1),
        )
        .unwrap();
    assert!(lifetimes[0].dns_changes.len() >= 2, "{:?}", lifetimes[0].dns_changes);
    assert!(lifetimes[0].dns_changes[0].contains(&format!("UPSERT A demo.example.com → {a1}")));
    wait_for(20, "the second ALB to be deleted", || {
        rig.elb.lbs().is_empty().then_some(())
    });
    assert_eq!(rig.zone.alias(), None);
    assert!(rig.zone.at("_costd.demo.example.com").is_empty());
}

#[test]
fn kill_9_on_either_side_of_the_records_change_converges_at_the_next_start() {
    let _heavy = crate::helpers::heavy();
    let rig = DnsRig::new("dns-kill9", "");
    // Route 53 unreachable: the ALB is created, the record's UPSERT fails; kill -9 there.
    rig.dns_proxy.down();
    let mut d = rig.daemon("1");
    let iv = rig.window(2, 40);
    wait_for(15, "the ALB", || rig.elb.lbs().into_iter().next());
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(rig.zone.alias(), None, "Route 53 was unreachable");
    d.kill9();
    rig.dns_proxy.up();
    let mut d = rig.daemon("2");
    let alias = wait_for(15, "the name after the restart", || {
        let want = rig.alb_alias()?;
        (rig.zone.alias().as_deref() == Some(want.as_str())).then_some(want)
    });
    assert_eq!(rig.elb.lbs().len(), 1, "the same ALB, adopted, not a second one");

    // At the window's end the record is deleted, then ELB refuses the
    // deletions (listeners and ALB); kill -9 there.
    rig.elb_proxy.refuse(&["DeleteListener", "DeleteLoadBalancer"]);
    wait_for(60, "the record's deletion at the window's end", || {
        (Utc::now() >= iv.end && rig.zone.alias().is_none()).then_some(())
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(rig.elb.lbs().len(), 1, "ELB refused: the ALB is still there");
    d.kill9();
    rig.elb_proxy.refuse(&[]);
    let _d = rig.daemon("3");
    wait_for(20, "the ALB's deletion after the restart", || {
        rig.elb.lbs().is_empty().then_some(())
    });
    assert_eq!(rig.zone.alias(), None);
    assert!(!alias.is_empty());
}

#[test]
fn a_name_costd_did_not_write_is_reported_and_never_overwritten() {
    let _heavy = crate::helpers::heavy();
    let rig = DnsRig::new("dns-foreign", "");
    rig.zone.put_a("192.0.2.10");
    let d = rig.daemon("1");
    let addr = web_address(&d);
    rig.window(2, 6);
    wait_for(15, "the ALB", || rig.elb.lbs().into_iter().next());
    let (_, ready) = wait_for(15, "the warning on /readyz", || {
        let r = http(addr, "GET", "/readyz", &[], "").ok()?;
        r.1.contains("stable name is left alone").then_some(r)
    });
    assert!(ready.contains("that costd did not write"), "{ready}");
    let (_, page) = http(addr, "GET", "/", &[], "").unwrap();
    assert!(page.contains("id=dns-problem"));
    wait_for(20, "the ALB's deletion", || rig.elb.lbs().is_empty().then_some(()));
    assert_eq!(rig.zone.at(NAME), [("A".to_string(), "192.0.2.10".to_string())]);
    assert!(rig.zone.at("_costd.demo.example.com").is_empty());
}

#[test]
fn take_over_makes_a_hand_written_name_costds() {
    let _heavy = crate::helpers::heavy();
    let rig = DnsRig::new("dns-take-over", "take_over = true");
    rig.zone.put_a("192.0.2.10");
    let _d = rig.daemon("1");
    rig.window(2, 6);
    wait_for(15, "the name taken over and pointed at the ALB", || {
        let want = rig.alb_alias()?;
        (rig.zone.alias().as_deref() == Some(want.as_str())).then_some(())
    });
    wait_for(20, "the ALB's deletion", || rig.elb.lbs().is_empty().then_some(()));
    assert!(rig.zone.at(NAME).is_empty(), "costd's now: deleted with the ALB");
}

#[test]
fn check_with_aws_reads_the_name_in_its_zone() {
    let rig = DnsRig::new("dns-check", "");
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_costd"))
            .args(["check", "--aws", "--config", rig.config.to_str().unwrap()])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let text = run();
    assert!(
        text.contains(&format!(
            "ok    route53:ListResourceRecordSets: demo.example.com in zone {}: free",
            rig.zone.id
        )),
        "{text}"
    );
    rig.zone.put_a("192.0.2.10");
    assert!(run().contains(": 1 record(s) there now"));
}
