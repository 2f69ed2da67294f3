//! The deploy wizard through `update`: keys in, steps and effects out.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{code, key, model_with, stack, type_text};
use crate::app::effect::{Effect, Query};
use crate::app::model::{Model, Overlay};
use crate::app::msg::{Found, Msg};
use crate::app::update::update;
use crate::app::wizard::{Lookup, Step, Wizard, answers, text_of};
use crate::cloud::{Cidr, DeployRequest};
use crate::domain::stage::OperationKind;
use crate::domain::{StackStatus, Tier};

fn wizard(m: &Model) -> &Wizard {
    match &m.overlay {
        Some(Overlay::Wizard(w)) => w,
        other => panic!("the wizard is not open: {other:?}"),
    }
}

fn enter(m: &mut Model) -> Vec<Effect> {
    update(m, code(KeyCode::Enter))
}

fn error_of(m: &Model) -> String {
    wizard(m).error.clone().unwrap_or_default()
}

fn deployed(effects: &[Effect]) -> &DeployRequest {
    match effects {
        [Effect::Deploy(req)] => req,
        other => panic!("no deploy: {other:?}"),
    }
}

/// `n`, a name, and Enter: the wizard on its tier step.
fn at_tier(m: &mut Model, name: &str) {
    let effects = update(m, key('n'));
    assert_eq!(
        effects,
        [Effect::Lookup(Query::Networks {
            region: "us-east-1".into()
        })],
        "the VPCs load while the user types"
    );
    type_text(m, name);
    assert!(enter(m).is_empty());
    assert_eq!(wizard(m).step, Step::Tier);
}

#[test]
fn keys_alone_take_the_wizard_from_n_to_a_confirmed_deploy() {
    let mut m = model_with(vec![]);
    at_tier(&mut m, "demo");
    update(&mut m, code(KeyCode::Down));
    assert_eq!(wizard(&m).tier, Tier::Automation);
    assert!(enter(&mut m).is_empty(), "region: the current one first");
    assert_eq!(wizard(&m).region(), "us-east-1");
    assert!(enter(&mut m).is_empty(), "same region: no second lookup");
    assert!(m.is_animating(), "a spinner while the VPCs load");
    update(&mut m, answers::vpcs("us-east-1"));
    assert!(!m.is_animating(), "and none once they came");
    // The second VPC (not the default), then its second subnet.
    update(&mut m, code(KeyCode::Down));
    update(&mut m, code(KeyCode::Tab));
    update(&mut m, code(KeyCode::Right));
    update(&mut m, code(KeyCode::Right));
    let effects = enter(&mut m);
    assert_eq!(
        effects,
        [Effect::Lookup(Query::Prices {
            region: "us-east-1".into(),
            instance_type: "t3.large".into()
        })],
        "the tier's default type is priced on arrival"
    );
    update(&mut m, answers::prices("t3.large", 0.03, 0.0832));
    update(&mut m, code(KeyCode::Left));
    assert!(!wizard(&m).spot);
    let effects = enter(&mut m);
    assert_eq!(
        effects,
        [Effect::Lookup(Query::CallerCidr {
            region: "us-east-1".into()
        })]
    );
    update(
        &mut m,
        Msg::Found(Found::CallerCidr {
            result: Ok(Cidr::parse("203.0.113.9/32").unwrap()),
        }),
    );
    assert!(
        enter(&mut m).is_empty(),
        "access: the caller's /32 by default"
    );
    // Options: the budget field, 500 dollars.
    update(&mut m, code(KeyCode::Tab));
    update(&mut m, code(KeyCode::Tab));
    type_text(&mut m, "500");
    assert!(enter(&mut m).is_empty(), "nothing before the plan is seen");
    let w = wizard(&m);
    assert_eq!(w.step, Step::Plan);
    let (_, plan) = w.review.as_deref().unwrap();
    assert!(plan.stages.iter().any(|s| s.stage == "ALB"));
    assert!(plan.costs.iter().any(|c| c.component == "alb"));
    assert_eq!(plan.instance_type, "t3.large");

    let effects = enter(&mut m);
    let req = deployed(&effects);
    let vpcs = crate::cloud::sandbox::networks_of("us-east-1");
    assert_eq!(req.stack.as_str(), "demo");
    assert_eq!(req.tier, Tier::Automation);
    assert_eq!(req.region, "us-east-1");
    assert_eq!(req.instance_type, "t3.large");
    assert!(!req.spot);
    assert_eq!(req.options.vpc_id.as_deref(), Some(vpcs[1].vpc_id.as_str()));
    assert_eq!(
        req.options.subnet_id.as_deref(),
        Some(vpcs[1].subnets[1].subnet_id.as_str())
    );
    assert_eq!(
        req.options.allow_cidr.as_ref().map(Cidr::as_str),
        Some("203.0.113.9/32")
    );
    assert_eq!(
        req.options.budget.as_ref().map(|b| b.monthly_usd),
        Some(500.0)
    );
    assert_eq!(req.options.auto_rollback, Some(true));
    assert_eq!(req.options.rollback_timeout_minutes, Some(15));
    assert!(!req.options.over_budget);
    // The wizard closes; the new stack is selected and its pipeline shown.
    assert!(m.overlay.is_none());
    assert_eq!(m.busy.get("demo"), Some(&OperationKind::Deploy));
    assert_eq!(m.selected.as_deref(), Some("demo"));
    assert_eq!(m.focus, crate::app::model::Pane::Pipeline);
}

