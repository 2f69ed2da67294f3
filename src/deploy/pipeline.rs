//! Deploy: every stage of the tier in order, each idempotent, so running it
//! again (after a crash, a failure, or on a healthy stack) converges.

use crate::cloud::session::StateSink;
use crate::cloud::{CloudError, CloudResult, DeployRequest, Session};
use crate::domain::cost;
use crate::domain::exposure::Publish;
use crate::domain::stage::{OperationKind, OperationResult, StageStatus};
use crate::domain::state::{CostTracking, DeploymentConfig};
use crate::domain::{DeploymentState, StackName, StackStatus, Stage};
use crate::logging::stage_span;

use tracing::Instrument;

use super::background::{Background, settle, settle_due, use_image};
use super::{Context, OperationError, audit, healthy_snapshot, open, readiness, retry, rollback};
use crate::domain::state::{RollbackRecord, RollbackTrigger};
use crate::domain::switch::SwitchOutcome;

/// Deploy (or converge) the stack. Returns its final state.
pub async fn deploy(
    ctx: &Context,
    req: &DeployRequest,
    sink: Box<dyn StateSink>,
) -> Result<DeploymentState, OperationError> {
    run_as(ctx, req, sink, OperationKind::Deploy).await
}

/// Change the running stack to `req` (`update` checks it runs first).
pub(super) async fn update(
    ctx: &Context,
    req: &DeployRequest,
    sink: Box<dyn StateSink>,
) -> Result<DeploymentState, OperationError> {
    run_as(ctx, req, sink, OperationKind::Update).await
}

async fn run_as(
    ctx: &Context,
    req: &DeployRequest,
    sink: Box<dyn StateSink>,
    kind: OperationKind,
) -> Result<DeploymentState, OperationError> {
    let span = crate::logging::operation_span(kind, &req.stack);
    async {
        let start = ctx.clock.now();
        let req = &with_stack_choices(ctx, req);
        let ctx = &ctx.for_request(req);
        let result = run(ctx, req, sink, kind).await;
        let name = if kind == OperationKind::Update {
            "update"
        } else {
            "deploy"
        };
        audit(ctx, name, &req.stack, start, &result);
        result
    }
    .instrument(span)
    .await
}

/// A redeploy keeps the stack's own rollback choices (its config) where the
/// request makes none, rather than the settings' defaults.
fn with_stack_choices(ctx: &Context, req: &DeployRequest) -> DeployRequest {
    let mut req = req.clone();
    let config = ctx
        .store
        .load(&req.stack)
        .ok()
        .flatten()
        .and_then(|s| s.config);
    if let Some(config) = config {
        let options = &mut req.options;
        options.rollback_timeout_minutes = options
            .rollback_timeout_minutes
            .or(config.rollback_timeout_minutes);
        options.auto_rollback = options.auto_rollback.or(config.auto_rollback_on_failure);
        options.instance_checks = options.instance_checks.or(config.instance_checks);
        if options.sns_topic_arn.is_none() {
            options.sns_topic_arn = config.sns_topic_arn;
        }
    }
    req
}

