//! The `?` overlay, generated from the keymap: one row per binding, so it
//! fits an 80×24 screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::layout::{centered, fit, truncate};
use super::theme;
use crate::app::keymap::{self, KEYMAP, Scope};
use crate::app::model::Pane;

const SCOPE_WIDTH: usize = 9;
const KEYS_WIDTH: usize = 16;

pub fn render(frame: &mut Frame, area: Rect) {
    let rect = centered(area, 78, KEYMAP.len() as u16 + 3);
    let width = rect.width.saturating_sub(2) as usize;
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines(width)).block(theme::dialog(" Keys — ? or Esc closes ")),
        rect,
    );
}

fn lines(width: usize) -> Vec<Line<'static>> {
    let order = [
        Scope::Global,
        Scope::Lists,
        Scope::Pane(Pane::Stacks),
        Scope::Pane(Pane::Logs),
    ];
    let mut out = Vec::new();
    for scope in order {
        for (i, b) in KEYMAP.iter().filter(|b| b.scope == scope).enumerate() {
            let title = if i == 0 {
                short_title(scope)
            } else {
                String::new()
            };
            out.push(Line::from(vec![
                Span::styled(fit(&title, SCOPE_WIDTH), Style::new().fg(theme::ACCENT)),
                Span::styled(
                    fit(&keymap::labels(b), KEYS_WIDTH),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
                Span::raw(truncate(
                    b.help,
                    width.saturating_sub(SCOPE_WIDTH + KEYS_WIDTH),
                )),
            ]));
        }
    }
    out.push(Line::from(Span::styled(
        "Dialogs: Tab next field, Enter confirm, Esc cancel.",
        theme::DIM,
    )));
    out
}

fn short_title(scope: Scope) -> String {
    match scope {
        Scope::Global => "Anywhere".into(),
        Scope::Lists => "Lists".into(),
        Scope::Pane(p) => p.to_string(),
    }
}
