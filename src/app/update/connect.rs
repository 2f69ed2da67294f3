//! Using the stack: the Connect view (`c`, and at the end of a deploy), its
//! rows, `y` to copy one, `o` to open n8n; and `R`, restarting a service.

use crossterm::event::{KeyCode, KeyEvent};

use super::notify;
use crate::app::effect::Effect;
use crate::app::model::{Model, NoticeLevel, Overlay};
use crate::domain::connect;
use crate::domain::{DeploymentState, StackStatus};

type Outcome = (Option<Overlay>, Vec<Effect>);

/// `R` on the Health pane: ask before restarting its service.
pub fn confirm_restart(model: &mut Model) {
    let Some(state) = super::access::selected_or_say(model) else {
        return;
    };
    let service = model.health_service();
    if !crate::deploy::update::runs(&state) {
        let text = format!(
            "{} has no instance running: nothing to restart",
            state.stack_name
        );
        notify(model, NoticeLevel::Warn, text);
        return;
    }
    model.overlay = Some(Overlay::ConfirmRestart {
        stack: state.stack_name,
        service,
    });
}

pub fn restart_key(
    model: &mut Model,
    stack: String,
    service: crate::domain::Service,
    key: KeyEvent,
) -> Outcome {
    match key.code {
        KeyCode::Char('y') => {
            notify(
                model,
                NoticeLevel::Info,
                format!("restarting {service} on {stack}"),
            );
            (None, vec![Effect::RestartService { stack, service }])
        }
        KeyCode::Char('n') | KeyCode::Esc | KeyCode::Char('q') => (None, Vec::new()),
        _ => (Some(Overlay::ConfirmRestart { stack, service }), Vec::new()),
    }
}

/// `c` on the selected stack.
pub fn open(model: &mut Model) {
    let Some(state) = super::access::selected_or_say(model) else {
        return;
    };
    show(model, &state);
}

/// Open the view on `state`, unless there is nothing to reach.
pub fn show(model: &mut Model, state: &DeploymentState) {
    if state.status == StackStatus::Destroyed {
        let text = format!(
            "{} is destroyed: there is nothing to connect to",
            state.stack_name
        );
        notify(model, NoticeLevel::Info, text);
        return;
    }
    model.overlay = Some(Overlay::Connect {
        stack: state.stack_name.clone(),
        selected: 0,
    });
}

pub fn on_key(model: &mut Model, stack: String, selected: usize, key: KeyEvent) -> Outcome {
    let Some(state) = model.stacks.iter().find(|s| s.stack_name == stack) else {
        return (None, Vec::new());
    };
    let c = connect::of(state);
    let items = connect::items(&c);
    let last = items.len().saturating_sub(1);
    let stay = |selected: usize| {
        Some(Overlay::Connect {
            stack: stack.clone(),
            selected,
        })
    };
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('c') => (None, Vec::new()),
        KeyCode::Char('j') | KeyCode::Down => (stay((selected + 1).min(last)), Vec::new()),
        KeyCode::Char('k') | KeyCode::Up => (stay(selected.saturating_sub(1)), Vec::new()),
        KeyCode::Char('y') | KeyCode::Enter => match items.get(selected) {
            Some(item) => (
                stay(selected),
                vec![Effect::CopyToClipboard(item.value.clone())],
            ),
            None => (stay(selected), Vec::new()),
        },
        KeyCode::Char('o') => match c.n8n.url {
            Some(url) => (stay(selected), vec![Effect::OpenUrl(url)]),
            None => {
                notify(
                    model,
                    NoticeLevel::Warn,
                    format!("{stack} has no address yet"),
                );
                (stay(selected), Vec::new())
            }
        },
        _ => (stay(selected), Vec::new()),
    }
}
