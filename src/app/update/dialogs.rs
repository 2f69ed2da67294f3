//! Keys while a dialog is open: the help, the new-stack form, the destroy
//! confirmation and the fault menu.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;
use strum::IntoEnumIterator;

use super::notify;
use crate::app::effect::Effect;
use crate::app::model::{
    ConfirmDestroy, FaultMenu, FormField, Model, NewStackForm, NoticeLevel, Offer, Overlay,
    PlanReview,
};
use crate::cloud::{DeployOptions, DeployRequest, Prices};
use crate::deploy::plan;
use crate::domain::budget::Budget;
use crate::domain::stage::OperationKind;
use crate::domain::{StackName, StackStatus, Tier};

pub fn single_line(text: &str) -> TextArea<'static> {
    let mut area = TextArea::new(vec![text.to_string()]);
    area.move_cursor(ratatui_textarea::CursorMove::End);
    area
}

fn text_of(area: &TextArea<'_>) -> String {
    area.lines().join("").trim().to_string()
}

pub fn new_stack_form(model: &Model) -> NewStackForm {
    let mut name = single_line("");
    name.set_placeholder_text("e.g. demo");
    let mut budget = single_line("");
    budget.set_placeholder_text("none, or dollars a month");
    NewStackForm {
        name,
        budget,
        instance_type: single_line(&model.default_instance_type),
        tier: model.default_tier,
        spot: model.prefer_spot,
        field: FormField::Name,
        error: None,
    }
}

pub fn on_key(model: &mut Model, key: KeyEvent) -> Vec<Effect> {
    let Some(overlay) = model.overlay.take() else {
        return Vec::new();
    };
    let (kept, effects) = match overlay {
        Overlay::Help => help_key(model, key),
        Overlay::NewStack(form) => form_key(model, form, key),
        Overlay::Plan(review) => plan_key(model, review, key),
        Overlay::ConfirmDestroy(confirm) => destroy_key(model, confirm, key),
        Overlay::Faults(menu) => faults_key(menu, key),
        Overlay::Offer(offer) => offer_key(model, offer, key),
        Overlay::ConfirmRollback(stack) => rollback_key(model, stack, key),
    };
    model.overlay = kept;
    effects
}

type Outcome = (Option<Overlay>, Vec<Effect>);

fn close() -> Outcome {
    (None, Vec::new())
}

fn help_key(model: &mut Model, key: KeyEvent) -> Outcome {
    match key.code {
        KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter => {
            model.help_scroll = 0;
            close()
        }
        // The view stops at the last row; past it is clamped when drawn.
        KeyCode::Char('j') | KeyCode::Down => {
            model.help_scroll = model.help_scroll.saturating_add(1).min(64);
            (Some(Overlay::Help), Vec::new())
        }
        KeyCode::Char('k') | KeyCode::Up => {
            model.help_scroll = model.help_scroll.saturating_sub(1);
            (Some(Overlay::Help), Vec::new())
        }
        _ => (Some(Overlay::Help), Vec::new()),
    }
}

/// Keys a single-line text field must not receive (they would add lines or
/// are the dialog's own).
fn is_text_input(key: &KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Enter | KeyCode::Tab | KeyCode::BackTab | KeyCode::Esc => false,
        KeyCode::Char('m' | 'j') => !ctrl,
        _ => true,
    }
}

fn form_key(model: &mut Model, mut form: Box<NewStackForm>, key: KeyEvent) -> Outcome {
    form.error = None;
    let fields: Vec<FormField> = FormField::iter().collect();
    let at = fields.iter().position(|f| *f == form.field).unwrap_or(0);
    match key.code {
        KeyCode::Esc => return close(),
        KeyCode::Tab | KeyCode::Down => form.field = fields[(at + 1) % fields.len()],
        KeyCode::BackTab | KeyCode::Up => {
            form.field = fields[(at + fields.len() - 1) % fields.len()]
        }
        KeyCode::Enter => return submit(model, form),
        _ => match form.field {
            FormField::Name if is_text_input(&key) => {
                form.name.input(key);
                // Checked as it is typed; Enter stays blocked while it is wrong.
                form.error = name_problem(model, &text_of(&form.name)).err();
            }
            FormField::InstanceType if is_text_input(&key) => {
                form.instance_type.input(key);
            }
            FormField::Budget if is_text_input(&key) => {
                form.budget.input(key);
            }
            FormField::Tier => cycle_tier(&mut form, &key),
            FormField::Market => {
                if matches!(
                    key.code,
                    KeyCode::Left | KeyCode::Right | KeyCode::Char(' ')
                ) {
                    form.spot = !form.spot;
                }
            }
            _ => {}
        },
    }
    (Some(Overlay::NewStack(form)), Vec::new())
}

