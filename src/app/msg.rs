//! Everything that can happen to the dashboard, as data.

use crossterm::event::KeyEvent;

use super::model::Offer;
use crate::cloud::{Cidr, NetworkChoice, Prices};
use crate::domain::stage::OperationKind;
use crate::domain::{DeploymentState, Timestamp};
use crate::instance::log_line::LogLine;
use crate::monitor::watch::SweepReport;

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// A click, a drag or the wheel (when the dashboard has the mouse).
    Mouse(crossterm::event::MouseEvent),
    Resize(u16, u16),
    /// The clock moved on: time reaches `update` only this way.
    Tick(Timestamp),
    /// The state directory as it is now.
    StacksLoaded {
        stacks: Vec<DeploymentState>,
        problems: Vec<String>,
    },
    /// An operation in this process saved a new state.
    StackChanged(Box<DeploymentState>),
    OperationFinished {
        stack: String,
        kind: OperationKind,
        result: Result<String, String>,
        /// What to propose instead, when it failed in a way one key can fix.
        offer: Option<Offer>,
    },
    LogLines {
        stack: String,
        lines: Vec<LogLine>,
    },
    /// `Effect::Scan` (or a fix's scan after it) answered.
    Scanned(Result<Box<crate::deploy::scan::Scanned>, String>),
    /// A monitor sweep of one stack: health, spot notice, any rollback.
    Swept(Box<SweepReport>),
    FaultInjected {
        stack: String,
        result: Result<String, String>,
    },
    /// Something done in the background for the user, to tell them.
    Notice {
        error: bool,
        text: String,
    },
    /// `Effect::SetAccess` ended: the new set, or why not.
    AccessChanged {
        stack: String,
        result: Result<String, String>,
    },
    /// `Effect::CopySecret` ended. Only the name comes back, never the value.
    SecretCopied {
        stack: String,
        name: &'static str,
        result: Result<(), String>,
    },
    /// The Session Manager shell ended (the dashboard is back), or could not
    /// start; `missing` is the tools found missing just now.
    ShellEnded {
        stack: String,
        result: Result<String, String>,
        missing: Vec<&'static str>,
    },
    /// `Effect::ReadHistory` read the stack's operations, newest first.
    HistoryRead {
        stack: String,
        result: Result<Vec<crate::store::audit::AuditEntry>, String>,
    },
    /// `Effect::PlanUpdate` priced the plan, or could not.
    UpdatePlanned {
        stack: String,
        result: Result<Box<crate::deploy::update::UpdatePlan>, String>,
    },
    /// `Effect::ReadModels` (or a pull's or removal's end) read the models.
    ModelsRead {
        stack: String,
        result: Result<crate::domain::models::ModelsView, String>,
    },
    /// A pull's progress line, each poll.
    PullProgress {
        stack: String,
        name: String,
        line: String,
    },
    PullEnded {
        stack: String,
        name: String,
        result: Result<String, String>,
    },
    /// The answer to a wizard `Query`.
    Found(Found),
    /// SIGTERM, SIGHUP, or the input stream ended.
    Quit,
}

/// What a wizard `Query` found, or why it could not.
#[derive(Debug)]
pub enum Found {
    Networks {
        region: String,
        result: Result<Vec<NetworkChoice>, String>,
    },
    Prices {
        region: String,
        instance_type: String,
        result: Result<Prices, String>,
    },
    CallerCidr {
        result: Result<Cidr, String>,
    },
    /// `Ok(None)`: the quota allows the type; `Ok(Some(warning))`: unknown.
    GpuQuota {
        region: String,
        instance_type: String,
        spot: bool,
        result: Result<Option<String>, String>,
    },
}
