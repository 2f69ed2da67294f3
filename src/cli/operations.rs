//! `deploy` and `destroy` from the command line.

use std::io::{BufRead, IsTerminal, Write};

use crate::cloud::session::StoreSink;
use crate::cloud::{Cidr, DeployOptions, DeployRequest};
use crate::deploy::plan::Plan;
use crate::deploy::{self, OperationError};
use crate::domain::budget::Budget;
use crate::domain::cost::dollars;
use crate::domain::exposure::Publish;
use crate::domain::{StackName, StackStatus, Tier};
use crate::runtime::Runtime;

use super::args::{DeployArgs, DestroyArgs};
use super::output::print_json;
use super::{Failure, progress};

pub async fn deploy(rt: &Runtime, args: DeployArgs, json: bool) -> Result<(), Failure> {
    let req = request(rt, &args)?;
    let cloud = rt.cloud().await?;
    if args.plan {
        let plan = deploy::plan::plan(&rt.context(cloud), &req).await?;
        return if json {
            print_json(&plan)
        } else {
            print_plan(&plan);
            Ok(())
        };
    }
    if !args.yes {
        let market = if req.spot { "spot" } else { "on-demand" };
        confirm(&format!(
            "Deploy {} ({} tier, {market} {}) in {} ({})?",
            req.stack, req.tier, req.instance_type, req.region, rt.provider
        ))?;
    }
    eprintln!(
        "Deploying {} ({} tier) in {} ({})",
        req.stack, req.tier, req.region, rt.provider
    );
    let ctx = rt.context(cloud);
    let (sink, rx) = StoreSink::new(rt.store.clone());
    let printer = tokio::spawn(progress::print_stages(rx, rt.clock.now()));
    let result = deploy::deploy(&ctx, &req, Box::new(sink)).await;
    let _ = printer.await;
    let kind = crate::domain::stage::OperationKind::Deploy;
    let now = rt.clock.now();
    if let Some(event) = deploy::outcome_event(kind, req.stack.as_str(), now, &result) {
        crate::notify::tell(&rt.settings.notify, event).await;
    }
    let state = result.map_err(|e| with_next_step(e, &req.stack, "deploy"))?;
    if json {
        return print_json(&state);
    }
    println!("{} is running.\n", state.stack_name);
    let terminal = std::io::stdout().is_terminal();
    let connection = crate::domain::connect::of(&state);
    print!("{}", super::connect::text(&state, &connection, terminal));
    if let Some(hint) = models_hint(&state) {
        println!("\n{hint}");
    }
    Ok(())
}

/// What to do when the deploy pulled no model, or its pull failed: Ollama
/// answers, but has nothing to run.
fn models_hint(state: &crate::domain::DeploymentState) -> Option<String> {
    use crate::domain::stage::StageStatus;
    let stage = state.operation.as_ref().and_then(|o| {
        o.stages
            .iter()
            .find(|s| s.stage == crate::domain::Stage::Models)
    });
    let model = crate::domain::models::default_model(state.tier());
    let pull = crate::domain::connect::command(
        state,
        &format!("models {} pull {}", state.stack_name, model.name),
    );
    match stage.map(|s| s.status) {
        Some(StageStatus::Done) => None,
        Some(_) => Some(format!("The model pull did not finish; try again: {pull}")),
        None => Some(format!(
            "No model is pulled yet. Pull the tier's ({}): {pull}",
            crate::domain::models::size_and_cost(model.size_bytes, state.efs_gb_month())
        )),
    }
}

fn request(rt: &Runtime, args: &DeployArgs) -> Result<DeployRequest, Failure> {
    // A stack that runs keeps its own tier, type and market where the flags
    // say nothing; a flag that differs is refused (that is `update`'s).
    let running = rt
        .store
        .load(&args.stack)?
        .filter(deploy::update::runs)
        .and_then(|s| deploy::update::current_request(&s));
    let tier = args
        .tier
        .or(running.as_ref().map(|r| r.tier))
        .unwrap_or(rt.settings.default_tier);
    let spot = match (args.spot, args.on_demand, &running) {
        (true, _, _) => true,
        (_, true, _) => false,
        (_, _, Some(r)) => r.spot,
        _ => rt.settings.prefer_spot,
    };
    let instance_type = match (&args.instance_type, &running) {
        (Some(t), _) => t.clone(),
        (None, Some(r)) => r.instance_type.clone(),
        (None, None) if tier == Tier::Dev => rt.settings.default_instance_type.clone(),
        (None, None) => tier.default_instance_type().to_string(),
    };
    check_instance_type(&instance_type)?;
    let cidr = |v: &Option<String>| {
        v.as_deref()
            .map(Cidr::parse)
            .transpose()
            .map_err(Failure::bad_input)
    };
    if args.ssh_cidr.is_some() {
        return Err(Failure::bad_input(
            "--ssh-cidr is gone: no port 22 is opened and no key pair is set; \
             open a shell with `geusemaker-tui shell STACK` (SSM Session Manager)",
        ));
    }
    let publish = match (args.public, args.public_webhooks) {
        (true, _) => Publish::Public,
        (_, true) => Publish::PublicWebhooks,
        _ => Publish::Private,
    };
    let options = DeployOptions {
        vpc_id: args.vpc_id.clone(),
        allow_cidr: cidr(&args.allow_cidr)?,
        publish,
        domain: args.domain.clone(),
        owner_email: args.owner_email.clone(),
        allow_expensive: args.allow_expensive,
        fallback_on_demand: args.fallback_on_demand,
        certificate_arn: args.certificate_arn.clone(),
        ami_id: args.ami_id.clone(),
        budget: args
            .budget
            .or(rt.settings.monthly_budget_usd)
            .map(|monthly_usd| Budget {
                monthly_usd,
                action: args.budget_action.unwrap_or(rt.settings.budget_action),
            }),
        over_budget: args.over_budget,
        new_vpc: args.new_vpc,
        subnet_id: args.subnet_id.clone(),
        auto_rollback: args.no_auto_rollback.then_some(false),
        rollback_timeout_minutes: args.rollback_timeout,
        replace_instance: false,
        instance_checks: Some(rt.settings.instance_checks()),
        models: args.model.clone(),
        images: None,
        database_dump: None,
        sns_topic_arn: rt.settings.notify.sns_topic_arn.clone(),
    };
    options.check(tier).map_err(Failure::bad_input)?;
    let req = DeployRequest {
        stack: args.stack.clone(),
        tier,
        region: rt.region.clone(),
        instance_type,
        spot,
        options,
    };
    if let Some(state) = rt.store.load(&args.stack)?
        && let Some(refusal) = deploy::update::deploy_refusal(&state, &req)
    {
        return Err(Failure::bad_input(refusal));
    }
    Ok(req)
}

