//! The Orphans view: the account's last scan, section by section, the
//! selected finding in reverse video and the keys that apply to it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::layout::fit;
use super::theme;
use crate::app::model::Model;
use crate::app::orphans::{Finding, Section, findings};
use crate::deploy::scan::{Fix, Scanned};

const KIND: usize = 16;
const ID: usize = 24;
const STACK: usize = 14;

pub fn dialog(model: &Model, selected: usize, frame: &mut Frame, area: Rect) {
    let width = area.width.saturating_sub(4).min(110);
    let seen = &model.scan;
    let (heading, lines, selected_line, rows) = match &seen.last {
        None => (
            "looking at every tagged resource…".to_string(),
            Vec::new(),
            0,
            Vec::new(),
        ),
        Some(Err(why)) => {
            let (heading, style) = if model.is_sandbox() {
                ("nothing to scan in the sandbox", theme::dim())
            } else {
                ("the scan could not be made", Style::new().fg(theme::bad()))
            };
            let lines = super::layout::wrap(why, usize::from(width.saturating_sub(2)))
                .into_iter()
                .map(|l| Line::from(Span::styled(l, style)))
                .collect();
            (heading.to_string(), lines, 0, Vec::new())
        }
        Some(Ok(scanned)) => {
            let rows = findings(&scanned.report);
            // One line a finding when every one fits; else what it is on
            // one line, where and why on the next.
            let room = usize::from(width.saturating_sub(2));
            let wide = rows
                .iter()
                .all(|r| 2 + KIND + ID + STACK + r.detail.chars().count() <= room);
            let (mut lines, mut at) = body(&rows, selected, wide);
            if scanned.report.is_clean() && !rows.is_empty() {
                let clean = "Clean: nothing of this installation's to act on";
                lines.splice(
                    0..0,
                    [
                        Line::from(Span::styled(clean, Style::new().fg(theme::good()))),
                        Line::from(""),
                    ],
                );
                at += 2;
            }
            (summary(scanned), lines, at, rows)
        }
    };
    let heading = match (&seen.busy, seen.at) {
        (Some(busy), _) => format!("{busy}…"),
        (None, Some(at)) => format!("{heading} · at {}", at.0.format("%H:%M:%S")),
        (None, None) => heading,
    };
    let heading = Line::from(Span::styled(heading, Style::new().fg(theme::accent())));
    let keys = keys(model, rows.get(selected));
    // Keep the selected row in sight: the dialog shows `height - 4` lines.
    let shown = area.height.saturating_sub(4).max(1) as usize;
    let scroll = selected_line.saturating_sub(shown - 1) as u16;
    super::dialogs::scrolling_with_keys(
        frame,
        area,
        width,
        " Orphans and drift ",
        heading,
        lines,
        scroll,
        &keys,
    );
}

/// What was scanned and how much was found.
fn summary(scanned: &Scanned) -> String {
    let r = &scanned.report;
    let global = if r.global { " + global" } else { "" };
    let where_ = match r.regions.len() {
        0 => "nothing".to_string(),
        1..=3 => r.regions.join(", "),
        n => format!("{n} regions"),
    };
    let orphans = match r.orphans.len() {
        1 => "1 orphan".to_string(),
        n => format!("{n} orphans"),
    };
    format!(
        "{where_}{global} · {orphans}, {} missing, {} drifted",
        r.missing.len(),
        r.drift.len()
    )
}

/// The findings under their sections' titles, and the last line of the
/// selected one.
fn body(rows: &[Finding], selected: usize, wide: bool) -> (Vec<Line<'static>>, usize) {
    let mut lines = Vec::new();
    let mut selected_line = 0;
    let mut section = None;
    for (i, row) in rows.iter().enumerate() {
        if section != Some(row.section) {
            if section.is_some() {
                lines.push(Line::from(""));
            }
            section = Some(row.section);
            lines.push(Line::from(Span::styled(
                row.section.title(),
                section_style(row.section).add_modifier(Modifier::BOLD),
            )));
        }
        lines.extend(row_lines(row, i == selected, wide));
        if i == selected {
            selected_line = lines.len() - 1;
        }
    }
    if rows.is_empty() {
        lines.push(Line::from(Span::styled(
            "Clean: every tagged resource is in a state, and every recorded one is in AWS as recorded",
            Style::new().fg(theme::good()),
        )));
    }
    (lines, selected_line)
}

