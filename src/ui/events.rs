//! The `e` dialog, newest first: the stack's operations from the audit log
//! with each stage's time, then what happened to its instance. Each
//! recovery the group made on its own (a lost instance and its
//! replacement, rebuilt from the group's activities whether or not anyone
//! watched) and each switch a deploy, update or rollback made, with its gap.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::layout::{fit, wrap};
use super::theme;
use crate::app::model::Model;
use crate::domain::events::{EventOutcome, events};
use crate::domain::state::ServiceStatus;
use crate::domain::time::format_elapsed;
use crate::store::audit::{AuditEntry, AuditResult};

/// "12-02 " before each event: its own text has the time of day.
const DATE: usize = 6;
/// Operations listed; `history STACK` has them all.
const OPERATIONS: usize = 30;

pub fn dialog(model: &Model, stack: &str, scroll: u16, frame: &mut Frame, area: Rect) {
    let Some(state) = model.stacks.iter().find(|s| s.stack_name == stack) else {
        return;
    };
    let width = area.width.saturating_sub(4).min(110);
    let inner = width.saturating_sub(2) as usize;
    let heading = Line::from(Span::styled(
        "Its operations, and what happened to its instance, newest first",
        Style::new().fg(theme::accent()),
    ));
    let mut lines = vec![section("Operations")];
    lines.extend(operation_lines(model.history.get(stack), stack, inner));
    lines.push(Line::default());
    lines.push(section("Recoveries and switches"));
    lines.extend(instance_lines(state, inner));
    let title = format!(" Events of {stack} ");
    super::dialogs::scrolling(frame, area, width, &title, heading, lines, scroll);
}

fn section(name: &str) -> Line<'static> {
    Line::from(Span::styled(
        name.to_string(),
        Style::new().add_modifier(Modifier::BOLD),
    ))
}

/// A line of `mark`, the date and `text` wrapped under itself.
fn marked(
    mark: &str,
    style: Style,
    date: &str,
    text: &str,
    inner: usize,
) -> impl Iterator<Item = Line<'static>> {
    let text_width = inner.saturating_sub(DATE + 2).max(20);
    let lead = vec![
        Span::styled(format!("{mark} "), style),
        Span::styled(fit(date, DATE), theme::dim()),
    ];
    wrap(text, text_width)
        .into_iter()
        .enumerate()
        .map(move |(i, part)| {
            let lead = if i == 0 {
                lead.clone()
            } else {
                vec![Span::raw(" ".repeat(DATE + 2))]
            };
            Line::from([lead, vec![Span::raw(part)]].concat())
        })
}

/// "12-05 " of a timestamp.
fn date_of(at: crate::domain::Timestamp) -> String {
    let text = at.to_string();
    format!("{} ", text.get(5..10).unwrap_or_default())
}

fn dim(text: String, inner: usize) -> Vec<Line<'static>> {
    wrap(&text, inner)
        .into_iter()
        .map(|l| Line::from(Span::styled(l, theme::dim())))
        .collect()
}

fn operation_lines(
    read: Option<&Result<Vec<AuditEntry>, String>>,
    stack: &str,
    inner: usize,
) -> Vec<Line<'static>> {
    let ops = match read {
        None => return dim("reading the audit log…".into(), inner),
        Some(Err(e)) => return dim(e.clone(), inner),
        Some(Ok(ops)) if ops.is_empty() => return dim("None recorded yet.".into(), inner),
        Some(Ok(ops)) => ops,
    };
    let mut lines = Vec::new();
    for op in ops.iter().take(OPERATIONS) {
        lines.extend(operation(op, inner));
    }
    if ops.len() > OPERATIONS {
        let older = ops.len() - OPERATIONS;
        let more = format!("… {older} older: `geusemaker-tui history {stack}` lists them all");
        lines.extend(dim(more, inner));
    }
    lines
}

/// "● 12-05 04:16 deploy succeeded 2m 41s", why, then each stage's time.
fn operation(op: &AuditEntry, inner: usize) -> Vec<Line<'static>> {
    let (mark, status) = match op.result {
        AuditResult::Succeeded => ("●", ServiceStatus::Healthy),
        AuditResult::Failed => ("✖", ServiceStatus::Unhealthy),
        AuditResult::Refused => ("○", ServiceStatus::Stopped),
    };
    let clock = op.start.to_string().get(11..16).unwrap_or("").to_string();
    let mut text = format!(
        "{clock} {} {} in {}",
        op.operation,
        op.result.word(),
        format_elapsed(op.start.secs_until(op.end))
    );
    if let Some(why) = op.why() {
        text.push_str(": ");
        text.push_str(why);
    }
    let style = theme::service_status(status);
    let mut lines: Vec<Line<'static>> =
        marked(mark, style, &date_of(op.start), &text, inner).collect();
    let timings = op.stage_timings();
    if !timings.is_empty() {
        let indent = " ".repeat(DATE + 2);
        for part in wrap(&timings, inner.saturating_sub(DATE + 2).max(20)) {
            lines.push(Line::from(vec![
                Span::raw(indent.clone()),
                Span::styled(part, theme::dim()),
            ]));
        }
    }
    lines
}

fn instance_lines(state: &crate::domain::DeploymentState, inner: usize) -> Vec<Line<'static>> {
    let listed = events(state);
    if listed.is_empty() {
        let none = "None yet. When the group replaces a lost instance (with or without this \
                    dashboard running), the next refresh shows its timeline here; a deploy, \
                    update or rollback that changes the instance shows its switch.";
        return dim(none.into(), inner);
    }
    listed
        .iter()
        .flat_map(|event| {
            let (mark, status) = match event.outcome {
                EventOutcome::Served => ("●", ServiceStatus::Healthy),
                EventOutcome::Underway => ("◐", ServiceStatus::Starting),
                EventOutcome::Undone => ("✖", ServiceStatus::Unhealthy),
            };
            let style = theme::service_status(status);
            marked(mark, style, &date_of(event.at), &event.text, inner).collect::<Vec<_>>()
        })
        .collect()
}
