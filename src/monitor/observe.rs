//! The observer: AWS's Auto Scaling group keeps the stack alive, and this
//! reads what it did — the instance it serves from now, and each recovery
//! (loss, replacement, in service) from its scaling activities — into the
//! stack's state. `status`, the dashboard and `monitor` all start here, so a
//! night with the laptop closed is told at the next look.

use crate::cloud::{Cloud, GroupView};
use crate::domain::recovery::{self, Drain, Recovery};
use crate::domain::{DeploymentState, StackName, StackStatus, Timestamp, cost};
use crate::instance::markers;
use crate::store::{LockHolder, Store, StoreError};

/// A lost instance and what it and its replacement left on EFS.
pub type DrainRead = (String, Drain);

/// Fold what the group shows, and the drains read from EFS, into `state`;
/// a line for each change seen.
pub fn apply(
    state: &mut DeploymentState,
    view: &GroupView,
    drains: Vec<DrainRead>,
    now: Timestamp,
) -> Vec<String> {
    let before = state.recoveries.clone();
    recovery::merge(
        &mut state.recoveries,
        recovery::recoveries(&view.activities),
    );
    for (lost, drain) in drains {
        if let Some(r) = state
            .recoveries
            .iter_mut()
            .find(|r| r.lost_instance == lost)
        {
            r.with_drain(drain);
        }
    }
    let mut notes: Vec<String> = state
        .recoveries
        .iter()
        .filter(|r| !before.contains(r))
        .map(Recovery::timeline)
        .collect();
    let Some(serving) = view.serving() else {
        if let Some(joining) = view.joining() {
            notes.push(format!(
                "{} is booting; the group lets it in when its services are healthy",
                joining.instance_id
            ));
        }
        return notes;
    };
    if state.instance_id.as_deref() == Some(serving.instance_id.as_str()) {
        return notes;
    }
    let started = serving.launched_at.unwrap_or(now);
    cost::close_instance_period(state, started);
    state.instance_id = Some(serving.instance_id.clone());
    state.private_ip = serving.private_ip.clone();
    // Dev keeps its Elastic IP, which the new instance claimed at boot.
    if state.elastic_ip_allocation_id.is_none() && state.alb_dns_name.is_none() {
        state.public_ip = serving.public_ip.clone();
        state.n8n_url = serving
            .public_ip
            .as_ref()
            .map(|ip| format!("http://{ip}:5678"));
    }
    if let Some(c) = state.cost.as_mut() {
        c.instance_start_time = Some(started);
        if let Some(t) = &serving.instance_type {
            c.instance_type = Some(t.clone());
        }
        c.is_spot = serving.spot;
    }
    state.updated_at = Some(now);
    notes.push(format!("now serving from {}", serving.instance_id));
    notes
}

/// Read the group and record what it did, under the stack's lock. Returns
/// the state as it is now (recorded, or only in memory when the lock is
/// held elsewhere) and the changes seen; `None` when the stack has no group
/// or the group could not be read (said in the notes).
/// What one look at the group gave: the state it was folded into, what
/// changed, and the group as seen.
pub struct Observed {
    pub state: DeploymentState,
    pub notes: Vec<String>,
    pub view: GroupView,
}

pub async fn observe(
    store: &Store,
    cloud: &dyn Cloud,
    state: &DeploymentState,
    now: Timestamp,
) -> Result<Option<Observed>, StoreError> {
    if state.autoscaling_group_name.is_none() || !is_observed(state.status) {
        return Ok(None);
    }
    let view = match cloud.group_view(state).await {
        Ok(Some(view)) => view,
        Ok(None) => return Ok(None),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the stack's Auto Scaling group");
            return Ok(None);
        }
    };
    let Ok(stack) = StackName::parse(&state.stack_name) else {
        return Ok(None);
    };
    // Read before the lock: a Run Command takes seconds.
    let drains = read_drains(cloud, state, &view).await;
    let holder = LockHolder::this_process("observe", now);
    let lock = match store.lock(&stack, &holder) {
        Ok(lock) => Some(lock),
        Err(StoreError::Lock(_)) => None,
        Err(e) => return Err(e),
    };
    let mut fresh = match &lock {
        Some(_) => store.load(&stack)?.unwrap_or_else(|| state.clone()),
        None => state.clone(),
    };
    if !is_observed(fresh.status) {
        return Ok(None);
    }
    let notes = apply(&mut fresh, &view, drains, now);
    if lock.is_some() && !notes.is_empty() {
        store.save(&fresh)?;
    }
    Ok(Some(Observed {
        state: fresh,
        notes,
        view,
    }))
}

