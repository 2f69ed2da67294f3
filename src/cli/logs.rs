//! `logs`: the stack's container logs, once or followed.

use std::time::Duration;

use serde::Serialize;

use crate::cloud::LogQuery;
use crate::monitor::log_line::{self, Level, LogLine};
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
    let cloud = rt.cloud().await?;
    let mut query = LogQuery {
        since: None,
        tail: Some(args.tail),
        service: args.service,
    };
    loop {
        let lines = cloud
            .read_logs(&state, &query)
            .await
            .map_err(|e| Failure::failed(format!("could not read logs: {e}")))?;
        let parsed: Vec<LogLine> = lines.iter().map(|l| log_line::parse(l)).collect();
        for line in &parsed {
            print_line(line, json);
        }
        if !args.follow {
            return Ok(());
        }
        if let Some(last) = parsed.iter().rev().find_map(|l| l.at) {
            query.since = Some(last.plus_secs(0.001));
        } else if query.since.is_none() {
            query.since = Some(rt.clock.now());
        }
        query.tail = None;
        tokio::time::sleep(FOLLOW_EVERY).await;
    }
}

fn print_line(line: &LogLine, json: bool) {
    if json {
        let out = JsonLine {
            at: line.at.map(|t| t.to_string()),
            service: line.service.map(|s| s.name()),
            level: match line.level {
                Level::Info => "info",
                Level::Warn => "warn",
                Level::Error => "error",
            },
            message: &line.message,
        };
        if let Ok(text) = serde_json::to_string(&out) {
            println!("{text}");
        }
        return;
    }
    let at = line.at.map(|t| format!("{} ", t)).unwrap_or_default();
    let source = if line.source.is_empty() {
        String::new()
    } else {
        format!("{:<11} | ", line.source)
    };
    println!("{source}{at}{}", line.message);
}