#[test]
fn a_name_is_checked_as_it_is_typed_and_a_bad_one_blocks_next() {
    let mut m = model_with(vec![
        stack("demo", StackStatus::Running),
        stack("old", StackStatus::Destroyed),
    ]);
    update(&mut m, key('n'));
    let error = |m: &Model| wizard(m).error.clone();
    type_text(&mut m, "Bad");
    assert!(
        error(&m).unwrap().contains("invalid stack name"),
        "{:?}",
        error(&m)
    );
    assert!(enter(&mut m).is_empty());
    assert_eq!(wizard(&m).step, Step::Name, "Next is blocked");
    for _ in 0..3 {
        update(&mut m, code(KeyCode::Backspace));
    }
    type_text(&mut m, "demo");
    assert!(error(&m).unwrap().contains("already exists (running)"));
    enter(&mut m);
    assert_eq!(wizard(&m).step, Step::Name);
    for _ in 0..4 {
        update(&mut m, code(KeyCode::Backspace));
    }
    type_text(&mut m, "old");
    assert_eq!(
        error(&m),
        None,
        "a destroyed stack's name is free: its EFS is reused"
    );
    enter(&mut m);
    assert_eq!(wizard(&m).step, Step::Tier);
    assert!(m.busy.is_empty());
}

#[test]
fn esc_goes_back_a_step_and_loses_nothing() {
    let mut m = model_with(vec![]);
    at_tier(&mut m, "keep");
    update(&mut m, code(KeyCode::Down));
    update(&mut m, code(KeyCode::Down));
    for _ in 0..4 {
        enter(&mut m);
    }
    assert_eq!(wizard(&m).step, Step::Access);
    update(&mut m, code(KeyCode::Tab));
    type_text(&mut m, "me@example.com");
    for _ in 0..5 {
        update(&mut m, code(KeyCode::Esc));
    }
    let w = wizard(&m);
    assert_eq!(w.step, Step::Name);
    assert_eq!(crate::app::wizard::text_of(&w.name), "keep");
    assert_eq!(w.tier, Tier::Gpu);
    assert_eq!(
        w.instance_type(),
        "g4dn.xlarge",
        "the gpu tier offers GPU types"
    );
    for _ in 0..5 {
        enter(&mut m);
    }
    assert_eq!(
        crate::app::wizard::text_of(&wizard(&m).owner_email),
        "me@example.com"
    );
}

#[test]
fn q_asks_first_ctrl_c_leaves_and_q_in_a_name_is_a_letter() {
    let mut m = model_with(vec![]);
    update(&mut m, key('n'));
    type_text(&mut m, "aq");
    assert_eq!(crate::app::wizard::text_of(&wizard(&m).name), "aq");
    enter(&mut m);
    update(&mut m, key('q'));
    assert!(wizard(&m).leaving, "asks before leaving");
    update(&mut m, key('n'));
    assert!(!wizard(&m).leaving, "any other key stays");
    update(&mut m, key('q'));
    update(&mut m, key('y'));
    assert!(m.overlay.is_none());

    update(&mut m, key('n'));
    type_text(&mut m, "abc");
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert!(m.overlay.is_none(), "Ctrl-C leaves at once");
    assert!(!m.should_quit, "and only the wizard");
}

#[test]
fn another_region_looks_up_its_own_vpcs_and_drops_late_answers() {
    let mut m = model_with(vec![]);
    at_tier(&mut m, "far");
    enter(&mut m);
    update(&mut m, code(KeyCode::Down));
    let region = wizard(&m).region().to_string();
    assert_ne!(region, "us-east-1");
    let effects = enter(&mut m);
    assert_eq!(
        effects,
        [Effect::Lookup(Query::Networks {
            region: region.clone()
        })]
    );
    assert_eq!(wizard(&m).networks, Lookup::Loading);
    // The first region's answer comes late: it is not this region's.
    update(&mut m, answers::vpcs("us-east-1"));
    assert_eq!(wizard(&m).networks, Lookup::Loading);
    update(&mut m, answers::vpcs(&region));
    assert!(matches!(wizard(&m).networks, Lookup::Ready(_)));
}

