//! The daemon's configuration (`config/costd.toml`): the deployment, the ALB
//! it owns, the demo windows and blackouts, the store and AWS endpoint.
//! Parsed once at start into typed values; every error names file, line, key.

use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;

use rust_decimal::Decimal;

use crate::budget::{Budget, Component, Threshold, ThresholdKind};
use crate::cost::network::OptionName;
use crate::input::{Document, InputError, TableReader, Value};
use crate::pricing::is_region_code;
use crate::scenario::{EMBEDDED_SEED, Scenario};
use crate::scenario::{parse_instant, parse_timezone};
use crate::schedule::blackout::{Blackouts, parse_ics};
use crate::schedule::{CronExpr, Interval, RecurringWindow, WindowSpec, parse_duration};

/// The embedded default config: dry-run, no AWS account needed.
pub const EMBEDDED_DEFAULT: &str = include_str!("../config/costd.toml");

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
    /// Where the SQLite store lives.
    pub store_path: PathBuf,
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
    /// How long decisions, transitions and notifications are kept.
    pub retention: crate::store::Retention,
    /// The dashboard and JSON API.
    pub web: WebConfig,
    /// Scheduled price refresh from the AWS Price List.
    pub pricing: PricingConfig,
}

/// Scheduled refresh of the price table from the Price List Query API.
#[derive(Debug, Clone, PartialEq)]
pub struct PricingConfig {
    /// 5-field cron (UTC) for the refresh; `None`: off (the default).
    pub refresh_cron: Option<CronExpr>,
    /// Where the Price List API is served: us-east-1, eu-central-1 or ap-south-1.
    pub api_region: String,
    /// Endpoint override for GetProducts.
    pub endpoint_url: Option<String>,
    /// Also write the refreshed table to `pricing_dir/<region>.toml`.
    pub write: bool,
}

/// Who may do what over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Read everything (finance).
    Viewer,
    /// Also create and cancel windows and trigger a reconcile (ops).
    Operator,
}

impl Role {
    /// Name in config and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
        }
    }
}

/// An API token.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Who it belongs to (logged; the secret never is).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The secret.
    pub secret: String,
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ApiToken {{ name: {:?}, role: {:?}, secret: <hidden> }}",
            self.name, self.role
        )
    }
}

/// The HTTP server.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Whether to serve at all.
    pub enabled: bool,
    /// Address to listen on (`127.0.0.1:8080`; port 0 picks one).
    pub listen: std::net::SocketAddr,
    /// Whether `GET /` is readable without a token (read-only).
    pub public_dashboard: bool,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Tokens.
    pub tokens: Vec<ApiToken>,
    /// Connections served at once; more wait in the accept queue.
    pub max_connections: usize,
    /// Time for a request's headers to arrive; also ends idle keep-alive connections.
    pub header_read_timeout: std::time::Duration,
    /// Time for a whole request (body and handler); then 408.
    pub request_timeout: std::time::Duration,
    /// How long shutdown waits for open connections before closing them.
    pub shutdown_timeout: std::time::Duration,
    /// PEM certificate chain and private key: serve HTTPS instead of HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Mark the session cookie `Secure` (always so with `tls`; set it behind a TLS proxy).
    pub secure_cookies: bool,
    /// Model and off-month projection requests computed at once; more get 429.
    pub expensive_concurrency: usize,
    /// How long one of those may take; then 503.
    pub expensive_timeout: std::time::Duration,
    /// Sign-in attempts a client address may make per minute; more get 429.
    pub login_attempts_per_minute: u32,
}

/// The projection's inputs besides the ledger and the schedule.
#[derive(Debug, Clone)]
pub struct ProjectionConfig {
    /// Zone the calendar month is taken in.
    pub timezone: Tz,
    /// The scenario giving the network traffic, the ALB's traffic profile and costd's CloudWatch use.
    pub scenario: Scenario,
    /// Which egress option is deployed (its line items are the network baseline).
    pub network_option: OptionName,
    /// Recompute at least this often.
    pub recompute_seconds: u32,
}

/// CloudWatch publishing and alarms.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudWatchConfig {
    /// Publish metrics and manage alarms (off in dry-run regardless).
    pub enabled: bool,
    /// Metric namespace.
    pub namespace: String,
    /// Publish at least this often.
    pub publish_seconds: u32,
    /// SNS topic ARNs for the alarms' ALARM and OK actions.
    pub alarm_actions: Vec<String>,
}

