//! The effect runner: spawns the tasks `update` asks for and keeps the
//! subscriptions running. Tasks never touch the model; they send messages
//! through a bounded channel.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;

mod access;
mod local;
mod requests;
mod scan;
mod subscribe;
mod tasks;
#[cfg(test)]
mod tests;

pub use self::access::{TerminalOut, stdout_terminal};
pub use self::requests::DeployDefaults;
use self::requests::on_demand_offer;
use self::tasks::{forward_states, load};
use super::clouds::{Clouds, Connect};
use super::effect::{Effect, Subscription};
use super::model::Offer;
use super::msg::Msg;
use super::subscriptions::LogPace;
use crate::cloud::Cloud;
use crate::cloud::sandbox::SandboxCloud;
use crate::cloud::session::{StateSink, StoreSink};
use crate::deploy::{self, Context, OperationError};
use crate::domain::Provider;
use crate::domain::StackName;
use crate::domain::stage::OperationKind;
use crate::domain::state::RollbackTrigger;
use crate::domain::time::Clock;
use crate::health::policy::Policy;
use crate::runtime::ROLLBACK_TIMEOUT_MINUTES;
use crate::store::Store;

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
    notifier: Option<crate::notify::Notifier>,
    deploy_defaults: DeployDefaults,
    running: HashMap<Subscription, AbortHandle>,
    home_region: String,
    /// How often the log tail reads; the event loop sets it from the model.
    log_pace: watch::Sender<LogPace>,
    /// Where clipboard sequences go (stdout unless a test says otherwise).
    terminal: TerminalOut,
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
    /// Where the monitors tell what they did (settings' `notify`).
    pub notifier: Option<crate::notify::Notifier>,
    /// What a deploy from the wizard takes from the settings.
    pub deploy_defaults: DeployDefaults,
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
            notifier: config.notifier,
            deploy_defaults: config.deploy_defaults,
            running: HashMap::new(),
            home_region: config.region,
            log_pace: watch::channel(LogPace::Fast).0,
            terminal: stdout_terminal(),
        }
    }

    /// Write terminal sequences (OSC 52) to `out` instead of stdout.
    pub fn with_terminal(mut self, out: TerminalOut) -> Self {
        self.terminal = out;
        self
    }

    fn scan_work(&self, all_regions: bool) -> scan::ScanWork {
        scan::ScanWork {
            all_regions,
            clouds: self
                .clouds
                .clone()
                .ok_or_else(|| self.no_cloud_reason.clone()),
            store: self.store.clone(),
            clock: self.clock.clone(),
            home_region: self.home_region.clone(),
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
                let req = self.deploy_defaults.fill(req);
                let (stack, region) = (req.stack.to_string(), req.region.clone());
                let offer = on_demand_offer(&req);
                let told = self.teller(OperationKind::Deploy);
                self.operate(
                    stack,
                    region,
                    OperationKind::Deploy,
                    offer,
                    |ctx, sink| async move {
                        let result = deploy::deploy(&ctx, &req, sink).await;
                        told(&req.stack, &result);
                        result.map(|s| {
                            let url = s.n8n_url.clone().unwrap_or_default();
                            let sign_in = crate::domain::exposure::sign_in(&s);
                            format!("{} is running: {url} ({sign_in})", s.stack_name)
                        })
                    },
                );
            }
            Effect::Destroy { stack, delete_data } => {
                let region = self.region_of(stack.as_str());
                let kind = OperationKind::Destroy;
                self.operate(
                    stack.to_string(),
                    region,
                    kind,
                    |_| None,
                    move |ctx, sink| async move {
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
            Effect::PlanUpdate(req) => {
                let (clouds, store) = (self.clouds.clone(), self.store.clone());
                let no_cloud = self.no_cloud_reason.clone();
                tokio::spawn(async move {
                    let stack = req.stack.to_string();
                    let result = access::plan_update(clouds, no_cloud, store, &req).await;
                    let _ = tx.send(Msg::UpdatePlanned { stack, result }).await;
                });
            }
            Effect::Update(req) => {
                let (stack, region) = (req.stack.to_string(), req.region.clone());
                let told = self.teller(OperationKind::Update);
                self.operate(
                    stack,
                    region,
                    OperationKind::Update,
                    |_| None,
                    |ctx, sink| async move {
                        let result = deploy::update::update(&ctx, &req, sink).await;
                        told(&req.stack, &result);
                        let s = result?;
                        let gap = s.switches.last().and_then(|w| w.gap_secs());
                        let gap = gap
                            .map(|g| {
                                let g = crate::domain::time::format_elapsed(g);
                                format!("; n8n was down for {g}")
                            })
                            .unwrap_or_default();
                        let market = if s.is_spot() { "spot" } else { "on-demand" };
                        let size = s.instance_type().unwrap_or("-");
                        Ok(format!("{} is updated: {market} {size}{gap}", s.stack_name))
                    },
                );
            }
            Effect::Rollback { stack } => {
                let region = self.region_of(stack.as_str());
                let kind = OperationKind::Rollback;
                self.operate(
                    stack.to_string(),
                    region,
                    kind,
                    |_| None,
                    move |ctx, sink| async move {
                        let why = "requested from the dashboard";
                        let state =
                            deploy::rollback(&ctx, &stack, RollbackTrigger::Manual, why, sink)
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
                local::save_logs(self.store.logs_dir(), stack, at, lines, tx)
            }
            Effect::ReadHistory { stack } => {
                local::read_history(self.store.audit_path(), stack, tx)
            }
            Effect::SavePaletteHistory(lines) => {
                local::save_palette_history(self.store.palette_history_path(), lines)
            }
            Effect::CopyToClipboard(text) => {
                let copied = access::copy_to_clipboard(&self.terminal, text.as_bytes());
                let msg = Msg::Notice {
                    error: copied.is_err(),
                    text: match copied {
                        Ok(()) => "copied to the clipboard (OSC 52)".to_string(),
                        Err(e) => format!("could not copy: {e}"),
                    },
                };
                tokio::spawn(async move {
                    let _ = tx.send(msg).await;
                });
            }
            Effect::ReadModels { stack } => {
                let (clouds, store) = (self.clouds.clone(), self.store.clone());
                let no_cloud = self.no_cloud_reason.clone();
                tokio::spawn(async move {
                    let result = access::read_models(clouds, no_cloud, store, &stack).await;
                    let _ = tx.send(Msg::ModelsRead { stack, result }).await;
                });
            }
            Effect::PullModel { stack, name } => {
                let (clouds, store) = (self.clouds.clone(), self.store.clone());
                let no_cloud = self.no_cloud_reason.clone();
                tokio::spawn(access::pull_model(clouds, no_cloud, store, stack, name, tx));
            }
            Effect::RemoveModel { stack, name } => {
                let (clouds, store) = (self.clouds.clone(), self.store.clone());
                let no_cloud = self.no_cloud_reason.clone();
                tokio::spawn(async move {
                    let removed = access::remove_model(
                        clouds.clone(),
                        no_cloud.clone(),
                        store.clone(),
                        &stack,
                        &name,
                    )
                    .await;
                    let (error, text) = match removed {
                        Ok(()) => (false, format!("{name} is removed from {stack}'s EFS")),
                        Err(why) => (true, format!("{name} was not removed: {why}")),
                    };
                    let _ = tx.send(Msg::Notice { error, text }).await;
                    let result = access::read_models(clouds, no_cloud, store, &stack).await;
                    let _ = tx.send(Msg::ModelsRead { stack, result }).await;
                });
            }
            Effect::RestartService { stack, service } => {
                let (clouds, store) = (self.clouds.clone(), self.store.clone());
                let no_cloud = self.no_cloud_reason.clone();
                tokio::spawn(async move {
                    let done = access::restart_service(clouds, no_cloud, store, &stack, service);
                    let (error, text) = match done.await {
                        Ok(text) => (false, text),
                        Err(why) => (true, format!("{service} on {stack} not restarted: {why}")),
                    };
                    let _ = tx.send(Msg::Notice { error, text }).await;
                });
            }
            Effect::OpenUrl(url) => {
                tokio::spawn(async move {
                    let (error, text) = match access::open_url(&url).await {
                        Ok(opener) => (false, format!("opened {url} ({opener})")),
                        Err(why) => (true, why),
                    };
                    let _ = tx.send(Msg::Notice { error, text }).await;
                });
            }
            Effect::CopySecret { stack, name } => {
                let (clouds, store) = (self.clouds.clone(), self.store.clone());
                let (no_cloud, out) = (self.no_cloud_reason.clone(), self.terminal.clone());
                tokio::spawn(async move {
                    let result =
                        access::copy_secret(clouds, no_cloud, store, &stack, name, out).await;
                    let _ = tx
                        .send(Msg::SecretCopied {
                            stack,
                            name,
                            result,
                        })
                        .await;
                });
            }
            Effect::SetAccess { stack, change } => {
                let region = self.region_of(stack.as_str());
                access::change_access(
                    self.clouds.clone(),
                    self.no_cloud_reason.clone(),
                    self.store.clone(),
                    region,
                    stack,
                    change,
                    tx,
                );
            }
            Effect::Mouse(_) => {}
            Effect::Scan { all_regions } => {
                tokio::spawn(self.scan_work(all_regions).scan(tx));
            }
            Effect::Fix {
                id,
                fix,
                all_regions,
            } => {
                tokio::spawn(self.scan_work(all_regions).fix(id, fix, tx));
            }
            Effect::Shell { stack, .. } => {
                // The event loop takes this one: it owns the terminal.
                tokio::spawn(async move {
                    let text = format!("a shell on {stack} needs the dashboard's terminal");
                    let _ = tx.send(Msg::Notice { error: true, text }).await;
                });
            }
            Effect::Lookup(query) => {
                let clouds = self.clouds.clone();
                let no_cloud = self.no_cloud_reason.clone();
                tokio::spawn(async move {
                    let found = match clouds {
                        Some(clouds) => clouds.answer(query).await,
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

    /// What tells the settings' webhook of a `kind`'s outcome, in the
    /// background: it never holds up the operation's end.
    fn teller(
        &self,
        kind: OperationKind,
    ) -> impl FnOnce(&StackName, &Result<crate::domain::DeploymentState, OperationError>) + Send + 'static
    {
        let (notifier, clock) = (self.notifier.clone(), self.clock.clone());
        move |stack, result| {
            let event = deploy::outcome_event(kind, stack.as_str(), clock.now(), result);
            if let (Some(notifier), Some(event)) = (notifier, event) {
                notifier.spawn(vec![event]);
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

    /// Run an operation in a task, in the stack's region: each state it
    /// saves reaches the loop as `StackChanged`, and its outcome as
    /// `OperationFinished` (with what to offer instead, if anything).
    fn operate<F, Fut, O>(
        &self,
        stack: String,
        region: String,
        kind: OperationKind,
        offer: O,
        operation: F,
    ) where
        F: FnOnce(Context, Box<dyn StateSink>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<String, OperationError>> + Send,
        O: FnOnce(&OperationError) -> Option<Offer> + Send + 'static,
    {
        let Some(clouds) = self.clouds.clone() else {
            return self.refuse(stack, kind);
        };
        let (store, tx) = (self.store.clone(), self.tx.clone());
        tokio::spawn(async move {
            let (sink, rx) = StoreSink::new(store);
            let forward = tokio::spawn(forward_states(rx, tx.clone()));
            let outcome = match clouds.in_region(&region).await {
                Ok(ctx) => operation(ctx, Box::new(sink)).await,
                Err(why) => Err(OperationError::Conflict(why)),
            };
            let _ = forward.await;
            let offer = outcome.as_ref().err().and_then(offer);
            let result = outcome.map_err(|e| e.to_string());
            let finished = Msg::OperationFinished {
                stack,
                kind,
                result,
                offer,
            };
            let _ = tx.send(finished).await;
        });
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
}

impl Drop for Runner {
    fn drop(&mut self) {
        for handle in self.running.values() {
            handle.abort();
        }
    }
}