async fn run(
    ctx: &Context,
    req: &DeployRequest,
    sink: Box<dyn StateSink>,
    kind: OperationKind,
) -> Result<DeploymentState, OperationError> {
    let provider = ctx.cloud.provider();
    let mut created = false;
    let mut s = open(ctx, &req.stack, "deploy", sink, |now| {
        created = true;
        Some(DeploymentState::new(
            req.stack.as_str(),
            req.tier,
            &req.region,
            provider,
            now,
        ))
    })?;
    check_compatible(s.state(), req, kind)?;
    let before = (!created).then(|| s.state().clone());
    let mut stages = req.tier.deploy_stages();
    if !req.options.models.is_empty() {
        stages.push(Stage::Models);
    }
    s.record(|st| {
        st.status = if kind == OperationKind::Update {
            StackStatus::Updating
        } else {
            StackStatus::Creating
        };
        st.tier = Some(req.tier);
        st.region = Some(req.region.clone());
        st.config = Some(config_of(st.config.take(), req));
    })?;
    s.begin_operation(kind, &stages)?;

    // Some stages finish in the background while the next go on: the mount
    // targets become available meanwhile (the boot retries its mount, and
    // the role's policy needs only the file system's id), and the image
    // bakes. Each finishes before the first stage that needs it; the image
    // is needed by none: the instance boots from the base while it bakes,
    // and the group launches it from the next instance on.
    let bakes = stages.contains(&Stage::Image);
    let mut background: Vec<Background> = Vec::new();
    for stage in stages {
        if let Err((at, error)) = settle_due(ctx, req, &mut s, &mut background, stage).await {
            return Err(fail(&mut s, at, error));
        }
        let expected = ctx.cloud.typical_secs(stage);
        s.start_stage(stage, expected)?;
        let ran = run_stage_with_retry(ctx, req, &mut s, stage);
        if let Err(error) = ran.instrument(stage_span(stage)).await {
            // The stack runs without its models: said, and pulled later.
            if stage == Stage::Models {
                s.finish_stage(stage, StageStatus::Failed, Some(error.to_string()))?;
                continue;
            }
            if stage == Stage::Validate && matches!(error, CloudError::Refused(_)) {
                return Err(refuse(ctx, s, before, &req.stack, error));
            }
            for left in background.drain(..) {
                let why = "left unfinished: the deploy stopped";
                s.finish_stage(left.stage(), StageStatus::Skipped, Some(why.into()))?;
            }
            if let Some(before) = before.as_ref().filter(|b| old_serves_again(b, &s)) {
                return Err(revert(&mut s, before, stage, error));
            }
            let failure = fail(&mut s, stage, error);
            let trigger = if kind == OperationKind::Update {
                RollbackTrigger::UpdateFailed
            } else {
                RollbackTrigger::Timeout
            };
            return Err(roll_back_if_stuck(ctx, &mut s, stage, failure, trigger).await);
        }
        // One already done (a re-run's) is finished at once.
        if let Some(left) = Background::of(stage) {
            if s.stage_progress(stage) == Some(1.0) {
                if let Err(error) = settle(ctx, req, &mut s, left).await {
                    return Err(fail(&mut s, stage, error));
                }
            } else {
                background.push(left);
                s.progress(None, left.meanwhile())?;
            }
            continue;
        }
        s.finish_stage(stage, StageStatus::Done, None)?;
    }
    for left in std::mem::take(&mut background) {
        if let Err(error) = settle(ctx, req, &mut s, left).await {
            return Err(fail(&mut s, left.stage(), error));
        }
    }
    if bakes
        && let Err(error) = use_image(ctx, req, &mut s)
            .instrument(stage_span(Stage::Image))
            .await
    {
        return Err(fail(&mut s, Stage::Image, error));
    }

    let size = ctx.cloud.storage_size(s.state()).await.ok().flatten();
    s.record(|st| {
        st.status = StackStatus::Running;
        st.status_reason = None;
        if let (Some(images), Some(config)) = (&req.options.images, st.config.as_mut()) {
            config.images = images.clone();
        }
        if size.is_some() {
            st.efs_size_bytes = size;
        }
    })?;
    s.finish_operation(OperationResult::Succeeded, None)?;
    // The snapshot a rollback restores (seed 001 §4.6), taken while healthy.
    let snapshot = healthy_snapshot(s.state());
    s.record(|st| st.last_healthy_state = snapshot)?;
    // Images no rollback can use any more: best effort, the next deploy
    // (or destroy) looks again.
    if let Err(e) = ctx.cloud.delete_images(&mut s, false).await {
        tracing::warn!(error = %e, "could not delete the stack's unused images");
    }
    Ok(s.into_state())
}

async fn run_stage_with_retry(
    ctx: &Context,
    req: &DeployRequest,
    s: &mut Session,
    stage: Stage,
) -> CloudResult<()> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match run_stage(ctx, req, s, stage).await {
            Err(e) if retry::should_retry(s, &e, attempt, ctx.timing.backoff_base).await => {}
            other => return other,
        }
    }
}

async fn run_stage(
    ctx: &Context,
    req: &DeployRequest,
    s: &mut Session,
    stage: Stage,
) -> CloudResult<()> {
    let cloud = ctx.cloud.as_ref();
    match stage {
        Stage::Validate => {
            cloud.preflight(req, s).await?;
            let prices = cloud.prices(&req.region, &req.instance_type).await?;
            s.record(|st| {
                let mut cost = st
                    .cost
                    .take()
                    .unwrap_or_else(|| CostTracking::new(&req.instance_type, req.spot));
                cost.instance_type = Some(req.instance_type.clone());
                cost.is_spot = req.spot;
                cost.on_demand_price_per_hour = prices.on_demand_per_hour;
                cost.spot_price_per_hour = prices.spot_per_hour;
                cost.efs_gb_month_price = prices.efs_gb_month;
                cost.price_estimate = if req.spot {
                    prices.spot_estimate.clone()
                } else {
                    prices.on_demand_estimate.clone()
                };
                st.cost = Some(cost);
                if let Some(budget) = &req.options.budget {
                    st.budget = Some(budget.clone());
                }
            })?;
            within_budget(req, s)
        }
        Stage::Network => cloud.ensure_network(req, s).await,
        Stage::Security => cloud.ensure_security_groups(req, s).await,
        Stage::Storage => cloud.ensure_storage(req, s).await,
        Stage::Image => cloud.ensure_image(req, s).await,
        Stage::Identity => cloud.ensure_identity(req, s).await,
        Stage::Instance => cloud.ensure_instance(req, s).await,
        Stage::Terminate => cloud.terminate_instance(s).await,
        Stage::LoadBalancer => cloud.ensure_load_balancer(req, s).await,
        Stage::Cdn => cloud.ensure_cdn(req, s).await,
        Stage::Services => readiness::wait_for_boot(ctx, s).await,
        Stage::Health => readiness::wait_for_health(ctx, s).await,
        Stage::Models => super::models::at_first_boot(ctx, s, &req.options.models).await,
    }
}

