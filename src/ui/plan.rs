//! The plan of a new stack, the wizard's last step, shown before anything is
//! created: each stage's resources (create or reuse), who will reach what,
//! the monthly cost by component (`~` marks an estimate), and what a
//! destroy keeps.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::layout::truncate;
use super::theme;
use crate::app::model::Model;
use crate::deploy::plan::Plan;
use crate::domain::cost::dollars;

pub fn lines(model: &Model, plan: &Plan, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for stage in &plan.stages {
        out.push(Line::from(Span::styled(
            stage.stage.clone(),
            Style::new().fg(theme::accent()),
        )));
        for r in &stage.resources {
            let style = if r.action == "create" {
                Style::new()
            } else {
                theme::dim()
            };
            out.push(Line::from(vec![
                Span::styled(format!("  {:<7}", r.action), theme::dim()),
                Span::styled(truncate(&r.what, width.saturating_sub(9)), style),
            ]));
        }
    }
    out.push(Line::from(Span::styled(
        "Who can reach what",
        Style::new().fg(theme::accent()),
    )));
    out.extend(super::exposure::table(&plan.exposure, width));
    out.push(Line::from(Span::styled(
        "Monthly cost (~ estimate)",
        Style::new().fg(theme::accent()),
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
        theme::dim(),
    )));
    out
}
