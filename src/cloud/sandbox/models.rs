//! Ollama's models in the sandbox: those on the stack's EFS, a pull that
//! grows at a download's pace (and, after a `pull-stalls` fault, stops short
//! until it is pulled again, resuming where it stopped, as Ollama does from
//! its partial blobs), and removal.

use serde::{Deserialize, Serialize};

use super::SandboxCloud;
use crate::cloud::{CloudError, CloudResult};
use crate::domain::Timestamp;
use crate::domain::models::{InstalledModel, LoadedModel, ModelsView, PullProgress};

/// A download's pace on AWS, in bytes a second (before the sandbox's speed).
const PULL_BYTES_PER_SEC: f64 = 60_000_000.0;
/// Where a stalled pull stops: this share of the model.
const STALL_AT: f64 = 0.4;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorldModels {
    #[serde(default)]
    pub installed: Vec<WorldModel>,
    #[serde(default)]
    pub pulls: Vec<WorldPull>,
    /// The next pull stops short (a fault).
    #[serde(default)]
    pub next_pull_stalls: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorldModel {
    pub name: String,
    pub size_bytes: u64,
    pub pulled_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorldPull {
    pub name: String,
    pub total: u64,
    pub started_at: Timestamp,
    /// Bytes on the EFS when this run of it started.
    pub from: u64,
    /// It stops here, until pulled again.
    #[serde(default)]
    pub stall_at: Option<u64>,
}

impl WorldPull {
    fn completed(&self, t: Timestamp, speed: f64) -> u64 {
        let grown = self.started_at.secs_until(t).max(0.0) * PULL_BYTES_PER_SEC * speed;
        let at = (self.from as f64 + grown).min(self.total as f64) as u64;
        self.stall_at.map_or(at, |stop| at.min(stop))
    }
}

impl WorldModels {
    /// What `/api/ps` answers: the first model answers n8n's workflows, so
    /// it stays loaded, on the GPU where the instance has one.
    pub fn loaded(&self, on_gpu: bool) -> Vec<LoadedModel> {
        self.installed
            .first()
            .map(|m| LoadedModel {
                name: m.name.clone(),
                size_bytes: m.size_bytes,
                vram_bytes: if on_gpu { m.size_bytes } else { 0 },
            })
            .into_iter()
            .collect()
    }

    /// Pulls that completed by `t` join the installed models.
    pub fn settle(&mut self, t: Timestamp, speed: f64) {
        let (done, going): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pulls)
            .into_iter()
            .partition(|p| p.completed(t, speed) >= p.total);
        self.pulls = going;
        for pull in done {
            self.installed.retain(|m| m.name != pull.name);
            self.installed.push(WorldModel {
                name: pull.name,
                size_bytes: pull.total,
                pulled_at: t,
            });
        }
    }
}

/// The model's size (the sandbox knows the product's catalogue), or
/// Ollama's own error for a name it does not have.
fn size_of(name: &str) -> CloudResult<u64> {
    crate::domain::models::known(name)
        .map(|m| m.size_bytes)
        .ok_or_else(|| {
            CloudError::Refused(format!(
                "pull model manifest: file does not exist ({name} is not in Ollama's library)"
            ))
        })
}

/// How long the default model's pull takes at speed 1.0, for the gauge.
pub fn typical_pull_secs() -> f64 {
    crate::domain::models::default_model(crate::domain::Tier::Dev).size_bytes as f64
        / PULL_BYTES_PER_SEC
}

impl SandboxCloud {
    pub(super) fn models_view(&self, stack: &str) -> CloudResult<ModelsView> {
        self.update_world(stack, |_| {})?;
        let world = self.world(stack)?;
        let gpu = world
            .current_instance()
            .is_some_and(|i| crate::domain::list_prices::has_nvidia_gpu(&i.instance_type));
        let installed: Vec<InstalledModel> = world
            .models
            .installed
            .iter()
            .map(|m| InstalledModel {
                name: m.name.clone(),
                size_bytes: m.size_bytes,
                modified_at: Some(m.pulled_at.to_string()),
            })
            .collect();
        let loaded = world.models.loaded(gpu);
        Ok(ModelsView { installed, loaded })
    }

    pub(super) fn pull(&self, stack: &str, name: &str) -> CloudResult<()> {
        let total = size_of(name)?;
        let now = self.now();
        let speed = self.speed;
        self.update_world(stack, |w| {
            let stalls = std::mem::take(&mut w.models.next_pull_stalls);
            // Pulled again: it resumes from what is on the EFS.
            let from = w
                .models
                .pulls
                .iter()
                .find(|p| p.name == name)
                .map_or(0, |p| p.completed(now, speed));
            w.models.pulls.retain(|p| p.name != name);
            w.models.pulls.push(WorldPull {
                name: name.to_string(),
                total,
                started_at: now,
                from,
                stall_at: stalls.then_some((total as f64 * STALL_AT) as u64),
            });
        })
    }

    pub(super) fn pull_progress(&self, stack: &str, name: &str) -> CloudResult<PullProgress> {
        let now = self.now();
        let world = self.world(stack)?;
        if let Some(pull) = world.models.pulls.iter().find(|p| p.name == name) {
            let completed = pull.completed(now, self.speed);
            if completed < pull.total {
                return Ok(PullProgress {
                    status: format!("pulling {name}"),
                    total: Some(pull.total),
                    completed: Some(completed),
                    error: None,
                    running: true,
                });
            }
        }
        self.update_world(stack, |_| {})?;
        let world = self.world(stack)?;
        Ok(
            match world.models.installed.iter().find(|m| m.name == name) {
                Some(m) => PullProgress {
                    status: "success".into(),
                    total: Some(m.size_bytes),
                    completed: Some(m.size_bytes),
                    error: None,
                    running: false,
                },
                None => PullProgress {
                    status: "no pull of it".into(),
                    ..PullProgress::default()
                },
            },
        )
    }

    pub(super) fn remove_model(&self, stack: &str, name: &str) -> CloudResult<()> {
        let world = self.world(stack)?;
        if !world.models.installed.iter().any(|m| m.name == name) {
            return Err(CloudError::Refused(format!("model '{name}' not found")));
        }
        self.update_world(stack, |w| w.models.installed.retain(|m| m.name != name))
    }
}