pub async fn destroy(rt: &Runtime, args: DestroyArgs, json: bool) -> Result<(), Failure> {
    let state = super::load_existing(rt, &args.stack)?;
    // The stack's own region, whatever --region says: its resources are there.
    let cloud = rt.cloud_in(state.region()).await?;
    if !args.yes {
        let what = if args.delete_data {
            "and DELETE its EFS with all its data"
        } else {
            "(its EFS data is kept)"
        };
        confirm(&format!("Destroy {} {what}?", args.stack))?;
    }
    if state.status == StackStatus::Destroyed && !args.delete_data {
        eprintln!("{} is already destroyed.", args.stack);
    }
    let ctx = rt.context(cloud);
    let (sink, rx) = StoreSink::new(rt.store.clone());
    let printer = tokio::spawn(progress::print_stages(rx, rt.clock.now()));
    let result = deploy::destroy(&ctx, &args.stack, args.delete_data, Box::new(sink)).await;
    let _ = printer.await;
    let outcome = result.map_err(|e| with_next_step(e, &args.stack, "destroy"))?;
    if json {
        let kept = outcome.kept.as_ref().map(|k| {
            serde_json::json!({
                "efs_id": k.efs_id,
                "size_gb": (k.size_gb * 100.0).round() / 100.0,
                "monthly_cost": (k.monthly_cost * 100.0).round() / 100.0,
            })
        });
        return print_json(&serde_json::json!({
            "stack_name": args.stack.as_str(),
            "status": if outcome.state.is_some() { "destroyed" } else { "deleted" },
            "kept_data": kept,
        }));
    }
    match &outcome.kept {
        Some(kept) => println!(
            "{} destroyed. Kept {} while kept.\nA later `deploy {}` reuses it; `destroy {} --delete-data` deletes it.",
            args.stack,
            kept.describe(),
            args.stack,
            args.stack
        ),
        None => println!("{} and all its data are deleted.", args.stack),
    }
    Ok(())
}

pub(super) fn check_instance_type(name: &str) -> Result<(), Failure> {
    if crate::cloud::is_instance_type(name) {
        return Ok(());
    }
    Err(Failure::bad_input(format!(
        "{name:?} is not an EC2 instance type; use a name like t3.medium or g4dn.xlarge"
    )))
}

pub(super) fn with_next_step(e: OperationError, stack: &StackName, op: &str) -> Failure {
    let retry = matches!(e, OperationError::Stage { .. });
    let mut failure = Failure::from(e);
    if retry {
        failure.message = format!(
            "{}\nWhat was created is recorded; run `{op} {stack}` again to resume, or `status {stack}` to see it.",
            failure.message
        );
    }
    failure
}

fn print_plan(plan: &Plan) {
    let market = if plan.spot { "spot" } else { "on-demand" };
    println!(
        "Plan for {} ({} tier, {market} {}, {}); nothing is created by this.",
        plan.stack, plan.tier, plan.instance_type, plan.region
    );
    for stage in &plan.stages {
        println!("  {}", stage.stage);
        for r in &stage.resources {
            println!("    {:<6} {}", r.action, r.what);
        }
    }
    println!("  Monthly cost (~ estimate)");
    for item in &plan.costs {
        let mark = if item.estimate { "~" } else { " " };
        println!(
            "    {:<11} {mark}{:>9}  {}",
            item.component,
            dollars(item.monthly),
            item.note
        );
    }
    println!("    {:<11} ~{:>9}", "total", dollars(plan.monthly_estimate));
    if let Some(budget) = &plan.budget {
        let verdict = if plan.over_budget {
            "over it: deploy refuses without --over-budget"
        } else {
            "within it"
        };
        println!("  Budget {}/month: {verdict}", dollars(budget.monthly_usd));
    }
    println!("  destroy keeps {}", plan.destroy_keeps.join(" and "));
    println!("  Exposure");
    for row in &plan.exposure {
        let note = row
            .note
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        println!(
            "    {:<13} {:>5} {:<7} {} from {}{note}",
            row.listener,
            row.port,
            row.over,
            row.serves,
            row.from.join(", ")
        );
    }
}

/// Ask on the terminal; without one, refuse: scripts must say --yes.
pub(super) fn confirm(question: &str) -> Result<(), Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::bad_input(format!(
            "{question} Refusing without confirmation: stdin is not a terminal. Add --yes"
        )));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::failed(format!("could not read the answer: {e}")))?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Failure::failed("cancelled; nothing was changed"))
    }
}
