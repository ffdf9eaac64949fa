//! The daemon's periodic jobs besides reconciling: the projection loop and
//! the scheduled price refresh, both on tokio timers. The refresh runs on
//! costd's own cron grammar ([`CronExpr`], the one the demo windows use),
//! evaluated in UTC.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::projection::ProjectionJob;
use super::reconcile_loop::Backoff;
use crate::app::{App, Prices, SharedPrices};
use crate::aws::cloudwatch::CloudWatchApi;
use crate::config::Config;
use crate::schedule::CronExpr;

/// Why a scheduled price refresh failed (the prices in use are kept).
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// The Price List could not be read.
    #[error(transparent)]
    Fetch(#[from] crate::aws::pricing::FetchError),
    /// Its products did not rebuild into a table.
    #[error(transparent)]
    Rebuild(#[from] crate::pricing::pricelist::PriceListError),
    /// The rebuilt book lacks the deployment's region.
    #[error(transparent)]
    Prices(#[from] crate::app::prices::MissingTable),
    /// The table could not be written (the new prices are in use all the same).
    #[error("writing {path}: {source}")]
    Write {
        /// The table's path.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// One scheduled price refresh: fetch, rebuild, log the changes, swap the
/// prices in whole (tables, planner settings, NAT-vs-endpoints model) and
/// write the table when configured. A failure keeps the prices in use.
pub async fn refresh_prices(
    cfg: &Config,
    prices: &SharedPrices,
    today: chrono::NaiveDate,
) -> Result<Vec<crate::pricing::pricelist::RateChange>, RefreshError> {
    let p = &cfg.pricing;
    let client = crate::aws::pricing::client(&p.api_region, p.endpoint_url.as_ref()).await;
    let items = crate::aws::pricing::fetch(&client, &cfg.region).await?;
    let current = prices.get();
    let (table, changes) = crate::pricing::pricelist::rebuild(current.table(), &items, today)?;
    for c in &changes {
        tracing::warn!(rate = %c.key, old = ?c.old, new = ?c.new, sku = %c.sku, "price changed in the AWS Price List");
    }
    if !changes.is_empty() {
        let mut book = current.book.clone();
        book.replace(table.clone());
        prices.replace(Prices::build(cfg, book)?);
        if let (true, Some(dir)) = (p.write, &cfg.pricing_dir) {
            let path = dir.join(format!("{}.toml", cfg.region));
            crate::pricing::write::write_atomically(&path, &table.to_toml())
                .map_err(|source| RefreshError::Write { path, source })?;
        }
    }
    Ok(changes)
}

/// The first firing of `cron` (in UTC) strictly after `after`, within a
/// year and a day; `None` for a cron that never fires (e.g. `0 0 30 2 *`).
pub fn next_firing(cron: &CronExpr, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.occurrences(
        chrono_tz::UTC,
        after + chrono::Duration::seconds(1),
        after + chrono::Duration::days(367),
    )
    .into_iter()
    .next()
}

/// Refreshes the prices at each firing of `cron` until `shutdown`.
pub async fn run_price_refresh(app: App, cron: CronExpr, shutdown: CancellationToken) {
    loop {
        let now = (app.clock)();
        let Some(due) = next_firing(&cron, now) else {
            return tracing::error!(cron = %cron.as_str(), "the price refresh cron never fires; no refresh scheduled");
        };
        tracing::info!(next = %due.to_rfc3339(), "next price refresh");
        let wait = (due - now).to_std().unwrap_or(StdDuration::ZERO);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => break,
        }
        let r = tokio::select! {
            r = refresh_prices(&app.cfg, &app.prices, (app.clock)().date_naive()) => r,
            _ = shutdown.cancelled() => break,
        };
        match r {
            Ok(c) if c.is_empty() => tracing::info!("price refresh: no changes"),
            Ok(c) => {
                tracing::info!(changes = c.len(), "price refresh: the new prices are in use");
                app.changed.notify_one();
                // Every replica refreshes its own prices; the leader tells people.
                if app.leadership.may_mutate() {
                    let e = crate::notify::schedule::price_changed_event(
                        &app.cfg.deployment,
                        &app.cfg.region,
                        &c,
                        (app.clock)(),
                    );
                    match app.store.record_events(&crate::notify::routed(&app.cfg, vec![e])) {
                        Ok(_) => app.outbox.notify_one(),
                        Err(e) => tracing::warn!(error = %e, "recording the price change event"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "price refresh failed; keeping the current prices"),
        }
    }
}

/// Checks the bill against the ledger at each firing of `cron` (UTC),
/// while leading (a standby leaves Cost Explorer, billed per request, to
/// the leader). Each check is logged and kept for `GET /api/v1/bill`.
pub async fn run_bill_check(app: App, cron: CronExpr, shutdown: CancellationToken) {
    // A firing missed while the daemon was down is made up for at once (once:
    // the check is kept, so a restart loop does not ask Cost Explorer again).
    let last = match app.store.cached(crate::app::bill::LAST_CHECK_KEY) {
        Ok(kept) => kept.map(|(_, at)| at),
        Err(e) => {
            tracing::warn!(error = %e, "reading the last bill check; not catching up");
            Some((app.clock)())
        }
    };
    let mut catch_up = missed_firing(&cron, last, (app.clock)());
    loop {
        if catch_up {
            tracing::info!("bill check: a firing was missed while costd was down; checking now");
            catch_up = false;
        } else {
            let now = (app.clock)();
            let Some(due) = next_firing(&cron, now) else {
                return tracing::error!(cron = %cron.as_str(), "the bill check cron never fires; no check scheduled");
            };
            tracing::info!(next = %due.to_rfc3339(), "next bill check");
            let wait = (due - now).to_std().unwrap_or(StdDuration::ZERO);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.cancelled() => break,
            }
        }
        if !app.leadership.may_mutate() {
            tracing::info!("bill check: standing by (the leader checks the bill)");
            continue;
        }
        let r = tokio::select! {
            r = crate::app::bill::scheduled_check(&app, (app.clock)()) => r,
            _ = shutdown.cancelled() => break,
        };
        match r {
            Ok(checks) => {
                for r in &checks.reports {
                    tracing::info!(month = %r.month, requests = r.requests_made, "bill check: {}", r.check.summary);
                    tracing::info!(month = %r.month, "bill check: projection error: {}", r.projection_error.summary);
                    for w in &r.warnings {
                        tracing::warn!(month = %r.month, "bill check: {w}");
                    }
                    if let Some(rule) = r.check.billed_by.filter(|b| *b != r.configured_rule) {
                        tracing::warn!(
                            month = %r.month, billed_by = rule.as_str(), configured = r.configured_rule.as_str(),
                            "the bill follows `{}` but [billing] partial_hour is `{}`: `costd bill --apply` writes it",
                            rule.as_str(), r.configured_rule.as_str()
                        );
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "bill check failed; next at the next firing"),
        }
    }
}

/// Whether `cron` fired (within the last year) after the last check at
/// `last` (`None`: never checked) and before `now`.
pub fn missed_firing(cron: &CronExpr, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    let previous = cron
        .occurrences(chrono_tz::UTC, now - chrono::Duration::days(367), now)
        .into_iter()
        .rfind(|t| *t <= now);
    match (previous, last) {
        (Some(p), Some(l)) => l < p,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// The projection loop: on start, every `recompute_seconds`/`publish_seconds`,
/// and when the reconciler or the schedule changed something.
pub async fn run_projection<C: CloudWatchApi + Clone + 'static>(
    job: Arc<ProjectionJob<C>>,
    cfg: Arc<Config>,
    changed: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let every = cfg.projection.recompute_seconds.min(cfg.cloudwatch.publish_seconds);
    let mut alarms_synced = false;
    let mut backoff = Backoff::default();
    loop {
        // AWS calls can take a while to fail (retries, timeouts); shutdown abandons them.
        if !alarms_synced && job.app().leadership.may_mutate() {
            tokio::select! {
                r = job.sync_alarms() => match r {
                    Ok(()) => alarms_synced = true,
                    Err(e) => tracing::warn!(error = %e, "syncing CloudWatch alarms failed; will retry"),
                },
                _ = shutdown.cancelled() => break,
            }
        }
        let result = tokio::select! {
            r = job.run_once((job.app().clock)()) => r,
            _ = shutdown.cancelled() => break,
        };
        let wait = match result {
            Ok(p) => {
                backoff.reset();
                tracing::info!(
                    month = %p.month, month_to_date_usd = %crate::money::to_cents(p.month_to_date_usd),
                    projected_usd = %crate::money::to_cents(p.projected_usd), "projection"
                );
                None
            }
            Err(e) => {
                let w = backoff.fail();
                tracing::warn!(error = %format!("{e:#}"), retry_in_s = w.num_seconds(), "projection failed");
                Some(w.to_std().unwrap_or(StdDuration::from_secs(1)))
            }
        };
        tokio::select! {
            _ = changed.notified() => {}
            _ = tokio::time::sleep(wait.unwrap_or(StdDuration::from_secs(u64::from(every)))) => {}
            _ = shutdown.cancelled() => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_refresh_fires_at_the_next_cron_minute_in_utc() {
        let at = |d, h, m| Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap();
        let daily = CronExpr::parse("0 3 * * *").unwrap();
        assert_eq!(next_firing(&daily, at(22, 2, 59)), Some(at(22, 3, 0)));
        assert_eq!(next_firing(&daily, at(22, 3, 0)), Some(at(23, 3, 0)), "strictly after");
        let mondays = CronExpr::parse("30 4 * * Mon").unwrap();
        assert_eq!(
            next_firing(&mondays, at(22, 12, 0)),
            Some(at(23, 4, 30)),
            "2026-11-22 is a Sunday"
        );
        assert_eq!(next_firing(&CronExpr::parse("0 0 30 2 *").unwrap(), at(22, 0, 0)), None);
    }

    #[test]
    fn a_bill_check_missed_while_down_is_made_up_once() {
        let at = |d, h, m| Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap();
        let daily = CronExpr::parse("30 6 * * *").unwrap();
        // Never checked: the 06:30 firing has passed.
        assert!(missed_firing(&daily, None, at(22, 9, 0)));
        // Checked at 06:30 today: nothing missed (a restart does not ask again).
        assert!(!missed_firing(&daily, Some(at(22, 6, 30)), at(22, 9, 0)));
        // Last checked yesterday morning, now 09:00: today's 06:30 was missed.
        assert!(missed_firing(&daily, Some(at(21, 6, 30)), at(22, 9, 0)));
        // Last checked yesterday morning, now 06:00: the next firing is still to come.
        assert!(!missed_firing(&daily, Some(at(21, 6, 30)), at(22, 6, 0)));
        // A cron that never fires misses nothing.
        assert!(!missed_firing(
            &CronExpr::parse("0 0 30 2 *").unwrap(),
            None,
            at(22, 9, 0)
        ));
    }
}
