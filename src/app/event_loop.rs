//! The loop: wait for something to happen, drain everything pending, update,
//! then draw once — at most ~30 times a second, and only when something changed.

use std::io;
use std::time::Duration;

use crossterm::event::Event;
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use super::effect::Effect;
use super::model::Model;
use super::msg::Msg;
use super::runner::Runner;
use super::subscriptions::{log_pace, subscriptions};
use super::update::update;
use crate::domain::time::Clock;
use crate::ui;

/// ~30 frames per second at most.
pub const FRAME: Duration = Duration::from_millis(33);
/// Elapsed times and costs move on once a second.
pub const TICK: Duration = Duration::from_secs(1);
/// How often a spinner moves while one shows.
const ANIMATION: Duration = Duration::from_millis(100);
/// Messages handled per wake before drawing, so a flood cannot starve the screen.
const DRAIN_MAX: usize = 512;

/// Why the loop returned.
#[derive(Debug, PartialEq)]
pub enum Exit {
    Quit,
    /// Hand the terminal to a Session Manager shell, then loop again.
    Shell {
        stack: String,
        command: Vec<String>,
    },
}

pub struct LoopOptions {
    pub exit_after_first_frame: bool,
    /// How often `Msg::Tick` comes (`TICK`; tests make it rare).
    pub tick: Duration,
    /// Takes the mouse or gives it back (the real terminal; none in tests).
    pub set_mouse: fn(bool),
}

impl Default for LoopOptions {
    fn default() -> Self {
        Self {
            exit_after_first_frame: false,
            tick: TICK,
            set_mouse: |_| {},
        }
    }
}

pub async fn run<B, S>(
    terminal: &mut Terminal<B>,
    model: &mut Model,
    runner: &mut Runner,
    rx: &mut mpsc::Receiver<Msg>,
    events: &mut S,
    clock: &dyn Clock,
    options: LoopOptions,
) -> io::Result<Exit>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
    S: Stream<Item = io::Result<Event>> + Unpin,
{
    let mut tick = tokio::time::interval(options.tick);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let size = terminal.size().map_err(io::Error::other)?;
    // Nothing is started before the first frame: it shows as soon as it can.
    update(model, Msg::Resize(size.width, size.height));
    let mut started = false;
    let mut dirty = true;
    // A key is drawn at once; only background messages wait for the cap.
    let mut urgent = false;
    let mut last_frame: Option<Instant> = None;

    loop {
        if dirty && (urgent || last_frame.is_none_or(|t| t.elapsed() >= FRAME)) {
            terminal
                .draw(|frame| ui::view(model, frame))
                .map_err(io::Error::other)?;
            dirty = false;
            urgent = false;
            last_frame = Some(Instant::now());
            if options.exit_after_first_frame {
                return Ok(Exit::Quit);
            }
            if !started {
                runner.sync(&subscriptions(model));
                started = true;
            }
        }
        if model.should_quit {
            return Ok(Exit::Quit);
        }
        let next_frame = last_frame.map_or_else(Instant::now, |t| t + FRAME);
        let first = tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => from_event(event),
                Some(Err(e)) => return Err(e),
                None => Some(Msg::Quit),
            },
            Some(msg) = rx.recv() => Some(msg),
            _ = tick.tick() => Some(Msg::Tick(clock.now())),
            _ = tokio::time::sleep(ANIMATION), if model.is_animating() => Some(Msg::Tick(clock.now())),
            _ = tokio::time::sleep_until(next_frame), if dirty => None,
        };
        let Some(first) = first else { continue };
        urgent |= matches!(first, Msg::Key(_) | Msg::Mouse(_));
        if let Some(exit) = apply(model, runner, first, options.set_mouse) {
            return Ok(exit);
        }
        // Only the channel is drained here. Polling the terminal's event
        // stream outside `select!` would leave its wake-up with a waker that
        // wakes nobody, and the next key would wait for the tick (up to 1 s).
        for _ in 0..DRAIN_MAX {
            match rx.try_recv() {
                Ok(msg) => {
                    if let Some(exit) = apply(model, runner, msg, options.set_mouse) {
                        return Ok(exit);
                    }
                }
                Err(_) => break,
            }
        }
        dirty = true;
    }
}

