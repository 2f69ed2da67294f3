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
use super::errors::api_error;
use super::tags::{MANAGED, pairs};
use crate::cloud::{CloudError, CloudResult, GroupInstance, GroupView, Session};
use crate::domain::Timestamp;
use crate::domain::recovery::{ActivityKind, ScalingActivity};

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
            .instances_distribution(
                InstancesDistribution::builder()
                    .on_demand_base_capacity(0)
                    .on_demand_percentage_above_base_capacity(if self.spot { 0 } else { 100 })
                    .spot_allocation_strategy("price-capacity-optimized")
                    .on_demand_allocation_strategy("prioritized")
                    .build(),
            )
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
            && group.max_size() == Some(1)
            && group.desired_capacity() == Some(1)
            && targets
                == self
                    .target_group
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
            && group.capacity_rebalance() != Some(true)
    }
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
        self.autoscaling
            .create_auto_scaling_group()
            .auto_scaling_group_name(name)
            .min_size(1)
            .max_size(1)
            .desired_capacity(1)
            .vpc_zone_identifier(spec.subnets.join(","))
            .mixed_instances_policy(spec.policy())
            .capacity_rebalance(false)
            .health_check_type(spec.health_check_type())
            .health_check_grace_period(GRACE_SECS)
            .set_target_group_arns(spec.target_group.clone().map(|t| vec![t]))
            .lifecycle_hook_specification_list(spec.hook())
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| api_error("CreateAutoScalingGroup", e))?;
        Ok(())
    }

    async fn update_group(&self, name: &str, spec: &GroupSpec) -> CloudResult<()> {
        self.autoscaling
            .update_auto_scaling_group()
            .auto_scaling_group_name(name)
            .min_size(1)
            .max_size(1)
            .desired_capacity(1)
            .vpc_zone_identifier(spec.subnets.join(","))
            .mixed_instances_policy(spec.policy())
            .capacity_rebalance(false)
            .health_check_type(spec.health_check_type())
            .health_check_grace_period(GRACE_SECS)
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

    /// Ask the group to replace its instances launched from another
    /// version: each is terminated first, then the group launches anew, so
    /// two never run the services at once.
    pub(super) async fn replace_outdated(
        &self,
        name: &str,
        version: i64,
    ) -> CloudResult<Vec<String>> {
        let Some(group) = self.describe_group(name).await? else {
            return Ok(Vec::new());
        };
        let wanted = version.to_string();
        let mut replaced = Vec::new();
        for instance in group.instances() {
            let on = instance.launch_template().and_then(|t| t.version());
            let leaving = instance
                .lifecycle_state()
                .is_some_and(|l| l.as_str().starts_with("Terminat"));
            if leaving || on.is_none_or(|v| v == wanted) {
                continue;
            }
            let id = instance.instance_id().unwrap_or_default();
            self.autoscaling
                .terminate_instance_in_auto_scaling_group()
                .instance_id(id)
                .should_decrement_desired_capacity(false)
                .send()
                .await
                .map_err(|e| api_error("TerminateInstanceInAutoScalingGroup", e))?;
            replaced.push(id.to_string());
        }
        Ok(replaced)
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

    /// The group's instances (with their EC2 details) and recent activities.
    pub(super) async fn view_group(&self, name: &str) -> CloudResult<Option<GroupView>> {
        let Some(group) = self.describe_group(name).await? else {
            return Ok(None);
        };
        let mut instances = Vec::new();
        for member in group.instances() {
            let id = member.instance_id().unwrap_or_default().to_string();
            let ec2 = self.describe_instance(&id).await?;
            instances.push(GroupInstance {
                lifecycle_state: member
                    .lifecycle_state()
                    .map(|l| l.as_str().to_string())
                    .unwrap_or_default(),
                healthy: member.health_status() == Some("Healthy"),
                zone: member.availability_zone().map(str::to_string),
                instance_type: member.instance_type().map(str::to_string),
                spot: ec2
                    .as_ref()
                    .and_then(|i| i.instance_lifecycle())
                    .is_some_and(|l| l.as_str() == "spot"),
                public_ip: ec2
                    .as_ref()
                    .and_then(|i| i.public_ip_address())
                    .map(str::to_string),
                private_ip: ec2
                    .as_ref()
                    .and_then(|i| i.private_ip_address())
                    .map(str::to_string),
                launched_at: ec2
                    .as_ref()
                    .and_then(|i| i.launch_time())
                    .and_then(|t| t.to_millis().ok())
                    .map(Timestamp::from_unix_millis),
                instance_id: id,
            });
        }
        let activities = self.activities(name).await?;
        Ok(Some(GroupView {
            name: name.to_string(),
            desired: group.desired_capacity().unwrap_or(0),
            instances,
            activities,
        }))
    }

    /// The group's launches and terminations, newest first, with the EC2
    /// reason of each lost instance (a spot interruption says so there).
    async fn activities(&self, name: &str) -> CloudResult<Vec<ScalingActivity>> {
        let found = self
            .autoscaling
            .describe_scaling_activities()
            .auto_scaling_group_name(name)
            .max_records(50)
            .send()
            .await
            .map_err(|e| api_error("DescribeScalingActivities", e))?;
        let mut out = Vec::new();
        for a in found.activities() {
            let Some((kind, id)) = parse_description(a.description().unwrap_or_default()) else {
                continue;
            };
            let instance_reason = match kind {
                ActivityKind::Terminate => self.describe_instance(&id).await?.and_then(|i| {
                    i.state_reason()
                        .and_then(|r| r.message())
                        .map(str::to_string)
                }),
                ActivityKind::Launch => None,
            };
            let time = |t: Option<&aws_smithy_types::DateTime>| {
                t.and_then(|t| t.to_millis().ok())
                    .map(Timestamp::from_unix_millis)
            };
            let Some(started_at) = time(a.start_time()) else {
                continue;
            };
            out.push(ScalingActivity {
                kind,
                instance_id: id,
                cause: a.cause().unwrap_or_default().to_string(),
                started_at,
                ended_at: time(a.end_time()),
                status: a
                    .status_code()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                zone: zone_of(a.details()),
                instance_reason,
            });
        }
        Ok(out)
    }
}

fn group_is_ours(group: &AutoScalingGroup) -> bool {
    group
        .tags()
        .iter()
        .any(|t| t.key() == Some(MANAGED) && t.value() == Some("true"))
}

/// "Launching a new EC2 instance: i-…" / "Terminating EC2 instance: i-…".
fn parse_description(text: &str) -> Option<(ActivityKind, String)> {
    // An abandoned launch appends ".  Status Reason: …" after the id.
    let text = text.split(".  Status Reason").next()?;
    let (head, id) = text.split_once(": ")?;
    let id = id
        .split_whitespace()
        .next()?
        .trim_end_matches('.')
        .to_string();
    if !id.starts_with("i-") {
        return None;
    }
    let kind = if head.starts_with("Launching") {
        ActivityKind::Launch
    } else if head.starts_with("Terminating") {
        ActivityKind::Terminate
    } else {
        return None;
    };
    Some((kind, id))
}

/// The zone from an activity's Details (a JSON object as a string).
fn zone_of(details: Option<&str>) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(details?).ok()?;
    value
        .get("Availability Zone")
        .and_then(|z| z.as_str())
        .map(str::to_string)
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

    #[test]
    fn activity_descriptions_name_the_instance() {
        assert_eq!(
            parse_description("Launching a new EC2 instance: i-0abc"),
            Some((ActivityKind::Launch, "i-0abc".into()))
        );
        assert_eq!(
            parse_description("Terminating EC2 instance: i-0def"),
            Some((ActivityKind::Terminate, "i-0def".into()))
        );
        assert_eq!(
            parse_description("Launching a new EC2 instance.  Status Reason: no capacity"),
            None
        );
        assert_eq!(
            parse_description(
                "Launching a new EC2 instance: i-0abc.  Status Reason: Instance failed to complete user's Lifecycle Action: Heartbeat Timeout"
            ),
            Some((ActivityKind::Launch, "i-0abc".into()))
        );
        assert_eq!(
            zone_of(Some(
                r#"{"Subnet ID":"subnet-a","Availability Zone":"us-east-1b"}"#
            )),
            Some("us-east-1b".into())
        );
    }
}
