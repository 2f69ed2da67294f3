//! The wizard's checks: each step's fields as the request wants them, or a
//! sentence saying what is wrong; and the prices its plan uses.

use super::super::dialogs::name_problem;
use crate::app::model::Model;
use crate::app::wizard::{Lookup, NetworkRow, Step, Wizard, text_of};
use crate::cloud::{Cidr, DeployOptions, DeployRequest, Prices};
use crate::domain::StackName;
use crate::domain::budget::{Budget, parse_usd};
use crate::domain::list_prices::{EFS_GB_MONTH, price_of};

/// What is wrong with the current step, if anything.
pub(super) fn check_step(model: &Model, w: &Wizard) -> Result<(), String> {
    match w.step {
        Step::Name => checked_name(model, w).map(drop),
        Step::Network => checked_network(w).map(drop),
        Step::Access => checked_access(w).map(drop),
        Step::Options => checked_options(w).map(drop),
        _ => Ok(()),
    }
}

fn checked_name(model: &Model, w: &Wizard) -> Result<StackName, String> {
    let stack = name_problem(model, &text_of(&w.name))?;
    if model.busy.contains_key(stack.as_str()) {
        return Err(format!("{stack} is busy with another operation"));
    }
    Ok(stack)
}

struct NetworkChosen {
    vpc_id: Option<String>,
    new_vpc: bool,
    subnet_id: Option<String>,
}

fn checked_network(w: &Wizard) -> Result<NetworkChosen, String> {
    let mut chosen = NetworkChosen {
        vpc_id: None,
        new_vpc: false,
        subnet_id: None,
    };
    match w.network_row() {
        NetworkRow::Vpc(vpc) => {
            // The default VPC is what the deploy finds by itself.
            chosen.vpc_id = (!vpc.is_default).then(|| vpc.vpc_id.clone());
            chosen.subnet_id = w
                .subnet
                .and_then(|i| vpc.subnets.get(i))
                .map(|n| n.subnet_id.clone());
        }
        NetworkRow::DefaultAtDeploy => {}
        NetworkRow::CreateNew => chosen.new_vpc = true,
        NetworkRow::Typed => {
            let typed = text_of(&w.typed_vpc);
            if typed.is_empty() {
                return Err("type the VPC id, or choose the default or a new VPC".into());
            }
            chosen.vpc_id = Some(typed);
        }
    }
    let ids = DeployOptions {
        vpc_id: chosen.vpc_id.clone(),
        ..DeployOptions::default()
    };
    ids.check(w.tier)?;
    Ok(chosen)
}

struct AccessChosen {
    allow_cidr: Option<Cidr>,
    owner_email: Option<String>,
    certificate_arn: Option<String>,
}

fn checked_access(w: &Wizard) -> Result<AccessChosen, String> {
    let cidr = |area| {
        let typed = text_of(area);
        (!typed.is_empty()).then(|| Cidr::parse(&typed)).transpose()
    };
    if text_of(&w.allow_cidr).is_empty() && matches!(w.caller, Some(Lookup::Failed(_))) {
        // The deploy would look for the address again, and fail the same way.
        return Err("type the CIDR the services open to: your public IP could not be found".into());
    }
    let certificate = text_of(&w.certificate);
    let chosen = AccessChosen {
        allow_cidr: cidr(&w.allow_cidr)?,
        owner_email: Some(text_of(&w.owner_email)).filter(|e| !e.is_empty()),
        certificate_arn: (w.tier.has_load_balancer() && !certificate.is_empty())
            .then_some(certificate),
    };
    let options = DeployOptions {
        certificate_arn: chosen.certificate_arn.clone(),
        owner_email: chosen.owner_email.clone(),
        ..DeployOptions::default()
    };
    options.check(w.tier)?;
    Ok(chosen)
}

struct OptionsChosen {
    rollback_minutes: u32,
    budget: Option<Budget>,
}

fn checked_options(w: &Wizard) -> Result<OptionsChosen, String> {
    let typed = text_of(&w.rollback_minutes);
    let rollback_minutes = typed
        .parse::<u32>()
        .ok()
        .filter(|m| (1..=120).contains(m))
        .ok_or_else(|| format!("{typed:?} is not a rollback timeout; use 1 to 120 minutes"))?;
    let budget = match text_of(&w.budget).as_str() {
        "" => None,
        typed => Some(Budget {
            monthly_usd: parse_usd(typed)?,
            action: w.budget_action,
        }),
    };
    Ok(OptionsChosen {
        rollback_minutes,
        budget,
    })
}

/// Everything entered, as a request; else the first step that is wrong.
pub(super) fn request(model: &Model, w: &Wizard) -> Result<DeployRequest, (Step, String)> {
    let at = |step: Step| move |why: String| (step, why);
    let stack = checked_name(model, w).map_err(at(Step::Name))?;
    let network = checked_network(w).map_err(at(Step::Network))?;
    let access = checked_access(w).map_err(at(Step::Access))?;
    let options = checked_options(w).map_err(at(Step::Options))?;
    Ok(DeployRequest {
        stack,
        tier: w.tier,
        region: w.region().to_string(),
        instance_type: w.instance_type().to_string(),
        spot: w.spot,
        options: DeployOptions {
            vpc_id: network.vpc_id,
            new_vpc: network.new_vpc,
            subnet_id: network.subnet_id,
            allow_cidr: access.allow_cidr,
            owner_email: access.owner_email,
            certificate_arn: access.certificate_arn,
            budget: options.budget,
            auto_rollback: Some(w.auto_rollback),
            rollback_timeout_minutes: Some(options.rollback_minutes),
            models: w.boot_models(),
            ..DeployOptions::default()
        },
    })
}

/// The live prices when they came, else list prices marked as estimates
/// (outside the sandbox, whose prices they are).
pub(super) fn plan_prices(w: &Wizard, sandbox: bool) -> Prices {
    if let Some(Lookup::Ready(prices)) = w.quote() {
        return prices.clone();
    }
    let listed = price_of(w.instance_type());
    let why = || (!sandbox).then(|| "list price: the live one had not loaded".to_string());
    Prices {
        on_demand_per_hour: listed.map(|(od, _)| od),
        spot_per_hour: listed.map(|(_, spot)| spot),
        efs_gb_month: EFS_GB_MONTH,
        on_demand_estimate: why(),
        spot_estimate: why(),
    }
}
