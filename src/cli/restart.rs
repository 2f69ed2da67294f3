//! `restart STACK SERVICE`: Docker restarts one service's container on the
//! stack's instance, after confirming; then its new start is read back.

use crate::domain::time::format_age;
use crate::runtime::Runtime;

use super::args::RestartArgs;
use super::operations::confirm;
use super::output::print_json;
use super::{Failure, load_existing};

pub async fn restart(rt: &Runtime, args: RestartArgs, json: bool) -> Result<(), Failure> {
    let state = load_existing(rt, &args.stack)?;
    if !crate::deploy::update::runs(&state) {
        return Err(Failure::bad_input(format!(
            "{} has no instance running ({}): nothing to restart",
            args.stack, state.status
        )));
    }
    let cloud = rt.cloud_in(state.region()).await?;
    if !args.yes {
        confirm(&format!(
            "Restart {} on {}? It is down until its healthcheck passes again.",
            args.service, args.stack
        ))?;
    }
    let done = cloud
        .restart_service(&state, args.service)
        .await
        .map_err(|e| Failure::failed(format!("{} was not restarted: {e}", args.service)))?;
    // What Docker says of it now (best effort: the restart is done either way).
    let now = rt.clock.now();
    let container = cloud
        .inside_health(&state)
        .await
        .ok()
        .and_then(|all| all.into_iter().find(|c| c.service == args.service));
    if json {
        return print_json(&serde_json::json!({
            "stack_name": state.stack_name,
            "service": args.service,
            "restarted": true,
            "started_at": container.as_ref().and_then(|c| c.started_at),
            "starts": container.as_ref().map(|c| c.starts),
            "health": container.as_ref().and_then(|c| c.health.clone()),
        }));
    }
    let since = container
        .as_ref()
        .and_then(|c| c.started_at)
        .map(|at| {
            format!(
                "; started {}, {} starts in 24 h",
                format_age(at.secs_until(now)),
                container.as_ref().map_or(0, |c| c.starts)
            )
        })
        .unwrap_or_default();
    println!("{done}{since}");
    Ok(())
}
