//! `doctor` against the strict emulator (which answers
//! iam:SimulatePrincipalPolicy): moto's STS names the static credentials
//! `arn:aws:sts::123456789012:user/moto`, so the tests give a user "moto"
//! the shipped policy, or the policy less one action.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use aws_credential_types::Credentials;
use serde_json::Value;

use geusemaker::cloud::aws::doctor::DoctorRequest;
use geusemaker::cloud::aws::permissions::POLICY_JSON;
use geusemaker::cloud::aws::{AwsCloud, AwsSettings};
use geusemaker::domain::doctor::CheckStatus;
use geusemaker::domain::time::SystemClock;

use super::Harness;
use crate::support::Home;

/// Every check a full AWS report has, whatever it finds.
const CHECKS: &[&str] = &[
    "identity",
    "region",
    "permissions",
    "default-vpc",
    "spot-vcpu-quota",
    "on-demand-vcpu-quota",
    "elastic-ip-quota",
    "security-group-rules-quota",
    "service-linked-role:AWSServiceRoleForAmazonElasticFileSystem",
    "service-linked-role:AWSServiceRoleForElasticLoadBalancing",
    "service-linked-role:AWSServiceRoleForEC2Spot",
    "service-linked-role:AWSServiceRoleForAutoScaling",
    "instance-type-zones",
];

/// The shipped policy without `action`.
fn policy_without(action: &str) -> String {
    let mut policy: Value = serde_json::from_str(POLICY_JSON).expect("policy");
    for statement in policy["Statement"].as_array_mut().expect("statements") {
        if let Some(actions) = statement["Action"].as_array_mut() {
            actions.retain(|a| a != action);
        }
    }
    policy.to_string()
}

/// User "moto" (the emulator's caller) with `document` as a managed policy.
async fn moto_user_with(h: &Harness, document: &str) {
    let iam = aws_sdk_iam::Client::new(&h.sdk().await);
    let _ = iam.create_user().user_name("moto").send().await;
    let attached = iam
        .list_attached_user_policies()
        .user_name("moto")
        .send()
        .await
        .expect("attached policies");
    for arn in attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
    {
        iam.detach_user_policy()
            .user_name("moto")
            .policy_arn(arn)
            .send()
            .await
            .expect("detach");
    }
    let name = format!("deployer-{}", attached.attached_policies().len());
    let created = iam
        .create_policy()
        .policy_name(&name)
        .policy_document(document)
        .send()
        .await
        .expect("create policy");
    let arn = created.policy().and_then(|p| p.arn()).expect("policy arn");
    iam.attach_user_policy()
        .user_name("moto")
        .policy_arn(arn)
        .send()
        .await
        .expect("attach");
}

/// `doctor --json [args]` through the binary: its exit code and report.
fn doctor(h: &Harness, home: &Home, args: &[&str]) -> (i32, Value) {
    let mut cmd = home.cmd();
    cmd.env("AWS_ENDPOINT_URL", h.moto.url())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["doctor", "--json"])
        .args(args);
    let out = tokio::task::block_in_place(|| cmd.output()).expect("run the binary");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor printed no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no {name} check: {report:#}"))
}

fn failed(report: &Value) -> Vec<&str> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] == "failed")
        .filter_map(|c| c["name"].as_str())
        .collect()
}