/// For each finished recovery not read before, what its lost instance and
/// its replacement left on EFS, read on the instance serving now (the lost
/// one is gone; EFS keeps its markers). Nothing when that cannot be read:
/// the next look tries again.
async fn read_drains(
    cloud: &dyn Cloud,
    state: &DeploymentState,
    view: &GroupView,
) -> Vec<DrainRead> {
    let Some(serving) = view.serving() else {
        return Vec::new();
    };
    let read_before = |r: &Recovery| {
        state
            .recoveries
            .iter()
            .any(|k| k.lost_instance == r.lost_instance && k.drain.read)
    };
    let wanted: Vec<Recovery> = recovery::recoveries(&view.activities)
        .into_iter()
        .filter(|r| r.wants_markers() && !read_before(r))
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let ids: Vec<String> = wanted
        .iter()
        .flat_map(|r| [Some(r.lost_instance.clone()), r.replaced_by.clone()])
        .flatten()
        .collect();
    let files = match cloud.markers_left(state, &serving.instance_id, &ids).await {
        Ok(files) => files,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the markers left on EFS");
            return Vec::new();
        }
    };
    let of = |id: Option<&str>| {
        files
            .iter()
            .find(|(found, _)| Some(found.as_str()) == id)
            .map(|(_, text)| markers::with_times(text))
            .unwrap_or_default()
    };
    wanted
        .iter()
        .map(|r| {
            let lost = of(Some(&r.lost_instance));
            let replacement = of(r.replaced_by.as_deref());
            (
                r.lost_instance.clone(),
                Drain::from_markers(&lost, &replacement),
            )
        })
        .collect()
}

/// A stack whose group serves (or should): not while an operation of ours
/// changes it, nor once stopped or destroyed.
fn is_observed(status: StackStatus) -> bool {
    matches!(status, StackStatus::Running | StackStatus::Failed)
}

/// The last recovery still under way, if any.
pub fn in_progress(state: &DeploymentState) -> Option<&Recovery> {
    state.recoveries.iter().rev().find(|r| !r.finished())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::GroupInstance;
    use crate::domain::recovery::{ActivityKind, ScalingActivity};
    use crate::domain::state::CostTracking;
    use crate::domain::{Provider, Tier};

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn state() -> DeploymentState {
        let mut st = DeploymentState::new(
            "demo",
            Tier::Dev,
            "us-east-1",
            Provider::Aws,
            at("2026-12-01T20:00:00Z"),
        );
        st.status = StackStatus::Running;
        st.instance_id = Some("i-old".into());
        st.public_ip = Some("203.0.113.9".into());
        st.elastic_ip_allocation_id = Some("eipalloc-1".into());
        st.autoscaling_group_name = Some("demo-geusemaker".into());
        let mut c = CostTracking::new("t3.medium", true);
        c.instance_start_time = Some(at("2026-12-01T20:00:00Z"));
        c.spot_price_per_hour = Some(0.0125);
        st.cost = Some(c);
        st
    }

    fn view() -> GroupView {
        let activity =
            |kind, id: &str, cause: &str, start: &str, end: Option<&str>| ScalingActivity {
                kind,
                instance_id: id.into(),
                cause: cause.into(),
                started_at: at(start),
                ended_at: end.map(at),
                status: if end.is_some() {
                    "Successful"
                } else {
                    "InProgress"
                }
                .into(),
                zone: Some("us-east-1b".into()),
                instance_reason: None,
            };
        GroupView {
            name: "demo-geusemaker".into(),
            desired: 1,
            on_demand: false,
            instances: vec![GroupInstance {
                instance_id: "i-new".into(),
                lifecycle_state: "InService".into(),
                healthy: true,
                zone: Some("us-east-1b".into()),
                instance_type: Some("t3a.medium".into()),
                spot: true,
                public_ip: Some("203.0.113.9".into()),
                private_ip: Some("10.0.1.7".into()),
                launched_at: Some(at("2026-12-02T02:14:30Z")),
            }],
            activities: vec![
                activity(
                    ActivityKind::Launch,
                    "i-new",
                    "… a difference between desired and actual capacity …",
                    "2026-12-02T02:14:30Z",
                    Some("2026-12-02T02:17:00Z"),
                ),
                activity(
                    ActivityKind::Terminate,
                    "i-old",
                    "At 2026-12-02T02:14:05Z an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.",
                    "2026-12-02T02:14:05Z",
                    Some("2026-12-02T02:14:20Z"),
                ),
            ],
        }
    }

    #[test]
    fn a_replacement_is_adopted_with_its_recovery_and_its_own_cost_period() {
        let mut st = state();
        let notes = apply(&mut st, &view(), Vec::new(), at("2026-12-02T08:00:00Z"));
        assert_eq!(st.instance_id.as_deref(), Some("i-new"));
        assert_eq!(
            st.public_ip.as_deref(),
            Some("203.0.113.9"),
            "the stack's address stays"
        );
        assert_eq!(st.recoveries.len(), 1);
        assert_eq!(st.recoveries[0].down_secs, Some(175.0));
        let c = st.cost.as_ref().unwrap();
        assert_eq!(c.instance_type.as_deref(), Some("t3a.medium"));
        assert_eq!(c.history.len(), 1, "the old instance's period is closed");
        assert!(
            notes
                .iter()
                .any(|n| n.contains("terminated from outside of i-old")),
            "{notes:?}"
        );
        let again = apply(&mut st, &view(), Vec::new(), at("2026-12-02T08:01:00Z"));
        assert!(again.is_empty(), "nothing new: {again:?}");
    }

    #[test]
    fn an_instance_still_booting_is_not_adopted() {
        let mut st = state();
        let mut v = view();
        v.instances[0].lifecycle_state = "Pending:Wait".into();
        v.activities[0].ended_at = None;
        v.activities[0].status = "InProgress".into();
        let notes = apply(&mut st, &v, Vec::new(), at("2026-12-02T02:15:00Z"));
        assert_eq!(st.instance_id.as_deref(), Some("i-old"));
        assert!(notes.iter().any(|n| n.contains("i-new is booting")));
        assert!(in_progress(&st).is_some());
    }
}
