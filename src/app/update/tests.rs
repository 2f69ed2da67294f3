//! `update()`: message in, model and effects out.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::update;
use crate::app::effect::Effect;
use crate::app::model::{Model, Overlay, Pane};
use crate::app::msg::Msg;
use crate::cloud::sandbox::Fault;
use crate::domain::stage::OperationKind;
use crate::domain::state::ServiceStatus;
use crate::domain::{DeploymentState, Provider, Service, StackStatus, Tier, Timestamp};
use crate::monitor::log_line;
use crate::monitor::probe::{ProbeOutcome, ProbeSample};

fn t(secs: f64) -> Timestamp {
    Timestamp::from_unix_millis(1_790_000_000_000).plus_secs(secs)
}

fn stack(name: &str, status: StackStatus) -> DeploymentState {
    let mut s = DeploymentState::new(name, Tier::Dev, "us-east-1", Provider::Sandbox, t(0.0));
    s.status = status;
    if status == StackStatus::Running {
        s.instance_id = Some(format!("i-{name}"));
        s.efs_id = Some(format!("fs-{name}"));
    }
    s
}

fn model_with(stacks: Vec<DeploymentState>) -> Model {
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

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn type_text(m: &mut Model, text: &str) {
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
fn the_new_stack_form_validates_and_changes_nothing_on_bad_input() {
    let mut m = model_with(vec![]);
    update(&mut m, key('n'));
    assert!(matches!(m.overlay, Some(Overlay::NewStack(_))));
    type_text(&mut m, "Bad_Name");
    let effects = update(&mut m, code(KeyCode::Enter));
    assert!(effects.is_empty());
    let Some(Overlay::NewStack(form)) = &m.overlay else {
        panic!("form closed")
    };
    assert!(
        form.error
            .as_deref()
            .unwrap()
            .contains("invalid stack name")
    );
    assert!(m.busy.is_empty());
}

#[test]
fn submitting_the_form_asks_for_a_deploy() {
    let mut m = model_with(vec![]);
    update(&mut m, key('n'));
    type_text(&mut m, "demo");
    update(&mut m, code(KeyCode::Tab));
    update(&mut m, code(KeyCode::Right));
    update(&mut m, code(KeyCode::Tab));
    update(&mut m, key(' '));
    let effects = update(&mut m, code(KeyCode::Enter));
    let [Effect::Deploy(req)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(req.stack.as_str(), "demo");
    assert_eq!(req.tier, Tier::Automation);
    assert_eq!(req.instance_type, "t3.large", "follows the tier's default");
    assert!(!req.spot);
    assert!(m.overlay.is_none());
    assert_eq!(m.busy.get("demo"), Some(&OperationKind::Deploy));
    assert_eq!(m.selected.as_deref(), Some("demo"));
}

#[test]
fn the_form_refuses_a_tier_change_on_a_live_stack() {
    let mut m = model_with(vec![stack("demo", StackStatus::Running)]);
    update(&mut m, key('n'));
    type_text(&mut m, "demo");
    update(&mut m, code(KeyCode::Tab));
    update(&mut m, code(KeyCode::Right));
    assert!(update(&mut m, code(KeyCode::Enter)).is_empty());
    let Some(Overlay::NewStack(form)) = &m.overlay else {
        panic!()
    };
    assert!(form.error.as_deref().unwrap().contains("destroy it first"));
}

#[test]
fn destroy_asks_then_keeps_data_by_default() {
    let mut m = model_with(vec![stack("demo", StackStatus::Running)]);
    update(&mut m, key('d'));
    assert!(matches!(m.overlay, Some(Overlay::ConfirmDestroy(_))));
    let effects = update(&mut m, key('y'));
    assert_eq!(
        effects,
        vec![Effect::Destroy {
            stack: "demo".parse().unwrap(),
            delete_data: false
        }]
    );
    assert_eq!(m.busy.get("demo"), Some(&OperationKind::Destroy));
}

#[test]
fn deleting_data_needs_the_name_typed() {
    let mut m = model_with(vec![stack("demo", StackStatus::Running)]);
    update(&mut m, key('d'));
    update(&mut m, key('D'));
    type_text(&mut m, "dem");
    assert!(update(&mut m, code(KeyCode::Enter)).is_empty());
    type_text(&mut m, "o");
    let effects = update(&mut m, code(KeyCode::Enter));
    assert_eq!(
        effects,
        vec![Effect::Destroy {
            stack: "demo".parse().unwrap(),
            delete_data: true
        }]
    );
}

#[test]
fn esc_cancels_a_destroy() {
    let mut m = model_with(vec![stack("demo", StackStatus::Running)]);
    update(&mut m, key('d'));
    assert!(update(&mut m, code(KeyCode::Esc)).is_empty());
    assert!(m.overlay.is_none() && m.busy.is_empty());
}

#[test]
fn stacks_of_another_cloud_are_read_only() {
    let mut aws = stack("prod", StackStatus::Running);
    aws.provider = Provider::Aws;
    let mut m = model_with(vec![aws]);
    assert!(update(&mut m, key('d')).is_empty());
    assert!(m.overlay.is_none());
    assert!(m.current_notice().unwrap().text.contains("aws stack"));
    update(&mut m, key('F'));
    assert!(m.overlay.is_none());
}

#[test]
fn the_fault_menu_injects_the_chosen_fault() {
    let mut m = model_with(vec![stack("demo", StackStatus::Running)]);
    update(&mut m, key('F'));
    update(&mut m, key('j'));
    let effects = update(&mut m, code(KeyCode::Enter));
    assert_eq!(
        effects,
        vec![Effect::InjectFault {
            stack: "demo".into(),
            fault: Fault::KillService(Service::Ollama)
        }]
    );
}

#[test]
fn faults_need_the_sandbox() {
    let mut m = Model::new(Provider::Aws, "us-east-1".into(), t(0.0));
    update(&mut m, key('F'));
    assert!(m.overlay.is_none());
    assert!(m.current_notice().unwrap().text.contains("--sandbox"));
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
    let lines: Vec<_> = (0..crate::app::model::LOG_CAPACITY + 10)
        .map(|i| log_line::parse(&format!("n8n-1 | {i}")))
        .collect();
    update(
        &mut m,
        Msg::LogLines {
            stack: "demo".into(),
            lines,
        },
    );
    assert_eq!(m.logs.lines.len(), crate::app::model::LOG_CAPACITY);
    assert_eq!(m.logs.lines[0].message, "10");
}

#[test]
fn s_cycles_the_service_filter() {
    let mut m = model_with(vec![stack("demo", StackStatus::Running)]);
    m.focus = Pane::Logs;
    update(&mut m, key('s'));
    assert_eq!(m.logs.service, Some(Service::N8n));
    for _ in 0..4 {
        update(&mut m, key('s'));
    }
    assert_eq!(m.logs.service, Some(Service::Postgres));
    update(&mut m, key('s'));
    assert_eq!(m.logs.service, None);
}

#[test]
fn health_samples_build_a_bounded_history() {
    let mut m = model_with(vec![stack("demo", StackStatus::Running)]);
    for i in 0..50 {
        let samples = vec![
            ProbeSample {
                service: Service::N8n,
                outcome: ProbeOutcome::Ready,
                latency_ms: i,
            },
            ProbeSample {
                service: Service::Postgres,
                outcome: ProbeOutcome::Refused,
                latency_ms: 1,
            },
        ];
        update(
            &mut m,
            Msg::HealthSampled {
                stack: "demo".into(),
                at: t(i as f64),
                samples,
            },
        );
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

#[test]
fn q_quits_but_closes_help_first() {
    let mut m = model_with(vec![]);
    update(&mut m, key('?'));
    update(&mut m, key('q'));
    assert!(!m.should_quit && m.overlay.is_none());
    update(&mut m, key('q'));
    assert!(m.should_quit);
}

#[test]
fn no_spot_capacity_offers_on_demand_and_y_deploys_it() {
    use crate::app::model::Offer;
    use crate::cloud::DeployRequest;
    let mut m = model_with(vec![stack("demo", StackStatus::Failed)]);
    let request = DeployRequest {
        stack: "demo".parse().unwrap(),
        tier: Tier::Dev,
        region: "us-east-1".into(),
        instance_type: "t3.medium".into(),
        spot: false,
        options: Default::default(),
    };
    update(
        &mut m,
        Msg::OperationFinished {
            stack: "demo".into(),
            kind: OperationKind::Deploy,
            result: Err("no spot capacity".into()),
            offer: Some(Offer::OnDemand {
                request: Box::new(request.clone()),
                reason: "no spot capacity".into(),
            }),
        },
    );
    assert!(matches!(
        m.overlay,
        Some(Overlay::Offer(Offer::OnDemand { .. }))
    ));
    let effects = update(&mut m, key('y'));
    assert_eq!(effects, vec![Effect::Deploy(request)]);
    assert_eq!(m.busy.get("demo"), Some(&OperationKind::Deploy));
}

#[test]
fn declining_an_offer_changes_nothing() {
    use crate::app::model::Offer;
    let mut m = Model::new(Provider::Aws, "us-east-1".into(), t(0.0));
    m.overlay = Some(Overlay::Offer(Offer::Sandbox {
        reason: "no credentials".into(),
    }));
    assert!(update(&mut m, key('n')).is_empty());
    assert!(m.overlay.is_none());
    assert_eq!(m.provider, Provider::Aws);
}

#[test]
fn accepting_the_sandbox_switches_the_cloud() {
    use crate::app::model::Offer;
    let mut m = Model::new(Provider::Aws, "us-east-1".into(), t(0.0));
    m.overlay = Some(Overlay::Offer(Offer::Sandbox {
        reason: "no credentials".into(),
    }));
    assert_eq!(update(&mut m, key('y')), vec![Effect::UseSandbox]);
    assert!(m.is_sandbox());
}
