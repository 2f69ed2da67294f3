//! Keys and lookups of the deploy wizard. Enter checks the step and goes on,
//! Esc goes back (nothing entered is lost), Ctrl-C leaves, and `q` leaves
//! after a `y`. Nothing is created before Enter on the plan.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use strum::IntoEnumIterator;

use super::dialogs::{deploy, is_text_input, name_problem};
use crate::app::effect::{Effect, Query};
use crate::app::model::{Model, Overlay};
use crate::app::msg::Found;
use crate::app::wizard::{
    AccessField, Lookup, NetworkRow, OptionsField, Step, Wizard, WizardDefaults, single_line,
    text_of,
};
use crate::cloud::{Cidr, DeployOptions, DeployRequest, Prices};
use crate::deploy::plan;
use crate::domain::budget::{Budget, BudgetAction, parse_usd};
use crate::domain::list_prices::{EFS_GB_MONTH, is_g_family, price_of};
use crate::domain::{StackName, Tier};
use crate::runtime::ROLLBACK_TIMEOUT_MINUTES;

type Outcome = (Option<Overlay>, Vec<Effect>);

fn keep(wizard: Box<Wizard>, effects: Vec<Effect>) -> Outcome {
    (Some(Overlay::Wizard(wizard)), effects)
}

/// `n`: open the wizard, and start looking up the VPCs of the region.
pub fn open(model: &mut Model) -> Vec<Effect> {
    let wizard = Wizard::new(&WizardDefaults {
        region: &model.region,
        tier: model.default_tier,
        spot: model.prefer_spot,
        auto_rollback: model.auto_rollback,
        rollback_minutes: ROLLBACK_TIMEOUT_MINUTES,
        budget_action: model.budget_action,
    });
    let region = wizard.networks_region.clone();
    model.overlay = Some(Overlay::Wizard(Box::new(wizard)));
    vec![Effect::Lookup(Query::Networks { region })]
}

pub fn on_key(model: &mut Model, mut w: Box<Wizard>, key: KeyEvent) -> Outcome {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return (None, Vec::new());
    }
    if w.leaving {
        w.leaving = false;
        return match key.code {
            KeyCode::Char('y' | 'q') => (None, Vec::new()),
            _ => keep(w, Vec::new()),
        };
    }
    match key.code {
        KeyCode::Enter => next(model, w),
        KeyCode::Esc => back(w),
        KeyCode::Char('q') if !w.typing() => {
            w.leaving = true;
            keep(w, Vec::new())
        }
        _ => {
            let effects = step_key(model, &mut w, key);
            keep(w, effects)
        }
    }
}

fn back(mut w: Box<Wizard>) -> Outcome {
    w.error = None;
    match w.step.prev() {
        Some(prev) => w.step = prev,
        None if text_of(&w.name).is_empty() => return (None, Vec::new()),
        // Something was typed: leaving loses it, so ask.
        None => w.leaving = true,
    }
    keep(w, Vec::new())
}

/// Enter: check the step; go on only when it is right.
fn next(model: &mut Model, mut w: Box<Wizard>) -> Outcome {
    if let Err(why) = check_step(model, &w) {
        w.error = Some(why);
        return keep(w, Vec::new());
    }
    w.error = None;
    match w.step {
        Step::Options => match request(model, &w) {
            Ok(req) => {
                let existing = model
                    .stacks
                    .iter()
                    .find(|s| s.stack_name == req.stack.as_str())
                    .cloned();
                let prices = plan_prices(&w, model.is_sandbox());
                let made = plan::make(&req, existing, &prices, model.now);
                w.review = Some(Box::new((req, made)));
                w.plan_scroll = 0;
            }
            Err((step, why)) => {
                w.step = step;
                w.error = Some(why);
                return keep(w, Vec::new());
            }
        },
        Step::Plan => {
            let Some(review) = w.review.take() else {
                return keep(w, Vec::new());
            };
            let (mut req, made) = *review;
            // The plan said it is over the budget: Enter on "Deploy" is the
            // consent that `--over-budget` gives on the command line.
            req.options.over_budget = made.over_budget;
            return deploy(model, req);
        }
        _ => {}
    }
    let Some(step) = w.step.next() else {
        return keep(w, Vec::new());
    };
    w.step = step;
    let effects = arrive(&mut w);
    keep(w, effects)
}

/// Start what the step shows and has not been looked up yet.
fn arrive(w: &mut Wizard) -> Vec<Effect> {
    let region = w.region().to_string();
    match w.step {
        Step::Network if w.networks_region != region => {
            // Another region: its VPCs and prices are another matter.
            w.networks = Lookup::Loading;
            w.networks_region = region.clone();
            w.network = 0;
            w.subnet = None;
            w.quotes.clear();
            w.gpu_quotas.clear();
            vec![Effect::Lookup(Query::Networks { region })]
        }
        Step::Instance => quote_chosen(w),
        Step::Access if w.caller.is_none() => {
            w.caller = Some(Lookup::Loading);
            vec![Effect::Lookup(Query::CallerCidr { region })]
        }
        _ => Vec::new(),
    }
}

