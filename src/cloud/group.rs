//! The stack's Auto Scaling group of one, as the monitor and `status` read
//! it: its instances with their lifecycle states, and its scaling
//! activities (what AWS did while nobody watched).

use crate::domain::Timestamp;
use crate::domain::recovery::ScalingActivity;

/// The lifecycle state of an instance the group counts as serving.
pub const IN_SERVICE: &str = "InService";
/// The launch hook holds a new instance here until it completes the hook.
pub const PENDING_WAIT: &str = "Pending:Wait";

#[derive(Clone, Debug, PartialEq)]
pub struct GroupView {
    pub name: String,
    pub desired: i32,
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

    /// An instance on its way in (launched, held by the launch hook).
    pub fn joining(&self) -> Option<&GroupInstance> {
        self.instances
            .iter()
            .find(|i| i.lifecycle_state.starts_with("Pending"))
    }
}
