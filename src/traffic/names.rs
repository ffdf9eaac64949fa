//! Names for addresses the published ranges cannot tell apart: interface
//! endpoints' private addresses, and the AWS services behind the shared
//! AMAZON/EC2 ranges (ECR, CloudWatch Logs, STS, …). They come from
//! `--endpoint ADDRESS=SERVICE` and from Route 53 Resolver query logs, whose
//! answers say which host name an address was looked up as.
//!
//! PURE: text in, an address → (service, region) map out.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Deserialize;

use super::ipranges::key;

/// The most addresses named (from flags and query logs together).
pub const MAX_NAMES: usize = 1_000_000;
/// The most `--endpoint` flags.
pub const MAX_ENDPOINT_FLAGS: usize = 1000;

/// A service as a scenario names it (`s3`, `ecr.dkr`, `logs`), in a region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Named {
    /// The scenario key.
    pub service: String,
    /// The region its host name is in.
    pub region: String,
}

/// Addresses with the service they were seen as.
#[derive(Debug, Clone, Default)]
pub struct Names {
    by_key: HashMap<u128, u32>,
    services: Vec<Named>,
    /// Query-log lines read.
    pub query_lines: u64,
    /// Answers that named an AWS service.
    pub answers: u64,
}

/// Whether `s` is an AWS region code (`ap-southeast-1`, `us-gov-west-1`).
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
        && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// The service and region a regional AWS host name stands for:
/// `logs.ap-southeast-1.amazonaws.com` → (`logs`, `ap-southeast-1`);
/// `1234.dkr.ecr.…` → `ecr.dkr`; `api.ecr.…` → `ecr.api`; any S3 name → `s3`;
/// an endpoint's own name (`vpce-….logs.<region>.vpce.amazonaws.com`) too.
pub fn service_of_host(host: &str) -> Option<Named> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let rest = host.strip_suffix(".amazonaws.com")?;
    let labels: Vec<&str> = rest.split('.').collect();
    let r = labels.iter().rposition(|l| is_region(l))?;
    let region = labels[r].to_string();
    let before = &labels[..r];
    let service = match before {
        [.., "dkr", "ecr"] => "ecr.dkr".to_string(),
        [.., "api", "ecr"] => "ecr.api".to_string(),
        _ if before.contains(&"s3") => "s3".to_string(),
        [.., last] if !last.is_empty() => (*last).to_string(),
        _ => return None,
    };
    Some(Named { service, region })
}

#[derive(Deserialize)]
struct QueryLog {
    query_name: String,
    #[serde(default)]
    answers: Vec<Answer>,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "Rdata")]
    rdata: String,
    #[serde(rename = "Type")]
    kind: String,
}

impl Names {
    fn intern(&mut self, named: Named) -> u32 {
        match self.services.iter().position(|s| *s == named) {
            Some(i) => i as u32,
            None => {
                self.services.push(named);
                (self.services.len() - 1) as u32
            }
        }
    }

    fn insert(&mut self, ip: IpAddr, named: Named) -> Result<(), String> {
        if self.by_key.len() >= MAX_NAMES && !self.by_key.contains_key(&key(ip)) {
            return Err(format!("more than {MAX_NAMES} named addresses"));
        }
        let i = self.intern(named);
        self.by_key.insert(key(ip), i);
        Ok(())
    }

