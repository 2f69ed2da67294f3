//! Parsing `docker compose logs` lines: `n8n-1  | 2026-…Z message`, with or
//! without the timestamp, with or without a project prefix. Control characters
//! (colour codes, cursor moves) are removed: a log line must not drive the terminal.

use std::str::FromStr;

use crate::domain::{Service, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Info,
    Warn,
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    pub at: Option<Timestamp>,
    /// The container's name as compose printed it (`n8n-1`), or empty.
    pub source: String,
    pub service: Option<Service>,
    pub level: Level,
    /// Without colour or control characters: what search and saving see.
    pub message: String,
    /// The message with its colour (SGR) codes and nothing else, when it
    /// had any: the pane draws it coloured.
    pub coloured: Option<String>,
}

pub fn parse(raw: &str) -> LogLine {
    let clean = clean(raw, false);
    let (source, at, message) = split(&clean);
    let coloured = raw
        .contains("\u{1b}[")
        .then(|| clean_keeping_colour(raw))
        .map(|kept| split(&kept).2.trim().to_string())
        // Colour around the `name |` prefix can move where the line splits:
        // colour only what is, without its codes, the message.
        .filter(|kept| kept.len() != message.trim().len() && sanitize(kept) == message.trim());
    LogLine {
        at,
        service: service_of(source),
        level: level_of(message),
        source: source.to_string(),
        message: message.trim().to_string(),
        coloured,
    }
}

/// (source, timestamp, message) of a sanitized compose line.
fn split(line: &str) -> (&str, Option<Timestamp>, &str) {
    let (source, rest) = match line.split_once(" | ").or_else(|| line.split_once("| ")) {
        Some((src, rest)) if !src.trim().is_empty() && !src.trim().contains(' ') => {
            (src.trim(), rest)
        }
        _ => ("", line),
    };
    let (at, message) = match rest.split_once(' ') {
        Some((first, tail)) => match Timestamp::from_str(first) {
            Ok(t) => (Some(t), tail),
            Err(_) => (None, rest),
        },
        None => (None, rest),
    };
    (source, at, message)
}

/// `geusemaker-n8n-1`, `n8n_1`, `n8n` → n8n.
fn service_of(source: &str) -> Option<Service> {
    let trimmed = source.trim_end_matches(|c: char| c.is_ascii_digit());
    let base = trimmed.trim_end_matches(['-', '_']);
    Service::ALL.into_iter().find(|s| {
        base == s.name()
            || base.ends_with(&format!("-{}", s.name()))
            || base.ends_with(&format!("_{}", s.name()))
    })
}

/// The level, guessed from the first words in the usual formats: n8n
/// (`Error: …`), PostgreSQL (`ERROR:`, `FATAL:`, `WARNING:`), Qdrant (`ERROR`,
/// `WARN`), Ollama (`level=ERROR`, and `[GIN] 500`).
fn level_of(message: &str) -> Level {
    let words: Vec<String> = message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(12)
        .map(str::to_ascii_lowercase)
        .collect();
    let has = |names: &[&str]| words.iter().any(|w| names.contains(&w.as_str()));
    let gin_5xx = words
        .windows(2)
        .any(|w| w[0] == "gin" && w[1].starts_with('5') && w[1].len() == 3);
    if has(&["error", "err", "fatal", "panic", "critical", "crit"])
        || gin_5xx
        || message.contains("exited with code")
    {
        Level::Error
    } else if has(&["warn", "warning"]) || message.contains("SIGTERM") {
        Level::Warn
    } else {
        Level::Info
    }
}

/// Drop ANSI escape sequences and other control characters (tabs become spaces).
pub fn sanitize(raw: &str) -> String {
    clean(raw, false)
}

/// Like `sanitize`, but colour codes (`ESC [ … m`) stay; nothing else that
/// could drive a terminal does.
pub fn clean_keeping_colour(raw: &str) -> String {
    clean(raw, true)
}

