//! The last two deploy stages: the instance boots (user-data stage markers),
//! then every service answers its health check.

use std::time::Instant;

use crate::cloud::{CloudError, CloudResult, Session};
use crate::domain::DeploymentState;
use crate::monitor::policy::record_samples;
use crate::monitor::probe;

use super::Context;

pub async fn wait_for_boot(ctx: &Context, s: &mut Session) -> CloudResult<()> {
    let started = Instant::now();
    loop {
        let boot = ctx.cloud.boot_progress(s.state()).await?;
        if let Some(lost) = boot.instance_lost {
            return Err(CloudError::Refused(lost));
        }
        if !boot.markers_readable {
            // No markers to read (SSM not there yet): services that answer
            // at all mean compose is up.
            if services_answer(ctx, s.state()).await? {
                s.progress(Some(1.0), "services answering")?;
                return Ok(());
            }
            s.progress(None, "waiting for the instance to report (SSM)")?;
            check_timeout(ctx, started, "the instance's boot")?;
            tokio::time::sleep(ctx.timing.poll).await;
            continue;
        }
        let current = boot
            .done
            .last()
            .cloned()
            .unwrap_or_else(|| "waiting for cloud-init".into());
        let fraction = boot.done.len() as f64 / boot.total.max(1) as f64;
        s.progress(
            Some(fraction),
            format!("{current} ({}/{})", boot.done.len(), boot.total),
        )?;
        if boot.finished() {
            return Ok(());
        }
        check_timeout(ctx, started, "the instance's boot")?;
        tokio::time::sleep(ctx.timing.poll).await;
    }
}

async fn services_answer(ctx: &Context, state: &DeploymentState) -> CloudResult<bool> {
    let endpoints = ctx.cloud.service_endpoints(state).await?;
    let samples = probe::probe_all(&endpoints).await;
    Ok(samples.iter().all(|p| {
        matches!(
            p.outcome,
            probe::ProbeOutcome::Ready | probe::ProbeOutcome::NotReady(_)
        )
    }))
}

pub async fn wait_for_health(ctx: &Context, s: &mut Session) -> CloudResult<()> {
    let endpoints = ctx.cloud.service_endpoints(s.state()).await?;
    let started = Instant::now();
    loop {
        let samples = probe::probe_all(&endpoints).await;
        let now = s.now();
        let ready = samples
            .iter()
            .filter(|p| p.outcome == probe::ProbeOutcome::Ready)
            .count();
        let waiting: Vec<_> = samples
            .iter()
            .filter(|p| p.outcome != probe::ProbeOutcome::Ready)
            .map(|p| p.service.name())
            .collect();
        let detail = if waiting.is_empty() {
            format!("{ready}/5 healthy")
        } else {
            format!("{ready}/5 healthy, waiting for {}", waiting.join(", "))
        };
        s.record(|st| st.services = record_samples(&st.services, &samples, now, true))?;
        s.progress(Some(ready as f64 / samples.len().max(1) as f64), detail)?;
        if ready == samples.len() {
            return Ok(());
        }
        if let Err(e) = check_timeout(ctx, started, "the services' health checks") {
            let why: Vec<_> = samples
                .iter()
                .filter_map(|p| p.error().map(|e| format!("{} ({e})", p.service)))
                .collect();
            return Err(CloudError::Refused(format!("{e}: {}", why.join(", "))));
        }
        tokio::time::sleep(ctx.timing.poll).await;
    }
}

fn check_timeout(ctx: &Context, started: Instant, what: &str) -> CloudResult<()> {
    if started.elapsed() > ctx.timing.ready_timeout {
        return Err(CloudError::Timeout {
            what: what.to_string(),
            secs: ctx.timing.ready_timeout.as_secs_f64(),
        });
    }
    Ok(())
}
