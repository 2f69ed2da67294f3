//! Snapshots of every wizard step, and of its validation, loading and
//! failed-lookup states, driven by the same keys and answers as the app.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::app::model::{Model, Overlay};
use crate::app::msg::{Found, Msg};
use crate::app::update::update;
use crate::app::wizard::answers;
use crate::cloud::{Cidr, Prices};
use crate::domain::{DeploymentState, Provider, StackStatus, Tier, Timestamp};

fn now() -> Timestamp {
    "2026-11-24T09:00:00.300Z".parse::<Timestamp>().unwrap()
}

fn model(provider: Provider) -> Model {
    let mut m = Model::new(provider, "us-east-1".into(), now());
    let mut taken = DeploymentState::new("prod-ai", Tier::Dev, "us-east-1", provider, now());
    taken.status = StackStatus::Running;
    update(
        &mut m,
        Msg::StacksLoaded {
            stacks: vec![taken],
            problems: vec![],
        },
    );
    m
}

fn press(m: &mut Model, code: KeyCode) {
    update(m, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn typed(m: &mut Model, text: &str) {
    for c in text.chars() {
        press(m, KeyCode::Char(c));
    }
}

fn enter(m: &mut Model, times: usize) {
    for _ in 0..times {
        press(m, KeyCode::Enter);
    }
}

/// The wizard alone, as an 80x24 terminal shows it.
fn shown(m: &Model) -> String {
    let Some(Overlay::Wizard(w)) = &m.overlay else {
        panic!("the wizard is not open: {:?}", m.overlay)
    };
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| super::render(m, w, f, f.area())).unwrap();
    terminal.backend().to_string()
}

/// `n` and a name typed.
fn named(provider: Provider, name: &str) -> Model {
    let mut m = model(provider);
    press(&mut m, KeyCode::Char('n'));
    typed(&mut m, name);
    m
}

#[test]
fn step_1_name() {
    insta::assert_snapshot!(shown(&named(Provider::Sandbox, "demo")));
}

#[test]
fn step_1_name_with_an_error_blocks_next() {
    let mut m = named(Provider::Sandbox, "prod-ai");
    enter(&mut m, 1);
    insta::assert_snapshot!(shown(&m));
}

#[test]
fn step_2_tier_table_with_monthly_costs() {
    let mut m = named(Provider::Sandbox, "demo");
    enter(&mut m, 1);
    press(&mut m, KeyCode::Down);
    insta::assert_snapshot!(shown(&m));
}

#[test]
fn step_3_region_current_first() {
    let mut m = named(Provider::Aws, "demo");
    enter(&mut m, 2);
    press(&mut m, KeyCode::Down);
    insta::assert_snapshot!(shown(&m));
}

#[test]
fn step_4_network_loading() {
    let mut m = named(Provider::Aws, "demo");
    enter(&mut m, 3);
    insta::assert_snapshot!(shown(&m));
}

#[test]
fn step_4_network_found_with_a_subnet_chosen() {
    let mut m = named(Provider::Sandbox, "demo");
    enter(&mut m, 3);
    update(&mut m, answers::vpcs("us-east-1"));
    press(&mut m, KeyCode::Tab);
    press(&mut m, KeyCode::Right);
    insta::assert_snapshot!(shown(&m));
}

#[test]
fn step_4_network_lookup_failed_takes_an_id() {
    let mut m = named(Provider::Aws, "demo");
    enter(&mut m, 3);
    update(
        &mut m,
        Msg::Found(Found::Networks {
            region: "us-east-1".into(),
            result: Err(
                "DescribeVpcs: UnauthorizedOperation: You are not authorized to perform this operation"
                    .into(),
            ),
        }),
    );
    press(&mut m, KeyCode::End);
    press(&mut m, KeyCode::Tab);
    typed(&mut m, "vpc-0abc123");
    insta::assert_snapshot!(shown(&m));
}

#[test]
fn step_5_instance_price_loading() {
    let mut m = named(Provider::Aws, "demo");
    enter(&mut m, 4);
    insta::assert_snapshot!(shown(&m));
}

#[test]
fn step_5_instance_live_prices_and_saving() {
    let mut m = named(Provider::Aws, "demo");
    enter(&mut m, 4);
    update(&mut m, answers::prices("t3.medium", 0.0137, 0.0416));
    insta::assert_snapshot!(shown(&m));
}

#[test]
fn step_5_instance_too_small_for_crawl4ai() {
    let mut m = named(Provider::Sandbox, "demo");
    enter(&mut m, 4);
    press(&mut m, KeyCode::Home);
    press(&mut m, KeyCode::Down);
    update(&mut m, answers::prices("t3.small", 0.0062, 0.0208));
    insta::assert_snapshot!(shown(&m));
}

#[test]
fn step_5_gpu_types_warn_of_the_g_quota() {
    let mut m = named(Provider::Sandbox, "demo");
    enter(&mut m, 1);
    press(&mut m, KeyCode::End);
    enter(&mut m, 3);
    update(&mut m, answers::prices("g4dn.xlarge", 0.1578, 0.526));
    // Loading, then too low: the deploy would be refused before creating anything.
    let loading = shown(&m);
    assert!(loading.contains("reading your quota"), "{loading}");
    update(
        &mut m,
        Msg::Found(Found::GpuQuota {
            region: "us-east-1".into(),
            instance_type: "g4dn.xlarge".into(),
            spot: true,
            result: Err("your account's spot quota for G instances is 0 vCPUs and g4dn.xlarge needs 4. \
                Request an increase in Service Quotas (EC2, quota L-3819A6DF), then deploy again; nothing was created"
                .into()),
        }),
    );
    insta::assert_snapshot!(shown(&m));
}

#[test]
fn step_6_access_while_the_caller_ip_loads() {
    let mut m = named(Provider::Aws, "demo");
    enter(&mut m, 1);
    press(&mut m, KeyCode::Down);
    enter(&mut m, 4);
    insta::assert_snapshot!(shown(&m));
}

#[test]
fn step_6_access_with_the_caller_ip_and_a_bad_cidr() {
    let mut m = named(Provider::Aws, "demo");
    enter(&mut m, 5);
    update(
        &mut m,
        Msg::Found(Found::CallerCidr {
            result: Ok(Cidr::parse("203.0.113.9/32").unwrap()),
        }),
    );
    press(&mut m, KeyCode::Tab);
    typed(&mut m, "10.0.0/8");
    enter(&mut m, 1);
    insta::assert_snapshot!(shown(&m));
}

#[test]
fn step_7_options() {
    let mut m = named(Provider::Sandbox, "demo");
    enter(&mut m, 6);
    press(&mut m, KeyCode::Tab);
    press(&mut m, KeyCode::Tab);
    typed(&mut m, "40");
    insta::assert_snapshot!(shown(&m));
}

#[test]
fn step_8_plan_with_deploy() {
    let mut m = named(Provider::Sandbox, "demo");
    enter(&mut m, 1);
    press(&mut m, KeyCode::Down);
    enter(&mut m, 2);
    update(&mut m, answers::vpcs("us-east-1"));
    enter(&mut m, 4);
    insta::assert_snapshot!(shown(&m));
}

#[test]
fn q_asks_before_leaving() {
    let mut m = named(Provider::Sandbox, "demo");
    enter(&mut m, 1);
    press(&mut m, KeyCode::Char('q'));
    insta::assert_snapshot!(shown(&m));
}

#[test]
fn the_wizard_over_the_dashboard_at_80x24() {
    let mut m = named(Provider::Sandbox, "demo");
    update(&mut m, Msg::Resize(80, 24));
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| crate::ui::view(&m, f)).unwrap();
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn step_5_instance_price_that_fell_back_to_an_estimate_says_why() {
    let mut m = named(Provider::Aws, "demo");
    enter(&mut m, 4);
    update(
        &mut m,
        Msg::Found(Found::Prices {
            region: "us-east-1".into(),
            instance_type: "t3.medium".into(),
            result: Ok(Prices {
                on_demand_per_hour: Some(0.0416),
                spot_per_hour: Some(0.0125),
                efs_gb_month: 0.30,
                on_demand_estimate: Some("Pricing API unavailable: us-east-1 list price".into()),
                spot_estimate: None,
            }),
        }),
    );
    insta::assert_snapshot!(shown(&m));
}

#[test]
fn step_5_instance_price_lookup_failed_shows_list_prices() {
    let mut m = named(Provider::Aws, "demo");
    enter(&mut m, 4);
    update(
        &mut m,
        Msg::Found(Found::Prices {
            region: "us-east-1".into(),
            instance_type: "t3.medium".into(),
            result: Err("could not connect to us-east-1: no credentials".into()),
        }),
    );
    insta::assert_snapshot!(shown(&m));
}

#[test]
fn step_6_access_when_the_caller_ip_lookup_failed_asks_for_a_cidr() {
    let mut m = named(Provider::Aws, "demo");
    enter(&mut m, 5);
    update(
        &mut m,
        Msg::Found(Found::CallerCidr {
            result: Err(
                "could not find your public IP (checkip.amazonaws.com did not answer)".into(),
            ),
        }),
    );
    // Nothing typed: Next stays put and says what to do.
    enter(&mut m, 1);
    let shown_now = shown(&m);
    assert!(shown_now.contains("6/8 Access"), "{shown_now}");
    insta::assert_snapshot!(shown(&m));
}

#[test]
fn step_8_plan_shows_who_can_reach_what() {
    let mut m = named(Provider::Sandbox, "demo");
    enter(&mut m, 1);
    press(&mut m, KeyCode::Down);
    enter(&mut m, 2);
    update(&mut m, answers::vpcs("us-east-1"));
    enter(&mut m, 4);
    for _ in 0..14 {
        press(&mut m, KeyCode::Char('j'));
    }
    let screen = shown(&m);
    assert!(screen.contains("Who can reach what"), "{screen}");
    insta::assert_snapshot!(screen);
}
