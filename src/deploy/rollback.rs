//! Rolling a stack back (seed 001 §4.6, §7.4): status `rolling_back`,
//! terminate the instance, check the EFS is intact, then relaunch from the
//! last healthy snapshot (same EFS, same secrets) and wait for healthy; with
//! no snapshot, `failed` with the EFS preserved. A `RollbackRecord` is
//! appended when it starts and completed when it ends.

use crate::cloud::session::StateSink;
use crate::cloud::{CloudError, CloudResult, DeployOptions, DeployRequest, Session};
use crate::domain::stage::{OperationKind, OperationResult, StageStatus};
use crate::domain::state::{RollbackRecord, RollbackTrigger};
use crate::domain::{DeploymentState, StackName, StackStatus, Stage};

use tracing::Instrument;

use super::{Context, OperationError, audit, healthy_snapshot, open, readiness, retry};

/// Roll `stack` back now: by hand, or for the monitor.
pub async fn rollback(
    ctx: &Context,
    stack: &StackName,
    trigger: RollbackTrigger,
    reason: &str,
    sink: Box<dyn StateSink>,
) -> Result<DeploymentState, OperationError> {
    let span = crate::logging::operation_span(OperationKind::Rollback, stack);
    async {
        let start = ctx.clock.now();
        let result = run(ctx, stack, trigger, reason, sink).await;
        audit(ctx, "rollback", stack, start, &result);
        result
    }
    .instrument(span)
    .await
}

async fn run(
    ctx: &Context,
    stack: &StackName,
    trigger: RollbackTrigger,
    reason: &str,
    sink: Box<dyn StateSink>,
) -> Result<DeploymentState, OperationError> {
    let mut s = open(ctx, stack, "rollback", sink, |_| None)?;
    match s.state().status {
        StackStatus::Destroyed => {
            return Err(OperationError::Conflict(format!(
                "{stack} is destroyed: there is nothing to roll back; `deploy {stack}` brings it back on its EFS"
            )));
        }
        StackStatus::Stopped => {
            return Err(OperationError::Conflict(format!(
                "{stack} was stopped by its budget: raise it (`budget {stack} USD`), then `deploy {stack}` starts it on its EFS"
            )));
        }
        _ if s.state().efs_id.is_none() => {
            return Err(OperationError::Conflict(format!(
                "{stack} has no EFS recorded: a rollback needs its data; deploy it instead"
            )));
        }
        _ => {}
    }
    match procedure(ctx, &mut s, trigger, reason, true).await {
        Ok(_) => Ok(s.into_state()),
        Err(source) => Err(OperationError::Stage {
            stage: "Rollback".into(),
            source: Box::new(source),
            rollback: None,
        }),
    }
}

/// The rollback on an open session. `relaunch` false is the clean rollback
/// (used when a first deploy never became healthy). Returns what was done.
pub(super) async fn procedure(
    ctx: &Context,
    s: &mut Session,
    trigger: RollbackTrigger,
    reason: &str,
    relaunch: bool,
) -> CloudResult<String> {
    let old = s.state().instance_id.clone();
    let request = if relaunch {
        relaunch_request(s.state(), trigger)
    } else {
        None
    };
    let ctx = &request
        .as_ref()
        .map_or_else(|| ctx.clone(), |r| ctx.for_request(r));
    // In a group, the relaunch is prepared beside the current instance and
    // switched to (one writer throughout); a bare one stops first.
    let switches = request.is_some() && s.state().autoscaling_group_name.is_some();
    let mut stages = if switches {
        vec![Stage::Storage]
    } else {
        vec![Stage::Terminate, Stage::Storage]
    };
    if request.is_some() {
        stages.extend([Stage::Instance, Stage::Services, Stage::Health]);
    }
    let started = s.now();
    s.record(|st| {
        st.status = StackStatus::RollingBack;
        st.rollback_history.push(RollbackRecord {
            timestamp: started,
            trigger,
            resources_deleted: Vec::new(),
            efs_preserved: true,
            success: false,
            error_message: Some(reason.to_string()),
            finished_at: None,
            extra: Default::default(),
        });
    })?;
    s.begin_operation(OperationKind::Rollback, &stages)?;

    let result = run_stages(ctx, s, &stages, request.as_ref()).await;
    let ended = s.now();
    let relaunched = result.is_ok() && request.is_some();
    s.record(|st| {
        if let Some(record) = st.rollback_history.last_mut() {
            record.finished_at = Some(ended);
            record.success = result.is_ok();
            record.resources_deleted = old.iter().cloned().collect();
            record.efs_preserved = st.efs_id.is_some();
            if let Err(e) = &result {
                record.error_message = Some(format!("{reason}; the rollback failed: {e}"));
            }
        }
        st.status = if relaunched { StackStatus::Running } else { StackStatus::Failed };
        st.status_reason = (!relaunched).then(|| {
            format!("rolled back after {trigger}: {reason}. The EFS is kept; fix the cause, then deploy again")
        });
    })?;
    let error = result.as_ref().err().map(ToString::to_string);
    let outcome = if result.is_ok() {
        OperationResult::Succeeded
    } else {
        OperationResult::Failed
    };
    s.finish_operation(outcome, error)?;
    result?;
    let efs = s.state().efs_id.clone().unwrap_or_default();
    if relaunched {
        let snapshot = healthy_snapshot(s.state());
        s.record(|st| st.last_healthy_state = snapshot)?;
        let new = s.state().instance_id.clone().unwrap_or_default();
        return Ok(format!(
            "rolled back: {} replaced by {new} on {efs}",
            old.unwrap_or_default()
        ));
    }
    Ok(match old {
        Some(id) => format!("rolled back: {id} terminated; {efs} and its data kept"),
        None => format!("rolled back; {efs} and its data kept"),
    })
}

