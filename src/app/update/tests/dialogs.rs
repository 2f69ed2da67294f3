//! Dialogs and offers: what each key does, and what reaches the runner.

use crossterm::event::KeyCode;

use super::{code, key, model_with, stack, t, type_text};
use crate::app::effect::Effect;
use crate::app::model::{Model, Overlay};
use crate::app::msg::Msg;
use crate::app::update::update;
use crate::cloud::sandbox::Fault;
use crate::domain::stage::OperationKind;
use crate::domain::{Provider, Service, StackStatus, Tier};

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
    assert_eq!(effects, vec![Effect::Deploy(Box::new(request))]);
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

#[test]
fn r_asks_then_rolls_back() {
    let mut m = model_with(vec![stack("demo", StackStatus::Running)]);
    update(&mut m, key('r'));
    assert!(matches!(m.overlay, Some(Overlay::ConfirmRollback(_))));
    let effects = update(&mut m, key('y'));
    assert_eq!(
        effects,
        vec![Effect::Rollback {
            stack: "demo".parse().unwrap()
        }]
    );
    assert_eq!(m.busy.get("demo"), Some(&OperationKind::Rollback));
}

#[test]
fn a_destroyed_stack_has_nothing_to_roll_back() {
    let mut m = model_with(vec![stack("demo", StackStatus::Destroyed)]);
    update(&mut m, key('r'));
    assert!(m.overlay.is_none());
    assert!(
        m.current_notice()
            .unwrap()
            .text
            .contains("nothing to roll back")
    );
}
