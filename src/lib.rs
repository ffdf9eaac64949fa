//! costd: AWS networking spend for a VPC with no NAT Gateway and a public ALB
//! that runs only in demo windows.
//!
//! Map of the crate (see ARCHITECTURE.md for the invariants):
//! - [`pricing`]: price tables (`pricing/<region>.toml`) → [`pricing::PriceTable`]; the embedded defaults.
//! - [`scenario`]: scenario files → typed specs for the model.
//! - [`interval`]: PURE half-open UTC spans, shared by the cost rules and the schedule.
//! - [`cost`]: PURE cost rules: line items, NAT vs endpoints, load balancer, CloudWatch, billing rules.
//! - [`model`]: PURE a whole scenario priced with those rules, [`model::evaluate`] (`costd model`).
//! - [`schedule`]: PURE demo windows: cron in IANA time zones, expansion, merging, months.
//! - [`money`]: rounding to cents for display only.
//! - [`input`]: TOML reading with file/line/key errors, shared by every input format.
//! - [`render`]: the terminal table for `costd model`.
//! - [`cli`]: the command line; `main.rs` only calls [`cli::run`].
//! - [`app`]: the use cases (add/list/cancel a window, …) that the CLI, the API and the dashboard share; [`app::App`], the shared state; [`app::Prices`].
//! - [`config`]: the daemon's config file → [`config::Config`].
//! - [`store`]: what costd must not forget (windows, ledger, decisions, alarm states, the notification outbox), in SQLite or PostgreSQL (with the replicas' leader lease).
//! - [`daemon`]: `costd serve`: the reconcile loop, the reconciler, the projection job, the leader elector of replicas.
//! - [`aws`]: adapters for ELBv2, CloudWatch and the Price List API.
//! - [`budget`]: PURE projection and the budget alarm state machine.
//! - [`event`]: PURE what costd tells people: events with a stable id, kind, severity, sentence and facts.
//! - [`notify`]: events derived (budget, schedule) and formatted (Slack, Teams, PagerDuty, webhook); the outbox delivery worker: claims, signatures, retries, dead letters, retention.
//! - [`traffic`]: PURE measured traffic: VPC Flow Logs and Route 53 Resolver query logs attributed to NAT, gateway and interface endpoints, cross-AZ (`costd traffic`).
//! - [`web`]: the dashboard, the JSON API and the HTTP(S) listener with its limits.
//! - [`metrics`]: process-wide counters for `/metrics`.
//! - [`redact`]: secrets (webhook URLs) out of logs and the store.

pub mod app;
pub mod aws;
pub mod budget;
pub mod cli;
pub mod config;
pub mod cost;
pub mod daemon;
pub mod event;
pub mod input;
pub mod interval;
pub mod metrics;
pub mod model;
pub mod money;
pub mod notify;
pub mod pricing;
pub mod redact;
pub mod render;
pub mod scenario;
pub mod schedule;
pub mod store;
pub mod traffic;
pub mod web;
