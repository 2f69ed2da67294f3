//! Keys: dialogs first, then the filter being typed, then the keymap.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind};

use super::{dialogs, fix_selection, notify, select};
use crate::app::effect::Effect;
use crate::app::keymap::Action;
use crate::app::model::{ConfirmDestroy, FaultMenu, Model, NoticeLevel, Overlay, Pane};
use crate::cloud::sandbox::Fault;
use crate::domain::StackStatus;

const PAGE: usize = 10;

pub fn on_key(model: &mut Model, key: KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    if model.overlay.is_some() {
        return dialogs::on_key(model, key);
    }
    if model.filtering {
        on_filter_key(model, key);
        return Vec::new();
    }
    if model.logs.searching {
        on_search_key(model, key);
        return Vec::new();
    }
    match model.keymap.action_for(&key, model.focus) {
        Some(action) if model.readonly && action.mutates() => {
            let what = model.keymap.get(action).map_or("that", |b| b.short);
            let text = format!(
                "read-only: {what} is off (started with --readonly or readonly in the settings)"
            );
            notify(model, NoticeLevel::Warn, text);
            Vec::new()
        }
        Some(action) => on_action(model, action),
        None => Vec::new(),
    }
}

fn on_filter_key(model: &mut Model, key: KeyEvent) {
    match key.code {
        KeyCode::Enter => model.filtering = false,
        KeyCode::Esc => {
            model.filtering = false;
            model.filter.clear();
        }
        KeyCode::Backspace => {
            model.filter.pop();
        }
        KeyCode::Char(c) if !c.is_control() && model.filter.len() < 64 => model.filter.push(c),
        _ => {}
    }
    fix_selection(model);
}

/// Typing the log search: Enter keeps it and jumps to the newest match,
/// Esc drops it.
fn on_search_key(model: &mut Model, key: KeyEvent) {
    let logs = &mut model.logs;
    match key.code {
        KeyCode::Enter => {
            logs.searching = false;
            // The newest match at or above the current line.
            logs.scroll = logs.scroll.saturating_sub(1);
            let now = model.now;
            if !logs.search.is_empty() && !logs.jump(true, now) {
                let text = format!("no match for /{}", logs.search);
                notify(model, NoticeLevel::Info, text);
            }
        }
        KeyCode::Esc => {
            logs.searching = false;
            logs.search.clear();
        }
        KeyCode::Backspace => {
            logs.search.pop();
        }
        KeyCode::Char(c) if !c.is_control() && logs.search.len() < 200 => logs.search.push(c),
        _ => {}
    }
}

/// The lines shown (with the search applied, if any) go to a file.
fn save_logs(model: &mut Model) -> Vec<Effect> {
    let Some(stack) = model.logs.stack.clone() else {
        return Vec::new();
    };
    let matcher = model.logs.matcher();
    let lines: Vec<String> = model
        .logs
        .visible(model.now)
        .filter(|l| matcher.as_ref().is_none_or(|m| m.is_match(&l.message)))
        .map(plain)
        .collect();
    if lines.is_empty() {
        notify(model, NoticeLevel::Info, "no lines to save".to_string());
        return Vec::new();
    }
    vec![Effect::SaveLogs {
        stack,
        at: model.now,
        lines,
    }]
}

/// A line as compose printed it, without colour.
fn plain(l: &crate::instance::log_line::LogLine) -> String {
    let at = l.at.map(|t| format!("{t} ")).unwrap_or_default();
    let source = l.service.map_or(l.source.as_str(), |s| s.name());
    format!("{source:<9}| {at}{}", l.message)
}

pub(super) fn on_action(model: &mut Model, action: Action) -> Vec<Effect> {
    match action {
        Action::Quit => model.should_quit = true,
        Action::Help => model.overlay = Some(Overlay::Help),
        Action::FocusNext => model.focus = model.focus.next(),
        Action::FocusPrev => model.focus = model.focus.prev(),
        Action::Up
        | Action::Down
        | Action::Top
        | Action::Bottom
        | Action::PageUp
        | Action::PageDown => move_in_focus(model, action),
        Action::Open => model.focus = Pane::Pipeline,
        Action::NewStack => {
            return super::wizard::open(model);
        }
        Action::Destroy => open_destroy(model),
        Action::Faults => open_faults(model),
        Action::Rollback => open_rollback(model),
        Action::Filter => model.filtering = true,
        Action::ToggleFollow => {
            model.logs.follow = !model.logs.follow;
            if model.logs.follow {
                model.logs.scroll = 0;
            }
        }
        Action::ShowService(service) => {
            model.logs.service = service;
            model.logs.scroll = 0;
        }
        Action::Search => model.logs.searching = true,
        Action::NextMatch(older) => {
            let now = model.now;
            if !model.logs.jump(older, now) {
                let text = match (model.logs.search.is_empty(), older) {
                    (true, _) => "no search: / to search the logs".to_string(),
                    (false, true) => format!("no older match for /{}", model.logs.search),
                    (false, false) => format!("no newer match for /{}", model.logs.search),
                };
                notify(model, NoticeLevel::Info, text);
            }
        }
        Action::ToggleWrap => model.logs.wrap = !model.logs.wrap,
        Action::ToggleTimestamps => {
            let shown = model.logs.timestamps.unwrap_or(false);
            model.logs.timestamps = Some(!shown);
        }
        Action::CycleWindow => {
            model.logs.window = model.logs.window.next();
            model.logs.scroll = 0;
        }
        Action::SaveLogs => return save_logs(model),
        Action::CopyLine => {
            if let Some(line) = model.logs.current(model.now) {
                return vec![Effect::CopyToClipboard(plain(line))];
            }
        }
        Action::Exposure => super::access::open_exposure(model),
        Action::Events => return super::access::open_events(model),
        Action::Connect => super::connect::open(model),
        Action::Shell => return super::access::open_shell(model),
        Action::Forward => super::access::open_forward(model),
        Action::Restart => super::connect::confirm_restart(model),
        Action::Models => return super::models::open(model),
        Action::Orphans => return super::orphans::open(model),
        Action::Update => super::update_dialog::open(model),
        Action::Palette => {
            model.overlay = Some(Overlay::Palette(Default::default()));
        }
        Action::ToggleMouse => {
            model.mouse = !model.mouse;
            let text = if model.mouse {
                "mouse on: click a pane or a row, wheel scrolls (m: off)"
            } else {
                "mouse off: the terminal selects text (m: on)"
            };
            notify(model, NoticeLevel::Info, text);
            return vec![Effect::Mouse(model.mouse)];
        }
        Action::CopySecret => super::access::open_secrets(model),
        Action::Back => {
            model.filter.clear();
            model.notices.clear();
            fix_selection(model);
        }
    }
    Vec::new()
}

