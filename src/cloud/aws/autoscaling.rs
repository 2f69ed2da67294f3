//! The stack's Auto Scaling group of one (min = max = desired = 1) in every
//! subnet the network stage chose, so AWS itself replaces an instance that
//! is interrupted or unhealthy, with nobody's laptop open.
//!
//! - Spot stacks: a mixed-instances policy over the chosen type and two
//!   equivalents, price-capacity-optimized, and capacity rebalancing *off*:
//!   rebalancing launches the replacement before the old one stops, which
//!   would put two PostgreSQL servers on one EFS.
//! - A launch lifecycle hook holds each new instance out of service until
//!   its own boot completes the hook (services healthy inside, n8n's owner
//!   set up); only then does the group register it with the target group.

use aws_sdk_autoscaling::types::{
    AutoScalingGroup, InstancesDistribution, LaunchTemplate, LaunchTemplateOverrides,
    LaunchTemplateSpecification, LifecycleHookSpecification, MixedInstancesPolicy, Tag,
};

use super::AwsCloud;
use super::ec2_launch_template::Template;
use super::errors::api_error;
use super::tags::{MANAGED, pairs};
use crate::cloud::{CloudError, CloudResult, DeployRequest, Session};
use crate::domain::spot_pool::spot_pool;

/// The hook the instance completes at the end of its boot.
pub const LAUNCH_HOOK: &str = "geusemaker-ready";
const LAUNCHING: &str = "autoscaling:EC2_INSTANCE_LAUNCHING";
/// After the hook: ELB health checks start once the instance is InService
/// (AWS starts the grace period only then), so this covers n8n's warm-up.
const GRACE_SECS: i32 = 300;

/// What the group launches, and where.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct GroupSpec {
    pub template_id: String,
    pub version: i64,
    pub subnets: Vec<String>,
    /// The chosen type first, then its equivalents (spot only).
    pub types: Vec<String>,
    pub spot: bool,
    pub target_group: Option<String>,
    /// How long a new instance may take to complete the hook.
    pub hook_timeout_secs: i32,
    /// 1; 2 while a switch runs the new instance beside the old one.
    pub capacity: i32,
    /// Where a switch's drain dumps n8n's database (an update to a newer n8n).
    pub database_dump: Option<String>,
}

impl GroupSpec {
    fn policy(&self) -> MixedInstancesPolicy {
        let template = LaunchTemplateSpecification::builder()
            .launch_template_id(&self.template_id)
            .version(self.version.to_string())
            .build();
        let overrides = self
            .types
            .iter()
            .map(|t| LaunchTemplateOverrides::builder().instance_type(t).build());
        MixedInstancesPolicy::builder()
            .launch_template(
                LaunchTemplate::builder()
                    .launch_template_specification(template)
                    .set_overrides(Some(overrides.collect()))
                    .build(),
            )
            .instances_distribution(distribution(self.spot))
            .build()
    }

    fn health_check_type(&self) -> &'static str {
        if self.target_group.is_some() {
            "ELB"
        } else {
            "EC2"
        }
    }

    fn hook(&self) -> LifecycleHookSpecification {
        LifecycleHookSpecification::builder()
            .lifecycle_hook_name(LAUNCH_HOOK)
            .lifecycle_transition(LAUNCHING)
            .heartbeat_timeout(self.hook_timeout_secs)
            // A boot that never says it is ready is not let in.
            .default_result("ABANDON")
            .build()
    }

    /// Whether `group` already launches what this spec says.
    fn matches(&self, group: &AutoScalingGroup) -> bool {
        let Some(policy) = group.mixed_instances_policy() else {
            return false;
        };
        let template = policy.launch_template();
        let version = template
            .and_then(|t| t.launch_template_specification())
            .and_then(|s| s.version());
        let types: Vec<&str> = template
            .map(|t| {
                t.overrides()
                    .iter()
                    .filter_map(|o| o.instance_type())
                    .collect()
            })
            .unwrap_or_default();
        let on_demand = policy
            .instances_distribution()
            .and_then(|d| d.on_demand_percentage_above_base_capacity());
        let targets: Vec<&str> = group
            .target_group_arns()
            .iter()
            .map(String::as_str)
            .collect();
        version == Some(self.version.to_string().as_str())
            && types == self.types.iter().map(String::as_str).collect::<Vec<_>>()
            && on_demand == Some(if self.spot { 0 } else { 100 })
            && group.min_size() == Some(1)
            && group.max_size() == Some(self.capacity)
            && group.desired_capacity() == Some(self.capacity)
            && targets
                == self
                    .target_group
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
            && group.capacity_rebalance() != Some(true)
    }
}

