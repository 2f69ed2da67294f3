//! Before a destroy: find what a deploy created but died before recording
//! (its answer never arrived), by the same names, tags and tokens a deploy
//! looks for, and record it so the destroy removes it too.

use super::AwsCloud;
use super::errors::api_error;
use super::iam::role_name;
use super::tags::{elb_name, filter, ours};
use crate::cloud::{CloudResult, Session};

impl AwsCloud {
    /// Records every unrecorded resource of the stack; returns what it found.
    pub(super) async fn find_unrecorded(&self, s: &mut Session) -> CloudResult<Vec<String>> {
        let stack = s.state().stack_name.to_string();
        let st = s.state().clone();
        let mut found = Vec::new();

        if st.cloudfront_id.is_none()
            && let Some((id, domain)) = self.find_distribution(&stack).await?
        {
            found.push(format!("distribution {id}"));
            s.record(|st| {
                st.cloudfront_id = Some(id);
                st.cloudfront_domain = Some(domain);
            })?;
        }
        if st.alb_arn.is_none()
            && let Some((arn, dns)) = self.find_load_balancer(&elb_name(&stack, "alb")).await?
        {
            found.push(format!("load balancer {arn}"));
            s.record(|st| {
                st.alb_arn = Some(arn);
                st.alb_dns_name = Some(dns);
            })?;
        }
        if st.target_group_arn.is_none()
            && let Some(arn) = self.find_target_group(&elb_name(&stack, "n8n")).await?
        {
            found.push(format!("target group {arn}"));
            s.record(|st| st.target_group_arn = Some(arn))?;
        }
        if st.instance_id.is_none()
            && let Some(id) = self
                .tagged_live_instance(&stack)
                .await?
                .and_then(|i| i.instance_id().map(str::to_string))
        {
            found.push(format!("instance {id}"));
            s.record(|st| st.instance_id = Some(id))?;
        }
        found.extend(self.find_unrecorded_images(s).await?);
        if st.autoscaling_group_name.is_none() {
            let name = super::autoscaling::group_name(&stack);
            if self.describe_group(&name).await?.is_some() {
                found.push(format!("Auto Scaling group {name}"));
                s.record(|st| st.autoscaling_group_name = Some(name.clone()))?;
            }
        }
        if st.launch_template_id.is_none()
            && let Some(id) = self.tagged_template(&stack).await?
        {
            found.push(format!("launch template {id}"));
            s.record(|st| st.launch_template_id = Some(id))?;
        }
        if st.elastic_ip_allocation_id.is_none()
            && let Some(id) = self.tagged_address(&stack).await?
        {
            found.push(format!("Elastic IP {id}"));
            s.record(|st| st.elastic_ip_allocation_id = Some(id))?;
        }
        for (suffix, recorded) in [
            ("alb", st.alb_security_group_id.is_some()),
            ("instance", st.security_group_id.is_some()),
            ("efs", st.efs_security_group_id.is_some()),
        ] {
            if recorded {
                continue;
            }
            if let Some(id) = self.tagged_group(&stack, suffix).await? {
                found.push(format!("security group {id}"));
                s.record(|st| match suffix {
                    "alb" => st.alb_security_group_id = Some(id),
                    "instance" => st.security_group_id = Some(id),
                    _ => st.efs_security_group_id = Some(id),
                })?;
            }
        }
        if st.efs_id.is_none()
            && let Some(fs) = self.file_system(&stack).await?
        {
            let id = fs.file_system_id().to_string();
            found.push(format!("EFS {id}"));
            s.record(|st| st.efs_id = Some(id))?;
        }
        // The role and its profile share a name.
        let name = role_name(&stack);
        if st.iam_role_name.is_none() && self.role_exists(&name).await? {
            found.push(format!("role {name}"));
            s.record(|st| st.iam_role_name = Some(name.clone()))?;
        }
        if st.iam_instance_profile_name.is_none() && self.profile_exists(&name).await? {
            found.push(format!("instance profile {name}"));
            s.record(|st| st.iam_instance_profile_name = Some(name.clone()))?;
        }
        Ok(found)
    }

    /// The stack's `geusemaker-<stack>-<suffix>` group, found by tag and name.
    async fn tagged_group(&self, stack: &str, suffix: &str) -> CloudResult<Option<String>> {
        let r = self
            .ec2
            .describe_security_groups()
            .set_filters(Some(ours(stack)))
            .filters(filter("group-name", format!("geusemaker-{stack}-{suffix}")))
            .send()
            .await
            .map_err(|e| api_error("DescribeSecurityGroups", e))?;
        Ok(r.security_groups()
            .first()
            .and_then(|g| g.group_id())
            .map(str::to_string))
    }
}
