//! Starting the dashboard: build the model from the store, wire the runner,
//! signals and terminal, run the loop, and always restore the terminal. A
//! Session Manager shell (`S`) borrows the terminal between two loops.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::EventStream;
use tokio::sync::mpsc;

use super::clouds::Connect;
use super::event_loop::{self, Exit, LoopOptions};
use super::keymap::{self, Keymap};
use super::model::{Model, NoticeLevel, Offer, Overlay};
use super::msg::Msg;
use super::runner::{Runner, RunnerConfig, SANDBOX_HEALTH_INTERVAL};
use super::terminal;
use super::update::update;
use crate::cloud::Cloud;
use crate::cloud::sandbox::SandboxCloud;
use crate::cloud::session_manager;
use crate::domain::settings::ColorTheme;
use crate::domain::{Provider, StackName};
use crate::runtime::Runtime;
use crate::store::Brief;

/// Bounded: a task that outpaces the screen waits instead of growing memory.
const CHANNEL: usize = 1_024;

/// What the command line says about the dashboard.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub exit_after_first_frame: bool,
    /// `--theme`: over the settings and `NO_COLOR`.
    pub theme: Option<ColorTheme>,
}

pub async fn run(rt: &Runtime, options: Options) -> io::Result<()> {
    let exit_after_first_frame = options.exit_after_first_frame;
    let mut model = initial_model(rt);
    model.theme = theme(
        options.theme,
        rt.settings.ui_preferences.color_theme,
        std::env::var("NO_COLOR").ok().as_deref(),
        std::env::var("COLORFGBG").ok().as_deref(),
    );
    let (tx, mut rx) = mpsc::channel(CHANNEL);
    let config = runner_config(rt).await;
    if let Err(reason) = &config.ctx {
        // No AWS (no credentials, say): offer the sandbox rather than fail.
        model.overlay = Some(Overlay::Offer(Offer::Sandbox {
            reason: reason.clone(),
        }));
    }
    let mut runner = Runner::new(tx.clone(), config);
    forward_signals(tx);

    let mut terminal = terminal::enter(model.theme == ColorTheme::NoColor, model.mouse)?;
    let result = loop {
        let mut events = EventStream::new();
        let exit = event_loop::run(
            &mut terminal,
            &mut model,
            &mut runner,
            &mut rx,
            &mut events,
            rt.clock.as_ref(),
            LoopOptions {
                exit_after_first_frame,
                set_mouse: terminal::set_mouse,
                ..LoopOptions::default()
            },
        )
        .await;
        match exit {
            Ok(Exit::Shell { stack, command }) => {
                // Its reader thread would take the shell's keys: stop it.
                drop(events);
                let ended = match shell(&mut terminal, stack, &command, model.mouse).await {
                    Ok(msg) => msg,
                    Err(e) => break Err(e),
                };
                for effect in update(&mut model, ended) {
                    runner.perform(effect);
                }
            }
            Ok(Exit::Quit) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    terminal::restore();
    result
}

/// Run the Session Manager shell on the real terminal, then take the
/// screen back. Its end (or why it could not start) comes back as a message.
async fn shell(
    terminal: &mut terminal::Tui,
    stack: String,
    command: &[String],
    mouse: bool,
) -> io::Result<Msg> {
    let missing = session_manager::missing_tools();
    if !missing.is_empty() || command.is_empty() {
        let result = Err(format!(
            "{} not found on PATH; S shows the command and how to install it",
            missing.join(" and ")
        ));
        return Ok(Msg::ShellEnded {
            stack,
            result,
            missing,
        });
    }
    terminal::suspend();
    eprintln!(
        "geusemaker: a shell on {stack} through Session Manager; `exit` comes back to the dashboard."
    );
    // Out of raw mode, Ctrl-C signals the whole foreground group, this
    // process too: take SIGINT while the shell runs (it resets on exec, so
    // the child keeps its own).
    #[cfg(unix)]
    let _interrupts = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
    let argv = command.to_vec();
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .status()
    })
    .await;
    terminal::resume(terminal, mouse)?;
    let result = match status {
        Ok(Ok(status)) if status.success() => Ok(format!("the shell on {stack} ended")),
        Ok(Ok(status)) => Err(format!("the session ended: {status}")),
        Ok(Err(e)) => Err(format!("could not run {}: {e}", command[0])),
        Err(e) => Err(format!("the shell's task failed: {e}")),
    };
    Ok(Msg::ShellEnded {
        stack,
        result,
        missing,
    })
}

