//! The effect runner: spawns the tasks `update` asks for and keeps the
//! subscriptions running. Tasks never touch the model; they send messages
//! through a bounded channel.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;

use super::clouds::{Clouds, Connect};
use super::effect::{Effect, Query, Subscription, Subscriptions};
use super::model::Offer;
use super::msg::{Found, Msg};
use super::subscriptions::LogPace;
use crate::cloud::sandbox::SandboxCloud;
use crate::cloud::session::{StateSink, StoreSink};
use crate::cloud::{Cloud, CloudError, DeployRequest, LogQuery};
use crate::deploy::{self, Context, OperationError};
use crate::domain::StackName;
use crate::domain::stage::OperationKind;
use crate::domain::state::RollbackTrigger;
use crate::domain::time::Clock;
use crate::domain::{DeploymentState, Provider};
use crate::monitor::log_cursor::LogCursor;
use crate::monitor::log_line;
use crate::monitor::policy::Policy;
use crate::monitor::watch::{Watch, WatchError};
use crate::runtime::ROLLBACK_TIMEOUT_MINUTES;
use crate::store::{ListingCache, Store};

const STORE_POLL: Duration = Duration::from_secs(1);
const LOG_POLL: Duration = Duration::from_secs(1);
const AWS_LOG_POLL: Duration = Duration::from_secs(5);
const FIRST_LOG_LINES: usize = 300;
/// The sandbox is for watching things happen: probe it often.
pub const SANDBOX_HEALTH_INTERVAL: Duration = Duration::from_secs(2);

pub struct Runner {
    tx: mpsc::Sender<Msg>,
    /// `None` when no cloud could be set up; operations then report why.
    clouds: Option<Clouds>,
    no_cloud_reason: String,
    sandbox: Option<Arc<SandboxCloud>>,
    store: Store,
    clock: Arc<dyn Clock>,
    health_interval: Duration,
    policy: Policy,
    running: HashMap<Subscription, AbortHandle>,
    home_region: String,
    /// How often the log tail reads; the event loop sets it from the model.
    log_pace: watch::Sender<LogPace>,
}

pub struct RunnerConfig {
    pub ctx: Result<Context, String>,
    /// The region `ctx` works in.
    pub region: String,
    /// How to reach another region; `None` serves every region from `ctx`.
    pub connect: Option<Connect>,
    pub sandbox: Option<Arc<SandboxCloud>>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub health_interval: Duration,
    pub policy: Policy,
}

impl Runner {
    pub fn new(tx: mpsc::Sender<Msg>, config: RunnerConfig) -> Self {
        let (clouds, no_cloud_reason) = match (config.ctx, config.connect) {
            (Ok(ctx), Some(connect)) => (
                Some(Clouds::per_region(ctx, &config.region, connect)),
                String::new(),
            ),
            (Ok(ctx), None) => (Some(Clouds::single(ctx, &config.region)), String::new()),
            (Err(why), _) => (None, why),
        };
        Self {
            tx,
            clouds,
            no_cloud_reason,
            sandbox: config.sandbox,
            store: config.store,
            clock: config.clock,
            health_interval: config.health_interval,
            policy: config.policy,
            running: HashMap::new(),
            home_region: config.region,
            log_pace: watch::channel(LogPace::Fast).0,
        }
    }

    pub fn pace_logs(&self, pace: LogPace) {
        self.log_pace.send_if_modified(|current| {
            let changed = *current != pace;
            *current = pace;
            changed
        });
    }

