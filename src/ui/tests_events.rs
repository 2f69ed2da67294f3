//! Snapshots of what happens to a stack's instance as it happens: the `e`
//! dialog (a night's recovery and two switches, and a stack with none yet),
//! and a deploy whose EFS stage runs on beside the launch.

use super::tests::{chat_bot_with, draw, draw_pane, key, model, t};
use crate::app::model::Overlay;
use crate::domain::recovery::{Drain, Recovery};
use crate::domain::stage::StageStatus;
use crate::domain::switch::{Switch, SwitchOutcome};

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
    }
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
    key(&mut m, 'e');
    assert!(matches!(m.overlay, Some(Overlay::Events { .. })));
    insta::assert_snapshot!(draw(&m, 100, 24).backend().to_string());
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
