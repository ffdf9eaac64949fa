//! Route 53: the records costd keeps for a stable demo name (`[alb.dns]`),
//! behind [`Route53Api`] so the reconciler's unit tests can use a fake.
//! Route 53 records carry no tags, so ownership is a TXT record beside the
//! alias (see [`owner_value`]), as external-dns keeps its registry.

use std::future::Future;

use aws_sdk_route53 as r53;
use r53::types::{
    AliasTarget, Change as SdkChange, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use super::AwsError;

/// The IAM actions this adapter calls.
pub const IAM_ACTIONS: &[&str] = &[
    "route53:ChangeResourceRecordSets",
    "route53:GetChange",
    "route53:ListResourceRecordSets",
];

/// What a record answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordValue {
    /// An alias to an AWS resource's DNS name.
    Alias {
        /// Its DNS name, lower case, without the trailing dot.
        dns_name: String,
        /// The hosted zone Route 53 knows it by.
        hosted_zone_id: String,
        /// Whether Route 53 checks the target's health.
        evaluate_target_health: bool,
    },
    /// Plain values with a TTL (the ownership TXT record; anyone else's record).
    Values {
        /// Seconds.
        ttl: i64,
        /// The values as Route 53 gives them (a TXT value in quotes).
        values: Vec<String>,
    },
}

/// One record set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSet {
    /// Its name, lower case, without the trailing dot.
    pub name: String,
    /// `A`, `AAAA`, `TXT`, …
    pub record_type: String,
    /// What it answers with.
    pub value: RecordValue,
}

/// One change in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Creates or replaces.
    Upsert(RecordSet),
    /// Deletes (the record as it stands: Route 53 refuses a delete that does not match).
    Delete(RecordSet),
}

/// What costd needs of Route 53.
pub trait Route53Api: Send + Sync {
    /// The record sets named exactly `name` (any type) in `zone`.
    fn records(&self, zone: &str, name: &str) -> impl Future<Output = Result<Vec<RecordSet>, AwsError>> + Send;
    /// Applies `changes` as one atomic batch; returns the change's id.
    fn change(
        &self,
        zone: &str,
        changes: &[Change],
        comment: &str,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;
    /// Whether a change has reached every Route 53 server (`INSYNC`).
    fn change_insync(&self, id: &str) -> impl Future<Output = Result<bool, AwsError>> + Send;
}

/// The ownership record's value: `"heritage=costd,costd/deployment=<d>,costd/store=<id>"`.
pub fn owner_value(deployment: &str, store: &str) -> String {
    format!("\"heritage=costd,costd/deployment={deployment},costd/store={store}\"")
}

/// Who owns a name, read from its ownership record's values: (deployment, store).
pub fn owner_of(values: &[String]) -> Option<(String, String)> {
    values.iter().find_map(|v| {
        let v = v.trim_matches('"');
        let mut parts = v.split(',');
        if parts.next()? != "heritage=costd" {
            return None;
        }
        let mut deployment = None;
        let mut store = None;
        for p in parts {
            if let Some(d) = p.strip_prefix("costd/deployment=") {
                deployment = Some(d.to_string());
            } else if let Some(s) = p.strip_prefix("costd/store=") {
                store = Some(s.to_string());
            }
        }
        Some((deployment?, store?))
    })
}

/// A name as Route 53 returns it, made comparable: lower case, no trailing
/// dot, `\052` (its escape for `*`) read back.
pub fn normalize(name: &str) -> String {
    name.trim_end_matches('.').replace("\\052", "*").to_ascii_lowercase()
}

/// Route 53 on aws-sdk-route53.
#[derive(Clone)]
pub struct SdkRoute53 {
    client: r53::Client,
}

impl SdkRoute53 {
    /// Wraps a configured client.
    pub fn new(client: r53::Client) -> Self {
        SdkRoute53 { client }
    }
}

fn err<E>(
    op: &'static str,
    e: r53::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> AwsError
where
    E: r53::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    AwsError::from_sdk(op, e)
}

fn to_sdk(r: &RecordSet) -> Result<ResourceRecordSet, AwsError> {
    let bad = |m: String| AwsError::other("ChangeResourceRecordSets", &m);
    let mut b = ResourceRecordSet::builder()
        .name(&r.name)
        .r#type(RrType::from(r.record_type.as_str()));
    match &r.value {
        RecordValue::Alias {
            dns_name,
            hosted_zone_id,
            evaluate_target_health,
        } => {
            b = b.alias_target(
                AliasTarget::builder()
                    .dns_name(dns_name)
                    .hosted_zone_id(hosted_zone_id)
                    .evaluate_target_health(*evaluate_target_health)
                    .build()
                    .map_err(|e| bad(e.to_string()))?,
            );
        }
        RecordValue::Values { ttl, values } => {
            b = b.ttl(*ttl);
            for v in values {
                b = b.resource_records(
                    ResourceRecord::builder()
                        .value(v)
                        .build()
                        .map_err(|e| bad(e.to_string()))?,
                );
            }
        }
    }
    b.build().map_err(|e| bad(e.to_string()))
}

fn from_sdk(r: &ResourceRecordSet) -> RecordSet {
    let value = match r.alias_target() {
        Some(a) => RecordValue::Alias {
            dns_name: normalize(a.dns_name()),
            hosted_zone_id: a.hosted_zone_id().to_string(),
            evaluate_target_health: a.evaluate_target_health(),
        },
        None => RecordValue::Values {
            ttl: r.ttl().unwrap_or(0),
            values: r.resource_records().iter().map(|v| v.value().to_string()).collect(),
        },
    };
    RecordSet {
        name: normalize(r.name()),
        record_type: r.r#type().as_str().to_string(),
        value,
    }
}

impl Route53Api for SdkRoute53 {
    async fn records(&self, zone: &str, name: &str) -> Result<Vec<RecordSet>, AwsError> {
        // Listed in name order from `name`: the records of that name come
        // first (a name has few types), then others, which end the read.
        let r = self
            .client
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .start_record_name(name)
            .max_items(20)
            .send()
            .await
            .map_err(|e| err("ListResourceRecordSets", e))?;
        Ok(r.resource_record_sets()
            .iter()
            .map(from_sdk)
            .filter(|s| s.name == normalize(name))
            .collect())
    }

