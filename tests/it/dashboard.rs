//! The dashboard's whole loop on a `TestBackend`: keys in, a sandbox deploy
//! runs in this process, the screen shows it, `q` leaves.

use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures_util::stream;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

use geusemaker::app::event_loop::{self, LoopOptions};
use geusemaker::app::model::Model;
use geusemaker::app::runner::{Runner, RunnerConfig};
use geusemaker::cloud::Cloud;
use geusemaker::cloud::sandbox::SandboxCloud;
use geusemaker::deploy::{Context, Timing};
use geusemaker::domain::time::{Clock, SystemClock};
use geusemaker::domain::{Provider, StackName, StackStatus};
use geusemaker::store::Store;

fn press(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_from_the_dashboard_runs_and_shows_up() {
    // Its outcome goes to the settings' webhook, as a CLI deploy's does.
    let fake = crate::https_fake::HttpsFake::start("hooks.example.test").await;
    let client = geusemaker::http::Http::with_ca(Some(&fake.ca_pem))
        .and_then(|http| http.resolving("hooks.example.test", fake.addr))
        .expect("a client for the fake");
    let notifier = geusemaker::notify::Notifier::with_client(
        client,
        "https://hooks.example.test/hook",
        geusemaker::domain::notify::NotifyFormat::Json,
    );
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let speed = 25.0;
    let sandbox = Arc::new(SandboxCloud::new(store.root(), clock.clone(), speed));
    let cloud: Arc<dyn Cloud> = sandbox.clone();
    let ctx = Context {
        cloud,
        store: store.clone(),
        clock: clock.clone(),
        auto_rollback: true,
        timing: Timing::for_provider(Provider::Sandbox, speed, 15),
    };
    let (tx, mut rx) = mpsc::channel(64);
    let mut runner = Runner::new(
        tx,
        RunnerConfig {
            ctx: Ok(ctx),
            region: "us-east-1".into(),
            connect: None,
            sandbox: Some(sandbox),
            store: store.clone(),
            clock: clock.clone(),
            health_interval: Duration::from_millis(100),
            policy: geusemaker::health::policy::Policy::default(),
            notifier: Some(notifier),
            deploy_defaults: Default::default(),
        },
    );
    let mut model = Model::new(Provider::Sandbox, "us-east-1".into(), clock.now());
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    let (keys, key_rx) = mpsc::unbounded_channel::<Event>();
    let mut events = Box::pin(stream::unfold(key_rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok(e), rx))
    }));

    let driver = async {
        for c in "ndemo".chars() {
            keys.send(press(c)).unwrap();
        }
        // Enter through the seven steps (defaults: dev, this region, the
        // default VPC, t3.medium spot, the caller's IP, the dev tier's model
        // pulled at first boot), then Deploy.
        for _ in 0..8 {
            keys.send(Event::Key(KeyEvent::new(
                KeyCode::Enter,
                KeyModifiers::NONE,
            )))
            .unwrap();
        }
        // Wait (bounded) for the deploy this process started to finish.
        let name = StackName::parse("demo").unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let state = store.load(&name).ok().flatten();
            if state
                .as_ref()
                .is_some_and(|s| s.status == StackStatus::Running)
            {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "deploy did not finish: {state:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Let a few probe rounds and log polls arrive, close the Connect
        // view the finished deploy opened, open the Models view and let its
        // read arrive, then close it and quit.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        keys.send(press('q')).unwrap();
        keys.send(press('M')).unwrap();
        tokio::time::sleep(Duration::from_millis(1000)).await;
        keys.send(press('q')).unwrap();
        keys.send(press('q')).unwrap();
    };
    let looped = event_loop::run(
        &mut terminal,
        &mut model,
        &mut runner,
        &mut rx,
        &mut events,
        clock.as_ref(),
        LoopOptions::default(),
    );
    let (result, ()) = tokio::join!(looped, driver);
    result.unwrap();

    assert!(model.should_quit);
    let told = crate::notify::kinds_once(&fake, 1).await;
    assert_eq!(told, ["deploy_succeeded"], "{:?}", fake.hooks());
    let demo = model
        .stacks
        .iter()
        .find(|s| s.stack_name == "demo")
        .unwrap();
    assert_eq!(demo.status, StackStatus::Running);
    assert!(model.busy.is_empty(), "the deploy reported back");
    assert!(!model.logs.lines.is_empty(), "logs were tailed");
    assert!(model.health.contains_key("demo"), "health was probed");
    let screen = terminal.backend().to_string();
    assert!(screen.contains("SANDBOX"), "{screen}");
    assert!(
        screen.contains("demo") && screen.contains("● running"),
        "{screen}"
    );
    // The last frame may still show a view the keys closed (they can be
    // drained together), so the pipeline is read from the model.
    let stages = &demo.operation.as_ref().unwrap().stages;
    let models = stages
        .iter()
        .find(|s| s.stage == geusemaker::domain::Stage::Models)
        .expect("the wizard's model was pulled at first boot");
    assert_eq!(
        models.status,
        geusemaker::domain::stage::StageStatus::Done,
        "{stages:?}"
    );
    assert_eq!(models.detail.as_deref(), Some("models ready: llama3.2:3b"));
    assert!(
        stages
            .iter()
            .any(|s| s.stage == geusemaker::domain::Stage::Health
                && s.status == geusemaker::domain::stage::StageStatus::Done),
        "services healthy is its own marker: {stages:?}"
    );
    assert!(model.overlay.is_none(), "the views were closed");
    // The Models view, drawn from what its read found.
    model.overlay = Some(geusemaker::app::model::Overlay::Models {
        stack: "demo".into(),
        selected: 0,
    });
    terminal.draw(|f| geusemaker::ui::view(&model, f)).unwrap();
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains("llama3.2:3b               2.02 GB"),
        "the Models view lists the model pulled at first boot: {screen}"
    );
}

