//! Dialogs drawn over the dashboard: new stack, destroy, faults.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui_textarea::TextArea;

use super::layout::centered;
use super::theme;
use crate::app::model::{ConfirmDestroy, FaultMenu, FormField, Model, NewStackForm, Offer};
use crate::domain::DeploymentState;
use crate::domain::cost::{self, dollars};
use crate::domain::list_prices::price_of;
use crate::domain::state::CostTracking;

const LABEL_WIDTH: u16 = 15;

fn field_label(text: &str, focused: bool) -> Span<'static> {
    let style = if focused {
        Style::new().fg(theme::ACCENT).add_modifier(Modifier::BOLD)
    } else {
        Style::new()
    };
    Span::styled(format!("{text:<w$}", w = LABEL_WIDTH as usize), style)
}

fn text_field(
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

fn choice(label: &str, value: &str, note: &str, focused: bool) -> Line<'static> {
    Line::from(vec![
        field_label(label, focused),
        Span::raw(format!("◀ {value} ▶ ")),
        Span::styled(note.to_string(), theme::DIM),
    ])
}

/// What the whole plan costs a month (instance, EFS, addresses, ALB), at
/// list prices: the dialog's one-line preview of `deploy --plan`.
fn estimate(model: &Model, form: &NewStackForm, instance_type: &str) -> Option<String> {
    let (od, spot) = price_of(instance_type)?;
    let mut plan =
        DeploymentState::new("plan", form.tier, &model.region, model.provider, model.now);
    let mut prices = CostTracking::new(instance_type, form.spot);
    prices.on_demand_price_per_hour = Some(od);
    prices.spot_price_per_hour = Some(spot);
    plan.cost = Some(prices);
    let monthly = cost::planned_monthly(&plan, form.tier, model.now);
    let parts = if form.tier.has_load_balancer() {
        "instance, EFS, IPs, ALB"
    } else {
        "instance, EFS, IP"
    };
    Some(format!("≈ {}/mo ({parts})", dollars(monthly)))
}

pub fn new_stack(model: &Model, form: &NewStackForm, frame: &mut Frame, area: Rect) {
    let rect = centered(area, 64, 12);
    frame.render_widget(Clear, rect);
    let block = theme::dialog(" New stack ");
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let rows: [Rect; 9] = Layout::vertical([Constraint::Length(1); 9]).areas(inner);
    let f = form.field;
    text_field(frame, rows[0], "Name", &form.name, f == FormField::Name);
    let tier_note = match form.tier {
        crate::domain::Tier::Dev => "instance + EFS",
        crate::domain::Tier::Automation => "+ load balancer",
        crate::domain::Tier::Gpu => "+ CloudFront, GPU",
    };
    frame.render_widget(
        choice("Tier", form.tier.name(), tier_note, f == FormField::Tier),
        rows[1],
    );
    let market = if form.spot { "spot" } else { "on-demand" };
    let market_note = if form.spot {
        "~70% cheaper, can be interrupted"
    } else {
        "never interrupted"
    };
    frame.render_widget(
        choice("Market", market, market_note, f == FormField::Market),
        rows[2],
    );
    text_field(
        frame,
        rows[3],
        "Instance type",
        &form.instance_type,
        f == FormField::InstanceType,
    );
    text_field(
        frame,
        rows[4],
        "Budget $/mo",
        &form.budget,
        f == FormField::Budget,
    );
    let typed = form.instance_type.lines().join("");
    let text = match (estimate(model, form, typed.trim()), model.is_sandbox()) {
        (Some(e), true) => format!("{e} · sandbox: nothing is billed"),
        (Some(e), false) => format!("{e} · at list prices"),
        (None, _) => "no list price for this type: `deploy --plan` prices it".into(),
    };
    frame.render_widget(Span::styled(text, theme::DIM), rows[5]);
    if let Some(error) = &form.error {
        frame.render_widget(
            Paragraph::new(error.as_str())
                .style(Style::new().fg(Color::Red))
                .wrap(Wrap { trim: true }),
            Rect {
                height: 2,
                ..rows[6]
            },
        );
    }
    frame.render_widget(
        Span::styled(
            "Enter see the plan · Tab next field · ←/→ change · Esc cancel",
            theme::DIM,
        ),
        rows[8],
    );
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
                Span::styled(kept, Style::new().fg(Color::Green)),
            ]),
            Line::from(Span::styled(
                "A later deploy with this name reuses the data.",
                theme::DIM,
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
                theme::DIM,
            ),
            rows[7],
        );
        return;
    }
    let lines = vec![
        Line::from(Span::styled(
            format!("Deletes everything, including {kept}: all workflows, models and vectors."),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
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
            Span::styled(error.clone(), Style::new().fg(Color::Red)),
            rows[5],
        );
    }
    frame.render_widget(
        Span::styled("Enter delete · Esc cancel", theme::DIM),
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
        theme::DIM,
    )));
    frame.render_widget(Paragraph::new(lines), inner);
}

pub fn offer(offer: &Offer, frame: &mut Frame, area: Rect) {
    let (title, reason, question) = match offer {
        Offer::Sandbox { reason } => (
            " No AWS ",
            reason.as_str(),
            "Use the sandbox instead? It simulates AWS: nothing is created or billed.",
        ),
        Offer::OnDemand { reason, .. } => (
            " No spot capacity ",
            reason.as_str(),
            "Deploy on-demand instead? It costs about three times as much, and is never interrupted.",
        ),
    };
    let rect = centered(area, 72, 14);
    frame.render_widget(Clear, rect);
    let block = theme::dialog(title);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [body, keys] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner);
    let lines = vec![
        Line::from(Span::styled(reason.to_string(), theme::DIM)),
        Line::from(""),
        Line::from(Span::styled(
            question,
            Style::new().add_modifier(Modifier::BOLD),
        )),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), body);
    frame.render_widget(Span::styled("y yes · n no · q quit", theme::DIM), keys);
}

pub fn confirm_rollback(model: &Model, stack: &str, frame: &mut Frame, area: Rect) {
    let rect = centered(area, 64, 9);
    frame.render_widget(Clear, rect);
    let block = theme::dialog(format!(" Roll back {stack} "));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let state = model.stacks.iter().find(|s| s.stack_name == stack);
    let instance = state
        .and_then(|s| s.instance_id.clone())
        .unwrap_or_else(|| "the instance".into());
    let restore = if state.is_some_and(|s| s.last_healthy_state.is_some()) {
        "then relaunches it from the last healthy snapshot, on the same EFS and secrets."
    } else {
        "There is no healthy snapshot: the stack ends failed, its EFS kept."
    };
    let [body, keys] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner);
    let lines = vec![
        Line::from(format!("Terminates {instance},")),
        Line::from(restore),
        Line::from(Span::styled(
            "Data on the EFS is never touched.",
            theme::DIM,
        )),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), body);
    frame.render_widget(Span::styled("y roll back · n cancel", theme::DIM), keys);
}