    pub fn perform(&mut self, effect: Effect) {
        let tx = self.tx.clone();
        match effect {
            Effect::Deploy(req) => {
                let stack = req.stack.to_string();
                let Some(clouds) = self.clouds.clone() else {
                    return self.refuse(stack, OperationKind::Deploy);
                };
                let offer = on_demand_offer(&req);
                run_operation(
                    self.store.clone(),
                    tx,
                    stack,
                    OperationKind::Deploy,
                    offer,
                    move |sink| async move {
                        let ctx = connected(&clouds, &req.region).await?;
                        deploy::deploy(&ctx, &req, sink).await.map(|s| {
                            let url = s.n8n_url.unwrap_or_default();
                            format!("{} is running: {url}", s.stack_name)
                        })
                    },
                );
            }
            Effect::Destroy { stack, delete_data } => {
                let Some(clouds) = self.clouds.clone() else {
                    return self.refuse(stack.to_string(), OperationKind::Destroy);
                };
                let region = self.region_of(stack.as_str());
                let name = stack.to_string();
                run_operation(
                    self.store.clone(),
                    tx,
                    name,
                    OperationKind::Destroy,
                    |_| None,
                    move |sink| async move {
                        let ctx = connected(&clouds, &region).await?;
                        let outcome = deploy::destroy(&ctx, &stack, delete_data, sink).await?;
                        Ok(match outcome.kept {
                            Some(k) => format!("{stack} destroyed; kept {}", k.describe()),
                            None => format!("{stack} and its data deleted"),
                        })
                    },
                );
            }
            Effect::InjectFault { stack, fault } => {
                let result = match &self.sandbox {
                    Some(sandbox) => sandbox.inject(&stack, fault).map_err(|e| e.to_string()),
                    None => Err("fault injection needs the sandbox".to_string()),
                };
                tokio::spawn(async move {
                    let _ = tx.send(Msg::FaultInjected { stack, result }).await;
                });
            }
            Effect::Rollback { stack } => {
                let Some(clouds) = self.clouds.clone() else {
                    return self.refuse(stack.to_string(), OperationKind::Rollback);
                };
                let region = self.region_of(stack.as_str());
                let name = stack.to_string();
                run_operation(
                    self.store.clone(),
                    tx,
                    name,
                    OperationKind::Rollback,
                    |_| None,
                    move |sink| async move {
                        let ctx = connected(&clouds, &region).await?;
                        let state = deploy::rollback(
                            &ctx,
                            &stack,
                            RollbackTrigger::Manual,
                            "requested from the dashboard",
                            sink,
                        )
                        .await?;
                        Ok(match state.instance_id {
                            Some(id) => format!("{stack} rolled back: now on {id}"),
                            None => format!(
                                "{stack} rolled back: {}",
                                state.status_reason.unwrap_or_default()
                            ),
                        })
                    },
                );
            }
            Effect::SaveLogs { stack, at, lines } => {
                let dir = self.store.logs_dir();
                tokio::task::spawn_blocking(move || {
                    let path = dir.join(format!("{stack}-{}.log", at.0.format("%Y%m%dT%H%M%S")));
                    let text = lines.join("\n") + "\n";
                    let msg = match crate::store::atomic::write_atomic(&path, text.as_bytes()) {
                        Ok(()) => Msg::Notice {
                            error: false,
                            text: format!("saved {} lines to {}", lines.len(), path.display()),
                        },
                        Err(e) => Msg::Notice {
                            error: true,
                            text: format!("could not save the logs to {}: {e}", path.display()),
                        },
                    };
                    let _ = tx.blocking_send(msg);
                });
            }
            Effect::CopyToClipboard(text) => {
                use base64::Engine;
                use std::io::Write;
                // OSC 52: the terminal (or tmux, or the SSH client's) sets the clipboard.
                let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
                let mut out = std::io::stdout();
                let copied = write!(out, "\x1b]52;c;{encoded}\x07").and_then(|()| out.flush());
                let msg = Msg::Notice {
                    error: copied.is_err(),
                    text: match copied {
                        Ok(()) => "copied the line (OSC 52)".to_string(),
                        Err(e) => format!("could not copy: {e}"),
                    },
                };
                tokio::spawn(async move {
                    let _ = tx.send(msg).await;
                });
            }
            Effect::Lookup(query) => {
                let clouds = self.clouds.clone();
                let no_cloud = self.no_cloud_reason.clone();
                tokio::spawn(async move {
                    let found = match clouds {
                        Some(clouds) => look_up(&clouds, query).await,
                        None => query.failed(no_cloud),
                    };
                    let _ = tx.send(Msg::Found(found)).await;
                });
            }
            Effect::UseSandbox => {
                let sandbox = Arc::new(SandboxCloud::new(
                    self.store.root(),
                    self.clock.clone(),
                    1.0,
                ));
                let cloud: Arc<dyn Cloud> = sandbox.clone();
                let ctx = Context {
                    cloud,
                    store: self.store.clone(),
                    clock: self.clock.clone(),
                    timing: deploy::Timing::for_provider(
                        Provider::Sandbox,
                        1.0,
                        ROLLBACK_TIMEOUT_MINUTES,
                    ),
                    auto_rollback: true,
                };
                self.clouds = Some(Clouds::single(ctx, ""));
                self.sandbox = Some(sandbox);
                self.health_interval = SANDBOX_HEALTH_INTERVAL;
            }
        }
    }

    /// The region a stack lives in, from its state (the home one if unknown).
    fn region_of(&self, stack: &str) -> String {
        match load(&self.store, stack) {
            Some(state) => state.region().to_string(),
            None => self.home_region.clone(),
        }
    }

