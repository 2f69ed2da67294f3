//! The Connect view: its snapshots at 80×24 and wide, its keys, and that a
//! finished deploy opens it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::tests::{chat_bot_with, draw, key};
use crate::app::effect::Effect;
use crate::app::model::{Model, Overlay};
use crate::app::msg::Msg;
use crate::app::update::update;
use crate::domain::stage::OperationKind;
use crate::domain::state::DeploymentConfig;

fn reachable() -> Model {
    chat_bot_with(|stack, _| {
        stack.n8n_url = Some("http://203.0.113.50:5678".into());
        stack.config = Some(DeploymentConfig {
            owner_email: Some("owner@chat-bot.local".into()),
            allowed_cidrs: vec!["198.51.100.23/32".into()],
            ..DeploymentConfig::default()
        });
    })
}

fn press(m: &mut Model, c: char) -> Vec<Effect> {
    update(
        m,
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
    )
}

#[test]
fn connect_view_fits_80x24() {
    let mut m = reachable();
    key(&mut m, 'c');
    assert!(
        matches!(&m.overlay, Some(Overlay::Connect { stack, selected: 0 }) if stack == "chat-bot")
    );
    insta::assert_snapshot!(draw(&m, 80, 24).backend().to_string());
}

#[test]
fn connect_view_wide_with_a_service_selected() {
    let mut m = reachable();
    key(&mut m, 'c');
    for _ in 0..5 {
        key(&mut m, 'j');
    }
    insta::assert_snapshot!(draw(&m, 140, 40).backend().to_string());
}

#[test]
fn y_copies_the_selected_row_and_o_opens_n8n() {
    let mut m = reachable();
    key(&mut m, 'c');
    assert_eq!(
        press(&mut m, 'y'),
        [Effect::CopyToClipboard("http://203.0.113.50:5678".into())]
    );
    for _ in 0..4 {
        key(&mut m, 'j');
    }
    assert_eq!(
        press(&mut m, 'y'),
        [Effect::CopyToClipboard(
            "geusemaker-tui --sandbox forward chat-bot ollama".into()
        )]
    );
    assert_eq!(
        press(&mut m, 'o'),
        [Effect::OpenUrl("http://203.0.113.50:5678".into())]
    );
    for _ in 0..20 {
        key(&mut m, 'j');
    }
    assert!(
        matches!(m.overlay, Some(Overlay::Connect { selected: 7, .. })),
        "stops at the last row: {:?}",
        m.overlay
    );
    key(&mut m, 'c');
    assert!(m.overlay.is_none(), "c closes it too");
}

#[test]
fn a_finished_deploy_opens_the_connect_view_and_a_failed_one_does_not() {
    let mut m = reachable();
    let finished = |ok: bool| Msg::OperationFinished {
        stack: "chat-bot".into(),
        kind: OperationKind::Deploy,
        result: if ok {
            Ok("chat-bot is running".into())
        } else {
            Err("no".into())
        },
        offer: None,
    };
    update(&mut m, finished(false));
    assert!(m.overlay.is_none());
    update(&mut m, finished(true));
    assert!(matches!(&m.overlay, Some(Overlay::Connect { stack, .. }) if stack == "chat-bot"));
}

fn with_containers(m: &mut Model) {
    let now = m.now;
    let stack = m
        .stacks
        .iter_mut()
        .find(|s| s.stack_name == "chat-bot")
        .expect("chat-bot");
    stack.services = crate::domain::Service::ALL
        .into_iter()
        .enumerate()
        .map(|(i, service)| crate::domain::state::ServiceHealth {
            service_name: service,
            port: Some(service.port()),
            status: crate::domain::state::ServiceStatus::Healthy,
            last_check: Some(now),
            response_time_ms: Some(20 + i as u64),
            consecutive_failures: 0,
            error_message: None,
            oom_kills: Vec::new(),
            image: crate::instance::user_data::pinned_image(service).map(str::to_string),
            started_at: Some(now.plus_secs(-(600.0 + 3_600.0 * i as f64))),
            starts: Some(1 + u32::from(service == crate::domain::Service::N8n)),
            loaded: None,
            extra: Default::default(),
        })
        .collect();
}

