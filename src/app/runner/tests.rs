//! The runner against the sandbox: what reaches the terminal and what
//! reaches the loop.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use super::{Runner, RunnerConfig, TerminalOut};
use crate::app::effect::Effect;
use crate::app::msg::Msg;
use crate::cloud::sandbox::SandboxCloud;
use crate::cloud::session::StoreSink;
use crate::cloud::{Cloud, DeployOptions, DeployRequest};
use crate::deploy::{self, Context, Timing};
use crate::domain::time::{Clock, SystemClock};
use crate::domain::{Provider, StackName, Tier};
use crate::store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_secret_reaches_the_terminal_and_only_its_name_the_loop() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let speed = 500.0;
    let sandbox = Arc::new(SandboxCloud::new(store.root(), clock.clone(), speed));
    let cloud: Arc<dyn Cloud> = sandbox.clone();
    let ctx = Context {
        cloud: cloud.clone(),
        store: store.clone(),
        clock: clock.clone(),
        auto_rollback: true,
        timing: Timing::for_provider(Provider::Sandbox, speed, 15),
    };
    let req = DeployRequest {
        stack: StackName::parse("demo").unwrap(),
        tier: Tier::Dev,
        region: "us-east-1".into(),
        instance_type: "t3.medium".into(),
        spot: true,
        options: DeployOptions::default(),
    };
    let (sink, _states) = StoreSink::new(store.clone());
    let state = deploy::deploy(&ctx, &req, Box::new(sink)).await.unwrap();
    let value = cloud
        .read_secret(&state, "postgres-password")
        .await
        .unwrap();

    let seen = Arc::new(Mutex::new(Vec::<u8>::new()));
    let terminal = seen.clone();
    let out: TerminalOut = Arc::new(move |bytes: &[u8]| {
        terminal.lock().unwrap().extend_from_slice(bytes);
        Ok(())
    });
    let (tx, mut rx) = mpsc::channel(16);
    let mut runner = Runner::new(
        tx,
        RunnerConfig {
            ctx: Ok(ctx),
            region: "us-east-1".into(),
            connect: None,
            sandbox: Some(sandbox),
            store,
            clock,
            health_interval: Duration::from_secs(3600),
            policy: crate::health::policy::Policy::default(),
            notifier: None,
            deploy_defaults: Default::default(),
        },
    )
    .with_terminal(out);
    runner.perform(Effect::CopySecret {
        stack: "demo".into(),
        name: "postgres-password",
    });
    let msg = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("an answer")
        .expect("the runner is alive");
    assert!(
        matches!(
            &msg,
            Msg::SecretCopied { stack, name: "postgres-password", result: Ok(()) } if stack == "demo"
        ),
        "{msg:?}"
    );
    assert!(!format!("{msg:?}").contains(&value), "the value came back");
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(value.as_bytes());
    let expected = format!("\x1b]52;c;{encoded}\x07");
    assert_eq!(*seen.lock().unwrap(), expected.into_bytes(), "OSC 52, once");
}
