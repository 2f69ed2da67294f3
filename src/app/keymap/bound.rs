//! The keymap in force: the table's bindings, with the keys each has now.

use crossterm::event::{KeyEvent, KeyModifiers};

use super::{Action, Binding, KEYMAP, Key, Scope};
use crate::app::model::Pane;

fn matches(k: &Key, event: &KeyEvent) -> bool {
    // Shift is part of the character for letters ('G'), so compare without it.
    let mods = event.modifiers - KeyModifiers::SHIFT;
    k.code == event.code && k.mods == mods
}

/// A binding with the keys it has now: the table's, or `config/keys.json`'s.
#[derive(Clone, Debug)]
pub struct Bound {
    pub binding: &'static Binding,
    pub keys: Vec<Key>,
}

impl std::ops::Deref for Bound {
    type Target = Binding;
    fn deref(&self) -> &Binding {
        self.binding
    }
}

/// The keymap in force. Input, footer, help and palette all read this one.
#[derive(Clone, Debug)]
pub struct Keymap {
    pub(super) bound: Vec<Bound>,
}

impl Default for Keymap {
    fn default() -> Self {
        let bound = KEYMAP
            .iter()
            .map(|binding| Bound {
                binding,
                keys: binding.keys.to_vec(),
            })
            .collect();
        Self { bound }
    }
}

impl Keymap {
    pub fn iter(&self) -> impl Iterator<Item = &Bound> {
        self.bound.iter()
    }

    pub(in crate::app::keymap) fn bound_mut(&mut self) -> &mut [Bound] {
        &mut self.bound
    }

    pub fn action_for(&self, event: &KeyEvent, focus: Pane) -> Option<Action> {
        self.bound
            .iter()
            .find(|b| b.scope.applies_to(focus) && b.keys.iter().any(|k| matches(k, event)))
            .map(|b| b.action)
    }

    /// The binding of `action`.
    pub fn get(&self, action: Action) -> Option<&Bound> {
        self.bound.iter().find(|b| b.action == action)
    }

    /// The bindings the footer shows for `focus`: the pane's first, then
    /// global ones.
    pub fn footer(&self, focus: Pane) -> Vec<&Bound> {
        let pane: Vec<&Bound> = self
            .bound
            .iter()
            .filter(|b| b.scope != Scope::Global && b.scope.applies_to(focus))
            .collect();
        // A global key the pane takes over (n in Logs) is not offered there.
        let shadowed = |k: &Key| pane.iter().any(|b| b.keys.contains(k));
        let global: Vec<&Bound> = self
            .bound
            .iter()
            .filter(|b| b.in_footer && b.scope == Scope::Global && !b.keys.iter().any(shadowed))
            .collect();
        pane.into_iter()
            .filter(|b| b.in_footer)
            .chain(global)
            .collect()
    }
}
