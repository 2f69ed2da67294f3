//! Compose-style log lines of the sandbox's containers, derived from the
//! world's timeline: any process asking at the same time gets the same lines.

use crate::domain::{Service, Timestamp};

use super::timing;
use super::world::{ServiceEventKind, World};

const OLLAMA_ON_CPU: &str =
    "inference compute id=cpu library=cpu total=\"7.6 GiB\" available=\"6.9 GiB\"";
const OLLAMA_ON_T4: &str = "inference compute id=GPU-5c1e0a7d library=cuda variant=v12 compute=7.5 driver=12.4 name=\"Tesla T4\" total=\"14.6 GiB\" available=\"14.5 GiB\"";

/// g4dn, g5, p3...: an instance Ollama finds a GPU on.
fn has_gpu(instance_type: &str) -> bool {
    instance_type.starts_with('g') || instance_type.starts_with('p')
}

/// (fraction of the service's start-up time, message)
fn boot_lines(service: Service) -> &'static [(f64, &'static str)] {
    match service {
        Service::Postgres => &[
            (
                0.0,
                "PostgreSQL Database directory appears to contain a database; Skipping initialization",
            ),
            (
                0.3,
                "starting PostgreSQL 16.4 on x86_64-pc-linux-musl, compiled by gcc (Alpine 13.2.1) 13.2.1, 64-bit",
            ),
            (0.6, "listening on IPv4 address \"0.0.0.0\", port 5432"),
            (1.0, "database system is ready to accept connections"),
        ],
        Service::Qdrant => &[
            (0.0, "Qdrant DB version: 1.12.4"),
            (0.5, "Loading collection: documents (1 segments)"),
            (1.0, "Qdrant HTTP listening on 6333"),
        ],
        Service::Ollama => &[
            (0.0, "Listening on [::]:11434 (version 0.5.7)"),
            (0.6, OLLAMA_ON_CPU),
            (1.0, "llama3.2:3b ready (models on /mnt/efs/ollama)"),
        ],
        Service::Crawl4ai => &[
            (0.0, "Starting Crawl4AI server on 0.0.0.0:11235"),
            (0.7, "Browser pool warmed up (1 chromium instance)"),
            (1.0, "Application startup complete."),
        ],
        Service::N8n => &[
            (0.0, "Initializing n8n process"),
            (
                0.4,
                "Migrations in progress, please do NOT stop the process.",
            ),
            (0.8, "n8n ready on ::, port 5678"),
            (1.0, "Editor is now accessible via: http://localhost:5678"),
        ],
    }
}

/// Seconds between routine lines once a service is up.
fn routine_period(service: Service) -> f64 {
    match service {
        Service::N8n => 7.0,
        Service::Ollama => 5.0,
        Service::Qdrant => 6.0,
        Service::Crawl4ai => 9.0,
        Service::Postgres => 30.0,
    }
}

fn routine_lines(service: Service) -> &'static [&'static str] {
    match service {
        Service::N8n => &[
            "Workflow \"RAG ingest\" (id 3) executed: success in 1.42s",
            "Workflow \"Daily digest\" (id 7) executed: success in 0.88s",
            "Webhook received: POST /webhook/chat",
            "Pruning old execution data (2 executions)",
        ],
        Service::Ollama => &[
            "[GIN] 200 |   84.211ms | 172.18.0.6 | POST \"/api/embeddings\"",
            "[GIN] 200 |  1.204563s | 172.18.0.6 | POST \"/api/chat\"",
            "[GIN] 200 |     412µs | 172.18.0.1 | GET  \"/api/version\"",
        ],
        Service::Qdrant => &[
            "POST /collections/documents/points/search HTTP/1.1\" 200 4.1ms",
            "PUT /collections/documents/points?wait=true HTTP/1.1\" 200 12.7ms",
            "GET /readyz HTTP/1.1\" 200 0.1ms",
        ],
        Service::Crawl4ai => &[
            "POST /crawl 200 (3 urls, 2.91s)",
            "GET /health 200",
            "Browser pool: 1 active, 0 queued",
        ],
        Service::Postgres => &[
            "checkpoint starting: time",
            "checkpoint complete: wrote 24 buffers (0.1%); write=2.4 s, sync=0.01 s",
        ],
    }
}

