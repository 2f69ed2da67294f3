//! A stack deployed by the previous version runs a bare instance, whose
//! boot took no writer lease. Its next deploy moves it into a group by
//! prepare-then-switch: the bare one holds the lease for itself and serves
//! on while the group's instance boots beside it, then drains and lets go.
//! Sampled throughout: never two writers. When SSM cannot reach it, it
//! stops first. The EFS and the secrets are the same after.

use aws_sdk_ec2::types::{
    IamInstanceProfileSpecification, InstanceStateName, ResourceType, Tag, TagSpecification,
};

use geusemaker::domain::switch::SwitchOutcome;
use geusemaker::domain::{DeploymentState, StackName, Tier};

use super::Harness;
use super::group::group;

/// Deploy `stack`, then make it what the previous version left: the group,
/// its template and the address gone, a bare instance of the stack's own
/// (launched by RunInstances, serving with no lease), recorded in the state.
async fn previous_version(h: &Harness, stack: &str) -> DeploymentState {
    let first = h
        .deploy_request(&Harness::request_for(stack, Tier::Dev), None)
        .await
        .expect("deploy");
    let sdk = h.sdk().await;
    let asg = aws_sdk_autoscaling::Client::new(&sdk);
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let group_name = first.autoscaling_group_name.clone().expect("a group");
    asg.delete_auto_scaling_group()
        .auto_scaling_group_name(&group_name)
        .force_delete(true)
        .send()
        .await
        .expect("delete the group");
    if let Some(template) = &first.launch_template_id {
        ec2.delete_launch_template()
            .launch_template_id(template)
            .send()
            .await
            .expect("delete the template");
    }
    if let Some(allocation) = &first.elastic_ip_allocation_id {
        let _ = ec2.release_address().allocation_id(allocation).send().await;
    }
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    let launched = ec2
        .run_instances()
        .image_id(first.ami_id.clone().expect("an AMI"))
        .instance_type("t3.medium".into())
        .min_count(1)
        .max_count(1)
        .subnet_id(first.subnet_ids[0].clone())
        .security_group_ids(first.security_group_id.clone().expect("a group"))
        .iam_instance_profile(
            IamInstanceProfileSpecification::builder()
                .name(first.iam_instance_profile_name.clone().expect("a profile"))
                .build(),
        )
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .tags(tag("Stack", stack))
                .tags(tag("geusemaker:managed", "true"))
                .tags(tag("Name", &format!("{stack}-ai-stack")))
                .build(),
        )
        .send()
        .await
        .expect("the bare instance");
    let bare = launched.instances()[0]
        .instance_id()
        .expect("an id")
        .to_string();
    // It has run for a while: running, its agent online, and the lock of
    // the group's instance (which the previous version never had) gone.
    while !h.moto.lease()["stacks"][stack]["holder"].is_null() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    while state_of(&ec2, &bare).await != Some(InstanceStateName::Running) {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    h.moto
        .set_instance(serde_json::json!({"instance": bare, "bare": true}));
    let mut state = first.clone();
    state.instance_id = Some(bare);
    state.autoscaling_group_name = None;
    state.launch_template_id = None;
    state.launch_template_version = None;
    state.elastic_ip_allocation_id = None;
    state.switches.clear();
    h.store.save(&state).expect("the previous version's state");
    state
}

fn writers_now(h: &Harness, stack: &str) -> serde_json::Value {
    h.moto.lease()["writers"][stack].clone()
}

