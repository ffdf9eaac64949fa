//! `[alb]`: the load balancer, target group and listeners costd creates
//! for a window (subnets and security groups come from here, not from EC2).

use super::{aws_id, port, strings};
use crate::input::{InputError, TableReader};

/// The ALB costd creates for a window, after seed 000.
#[derive(Debug, Clone, PartialEq)]
pub struct AlbConfig {
    /// Names are `<name_prefix>-<8 hex>`: at most 23 characters, letters, digits, hyphens.
    pub name_prefix: String,
    /// `internet-facing` (default) or `internal`.
    pub internet_facing: bool,
    /// Subnet IDs, at least two in different AZs.
    pub subnets: Vec<String>,
    /// Security group IDs.
    pub security_groups: Vec<String>,
    /// The target group.
    pub target_group: TargetGroupConfig,
    /// Optional HTTPS listener (and HTTP→HTTPS redirect).
    pub https: Option<HttpsConfig>,
    /// IPv4 and IPv6 (`ip_address_type = "dualstack"`), or IPv4 only (default).
    pub dualstack: bool,
    /// Optional stable name in Route 53 that follows the ALB costd creates.
    pub dns: Option<DnsConfig>,
}

/// `[alb.dns]`: an alias record in Route 53 that points at each new ALB, so
/// a demo keeps one URL from one window to the next.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsConfig {
    /// The public hosted zone the name is in (`Z…`).
    pub hosted_zone_id: String,
    /// The record's name, lower case, without the trailing dot (`demo.example.com`).
    pub record_name: String,
    /// The record types: `A`, and `AAAA` for a dualstack ALB.
    pub record_types: Vec<RecordType>,
    /// Route 53 checks the ALB's health before answering with it.
    pub evaluate_target_health: bool,
    /// What the name points at while no ALB runs (a "the demo is closed"
    /// page); none: the record is deleted.
    pub fallback: Option<AliasTarget>,
    /// Take over a record of this name that costd did not write (its
    /// ownership record missing); otherwise it is reported and left alone.
    pub take_over: bool,
    /// How long an ALB that is due to go waits for Route 53 to confirm the
    /// name's release (`release_timeout_minutes`, default 15, 1–1440);
    /// after that it is deleted anyway, so a Route 53 outage cannot keep it
    /// running (and billing).
    pub release_timeout: chrono::Duration,
}

/// The default `release_timeout_minutes`.
pub const DEFAULT_RELEASE_TIMEOUT_MINUTES: u32 = 15;

impl DnsConfig {
    /// The name of costd's ownership record beside the alias (a TXT record,
    /// as Route 53 records carry no tags).
    pub fn owner_record_name(&self) -> String {
        format!("_costd.{}", self.record_name)
    }

    /// The URL people open: `https://` with an HTTPS listener.
    pub fn url(&self, https: bool) -> String {
        crate::event::alb_url(&self.record_name, https)
    }
}

/// A record type costd writes for the alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RecordType {
    /// IPv4.
    A,
    /// IPv6 (a dualstack ALB).
    Aaaa,
}

impl RecordType {
    /// As Route 53 names it.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
        }
    }
}

/// An alias target: a DNS name and the hosted zone Route 53 knows it by
/// (an S3 website endpoint, a CloudFront distribution, another load balancer).
#[derive(Debug, Clone, PartialEq)]
pub struct AliasTarget {
    /// Its DNS name.
    pub dns_name: String,
    /// Its hosted zone ID (`Z…`).
    pub hosted_zone_id: String,
}

/// A DNS name as Route 53 normalizes it: lower case, no trailing dot;
/// 1–253 characters in labels of 1–63 letters, digits, hyphens and
/// underscores, at least two labels (no wildcard).
pub fn normalized_dns_name(s: &str) -> Option<String> {
    let s = s.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = s.split('.').collect();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    };
    (s.len() <= 253 && labels.len() >= 2 && labels.iter().all(|l| label_ok(l))).then_some(s)
}

/// The longest demo name: `_costd.<name>` (its ownership record) fits in 253.
pub const MAX_RECORD_NAME: usize = 253 - "_costd.".len();

