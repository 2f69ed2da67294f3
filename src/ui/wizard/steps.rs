//! The body of each wizard step; the network and instance steps have
//! files of their own.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::lookup_line;
use crate::app::model::Model;
use crate::app::wizard::{AccessField, Lookup, OptionsField, Wizard, text_of};
use crate::domain::cost::{self, dollars};
use crate::domain::list_prices::price_of;
use crate::domain::state::CostTracking;
use crate::domain::{DeploymentState, Tier};
use crate::ui::dialogs::{choice, text_field};
use crate::ui::layout::truncate;
use crate::ui::theme;

pub fn render(model: &Model, w: &Wizard, frame: &mut Frame, area: Rect) {
    use crate::app::wizard::Step;
    match w.step {
        Step::Name => name(model, w, frame, area),
        Step::Tier => frame.render_widget(Paragraph::new(tiers(model, w)), area),
        Step::Region => frame.render_widget(Paragraph::new(regions(model, w, area)), area),
        Step::Network => frame.render_widget(wrapped(super::network::lines(model, w, area)), area),
        Step::Instance => frame.render_widget(wrapped(super::instance::lines(model, w)), area),
        Step::Access => access(model, w, frame, area),
        Step::Options => options(w, frame, area),
        Step::Plan => plan(model, w, frame, area),
    }
}

/// Long lines (a lookup's error) wrap rather than lose their end.
pub(super) fn wrapped(lines: Vec<Line<'static>>) -> Paragraph<'static> {
    Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false })
}

pub(super) fn rows(area: Rect, count: usize) -> Vec<Rect> {
    Layout::vertical(vec![Constraint::Length(1); count])
        .split(area)
        .to_vec()
}

pub(super) fn selected_style(selected: bool) -> Style {
    if selected {
        Style::new().add_modifier(Modifier::REVERSED)
    } else {
        Style::new()
    }
}

pub(super) fn row(selected: bool, text: String) -> Line<'static> {
    let mark = if selected { "▶ " } else { "  " };
    Line::from(Span::styled(
        format!("{mark}{text}"),
        selected_style(selected),
    ))
}

pub(super) fn warning(text: String) -> Line<'static> {
    Line::from(Span::styled(
        format!("⚠ {text}"),
        Style::new().fg(theme::warn()),
    ))
}

fn name(model: &Model, w: &Wizard, frame: &mut Frame, area: Rect) {
    let r = rows(area, 5);
    text_field(frame, r[0], "Name", &w.name, true);
    frame.render_widget(
        Span::styled(
            "               2-64 characters: a-z, 0-9 and '-', not at either end",
            theme::dim(),
        ),
        r[1],
    );
    let taken: Vec<&str> = model
        .stacks
        .iter()
        .filter(|s| s.status != crate::domain::StackStatus::Destroyed)
        .map(|s| s.stack_name.as_str())
        .collect();
    if !taken.is_empty() {
        let text = format!("               taken: {}", taken.join(", "));
        frame.render_widget(
            Span::styled(truncate(&text, area.width as usize), theme::dim()),
            r[3],
        );
    }
}

/// A month of a `tier` stack on its default type at list prices.
fn tier_monthly(model: &Model, w: &Wizard, tier: Tier) -> Option<f64> {
    let instance_type = tier.default_instance_type();
    let (od, spot) = price_of(instance_type)?;
    let mut state = DeploymentState::new("plan", tier, w.region(), model.provider, model.now);
    let mut prices = CostTracking::new(instance_type, w.spot);
    prices.on_demand_price_per_hour = Some(od);
    prices.spot_price_per_hour = Some(spot);
    state.cost = Some(prices);
    Some(cost::planned_monthly(&state, tier, model.now))
}