async fn state_of(ec2: &aws_sdk_ec2::Client, id: &str) -> Option<InstanceStateName> {
    ec2.describe_instances()
        .instance_ids(id)
        .send()
        .await
        .ok()?
        .reservations()
        .first()?
        .instances()
        .first()?
        .state()?
        .name()
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_instance_moves_into_its_group_by_prepare_then_switch_with_one_writer() {
    let h = Harness::start().await;
    let before = previous_version(&h, "mg").await;
    let bare = before.instance_id.clone().expect("bare");
    assert_eq!(
        writers_now(&h, "mg"),
        serde_json::json!([bare]),
        "it serves"
    );

    let sampler = h.moto.lease_sampler("mg");
    let after = h
        .deploy_request(&Harness::request_for("mg", Tier::Dev), None)
        .await
        .expect("the deploy that migrates");
    let writers = sampler.stop();
    let new = after.instance_id.clone().expect("an instance");
    assert_ne!(new, bare);
    assert_eq!(writers, [bare.clone(), new.clone()], "one, then the other");
    let switch = after.switches.last().expect("the move is recorded");
    assert_eq!(switch.outcome, SwitchOutcome::Switched, "{switch:?}");
    assert_eq!(switch.from_instance, bare);
    assert!(
        switch.ready_at.unwrap() <= switch.stopped_at.unwrap(),
        "ready before the bare one stopped: {switch:?}"
    );

    let history = h.moto.lease()["history"].clone();
    let events: Vec<(String, String)> = history
        .as_array()
        .expect("history")
        .iter()
        .filter(|e| e["stack"] == "mg")
        .map(|e| {
            let field = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (field("instance"), field("event"))
        })
        .collect();
    let at = |who: &str, what: &str| {
        events
            .iter()
            .position(|e| e.0 == who && e.1 == what)
            .unwrap_or_else(|| panic!("no {what} by {who}: {events:?}"))
    };
    assert!(at(&bare, "taken") < at(&bare, "released"));
    assert!(at(&bare, "released") < at(&new, "taken"));

    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    assert_eq!(
        state_of(&ec2, &bare).await,
        Some(InstanceStateName::Terminated)
    );
    let g = group(&h, "mg-geusemaker").await.expect("the group");
    let members: Vec<_> = g
        .instances()
        .iter()
        .filter_map(|m| m.instance_id())
        .collect();
    assert_eq!(members, [new.as_str()]);
    assert_eq!(after.efs_id, before.efs_id, "the same EFS");
    assert_eq!(after.secrets_path, before.secrets_path, "the same secrets");
    assert!(after.autoscaling_group_name.is_some());
    let saved = h
        .store
        .load(&StackName::parse("mg").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(saved.instance_id.as_deref(), Some(new.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_instance_ssm_cannot_reach_stops_before_its_group_starts() {
    let h = Harness::start().await;
    let before = previous_version(&h, "mo").await;
    let bare = before.instance_id.clone().expect("bare");
    h.moto
        .set_instance(serde_json::json!({"instance": bare, "ssm": "offline"}));
    let sampler = h.moto.lease_sampler("mo");
    let after = h
        .deploy_request(&Harness::request_for("mo", Tier::Dev), None)
        .await
        .expect("the deploy that migrates");
    let writers = sampler.stop();
    let new = after.instance_id.clone().expect("an instance");
    assert_eq!(writers, [bare.clone(), new.clone()]);
    assert!(
        after.switches.is_empty(),
        "no switch: it stopped first: {:?}",
        after.switches
    );
    assert_eq!(after.efs_id, before.efs_id);
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    assert_eq!(
        state_of(&ec2, &bare).await,
        Some(InstanceStateName::Terminated)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_instance_whose_group_instance_never_gets_healthy_serves_again() {
    let h = Harness::start().await;
    let before = previous_version(&h, "mf").await;
    let bare = before.instance_id.clone().expect("bare");
    // The group's first instance takes the lease, starts, never gets
    // healthy; its hook times out after two minutes (the emulator's clock:
    // a minute would end it at the moment it boots).
    h.moto
        .set_instance(serde_json::json!({"instance": "next", "boot": "unhealthy"}));
    let mut request = Harness::request_for("mf", Tier::Dev);
    request.options.rollback_timeout_minutes = Some(2);
    request.options.auto_rollback = Some(false);
    let sampler = h.moto.lease_sampler("mf");
    let failed = h.deploy_request(&request, None).await;
    let writers = sampler.stop();
    let error = failed.expect_err("the move fails").to_string();
    assert!(
        error.contains("never became healthy") && error.contains(&format!("{bare} serves again")),
        "{error}"
    );
    assert_eq!(
        writers.len(),
        3,
        "bare, the new one briefly, bare again: {writers:?}"
    );
    assert_eq!(
        (writers.first(), writers.last()),
        (Some(&bare), Some(&bare))
    );
    assert_eq!(writers_now(&h, "mf"), serde_json::json!([bare]));
    let g = group(&h, "mf-geusemaker").await.expect("the group");
    assert_eq!(
        g.desired_capacity(),
        Some(0),
        "the group waits for the next deploy"
    );
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    assert_eq!(
        state_of(&ec2, &bare).await,
        Some(InstanceStateName::Running)
    );
    let saved = h
        .store
        .load(&StackName::parse("mf").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(saved.instance_id.as_deref(), Some(bare.as_str()));
    let switch = saved.switches.last().expect("recorded");
    assert_eq!(switch.outcome, SwitchOutcome::FellBack, "{switch:?}");
}
