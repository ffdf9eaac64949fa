//! Elastic Load Balancing v2: what the reconciler needs, as a trait
//! ([`ElbApi`]) and its implementation on aws-sdk-elasticloadbalancingv2
//! ([`SdkElb`]). Deletes are idempotent (not-found is success); creates are
//! made idempotent by the caller's check-by-name before create.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_elasticloadbalancingv2 as elbv2;
use chrono::{DateTime, Utc};
use elbv2::error::ProvideErrorMetadata;
use elbv2::types::{
    Action, ActionTypeEnum, Certificate, IpAddressType, LoadBalancerSchemeEnum, LoadBalancerStateEnum,
    LoadBalancerTypeEnum, Matcher, ProtocolEnum, RedirectActionConfig, RedirectActionStatusCodeEnum, Tag,
    TargetDescription, TargetTypeEnum,
};

use super::AwsError;

/// Tag key that marks a resource as costd's.
pub const TAG_MANAGED: &str = "costd:managed";
/// Tag key naming the deployment.
pub const TAG_DEPLOYMENT: &str = "costd:deployment";
/// Tag key naming the ledger lifetime.
pub const TAG_LIFETIME: &str = "costd:lifetime";
/// Tag key naming the store that made the resource (its UUID).
pub const TAG_STORE: &str = "costd:store";
/// Tag key holding the lifetime's planned end (RFC 3339, UTC): until then
/// another store's daemon leaves the resource alone.
pub const TAG_UNTIL: &str = "costd:until";
/// Replicas on PostgreSQL: the fencing token of the leader that created it.
pub const TAG_LEASE_TOKEN: &str = "costd:lease-token";

/// Whose a resource tagged as costd's is, seen from one store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// Made by this store.
    Ours,
    /// Made before resources carried their store (treated as this store's).
    Unmarked,
    /// Made by another store, planned to run until `until` (`None`: no
    /// readable `costd:until`, so nothing protects it).
    Foreign {
        /// The other store's id.
        store: String,
        /// Its planned end.
        until: Option<DateTime<Utc>>,
    },
}

impl Owner {
    /// Whether another store's resource is still protected at `at`: before
    /// its `until` plus `margin` nobody else may touch it.
    pub fn protected_at(&self, at: DateTime<Utc>, margin: chrono::Duration) -> bool {
        matches!(self, Owner::Foreign { until: Some(u), .. } if at < *u + margin)
    }
}

/// Whose the resource with these tags is, for the store `store_id`.
pub fn owner_of(tags: &HashMap<String, String>, store_id: &str) -> Owner {
    match tags.get(TAG_STORE) {
        None => Owner::Unmarked,
        Some(s) if s == store_id => Owner::Ours,
        Some(s) => Owner::Foreign {
            store: s.clone(),
            until: tags
                .get(TAG_UNTIL)
                .and_then(|u| DateTime::parse_from_rfc3339(u).ok())
                .map(|u| u.to_utc()),
        },
    }
}

/// The `costd:until` value for `t`.
pub fn until_tag(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Every IAM action costd's ELBv2 calls need (see [`super::iam::policy`]).
pub const IAM_ACTIONS: &[&str] = &[
    "elasticloadbalancing:AddTags",
    "elasticloadbalancing:CreateListener",
    "elasticloadbalancing:CreateLoadBalancer",
    "elasticloadbalancing:CreateTargetGroup",
    "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:DeleteLoadBalancer",
    "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:RegisterTargets",
];

/// Provisioning state of a load balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LbState {
    /// Being created; DNS not ready.
    Provisioning,
    /// Serving.
    Active,
    /// Active but degraded.
    ActiveImpaired,
    /// Could not be created.
    Failed,
}

/// A load balancer as AWS describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedLb {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// DNS name.
    pub dns_name: String,
    /// The hosted zone Route 53 knows its DNS name by (`CanonicalHostedZoneId`, for an alias).
    pub hosted_zone_id: String,
    /// State.
    pub state: LbState,
    /// When AWS created it.
    pub created_at: Option<DateTime<Utc>>,
    /// Its tags.
    pub tags: HashMap<String, String>,
}

