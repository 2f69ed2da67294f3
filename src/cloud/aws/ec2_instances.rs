//! The instance: Amazon Linux 2023 (architecture from the type), spot by
//! default (one-time, terminate on interruption), IMDSv2 with hop limit 1 (the
//! host reaches IMDS, its containers cannot: nothing in them needs the role), an
//! encrypted gp3 root volume, user data from `assets/`. A zone without
//! capacity sends it to the next zone.

use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, HttpTokensState, IamInstanceProfileSpecification, Instance,
    InstanceInterruptionBehavior, InstanceMarketOptionsRequest, InstanceMetadataEndpointState,
    InstanceMetadataOptionsRequest, InstanceStateName, InstanceType, MarketType, ResourceType,
    SpotInstanceType, SpotMarketOptions, VolumeType,
};

use std::time::Duration;

use super::AwsCloud;
use super::errors::{api_error, code_of};
use super::tags::{ec2_spec, ours};
use crate::cloud::{CloudError, CloudResult, DeployRequest, Session};
use crate::deploy::user_data::{self, UserDataInput};
use crate::domain::list_prices::has_nvidia_gpu;
use crate::domain::{Tier, Timestamp};

/// The smallest root volume: images, Docker's layers and logs.
const ROOT_GB: i32 = 30;
/// A new instance profile can take up to about two minutes before EC2
/// accepts it (<https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_iam-ec2.html>).
const PROFILE_PROPAGATION: Duration = Duration::from_secs(180);
const PROFILE_BACKOFF_MAX: Duration = Duration::from_secs(10);

impl AwsCloud {
    pub(super) async fn instance(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        let live = match s.state().instance_id.clone() {
            Some(id) => self.describe_instance(&id).await?.filter(is_live),
            None => None,
        };
        let live = match live {
            Some(i) => Some(i),
            None => self.tagged_live_instance(req.stack.as_str()).await?,
        };
        let instance = match live {
            Some(i) => i,
            None => self.launch(req, s).await?,
        };
        let id = instance.instance_id().unwrap_or_default().to_string();
        let spot = instance
            .instance_lifecycle()
            .is_some_and(|l| l.as_str() == "spot");
        s.record(|st| {
            st.instance_id = Some(id.clone());
            st.set_provenance("instance", true);
        })?;
        let market = if spot { "spot" } else { "on-demand" };
        let running = self
            .wait_for(
                s,
                &format!("{market} {} pending", req.instance_type),
                || async {
                    let now = self.describe_instance(&id).await?;
                    match now
                        .as_ref()
                        .and_then(|i| i.state())
                        .and_then(|st| st.name())
                    {
                        Some(InstanceStateName::Running) => Ok(now),
                        Some(InstanceStateName::Pending) | None => Ok(None),
                        Some(other) => Err(CloudError::Refused(format!(
                            "instance {id} is {} instead of running",
                            other.as_str()
                        ))),
                    }
                },
            )
            .await?;
        let public_ip = running.public_ip_address().map(str::to_string);
        let private_ip = running.private_ip_address().map(str::to_string);
        let launched = running
            .launch_time()
            .and_then(|t| t.to_millis().ok())
            .map(Timestamp::from_unix_millis)
            .unwrap_or_else(|| s.now());
        let instance_type = req.instance_type.clone();
        let behind_lb = req.tier.has_load_balancer();
        // Every launch with a target group registers with it: a rollback
        // or a relaunch as well as the first deploy.
        if let Some(tg) = s.state().target_group_arn.clone() {
            s.progress(None, format!("registering {id} with the load balancer"))?;
            self.register(&tg, &id).await?;
        }
        // The price where it landed: spot prices differ from zone to zone.
        let zone = running
            .placement()
            .and_then(|p| p.availability_zone())
            .map(str::to_string);
        let zone_price = match (&zone, spot) {
            (Some(zone), true) => self
                .spot_price(&req.instance_type, Some(zone))
                .await
                .inspect_err(|e| tracing::warn!(error = %e, "spot price of the zone unknown"))
                .ok()
                .flatten(),
            _ => None,
        };
        s.record(|st| {
            if let (Some(price), Some(cost)) = (zone_price, st.cost.as_mut()) {
                cost.spot_price_per_hour = Some(price);
                cost.price_estimate = None;
            }
            st.private_ip = private_ip;
            // Behind a load balancer n8n's URL is the ALB's (or CloudFront's),
            // and port 5678 is open to the ALB alone.
            if !behind_lb {
                st.n8n_url = public_ip.as_ref().map(|ip| format!("http://{ip}:5678"));
            }
            st.public_ip = public_ip;
            if let Some(cost) = st.cost.as_mut() {
                cost.instance_start_time.get_or_insert(launched);
                cost.instance_type = Some(instance_type);
                cost.is_spot = spot;
            }
        })?;
        s.progress(Some(1.0), format!("{market} {} running", req.instance_type))?;
        Ok(())
    }