fn row_lines(row: &Finding, selected: bool, wide: bool) -> Vec<Line<'static>> {
    let what = format!(
        "  {}{}{}",
        fit(&row.kind.to_string(), KIND),
        fit(short_id(&row.id), ID),
        fit(row.stack.as_deref().unwrap_or("-"), STACK),
    );
    let style = if selected {
        Style::new().add_modifier(Modifier::REVERSED)
    } else if row.section == Section::Elsewhere {
        theme::dim()
    } else {
        Style::new()
    };
    if wide {
        return vec![Line::from(Span::styled(what + &row.detail, style))];
    }
    let detail = format!("    {}", row.detail);
    vec![
        Line::from(Span::styled(what, style)),
        Line::from(Span::styled(detail, theme::dim())),
    ]
}

/// An ARN's resource part (`loadbalancer/app/…`), which is what tells
/// one from another; other ids whole.
fn short_id(id: &str) -> &str {
    match id.strip_prefix("arn:") {
        Some(rest) => rest.splitn(5, ':').nth(4).unwrap_or(id),
        None => id,
    }
}

fn section_style(section: Section) -> Style {
    match section {
        Section::Orphan | Section::Drift => Style::new().fg(theme::warn()),
        Section::Missing => Style::new().fg(theme::bad()),
        Section::Elsewhere => theme::dim(),
    }
}

/// The keys for the selected finding, then the view's own.
fn keys(model: &Model, row: Option<&Finding>) -> String {
    let mut keys: Vec<String> = if model.readonly {
        vec!["read-only: looks only".into()]
    } else {
        row.map(|r| r.fixes())
            .unwrap_or_default()
            .iter()
            .map(|(k, what)| format!("{k} {what}"))
            .collect()
    };
    keys.push("r scan again".into());
    keys.push(if model.scan.all_regions {
        "A the stacks' regions".into()
    } else {
        "A all regions".into()
    });
    keys.push("Esc close".into());
    keys.join(" · ")
}

/// Adopt, forget or delete? The question the scan's code asked, and
/// what follows from the answer.
pub fn confirm(question: &str, fix: &Fix, frame: &mut Frame, area: Rect) {
    let after = match fix {
        Fix::Adopt(_) => "A destroy of the stack will delete it with the rest.",
        Fix::Forget => "The record goes; a deploy of the stack makes a new one.",
        Fix::Delete => "AWS deletes it now. This cannot be undone.",
    };
    let lines = vec![
        Line::from(question.to_string()),
        Line::from(Span::styled(after, theme::dim())),
        Line::from(Span::styled(
            "Audited; the account is scanned again after it.",
            theme::dim(),
        )),
    ];
    let (title, keys) = match fix {
        Fix::Adopt(_) => (" Adopt ", "y adopt · n cancel"),
        Fix::Forget => (" Forget ", "y forget · n cancel"),
        Fix::Delete => (" Delete ", "y delete · n cancel"),
    };
    super::dialogs::confirm_box(frame, area, title.to_string(), lines, 8, keys);
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_arn_is_shown_by_its_resource_part() {
        let arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/gm-demo/50dc6c495c0c9188";
        assert_eq!(
            super::short_id(arn),
            "loadbalancer/app/gm-demo/50dc6c495c0c9188"
        );
        assert_eq!(
            super::short_id("sg-0aa11bb22cc33dd44"),
            "sg-0aa11bb22cc33dd44"
        );
        assert_eq!(super::short_id("arn:odd"), "arn:odd");
    }
}
