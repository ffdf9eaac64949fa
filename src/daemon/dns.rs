//! The stable demo name (`[alb.dns]`): an alias record in Route 53 that
//! follows the ALB costd creates. Observed each reconcile, compared with
//! what the plan wants (the active ALB, the fallback, or nothing), and
//! converged in one atomic change batch. Route 53 records carry no tags, so
//! ownership is a TXT record `_costd.<name>` naming the deployment and the
//! store (as external-dns keeps its registry): a name without it is someone
//! else's and is reported, never overwritten, unless `take_over` is set.

use crate::aws::AwsError;
use crate::aws::route53::{Change, RecordSet, RecordValue, Route53Api, owner_of, owner_value};
use crate::config::DnsConfig;

/// The TTL of the ownership record.
const OWNER_TTL_SECONDS: i64 = 300;

/// What the stable name should answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The ALB: its DNS name and the zone Route 53 knows it by.
    Alb {
        /// The ALB's DNS name.
        dns_name: String,
        /// Its canonical hosted zone.
        hosted_zone_id: String,
    },
    /// The configured fallback, or (none configured) no record at all.
    Closed,
}

/// The name's records as they stand.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observed {
    /// Record sets at the name (any type).
    pub at_name: Vec<RecordSet>,
    /// Record sets at the ownership name (`_costd.<name>`).
    pub at_owner: Vec<RecordSet>,
}

/// Whose the name is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// costd's (this deployment and store), or nobody's yet.
    Ours,
    /// Someone else's, with why: left alone.
    Foreign(String),
}

/// What a step decided.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Step {
    /// The changes to send (empty: nothing to do).
    pub changes: Vec<Change>,
    /// Why the name is left alone, when it is someone else's or points elsewhere.
    pub problem: Option<String>,
}

impl Observed {
    fn owner_values(&self) -> Vec<String> {
        self.at_owner
            .iter()
            .filter(|r| r.record_type == "TXT")
            .flat_map(|r| match &r.value {
                RecordValue::Values { values, .. } => values.clone(),
                RecordValue::Alias { .. } => Vec::new(),
            })
            .collect()
    }

