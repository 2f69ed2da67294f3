//! `update()`: message in, model and effects out.

mod access;
mod dialogs;
mod wizard;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::update;
use crate::app::model::{Model, Pane};
use crate::app::msg::Msg;
use crate::domain::stage::OperationKind;
use crate::domain::state::ServiceStatus;
use crate::domain::{DeploymentState, Provider, Service, StackStatus, Tier, Timestamp};
use crate::instance::log_line;

pub(super) fn t(secs: f64) -> Timestamp {
    Timestamp::from_unix_millis(1_790_000_000_000).plus_secs(secs)
}

pub(super) fn stack(name: &str, status: StackStatus) -> DeploymentState {
    let mut s = DeploymentState::new(name, Tier::Dev, "us-east-1", Provider::Sandbox, t(0.0));
    s.status = status;
    if status == StackStatus::Running {
        s.instance_id = Some(format!("i-{name}"));
        s.efs_id = Some(format!("fs-{name}"));
    }
    s
}

pub(super) fn model_with(stacks: Vec<DeploymentState>) -> Model {
    let mut m = Model::new(Provider::Sandbox, "us-east-1".into(), t(0.0));
    update(
        &mut m,
        Msg::StacksLoaded {
            stacks,
            problems: vec![],
        },
    );
    m
}

pub(super) fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

pub(super) fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

pub(super) fn type_text(m: &mut Model, text: &str) {
    for c in text.chars() {
        assert!(update(m, key(c)).is_empty());
    }
}

#[test]
fn loading_stacks_selects_the_first_and_keeps_a_selection() {
    let mut m = model_with(vec![
        stack("beta", StackStatus::Running),
        stack("alpha", StackStatus::Running),
    ]);
    assert_eq!(m.selected.as_deref(), Some("alpha"), "the first by name");
    update(&mut m, key('j'));
    update(
        &mut m,
        Msg::StacksLoaded {
            stacks: vec![
                stack("beta", StackStatus::Failed),
                stack("alpha", StackStatus::Running),
            ],
            problems: vec![],
        },
    );
    assert_eq!(
        m.stacks
            .iter()
            .map(|s| s.stack_name.as_str())
            .collect::<Vec<_>>(),
        ["alpha", "beta"]
    );
    assert_eq!(
        m.selected.as_deref(),
        Some("beta"),
        "a reload keeps the selection"
    );
    update(
        &mut m,
        Msg::StacksLoaded {
            stacks: vec![stack("alpha", StackStatus::Running)],
            problems: vec![],
        },
    );
    assert_eq!(
        m.selected.as_deref(),
        Some("alpha"),
        "a removed stack's selection moves"
    );
}

#[test]
fn j_k_and_arrows_move_the_selection_within_bounds() {
    let mut m = model_with(vec![
        stack("a1", StackStatus::Running),
        stack("b2", StackStatus::Running),
        stack("c3", StackStatus::Running),
    ]);
    update(&mut m, key('g'));
    assert_eq!(m.selected.as_deref(), Some("a1"));
    update(&mut m, code(KeyCode::Down));
    update(&mut m, key('j'));
    update(&mut m, key('j'));
    assert_eq!(m.selected.as_deref(), Some("c3"), "stops at the end");
    update(&mut m, code(KeyCode::Up));
    assert_eq!(m.selected.as_deref(), Some("b2"));
    update(&mut m, key('G'));
    assert_eq!(m.selected.as_deref(), Some("c3"));
}

#[test]
fn changing_the_selection_resets_the_log_view() {
    let mut m = model_with(vec![
        stack("a1", StackStatus::Running),
        stack("b2", StackStatus::Running),
    ]);
    update(
        &mut m,
        Msg::LogLines {
            stack: "a1".into(),
            lines: vec![log_line::parse("n8n-1 | hello")],
        },
    );
    assert_eq!(m.logs.lines.len(), 1);
    update(&mut m, key('j'));
    assert_eq!(m.logs.stack.as_deref(), Some("b2"));
    assert!(m.logs.lines.is_empty());
    update(
        &mut m,
        Msg::LogLines {
            stack: "a1".into(),
            lines: vec![log_line::parse("n8n-1 | late")],
        },
    );
    assert!(
        m.logs.lines.is_empty(),
        "lines for another stack are dropped"
    );
}

