//! One writer in the sandbox: the writer lease, sampled through a drained
//! spot replacement, a hard loss, a migration from a bare instance, and the
//! switches of an update and a rollback.

use super::tests::t;
use super::*;
use crate::cloud::sandbox::world::SpotNotice;
use crate::domain::switch::SwitchOutcome;

fn world() -> World {
    super::tests::world(false)
}

fn deploy(w: &mut World, at: f64) -> Instance {
    match ensure_group(w, "demo", 1, t(at), "i-0first".into()) {
        Ensured::Instance(i) => *i,
        other => panic!("no instance: {other:?}"),
    }
}

/// Settle at every 0.1 s from `from` to `to`, asserting at each sample that
/// at most one instance runs the services; returns who wrote, in order.
fn sample(w: &mut World, from: f64, to: f64) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let steps = ((to - from) * 10.0).round() as usize;
    for step in 0..=steps {
        let at = t(from + step as f64 / 10.0);
        w.settle(at);
        let writers = writers_at(w, at);
        assert!(writers.len() <= 1, "two writers at {at}: {writers:?}");
        if let Some(id) = writers.first()
            && seen.last() != Some(id)
        {
            seen.push(id.clone());
        }
    }
    seen
}

fn drain_notice(w: &mut World, at: f64) {
    let id = w.group.as_ref().unwrap().current.clone().unwrap();
    let instance = w.instances.iter_mut().find(|i| i.id == id).unwrap();
    instance.drain_from = Some(t(at));
    instance.unhealthy_at = Some(t(at + timing::drain_total()));
    w.spot_notice = Some(SpotNotice {
        instance_id: id,
        at: t(at),
        terminate_at: t(at + timing::lat().spot_notice),
    });
}

#[test]
fn a_drained_spot_instance_hands_the_lease_over_and_never_shares_it() {
    let mut w = world();
    let first = deploy(&mut w, 0.0);
    drain_notice(&mut w, 100.0);
    let writers = sample(&mut w, 0.0, 200.0);
    assert_eq!(writers.len(), 2, "{writers:?}");
    assert_eq!(writers[0], first.id);
    let old = &w.instances[0];
    let new = &w.instances[1];
    let released = t(100.0 + timing::drain_total());
    assert_eq!(old.services_end(1.0), Some(released));
    assert!(new.lease_taken_at(1.0) >= released);
    // Marked Unhealthy when drained: replaced without waiting for AWS's
    // termination at the end of the notice.
    assert!(
        new.launched_at < t(100.0 + timing::lat().spot_notice + timing::lat().group_notices_loss)
    );
    let names: Vec<&str> = old.markers(1.0).iter().map(|(n, _)| *n).collect();
    for marker in [
        "drain-started:spot-notice",
        "drain-n8n-stopped",
        "drain-postgres-stopped",
        "lease-released",
        "drained",
    ] {
        assert!(names.contains(&marker), "{marker} in {names:?}");
    }
}

#[test]
fn after_a_hard_loss_the_replacement_waits_for_the_dead_holders_lock_to_expire() {
    let mut w = world();
    deploy(&mut w, 0.0);
    // Lost with no drain at 55: its NFS lock lives on until its lease
    // expires. A replacement launched at once is ready to start before that.
    w.instances[0].terminated_at = Some(t(55.0));
    w.instances[0].taken_out_at = Some(t(55.0));
    let new = launch(&mut w, t(50.0), "i-0second".into());
    let expiry = t(55.0 + timing::lat().lease_expiry);
    let ready = new.running_at.plus_secs(timing::lease_offset(false));
    assert!(ready < expiry, "the case under test");
    assert_eq!(new.lease_taken_at(1.0), expiry);
    assert_eq!(
        new.in_service_at,
        Some(
            new.running_at
                .plus_secs(timing::hook_completed_after(false) + ready.secs_until(expiry))
        )
    );
    let writers = sample(&mut w, 0.0, 150.0);
    assert_eq!(
        writers,
        vec!["i-0first".to_string(), "i-0second".to_string()]
    );
    assert!(
        writers_at(&w, t(60.0)).is_empty(),
        "nobody writes while the lock lingers"
    );
}

#[test]
fn a_bare_instance_from_before_groups_serves_until_its_group_instance_is_ready() {
    let mut w = world();
    let first = deploy(&mut w, 0.0);
    w.group = None;
    w.instances[0].in_service_at = None; // as the previous version ran it
    let (launched, plan) = match ensure_group(&mut w, "demo", 1, t(200.0), "i-0second".into()) {
        Ensured::Switched(i, plan) => (*i, *plan),
        other => panic!("a bare instance is switched from: {other:?}"),
    };
    assert_ne!(launched.id, first.id);
    assert_eq!(plan.from_instance, first.id);
    assert_eq!(plan.outcome, SwitchOutcome::Switched);
    let (ready, stopped) = (plan.ready_at.unwrap(), plan.stopped_at.unwrap());
    assert!(
        ready <= stopped,
        "it served while the new one booted: {plan:?}"
    );
    let launch_to_serving = plan.started_at.secs_until(plan.serving_at.unwrap());
    assert!(
        plan.gap_secs().is_some_and(|g| g < launch_to_serving / 2.0),
        "the gap is the drain and the start, not the launch and boot: {plan:?}"
    );
    let group = w.group.as_ref().unwrap();
    assert!(
        !group.activities.iter().any(|a| a.instance_id == first.id),
        "the bare one was never the group's"
    );
    let mut check = w.clone();
    let writers = sample(&mut check, 0.0, 400.0);
    assert_eq!(writers, vec![first.id.clone(), launched.id.clone()]);
}

