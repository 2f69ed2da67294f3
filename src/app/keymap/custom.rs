//! `config/keys.json`: rebinding actions by name, e.g.
//! `{"destroy": "D", "next-pane": ["Tab", "Ctrl-n"]}`. A key that would
//! clash with another binding where both apply is not taken, and the
//! clash is reported with both bindings named.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyModifiers};
use serde::Deserialize;

use super::{Bound, Key, Keymap, label};
use crate::app::model::Pane;

/// One key, or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Keys {
    One(String),
    Many(Vec<String>),
}

/// The keymap with the file's bindings applied, and what could not be.
pub fn apply(json: &[u8]) -> (Keymap, Vec<String>) {
    let mut keymap = Keymap::default();
    let wanted: BTreeMap<String, Keys> = match serde_json::from_slice(json) {
        Ok(w) => w,
        Err(e) => {
            let why = format!(
                "keys.json is not an object of action names to keys ({e}); the default keys apply"
            );
            return (keymap, vec![why]);
        }
    };
    let mut problems = Vec::new();
    for (name, keys) in wanted {
        let Some(at) = keymap.iter().position(|b| b.action.name() == name) else {
            problems.push(format!(
                "keys.json: no action \"{name}\"; the actions are {}",
                action_names(&keymap)
            ));
            continue;
        };
        let texts = match keys {
            Keys::One(k) => vec![k],
            Keys::Many(ks) => ks,
        };
        let mut keys = Vec::new();
        for text in texts {
            match parse_key(&text) {
                Ok(key) => keys.push(key),
                Err(why) => problems.push(format!("keys.json: {name}: {why}")),
            }
        }
        rebind(&mut keymap, at, keys, &mut problems);
    }
    (keymap, problems)
}

/// Give binding `at` the keys that clash with nothing; keep its own keys
/// if none is left.
fn rebind(keymap: &mut Keymap, at: usize, keys: Vec<Key>, problems: &mut Vec<String>) {
    let mut taken = Vec::new();
    for key in keys {
        let clash = keymap
            .iter()
            .enumerate()
            .find(|(i, other)| {
                *i != at && overlap(&keymap.bound[at], other) && other.keys.contains(&key)
            })
            .map(|(_, other)| other.action.name());
        match clash {
            Some(other) => problems.push(format!(
                "keys.json: {} is bound to both {} and {other}; {} keeps its other keys",
                label(&key),
                keymap.bound[at].action.name(),
                keymap.bound[at].action.name(),
            )),
            None if !taken.contains(&key) => taken.push(key),
            None => {}
        }
    }
    if !taken.is_empty() {
        keymap.bound_mut()[at].keys = taken;
    }
}

/// Whether two bindings apply in some pane at once.
fn overlap(a: &Bound, b: &Bound) -> bool {
    use strum::IntoEnumIterator;
    Pane::iter().any(|p| a.scope.applies_to(p) && b.scope.applies_to(p))
}

fn action_names(keymap: &Keymap) -> String {
    let names: Vec<&str> = keymap.iter().map(|b| b.action.name()).collect();
    names.join(", ")
}

/// "d", "D", "Ctrl-d", "Alt-x", "Enter", "Space", "F5", "PgUp", "↑" or "Up".
pub fn parse_key(text: &str) -> Result<Key, String> {
    let mut mods = KeyModifiers::NONE;
    let mut rest = text;
    loop {
        let lower = rest.to_ascii_lowercase();
        if let Some(r) = ["ctrl-", "ctrl+", "c-"]
            .iter()
            .find(|p| lower.starts_with(**p))
        {
            mods |= KeyModifiers::CONTROL;
            rest = &rest[r.len()..];
        } else if let Some(r) = ["alt-", "alt+", "m-"]
            .iter()
            .find(|p| lower.starts_with(**p))
        {
            mods |= KeyModifiers::ALT;
            rest = &rest[r.len()..];
        } else {
            break;
        }
    }
    let mut chars = rest.chars();
    let code = match (chars.next(), chars.next()) {
        (Some(c), None) => KeyCode::Char(if mods.is_empty() {
            c
        } else {
            c.to_ascii_lowercase()
        }),
        _ => named(rest).ok_or_else(|| {
            format!(
                "\"{text}\" is not a key: use one character, Ctrl-x, Alt-x, or Enter, Esc, Tab, \
                 Space, Backspace, Up, Down, Left, Right, Home, End, PgUp, PgDn, F1-F12"
            )
        })?,
    };
    if code == KeyCode::Esc || (code == KeyCode::Char('c') && mods == KeyModifiers::CONTROL) {
        return Err(format!(
            "\"{text}\" cannot be rebound: it always backs out or quits"
        ));
    }
    Ok(Key { code, mods })
}

