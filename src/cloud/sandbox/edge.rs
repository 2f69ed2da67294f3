//! The sandbox's load balancer and CloudFront distribution: the extra stages
//! of the automation and gpu tiers, and their removal.

use super::provider::stack_of;
use super::world::{Distribution, LoadBalancer};
use super::{SandboxCloud, new_id, timing};
use crate::cloud::{CloudResult, DeployRequest, Session};

impl SandboxCloud {
    pub(super) async fn create_load_balancer(
        &self,
        req: &DeployRequest,
        s: &mut Session,
    ) -> CloudResult<()> {
        let stack = stack_of(s);
        s.progress(Some(0.0), "ALB security group")?;
        let alb_sg = self
            .call(
                &stack,
                "CreateSecurityGroup",
                timing::lat().create_security_group,
                |w, _| w.alb_sg.get_or_insert_with(|| new_id("sg")).clone(),
            )
            .await?;
        s.record(|st| st.alb_security_group_id = Some(alb_sg))?;
        s.progress(Some(0.1), "internet-facing ALB in 2 zones")?;
        let (speed, region, name) = (self.speed, req.region.clone(), stack.clone());
        let lb = self
            .call(&stack, "CreateLoadBalancer", timing::lat().create_load_balancer, move |w, now| {
                w.load_balancer
                    .get_or_insert_with(|| {
                        let id = format!("{:016x}", rand::random::<u64>());
                        let account = "000000000000";
                        LoadBalancer {
                            arn: format!("arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/app/{name}-alb/{id}"),
                            dns_name: format!("{name}-alb-{}.{region}.elb.amazonaws.com", &id[..8]),
                            active_at: now.plus_secs(timing::lat().load_balancer_provisioning / speed),
                            target_group_arn: format!("arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/{name}-n8n/{id}"),
                            listener_arn: format!("arn:aws:elasticloadbalancing:{region}:{account}:listener/app/{name}-alb/{id}/80"),
                        }
                    })
                    .clone()
            })
            .await?;
        s.record(|st| {
            st.alb_arn = Some(lb.arn.clone());
            st.alb_dns_name = Some(lb.dns_name.clone());
            st.target_group_arn = Some(lb.target_group_arn.clone());
            st.listener_arns = vec![lb.listener_arn.clone()];
            st.n8n_url = Some(format!("http://{}", lb.dns_name));
            st.set_provenance("load_balancer", true);
        })?;
        let from = self.now();
        self.wait_until(s, from, lb.active_at, "ALB provisioning")
            .await?;
        s.progress(Some(1.0), "listener :80 → n8n:5678, target registered")?;
        self.pause(timing::lat().create_listener).await;
        Ok(())
    }

    pub(super) async fn create_distribution(
        &self,
        _: &DeployRequest,
        s: &mut Session,
    ) -> CloudResult<()> {
        let stack = stack_of(s);
        s.progress(Some(0.0), "distribution with the ALB as origin")?;
        let speed = self.speed;
        let dist = self
            .call(
                &stack,
                "CreateDistribution",
                timing::lat().create_distribution,
                move |w, now| {
                    w.distribution
                        .get_or_insert_with(|| {
                            let id: String = new_id("E").to_uppercase().replace(['-', '0'], "")
                                [..13]
                                .to_string();
                            Distribution {
                                domain: format!("d{}.cloudfront.net", id.to_lowercase()),
                                id,
                                deployed_at: now
                                    .plus_secs(timing::lat().distribution_deploying / speed),
                            }
                        })
                        .clone()
                },
            )
            .await?;
        s.record(|st| {
            st.cloudfront_id = Some(dist.id.clone());
            st.cloudfront_domain = Some(dist.domain.clone());
            st.n8n_url = Some(format!("https://{}", dist.domain));
            st.set_provenance("cloudfront", true);
        })?;
        let from = self.now();
        self.wait_until(s, from, dist.deployed_at, "InProgress → Deployed")
            .await?;
        Ok(())
    }

    pub(super) async fn remove_distribution(&self, s: &mut Session) -> CloudResult<()> {
        let Some(id) = s.state().cloudfront_id.clone() else {
            return Ok(());
        };
        s.progress(Some(0.0), format!("disabling {id}, waiting for Deployed"))?;
        let stack = stack_of(s);
        self.call(
            &stack,
            "UpdateDistribution",
            timing::lat().disable_distribution,
            |_, _| (),
        )
        .await?;
        self.call(
            &stack,
            "DeleteDistribution",
            timing::lat().delete_simple,
            |w, _| {
                w.distribution = None;
            },
        )
        .await?;
        s.record(|st| {
            st.cloudfront_id = None;
            st.cloudfront_domain = None;
        })?;
        Ok(())
    }

    pub(super) async fn remove_load_balancer(&self, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        if s.state().alb_arn.is_some() {
            s.progress(Some(0.0), "listeners, target group, load balancer")?;
            self.call(
                &stack,
                "DeleteLoadBalancer",
                timing::lat().delete_load_balancer,
                |w, _| {
                    w.load_balancer = None;
                },
            )
            .await?;
            s.record(|st| {
                st.alb_arn = None;
                st.alb_dns_name = None;
                st.target_group_arn = None;
                st.listener_arns.clear();
            })?;
        }
        if s.state().alb_security_group_id.is_some() {
            s.progress(
                Some(0.8),
                "ALB security group (network interfaces released)",
            )?;
            self.call(
                &stack,
                "DeleteSecurityGroup",
                timing::lat().delete_simple,
                |w, _| {
                    w.alb_sg = None;
                },
            )
            .await?;
            s.record(|st| st.alb_security_group_id = None)?;
        }
        Ok(())
    }
}