/// One webhook: where to POST budget notifications.
#[derive(Clone, PartialEq)]
pub struct WebhookConfig {
    /// Its name in the outbox, the logs and the API (`webhook:<name>`);
    /// by default the URL's scheme and host, never the whole URL.
    pub name: String,
    /// The URL (from `url` or the environment variable `url_env`). Often a
    /// secret: never logged or stored.
    pub url: String,
    /// HMAC-SHA256 key for the `X-Costd-Signature` header (from `secret_env`).
    pub secret: Option<String>,
    /// Seconds one attempt may take.
    pub timeout_seconds: u32,
    /// Attempts before the notification becomes a dead letter.
    pub max_attempts: u32,
}

impl WebhookConfig {
    /// The outbox channel: `webhook:<name>`.
    pub fn channel(&self) -> String {
        format!("webhook:{}", self.name)
    }
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("name", &self.name)
            .field("url", &crate::redact::url(&self.url))
            .field("signed", &self.secret.is_some())
            .field("timeout_seconds", &self.timeout_seconds)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

/// AWS client settings; credentials come from the standard chain.
#[derive(Debug, Clone, Default)]
pub struct AwsConfig {
    /// Send every call here instead of AWS (an emulator, a VPC endpoint).
    pub endpoint_url: Option<String>,
    /// Override for Elastic Load Balancing only.
    pub elb_endpoint_url: Option<String>,
    /// Override for CloudWatch only.
    pub cloudwatch_endpoint_url: Option<String>,
}

impl AwsConfig {
    /// The settings for ELBv2 calls.
    pub fn for_elb(&self) -> AwsConfig {
        AwsConfig {
            endpoint_url: self.elb_endpoint_url.clone().or(self.endpoint_url.clone()),
            ..Default::default()
        }
    }

    /// The settings for CloudWatch calls.
    pub fn for_cloudwatch(&self) -> AwsConfig {
        AwsConfig {
            endpoint_url: self.cloudwatch_endpoint_url.clone().or(self.endpoint_url.clone()),
            ..Default::default()
        }
    }
}

/// The ALB costd creates for a window, after seed 000.
#[derive(Debug, Clone, PartialEq)]
pub struct AlbConfig {
    /// Names are `<name_prefix>-<8 hex>`: at most 23 characters, letters, digits, hyphens.
    pub name_prefix: String,
    /// `internet-facing` (default) or `internal`.
    pub internet_facing: bool,
    /// Subnet IDs, at least two in different AZs.
    pub subnets: Vec<String>,
    /// Security group IDs.
    pub security_groups: Vec<String>,
    /// The target group.
    pub target_group: TargetGroupConfig,
    /// Optional HTTPS listener (and HTTP→HTTPS redirect).
    pub https: Option<HttpsConfig>,
}

/// The target group behind the ALB.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetGroupConfig {
    /// VPC of the targets.
    pub vpc_id: String,
    /// Target port (HTTP).
    pub port: u16,
    /// Health check path.
    pub health_check_path: String,
    /// HTTP codes that count as healthy, e.g. "200".
    pub success_codes: String,
    /// IP targets to register: (ip, port).
    pub targets: Vec<(String, u16)>,
}

/// HTTPS on 443 with an ACM certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpsConfig {
    /// ACM certificate ARN.
    pub certificate_arn: String,
    /// Whether HTTP 80 redirects to HTTPS instead of forwarding.
    pub redirect_http: bool,
}

/// Demo windows and the rules around them.
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    /// Create the ALB this long before a window opens (DNS ready at the start).
    pub lead: Duration,
    /// Keep it this long after a window closes.
    pub grace: Duration,
    /// Longest allowed window.
    pub max_window: Duration,
    /// How far ahead a stored window may start (`max_days_ahead`).
    pub max_ahead: Duration,
    /// Keep the ALB through a gap when that is not dearer than re-creating it.
    pub coalesce: bool,
    /// Windows from the config file.
    pub windows: Vec<WindowSpec>,
    /// Days and spans on which recurring windows do not open.
    pub blackouts: Blackouts,
}

/// Reconcile timing.
#[derive(Debug, Clone)]
pub struct ReconcileConfig {
    /// Safety-net reconcile every this many seconds (besides planned edges).
    pub safety_net_seconds: u32,
}

