//! The stack's Auto Scaling group of one, as the monitor and `status` read
//! it: its instances with their lifecycle states, and its scaling
//! activities (what AWS did while nobody watched).

use crate::domain::Timestamp;
use crate::domain::recovery::{ActivityKind, ScalingActivity};

/// The lifecycle state of an instance the group counts as serving.
pub const IN_SERVICE: &str = "InService";
/// The launch hook holds a new instance here until it completes the hook.
pub const PENDING_WAIT: &str = "Pending:Wait";

#[derive(Clone, Debug, PartialEq)]
pub struct GroupView {
    pub name: String,
    pub desired: i32,
    /// Its mixed policy launches on-demand only (100% above base).
    pub on_demand: bool,
    pub instances: Vec<GroupInstance>,
    /// Newest first, as AWS lists them.
    pub activities: Vec<ScalingActivity>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GroupInstance {
    pub instance_id: String,
    /// AWS's lifecycle state: "Pending:Wait", "InService", "Terminating", ...
    pub lifecycle_state: String,
    pub healthy: bool,
    pub zone: Option<String>,
    pub instance_type: Option<String>,
    pub spot: bool,
    pub public_ip: Option<String>,
    pub private_ip: Option<String>,
    pub launched_at: Option<Timestamp>,
}

impl GroupView {
    /// The instance serving now: in service and healthy.
    pub fn serving(&self) -> Option<&GroupInstance> {
        self.instances
            .iter()
            .find(|i| i.lifecycle_state == IN_SERVICE && i.healthy)
    }

    /// Spot capacity is gone: nothing serves or joins, the group wants an
    /// instance, and its newest launch failed for want of spot capacity.
    /// The failed launch's AWS message (a failed launch carries it as cause).
    pub fn spot_capacity_out(&self) -> Option<&str> {
        if self.on_demand
            || self.desired == 0
            || self.serving().is_some()
            || self.joining().is_some()
        {
            return None;
        }
        let newest = self.activities.iter().max_by_key(|a| a.started_at)?;
        let message = newest.cause.to_lowercase();
        let out = newest.kind == ActivityKind::Launch
            && newest.status == "Failed"
            && message.contains("spot")
            && (message.contains("capacity") || message.contains("insufficient"));
        out.then_some(newest.cause.as_str())
    }

    /// An instance on its way in (launched, held by the launch hook).
    pub fn joining(&self) -> Option<&GroupInstance> {
        self.instances
            .iter()
            .find(|i| i.lifecycle_state.starts_with("Pending"))
    }
}
