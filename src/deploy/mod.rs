//! Operations on a stack: deploy, destroy. Each holds the stack's lock,
//! records every step in the state file as it happens, and leaves one line in
//! the audit log.

pub mod access;
mod background;
mod destroy;
pub mod models;
mod pipeline;
pub mod plan;
mod readiness;
mod retry;
mod rollback;
pub mod scan;
mod stop;
pub mod update;

use std::sync::Arc;
use std::time::Duration;

pub use destroy::{DestroyOutcome, KeptData, destroy, kept_data as destroy_kept_data};
pub use pipeline::deploy;
pub use rollback::{relaunch_request, rollback};
pub use stop::stop;
pub use update::update;

use crate::cloud::session::StateSink;
use crate::cloud::{Cloud, CloudError, Session};
use crate::domain::time::Clock;
use crate::domain::{DeploymentState, Provider, StackName, Timestamp};
use crate::store::audit::{AuditEntry, AuditResult};
use crate::store::{LockHolder, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request contradicts the stack as it is; nothing was changed.
    #[error("{0}")]
    Conflict(String),
    #[error("no stack named {0}. `geusemaker-tui list` shows the stacks")]
    NotFound(String),
    #[error("{stage} failed: {source}{}", rollback.as_ref().map(|r| format!("; {r}")).unwrap_or_default())]
    Stage {
        stage: String,
        source: Box<CloudError>,
        /// What the automatic rollback did, when there was one.
        rollback: Option<String>,
    },
}

/// What a deploy's or an update's outcome tells the user's webhook; none
/// for a refusal, where nothing happened.
pub fn outcome_event(
    kind: crate::domain::stage::OperationKind,
    stack: &str,
    at: Timestamp,
    result: &Result<DeploymentState, OperationError>,
) -> Option<crate::domain::notify::NotifyEvent> {
    use crate::domain::notify::{EventKind, NotifyEvent};
    use crate::domain::stage::OperationKind;
    let update = kind == OperationKind::Update;
    let (kind, text) = match result {
        Err(e) if e.is_refusal() => return None,
        Ok(s) if update => (
            EventKind::UpdateSucceeded,
            format!(
                "updated to {} {}",
                if s.is_spot() { "spot" } else { "on-demand" },
                s.instance_type().unwrap_or("-")
            ),
        ),
        Ok(s) => (
            EventKind::DeploySucceeded,
            format!("deployed: n8n at {}", s.n8n_url.as_deref().unwrap_or("-")),
        ),
        Err(
            e @ OperationError::Stage {
                rollback: Some(_), ..
            },
        ) if update => (EventKind::UpdateReverted, e.to_string()),
        Err(e) if update => (EventKind::UpdateFailed, format!("the update failed: {e}")),
        Err(e) => (EventKind::DeployFailed, format!("the deploy failed: {e}")),
    };
    Some(NotifyEvent::new(kind, stack, at, text))
}

impl OperationError {
    /// Bad input or a busy stack: the operation never started.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::Conflict(_)
                | Self::NotFound(_)
                | Self::Store(StoreError::Lock(_))
                | Self::Store(StoreError::Corrupt(_))
        )
    }
}

/// What an operation needs from the outside world.
#[derive(Clone)]
pub struct Context {
    pub cloud: Arc<dyn Cloud>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub timing: Timing,
    /// Roll back a deploy whose services never become healthy (settings).
    pub auto_rollback: bool,
}

impl Context {
    /// This context with the request's own rollback choices applied.
    pub fn for_request(&self, req: &crate::cloud::DeployRequest) -> Context {
        let mut ctx = self.clone();
        if let Some(on) = req.options.auto_rollback {
            ctx.auto_rollback = on;
        }
        if let Some(minutes) = req.options.rollback_timeout_minutes {
            // Scaled like the default (the sandbox runs faster than real time).
            let ratio = f64::from(minutes) / f64::from(crate::domain::ROLLBACK_TIMEOUT_MINUTES);
            ctx.timing.ready_timeout = self.timing.ready_timeout.mul_f64(ratio);
        }
        ctx
    }
}

/// How often to look, how long to wait: slower against AWS, faster in the sandbox.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub poll: Duration,
    pub ready_timeout: Duration,
    pub backoff_base: Duration,
}

