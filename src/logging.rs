//! The app's own tracing goes to a daily file under the state directory,
//! never to the screen (it would tear the dashboard).

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

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
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}
