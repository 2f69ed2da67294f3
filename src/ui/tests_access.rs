//! Snapshots of who can reach a stack and the ways in: the Health pane's
//! two views, the exposure dialog, the shell, forward and secret dialogs,
//! and the offer to admit this machine's new address.

use super::tests::{chat_bot_with, draw, draw_pane, key, t};
use crate::app::model::{HealthPoint, Model, Overlay, Pane};
use crate::app::msg::Msg;
use crate::app::update::update;
use crate::domain::exposure::OutsideHealth;
use crate::domain::state::{DeploymentConfig, ServiceStatus};
use crate::domain::{Provider, Service, StackStatus, Timestamp};
use crate::monitor::watch::SweepReport;

const URL: &str = "http://chat-bot-1234.eu-west-1.elb.amazonaws.com";
const UNREACHABLE: &str = "unreachable from here: 203.0.113.7 is not among the allowed CIDRs \
                           (198.51.100.7/32); add it with `geusemaker-tui access chat-bot --add 203.0.113.7/32`";

fn reachable(at: Timestamp) -> OutsideHealth {
    OutsideHealth {
        at,
        url: URL.into(),
        reachable: true,
        response_time_ms: Some(212),
        error: None,
    }
}

fn unreachable(at: Timestamp) -> OutsideHealth {
    OutsideHealth {
        at,
        url: URL.into(),
        reachable: false,
        response_time_ms: None,
        error: Some(UNREACHABLE.into()),
    }
}

/// chat-bot (automation, behind an ALB, allowing 198.51.100.7/32) healthy
/// inside, with `outside` as this process last saw it.
fn chat_bot(outside: OutsideHealth) -> Model {
    let mut m = chat_bot_with(|stack, _| {
        stack.config = Some(DeploymentConfig {
            allowed_cidrs: vec!["198.51.100.7/32".into()],
            ..DeploymentConfig::default()
        });
        stack.alb_dns_name = Some("chat-bot-1234.eu-west-1.elb.amazonaws.com".into());
        stack.n8n_url = Some(URL.into());
    });
    let history = m.health.entry("chat-bot".into()).or_default();
    for (service, latencies) in [
        (Service::N8n, [38, 41, 45]),
        (Service::Ollama, [21, 19, 22]),
        (Service::Qdrant, [6, 7, 5]),
        (Service::Crawl4ai, [30, 28, 33]),
        (Service::Postgres, [2, 3, 2]),
    ] {
        let points = history.points.entry(service).or_default();
        for (i, ms) in latencies.into_iter().enumerate() {
            points.push_back(HealthPoint {
                at: t(40.0 + i as f64),
                status: ServiceStatus::Healthy,
                latency_ms: Some(ms),
            });
        }
    }
    history.outside = Some(outside);
    m
}

/// The same stack on AWS, seen from an AWS dashboard.
fn on_aws(mut m: Model) -> Model {
    m.provider = Provider::Aws;
    for s in &mut m.stacks {
        s.provider = Provider::Aws;
    }
    m
}

fn screen(m: &Model) -> String {
    draw(m, 80, 24).backend().to_string()
}

#[test]
fn health_pane_both_views_healthy() {
    let m = chat_bot(reachable(t(48.0)));
    insta::assert_snapshot!(draw_pane(&m, 28, 8, super::health::render).backend());
}

#[test]
fn health_pane_unreachable_from_here() {
    let m = chat_bot(unreachable(t(48.0)));
    insta::assert_snapshot!(draw_pane(&m, 28, 8, super::health::render).backend());
}

#[test]
fn health_pane_focused_shows_why_and_the_cursor() {
    let mut m = chat_bot(unreachable(t(48.0)));
    m.focus = Pane::Health;
    key(&mut m, 'j');
    key(&mut m, 'j');
    let terminal = draw_pane(&m, 40, 12, super::health::render);
    insta::assert_snapshot!(terminal.backend());
    // The cursor (for `f`) is on qdrant, the third row.
    let reversed = |y: u16| {
        let cell = &terminal.backend().buffer()[(1, y)];
        cell.modifier.contains(ratatui::style::Modifier::REVERSED)
    };
    assert!(reversed(3) && !reversed(2) && !reversed(4));
}

