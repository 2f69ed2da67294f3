//! The Logs pane's model: a bounded ring of parsed lines of the selected
//! stack, and how the user looks at it: one service or all, following or
//! paused, a search, wrap, timestamps and a time window.

use std::collections::VecDeque;

use crate::domain::{Service, Timestamp};
use crate::instance::log_line::{Level, LogLine};

/// Lines kept per stack unless settings say otherwise; older ones fall off.
pub const DEFAULT_LOG_CAPACITY: usize = 50_000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogWindow {
    #[default]
    All,
    LastHour,
    Last5Min,
}

impl LogWindow {
    pub fn next(self) -> Self {
        match self {
            Self::All => Self::LastHour,
            Self::LastHour => Self::Last5Min,
            Self::Last5Min => Self::All,
        }
    }

    fn secs(self) -> Option<f64> {
        match self {
            Self::All => None,
            Self::LastHour => Some(3600.0),
            Self::Last5Min => Some(300.0),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::LastHour => "1h",
            Self::Last5Min => "5m",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct LogView {
    pub stack: Option<String>,
    pub lines: VecDeque<LogLine>,
    pub capacity: usize,
    /// New lines scroll into view; off while the user reads back.
    pub follow: bool,
    /// Shown lines below the current one (the bottom row), while paused.
    pub scroll: usize,
    pub service: Option<Service>,
    /// Substring, or a regex when it is one; highlighted, `n`/`N` jump.
    pub search: String,
    /// The search is being typed.
    pub searching: bool,
    pub wrap: bool,
    /// `None`: shown when the pane is wide enough.
    pub timestamps: Option<bool>,
    pub window: LogWindow,
}

impl LogView {
    pub fn for_stack(stack: Option<String>, capacity: usize) -> Self {
        Self {
            stack,
            capacity,
            follow: true,
            ..Self::default()
        }
    }

    /// The lines shown at `now`: the chosen service's, within the window.
    pub fn visible(&self, now: Timestamp) -> impl DoubleEndedIterator<Item = &LogLine> {
        let oldest = self.window.secs().map(|s| now.plus_secs(-s));
        self.lines.iter().filter(move |l| {
            (self.service.is_none() || l.service == self.service)
                && match (oldest, l.at) {
                    (Some(oldest), Some(at)) => at.0 >= oldest.0,
                    _ => true,
                }
        })
    }

    /// Add lines, dropping the oldest beyond the capacity; a paused view
    /// keeps the lines being read where they are.
    pub fn append(&mut self, lines: Vec<LogLine>, now: Timestamp) {
        let shown = lines
            .iter()
            .filter(|l| self.service.is_none() || l.service == self.service)
            .count();
        let mut previous = self.lines.back().map(|l| (l.service, l.level));
        for mut line in lines {
            inherit_level(&mut line, previous);
            previous = Some((line.service, line.level));
            self.lines.push_back(line);
        }
        let overflow = self.lines.len().saturating_sub(self.capacity.max(1));
        self.lines.drain(..overflow);
        if !self.follow {
            let max = self.visible(now).count().saturating_sub(1);
            self.scroll = (self.scroll + shown).min(max);
        }
    }

    pub fn matcher(&self) -> Option<Matcher> {
        Matcher::new(&self.search)
    }

    /// Move the current line to the next match, older (`back`) or newer;
    /// false when there is none.
    pub fn jump(&mut self, back: bool, now: Timestamp) -> bool {
        let Some(matcher) = self.matcher() else {
            return false;
        };
        let matching: Vec<bool> = self
            .visible(now)
            .map(|l| matcher.is_match(&l.message))
            .collect();
        let Some(last) = matching.len().checked_sub(1) else {
            return false;
        };
        let current = last.saturating_sub(self.scroll);
        let found = if back {
            (0..current).rev().find(|i| matching[*i])
        } else {
            (current + 1..=last).find(|i| matching[*i])
        };
        match found {
            Some(i) => {
                self.scroll = last - i;
                self.follow = false;
                true
            }
            None => false,
        }
    }

    /// The current line: the newest when following, else the bottom row.
    pub fn current(&self, now: Timestamp) -> Option<&LogLine> {
        self.visible(now).rev().nth(self.scroll)
    }
}

/// A stack trace's lines ("    at …", "Traceback…" continuations) carry no
/// level of their own: they take the one of the line they continue.
fn inherit_level(line: &mut LogLine, previous: Option<(Option<Service>, Level)>) {
    let continues = line.message.starts_with(char::is_whitespace)
        || line.message.starts_with("at ")
        || line.message.starts_with("Caused by");
    if let Some((service, level)) = previous
        && continues
        && service == line.service
        && level > line.level
    {
        line.level = level;
    }
}

/// What the search finds in a line: a case-insensitive substring, or a
/// regex when the pattern has regex syntax and compiles.
#[derive(Debug)]
pub enum Matcher {
    Text(String),
    Regex(regex::Regex),
}

impl Matcher {
    pub fn new(pattern: &str) -> Option<Self> {
        if pattern.is_empty() {
            return None;
        }
        let looks_like_regex = pattern.chars().any(|c| "\\.*+?()[]{}|^$".contains(c));
        if looks_like_regex
            && let Ok(re) = regex::RegexBuilder::new(pattern)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
        {
            return Some(Self::Regex(re));
        }
        Some(Self::Text(pattern.to_lowercase()))
    }

    pub fn is_match(&self, text: &str) -> bool {
        match self {
            Self::Text(t) => text.to_lowercase().contains(t.as_str()),
            Self::Regex(re) => re.is_match(text),
        }
    }

    /// Byte ranges of every match in `text`, in order.
    pub fn ranges(&self, text: &str) -> Vec<(usize, usize)> {
        match self {
            Self::Regex(re) => re
                .find_iter(text)
                .filter(|m| !m.is_empty())
                .map(|m| (m.start(), m.end()))
                .collect(),
            Self::Text(t) => {
                let lower = text.to_lowercase();
                // Lowercasing can change byte lengths; then highlight nothing.
                if lower.len() != text.len() {
                    return Vec::new();
                }
                lower
                    .match_indices(t.as_str())
                    .map(|(at, m)| (at, at + m.len()))
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::log_line;

    fn now() -> Timestamp {
        "2026-11-23T12:00:00Z".parse().unwrap()
    }

    fn view(lines: &[&str]) -> LogView {
        let mut v = LogView::for_stack(Some("demo".into()), 100);
        v.append(lines.iter().map(|l| log_line::parse(l)).collect(), now());
        v
    }

    #[test]
    fn the_ring_keeps_the_newest_lines() {
        let mut v = LogView::for_stack(Some("demo".into()), 3);
        let lines = (0..5)
            .map(|i| log_line::parse(&format!("n8n-1 | line {i}")))
            .collect();
        v.append(lines, now());
        let kept: Vec<&str> = v.lines.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(kept, ["line 2", "line 3", "line 4"]);
    }

    #[test]
    fn substring_and_regex_search_and_jumps_between_matches() {
        let mut v = view(&[
            "n8n-1 | 2026-11-23T11:59:00Z Error: timeout",
            "n8n-1 | 2026-11-23T11:59:01Z ok",
            "n8n-1 | 2026-11-23T11:59:02Z ERROR again",
            "n8n-1 | 2026-11-23T11:59:03Z fine",
        ]);
        v.search = "error".into();
        assert!(matches!(v.matcher(), Some(Matcher::Text(_))));
        assert!(v.jump(true, now()), "back to 'ERROR again'");
        assert_eq!(v.current(now()).unwrap().message, "ERROR again");
        assert!(!v.follow, "jumping pauses");
        assert!(v.jump(true, now()));
        assert_eq!(v.current(now()).unwrap().message, "Error: timeout");
        assert!(!v.jump(true, now()), "no older match");
        assert!(v.jump(false, now()));
        assert_eq!(v.current(now()).unwrap().message, "ERROR again");

        v.search = "^(ok|fine)$".into();
        let Some(m) = v.matcher() else { panic!() };
        assert!(matches!(m, Matcher::Regex(_)));
        assert!(m.is_match("fine") && !m.is_match("fine print"));
        assert_eq!(
            Matcher::new("time").unwrap().ranges("Error: TIMEOUT"),
            [(7, 11)]
        );
    }

    #[test]
    fn a_window_hides_older_lines() {
        let mut v = view(&[
            "n8n-1 | 2026-11-23T10:00:00Z two hours ago",
            "n8n-1 | 2026-11-23T11:30:00Z half an hour ago",
            "n8n-1 | 2026-11-23T11:58:00Z two minutes ago",
        ]);
        let count = |v: &LogView| v.visible(now()).count();
        assert_eq!(count(&v), 3);
        v.window = v.window.next();
        assert_eq!(count(&v), 2);
        v.window = v.window.next();
        assert_eq!(count(&v), 1);
        v.window = v.window.next();
        assert_eq!(v.window, LogWindow::All);
    }

    #[test]
    fn a_stack_trace_takes_the_level_of_the_error_it_belongs_to() {
        let v = view(&[
            "n8n-1 | 2026-11-23T11:59:00Z Error: connect ECONNREFUSED 172.18.0.3:5432",
            "n8n-1 | 2026-11-23T11:59:00Z     at TCPConnectWrap.afterConnect (node:net:1555:16)",
            "n8n-1 | 2026-11-23T11:59:01Z Editor is now accessible",
        ]);
        let levels: Vec<Level> = v.lines.iter().map(|l| l.level).collect();
        assert_eq!(levels, [Level::Error, Level::Error, Level::Info]);
    }
}
