//! `monitor` and `rollback`.

use std::time::Duration;

use tokio::time::MissedTickBehavior;

use crate::cloud::session::StoreSink;
use crate::deploy;
use crate::domain::state::{RollbackTrigger, ServiceStatus};
use crate::domain::{Provider, StackName};
use crate::health::policy::Policy;
use crate::monitor::watch::{SweepReport, Watch, WatchError, suggest_on_demand};
use crate::runtime::Runtime;
use crate::ui::symbols;

use super::args::{MonitorArgs, RollbackArgs};
use super::operations::confirm;
use super::output::print_json;
use super::{Failure, load_existing};

fn same_cloud(rt: &Runtime, stack: &StackName, provider: Provider) -> Result<(), Failure> {
    if provider == rt.provider {
        return Ok(());
    }
    let hint = if rt.provider == Provider::Sandbox {
        "run without --sandbox"
    } else {
        "add --sandbox"
    };
    Err(Failure::bad_input(format!(
        "stack {stack} lives in {provider}; {hint}"
    )))
}

pub fn policy(rt: &Runtime) -> Policy {
    Policy {
        threshold: rt.settings.consecutive_failures_threshold,
        auto_rollback: rt.settings.auto_rollback_on_failure && !rt.readonly,
        observe_only: rt.readonly,
        account_budget_usd: rt.settings.account_monthly_budget_usd,
        ..Policy::default()
    }
}

pub async fn monitor(rt: &Runtime, args: MonitorArgs, json: bool) -> Result<(), Failure> {
    let state = load_existing(rt, &args.stack)?;
    same_cloud(rt, &args.stack, state.provider)?;
    let every = args.interval.unwrap_or_else(|| {
        Duration::from_secs(u64::from(rt.settings.health_check_interval_seconds))
    });
    let ctx = rt.context(rt.cloud_in(state.region()).await?);
    let notifier = crate::notify::Notifier::configured(&rt.settings.notify);
    if let Some(n) = &notifier {
        eprintln!("Events go to {}", n.destination());
    }
    let watch = Watch::new(ctx, args.stack.clone(), policy(rt)).with_notifier(notifier);
    eprintln!(
        "Monitoring {} every {:.1}s; Ctrl-C or SIGTERM stops.",
        args.stack,
        every.as_secs_f64()
    );
    let mut ticker = tokio::time::interval(every);
    // A slow sweep delays the next one; sweeps never pile up.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let stop = shutdown();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = ticker.tick() => {}
        }
        let swept = tokio::select! {
            _ = &mut stop => break,
            swept = watch.sweep() => swept,
        };
        match swept {
            Ok(report) => print_report(rt, &report, json)?,
            Err(WatchError::Gone(stack)) => {
                return Err(Failure::failed(format!(
                    "stack {stack} is gone; nothing left to monitor"
                )));
            }
            Err(e) => eprintln!("warning: {e}"),
        }
    }
    eprintln!("Stopped monitoring {}.", args.stack);
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn print_report(rt: &Runtime, report: &SweepReport, json: bool) -> Result<(), Failure> {
    if json {
        let line = serde_json::to_string(report)
            .map_err(|e| Failure::failed(format!("could not print JSON: {e}")))?;
        println!("{line}");
        return Ok(());
    }
    let services: Vec<String> = report
        .services
        .iter()
        .map(|h| {
            let latency = match (h.status, h.response_time_ms) {
                (ServiceStatus::Healthy, Some(ms)) => format!("{ms}ms"),
                (status, _) => status.to_string(),
            };
            format!(
                "{} {} {latency}",
                h.service_name,
                symbols::service(h.status)
            )
        })
        .collect();
    let notes = if report.notes.is_empty() {
        String::new()
    } else {
        format!("  · {}", report.notes.join("; "))
    };
    println!(
        "{} {} {:<8} {:<8} {}{notes}",
        report.at.0.format("%H:%M:%S"),
        report.stack,
        report.status.name(),
        report.verdict,
        services.join("  ")
    );
    if let Some(spot) = &report.spot {
        println!(
            "  ⚠ spot interruption of {}: {}",
            spot.instance_id, spot.detail
        );
    }
    if let Some(action) = &report.action {
        println!("  ↺ {action}");
        if let Ok(Some(state)) = rt.store.load(
            &report
                .stack
                .parse()
                .map_err(|_| Failure::failed("bad name"))?,
        ) && suggest_on_demand(&state, report.at)
        {
            println!(
                "  tip: spot instances of this type keep being interrupted here; `deploy {} --on-demand` avoids it",
                report.stack
            );
        }
    }
    Ok(())
}

pub async fn rollback(rt: &Runtime, args: RollbackArgs, json: bool) -> Result<(), Failure> {
    let state = load_existing(rt, &args.stack)?;
    same_cloud(rt, &args.stack, state.provider)?;
    if !args.yes {
        confirm(&format!(
            "Roll {} back: terminate {} and relaunch from the last healthy snapshot (the EFS is kept)?",
            args.stack,
            state.instance_id.as_deref().unwrap_or("its instance")
        ))?;
    }
    let ctx = rt.context(rt.cloud_in(state.region()).await?);
    let (sink, rx) = StoreSink::new(rt.store.clone());
    let printer = tokio::spawn(super::progress::print_stages(rx, rt.clock.now()));
    let result = deploy::rollback(
        &ctx,
        &args.stack,
        RollbackTrigger::Manual,
        "requested by the user",
        Box::new(sink),
    )
    .await;
    let _ = printer.await;
    let state = result.map_err(Failure::from)?;
    if json {
        return print_json(&state);
    }
    match state.instance_id.as_deref() {
        Some(id) => println!("{} rolled back: running on {id}.", args.stack),
        None => println!(
            "{} rolled back: {}",
            args.stack,
            state
                .status_reason
                .as_deref()
                .unwrap_or("its instance is terminated, its EFS kept")
        ),
    }
    Ok(())
}
