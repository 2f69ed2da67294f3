//! The deploy's background stages: those that finish while the next go on
//! (the mount targets, the bake), and the group's move to the baked image
//! once it is ready.

use crate::cloud::{CloudError, CloudResult, DeployRequest, Session};
use crate::domain::Stage;
use crate::domain::stage::StageStatus;

use tracing::Instrument;

use super::{Context, retry};

/// A stage left running while later ones go on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Background {
    /// The mount targets becoming available.
    Storage,
    /// The image baking.
    Image,
}

impl Background {
    pub(super) fn of(stage: Stage) -> Option<Self> {
        match stage {
            Stage::Storage => Some(Self::Storage),
            Stage::Image => Some(Self::Image),
            _ => None,
        }
    }

    pub(super) fn stage(self) -> Stage {
        match self {
            Self::Storage => Stage::Storage,
            Self::Image => Stage::Image,
        }
    }

    pub(super) fn meanwhile(self) -> &'static str {
        match self {
            Self::Storage => "mount targets becoming available; the next stages go on meanwhile",
            Self::Image => "the image bakes on its builder; the next stages go on meanwhile",
        }
    }

    /// Whether `stage` needs this one finished: the instance mounts the EFS
    /// before its services start. No stage waits for the image.
    pub(super) fn needed_by(self, stage: Stage) -> bool {
        match self {
            Self::Storage => matches!(stage, Stage::Services | Stage::Health),
            Self::Image => false,
        }
    }
}

/// Finish the background stages `next` needs, and the storage when one
/// look (best effort) sees it done. The stage that failed, and why.
pub(super) async fn settle_due(
    ctx: &Context,
    req: &DeployRequest,
    s: &mut Session,
    background: &mut Vec<Background>,
    next: Stage,
) -> Result<(), (Stage, CloudError)> {
    for left in background.clone() {
        let due = left.needed_by(next)
            || (left == Background::Storage
                && ctx
                    .cloud
                    .storage_available(s.state())
                    .await
                    .unwrap_or(false));
        if !due {
            continue;
        }
        background.retain(|b| *b != left);
        settle(ctx, req, s, left)
            .await
            .map_err(|e| (left.stage(), e))?;
    }
    Ok(())
}

/// The group on the baked image, retried; what changed is the Image
/// stage's last word. A failure fails the deploy, as any step's does: the
/// stack serves meanwhile, and the next deploy finishes it.
pub(super) async fn use_image(
    ctx: &Context,
    req: &DeployRequest,
    s: &mut Session,
) -> CloudResult<()> {
    let mut attempt = 0;
    let used = loop {
        attempt += 1;
        match ctx.cloud.use_image(req, s).await {
            Err(e) if retry::should_retry(s, &e, attempt, ctx.timing.backoff_base).await => {}
            other => break other,
        }
    };
    match used? {
        Some(note) => Ok(s.finish_stage(Stage::Image, StageStatus::Done, Some(note))?),
        None => Ok(()),
    }
}

/// A background stage's second half, under its own stage, retried.
pub(super) async fn settle(
    ctx: &Context,
    req: &DeployRequest,
    s: &mut Session,
    left: Background,
) -> CloudResult<()> {
    s.focus(Some(left.stage()));
    let note = settle_with_retry(ctx, req, s, left)
        .instrument(crate::logging::stage_span(left.stage()))
        .await;
    s.focus(None);
    let note = note?;
    let status = if note.is_some() {
        StageStatus::Skipped
    } else {
        StageStatus::Done
    };
    Ok(s.finish_stage(left.stage(), status, note)?)
}

async fn settle_with_retry(
    ctx: &Context,
    req: &DeployRequest,
    s: &mut Session,
    left: Background,
) -> CloudResult<Option<String>> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let done = match left {
            Background::Storage => ctx.cloud.storage_ready(req, s).await.map(|()| None),
            Background::Image => ctx.cloud.image_ready(req, s).await,
        };
        match done {
            Err(e) if retry::should_retry(s, &e, attempt, ctx.timing.backoff_base).await => {}
            other => return other,
        }
    }
}
