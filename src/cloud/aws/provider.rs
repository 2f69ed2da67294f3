//! `Cloud` for AWS: each domain operation, by the service files.

use async_trait::async_trait;

use super::AwsCloud;
use super::ec2_network::ignore_gone;
use crate::cloud::endpoints::{self, Endpoints};
use crate::cloud::{
    BootProgress, Cloud, CloudError, CloudResult, DeployRequest, LogQuery, Prices, Session,
    SpotNotice,
};
use crate::domain::{DeploymentState, Provider, Stage, Tier};

/// The user-data stage markers, in the order the script writes them.
const BOOT_MARKERS: [&str; 6] = [
    "cloud-init",
    "packages",
    "efs-mounted",
    "secrets",
    "images-pulled",
    "compose-up",
];
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
            Stage::Identity => 15.0,
            Stage::Instance => 45.0,
            Stage::Terminate => 60.0,
            Stage::LoadBalancer => 180.0,
            Stage::Cdn => 900.0,
            Stage::Services => 300.0,
            Stage::Health => 120.0,
        }
    }

    async fn preflight(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        if req.tier != Tier::Dev {
            return Err(CloudError::Refused(format!(
                "the {} tier is not available on AWS in this version (dev is); the sandbox simulates it: add --sandbox",
                req.tier
            )));
        }
        self.preflight_checks(req, s).await
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

    async fn ensure_identity(&self, _req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        self.instance_role(s).await?;
        self.secrets(s).await?;
        s.progress(Some(1.0), "role, profile, 3 secrets")?;
        Ok(())
    }

    async fn ensure_instance(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        self.instance(req, s).await
    }

    async fn ensure_load_balancer(&self, req: &DeployRequest, _s: &mut Session) -> CloudResult<()> {
        Err(not_yet(req.tier))
    }

    async fn ensure_cdn(&self, req: &DeployRequest, _s: &mut Session) -> CloudResult<()> {
        Err(not_yet(req.tier))
    }

    async fn boot_progress(&self, state: &DeploymentState) -> CloudResult<BootProgress> {
        let total = BOOT_MARKERS.len();
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
        let done = BOOT_MARKERS
            .iter()
            .filter(|m| {
                output
                    .lines()
                    .any(|l| l.split_whitespace().next() == Some(**m))
            })
            .map(|m| m.to_string())
            .collect();
        Ok(BootProgress {
            done,
            total,
            instance_lost: None,
            markers_readable: true,
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
        Ok(endpoints::resolve(&host, overrides))
    }

    async fn prices(&self, region: &str, instance_type: &str) -> CloudResult<Prices> {
        self.current_prices(region, instance_type).await
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
        let mut command = format!("docker compose -f {COMPOSE_FILE} logs -t --no-color");
        if let Some(since) = query.since {
            command.push_str(&format!(" --since {since}"));
        }
        if let Some(tail) = query.tail {
            command.push_str(&format!(" --tail {tail}"));
        }
        if let Some(service) = query.service {
            command.push_str(&format!(" {service}"));
        }
        command.push_str(" 2>&1");
        let output = self.run_on_instance(id, &command).await?;
        Ok(output
            .map(|o| o.lines().map(str::to_string).collect())
            .unwrap_or_default())
    }

    async fn delete_cdn(&self, s: &mut Session) -> CloudResult<()> {
        match s.state().cloudfront_id {
            Some(_) => Err(not_yet(s.state().tier())),
            None => Ok(()),
        }
    }

    async fn delete_load_balancer(&self, s: &mut Session) -> CloudResult<()> {
        match s.state().alb_arn {
            Some(_) => Err(not_yet(s.state().tier())),
            None => Ok(()),
        }
    }

    async fn terminate_instance(&self, s: &mut Session) -> CloudResult<()> {
        self.terminate(s).await
    }

    async fn delete_security_groups(&self, s: &mut Session) -> CloudResult<()> {
        if let Some(sg) = s.state().security_group_id.clone() {
            self.delete_group(&sg).await?;
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

fn not_yet(tier: Tier) -> CloudError {
    CloudError::Refused(format!(
        "the {tier} tier's load balancer and CDN are not available on AWS in this version"
    ))
}
