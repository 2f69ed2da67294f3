//! The headless CLI: the same operations as the dashboard, for scripts and CI.

mod access;
pub mod args;
pub mod completions;
mod connect;
mod cost;
mod doctor;
mod fault;
mod history;
mod logs;
mod models;
mod notify;
mod operations;
mod output;
mod progress;
mod readonly;
mod restart;
mod scan;
mod secret;
mod settings;
mod ssm_session;
mod status;
mod update;
mod watch;

use std::fmt;

pub use args::{Cli, Command};
pub use watch::policy as watch_policy;

use crate::deploy::OperationError;
use crate::runtime::{Runtime, RuntimeError};
use crate::store::StoreError;

/// A command's failure: the exit code and a sentence saying what to do.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

pub const EXIT_FAILED: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;
/// `scan` found something to act on (like `terraform plan -detailed-exitcode`).
pub const EXIT_FOUND: u8 = 3;

impl Failure {
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_BAD_INPUT,
            message: message.into(),
        }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_FAILED,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<RuntimeError> for Failure {
    fn from(e: RuntimeError) -> Self {
        match e {
            RuntimeError::BadInput(_) => Self::bad_input(e.to_string()),
            RuntimeError::Store(StoreError::InvalidSettings { .. }) => {
                Self::bad_input(e.to_string())
            }
            _ => Self::failed(e.to_string()),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::failed(e.to_string())
    }
}

impl From<OperationError> for Failure {
    fn from(e: OperationError) -> Self {
        match e {
            OperationError::NotFound(_) | OperationError::Conflict(_) => {
                Self::bad_input(e.to_string())
            }
            _ => Self::failed(e.to_string()),
        }
    }
}

/// Run a headless command.
pub async fn run(rt: &Runtime, command: Command, json: bool) -> Result<(), Failure> {
    for notice in &rt.notices {
        eprintln!("warning: {notice}");
    }
    if rt.readonly {
        readonly::allowed(&command)?;
    }
    match command {
        Command::Deploy(args) => operations::deploy(rt, args, json).await,
        Command::Update(args) => update::update(rt, args, json).await,
        Command::Connect(args) => connect::connect(rt, &args.stack, json),
        Command::History(args) => history::history(rt, &args.stack, json),
        Command::Notify(args) => notify::notify(rt, args, json).await,
        Command::Restart(args) => restart::restart(rt, args, json).await,
        Command::Models(args) => models::models(rt, args, json).await,
        Command::Destroy(args) => operations::destroy(rt, args, json).await,
        Command::List => status::list(rt, json),
        Command::Status(args) => status::status(rt, &args, json).await,
        Command::Logs(args) => logs::logs(rt, args, json).await,
        Command::Cost(args) => cost::cost(rt, &args.stack, json),
        Command::Fault(args) => fault::fault(rt, args, json),
        Command::Budget(args) => cost::set_budget(rt, &args, json),
        Command::Rollback(args) => watch::rollback(rt, args, json).await,
        Command::Monitor(args) => watch::monitor(rt, args, json).await,
        Command::Doctor(args) => doctor::doctor(rt, args, json).await,
        Command::Access(args) => access::access(rt, args, json).await,
        Command::Forward(args) => ssm_session::forward(rt, args, json).await,
        Command::Shell(args) => ssm_session::shell(rt, args, json).await,
        Command::Secret(args) => secret::secret(rt, args, json).await,
        Command::Settings(args) => settings::settings(rt, args, json),
        Command::Scan(args) => scan::scan(rt, args, json).await,
        Command::Completions(args) => completions::print_completions(args.shell),
        Command::Man => completions::print_man(),
    }
}

/// Load a stack that must exist.
fn load_existing(
    rt: &Runtime,
    stack: &crate::domain::StackName,
) -> Result<crate::domain::DeploymentState, Failure> {
    rt.store
        .load(stack)?
        .ok_or_else(|| Failure::bad_input(OperationError::NotFound(stack.to_string()).to_string()))
}