impl ScheduleConfig {
    /// What a new one-off window must satisfy.
    pub fn window_limits(&self) -> crate::schedule::WindowLimits<'_> {
        crate::schedule::WindowLimits {
            max_window: self.max_window,
            max_ahead: self.max_ahead,
            blackouts: &self.blackouts,
        }
    }
}

impl Config {
    /// Parses config text. `base` resolves relative paths (store, .ics, pricing);
    /// [`Config::load`] uses the working directory, as most daemons do.
    pub fn parse(file: &str, src: &str, base: &Path) -> Result<Self, InputError> {
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

        let aws = match root.get("aws") {
            Some(v) => {
                let t = v.table()?;
                let opt_url = |k: &str| t.get(k).map(|e| url(&e)).transpose();
                let aws = AwsConfig {
                    endpoint_url: opt_url("endpoint_url")?,
                    elb_endpoint_url: opt_url("elb_endpoint_url")?,
                    cloudwatch_endpoint_url: opt_url("cloudwatch_endpoint_url")?,
                };
                t.finish()?;
                aws
            }
            None => AwsConfig::default(),
        };

        let store_path = match root.get("store") {
            Some(v) => {
                let t = v.table()?;
                let p = base.join(t.require("path")?.str()?);
                t.finish()?;
                p
            }
            None => base.join("costd.db"),
        };

        let alb = alb(&root.require("alb")?.table()?)?;
        let schedule = schedule(&root.require("schedule")?.table()?, timezone, base)?;

        let reconcile = match root.get("reconcile") {
            Some(v) => {
                let t = v.table()?;
                let s = t
                    .get("safety_net_seconds")
                    .map(|v| v.u32_in(5, 3600))
                    .transpose()?
                    .unwrap_or(60);
                t.finish()?;
                ReconcileConfig { safety_net_seconds: s }
            }
            None => ReconcileConfig { safety_net_seconds: 60 },
        };
        let pricing_dir = root
            .get("pricing_dir")
            .map(|v| v.str().map(|s| base.join(s)))
            .transpose()?;
        let projection = projection(root.get("projection"), timezone, base)?;
        let budgets_v = root.get("budgets").map(|v| v.items()).transpose()?.unwrap_or_default();
        let budgets = budgets_v.iter().map(budget).collect::<Result<Vec<_>, _>>()?;
        let mut names = std::collections::BTreeSet::new();
        for (b, v) in budgets.iter().zip(&budgets_v) {
            if !names.insert(b.name.clone()) {
                return Err(v.error(format!("budget `{}` is defined twice; names must be unique", b.name)));
            }
        }
        let cloudwatch = cloudwatch(root.get("cloudwatch"))?;
        let webhooks = match root.get("webhooks") {
            Some(v) => v
                .items()?
                .iter()
                .map(|w| {
                    let t = w.table()?;
                    let url = match (t.get("url"), t.get("url_env")) {
                        (Some(u), None) => url(&u)?,
                        (None, Some(e)) => {
                            let var = e.str()?;
                            let u = std::env::var(&var)
                                .map_err(|_| e.error(format!("environment variable {var} is not set")))?;
                            if !(u.starts_with("http://") || u.starts_with("https://")) {
                                return Err(e.error(format!("{var} is not an http(s) URL")));
                            }
                            u
                        }
                        _ => return Err(t.error("url", "give exactly one of `url` or `url_env`")),
                    };
                    let secret = match t.get("secret_env") {
                        Some(e) => {
                            let var = e.str()?;
                            let s = std::env::var(&var)
                                .map_err(|_| e.error(format!("environment variable {var} is not set")))?;
                            if s.len() < 16 {
                                return Err(e.error(format!("{var} must hold at least 16 characters")));
                            }
                            Some(s)
                        }
                        None => None,
                    };
                    let name = match t.get("name") {
                        Some(n) => {
                            let s = n.str()?;
                            if s.is_empty() || s.len() > 64 || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
                                return Err(n.error("1–64 characters, no spaces"));
                            }
                            s
                        }
                        None => crate::redact::url(&url),
                    };
                    let timeout_seconds = t
                        .get("timeout_seconds")
                        .map(|v| v.u32_in(1, 60))
                        .transpose()?
                        .unwrap_or(5);
                    let max_attempts = t
                        .get("max_attempts")
                        .map(|v| v.u32_in(1, 100))
                        .transpose()?
                        .unwrap_or(10);
                    t.finish()?;
                    Ok(WebhookConfig {
                        name,
                        url,
                        secret,
                        timeout_seconds,
                        max_attempts,
                    })
                })
                .collect::<Result<Vec<_>, InputError>>()?,
            None => Vec::new(),
        };
        if let Some(v) = root.get("webhooks") {
            let mut seen = std::collections::BTreeSet::new();
            for (w, item) in webhooks.iter().zip(v.items()?) {
                if !seen.insert(w.name.clone()) {
                    return Err(item.error(format!(
                        "two webhooks are named `{}` (by default a webhook is named after its scheme and host); give each a `name`",
                        w.name
                    )));
                }
            }
        }
        let retention = match root.get("retention") {
            Some(v) => {
                let t = v.table()?;
                let days = |key: &str, default: u32| -> Result<chrono::Duration, InputError> {
                    let d = t.get(key).map(|v| v.u32_in(1, 3650)).transpose()?.unwrap_or(default);
                    Ok(chrono::Duration::days(i64::from(d)))
                };
                let r = crate::store::Retention {
                    decisions: days("decisions_days", 90)?,
                    transitions: days("transitions_days", 400)?,
                    notifications: days("notifications_days", 30)?,
                };
                t.finish()?;
                r
            }
            None => crate::store::Retention {
                decisions: chrono::Duration::days(90),
                transitions: chrono::Duration::days(400),
                notifications: chrono::Duration::days(30),
            },
        };
        let web = web(root.get("web"), base)?;
        let pricing = match root.get("pricing") {
            Some(v) => {
                let t = v.table()?;
                let refresh_cron = match t.get("refresh_cron") {
                    Some(c) => Some(
                        c.r()
                            .parse_with("a 5-field cron expression such as \"0 3 * * *\"", CronExpr::parse)?,
                    ),
                    None => None,
                };
                let api_region = match t.get("api_region") {
                    Some(r) => {
                        let s = r.str()?;
                        if !["us-east-1", "eu-central-1", "ap-south-1"].contains(&s.as_str()) {
                            return Err(r.error(format!("`{s}` does not serve the Price List API; expected us-east-1, eu-central-1 or ap-south-1")));
                        }
                        s
                    }
                    None => "us-east-1".into(),
                };
                let endpoint_url = t.get("endpoint_url").map(|e| url(&e)).transpose()?;
                let write = t.get("write").map(|w| w.bool()).transpose()?.unwrap_or(false);
                t.finish()?;
                PricingConfig {
                    refresh_cron,
                    api_region,
                    endpoint_url,
                    write,
                }
            }
            None => PricingConfig {
                refresh_cron: None,
                api_region: "us-east-1".into(),
                endpoint_url: None,
                write: false,
            },
        };
        root.finish()?;
        Ok(Config {
            deployment,
            region,
            timezone,
            dry_run,
            aws,
            store_path,
            alb,
            schedule,
            reconcile,
            pricing_dir,
            projection,
            budgets,
            cloudwatch,
            webhooks,
            retention,
            web,
            pricing,
        })
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Self, InputError> {
        let src = std::fs::read_to_string(path).map_err(|e| InputError {
            file: path.display().to_string(),
            line: 0,
            key: String::new(),
            message: format!("cannot read config: {e}"),
        })?;
        Config::parse(&path.display().to_string(), &src, Path::new("."))
    }
}