/// Update, hand the effects to the runner, keep the subscriptions; a shell
/// is the caller's to run (it owns the terminal), so it ends the loop.
fn apply(model: &mut Model, runner: &mut Runner, msg: Msg, set_mouse: fn(bool)) -> Option<Exit> {
    let mut exit = None;
    for effect in update(model, msg) {
        match effect {
            Effect::Shell { stack, command } => exit = Some(Exit::Shell { stack, command }),
            Effect::Mouse(on) => set_mouse(on),
            other => runner.perform(other),
        }
    }
    runner.sync(&subscriptions(model));
    runner.pace_logs(log_pace(model));
    exit
}

fn from_event(event: Event) -> Option<Msg> {
    match event {
        Event::Key(key) => Some(Msg::Key(key)),
        Event::Resize(w, h) => Some(Msg::Resize(w, h)),
        // Moves without a button are many and mean nothing here.
        Event::Mouse(m) if m.kind != crossterm::event::MouseEventKind::Moved => Some(Msg::Mouse(m)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::app::runner::RunnerConfig;
    use crate::domain::time::SystemClock;
    use crate::domain::{DeploymentState, Provider, StackStatus, Tier};
    use crate::store::Store;

    /// A runner with no cloud, and a model of the stacks saved in `store`.
    fn runner_and_model(store: Store, clock: Arc<dyn Clock>) -> (Runner, mpsc::Receiver<Msg>) {
        let (tx, rx) = mpsc::channel(16);
        let runner = Runner::new(
            tx,
            RunnerConfig {
                ctx: Err("no cloud in this test".into()),
                region: "eu-west-1".into(),
                connect: None,
                sandbox: None,
                store,
                clock,
                health_interval: Duration::from_secs(3600),
                policy: crate::health::policy::Policy::default(),
                notifier: None,
                deploy_defaults: Default::default(),
            },
        );
        (runner, rx)
    }

    /// Runs the loop on `key` then nothing, for at most `wait`.
    async fn run_on_key(
        terminal: &mut Terminal<TestBackend>,
        model: &mut Model,
        runner: &mut Runner,
        rx: &mut mpsc::Receiver<Msg>,
        key: KeyEvent,
        wait: Duration,
    ) -> Result<io::Result<Exit>, tokio::time::error::Elapsed> {
        let mut events = futures_util::stream::iter([Ok(Event::Key(key))])
            .chain(futures_util::stream::pending());
        let options = LoopOptions {
            tick: Duration::from_secs(3600),
            ..LoopOptions::default()
        };
        let clock = SystemClock;
        let run = run(terminal, model, runner, rx, &mut events, &clock, options);
        tokio::time::timeout(wait, run).await
    }

    /// A key right after a frame is drawn at once, not at the next slot of
    /// the frame cap: on a paused clock, well before `FRAME` has passed.
    #[tokio::test(start_paused = true)]
    async fn a_key_is_drawn_at_once_not_at_the_next_frame_slot() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let (mut runner, mut rx) = runner_and_model(store, clock.clone());
        let mut model = Model::new(Provider::Aws, "eu-west-1".into(), clock.now());
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let help = KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE);
        let ran = run_on_key(
            &mut terminal,
            &mut model,
            &mut runner,
            &mut rx,
            help,
            FRAME / 4,
        )
        .await;
        assert!(ran.is_err(), "the loop runs on");
        let screen = terminal.backend().to_string();
        assert!(screen.contains("Keys —"), "the help is drawn: {screen}");
    }

    #[tokio::test]
    async fn s_ends_the_loop_with_the_shell_to_run() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut state =
            DeploymentState::new("demo", Tier::Dev, "eu-west-1", Provider::Aws, clock.now());
        state.status = StackStatus::Running;
        state.instance_id = Some("i-0123456789abcdef0".into());
        state.efs_id = Some("fs-0123456789abcdef0".into());
        store.save(&state).unwrap();
        let (mut runner, mut rx) = runner_and_model(store, clock.clone());
        let mut model = Model::new(Provider::Aws, "eu-west-1".into(), clock.now());
        update(
            &mut model,
            Msg::StacksLoaded {
                stacks: vec![state],
                problems: vec![],
            },
        );
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let shell = KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT);
        let wait = Duration::from_secs(10);
        let exit = run_on_key(&mut terminal, &mut model, &mut runner, &mut rx, shell, wait)
            .await
            .expect("the loop ended")
            .unwrap();
        let command =
            crate::cloud::session_manager::start_session(&model.stacks[0], None, None).unwrap();
        assert_eq!(
            exit,
            Exit::Shell {
                stack: "demo".into(),
                command
            }
        );
    }
}
