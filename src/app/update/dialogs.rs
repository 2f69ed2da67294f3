//! Keys while a dialog is open: the help, the destroy confirmation, the
//! fault menu and the offers; the deploy wizard's are in `wizard.rs`, the
//! exposure, command and secret dialogs' in `access.rs`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::notify;
use crate::app::effect::Effect;
use crate::app::model::{ConfirmDestroy, FaultMenu, Model, NoticeLevel, Offer, Overlay};
use crate::app::wizard::text_of;
use crate::cloud::DeployRequest;
use crate::deploy::access::AccessChange;
use crate::domain::stage::OperationKind;
use crate::domain::{StackName, StackStatus};

pub fn on_key(model: &mut Model, key: KeyEvent) -> Vec<Effect> {
    let Some(overlay) = model.overlay.take() else {
        return Vec::new();
    };
    let (kept, effects) = match overlay {
        Overlay::Help => help_key(model, key),
        Overlay::Wizard(wizard) => super::wizard::on_key(model, wizard, key),
        Overlay::ConfirmDestroy(confirm) => destroy_key(model, confirm, key),
        Overlay::Faults(menu) => faults_key(menu, key),
        Overlay::Offer(offer) => offer_key(model, offer, key),
        Overlay::ConfirmRollback(stack) => rollback_key(model, stack, key),
        Overlay::Exposure { stack, scroll } => {
            let kept = scrolled(scroll, key, 'x').map(|scroll| Overlay::Exposure { stack, scroll });
            (kept, Vec::new())
        }
        Overlay::Events { stack, scroll } => {
            let kept = scrolled(scroll, key, 'e').map(|scroll| Overlay::Events { stack, scroll });
            (kept, Vec::new())
        }
        Overlay::Command(dialog) => super::access::command_key(dialog, key),
        Overlay::Secrets(picker) => super::access::secrets_key(model, picker, key),
        Overlay::Connect { stack, selected } => super::connect::on_key(model, stack, selected, key),
        Overlay::Models { stack, selected } => super::models::on_key(model, stack, selected, key),
        Overlay::ConfirmRemoveModel { stack, name } => {
            super::models::remove_key(model, stack, name, key)
        }
        Overlay::ConfirmRestart { stack, service } => {
            super::connect::restart_key(model, stack, service, key)
        }
        Overlay::Update(dialog) => super::update_dialog::on_key(model, dialog, key),
        Overlay::Palette(input) => super::palette::on_key(model, input, key),
        Overlay::Orphans { selected } => super::orphans::on_key(model, selected, key),
        Overlay::ConfirmFix { id, fix, question } => {
            super::orphans::confirm_key(model, id, fix, question, key)
        }
    };
    model.overlay = kept;
    effects
}

pub(super) type Outcome = (Option<Overlay>, Vec<Effect>);

/// A scrolling dialog's keys (`own` opened it and closes it): the new
/// scroll, or `None` to close.
fn scrolled(scroll: u16, key: KeyEvent, own: char) -> Option<u16> {
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter => None,
        KeyCode::Char(c) if c == own => None,
        // The view stops at the last row.
        KeyCode::Char('j') | KeyCode::Down => Some(scroll.saturating_add(1).min(64)),
        KeyCode::Char('k') | KeyCode::Up => Some(scroll.saturating_sub(1)),
        _ => Some(scroll),
    }
}

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
pub(super) fn is_text_input(key: &KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Enter | KeyCode::Tab | KeyCode::BackTab | KeyCode::Esc => false,
        KeyCode::Char('m' | 'j') => !ctrl,
        _ => true,
    }
}

/// The plan was seen and confirmed: deploy, and show it in the pipeline.
pub(super) fn deploy(model: &mut Model, req: DeployRequest) -> Outcome {
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
    (None, vec![Effect::Deploy(Box::new(req))])
}

/// The typed name as a stack name that is free (or a destroyed stack's,
/// whose kept EFS the deploy reuses); else why not.
pub(super) fn name_problem(model: &Model, typed: &str) -> Result<StackName, String> {
    // The rule itself is shown under the field: the reason is enough here.
    let stack = StackName::parse(typed)
        .map_err(|e| format!("invalid stack name {:?}: {}", e.name, e.reason))?;
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
                (None, vec![Effect::Deploy(request)])
            }
            Offer::Access { stack, cidr, .. } => {
                let Ok(name) = StackName::parse(&stack) else {
                    return close();
                };
                model.access_pending.insert(stack.clone());
                notify(
                    model,
                    NoticeLevel::Info,
                    format!("allowing {cidr} to reach {stack}"),
                );
                let change = AccessChange::Add(cidr);
                (
                    None,
                    vec![Effect::SetAccess {
                        stack: name,
                        change,
                    }],
                )
            }
        },
        KeyCode::Char('n') | KeyCode::Esc => {
            if let Offer::Access { stack, cidr, .. } = offer {
                let text = format!(
                    "{cidr} not added; `geusemaker-tui access {stack} --add {cidr}` does it later"
                );
                notify(model, NoticeLevel::Info, text);
                model.access_declined.insert((stack, cidr.to_string()));
            }
            close()
        }
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
