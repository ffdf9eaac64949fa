//! The IAM policy costd needs, for one deployment: `costd iam-policy`
//! prints it, `config/iam-policy.json` is it for the embedded default
//! config. Every mutating statement is pinned to costd's tags with this
//! deployment's name (`costd:managed=true` and `costd:deployment=<name>`),
//! its alarm names or its metric namespace, so one deployment's role cannot
//! touch another deployment's resources.

use serde_json::{Value, json};

use super::elb::{TAG_DEPLOYMENT, TAG_MANAGED, TAG_STORE, TAG_UNTIL};

/// The policy document for `deployment`, publishing metrics to
/// `namespace`, and changing only its own record in Route 53 when it keeps one.
pub fn policy(deployment: &str, namespace: &str, dns: Option<&crate::config::DnsConfig>) -> Value {
    let mut p = base_policy(deployment, namespace);
    if let Some(d) = dns {
        let statements = p["Statement"].as_array_mut().expect("statements");
        statements.extend(route53_statements(d));
    }
    p
}

/// Route 53, when `[alb.dns]` is set: changes only in that hosted zone, only
/// to the record's name and its ownership record, only their types, only
/// UPSERT and DELETE; reading that zone; following changes.
fn route53_statements(d: &crate::config::DnsConfig) -> Vec<Value> {
    let zone = format!("arn:aws:route53:::hostedzone/{}", d.hosted_zone_id);
    let mut types: Vec<&str> = d.record_types.iter().map(|t| t.as_str()).collect();
    types.push("TXT");
    vec![
        json!({
            "Sid": "CostdChangeItsRecordOnly",
            "Effect": "Allow",
            "Action": "route53:ChangeResourceRecordSets",
            "Resource": zone,
            "Condition": {
                "ForAllValues:StringEquals": {
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": [d.record_name, d.owner_record_name()],
                    "route53:ChangeResourceRecordSetsRecordTypes": types,
                    "route53:ChangeResourceRecordSetsActions": ["UPSERT", "DELETE"]
                }
            }
        }),
        json!({
            "Sid": "CostdReadItsZone",
            "Effect": "Allow",
            "Action": "route53:ListResourceRecordSets",
            "Resource": zone
        }),
        json!({
            "Sid": "CostdFollowItsChanges",
            "Effect": "Allow",
            "Action": "route53:GetChange",
            "Resource": "arn:aws:route53:::change/*"
        }),
    ]
}

