//! Screen regions and small text helpers shared by the panes.

use ratatui::layout::{Constraint, Layout, Rect};

/// Smallest screen the dashboard draws; below it a notice says so.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

pub struct Regions {
    pub header: Rect,
    pub stacks: Rect,
    pub health: Rect,
    pub cost: Rect,
    pub pipeline: Rect,
    pub logs: Rect,
    pub footer: Rect,
}

/// Rows of the Cost pane: its summary, or with the breakdown by component
/// (when focused, or on a tall terminal).
pub const COST_ROWS: u16 = 6;
pub const COST_ROWS_DETAILED: u16 = 11;

pub fn regions(area: Rect, pipeline_rows: u16, health_rows: u16, cost_rows: u16) -> Regions {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let left_width = (body.width * 35 / 100).clamp(28, 48);
    let [left, right] =
        Layout::horizontal([Constraint::Length(left_width), Constraint::Fill(1)]).areas(body);
    let [stacks, health, cost] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(health_rows),
        Constraint::Length(cost_rows),
    ])
    .areas(left);
    let pipeline_height = (pipeline_rows + 2).clamp(5, body.height / 2 + 1);
    let [pipeline, logs] =
        Layout::vertical([Constraint::Length(pipeline_height), Constraint::Fill(1)]).areas(right);
    Regions {
        header,
        stacks,
        health,
        cost,
        pipeline,
        logs,
        footer,
    }
}

/// A `width`×`height` box in the middle of `area` (shrunk to fit).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Cut `text` to `width` characters, marking the cut with `…`.
pub fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// `text` padded or cut to exactly `width` characters.
pub fn fit(text: &str, width: usize) -> String {
    format!("{:<width$}", truncate(text, width))
}

/// `text` in lines of at most `width` characters: broken at spaces where
/// it can be, inside a word (a long URL) where it must.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for word in text.split(' ') {
        let n = word.chars().count();
        if len > 0 && len + 1 + n <= width {
            line.push(' ');
            line.push_str(word);
            len += 1 + n;
            continue;
        }
        if len > 0 {
            lines.push(std::mem::take(&mut line));
        }
        let mut chars: Vec<char> = word.chars().collect();
        while chars.len() > width {
            lines.push(chars.drain(..width).collect());
        }
        len = chars.len();
        line = chars.into_iter().collect();
    }
    if len > 0 || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_with_an_ellipsis() {
        assert_eq!(truncate("vpc-0abcdef", 7), "vpc-0a…");
        assert_eq!(truncate("short", 7), "short");
        assert_eq!(fit("ab", 4), "ab  ");
    }

    #[test]
    fn wraps_at_spaces_and_inside_long_words() {
        assert_eq!(wrap("who can reach what", 9), ["who can", "reach", "what"]);
        assert_eq!(wrap("https://docs.aws", 6), ["https:", "//docs", ".aws"]);
        assert_eq!(wrap("", 5), [""]);
    }

    #[test]
    fn regions_fit_the_minimum_screen() {
        let r = regions(Rect::new(0, 0, MIN_WIDTH, MIN_HEIGHT), 8, 8, COST_ROWS);
        assert!(r.stacks.height >= 5, "{:?}", r.stacks);
        assert_eq!(r.health.height, 8);
        assert!(r.logs.height >= 5, "{:?}", r.logs);
        assert_eq!(r.pipeline.height, 10);
    }
}
