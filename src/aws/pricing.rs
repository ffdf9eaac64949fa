//! The Price List Query API (`GetProducts`, aws-sdk-pricing): fetches every
//! product costd's rates need for one region, following `NextToken`.

use std::collections::BTreeSet;

use aws_sdk_pricing as pricing;
use pricing::types::{Filter, FilterType};

use super::{AwsError, AwsErrorKind};
use crate::pricing::pricelist::{PriceItem, PriceListError, QUERIES, parse_get_products_entry};

/// Why fetching the Price List failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The API refused or could not be reached.
    #[error(transparent)]
    Api(#[from] AwsError),
    /// An entry of its answer is not a Price List product.
    #[error("an entry of the GetProducts answer: {0}")]
    Entry(#[from] PriceListError),
    /// A request could not be built (a filter with a missing field).
    #[error("building the GetProducts request: {0}")]
    Request(#[from] aws_smithy_types::error::operation::BuildError),
}

/// The IAM action `costd pricing refresh` needs.
pub const IAM_ACTIONS: &[&str] = &["pricing:GetProducts"];

/// A Price List client (`api_region`: us-east-1, eu-central-1 or ap-south-1).
pub async fn client(api_region: &str, endpoint_url: Option<&url::Url>) -> pricing::Client {
    let aws = crate::config::AwsConfig {
        endpoint_url: endpoint_url.cloned(),
        ..Default::default()
    };
    let conf = pricing::config::Builder::from(&super::sdk_config(api_region, &aws).await)
        .interceptor(super::CallTiming)
        .build();
    pricing::Client::from_conf(conf)
}

fn err<E, R>(e: pricing::error::SdkError<E, R>) -> AwsError
where
    E: pricing::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use pricing::error::SdkError;
    match &e {
        SdkError::ServiceError(se) => AwsError {
            op: "GetProducts",
            kind: AwsErrorKind::Other,
            message: format!(
                "{}: {}",
                se.err().code().unwrap_or("Unknown"),
                se.err().message().unwrap_or("")
            ),
        },
        _ => AwsError {
            op: "GetProducts",
            kind: AwsErrorKind::Transient,
            message: super::aws_smithy_error_chain(&e),
        },
    }
}

/// Every product of the services, families and region the rates need.
pub async fn fetch(client: &pricing::Client, region: &str) -> Result<Vec<PriceItem>, FetchError> {
    let groups: BTreeSet<(&str, Option<&str>, &str)> = QUERIES
        .iter()
        .map(|q| (q.service_code, q.product_family, q.region_attribute))
        .collect();
    let mut items: Vec<PriceItem> = Vec::new();
    let mut seen = BTreeSet::new();
    for (service, family, region_attr) in groups {
        let mut filters = vec![
            Filter::builder()
                .r#type(FilterType::TermMatch)
                .field(region_attr)
                .value(region)
                .build()?,
        ];
        if let Some(f) = family {
            filters.push(
                Filter::builder()
                    .r#type(FilterType::TermMatch)
                    .field("productFamily")
                    .value(f)
                    .build()?,
            );
        }
        let mut token: Option<String> = None;
        loop {
            let r = client
                .get_products()
                .service_code(service)
                .set_filters(Some(filters.clone()))
                .format_version("aws_v1")
                .max_results(100)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(err)?;
            for entry in r.price_list() {
                let item = parse_get_products_entry(entry)?;
                // Overlapping requests (a service with and without a family filter) return a SKU twice.
                if seen.insert(item.sku.clone()) {
                    items.push(item);
                }
            }
            token = r.next_token().map(str::to_string).filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
    }
    Ok(items)
}
