//! `Cloud` for the sandbox: each call looks in the world first (as the AWS
//! provider looks for tags), creates what is missing, and records each id.

use async_trait::async_trait;

use super::world::{Efs, MountTarget, Vpc};
use super::{SandboxCloud, logs, networks, new_id, timing};
use crate::cloud::{
    BootProgress, Cidr, Cloud, CloudError, CloudResult, DeployRequest, Endpoints, GroupView,
    LogQuery, NetworkChoice, Prices, Session, SpotNotice,
};
use crate::domain::list_prices;
use crate::domain::models::{ModelsView, PullProgress};
use crate::domain::{DeploymentState, Provider, Service, Stage, Tier};
use crate::instance::boot;
use crate::instance::inside::ContainerHealth;

/// What a deployed stack's EFS holds: mostly the Ollama model.
const EFS_BYTES_WITH_MODELS: u64 = 2_587_000_000;
const EFS_BYTES_EMPTY: u64 = 6_144;

pub(super) fn stack_of(s: &Session) -> String {
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
        self.pause(timing::lat().preflight).await;
        if list_prices::price_of(&req.instance_type).is_none() {
            let offered: Vec<_> = list_prices::offered_types().collect();
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
        s.progress(None, "looking for the VPC")?;
        let (chosen, created) = networks::pick(req)?;
        let subnets = networks::ordered_subnets(&chosen, req.options.subnet_id.as_deref())?;
        let vpc = Vpc {
            id: chosen.vpc_id.clone(),
            subnets,
        };
        let recorded = vpc.clone();
        self.call(
            &stack_of(s),
            "DescribeVpcs",
            timing::lat().discover_vpc,
            |w, _| {
                w.vpc = Some(recorded);
            },
        )
        .await?;
        s.record(|st| {
            st.vpc_id = Some(vpc.id.clone());
            st.subnet_ids = vpc.subnets.iter().map(|n| n.id.clone()).collect();
            // A default or given VPC is the account's: never ours to delete.
            st.set_provenance("vpc", created);
        })?;
        let kind = match (created, chosen.is_default) {
            (true, _) => "own VPC",
            (false, true) => "default VPC",
            (false, false) => "existing VPC",
        };
        s.progress(Some(1.0), format!("{kind}, {} subnets", vpc.subnets.len()))?;
        Ok(())
    }

    async fn ensure_security_groups(
        &self,
        req: &DeployRequest,
        s: &mut Session,
    ) -> CloudResult<()> {
        let stack = stack_of(s);
        let cidrs = self.access_set(req, s)?;
        s.progress(Some(0.0), "instance security group: n8n only")?;
        let sg = self
            .call(
                &stack,
                "CreateSecurityGroup",
                timing::lat().create_security_group,
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
                timing::lat().create_security_group,
                |w, _| w.efs_sg.get_or_insert_with(|| new_id("sg")).clone(),
            )
            .await?;
        s.record(|st| {
            st.efs_security_group_id = Some(efs_sg);
            st.set_provenance("efs_security_group", true);
        })?;
        self.worlds
            .update(&stack, self.speed, |w| w.allowed_cidrs = cidrs.clone())
            .map_err(|e| CloudError::Refused(e.to_string()))?;
        s.progress(Some(1.0), format!("n8n open to {}", cidrs.join(", ")))?;
        Ok(())
    }

    async fn ensure_storage(&self, _: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        s.progress(Some(0.0), "creating encrypted EFS")?;
        let speed = self.speed;
        let (efs, reused) = self
            .call(
                &stack,
                "CreateFileSystem",
                timing::lat().create_efs,
                |w, now| {
                    let reused = w.efs.is_some();
                    let efs = w.efs.get_or_insert_with(|| Efs {
                        id: new_id("fs"),
                        available_at: now.plus_secs(timing::lat().efs_becomes_available / speed),
                        size_bytes: EFS_BYTES_EMPTY,
                    });
                    (efs.clone(), reused)
                },
            )
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
                    timing::lat().create_mount_target,
                    |w, now| {
                        if let Some(mt) = w.mount_targets.iter().find(|m| &m.subnet_id == subnet) {
                            return mt.clone();
                        }
                        let mt = MountTarget {
                            id: new_id("fsmt"),
                            subnet_id: subnet.clone(),
                            available_at: now
                                .plus_secs(timing::lat().mount_target_becomes_available / speed),
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
        Ok(())
    }

    async fn storage_available(&self, state: &DeploymentState) -> CloudResult<bool> {
        let now = self.now();
        Ok(self
            .world(&state.stack_name)?
            .mount_targets
            .iter()
            .all(|m| m.available_at <= now))
    }

    async fn storage_ready(&self, _: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        let total = s.state().subnet_ids.len();
        let last_ready = self
            .world(&stack)?
            .mount_targets
            .iter()
            .map(|m| m.available_at)
            .max();
        if let Some(ready_at) = last_ready {
            let from = self.now();
            s.done_at(ready_at);
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

    async fn ensure_image(&self, _: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        self.start_bake(s).await
    }

    async fn image_ready(&self, _: &DeployRequest, s: &mut Session) -> CloudResult<Option<String>> {
        self.finish_bake(s).await
    }

    async fn delete_images(&self, s: &mut Session, all: bool) -> CloudResult<()> {
        self.remove_images(s, all).await
    }

    async fn ensure_identity(&self, _: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        s.progress(Some(0.0), "instance role and profile")?;
        let role = format!("{stack}-instance-role");
        let created = role.clone();
        self.call(
            &stack,
            "CreateRole",
            2.0 * timing::lat().create_role,
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
        for (i, name) in crate::domain::secrets::SECRET_NAMES.iter().enumerate() {
            s.progress(Some(0.4 + 0.1 * i as f64), format!("secret {path}{name}"))?;
            let full = format!("{path}{name}");
            self.call(
                &stack,
                "PutParameter",
                timing::lat().put_secret,
                move |w, _| {
                    // Generated once, reused on every redeploy: never overwritten.
                    if !w.secrets.contains(&full) {
                        w.secrets.push(full);
                    }
                },
            )
            .await?;
        }
        s.record(|st| st.secrets_path = Some(path))?;
        s.progress(Some(1.0), "role, profile, 5 secrets")?;
        Ok(())
    }

    async fn ensure_instance(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        self.launch_in_group(req, s).await
    }

    async fn ensure_load_balancer(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        self.create_load_balancer(req, s).await
    }

    async fn ensure_cdn(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        self.create_distribution(req, s).await
    }

    async fn boot_progress(&self, state: &DeploymentState) -> CloudResult<BootProgress> {
        let world = self.world(&state.stack_name)?;
        let now = self.now();
        let Some(instance) = world.current_instance() else {
            return Ok(BootProgress {
                total: boot::marker_total(state.tier()),
                instance_lost: Some("no instance".into()),
                ..BootProgress::default()
            });
        };
        let mut done: Vec<String> = instance
            .markers(world.speed)
            .into_iter()
            .take(timing::lat().boot_markers.len())
            .filter(|(_, at)| *at <= now)
            .map(|(name, _)| name.to_string())
            .collect();
        // The simulated GPU is always there: Ollama gets it with compose.
        if done.len() == timing::lat().boot_markers.len() && state.tier() == Tier::Gpu {
            done.push(boot::OLLAMA_ON_GPU.to_string());
        }
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
            total: boot::marker_total(state.tier()),
            instance_lost,
            markers_readable: true,
            // The simulated boot script never fails.
            failed: None,
        })
    }

    async fn spot_notice(&self, state: &DeploymentState) -> CloudResult<Option<SpotNotice>> {
        let world = self.world(&state.stack_name)?;
        if let Some(notice) = &world.spot_notice {
            return Ok(Some(SpotNotice {
                instance_id: notice.instance_id.clone(),
                terminate_at: Some(notice.terminate_at),
                detail: "marked-for-termination".into(),
            }));
        }
        let interrupted = world.current_instance().filter(|i| {
            i.state_reason.as_deref() == Some(super::group::SPOT_CODE)
                && Some(&i.id) == state.instance_id.as_ref()
        });
        Ok(interrupted.map(|i| SpotNotice {
            instance_id: i.id.clone(),
            terminate_at: None,
            detail: "terminated: Server.SpotInstanceTermination".into(),
        }))
    }

    async fn target_health(&self, state: &DeploymentState) -> CloudResult<Option<String>> {
        if state.alb_arn.is_none() {
            return Ok(None);
        }
        let world = self.world(&state.stack_name)?;
        let ready =
            world.answer(crate::domain::Service::N8n, self.now()) == super::world::Phase::Ready;
        Ok(Some(if ready {
            "healthy".into()
        } else {
            "unhealthy (Target.ResponseCodeMismatch)".into()
        }))
    }

    async fn service_endpoints(&self, state: &DeploymentState) -> CloudResult<Endpoints> {
        self.fakes
            .endpoints(&state.stack_name)
            .await
            .map_err(|e| CloudError::Refused(format!("could not start the sandbox services: {e}")))
    }

    async fn advance_bake(&self, s: &mut Session) -> CloudResult<()> {
        self.capture_if_done(s).await
    }

    async fn use_image(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<Option<String>> {
        self.use_baked_image(req, s).await
    }

    async fn markers_left(
        &self,
        state: &DeploymentState,
        _on_instance: &str,
        ids: &[String],
    ) -> CloudResult<Vec<(String, String)>> {
        let world = self.world(&state.stack_name)?;
        let now = self.now();
        Ok(world
            .instances
            .iter()
            .filter(|i| ids.contains(&i.id))
            .map(|i| {
                let written = i
                    .markers(world.speed)
                    .into_iter()
                    .filter(|(_, at)| *at <= now);
                let file = written.map(|(name, at)| format!("{name} {at}\n")).collect();
                (i.id.clone(), file)
            })
            .collect())
    }

    async fn inside_health(&self, state: &DeploymentState) -> CloudResult<Vec<ContainerHealth>> {
        let world = self.world(&state.stack_name)?;
        Ok(world.containers(self.now()))
    }

    async fn models(&self, state: &DeploymentState) -> CloudResult<ModelsView> {
        self.models_view(&state.stack_name)
    }

    async fn start_pull(&self, state: &DeploymentState, name: &str) -> CloudResult<()> {
        self.pull(&state.stack_name, name)
    }

    async fn pull_progress(
        &self,
        state: &DeploymentState,
        name: &str,
    ) -> CloudResult<PullProgress> {
        SandboxCloud::pull_progress(self, &state.stack_name, name)
    }

    async fn remove_model(&self, state: &DeploymentState, name: &str) -> CloudResult<()> {
        SandboxCloud::remove_model(self, &state.stack_name, name)
    }

    async fn restart_service(
        &self,
        state: &DeploymentState,
        service: Service,
    ) -> CloudResult<String> {
        self.restart(&state.stack_name, service)
    }

    async fn set_access(&self, s: &mut Session, cidrs: &[Cidr]) -> CloudResult<()> {
        let stack = stack_of(s);
        let set: Vec<String> = cidrs.iter().map(|c| c.to_string()).collect();
        self.call(
            &stack,
            "AuthorizeSecurityGroupIngress",
            timing::lat().create_security_group,
            |w, _| w.allowed_cidrs = set.clone(),
        )
        .await?;
        s.record(|st| st.config.get_or_insert_with(Default::default).allowed_cidrs = set)?;
        Ok(())
    }

    async fn read_secret(&self, state: &DeploymentState, name: &str) -> CloudResult<String> {
        let full = format!("/geusemaker/{}/{name}", state.stack_name);
        if !self.world(&state.stack_name)?.secrets.contains(&full) {
            return Err(CloudError::Refused(format!(
                "no secret {full} in the sandbox"
            )));
        }
        // A sandbox value: made up, but the same each time it is read.
        let hash = full.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Ok(format!("sandbox-{hash:016x}"))
    }

    async fn prices(&self, _region: &str, instance_type: &str) -> CloudResult<Prices> {
        let (od, spot) = list_prices::price_of(instance_type)
            .ok_or_else(|| CloudError::Refused(format!("no sandbox price for {instance_type}")))?;
        Ok(Prices {
            on_demand_per_hour: Some(od),
            spot_per_hour: Some(spot),
            efs_gb_month: list_prices::EFS_GB_MONTH,
            on_demand_estimate: None,
            spot_estimate: None,
        })
    }

    async fn discover_networks(&self, region: &str) -> CloudResult<Vec<NetworkChoice>> {
        self.pause(timing::lat().discover_vpc).await;
        Ok(networks::catalogue(region))
    }

    async fn caller_cidr(&self) -> CloudResult<Cidr> {
        // A documentation address: the sandbox never asks the internet.
        Cidr::parse(&self.worlds.caller()).map_err(CloudError::Refused)
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

    async fn group_view(&self, state: &DeploymentState) -> CloudResult<Option<GroupView>> {
        let world = self.world(&state.stack_name)?;
        Ok(super::group::view(&world, self.now()))
    }

    async fn delete_instance_group(&self, s: &mut Session) -> CloudResult<()> {
        self.delete_group(s).await
    }

    async fn launch_on_demand(&self, state: &DeploymentState) -> CloudResult<()> {
        let now = self.now();
        self.update_world(&state.stack_name, |w| super::group::go_on_demand(w, now))
    }

    async fn delete_cdn(&self, s: &mut Session) -> CloudResult<()> {
        self.remove_distribution(s).await
    }

    async fn delete_load_balancer(&self, s: &mut Session) -> CloudResult<()> {
        self.remove_load_balancer(s).await
    }

    async fn terminate_instance(&self, s: &mut Session) -> CloudResult<()> {
        self.terminate(s).await
    }

    async fn delete_security_groups(&self, s: &mut Session) -> CloudResult<()> {
        self.remove_security_groups(s).await
    }

    async fn delete_identity(&self, s: &mut Session, with_secrets: bool) -> CloudResult<()> {
        self.remove_identity(s, with_secrets).await
    }

    async fn delete_storage(&self, s: &mut Session) -> CloudResult<()> {
        self.remove_storage(s).await
    }

    async fn delete_network(&self, s: &mut Session) -> CloudResult<()> {
        self.remove_network(s).await
    }
}

impl SandboxCloud {
    /// The stack's allowed CIDRs: kept once set, else `--allow-cidr` or
    /// the sandbox's caller address.
    fn access_set(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<Vec<String>> {
        let recorded = crate::domain::exposure::allowed_cidrs(s.state());
        if !recorded.is_empty() {
            return Ok(recorded);
        }
        let cidr = match &req.options.allow_cidr {
            Some(c) => c.to_string(),
            None => self.worlds.caller(),
        };
        let set = vec![cidr];
        s.record(|st| st.config.get_or_insert_with(Default::default).allowed_cidrs = set.clone())?;
        Ok(set)
    }
}
