//! The Application Load Balancer of the automation and gpu tiers:
//! internet-facing in two zones, behind the security group the Security
//! stage made (what it admits is the stack's exposure), a target group on
//! the instance's n8n (5678, health `/healthz/readiness`) and the listeners
//! (`elbv2_listeners`). It is made before the instance, so n8n starts
//! knowing its public URL. Torn down listeners first, then the target group, the ALB, and
//! its security group once its network interfaces are released.

use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancerSchemeEnum, LoadBalancerStateEnum, LoadBalancerTypeEnum, Matcher, ProtocolEnum,
    Tag, TargetDescription, TargetTypeEnum,
};

use super::AwsCloud;
use super::elbv2_listeners::{ORIGIN_SECRET, origin_secret};
use super::errors::{api_error, code_of};
use super::settle::not_visible_yet;
use super::tags::{elb_name, is_managed, pairs};
use crate::cloud::{CloudError, CloudResult, DeployRequest, Session};
use crate::domain::Tier;
use crate::domain::exposure;

const N8N_PORT: i32 = 5678;
const HEALTH_PATH: &str = "/healthz/readiness";

fn tags(stack: &str, name: &str) -> Vec<Tag> {
    pairs(stack, name)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

impl AwsCloud {
    pub(super) async fn load_balancer(
        &self,
        req: &DeployRequest,
        s: &mut Session,
    ) -> CloudResult<()> {
        let stack = req.stack.as_str();
        let (vpc, alb_sg, instance) = {
            let st = s.state();
            (
                st.vpc_id.clone(),
                st.alb_security_group_id.clone(),
                st.instance_id.clone(),
            )
        };
        let (Some(vpc), Some(alb_sg)) = (vpc, alb_sg) else {
            return Err(CloudError::Refused(
                "the load balancer needs the network and its security group first".into(),
            ));
        };
        let subnets = s.state().subnet_ids.clone();
        if subnets.len() < 2 {
            return Err(CloudError::Refused(format!(
                "an ALB needs subnets in two zones; {vpc} offers {}",
                subnets.len()
            )));
        }
        let origin_secret = if req.tier == Tier::Gpu {
            self.ensure_secret(stack, ORIGIN_SECRET, origin_secret)
                .await?;
            Some(self.secret_value(stack, ORIGIN_SECRET).await?)
        } else {
            None
        };

        s.progress(Some(0.15), "internet-facing ALB in 2 zones")?;
        let name = elb_name(stack, "alb");
        let (arn, dns) = match self.find_load_balancer(&name).await? {
            Some(found) => found,
            None => {
                let created = self
                    .elb
                    .create_load_balancer()
                    .name(&name)
                    .subnets(&subnets[0])
                    .subnets(&subnets[1])
                    .security_groups(&alb_sg)
                    .scheme(LoadBalancerSchemeEnum::InternetFacing)
                    .r#type(LoadBalancerTypeEnum::Application)
                    .set_tags(Some(tags(stack, &name)))
                    .send()
                    .await
                    .map_err(|e| api_error("CreateLoadBalancer", e))?;
                let lb = created.load_balancers().first().ok_or_else(|| {
                    CloudError::api(
                        "CreateLoadBalancer",
                        "NoAnswer",
                        "no load balancer in the answer",
                    )
                })?;
                (
                    lb.load_balancer_arn().unwrap_or_default().to_string(),
                    lb.dns_name().unwrap_or_default().to_string(),
                )
            }
        };
        s.record(|st| {
            st.alb_arn = Some(arn.clone());
            st.alb_dns_name = Some(dns.clone());
            st.set_provenance("load_balancer", true);
        })?;
        self.wait_for(s, "ALB provisioning", || async {
            let r = self
                .elb
                .describe_load_balancers()
                .load_balancer_arns(&arn)
                .send()
                .await
                .map_err(|e| api_error("DescribeLoadBalancers", e));
            let r = match r {
                // Just created: not visible yet.
                Err(e) if not_visible_yet(&e) => return Ok(None),
                other => other?,
            };
            let state = r
                .load_balancers()
                .first()
                .and_then(|lb| lb.state())
                .and_then(|st| st.code())
                .cloned();
            Ok(matches!(state, Some(LoadBalancerStateEnum::Active)).then_some(()))
        })
        .await?;

        s.progress(Some(0.6), "target group on n8n:5678")?;
        let tg_name = elb_name(stack, "n8n");
        let tg = match self.find_target_group(&tg_name).await? {
            Some(tg) => tg,
            None => {
                let created = self
                    .elb
                    .create_target_group()
                    .name(&tg_name)
                    .protocol(ProtocolEnum::Http)
                    .port(N8N_PORT)
                    .vpc_id(&vpc)
                    .target_type(TargetTypeEnum::Instance)
                    .health_check_protocol(ProtocolEnum::Http)
                    .health_check_path(HEALTH_PATH)
                    .matcher(Matcher::builder().http_code("200").build())
                    .set_tags(Some(tags(stack, &tg_name)))
                    .send()
                    .await
                    .map_err(|e| api_error("CreateTargetGroup", e))?;
                created
                    .target_groups()
                    .first()
                    .and_then(|t| t.target_group_arn())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        CloudError::api(
                            "CreateTargetGroup",
                            "NoAnswer",
                            "no target group in the answer",
                        )
                    })?
            }
        };
        s.record(|st| st.target_group_arn = Some(tg.clone()))?;
        // An instance launched before (a redeploy); a new one registers itself.
        if let Some(instance) = &instance {
            self.register(&tg, instance).await?;
        }

        s.progress(Some(0.8), "listeners")?;
        let listeners = self
            .ensure_listeners(s.state(), &arn, &tg, origin_secret.as_deref())
            .await?;
        s.record(|st| {
            st.listener_arns = listeners;
            st.n8n_url = exposure::n8n_public_url(st);
        })?;
        let https = s
            .state()
            .config
            .as_ref()
            .is_some_and(|c| c.certificate_arn.is_some());
        let note = match (req.tier, https) {
            (Tier::Gpu, _) => "80 → n8n:5678 with CloudFront's origin header, else 403",
            (_, true) => "443 → n8n:5678 (TLS 1.2+), 80 redirects to 443",
            _ => "80 → n8n:5678",
        };
        s.progress(Some(1.0), note)?;
        Ok(())
    }

    pub(super) async fn find_load_balancer(
        &self,
        name: &str,
    ) -> CloudResult<Option<(String, String)>> {
        match self.elb.describe_load_balancers().names(name).send().await {
            Ok(r) => {
                let Some(lb) = r.load_balancers().first() else {
                    return Ok(None);
                };
                let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
                let dns = lb.dns_name().unwrap_or_default().to_string();
                self.refuse_foreign("load balancer", name, &arn).await?;
                Ok(Some((arn, dns)))
            }
            Err(e) => {
                let e = api_error("DescribeLoadBalancers", e);
                if code_of(&e) == Some("LoadBalancerNotFound") {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    pub(super) async fn find_target_group(&self, name: &str) -> CloudResult<Option<String>> {
        match self.elb.describe_target_groups().names(name).send().await {
            Ok(r) => {
                let Some(arn) = r.target_groups().first().and_then(|t| t.target_group_arn()) else {
                    return Ok(None);
                };
                self.refuse_foreign("target group", name, arn).await?;
                Ok(Some(arn.to_string()))
            }
            Err(e) => {
                let e = api_error("DescribeTargetGroups", e);
                if code_of(&e) == Some("TargetGroupNotFound") {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// A load balancer or target group of this name that lacks the managed
    /// tag is someone else's: it is reported, never adopted or deleted.
    async fn refuse_foreign(&self, kind: &str, name: &str, arn: &str) -> CloudResult<()> {
        let r = self
            .elb
            .describe_tags()
            .resource_arns(arn)
            .send()
            .await
            .map_err(|e| api_error("DescribeTags", e))?;
        let tags = r
            .tag_descriptions()
            .iter()
            .flat_map(|d| d.tags())
            .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()));
        if is_managed(tags) {
            return Ok(());
        }
        Err(CloudError::Refused(format!(
            "a {kind} named {name} ({arn}) exists but GeuseMaker did not create it \
             (no geusemaker:managed tag): it is left alone; rename the stack or remove it"
        )))
    }

    /// "healthy", "unhealthy (Target.ResponseCodeMismatch)", ...
    /// Register `instance` as n8n's target: on every launch that has a
    /// target group (a deploy, a rollback, a relaunch).
    pub(super) async fn register(&self, target_group: &str, instance: &str) -> CloudResult<()> {
        let request = self
            .elb
            .register_targets()
            .target_group_arn(target_group)
            .targets(
                TargetDescription::builder()
                    .id(instance)
                    .port(N8N_PORT)
                    .build(),
            );
        self.settled("RegisterTargets", || request.clone().send())
            .await
            .map(|_| ())
    }

    pub(super) async fn target_state(&self, tg: &str) -> CloudResult<Option<String>> {
        let r = self
            .elb
            .describe_target_health()
            .target_group_arn(tg)
            .send()
            .await
            .map_err(|e| api_error("DescribeTargetHealth", e))?;
        Ok(r.target_health_descriptions()
            .first()
            .and_then(|d| d.target_health())
            .map(|h| {
                let state = h
                    .state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| "unknown".into());
                match h.reason() {
                    Some(reason) => format!("{state} ({})", reason.as_str()),
                    None => state,
                }
            }))
    }
}
