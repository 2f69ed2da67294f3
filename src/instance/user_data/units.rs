//! What the boot script installs beside itself: the writer lease, the
//! services under it, the watchdog and the spot-signal poller, as files from
//! `assets/instance/`, each written by a quoted heredoc (nothing in them is
//! expanded by the boot script).

use crate::domain::settings::InstanceChecks;

/// How often the watchdog checks the inside view (the monitor's default).
pub const WATCH_SECS: u32 = 30;

pub(super) const WRITER_LEASE: &str = include_str!("../../../assets/instance/writer-lease.sh");
pub(super) const WATCHDOG: &str = include_str!("../../../assets/instance/watchdog.sh");
pub(super) const SPOT_SIGNALS: &str = include_str!("../../../assets/instance/spot-signals.sh");
pub(super) const QDRANT_SNAPSHOTS: &str =
    include_str!("../../../assets/instance/qdrant-snapshots.sh");
pub(super) const DRAIN: &str = include_str!("../../../assets/instance/drain.sh");
pub(super) const SWITCH: &str = include_str!("../../../assets/instance/switch.sh");
/// `mark NAME`, sourced by the others: the stage markers, copied to EFS.
pub(super) const MARK: &str = include_str!("../../../assets/instance/mark.sh");

/// What the installed files are filled in with.
#[derive(Clone, Copy, Debug)]
pub(super) struct Filled<'a> {
    pub region: &'a str,
    pub stack: &'a str,
    pub checks: InstanceChecks,
    /// Where `notify` publishes; none: it says nothing.
    pub sns_topic_arn: Option<&'a str>,
}

/// (path on the instance, mode, text); `{{REGION}}`, the stack, the
/// watchdog's figures, Qdrant's snapshot period and the topic are filled in.
fn files(with: Filled<'_>) -> Vec<(String, &'static str, String)> {
    let Filled {
        region,
        stack,
        checks,
        sns_topic_arn,
    } = with;
    let unit = |name: &str| format!("/etc/systemd/system/{name}");
    let fill = |text: &str| {
        text.replace("{{REGION}}", region)
            .replace("{{STACK}}", stack)
            .replace("{{SNS_TOPIC}}", sns_topic_arn.unwrap_or_default())
            .replace("{{THRESHOLD}}", &checks.watchdog_threshold.to_string())
            .replace("{{WATCH_SECS}}", &WATCH_SECS.to_string())
            .replace(
                "{{QDRANT_SNAPSHOT_MINUTES}}",
                &checks.qdrant_snapshot_minutes.to_string(),
            )
    };
    let script = |name: &str, text: &str| (format!("/opt/geusemaker/{name}"), "0700", fill(text));
    let units: [(&str, &str); 9] = [
        (
            "geusemaker-secrets.service",
            include_str!("../../../assets/instance/geusemaker-secrets.service"),
        ),
        (
            "geusemaker-lease.service",
            include_str!("../../../assets/instance/geusemaker-lease.service"),
        ),
        (
            "geusemaker-stack.service",
            include_str!("../../../assets/instance/geusemaker-stack.service"),
        ),
        (
            "geusemaker-watchdog.service",
            include_str!("../../../assets/instance/geusemaker-watchdog.service"),
        ),
        (
            "geusemaker-watchdog.timer",
            include_str!("../../../assets/instance/geusemaker-watchdog.timer"),
        ),
        (
            "geusemaker-spot-signals.service",
            include_str!("../../../assets/instance/geusemaker-spot-signals.service"),
        ),
        (
            "geusemaker-qdrant-snapshots.service",
            include_str!("../../../assets/instance/geusemaker-qdrant-snapshots.service"),
        ),
        (
            "geusemaker-qdrant-snapshots.timer",
            include_str!("../../../assets/instance/geusemaker-qdrant-snapshots.timer"),
        ),
        (
            "docker.service.d/geusemaker-after-lease.conf",
            include_str!("../../../assets/instance/docker-after-lease.conf"),
        ),
    ];
    let mut all = vec![
        script("mark.sh", MARK),
        script("writer-lease.sh", WRITER_LEASE),
        script("watchdog.sh", WATCHDOG),
        script("spot-signals.sh", SPOT_SIGNALS),
        script("qdrant-snapshots.sh", QDRANT_SNAPSHOTS),
        script("drain.sh", DRAIN),
        script("switch.sh", SWITCH),
    ];
    all.extend(
        units
            .into_iter()
            .map(|(name, text)| (unit(name), "0644", fill(text))),
    );
    all
}

/// The boot script's lines that write every file.
pub(super) fn install_lines(with: Filled<'_>) -> String {
    files(with)
        .into_iter()
        .map(|(path, mode, text)| {
            format!(
                "cat >{path} <<'GEUSEMAKER_FILE'\n{}\nGEUSEMAKER_FILE\nchmod {mode} {path}",
                text.trim_end()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The scripts among them, filled in, for shellcheck.
#[cfg(test)]
pub(super) fn scripts(region: &str) -> Vec<(String, String)> {
    files(Filled {
        region,
        stack: "demo",
        checks: InstanceChecks::default(),
        sns_topic_arn: Some("arn:aws:sns:us-east-1:123456789012:alerts"),
    })
    .into_iter()
    .filter(|(path, _, _)| path.ends_with(".sh"))
    .map(|(path, _, text)| (path, text))
    .collect()
}
