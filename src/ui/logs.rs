//! Logs: the selected stack's container lines, coloured and tagged per
//! service (so they read without colour too), following new output or paused
//! for reading, with search highlights, wrap, timestamps and a time window.
//! Only the rows on screen are built, from the newest up.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::layout::{fit, truncate};
use super::theme;
use crate::app::log_view::{LogView, LogWindow, Matcher};
use crate::app::model::{Model, Pane};
use crate::instance::log_line::LogLine;

const SOURCE_WIDTH: usize = 9;
/// From this width on, timestamps show unless turned off.
const TIME_FROM_WIDTH: usize = 90;
const TIME_WIDTH: usize = 9;

pub fn render(model: &Model, frame: &mut Frame, area: Rect) {
    let logs = &model.logs;
    let block = theme::pane(title(logs), model.focus == Pane::Logs);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (width, height) = (inner.width as usize, inner.height as usize);
    if height == 0 {
        return;
    }
    let matcher = logs.matcher();
    // Asked for or not, a timestamp never leaves the message under 20 columns.
    let room_for_times = width >= TIME_WIDTH + SOURCE_WIDTH + 2 + 20;
    let times = logs.timestamps.unwrap_or(width >= TIME_FROM_WIDTH) && room_for_times;
    let mut rows: Vec<Line> = Vec::with_capacity(height);
    let mut shown = logs.visible(model.now).rev().skip(logs.scroll).peekable();
    if shown.peek().is_none() {
        frame.render_widget(Paragraph::new(empty_hint(model)).style(theme::dim()), inner);
        return;
    }
    for (i, l) in shown.enumerate() {
        let current = i == 0 && !logs.follow;
        let mut wrapped = line_rows(l, width, times, logs.wrap, matcher.as_ref(), current);
        wrapped.reverse();
        rows.extend(wrapped);
        if rows.len() >= height {
            break;
        }
    }
    rows.truncate(height);
    rows.reverse();
    frame.render_widget(Paragraph::new(rows), inner);
    if logs.searching {
        let prompt = Rect {
            y: inner.y + inner.height - 1,
            height: 1,
            ..inner
        };
        let text = format!("/{}█", logs.search);
        frame.render_widget(
            Paragraph::new(truncate(&text, width))
                .style(Style::new().add_modifier(Modifier::REVERSED)),
            prompt,
        );
    }
}

fn title(logs: &LogView) -> String {
    let which = logs.service.map_or("all", |s| s.name());
    let mode = if logs.follow {
        "following".to_string()
    } else if logs.scroll > 0 {
        format!("paused ↑{}", logs.scroll)
    } else {
        "paused".to_string()
    };
    let mut title = format!(" Logs [{which}] {mode} ");
    if logs.window != LogWindow::All {
        title.push_str(&format!("· last {} ", logs.window.label()));
    }
    if !logs.search.is_empty() && !logs.searching {
        title.push_str(&format!("· /{} ", logs.search));
    }
    if logs.wrap {
        title.push_str("· wrap ");
    }
    title
}

fn empty_hint(model: &Model) -> String {
    match model.selected_stack() {
        None => "No stack selected.".into(),
        Some(s) if !model.manages(s) => {
            format!("{} is not in this cloud ({}).", s.stack_name, s.provider)
        }
        Some(s) if s.instance_id.is_none() => format!("{} has no instance: no logs.", s.stack_name),
        Some(_) if model.logs.window != LogWindow::All => {
            "No lines in this time window (T: a wider one).".into()
        }
        Some(_) if model.logs.service.is_some() => {
            "No lines from this service yet (0: all services).".into()
        }
        Some(_) => "Waiting for the containers' first lines…".into(),
    }
}

/// The screen rows of one line: one, or several when wrapping.
fn line_rows(
    l: &LogLine,
    width: usize,
    times: bool,
    wrap: bool,
    matcher: Option<&Matcher>,
    current: bool,
) -> Vec<Line<'static>> {
    let mut prefix = Vec::new();
    let mut used = 0;
    if times && let Some(at) = l.at {
        prefix.push(Span::styled(
            at.0.format("%H:%M:%S ").to_string(),
            theme::dim(),
        ));
        used += TIME_WIDTH;
    }
    let source = l
        .service
        .map_or_else(|| l.source.clone(), |s| s.name().to_string());
    prefix.push(Span::styled(
        fit(&source, SOURCE_WIDTH),
        theme::service(l.service),
    ));
    // The current line (paused: where n/N/y act) is marked, not only coloured.
    prefix.push(Span::styled(
        if current { "▶ " } else { "│ " },
        theme::dim(),
    ));
    used += SOURCE_WIDTH + 2;
    let room = width.saturating_sub(used).max(1);
    let style = theme::log_level(l.level);
    let chunks: Vec<String> = if wrap {
        chunk(&l.message, room)
    } else {
        vec![truncate(&l.message, room)]
    };
    let ranges = matcher.map(|m| m.ranges(&l.message)).unwrap_or_default();
    // In colour when it came in colour, unless a search or wrap needs the plain text.
    if let (Some(coloured), true, false) = (&l.coloured, ranges.is_empty(), wrap) {
        let mut spans = prefix;
        spans.extend(coloured_spans(coloured, style));
        return vec![Line::from(spans)];
    }
    let mut offset = 0;
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let mut spans = if i == 0 {
                prefix.clone()
            } else {
                vec![Span::raw(" ".repeat(used))]
            };
            spans.extend(highlight(&text, offset, &ranges, style));
            offset += text.len();
            Line::from(spans)
        })
        .collect()
}

/// The spans of a line with colour codes, over the level's style.
fn coloured_spans(coloured: &str, base: Style) -> Vec<Span<'static>> {
    use ansi_to_tui::IntoText;
    match coloured.as_bytes().into_text() {
        Ok(text) => text
            .lines
            .into_iter()
            .next()
            .map(|line| {
                line.spans
                    .into_iter()
                    .map(|span| Span::styled(span.content.into_owned(), base.patch(span.style)))
                    .collect()
            })
            .unwrap_or_default(),
        Err(_) => vec![Span::styled(
            crate::instance::log_line::sanitize(coloured),
            base,
        )],
    }
}

/// `text` cut into pieces of `width` characters.
fn chunk(text: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars.chunks(width).map(|c| c.iter().collect()).collect()
}

/// Spans of `text` (which starts at byte `offset` of the message) with the
/// parts inside `ranges` highlighted.
fn highlight(
    text: &str,
    offset: usize,
    ranges: &[(usize, usize)],
    style: Style,
) -> Vec<Span<'static>> {
    let hit = style.patch(theme::search_hit());
    let mut spans = Vec::new();
    let mut plain = String::new();
    let mut marked = String::new();
    for (i, c) in text.char_indices() {
        let at = offset + i;
        let inside = ranges.iter().any(|(s, e)| at >= *s && at < *e);
        if inside {
            if !plain.is_empty() {
                spans.push(Span::styled(std::mem::take(&mut plain), style));
            }
            marked.push(c);
        } else {
            if !marked.is_empty() {
                spans.push(Span::styled(std::mem::take(&mut marked), hit));
            }
            plain.push(c);
        }
    }
    if !plain.is_empty() {
        spans.push(Span::styled(plain, style));
    }
    if !marked.is_empty() {
        spans.push(Span::styled(marked, hit));
    }
    spans
}
