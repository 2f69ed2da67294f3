//! Messages that bring data: stacks from disk or from an operation, log
//! lines, probe results, outcomes.

use super::{fix_selection, notify};
use crate::app::effect::Effect;
use crate::app::model::{HEALTH_HISTORY, HealthPoint, Model, NoticeLevel, Overlay};
use crate::app::msg::Msg;
use crate::domain::DeploymentState;
use crate::domain::stage::OperationKind;
use crate::instance::log_line::LogLine;
use crate::monitor::watch::SweepReport;

pub fn on_data(model: &mut Model, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::StacksLoaded { stacks, problems } => {
            merge_stacks(model, stacks);
            for problem in problems {
                if !model.notices.iter().any(|n| n.text == problem) {
                    notify(model, NoticeLevel::Warn, problem);
                }
            }
        }
        Msg::StackChanged(state) => upsert(model, *state),
        Msg::Found(found) => super::wizard::on_found(model, found),
        Msg::OperationFinished {
            stack,
            kind,
            result,
            offer,
        } => {
            model.busy.remove(&stack);
            let deployed = kind == OperationKind::Deploy && result.is_ok();
            match result {
                Ok(text) => notify(model, NoticeLevel::Info, text),
                Err(text) => notify(
                    model,
                    NoticeLevel::Error,
                    format!("{kind} {stack} failed: {text}"),
                ),
            }
            if model.overlay.is_none() {
                model.overlay = offer.map(Overlay::Offer);
            }
            // A deploy's last word is how to reach what it made.
            let state = model.stacks.iter().find(|s| s.stack_name == stack).cloned();
            if deployed
                && model.overlay.is_none()
                && let Some(state) = state
            {
                super::connect::show(model, &state);
            }
        }
        Msg::LogLines { stack, lines } => append_logs(model, &stack, lines),
        Msg::HistoryRead { stack, result } => {
            model.history.insert(stack, result);
        }
        Msg::UpdatePlanned { stack, result } => super::update_dialog::planned(model, stack, result),
        Msg::Scanned(result) => super::orphans::scanned(model, result),
        Msg::ModelsRead { stack, result } => {
            model.models.entry(stack).or_default().view = Some(result);
        }
        Msg::PullProgress { stack, name, line } => {
            super::models::progress(model, stack, name, line)
        }
        Msg::PullEnded {
            stack,
            name,
            result,
        } => return super::models::ended(model, stack, name, result),
        Msg::Swept(report) => on_sweep(model, *report),
        Msg::FaultInjected { stack, result } => match result {
            Ok(text) => notify(model, NoticeLevel::Info, text),
            Err(text) => notify(
                model,
                NoticeLevel::Error,
                format!("fault on {stack}: {text}"),
            ),
        },
        Msg::AccessChanged { stack, result } => {
            model.access_pending.remove(&stack);
            match result {
                Ok(text) => notify(model, NoticeLevel::Info, text),
                Err(text) => notify(
                    model,
                    NoticeLevel::Error,
                    format!("access to {stack} not changed: {text}"),
                ),
            }
        }
        Msg::SecretCopied {
            stack,
            name,
            result,
        } => match result {
            Ok(()) => notify(
                model,
                NoticeLevel::Info,
                format!("copied {stack}'s {name} (OSC 52)"),
            ),
            Err(why) => notify(
                model,
                NoticeLevel::Error,
                format!("could not copy {stack}'s {name}: {why}"),
            ),
        },
        Msg::ShellEnded {
            stack,
            result,
            missing,
        } => {
            model.session_tools_missing = missing;
            match result {
                Ok(text) => notify(model, NoticeLevel::Info, text),
                Err(why) => notify(
                    model,
                    NoticeLevel::Error,
                    format!("shell on {stack}: {why}"),
                ),
            }
        }
        Msg::Notice { error, text } => {
            let level = if error {
                NoticeLevel::Error
            } else {
                NoticeLevel::Info
            };
            notify(model, level, text);
        }
        Msg::Key(_) | Msg::Mouse(_) | Msg::Resize(..) | Msg::Tick(_) | Msg::Quit => {}
    }
    Vec::new()
}

fn on_sweep(model: &mut Model, report: SweepReport) {
    let history = model.health.entry(report.stack.clone()).or_default();
    if report.outside.is_some() {
        history.outside = report.outside.clone();
    }
    for h in &report.services {
        let points = history.points.entry(h.service_name).or_default();
        points.push_back(HealthPoint {
            at: report.at,
            status: h.status,
            latency_ms: h.response_time_ms,
        });
        while points.len() > HEALTH_HISTORY {
            points.pop_front();
        }
    }
    super::access::offer_access(model, &report);
    match report.spot {
        Some(notice) => {
            model.spot_notices.insert(report.stack.clone(), notice);
        }
        None => {
            model.spot_notices.remove(&report.stack);
        }
    }
    if let Some(action) = &report.action {
        let level = if action.contains("failed") {
            NoticeLevel::Error
        } else {
            NoticeLevel::Warn
        };
        notify(model, level, format!("{}: {action}", report.stack));
    } else if report.verdict == "stuck"
        && let Some(why) = report.notes.first()
    {
        notify(
            model,
            NoticeLevel::Error,
            format!("{}: {why}", report.stack),
        );
    }
}

/// Take the disk's view, except where this process holds a newer state.
fn merge_stacks(model: &mut Model, loaded: Vec<DeploymentState>) {
    let mut merged = loaded;
    for ours in &model.stacks {
        let newer_here = |disk: &DeploymentState| ours.updated_at > disk.updated_at;
        match merged.iter_mut().find(|s| s.stack_name == ours.stack_name) {
            Some(disk) if newer_here(disk) => *disk = ours.clone(),
            Some(_) => {}
            // Being created by this process and not yet on disk.
            None if model.busy.contains_key(&ours.stack_name) => merged.push(ours.clone()),
            None => {}
        }
    }
    merged.sort_by(|a, b| a.stack_name.cmp(&b.stack_name));
    model.stacks = merged;
    model
        .health
        .retain(|name, _| model.stacks.iter().any(|s| &s.stack_name == name));
    fix_selection(model);
}

fn upsert(model: &mut Model, state: DeploymentState) {
    match model
        .stacks
        .iter_mut()
        .find(|s| s.stack_name == state.stack_name)
    {
        Some(existing) => *existing = state,
        None => {
            model.stacks.push(state);
            model.stacks.sort_by(|a, b| a.stack_name.cmp(&b.stack_name));
        }
    }
    fix_selection(model);
}

fn append_logs(model: &mut Model, stack: &str, lines: Vec<LogLine>) {
    if model.logs.stack.as_deref() == Some(stack) {
        model.logs.append(lines, model.now);
    }
}
