//! `logs`: the stack's container logs, once or followed.

use std::io::Write;
use std::time::Duration;

use serde::Serialize;

use crate::cloud::LogQuery;
use crate::cloud::log_cursor::LogCursor;
use crate::domain::Timestamp;
use crate::instance::log_line::{self, Level, LogLine};
use crate::runtime::Runtime;

use super::args::LogsArgs;
use super::{Failure, load_existing};

const FOLLOW_EVERY: Duration = Duration::from_secs(1);

#[derive(Serialize)]
struct JsonLine<'a> {
    at: Option<String>,
    service: Option<&'static str>,
    level: &'static str,
    message: &'a str,
}

pub async fn logs(rt: &Runtime, args: LogsArgs, json: bool) -> Result<(), Failure> {
    let state = load_existing(rt, &args.stack)?;
    if state.provider != rt.provider {
        return Err(Failure::bad_input(format!(
            "stack {} lives in {}; {}",
            args.stack,
            state.provider,
            if rt.provider == crate::domain::Provider::Sandbox {
                "run without --sandbox"
            } else {
                "add --sandbox"
            }
        )));
    }
    // The stack's own region, whatever --region says: its resources are there.
    let cloud = rt.cloud_in(state.region()).await?;
    let since = args
        .since
        .map(|d| Timestamp(rt.clock.now().0 - chrono::Duration::from_std(d).unwrap_or_default()));
    let mut query = LogQuery {
        since,
        // A window asks for all of it; otherwise the latest lines.
        tail: since.is_none().then_some(args.tail),
        service: args.service.and_then(|f| f.0),
    };
    let mut cursor = LogCursor::default();
    loop {
        let lines = cloud
            .read_logs(&state, &query)
            .await
            .map_err(|e| Failure::failed(format!("could not read logs: {e}")))?;
        for raw in cursor.admit(lines) {
            if let Err(e) = print_line(&log_line::parse(&raw), json) {
                // The reader went away (`| head`): done, not a failure.
                return match e.kind() {
                    std::io::ErrorKind::BrokenPipe => Ok(()),
                    _ => Err(Failure::failed(format!("could not write the logs: {e}"))),
                };
            }
        }
        if !args.follow {
            return Ok(());
        }
        // Each line once: the next read starts where this one ended.
        query.since = cursor.since().or(query.since).or(Some(rt.clock.now()));
        query.tail = None;
        tokio::select! {
            _ = tokio::time::sleep(FOLLOW_EVERY) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

fn print_line(line: &LogLine, json: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let record = JsonLine {
            at: line.at.map(|t| t.to_string()),
            service: line.service.map(|s| s.name()),
            level: match line.level {
                Level::Info => "info",
                Level::Warn => "warn",
                Level::Error => "error",
            },
            message: &line.message,
        };
        let text = serde_json::to_string(&record).map_err(std::io::Error::other)?;
        return writeln!(out, "{text}");
    }
    let at = line.at.map(|t| format!("{} ", t)).unwrap_or_default();
    let source = if line.source.is_empty() {
        String::new()
    } else {
        format!("{:<11} | ", line.source)
    };
    writeln!(out, "{source}{at}{}", line.message)
}