    /// The instance's serial console (cloud-init, the user data's first
    /// steps): all there is to read before the SSM agent answers. The last
    /// `tail` lines, as `console | …` lines.
    pub(super) async fn console_lines(&self, id: &str, tail: usize) -> CloudResult<Vec<String>> {
        use base64::Engine;
        let out = self
            .ec2
            .get_console_output()
            .instance_id(id)
            .latest(true)
            .send()
            .await
            .map_err(|e| api_error("GetConsoleOutput", e))?;
        let text = out
            .output()
            .and_then(|o| base64::engine::general_purpose::STANDARD.decode(o).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        Ok(lines[lines.len().saturating_sub(tail)..]
            .iter()
            .map(|l| format!("console     | {l}"))
            .collect())
    }

    pub(super) async fn describe_instance(&self, id: &str) -> CloudResult<Option<Instance>> {
        let r = self.ec2.describe_instances().instance_ids(id).send().await;
        match r {
            Ok(r) => Ok(r
                .reservations()
                .iter()
                .flat_map(|x| x.instances())
                .next()
                .cloned()),
            Err(e) => {
                let e = api_error("DescribeInstances", e);
                if code_of(&e) == Some("InvalidInstanceID.NotFound") {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// A pending or running instance tagged with the stack: one a run that
    /// died before recording it had launched.
    pub(super) async fn tagged_live_instance(&self, stack: &str) -> CloudResult<Option<Instance>> {
        let r = self
            .ec2
            .describe_instances()
            .set_filters(Some(ours(stack)))
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("instance-state-name")
                    .values("pending")
                    .values("running")
                    .build(),
            )
            .send()
            .await
            .map_err(|e| api_error("DescribeInstances", e))?;
        Ok(r.reservations()
            .iter()
            .flat_map(|x| x.instances())
            .next()
            .cloned())
    }

    async fn launch(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<Instance> {
        let arch = match s
            .state()
            .config
            .as_ref()
            .and_then(|c| c.extra.get("architecture"))
            .and_then(|v| v.as_str())
        {
            Some(a) => a.to_string(),
            None => self.architecture(&req.instance_type).await?,
        };
        let gpu = req.tier == Tier::Gpu || has_nvidia_gpu(&req.instance_type);
        let ami = match (&req.options.ami_id, gpu) {
            (Some(ami), _) => ami.clone(),
            (None, true) => {
                s.progress(None, "resolving the Deep Learning Base GPU AMI")?;
                let (ami, what) = self.gpu_ami(&arch).await?;
                s.progress(None, format!("{what} ({ami})"))?;
                ami
            }
            (None, false) => {
                s.progress(
                    None,
                    format!("resolving the Amazon Linux 2023 AMI ({arch})"),
                )?;
                self.latest_ami(&arch).await?
            }
        };
        s.record(|st| st.ami_id = Some(ami.clone()))?;
        let script = {
            let st = s.state();
            // Dev: the boot script takes the address from IMDS.
            let public_url = match req.tier {
                Tier::Dev => None,
                Tier::Automation | Tier::Gpu => crate::domain::exposure::n8n_public_url(st),
            };
            // A relaunch's request has no options: the config keeps the e-mail.
            let owner_email = req
                .options
                .owner_email
                .clone()
                .or_else(|| st.config.as_ref().and_then(|c| c.owner_email.clone()))
                .unwrap_or_else(|| user_data::default_owner_email(req.stack.as_str()));
            user_data::render(&UserDataInput {
                stack: req.stack.as_str(),
                region: &req.region,
                efs_id: st.efs_id.as_deref().unwrap_or_default(),
                secrets_path: st.secrets_path.as_deref().unwrap_or_default(),
                gpu,
                public_url: public_url.as_deref(),
                proxy_hops: crate::domain::exposure::proxy_hops(req.tier),
                owner_email: &owner_email,
            })
        }
        .map_err(|e| CloudError::Refused(e.to_string()))?;
        let encoded = user_data::encode(&script).map_err(|e| CloudError::Refused(e.to_string()))?;

        let subnets = s.state().subnet_ids.clone();
        let mut markets = vec![req.spot];
        if req.spot && req.options.fallback_on_demand {
            markets.push(false);
        }
        let mut no_capacity = Vec::new();
        for spot in markets {
            for subnet in &subnets {
                let market = if spot { "spot" } else { "on-demand" };
                s.progress(
                    None,
                    format!("launching {market} {} in {subnet}", req.instance_type),
                )?;
                match self
                    .run_instance(req, s, &ami, &encoded, subnet, spot)
                    .await
                {
                    Ok(instance) => return Ok(instance),
                    Err(e) if code_of(&e) == Some("InsufficientInstanceCapacity") => {
                        no_capacity.push(format!("{market} in {subnet}"));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Err(CloudError::InsufficientCapacity {
            instance_type: req.instance_type.clone(),
            zone: no_capacity.join(", "),
            market: if req.spot {
                "spot".into()
            } else {
                "on-demand".into()
            },
        })
    }

    async fn run_instance(
        &self,
        req: &DeployRequest,
        s: &mut Session,
        ami: &str,
        user_data: &str,
        subnet: &str,
        spot: bool,
    ) -> CloudResult<Instance> {
        let stack = req.stack.as_str();
        let st = s.state();
        let group = st.security_group_id.clone().unwrap_or_default();
        let profile = st.iam_instance_profile_name.clone().unwrap_or_default();
        let root = self.root_mapping(ami).await?;
        let started = tokio::time::Instant::now();
        let mut delay = self.settings.poll;
        let mut tries = 0;
        loop {
            tries += 1;
            let mut run = self
                .ec2
                .run_instances()
                .image_id(ami)
                .instance_type(InstanceType::from(req.instance_type.as_str()))
                .min_count(1)
                .max_count(1)
                .subnet_id(subnet)
                .security_group_ids(&group)
                .iam_instance_profile(
                    IamInstanceProfileSpecification::builder()
                        .name(&profile)
                        .build(),
                )
                .user_data(user_data)
                .metadata_options(
                    InstanceMetadataOptionsRequest::builder()
                        .http_tokens(HttpTokensState::Required)
                        .http_put_response_hop_limit(1)
                        .http_endpoint(InstanceMetadataEndpointState::Enabled)
                        .build(),
                )
                .block_device_mappings(root.clone())
                // A retry of this call (the SDK's, after a lost answer) cannot
                // launch a second instance.
                .client_token(client_token())
                .tag_specifications(ec2_spec(
                    ResourceType::Instance,
                    stack,
                    &format!("{stack}-ai-stack"),
                ))
                .tag_specifications(ec2_spec(
                    ResourceType::Volume,
                    stack,
                    &format!("{stack}-root"),
                ));
            if spot {
                run = run.instance_market_options(
                    InstanceMarketOptionsRequest::builder()
                        .market_type(MarketType::Spot)
                        .spot_options(
                            SpotMarketOptions::builder()
                                .spot_instance_type(SpotInstanceType::OneTime)
                                .instance_interruption_behavior(
                                    InstanceInterruptionBehavior::Terminate,
                                )
                                .build(),
                        )
                        .build(),
                );
            }
            match run.send().await.map_err(|e| api_error("RunInstances", e)) {
                Ok(r) => {
                    return r.instances().first().cloned().ok_or_else(|| {
                        CloudError::api("RunInstances", "NoInstance", "no instance in the answer")
                    });
                }
                Err(e) if profile_not_ready(&e) && started.elapsed() < PROFILE_PROPAGATION => {
                    s.progress(
                        None,
                        format!("instance profile still propagating (try {tries})"),
                    )?;
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(PROFILE_BACKOFF_MAX);
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub(super) async fn terminate(&self, s: &mut Session) -> CloudResult<()> {
        let Some(id) = s.state().instance_id.clone() else {
            return Ok(());
        };
        if self.describe_instance(&id).await?.is_none() {
            return Ok(());
        }
        let result = self
            .ec2
            .terminate_instances()
            .instance_ids(&id)
            .send()
            .await;
        if let Err(e) = result {
            let e = api_error("TerminateInstances", e);
            if code_of(&e) != Some("InvalidInstanceID.NotFound") {
                return Err(e);
            }
        }
        self.wait_for(s, &format!("{id} shutting-down"), || async {
            let now = self.describe_instance(&id).await?;
            let name = now
                .as_ref()
                .and_then(|i| i.state())
                .and_then(|st| st.name())
                .cloned();
            Ok(matches!(name, None | Some(InstanceStateName::Terminated)).then_some(()))
        })
        .await
    }
}

impl AwsCloud {
    /// The image's own root device, encrypted gp3, at least as large as its
    /// snapshot: RunInstances refuses a smaller one, and a mapping for
    /// another device name would only add a second, unused volume.
    async fn root_mapping(&self, ami: &str) -> CloudResult<BlockDeviceMapping> {
        let images = self
            .ec2
            .describe_images()
            .image_ids(ami)
            .send()
            .await
            .map_err(|e| api_error("DescribeImages", e))?;
        let image = images.images().first().ok_or_else(|| {
            CloudError::Refused(format!("the image {ami} does not exist in this region"))
        })?;
        let device = image.root_device_name().unwrap_or("/dev/xvda");
        let snapshot_gb = image
            .block_device_mappings()
            .iter()
            .find(|m| m.device_name() == Some(device))
            .and_then(|m| m.ebs())
            .and_then(|e| e.volume_size())
            .unwrap_or(0);
        Ok(root_device(device, snapshot_gb))
    }
}

fn root_device(device: &str, snapshot_gb: i32) -> BlockDeviceMapping {
    BlockDeviceMapping::builder()
        .device_name(device)
        .ebs(
            EbsBlockDevice::builder()
                .volume_size(ROOT_GB.max(snapshot_gb))
                .volume_type(VolumeType::Gp3)
                .encrypted(true)
                .delete_on_termination(true)
                .build(),
        )
        .build()
}

/// A token for one RunInstances (at most 64 ASCII characters).
fn client_token() -> String {
    format!("geusemaker-{:032x}", rand::random::<u128>())
}

fn is_live(instance: &Instance) -> bool {
    matches!(
        instance.state().and_then(|s| s.name()),
        Some(InstanceStateName::Pending | InstanceStateName::Running)
    )
}

/// EC2 does not see a new instance profile for a few seconds after IAM made it.
fn profile_not_ready(e: &CloudError) -> bool {
    match e {
        CloudError::Api { code, message, .. } => {
            code == "InvalidParameterValue" && message.to_lowercase().contains("iam")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_images_own_device_and_never_smaller_than_its_snapshot() {
        let small = root_device("/dev/xvda", 8);
        assert_eq!(small.device_name(), Some("/dev/xvda"));
        assert_eq!(small.ebs().and_then(|e| e.volume_size()), Some(30));
        let gpu = root_device("/dev/sda1", 65);
        assert_eq!(gpu.device_name(), Some("/dev/sda1"));
        let ebs = gpu.ebs().expect("ebs");
        assert_eq!(ebs.volume_size(), Some(65));
        assert_eq!(ebs.encrypted(), Some(true));
        assert_eq!(ebs.volume_type(), Some(&VolumeType::Gp3));
    }

    #[test]
    fn client_tokens_fit_and_differ() {
        let (a, b) = (client_token(), client_token());
        assert!(a.len() <= 64 && a.is_ascii());
        assert_ne!(a, b);
    }
}
