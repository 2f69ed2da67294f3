//! Update: change a running stack's instance type or market. The plan says
//! what changes, what is replaced and what is kept, and the monthly cost
//! before and after; the change is a new launch-template version and the
//! prepare-then-switch. A switch whose new instance never gets healthy is
//! reverted: the old one serves again and the stack records `update_failed`.

use serde::Serialize;

use crate::cloud::session::StateSink;
use crate::cloud::{DeployOptions, DeployRequest};
use crate::domain::connect::command;
use crate::domain::cost;
use crate::domain::images::{self, ImageStep, ImageTags};
use crate::domain::{DeploymentState, StackName, StackStatus};

use super::{Context, OperationError};

/// One setting the update changes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    pub setting: &'static str,
    pub from: String,
    pub to: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UpdatePlan {
    pub stack: String,
    pub changes: Vec<Change>,
    /// What a new instance replaces (prepare-then-switch).
    pub replaced: Vec<String>,
    pub kept: Vec<String>,
    /// The image moves, with their release notes and breaking changes.
    pub images: Vec<ImageStep>,
    /// Where the switch's drain writes n8n's database before a newer n8n
    /// migrates it (an n8n minor or major), for a revert to restore.
    pub database_dump: Option<String>,
    pub monthly_before: f64,
    pub monthly_after: f64,
    /// The estimate after is over the stack's budget: the update refuses
    /// without --over-budget.
    pub over_budget: bool,
}

impl UpdatePlan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The plan as lines under their headings ("changes", "replaces",
    /// "images", "first", "keeps", "monthly cost"): the CLI's and the
    /// dashboard's, alike.
    pub fn sections(&self) -> Vec<(&'static str, String)> {
        let mut rows = Vec::new();
        for c in &self.changes {
            rows.push((
                "changes",
                format!("{:<14} {} → {}", c.setting, c.from, c.to),
            ));
        }
        for r in &self.replaced {
            rows.push(("replaces", r.clone()));
        }
        for step in &self.images {
            let notes = step.notes.as_deref().unwrap_or(
                "not in assets/images.toml's tested list: no acceptance run has passed on it",
            );
            rows.push(("images", format!("{:<14} {notes}", step.service.name())));
            if let Some(breaking) = &step.breaking {
                rows.push(("images", format!("{:<14} BREAKING: {breaking}", "")));
            }
        }
        if let Some(path) = &self.database_dump {
            rows.push((
                "first",
                format!("n8n's database is dumped to {path} on the EFS once n8n stops; a revert restores it"),
            ));
        }
        for k in &self.kept {
            rows.push(("keeps", k.clone()));
        }
        let over = if self.over_budget {
            " (over the budget)"
        } else {
            ""
        };
        rows.push((
            "monthly cost",
            format!(
                "~{} → ~{}{over}",
                cost::dollars(self.monthly_before),
                cost::dollars(self.monthly_after)
            ),
        ));
        rows
    }
}

/// The stack as it runs, as a request: the base an update changes, and what
/// a `deploy` with no flags asks for on an existing stack.
pub fn current_request(state: &DeploymentState) -> Option<DeployRequest> {
    let config = state.config.clone().unwrap_or_default();
    Some(DeployRequest {
        stack: StackName::parse(&state.stack_name).ok()?,
        tier: state.tier(),
        region: state.region().to_string(),
        instance_type: state.instance_type()?.to_string(),
        spot: state.is_spot(),
        options: DeployOptions {
            vpc_id: config.vpc_id,
            publish: config.publish.unwrap_or_default(),
            domain: config.domain,
            owner_email: config.owner_email,
            certificate_arn: config.certificate_arn,
            budget: state.budget.clone(),
            auto_rollback: config.auto_rollback_on_failure,
            rollback_timeout_minutes: config.rollback_timeout_minutes,
            instance_checks: config.instance_checks,
            ..DeployOptions::default()
        },
    })
}

