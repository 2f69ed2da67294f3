//! `fault`: inject a failure into a sandbox stack.

use crate::cloud::sandbox::{Fault, SandboxCloud};
use crate::domain::Provider;
use crate::runtime::Runtime;

use super::args::FaultArgs;
use super::output::print_json;
use super::{Failure, load_existing};

pub fn fault(rt: &Runtime, args: FaultArgs, json: bool) -> Result<(), Failure> {
    if rt.provider != Provider::Sandbox {
        return Err(Failure::bad_input(
            "fault injection works on sandbox stacks only: add --sandbox",
        ));
    }
    let fault = Fault::parse(&args.fault, args.service.as_deref()).map_err(Failure::bad_input)?;
    let state = load_existing(rt, &args.stack)?;
    if state.provider != Provider::Sandbox {
        return Err(Failure::bad_input(format!(
            "stack {} is an AWS stack; faults can only be injected into sandbox stacks",
            args.stack
        )));
    }
    let sandbox = SandboxCloud::new(rt.store.root(), rt.clock.clone(), rt.sandbox_speed);
    let what = sandbox
        .inject(args.stack.as_str(), fault)
        .map_err(|e| Failure::failed(e.to_string()))?;
    if json {
        return print_json(&serde_json::json!({
            "stack_name": args.stack.as_str(),
            "fault": fault.label(),
            "result": what,
        }));
    }
    println!("{what}");
    Ok(())
}
