//! `cargo run --release --example loadgen -- URL --rate 2000 --requests 100000`:
//! fixed-rate HTTP load with latencies measured from each request's due time
//! (see `open_loop.rs`). Prints one summary line; exits non-zero when any
//! request failed or the rate could not be held.

use clap::Parser;

#[path = "open_loop.rs"]
mod open_loop;

#[derive(Parser)]
#[command(about = "Fixed-rate HTTP load; latency measured from each request's due time")]
struct Args {
    /// The URL to GET.
    url: String,
    /// Requests per second, held fixed.
    #[arg(long, default_value_t = 2000)]
    rate: u32,
    /// Requests in all (default: 10 seconds' worth at --rate).
    #[arg(long)]
    requests: Option<u64>,
    /// Most requests in flight at once.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// An extra header, `Name: value`; repeatable.
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// The label in front of the summary line.
    #[arg(long, default_value = "load")]
    label: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let mut headers = Vec::new();
    for h in &args.headers {
        let Some((k, v)) = h.split_once(':') else {
            eprintln!("--header {h:?}: expected `Name: value`");
            return std::process::ExitCode::from(2);
        };
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let plan = open_loop::Plan {
        url: args.url,
        headers,
        rate_per_s: args.rate,
        requests: args.requests.unwrap_or(u64::from(args.rate) * 10),
        connections: args.connections,
    };
    let report = open_loop::run(&plan).await;
    println!("{}", report.summary(&args.label, &plan));
    // Held the rate: everything answered within 2% of the planned duration plus a second.
    let planned = plan.requests as f64 / f64::from(plan.rate_per_s);
    let held = report.elapsed.as_secs_f64() <= planned * 1.02 + 1.0;
    if report.errors > 0 || !held {
        eprintln!(
            "{}: {} errors; took {:.1} s for {planned:.1} s of requests",
            args.label,
            report.errors,
            report.elapsed.as_secs_f64()
        );
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
