//! Which background work the model wants: derived, never stored.

use super::effect::{Subscription, Subscriptions};
use super::model::Model;
use crate::domain::StackStatus;

pub fn subscriptions(model: &Model) -> Subscriptions {
    let mut wanted = Subscriptions::from([Subscription::Store]);
    if let Some(stack) = model.selected_stack()
        && model.manages(stack)
        && stack.instance_id.is_some()
    {
        wanted.insert(Subscription::Logs {
            stack: stack.stack_name.clone(),
        });
    }
    for stack in &model.stacks {
        let probe = model.manages(stack)
            && stack.instance_id.is_some()
            && matches!(stack.status, StackStatus::Running | StackStatus::Failed);
        if probe {
            wanted.insert(Subscription::Health {
                stack: stack.stack_name.clone(),
            });
        }
    }
    wanted
}