/// What `req` changes on the stack as it runs.
pub fn changes(state: &DeploymentState, req: &DeployRequest) -> Vec<Change> {
    let mut changes = Vec::new();
    if let Some(from) = state.instance_type()
        && from != req.instance_type
    {
        changes.push(Change {
            setting: "instance type",
            from: from.to_string(),
            to: req.instance_type.clone(),
        });
    }
    if state.is_spot() != req.spot {
        let market = |spot: bool| if spot { "spot" } else { "on-demand" }.to_string();
        changes.push(Change {
            setting: "market",
            from: market(state.is_spot()),
            to: market(req.spot),
        });
    }
    for step in image_steps(state, req) {
        changes.push(Change {
            setting: step.service.name(),
            from: step.from,
            to: step.to,
        });
    }
    changes
}

/// The image moves `req` makes from the tags the stack runs.
pub fn image_steps(state: &DeploymentState, req: &DeployRequest) -> Vec<ImageStep> {
    let Some(after) = &req.options.images else {
        return Vec::new();
    };
    let catalogue = images::shipped().unwrap_or_default();
    images::steps_between(&catalogue, &stack_images(state), after)
}

/// The image tags the stack runs that differ from the pinned ones.
pub fn stack_images(state: &DeploymentState) -> ImageTags {
    state
        .config
        .as_ref()
        .map(|c| c.images.clone())
        .unwrap_or_default()
}

/// Where an update at `now` that moves n8n off `from` dumps its database:
/// on the EFS, which outlives both instances.
pub fn dump_path(stack: &str, from: &str, now: crate::domain::Timestamp) -> String {
    let tag = from.rsplit(':').next().unwrap_or(from);
    let stamp = now.0.format("%Y%m%dT%H%M%SZ");
    format!("/mnt/efs/backups/{stack}-n8n-{tag}-{stamp}.dump")
}

/// Why `deploy` refuses `req`: the stack runs, and the request changes it,
/// which is `update`'s to do (with a plan, and a revert when it fails), or
/// `access`'s for who may reach n8n.
pub fn deploy_refusal(state: &DeploymentState, req: &DeployRequest) -> Option<String> {
    let changes = changes(state, req);
    let cidr = new_cidr(state, req);
    if !runs(state) || (changes.is_empty() && cidr.is_none()) {
        return None;
    }
    let stack = &req.stack;
    let mut what: Vec<String> = changes
        .iter()
        .map(|c| format!("{} {} → {}", c.setting, c.from, c.to))
        .collect();
    let mut todo = Vec::new();
    if !changes.is_empty() {
        let mut flags = String::new();
        if state.instance_type() != Some(req.instance_type.as_str()) {
            flags.push_str(&format!(" --instance-type {}", req.instance_type));
        }
        if state.is_spot() != req.spot {
            flags.push_str(if req.spot { " --spot" } else { " --on-demand" });
        }
        let update = command(state, &format!("update {stack}{flags}"));
        todo.push(format!(
            "`{update}` shows the plan and the cost, then switches"
        ));
    }
    if let Some(cidr) = cidr {
        what.push(format!("{cidr} allowed to reach n8n"));
        let access = command(state, &format!("access {stack} --add {cidr}"));
        todo.push(format!(
            "`{access}` admits it (`--set {cidr}` admits only it)"
        ));
    }
    Some(format!(
        "{stack} runs already, and deploy does not change a running stack ({}). {}. Nothing was changed",
        what.join(", "),
        todo.join("; ")
    ))
}

/// An `--allow-cidr` the running stack does not admit yet.
fn new_cidr<'a>(state: &DeploymentState, req: &'a DeployRequest) -> Option<&'a str> {
    let cidr = req.options.allow_cidr.as_ref()?.as_str();
    let allowed = state.config.as_ref().map(|c| c.allowed_cidrs.as_slice());
    (!allowed.unwrap_or_default().iter().any(|a| a == cidr)).then_some(cidr)
}

/// A stack with an instance to change: not destroyed, not stopped by its
/// budget, not created yet.
pub fn runs(state: &DeploymentState) -> bool {
    state.instance_id.is_some()
        && !matches!(state.status, StackStatus::Destroyed | StackStatus::Stopped)
}

