//! An open-loop HTTP load generator: sends requests at a fixed rate, whatever
//! the server does, and measures each request's latency from the moment it
//! was *due* (not from when it was sent), so a stalled server cannot hide its
//! stalls by slowing the client down (the "coordinated omission" that wrk2
//! corrects and wrk does not). At most `connections` requests are in flight;
//! a request that waits for one counts that wait as latency.
//!
//! Shared by the `loadgen` example (the proof script's load) and the
//! integration test that measures the edge-to-AWS latency under load.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to send.
#[derive(Clone, Debug)]
pub struct Plan {
    pub url: String,
    /// Extra request headers, e.g. `Authorization`.
    pub headers: Vec<(String, String)>,
    /// Requests per second to send, held fixed.
    pub rate_per_s: u32,
    /// How many requests in all.
    pub requests: u64,
    /// Most requests in flight at once (the connection pool's size).
    pub connections: usize,
}

/// What came back.
#[derive(Debug)]
pub struct Report {
    /// Latencies of the requests answered with a 2xx status, in microseconds, sorted.
    pub latencies_us: Vec<u64>,
    /// Requests answered with any other status, or that failed outright.
    pub errors: u64,
    /// From the first request due to the last one answered.
    pub elapsed: Duration,
}

impl Report {
    /// The `q`-quantile (0 < q ≤ 1) of the 2xx latencies, nearest-rank.
    pub fn quantile_us(&self, q: f64) -> u64 {
        quantile(&self.latencies_us, q)
    }

    pub fn ok(&self) -> u64 {
        self.latencies_us.len() as u64
    }

    /// Requests answered per second (2xx and errors).
    pub fn achieved_per_s(&self) -> f64 {
        (self.ok() + self.errors) as f64 / self.elapsed.as_secs_f64()
    }

    /// One line: `<label>: 2000 rps asked, 1999.8 answered/s, 100000 ok, 0 errors, p50 0.31 ms …`.
    pub fn summary(&self, label: &str, plan: &Plan) -> String {
        let ms = |us: u64| us as f64 / 1000.0;
        format!(
            "{label}: {} rps asked, {:.1} answered/s, {} ok, {} errors, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
            plan.rate_per_s,
            self.achieved_per_s(),
            self.ok(),
            self.errors,
            ms(self.quantile_us(0.50)),
            ms(self.quantile_us(0.90)),
            ms(self.quantile_us(0.99)),
            ms(self.quantile_us(0.999)),
            ms(self.latencies_us.last().copied().unwrap_or(0)),
        )
    }
}

/// Nearest-rank quantile of sorted values: the smallest value with at least
/// `q` of all values at or below it; 0 for no values.
pub fn quantile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs `plan` to the end and reports.
pub async fn run(plan: &Plan) -> Report {
    assert!(
        plan.rate_per_s > 0 && plan.connections > 0,
        "rate and connections must be positive"
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(plan.connections)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client");
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in &plan.headers {
        headers.insert(
            reqwest::header::HeaderName::from_bytes(k.as_bytes()).expect("a header name"),
            v.parse().expect("a header value"),
        );
    }
    let slots = Arc::new(tokio::sync::Semaphore::new(plan.connections));
    let period = Duration::from_secs_f64(1.0 / f64::from(plan.rate_per_s));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Option<u64>>();
    // The dispatcher is a plain thread: the OS's sleep wakes within tens of
    // microseconds, tokio's timer only to the millisecond, which would add up
    // to a millisecond of the client's own lateness to every figure.
    let runtime = tokio::runtime::Handle::current();
    let (requests, url) = (plan.requests, plan.url.clone());
    let start = Instant::now();
    let dispatcher = std::thread::spawn(move || {
        for i in 0..requests {
            let due = start + period.mul_f64(i as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let slot = runtime
                .block_on(slots.clone().acquire_owned())
                .expect("the semaphore stays open");
            let req = client.get(&url).headers(headers.clone());
            let done = done_tx.clone();
            runtime.spawn(async move {
                let ok = match req.send().await {
                    Ok(resp) => resp.status().is_success() && resp.bytes().await.is_ok(),
                    Err(_) => false,
                };
                drop(slot);
                let _ = done.send(ok.then(|| due.elapsed().as_micros() as u64));
            });
        }
    });
    let mut latencies_us = Vec::with_capacity(plan.requests as usize);
    let mut errors = 0;
    while let Some(result) = done_rx.recv().await {
        match result {
            Some(us) => latencies_us.push(us),
            None => errors += 1,
        }
        if latencies_us.len() as u64 + errors == plan.requests {
            break;
        }
    }
    dispatcher.join().expect("the dispatcher does not panic");
    let elapsed = start.elapsed();
    latencies_us.sort_unstable();
    Report {
        latencies_us,
        errors,
        elapsed,
    }
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn nearest_rank_quantiles() {
        // 1..=100: the p50 is the 50th value, the p99 the 99th, the p99.9 rounds up to the 100th.
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&v, 0.50), 50);
        assert_eq!(quantile(&v, 0.99), 99);
        assert_eq!(quantile(&v, 0.999), 100);
        assert_eq!(quantile(&v, 1.0), 100);
        // Three values: ceil(0.5 × 3) = 2nd value.
        assert_eq!(quantile(&[10, 20, 30], 0.5), 20);
        assert_eq!(quantile(&[], 0.99), 0);
    }
}
