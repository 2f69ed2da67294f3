//! Security groups, created in one stage for every tier: the instance's
//! admits n8n's port only (from the allowed CIDRs on dev, from the load
//! balancer's group behind one); the load balancer's admits what the stack's
//! exposure says; the EFS's, NFS from the instance's group. No other port is
//! ever open: the internal services listen on 127.0.0.1 (`forward`).

use aws_sdk_ec2::types::{IpPermission, ResourceType, UserIdGroupPair};

use super::AwsCloud;
use super::caller_ip;
use super::ec2_ingress::{Ingress, Source};
use super::ec2_network::ignore_gone;
use super::errors::{api_error, code_of};
use super::tags::{MANAGED, ec2_spec, filter};
use crate::cloud::{Cidr, CloudError, CloudResult, DeployRequest, Session};
use crate::domain::exposure::{self, CLOUDFRONT_PREFIX_LIST, N8N_PORT};
use crate::domain::{DeploymentState, Tier};

const NFS: u16 = 2049;

impl AwsCloud {
    pub(super) async fn security_groups(
        &self,
        req: &DeployRequest,
        s: &mut Session,
    ) -> CloudResult<()> {
        let stack = req.stack.as_str();
        let vpc = s.state().vpc_id.clone().ok_or_else(|| {
            CloudError::Refused("no VPC recorded: run the network stage first".into())
        })?;
        let cidrs = self.access_set(req, s).await?;
        let name = format!("geusemaker-{stack}-instance");
        let instance_sg = self
            .find_or_create_group(s, &vpc, stack, &name, "GeuseMaker n8n only")
            .await?;
        s.record(|st| {
            st.security_group_id = Some(instance_sg.clone());
            st.set_provenance("security_group", true);
        })?;
        if req.tier.has_load_balancer() {
            s.progress(Some(0.2), "load balancer security group")?;
            let alb_name = format!("geusemaker-{stack}-alb");
            let alb_sg = self
                .find_or_create_group(s, &vpc, stack, &alb_name, "GeuseMaker load balancer")
                .await?;
            s.record(|st| {
                st.alb_security_group_id = Some(alb_sg.clone());
                st.set_provenance("alb_security_group", true);
            })?;
        }
        s.progress(Some(0.4), "n8n's port only")?;
        self.apply_exposure(s.state()).await?;

        let efs_name = format!("geusemaker-{stack}-efs");
        let efs_sg = self
            .find_or_create_group(
                s,
                &vpc,
                stack,
                &efs_name,
                "GeuseMaker EFS, NFS from the instance only",
            )
            .await?;
        s.record(|st| {
            st.efs_security_group_id = Some(efs_sg.clone());
            st.set_provenance("efs_security_group", true);
        })?;
        let nfs = Ingress::new(NFS, Source::Group(instance_sg));
        self.reconcile_ingress(&efs_sg, &[nfs], "NFS from the instance")
            .await?;
        let note = match &req.options.allow_cidr {
            Some(asked) if !cidrs.iter().any(|c| c == asked.as_str()) => format!(
                "; access unchanged, add {asked} with `geusemaker-tui access {} --add {asked}`",
                req.stack
            ),
            _ => String::new(),
        };
        s.progress(Some(1.0), format!("n8n open to {}{note}", cidrs.join(", ")))?;
        Ok(())
    }

