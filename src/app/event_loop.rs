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

pub struct LoopOptions {
    pub exit_after_first_frame: bool,
    /// How often `Msg::Tick` comes (`TICK`; tests make it rare).
    pub tick: Duration,
}

impl Default for LoopOptions {
    fn default() -> Self {
        Self {
            exit_after_first_frame: false,
            tick: TICK,
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
) -> io::Result<()>
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
    let mut last_frame: Option<Instant> = None;

    loop {
        if dirty && last_frame.is_none_or(|t| t.elapsed() >= FRAME) {
            terminal
                .draw(|frame| ui::view(model, frame))
                .map_err(io::Error::other)?;
            dirty = false;
            last_frame = Some(Instant::now());
            if options.exit_after_first_frame {
                return Ok(());
            }
            if !started {
                runner.sync(&subscriptions(model));
                started = true;
            }
        }
        if model.should_quit {
            return Ok(());
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
        apply(model, runner, first);
        // Only the channel is drained here. Polling the terminal's event
        // stream outside `select!` would leave its wake-up with a waker that
        // wakes nobody, and the next key would wait for the tick (up to 1 s).
        for _ in 0..DRAIN_MAX {
            match rx.try_recv() {
                Ok(msg) => apply(model, runner, msg),
                Err(_) => break,
            }
        }
        dirty = true;
    }
}

fn apply(model: &mut Model, runner: &mut Runner, msg: Msg) {
    for effect in update(model, msg) {
        runner.perform(effect);
    }
    runner.sync(&subscriptions(model));
    runner.pace_logs(log_pace(model));
}

fn from_event(event: Event) -> Option<Msg> {
    match event {
        Event::Key(key) => Some(Msg::Key(key)),
        Event::Resize(w, h) => Some(Msg::Resize(w, h)),
        _ => None,
    }
}
