//! What `update` asks the outside world to do. The runner does it, in tasks
//! that report back as messages.

use std::collections::BTreeSet;

use crate::cloud::DeployRequest;
use crate::cloud::sandbox::Fault;
use crate::deploy::access::AccessChange;
use crate::domain::StackName;

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Boxed: a request is large, and effects are moved around often.
    Deploy(Box<DeployRequest>),
    Destroy {
        stack: StackName,
        delete_data: bool,
    },
    InjectFault {
        stack: String,
        fault: Fault,
    },
    /// Price the plan of this update (answered by `Msg::UpdatePlanned`).
    PlanUpdate(Box<DeployRequest>),
    /// Change the running stack to this request: prepare, then switch.
    Update(Box<DeployRequest>),
    /// Replace the stack's instance from its last healthy snapshot.
    Rollback {
        stack: StackName,
    },
    /// Work on the simulated cloud from now on.
    UseSandbox,
    /// Write log lines to `$GEUSEMAKER_HOME/logs/<stack>-<at>.log`.
    SaveLogs {
        stack: String,
        at: crate::domain::Timestamp,
        lines: Vec<String>,
    },
    /// Put text on the clipboard through the terminal (OSC 52).
    CopyToClipboard(String),
    /// Open a URL in this machine's browser, where it has an opener.
    OpenUrl(String),
    /// Read the stack's operations from the audit log (answered by
    /// `Msg::HistoryRead`).
    ReadHistory {
        stack: String,
    },
    /// Read the stack's models (answered by `Msg::ModelsRead`).
    ReadModels {
        stack: String,
    },
    /// Pull a model, reporting `Msg::PullProgress` each poll, then `Msg::PullEnded`.
    PullModel {
        stack: String,
        name: String,
    },
    RemoveModel {
        stack: String,
        name: String,
    },
    /// Restart one service's container on the stack's instance.
    RestartService {
        stack: String,
        service: crate::domain::Service,
    },
    /// Read one of the stack's secrets and put it on the clipboard (OSC 52).
    /// The value goes from the cloud to the terminal; only `Msg::SecretCopied`
    /// (the name) comes back.
    CopySecret {
        stack: String,
        name: &'static str,
    },
    /// Change who may reach the stack's n8n (answered by `Msg::AccessChanged`).
    SetAccess {
        stack: StackName,
        change: AccessChange,
    },
    /// Leave the screen to the Session Manager shell `command` until it
    /// ends. The event loop does this (it owns the terminal), not the runner.
    Shell {
        stack: String,
        command: Vec<String>,
    },
    /// Look something up for the deploy wizard (answered by `Msg::Found`).
    Lookup(Query),
    /// Take the mouse (`true`) or give it back to the terminal. The event
    /// loop does it: it owns the terminal.
    Mouse(bool),
    /// Keep the palette's recent commands for the next session, oldest first.
    SavePaletteHistory(Vec<String>),
    /// Scan the account against the state files (answered by
    /// `Msg::Scanned`): the regions the states use, or every enabled one.
    Scan {
        all_regions: bool,
    },
    /// Adopt, forget or delete one finding, then scan again (as widely).
    Fix {
        id: String,
        fix: crate::deploy::scan::Fix,
        all_regions: bool,
    },
}

impl Effect {
    /// Whether it changes a stack, its access or its instance.
    pub fn mutates(&self) -> bool {
        matches!(
            self,
            Effect::Deploy(_)
                | Effect::Update(_)
                | Effect::Destroy { .. }
                | Effect::InjectFault { .. }
                | Effect::Rollback { .. }
                | Effect::PullModel { .. }
                | Effect::RemoveModel { .. }
                | Effect::RestartService { .. }
                | Effect::SetAccess { .. }
                | Effect::Shell { .. }
                | Effect::Fix { .. }
        )
    }
}

/// What the deploy wizard looks up in the background, in a region.
#[derive(Clone, Debug, PartialEq)]
pub enum Query {
    Networks {
        region: String,
    },
    Prices {
        region: String,
        instance_type: String,
    },
    CallerCidr {
        region: String,
    },
    GpuQuota {
        region: String,
        instance_type: String,
        spot: bool,
    },
}

/// Long-running work the model wants going; the runner starts what is
/// missing and stops what is no longer wanted (Elm's subscriptions).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subscription {
    /// Re-read the state directory now and then (other processes change it).
    Store,
    Logs {
        stack: String,
    },
    /// Probe, record and heal a running stack (monitor sweeps).
    Monitor {
        stack: String,
    },
}

pub type Subscriptions = BTreeSet<Subscription>;

impl Query {
    pub fn region(&self) -> &str {
        match self {
            Query::Networks { region }
            | Query::Prices { region, .. }
            | Query::CallerCidr { region }
            | Query::GpuQuota { region, .. } => region,
        }
    }

    /// The answer when the lookup could not be made at all.
    pub fn failed(self, why: String) -> super::msg::Found {
        use super::msg::Found;
        match self {
            Query::Networks { region } => Found::Networks {
                region,
                result: Err(why),
            },
            Query::Prices {
                region,
                instance_type,
            } => Found::Prices {
                region,
                instance_type,
                result: Err(why),
            },
            Query::CallerCidr { .. } => Found::CallerCidr { result: Err(why) },
            Query::GpuQuota {
                region,
                instance_type,
                spot,
            } => Found::GpuQuota {
                region,
                instance_type,
                spot,
                result: Err(why),
            },
        }
    }
}