fn projection(v: Option<Value>, default_tz: Tz, base: &Path) -> Result<ProjectionConfig, InputError> {
    let regions = crate::pricing::load::EMBEDDED
        .iter()
        .map(|(r, _)| *r)
        .collect::<Vec<_>>();
    let embedded = || {
        Scenario::parse(
            "<embedded>/config/scenarios/seed-production-vpc.toml",
            EMBEDDED_SEED,
            &regions,
        )
    };
    let Some(v) = v else {
        return Ok(ProjectionConfig {
            timezone: default_tz,
            scenario: embedded()?,
            network_option: OptionName::EndpointsOnly,
            recompute_seconds: 300,
        });
    };
    let t = v.table()?;
    let timezone = match t.get("timezone") {
        Some(z) => z
            .r()
            .parse_with("an IANA zone such as \"UTC\"", crate::scenario::parse_timezone)?,
        None => default_tz,
    };
    let scenario = match t.get("scenario") {
        Some(s) => {
            let path = base.join(s.str()?);
            let src =
                std::fs::read_to_string(&path).map_err(|e| s.error(format!("cannot read {}: {e}", path.display())))?;
            Scenario::parse(&path.display().to_string(), &src, &regions)?
        }
        None => embedded()?,
    };
    let network_option = match t.get("network_option") {
        Some(o) => match o.str()?.as_str() {
            "endpoints_only" => OptionName::EndpointsOnly,
            "hybrid" => OptionName::Hybrid,
            "nat_per_az" => OptionName::NatPerAz,
            "nat_single" => OptionName::NatSingle,
            other => {
                return Err(o.error(format!(
                    "`{other}` is not valid; expected one of: endpoints_only, hybrid, nat_per_az, nat_single"
                )));
            }
        },
        None => OptionName::EndpointsOnly,
    };
    let recompute_seconds = t
        .get("recompute_seconds")
        .map(|v| v.u32_in(10, 86400))
        .transpose()?
        .unwrap_or(300);
    t.finish()?;
    Ok(ProjectionConfig {
        timezone,
        scenario,
        network_option,
        recompute_seconds,
    })
}

