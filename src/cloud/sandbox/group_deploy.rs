//! The group as the deploy, the budget stop and destroy change it: made or
//! brought to the version asked for (switching from an outdated instance),
//! scaled in to 0, deleted.

use super::{
    Activity, Ensured, Group, LAUNCH_HOOK, SHUTDOWN_CODE, group_name, lost_cause, scale_in_cause,
    switch, take_out, timing, try_launch,
};
use crate::cloud::sandbox::world::World;
use crate::domain::Timestamp;
use crate::domain::recovery::ActivityKind;

/// Deploy's side: the group made (or found) wanting 1, launching
/// `version`; its instance, or when to look again. `fresh_id` names an
/// instance launched now.
pub fn ensure_group(
    w: &mut World,
    stack: &str,
    version: i64,
    now: Timestamp,
    fresh_id: String,
) -> Ensured {
    ensure_group_replacing(w, stack, version, now, fresh_id, None)
}

/// The same; `replace` (a rollback's) is switched from while it is the
/// group's instance, even on `version`.
pub fn ensure_group_replacing(
    w: &mut World,
    stack: &str,
    version: i64,
    now: Timestamp,
    fresh_id: String,
    replace: Option<&str>,
) -> Ensured {
    let speed = w.speed;
    let group = w.group.get_or_insert_with(|| Group {
        name: group_name(stack),
        desired: 0,
        hook: LAUNCH_HOOK.into(),
        version,
        current: None,
        replace_at: None,
        activities: Vec::new(),
        on_demand: false,
    });
    group.version = version;
    group.desired = 1;
    // A deploy asks for what it was asked for: spot again, if spot.
    group.on_demand = false;
    let why = "the group launches a replacement".to_string();
    if let Some(id) = group.current.clone() {
        match w.instances.iter().find(|i| i.id == id).cloned() {
            Some(i) => match i.loss(speed) {
                Some(_) => take_out(w, &id, now, lost_cause(now, i.unhealthy_at.is_some())),
                None if i
                    .template_version
                    .is_some_and(|v| !super::runs_alike(w, v, version))
                    || replace == Some(id.as_str()) =>
                {
                    match switch(w, &id, now, fresh_id) {
                        Some((new, plan)) => {
                            return Ensured::Switched(Box::new(new), Box::new(plan));
                        }
                        None => {
                            return Ensured::WaitUntil(
                                w.group.as_ref().and_then(|g| g.replace_at).unwrap_or(now),
                                format!("no capacity for version {version}: {id} serves on"),
                            );
                        }
                    }
                }
                None => return Ensured::Instance(Box::new(i)),
            },
            None => {
                if let Some(g) = w.group.as_mut() {
                    g.current = None;
                }
            }
        }
    }
    // A stack deployed before groups runs a bare instance: it holds the
    // lease for itself and serves on while the group's instance prepares.
    let bare = w
        .live_instance_mut()
        .filter(|i| !i.in_group())
        .map(|i| i.id.clone());
    if let Some(bare) = bare {
        return match switch(w, &bare, now, fresh_id) {
            Some((new, plan)) => Ensured::Switched(Box::new(new), Box::new(plan)),
            None => Ensured::WaitUntil(
                w.group.as_ref().and_then(|g| g.replace_at).unwrap_or(now),
                format!("no capacity for the group: {bare} serves on"),
            ),
        };
    }
    match w.group.as_ref().and_then(|g| g.replace_at) {
        Some(at) if at > now => Ensured::WaitUntil(at, why),
        _ => match try_launch(w, now, fresh_id) {
            Some(instance) => Ensured::Instance(Box::new(instance)),
            None => Ensured::WaitUntil(
                w.group.as_ref().and_then(|g| g.replace_at).unwrap_or(now),
                "no spot capacity for the group's types: it tries again".into(),
            ),
        },
    }
}

/// `terminate_instance`'s side: the group set to 0 and its instance taken
/// out on purpose (no loss), gone at `end`. A loss not noticed yet is
/// recorded as one first. Returns the instance going, if any.
pub fn scale_in(w: &mut World, now: Timestamp, end: Timestamp) -> Option<String> {
    let speed = w.speed;
    let group = w.group.as_mut()?;
    let from = group.desired;
    group.desired = 0;
    group.replace_at = None;
    let id = group.current.take()?;
    let instance = w.instances.iter_mut().find(|i| i.id == id)?;
    if let Some((_, unhealthy)) = instance.loss(speed) {
        take_out(w, &id, now, lost_cause(now, unhealthy));
        return None;
    }
    instance.taken_out_at = Some(now);
    instance.terminated_at = Some(end);
    instance.state_reason = Some(SHUTDOWN_CODE.into());
    let activity = Activity {
        kind: ActivityKind::Terminate,
        instance_id: id.clone(),
        cause: scale_in_cause(now, from),
        started_at: now,
        ends_at: end,
        zone: instance.zone.clone(),
        instance_reason: None,
        failed: false,
    };
    if let Some(g) = w.group.as_mut() {
        g.record(activity);
    }
    Some(id)
}

/// `delete_instance_group`'s side: the group (force-deleted with whatever it
/// still runs), its template and the address go.
pub fn delete(w: &mut World, now: Timestamp) {
    let end = now.plus_secs(timing::lat().terminate_instance / w.speed);
    for instance in w.instances.iter_mut().filter(|i| i.in_group()) {
        instance.taken_out_at.get_or_insert(now);
        if instance.terminated_at.is_none() {
            instance.terminated_at = Some(end);
            instance.state_reason = Some(SHUTDOWN_CODE.into());
        }
    }
    w.group = None;
    w.template = None;
    w.address = None;
}
