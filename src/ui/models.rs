//! The Models view: the stack's models on its EFS, what is loaded and where
//! (CPU or GPU), what they cost in storage, and a pull's progress.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::layout::fit;
use super::theme;
use crate::app::model::Model;
use crate::domain::cost::dollars;
use crate::domain::models::bytes;

const NAME: usize = 26;
const SIZE: usize = 10;

pub fn dialog(model: &Model, stack: &str, selected: usize, frame: &mut Frame, area: Rect) {
    let width = area.width.saturating_sub(4).min(90);
    let known = model.models.get(stack);
    let efs_price = model
        .stacks
        .iter()
        .find(|s| s.stack_name == stack)
        .map_or(crate::domain::list_prices::EFS_GB_MONTH, |s| {
            s.efs_gb_month()
        });
    let mut lines = Vec::new();
    let heading = match known.and_then(|m| m.view.as_ref()) {
        None => {
            lines.push(Line::from(Span::styled(
                "reading the models on the instance…",
                theme::dim(),
            )));
            format!("{stack} · Ollama's models")
        }
        Some(Err(why)) => {
            lines.push(Line::from(Span::styled(
                format!("could not read them: {why}"),
                theme::dim(),
            )));
            format!("{stack} · Ollama's models")
        }
        Some(Ok(view)) => {
            let total: u64 = view.installed.iter().map(|m| m.size_bytes).sum();
            if view.installed.is_empty() {
                lines.push(Line::from(Span::styled("no models yet", theme::dim())));
            } else {
                lines.push(Line::from(Span::styled(
                    format!(
                        "{}{}{}LOADED",
                        fit("NAME", NAME),
                        fit("SIZE", SIZE),
                        fit("MODIFIED", 18)
                    ),
                    Style::new().fg(theme::accent()),
                )));
            }
            for (i, m) in view.installed.iter().enumerate() {
                let loaded = view
                    .loaded
                    .iter()
                    .find(|l| l.name == m.name)
                    .map(|l| format!("{} {}", l.processor(), bytes(l.size_bytes)))
                    .unwrap_or_else(|| "-".into());
                let when: String = m
                    .modified_at
                    .clone()
                    .unwrap_or_default()
                    .chars()
                    .take(16)
                    .collect();
                let style = if i == selected {
                    Style::new().add_modifier(Modifier::REVERSED)
                } else {
                    Style::new()
                };
                lines.push(Line::from(vec![
                    Span::styled(fit(&m.name, NAME), style),
                    Span::raw(fit(&bytes(m.size_bytes), SIZE)),
                    Span::styled(fit(&when.replace('T', " "), 18), theme::dim()),
                    Span::raw(loaded),
                ]));
            }
            let count = match view.installed.len() {
                1 => "1 model".to_string(),
                n => format!("{n} models"),
            };
            format!(
                "{stack} · {count} · {} on the EFS, ~{}/month",
                bytes(total),
                dollars(total as f64 / 1e9 * efs_price)
            )
        }
    };
    if let Some(pull) = known.and_then(|m| m.pull.as_ref()) {
        lines.push(Line::from(""));
        let style = match &pull.ended {
            Some(Err(_)) => theme::service_status(crate::domain::state::ServiceStatus::Unhealthy),
            _ => Style::new(),
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("pull {} ", pull.name),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::styled(pull.line.clone(), style),
        ]));
    }
    let suggested = crate::app::update::suggested_model(model, stack);
    let keys = format!("p pull {suggested} · x remove · r read again · Esc close");
    let heading = Line::from(Span::styled(heading, Style::new().fg(theme::accent())));
    let title = format!(" Models on {stack} ");
    super::dialogs::scrolling_with_keys(frame, area, width, &title, heading, lines, 0, &keys);
}