/// The plan of `req` against the stack as it is, priced with `prices`.
pub fn make(
    state: &DeploymentState,
    req: &DeployRequest,
    prices: &crate::cloud::Prices,
    now: crate::domain::Timestamp,
) -> UpdatePlan {
    let changes = changes(state, req);
    let after = super::plan::make(req, Some(state.clone()), prices, now);
    let replaced = if changes.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "the instance {}: a new one boots beside it, then they switch (n8n is down only for the switch itself)",
            state.instance_id.as_deref().unwrap_or("-")
        )]
    };
    let images = image_steps(state, req);
    let database_dump = images
        .iter()
        .find(|s| s.database_dump)
        .map(|s| dump_path(&state.stack_name, &s.from, now));
    UpdatePlan {
        stack: state.stack_name.clone(),
        changes,
        replaced,
        images,
        database_dump,
        kept: kept(state),
        monthly_before: round(cost::planned_monthly(state, state.tier(), now)),
        monthly_after: after.monthly_estimate,
        over_budget: after.over_budget,
    }
}

fn kept(state: &DeploymentState) -> Vec<String> {
    let mut kept = vec![
        format!(
            "the EFS {} with n8n's workflows, the models and the database",
            state.efs_id.as_deref().unwrap_or("-")
        ),
        format!("the secrets under /geusemaker/{}/", state.stack_name),
    ];
    if let Some(ip) = &state.public_ip {
        kept.push(format!("the address {ip} (it moves to the new instance)"));
    }
    kept.push("who may reach n8n (the allowed CIDRs)".into());
    kept
}

fn round(usd: f64) -> f64 {
    (usd * 100.0).round() / 100.0
}

/// The plan of `req` for the stack on record, priced now.
pub async fn plan(ctx: &Context, req: &DeployRequest) -> Result<UpdatePlan, OperationError> {
    let state = running_state(ctx, &req.stack)?;
    let prices = ctx
        .cloud
        .prices(&req.region, &req.instance_type)
        .await
        .map_err(|e| OperationError::Conflict(format!("could not price the plan: {e}")))?;
    Ok(make(&state, req, &prices, ctx.clock.now()))
}

/// `req` once its `plan` is accepted: with the dump the plan names, or why
/// it may not run (a sentence; nothing was changed).
pub fn accepted(
    state: &DeploymentState,
    plan: &UpdatePlan,
    mut req: DeployRequest,
) -> Result<DeployRequest, String> {
    let stack = &plan.stack;
    if plan.over_budget && !req.options.over_budget {
        return Err(format!(
            "after the update the estimate, {}/month, is over {stack}'s budget; nothing was changed. \
             Raise the budget (`budget {stack} USD`) or add --over-budget",
            cost::dollars(plan.monthly_after),
        ));
    }
    if plan.database_dump.is_some() && state.autoscaling_group_name.is_none() {
        return Err(format!(
            "{stack} runs on an instance from before Auto Scaling groups, whose drain cannot dump n8n's database; \
             `deploy {stack}` moves it into its group first. Nothing was changed"
        ));
    }
    req.options.database_dump = plan.database_dump.clone();
    Ok(req)
}

/// The stack as it runs with another type, market or images (`tested`:
/// each to its newest tested tag): what the Update dialog asks for.
pub fn request_for(
    state: &DeploymentState,
    instance_type: &str,
    spot: bool,
    newest_tested: bool,
) -> Result<DeployRequest, String> {
    let mut req = current_request(state)
        .ok_or_else(|| format!("{} records no instance type", state.stack_name))?;
    if !crate::cloud::is_instance_type(instance_type) {
        return Err(format!(
            "{instance_type:?} is not an EC2 instance type; use a name like t3.medium or g4dn.xlarge"
        ));
    }
    req.instance_type = instance_type.to_string();
    req.spot = spot;
    if newest_tested {
        let catalogue = images::shipped().map_err(|e| e.to_string())?;
        let ask = images::ImageAsk::Tested;
        req.options.images = Some(images::resolve(&catalogue, &stack_images(state), &ask)?);
    }
    Ok(req)
}

