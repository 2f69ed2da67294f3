//! The service catalogue: the five containers of the stack and how each one is
//! known to be healthy. One table, so the prober, the sandbox and the views agree.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use strum::{AsRefStr, Display, EnumIter, EnumString, IntoStaticStr};

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    EnumIter,
    AsRefStr,
    IntoStaticStr,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Service {
    N8n,
    Ollama,
    Qdrant,
    Crawl4ai,
    Postgres,
}

/// How a service is asked whether it is ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    /// `GET path` answered with a 2xx.
    Http { path: &'static str },
    /// A PostgreSQL startup packet answered by an authentication request:
    /// unlike a bare TCP connect, this tells "starting up" from "ready".
    Postgres,
}

impl Service {
    pub const ALL: [Service; 5] = [
        Service::N8n,
        Service::Ollama,
        Service::Qdrant,
        Service::Crawl4ai,
        Service::Postgres,
    ];

    pub fn name(self) -> &'static str {
        self.into()
    }

    pub fn port(self) -> u16 {
        match self {
            Service::N8n => 5678,
            Service::Ollama => 11434,
            Service::Qdrant => 6333,
            Service::Crawl4ai => 11235,
            Service::Postgres => 5432,
        }
    }

    pub fn probe(self) -> ProbeKind {
        match self {
            Service::N8n => ProbeKind::Http {
                path: "/healthz/readiness",
            },
            Service::Ollama => ProbeKind::Http {
                path: "/api/version",
            },
            Service::Qdrant => ProbeKind::Http { path: "/readyz" },
            Service::Crawl4ai => ProbeKind::Http { path: "/health" },
            Service::Postgres => ProbeKind::Postgres,
        }
    }

    /// Probe timeouts of seed 001 §6.2.
    pub fn probe_timeout(self) -> Duration {
        Duration::from_secs(match self {
            Service::Ollama => 10,
            Service::Postgres => 3,
            _ => 5,
        })
    }

    /// A critical service failing is what triggers a rollback (seed 001 §4.6).
    pub fn is_critical(self) -> bool {
        matches!(self, Service::N8n | Service::Postgres)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn names_round_trip() {
        for s in Service::ALL {
            assert_eq!(Service::from_str(s.name()).unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.name())
            );
        }
    }

    #[test]
    fn crawl4ai_uses_the_current_image_port() {
        assert_eq!(Service::Crawl4ai.port(), 11235);
        assert!(Service::N8n.is_critical() && Service::Postgres.is_critical());
        assert!(!Service::Ollama.is_critical());
    }
}