    async fn change(&self, zone: &str, changes: &[Change], comment: &str) -> Result<String, AwsError> {
        let mut batch = ChangeBatch::builder().comment(comment);
        for c in changes {
            let (action, set) = match c {
                Change::Upsert(s) => (ChangeAction::Upsert, s),
                Change::Delete(s) => (ChangeAction::Delete, s),
            };
            batch = batch.changes(
                SdkChange::builder()
                    .action(action)
                    .resource_record_set(to_sdk(set)?)
                    .build()
                    .map_err(|e| AwsError::other("ChangeResourceRecordSets", &e.to_string()))?,
            );
        }
        let batch = batch
            .build()
            .map_err(|e| AwsError::other("ChangeResourceRecordSets", &e.to_string()))?;
        let r = self
            .client
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| err("ChangeResourceRecordSets", e))?;
        Ok(r.change_info()
            .map(|i| i.id().trim_start_matches("/change/").to_string())
            .unwrap_or_default())
    }

    async fn change_insync(&self, id: &str) -> Result<bool, AwsError> {
        let r = match self.client.get_change().id(id).send().await {
            Ok(r) => r,
            Err(e) => {
                let e = err("GetChange", e);
                // A change too old to be looked up has long reached every server.
                return if e.message.starts_with("NoSuchChange") {
                    Ok(true)
                } else {
                    Err(e)
                };
            }
        };
        Ok(r.change_info()
            .is_some_and(|i| *i.status() == r53::types::ChangeStatus::Insync))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_round_trips_and_names_normalize() {
        let v = owner_value("seed-demo", "0b7e");
        assert_eq!(v, "\"heritage=costd,costd/deployment=seed-demo,costd/store=0b7e\"");
        assert_eq!(owner_of(&[v]), Some(("seed-demo".into(), "0b7e".into())));
        assert_eq!(owner_of(&["\"v=spf1 -all\"".into()]), None);
        assert_eq!(
            owner_of(&["\"heritage=external-dns,external-dns/owner=x\"".into()]),
            None
        );
        assert_eq!(normalize("Demo.Example.COM."), "demo.example.com");
        assert_eq!(normalize("\\052.example.com."), "*.example.com");
    }
}
