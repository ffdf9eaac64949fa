//! `costd check`: is this config ready to run? Each check is a [`Finding`]
//! (fine, or not and why, naming the file, line and key); nothing is
//! changed: the store is read without migrating, AWS is only asked to
//! describe.

use std::path::Path;

use serde::Serialize;

use crate::config::Config;
use crate::pricing::load::PriceBook;

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What was checked (`config`, `price tables`, `store`, an IAM action).
    pub check: String,
    /// Whether it is fine.
    pub ok: bool,
    /// What was found, or what is wrong and what would fix it.
    pub detail: String,
}

impl Finding {
    fn ok(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Finding {
            check: check.into(),
            ok: true,
            detail: detail.into(),
        }
    }
    fn fail(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Finding {
            check: check.into(),
            ok: false,
            detail: detail.into(),
        }
    }
}

/// The checks that need no AWS: the config (with its scenario, blackout
/// calendar and tokens), the price tables and the store. Returns the parsed
/// config when it parses, for the AWS checks.
pub fn local(config: Result<Config, crate::input::InputError>, label: &str) -> (Vec<Finding>, Option<Config>) {
    let mut out = Vec::new();
    let cfg = match config {
        Ok(c) => c,
        Err(e) => {
            out.push(Finding::fail("config", e.to_string()));
            return (out, None);
        }
    };
    out.push(Finding::ok(
        "config",
        format!(
            "{label}: deployment {} in {}{}, {} window rule(s), {} budget(s), {} webhook(s)",
            cfg.deployment,
            cfg.region,
            if cfg.dry_run { " (dry run)" } else { "" },
            cfg.schedule.windows.len(),
            cfg.budgets.len(),
            cfg.webhooks.len()
        ),
    ));
    out.push(Finding::ok(
        "projection scenario",
        format!("region {}", cfg.projection.scenario.region),
    ));
    let book = match &cfg.pricing_dir {
        Some(d) => PriceBook::from_dir(d).map(|b| (b, d.display().to_string())),
        None => PriceBook::embedded().map(|b| (b, "embedded".to_string())),
    };
    match book {
        Ok((book, from)) => match super::Prices::build(&cfg, book) {
            Ok(p) => out.push(Finding::ok(
                "price tables",
                format!("{from}: {} has a table", p.table().region),
            )),
            Err(e) => out.push(Finding::fail("price tables", format!("{from}: {e}"))),
        },
        Err(e) => out.push(Finding::fail("price tables", e.to_string())),
    }
    for c in &cfg.schedule.calendars {
        out.push(calendar(&cfg, c, chrono::Utc::now()));
    }
    out.push(match &cfg.store {
        crate::config::StoreConfig::Sqlite { path } => store(path),
        crate::config::StoreConfig::Postgres { settings, .. } => postgres_store(settings, &cfg.deployment),
    });
    (out, Some(cfg))
}

/// A subscribed calendar: a file is read and expanded as the daemon would;
/// an address is named (by its variable), and read when the daemon starts.
fn calendar(cfg: &Config, c: &crate::config::CalendarSource, now: chrono::DateTime<chrono::Utc>) -> Finding {
    let check = format!("calendar {}", c.name);
    let path = match &c.location {
        crate::config::CalendarLocation::File(p) => p,
        crate::config::CalendarLocation::Url { .. } => {
            return Finding::ok(
                check,
                format!(
                    "{}: read when the daemon starts, then every {} min",
                    c.location.describe(),
                    c.refresh.num_minutes()
                ),
            );
        }
    };
    let text = match super::calendars::read_file(path) {
        Ok(t) => t,
        Err(e) => return Finding::fail(check, e),
    };
    match super::calendars::desired(&text, c, &cfg.schedule, now) {
        Ok(d) => Finding::ok(
            check,
            format!(
                "{}: {} window(s) in the next {} days{}",
                path.display(),
                d.windows.len(),
                c.horizon.num_days(),
                if d.skipped_count > 0 {
                    format!(
                        ", {} matching event(s) left out: {}",
                        d.skipped_count,
                        d.skipped.join("; ")
                    )
                } else {
                    String::new()
                }
            ),
        ),
        Err(e) => Finding::fail(check, format!("{}:{}: {}", path.display(), e.line, e.message)),
    }
}

fn postgres_store(settings: &crate::store::postgres::PgSettings, deployment: &str) -> Finding {
    let name = settings.display_url();
    match crate::store::postgres::PgStore::inspect(settings) {
        Ok(i) if i.schema_version > i.current_version => Finding::fail(
            "store",
            format!(
                "{name} has schema version {}, newer than this costd's {}: run the newer costd",
                i.schema_version, i.current_version
            ),
        ),
        Ok(i) => {
            let pending = i.current_version - i.schema_version;
            let mut detail = if i.schema_version == 0 {
                format!("{name}: reachable; costd's tables are made at the first start")
            } else if pending == 0 {
                format!("{name}: schema version {}, current", i.schema_version)
            } else {
                format!(
                    "{name}: schema version {}; {pending} migration(s) pending, applied at the next start",
                    i.schema_version
                )
            };
            let lease = super::leadership::lease_name(deployment);
            if let Some((_, l)) = i.leases.iter().find(|(n, _)| *n == lease) {
                detail.push_str(&format!(
                    "; leader {} (token {}, lease until {})",
                    l.holder,
                    l.token,
                    l.expires_at.to_rfc3339()
                ));
            }
            Finding::ok("store", detail)
        }
        Err(e) => Finding::fail("store", format!("{name}: {e}")),
    }
}

