//! The plan of a deploy: every resource each stage will create or reuse,
//! what it costs a month by component, and what a destroy keeps. Made from
//! the request, the stack's state if it has one, and current prices; it
//! creates nothing and writes nothing.

use serde::Serialize;

use crate::cloud::{DeployRequest, Prices};
use crate::domain::budget::Budget;
use crate::domain::cost::{self, CostItem};
use crate::domain::exposure::{self, ExposureRow};
use crate::domain::state::CostTracking;
use crate::domain::{DeploymentState, OperationKind, Stage, Timestamp};

use super::{Context, OperationError};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    pub stack: String,
    pub tier: String,
    pub region: String,
    pub instance_type: String,
    pub spot: bool,
    pub stages: Vec<PlannedStage>,
    pub costs: Vec<CostItem>,
    pub monthly_estimate: f64,
    pub budget: Option<Budget>,
    /// The estimate is over the budget: deploy refuses without --over-budget.
    pub over_budget: bool,
    pub destroy_keeps: Vec<String>,
    /// Who will reach what once deployed.
    pub exposure: Vec<ExposureRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlannedStage {
    pub stage: String,
    pub resources: Vec<PlannedResource>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlannedResource {
    /// "create", "reuse" (the stack already has it, or it is given), or
    /// "move" (a bare instance from before groups goes into the group).
    pub action: &'static str,
    pub what: String,
}

/// The plan of `req`, priced now. Reads the stack's state; writes nothing.
pub async fn plan(ctx: &Context, req: &DeployRequest) -> Result<Plan, OperationError> {
    let existing = ctx.store.load(&req.stack)?;
    let prices = ctx
        .cloud
        .prices(&req.region, &req.instance_type)
        .await
        .map_err(|e| OperationError::Conflict(format!("could not price the plan: {e}")))?;
    Ok(make(req, existing, &prices, ctx.clock.now()))
}

/// The plan, from what is known: a pure function, for the tests too.
pub fn make(
    req: &DeployRequest,
    existing: Option<DeploymentState>,
    prices: &Prices,
    now: Timestamp,
) -> Plan {
    let mut state = existing.clone().unwrap_or_else(|| {
        DeploymentState::new(
            req.stack.as_str(),
            req.tier,
            &req.region,
            crate::domain::Provider::Sandbox,
            now,
        )
    });
    let mut tracking = CostTracking::new(&req.instance_type, req.spot);
    tracking.on_demand_price_per_hour = prices.on_demand_per_hour;
    tracking.spot_price_per_hour = prices.spot_per_hour;
    tracking.efs_gb_month_price = prices.efs_gb_month;
    tracking.price_estimate = if req.spot {
        prices.spot_estimate.clone()
    } else {
        prices.on_demand_estimate.clone()
    };
    state.cost = Some(tracking);
    if let Some(budget) = &req.options.budget {
        state.budget = Some(budget.clone());
    }
    let summary = cost::planned_summary(&state, req.tier, now);
    let budget = state.budget.clone();
    let over_budget = budget
        .as_ref()
        .is_some_and(|b| summary.monthly_estimate > b.monthly_usd);
    let stages = req
        .tier
        .deploy_stages()
        .into_iter()
        .filter_map(|stage| {
            let resources = resources(stage, req, existing.as_ref());
            (!resources.is_empty()).then(|| PlannedStage {
                stage: stage.label(OperationKind::Deploy).to_string(),
                resources,
            })
        })
        .collect();
    let exposure = planned_exposure(&state, req);
    Plan {
        exposure,
        stack: req.stack.to_string(),
        tier: req.tier.to_string(),
        region: req.region.clone(),
        instance_type: req.instance_type.clone(),
        spot: req.spot,
        stages,
        costs: summary.items.iter().map(CostItem::rounded).collect(),
        monthly_estimate: (summary.monthly_estimate * 100.0).round() / 100.0,
        budget,
        over_budget,
        destroy_keeps: vec![
            format!("the EFS (geusemaker-{}) and its security group", req.stack),
            format!("the secrets under /geusemaker/{}/", req.stack),
        ],
    }
}

/// The exposure the deploy will set up: the stack's own CIDR set when it
/// has one (a redeploy keeps it), else the one the request gives.
fn planned_exposure(state: &DeploymentState, req: &DeployRequest) -> Vec<ExposureRow> {
    let mut planned = state.clone();
    planned.tier = Some(req.tier);
    let mut config = super::pipeline::config_of(planned.config.take(), req);
    if config.allowed_cidrs.is_empty() {
        config.allowed_cidrs = vec![
            req.options
                .allow_cidr
                .as_ref()
                .map_or("your public IP /32".to_string(), |c| c.to_string()),
        ];
    }
    planned.config = Some(config);
    exposure::exposure(&planned)
}

fn resources(
    stage: Stage,
    req: &DeployRequest,
    existing: Option<&DeploymentState>,
) -> Vec<PlannedResource> {
    let stack = req.stack.as_str();
    let has = |field: fn(&DeploymentState) -> Option<&String>| {
        existing.and_then(field).map(String::as_str)
    };
    let item = |id: Option<&str>, what: String| match id {
        Some(id) => PlannedResource {
            action: "reuse",
            what: format!("{what} ({id})"),
        },
        None => PlannedResource {
            action: "create",
            what,
        },
    };
    let market = if req.spot { "spot" } else { "on-demand" };
    let cidr = req
        .options
        .allow_cidr
        .as_ref()
        .map_or("your public IP /32".to_string(), |c| c.to_string());
    match stage {
        Stage::Network => {
            let subnet = req
                .options
                .subnet_id
                .as_ref()
                .map_or(String::new(), |n| format!(", instance in {n}"));
            let vpc = match (&req.options.vpc_id, has(|s| s.vpc_id.as_ref())) {
                (Some(vpc), _) => item(Some(vpc), format!("the given VPC{subnet}")),
                (None, Some(vpc)) => item(Some(vpc), format!("the stack's VPC{subnet}")),
                (None, None) if req.options.new_vpc => PlannedResource {
                    action: "create",
                    what:
                        "a VPC of the stack's own: 2 public subnets, internet gateway, route table"
                            .into(),
                },
                (None, None) => PlannedResource {
                    action: "reuse",
                    what: format!(
                        "the default VPC and 2 of its subnets{subnet} (a new VPC if none)"
                    ),
                },
            };
            vec![vpc]
        }
        Stage::Security => vec![
            item(
                has(|s| s.security_group_id.as_ref()),
                format!("security group geusemaker-{stack}-instance: n8n's port only, from {cidr}"),
            ),
            item(
                has(|s| s.efs_security_group_id.as_ref()),
                format!("security group geusemaker-{stack}-efs: NFS from the instance only"),
            ),
        ]
        .into_iter()
        .chain(req.tier.has_load_balancer().then(|| {
            item(
                has(|s| s.alb_security_group_id.as_ref()),
                format!("security group geusemaker-{stack}-alb: what the exposure below says"),
            )
        }))
        .collect(),
        Stage::Storage => vec![item(
            has(|s| s.efs_id.as_ref()),
            format!("encrypted EFS geusemaker-{stack} with a mount target in 2 zones, backups on"),
        )],
        Stage::Image => {
            let baked = existing.and_then(|s| s.images.iter().rev().find(|i| i.ready));
            vec![match baked {
                Some(i) => PlannedResource {
                    action: "reuse",
                    what: format!(
                        "baked image ({}) while its base image is current; else bake anew",
                        i.image_id
                    ),
                },
                None => PlannedResource {
                    action: "create",
                    what: "baked image: a builder (no role, no secrets, no EFS) installs Docker \
                           and pulls the 5 pinned images, then is terminated; relaunches boot \
                           from it straight to the lease"
                        .into(),
                },
            }]
        }
        Stage::Identity => vec![
            item(
                has(|s| s.iam_role_name.as_ref()),
                "IAM role and instance profile (SSM, this EFS, this stack's secrets)".into(),
            ),
            item(
                has(|s| s.secrets_path.as_ref()),
                format!("5 SecureString parameters under /geusemaker/{stack}/"),
            ),
        ],
        Stage::Instance => {
            let group = item(
                has(|s| s.autoscaling_group_name.as_ref()),
                format!(
                    "group of one: {market} {}, IMDSv2 hop limit 1, encrypted gp3 root",
                    req.instance_type
                ),
            );
            let bare = existing
                .filter(|s| s.autoscaling_group_name.is_none())
                .and_then(|s| s.instance_id.as_deref());
            let moving = bare.map(|id| PlannedResource {
                action: "move",
                what: format!(
                    "{id}, deployed before groups, into the group: the group's instance boots \
                     beside it and takes over once it has drained; the same EFS and secrets"
                ),
            });
            std::iter::once(group).chain(moving).collect()
        }
        Stage::LoadBalancer => {
            let listeners = if req.options.certificate_arn.is_some() {
                "listeners 443 → n8n and 80 → 443"
            } else {
                "listener 80 → n8n"
            };
            vec![
                item(
                    has(|s| s.alb_arn.as_ref()),
                    "internet-facing Application Load Balancer in 2 zones".into(),
                ),
                item(
                    has(|s| s.target_group_arn.as_ref()),
                    format!("target group on n8n:5678 and {listeners}"),
                ),
            ]
        }
        Stage::Cdn => vec![item(
            has(|s| s.cloudfront_id.as_ref()),
            "CloudFront distribution in front of the ALB (HTTPS, no caching)".into(),
        )],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::DeployOptions;
    use crate::domain::{StackName, Tier};

    fn request(tier: Tier) -> DeployRequest {
        DeployRequest {
            stack: StackName::parse("x1").unwrap(),
            tier,
            region: "us-east-1".into(),
            instance_type: "t3.large".into(),
            spot: true,
            options: DeployOptions::default(),
        }
    }

    fn prices() -> Prices {
        Prices {
            on_demand_per_hour: Some(0.0832),
            spot_per_hour: Some(0.025),
            efs_gb_month: 0.30,
            on_demand_estimate: None,
            spot_estimate: None,
        }
    }

    fn now() -> Timestamp {
        "2026-11-23T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn an_automation_plan_creates_the_alb_and_prices_it() {
        let plan = make(&request(Tier::Automation), None, &prices(), now());
        let stages: Vec<&str> = plan.stages.iter().map(|s| s.stage.as_str()).collect();
        assert_eq!(
            stages,
            [
                "Network",
                "Security",
                "Image",
                "EFS",
                "IAM+secrets",
                "ALB",
                "Instance"
            ]
        );
        let alb = &plan.stages[5].resources;
        assert!(alb.iter().all(|r| r.action == "create"));
        assert!(alb[0].what.contains("Application Load Balancer"));
        let components: Vec<&str> = plan.costs.iter().map(|c| c.component).collect();
        assert_eq!(
            components,
            [
                "instance",
                "efs",
                "public_ipv4",
                "alb",
                "root_volume",
                "images",
                "efs_backups",
                "efs_elastic"
            ]
        );
        let total: f64 = plan.costs.iter().map(|c| c.monthly).sum();
        assert!(
            (plan.monthly_estimate - total).abs() < 0.011,
            "rounded to cents"
        );
        assert!(!plan.over_budget);
        let world: Vec<_> = plan.exposure.iter().filter(|r| r.is_world_open()).collect();
        assert!(world.is_empty(), "{world:?}");
        assert_eq!(plan.exposure[0].from, ["your public IP /32"]);
    }

    #[test]
    fn what_the_stack_has_is_reused_and_a_budget_below_the_estimate_is_flagged() {
        let mut existing = DeploymentState::new(
            "x1",
            Tier::Dev,
            "us-east-1",
            crate::domain::Provider::Sandbox,
            now(),
        );
        existing.efs_id = Some("fs-1".into());
        let mut req = request(Tier::Dev);
        req.options.budget = Some(Budget {
            monthly_usd: 5.0,
            action: Default::default(),
        });
        let plan = make(&req, Some(existing), &prices(), now());
        let efs = &plan
            .stages
            .iter()
            .find(|s| s.stage == "EFS")
            .unwrap()
            .resources[0];
        assert_eq!(efs.action, "reuse");
        assert!(efs.what.contains("fs-1"));
        assert!(plan.over_budget, "{}", plan.monthly_estimate);
    }

    #[test]
    fn a_bare_instance_from_before_groups_is_planned_to_move_into_the_group() {
        let mut existing = DeploymentState::new(
            "x1",
            Tier::Dev,
            "us-east-1",
            crate::domain::Provider::Aws,
            now(),
        );
        existing.instance_id = Some("i-bare".into());
        existing.efs_id = Some("fs-1".into());
        let plan = make(
            &request(Tier::Dev),
            Some(existing.clone()),
            &prices(),
            now(),
        );
        let instance = |plan: &Plan| {
            plan.stages
                .iter()
                .find(|s| s.resources.iter().any(|r| r.what.contains("group of one")))
                .map(|s| s.resources.clone())
                .expect("the instance stage")
        };
        let planned = instance(&plan);
        assert_eq!(planned[0].action, "create", "the group is new: {planned:?}");
        assert_eq!(planned[1].action, "move");
        assert!(
            planned[1].what.contains("i-bare") && planned[1].what.contains("same EFS"),
            "{planned:?}"
        );
        existing.autoscaling_group_name = Some("x1-geusemaker".into());
        let grouped = instance(&make(&request(Tier::Dev), Some(existing), &prices(), now()));
        assert_eq!(grouped.len(), 1, "a member moves nowhere: {grouped:?}");
        assert_eq!(grouped[0].action, "reuse");
    }
}
