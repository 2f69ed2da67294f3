//! A dev-tier deploy, re-deploy and destroy against moto.

use base64::Engine;

use geusemaker::domain::StackStatus;
use geusemaker::domain::stage::StageStatus;

use super::Harness;

pub async fn tagged_group_ids(ec2: &aws_sdk_ec2::Client, stack: &str) -> Vec<String> {
    let r = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:Stack")
                .values(stack)
                .build(),
        )
        .send()
        .await
        .expect("describe groups");
    let mut ids: Vec<String> = r
        .security_groups()
        .iter()
        .filter_map(|g| g.group_id().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

pub async fn live_instances(ec2: &aws_sdk_ec2::Client, stack: &str) -> Vec<String> {
    let (instances, _) = live(ec2, stack, &["pending", "running"]).await;
    instances
}

/// The stack's image builders not terminated: none once a deploy is done.
pub async fn live_builders(ec2: &aws_sdk_ec2::Client, stack: &str) -> Vec<String> {
    let (_, builders) = live(ec2, stack, &["pending", "running", "stopping", "stopped"]).await;
    builders
}

/// The stack's instances in `states`: those that may run its services, and
/// its image builders, which run none.
async fn live(
    ec2: &aws_sdk_ec2::Client,
    stack: &str,
    states: &[&str],
) -> (Vec<String>, Vec<String>) {
    let r = ec2
        .describe_instances()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:Stack")
                .values(stack)
                .build(),
        )
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("instance-state-name")
                .set_values(Some(states.iter().map(|s| s.to_string()).collect()))
                .build(),
        )
        .send()
        .await
        .expect("describe instances");
    let builder = |i: &aws_sdk_ec2::types::Instance| {
        i.tags()
            .iter()
            .any(|t| t.key() == Some("geusemaker:role") && t.value() == Some("image-builder"))
    };
    let id = |i: &aws_sdk_ec2::types::Instance| i.instance_id().map(str::to_string);
    let all: Vec<_> = r
        .reservations()
        .iter()
        .flat_map(|x| x.instances())
        .collect();
    (
        all.iter()
            .filter(|i| !builder(i))
            .filter_map(|i| id(i))
            .collect(),
        all.iter()
            .filter(|i| builder(i))
            .filter_map(|i| id(i))
            .collect(),
    )
}

pub async fn file_systems(efs: &aws_sdk_efs::Client, stack: &str) -> Vec<String> {
    let r = efs
        .describe_file_systems()
        .creation_token(format!("geusemaker-{stack}"))
        .send()
        .await
        .expect("describe file systems");
    r.file_systems()
        .iter()
        .map(|f| f.file_system_id().to_string())
        .collect()
}

pub async fn profiles(iam: &aws_sdk_iam::Client, stack: &str) -> Vec<String> {
    let r = iam
        .list_instance_profiles()
        .send()
        .await
        .expect("list profiles");
    r.instance_profiles()
        .iter()
        .map(|p| p.instance_profile_name().to_string())
        .filter(|n| n.starts_with(&format!("{stack}-")))
        .collect()
}

