//! What the stack's group tells: its instances with their lifecycle states,
//! and its scaling activities (launches and terminations, with EC2's reason
//! for each lost instance), as the observer reads them.

use super::AwsCloud;
use super::errors::api_error;
use crate::cloud::{CloudResult, GroupInstance, GroupView};
use crate::domain::Timestamp;
use crate::domain::recovery::{ActivityKind, ScalingActivity};

impl AwsCloud {
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
        let on_demand = group
            .mixed_instances_policy()
            .and_then(|p| p.instances_distribution())
            .and_then(|d| d.on_demand_percentage_above_base_capacity())
            == Some(100);
        Ok(Some(GroupView {
            name: name.to_string(),
            desired: group.desired_capacity().unwrap_or(0),
            on_demand,
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
            let failed = a.status_code().is_some_and(|s| s.as_str() == "Failed");
            let description = a.description().unwrap_or_default();
            let (kind, id) = match parse_description(description) {
                Some(found) => found,
                // A launch that made no instance (no capacity): kept, its
                // message as its cause.
                None if failed && description.starts_with("Launching") => {
                    (ActivityKind::Launch, String::new())
                }
                None => continue,
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
            let cause = match (failed, a.status_message()) {
                (true, Some(message)) => message,
                _ => a.cause().unwrap_or_default(),
            };
            out.push(ScalingActivity {
                kind,
                instance_id: id,
                cause: cause.to_string(),
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