/// Events the way crossterm's `EventStream` delivers them: a poll that finds
/// nothing registers its waker once, and only the next event disarms it.
#[derive(Default)]
struct TerminalLike {
    queue: std::sync::Mutex<std::collections::VecDeque<Event>>,
    waker: std::sync::Mutex<Option<std::task::Waker>>,
    armed: AtomicBool,
    /// A poll found the stream armed with a waker not its own.
    stranded: AtomicBool,
    /// Frames flushed to the screen so far.
    frames: AtomicUsize,
    /// Told once the loop, having drawn `idle_after` frames, waits for events.
    idle_after: AtomicUsize,
    idle: tokio::sync::Notify,
}

impl TerminalLike {
    fn press(&self, event: Event) {
        self.queue.lock().unwrap().push_back(event);
        self.armed.store(false, SeqCst);
        if let Some(waker) = self.waker.lock().unwrap().take() {
            waker.wake();
        }
    }
}

struct Events(Arc<TerminalLike>);

impl futures_util::Stream for Events {
    type Item = std::io::Result<Event>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let t = &self.0;
        if let Some(event) = t.queue.lock().unwrap().pop_front() {
            return std::task::Poll::Ready(Some(Ok(event)));
        }
        let mut stored = t.waker.lock().unwrap();
        if !t.armed.swap(true, SeqCst) {
            *stored = Some(cx.waker().clone());
        } else if stored.as_ref().is_some_and(|w| !w.will_wake(cx.waker())) {
            // Still armed with another waker: this poll's task is never woken.
            t.stranded.store(true, SeqCst);
        }
        drop(stored);
        let wanted = t.idle_after.load(SeqCst);
        if wanted > 0 && t.frames.load(SeqCst) >= wanted {
            t.idle_after.store(0, SeqCst);
            t.idle.notify_one();
        }
        std::task::Poll::Pending
    }
}

/// A `TestBackend` that counts the frames flushed.
struct Counted(TestBackend, Arc<TerminalLike>);

impl ratatui::backend::Backend for Counted {
    type Error = <TestBackend as ratatui::backend::Backend>::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a ratatui::buffer::Cell)>,
    {
        self.0.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.0.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.0.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<ratatui::layout::Position, Self::Error> {
        self.0.get_cursor_position()
    }
    fn set_cursor_position<P: Into<ratatui::layout::Position>>(
        &mut self,
        position: P,
    ) -> Result<(), Self::Error> {
        self.0.set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.0.clear()
    }
    fn clear_region(&mut self, clear_type: ratatui::backend::ClearType) -> Result<(), Self::Error> {
        self.0.clear_region(clear_type)
    }
    fn size(&self) -> Result<ratatui::layout::Size, Self::Error> {
        self.0.size()
    }
    fn window_size(&mut self) -> Result<ratatui::backend::WindowSize, Self::Error> {
        self.0.window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.1.frames.fetch_add(1, SeqCst);
        self.0.flush()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_pressed_while_idle_is_handled_at_once_not_at_the_next_tick() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (tx, mut rx) = mpsc::channel(64);
    let mut runner = Runner::new(
        tx,
        RunnerConfig {
            ctx: Err("no cloud in this test".into()),
            region: "us-east-1".into(),
            connect: None,
            sandbox: None,
            store: store.clone(),
            clock: clock.clone(),
            health_interval: Duration::from_secs(3600),
            policy: geusemaker::health::policy::Policy::default(),
            notifier: None,
            deploy_defaults: Default::default(),
        },
    );
    let mut model = Model::new(Provider::Sandbox, "us-east-1".into(), clock.now());
    let keyboard = Arc::new(TerminalLike::default());
    let mut terminal = Terminal::new(Counted(TestBackend::new(80, 24), keyboard.clone())).unwrap();
    // The first frame, then the Tab's: after that the loop only waits.
    keyboard.idle_after.store(2, SeqCst);
    keyboard.press(Event::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)));
    let mut events = Events(keyboard.clone());
    let driver = async {
        keyboard.idle.notified().await;
        keyboard.press(press('q'));
    };
    // No tick for an hour: only the key itself can wake the loop. (The loop
    // once polled the stream outside `select!` after each key, leaving it a
    // waker that wakes nobody: the next key waited for the tick, up to 1 s.)
    let looped = event_loop::run(
        &mut terminal,
        &mut model,
        &mut runner,
        &mut rx,
        &mut events,
        clock.as_ref(),
        LoopOptions {
            tick: Duration::from_secs(3600),
            ..LoopOptions::default()
        },
    );
    let both = async { tokio::join!(looped, driver) };
    let (result, ()) = tokio::time::timeout(Duration::from_secs(60), both)
        .await
        .expect("the q waited for a tick that never comes");
    result.unwrap();
    assert!(model.should_quit);
    assert_eq!(
        model.focus,
        geusemaker::app::model::Pane::Pipeline,
        "the Tab was handled"
    );
    assert!(
        !keyboard.stranded.load(SeqCst),
        "the stream was polled outside the loop's select!, stranding its wake-up"
    );
}
