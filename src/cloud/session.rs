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
    /// When the settling stage's work was in fact done, if the cloud knows
    /// and it was before the pipeline looked (a background stage).
    done_at: Option<(Stage, Timestamp)>,
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
            done_at: None,
        }
    }

    /// Send progress to `stage` (a background one being finished), or
    /// (`None`) to the last one started again.
    pub fn focus(&mut self, stage: Option<Stage>) {
        self.focus = stage;
    }

    /// The work of the stage being settled was done at `at`, before now:
    /// its row shows its own duration, not the wait for the pipeline.
    pub fn done_at(&mut self, at: Timestamp) {
        self.done_at = self.focus.map(|stage| (stage, at));
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
        let done_at = match self.done_at {
            Some((of, at)) if of == stage => self.done_at.take().map(|_| at),
            _ => None,
        };
        self.update_stage(stage, |r| {
            r.status = status;
            let done = done_at.filter(|t| *t <= now && r.started_at.is_none_or(|s| s <= *t));
            r.finished_at = Some(done.unwrap_or(now));
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::domain::{OperationKind, Provider, Tier};

    #[derive(Debug)]
    struct SetClock(Mutex<Timestamp>);

    impl Clock for SetClock {
        fn now(&self) -> Timestamp {
            *self.0.lock().unwrap()
        }
    }

    fn finished(s: &Session, stage: Stage) -> Option<Timestamp> {
        let op = s.state().operation.as_ref()?;
        op.stages.iter().find(|r| r.stage == stage)?.finished_at
    }

    #[test]
    fn a_background_stage_ends_when_its_work_was_done_not_when_it_was_looked_at() {
        let t0: Timestamp = "2026-12-03T12:00:00Z".parse().unwrap();
        let clock = Arc::new(SetClock(Mutex::new(t0)));
        let state = DeploymentState::new("demo", Tier::Dev, "us-east-1", Provider::Sandbox, t0);
        let mut s = Session::new(state, Box::new(MemorySink::default()), clock.clone(), None);
        let stages = [Stage::Storage, Stage::Image, Stage::Instance];
        s.begin_operation(OperationKind::Deploy, &stages).unwrap();
        s.start_stage(Stage::Storage, 3.0).unwrap();
        s.start_stage(Stage::Image, 10.0).unwrap();
        *clock.0.lock().unwrap() = t0.plus_secs(20.0);
        // The storage was ready at 3 s; the pipeline settles the image first.
        s.focus(Some(Stage::Storage));
        s.done_at(t0.plus_secs(3.0));
        s.focus(None);
        s.finish_stage(Stage::Image, StageStatus::Done, None)
            .unwrap();
        assert_eq!(finished(&s, Stage::Image), Some(t0.plus_secs(20.0)));
        s.finish_stage(Stage::Storage, StageStatus::Done, None)
            .unwrap();
        assert_eq!(finished(&s, Stage::Storage), Some(t0.plus_secs(3.0)));
        // Said once: a later stage ends when it ends.
        s.start_stage(Stage::Instance, 1.0).unwrap();
        s.finish_stage(Stage::Instance, StageStatus::Done, None)
            .unwrap();
        assert_eq!(finished(&s, Stage::Instance), Some(t0.plus_secs(20.0)));
    }

    #[test]
    fn a_done_at_before_the_stage_started_or_after_now_is_ignored() {
        let t0: Timestamp = "2026-12-03T12:00:00Z".parse().unwrap();
        let clock = Arc::new(SetClock(Mutex::new(t0.plus_secs(5.0))));
        let state = DeploymentState::new("demo", Tier::Dev, "us-east-1", Provider::Sandbox, t0);
        let mut s = Session::new(state, Box::new(MemorySink::default()), clock.clone(), None);
        s.begin_operation(OperationKind::Deploy, &[Stage::Storage])
            .unwrap();
        s.start_stage(Stage::Storage, 3.0).unwrap();
        s.focus(Some(Stage::Storage));
        s.done_at(t0);
        s.finish_stage(Stage::Storage, StageStatus::Done, None)
            .unwrap();
        assert_eq!(finished(&s, Stage::Storage), Some(t0.plus_secs(5.0)));
        s.start_stage(Stage::Storage, 3.0).unwrap();
        s.done_at(t0.plus_secs(60.0));
        s.finish_stage(Stage::Storage, StageStatus::Done, None)
            .unwrap();
        assert_eq!(finished(&s, Stage::Storage), Some(t0.plus_secs(5.0)));
    }
}
