//! The stack's baked images: a base image with Docker, compose, efs-utils
//! and the pinned images already on it, so a relaunch boots straight to the
//! lease. Each is a cost (its snapshots) until no rollback can use it.

use serde::{Deserialize, Serialize};

use super::{DeploymentState, Timestamp};

/// One image the stack baked, from `base_ami` (`key` says from what).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BakedImage {
    pub image_id: String,
    /// `deploy::user_data::bake_key` of the base: the same key, the same image.
    pub key: String,
    pub base_ami: String,
    /// Its EBS snapshots, which outlive a deregistration unless deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshot_ids: Vec<String>,
    /// The snapshots' size in all, what they are billed on (at most).
    #[serde(default)]
    pub size_gb: u32,
    /// False while EC2 still makes it (`pending`): nothing launches from it.
    #[serde(default)]
    pub ready: bool,
    pub created_at: Timestamp,
}

/// The throw-away instance baking `key`. Its launch's idempotency token is
/// recorded before the launch, so a retry or a re-run after a crash gets the
/// same instance back rather than a second one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Builder {
    pub token: String,
    pub key: String,
    pub base_ami: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    pub started_at: Timestamp,
}

/// The stack's image baked for `key`, if any.
pub fn baked<'a>(state: &'a DeploymentState, key: &str) -> Option<&'a BakedImage> {
    state.images.iter().find(|i| i.key == key)
}

/// The base images a rollback may still launch: the current one and the
/// last healthy deploy's. Their baked images are kept; others go.
pub fn bases_in_use(state: &DeploymentState) -> Vec<String> {
    let healthy = state
        .last_healthy_state
        .as_ref()
        .and_then(|s| s.get("ami_id"))
        .and_then(|v| v.as_str())
        .map(str::to_string);
    state.ami_id.iter().cloned().chain(healthy).collect()
}

/// Images to delete: those baked from a base no rollback uses.
pub fn unused(state: &DeploymentState) -> Vec<BakedImage> {
    let keep = bases_in_use(state);
    state
        .images
        .iter()
        .filter(|i| i.ready && !keep.contains(&i.base_ami))
        .cloned()
        .collect()
}

/// What the images' snapshots cost a month: EBS snapshot storage, standard
/// tier, billed on the blocks stored (the volumes' size is the upper bound).
pub fn monthly(state: &DeploymentState, gb_month: f64) -> f64 {
    let gb: u32 = state.images.iter().map(|i| i.size_gb).sum();
    f64::from(gb) * gb_month
}

/// One line on the image the group launches: which, from what, and its
/// snapshots' cost; or the bake under way. `None` when there is none.
pub fn summary(state: &DeploymentState) -> Option<String> {
    let newest = state.images.iter().rev().find(|i| i.ready);
    match (newest, &state.image_builder) {
        (Some(i), _) => Some(format!(
            "{} baked from {}  {} GB of snapshots, ${:.2}/month{}",
            i.image_id,
            i.base_ami,
            i.size_gb,
            f64::from(i.size_gb) * super::cost::SNAPSHOT_GB_MONTH,
            match state.images.len() {
                1 => String::new(),
                n => format!(" ({n} images kept for rollbacks)"),
            }
        )),
        (None, Some(b)) => Some(format!(
            "baking on {} from {}",
            b.instance_id.as_deref().unwrap_or("a new builder"),
            b.base_ami
        )),
        (None, None) => None,
    }
}
