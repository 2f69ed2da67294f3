//! Taking a load balancer apart: listeners, target group, the ALB (waited
//! for), then its security group once its interfaces are gone.

use super::AwsCloud;
use super::ec2_network::ignore_gone;
use super::ec2_security::stack_groups;
use super::errors::{api_error, code_of};
use super::tags::filter;
use crate::cloud::{CloudResult, Session};

impl AwsCloud {
    pub(super) async fn remove_load_balancer(&self, s: &mut Session) -> CloudResult<()> {
        let st = s.state().clone();
        if let Some(lb) = &st.alb_arn {
            s.progress(Some(0.1), "deleting listeners")?;
            if let Ok(listeners) = self
                .elb
                .describe_listeners()
                .load_balancer_arn(lb)
                .send()
                .await
            {
                for arn in listeners
                    .listeners()
                    .iter()
                    .filter_map(|l| l.listener_arn())
                {
                    gone_elb(
                        self.elb
                            .delete_listener()
                            .listener_arn(arn)
                            .send()
                            .await
                            .map(drop)
                            .map_err(|e| api_error("DeleteListener", e)),
                    )?;
                }
            }
            s.record(|st| st.listener_arns.clear())?;
        }
        if let Some(tg) = &st.target_group_arn {
            s.progress(Some(0.3), "deleting the target group")?;
            self.wait_for(s, "target group in use", || async {
                match self
                    .elb
                    .delete_target_group()
                    .target_group_arn(tg)
                    .send()
                    .await
                {
                    Ok(_) => Ok(Some(())),
                    Err(e) => {
                        let e = api_error("DeleteTargetGroup", e);
                        match code_of(&e) {
                            Some("TargetGroupNotFound") => Ok(Some(())),
                            Some("ResourceInUse") => Ok(None),
                            _ => Err(e),
                        }
                    }
                }
            })
            .await?;
            s.record(|st| st.target_group_arn = None)?;
        }
        if let Some(lb) = &st.alb_arn {
            s.progress(Some(0.5), "deleting the load balancer")?;
            gone_elb(
                self.elb
                    .delete_load_balancer()
                    .load_balancer_arn(lb)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| api_error("DeleteLoadBalancer", e)),
            )?;
            self.wait_for(s, "load balancer deleting", || async {
                match self
                    .elb
                    .describe_load_balancers()
                    .load_balancer_arns(lb)
                    .send()
                    .await
                {
                    Ok(r) if r.load_balancers().is_empty() => Ok(Some(())),
                    Ok(_) => Ok(None),
                    Err(e) => {
                        let e = api_error("DescribeLoadBalancers", e);
                        if code_of(&e) == Some("LoadBalancerNotFound") {
                            Ok(Some(()))
                        } else {
                            Err(e)
                        }
                    }
                }
            })
            .await?;
            s.record(|st| {
                st.alb_arn = None;
                st.alb_dns_name = None;
            })?;
        }
        if let Some(alb_sg) = &st.alb_security_group_id {
            s.progress(Some(0.8), "waiting for the ALB's network interfaces to go")?;
            self.wait_for(s, "ALB network interfaces releasing", || async {
                let r = self
                    .ec2
                    .describe_network_interfaces()
                    .filters(filter("group-id", alb_sg))
                    .send()
                    .await
                    .map_err(|e| api_error("DescribeNetworkInterfaces", e))?;
                Ok(r.network_interfaces().is_empty().then_some(()))
            })
            .await?;
            self.delete_group(alb_sg, &stack_groups(s.state())).await?;
            s.record(|st| st.alb_security_group_id = None)?;
        }
        Ok(())
    }
}

fn gone_elb(result: CloudResult<()>) -> CloudResult<()> {
    match result {
        Err(e) if code_of(&e).is_some_and(|c| c.ends_with("NotFound")) => Ok(()),
        other => ignore_gone(other),
    }
}
