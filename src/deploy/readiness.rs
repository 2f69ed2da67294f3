//! The last two deploy stages: the instance boots (user-data stage markers),
//! then every service is healthy inside (Docker's healthchecks) and n8n
//! answers from here through its public path.

use std::time::Instant;

use crate::cloud::{BootProgress, CloudError, CloudResult, Session};
use crate::domain::{DeploymentState, Stage};
use crate::health::policy::record_samples;
use crate::health::{check as health, probe};

use super::Context;

pub async fn wait_for_boot(ctx: &Context, s: &mut Session) -> CloudResult<()> {
    let started = Instant::now();
    loop {
        let boot = ctx.cloud.boot_progress(s.state()).await?;
        if let Some(stopped) = boot_stopped(&boot) {
            return Err(stopped);
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
        advance_bake(ctx, s).await;
        tokio::time::sleep(ctx.timing.poll).await;
    }
}

/// While the boot runs, the bake beside it goes on (best effort: the
/// Image stage's own wait does the same later).
async fn advance_bake(ctx: &Context, s: &mut Session) {
    s.focus(Some(Stage::Image));
    if let Err(e) = ctx.cloud.advance_bake(s).await {
        tracing::warn!(error = %e, "could not look at the image's builder");
    }
    s.focus(None);
}

/// The boot will not finish: the instance is gone, or its script wrote a
/// failure marker. Said at once, with the step, rather than after the timeout.
fn boot_stopped(boot: &BootProgress) -> Option<CloudError> {
    if let Some(lost) = &boot.instance_lost {
        return Some(CloudError::Refused(lost.clone()));
    }
    let failed = boot.failed.as_ref()?;
    let last = boot.done.last().map_or_else(
        || "no step done yet".to_string(),
        |m| format!("last step done: {m}"),
    );
    Some(CloudError::Refused(format!(
        "the instance's boot failed at {failed} ({last}); the full log is \
         /var/log/cloud-init-output.log on the instance"
    )))
}

/// Docker on the instance reports containers: compose is up.
async fn services_answer(ctx: &Context, state: &DeploymentState) -> CloudResult<bool> {
    Ok(ctx
        .cloud
        .inside_health(state)
        .await
        .is_ok_and(|containers| !containers.is_empty()))
}

/// Every service healthy inside, and n8n reachable the way its users reach
/// it (over HTTPS where its URL is).
pub async fn wait_for_health(ctx: &Context, s: &mut Session) -> CloudResult<()> {
    let started = Instant::now();
    loop {
        let now = s.now();
        let check = health::check(ctx.cloud.as_ref(), s.state(), now).await;
        if check.inside_refused {
            return Err(CloudError::Refused(why_not_healthy(&check)));
        }
        let samples = check.inside.clone().unwrap_or_default();
        let ready = samples
            .iter()
            .filter(|p| p.outcome == probe::ProbeOutcome::Ready)
            .count();
        let mut waiting: Vec<String> = samples
            .iter()
            .filter(|p| p.outcome != probe::ProbeOutcome::Ready)
            .map(|p| p.service.name().to_string())
            .collect();
        if check.inside_healthy() && !check.outside_reachable() && check.outside.is_some() {
            waiting.push("n8n from here".into());
        }
        let detail = match &check.inside {
            Err(why) => format!("waiting for the instance's view: {why}"),
            Ok(_) if waiting.is_empty() => format!("{ready}/5 healthy, n8n reachable"),
            Ok(_) => format!("{ready}/5 healthy, waiting for {}", waiting.join(", ")),
        };
        let outside = check.outside.clone();
        s.record(|st| {
            if !samples.is_empty() {
                st.services = record_samples(&st.services, &samples, now, true);
            }
            if outside.is_some() {
                st.outside = outside;
            }
        })?;
        let healthy =
            check.inside_healthy() && (check.outside.is_none() || check.outside_reachable());
        let held = match healthy {
            true => not_in_service(ctx, s.state()).await,
            false => None,
        };
        match &held {
            Some(why) => s.progress(Some(0.95), why.clone())?,
            None => s.progress(Some(ready as f64 / 5.0), detail)?,
        }
        if healthy && held.is_none() {
            return Ok(());
        }
        if let Some(why) = held
            && let Err(e) = check_timeout(ctx, started, "the group's launch hook")
        {
            return Err(CloudError::Refused(format!("{e}: {why}")));
        }
        if let Err(e) = check_timeout(ctx, started, "the services' health checks") {
            let why = format!("{e}: {}", why_not_healthy(&check));
            return Err(match check.unreachable_from_here() {
                Some(_) => CloudError::Unreachable(why),
                None => CloudError::Refused(why),
            });
        }
        tokio::time::sleep(ctx.timing.poll).await;
    }
}

/// Why the group does not serve from the stack's instance yet, if it does
/// not: the launch hook holds it until its boot completes the hook.
async fn not_in_service(ctx: &Context, state: &DeploymentState) -> Option<String> {
    let view = match ctx.cloud.group_view(state).await {
        Ok(Some(view)) => view,
        Ok(None) => return None,
        Err(e) => return Some(format!("the group could not be read: {e}")),
    };
    let ours = state.instance_id.as_deref();
    let member = view
        .instances
        .iter()
        .find(|i| Some(i.instance_id.as_str()) == ours);
    match member {
        Some(i) if i.lifecycle_state == crate::cloud::group::IN_SERVICE => None,
        Some(i) => Some(format!(
            "healthy; {} is {} in {} until its boot completes the launch hook",
            i.instance_id, i.lifecycle_state, view.name
        )),
        None => Some(format!(
            "{} no longer has {}",
            view.name,
            ours.unwrap_or("an instance")
        )),
    }
}

fn why_not_healthy(check: &health::HealthCheck) -> String {
    if let Some(why) = check.unreachable_from_here() {
        return format!("the services are healthy on the instance, but n8n is {why}");
    }
    match &check.inside {
        Err(why) => format!("the instance's own view could not be read ({why})"),
        Ok(samples) => samples
            .iter()
            .filter_map(|p| p.error().map(|e| format!("{} ({e})", p.service)))
            .collect::<Vec<_>>()
            .join(", "),
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

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use async_trait::async_trait;

    use super::*;
    use crate::cloud::session::MemorySink;
    use crate::cloud::{
        Cidr, Cloud, DeployRequest, Endpoints, LogQuery, NetworkChoice, Prices, SpotNotice,
    };
    use crate::domain::time::SystemClock;
    use crate::domain::{Provider, Stage, Tier};
    use crate::instance::boot::BootFailure;
    use crate::store::Store;

    fn progress(done: &[&str], failed: Option<BootFailure>) -> BootProgress {
        BootProgress {
            done: done.iter().map(|m| m.to_string()).collect(),
            total: 6,
            failed,
            ..BootProgress::default()
        }
    }

    fn secrets_empty() -> BootFailure {
        BootFailure {
            line: Some(131),
            reason: "secrets: /geusemaker/demo/postgres-password is empty".into(),
        }
    }

    #[test]
    fn a_failed_boot_names_the_line_the_reason_and_the_last_good_step() {
        let failed = progress(
            &["cloud-init", "packages", "efs-mounted"],
            Some(secrets_empty()),
        );
        let message = boot_stopped(&failed).unwrap().to_string();
        assert!(message.contains("line 131"), "{message}");
        assert!(message.contains("postgres-password is empty"), "{message}");
        assert!(message.contains("last step done: efs-mounted"), "{message}");
        let at_once = progress(&[], Some(secrets_empty()));
        assert!(
            boot_stopped(&at_once)
                .unwrap()
                .to_string()
                .contains("no step done yet")
        );
        assert!(boot_stopped(&progress(&["cloud-init"], None)).is_none());
    }

    /// A cloud whose boot reports what the test scripted, one per poll, and
    /// whose inside read fails with `inside_code`.
    struct ScriptedBoot {
        reports: Mutex<VecDeque<BootProgress>>,
        polls: Mutex<usize>,
        inside_code: &'static str,
    }

    impl ScriptedBoot {
        fn new(reports: Vec<BootProgress>, inside_code: &'static str) -> Arc<Self> {
            Arc::new(Self {
                reports: Mutex::new(reports.into()),
                polls: Mutex::new(0),
                inside_code,
            })
        }
    }

    /// A context on `cloud` and a session on a fresh dev stack.
    fn waiting_on(cloud: Arc<ScriptedBoot>, ready_timeout: Duration) -> (Context, Session) {
        let home = tempfile::tempdir().unwrap();
        let ctx = Context {
            cloud,
            store: Store::open(home.path()).unwrap(),
            clock: Arc::new(SystemClock),
            timing: crate::deploy::Timing {
                poll: Duration::from_millis(1),
                ready_timeout,
                backoff_base: Duration::from_millis(1),
            },
            auto_rollback: false,
        };
        let state = DeploymentState::new(
            "demo",
            Tier::Dev,
            "us-east-1",
            Provider::Sandbox,
            ctx.clock.now(),
        );
        let s = Session::new(
            state,
            Box::new(MemorySink::default()),
            ctx.clock.clone(),
            None,
        );
        (ctx, s)
    }

    #[tokio::test]
    async fn the_wait_stops_at_the_first_failure_marker() {
        let cloud = ScriptedBoot::new(
            vec![
                progress(&["cloud-init"], None),
                progress(&["cloud-init", "packages", "efs-mounted"], None),
                progress(
                    &["cloud-init", "packages", "efs-mounted"],
                    Some(secrets_empty()),
                ),
                progress(&["cloud-init", "packages", "efs-mounted"], None),
            ],
            "InvalidInstanceId",
        );
        // Short, so a wait that misses the marker fails fast, as a timeout.
        let (ctx, mut s) = waiting_on(cloud.clone(), Duration::from_secs(5));
        let started = Instant::now();
        let error = wait_for_boot(&ctx, &mut s).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5), "waited it out");
        assert!(matches!(error, CloudError::Refused(_)), "{error:?}");
        assert!(error.to_string().contains("line 131"), "{error}");
        assert!(error.to_string().contains("last step done: efs-mounted"));
        assert_eq!(*cloud.polls.lock().unwrap(), 3, "polled past the failure");
    }

    #[tokio::test]
    async fn refused_credentials_end_the_health_wait_at_once_and_a_late_agent_does_not() {
        let refused = ScriptedBoot::new(Vec::new(), "AccessDeniedException");
        let (ctx, mut s) = waiting_on(refused.clone(), Duration::from_secs(30));
        let error = wait_for_health(&ctx, &mut s).await.unwrap_err();
        assert!(matches!(error, CloudError::Refused(_)), "{error:?}");
        assert!(error.to_string().contains("could not be read"), "{error}");
        assert_eq!(
            *refused.polls.lock().unwrap(),
            1,
            "read again after a refusal"
        );

        let late = ScriptedBoot::new(Vec::new(), "InvalidInstanceId");
        let (ctx, mut s) = waiting_on(late.clone(), Duration::from_millis(50));
        let error = wait_for_health(&ctx, &mut s).await.unwrap_err();
        assert!(error.to_string().contains("did not finish"), "{error}");
        assert!(*late.polls.lock().unwrap() > 1, "gave up on a late agent");
    }

    #[async_trait]
    impl Cloud for ScriptedBoot {
        fn provider(&self) -> Provider {
            Provider::Sandbox
        }
        fn typical_secs(&self, _: Stage) -> f64 {
            1.0
        }
        async fn boot_progress(&self, _: &DeploymentState) -> CloudResult<BootProgress> {
            *self.polls.lock().unwrap() += 1;
            let mut reports = self.reports.lock().unwrap();
            Ok(reports.pop_front().unwrap_or_else(|| progress(&[], None)))
        }
        async fn preflight(&self, _: &DeployRequest, _: &mut Session) -> CloudResult<()> {
            unreachable!()
        }
        async fn ensure_network(&self, _: &DeployRequest, _: &mut Session) -> CloudResult<()> {
            unreachable!()
        }
        async fn ensure_security_groups(
            &self,
            _: &DeployRequest,
            _: &mut Session,
        ) -> CloudResult<()> {
            unreachable!()
        }
        async fn ensure_storage(&self, _: &DeployRequest, _: &mut Session) -> CloudResult<()> {
            unreachable!()
        }
        async fn ensure_identity(&self, _: &DeployRequest, _: &mut Session) -> CloudResult<()> {
            unreachable!()
        }
        async fn ensure_instance(&self, _: &DeployRequest, _: &mut Session) -> CloudResult<()> {
            unreachable!()
        }
        async fn ensure_load_balancer(
            &self,
            _: &DeployRequest,
            _: &mut Session,
        ) -> CloudResult<()> {
            unreachable!()
        }
        async fn ensure_cdn(&self, _: &DeployRequest, _: &mut Session) -> CloudResult<()> {
            unreachable!()
        }
        async fn spot_notice(&self, _: &DeploymentState) -> CloudResult<Option<SpotNotice>> {
            unreachable!()
        }
        async fn service_endpoints(&self, _: &DeploymentState) -> CloudResult<Endpoints> {
            unreachable!()
        }
        async fn inside_health(
            &self,
            _: &DeploymentState,
        ) -> CloudResult<Vec<crate::instance::inside::ContainerHealth>> {
            *self.polls.lock().unwrap() += 1;
            Err(CloudError::api("SendCommand", self.inside_code, "scripted"))
        }
        async fn set_access(&self, _: &mut Session, _: &[Cidr]) -> CloudResult<()> {
            unreachable!()
        }
        async fn read_secret(&self, _: &DeploymentState, _: &str) -> CloudResult<String> {
            unreachable!()
        }
        async fn prices(&self, _: &str, _: &str) -> CloudResult<Prices> {
            unreachable!()
        }
        async fn discover_networks(&self, _: &str) -> CloudResult<Vec<NetworkChoice>> {
            unreachable!()
        }
        async fn caller_cidr(&self) -> CloudResult<Cidr> {
            unreachable!()
        }
        async fn storage_size(&self, _: &DeploymentState) -> CloudResult<Option<u64>> {
            unreachable!()
        }
        async fn read_logs(&self, _: &DeploymentState, _: &LogQuery) -> CloudResult<Vec<String>> {
            unreachable!()
        }
        async fn delete_cdn(&self, _: &mut Session) -> CloudResult<()> {
            unreachable!()
        }
        async fn delete_load_balancer(&self, _: &mut Session) -> CloudResult<()> {
            unreachable!()
        }
        async fn terminate_instance(&self, _: &mut Session) -> CloudResult<()> {
            unreachable!()
        }
        async fn delete_security_groups(&self, _: &mut Session) -> CloudResult<()> {
            unreachable!()
        }
        async fn delete_identity(&self, _: &mut Session, _: bool) -> CloudResult<()> {
            unreachable!()
        }
        async fn delete_storage(&self, _: &mut Session) -> CloudResult<()> {
            unreachable!()
        }
        async fn delete_network(&self, _: &mut Session) -> CloudResult<()> {
            unreachable!()
        }
    }
}