/// Preflight said no, before anything was created: the stack is left as it
/// was (a new one is not kept), and the refusal is the user's to act on.
fn refuse(
    ctx: &Context,
    mut s: Session,
    before: Option<DeploymentState>,
    stack: &StackName,
    error: CloudError,
) -> OperationError {
    let restored = match before {
        Some(before) => s.record(|st| *st = before).map_err(OperationError::from),
        None => ctx.store.remove(stack).map_err(OperationError::from),
    };
    match restored {
        Ok(()) => OperationError::Conflict(error.to_string()),
        Err(e) => e,
    }
}

/// A plan whose estimate is over the stack's budget goes no further, unless
/// the user said `--over-budget`: nothing has been created yet.
fn within_budget(req: &DeployRequest, s: &Session) -> CloudResult<()> {
    let Some(budget) = s.state().budget.clone() else {
        return Ok(());
    };
    let projected = cost::planned_monthly(s.state(), req.tier, s.now());
    if projected <= budget.monthly_usd || req.options.over_budget {
        return Ok(());
    }
    Err(CloudError::Refused(format!(
        "the estimate, {}/month, is over {}'s {} monthly budget, so nothing was created or changed. \
         Raise the budget (--budget), choose a smaller --instance-type, or add --over-budget to deploy anyway",
        cost::dollars(projected),
        req.stack,
        cost::dollars(budget.monthly_usd)
    )))
}

/// Mark the stage and the stack failed. What was created stays recorded, so
/// the next deploy resumes and destroy knows what to remove.
fn fail(s: &mut Session, stage: Stage, error: CloudError) -> OperationError {
    let message = error.to_string();
    let recorded = s
        .finish_stage(stage, StageStatus::Failed, Some(message.clone()))
        .and_then(|()| s.finish_operation(OperationResult::Failed, Some(message)))
        .and_then(|()| s.record(|st| st.status = StackStatus::Failed));
    if let Err(e) = recorded {
        tracing::error!(error = %e, "could not record a failed deploy");
    }
    OperationError::Stage {
        stage: stage.label(OperationKind::Deploy).to_string(),
        source: Box::new(error),
        rollback: None,
    }
}

/// A deploy whose instance never became healthy is rolled back (seed 001
/// §4.6): the instance goes, the EFS stays. Earlier failures need no rollback:
/// what exists is recorded and the next deploy resumes.
async fn roll_back_if_stuck(
    ctx: &Context,
    s: &mut Session,
    stage: Stage,
    failure: OperationError,
    trigger: RollbackTrigger,
) -> OperationError {
    let after_launch = matches!(stage, Stage::Services | Stage::Health);
    if !after_launch || !ctx.auto_rollback || s.state().instance_id.is_none() {
        return failure;
    }
    // Healthy inside and only unreachable from here: replacing the instance
    // would not help; the stack stays, and the monitor sees it healthy.
    if let OperationError::Stage { source, .. } = &failure
        && matches!(**source, CloudError::Unreachable(_))
    {
        return failure;
    }
    match failure {
        OperationError::Stage {
            stage,
            source,
            rollback: None,
        } => {
            let done = match rollback::procedure(ctx, s, trigger, &source.to_string(), false).await
            {
                Ok(done) => done,
                Err(e) => format!("the rollback failed too ({e}); run destroy or deploy again"),
            };
            OperationError::Stage {
                stage,
                source,
                rollback: Some(done),
            }
        }
        other => other,
    }
}

/// This operation's switch failed and the instance from before serves
/// again: nothing changed but the attempt.
fn old_serves_again(before: &DeploymentState, s: &Session) -> bool {
    let Some(started) = s.state().operation.as_ref().map(|o| o.started_at) else {
        return false;
    };
    before.instance_id.is_some()
        && s.state().switches.last().is_some_and(|w| {
            w.started_at >= started
                && matches!(
                    w.outcome,
                    SwitchOutcome::FellBack | SwitchOutcome::Abandoned
                )
        })
}

