//! Cost: hourly rate and spot saving, monthly estimate, cost to date with a
//! chart of how it accrued, the budget when there is one, and the breakdown
//! by component when the pane is tall enough ("~" marks an estimate).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::health::sparkline;
use super::{symbols, theme};
use crate::app::model::{Model, Pane};
use crate::domain::DeploymentState;
use crate::domain::budget::{BudgetLevel, BudgetStatus};
use crate::domain::cost::{self, CostSummary, dollars};

pub fn render(model: &Model, frame: &mut Frame, area: Rect) {
    let stack = model.selected_stack();
    let budget = stack.and_then(|s| s.budget_status.as_ref());
    let title = match budget.map(|b| b.level) {
        Some(level @ (BudgetLevel::Warning | BudgetLevel::Exceeded)) => {
            format!(" Cost · {} budget ", symbols::budget(level))
        }
        _ => " Cost ".to_string(),
    };
    let block = theme::pane(title, model.focus == Pane::Cost);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(stack) = stack else {
        frame.render_widget(
            Paragraph::new("No stack selected.").style(theme::dim()),
            inner,
        );
        return;
    };
    let c = cost::summarize(stack, model.now);
    let width = inner.width as usize;
    let mut lines = vec![rate(&c), monthly(&c), to_date(stack, &c, model, width)];
    lines.push(match budget {
        Some(b) => Line::from(Span::styled(budget_line(b), budget_style(b.level))),
        None => Line::from(Span::styled(efs(stack, &c), theme::dim())),
    });
    if inner.height as usize > lines.len() {
        lines.extend(
            c.items
                .iter()
                .filter(|i| i.component != "instance")
                .map(|i| {
                    let mark = if i.estimate { "~" } else { " " };
                    Line::from(Span::styled(
                        format!("{:<11}{mark}{}/mo", i.component, dollars(i.monthly)),
                        theme::dim(),
                    ))
                }),
        );
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn rate(c: &CostSummary) -> Line<'static> {
    let market = if c.is_spot { "spot" } else { "on-demand" };
    match c.hourly_rate {
        Some(rate) => {
            let mut spans = vec![Span::raw(format!("{} {market}", cost::per_hour(rate)))];
            if let Some(pct) = c.spot_saving_pct {
                spans.push(Span::styled(
                    format!(" -{pct:.0}%"),
                    Style::new().fg(theme::good()),
                ));
            }
            Line::from(spans)
        }
        None => Line::from(Span::styled("no instance running", theme::dim())),
    }
}

fn monthly(c: &CostSummary) -> Line<'static> {
    let mut spans = vec![Span::raw(format!("~{}/mo", dollars(c.monthly_estimate)))];
    if let Some(saving) = c.spot_saving_monthly {
        spans.push(Span::styled(
            format!(" saves {}/mo", dollars(saving)),
            Style::new().fg(theme::good()),
        ));
    }
    Line::from(spans)
}

/// "$0.42 so far ▁▂▃▅▇": the chart is the accrued cost since creation.
fn to_date(stack: &DeploymentState, c: &CostSummary, model: &Model, width: usize) -> Line<'static> {
    let text = format!("{} so far ", dollars(c.cost_to_date));
    let room = width.saturating_sub(text.chars().count()).min(12);
    // Micro-dollars: the sparkline scales integers to their own maximum.
    let series: Vec<Option<u64>> = cost::accrued_series(stack, model.now, room)
        .into_iter()
        .map(|v| Some((v * 1e6) as u64))
        .collect();
    Line::from(vec![
        Span::raw(text),
        Span::styled(sparkline(&series, room), theme::dim()),
    ])
}

fn efs(stack: &DeploymentState, c: &CostSummary) -> String {
    if stack.efs_id.is_none() {
        return "no EFS".to_string();
    }
    // "~" marks the assumed size: the pane has no room for the word.
    let size = if c.efs_size_known {
        format!("{:.1} GB", c.efs_size_gb)
    } else {
        format!("~{:.0} GB", c.efs_size_gb)
    };
    format!("EFS {size} {}/mo", dollars(c.efs_monthly))
}

/// The budget in a few words; `status` and `cost` give the full sentence.
fn budget_line(b: &BudgetStatus) -> String {
    let symbol = symbols::budget(b.level);
    let limit = dollars(b.monthly_usd);
    match b.level {
        BudgetLevel::Exceeded => format!(
            "{symbol} {} spent of {limit}: {}",
            dollars(b.spent_this_month),
            b.action
        ),
        _ => {
            let pct = b.projected_monthly / b.monthly_usd * 100.0;
            let pct = if pct < 1000.0 {
                format!("{pct:.0}%")
            } else {
                ">999%".into()
            };
            // Projected: the pane is too narrow for the word at 80 columns.
            format!("{symbol} {pct} of {limit} budget")
        }
    }
}

fn budget_style(level: BudgetLevel) -> Style {
    Style::new().fg(match level {
        BudgetLevel::Ok => theme::good(),
        BudgetLevel::Warning => theme::warn(),
        BudgetLevel::Exceeded => theme::bad(),
    })
}
