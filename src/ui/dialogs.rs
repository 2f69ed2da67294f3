//! Dialogs drawn over the dashboard: destroy, rollback, faults, offers.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui_textarea::TextArea;

use super::layout::centered;
use super::theme;
use crate::app::model::{ConfirmDestroy, FaultMenu, Model, Offer};

const LABEL_WIDTH: u16 = 15;

fn field_label(text: &str, focused: bool) -> Span<'static> {
    let style = if focused {
        Style::new()
            .fg(theme::accent())
            .add_modifier(Modifier::BOLD)
    } else {
        Style::new()
    };
    Span::styled(format!("{text:<w$}", w = LABEL_WIDTH as usize), style)
}

pub(super) fn text_field(
    frame: &mut Frame,
    area: Rect,
    label: &str,
    area_text: &TextArea<'static>,
    focused: bool,
) {
    let [l, value] =
        Layout::horizontal([Constraint::Length(LABEL_WIDTH), Constraint::Fill(1)]).areas(area);
    frame.render_widget(field_label(label, focused), l);
    let mut text = area_text.clone();
    let underline = Style::new().add_modifier(Modifier::UNDERLINED);
    text.set_style(underline);
    text.set_cursor_line_style(underline);
    if !focused {
        text.set_cursor_style(underline);
    }
    frame.render_widget(&text, value);
}

pub(super) fn choice(label: &str, value: &str, note: &str, focused: bool) -> Line<'static> {
    Line::from(vec![
        field_label(label, focused),
        Span::raw(format!("◀ {value} ▶ ")),
        Span::styled(note.to_string(), theme::dim()),
    ])
}

pub fn confirm_destroy(model: &Model, confirm: &ConfirmDestroy, frame: &mut Frame, area: Rect) {
    let rect = centered(area, 64, 10);
    frame.render_widget(Clear, rect);
    let block = theme::dialog(format!(" Destroy {} ", confirm.stack));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let kept = model
        .stacks
        .iter()
        .find(|s| s.stack_name == confirm.stack)
        .and_then(crate::deploy::destroy_kept_data)
        .map(|k| k.describe())
        .unwrap_or_else(|| "no EFS".into());
    let rows: [Rect; 8] = Layout::vertical([Constraint::Length(1); 8]).areas(inner);
    if !confirm.delete_data {
        let lines = vec![
            Line::from("Terminates the instance and removes its security group and IAM role."),
            Line::from(vec![
                Span::raw("Keeps "),
                Span::styled(kept, Style::new().fg(theme::good())),
            ]),
            Line::from(Span::styled(
                "A later deploy with this name reuses the data.",
                theme::dim(),
            )),
        ];
        frame.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: true }),
            Rect {
                height: 4,
                ..rows[0]
            },
        );
        frame.render_widget(
            Span::styled(
                "y destroy, keep data · D delete data too · Esc cancel",
                theme::dim(),
            ),
            rows[7],
        );
        return;
    }
    let lines = vec![
        Line::from(Span::styled(
            format!("Deletes everything, including {kept}: all workflows, models and vectors."),
            Style::new().fg(theme::bad()).add_modifier(Modifier::BOLD),
        )),
        Line::from(format!(
            "Type {} and press Enter to confirm.",
            confirm.stack
        )),
    ];
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }),
        Rect {
            height: 3,
            ..rows[0]
        },
    );
    text_field(frame, rows[4], "Stack name", &confirm.typed, true);
    if let Some(error) = &confirm.error {
        frame.render_widget(
            Span::styled(error.clone(), Style::new().fg(theme::bad())),
            rows[5],
        );
    }
    frame.render_widget(
        Span::styled("Enter delete · Esc cancel", theme::dim()),
        rows[7],
    );
}

pub fn faults(menu: &FaultMenu, frame: &mut Frame, area: Rect) {
    let height = menu.faults.len() as u16 + 4;
    let rect = centered(area, 44, height);
    frame.render_widget(Clear, rect);
    let block = theme::dialog(format!(" Inject a fault into {} ", menu.stack));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let mut lines: Vec<Line> = menu
        .faults
        .iter()
        .enumerate()
        .map(|(i, fault)| {
            if i == menu.selected {
                Line::from(Span::styled(
                    format!("▶ {}", fault.label()),
                    Style::new().add_modifier(Modifier::REVERSED),
                ))
            } else {
                Line::from(format!("  {}", fault.label()))
            }
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "Enter inject · j/k move · Esc close",
        theme::dim(),
    )));
    frame.render_widget(Paragraph::new(lines), inner);
}

