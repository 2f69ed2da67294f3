//! Read-only mode in the dashboard: the header says so, the keys that
//! change anything are struck through in the footer and refused with a
//! notice, and a dialog's own change (a model's pull) is held back.

use super::tests::{draw, key, model};
use crate::app::effect::Effect;
use crate::app::model::{Overlay, Pane};
use crate::app::msg::Msg;
use crate::app::update::update;

#[test]
fn read_only_says_so_and_refuses_d_with_a_notice() {
    let mut m = model();
    m.readonly = true;
    m.selected = Some("chat-bot".into());
    m.focus = Pane::Stacks;
    key(&mut m, 'd');
    assert!(m.overlay.is_none(), "no destroy dialog");
    let said = m.notices.back().map(|n| n.text.clone()).unwrap_or_default();
    assert!(said.starts_with("read-only: destroy is off"), "{said}");
    for c in ['r', 'u', 'n'] {
        key(&mut m, c);
        assert!(m.overlay.is_none(), "{c} opened {:?}", m.overlay);
    }
    let screen = draw(&m, 80, 24);
    insta::assert_snapshot!("readonly_80x24", screen.backend().to_string());
    // The footer strikes the changing keys through, and not the others.
    let buf = screen.backend().buffer();
    let footer: String = (0..80).map(|x| buf[(x, 23)].symbol().to_string()).collect();
    let struck = |word: &str| {
        let at = footer
            .find(word)
            .unwrap_or_else(|| panic!("{word} not in {footer:?}")) as u16;
        buf[(at, 23)]
            .modifier
            .contains(ratatui::style::Modifier::CROSSED_OUT)
    };
    assert!(struck("destroy") && struck("rollback"), "{footer}");
    assert!(!struck("filter") && !struck("help"), "{footer}");
    // Looking still works.
    key(&mut m, 'c');
    assert!(matches!(m.overlay, Some(Overlay::Connect { .. })));
}

/// `p` in the Models view, read-only or not: the effects.
fn pull_in_models_view(readonly: bool) -> (Vec<Effect>, Option<String>) {
    let mut m = model();
    m.readonly = readonly;
    m.selected = Some("chat-bot".into());
    m.overlay = Some(Overlay::Models {
        stack: "chat-bot".into(),
        selected: 0,
    });
    let effects = update(
        &mut m,
        Msg::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char('p'),
            crossterm::event::KeyModifiers::NONE,
        )),
    );
    (effects, m.notices.back().map(|n| n.text.clone()))
}

#[test]
fn a_dialogs_own_change_is_held_back_too() {
    let pulls = |e: &[Effect]| e.iter().any(|e| matches!(e, Effect::PullModel { .. }));
    let (effects, _) = pull_in_models_view(false);
    assert!(pulls(&effects), "p pulls when not read-only: {effects:?}");
    let (effects, said) = pull_in_models_view(true);
    assert!(!pulls(&effects), "{effects:?}");
    assert_eq!(said.as_deref(), Some("read-only: that change is off"));
}
