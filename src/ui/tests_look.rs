//! Themes, NO_COLOR, compact mode, the palette, the mouse and rebound keys.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};

use super::tests::{draw, key, model};
use crate::app::model::{Overlay, Pane};
use crate::app::msg::Msg;
use crate::app::update::update;
use crate::domain::settings::ColorTheme;

/// The screen as runs of one style: `fg/bg/modifiers "text"`, row by row,
/// so a theme's snapshot shows its colours and not only its letters.
fn styled(terminal: &Terminal<TestBackend>) -> String {
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut runs: Vec<(String, String)> = Vec::new();
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            let style = format!("{:?}/{:?}/{:?}", c.fg, c.bg, c.modifier);
            match runs.last_mut() {
                Some((s, text)) if *s == style => text.push_str(c.symbol()),
                _ => runs.push((style, c.symbol().to_string())),
            }
        }
        let row: Vec<String> = runs
            .into_iter()
            .filter(|(_, text)| !text.trim().is_empty())
            .map(|(s, text)| format!("{s} {:?}", text.trim_end()))
            .collect();
        out.push_str(&format!("{y:2}: {}\n", row.join(" · ")));
    }
    out
}

#[test]
fn every_theme_draws_the_dashboard_in_its_own_colours() {
    let mut seen = Vec::new();
    for theme in ColorTheme::NAMED {
        let mut m = model();
        m.theme = theme;
        let screen = draw(&m, 80, 24);
        let name = format!("theme_{}_80x24", theme.name());
        insta::assert_snapshot!(name, styled(&screen));
        // Same words in every theme: only the styles differ.
        assert_eq!(
            screen.backend().to_string(),
            draw(&model(), 80, 24).backend().to_string()
        );
        seen.push(styled(&screen));
    }
    seen.dedup();
    assert_eq!(seen.len(), ColorTheme::NAMED.len(), "two themes look alike");
}

#[test]
fn the_color_blind_theme_uses_no_red_or_green() {
    let mut m = model();
    m.theme = ColorTheme::ColorBlind;
    let screen = draw(&m, 132, 36);
    for cell in screen.backend().buffer().content.iter() {
        for c in [cell.fg, cell.bg] {
            assert!(
                !matches!(
                    c,
                    Color::Red | Color::Green | Color::LightRed | Color::LightGreen
                ),
                "{c:?} at {:?}",
                cell.symbol()
            );
        }
    }
}

#[test]
fn no_color_leaves_no_colour_and_shows_the_selection_reversed() {
    let mut m = model();
    m.theme = ColorTheme::NoColor;
    m.selected = Some("chat-bot".into());
    // The wizard and a log search bring their own colours: cleared too.
    let screen = draw(&m, 80, 24);
    let buf = screen.backend().buffer();
    for cell in buf.content.iter() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset));
        assert!(!cell.modifier.contains(Modifier::DIM));
    }
    let row = (0..24)
        .find(|&y| {
            let text: String = (0..30).map(|x| buf[(x, y)].symbol().to_string()).collect();
            text.contains("chat-bot")
        })
        .expect("chat-bot is listed");
    assert!(
        buf[(3, row)].modifier.contains(Modifier::REVERSED),
        "the selected stack is in reverse video"
    );
    insta::assert_snapshot!("theme_no_color_text_80x24", screen.backend());
}

#[test]
fn compact_mode_gives_the_lists_and_logs_more_rows() {
    let mut m = model();
    let area = ratatui::layout::Rect::new(0, 0, 80, 24);
    let normal = super::regions(&m, area);
    m.compact = true;
    let compact = super::regions(&m, area);
    assert!(compact.logs.height > normal.logs.height);
    assert!(compact.stacks.height >= normal.stacks.height);
    insta::assert_snapshot!("compact_80x24", draw(&m, 80, 24).backend());
}

