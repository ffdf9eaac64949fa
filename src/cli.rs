//! The command line. Reads files and the clock (the edge), then calls the pure core.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};

use crate::cost;
use crate::pricing::load::PriceBook;
use crate::render;
use crate::scenario::{EMBEDDED_SEED, Scenario, parse_instant};

/// costd: AWS networking spend — NAT vs VPC endpoints, demo-window ALBs, budgets.
#[derive(Debug, Parser)]
#[command(name = "costd", version, about)]
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
    },
}

fn parse_at(s: &str) -> Result<DateTime<Utc>, String> {
    parse_instant(s).map_err(|e| format!("{e}; expected e.g. 2026-12-01T00:00:00Z"))
}

/// Runs one command, writing its output to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<()> {
    match cli.command {
        Command::Model {
            scenario,
            format,
            pricing_dir,
            at,
        } => {
            let book = match &pricing_dir {
                Some(dir) => PriceBook::from_dir(dir)?,
                None => PriceBook::embedded()?,
            };
            let (label, src) = match &scenario {
                Some(path) => {
                    let src = std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read scenario {}", path.display()))?;
                    (path.display().to_string(), src)
                }
                None => (
                    "<embedded>/config/scenarios/seed-production-vpc.toml".to_string(),
                    EMBEDDED_SEED.to_string(),
                ),
            };
            let scenario = Scenario::parse(&label, &src, &book.regions())?;
            let prices = book
                .get(&scenario.region)
                .expect("Scenario::parse checks the region has a table");
            let report = cost::evaluate(&scenario, prices, at.unwrap_or_else(Utc::now));
            match format {
                Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
                Format::Table => write!(out, "{}", render::table(&report))?,
            }
            Ok(())
        }
    }
}
