//! Pipeline stages and their records. Stage timing lives in the state file so
//! any process (a second TUI, `status`) can draw a deploy another one runs.

use serde::{Deserialize, Serialize};
use strum::{Display, EnumIter, IntoStaticStr};

use super::time::Timestamp;

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    Display,
    EnumIter,
    IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Stage {
    Validate,
    Network,
    Security,
    Storage,
    /// The baked image: Docker, compose and the pinned images on the base.
    Image,
    Identity,
    Instance,
    /// Terminating the instance (destroy, rollback).
    Terminate,
    LoadBalancer,
    Cdn,
    Services,
    Health,
    /// The models chosen at first boot, pulled onto the EFS once Ollama runs.
    Models,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum OperationKind {
    Deploy,
    /// A change to a running stack: a new launch-template version, switched to.
    Update,
    Destroy,
    Rollback,
    Stop,
}

impl Stage {
    /// Short enough for the pipeline's label column (12).
    pub fn label(self, kind: OperationKind) -> &'static str {
        let destroying = kind == OperationKind::Destroy;
        match self {
            Stage::Validate => "Validate",
            Stage::Network => "Network",
            Stage::Security => "Security",
            Stage::Storage if kind == OperationKind::Rollback => "EFS intact",
            Stage::Storage => "EFS",
            Stage::Image => "Image",
            Stage::Identity if destroying => "IAM role",
            Stage::Identity => "IAM+secrets",
            Stage::Instance => "Instance",
            Stage::Terminate => "Terminate",
            Stage::LoadBalancer => "ALB",
            Stage::Cdn => "CloudFront",
            Stage::Services => "Services",
            Stage::Health => "Health",
            Stage::Models => "Models",
        }
    }
}

impl Stage {
    /// The resource a stage is about, as the pipeline shows it.
    pub fn resource_id(self, state: &super::DeploymentState) -> Option<&str> {
        match self {
            Stage::Network => state.vpc_id.as_deref(),
            Stage::Security => state.security_group_id.as_deref(),
            Stage::Storage => state.efs_id.as_deref(),
            Stage::Image => state
                .images
                .last()
                .map(|i| i.image_id.as_str())
                .or_else(|| state.image_builder.as_ref()?.instance_id.as_deref()),
            Stage::Identity => state.iam_role_name.as_deref(),
            Stage::Instance => state.instance_id.as_deref(),
            Stage::LoadBalancer => state.alb_dns_name.as_deref(),
            Stage::Cdn => state.cloudfront_id.as_deref(),
            // The instance a Terminate stage ended is in its detail: by then
            // the state may name its replacement.
            Stage::Validate
            | Stage::Terminate
            | Stage::Services
            | Stage::Health
            | Stage::Models => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StageStatus {
    #[default]
    Pending,
    Running,
    Done,
    Skipped,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    pub stage: Stage,
    #[serde(default)]
    pub status: StageStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// What the stage is doing or did, e.g. "mount targets 1/2" or "kept".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// 0.0..=1.0 when the stage can tell how far along it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<f64>,
    /// How long the stage usually takes, for the gauge when `progress` is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_secs: Option<f64>,
}

impl StageRecord {
    pub fn pending(stage: Stage) -> Self {
        Self {
            stage,
            status: StageStatus::Pending,
            started_at: None,
            finished_at: None,
            detail: None,
            progress: None,
            expected_secs: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum OperationResult {
    Succeeded,
    Failed,
}

/// The current (or last) operation on a stack, with per-stage timing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    pub kind: OperationKind,
    pub started_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<OperationResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub stages: Vec<StageRecord>,
}

impl Operation {
    pub fn new(kind: OperationKind, started_at: Timestamp, stages: &[Stage]) -> Self {
        Self {
            kind,
            started_at,
            finished_at: None,
            result: None,
            error: None,
            stages: stages.iter().copied().map(StageRecord::pending).collect(),
        }
    }

    pub fn stage_mut(&mut self, stage: Stage) -> Option<&mut StageRecord> {
        self.stages.iter_mut().find(|r| r.stage == stage)
    }

    /// The stage started last of those running (Storage runs on while
    /// the next stages do).
    pub fn running_stage(&self) -> Option<&StageRecord> {
        self.stages
            .iter()
            .rev()
            .find(|r| r.status == StageStatus::Running)
    }

    pub fn is_finished(&self) -> bool {
        self.finished_at.is_some()
    }
}
