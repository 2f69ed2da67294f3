//! The deploy wizard over the dashboard: where you are among the steps, what
//! the step is for, its fields, what is wrong, and the keys.

mod instance;
mod network;
mod steps;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use strum::IntoEnumIterator;

use super::layout::centered;
use super::theme;
use crate::app::model::Model;
use crate::app::wizard::{Lookup, Step, Wizard};

/// Its width on an 80-column terminal; wider ones show long plan lines whole.
const WIDTH: u16 = 78;
const MAX_WIDTH: u16 = 110;
/// Tall terminals show more of the plan without scrolling.
const MAX_HEIGHT: u16 = 40;

pub fn render(model: &Model, w: &Wizard, frame: &mut Frame, area: Rect) {
    let width = area
        .width
        .saturating_sub(4)
        .clamp(WIDTH, MAX_WIDTH)
        .min(area.width.saturating_sub(2));
    let rect = centered(area, width, MAX_HEIGHT.min(area.height.saturating_sub(2)));
    frame.render_widget(Clear, rect);
    let title = format!(
        " New stack · {}/{} {} ",
        w.step.number(),
        Step::iter().count(),
        w.step.title()
    );
    let block = theme::dialog(title);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [trail, explain, _, body, error, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(2),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(breadcrumbs(w.step), trail);
    frame.render_widget(Span::styled(w.step.explain(), theme::dim()), explain);
    steps::render(model, w, frame, body);
    if let Some(why) = &w.error {
        frame.render_widget(
            Paragraph::new(format!("✗ {why}"))
                .style(Style::new().fg(theme::bad()))
                .wrap(Wrap { trim: true }),
            error,
        );
    }
    frame.render_widget(key_hint(w), keys);
}

fn breadcrumbs(current: Step) -> Line<'static> {
    let mut spans = Vec::new();
    for step in Step::iter() {
        if !spans.is_empty() {
            spans.push(Span::styled(" › ", theme::dim()));
        }
        let style = if step == current {
            Style::new()
                .fg(theme::accent())
                .add_modifier(Modifier::BOLD)
        } else if step < current {
            Style::new()
        } else {
            theme::dim()
        };
        spans.push(Span::styled(step.title(), style));
    }
    Line::from(spans)
}

fn key_hint(w: &Wizard) -> Line<'static> {
    if w.leaving {
        return Line::from(Span::styled(
            "Leave the wizard? Nothing has been created. y leave · any other key stays",
            Style::new().fg(theme::warn()).add_modifier(Modifier::BOLD),
        ));
    }
    let next = if w.step == Step::Plan {
        "Enter Deploy"
    } else {
        "Enter next"
    };
    let keys = match w.step {
        Step::Name => "Esc cancel · Ctrl-C leave",
        Step::Tier | Step::Region => "↑/↓ choose · Esc back · q leave",
        Step::Network => "↑/↓ VPC · Tab subnet · ←/→ change · Esc back",
        Step::Instance => "↑/↓ type · ←/→ spot/on-demand · Esc back",
        Step::Access | Step::Options => "Tab/↑/↓ field · ←/→ toggle · Esc back",
        Step::Plan => "Esc back to change anything · j/k scroll · q leave",
    };
    Line::from(vec![
        Span::styled(next, Style::new().add_modifier(Modifier::BOLD)),
        Span::styled(format!(" · {keys}"), theme::dim()),
    ])
}

/// A lookup's state as a short line: a spinner while loading, why it failed.
pub(super) fn lookup_line<T>(
    model: &Model,
    lookup: &Lookup<T>,
    loading: &str,
    failed: &str,
) -> Option<Line<'static>> {
    match lookup {
        Lookup::Loading => Some(Line::from(Span::styled(
            format!("{} {loading}", spinner(model)),
            Style::new().fg(theme::warn()),
        ))),
        Lookup::Failed(why) => Some(Line::from(Span::styled(
            format!("✗ {failed}: {why}"),
            Style::new().fg(theme::bad()),
        ))),
        Lookup::Ready(_) => None,
    }
}

/// A braille spinner driven by the model's clock (ticks redraw it).
pub(super) fn spinner(model: &Model) -> &'static str {
    const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
    let tenths = model.now.0.timestamp_subsec_millis() / 100;
    FRAMES[tenths as usize % FRAMES.len()]
}

#[cfg(test)]
mod tests;
