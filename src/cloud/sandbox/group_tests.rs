//! The sandbox's group on its timeline: launches held by the hook, losses
//! noticed and replaced with no monitor running, scale-in and deletion.

use super::*;
use crate::cloud::group::{IN_SERVICE, PENDING_WAIT};
use crate::cloud::sandbox::world::{SpotNotice, Subnet, Vpc};
use crate::domain::recovery::recoveries;

const EIP: &str = "203.0.113.150";

pub(super) fn t(secs: f64) -> Timestamp {
    "2026-12-02T02:00:00Z"
        .parse::<Timestamp>()
        .unwrap()
        .plus_secs(secs)
}

/// A stack's world with its network and template (version 1: spot
/// t3.medium), the group not made yet.
pub(super) fn world(dev: bool) -> World {
    let mut w = World::new(1.0);
    let subnet = |id: &str, zone: &str| Subnet {
        id: id.into(),
        zone: zone.into(),
    };
    w.vpc = Some(Vpc {
        id: "vpc-0123".into(),
        subnets: vec![
            subnet("subnet-0a", "us-east-1a"),
            subnet("subnet-0b", "us-east-1b"),
        ],
    });
    if dev {
        w.address = Some(ElasticIp {
            allocation_id: "eipalloc-0123456789abcdef0".into(),
            public_ip: EIP.into(),
        });
    }
    let made = template_version(&mut w, "demo", "t3.medium", true, t(0.0), "lt-0aa".into());
    assert_eq!(made, ("lt-0aa".to_string(), 1));
    w
}

fn deploy(w: &mut World, at: Timestamp) -> Instance {
    match ensure_group(w, "demo", 1, at, "i-0first".into()) {
        Ensured::Instance(i) => *i,
        other => panic!("no instance: {other:?}"),
    }
}

fn interrupt(w: &mut World, at: f64) {
    w.spot_notice = Some(SpotNotice {
        instance_id: w.group.as_ref().unwrap().current.clone().unwrap(),
        at: t(at),
        terminate_at: t(at + timing::lat().spot_notice),
    });
}

fn settled(w: &World, at: Timestamp) -> World {
    let mut w = w.clone();
    w.settle(at);
    w
}

/// Boot to InService after a launch: pending, then the hook's markers.
fn boot() -> f64 {
    timing::lat().instance_pending + timing::hook_completed_after(false)
}

#[test]
fn the_first_launch_waits_in_pending_wait_then_goes_in_service() {
    let mut w = world(false);
    let first = deploy(&mut w, t(0.0));
    assert_eq!(first.zone.as_deref(), Some("us-east-1a"));
    assert_eq!(w.group.as_ref().unwrap().name, "demo-geusemaker");
    let booting = view(&settled(&w, t(5.0)), t(5.0)).unwrap();
    assert_eq!(booting.desired, 1);
    assert_eq!(booting.instances[0].lifecycle_state, PENDING_WAIT);
    assert!(booting.serving().is_none() && booting.joining().is_some());
    let launch = &booting.activities[0];
    assert_eq!(
        (launch.status.as_str(), launch.ended_at),
        ("InProgress", None)
    );
    assert_eq!(
        launch.cause,
        "At 2026-12-02T02:00:00Z an instance was started in response to a difference \
         between desired and actual capacity, increasing the capacity from 0 to 1."
    );

    let ready = view(&settled(&w, t(boot())), t(boot())).unwrap();
    assert_eq!(ready.serving().unwrap().instance_id, "i-0first");
    assert_eq!(ready.instances[0].lifecycle_state, IN_SERVICE);
    assert_eq!(ready.activities[0].status, "Successful");
    assert_eq!(ready.activities[0].ended_at, Some(t(12.5)));
    assert!(
        recoveries(&ready.activities).is_empty(),
        "a first launch recovers nothing"
    );
}

#[test]
fn a_deploy_again_with_nothing_changed_makes_nothing_new() {
    let mut w = world(false);
    let first = deploy(&mut w, t(0.0));
    w.settle(t(60.0));
    let again = template_version(&mut w, "demo", "t3.medium", true, t(60.0), "lt-0bb".into());
    assert_eq!(again, ("lt-0aa".to_string(), 1));
    assert_eq!(
        ensure_group(&mut w, "demo", 1, t(60.0), "i-0other".into()),
        Ensured::Instance(Box::new(first))
    );
    assert_eq!(w.instances.len(), 1);
    assert_eq!(w.group.as_ref().unwrap().activities.len(), 1);
}

