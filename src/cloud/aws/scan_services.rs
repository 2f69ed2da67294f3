//! `scan` on AWS beyond EC2: Auto Scaling groups, EFS, load balancers and
//! target groups in the region; IAM roles and CloudFront distributions
//! (global, asked once).

use super::AwsCloud;
use super::errors::api_error;
use super::scan::tagged;
use crate::cloud::CloudResult;
use crate::domain::scan::{Facts, Found, Kind};

impl AwsCloud {
    pub(super) async fn scan_groups(&self) -> CloudResult<Vec<Found>> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .autoscaling
                .describe_auto_scaling_groups()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| api_error("DescribeAutoScalingGroups", e))?;
            for g in page.auto_scaling_groups() {
                let tags = g
                    .tags()
                    .iter()
                    .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()));
                let Some(mut t) = tagged(tags) else { continue };
                t.group = None;
                let name = g.auto_scaling_group_name().unwrap_or_default().to_string();
                let policy = g.mixed_instances_policy();
                let spec = policy
                    .and_then(|p| p.launch_template())
                    .and_then(|l| l.launch_template_specification())
                    .or(g.launch_template());
                let template = spec
                    .and_then(|s| s.launch_template_id())
                    .map(str::to_string);
                let version = spec
                    .and_then(|s| s.version())
                    .and_then(|v| v.parse::<i64>().ok());
                let mut allowed: Vec<String> = policy
                    .and_then(|p| p.launch_template())
                    .map(|l| l.overrides())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|o| o.instance_type().map(str::to_string))
                    .collect();
                let mut image = None;
                if let (Some(template), Some(version)) = (&template, version) {
                    let (i, kind) = self.template_settings(template, version).await?;
                    image = i;
                    if allowed.is_empty() {
                        allowed.extend(kind);
                    }
                }
                let facts = Facts {
                    template_version: version,
                    image,
                    allowed_types: Some(allowed),
                    ..Facts::default()
                };
                out.push(self.found(Kind::AutoScalingGroup, &name, t, facts));
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }

    pub(super) async fn scan_file_systems(&self) -> CloudResult<Vec<Found>> {
        let mut out = Vec::new();
        let mut marker = None;
        loop {
            let page = self
                .efs
                .describe_file_systems()
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| api_error("DescribeFileSystems", e))?;
            for fs in page.file_systems() {
                let tags = fs.tags().iter().map(|t| (t.key(), t.value()));
                if let Some(t) = tagged(tags) {
                    out.push(self.found(
                        Kind::FileSystem,
                        fs.file_system_id(),
                        t,
                        Facts::default(),
                    ));
                }
            }
            marker = page.next_marker().map(str::to_string);
            if marker.is_none() {
                break;
            }
        }
        Ok(out)
    }

    /// Load balancers and target groups, with the targets of each group.
    pub(super) async fn scan_load_balancers(&self) -> CloudResult<Vec<Found>> {
        let mut arns: Vec<(Kind, String, Option<String>)> = Vec::new();
        let balancers = self
            .elb
            .describe_load_balancers()
            .send()
            .await
            .map_err(|e| api_error("DescribeLoadBalancers", e))?;
        for lb in balancers.load_balancers() {
            if let Some(arn) = lb.load_balancer_arn() {
                arns.push((
                    Kind::LoadBalancer,
                    arn.to_string(),
                    lb.dns_name().map(str::to_string),
                ));
            }
        }
        let groups = self
            .elb
            .describe_target_groups()
            .send()
            .await
            .map_err(|e| api_error("DescribeTargetGroups", e))?;
        for tg in groups.target_groups() {
            if let Some(arn) = tg.target_group_arn() {
                arns.push((Kind::TargetGroup, arn.to_string(), None));
            }
        }
        let mut out = Vec::new();
        // DescribeTags takes 20 resources a call.
        for chunk in arns.chunks(20) {
            let described = self
                .elb
                .describe_tags()
                .set_resource_arns(Some(chunk.iter().map(|(_, a, _)| a.clone()).collect()))
                .send()
                .await
                .map_err(|e| api_error("DescribeTags", e))?;
            for d in described.tag_descriptions() {
                let Some((kind, arn, dns)) = chunk
                    .iter()
                    .find(|(_, a, _)| Some(a.as_str()) == d.resource_arn())
                else {
                    continue;
                };
                let tags = d
                    .tags()
                    .iter()
                    .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()));
                let Some(t) = tagged(tags) else { continue };
                let mut facts = Facts {
                    dns_name: dns.clone(),
                    ..Facts::default()
                };
                if *kind == Kind::TargetGroup {
                    facts.targets = Some(self.targets_of(arn).await?);
                }
                out.push(self.found(*kind, arn, t, facts));
            }
        }
        Ok(out)
    }

    async fn targets_of(&self, arn: &str) -> CloudResult<Vec<String>> {
        let health = self
            .elb
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|e| api_error("DescribeTargetHealth", e))?;
        Ok(health
            .target_health_descriptions()
            .iter()
            .filter_map(|d| d.target().and_then(|t| t.id()).map(str::to_string))
            .collect())
    }

    /// IAM roles named like ours (`…-geusemaker`) that carry the managed tag.
    pub(super) async fn scan_roles(&self) -> CloudResult<Vec<Found>> {
        let mut out = Vec::new();
        let mut marker = None;
        loop {
            let page = self
                .iam
                .list_roles()
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| api_error("ListRoles", e))?;
            for role in page.roles() {
                let name = role.role_name();
                if !name.ends_with("-geusemaker") {
                    continue;
                }
                let tags = self
                    .iam
                    .list_role_tags()
                    .role_name(name)
                    .send()
                    .await
                    .map_err(|e| api_error("ListRoleTags", e))?;
                let pairs = tags.tags().iter().map(|t| (t.key(), t.value()));
                if let Some(t) = tagged(pairs) {
                    out.push(self.found(Kind::Role, name, t, Facts::default()));
                }
            }
            marker = page
                .marker()
                .map(str::to_string)
                .filter(|_| page.is_truncated());
            if marker.is_none() {
                break;
            }
        }
        Ok(out)
    }

    /// Distributions whose comment is ours (`GeuseMaker <stack>`) and that
    /// carry the managed tag.
    pub(super) async fn scan_distributions(&self) -> CloudResult<Vec<Found>> {
        let mut out = Vec::new();
        let ours = self
            .distributions_where(|d| d.comment().starts_with("GeuseMaker "))
            .await?;
        for d in &ours {
            let tags = self
                .cloudfront
                .list_tags_for_resource()
                .resource(d.arn())
                .send()
                .await
                .map_err(|e| api_error("ListTagsForResource", e))?;
            let items = tags.tags().map(|t| t.items()).unwrap_or_default();
            let pairs = items
                .iter()
                .map(|t| (t.key(), t.value().unwrap_or_default()));
            if let Some(t) = tagged(pairs) {
                let facts = Facts {
                    dns_name: Some(d.domain_name().to_string()),
                    ..Facts::default()
                };
                out.push(self.found(Kind::Distribution, d.id(), t, facts));
            }
        }
        Ok(out)
    }
}
