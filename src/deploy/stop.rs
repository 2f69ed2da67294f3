//! Stopping a stack: its instance terminated on purpose (its budget is
//! spent), everything else kept, status `stopped`, and the reason in the
//! audit log. `deploy` starts it again on the same EFS.

use crate::cloud::session::StateSink;
use crate::cloud::{CloudResult, Session};
use crate::domain::cost;
use crate::domain::stage::{OperationKind, OperationResult, StageStatus};
use crate::domain::state::ServiceStatus;
use crate::domain::{DeploymentState, StackName, StackStatus, Stage};

use tracing::Instrument;

use super::{Context, OperationError, audit_because, open};

pub async fn stop(
    ctx: &Context,
    stack: &StackName,
    reason: &str,
    sink: Box<dyn StateSink>,
) -> Result<DeploymentState, OperationError> {
    let span = crate::logging::operation_span(OperationKind::Stop, stack);
    async {
        let start = ctx.clock.now();
        let result = run(ctx, stack, reason, sink).await;
        audit_because(ctx, "stop", stack, start, &result, Some(reason));
        result
    }
    .instrument(span)
    .await
}

async fn run(
    ctx: &Context,
    stack: &StackName,
    reason: &str,
    sink: Box<dyn StateSink>,
) -> Result<DeploymentState, OperationError> {
    let mut s = open(ctx, stack, "stop", sink, |_| None)?;
    if s.state().instance_id.is_none() {
        return Ok(s.into_state());
    }
    s.begin_operation(OperationKind::Stop, &[Stage::Terminate])?;
    s.start_stage(Stage::Terminate, ctx.cloud.typical_secs(Stage::Terminate))?;
    let terminated = terminate(ctx, &mut s)
        .instrument(crate::logging::stage_span(Stage::Terminate))
        .await;
    match terminated {
        Ok(id) => {
            let detail = id.map(|i| format!("{i} terminated; EFS kept"));
            s.finish_stage(Stage::Terminate, StageStatus::Done, detail)?;
            s.record(|st| {
                st.status = StackStatus::Stopped;
                st.status_reason = Some(reason.to_string());
            })?;
            s.finish_operation(OperationResult::Succeeded, None)?;
            Ok(s.into_state())
        }
        Err(error) => {
            let message = error.to_string();
            s.finish_stage(Stage::Terminate, StageStatus::Failed, Some(message.clone()))?;
            s.finish_operation(OperationResult::Failed, Some(message))?;
            Err(OperationError::Stage {
                stage: "Stop".into(),
                source: Box::new(error),
                rollback: None,
            })
        }
    }
}

/// Terminate the stack's instance, wait until it is gone, and close its cost
/// period; `Some(id)` of the instance that was running.
pub(super) async fn terminate(ctx: &Context, s: &mut Session) -> CloudResult<Option<String>> {
    let Some(id) = s.state().instance_id.clone() else {
        return Ok(None);
    };
    ctx.cloud.terminate_instance(s).await?;
    let now = s.now();
    s.record(|st| {
        cost::close_instance_period(st, now);
        st.instance_id = None;
        st.public_ip = None;
        st.private_ip = None;
        // n8n's URL is the instance's only without a load balancer; the
        // ALB's (or CloudFront's) outlives the instance.
        if st.alb_dns_name.is_none() {
            st.n8n_url = None;
        }
        for service in &mut st.services {
            service.status = ServiceStatus::Stopped;
            service.response_time_ms = None;
            service.consecutive_failures = 0;
        }
    })?;
    Ok(Some(id))
}
