//! The user-data stage markers: the boot script appends one line per step
//! ("name timestamp") to a file on the instance; GeuseMaker reads it. A boot
//! that fails appends one "failed:<line> <timestamp> <what failed>" line.

use std::fmt;

use crate::domain::Tier;

/// Every tier's markers, in the order the script writes them.
pub const BOOT_MARKERS: [&str; 8] = [
    "cloud-init",
    "packages",
    "efs-mounted",
    "secrets",
    "images-pulled",
    // Written by the lease unit: this instance alone runs the services.
    "lease-taken",
    "compose-up",
    // n8n's owner exists: no outside visitor can claim it.
    "owner-ready",
];

/// The gpu tier's last marker says where Ollama ended up running.
pub const OLLAMA_ON_GPU: &str = "ollama-gpu";
pub const OLLAMA_ON_CPU: &str = "ollama-cpu";

/// What starts the one line a failed boot writes (see `assets/user-data.sh`).
pub const FAILED_PREFIX: &str = "failed:";

/// Where and why the boot script stopped, from its failure marker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootFailure {
    /// The script's line that failed, when the marker says.
    pub line: Option<u32>,
    /// What failed, in words ("secrets: ... is empty"); may be empty.
    pub reason: String,
}

impl fmt::Display for BootFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = if self.reason.is_empty() {
            "no reason given"
        } else {
            &self.reason
        };
        match self.line {
            Some(line) => write!(f, "line {line} of the user-data script: {reason}"),
            None => write!(f, "{reason}"),
        }
    }
}

/// The boot's failure, if `file` has a failure marker (the first one: later
/// ones can only follow from it).
pub fn failure(file: &str) -> Option<BootFailure> {
    file.lines().find_map(parse_failure)
}

/// `failed:<line> [<timestamp>] <reason...>`; the timestamp is skipped when
/// present, so a hand-written "failed:42 secrets" reads too.
fn parse_failure(line: &str) -> Option<BootFailure> {
    let rest = line.trim().strip_prefix(FAILED_PREFIX)?;
    let (at, rest) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let rest = rest.trim_start();
    let reason = match rest.split_once(char::is_whitespace) {
        Some((first, tail)) if is_timestamp(first) => tail,
        None if is_timestamp(rest) => "",
        _ => rest,
    };
    Some(BootFailure {
        line: at.parse().ok(),
        reason: reason.trim().to_string(),
    })
}

/// What `date -u +%Y-%m-%dT%H:%M:%SZ` prints: 2026-11-23T10:00:00Z.
fn is_timestamp(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() == 20 && b[4] == b'-' && b[10] == b'T' && b[19] == b'Z'
}

/// How many markers a finished boot has written.
pub fn marker_total(tier: Tier) -> usize {
    BOOT_MARKERS.len() + usize::from(tier == Tier::Gpu)
}

/// The markers in `file`, in script order; on the gpu tier either Ollama
/// marker counts as the last step.
pub fn markers_done(tier: Tier, file: &str) -> Vec<String> {
    let written: Vec<&str> = file
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut done: Vec<String> = BOOT_MARKERS
        .iter()
        .filter(|m| written.contains(m))
        .map(|m| m.to_string())
        .collect();
    if tier == Tier::Gpu
        && let Some(device) = [OLLAMA_ON_GPU, OLLAMA_ON_CPU]
            .into_iter()
            .find(|m| written.contains(m))
    {
        done.push(device.to_string());
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "cloud-init 2026-11-23T10:00:00Z\npackages 2026-11-23T10:01:00Z\n\
        efs-mounted 2026-11-23T10:01:10Z\nsecrets 2026-11-23T10:01:11Z\n\
        images-pulled 2026-11-23T10:03:00Z\nlease-taken 2026-11-23T10:03:01Z\ncompose-up 2026-11-23T10:03:20Z\n\
        owner-ready 2026-11-23T10:04:10Z\n";

    #[test]
    fn a_dev_boot_is_done_once_the_owner_is_set_up() {
        let before_owner = FILE.replace("owner-ready 2026-11-23T10:04:10Z\n", "");
        assert_eq!(
            markers_done(Tier::Dev, &before_owner).len(),
            marker_total(Tier::Dev) - 1,
            "compose up is not the end: n8n has no owner yet"
        );
        assert_eq!(markers_done(Tier::Dev, FILE).len(), marker_total(Tier::Dev));
        assert_eq!(
            markers_done(Tier::Dev, "cloud-init x\n"),
            vec!["cloud-init"]
        );
    }

    #[test]
    fn a_gpu_boot_ends_saying_where_ollama_runs() {
        assert_eq!(
            markers_done(Tier::Gpu, FILE).len(),
            marker_total(Tier::Gpu) - 1
        );
        let on_cpu = format!("{FILE}ollama-cpu 2026-11-23T10:03:40Z\n");
        let done = markers_done(Tier::Gpu, &on_cpu);
        assert_eq!(done.len(), marker_total(Tier::Gpu));
        assert_eq!(done.last().map(String::as_str), Some(OLLAMA_ON_CPU));
    }

    #[test]
    fn a_failure_marker_says_where_and_why() {
        let file = "cloud-init 2026-11-23T10:00:00Z\npackages 2026-11-23T10:01:00Z\n\
            efs-mounted 2026-11-23T10:01:10Z\n\
            failed:131 2026-11-23T10:05:25Z secrets: /geusemaker/demo/postgres-password is empty\n";
        let failed = failure(file).unwrap();
        assert_eq!(failed.line, Some(131));
        assert_eq!(
            failed.reason,
            "secrets: /geusemaker/demo/postgres-password is empty"
        );
        assert_eq!(
            failed.to_string(),
            "line 131 of the user-data script: secrets: /geusemaker/demo/postgres-password is empty"
        );
        // The failure line is not a step done.
        assert_eq!(markers_done(Tier::Dev, file).len(), 3);
        assert_eq!(failure(FILE), None);
    }

    #[test]
    fn failure_markers_read_in_every_shape() {
        let read = |file: &str| failure(file).map(|f| (f.line, f.reason));
        assert_eq!(
            read("failed:42 secrets\n"),
            Some((Some(42), "secrets".into()))
        );
        assert_eq!(
            read("failed:7 2026-11-23T10:00:00Z\n"),
            Some((Some(7), String::new()))
        );
        assert_eq!(
            read("failed:x 2026-11-23T10:00:00Z pulling images (exit 1)"),
            Some((None, "pulling images (exit 1)".into()))
        );
        assert_eq!(
            read("  failed:9  2026-11-23T10:00:00Z  a  b \r\n"),
            Some((Some(9), "a  b".into()))
        );
        // The first failure is the cause.
        assert_eq!(
            read("failed:3 first\nfailed:9 second\n"),
            Some((Some(3), "first".into()))
        );
        assert_eq!(read("secrets failed:3\n"), None);
        assert_eq!(
            BootFailure {
                line: None,
                reason: String::new()
            }
            .to_string(),
            "no reason given"
        );
    }
}
