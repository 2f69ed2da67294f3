//! What a terminal below 80×24 gets instead of a torn layout.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::layout::{MIN_HEIGHT, MIN_WIDTH};
use super::theme;
use crate::app::model::Model;

pub fn render(model: &Model, frame: &mut Frame, area: Rect) {
    let mut lines = Vec::new();
    if model.is_sandbox() {
        lines.push(Line::from(Span::styled(
            " SANDBOX ",
            theme::sandbox_badge(),
        )));
    }
    lines.push(Line::from("Terminal too small"));
    lines.push(Line::from(format!(
        "{}×{} here; GeuseMaker needs {MIN_WIDTH}×{MIN_HEIGHT}.",
        area.width, area.height
    )));
    lines.push(Line::from(Span::styled(
        "Enlarge the window, or q to quit.",
        theme::dim(),
    )));
    let top = area.height.saturating_sub(lines.len() as u16) / 2;
    let body = Rect {
        y: area.y + top,
        height: area.height - top,
        ..area
    };
    frame.render_widget(
        Paragraph::new(lines)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        body,
    );
}
