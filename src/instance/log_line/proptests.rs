//! Property tests of compose log line parsing: any text parses, and nothing
//! that could drive a terminal survives it.

use proptest::prelude::*;

use super::*;
use crate::domain::state::proptests::config;

/// Text with the escapes and separators a compose line can hold.
fn noisy_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => any::<String>(),
        2 => "[a-zA-Z0-9 :=|_-]{0,12}",
        1 => prop::sample::select(vec![
            "\u{1b}[", "\u{1b}[31m", "\u{1b}[0m", "\u{1b}[2J", "\u{1b}[?25l", "\u{1b}]0;t\u{7}",
            "\u{1b}]8;;x\u{1b}\\", "\u{1b}", "\u{1b}(B", "\t", "\r", "\n", " | ", "| ",
            "2026-11-23T12:00:00Z ", "n8n-1", "ERROR", "\u{9b}", "é", "\u{200b}",
        ])
        .prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|p| p.concat())
}

/// Colour codes only: ESC [ digits and semicolons m.
fn only_colour_escapes(text: &str) -> bool {
    let mut rest = text;
    while let Some(at) = rest.find('\u{1b}') {
        let tail = &rest[at + 1..];
        let Some(params) = tail.strip_prefix('[') else {
            return false;
        };
        let end = params.find(|c: char| !(c.is_ascii_digit() || c == ';'));
        if end.map(|e| params[e..].starts_with('m')) != Some(true) {
            return false;
        }
        rest = &params[end.unwrap_or(0) + 1..];
    }
    !text.chars().any(|c| c.is_control() && c != '\u{1b}')
}

fn stamp() -> impl Strategy<Value = Timestamp> {
    (0i64..253_402_300_799_999).prop_map(Timestamp::from_unix_millis)
}

proptest! {
    #![proptest_config(config(5000))]

    #[test]
    fn any_text_parses_without_control_characters(raw in noisy_text()) {
        let line = parse(&raw);
        prop_assert!(!line.message.chars().any(char::is_control), "{:?}", line.message);
        prop_assert_eq!(line.message.trim(), line.message.as_str());
        prop_assert!(!line.source.chars().any(|c| c == ' ' || c.is_control()));
        if let Some(coloured) = &line.coloured {
            prop_assert!(only_colour_escapes(coloured), "{coloured:?}");
            prop_assert_eq!(sanitize(coloured), line.message.clone(), "colours of the message");
        }
    }

    #[test]
    fn a_compose_line_splits_into_its_parts(
        source in "[a-z0-9][a-z0-9_-]{0,15}",
        pad in " {1,6}",
        at in stamp(),
        message in noisy_text(),
    ) {
        let line = parse(&format!("{source}{pad}| {at} {message}"));
        prop_assert_eq!(&line.source, &source);
        prop_assert_eq!(line.at, Some(at));
        let expected = sanitize(&message);
        prop_assert_eq!(line.message.as_str(), expected.trim());
        prop_assert_eq!(line.service, service_of(&source));
    }
}