/// Look up what the chosen type and market need and are not known yet:
/// the prices, and for G types the quota.
fn quote_chosen(w: &mut Wizard) -> Vec<Effect> {
    let instance_type = w.instance_type().to_string();
    let region = w.region().to_string();
    let mut effects = Vec::new();
    if !w.quotes.contains_key(&instance_type) {
        w.quotes.insert(instance_type.clone(), Lookup::Loading);
        effects.push(Effect::Lookup(Query::Prices {
            region: region.clone(),
            instance_type: instance_type.clone(),
        }));
    }
    let key = (instance_type.clone(), w.spot);
    if is_g_family(&instance_type) && !w.gpu_quotas.contains_key(&key) {
        w.gpu_quotas.insert(key, Lookup::Loading);
        effects.push(Effect::Lookup(Query::GpuQuota {
            region,
            instance_type,
            spot: w.spot,
        }));
    }
    effects
}

fn step_key(model: &Model, w: &mut Wizard, key: KeyEvent) -> Vec<Effect> {
    match w.step {
        Step::Name => {
            if is_text_input(&key) {
                w.name.input(key);
                // Checked as it is typed; Next stays blocked while it is wrong.
                w.error = name_problem(model, &text_of(&w.name)).err();
            }
        }
        Step::Tier => {
            if let Some(at) = moved(&key, Tier::ALL.iter().position(|t| *t == w.tier), 3) {
                w.tier = Tier::ALL[at];
                w.select_default_type();
                w.access_field = AccessField::AllowCidr;
            }
        }
        Step::Region => {
            if let Some(at) = moved(&key, Some(w.region), w.regions.len()) {
                w.region = at;
            }
        }
        Step::Network => network_key(w, key),
        Step::Instance => {
            if let Some(at) = moved(&key, Some(w.instance), w.offers().len()) {
                w.instance = at;
                return quote_chosen(w);
            }
            if toggles(&key) {
                w.spot = !w.spot;
                return quote_chosen(w);
            }
        }
        Step::Access => access_key(w, key),
        Step::Options => options_key(w, key),
        Step::Plan => match key.code {
            KeyCode::Char('j') | KeyCode::Down => {
                w.plan_scroll = w.plan_scroll.saturating_add(1).min(64)
            }
            KeyCode::Char('k') | KeyCode::Up => w.plan_scroll = w.plan_scroll.saturating_sub(1),
            _ => {}
        },
    }
    Vec::new()
}

/// Up/Down (j/k, Home/End) in a list of `len` rows: the new row, if moved.
fn moved(key: &KeyEvent, at: Option<usize>, len: usize) -> Option<usize> {
    let at = at.unwrap_or(0);
    let last = len.checked_sub(1)?;
    let to = match key.code {
        KeyCode::Down | KeyCode::Char('j') => (at + 1).min(last),
        KeyCode::Up | KeyCode::Char('k') => at.saturating_sub(1),
        KeyCode::PageDown => (at + 10).min(last),
        KeyCode::PageUp => at.saturating_sub(10),
        KeyCode::Home | KeyCode::Char('g') => 0,
        KeyCode::End | KeyCode::Char('G') => last,
        _ => return None,
    };
    Some(to)
}

fn toggles(key: &KeyEvent) -> bool {
    matches!(
        key.code,
        KeyCode::Left | KeyCode::Right | KeyCode::Char(' ' | 'h' | 'l')
    )
}

fn network_key(w: &mut Wizard, key: KeyEvent) {
    let row = w.network_row();
    let has_detail =
        matches!(row, NetworkRow::Vpc(v) if !v.subnets.is_empty()) || row == NetworkRow::Typed;
    if matches!(key.code, KeyCode::Tab | KeyCode::BackTab) {
        w.network_detail = has_detail && !w.network_detail;
        return;
    }
    if !w.network_detail {
        if let Some(at) = moved(&key, Some(w.network), w.network_rows().len()) {
            w.network = at;
            w.subnet = None;
            w.error = None;
        }
        return;
    }
    match row {
        NetworkRow::Vpc(vpc) => {
            let count = vpc.subnets.len();
            // None (automatic), then each subnet, round and round.
            let step: isize = match key.code {
                KeyCode::Right | KeyCode::Char(' ' | 'l') => 1,
                KeyCode::Left | KeyCode::Char('h') => -1,
                _ => return,
            };
            let at = w.subnet.map_or(0, |i| i as isize + 1);
            let to = (at + step).rem_euclid(count as isize + 1);
            w.subnet = (to > 0).then(|| to as usize - 1);
        }
        NetworkRow::Typed if is_text_input(&key) => {
            w.typed_vpc.input(key);
            w.error = None;
        }
        _ => {}
    }
}

