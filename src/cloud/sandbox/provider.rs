//! `Cloud` for the sandbox: each call looks in the world first (as the AWS
//! provider looks for tags), creates what is missing, and records each id.

use async_trait::async_trait;

use super::world::{Distribution, Efs, Instance, LoadBalancer, MountTarget, Subnet, Vpc};
use super::{SandboxCloud, logs, new_id, prices, timing};
use crate::cloud::{
    BootProgress, Cloud, CloudError, CloudResult, DeployRequest, Endpoints, LogQuery, Prices,
    Session,
};
use crate::domain::{DeploymentState, Provider, Stage};

const ZONES: [&str; 2] = ["a", "b"];
/// What a deployed stack's EFS holds: mostly the Ollama model.
const EFS_BYTES_WITH_MODELS: u64 = 2_587_000_000;
const EFS_BYTES_EMPTY: u64 = 6_144;

fn stack_of(s: &Session) -> String {
    s.state().stack_name.clone()
}

#[async_trait]
impl Cloud for SandboxCloud {
    fn provider(&self) -> Provider {
        Provider::Sandbox
    }

    fn typical_secs(&self, stage: Stage) -> f64 {
        timing::deploy_stage(stage) / self.speed
    }

    async fn preflight(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        s.progress(None, "checking instance type")?;
        self.pause(timing::PREFLIGHT).await;
        if prices::price_of(&req.instance_type).is_none() {
            let offered: Vec<_> = prices::offered_types().collect();
            return Err(CloudError::Refused(format!(
                "instance type {} is not offered in the sandbox; use one of {}",
                req.instance_type,
                offered.join(", ")
            )));
        }
        s.progress(
            Some(1.0),
            format!("{} offered in {}", req.instance_type, req.region),
        )?;
        Ok(())
    }

    async fn ensure_network(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        s.progress(None, "looking for the default VPC")?;
        let region = req.region.clone();
        let vpc = self
            .call(
                &stack_of(s),
                "DescribeVpcs",
                timing::DISCOVER_VPC,
                |w, _| {
                    w.vpc
                        .get_or_insert_with(|| Vpc {
                            id: new_id("vpc"),
                            subnets: ZONES
                                .iter()
                                .map(|z| Subnet {
                                    id: new_id("subnet"),
                                    zone: format!("{region}{z}"),
                                })
                                .collect(),
                        })
                        .clone()
                },
            )
            .await?;
        s.record(|st| {
            st.vpc_id = Some(vpc.id.clone());
            st.subnet_ids = vpc.subnets.iter().map(|n| n.id.clone()).collect();
            // The default VPC is the account's: never ours to delete.
            st.set_provenance("vpc", false);
        })?;
        s.progress(
            Some(1.0),
            format!("default VPC, {} subnets", vpc.subnets.len()),
        )?;
        Ok(())
    }

    async fn ensure_security_groups(&self, _: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        s.progress(Some(0.0), "instance security group")?;
        let sg = self
            .call(
                &stack,
                "CreateSecurityGroup",
                timing::CREATE_SECURITY_GROUP,
                |w, _| w.instance_sg.get_or_insert_with(|| new_id("sg")).clone(),
            )
            .await?;
        s.record(|st| {
            st.security_group_id = Some(sg);
            st.set_provenance("security_group", true);
        })?;
        s.progress(Some(0.5), "EFS security group (NFS from the instance only)")?;
        let efs_sg = self
            .call(
                &stack,
                "CreateSecurityGroup",
                timing::CREATE_SECURITY_GROUP,
                |w, _| w.efs_sg.get_or_insert_with(|| new_id("sg")).clone(),
            )
            .await?;
        s.record(|st| {
            st.efs_security_group_id = Some(efs_sg);
            st.set_provenance("efs_security_group", true);
        })?;
        s.progress(
            Some(1.0),
            "instance + EFS groups, nothing open to 0.0.0.0/0",
        )?;
        Ok(())
    }

