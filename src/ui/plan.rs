//! The plan of a new stack, shown before anything is created: each stage's
//! resources (create or reuse), the monthly cost by component (`~` marks an
//! estimate), and what a destroy keeps. Enter deploys; Esc goes back.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::layout::{centered, truncate};
use super::theme;
use crate::app::model::{Model, PlanReview};
use crate::deploy::plan::Plan;
use crate::domain::cost::dollars;

pub fn render(model: &Model, review: &PlanReview, frame: &mut Frame, area: Rect) {
    let plan = &review.plan;
    let width = 76u16.min(area.width.saturating_sub(2));
    let inner_width = width.saturating_sub(2) as usize;
    let rows = lines(model, plan, inner_width);
    let total = rows.len() as u16;
    let rect = centered(area, width, rows.len() as u16 + 4);
    let room = rect.height.saturating_sub(4);
    let scroll = review.scroll.min(total.saturating_sub(room));
    let market = if plan.spot { "spot" } else { "on-demand" };
    let title = format!(
        " Plan: {} · {} · {market} {} · {} ",
        plan.stack, plan.tier, plan.instance_type, plan.region
    );
    frame.render_widget(Clear, rect);
    let block = theme::dialog(title);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let body = Rect {
        height: inner.height.saturating_sub(2),
        ..inner
    };
    frame.render_widget(Paragraph::new(rows).scroll((scroll, 0)), body);
    let keys = Rect {
        y: inner.y + inner.height.saturating_sub(1),
        height: 1,
        ..inner
    };
    let hint = if total > room {
        "Enter deploy · Esc back to the form · j/k scroll"
    } else {
        "Enter deploy · Esc back to the form"
    };
    frame.render_widget(
        Paragraph::new(hint).style(Style::new().add_modifier(Modifier::BOLD)),
        keys,
    );
}

fn lines(model: &Model, plan: &Plan, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for stage in &plan.stages {
        out.push(Line::from(Span::styled(
            stage.stage.clone(),
            Style::new().fg(theme::ACCENT),
        )));
        for r in &stage.resources {
            let style = if r.action == "create" {
                Style::new()
            } else {
                theme::DIM
            };
            out.push(Line::from(vec![
                Span::styled(format!("  {:<7}", r.action), theme::DIM),
                Span::styled(truncate(&r.what, width.saturating_sub(9)), style),
            ]));
        }
    }
    out.push(Line::from(Span::styled(
        "Monthly cost (~ estimate)",
        Style::new().fg(theme::ACCENT),
    )));
    for item in &plan.costs {
        let mark = if item.estimate { "~" } else { " " };
        out.push(Line::from(Span::raw(truncate(
            &format!(
                "  {:<12}{mark}{:>9}  {}",
                item.component,
                dollars(item.monthly),
                item.note
            ),
            width,
        ))));
    }
    let billed = if model.is_sandbox() {
        "  (sandbox: nothing is billed)"
    } else {
        ""
    };
    out.push(Line::from(Span::styled(
        format!(
            "  {:<12}~{:>9}{billed}",
            "total",
            dollars(plan.monthly_estimate)
        ),
        Style::new().add_modifier(Modifier::BOLD),
    )));
    if let Some(budget) = &plan.budget {
        let verdict = if plan.over_budget {
            "over it: Enter deploys anyway, and the budget warns"
        } else {
            "within it"
        };
        out.push(Line::from(format!(
            "  budget {}/month: {verdict}",
            dollars(budget.monthly_usd)
        )));
    }
    out.push(Line::from(Span::styled(
        truncate(
            &format!("Destroy keeps {}", plan.destroy_keeps.join(" and ")),
            width,
        ),
        theme::DIM,
    )));
    out
}
