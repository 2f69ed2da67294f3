//! A stack's record while an operation runs. Every change goes through
//! `record`, which persists before returning: a resource id reaches disk before
//! the next cloud call, so a crash at any point loses nothing (DESIGN.md).

use std::sync::Arc;

use crate::domain::cost;
use crate::domain::stage::{Operation, OperationKind, OperationResult, Stage, StageStatus};
use crate::domain::time::Clock;
use crate::domain::{DeploymentState, Timestamp};
use crate::store::{StackLock, Store, StoreError};

/// Where a session's changes go: disk, and whoever watches.
pub trait StateSink: Send {
    fn persist(&mut self, state: &DeploymentState) -> Result<(), StoreError>;
}

/// Persists to the store and publishes each saved state to watchers.
pub struct StoreSink {
    store: Store,
    watchers: tokio::sync::watch::Sender<Option<DeploymentState>>,
}

impl StoreSink {
    pub fn new(store: Store) -> (Self, tokio::sync::watch::Receiver<Option<DeploymentState>>) {
        let (watchers, rx) = tokio::sync::watch::channel(None);
        (Self { store, watchers }, rx)
    }
}

impl StateSink for StoreSink {
    fn persist(&mut self, state: &DeploymentState) -> Result<(), StoreError> {
        self.store.save(state)?;
        self.watchers.send_replace(Some(state.clone()));
        Ok(())
    }
}

/// Keeps states in memory: for tests.
#[derive(Default)]
pub struct MemorySink {
    pub saved: Arc<std::sync::Mutex<Vec<DeploymentState>>>,
}

impl StateSink for MemorySink {
    fn persist(&mut self, state: &DeploymentState) -> Result<(), StoreError> {
        if let Ok(mut saved) = self.saved.lock() {
            saved.push(state.clone());
        }
        Ok(())
    }
}

pub struct Session {
    state: DeploymentState,
    sink: Box<dyn StateSink>,
    clock: Arc<dyn Clock>,
    _lock: Option<StackLock>,
    /// The stage progress goes to while a background stage is finished:
    /// otherwise the last one started.
    focus: Option<Stage>,
}

impl Session {
    pub fn new(
        state: DeploymentState,
        sink: Box<dyn StateSink>,
        clock: Arc<dyn Clock>,
        lock: Option<StackLock>,
    ) -> Self {
        Self {
            state,
            sink,
            clock,
            _lock: lock,
            focus: None,
        }
    }

    /// Send progress to `stage` (a background one being finished), or
    /// (`None`) to the last one started again.
    pub fn focus(&mut self, stage: Option<Stage>) {
        self.focus = stage;
    }

    pub fn state(&self) -> &DeploymentState {
        &self.state
    }

    pub fn into_state(self) -> DeploymentState {
        self.state
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// Apply a change and persist it before returning.
    pub fn record(&mut self, change: impl FnOnce(&mut DeploymentState)) -> Result<(), StoreError> {
        change(&mut self.state);
        let now = self.clock.now();
        self.state.updated_at = Some(now);
        cost::refresh_recorded(&mut self.state, now);
        self.sink.persist(&self.state)
    }

    pub fn begin_operation(
        &mut self,
        kind: OperationKind,
        stages: &[Stage],
    ) -> Result<(), StoreError> {
        let now = self.now();
        self.record(|s| s.operation = Some(Operation::new(kind, now, stages)))
    }

    pub fn start_stage(&mut self, stage: Stage, expected_secs: f64) -> Result<(), StoreError> {
        let now = self.now();
        self.update_stage(stage, |r| {
            r.status = StageStatus::Running;
            r.started_at = Some(now);
            r.finished_at = None;
            r.detail = None;
            r.progress = None;
            r.expected_secs = Some(expected_secs);
        })
    }

    /// How far the running stage is: `fraction` in 0..=1 when known.
    pub fn progress(
        &mut self,
        fraction: Option<f64>,
        detail: impl Into<String>,
    ) -> Result<(), StoreError> {
        let detail = detail.into();
        let Some(stage) = self.focus.or_else(|| self.running_stage()) else {
            return Ok(());
        };
        self.update_stage(stage, |r| {
            r.progress = fraction.map(|f| f.clamp(0.0, 1.0));
            r.detail = Some(detail);
        })
    }

    pub fn finish_stage(
        &mut self,
        stage: Stage,
        status: StageStatus,
        detail: Option<String>,
    ) -> Result<(), StoreError> {
        let now = self.now();
        self.update_stage(stage, |r| {
            r.status = status;
            r.finished_at = Some(now);
            if r.started_at.is_none() {
                r.started_at = Some(now);
            }
            if status == StageStatus::Done {
                r.progress = Some(1.0);
            }
            if detail.is_some() {
                r.detail = detail;
            }
        })
    }

    pub fn finish_operation(
        &mut self,
        result: OperationResult,
        error: Option<String>,
    ) -> Result<(), StoreError> {
        let now = self.now();
        self.record(|s| {
            if let Some(op) = s.operation.as_mut() {
                op.finished_at = Some(now);
                op.result = Some(result);
                op.error = error;
            }
        })
    }

    /// How far `stage` said it is.
    pub fn stage_progress(&self, stage: Stage) -> Option<f64> {
        let op = self.state.operation.as_ref()?;
        op.stages.iter().find(|r| r.stage == stage)?.progress
    }

    pub fn running_stage(&self) -> Option<Stage> {
        self.state
            .operation
            .as_ref()
            .and_then(Operation::running_stage)
            .map(|r| r.stage)
    }

    fn update_stage(
        &mut self,
        stage: Stage,
        change: impl FnOnce(&mut crate::domain::stage::StageRecord),
    ) -> Result<(), StoreError> {
        self.record(|s| {
            if let Some(record) = s.operation.as_mut().and_then(|op| op.stage_mut(stage)) {
                change(record);
            }
        })
    }
}