fn budget(v: &Value) -> Result<Budget, InputError> {
    let t = v.table()?;
    let name_v = t.require("name")?;
    let name = name_v.str()?;
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(name_v.error("1–64 letters, digits, '-' or '_' (it is part of the alarm names)"));
    }
    let amount_v = t.require("monthly_usd")?;
    let monthly_usd = amount_v.decimal()?;
    if monthly_usd <= Decimal::ZERO {
        return Err(amount_v.error(format!("must be more than 0, found {monthly_usd}")));
    }
    let scope = match t.get("scope") {
        Some(s) => match s.str()?.as_str() {
            "all" => None,
            other => Some(
                Component::ALL
                    .into_iter()
                    .find(|c| c.as_str() == other)
                    .ok_or_else(|| {
                        s.error(format!(
                            "`{other}` is not valid; expected one of: all, network, alb, monitoring"
                        ))
                    })?,
            ),
        },
        None => None,
    };
    let th_v = t.require("thresholds")?;
    let mut thresholds: Vec<Threshold> = Vec::new();
    for item in th_v.items()? {
        let tt = item.table()?;
        let kind_v = tt.require("type")?;
        let kind = match kind_v.str()?.as_str() {
            "actual" => ThresholdKind::Actual,
            "forecast" => ThresholdKind::Forecast,
            other => return Err(kind_v.error(format!("`{other}` is not valid; expected actual or forecast"))),
        };
        let pv = tt.require("percent")?;
        let percent = pv.decimal()?;
        if percent <= Decimal::ZERO || percent > Decimal::from(1000) {
            return Err(pv.error(format!("must be more than 0 and at most 1000, found {percent}")));
        }
        tt.finish()?;
        let th = Threshold {
            kind,
            percent: percent.normalize(),
        };
        if thresholds.contains(&th) {
            return Err(item.error("the same threshold is listed twice"));
        }
        thresholds.push(th);
    }
    if thresholds.is_empty() {
        return Err(th_v.error("a budget needs at least one threshold, e.g. { type = \"forecast\", percent = 100 }"));
    }
    t.finish()?;
    Ok(Budget {
        name,
        monthly_usd,
        scope,
        thresholds,
    })
}

fn cloudwatch(v: Option<Value>) -> Result<CloudWatchConfig, InputError> {
    let default = CloudWatchConfig {
        enabled: false,
        namespace: "Costd".into(),
        publish_seconds: 300,
        alarm_actions: Vec::new(),
    };
    let Some(v) = v else { return Ok(default) };
    let t = v.table()?;
    let enabled = t.get("enabled").map(|v| v.bool()).transpose()?.unwrap_or(true);
    let namespace = match t.get("namespace") {
        Some(n) => {
            let s = n.str()?;
            if s.is_empty() || s.len() > 255 || s.starts_with("AWS/") || s.starts_with(':') {
                return Err(n.error("1–255 characters, not starting with \"AWS/\" (reserved for AWS)"));
            }
            s
        }
        None => default.namespace,
    };
    let publish_seconds = t
        .get("publish_seconds")
        .map(|v| v.u32_in(10, 86400))
        .transpose()?
        .unwrap_or(300);
    let alarm_actions = match t.get("alarm_actions") {
        Some(a) => strings(&a, "an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)", |s| {
            s.starts_with("arn:aws") && s.contains(":sns:")
        })?,
        None => Vec::new(),
    };
    t.finish()?;
    Ok(CloudWatchConfig {
        enabled,
        namespace,
        publish_seconds,
        alarm_actions,
    })
}

