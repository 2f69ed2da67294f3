//! Watching one stack: each sweep checks both views of health (inside the
//! instance, which a rollback follows, and n8n from here), records what it
//! found, notices spot interruptions, and rolls the stack back when the
//! policy says so. The stack's lock decides who acts: a sweep that cannot
//! take it records nothing and leaves the acting to whoever holds it.

use serde::Serialize;

use crate::cloud::session::StoreSink;
use crate::cloud::{GroupView, SpotNotice};
use crate::deploy::{self, Context, OperationError, healthy_snapshot};
use crate::domain::budget::{self, BudgetAction, BudgetLevel, BudgetTold};
use crate::domain::state::{
    HealthSample, RollbackRecord, RollbackTrigger, ServiceHealth, ServiceStatus,
};
use crate::domain::{DeploymentState, StackName, StackStatus, Timestamp};
use crate::store::{LockHolder, StoreError};

use crate::domain::exposure::OutsideHealth;
use crate::health::check as health;
use crate::health::policy::{self, Policy, Verdict};

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("stack {0} is gone (destroyed with its data, or never deployed)")]
    Gone(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one sweep saw and did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepReport {
    pub at: Timestamp,
    pub stack: String,
    pub status: StackStatus,
    pub services: Vec<ServiceHealth>,
    /// "healthy", "degraded", "rollback", "stuck" or "skipped".
    pub verdict: &'static str,
    pub notes: Vec<String>,
    pub spot: Option<SpotNotice>,
    /// The load balancer's view of the instance, on tiers that have one.
    pub target_health: Option<String>,
    /// A rollback started by this sweep, and how it ended.
    pub action: Option<String>,
    /// n8n through the path its users take, from here.
    pub outside: Option<OutsideHealth>,
    /// The account budget's level at 80% or over, and what it says.
    pub account: Option<(BudgetLevel, String)>,
}

pub struct Watch {
    ctx: Context,
    stack: StackName,
    policy: Policy,
    notifier: Option<crate::notify::Notifier>,
}

impl Watch {
    pub fn new(ctx: Context, stack: StackName, policy: Policy) -> Self {
        Self {
            ctx,
            stack,
            policy,
            notifier: None,
        }
    }

    /// Tell `notifier` what each sweep did worth telling.
    pub fn with_notifier(mut self, notifier: Option<crate::notify::Notifier>) -> Self {
        self.notifier = notifier;
        self
    }

    pub fn stack(&self) -> &StackName {
        &self.stack
    }

    /// One sweep: what the group did, health, spot, budget, and any
    /// rollback; then what of it is worth telling, sent in the background.
    pub async fn sweep(&self) -> Result<SweepReport, WatchError> {
        let Some(notifier) = &self.notifier else {
            return self.sweep_once().await;
        };
        let before = self.ctx.store.load(&self.stack)?;
        let report = self.sweep_once().await?;
        if let (Some(before), Some(after)) = (before, self.ctx.store.load(&self.stack)?) {
            // Healthy inside and not reachable from here; n8n down is a rollback's.
            let unreachable = report
                .outside
                .as_ref()
                .filter(|o| !o.reachable && report.verdict == "unreachable");
            let unreachable = unreachable.map(|o| {
                o.error
                    .clone()
                    .unwrap_or_else(|| format!("n8n at {} is unreachable from here", o.url))
            });
            let mut events = crate::domain::notify::of_sweep(
                &before,
                &after,
                report.action.as_deref(),
                unreachable.as_deref(),
                report.at,
            );
            // Told once: only when it is remembered (the stack not busy).
            if let Some(told) = crate::domain::notify::budget_to_tell(&after, report.at)
                && !self.remember_budget_told(told)?
            {
                events.retain(|e| !e.kind.is_budget());
            }
            events.extend(self.account_event(&report)?);
            notifier.spawn(events);
        }
        Ok(report)
    }

    async fn sweep_once(&self) -> Result<SweepReport, WatchError> {
        let mut state = self
            .ctx
            .store
            .load(&self.stack)?
            .ok_or_else(|| WatchError::Gone(self.stack.to_string()))?;
        let policy = self.policy.for_stack(&state);
        let now = self.ctx.clock.now();
        // First what the group did (a replacement), then the health of the
        // instance it serves from now.
        let observed =
            super::observe::observe(&self.ctx.store, self.ctx.cloud.as_ref(), &state, now).await?;
        let mut group_notes = Vec::new();
        let mut fallback = None;
        let mut group_replacing = false;
        if let Some(seen) = observed {
            state = seen.state;
            group_notes = seen.notes;
            group_replacing = replacing(&seen.view, &state);
            fallback = self
                .fall_back_on_demand(&state, &seen.view, &mut group_notes)
                .await;
        }
        let mut report = SweepReport {
            at: now,
            stack: self.stack.to_string(),
            status: state.status,
            services: state.services.clone(),
            verdict: "skipped",
            notes: group_notes,
            spot: None,
            target_health: None,
            action: fallback,
            outside: None,
            account: None,
        };
        if state.status == StackStatus::RollingBack
            && self.ctx.store.lock_holder(&self.stack).is_none()
        {
            // A rollback that was cut short (its process died): finish it.
            let trigger = state
                .rollback_history
                .last()
                .map_or(RollbackTrigger::Manual, |r| r.trigger);
            report.action = Some(
                self.roll_back(trigger, "resuming a rollback that was cut short")
                    .await,
            );
            return Ok(report);
        }
        let watched = matches!(state.status, StackStatus::Running | StackStatus::Failed);
        if !watched || state.instance_id.is_none() {
            report
                .notes
                .push(format!("not watched while {}", state.status));
            return Ok(report);
        }

        let check = health::check(self.ctx.cloud.as_ref(), &state, now).await;
        let services = match &check.inside {
            Ok(samples) => {
                let mut services = policy::record_samples(&state.services, samples, now, false);
                crate::instance::inside::record_containers(&mut services, &check.containers);
                services
            }
            Err(why) => {
                // No inside view, no verdict: the outside alone never rolls back.
                report.notes.push(format!("inside view unavailable: {why}"));
                state.services.clone()
            }
        };
        if let Some(why) = check.unreachable_from_here() {
            report.notes.push(why);
        }
        report.outside = check.outside.clone();
        report.spot = if state.is_spot() {
            self.ctx
                .cloud
                .spot_notice(&state)
                .await
                .unwrap_or_else(|e| {
                    report.notes.push(format!("spot status unknown: {e}"));
                    None
                })
        } else {
            None
        };
        if state.alb_arn.is_some() {
            report.target_health = self
                .ctx
                .cloud
                .target_health(&state)
                .await
                .unwrap_or_else(|e| {
                    report.notes.push(format!("target health unknown: {e}"));
                    None
                });
        }
        report.services = services.clone();
        let inside = check.inside.is_ok().then_some(services.as_slice());
        let Some(recorded) = self.record(&state, inside, &report, now)? else {
            report
                .notes
                .push("the stack changed or is busy elsewhere: nothing recorded".into());
            return Ok(report);
        };
        if let Some(budget) = budget::check(&recorded, now) {
            if budget.level != BudgetLevel::Ok {
                report.notes.push(budget.message.clone());
            }
            if budget.level == BudgetLevel::Exceeded
                && budget.action == BudgetAction::Stop
                && !self.policy.observe_only
            {
                report.verdict = "over_budget";
                report.action = Some(self.stop(&budget.message).await);
                return Ok(report);
            }
        }
        if let Some(stopped) = self.account_budget(&recorded, &mut report, now).await {
            report.verdict = "over_account_budget";
            report.action = Some(stopped);
            return Ok(report);
        }
        let verdict = if check.inside.is_ok() {
            policy::evaluate(&services, &recorded.rollback_history, &policy, now)
        } else {
            Verdict::Degraded(Vec::new())
        };
        if let Verdict::Stuck(why) = &verdict {
            self.set_reason(why)?;
        }
        match verdict {
            Verdict::Healthy if check.unreachable_from_here().is_some() => {
                report.verdict = "unreachable";
            }
            Verdict::Healthy => report.verdict = "healthy",
            Verdict::Degraded(notes) => {
                report.verdict = "degraded";
                report.notes.extend(notes);
            }
            Verdict::Stuck(why) => {
                report.verdict = "stuck";
                report.notes.push(why);
            }
            Verdict::RollBack { service, failures } => {
                report.verdict = "rollback";
                let reason = format!("{service} failed {failures} health checks in a row");
                if group_replacing {
                    report
                        .notes
                        .push(format!("{reason}; its group is replacing the instance"));
                } else if report.spot.is_none() {
                    report.action = Some(
                        self.roll_back(RollbackTrigger::HealthCheckFailed, &reason)
                            .await,
                    );
                }
            }
        }
        // A group replaces an interrupted instance by itself: nothing to do.
        if let Some(notice) = &report.spot
            && state.autoscaling_group_name.is_some()
        {
            report.notes.push(format!(
                "{} is being taken back by AWS; its group launches a replacement",
                notice.instance_id
            ));
        } else if let Some(notice) = &report.spot
            && policy.auto_rollback
            && report.action.is_none()
        {
            let reason = format!(
                "spot interruption of {} ({})",
                notice.instance_id, notice.detail
            );
            report.action = Some(
                self.roll_back(RollbackTrigger::SpotInterruption, &reason)
                    .await,
            );
        }
        Ok(report)
    }

    /// Write the sweep into the state under the stack's lock, and return the
    /// state written. `None` when someone else holds the lock (a deploy, a
    /// rollback, another monitor's write) or the stack changed since it was
    /// probed (another instance now): such a sweep is stale.
    fn record(
        &self,
        probed: &DeploymentState,
        inside: Option<&[ServiceHealth]>,
        report: &SweepReport,
        now: Timestamp,
    ) -> Result<Option<DeploymentState>, WatchError> {
        let spot = report.spot.as_ref();
        let holder = LockHolder::this_process("monitor", now);
        let _lock = match self.ctx.store.lock(&self.stack, &holder) {
            Ok(lock) => lock,
            Err(StoreError::Lock(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(mut state) = self.ctx.store.load(&self.stack)? else {
            return Err(WatchError::Gone(self.stack.to_string()));
        };
        let watched = matches!(state.status, StackStatus::Running | StackStatus::Failed);
        if !watched || state.instance_id != probed.instance_id {
            return Ok(None);
        }
        if report.outside.is_some() {
            state.outside = report.outside.clone();
        }
        // Nothing seen inside: the services stay as last seen, no sample.
        if let Some(services) = inside {
            state.services = services.to_vec();
            state.push_health(HealthSample::of(services, now));
        }
        if report.target_health.is_some() {
            state.alb_target_health = report.target_health.clone();
        }
        state.updated_at = Some(now);
        let all_healthy = inside
            .is_some_and(|services| services.iter().all(|h| h.status == ServiceStatus::Healthy));
        if all_healthy {
            // Healthy again (after being given up on, say): running it is,
            // if it has everything a running stack of its tier needs (a
            // deploy that failed before its load balancer is still failed).
            let was = state.status;
            state.status = StackStatus::Running;
            if state.integrity_violations().is_empty() {
                state.status_reason = None;
                state.last_healthy_state = healthy_snapshot(&state);
            } else {
                state.status = was;
            }
        }
        if let Some(notice) = spot
            && state.autoscaling_group_name.is_none()
            && !self.policy.for_stack(&state).auto_rollback
            && !already_recorded(&state.rollback_history, notice)
        {
            // No relaunch without auto-rollback: the notice is still recorded.
            state.rollback_history.push(RollbackRecord {
                timestamp: now,
                trigger: RollbackTrigger::SpotInterruption,
                resources_deleted: vec![notice.instance_id.clone()],
                efs_preserved: true,
                success: false,
                error_message: Some(format!(
                    "{}: not relaunched (auto_rollback_on_failure is off)",
                    notice.detail
                )),
                finished_at: Some(now),
                extra: Default::default(),
            });
        }
        crate::domain::cost::refresh_recorded(&mut state, now);
        self.ctx.store.save(&state)?;
        Ok(Some(state))
    }

    /// Record the budget level told, so the next sweep (or monitor) does not
    /// tell it again; a busy stack is left for the next sweep.
    fn remember_budget_told(&self, told: BudgetTold) -> Result<bool, WatchError> {
        self.edit_locked(|state| {
            state.budget_told = Some(told);
            true
        })
    }

    /// The monitor will not act: the stack is `failed`, and says why and
    /// what to do. It is still watched, and running again once healthy.
    fn set_reason(&self, why: &str) -> Result<(), WatchError> {
        let now = self.ctx.clock.now();
        self.edit_locked(|state| {
            if state.status_reason.as_deref() == Some(why) && state.status == StackStatus::Failed {
                return false;
            }
            state.status = StackStatus::Failed;
            state.status_reason = Some(why.to_string());
            state.updated_at = Some(now);
            true
        })?;
        Ok(())
    }

    /// Change the stack's state under its lock, saving it when `change` says
    /// it changed; `false` when the stack was busy or gone.
    fn edit_locked(
        &self,
        change: impl FnOnce(&mut DeploymentState) -> bool,
    ) -> Result<bool, WatchError> {
        let now = self.ctx.clock.now();
        let Ok(_lock) = self
            .ctx
            .store
            .lock(&self.stack, &LockHolder::this_process("monitor", now))
        else {
            return Ok(false);
        };
        let Some(mut state) = self.ctx.store.load(&self.stack)? else {
            return Ok(false);
        };
        if change(&mut state) {
            self.ctx.store.save(&state)?;
        }
        Ok(true)
    }

    /// No spot capacity: with the stack's leave (`--fallback-on-demand`),
    /// the group launches on-demand until the next deploy; without, a note
    /// says how to allow it. AWS has no such fallback of its own.
    async fn fall_back_on_demand(
        &self,
        state: &DeploymentState,
        view: &GroupView,
        notes: &mut Vec<String>,
    ) -> Option<String> {
        let message = view.spot_capacity_out()?;
        let allowed = state.config.as_ref().and_then(|c| c.fallback_on_demand);
        if allowed != Some(true) {
            notes.push(format!(
                "no spot capacity ({message}); the group keeps trying spot. `deploy {} \
                 --fallback-on-demand` lets the monitor move it to on-demand",
                state.stack_name
            ));
            return None;
        }
        Some(match self.ctx.cloud.launch_on_demand(state).await {
            Ok(()) => format!(
                "no spot capacity ({message}): the group launches on-demand until the next deploy"
            ),
            Err(e) => format!("no spot capacity; moving the group to on-demand failed: {e}"),
        })
    }

    /// The account budget over every stack in the store. Each stack's
    /// monitor stops only its own, so monitors of several stacks agree
    /// without talking: they all pick the same stacks.
    async fn account_budget(
        &self,
        state: &DeploymentState,
        report: &mut SweepReport,
        now: Timestamp,
    ) -> Option<String> {
        let limit = self.policy.account_budget_usd?;
        let stacks = match self.ctx.store.list() {
            Ok(listing) => listing.stacks,
            Err(e) => {
                report.notes.push(format!("account budget unknown: {e}"));
                return None;
            }
        };
        let account = budget::account(&stacks, limit, now);
        if account.level != BudgetLevel::Ok {
            report.notes.push(account.message.clone());
            report.account = Some((account.level, account.message.clone()));
        }
        let ours = account.to_stop.contains(&state.stack_name);
        if !ours || self.policy.observe_only {
            return None;
        }
        Some(self.stop(&account.message).await)
    }

    /// The account budget's crossing, told once a month a level by
    /// whichever stack's monitor claims it first (every monitor sees it).
    fn account_event(
        &self,
        report: &SweepReport,
    ) -> Result<Option<crate::domain::notify::NotifyEvent>, WatchError> {
        use crate::domain::notify::{EventKind, NotifyEvent};
        let Some((level, message)) = &report.account else {
            return Ok(None);
        };
        let month = budget::month_start(report.at).0.format("%Y-%m");
        if !self
            .ctx
            .store
            .claim_once(&format!("account-budget-{month}-{level}"))?
        {
            return Ok(None);
        }
        let kind = match level {
            BudgetLevel::Exceeded => EventKind::BudgetExceeded,
            _ => EventKind::BudgetWarning,
        };
        let text = match (&report.action, report.verdict) {
            (Some(done), "over_account_budget") => format!("{message}; {}: {done}", report.stack),
            _ => message.clone(),
        };
        Ok(Some(NotifyEvent::new(kind, "all stacks", report.at, text)))
    }

    async fn stop(&self, reason: &str) -> String {
        let (sink, _rx) = StoreSink::new(self.ctx.store.clone());
        match deploy::stop(&self.ctx, &self.stack, reason, Box::new(sink)).await {
            Ok(_) => format!("stopped: {reason}"),
            Err(OperationError::Store(StoreError::Lock(held))) => format!("not stopping: {held}"),
            Err(e) => format!("stop failed: {e}"),
        }
    }

    async fn roll_back(&self, trigger: RollbackTrigger, reason: &str) -> String {
        let (sink, _rx) = StoreSink::new(self.ctx.store.clone());
        match deploy::rollback(&self.ctx, &self.stack, trigger, reason, Box::new(sink)).await {
            Ok(state) => {
                let last = state.rollback_history.last();
                let new = state.instance_id.as_deref().unwrap_or("no instance");
                match last.map(|r| r.success) {
                    Some(true) if state.status == StackStatus::Running => {
                        format!("rolled back ({trigger}): now on {new}")
                    }
                    _ => format!(
                        "rolled back ({trigger}): {}",
                        state
                            .status_reason
                            .as_deref()
                            .unwrap_or("the stack is failed, its EFS kept")
                    ),
                }
            }
            Err(OperationError::Store(StoreError::Lock(held))) => {
                format!("not rolling back: {held}")
            }
            Err(e) => format!("rollback ({trigger}) failed: {e}"),
        }
    }
}

fn already_recorded(history: &[RollbackRecord], notice: &SpotNotice) -> bool {
    history.iter().any(|r| {
        r.trigger == RollbackTrigger::SpotInterruption
            && r.resources_deleted.contains(&notice.instance_id)
    })
}

/// Whether the group is replacing the stack's instance (marked unhealthy,
/// on its way out, or nothing serving): then no rollback of ours.
fn replacing(view: &GroupView, state: &DeploymentState) -> bool {
    let ours = view
        .instances
        .iter()
        .find(|i| Some(&i.instance_id) == state.instance_id.as_ref());
    view.desired > 0
        && (view.serving().is_none()
            || ours
                .is_none_or(|i| !i.healthy || i.lifecycle_state != crate::cloud::group::IN_SERVICE))
}

/// Whether the stack's spot instances keep being interrupted (twice in a
/// day): then on-demand is worth its price.
pub fn suggest_on_demand(state: &DeploymentState, now: Timestamp) -> bool {
    state
        .rollback_history
        .iter()
        .filter(|r| {
            r.trigger == RollbackTrigger::SpotInterruption && r.timestamp.secs_until(now) < 86_400.0
        })
        .count()
        >= 2
}