fn store(path: &Path) -> Finding {
    let name = path.display();
    match crate::store::sqlite::schema_versions(path) {
        Ok(None) => Finding::ok("store", format!("{name} does not exist yet; `costd serve` creates it")),
        Ok(Some((found, current))) if found > current => Finding::fail(
            "store",
            format!("{name} has schema version {found}, newer than this costd's {current}: run the newer costd"),
        ),
        Ok(Some((found, current))) => {
            let pending = current - found;
            let mut detail = if pending == 0 {
                format!("{name}: schema version {found}, current")
            } else {
                format!("{name}: schema version {found}; {pending} migration(s) pending, applied at the next start")
            };
            if let Some(holder) = crate::store::lock::holder(path) {
                detail.push_str(&format!("; in use by {holder}"));
            }
            Finding::ok("store", detail)
        }
        Err(e) => Finding::fail("store", format!("{name}: {e}")),
    }
}

/// The AWS checks: the credentials and one describe call per API the
/// daemon uses (the calls that change something cannot be tried without
/// changing something; `costd iam-policy` prints what they need).
pub async fn aws(cfg: &Config) -> Vec<Finding> {
    use crate::aws::elb::ElbApi;
    let mut out = Vec::new();
    let elb = crate::aws::elb::SdkElb::new(crate::aws::elb_client(&cfg.region, &cfg.aws.for_elb()).await);
    let listed = elb.list_owned(&cfg.alb.name_prefix, &cfg.deployment).await;
    out.push(aws_finding(
        &[
            "elasticloadbalancing:DescribeLoadBalancers",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTags",
        ],
        listed.map(|o| {
            format!(
                "{} ALB(s) and {} target group(s) of this deployment",
                o.lbs.len(),
                o.tgs.len()
            )
        }),
    ));
    if cfg.cloudwatch.enabled {
        use crate::aws::cloudwatch::CloudWatchApi;
        let cw = crate::aws::cloudwatch::SdkCloudWatch::new(
            crate::aws::cloudwatch_client(&cfg.region, &cfg.aws.for_cloudwatch()).await,
        );
        let prefix = crate::aws::cloudwatch::alarm_prefix(&cfg.deployment);
        out.push(aws_finding(
            &["cloudwatch:DescribeAlarms"],
            cw.alarms(&prefix)
                .await
                .map(|a| format!("{} alarm(s) of this deployment", a.len())),
        ));
    }
    if let Some(dns) = &cfg.alb.dns {
        use crate::aws::route53::Route53Api;
        let r53 = crate::aws::route53::SdkRoute53::new(crate::aws::route53_client(&cfg.aws.for_route53()).await);
        let read = r53.records(&dns.hosted_zone_id, &dns.record_name).await.map(|records| {
            let owner = if records.is_empty() {
                "free".to_string()
            } else {
                format!("{} record(s) there now", records.len())
            };
            format!("{} in zone {}: {owner}", dns.record_name, dns.hosted_zone_id)
        });
        out.push(aws_finding(&["route53:ListResourceRecordSets"], read));
    }
    if cfg.pricing.refresh_cron.is_some() {
        let client = crate::aws::pricing::client(&cfg.pricing.api_region, cfg.pricing.endpoint_url.as_ref()).await;
        let r = client
            .get_products()
            .service_code("AWSELB")
            .format_version("aws_v1")
            .max_results(1)
            .send()
            .await
            .map(|_| "the Price List API answers".to_string())
            .map_err(|e| crate::aws::AwsError::from_sdk("GetProducts", e));
        out.push(aws_finding(&["pricing:GetProducts"], r));
    }
    out
}

fn aws_finding(actions: &[&str], r: Result<String, crate::aws::AwsError>) -> Finding {
    let check = actions.join(", ");
    match r {
        Ok(detail) => Finding::ok(check, detail),
        Err(e) => {
            let denied = ["AccessDenied", "not authorized", "UnauthorizedOperation"]
                .iter()
                .any(|w| e.message.contains(w));
            let hint = if denied {
                let action = actions
                    .iter()
                    .find(|a| a.ends_with(&format!(":{}", e.op)))
                    .map_or(e.op, |a| *a);
                format!("missing permission {action}: {}", e.message)
            } else {
                e.to_string()
            };
            Finding::fail(check, hint)
        }
    }
}