fn web(v: Option<Value>, base: &Path) -> Result<WebConfig, InputError> {
    use std::time::Duration as Std;
    let mut w = WebConfig {
        enabled: true,
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
        public_dashboard: false,
        max_body_bytes: 64 * 1024,
        tokens: Vec::new(),
        max_connections: 512,
        header_read_timeout: Std::from_secs(10),
        request_timeout: Std::from_secs(30),
        shutdown_timeout: Std::from_secs(10),
        tls: None,
        secure_cookies: false,
        expensive_concurrency: 2,
        expensive_timeout: Std::from_secs(10),
        login_attempts_per_minute: 10,
    };
    let Some(v) = v else { return Ok(w) };
    let t = v.table()?;
    if let Some(e) = t.get("enabled") {
        w.enabled = e.bool()?;
    }
    if let Some(l) = t.get("listen") {
        let s = l.str()?;
        w.listen = s.parse().map_err(|_| {
            l.error(format!(
                "`{s}` is not an address; expected e.g. 127.0.0.1:8080 or 0.0.0.0:8080"
            ))
        })?;
    }
    if let Some(p) = t.get("public_dashboard") {
        w.public_dashboard = p.bool()?;
    }
    if let Some(m) = t.get("max_body_bytes") {
        w.max_body_bytes = m.u32_in(1024, 16 * 1024 * 1024)? as usize;
    }
    let secs = |key: &str, min: u32, max: u32, default: Std| -> Result<Std, InputError> {
        Ok(match t.get(key) {
            Some(v) => Std::from_secs(u64::from(v.u32_in(min, max)?)),
            None => default,
        })
    };
    w.header_read_timeout = secs("header_read_timeout_seconds", 1, 300, w.header_read_timeout)?;
    w.request_timeout = secs("request_timeout_seconds", 1, 600, w.request_timeout)?;
    w.shutdown_timeout = secs("shutdown_timeout_seconds", 0, 300, w.shutdown_timeout)?;
    w.expensive_timeout = secs("expensive_timeout_seconds", 1, 300, w.expensive_timeout)?;
    if let Some(m) = t.get("max_connections") {
        w.max_connections = m.u32_in(1, 65_535)? as usize;
    }
    if let Some(m) = t.get("expensive_concurrency") {
        w.expensive_concurrency = m.u32_in(1, 64)? as usize;
    }
    if let Some(m) = t.get("login_attempts_per_minute") {
        w.login_attempts_per_minute = m.u32_in(1, 1000)?;
    }
    match (t.get("tls_cert"), t.get("tls_key")) {
        (Some(c), Some(k)) => w.tls = Some((base.join(c.str()?), base.join(k.str()?))),
        (None, None) => {}
        (Some(_), None) => return Err(t.error("tls_key", "give both `tls_cert` and `tls_key`, or neither")),
        (None, Some(_)) => return Err(t.error("tls_cert", "give both `tls_cert` and `tls_key`, or neither")),
    }
    w.secure_cookies = t.get("secure_cookies").map(|v| v.bool()).transpose()?.unwrap_or(false) || w.tls.is_some();
    if let Some(list) = t.get("tokens") {
        for item in list.items()? {
            let tt = item.table()?;
            let name = tt.require("name")?.str()?;
            let role_v = tt.require("role")?;
            let role = match role_v.str()?.as_str() {
                "viewer" => Role::Viewer,
                "operator" => Role::Operator,
                other => return Err(role_v.error(format!("`{other}` is not valid; expected viewer or operator"))),
            };
            let secret = match (tt.get("token"), tt.get("token_env")) {
                (Some(s), None) => s.str()?,
                (None, Some(e)) => {
                    let var = e.str()?;
                    std::env::var(&var).map_err(|_| e.error(format!("environment variable {var} is not set")))?
                }
                _ => return Err(tt.error("token", "give exactly one of `token` or `token_env`")),
            };
            if secret.len() < 16 {
                return Err(item.error("a token must be at least 16 characters"));
            }
            tt.finish()?;
            if w.tokens.iter().any(|x| x.secret == secret) {
                return Err(item.error("two tokens have the same secret"));
            }
            w.tokens.push(ApiToken { name, role, secret });
        }
    }
    t.finish()?;
    Ok(w)
}