#[test]
fn health_pane_lists_each_containers_start_starts_and_tag_where_it_fits() {
    let mut m = reachable();
    with_containers(&mut m);
    let wide = super::tests::draw_pane(&m, 72, 8, super::health::render);
    insta::assert_snapshot!("health_containers_wide", wide.backend());
    let narrow = super::tests::draw_pane(&m, 34, 8, super::health::render);
    insta::assert_snapshot!("health_containers_narrow", narrow.backend());
}

#[test]
fn r_asks_then_restarts_the_health_panes_service() {
    let mut m = reachable();
    with_containers(&mut m);
    m.focus = crate::app::model::Pane::Health;
    key(&mut m, 'j');
    key(&mut m, 'R');
    assert!(matches!(
        &m.overlay,
        Some(Overlay::ConfirmRestart { stack, service: crate::domain::Service::Ollama }) if stack == "chat-bot"
    ));
    insta::assert_snapshot!(draw(&m, 80, 24).backend().to_string());
    assert_eq!(
        press(&mut m, 'y'),
        [Effect::RestartService {
            stack: "chat-bot".into(),
            service: crate::domain::Service::Ollama
        }]
    );
    assert!(m.overlay.is_none());
    key(&mut m, 'R');
    assert!(press(&mut m, 'n').is_empty(), "n restarts nothing");
}

#[test]
fn health_pane_says_where_ollamas_model_sits_on_a_gpu_instance() {
    use crate::domain::models::LoadedModel;
    let mut m = reachable();
    with_containers(&mut m);
    let mut at = |vram: u64| {
        let stack = m.stacks.iter_mut().find(|s| s.stack_name == "chat-bot");
        let ollama = stack
            .and_then(|s| {
                s.services
                    .iter_mut()
                    .find(|h| h.service_name == crate::domain::Service::Ollama)
            })
            .expect("ollama");
        ollama.loaded = Some(vec![LoadedModel {
            name: "llama3.1:8b".into(),
            size_bytes: 6_100_000_000,
            vram_bytes: vram,
        }]);
        super::tests::draw_pane(&m, 72, 10, super::health::render)
    };
    insta::assert_snapshot!("health_gpu_in_use", at(6_100_000_000).backend());
    insta::assert_snapshot!("health_gpu_unseen", at(0).backend());
}

#[test]
fn on_a_real_terminal_the_connect_views_urls_are_osc8_links_and_nothing_else_moves() {
    let mut m = reachable();
    key(&mut m, 'c');
    let plain = draw(&m, 100, 30);
    m.hyperlinks = true;
    let linked = draw(&m, 100, 30);
    let (plain, linked) = (plain.backend().buffer(), linked.backend().buffer());
    let url = "http://203.0.113.50:5678";
    let link = super::hyperlinks::osc8(url, url);
    let links: Vec<_> = linked
        .content
        .iter()
        .filter(|c| c.symbol().starts_with("\x1b]8;;"))
        .map(|c| c.symbol().to_string())
        .collect();
    assert!(links.contains(&link), "{links:?}");
    assert!(links.iter().any(|l| l.contains("/webhook/")), "{links:?}");
    // Every other cell is as drawn without links, but those the links
    // cover: the backend never writes them (the terminal prints the link's
    // text there).
    // "\x1b]8;;" URL "\x1b\\" URL "\x1b]8;;\x1b\\": 14 bytes and the URL twice.
    let linked_text: usize = links.iter().map(|l| (l.len() - 14) / 2).sum();
    let differ: Vec<_> = plain
        .content
        .iter()
        .zip(&linked.content)
        .filter(|(a, b)| a.symbol() != b.symbol())
        .collect();
    assert!(
        differ
            .iter()
            .all(|(_, b)| b.symbol() == " " || b.symbol().starts_with("\x1b]8;;")),
        "{differ:?}"
    );
    assert_eq!(differ.len(), linked_text, "exactly the URLs' cells");
}
