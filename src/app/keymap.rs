//! One table of key → action → description. It drives input handling, the
//! footer and the help overlay, so they cannot disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::model::Pane;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    FocusNext,
    FocusPrev,
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Open,
    NewStack,
    Destroy,
    Faults,
    Filter,
    Rollback,
    ToggleFollow,
    CycleService,
    Back,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

const fn key(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
    }
}

const fn special(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}

/// Where a binding applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Global,
    Pane(Pane),
    /// Panes that scroll (stacks, logs).
    Lists,
}

#[derive(Clone, Copy, Debug)]
pub struct Binding {
    pub keys: &'static [Key],
    pub action: Action,
    pub scope: Scope,
    /// Few words for the footer.
    pub short: &'static str,
    /// A sentence for the help overlay.
    pub help: &'static str,
    pub in_footer: bool,
}

pub const KEYMAP: &[Binding] = &[
    Binding {
        keys: &[key('j'), special(KeyCode::Down)],
        action: Action::Down,
        scope: Scope::Lists,
        short: "down",
        help: "Next stack / scroll logs down",
        in_footer: false,
    },
    Binding {
        keys: &[key('k'), special(KeyCode::Up)],
        action: Action::Up,
        scope: Scope::Lists,
        short: "up",
        help: "Previous stack / scroll logs up",
        in_footer: false,
    },
    Binding {
        keys: &[key('g'), special(KeyCode::Home)],
        action: Action::Top,
        scope: Scope::Lists,
        short: "top",
        help: "First stack / oldest log line",
        in_footer: false,
    },
    Binding {
        keys: &[key('G'), special(KeyCode::End)],
        action: Action::Bottom,
        scope: Scope::Lists,
        short: "end",
        help: "Last stack / newest log line, following again",
        in_footer: false,
    },
    Binding {
        keys: &[ctrl('u'), special(KeyCode::PageUp)],
        action: Action::PageUp,
        scope: Scope::Pane(Pane::Logs),
        short: "page up",
        help: "Scroll logs up a page",
        in_footer: false,
    },
    Binding {
        keys: &[ctrl('d'), special(KeyCode::PageDown)],
        action: Action::PageDown,
        scope: Scope::Pane(Pane::Logs),
        short: "page down",
        help: "Scroll logs down a page",
        in_footer: false,
    },
    Binding {
        keys: &[special(KeyCode::Enter)],
        action: Action::Open,
        scope: Scope::Pane(Pane::Stacks),
        short: "pipeline",
        help: "Show the selected stack's pipeline",
        in_footer: false,
    },
    Binding {
        keys: &[key('n')],
        action: Action::NewStack,
        scope: Scope::Global,
        short: "new",
        help: "Deploy a new stack",
        in_footer: true,
    },
    Binding {
        keys: &[key('d')],
        action: Action::Destroy,
        scope: Scope::Pane(Pane::Stacks),
        short: "destroy",
        help: "Destroy the selected stack (asks; keeps the EFS)",
        in_footer: true,
    },
    Binding {
        keys: &[key('r')],
        action: Action::Rollback,
        scope: Scope::Pane(Pane::Stacks),
        short: "rollback",
        help: "Roll back to the last healthy snapshot (asks)",
        in_footer: true,
    },
    Binding {
        keys: &[key('/')],
        action: Action::Filter,
        scope: Scope::Pane(Pane::Stacks),
        short: "filter",
        help: "Filter stacks by name",
        in_footer: true,
    },
    Binding {
        keys: &[key('f')],
        action: Action::ToggleFollow,
        scope: Scope::Pane(Pane::Logs),
        short: "follow/pause",
        help: "Follow new log lines, or pause to read",
        in_footer: true,
    },
    Binding {
        keys: &[key('s')],
        action: Action::CycleService,
        scope: Scope::Pane(Pane::Logs),
        short: "service",
        help: "Logs of one service, the next, then all",
        in_footer: true,
    },
    Binding {
        keys: &[key('F')],
        action: Action::Faults,
        scope: Scope::Global,
        short: "faults",
        help: "Inject a fault into the selected sandbox stack",
        in_footer: true,
    },
    Binding {
        keys: &[special(KeyCode::Tab), key('l'), special(KeyCode::Right)],
        action: Action::FocusNext,
        scope: Scope::Global,
        short: "next pane",
        help: "Focus the next pane",
        in_footer: true,
    },
    Binding {
        keys: &[special(KeyCode::BackTab), key('h'), special(KeyCode::Left)],
        action: Action::FocusPrev,
        scope: Scope::Global,
        short: "prev pane",
        help: "Focus the previous pane",
        in_footer: false,
    },
    Binding {
        keys: &[special(KeyCode::Esc)],
        action: Action::Back,
        scope: Scope::Global,
        short: "back",
        help: "Close a dialog, clear the filter",
        in_footer: false,
    },
    Binding {
        keys: &[key('?')],
        action: Action::Help,
        scope: Scope::Global,
        short: "help",
        help: "Show or hide this help",
        in_footer: true,
    },
    Binding {
        keys: &[key('q'), ctrl('c')],
        action: Action::Quit,
        scope: Scope::Global,
        short: "quit",
        help: "Quit (an operation under way stops; rerun resumes)",
        in_footer: true,
    },
];

impl Scope {
    pub fn applies_to(self, pane: Pane) -> bool {
        match self {
            Scope::Global => true,
            Scope::Pane(p) => p == pane,
            Scope::Lists => matches!(pane, Pane::Stacks | Pane::Logs),
        }
    }
}

fn matches(k: &Key, event: &KeyEvent) -> bool {
    // Shift is part of the character for letters ('G'), so compare without it.
    let mods = event.modifiers - KeyModifiers::SHIFT;
    k.code == event.code && k.mods == mods
}

pub fn action_for(event: &KeyEvent, focus: Pane) -> Option<Action> {
    KEYMAP
        .iter()
        .find(|b| b.scope.applies_to(focus) && b.keys.iter().any(|k| matches(k, event)))
        .map(|b| b.action)
}

/// The bindings the footer shows for `focus`: the pane's first, then global ones.
pub fn footer(focus: Pane) -> Vec<&'static Binding> {
    let pane = KEYMAP
        .iter()
        .filter(|b| b.in_footer && b.scope != Scope::Global && b.scope.applies_to(focus));
    let global = KEYMAP
        .iter()
        .filter(|b| b.in_footer && b.scope == Scope::Global);
    pane.chain(global).collect()
}

pub fn label(k: &Key) -> String {
    let base = match k.code {
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "Shift-Tab".into(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        other => format!("{other:?}"),
    };
    if k.mods.contains(KeyModifiers::CONTROL) {
        format!("Ctrl-{base}")
    } else {
        base
    }
}

pub fn labels(b: &Binding) -> String {
    b.keys.iter().map(label).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

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
        for pane in Pane::iter() {
            let mut seen = Vec::new();
            for b in KEYMAP.iter().filter(|b| b.scope.applies_to(pane)) {
                for k in b.keys {
                    assert!(!seen.contains(k), "{k:?} bound twice in {pane}");
                    seen.push(*k);
                }
            }
        }
    }

    #[test]
    fn footer_shows_the_focused_panes_keys_first() {
        let keys: Vec<_> = footer(Pane::Logs).iter().map(|b| b.action).collect();
        assert_eq!(keys[0], Action::ToggleFollow);
        assert!(keys.contains(&Action::Quit));
        assert!(!keys.contains(&Action::Destroy));
    }
}
