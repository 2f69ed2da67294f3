//! The last two deploy stages: the instance boots (user-data stage markers),
//! then every service answers its health check.

use std::time::Instant;

use crate::cloud::{CloudError, CloudResult, Session};
use crate::domain::state::{ServiceHealth, ServiceStatus};
use crate::domain::{DeploymentState, Service, Timestamp};
use crate::monitor::probe::{self, ProbeSample};

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

/// The state's `services` after a round of probes: latest result per
/// service, with failures counted and reset by any success.
pub fn record_samples(
    previous: &[ServiceHealth],
    samples: &[ProbeSample],
    now: Timestamp,
    starting_up: bool,
) -> Vec<ServiceHealth> {
    Service::ALL
        .into_iter()
        .filter_map(|service| {
            let sample = samples.iter().find(|p| p.service == service)?;
            let before = previous.iter().find(|h| h.service_name == service);
            let status = sample.status(starting_up);
            let failures = match status {
                ServiceStatus::Healthy | ServiceStatus::Starting => 0,
                _ => before.map_or(0, |b| b.consecutive_failures) + 1,
            };
            Some(ServiceHealth {
                service_name: service,
                port: Some(service.port()),
                status,
                last_check: Some(now),
                response_time_ms: (status == ServiceStatus::Healthy).then_some(sample.latency_ms),
                consecutive_failures: failures,
                error_message: sample.error(),
                extra: before.map(|b| b.extra.clone()).unwrap_or_default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::probe::ProbeOutcome;

    fn sample(service: Service, outcome: ProbeOutcome) -> ProbeSample {
        ProbeSample {
            service,
            outcome,
            latency_ms: 12,
        }
    }

    #[test]
    fn failures_count_up_and_any_success_resets() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let down = [sample(Service::N8n, ProbeOutcome::TimedOut)];
        let one = record_samples(&[], &down, now, false);
        let two = record_samples(&one, &down, now, false);
        assert_eq!(two[0].consecutive_failures, 2);
        assert_eq!(two[0].status, ServiceStatus::Unhealthy);
        assert_eq!(two[0].error_message.as_deref(), Some("timed out"));
        let up = record_samples(
            &two,
            &[sample(Service::N8n, ProbeOutcome::Ready)],
            now,
            false,
        );
        assert_eq!(up[0].consecutive_failures, 0);
        assert_eq!(up[0].response_time_ms, Some(12));
    }
}
