//! Ollama's models on the instance, through SSM Run Command and
//! `assets/models.sh`: the list, a pull in the background and its progress,
//! and removal.

use super::AwsCloud;
use crate::cloud::{CloudError, CloudResult};
use crate::domain::DeploymentState;
use crate::domain::models::{self, ModelsView, PullProgress, check_name};
use crate::instance::user_data::models_script;

impl AwsCloud {
    async fn models_command(
        &self,
        state: &DeploymentState,
        action: &str,
        model: &str,
    ) -> CloudResult<String> {
        if !model.is_empty() {
            check_name(model).map_err(CloudError::Refused)?;
        }
        let id = state
            .instance_id
            .as_deref()
            .ok_or_else(|| CloudError::Refused("the stack has no instance".into()))?;
        self.run_on_instance(id, &models_script(action, model))
            .await?
            .ok_or_else(|| {
                CloudError::Refused(format!(
                    "{id} did not answer through SSM (its agent is not online, or Ollama is not up)"
                ))
            })
    }

    pub(super) async fn list_models(&self, state: &DeploymentState) -> CloudResult<ModelsView> {
        let out = self.models_command(state, "list", "").await?;
        let mut lines = out.lines().filter(|l| !l.trim().is_empty());
        let (tags, ps) = (lines.next().unwrap_or("{}"), lines.next().unwrap_or("{}"));
        models::parse_view(tags, ps).map_err(CloudError::Refused)
    }

    pub(super) async fn pull_model(&self, state: &DeploymentState, name: &str) -> CloudResult<()> {
        let out = self.models_command(state, "pull", name).await?;
        match out.trim() {
            "started" => Ok(()),
            other => Err(CloudError::Refused(refusal(other))),
        }
    }

    pub(super) async fn model_progress(
        &self,
        state: &DeploymentState,
        name: &str,
    ) -> CloudResult<PullProgress> {
        let out = self.models_command(state, "progress", name).await?;
        parse_progress(&out).map_err(CloudError::Refused)
    }

    pub(super) async fn delete_model(
        &self,
        state: &DeploymentState,
        name: &str,
    ) -> CloudResult<()> {
        let out = self.models_command(state, "rm", name).await?;
        match out.lines().last().map(str::trim) {
            Some("removed") if !out.contains("\"error\"") => Ok(()),
            _ => Err(CloudError::Refused(refusal(
                out.lines().next().unwrap_or(""),
            ))),
        }
    }
}

/// Ollama's `{"error": …}`, or the line as it is.
fn refusal(line: &str) -> String {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| format!("unexpected answer from the instance: {line:.120}"))
}

/// `#running` or `#stopped`, then Ollama's last progress line (if any).
pub fn parse_progress(out: &str) -> Result<PullProgress, String> {
    let mut lines = out.lines().map(str::trim).filter(|l| !l.is_empty());
    let running = match lines.next() {
        Some("#running") => true,
        Some("#stopped") => false,
        other => return Err(format!("unexpected answer from the instance: {other:?}")),
    };
    let mut progress = match lines.next() {
        Some(line) => serde_json::from_str::<PullProgress>(line)
            .map_err(|e| format!("Ollama's progress line does not parse: {e}"))?,
        None => PullProgress {
            status: "not started".into(),
            ..PullProgress::default()
        },
    };
    progress.running = running;
    Ok(progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_parse_with_whether_the_pull_still_runs() {
        let p = parse_progress(
            "#running\n{\"status\":\"pulling 6a07\",\"digest\":\"sha256:6a07\",\"total\":100,\"completed\":40}\n",
        )
        .unwrap();
        assert!(p.running && !p.is_done());
        assert_eq!((p.total, p.completed), (Some(100), Some(40)));
        let done = parse_progress("#stopped\n{\"status\":\"success\"}\n").unwrap();
        assert!(done.is_done() && !done.running);
        let failed =
            parse_progress("#stopped\n{\"error\":\"pull model manifest: file does not exist\"}")
                .unwrap();
        assert!(failed.error.is_some());
        assert!(parse_progress("").is_err());
        assert_eq!(
            refusal("{\"error\":\"model 'x' not found\"}"),
            "model 'x' not found"
        );
    }
}