#[test]
fn health_pane_dims_an_old_outside_view() {
    let m = chat_bot(reachable(t(-600.0)));
    let terminal = draw_pane(&m, 40, 8, super::health::render);
    insta::assert_snapshot!(terminal.backend());
    let buffer = terminal.backend().buffer();
    let row: String = (0..40)
        .map(|x| buffer[(x, 6)].symbol().to_string())
        .collect();
    assert!(row.contains("10m ago"), "{row}");
    assert_eq!(buffer[(10, 6)].fg, ratatui::style::Color::DarkGray, "{row}");
}

#[test]
fn dashboard_with_the_health_pane_focused() {
    let mut m = chat_bot(unreachable(t(48.0)));
    m.focus = Pane::Health;
    insta::assert_snapshot!(screen(&m));
}

#[test]
fn exposure_dialog() {
    let mut m = chat_bot(unreachable(t(48.0)));
    key(&mut m, 'x');
    assert!(matches!(m.overlay, Some(Overlay::Exposure { .. })));
    insta::assert_snapshot!(screen(&m));
}

#[test]
fn exposure_dialog_of_a_public_webhooks_stack_wraps_and_scrolls() {
    let mut m = chat_bot(reachable(t(48.0)));
    let stack = m.stacks.iter_mut().find(|s| s.stack_name == "chat-bot");
    let config = stack.unwrap().config.as_mut().unwrap();
    config.certificate_arn = Some("arn:aws:acm:eu-west-1:123456789012:certificate/x".into());
    config.domain = Some("n8n.example.com".into());
    config.publish = Some(crate::domain::exposure::Publish::PublicWebhooks);
    key(&mut m, 'x');
    key(&mut m, 'j');
    insta::assert_snapshot!(screen(&m));
}

#[test]
fn shell_dialog_when_the_tools_are_missing() {
    let mut m = on_aws(chat_bot(reachable(t(48.0))));
    m.session_tools_missing = vec!["aws", "session-manager-plugin"];
    key(&mut m, 'S');
    insta::assert_snapshot!(screen(&m));
}

#[test]
fn forward_dialog_of_qdrant() {
    let mut m = on_aws(chat_bot(reachable(t(48.0))));
    m.session_tools_missing = vec!["session-manager-plugin"];
    m.focus = Pane::Health;
    m.health_cursor = 2;
    key(&mut m, 'f');
    insta::assert_snapshot!(screen(&m));
}

#[test]
fn secret_picker_shows_names_only() {
    let mut m = chat_bot(reachable(t(48.0)));
    key(&mut m, 'C');
    key(&mut m, 'j');
    insta::assert_snapshot!(screen(&m));
    // Enter reads it in the runner; the loop only hears the name back.
    update(
        &mut m,
        Msg::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Enter,
            crossterm::event::KeyModifiers::NONE,
        )),
    );
    update(
        &mut m,
        Msg::SecretCopied {
            stack: "chat-bot".into(),
            name: "postgres-password",
            result: Ok(()),
        },
    );
    let notice = m.current_notice().map(|n| n.text.clone());
    assert_eq!(
        notice.as_deref(),
        Some("copied chat-bot's postgres-password (OSC 52)")
    );
}

#[test]
fn unreachable_from_here_offers_to_allow_the_address() {
    let mut m = chat_bot(reachable(t(48.0)));
    update(
        &mut m,
        Msg::Swept(Box::new(SweepReport {
            at: t(50.0),
            stack: "chat-bot".into(),
            status: StackStatus::Running,
            services: Vec::new(),
            verdict: "unreachable",
            notes: vec![UNREACHABLE.into()],
            spot: None,
            target_health: None,
            action: None,
            outside: Some(unreachable(t(50.0))),
            account: None,
        })),
    );
    assert!(
        matches!(m.overlay, Some(Overlay::Offer(_))),
        "{:?}",
        m.overlay
    );
    insta::assert_snapshot!(screen(&m));
}

/// What a sandbox secret looks like: `sandbox-` and 16 hex digits.
fn holds_a_sandbox_secret(text: &str) -> bool {
    text.match_indices("sandbox-").any(|(at, _)| {
        let rest = &text[at + "sandbox-".len()..];
        rest.len() >= 16 && rest[..16].chars().all(|c| c.is_ascii_hexdigit())
    })
}

#[test]
fn no_snapshot_holds_a_secret_value() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui");
    for dir in [root.join("snapshots"), root.join("wizard/snapshots")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!holds_a_sandbox_secret(&text), "{}", path.display());
        }
    }
    assert!(holds_a_sandbox_secret("x sandbox-00c0ffee00c0ffee y"));
}
