//! Everything the dashboard shows, and nothing it does.

use std::collections::{HashMap, HashSet, VecDeque};

use ratatui_textarea::TextArea;
use strum::{Display, EnumIter, IntoEnumIterator};

pub use super::log_view::{DEFAULT_LOG_CAPACITY, LogView, LogWindow};
use crate::cloud::Cidr;
use crate::cloud::sandbox::Fault;
use crate::domain::exposure::OutsideHealth;
use crate::domain::stage::OperationKind;
use crate::domain::{DeploymentState, Provider, Service, Tier, Timestamp};

/// Samples kept per service for the latency sparkline.
pub const HEALTH_HISTORY: usize = 40;
/// How long a notice stays in the header.
pub const NOTICE_SECS: f64 = 8.0;
/// How a sweep's note (and the outside view's error) starts when n8n is
/// healthy inside but not reachable from this machine.
pub const UNREACHABLE: &str = "unreachable from here:";
/// The secrets every stack keeps, as the picker lists them. Only their
/// names ever reach the model.
pub use crate::domain::secrets::SECRET_NAMES;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Display, EnumIter)]
pub enum Pane {
    Stacks,
    Pipeline,
    Logs,
    Health,
    Cost,
}

impl Pane {
    pub fn next(self) -> Pane {
        let all: Vec<Pane> = Pane::iter().collect();
        let i = all.iter().position(|p| *p == self).unwrap_or(0);
        all[(i + 1) % all.len()]
    }

    pub fn prev(self) -> Pane {
        let all: Vec<Pane> = Pane::iter().collect();
        let i = all.iter().position(|p| *p == self).unwrap_or(0);
        all[(i + all.len() - 1) % all.len()]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeLevel {
    Info,
    Warn,
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub at: Timestamp,
    pub level: NoticeLevel,
    pub text: String,
}

/// One probe result as the Health pane keeps it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HealthPoint {
    pub at: Timestamp,
    pub status: crate::domain::state::ServiceStatus,
    pub latency_ms: Option<u64>,
}

/// Live probe history of one stack, per service (the inside view), and the
/// latest outside view this process saw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HealthHistory {
    pub points: HashMap<Service, VecDeque<HealthPoint>>,
    pub outside: Option<OutsideHealth>,
}

impl HealthHistory {
    pub fn latest(&self, service: Service) -> Option<&HealthPoint> {
        self.points.get(&service).and_then(|p| p.back())
    }
}

#[derive(Debug)]
pub struct ConfirmDestroy {
    pub stack: String,
    /// Deleting data needs the stack's name typed out.
    pub delete_data: bool,
    pub typed: TextArea<'static>,
    pub error: Option<String>,
}

#[derive(Debug)]
pub struct FaultMenu {
    pub stack: String,
    pub faults: Vec<Fault>,
    pub selected: usize,
}

/// Something the user can accept with one key after an operation could not
/// go as asked.
#[derive(Clone, Debug, PartialEq)]
pub enum Offer {
    /// No AWS: use the simulated cloud instead.
    Sandbox { reason: String },
    /// No spot capacity anywhere: deploy on-demand instead.
    OnDemand {
        request: Box<crate::cloud::DeployRequest>,
        reason: String,
    },
    /// Healthy inside, unreachable from here because this machine's address
    /// is not allowed: add its /32.
    Access {
        stack: String,
        cidr: Cidr,
        reason: String,
    },
}

/// A command to run outside the dashboard (a shell, a forward): what it is,
/// the command itself (`y` copies it), and what it needs.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandDialog {
    pub title: String,
    pub intro: String,
    pub command: String,
    pub details: Vec<String>,
}

/// Which secret of the stack to copy.
#[derive(Clone, Debug, PartialEq)]
pub struct SecretPicker {
    pub stack: String,
    pub selected: usize,
}