    async fn ensure_storage(&self, _: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        s.progress(Some(0.0), "creating encrypted EFS")?;
        let speed = self.speed;
        let (efs, reused) = self
            .call(&stack, "CreateFileSystem", timing::CREATE_EFS, |w, now| {
                let reused = w.efs.is_some();
                let efs = w.efs.get_or_insert_with(|| Efs {
                    id: new_id("fs"),
                    available_at: now.plus_secs(timing::EFS_BECOMES_AVAILABLE / speed),
                    size_bytes: EFS_BYTES_EMPTY,
                });
                (efs.clone(), reused)
            })
            .await?;
        s.record(|st| {
            st.efs_id = Some(efs.id.clone());
            st.efs_size_bytes = Some(efs.size_bytes);
            if !reused || !st.resource_provenance.contains_key("efs") {
                st.set_provenance("efs", true);
            }
        })?;
        let from = self.now();
        self.wait_until(s, from, efs.available_at, "EFS creating")
            .await?;

        let subnets = s.state().subnet_ids.clone();
        let total = subnets.len();
        for (i, subnet) in subnets.iter().enumerate() {
            s.progress(None, format!("mount targets {i}/{total}"))?;
            let mt = self
                .call(
                    &stack,
                    "CreateMountTarget",
                    timing::CREATE_MOUNT_TARGET,
                    |w, now| {
                        if let Some(mt) = w.mount_targets.iter().find(|m| &m.subnet_id == subnet) {
                            return mt.clone();
                        }
                        let mt = MountTarget {
                            id: new_id("fsmt"),
                            subnet_id: subnet.clone(),
                            available_at: now
                                .plus_secs(timing::MOUNT_TARGET_BECOMES_AVAILABLE / speed),
                        };
                        w.mount_targets.push(mt.clone());
                        mt
                    },
                )
                .await?;
            s.record(|st| {
                if !st.efs_mount_target_ids.contains(&mt.id) {
                    st.efs_mount_target_ids.push(mt.id.clone());
                }
            })?;
        }
        let last_ready = self
            .world(&stack)?
            .mount_targets
            .iter()
            .map(|m| m.available_at)
            .max();
        if let Some(ready_at) = last_ready {
            let from = self.now();
            self.wait_until(
                s,
                from,
                ready_at,
                &format!("mount targets 0/{total} available"),
            )
            .await?;
        }
        s.progress(Some(1.0), format!("mount targets {total}/{total}"))?;
        Ok(())
    }

    async fn ensure_identity(&self, _: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        s.progress(Some(0.0), "instance role and profile")?;
        let role = format!("{stack}-instance-role");
        let created = role.clone();
        self.call(
            &stack,
            "CreateRole",
            2.0 * timing::CREATE_ROLE,
            move |w, _| {
                w.role.get_or_insert(created);
            },
        )
        .await?;
        s.record(|st| {
            st.iam_role_name = Some(role.clone());
            st.iam_instance_profile_name = Some(format!("{stack}-instance-profile"));
            st.set_provenance("iam_role", true);
        })?;
        let path = format!("/geusemaker/{stack}/");
        for (i, name) in [
            "postgres-password",
            "n8n-encryption-key",
            "crawl4ai-api-token",
        ]
        .iter()
        .enumerate()
        {
            s.progress(Some(0.4 + 0.2 * i as f64), format!("secret {path}{name}"))?;
            let full = format!("{path}{name}");
            self.call(&stack, "PutParameter", timing::PUT_SECRET, move |w, _| {
                // Generated once, reused on every redeploy: never overwritten.
                if !w.secrets.contains(&full) {
                    w.secrets.push(full);
                }
            })
            .await?;
        }
        s.record(|st| st.secrets_path = Some(path))?;
        s.progress(Some(1.0), "role, profile, 3 secrets")?;
        Ok(())
    }

    async fn ensure_instance(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        let market = if req.spot { "spot" } else { "on-demand" };
        s.progress(None, format!("{market} {}", req.instance_type))?;
        let speed = self.speed;
        let request = req.clone();
        let instance = self
            .call(
                &stack,
                "RunInstances",
                timing::RUN_INSTANCE,
                move |w, now| {
                    if let Some(live) = w.live_instance_mut() {
                        return live.clone();
                    }
                    let n = w.instances.len() as u8;
                    let instance = Instance {
                        id: new_id("i"),
                        instance_type: request.instance_type.clone(),
                        spot: request.spot,
                        launched_at: now,
                        running_at: now.plus_secs(timing::INSTANCE_PENDING / speed),
                        private_ip: format!("10.0.1.{}", 20 + n),
                        // TEST-NET-3: documentation addresses, never a real host.
                        public_ip: format!("203.0.113.{}", 10 + n),
                        terminated_at: None,
                        state_reason: None,
                    };
                    w.instances.push(instance.clone());
                    instance
                },
            )
            .await?;
        s.record(|st| {
            st.instance_id = Some(instance.id.clone());
            st.set_provenance("instance", true);
        })?;
        let from = self.now();
        let what = format!("{market} {} pending", instance.instance_type);
        self.wait_until(s, from, instance.running_at, &what).await?;
        s.record(|st| {
            st.public_ip = Some(instance.public_ip.clone());
            st.private_ip = Some(instance.private_ip.clone());
            st.n8n_url = Some(format!("http://{}:5678", instance.public_ip));
            if let Some(cost) = st.cost.as_mut() {
                cost.instance_start_time.get_or_insert(instance.running_at);
                cost.instance_type = Some(instance.instance_type.clone());
                cost.is_spot = instance.spot;
            }
        })?;
        s.progress(
            Some(1.0),
            format!("{market} {} running", instance.instance_type),
        )?;
        Ok(())
    }

