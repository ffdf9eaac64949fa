//! Where the daemon's loops read the time. The pure core never does: its
//! instants are parameters; the loops take a [`Clock`] so that a test can
//! run them on tokio's paused, auto-advancing time.

use std::sync::Arc;

use chrono::{DateTime, Utc};

/// Reads the current instant.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The system's wall clock (what a daemon runs on: schedules follow it,
/// NTP corrections included).
pub fn wall() -> Clock {
    Arc::new(Utc::now)
}

/// A clock that starts at the wall clock's now and then advances with
/// tokio's clock: under `tokio::time::pause` it moves only when tokio's time
/// does (auto-advancing to the next timer), so a test can run hours of
/// schedule in milliseconds. Must be made inside a tokio runtime.
pub fn tokio_time() -> Clock {
    let (start_utc, start) = (Utc::now(), tokio::time::Instant::now());
    Arc::new(move || {
        let elapsed = tokio::time::Instant::now().duration_since(start);
        start_utc + chrono::Duration::from_std(elapsed).unwrap_or(chrono::Duration::MAX)
    })
}

#[cfg(test)]
mod tests {
    #[tokio::test(start_paused = true)]
    async fn the_tokio_clock_follows_paused_time() {
        let clock = super::tokio_time();
        let t0 = clock();
        tokio::time::sleep(std::time::Duration::from_secs(3 * 3600)).await;
        assert_eq!(
            clock() - t0,
            chrono::Duration::hours(3),
            "exactly the virtual time slept"
        );
        let wall = super::wall();
        assert!(
            (wall() - t0) < chrono::Duration::minutes(1),
            "the wall clock did not move 3 h"
        );
    }
}
