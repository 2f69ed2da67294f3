//! `Cloud` for AWS: each domain operation, by the service files.

use async_trait::async_trait;

use super::AwsCloud;
use super::ec2_network::ignore_gone;
use super::ec2_security::stack_groups;
use crate::cloud::endpoints::{self, Endpoint, Endpoints};
use crate::cloud::log_cursor;
use crate::cloud::{
    BootProgress, Cidr, Cloud, CloudError, CloudResult, DeployRequest, GroupView, LogQuery,
    NetworkChoice, Prices, Session, SpotNotice,
};
use crate::domain::{DeploymentState, Provider, Service, Stage, Timestamp};
use crate::instance::inside::{self, ContainerHealth};
use crate::instance::{boot, markers};

const COMPOSE_FILE: &str = "/opt/geusemaker/docker-compose.yml";

#[async_trait]
impl Cloud for AwsCloud {
    fn provider(&self) -> Provider {
        Provider::Aws
    }

    fn typical_secs(&self, stage: Stage) -> f64 {
        match stage {
            Stage::Validate => 3.0,
            Stage::Network => 5.0,
            Stage::Security => 5.0,
            Stage::Storage => 90.0,
            // Builder: boot, packages, pulls (~5 min); CreateImage (~4 min).
            Stage::Image => 540.0,
            Stage::Identity => 15.0,
            Stage::Instance => 45.0,
            Stage::Terminate => 60.0,
            Stage::LoadBalancer => 180.0,
            Stage::Cdn => 900.0,
            Stage::Services => 300.0,
            Stage::Health => 120.0,
            // The tier's default model, about 2 GB, at ~40 MB/s from Ollama's registry.
            Stage::Models => 60.0,
        }
    }

    async fn preflight(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        self.preflight_checks(req, s).await?;
        // Any tier may ask for a G instance; the quota is checked for all of them.
        if let Some(warning) = self.check_gpu_quota(&req.instance_type, req.spot).await? {
            s.progress(Some(1.0), warning)?;
        }
        Ok(())
    }

    async fn ensure_network(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        self.network(req, s).await
    }

    async fn ensure_security_groups(
        &self,
        req: &DeployRequest,
        s: &mut Session,
    ) -> CloudResult<()> {
        self.security_groups(req, s).await
    }

    async fn ensure_storage(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        self.storage(req, s).await
    }

    async fn storage_ready(&self, _req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        self.mount_targets_available(s).await
    }

    async fn storage_available(&self, state: &DeploymentState) -> CloudResult<bool> {
        self.mount_targets_ready(state).await
    }

    async fn ensure_identity(&self, _req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        self.instance_role(s).await?;
        self.secrets(s).await?;
        s.progress(Some(1.0), "role, profile, 3 secrets")?;
        Ok(())
    }

    async fn ensure_instance(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        self.instance(req, s).await
    }

    async fn ensure_image(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        self.start_bake(req, s).await
    }

    async fn image_ready(
        &self,
        _req: &DeployRequest,
        s: &mut Session,
    ) -> CloudResult<Option<String>> {
        self.finish_bake(s).await
    }

    async fn advance_bake(&self, s: &mut Session) -> CloudResult<()> {
        self.capture_if_done(s).await
    }

