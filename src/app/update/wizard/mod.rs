//! Keys and lookups of the deploy wizard. Enter checks the step and goes on,
//! Esc goes back (nothing entered is lost), Ctrl-C leaves, and `q` leaves
//! after a `y`. Nothing is created before Enter on the plan.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use strum::IntoEnumIterator;

mod checks;

use self::checks::{check_step, plan_prices, request};
use super::dialogs::{deploy, is_text_input, name_problem};
use crate::app::effect::{Effect, Query};
use crate::app::model::{Model, Overlay};
use crate::app::msg::Found;
use crate::app::wizard::{
    AccessField, Lookup, NetworkRow, OptionsField, Step, Wizard, WizardDefaults, single_line,
    text_of,
};
use crate::deploy::plan;
use crate::domain::Tier;
use crate::domain::budget::BudgetAction;
use crate::domain::list_prices::is_g_family;
use crate::runtime::ROLLBACK_TIMEOUT_MINUTES;

type Outcome = (Option<Overlay>, Vec<Effect>);

fn keep(wizard: Box<Wizard>, effects: Vec<Effect>) -> Outcome {
    (Some(Overlay::Wizard(wizard)), effects)
}

/// `n`: open the wizard, and start looking up the VPCs of the region.
pub fn open(model: &mut Model) -> Vec<Effect> {
    let live: Vec<&str> = model
        .stacks
        .iter()
        .filter(|s| s.status != crate::domain::StackStatus::Destroyed)
        .map(|s| s.stack_name.as_str())
        .collect();
    let name = crate::app::wizard::suggested_name(model.now, &live);
    let wizard = Wizard::new(&WizardDefaults {
        name: &name,
        region: &model.region,
        tier: model.default_tier,
        instance_type: &model.default_instance_type,
        spot: model.prefer_spot,
        auto_rollback: model.auto_rollback,
        rollback_minutes: ROLLBACK_TIMEOUT_MINUTES,
        budget_action: model.budget_action,
    });
    let region = wizard.lookup_region.clone();
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
        None if w.name_suggested || text_of(&w.name).is_empty() => return (None, Vec::new()),
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
        Step::Network if w.lookup_region != region => {
            // Another region: its VPCs and prices are another matter.
            w.networks = Lookup::Loading;
            w.lookup_region = region.clone();
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
    let region = w.lookup_region.clone();
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

/// A key that changes the text, not one that moves the cursor.
fn edits(key: &KeyEvent) -> bool {
    matches!(
        key.code,
        KeyCode::Char(_) | KeyCode::Backspace | KeyCode::Delete
    )
}

fn step_key(model: &Model, w: &mut Wizard, key: KeyEvent) -> Vec<Effect> {
    match w.step {
        Step::Name => {
            if is_text_input(&key) {
                if std::mem::take(&mut w.name_suggested) && edits(&key) {
                    // Like a selected default: typing replaces it.
                    w.name = crate::app::wizard::single_line("");
                    if key.code == KeyCode::Backspace {
                        w.error = name_problem(model, "").err();
                        return Vec::new();
                    }
                }
                w.name.input(key);
                // Checked as it is typed; Next stays blocked while it is wrong.
                w.error = name_problem(model, &text_of(&w.name)).err();
            }
        }
        Step::Tier => {
            if let Some(at) = moved(&key, Tier::ALL.iter().position(|t| *t == w.tier), 3) {
                w.tier = Tier::ALL[at];
                w.select_default_type();
                w.select_default_model();
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
        AccessField::OwnerEmail => w.owner_email.input(key),
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
        OptionsField::Models => match key.code {
            KeyCode::Left | KeyCode::Char('h') => w.move_model_cursor(false),
            KeyCode::Right | KeyCode::Char('l') => w.move_model_cursor(true),
            KeyCode::Char(' ') => w.toggle_model(),
            _ => {}
        },
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
        Found::Networks { region, result } if region == w.lookup_region => {
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
        } if region == w.lookup_region => {
            w.quotes.insert(instance_type, lookup(result));
        }
        Found::GpuQuota {
            region,
            instance_type,
            spot,
            result,
        } if region == w.lookup_region => {
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