fn tiers(model: &Model, w: &Wizard) -> Vec<Line<'static>> {
    let market = if w.spot { "spot" } else { "on-demand" };
    let mut out = vec![Line::from(Span::styled(
        format!("  {:<11}{:<48}{:>10}", "Tier", "What it adds", "≈ a month"),
        theme::dim(),
    ))];
    for tier in Tier::ALL {
        let adds = match tier {
            Tier::Dev => "instance + encrypted EFS, open to your IP only",
            Tier::Automation => "+ load balancer in 2 zones (HTTPS with a cert)",
            Tier::Gpu => "+ GPU instance for Ollama, CloudFront in front",
        };
        let monthly = tier_monthly(model, w, tier).map_or("?".into(), dollars);
        out.push(row(
            tier == w.tier,
            format!("{:<11}{adds:<48}{monthly:>9}", tier.name()),
        ));
    }
    out.push(Line::from(""));
    out.push(Line::from(Span::styled(
        format!("  List prices, {market}, on t3.medium / t3.large / g4dn.xlarge."),
        theme::dim(),
    )));
    if model.is_sandbox() {
        out.push(Line::from(Span::styled(
            "  Sandbox: nothing is created in AWS or billed.",
            theme::dim(),
        )));
    }
    out
}

/// Rows of a list that fit `height`, scrolled so `selected` shows.
pub(super) fn window(len: usize, selected: usize, height: usize) -> std::ops::Range<usize> {
    let height = height.max(1);
    let start = selected
        .saturating_sub(height - 1)
        .min(len.saturating_sub(height));
    start..(start + height).min(len)
}

fn regions(model: &Model, w: &Wizard, area: Rect) -> Vec<Line<'static>> {
    let shown = window(w.regions.len(), w.region, area.height as usize);
    w.regions[shown.clone()]
        .iter()
        .zip(shown)
        .map(|(code, i)| {
            let place = crate::domain::regions::location_of(code).unwrap_or("");
            let note = if *code == model.region {
                "  (current)"
            } else {
                ""
            };
            row(i == w.region, format!("{code:<16}{place}{note}"))
        })
        .collect()
}

fn access(model: &Model, w: &Wizard, frame: &mut Frame, area: Rect) {
    let r = rows(area, 10);
    let focus = |f| w.access_field == f;
    text_field(
        frame,
        r[0],
        "Allowed CIDR",
        &w.allow_cidr,
        focus(AccessField::AllowCidr),
    );
    let caller = match &w.caller {
        Some(Lookup::Failed(why)) => Line::from(Span::styled(
            format!("✗ {why}. Type the CIDR the services open to."),
            Style::new().fg(theme::bad()),
        )),
        Some(lookup) => {
            lookup_line(model, lookup, "finding your public IP…", "").unwrap_or_else(|| {
                Line::from(Span::styled(
                    "               your public IP: the service ports open to it only",
                    theme::dim(),
                ))
            })
        }
        None => Line::from(""),
    };
    // Two rows: a failed lookup's reason is long.
    frame.render_widget(
        Paragraph::new(caller).wrap(ratatui::widgets::Wrap { trim: false }),
        Rect { height: 2, ..r[1] },
    );
    if text_of(&w.allow_cidr).ends_with("/0") {
        frame.render_widget(warning("open to the whole internet".into()), r[3]);
    }
    text_field(
        frame,
        r[4],
        "Owner email",
        &w.owner_email,
        focus(AccessField::OwnerEmail),
    );
    frame.render_widget(
        Span::styled(
            "               n8n's owner; password: secret STACK n8n-owner-password",
            theme::dim(),
        ),
        r[5],
    );
    if w.tier.has_load_balancer() {
        text_field(
            frame,
            r[7],
            "Certificate",
            &w.certificate,
            focus(AccessField::Certificate),
        );
        frame.render_widget(
            Span::styled(
                "               optional ACM ARN: the load balancer serves HTTPS",
                theme::dim(),
            ),
            r[8],
        );
    }
}

fn options(w: &Wizard, frame: &mut Frame, area: Rect) {
    let r = rows(area, 11);
    let focus = |f| w.options_field == f;
    let (on, note) = if w.auto_rollback {
        ("on", "a deploy whose services never come up is undone")
    } else {
        ("off", "a failed instance is kept for you to inspect")
    };
    frame.render_widget(
        choice("Auto-rollback", on, note, focus(OptionsField::AutoRollback)),
        r[0],
    );
    text_field(
        frame,
        r[2],
        "Rollback after",
        &w.rollback_minutes,
        focus(OptionsField::RollbackTimeout),
    );
    frame.render_widget(
        Span::styled(
            "               minutes the services may take to come up (1-120)",
            theme::dim(),
        ),
        r[3],
    );
    text_field(
        frame,
        r[5],
        "Budget $/mo",
        &w.budget,
        focus(OptionsField::Budget),
    );
    let action = w.budget_action.to_string();
    let note = match w.budget_action {
        crate::domain::budget::BudgetAction::Warn => "warn at 80% and at 100%",
        crate::domain::budget::BudgetAction::Stop => "stop the instance at 100%; data kept",
    };
    frame.render_widget(
        choice(
            "At the budget",
            &action,
            note,
            focus(OptionsField::BudgetAction),
        ),
        r[6],
    );
    boot_models(w, frame, [r[8], r[9]], focus(OptionsField::Models));
}

