//! The Must-show, through the real binary: `deploy s1` against moto with
//! loopback service endpoints, then `destroy s1` leaves exactly the EFS.

use predicates::prelude::*;

use super::Harness;
use super::deploy::{file_systems, live_instances, tagged_group_ids};
use crate::support::Home;

fn aws_cmd(home: &Home, h: &Harness) -> assert_cmd::Command {
    let mut cmd = home.cmd();
    cmd.env("AWS_ENDPOINT_URL", h.moto.url())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("GEUSEMAKER_SERVICE_ENDPOINTS", &h.fakes.spec);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_and_destroy_through_the_cli() {
    let h = Harness::start().await;
    let home = Home::new();
    let run = |args: Vec<&'static str>| {
        let mut cmd = aws_cmd(&home, &h);
        cmd.args(args);
        cmd
    };
    let out = tokio::task::block_in_place(|| {
        run(vec![
            "deploy",
            "s1",
            "--tier",
            "dev",
            "--yes",
            "--allow-cidr",
            super::CALLER,
            "--json",
        ])
        .output()
    })
    .unwrap();
    assert!(
        out.status.success(),
        "deploy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(state["status"], "running");
    for key in [
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
    ] {
        assert!(state[key].is_string(), "{key} not recorded: {state}");
    }
    assert_eq!(state["provider"], "aws");

    tokio::task::block_in_place(|| run(vec!["destroy", "s1", "--yes"]).assert())
        .success()
        .stdout(predicate::str::contains("Kept EFS"));
    let sdk = h.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let efs = aws_sdk_efs::Client::new(&sdk);
    assert!(live_instances(&ec2, "s1").await.is_empty());
    assert_eq!(
        file_systems(&efs, "s1").await,
        vec![state["efs_id"].as_str().unwrap().to_string()]
    );
    assert_eq!(
        tagged_group_ids(&ec2, "s1").await,
        vec![state["efs_security_group_id"].as_str().unwrap().to_string()]
    );
    let list = tokio::task::block_in_place(|| run(vec!["list", "--json"]).output()).unwrap();
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list[0]["status"], "destroyed");
    assert_eq!(list[0]["kept_data"]["efs_id"], state["efs_id"]);
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
