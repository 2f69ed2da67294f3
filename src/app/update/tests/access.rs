//! Who can reach a stack and the ways in: `x`, `S`, `f`, `C`, and the offer
//! to admit this machine's address. Message in; model and effects out.

use crossterm::event::KeyCode;

use super::{code, key, model_with, stack, t};
use crate::app::effect::Effect;
use crate::app::model::{Model, Offer, Overlay, Pane};
use crate::app::msg::Msg;
use crate::app::update::update;
use crate::cloud::Cidr;
use crate::deploy::access::AccessChange;
use crate::domain::exposure::OutsideHealth;
use crate::domain::state::DeploymentConfig;
use crate::domain::{DeploymentState, Provider, StackStatus, Tier};
use crate::monitor::watch::SweepReport;

const MOVED: &str = "unreachable from here: 203.0.113.7 is not among the allowed CIDRs \
                     (198.51.100.7/32); add it with `geusemaker-tui access demo --add 203.0.113.7/32`";

/// A running dev stack allowing 198.51.100.7/32.
fn demo(provider: Provider) -> DeploymentState {
    let mut s = stack("demo", StackStatus::Running);
    s.provider = provider;
    s.instance_id = Some("i-0123456789abcdef0".into());
    s.config = Some(DeploymentConfig {
        allowed_cidrs: vec!["198.51.100.7/32".into()],
        ..DeploymentConfig::default()
    });
    s
}

