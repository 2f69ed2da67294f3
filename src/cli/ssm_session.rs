//! `forward` and `shell`: Session Manager sessions through AWS's own CLI and
//! plugin (`cloud::session_manager`). Without them, the exact command is
//! printed with how to install what is missing.

use std::process::Command as Process;

use crate::cloud::session_manager::{
    CLI_DOCS, PLUGIN, PLUGIN_DOCS, local_url, missing_tools, shell_words, start_session,
};
use crate::domain::{DeploymentState, Provider, Service};
use crate::runtime::Runtime;

use super::args::{ForwardArgs, StackArg};
use super::output::print_json;
use super::{Failure, load_existing};

/// What a forwarded service needs besides the port.
fn credential_hint(stack: &str, service: Service) -> Option<String> {
    let (secret, how) = crate::domain::connect::credential(service)?;
    Some(format!(
        "credential ({how}): geusemaker-tui secret {stack} {secret}"
    ))
}

pub async fn forward(rt: &Runtime, args: ForwardArgs, json: bool) -> Result<(), Failure> {
    let state = load_existing(rt, &args.stack)?;
    let local = args.local_port.unwrap_or(args.service.port());
    if state.provider == Provider::Sandbox {
        return forward_sandbox(rt, &state, args.service, json).await;
    }
    let command = start_session(
        &state,
        rt.profile.as_deref(),
        Some((args.service.port(), local)),
    )
    .map_err(Failure::failed)?;
    let url = local_url(args.service, local);
    let hint = credential_hint(&state.stack_name, args.service);
    if json {
        return print_json(&serde_json::json!({
            "stack_name": state.stack_name,
            "service": args.service,
            "local_url": url,
            "command": command,
            "missing": missing_tools(),
        }));
    }
    eprintln!("{} of {} → {url}", args.service, state.stack_name);
    if let Some(hint) = hint {
        eprintln!("{hint}");
    }
    run_or_print(&command)
}

pub async fn shell(rt: &Runtime, args: StackArg, json: bool) -> Result<(), Failure> {
    let state = load_existing(rt, &args.stack)?;
    if state.provider == Provider::Sandbox {
        return Err(Failure::bad_input(
            "a sandbox stack has no instance to open a shell on; try it on an AWS stack",
        ));
    }
    let command = start_session(&state, rt.profile.as_deref(), None).map_err(Failure::failed)?;
    if json {
        return print_json(&serde_json::json!({
            "stack_name": state.stack_name,
            "command": command,
            "missing": missing_tools(),
        }));
    }
    run_or_print(&command)
}

/// The sandbox's services run on this machine: serve them here until Ctrl-C.
async fn forward_sandbox(
    rt: &Runtime,
    state: &DeploymentState,
    service: Service,
    json: bool,
) -> Result<(), Failure> {
    let cloud = rt.cloud().await?;
    let endpoints = cloud
        .service_endpoints(state)
        .await
        .map_err(|e| Failure::failed(e.to_string()))?;
    let endpoint = endpoints
        .get(&service)
        .ok_or_else(|| Failure::failed(format!("no {service} in the sandbox")))?;
    let url = local_url(service, endpoint.port);
    if json {
        return print_json(&serde_json::json!({
            "stack_name": state.stack_name,
            "service": service,
            "local_url": url,
        }));
    }
    println!(
        "{service} of {} (sandbox) at {url}; Ctrl-C to stop",
        state.stack_name
    );
    let _ = tokio::signal::ctrl_c().await;
    Ok(())
}

fn run_or_print(command: &[String]) -> Result<(), Failure> {
    let missing = missing_tools();
    if missing.is_empty() {
        let status = Process::new(&command[0])
            .args(&command[1..])
            .status()
            .map_err(|e| Failure::failed(format!("could not run {}: {e}", command[0])))?;
        return match status.code() {
            Some(0) => Ok(()),
            _ => Err(Failure::failed(format!("the session ended: {status}"))),
        };
    }
    println!("{}", shell_words(command));
    let mut how = Vec::new();
    if missing.contains(&"aws") {
        how.push(format!("the AWS CLI v2: {CLI_DOCS}"));
    }
    if missing.contains(&PLUGIN) {
        how.push(format!("the Session Manager plugin: {PLUGIN_DOCS}"));
    }
    Err(Failure::failed(format!(
        "{} not found on PATH, so the command above was not run; install {}, then run it (or this command) again",
        missing.join(" and "),
        how.join(", and ")
    )))
}