fn clean(raw: &str, keep_colour: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ params final-byte. OSC: ESC ] text (BEL | ESC \).
                // Other escapes: ESC + one char.
                match chars.next() {
                    Some('[') => {
                        let mut sequence = String::from("\u{1b}[");
                        for c in chars.by_ref() {
                            sequence.push(c);
                            if ('@'..='~').contains(&c) {
                                break;
                            }
                        }
                        let colour = sequence.ends_with('m')
                            && sequence[2..sequence.len() - 1]
                                .chars()
                                .all(|c| c.is_ascii_digit() || c == ';');
                        if keep_colour && colour {
                            out.push_str(&sequence);
                        }
                    }
                    Some(']') => {
                        while let Some(c) = chars.next() {
                            if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some())
                            {
                                break;
                            }
                        }
                    }
                    _ => {}
                }
            }
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_is_kept_apart_and_nothing_else_that_drives_a_terminal() {
        let raw = "crawl4ai-1 | 2026-11-23T12:00:00Z \u{1b}[32mINFO\u{1b}[0m:  GET /health \u{1b}[2J\u{1b}]0;title\u{7}200";
        let line = parse(raw);
        assert_eq!(line.message, "INFO:  GET /health 200");
        assert_eq!(
            line.coloured.as_deref(),
            Some("\u{1b}[32mINFO\u{1b}[0m:  GET /health 200"),
            "only the colour codes stay"
        );
        assert_eq!(parse("n8n-1 | plain").coloured, None);
    }

    /// Found by `proptests`: the coloured text was the whole line, prefix
    /// and all (or empty), when colour codes surrounded the `|`.
    #[test]
    fn the_coloured_message_is_the_message() {
        let l = parse("\u{1b}[36mqdrant-1  |\u{1b}[0m \u{1b}[32mhello\u{1b}[0m");
        assert_eq!(l.message, "hello");
        assert_eq!(l.coloured, None, "not the prefix drawn as the message");
        let l = parse("\u{1b}[31m | ");
        assert_eq!((l.message.as_str(), l.coloured), ("|", None));
    }

    #[test]
    fn levels_from_each_services_format() {
        for (line, level) in [
            (
                "n8n-1 | 2026-11-23T12:00:00Z Error: connect ECONNREFUSED 172.18.0.3:5432",
                Level::Error,
            ),
            (
                "n8n-1 | 2026-11-23T12:00:00Z Editor is now accessible via: http://localhost:5678",
                Level::Info,
            ),
            (
                "n8n-1 | 2026-11-23T12:00:00Z Workflow failed with 0 errors",
                Level::Info,
            ),
            (
                "postgres-1 | 2026-11-23T12:00:00Z 2026-11-23 12:00:00 UTC [1] FATAL:  password authentication failed",
                Level::Error,
            ),
            (
                "postgres-1 | 2026-11-23T12:00:00Z 2026-11-23 12:00:00 UTC [1] WARNING:  could not flush dirty data",
                Level::Warn,
            ),
            (
                "postgres-1 | 2026-11-23T12:00:00Z 2026-11-23 12:00:00 UTC [1] LOG:  database system is ready",
                Level::Info,
            ),
            (
                "qdrant-1 | 2026-11-23T12:00:00Z 2026-11-23T12:00:00.1Z WARN qdrant::settings: low disk",
                Level::Warn,
            ),
            (
                "qdrant-1 | 2026-11-23T12:00:00Z 2026-11-23T12:00:00.1Z ERROR storage: segment corrupted",
                Level::Error,
            ),
            (
                "ollama-1 | 2026-11-23T12:00:00Z time=2026-11-23T12:00:00Z level=ERROR source=server.go msg=\"oom\"",
                Level::Error,
            ),
            (
                "ollama-1 | 2026-11-23T12:00:00Z time=2026-11-23T12:00:00Z level=INFO source=routes.go msg=\"ok\"",
                Level::Info,
            ),
            (
                "ollama-1 | 2026-11-23T12:00:00Z [GIN] 500 |  2.1s | 172.18.0.6 | POST \"/api/chat\"",
                Level::Error,
            ),
            (
                "ollama-1 | 2026-11-23T12:00:00Z [GIN] 200 |  412µs | 172.18.0.1 | GET \"/api/version\"",
                Level::Info,
            ),
        ] {
            assert_eq!(parse(line).level, level, "{line}");
        }
    }

    #[test]
    fn parses_compose_lines_with_timestamps() {
        let l = parse(
            "n8n-1       | 2026-11-23T20:31:05.123Z Editor is now accessible via: http://localhost:5678",
        );
        assert_eq!(l.service, Some(Service::N8n));
        assert_eq!(l.source, "n8n-1");
        assert_eq!(l.at.unwrap().to_string(), "2026-11-23T20:31:05.123Z");
        assert!(l.message.starts_with("Editor is now"));
        assert_eq!(l.level, Level::Info);
    }

    #[test]
    fn parses_prefixed_and_untimed_lines() {
        let l = parse("geusemaker-crawl4ai-1  | Application startup complete.");
        assert_eq!(l.service, Some(Service::Crawl4ai));
        assert_eq!(l.at, None);
        assert_eq!(l.message, "Application startup complete.");
        let l = parse("postgres_1 | FATAL:  the database system is starting up");
        assert_eq!(l.service, Some(Service::Postgres));
        assert_eq!(l.level, Level::Error);
    }

    #[test]
    fn lines_without_a_source_keep_their_text() {
        let l = parse("Attaching to n8n-1, ollama-1");
        assert_eq!(l.source, "");
        assert_eq!(l.service, None);
        assert_eq!(l.message, "Attaching to n8n-1, ollama-1");
    }

    #[test]
    fn escape_sequences_never_reach_the_screen() {
        let l = parse("\u{1b}[36mqdrant-1  |\u{1b}[0m \u{1b}]0;pwned\u{7} hello\u{1b}[2J");
        assert_eq!(l.service, Some(Service::Qdrant));
        assert!(!l.message.chars().any(char::is_control), "{:?}", l.message);
        assert_eq!(l.message, "hello");
    }
}
