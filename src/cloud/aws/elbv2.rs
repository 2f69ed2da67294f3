//! The automation tier's Application Load Balancer: internet-facing in two
//! zones, its own security group (80 open; 443 with a certificate), a target
//! group on the instance's n8n (5678, health `/healthz/readiness`) and the
//! listeners. Torn down listeners first, then the target group, the ALB, and
//! its security group once its network interfaces are released.

use aws_sdk_ec2::types::{IpPermission, UserIdGroupPair};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, LoadBalancerSchemeEnum, LoadBalancerStateEnum,
    LoadBalancerTypeEnum, Matcher, ProtocolEnum, RedirectActionConfig,
    RedirectActionStatusCodeEnum, Tag, TargetDescription, TargetTypeEnum,
};

use super::AwsCloud;
use super::errors::{api_error, code_of};
use super::settle::not_visible_yet;
use super::tags::{elb_name, is_managed, pairs};
use crate::cloud::{CloudError, CloudResult, DeployRequest, Session};

const N8N_PORT: i32 = 5678;
const HEALTH_PATH: &str = "/healthz/readiness";

fn tags(stack: &str, name: &str) -> Vec<Tag> {
    pairs(stack, name)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn tcp_from_group(port: i32, group: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(group)
                .description("n8n from the load balancer")
                .build(),
        )
        .build()
}

fn world(port: i32) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .ip_ranges(
            aws_sdk_ec2::types::IpRange::builder()
                .cidr_ip("0.0.0.0/0")
                .description("the public entry point")
                .build(),
        )
        .build()
}

impl AwsCloud {
    pub(super) async fn load_balancer(
        &self,
        req: &DeployRequest,
        s: &mut Session,
    ) -> CloudResult<()> {
        let stack = req.stack.as_str();
        let (vpc, instance_sg, instance) = {
            let st = s.state();
            (
                st.vpc_id.clone(),
                st.security_group_id.clone(),
                st.instance_id.clone(),
            )
        };
        let (Some(vpc), Some(instance_sg), Some(instance)) = (vpc, instance_sg, instance) else {
            return Err(CloudError::Refused(
                "the load balancer needs the network, security group and instance first".into(),
            ));
        };
        let subnets = s.state().subnet_ids.clone();
        if subnets.len() < 2 {
            return Err(CloudError::Refused(format!(
                "an ALB needs subnets in two zones; {vpc} offers {}",
                subnets.len()
            )));
        }

        s.progress(Some(0.05), "ALB security group")?;
        let sg_name = format!("geusemaker-{stack}-alb");
        let alb_sg = self
            .find_or_create_group(
                s,
                &vpc,
                stack,
                &sg_name,
                "GeuseMaker load balancer: HTTP(S) from anywhere",
            )
            .await?;
        s.record(|st| {
            st.alb_security_group_id = Some(alb_sg.clone());
            st.set_provenance("alb_security_group", true);
        })?;
        let certificate = req.options.certificate_arn.clone();
        let mut open = vec![world(80)];
        if certificate.is_some() {
            open.push(world(443));
        }
        self.authorize(&alb_sg, open).await?;
        // n8n only from the load balancer; the other services stay the caller's.
        self.authorize(&instance_sg, vec![tcp_from_group(N8N_PORT, &alb_sg)])
            .await?;

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
        self.register(&tg, &instance).await?;

        s.progress(Some(0.8), "listeners")?;
        let listeners = self
            .ensure_listeners(&arn, &tg, certificate.as_deref())
            .await?;
        let scheme = if certificate.is_some() {
            "https"
        } else {
            "http"
        };
        s.record(|st| {
            st.listener_arns = listeners;
            st.n8n_url = Some(format!("{scheme}://{dns}"));
        })?;
        let note = if certificate.is_some() {
            "443 → n8n:5678, 80 redirects to 443"
        } else {
            "80 → n8n:5678"
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

    /// 80 forwards to n8n; with a certificate, 443 forwards and 80 redirects.
    async fn ensure_listeners(
        &self,
        lb: &str,
        tg: &str,
        certificate: Option<&str>,
    ) -> CloudResult<Vec<String>> {
        let existing = self
            .elb
            .describe_listeners()
            .load_balancer_arn(lb)
            .send()
            .await
            .map_err(|e| api_error("DescribeListeners", e))?;
        let mut arns: Vec<String> = Vec::new();
        let has = |port: i32| {
            existing
                .listeners()
                .iter()
                .find(|l| l.port() == Some(port))
                .and_then(|l| l.listener_arn())
                .map(str::to_string)
        };
        let forward = Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .target_group_arn(tg)
            .build();
        let plans: Vec<(i32, ProtocolEnum, Action)> = match certificate {
            None => vec![(80, ProtocolEnum::Http, forward)],
            Some(_) => {
                let redirect = Action::builder()
                    .r#type(ActionTypeEnum::Redirect)
                    .redirect_config(
                        RedirectActionConfig::builder()
                            .protocol("HTTPS")
                            .port("443")
                            .status_code(RedirectActionStatusCodeEnum::Http301)
                            .build(),
                    )
                    .build();
                vec![
                    (443, ProtocolEnum::Https, forward),
                    (80, ProtocolEnum::Http, redirect),
                ]
            }
        };
        for (port, protocol, action) in plans {
            if let Some(arn) = has(port) {
                arns.push(arn);
                continue;
            }
            let mut create = self
                .elb
                .create_listener()
                .load_balancer_arn(lb)
                .port(port)
                .protocol(protocol)
                .default_actions(action);
            if port == 443
                && let Some(cert) = certificate
            {
                create = create.certificates(Certificate::builder().certificate_arn(cert).build());
            }
            let created = self
                .settled("CreateListener", || create.clone().send())
                .await?;
            if let Some(arn) = created.listeners().first().and_then(|l| l.listener_arn()) {
                arns.push(arn.to_string());
            }
        }
        Ok(arns)
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
