//! The keymap: keys reach their actions, in their panes only.

use super::table::key;
use super::*;
use crossterm::event::KeyEvent;

fn action_for(event: &KeyEvent, pane: Pane) -> Option<Action> {
    Keymap::default().action_for(event, pane)
}

fn footer(pane: Pane) -> Vec<Action> {
    Keymap::default()
        .footer(pane)
        .iter()
        .map(|b| b.action)
        .collect()
}

fn press(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, mods)
}

#[test]
fn vim_keys_and_arrows_move_in_lists() {
    for code in [KeyCode::Char('j'), KeyCode::Down] {
        assert_eq!(
            action_for(&press(code, KeyModifiers::NONE), Pane::Stacks),
            Some(Action::Down)
        );
    }
    assert_eq!(
        action_for(&press(KeyCode::Char('k'), KeyModifiers::NONE), Pane::Logs),
        Some(Action::Up)
    );
    assert_eq!(
        action_for(&press(KeyCode::Char('G'), KeyModifiers::SHIFT), Pane::Logs),
        Some(Action::Bottom)
    );
}

#[test]
fn pane_keys_apply_only_in_their_pane() {
    let d = press(KeyCode::Char('d'), KeyModifiers::NONE);
    assert_eq!(action_for(&d, Pane::Stacks), Some(Action::Destroy));
    assert_eq!(action_for(&d, Pane::Health), None);
    let ctrl_d = press(KeyCode::Char('d'), KeyModifiers::CONTROL);
    assert_eq!(action_for(&ctrl_d, Pane::Logs), Some(Action::PageDown));
}

#[test]
fn tab_cycles_and_ctrl_c_quits_everywhere() {
    assert_eq!(
        action_for(&press(KeyCode::Tab, KeyModifiers::NONE), Pane::Cost),
        Some(Action::FocusNext)
    );
    assert_eq!(
        action_for(&press(KeyCode::BackTab, KeyModifiers::SHIFT), Pane::Cost),
        Some(Action::FocusPrev)
    );
    assert_eq!(
        action_for(
            &press(KeyCode::Char('c'), KeyModifiers::CONTROL),
            Pane::Logs
        ),
        Some(Action::Quit)
    );
}

#[test]
fn no_key_is_bound_twice_in_one_pane() {
    use strum::IntoEnumIterator;
    // A pane's own key may shadow a global one (n in Logs is a search
    // jump), and then comes first in the table; nothing else repeats.
    for pane in Pane::iter() {
        for global in [false, true] {
            let mut seen = Vec::new();
            let bindings = KEYMAP
                .iter()
                .filter(|b| b.scope.applies_to(pane) && (b.scope == Scope::Global) == global);
            for b in bindings {
                for k in b.keys {
                    assert!(!seen.contains(k), "{k:?} bound twice in {pane}");
                    seen.push(*k);
                }
            }
        }
    }
    let shadowing = |k: Key| {
        KEYMAP
            .iter()
            .position(|b| b.scope == Scope::Pane(Pane::Logs) && b.keys.contains(&k))
    };
    let global_n = KEYMAP.iter().position(|b| b.action == Action::NewStack);
    assert!(
        shadowing(key('n')) < global_n,
        "the pane's n is found first"
    );
}

#[test]
fn the_ways_in_are_keys_on_the_stack_and_health_panes() {
    let shift = |c| press(KeyCode::Char(c), KeyModifiers::SHIFT);
    for pane in [Pane::Stacks, Pane::Health] {
        let x = press(KeyCode::Char('x'), KeyModifiers::NONE);
        assert_eq!(action_for(&x, pane), Some(Action::Exposure));
        assert_eq!(action_for(&shift('S'), pane), Some(Action::Shell));
        assert_eq!(action_for(&shift('C'), pane), Some(Action::CopySecret));
    }
    let f = press(KeyCode::Char('f'), KeyModifiers::NONE);
    assert_eq!(action_for(&f, Pane::Health), Some(Action::Forward));
    assert_eq!(action_for(&f, Pane::Logs), Some(Action::ToggleFollow));
    assert_eq!(action_for(&f, Pane::Stacks), None);
    let j = press(KeyCode::Char('j'), KeyModifiers::NONE);
    assert_eq!(action_for(&j, Pane::Health), Some(Action::Down));
}

#[test]
fn footer_shows_the_focused_panes_keys_first() {
    let keys = footer(Pane::Logs);
    assert_eq!(keys[0], Action::ToggleFollow);
    assert!(keys.contains(&Action::Quit));
    assert!(!keys.contains(&Action::Destroy));
    assert!(
        !keys.contains(&Action::NewStack),
        "n is a search jump in Logs: the footer must not offer it as new"
    );
    assert!(footer(Pane::Stacks).contains(&Action::NewStack));
}