/// A target group as AWS describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedTg {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// Load balancers using it.
    pub lb_arns: Vec<String>,
    /// Its tags.
    pub tags: HashMap<String, String>,
}

/// A listener.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedListener {
    /// ARN.
    pub arn: String,
    /// Port.
    pub port: u16,
}

/// Everything costd owns for one deployment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Owned {
    /// Load balancers tagged as costd's for the deployment.
    pub lbs: Vec<ObservedLb>,
    /// Target groups tagged likewise.
    pub tgs: Vec<ObservedTg>,
}

/// Whether tags say costd owns a resource of `deployment`.
pub fn owned_by(tags: &HashMap<String, String>, deployment: &str) -> bool {
    tags.get(TAG_MANAGED).map(String::as_str) == Some("true")
        && tags.get(TAG_DEPLOYMENT).map(String::as_str) == Some(deployment)
}

/// A target group to create.
#[derive(Debug, Clone, PartialEq)]
pub struct TgSpec {
    /// Name (≤ 32).
    pub name: String,
    /// VPC.
    pub vpc_id: String,
    /// HTTP port of the targets.
    pub port: u16,
    /// Health check path.
    pub health_check_path: String,
    /// Healthy HTTP codes.
    pub success_codes: String,
    /// Tags (ownership).
    pub tags: Vec<(String, String)>,
}

/// A load balancer to create.
#[derive(Debug, Clone, PartialEq)]
pub struct LbSpec {
    /// Name (≤ 32).
    pub name: String,
    /// Internet-facing or internal.
    pub internet_facing: bool,
    /// Subnets.
    pub subnets: Vec<String>,
    /// Security groups.
    pub security_groups: Vec<String>,
    /// IPv4 and IPv6, or IPv4 only.
    pub dualstack: bool,
    /// Tags (ownership).
    pub tags: Vec<(String, String)>,
}

/// What a listener does.
#[derive(Debug, Clone, PartialEq)]
pub enum ListenerAction {
    /// Forward to a target group.
    Forward {
        /// The target group.
        tg_arn: String,
    },
    /// Redirect HTTP to HTTPS (301).
    RedirectToHttps,
}

/// A listener to create.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerSpec {
    /// The load balancer.
    pub lb_arn: String,
    /// 80 (HTTP) or 443 (HTTPS).
    pub port: u16,
    /// ACM certificate for HTTPS.
    pub certificate_arn: Option<String>,
    /// Default action.
    pub action: ListenerAction,
    /// Tags (ownership).
    pub tags: Vec<(String, String)>,
}

