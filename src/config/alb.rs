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
        t.finish()?;
        Ok(AlbConfig {
            name_prefix,
            internet_facing,
            subnets,
            security_groups,
            target_group,
            https,
        })
    }
}
