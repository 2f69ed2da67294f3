//! The app's own tracing goes to a daily file under the state directory,
//! never to the screen (it would tear the dashboard).
//!
//! One JSON object a line (seed 001 §11.3), with the spans the event happened
//! in: `span` is the innermost, `spans` all of them, outermost first. An
//! operation runs in an `operation` span (`id`, `kind`, `stack`) and each of
//! its stages in a `stage` span (`stage`), so every line an operation logs
//! says which operation, stack and stage it came from:
//!
//! ```text
//! {"timestamp":"…","level":"WARN","fields":{"message":"retrying","attempt":2},
//!  "target":"geusemaker::deploy::retry","span":{"stage":"network","name":"stage"},
//!  "spans":[{"id":"5f0c…","kind":"deploy","stack":"prod-ai","name":"operation"},
//!           {"stage":"network","name":"stage"}]}
//! ```

use std::fmt::Display;
use std::path::Path;

use tracing::Span;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

pub const LOG_ENV: &str = "GEUSEMAKER_LOG";

/// Start file logging; keep the guard alive until exit so lines are flushed.
pub fn init(dir: &Path) -> Option<WorkerGuard> {
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("geusemaker")
        .filename_suffix("log")
        .max_log_files(14)
        .build(dir)
        .ok()?;
    // The default queue preallocates 128k lines (4 MB, ~3 ms to touch at start).
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(4_096)
        .finish(appender);
    let filter = EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new("info"));
    subscriber(filter, writer).try_init().ok()?;
    Some(guard)
}

/// The subscriber `init` installs, writing to `writer`: JSON lines with the
/// current span and the span list, no colours.
pub fn subscriber<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .finish()
}

/// A new operation's id: 16 hex digits, unique enough to find its lines.
pub fn operation_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The span an operation (deploy, update, destroy, rollback, stop) runs in.
pub fn operation_span(kind: impl Display, stack: impl Display) -> Span {
    let id = operation_id();
    tracing::info_span!("operation", id = %id, kind = %kind, stack = %stack)
}

/// The span one stage of an operation runs in.
pub fn stage_span(stage: impl Display) -> Span {
    tracing::info_span!("stage", stage = %stage)
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Lines written, shared with the test.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'w self) -> Buffer {
            self.clone()
        }
    }

    fn lines(buffer: &Buffer) -> Vec<serde_json::Value> {
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
            .collect()
    }

    #[test]
    fn each_line_is_json_with_the_operation_and_stage_spans() {
        let buffer = Buffer::default();
        let subscriber = subscriber(EnvFilter::new("info"), buffer.clone());
        tracing::subscriber::with_default(subscriber, || {
            let operation = operation_span("deploy", "prod-ai");
            let _operation = operation.enter();
            tracing::info!("operation started");
            let _stage = stage_span("network").entered();
            tracing::warn!(attempt = 2, "retrying");
        });
        let lines = lines(&buffer);
        assert_eq!(lines.len(), 2, "{lines:?}");

        let started = &lines[0];
        assert_eq!(started["fields"]["message"], "operation started");
        assert_eq!(started["span"]["name"], "operation");
        let id = started["span"]["id"].as_str().unwrap().to_string();
        assert_eq!(id.len(), 16, "{id}");

        let line = &lines[1];
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["fields"]["message"], "retrying");
        assert_eq!(line["fields"]["attempt"], 2);
        assert_eq!(line["span"]["name"], "stage");
        assert_eq!(line["span"]["stage"], "network");
        let spans = line["spans"].as_array().unwrap();
        assert_eq!(spans.len(), 2, "{spans:?}");
        assert_eq!(spans[0]["name"], "operation");
        assert_eq!(spans[0]["id"], id.as_str());
        assert_eq!(spans[0]["kind"], "deploy");
        assert_eq!(spans[0]["stack"], "prod-ai");
        assert_eq!(spans[1]["name"], "stage");
        assert_eq!(spans[1]["stage"], "network");
    }

    #[test]
    fn operation_ids_differ() {
        assert_ne!(operation_id(), operation_id());
    }

    #[test]
    fn the_filter_applies() {
        let buffer = Buffer::default();
        let subscriber = subscriber(EnvFilter::new("info"), buffer.clone());
        tracing::subscriber::with_default(subscriber, || {
            let _operation = operation_span("destroy", "demo").entered();
            tracing::debug!("not written");
            tracing::info!("written");
        });
        let lines = lines(&buffer);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["fields"]["message"], "written");
        assert_eq!(lines[0]["span"]["stack"], "demo");
    }
}