    /// `--endpoint 10.0.1.23=logs`: an interface endpoint's address in `region`.
    pub fn endpoint_flag(&mut self, flag: &str, region: &str) -> Result<(), String> {
        let (addr, service) = flag
            .split_once('=')
            .ok_or_else(|| format!("--endpoint `{flag}`: expected ADDRESS=SERVICE, e.g. 10.0.1.23=logs"))?;
        let ip: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("--endpoint `{flag}`: `{addr}` is not an IP address"))?;
        let service = service.trim();
        let valid = !service.is_empty()
            && service.len() <= 64
            && service
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !valid {
            return Err(format!(
                "--endpoint `{flag}`: `{service}` is not a service name; use the endpoint's service as a scenario names it, e.g. logs, sts, \"ecr.dkr\""
            ));
        }
        self.insert(
            ip,
            Named {
                service: service.to_string(),
                region: region.to_string(),
            },
        )
    }

    /// One line of a Route 53 Resolver query log (JSON). Lines about other
    /// names are read and left out; an error says what is wrong.
    pub fn query_log_line(&mut self, line: &[u8]) -> Result<(), String> {
        let line = line.trim_ascii();
        if line.is_empty() {
            return Ok(());
        }
        self.query_lines += 1;
        let q: QueryLog = serde_json::from_slice(line).map_err(|e| {
            format!("not a Route 53 Resolver query log record ({e}); expected JSON with query_name and answers")
        })?;
        let Some(named) = service_of_host(&q.query_name) else {
            return Ok(());
        };
        for a in q.answers.iter().filter(|a| a.kind == "A" || a.kind == "AAAA") {
            if let Ok(ip) = a.rdata.parse::<IpAddr>() {
                self.insert(ip, named.clone())?;
                self.answers += 1;
            }
        }
        Ok(())
    }

    /// The service `k` (see [`key`]) was seen as.
    pub fn lookup_key(&self, k: u128) -> Option<&Named> {
        self.index_of_key(k).map(|i| &self.services[i as usize])
    }

    /// The index into [`Self::services`] of the service `k` was seen as.
    pub fn index_of_key(&self, k: u128) -> Option<u32> {
        if self.by_key.is_empty() {
            return None;
        }
        self.by_key.get(&k).copied()
    }

    /// Every service named, indexed as [`Self::index_of_key`] answers.
    pub fn services(&self) -> &[Named] {
        &self.services
    }

    /// How many addresses are named.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether no address is named.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(service: &str, region: &str) -> Option<Named> {
        Some(Named {
            service: service.into(),
            region: region.into(),
        })
    }

    #[test]
    fn host_names_give_the_service_and_region() {
        let aps = "ap-southeast-1";
        assert_eq!(service_of_host("logs.ap-southeast-1.amazonaws.com."), n("logs", aps));
        assert_eq!(service_of_host("STS.ap-southeast-1.amazonaws.com"), n("sts", aps));
        assert_eq!(
            service_of_host("api.ecr.ap-southeast-1.amazonaws.com"),
            n("ecr.api", aps)
        );
        assert_eq!(
            service_of_host("123456789012.dkr.ecr.ap-southeast-1.amazonaws.com"),
            n("ecr.dkr", aps)
        );
        assert_eq!(
            service_of_host("prod-ap-southeast-1-starport-layer-bucket.s3.ap-southeast-1.amazonaws.com"),
            n("s3", aps)
        );
        assert_eq!(
            service_of_host("my-bucket.s3.dualstack.ap-southeast-1.amazonaws.com"),
            n("s3", aps)
        );
        assert_eq!(
            service_of_host("dynamodb.us-east-1.amazonaws.com"),
            n("dynamodb", "us-east-1")
        );
        assert_eq!(
            service_of_host("vpce-0a1b2c3d-abcd1234.logs.ap-southeast-1.vpce.amazonaws.com"),
            n("logs", aps)
        );
        assert_eq!(
            service_of_host("sts.us-gov-west-1.amazonaws.com"),
            n("sts", "us-gov-west-1")
        );
        // No region: a global name, left to the published ranges.
        assert_eq!(service_of_host("sts.amazonaws.com"), None);
        assert_eq!(service_of_host("example.com"), None);
        assert_eq!(service_of_host("ap-southeast-1.amazonaws.com"), None);
    }

    #[test]
    fn query_logs_and_flags_name_addresses() {
        let mut names = Names::default();
        let line = br#"{"version":"1.100000","account_id":"123456789012","region":"ap-southeast-1","vpc_id":"vpc-1","query_timestamp":"2026-11-20T00:00:01Z","query_name":"logs.ap-southeast-1.amazonaws.com.","query_type":"A","query_class":"IN","rcode":"NOERROR","answers":[{"Rdata":"10.0.1.23","Type":"A","Class":"IN"},{"Rdata":"logs.x.","Type":"CNAME","Class":"IN"}],"srcaddr":"10.0.2.7","srcport":"5353","transport":"UDP","srcids":{"instance":"i-1"}}"#;
        names.query_log_line(line).unwrap();
        names
            .query_log_line(br#"{"query_name":"example.com.","answers":[{"Rdata":"93.184.216.34","Type":"A"}]}"#)
            .unwrap();
        names.query_log_line(b"   ").unwrap();
        assert_eq!((names.query_lines, names.answers, names.len()), (2, 1, 1));
        assert_eq!(
            names.lookup_key(key("10.0.1.23".parse().unwrap())),
            n("logs", "ap-southeast-1").as_ref()
        );
        assert_eq!(names.lookup_key(key("93.184.216.34".parse().unwrap())), None);
        let e = names.query_log_line(b"{not json").unwrap_err();
        assert!(e.contains("not a Route 53 Resolver query log record"), "{e}");

        names.endpoint_flag("10.0.1.99=ecr.dkr", "ap-southeast-1").unwrap();
        assert_eq!(
            names.lookup_key(key("10.0.1.99".parse().unwrap())),
            n("ecr.dkr", "ap-southeast-1").as_ref()
        );
        for (bad, want) in [
            ("10.0.1.99", "expected ADDRESS=SERVICE"),
            ("10.0.1=logs", "is not an IP address"),
            ("10.0.1.9=Logs!", "is not a service name"),
            ("10.0.1.9=", "is not a service name"),
        ] {
            let e = names.endpoint_flag(bad, "ap-southeast-1").unwrap_err();
            assert!(e.contains(want), "{bad}: {e}");
        }
        let long = format!("10.0.1.9={}", "a".repeat(65));
        assert!(names.endpoint_flag(&long, "r").is_err());
        assert!(
            names
                .endpoint_flag(&format!("10.0.1.9={}", "a".repeat(64)), "r")
                .is_ok()
        );
    }

    #[test]
    fn named_addresses_are_bounded() {
        let mut names = Names::default();
        for i in 0..MAX_NAMES as u32 {
            names.insert(IpAddr::V4(i.into()), n("logs", "r").unwrap()).unwrap();
        }
        // Renaming a known address is fine; a new one is refused.
        names.insert(IpAddr::V4(0.into()), n("sts", "r").unwrap()).unwrap();
        let e = names
            .insert(IpAddr::V4(u32::MAX.into()), n("sts", "r").unwrap())
            .unwrap_err();
        assert!(e.contains("more than 1000000 named addresses"), "{e}");
    }
}