#[test]
fn a_spot_interruption_with_no_monitor_is_replaced_in_the_other_zone() {
    let mut w = world(false);
    deploy(&mut w, t(0.0));
    interrupt(&mut w, 100.0);
    let gone = 100.0 + timing::lat().spot_notice; // 120
    let noticed = gone + timing::lat().group_notices_loss; // 150
    let launched = noticed + timing::lat().group_launches_replacement; // 152
    let in_service = launched + boot(); // 164.5

    // Terminated, not noticed yet: still InService to the group, unhealthy.
    let unnoticed = view(&settled(&w, t(gone + 1.0)), t(gone + 1.0)).unwrap();
    assert_eq!(unnoticed.instances[0].lifecycle_state, IN_SERVICE);
    assert!(!unnoticed.instances[0].healthy && unnoticed.serving().is_none());
    assert_eq!(unnoticed.activities.len(), 1);

    let later = settled(&w, t(200.0));
    let v = view(&later, t(200.0)).unwrap();
    assert_eq!(v.instances.len(), 1, "the lost one has left the group");
    let new = v.serving().expect("a replacement in service");
    assert_ne!(new.instance_id, "i-0first");
    assert_eq!(new.zone.as_deref(), Some("us-east-1b"), "the other zone");
    assert_eq!(new.launched_at, Some(t(launched)));
    let lost = &v.activities[1];
    assert_eq!(lost.started_at, t(noticed));
    assert_eq!(
        lost.cause,
        "At 2026-12-02T02:02:30Z an instance was taken out of service in response to an \
         EC2 health check indicating it has been terminated or stopped."
    );
    assert_eq!(
        lost.instance_reason.as_deref(),
        Some("Server.SpotInstanceTermination: Spot instance termination")
    );
    assert_eq!(v.activities[0].ended_at, Some(t(in_service)));

    let found = recoveries(&v.activities);
    assert_eq!(found.len(), 1);
    let r = &found[0];
    assert_eq!(r.signal, "spot interruption");
    assert_eq!(r.lost_instance, "i-0first");
    assert_eq!(r.replaced_by.as_deref(), Some(new.instance_id.as_str()));
    assert_eq!(r.zone.as_deref(), Some("us-east-1b"));
    assert!(r.finished());
    assert_eq!(r.down_secs, Some(in_service - noticed));

    // Whoever settles, whenever: the same world.
    let mut stepwise = w.clone();
    for at in [110.0, 121.0, 150.0, 151.0, 152.0, 160.0, 200.0] {
        stepwise.settle(t(at));
    }
    assert_eq!(stepwise, later);
    assert_eq!(
        settled(&later, t(200.0)),
        later,
        "settling again changes nothing"
    );
}

#[test]
fn a_dev_replacement_keeps_the_elastic_ip() {
    let mut w = world(true);
    let first = deploy(&mut w, t(0.0));
    assert_eq!(first.public_ip, EIP);
    interrupt(&mut w, 50.0);
    w.settle(t(300.0));
    let v = view(&w, t(300.0)).unwrap();
    let new = v.serving().unwrap();
    assert_ne!(new.instance_id, first.id);
    assert_eq!(new.public_ip.as_deref(), Some(EIP));
    assert_ne!(new.private_ip.as_deref(), Some(first.private_ip.as_str()));
}

#[test]
fn an_unhealthy_instance_is_terminated_before_its_replacement_launches() {
    let mut w = world(false);
    deploy(&mut w, t(0.0));
    w.instances[0].unhealthy_at = Some(t(40.0));
    w.settle(t(200.0));
    let noticed = 40.0 + timing::lat().group_notices_loss;
    let gone = noticed + timing::lat().terminate_instance;
    assert_eq!(w.instances[0].terminated_at, Some(t(gone)));
    assert_eq!(
        w.instances[1].launched_at,
        t(gone + timing::lat().group_launches_replacement),
        "one writer on the EFS at a time"
    );
    let v = view(&w, t(200.0)).unwrap();
    assert!(
        v.activities[1]
            .cause
            .ends_with("in response to a user health-check.")
    );
    let found = recoveries(&v.activities);
    assert_eq!(found[0].signal, "marked unhealthy");
    assert!(found[0].finished());
}