#[test]
fn tab_and_shift_tab_cycle_focus() {
    let mut m = model_with(vec![]);
    assert_eq!(m.focus, Pane::Stacks);
    update(&mut m, code(KeyCode::Tab));
    assert_eq!(m.focus, Pane::Pipeline);
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
    );
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
    );
    assert_eq!(m.focus, Pane::Cost, "wraps around");
}

#[test]
fn reading_back_pauses_the_logs_and_end_follows_again() {
    let mut m = model_with(vec![stack("demo", StackStatus::Running)]);
    let lines = (0..30)
        .map(|i| log_line::parse(&format!("n8n-1 | line {i}")))
        .collect();
    update(
        &mut m,
        Msg::LogLines {
            stack: "demo".into(),
            lines,
        },
    );
    m.focus = Pane::Logs;
    update(&mut m, key('k'));
    assert!(!m.logs.follow);
    assert_eq!(m.logs.scroll, 1);
    update(
        &mut m,
        Msg::LogLines {
            stack: "demo".into(),
            lines: vec![log_line::parse("n8n-1 | new")],
        },
    );
    assert_eq!(m.logs.scroll, 2, "the line being read stays put");
    update(&mut m, key('G'));
    assert!(m.logs.follow);
    assert_eq!(m.logs.scroll, 0);
}

#[test]
fn the_log_buffer_is_bounded() {
    let mut m = model_with(vec![stack("demo", StackStatus::Running)]);
    let lines: Vec<_> = (0..crate::app::model::DEFAULT_LOG_CAPACITY + 10)
        .map(|i| log_line::parse(&format!("n8n-1 | {i}")))
        .collect();
    update(
        &mut m,
        Msg::LogLines {
            stack: "demo".into(),
            lines,
        },
    );
    assert_eq!(m.logs.lines.len(), crate::app::model::DEFAULT_LOG_CAPACITY);
    assert_eq!(m.logs.lines[0].message, "10");
}

#[test]
fn number_keys_pick_a_service_and_zero_shows_all() {
    let mut m = model_with(vec![stack("demo", StackStatus::Running)]);
    m.focus = Pane::Logs;
    update(&mut m, key('1'));
    assert_eq!(m.logs.service, Some(Service::N8n));
    update(&mut m, key('5'));
    assert_eq!(m.logs.service, Some(Service::Postgres));
    update(&mut m, key('0'));
    assert_eq!(m.logs.service, None);
}

#[test]
fn searching_the_logs_jumps_to_matches_and_n_keeps_new_stack_elsewhere() {
    let mut m = model_with(vec![stack("demo", StackStatus::Running)]);
    m.selected = Some("demo".into());
    m.logs = crate::app::model::LogView::for_stack(Some("demo".into()), 100);
    let lines = ["boot", "Error: timeout", "ok", "error again", "fine"]
        .iter()
        .map(|l| log_line::parse(&format!("n8n-1 | {l}")))
        .collect();
    update(
        &mut m,
        Msg::LogLines {
            stack: "demo".into(),
            lines,
        },
    );
    m.focus = Pane::Logs;
    update(&mut m, key('/'));
    assert!(m.logs.searching);
    for c in "error".chars() {
        update(&mut m, key(c));
    }
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    assert!(!m.logs.searching && !m.logs.follow);
    assert_eq!(m.logs.current(m.now).unwrap().message, "error again");
    update(&mut m, key('n'));
    assert_eq!(m.logs.current(m.now).unwrap().message, "Error: timeout");
    assert!(
        m.overlay.is_none(),
        "n searched, it did not open the new-stack dialog"
    );
    update(&mut m, key('N'));
    assert_eq!(m.logs.current(m.now).unwrap().message, "error again");
    let effects = update(&mut m, key('s'));
    let Some(crate::app::effect::Effect::SaveLogs { stack, lines, .. }) = effects.first() else {
        panic!("{effects:?}")
    };
    assert_eq!(stack, "demo");
    assert_eq!(
        lines.len(),
        2,
        "the search applies to what is saved: {lines:?}"
    );
    let effects = update(&mut m, key('y'));
    assert!(matches!(
        effects.first(),
        Some(crate::app::effect::Effect::CopyToClipboard(text)) if text.contains("error again")
    ));
    m.focus = Pane::Stacks;
    update(&mut m, key('n'));
    assert!(
        m.overlay.is_some(),
        "n is still new-stack outside the Logs pane"
    );
}

