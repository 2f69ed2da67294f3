//! The bottom line: the keys that apply in the focused pane (from the keymap).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::theme;
use crate::app::keymap::{self, Action};
use crate::app::model::{Model, Overlay};

pub fn render(model: &Model, frame: &mut Frame, area: Rect) {
    let line = if model.filtering {
        Line::from(vec![
            Span::styled(" filter: ", Style::new().fg(theme::ACCENT)),
            Span::raw(model.filter.clone()),
            Span::styled("▏ Enter keep · Esc clear", theme::DIM),
        ])
    } else if model.overlay.is_some() && !matches!(model.overlay, Some(Overlay::Help)) {
        Line::from(Span::styled(" dialog open: Esc closes it", theme::DIM))
    } else {
        keys_line(model, area.width as usize)
    };
    frame.render_widget(line, area);
}

fn keys_line(model: &Model, width: usize) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for binding in keymap::footer(model.focus) {
        if binding.action == Action::Faults && !model.is_sandbox() {
            continue;
        }
        let key = keymap::label(&binding.keys[0]);
        let text = format!("{key} {} ", binding.short);
        let sep = if used > 1 { "· " } else { "" };
        if used + sep.len() + text.chars().count() > width {
            break;
        }
        used += sep.chars().count() + text.chars().count();
        spans.push(Span::styled(sep, theme::DIM));
        spans.push(Span::styled(
            key,
            Style::new().fg(theme::ACCENT).add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::raw(format!(" {} ", binding.short)));
    }
    Line::from(spans)
}