/// The stack's state, when it has an instance to update.
pub fn running_state(ctx: &Context, stack: &StackName) -> Result<DeploymentState, OperationError> {
    let state = ctx
        .store
        .load(stack)?
        .ok_or_else(|| OperationError::NotFound(stack.to_string()))?;
    if !runs(&state) {
        return Err(OperationError::Conflict(format!(
            "{stack} runs no instance ({}), so there is nothing to update; `deploy {stack}` starts it with the settings you give",
            state.status
        )));
    }
    Ok(state)
}

/// Apply `req` to the running stack by prepare-then-switch. Returns its
/// final state; a reverted update is an error saying so, with the stack
/// running as before.
pub async fn update(
    ctx: &Context,
    req: &DeployRequest,
    sink: Box<dyn StateSink>,
) -> Result<DeploymentState, OperationError> {
    running_state(ctx, &req.stack)?;
    super::pipeline::update(ctx, req, sink).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::Prices;
    use crate::domain::state::CostTracking;
    use crate::domain::{Provider, Tier};

    fn now() -> crate::domain::Timestamp {
        "2026-12-04T10:00:00Z".parse().unwrap()
    }

    fn running() -> DeploymentState {
        let now = now();
        let mut state = DeploymentState::new("up", Tier::Dev, "us-east-1", Provider::Sandbox, now);
        state.status = StackStatus::Running;
        state.instance_id = Some("i-old".into());
        state.efs_id = Some("fs-1".into());
        let mut cost = CostTracking::new("t3.medium", true);
        cost.spot_price_per_hour = Some(0.0125);
        cost.on_demand_price_per_hour = Some(0.0416);
        state.cost = Some(cost);
        state
    }

    fn prices(spot: f64, on_demand: f64) -> Prices {
        Prices {
            on_demand_per_hour: Some(on_demand),
            spot_per_hour: Some(spot),
            efs_gb_month: 0.3,
            on_demand_estimate: None,
            spot_estimate: None,
        }
    }

    #[test]
    fn the_stack_as_it_runs_changes_nothing() {
        let state = running();
        let req = current_request(&state).expect("a request");
        assert_eq!((req.instance_type.as_str(), req.spot), ("t3.medium", true));
        let plan = make(&state, &req, &prices(0.0125, 0.0416), now());
        assert!(plan.is_empty(), "{plan:?}");
        assert!(plan.replaced.is_empty());
        assert_eq!(plan.monthly_before, plan.monthly_after);
    }

    #[test]
    fn a_bigger_type_on_demand_is_two_changes_a_replacement_and_a_dearer_month() {
        let state = running();
        let mut req = current_request(&state).unwrap();
        req.instance_type = "t3.large".into();
        req.spot = false;
        let plan = make(&state, &req, &prices(0.025, 0.0832), now());
        let what: Vec<_> = plan
            .changes
            .iter()
            .map(|c| (c.setting, c.from.as_str(), c.to.as_str()))
            .collect();
        assert_eq!(
            what,
            [
                ("instance type", "t3.medium", "t3.large"),
                ("market", "spot", "on-demand")
            ]
        );
        assert!(plan.replaced[0].contains("i-old"), "{plan:?}");
        assert!(plan.kept.iter().any(|k| k.contains("fs-1")));
        // 730 h at 0.0832 against 730 h at 0.0125, the EFS alike.
        let more = plan.monthly_after - plan.monthly_before;
        assert!((more - 730.0 * (0.0832 - 0.0125)).abs() < 0.05, "{plan:?}");
    }

    #[test]
    fn a_destroyed_or_stopped_stack_has_nothing_to_update() {
        let mut state = running();
        assert!(runs(&state));
        state.status = StackStatus::Stopped;
        assert!(!runs(&state));
        state.status = StackStatus::Running;
        state.instance_id = None;
        assert!(!runs(&state));
    }
}
