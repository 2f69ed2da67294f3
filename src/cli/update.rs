//! `update STACK`: the plan of a change to a running stack, then the change.

use crate::cloud::Cidr;
use crate::cloud::session::StoreSink;
use crate::deploy::access::{self, AccessChange};
use crate::deploy::update::{self, Change, UpdatePlan};
use crate::domain::cost::dollars;
use crate::domain::exposure;
use crate::runtime::Runtime;

use super::args::UpdateArgs;
use super::operations::{confirm, with_next_step};
use super::output::print_json;
use super::{Failure, progress};

pub async fn update(rt: &Runtime, args: UpdateArgs, json: bool) -> Result<(), Failure> {
    let state = super::load_existing(rt, &args.stack)?;
    let ctx = rt.context(rt.cloud_in(state.region()).await?);
    let state = update::running_state(&ctx, &args.stack)?;
    let mut req = update::current_request(&state)
        .ok_or_else(|| Failure::bad_input(format!("{} records no instance type", args.stack)))?;
    if let Some(t) = &args.instance_type {
        super::operations::check_instance_type(t)?;
        req.instance_type = t.clone();
    }
    if args.spot || args.on_demand {
        req.spot = args.spot;
    }
    req.options.over_budget = args.over_budget;
    if !args.images.is_empty() {
        req.options.images = Some(image_tags(&state, &args.images)?);
    }
    let cidrs = cidr_change(&state, args.allow_cidr.as_deref())?;
    let mut plan = update::plan(&ctx, &req).await?;
    let replaces = !plan.is_empty();
    if let Some((change, _)) = &cidrs {
        plan.changes.push(change.clone());
        plan.kept.retain(|k| !k.starts_with("who may reach"));
    }
    if args.plan || plan.is_empty() {
        return show_plan(&plan, json, plan.is_empty());
    }
    let req = update::accepted(&state, &plan, req).map_err(Failure::bad_input)?;
    if !json {
        print_plan(&plan);
    }
    if !args.yes {
        confirm(&format!("Update {}?", args.stack))?;
    }
    if let Some((_, change)) = cidrs {
        let (sink, _rx) = StoreSink::new(rt.store.clone());
        access::set_access(&ctx, &args.stack, &change, Box::new(sink)).await?;
    }
    let state = if replaces {
        let (sink, rx) = StoreSink::new(rt.store.clone());
        let printer = tokio::spawn(progress::print_stages(rx, rt.clock.now()));
        let result = update::update(&ctx, &req, Box::new(sink)).await;
        let _ = printer.await;
        tell(rt, &args.stack, &result).await;
        result.map_err(|e| match e {
            // Reverted: the stack runs as before; there is nothing to resume.
            e @ crate::deploy::OperationError::Stage {
                rollback: Some(_), ..
            } => Failure::failed(format!(
                "{e}.\n`status {}` shows the switch and why",
                args.stack
            )),
            e => with_next_step(e, &args.stack, "update"),
        })?
    } else {
        super::load_existing(rt, &args.stack)?
    };
    if json {
        return print_json(&state);
    }
    let gap = state
        .switches
        .last()
        .and_then(|w| w.gap_secs())
        .filter(|_| replaces)
        .map(|g| {
            format!(
                "; n8n was down for {}",
                crate::domain::time::format_elapsed(g)
            )
        })
        .unwrap_or_default();
    let images: String = plan
        .images
        .iter()
        .map(|step| format!(", {}", step.to))
        .collect();
    println!(
        "{} is updated: {} {}{images}{gap}. About {}/month.",
        state.stack_name,
        if state.is_spot() { "spot" } else { "on-demand" },
        state.instance_type().unwrap_or("-"),
        dollars(plan.monthly_after)
    );
    if let Some(path) = &plan.database_dump {
        println!("n8n's database from before is kept at {path} on the EFS.");
    }
    Ok(())
}

/// The update's outcome to the settings' webhook, if any.
async fn tell(
    rt: &Runtime,
    stack: &crate::domain::StackName,
    result: &Result<crate::domain::DeploymentState, crate::deploy::OperationError>,
) {
    let kind = crate::domain::stage::OperationKind::Update;
    let now = rt.clock.now();
    if let Some(event) = crate::deploy::outcome_event(kind, stack.as_str(), now, result) {
        crate::notify::tell(&rt.settings.notify, event).await;
    }
}

/// `--images tested|SERVICE=TAG…`: the stack's image tags after, each move
/// checked against assets/images.toml's rules.
fn image_tags(
    state: &crate::domain::DeploymentState,
    words: &[String],
) -> Result<crate::domain::images::ImageTags, Failure> {
    use crate::domain::images::{self, ImageAsk};
    let ask = ImageAsk::parse(words).map_err(Failure::bad_input)?;
    let catalogue = images::shipped().map_err(|e| Failure::failed(e.to_string()))?;
    images::resolve(&catalogue, &update::stack_images(state), &ask)
        .map_err(|why| Failure::bad_input(format!("{why}; nothing was changed")))
}

/// `--allow-cidr C`: admit exactly C, as a plan line and the change to make.
fn cidr_change(
    state: &crate::domain::DeploymentState,
    cidr: Option<&str>,
) -> Result<Option<(Change, AccessChange)>, Failure> {
    let Some(text) = cidr else {
        return Ok(None);
    };
    let cidr = Cidr::parse(text).map_err(Failure::bad_input)?;
    if let Some(why) = access::not_applicable(state) {
        return Err(Failure::bad_input(why));
    }
    let current = exposure::allowed_cidrs(state);
    if current == [cidr.to_string()] {
        return Ok(None);
    }
    Ok(Some((
        Change {
            setting: "allowed CIDRs",
            from: current.join(", "),
            to: cidr.to_string(),
        },
        AccessChange::Set(vec![cidr]),
    )))
}

fn show_plan(plan: &UpdatePlan, json: bool, nothing_to_do: bool) -> Result<(), Failure> {
    if json {
        return print_json(plan);
    }
    if nothing_to_do {
        println!(
            "{} already runs as asked; nothing to change. Give --instance-type, --spot, --on-demand, --images or --allow-cidr \
             (--images tested moves to the newest tags in assets/images.toml that passed the acceptance script)",
            plan.stack
        );
        return Ok(());
    }
    print_plan(plan);
    println!("Nothing was changed (--plan).");
    Ok(())
}

fn print_plan(plan: &UpdatePlan) {
    println!("Update {}:", plan.stack);
    let mut heading = "";
    for (section, line) in plan.sections() {
        if section == "monthly cost" {
            println!("  {section}  {line}");
            continue;
        }
        if section != heading {
            println!("  {section}");
            heading = section;
        }
        println!("    {line}");
    }
}