/// A hosted zone ID: 1–32 upper-case letters and digits (AWS's start with `Z`).
fn hosted_zone_id(s: &str) -> bool {
    (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn parse_dns(t: &TableReader, dualstack: bool) -> Result<DnsConfig, InputError> {
    let zone_v = t.require("hosted_zone_id")?;
    let zone = zone_v.str()?;
    let zone = zone.strip_prefix("/hostedzone/").unwrap_or(&zone).to_string();
    if !hosted_zone_id(&zone) {
        return Err(zone_v.error(format!(
            "`{zone}` is not a hosted zone ID such as Z0123456789ABCDEFGHIJ"
        )));
    }
    let name_v = t.require("record_name")?;
    let raw = name_v.str()?;
    let record_name = normalized_dns_name(&raw).ok_or_else(|| {
        name_v.error(format!(
            "`{raw}` is not a DNS name such as demo.example.com (labels of letters, digits and hyphens, at most 253 characters)"
        ))
    })?;
    if record_name.len() > MAX_RECORD_NAME {
        return Err(name_v.error(format!(
            "`{raw}` is longer than {MAX_RECORD_NAME} characters: its `_costd.` ownership record must fit in DNS's 253"
        )));
    }
    if record_name.starts_with("_costd.") {
        return Err(name_v.error("a `_costd.` name is costd's ownership record; it cannot be the demo's name"));
    }
    let record_types = match t.get("record_types") {
        None => vec![RecordType::A],
        Some(v) => {
            let mut out = Vec::new();
            for item in v.items()? {
                let ty = match item.str()?.as_str() {
                    "A" => RecordType::A,
                    "AAAA" if dualstack => RecordType::Aaaa,
                    "AAAA" => {
                        return Err(item.error(
                            "AAAA needs a dualstack ALB: set [alb] ip_address_type = \"dualstack\" (and subnets with IPv6)",
                        ));
                    }
                    other => return Err(item.error(format!("`{other}` is not valid; expected A or AAAA"))),
                };
                if !out.contains(&ty) {
                    out.push(ty);
                }
            }
            if !out.contains(&RecordType::A) {
                return Err(v.error("the record types must include A (an ALB always has IPv4)"));
            }
            out.sort();
            out
        }
    };
    let evaluate_target_health = t
        .get("evaluate_target_health")
        .map(|v| v.bool())
        .transpose()?
        .unwrap_or(false);
    let fallback = match t.get("fallback") {
        None => None,
        Some(v) => {
            let f = v.table()?;
            let dns_v = f.require("dns_name")?;
            let raw = dns_v.str()?;
            let dns_name =
                normalized_dns_name(&raw).ok_or_else(|| dns_v.error(format!("`{raw}` is not a DNS name")))?;
            let zone_v = f.require("hosted_zone_id")?;
            let zone = zone_v.str()?;
            if !hosted_zone_id(&zone) {
                return Err(zone_v.error(format!(
                    "`{zone}` is not a hosted zone ID; the alias target's zone, e.g. an S3 website endpoint's"
                )));
            }
            f.finish()?;
            Some(AliasTarget {
                dns_name,
                hosted_zone_id: zone,
            })
        }
    };
    let take_over = t.get("take_over").map(|v| v.bool()).transpose()?.unwrap_or(false);
    let release_timeout_minutes = t
        .get("release_timeout_minutes")
        .map(|v| v.u32_in(1, 1440))
        .transpose()?
        .unwrap_or(DEFAULT_RELEASE_TIMEOUT_MINUTES);
    t.finish()?;
    Ok(DnsConfig {
        hosted_zone_id: zone,
        record_name,
        record_types,
        evaluate_target_health,
        fallback,
        take_over,
        release_timeout: chrono::Duration::minutes(i64::from(release_timeout_minutes)),
    })
}

/// The target group behind the ALB.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetGroupConfig {
    /// VPC of the targets.
    pub vpc_id: String,
    /// Target port (HTTP).
    pub port: u16,
    /// Health check path.
    pub health_check_path: String,
    /// HTTP codes that count as healthy, e.g. "200".
    pub success_codes: String,
    /// IP targets to register: (ip, port).
    pub targets: Vec<(String, u16)>,
}

/// HTTPS on 443 with an ACM certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpsConfig {
    /// ACM certificate ARN.
    pub certificate_arn: String,
    /// Whether HTTP 80 redirects to HTTPS instead of forwarding.
    pub redirect_http: bool,
}