#[derive(Debug)]
pub enum Overlay {
    Help,
    /// The deploy wizard: its steps, then the plan; Enter there deploys.
    Wizard(Box<super::wizard::Wizard>),
    ConfirmDestroy(Box<ConfirmDestroy>),
    /// Roll the named stack back? (y/n)
    ConfirmRollback(String),
    Faults(FaultMenu),
    Offer(Offer),
    /// Who can reach what on the stack, scrolled down `scroll` rows.
    Exposure {
        stack: String,
        scroll: u16,
    },
    /// The stack's recoveries and switches, scrolled down `scroll` rows.
    Events {
        stack: String,
        scroll: u16,
    },
    Command(Box<CommandDialog>),
    Secrets(SecretPicker),
    /// Restart this service of the stack? (y/n)
    ConfirmRestart {
        stack: String,
        service: crate::domain::Service,
    },
    /// Ollama's models on the stack; `selected` is the row `x` removes.
    Models {
        stack: String,
        selected: usize,
    },
    /// Remove this model from the stack's EFS? (y/n)
    ConfirmRemoveModel {
        stack: String,
        name: String,
    },
    /// How to reach the stack; `selected` is the row `y` copies.
    Connect {
        stack: String,
        selected: usize,
    },
    /// Change a running stack: the choices, then the plan, then the switch.
    Update(Box<UpdateDialog>),
    /// The `:` command palette: what is typed, and the match Enter runs.
    Palette(PaletteInput),
    /// The account's scan; `selected` is the finding the keys act on.
    Orphans {
        selected: usize,
    },
    /// Adopt, forget or delete this finding? (y/n)
    ConfirmFix {
        id: String,
        fix: crate::deploy::scan::Fix,
        question: String,
    },
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PaletteInput {
    pub typed: String,
    pub selected: usize,
}

/// The Update dialog: what to change, and the plan of it once asked for.
#[derive(Debug)]
pub struct UpdateDialog {
    pub stack: String,
    pub instance_type: ratatui_textarea::TextArea<'static>,
    pub spot: bool,
    /// Each service to its newest tested tag (assets/images.toml).
    pub newest_images: bool,
    pub field: UpdateField,
    pub plan: PlanStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateField {
    InstanceType,
    Market,
    Images,
}

impl UpdateField {
    pub const ALL: [UpdateField; 3] = [Self::InstanceType, Self::Market, Self::Images];

