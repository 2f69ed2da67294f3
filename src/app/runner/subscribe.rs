//! The runner's subscriptions: the long-running tasks the model wants
//! (the store watcher, log tails, monitors), started and stopped to match.

use tokio::task::AbortHandle;

use super::Runner;
use super::tasks::{monitor, poll_store, tail_logs};
use crate::app::effect::{Subscription, Subscriptions};
use crate::domain::StackName;
use crate::monitor::watch::Watch;

impl Runner {
    /// Start wanted subscriptions that are not running; stop the others.
    pub fn sync(&mut self, wanted: &Subscriptions) {
        self.running.retain(|sub, handle| {
            let keep = wanted.contains(sub) && !handle.is_finished();
            if !keep {
                handle.abort();
            }
            keep
        });
        for sub in wanted {
            if self.running.contains_key(sub) {
                continue;
            }
            if let Some(handle) = self.start(sub) {
                self.running.insert(sub.clone(), handle);
            }
        }
    }

    fn start(&self, sub: &Subscription) -> Option<AbortHandle> {
        let tx = self.tx.clone();
        let store = self.store.clone();
        let task = match sub {
            Subscription::Store => tokio::spawn(poll_store(store, tx)),
            Subscription::Logs { stack } => {
                let clouds = self.clouds.clone()?;
                let region = self.region_of(stack);
                let pace = self.log_pace.subscribe();
                let stack = stack.clone();
                tokio::spawn(async move {
                    if let Ok(ctx) = clouds.in_region(&region).await {
                        tail_logs(ctx.cloud, store, stack, tx, pace).await;
                    }
                })
            }
            Subscription::Monitor { stack } => {
                let clouds = self.clouds.clone()?;
                let region = self.region_of(stack);
                let name = StackName::parse(stack).ok()?;
                let (policy, every) = (self.policy.clone(), self.health_interval);
                let notifier = self.notifier.clone();
                tokio::spawn(async move {
                    match clouds.in_region(&region).await {
                        Ok(ctx) => {
                            let watch = Watch::new(ctx, name, policy).with_notifier(notifier);
                            monitor(watch, every, tx).await
                        }
                        Err(e) => tracing::warn!(stack = %name, error = %e, "not monitored"),
                    }
                })
            }
        };
        Some(task.abort_handle())
    }
}
