//! The one integration test binary: drives the real `costd` binary and, in
//! later modules, the real server against AWS API emulators.

mod architecture;
mod bill;
mod browser;
mod calendar;
mod cdp;
mod check;
mod client;
mod cloudwatch;
mod crash;
mod daemon;
mod dashboard;
mod deploy;
mod dns;
mod export;
mod failover;
mod fuzz;
mod hardening;
mod helpers;
mod history;
mod model_cli;
mod notify;
#[path = "../bench/open_loop.rs"]
mod open_loop;
mod ownership;
mod pricing;
mod scale;
mod traffic;
mod web;
mod windows_cli;
