//! The IAM policy costd needs, for one deployment: `costd iam-policy`
//! prints it, `config/iam-policy.json` is it for the embedded default
//! config. Every mutating statement is pinned to costd's tags with this
//! deployment's name (`costd:managed=true` and `costd:deployment=<name>`),
//! its alarm names or its metric namespace, so one deployment's role cannot
//! touch another deployment's resources.

use serde_json::{Value, json};

use super::elb::{TAG_DEPLOYMENT, TAG_MANAGED, TAG_STORE, TAG_UNTIL};

/// The policy document for `deployment`, publishing metrics to `namespace`.
pub fn policy(deployment: &str, namespace: &str) -> Value {
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
            policy(&cfg.deployment, &cfg.cloudwatch.namespace),
            "regenerate it: costd iam-policy > config/iam-policy.json"
        );
    }

    /// It grants exactly the actions costd calls.
    #[test]
    fn it_grants_exactly_the_calls() {
        let p = policy("blue", "Costd");
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

    /// Every mutating statement is pinned to this deployment by value: its
    /// tags (`true` and the deployment's name), its alarm names or its namespace.
    #[test]
    fn every_mutation_is_pinned_to_this_deployment_by_value() {
        let p = policy("blue", "Costd-Blue");
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
        assert_ne!(policy("green", "Costd"), policy("blue", "Costd"));
    }
}
