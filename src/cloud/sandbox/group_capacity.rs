//! Spot capacity in the sandbox's group: with none (a fault), a spot launch
//! makes no instance, records AWS's failed activity and tries again; the
//! monitor's fallback moves the group to on-demand.

use super::{Activity, World, launch};
use crate::cloud::sandbox::world::Instance;
use crate::domain::Timestamp;
use crate::domain::recovery::ActivityKind;

/// EC2's words when a group finds no spot capacity (the activity's status
/// message).
pub const NO_SPOT_CAPACITY: &str = "Could not launch Spot Instances. InsufficientInstanceCapacity - \
    There is no Spot capacity available that matches your request. Launching EC2 instance failed.";

/// Whether the group's next launch is spot.
fn launches_spot(w: &World) -> bool {
    let on_demand = w.group.as_ref().is_some_and(|g| g.on_demand);
    let spot = w.template.as_ref().is_some_and(|t| {
        let version = w.group.as_ref().map(|g| g.version);
        t.versions
            .iter()
            .find(|v| Some(v.number) == version)
            .unwrap_or(t.latest())
            .spot
    });
    spot && !on_demand
}

/// How often the group tries again without spot capacity, and how often
/// it records the failure (AWS backs off; the model does not flood).
const CAPACITY_RETRY: f64 = 10.0;
const CAPACITY_RECORD: f64 = 60.0;

/// A launch at `at`, or, with no spot capacity for a spot launch, a failed
/// activity and another try later. The instance when one launched.
pub(super) fn try_launch(w: &mut World, at: Timestamp, id: String) -> Option<Instance> {
    if !(w.spot_capacity_out && launches_spot(w)) {
        return Some(launch(w, at, id));
    }
    let speed = w.speed;
    let group = w.group.as_mut()?;
    let last_failure = group
        .activities
        .iter()
        .rev()
        .find(|a| a.failed)
        .map(|a| a.started_at);
    if last_failure.is_none_or(|last| last.secs_until(at) >= CAPACITY_RECORD / speed) {
        group.record(Activity {
            kind: ActivityKind::Launch,
            instance_id: String::new(),
            cause: NO_SPOT_CAPACITY.into(),
            started_at: at,
            ends_at: at,
            zone: None,
            instance_reason: None,
            failed: true,
        });
    }
    group.replace_at = Some(at.plus_secs(CAPACITY_RETRY / speed));
    None
}

/// `launch_on_demand`'s side: the group's policy goes 100% on-demand; a
/// launch waiting for spot capacity goes on at once.
pub fn go_on_demand(w: &mut World, now: Timestamp) {
    if let Some(g) = w.group.as_mut() {
        g.on_demand = true;
        if g.current.is_none() && g.replace_at.is_some_and(|at| at > now) {
            g.replace_at = Some(now);
        }
    }
}