fn base_policy(deployment: &str, namespace: &str) -> Value {
    let request_tags = json!({
        format!("aws:RequestTag/{TAG_MANAGED}"): "true",
        format!("aws:RequestTag/{TAG_DEPLOYMENT}"): deployment,
    });
    let resource_tags = json!({
        format!("aws:ResourceTag/{TAG_MANAGED}"): "true",
        format!("aws:ResourceTag/{TAG_DEPLOYMENT}"): deployment,
    });
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CostdReadLoadBalancers",
                "Effect": "Allow",
                "Action": [
                    "elasticloadbalancing:DescribeLoadBalancers",
                    "elasticloadbalancing:DescribeTargetGroups",
                    "elasticloadbalancing:DescribeListeners",
                    "elasticloadbalancing:DescribeTags"
                ],
                "Resource": "*"
            },
            {
                "Sid": "CostdCreateOnlyTagged",
                "Effect": "Allow",
                "Action": [
                    "elasticloadbalancing:CreateLoadBalancer",
                    "elasticloadbalancing:CreateTargetGroup",
                    "elasticloadbalancing:CreateListener"
                ],
                "Resource": "*",
                "Condition": { "StringEquals": request_tags }
            },
            {
                "Sid": "CostdTagOnCreate",
                "Effect": "Allow",
                "Action": "elasticloadbalancing:AddTags",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "elasticloadbalancing:CreateAction": [
                            "CreateLoadBalancer",
                            "CreateTargetGroup",
                            "CreateListener"
                        ],
                        format!("aws:RequestTag/{TAG_MANAGED}"): "true",
                        format!("aws:RequestTag/{TAG_DEPLOYMENT}"): deployment
                    }
                }
            },
            {
                "Sid": "CostdRetagItsOwn",
                "Effect": "Allow",
                "Action": "elasticloadbalancing:AddTags",
                "Resource": "*",
                "Condition": {
                    "StringEquals": resource_tags.clone(),
                    "ForAllValues:StringEquals": { "aws:TagKeys": [TAG_STORE, TAG_UNTIL] }
                }
            },
            {
                "Sid": "CostdModifyOnlyItsOwn",
                "Effect": "Allow",
                "Action": [
                    "elasticloadbalancing:RegisterTargets",
                    "elasticloadbalancing:DeleteListener",
                    "elasticloadbalancing:DeleteLoadBalancer",
                    "elasticloadbalancing:DeleteTargetGroup"
                ],
                "Resource": "*",
                "Condition": { "StringEquals": resource_tags }
            },
            {
                "Sid": "CostdReadCloudWatch",
                "Effect": "Allow",
                "Action": [
                    "cloudwatch:DescribeAlarms",
                    "cloudwatch:GetMetricData",
                    "cloudwatch:ListTagsForResource"
                ],
                "Resource": "*"
            },
            {
                "Sid": "CostdPublishItsMetrics",
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": { "StringEquals": { "cloudwatch:namespace": namespace } }
            },
            {
                "Sid": "CostdManageItsAlarms",
                "Effect": "Allow",
                "Action": [
                    "cloudwatch:PutMetricAlarm",
                    "cloudwatch:DeleteAlarms",
                    "cloudwatch:TagResource"
                ],
                "Resource": format!("arn:aws:cloudwatch:*:*:alarm:{}*", super::cloudwatch::alarm_prefix(deployment))
            },
            {
                "Sid": "CostdReadPriceList",
                "Effect": "Allow",
                "Action": "pricing:GetProducts",
                "Resource": "*"
            },
            {
                "Sid": "OptionalCostdReadTheBill",
                "Effect": "Allow",
                "Action": "ce:GetCostAndUsage",
                "Resource": "*"
            }
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actions(st: &Value) -> Vec<String> {
        match &st["Action"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
            other => panic!("unexpected Action {other}"),
        }
    }

    /// The shipped file is the policy of the embedded default config.
    #[test]
    fn the_shipped_policy_is_the_default_configs() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/iam-policy.json");
        let shipped: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let cfg =
            crate::config::Config::parse("costd.toml", crate::config::EMBEDDED_DEFAULT, std::path::Path::new("/"))
                .unwrap();
        assert_eq!(
            shipped,
            policy(&cfg.deployment, &cfg.cloudwatch.namespace, cfg.alb.dns.as_ref()),
            "regenerate it: costd iam-policy > config/iam-policy.json"
        );
    }

    /// It grants exactly the actions costd calls.
    #[test]
    fn it_grants_exactly_the_calls() {
        let p = policy("blue", "Costd", None);
        let mut granted: Vec<String> = p["Statement"].as_array().unwrap().iter().flat_map(actions).collect();
        granted.sort();
        granted.dedup();
        let mut expected: Vec<&str> = crate::aws::elb::IAM_ACTIONS
            .iter()
            .chain(crate::aws::cloudwatch::IAM_ACTIONS)
            .chain(crate::aws::pricing::IAM_ACTIONS)
            .chain(crate::aws::costexplorer::IAM_ACTIONS)
            .copied()
            .collect();
        expected.sort();
        assert_eq!(granted, expected);
        // Reading the bill (`costd bill`) is its own statement, to leave out where it is not wanted.
        let optional: Vec<&Value> = p["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["Sid"].as_str().is_some_and(|x| x.starts_with("Optional")))
            .collect();
        assert_eq!(optional.len(), 1);
        assert_eq!(actions(optional[0]), ["ce:GetCostAndUsage"]);
    }

    /// With `[alb.dns]`: Route 53 changes only in that zone, only to the
    /// record's name and its ownership record, their types, UPSERT and DELETE.
    #[test]
    fn route53_changes_are_pinned_to_the_zone_the_names_and_the_types() {
        let src = crate::config::EMBEDDED_DEFAULT.replacen(
            "[schedule]",
            "[alb.dns]\nhosted_zone_id = \"Z0123456789ABCDEFGHIJ\"\nrecord_name = \"Demo.Example.com.\"\n\n[schedule]",
            1,
        );
        let cfg = crate::config::Config::parse("costd.toml", &src, std::path::Path::new("/")).unwrap();
        let p = policy(&cfg.deployment, &cfg.cloudwatch.namespace, cfg.alb.dns.as_ref());
        let st = |sid: &str| {
            p["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["Sid"] == sid)
                .unwrap_or_else(|| panic!("{sid}"))
                .clone()
        };
        let change = st("CostdChangeItsRecordOnly");
        assert_eq!(change["Action"], "route53:ChangeResourceRecordSets");
        assert_eq!(change["Resource"], "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ");
        let only = &change["Condition"]["ForAllValues:StringEquals"];
        // Normalized as Route 53 compares them: lower case, no trailing dot.
        assert_eq!(
            only["route53:ChangeResourceRecordSetsNormalizedRecordNames"],
            json!(["demo.example.com", "_costd.demo.example.com"])
        );
        assert_eq!(only["route53:ChangeResourceRecordSetsRecordTypes"], json!(["A", "TXT"]));
        assert_eq!(
            only["route53:ChangeResourceRecordSetsActions"],
            json!(["UPSERT", "DELETE"])
        );
        assert_eq!(
            st("CostdReadItsZone")["Resource"],
            "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"
        );
        assert_eq!(st("CostdReadItsZone")["Action"], "route53:ListResourceRecordSets");
        assert_eq!(st("CostdFollowItsChanges")["Action"], "route53:GetChange");
        // The actions are exactly the ones the Route 53 adapter calls.
        let mut granted: Vec<String> = ["CostdChangeItsRecordOnly", "CostdReadItsZone", "CostdFollowItsChanges"]
            .iter()
            .flat_map(|sid| actions(&st(sid)))
            .collect();
        granted.sort();
        let mut expected: Vec<&str> = crate::aws::route53::IAM_ACTIONS.to_vec();
        expected.sort();
        assert_eq!(granted, expected);
        // Without [alb.dns], nothing of Route 53.
        assert!(!policy("blue", "Costd", None).to_string().contains("route53"));
    }

    /// Every mutating statement is pinned to this deployment by value: its
    /// tags (`true` and the deployment's name), its alarm names or its namespace.
    #[test]
    fn every_mutation_is_pinned_to_this_deployment_by_value() {
        let p = policy("blue", "Costd-Blue", None);
        for st in p["Statement"].as_array().unwrap() {
            let mutating = actions(st).iter().any(|a| {
                let verb = a.split(':').nth(1).unwrap_or_default();
                ["Create", "Delete", "Register", "Put", "Add"]
                    .iter()
                    .any(|m| verb.starts_with(m))
                    || verb == "TagResource"
            });
            if !mutating {
                continue;
            }
            let eq = &st["Condition"]["StringEquals"];
            let pinned_by_tags = ["aws:RequestTag", "aws:ResourceTag"].iter().any(|kind| {
                eq[format!("{kind}/costd:managed")] == "true" && eq[format!("{kind}/costd:deployment")] == "blue"
            });
            let pinned_by_name = st["Resource"] == "arn:aws:cloudwatch:*:*:alarm:costd-blue-*";
            let pinned_by_namespace = eq["cloudwatch:namespace"] == "Costd-Blue";
            assert!(pinned_by_tags || pinned_by_name || pinned_by_namespace, "{st}");
        }
        // Re-tagging is limited to the two keys that change.
        let retag = p["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "CostdRetagItsOwn")
            .unwrap();
        assert_eq!(
            retag["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"],
            json!(["costd:store", "costd:until"])
        );
        // Another deployment's policy does not reach this one's resources.
        assert_ne!(policy("green", "Costd", None), policy("blue", "Costd", None));
    }
}
