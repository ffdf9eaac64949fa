//! An in-memory ELBv2 for the daemon's unit tests: states moto cannot
//! produce (provisioning, lagging listings, a target group still in use).
//! The SDK path is tested against moto in `tests/api/`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::aws::elb::{
    ElbApi, LbSpec, LbState, ListenerAction, ListenerSpec, ObservedLb, ObservedListener, ObservedTg, Owned, TgSpec,
    owned_by,
};
use crate::aws::{AwsError, AwsErrorKind};

#[derive(Default)]
pub struct World {
    pub lbs: Vec<ObservedLb>,
    pub tgs: Vec<ObservedTg>,
    pub listeners: HashMap<String, Vec<ObservedListener>>,
    pub provisioning: bool,
    /// The next this many listings leave out every load balancer (AWS's
    /// listings lag behind its writes).
    pub stale_listings: u32,
    pub calls: Vec<String>,
    pub next: u32,
    /// How many times the load balancers were listed (one per reconcile run).
    pub listings: u32,
}

/// Clones share one world (a test keeps one to look at what the daemon did).
#[derive(Default, Clone)]
pub struct FakeElb(Arc<Mutex<World>>);

impl FakeElb {
    pub fn w(&self) -> std::sync::MutexGuard<'_, World> {
        self.0.lock().unwrap()
    }
    pub fn mutations(&self) -> Vec<String> {
        self.w()
            .calls
            .iter()
            .filter(|c| !c.starts_with("describe"))
            .cloned()
            .collect()
    }
}

fn map(tags: &[(String, String)]) -> HashMap<String, String> {
    tags.iter().cloned().collect()
}

impl ElbApi for FakeElb {
    async fn list_owned(&self, prefix: &str, deployment: &str) -> Result<Owned, AwsError> {
        let mut w = self.w();
        w.listings += 1;
        let stale = w.stale_listings > 0;
        w.stale_listings = w.stale_listings.saturating_sub(1);
        let mine =
            |n: &str, t: &HashMap<String, String>| n.starts_with(&format!("{prefix}-")) && owned_by(t, deployment);
        Ok(Owned {
            lbs: w
                .lbs
                .iter()
                .filter(|l| !stale && mine(&l.name, &l.tags))
                .cloned()
                .collect(),
            tgs: w.tgs.iter().filter(|t| mine(&t.name, &t.tags)).cloned().collect(),
        })
    }
    async fn find_lb(&self, name: &str) -> Result<Option<ObservedLb>, AwsError> {
        Ok(self.w().lbs.iter().find(|l| l.name == name).cloned())
    }
    async fn find_tg(&self, name: &str) -> Result<Option<ObservedTg>, AwsError> {
        Ok(self.w().tgs.iter().find(|t| t.name == name).cloned())
    }
    async fn create_tg(&self, spec: &TgSpec) -> Result<String, AwsError> {
        let mut w = self.w();
        w.next += 1;
        let arn = format!("arn:tg/{}/{}", spec.name, w.next);
        w.tgs.push(ObservedTg {
            arn: arn.clone(),
            name: spec.name.clone(),
            lb_arns: vec![],
            tags: map(&spec.tags),
        });
        w.calls.push(format!("create_tg {}", spec.name));
        Ok(arn)
    }
    async fn register_targets(&self, _: &str, targets: &[(String, u16)]) -> Result<(), AwsError> {
        self.w().calls.push(format!("register {}", targets.len()));
        Ok(())
    }
    async fn create_lb(&self, spec: &LbSpec) -> Result<ObservedLb, AwsError> {
        let mut w = self.w();
        w.next += 1;
        let lb = ObservedLb {
            hosted_zone_id: "Z1LMS91P8CMLE5".into(),
            arn: format!("arn:lb/{}/{}", spec.name, w.next),
            name: spec.name.clone(),
            dns_name: format!("{}.elb.example", spec.name),
            state: if w.provisioning {
                LbState::Provisioning
            } else {
                LbState::Active
            },
            created_at: None,
            tags: map(&spec.tags),
        };
        w.lbs.push(lb.clone());
        w.calls.push(format!("create_lb {}", spec.name));
        Ok(lb)
    }
    async fn describe_lb(&self, arn: &str) -> Result<Option<ObservedLb>, AwsError> {
        let mut w = self.w();
        w.calls.push("describe_lb".into());
        let provisioning = w.provisioning;
        Ok(w.lbs.iter_mut().find(|l| l.arn == arn).map(|l| {
            if !provisioning {
                l.state = LbState::Active;
            }
            l.clone()
        }))
    }
    async fn listeners(&self, lb_arn: &str) -> Result<Vec<ObservedListener>, AwsError> {
        Ok(self.w().listeners.get(lb_arn).cloned().unwrap_or_default())
    }
    async fn create_listener(&self, spec: &ListenerSpec) -> Result<String, AwsError> {
        let mut w = self.w();
        w.next += 1;
        let arn = format!("arn:listener/{}", w.next);
        w.listeners
            .entry(spec.lb_arn.clone())
            .or_default()
            .push(ObservedListener {
                arn: arn.clone(),
                port: spec.port,
            });
        if let ListenerAction::Forward { tg_arn } = &spec.action {
            let lb = spec.lb_arn.clone();
            if let Some(tg) = w.tgs.iter_mut().find(|t| &t.arn == tg_arn) {
                tg.lb_arns.push(lb);
            }
        }
        w.calls.push(format!("create_listener {} {:?}", spec.port, spec.action));
        Ok(arn)
    }
    async fn delete_listener(&self, arn: &str) -> Result<(), AwsError> {
        let mut w = self.w();
        for v in w.listeners.values_mut() {
            v.retain(|l| l.arn != arn);
        }
        w.calls.push("delete_listener".into());
        Ok(())
    }
    async fn delete_lb(&self, arn: &str) -> Result<(), AwsError> {
        let mut w = self.w();
        w.lbs.retain(|l| l.arn != arn);
        for t in w.tgs.iter_mut() {
            t.lb_arns.retain(|a| a != arn);
        }
        w.calls.push(format!("delete_lb {arn}"));
        Ok(())
    }
    async fn add_tags(&self, arn: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        let mut w = self.w();
        for (k, v) in tags {
            if let Some(lb) = w.lbs.iter_mut().find(|l| l.arn == arn) {
                lb.tags.insert(k.clone(), v.clone());
            }
            if let Some(tg) = w.tgs.iter_mut().find(|t| t.arn == arn) {
                tg.tags.insert(k.clone(), v.clone());
            }
        }
        w.calls.push(format!("add_tags {arn}"));
        Ok(())
    }
    async fn delete_tg(&self, arn: &str) -> Result<(), AwsError> {
        let mut w = self.w();
        // In use only while a load balancer it names still exists (as in AWS).
        let in_use = w
            .tgs
            .iter()
            .any(|t| t.arn == arn && t.lb_arns.iter().any(|a| w.lbs.iter().any(|l| &l.arn == a)));
        if in_use {
            return Err(AwsError {
                op: "DeleteTargetGroup",
                kind: AwsErrorKind::InUse,
                message: "in use".into(),
            });
        }
        w.tgs.retain(|t| t.arn != arn);
        w.calls.push("delete_tg".into());
        Ok(())
    }
}

