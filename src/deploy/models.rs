//! Pulling a model onto a stack: the pull runs on the instance in the
//! background (Ollama is not published, and a Run Command is no stream);
//! this reads its progress about every poll, sees a stall (no new byte for
//! `STALL_POLLS` polls) and pulls again, which resumes from what is on the
//! EFS. It holds no stack lock: Ollama takes pulls as they come.

use crate::cloud::{CloudError, CloudResult, Session};
use crate::domain::DeploymentState;
use crate::domain::models::{PullProgress, PullTracker, check_name, progress_text, share};

use super::Context;

/// Pulls again after a stall, at most.
pub const RETRIES: u32 = 3;

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Pulled {
    pub name: String,
    pub progress: PullProgress,
    /// Times it stalled and was pulled again.
    pub retries: u32,
}

/// Pull `name` to completion, telling `seen` of every poll (and whether it
/// was a retry). An error is a sentence for the user.
pub async fn pull(
    ctx: &Context,
    state: &DeploymentState,
    name: &str,
    mut seen: impl FnMut(&PullProgress, &PullTracker, bool),
) -> Result<Pulled, String> {
    check_name(name)?;
    let cloud = ctx.cloud.as_ref();
    let fail = |e: crate::cloud::CloudError| format!("the pull of {name} failed: {e}");
    cloud.start_pull(state, name).await.map_err(fail)?;
    let mut tracker = PullTracker::default();
    let mut retries = 0;
    loop {
        tokio::time::sleep(ctx.timing.poll).await;
        let progress = cloud.pull_progress(state, name).await.map_err(fail)?;
        tracker.saw(ctx.clock.now(), &progress);
        if let Some(error) = &progress.error {
            return Err(format!("Ollama refused the pull of {name}: {error}"));
        }
        let retry = tracker.stalled() || (!progress.running && !progress.is_done());
        seen(&progress, &tracker, retry);
        if progress.is_done() {
            return Ok(Pulled {
                name: name.to_string(),
                progress,
                retries,
            });
        }
        if retry {
            if retries == RETRIES {
                return Err(format!(
                    "the pull of {name} stalled {} times; what it got is kept on the EFS, and \
                     `models {} pull {name}` resumes it",
                    retries + 1,
                    state.stack_name
                ));
            }
            retries += 1;
            tracker.retried();
            cloud.start_pull(state, name).await.map_err(fail)?;
        }
    }
}

/// The Models stage: pull each model chosen at first boot, one after the
/// other, the stage's gauge following the bytes. Ends "models ready".
pub(super) async fn at_first_boot(
    ctx: &Context,
    s: &mut Session,
    names: &[String],
) -> CloudResult<()> {
    let state = s.state().clone();
    for (at, name) in names.iter().enumerate() {
        let mut recorded = Ok(());
        let overall = |done: f64| (at as f64 + done) / names.len() as f64;
        pull(ctx, &state, name, |progress, tracker, _| {
            let done = if progress.is_done() {
                1.0
            } else {
                share(progress).unwrap_or(0.0)
            };
            let line = format!("{name} {}", progress_text(progress, tracker));
            if recorded.is_ok() {
                recorded = s.progress(Some(overall(done)), line);
            }
        })
        .await
        .map_err(CloudError::Refused)?;
        recorded?;
    }
    s.progress(Some(1.0), format!("models ready: {}", names.join(", ")))?;
    Ok(())
}