fn aws_model(tools_missing: &[&'static str]) -> Model {
    let mut m = model_with(vec![demo(Provider::Aws)]);
    m.provider = Provider::Aws;
    m.session_tools_missing = tools_missing.to_vec();
    m
}

fn notice(m: &Model) -> String {
    m.notices.back().map(|n| n.text.clone()).unwrap_or_default()
}

#[test]
fn s_without_the_tools_shows_the_command_and_how_to_install_them() {
    let mut m = aws_model(&["aws", "session-manager-plugin"]);
    m.aws_profile = Some("work".into());
    assert!(update(&mut m, key('S')).is_empty(), "nothing runs");
    let Some(Overlay::Command(dialog)) = &m.overlay else {
        panic!("no dialog: {:?}", m.overlay)
    };
    assert_eq!(
        dialog.command,
        "aws ssm start-session --region us-east-1 --profile work --target i-0123456789abcdef0"
    );
    let details = dialog.details.join("\n");
    assert!(details.contains("install the AWS CLI v2"), "{details}");
    assert!(
        details.contains("session-manager-plugin is not on PATH"),
        "{details}"
    );
    assert!(details.contains("geusemaker-tui shell demo"), "{details}");
    let command = dialog.command.clone();
    assert_eq!(
        update(&mut m, key('y')),
        vec![Effect::CopyToClipboard(command)],
        "y copies it"
    );
    assert!(m.overlay.is_none());
}

#[test]
fn s_with_the_tools_hands_the_terminal_to_the_shell() {
    let mut m = aws_model(&[]);
    let effects = update(&mut m, key('S'));
    let [Effect::Shell { stack, command }] = effects.as_slice() else {
        panic!("no shell: {effects:?}")
    };
    assert_eq!(stack, "demo");
    assert_eq!(&command[..3], ["aws", "ssm", "start-session"]);
    assert!(m.overlay.is_none());
    update(
        &mut m,
        Msg::ShellEnded {
            stack: "demo".into(),
            result: Ok("the shell on demo ended".into()),
            missing: vec!["session-manager-plugin"],
        },
    );
    assert_eq!(notice(&m), "the shell on demo ended");
    assert_eq!(m.session_tools_missing, ["session-manager-plugin"]);
}

#[test]
fn s_on_a_sandbox_stack_says_there_is_no_instance_to_log_into() {
    let mut m = model_with(vec![demo(Provider::Sandbox)]);
    assert!(update(&mut m, key('S')).is_empty());
    assert!(m.overlay.is_none());
    assert!(
        notice(&m).contains("no instance to log into"),
        "{}",
        notice(&m)
    );
}

#[test]
fn f_on_the_health_pane_shows_the_forward_command_of_the_service() {
    let mut m = aws_model(&["session-manager-plugin"]);
    m.focus = Pane::Health;
    update(&mut m, key('j'));
    update(&mut m, key('j'));
    assert!(update(&mut m, key('f')).is_empty());
    let Some(Overlay::Command(dialog)) = &m.overlay else {
        panic!("no dialog: {:?}", m.overlay)
    };
    assert_eq!(dialog.command, "geusemaker-tui forward demo qdrant");
    let details = dialog.details.join("\n");
    assert!(
        details.contains(
            r#"It runs: aws ssm start-session --region us-east-1 --target i-0123456789abcdef0 --document-name AWS-StartPortForwardingSession --parameters '{"portNumber":["6333"],"localPortNumber":["6333"]}'"#
        ),
        "{details}"
    );
    assert!(
        details.contains("answers at http://127.0.0.1:6333"),
        "{details}"
    );
    assert!(details.contains("qdrant-api-key"), "{details}");
    assert!(
        details.contains("session-manager-plugin is not on PATH"),
        "{details}"
    );
    assert_eq!(
        update(&mut m, key('y')),
        vec![Effect::CopyToClipboard(
            "geusemaker-tui forward demo qdrant".into()
        )]
    );
}

#[test]
fn the_health_cursor_stays_on_the_five_services() {
    let mut m = aws_model(&[]);
    m.focus = Pane::Health;
    for _ in 0..9 {
        update(&mut m, key('j'));
    }
    assert_eq!(m.health_service(), crate::domain::Service::Postgres);
    update(&mut m, key('g'));
    assert_eq!(m.health_service(), crate::domain::Service::N8n);
}

fn unreachable_sweep(stack: &str, note: &str) -> Msg {
    Msg::Swept(Box::new(SweepReport {
        at: t(30.0),
        stack: stack.into(),
        status: StackStatus::Running,
        services: Vec::new(),
        verdict: "unreachable",
        notes: vec![note.into()],
        spot: None,
        target_health: None,
        action: None,
        outside: Some(OutsideHealth {
            at: t(30.0),
            url: "http://198.51.100.20:5678".into(),
            reachable: false,
            response_time_ms: None,
            error: Some(note.into()),
        }),
        account: None,
    }))
}

#[test]
fn unreachable_from_a_new_address_offers_to_allow_it_and_yes_sets_access() {
    let mut m = aws_model(&[]);
    assert!(update(&mut m, unreachable_sweep("demo", MOVED)).is_empty());
    let cidr = Cidr::parse("203.0.113.7/32").unwrap();
    assert!(
        matches!(&m.overlay, Some(Overlay::Offer(Offer::Access { stack, cidr: c, .. })) if stack == "demo" && *c == cidr),
        "{:?}",
        m.overlay
    );
    assert!(
        m.health["demo"].outside.is_some(),
        "the outside view is kept"
    );
    let effects = update(&mut m, key('y'));
    assert_eq!(
        effects,
        vec![Effect::SetAccess {
            stack: "demo".parse().unwrap(),
            change: AccessChange::Add(cidr),
        }]
    );
    assert!(m.access_pending.contains("demo"));
    update(&mut m, unreachable_sweep("demo", MOVED));
    assert!(m.overlay.is_none(), "not offered again while it is applied");
    update(
        &mut m,
        Msg::AccessChanged {
            stack: "demo".into(),
            result: Ok("demo now admits 198.51.100.7/32, 203.0.113.7/32".into()),
        },
    );
    assert!(m.access_pending.is_empty());
    assert_eq!(
        notice(&m),
        "demo now admits 198.51.100.7/32, 203.0.113.7/32"
    );
}

#[test]
fn a_declined_address_is_not_offered_again() {
    let mut m = aws_model(&[]);
    update(&mut m, unreachable_sweep("demo", MOVED));
    assert!(update(&mut m, key('n')).is_empty());
    assert!(
        notice(&m).contains("access demo --add 203.0.113.7/32"),
        "{}",
        notice(&m)
    );
    update(&mut m, unreachable_sweep("demo", MOVED));
    assert!(m.overlay.is_none());
}

#[test]
fn no_offer_without_a_cidr_set_to_change_or_an_address_to_add() {
    // A reason that names no address (the network, say).
    let mut m = aws_model(&[]);
    update(
        &mut m,
        unreachable_sweep("demo", "unreachable from here: timed out"),
    );
    assert!(m.overlay.is_none());
    // Already allowed (the sweep's state was older).
    let mut m = aws_model(&[]);
    if let Some(c) = m.stacks[0].config.as_mut() {
        c.allowed_cidrs.push("203.0.113.0/24".into());
    }
    update(&mut m, unreachable_sweep("demo", MOVED));
    assert!(m.overlay.is_none());
    // A gpu stack: CloudFront serves it, there is no set to change.
    let mut gpu = demo(Provider::Aws);
    gpu.tier = Some(Tier::Gpu);
    let mut m = model_with(vec![gpu]);
    m.provider = Provider::Aws;
    assert!(crate::deploy::access::not_applicable(&m.stacks[0]).is_some());
    update(&mut m, unreachable_sweep("demo", MOVED));
    assert!(m.overlay.is_none());
}

#[test]
fn c_picks_a_secret_and_only_its_name_comes_back() {
    let mut m = model_with(vec![demo(Provider::Sandbox)]);
    assert!(update(&mut m, key('C')).is_empty());
    assert!(matches!(m.overlay, Some(Overlay::Secrets(_))));
    update(&mut m, key('j'));
    let effects = update(&mut m, code(KeyCode::Enter));
    assert_eq!(
        effects,
        vec![Effect::CopySecret {
            stack: "demo".into(),
            name: "postgres-password",
        }]
    );
    assert!(m.overlay.is_none());
    update(
        &mut m,
        Msg::SecretCopied {
            stack: "demo".into(),
            name: "postgres-password",
            result: Ok(()),
        },
    );
    assert_eq!(notice(&m), "copied demo's postgres-password (OSC 52)");
}

#[test]
fn x_shows_the_exposure_and_esc_closes_it() {
    let mut m = model_with(vec![demo(Provider::Sandbox)]);
    update(&mut m, key('x'));
    assert!(
        matches!(&m.overlay, Some(Overlay::Exposure { stack, scroll: 0 }) if stack == "demo"),
        "{:?}",
        m.overlay
    );
    update(&mut m, key('j'));
    assert!(matches!(
        m.overlay,
        Some(Overlay::Exposure { scroll: 1, .. })
    ));
    update(&mut m, code(KeyCode::Esc));
    assert!(m.overlay.is_none());
}