/// "models at first boot: llama3.2:3b (2.02 GB)", for the plan.
fn boot_models_line(names: &[String]) -> String {
    if names.is_empty() {
        return "no model pulled at first boot".into();
    }
    let sized: Vec<String> = names
        .iter()
        .map(|n| match crate::domain::models::known(n) {
            Some(k) => format!("{n} ({})", crate::domain::models::bytes(k.size_bytes)),
            None => n.clone(),
        })
        .collect();
    format!("models at first boot: {}", sized.join(", "))
}

/// The catalogue's model under the cursor, its size and EFS cost, and
/// which are pulled at first boot.
fn boot_models(w: &Wizard, frame: &mut Frame, r: [Rect; 2], focused: bool) {
    use crate::domain::models::{CATALOGUE, default_model, size_and_cost};
    let chosen = w.boot_models();
    let Some(known) = CATALOGUE.get(w.model_cursor) else {
        return;
    };
    let mark = if chosen.iter().any(|m| m == known.name) {
        "●"
    } else {
        "○"
    };
    let gb_month = match w.quote() {
        Some(Lookup::Ready(prices)) => prices.efs_gb_month,
        _ => crate::domain::list_prices::EFS_GB_MONTH,
    };
    let note = format!(
        "{} · {}",
        size_and_cost(known.size_bytes, gb_month),
        known.about
    );
    let value = format!("{mark} {}", known.name);
    frame.render_widget(choice("Models", &value, &note, focused), r[0]);
    let default = default_model(w.tier).name;
    let pulled = match chosen.as_slice() {
        [] => "first boot pulls no model; `models STACK pull NAME` later".to_string(),
        [only] if only == default => {
            format!("first boot pulls {only}, the {} tier's default", w.tier)
        }
        many => format!("first boot pulls {}", many.join(", ")),
    };
    let hint = if focused {
        " · Space adds/removes"
    } else {
        ""
    };
    let text = format!("               {pulled}{hint}");
    frame.render_widget(
        Span::styled(truncate(&text, r[1].width as usize), theme::dim()),
        r[1],
    );
}

fn plan(model: &Model, w: &Wizard, frame: &mut Frame, area: Rect) {
    let Some(review) = &w.review else {
        return;
    };
    let (req, plan) = review.as_ref();
    let market = if plan.spot { "spot" } else { "on-demand" };
    let mut lines = vec![Line::from(Span::styled(
        truncate(
            &format!(
                "{} · {} · {market} {} · {} · ≈ {}/month",
                plan.stack,
                plan.tier,
                plan.instance_type,
                plan.region,
                dollars(plan.monthly_estimate)
            ),
            area.width as usize,
        ),
        Style::new().add_modifier(Modifier::BOLD),
    ))];
    lines.extend(crate::ui::plan::lines(model, plan, area.width as usize));
    let rollback = match (
        req.options.auto_rollback,
        req.options.rollback_timeout_minutes,
    ) {
        (Some(false), _) => "auto-rollback off".to_string(),
        (_, Some(m)) => format!("auto-rollback after {m} min"),
        _ => "auto-rollback on".to_string(),
    };
    lines.push(Line::from(Span::styled(rollback, theme::dim())));
    lines.push(Line::from(Span::styled(
        truncate(&boot_models_line(&req.options.models), area.width as usize),
        theme::dim(),
    )));
    let room = area.height.saturating_sub(1);
    let total = lines.len() as u16;
    let scroll = w.plan_scroll.min(total.saturating_sub(room));
    let [body, button] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), body);
    let more = if total > room { "   (j/k: more)" } else { "" };
    frame.render_widget(
        Line::from(vec![
            Span::styled(" Deploy ", theme::button()),
            Span::styled(more, theme::dim()),
        ]),
        button,
    );
}
