//! Stacks: name, status (symbol and colour), tier and region. Two lines per
//! stack when the column is narrow, one when there is room.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState, Paragraph};

use super::layout::fit;
use super::{symbols, theme};
use crate::app::model::{Model, Pane};
use crate::domain::DeploymentState;

const WIDE: u16 = 46;

pub fn render(model: &Model, frame: &mut Frame, area: Rect) {
    let count = model.visible_stacks().count();
    let title = if model.filter.is_empty() {
        format!(" Stacks ({count}) ")
    } else {
        format!(" Stacks /{} ({count}) ", model.filter)
    };
    let block = theme::pane(title, model.focus == Pane::Stacks);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if count == 0 {
        let hint = if model.stacks.is_empty() {
            "No stacks yet.\nPress n to deploy one."
        } else {
            "No stack matches the filter.\nEsc clears it."
        };
        frame.render_widget(Paragraph::new(hint).style(theme::dim()), inner);
        return;
    }
    let wide = inner.width >= WIDE;
    let items: Vec<ListItem> = model
        .visible_stacks()
        .map(|s| item(model, s, inner.width as usize, wide))
        .collect();
    let selected = model
        .visible_stacks()
        .position(|s| Some(&s.stack_name) == model.selected.as_ref());
    let list = List::new(items).highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut state = ListState::default().with_selected(selected);
    frame.render_stateful_widget(list, inner, &mut state);
}

fn item<'a>(model: &Model, s: &'a DeploymentState, width: usize, wide: bool) -> ListItem<'a> {
    let marker = if Some(&s.stack_name) == model.selected.as_ref() {
        "▶ "
    } else {
        "  "
    };
    let status = Span::styled(
        format!("{} {}", symbols::stack(s.status), s.status),
        theme::stack_status(s.status),
    );
    let other_cloud = if model.manages(s) {
        String::new()
    } else {
        format!(" · {}", s.provider)
    };
    if wide {
        let name_width = width.saturating_sub(2 + 15 + 12 + 12).max(8);
        return ListItem::new(Line::from(vec![
            Span::raw(marker),
            Span::raw(fit(&s.stack_name, name_width)),
            Span::raw(" "),
            Span::styled(
                fit(&format!("{} {}", symbols::stack(s.status), s.status), 14),
                theme::stack_status(s.status),
            ),
            Span::styled(fit(s.tier().name(), 11), theme::dim()),
            Span::styled(format!("{}{other_cloud}", s.region()), theme::dim()),
        ]));
    }
    let name_width = width.saturating_sub(2 + 15).max(6);
    ListItem::new(vec![
        Line::from(vec![
            Span::raw(marker),
            Span::raw(fit(&s.stack_name, name_width)),
            Span::raw(" "),
            status,
        ]),
        Line::from(Span::styled(
            format!("  {} · {}{other_cloud}", s.tier(), s.region()),
            theme::dim(),
        )),
    ])
}