/// A switch that failed and fell back: the stack runs as before the
/// change, on its old type, market and price, and says the update failed.
fn revert(
    s: &mut Session,
    before: &DeploymentState,
    stage: Stage,
    error: CloudError,
) -> OperationError {
    let reason = error.to_string();
    let now = s.now();
    let started = s.state().operation.as_ref().map_or(now, |o| o.started_at);
    let recorded = s
        .finish_stage(stage, StageStatus::Failed, Some(reason.clone()))
        .and_then(|()| s.finish_operation(OperationResult::Failed, Some(reason.clone())))
        .and_then(|()| {
            s.record(|st| {
                st.status = StackStatus::Running;
                st.status_reason = Some(format!(
                    "update_failed: {reason}. Nothing changed; fix the cause and run the update again"
                ));
                restore_settings(st, before);
                st.rollback_history.push(RollbackRecord {
                    timestamp: started,
                    trigger: RollbackTrigger::UpdateFailed,
                    resources_deleted: Vec::new(),
                    efs_preserved: true,
                    success: true,
                    error_message: Some(reason.clone()),
                    finished_at: Some(now),
                    extra: Default::default(),
                });
            })
        });
    if let Err(e) = recorded {
        tracing::error!(error = %e, "could not record a reverted update");
    }
    OperationError::Stage {
        stage: stage.label(OperationKind::Update).to_string(),
        source: Box::new(error),
        rollback: Some("the update was reverted and the stack runs as before".into()),
    }
}

/// The type, market, prices and template version from before, so the cost
/// and the next relaunch are the old instance's; its runtime so far is kept.
fn restore_settings(st: &mut DeploymentState, before: &DeploymentState) {
    st.launch_template_version = before.launch_template_version;
    if let (Some(cost), Some(old)) = (st.cost.as_mut(), before.cost.as_ref()) {
        cost.instance_type = old.instance_type.clone();
        cost.is_spot = old.is_spot;
        cost.spot_price_per_hour = old.spot_price_per_hour;
        cost.on_demand_price_per_hour = old.on_demand_price_per_hour;
        cost.price_estimate = old.price_estimate.clone();
    }
    if let (Some(config), Some(old)) = (st.config.as_mut(), before.config.as_ref()) {
        config.instance_type = old.instance_type.clone();
        config.use_spot = old.use_spot;
        config.images = old.images.clone();
    }
}

fn check_compatible(
    state: &DeploymentState,
    req: &DeployRequest,
    kind: OperationKind,
) -> Result<(), OperationError> {
    if kind == OperationKind::Deploy
        && let Some(refusal) = super::update::deploy_refusal(state, req)
    {
        return Err(OperationError::Conflict(refusal));
    }
    let live = !matches!(state.status, StackStatus::Destroyed);
    if live && state.tier() != req.tier {
        return Err(OperationError::Conflict(format!(
            "stack {} is a {} stack; destroy it first or choose another name to deploy a {} stack",
            req.stack,
            state.tier(),
            req.tier
        )));
    }
    if live && state.region() != req.region {
        return Err(OperationError::Conflict(format!(
            "stack {} is in {}; pass --region {} or choose another name",
            req.stack,
            state.region(),
            state.region()
        )));
    }
    Ok(())
}

pub(super) fn config_of(
    previous: Option<DeploymentConfig>,
    req: &DeployRequest,
) -> DeploymentConfig {
    let mut config = previous.unwrap_or_default();
    config.stack_name = Some(req.stack.to_string());
    config.tier = Some(req.tier);
    config.region = Some(req.region.clone());
    config.instance_type = Some(req.instance_type.clone());
    config.use_spot = Some(req.spot);
    if req.options.vpc_id.is_some() {
        config.vpc_id = req.options.vpc_id.clone();
    }
    if let Some(on) = req.options.auto_rollback {
        config.auto_rollback_on_failure = Some(on);
    }
    if let Some(minutes) = req.options.rollback_timeout_minutes {
        config.rollback_timeout_minutes = Some(minutes);
    }
    if req.options.fallback_on_demand {
        config.fallback_on_demand = Some(true);
    }
    if req.options.instance_checks.is_some() {
        config.instance_checks = req.options.instance_checks;
    }
    if req.options.sns_topic_arn.is_some() {
        config.sns_topic_arn = req.options.sns_topic_arn.clone();
    }
    // The image tags are recorded once the stack runs them (`run`'s end).
    // Exposure choices stay as first made unless given again; the allowed
    // CIDRs are the Security stage's (and `access`'s) alone.
    let options = &req.options;
    if options.certificate_arn.is_some() {
        config.certificate_arn = options.certificate_arn.clone();
    }
    if options.domain.is_some() {
        config.domain = options.domain.clone();
    }
    if options.publish != Publish::Private || config.publish.is_none() {
        config.publish = Some(options.publish);
    }
    if let Some(email) = &options.owner_email {
        config.owner_email = Some(email.clone());
    }
    config
        .owner_email
        .get_or_insert_with(|| crate::instance::user_data::default_owner_email(req.stack.as_str()));
    config
}
