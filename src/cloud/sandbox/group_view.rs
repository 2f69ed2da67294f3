//! The sandbox's group as `DescribeAutoScalingGroups` and
//! `DescribeScalingActivities` show it: lifecycle states and activity
//! statuses follow from the world's timestamps and the clock.

use super::group::Activity;
use super::world::{Instance, World};
use crate::cloud::group::{GroupInstance, GroupView, IN_SERVICE, PENDING_WAIT};
use crate::domain::Timestamp;
use crate::domain::recovery::{ActivityKind, ScalingActivity};

impl Instance {
    /// Its lifecycle state in the group at `t`; `None` once it has left.
    pub fn lifecycle_at(&self, t: Timestamp) -> Option<&'static str> {
        let in_service = self.in_service_at?;
        if let Some(out) = self.taken_out_at.filter(|out| t >= *out) {
            let gone = self.terminated_at.unwrap_or(out).max(out);
            return (t < gone).then_some("Terminating");
        }
        Some(if t >= in_service && !self.never_healthy {
            IN_SERVICE
        } else {
            PENDING_WAIT
        })
    }

    /// Healthy as the group's health checks will see it.
    pub fn healthy_at(&self, t: Timestamp) -> bool {
        self.terminated_at.is_none_or(|end| t < end) && self.unhealthy_at.is_none_or(|u| t < u)
    }
}

/// The group as `DescribeAutoScalingGroups` and `DescribeScalingActivities`
/// show it at `t`.
pub fn view(w: &World, t: Timestamp) -> Option<GroupView> {
    let group = w.group.as_ref()?;
    let instances = w
        .instances
        .iter()
        .filter_map(|i| {
            let state = i.lifecycle_at(t)?;
            Some(GroupInstance {
                instance_id: i.id.clone(),
                lifecycle_state: state.to_string(),
                healthy: i.healthy_at(t),
                zone: i.zone.clone(),
                instance_type: Some(i.instance_type.clone()),
                spot: i.spot,
                public_ip: Some(i.public_ip.clone()),
                private_ip: Some(i.private_ip.clone()),
                launched_at: Some(i.launched_at),
            })
        })
        .collect();
    let activities = group
        .activities
        .iter()
        .rev()
        .filter(|a| a.started_at <= t)
        .map(|a| render(w, a, t))
        .collect();
    Some(GroupView {
        name: group.name.clone(),
        desired: group.desired,
        on_demand: group.on_demand,
        instances,
        activities,
    })
}

fn render(w: &World, a: &Activity, t: Timestamp) -> ScalingActivity {
    // A launch whose instance is lost before its hook completes is cancelled.
    let cut_short = match a.kind {
        ActivityKind::Launch => w
            .instances
            .iter()
            .find(|i| i.id == a.instance_id)
            .and_then(|i| i.taken_out_at)
            .filter(|out| *out < a.ends_at),
        ActivityKind::Terminate => None,
    };
    if a.failed {
        return ScalingActivity {
            kind: a.kind,
            instance_id: String::new(),
            cause: a.cause.clone(),
            started_at: a.started_at,
            ended_at: Some(a.ends_at),
            status: "Failed".into(),
            zone: None,
            instance_reason: None,
        };
    }
    let (status, ended_at) = match cut_short {
        Some(out) if t >= out => ("Cancelled", Some(out)),
        _ if t >= a.ends_at => ("Successful", Some(a.ends_at)),
        _ => ("InProgress", None),
    };
    ScalingActivity {
        kind: a.kind,
        instance_id: a.instance_id.clone(),
        cause: a.cause.clone(),
        started_at: a.started_at,
        ended_at,
        status: status.to_string(),
        zone: a.zone.clone(),
        instance_reason: a.instance_reason.clone(),
    }
}
