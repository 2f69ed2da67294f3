//! Which background work the model wants: derived, never stored.

use super::effect::{Subscription, Subscriptions};
use super::model::Model;
use crate::domain::StackStatus;

/// Running stacks the dashboard monitors at most (the selected one first);
/// `geusemaker-tui monitor STACK` watches any other.
pub const MONITORED_MAX: usize = 50;

/// How often the selected stack's logs are read: often while the user
/// follows them on screen; seldom while paused or hidden (a dialog over
/// the pane, a terminal too small to show it). On AWS each read is an SSM command.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogPace {
    #[default]
    Fast,
    Slow,
}

impl LogPace {
    /// The multiple of the provider's poll interval.
    pub fn factor(self) -> u32 {
        match self {
            LogPace::Fast => 1,
            LogPace::Slow => 6,
        }
    }
}

pub fn log_pace(model: &Model) -> LogPace {
    let shown = model.overlay.is_none()
        && model.width >= crate::ui::layout::MIN_WIDTH
        && model.height >= crate::ui::layout::MIN_HEIGHT;
    if shown && model.logs.follow {
        LogPace::Fast
    } else {
        LogPace::Slow
    }
}

/// The store is always watched; the selected stack's logs are tailed; running
/// stacks of this cloud are monitored (probed, recorded, healed).
pub fn subscriptions(model: &Model) -> Subscriptions {
    let mut wanted = Subscriptions::from([Subscription::Store]);
    let selected = model.selected_stack();
    if let Some(stack) = selected
        && model.manages(stack)
        && stack.instance_id.is_some()
    {
        wanted.insert(Subscription::Logs {
            stack: stack.stack_name.clone(),
        });
    }
    let watched = selected
        .into_iter()
        .chain(model.stacks.iter())
        .filter(|s| model.manages(s) && is_watched(s))
        .map(|s| s.stack_name.clone());
    let mut monitored = 0;
    for stack in watched {
        if monitored == MONITORED_MAX {
            break;
        }
        if wanted.insert(Subscription::Monitor { stack }) {
            monitored += 1;
        }
    }
    wanted
}

/// Stacks a monitor looks after: running ones, failed ones that still have an
/// instance (they may recover), and rollbacks that may need finishing.
fn is_watched(stack: &crate::domain::DeploymentState) -> bool {
    match stack.status {
        StackStatus::Running | StackStatus::Failed => stack.instance_id.is_some(),
        StackStatus::RollingBack => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::msg::Msg;
    use crate::app::update::update;
    use crate::domain::{DeploymentState, Provider, Tier, Timestamp};

    fn stack(name: &str, status: StackStatus, provider: Provider) -> DeploymentState {
        let mut s = DeploymentState::new(
            name,
            Tier::Dev,
            "us-east-1",
            provider,
            Timestamp::from_unix_millis(0),
        );
        s.status = status;
        s.instance_id = Some("i-1".into());
        s
    }

    fn wanted(stacks: Vec<DeploymentState>) -> Subscriptions {
        let mut m = Model::new(
            Provider::Sandbox,
            "us-east-1".into(),
            Timestamp::from_unix_millis(0),
        );
        update(
            &mut m,
            Msg::StacksLoaded {
                stacks,
                problems: vec![],
            },
        );
        subscriptions(&m)
    }

    #[test]
    fn running_stacks_are_monitored_and_the_selected_one_tailed() {
        let subs = wanted(vec![
            stack("a1", StackStatus::Running, Provider::Sandbox),
            stack("b2", StackStatus::Running, Provider::Sandbox),
            stack("c3", StackStatus::Destroyed, Provider::Sandbox),
        ]);
        assert!(subs.contains(&Subscription::Monitor { stack: "a1".into() }));
        assert!(subs.contains(&Subscription::Monitor { stack: "b2".into() }));
        assert!(!subs.contains(&Subscription::Monitor { stack: "c3".into() }));
        assert!(subs.contains(&Subscription::Logs { stack: "a1".into() }));
        assert!(!subs.contains(&Subscription::Logs { stack: "b2".into() }));
        assert!(subs.contains(&Subscription::Store));
    }

    #[test]
    fn at_most_so_many_stacks_are_monitored() {
        let stacks = (0..MONITORED_MAX + 10)
            .map(|i| stack(&format!("s{i:03}"), StackStatus::Running, Provider::Sandbox))
            .collect();
        let subs = wanted(stacks);
        let monitored = subs
            .iter()
            .filter(|s| matches!(s, Subscription::Monitor { .. }))
            .count();
        assert_eq!(monitored, MONITORED_MAX);
        assert!(
            subs.contains(&Subscription::Monitor {
                stack: "s000".into()
            }),
            "the selected one"
        );
    }

    #[test]
    fn a_stack_of_another_cloud_is_never_probed() {
        let subs = wanted(vec![stack("a1", StackStatus::Running, Provider::Aws)]);
        assert_eq!(subs, Subscriptions::from([Subscription::Store]));
    }

    #[test]
    fn logs_are_read_often_only_while_followed_on_screen() {
        let mut m = Model::new(
            Provider::Sandbox,
            "us-east-1".into(),
            Timestamp::from_unix_millis(0),
        );
        m.width = 100;
        m.height = 30;
        assert_eq!(log_pace(&m), LogPace::Fast);
        m.logs.follow = false;
        assert_eq!(log_pace(&m), LogPace::Slow, "paused");
        m.logs.follow = true;
        m.overlay = Some(crate::app::model::Overlay::Help);
        assert_eq!(log_pace(&m), LogPace::Slow, "covered");
        m.overlay = None;
        m.width = 60;
        assert_eq!(log_pace(&m), LogPace::Slow, "too small to show");
    }

    #[test]
    fn a_deploying_stack_is_tailed_but_not_monitored_yet() {
        let subs = wanted(vec![stack("a1", StackStatus::Creating, Provider::Sandbox)]);
        assert!(subs.contains(&Subscription::Logs { stack: "a1".into() }));
        assert!(!subs.contains(&Subscription::Monitor { stack: "a1".into() }));
    }
}
