//! `cost`: what the stack costs, from its recorded prices and times.

use serde::Serialize;

use crate::domain::StackName;
use crate::domain::cost::{self, dollars};
use crate::runtime::Runtime;

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
    efs_size_gb: f64,
    efs_size_known: bool,
    efs_monthly: f64,
    alb_monthly: f64,
    monthly_estimate: f64,
    runtime_hours: f64,
    cost_to_date: f64,
}

pub fn cost(rt: &Runtime, stack: &StackName, json: bool) -> Result<(), Failure> {
    let state = load_existing(rt, stack)?;
    let c = cost::summarize(&state, rt.clock.now());
    let r2 = |v: f64| (v * 100.0).round() / 100.0;
    if json {
        return print_json(&CostReport {
            stack_name: &state.stack_name,
            instance_type: state.instance_type(),
            is_spot: c.is_spot,
            hourly_rate: c.hourly_rate,
            on_demand_rate: c.on_demand_rate,
            spot_saving_pct: c.spot_saving_pct.map(|p| (p * 10.0).round() / 10.0),
            efs_size_gb: r2(c.efs_size_gb),
            efs_size_known: c.efs_size_known,
            efs_monthly: r2(c.efs_monthly),
            alb_monthly: r2(c.alb_monthly),
            monthly_estimate: r2(c.monthly_estimate),
            runtime_hours: (c.runtime_hours * 1000.0).round() / 1000.0,
            cost_to_date: (c.cost_to_date * 10_000.0).round() / 10_000.0,
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
    let efs_size = cost::efs_size(c.efs_size_gb, c.efs_size_known);
    println!(
        "{} ({}, {})",
        state.stack_name,
        state.tier(),
        state.region()
    );
    println!("  instance   {instance}");
    if state.efs_id.is_some() {
        println!("  EFS        {efs_size}  {}/month", dollars(c.efs_monthly));
    }
    if c.alb_monthly > 0.0 {
        println!("  ALB        {}/month before LCUs", dollars(c.alb_monthly));
    }
    println!("  monthly    ~{}", dollars(c.monthly_estimate));
    println!(
        "  to date    {} ({:.1} h of instance time)",
        dollars(c.cost_to_date),
        c.runtime_hours
    );
    Ok(())
}
