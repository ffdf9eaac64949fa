//! `GET /metrics`: process-wide counters (reconcile runs and errors, HTTP
//! requests, AWS call latencies by operation) and, at each scrape, gauges read
//! from the daemon's state (spend, budget alarms, the ALB's state), encoded by
//! the `prometheus-client` crate in the OpenMetrics text format, which keeps
//! each metric family together as the format requires.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Upper bounds of the AWS latency histogram, seconds.
const BUCKETS: [f64; 9] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// An AWS API operation, e.g. `DescribeLoadBalancers`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Operation {
    /// The operation's name.
    pub operation: String,
}

fn aws_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// The process-wide metrics (cheap handles: clones share the values).
pub struct Metrics {
    /// Reconcile steps run.
    pub reconcile_runs: Counter,
    /// Reconcile steps that failed.
    pub reconcile_errors: Counter,
    /// HTTP requests served.
    pub http_requests: Counter,
    aws_calls: Family<Operation, Histogram, fn() -> Histogram>,
    aws_errors: Family<Operation, Counter>,
}

static METRICS: std::sync::LazyLock<Metrics> = std::sync::LazyLock::new(|| Metrics {
    reconcile_runs: Counter::default(),
    reconcile_errors: Counter::default(),
    http_requests: Counter::default(),
    aws_calls: Family::new_with_constructor(aws_histogram),
    aws_errors: Family::default(),
});

/// The process-wide metrics.
pub fn get() -> &'static Metrics {
    &METRICS
}

/// Records one AWS call.
pub fn observe_aws(op: &str, took: Duration, ok: bool) {
    let label = Operation {
        operation: op.to_string(),
    };
    METRICS.aws_calls.get_or_create(&label).observe(took.as_secs_f64());
    let errors = METRICS.aws_errors.get_or_create(&label);
    if !ok {
        errors.inc();
    }
}

/// A gauge holding a float (spend in USD).
pub type FloatGauge = Gauge<f64, AtomicU64>;

/// A registry with the process-wide metrics in it; the caller adds the
/// gauges it reads from state, then encodes.
pub fn registry() -> Registry {
    let m = get();
    let mut r = Registry::default();
    r.register("costd_reconcile_runs", "Reconcile steps run", m.reconcile_runs.clone());
    r.register(
        "costd_reconcile_errors",
        "Reconcile steps that failed (retried with backoff)",
        m.reconcile_errors.clone(),
    );
    r.register("costd_http_requests", "HTTP requests served", m.http_requests.clone());
    r.register(
        "costd_aws_call_duration_seconds",
        "AWS API call latency by operation",
        m.aws_calls.clone(),
    );
    r.register(
        "costd_aws_call_errors",
        "AWS API calls that failed",
        m.aws_errors.clone(),
    );
    r
}

/// Encodes `r` in the OpenMetrics text format (ends with `# EOF`).
pub fn encode(r: &Registry) -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, r).expect("writing to a String cannot fail");
    out
}

/// The content type of [`encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