    fn refuse(&self, stack: String, kind: OperationKind) {
        let tx = self.tx.clone();
        let result = Err(self.no_cloud_reason.clone());
        tokio::spawn(async move {
            let _ = tx
                .send(Msg::OperationFinished {
                    stack,
                    kind,
                    result,
                    offer: None,
                })
                .await;
        });
    }

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
                tokio::spawn(async move {
                    match clouds.in_region(&region).await {
                        Ok(ctx) => monitor(Watch::new(ctx, name, policy), every, tx).await,
                        Err(e) => tracing::warn!(stack = %name, error = %e, "not monitored"),
                    }
                })
            }
        };
        Some(task.abort_handle())
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        for handle in self.running.values() {
            handle.abort();
        }
    }
}

/// Run an operation in a task: each state it saves reaches the loop as
/// `StackChanged`, and its outcome as `OperationFinished`.
fn run_operation<F, Fut, O>(
    store: Store,
    tx: mpsc::Sender<Msg>,
    stack: String,
    kind: OperationKind,
    offer: O,
    operation: F,
) where
    F: FnOnce(Box<dyn StateSink>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<String, OperationError>> + Send,
    O: FnOnce(&OperationError) -> Option<Offer> + Send + 'static,
{
    tokio::spawn(async move {
        let (sink, rx) = StoreSink::new(store);
        let forward = tokio::spawn(forward_states(rx, tx.clone()));
        let outcome = operation(Box::new(sink)).await;
        let _ = forward.await;
        let offer = outcome.as_ref().err().and_then(offer);
        let result = outcome.map_err(|e| e.to_string());
        let _ = tx
            .send(Msg::OperationFinished {
                stack,
                kind,
                result,
                offer,
            })
            .await;
    });
}

/// Ask the region's cloud what the wizard wants to know.
async fn look_up(clouds: &Clouds, query: Query) -> Found {
    let cloud = match clouds.in_region(query.region()).await {
        Ok(ctx) => ctx.cloud,
        Err(why) => return query.failed(why),
    };
    let text = |e: crate::cloud::CloudError| e.to_string();
    match query {
        Query::Networks { region } => Found::Networks {
            result: cloud.discover_networks(&region).await.map_err(text),
            region,
        },
        Query::Prices {
            region,
            instance_type,
        } => Found::Prices {
            result: cloud.prices(&region, &instance_type).await.map_err(text),
            region,
            instance_type,
        },
        Query::CallerCidr { .. } => Found::CallerCidr {
            result: cloud.caller_cidr().await.map_err(text),
        },
        Query::GpuQuota {
            region,
            instance_type,
            spot,
        } => Found::GpuQuota {
            result: cloud.gpu_quota(&instance_type, spot).await.map_err(text),
            region,
            instance_type,
            spot,
        },
    }
}

/// The region's context, or why there is none (as the operation's failure).
async fn connected(clouds: &Clouds, region: &str) -> Result<Context, OperationError> {
    clouds
        .in_region(region)
        .await
        .map_err(OperationError::Conflict)
}

/// A spot deploy that found no capacity in any zone can go on-demand.
fn on_demand_offer(
    req: &DeployRequest,
) -> impl FnOnce(&OperationError) -> Option<Offer> + Send + 'static {
    let req = req.clone();
    move |e| match e {
        OperationError::Stage { source, .. }
            if req.spot && matches!(**source, CloudError::InsufficientCapacity { .. }) =>
        {
            let mut request = req;
            request.spot = false;
            Some(Offer::OnDemand {
                reason: e.to_string(),
                request: Box::new(request),
            })
        }
        _ => None,
    }
}

/// Each state an operation saves becomes a message (the latest wins).
async fn forward_states(mut rx: watch::Receiver<Option<DeploymentState>>, tx: mpsc::Sender<Msg>) {
    while rx.changed().await.is_ok() {
        let state = rx.borrow_and_update().clone();
        if let Some(state) = state
            && tx.send(Msg::StackChanged(Box::new(state))).await.is_err()
        {
            return;
        }
    }
}

async fn poll_store(store: Store, tx: mpsc::Sender<Msg>) {
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

async fn tail_logs(
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

fn load(store: &Store, stack: &str) -> Option<DeploymentState> {
    let name = crate::domain::StackName::parse(stack).ok()?;
    store.load(&name).ok().flatten()
}

/// Sweep the stack every interval until it is gone or nobody listens. A
/// slow sweep (or a rollback) delays the next one: sweeps never pile up.
async fn monitor(watch: Watch, every: Duration, tx: mpsc::Sender<Msg>) {
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
