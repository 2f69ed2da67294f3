//! The instance in an Auto Scaling group of one, against the strict
//! emulator: what a deploy creates per tier, that a re-run creates nothing,
//! that AWS's own replacement of an interrupted instance is told by the next
//! `status` with no monitor running, and that destroy leaves nothing behind.

use aws_sdk_autoscaling::types::AutoScalingGroup;

use geusemaker::domain::Tier;

use super::Harness;
use super::cli::{DEV_KEYS, deploy, run};
use crate::support::Home;

pub(super) async fn group(h: &Harness, name: &str) -> Option<AutoScalingGroup> {
    let asg = aws_sdk_autoscaling::Client::new(&h.sdk().await);
    let found = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(name)
        .send()
        .await
        .expect("describe groups");
    found.auto_scaling_groups().first().cloned()
}

fn stack_filter(stack: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name("tag:Stack")
        .values(stack)
        .build()
}

async fn addresses(h: &Harness, stack: &str) -> Vec<aws_sdk_ec2::types::Address> {
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    let found = ec2
        .describe_addresses()
        .filters(stack_filter(stack))
        .send()
        .await
        .expect("describe addresses");
    found.addresses().to_vec()
}

/// The stack's launch templates and how many versions each has.
async fn templates(h: &Harness, stack: &str) -> Vec<(String, i64)> {
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    let found = ec2
        .describe_launch_templates()
        .filters(stack_filter(stack))
        .send()
        .await
        .expect("describe templates");
    found
        .launch_templates()
        .iter()
        .map(|t| {
            (
                t.launch_template_id().unwrap_or_default().to_string(),
                t.latest_version_number().unwrap_or(0),
            )
        })
        .collect()
}

async fn hooks(h: &Harness, name: &str) -> Vec<String> {
    let asg = aws_sdk_autoscaling::Client::new(&h.sdk().await);
    let found = asg
        .describe_lifecycle_hooks()
        .auto_scaling_group_name(name)
        .send()
        .await
        .expect("describe hooks");
    found
        .lifecycle_hooks()
        .iter()
        .filter(|h| h.lifecycle_transition() == Some("autoscaling:EC2_INSTANCE_LAUNCHING"))
        .filter_map(|h| h.lifecycle_hook_name().map(str::to_string))
        .collect()
}

