//! Deploy and destroy progress on stderr: one line per stage as it finishes.

use std::collections::HashMap;

use tokio::sync::watch;

use crate::domain::stage::StageStatus;
use crate::domain::time::format_elapsed;
use crate::domain::{DeploymentState, Stage, Timestamp};
use crate::ui::symbols;

/// Print the stage transitions of the operation started at or after `since`,
/// until the sender is dropped.
pub async fn print_stages(mut rx: watch::Receiver<Option<DeploymentState>>, since: Timestamp) {
    let mut printed: HashMap<Stage, StageStatus> = HashMap::new();
    while rx.changed().await.is_ok() {
        let state = rx.borrow_and_update().clone();
        if let Some(state) = state {
            for line in new_lines(&state, since, &mut printed) {
                eprintln!("{line}");
            }
        }
    }
}

fn new_lines(
    state: &DeploymentState,
    since: Timestamp,
    printed: &mut HashMap<Stage, StageStatus>,
) -> Vec<String> {
    let Some(op) = state.operation.as_ref().filter(|op| op.started_at >= since) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for record in &op.stages {
        let seen = printed.get(&record.stage).copied();
        if seen == Some(record.status) || record.status == StageStatus::Pending {
            continue;
        }
        let finished = matches!(
            record.status,
            StageStatus::Done | StageStatus::Skipped | StageStatus::Failed
        );
        if record.status == StageStatus::Running && seen.is_some() {
            continue;
        }
        printed.insert(record.stage, record.status);
        let label = record.stage.label(op.kind);
        if !finished {
            lines.push(format!("  {} {label} …", symbols::stage(record.status)));
            continue;
        }
        let took = match (record.started_at, record.finished_at) {
            (Some(a), Some(b)) => format_elapsed(a.secs_until(b)),
            _ => String::new(),
        };
        let resource = record.stage.resource_id(state).unwrap_or("");
        let detail = record.detail.as_deref().unwrap_or("");
        lines.push(
            format!(
                "  {} {label:<16} {took:>6}  {resource} {detail}",
                symbols::stage(record.status)
            )
            .trim_end()
            .to_string(),
        );
    }
    lines
}
