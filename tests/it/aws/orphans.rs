//! The dashboard's Orphans view against the strict emulator, key by key
//! through `update` and the runner: `O` scans, the group made behind the
//! tool's back is an orphan, `x` then `y` deletes it from EC2 (audited),
//! and the scan after it is clean.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::mpsc;

use geusemaker::app::effect::Effect;
use geusemaker::app::model::{Model, Overlay};
use geusemaker::app::msg::Msg;
use geusemaker::app::orphans::{Section, last_findings};
use geusemaker::app::runner::{Runner, RunnerConfig};
use geusemaker::app::update::update;
use geusemaker::domain::Provider;
use geusemaker::domain::time::{Clock, SystemClock};

use super::Harness;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

/// Send `msg` through `update`, run what it asks for, and feed back what
/// comes, until a scan has answered.
async fn until_scanned(
    model: &mut Model,
    runner: &mut Runner,
    rx: &mut mpsc::Receiver<Msg>,
    msg: Msg,
) -> Vec<String> {
    let mut notices = Vec::new();
    for effect in update(model, msg) {
        runner.perform(effect);
    }
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .expect("the scan answers within a minute")
            .expect("the runner is alive");
        let done = matches!(msg, Msg::Scanned(_));
        if let Msg::Notice { text, .. } = &msg {
            notices.push(text.clone());
        }
        for effect in update(model, msg) {
            assert!(!matches!(effect, Effect::Scan { .. } | Effect::Fix { .. }));
            runner.perform(effect);
        }
        if done {
            return notices;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orphans_view_finds_a_group_made_behind_the_tools_back_and_deletes_it() {
    let h = Harness::start().await;
    let installation = h.store.installation_id().expect("installation id");
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    let orphan = ec2
        .create_security_group()
        .group_name("geusemaker-ghost-alb")
        .description("made behind the tool's back")
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::SecurityGroup)
                .tags(tag("Stack", "ghost"))
                .tags(tag("geusemaker:managed", "true"))
                .tags(tag("geusemaker:installation", &installation))
                .build(),
        )
        .send()
        .await
        .expect("create group")
        .group_id()
        .expect("id")
        .to_string();
    // Past EC2's after-create window, on the emulator's clock.
    h.moto.advance(0.5);

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (tx, mut rx) = mpsc::channel(64);
    let mut runner = Runner::new(
        tx,
        RunnerConfig {
            ctx: Ok(h.context(h.cloud(None).await)),
            region: "us-east-1".into(),
            connect: None,
            sandbox: None,
            store: h.store.clone(),
            clock: clock.clone(),
            health_interval: Duration::from_secs(3600),
            policy: geusemaker::health::policy::Policy::default(),
            notifier: None,
            deploy_defaults: Default::default(),
        },
    );
    let mut model = Model::new(Provider::Aws, "us-east-1".into(), clock.now());

    until_scanned(&mut model, &mut runner, &mut rx, key('O')).await;
    let rows = last_findings(&model.scan);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].section, rows[0].id.as_str()),
        (Section::Orphan, orphan.as_str())
    );
    assert!(matches!(
        model.overlay,
        Some(Overlay::Orphans { selected: 0 })
    ));

    // `x` asks first; `y` deletes.
    for effect in update(&mut model, key('x')) {
        runner.perform(effect);
    }
    let Some(Overlay::ConfirmFix { question, .. }) = &model.overlay else {
        panic!("x asks first: {:?}", model.overlay);
    };
    assert!(question.contains(&orphan), "{question}");
    let notices = until_scanned(&mut model, &mut runner, &mut rx, key('y')).await;
    assert!(
        notices
            .iter()
            .any(|n| n == &format!("deleted security-group {orphan}")),
        "{notices:?}"
    );
    assert!(last_findings(&model.scan).is_empty(), "{:?}", model.scan);
    let gone = ec2
        .describe_security_groups()
        .group_ids(&orphan)
        .send()
        .await;
    assert!(gone.is_err(), "the group is deleted from EC2: {gone:?}");
    let audit = std::fs::read_to_string(h.store.audit_path()).expect("audit");
    assert!(
        audit.contains("\"scan delete\"") && audit.contains("\"succeeded\""),
        "{audit}"
    );
}
