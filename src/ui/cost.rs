//! Cost: hourly rate, spot saving, monthly estimate and cost to date.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme;
use crate::app::model::{Model, Pane};
use crate::domain::cost::{self, dollars};

pub fn render(model: &Model, frame: &mut Frame, area: Rect) {
    let block = theme::pane(" Cost ", model.focus == Pane::Cost);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(stack) = model.selected_stack() else {
        frame.render_widget(
            Paragraph::new("No stack selected.").style(theme::DIM),
            inner,
        );
        return;
    };
    let c = cost::summarize(stack, model.now);
    let market = if c.is_spot { "spot" } else { "on-demand" };
    let rate = match c.hourly_rate {
        Some(rate) => {
            let mut spans = vec![Span::raw(format!("{} {market}", cost::per_hour(rate)))];
            if let Some(pct) = c.spot_saving_pct {
                spans.push(Span::styled(
                    format!(" -{pct:.0}%"),
                    Style::new().fg(Color::Green),
                ));
            }
            Line::from(spans)
        }
        None => Line::from(Span::styled("no instance running", theme::DIM)),
    };
    let efs = if stack.efs_id.is_some() {
        // "~" marks the assumed size: the pane has no room for the word.
        let size = if c.efs_size_known {
            format!("{:.1} GB", c.efs_size_gb)
        } else {
            format!("~{:.0} GB", c.efs_size_gb)
        };
        format!("EFS {size} {}/mo", dollars(c.efs_monthly))
    } else {
        "no EFS".to_string()
    };
    let lines = vec![
        rate,
        Line::from(format!("~{}/mo", dollars(c.monthly_estimate))),
        Line::from(Span::styled(efs, theme::DIM)),
        Line::from(format!(
            "{} so far · {:.1} h",
            dollars(c.cost_to_date),
            c.runtime_hours
        )),
    ];
    frame.render_widget(Paragraph::new(lines), inner);
}