#[test]
fn a_failed_lookup_says_why_and_takes_a_typed_vpc_id() {
    let mut m = model_with(vec![]);
    at_tier(&mut m, "manual");
    enter(&mut m);
    enter(&mut m);
    update(
        &mut m,
        Msg::Found(Found::Networks {
            region: "us-east-1".into(),
            result: Err("UnauthorizedOperation: not allowed to DescribeVpcs".into()),
        }),
    );
    assert!(matches!(&wizard(&m).networks, Lookup::Failed(why) if why.contains("Unauthorized")));
    update(&mut m, code(KeyCode::End));
    update(&mut m, code(KeyCode::Tab));
    type_text(&mut m, "vpc-zz");
    enter(&mut m);
    let w = wizard(&m);
    assert_eq!(w.step, Step::Network, "blocked");
    assert!(w.error.as_deref().unwrap().contains("not a VPC id"));
    for _ in 0..2 {
        update(&mut m, code(KeyCode::Backspace));
    }
    type_text(&mut m, "0abc123");
    enter(&mut m);
    assert_eq!(wizard(&m).step, Step::Instance);
    for _ in 0..3 {
        enter(&mut m);
    }
    let effects = enter(&mut m);
    let req = deployed(&effects);
    assert_eq!(req.options.vpc_id.as_deref(), Some("vpc-0abc123"));
    assert!(
        req.options.allow_cidr.is_none(),
        "the deploy looks up the caller"
    );
}

#[test]
fn bad_access_and_options_block_next_with_a_reason() {
    let mut m = model_with(vec![]);
    at_tier(&mut m, "strict");
    update(&mut m, code(KeyCode::Down));
    for _ in 0..4 {
        enter(&mut m);
    }
    assert_eq!(wizard(&m).step, Step::Access);
    type_text(&mut m, "10.0.0.300/8");
    enter(&mut m);
    assert!(error_of(&m).contains("not an IPv4 CIDR"));
    for _ in 0..12 {
        update(&mut m, code(KeyCode::Backspace));
    }
    type_text(&mut m, "0.0.0.0/0");
    update(&mut m, code(KeyCode::Up));
    assert_eq!(
        wizard(&m).access_field,
        crate::app::wizard::AccessField::Certificate,
        "automation has a certificate field"
    );
    type_text(&mut m, "not-an-arn");
    enter(&mut m);
    assert!(error_of(&m).contains("ACM certificate ARN"));
    for _ in 0..10 {
        update(&mut m, code(KeyCode::Backspace));
    }
    enter(&mut m);
    assert_eq!(wizard(&m).step, Step::Options);
    update(&mut m, code(KeyCode::Tab));
    update(&mut m, code(KeyCode::Backspace));
    update(&mut m, code(KeyCode::Backspace));
    type_text(&mut m, "500");
    enter(&mut m);
    assert!(error_of(&m).contains("1 to 120"));
    assert_eq!(wizard(&m).step, Step::Options);
    assert!(m.busy.is_empty());
}

#[test]
fn a_plan_over_the_budget_says_so_and_enter_is_the_consent() {
    let mut m = model_with(vec![]);
    at_tier(&mut m, "thrifty");
    for _ in 0..5 {
        enter(&mut m);
    }
    for _ in 0..2 {
        update(&mut m, code(KeyCode::Tab));
    }
    type_text(&mut m, "5");
    update(&mut m, code(KeyCode::Tab));
    update(&mut m, code(KeyCode::Right));
    enter(&mut m);
    let (_, plan) = wizard(&m).review.as_deref().unwrap();
    assert!(plan.over_budget, "{}", plan.monthly_estimate);
    let effects = enter(&mut m);
    let req = deployed(&effects);
    let budget = req.options.budget.as_ref().unwrap();
    assert_eq!(budget.monthly_usd, 5.0);
    assert_eq!(budget.action, crate::domain::budget::BudgetAction::Stop);
    assert!(req.options.over_budget, "seen and confirmed");
}

#[test]
fn a_gpu_type_asks_for_its_quota_per_market_and_prices_once() {
    let mut m = model_with(vec![]);
    at_tier(&mut m, "gpu-box");
    update(&mut m, code(KeyCode::End));
    enter(&mut m);
    enter(&mut m);
    let effects = enter(&mut m);
    let prices = Effect::Lookup(Query::Prices {
        region: "us-east-1".into(),
        instance_type: "g4dn.xlarge".into(),
    });
    let quota = |spot| {
        Effect::Lookup(Query::GpuQuota {
            region: "us-east-1".into(),
            instance_type: "g4dn.xlarge".into(),
            spot,
        })
    };
    assert_eq!(effects, [prices, quota(true)]);
    let effects = update(&mut m, code(KeyCode::Right));
    assert_eq!(
        effects,
        [quota(false)],
        "on-demand has its own quota; prices are known"
    );
    assert!(
        update(&mut m, code(KeyCode::Right)).is_empty(),
        "both asked already"
    );
}

