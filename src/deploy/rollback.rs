//! Rolling a stack back (seed 001 §4.6): stop the instance, keep the data.
//! Here the clean rollback of a deploy that timed out: status `rolling_back`,
//! terminate the instance, check the EFS is intact, then `failed` with the
//! EFS preserved, and a `RollbackRecord` saying why.

use crate::cloud::{CloudError, Session};
use crate::domain::StackStatus;
use crate::domain::cost;
use crate::domain::state::{RollbackRecord, RollbackTrigger, ServiceStatus};

use super::Context;

/// Roll the stack back after `cause`; returns a sentence on what was done.
pub async fn roll_back(
    ctx: &Context,
    s: &mut Session,
    trigger: RollbackTrigger,
    cause: &CloudError,
) -> String {
    let instance = s.state().instance_id.clone();
    let result = terminate_and_check(ctx, s).await;
    let efs = s.state().efs_id.clone();
    let record = RollbackRecord {
        timestamp: s.now(),
        trigger,
        resources_deleted: instance.iter().cloned().collect(),
        efs_preserved: efs.is_some(),
        success: result.is_ok(),
        error_message: Some(match &result {
            Ok(()) => cause.to_string(),
            Err(e) => format!("{cause}; the rollback failed too: {e}"),
        }),
        extra: Default::default(),
    };
    let saved = s.record(|st| {
        st.rollback_history.push(record);
        st.status = StackStatus::Failed;
    });
    if let Err(e) = saved {
        tracing::error!(error = %e, "could not record the rollback");
    }
    let efs = efs
        .map(|id| format!("; {id} and its data kept"))
        .unwrap_or_default();
    match (result, instance) {
        (Ok(()), Some(id)) => format!("rolled back: {id} terminated{efs}"),
        (Ok(()), None) => format!("rolled back{efs}"),
        (Err(e), _) => format!("the rollback failed ({e}); run destroy or deploy again"),
    }
}

async fn terminate_and_check(ctx: &Context, s: &mut Session) -> Result<(), CloudError> {
    s.record(|st| st.status = StackStatus::RollingBack)?;
    if s.state().instance_id.is_some() {
        ctx.cloud.terminate_instance(s).await?;
        let now = s.now();
        s.record(|st| {
            cost::close_instance_period(st, now);
            st.instance_id = None;
            st.public_ip = None;
            st.private_ip = None;
            st.n8n_url = None;
            for service in &mut st.services {
                service.status = ServiceStatus::Stopped;
                service.response_time_ms = None;
            }
        })?;
    }
    // The data must have survived: the rollback is only safe if the EFS is there.
    if s.state().efs_id.is_some() && ctx.cloud.storage_size(s.state()).await?.is_none() {
        return Err(CloudError::Refused(
            "the EFS could not be found after the rollback".into(),
        ));
    }
    Ok(())
}
