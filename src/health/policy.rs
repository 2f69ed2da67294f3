//! The monitoring policy, as pure functions: what a round of probes means for
//! each service (seed 001 §7.5.1), and whether the stack should roll back.

use crate::domain::state::{RollbackRecord, RollbackTrigger, ServiceHealth, ServiceStatus};
use crate::domain::{Service, Timestamp};

use super::probe::{ProbeOutcome, ProbeSample};

/// Slower than this is a warning.
pub const WARN_MS: u64 = 2_000;
/// Slower than this counts as a failure.
pub const CRITICAL_MS: u64 = 5_000;

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// Consecutive failures of a critical service that trigger a rollback.
    pub threshold: u32,
    pub auto_rollback: bool,
    /// Automatic rollbacks allowed within `retry_window_secs` (seed: 2).
    pub max_retries: usize,
    pub retry_window_secs: f64,
    /// Read-only mode: observe, record and tell, never roll back or stop.
    pub observe_only: bool,
    /// The settings' account-wide monthly budget (`budget --all`).
    pub account_budget_usd: Option<f64>,
}

impl Policy {
    /// This policy with the stack's own auto-rollback choice (the wizard's
    /// option, kept in its config), when it made one.
    pub fn for_stack(&self, state: &crate::domain::DeploymentState) -> Policy {
        let mut policy = self.clone();
        if self.observe_only {
            policy.auto_rollback = false;
            return policy;
        }
        if let Some(on) = state
            .config
            .as_ref()
            .and_then(|c| c.auto_rollback_on_failure)
        {
            policy.auto_rollback = on;
        }
        policy
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            threshold: 3,
            auto_rollback: true,
            max_retries: 2,
            retry_window_secs: 3_600.0,
            observe_only: false,
            account_budget_usd: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Healthy,
    /// Something is off, not (yet) enough to act on.
    Degraded(Vec<String>),
    /// A critical service failed `failures` times in a row.
    RollBack {
        service: Service,
        failures: u32,
    },
    /// It should roll back, but will not: auto-rollback is off or exhausted.
    Stuck(String),
}

/// The state's `services` after a round of probes: the latest result per
/// service, failures counted (a critically slow answer is a failure) and reset
/// by any success.
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
            let too_slow = sample.outcome == ProbeOutcome::Ready && sample.latency_ms > CRITICAL_MS;
            let status = if too_slow {
                ServiceStatus::Unhealthy
            } else {
                sample.status(starting_up)
            };
            let failures = match status {
                ServiceStatus::Healthy | ServiceStatus::Starting => 0,
                _ => before.map_or(0, |b| b.consecutive_failures) + 1,
            };
            let error = if too_slow {
                Some(format!(
                    "answered in {} ms (critical above {CRITICAL_MS} ms)",
                    sample.latency_ms
                ))
            } else {
                sample.error()
            };
            Some(ServiceHealth {
                service_name: service,
                port: Some(service.port()),
                status,
                last_check: Some(now),
                response_time_ms: (sample.outcome == ProbeOutcome::Ready)
                    .then_some(sample.latency_ms),
                consecutive_failures: failures,
                error_message: error,
                oom_kills: before.map(|b| b.oom_kills.clone()).unwrap_or_default(),
                image: before.and_then(|b| b.image.clone()),
                started_at: before.and_then(|b| b.started_at),
                starts: before.and_then(|b| b.starts),
                loaded: before.and_then(|b| b.loaded.clone()),
                extra: before.map(|b| b.extra.clone()).unwrap_or_default(),
            })
        })
        .collect()
}

/// Automatic rollbacks of the last `window` seconds.
pub fn recent_automatic_rollbacks(
    history: &[RollbackRecord],
    now: Timestamp,
    window: f64,
) -> usize {
    history
        .iter()
        .filter(|r| r.trigger != RollbackTrigger::Manual)
        .filter(|r| r.timestamp.secs_until(now) <= window)
        .count()
}