#[test]
fn a_bare_instance_whose_group_instance_never_gets_healthy_serves_again() {
    let mut w = world();
    let first = deploy(&mut w, 0.0);
    w.group = None;
    w.instances[0].in_service_at = None;
    w.next_never_healthy = true;
    let plan = match ensure_group(&mut w, "demo", 1, t(200.0), "i-0second".into()) {
        Ensured::Switched(_, plan) => *plan,
        other => panic!("no switch: {other:?}"),
    };
    assert_eq!(plan.outcome, SwitchOutcome::FellBack);
    let group = w.group.as_ref().unwrap();
    assert_eq!((group.desired, group.current.as_deref()), (0, None));
    let writers = sample(&mut w, 0.0, 600.0);
    assert_eq!(writers.first(), Some(&first.id));
    assert_eq!(writers.last(), Some(&first.id), "{writers:?}");
}

/// A deploy of `version` (a new one: an update; an older one: a rollback)
/// at `at`: the plan of its switch.
fn switch_to(w: &mut World, version: i64, at: f64, id: &str) -> crate::domain::switch::Switch {
    match ensure_group(w, "demo", version, t(at), id.into()) {
        Ensured::Switched(_, plan) => *plan,
        other => panic!("no switch: {other:?}"),
    }
}

#[test]
fn an_update_and_a_rollback_switch_with_one_writer_and_a_gap_of_the_drain_and_start() {
    let mut w = world();
    let first = deploy(&mut w, 0.0);
    super::template_version(&mut w, "demo", "t3.large", true, t(50.0), "lt-0b".into());
    let update = switch_to(&mut w, 2, 50.0, "i-0second");
    let back = switch_to(&mut w, 1, 150.0, "i-0third");
    let writers = sample(&mut w, 0.0, 250.0);
    assert_eq!(
        writers,
        ["i-0first", "i-0second", "i-0third"],
        "{writers:?}"
    );
    for plan in [&update, &back] {
        // The old one serves until the new one is ready to start.
        let ready = plan.ready_at.unwrap();
        assert!(writers_at(&w, ready.plus_secs(-0.1)) == [plan.from_instance.clone()]);
        // From n8n stopping: the rest of the drain, then the new one's start.
        let gap = plan.gap_secs().unwrap();
        let n8n_stops = timing::lat().drain_markers[1].1;
        let start = timing::hook_completed_after(false) - timing::lease_offset(false);
        let expected = timing::drain_total() - n8n_stops + start;
        assert!(
            (gap - expected).abs() < 0.01,
            "gap {gap}, expected {expected}"
        );
    }
    assert_eq!(back.to_version, 1);
    let old = w.instances.iter().find(|i| i.id == first.id).unwrap();
    let names: Vec<&str> = old.markers(1.0).iter().map(|(n, _)| *n).collect();
    assert!(names.contains(&"drain-started:switch"), "{names:?}");
    assert!(
        old.unhealthy_at.is_none(),
        "a switch marks nothing unhealthy"
    );
}

#[test]
fn a_new_version_that_never_becomes_healthy_gives_the_lease_back_to_the_old_one() {
    let mut w = world();
    let first = deploy(&mut w, 0.0);
    super::template_version(&mut w, "demo", "t3.large", true, t(50.0), "lt-0b".into());
    w.next_never_healthy = true;
    let plan = switch_to(&mut w, 2, 50.0, "i-0bad");
    assert_eq!(plan.outcome, SwitchOutcome::FellBack);
    let writers = sample(&mut w, 0.0, 150.0);
    assert_eq!(writers, ["i-0first", "i-0bad", "i-0first"], "{writers:?}");
    let v = view(&w, t(150.0)).unwrap();
    let members: Vec<(&str, &str)> = v
        .instances
        .iter()
        .map(|i| (i.instance_id.as_str(), i.lifecycle_state.as_str()))
        .collect();
    assert_eq!(members, [(first.id.as_str(), "InService")]);
    assert_eq!(
        w.group.as_ref().unwrap().version,
        1,
        "back to the old version"
    );
    let names: Vec<&str> = w.instances[0]
        .markers(1.0)
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert!(names.contains(&"resumed"), "{names:?}");
    assert!(plan.gap_secs().is_some_and(|g| g > 0.0));
    // Then a good version switches from the resumed one, one writer again.
    super::template_version(&mut w, "demo", "t3.xlarge", true, t(150.0), "lt-0c".into());
    let good = switch_to(&mut w, 3, 150.0, "i-0good");
    assert_eq!(good.outcome, crate::domain::switch::SwitchOutcome::Switched);
    let writers = sample(&mut w, 150.0, 250.0);
    assert_eq!(writers, ["i-0first", "i-0good"], "{writers:?}");
}
