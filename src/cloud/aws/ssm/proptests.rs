//! Property tests of what is made of SSM command output: the boot's stage
//! file (`cat /var/lib/geusemaker/stage`) and compose logs read in windows.

use std::cell::Cell;

use proptest::prelude::*;

use crate::cloud::CloudResult;
use crate::cloud::log_cursor::{self, LogCursor, SSM_OUTPUT_LIMIT};
use crate::domain::state::proptests::config;
use crate::domain::{Tier, Timestamp};
use crate::instance::boot::{self, BOOT_MARKERS, OLLAMA_ON_CPU, OLLAMA_ON_GPU};

fn tier() -> impl Strategy<Value = Tier> {
    prop::sample::select(Tier::ALL.to_vec())
}

/// Lines a stage file could hold, and lines it should not.
fn stage_line() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        prop::sample::select(BOOT_MARKERS.to_vec()),
        Just(OLLAMA_ON_GPU),
        Just(OLLAMA_ON_CPU),
        Just("failed:12"),
        Just("failed:"),
        Just("2026-11-23T10:00:00Z"),
        Just("\r"),
    ]
    .prop_map(str::to_string);
    let piece = prop_oneof![3 => word, 1 => any::<String>(), 1 => Just(" ".to_string())];
    prop::collection::vec(piece, 0..5).prop_map(|p| p.join(" "))
}

fn stage_file() -> impl Strategy<Value = String> {
    prop::collection::vec(stage_line(), 0..10).prop_map(|l| l.join("\n"))
}

fn every_marker(tier: Tier) -> Vec<&'static str> {
    let mut all = BOOT_MARKERS.to_vec();
    if tier == Tier::Gpu {
        all.extend([OLLAMA_ON_GPU, OLLAMA_ON_CPU]);
    }
    all
}

fn stamp(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(1_795_000_000_000 + ms)
}

/// A compose log: lines with non-decreasing timestamps (several per
/// millisecond), each distinct, some followed by an untimed continuation.
fn compose_log() -> impl Strategy<Value = Vec<(Timestamp, String)>> {
    prop::collection::vec((0i64..3, any::<bool>()), 0..60).prop_map(|steps| {
        let mut at = 0;
        let mut log = Vec::new();
        for (i, (step, trace)) in steps.into_iter().enumerate() {
            at += step;
            let t = stamp(at);
            log.push((t, format!("n8n-1  | {t} line {i}")));
            if trace {
                log.push((t, format!("    at frame {i}")));
            }
        }
        log
    })
}

/// What `logs --since --until` prints of `log`: both ends inclusive.
fn window(log: &[(Timestamp, String)], since: Timestamp, until: Timestamp) -> Vec<String> {
    log.iter()
        .filter(|(at, _)| since <= *at && *at <= until)
        .map(|(_, l)| l.clone())
        .collect()
}

