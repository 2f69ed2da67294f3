//! The Update dialog: the stack's type, market and images, then the plan:
//! what changes, what is replaced and kept, and the cost before and after.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::dialogs::{choice, text_field};
use super::layout::{centered, wrap};
use super::theme;
use crate::app::model::{PlanStatus, UpdateDialog, UpdateField};
use crate::deploy::update::UpdatePlan;

const LABEL: usize = 13;

pub fn dialog(d: &UpdateDialog, frame: &mut Frame, area: Rect) {
    let width = 96.min(area.width);
    let lines = plan_lines(&d.plan, usize::from(width.saturating_sub(2)));
    let height = (lines.len() as u16 + 8).min(area.height.saturating_sub(2));
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let block = theme::dialog(format!(" Update {} ", d.stack));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [kind, market, images, _, plan, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let at = |f| d.field == f;
    text_field(
        frame,
        kind,
        "Instance type",
        &d.instance_type,
        at(UpdateField::InstanceType),
    );
    let (value, note) = if d.spot {
        (
            "spot",
            "cheapest; AWS may reclaim it (the group replaces it)",
        )
    } else {
        ("on-demand", "about three times the price; never reclaimed")
    };
    frame.render_widget(
        choice("Market", value, note, at(UpdateField::Market)),
        market,
    );
    let (value, note) = if d.newest_images {
        (
            "newest tested",
            "each to its newest tag in images.toml that passed",
        )
    } else {
        ("as they run", "no image changes")
    };
    frame.render_widget(
        choice("Images", value, note, at(UpdateField::Images)),
        images,
    );
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), plan);
    let hint = match &d.plan {
        PlanStatus::Ready(ready) if !ready.0.is_empty() => {
            "Enter update · Tab field · Space change · Esc cancel"
        }
        _ => "Enter plan · Tab field · Space change · Esc cancel",
    };
    frame.render_widget(Span::styled(hint, theme::dim()), keys);
}

fn plan_lines(plan: &PlanStatus, width: usize) -> Vec<Line<'static>> {
    match plan {
        PlanStatus::NotAsked => vec![Line::from(Span::styled(
            "Enter shows the plan: what changes, what is kept, and the monthly cost.",
            theme::dim(),
        ))],
        PlanStatus::Pricing(_) => vec![Line::from(Span::styled("pricing the plan…", theme::dim()))],
        PlanStatus::Refused(why) => vec![Line::from(Span::styled(
            why.clone(),
            Style::new().fg(theme::bad()),
        ))],
        PlanStatus::Ready(ready) if ready.0.is_empty() => vec![Line::from(
            "It already runs as chosen: change the type, the market or the images.",
        )],
        PlanStatus::Ready(ready) => sections(&ready.0, width),
    }
}

/// The plan under its headings, each wrapped beside its heading; what
/// breaks in red.
fn sections(plan: &UpdatePlan, width: usize) -> Vec<Line<'static>> {
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut lines = Vec::new();
    let mut heading = "";
    for (section, text) in plan.sections() {
        let style = if text.contains("BREAKING") || text.contains("over the budget") {
            Style::new().fg(theme::bad())
        } else {
            Style::new()
        };
        for (i, part) in wrap(&text, width.saturating_sub(LABEL).max(20))
            .into_iter()
            .enumerate()
        {
            let label = if i > 0 || section == heading {
                ""
            } else {
                section
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{label:<LABEL$}"), bold),
                Span::styled(part, style),
            ]));
        }
        heading = section;
    }
    lines
}