impl Timing {
    pub fn for_provider(provider: Provider, speed: f64, rollback_timeout_minutes: u32) -> Self {
        let ready_timeout = Duration::from_secs(u64::from(rollback_timeout_minutes) * 60);
        match provider {
            Provider::Aws => Self {
                poll: Duration::from_secs(5),
                ready_timeout,
                backoff_base: Duration::from_secs(1),
            },
            Provider::Sandbox => Self {
                poll: Duration::from_secs_f64(0.5 / speed),
                ready_timeout: ready_timeout.div_f64(speed.max(1.0)),
                backoff_base: Duration::from_secs_f64(1.0 / speed),
            },
        }
    }
}

/// Take the stack's lock and open a session on its state (`fresh` if none).
fn open(
    ctx: &Context,
    stack: &StackName,
    operation: &str,
    sink: Box<dyn StateSink>,
    fresh: impl FnOnce(Timestamp) -> Option<DeploymentState>,
) -> Result<Session, OperationError> {
    let now = ctx.clock.now();
    tracing::info!(provider = %ctx.cloud.provider(), "{operation} started");
    let lock = ctx
        .store
        .lock(stack, &LockHolder::this_process(operation, now))?;
    if let Some(stale) = &lock.stale {
        tracing::warn!(%stack, holder = %stale, "taking over a lock left by a process that died");
    }
    let state = match ctx.store.load(stack)? {
        Some(state) => state,
        None => fresh(now).ok_or_else(|| OperationError::NotFound(stack.to_string()))?,
    };
    if state.provider != ctx.cloud.provider() {
        return Err(OperationError::Conflict(format!(
            "stack {stack} lives in {}, not {}; {}",
            state.provider,
            ctx.cloud.provider(),
            match state.provider {
                Provider::Sandbox => "add --sandbox to work on it",
                Provider::Aws => "run without --sandbox to work on it",
            }
        )));
    }
    Ok(Session::new(state, sink, ctx.clock.clone(), Some(lock)))
}

/// Append the operation's audit line; a failure to audit is logged, not fatal.
fn audit<T>(
    ctx: &Context,
    operation: &str,
    stack: &StackName,
    start: Timestamp,
    result: &Result<T, OperationError>,
) {
    audit_because(ctx, operation, stack, start, result, None);
}

/// The audit line, with why the operation ran when it was not asked for.
fn audit_because<T>(
    ctx: &Context,
    operation: &str,
    stack: &StackName,
    start: Timestamp,
    result: &Result<T, OperationError>,
    reason: Option<&str>,
) {
    let (outcome, error) = match result {
        Ok(_) => (AuditResult::Succeeded, None),
        Err(e) if e.is_refusal() => (AuditResult::Refused, Some(e.to_string())),
        Err(e) => (AuditResult::Failed, Some(e.to_string())),
    };
    // The audit line's words (no secret is ever in an error), in the operation's span.
    match &error {
        None => tracing::info!(?outcome, "{operation} ended"),
        Some(error) => tracing::warn!(?outcome, %error, "{operation} ended"),
    }
    // This operation's stages as the state file ended them.
    let stages = ctx
        .store
        .load(stack)
        .ok()
        .flatten()
        .and_then(|s| s.operation)
        .filter(|op| op.started_at >= start)
        .map(|op| crate::store::audit::AuditStage::of(&op))
        .unwrap_or_default();
    let entry = AuditEntry {
        stages,
        operation: operation.to_string(),
        stack: stack.to_string(),
        provider: ctx.cloud.provider(),
        start,
        end: ctx.clock.now(),
        result: outcome,
        error,
        reason: reason.map(str::to_string),
        pid: std::process::id(),
    };
    if let Err(e) = ctx.store.audit(&entry) {
        tracing::error!(error = %e, "could not append to the audit log");
    }
}

/// What a rollback relaunches from (seed 001 §4.6), taken while healthy: the
/// configuration, network, storage and identity; not history (no services,
/// cost, rollbacks or operation).
pub fn healthy_snapshot(state: &DeploymentState) -> Option<serde_json::Value> {
    let mut snapshot = state.clone();
    snapshot.last_healthy_state = None;
    snapshot.operation = None;
    snapshot.services.clear();
    snapshot.health_history.clear();
    snapshot.rollback_history.clear();
    snapshot.cost = None;
    serde_json::to_value(snapshot).ok()
}