fn access_key(w: &mut Wizard, key: KeyEvent) {
    let fields = w.access_fields();
    if let Some(to) = next_field(&key, &fields, w.access_field) {
        w.access_field = to;
        return;
    }
    if !is_text_input(&key) {
        return;
    }
    w.error = None;
    match w.access_field {
        AccessField::AllowCidr => w.allow_cidr.input(key),
        AccessField::SshCidr => w.ssh_cidr.input(key),
        AccessField::Certificate => w.certificate.input(key),
    };
}

fn options_key(w: &mut Wizard, key: KeyEvent) {
    let fields: Vec<OptionsField> = OptionsField::iter().collect();
    if let Some(to) = next_field(&key, &fields, w.options_field) {
        w.options_field = to;
        return;
    }
    w.error = None;
    match w.options_field {
        OptionsField::AutoRollback if toggles(&key) => w.auto_rollback = !w.auto_rollback,
        OptionsField::BudgetAction if toggles(&key) => {
            w.budget_action = match w.budget_action {
                BudgetAction::Warn => BudgetAction::Stop,
                BudgetAction::Stop => BudgetAction::Warn,
            }
        }
        OptionsField::RollbackTimeout if is_text_input(&key) => {
            w.rollback_minutes.input(key);
        }
        OptionsField::Budget if is_text_input(&key) => {
            w.budget.input(key);
        }
        _ => {}
    }
}

/// Tab/Down and Shift-Tab/Up move between a step's fields.
fn next_field<F: Copy + PartialEq>(key: &KeyEvent, fields: &[F], at: F) -> Option<F> {
    let i = fields.iter().position(|f| *f == at).unwrap_or(0);
    let n = fields.len();
    match key.code {
        KeyCode::Tab | KeyCode::Down => Some(fields[(i + 1) % n]),
        KeyCode::BackTab | KeyCode::Up => Some(fields[(i + n - 1) % n]),
        _ => None,
    }
}

/// A lookup answered. Answers for another region (the user moved on) are
/// dropped, as are answers that arrive after the wizard closed.
pub fn on_found(model: &mut Model, found: Found) {
    let Some(Overlay::Wizard(w)) = model.overlay.as_mut() else {
        return;
    };
    match found {
        Found::Networks { region, result } if region == w.networks_region => {
            // Keep "create new" chosen if it was; else the default VPC.
            let wanted_new = w.network_row() == NetworkRow::CreateNew;
            w.networks = lookup(result);
            w.network = if wanted_new {
                w.network_rows().len() - 1
            } else {
                0
            };
            w.subnet = None;
            w.network_detail = false;
        }
        Found::Prices {
            region,
            instance_type,
            result,
        } if region == w.region() => {
            w.quotes.insert(instance_type, lookup(result));
        }
        Found::GpuQuota {
            region,
            instance_type,
            spot,
            result,
        } if region == w.region() => {
            w.gpu_quotas.insert((instance_type, spot), lookup(result));
        }
        Found::CallerCidr { result } => {
            if let Ok(cidr) = &result
                && text_of(&w.allow_cidr).is_empty()
            {
                w.allow_cidr = single_line(cidr.as_str());
            }
            w.caller = Some(lookup(result));
        }
        _ => {}
    }
}

fn lookup<T>(result: Result<T, String>) -> Lookup<T> {
    match result {
        Ok(value) => Lookup::Ready(value),
        Err(why) => Lookup::Failed(why),
    }
}

/// What is wrong with the current step, if anything.
fn check_step(model: &Model, w: &Wizard) -> Result<(), String> {
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
    ssh_cidr: Option<Cidr>,
    certificate_arn: Option<String>,
}

fn checked_access(w: &Wizard) -> Result<AccessChosen, String> {
    let cidr = |area| {
        let typed = text_of(area);
        (!typed.is_empty()).then(|| Cidr::parse(&typed)).transpose()
    };
    let certificate = text_of(&w.certificate);
    let chosen = AccessChosen {
        allow_cidr: cidr(&w.allow_cidr)?,
        ssh_cidr: cidr(&w.ssh_cidr)?,
        certificate_arn: (w.tier.has_load_balancer() && !certificate.is_empty())
            .then_some(certificate),
    };
    let options = DeployOptions {
        certificate_arn: chosen.certificate_arn.clone(),
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
fn request(model: &Model, w: &Wizard) -> Result<DeployRequest, (Step, String)> {
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
            ssh_cidr: access.ssh_cidr,
            certificate_arn: access.certificate_arn,
            budget: options.budget,
            auto_rollback: Some(w.auto_rollback),
            rollback_timeout_minutes: Some(options.rollback_minutes),
            ..DeployOptions::default()
        },
    })
}

/// The live prices when they came, else list prices marked as estimates
/// (outside the sandbox, whose prices they are).
pub fn plan_prices(w: &Wizard, sandbox: bool) -> Prices {
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