/// What a create and an update both set: one of one (two in a switch), over the spec's
/// subnets, its mixed policy, capacity rebalancing off (it would run two
/// writers), its health check. A macro: the two SDK builders share no trait.
macro_rules! group_settings {
    ($builder:expr, $name:expr, $spec:expr) => {
        $builder
            .auto_scaling_group_name($name)
            .min_size(1)
            .max_size($spec.capacity)
            .desired_capacity($spec.capacity)
            .vpc_zone_identifier($spec.subnets.join(","))
            .mixed_instances_policy($spec.policy())
            .capacity_rebalance(false)
            .health_check_type($spec.health_check_type())
            .health_check_grace_period(GRACE_SECS)
    };
}

/// All spot (the cheapest pools first) or all on-demand, in the types' order.
fn distribution(spot: bool) -> InstancesDistribution {
    InstancesDistribution::builder()
        .on_demand_base_capacity(0)
        .on_demand_percentage_above_base_capacity(if spot { 0 } else { 100 })
        .spot_allocation_strategy("price-capacity-optimized")
        .on_demand_allocation_strategy("prioritized")
        .build()
}

/// The group of `capacity` (2 while a switch runs the new beside the old)
/// on `template`'s version, over the stack's subnets and types.
pub(super) fn group_spec(
    req: &DeployRequest,
    st: &crate::domain::DeploymentState,
    template: &Template,
    capacity: i32,
) -> GroupSpec {
    GroupSpec {
        template_id: template.id.clone(),
        version: template.version,
        subnets: st.subnet_ids.clone(),
        types: if req.spot {
            spot_pool(&req.instance_type)
        } else {
            vec![req.instance_type.clone()]
        },
        spot: req.spot,
        target_group: st.target_group_arn.clone(),
        hook_timeout_secs: hook_timeout(req, st),
        capacity,
        database_dump: req.options.database_dump.clone(),
    }
}

fn hook_timeout(req: &DeployRequest, st: &crate::domain::DeploymentState) -> i32 {
    let minutes = req
        .options
        .rollback_timeout_minutes
        .or_else(|| st.config.as_ref().and_then(|c| c.rollback_timeout_minutes))
        .unwrap_or(crate::domain::ROLLBACK_TIMEOUT_MINUTES);
    (minutes as i32 * 60).clamp(30, 7200)
}

pub(super) fn group_name(stack: &str) -> String {
    super::ec2_launch_template::template_name(stack)
}

impl AwsCloud {
    /// The group, made or brought in line with `spec`, recorded.
    pub(super) async fn ensure_group(&self, s: &mut Session, spec: &GroupSpec) -> CloudResult<()> {
        let stack = s.state().stack_name.clone();
        let name = group_name(&stack);
        match self.describe_group(&name).await? {
            None => {
                s.progress(None, format!("creating the Auto Scaling group {name}"))?;
                self.create_group(&stack, &name, spec).await?;
            }
            Some(group) => {
                if !group_is_ours(&group) {
                    return Err(CloudError::Refused(format!(
                        "an Auto Scaling group named {name} exists without the {MANAGED} tag: \
                         GeuseMaker will not adopt it; rename or delete it"
                    )));
                }
                if !spec.matches(&group) {
                    s.progress(
                        None,
                        format!("updating {name} to template version {}", spec.version),
                    )?;
                    self.update_group(&name, spec).await?;
                }
                self.ensure_hook(&name, spec).await?;
            }
        }
        s.record(|st| {
            st.autoscaling_group_name = Some(name.clone());
            st.set_provenance("autoscaling_group", true);
        })?;
        Ok(())
    }

