//! `secret STACK NAME`: one of the stack's secrets, read with GetParameter
//! from this machine (never through Run Command, whose output SSM keeps),
//! printed only after confirming.

use crate::runtime::Runtime;

use super::args::SecretArgs;
use super::operations::confirm;
use super::output::print_json;
use super::{Failure, load_existing};

use crate::domain::secrets::SECRET_NAMES;

pub async fn secret(rt: &Runtime, args: SecretArgs, json: bool) -> Result<(), Failure> {
    if !SECRET_NAMES.contains(&args.name.as_str()) {
        return Err(Failure::bad_input(format!(
            "{:?} is not one of the stack's secrets; use one of {}",
            args.name,
            SECRET_NAMES.join(", ")
        )));
    }
    let state = load_existing(rt, &args.stack)?;
    if !args.yes {
        confirm(&format!(
            "Print {}'s {} to this terminal?",
            args.stack, args.name
        ))?;
    }
    let cloud = rt.cloud_in(state.region()).await?;
    let value = cloud
        .read_secret(&state, &args.name)
        .await
        .map_err(|e| Failure::failed(e.to_string()))?;
    if json {
        return print_json(&serde_json::json!({
            "stack_name": state.stack_name,
            "name": args.name,
            "value": value,
        }));
    }
    println!("{value}");
    Ok(())
}
