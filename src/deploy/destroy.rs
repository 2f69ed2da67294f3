//! Destroy, in dependency order: CloudFront, the load balancer, the instance,
//! security groups, IAM; the EFS (and its secrets) only with `delete_data`.
//! A stack whose EFS is kept stays in the store as `destroyed`, so the data it
//! still pays for is never forgotten.

use crate::cloud::session::StateSink;
use crate::cloud::{CloudResult, Session};
use crate::domain::cost::{self, dollars};
use crate::domain::stage::{OperationKind, OperationResult, StageStatus};
use crate::domain::{DeploymentState, StackName, StackStatus, Stage};

use tracing::Instrument;

use super::{Context, OperationError, audit, open, retry};

#[derive(Clone, Debug, PartialEq)]
pub struct KeptData {
    pub efs_id: String,
    pub size_gb: f64,
    pub size_known: bool,
    pub monthly_cost: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DestroyOutcome {
    /// The stack's final state; `None` when it was removed entirely.
    pub state: Option<DeploymentState>,
    pub kept: Option<KeptData>,
}

pub async fn destroy(
    ctx: &Context,
    stack: &StackName,
    delete_data: bool,
    sink: Box<dyn StateSink>,
) -> Result<DestroyOutcome, OperationError> {
    let span = crate::logging::operation_span(OperationKind::Destroy, stack);
    async {
        let start = ctx.clock.now();
        let result = run(ctx, stack, delete_data, sink).await;
        audit(ctx, "destroy", stack, start, &result);
        result
    }
    .instrument(span)
    .await
}

pub fn kept_data(state: &DeploymentState) -> Option<KeptData> {
    let (monthly_cost, size_gb, size_known) = cost::efs_monthly(state)?;
    Some(KeptData {
        efs_id: state.efs_id.clone()?,
        size_gb,
        size_known,
        monthly_cost,
    })
}

impl KeptData {
    pub fn describe(&self) -> String {
        let size = cost::efs_size(self.size_gb, self.size_known);
        format!(
            "EFS {} ({size}), {}/month",
            self.efs_id,
            dollars(self.monthly_cost)
        )
    }
}

async fn run(
    ctx: &Context,
    stack: &StackName,
    delete_data: bool,
    sink: Box<dyn StateSink>,
) -> Result<DestroyOutcome, OperationError> {
    let mut s = open(ctx, stack, "destroy", sink, |_| None)?;
    let adopted = adopt_unrecorded(ctx, &mut s).await;
    if s.state().status == StackStatus::Destroyed && !delete_data && !adopted {
        let state = s.into_state();
        return Ok(DestroyOutcome {
            kept: kept_data(&state),
            state: Some(state),
        });
    }
    let stages = s.state().tier().destroy_stages(delete_data);
    s.record(|st| st.status = StackStatus::Destroying)?;
    s.begin_operation(OperationKind::Destroy, &stages)?;

    for stage in stages {
        s.start_stage(stage, 1.0)?;
        let mut attempt = 0;
        let done = async {
            loop {
                attempt += 1;
                match run_stage(ctx, &mut s, stage, delete_data).await {
                    Err(e)
                        if retry::should_retry(&mut s, &e, attempt, ctx.timing.backoff_base)
                            .await => {}
                    other => break other,
                }
            }
        }
        .instrument(crate::logging::stage_span(stage))
        .await;
        match done {
            Ok((status, detail)) => s.finish_stage(stage, status, detail)?,
            Err(error) => {
                let message = error.to_string();
                s.finish_stage(stage, StageStatus::Failed, Some(message.clone()))?;
                s.finish_operation(OperationResult::Failed, Some(message))?;
                s.record(|st| st.status = StackStatus::Failed)?;
                return Err(OperationError::Stage {
                    stage: stage.label(OperationKind::Destroy).to_string(),
                    source: Box::new(error),
                    rollback: None,
                });
            }
        }
    }

    if delete_data {
        ctx.store.remove(stack)?;
        return Ok(DestroyOutcome {
            state: None,
            kept: None,
        });
    }
    s.record(|st| st.status = StackStatus::Destroyed)?;
    s.finish_operation(OperationResult::Succeeded, None)?;
    let state = s.into_state();
    Ok(DestroyOutcome {
        kept: kept_data(&state),
        state: Some(state),
    })
}

/// Whether the cloud held resources of the stack its state never recorded.
async fn adopt_unrecorded(ctx: &Context, s: &mut Session) -> bool {
    let stack = s.state().stack_name.clone();
    match ctx.cloud.adopt_unrecorded(s).await {
        Ok(found) => {
            for what in &found {
                tracing::warn!(%stack, %what, "destroying what a cut-short deploy never recorded");
            }
            !found.is_empty()
        }
        // The recorded resources can still go; the next destroy looks again.
        Err(e) => {
            tracing::warn!(%stack, error = %e, "could not look for unrecorded resources");
            false
        }
    }
}

type StageDone = (StageStatus, Option<String>);

/// EFS's automatic backups are AWS Backup recovery points, which outlive
/// the file system: say so, and what they cost, rather than claim that
/// `--delete-data` removed everything.
fn backups_note(st: &DeploymentState) -> Option<String> {
    let fs = st.efs_id.as_deref()?;
    let gb = cost::efs_monthly(st).map_or(0.0, |(_, gb, _)| gb);
    Some(format!(
        "EFS deleted; its AWS Backup recovery points remain in aws/efs/automatic-backup-vault \
         (kept 35 days by default, ~{}/month for {}); delete them there to remove {fs}'s last copy",
        dollars(gb * cost::BACKUP_GB_MONTH),
        cost::efs_size(gb, st.efs_size_bytes.is_some())
    ))
}

fn skipped(why: &str) -> CloudResult<StageDone> {
    Ok((StageStatus::Skipped, Some(why.to_string())))
}

async fn run_stage(
    ctx: &Context,
    s: &mut Session,
    stage: Stage,
    delete_data: bool,
) -> CloudResult<StageDone> {
    let cloud = ctx.cloud.as_ref();
    let st = s.state();
    match stage {
        Stage::Cdn if st.cloudfront_id.is_none() => skipped("no distribution"),
        Stage::Cdn => {
            let id = st.cloudfront_id.clone();
            cloud.delete_cdn(s).await?;
            let note = id.map(|id| format!("{id} disabled and deleted"));
            Ok((StageStatus::Done, note))
        }
        Stage::LoadBalancer if st.alb_arn.is_none() && st.alb_security_group_id.is_none() => {
            skipped("no load balancer")
        }
        Stage::LoadBalancer => {
            cloud.delete_load_balancer(s).await?;
            let note = "listeners, target group, ALB and its security group deleted";
            Ok((StageStatus::Done, Some(note.to_string())))
        }
        Stage::Terminate
            if st.instance_id.is_none()
                && st.autoscaling_group_name.is_none()
                && st.launch_template_id.is_none()
                && st.elastic_ip_allocation_id.is_none() =>
        {
            skipped("no instance")
        }
        Stage::Terminate => {
            let id = super::stop::terminate(ctx, s).await?;
            cloud.delete_instance_group(s).await?;
            let mut note: Vec<String> = id.map(|i| format!("{i} terminated")).into_iter().collect();
            note.push("group, launch template and address deleted".into());
            Ok((StageStatus::Done, Some(note.join("; "))))
        }
        Stage::Image if st.images.is_empty() && st.image_builder.is_none() => {
            skipped("no baked image")
        }
        Stage::Image => {
            let ids: Vec<String> = st.images.iter().map(|i| i.image_id.clone()).collect();
            cloud.delete_images(s, true).await?;
            let note = match ids.is_empty() {
                true => "the builder terminated".to_string(),
                false => format!("{} deregistered, with their snapshots", ids.join(", ")),
            };
            Ok((StageStatus::Done, Some(note)))
        }
        Stage::Security => {
            cloud.delete_security_groups(s).await?;
            Ok((StageStatus::Done, None))
        }
        Stage::Identity => {
            cloud.delete_identity(s, delete_data).await?;
            let note = (!delete_data).then(|| "secrets kept for a redeploy".to_string());
            Ok((StageStatus::Done, note))
        }
        Stage::Storage if !delete_data && st.efs_id.is_some() => {
            // The stage row already names the EFS.
            let note = kept_data(st).map_or("no EFS".to_string(), |k| {
                let size = cost::efs_size(k.size_gb, k.size_known);
                format!("kept ({size}, {}/month)", dollars(k.monthly_cost))
            });
            skipped(&note)
        }
        // A deploy cut short before the EFS existed may have left its group.
        Stage::Storage if st.efs_id.is_none() && st.efs_security_group_id.is_none() => {
            skipped("no EFS")
        }
        Stage::Storage => {
            let backups = backups_note(st);
            cloud.delete_storage(s).await?;
            Ok((StageStatus::Done, backups))
        }
        Stage::Network => cloud
            .delete_network(s)
            .await
            .map(|()| (StageStatus::Done, None)),
        Stage::Validate | Stage::Instance | Stage::Services | Stage::Health | Stage::Models => {
            skipped("nothing to remove")
        }
    }
}
