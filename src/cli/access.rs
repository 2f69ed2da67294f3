//! `access STACK`: list, add, remove or set the CIDRs that may reach n8n.

use crate::cloud::Cidr;
use crate::cloud::session::StoreSink;
use crate::deploy::access::{self, AccessChange};
use crate::domain::exposure;
use crate::runtime::Runtime;

use super::args::AccessArgs;
use super::output::{print_json, print_text, table};
use super::{Failure, load_existing};

fn change_of(args: &AccessArgs) -> Result<Option<AccessChange>, Failure> {
    let one = |text: &str| Cidr::parse(text).map_err(Failure::bad_input);
    Ok(match (&args.add, &args.remove, &args.set) {
        (Some(c), _, _) => Some(AccessChange::Add(one(c)?)),
        (_, Some(c), _) => Some(AccessChange::Remove(one(c)?)),
        (_, _, Some(list)) => Some(AccessChange::Set(
            list.split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(one)
                .collect::<Result<_, _>>()?,
        )),
        _ => None,
    })
}

pub async fn access(rt: &Runtime, args: AccessArgs, json: bool) -> Result<(), Failure> {
    let change = change_of(&args)?;
    let mut state = load_existing(rt, &args.stack)?;
    if let Some(change) = change {
        if let Some(why) = access::not_applicable(&state) {
            return Err(Failure::bad_input(why));
        }
        access::changed_set(&exposure::allowed_cidrs(&state), &change)
            .map_err(Failure::bad_input)?;
        let ctx = rt.context(rt.cloud_in(state.region()).await?);
        let (sink, _rx) = StoreSink::new(rt.store.clone());
        state = access::set_access(&ctx, &args.stack, &change, Box::new(sink)).await?;
    }
    let cidrs = exposure::allowed_cidrs(&state);
    if json {
        return print_json(&serde_json::json!({
            "stack_name": state.stack_name,
            "allowed_cidrs": cidrs,
            "exposure": exposure::exposure(&state),
        }));
    }
    println!("{} admits {}", state.stack_name, cidrs.join(", "));
    print_text(&exposure_table(&state))
}

/// The exposure as a table: each listening port, who reaches it, over what.
pub fn exposure_table(state: &crate::domain::DeploymentState) -> String {
    let rows: Vec<Vec<String>> = exposure::exposure(state)
        .into_iter()
        .map(|r| {
            vec![
                r.listener.to_string(),
                r.port.to_string(),
                r.serves,
                r.from.join(", "),
                r.over.to_string(),
                r.note.unwrap_or_default(),
            ]
        })
        .collect();
    table(
        &["LISTENER", "PORT", "SERVES", "FROM", "OVER", "NOTE"],
        &rows,
    )
}