impl AlbConfig {
    pub(super) fn parse(t: &TableReader) -> Result<Self, InputError> {
        let prefix_v = t.require("name_prefix")?;
        let name_prefix = prefix_v.str()?;
        let ok = !name_prefix.is_empty()
            && name_prefix.len() <= 23
            && name_prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !name_prefix.starts_with('-')
            && !name_prefix.ends_with('-')
            && !name_prefix.starts_with("internal-");
        if !ok {
            return Err(prefix_v.error(
            "1–23 letters, digits or hyphens, not starting or ending with '-' nor with 'internal-' (AWS allows 32 and costd appends -<8 hex>)",
        ));
        }
        let internet_facing = match t.get("scheme") {
            Some(v) => match v.str()?.as_str() {
                "internet-facing" => true,
                "internal" => false,
                other => return Err(v.error(format!("`{other}` is not valid; expected internet-facing or internal"))),
            },
            None => true,
        };
        let subnets_v = t.require("subnets")?;
        let subnets = strings(&subnets_v, "a subnet ID such as subnet-0abc123", aws_id("subnet-"))?;
        if subnets.len() < 2 {
            return Err(subnets_v.error("an ALB needs at least two subnets in different AZs"));
        }
        let security_groups = strings(
            &t.require("security_groups")?,
            "a security group ID such as sg-0abc123",
            aws_id("sg-"),
        )?;
        let tg = t.require("target_group")?.table()?;
        let vpc_v = tg.require("vpc_id")?;
        let vpc_id = vpc_v.str()?;
        if !aws_id("vpc-")(&vpc_id) {
            return Err(vpc_v.error(format!("`{vpc_id}` is not a VPC ID such as vpc-0abc123")));
        }
        let health_check_path = tg
            .get("health_check_path")
            .map(|v| v.str())
            .transpose()?
            .unwrap_or_else(|| "/health".into());
        if !health_check_path.starts_with('/') {
            return Err(tg.error("health_check_path", "must start with '/'"));
        }
        let targets = match tg.get("targets") {
            Some(v) => v
                .items()?
                .iter()
                .map(|i| {
                    let tt = i.table()?;
                    let ip_v = tt.require("ip")?;
                    let ip = ip_v.str()?;
                    if ip.parse::<std::net::Ipv4Addr>().is_err() {
                        return Err(ip_v.error(format!("`{ip}` is not an IPv4 address")));
                    }
                    let p = tt.get("port").map(|p| port(&p)).transpose()?;
                    tt.finish()?;
                    Ok((ip, p))
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let port_ = tg.get("port").map(|v| port(&v)).transpose()?.unwrap_or(80);
        let target_group = TargetGroupConfig {
            vpc_id,
            port: port_,
            health_check_path,
            success_codes: tg
                .get("success_codes")
                .map(|v| v.str())
                .transpose()?
                .unwrap_or_else(|| "200".into()),
            targets: targets.into_iter().map(|(ip, p)| (ip, p.unwrap_or(port_))).collect(),
        };
        tg.finish()?;
        let https = match t.get("https") {
            Some(v) => {
                let h = v.table()?;
                let arn_v = h.require("certificate_arn")?;
                let certificate_arn = arn_v.str()?;
                if !certificate_arn.starts_with("arn:aws") || !certificate_arn.contains(":acm:") {
                    return Err(
                        arn_v.error("expected an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)")
                    );
                }
                let redirect_http = h.get("redirect_http").map(|v| v.bool()).transpose()?.unwrap_or(true);
                h.finish()?;
                Some(HttpsConfig {
                    certificate_arn,
                    redirect_http,
                })
            }
            None => None,
        };
        let dualstack = match t.get("ip_address_type") {
            Some(v) => match v.str()?.as_str() {
                "ipv4" => false,
                "dualstack" => true,
                other => return Err(v.error(format!("`{other}` is not valid; expected ipv4 or dualstack"))),
            },
            None => false,
        };
        let dns = match t.get("dns") {
            Some(v) => Some(parse_dns(&v.table()?, dualstack)?),
            None => None,
        };
        t.finish()?;
        Ok(AlbConfig {
            name_prefix,
            internet_facing,
            subnets,
            security_groups,
            target_group,
            https,
            dualstack,
            dns,
        })
    }
}
