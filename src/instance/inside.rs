//! What `assets/inside-health.sh` prints on the instance (through SSM on
//! AWS), parsed: Docker's own healthcheck of each container, and its OOM
//! kills. `health::inside` makes the inside view of health of it.
//!
//! On the instance, `assets/inside-health.sh` prints one line per container:
//! the compose service name, a tab, and `docker inspect`'s `.State` as JSON.

use serde::Deserialize;

use crate::domain::{Service, Timestamp};

/// One container as Docker on the instance sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerHealth {
    pub service: Service,
    /// Docker's state: "running", "restarting", "exited", ...
    pub state: String,
    /// Docker's healthcheck: "healthy", "unhealthy", "starting"; `None`
    /// when the image declares none.
    pub health: Option<String>,
    pub started_at: Option<Timestamp>,
    /// The image it runs, `repository:tag`.
    pub image: Option<String>,
    /// Times Docker started it in the last 24 hours: the first start, its
    /// own restarts and a user's alike.
    pub starts: u32,
    /// How long the last healthcheck took, on the instance.
    pub probe_ms: Option<u64>,
    pub failing_streak: u32,
    /// Docker's OOM kills of it in the last 24 hours, oldest first.
    pub oom_kills: Vec<Timestamp>,
    /// Ollama on a GPU instance: what `/api/ps` says is in memory, and where.
    pub loaded: Option<Vec<crate::domain::models::LoadedModel>>,
}

