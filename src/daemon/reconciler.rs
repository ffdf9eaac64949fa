//! The reconciler: one level-triggered step. Observe what costd owns in AWS
//! (by tag), square the ledger with it (adopt orphans, close vanished ALBs),
//! ask the planner what should exist now, and converge:
//! target group → ALB → listeners when one should exist; listeners → ALB →
//! target group when none should. Every step is idempotent, so a crash at
//! any point is repaired by the next run.
//!
//! Safety: only resources whose tags say `costd:managed=true` and
//! `costd:deployment=<this deployment>` are ever modified; a name clash with
//! an untagged resource is an error, never an adoption.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::dns;
use crate::aws::elb::{
    ElbApi, LbSpec, LbState, ListenerAction, ListenerSpec, ObservedLb, Owner, TAG_DEPLOYMENT, TAG_LIFETIME,
    TAG_MANAGED, TAG_STORE, TAG_UNTIL, TgSpec, owned_by, owner_of, until_tag,
};
use crate::aws::route53::Route53Api;
use crate::aws::{AwsError, AwsErrorKind};
use crate::config::Config;
use crate::schedule::planner::{self, Plan, PlannedLifetime, PlannerSettings};
use crate::store::{Decision, DecisionAction, Lifetime, LifetimeReason, NewLifetime, Store, StoreError};

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// AWS failed (retried with backoff by the caller).
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A resource with costd's name exists but is not costd's.
    #[error("{0}")]
    Conflict(String),
}

impl ReconcileError {
    /// What went wrong in words, without AWS's own text (which can name the
    /// account, a role ARN or a resource): safe to show to anyone.
    pub fn summary(&self) -> &'static str {
        match self {
            ReconcileError::Aws(e) => match e.kind {
                crate::aws::AwsErrorKind::Transient => {
                    "AWS is unreachable, throttling or failing; retrying with backoff"
                }
                crate::aws::AwsErrorKind::Other => {
                    "AWS refused a call (often a missing IAM permission); see the daemon's log"
                }
                _ => "an AWS call failed; see the daemon's log",
            },
            ReconcileError::Store(_) => "the store failed; see the daemon's log",
            ReconcileError::Conflict(_) => {
                "a resource with costd's name is not tagged as costd's; see the daemon's log"
            }
        }
    }
}

/// The kind of resource an [`Action`] touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// The ALB (in dry-run: the lifetime recorded for it).
    LoadBalancer,
    /// Its target group.
    TargetGroup,
    /// A listener (named by its port, `:80`).
    Listener,
}

/// One change a run made (or, in dry-run, recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Created.
    Create(Resource, String),
    /// Deleted.
    Delete(Resource, String),
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (verb, kind, name) = match self {
            Action::Create(k, n) => ("create", k, n),
            Action::Delete(k, n) => ("delete", k, n),
        };
        let kind = match kind {
            Resource::LoadBalancer => "load balancer",
            Resource::TargetGroup => "target group",
            Resource::Listener => "listener",
        };
        write!(f, "{verb} {kind} {name}")
    }
}

/// What one run did and when to run again.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The plan at the run's instant.
    pub plan: Plan,
    /// Actions taken (for logs and tests).
    pub actions: Vec<Action>,
    /// Something is in progress (provisioning, target group still in use): look again soon.
    pub pending: bool,
    /// Other stores' ALBs left alone (and why no ALB was created, if one was due).
    pub conflicts: Vec<crate::app::Conflict>,
    /// The stable name is someone else's or points elsewhere: why, left alone.
    pub dns_problem: Option<String>,
}

/// How far back and ahead windows are expanded for planning.
const LOOKAHEAD_DAYS: i64 = 35;

/// Reads the time at which AWS acted (a call returned), for the ledger.
pub use crate::app::Clock;

/// No Route 53: the reconciler of a deployment without `[alb.dns]` (never called).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDns;

impl Route53Api for NoDns {
    async fn records(&self, _zone: &str, _name: &str) -> Result<Vec<crate::aws::route53::RecordSet>, AwsError> {
        Err(AwsError::other("ListResourceRecordSets", "no Route 53 client"))
    }
    async fn change(
        &self,
        _zone: &str,
        _changes: &[crate::aws::route53::Change],
        _comment: &str,
    ) -> Result<String, AwsError> {
        Err(AwsError::other("ChangeResourceRecordSets", "no Route 53 client"))
    }
    async fn change_insync(&self, _id: &str) -> Result<bool, AwsError> {
        Err(AwsError::other("GetChange", "no Route 53 client"))
    }
}

/// One reconcile step over an [`ElbApi`] (and, with `[alb.dns]`, a [`Route53Api`]).
pub struct Reconciler<E, D = NoDns> {
    cfg: Arc<Config>,
    store: Arc<dyn Store>,
    elb: Option<E>,
    /// Route 53, when `[alb.dns]` is set and this is not a dry run.
    dns: Option<D>,
    prices: crate::app::SharedPrices,
    clock: Clock,
    /// The store's id, read once.
    store_id: std::sync::OnceLock<String>,
    /// The lifetime whose ALB waits for the stable name's release, and since when.
    release_waiting: std::sync::Mutex<Option<(i64, DateTime<Utc>)>>,
}

