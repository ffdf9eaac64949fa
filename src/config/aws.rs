//! `[aws]`: where AWS calls go (credentials come from the standard chain).

use url::Url;

use super::http_url;
use crate::input::{InputError, Value};

/// AWS client settings; credentials come from the standard chain.
#[derive(Debug, Clone, Default)]
pub struct AwsConfig {
    /// Send every call here instead of AWS (an emulator, a VPC endpoint).
    pub endpoint_url: Option<Url>,
    /// Override for Elastic Load Balancing only.
    pub elb_endpoint_url: Option<Url>,
    /// Override for CloudWatch only.
    pub cloudwatch_endpoint_url: Option<Url>,
    /// Cost Explorer's endpoint (`ce_endpoint_url`; it is a us-east-1 service).
    pub ce_endpoint_url: Option<Url>,
    /// Override for Route 53 only (`[alb.dns]`; a global service).
    pub route53_endpoint_url: Option<Url>,
}

impl AwsConfig {
    pub(super) fn parse(v: Option<Value>) -> Result<Self, InputError> {
        let Some(v) = v else { return Ok(AwsConfig::default()) };
        let t = v.table()?;
        let opt_url = |k: &str| t.get(k).map(|e| http_url(&e)).transpose();
        let aws = AwsConfig {
            endpoint_url: opt_url("endpoint_url")?,
            elb_endpoint_url: opt_url("elb_endpoint_url")?,
            cloudwatch_endpoint_url: opt_url("cloudwatch_endpoint_url")?,
            ce_endpoint_url: opt_url("ce_endpoint_url")?,
            route53_endpoint_url: opt_url("route53_endpoint_url")?,
        };
        t.finish()?;
        Ok(aws)
    }

    /// The settings for ELBv2 calls.
    pub fn for_elb(&self) -> AwsConfig {
        AwsConfig {
            endpoint_url: self.elb_endpoint_url.clone().or(self.endpoint_url.clone()),
            ..Default::default()
        }
    }

    /// The settings for CloudWatch calls.
    pub fn for_cloudwatch(&self) -> AwsConfig {
        AwsConfig {
            endpoint_url: self.cloudwatch_endpoint_url.clone().or(self.endpoint_url.clone()),
            ..Default::default()
        }
    }

    /// The settings for Route 53.
    pub fn for_route53(&self) -> AwsConfig {
        AwsConfig {
            endpoint_url: self.route53_endpoint_url.clone().or(self.endpoint_url.clone()),
            ..Default::default()
        }
    }

    /// The settings for Cost Explorer.
    pub fn for_cost_explorer(&self) -> AwsConfig {
        AwsConfig {
            endpoint_url: self.ce_endpoint_url.clone().or(self.endpoint_url.clone()),
            ..Default::default()
        }
    }
}
