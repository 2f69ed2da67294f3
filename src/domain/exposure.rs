//! Who can reach what: each listening port of a stack, who may connect to it
//! and over what, worked out from its tier and config. `status`, the plan and
//! the dashboard show this table; the AWS stages open exactly these rules.

use serde::{Deserialize, Serialize};
use strum::{Display, EnumString};

use super::state::DeploymentState;
use super::{Service, Tier};

/// How far beyond the allowed CIDRs an automation stack's ALB is open.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Display, EnumString,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Publish {
    /// The allowed CIDRs only.
    #[default]
    Private,
    /// The whole internet, over HTTPS only.
    Public,
    /// The internet may reach `/webhook*`; the rest only the allowed CIDRs.
    PublicWebhooks,
}

/// Who may open a connection.
pub const INTERNET: &str = "0.0.0.0/0";
pub const FROM_ALB: &str = "the load balancer's group";
pub const FROM_CLOUDFRONT: &str = "CloudFront (origin-facing prefix list)";
pub const FROM_LOOPBACK: &str = "127.0.0.1 on the instance (use `forward`)";

/// The managed prefix list of CloudFront's origin-facing addresses.
pub const CLOUDFRONT_PREFIX_LIST: &str = "com.amazonaws.global.cloudfront.origin-facing";

/// One listening port.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExposureRow {
    /// "instance", "load balancer" or "CloudFront".
    pub listener: &'static str,
    pub port: u16,
    /// What answers there: a service, or "redirect to 443".
    pub serves: String,
    pub from: Vec<String>,
    /// "HTTP", "HTTPS" or "TCP".
    pub over: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ExposureRow {
    pub fn is_world_open(&self) -> bool {
        self.from.iter().any(|f| f == INTERNET)
    }
}

/// The outside view of health: n8n through the path its users take, as
/// last seen from the machine that checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutsideHealth {
    pub at: super::Timestamp,
    pub url: String,
    pub reachable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_time_ms: Option<u64>,
    /// Why it was not reachable, in a sentence ("unreachable from here: ...").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// n8n's port on the instance.
pub const N8N_PORT: u16 = 5678;

pub fn publish_of(state: &DeploymentState) -> Publish {
    state
        .config
        .as_ref()
        .and_then(|c| c.publish)
        .unwrap_or_default()
}

pub fn allowed_cidrs(state: &DeploymentState) -> Vec<String> {
    state
        .config
        .as_ref()
        .map(|c| c.allowed_cidrs.clone())
        .unwrap_or_default()
}

fn has_certificate(state: &DeploymentState) -> bool {
    state
        .config
        .as_ref()
        .is_some_and(|c| c.certificate_arn.is_some())
}

/// Every listening port of the stack, outermost first.
pub fn exposure(state: &DeploymentState) -> Vec<ExposureRow> {
    let cidrs = allowed_cidrs(state);
    let mut rows = Vec::new();
    match state.tier() {
        Tier::Dev => rows.push(row("instance", N8N_PORT, "n8n", cidrs, "HTTP", None)),
        Tier::Automation => {
            rows.extend(load_balancer_rows(state, cidrs));
            rows.push(row(
                "instance",
                N8N_PORT,
                "n8n",
                vec![FROM_ALB.into()],
                "HTTP",
                None,
            ));
        }
        Tier::Gpu => {
            rows.push(row(
                "CloudFront",
                443,
                "n8n",
                vec![INTERNET.into()],
                "HTTPS",
                Some(
                    "n8n's owner is set up before any traffic; its login guards the editor".into(),
                ),
            ));
            rows.push(row(
                "load balancer",
                80,
                "n8n",
                vec![FROM_CLOUDFRONT.into()],
                "HTTP",
                Some("403 without CloudFront's secret origin header".into()),
            ));
            rows.push(row(
                "instance",
                N8N_PORT,
                "n8n",
                vec![FROM_ALB.into()],
                "HTTP",
                None,
            ));
        }
    }
    rows.extend(internal_rows());
    rows
}

fn load_balancer_rows(state: &DeploymentState, cidrs: Vec<String>) -> Vec<ExposureRow> {
    if !has_certificate(state) {
        return vec![row("load balancer", 80, "n8n", cidrs, "HTTP", None)];
    }
    let (from, note) = match publish_of(state) {
        Publish::Private => (cidrs, None),
        Publish::Public => (vec![INTERNET.into()], None),
        Publish::PublicWebhooks => (
            vec![INTERNET.into()],
            Some(format!(
                "/webhook* from anywhere; everything else 403 unless from {}",
                cidrs.join(", ")
            )),
        ),
    };
    vec![
        row("load balancer", 443, "n8n", from.clone(), "HTTPS", note),
        row("load balancer", 80, "redirect to 443", from, "HTTP", None),
    ]
}

fn internal_rows() -> Vec<ExposureRow> {
    [
        (Service::Postgres, "TCP", "password"),
        (Service::Qdrant, "HTTP", "API key"),
        (
            Service::Ollama,
            "HTTP",
            "no authentication: the network is its only guard",
        ),
        (
            Service::Crawl4ai,
            "HTTP",
            "its 0.6 image ignores its token: the network is its only guard",
        ),
    ]
    .into_iter()
    .map(|(service, over, note)| {
        row(
            "instance",
            service.port(),
            service.name(),
            vec![FROM_LOOPBACK.into()],
            over,
            Some(note.into()),
        )
    })
    .collect()
}

