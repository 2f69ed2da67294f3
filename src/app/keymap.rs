//! One table of key → action → description. It drives input handling, the
//! footer and the help overlay, so they cannot disagree.

use crossterm::event::{KeyCode, KeyModifiers};

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
    /// One service's log lines (`None`: all of them).
    ShowService(Option<crate::domain::Service>),
    Search,
    /// The next match: older (`true`) or newer.
    NextMatch(bool),
    ToggleWrap,
    ToggleTimestamps,
    CycleWindow,
    SaveLogs,
    CopyLine,
    /// Who can reach what on the selected stack.
    Exposure,
    /// The selected stack's recoveries and switches.
    Events,
    /// A Session Manager shell on the selected stack's instance.
    Shell,
    /// The `forward` command of the Health pane's service.
    Forward,
    /// Pick one of the selected stack's secrets to copy.
    CopySecret,
    /// How to reach the selected stack: URLs, sign-in, `forward` commands.
    Connect,
    /// Restart the Health pane's service (asks first).
    Restart,
    /// Ollama's models on the selected stack.
    Models,
    /// Change the selected stack's type, market or images (plan first).
    Update,
    /// The `:` command palette.
    Palette,
    /// Take the mouse, or give it back to the terminal (to select text).
    ToggleMouse,
    /// Scan the account: orphans, missing resources, drift.
    Orphans,
    Back,
}

impl Action {
    /// Its name in `config/keys.json` and the `:` palette.
    pub fn name(self) -> &'static str {
        use crate::domain::Service;
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::FocusNext => "next-pane",
            Action::FocusPrev => "prev-pane",
            Action::Up => "up",
            Action::Down => "down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::PageUp => "page-up",
            Action::PageDown => "page-down",
            Action::Open => "pipeline",
            Action::NewStack => "new",
            Action::Destroy => "destroy",
            Action::Faults => "faults",
            Action::Filter => "filter",
            Action::Rollback => "rollback",
            Action::ToggleFollow => "follow",
            Action::ShowService(None) => "logs-all",
            Action::ShowService(Some(Service::N8n)) => "logs-n8n",
            Action::ShowService(Some(Service::Ollama)) => "logs-ollama",
            Action::ShowService(Some(Service::Qdrant)) => "logs-qdrant",
            Action::ShowService(Some(Service::Crawl4ai)) => "logs-crawl4ai",
            Action::ShowService(Some(Service::Postgres)) => "logs-postgres",
            Action::Search => "search",
            Action::NextMatch(true) => "older-match",
            Action::NextMatch(false) => "newer-match",
            Action::ToggleWrap => "wrap",
            Action::ToggleTimestamps => "timestamps",
            Action::CycleWindow => "window",
            Action::SaveLogs => "save-logs",
            Action::CopyLine => "copy-line",
            Action::Exposure => "exposure",
            Action::Events => "events",
            Action::Shell => "shell",
            Action::Forward => "forward",
            Action::CopySecret => "secret",
            Action::Connect => "connect",
            Action::Restart => "restart",
            Action::Models => "models",
            Action::Update => "update",
            Action::Palette => "palette",
            Action::ToggleMouse => "mouse",
            Action::Orphans => "orphans",
            Action::Back => "back",
        }
    }

    /// Whether it changes a stack (or the instance): refused in read-only
    /// mode, and dimmed in the footer and help there.
    pub fn mutates(self) -> bool {
        matches!(
            self,
            Action::NewStack
                | Action::Destroy
                | Action::Faults
                | Action::Rollback
                | Action::Shell
                | Action::Restart
                | Action::Update
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

/// Where a binding applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Global,
    Pane(Pane),
    /// Panes with a cursor (stacks, services) or that scroll (logs).
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

impl Scope {
    pub fn applies_to(self, pane: Pane) -> bool {
        match self {
            Scope::Global => true,
            Scope::Pane(p) => p == pane,
            Scope::Lists => matches!(pane, Pane::Stacks | Pane::Health | Pane::Logs),
        }
    }
}

pub fn label(k: &Key) -> String {
    let base = match k.code {
        KeyCode::Char(' ') => "Space".into(),
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
        KeyCode::F(n) => format!("F{n}"),
        KeyCode::Backspace => "Backspace".into(),
        KeyCode::Delete => "Delete".into(),
        KeyCode::Insert => "Insert".into(),
        other => format!("{other:?}"),
    };
    let alt = if k.mods.contains(KeyModifiers::ALT) {
        "Alt-"
    } else {
        ""
    };
    let ctrl = if k.mods.contains(KeyModifiers::CONTROL) {
        "Ctrl-"
    } else {
        ""
    };
    format!("{ctrl}{alt}{base}")
}

/// The number keys of the Logs pane, one binding each, shown as one while
/// none is rebound.
fn numbers_as_one(b: &Bound) -> bool {
    matches!(b.action, Action::ShowService(_)) && b.keys == b.binding.keys
}

pub fn labels(b: &Bound) -> String {
    if numbers_as_one(b) {
        return "1-5 0".into();
    }
    b.keys.iter().map(label).collect::<Vec<_>>().join(" ")
}

/// The first key of a binding as the footer shows it.
pub fn first_label(b: &Bound) -> String {
    if numbers_as_one(b) {
        return "1-5".into();
    }
    b.keys.first().map(label).unwrap_or_default()
}

mod bound;
pub mod custom;
mod table;

pub use bound::{Bound, Keymap};
pub use table::KEYMAP;
#[cfg(test)]
mod tests;