fn press(m: &mut Model, code: KeyCode) {
    update(m, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

use crate::app::model::Model;

fn type_text(m: &mut Model, text: &str) {
    for c in text.chars() {
        key(m, c);
    }
}

#[test]
fn the_palette_completes_dest_to_destroy_and_enter_asks_first() {
    let mut m = model();
    m.selected = Some("chat-bot".into());
    key(&mut m, ':');
    type_text(&mut m, "dest");
    insta::assert_snapshot!("palette_dest_80x24", draw(&m, 80, 24).backend());
    press(&mut m, KeyCode::Enter);
    match &m.overlay {
        Some(Overlay::ConfirmDestroy(c)) => assert_eq!(c.stack, "chat-bot"),
        other => panic!("expected the destroy confirmation, got {other:?}"),
    }
    assert_eq!(
        m.palette_history.back().map(String::as_str),
        Some("destroy")
    );
}

#[test]
fn the_palette_takes_a_stack_and_remembers_what_ran() {
    let mut m = model();
    key(&mut m, ':');
    type_text(&mut m, "theme dark");
    press(&mut m, KeyCode::Enter);
    key(&mut m, ':');
    type_text(&mut m, "connect  chat-bot");
    let effects = update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    assert!(
        effects.contains(&crate::app::effect::Effect::SavePaletteHistory(vec![
            "theme dark".into(),
            "connect chat-bot".into()
        ])),
        "kept for the next session, oldest first: {effects:?}"
    );
    assert!(matches!(&m.overlay, Some(Overlay::Connect { stack, .. }) if stack == "chat-bot"));
    assert_eq!(m.selected.as_deref(), Some("chat-bot"));
    press(&mut m, KeyCode::Esc);
    key(&mut m, ':');
    insta::assert_snapshot!("palette_history_80x24", draw(&m, 80, 24).backend());
    // Empty, the history comes first: Enter runs it again.
    press(&mut m, KeyCode::Enter);
    assert!(matches!(&m.overlay, Some(Overlay::Connect { .. })));
}

#[test]
fn the_palette_switches_themes_and_says_why_a_command_means_nothing() {
    let mut m = model();
    key(&mut m, ':');
    type_text(&mut m, "theme light");
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.theme, ColorTheme::Light);
    key(&mut m, ':');
    type_text(&mut m, "zzzz");
    press(&mut m, KeyCode::Enter);
    let said = m.notices.back().map(|n| n.text.clone()).unwrap_or_default();
    assert!(said.contains("no command \"zzzz\""), "{said}");
    assert!(m.overlay.is_none());
}

#[test]
fn read_only_palette_hides_destroy_and_refuses_it_typed_out() {
    let mut m = model();
    m.readonly = true;
    m.selected = Some("chat-bot".into());
    key(&mut m, ':');
    type_text(&mut m, "destroy chat-bot");
    let screen = draw(&m, 80, 24).backend().to_string();
    assert!(screen.contains("0 matches"), "{screen}");
    press(&mut m, KeyCode::Enter);
    assert!(m.overlay.is_none());
    let said = m.notices.back().map(|n| n.text.clone()).unwrap_or_default();
    assert!(said.starts_with("read-only: destroy is off"), "{said}");
}

fn click(m: &mut Model, column: u16, row: u16, kind: MouseEventKind) {
    let event = MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    update(m, Msg::Mouse(event));
}

/// Where `text` is drawn first, as (column, row).
fn find(m: &Model, text: &str) -> (u16, u16) {
    let screen = draw(m, m.width, m.height);
    let buf = screen.backend().buffer();
    for y in 0..m.height {
        let row: String = (0..m.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        if let Some(at) = row.find(text) {
            return (row[..at].chars().count() as u16, y);
        }
    }
    panic!("{text} is not on the screen");
}

#[test]
fn a_click_selects_the_second_stack_and_focuses_its_pane() {
    for (width, height) in [(80, 24), (132, 36)] {
        let mut m = model();
        update(&mut m, Msg::Resize(width, height));
        m.selected = Some("chat-bot".into());
        m.focus = Pane::Logs;
        let (x, y) = find(&m, "failed-o");
        click(&mut m, x, y, MouseEventKind::Down(MouseButton::Left));
        assert_eq!(
            m.selected.as_deref(),
            Some("failed-one"),
            "{width}x{height}"
        );
        assert_eq!(m.focus, Pane::Stacks);
    }
}

#[test]
fn the_wheel_scrolls_the_pane_under_it_and_m_turns_the_mouse_off() {
    let mut m = model();
    update(&mut m, Msg::Resize(80, 24));
    let logs = super::regions(&m, ratatui::layout::Rect::new(0, 0, 80, 24)).logs;
    click(&mut m, logs.x + 2, logs.y + 2, MouseEventKind::ScrollUp);
    assert_eq!(m.focus, Pane::Logs);
    assert!(!m.logs.follow, "reading back pauses");
    assert_eq!(m.logs.scroll, 3);
    let effects = update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Char('m'), KeyModifiers::NONE)),
    );
    assert!(!m.mouse);
    assert!(matches!(
        effects[..],
        [crate::app::effect::Effect::Mouse(false)]
    ));
    let (x, y) = find(&m, "failed-o");
    click(&mut m, x, y, MouseEventKind::Down(MouseButton::Left));
    assert_ne!(
        m.selected.as_deref(),
        Some("failed-one"),
        "off: clicks do nothing"
    );
}

#[test]
fn a_rebound_key_works_and_help_and_footer_show_it() {
    let mut m = model();
    let (keymap, problems) =
        crate::app::keymap::custom::apply(br#"{"destroy": "D", "help": "F1"}"#);
    assert!(problems.is_empty(), "{problems:?}");
    m.keymap = keymap;
    m.selected = Some("chat-bot".into());
    m.focus = Pane::Stacks;
    key(&mut m, 'd');
    assert!(m.overlay.is_none(), "d is no longer destroy");
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Char('D'), KeyModifiers::SHIFT)),
    );
    assert!(matches!(m.overlay, Some(Overlay::ConfirmDestroy(_))));
    press(&mut m, KeyCode::Esc);
    let footer = draw(&m, 132, 36).backend().to_string();
    assert!(
        footer.contains("D destroy") && footer.contains("F1 help"),
        "{footer}"
    );
    press(&mut m, KeyCode::F(1));
    let help = draw(&m, 80, 30).backend().to_string();
    let row = help
        .lines()
        .find(|l| l.contains("Destroy the selected stack"))
        .expect("destroy is in the help");
    assert!(row.contains(" D "), "{row}");
    insta::assert_snapshot!("help_rebound_80x30", help);
}
