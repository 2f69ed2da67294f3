//! The Models view: its snapshots at 80×24 and wide, and its keys and
//! messages: `M` reads, `p` pulls the tier's model with its progress, `x`
//! asks, then removes.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::tests::{chat_bot_with, draw, key};
use crate::app::effect::Effect;
use crate::app::model::{Model, Overlay};
use crate::app::msg::Msg;
use crate::app::update::update;
use crate::domain::models::{InstalledModel, LoadedModel, ModelsView};

fn with_instance() -> Model {
    chat_bot_with(|stack, _| stack.instance_id = Some("i-0abc".into()))
}

fn press(m: &mut Model, c: char) -> Vec<Effect> {
    update(
        m,
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
    )
}

fn read(m: &mut Model) {
    let view = ModelsView {
        installed: vec![
            InstalledModel {
                name: "llama3.2:3b".into(),
                size_bytes: 2_019_393_189,
                modified_at: Some("2026-12-04T09:12:00Z".into()),
            },
            InstalledModel {
                name: "nomic-embed-text:latest".into(),
                size_bytes: 274_302_450,
                modified_at: Some("2026-12-03T18:40:00Z".into()),
            },
        ],
        loaded: vec![LoadedModel {
            name: "llama3.2:3b".into(),
            size_bytes: 3_400_000_000,
            vram_bytes: 0,
        }],
    };
    update(
        m,
        Msg::ModelsRead {
            stack: "chat-bot".into(),
            result: Ok(view),
        },
    );
}

#[test]
fn m_reads_the_models_and_the_view_lists_them_at_80x24() {
    let mut m = with_instance();
    assert_eq!(
        press(&mut m, 'M'),
        [Effect::ReadModels {
            stack: "chat-bot".into()
        }]
    );
    insta::assert_snapshot!("models_reading", draw(&m, 80, 24).backend().to_string());
    read(&mut m);
    assert!(matches!(
        &m.overlay,
        Some(Overlay::Models { selected: 0, .. })
    ));
    insta::assert_snapshot!("models_80x24", draw(&m, 80, 24).backend().to_string());
}

#[test]
fn p_pulls_the_tiers_model_and_the_view_shows_its_progress_wide() {
    let mut m = with_instance();
    press(&mut m, 'M');
    read(&mut m);
    assert_eq!(
        press(&mut m, 'p'),
        [Effect::PullModel {
            stack: "chat-bot".into(),
            name: "llama3.2:3b".into()
        }]
    );
    update(
        &mut m,
        Msg::PullProgress {
            stack: "chat-bot".into(),
            name: "llama3.2:3b".into(),
            line: "[██████████░░░░░░░░░░░░░░] 42% 0.85 GB of 2.02 GB · 40 MB/s · 0:29 left".into(),
        },
    );
    assert!(press(&mut m, 'p').is_empty(), "one pull at a time");
    insta::assert_snapshot!(
        "models_pulling_wide",
        draw(&m, 120, 30).backend().to_string()
    );
    let after = update(
        &mut m,
        Msg::PullEnded {
            stack: "chat-bot".into(),
            name: "llama3.2:3b".into(),
            result: Ok("llama3.2:3b is on chat-bot's EFS (2.02 GB)".into()),
        },
    );
    assert_eq!(
        after,
        [Effect::ReadModels {
            stack: "chat-bot".into()
        }],
        "a finished pull reads the list again"
    );
}

#[test]
fn x_asks_then_removes_the_selected_model() {
    let mut m = with_instance();
    press(&mut m, 'M');
    read(&mut m);
    key(&mut m, 'j');
    key(&mut m, 'x');
    assert!(matches!(
        &m.overlay,
        Some(Overlay::ConfirmRemoveModel { name, .. }) if name == "nomic-embed-text:latest"
    ));
    assert_eq!(
        press(&mut m, 'y'),
        [Effect::RemoveModel {
            stack: "chat-bot".into(),
            name: "nomic-embed-text:latest".into()
        }]
    );
    assert!(
        matches!(&m.overlay, Some(Overlay::Models { .. })),
        "back to the list"
    );
    key(&mut m, 'M');
    assert!(m.overlay.is_none(), "M closes it");
}

#[test]
fn a_stack_without_an_instance_has_no_models_view() {
    let mut m = chat_bot_with(|stack, _| stack.instance_id = None);
    assert!(press(&mut m, 'M').is_empty());
    assert!(m.overlay.is_none());
}
