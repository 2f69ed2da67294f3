//! `assets/iam-policy.json` names every IAM action a deploy and a destroy
//! need: an interceptor records each operation the SDK sends during a full
//! deploy and `destroy --delete-data` of every tier (and of a dev stack in a
//! VPC of its own), a table maps each operation to the IAM actions it needs,
//! and every one of them must be in the policy.

use std::collections::{BTreeMap, BTreeSet};

use geusemaker::cloud::aws::permissions;
use geusemaker::domain::{StackStatus, Tier};

use super::Harness;
use super::recorder::{Operation, Recorder};

/// The IAM actions each operation needs, as the product sends it: with tags
/// (`ec2:CreateTags`, `iam:TagRole`, ...), with an instance profile
/// (`iam:PassRole`), and what EFS does in EC2 on the caller's behalf.
/// `None`: the service is not in this table. An empty list: no permission.
fn iam_actions(service: &str, operation: &str) -> Option<Vec<String>> {
    let (prefix, extra): (&str, &[&str]) = match (service, operation) {
        ("STS", "GetCallerIdentity") => return Some(Vec::new()),
        ("EC2", "RunInstances") => ("ec2", &["ec2:CreateTags", "iam:PassRole"]),
        (
            "EC2",
            "CreateVpc"
            | "CreateSubnet"
            | "CreateSecurityGroup"
            | "CreateInternetGateway"
            | "CreateRouteTable"
            | "CreateLaunchTemplate"
            | "AllocateAddress",
        ) => ("ec2", &["ec2:CreateTags"]),
        ("EC2", _) => ("ec2", &[]),
        ("EFS", "CreateFileSystem") => ("elasticfilesystem", &["elasticfilesystem:TagResource"]),
        ("EFS", "CreateMountTarget") => (
            "elasticfilesystem",
            &[
                "ec2:DescribeSubnets",
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
            ],
        ),
        ("EFS", "DeleteMountTarget") => ("elasticfilesystem", &["ec2:DeleteNetworkInterface"]),
        ("EFS", _) => ("elasticfilesystem", &[]),
        ("Elastic Load Balancing v2", "CreateLoadBalancer" | "CreateTargetGroup") => {
            ("elasticloadbalancing", &["elasticloadbalancing:AddTags"])
        }
        ("Elastic Load Balancing v2", _) => ("elasticloadbalancing", &[]),
        // No action of that name: it is CreateDistribution plus TagResource.
        ("CloudFront", "CreateDistributionWithTags") => {
            return Some(vec![
                "cloudfront:CreateDistribution".into(),
                "cloudfront:TagResource".into(),
            ]);
        }
        ("CloudFront", _) => ("cloudfront", &[]),
        ("IAM", "CreateRole") => ("iam", &["iam:TagRole"]),
        ("IAM", "CreateInstanceProfile") => ("iam", &["iam:TagInstanceProfile"]),
        ("IAM", _) => ("iam", &[]),
        ("SSM", "PutParameter") => ("ssm", &["ssm:AddTagsToResource"]),
        ("SSM", _) => ("ssm", &[]),
        // A group launching from a template launches as its caller:
        // RunInstances, tags and the profile's role.
        ("Auto Scaling", "CreateAutoScalingGroup") => (
            "autoscaling",
            &[
                "autoscaling:CreateOrUpdateTags",
                "ec2:RunInstances",
                "ec2:CreateTags",
                "iam:PassRole",
            ],
        ),
        ("Auto Scaling", "UpdateAutoScalingGroup") => (
            "autoscaling",
            &["ec2:RunInstances", "ec2:CreateTags", "iam:PassRole"],
        ),
        ("Auto Scaling", _) => ("autoscaling", &[]),
        ("Pricing", _) => ("pricing", &[]),
        ("Service Quotas", _) => ("servicequotas", &[]),
        _ => return None,
    };
    let mut actions = vec![format!("{prefix}:{operation}")];
    actions.extend(extra.iter().map(|a| a.to_string()));
    Some(actions)
}