    /// The next field, or the one before (`back`), wrapping around.
    pub fn step(self, back: bool) -> Self {
        let at = Self::ALL.iter().position(|f| *f == self).unwrap_or(0);
        let n = Self::ALL.len();
        Self::ALL[if back { (at + n - 1) % n } else { (at + 1) % n }]
    }
}

/// The Update dialog's plan: not asked for since the last change, being
/// priced, or priced (with the request it is the plan of), or refused.
#[derive(Debug, Default)]
pub enum PlanStatus {
    #[default]
    NotAsked,
    /// Asked for this request; the answer is `Msg::UpdatePlanned`.
    Pricing(Box<crate::cloud::DeployRequest>),
    Ready(
        Box<(
            crate::deploy::update::UpdatePlan,
            crate::cloud::DeployRequest,
        )>,
    ),
    Refused(String),
}

/// A stack's models as last read, and the pull this process runs on it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StackModels {
    /// `None` until read; `Err` says why they could not be.
    pub view: Option<Result<crate::domain::models::ModelsView, String>>,
    pub pull: Option<PullLine>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PullLine {
    pub name: String,
    /// The progress bar as last drawn, or how it ended.
    pub line: String,
    /// `Some` once it ended: `Ok` done, `Err` why not.
    pub ended: Option<Result<(), String>>,
}

#[derive(Debug)]
pub struct Model {
    pub provider: Provider,
    pub region: String,
    pub now: Timestamp,
    pub width: u16,
    pub height: u16,
    /// Sorted by name.
    pub stacks: Vec<DeploymentState>,
    pub selected: Option<String>,
    /// Typing a filter (`/`), and its text.
    pub filtering: bool,
    pub filter: String,
    pub focus: Pane,
    pub logs: LogView,
    /// Lines each stack's log view keeps (settings' `log_buffer_lines`).
    pub log_capacity: usize,
    /// URLs are drawn as OSC 8 hyperlinks (a real terminal; not in tests).
    pub hyperlinks: bool,
    /// Read-only mode: every action that changes anything is refused.
    pub readonly: bool,
    /// The keys in force: the table's, with `config/keys.json` applied.
    pub keymap: super::keymap::Keymap,
    /// Never `Auto`: resolved at start.
    pub theme: crate::domain::settings::ColorTheme,
    /// Fewer borders, more rows (settings' `compact_mode`).
    pub compact: bool,
    /// The dashboard takes the mouse (clicks, the wheel); `m` gives it back.
    pub mouse: bool,
    /// Commands run from the `:` palette, newest last.
    pub palette_history: VecDeque<String>,
    /// What a budget set in the deploy wizard does at 100% (settings).
    pub budget_action: crate::domain::budget::BudgetAction,
    /// Rows the help overlay is scrolled down.
    pub help_scroll: u16,
    pub health: HashMap<String, HealthHistory>,
    /// The service the Health pane points at (`Service::ALL` index), for `f`.
    pub health_cursor: usize,
    /// The AWS CLI and Session Manager plugin, where missing on this machine
    /// (looked up at start: `update` does no I/O).
    pub session_tools_missing: Vec<&'static str>,
    /// The AWS profile the commands shown for a shell or forward name.
    pub aws_profile: Option<String>,
    /// Addresses the user declined to allow, by stack: not offered again.
    pub access_declined: HashSet<(String, String)>,
    /// Stacks whose allowed CIDRs are being changed.
    pub access_pending: HashSet<String>,
    /// Operations this process is running, by stack.
    pub busy: HashMap<String, OperationKind>,
    /// The stack's operations from the audit log, newest first, as the
    /// Events view last read them.
    pub history: HashMap<String, Result<Vec<crate::store::audit::AuditEntry>, String>>,
    /// What the Models view knows, by stack.
    pub models: HashMap<String, StackModels>,
    /// Spot interruptions under way, by stack.
    pub spot_notices: HashMap<String, crate::cloud::SpotNotice>,
    /// The account's last scan, for the Orphans view.
    pub scan: super::orphans::ScanSeen,
    pub overlay: Option<Overlay>,
    pub notices: VecDeque<Notice>,
    pub default_tier: Tier,
    pub default_instance_type: String,
    pub prefer_spot: bool,
    /// Roll back a deploy whose services never come up (settings).
    pub auto_rollback: bool,
    pub should_quit: bool,
}

impl Model {
    pub fn new(provider: Provider, region: String, now: Timestamp) -> Self {
        Self {
            provider,
            region,
            now,
            width: 0,
            height: 0,
            stacks: Vec::new(),
            selected: None,
            filtering: false,
            filter: String::new(),
            focus: Pane::Stacks,
            logs: LogView::for_stack(None, DEFAULT_LOG_CAPACITY),
            log_capacity: DEFAULT_LOG_CAPACITY,
            hyperlinks: false,
            readonly: false,
            keymap: super::keymap::Keymap::default(),
            theme: crate::domain::settings::ColorTheme::Dark,
            compact: false,
            mouse: true,
            palette_history: VecDeque::new(),
            budget_action: crate::domain::budget::BudgetAction::Warn,
            help_scroll: 0,
            health: HashMap::new(),
            health_cursor: 0,
            session_tools_missing: Vec::new(),
            aws_profile: None,
            access_declined: HashSet::new(),
            access_pending: HashSet::new(),
            busy: HashMap::new(),
            history: HashMap::new(),
            models: HashMap::new(),
            spot_notices: HashMap::new(),
            scan: Default::default(),
            overlay: None,
            notices: VecDeque::new(),
            default_tier: Tier::Dev,
            default_instance_type: Tier::Dev.default_instance_type().to_string(),
            prefer_spot: true,
            auto_rollback: true,
            should_quit: false,
        }
    }

    pub fn is_sandbox(&self) -> bool {
        self.provider == Provider::Sandbox
    }

    /// The stacks the list shows, after the filter.
    pub fn visible_stacks(&self) -> impl Iterator<Item = &DeploymentState> {
        self.stacks
            .iter()
            .filter(|s| self.filter.is_empty() || s.stack_name.contains(&self.filter))
    }

    pub fn selected_stack(&self) -> Option<&DeploymentState> {
        let name = self.selected.as_ref()?;
        self.stacks.iter().find(|s| &s.stack_name == name)
    }

    /// Whether this process may act on the stack (it lives in our cloud).
    pub fn manages(&self, state: &DeploymentState) -> bool {
        state.provider == self.provider
    }

    /// Something on screen moves on its own (a spinner): redraw often.
    pub fn is_animating(&self) -> bool {
        matches!(&self.overlay, Some(Overlay::Wizard(w)) if w.loading())
    }

    /// The service the Health pane's cursor is on.
    pub fn health_service(&self) -> Service {
        Service::ALL[self.health_cursor.min(Service::ALL.len() - 1)]
    }

    pub fn current_notice(&self) -> Option<&Notice> {
        self.notices
            .back()
            .filter(|n| n.at.secs_until(self.now) < NOTICE_SECS)
    }
}