fn row(
    listener: &'static str,
    port: u16,
    serves: &str,
    from: Vec<String>,
    over: &'static str,
    note: Option<String>,
) -> ExposureRow {
    ExposureRow {
        listener,
        port,
        serves: serves.to_string(),
        from,
        over,
        note,
    }
}

/// The URL users open n8n at, when it is known: the CloudFront domain, the
/// user's domain, the ALB's DNS name, or the dev instance's address.
pub fn n8n_public_url(state: &DeploymentState) -> Option<String> {
    match state.tier() {
        Tier::Gpu => state
            .cloudfront_domain
            .as_ref()
            .map(|d| format!("https://{d}")),
        Tier::Automation => {
            let domain = state.config.as_ref().and_then(|c| c.domain.clone());
            match (domain, has_certificate(state)) {
                (Some(domain), true) => Some(format!("https://{domain}")),
                _ => state.alb_dns_name.as_ref().map(|d| format!("http://{d}")),
            }
        }
        Tier::Dev => state
            .public_ip
            .as_ref()
            .map(|ip| format!("http://{ip}:{N8N_PORT}")),
    }
}

/// How to sign in to the stack's n8n: its owner's e-mail and where the
/// password is (never the password itself).
pub fn sign_in(state: &DeploymentState) -> String {
    let email = state
        .config
        .as_ref()
        .and_then(|c| c.owner_email.as_deref())
        .unwrap_or("its owner");
    format!(
        "sign in as {email}; password: geusemaker-tui secret {} n8n-owner-password",
        state.stack_name
    )
}

/// Proxies in front of n8n, for `N8N_PROXY_HOPS`.
pub fn proxy_hops(tier: Tier) -> u8 {
    match tier {
        Tier::Dev => 0,
        Tier::Automation => 1,
        Tier::Gpu => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::state::DeploymentConfig;
    use crate::domain::{Provider, Timestamp};

    fn stack(tier: Tier, f: impl FnOnce(&mut DeploymentConfig)) -> DeploymentState {
        let mut s = DeploymentState::new(
            "demo",
            tier,
            "us-east-1",
            Provider::Aws,
            Timestamp::from_unix_millis(0),
        );
        let mut config = DeploymentConfig {
            allowed_cidrs: vec!["198.51.100.7/32".into()],
            ..DeploymentConfig::default()
        };
        f(&mut config);
        s.config = Some(config);
        s
    }

    fn cert(c: &mut DeploymentConfig) {
        c.certificate_arn = Some("arn:aws:acm:us-east-1:123456789012:certificate/x".into());
        c.domain = Some("n8n.example.com".into());
    }

    #[test]
    fn only_n8n_listens_beyond_the_instance_and_nothing_is_world_open_by_default() {
        for tier in Tier::ALL {
            let rows = exposure(&stack(tier, |_| {}));
            let outside: Vec<_> = rows
                .iter()
                .filter(|r| !r.from.contains(&FROM_LOOPBACK.to_string()))
                .collect();
            assert!(
                outside
                    .iter()
                    .all(|r| r.serves == "n8n" || r.serves.starts_with("redirect"))
            );
            let world: Vec<_> = rows.iter().filter(|r| r.is_world_open()).collect();
            // CloudFront is the gpu tier's front door; its origin is closed.
            assert_eq!(
                world.len(),
                usize::from(tier == Tier::Gpu),
                "{tier}: {world:?}"
            );
            let internal = rows.iter().filter(|r| r.from == [FROM_LOOPBACK]).count();
            assert_eq!(internal, 4, "{tier}");
        }
    }

    #[test]
    fn public_automation_opens_only_https_and_the_redirect() {
        for publish in [Publish::Public, Publish::PublicWebhooks] {
            let rows = exposure(&stack(Tier::Automation, |c| {
                cert(c);
                c.publish = Some(publish);
            }));
            let world: Vec<_> = rows
                .iter()
                .filter(|r| r.is_world_open())
                .map(|r| (r.port, r.over))
                .collect();
            assert_eq!(world, [(443, "HTTPS"), (80, "HTTP")]);
        }
    }

    #[test]
    fn signing_in_names_the_owner_and_the_secret_never_its_value() {
        let s = stack(Tier::Dev, |c| c.owner_email = Some("me@example.com".into()));
        assert_eq!(
            sign_in(&s),
            "sign in as me@example.com; password: geusemaker-tui secret demo n8n-owner-password"
        );
    }

    #[test]
    fn the_public_url_follows_the_tier() {
        let mut dev = stack(Tier::Dev, |_| {});
        dev.public_ip = Some("203.0.113.9".into());
        assert_eq!(
            n8n_public_url(&dev).as_deref(),
            Some("http://203.0.113.9:5678")
        );
        let mut auto = stack(Tier::Automation, cert);
        auto.alb_dns_name = Some("lb.elb.amazonaws.com".into());
        assert_eq!(
            n8n_public_url(&auto).as_deref(),
            Some("https://n8n.example.com")
        );
        let mut plain = stack(Tier::Automation, |_| {});
        plain.alb_dns_name = Some("lb.elb.amazonaws.com".into());
        assert_eq!(
            n8n_public_url(&plain).as_deref(),
            Some("http://lb.elb.amazonaws.com")
        );
        let mut gpu = stack(Tier::Gpu, |_| {});
        gpu.cloudfront_domain = Some("d1.cloudfront.net".into());
        assert_eq!(
            n8n_public_url(&gpu).as_deref(),
            Some("https://d1.cloudfront.net")
        );
    }
}
