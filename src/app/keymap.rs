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

pub const KEYMAP: &[Binding] = &[
    Binding {
        keys: &[key('j'), special(KeyCode::Down)],
        action: Action::Down,
        scope: Scope::Lists,
        short: "down",
        help: "Next stack or service / scroll logs down",
        in_footer: false,
    },
    Binding {
        keys: &[key('k'), special(KeyCode::Up)],
        action: Action::Up,
        scope: Scope::Lists,
        short: "up",
        help: "Previous stack or service / scroll logs up",
        in_footer: false,
    },
    Binding {
        keys: &[key('g'), special(KeyCode::Home)],
        action: Action::Top,
        scope: Scope::Lists,
        short: "top",
        help: "First stack or service / oldest log line",
        in_footer: false,
    },
    Binding {
        keys: &[key('G'), special(KeyCode::End)],
        action: Action::Bottom,
        scope: Scope::Lists,
        short: "end",
        help: "Last stack or service / newest line; follows again",
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
    // The Logs pane's keys come before the global ones they shadow (n, /).
    Binding {
        keys: &[key(' '), key('f')],
        action: Action::ToggleFollow,
        scope: Scope::Pane(Pane::Logs),
        short: "pause",
        help: "Follow new lines, or pause (holds under any output)",
        in_footer: true,
    },
    Binding {
        keys: &[key('/')],
        action: Action::Search,
        scope: Scope::Pane(Pane::Logs),
        short: "search",
        help: "Search: text, or a regex; matches highlighted",
        in_footer: true,
    },
    Binding {
        keys: &[key('n')],
        action: Action::NextMatch(true),
        scope: Scope::Pane(Pane::Logs),
        short: "older match",
        help: "Jump to the previous (older) match",
        in_footer: false,
    },
    Binding {
        keys: &[key('N')],
        action: Action::NextMatch(false),
        scope: Scope::Pane(Pane::Logs),
        short: "newer match",
        help: "Jump to the next (newer) match",
        in_footer: false,
    },
    Binding {
        keys: &[key('1')],
        action: Action::ShowService(Some(crate::domain::Service::N8n)),
        scope: Scope::Pane(Pane::Logs),
        short: "service",
        help: "1 n8n 2 ollama 3 qdrant 4 crawl4ai 5 postgres 0 all",
        in_footer: true,
    },
    Binding {
        keys: &[key('2')],
        action: Action::ShowService(Some(crate::domain::Service::Ollama)),
        scope: Scope::Pane(Pane::Logs),
        short: "ollama",
        help: "Only Ollama's lines",
        in_footer: false,
    },
    Binding {
        keys: &[key('3')],
        action: Action::ShowService(Some(crate::domain::Service::Qdrant)),
        scope: Scope::Pane(Pane::Logs),
        short: "qdrant",
        help: "Only Qdrant's lines",
        in_footer: false,
    },
    Binding {
        keys: &[key('4')],
        action: Action::ShowService(Some(crate::domain::Service::Crawl4ai)),
        scope: Scope::Pane(Pane::Logs),
        short: "crawl4ai",
        help: "Only Crawl4AI's lines",
        in_footer: false,
    },
    Binding {
        keys: &[key('5')],
        action: Action::ShowService(Some(crate::domain::Service::Postgres)),
        scope: Scope::Pane(Pane::Logs),
        short: "postgres",
        help: "Only PostgreSQL's lines",
        in_footer: false,
    },
    Binding {
        keys: &[key('0')],
        action: Action::ShowService(None),
        scope: Scope::Pane(Pane::Logs),
        short: "all",
        help: "Every service's lines, interleaved",
        in_footer: false,
    },
    Binding {
        keys: &[key('w')],
        action: Action::ToggleWrap,
        scope: Scope::Pane(Pane::Logs),
        short: "wrap",
        help: "Wrap long lines, or cut them",
        in_footer: false,
    },
    Binding {
        keys: &[key('t')],
        action: Action::ToggleTimestamps,
        scope: Scope::Pane(Pane::Logs),
        short: "times",
        help: "Show or hide timestamps",
        in_footer: false,
    },
    Binding {
        keys: &[key('T')],
        action: Action::CycleWindow,
        scope: Scope::Pane(Pane::Logs),
        short: "window",
        help: "Time window: all, the last hour, the last 5 minutes",
        in_footer: false,
    },
    Binding {
        keys: &[key('s')],
        action: Action::SaveLogs,
        scope: Scope::Pane(Pane::Logs),
        short: "save",
        help: "Save the lines shown (search applied) to logs/",
        in_footer: true,
    },
    Binding {
        keys: &[key('y')],
        action: Action::CopyLine,
        scope: Scope::Pane(Pane::Logs),
        short: "copy",
        help: "Copy the current line (OSC 52: over SSH, tmux)",
        in_footer: false,
    },
    Binding {
        keys: &[key('R')],
        action: Action::Restart,
        scope: Scope::Pane(Pane::Health),
        short: "restart",
        help: "Restart the selected service's container (asks first)",
        in_footer: true,
    },
    Binding {
        keys: &[key('f')],
        action: Action::Forward,
        scope: Scope::Pane(Pane::Health),
        short: "forward",
        help: "Forward the service here: the command (y copies it)",
        in_footer: true,
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
        keys: &[key('u')],
        action: Action::Update,
        scope: Scope::Pane(Pane::Stacks),
        short: "update",
        help: "Change type, market or images: plan and cost first",
        in_footer: false,
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
        keys: &[key('x')],
        action: Action::Exposure,
        scope: Scope::Global,
        short: "exposure",
        help: "Who can reach what, and n8n as seen from here",
        in_footer: true,
    },
    Binding {
        keys: &[key('c')],
        action: Action::Connect,
        scope: Scope::Global,
        short: "connect",
        help: "How to reach it: URLs, sign-in, forwards; y copies",
        in_footer: true,
    },
    Binding {
        keys: &[key('M')],
        action: Action::Models,
        scope: Scope::Global,
        short: "models",
        help: "Ollama's models on the stack: pull, remove, where they run",
        in_footer: false,
    },
    Binding {
        keys: &[key('O')],
        action: Action::Orphans,
        scope: Scope::Global,
        short: "orphans",
        help: "Scan the account: orphans, missing, drift",
        in_footer: false,
    },
    Binding {
        keys: &[key('e')],
        action: Action::Events,
        scope: Scope::Global,
        short: "events",
        help: "The stack's recoveries and switches, newest first",
        in_footer: false,
    },
    Binding {
        keys: &[key('S')],
        action: Action::Shell,
        scope: Scope::Global,
        short: "shell",
        help: "A shell on the instance, over Session Manager",
        in_footer: true,
    },
    Binding {
        keys: &[key('C')],
        action: Action::CopySecret,
        scope: Scope::Global,
        short: "secret",
        help: "Copy a secret to the clipboard; never shown",
        in_footer: true,
    },
    Binding {
        keys: &[key(':')],
        action: Action::Palette,
        scope: Scope::Global,
        short: "command",
        help: "Command palette: any action by name, with a stack (:destroy demo)",
        in_footer: true,
    },
    Binding {
        keys: &[key('m')],
        action: Action::ToggleMouse,
        scope: Scope::Global,
        short: "mouse",
        help: "Mouse on or off (off: the terminal selects text again)",
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

pub use bound::{Bound, Keymap};
#[cfg(test)]
mod tests;
