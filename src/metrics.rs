//! Process-wide counters for `GET /metrics` (Prometheus text format):
//! AWS call latencies by operation, reconcile runs and errors. Gauges that
//! come from state (spend, ALB state) are rendered by the web layer.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram, seconds.
const BUCKETS: [f64; 9] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
    errors: u64,
}

/// The registry.
#[derive(Default)]
pub struct Metrics {
    aws: Mutex<BTreeMap<String, Histogram>>,
    /// Reconcile runs.
    pub reconcile_runs: AtomicU64,
    /// Reconcile runs that failed.
    pub reconcile_errors: AtomicU64,
    /// HTTP requests served.
    pub http_requests: AtomicU64,
}

static METRICS: std::sync::LazyLock<Metrics> = std::sync::LazyLock::new(Metrics::default);

/// The registry.
pub fn get() -> &'static Metrics {
    &METRICS
}

/// Records one AWS call.
pub fn observe_aws(op: &str, took: Duration, ok: bool) {
    let mut m = METRICS.aws.lock().expect("metrics lock");
    let h = m.entry(op.to_string()).or_default();
    let s = took.as_secs_f64();
    for (i, b) in BUCKETS.iter().enumerate() {
        if s <= *b {
            h.counts[i] += 1;
        }
    }
    h.count += 1;
    h.sum_seconds += s;
    if !ok {
        h.errors += 1;
    }
}

/// The counters in Prometheus text format.
pub fn render(out: &mut String) {
    let m = get();
    let _ = writeln!(
        out,
        "# HELP costd_reconcile_runs_total Reconcile steps run.\n# TYPE costd_reconcile_runs_total counter"
    );
    let _ = writeln!(
        out,
        "costd_reconcile_runs_total {}",
        m.reconcile_runs.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "# HELP costd_reconcile_errors_total Reconcile steps that failed (retried with backoff).\n# TYPE costd_reconcile_errors_total counter"
    );
    let _ = writeln!(
        out,
        "costd_reconcile_errors_total {}",
        m.reconcile_errors.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "# HELP costd_http_requests_total HTTP requests served.\n# TYPE costd_http_requests_total counter"
    );
    let _ = writeln!(
        out,
        "costd_http_requests_total {}",
        m.http_requests.load(Ordering::Relaxed)
    );
    let aws = m.aws.lock().expect("metrics lock").clone();
    let _ = writeln!(
        out,
        "# HELP costd_aws_call_duration_seconds AWS API call latency by operation.\n# TYPE costd_aws_call_duration_seconds histogram"
    );
    for (op, h) in &aws {
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "costd_aws_call_duration_seconds_bucket{{operation=\"{op}\",le=\"{b}\"}} {}",
                h.counts[i]
            );
        }
        let _ = writeln!(
            out,
            "costd_aws_call_duration_seconds_bucket{{operation=\"{op}\",le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(
            out,
            "costd_aws_call_duration_seconds_sum{{operation=\"{op}\"}} {}",
            h.sum_seconds
        );
        let _ = writeln!(
            out,
            "costd_aws_call_duration_seconds_count{{operation=\"{op}\"}} {}",
            h.count
        );
    }
    let _ = writeln!(
        out,
        "# HELP costd_aws_call_errors_total AWS API calls that failed.\n# TYPE costd_aws_call_errors_total counter"
    );
    for (op, h) in &aws {
        let _ = writeln!(out, "costd_aws_call_errors_total{{operation=\"{op}\"}} {}", h.errors);
    }
}
