//! The `?` overlay, generated from the keymap: one row per binding (the
//! number keys of the Logs pane share one), scrolled with j/k when the
//! screen is shorter than the list.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::layout::{centered, fit, truncate};
use super::theme;
use crate::app::keymap::{self, Action, Keymap, Scope};
use crate::app::model::Pane;
use crate::domain::Service;

const SCOPE_WIDTH: usize = 9;
const KEYS_WIDTH: usize = 16;
/// The help's sections, in order; every binding's scope is one of them.
const ORDER: [Scope; 5] = [
    Scope::Global,
    Scope::Lists,
    Scope::Pane(Pane::Stacks),
    Scope::Pane(Pane::Health),
    Scope::Pane(Pane::Logs),
];

pub fn render(keymap: &Keymap, frame: &mut Frame, area: Rect, scroll: u16) {
    let width = 78u16.min(area.width).saturating_sub(2) as usize;
    let rows = lines(keymap, width);
    let rect = centered(area, 78, rows.len() as u16 + 2);
    // Taller than the screen: j/k scroll, and the title says so.
    let room = rect.height.saturating_sub(2);
    let hidden = (rows.len() as u16).saturating_sub(room);
    let scroll = scroll.min(hidden);
    let title = if hidden > 0 {
        " Keys — j/k scroll · ? or Esc closes "
    } else {
        " Keys — ? or Esc closes "
    };
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(rows)
            .scroll((scroll, 0))
            .block(theme::dialog(title)),
        rect,
    );
}

fn lines(keymap: &Keymap, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for scope in ORDER {
        let shown = keymap.iter().filter(|b| {
            b.scope == scope
                && !matches!(b.action, Action::ShowService(s) if s != Some(Service::N8n))
        });
        for (i, b) in shown.enumerate() {
            let title = if i == 0 {
                short_title(scope)
            } else {
                String::new()
            };
            out.push(Line::from(vec![
                Span::styled(fit(&title, SCOPE_WIDTH), Style::new().fg(theme::accent())),
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
        theme::dim(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_binding_has_a_section() {
        for b in crate::app::keymap::KEYMAP {
            assert!(
                ORDER.contains(&b.scope),
                "{:?} is not in the help",
                b.action
            );
        }
    }
}
