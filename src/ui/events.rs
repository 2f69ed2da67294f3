//! The `e` dialog: what happened to the stack's instance, newest first.
//! Each recovery the group made on its own (a lost instance and its
//! replacement, rebuilt from the group's activities whether or not anyone
//! watched) and each switch a deploy or rollback made, with its gap.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::layout::{fit, wrap};
use super::theme;
use crate::app::model::Model;
use crate::domain::events::{EventOutcome, events};
use crate::domain::state::ServiceStatus;

/// "12-02 " before each event: its own text has the time of day.
const DATE: usize = 6;

pub fn dialog(model: &Model, stack: &str, scroll: u16, frame: &mut Frame, area: Rect) {
    let Some(state) = model.stacks.iter().find(|s| s.stack_name == stack) else {
        return;
    };
    let width = area.width.saturating_sub(4).min(110);
    let inner = width.saturating_sub(2) as usize;
    let heading = Line::from(Span::styled(
        "What happened to its instance, newest first",
        Style::new().fg(theme::ACCENT),
    ));
    let listed = events(state);
    let mut lines: Vec<Line<'static>> = Vec::new();
    for event in &listed {
        let (mark, status) = match event.outcome {
            EventOutcome::Served => ("●", ServiceStatus::Healthy),
            EventOutcome::Underway => ("◐", ServiceStatus::Starting),
            EventOutcome::Undone => ("✖", ServiceStatus::Unhealthy),
        };
        let date = event.at.to_string();
        let date = format!("{} ", date.get(5..10).unwrap_or_default());
        let text_width = inner.saturating_sub(DATE + 2).max(20);
        for (i, part) in wrap(&event.text, text_width).into_iter().enumerate() {
            let lead = if i == 0 {
                vec![
                    Span::styled(format!("{mark} "), theme::service_status(status)),
                    Span::styled(fit(&date, DATE), theme::DIM),
                ]
            } else {
                vec![Span::raw(" ".repeat(DATE + 2))]
            };
            lines.push(Line::from([lead, vec![Span::raw(part)]].concat()));
        }
    }
    if listed.is_empty() {
        let none = "None yet. When the group replaces a lost instance (with or without this \
                    dashboard running), the next refresh shows its timeline here; a deploy that \
                    changes the instance shows its switch.";
        lines.extend(
            wrap(none, inner)
                .into_iter()
                .map(|l| Line::from(Span::styled(l, theme::DIM))),
        );
    }
    let title = format!(" Events of {stack} ");
    super::dialogs::scrolling(frame, area, width, &title, heading, lines, scroll);
}