/// What starts an OOM-kill line of the script's output, and a start's.
const OOM_LINE: &str = "#oom";
const START_LINE: &str = "#start";
/// Ollama's `/api/ps`, on a GPU instance.
const PS_LINE: &str = "#ps";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerState {
    status: String,
    #[serde(default)]
    started_at: Option<String>,
    #[serde(default)]
    health: Option<DockerHealth>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerHealth {
    status: String,
    #[serde(default)]
    failing_streak: u32,
    #[serde(default)]
    log: Option<Vec<DockerProbe>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerProbe {
    start: String,
    end: String,
}

/// Parse the script's output. Lines of unknown services are skipped (a
/// container the user added); a line that does not parse is an error, named.
pub fn parse(text: &str) -> Result<Vec<ContainerHealth>, String> {
    let mut out = Vec::new();
    let mut ooms = Vec::new();
    let mut starts = Vec::new();
    let mut loaded = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(ps) = line.strip_prefix(PS_LINE) {
            loaded = Some(crate::domain::models::parse_loaded(ps.trim())?);
            continue;
        }
        if let Some(rest) = line.strip_prefix(OOM_LINE) {
            ooms.push(parse_event(rest)?);
            continue;
        }
        if let Some(rest) = line.strip_prefix(START_LINE) {
            starts.push(parse_event(rest)?);
            continue;
        }
        let Some((name, rest)) = line.split_once(char::is_whitespace) else {
            return Err(format!("unexpected line from the instance: {line:.80}"));
        };
        // "<image>\t<json>"; an image name has no tab and never starts a JSON object.
        let (image, json) = match rest.trim().split_once('\t') {
            Some((image, json)) if !image.starts_with('{') => (Some(image.trim()), json),
            _ => (None, rest),
        };
        let Ok(service) = name.parse::<Service>() else {
            continue;
        };
        let state: DockerState = serde_json::from_str(json.trim())
            .map_err(|e| format!("{service}'s Docker state does not parse: {e}"))?;
        out.push(ContainerHealth {
            service,
            started_at: state.started_at.as_deref().and_then(docker_time),
            probe_ms: state.health.as_ref().and_then(last_probe_ms),
            failing_streak: state.health.as_ref().map_or(0, |h| h.failing_streak),
            health: state.health.map(|h| h.status),
            state: state.status,
            image: image.filter(|i| !i.is_empty()).map(str::to_string),
            starts: 0,
            oom_kills: Vec::new(),
            loaded: None,
        });
    }
    for (service, _) in starts.into_iter().flatten() {
        if let Some(c) = out.iter_mut().find(|c| c.service == service) {
            c.starts += 1;
        }
    }
    for (service, at) in ooms.into_iter().flatten() {
        if let Some(c) = out.iter_mut().find(|c| c.service == service) {
            c.oom_kills.push(at);
        }
    }
    for c in &mut out {
        c.oom_kills.sort();
        if c.service == Service::Ollama {
            c.loaded = loaded.clone();
        }
    }
    Ok(out)
}

/// `<service> <unix seconds>`; `None` for a service not ours.
fn parse_event(rest: &str) -> Result<Option<(Service, Timestamp)>, String> {
    let mut words = rest.split_whitespace();
    let (Some(name), Some(secs), None) = (words.next(), words.next(), words.next()) else {
        return Err(format!(
            "unexpected event line from the instance: {rest:.80}"
        ));
    };
    let secs: i64 = secs
        .parse()
        .map_err(|_| format!("an event line's time is not Unix seconds: {secs:.20}"))?;
    Ok(name
        .parse::<Service>()
        .ok()
        .map(|service| (service, Timestamp::from_unix_millis(secs * 1000))))
}

/// Carry each container's OOM kills, image, start time and starts into the
/// recorded health of its service.
pub fn record_containers(
    services: &mut [crate::domain::state::ServiceHealth],
    containers: &[ContainerHealth],
) {
    for health in services {
        if let Some(c) = containers.iter().find(|c| c.service == health.service_name) {
            health.oom_kills = c.oom_kills.clone();
            health.image = c.image.clone();
            health.started_at = c.started_at;
            health.starts = Some(c.starts);
            health.loaded = c.loaded.clone();
        }
    }
}

fn docker_time(text: &str) -> Option<Timestamp> {
    // Docker writes the zero time for a container that never started.
    let at = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    (at.timestamp() > 0).then(|| Timestamp::from_unix_millis(at.timestamp_millis()))
}

fn last_probe_ms(health: &DockerHealth) -> Option<u64> {
    let last = health.log.as_ref()?.last()?;
    let start = docker_time(&last.start)?;
    let end = docker_time(&last.end)?;
    u64::try_from(end.unix_millis() - start.unix_millis()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEALTHY: &str = r#"{"Status":"running","Running":true,"StartedAt":"2026-12-02T05:00:00.123456789Z","Health":{"Status":"healthy","FailingStreak":0,"Log":[{"Start":"2026-12-02T05:01:00.000000000Z","End":"2026-12-02T05:01:00.042000000Z","ExitCode":0,"Output":""}]}}"#;

    #[test]
    fn ollamas_loaded_models_go_to_its_container_only() {
        let ps = r#"{"models":[{"name":"llama3.1:8b","size":100,"size_vram":0}]}"#;
        let text = format!("ollama\t{HEALTHY}\nn8n\t{HEALTHY}\n#ps {ps}\n");
        let parsed = parse(&text).unwrap();
        let ollama = parsed
            .iter()
            .find(|c| c.service == Service::Ollama)
            .unwrap();
        let loaded = ollama.loaded.as_deref().unwrap();
        assert_eq!(loaded[0].processor(), "CPU");
        assert!(
            parsed
                .iter()
                .all(|c| c.service == Service::Ollama || c.loaded.is_none())
        );
        assert!(
            parse(&format!("ollama\t{HEALTHY}\n")).unwrap()[0]
                .loaded
                .is_none()
        );
        assert!(
            parse("#ps {not json").is_err(),
            "a bad answer is named, not skipped"
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_healthy_stack() {
        assert!(parse("n8n {not json").is_err());
        assert!(parse("loneword").is_err());
        assert_eq!(parse("").unwrap(), Vec::new());
    }

    #[test]
    fn oom_kills_are_carried_to_their_service_and_bad_lines_refused() {
        let text = format!(
            "ollama\t{HEALTHY}\nn8n\t{HEALTHY}\n#oom ollama 1764651600\n#oom sidecar 1764651601\n\
             #oom ollama 1764648000\n"
        );
        let parsed = parse(&text).unwrap();
        let ollama = parsed
            .iter()
            .find(|c| c.service == Service::Ollama)
            .unwrap();
        assert_eq!(
            ollama.oom_kills,
            vec![
                Timestamp::from_unix_millis(1_764_648_000_000),
                Timestamp::from_unix_millis(1_764_651_600_000)
            ],
            "oldest first"
        );
        assert!(
            parsed
                .iter()
                .find(|c| c.service == Service::N8n)
                .unwrap()
                .oom_kills
                .is_empty()
        );
        assert!(parse("#oom ollama soon").is_err());
        assert!(parse("#oom ollama").is_err());
    }

    #[test]
    fn the_image_and_the_starts_of_the_last_day_are_read() {
        let text = format!(
            "n8n\tn8nio/n8n:1.81.4\t{HEALTHY}\npostgres\t{HEALTHY}\n             #start n8n 1764648000\n#start n8n 1764651600\n#start sidecar 1764651601\n"
        );
        let parsed = parse(&text).unwrap();
        let n8n = parsed.iter().find(|c| c.service == Service::N8n).unwrap();
        assert_eq!(n8n.image.as_deref(), Some("n8nio/n8n:1.81.4"));
        assert_eq!(n8n.starts, 2);
        assert_eq!(n8n.health.as_deref(), Some("healthy"));
        let postgres = parsed
            .iter()
            .find(|c| c.service == Service::Postgres)
            .unwrap();
        assert_eq!((postgres.image.as_deref(), postgres.starts), (None, 0));
    }
}
