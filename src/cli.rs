//! The command line. Reads files and the clock (the edge), then calls the pure core.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{Config, EMBEDDED_DEFAULT};
use crate::pricing::load::PriceBook;
use crate::render;
use crate::scenario::{EMBEDDED_SEED, Scenario, parse_instant};

/// `costd --version`: the crate version, the git commit it was built from and
/// the date of the newest embedded price.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("COSTD_GIT_COMMIT"),
    ", price tables of ",
    env!("COSTD_PRICES_DATE"),
    ")"
);

/// costd: AWS networking spend — NAT vs VPC endpoints, demo-window ALBs, budgets.
#[derive(Debug, Parser)]
#[command(name = "costd", version = VERSION, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    Table,
    /// JSON for programs; decimals are strings.
    Json,
}

/// `costd traffic --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TrafficFormat {
    /// A table for people.
    Table,
    /// JSON for programs; decimals are strings.
    Json,
    /// The traffic file (TOML) `costd model --traffic` reads.
    Toml,
}

/// `costd export --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// FOCUS 1.2 columns, CSV.
    Focus,
}

/// `costd bill --granularity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BillGranularityArg {
    /// Hourly for the last 14 days where the account has hourly granularity, daily otherwise.
    Auto,
    /// One row per day.
    Daily,
    /// One row per hour (the last 14 days only).
    Hourly,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Price a scenario: NAT vs endpoints, the load balancer always on vs on its schedule.
    Model {
        /// Scenario file (TOML). Default: the embedded seed scenario (config/scenarios/seed-production-vpc.toml).
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Directory of <region>.toml price tables. Default: the tables embedded in the binary.
        #[arg(long, value_name = "DIR")]
        pricing_dir: Option<PathBuf>,
        /// The instant that anchors what-if schedules (RFC 3339). Default: now.
        #[arg(long, value_name = "RFC3339", value_parser = parse_at)]
        at: Option<DateTime<Utc>>,
        /// Measured traffic (`costd traffic --format toml`): replaces the scenario's [network] volumes, marked measured.
        #[arg(long, value_name = "FILE")]
        traffic: Option<PathBuf>,
    },
    /// Measure the VPC's traffic from VPC Flow Logs: bytes per AWS service, region and AZ (by AWS's published IP ranges), scaled to a month, as a scenario's [network] volumes; with --nat-gateway, beside the NAT gateway's own CloudWatch counts.
    Traffic {
        /// Flow log files or directories (plain or gzip; the default format, or a custom one named by the files' header line or --fields).
        #[arg(required = true, value_name = "PATH")]
        logs: Vec<PathBuf>,
        /// AWS's ip-ranges.json (https://ip-ranges.amazonaws.com/ip-ranges.json).
        #[arg(long, value_name = "FILE", required_unless_present = "fetch_ip_ranges")]
        ip_ranges: Option<PathBuf>,
        /// Fetch ip-ranges.json from AWS now instead of reading --ip-ranges.
        #[arg(long, conflicts_with = "ip_ranges")]
        fetch_ip_ranges: bool,
        /// Where --fetch-ip-ranges reads from.
        #[arg(long, value_name = "URL", default_value = crate::traffic::ipranges::URL)]
        ip_ranges_url: url::Url,
        /// The VPC's region. Default: the --scenario's.
        #[arg(long, value_name = "REGION")]
        region: Option<String>,
        /// The records' fields, for files without a header line (e.g. exported from CloudWatch Logs): "version srcaddr …" or "${version} ${srcaddr} …".
        #[arg(long, value_name = "FIELDS")]
        fields: Option<String>,
        /// The VPC's CIDR blocks (repeat). Default: the private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7).
        #[arg(long = "vpc-cidr", value_name = "CIDR")]
        vpc_cidrs: Vec<String>,
        /// Leave out an interface's records (repeat), e.g. a NAT gateway's, which repeat the workloads'.
        #[arg(long = "skip-interface", value_name = "ENI")]
        skip_interfaces: Vec<String>,
        /// An interface endpoint's private address and service (repeat), e.g. 10.0.1.23=logs.
        #[arg(long = "endpoint", value_name = "ADDRESS=SERVICE")]
        endpoints: Vec<String>,
        /// Route 53 Resolver query logs (files or directories, repeat): the answers name the services behind shared AWS addresses.
        #[arg(long = "dns-log", value_name = "PATH")]
        dns_logs: Vec<PathBuf>,
        /// A NAT gateway whose CloudWatch byte counts to set beside the flow logs (repeat).
        #[arg(long = "nat-gateway", value_name = "ID")]
        nat_gateways: Vec<String>,
        /// Config file whose [aws] settings the CloudWatch calls use. Default: the embedded one.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// A scenario: its region is the default, and the measured volumes are priced with it (NAT vs endpoints, break-even per service).
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
        /// Write the measured volumes into the --scenario file (its [network] traffic, egress, cross-AZ and [network.measured]; the rest kept).
        #[arg(long, requires = "scenario")]
        write: bool,
        /// Hours in the month the volumes are scaled to.
        #[arg(long, value_name = "HOURS", default_value_t = 730, value_parser = clap::value_parser!(u32).range(1..=744))]
        hours_per_month: u32,
        /// Output format: a table, JSON, or the traffic file `costd model --traffic` reads.
        #[arg(long, value_enum, default_value_t = TrafficFormat::Table)]
        format: TrafficFormat,
    },
    /// Run the daemon: create the ALB for demo windows, delete it after, until SIGTERM or ctrl-c.
    Serve {
        /// Config file. Default: the embedded config/costd.toml (dry-run, no AWS account needed).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The store, instead of the config's `[store]`: a SQLite file, or
        /// postgres://user@host:5432/database for replicas (password from COSTD_STORE_PASSWORD).
        #[arg(long, value_name = "PATH|URL", value_parser = crate::config::StoreConfig::from_flag)]
        store: Option<crate::config::StoreConfig>,
        /// Where the dashboard and API listen, instead of the config's `[web] listen`.
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Check a config without starting the daemon: the config, its scenario, the price tables, the store and, with --aws, the credentials and read permissions. Exit 0 when all is fine, 1 otherwise.
    Check {
        /// Config file. Default: the embedded one.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Also call AWS (one describe per API the daemon uses).
        #[arg(long)]
        aws: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Ask a running daemon whether it is up (for container health checks): exit 0 on 200, else 1.
    Health {
        /// The URL to GET.
        #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080/healthz")]
        url: url::Url,
        /// Give up after this many seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=60))]
        timeout: u64,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish or powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff; `costd man | man -l -`).
    Man,
    /// Print the IAM policy the daemon needs, pinned to the config's deployment (JSON).
    IamPolicy {
        /// Config file. Default: the embedded one.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// This month's spend by component: actual so far (ledger) + scheduled rest (plan), and the budgets.
    Projection {
        /// Config file. Default: the embedded one.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The month (YYYY-MM) in the projection's time zone. Default: the current one.
        #[arg(long, value_parser = parse_month)]
        month: Option<crate::schedule::Month>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// What AWS billed for the deployment's load balancer (Cost Explorer) beside the ledger's prediction under each partial-hour rule, and which rule the account is billed by.
    Bill {
        /// Config file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The month (YYYY-MM, UTC). Default: the current one.
        #[arg(long, value_parser = parse_month)]
        month: Option<crate::schedule::Month>,
        /// Hourly rows where the account has hourly granularity (the last 14 days), daily for the rest; or only one of them.
        #[arg(long, value_enum, default_value_t = BillGranularityArg::Auto)]
        granularity: BillGranularityArg,
        /// Write the rule the bill follows into the config's `[billing] partial_hour`.
        #[arg(long)]
        apply: bool,
        /// Use the store's copy of Cost Explorer's answer when younger than this (each request is billed); 0 asks again.
        #[arg(long, value_name = "HOURS", default_value_t = 6, value_parser = clap::value_parser!(u32).range(0..=i64::from(crate::app::bill::MAX_AGE_HOURS)))]
        max_age_hours: u32,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The month's charges for finance tools: FOCUS 1.2 CSV (actual rows from the ledger are billed; the rest of the month is marked projected).
    Export {
        /// Config file. Default: the embedded one.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The month (YYYY-MM) in the projection's time zone. Default: the current one.
        #[arg(long, value_parser = parse_month)]
        month: Option<crate::schedule::Month>,
        /// The format (FOCUS 1.2 columns as CSV).
        #[arg(long, value_enum, default_value_t = ExportFormat::Focus)]
        format: ExportFormat,
    },
    /// Notifications: send a sample event to a `[[notify]]` destination to check its wiring.
    Notify {
        /// What to do.
        #[command(subcommand)]
        command: NotifyCommand,
    },
    /// Rebuild price tables from the AWS Price List and show what changed.
    Pricing {
        /// What to do.
        #[command(subcommand)]
        command: PricingCommand,
    },
    /// Add, list or cancel demo windows in the store (the daemon picks changes up within a second).
    Windows {
        /// Config file (for the store path, time zone, limits and blackouts). Default: the embedded one.
        #[arg(long, value_name = "FILE", global = true)]
        config: Option<PathBuf>,
        /// The store, instead of the config's `[store]` (as for `costd serve --store`).
        #[arg(long, value_name = "PATH|URL", global = true, value_parser = crate::config::StoreConfig::from_flag)]
        store: Option<crate::config::StoreConfig>,
        /// What to do.
        #[command(subcommand)]
        command: WindowsCommand,
    },
}

/// `costd notify …`.
#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Send a sample event (kind `test`) to one destination now, in its own format, and say how it went.
    Test {
        /// Config file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The destination's name (`[[notify]] name`; by default its kind).
        #[arg(long, value_name = "NAME")]
        to: String,
    },
}

/// `costd pricing …`.
#[derive(Debug, Subcommand)]
pub enum PricingCommand {
    /// Fetch every rate for a region with the Price List Query API (GetProducts) and diff it against the table.
    Refresh {
        /// The region to price, e.g. ap-southeast-1.
        #[arg(long)]
        region: String,
        /// Rewrite <pricing-dir>/<region>.toml (unchanged rates keep their source and date).
        #[arg(long)]
        write: bool,
        /// Directory of the tables to diff against and write.
        #[arg(long, value_name = "DIR", default_value = "pricing")]
        pricing_dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Where the Price List API is served: us-east-1, eu-central-1 or ap-south-1.
        #[arg(long, default_value = "us-east-1", value_parser = clap::builder::PossibleValuesParser::new(crate::config::API_REGIONS))]
        api_region: String,
        /// Send GetProducts here instead (a test server, a proxy).
        #[arg(long, value_name = "URL")]
        endpoint_url: Option<url::Url>,
    },
    /// The same from downloaded bulk offer files (one per service: AmazonEC2, AmazonVPC, AWSELB, AWSDataTransfer, AmazonCloudWatch).
    Import {
        /// The region to price.
        #[arg(long)]
        region: String,
        /// An offer file (index.json); give one per service.
        #[arg(long = "offer", value_name = "FILE", required = true)]
        offers: Vec<PathBuf>,
        /// Rewrite <pricing-dir>/<region>.toml.
        #[arg(long)]
        write: bool,
        /// Directory of the tables to diff against and write.
        #[arg(long, value_name = "DIR", default_value = "pricing")]
        pricing_dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// `costd windows …`.
#[derive(Debug, Subcommand)]
pub enum WindowsCommand {
    /// Add a one-off demo window.
    Add {
        /// When it opens: now, RFC 3339 (2026-12-03T09:00:00+08:00) or local "2026-12-03 09:00" in the config's zone.
        #[arg(long)]
        start: String,
        /// When it closes (same forms as --start).
        #[arg(long, conflicts_with = "duration", required_unless_present = "duration")]
        end: Option<String>,
        /// Or how long it lasts: 3h, 90m, 1h30m.
        #[arg(long)]
        duration: Option<String>,
        /// What the demo is for.
        #[arg(long, default_value = "")]
        note: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List stored windows and the next planned ALB lifetimes.
    List {
        /// Include cancelled windows.
        #[arg(long)]
        all: bool,
        /// Only windows that end after this: `now`, RFC 3339, or local `YYYY-MM-DD HH:MM` (default: 24 hours ago).
        #[arg(long, value_name = "WHEN")]
        from: Option<String>,
        /// Windows per page, 1–500.
        #[arg(long, default_value_t = crate::app::windows::DEFAULT_PAGE)]
        limit: u32,
        /// Continue after a previous page (its `next`).
        #[arg(long)]
        cursor: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Cancel a stored window by id.
    Cancel {
        /// The window id (from `costd windows list`).
        id: i64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// The config's price tables: its `pricing_dir`, else the embedded ones.
/// `costd check` found problems (already printed): exit status 1.
#[derive(Debug, thiserror::Error)]
#[error("{0} check(s) failed")]
pub struct CheckFailed(pub usize);

fn price_book(cfg: &Config) -> anyhow::Result<PriceBook> {
    Ok(match &cfg.pricing_dir {
        Some(d) => PriceBook::from_dir(d)?,
        None => PriceBook::embedded()?,
    })
}

fn load_config(path: &Option<PathBuf>) -> anyhow::Result<Config> {
    load_config_with(path, crate::config::Secrets::Required)
}

/// For the commands that need no token and no webhook: they run where the
/// daemon's secrets are not set.
fn load_config_without_secrets(path: &Option<PathBuf>) -> anyhow::Result<Config> {
    load_config_with(path, crate::config::Secrets::Optional)
}

fn load_config_with(path: &Option<PathBuf>, secrets: crate::config::Secrets) -> anyhow::Result<Config> {
    Ok(match path {
        Some(p) => Config::load_with(p, secrets)?,
        None => Config::parse_with(
            "<embedded>/config/costd.toml",
            EMBEDDED_DEFAULT,
            std::path::Path::new("."),
            secrets,
        )?,
    })
}

fn parse_month(s: &str) -> Result<crate::schedule::Month, String> {
    let m = crate::schedule::Month::parse(s).map_err(|e| format!("{e}; expected YYYY-MM, e.g. 2026-12"))?;
    let now = crate::schedule::Month::containing(Utc::now(), chrono_tz::UTC);
    let years = crate::web::api::MONTH_RANGE_YEARS;
    if !m.is_within_years_of(now, years) {
        return Err(format!(
            "{m} is more than {years} years from {now}; give a month within that range"
        ));
    }
    Ok(m)
}

fn parse_at(s: &str) -> Result<DateTime<Utc>, String> {
    parse_instant(s).map_err(|e| format!("{e}; expected e.g. 2026-12-01T00:00:00Z"))
}

/// The caller asked for something that cannot be done as asked (a bad flag
/// value, an unknown id): exit status 2, like a usage error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit status for an error: 2 when the caller's input is at fault (the
/// command line, a config, scenario or price table file, an unknown window
/// id), 1 for a failure at run time (the store, AWS, the network).
pub fn exit_code(e: &anyhow::Error) -> u8 {
    let usage = e.chain().any(|c| {
        c.is::<UsageError>()
            || c.is::<crate::input::InputError>()
            || c.is::<crate::schedule::FieldError>()
            || c.is::<crate::app::prices::MissingTable>()
            || matches!(
                c.downcast_ref::<crate::app::windows::AppError>(),
                Some(crate::app::windows::AppError::Store(
                    crate::store::StoreError::WindowNotFound(_)
                        | crate::store::StoreError::AlreadyCancelled(_)
                        | crate::store::StoreError::WindowTooLong { .. }
                ))
            )
            || matches!(
                c.downcast_ref::<crate::store::StoreError>(),
                Some(crate::store::StoreError::WindowNotFound(_) | crate::store::StoreError::AlreadyCancelled(_))
            )
    });
    if usage { 2 } else { 1 }
}

/// The largest scenario or traffic file `costd traffic` and `costd model --traffic` read.
pub const MAX_TRAFFIC_FILE_BYTES: usize = 1024 * 1024;

/// Runs one command, writing its output to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<()> {
    match cli.command {
        Command::Model {
            scenario,
            format,
            pricing_dir,
            at,
            traffic,
        } => {
            let book = match &pricing_dir {
                Some(dir) => PriceBook::from_dir(dir)?,
                None => PriceBook::embedded()?,
            };
            let (label, src) = match &scenario {
                Some(path) => {
                    let src = std::fs::read_to_string(path)
                        .map_err(|e| UsageError(format!("cannot read scenario {}: {e}", path.display())))?;
                    (path.display().to_string(), src)
                }
                None => (
                    "<embedded>/config/scenarios/seed-production-vpc.toml".to_string(),
                    EMBEDDED_SEED.to_string(),
                ),
            };
            let (label, src) = match &traffic {
                Some(path) => {
                    let t = crate::app::traffic::read_bounded(path, MAX_TRAFFIC_FILE_BYTES).map_err(UsageError)?;
                    let merged = crate::app::traffic::with_measured(&src, &label, &t, &path.display().to_string())
                        .map_err(UsageError)?;
                    (
                        format!("{label} with the measured traffic of {}", path.display()),
                        merged,
                    )
                }
                None => (label, src),
            };
            let scenario = Scenario::parse(&label, &src, &book.regions())?;
            let prices = book
                .get(&scenario.region)
                .expect("Scenario::parse checks the region has a table");
            let report = crate::model::evaluate(&scenario, prices, at.unwrap_or_else(Utc::now));
            match format {
                Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
                Format::Table => write!(out, "{}", render::table(&report))?,
            }
            Ok(())
        }
        Command::Check { config, aws, format } => {
            let (parsed, label) = match &config {
                Some(p) => (Config::load(p), p.display().to_string()),
                None => (
                    Config::parse(
                        "<embedded>/config/costd.toml",
                        EMBEDDED_DEFAULT,
                        std::path::Path::new("."),
                    ),
                    "<embedded>/config/costd.toml".to_string(),
                ),
            };
            let (mut findings, cfg) = crate::app::check::local(parsed, &label);
            if let (true, Some(cfg)) = (aws, &cfg) {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                findings.extend(rt.block_on(crate::app::check::aws(cfg)));
            }
            match format {
                Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&findings)?)?,
                Format::Table => {
                    for f in &findings {
                        writeln!(out, "{:4}  {}: {}", if f.ok { "ok" } else { "FAIL" }, f.check, f.detail)?;
                    }
                }
            }
            let failed = findings.iter().filter(|f| !f.ok).count();
            if failed > 0 {
                return Err(CheckFailed(failed).into());
            }
            Ok(())
        }
        Command::Health { url, timeout } => {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let status = rt.block_on(async {
                reqwest::Client::builder()
                    .timeout(std::time::Duration::from_secs(timeout))
                    .build()?
                    .get(url.clone())
                    .send()
                    .await
                    .map(|r| r.status())
            });
            match status {
                Ok(s) if s.is_success() => {
                    writeln!(out, "{url}: {s}")?;
                    Ok(())
                }
                Ok(s) => anyhow::bail!("{url}: {s}"),
                Err(e) => anyhow::bail!("{url}: {e}"),
            }
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "costd", &mut buf);
            out.write_all(&buf)?;
            Ok(())
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut buf)?;
            out.write_all(&buf)?;
            Ok(())
        }
        Command::IamPolicy { config } => {
            let cfg = load_config_without_secrets(&config)?;
            let p = crate::aws::iam::policy(&cfg.deployment, &cfg.cloudwatch.namespace, cfg.alb.dns.as_ref());
            writeln!(out, "{}", serde_json::to_string_pretty(&p)?)?;
            Ok(())
        }
        Command::Serve { config, store, listen } => {
            let mut cfg = load_config(&config)?;
            if let Some(store) = store {
                cfg.store = store;
            }
            if let Some(listen) = listen {
                cfg.web.listen = listen;
            }
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async {
                let shutdown = crate::daemon::shutdown_on_signals();
                crate::daemon::serve(cfg, shutdown).await
            })
        }
        Command::Windows { config, store, command } => {
            let mut cfg = load_config_without_secrets(&config)?;
            if let Some(store) = store {
                cfg.store = store;
            }
            windows(cfg, command, out)
        }
        Command::Pricing { command } => pricing(command, out),
        Command::Notify {
            command: NotifyCommand::Test { config, to },
        } => notify_test(&config, &to, out),
        Command::Traffic {
            logs,
            ip_ranges,
            // Without --ip-ranges (clap requires one of the two), the file is fetched.
            fetch_ip_ranges: _,
            ip_ranges_url,
            region,
            fields,
            vpc_cidrs,
            skip_interfaces,
            endpoints,
            dns_logs,
            nat_gateways,
            config,
            scenario,
            write,
            hours_per_month,
            format,
        } => {
            let scenario_src = scenario
                .as_ref()
                .map(|p| {
                    crate::app::traffic::read_bounded(p, MAX_TRAFFIC_FILE_BYTES)
                        .map(|src| (p.display().to_string(), src))
                        .map_err(UsageError)
                })
                .transpose()?;
            let book = PriceBook::embedded()?;
            let parsed = scenario_src
                .as_ref()
                .map(|(label, src)| Scenario::parse(label, src, &book.regions()))
                .transpose()?;
            let region = match (region, &parsed) {
                (Some(r), _) => r,
                (None, Some(s)) => s.region.clone(),
                (None, None) => {
                    return Err(UsageError(
                        "--region: the VPC's region is needed (or a --scenario that names it)".into(),
                    )
                    .into());
                }
            };
            anyhow::ensure!(
                crate::pricing::is_region_code(&region),
                UsageError(format!(
                    "--region: `{region}` is not an AWS region code such as ap-southeast-1"
                ))
            );
            crate::app::traffic::check_nat_gateway_ids(&nat_gateways).map_err(UsageError)?;
            let mut settings = crate::traffic::Settings::new(&region)
                .with_vpc_cidrs(&vpc_cidrs)
                .and_then(|s| s.with_skipped_interfaces(&skip_interfaces))
                .map_err(UsageError)?;
            settings.hours_per_month = rust_decimal::Decimal::from(hours_per_month);
            let inputs = crate::app::traffic::Inputs {
                logs,
                fields,
                dns_logs,
                endpoints,
            };
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let (ranges_label, ranges_text) = match &ip_ranges {
                Some(p) => (
                    p.display().to_string(),
                    crate::app::traffic::read_bounded(p, crate::traffic::ipranges::MAX_BYTES).map_err(UsageError)?,
                ),
                None => (
                    ip_ranges_url.to_string(),
                    rt.block_on(crate::app::traffic::fetch_ip_ranges(ip_ranges_url.as_str()))
                        .map_err(anyhow::Error::msg)?,
                ),
            };
            let ranges = crate::traffic::ipranges::IpRanges::parse(&ranges_label, &ranges_text).map_err(UsageError)?;
            let names = crate::app::traffic::names(&inputs, &region).map_err(UsageError)?;
            let mut report = crate::app::traffic::measure(&inputs, &ranges, &names, &settings).map_err(UsageError)?;
            if !nat_gateways.is_empty() {
                let cfg = match &config {
                    Some(p) => Config::load(p)?,
                    None => Config::parse(
                        "<embedded>/config/costd.toml",
                        EMBEDDED_DEFAULT,
                        std::path::Path::new("."),
                    )?,
                };
                rt.block_on(async {
                    let cw = crate::aws::cloudwatch::SdkCloudWatch::new(
                        crate::aws::cloudwatch_client(&region, &cfg.aws.for_cloudwatch()).await,
                    );
                    crate::app::traffic::nat_checks(&mut report, &cw, &nat_gateways).await
                })
                .map_err(anyhow::Error::msg)?;
            }
            let files = report.files;
            let source = format!("VPC Flow Logs: {files} file(s), {} records", report.counts.attributed);
            let traffic_toml = report.to_toml(&source);
            let priced = match &scenario_src {
                Some((label, src)) => {
                    let merged = crate::app::traffic::with_measured(src, label, &traffic_toml, "<measured>")
                        .map_err(UsageError)?;
                    let s = Scenario::parse(label, &merged, &book.regions())?;
                    if write {
                        let path = scenario.as_ref().expect("--write requires --scenario");
                        crate::app::traffic::write_atomically(path, &merged).map_err(anyhow::Error::msg)?;
                    }
                    let prices = book
                        .get(&s.region)
                        .expect("Scenario::parse checks the region has a table");
                    s.network
                        .as_ref()
                        .map(|n| crate::cost::network::model(n, prices, rust_decimal::Decimal::from(hours_per_month)))
                }
                None => None,
            };
            match format {
                TrafficFormat::Json => {
                    let v = serde_json::json!({ "traffic": report, "network": priced });
                    writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?
                }
                TrafficFormat::Toml => write!(out, "{traffic_toml}")?,
                TrafficFormat::Table => {
                    write!(out, "{}", render::traffic(&report))?;
                    if let Some(n) = &priced {
                        writeln!(out, "\nPRICED WITH THE SCENARIO (GB/month measured)")?;
                        for b in &n.break_even {
                            writeln!(
                                out,
                                "  {}: {} GB/month; an interface endpoint pays off above {} → {}",
                                b.service,
                                crate::money::format_quantity(b.traffic_gb_per_month, 2),
                                b.gb_per_month
                                    .map_or("never".into(), |g| crate::money::format_quantity(g, 2)),
                                if b.endpoint_cheaper { "endpoint" } else { "NAT" }
                            )?;
                        }
                        writeln!(out, "  Recommendation: {}", n.recommendation.replace('`', ""))?;
                    }
                    if write {
                        writeln!(
                            out,
                            "\nwrote the measured volumes into {}",
                            scenario.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
                        )?;
                    }
                }
            }
            Ok(())
        }
        Command::Bill {
            config,
            month,
            granularity,
            apply,
            max_age_hours,
            format,
        } => bill(&config, month, granularity, apply, max_age_hours, format, out),
        Command::Export { config, month, format } => {
            let ExportFormat::Focus = format;
            let (app, month, view) = month_projection(&config, month)?;
            write!(out, "{}", crate::app::export::focus_csv(&app, &view.projection, month))?;
            Ok(())
        }
        Command::Projection { config, month, format } => {
            let (_, _, view) = month_projection(&config, month)?;
            match format {
                Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&view)?)?,
                Format::Table => write!(out, "{}", render::projection(&view.projection, &view.budgets))?,
            }
            Ok(())
        }
    }
}

fn pricing(command: PricingCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    use crate::pricing::pricelist::{PriceItem, parse_offer_file, rebuild};
    let (region, write, dir, items, format): (String, bool, PathBuf, Vec<PriceItem>, Format) = match command {
        PricingCommand::Refresh {
            region,
            write,
            pricing_dir,
            format,
            api_region,
            endpoint_url,
        } => {
            anyhow::ensure!(
                crate::pricing::is_region_code(&region),
                "--region: `{region}` is not an AWS region code such as ap-southeast-1"
            );
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let items = rt.block_on(async {
                let client = crate::aws::pricing::client(&api_region, endpoint_url.as_ref()).await;
                crate::aws::pricing::fetch(&client, &region).await
            })?;
            (region, write, pricing_dir, items, format)
        }
        PricingCommand::Import {
            region,
            offers,
            write,
            pricing_dir,
            format,
        } => {
            let mut items = Vec::new();
            for f in &offers {
                let text =
                    std::fs::read_to_string(f).with_context(|| format!("cannot read offer file {}", f.display()))?;
                items.extend(parse_offer_file(&text).with_context(|| format!("offer file {}", f.display()))?);
            }
            (region, write, pricing_dir, items, format)
        }
    };
    let path = dir.join(format!("{region}.toml"));
    let current = if path.exists() {
        let src = std::fs::read_to_string(&path)?;
        crate::pricing::PriceTable::parse(&path.display().to_string(), &src)?
    } else {
        // A new region: the shape of us-east-1's table, every rate to be replaced.
        let mut t = PriceBook::embedded()?.get("us-east-1").expect("shipped").clone();
        t.region = region.clone();
        crate::pricing::pricelist::mark_all_unknown(&mut t);
        t
    };
    let (table, changes) = rebuild(&current, &items, Utc::now().date_naive())?;
    if format == Format::Json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "table": path.display().to_string(),
                "products_read": items.len(),
                "changes": changes,
                "written": write,
            }))?
        )?;
    } else if changes.is_empty() {
        writeln!(
            out,
            "{}: no changes against the Price List ({} products read)",
            path.display(),
            items.len()
        )?;
    } else {
        let rows: Vec<[String; 4]> = changes
            .iter()
            .map(|c| {
                let f = |d: Option<rust_decimal::Decimal>| d.map(|d| d.to_string()).unwrap_or_else(|| "—".into());
                [
                    c.key.clone(),
                    f(c.old.filter(|o| !o.is_sign_negative())),
                    f(c.new),
                    c.sku.clone(),
                ]
            })
            .collect();
        writeln!(
            out,
            "{}: {} change(s) against the Price List",
            path.display(),
            changes.len()
        )?;
        for r in std::iter::once(["rate".to_string(), "old".into(), "new".into(), "SKU".into()]).chain(rows) {
            writeln!(out, "  {:<36} {:>12} {:>12}  {}", r[0], r[1], r[2], r[3])?;
        }
    }
    if write {
        let text = table.to_toml();
        crate::pricing::PriceTable::parse("written table", &text)?;
        std::fs::create_dir_all(&dir)?;
        crate::pricing::write::write_atomically(&path, &text)?;
        if format == Format::Table {
            writeln!(out, "wrote {}", path.display())?;
        }
    }
    Ok(())
}

