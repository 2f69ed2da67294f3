//! The inside view of health: Docker's own healthcheck of each container,
//! read on the instance. It is what a rollback follows; the outside view
//! (n8n through the path its users take) only says whether the stack can
//! be reached from here.

use super::probe::{ProbeOutcome, ProbeSample};
use crate::domain::Service;
use crate::instance::inside::ContainerHealth;

impl ContainerHealth {
    /// As a probe sample, so that one policy counts failures for both views.
    pub fn sample(&self) -> ProbeSample {
        let outcome = match (self.state.as_str(), self.health.as_deref()) {
            ("running", Some("healthy") | None) => ProbeOutcome::Ready,
            ("running", Some("starting")) => {
                ProbeOutcome::NotReady("Docker healthcheck starting".into())
            }
            ("running", Some(other)) => ProbeOutcome::Failed(format!(
                "Docker healthcheck {other} ({} failed in a row)",
                self.failing_streak
            )),
            ("restarting", _) => ProbeOutcome::NotReady("container restarting".into()),
            (state, _) => ProbeOutcome::Failed(format!("container {state}")),
        };
        ProbeSample {
            service: self.service,
            outcome,
            latency_ms: self.probe_ms.unwrap_or(0),
        }
    }
}

/// A sample for each of the five services; one with no container is down.
pub fn samples(containers: &[ContainerHealth]) -> Vec<ProbeSample> {
    Service::ALL
        .into_iter()
        .map(
            |service| match containers.iter().find(|c| c.service == service) {
                Some(c) => c.sample(),
                None => ProbeSample {
                    service,
                    outcome: ProbeOutcome::Failed("no container".into()),
                    latency_ms: 0,
                },
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::inside::parse;

    const HEALTHY: &str = r#"{"Status":"running","Running":true,"StartedAt":"2026-12-02T05:00:00.123456789Z","Health":{"Status":"healthy","FailingStreak":0,"Log":[{"Start":"2026-12-02T05:01:00.000000000Z","End":"2026-12-02T05:01:00.042000000Z","ExitCode":0,"Output":""}]}}"#;

    #[test]
    fn docker_state_gives_health_start_and_probe_time() {
        let text = format!(
            "n8n\t{HEALTHY}\nsidecar\t{HEALTHY}\nollama\t{}\n",
            r#"{"Status":"exited","StartedAt":"0001-01-01T00:00:00Z"}"#
        );
        let found = parse(&text).unwrap();
        assert_eq!(found.len(), 2, "an unknown service is skipped");
        let n8n = &found[0];
        assert_eq!(n8n.service, Service::N8n);
        assert_eq!(n8n.probe_ms, Some(42));
        assert!(n8n.started_at.is_some());
        assert_eq!(n8n.sample().outcome, ProbeOutcome::Ready);
        assert_eq!(found[1].started_at, None, "the zero time is no start");
        assert!(
            matches!(found[1].sample().outcome, ProbeOutcome::Failed(ref w) if w == "container exited")
        );
        let all = samples(&found);
        assert_eq!(all.len(), 5);
        assert!(
            all.iter()
                .filter(|s| s.outcome == ProbeOutcome::Ready)
                .count()
                == 1
        );
    }

    #[test]
    fn unhealthy_and_starting_are_told_apart() {
        let unhealthy = HEALTHY.replace(
            r#""Status":"healthy","FailingStreak":0"#,
            r#""Status":"unhealthy","FailingStreak":4"#,
        );
        let starting = HEALTHY.replace(r#""Status":"healthy""#, r#""Status":"starting""#);
        let found = parse(&format!("n8n {unhealthy}\npostgres {starting}")).unwrap();
        assert!(
            matches!(found[0].sample().outcome, ProbeOutcome::Failed(ref w) if w.contains("4 failed"))
        );
        assert!(matches!(
            found[1].sample().outcome,
            ProbeOutcome::NotReady(_)
        ));
    }
}
