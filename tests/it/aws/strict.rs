//! The whole life of a stack on every tier against the strict emulator:
//! deploy, a no-op re-run, a rollback, destroy keeping the data, then
//! `--delete-data`. And a dev deploy and destroy with 20% of calls faulted.

use std::collections::BTreeSet;

use aws_config::SdkConfig;
use geusemaker::cloud::session::StoreSink;
use geusemaker::domain::state::RollbackTrigger;
use geusemaker::domain::{StackName, StackStatus, Tier};

use super::Harness;
use super::deploy::{file_systems, live_instances, profiles, tagged_group_ids};
use super::tiers::{distributions, load_balancers, target_groups};

/// Every group id named by any group's rule, and the groups that exist.
async fn dangling_references(sdk: &SdkConfig) -> Vec<String> {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let groups = ec2.describe_security_groups().send().await.expect("groups");
    let exists: BTreeSet<&str> = groups
        .security_groups()
        .iter()
        .filter_map(|g| g.group_id())
        .collect();
    groups
        .security_groups()
        .iter()
        .flat_map(|g| g.ip_permissions().iter().chain(g.ip_permissions_egress()))
        .flat_map(|p| p.user_id_group_pairs())
        .filter_map(|pair| pair.group_id())
        .filter(|id| !exists.contains(id))
        .map(str::to_string)
        .collect()
}

async fn targets(sdk: &SdkConfig, target_group: &str) -> Vec<String> {
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(sdk);
    let health = elb
        .describe_target_health()
        .target_group_arn(target_group)
        .send()
        .await
        .expect("target health");
    health
        .target_health_descriptions()
        .iter()
        .filter_map(|d| d.target().and_then(|t| t.id()).map(str::to_string))
        .collect()
}

async fn secrets_left(sdk: &SdkConfig, stack: &str) -> usize {
    let ssm = aws_sdk_ssm::Client::new(sdk);
    let r = ssm
        .get_parameters_by_path()
        .path(format!("/geusemaker/{stack}/"))
        .send()
        .await
        .expect("parameters");
    r.parameters().len()
}

/// Nothing of `stack` but what `keep_data` keeps (its EFS and the EFS's group).
async fn assert_only_data_left(h: &Harness, stack: &str, keep_data: Option<(&str, &str)>) {
    let sdk = h.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let efs = aws_sdk_efs::Client::new(&sdk);
    let iam = aws_sdk_iam::Client::new(&sdk);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let cf = aws_sdk_cloudfront::Client::new(&sdk);
    assert!(
        live_instances(&ec2, stack).await.is_empty(),
        "{stack}: instance left"
    );
    assert!(
        profiles(&iam, stack).await.is_empty(),
        "{stack}: profile left"
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
        distributions(&cf, stack).await.is_empty(),
        "{stack}: distribution left"
    );
    assert_eq!(
        dangling_references(&sdk).await,
        Vec::<String>::new(),
        "dangling rules"
    );
    match keep_data {
        Some((fs, group)) => {
            assert_eq!(file_systems(&efs, stack).await, vec![fs.to_string()]);
            assert_eq!(tagged_group_ids(&ec2, stack).await, vec![group.to_string()]);
            // Five for every tier, and gpu's CloudFront origin header.
            let kept = secrets_left(&sdk, stack).await;
            assert!(
                kept == 5 || (kept == 6 && stack.contains("gpu")),
                "secrets kept with the data: {kept}"
            );
        }
        None => {
            assert!(
                file_systems(&efs, stack).await.is_empty(),
                "{stack}: EFS left"
            );
            assert!(
                tagged_group_ids(&ec2, stack).await.is_empty(),
                "{stack}: group left"
            );
            assert_eq!(secrets_left(&sdk, stack).await, 0, "{stack}: secrets left");
        }
    }
}