/// Deploy `stack` and destroy it with its data, recording each operation.
async fn life_of(h: &Harness, stack: &str, tier: Tier, new_vpc: bool) -> BTreeSet<Operation> {
    // No prices from the cache: every run asks the Pricing API.
    let _ = std::fs::remove_file(h.store.cache_dir().join("pricing.json"));
    let recorder = Recorder::default();
    let mut request = Harness::request_for(stack, tier);
    request.options.new_vpc = new_vpc;
    let state = h
        .deploy_request(&request, recorder.interceptor())
        .await
        .unwrap_or_else(|e| panic!("deploy {stack}: {e}"));
    assert_eq!(state.status, StackStatus::Running, "{stack}");
    let outcome = h.destroy_with(stack, true, recorder.interceptor()).await;
    assert!(
        outcome.kept.is_none(),
        "{stack}: --delete-data keeps nothing"
    );
    recorder.take()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_allows_every_call_of_a_deploy_and_destroy_of_each_tier() {
    let h = Harness::start().await;
    let policy: BTreeSet<String> = permissions::policy()
        .expect("assets/iam-policy.json parses")
        .actions()
        .into_iter()
        .collect();
    let runs = [
        ("perm-dev", Tier::Dev, false),
        ("perm-own-vpc", Tier::Dev, true),
        ("perm-auto", Tier::Automation, false),
        ("perm-gpu", Tier::Gpu, false),
    ];
    let mut needed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut unmapped = Vec::new();
    for (stack, tier, new_vpc) in runs {
        let operations = life_of(&h, stack, tier, new_vpc).await;
        eprintln!(
            "{stack} ({tier}{}): {} distinct operations",
            if new_vpc { ", own VPC" } else { "" },
            operations.len()
        );
        for (service, operation) in operations {
            match iam_actions(&service, &operation) {
                Some(actions) => {
                    for action in actions {
                        needed
                            .entry(action)
                            .or_default()
                            .insert(format!("{service} {operation}"));
                    }
                }
                None => unmapped.push(format!("{service} {operation}")),
            }
        }
    }
    assert!(
        unmapped.is_empty(),
        "operations with no IAM action in this test's table (add them here and to assets/iam-policy.json): {unmapped:?}"
    );
    let missing: Vec<String> = needed
        .iter()
        .filter(|(action, _)| !policy.contains(*action))
        .map(|(action, by)| format!("{action} (for {})", Vec::from_iter(by.clone()).join(", ")))
        .collect();
    assert!(
        missing.is_empty(),
        "assets/iam-policy.json lacks actions that deploy or destroy use: {missing:#?}"
    );
    let unused: Vec<&String> = policy.iter().filter(|a| !needed.contains_key(*a)).collect();
    eprintln!(
        "{} actions needed, {} in the policy; in the policy but not exercised here: {unused:?}",
        needed.len(),
        policy.len()
    );
}

#[test]
fn the_table_maps_the_services_the_product_uses() {
    assert_eq!(iam_actions("STS", "GetCallerIdentity"), Some(Vec::new()));
    assert_eq!(
        iam_actions("EFS", "DescribeFileSystems"),
        Some(vec!["elasticfilesystem:DescribeFileSystems".to_string()])
    );
    assert_eq!(
        iam_actions("Elastic Load Balancing v2", "DescribeTags"),
        Some(vec!["elasticloadbalancing:DescribeTags".to_string()])
    );
    assert_eq!(
        iam_actions("SSM", "GetParametersByPath"),
        Some(vec!["ssm:GetParametersByPath".to_string()])
    );
    assert_eq!(
        iam_actions("Service Quotas", "GetServiceQuota"),
        Some(vec!["servicequotas:GetServiceQuota".to_string()])
    );
    assert_eq!(iam_actions("S3", "ListBuckets"), None);
}