fn windows(cfg: Config, command: WindowsCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    // Priced before anything is stored: a missing price table refuses the window.
    let prices = crate::app::Prices::build(&cfg, price_book(&cfg)?)?;
    let store = crate::app::open_store(&cfg.store)?;
    let app = crate::app::App::new(std::sync::Arc::new(cfg), store, prices);
    let cfg = app.cfg.clone();
    let now = Utc::now();
    // A flag for each field the use case names.
    let flag = |e: crate::app::windows::AppError| match e {
        crate::app::windows::AppError::Invalid { field, message } => {
            anyhow::Error::from(UsageError(format!("--{field}: {message}")))
        }
        other => anyhow::Error::from(other),
    };
    match command {
        WindowsCommand::Add {
            start,
            end,
            duration,
            note,
            format,
        } => {
            let req = crate::app::windows::NewWindow {
                start,
                end,
                duration,
                note,
                timezone: None,
            };
            let added = crate::app::windows::add(&app, &req, "cli", now).map_err(flag)?;
            if format == Format::Json {
                writeln!(out, "{}", serde_json::to_string_pretty(&added)?)?;
                return Ok(());
            }
            writeln!(
                out,
                "added window {} from {} to {}",
                added.window.id,
                added.window.start.to_rfc3339(),
                added.window.end.to_rfc3339()
            )?;
            writeln!(out, "{}", added.alb_cost.note)?;
        }
        WindowsCommand::Cancel { id, format } => {
            let c = crate::app::windows::cancel(&app, id, "cli", now).map_err(flag)?;
            if format == Format::Json {
                writeln!(out, "{}", serde_json::to_string_pretty(&c)?)?;
                return Ok(());
            }
            let line = match &c {
                crate::app::windows::CancelledView::Window(w) => format!(
                    "cancelled window {} ({} to {})",
                    w.id,
                    w.start.to_rfc3339(),
                    w.end.to_rfc3339()
                ),
                crate::app::windows::CancelledView::Quarantined(q) => format!(
                    "cancelled quarantined window {} (stored as {} to {}: {})",
                    q.id, q.start_utc, q.end_utc, q.problem
                ),
            };
            writeln!(out, "{line}")?;
        }
        WindowsCommand::List {
            all,
            from,
            limit,
            cursor,
            format,
        } => {
            let page = crate::app::windows::PageRequest {
                from,
                limit: Some(limit),
                cursor,
            };
            let list = crate::app::windows::list(&app, all, &page, now).map_err(flag)?;
            match format {
                Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?,
                Format::Table => {
                    let local = |t: DateTime<Utc>| {
                        t.with_timezone(&cfg.timezone)
                            .format("%a %Y-%m-%d %H:%M %Z")
                            .to_string()
                    };
                    writeln!(out, "Stored windows ({}):", cfg.store.describe())?;
                    if list.windows.is_empty() {
                        writeln!(out, "  none")?;
                    }
                    for w in &list.windows {
                        let cancelled = w.cancelled_at.map(|_| "  CANCELLED").unwrap_or("");
                        writeln!(
                            out,
                            "  {:>4}  {} → {}  {}{cancelled}",
                            w.id,
                            local(w.start),
                            local(w.end),
                            w.note
                        )?;
                    }
                    if let Some(next) = &list.next {
                        writeln!(out, "  more: costd windows list --cursor {next} (with the same flags)")?;
                    }
                    if !list.quarantined.is_empty() {
                        writeln!(
                            out,
                            "Quarantined (cannot be read, never opened; `costd windows cancel ID` removes one):"
                        )?;
                        for q in &list.quarantined {
                            writeln!(
                                out,
                                "  {:>4}  {} → {}  {}: {}",
                                q.id, q.start_utc, q.end_utc, q.note, q.problem
                            )?;
                        }
                    }
                    writeln!(
                        out,
                        "ALB lifetimes planned for the next 7 days (lead {} min, grace {} min):",
                        cfg.schedule.lead.num_minutes(),
                        cfg.schedule.grace.num_minutes()
                    )?;
                    if list.planned_lifetimes.is_empty() {
                        writeln!(out, "  none")?;
                    }
                    for p in &list.planned_lifetimes {
                        writeln!(
                            out,
                            "  {} → {}  windows {}",
                            local(p.start),
                            local(p.end),
                            p.windows.join(", ")
                        )?;
                        for g in &p.coalesced_gaps {
                            writeln!(out, "      {g}")?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn bill(
    path: &std::path::Path,
    month: Option<crate::schedule::Month>,
    granularity: BillGranularityArg,
    apply: bool,
    max_age_hours: u32,
    format: Format,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    use crate::aws::costexplorer::BillGranularity;
    let cfg = load_config_without_secrets(&Some(path.to_path_buf()))?;
    let book = price_book(&cfg)?;
    let table = book
        .get(&cfg.region)
        .ok_or_else(|| anyhow::anyhow!("no price table for {}", cfg.region))?
        .clone();
    let store = crate::app::open_store(&cfg.store)?;
    let now = Utc::now();
    let month = month.unwrap_or_else(|| crate::schedule::Month::containing(now, chrono_tz::UTC));
    let req = crate::app::bill::BillRequest {
        month,
        granularity: match granularity {
            BillGranularityArg::Auto => None,
            BillGranularityArg::Daily => Some(BillGranularity::Daily),
            BillGranularityArg::Hourly => Some(BillGranularity::Hourly),
        },
        max_age: chrono::Duration::hours(i64::from(max_age_hours)),
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let report = rt.block_on(async {
        let client = crate::aws::cost_explorer_client(&cfg.aws.for_cost_explorer()).await;
        crate::app::bill::bill(&cfg, store.as_ref(), &table, &client, req, now).await
    })?;
    match format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        Format::Table => write!(out, "{}", render::bill(&report))?,
    }
    if apply {
        let Some(rule) = report.check.billed_by else {
            anyhow::bail!("--apply: the bill does not say which rule it follows yet; nothing was changed");
        };
        let text = std::fs::read_to_string(path)?;
        let new = crate::app::bill::with_partial_hour(&text, rule);
        // The new file must parse before it replaces the old one.
        Config::parse_with(
            &path.display().to_string(),
            &new,
            path.parent().unwrap_or(std::path::Path::new(".")),
            crate::config::Secrets::Optional,
        )?;
        crate::pricing::write::write_atomically(path, &new)?;
        writeln!(
            out,
            "{}: [billing] partial_hour = \"{}\"",
            path.display(),
            rule.as_str()
        )?;
    }
    Ok(())
}

/// `costd notify test`: one attempt, no retries; the outcome decides the exit status.
fn notify_test(path: &std::path::Path, to: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    // Only this destination's secrets are needed.
    let cfg = load_config_without_secrets(&Some(path.to_path_buf()))?;
    let Some(dest) = cfg.notify.iter().find(|d| d.name == to) else {
        let names: Vec<&str> = cfg.notify.iter().map(|d| d.name.as_str()).collect();
        anyhow::bail!(
            "no [[notify]] destination named `{to}` in {} (or its environment variable is not set); configured: {}",
            path.display(),
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        );
    };
    let now = Utc::now();
    let event = crate::event::test_event(&cfg.deployment, to, now);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    // As the last attempt: a failure is reported, not retried.
    let last = dest.max_attempts.saturating_sub(1);
    match rt.block_on(crate::notify::send(
        &crate::notify::http_client(),
        &cfg,
        dest,
        &event,
        last,
    )) {
        crate::store::DeliveryOutcome::Delivered => {
            writeln!(out, "sent a test event to {to} ({}): delivered", dest.kind.as_str())?;
            Ok(())
        }
        crate::store::DeliveryOutcome::Failed { error, .. } | crate::store::DeliveryOutcome::Dead { error } => {
            anyhow::bail!("sending a test event to {to} ({}) failed: {error}", dest.kind.as_str())
        }
    }
}

/// The projection of `month` (default: the current one in the projection's
/// zone) as the CLI computes it: LCUs modelled (the daemon reads ConsumedLCUs
/// from CloudWatch).
fn month_projection(
    config: &Option<PathBuf>,
    month: Option<crate::schedule::Month>,
) -> anyhow::Result<(
    crate::app::App,
    crate::schedule::Month,
    crate::app::views::ProjectionView,
)> {
    let cfg = load_config_without_secrets(config)?;
    let prices = crate::app::Prices::build(&cfg, price_book(&cfg)?)?;
    let store = crate::app::open_store(&cfg.store)?;
    let now = Utc::now();
    let month = month.unwrap_or_else(|| crate::schedule::Month::containing(now, cfg.projection.timezone));
    let app = crate::app::App::new(Arc::new(cfg), store, prices);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let view = rt.block_on(crate::app::projection::month_view::<
        crate::aws::cloudwatch::SdkCloudWatch,
    >(&app, None, month, now))?;
    Ok((app, month, view))
}
