//! The Must-show, through the real binary: `deploy` of each tier against moto
//! with loopback service endpoints, then `destroy` leaves exactly the EFS.

use predicates::prelude::*;

use super::Harness;
use super::deploy::{file_systems, live_instances, tagged_group_ids};
use super::tiers::{distributions, load_balancers, target_groups};
use crate::support::Home;

pub(super) fn aws_cmd(home: &Home, h: &Harness) -> assert_cmd::Command {
    let mut cmd = home.cmd();
    cmd.env("AWS_ENDPOINT_URL", h.moto.url())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("GEUSEMAKER_SERVICE_ENDPOINTS", &h.fakes.spec)
        // Known, so nothing asks checkip.amazonaws.com.
        .env("GEUSEMAKER_CALLER_CIDR", super::CALLER)
        .env("GEUSEMAKER_EXTRA_CA", &h.fakes.ca_path);
    cmd
}

/// Keys every AWS deploy records, and those only a tier adds.
pub(super) const DEV_KEYS: &[&str] = &[
    "vpc_id",
    "security_group_id",
    "efs_security_group_id",
    "efs_id",
    "iam_role_name",
    "iam_instance_profile_name",
    "instance_id",
    "public_ip",
    "private_ip",
    "n8n_url",
    "secrets_path",
    "ami_id",
];
const ALB_KEYS: &[&str] = &[
    "alb_arn",
    "alb_dns_name",
    "target_group_arn",
    "alb_security_group_id",
];
const CDN_KEYS: &[&str] = &["cloudfront_id", "cloudfront_domain"];

pub(super) fn run(h: &Harness, home: &Home, args: &[&str]) -> std::process::Output {
    let mut cmd = aws_cmd(home, h);
    cmd.args(args);
    tokio::task::block_in_place(|| cmd.output()).expect("run the binary")
}

