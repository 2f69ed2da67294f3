//! The top line: product, SANDBOX badge, region, and the latest notice.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::layout::truncate;
use super::theme;
use crate::app::model::{Model, NoticeLevel};

pub fn render(model: &Model, frame: &mut Frame, area: Rect) {
    let mut spans = vec![Span::styled(
        " GeuseMaker ",
        Style::new().add_modifier(Modifier::BOLD),
    )];
    if model.is_sandbox() {
        spans.push(Span::styled(" SANDBOX ", theme::SANDBOX_BADGE));
    } else {
        spans.push(Span::styled(
            " AWS ",
            Style::new().add_modifier(Modifier::REVERSED),
        ));
    }
    let busy = if model.busy.is_empty() {
        String::new()
    } else {
        format!(" · {} busy", model.busy.len())
    };
    spans.push(Span::styled(
        format!(" {} · {} stacks{busy} ", model.region, model.stacks.len()),
        theme::DIM,
    ));
    let used: usize = spans.iter().map(|s| s.width()).sum();
    if let Some(notice) = model.current_notice() {
        let style = match notice.level {
            NoticeLevel::Info => Style::new().fg(theme::ACCENT),
            NoticeLevel::Warn => Style::new().fg(ratatui::style::Color::Yellow),
            NoticeLevel::Error => Style::new()
                .fg(ratatui::style::Color::Red)
                .add_modifier(Modifier::BOLD),
        };
        let room = (area.width as usize).saturating_sub(used + 1);
        spans.push(Span::styled(truncate(&notice.text, room), style));
    }
    frame.render_widget(Line::from(spans), area);
}