pub fn evaluate(
    services: &[ServiceHealth],
    history: &[RollbackRecord],
    policy: &Policy,
    now: Timestamp,
) -> Verdict {
    let failing = services
        .iter()
        .filter(|h| h.service_name.is_critical() && h.consecutive_failures >= policy.threshold)
        .max_by_key(|h| h.consecutive_failures);
    if let Some(h) = failing {
        let why = format!(
            "{} failed {} checks in a row ({})",
            h.service_name,
            h.consecutive_failures,
            h.error_message.as_deref().unwrap_or("no answer")
        );
        if !policy.auto_rollback {
            return Verdict::Stuck(format!(
                "{why}; auto-rollback is off (settings: auto_rollback_on_failure)"
            ));
        }
        let recent = recent_automatic_rollbacks(history, now, policy.retry_window_secs);
        if recent >= policy.max_retries {
            return Verdict::Stuck(format!(
                "{why}; {recent} automatic rollbacks in the last hour already, so no more: fix the cause, then `rollback` or `deploy` again"
            ));
        }
        return Verdict::RollBack {
            service: h.service_name,
            failures: h.consecutive_failures,
        };
    }
    let mut notes = Vec::new();
    for h in services {
        match (h.status, h.response_time_ms) {
            (ServiceStatus::Healthy, Some(ms)) if ms > WARN_MS => {
                notes.push(format!("{} slow: {ms} ms", h.service_name));
            }
            (ServiceStatus::Healthy, _) => {}
            (status, _) => notes.push(format!(
                "{} {status} ({} in a row)",
                h.service_name, h.consecutive_failures
            )),
        }
    }
    if notes.is_empty() {
        Verdict::Healthy
    } else {
        Verdict::Degraded(notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: f64) -> Timestamp {
        Timestamp::from_unix_millis(1_790_000_000_000).plus_secs(secs)
    }

    fn sample(service: Service, outcome: ProbeOutcome, ms: u64) -> ProbeSample {
        ProbeSample {
            service,
            outcome,
            latency_ms: ms,
        }
    }

    fn round(
        previous: &[ServiceHealth],
        n8n: ProbeOutcome,
        ollama: ProbeOutcome,
    ) -> Vec<ServiceHealth> {
        let samples: Vec<ProbeSample> = Service::ALL
            .into_iter()
            .map(|s| match s {
                Service::N8n => sample(s, n8n.clone(), 40),
                Service::Ollama => sample(s, ollama.clone(), 20),
                _ => sample(s, ProbeOutcome::Ready, 10),
            })
            .collect();
        record_samples(previous, &samples, t(0.0), false)
    }

    fn record(trigger: RollbackTrigger, at: f64) -> RollbackRecord {
        RollbackRecord {
            timestamp: t(at),
            trigger,
            resources_deleted: vec![],
            efs_preserved: true,
            success: true,
            error_message: None,
            finished_at: Some(t(at)),
            extra: Default::default(),
        }
    }

    #[test]
    fn failures_count_and_any_success_resets() {
        let mut s = round(&[], ProbeOutcome::TimedOut, ProbeOutcome::Ready);
        s = round(&s, ProbeOutcome::TimedOut, ProbeOutcome::Ready);
        assert_eq!(s[0].consecutive_failures, 2);
        s = round(&s, ProbeOutcome::Ready, ProbeOutcome::Ready);
        assert_eq!(s[0].consecutive_failures, 0);
        assert_eq!(
            evaluate(&s, &[], &Policy::default(), t(0.0)),
            Verdict::Healthy
        );
    }

    #[test]
    fn three_failures_of_a_critical_service_roll_back() {
        let mut s = Vec::new();
        for _ in 0..2 {
            s = round(&s, ProbeOutcome::Refused, ProbeOutcome::Ready);
        }
        assert!(matches!(
            evaluate(&s, &[], &Policy::default(), t(0.0)),
            Verdict::Degraded(_)
        ));
        s = round(&s, ProbeOutcome::Refused, ProbeOutcome::Ready);
        assert_eq!(
            evaluate(&s, &[], &Policy::default(), t(0.0)),
            Verdict::RollBack {
                service: Service::N8n,
                failures: 3
            }
        );
    }

    #[test]
    fn a_non_critical_service_never_rolls_back() {
        let mut s = Vec::new();
        for _ in 0..10 {
            s = round(&s, ProbeOutcome::Ready, ProbeOutcome::Refused);
        }
        assert_eq!(s[1].consecutive_failures, 10);
        let Verdict::Degraded(notes) = evaluate(&s, &[], &Policy::default(), t(0.0)) else {
            panic!("ollama is not critical");
        };
        assert!(notes[0].contains("ollama stopped"), "{notes:?}");
    }

    #[test]
    fn the_retry_cap_stops_rollback_loops() {
        let mut s = Vec::new();
        for _ in 0..3 {
            s = round(&s, ProbeOutcome::TimedOut, ProbeOutcome::Ready);
        }
        let policy = Policy::default();
        let two = [
            record(RollbackTrigger::HealthCheckFailed, -600.0),
            record(RollbackTrigger::SpotInterruption, -60.0),
        ];
        let Verdict::Stuck(why) = evaluate(&s, &two, &policy, t(0.0)) else {
            panic!("capped")
        };
        assert!(why.contains("2 automatic rollbacks"), "{why}");
        // Old ones and manual ones do not count.
        let old = [
            record(RollbackTrigger::HealthCheckFailed, -7_200.0),
            record(RollbackTrigger::Manual, -60.0),
        ];
        assert!(matches!(
            evaluate(&s, &old, &policy, t(0.0)),
            Verdict::RollBack { .. }
        ));
    }

    #[test]
    fn auto_rollback_off_means_stuck_with_a_reason() {
        let mut s = Vec::new();
        for _ in 0..3 {
            s = round(&s, ProbeOutcome::TimedOut, ProbeOutcome::Ready);
        }
        let policy = Policy {
            auto_rollback: false,
            ..Policy::default()
        };
        let Verdict::Stuck(why) = evaluate(&s, &[], &policy, t(0.0)) else {
            panic!()
        };
        assert!(why.contains("auto_rollback_on_failure"), "{why}");
    }

    #[test]
    fn a_stack_that_chose_no_auto_rollback_overrides_the_settings() {
        let mut state = crate::domain::DeploymentState::new(
            "keep",
            crate::domain::Tier::Dev,
            "us-east-1",
            crate::domain::Provider::Sandbox,
            t(0.0),
        );
        assert!(
            Policy::default().for_stack(&state).auto_rollback,
            "no choice: settings"
        );
        state.config = Some(crate::domain::state::DeploymentConfig {
            auto_rollback_on_failure: Some(false),
            ..Default::default()
        });
        assert!(!Policy::default().for_stack(&state).auto_rollback);
        // Read-only: a stack's own choice to roll back is not taken.
        state.config = Some(crate::domain::state::DeploymentConfig {
            auto_rollback_on_failure: Some(true),
            ..Default::default()
        });
        let observing = Policy {
            observe_only: true,
            ..Policy::default()
        };
        assert!(Policy::default().for_stack(&state).auto_rollback);
        assert!(!observing.for_stack(&state).auto_rollback);
    }

    #[test]
    fn slow_is_a_warning_and_very_slow_a_failure() {
        let samples: Vec<ProbeSample> = Service::ALL
            .into_iter()
            .map(|s| match s {
                Service::N8n => sample(s, ProbeOutcome::Ready, 2_500),
                Service::Postgres => sample(s, ProbeOutcome::Ready, 6_000),
                _ => sample(s, ProbeOutcome::Ready, 10),
            })
            .collect();
        let s = record_samples(&[], &samples, t(0.0), false);
        assert_eq!(s[0].status, ServiceStatus::Healthy);
        assert_eq!(s[4].status, ServiceStatus::Unhealthy);
        assert_eq!(s[4].consecutive_failures, 1);
        assert!(
            s[4].error_message
                .as_deref()
                .unwrap()
                .contains("critical above 5000 ms")
        );
        let Verdict::Degraded(notes) = evaluate(&s, &[], &Policy::default(), t(0.0)) else {
            panic!()
        };
        assert!(
            notes.iter().any(|n| n.contains("n8n slow: 2500 ms")),
            "{notes:?}"
        );
    }
}
