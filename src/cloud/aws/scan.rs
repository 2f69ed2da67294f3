//! `scan` on AWS, EC2's part: every security group, instance, launch
//! template, Elastic IP and VPC tagged `geusemaker:managed=true` in the
//! client's region, with what drift needs of each. Only managed-tagged
//! resources are ever listed, so only they can be adopted or deleted.

use aws_sdk_ec2::types::Tag;

use super::AwsCloud;
use super::ec2_ingress::rule_texts;
use super::errors::api_error;
use super::tags::{INSTALLATION, MANAGED, STACK, filter};
use crate::cloud::CloudResult;
use crate::domain::scan::{Facts, Found, Kind};

/// A resource's tags, when it carries the managed tag.
pub(super) struct Tagged {
    pub stack: Option<String>,
    pub installation: Option<String>,
    pub name: Option<String>,
    pub group: Option<String>,
}

pub(super) fn tagged<'a>(tags: impl Iterator<Item = (&'a str, &'a str)>) -> Option<Tagged> {
    let mut managed = false;
    let mut t = Tagged {
        stack: None,
        installation: None,
        name: None,
        group: None,
    };
    for (k, v) in tags {
        match k {
            MANAGED => managed = v == "true",
            STACK => t.stack = Some(v.to_string()),
            INSTALLATION => t.installation = Some(v.to_string()),
            "Name" => t.name = Some(v.to_string()),
            "aws:autoscaling:groupName" => t.group = Some(v.to_string()),
            _ => {}
        }
    }
    managed.then_some(t)
}

fn ec2_tags(tags: &[Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
}

impl AwsCloud {
    pub(super) fn found(&self, kind: Kind, id: &str, t: Tagged, facts: Facts) -> Found {
        Found {
            kind,
            id: id.to_string(),
            region: (!kind.is_global()).then(|| self.region().to_string()),
            stack: t.stack,
            installation: t.installation,
            name: t.name,
            group: t.group,
            facts,
        }
    }

    /// EC2's managed resources in this region.
    pub(super) async fn scan_ec2(&self) -> CloudResult<Vec<Found>> {
        let managed = || filter(&format!("tag:{MANAGED}"), "true");
        let mut out = Vec::new();

        let mut token = None;
        loop {
            let page = self
                .ec2
                .describe_security_groups()
                .filters(managed())
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| api_error("DescribeSecurityGroups", e))?;
            for g in page.security_groups() {
                let (Some(id), Some(mut t)) = (g.group_id(), tagged(ec2_tags(g.tags()))) else {
                    continue;
                };
                // The group's own name is what says its role.
                t.name = g.group_name().map(str::to_string).or(t.name);
                let facts = Facts {
                    ingress: Some(rule_texts(g.ip_permissions())),
                    ..Facts::default()
                };
                out.push(self.found(Kind::SecurityGroup, id, t, facts));
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }

        let mut token = None;
        loop {
            let page = self
                .ec2
                .describe_instances()
                .filters(managed())
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("instance-state-name")
                        .set_values(Some(
                            ["pending", "running", "stopping", "stopped"]
                                .map(String::from)
                                .to_vec(),
                        ))
                        .build(),
                )
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| api_error("DescribeInstances", e))?;
            for i in page.reservations().iter().flat_map(|r| r.instances()) {
                let (Some(id), Some(t)) = (i.instance_id(), tagged(ec2_tags(i.tags()))) else {
                    continue;
                };
                let facts = Facts {
                    instance_type: i.instance_type().map(|t| t.as_str().to_string()),
                    ..Facts::default()
                };
                out.push(self.found(Kind::Instance, id, t, facts));
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }

        let templates = self
            .ec2
            .describe_launch_templates()
            .filters(managed())
            .send()
            .await
            .map_err(|e| api_error("DescribeLaunchTemplates", e))?;
        for lt in templates.launch_templates() {
            if let (Some(id), Some(mut t)) = (lt.launch_template_id(), tagged(ec2_tags(lt.tags())))
            {
                t.name = lt.launch_template_name().map(str::to_string).or(t.name);
                out.push(self.found(Kind::LaunchTemplate, id, t, Facts::default()));
            }
        }

        let addresses = self
            .ec2
            .describe_addresses()
            .filters(managed())
            .send()
            .await
            .map_err(|e| api_error("DescribeAddresses", e))?;
        for a in addresses.addresses() {
            if let (Some(id), Some(t)) = (a.allocation_id(), tagged(ec2_tags(a.tags()))) {
                out.push(self.found(Kind::ElasticIp, id, t, Facts::default()));
            }
        }

        let vpcs = self
            .ec2
            .describe_vpcs()
            .filters(managed())
            .send()
            .await
            .map_err(|e| api_error("DescribeVpcs", e))?;
        for v in vpcs.vpcs() {
            if let (Some(id), Some(t)) = (v.vpc_id(), tagged(ec2_tags(v.tags()))) {
                out.push(self.found(Kind::Vpc, id, t, Facts::default()));
            }
        }
        Ok(out)
    }

    /// The image and instance type of one version of a launch template.
    pub(super) async fn template_settings(
        &self,
        id: &str,
        version: i64,
    ) -> CloudResult<(Option<String>, Option<String>)> {
        let found = self
            .ec2
            .describe_launch_template_versions()
            .launch_template_id(id)
            .versions(version.to_string())
            .send()
            .await
            .map_err(|e| api_error("DescribeLaunchTemplateVersions", e))?;
        let data = found
            .launch_template_versions()
            .first()
            .and_then(|v| v.launch_template_data());
        Ok((
            data.and_then(|d| d.image_id()).map(str::to_string),
            data.and_then(|d| d.instance_type())
                .map(|t| t.as_str().to_string()),
        ))
    }
}
