//! One check of both views of a stack's health. *Inside*: Docker's own
//! healthchecks, read on the instance; a rollback follows it alone.
//! *Outside*: n8n through the path its users take, from this machine. When
//! only the outside fails, the stack is "unreachable from here" (a changed
//! address, a network), never rolled back.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::inside;
use crate::cloud::{Cidr, Cloud};
use crate::domain::exposure::{self, OutsideHealth};
use crate::domain::{DeploymentState, Service, Timestamp};
use crate::instance::inside::ContainerHealth;

use super::probe::{self, OutsideTarget, ProbeOutcome, ProbeSample};

const OUTSIDE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct HealthCheck {
    /// One sample per service from Docker's view, or why it could not be read.
    pub inside: Result<Vec<ProbeSample>, String>,
    pub containers: Vec<ContainerHealth>,
    /// The inside read was refused for good (credentials, permissions):
    /// waiting for health cannot end well.
    pub inside_refused: bool,
    /// `None` when the stack has no URL yet.
    pub outside: Option<OutsideHealth>,
}

impl HealthCheck {
    pub fn inside_healthy(&self) -> bool {
        self.inside
            .as_ref()
            .is_ok_and(|s| s.iter().all(|p| p.outcome == ProbeOutcome::Ready))
    }

    pub fn outside_reachable(&self) -> bool {
        self.outside.as_ref().is_some_and(|o| o.reachable)
    }

    /// Healthy inside, not reachable from here: the sentence that says why.
    pub fn unreachable_from_here(&self) -> Option<String> {
        let outside = self.outside.as_ref()?;
        (self.inside_healthy() && !outside.reachable)
            .then(|| outside.error.clone().unwrap_or_default())
    }
}

/// Check both views once, now.
pub async fn check(cloud: &dyn Cloud, state: &DeploymentState, now: Timestamp) -> HealthCheck {
    let (inside, outside) = tokio::join!(cloud.inside_health(state), outside(cloud, state, now));
    let inside_refused = inside.as_ref().is_err_and(|e| e.waiting_cannot_fix());
    let (inside, containers) = match inside {
        Ok(containers) => (Ok(inside::samples(&containers)), containers),
        Err(e) => (Err(e.to_string()), Vec::new()),
    };
    HealthCheck {
        inside,
        containers,
        inside_refused,
        outside,
    }
}

async fn outside(
    cloud: &dyn Cloud,
    state: &DeploymentState,
    now: Timestamp,
) -> Option<OutsideHealth> {
    let target = outside_target(cloud, state).await?;
    let sample = match cloud.http() {
        Some(http) => probe::probe_outside_with(http, &target, OUTSIDE_TIMEOUT).await,
        None => probe::probe_outside(&target, OUTSIDE_TIMEOUT).await,
    };
    let reachable = sample.outcome == ProbeOutcome::Ready;
    let error = if reachable {
        None
    } else {
        let why = sample.error().unwrap_or_default();
        let caller = cloud.caller_cidr().await.ok();
        Some(unreachable_reason(state, caller.as_ref(), &why))
    };
    Some(OutsideHealth {
        at: now,
        url: target.url,
        reachable,
        response_time_ms: reachable.then_some(sample.latency_ms),
        error,
    })
}

/// n8n's public URL, and where to connect instead when the services are
/// reached some other way (`--service-endpoints`: SSM forwarding, tests).
pub async fn outside_target(cloud: &dyn Cloud, state: &DeploymentState) -> Option<OutsideTarget> {
    let url = state
        .n8n_url
        .clone()
        .or_else(|| exposure::n8n_public_url(state))?;
    let connect_to = match cloud.service_endpoints(state).await {
        Ok(endpoints) => endpoints.get(&Service::N8n).and_then(|ep| {
            let ip: IpAddr = ep.host.parse().ok()?;
            let same = url_host(&url) == Some(ep.host.as_str());
            (!same).then_some(SocketAddr::new(ip, ep.port))
        }),
        Err(_) => None,
    };
    Some(OutsideTarget { url, connect_to })
}

fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    Some(authority.rsplit_once(':').map_or(authority, |(h, _)| h))
}

/// "unreachable from here: 203.0.113.7 is not among the allowed CIDRs
/// (198.51.100.7/32)", or the probe's own reason when the address is fine.
pub fn unreachable_reason(state: &DeploymentState, caller: Option<&Cidr>, why: &str) -> String {
    let allowed = exposure::allowed_cidrs(state);
    // Where the internet may come in (gpu's CloudFront, --public), the
    // caller's address is not the gate.
    let gated = !allowed.is_empty() && !exposure::exposure(state).iter().any(|r| r.is_world_open());
    let admitted = |caller: &Cidr| {
        allowed
            .iter()
            .filter_map(|c| Cidr::parse(c).ok())
            .any(|c| c.contains(caller))
    };
    if let Some(caller) = caller
        && gated
        && !admitted(caller)
    {
        let address = caller.as_str().trim_end_matches("/32");
        return format!(
            "unreachable from here: {address} is not among the allowed CIDRs ({}); \
             add it with `geusemaker-tui access {} --add {}`",
            allowed.join(", "),
            state.stack_name,
            caller
        );
    }
    format!("unreachable from here: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::state::DeploymentConfig;
    use crate::domain::{Provider, Tier};

    fn dev() -> DeploymentState {
        let mut s = DeploymentState::new(
            "demo",
            Tier::Dev,
            "us-east-1",
            Provider::Aws,
            Timestamp::from_unix_millis(0),
        );
        s.config = Some(DeploymentConfig {
            allowed_cidrs: vec!["198.51.100.7/32".into()],
            ..DeploymentConfig::default()
        });
        s
    }

    #[test]
    fn a_caller_outside_the_set_is_named() {
        let moved = Cidr::parse("203.0.113.7/32").unwrap();
        let why = unreachable_reason(&dev(), Some(&moved), "timed out");
        assert!(
            why.starts_with("unreachable from here: 203.0.113.7 is not among the allowed CIDRs (198.51.100.7/32)"),
            "{why}"
        );
        assert!(why.contains("access demo --add 203.0.113.7/32"), "{why}");
        let home = Cidr::parse("198.51.100.7/32").unwrap();
        assert_eq!(
            unreachable_reason(&dev(), Some(&home), "timed out"),
            "unreachable from here: timed out"
        );
    }

    #[test]
    fn the_url_host_is_found() {
        assert_eq!(url_host("http://203.0.113.9:5678"), Some("203.0.113.9"));
        assert_eq!(
            url_host("https://d1.cloudfront.net/x"),
            Some("d1.cloudfront.net")
        );
    }
}
