//! Dialogs about getting in: a command to run elsewhere (a shell, a
//! forward) that `y` copies, and the picker of the secret to copy. No
//! secret value reaches these: only names.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::layout::{centered, wrap};
use super::theme;
use crate::app::model::{CommandDialog, SECRET_NAMES, SecretPicker};

pub fn command(dialog: &CommandDialog, frame: &mut Frame, area: Rect) {
    let width = area.width.saturating_sub(4).min(96);
    let inner = width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = wrap(&dialog.intro, inner)
        .into_iter()
        .map(Line::from)
        .collect();
    lines.push(Line::from(""));
    let bold = Style::new()
        .fg(theme::accent())
        .add_modifier(Modifier::BOLD);
    for line in wrap(&dialog.command, inner.saturating_sub(2)) {
        lines.push(Line::from(Span::styled(format!("  {line}"), bold)));
    }
    lines.push(Line::from(""));
    for detail in &dialog.details {
        lines.extend(wrap(detail, inner).into_iter().map(Line::from));
    }
    let height = (lines.len() as u16 + 3).min(area.height);
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let block = theme::dialog(dialog.title.clone());
    let body = block.inner(rect);
    frame.render_widget(block, rect);
    let [text, keys] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(body);
    frame.render_widget(Paragraph::new(lines), text);
    frame.render_widget(
        Span::styled("y copy the command (OSC 52) · Esc close", theme::dim()),
        keys,
    );
}

pub fn secrets(picker: &SecretPicker, frame: &mut Frame, area: Rect) {
    let rect = centered(area, 48, SECRET_NAMES.len() as u16 + 6);
    frame.render_widget(Clear, rect);
    let block = theme::dialog(format!(" Copy a secret of {} ", picker.stack));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let mut lines: Vec<Line> = SECRET_NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            if i == picker.selected {
                Line::from(Span::styled(
                    format!("▶ {name}"),
                    Style::new().add_modifier(Modifier::REVERSED),
                ))
            } else {
                Line::from(format!("  {name}"))
            }
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "To the clipboard (OSC 52), never on screen.",
        theme::dim(),
    )));
    lines.push(Line::from(Span::styled(
        "Enter copy · j/k move · Esc close",
        theme::dim(),
    )));
    frame.render_widget(Paragraph::new(lines), inner);
}
