//! Pipeline: the selected stack's current (or last) operation, stage by stage,
//! with resource ids, elapsed times and a gauge on the running stage.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::layout::{fit, truncate};
use super::{symbols, theme};
use crate::app::model::{Model, Pane};
use crate::domain::stage::{OperationKind, StageRecord};
use crate::domain::time::format_elapsed;
use crate::domain::{DeploymentState, StageStatus, Timestamp};

const GAUGE_WIDTH: usize = 8;
/// A stage that runs past its usual time shows as nearly, never fully, done.
const OVERDUE_SHARE: f64 = 0.95;

/// Rows the pane wants inside its border.
pub fn rows(model: &Model) -> u16 {
    match model.selected_stack() {
        Some(s) => match &s.operation {
            Some(op) => op.stages.len() as u16 + u16::from(op.error.is_some()),
            None => s.tier().deploy_stages().len() as u16,
        },
        None => 3,
    }
}

pub fn render(model: &Model, frame: &mut Frame, area: Rect) {
    let focused = model.focus == Pane::Pipeline;
    let Some(state) = model.selected_stack() else {
        let block = theme::pane(" Pipeline ", focused);
        let text = Paragraph::new("Select a stack, or press n to deploy one.")
            .style(theme::dim())
            .block(block);
        frame.render_widget(text, area);
        return;
    };
    let room = area.width.saturating_sub(4) as usize;
    let block = theme::pane(truncate(&title(state), room), focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let lines: Vec<Line> = match &state.operation {
        Some(op) => {
            let mut lines: Vec<Line> = op
                .stages
                .iter()
                .map(|r| stage_line(state, r, op.kind, model.now, width))
                .collect();
            if let Some(error) = &op.error {
                lines.push(Line::from(Span::styled(
                    truncate(&format!("✖ {error}"), width),
                    Style::new().fg(theme::bad()),
                )));
            }
            lines
        }
        None => recorded_resources(state, width),
    };
    frame.render_widget(Paragraph::new(lines), inner);
}

fn title(state: &DeploymentState) -> String {
    let verb = match state.operation.as_ref().map(|o| o.kind) {
        Some(OperationKind::Destroy) => "Destroy",
        Some(OperationKind::Rollback) => "Rollback",
        Some(OperationKind::Stop) => "Stop",
        Some(OperationKind::Update) => "Update",
        _ => "Pipeline",
    };
    let market = if state.is_spot() { "spot" } else { "on-demand" };
    format!(
        " {verb}: {} · {} · {market} {} · {} ",
        state.stack_name,
        state.tier(),
        state.instance_type().unwrap_or("?"),
        state.region()
    )
}

fn column_widths(width: usize) -> (usize, usize) {
    // (label, resource): resource ids get the room a wide pane has.
    if width >= 80 { (13, 24) } else { (12, 13) }
}

fn stage_line(
    state: &DeploymentState,
    record: &StageRecord,
    kind: OperationKind,
    now: Timestamp,
    width: usize,
) -> Line<'static> {
    let (label_w, resource_w) = column_widths(width);
    let style = theme::stage_status(record.status);
    let elapsed = elapsed_secs(record, now)
        .map(format_elapsed)
        .unwrap_or_default();
    let resource = record.stage.resource_id(state).unwrap_or("");
    let mut spans = vec![
        Span::styled(format!("{} ", symbols::stage(record.status)), style),
        Span::raw(format!("{} ", fit(record.stage.label(kind), label_w - 1))),
        Span::styled(fit(resource, resource_w), theme::dim()),
        Span::raw(format!("{elapsed:>7} ")),
    ];
    let used = 2 + label_w + resource_w + 8;
    let room = width.saturating_sub(used);
    let detail = record.detail.as_deref().unwrap_or("");
    if record.status == StageStatus::Running {
        let fraction = progress(record, now);
        spans.push(Span::styled(
            gauge(fraction),
            Style::new().fg(theme::accent()),
        ));
        spans.push(Span::raw(" "));
        spans.push(Span::styled(
            truncate(detail, room.saturating_sub(GAUGE_WIDTH + 1)),
            theme::dim(),
        ));
    } else {
        spans.push(Span::styled(truncate(detail, room), theme::dim()));
    }
    Line::from(spans)
}

fn elapsed_secs(record: &StageRecord, now: Timestamp) -> Option<f64> {
    let start = record.started_at?;
    Some(start.secs_until(record.finished_at.unwrap_or(now)))
}

/// How far a running stage is: reported progress, else time against the usual.
pub fn progress(record: &StageRecord, now: Timestamp) -> f64 {
    if let Some(p) = record.progress {
        return p.clamp(0.0, 1.0);
    }
    match (elapsed_secs(record, now), record.expected_secs) {
        (Some(elapsed), Some(expected)) if expected > 0.0 => {
            (elapsed / expected).min(OVERDUE_SHARE)
        }
        _ => 0.0,
    }
}

/// `███▌░░░░`: eight cells, in eighths.
pub fn gauge(fraction: f64) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = (fraction.clamp(0.0, 1.0) * (GAUGE_WIDTH * 8) as f64).round() as usize;
    let (full, part) = (eighths / 8, eighths % 8);
    let mut out = "█".repeat(full);
    if full < GAUGE_WIDTH {
        out.push(if part == 0 { '░' } else { PARTS[part] });
        out.push_str(&"░".repeat(GAUGE_WIDTH - full - 1));
    }
    out
}

/// For a stack with no recorded operation (a file from the Python tool):
/// what it has, stage by stage.
fn recorded_resources(state: &DeploymentState, width: usize) -> Vec<Line<'static>> {
    let (label_w, _) = column_widths(width);
    state
        .tier()
        .deploy_stages()
        .into_iter()
        .map(|stage| {
            let id = stage.resource_id(state);
            let status = if id.is_some() {
                StageStatus::Done
            } else {
                StageStatus::Pending
            };
            Line::from(vec![
                Span::styled(
                    format!("{} ", symbols::stage(status)),
                    theme::stage_status(status),
                ),
                Span::raw(format!(
                    "{} ",
                    fit(stage.label(OperationKind::Deploy), label_w - 1)
                )),
                Span::styled(id.unwrap_or("").to_string(), theme::dim()),
            ])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauge_fills_in_eighths() {
        assert_eq!(gauge(0.0), "░░░░░░░░");
        assert_eq!(gauge(0.5), "████░░░░");
        assert_eq!(gauge(0.5625), "████▌░░░");
        assert_eq!(gauge(1.0), "████████");
        assert_eq!(gauge(2.0).chars().count(), 8);
    }
}
