//! `update`: a message in, the model changed, effects out. Synchronous and
//! pure: no I/O, no clock, no `.await`; time arrives in `Msg::Tick`.

mod access;
mod connect;
mod data;
mod dialogs;
mod input;
mod models;
mod mouse;
mod orphans;
mod palette;
mod update_dialog;
mod wizard;

use super::effect::Effect;
use super::model::{LogView, Model, Notice, NoticeLevel};
use super::msg::Msg;

/// Notices kept for the header (the newest shows).
const NOTICES_KEPT: usize = 20;

pub fn update(model: &mut Model, msg: Msg) -> Vec<Effect> {
    let effects = dispatch(model, msg);
    if !model.readonly {
        return effects;
    }
    // A dialog's own keys (a model's pull, an access change) are held here.
    let (kept, refused): (Vec<Effect>, Vec<Effect>) =
        effects.into_iter().partition(|e| !e.mutates());
    if !refused.is_empty() {
        notify(model, NoticeLevel::Warn, "read-only: that change is off");
    }
    kept
}

fn dispatch(model: &mut Model, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => input::on_key(model, key),
        Msg::Mouse(event) => mouse::on_mouse(model, event),
        Msg::Resize(width, height) => {
            model.width = width;
            model.height = height;
            Vec::new()
        }
        Msg::Tick(now) => {
            model.now = now;
            Vec::new()
        }
        Msg::Quit => {
            model.should_quit = true;
            Vec::new()
        }
        other => data::on_data(model, other),
    }
}

/// The model the Models view's `p` pulls on `stack`.
pub fn suggested_model(model: &Model, stack: &str) -> &'static str {
    models::suggested(model, stack)
}

pub(super) fn notify(model: &mut Model, level: NoticeLevel, text: impl Into<String>) {
    let text = text.into();
    if model.notices.back().is_some_and(|n| n.text == text) {
        if let Some(last) = model.notices.back_mut() {
            last.at = model.now;
        }
        return;
    }
    model.notices.push_back(Notice {
        at: model.now,
        level,
        text,
    });
    while model.notices.len() > NOTICES_KEPT {
        model.notices.pop_front();
    }
}

/// Select `name`, resetting the log view when the selection changes.
pub(super) fn select(model: &mut Model, name: Option<String>) {
    if model.selected != name {
        model.logs = LogView::for_stack(name.clone(), model.log_capacity);
        model.selected = name;
    }
}

/// Keep the selection on a visible stack.
pub(super) fn fix_selection(model: &mut Model) {
    let visible: Vec<String> = model
        .visible_stacks()
        .map(|s| s.stack_name.clone())
        .collect();
    let keep = model
        .selected
        .as_ref()
        .is_some_and(|name| visible.contains(name));
    if !keep {
        select(model, visible.first().cloned());
    }
}

#[cfg(test)]
mod tests;
