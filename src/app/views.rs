//! The read-only answers the API and the dashboard share: typed, so the
//! OpenAPI document describes them and every front end shows the same figures.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::App;
use crate::budget::{Budget, Evaluation, Projection};
use crate::pricing::PriceTable;
use crate::store::{Lifetime, StoreError, StoredAlarm, StoredTransition};

/// A month's projection by component, with the budget evaluations.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectionView {
    /// The month: actual so far from the ledger + the rest of the schedule.
    pub projection: Projection,
    /// Each budget threshold against it.
    pub budgets: Vec<Evaluation>,
}

/// [`ProjectionView`] borrowed: the same JSON, serialized without a copy.
#[derive(Serialize)]
pub struct ProjectionViewRef<'a> {
    /// The month.
    pub projection: &'a Projection,
    /// Each budget threshold against it.
    pub budgets: &'a [Evaluation],
}

/// The ledger of a month.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LedgerView {
    /// Lifetimes overlapping the month, oldest first.
    pub lifetimes: Vec<Lifetime>,
}

/// One reconcile decision as the API lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DecisionView {
    /// Its id (`before=` lists the older ones).
    pub id: i64,
    /// When it was taken.
    pub at: chrono::DateTime<chrono::Utc>,
    /// `create`, `delete`, `active`, `adopt`, `gone`, `reopen` or `coalesce`.
    pub action: &'static str,
    /// Windows concerned (`cfg0@…`, `w12`).
    pub windows: Vec<String>,
    /// The ALB concerned, if any.
    pub arn: Option<String>,
    /// In words.
    pub detail: String,
    /// AWS was left alone (dry-run).
    pub dry_run: bool,
    /// The planned edge it served, if any.
    pub edge_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A page of decisions, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DecisionPage {
    /// The decisions.
    pub decisions: Vec<DecisionView>,
    /// `before=` this for the next page; null on the last.
    pub next: Option<i64>,
}

impl DecisionPage {
    /// The page from up to `limit + 1` decisions read (the one beyond says another page follows).
    pub fn new(mut found: Vec<(i64, crate::store::Decision)>, limit: u32) -> Self {
        let more = found.len() > limit as usize;
        found.truncate(limit as usize);
        let decisions: Vec<DecisionView> = found
            .into_iter()
            .map(|(id, d)| DecisionView {
                id,
                at: d.at,
                action: d.action.as_str(),
                windows: d.window_ids,
                arn: d.arn,
                detail: d.detail,
                dry_run: d.dry_run,
                edge_at: d.edge_at,
            })
            .collect();
        let next = if more { decisions.last().map(|d| d.id) } else { None };
        DecisionPage { decisions, next }
    }
}

/// Budgets, their thresholds' states and recent transitions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BudgetsView {
    /// The budgets as configured.
    pub budgets: Vec<Budget>,
    /// Each threshold's stored state.
    pub states: Vec<StoredAlarm>,
    /// The latest 50 transitions, newest first.
    pub transitions: Vec<StoredTransition>,
}

/// The price table in use and the regions available.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PricingView {
    /// The deployment's region.
    pub region: String,
    /// Its table.
    pub table: PriceTable,
    /// Every region with a table.
    pub regions: Vec<String>,
}

/// Where the ALB stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlbPhase {
    /// No lifetime is open.
    Absent,
    /// Created, not yet reported active.
    Creating,
    /// Active (or, in dry-run, recorded as such).
    Active,
    /// Open but no window wants it any more: being deleted.
    Deleting,
}

impl AlbPhase {
    /// Every phase, for the metric's labels.
    pub const ALL: [AlbPhase; 4] = [
        AlbPhase::Absent,
        AlbPhase::Creating,
        AlbPhase::Active,
        AlbPhase::Deleting,
    ];

    /// The label.
    pub fn as_str(self) -> &'static str {
        match self {
            AlbPhase::Absent => "absent",
            AlbPhase::Creating => "creating",
            AlbPhase::Active => "active",
            AlbPhase::Deleting => "deleting",
        }
    }
}

/// The ALB's state now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlbState {
    /// Absent, creating, active or deleting.
    pub state: AlbPhase,
    /// Whether the daemon runs in dry-run.
    pub dry_run: bool,
    /// Its name, while a lifetime is open.
    pub name: Option<String>,
    /// Its DNS name, once created.
    pub dns_name: Option<String>,
    /// When its lifetime began.
    pub since: Option<DateTime<Utc>>,
    /// The windows it serves.
    pub windows: Option<Vec<String>>,
}

/// The ALB's state now, from the ledger and the reconcile loop's last plan.
pub async fn alb_state(app: &App) -> Result<AlbState, StoreError> {
    let open = app
        .store
        .open_lifetimes(&app.cfg.deployment)?
        .into_iter()
        .find(|l| l.dry_run == app.cfg.dry_run);
    let should = app.status.read().await.plan.as_ref().map(|p| p.should_exist);
    let state = match (&open, should) {
        (None, _) => AlbPhase::Absent,
        (Some(_), Some(false)) => AlbPhase::Deleting,
        (Some(l), _) if l.active_at.is_some() || l.dry_run => AlbPhase::Active,
        (Some(_), _) => AlbPhase::Creating,
    };
    Ok(AlbState {
        state,
        dry_run: app.cfg.dry_run,
        name: open.as_ref().map(|l| l.name.clone()),
        dns_name: open.as_ref().and_then(|l| l.dns_name.clone()),
        since: open.as_ref().map(|l| l.created_at),
        windows: open.as_ref().map(|l| l.window_ids.clone()),
    })
}