    /// Who may reach n8n. A stack that has a set keeps it: only `access`
    /// changes it. A new one gets `--allow-cidr`, or the caller's /32.
    async fn access_set(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<Vec<String>> {
        let recorded = exposure::allowed_cidrs(s.state());
        if !recorded.is_empty() {
            return Ok(recorded);
        }
        let cidr = match &req.options.allow_cidr {
            Some(c) => c.clone(),
            None => match &self.settings.caller_cidr {
                Some(c) => c.clone(),
                None => {
                    s.progress(None, "finding your public IP")?;
                    Cidr::host(caller_ip::discover().await?)
                }
            },
        };
        if cidr.is_open_to_world() {
            return Err(CloudError::Refused(format!(
                "{cidr} would open n8n to the whole internet; give your own address as a /32 \
                 (the automation tier's --public serves it over HTTPS instead)"
            )));
        }
        let set = vec![cidr.to_string()];
        s.record(|st| {
            if let Some(config) = st.config.as_mut() {
                config.allowed_cidrs = set.clone();
            }
        })?;
        Ok(set)
    }

    /// The instance's and the load balancer's groups made to admit exactly
    /// what the stack's exposure says.
    pub(super) async fn apply_exposure(&self, st: &DeploymentState) -> CloudResult<()> {
        let cidrs = exposure::allowed_cidrs(st);
        if let Some(instance_sg) = &st.security_group_id {
            let wanted: Vec<Ingress> = match &st.alb_security_group_id {
                Some(alb) if st.tier().has_load_balancer() => {
                    vec![Ingress::new(N8N_PORT, Source::Group(alb.clone()))]
                }
                _ => cidrs
                    .iter()
                    .map(|c| Ingress::new(N8N_PORT, Source::Cidr(c.clone())))
                    .collect(),
            };
            self.reconcile_ingress(instance_sg, &wanted, "n8n").await?;
        }
        if let Some(alb_sg) = &st.alb_security_group_id {
            let wanted = self.load_balancer_ingress(st).await?;
            self.reconcile_ingress(alb_sg, &wanted, "n8n through the load balancer")
                .await?;
        }
        Ok(())
    }

    async fn load_balancer_ingress(&self, st: &DeploymentState) -> CloudResult<Vec<Ingress>> {
        if st.tier() == Tier::Gpu {
            // The list weighs 55 of the group's 60 rules: one port only.
            let list = self.managed_prefix_list(CLOUDFRONT_PREFIX_LIST).await?;
            return Ok(vec![Ingress::new(80, Source::PrefixList(list))]);
        }
        Ok(exposure::exposure(st)
            .into_iter()
            .filter(|row| row.listener == "load balancer")
            .flat_map(|row| {
                row.from
                    .into_iter()
                    .map(move |from| Ingress::new(row.port, Source::Cidr(from)))
            })
            .collect())
    }

    pub(super) async fn find_or_create_group(
        &self,
        s: &mut Session,
        vpc: &str,
        stack: &str,
        name: &str,
        description: &str,
    ) -> CloudResult<String> {
        if let Some(id) = self.group_named(vpc, name).await? {
            return Ok(id);
        }
        if let Some(id) = self.foreign_group_named(vpc, name).await? {
            // The state's own record (a stack the Python GeuseMaker made).
            if stack_groups(s.state()).contains(&id) {
                return Ok(id);
            }
            return Err(CloudError::Refused(format!(
                "a security group named {name} ({id}) exists in {vpc} but GeuseMaker did not \
                 create it (no geusemaker:managed tag): it is left alone; rename the stack or remove it"
            )));
        }
        s.progress(None, format!("creating {name}"))?;
        let created = self
            .ec2
            .create_security_group()
            .group_name(name)
            .description(description)
            .vpc_id(vpc)
            .tag_specifications(ec2_spec(ResourceType::SecurityGroup, stack, name))
            .send()
            .await
            .map_err(|e| api_error("CreateSecurityGroup", e));
        match created {
            Ok(created) => created.group_id().map(str::to_string).ok_or_else(|| {
                CloudError::api("CreateSecurityGroup", "NoId", "no group id in the answer")
            }),
            // Made by a call whose answer was lost, or not listed yet.
            Err(e) if code_of(&e) == Some("InvalidGroup.Duplicate") => self
                .look_again(|| self.group_named(vpc, name))
                .await?
                .ok_or(e),
            Err(e) => Err(e),
        }
    }

    /// The stack's own group of this name (managed-tagged), if listed.
    async fn group_named(&self, vpc: &str, name: &str) -> CloudResult<Option<String>> {
        self.group_by(vpc, name, true).await
    }

    /// A group of this name whatever its tags.
    async fn foreign_group_named(&self, vpc: &str, name: &str) -> CloudResult<Option<String>> {
        self.group_by(vpc, name, false).await
    }

    async fn group_by(&self, vpc: &str, name: &str, managed: bool) -> CloudResult<Option<String>> {
        let mut describe = self
            .ec2
            .describe_security_groups()
            .filters(filter("vpc-id", vpc))
            .filters(filter("group-name", name));
        if managed {
            describe = describe.filters(filter(&format!("tag:{MANAGED}"), "true"));
        }
        let found = describe
            .send()
            .await
            .map_err(|e| api_error("DescribeSecurityGroups", e))?;
        Ok(found
            .security_groups()
            .first()
            .and_then(|g| g.group_id())
            .map(str::to_string))
    }

    /// Add ingress rules; rules already there are fine.
    pub(super) async fn authorize(&self, group: &str, rules: Vec<IpPermission>) -> CloudResult<()> {
        for rule in rules {
            let request = self
                .ec2
                .authorize_security_group_ingress()
                .group_id(group)
                .ip_permissions(rule);
            let result = self
                .settled("AuthorizeSecurityGroupIngress", || request.clone().send())
                .await;
            match result {
                Ok(_) => {}
                Err(e) if code_of(&e) == Some("InvalidPermission.Duplicate") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Delete `group` once nothing uses it. AWS refuses while another
    /// group's rule references it (DependencyViolation), so the rules in the
    /// stack's own `groups` that name it are revoked first; a reference from
    /// a group that is not the stack's is left alone, and reported.
    pub(super) async fn delete_group(&self, group: &str, groups: &[String]) -> CloudResult<()> {
        self.revoke_references(group, groups).await?;
        // A group still attached to a terminating instance's network
        // interface (or a mount target still deleting) cannot go yet; wait
        // for it, within the wait limit.
        let started = tokio::time::Instant::now();
        loop {
            let result = self
                .ec2
                .delete_security_group()
                .group_id(group)
                .send()
                .await
                .map_err(|e| api_error("DeleteSecurityGroup", e));
            match result {
                Err(e)
                    if code_of(&e) == Some("DependencyViolation")
                        && started.elapsed() < self.settings.wait_limit =>
                {
                    tokio::time::sleep(self.settings.poll).await;
                }
                other => return ignore_gone(other),
            }
        }
    }

    /// Revoke every ingress rule of the stack's `groups` that names `group`.
    async fn revoke_references(&self, group: &str, groups: &[String]) -> CloudResult<()> {
        let others: Vec<String> = groups.iter().filter(|g| *g != group).cloned().collect();
        if others.is_empty() {
            return Ok(());
        }
        let found = self
            .ec2
            .describe_security_groups()
            .set_group_ids(Some(others))
            .send()
            .await
            .map_err(|e| api_error("DescribeSecurityGroups", e));
        let found = match found {
            Err(e) if code_of(&e) == Some("InvalidGroup.NotFound") => return Ok(()),
            other => other?,
        };
        for other in found.security_groups() {
            let naming: Vec<IpPermission> = other
                .ip_permissions()
                .iter()
                .filter_map(|p| only_pairs_naming(p, group))
                .collect();
            if naming.is_empty() {
                continue;
            }
            let result = self
                .ec2
                .revoke_security_group_ingress()
                .group_id(other.group_id().unwrap_or_default())
                .set_ip_permissions(Some(naming))
                .send()
                .await
                .map_err(|e| api_error("RevokeSecurityGroupIngress", e));
            ignore_gone(result.map(|_| ()))?;
        }
        Ok(())
    }
}

/// The part of `rule` that admits `group`, if any.
fn only_pairs_naming(rule: &IpPermission, group: &str) -> Option<IpPermission> {
    let pairs: Vec<UserIdGroupPair> = rule
        .user_id_group_pairs()
        .iter()
        .filter(|p| p.group_id() == Some(group))
        .cloned()
        .collect();
    (!pairs.is_empty()).then(|| {
        IpPermission::builder()
            .set_ip_protocol(rule.ip_protocol().map(str::to_string))
            .set_from_port(rule.from_port())
            .set_to_port(rule.to_port())
            .set_user_id_group_pairs(Some(pairs))
            .build()
    })
}

/// The security groups a stack's state records as its own.
pub fn stack_groups(st: &crate::domain::DeploymentState) -> Vec<String> {
    [
        &st.security_group_id,
        &st.efs_security_group_id,
        &st.alb_security_group_id,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect()
}
