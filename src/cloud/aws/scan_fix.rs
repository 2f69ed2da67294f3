//! `scan` on AWS: whether a recorded resource still exists, the enabled
//! regions, and deleting an orphan. Only what `scan` listed (so tagged
//! `geusemaker:managed=true`) is ever deleted, and only kinds that go in
//! one call; the others are adopted and destroyed with their stack.

use super::AwsCloud;
use super::errors::{api_error, code_of};
use crate::cloud::{CloudError, CloudResult};
use crate::domain::scan::{Found, Inventory, Kind, Recorded};

/// The error codes that mean "no such resource".
const GONE: &[&str] = &[
    "InvalidGroup.NotFound",
    "InvalidGroupId.Malformed",
    "InvalidInstanceID.NotFound",
    "InvalidInstanceID.Malformed",
    "InvalidLaunchTemplateId.NotFound",
    "InvalidLaunchTemplateId.Malformed",
    "InvalidAllocationID.NotFound",
    "InvalidVpcID.NotFound",
    "FileSystemNotFound",
    "LoadBalancerNotFound",
    "TargetGroupNotFound",
    "NoSuchEntity",
    "NoSuchDistribution",
];

fn exists_unless_gone(result: CloudResult<bool>) -> CloudResult<bool> {
    match result {
        Err(e) if code_of(&e).is_some_and(|c| GONE.contains(&c)) => Ok(false),
        other => other,
    }
}

impl AwsCloud {
    pub(super) async fn inventory_here(
        &self,
        global: bool,
        recorded: &[Recorded],
    ) -> CloudResult<Inventory> {
        let mut found = self.scan_ec2().await?;
        found.extend(self.scan_groups().await?);
        found.extend(self.scan_file_systems().await?);
        found.extend(self.scan_load_balancers().await?);
        if global {
            found.extend(self.scan_roles().await?);
            found.extend(self.scan_distributions().await?);
        }
        let mut absent = Vec::new();
        for r in recorded {
            if found.iter().any(|f| f.kind == r.kind && f.id == r.id) {
                continue;
            }
            if !self.still_exists(r.kind, &r.id).await? {
                absent.push(r.clone());
            }
        }
        Ok(Inventory { found, absent })
    }

    /// Whether AWS still has the resource (tagged or not).
    async fn still_exists(&self, kind: Kind, id: &str) -> CloudResult<bool> {
        let id = id.to_string();
        let result: CloudResult<bool> = match kind {
            Kind::SecurityGroup => self
                .ec2
                .describe_security_groups()
                .group_ids(&id)
                .send()
                .await
                .map(|r| !r.security_groups().is_empty())
                .map_err(|e| api_error("DescribeSecurityGroups", e)),
            Kind::Instance => self
                .ec2
                .describe_instances()
                .instance_ids(&id)
                .send()
                .await
                .map(|r| {
                    r.reservations()
                        .iter()
                        .flat_map(|r| r.instances())
                        .any(|i| {
                            !matches!(
                                i.state().and_then(|s| s.name()).map(|n| n.as_str()),
                                Some("terminated" | "shutting-down")
                            )
                        })
                })
                .map_err(|e| api_error("DescribeInstances", e)),
            Kind::LaunchTemplate => self
                .ec2
                .describe_launch_templates()
                .launch_template_ids(&id)
                .send()
                .await
                .map(|r| !r.launch_templates().is_empty())
                .map_err(|e| api_error("DescribeLaunchTemplates", e)),
            Kind::ElasticIp => self
                .ec2
                .describe_addresses()
                .allocation_ids(&id)
                .send()
                .await
                .map(|r| !r.addresses().is_empty())
                .map_err(|e| api_error("DescribeAddresses", e)),
            Kind::Vpc => self
                .ec2
                .describe_vpcs()
                .vpc_ids(&id)
                .send()
                .await
                .map(|r| !r.vpcs().is_empty())
                .map_err(|e| api_error("DescribeVpcs", e)),
            Kind::AutoScalingGroup => self.describe_group(&id).await.map(|g| g.is_some()),
            Kind::FileSystem => self
                .efs
                .describe_file_systems()
                .file_system_id(&id)
                .send()
                .await
                .map(|r| !r.file_systems().is_empty())
                .map_err(|e| api_error("DescribeFileSystems", e)),
            Kind::LoadBalancer => self
                .elb
                .describe_load_balancers()
                .load_balancer_arns(&id)
                .send()
                .await
                .map(|r| !r.load_balancers().is_empty())
                .map_err(|e| api_error("DescribeLoadBalancers", e)),
            Kind::TargetGroup => self
                .elb
                .describe_target_groups()
                .target_group_arns(&id)
                .send()
                .await
                .map(|r| !r.target_groups().is_empty())
                .map_err(|e| api_error("DescribeTargetGroups", e)),
            Kind::Role => self
                .iam
                .get_role()
                .role_name(&id)
                .send()
                .await
                .map(|_| true)
                .map_err(|e| api_error("GetRole", e)),
            Kind::Distribution => self
                .cloudfront
                .get_distribution()
                .id(&id)
                .send()
                .await
                .map(|_| true)
                .map_err(|e| api_error("GetDistribution", e)),
        };
        exists_unless_gone(result)
    }

    /// The regions enabled for the account.
    pub(super) async fn regions_enabled(&self) -> CloudResult<Vec<String>> {
        let found = self
            .ec2
            .describe_regions()
            .send()
            .await
            .map_err(|e| api_error("DescribeRegions", e))?;
        let mut regions: Vec<String> = found
            .regions()
            .iter()
            .filter(|r| r.opt_in_status() != Some("not-opted-in"))
            .filter_map(|r| r.region_name().map(str::to_string))
            .collect();
        regions.sort();
        Ok(regions)
    }

    /// Delete one orphan that `scan` listed (so managed-tagged).
    pub(super) async fn delete_found(&self, f: &Found) -> CloudResult<()> {
        let id = f.id.as_str();
        match f.kind {
            Kind::SecurityGroup => self
                .ec2
                .delete_security_group()
                .group_id(id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| api_error("DeleteSecurityGroup", e)),
            Kind::Instance => self
                .ec2
                .terminate_instances()
                .instance_ids(id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| api_error("TerminateInstances", e)),
            Kind::LaunchTemplate => self
                .ec2
                .delete_launch_template()
                .launch_template_id(id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| api_error("DeleteLaunchTemplate", e)),
            Kind::ElasticIp => self
                .ec2
                .release_address()
                .allocation_id(id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| api_error("ReleaseAddress", e)),
            Kind::TargetGroup => self
                .elb
                .delete_target_group()
                .target_group_arn(id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| api_error("DeleteTargetGroup", e)),
            Kind::LoadBalancer => self
                .elb
                .delete_load_balancer()
                .load_balancer_arn(id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| api_error("DeleteLoadBalancer", e)),
            Kind::AutoScalingGroup => self
                .autoscaling
                .delete_auto_scaling_group()
                .auto_scaling_group_name(id)
                .force_delete(true)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| api_error("DeleteAutoScalingGroup", e)),
            Kind::FileSystem | Kind::Vpc | Kind::Role | Kind::Distribution => {
                Err(CloudError::Refused(format!(
                    "a {} is not deleted by scan (it holds data, or goes in several steps): \
                     adopt it into its stack (`scan adopt {id} --stack STACK`), then `destroy` \
                     that stack",
                    f.kind
                )))
            }
        }
    }
}