/// The ELBv2 calls costd makes.
pub trait ElbApi: Send + Sync {
    /// Load balancers and target groups whose names start with `prefix-` and whose tags say costd owns them.
    fn list_owned(&self, prefix: &str, deployment: &str) -> impl Future<Output = Result<Owned, AwsError>> + Send;
    /// A load balancer by name, with tags, whoever owns it.
    fn find_lb(&self, name: &str) -> impl Future<Output = Result<Option<ObservedLb>, AwsError>> + Send;
    /// A target group by name, with tags, whoever owns it.
    fn find_tg(&self, name: &str) -> impl Future<Output = Result<Option<ObservedTg>, AwsError>> + Send;
    /// Creates a target group; returns its ARN.
    fn create_tg(&self, spec: &TgSpec) -> impl Future<Output = Result<String, AwsError>> + Send;
    /// Registers IP targets.
    fn register_targets(
        &self,
        tg_arn: &str,
        targets: &[(String, u16)],
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// Creates a load balancer.
    fn create_lb(&self, spec: &LbSpec) -> impl Future<Output = Result<ObservedLb, AwsError>> + Send;
    /// A load balancer by ARN (None once it is gone).
    fn describe_lb(&self, arn: &str) -> impl Future<Output = Result<Option<ObservedLb>, AwsError>> + Send;
    /// Listeners of a load balancer.
    fn listeners(&self, lb_arn: &str) -> impl Future<Output = Result<Vec<ObservedListener>, AwsError>> + Send;
    /// Creates a listener; returns its ARN.
    fn create_listener(&self, spec: &ListenerSpec) -> impl Future<Output = Result<String, AwsError>> + Send;
    /// Deletes a listener (gone already is success).
    fn delete_listener(&self, arn: &str) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// Deletes a load balancer (gone already is success).
    fn delete_lb(&self, arn: &str) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// Deletes a target group (gone already is success; in use is an error to retry).
    fn delete_tg(&self, arn: &str) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// Adds or overwrites tags on a resource of costd's (e.g. a later `costd:until`).
    fn add_tags(&self, arn: &str, tags: &[(String, String)]) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// [`ElbApi`] on the AWS SDK.
#[derive(Clone)]
pub struct SdkElb {
    client: elbv2::Client,
}

impl SdkElb {
    /// Wraps a configured client.
    pub fn new(client: elbv2::Client) -> Self {
        SdkElb { client }
    }
}

fn err<E>(
    op: &'static str,
    e: elbv2::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    AwsError::from_sdk(op, e)
}

fn tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn lb_from(lb: &elbv2::types::LoadBalancer) -> ObservedLb {
    let state = match lb.state().and_then(|s| s.code()) {
        Some(LoadBalancerStateEnum::Active) => LbState::Active,
        Some(LoadBalancerStateEnum::ActiveImpaired) => LbState::ActiveImpaired,
        Some(LoadBalancerStateEnum::Failed) => LbState::Failed,
        _ => LbState::Provisioning,
    };
    ObservedLb {
        arn: lb.load_balancer_arn().unwrap_or_default().to_string(),
        name: lb.load_balancer_name().unwrap_or_default().to_string(),
        dns_name: lb.dns_name().unwrap_or_default().to_string(),
        hosted_zone_id: lb.canonical_hosted_zone_id().unwrap_or_default().to_string(),
        state,
        created_at: lb
            .created_time()
            .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos())),
        tags: HashMap::new(),
    }
}

impl SdkElb {
    async fn tags_of(&self, arns: &[String]) -> Result<HashMap<String, HashMap<String, String>>, AwsError> {
        let mut out = HashMap::new();
        for chunk in arns.chunks(20) {
            let r = self
                .client
                .describe_tags()
                .set_resource_arns(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| err("DescribeTags", e))?;
            for d in r.tag_descriptions() {
                let map = d
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
                    .collect();
                out.insert(d.resource_arn().unwrap_or_default().to_string(), map);
            }
        }
        Ok(out)
    }

    async fn all_lbs(&self) -> Result<Vec<ObservedLb>, AwsError> {
        let mut out = Vec::new();
        let mut marker = None;
        loop {
            let r = self
                .client
                .describe_load_balancers()
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| err("DescribeLoadBalancers", e))?;
            out.extend(r.load_balancers().iter().map(lb_from));
            marker = r.next_marker().map(str::to_string);
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    async fn all_tgs(&self) -> Result<Vec<ObservedTg>, AwsError> {
        let mut out = Vec::new();
        let mut marker = None;
        loop {
            let r = self
                .client
                .describe_target_groups()
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| err("DescribeTargetGroups", e))?;
            out.extend(r.target_groups().iter().map(|t| ObservedTg {
                arn: t.target_group_arn().unwrap_or_default().to_string(),
                name: t.target_group_name().unwrap_or_default().to_string(),
                lb_arns: t.load_balancer_arns().to_vec(),
                tags: HashMap::new(),
            }));
            marker = r.next_marker().map(str::to_string);
            if marker.is_none() {
                return Ok(out);
            }
        }
    }
}

impl ElbApi for SdkElb {
    async fn list_owned(&self, prefix: &str, deployment: &str) -> Result<Owned, AwsError> {
        let ours = |name: &str| name.starts_with(&format!("{prefix}-"));
        let mut lbs: Vec<ObservedLb> = self.all_lbs().await?.into_iter().filter(|l| ours(&l.name)).collect();
        let mut tgs: Vec<ObservedTg> = self.all_tgs().await?.into_iter().filter(|t| ours(&t.name)).collect();
        let arns: Vec<String> = lbs
            .iter()
            .map(|l| l.arn.clone())
            .chain(tgs.iter().map(|t| t.arn.clone()))
            .collect();
        let mut tag_map = self.tags_of(&arns).await?;
        for l in &mut lbs {
            l.tags = tag_map.remove(&l.arn).unwrap_or_default();
        }
        for t in &mut tgs {
            t.tags = tag_map.remove(&t.arn).unwrap_or_default();
        }
        lbs.retain(|l| owned_by(&l.tags, deployment));
        tgs.retain(|t| owned_by(&t.tags, deployment));
        Ok(Owned { lbs, tgs })
    }