async fn has_stack_tag(tags: &[aws_sdk_ec2::types::Tag], stack: &str) -> bool {
    tags.iter()
        .any(|t| t.key() == Some("Stack") && t.value() == Some(stack))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_deploy_records_every_id_and_every_resource_is_tagged() {
    let h = Harness::start().await;
    let state = h.deploy("s1").await;
    assert_eq!(state.status, StackStatus::Running);
    let sdk = h.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let efs = aws_sdk_efs::Client::new(&sdk);
    let iam = aws_sdk_iam::Client::new(&sdk);
    let ssm = aws_sdk_ssm::Client::new(&sdk);

    let instance_id = state.instance_id.clone().expect("instance id");
    let instance = ec2
        .describe_instances()
        .instance_ids(&instance_id)
        .send()
        .await
        .unwrap();
    let instance = instance.reservations()[0].instances()[0].clone();
    assert!(has_stack_tag(instance.tags(), "s1").await);
    assert_eq!(
        instance.instance_lifecycle().map(|l| l.as_str()),
        Some("spot")
    );
    assert!(state.public_ip.is_some() && state.private_ip.is_some() && state.n8n_url.is_some());

    let groups = tagged_group_ids(&ec2, "s1").await;
    let mut recorded = vec![
        state.security_group_id.clone().unwrap(),
        state.efs_security_group_id.clone().unwrap(),
    ];
    recorded.sort();
    assert_eq!(groups, recorded);

    let fs = efs
        .describe_file_systems()
        .file_system_id(state.efs_id.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    let fs = &fs.file_systems()[0];
    assert_eq!(fs.encrypted(), Some(true));
    assert!(
        fs.tags()
            .iter()
            .any(|t| t.key() == "Stack" && t.value() == "s1")
    );
    assert_eq!(fs.creation_token(), "geusemaker-s1");
    let mts = efs
        .describe_mount_targets()
        .file_system_id(fs.file_system_id())
        .send()
        .await
        .unwrap();
    assert_eq!(mts.mount_targets().len(), state.efs_mount_target_ids.len());
    assert_eq!(state.efs_mount_target_ids.len(), 2);

    let role = state.iam_role_name.clone().expect("role");
    let tags = iam.list_role_tags().role_name(&role).send().await.unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "Stack" && t.value() == "s1")
    );
    let attached = iam
        .list_attached_role_policies()
        .role_name(&role)
        .send()
        .await
        .unwrap();
    assert!(
        attached
            .attached_policies()
            .iter()
            .any(|p| p.policy_name() == Some("AmazonSSMManagedInstanceCore"))
    );
    assert_eq!(
        profiles(&iam, "s1").await,
        vec![state.iam_instance_profile_name.clone().unwrap()]
    );

    let params = ssm
        .get_parameters_by_path()
        .path("/geusemaker/s1/")
        .send()
        .await
        .unwrap();
    assert_eq!(params.parameters().len(), 5);
    assert!(
        params
            .parameters()
            .iter()
            .all(|p| p.r#type().map(|t| t.as_str()) == Some("SecureString"))
    );
    assert_eq!(state.secrets_path.as_deref(), Some("/geusemaker/s1/"));

    assert_eq!(state.services.len(), 5);
    assert!(
        state
            .services
            .iter()
            .all(|s| s.status == geusemaker::domain::state::ServiceStatus::Healthy)
    );
    assert!(state.cost.as_ref().unwrap().instance_start_time.is_some());
    assert!(state.account_id.is_some() && state.ami_id.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_running_deploy_creates_nothing_new() {
    let h = Harness::start().await;
    let first = h.deploy("again").await;
    let second = h.deploy("again").await;
    for (a, b, what) in [
        (&first.efs_id, &second.efs_id, "efs"),
        (&first.security_group_id, &second.security_group_id, "sg"),
        (&first.instance_id, &second.instance_id, "instance"),
        (
            &first.iam_instance_profile_name,
            &second.iam_instance_profile_name,
            "profile",
        ),
    ] {
        assert_eq!(a, b, "{what} changed");
    }
    let sdk = h.sdk().await;
    assert_eq!(
        file_systems(&aws_sdk_efs::Client::new(&sdk), "again")
            .await
            .len(),
        1
    );
    assert_eq!(
        tagged_group_ids(&aws_sdk_ec2::Client::new(&sdk), "again")
            .await
            .len(),
        2
    );
    assert_eq!(
        live_instances(&aws_sdk_ec2::Client::new(&sdk), "again")
            .await
            .len(),
        1
    );
    assert_eq!(
        profiles(&aws_sdk_iam::Client::new(&sdk), "again")
            .await
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_keeps_exactly_the_efs_and_delete_data_removes_it() {
    let h = Harness::start().await;
    let state = h.deploy("gone").await;
    let outcome = h.destroy("gone", false).await;
    let kept = outcome.kept.expect("kept data");
    assert_eq!(Some(kept.efs_id.clone()), state.efs_id);
    let after = outcome.state.expect("still listed");
    assert_eq!(after.status, StackStatus::Destroyed);
    assert!(
        after.instance_id.is_none()
            && after.security_group_id.is_none()
            && after.iam_role_name.is_none()
    );
    assert_eq!(after.efs_id, state.efs_id, "the EFS is remembered");

    let sdk = h.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let efs = aws_sdk_efs::Client::new(&sdk);
    let iam = aws_sdk_iam::Client::new(&sdk);
    assert!(
        live_instances(&ec2, "gone").await.is_empty(),
        "instance terminated"
    );
    assert_eq!(
        tagged_group_ids(&ec2, "gone").await,
        vec![state.efs_security_group_id.clone().unwrap()],
        "only the EFS group stays, with the EFS"
    );
    assert!(
        iam.get_role()
            .role_name(state.iam_role_name.as_deref().unwrap())
            .send()
            .await
            .is_err(),
        "role gone"
    );
    assert_eq!(file_systems(&efs, "gone").await, vec![kept.efs_id.clone()]);

    // Redeploying reuses the kept EFS and the same secrets.
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let secret = |ssm: aws_sdk_ssm::Client| async move {
        ssm.get_parameter()
            .name("/geusemaker/gone/n8n-encryption-key")
            .with_decryption(true)
            .send()
            .await
            .unwrap()
            .parameter()
            .unwrap()
            .value()
            .unwrap()
            .to_string()
    };
    let key_before = secret(ssm.clone()).await;
    let again = h.deploy("gone").await;
    assert_eq!(again.efs_id, state.efs_id);
    assert_eq!(
        secret(ssm.clone()).await,
        key_before,
        "the n8n key survives a redeploy"
    );

    let outcome = h.destroy("gone", true).await;
    assert!(outcome.state.is_none() && outcome.kept.is_none());
    assert!(file_systems(&efs, "gone").await.is_empty(), "EFS deleted");
    assert!(tagged_group_ids(&ec2, "gone").await.is_empty());
    assert!(
        ssm.get_parameter()
            .name("/geusemaker/gone/n8n-encryption-key")
            .send()
            .await
            .is_err(),
        "secrets deleted"
    );
    assert!(
        h.store.load(&"gone".parse().unwrap()).unwrap().is_none(),
        "state removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_open_to_the_world_imdsv2_is_required_and_no_secret_is_written() {
    let h = Harness::start().await;
    let state = h.deploy("safe").await;
    let sdk = h.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let ssm = aws_sdk_ssm::Client::new(&sdk);

    let groups = ec2
        .describe_security_groups()
        .group_ids(state.security_group_id.clone().unwrap())
        .group_ids(state.efs_security_group_id.clone().unwrap())
        .send()
        .await
        .unwrap();
    for group in groups.security_groups() {
        for rule in group.ip_permissions() {
            for range in rule.ip_ranges() {
                assert_ne!(range.cidr_ip(), Some("0.0.0.0/0"), "{group:?}");
                assert_eq!(range.cidr_ip(), Some(super::CALLER));
            }
            assert!(rule.ipv6_ranges().is_empty());
            assert_ne!(rule.from_port(), Some(22), "SSH stays closed");
        }
    }

    let id = state.instance_id.clone().unwrap();
    let described = ec2
        .describe_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();
    let instance = &described.reservations()[0].instances()[0];
    let metadata = instance.metadata_options().expect("metadata options");
    assert_eq!(metadata.http_tokens().map(|t| t.as_str()), Some("required"));
    assert_eq!(
        metadata.http_put_response_hop_limit(),
        Some(1),
        "no container reaches IMDS"
    );

    let secrets: Vec<String> = ssm
        .get_parameters_by_path()
        .path("/geusemaker/safe/")
        .with_decryption(true)
        .send()
        .await
        .unwrap()
        .parameters()
        .iter()
        .filter_map(|p| p.value().map(str::to_string))
        .collect();
    assert_eq!(secrets.len(), 5);
    let state_text = std::fs::read_to_string(h.home.path().join("deployments/safe.json")).unwrap();
    let user_data = ec2
        .describe_instance_attribute()
        .instance_id(&id)
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
        .send()
        .await
        .unwrap();
    let encoded = user_data
        .user_data()
        .and_then(|u| u.value())
        .expect("user data");
    let sent = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    // Gzipped when it is over EC2's 16 KB (cloud-init unpacks it).
    let mut script = String::new();
    if sent.starts_with(&[0x1f, 0x8b]) {
        use std::io::Read;
        flate2::read::GzDecoder::new(sent.as_slice())
            .read_to_string(&mut script)
            .unwrap();
    } else {
        script = String::from_utf8(sent).unwrap();
    }
    assert!(
        script.contains("/geusemaker/safe/"),
        "the script names where the secrets are"
    );
    let logs = std::fs::read_dir(h.home.path().join("logs"))
        .map(|d| {
            d.flatten()
                .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                .collect::<String>()
        })
        .unwrap_or_default();
    for secret in &secrets {
        assert!(
            !state_text.contains(secret),
            "a secret is in the state file"
        );
        assert!(!script.contains(secret), "a secret is in the user data");
        assert!(!logs.contains(secret), "a secret is in the logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_that_never_come_up_are_rolled_back_keeping_the_efs() {
    use std::time::Duration;

    use geusemaker::cloud::session::StoreSink;
    use geusemaker::domain::state::RollbackTrigger;

    let h = Harness::start().await;
    // Inside, Docker reports n8n's container exited, whatever is asked.
    h.moto.set_instance(serde_json::json!({
        "instance": "*", "services": {"n8n": {"status": "exited"}}
    }));
    let cloud = h.cloud(None).await;
    let mut ctx = h.context(cloud);
    ctx.timing.ready_timeout = Duration::from_millis(500);
    let (sink, _rx) = StoreSink::new(h.store.clone());
    let err = geusemaker::deploy::deploy(&ctx, &Harness::request("stuck"), Box::new(sink))
        .await
        .expect_err("the services never answer");
    let message = err.to_string();
    assert!(
        message.contains("rolled back") && message.contains("kept"),
        "{message}"
    );
    assert!(message.contains("n8n (container exited)"), "{message}");

    let state = h.store.load(&"stuck".parse().unwrap()).unwrap().unwrap();
    assert_eq!(state.status, StackStatus::Failed);
    assert!(state.instance_id.is_none());
    let record = &state.rollback_history[0];
    assert_eq!(record.trigger, RollbackTrigger::Timeout);
    assert!(record.success && record.efs_preserved);
    assert_eq!(record.resources_deleted.len(), 1);
    let sdk = h.sdk().await;
    assert!(
        live_instances(&aws_sdk_ec2::Client::new(&sdk), "stuck")
            .await
            .is_empty(),
        "instance terminated"
    );
    assert_eq!(
        file_systems(&aws_sdk_efs::Client::new(&sdk), "stuck").await,
        vec![state.efs_id.clone().unwrap()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_replaces_a_failing_instance_on_the_same_efs() {
    use geusemaker::health::policy::Policy;
    use geusemaker::monitor::watch::Watch;

    let h = Harness::start().await;
    let before = h.deploy("healer").await;
    let watch = Watch::new(
        h.context(h.cloud(None).await),
        "healer".parse().unwrap(),
        Policy::default(),
    );
    assert_eq!(watch.sweep().await.unwrap().verdict, "healthy");

    // n8n fails inside: Docker's healthcheck, read through SSM.
    h.moto.set_instance(serde_json::json!({
        "instance": "*", "services": {"n8n": {"unhealthy_reads": 3}}
    }));
    let mut acted = None;
    for _ in 0..3 {
        let report = watch.sweep().await.unwrap();
        if report.action.is_some() {
            acted = Some(report);
            break;
        }
    }
    let report = acted.expect("three failures roll back");
    assert!(
        report
            .action
            .as_deref()
            .unwrap()
            .contains("health_check_failed"),
        "{report:?}"
    );
    let after = h.store.load(&"healer".parse().unwrap()).unwrap().unwrap();
    assert_eq!(
        after.status,
        StackStatus::Running,
        "{:?}",
        after.rollback_history
    );
    assert_ne!(after.instance_id, before.instance_id);
    assert_eq!(after.efs_id, before.efs_id, "the same EFS");

    let sdk = h.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    assert_eq!(
        live_instances(&ec2, "healer").await,
        vec![after.instance_id.clone().unwrap()],
        "old one terminated"
    );
    let old = ec2
        .describe_instances()
        .instance_ids(before.instance_id.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    let state = old.reservations()[0].instances()[0]
        .state()
        .and_then(|s| s.name())
        .map(|n| n.as_str().to_string());
    assert_eq!(state.as_deref(), Some("terminated"));
    assert_eq!(
        after.rollback_history.last().unwrap().trigger,
        geusemaker::domain::state::RollbackTrigger::HealthCheckFailed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_healthy_inside_but_unreachable_from_here_is_never_rolled_back() {
    use geusemaker::health::policy::Policy;
    use geusemaker::monitor::watch::Watch;

    let h = Harness::start().await;
    let before = h.deploy("cutoff").await;
    let watch = Watch::new(
        h.context(h.cloud(None).await),
        "cutoff".parse().unwrap(),
        Policy::default(),
    );
    // From here, n8n fails (the outside path); inside, all five are healthy.
    h.fakes
        .n8n_failures
        .store(100, std::sync::atomic::Ordering::SeqCst);
    for _ in 0..5 {
        let report = watch.sweep().await.unwrap();
        assert_eq!(report.verdict, "unreachable", "{report:?}");
        assert!(report.action.is_none(), "{report:?}");
        assert!(
            report
                .notes
                .iter()
                .any(|n| n.starts_with("unreachable from here")),
            "{report:?}"
        );
        let outside = report.outside.expect("outside view");
        assert!(!outside.reachable);
    }
    let after = h.store.load(&"cutoff".parse().unwrap()).unwrap().unwrap();
    let instance = after.instance_id.clone().unwrap();
    let reads = h.moto.instance_reads()["reads"][&instance].as_u64();
    assert!(
        reads >= Some(5),
        "the inside view came from the instance: {reads:?}"
    );
    assert_eq!(after.instance_id, before.instance_id, "no rollback");
    assert!(after.rollback_history.is_empty());
    assert_eq!(after.status, StackStatus::Running);
    assert!(
        after.services.iter().all(|s| s.consecutive_failures == 0),
        "{:?}",
        after.services
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_healthy_inside_but_unreachable_from_here_keeps_its_instance() {
    use std::time::Duration;

    use geusemaker::cloud::session::StoreSink;

    let h = Harness::start().await;
    h.fakes
        .n8n_failures
        .store(1_000, std::sync::atomic::Ordering::SeqCst);
    let mut ctx = h.context(h.cloud(None).await);
    ctx.timing.ready_timeout = Duration::from_millis(500);
    let (sink, _rx) = StoreSink::new(h.store.clone());
    let err = geusemaker::deploy::deploy(&ctx, &Harness::request("far"), Box::new(sink))
        .await
        .expect_err("n8n never answers from here");
    let message = err.to_string();
    assert!(
        message.contains("healthy on the instance, but n8n is unreachable from here"),
        "{message}"
    );
    assert!(!message.contains("rolled back"), "{message}");
    let state = h.store.load(&"far".parse().unwrap()).unwrap().unwrap();
    assert!(state.rollback_history.is_empty());
    let sdk = h.sdk().await;
    assert_eq!(
        live_instances(&aws_sdk_ec2::Client::new(&sdk), "far").await,
        vec![state.instance_id.clone().unwrap()],
        "the healthy instance stays"
    );
    // The bake beside it was cut short with the deploy: its builder is
    // recorded, so the next deploy picks it up and destroy removes it.
    let mut image = state.operation.as_ref().unwrap().stages.iter();
    let image = image.find(|r| r.stage == geusemaker::domain::Stage::Image);
    assert_eq!(image.map(|r| r.status), Some(StageStatus::Skipped));
    assert!(state.image_builder.is_some() || !state.images.is_empty());
}