fn assert_every_check_is_there(report: &Value) {
    assert_eq!(report["region"], "us-east-1");
    for name in CHECKS {
        let c = check(report, name);
        for field in ["status", "detail", "fix"] {
            assert!(c[field].is_string(), "{name}.{field}: {c}");
        }
        if c["status"] != "ok" {
            assert!(
                !c["fix"].as_str().unwrap_or_default().is_empty(),
                "{name} says how to fix it: {c}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_without_run_instances_fails_that_action_by_name() {
    let h = Harness::start().await;
    let home = Home::new();
    moto_user_with(&h, &policy_without("ec2:RunInstances")).await;
    let (code, report) = doctor(&h, &home, &[]);
    assert_every_check_is_there(&report);
    assert_eq!(code, 1, "a failed check exits 1: {report:#}");
    assert_eq!(
        failed(&report),
        ["permissions", "permission:ec2:RunInstances"],
        "{report:#}"
    );
    let denied = check(&report, "permission:ec2:RunInstances");
    assert!(
        denied["detail"]
            .as_str()
            .is_some_and(|d| d.contains("arn:aws:iam::123456789012:user/moto")),
        "{denied}"
    );
    assert_eq!(check(&report, "identity")["status"], "ok");
    assert_eq!(check(&report, "region")["status"], "ok");
    assert_eq!(check(&report, "default-vpc")["status"], "ok");
    assert_eq!(check(&report, "instance-type-zones")["status"], "ok");
    // moto creates no service-linked role; CreateServiceLinkedRole is allowed.
    assert_eq!(
        check(&report, "service-linked-role:AWSServiceRoleForEC2Spot")["status"],
        "warning"
    );

    // The whole policy: nothing fails.
    moto_user_with(&h, POLICY_JSON).await;
    let (code, report) = doctor(&h, &home, &[]);
    assert_every_check_is_there(&report);
    assert_eq!(code, 0, "{report:#}");
    assert!(failed(&report).is_empty(), "{report:#}");
    let permissions = check(&report, "permissions");
    assert_eq!(permissions["status"], "ok", "{permissions}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gpu_type_over_its_quota_fails_the_spot_check_and_warns_on_demand() {
    let h = Harness::start().await;
    let home = Home::new();
    moto_user_with(&h, POLICY_JSON).await;
    set_quotas(&h, r#"{"L-3819A6DF": 0, "L-DB2E81BA": 2, "L-0263D0A3": 0}"#);
    let (code, report) = doctor(&h, &home, &["--instance-type", "g4dn.xlarge"]);
    assert_every_check_is_there(&report);
    assert_eq!(code, 1);
    assert_eq!(failed(&report), ["spot-vcpu-quota"], "{report:#}");
    let spot = check(&report, "spot-vcpu-quota");
    assert!(
        spot["fix"]
            .as_str()
            .is_some_and(|f| f.contains("L-3819A6DF to at least 4")),
        "{spot}"
    );
    assert_eq!(check(&report, "on-demand-vcpu-quota")["status"], "warning");
    assert_eq!(check(&report, "elastic-ip-quota")["status"], "warning");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assumed_role_is_simulated_as_its_role_with_its_path() {
    let h = Harness::start().await;
    let sdk = h.sdk().await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
    let role = iam
        .create_role()
        .role_name("deployer")
        .path("/team/")
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("role");
    let role_arn = role.role().map(|r| r.arn().to_string()).expect("arn");
    // A new role is invisible for a moment (the strict layer's consistency).
    tokio::time::sleep(Duration::from_millis(300)).await;
    iam.put_role_policy()
        .role_name("deployer")
        .policy_name("deployer")
        .policy_document(policy_without("elasticfilesystem:DeleteFileSystem"))
        .send()
        .await
        .expect("role policy");
    let session = aws_sdk_sts::Client::new(&sdk)
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("doctor")
        .send()
        .await
        .expect("assume role");
    let c = session.credentials().expect("credentials");
    let mut settings = AwsSettings::new("us-east-1", h.store.cache_dir());
    settings.endpoint_url = Some(h.moto.url());
    settings.max_attempts = Some(1);
    settings.credentials = Some(Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "assumed",
    ));
    let aws = AwsCloud::connect(settings, Arc::new(SystemClock), Vec::new())
        .await
        .expect("connect");
    let report = aws
        .doctor(&DoctorRequest {
            instance_type: "t3.medium".into(),
            spot: true,
        })
        .await;
    let identity = &report.checks[0];
    assert!(
        identity.detail.contains(":assumed-role/deployer/doctor"),
        "{identity:?}"
    );
    let failed: Vec<&str> = report.failed().map(|c| c.name.as_str()).collect();
    assert_eq!(
        failed,
        [
            "permissions",
            "permission:elasticfilesystem:DeleteFileSystem"
        ],
        "{report:#?}"
    );
    let denied = report
        .checks
        .iter()
        .find(|c| c.name == "permission:elasticfilesystem:DeleteFileSystem")
        .expect("denied check");
    assert_eq!(denied.status, CheckStatus::Failed);
    assert!(
        denied
            .detail
            .contains("arn:aws:iam::123456789012:role/team/deployer"),
        "the role's ARN with its path: {denied:?}"
    );
}

/// `POST /strict-api/quota`: set quota values (codes to vCPUs or counts).
fn set_quotas(h: &Harness, body: &str) {
    let request = format!(
        "POST /strict-api/quota HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\n\r\n{body}",
        h.moto.port,
        body.len()
    );
    let mut stream = TcpStream::connect(("127.0.0.1", h.moto.port)).expect("emulator");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    assert!(
        answer.lines().next().is_some_and(|l| l.contains(" 200 ")),
        "{answer}"
    );
}

#[test]
fn in_the_sandbox_there_is_no_account_to_check() {
    let home = Home::new();
    let report = home.json(&["--sandbox", "doctor", "--json"]);
    let checks = report["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), 1, "{report:#}");
    assert_eq!(checks[0]["name"], "sandbox");
    assert_eq!(checks[0]["status"], "ok");
}

#[test]
fn without_credentials_the_identity_fails_and_doctor_exits_1() {
    let home = Home::new();
    let empty = home.path().join("no-aws");
    std::fs::create_dir_all(&empty).expect("dir");
    let out = home
        .cmd()
        .env("HOME", &empty)
        .env("AWS_CONFIG_FILE", empty.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", empty.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .args(["doctor", "--json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let identity = check(&report, "identity");
    assert_eq!(identity["status"], "failed", "{identity}");
    assert!(
        identity["detail"]
            .as_str()
            .is_some_and(|d| d.contains("No AWS credentials found")),
        "{identity}"
    );
}