pub fn offer(offer: &Offer, frame: &mut Frame, area: Rect) {
    let (title, reason, question) = match offer {
        Offer::Sandbox { reason } => (
            " No AWS ".to_string(),
            reason.as_str(),
            "Use the sandbox instead? It simulates AWS: nothing is created or billed.".to_string(),
        ),
        Offer::OnDemand { reason, .. } => (
            " No spot capacity ".to_string(),
            reason.as_str(),
            "Deploy on-demand instead? It costs about three times as much, and is never interrupted."
                .to_string(),
        ),
        Offer::Access { stack, cidr, reason } => (
            format!(" {stack} is unreachable from here "),
            reason.as_str(),
            format!(
                "Allow {cidr} to reach {stack}'s n8n? Its security group gains this one address; \
                 the others stay."
            ),
        ),
    };
    let rect = centered(area, 72, 14);
    frame.render_widget(Clear, rect);
    let block = theme::dialog(title);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [body, keys] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner);
    let lines = vec![
        Line::from(Span::styled(reason.to_string(), theme::dim())),
        Line::from(""),
        Line::from(Span::styled(
            question,
            Style::new().add_modifier(Modifier::BOLD),
        )),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), body);
    frame.render_widget(Span::styled("y yes · n no · q quit", theme::dim()), keys);
}

/// A small yes/no dialog `height` rows tall: `lines`, then `keys` on its last row.
pub(super) fn confirm_box(
    frame: &mut Frame,
    area: Rect,
    title: String,
    lines: Vec<Line<'static>>,
    height: u16,
    keys: &'static str,
) {
    let rect = centered(area, 64, height);
    frame.render_widget(Clear, rect);
    let block = theme::dialog(title);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [body, keys_row] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), body);
    frame.render_widget(Span::styled(keys, theme::dim()), keys_row);
}

pub fn confirm_remove_model(stack: &str, name: &str, frame: &mut Frame, area: Rect) {
    let lines = vec![
        Line::from(format!("Ollama deletes {name} from the stack's EFS.")),
        Line::from(Span::styled(
            "A workflow that calls it fails until it is pulled again.",
            theme::dim(),
        )),
    ];
    let title = format!(" Remove {name} from {stack} ");
    confirm_box(frame, area, title, lines, 7, "y remove · n cancel");
}

pub fn confirm_restart(
    stack: &str,
    service: crate::domain::Service,
    frame: &mut Frame,
    area: Rect,
) {
    let lines = vec![
        Line::from(format!(
            "Docker restarts {service}'s container; it is down until its"
        )),
        Line::from("healthcheck passes again. Its data on the EFS is kept."),
        Line::from(Span::styled(
            "The instance's watchdog counts this restart as no failure.",
            theme::dim(),
        )),
    ];
    let title = format!(" Restart {service} on {stack} ");
    confirm_box(frame, area, title, lines, 8, "y restart · n cancel");
}

pub fn confirm_rollback(model: &Model, stack: &str, frame: &mut Frame, area: Rect) {
    let state = model.stacks.iter().find(|s| s.stack_name == stack);
    let instance = state
        .and_then(|s| s.instance_id.clone())
        .unwrap_or_else(|| "the instance".into());
    let restore = if state.is_some_and(|s| s.last_healthy_state.is_some()) {
        "then relaunches it from the last healthy snapshot, on the same EFS and secrets."
    } else {
        "There is no healthy snapshot: the stack ends failed, its EFS kept."
    };
    let lines = vec![
        Line::from(format!("Terminates {instance},")),
        Line::from(restore),
        Line::from(Span::styled(
            "Data on the EFS is never touched.",
            theme::dim(),
        )),
    ];
    // One row more: the second line wraps.
    let title = format!(" Roll back {stack} ");
    confirm_box(frame, area, title, lines, 9, "y roll back · n cancel");
}

/// A dialog `width` wide whose `lines` scroll under a fixed `heading`, with
/// the keys that move and close it.
pub fn scrolling(
    frame: &mut Frame,
    area: Rect,
    width: u16,
    title: &str,
    heading: Line<'static>,
    lines: Vec<Line<'static>>,
    scroll: u16,
) {
    scrolling_with_keys(
        frame,
        area,
        width,
        title,
        heading,
        lines,
        scroll,
        "Esc close",
    );
}

/// `scrolling`, its last line saying `keys` (and j/k when it scrolls).
#[allow(clippy::too_many_arguments)]
pub fn scrolling_with_keys(
    frame: &mut Frame,
    area: Rect,
    width: u16,
    title: &str,
    heading: Line<'static>,
    lines: Vec<Line<'static>>,
    scroll: u16,
    keys: &str,
) {
    let height = (lines.len() as u16 + 4).min(area.height);
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let block = theme::dialog(title.to_string());
    let body = block.inner(rect);
    frame.render_widget(block, rect);
    let [top, text, keys_row] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(body);
    frame.render_widget(heading, top);
    let hidden = (lines.len() as u16).saturating_sub(text.height);
    frame.render_widget(Paragraph::new(lines).scroll((scroll.min(hidden), 0)), text);
    let hint = if hidden > 0 && !keys.starts_with("j/k") {
        format!("j/k scroll · {keys}")
    } else {
        keys.to_string()
    };
    frame.render_widget(Span::styled(hint, theme::dim()), keys_row);
}
