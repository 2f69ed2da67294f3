//! The mouse: a click focuses the pane under it and picks the stack or
//! service row it is on; the wheel scrolls the pane under it (or moves in
//! an open dialog).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::{dialogs, input, select};
use crate::app::effect::Effect;
use crate::app::keymap::Action;
use crate::app::model::{Model, Pane};

/// Log lines one wheel notch scrolls.
const WHEEL_LINES: usize = 3;
/// Stacks one line each from this inner width (as the Stacks pane draws them).
const WIDE: u16 = 46;

pub fn on_mouse(model: &mut Model, event: MouseEvent) -> Vec<Effect> {
    if !model.mouse {
        return Vec::new();
    }
    let wheel = match event.kind {
        MouseEventKind::ScrollUp => Some(Action::Up),
        MouseEventKind::ScrollDown => Some(Action::Down),
        _ => None,
    };
    if model.overlay.is_some() {
        // A dialog keeps the keyboard's ways; the wheel is its ↑/↓.
        let code = match wheel {
            Some(Action::Up) => KeyCode::Up,
            Some(_) => KeyCode::Down,
            None => return Vec::new(),
        };
        return dialogs::on_key(model, KeyEvent::new(code, KeyModifiers::NONE));
    }
    let at = Position::new(event.column, event.row);
    let Some((pane, area)) = pane_at(model, at) else {
        return Vec::new();
    };
    match (event.kind, wheel) {
        (MouseEventKind::Down(MouseButton::Left), _) => {
            model.focus = pane;
            click(model, pane, area, at);
            Vec::new()
        }
        (_, Some(action)) => {
            model.focus = pane;
            let notches = if pane == Pane::Logs { WHEEL_LINES } else { 1 };
            (0..notches)
                .flat_map(|_| input::on_action(model, action))
                .collect()
        }
        _ => Vec::new(),
    }
}

fn pane_at(model: &Model, at: Position) -> Option<(Pane, Rect)> {
    let r = crate::ui::regions(model, Rect::new(0, 0, model.width, model.height));
    [
        (Pane::Stacks, r.stacks),
        (Pane::Health, r.health),
        (Pane::Cost, r.cost),
        (Pane::Pipeline, r.pipeline),
        (Pane::Logs, r.logs),
    ]
    .into_iter()
    .find(|(_, area)| area.contains(at))
}

/// A pane's inside, as its frame leaves it (compact: the top edge only).
fn inner(model: &Model, area: Rect) -> Rect {
    if model.compact {
        Rect {
            y: area.y + 1,
            height: area.height.saturating_sub(1),
            ..area
        }
    } else {
        Rect {
            x: area.x + 1,
            y: area.y + 1,
            width: area.width.saturating_sub(2),
            height: area.height.saturating_sub(2),
        }
    }
}

fn click(model: &mut Model, pane: Pane, area: Rect, at: Position) {
    let inner = inner(model, area);
    if !inner.contains(at) {
        return;
    }
    let row = usize::from(at.y - inner.y);
    match pane {
        Pane::Stacks => {
            let per_stack = if inner.width >= WIDE { 1 } else { 2 };
            let names: Vec<String> = model
                .visible_stacks()
                .map(|s| s.stack_name.clone())
                .collect();
            let selected = model
                .selected
                .as_ref()
                .and_then(|s| names.iter().position(|n| n == s))
                .unwrap_or(0);
            // The list scrolls just enough to show the selection at its foot.
            let fits = (usize::from(inner.height) / per_stack).max(1);
            let first = (selected + 1).saturating_sub(fits);
            if let Some(name) = names.get(first + row / per_stack) {
                select(model, Some(name.clone()));
            }
        }
        Pane::Health if row < crate::domain::Service::ALL.len() => model.health_cursor = row,
        _ => {}
    }
}
