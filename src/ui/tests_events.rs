//! Snapshots of what happens to a stack as it happens: the `e` dialog (its
//! operations with their stage timings, a night's recovery and two
//! switches; and a stack with none yet), and a deploy whose EFS stage runs
//! on beside the launch.

use super::tests::{chat_bot_with, draw, draw_pane, key, model, t};
use crate::app::model::{Model, Overlay};
use crate::app::msg::Msg;
use crate::app::update::update;
use crate::domain::recovery::{Drain, Recovery};
use crate::domain::stage::StageStatus;
use crate::domain::state::Provider;
use crate::domain::switch::{Switch, SwitchOutcome};
use crate::store::audit::{AuditEntry, AuditResult, AuditStage};

fn switch(from: &str, to: &str, v: i64, at: f64, outcome: SwitchOutcome) -> Switch {
    Switch {
        from_instance: from.into(),
        to_instance: Some(to.into()),
        to_version: v,
        started_at: t(at),
        ready_at: Some(t(at + 70.0)),
        stopped_at: Some(t(at + 71.0)),
        serving_at: Some(t(at + 77.2)),
        outcome,
        database_dump: None,
        database_restored: false,
    }
}

fn stage(name: &str, status: StageStatus, secs: f64) -> AuditStage {
    AuditStage {
        stage: name.into(),
        status,
        secs: Some(secs),
    }
}

fn operation(name: &str, at: f64, secs: f64, result: AuditResult) -> AuditEntry {
    AuditEntry {
        operation: name.into(),
        stack: "chat-bot".into(),
        provider: Provider::Aws,
        start: t(at),
        end: t(at + secs),
        result,
        error: None,
        reason: None,
        pid: 4242,
        stages: Vec::new(),
    }
}

/// What the audit log holds of chat-bot, newest first: a budget stop, an
/// update reverted, and the deploy.
fn chat_bot_history() -> Msg {
    use StageStatus::{Done, Failed, Skipped};
    let mut stop = operation("stop", -60.0, 41.0, AuditResult::Succeeded);
    stop.reason = Some("the budget of $40/month was reached: action stop".into());
    let mut update = operation("update", -600.0, 312.0, AuditResult::Failed);
    update.error = Some(
        "Instance failed: version 3 never became healthy (its launch hook timed out); \
         i-0c3d4e5f607182930 serves again"
            .into(),
    );
    update.stages = vec![
        stage("Validate", Done, 0.4),
        stage("Instance", Failed, 309.8),
        stage("Services", Skipped, 0.0),
    ];
    let mut deploy = operation("deploy", -40_000.0, 402.0, AuditResult::Succeeded);
    deploy.stages = [
        ("Validate", 0.6),
        ("Network", 2.1),
        ("Security", 1.4),
        ("Image", 41.0),
        ("EFS", 88.2),
        ("IAM+secrets", 9.7),
        ("Instance", 61.3),
        ("Services", 182.5),
        ("Health", 4.2),
        ("Models", 96.0),
    ]
    .into_iter()
    .map(|(name, secs)| stage(name, Done, secs))
    .collect();
    Msg::HistoryRead {
        stack: "chat-bot".into(),
        result: Ok(vec![stop, update, deploy]),
    }
}

/// `e` on chat-bot: the dialog, asking for the audit log, which answers.
fn open_with_history(m: &mut Model) {
    let effects = update(
        m,
        Msg::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char('e'),
            crossterm::event::KeyModifiers::NONE,
        )),
    );
    assert_eq!(
        effects,
        [crate::app::effect::Effect::ReadHistory {
            stack: "chat-bot".into()
        }],
        "the audit log is read afresh each time"
    );
    assert!(
        draw(m, 80, 24)
            .backend()
            .to_string()
            .contains("reading the audit log…")
    );
    update(m, chat_bot_history());
}

