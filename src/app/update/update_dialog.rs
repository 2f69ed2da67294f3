//! The Update dialog (`u`): the stack's instance type, market and images.
//! Enter prices the plan in the background; Enter on the plan switches.
//! Any change to a choice drops the plan, so what runs is what was shown.

use crossterm::event::{KeyCode, KeyEvent};

use super::dialogs::is_text_input;
use super::notify;
use crate::app::effect::Effect;
use crate::app::model::{Model, NoticeLevel, Overlay, Pane, PlanStatus, UpdateDialog, UpdateField};
use crate::app::wizard::{single_line, text_of};
use crate::deploy::update::{self, UpdatePlan};
use crate::domain::stage::OperationKind;

type Outcome = (Option<Overlay>, Vec<Effect>);

pub fn open(model: &mut Model) {
    let opened = super::input::actionable(model).and_then(|state| {
        if !update::runs(state) {
            return Err(format!(
                "{} runs no instance ({}), so there is nothing to update",
                state.stack_name, state.status
            ));
        }
        let req = update::current_request(state)
            .ok_or_else(|| format!("{} records no instance type", state.stack_name))?;
        Ok(UpdateDialog {
            stack: state.stack_name.clone(),
            instance_type: single_line(&req.instance_type),
            spot: req.spot,
            newest_images: false,
            field: UpdateField::InstanceType,
            plan: PlanStatus::NotAsked,
        })
    });
    match opened {
        Ok(dialog) => model.overlay = Some(Overlay::Update(Box::new(dialog))),
        Err(why) => notify(model, NoticeLevel::Warn, why),
    }
}

pub fn on_key(model: &mut Model, mut d: Box<UpdateDialog>, key: KeyEvent) -> Outcome {
    let choice = d.field != UpdateField::InstanceType;
    match key.code {
        KeyCode::Esc => return (None, Vec::new()),
        KeyCode::Tab | KeyCode::Down => d.field = d.field.step(false),
        KeyCode::BackTab | KeyCode::Up => d.field = d.field.step(true),
        KeyCode::Enter => return enter(model, d),
        KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right if choice => {
            match d.field {
                UpdateField::Market => d.spot = !d.spot,
                _ => d.newest_images = !d.newest_images,
            }
            d.plan = PlanStatus::NotAsked;
        }
        _ if !choice && is_text_input(&key) && d.instance_type.input(key) => {
            d.plan = PlanStatus::NotAsked;
        }
        _ => {}
    }
    (Some(Overlay::Update(d)), Vec::new())
}

/// Enter: the plan when none is shown; the update once it is.
fn enter(model: &mut Model, mut d: Box<UpdateDialog>) -> Outcome {
    let Some(state) = model.stacks.iter().find(|s| s.stack_name == d.stack) else {
        return (None, Vec::new());
    };
    match std::mem::take(&mut d.plan) {
        PlanStatus::Ready(ready) if !ready.0.is_empty() => {
            let (plan, req) = *ready;
            match update::accepted(state, &plan, req.clone()) {
                Ok(req) => return start(model, req),
                Err(why) => d.plan = PlanStatus::Refused(why),
            }
        }
        PlanStatus::Pricing(req) => d.plan = PlanStatus::Pricing(req),
        _ => {
            let asked =
                update::request_for(state, &text_of(&d.instance_type), d.spot, d.newest_images);
            match asked {
                Ok(req) => {
                    let effect = Effect::PlanUpdate(Box::new(req.clone()));
                    d.plan = PlanStatus::Pricing(Box::new(req));
                    return (Some(Overlay::Update(d)), vec![effect]);
                }
                Err(why) => d.plan = PlanStatus::Refused(why),
            }
        }
    }
    (Some(Overlay::Update(d)), Vec::new())
}

/// Accepted: the switch runs, shown in the pipeline.
fn start(model: &mut Model, req: crate::cloud::DeployRequest) -> Outcome {
    let stack = req.stack.to_string();
    let text = format!("updating {stack}: a new instance boots beside the old, then they switch");
    notify(model, NoticeLevel::Info, text);
    model.busy.insert(stack.clone(), OperationKind::Update);
    super::select(model, Some(stack));
    model.focus = Pane::Pipeline;
    (None, vec![Effect::Update(Box::new(req))])
}

/// The plan priced, if the dialog still waits for it.
pub fn planned(model: &mut Model, stack: String, result: Result<Box<UpdatePlan>, String>) {
    let Some(Overlay::Update(d)) = model.overlay.as_mut() else {
        return;
    };
    if d.stack != stack {
        return;
    }
    if let PlanStatus::Pricing(req) = std::mem::take(&mut d.plan) {
        d.plan = match result {
            Ok(plan) => PlanStatus::Ready(Box::new((*plan, *req))),
            Err(why) => PlanStatus::Refused(format!("could not plan the update: {why}")),
        };
    }
}
