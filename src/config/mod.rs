//! The daemon's configuration (`config/costd.toml`): the deployment, the ALB
//! it owns, the demo windows and blackouts, the store and AWS endpoint.
//! Parsed once at start into typed values (addresses, URLs, cron
//! expressions, zones, enums); every error names file, line, key. One file
//! per section, each with its type, its `Default` and its parser.

mod alb;
mod aws;
mod billing;
mod calendars;
mod cloudwatch;
mod destinations;
mod notify;
mod pricing;
mod projection;
mod schedule;
mod store;
mod web;

use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use url::Url;

use crate::budget::Budget;
use crate::input::{Document, InputError, Value};
use crate::pricing::is_region_code;
use crate::scenario::parse_timezone;

pub use alb::{AlbConfig, AliasTarget, DnsConfig, HttpsConfig, RecordType, TargetGroupConfig, normalized_dns_name};
pub use aws::AwsConfig;
pub use calendars::{
    CalendarFeedConfig, CalendarLocation, CalendarSource, FETCH_TIMEOUT, MAX_CALENDAR_BYTES, MAX_CALENDAR_EVENTS,
    MAX_OCCURRENCES_PER_EVENT,
};
pub use cloudwatch::CloudWatchConfig;
pub use destinations::{Destination, DestinationKind, EventSettings, MAX_DESTINATIONS, PAGERDUTY_EVENTS_URL};
pub use notify::WebhookConfig;
pub use pricing::{API_REGIONS, PricingConfig};
pub use projection::ProjectionConfig;
pub use schedule::{ReconcileConfig, ScheduleConfig};
pub use store::{LeaseConfig, StoreConfig};
pub use web::{ApiToken, Role, WebConfig};

/// What a secret named by an unset environment variable (`token_env`,
/// `url_env`, `secret_env`) means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// An error naming the variable: `costd serve` and `costd check`.
    Required,
    /// The token or webhook is left out: the commands that need neither
    /// (`costd windows`, `costd projection`, `costd iam-policy`), so they run
    /// where the daemon's secrets are not.
    Optional,
}

/// The embedded default config: dry-run, no AWS account needed.
pub const EMBEDDED_DEFAULT: &str = include_str!("../../config/costd.toml");

/// Everything the daemon needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Which deployment this daemon manages (its tags and names derive from it).
    pub deployment: String,
    /// AWS region of the ALB and of the price table.
    pub region: String,
    /// Zone for blackout dates and one-off windows without an offset.
    pub timezone: Tz,
    /// Log and record what would be done; call nothing on AWS.
    pub dry_run: bool,
    /// AWS client settings.
    pub aws: AwsConfig,
    /// Where the store is: a SQLite file or a PostgreSQL database.
    pub store: StoreConfig,
    /// The load balancer to create in windows.
    pub alb: AlbConfig,
    /// Windows, blackouts, lead and grace.
    pub schedule: ScheduleConfig,
    /// How often the safety-net reconcile runs.
    pub reconcile: ReconcileConfig,
    /// Directory of price tables; `None`: the embedded tables.
    pub pricing_dir: Option<PathBuf>,
    /// What the monthly projection models besides the ledger.
    pub projection: ProjectionConfig,
    /// Monthly budgets and their thresholds.
    pub budgets: Vec<Budget>,
    /// CloudWatch metrics and alarms.
    pub cloudwatch: CloudWatchConfig,
    /// Webhooks notified on every alarm transition.
    pub webhooks: Vec<WebhookConfig>,
    /// `[[notify]]`: where events go (Slack, Teams, PagerDuty, signed webhooks).
    pub notify: Vec<Destination>,
    /// `[events]`: when the schedule's events are due.
    pub events: EventSettings,
    /// How long decisions, transitions and notifications are kept.
    pub retention: crate::store::Retention,
    /// The dashboard and JSON API.
    pub web: WebConfig,
    /// Scheduled price refresh from the AWS Price List.
    pub pricing: PricingConfig,
    /// `[billing] partial_hour`: how partial ALB hours are billed (default `clock_hour`).
    pub partial_hour: crate::cost::billing::PartialHour,
    /// `[billing] check_cron`: when the daemon checks the bill (UTC); `None`: never.
    pub bill_check_cron: Option<crate::schedule::CronExpr>,
    /// `[calendar_feed]`: the iCalendar feed of the demo windows.
    pub calendar_feed: CalendarFeedConfig,
}

impl Config {
    /// Parses config text. `base` resolves relative paths (store, .ics, pricing);
    /// [`Config::load`] uses the working directory, as most daemons do. Every
    /// secret named by an environment variable must be set.
    pub fn parse(file: &str, src: &str, base: &Path) -> Result<Self, InputError> {
        Self::parse_with(file, src, base, Secrets::Required)
    }

    /// [`Config::parse`], with the choice of what a missing secret means.
    pub fn parse_with(file: &str, src: &str, base: &Path, secrets: Secrets) -> Result<Self, InputError> {
        let doc = Document::parse(file, src)?;
        let root = doc.root();

        let d = root.require("deployment")?.table()?;
        let name_v = d.require("name")?;
        let deployment = name_v.str()?;
        if deployment.is_empty()
            || deployment.len() > 64
            || !deployment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(name_v.error("1–64 letters, digits, '-' or '_' (it becomes the costd:deployment tag)"));
        }
        let region_v = d.require("region")?;
        let region = region_v.str()?;
        if !is_region_code(&region) {
            return Err(region_v.error(format!("`{region}` is not an AWS region code such as ap-southeast-1")));
        }
        let timezone = d
            .require("timezone")?
            .r()
            .parse_with("an IANA zone such as \"Asia/Singapore\"", parse_timezone)?;
        let dry_run = d.get("dry_run").map(|v| v.bool()).transpose()?.unwrap_or(false);
        d.finish()?;