#[test]
fn events_dialog_lists_operations_with_their_stage_timings() {
    let mut m = chat_bot_with(|_, _| {});
    open_with_history(&mut m);
    insta::assert_snapshot!(
        "events_dialog_operations_80x24",
        draw(&m, 80, 24).backend().to_string()
    );
    insta::assert_snapshot!(
        "events_dialog_operations_wide",
        draw(&m, 140, 40).backend().to_string()
    );
}

#[test]
fn events_dialog_lists_recoveries_and_switches_newest_first() {
    let mut m = chat_bot_with(|stack, _| {
        stack.recoveries.push(Recovery {
            lost_instance: "i-0a1b2c3d4e5f60718".into(),
            signal: "spot interruption".into(),
            signal_at: t(-30_000.0),
            replaced_by: Some("i-0b2c3d4e5f6071829".into()),
            launched_at: Some(t(-29_990.0)),
            zone: Some("eu-west-1b".into()),
            in_service_at: Some(t(-29_800.0)),
            down_secs: Some(212.0),
            drain: Drain {
                notice_at: Some(t(-30_043.0)),
                stopped_at: Some(t(-30_012.0)),
                drained_at: Some(t(-30_005.0)),
                lease_at: Some(t(-29_830.0)),
                read: true,
            },
        });
        stack.switches.push(switch(
            "i-0b2c3d4e5f6071829",
            "i-0c3d4e5f607182930",
            2,
            -3_600.0,
            SwitchOutcome::Switched,
        ));
        stack.switches.push(switch(
            "i-0c3d4e5f607182930",
            "i-0d4e5f60718293041",
            3,
            -600.0,
            SwitchOutcome::FellBack,
        ));
    });
    open_with_history(&mut m);
    assert!(matches!(m.overlay, Some(Overlay::Events { .. })));
    insta::assert_snapshot!(draw(&m, 100, 40).backend().to_string());
    key(&mut m, 'e');
    assert!(m.overlay.is_none(), "e closes it too");
}

#[test]
fn events_dialog_of_a_stack_with_none_says_what_will_show() {
    let mut m = chat_bot_with(|_, _| {});
    key(&mut m, 'e');
    insta::assert_snapshot!(draw(&m, 80, 24).backend().to_string());
}

#[test]
fn pipeline_pane_shows_the_efs_stage_running_beside_the_launch() {
    let mut m = model();
    let stack = m.stacks.iter_mut().find(|s| s.stack_name == "prod-ai");
    let op = stack.and_then(|s| s.operation.as_mut()).expect("a deploy");
    // EFS started at 2.6 s and is still waiting for its mount targets; the
    // role and secrets took 1.4 s after it, and the launch runs.
    let efs = &mut op.stages[4];
    efs.status = StageStatus::Running;
    efs.finished_at = None;
    efs.progress = None;
    efs.detail = Some("mount targets becoming available; the next stages go on meanwhile".into());
    op.stages[5].started_at = Some(t(3.2));
    op.stages[5].finished_at = Some(t(4.6));
    op.stages[6].started_at = Some(t(4.6));
    insta::assert_snapshot!(draw_pane(&m, 60, 10, super::pipeline::render).backend());
}

#[test]
fn pipeline_pane_shows_the_image_baking_beside_the_efs_and_the_role() {
    let mut m = model();
    let stack = m.stacks.iter_mut().find(|s| s.stack_name == "prod-ai");
    let st = stack.expect("prod-ai");
    st.images.clear();
    let op = st.operation.as_mut().expect("a deploy");
    // The builder started at 2.6 s; EFS and the role went on beside it.
    let image = &mut op.stages[3];
    image.status = StageStatus::Running;
    image.finished_at = None;
    image.progress = None;
    image.expected_secs = Some(540.0);
    image.detail =
        Some("i-0b1d2e3f4a5b6c7d8 installing Docker and pulling the images (95s)".into());
    for later in &mut op.stages[6..] {
        later.status = StageStatus::Pending;
        later.started_at = None;
        later.finished_at = None;
        later.detail = None;
    }
    insta::assert_snapshot!(draw_pane(&m, 72, 12, super::pipeline::render).backend());
}
