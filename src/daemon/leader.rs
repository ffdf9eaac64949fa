//! Replicas on PostgreSQL: the elector that wins, renews and gives up the
//! leader lease ([`run_elector`]), the gate in front of every ELB call that
//! changes something ([`Fenced`]), and a token for "this term of
//! leadership" that the reconcile loop runs under ([`term`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::app::leadership::{Leadership, Mode};
use crate::aws::elb::{
    ElbApi, LbSpec, ListenerSpec, ObservedLb, ObservedListener, ObservedTg, Owned, TAG_LEASE_TOKEN, TgSpec,
};
use crate::aws::{AwsError, AwsErrorKind};
use crate::config::LeaseConfig;
use crate::store::postgres::{Fence, LeadOutcome, PgStore};

/// Wins or renews the lease every [`LeaseConfig::renew_every`], sets the
/// store's fence to match, and keeps `leadership` up to date; on shutdown
/// gives the lease up so a standby takes over at once.
pub async fn run_elector(
    store: Arc<PgStore>,
    lease_name: String,
    lease: LeaseConfig,
    leadership: Arc<Leadership>,
    shutdown: CancellationToken,
) {
    let me = leadership.view().me;
    let mut held: Option<i64> = None;
    // The local deadline passed without a renewal: stop acting, at once.
    let lapse = |held: &mut Option<i64>| {
        tracing::warn!(lease = %lease_name, "the lease's local deadline passed without a renewal: stopped acting");
        *held = None;
        store.set_fence(Fence::Required {
            lease: lease_name.clone(),
            token: None,
        });
        leadership.lapse();
    };
    loop {
        let sent = Instant::now();
        let renewal = {
            let (store, name, me) = (store.clone(), lease_name.clone(), me.clone());
            // A renewal that takes longer than the renewal interval counts as failed
            // (a database cut off without a reset would otherwise hold the elector).
            tokio::time::timeout(
                lease.renew_every(),
                tokio::task::spawn_blocking(move || store.try_lead(&name, &me, lease.ttl)),
            )
        };
        tokio::pin!(renewal);
        let attempt = loop {
            let deadline = leadership.act_until();
            tokio::select! {
                r = &mut renewal => break r,
                _ = tokio::time::sleep_until(deadline.unwrap_or(sent)), if deadline.is_some() => lapse(&mut held),
            }
        };
        let attempt = match attempt {
            Ok(joined) => joined,
            Err(_) => Ok(Err(crate::store::StoreError::Unavailable(format!(
                "no answer within {} ms",
                lease.renew_every().as_millis()
            )))),
        };
        match attempt {
            Ok(Ok(LeadOutcome::Leading(rec))) => {
                if held != Some(rec.token) {
                    // The fence first: ledger writes carry the new token from the start.
                    store.set_fence(Fence::Required {
                        lease: lease_name.clone(),
                        token: Some(rec.token),
                    });
                    tracing::info!(token = rec.token, lease = %lease_name, ttl_s = lease.ttl.as_secs(), "leading: won the lease");
                    held = Some(rec.token);
                }
                leadership.lead(
                    rec.token,
                    rec.acquired_at,
                    rec.expires_at,
                    sent + lease.ttl.saturating_sub(lease.margin()),
                );
            }
            Ok(Ok(LeadOutcome::Following(rec))) => {
                if held.take().is_some() || leadership.view().leader.as_deref() != Some(&rec.holder) {
                    tracing::info!(leader = %rec.holder, token = rec.token, since = %rec.acquired_at.to_rfc3339(), "standing by: another replica leads");
                }
                store.set_fence(Fence::Required {
                    lease: lease_name.clone(),
                    token: None,
                });
                leadership.follow(Some((rec.holder, rec.token, rec.acquired_at, rec.expires_at)));
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "renewing the leader lease failed; acting only until the lease's local deadline");
            }
            Err(e) => tracing::warn!(error = %e, "the lease call panicked"),
        }
        // Sleep until the next renewal, waking at the local deadline to stop acting if none succeeded.
        let next = Instant::now() + lease.renew_every();
        let wake = leadership.act_until().map_or(next, |d| d.min(next));
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            _ = shutdown.cancelled() => break,
        }
        if leadership.act_until().is_some_and(|d| Instant::now() >= d) {
            lapse(&mut held);
        }
    }
    if let Some(token) = held {
        leadership.lapse();
        let (store, name, me2) = (store.clone(), lease_name.clone(), me.clone());
        match tokio::task::spawn_blocking(move || store.release(&name, &me2, token)).await {
            Ok(Ok(true)) => tracing::info!(token, "gave up the leader lease"),
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "giving up the lease failed; it runs out by itself"),
            Err(_) => {}
        }
    }
}