/// What the user-data script logs as it writes each stage marker.
fn boot_message(marker: &str) -> &'static str {
    match marker {
        "cloud-init" => "cloud-init: user data started",
        "packages" => "installed docker, the compose plugin and amazon-efs-utils",
        "efs-mounted" => "mounted EFS at /mnt/efs (tls, _netdev, nofail)",
        "secrets" => "read 3 secrets from SSM Parameter Store",
        "images-pulled" => "pulled n8n, ollama, qdrant, crawl4ai, postgres (pinned tags)",
        "lease-taken" => "took the writer lease (flock on /mnt/efs/.geusemaker/writer.lock)",
        "compose-up" => "docker compose up -d: 5 containers started",
        "owner-ready" => "n8n's owner is set up; completing the launch hook",
        "drain-started:spot-notice" => "spot interruption notice: draining",
        "drain-n8n-stopped" => "n8n stopped gracefully",
        "drain-postgres-stopped" => "CHECKPOINT; postgres stopped cleanly",
        "drain-qdrant-snapshot" => "Qdrant: a last snapshot of each changed collection to EFS",
        "lease-released" => "released the writer lease",
        "drained" => "drained; marked Unhealthy in its group",
        _ => "boot step done",
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SimLine {
    pub at: Timestamp,
    /// `None` for the instance's own boot lines.
    pub service: Option<Service>,
    pub message: String,
}

impl SimLine {
    /// `docker compose logs -t` format (boot lines come from `user-data`).
    pub fn compose(&self) -> String {
        let name = match self.service {
            Some(s) => format!("{s}-1"),
            None => "user-data".to_string(),
        };
        format!("{name:<11} | {} {}", self.at, self.message)
    }
}

/// Lines in `[from, to]`, oldest first.
pub fn lines_between(world: &World, from: Timestamp, to: Timestamp) -> Vec<SimLine> {
    let mut out = Vec::new();
    if let Some(instance) = world.current_instance() {
        for (marker, at) in instance.markers(world.speed) {
            if at >= from && at <= to && instance.terminated_at.is_none_or(|end| at <= end) {
                out.push(SimLine {
                    at,
                    service: None,
                    message: boot_message(marker).to_string(),
                });
            }
        }
    }
    let on_gpu = world
        .instances
        .last()
        .is_some_and(|i| has_gpu(&i.instance_type));
    for service in Service::ALL {
        let ready_after = timing::service_ready_after(service) / world.speed;
        for run in runs(world, service, to) {
            let mut push = |at: Timestamp, message: &str| {
                if at >= from && at <= to && run.end.is_none_or(|e| at <= e) {
                    out.push(SimLine {
                        at,
                        service: Some(service),
                        message: message.to_string(),
                    });
                }
            };
            for (fraction, message) in boot_lines(service) {
                let message = match *message {
                    OLLAMA_ON_CPU if on_gpu => OLLAMA_ON_T4,
                    other => other,
                };
                push(run.start.plus_secs(fraction * ready_after), message);
            }
            let ready = run.start.plus_secs(ready_after);
            let period = routine_period(service);
            let first = ((ready.secs_until(from)) / period).floor().max(0.0) as u64 + 1;
            let last_t = run.end.map_or(to, |e| e.min(to));
            let last = (ready.secs_until(last_t) / period).floor() as u64;
            let routine = routine_lines(service);
            for k in first..=last {
                let message = routine[(k as usize * 7 + service as usize) % routine.len()];
                push(ready.plus_secs(k as f64 * period), message);
            }
            if let Some(end) = run.end {
                push(end, run.end_message);
            }
        }
    }
    out.sort_by_key(|l| l.at);
    out
}

/// The last `n` lines up to `to` (or all since the instance started).
pub fn tail(world: &World, to: Timestamp, n: usize) -> Vec<SimLine> {
    let Some(instance) = world.current_instance() else {
        return Vec::new();
    };
    let mut window = 60.0;
    loop {
        let from = to.plus_secs(-window).max(instance.launched_at);
        let lines = lines_between(world, from, to);
        if lines.len() >= n || from == instance.launched_at {
            let skip = lines.len().saturating_sub(n);
            return lines.into_iter().skip(skip).collect();
        }
        window *= 4.0;
    }
}

struct Run {
    start: Timestamp,
    end: Option<Timestamp>,
    end_message: &'static str,
}

/// The intervals during which a service's container ran on the current instance.
fn runs(world: &World, service: Service, to: Timestamp) -> Vec<Run> {
    let Some(instance) = world.current_instance() else {
        return Vec::new();
    };
    let mut runs = Vec::new();
    let mut open = Some(instance.compose_up_at(world.speed));
    for event in world.events_since(service, instance.launched_at, to) {
        match (event.kind, open) {
            (ServiceEventKind::Killed, Some(start)) => {
                runs.push(Run {
                    start,
                    end: Some(event.at),
                    end_message: "exited with code 137 (killed)",
                });
                open = None;
            }
            (ServiceEventKind::OomKilled, Some(start)) => {
                runs.push(Run {
                    start,
                    end: Some(event.at),
                    end_message: "exited with code 137 (OOM-killed over its memory limit); restarting",
                });
                open = Some(event.at);
            }
            (ServiceEventKind::Restored, None) => open = Some(event.at),
            _ => {}
        }
    }
    if let Some(start) = open {
        runs.push(Run {
            start,
            end: instance.service_stops_at(service, world.speed),
            end_message: if instance.drain_from.is_some() {
                "stopped by the drain (SIGTERM, graceful)"
            } else {
                "received SIGTERM: instance shutting down"
            },
        });
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::sandbox::world::ServiceEvent;

    fn t(secs: f64) -> Timestamp {
        Timestamp::from_unix_millis(1_700_000_000_000).plus_secs(secs)
    }

    fn world() -> World {
        crate::cloud::sandbox::world::test_world(t(0.0))
    }

    #[test]
    fn boot_lines_appear_in_order_and_lines_are_deterministic() {
        let w = world();
        let a = lines_between(&w, t(0.0), t(30.0));
        let b = lines_between(&w, t(0.0), t(30.0));
        assert_eq!(a, b);
        assert!(a.windows(2).all(|p| p[0].at <= p[1].at));
        let ready = a
            .iter()
            .find(|l| l.message.contains("ready to accept connections"))
            .unwrap();
        assert_eq!(ready.service, Some(Service::Postgres));
        assert!(
            a.iter()
                .any(|l| l.service.is_none() && l.message.contains("mounted EFS"))
        );
        assert!(
            a.iter()
                .any(|l| l.message.contains("Editor is now accessible"))
        );
        assert!(a[0].compose().starts_with("postgres-1  | ") || a[0].compose().contains(" | "));
    }

    #[test]
    fn ollama_reports_the_gpu_on_a_gpu_instance_and_the_cpu_elsewhere() {
        let ollama = |w: &World| -> Vec<String> {
            lines_between(w, t(0.0), t(60.0))
                .into_iter()
                .filter(|l| l.message.starts_with("inference compute"))
                .map(|l| l.message)
                .collect()
        };
        let mut w = world();
        assert!(ollama(&w)[0].contains("library=cpu"), "{:?}", ollama(&w));
        for i in &mut w.instances {
            i.instance_type = "g4dn.xlarge".into();
        }
        assert!(ollama(&w)[0].contains("library=cuda"), "{:?}", ollama(&w));
    }

    #[test]
    fn a_kill_ends_the_stream_until_restored() {
        let mut w = world();
        w.service_events.push(ServiceEvent {
            at: t(40.0),
            service: Service::N8n,
            kind: ServiceEventKind::Killed,
        });
        let lines = lines_between(&w, t(0.0), t(100.0));
        let n8n: Vec<_> = lines
            .iter()
            .filter(|l| l.service == Some(Service::N8n))
            .collect();
        assert!(n8n.last().unwrap().message.contains("exited with code 137"));
        assert!(n8n.iter().all(|l| l.at <= t(40.0)));
    }

    #[test]
    fn tail_returns_the_last_lines() {
        let w = world();
        let all = lines_between(&w, t(0.0), t(600.0));
        let last = tail(&w, t(600.0), 5);
        assert_eq!(last.len(), 5);
        assert_eq!(last, all[all.len() - 5..].to_vec());
    }
}