fn move_in_focus(model: &mut Model, action: Action) {
    match model.focus {
        Pane::Stacks => move_selection(model, action),
        Pane::Health => move_health_cursor(model, action),
        Pane::Logs => scroll_logs(model, action),
        _ => {}
    }
}

fn move_selection(model: &mut Model, action: Action) {
    let names: Vec<String> = model
        .visible_stacks()
        .map(|s| s.stack_name.clone())
        .collect();
    if names.is_empty() {
        return;
    }
    let current = model
        .selected
        .as_ref()
        .and_then(|s| names.iter().position(|n| n == s))
        .unwrap_or(0);
    let last = names.len() - 1;
    let next = match action {
        Action::Up => current.saturating_sub(1),
        Action::Down => (current + 1).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        _ => current,
    };
    select(model, Some(names[next].clone()));
}

fn move_health_cursor(model: &mut Model, action: Action) {
    let last = crate::domain::Service::ALL.len() - 1;
    let at = &mut model.health_cursor;
    *at = match action {
        Action::Up | Action::PageUp => at.saturating_sub(1),
        Action::Down | Action::PageDown => (*at + 1).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        _ => *at,
    };
}

fn scroll_logs(model: &mut Model, action: Action) {
    let max = model.logs.visible(model.now).count().saturating_sub(1);
    let logs = &mut model.logs;
    match action {
        Action::Up => logs.scroll = (logs.scroll + 1).min(max),
        Action::PageUp => logs.scroll = (logs.scroll + PAGE).min(max),
        Action::Top => logs.scroll = max,
        Action::Down => logs.scroll = logs.scroll.saturating_sub(1),
        Action::PageDown => logs.scroll = logs.scroll.saturating_sub(PAGE),
        _ => {}
    }
    // Reading back pauses; only End (or `f`) follows again.
    logs.follow = action == Action::Bottom;
    if logs.follow {
        logs.scroll = 0;
    }
}

/// The selected stack, if this process may act on it now; else why not.
pub(super) fn actionable(model: &Model) -> Result<&crate::domain::DeploymentState, String> {
    let stack = model
        .selected_stack()
        .ok_or_else(|| "no stack selected".to_string())?;
    let name = &stack.stack_name;
    if !model.manages(stack) {
        return Err(format!(
            "{name} is an {} stack; manage it from the dashboard of its cloud",
            stack.provider
        ));
    }
    match model.busy.get(name) {
        Some(kind) => Err(format!("{name} is busy: {kind} under way")),
        None => Ok(stack),
    }
}

fn open_destroy(model: &mut Model) {
    let stack = match actionable(model) {
        Ok(stack) if stack.status == StackStatus::Destroyed && stack.efs_id.is_none() => {
            Err(format!("{} has nothing left to destroy", stack.stack_name))
        }
        other => other,
    };
    match stack {
        Ok(stack) => {
            let only_data_left = stack.status == StackStatus::Destroyed;
            let name = stack.stack_name.clone();
            model.overlay = Some(Overlay::ConfirmDestroy(Box::new(ConfirmDestroy {
                stack: name,
                delete_data: only_data_left,
                typed: crate::app::wizard::single_line(""),
                error: None,
            })));
        }
        Err(why) => notify(model, NoticeLevel::Warn, why),
    }
}

fn open_faults(model: &mut Model) {
    if !model.is_sandbox() {
        notify(
            model,
            NoticeLevel::Warn,
            "fault injection needs the sandbox: start with --sandbox",
        );
        return;
    }
    match model.selected_stack() {
        Some(stack) if model.manages(stack) => {
            let stack = stack.stack_name.clone();
            model.overlay = Some(Overlay::Faults(FaultMenu {
                stack,
                faults: Fault::menu(),
                selected: 0,
            }));
        }
        Some(stack) => {
            let why = format!("{} is not a sandbox stack", stack.stack_name);
            notify(model, NoticeLevel::Warn, why);
        }
        None => notify(
            model,
            NoticeLevel::Warn,
            "no stack selected: deploy one with n",
        ),
    }
}

fn open_rollback(model: &mut Model) {
    let stack = match actionable(model) {
        Ok(stack) if stack.status == StackStatus::Destroyed || stack.efs_id.is_none() => Err(
            format!("{} has nothing to roll back: deploy it", stack.stack_name),
        ),
        other => other,
    };
    match stack.map(|s| s.stack_name.clone()) {
        Ok(name) => model.overlay = Some(Overlay::ConfirmRollback(name)),
        Err(why) => notify(model, NoticeLevel::Warn, why),
    }
}
