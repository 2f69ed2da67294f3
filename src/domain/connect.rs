//! How to reach a stack: n8n's URL, its webhook base and how to sign in;
//! for each internal service the `forward` command and the local URL it
//! gives, with the secret it needs; and the exposure. `connect`, the end of
//! a deploy and the dashboard's Connect view all show this one value.

use serde::Serialize;

use super::exposure::{self, ExposureRow};
use super::state::DeploymentState;
use super::{Provider, Service};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Connection {
    pub stack_name: String,
    pub status: String,
    pub n8n: N8nAccess,
    /// The services only the instance reaches, each through `forward`.
    pub internal: Vec<Forwarded>,
    pub exposure: Vec<ExposureRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct N8nAccess {
    /// `None` until the stack has an address.
    pub url: Option<String>,
    /// Production webhooks: `<base><path>` of a Webhook node.
    pub webhook_base: Option<String>,
    /// The editor's "listen for test event" webhooks.
    pub webhook_test_base: Option<String>,
    pub owner_email: Option<String>,
    /// The command that prints the owner's password (it is never shown here).
    pub password_command: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Forwarded {
    pub service: Service,
    /// The service's port on the instance (loopback there).
    pub port: u16,
    pub forward_command: String,
    pub local_url: String,
    /// The command that prints the credential it asks for, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_command: Option<String>,
    /// How the credential is passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_use: Option<&'static str>,
}

/// The services `forward` reaches, in the order shown.
pub const INTERNAL: [Service; 4] = [
    Service::Ollama,
    Service::Qdrant,
    Service::Crawl4ai,
    Service::Postgres,
];

/// The secret a service asks for, and how it is passed.
pub fn credential(service: Service) -> Option<(&'static str, &'static str)> {
    match service {
        Service::Postgres => Some(("postgres-password", "password of user n8n")),
        Service::Qdrant => Some(("qdrant-api-key", "header api-key")),
        Service::Crawl4ai => Some(("crawl4ai-api-token", "header Authorization: Bearer")),
        Service::N8n | Service::Ollama => None,
    }
}

/// `postgresql://…` for PostgreSQL, else `http://127.0.0.1:PORT`.
pub fn local_url(service: Service, port: u16) -> String {
    match service {
        Service::Postgres => format!("postgresql://n8n@127.0.0.1:{port}/n8n"),
        _ => format!("http://127.0.0.1:{port}"),
    }
}

/// This program's command line for `stack`, with `--sandbox` where needed.
pub fn command(state: &DeploymentState, rest: &str) -> String {
    let sandbox = if state.provider == Provider::Sandbox {
        " --sandbox"
    } else {
        ""
    };
    format!("geusemaker-tui{sandbox} {rest}")
}

/// One line of the Connect view: what it is, the text `y` copies, and a
/// note beside it.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub label: String,
    pub value: String,
    pub note: String,
}

/// The Connect view's rows, in order: n8n's, then one per internal service.
pub fn items(c: &Connection) -> Vec<Item> {
    let item = |label: &str, value: &str, note: &str| Item {
        label: label.into(),
        value: value.into(),
        note: note.into(),
    };
    let mut items = Vec::new();
    if let Some(url) = &c.n8n.url {
        items.push(item("n8n", url, "the editor; o opens it"));
    }
    if let Some(base) = &c.n8n.webhook_base {
        items.push(item("webhooks", base, "+ a Webhook node's path"));
    }
    if let Some(base) = &c.n8n.webhook_test_base {
        items.push(item("test hooks", base, "while the editor listens"));
    }
    let email = c.n8n.owner_email.as_deref().unwrap_or("the owner");
    items.push(item(
        "password",
        &c.n8n.password_command,
        &format!("sign in as {email}"),
    ));
    for f in &c.internal {
        let note = match (&f.credential_command, f.credential_use) {
            (Some(cmd), Some(how)) => format!("→ {} · {how}: {cmd}", f.local_url),
            _ => format!("→ {}", f.local_url),
        };
        items.push(item(f.service.as_ref(), &f.forward_command, &note));
    }
    items
}

pub fn of(state: &DeploymentState) -> Connection {
    let stack = &state.stack_name;
    let url = state
        .n8n_url
        .as_deref()
        .filter(|u| !u.is_empty())
        .map(|u| u.trim_end_matches('/').to_string());
    let internal = INTERNAL
        .iter()
        .map(|&service| {
            let cred = credential(service);
            Forwarded {
                service,
                port: service.port(),
                forward_command: command(state, &format!("forward {stack} {service}")),
                local_url: local_url(service, service.port()),
                credential_command: cred
                    .map(|(name, _)| command(state, &format!("secret {stack} {name}"))),
                credential_use: cred.map(|(_, how)| how),
            }
        })
        .collect();
    Connection {
        stack_name: stack.clone(),
        status: state.status.to_string(),
        n8n: N8nAccess {
            webhook_base: url.as_ref().map(|u| format!("{u}/webhook/")),
            webhook_test_base: url.as_ref().map(|u| format!("{u}/webhook-test/")),
            url,
            owner_email: state.config.as_ref().and_then(|c| c.owner_email.clone()),
            password_command: command(state, &format!("secret {stack} n8n-owner-password")),
        },
        internal,
        exposure: exposure::exposure(state),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Tier;
    use crate::domain::state::DeploymentConfig;

    fn state(provider: Provider) -> DeploymentState {
        let now = "2026-12-04T10:00:00Z".parse().unwrap();
        let mut s = DeploymentState::new("demo", Tier::Dev, "us-east-1", provider, now);
        s.n8n_url = Some("http://203.0.113.9:5678/".into());
        s.config = Some(DeploymentConfig {
            owner_email: Some("me@example.com".into()),
            allowed_cidrs: vec!["198.51.100.23/32".into()],
            ..DeploymentConfig::default()
        });
        s
    }

    #[test]
    fn n8n_its_webhooks_and_a_forward_for_each_internal_service() {
        let c = of(&state(Provider::Aws));
        assert_eq!(c.n8n.url.as_deref(), Some("http://203.0.113.9:5678"));
        assert_eq!(
            c.n8n.webhook_base.as_deref(),
            Some("http://203.0.113.9:5678/webhook/")
        );
        assert_eq!(
            c.n8n.webhook_test_base.as_deref(),
            Some("http://203.0.113.9:5678/webhook-test/")
        );
        assert_eq!(c.n8n.owner_email.as_deref(), Some("me@example.com"));
        assert_eq!(
            c.n8n.password_command,
            "geusemaker-tui secret demo n8n-owner-password"
        );
        let forwards: Vec<_> = c
            .internal
            .iter()
            .map(|f| (f.forward_command.as_str(), f.local_url.as_str()))
            .collect();
        assert_eq!(
            forwards,
            [
                (
                    "geusemaker-tui forward demo ollama",
                    "http://127.0.0.1:11434"
                ),
                (
                    "geusemaker-tui forward demo qdrant",
                    "http://127.0.0.1:6333"
                ),
                (
                    "geusemaker-tui forward demo crawl4ai",
                    "http://127.0.0.1:11235"
                ),
                (
                    "geusemaker-tui forward demo postgres",
                    "postgresql://n8n@127.0.0.1:5432/n8n"
                ),
            ]
        );
        let qdrant = &c.internal[1];
        assert_eq!(
            qdrant.credential_command.as_deref(),
            Some("geusemaker-tui secret demo qdrant-api-key")
        );
        assert!(c.exposure.iter().any(|r| r.serves == "n8n"));
    }

    #[test]
    fn a_sandbox_stacks_commands_say_sandbox_and_no_address_means_no_url() {
        let mut s = state(Provider::Sandbox);
        s.n8n_url = None;
        let c = of(&s);
        assert_eq!(c.n8n.url, None);
        assert_eq!(c.n8n.webhook_base, None);
        assert!(
            c.internal[0]
                .forward_command
                .starts_with("geusemaker-tui --sandbox forward demo")
        );
    }
}
