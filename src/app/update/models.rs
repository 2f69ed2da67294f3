//! The Models view (`M`): the stack's models as last read, `p` to pull the
//! tier's model, `x` to remove the selected one (asks), `r` to read again,
//! and a pull's progress as it comes.

use crossterm::event::{KeyCode, KeyEvent};

use super::notify;
use crate::app::effect::Effect;
use crate::app::model::{Model, NoticeLevel, Overlay, PullLine};
use crate::domain::models::default_model;

type Outcome = (Option<Overlay>, Vec<Effect>);

/// `M` on the selected stack: the view, and a fresh read of its models.
pub fn open(model: &mut Model) -> Vec<Effect> {
    let Some(state) = super::access::selected_or_say(model) else {
        return Vec::new();
    };
    if !crate::deploy::update::runs(&state) {
        let text = format!(
            "{} has no instance running: its models are kept on the EFS",
            state.stack_name
        );
        notify(model, NoticeLevel::Warn, text);
        return Vec::new();
    }
    let stack = state.stack_name;
    model.overlay = Some(Overlay::Models {
        stack: stack.clone(),
        selected: 0,
    });
    vec![Effect::ReadModels { stack }]
}

/// The installed models' names, in the order shown.
fn names(model: &Model, stack: &str) -> Vec<String> {
    model
        .models
        .get(stack)
        .and_then(|m| m.view.as_ref())
        .and_then(|v| v.as_ref().ok())
        .map(|v| v.installed.iter().map(|m| m.name.clone()).collect())
        .unwrap_or_default()
}

/// The model `p` pulls on this stack: the tier's.
pub fn suggested(model: &Model, stack: &str) -> &'static str {
    let tier = model
        .stacks
        .iter()
        .find(|s| s.stack_name == stack)
        .map(|s| s.tier())
        .unwrap_or_default();
    default_model(tier).name
}

pub fn on_key(model: &mut Model, stack: String, selected: usize, key: KeyEvent) -> Outcome {
    let names = names(model, &stack);
    let stay = |selected: usize| {
        Some(Overlay::Models {
            stack: stack.clone(),
            selected,
        })
    };
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('M') => (None, Vec::new()),
        KeyCode::Char('j') | KeyCode::Down => (
            stay((selected + 1).min(names.len().saturating_sub(1))),
            Vec::new(),
        ),
        KeyCode::Char('k') | KeyCode::Up => (stay(selected.saturating_sub(1)), Vec::new()),
        KeyCode::Char('r') => (
            stay(selected),
            vec![Effect::ReadModels {
                stack: stack.clone(),
            }],
        ),
        KeyCode::Char('p') => {
            let pulling = model
                .models
                .get(&stack)
                .and_then(|m| m.pull.as_ref())
                .is_some_and(|p| p.ended.is_none());
            if pulling {
                notify(
                    model,
                    NoticeLevel::Warn,
                    "a pull is under way on this stack",
                );
                return (stay(selected), Vec::new());
            }
            let name = suggested(model, &stack).to_string();
            model.models.entry(stack.clone()).or_default().pull = Some(PullLine {
                name: name.clone(),
                line: "starting the pull on the instance".into(),
                ended: None,
            });
            (
                stay(selected),
                vec![Effect::PullModel {
                    stack: stack.clone(),
                    name,
                }],
            )
        }
        KeyCode::Char('x') => match names.get(selected) {
            Some(name) => (
                Some(Overlay::ConfirmRemoveModel {
                    stack: stack.clone(),
                    name: name.clone(),
                }),
                Vec::new(),
            ),
            None => (stay(selected), Vec::new()),
        },
        _ => (stay(selected), Vec::new()),
    }
}

pub fn remove_key(model: &mut Model, stack: String, name: String, key: KeyEvent) -> Outcome {
    let back = Some(Overlay::Models {
        stack: stack.clone(),
        selected: 0,
    });
    match key.code {
        KeyCode::Char('y') => {
            notify(
                model,
                NoticeLevel::Info,
                format!("removing {name} from {stack}"),
            );
            (back, vec![Effect::RemoveModel { stack, name }])
        }
        KeyCode::Char('n') | KeyCode::Esc | KeyCode::Char('q') => (back, Vec::new()),
        _ => (
            Some(Overlay::ConfirmRemoveModel { stack, name }),
            Vec::new(),
        ),
    }
}

pub fn progress(model: &mut Model, stack: String, name: String, line: String) {
    let entry = model.models.entry(stack).or_default();
    if entry
        .pull
        .as_ref()
        .is_none_or(|p| p.name == name && p.ended.is_none())
    {
        entry.pull = Some(PullLine {
            name,
            line,
            ended: None,
        });
    }
}

/// A pull ended: say so, and read the models again.
pub fn ended(
    model: &mut Model,
    stack: String,
    name: String,
    result: Result<String, String>,
) -> Vec<Effect> {
    let (level, text) = match &result {
        Ok(done) => (NoticeLevel::Info, done.clone()),
        Err(why) => (NoticeLevel::Error, why.clone()),
    };
    notify(model, level, text.clone());
    model.models.entry(stack.clone()).or_default().pull = Some(PullLine {
        name,
        line: text,
        ended: Some(result.map(|_| ())),
    });
    vec![Effect::ReadModels { stack }]
}