    async fn find_lb(&self, name: &str) -> Result<Option<ObservedLb>, AwsError> {
        let r = self.client.describe_load_balancers().names(name).send().await;
        let lb = match r {
            Ok(r) => r.load_balancers().first().map(lb_from),
            Err(e) => {
                let e = err("DescribeLoadBalancers", e);
                if e.is_not_found() {
                    return Ok(None);
                }
                return Err(e);
            }
        };
        match lb {
            Some(mut lb) => {
                lb.tags = self
                    .tags_of(std::slice::from_ref(&lb.arn))
                    .await?
                    .remove(&lb.arn)
                    .unwrap_or_default();
                Ok(Some(lb))
            }
            None => Ok(None),
        }
    }

    async fn find_tg(&self, name: &str) -> Result<Option<ObservedTg>, AwsError> {
        let r = self.client.describe_target_groups().names(name).send().await;
        let tg = match r {
            Ok(r) => r.target_groups().first().map(|t| ObservedTg {
                arn: t.target_group_arn().unwrap_or_default().to_string(),
                name: t.target_group_name().unwrap_or_default().to_string(),
                lb_arns: t.load_balancer_arns().to_vec(),
                tags: HashMap::new(),
            }),
            Err(e) => {
                let e = err("DescribeTargetGroups", e);
                if e.is_not_found() {
                    return Ok(None);
                }
                return Err(e);
            }
        };
        match tg {
            Some(mut tg) => {
                tg.tags = self
                    .tags_of(std::slice::from_ref(&tg.arn))
                    .await?
                    .remove(&tg.arn)
                    .unwrap_or_default();
                Ok(Some(tg))
            }
            None => Ok(None),
        }
    }

    async fn create_tg(&self, spec: &TgSpec) -> Result<String, AwsError> {
        let r = self
            .client
            .create_target_group()
            .name(&spec.name)
            .protocol(ProtocolEnum::Http)
            .port(i32::from(spec.port))
            .vpc_id(&spec.vpc_id)
            .target_type(TargetTypeEnum::Ip)
            .health_check_path(&spec.health_check_path)
            .matcher(Matcher::builder().http_code(&spec.success_codes).build())
            .set_tags(Some(tags(&spec.tags)))
            .send()
            .await
            .map_err(|e| err("CreateTargetGroup", e))?;
        r.target_groups()
            .first()
            .and_then(|t| t.target_group_arn())
            .map(str::to_string)
            .ok_or_else(|| AwsError::other("CreateTargetGroup", "no target group in the response"))
    }