/// An in-memory Route 53 zone for the reconciler's unit tests: records by
/// (name, type), Route 53's rule that a DELETE must match the record
/// exactly, and changes that reach INSYNC only when the test says so.
#[derive(Default)]
pub struct Zone {
    pub records: Vec<crate::aws::route53::RecordSet>,
    pub calls: Vec<String>,
    /// Changes not yet INSYNC.
    pub pending: Vec<String>,
    /// Changes are INSYNC at once unless set.
    pub slow: bool,
    /// Every call fails as an unreachable Route 53 would.
    pub down: bool,
    pub next: u32,
}

fn unreachable(op: &'static str) -> AwsError {
    AwsError {
        op,
        kind: AwsErrorKind::Transient,
        message: "dispatch failure: connection refused".into(),
    }
}

/// Clones share one zone.
#[derive(Default, Clone)]
pub struct FakeRoute53(Arc<Mutex<Zone>>);

impl FakeRoute53 {
    pub fn z(&self) -> std::sync::MutexGuard<'_, Zone> {
        self.0.lock().unwrap()
    }
}

impl crate::aws::route53::Route53Api for FakeRoute53 {
    async fn records(&self, _zone: &str, name: &str) -> Result<Vec<crate::aws::route53::RecordSet>, AwsError> {
        if self.z().down {
            return Err(unreachable("ListResourceRecordSets"));
        }
        Ok(self.z().records.iter().filter(|r| r.name == name).cloned().collect())
    }
    async fn change(
        &self,
        _zone: &str,
        changes: &[crate::aws::route53::Change],
        _comment: &str,
    ) -> Result<String, AwsError> {
        use crate::aws::route53::Change;
        let mut z = self.z();
        if z.down {
            return Err(unreachable("ChangeResourceRecordSets"));
        }
        let mut records = z.records.clone();
        for c in changes {
            match c {
                Change::Upsert(r) => {
                    records.retain(|x| !(x.name == r.name && x.record_type == r.record_type));
                    records.push(r.clone());
                }
                Change::Delete(r) => {
                    let before = records.len();
                    records.retain(|x| x != r);
                    if records.len() == before {
                        return Err(AwsError {
                            op: "ChangeResourceRecordSets",
                            kind: AwsErrorKind::Other,
                            message: format!("InvalidChangeBatch: {} {} not found as given", r.record_type, r.name),
                        });
                    }
                }
            }
        }
        z.records = records;
        z.next += 1;
        let id = format!("C{}", z.next);
        z.calls.push(format!("change {id} {}", changes.len()));
        if z.slow {
            z.pending.push(id.clone());
        }
        Ok(id)
    }
    async fn change_insync(&self, id: &str) -> Result<bool, AwsError> {
        let mut z = self.z();
        if z.down {
            return Err(unreachable("GetChange"));
        }
        z.calls.push(format!("get_change {id}"));
        Ok(!z.pending.iter().any(|p| p == id))
    }
}
