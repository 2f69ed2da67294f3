//! `history STACK`: every operation from the audit log with its stage
//! timings, and every recovery, switch and rollback the state holds,
//! newest first.

use serde::Serialize;

use crate::domain::events::{self, EventOutcome};
use crate::domain::time::format_elapsed;
use crate::domain::{DeploymentState, StackName, Timestamp};
use crate::runtime::Runtime;
use crate::store::audit::{self, AuditEntry};

use super::Failure;
use super::output::print_json;

#[derive(Debug, Serialize)]
struct History<'a> {
    stack_name: &'a str,
    /// Newest first.
    operations: &'a [AuditEntry],
    /// Recoveries and switches, newest first.
    events: Vec<EventLine>,
    rollbacks: &'a [crate::domain::state::RollbackRecord],
}

#[derive(Debug, Serialize)]
struct EventLine {
    at: Timestamp,
    outcome: &'static str,
    text: String,
}

pub fn history(rt: &Runtime, stack: &StackName, json: bool) -> Result<(), Failure> {
    let state = super::load_existing(rt, stack)?;
    let path = rt.store.audit_path();
    let operations = audit::of_stack(&path, stack.as_str())
        .map_err(|e| Failure::failed(format!("could not read {}: {e}", path.display())))?;
    let history = History {
        stack_name: &state.stack_name,
        operations: &operations,
        events: event_lines(&state),
        rollbacks: &state.rollback_history,
    };
    if json {
        return print_json(&history);
    }
    print!("{}", text(&history));
    Ok(())
}

fn event_lines(state: &DeploymentState) -> Vec<EventLine> {
    events::events(state)
        .into_iter()
        .map(|e| EventLine {
            at: e.at,
            outcome: match e.outcome {
                EventOutcome::Served => "served",
                EventOutcome::Underway => "underway",
                EventOutcome::Undone => "undone",
            },
            text: e.text,
        })
        .collect()
}

/// "2026-12-04 21:47:15" of a timestamp.
fn when(at: Timestamp) -> String {
    at.to_string().get(..19).unwrap_or("").replace('T', " ")
}

fn text(h: &History<'_>) -> String {
    let mut out = String::new();
    if h.operations.is_empty() && h.events.is_empty() {
        out.push_str(&format!("{} has no history yet\n", h.stack_name));
        return out;
    }
    out.push_str(&format!(
        "{}: {} operations, {} recoveries and switches, {} rollbacks (newest first)\n",
        h.stack_name,
        h.operations.len(),
        h.events.len(),
        h.rollbacks.len()
    ));
    for op in h.operations {
        let result = op.result.word();
        let why = op.why().map(|e| format!("  {e}")).unwrap_or_default();
        out.push_str(&format!(
            "{}  {:<9} {:<9} {:>7}{why}\n",
            when(op.start),
            op.operation,
            result,
            format_elapsed(op.start.secs_until(op.end))
        ));
        if !op.stages.is_empty() {
            out.push_str(&format!("{:21}{}\n", "", op.stage_timings()));
        }
    }
    if !h.events.is_empty() {
        out.push_str("\nrecoveries and switches\n");
        for e in &h.events {
            // The text carries its own clock times.
            let date = when(e.at).get(..10).unwrap_or("").to_string();
            out.push_str(&format!("{date}  {}\n", e.text));
        }
    }
    out
}