    async fn ensure_load_balancer(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        s.progress(Some(0.0), "ALB security group")?;
        let alb_sg = self
            .call(
                &stack,
                "CreateSecurityGroup",
                timing::CREATE_SECURITY_GROUP,
                |w, _| w.alb_sg.get_or_insert_with(|| new_id("sg")).clone(),
            )
            .await?;
        s.record(|st| st.alb_security_group_id = Some(alb_sg))?;
        s.progress(Some(0.1), "internet-facing ALB in 2 zones")?;
        let (speed, region, name) = (self.speed, req.region.clone(), stack.clone());
        let lb = self
            .call(&stack, "CreateLoadBalancer", timing::CREATE_LOAD_BALANCER, move |w, now| {
                w.load_balancer
                    .get_or_insert_with(|| {
                        let id = format!("{:016x}", rand::random::<u64>());
                        let account = "000000000000";
                        LoadBalancer {
                            arn: format!("arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/app/{name}-alb/{id}"),
                            dns_name: format!("{name}-alb-{}.{region}.elb.amazonaws.com", &id[..8]),
                            active_at: now.plus_secs(timing::LOAD_BALANCER_PROVISIONING / speed),
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
        self.pause(timing::CREATE_LISTENER).await;
        Ok(())
    }

    async fn ensure_cdn(&self, _: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        s.progress(Some(0.0), "distribution with the ALB as origin")?;
        let speed = self.speed;
        let dist = self
            .call(
                &stack,
                "CreateDistribution",
                timing::CREATE_DISTRIBUTION,
                move |w, now| {
                    w.distribution
                        .get_or_insert_with(|| {
                            let id: String = new_id("E").to_uppercase().replace(['-', '0'], "")
                                [..13]
                                .to_string();
                            Distribution {
                                domain: format!("d{}.cloudfront.net", id.to_lowercase()),
                                id,
                                deployed_at: now.plus_secs(timing::DISTRIBUTION_DEPLOYING / speed),
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

    async fn boot_progress(&self, state: &DeploymentState) -> CloudResult<BootProgress> {
        let world = self.world(&state.stack_name)?;
        let now = self.now();
        let Some(instance) = world.current_instance() else {
            return Ok(BootProgress {
                total: timing::BOOT_MARKERS.len(),
                instance_lost: Some("no instance".into()),
                ..BootProgress::default()
            });
        };
        let done = timing::BOOT_MARKERS
            .iter()
            .filter(|(_, at)| instance.running_at.plus_secs(at / world.speed) <= now)
            .map(|(name, _)| name.to_string())
            .collect();
        let instance_lost = instance.terminated_at.map(|_| {
            let reason = instance.state_reason.as_deref().unwrap_or("terminated");
            format!(
                "instance {} is {}: {reason}",
                instance.id,
                instance.state_at(now)
            )
        });
        Ok(BootProgress {
            done,
            total: timing::BOOT_MARKERS.len(),
            instance_lost,
            markers_readable: true,
        })
    }

    async fn service_endpoints(&self, state: &DeploymentState) -> CloudResult<Endpoints> {
        self.fakes
            .endpoints(&state.stack_name)
            .await
            .map_err(|e| CloudError::Refused(format!("could not start the sandbox services: {e}")))
    }

    async fn prices(&self, _region: &str, instance_type: &str) -> CloudResult<Prices> {
        let (od, spot) = prices::price_of(instance_type)
            .ok_or_else(|| CloudError::Refused(format!("no sandbox price for {instance_type}")))?;
        Ok(Prices {
            on_demand_per_hour: Some(od),
            spot_per_hour: Some(spot),
            efs_gb_month: prices::EFS_GB_MONTH,
        })
    }

    async fn storage_size(&self, state: &DeploymentState) -> CloudResult<Option<u64>> {
        let world = self.world(&state.stack_name)?;
        let now = self.now();
        let models_pulled = world
            .instances
            .iter()
            .any(|i| i.compose_up_at(world.speed) <= now);
        Ok(world.efs.map(|e| {
            if models_pulled {
                EFS_BYTES_WITH_MODELS.max(e.size_bytes)
            } else {
                e.size_bytes
            }
        }))
    }

    async fn read_logs(
        &self,
        state: &DeploymentState,
        query: &LogQuery,
    ) -> CloudResult<Vec<String>> {
        let world = self.world(&state.stack_name)?;
        let now = self.now();
        let mut lines = match query.since {
            Some(since) => logs::lines_between(&world, since, now),
            None => logs::tail(&world, now, query.tail.unwrap_or(200) * 5),
        };
        if let Some(service) = query.service {
            lines.retain(|l| l.service == Some(service));
        }
        if let Some(n) = query.tail {
            let skip = lines.len().saturating_sub(n);
            lines.drain(..skip);
        }
        Ok(lines.iter().map(logs::SimLine::compose).collect())
    }

    async fn delete_cdn(&self, s: &mut Session) -> CloudResult<()> {
        let Some(id) = s.state().cloudfront_id.clone() else {
            return Ok(());
        };
        s.progress(Some(0.0), format!("disabling {id}, waiting for Deployed"))?;
        let stack = stack_of(s);
        self.call(
            &stack,
            "UpdateDistribution",
            timing::DISABLE_DISTRIBUTION,
            |_, _| (),
        )
        .await?;
        self.call(
            &stack,
            "DeleteDistribution",
            timing::DELETE_SIMPLE,
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

    async fn delete_load_balancer(&self, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        if s.state().alb_arn.is_some() {
            s.progress(Some(0.0), "listeners, target group, load balancer")?;
            self.call(
                &stack,
                "DeleteLoadBalancer",
                timing::DELETE_LOAD_BALANCER,
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
                timing::DELETE_SIMPLE,
                |w, _| {
                    w.alb_sg = None;
                },
            )
            .await?;
            s.record(|st| st.alb_security_group_id = None)?;
        }
        Ok(())
    }

    async fn terminate_instance(&self, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        let speed = self.speed;
        let ending = self
            .call(
                &stack,
                "TerminateInstances",
                timing::DELETE_SIMPLE,
                move |w, now| {
                    let end = now.plus_secs(timing::TERMINATE_INSTANCE / speed);
                    w.spot_notice = None;
                    w.live_instance_mut().map(|i| {
                        i.terminated_at = Some(end);
                        i.state_reason = Some("Client.UserInitiatedShutdown".into());
                        (i.id.clone(), end)
                    })
                },
            )
            .await?;
        if let Some((id, end)) = ending {
            let from = self.now();
            self.wait_until(s, from, end, &format!("{id} shutting-down"))
                .await?;
        }
        Ok(())
    }

    async fn delete_security_groups(&self, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        self.call(
            &stack,
            "DeleteSecurityGroup",
            timing::DELETE_SIMPLE,
            |w, _| {
                w.instance_sg = None;
            },
        )
        .await?;
        s.record(|st| st.security_group_id = None)?;
        Ok(())
    }

    async fn delete_identity(&self, s: &mut Session, with_secrets: bool) -> CloudResult<()> {
        let stack = stack_of(s);
        self.call(&stack, "DeleteRole", 2.0 * timing::DELETE_SIMPLE, |w, _| {
            w.role = None;
        })
        .await?;
        s.record(|st| {
            st.iam_role_name = None;
            st.iam_instance_profile_name = None;
        })?;
        if with_secrets {
            self.call(&stack, "DeleteParameters", timing::DELETE_SIMPLE, |w, _| {
                w.secrets.clear();
            })
            .await?;
            s.record(|st| st.secrets_path = None)?;
        }
        Ok(())
    }

    async fn delete_storage(&self, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        let count = s.state().efs_mount_target_ids.len();
        s.progress(Some(0.0), format!("deleting {count} mount targets"))?;
        self.call(
            &stack,
            "DeleteMountTarget",
            timing::DELETE_MOUNT_TARGET,
            |w, _| {
                w.mount_targets.clear();
            },
        )
        .await?;
        s.record(|st| st.efs_mount_target_ids.clear())?;
        s.progress(Some(0.7), "deleting the file system")?;
        self.call(&stack, "DeleteFileSystem", timing::DELETE_SIMPLE, |w, _| {
            w.efs = None;
        })
        .await?;
        s.record(|st| {
            st.efs_id = None;
            st.efs_size_bytes = None;
        })?;
        if s.state().efs_security_group_id.is_some() {
            self.call(
                &stack,
                "DeleteSecurityGroup",
                timing::DELETE_SIMPLE,
                |w, _| {
                    w.efs_sg = None;
                },
            )
            .await?;
            s.record(|st| st.efs_security_group_id = None)?;
        }
        Ok(())
    }

    async fn delete_network(&self, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        // The sandbox simulates a default VPC per stack; the stack's record
        // of it goes, but like a real default VPC it is not "deleted".
        self.call(&stack, "DescribeVpcs", timing::DELETE_SIMPLE, |w, _| {
            w.vpc = None;
            w.instances.clear();
            w.service_events.clear();
        })
        .await?;
        s.record(|st| {
            st.vpc_id = None;
            st.subnet_ids.clear();
        })?;
        s.progress(Some(1.0), "default VPC kept")?;
        Ok(())
    }
}
