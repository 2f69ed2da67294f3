//! Following compose logs through SSM, which is no stream: each read is a
//! command whose output is cut at 24,000 characters, and only once it has
//! finished. A cursor (the newest timestamp read, and the lines read at
//! exactly that instant, which the next read returns again) shows each line
//! once; a read that comes back near the cut is split into halves until each
//! part fits, so a burst loses nothing.

use std::collections::HashSet;
use std::future::Future;

use crate::cloud::CloudResult;
use crate::domain::Timestamp;

use crate::instance::log_line;

/// What `GetCommandInvocation` returns of a command's output, at most.
pub const SSM_OUTPUT_LIMIT: usize = 24_000;
/// Output this close to the limit may have been cut: read it in halves.
const NEAR_LIMIT: usize = SSM_OUTPUT_LIMIT - 1_000;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogCursor {
    since: Option<Timestamp>,
    /// The lines stamped exactly `since`: a read from `since` returns them again.
    at_since: HashSet<String>,
    /// Before any timestamped line (a booting instance's console), every
    /// read returns the same lines again: each is let through once.
    untimed: HashSet<String>,
}

impl LogCursor {
    /// Where the next read starts (`--since`), once anything was read.
    pub fn since(&self) -> Option<Timestamp> {
        self.since
    }

    /// The lines of `raw` not let through before, in order; the cursor moves
    /// to the newest timestamp. Lines without one (a stack trace's
    /// continuation) go with the line they follow.
    pub fn admit(&mut self, raw: Vec<String>) -> Vec<String> {
        let mut fresh = Vec::with_capacity(raw.len());
        let mut keep_following = true;
        for line in raw {
            let Some(at) = log_line::parse(&line).at else {
                let new = self.since.is_some() || self.untimed.insert(line.clone());
                if keep_following && new {
                    fresh.push(line);
                }
                continue;
            };
            self.untimed.clear();
            keep_following = match self.since {
                Some(since) if at.0 < since.0 => false,
                Some(since) if at.0 == since.0 => self.at_since.insert(line.clone()),
                _ => {
                    self.since = Some(at);
                    self.at_since.clear();
                    self.at_since.insert(line.clone());
                    true
                }
            };
            if keep_following {
                fresh.push(line);
            }
        }
        fresh
    }
}