fn url(v: &Value) -> Result<String, InputError> {
    let s = v.str()?;
    if !(s.starts_with("http://") || s.starts_with("https://")) {
        return Err(v.error(format!("`{s}` is not a URL; expected e.g. http://127.0.0.1:5000")));
    }
    Ok(s)
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

fn alb(t: &TableReader) -> Result<AlbConfig, InputError> {
    let prefix_v = t.require("name_prefix")?;
    let name_prefix = prefix_v.str()?;
    let ok = !name_prefix.is_empty()
        && name_prefix.len() <= 23
        && name_prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name_prefix.starts_with('-')
        && !name_prefix.ends_with('-')
        && !name_prefix.starts_with("internal-");
    if !ok {
        return Err(prefix_v.error(
            "1–23 letters, digits or hyphens, not starting or ending with '-' nor with 'internal-' (AWS allows 32 and costd appends -<8 hex>)",
        ));
    }
    let internet_facing = match t.get("scheme") {
        Some(v) => match v.str()?.as_str() {
            "internet-facing" => true,
            "internal" => false,
            other => return Err(v.error(format!("`{other}` is not valid; expected internet-facing or internal"))),
        },
        None => true,
    };
    let subnets_v = t.require("subnets")?;
    let subnets = strings(&subnets_v, "a subnet ID such as subnet-0abc123", aws_id("subnet-"))?;
    if subnets.len() < 2 {
        return Err(subnets_v.error("an ALB needs at least two subnets in different AZs"));
    }
    let security_groups = strings(
        &t.require("security_groups")?,
        "a security group ID such as sg-0abc123",
        aws_id("sg-"),
    )?;
    let tg = t.require("target_group")?.table()?;
    let vpc_v = tg.require("vpc_id")?;
    let vpc_id = vpc_v.str()?;
    if !aws_id("vpc-")(&vpc_id) {
        return Err(vpc_v.error(format!("`{vpc_id}` is not a VPC ID such as vpc-0abc123")));
    }
    let health_check_path = tg
        .get("health_check_path")
        .map(|v| v.str())
        .transpose()?
        .unwrap_or_else(|| "/health".into());
    if !health_check_path.starts_with('/') {
        return Err(tg.error("health_check_path", "must start with '/'"));
    }
    let targets = match tg.get("targets") {
        Some(v) => v
            .items()?
            .iter()
            .map(|i| {
                let tt = i.table()?;
                let ip_v = tt.require("ip")?;
                let ip = ip_v.str()?;
                if ip.parse::<std::net::Ipv4Addr>().is_err() {
                    return Err(ip_v.error(format!("`{ip}` is not an IPv4 address")));
                }
                let p = tt.get("port").map(|p| port(&p)).transpose()?;
                tt.finish()?;
                Ok((ip, p))
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let port_ = tg.get("port").map(|v| port(&v)).transpose()?.unwrap_or(80);
    let target_group = TargetGroupConfig {
        vpc_id,
        port: port_,
        health_check_path,
        success_codes: tg
            .get("success_codes")
            .map(|v| v.str())
            .transpose()?
            .unwrap_or_else(|| "200".into()),
        targets: targets.into_iter().map(|(ip, p)| (ip, p.unwrap_or(port_))).collect(),
    };
    tg.finish()?;
    let https = match t.get("https") {
        Some(v) => {
            let h = v.table()?;
            let arn_v = h.require("certificate_arn")?;
            let certificate_arn = arn_v.str()?;
            if !certificate_arn.starts_with("arn:aws") || !certificate_arn.contains(":acm:") {
                return Err(arn_v.error("expected an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)"));
            }
            let redirect_http = h.get("redirect_http").map(|v| v.bool()).transpose()?.unwrap_or(true);
            h.finish()?;
            Some(HttpsConfig {
                certificate_arn,
                redirect_http,
            })
        }
        None => None,
    };
    t.finish()?;
    Ok(AlbConfig {
        name_prefix,
        internet_facing,
        subnets,
        security_groups,
        target_group,
        https,
    })
}

fn minutes(t: &TableReader, key: &str, default: u32, max: u32) -> Result<Duration, InputError> {
    let m = t.get(key).map(|v| v.u32_in(0, max)).transpose()?.unwrap_or(default);
    Ok(Duration::minutes(i64::from(m)))
}

fn schedule(t: &TableReader, tz: Tz, base: &Path) -> Result<ScheduleConfig, InputError> {
    let lead = minutes(t, "lead_minutes", 5, 120)?;
    let grace = minutes(t, "grace_minutes", 5, 120)?;
    let max_hours = t
        .get("max_window_hours")
        .map(|v| v.u32_in(1, 24 * 7))
        .transpose()?
        .unwrap_or(12);
    let max_window = Duration::hours(i64::from(max_hours));
    let max_days_ahead = t
        .get("max_days_ahead")
        .map(|v| v.u32_in(1, 3660))
        .transpose()?
        .unwrap_or(366);
    let coalesce = t.get("coalesce").map(|v| v.bool()).transpose()?.unwrap_or(true);

    let mut blackouts = Blackouts::default();
    if let Some(v) = t.get("blackout_dates") {
        for item in v.items()? {
            let s = item.str()?;
            let d = NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map_err(|_| item.error(format!("`{s}` is not a date; expected YYYY-MM-DD")))?;
            blackouts.add_date(d, tz);
        }
    }
    if let Some(v) = t.get("blackout_ics") {
        let rel = v.str()?;
        let path = base.join(&rel);
        let text =
            std::fs::read_to_string(&path).map_err(|e| v.error(format!("cannot read {}: {e}", path.display())))?;
        for span in parse_ics(&text, tz).map_err(|(line, why)| InputError {
            file: path.display().to_string(),
            line,
            key: String::new(),
            message: why,
        })? {
            blackouts.add_span(span);
        }
    }

    let mut windows = Vec::new();
    if let Some(v) = t.get("windows") {
        let items = v.items()?;
        let mut bounds = crate::schedule::ScheduleBounds::entries(items.len()).map_err(|e| v.error(e))?;
        for item in items {
            let w = item.table()?;
            let spec = if let Some(c) = w.get("cron") {
                let cron = c
                    .r()
                    .parse_with("a 5-field cron expression such as \"0 9 * * Mon-Fri\"", CronExpr::parse)?;
                bounds.add(&cron).map_err(|e| c.error(e))?;
                let dv = w.require("duration")?;
                let duration = dv.r().parse_with("a duration such as \"3h\"", parse_duration)?;
                if duration > max_window {
                    return Err(dv.error(format!("longer than max_window_hours ({max_hours} h)")));
                }
                let timezone = match w.get("timezone") {
                    Some(z) => z
                        .r()
                        .parse_with("an IANA zone such as \"Asia/Singapore\"", parse_timezone)?,
                    None => tz,
                };
                WindowSpec::Recurring(RecurringWindow {
                    cron,
                    duration,
                    timezone,
                })
            } else if let Some(s) = w.get("start") {
                let what = "an RFC 3339 time with offset such as \"2026-12-03T09:00:00+08:00\"";
                let start = s.r().parse_with(what, parse_instant)?;
                let ev = w.require("end")?;
                let end = ev.r().parse_with(what, parse_instant)?;
                let iv = Interval::new(start, end).ok_or_else(|| ev.error("a window must end after it starts"))?;
                if end - start > max_window {
                    return Err(ev.error(format!("the window is longer than max_window_hours ({max_hours} h)")));
                }
                if let Some(b) = blackouts.overlapping(&iv) {
                    return Err(s.error(format!("the window overlaps a blackout ({b})")));
                }
                WindowSpec::OneOff(iv)
            } else {
                return Err(w.error(
                    "cron",
                    "a window needs `cron` + `duration` (+ `timezone`) or `start` + `end`",
                ));
            };
            w.finish()?;
            windows.push(spec);
        }
    }
    t.finish()?;
    Ok(ScheduleConfig {
        lead,
        grace,
        max_window,
        max_ahead: Duration::days(i64::from(max_days_ahead)),
        coalesce,
        windows,
        blackouts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<Config, InputError> {
        Config::parse("costd.toml", src, Path::new("/base"))
    }

    #[test]
    fn the_embedded_default_parses_as_dry_run() {
        let c = parse(EMBEDDED_DEFAULT).unwrap();
        assert!(c.dry_run);
        assert_eq!(c.deployment, "seed-demo");
        assert_eq!(c.store_path, Path::new("/base/costd.db"));
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
