//! A deliberate switch of the stack's instance (an update, a rollback):
//! prepare, then switch. The new instance boots to ready-to-start beside
//! the old one, which serves; then the old one drains and releases the
//! writer lease, and the new one takes it and goes in service. The gap from
//! the old one's services stopping to the new one's being healthy is the
//! honest figure of what the change cost, not "zero downtime".

use serde::{Deserialize, Serialize};

use super::time::{Timestamp, format_elapsed};

/// How a switch ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchOutcome {
    /// The new instance serves; the old one is gone.
    Switched,
    /// The new one never became healthy: it let go, and the old one took
    /// the lease back and serves again.
    FellBack,
    /// The new one never became ready, so the old one never stopped.
    Abandoned,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Switch {
    pub from_instance: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_instance: Option<String>,
    /// The launch template version switched to.
    pub to_version: i64,
    pub started_at: Timestamp,
    /// The new instance at ready-to-start: images here, EFS mounted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_at: Option<Timestamp>,
    /// The old instance began to drain: n8n stops first, so the outage
    /// starts here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<Timestamp>,
    /// Healthy again: the new instance in service, or after a fall-back
    /// the old one serving again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving_at: Option<Timestamp>,
    pub outcome: SwitchOutcome,
    /// Where the old instance's drain wrote n8n's database before a newer
    /// n8n could migrate it (on the EFS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_dump: Option<String>,
    /// A fall-back put that dump back before the old n8n started again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub database_restored: bool,
}

impl Switch {
    /// From the services stopping to serving again.
    pub fn gap_secs(&self) -> Option<f64> {
        let (stopped, serving) = (self.stopped_at?, self.serving_at?);
        Some(stopped.secs_until(serving).max(0.0))
    }

    /// "switch to v3: i-old → i-new, down for 0:41" and the like.
    pub fn summary(&self) -> String {
        let to = self.to_instance.as_deref().unwrap_or("a new instance");
        let gap = self
            .gap_secs()
            .map(|g| format!(", down for {}", format_elapsed(g)))
            .unwrap_or_default();
        let v = self.to_version;
        let dump = match (&self.database_dump, self.database_restored) {
            (Some(path), true) => format!("; n8n's database restored from {path}"),
            (Some(path), false) => format!("; n8n's database dumped to {path}"),
            (None, _) => String::new(),
        };
        let said = match self.outcome {
            SwitchOutcome::Switched => {
                format!("switch to v{v}: {} → {to}{gap}", self.from_instance)
            }
            SwitchOutcome::FellBack => format!(
                "switch to v{v} failed: {to} never became healthy; {} serves again{gap}",
                self.from_instance
            ),
            SwitchOutcome::Abandoned => format!(
                "switch to v{v} abandoned: {to} never became ready; {} never stopped",
                self.from_instance
            ),
        };
        format!("{said}{dump}")
    }
}

/// "; switch to v3: i-old → i-new, down for 41.0s" after a stage that
/// switched, else nothing.
pub fn told(state: &super::DeploymentState, switched: bool) -> String {
    match state.switches.last() {
        Some(last) if switched => format!("; {}", last.summary()),
        _ => String::new(),
    }
}

/// Keep the newest few in the state.
pub const KEPT: usize = 10;

pub fn push(switches: &mut Vec<Switch>, switch: Switch) {
    switches.push(switch);
    let extra = switches.len().saturating_sub(KEPT);
    switches.drain(..extra);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_800_000_000_000 + secs * 1000)
    }

    fn switch(outcome: SwitchOutcome) -> Switch {
        Switch {
            from_instance: "i-old".into(),
            to_instance: Some("i-new".into()),
            to_version: 3,
            started_at: at(0),
            ready_at: Some(at(60)),
            stopped_at: Some(at(70)),
            serving_at: Some(at(111)),
            outcome,
            database_dump: None,
            database_restored: false,
        }
    }

    #[test]
    fn the_gap_runs_from_the_services_stopping_to_serving_again() {
        let s = switch(SwitchOutcome::Switched);
        assert_eq!(s.gap_secs(), Some(41.0));
        assert_eq!(s.summary(), "switch to v3: i-old → i-new, down for 41.0s");
        let back = switch(SwitchOutcome::FellBack);
        assert!(
            back.summary()
                .contains("i-old serves again, down for 41.0s")
        );
        let never = Switch {
            stopped_at: None,
            serving_at: None,
            ..switch(SwitchOutcome::Abandoned)
        };
        assert_eq!(never.gap_secs(), None);
        assert!(never.summary().ends_with("i-old never stopped"));
        let restored = Switch {
            database_dump: Some("/mnt/efs/backups/x.dump".into()),
            database_restored: true,
            ..switch(SwitchOutcome::FellBack)
        };
        assert!(
            restored
                .summary()
                .ends_with("; n8n's database restored from /mnt/efs/backups/x.dump")
        );
    }

    #[test]
    fn only_the_newest_are_kept() {
        let mut all = Vec::new();
        for v in 0..(KEPT as i64 + 3) {
            push(
                &mut all,
                Switch {
                    to_version: v,
                    ..switch(SwitchOutcome::Switched)
                },
            );
        }
        assert_eq!(all.len(), KEPT);
        assert_eq!(all[0].to_version, 3);
    }
}
