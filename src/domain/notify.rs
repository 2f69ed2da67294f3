//! What the monitor tells the user when they are not watching: the events
//! of a sweep (a rollback, a finished spot recovery, a budget crossing 80%
//! or its stop, n8n unreachable from here) and the payload each webhook
//! format wants. Pure: the sending is `crate::notify`'s.

use serde::{Deserialize, Serialize};

use super::budget::{BudgetLevel, BudgetTold, month_start};
use super::state::DeploymentState;
use super::time::Timestamp;

/// The body a webhook wants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum NotifyFormat {
    /// `{"text": …}` (Slack's incoming webhooks, Mattermost, Teams' Workflows).
    #[default]
    Slack,
    /// `{"content": …}`.
    Discord,
    /// The event itself.
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum EventKind {
    DeploySucceeded,
    DeployFailed,
    UpdateSucceeded,
    UpdateReverted,
    UpdateFailed,
    Rollback,
    SpotRecovery,
    BudgetWarning,
    BudgetExceeded,
    Unreachable,
    Test,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotifyEvent {
    pub kind: EventKind,
    pub stack: String,
    pub at: Timestamp,
    /// One sentence: what happened and what it did.
    pub text: String,
}

impl EventKind {
    pub fn is_budget(self) -> bool {
        matches!(self, Self::BudgetWarning | Self::BudgetExceeded)
    }
}

impl NotifyEvent {
    pub fn new(kind: EventKind, stack: &str, at: Timestamp, text: impl Into<String>) -> Self {
        Self {
            kind,
            stack: stack.to_string(),
            at,
            text: text.into(),
        }
    }

    /// "geusemaker · demo: <text>", the line a chat shows.
    pub fn line(&self) -> String {
        format!("geusemaker · {}: {}", self.stack, self.text)
    }
}

pub fn payload(format: NotifyFormat, event: &NotifyEvent) -> serde_json::Value {
    match format {
        NotifyFormat::Slack => serde_json::json!({ "text": event.line() }),
        NotifyFormat::Discord => serde_json::json!({ "content": event.line() }),
        NotifyFormat::Json => serde_json::to_value(event).unwrap_or_default(),
    }
}

/// What one sweep did worth telling: `before` is the state it started
/// from, `after` the state it left, `action` the rollback or stop it made,
/// `unreachable` why n8n was not reachable from here when it was not.
pub fn of_sweep(
    before: &DeploymentState,
    after: &DeploymentState,
    action: Option<&str>,
    unreachable: Option<&str>,
    now: Timestamp,
) -> Vec<NotifyEvent> {
    let stack = after.stack_name.as_str();
    let event = |kind, text: String| NotifyEvent::new(kind, stack, now, text);
    let mut events = Vec::new();
    if after.rollback_history.len() > before.rollback_history.len()
        && let Some(r) = after.rollback_history.last()
    {
        let how = action.unwrap_or(if r.success { "done" } else { "failed" });
        events.push(event(
            EventKind::Rollback,
            format!("rolled back after {}: {how}", r.trigger),
        ));
    }
    for r in after.recoveries.iter().filter(|r| r.finished()) {
        let was_finished = before
            .recoveries
            .iter()
            .any(|b| b.lost_instance == r.lost_instance && b.finished());
        if !was_finished {
            events.push(event(EventKind::SpotRecovery, r.timeline()));
        }
    }
    if let Some(told) = budget_to_tell(after, now)
        && let Some(status) = &after.budget_status
    {
        let kind = if told.level == BudgetLevel::Exceeded {
            EventKind::BudgetExceeded
        } else {
            EventKind::BudgetWarning
        };
        events.push(event(kind, status.message.clone()));
    }
    let was_unreachable = before.outside.as_ref().is_some_and(|o| !o.reachable);
    if let Some(why) = unreachable
        && !was_unreachable
    {
        events.push(event(EventKind::Unreachable, why.to_string()));
    }
    events
}

/// The budget level to tell now: at 80% or over, and not yet told this
/// month at that level.
pub fn budget_to_tell(state: &DeploymentState, now: Timestamp) -> Option<BudgetTold> {
    let level = state.budget_status.as_ref()?.level;
    if level == BudgetLevel::Ok {
        return None;
    }
    let told = BudgetTold {
        level,
        month: month_start(now),
    };
    (state.budget_told != Some(told)).then_some(told)
}

/// `arn:aws:sns:REGION:ACCOUNT:NAME` (other partitions too): a topic name
/// is letters, digits, `-` and `_`, up to 256, `.fifo` for a FIFO topic.
/// Nothing else can reach the instance's scripts or its role's policy.
pub fn is_topic_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    let [arn_word, partition, "sns", region, account, name] = parts.as_slice() else {
        return false;
    };
    let name = name.strip_suffix(".fifo").unwrap_or(name);
    *arn_word == "arn"
        && partition.starts_with("aws")
        && partition
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-')
        && !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && (1..=256).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_topic_arn_is_a_topic() {
        for good in [
            "arn:aws:sns:us-east-1:123456789012:alerts",
            "arn:aws-us-gov:sns:us-gov-west-1:123456789012:a_b-c",
            "arn:aws:sns:eu-west-1:123456789012:orders.fifo",
        ] {
            assert!(is_topic_arn(good), "{good}");
        }
        for bad in [
            "",
            "arn:aws:sqs:us-east-1:123456789012:alerts",
            "arn:aws:sns:us-east-1:1234:alerts",
            "arn:aws:sns:us-east-1:123456789012:",
            "arn:aws:sns:us-east-1:123456789012:a b",
            "arn:aws:sns:us-east-1:123456789012:x$(reboot)",
            "arn:aws:sns:us-east-1:123456789012:a:b",
        ] {
            assert!(!is_topic_arn(bad), "{bad}");
        }
    }
    use crate::domain::budget::{BudgetAction, BudgetStatus};
    use crate::domain::recovery::Recovery;
    use crate::domain::state::{RollbackRecord, RollbackTrigger};
    use crate::domain::{Provider, Tier};

    fn now() -> Timestamp {
        "2026-12-04T03:00:00Z".parse().unwrap()
    }

    fn state() -> DeploymentState {
        DeploymentState::new("demo", Tier::Dev, "us-east-1", Provider::Sandbox, now())
    }

    fn budget(level: BudgetLevel) -> BudgetStatus {
        BudgetStatus {
            level,
            monthly_usd: 10.0,
            projected_monthly: 9.0,
            spent_this_month: 1.0,
            action: BudgetAction::Warn,
            message: "projected $9.00/month is 90% of the $10.00 budget".into(),
        }
    }

    #[test]
    fn each_format_has_its_own_body() {
        let e = NotifyEvent::new(EventKind::Rollback, "demo", now(), "rolled back");
        assert_eq!(
            payload(NotifyFormat::Slack, &e),
            serde_json::json!({"text": "geusemaker · demo: rolled back"})
        );
        assert_eq!(
            payload(NotifyFormat::Discord, &e),
            serde_json::json!({"content": "geusemaker · demo: rolled back"})
        );
        let json = payload(NotifyFormat::Json, &e);
        assert_eq!(json["kind"], "rollback");
        assert_eq!(json["stack"], "demo");
    }

    #[test]
    fn a_new_rollback_a_finished_recovery_and_a_budget_crossing_are_told_once() {
        let before = state();
        let mut after = state();
        after.rollback_history.push(RollbackRecord {
            timestamp: now(),
            trigger: RollbackTrigger::HealthCheckFailed,
            resources_deleted: Vec::new(),
            efs_preserved: true,
            success: true,
            error_message: None,
            finished_at: Some(now()),
            extra: Default::default(),
        });
        after.recoveries.push(Recovery {
            lost_instance: "i-old".into(),
            signal: "spot interruption".into(),
            signal_at: now(),
            replaced_by: Some("i-new".into()),
            launched_at: Some(now()),
            zone: None,
            in_service_at: Some(now().plus_secs(200.0)),
            down_secs: Some(200.0),
            drain: Default::default(),
        });
        after.budget_status = Some(budget(BudgetLevel::Warning));
        let events = of_sweep(&before, &after, Some("now on i-new"), None, now());
        let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::Rollback,
                EventKind::SpotRecovery,
                EventKind::BudgetWarning
            ]
        );
        assert!(events[0].text.contains("health_check_failed: now on i-new"));
        // The next sweep starts where this one ended, the level told.
        after.budget_told = budget_to_tell(&after, now());
        assert!(of_sweep(&after, &after, None, None, now()).is_empty());
        // A new month tells it again.
        let next_month = now().plus_secs(31.0 * 86_400.0);
        let again = of_sweep(&after, &after, None, None, next_month);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].kind, EventKind::BudgetWarning);
    }

    #[test]
    fn unreachable_is_told_when_it_starts() {
        let before = state();
        let events = of_sweep(&before, &before, None, Some("unreachable from here"), now());
        assert_eq!(events[0].kind, EventKind::Unreachable);
    }
}