#[test]
fn terminate_sets_the_group_to_zero_and_records_no_loss() {
    let mut w = world(true);
    deploy(&mut w, t(0.0));
    w.settle(t(30.0));
    let end = t(30.0 + timing::lat().terminate_instance);
    assert_eq!(scale_in(&mut w, t(30.0), end), Some("i-0first".into()));
    let going = view(&w, t(31.0)).unwrap();
    assert_eq!(going.desired, 0);
    assert_eq!(going.instances[0].lifecycle_state, "Terminating");
    assert_eq!(
        going.activities[0].cause,
        "At 2026-12-02T02:00:30Z a user request update of AutoScalingGroup constraints to \
         min: 0, max: 0, desired: 0 changing the desired capacity from 1 to 0."
    );
    w.settle(t(500.0));
    let v = view(&w, t(500.0)).unwrap();
    assert!(v.instances.is_empty(), "nothing launched at 0");
    assert_eq!(v.activities[0].status, "Successful");
    assert!(recoveries(&v.activities).is_empty());
    assert!(
        w.address.is_some() && w.template.is_some(),
        "kept for a deploy"
    );

    // Back to 1: a new instance, with the same address.
    match ensure_group(&mut w, "demo", 1, t(500.0), "i-0again".into()) {
        Ensured::Instance(i) => {
            assert_eq!((i.id.as_str(), i.public_ip.as_str()), ("i-0again", EIP))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn deleting_the_group_leaves_an_empty_world() {
    let mut w = world(true);
    deploy(&mut w, t(0.0));
    scale_in(&mut w, t(30.0), t(32.5));
    delete(&mut w, t(40.0));
    w.vpc = None; // the network stage's, deleted last
    assert!(w.is_empty(), "{w:?}");
    assert!(view(&w, t(40.0)).is_none());
}

#[test]
fn a_new_instance_type_is_a_new_version_prepared_beside_the_old_one() {
    let mut w = world(false);
    let first = deploy(&mut w, t(0.0));
    w.settle(t(60.0));
    let (_, version) =
        template_version(&mut w, "demo", "g4dn.xlarge", true, t(60.0), "lt-0x".into());
    assert_eq!(version, 2);
    let Ensured::Switched(new, plan) = ensure_group(&mut w, "demo", 2, t(60.0), "i-0x".into())
    else {
        panic!("the new version launches beside the old one");
    };
    assert_eq!(
        (new.instance_type.as_str(), new.template_version),
        ("g4dn.xlarge", Some(2))
    );
    assert_eq!(plan.from_instance, first.id);
    let (ready, stopped, serving) = (
        plan.ready_at.unwrap(),
        plan.stopped_at.unwrap(),
        plan.serving_at.unwrap(),
    );
    assert!(t(60.0) < ready && ready < stopped && stopped < serving);
    let v = view(&w, ready).unwrap();
    let state = |id: &str| {
        v.instances
            .iter()
            .find(|i| i.instance_id == id)
            .map(|i| i.lifecycle_state.clone())
    };
    assert_eq!(
        state(&first.id).as_deref(),
        Some("InService"),
        "it serves meanwhile"
    );
    assert_eq!(state(&new.id).as_deref(), Some("Pending:Wait"));
    let after = view(
        &w,
        serving.plus_secs(timing::lat().terminate_instance + 0.1),
    )
    .unwrap();
    assert_eq!(after.instances.len(), 1, "{after:?}");
    assert_eq!(after.instances[0].instance_id, new.id);
    assert!(
        recoveries(&after.activities).is_empty(),
        "a switch asked for is no loss"
    );
    // Deployed again: nothing more to switch.
    match ensure_group(&mut w, "demo", 2, serving, "i-0z".into()) {
        Ensured::Instance(i) => assert_eq!(i.id, new.id),
        other => panic!("{other:?}"),
    }
}

#[test]
fn settling_twice_at_the_same_time_changes_nothing() {
    let mut w = world(true);
    deploy(&mut w, t(0.0));
    interrupt(&mut w, 10.0);
    for at in [5.0, 31.0, 61.0, 63.0, 90.0] {
        let once = settled(&w, t(at));
        assert_eq!(settled(&once, t(at)), once, "at {at}");
        w = once;
    }
}
