//! `scan` through the real binary against moto: a rule added behind the
//! tool's back is drift; an orphaned security group and an instance
//! terminated behind its back are found (exit 3); adopting the one and
//! forgetting the other leaves a clean scan (exit 0). `--all-regions`
//! finds an orphan in a region no state uses.

use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, Tag, TagSpecification};

use super::Harness;
use super::cli::{DEV_KEYS, deploy, run};
use crate::support::Home;

fn tags(stack: &str, installation: &str, name: &str) -> TagSpecification {
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    TagSpecification::builder()
        .resource_type(ResourceType::SecurityGroup)
        .tags(tag("Stack", stack))
        .tags(tag("geusemaker:managed", "true"))
        .tags(tag("geusemaker:installation", installation))
        .tags(tag("Name", name))
        .build()
}

/// A group made behind the tool's back, tagged as the tool tags its own.
async fn group(ec2: &aws_sdk_ec2::Client, vpc: &str, spec: TagSpecification, name: &str) -> String {
    ec2.create_security_group()
        .group_name(name)
        .description("made behind the tool's back")
        .vpc_id(vpc)
        .tag_specifications(spec)
        .send()
        .await
        .expect("create group")
        .group_id()
        .expect("id")
        .to_string()
}

fn scan_json(h: &Harness, home: &Home, args: &[&str]) -> (i32, serde_json::Value) {
    let out = run(h, home, args);
    let code = out.status.code().unwrap_or(-1);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "scan printed no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, report)
}

