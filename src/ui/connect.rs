//! The Connect view: n8n's URL, its webhooks and the sign-in, then each
//! internal service's `forward` command with the local URL it gives. The
//! selected row is the one `y` copies.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::layout::{fit, wrap};
use super::theme;
use crate::app::model::Model;
use crate::domain::connect;

const LABEL: usize = 11;

pub fn dialog(model: &Model, stack: &str, selected: usize, frame: &mut Frame, area: Rect) {
    let Some(state) = model.stacks.iter().find(|s| s.stack_name == stack) else {
        return;
    };
    let c = connect::of(state);
    let width = area.width.saturating_sub(4).min(110);
    let inner = width.saturating_sub(2) as usize;
    let heading = Line::from(Span::styled(
        format!(
            "{} · {} · open to {}",
            c.stack_name,
            c.status,
            open_to(state)
        ),
        Style::new().fg(theme::accent()),
    ));
    let mut lines = Vec::new();
    if c.n8n.url.is_none() {
        lines.push(Line::from(Span::styled(
            "no address yet: the URLs appear once the instance has one",
            theme::dim(),
        )));
    }
    let items = connect::items(&c);
    let first_internal = items.len() - c.internal.len();
    for (i, item) in items.iter().enumerate() {
        if i == first_internal {
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                "Inside only: `forward` brings each to this machine",
                theme::dim(),
            )));
        }
        let style = if i == selected {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new()
        };
        let value_width = inner.saturating_sub(LABEL);
        let value = item.value.chars().count();
        let note = item.note.chars().count();
        let mut spans = vec![
            Span::styled(
                fit(&item.label, LABEL),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::styled(item.value.clone(), style),
        ];
        // The note beside the value when both fit, else under it.
        if value + 2 + note <= value_width {
            spans.push(Span::styled(format!("  {}", item.note), theme::dim()));
            lines.push(Line::from(spans));
            continue;
        }
        lines.push(Line::from(spans));
        for note in wrap(&item.note, value_width.saturating_sub(2)) {
            lines.push(Line::from(vec![
                Span::raw(" ".repeat(LABEL + 2)),
                Span::styled(note, theme::dim()),
            ]));
        }
    }
    let scroll = scroll_for(&lines);
    let title = format!(" Connect to {stack} ");
    let keys = "j/k choose · y copy · o open n8n · Esc close";
    super::dialogs::scrolling_with_keys(frame, area, width, &title, heading, lines, scroll, keys);
}

fn open_to(state: &crate::domain::DeploymentState) -> String {
    let cidrs = crate::domain::exposure::allowed_cidrs(state);
    if cidrs.is_empty() {
        "nobody yet".into()
    } else {
        cidrs.join(", ")
    }
}

/// Keep the selected row (the reversed one) in view, a few rows from the top.
fn scroll_for(lines: &[Line<'_>]) -> u16 {
    let at = lines
        .iter()
        .position(|l| {
            l.spans
                .iter()
                .any(|s| s.style.add_modifier.contains(Modifier::REVERSED))
        })
        .unwrap_or(0);
    at.saturating_sub(6) as u16
}
