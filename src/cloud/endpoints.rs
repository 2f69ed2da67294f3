//! Where each service answers. Normally the instance's address and the
//! service's port; `GEUSEMAKER_SERVICE_ENDPOINTS` / `--service-endpoints`
//! override it (SSM port forwarding, tunnels, and tests on loopback).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::domain::Service;

pub const ENDPOINTS_ENV: &str = "GEUSEMAKER_SERVICE_ENDPOINTS";

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

pub type Endpoints = BTreeMap<Service, Endpoint>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad service endpoint {entry:?}: {reason}. Write it as n8n=HOST:PORT,ollama=HOST:PORT,...")]
pub struct BadEndpoints {
    pub entry: String,
    pub reason: String,
}

/// Parse `n8n=127.0.0.1:5678,postgres=[::1]:5432`.
pub fn parse_overrides(text: &str) -> Result<Endpoints, BadEndpoints> {
    let mut out = Endpoints::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let bad = |reason: &str| BadEndpoints {
            entry: entry.to_string(),
            reason: reason.to_string(),
        };
        let (name, addr) = entry.split_once('=').ok_or_else(|| bad("missing '='"))?;
        let service = Service::from_str(name.trim())
            .map_err(|_| bad("unknown service (use n8n, ollama, qdrant, crawl4ai, postgres)"))?;
        let (host, port) = addr
            .trim()
            .rsplit_once(':')
            .ok_or_else(|| bad("missing ':PORT'"))?;
        let port = port
            .parse()
            .map_err(|_| bad("port is not a number 1-65535"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || port == 0 {
            return Err(bad("empty host or port 0"));
        }
        out.insert(
            service,
            Endpoint {
                host: host.to_string(),
                port,
            },
        );
    }
    Ok(out)
}

/// Every service at `host` on its standard port, with `overrides` on top.
pub fn resolve(host: &str, overrides: &Endpoints) -> Endpoints {
    Service::ALL
        .into_iter()
        .map(|s| {
            let ep = overrides.get(&s).cloned().unwrap_or(Endpoint {
                host: host.to_string(),
                port: s.port(),
            });
            (s, ep)
        })
        .collect()
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_overrides() {
        let eps = parse_overrides("n8n=127.0.0.1:15678, postgres=[::1]:5433").unwrap();
        assert_eq!(eps[&Service::N8n].to_string(), "127.0.0.1:15678");
        assert_eq!(eps[&Service::Postgres].host, "::1");
        let all = resolve("10.0.0.5", &eps);
        assert_eq!(all[&Service::Qdrant].to_string(), "10.0.0.5:6333");
        assert_eq!(all[&Service::N8n].port, 15678);
    }

    #[test]
    fn rejects_bad_entries_with_the_entry_named() {
        for bad in [
            "n8n",
            "web=1.2.3.4:1",
            "n8n=host",
            "n8n=host:99999",
            "n8n=:80",
        ] {
            let err = parse_overrides(bad).unwrap_err();
            assert!(err.to_string().contains("HOST:PORT"), "{bad}: {err}");
        }
    }
}
