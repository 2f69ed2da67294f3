//! The runner's long-running tasks: they read the store or the cloud and
//! report through the loop's channel; none touches the model.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::super::msg::Msg;
use super::super::subscriptions::LogPace;
use crate::cloud::log_cursor::LogCursor;
use crate::cloud::{Cloud, LogQuery};
use crate::domain::{DeploymentState, Provider};
use crate::instance::log_line;
use crate::monitor::watch::{Watch, WatchError};
use crate::store::{ListingCache, Store};

const STORE_POLL: Duration = Duration::from_secs(1);
const LOG_POLL: Duration = Duration::from_secs(1);
const AWS_LOG_POLL: Duration = Duration::from_secs(5);
const FIRST_LOG_LINES: usize = 300;

/// Each state an operation saves becomes a message (the latest wins).
pub(super) async fn forward_states(
    mut rx: watch::Receiver<Option<DeploymentState>>,
    tx: mpsc::Sender<Msg>,
) {
    while rx.changed().await.is_ok() {
        let state = rx.borrow_and_update().clone();
        if let Some(state) = state
            && tx.send(Msg::StackChanged(Box::new(state))).await.is_err()
        {
            return;
        }
    }
}

pub(super) async fn poll_store(store: Store, tx: mpsc::Sender<Msg>) {
    let mut cache = ListingCache::new(store);
    loop {
        let joined = tokio::task::spawn_blocking(move || {
            let r = cache.refresh();
            (cache, r)
        })
        .await;
        let Ok((returned, refreshed)) = joined else {
            tracing::error!("reading the state directory failed; stopped watching it");
            return;
        };
        cache = returned;
        let msg = match refreshed {
            Ok(Some(listing)) => {
                let mut problems: Vec<String> = listing
                    .quarantined
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                problems.extend(
                    listing
                        .unreadable
                        .iter()
                        .map(|(p, why)| format!("could not read {p:?}: {why}")),
                );
                Some(Msg::StacksLoaded {
                    stacks: listing.stacks,
                    problems,
                })
            }
            Ok(None) => None,
            Err(e) => Some(Msg::StacksLoaded {
                stacks: Vec::new(),
                problems: vec![e.to_string()],
            }),
        };
        if let Some(msg) = msg
            && tx.send(msg).await.is_err()
        {
            return;
        }
        tokio::time::sleep(STORE_POLL).await;
    }
}

pub(super) async fn tail_logs(
    cloud: Arc<dyn Cloud>,
    store: Store,
    stack: String,
    tx: mpsc::Sender<Msg>,
    mut pace: watch::Receiver<LogPace>,
) {
    // On AWS every read is an SSM command: gentler than the sandbox's files.
    let every = match cloud.provider() {
        Provider::Sandbox => LOG_POLL,
        Provider::Aws => AWS_LOG_POLL,
    };
    let mut query = LogQuery {
        since: None,
        tail: Some(FIRST_LOG_LINES),
        service: None,
    };
    let mut cursor = LogCursor::default();
    loop {
        // Read again each round: a relaunch changes the instance.
        let Some(state) = load(&store, &stack) else {
            return;
        };
        if let Ok(raw) = cloud.read_logs(&state, &query).await {
            let lines: Vec<_> = cursor
                .admit(raw)
                .iter()
                .map(|l| log_line::parse(l))
                .collect();
            if let Some(since) = cursor.since() {
                query.since = Some(since);
                query.tail = None;
            }
            if !lines.is_empty() {
                let msg = Msg::LogLines {
                    stack: stack.clone(),
                    lines,
                };
                if tx.send(msg).await.is_err() {
                    return;
                }
            }
        }
        let wait = every * pace.borrow_and_update().factor();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            // Followed again: read now rather than at the end of a slow wait.
            changed = pace.changed() => {
                if changed.is_err() {
                    return; // the runner is gone
                }
            }
        }
    }
}

pub(super) fn load(store: &Store, stack: &str) -> Option<DeploymentState> {
    let name = crate::domain::StackName::parse(stack).ok()?;
    store.load(&name).ok().flatten()
}

/// Sweep the stack every interval until it is gone or nobody listens. A
/// slow sweep (or a rollback) delays the next one: sweeps never pile up.
pub(super) async fn monitor(watch: Watch, every: Duration, tx: mpsc::Sender<Msg>) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match watch.sweep().await {
            Ok(report) => {
                if tx.send(Msg::Swept(Box::new(report))).await.is_err() {
                    return;
                }
            }
            Err(WatchError::Gone(_)) => return,
            Err(e) => tracing::warn!(stack = %watch.stack(), error = %e, "monitor sweep failed"),
        }
    }
}
