//! Logs: the selected stack's container lines, coloured per service, that
//! follow new output or pause for reading.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::layout::{fit, truncate};
use super::theme;
use crate::app::model::{Model, Pane};
use crate::monitor::log_line::LogLine;

const SOURCE_WIDTH: usize = 9;
const TIME_FROM_WIDTH: usize = 90;

pub fn render(model: &Model, frame: &mut Frame, area: Rect) {
    let logs = &model.logs;
    let which = logs.service.map_or("all", |s| s.name());
    let mode = if logs.follow {
        "following".to_string()
    } else if logs.scroll > 0 {
        format!("paused ↑{}", logs.scroll)
    } else {
        "paused".to_string()
    };
    let block = theme::pane(
        format!(" Logs [{which}] {mode} "),
        model.focus == Pane::Logs,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let visible: Vec<&LogLine> = logs.visible().collect();
    if visible.is_empty() {
        frame.render_widget(Paragraph::new(empty_hint(model)).style(theme::DIM), inner);
        return;
    }
    let end = visible.len().saturating_sub(logs.scroll);
    let start = end.saturating_sub(inner.height as usize);
    let width = inner.width as usize;
    let lines: Vec<Line> = visible[start..end].iter().map(|l| line(l, width)).collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn empty_hint(model: &Model) -> String {
    match model.selected_stack() {
        None => "No stack selected.".into(),
        Some(s) if !model.manages(s) => {
            format!("{} is not in this cloud ({}).", s.stack_name, s.provider)
        }
        Some(s) if s.instance_id.is_none() => format!("{} has no instance: no logs.", s.stack_name),
        Some(_) if model.logs.service.is_some() => {
            "No lines from this service yet (s: next service).".into()
        }
        Some(_) => "Waiting for the containers' first lines…".into(),
    }
}

fn line(l: &LogLine, width: usize) -> Line<'static> {
    let mut spans = Vec::new();
    let mut used = 0;
    if width >= TIME_FROM_WIDTH
        && let Some(at) = l.at
    {
        spans.push(Span::styled(
            at.0.format("%H:%M:%S ").to_string(),
            theme::DIM,
        ));
        used += 9;
    }
    let source = l
        .service
        .map_or_else(|| l.source.clone(), |s| s.name().to_string());
    spans.push(Span::styled(
        fit(&source, SOURCE_WIDTH),
        theme::service(l.service),
    ));
    spans.push(Span::styled("│ ", theme::DIM));
    used += SOURCE_WIDTH + 2;
    spans.push(Span::styled(
        truncate(&l.message, width.saturating_sub(used)),
        theme::log_level(l.level),
    ));
    Line::from(spans)
}
