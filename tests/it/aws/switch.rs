//! Prepare, then switch, against the strict emulator: an update and a
//! rollback launch the new instance beside the old one, which serves until
//! the new one is ready to start; then the old one drains and releases the
//! lease, and the new one takes it. Sampled throughout: never two writers.
//! A new one that never becomes healthy leaves the old one serving again.

use geusemaker::cloud::session::StoreSink;
use geusemaker::domain::state::RollbackTrigger;
use geusemaker::domain::switch::SwitchOutcome;
use geusemaker::domain::{DeploymentState, StackName, StackStatus, Tier};

use super::Harness;
use super::group::group;

/// (instance, lifecycle state) of the group's members, and its sizes.
async fn members(h: &Harness, stack: &str) -> (Vec<(String, String)>, (i32, i32), Vec<String>) {
    let g = group(h, &format!("{stack}-geusemaker"))
        .await
        .expect("the group");
    let members = g
        .instances()
        .iter()
        .map(|i| {
            (
                i.instance_id().unwrap_or_default().to_string(),
                i.lifecycle_state()
                    .map(|l| l.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    let suspended = g
        .suspended_processes()
        .iter()
        .filter_map(|p| p.process_name().map(str::to_string))
        .collect();
    let sizes = (
        g.max_size().unwrap_or(-1),
        g.desired_capacity().unwrap_or(-1),
    );
    (members, sizes, suspended)
}

/// The stack's lease events as (instance, event, why), in order.
fn lease_events(h: &Harness, stack: &str) -> Vec<(String, String, String)> {
    let lease = h.moto.lease();
    lease["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|e| e["stack"] == stack)
        .map(|e| {
            let field = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (field("instance"), field("event"), field("why"))
        })
        .collect()
}

fn id(state: &DeploymentState) -> String {
    state.instance_id.clone().expect("an instance")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_and_a_rollback_are_prepared_beside_the_old_instance_with_one_writer() {
    let h = Harness::start().await;
    let first = h
        .deploy_request(&Harness::request_for("sw", Tier::Dev), None)
        .await
        .expect("deploy");
    let old = id(&first);

    let mut update = Harness::request_for("sw", Tier::Dev);
    update.instance_type = "t3.large".into();
    let sampler = h.moto.lease_sampler("sw");
    let name = StackName::parse("sw").expect("name");
    let on_record = || h.store.load(&name).unwrap().unwrap();
    let before = on_record();
    let refused = h
        .deploy_request(&update, None)
        .await
        .expect_err("deploy changes nothing");
    assert!(
        refused
            .to_string()
            .contains("update sw --instance-type t3.large"),
        "{refused}"
    );
    assert_eq!(
        on_record(),
        before,
        "a refused deploy leaves the state as it was"
    );
    let updated = h.update_request(&update, None).await.expect("update");
    assert_eq!(updated.status, StackStatus::Running);
    assert_eq!(updated.instance_type(), Some("t3.large"));
    let cost = updated.cost.as_ref().expect("cost");
    assert_eq!(cost.instance_type.as_deref(), Some("t3.large"));
    // moto's spot history prices every type alike; on-demand tells them apart.
    assert!(
        cost.on_demand_price_per_hour > first.cost.as_ref().unwrap().on_demand_price_per_hour,
        "the new type's price: {cost:?}"
    );
    let writers = sampler.stop();
    let new = id(&updated);
    assert_ne!(new, old);
    assert_eq!(
        writers,
        [old.clone(), new.clone()],
        "one writer, then the other"
    );
    let switch = updated.switches.last().expect("the switch is recorded");
    assert_eq!(switch.outcome, SwitchOutcome::Switched, "{switch:?}");
    assert_eq!(
        (switch.from_instance.as_str(), switch.to_instance.as_deref()),
        (old.as_str(), Some(new.as_str()))
    );
    assert!(
        switch.ready_at.unwrap() <= switch.stopped_at.unwrap(),
        "ready before the stop"
    );
    assert!(switch.gap_secs().is_some_and(|g| g > 0.0), "{switch:?}");
    let events = lease_events(&h, "sw");
    let at = |who: &str, what: &str| events.iter().position(|e| e.0 == who && e.1 == what);
    let released = at(&old, "released").expect("the old one released the lease");
    assert_eq!(events[released].2, "drained for a switch");
    assert!(released < at(&new, "taken").expect("the new one took it"));
    let (now, sizes, suspended) = members(&h, "sw").await;
    assert_eq!(
        now,
        [(new.clone(), "InService".to_string())],
        "the old one is gone"
    );
    assert_eq!(sizes, (1, 1), "one of one again");
    assert!(suspended.is_empty(), "AZRebalance resumed: {suspended:?}");
    assert_eq!(
        updated.public_ip, first.public_ip,
        "the address moved with the lease"
    );

    // A rollback: a fresh instance of the last healthy version, switched to.
    let ctx = h.context(h.cloud(None).await);
    let (sink, _rx) = StoreSink::new(h.store.clone());
    let sampler = h.moto.lease_sampler("sw");
    let rolled = geusemaker::deploy::rollback(
        &ctx,
        &name,
        RollbackTrigger::Manual,
        "switch test",
        Box::new(sink),
    )
    .await
    .expect("rollback");
    let writers = sampler.stop();
    let third = id(&rolled);
    assert_eq!(writers, [new.clone(), third.clone()]);
    assert_eq!(rolled.switches.len(), 2);
    assert_eq!(rolled.switches[1].outcome, SwitchOutcome::Switched);
    assert_eq!(
        rolled.launch_template_version,
        updated.launch_template_version
    );
    let (now, sizes, _) = members(&h, "sw").await;
    assert_eq!(now, [(third, "InService".to_string())]);
    assert_eq!(sizes, (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_version_that_never_becomes_healthy_leaves_the_old_instance_serving_again() {
    let h = Harness::start().await;
    let request = Harness::request_for("fb", Tier::Dev);
    let first = h.deploy_request(&request, None).await.expect("deploy");
    let old = id(&first);
    // The old one stays as it is; every new one takes the lease, starts,
    // and never gets healthy.
    h.moto
        .set_instance(serde_json::json!({"instance": old, "boot": "complete"}));
    h.moto
        .set_instance(serde_json::json!({"instance": "*", "boot": "unhealthy"}));

    // Its launch hook times out after two minutes (the emulator's clock: a
    // minute would end it at the moment it boots).
    let mut update = request.clone();
    update.instance_type = "t3.large".into();
    update.options.rollback_timeout_minutes = Some(2);
    update.options.auto_rollback = Some(false);
    let sampler = h.moto.lease_sampler("fb");
    let failed = h.update_request(&update, None).await;
    let writers = sampler.stop();
    let error = failed.expect_err("the update fails").to_string();
    assert!(error.contains("reverted"), "{error}");
    assert!(
        error.contains("never became healthy") && error.contains(&format!("{old} serves again")),
        "{error}"
    );
    assert_eq!(writers.first(), Some(&old));
    assert_eq!(
        writers.last(),
        Some(&old),
        "the old one writes again: {writers:?}"
    );
    assert_eq!(
        writers.len(),
        3,
        "old, the new one briefly, old again: {writers:?}"
    );
    let events = lease_events(&h, "fb");
    assert!(
        events
            .iter()
            .any(|e| e.0 == old && e.1 == "taken" && e.2 == "resumed after a failed switch"),
        "{events:?}"
    );
    let lease = h.moto.lease();
    assert_eq!(
        lease["writers"]["fb"],
        serde_json::json!([old]),
        "{lease:#}"
    );
    let (now, sizes, suspended) = members(&h, "fb").await;
    assert_eq!(now, [(old.clone(), "InService".to_string())]);
    assert_eq!(sizes, (1, 1));
    assert!(suspended.is_empty());
    let g = group(&h, "fb-geusemaker").await.expect("group");
    let version = g
        .mixed_instances_policy()
        .and_then(|p| p.launch_template())
        .and_then(|t| t.launch_template_specification())
        .and_then(|s| s.version())
        .map(str::to_string);
    assert_eq!(
        version,
        first.launch_template_version.map(|v| v.to_string()),
        "the group launches the old version again"
    );
    let state = h
        .store
        .load(&StackName::parse("fb").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(state.instance_id.as_deref(), Some(old.as_str()));
    let switch = state.switches.last().expect("recorded");
    assert_eq!(switch.outcome, SwitchOutcome::FellBack, "{switch:?}");
    // Reverted: running as before, on the old type and price, and saying so.
    assert_eq!(state.status, StackStatus::Running);
    assert!(
        state
            .status_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("update_failed: ")),
        "{:?}",
        state.status_reason
    );
    let revert = state
        .rollback_history
        .last()
        .expect("the revert is recorded");
    assert_eq!(revert.trigger, RollbackTrigger::UpdateFailed);
    assert!(revert.success);
    assert_eq!(state.instance_type(), first.instance_type());
    assert_eq!(
        state.cost.as_ref().unwrap().spot_price_per_hour,
        first.cost.as_ref().unwrap().spot_price_per_hour
    );
    assert_eq!(
        state.config.as_ref().unwrap().instance_type,
        first.config.as_ref().unwrap().instance_type
    );
    assert_eq!(state.launch_template_version, first.launch_template_version);
    assert!(switch.gap_secs().is_some_and(|g| g > 0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_instance_its_launch_hook_gives_up_on_is_followed_by_its_replacement() {
    let h = Harness::start().await;
    let request = Harness::request_for("rp", Tier::Dev);
    let first = h.deploy_request(&request, None).await.expect("deploy");
    let old = id(&first);
    // The update's first launch never gets ready; its hook times out, the
    // group launches another, which boots as usual.
    h.moto
        .set_instance(serde_json::json!({"instance": "next", "boot": "hold"}));
    let mut update = request.clone();
    update.instance_type = "t3.large".into();
    update.options.rollback_timeout_minutes = Some(3);
    let sampler = h.moto.lease_sampler("rp");
    let updated = h
        .update_request(&update, None)
        .await
        .expect("the switch goes on with the replacement");
    let writers = sampler.stop();
    let new = id(&updated);
    assert_eq!(writers, [old.clone(), new.clone()]);
    let booted = h.moto.stages()["stages"].clone();
    let launched: Vec<&String> = booted
        .as_object()
        .expect("stages")
        .keys()
        .filter(|i| **i != old)
        .collect();
    assert_eq!(
        launched.len(),
        2,
        "the held one and its replacement: {booted}"
    );
    let switch = updated.switches.last().expect("recorded");
    assert_eq!(switch.outcome, SwitchOutcome::Switched, "{switch:?}");
    assert_eq!(switch.to_instance.as_deref(), Some(new.as_str()));
    let (now, sizes, _) = members(&h, "rp").await;
    assert_eq!(now, [(new, "InService".to_string())]);
    assert_eq!(sizes, (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_cut_short_after_any_call_finishes_its_switch_on_the_next_run() {
    use std::sync::atomic::Ordering;

    use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;

    use super::crash::{CRASH_TIME_SCALE, CrashAfter, around, assert_cut_short};
    use super::deploy::live_instances;

    let h = Harness::start_scaled(Some(CRASH_TIME_SCALE)).await;
    let types = ["t3.medium", "t3.large"];
    let request = |n: usize| {
        let mut r = Harness::request_for("cut", Tier::Dev);
        r.instance_type = types[n % 2].into();
        // The launch hook's timeout at this time scale: 15 minutes is 0.9 s
        // of real time, which a loaded machine can spend before the boot is
        // ready; 30 minutes is 1.8 s.
        r.options.rollback_timeout_minutes = Some(30);
        r
    };
    h.deploy_request(&request(0), None).await.expect("deploy");
    let counter = CrashAfter::new(usize::MAX);
    let calls = counter.calls.clone();
    let whole = counter.operations.clone();
    h.update_request(&request(1), Some(SharedInterceptor::new(counter)))
        .await
        .expect("a whole update");
    let total = calls.load(Ordering::SeqCst);
    eprintln!("an update with its switch makes {total} AWS calls");
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    let sampler = h.moto.lease_sampler("cut");
    for n in crash_points(total) {
        let started = std::time::Instant::now();
        let crash = CrashAfter::new(n);
        let made = crash.calls.clone();
        let cut = h
            .update_request(&request(n + 1), Some(SharedInterceptor::new(crash)))
            .await;
        assert_cut_short(&cut, n, made.load(Ordering::SeqCst), total);
        let state = h
            .update_request(&request(n + 1), None)
            .await
            .unwrap_or_else(|e| panic!("after call {n} ({}): {e}", around(&whole, n)));
        let ours = id(&state);
        assert_eq!(
            instance_type(&ec2, &ours).await,
            types[(n + 1) % 2],
            "after call {n}: the re-run serves what it was asked for"
        );
        let (now, sizes, suspended) = members(&h, "cut").await;
        assert_eq!(
            now,
            [(ours.clone(), "InService".to_string())],
            "after call {n}"
        );
        assert_eq!(sizes, (1, 1), "after call {n}");
        assert!(suspended.is_empty(), "after call {n}: {suspended:?}");
        assert_eq!(
            live_instances(&ec2, "cut").await,
            std::slice::from_ref(&ours),
            "after call {n}"
        );
        assert_eq!(
            h.moto.lease()["writers"]["cut"],
            serde_json::json!([ours]),
            "after call {n}"
        );
        eprintln!("call {n}: {:.1} s", started.elapsed().as_secs_f64());
    }
    sampler.stop();
}

async fn instance_type(ec2: &aws_sdk_ec2::Client, id: &str) -> String {
    let found = ec2
        .describe_instances()
        .instance_ids(id)
        .send()
        .await
        .expect("describe instances");
    let instance = found.reservations()[0].instances()[0].clone();
    instance
        .instance_type()
        .expect("a type")
        .as_str()
        .to_string()
}

/// Every call of the update, or those GEUSEMAKER_CRASH_AT names ("37" or
/// "30-40"), to look at one failure without the ten minutes before it.
fn crash_points(total: usize) -> std::ops::Range<usize> {
    let asked = std::env::var("GEUSEMAKER_CRASH_AT").unwrap_or_default();
    let mut ends = asked.split('-').map(|n| n.trim().parse::<usize>().ok());
    match (ends.next().flatten(), ends.next().flatten()) {
        (Some(from), Some(to)) => from..(to + 1).min(total),
        (Some(at), None) => at..(at + 1).min(total),
        _ => 1..total,
    }
}
