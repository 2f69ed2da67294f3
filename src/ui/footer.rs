//! The bottom line: the keys that apply in the focused pane (from the keymap).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::theme;
use crate::app::keymap::{self, Action, Bound};
use crate::app::model::{Model, Overlay};

pub fn render(model: &Model, frame: &mut Frame, area: Rect) {
    let line = if model.filtering {
        Line::from(vec![
            Span::styled(" filter: ", Style::new().fg(theme::accent())),
            Span::raw(model.filter.clone()),
            Span::styled("▏ Enter keep · Esc clear", theme::dim()),
        ])
    } else if matches!(model.overlay, Some(Overlay::Wizard(_))) {
        Line::from(Span::styled(
            " new stack: nothing is created before Deploy on the plan",
            theme::dim(),
        ))
    } else if model.overlay.is_some() && !matches!(model.overlay, Some(Overlay::Help)) {
        Line::from(Span::styled(" dialog open: Esc closes it", theme::dim()))
    } else {
        keys_line(model, area.width as usize)
    };
    frame.render_widget(line, area);
}

/// The focused pane's keys, then the global ones; `?` and `q` always fit.
fn keys_line(model: &Model, width: usize) -> Line<'static> {
    let always = |b: &Bound| matches!(b.action, Action::Help | Action::Quit);
    let shown: Vec<&Bound> = model
        .keymap
        .footer(model.focus)
        .into_iter()
        .filter(|b| b.action != Action::Faults || model.is_sandbox())
        .collect();
    let item_width =
        |b: &Bound| keymap::first_label(b).chars().count() + b.short.chars().count() + 4;
    let reserved: usize = shown
        .iter()
        .filter(|b| always(b))
        .map(|b| item_width(b))
        .sum();
    let mut room = width.saturating_sub(1 + reserved);
    let mut picked: Vec<&Bound> = Vec::new();
    for b in &shown {
        if always(b) {
            picked.push(b);
        } else if item_width(b) <= room {
            room -= item_width(b);
            picked.push(b);
        }
    }
    let mut spans = vec![Span::raw(" ")];
    for (i, b) in picked.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled("· ", theme::dim()));
        }
        if model.readonly && b.action.mutates() {
            spans.push(Span::styled(
                format!("{} {} ", keymap::first_label(b), b.short),
                theme::dim().add_modifier(Modifier::CROSSED_OUT),
            ));
            continue;
        }
        spans.push(Span::styled(
            keymap::first_label(b),
            Style::new()
                .fg(theme::accent())
                .add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::raw(format!(" {} ", b.short)));
    }
    Line::from(spans)
}