fn initial_model(rt: &Runtime) -> Model {
    let mut model = Model::new(rt.provider, rt.region.clone(), rt.clock.now());
    model.default_tier = rt.settings.default_tier;
    model.default_instance_type = rt.settings.default_instance_type.clone();
    model.prefer_spot = rt.settings.prefer_spot;
    model.auto_rollback = rt.settings.auto_rollback_on_failure;
    model.log_capacity = rt.settings.ui_preferences.log_buffer_lines.max(100);
    // A terminal that does not know OSC 8 ignores it; a dumb one is spared.
    model.hyperlinks = std::env::var("TERM").is_ok_and(|t| t != "dumb");
    model.readonly = rt.readonly;
    model.compact = rt.settings.ui_preferences.compact_mode;
    model.mouse = rt.settings.ui_preferences.mouse;
    model.palette_history = palette_history(&rt.store);
    let (keymap, problems) = keymap_of(rt);
    model.keymap = keymap;
    model.budget_action = rt.settings.budget_action;
    model.aws_profile = rt.profile.clone();
    model.session_tools_missing = session_manager::missing_tools();
    model.logs.capacity = model.log_capacity;
    // Before the first frame, so it shows the stacks rather than a spinner:
    // briefs of every stack, and the full state of the one selected. The
    // store watcher reads the rest in full right after.
    match rt.store.list_brief() {
        Ok(listing) => {
            let problems = listing
                .quarantined
                .iter()
                .map(ToString::to_string)
                .collect();
            let mut stacks: Vec<_> = listing
                .stacks
                .into_iter()
                .map(Brief::into_partial_state)
                .collect();
            if let Some(first) = stacks.first_mut()
                && let Ok(name) = StackName::parse(&first.stack_name)
                && let Ok(Some(full)) = rt.store.load(&name)
            {
                *first = full;
            }
            update(&mut model, Msg::StacksLoaded { stacks, problems });
        }
        Err(e) => model_notice(&mut model, NoticeLevel::Error, e.to_string()),
    }
    for notice in rt.notices.iter().chain(&problems) {
        model_notice(&mut model, NoticeLevel::Warn, notice.clone());
    }
    model
}

/// The keys, with `config/keys.json` applied if there is one, and what in
/// it could not be.
fn keymap_of(rt: &Runtime) -> (Keymap, Vec<String>) {
    let path = rt.store.keys_path();
    match std::fs::read(&path) {
        Ok(json) => keymap::custom::apply(&json),
        Err(e) if e.kind() == io::ErrorKind::NotFound => (Keymap::default(), Vec::new()),
        Err(e) => (
            Keymap::default(),
            vec![format!(
                "could not read {}: {e}; the default keys apply",
                path.display()
            )],
        ),
    }
}

/// The palette's recent commands from the last sessions; none if unreadable.
fn palette_history(store: &crate::store::Store) -> std::collections::VecDeque<String> {
    let text = std::fs::read_to_string(store.palette_history_path()).unwrap_or_default();
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let keep = lines.len().saturating_sub(super::palette::HISTORY_KEPT);
    lines.into_iter().skip(keep).collect()
}

/// `--theme` first; then `NO_COLOR` (set and not empty); then the settings.
pub fn theme(
    flag: Option<ColorTheme>,
    settings: ColorTheme,
    no_color: Option<&str>,
    colorfgbg: Option<&str>,
) -> ColorTheme {
    let chosen = match (flag, no_color) {
        (Some(theme), _) => theme,
        (None, Some(v)) if !v.is_empty() => ColorTheme::NoColor,
        (None, _) => settings,
    };
    crate::ui::theme::resolve(chosen, colorfgbg)
}

fn model_notice(model: &mut Model, level: NoticeLevel, text: String) {
    model.notices.push_back(super::model::Notice {
        at: model.now,
        level,
        text,
    });
}

async fn runner_config(rt: &Runtime) -> RunnerConfig {
    let (ctx, sandbox, interval) = match rt.provider {
        Provider::Sandbox => {
            let sandbox = Arc::new(SandboxCloud::new(
                rt.store.root(),
                rt.clock.clone(),
                rt.sandbox_speed,
            ));
            let cloud: Arc<dyn Cloud> = sandbox.clone();
            (
                Ok(rt.context(cloud)),
                Some(sandbox),
                SANDBOX_HEALTH_INTERVAL,
            )
        }
        Provider::Aws => {
            let interval =
                Duration::from_secs(u64::from(rt.settings.health_check_interval_seconds));
            (
                rt.cloud()
                    .await
                    .map(|c| rt.context(c))
                    .map_err(|e| e.to_string()),
                None,
                interval,
            )
        }
    };
    RunnerConfig {
        ctx,
        region: rt.region.clone(),
        connect: (rt.provider == Provider::Aws).then(|| connect_regions(rt)),
        sandbox,
        store: rt.store.clone(),
        clock: rt.clock.clone(),
        health_interval: interval,
        policy: crate::cli::watch_policy(rt),
        notifier: crate::notify::Notifier::configured(&rt.settings.notify),
        deploy_defaults: super::runner::DeployDefaults::of(&rt.settings),
    }
}

/// Another region's context, from the same settings and credentials.
fn connect_regions(rt: &Runtime) -> Connect {
    let rt = rt.clone();
    Arc::new(move |region: String| {
        let rt = rt.clone();
        Box::pin(async move {
            let cloud = rt.cloud_in(&region).await.map_err(|e| e.to_string())?;
            Ok(rt.context(cloud))
        })
    })
}

/// SIGTERM and SIGHUP end the loop like `q` does, so the terminal is restored.
fn forward_signals(tx: mpsc::Sender<Msg>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        let _ = tx.send(Msg::Quit).await;
    });
}

#[cfg(test)]
mod tests {
    use super::palette_history;
    use crate::app::palette::HISTORY_KEPT;

    #[test]
    fn the_palette_history_of_past_sessions_is_read_back_newest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        assert!(palette_history(&store).is_empty(), "none yet");
        let path = store.palette_history_path();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let lines: Vec<String> = (0..30).map(|i| format!("logs n8n {i}")).collect();
        std::fs::write(&path, lines.join("\n") + "\n\n  \n").unwrap();
        let read = palette_history(&store);
        assert_eq!(read.len(), HISTORY_KEPT);
        assert_eq!(read.front().map(String::as_str), Some("logs n8n 10"));
        assert_eq!(read.back().map(String::as_str), Some("logs n8n 29"));
    }
}