        let aws = AwsConfig::parse(root.get("aws"))?;
        let store = store::parse(root.get("store"), base, secrets)?;
        let alb = AlbConfig::parse(&root.require("alb")?.table()?)?;
        let schedule = schedule::parse(&root.require("schedule")?.table()?, timezone, base, secrets)?;
        let calendar_feed = calendars::parse_feed(root.get("calendar_feed"), secrets)?;
        let reconcile = ReconcileConfig::parse(root.get("reconcile"))?;
        let pricing_dir = root
            .get("pricing_dir")
            .map(|v| v.str().map(|s| base.join(s)))
            .transpose()?;
        let projection = projection::parse(root.get("projection"), base)?;
        let budgets = projection::parse_budgets(root.get("budgets"))?;
        let cloudwatch = cloudwatch::parse(root.get("cloudwatch"))?;
        let webhooks = notify::parse_webhooks(root.get("webhooks"), secrets)?;
        let notify = destinations::parse(root.get("notify"), secrets)?;
        let events = destinations::parse_events(root.get("events"))?;
        let retention = notify::parse_retention(root.get("retention"))?;
        let web = web::parse(root.get("web"), base, secrets)?;
        let pricing = PricingConfig::parse(root.get("pricing"))?;
        let billing::BillingConfig {
            partial_hour,
            check_cron: bill_check_cron,
        } = billing::parse(root.get("billing"))?;
        root.finish()?;
        Ok(Config {
            deployment,
            region,
            timezone,
            dry_run,
            aws,
            store,
            alb,
            schedule,
            reconcile,
            pricing_dir,
            projection,
            budgets,
            cloudwatch,
            webhooks,
            notify,
            events,
            retention,
            web,
            pricing,
            partial_hour,
            bill_check_cron,
            calendar_feed,
        })
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Self, InputError> {
        Self::load_with(path, Secrets::Required)
    }

    /// [`Config::load`], with the choice of what a missing secret means.
    pub fn load_with(path: &Path, secrets: Secrets) -> Result<Self, InputError> {
        let src = std::fs::read_to_string(path).map_err(|e| InputError {
            file: path.display().to_string(),
            line: 0,
            key: String::new(),
            message: format!("cannot read config: {e}"),
        })?;
        Config::parse_with(&path.display().to_string(), &src, Path::new("."), secrets)
    }
}

/// An absolute `http` or `https` URL with a host.
fn parse_http_url(s: &str) -> Result<Url, String> {
    let u = Url::parse(s).map_err(|e| e.to_string())?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none_or(str::is_empty) {
        return Err("not an http(s) URL with a host".into());
    }
    Ok(u)
}

/// A URL key: `http(s)://host[:port][/path]`.
fn http_url(v: &Value) -> Result<Url, InputError> {
    let s = v.str()?;
    parse_http_url(&s).map_err(|why| {
        v.error(format!(
            "`{s}` is not a URL ({why}); expected e.g. http://127.0.0.1:5000"
        ))
    })
}

fn strings(v: &Value, what: &str, valid: impl Fn(&str) -> bool) -> Result<Vec<String>, InputError> {
    v.items()?
        .iter()
        .map(|i| {
            let s = i.str()?;
            if valid(&s) {
                Ok(s)
            } else {
                Err(i.error(format!("`{s}` is not {what}")))
            }
        })
        .collect()
}

fn aws_id(prefix: &'static str) -> impl Fn(&str) -> bool {
    move |s: &str| {
        s.strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_hexdigit()))
    }
}

