//! The dashboard's whole loop on a `TestBackend`: keys in, a sandbox deploy
//! runs in this process, the screen shows it, `q` leaves.

use std::sync::Arc;
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
            policy: geusemaker::monitor::policy::Policy::default(),
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
        // default VPC, t3.medium spot, the caller's IP), then Deploy.
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
        // Let a few probe rounds and log polls arrive, then quit.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        keys.send(press('q')).unwrap();
    };
    let looped = event_loop::run(
        &mut terminal,
        &mut model,
        &mut runner,
        &mut rx,
        &mut events,
        clock.as_ref(),
        LoopOptions {
            exit_after_first_frame: false,
        },
    );
    let (result, ()) = tokio::join!(looped, driver);
    result.unwrap();

    assert!(model.should_quit);
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
    assert!(screen.contains("✔ Health"), "{screen}");
}
