//! Adapters to AWS. Each client takes an optional `endpoint_url` (an
//! emulator in tests) and the standard credential chain.

pub mod cloudwatch;
pub mod costexplorer;
pub mod elb;
pub mod iam;
pub mod pricing;
pub mod route53;

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;

use crate::config::AwsConfig;

/// An AWS call that failed, classified for the caller's retry logic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{op}: {kind:?}: {message}")]
pub struct AwsError {
    /// The API operation.
    pub op: &'static str,
    /// What kind of failure.
    pub kind: AwsErrorKind,
    /// AWS's code and message, or the transport error.
    pub message: String,
}

/// Classes of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsErrorKind {
    /// The resource does not exist.
    NotFound,
    /// The resource is in use (e.g. a target group still attached).
    InUse,
    /// Could not reach AWS, timed out, throttled or a 5xx: try again later.
    Transient,
    /// Anything else (validation, access denied, …).
    Other,
}

impl AwsError {
    /// Classifies an SDK error by its AWS error code.
    pub fn from_sdk<E>(
        op: &'static str,
        e: aws_sdk_elasticloadbalancingv2::error::SdkError<
            E,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    ) -> Self
    where
        E: aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        use aws_sdk_elasticloadbalancingv2::error::SdkError;
        let (kind, message) = match &e {
            SdkError::ServiceError(se) => {
                // A body the SDK could not read (another XML layout) may still
                // name the code and message; failing that, a 403 is a refusal.
                let body = se.raw().body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
                let tag = |t: &str| {
                    let (open, close) = (format!("<{t}>"), format!("</{t}>"));
                    let start = body.find(&open)? + open.len();
                    let len = body[start..].find(&close)?;
                    Some(body[start..start + len].to_string())
                };
                let fallback = tag("Code").unwrap_or_else(|| {
                    if se.raw().status().as_u16() == 403 {
                        "AccessDenied".into()
                    } else {
                        "Unknown".into()
                    }
                });
                let code = se.err().code().map_or(fallback, str::to_string);
                let msg = se
                    .err()
                    .message()
                    .map(str::to_string)
                    .or_else(|| tag("Message"))
                    .unwrap_or_default();
                let code = code.as_str();
                let kind = match code {
                    c if c.ends_with("NotFound") || c.ends_with("NotFoundException") => AwsErrorKind::NotFound,
                    "ResourceInUse" | "ResourceInUseException" => AwsErrorKind::InUse,
                    "Throttling" | "ThrottlingException" | "ServiceUnavailable" | "InternalFailure" => {
                        AwsErrorKind::Transient
                    }
                    _ => AwsErrorKind::Other,
                };
                (kind, format!("{code}: {msg}"))
            }
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
                (AwsErrorKind::Transient, aws_smithy_error_chain(&e))
            }
            _ => (AwsErrorKind::Other, aws_smithy_error_chain(&e)),
        };
        AwsError { op, kind, message }
    }

    /// An error that is not from the SDK.
    pub fn other(op: &'static str, message: &str) -> Self {
        AwsError {
            op,
            kind: AwsErrorKind::Other,
            message: message.to_string(),
        }
    }

    /// Whether the resource was not found.
    pub fn is_not_found(&self) -> bool {
        self.kind == AwsErrorKind::NotFound
    }

    /// `Ok(())` for not-found (a delete that is already done), else the error.
    pub fn ok_if_not_found(self) -> Result<(), AwsError> {
        if self.is_not_found() { Ok(()) } else { Err(self) }
    }
}

fn aws_smithy_error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    s
}

/// Times every SDK call (all clients) into [`crate::metrics`], by operation name.
#[derive(Debug)]
pub struct CallTiming;

#[derive(Debug, Clone)]
struct CallStart(std::time::Instant);

impl aws_smithy_types::config_bag::Storable for CallStart {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for CallTiming {
    fn name(&self) -> &'static str {
        "costd-call-timing"
    }

    fn read_before_execution(
        &self,
        _ctx: &aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        cfg.interceptor_state().store_put(CallStart(std::time::Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        ctx: &aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef<'_>,
        _rc: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let op = cfg
            .load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_else(|| "unknown".into());
        if let Some(start) = cfg.load::<CallStart>() {
            let ok = ctx.output_or_error().is_some_and(|r| r.is_ok());
            crate::metrics::observe_aws(&op, start.0.elapsed(), ok);
        }
        Ok(())
    }
}

/// Shared SDK configuration for `region`, honouring `endpoint_url`.
pub async fn sdk_config(region: &str, aws: &AwsConfig) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        );
    if let Some(url) = &aws.endpoint_url {
        loader = loader.endpoint_url(endpoint(url));
    }
    loader.load().await
}

/// An endpoint as the SDK takes it: a bare origin has no trailing `/` (the
/// `url` crate adds one), so the operation's own path is not doubled.
pub fn endpoint(url: &url::Url) -> String {
    let s = url.as_str();
    if url.path() == "/" && url.query().is_none() && url.fragment().is_none() {
        s.trim_end_matches('/').to_string()
    } else {
        s.to_string()
    }
}

/// An ELBv2 client for the config.
pub async fn elb_client(region: &str, aws: &AwsConfig) -> aws_sdk_elasticloadbalancingv2::Client {
    let conf = aws_sdk_elasticloadbalancingv2::config::Builder::from(&sdk_config(region, aws).await)
        .interceptor(CallTiming)
        .build();
    aws_sdk_elasticloadbalancingv2::Client::from_conf(conf)
}

/// A Cost Explorer client (always us-east-1, where the service is).
pub async fn cost_explorer_client(aws: &AwsConfig) -> aws_sdk_costexplorer::Client {
    let conf = aws_sdk_costexplorer::config::Builder::from(&sdk_config("us-east-1", aws).await)
        .interceptor(CallTiming)
        .build();
    aws_sdk_costexplorer::Client::from_conf(conf)
}

/// A CloudWatch client for the config.
pub async fn cloudwatch_client(region: &str, aws: &AwsConfig) -> aws_sdk_cloudwatch::Client {
    let conf = aws_sdk_cloudwatch::config::Builder::from(&sdk_config(region, aws).await)
        .interceptor(CallTiming)
        .build();
    aws_sdk_cloudwatch::Client::from_conf(conf)
}

/// A Route 53 client (a global service, signed for us-east-1).
pub async fn route53_client(aws: &AwsConfig) -> aws_sdk_route53::Client {
    let conf = aws_sdk_route53::config::Builder::from(&sdk_config("us-east-1", aws).await)
        .interceptor(CallTiming)
        .build();
    aws_sdk_route53::Client::from_conf(conf)
}