fn port(v: &Value) -> Result<u16, InputError> {
    Ok(v.u32_in(1, 65535)? as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::network::OptionName;
    use chrono::Duration;

    fn parse(src: &str) -> Result<Config, InputError> {
        Config::parse("costd.toml", src, Path::new("/base"))
    }

    #[test]
    fn the_embedded_default_parses_as_dry_run() {
        let c = parse(EMBEDDED_DEFAULT).unwrap();
        assert!(c.dry_run);
        assert_eq!(c.deployment, "seed-demo");
        assert_eq!(c.store.sqlite_path(), Some(Path::new("/base/costd.db")));
        assert_eq!(c.alb.subnets.len(), 2);
        assert_eq!(c.schedule.windows.len(), 1);
        assert_eq!(c.schedule.blackouts.len(), 2);
        assert_eq!(
            (c.schedule.lead, c.schedule.grace),
            (Duration::minutes(5), Duration::minutes(5))
        );
        assert_eq!(c.alb.target_group.health_check_path, "/health");
        assert_eq!(c.budgets.len(), 1);
        assert_eq!(c.budgets[0].thresholds.len(), 3);
        assert!(c.cloudwatch.enabled);
        assert_eq!(c.projection.network_option, OptionName::EndpointsOnly);
        assert_eq!(c.projection.scenario.region, "ap-southeast-1");
    }

    fn with(from: &str, to: &str) -> InputError {
        let src = EMBEDDED_DEFAULT.replacen(from, to, 1);
        assert_ne!(src, EMBEDDED_DEFAULT, "replacement `{from}` must apply");
        parse(&src).unwrap_err()
    }

    /// The minimal config: every optional section left out.
    const MINIMAL: &str = "[deployment]\nname = \"d\"\nregion = \"us-east-1\"\ntimezone = \"UTC\"\n\
        [alb]\nname_prefix = \"demo\"\nsubnets = [\"subnet-0a\", \"subnet-0b\"]\nsecurity_groups = []\n\
        [alb.target_group]\nvpc_id = \"vpc-0a\"\n[schedule]\n";

    #[test]
    fn the_alb_dns_name_is_checked_and_normalized() {
        let dns = |body: &str| parse(&MINIMAL.replacen("[schedule]\n", &format!("[alb.dns]\n{body}\n[schedule]\n"), 1));
        let c =
            dns("hosted_zone_id = \"/hostedzone/Z0123456789ABCDEFGHIJ\"\nrecord_name = \"Demo.Example.COM.\"").unwrap();
        let d = c.alb.dns.unwrap();
        assert_eq!(d.hosted_zone_id, "Z0123456789ABCDEFGHIJ");
        assert_eq!(d.record_name, "demo.example.com");
        assert_eq!(d.owner_record_name(), "_costd.demo.example.com");
        assert_eq!(d.record_types, [RecordType::A]);
        assert!(!d.evaluate_target_health && !d.take_over && d.fallback.is_none());
        assert_eq!(d.release_timeout, chrono::Duration::minutes(15));
        let timeout = |m: i64| {
            dns(&format!(
                "hosted_zone_id = \"Z1\"\nrecord_name = \"d.example.com\"\nrelease_timeout_minutes = {m}"
            ))
        };
        for m in [1, 1440] {
            assert_eq!(
                timeout(m).unwrap().alb.dns.unwrap().release_timeout,
                chrono::Duration::minutes(m)
            );
        }
        for m in [0, 1441] {
            let e = timeout(m).unwrap_err();
            assert_eq!(e.key, "alb.dns.release_timeout_minutes", "{e}");
        }
        let full = dns(
            "hosted_zone_id = \"Z1\"\nrecord_name = \"demo.example.com\"\nevaluate_target_health = true\ntake_over = true\n\
             fallback = { dns_name = \"s3-website-us-east-1.amazonaws.com\", hosted_zone_id = \"Z3AQBSTGFYJSTF\" }",
        )
        .unwrap()
        .alb
        .dns
        .unwrap();
        assert_eq!(
            full.fallback,
            Some(AliasTarget {
                dns_name: "s3-website-us-east-1.amazonaws.com".into(),
                hosted_zone_id: "Z3AQBSTGFYJSTF".into()
            })
        );
        // AAAA needs a dualstack ALB.
        let e = dns("hosted_zone_id = \"Z1\"\nrecord_name = \"d.example.com\"\nrecord_types = [\"A\", \"AAAA\"]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("AAAA needs a dualstack ALB"), "{e}");
        let dual = parse(
            &MINIMAL.replacen("[alb.target_group]", "ip_address_type = \"dualstack\"\n[alb.dns]\nhosted_zone_id = \"Z1\"\nrecord_name = \"d.example.com\"\nrecord_types = [\"AAAA\", \"A\"]\n[alb.target_group]", 1),
        )
        .unwrap();
        assert!(dual.alb.dualstack);
        assert_eq!(dual.alb.dns.unwrap().record_types, [RecordType::A, RecordType::Aaaa]);
        // At the bounds: a 32-character zone ID, a 63-character label, a 246-character
        // name (253 with `_costd.` before it); 247 is refused.
        let zone32 = "Z".repeat(32);
        let name246 = format!(
            "{}.{}.{}.{}.com",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(50)
        );
        assert_eq!(name246.len(), 246);
        let d = dns(&format!("hosted_zone_id = \"{zone32}\"\nrecord_name = \"{name246}\"")).unwrap();
        assert_eq!(d.alb.dns.unwrap().record_name, name246);
        let e = dns(&format!(
            "hosted_zone_id = \"Z1\"\nrecord_name = \"{}\"",
            name246.replace(".com", "d.com")
        ))
        .unwrap_err();
        assert!(e.to_string().contains("longer than 246 characters"), "{e}");
        let e = dns(&format!(
            "hosted_zone_id = \"{zone32}Z\"\nrecord_name = \"d.example.com\""
        ))
        .unwrap_err();
        assert!(e.to_string().contains("not a hosted zone ID"), "{e}");
        let long_label = format!("{}.example.com", "a".repeat(64));
        let long_name = format!("{}.com", ["abcdefghi"; 26].join("."));
        for (body, want) in [
            (
                "hosted_zone_id = \"z1\"\nrecord_name = \"d.example.com\"",
                "not a hosted zone ID",
            ),
            ("hosted_zone_id = \"Z1\"\nrecord_name = \"localhost\"", "not a DNS name"),
            (
                "hosted_zone_id = \"Z1\"\nrecord_name = \"d..example.com\"",
                "not a DNS name",
            ),
            (
                "hosted_zone_id = \"Z1\"\nrecord_name = \"-d.example.com\"",
                "not a DNS name",
            ),
            (
                &format!("hosted_zone_id = \"Z1\"\nrecord_name = \"{long_label}\""),
                "not a DNS name",
            ),
            (
                &format!("hosted_zone_id = \"Z1\"\nrecord_name = \"{long_name}\""),
                "not a DNS name",
            ),
            (
                "hosted_zone_id = \"Z1\"\nrecord_name = \"*.example.com\"",
                "not a DNS name",
            ),
            (
                "hosted_zone_id = \"Z1\"\nrecord_name = \"_costd.example.com\"",
                "ownership record",
            ),
            (
                "hosted_zone_id = \"Z1\"\nrecord_name = \"d.example.com\"\nrecord_types = [\"CNAME\"]",
                "expected A or AAAA",
            ),
            (
                "hosted_zone_id = \"Z1\"\nrecord_name = \"d.example.com\"\nrecord_types = []",
                "must include A",
            ),
            (
                "hosted_zone_id = \"Z1\"\nrecord_name = \"d.example.com\"\nttl = 60",
                "ttl",
            ),
            ("record_name = \"d.example.com\"", "hosted_zone_id"),
        ] {
            let e = dns(body).unwrap_err().to_string();
            assert!(e.contains(want), "{body}: {e}");
        }
        assert!(long_name.len() > 253);
    }

    #[test]
    fn calendars_and_the_feed_are_checked_and_bounded() {
        let cal = |body: &str| parse(&format!("{MINIMAL}[[schedule.calendars]]\n{body}\n"));
        let ok = cal("name = \"team\"\nfile = \"demos.ics\"\nmatch = \"[demo]\"").unwrap();
        let c = &ok.schedule.calendars[0];
        assert_eq!(c.location, CalendarLocation::File("/base/demos.ics".into()));
        // Defaults: every 5 minutes, 60 days ahead, in the deployment's zone.
        assert_eq!(
            (c.refresh, c.horizon, c.timezone),
            (chrono::Duration::minutes(5), chrono::Duration::days(60), chrono_tz::UTC)
        );
        assert!(c.wants("Acme [DEMO]", &[]) && c.wants("x", &["[demo]".into()]) && !c.wants("lunch", &[]));
        let refused = [
            (
                "name = \"Team\"\nfile = \"a.ics\"\nmatch = \"x\"",
                "not a calendar name",
            ),
            (
                "name = \"t\"\nurl = \"https://calendar.example/private-abc/basic.ics\"\nmatch = \"x\"",
                "is a secret",
            ),
            (
                "name = \"t\"\nurl_env = \"COSTD_TEST_NO_SUCH_VAR\"\nmatch = \"x\"",
                "COSTD_TEST_NO_SUCH_VAR is not set",
            ),
            (
                "name = \"t\"\nurl_env = \"X\"\nfile = \"a.ics\"\nmatch = \"x\"",
                "not both",
            ),
            ("name = \"t\"\nmatch = \"x\"", "give `url_env`"),
            ("name = \"t\"\nfile = \"a.ics\"\nmatch = \" \"", "summary contains"),
            (
                "name = \"t\"\nfile = \"a.ics\"\nmatch = \"x\"\nrefresh_minutes = 0",
                "refresh_minutes",
            ),
            (
                "name = \"t\"\nfile = \"a.ics\"\nmatch = \"x\"\nrefresh_minutes = 1441",
                "refresh_minutes",
            ),
            // The horizon is bounded by max_days_ahead (366 by default).
            (
                "name = \"t\"\nfile = \"a.ics\"\nmatch = \"x\"\nhorizon_days = 367",
                "horizon_days",
            ),
            (
                "name = \"t\"\nfile = \"a.ics\"\nmatch = \"x\"\ntimezone = \"Mars/Olympus\"",
                "timezone",
            ),
            (
                "name = \"t\"\nfile = \"a.ics\"\nmatch = \"x\"\ncolour = \"red\"",
                "colour",
            ),
        ];
        for (body, want) in refused {
            let e = cal(body).unwrap_err().to_string();
            assert!(e.contains(want), "{body}: {e}");
        }
        // At the bounds: a 40-character name, a 100-character match, 1440 minutes,
        // 366 days; one more is refused.
        let at = |name: usize, filter: usize| {
            cal(&format!(
                "name = \"{}\"\nfile = \"a.ics\"\nmatch = \"{}\"\nrefresh_minutes = 1440\nhorizon_days = 366",
                "n".repeat(name),
                "m".repeat(filter)
            ))
        };
        assert!(at(40, 100).is_ok());
        assert!(at(41, 100).unwrap_err().to_string().contains("not a calendar name"));
        assert!(at(40, 101).unwrap_err().to_string().contains("1–100 characters"));
        let many = (0..11)
            .map(|i| format!("[[schedule.calendars]]\nname = \"c{i}\"\nfile = \"a.ics\"\nmatch = \"x\"\n"))
            .collect::<String>();
        let e = parse(&format!("{MINIMAL}{many}")).unwrap_err().to_string();
        assert!(e.contains("11 calendars; at most 10"), "{e}");
        let e = parse(&format!("{MINIMAL}[[schedule.calendars]]\nname = \"a\"\nfile = \"a.ics\"\nmatch = \"x\"\n[[schedule.calendars]]\nname = \"a\"\nfile = \"b.ics\"\nmatch = \"x\"\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("two calendars are named `a`"), "{e}");
        // An unset URL variable leaves the calendar out where secrets are optional (`costd windows`).
        let src = format!(
            "{MINIMAL}[[schedule.calendars]]\nname = \"t\"\nurl_env = \"COSTD_TEST_NO_SUCH_VAR\"\nmatch = \"x\"\n"
        );
        let lenient = Config::parse_with("costd.toml", &src, Path::new("/base"), Secrets::Optional).unwrap();
        assert!(lenient.schedule.calendars.is_empty());

        // The feed: bounded days, a long enough token.
        let feed = |body: &str| parse(&format!("{MINIMAL}[calendar_feed]\n{body}\n"));
        let f = feed("past_days = 0\nfuture_days = 366").unwrap().calendar_feed;
        assert_eq!((f.past.num_days(), f.future.num_days(), f.token), (0, 366, None));
        for (body, want) in [
            ("past_days = 93", "past_days"),
            ("future_days = 0", "future_days"),
            ("future_days = 367", "future_days"),
            ("token_env = \"COSTD_TEST_NO_SUCH_VAR\"", "is not set"),
        ] {
            let e = feed(body).unwrap_err().to_string();
            assert!(e.contains(want), "{body}: {e}");
        }
    }

    #[test]
    fn a_missing_or_empty_section_is_that_sections_one_default() {
        let none = parse(MINIMAL).unwrap();
        let empty = parse(&format!(
            "{MINIMAL}[aws]\n[reconcile]\n[projection]\n[cloudwatch]\nenabled = false\n[retention]\n[web]\n[pricing]\n"
        ))
        .unwrap();
        for c in [&none, &empty] {
            assert_eq!(format!("{:?}", c.aws), format!("{:?}", AwsConfig::default()));
            assert_eq!(
                format!("{:?}", c.reconcile),
                format!("{:?}", ReconcileConfig::default())
            );
            assert_eq!(format!("{:?}", c.schedule), format!("{:?}", ScheduleConfig::default()));
            assert_eq!(format!("{:?}", c.web), format!("{:?}", WebConfig::default()));
            assert_eq!(c.pricing, PricingConfig::default());
            assert_eq!(c.cloudwatch, CloudWatchConfig::default());
            assert_eq!(c.retention, crate::store::Retention::default());
            assert_eq!(
                format!("{:?}", c.projection),
                format!("{:?}", ProjectionConfig::defaults().unwrap())
            );
        }
        // The defaults themselves, as docs/configuration.md states them.
        assert_eq!(none.web.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(none.reconcile.safety_net_seconds, 60);
        assert_eq!(none.retention.transitions, Duration::days(400));
        assert_eq!(none.pricing.api_region, "us-east-1");
    }

    /// AWS bills by the UTC calendar month: the projection's month is UTC
    /// unless `[projection] timezone` says otherwise, whatever the
    /// deployment's own zone (once it was the deployment's: with
    /// Asia/Singapore, "December" ran 11-30 16:00Z → 12-31 16:00Z).
    #[test]
    fn the_projection_month_is_utc_unless_set() {
        let sg = MINIMAL.replacen("timezone = \"UTC\"", "timezone = \"Asia/Singapore\"", 1);
        assert_ne!(sg, MINIMAL);
        assert_eq!(parse(&sg).unwrap().projection.timezone, chrono_tz::UTC);
        assert_eq!(
            parse(&format!("{sg}[projection]\nrecompute_seconds = 60\n"))
                .unwrap()
                .projection
                .timezone,
            chrono_tz::UTC
        );
        let set = parse(&format!("{sg}[projection]\ntimezone = \"Asia/Singapore\"\n")).unwrap();
        assert_eq!(set.projection.timezone, chrono_tz::Asia::Singapore);
    }

    #[test]
    fn the_foreign_margin_is_bounded_to_a_day() {
        let at = |m: &str| parse(&format!("{MINIMAL}[reconcile]\nforeign_margin_minutes = {m}\n"));
        assert_eq!(at("1440").unwrap().reconcile.foreign_margin, chrono::Duration::days(1));
        assert_eq!(at("0").unwrap().reconcile.foreign_margin, chrono::Duration::zero());
        let e = at("1441").unwrap_err();
        assert_eq!(e.key, "reconcile.foreign_margin_minutes");
        assert!(e.message.contains("from 0 to 1440"), "{e}");
    }

    #[test]
    fn a_postgres_store_is_bounded_and_keeps_its_password_out_of_the_file() {
        let pg = |extra: &str| {
            parse(&format!(
                "{MINIMAL}[store]\nurl = \"postgres://costd@db.internal:5432/costd\"\n{extra}"
            ))
        };
        let c = pg("").unwrap();
        let StoreConfig::Postgres { settings, lease } = &c.store else {
            panic!("{:?}", c.store)
        };
        assert_eq!(settings.display_url(), "postgres://costd@db.internal:5432/costd");
        assert_eq!((settings.connections, settings.call_timeout.as_secs()), (4, 10));
        // TTL 10 s: renewed every 2.5 s, acting stops 2 s before it could run out.
        assert_eq!(lease.ttl.as_secs(), 10);
        assert_eq!(
            (lease.renew_every().as_millis(), lease.margin().as_millis()),
            (2500, 2000)
        );
        // Every bound at its limits.
        for (key, ok, bad, valid) in [
            ("connections", ["1", "32"], ["0", "33"], "from 1 to 32"),
            ("call_timeout_seconds", ["1", "60"], ["0", "61"], "from 1 to 60"),
            ("lease_ttl_seconds", ["3", "300"], ["2", "301"], "from 3 to 300"),
        ] {
            for v in ok {
                pg(&format!("{key} = {v}\n")).unwrap_or_else(|e| panic!("{key} = {v}: {e}"));
            }
            for v in bad {
                let e = pg(&format!("{key} = {v}\n")).unwrap_err();
                assert_eq!(e.key, format!("store.{key}"));
                assert!(e.message.contains(valid), "{key} = {v}: {e}");
            }
        }
        // A password in the URL is refused (it would sit in the file and the logs).
        let e = parse(&format!(
            "{MINIMAL}[store]\nurl = \"postgres://costd:hunter2@db/costd\"\n"
        ))
        .unwrap_err();
        assert_eq!(e.key, "store.url");
        assert!(
            e.message.contains("password_env") && !e.message.contains("hunter2"),
            "{e}"
        );
        for bad in ["mysql://db/costd", "postgres:///costd", "db.internal:5432"] {
            let e = parse(&format!("{MINIMAL}[store]\nurl = \"{bad}\"\n")).unwrap_err();
            assert_eq!(e.key, "store.url", "{bad}: {e}");
        }
        // The password comes from the environment; a missing variable is named.
        let e = pg("password_env = \"COSTD_TEST_NO_SUCH_VARIABLE\"\n").unwrap_err();
        assert!(e.message.contains("COSTD_TEST_NO_SUCH_VARIABLE is not set"), "{e}");
        // Exactly one of path and url; PostgreSQL's keys do not go with a file.
        let e = parse(&format!(
            "{MINIMAL}[store]\npath = \"a.db\"\nurl = \"postgres://db/c\"\n"
        ))
        .unwrap_err();
        assert!(e.message.contains("exactly one of `path`"), "{e}");
        let e = parse(&format!("{MINIMAL}[store]\npath = \"a.db\"\nlease_ttl_seconds = 5\n")).unwrap_err();
        assert_eq!(e.key, "store.lease_ttl_seconds");
    }

    #[test]
    fn the_store_flag_takes_a_file_or_a_postgres_url() {
        assert_eq!(
            StoreConfig::from_flag("/var/lib/costd/costd.db").unwrap().sqlite_path(),
            Some(Path::new("/var/lib/costd/costd.db"))
        );
        let c = StoreConfig::from_flag("postgresql://costd@127.0.0.1:5432/costd").unwrap();
        assert_eq!(c.describe(), "postgresql://costd@127.0.0.1:5432/costd");
        assert!(StoreConfig::from_flag("postgres://costd:pw@db/costd").is_err());
        assert!(StoreConfig::from_flag("").is_err());
        assert!(StoreConfig::from_flag(&"x".repeat(4097)).is_err());
        assert!(StoreConfig::from_flag(&"x".repeat(4096)).is_ok());
    }

    #[test]
    fn the_bill_check_is_off_by_default_and_runs_at_most_four_times_a_day() {
        assert_eq!(parse(MINIMAL).unwrap().bill_check_cron, None);
        let c = parse(&format!("{MINIMAL}[billing]\ncheck_cron = \"0 */6 * * *\"\n")).unwrap();
        assert_eq!(
            c.bill_check_cron.map(|c| c.as_str().to_string()).as_deref(),
            Some("0 */6 * * *")
        );
        // Every 5 hours: 00, 05, 10, 15, 20 = 5 a day, one too many.
        for (cron, times) in [("0 */5 * * *", 5), ("* * * * *", 1440), ("0,30 6,7,8 * * *", 6)] {
            let e = parse(&format!("{MINIMAL}[billing]\ncheck_cron = \"{cron}\"\n")).unwrap_err();
            assert_eq!((e.key.as_str(), e.line), ("billing.check_cron", 13), "{cron}: {e}");
            assert!(e.message.contains(&format!("fires {times} times a day")), "{e}");
            assert!(e.message.contains("at most 4 times a day"), "{e}");
        }
        let e = parse(&format!("{MINIMAL}[billing]\ncheck_cron = \"daily\"\n")).unwrap_err();
        assert!(e.message.contains("expected a 5-field cron expression"), "{e}");
    }

    #[test]
    fn urls_are_typed_and_checked() {
        let c = parse(&format!("{MINIMAL}[aws]\nendpoint_url = \"http://127.0.0.1:5000\"\n")).unwrap();
        let u = c.aws.endpoint_url.unwrap();
        assert_eq!((u.host_str(), u.port()), (Some("127.0.0.1"), Some(5000)));
        assert_eq!(
            crate::aws::endpoint(&u),
            "http://127.0.0.1:5000",
            "no trailing slash for the SDK"
        );
        for bad in ["http://", "ftp://example.com", "127.0.0.1:5000", "http//x", ""] {
            let e = parse(&format!("{MINIMAL}[aws]\nelb_endpoint_url = \"{bad}\"\n")).unwrap_err();
            assert_eq!((e.key.as_str(), e.line), ("aws.elb_endpoint_url", 13), "{bad}: {e}");
            assert!(e.message.contains("expected e.g. http://127.0.0.1:5000"), "{e}");
        }
        let e = parse(&format!("{MINIMAL}[pricing]\nendpoint_url = \"https://\"\n")).unwrap_err();
        assert_eq!(e.key, "pricing.endpoint_url");
        let e = parse(&format!("{MINIMAL}[[webhooks]]\nurl = \"mailto:ops@example.com\"\n")).unwrap_err();
        assert_eq!(e.key, "webhooks[0].url");
        // A path is kept as given.
        let c = parse(&format!(
            "{MINIMAL}[[webhooks]]\nurl = \"https://hooks.example.com/a/b?x=1\"\n"
        ))
        .unwrap();
        assert_eq!(c.webhooks[0].url.as_str(), "https://hooks.example.com/a/b?x=1");
        assert_eq!(c.webhooks[0].name, "https://hooks.example.com");
    }

    #[test]
    fn bad_values_name_the_key_and_what_is_valid() {
        let e = with("subnets = [\"subnet-0a1b2c3d4e5f60001\", ", "subnets = [");
        assert_eq!(e.key, "alb.subnets");
        assert!(e.message.contains("at least two subnets"), "{e}");
        let e = with("subnet-0a1b2c3d4e5f60001", "subnet-xyz");
        assert_eq!(e.key, "alb.subnets[0]");
        let e = with(
            "name_prefix = \"mlops-demo\"",
            "name_prefix = \"this-prefix-is-far-too-long-for-aws\"",
        );
        assert!(e.message.contains("1–23 letters"), "{e}");
        let e = with("duration = \"3h\"", "duration = \"13h\"");
        assert!(e.message.contains("longer than max_window_hours (12 h)"), "{e}");
        let e = with(
            "timezone = \"Asia/Singapore\"        #",
            "timezone = \"Mars/Olympus\" #",
        );
        assert_eq!(e.key, "deployment.timezone");
        let e = with("lead_minutes = 5", "lead_minutes = 500");
        assert!(e.message.contains("from 0 to 120"), "{e}");
        let e = with("\"2026-12-25\"", "\"2026-12-32\"");
        assert_eq!(e.key, "schedule.blackout_dates[0]");
        let e = with("safety_net_seconds = 60", "safety_net_second = 60");
        assert_eq!(e.key, "reconcile.safety_net_second");
        let e = with(
            "# endpoint_url = \"http://127.0.0.1:5000\"",
            "endpoint_url = \"localhost:5000\"",
        );
        assert!(e.message.contains("not a URL"), "{e}");
        let e = with("monthly_usd = 100", "monthly_usd = -5");
        assert_eq!(e.key, "budgets[0].monthly_usd");
        let e = with(
            "{ type = \"actual\", percent = 100 }",
            "{ type = \"actuals\", percent = 100 }",
        );
        assert!(e.message.contains("expected actual or forecast"), "{e}");
        let e = with("scope = \"all\" ", "scope = \"nat\" ");
        assert!(e.message.contains("all, network, alb, monitoring"), "{e}");
        let e = with(
            "{ type = \"forecast\", percent = 100 },",
            "{ type = \"forecast\", percent = 80 },",
        );
        assert!(e.message.contains("listed twice"), "{e}");
        let e = with("namespace = \"Costd\"", "namespace = \"AWS/Costd\"");
        assert!(e.message.contains("reserved"), "{e}");
        let e = with("network_option = \"endpoints_only\"", "network_option = \"nat\"");
        assert_eq!(e.key, "projection.network_option");
    }

    #[test]
    fn schedules_and_new_limits_are_bounded() {
        // The shipped weekday window fires once a day; every minute is 1,440 a day.
        let e = with("cron = \"0 9 * * Mon-Fri\"", "cron = \"* * * * *\"");
        assert_eq!(e.key, "schedule.windows[0].cron", "{e}");
        assert!(e.message.contains("1440 times a day"), "{e}");
        let one =
            "\n[[schedule.windows]]\nstart = \"2027-03-01T09:00:00+08:00\"\nend = \"2027-03-01T10:00:00+08:00\"\n";
        let src = EMBEDDED_DEFAULT.replacen("[reconcile]", &format!("{}\n[reconcile]", one.repeat(100)), 1);
        let e = parse(&src).unwrap_err();
        assert!(
            e.message.contains("101 schedule entries; the most allowed is 100"),
            "{e}"
        );
        let e = with("max_window_hours = 12", "max_window_hours = 12\nmax_days_ahead = 3661");
        assert_eq!(e.key, "schedule.max_days_ahead", "{e}");
        let e = with("max_body_bytes = 65536", "max_body_bytes = 65536\nmax_connections = 0");
        assert_eq!(e.key, "web.max_connections", "{e}");
        let e = with(
            "max_body_bytes = 65536",
            "max_body_bytes = 65536\nheader_read_timeout_seconds = 301",
        );
        assert_eq!(e.key, "web.header_read_timeout_seconds", "{e}");
        let e = with("max_body_bytes = 65536", "max_body_bytes = 65536\ntls_cert = \"c.pem\"");
        assert!(e.message.contains("both `tls_cert` and `tls_key`"), "{e}");
        let e = with("[reconcile]", "[retention]\ndecisions_days = 0\n\n[reconcile]");
        assert_eq!(e.key, "retention.decisions_days", "{e}");
        let ok =
            parse(&EMBEDDED_DEFAULT.replacen("max_window_hours = 12", "max_window_hours = 12\nmax_days_ahead = 30", 1))
                .unwrap();
        assert_eq!(ok.schedule.max_ahead, chrono::Duration::days(30));
        let d = parse(EMBEDDED_DEFAULT).unwrap();
        assert_eq!(
            (
                d.schedule.max_ahead.num_days(),
                d.web.max_connections,
                d.web.header_read_timeout.as_secs()
            ),
            (366, 512, 10)
        );
        assert_eq!(d.retention.decisions, chrono::Duration::days(90));
    }

    #[test]
    fn webhooks_are_named_without_their_url_and_names_are_unique() {
        let hook =
            |extra: &str| format!("\n[[webhooks]]\nurl = \"https://hooks.example.com/services/T0/SECRET\"\n{extra}");
        let src = format!("{EMBEDDED_DEFAULT}{}", hook(""));
        let cfg = parse(&src).unwrap();
        assert_eq!(cfg.webhooks[0].channel(), "webhook:https://hooks.example.com");
        assert_eq!(cfg.webhooks[0].max_attempts, 10);
        let debug = format!("{:?}", cfg.webhooks[0]);
        assert!(!debug.contains("SECRET"), "{debug}");
        let e = parse(&format!("{EMBEDDED_DEFAULT}{}{}", hook(""), hook(""))).unwrap_err();
        assert!(e.message.contains("give each a `name`"), "{e}");
        assert!(
            parse(&format!(
                "{EMBEDDED_DEFAULT}{}{}",
                hook(""),
                hook("name = \"second\"\n")
            ))
            .is_ok()
        );
        let e = parse(&format!(
            "{EMBEDDED_DEFAULT}\n[[webhooks]]\nurl_env = \"COSTD_TEST_UNSET_HOOK_VAR\"\n"
        ))
        .unwrap_err();
        assert_eq!(e.key, "webhooks[0].url_env", "{e}");
        let e = parse(&format!("{EMBEDDED_DEFAULT}{}", hook("max_attempts = 0\n"))).unwrap_err();
        assert_eq!(e.key, "webhooks[0].max_attempts", "{e}");
    }

    #[test]
    fn event_timings_are_bounded() {
        let ev = |body: &str| parse(&format!("{MINIMAL}[events]\n{body}\n"));
        let d = parse(MINIMAL).unwrap().events;
        assert_eq!(d.window_soon, Some(chrono::Duration::minutes(15)));
        assert_eq!(d.reconcile_failing_after, chrono::Duration::seconds(300));
        assert_eq!(
            ev("window_soon_minutes = 0").unwrap().events.window_soon,
            None,
            "0: never"
        );
        assert_eq!(
            ev("window_soon_minutes = 1440").unwrap().events.window_soon,
            Some(chrono::Duration::minutes(1440))
        );
        assert_eq!(
            ev("window_soon_minutes = 1441").unwrap_err().key,
            "events.window_soon_minutes"
        );
        for ok in ["10", "86400"] {
            assert!(ev(&format!("reconcile_failing_after_seconds = {ok}")).is_ok(), "{ok}");
        }
        for bad in ["9", "86401"] {
            let e = ev(&format!("reconcile_failing_after_seconds = {bad}")).unwrap_err();
            assert_eq!(e.key, "events.reconcile_failing_after_seconds", "{bad}");
        }
        assert_eq!(
            ev("window_soon = 5").unwrap_err().key,
            "events.window_soon",
            "unknown keys are refused"
        );
    }

    #[test]
    fn notify_destinations_take_their_secrets_from_the_environment() {
        use crate::event::{Event, EventKind, Severity};
        // SAFETY: variables only this test reads.
        unsafe {
            std::env::set_var(
                "COSTD_TEST_NOTIFY_SLACK",
                "https://hooks.slack.com/services/T0/B0/SECRETSECRET",
            );
            std::env::set_var("COSTD_TEST_NOTIFY_PD", "0123456789abcdef0123456789ABCDEF");
            std::env::set_var("COSTD_TEST_NOTIFY_PD_BAD", "short");
        }
        let src = |extra: &str| format!("{MINIMAL}{extra}");
        let ok = parse(&src(
            "[[notify]]\nkind = \"slack\"\nurl_env = \"COSTD_TEST_NOTIFY_SLACK\"\nkinds = [\"alb_ready\", \"budget_alarm\"]\n\
             [[notify]]\nname = \"oncall\"\nkind = \"pagerduty\"\nrouting_key_env = \"COSTD_TEST_NOTIFY_PD\"\n",
        ))
        .unwrap();
        let (slack, pd) = (&ok.notify[0], &ok.notify[1]);
        assert_eq!((slack.name.as_str(), slack.kind), ("slack", DestinationKind::Slack));
        assert_eq!(pd.url.as_str(), PAGERDUTY_EVENTS_URL);
        assert_eq!(pd.min_severity, Severity::Warning, "paging starts at warning");
        let debug = format!("{ok:?}");
        assert!(
            !debug.contains("SECRET") && !debug.contains("0123456789abcdef"),
            "{debug}"
        );
        // Filters: kinds and severity; an event closing a condition follows its opening kind.
        let at = chrono::Utc::now();
        let e = |kind, sev| Event::new("i".into(), kind, sev, at, "d", "t".into());
        assert!(slack.wants(&e(EventKind::AlbReady, Severity::Info)));
        assert!(!slack.wants(&e(EventKind::AlbDeleted, Severity::Info)));
        assert!(slack.wants(&e(EventKind::BudgetOk, Severity::Info).condition("k".into(), false)));
        assert!(!pd.wants(&e(EventKind::AlbReady, Severity::Info)));
        assert!(pd.wants(&e(EventKind::BudgetAlarm, Severity::Warning)));
        assert!(
            pd.wants(&e(EventKind::BudgetOk, Severity::Info).condition("k".into(), false)),
            "resolves"
        );

        for (extra, key, says) in [
            (
                "[[notify]]\nkind = \"slack\"\nurl = \"https://hooks.slack.com/x\"\n",
                "notify[0].url",
                "is a secret",
            ),
            (
                "[[notify]]\nkind = \"email\"\n",
                "notify[0].kind",
                "expected slack, teams, pagerduty or webhook",
            ),
            ("[[notify]]\nkind = \"teams\"\n", "notify[0].url_env", "give `url_env`"),
            (
                "[[notify]]\nkind = \"pagerduty\"\n",
                "notify[0].routing_key_env",
                "give `routing_key_env`",
            ),
            (
                "[[notify]]\nkind = \"pagerduty\"\nrouting_key_env = \"COSTD_TEST_NOTIFY_PD_BAD\"\n",
                "notify[0].routing_key_env",
                "not a PagerDuty routing key",
            ),
            (
                "[[notify]]\nkind = \"slack\"\nurl_env = \"COSTD_TEST_NOTIFY_UNSET\"\n",
                "notify[0].url_env",
                "is not set",
            ),
            (
                "[[notify]]\nkind = \"slack\"\nurl_env = \"COSTD_TEST_NOTIFY_SLACK\"\nkinds = [\"alb_up\"]\n",
                "notify[0].kinds[0]",
                "expected one of budget_alarm",
            ),
            (
                "[[notify]]\nkind = \"slack\"\nurl_env = \"COSTD_TEST_NOTIFY_SLACK\"\nkinds = []\n",
                "notify[0].kinds",
                "sends nothing",
            ),
            (
                "[[notify]]\nkind = \"slack\"\nurl_env = \"COSTD_TEST_NOTIFY_SLACK\"\nmin_severity = \"high\"\n",
                "notify[0].min_severity",
                "info, warning or critical",
            ),
            (
                "[[notify]]\nkind = \"slack\"\nurl_env = \"COSTD_TEST_NOTIFY_SLACK\"\nsecret_env = \"X\"\n",
                "notify[0].secret_env",
                "only a webhook",
            ),
            (
                "[[notify]]\nkind = \"slack\"\nurl_env = \"COSTD_TEST_NOTIFY_SLACK\"\n[[notify]]\nkind = \"slack\"\nurl_env = \"COSTD_TEST_NOTIFY_SLACK\"\n",
                "notify[1]",
                "give each a `name`",
            ),
            (
                "[[notify]]\nkind = \"webhook\"\nurl = \"https://x.example.com/\"\ntimeout_seconds = 61\n",
                "notify[0].timeout_seconds",
                "",
            ),
        ] {
            let e = parse(&src(extra)).unwrap_err();
            assert_eq!(e.key, key, "{extra}: {e}");
            assert!(e.message.contains(says), "{extra}: {e}");
            assert!(!e.message.contains("SECRET"), "{e}");
        }
        // Each number and name at its limit, and one past it.
        let hook = |extra: &str| {
            parse(&src(&format!(
                "[[notify]]\nkind = \"webhook\"\nurl = \"https://x.example.com/\"\n{extra}\n"
            )))
        };
        for (ok, bad, key) in [
            ("timeout_seconds = 60", "timeout_seconds = 61", "timeout_seconds"),
            ("max_attempts = 100", "max_attempts = 101", "max_attempts"),
            ("timeout_seconds = 1", "timeout_seconds = 0", "timeout_seconds"),
            ("max_attempts = 1", "max_attempts = 0", "max_attempts"),
        ] {
            assert!(hook(ok).is_ok(), "{ok}");
            assert_eq!(hook(bad).unwrap_err().key, format!("notify[0].{key}"), "{bad}");
        }
        assert!(hook(&format!("name = \"{}\"", "n".repeat(64))).is_ok());
        assert_eq!(
            hook(&format!("name = \"{}\"", "n".repeat(65))).unwrap_err().key,
            "notify[0].name"
        );
        let all = crate::event::EventKind::ALL
            .map(|k| format!("\"{}\"", k.as_str()))
            .join(", ");
        assert!(hook(&format!("kinds = [{all}]")).is_ok(), "every kind once");
        let e = hook(&format!("kinds = [{all}, \"test\"]")).unwrap_err();
        assert_eq!(e.key, "notify[0].kinds", "{e}");
        assert!(e.message.contains("11 entries"), "{e}");
        // At most 20 destinations.
        let many = |n: usize| {
            (0..n)
                .map(|i| format!("[[notify]]\nname = \"w{i}\"\nkind = \"webhook\"\nurl = \"https://x.example.com/\"\n"))
                .collect::<String>()
        };
        assert_eq!(parse(&src(&many(20))).unwrap().notify.len(), 20);
        let e = parse(&src(&many(21))).unwrap_err();
        assert!(e.message.contains("at most 20"), "{e}");
    }

    #[test]
    fn one_off_windows_must_fit_and_avoid_blackouts() {
        let one_off = |s: &str, e: &str| {
            EMBEDDED_DEFAULT.replacen(
                "[[schedule.windows]]\ncron = \"0 9 * * Mon-Fri\"",
                &format!("[[schedule.windows]]\nstart = \"{s}\"\nend = \"{e}\"\n\n[[schedule.windows]]\ncron = \"0 9 * * Mon-Fri\""),
                1,
            )
        };
        let ok = parse(&one_off("2026-12-03T09:00:00+08:00", "2026-12-03T12:00:00+08:00")).unwrap();
        assert_eq!(ok.schedule.windows.len(), 2);
        let e = parse(&one_off("2026-12-25T09:00:00+08:00", "2026-12-25T10:00:00+08:00")).unwrap_err();
        assert!(e.message.contains("overlaps a blackout"), "{e}");
        let e = parse(&one_off("2026-12-03T12:00:00+08:00", "2026-12-03T09:00:00+08:00")).unwrap_err();
        assert!(e.message.contains("end after it starts"), "{e}");
        let e = parse(&one_off("2026-12-03T00:00:00+08:00", "2026-12-03T13:00:00+08:00")).unwrap_err();
        assert!(e.message.contains("longer than max_window_hours"), "{e}");
    }

    #[test]
    fn an_ics_file_adds_blackouts_and_its_errors_name_its_line() {
        let dir = std::env::temp_dir().join(format!("costd-config-ics-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("h.ics"),
            "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261231\nEND:VEVENT\n",
        )
        .unwrap();
        std::fs::write(dir.join("bad.ics"), "BEGIN:VEVENT\nDTSTART:nope\nEND:VEVENT\n").unwrap();
        let src = EMBEDDED_DEFAULT.replacen(
            "# blackout_ics = \"config/holidays.ics\"",
            "blackout_ics = \"h.ics\"",
            1,
        );
        let c = Config::parse("c.toml", &src, &dir).unwrap();
        assert_eq!(c.schedule.blackouts.len(), 3);
        let src = src.replacen("h.ics", "bad.ics", 1);
        let e = Config::parse("c.toml", &src, &dir).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(e.file.ends_with("bad.ics") && e.line == 2, "{e}");
    }
}
