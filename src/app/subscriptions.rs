//! Which background work the model wants: derived, never stored.

use super::effect::{Subscription, Subscriptions};
use super::model::Model;
use crate::domain::StackStatus;

/// The store is always watched; the selected stack's logs are tailed and,
/// once it runs, its services probed (the panes show the selected stack).
pub fn subscriptions(model: &Model) -> Subscriptions {
    let mut wanted = Subscriptions::from([Subscription::Store]);
    let Some(stack) = model.selected_stack() else {
        return wanted;
    };
    if !model.manages(stack) || stack.instance_id.is_none() {
        return wanted;
    }
    let name = stack.stack_name.clone();
    if matches!(stack.status, StackStatus::Running | StackStatus::Failed) {
        wanted.insert(Subscription::Health {
            stack: name.clone(),
        });
    }
    wanted.insert(Subscription::Logs { stack: name });
    wanted
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
    fn only_the_selected_running_stack_is_probed_and_tailed() {
        let subs = wanted(vec![
            stack("a1", StackStatus::Running, Provider::Sandbox),
            stack("b2", StackStatus::Running, Provider::Sandbox),
        ]);
        assert!(subs.contains(&Subscription::Health { stack: "a1".into() }));
        assert!(subs.contains(&Subscription::Logs { stack: "a1".into() }));
        assert!(!subs.contains(&Subscription::Health { stack: "b2".into() }));
        assert!(subs.contains(&Subscription::Store));
    }

    #[test]
    fn a_stack_of_another_cloud_is_never_probed() {
        let subs = wanted(vec![stack("a1", StackStatus::Running, Provider::Aws)]);
        assert_eq!(subs, Subscriptions::from([Subscription::Store]));
    }

    #[test]
    fn a_deploying_stack_is_tailed_but_not_probed_yet() {
        let subs = wanted(vec![stack("a1", StackStatus::Creating, Provider::Sandbox)]);
        assert!(subs.contains(&Subscription::Logs { stack: "a1".into() }));
        assert!(!subs.contains(&Subscription::Health { stack: "a1".into() }));
    }
}
