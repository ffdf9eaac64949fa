//! Limits on what one client can make the daemon do: a small pool with a
//! deadline for expensive requests, and a per-address limit on sign-ins.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::ApiError;

/// Runs expensive requests (pricing a scenario, projecting a month that is
/// not cached) on the blocking pool, at most `concurrency` at once and each
/// within `timeout`, so they never stall the async workers that serve the
/// dashboard and the reconciler.
#[derive(Clone)]
pub struct Expensive {
    slots: Arc<Semaphore>,
    timeout: Duration,
}

/// Why an expensive request was not answered.
#[derive(Debug)]
pub enum Refused {
    /// Every slot is busy: 429, try again in a second.
    Busy,
    /// It ran past the deadline: 503.
    TimedOut(Duration),
    /// It failed (a bug: the task panicked).
    Failed(String),
}

impl Expensive {
    /// A pool of `concurrency` slots with a `timeout` per request.
    pub fn new(concurrency: usize, timeout: Duration) -> Self {
        Expensive {
            slots: Arc::new(Semaphore::new(concurrency)),
            timeout,
        }
    }

    /// Runs `f` on the blocking pool if a slot is free. The slot stays taken
    /// until `f` returns, even after the deadline has answered the client, so
    /// abandoned work cannot pile up past the limit.
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, Refused> {
        let permit = self.slots.clone().try_acquire_owned().map_err(|_| Refused::Busy)?;
        let task = tokio::task::spawn_blocking(move || {
            let _slot = permit;
            f()
        });
        match tokio::time::timeout(self.timeout, task).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Refused::Failed(e.to_string())),
            Err(_) => Err(Refused::TimedOut(self.timeout)),
        }
    }
}

impl From<Refused> for ApiError {
    fn from(r: Refused) -> Self {
        match r {
            Refused::Busy => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "busy",
                None,
                "too many expensive requests at once; try again in a second",
            )
            .retry_after(1),
            Refused::TimedOut(d) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                None,
                format!(
                    "the request took longer than {} s (web.expensive_timeout_seconds); make it smaller",
                    d.as_secs()
                ),
            )
            .retry_after(5),
            Refused::Failed(e) => ApiError::internal(e),
        }
    }
}

/// Sign-in attempts per client address, in fixed one-minute windows. The
/// table is bounded: past `MAX_TRACKED` addresses the oldest windows go first.
pub struct LoginLimiter {
    per_minute: u32,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

/// Addresses tracked at most (a few hundred KB).
const MAX_TRACKED: usize = 10_000;

impl LoginLimiter {
    /// At most `per_minute` attempts per address per minute.
    pub fn new(per_minute: u32) -> Self {
        LoginLimiter {
            per_minute,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `ip` at `now`; `Err(seconds)` to wait when over the limit.
    pub fn attempt(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let minute = Duration::from_secs(60);
        let mut seen = self.seen.lock().expect("login limiter lock");
        if seen.len() >= MAX_TRACKED && !seen.contains_key(&ip) {
            seen.retain(|_, (start, _)| now.duration_since(*start) < minute);
            if seen.len() >= MAX_TRACKED {
                // Every tracked address is still inside its minute: refuse newcomers until one expires.
                return Err(60);
            }
        }
        let entry = seen.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= minute {
            *entry = (now, 0);
        }
        if entry.1 >= self.per_minute {
            return Err(minute.saturating_sub(now.duration_since(entry.0)).as_secs().max(1));
        }
        entry.1 += 1;
        Ok(())
    }
}

/// A 429 with `Retry-After`.
pub fn too_many(message: &str, retry_after_s: u64) -> Response {
    let mut r = (StatusCode::TOO_MANY_REQUESTS, message.to_string()).into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_pool_answers_busy_and_a_slow_request_times_out() {
        let pool = Expensive::new(1, Duration::from_millis(100));
        assert_eq!(pool.run(|| 2 + 2).await.unwrap(), 4);
        // A request past its deadline: answered 503, and it keeps its slot until it really ends.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let slow = pool.run(move || rx.recv_timeout(Duration::from_secs(5)).is_ok());
        assert!(matches!(slow.await, Err(Refused::TimedOut(_))));
        assert!(
            matches!(pool.run(|| ()).await, Err(Refused::Busy)),
            "the slot is still taken"
        );
        let e: ApiError = Refused::Busy.into();
        let r = e.into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        tx.send(()).unwrap();
        // Once the abandoned work ends, the slot is free again.
        let mut freed = false;
        for _ in 0..100 {
            if pool.run(|| ()).await.is_ok() {
                freed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(freed);
        let r = ApiError::from(Refused::TimedOut(Duration::from_secs(10))).into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "5");
    }

    #[test]
    fn sign_ins_are_limited_per_address_per_minute() {
        let l = LoginLimiter::new(3);
        let t0 = Instant::now();
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(l.attempt(a, t0), Ok(()));
        }
        assert_eq!(l.attempt(a, t0 + Duration::from_secs(20)), Err(40));
        assert_eq!(l.attempt(b, t0), Ok(()), "another address has its own budget");
        assert_eq!(l.attempt(a, t0 + Duration::from_secs(60)), Ok(()), "a new minute");
    }

    #[test]
    fn the_table_of_addresses_is_bounded() {
        let l = LoginLimiter::new(1);
        let t0 = Instant::now();
        for i in 0..MAX_TRACKED as u32 {
            assert!(l.attempt(IpAddr::from(i.to_be_bytes()), t0).is_ok());
        }
        let newcomer: IpAddr = "255.255.255.255".parse().unwrap();
        assert_eq!(l.attempt(newcomer, t0), Err(60), "full, nobody's minute is over");
        assert!(
            l.attempt(newcomer, t0 + Duration::from_secs(61)).is_ok(),
            "expired entries make room"
        );
        assert!(l.seen.lock().unwrap().len() <= MAX_TRACKED);
    }
}