/// `deploy <stack> --tier <tier> --yes`, checked `running` with `keys` recorded.
pub(super) fn deploy(
    h: &Harness,
    home: &Home,
    stack: &str,
    tier: &str,
    keys: &[&[&str]],
) -> serde_json::Value {
    let out = run(
        h,
        home,
        &[
            "deploy",
            stack,
            "--tier",
            tier,
            "--yes",
            "--allow-cidr",
            super::CALLER,
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "deploy {stack} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json state");
    assert_eq!(state["status"], "running");
    assert_eq!(state["provider"], "aws");
    for key in keys.iter().flat_map(|k| k.iter()) {
        assert!(
            state[key].is_string(),
            "{stack}: {key} not recorded: {state}"
        );
    }
    state
}

/// `destroy <stack> --yes` leaves exactly the EFS and its security group.
async fn destroy_keeps_only_the_efs(
    h: &Harness,
    home: &Home,
    stack: &str,
    state: &serde_json::Value,
) {
    let out = run(h, home, &["destroy", stack, "--yes"]);
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Kept EFS"),
        "destroy {stack}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let sdk = h.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    assert!(live_instances(&ec2, stack).await.is_empty());
    assert_eq!(
        file_systems(&aws_sdk_efs::Client::new(&sdk), stack).await,
        vec![state["efs_id"].as_str().unwrap().to_string()]
    );
    assert_eq!(
        tagged_group_ids(&ec2, stack).await,
        vec![state["efs_security_group_id"].as_str().unwrap().to_string()]
    );
    assert!(
        load_balancers(&elb, stack).await.is_empty(),
        "{stack}: ALB left"
    );
    assert!(
        target_groups(&elb, stack).await.is_empty(),
        "{stack}: target group left"
    );
    assert!(
        distributions(&aws_sdk_cloudfront::Client::new(&sdk), stack)
            .await
            .is_empty(),
        "{stack}: distribution left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_and_destroy_through_the_cli() {
    let h = Harness::start().await;
    let home = Home::new();
    let state = deploy(&h, &home, "s1", "dev", &[DEV_KEYS]);
    super::exposure::assert_least_exposure(&h, &home, &state).await;
    // moto's SSM returns no output, as an agent not answering yet would:
    // the logs are then the instance's serial console.
    let logs = run(&h, &home, &["logs", "s1", "--tail", "3"]);
    let text = String::from_utf8_lossy(&logs.stdout);
    assert!(
        logs.status.success(),
        "{}",
        String::from_utf8_lossy(&logs.stderr)
    );
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.lines().all(|l| l.starts_with("console")), "{text}");
    destroy_keeps_only_the_efs(&h, &home, "s1", &state).await;
    let list = run(&h, &home, &["list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list[0]["status"], "destroyed");
    assert_eq!(list[0]["kept_data"]["efs_id"], state["efs_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automation_and_gpu_tiers_through_the_cli() {
    let h = Harness::start().await;
    let home = Home::new();
    let s2 = deploy(&h, &home, "s2", "automation", &[DEV_KEYS, ALB_KEYS]);
    assert_eq!(s2["listener_arns"].as_array().map(Vec::len), Some(1));
    super::exposure::assert_least_exposure(&h, &home, &s2).await;
    let s3 = deploy(&h, &home, "s3", "gpu", &[DEV_KEYS, ALB_KEYS, CDN_KEYS]);
    super::exposure::assert_least_exposure(&h, &home, &s3).await;
    let domain = s3["cloudfront_domain"].as_str().unwrap();
    assert_eq!(s3["n8n_url"], format!("https://{domain}"));
    assert_eq!(s3["cost"]["instance_type"], "g4dn.xlarge");
    destroy_keeps_only_the_efs(&h, &home, "s2", &s2).await;
    destroy_keeps_only_the_efs(&h, &home, "s3", &s3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_against_aws_creates_nothing() {
    let h = Harness::start().await;
    let home = Home::new();
    let out = run(
        &h,
        &home,
        &[
            "deploy",
            "p1",
            "--tier",
            "gpu",
            "--plan",
            "--json",
            "--allow-cidr",
            super::CALLER,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan json");
    let stages: Vec<&str> = plan["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert!(
        stages.contains(&"ALB") && stages.contains(&"CloudFront"),
        "{stages:?}"
    );
    assert_eq!(plan["instance_type"], "g4dn.xlarge");
    assert!(home.deployments().is_empty(), "no state written");
    let sdk = h.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    assert!(
        tagged_group_ids(&ec2, "p1").await.is_empty(),
        "nothing created in moto"
    );
    assert!(live_instances(&ec2, "p1").await.is_empty());
}

#[test]
fn without_credentials_the_error_names_every_source_and_offers_the_sandbox() {
    let home = Home::new();
    let empty = home.path().join("no-aws");
    std::fs::create_dir_all(&empty).unwrap();
    home.cmd()
        .env("HOME", &empty)
        .env("AWS_CONFIG_FILE", empty.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", empty.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .args(["deploy", "nocreds", "--yes"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("No AWS credentials found")
                .and(predicate::str::contains("environment variables"))
                .and(predicate::str::contains("~/.aws/config"))
                .and(predicate::str::contains("web identity"))
                .and(predicate::str::contains("ECS"))
                .and(predicate::str::contains("IMDS"))
                .and(predicate::str::contains("--sandbox")),
        );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_in_another_region_is_destroyed_there_without_naming_it() {
    let h = Harness::start().await;
    let home = Home::new();
    let out = run(
        &h,
        &home,
        &[
            "deploy",
            "west",
            "--region",
            "us-west-2",
            "--yes",
            "--allow-cidr",
            super::CALLER,
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let west = aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::config::Builder::from(&h.sdk().await)
            .region(aws_config::Region::new("us-west-2"))
            .build(),
    );
    assert_eq!(live_instances(&west, "west").await.len(), 1);
    // No --region: the default is us-east-1, the stack's own is us-west-2.
    let out = run(&h, &home, &["destroy", "west", "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        live_instances(&west, "west").await.is_empty(),
        "terminated in its own region"
    );
}
