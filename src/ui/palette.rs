//! The `:` palette: the line being typed, and the matching commands with
//! their keys and help, from the same keymap as the footer and help.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::layout::{fit, truncate};
use super::theme;
use crate::app::model::{Model, PaletteInput};
use crate::app::palette;

/// Matches shown at once.
const ROWS: usize = 10;
const COMMAND_WIDTH: usize = 24;
const KEYS_WIDTH: usize = 8;

pub fn render(model: &Model, input: &PaletteInput, frame: &mut Frame, area: Rect) {
    let found = palette::matches(model, &input.typed);
    let width = area.width.saturating_sub(4).min(90);
    let shown = found.len().clamp(1, ROWS);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + 1,
        width,
        height: (shown as u16 + 4).min(area.height.saturating_sub(1)),
    };
    frame.render_widget(Clear, rect);
    let title = format!(" : command — {} match{} ", found.len(), plural(found.len()));
    let block = theme::dialog(title);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let text_width = inner.width as usize;
    // The selected row stays on screen as it moves down the list.
    let first = input.selected.saturating_sub(ROWS - 1);
    let mut lines = vec![Line::from(vec![
        Span::styled(
            ":",
            Style::new()
                .fg(theme::accent())
                .add_modifier(Modifier::BOLD),
        ),
        Span::raw(input.typed.clone()),
        Span::styled("▏", Style::new().fg(theme::accent())),
    ])];
    if found.is_empty() {
        lines.push(Line::from(Span::styled(
            "  nothing matches; Enter runs it as typed",
            theme::dim(),
        )));
    }
    for (i, c) in found.iter().enumerate().skip(first).take(ROWS) {
        let marker = if c.recent { "↺ " } else { "  " };
        let help_width = text_width.saturating_sub(2 + COMMAND_WIDTH + KEYS_WIDTH);
        let row = vec![
            Span::raw(marker),
            Span::styled(
                fit(&c.text, COMMAND_WIDTH),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::styled(fit(&c.keys, KEYS_WIDTH), Style::new().fg(theme::accent())),
            Span::styled(truncate(&c.help, help_width), theme::dim()),
        ];
        let line = Line::from(row);
        lines.push(if i == input.selected {
            line.style(Style::new().add_modifier(Modifier::REVERSED))
        } else {
            line
        });
    }
    lines.push(Line::from(Span::styled(
        "Enter run · Tab complete · ↑/↓ pick · Esc close",
        theme::dim(),
    )));
    frame.render_widget(Paragraph::new(lines), inner);
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "es" }
}