/// Small, or at the sizes where a read is split.
fn output_size() -> impl Strategy<Value = usize> {
    prop_oneof![
        0usize..200,
        Just(SSM_OUTPUT_LIMIT - 1_000),
        Just(SSM_OUTPUT_LIMIT)
    ]
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(f)
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn a_stage_file_yields_known_markers_in_script_order(tier in tier(), file in stage_file()) {
        let done = boot::markers_done(tier, &file);
        let _ = boot::failure(&file);
        let order = every_marker(tier);
        let positions: Vec<Option<usize>> =
            done.iter().map(|m| order.iter().position(|o| o == m)).collect();
        prop_assert!(positions.iter().all(Option::is_some), "{done:?}");
        prop_assert!(positions.windows(2).all(|w| w[0] < w[1]), "{done:?}");
        prop_assert!(done.len() <= boot::marker_total(tier));
        let first_words: Vec<&str> =
            file.lines().filter_map(|l| l.split_whitespace().next()).collect();
        prop_assert!(done.iter().all(|m| first_words.contains(&m.as_str())), "{done:?}");
    }

    #[test]
    fn arbitrary_output_never_panics(
        file in any::<String>(),
        lines in prop::collection::vec(any::<String>(), 0..8),
    ) {
        let _ = boot::markers_done(Tier::Gpu, &file);
        let _ = boot::failure(&file);
        let mut cursor = LogCursor::default();
        let shown = cursor.admit(lines.clone());
        let mut rest = lines.iter();
        prop_assert!(shown.iter().all(|s| rest.any(|l| l == s)), "not a subsequence of the read");
    }

    #[test]
    fn a_written_boot_reads_back(
        tier in tier(),
        done in 0..=BOOT_MARKERS.len(),
        gpu in any::<bool>(),
        failed in any::<bool>(),
    ) {
        let mut lines: Vec<String> = BOOT_MARKERS[..done]
            .iter()
            .map(|m| format!("{m} 2026-11-23T10:00:00Z"))
            .collect();
        let mut expected: Vec<String> =
            BOOT_MARKERS[..done].iter().map(|m| m.to_string()).collect();
        if done == BOOT_MARKERS.len() {
            let device = if gpu { OLLAMA_ON_GPU } else { OLLAMA_ON_CPU };
            lines.push(format!("{device} 2026-11-23T10:03:40Z"));
            if tier == Tier::Gpu {
                expected.push(device.to_string());
            }
        }
        if failed {
            lines.push("failed:131 2026-11-23T10:05:25Z secrets: a parameter is empty".into());
        }
        let file = lines.join("\n");
        prop_assert_eq!(boot::markers_done(tier, &file), expected);
        prop_assert_eq!(boot::failure(&file).is_some(), failed);
    }

    #[test]
    fn following_a_log_shows_every_line_once_in_order(
        log in compose_log(),
        polls in prop::collection::vec(0i64..40, 1..8),
    ) {
        let mut cursor = LogCursor::default();
        let mut shown = Vec::new();
        let mut until = stamp(0);
        for step in polls {
            until = Timestamp(until.0 + chrono::Duration::milliseconds(step));
            let since = cursor.since().unwrap_or(stamp(0));
            shown.extend(cursor.admit(window(&log, since, until)));
        }
        prop_assert_eq!(shown, window(&log, stamp(0), until));
    }

    #[test]
    fn a_timestamped_read_admitted_twice_shows_nothing_new(log in compose_log()) {
        let lines: Vec<String> =
            log.into_iter().map(|(_, l)| l).filter(|l| l.starts_with("n8n")).collect();
        let mut cursor = LogCursor::default();
        prop_assert_eq!(cursor.admit(lines.clone()), lines.clone());
        prop_assert_eq!(cursor.admit(lines), Vec::<String>::new());
    }
}

proptest! {
    // Each case allocates outputs of up to 24,000 characters per read.
    #![proptest_config(config(2000))]

    #[test]
    fn a_window_of_any_output_is_read_in_bounded_commands(
        span_ms in 0i64..16,
        sizes in prop::collection::vec(output_size(), 1..6),
        text in any::<String>(),
    ) {
        let (since, until) = (stamp(0), stamp(span_ms));
        // Each output is `text`, padded to its size.
        let outputs: Vec<String> = sizes
            .iter()
            .map(|&n| format!("{text}{}\n", "x".repeat(n.saturating_sub(text.len() + 1))))
            .collect();
        let calls = Cell::new(0usize);
        let read = |from: Timestamp, to: Timestamp| {
            calls.set(calls.get() + 1);
            let pick = (from.unix_millis() + to.unix_millis()) as usize % outputs.len();
            std::future::ready(CloudResult::Ok(outputs[pick].clone()))
        };
        let got = block_on(log_cursor::read_window(read, since, until)).unwrap();
        prop_assert_eq!(got.reads, calls.get());
        // Halved while longer than a millisecond: the leaves are longer than
        // half a millisecond, so at most 2 per millisecond, and 4 reads in all.
        prop_assert!(got.reads as i64 <= 4 * span_ms + 1, "{} reads", got.reads);
        let near = outputs.iter().any(|o| o.len() >= SSM_OUTPUT_LIMIT - 1_000);
        prop_assert!(!got.cut || near);
    }
}