fn cycle_tier(form: &mut NewStackForm, key: &KeyEvent) {
    let step: isize = match key.code {
        KeyCode::Right | KeyCode::Char(' ') | KeyCode::Char('l') => 1,
        KeyCode::Left | KeyCode::Char('h') => -1,
        _ => return,
    };
    let tiers = Tier::ALL;
    let at = tiers.iter().position(|t| *t == form.tier).unwrap_or(0) as isize;
    let next = tiers[(at + step).rem_euclid(tiers.len() as isize) as usize];
    // Follow the tier's default type unless the user typed their own.
    if text_of(&form.instance_type) == form.tier.default_instance_type() {
        form.instance_type = single_line(next.default_instance_type());
    }
    form.tier = next;
}

/// Enter on the form: nothing is created before the plan has been seen.
fn submit(model: &mut Model, mut form: Box<NewStackForm>) -> Outcome {
    match request_from(model, &form) {
        Ok(request) => {
            let existing = model
                .stacks
                .iter()
                .find(|s| s.stack_name == request.stack.as_str())
                .cloned();
            let prices = list_prices(&request, model.is_sandbox());
            let plan = plan::make(&request, existing, &prices, model.now);
            let review = PlanReview {
                form,
                request,
                plan,
                scroll: 0,
            };
            (Some(Overlay::Plan(Box::new(review))), Vec::new())
        }
        Err(why) => {
            form.error = Some(why);
            (Some(Overlay::NewStack(form)), Vec::new())
        }
    }
}

/// The list prices the dialog plans with (live ones come with the deploy),
/// marked as estimates outside the sandbox, whose prices they are.
fn list_prices(request: &DeployRequest, sandbox: bool) -> Prices {
    let listed = crate::domain::list_prices::price_of(&request.instance_type);
    let why = || (!sandbox).then(|| "list price: the deploy reads the live one".to_string());
    Prices {
        on_demand_per_hour: listed.map(|(od, _)| od),
        spot_per_hour: listed.map(|(_, spot)| spot),
        efs_gb_month: crate::domain::list_prices::EFS_GB_MONTH,
        on_demand_estimate: why(),
        spot_estimate: why(),
    }
}

fn plan_key(model: &mut Model, mut review: Box<PlanReview>, key: KeyEvent) -> Outcome {
    match key.code {
        KeyCode::Enter => {
            // The plan said it is over the budget: Enter is the consent
            // that `--over-budget` gives on the command line.
            let mut request = review.request;
            request.options.over_budget = review.plan.over_budget;
            deploy(model, request)
        }
        KeyCode::Esc | KeyCode::Backspace => (Some(Overlay::NewStack(review.form)), Vec::new()),
        KeyCode::Char('j') | KeyCode::Down => {
            review.scroll = review.scroll.saturating_add(1).min(64);
            (Some(Overlay::Plan(review)), Vec::new())
        }
        KeyCode::Char('k') | KeyCode::Up => {
            review.scroll = review.scroll.saturating_sub(1);
            (Some(Overlay::Plan(review)), Vec::new())
        }
        _ => (Some(Overlay::Plan(review)), Vec::new()),
    }
}

/// The plan was seen and confirmed: deploy, and show it in the pipeline.
fn deploy(model: &mut Model, req: DeployRequest) -> Outcome {
    notify(
        model,
        NoticeLevel::Info,
        format!("deploying {} ({} tier)", req.stack, req.tier),
    );
    model
        .busy
        .insert(req.stack.to_string(), OperationKind::Deploy);
    super::select(model, Some(req.stack.to_string()));
    model.focus = crate::app::model::Pane::Pipeline;
    (None, vec![Effect::Deploy(req)])
}

/// The typed name as a stack name that is free (or a destroyed stack's,
/// whose kept EFS the deploy reuses); else why not.
fn name_problem(model: &Model, typed: &str) -> Result<StackName, String> {
    let stack = StackName::parse(typed).map_err(|e| e.to_string())?;
    match model.stacks.iter().find(|s| s.stack_name == stack.as_str()) {
        Some(existing) if !model.manages(existing) => Err(format!(
            "{stack} is an {} stack; choose another name",
            existing.provider
        )),
        Some(existing) if existing.status != StackStatus::Destroyed => Err(format!(
            "a stack named {stack} already exists ({}); choose another name",
            existing.status
        )),
        _ => Ok(stack),
    }
}

