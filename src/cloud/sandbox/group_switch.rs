//! Prepare, then switch, in the sandbox's group, as on AWS: the new
//! version launches beside the old instance, which serves until the new
//! one is ready to start; then the old one drains and lets go of the lease,
//! the new one takes it, and once it is in service the old one goes. A new
//! one that never becomes healthy gives the lease back when its hook times
//! out, and the old one starts again.

use super::{Activity, World, replaced_cause, try_launch};
use crate::cloud::sandbox::timing;
use crate::cloud::sandbox::world::Instance;
use crate::domain::recovery::ActivityKind;
use crate::domain::switch::{Switch, SwitchOutcome};
use crate::domain::{Service, Timestamp};

/// Switch from `old` to a new instance of the group's version, launched at
/// `now`. `None` when none launched (no spot capacity): the old one never
/// stopped.
pub(super) fn switch(
    w: &mut World,
    old: &str,
    now: Timestamp,
    fresh_id: String,
) -> Option<(Instance, Switch)> {
    let speed = w.speed;
    let baked = super::launches_baked(w);
    let ready =
        now.plus_secs((timing::lat().instance_pending + timing::lease_offset(baked)) / speed);
    // The old one's drain is planned first: the new one's boot waits for it.
    set_drain(w, old, Some(ready));
    let Some(new) = try_launch(w, now, fresh_id) else {
        set_drain(w, old, None);
        return None;
    };
    if new.never_healthy {
        return fall_back(w, old, new, now, ready);
    }
    let serving = new.in_service_at?;
    let instance = w.instances.iter_mut().find(|i| i.id == old)?;
    let gone = serving.plus_secs(timing::lat().terminate_instance / speed);
    instance.taken_out_at = Some(serving);
    instance.terminated_at = Some(gone);
    instance.state_reason = Some(super::SHUTDOWN_CODE.into());
    // The outage starts when n8n stops, at the head of the drain.
    let stopped = instance.service_stops_at(Service::N8n, speed);
    let (zone, version) = (instance.zone.clone(), new.template_version.unwrap_or(0));
    // A bare one (from before groups) was never the group's to drop.
    let member = instance.in_group();
    if let Some(g) = w.group.as_mut().filter(|_| member) {
        g.record(dropped(old, serving, gone, zone));
    }
    let record = Switch {
        from_instance: old.to_string(),
        to_instance: Some(new.id.clone()),
        to_version: version,
        started_at: now,
        ready_at: Some(ready),
        stopped_at: stopped,
        serving_at: Some(serving),
        outcome: SwitchOutcome::Switched,
        database_dump: None,
        database_restored: false,
    };
    Some((new, record))
}

/// The new one took the lease and never became healthy: when its hook
/// times out it lets go and is dropped; the old one takes the lease back,
/// starts again, and the group launches its version again.
fn fall_back(
    w: &mut World,
    old: &str,
    new: Instance,
    now: Timestamp,
    ready: Timestamp,
) -> Option<(Instance, Switch)> {
    let speed = w.speed;
    let gives_up = new
        .launched_at
        .plus_secs(timing::lat().switch_hook_timeout / speed);
    let released = gives_up.plus_secs(timing::drain_total() / speed);
    let gone = released.plus_secs(timing::lat().terminate_instance / speed);
    let start = (timing::hook_completed_after(new.baked) - timing::lease_offset(new.baked)) / speed;
    let resumed = released;
    let new_id = new.id.clone();
    if let Some(n) = w.instances.iter_mut().find(|i| i.id == new_id) {
        n.drain_from = Some(gives_up);
        n.drained_for_switch = true;
        n.taken_out_at = Some(released);
        n.terminated_at = Some(gone);
        n.state_reason = Some(super::SHUTDOWN_CODE.into());
    }
    let o = w.instances.iter_mut().find(|i| i.id == old)?;
    o.resumed_at = Some(resumed);
    let stopped = o.service_stops_at(Service::N8n, speed);
    let (old_version, zone, member) = (o.template_version, new.zone.clone(), o.in_group());
    // Back to the old one's version, with the image baked since.
    let old_version = old_version.map(|v| super::newest_like(w, v));
    if let Some(g) = w.group.as_mut() {
        // A bare one serves outside the group, which wants none until the
        // next deploy.
        g.current = member.then(|| old.to_string());
        if !member {
            g.desired = 0;
        }
        if let Some(v) = old_version {
            g.version = v;
        }
        // Its launch is cancelled: the hook never completed.
        if let Some(launch) = g
            .activities
            .iter_mut()
            .rev()
            .find(|a| a.instance_id == new_id && a.kind == ActivityKind::Launch)
        {
            launch.ends_at = gone;
        }
        g.record(dropped(&new_id, released, gone, zone));
    }
    let record = Switch {
        from_instance: old.to_string(),
        to_instance: Some(new_id),
        to_version: new.template_version.unwrap_or(0),
        started_at: now,
        ready_at: Some(ready),
        stopped_at: stopped,
        serving_at: Some(resumed.plus_secs(start)),
        outcome: SwitchOutcome::FellBack,
        database_dump: None,
        database_restored: false,
    };
    Some((new, record))
}

/// The activity of a member the switch terminated on purpose (no loss).
fn dropped(id: &str, at: Timestamp, gone: Timestamp, zone: Option<String>) -> Activity {
    Activity {
        kind: ActivityKind::Terminate,
        instance_id: id.to_string(),
        cause: replaced_cause(at),
        started_at: at,
        ends_at: gone,
        zone,
        instance_reason: None,
        failed: false,
    }
}

fn set_drain(w: &mut World, id: &str, from: Option<Timestamp>) {
    if let Some(i) = w.instances.iter_mut().find(|i| i.id == id) {
        i.drain_from = from;
        i.drained_for_switch = from.is_some();
        // A new drain ends the run a failed switch gave back (one is modelled).
        i.resumed_at = None;
    }
}