    async fn register_targets(&self, tg_arn: &str, targets: &[(String, u16)]) -> Result<(), AwsError> {
        if targets.is_empty() {
            return Ok(());
        }
        self.client
            .register_targets()
            .target_group_arn(tg_arn)
            .set_targets(Some(
                targets
                    .iter()
                    .map(|(ip, p)| TargetDescription::builder().id(ip).port(i32::from(*p)).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| err("RegisterTargets", e))?;
        Ok(())
    }

    async fn create_lb(&self, spec: &LbSpec) -> Result<ObservedLb, AwsError> {
        let r = self
            .client
            .create_load_balancer()
            .name(&spec.name)
            .r#type(LoadBalancerTypeEnum::Application)
            .scheme(if spec.internet_facing {
                LoadBalancerSchemeEnum::InternetFacing
            } else {
                LoadBalancerSchemeEnum::Internal
            })
            .ip_address_type(if spec.dualstack {
                IpAddressType::Dualstack
            } else {
                IpAddressType::Ipv4
            })
            .set_subnets(Some(spec.subnets.clone()))
            .set_security_groups(Some(spec.security_groups.clone()))
            .set_tags(Some(tags(&spec.tags)))
            .send()
            .await
            .map_err(|e| err("CreateLoadBalancer", e))?;
        let mut lb = r
            .load_balancers()
            .first()
            .map(lb_from)
            .ok_or_else(|| AwsError::other("CreateLoadBalancer", "no load balancer in the response"))?;
        lb.tags = spec.tags.iter().cloned().collect();
        Ok(lb)
    }

    async fn describe_lb(&self, arn: &str) -> Result<Option<ObservedLb>, AwsError> {
        match self
            .client
            .describe_load_balancers()
            .load_balancer_arns(arn)
            .send()
            .await
        {
            Ok(r) => Ok(r.load_balancers().first().map(lb_from)),
            Err(e) => {
                let e = err("DescribeLoadBalancers", e);
                if e.is_not_found() { Ok(None) } else { Err(e) }
            }
        }
    }

    async fn listeners(&self, lb_arn: &str) -> Result<Vec<ObservedListener>, AwsError> {
        match self.client.describe_listeners().load_balancer_arn(lb_arn).send().await {
            Ok(r) => Ok(r
                .listeners()
                .iter()
                .map(|l| ObservedListener {
                    arn: l.listener_arn().unwrap_or_default().to_string(),
                    port: l.port().unwrap_or_default() as u16,
                })
                .collect()),
            Err(e) => {
                let e = err("DescribeListeners", e);
                if e.is_not_found() { Ok(Vec::new()) } else { Err(e) }
            }
        }
    }

    async fn create_listener(&self, spec: &ListenerSpec) -> Result<String, AwsError> {
        let action = match &spec.action {
            ListenerAction::Forward { tg_arn } => Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(tg_arn)
                .build(),
            ListenerAction::RedirectToHttps => Action::builder()
                .r#type(ActionTypeEnum::Redirect)
                .redirect_config(
                    RedirectActionConfig::builder()
                        .protocol("HTTPS")
                        .port("443")
                        .status_code(RedirectActionStatusCodeEnum::Http301)
                        .build(),
                )
                .build(),
        };
        let mut req = self
            .client
            .create_listener()
            .load_balancer_arn(&spec.lb_arn)
            .port(i32::from(spec.port))
            .protocol(if spec.certificate_arn.is_some() {
                ProtocolEnum::Https
            } else {
                ProtocolEnum::Http
            })
            .default_actions(action)
            .set_tags(Some(tags(&spec.tags)));
        if let Some(cert) = &spec.certificate_arn {
            req = req.certificates(Certificate::builder().certificate_arn(cert).build());
        }
        let r = req.send().await.map_err(|e| err("CreateListener", e))?;
        r.listeners()
            .first()
            .and_then(|l| l.listener_arn())
            .map(str::to_string)
            .ok_or_else(|| AwsError::other("CreateListener", "no listener in the response"))
    }

    async fn delete_listener(&self, arn: &str) -> Result<(), AwsError> {
        match self.client.delete_listener().listener_arn(arn).send().await {
            Ok(_) => Ok(()),
            Err(e) => AwsError::ok_if_not_found(err("DeleteListener", e)),
        }
    }

    async fn delete_lb(&self, arn: &str) -> Result<(), AwsError> {
        match self.client.delete_load_balancer().load_balancer_arn(arn).send().await {
            Ok(_) => Ok(()),
            Err(e) => AwsError::ok_if_not_found(err("DeleteLoadBalancer", e)),
        }
    }

    async fn delete_tg(&self, arn: &str) -> Result<(), AwsError> {
        match self.client.delete_target_group().target_group_arn(arn).send().await {
            Ok(_) => Ok(()),
            Err(e) => AwsError::ok_if_not_found(err("DeleteTargetGroup", e)),
        }
    }

    async fn add_tags(&self, arn: &str, pairs: &[(String, String)]) -> Result<(), AwsError> {
        self.client
            .add_tags()
            .resource_arns(arn)
            .set_tags(Some(tags(pairs)))
            .send()
            .await
            .map_err(|e| err("AddTags", e))?;
        Ok(())
    }
}