/// `<prefix>-<8 hex>`: deterministic from the deployment and the lifetime's first window.
pub fn lifetime_name(prefix: &str, deployment: &str, first_window: &str) -> String {
    let digest = Sha256::digest(format!("{deployment}/{first_window}").as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{hex}")
}

impl<E: ElbApi, D: Route53Api> Reconciler<E, D> {
    /// A reconciler; `elb` is `None` in dry-run (no AWS calls at all). `clock`
    /// stamps the ledger when a create or delete call returns (runs can be
    /// slow while AWS retries, so the run's start instant is not the bill's).
    pub fn new(
        cfg: Arc<Config>,
        store: Arc<dyn Store>,
        elb: Option<E>,
        prices: crate::app::SharedPrices,
        clock: Clock,
    ) -> Self {
        Reconciler {
            cfg,
            store,
            elb,
            dns: None,
            prices,
            clock,
            store_id: std::sync::OnceLock::new(),
            release_waiting: std::sync::Mutex::new(None),
        }
    }

    /// Keeps the stable name (`[alb.dns]`) through `dns`.
    pub fn with_dns(mut self, dns: Option<D>) -> Self {
        self.dns = dns;
        self
    }

    /// The store's id (`costd:store` on everything this reconciler creates).
    fn store_id(&self) -> Result<&str, StoreError> {
        if let Some(id) = self.store_id.get() {
            return Ok(id);
        }
        let id = self.store.store_id()?;
        Ok(self.store_id.get_or_init(|| id))
    }

    /// The planner settings in use now (they change when the price table is refreshed).
    pub fn settings(&self) -> PlannerSettings {
        self.prices.get().settings.clone()
    }

    /// Concrete windows around `at`: config windows (minus blackouts) and stored ones.
    pub fn windows(&self, at: DateTime<Utc>) -> Result<Vec<planner::DemoWindow>, StoreError> {
        crate::app::windows::demo_windows(&self.cfg, self.store.as_ref(), at, at + Duration::days(LOOKAHEAD_DAYS))
    }

    fn record(
        &self,
        at: DateTime<Utc>,
        action: DecisionAction,
        l: Option<&Lifetime>,
        detail: String,
        edge: Option<DateTime<Utc>>,
    ) {
        let window_ids = l.map(|l| l.window_ids.clone()).unwrap_or_default();
        let arn = l.and_then(|l| l.lb_arn.clone());
        tracing::info!(
            deployment = %self.cfg.deployment,
            action = action.as_str(),
            window_ids = %window_ids.join(","),
            arn = arn.as_deref().unwrap_or("-"),
            dry_run = self.cfg.dry_run,
            "{detail}"
        );
        let d = Decision {
            at,
            action,
            window_ids,
            arn,
            detail,
            dry_run: self.cfg.dry_run,
            edge_at: edge,
        };
        if let Err(e) = self.store.record_decision(&d) {
            tracing::error!(error = %e, "could not record a decision");
        }
    }

    /// One step at `at`. `edge` is the planned edge this run was woken for, if any.
    pub async fn run_once(&self, at: DateTime<Utc>, edge: Option<DateTime<Utc>>) -> Result<Outcome, ReconcileError> {
        let windows = self.windows(at)?;
        match &self.elb {
            None => self.dry_run(at, edge, &windows),
            Some(elb) => self.converge(elb, at, edge, &windows).await,
        }
    }

    /// The tags of everything made for lifetime `lifetime_id`, planned to run `until`.
    fn tags(&self, lifetime_id: i64, until: DateTime<Utc>) -> Result<Vec<(String, String)>, StoreError> {
        Ok(vec![
            (TAG_MANAGED.into(), "true".into()),
            (TAG_DEPLOYMENT.into(), self.cfg.deployment.clone()),
            (TAG_LIFETIME.into(), lifetime_id.to_string()),
            (TAG_STORE.into(), self.store_id()?.to_string()),
            (TAG_UNTIL.into(), until_tag(until)),
        ])
    }

    /// Writes the plan's windows and coalescing reason onto the lifetime kept.
    fn annotate(
        &self,
        at: DateTime<Utc>,
        l: &mut Lifetime,
        cur: &PlannedLifetime,
        plan: &Plan,
    ) -> Result<(), StoreError> {
        let mut changed = false;
        for id in &cur.window_ids {
            if !l.window_ids.contains(id) {
                l.window_ids.push(id.clone());
                changed = true;
            }
        }
        let gaps: Vec<&planner::CoalescedGap> = cur.coalesced_gaps.iter().chain(plan.in_gap.iter()).collect();
        let mut new_gap = None;
        for g in gaps {
            if !l.reason_detail.contains(&g.why) {
                if !l.reason_detail.is_empty() {
                    l.reason_detail.push_str("; ");
                }
                l.reason_detail.push_str(&g.why);
                if l.reason == LifetimeReason::Window {
                    l.reason = LifetimeReason::CoalescedGap;
                }
                new_gap = Some(g.why.clone());
                changed = true;
            }
        }
        if changed {
            self.store.update_lifetime(l)?;
        }
        if let Some(why) = new_gap {
            self.record(at, DecisionAction::Coalesce, Some(l), why, None);
        }
        Ok(())
    }

    fn new_lifetime(&self, at: DateTime<Utc>, cur: &PlannedLifetime, dry_run: bool) -> Result<Lifetime, StoreError> {
        let first = cur.window_ids.first().cloned().unwrap_or_default();
        self.store.insert_lifetime(&NewLifetime {
            deployment: self.cfg.deployment.clone(),
            name: lifetime_name(&self.cfg.alb.name_prefix, &self.cfg.deployment, &first),
            window_ids: cur.window_ids.clone(),
            reason: LifetimeReason::Window,
            reason_detail: String::new(),
            dry_run,
            created_at: at,
        })
    }

    fn dry_run(
        &self,
        at: DateTime<Utc>,
        edge: Option<DateTime<Utc>>,
        windows: &[planner::DemoWindow],
    ) -> Result<Outcome, ReconcileError> {
        let open: Vec<Lifetime> = self
            .store
            .open_lifetimes(&self.cfg.deployment)?
            .into_iter()
            .filter(|l| l.dry_run)
            .collect();
        let plan = planner::plan(at, windows, open.iter().map(|l| l.created_at).min(), &self.settings());
        let mut actions = Vec::new();
        match &plan.current {
            Some(cur) => {
                let mut l = match open.into_iter().next() {
                    Some(l) => l,
                    None => {
                        let l = self.new_lifetime(at, cur, true)?;
                        let a = &self.cfg.alb;
                        self.record(
                            at,
                            DecisionAction::Create,
                            Some(&l),
                            format!(
                                "dry run: would create target group {n} (HTTP:{p}, health {h}), ALB {n} ({s}, subnets {sn}) and an HTTP:80 listener{https}, until {end}",
                                n = l.name,
                                p = a.target_group.port,
                                h = a.target_group.health_check_path,
                                s = if a.internet_facing { "internet-facing" } else { "internal" },
                                sn = a.subnets.join(","),
                                https = if a.https.is_some() { " and an HTTPS:443 listener" } else { "" },
                                end = cur.end.to_rfc3339()
                            ),
                            edge,
                        );
                        actions.push(Action::Create(Resource::LoadBalancer, l.name.clone()));
                        l
                    }
                };
                self.annotate(at, &mut l, cur, &plan)?;
            }
            None => {
                for mut l in open {
                    l.deleted_at = Some(at);
                    self.store.update_lifetime(&l)?;
                    self.record(
                        at,
                        DecisionAction::Delete,
                        Some(&l),
                        format!("dry run: would delete listeners, ALB and target group {}", l.name),
                        edge,
                    );
                    actions.push(Action::Delete(Resource::LoadBalancer, l.name.clone()));
                }
            }
        }
        Ok(Outcome {
            plan,
            actions,
            pending: false,
            conflicts: Vec::new(),
            dns_problem: None,
        })
    }

    async fn converge(
        &self,
        elb: &E,
        at: DateTime<Utc>,
        edge: Option<DateTime<Utc>>,
        windows: &[planner::DemoWindow],
    ) -> Result<Outcome, ReconcileError> {
        let dep = &self.cfg.deployment;
        let mut owned = elb.list_owned(&self.cfg.alb.name_prefix, dep).await?;
        let mut actions = Vec::new();
        let mut pending = false;

        // 1. Square the ledger with AWS.
        let mut open: Vec<Lifetime> = self
            .store
            .open_lifetimes(dep)?
            .into_iter()
            .filter(|l| !l.dry_run)
            .collect();
        for l in open.iter_mut() {
            if let Some(arn) = &l.lb_arn
                && !owned.lbs.iter().any(|lb| &lb.arn == arn)
            {
                // A listing can lag behind AWS's writes: only a describe by ARN
                // answering NotFound says the ALB is gone.
                if let Some(lb) = elb.describe_lb(arn).await? {
                    tracing::debug!(arn = %lb.arn, "listed late; the describe by ARN still finds it");
                    owned.lbs.push(lb);
                    continue;
                }
                l.deleted_at = Some(at);
                self.store.update_lifetime(l)?;
                self.record(
                    at,
                    DecisionAction::Gone,
                    Some(l),
                    format!("ALB {} no longer exists; lifetime closed", l.name),
                    None,
                );
            }
        }
        open.retain(|l| l.deleted_at.is_none());
        // The windows that want an ALB now, whatever exists: an ALB serving
        // one of them is never deleted as a leftover.
        let wanted_now: Vec<String> = planner::plan(at, windows, None, &self.settings())
            .current
            .map(|c| c.window_ids)
            .unwrap_or_default();
        let store_id = self.store_id()?.to_string();
        let margin = self.cfg.reconcile.foreign_margin;
        let mut conflicts = Vec::new();
        for lb in &owned.lbs {
            if open.iter().any(|l| l.lb_arn.as_deref() == Some(&lb.arn)) {
                continue;
            }
            // Another store's ALB (a second daemon, a rolling deploy): never
            // adopted or deleted before its planned end plus the margin.
            let owner = owner_of(&lb.tags, &store_id);
            if let (
                true,
                Owner::Foreign {
                    store,
                    until: Some(until),
                },
            ) = (owner.protected_at(at, margin), &owner)
            {
                tracing::warn!(
                    alb = %lb.name, store = %store, until = %until.to_rfc3339(),
                    "another costd store runs an ALB in this deployment; leaving it alone and creating none"
                );
                conflicts.push(crate::app::Conflict {
                    name: lb.name.clone(),
                    store: store.clone(),
                    until: *until,
                });
                continue;
            }
            if let Some(mut closed) = self.store.lifetime_by_lb_arn(&lb.arn)? {
                let serves_wanted = closed.window_ids.iter().any(|w| wanted_now.contains(w));
                if serves_wanted && !open.iter().any(|l| l.lb_arn.is_some()) {
                    // Closed by mistake (e.g. on a lagging listing) while its window is open: take it back.
                    closed.deleted_at = None;
                    self.store.update_lifetime(&closed)?;
                    self.record(
                        at,
                        DecisionAction::Reopen,
                        Some(&closed),
                        format!("ALB {} still exists and its window is open; lifetime reopened", lb.name),
                        None,
                    );
                    open.push(closed);
                    continue;
                }
                // Deleted by us already but still listed (AWS deletes asynchronously): delete again.
                elb.delete_lb(&lb.arn).await?;
                pending = true;
                continue;
            }
            if let Some(l) = open.iter_mut().find(|l| l.lb_arn.is_none() && l.name == lb.name) {
                // Created, then the daemon died before writing the ARN down.
                l.lb_arn = Some(lb.arn.clone());
                l.dns_name = Some(lb.dns_name.clone());
                self.store.update_lifetime(l)?;
                self.record(
                    at,
                    DecisionAction::Adopt,
                    Some(l),
                    format!("found ALB {} created before a restart", lb.name),
                    None,
                );
                continue;
            }
            let mut l = self.store.insert_lifetime(&NewLifetime {
                deployment: dep.clone(),
                name: lb.name.clone(),
                window_ids: Vec::new(),
                reason: LifetimeReason::OrphanCleanup,
                reason_detail: "tagged as costd's but missing from the ledger".into(),
                dry_run: false,
                created_at: lb.created_at.unwrap_or(at),
            })?;
            l.lb_arn = Some(lb.arn.clone());
            l.dns_name = Some(lb.dns_name.clone());
            self.store.update_lifetime(&l)?;
            self.record(
                at,
                DecisionAction::Adopt,
                Some(&l),
                format!("orphan ALB {} tagged as costd's, not in the ledger", lb.name),
                None,
            );
            open.push(l);
        }
        open.sort_by_key(|l| (l.lb_arn.is_none(), l.created_at, l.id));

        // 2. Plan from the lifetime that really exists.
        let active_since = open.iter().filter(|l| l.lb_arn.is_some()).map(|l| l.created_at).min();
        let plan = planner::plan(at, windows, active_since, &self.settings());

        // 3. Converge.
        let mut kept_tg = None;
        let mut dns_problem = None;
        match &plan.current {
            Some(cur) if !conflicts.is_empty() && !open.iter().any(|l| l.lb_arn.is_some()) => {
                // Another store's ALB is live in this deployment: a second one
                // would be a fight (and a second bill). Reported, not created.
                tracing::warn!(
                    windows = %cur.window_ids.join(","),
                    "a window is open but another costd store's ALB is live; not creating a second one"
                );
            }
            Some(cur) => {
                let mut rest = open.into_iter();
                let mut keep = match rest.next() {
                    Some(l) => l,
                    None => self.new_lifetime(at, cur, false)?,
                };
                self.annotate(at, &mut keep, cur, &plan)?;
                let active = self.ensure(elb, at, edge, &mut keep, cur.end, &mut actions).await?;
                pending |= active.is_none();
                self.mark_until(elb, &keep, &owned, cur.end).await?;
                // The stable name follows the ALB once it answers.
                if let Some(lb) = active {
                    let target = dns::Target::Alb {
                        dns_name: lb.dns_name.clone(),
                        hosted_zone_id: lb.hosted_zone_id.clone(),
                    };
                    dns_problem = self.keep_name(at, &target, Some(&mut keep)).await?.1;
                }
                kept_tg = keep.tg_arn.clone();
                for mut extra in rest {
                    if extra.lb_arn.is_some() {
                        pending |= self
                            .teardown(elb, at, None, &mut extra, "duplicate", &mut actions)
                            .await?;
                    } else {
                        self.abandon(at, &mut extra)?;
                    }
                }
            }
            None => {
                // The name leaves the ALB before the ALB goes (also when none is left:
                // a crash between the two).
                let holding = open.iter().find(|l| l.lb_arn.is_some()).map(|l| l.id);
                let released = self
                    .release_name(at, open.iter_mut().find(|l| l.lb_arn.is_some()))
                    .await;
                let (released, problem) = match (released, holding) {
                    (Ok((true, problem)), _) => {
                        *self.release_waiting.lock().unwrap_or_else(|e| e.into_inner()) = None;
                        (true, problem)
                    }
                    (Ok((false, problem)), Some(id)) => match self.waited_too_long(at, id, None) {
                        Some(why) => (true, Some(why)),
                        None => (false, problem),
                    },
                    (Err(e), Some(id)) => match self.waited_too_long(at, id, Some(&e)) {
                        Some(why) => (true, Some(why)),
                        None => return Err(e),
                    },
                    (Ok((false, problem)), None) => (false, problem),
                    (Err(e), None) => return Err(e),
                };
                dns_problem = problem;
                for mut l in open {
                    if l.lb_arn.is_some() {
                        if !released {
                            pending = true;
                            continue;
                        }
                        let why = if l.window_ids.is_empty() {
                            "orphan"
                        } else {
                            "window over"
                        };
                        pending |= self.teardown(elb, at, edge, &mut l, why, &mut actions).await?;
                    } else {
                        if let Some(tg) = l.tg_arn.clone() {
                            pending |= self.delete_tg(elb, &tg).await?;
                        }
                        self.abandon(at, &mut l)?;
                    }
                }
            }
        }

        // 4. Target groups costd owns that the kept lifetime does not need and that no
        //    existing ALB of costd's uses. A group can still name an ALB that is gone
        //    (listed before its deletion finished), so "names none" is too strict; if
        //    something else does use it, AWS answers ResourceInUse and we look again.
        let live: std::collections::HashSet<&str> = owned.lbs.iter().map(|l| l.arn.as_str()).collect();
        for tg in &owned.tgs {
            if owner_of(&tg.tags, &store_id).protected_at(at, margin) {
                continue;
            }
            let unused = tg.lb_arns.iter().all(|a| !live.contains(a.as_str()));
            if unused && kept_tg.as_deref() != Some(&tg.arn) {
                pending |= self.delete_tg(elb, &tg.arn).await?;
                actions.push(Action::Delete(Resource::TargetGroup, tg.name.clone()));
            }
        }
        Ok(Outcome {
            plan,
            actions,
            pending,
            conflicts,
            dns_problem,
        })
    }

    /// Makes the stable name answer `target` (when `[alb.dns]` is set): its
    /// records observed, compared, and changed in one batch, the change
    /// written on `l` and as a decision. Returns the change's id, if one was
    /// made, and why the name was left alone, if it was.
    async fn keep_name(
        &self,
        at: DateTime<Utc>,
        target: &dns::Target,
        l: Option<&mut Lifetime>,
    ) -> Result<(Option<String>, Option<String>), ReconcileError> {
        let (Some(api), Some(cfg)) = (&self.dns, &self.cfg.alb.dns) else {
            return Ok((None, None));
        };
        let observed = dns::observe(api, cfg).await?;
        let step = dns::plan(cfg, &self.cfg.deployment, self.store_id()?, &observed, target);
        if let Some(why) = &step.problem {
            tracing::warn!(name = %cfg.record_name, "{why}; leaving it alone");
        }
        if step.changes.is_empty() {
            return Ok((None, step.problem));
        }
        let comment = format!("costd {}", self.cfg.deployment);
        let id = api.change(&cfg.hosted_zone_id, &step.changes, &comment).await?;
        let line = dns::describe(&id, &step.changes);
        if let Some(l) = l {
            l.dns_changes.push(line.clone());
            self.store.update_lifetime(l)?;
            self.record(at, DecisionAction::Dns, Some(l), line, None);
        } else {
            self.record(at, DecisionAction::Dns, None, line, None);
        }
        Ok((Some(id), step.problem))
    }

    /// Points the stable name at the fallback, or deletes it, before an ALB
    /// goes: `Ok((true, _))` once that has reached every Route 53 server
    /// (`INSYNC`), so the ALB may be deleted; `false`: look again soon. A
    /// name that is someone else's does not hold the ALB's deletion.
    async fn release_name(
        &self,
        at: DateTime<Utc>,
        l: Option<&mut Lifetime>,
    ) -> Result<(bool, Option<String>), ReconcileError> {
        let Some(api) = &self.dns else {
            return Ok((true, None));
        };
        let mut l = l;
        let (made, problem) = self.keep_name(at, &dns::Target::Closed, l.as_deref_mut()).await?;
        if problem.is_some() {
            return Ok((true, problem));
        }
        // The last change made for this lifetime (this run's, or one a crash interrupted).
        let last = made.or_else(|| {
            l.as_ref()
                .and_then(|l| l.dns_changes.last())
                .and_then(|line| line.split_whitespace().next().map(str::to_string))
        });
        match last {
            Some(id) => Ok((api.change_insync(&id).await?, None)),
            None => Ok((true, None)),
        }
    }

    /// Whether the ALB of lifetime `id` has waited for the stable name's
    /// release longer than `[alb.dns] release_timeout_minutes`: then why it
    /// is deleted anyway (written as a decision). The wait starts at the
    /// first run that tried to release the name for this lifetime.
    fn waited_too_long(&self, at: DateTime<Utc>, id: i64, error: Option<&ReconcileError>) -> Option<String> {
        let timeout = self.cfg.alb.dns.as_ref()?.release_timeout;
        let since = {
            let mut w = self.release_waiting.lock().unwrap_or_else(|e| e.into_inner());
            match *w {
                Some((held, since)) if held == id => since,
                _ => {
                    *w = Some((id, at));
                    at
                }
            }
        };
        if at - since < timeout {
            return None;
        }
        let why = format!(
            "Route 53 has not confirmed the stable name's release for {} min ({}); the ALB is deleted anyway so it does not keep billing, and the name may point at it until Route 53 answers",
            (at - since).num_minutes(),
            error.map_or("the change is not INSYNC yet".to_string(), |e| e.to_string())
        );
        tracing::warn!("{why}");
        self.record(at, DecisionAction::Dns, None, why.clone(), None);
        Some(why)
    }

    /// Closes a lifetime whose ALB was never created.
    fn abandon(&self, at: DateTime<Utc>, l: &mut Lifetime) -> Result<(), StoreError> {
        l.deleted_at = Some(l.created_at.min(at));
        l.reason_detail = if l.reason_detail.is_empty() {
            "never created; no longer needed".into()
        } else {
            format!("{}; never created; no longer needed", l.reason_detail)
        };
        self.store.update_lifetime(l)
    }

    /// Deletes a target group; `Ok(true)` when it is still in use (retry soon).
    async fn delete_tg(&self, elb: &E, arn: &str) -> Result<bool, ReconcileError> {
        match elb.delete_tg(arn).await {
            Ok(()) => Ok(false),
            Err(e) if e.kind == AwsErrorKind::InUse => Ok(true),
            Err(e) => Err(e.into()),
        }
    }

    /// A resource found under costd's deterministic name is usable only if it
    /// carries costd's tags; otherwise it is someone else's and never touched.
    fn claim(
        &self,
        kind: &str,
        name: &str,
        arn: &str,
        tags: &std::collections::HashMap<String, String>,
    ) -> Result<(), ReconcileError> {
        let owner = owner_of(tags, self.store_id()?);
        if let (true, Owner::Foreign { store, .. }) = (
            owner.protected_at((self.clock)(), self.cfg.reconcile.foreign_margin),
            &owner,
        ) {
            Err(ReconcileError::Conflict(format!(
                "a {kind} named {name} ({arn}) belongs to another costd store ({store}); costd will not touch it before its costd:until"
            )))
        } else if owned_by(tags, &self.cfg.deployment) {
            Ok(())
        } else {
            Err(ReconcileError::Conflict(format!(
                "a {kind} named {name} exists without costd's tags ({arn}); costd will not touch it"
            )))
        }
    }

    /// Keeps `costd:store` and `costd:until` on the kept ALB and its target
    /// group in step with the plan: a window added to the lifetime moves its
    /// end, and a resource made before stores were tagged gets this store's id.
    async fn mark_until(
        &self,
        elb: &E,
        l: &Lifetime,
        owned: &crate::aws::elb::Owned,
        until: DateTime<Utc>,
    ) -> Result<(), ReconcileError> {
        let want = [
            (TAG_STORE.to_string(), self.store_id()?.to_string()),
            (TAG_UNTIL.to_string(), until_tag(until)),
        ];
        let stale = |tags: &std::collections::HashMap<String, String>| want.iter().any(|(k, v)| tags.get(k) != Some(v));
        if let Some(lb) = owned.lbs.iter().find(|o| Some(&o.arn) == l.lb_arn.as_ref())
            && stale(&lb.tags)
        {
            elb.add_tags(&lb.arn, &want).await?;
        }
        if let Some(tg) = owned.tgs.iter().find(|o| Some(&o.arn) == l.tg_arn.as_ref())
            && stale(&tg.tags)
        {
            elb.add_tags(&tg.arn, &want).await?;
        }
        Ok(())
    }

    /// Makes the lifetime's target group, ALB and listeners exist: the ALB
    /// once it is active, `None` while it provisions (look again soon).
    async fn ensure(
        &self,
        elb: &E,
        at: DateTime<Utc>,
        edge: Option<DateTime<Utc>>,
        l: &mut Lifetime,
        until: DateTime<Utc>,
        actions: &mut Vec<Action>,
    ) -> Result<Option<ObservedLb>, ReconcileError> {
        let a = &self.cfg.alb;
        if l.tg_arn.is_none() {
            let arn = match elb.find_tg(&l.name).await? {
                Some(tg) => {
                    self.claim("target group", &tg.name, &tg.arn, &tg.tags)?;
                    tg.arn
                }
                None => {
                    let arn = elb
                        .create_tg(&TgSpec {
                            name: l.name.clone(),
                            vpc_id: a.target_group.vpc_id.clone(),
                            port: a.target_group.port,
                            health_check_path: a.target_group.health_check_path.clone(),
                            success_codes: a.target_group.success_codes.clone(),
                            tags: self.tags(l.id, until)?,
                        })
                        .await?;
                    actions.push(Action::Create(Resource::TargetGroup, l.name.clone()));
                    arn
                }
            };
            l.tg_arn = Some(arn);
            self.store.update_lifetime(l)?;
            elb.register_targets(l.tg_arn.as_deref().unwrap_or_default(), &a.target_group.targets)
                .await?;
        }
        let tg_arn = l.tg_arn.clone().unwrap_or_default();
        if l.lb_arn.is_none() {
            match elb.find_lb(&l.name).await? {
                Some(lb) => {
                    // Created before a crash, under this lifetime's name: adopt it.
                    self.claim("load balancer", &lb.name, &lb.arn, &lb.tags)?;
                    l.lb_arn = Some(lb.arn);
                    l.dns_name = Some(lb.dns_name);
                    self.store.update_lifetime(l)?;
                }
                None => {
                    let lb = elb
                        .create_lb(&LbSpec {
                            name: l.name.clone(),
                            internet_facing: a.internet_facing,
                            dualstack: a.dualstack,
                            subnets: a.subnets.clone(),
                            security_groups: a.security_groups.clone(),
                            tags: self.tags(l.id, until)?,
                        })
                        .await?;
                    l.lb_arn = Some(lb.arn.clone());
                    l.dns_name = Some(lb.dns_name.clone());
                    // Billing starts when AWS created it, not when this run began.
                    l.created_at = lb.created_at.unwrap_or_else(|| (self.clock)());
                    self.store.update_lifetime(l)?;
                    self.record(
                        at,
                        DecisionAction::Create,
                        Some(l),
                        format!("created ALB {} ({})", lb.name, lb.dns_name),
                        edge,
                    );
                    actions.push(Action::Create(Resource::LoadBalancer, l.name.clone()));
                }
            }
        }
        let lb_arn = l.lb_arn.clone().unwrap_or_default();
        let have = elb.listeners(&lb_arn).await?;
        let mut wanted: Vec<(u16, Option<String>, ListenerAction)> = Vec::new();
        match &a.https {
            Some(h) => {
                let http = if h.redirect_http {
                    ListenerAction::RedirectToHttps
                } else {
                    ListenerAction::Forward { tg_arn: tg_arn.clone() }
                };
                wanted.push((80, None, http));
                wanted.push((
                    443,
                    Some(h.certificate_arn.clone()),
                    ListenerAction::Forward { tg_arn: tg_arn.clone() },
                ));
            }
            None => wanted.push((80, None, ListenerAction::Forward { tg_arn: tg_arn.clone() })),
        }
        let mut arns: Vec<String> = have.iter().map(|h| h.arn.clone()).collect();
        for (port, cert, action) in wanted {
            if have.iter().any(|h| h.port == port) {
                continue;
            }
            let arn = elb
                .create_listener(&ListenerSpec {
                    lb_arn: lb_arn.clone(),
                    port,
                    certificate_arn: cert,
                    action,
                    tags: self.tags(l.id, until)?,
                })
                .await?;
            actions.push(Action::Create(Resource::Listener, format!(":{port}")));
            arns.push(arn);
        }
        if arns != l.listener_arns {
            l.listener_arns = arns;
            self.store.update_lifetime(l)?;
        }
        match elb.describe_lb(&lb_arn).await? {
            Some(lb) if matches!(lb.state, LbState::Active | LbState::ActiveImpaired) => {
                if l.active_at.is_none() {
                    l.active_at = Some((self.clock)());
                    self.store.update_lifetime(l)?;
                    self.record(
                        at,
                        DecisionAction::Active,
                        Some(l),
                        format!("ALB {} is active at {}", l.name, lb.dns_name),
                        None,
                    );
                }
                Ok(Some(lb))
            }
            Some(lb) if lb.state == LbState::Failed => Err(ReconcileError::Aws(AwsError::other(
                "DescribeLoadBalancers",
                &format!("ALB {} failed to provision", lb.name),
            ))),
            // Provisioning, or not listed yet right after create: look again soon.
            _ => Ok(None),
        }
    }

    /// Deletes listeners → ALB → target group and closes the lifetime. `Ok(true)` while the target group is in use.
    async fn teardown(
        &self,
        elb: &E,
        at: DateTime<Utc>,
        edge: Option<DateTime<Utc>>,
        l: &mut Lifetime,
        why: &str,
        actions: &mut Vec<Action>,
    ) -> Result<bool, ReconcileError> {
        let lb_arn = l.lb_arn.clone().unwrap_or_default();
        for li in elb.listeners(&lb_arn).await? {
            elb.delete_listener(&li.arn).await?;
        }
        elb.delete_lb(&lb_arn).await?;
        l.deleted_at = Some((self.clock)());
        self.store.update_lifetime(l)?;
        self.record(
            at,
            DecisionAction::Delete,
            Some(l),
            format!("deleted ALB {} ({why})", l.name),
            edge,
        );
        actions.push(Action::Delete(Resource::LoadBalancer, l.name.clone()));
        match &l.tg_arn {
            Some(tg) => self.delete_tg(elb, tg).await,
            None => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Unit tests with an in-memory ELB: states moto cannot produce
    //! (provisioning, name clashes, crashes between calls). The real SDK
    //! path is tested against moto in `tests/api/daemon.rs`.
    use super::*;
    use crate::aws::elb::ObservedLb;
    use crate::config::EMBEDDED_DEFAULT;
    use crate::daemon::fake_elb::{FakeElb, FakeRoute53};
    use crate::schedule::Interval;
    use crate::store::sqlite::SqliteStore;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;
    use std::collections::HashMap;
    use std::sync::Mutex;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, h, m, 0).unwrap()
    }

    struct Rig<D = NoDns> {
        store: Arc<SqliteStore>,
        r: Reconciler<FakeElb, D>,
        now: Arc<Mutex<DateTime<Utc>>>,
    }

    /// Tests run at fixed instants: the clock reads the instant of the run.
    fn fixed_clock() -> (Clock, Arc<Mutex<DateTime<Utc>>>) {
        let now = Arc::new(Mutex::new(t(0, 0)));
        let n = now.clone();
        (Arc::new(move || *n.lock().unwrap()), now)
    }

    fn rig(name: &str, edit: impl Fn(String) -> String) -> Rig {
        rig_with(name, edit, None)
    }

    /// A rig with `[alb.dns]` (demo.example.com in zone Z0123) and an in-memory zone.
    fn dns_rig(name: &str, edit: impl Fn(String) -> String) -> (Rig<FakeRoute53>, FakeRoute53) {
        let zone = FakeRoute53::default();
        let rig = rig_with(
            name,
            |s| {
                edit(s.replacen(
                    "[schedule]",
                    "[alb.dns]\nhosted_zone_id = \"Z0123\"\nrecord_name = \"demo.example.com\"\n\n[schedule]",
                    1,
                ))
            },
            Some(zone.clone()),
        );
        (rig, zone)
    }

    fn rig_with<D: Route53Api>(name: &str, edit: impl Fn(String) -> String, dns: Option<D>) -> Rig<D> {
        let path = std::env::temp_dir().join(format!("costd-rec-{name}-{}.db", std::process::id()));
        for s in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{s}", path.display()));
        }
        // No config windows, no lead or grace, real (not dry) mode.
        let src = edit(
            EMBEDDED_DEFAULT
                .replace("dry_run = true", "dry_run = false")
                .replace("lead_minutes = 5", "lead_minutes = 0")
                .replace("grace_minutes = 5", "grace_minutes = 0"),
        );
        let mut cfg = Config::parse("test.toml", &src, std::path::Path::new("/")).unwrap();
        assert_eq!(
            (cfg.schedule.lead, cfg.schedule.grace),
            (Duration::zero(), Duration::zero())
        );
        cfg.schedule.windows.clear();
        cfg.store = crate::config::StoreConfig::Sqlite { path: path.clone() };
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        // ap-southeast-1: ALB $0.0252/h; two subnets hold 2 public IPv4 × $0.005/h = $0.01/h.
        let prices = crate::app::Prices::build(&cfg, crate::pricing::load::PriceBook::embedded().unwrap()).unwrap();
        assert_eq!(
            (prices.settings.lb_usd_per_hour, prices.settings.ipv4_usd_per_hour),
            (dec!(0.0252), dec!(0.01))
        );
        let (clock, now) = fixed_clock();
        let r = Reconciler::new(
            Arc::new(cfg),
            store.clone(),
            Some(FakeElb::default()),
            crate::app::SharedPrices::new(prices),
            clock,
        )
        .with_dns(dns);
        Rig { store, r, now }
    }

    impl<D: Route53Api> Rig<D> {
        /// One run at `at` (the clock reads `at` during it).
        async fn run(&self, at: DateTime<Utc>, edge: Option<DateTime<Utc>>) -> Result<Outcome, ReconcileError> {
            *self.now.lock().unwrap() = at;
            self.r.run_once(at, edge).await
        }
        fn elb(&self) -> &FakeElb {
            self.r.elb.as_ref().unwrap()
        }
        fn window(&self, from: DateTime<Utc>, to: DateTime<Utc>) {
            self.store
                .add_window(Interval::new(from, to).unwrap(), "", "test", from - Duration::hours(1))
                .unwrap();
        }
    }

    fn alias_of(zone: &FakeRoute53) -> Option<String> {
        zone.z()
            .records
            .iter()
            .find_map(|r| match (&r.record_type[..], &r.value) {
                ("A", crate::aws::route53::RecordValue::Alias { dns_name, .. }) => Some(dns_name.clone()),
                _ => None,
            })
    }

    #[tokio::test]
    async fn the_stable_name_follows_each_alb_and_leaves_before_it_is_deleted() {
        let (rig, zone) = dns_rig("dns", |s| s);
        rig.window(t(9, 0), t(10, 0));
        rig.window(t(11, 0), t(12, 0));
        rig.run(t(9, 0), Some(t(9, 0))).await.unwrap();
        let first = lifetime_name("mlops-demo", "seed-demo", "w1");
        // Active at once (the fake provisions instantly): the alias and the ownership record.
        assert_eq!(alias_of(&zone), Some(format!("dualstack.{first}.elb.example")));
        let store_id = rig.store.store_id().unwrap();
        assert!(zone.z().records.iter().any(|r| r.name == "_costd.demo.example.com"
            && r.value
                == crate::aws::route53::RecordValue::Values {
                    ttl: 300,
                    values: vec![crate::aws::route53::owner_value("seed-demo", &store_id)]
                }));
        let open = rig.store.open_lifetimes("seed-demo").unwrap();
        assert_eq!(
            open[0].dns_changes,
            [format!(
                "C1 UPSERT A demo.example.com → dualstack.{first}.elb.example; UPSERT TXT _costd.demo.example.com"
            )]
        );
        // Converged: the next run changes nothing.
        rig.run(t(9, 1), None).await.unwrap();
        assert_eq!(zone.z().calls, ["change C1 2"]);

        // The window closes; Route 53 is slow to sync the deletion: the ALB waits.
        zone.z().slow = true;
        let o = rig.run(t(10, 0), Some(t(10, 0))).await.unwrap();
        assert!(o.pending);
        assert_eq!(alias_of(&zone), None, "the name is gone first");
        assert_eq!(
            rig.elb().w().lbs.len(),
            1,
            "the ALB is kept until the deletion is INSYNC"
        );
        // A run later the change is INSYNC: the ALB goes.
        zone.z().pending.clear();
        rig.run(t(10, 1), None).await.unwrap();
        assert!(rig.elb().w().lbs.is_empty());
        let closed = rig.store.lifetimes("seed-demo", t(9, 0), t(10, 2)).unwrap();
        assert_eq!(closed[0].dns_changes.len(), 2);
        assert!(
            closed[0].dns_changes[1].starts_with("C2 DELETE A demo.example.com"),
            "{:?}",
            closed[0].dns_changes
        );
        assert!(zone.z().records.is_empty(), "the ownership record went with it");

        // The second window: the same name points at the second ALB.
        zone.z().slow = false;
        rig.run(t(11, 0), Some(t(11, 0))).await.unwrap();
        let second = lifetime_name("mlops-demo", "seed-demo", "w2");
        assert_ne!(first, second);
        assert_eq!(alias_of(&zone), Some(format!("dualstack.{second}.elb.example")));
        let d = rig.store.decisions(50).unwrap();
        assert_eq!(d.iter().filter(|d| d.action == DecisionAction::Dns).count(), 3);
    }

    /// Route 53 down when the window closes: the ALB waits for the name's
    /// release only `release_timeout_minutes` (15 by default), then goes,
    /// so an outage of Route 53 cannot keep it billing.
    #[tokio::test]
    async fn an_alb_waits_for_route_53_at_most_the_release_timeout() {
        let (rig, zone) = dns_rig("dns-release-timeout", |s| s);
        rig.window(t(9, 0), t(10, 0));
        rig.run(t(9, 0), Some(t(9, 0))).await.unwrap();
        assert!(alias_of(&zone).is_some());
        zone.z().down = true;
        // 10:00 and 10:14: Route 53 unreachable, the run fails and the ALB stays.
        for m in [0, 14] {
            let e = rig.run(t(10, m), Some(t(10, 0))).await.unwrap_err();
            assert!(e.to_string().contains("connection refused"), "{e}");
            assert_eq!(rig.elb().w().lbs.len(), 1, "at 10:{m:02}");
        }
        // 10:15, 15 minutes after the first try: deleted anyway, and said why.
        let o = rig.run(t(10, 15), None).await.unwrap();
        assert!(rig.elb().w().lbs.is_empty());
        let why = o.dns_problem.expect("the problem is reported");
        assert!(
            why.starts_with("Route 53 has not confirmed the stable name's release for 15 min"),
            "{why}"
        );
        let closed = rig.store.lifetimes("seed-demo", t(9, 0), t(10, 16)).unwrap();
        assert_eq!(closed[0].deleted_at, Some(t(10, 15)));
        assert!(
            rig.store
                .decisions(50)
                .unwrap()
                .iter()
                .any(|d| d.action == DecisionAction::Dns && d.detail.contains("deleted anyway"))
        );
        // Route 53 back: the alias left behind is removed at the next run.
        zone.z().down = false;
        rig.run(t(10, 20), None).await.unwrap();
        assert_eq!(alias_of(&zone), None);
    }

    /// A change that never gets INSYNC holds the ALB no longer either.
    #[tokio::test]
    async fn a_change_never_insync_holds_the_alb_at_most_the_release_timeout() {
        let (rig, zone) = dns_rig("dns-release-slow", |s| {
            s.replacen(
                "record_name = \"demo.example.com\"",
                "record_name = \"demo.example.com\"\nrelease_timeout_minutes = 1",
                1,
            )
        });
        rig.window(t(9, 0), t(10, 0));
        rig.run(t(9, 0), Some(t(9, 0))).await.unwrap();
        zone.z().slow = true;
        assert!(rig.run(t(10, 0), Some(t(10, 0))).await.unwrap().pending);
        assert_eq!(rig.elb().w().lbs.len(), 1);
        let o = rig.run(t(10, 1), None).await.unwrap();
        assert!(rig.elb().w().lbs.is_empty());
        assert!(o.dns_problem.unwrap().contains("the change is not INSYNC yet"));
    }

    #[tokio::test]
    async fn a_name_costd_did_not_write_is_reported_and_never_overwritten() {
        let (rig, zone) = dns_rig("dns-foreign", |s| s);
        let theirs = crate::aws::route53::RecordSet {
            name: "demo.example.com".into(),
            record_type: "A".into(),
            value: crate::aws::route53::RecordValue::Values {
                ttl: 60,
                values: vec!["192.0.2.10".into()],
            },
        };
        zone.z().records.push(theirs.clone());
        rig.window(t(9, 0), t(10, 0));
        let o = rig.run(t(9, 0), Some(t(9, 0))).await.unwrap();
        assert!(o.dns_problem.unwrap().contains("that costd did not write"));
        assert_eq!(zone.z().records, std::slice::from_ref(&theirs));
        // Its own ALB runs and goes as planned; the record stays theirs.
        assert_eq!(rig.elb().w().lbs.len(), 1);
        rig.run(t(10, 0), Some(t(10, 0))).await.unwrap();
        assert!(rig.elb().w().lbs.is_empty());
        assert_eq!(zone.z().records, [theirs]);
        assert!(zone.z().calls.iter().all(|c| !c.starts_with("change")));
    }

    #[tokio::test]
    async fn with_take_over_and_a_fallback_the_name_is_costds_and_points_at_the_closed_page() {
        let (rig, zone) = dns_rig("dns-fallback", |s| {
            s.replacen(
                "record_name = \"demo.example.com\"",
                "record_name = \"demo.example.com\"\ntake_over = true\nfallback = { dns_name = \"closed.example.com\", hosted_zone_id = \"Z3AQBSTGFYJSTF\" }",
                1,
            )
        });
        zone.z().records.push(crate::aws::route53::RecordSet {
            name: "demo.example.com".into(),
            record_type: "A".into(),
            value: crate::aws::route53::RecordValue::Values {
                ttl: 60,
                values: vec!["192.0.2.10".into()],
            },
        });
        // Outside any window: taken over and pointed at the fallback.
        rig.run(t(8, 0), None).await.unwrap();
        assert_eq!(alias_of(&zone).as_deref(), Some("closed.example.com"));
        rig.window(t(9, 0), t(10, 0));
        rig.run(t(9, 0), Some(t(9, 0))).await.unwrap();
        let name = lifetime_name("mlops-demo", "seed-demo", "w1");
        assert_eq!(alias_of(&zone), Some(format!("dualstack.{name}.elb.example")));
        rig.run(t(10, 0), Some(t(10, 0))).await.unwrap();
        assert_eq!(alias_of(&zone).as_deref(), Some("closed.example.com"));
        assert!(rig.elb().w().lbs.is_empty());
    }

    #[tokio::test]
    async fn creates_tg_alb_listener_in_a_window_and_is_idempotent() {
        let rig = rig("create", |s| s);
        rig.window(t(9, 0), t(10, 0));
        let o = rig.run(t(9, 0), Some(t(9, 0))).await.unwrap();
        assert!(o.plan.should_exist && !o.pending);
        let name = lifetime_name("mlops-demo", "seed-demo", "w1");
        assert_eq!(
            rig.elb().mutations(),
            [
                format!("create_tg {name}"),
                "register 0".into(),
                format!("create_lb {name}"),
                format!("create_listener 80 Forward {{ tg_arn: \"arn:tg/{name}/1\" }}")
            ]
        );
        // Again, a minute later: nothing new is created.
        rig.run(t(9, 1), None).await.unwrap();
        assert_eq!(rig.elb().mutations().len(), 4);
        let open = rig.store.open_lifetimes("seed-demo").unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!((open[0].active_at, open[0].listener_arns.len()), (Some(t(9, 0)), 1));
        // The create decision carries the edge it served (for edge → AWS latency).
        let d = rig.store.decisions(10).unwrap();
        assert!(
            d.iter()
                .any(|d| d.action == DecisionAction::Create && d.edge_at == Some(t(9, 0)))
        );
        // After the window: listener → ALB → target group deleted, lifetime closed.
        let o = rig.run(t(10, 0), Some(t(10, 0))).await.unwrap();
        assert!(!o.plan.should_exist);
        let calls = rig.elb().mutations();
        assert_eq!(
            calls[4..]
                .iter()
                .map(|c| c.split(' ').next().unwrap())
                .collect::<Vec<_>>(),
            ["delete_listener", "delete_lb", "delete_tg"]
        );
        assert!(rig.store.open_lifetimes("seed-demo").unwrap().is_empty());
        assert!(rig.elb().w().lbs.is_empty() && rig.elb().w().tgs.is_empty());
    }

    #[tokio::test]
    async fn a_lagging_listing_never_closes_or_deletes_a_live_alb() {
        // AWS lists new resources with a lag. A run whose listing leaves the
        // ALB out must not close its lifetime as "gone", and the next run (the
        // ALB listed again) must not delete it as a leftover: that was a
        // delete + recreate mid-window, a new DNS name and an extra billed hour.
        let rig = rig("stale", |s| s);
        rig.window(t(9, 0), t(11, 0));
        rig.run(t(9, 0), Some(t(9, 0))).await.unwrap();
        let arn = rig.elb().w().lbs[0].arn.clone();
        rig.elb().w().stale_listings = 2;
        rig.run(t(9, 10), None).await.unwrap();
        rig.run(t(9, 11), None).await.unwrap();
        rig.run(t(9, 12), None).await.unwrap();
        let open = rig.store.open_lifetimes("seed-demo").unwrap();
        assert_eq!(open.len(), 1, "the lifetime stays open");
        assert_eq!(open[0].lb_arn.as_deref(), Some(arn.as_str()));
        let deletes: Vec<String> = rig
            .elb()
            .mutations()
            .into_iter()
            .filter(|c| c.starts_with("delete") || c.starts_with("create_lb"))
            .collect();
        assert_eq!(deletes.len(), 1, "one create, no delete: {deletes:?}");
        assert!(
            !rig.store
                .decisions(50)
                .unwrap()
                .iter()
                .any(|d| d.action == DecisionAction::Gone),
            "not closed as gone"
        );
        // Really gone (deleted behind costd's back): confirmed by the describe, then closed and recreated.
        rig.elb().w().lbs.clear();
        rig.run(t(9, 20), None).await.unwrap();
        assert!(
            rig.store
                .decisions(50)
                .unwrap()
                .iter()
                .any(|d| d.action == DecisionAction::Gone)
        );
        assert_eq!(rig.elb().w().lbs.len(), 1, "recreated for the open window");
    }

    #[tokio::test]
    async fn an_alb_whose_lifetime_was_closed_by_mistake_is_reopened_while_its_window_is_wanted() {
        // A ledger that says "deleted" for an ALB that is still listed, while
        // its window is open (e.g. closed by an older costd on a lagging
        // listing): the ALB is taken back, never deleted as a leftover.
        let rig = rig("reopen", |s| s);
        rig.window(t(9, 0), t(11, 0));
        rig.run(t(9, 0), Some(t(9, 0))).await.unwrap();
        let mut l = rig.store.open_lifetimes("seed-demo").unwrap().remove(0);
        l.deleted_at = Some(t(9, 5));
        rig.store.update_lifetime(&l).unwrap();
        rig.run(t(9, 10), None).await.unwrap();
        assert!(
            !rig.elb().mutations().iter().any(|c| c.starts_with("delete")),
            "{:?}",
            rig.elb().mutations()
        );
        let open = rig.store.open_lifetimes("seed-demo").unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].id, l.id, "the same lifetime, reopened");
        assert_eq!(rig.elb().w().lbs.len(), 1);
        // After the window it is deleted as usual.
        rig.run(t(11, 0), Some(t(11, 0))).await.unwrap();
        assert!(rig.elb().w().lbs.is_empty());
    }

    #[tokio::test]
    async fn waits_while_provisioning_and_records_when_active() {
        let rig = rig("provisioning", |s| s);
        rig.window(t(9, 0), t(10, 0));
        rig.elb().w().provisioning = true;
        let o = rig.run(t(9, 0), None).await.unwrap();
        assert!(o.pending, "provisioning: look again soon");
        assert_eq!(rig.store.open_lifetimes("seed-demo").unwrap()[0].active_at, None);
        rig.elb().w().provisioning = false;
        let o = rig.run(t(9, 2), None).await.unwrap();
        assert!(!o.pending);
        assert_eq!(
            rig.store.open_lifetimes("seed-demo").unwrap()[0].active_at,
            Some(t(9, 2))
        );
        assert_eq!(rig.elb().w().lbs.len(), 1, "no second ALB while waiting");
    }

    #[tokio::test]
    async fn an_alb_created_before_a_crash_is_adopted_not_duplicated() {
        let rig = rig("crash", |s| s);
        rig.window(t(9, 0), t(10, 0));
        // The daemon wrote its intent, created the ALB, and died before recording the ARN.
        let name = lifetime_name("mlops-demo", "seed-demo", "w1");
        rig.store
            .insert_lifetime(&NewLifetime {
                deployment: "seed-demo".into(),
                name: name.clone(),
                window_ids: vec!["w1".into()],
                reason: LifetimeReason::Window,
                reason_detail: String::new(),
                dry_run: false,
                created_at: t(9, 0),
            })
            .unwrap();
        let tags = rig.r.tags(1, t(10, 0)).unwrap();
        rig.elb()
            .create_lb(&LbSpec {
                name: name.clone(),
                internet_facing: true,
                dualstack: false,
                subnets: vec![],
                security_groups: vec![],
                tags,
            })
            .await
            .unwrap();
        rig.run(t(9, 1), None).await.unwrap();
        let lbs = rig.elb().w().lbs.clone();
        assert_eq!(lbs.len(), 1);
        let open = rig.store.open_lifetimes("seed-demo").unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].lb_arn.as_deref(), Some(lbs[0].arn.as_str()));
        assert_eq!(open[0].listener_arns.len(), 1, "the missing listener is created");
    }

    #[tokio::test]
    async fn an_untagged_alb_with_costds_name_is_never_touched() {
        let rig = rig("untagged", |s| s);
        rig.window(t(9, 0), t(10, 0));
        let name = lifetime_name("mlops-demo", "seed-demo", "w1");
        let theirs = ObservedLb {
            hosted_zone_id: "Z1LMS91P8CMLE5".into(),
            arn: "arn:theirs".into(),
            name: name.clone(),
            dns_name: String::new(),
            state: LbState::Active,
            created_at: None,
            tags: HashMap::new(),
        };
        rig.elb().w().lbs.push(theirs.clone());
        // A second untagged one that merely shares the prefix.
        rig.elb().w().lbs.push(ObservedLb {
            hosted_zone_id: "Z1LMS91P8CMLE5".into(),
            arn: "arn:other".into(),
            name: "mlops-demo-manual".into(),
            ..theirs.clone()
        });
        let e = rig.run(t(9, 0), None).await.unwrap_err();
        assert!(matches!(e, ReconcileError::Conflict(_)), "{e}");
        assert!(e.to_string().contains("without costd's tags"));
        // After the window nothing of theirs is deleted.
        rig.run(t(11, 0), None).await.unwrap();
        assert_eq!(rig.elb().w().lbs.len(), 2);
        assert!(!rig.elb().mutations().iter().any(|c| c.starts_with("delete_lb")));
    }

    #[tokio::test]
    async fn a_tagged_orphan_outside_any_window_is_deleted_and_ledgered() {
        let rig = rig("orphan", |s| s);
        let tags = rig.r.tags(99, t(10, 0)).unwrap();
        rig.elb()
            .create_lb(&LbSpec {
                name: "mlops-demo-deadbeef".into(),
                internet_facing: true,
                dualstack: false,
                subnets: vec![],
                security_groups: vec![],
                tags,
            })
            .await
            .unwrap();
        rig.run(t(12, 0), None).await.unwrap();
        assert!(rig.elb().w().lbs.is_empty());
        let all = rig.store.lifetimes("seed-demo", t(0, 0), t(23, 0)).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(
            (all[0].reason, all[0].deleted_at),
            (LifetimeReason::OrphanCleanup, Some(t(12, 0)))
        );
    }

    /// Tags as another store's daemon would put them, planned until `until`.
    fn foreign_tags(until: DateTime<Utc>) -> Vec<(String, String)> {
        vec![
            (TAG_MANAGED.into(), "true".into()),
            (TAG_DEPLOYMENT.into(), "seed-demo".into()),
            (TAG_LIFETIME.into(), "1".into()),
            (TAG_STORE.into(), "11111111-2222-4333-8444-555555555555".into()),
            (TAG_UNTIL.into(), until_tag(until)),
        ]
    }

    #[tokio::test]
    async fn another_stores_alb_is_left_alone_until_its_end_plus_the_margin_and_never_doubled() {
        let rig = rig("foreign", |s| s);
        // Our store wants an ALB 9:00–10:00; another store's daemon runs one until 10:00.
        rig.window(t(9, 0), t(10, 0));
        rig.elb()
            .create_tg(&TgSpec {
                name: "mlops-demo-f0f0f0f0".into(),
                vpc_id: "vpc-1".into(),
                port: 80,
                health_check_path: "/health".into(),
                success_codes: "200".into(),
                tags: foreign_tags(t(10, 0)),
            })
            .await
            .unwrap();
        rig.elb()
            .create_lb(&LbSpec {
                name: "mlops-demo-f0f0f0f0".into(),
                internet_facing: true,
                dualstack: false,
                subnets: vec![],
                security_groups: vec![],
                tags: foreign_tags(t(10, 0)),
            })
            .await
            .unwrap();
        let before = rig.elb().mutations().len();
        // In the window: no second ALB, nothing touched, the conflict reported.
        let o = rig.run(t(9, 0), Some(t(9, 0))).await.unwrap();
        assert!(o.plan.should_exist);
        assert_eq!(rig.elb().mutations().len(), before, "{:?}", rig.elb().mutations());
        assert_eq!(
            o.conflicts,
            [crate::app::Conflict {
                name: "mlops-demo-f0f0f0f0".into(),
                store: "11111111-2222-4333-8444-555555555555".into(),
                until: t(10, 0),
            }]
        );
        // After its end, within the 15-minute margin: still left alone.
        let o = rig.run(t(10, 14), None).await.unwrap();
        assert_eq!(o.conflicts.len(), 1);
        assert_eq!(rig.elb().w().lbs.len(), 1);
        assert_eq!(rig.elb().mutations().len(), before);
        // Past the margin it is an orphan: cleaned up and ledgered as today.
        let o = rig.run(t(10, 16), None).await.unwrap();
        assert!(o.conflicts.is_empty());
        assert!(rig.elb().w().lbs.is_empty(), "the orphan is deleted");
        let all = rig.store.lifetimes("seed-demo", t(0, 0), t(23, 0)).unwrap();
        assert_eq!(all.len(), 1, "only the orphan's lifetime: ours was never created");
        assert_eq!(all[0].reason, LifetimeReason::OrphanCleanup);
        // A foreign ALB without a readable `costd:until` is not protected.
        let mut tags = foreign_tags(t(23, 0));
        tags.retain(|(k, _)| k != TAG_UNTIL);
        assert!(!owner_of(&tags.into_iter().collect(), "ours").protected_at(t(9, 0), Duration::hours(1)));
    }

    #[tokio::test]
    async fn the_until_tag_follows_the_plan_and_names_this_store() {
        let rig = rig("until", |s| s);
        rig.window(t(9, 0), t(10, 0));
        rig.run(t(9, 0), Some(t(9, 0))).await.unwrap();
        let store_id = rig.store.store_id().unwrap();
        let lb = rig.elb().w().lbs[0].clone();
        assert_eq!(lb.tags.get(TAG_UNTIL).map(String::as_str), Some("2026-12-03T10:00:00Z"));
        assert_eq!(lb.tags.get(TAG_STORE), Some(&store_id));
        assert_eq!(rig.elb().w().tgs[0].tags.get(TAG_STORE), Some(&store_id));
        // A second window right after joins the lifetime: its end moves to 11:00.
        rig.window(t(10, 0), t(11, 0));
        rig.run(t(9, 30), None).await.unwrap();
        let w = rig.elb().w();
        assert_eq!(
            w.lbs[0].tags.get(TAG_UNTIL).map(String::as_str),
            Some("2026-12-03T11:00:00Z")
        );
        assert_eq!(
            w.tgs[0].tags.get(TAG_UNTIL).map(String::as_str),
            Some("2026-12-03T11:00:00Z")
        );
        assert_eq!(w.lbs.len(), 1, "one ALB, retagged, not replaced");
    }

    #[tokio::test]
    async fn a_target_group_naming_a_deleted_alb_is_swept() {
        let rig = rig("stale-tg", |s| s);
        let tags = rig.r.tags(5, t(10, 0)).unwrap();
        rig.elb()
            .create_tg(&TgSpec {
                name: "mlops-demo-0badc0de".into(),
                vpc_id: "vpc-1".into(),
                port: 80,
                health_check_path: "/health".into(),
                success_codes: "200".into(),
                tags,
            })
            .await
            .unwrap();
        // AWS still lists the ALB it served, which no longer exists.
        rig.elb()
            .w()
            .tgs
            .iter_mut()
            .for_each(|t| t.lb_arns = vec!["arn:lb/gone".into()]);
        let o = rig.run(t(12, 0), None).await.unwrap();
        assert!(
            o.actions
                .iter()
                .any(|a| matches!(a, Action::Delete(Resource::TargetGroup, _))),
            "{:?}",
            o.actions
        );
        assert!(rig.elb().w().tgs.is_empty());
    }

    #[tokio::test]
    async fn https_adds_a_443_listener_and_redirects_80() {
        let rig = rig("https", |s| {
            s.replace("# [alb.https]", "[alb.https]")
                .replace("# certificate_arn", "certificate_arn")
                .replace("# redirect_http", "redirect_http")
        });
        rig.window(t(9, 0), t(10, 0));
        rig.run(t(9, 0), None).await.unwrap();
        let calls = rig.elb().mutations();
        assert!(
            calls.iter().any(|c| c == "create_listener 80 RedirectToHttps"),
            "{calls:?}"
        );
        assert!(
            calls.iter().any(|c| c.starts_with("create_listener 443 Forward")),
            "{calls:?}"
        );
    }

    #[tokio::test]
    async fn coalesced_gap_is_recorded_on_the_lifetime() {
        let rig = rig("coalesce", |s| s);
        // 09:00–10:10 and 10:20–10:50: one lifetime bills 2 h, two bill 3 h → keep.
        rig.window(t(9, 0), t(10, 10));
        rig.window(t(10, 20), t(10, 50));
        rig.run(t(9, 0), None).await.unwrap();
        let o = rig.run(t(10, 15), None).await.unwrap();
        assert!(o.plan.should_exist && o.plan.in_gap.is_some());
        let l = &rig.store.open_lifetimes("seed-demo").unwrap()[0];
        assert_eq!(l.reason, LifetimeReason::CoalescedGap);
        assert!(
            l.reason_detail.contains("kept through the 10 min gap"),
            "{}",
            l.reason_detail
        );
        assert_eq!(l.window_ids, ["w1", "w2"]);
        assert_eq!(rig.elb().w().lbs.len(), 1);
        assert!(
            rig.store
                .decisions(20)
                .unwrap()
                .iter()
                .any(|d| d.action == DecisionAction::Coalesce)
        );
    }
}