fn named(text: &str) -> Option<KeyCode> {
    let lower = text.to_ascii_lowercase();
    let code = match lower.as_str() {
        "enter" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" | "shift-tab" => KeyCode::BackTab,
        "space" => KeyCode::Char(' '),
        "backspace" => KeyCode::Backspace,
        "delete" | "del" => KeyCode::Delete,
        "insert" | "ins" => KeyCode::Insert,
        "up" | "↑" => KeyCode::Up,
        "down" | "↓" => KeyCode::Down,
        "left" | "←" => KeyCode::Left,
        "right" | "→" => KeyCode::Right,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pgup" | "pageup" => KeyCode::PageUp,
        "pgdn" | "pagedown" => KeyCode::PageDown,
        f if f.starts_with('f') => {
            let n: u8 = f[1..].parse().ok().filter(|n| (1..=12).contains(n))?;
            KeyCode::F(n)
        }
        _ => return None,
    };
    Some(code)
}

#[cfg(test)]
mod tests {
    use crossterm::event::KeyEvent;

    use super::*;
    use crate::app::keymap::Action;

    fn press(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn a_rebound_action_answers_to_its_new_key_only() {
        let (keymap, problems) = apply(br#"{"destroy": "D"}"#);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            keymap.action_for(&press('D'), Pane::Stacks),
            Some(Action::Destroy)
        );
        assert_eq!(keymap.action_for(&press('d'), Pane::Stacks), None);
        let destroy = keymap.get(Action::Destroy).unwrap();
        assert_eq!(super::super::labels(destroy), "D");
    }

    #[test]
    fn a_clash_names_both_bindings_and_keeps_the_old_keys() {
        // x is the global exposure key, and destroy applies in Stacks.
        let (keymap, problems) = apply(br#"{"destroy": "x"}"#);
        assert_eq!(
            problems,
            vec![
                "keys.json: x is bound to both destroy and exposure; destroy keeps its other keys"
            ]
        );
        assert_eq!(
            keymap.action_for(&press('d'), Pane::Stacks),
            Some(Action::Destroy)
        );
        assert_eq!(
            keymap.action_for(&press('x'), Pane::Stacks),
            Some(Action::Exposure)
        );
    }

    #[test]
    fn keys_in_panes_that_never_meet_do_not_clash() {
        // R restarts in Health; Stacks may have it too.
        let (keymap, problems) = apply(br#"{"rollback": ["R", "Ctrl-r"]}"#);
        assert!(problems.is_empty(), "{problems:?}");
        let ctrl_r = KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL);
        assert_eq!(
            keymap.action_for(&ctrl_r, Pane::Stacks),
            Some(Action::Rollback)
        );
        assert_eq!(
            keymap.action_for(&press('R'), Pane::Health),
            Some(Action::Restart)
        );
    }

    #[test]
    fn bad_names_and_keys_are_reported_and_change_nothing() {
        let (keymap, problems) = apply(br#"{"explode": "e", "help": "Hyper-q", "quit": "Esc"}"#);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].contains("no action \"explode\""),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("\"Hyper-q\" is not a key"),
            "{problems:?}"
        );
        assert!(problems[2].contains("cannot be rebound"), "{problems:?}");
        assert_eq!(
            keymap.action_for(&press('?'), Pane::Logs),
            Some(Action::Help)
        );
        let (_, problems) = apply(b"[1, 2]");
        assert!(problems[0].contains("default keys apply"), "{problems:?}");
    }

    #[test]
    fn keys_parse_as_the_help_shows_them() {
        for text in [
            "d", "D", "Ctrl-d", "Alt-x", "Enter", "Space", "F5", "PgUp", "↑",
        ] {
            let key = parse_key(text).unwrap();
            let shown = label(&key);
            assert_eq!(parse_key(&shown).unwrap(), key, "{text} → {shown}");
        }
    }

    #[test]
    fn every_action_name_is_unique() {
        let keymap = Keymap::default();
        let mut names: Vec<&str> = keymap.iter().map(|b| b.action.name()).collect();
        let all = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all);
    }
}