async fn run_stages(
    ctx: &Context,
    s: &mut Session,
    stages: &[Stage],
    request: Option<&DeployRequest>,
) -> CloudResult<()> {
    for &stage in stages {
        s.start_stage(stage, ctx.cloud.typical_secs(stage))?;
        let mut attempt = 0;
        let done = async {
            loop {
                attempt += 1;
                match run_stage(ctx, s, stage, request).await {
                    Err(e)
                        if retry::should_retry(s, &e, attempt, ctx.timing.backoff_base).await => {}
                    other => break other,
                }
            }
        }
        .instrument(crate::logging::stage_span(stage))
        .await;
        match done {
            Ok(()) => s.finish_stage(stage, StageStatus::Done, None)?,
            Err(e) => {
                s.finish_stage(stage, StageStatus::Failed, Some(e.to_string()))?;
                return Err(e);
            }
        }
    }
    Ok(())
}

async fn run_stage(
    ctx: &Context,
    s: &mut Session,
    stage: Stage,
    request: Option<&DeployRequest>,
) -> CloudResult<()> {
    match (stage, request) {
        (Stage::Terminate, _) => {
            let id = super::stop::terminate(ctx, s).await?;
            if let Some(id) = id {
                s.progress(Some(1.0), format!("{id} terminated"))?;
            }
            Ok(())
        }
        (Stage::Storage, _) => {
            // The data must have survived: relaunching on a lost EFS would
            // start an empty stack.
            if ctx.cloud.storage_size(s.state()).await?.is_none() {
                return Err(CloudError::Refused(format!(
                    "the EFS {} could not be found: not relaunching on missing data",
                    s.state().efs_id.clone().unwrap_or_default()
                )));
            }
            s.progress(Some(1.0), "intact")?;
            Ok(())
        }
        (Stage::Instance, Some(req)) => ctx.cloud.ensure_instance(req, s).await,
        (Stage::Services, Some(_)) => readiness::wait_for_boot(ctx, s).await,
        (Stage::Health, Some(_)) => readiness::wait_for_health(ctx, s).await,
        _ => Ok(()),
    }
}

/// What to relaunch: the last healthy snapshot's configuration. After a spot
/// interruption, spot first and on-demand when there is no capacity.
pub fn relaunch_request(
    state: &DeploymentState,
    trigger: RollbackTrigger,
) -> Option<DeployRequest> {
    let snapshot: DeploymentState =
        serde_json::from_value(state.last_healthy_state.clone()?).ok()?;
    Some(DeployRequest {
        stack: StackName::parse(&state.stack_name).ok()?,
        tier: snapshot.tier(),
        region: snapshot.region().to_string(),
        instance_type: snapshot
            .instance_type()
            .or(state.instance_type())?
            .to_string(),
        spot: snapshot.is_spot(),
        options: DeployOptions {
            fallback_on_demand: trigger == RollbackTrigger::SpotInterruption,
            replace_instance: true,
            instance_checks: state.config.as_ref().and_then(|c| c.instance_checks),
            // The stack's own choices, not the settings' defaults.
            rollback_timeout_minutes: state
                .config
                .as_ref()
                .and_then(|c| c.rollback_timeout_minutes),
            auto_rollback: state
                .config
                .as_ref()
                .and_then(|c| c.auto_rollback_on_failure),
            ..DeployOptions::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::state::{CostTracking, DeploymentConfig};
    use crate::domain::{Provider, Tier};

    #[test]
    fn a_relaunch_keeps_the_stacks_own_rollback_choices() {
        let now: crate::domain::Timestamp = "2026-12-02T02:00:00Z".parse().unwrap();
        let mut state =
            DeploymentState::new("keep", Tier::Dev, "us-east-1", Provider::Sandbox, now);
        state.cost = Some(CostTracking::new("t3.medium", true));
        state.config = Some(DeploymentConfig {
            rollback_timeout_minutes: Some(42),
            auto_rollback_on_failure: Some(false),
            ..DeploymentConfig::default()
        });
        state.last_healthy_state = crate::deploy::healthy_snapshot(&state);
        let req = relaunch_request(&state, RollbackTrigger::HealthCheckFailed).expect("a request");
        assert_eq!(req.options.rollback_timeout_minutes, Some(42));
        assert_eq!(req.options.auto_rollback, Some(false));
        state.config = None;
        let req = relaunch_request(&state, RollbackTrigger::Manual).expect("a request");
        assert_eq!(
            req.options.rollback_timeout_minutes, None,
            "the settings decide"
        );
    }
}