async fn whole_life(tier: Tier, stack: &str) {
    let h = Harness::start().await;
    let first = h.deploy_tier(stack, tier, None).await.expect("deploy");
    assert_eq!(first.status, StackStatus::Running);
    let again = h.deploy_tier(stack, tier, None).await.expect("re-run");
    assert_eq!(
        again.instance_id, first.instance_id,
        "a re-run changes nothing"
    );
    assert_eq!(again.efs_id, first.efs_id);

    let ctx = h.context(h.cloud(None).await);
    let (sink, _rx) = StoreSink::new(h.store.clone());
    let name = StackName::parse(stack).expect("name");
    let rolled = geusemaker::deploy::rollback(
        &ctx,
        &name,
        RollbackTrigger::Manual,
        "strict lifecycle test",
        Box::new(sink),
    )
    .await
    .expect("rollback");
    assert_eq!(rolled.status, StackStatus::Running);
    assert_ne!(rolled.instance_id, first.instance_id, "a new instance");
    assert_eq!(rolled.efs_id, first.efs_id, "on the same EFS");
    if let Some(tg) = &rolled.target_group_arn {
        let sdk = h.sdk().await;
        let now = targets(&sdk, tg).await;
        let new = rolled.instance_id.clone().expect("instance");
        assert!(
            now.contains(&new),
            "the rolled-back instance is the ALB's target: {now:?}"
        );
        assert_eq!(
            rolled.n8n_url, first.n8n_url,
            "n8n stays behind the load balancer"
        );
    }

    let kept = h.destroy(stack, false).await;
    assert!(kept.kept.is_some(), "the EFS is kept");
    let fs = first.efs_id.clone().expect("efs");
    let group = first.efs_security_group_id.clone().expect("efs group");
    assert_only_data_left(&h, stack, Some((&fs, &group))).await;

    let gone = h.destroy(stack, true).await;
    assert!(gone.state.is_none());
    assert_only_data_left(&h, stack, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_lives_and_dies_cleanly_under_aws_rules() {
    whole_life(Tier::Dev, "life-dev").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automation_lives_and_dies_cleanly_and_a_rollback_is_the_albs_target() {
    whole_life(Tier::Automation, "life-auto").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpu_lives_and_dies_cleanly_under_aws_rules() {
    whole_life(Tier::Gpu, "life-gpu").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dev_deploy_and_destroy_finish_with_a_fifth_of_calls_faulted() {
    let h = Harness::start().await;
    let stack = "faulty";
    h.moto.configure(serde_json::json!({
        "fault_rate": 0.2,
        "fault_seed": 13,
        "fault_kinds": ["throttle", "500", "503", "lost"],
    }));
    let state = h
        .deploy_retrying(stack, Tier::Dev)
        .await
        .expect("deploy under faults");
    assert_eq!(state.status, StackStatus::Running);
    let outcome = h.destroy_retrying(stack, true).await;
    assert!(outcome.state.is_none(), "removed entirely");
    let faults = h.moto.configure(serde_json::json!({"fault_rate": 0.0}))["faults"].clone();
    let injected = faults["total_injected"].as_u64().unwrap_or_default();
    eprintln!(
        "faults injected: {injected} of {} calls: {}",
        faults["calls"], faults["injected"]
    );
    assert!(injected >= 10, "too few faults to mean anything: {faults}");
    assert_only_data_left(&h, stack, None).await;
    let sdk = h.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let all = ec2
        .describe_instances()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:Stack")
                .values(stack)
                .build(),
        )
        .send()
        .await
        .expect("instances");
    // The image builder is tagged with the stack too: one of each.
    let builder = |i: &&aws_sdk_ec2::types::Instance| {
        i.tags()
            .iter()
            .any(|t| t.key() == Some("geusemaker:role") && t.value() == Some("image-builder"))
    };
    let instances: Vec<_> = all
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .collect();
    let builders = instances.iter().filter(|i| builder(i)).count();
    assert_eq!(
        (instances.len() - builders, builders),
        (1, 1),
        "one instance and one builder ever launched: retries never duplicated either"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gpu_type_on_the_dev_tier_gets_the_gpu_ami_and_its_root_size() {
    let h = Harness::start().await;
    let mut request = Harness::request_for("gdev", Tier::Dev);
    request.instance_type = "g4dn.xlarge".into();
    let state = h.deploy_request(&request, None).await.expect("deploy");
    let sdk = h.sdk().await;
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let gpu_ami = ssm
        .get_parameter()
        .name("/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id")
        .send()
        .await
        .expect("the GPU AMI's parameter")
        .parameter()
        .and_then(|p| p.value())
        .map(str::to_string);
    assert_eq!(
        state.ami_id, gpu_ami,
        "an NVIDIA type needs the GPU AMI's driver"
    );
}

/// An instance of someone else's, tagged `Stack=<name>` but not managed.
async fn foreign_instance(sdk: &SdkConfig, stack: &str) -> String {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let ssm = aws_sdk_ssm::Client::new(sdk);
    let ami = ssm
        .get_parameter()
        .name("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")
        .send()
        .await
        .expect("AL2023")
        .parameter()
        .and_then(|p| p.value())
        .map(str::to_string)
        .expect("an AMI");
    let tag = aws_sdk_ec2::types::Tag::builder()
        .key("Stack")
        .value(stack)
        .build();
    let run = ec2
        .run_instances()
        .image_id(ami)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
                .tags(tag)
                .build(),
        )
        .send()
        .await
        .expect("someone else's instance");
    run.instances()[0].instance_id().expect("id").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_elses_instance_tagged_with_the_stack_is_never_adopted_or_terminated() {
    let h = Harness::start().await;
    let sdk = h.sdk().await;
    let theirs = foreign_instance(&sdk, "shared").await;
    let state = h
        .deploy_tier("shared", Tier::Dev, None)
        .await
        .expect("deploy");
    assert_ne!(
        state.instance_id.as_deref(),
        Some(theirs.as_str()),
        "adopted"
    );
    h.destroy("shared", true).await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let still = ec2
        .describe_instances()
        .instance_ids(&theirs)
        .send()
        .await
        .expect("describe");
    let state_name = still.reservations()[0].instances()[0]
        .state()
        .and_then(|s| s.name())
        .cloned();
    assert_eq!(
        state_name,
        Some(aws_sdk_ec2::types::InstanceStateName::Running),
        "their instance survives our destroy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_of_the_stacks_name_that_is_not_ours_is_reported_not_used() {
    let h = Harness::start().await;
    let sdk = h.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    ec2.create_security_group()
        .group_name("geusemaker-clash-instance")
        .description("made by someone else")
        .send()
        .await
        .expect("their group");
    let err = h
        .deploy_tier("clash", Tier::Dev, None)
        .await
        .expect_err("must refuse");
    let text = err.to_string();
    assert!(text.contains("GeuseMaker did not create it"), "{text}");
}