    async fn use_image(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<Option<String>> {
        self.use_baked_image(req, s).await
    }

    async fn delete_images(&self, s: &mut Session, all: bool) -> CloudResult<()> {
        self.remove_images(s, all).await
    }

    async fn ensure_load_balancer(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        self.load_balancer(req, s).await
    }

    async fn ensure_cdn(&self, _req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        self.distribution(s).await
    }

    async fn boot_progress(&self, state: &DeploymentState) -> CloudResult<BootProgress> {
        let total = boot::marker_total(state.tier());
        let Some(id) = state.instance_id.as_deref() else {
            return Ok(BootProgress {
                total,
                instance_lost: Some("no instance".into()),
                ..BootProgress::default()
            });
        };
        let instance = self.describe_instance(id).await?;
        let state_name = instance
            .as_ref()
            .and_then(|i| i.state())
            .and_then(|s| s.name())
            .map(|n| n.as_str().to_string());
        if !matches!(state_name.as_deref(), Some("running" | "pending")) {
            let reason = instance
                .as_ref()
                .and_then(|i| i.state_reason())
                .and_then(|r| r.message())
                .unwrap_or("gone");
            return Ok(BootProgress {
                total,
                instance_lost: Some(format!(
                    "instance {id} is {}: {reason}",
                    state_name.as_deref().unwrap_or("gone")
                )),
                ..BootProgress::default()
            });
        }
        let output = self
            .run_on_instance(id, "cat /var/lib/geusemaker/stage 2>/dev/null || true")
            .await?;
        let Some(output) = output else {
            return Ok(BootProgress {
                total,
                markers_readable: false,
                ..BootProgress::default()
            });
        };
        Ok(BootProgress {
            done: boot::markers_done(state.tier(), &output),
            total,
            instance_lost: None,
            markers_readable: true,
            failed: boot::failure(&output),
        })
    }

    async fn spot_notice(&self, state: &DeploymentState) -> CloudResult<Option<SpotNotice>> {
        match &state.instance_id {
            Some(id) => self.interruption(id).await,
            None => Ok(None),
        }
    }

    async fn service_endpoints(&self, state: &DeploymentState) -> CloudResult<Endpoints> {
        let host = state.public_ip.clone().unwrap_or_default();
        let overrides = &self.settings.endpoint_overrides;
        if host.is_empty() && overrides.len() < 5 {
            return Err(CloudError::Refused(
                "the instance has no public IP; reach the services through a tunnel and give --service-endpoints".into(),
            ));
        }
        let mut endpoints = endpoints::resolve(&host, overrides);
        // Behind a load balancer, n8n is reached (and probed) through it.
        if let Some(dns) = &state.alb_dns_name
            && !overrides.contains_key(&Service::N8n)
        {
            endpoints.insert(
                Service::N8n,
                Endpoint {
                    host: dns.clone(),
                    port: 80,
                },
            );
        }
        Ok(endpoints)
    }

    fn http(&self) -> Option<&crate::http::Http> {
        self.http.as_ref()
    }

    async fn markers_left(
        &self,
        _state: &DeploymentState,
        on_instance: &str,
        ids: &[String],
    ) -> CloudResult<Vec<(String, String)>> {
        let output = self
            .run_on_instance(on_instance, &markers::read_command(ids))
            .await?;
        Ok(output
            .map(|o| markers::split_sections(&o))
            .unwrap_or_default())
    }

    async fn inside_health(&self, state: &DeploymentState) -> CloudResult<Vec<ContainerHealth>> {
        let id = state
            .instance_id
            .as_deref()
            .ok_or_else(|| CloudError::Refused("the stack has no instance".into()))?;
        let script: String = crate::instance::user_data::inside_health_script().into();
        match self.run_on_instance(id, &script).await? {
            Some(out) => inside::parse(&out).map_err(CloudError::Refused),
            None => Err(CloudError::Refused(format!(
                "{id} did not answer through SSM (its agent is not online yet, or no container runs)"
            ))),
        }
    }

    async fn models(
        &self,
        state: &DeploymentState,
    ) -> CloudResult<crate::domain::models::ModelsView> {
        self.list_models(state).await
    }

    async fn start_pull(&self, state: &DeploymentState, name: &str) -> CloudResult<()> {
        self.pull_model(state, name).await
    }

    async fn pull_progress(
        &self,
        state: &DeploymentState,
        name: &str,
    ) -> CloudResult<crate::domain::models::PullProgress> {
        self.model_progress(state, name).await
    }

    async fn remove_model(&self, state: &DeploymentState, name: &str) -> CloudResult<()> {
        self.delete_model(state, name).await
    }

    async fn restart_service(
        &self,
        state: &DeploymentState,
        service: Service,
    ) -> CloudResult<String> {
        let id = state
            .instance_id
            .as_deref()
            .ok_or_else(|| CloudError::Refused("the stack has no instance".into()))?;
        let script = crate::instance::user_data::restart_service_script(service);
        match self.run_on_instance(id, &script).await? {
            Some(_) => Ok(format!("{service} on {id} restarted")),
            None => Err(CloudError::Refused(format!(
                "{id} did not answer through SSM; {service} was not restarted"
            ))),
        }
    }

    async fn set_access(&self, s: &mut Session, cidrs: &[Cidr]) -> CloudResult<()> {
        let set: Vec<String> = cidrs.iter().map(|c| c.to_string()).collect();
        s.record(|st| {
            st.config.get_or_insert_with(Default::default).allowed_cidrs = set.clone();
        })?;
        self.apply_exposure(s.state()).await?;
        let st = s.state().clone();
        if let (Some(lb), Some(tg)) = (&st.alb_arn, &st.target_group_arn)
            && st.tier() == crate::domain::Tier::Automation
        {
            // --public-webhooks keeps its allowed CIDRs in listener rules.
            let listeners = self.ensure_listeners(&st, lb, tg, None).await?;
            s.record(|st| st.listener_arns = listeners)?;
        }
        Ok(())
    }

    async fn read_secret(&self, state: &DeploymentState, name: &str) -> CloudResult<String> {
        self.secret_value(&state.stack_name, name).await
    }

    async fn prices(&self, region: &str, instance_type: &str) -> CloudResult<Prices> {
        self.current_prices(region, instance_type).await
    }

    async fn discover_networks(&self, _region: &str) -> CloudResult<Vec<NetworkChoice>> {
        // The clients are bound to one region: the runner picks the cloud by region.
        self.networks().await
    }

    async fn gpu_quota(&self, instance_type: &str, spot: bool) -> CloudResult<Option<String>> {
        self.check_gpu_quota(instance_type, spot).await
    }

    async fn caller_cidr(&self) -> CloudResult<Cidr> {
        if let Some(known) = &self.settings.caller_cidr {
            return Ok(known.clone());
        }
        match super::caller_ip::find().await {
            Ok(addr) => Ok(Cidr::host(addr)),
            Err(why) => Err(CloudError::Refused(format!(
                "could not find your public IP ({why})"
            ))),
        }
    }

    async fn storage_size(&self, state: &DeploymentState) -> CloudResult<Option<u64>> {
        match &state.efs_id {
            Some(id) => self.storage_bytes(id).await,
            None => Ok(None),
        }
    }

    async fn read_logs(
        &self,
        state: &DeploymentState,
        query: &LogQuery,
    ) -> CloudResult<Vec<String>> {
        let Some(id) = state.instance_id.as_deref() else {
            return Ok(Vec::new());
        };
        let command = |window: Option<(Timestamp, Timestamp)>| {
            let mut command = format!("docker compose -f {COMPOSE_FILE} logs -t --no-color");
            if let Some((since, until)) = window {
                command.push_str(&format!(" --since {since} --until {until}"));
            }
            if let Some(tail) = query.tail {
                command.push_str(&format!(" --tail {tail}"));
            }
            if let Some(service) = query.service {
                command.push_str(&format!(" {service}"));
            }
            command.push_str(" 2>&1");
            command
        };
        let Some(since) = query.since else {
            return match self.run_on_instance(id, &command(None)).await? {
                Some(output) => Ok(output.lines().map(str::to_string).collect()),
                // The agent is not answering yet (booting): the serial console.
                None if query.service.is_none() => {
                    self.console_lines(id, query.tail.unwrap_or(200)).await
                }
                None => Ok(Vec::new()),
            };
        };
        // Following: read up to now, in as many windows as the output limit needs.
        let read = |from, to| async move {
            Ok(self
                .run_on_instance(id, &command(Some((from, to))))
                .await?
                .unwrap_or_default())
        };
        let windowed = log_cursor::read_window(read, since, self.clock.now()).await?;
        if windowed.cut {
            tracing::warn!(%since, "more log output in one millisecond than SSM returns; some lines were cut");
        }
        Ok(windowed.lines)
    }

    async fn adopt_unrecorded(&self, s: &mut Session) -> CloudResult<Vec<String>> {
        self.find_unrecorded(s).await
    }

    async fn inventory(
        &self,
        global: bool,
        recorded: &[crate::domain::scan::Recorded],
    ) -> CloudResult<crate::domain::scan::Inventory> {
        self.inventory_here(global, recorded).await
    }

    async fn enabled_regions(&self) -> CloudResult<Vec<String>> {
        self.regions_enabled().await
    }

    async fn delete_orphan(&self, found: &crate::domain::scan::Found) -> CloudResult<()> {
        self.delete_found(found).await
    }

    async fn delete_cdn(&self, s: &mut Session) -> CloudResult<()> {
        self.remove_distribution(s).await
    }

    async fn delete_load_balancer(&self, s: &mut Session) -> CloudResult<()> {
        self.remove_load_balancer(s).await
    }

    async fn target_health(&self, state: &DeploymentState) -> CloudResult<Option<String>> {
        match &state.target_group_arn {
            Some(tg) => self.target_state(tg).await,
            None => Ok(None),
        }
    }

    async fn terminate_instance(&self, s: &mut Session) -> CloudResult<()> {
        self.terminate(s).await
    }

    async fn delete_instance_group(&self, s: &mut Session) -> CloudResult<()> {
        self.remove_group(s).await
    }

    async fn group_view(&self, state: &DeploymentState) -> CloudResult<Option<GroupView>> {
        match &state.autoscaling_group_name {
            Some(name) => self.view_group(name).await,
            None => Ok(None),
        }
    }

    async fn launch_on_demand(&self, state: &DeploymentState) -> CloudResult<()> {
        match (
            &state.autoscaling_group_name,
            &state.launch_template_id,
            state.launch_template_version,
        ) {
            (Some(name), Some(template), Some(version)) => {
                self.group_on_demand(name, template, version).await
            }
            _ => Err(CloudError::Refused(format!(
                "{} has no Auto Scaling group and launch template on record",
                state.stack_name
            ))),
        }
    }

    async fn delete_security_groups(&self, s: &mut Session) -> CloudResult<()> {
        if let Some(sg) = s.state().security_group_id.clone() {
            self.delete_group(&sg, &stack_groups(s.state())).await?;
            s.record(|st| st.security_group_id = None)?;
        }
        Ok(())
    }

    async fn delete_identity(&self, s: &mut Session, with_secrets: bool) -> CloudResult<()> {
        self.delete_instance_role(s).await?;
        if with_secrets {
            ignore_gone(self.delete_secrets(s).await)?;
        }
        Ok(())
    }

    async fn delete_storage(&self, s: &mut Session) -> CloudResult<()> {
        self.delete_file_system(s).await
    }

    async fn delete_network(&self, s: &mut Session) -> CloudResult<()> {
        self.delete_own_network(s).await
    }
}
