//! Security groups. The instance's: the service ports open only to the
//! caller's /32 (or `--allow-cidr`), SSH only with `--ssh-cidr`. The EFS's:
//! NFS only from the instance's group. Nothing on the dev tier is open to
//! 0.0.0.0/0.

use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, UserIdGroupPair};

use super::AwsCloud;
use super::caller_ip;
use super::ec2_network::ignore_gone;
use super::errors::{api_error, code_of};
use super::tags::{ec2_spec, filter};
use crate::cloud::{Cidr, CloudError, CloudResult, DeployRequest, Session};
use crate::domain::Service;

const NFS: i32 = 2049;
const SSH: i32 = 22;

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
        let cidr = match &req.options.allow_cidr {
            Some(c) => c.clone(),
            None => {
                s.progress(None, "finding your public IP")?;
                Cidr::host(caller_ip::discover().await?)
            }
        };
        for open in std::iter::once(&cidr).chain(req.options.ssh_cidr.as_ref()) {
            if open.is_open_to_world() {
                return Err(CloudError::Refused(format!(
                    "{open} would open the stack to the whole internet; give your own address as a /32"
                )));
            }
        }
        let name = format!("geusemaker-{stack}-instance");
        let instance_sg = self
            .find_or_create_group(s, &vpc, stack, &name, "GeuseMaker services, caller only")
            .await?;
        s.record(|st| {
            st.security_group_id = Some(instance_sg.clone());
            st.set_provenance("security_group", true);
        })?;
        s.progress(Some(0.3), format!("service ports open to {cidr}"))?;
        // Behind a load balancer, n8n is opened to it alone (the ALB stage).
        let behind_lb = req.tier.has_load_balancer();
        let mut rules: Vec<IpPermission> = Service::ALL
            .iter()
            .filter(|svc| !(behind_lb && **svc == Service::N8n))
            .map(|svc| tcp_from_cidr(i32::from(svc.port()), &cidr, svc.name()))
            .collect();
        if let Some(ssh) = &req.options.ssh_cidr {
            rules.push(tcp_from_cidr(SSH, ssh, "ssh"));
        }
        self.authorize(&instance_sg, rules).await?;

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
        let nfs = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(NFS)
            .to_port(NFS)
            .user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(&instance_sg)
                    .description("NFS from the instance")
                    .build(),
            )
            .build();
        self.authorize(&efs_sg, vec![nfs]).await?;
        let ssh = if req.options.ssh_cidr.is_some() {
            ", SSH open"
        } else {
            ", SSH closed"
        };
        s.progress(Some(1.0), format!("ports open to {cidr}{ssh}"))?;
        Ok(())
    }

    pub(super) async fn find_or_create_group(
        &self,
        s: &mut Session,
        vpc: &str,
        stack: &str,
        name: &str,
        description: &str,
    ) -> CloudResult<String> {
        let found = self
            .ec2
            .describe_security_groups()
            .filters(filter("vpc-id", vpc))
            .filters(filter("group-name", name))
            .send()
            .await
            .map_err(|e| api_error("DescribeSecurityGroups", e))?;
        if let Some(id) = found.security_groups().first().and_then(|g| g.group_id()) {
            return Ok(id.to_string());
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
            .map_err(|e| api_error("CreateSecurityGroup", e))?;
        created.group_id().map(str::to_string).ok_or_else(|| {
            CloudError::api("CreateSecurityGroup", "NoId", "no group id in the answer")
        })
    }

    /// Add ingress rules; rules already there are fine.
    pub(super) async fn authorize(&self, group: &str, rules: Vec<IpPermission>) -> CloudResult<()> {
        for rule in rules {
            let result = self
                .ec2
                .authorize_security_group_ingress()
                .group_id(group)
                .ip_permissions(rule)
                .send()
                .await
                .map_err(|e| api_error("AuthorizeSecurityGroupIngress", e));
            match result {
                Ok(_) => {}
                Err(e) if code_of(&e) == Some("InvalidPermission.Duplicate") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    pub(super) async fn delete_group(&self, group: &str) -> CloudResult<()> {
        // A group still attached to a terminating instance's network
        // interface cannot go yet; wait for it, within the wait limit.
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
}

fn tcp_from_cidr(port: i32, cidr: &Cidr, what: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr.as_str())
                .description(format!("{what} from the caller"))
                .build(),
        )
        .build()
}