fn sweep(stack: &str, at: f64, n8n_ms: u64, spot: bool, action: Option<&str>) -> Msg {
    use crate::domain::state::ServiceHealth;
    let health = |service: Service, status: ServiceStatus, ms: Option<u64>| ServiceHealth {
        service_name: service,
        port: None,
        status,
        last_check: Some(t(at)),
        response_time_ms: ms,
        consecutive_failures: 0,
        error_message: None,
        oom_kills: Vec::new(),
        image: None,
        started_at: None,
        starts: None,
        loaded: None,
        extra: Default::default(),
    };
    Msg::Swept(Box::new(crate::monitor::watch::SweepReport {
        at: t(at),
        stack: stack.into(),
        status: StackStatus::Running,
        services: vec![
            health(Service::N8n, ServiceStatus::Healthy, Some(n8n_ms)),
            health(Service::Postgres, ServiceStatus::Stopped, None),
        ],
        verdict: "degraded",
        notes: vec![],
        spot: spot.then(|| crate::cloud::SpotNotice {
            instance_id: "i-1".into(),
            terminate_at: Some(t(at + 20.0)),
            detail: "marked-for-termination".into(),
        }),
        target_health: None,
        outside: None,
        account: None,
        action: action.map(str::to_string),
    }))
}

#[test]
fn sweeps_build_a_bounded_history() {
    let mut m = model_with(vec![stack("demo", StackStatus::Running)]);
    for i in 0..50 {
        update(&mut m, sweep("demo", i as f64, i, false, None));
    }
    let h = &m.health["demo"];
    assert_eq!(
        h.points[&Service::N8n].len(),
        crate::app::model::HEALTH_HISTORY
    );
    assert_eq!(h.latest(Service::N8n).unwrap().latency_ms, Some(49));
    let pg = h.latest(Service::Postgres).unwrap();
    assert_eq!(pg.status, ServiceStatus::Stopped);
    assert_eq!(pg.latency_ms, None);
}

#[test]
fn a_spot_notice_shows_until_a_sweep_no_longer_sees_it() {
    let mut m = model_with(vec![stack("demo", StackStatus::Running)]);
    update(&mut m, sweep("demo", 0.0, 10, true, None));
    assert!(m.spot_notices.contains_key("demo"));
    update(
        &mut m,
        sweep(
            "demo",
            1.0,
            10,
            false,
            Some("rolled back (spot_interruption): now on i-2"),
        ),
    );
    assert!(m.spot_notices.is_empty());
    assert!(m.current_notice().unwrap().text.contains("now on i-2"));
}

#[test]
fn time_only_moves_by_tick() {
    let mut m = model_with(vec![]);
    update(&mut m, key('j'));
    assert_eq!(m.now, t(0.0));
    update(&mut m, Msg::Tick(t(5.0)));
    assert_eq!(m.now, t(5.0));
}

#[test]
fn operation_results_become_notices_and_free_the_stack() {
    let mut m = model_with(vec![stack("demo", StackStatus::Running)]);
    m.busy.insert("demo".into(), OperationKind::Deploy);
    update(
        &mut m,
        Msg::OperationFinished {
            stack: "demo".into(),
            kind: OperationKind::Deploy,
            result: Err("EFS failed".into()),
            offer: None,
        },
    );
    assert!(m.busy.is_empty());
    assert!(
        m.current_notice()
            .unwrap()
            .text
            .contains("deploy demo failed: EFS failed")
    );
}

#[test]
fn a_state_from_an_operation_wins_over_an_older_disk_copy() {
    let mut m = model_with(vec![stack("demo", StackStatus::Creating)]);
    let mut newer = stack("demo", StackStatus::Running);
    newer.updated_at = Some(t(10.0));
    update(&mut m, Msg::StackChanged(Box::new(newer)));
    update(
        &mut m,
        Msg::StacksLoaded {
            stacks: vec![stack("demo", StackStatus::Creating)],
            problems: vec![],
        },
    );
    assert_eq!(m.stacks[0].status, StackStatus::Running);
}

#[test]
fn the_filter_narrows_the_list() {
    let mut m = model_with(vec![
        stack("alpha", StackStatus::Running),
        stack("beta", StackStatus::Running),
    ]);
    update(&mut m, key('/'));
    type_text(&mut m, "bet");
    update(&mut m, code(KeyCode::Enter));
    assert_eq!(m.visible_stacks().count(), 1);
    assert_eq!(m.selected.as_deref(), Some("beta"));
    update(&mut m, code(KeyCode::Esc));
    assert_eq!(m.visible_stacks().count(), 2);
}