/// The lines of `since..=until`, read with `read(since, until)`; a window
/// whose output may have been cut is read again as two halves. `cut` is true
/// only if a window too short to split (a millisecond) still overflowed.
pub async fn read_window<F, Fut>(
    read: F,
    since: Timestamp,
    until: Timestamp,
) -> CloudResult<Windowed>
where
    F: Fn(Timestamp, Timestamp) -> Fut,
    Fut: Future<Output = CloudResult<String>>,
{
    let mut pending = vec![(since, until)];
    let mut out = Windowed::default();
    while let Some((from, to)) = pending.pop() {
        let text = read(from, to).await?;
        out.reads += 1;
        let span = to.0 - from.0;
        if text.len() >= NEAR_LIMIT {
            if span > chrono::Duration::milliseconds(1) {
                let mid = Timestamp(from.0 + span / 2);
                // The earlier half first: the stack pops the last pushed.
                pending.push((mid, to));
                pending.push((from, mid));
                continue;
            }
            out.cut = true;
        }
        out.lines.extend(text.lines().map(str::to_string));
    }
    Ok(out)
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Windowed {
    pub lines: Vec<String>,
    pub cut: bool,
    /// How many commands it took.
    pub reads: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Timestamp {
        "2026-11-23T12:00:00Z".parse().unwrap()
    }

    /// `n` lines, ten to a millisecond, as `docker compose logs -t` prints them.
    fn burst(n: usize) -> Vec<(Timestamp, String)> {
        (0..n)
            .map(|i| {
                let at = Timestamp(t0().0 + chrono::Duration::microseconds(i as i64 * 100));
                let service = ["n8n-1     ", "ollama-1  ", "qdrant-1  "][i % 3];
                (at, format!("{service}| {at} line {i} of the burst"))
            })
            .collect()
    }

    /// A fake SSM: `--since/--until` inclusive, output cut at 24,000 characters.
    fn fake_ssm(
        log: &[(Timestamp, String)],
    ) -> impl Fn(Timestamp, Timestamp) -> std::future::Ready<CloudResult<String>> + '_ {
        move |since, until| {
            let mut text = String::new();
            for (at, line) in log {
                if at.0 >= since.0 && at.0 <= until.0 {
                    text.push_str(line);
                    text.push('\n');
                }
            }
            text.truncate(SSM_OUTPUT_LIMIT);
            std::future::ready(Ok(text))
        }
    }

    #[tokio::test]
    async fn a_hundred_thousand_line_burst_arrives_whole_and_once() {
        let log = burst(100_000);
        let until = log.last().unwrap().0;
        let read = read_window(fake_ssm(&log), t0(), until).await.unwrap();
        assert!(!read.cut);
        assert!(read.reads > 100, "it had to split: {} reads", read.reads);
        let mut cursor = LogCursor::default();
        let shown = cursor.admit(read.lines);
        let expected: Vec<String> = log.iter().map(|(_, l)| l.clone()).collect();
        assert_eq!(shown.len(), expected.len(), "no line lost or doubled");
        assert_eq!(shown, expected, "in order");
        assert_eq!(cursor.since(), Some(until));
    }

    #[tokio::test]
    async fn following_from_the_cursor_shows_each_line_once() {
        let log = burst(3_000);
        let mut cursor = LogCursor::default();
        let mut shown = Vec::new();
        // Polls that end at arbitrary instants, some within a millisecond.
        let mut until = t0();
        for step_us in [150, 2_000, 50, 30_000, 999, 100_000, 200_000] {
            until = Timestamp(until.0 + chrono::Duration::microseconds(step_us));
            let since = cursor.since().unwrap_or(t0());
            let read = read_window(fake_ssm(&log), since, until).await.unwrap();
            shown.extend(cursor.admit(read.lines));
        }
        let expected: Vec<String> = log
            .iter()
            .filter(|(at, _)| at.0 <= until.0)
            .map(|(_, l)| l.clone())
            .collect();
        assert_eq!(shown, expected);
    }

    #[test]
    fn lines_at_the_cursor_are_dropped_once_seen_and_continuations_follow_their_line() {
        let mut cursor = LogCursor::default();
        let a = "n8n-1  | 2026-11-23T12:00:00.5Z Error: boom".to_string();
        let trace = "    at run (/app/index.js:1:1)".to_string();
        let b = "n8n-1  | 2026-11-23T12:00:00.5Z retrying".to_string();
        assert_eq!(
            cursor.admit(vec![a.clone(), trace.clone()]),
            vec![a.clone(), trace.clone()]
        );
        // The next read starts at the same instant: a and its trace again, then b.
        assert_eq!(cursor.admit(vec![a, trace, b.clone()]), vec![b]);
    }

    #[test]
    fn a_booting_consoles_lines_show_once_however_often_it_is_read() {
        let mut cursor = LogCursor::default();
        let boot = vec![
            "console     | cloud-init: running modules".to_string(),
            "console     | mounted EFS".to_string(),
        ];
        assert_eq!(cursor.admit(boot.clone()), boot);
        let mut more = boot.clone();
        more.push("console     | docker started".into());
        assert_eq!(cursor.admit(more), ["console     | docker started"]);
        assert_eq!(cursor.since(), None, "no timestamp yet");
    }

    #[tokio::test]
    async fn a_millisecond_too_full_to_split_is_reported_cut() {
        let at = t0();
        let log: Vec<(Timestamp, String)> = (0..2_000)
            .map(|i| (at, format!("n8n-1  | {at} {i:>40}")))
            .collect();
        let read = read_window(fake_ssm(&log), at, at).await.unwrap();
        assert!(read.cut);
    }
}
