//! `cost`: what the stack costs, from its recorded prices and times.

use serde::Serialize;

use crate::domain::StackName;
use crate::domain::budget::{self, Budget, BudgetStatus};
use crate::domain::cost::{self, CostItem, dollars};
use crate::domain::state::InstancePeriod;
use crate::runtime::Runtime;
use crate::store::LockHolder;

use super::args::BudgetArgs;
use super::output::print_json;
use super::{Failure, load_existing};

#[derive(Serialize)]
struct CostReport<'a> {
    stack_name: &'a str,
    instance_type: Option<&'a str>,
    is_spot: bool,
    hourly_rate: Option<f64>,
    on_demand_rate: Option<f64>,
    spot_saving_pct: Option<f64>,
    /// The same figure under the name, for scripts.
    savings_percent: Option<f64>,
    savings_monthly: Option<f64>,
    efs_size_gb: f64,
    efs_size_known: bool,
    efs_monthly: f64,
    alb_monthly: f64,
    monthly_estimate: f64,
    runtime_hours: f64,
    cost_to_date: f64,
    items: Vec<CostItem>,
    history: &'a [InstancePeriod],
    budget: Option<BudgetStatus>,
}

pub fn cost(rt: &Runtime, stack: &StackName, json: bool) -> Result<(), Failure> {
    let state = load_existing(rt, stack)?;
    let now = rt.clock.now();
    let c = cost::summarize(&state, now);
    let budget = budget::check(&state, now);
    let r2 = |v: f64| (v * 100.0).round() / 100.0;
    let r4 = |v: f64| (v * 10_000.0).round() / 10_000.0;
    if json {
        let saving_pct = c.spot_saving_pct.map(|p| (p * 10.0).round() / 10.0);
        let items = c.items.iter().map(CostItem::rounded).collect();
        return print_json(&CostReport {
            stack_name: &state.stack_name,
            instance_type: state.instance_type(),
            is_spot: c.is_spot,
            hourly_rate: c.hourly_rate,
            on_demand_rate: c.on_demand_rate,
            spot_saving_pct: saving_pct,
            savings_percent: saving_pct,
            savings_monthly: c.spot_saving_monthly.map(r2),
            efs_size_gb: r2(c.efs_size_gb),
            efs_size_known: c.efs_size_known,
            efs_monthly: r2(c.efs_monthly),
            alb_monthly: r2(c.alb_monthly),
            monthly_estimate: r2(c.monthly_estimate),
            runtime_hours: (c.runtime_hours * 1000.0).round() / 1000.0,
            cost_to_date: r4(c.cost_to_date),
            items,
            history: state.cost.as_ref().map_or(&[], |c| &c.history),
            budget,
        });
    }
    let market = if c.is_spot { "spot" } else { "on-demand" };
    let instance = match c.hourly_rate {
        Some(rate) => {
            let vs = match (c.on_demand_rate, c.spot_saving_pct) {
                (Some(od), Some(pct)) => {
                    format!("  (on-demand {}: saving {pct:.0}%)", cost::per_hour(od))
                }
                _ => String::new(),
            };
            format!(
                "{} {market}  {}{vs}",
                state.instance_type().unwrap_or("?"),
                cost::per_hour(rate)
            )
        }
        None => "none running".into(),
    };
    println!(
        "{} ({}, {})",
        state.stack_name,
        state.tier(),
        state.region()
    );
    println!("  instance   {instance}");
    for item in c.items.iter().filter(|i| i.component != "instance") {
        let mark = if item.estimate { "~" } else { " " };
        println!(
            "  {:<10} {mark}{}/month  {}",
            item.component,
            dollars(item.monthly),
            item.note
        );
    }
    println!("  monthly    ~{}", dollars(c.monthly_estimate));
    if let Some(saving) = c.spot_saving_monthly {
        println!("  saving     {}/month against on-demand", dollars(saving));
    }
    println!(
        "  to date    {} ({:.1} h of instance time)",
        dollars(c.cost_to_date),
        c.runtime_hours
    );
    if let Some(b) = budget {
        println!("  budget     {} ({})", b.message, b.level);
    }
    let estimates: Vec<&str> = c
        .items
        .iter()
        .filter(|i| i.estimate)
        .map(|i| i.component)
        .collect();
    if !estimates.is_empty() {
        println!("  ~ estimated: {}", estimates.join(", "));
    }
    Ok(())
}

/// `budget STACK USD [--action]` or `budget STACK --clear`, under the stack's lock.
pub fn set_budget(rt: &Runtime, args: &BudgetArgs, json: bool) -> Result<(), Failure> {
    let Some(stack) = &args.stack else {
        return account_budget(rt, args, json);
    };
    let now = rt.clock.now();
    let holder = LockHolder::this_process("budget", now);
    let _lock = rt.store.lock(stack, &holder)?;
    let mut state = load_existing(rt, stack)?;
    state.budget = match (args.clear, args.monthly_usd) {
        (true, _) | (false, None) => None,
        (false, Some(monthly_usd)) => Some(Budget {
            monthly_usd,
            action: args
                .action
                .or(state.budget.as_ref().map(|b| b.action))
                .unwrap_or(rt.settings.budget_action),
        }),
    };
    cost::refresh_recorded(&mut state, now);
    state.updated_at = Some(now);
    rt.store.save(&state)?;
    if json {
        return print_json(&state.budget_status);
    }
    match &state.budget_status {
        Some(b) => println!(
            "{}: {} (at 100%: {})",
            state.stack_name, b.message, b.action
        ),
        None => println!("{}: no budget", state.stack_name),
    }
    Ok(())
}

/// `budget --all [USD | --clear]`: the account-wide budget, kept in the
/// settings, and where every live stack stands against it now.
fn account_budget(rt: &Runtime, args: &BudgetArgs, json: bool) -> Result<(), Failure> {
    let mut settings = rt.settings.clone();
    let new = args.all.flatten();
    if args.clear || new.is_some() {
        settings.account_monthly_budget_usd = new.filter(|_| !args.clear);
        rt.store.save_settings(&settings)?;
    }
    let Some(limit) = settings.account_monthly_budget_usd else {
        if json {
            return print_json(&serde_json::Value::Null);
        }
        println!("no account budget; set one with `budget --all USD`");
        return Ok(());
    };
    let stacks = rt.store.list()?.stacks;
    let status = crate::domain::budget::account(&stacks, limit, rt.clock.now());
    if json {
        return print_json(&status);
    }
    println!("{}", status.message);
    if status.to_stop.is_empty() {
        println!("The monitor of each stack enforces it (`monitor STACK`, or the dashboard).");
    } else {
        println!(
            "Each stack's monitor stops its own: {}.",
            status.to_stop.join(", ")
        );
    }
    Ok(())
}