fn ids(report: &serde_json::Value, key: &str) -> Vec<String> {
    report[key]
        .as_array()
        .expect("a list")
        .iter()
        .map(|o| o["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_finds_an_orphan_and_a_deleted_instance_then_adopt_makes_it_clean() {
    let h = Harness::start().await;
    let home = Home::new();
    let state = deploy(&h, &home, "sc1", "dev", &[DEV_KEYS]);
    let (code, report) = scan_json(&h, &home, &["scan", "--json"]);
    assert_eq!(code, 0, "a fresh deploy scans clean: {report:#}");

    // n8n opened to the world behind the tool's back is drift; closed
    // again, the scan is clean.
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    let instance_group = state["security_group_id"].as_str().expect("group");
    let world = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(5678)
        .to_port(5678)
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    ec2.authorize_security_group_ingress()
        .group_id(instance_group)
        .ip_permissions(world.clone())
        .send()
        .await
        .expect("open n8n");
    let (code, report) = scan_json(&h, &home, &["scan", "--json"]);
    assert_eq!(code, 3, "{report:#}");
    assert_eq!(ids(&report, "drift"), [instance_group], "{report:#}");
    let drift = &report["drift"][0];
    assert_eq!(drift["what"], "inbound rules");
    let actual = drift["actual"].as_str().expect("actual");
    assert!(actual.contains("5678 from 0.0.0.0/0"), "{drift:#}");
    assert!(
        !drift["expected"]
            .as_str()
            .expect("expected")
            .contains("0.0.0.0/0")
    );
    ec2.revoke_security_group_ingress()
        .group_id(instance_group)
        .ip_permissions(world)
        .send()
        .await
        .expect("close n8n");
    let (code, report) = scan_json(&h, &home, &["scan", "--json"]);
    assert_eq!(code, 0, "closed again: {report:#}");

    let installation = std::fs::read_to_string(home.path().join("config/installation-id"))
        .expect("installation id")
        .trim()
        .to_string();
    let vpc = state["vpc_id"].as_str().expect("vpc");
    let orphan = group(
        &ec2,
        vpc,
        tags("sc1", &installation, "geusemaker-sc1-alb"),
        "geusemaker-sc1-alb",
    )
    .await;
    let theirs = group(
        &ec2,
        vpc,
        tags("teammate", "gm-someone-else", "geusemaker-teammate-alb"),
        "geusemaker-teammate-alb",
    )
    .await;
    // EC2 is eventually consistent: a group only just made is not yet in a
    // filtered describe (the strict layer's consistency.after-create). Let
    // the emulator's clock pass that window rather than race it.
    h.moto.advance(0.5);
    let instance = state["instance_id"].as_str().expect("instance").to_string();
    ec2.terminate_instances()
        .instance_ids(&instance)
        .send()
        .await
        .expect("terminate");

    let (code, report) = scan_json(&h, &home, &["scan", "--json"]);
    assert_eq!(code, 3, "{report:#}");
    assert_eq!(ids(&report, "orphans"), [orphan.as_str()], "{report:#}");
    assert_eq!(report["orphans"][0]["adopt_into"], "alb_security_group_id");
    assert_eq!(ids(&report, "missing"), [instance.as_str()], "{report:#}");
    assert_eq!(report["missing"][0]["field"], "instance_id");
    assert_eq!(
        ids(&report, "managed_elsewhere"),
        [theirs.as_str()],
        "{report:#}"
    );

    // Another installation's group is never deleted from here; nor is
    // anything adopted in read-only mode.
    let out = run(&h, &home, &["scan", "delete", &theirs, "--yes"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        &h,
        &home,
        &["--readonly", "scan", "adopt", &orphan, "--yes"],
    );
    assert_eq!(out.status.code(), Some(2));

    let out = run(&h, &home, &["scan", "adopt", &orphan, "--yes"]);
    assert!(
        out.status.success(),
        "adopt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&h, &home, &["scan", "forget", &instance, "--yes"]);
    assert!(
        out.status.success(),
        "forget: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved: serde_json::Value = serde_json::from_str(&home.state("sc1")).expect("state json");
    assert_eq!(saved["alb_security_group_id"], orphan.as_str());
    assert!(saved["instance_id"].is_null(), "{saved:#}");
    assert_eq!(
        saved["status"], "failed",
        "not running without its instance"
    );

    let (code, report) = scan_json(&h, &home, &["scan", "--json"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(ids(&report, "managed_elsewhere"), [theirs]);

    let audit = std::fs::read_to_string(home.path().join("audit.jsonl")).expect("audit");
    assert!(audit.contains("\"scan adopt\"") && audit.contains("\"scan forget\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_regions_finds_an_orphan_where_no_state_is() {
    let h = Harness::start().await;
    let home = Home::new();
    let (code, report) = scan_json(&h, &home, &["scan", "--json"]);
    assert_eq!(code, 0, "nothing anywhere yet: {report:#}");
    assert_eq!(report["regions"], serde_json::json!(["us-east-1"]));
    let installation = std::fs::read_to_string(home.path().join("config/installation-id"))
        .expect("installation id")
        .trim()
        .to_string();
    let paris = h
        .sdk()
        .await
        .into_builder()
        .region(aws_config::Region::new("eu-west-3"))
        .build();
    let ec2 = aws_sdk_ec2::Client::new(&paris);
    let vpc = ec2
        .describe_vpcs()
        .send()
        .await
        .expect("vpcs")
        .vpcs()
        .iter()
        .find(|v| v.is_default() == Some(true))
        .and_then(|v| v.vpc_id())
        .expect("a default VPC in eu-west-3")
        .to_string();
    let orphan = group(
        &ec2,
        &vpc,
        tags("far", &installation, "geusemaker-far-instance"),
        "geusemaker-far-instance",
    )
    .await;
    h.moto.advance(0.5);

    let (code, report) = scan_json(&h, &home, &["scan", "--json"]);
    assert_eq!(code, 0, "not in the regions the states use: {report:#}");
    let (code, report) = scan_json(&h, &home, &["scan", "--all-regions", "--json"]);
    assert_eq!(code, 3, "{report:#}");
    assert_eq!(ids(&report, "orphans"), [orphan.as_str()], "{report:#}");
    assert_eq!(report["orphans"][0]["region"], "eu-west-3");
    let regions = report["regions"].as_array().expect("regions");
    assert!(regions.len() > 10, "every enabled region: {regions:?}");
}