#[test]
fn an_answer_for_the_region_in_use_is_kept_while_another_is_only_highlighted() {
    let mut m = model_with(vec![]);
    at_tier(&mut m, "wander");
    update(&mut m, answers::vpcs("us-east-1"));
    for _ in 0..3 {
        enter(&mut m);
    }
    assert_eq!(wizard(&m).step, Step::Instance);
    for _ in 0..2 {
        update(&mut m, code(KeyCode::Esc));
    }
    update(&mut m, code(KeyCode::Down));
    // The price asked for us-east-1 arrives while eu... is highlighted.
    update(&mut m, answers::prices("t3.medium", 0.0137, 0.0416));
    update(&mut m, code(KeyCode::Up));
    enter(&mut m);
    let effects = enter(&mut m);
    assert!(effects.is_empty(), "nothing asked twice: {effects:?}");
    assert!(matches!(wizard(&m).quote(), Some(Lookup::Ready(_))));
    assert!(!m.is_animating(), "no spinner left turning");
}

#[test]
fn the_settings_instance_type_is_chosen_when_the_tier_offers_it() {
    let mut m = model_with(vec![]);
    m.default_instance_type = "m5.large".into();
    update(&mut m, key('n'));
    assert_eq!(wizard(&m).instance_type(), "m5.large");
    m.default_instance_type = "x9.huge".into();
    update(&mut m, code(KeyCode::Esc));
    update(&mut m, key('n'));
    assert_eq!(
        wizard(&m).instance_type(),
        "t3.medium",
        "else the tier's default"
    );
}

#[test]
fn the_options_step_chooses_the_models_pulled_at_first_boot() {
    let mut m = model_with(vec![]);
    at_tier(&mut m, "models");
    enter(&mut m);
    enter(&mut m);
    update(&mut m, answers::vpcs("us-east-1"));
    enter(&mut m);
    update(&mut m, answers::prices("t3.medium", 0.02, 0.0416));
    enter(&mut m);
    update(
        &mut m,
        Msg::Found(Found::CallerCidr {
            result: Ok(Cidr::parse("203.0.113.9/32").unwrap()),
        }),
    );
    enter(&mut m);
    assert_eq!(wizard(&m).step, Step::Options);
    assert_eq!(
        wizard(&m).boot_models(),
        ["llama3.2:3b"],
        "the dev tier's small CPU model by default"
    );
    for _ in 0..4 {
        update(&mut m, code(KeyCode::Tab));
    }
    assert_eq!(
        wizard(&m).options_field,
        crate::app::wizard::OptionsField::Models
    );
    update(&mut m, key(' '));
    assert!(wizard(&m).boot_models().is_empty(), "Space took it out");
    update(&mut m, code(KeyCode::Right));
    update(&mut m, key(' '));
    update(&mut m, code(KeyCode::Left));
    update(&mut m, code(KeyCode::Left));
    update(&mut m, key(' '));
    assert_eq!(wizard(&m).boot_models(), ["mistral:7b", "llama3.2:1b"]);
    enter(&mut m);
    assert_eq!(wizard(&m).step, Step::Plan);
    let effects = enter(&mut m);
    assert_eq!(
        deployed(&effects).options.models,
        ["mistral:7b", "llama3.2:1b"],
        "the deploy pulls what was chosen, in the order chosen"
    );
}

#[test]
fn the_name_is_suggested_by_date_free_among_live_stacks_and_typing_replaces_it() {
    let mut m = model_with(vec![]);
    let today = m.now.0.format("%Y%m%d").to_string();
    update(&mut m, key('n'));
    assert_eq!(text_of(&wizard(&m).name), format!("ai-stack-{today}"));
    update(&mut m, key('d'));
    assert_eq!(text_of(&wizard(&m).name), "d", "the first key replaces it");
    let live = [format!("ai-stack-{today}"), format!("ai-stack-{today}-2")];
    let names: Vec<&str> = live.iter().map(String::as_str).collect();
    assert_eq!(
        crate::app::wizard::suggested_name(m.now, &names),
        format!("ai-stack-{today}-3")
    );
    // Enter takes it as it is.
    let mut m = model_with(vec![]);
    update(&mut m, key('n'));
    update(&mut m, code(KeyCode::Enter));
    assert_ne!(wizard(&m).step, crate::app::wizard::Step::Name);
}