/// A token for one term of leadership: cancelled when `shutdown` is, or
/// when this process stops leading.
pub fn term(leadership: &Leadership, shutdown: &CancellationToken) -> CancellationToken {
    let token = shutdown.child_token();
    let t = token.clone();
    let mut rx = leadership.subscribe();
    tokio::spawn(async move {
        loop {
            if !*rx.borrow_and_update() {
                t.cancel();
                return;
            }
            tokio::select! {
                r = rx.changed() => if r.is_err() { t.cancel(); return; },
                _ = t.cancelled() => return,
            }
        }
    });
    token
}

/// Waits until this process leads; false if `shutdown` came first.
pub async fn until_leading(leadership: &Leadership, shutdown: &CancellationToken) -> bool {
    let mut rx = leadership.subscribe();
    loop {
        if *rx.borrow_and_update() && leadership.may_mutate() {
            return true;
        }
        tokio::select! {
            r = rx.changed() => if r.is_err() { return false; },
            // The deadline may pass without a change being sent: look again soon.
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = shutdown.cancelled() => return false,
        }
    }
}

/// An [`ElbApi`] whose calls that change something go through only while
/// this process may act ([`Leadership::may_mutate`]); reads always do.
#[derive(Clone)]
pub struct Fenced<E> {
    inner: E,
    leadership: Arc<Leadership>,
}

impl<E> Fenced<E> {
    /// Gates `inner` on `leadership`.
    pub fn new(inner: E, leadership: Arc<Leadership>) -> Self {
        Fenced { inner, leadership }
    }

    /// `tags` plus the leader's fencing token (`costd:lease-token`), so what a
    /// leader creates names its term.
    fn with_token(&self, tags: &[(String, String)]) -> Vec<(String, String)> {
        let mut out = tags.to_vec();
        let v = self.leadership.view();
        if let (Mode::Replicated, Some(token)) = (v.mode, v.token) {
            out.push((TAG_LEASE_TOKEN.to_string(), token.to_string()));
        }
        out
    }

    fn check(&self, op: &'static str) -> Result<(), AwsError> {
        if self.leadership.may_mutate() {
            Ok(())
        } else {
            Err(AwsError {
                op,
                kind: AwsErrorKind::Transient,
                message: "not sent: this replica does not hold the leader lease (or its lease is about to run out)"
                    .into(),
            })
        }
    }
}

impl<R: crate::aws::route53::Route53Api> crate::aws::route53::Route53Api for Fenced<R> {
    async fn records(&self, zone: &str, name: &str) -> Result<Vec<crate::aws::route53::RecordSet>, AwsError> {
        self.inner.records(zone, name).await
    }
    async fn change(
        &self,
        zone: &str,
        changes: &[crate::aws::route53::Change],
        comment: &str,
    ) -> Result<String, AwsError> {
        self.check("ChangeResourceRecordSets")?;
        self.inner.change(zone, changes, comment).await
    }
    async fn change_insync(&self, id: &str) -> Result<bool, AwsError> {
        self.inner.change_insync(id).await
    }
}