/// A group of 1/1/1 in two zones or more, spot over three types or more,
/// capacity rebalancing off, with the launch hook; its one instance in service.
fn assert_group_of_one(g: &AutoScalingGroup, instance: &str) {
    assert_eq!(
        (g.min_size(), g.max_size(), g.desired_capacity()),
        (Some(1), Some(1), Some(1))
    );
    let subnets = g
        .vpc_zone_identifier()
        .unwrap_or_default()
        .split(',')
        .count();
    assert!(subnets >= 2, "subnets: {:?}", g.vpc_zone_identifier());
    let policy = g
        .mixed_instances_policy()
        .expect("a mixed-instances policy");
    let overrides = policy.launch_template().map(|t| t.overrides().len());
    assert!(overrides >= Some(3), "spot types: {overrides:?}");
    let share = policy
        .instances_distribution()
        .and_then(|d| d.on_demand_percentage_above_base_capacity());
    assert_eq!(share, Some(0), "all spot");
    assert_ne!(
        g.capacity_rebalance(),
        Some(true),
        "one writer: no rebalancing"
    );
    let members: Vec<(&str, &str)> = g
        .instances()
        .iter()
        .map(|i| {
            (
                i.instance_id().unwrap_or_default(),
                i.lifecycle_state().map(|l| l.as_str()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(members, [(instance, "InService")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_runs_in_a_group_of_one_with_its_own_address_and_destroy_leaves_nothing() {
    let h = Harness::start().await;
    let state = h.deploy("g1").await;
    let name = state
        .autoscaling_group_name
        .clone()
        .expect("group recorded");
    let instance = state.instance_id.clone().expect("instance");
    let g = group(&h, &name).await.expect("the group exists");
    assert_group_of_one(&g, &instance);
    assert_eq!(hooks(&h, &name).await, ["geusemaker-ready"]);
    assert!(g.target_group_arns().is_empty(), "dev has no load balancer");

    // The instance claimed the stack's address at boot; n8n's URL is it.
    let address = addresses(&h, "g1").await;
    assert_eq!(address.len(), 1, "one Elastic IP, tagged");
    assert_eq!(address[0].instance_id(), Some(instance.as_str()));
    assert_eq!(state.public_ip.as_deref(), address[0].public_ip());
    let ip = address[0].public_ip().unwrap_or_default();
    assert_eq!(state.n8n_url, Some(format!("http://{ip}:5678")));
    let made = templates(&h, "g1").await;
    assert_eq!(made.len(), 1);
    assert_eq!(Some(made[0].1), state.launch_template_version);

    // A re-run creates nothing: the same version, instance and address.
    let again = h.deploy("g1").await;
    assert_eq!(again.instance_id, state.instance_id);
    assert_eq!(templates(&h, "g1").await, made, "no new version");
    assert_eq!(addresses(&h, "g1").await.len(), 1);

    h.destroy("g1", false).await;
    assert!(group(&h, &name).await.is_none(), "the group is gone");
    assert!(templates(&h, "g1").await.is_empty(), "the template is gone");
    assert!(
        addresses(&h, "g1").await.is_empty(),
        "the address is released"
    );
    assert!(
        super::deploy::live_instances(&aws_sdk_ec2::Client::new(&h.sdk().await), "g1")
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automation_and_gpu_groups_register_with_their_target_group() {
    let h = Harness::start().await;
    for (stack, tier) in [("g2", Tier::Automation), ("g3", Tier::Gpu)] {
        let state = h.deploy_tier(stack, tier, None).await.expect("deploy");
        let name = state.autoscaling_group_name.clone().expect("group");
        let instance = state.instance_id.clone().expect("instance");
        let g = group(&h, &name).await.expect("group");
        assert_group_of_one(&g, &instance);
        let tg = state.target_group_arn.clone().expect("target group");
        assert_eq!(g.target_group_arns(), std::slice::from_ref(&tg), "{tier}");
        assert_eq!(g.health_check_type(), Some("ELB"));
        // The group registered it once it was in service; no one else did.
        let elb = aws_sdk_elasticloadbalancingv2::Client::new(&h.sdk().await);
        let health = elb
            .describe_target_health()
            .target_group_arn(&tg)
            .send()
            .await
            .expect("target health");
        let targets: Vec<&str> = health
            .target_health_descriptions()
            .iter()
            .filter_map(|d| d.target().and_then(|t| t.id()))
            .collect();
        assert_eq!(targets, [instance.as_str()], "{tier}");
        assert!(
            addresses(&h, stack).await.is_empty(),
            "no address behind a load balancer"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_instance_is_replaced_with_no_monitor_and_status_tells_the_timeline() {
    let h = Harness::start().await;
    let home = Home::new();
    let deployed = deploy(&h, &home, "g4", "dev", &[DEV_KEYS]);
    let old = deployed["instance_id"]
        .as_str()
        .expect("instance")
        .to_string();
    let address = deployed["public_ip"].as_str().expect("address").to_string();
    let answer = h.moto.interrupt(&old);
    assert_eq!(answer["state"], "shutting-down", "{answer}");

    // Nothing of ours runs: only the emulator's clock moves, and each
    // `status` reads what the group did meanwhile.
    let mut status = serde_json::Value::Null;
    for _ in 0..40 {
        h.moto.advance(0.5);
        // One writer: at no sample do two instances run the services.
        let lease = h.moto.lease();
        let writers = lease["writers"]["g4"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(writers.len() <= 1, "two writers: {lease:#}");
        let out = run(&h, &home, &["status", "g4", "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        status = serde_json::from_slice(&out.stdout).expect("status json");
        if status["recoveries"][0]["in_service_at"].is_string() {
            break;
        }
    }
    let recovery = &status["recoveries"][0];
    assert_eq!(recovery["lost_instance"], old.as_str(), "{status:#}");
    assert_eq!(recovery["signal"], "spot interruption");
    let new = recovery["replaced_by"].as_str().expect("a replacement");
    assert_ne!(new, old);
    assert!(
        recovery["down_secs"].as_f64().is_some_and(|s| s > 0.0),
        "{recovery}"
    );
    // The lost instance's drain, read on the new one from the markers on EFS.
    let drain = &recovery["drain"];
    assert_eq!(drain["read"], true, "{recovery}");
    for step in ["notice_at", "stopped_at", "drained_at", "lease_at"] {
        assert!(drain[step].is_string(), "{step}: {recovery}");
    }
    assert_eq!(status["instance_id"], new, "the state follows the group");
    let lease = h.moto.lease();
    assert_eq!(lease["stacks"]["g4"]["holder"], new, "{lease:#}");
    let events: Vec<(String, String)> = lease["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|e| e["stack"] == "g4")
        .map(|e| {
            let field = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (field("instance"), field("event"))
        })
        .collect();
    let handed = |who: &str, what: &str| events.iter().position(|e| e.0 == who && e.1 == what);
    let took = handed(&old, "taken").expect("the first instance took the lease");
    let let_go = handed(&old, "released")
        .or(handed(&old, "expired"))
        .expect("the old one let go");
    let taken = handed(new, "taken").expect("the new one took it");
    assert!(
        took < let_go && let_go < taken,
        "the old one lets go before the new one takes it: {events:?}"
    );
    assert_eq!(
        status["public_ip"],
        address.as_str(),
        "the address survived"
    );
    let text = run(&h, &home, &["status", "g4"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!("spot interruption of {old}"))
            && text.contains("in service: down for"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_spot_capacity_the_monitor_moves_the_group_to_on_demand_when_allowed() {
    use geusemaker::health::policy::Policy;
    use geusemaker::monitor::watch::Watch;

    let h = Harness::start().await;
    let mut request = Harness::request_for("od", Tier::Dev);
    request.options.fallback_on_demand = true;
    let before = h.deploy_request(&request, None).await.expect("deploy");
    let old = before.instance_id.clone().expect("instance");
    assert_eq!(h.moto.spot_capacity(false)["available"], false);
    assert_eq!(h.moto.interrupt(&old)["state"], "shutting-down");
    let watch = Watch::new(
        h.context(h.cloud(None).await),
        "od".parse().unwrap(),
        Policy::default(),
    );
    let mut actions = Vec::new();
    let mut after = before.clone();
    for _ in 0..60 {
        h.moto.advance(0.5);
        let report = watch.sweep().await.expect("sweep");
        actions.extend(report.action);
        after = h.store.load(&"od".parse().unwrap()).unwrap().unwrap();
        if after.instance_id.as_deref() != Some(old.as_str())
            && after.recoveries.last().is_some_and(|r| r.finished())
        {
            break;
        }
    }
    assert!(
        actions.iter().any(|a| a.contains("launches on-demand")),
        "{actions:?}"
    );
    let new = after.instance_id.clone().expect("a replacement");
    assert_ne!(new, old, "{actions:?}");
    let g = group(&h, "od-geusemaker").await.expect("group");
    let share = g
        .mixed_instances_policy()
        .and_then(|p| p.instances_distribution())
        .and_then(|d| d.on_demand_percentage_above_base_capacity());
    assert_eq!(share, Some(100));
    let overrides = g
        .mixed_instances_policy()
        .and_then(|p| p.launch_template())
        .map(|t| t.overrides().len());
    assert!(overrides >= Some(3), "the same types: {overrides:?}");
    assert!(!after.is_spot(), "the state costs it on-demand");
}