    async fn create_group(&self, stack: &str, name: &str, spec: &GroupSpec) -> CloudResult<()> {
        let tags = pairs(stack, &format!("{stack}-ai-stack"))
            .into_iter()
            .map(|(k, v)| {
                Tag::builder()
                    .key(k)
                    .value(v)
                    .propagate_at_launch(true)
                    .resource_id(name)
                    .resource_type("auto-scaling-group")
                    .build()
            })
            .collect();
        group_settings!(self.autoscaling.create_auto_scaling_group(), name, spec)
            .set_target_group_arns(spec.target_group.clone().map(|t| vec![t]))
            .lifecycle_hook_specification_list(spec.hook())
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| api_error("CreateAutoScalingGroup", e))?;
        Ok(())
    }

    async fn update_group(&self, name: &str, spec: &GroupSpec) -> CloudResult<()> {
        group_settings!(self.autoscaling.update_auto_scaling_group(), name, spec)
            .send()
            .await
            .map_err(|e| api_error("UpdateAutoScalingGroup", e))?;
        if let Some(tg) = &spec.target_group {
            self.autoscaling
                .attach_load_balancer_target_groups()
                .auto_scaling_group_name(name)
                .target_group_arns(tg)
                .send()
                .await
                .map_err(|e| api_error("AttachLoadBalancerTargetGroups", e))?;
        }
        Ok(())
    }

    async fn ensure_hook(&self, name: &str, spec: &GroupSpec) -> CloudResult<()> {
        let hooks = self
            .autoscaling
            .describe_lifecycle_hooks()
            .auto_scaling_group_name(name)
            .send()
            .await
            .map_err(|e| api_error("DescribeLifecycleHooks", e))?;
        let present = hooks.lifecycle_hooks().iter().any(|h| {
            h.lifecycle_hook_name() == Some(LAUNCH_HOOK)
                && h.heartbeat_timeout() == Some(spec.hook_timeout_secs)
        });
        if present {
            return Ok(());
        }
        self.autoscaling
            .put_lifecycle_hook()
            .auto_scaling_group_name(name)
            .lifecycle_hook_name(LAUNCH_HOOK)
            .lifecycle_transition(LAUNCHING)
            .heartbeat_timeout(spec.hook_timeout_secs)
            .default_result("ABANDON")
            .send()
            .await
            .map_err(|e| api_error("PutLifecycleHook", e))?;
        Ok(())
    }

    /// Restart the launch hook's timeout of `id`, still held by it: the
    /// switch gives it a whole timeout from the drain to being healthy.
    /// False when no launch action of it is open (it left, or is in
    /// service): AWS answers ValidationError.
    pub(super) async fn extend_hook(&self, name: &str, id: &str) -> CloudResult<bool> {
        let beat = self
            .autoscaling
            .record_lifecycle_action_heartbeat()
            .auto_scaling_group_name(name)
            .lifecycle_hook_name(LAUNCH_HOOK)
            .instance_id(id)
            .send()
            .await
            .map_err(|e| api_error("RecordLifecycleActionHeartbeat", e));
        match beat {
            Ok(_) => Ok(true),
            Err(e) if super::errors::code_of(&e) == Some("ValidationError") => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub(super) async fn describe_group(&self, name: &str) -> CloudResult<Option<AutoScalingGroup>> {
        let found = self
            .autoscaling
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(name)
            .send()
            .await
            .map_err(|e| api_error("DescribeAutoScalingGroups", e))?;
        Ok(found.auto_scaling_groups().first().cloned())
    }

    /// Its mixed policy on-demand only: the stack's template version and
    /// the group's own types, 100% on-demand above base (sent whole).
    pub(super) async fn group_on_demand(
        &self,
        name: &str,
        template_id: &str,
        version: i64,
    ) -> CloudResult<()> {
        let Some(group) = self.describe_group(name).await? else {
            return Err(CloudError::Refused(format!("the group {name} is gone")));
        };
        let Some(policy) = group.mixed_instances_policy() else {
            return Ok(()); // no mixed policy: it launches on-demand already
        };
        let overrides = policy
            .launch_template()
            .map(|t| t.overrides().to_vec())
            .unwrap_or_default();
        let template = LaunchTemplateSpecification::builder()
            .launch_template_id(template_id)
            .version(version.to_string())
            .build();
        let on_demand = MixedInstancesPolicy::builder()
            .launch_template(
                LaunchTemplate::builder()
                    .launch_template_specification(template)
                    .set_overrides(Some(overrides))
                    .build(),
            )
            .instances_distribution(distribution(false))
            .build();
        self.autoscaling
            .update_auto_scaling_group()
            .auto_scaling_group_name(name)
            .mixed_instances_policy(on_demand)
            .send()
            .await
            .map_err(|e| api_error("UpdateAutoScalingGroup", e))?;
        Ok(())
    }

    /// Set the group to `size` (a budget stop: 0).
    pub(super) async fn resize_group(&self, name: &str, size: i32) -> CloudResult<()> {
        self.autoscaling
            .update_auto_scaling_group()
            .auto_scaling_group_name(name)
            .min_size(size)
            .max_size(size.max(1))
            .desired_capacity(size)
            .send()
            .await
            .map_err(|e| api_error("UpdateAutoScalingGroup", e))?;
        Ok(())
    }

    /// Delete the group (and its hook) with whatever it still runs.
    pub(super) async fn delete_scaling_group(&self, name: &str) -> CloudResult<()> {
        let deleted = self
            .autoscaling
            .delete_auto_scaling_group()
            .auto_scaling_group_name(name)
            .force_delete(true)
            .send()
            .await
            .map_err(|e| api_error("DeleteAutoScalingGroup", e));
        match deleted {
            Err(e) if e.to_string().contains("not found") => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

fn group_is_ours(group: &AutoScalingGroup) -> bool {
    group
        .tags()
        .iter()
        .any(|t| t.key() == Some(MANAGED) && t.value() == Some("true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(spot: bool) -> GroupSpec {
        GroupSpec {
            template_id: "lt-1".into(),
            version: 3,
            subnets: vec!["subnet-a".into(), "subnet-b".into()],
            types: vec!["t3.medium".into(), "t3a.medium".into(), "t3.large".into()],
            spot,
            target_group: None,
            hook_timeout_secs: 900,
            capacity: 1,
            database_dump: None,
        }
    }

    #[test]
    fn spot_groups_are_all_spot_over_three_types_and_on_demand_all_on_demand() {
        let policy = spec(true).policy();
        let d = policy.instances_distribution().unwrap();
        assert_eq!(d.on_demand_percentage_above_base_capacity(), Some(0));
        assert_eq!(
            d.spot_allocation_strategy(),
            Some("price-capacity-optimized")
        );
        assert_eq!(policy.launch_template().unwrap().overrides().len(), 3);
        let version = policy
            .launch_template()
            .and_then(|t| t.launch_template_specification())
            .and_then(|s| s.version());
        assert_eq!(version, Some("3"), "a numbered version, never $Latest");
        let od = spec(false).policy();
        assert_eq!(
            od.instances_distribution()
                .unwrap()
                .on_demand_percentage_above_base_capacity(),
            Some(100)
        );
    }

    #[test]
    fn the_hook_lets_nothing_in_by_default() {
        let hook = spec(true).hook();
        assert_eq!(hook.default_result(), Some("ABANDON"));
        assert_eq!(hook.lifecycle_transition(), Some(LAUNCHING));
    }
}
