//! Benchmark (not a test): parse 1,000,000 compose log lines and ingest them
//! into the Logs pane's model, a 50,000-line ring, in batches of 1,000 as the
//! tail task delivers them. Prints lines per second and peak resident memory.
//! Run: cargo run --release --example log_ingest

use std::time::{Duration, Instant};

use geusemaker::app::log_view::{DEFAULT_LOG_CAPACITY, LogView};
use geusemaker::domain::Timestamp;
use geusemaker::instance::log_line;

const LINES: usize = 1_000_000;
const BATCH: usize = 1_000;

const SAMPLES: &[&str] = &[
    "n8n-1       | {t} Workflow \"RAG ingest\" (id 3) executed: success in 1.42s",
    "ollama-1    | {t} [GIN] 200 |  1.204563s | 172.18.0.6 | POST \"/api/chat\"",
    "qdrant-1    | {t} PUT /collections/documents/points?wait=true HTTP/1.1\" 200 12.7ms",
    "postgres-1  | {t} 2026-11-23 12:00:00.000 UTC [1] LOG:  checkpoint complete: wrote 3 buffers",
    "crawl4ai-1  | {t} \u{1b}[32mINFO\u{1b}[0m:     172.18.0.1:50832 - \"GET /health HTTP/1.1\" 200 OK",
    "n8n-1       | {t} Error: connect ECONNREFUSED 172.18.0.3:5432",
    "n8n-1       | {t}     at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)",
];

fn main() {
    let start: Timestamp = "2026-11-23T12:00:00Z".parse().expect("time");
    let mut view = LogView::for_stack(Some("bench".into()), DEFAULT_LOG_CAPACITY);
    let mut spent = Duration::ZERO;
    let mut raw = Vec::with_capacity(BATCH);
    for first in (0..LINES).step_by(BATCH) {
        raw.clear();
        for i in first..first + BATCH {
            let at = start.plus_secs(i as f64 / 1000.0);
            raw.push(SAMPLES[i % SAMPLES.len()].replace("{t}", &at.to_string()));
        }
        let began = Instant::now();
        let lines = raw.iter().map(|l| log_line::parse(l)).collect();
        view.append(lines, start.plus_secs(first as f64 / 1000.0));
        spent += began.elapsed();
    }
    assert_eq!(view.lines.len(), DEFAULT_LOG_CAPACITY);
    let rate = LINES as f64 / spent.as_secs_f64();
    println!(
        "ingested {LINES} lines in {:.2} s: {:.0} lines/s; ring holds {}",
        spent.as_secs_f64(),
        rate,
        view.lines.len()
    );
    println!("peak RSS: {}", peak_rss());
}

/// VmHWM from /proc (Linux): the most resident memory the process has had.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "unknown (no /proc)".into())
}
