//! Keys in the `:` palette: type to narrow, ↑/↓ to pick, Tab to complete,
//! Enter to run, Esc to close. Running goes through the same `on_action`
//! as the keys, so a command does just what its key does.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{notify, select};
use crate::app::effect::Effect;
use crate::app::model::{Model, NoticeLevel, Overlay, PaletteInput, Pane};
use crate::app::palette::{self, Command, HISTORY_KEPT};

/// Longest line the palette takes.
const MAX_TYPED: usize = 80;

pub fn on_key(
    model: &mut Model,
    mut input: PaletteInput,
    key: KeyEvent,
) -> super::dialogs::Outcome {
    let found = palette::matches(model, &input.typed);
    let last = found.len().saturating_sub(1);
    match key.code {
        KeyCode::Esc => return (None, Vec::new()),
        KeyCode::Enter => {
            // A command typed out in full runs as typed (`scan`, say, which
            // no entry spells); otherwise the match picked.
            let exact = input.selected == 0 && palette::parse(model, &input.typed).is_ok();
            let line = match found.get(input.selected) {
                Some(c) if !exact => c.text.clone(),
                _ => input.typed.clone(),
            };
            let effects = run(model, &line);
            // What it ran may have opened a dialog (destroy asks first).
            return (model.overlay.take(), effects);
        }
        KeyCode::Tab => {
            if let Some(c) = found.get(input.selected) {
                input.typed = c.text.clone();
                input.selected = 0;
            }
        }
        KeyCode::Up => input.selected = input.selected.saturating_sub(1),
        KeyCode::Char('p') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            input.selected = input.selected.saturating_sub(1)
        }
        KeyCode::Down => input.selected = (input.selected + 1).min(last),
        KeyCode::Char('n') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            input.selected = (input.selected + 1).min(last)
        }
        KeyCode::Backspace => {
            input.typed.pop();
            input.selected = 0;
        }
        KeyCode::Char(c) if !c.is_control() && input.typed.chars().count() < MAX_TYPED => {
            input.typed.push(c);
            input.selected = 0;
        }
        _ => {}
    }
    (Some(Overlay::Palette(input)), Vec::new())
}

/// Run one palette line; it joins the history if it meant something.
pub fn run(model: &mut Model, line: &str) -> Vec<Effect> {
    let command = match palette::parse(model, line) {
        Ok(c) => c,
        Err(why) => {
            notify(
                model,
                NoticeLevel::Warn,
                format!(":{} — {why}", line.trim()),
            );
            return Vec::new();
        }
    };
    remember(model, line.split_whitespace().collect::<Vec<_>>().join(" "));
    let mut effects = perform(model, command);
    effects.push(Effect::SavePaletteHistory(
        model.palette_history.iter().cloned().collect(),
    ));
    effects
}

fn perform(model: &mut Model, command: Command) -> Vec<Effect> {
    match command {
        Command::Action(action, stack) => {
            if model.readonly && action.mutates() {
                let text = format!("read-only: {} is off", action.name());
                notify(model, NoticeLevel::Warn, text);
                return Vec::new();
            }
            if let Some(stack) = stack {
                select(model, Some(stack));
                model.focus = Pane::Stacks;
            }
            if let Some(pane) = palette::pane_of(model, action) {
                model.focus = pane;
            }
            super::input::on_action(model, action)
        }
        Command::Select(stack) => {
            select(model, Some(stack));
            model.focus = Pane::Stacks;
            Vec::new()
        }
        Command::Theme(theme) => {
            model.theme = theme;
            let text = format!(
                "theme {} for this session; ui_preferences.color_theme keeps one",
                theme.name()
            );
            notify(model, NoticeLevel::Info, text);
            Vec::new()
        }
        Command::Compact => {
            model.compact = !model.compact;
            Vec::new()
        }
        Command::Region(region) => {
            let text = format!("new stacks deploy to {region}; each stack keeps its own region");
            model.region = region;
            notify(model, NoticeLevel::Info, text);
            Vec::new()
        }
    }
}

fn remember(model: &mut Model, line: String) {
    model.palette_history.retain(|l| *l != line);
    model.palette_history.push_back(line);
    while model.palette_history.len() > HISTORY_KEPT {
        model.palette_history.pop_front();
    }
}