    /// Whose the name is: ours when our ownership record names this
    /// deployment and store, or when nothing is there yet.
    pub fn ownership(&self, cfg: &DnsConfig, deployment: &str, store: &str) -> Ownership {
        let values = self.owner_values();
        match owner_of(&values) {
            Some((d, s)) if d == deployment && s == store => Ownership::Ours,
            Some((d, s)) => Ownership::Foreign(format!(
                "{} is kept by another costd (deployment {d}, store {s})",
                cfg.record_name
            )),
            None if self.at_name.is_empty() => Ownership::Ours,
            None => Ownership::Foreign(format!(
                "{} has records ({}) that costd did not write (no {} TXT record naming this deployment); \
                 set [alb.dns] take_over = true to let costd manage it",
                cfg.record_name,
                self.at_name
                    .iter()
                    .map(|r| r.record_type.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                cfg.owner_record_name()
            )),
        }
    }
}

/// The changes that make the name answer `target` (pure).
pub fn plan(cfg: &DnsConfig, deployment: &str, store: &str, observed: &Observed, target: &Target) -> Step {
    if let Ownership::Foreign(why) = observed.ownership(cfg, deployment, store)
        && !cfg.take_over
    {
        return Step {
            changes: Vec::new(),
            problem: Some(why),
        };
    }
    let alias = match target {
        // AWS's alias for an ALB answers both families under `dualstack.`.
        Target::Alb {
            dns_name,
            hosted_zone_id,
        } => Some((
            format!("dualstack.{}", crate::aws::route53::normalize(dns_name)),
            hosted_zone_id.clone(),
        )),
        Target::Closed => cfg
            .fallback
            .as_ref()
            .map(|f| (f.dns_name.clone(), f.hosted_zone_id.clone())),
    };
    let mut changes = Vec::new();
    let types: Vec<&str> = cfg.record_types.iter().map(|t| t.as_str()).collect();
    match &alias {
        Some((dns_name, zone)) => {
            for ty in &types {
                let want = RecordSet {
                    name: cfg.record_name.clone(),
                    record_type: ty.to_string(),
                    value: RecordValue::Alias {
                        dns_name: dns_name.clone(),
                        hosted_zone_id: zone.clone(),
                        evaluate_target_health: cfg.evaluate_target_health,
                    },
                };
                if !observed.at_name.contains(&want) {
                    changes.push(Change::Upsert(want));
                }
            }
            let owner = RecordSet {
                name: cfg.owner_record_name(),
                record_type: "TXT".into(),
                value: RecordValue::Values {
                    ttl: OWNER_TTL_SECONDS,
                    values: vec![owner_value(deployment, store)],
                },
            };
            if !observed.at_owner.contains(&owner) {
                changes.push(Change::Upsert(owner));
            }
        }
        None => {
            // No fallback: the name goes, then its ownership record (in the same batch).
            for r in observed
                .at_name
                .iter()
                .filter(|r| types.contains(&r.record_type.as_str()))
            {
                changes.push(Change::Delete(r.clone()));
            }
            for r in observed.at_owner.iter().filter(|r| r.record_type == "TXT") {
                changes.push(Change::Delete(r.clone()));
            }
        }
    }
    // A type costd once wrote but no longer wants (AAAA after dualstack was turned off).
    for r in &observed.at_name {
        let ours_type = r.record_type == "A" || r.record_type == "AAAA";
        if ours_type && !types.contains(&r.record_type.as_str()) {
            changes.push(Change::Delete(r.clone()));
        }
    }
    Step { changes, problem: None }
}

/// Reads the name's records.
pub async fn observe<R: Route53Api>(api: &R, cfg: &DnsConfig) -> Result<Observed, AwsError> {
    Ok(Observed {
        at_name: api.records(&cfg.hosted_zone_id, &cfg.record_name).await?,
        at_owner: api.records(&cfg.hosted_zone_id, &cfg.owner_record_name()).await?,
    })
}

/// A change as the ledger keeps it: `<id> <UPSERT|DELETE> <TYPE> <name> → <target>`.
pub fn describe(id: &str, changes: &[Change]) -> String {
    let parts: Vec<String> = changes
        .iter()
        .map(|c| {
            let (verb, r) = match c {
                Change::Upsert(r) => ("UPSERT", r),
                Change::Delete(r) => ("DELETE", r),
            };
            let to = match &r.value {
                RecordValue::Alias { dns_name, .. } => format!(" → {dns_name}"),
                RecordValue::Values { .. } => String::new(),
            };
            format!("{verb} {} {}{to}", r.record_type, r.name)
        })
        .collect();
    format!("{id} {}", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AliasTarget, RecordType};

    fn cfg() -> DnsConfig {
        DnsConfig {
            hosted_zone_id: "Z0123".into(),
            record_name: "demo.example.com".into(),
            record_types: vec![RecordType::A],
            evaluate_target_health: false,
            fallback: None,
            take_over: false,
            release_timeout: chrono::Duration::minutes(15),
        }
    }

    fn alias(ty: &str, to: &str, zone: &str) -> RecordSet {
        RecordSet {
            name: "demo.example.com".into(),
            record_type: ty.into(),
            value: RecordValue::Alias {
                dns_name: to.into(),
                hosted_zone_id: zone.into(),
                evaluate_target_health: false,
            },
        }
    }

    fn owner(deployment: &str, store: &str) -> RecordSet {
        RecordSet {
            name: "_costd.demo.example.com".into(),
            record_type: "TXT".into(),
            value: RecordValue::Values {
                ttl: 300,
                values: vec![owner_value(deployment, store)],
            },
        }
    }

    fn alb() -> Target {
        Target::Alb {
            dns_name: "Demo-1.us-east-1.elb.amazonaws.com".into(),
            hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
        }
    }

    #[test]
    fn a_free_name_gets_the_alias_and_the_ownership_record_then_nothing_more() {
        let step = plan(&cfg(), "d", "s1", &Observed::default(), &alb());
        let want_alias = alias("A", "dualstack.demo-1.us-east-1.elb.amazonaws.com", "Z35SXDOTRQ7X7K");
        assert_eq!(
            step.changes,
            [Change::Upsert(want_alias.clone()), Change::Upsert(owner("d", "s1"))]
        );
        // Applied: converged, nothing to send.
        let now = Observed {
            at_name: vec![want_alias],
            at_owner: vec![owner("d", "s1")],
        };
        assert_eq!(plan(&cfg(), "d", "s1", &now, &alb()), Step::default());
        // Closed without a fallback: both go, in one batch.
        let closed = plan(&cfg(), "d", "s1", &now, &Target::Closed);
        assert_eq!(
            closed.changes,
            [Change::Delete(now.at_name[0].clone()), Change::Delete(owner("d", "s1"))]
        );
        // With a fallback: the alias points there, the ownership stays.
        let mut with_fallback = cfg();
        with_fallback.fallback = Some(AliasTarget {
            dns_name: "closed.example.com.s3-website-us-east-1.amazonaws.com".into(),
            hosted_zone_id: "Z3AQBSTGFYJSTF".into(),
        });
        let step = plan(&with_fallback, "d", "s1", &now, &Target::Closed);
        assert_eq!(
            step.changes,
            [Change::Upsert(alias(
                "A",
                "closed.example.com.s3-website-us-east-1.amazonaws.com",
                "Z3AQBSTGFYJSTF"
            ))]
        );
    }

    #[test]
    fn someone_elses_name_is_reported_and_left_alone_unless_taken_over() {
        let theirs = Observed {
            at_name: vec![alias("A", "their-lb.elb.amazonaws.com", "Z1")],
            at_owner: vec![],
        };
        let step = plan(&cfg(), "d", "s1", &theirs, &alb());
        assert!(step.changes.is_empty());
        assert!(step.problem.unwrap().contains("that costd did not write"));
        // Another costd (another store) keeps it: also left alone.
        let other = Observed {
            at_name: vec![],
            at_owner: vec![owner("d", "s2")],
        };
        let step = plan(&cfg(), "d", "s1", &other, &alb());
        assert!(step.changes.is_empty());
        assert!(step.problem.unwrap().contains("store s2"));
        // take_over: overwritten, and the ownership record written.
        let mut t = cfg();
        t.take_over = true;
        let step = plan(&t, "d", "s1", &theirs, &alb());
        assert_eq!(step.changes.len(), 2);
        assert!(step.problem.is_none());
        // A name with only someone's TXT elsewhere (SPF at the apex) is not ours to judge:
        // only records at the name itself and the `_costd.` name count.
        assert_eq!(
            plan(&cfg(), "d", "s1", &Observed::default(), &Target::Closed),
            Step::default()
        );
    }

    #[test]
    fn a_dualstack_alb_gets_a_and_aaaa_and_a_dropped_type_is_deleted() {
        let mut dual = cfg();
        dual.record_types = vec![RecordType::A, RecordType::Aaaa];
        let step = plan(&dual, "d", "s1", &Observed::default(), &alb());
        let types: Vec<&str> = step
            .changes
            .iter()
            .map(|c| match c {
                Change::Upsert(r) | Change::Delete(r) => r.record_type.as_str(),
            })
            .collect();
        assert_eq!(types, ["A", "AAAA", "TXT"]);
        // Dualstack turned off: the AAAA record costd wrote goes.
        let to = "dualstack.demo-1.us-east-1.elb.amazonaws.com";
        let now = Observed {
            at_name: vec![alias("A", to, "Z35SXDOTRQ7X7K"), alias("AAAA", to, "Z35SXDOTRQ7X7K")],
            at_owner: vec![owner("d", "s1")],
        };
        assert_eq!(
            plan(&cfg(), "d", "s1", &now, &alb()).changes,
            [Change::Delete(alias("AAAA", to, "Z35SXDOTRQ7X7K"))]
        );
    }

    #[test]
    fn the_ledger_line_names_each_change() {
        let c = [Change::Upsert(alias("A", "dualstack.x.elb.amazonaws.com", "Z1"))];
        assert_eq!(
            describe("C123", &c),
            "C123 UPSERT A demo.example.com → dualstack.x.elb.amazonaws.com"
        );
    }
}