fn request_from(model: &Model, form: &NewStackForm) -> Result<DeployRequest, String> {
    let stack = name_problem(model, &text_of(&form.name))?;
    let instance_type = text_of(&form.instance_type);
    if !instance_type.contains('.') || instance_type.contains(char::is_whitespace) {
        return Err(format!(
            "{instance_type:?} is not an EC2 instance type; use a name like t3.medium"
        ));
    }
    if model.busy.contains_key(stack.as_str()) {
        return Err(format!("{stack} is busy with another operation"));
    }
    let budget = match text_of(&form.budget).as_str() {
        "" => None,
        typed => Some(Budget {
            monthly_usd: crate::domain::budget::parse_usd(typed)?,
            action: model.budget_action,
        }),
    };
    Ok(DeployRequest {
        stack,
        tier: form.tier,
        region: model.region.clone(),
        instance_type,
        spot: form.spot,
        options: DeployOptions {
            budget,
            ..DeployOptions::default()
        },
    })
}

fn destroy_key(model: &mut Model, mut confirm: Box<ConfirmDestroy>, key: KeyEvent) -> Outcome {
    confirm.error = None;
    if !confirm.delete_data {
        return match key.code {
            KeyCode::Char('y') => destroy(model, &confirm.stack, false),
            KeyCode::Char('D') => {
                confirm.delete_data = true;
                (Some(Overlay::ConfirmDestroy(confirm)), Vec::new())
            }
            KeyCode::Esc | KeyCode::Char('n') | KeyCode::Char('q') => close(),
            _ => (Some(Overlay::ConfirmDestroy(confirm)), Vec::new()),
        };
    }
    match key.code {
        KeyCode::Esc => close(),
        KeyCode::Enter if text_of(&confirm.typed) == confirm.stack => {
            let stack = confirm.stack.clone();
            destroy(model, &stack, true)
        }
        KeyCode::Enter => {
            confirm.error = Some(format!("type {} to delete its data", confirm.stack));
            (Some(Overlay::ConfirmDestroy(confirm)), Vec::new())
        }
        _ => {
            if is_text_input(&key) {
                confirm.typed.input(key);
            }
            (Some(Overlay::ConfirmDestroy(confirm)), Vec::new())
        }
    }
}

fn destroy(model: &mut Model, stack: &str, delete_data: bool) -> Outcome {
    let Ok(name) = StackName::parse(stack) else {
        return close();
    };
    model.busy.insert(stack.to_string(), OperationKind::Destroy);
    let what = if delete_data { " and its data" } else { "" };
    notify(
        model,
        NoticeLevel::Info,
        format!("destroying {stack}{what}"),
    );
    model.focus = crate::app::model::Pane::Pipeline;
    (
        None,
        vec![Effect::Destroy {
            stack: name,
            delete_data,
        }],
    )
}

fn faults_key(mut menu: FaultMenu, key: KeyEvent) -> Outcome {
    let last = menu.faults.len().saturating_sub(1);
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') => return close(),
        KeyCode::Char('j') | KeyCode::Down => menu.selected = (menu.selected + 1).min(last),
        KeyCode::Char('k') | KeyCode::Up => menu.selected = menu.selected.saturating_sub(1),
        KeyCode::Enter => {
            let fault = menu.faults[menu.selected.min(last)];
            return (
                None,
                vec![Effect::InjectFault {
                    stack: menu.stack,
                    fault,
                }],
            );
        }
        _ => {}
    }
    (Some(Overlay::Faults(menu)), Vec::new())
}

fn offer_key(model: &mut Model, offer: Offer, key: KeyEvent) -> Outcome {
    match key.code {
        KeyCode::Char('y') | KeyCode::Enter => match offer {
            Offer::Sandbox { .. } => {
                model.provider = crate::domain::Provider::Sandbox;
                notify(
                    model,
                    NoticeLevel::Info,
                    "using the sandbox: nothing here touches AWS",
                );
                (None, vec![Effect::UseSandbox])
            }
            Offer::OnDemand { request, .. } => {
                let stack = request.stack.to_string();
                model.busy.insert(stack.clone(), OperationKind::Deploy);
                notify(
                    model,
                    NoticeLevel::Info,
                    format!("deploying {stack} on-demand"),
                );
                (None, vec![Effect::Deploy(*request)])
            }
        },
        KeyCode::Char('n') | KeyCode::Esc => close(),
        KeyCode::Char('q') => {
            model.should_quit = true;
            close()
        }
        _ => (Some(Overlay::Offer(offer)), Vec::new()),
    }
}

fn rollback_key(model: &mut Model, stack: String, key: KeyEvent) -> Outcome {
    match key.code {
        KeyCode::Char('y') => {
            let Ok(name) = StackName::parse(&stack) else {
                return close();
            };
            model.busy.insert(stack.clone(), OperationKind::Rollback);
            notify(model, NoticeLevel::Info, format!("rolling {stack} back"));
            model.focus = crate::app::model::Pane::Pipeline;
            (None, vec![Effect::Rollback { stack: name }])
        }
        KeyCode::Char('n') | KeyCode::Esc | KeyCode::Char('q') => close(),
        _ => (Some(Overlay::ConfirmRollback(stack)), Vec::new()),
    }
}