impl<E: ElbApi> ElbApi for Fenced<E> {
    async fn list_owned(&self, prefix: &str, deployment: &str) -> Result<Owned, AwsError> {
        self.inner.list_owned(prefix, deployment).await
    }
    async fn find_lb(&self, name: &str) -> Result<Option<ObservedLb>, AwsError> {
        self.inner.find_lb(name).await
    }
    async fn find_tg(&self, name: &str) -> Result<Option<ObservedTg>, AwsError> {
        self.inner.find_tg(name).await
    }
    async fn create_tg(&self, spec: &TgSpec) -> Result<String, AwsError> {
        self.check("CreateTargetGroup")?;
        let spec = TgSpec {
            tags: self.with_token(&spec.tags),
            ..spec.clone()
        };
        self.inner.create_tg(&spec).await
    }
    async fn register_targets(&self, tg_arn: &str, targets: &[(String, u16)]) -> Result<(), AwsError> {
        self.check("RegisterTargets")?;
        self.inner.register_targets(tg_arn, targets).await
    }
    async fn create_lb(&self, spec: &LbSpec) -> Result<ObservedLb, AwsError> {
        self.check("CreateLoadBalancer")?;
        let spec = LbSpec {
            tags: self.with_token(&spec.tags),
            ..spec.clone()
        };
        self.inner.create_lb(&spec).await
    }
    async fn describe_lb(&self, arn: &str) -> Result<Option<ObservedLb>, AwsError> {
        self.inner.describe_lb(arn).await
    }
    async fn listeners(&self, lb_arn: &str) -> Result<Vec<ObservedListener>, AwsError> {
        self.inner.listeners(lb_arn).await
    }
    async fn create_listener(&self, spec: &ListenerSpec) -> Result<String, AwsError> {
        self.check("CreateListener")?;
        let spec = ListenerSpec {
            tags: self.with_token(&spec.tags),
            ..spec.clone()
        };
        self.inner.create_listener(&spec).await
    }
    async fn delete_listener(&self, arn: &str) -> Result<(), AwsError> {
        self.check("DeleteListener")?;
        self.inner.delete_listener(arn).await
    }
    async fn delete_lb(&self, arn: &str) -> Result<(), AwsError> {
        self.check("DeleteLoadBalancer")?;
        self.inner.delete_lb(arn).await
    }
    async fn delete_tg(&self, arn: &str) -> Result<(), AwsError> {
        self.check("DeleteTargetGroup")?;
        self.inner.delete_tg(arn).await
    }
    async fn add_tags(&self, arn: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        self.check("AddTags")?;
        self.inner.add_tags(arn, tags).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::fake_elb::FakeElb;

    fn lb() -> LbSpec {
        LbSpec {
            name: "demo-1".into(),
            internet_facing: true,
            dualstack: false,
            subnets: vec!["subnet-a".into(), "subnet-b".into()],
            security_groups: vec![],
            tags: vec![("costd:managed".into(), "true".into())],
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_standby_changes_nothing_and_a_leader_signs_what_it_creates() {
        let world = FakeElb::default();
        let leadership = Arc::new(Leadership::replica("me".into(), Duration::from_secs(2)));
        let elb = Fenced::new(world.clone(), leadership.clone());
        // Standing by: reads go through, changes do not reach AWS.
        assert!(elb.list_owned("demo", "d").await.is_ok());
        let e = elb.create_lb(&lb()).await.unwrap_err();
        assert_eq!((e.op, e.kind), ("CreateLoadBalancer", AwsErrorKind::Transient));
        assert!(elb.delete_lb("arn:x").await.is_err());
        assert!(world.mutations().is_empty(), "{:?}", world.mutations());
        // Leading with token 7: the ALB carries it.
        let now = chrono::Utc::now();
        leadership.lead(7, now, now, Instant::now() + Duration::from_secs(8));
        let created = elb.create_lb(&lb()).await.unwrap();
        assert_eq!(created.tags.get(TAG_LEASE_TOKEN).map(String::as_str), Some("7"));
        assert_eq!(created.tags.get("costd:managed").map(String::as_str), Some("true"));
        // Within the headroom of the deadline nothing new starts.
        tokio::time::advance(Duration::from_millis(6_500)).await;
        assert!(elb.delete_lb(&created.arn).await.is_err());
        assert_eq!(world.w().lbs.len(), 1);
    }
}
