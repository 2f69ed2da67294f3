//! The instance: Amazon Linux 2023 (architecture from the type), spot by
//! default, IMDSv2 with hop limit 1 (the host reaches IMDS, its containers
//! cannot: nothing in them needs the role), an encrypted gp3 root volume,
//! user data from `assets/`; launched by the stack's Auto Scaling group of
//! one from a launch template, never by RunInstances, so AWS replaces it.

use aws_sdk_ec2::types::{Instance, InstanceStateName};

use super::AwsCloud;
use super::autoscaling::{LAUNCH_HOOK, group_name, group_spec};
use super::ec2_launch_template::LaunchSpec;
use super::errors::{api_error, code_of};
use super::tags::ours;
use crate::cloud::{CloudError, CloudResult, DeployRequest, Session};
use crate::domain::list_prices::has_nvidia_gpu;
use crate::domain::{Tier, Timestamp};
use crate::instance::user_data::{self, UserDataInput};

/// The smallest root volume: images, Docker's layers and logs.
const ROOT_GB: i32 = 30;

impl AwsCloud {
    /// The stack's instance, as its group of one runs it: the address (dev),
    /// the launch template version of this deploy, the group, and then the
    /// group's instance on that version, running.
    pub(super) async fn instance(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        if req.tier == Tier::Dev {
            self.address(s).await?;
        }
        let spec = self.launch_spec(req, s).await?;
        let template = self.launch_template(s, &spec).await?;
        let name = group_name(req.stack.as_str());
        // A change of what runs, or a bare instance from before groups: the
        // new one is prepared beside the old one.
        let outgoing = match self.bare_outgoing(s, &name).await? {
            Some(bare) => Some(bare),
            None => {
                let current = s.state().instance_id.clone();
                let replace = current.as_deref().filter(|_| req.options.replace_instance);
                self.outgoing(&name, &template.alike, replace).await?
            }
        };
        // A switch that fails goes back to the old one's version, with the
        // image baked since.
        let outgoing = outgoing.map(|mut old| {
            old.version = old.version.map(|v| template.newest_like(v));
            old
        });
        // A bare one is no member: the group stays at one.
        let capacity = if outgoing.as_ref().is_some_and(|o| !o.bare) {
            2
        } else {
            1
        };
        let group = group_spec(req, s.state(), &template, capacity);
        self.ensure_group(s, &group).await?;
        let market = if req.spot { "spot" } else { "on-demand" };
        let running = match &outgoing {
            Some(old) => self.switch(s, &group, &name, old).await?,
            None => {
                self.rebalancing_restored(&name).await?;
                self.wait_for(
                    s,
                    &format!("{name} launching {market} {}", req.instance_type),
                    || self.group_instance_running(&name, &template.alike),
                )
                .await?
            }
        };
        self.record_instance(req, s, &running).await?;
        let kind = running
            .instance_type()
            .map(|t| t.as_str())
            .unwrap_or(&req.instance_type);
        let switched = crate::domain::switch::told(s.state(), outgoing.is_some());
        s.progress(
            Some(1.0),
            format!("{market} {kind} running in {name}{switched}"),
        )?;
        Ok(())
    }

    /// The group on the stack's ready baked image from now on: a version
    /// that differs in its image alone. The instance serving, from the base
    /// image, runs alike and stays; the next one boots from the image.
    pub(super) async fn use_baked_image(
        &self,
        req: &DeployRequest,
        s: &mut Session,
    ) -> CloudResult<Option<String>> {
        let base = s.state().ami_id.clone().unwrap_or_default();
        let ready = user_data::ready_image(s.state(), &base).is_some();
        if !ready || s.state().autoscaling_group_name.is_none() {
            return Ok(None);
        }
        let before = s.state().launch_template_version;
        let spec = self.launch_spec(req, s).await?;
        let template = self.launch_template(s, &spec).await?;
        // Also when the version is not new: a run cut short before the group.
        self.ensure_group(s, &group_spec(req, s.state(), &template, 1))
            .await?;
        Ok((before != Some(template.version)).then(|| {
            let v = template.version;
            // The resource column shows the image's id.
            format!("baked from {base}; the group launches it from template v{v} on")
        }))
    }

    /// The group's instance launched from a version in `alike`, once EC2
    /// runs it.
    async fn group_instance_running(
        &self,
        name: &str,
        alike: &[i64],
    ) -> CloudResult<Option<Instance>> {
        let Some(group) = self.describe_group(name).await? else {
            return Ok(None);
        };
        let member = group.instances().iter().find(|i| {
            let on = i.launch_template().and_then(|t| t.version());
            let leaving = i
                .lifecycle_state()
                .is_some_and(|l| l.as_str().starts_with("Terminat"));
            !leaving && on.is_none_or(|v| alike.iter().any(|a| a.to_string() == v))
        });
        let Some(id) = member.and_then(|m| m.instance_id()) else {
            return Ok(None);
        };
        let now = self.describe_instance(id).await?;
        match now
            .as_ref()
            .and_then(|i| i.state())
            .and_then(|st| st.name())
        {
            Some(InstanceStateName::Running) => Ok(now),
            // The group replaces one that fails to start.
            _ => Ok(None),
        }
    }

    async fn record_instance(
        &self,
        req: &DeployRequest,
        s: &mut Session,
        running: &Instance,
    ) -> CloudResult<()> {
        let id = running.instance_id().unwrap_or_default().to_string();
        let spot = running
            .instance_lifecycle()
            .is_some_and(|l| l.as_str() == "spot");
        let public_ip = running.public_ip_address().map(str::to_string);
        let private_ip = running.private_ip_address().map(str::to_string);
        let launched = running
            .launch_time()
            .and_then(|t| t.to_millis().ok())
            .map(Timestamp::from_unix_millis)
            .unwrap_or_else(|| s.now());
        let instance_type = running
            .instance_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_else(|| req.instance_type.clone());
        // The price where it landed: spot prices differ from zone to zone.
        let zone = running
            .placement()
            .and_then(|p| p.availability_zone())
            .map(str::to_string);
        let zone_price = match (&zone, spot) {
            (Some(zone), true) => self
                .spot_price(&instance_type, Some(zone))
                .await
                .inspect_err(|e| tracing::warn!(error = %e, "spot price of the zone unknown"))
                .ok()
                .flatten(),
            _ => None,
        };
        s.record(|st| {
            if st.instance_id.as_deref() != Some(id.as_str()) {
                crate::domain::cost::close_instance_period(st, launched);
            }
            st.instance_id = Some(id.clone());
            st.set_provenance("instance", true);
            if let (Some(price), Some(cost)) = (zone_price, st.cost.as_mut()) {
                cost.spot_price_per_hour = Some(price);
                cost.price_estimate = None;
            }
            st.private_ip = private_ip;
            // Dev's address is the stack's Elastic IP, which the instance
            // claims at boot; behind a load balancer n8n's URL is the ALB's
            // (or CloudFront's) and the instance's own address is unused.
            if st.elastic_ip_allocation_id.is_none() {
                st.public_ip = public_ip;
            }
            if let Some(cost) = st.cost.as_mut() {
                cost.instance_start_time.get_or_insert(launched);
                cost.instance_type = Some(instance_type);
                cost.is_spot = spot;
            }
        })?;
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
        // The image builder is tagged with the stack too, and is not it.
        let builder = |i: &&Instance| {
            i.tags().iter().any(|t| {
                t.key() == Some(super::ec2_images::ROLE_TAG)
                    && t.value() == Some(super::ec2_images::BUILDER_ROLE)
            })
        };
        Ok(r.reservations()
            .iter()
            .flat_map(|x| x.instances())
            .find(|i| !builder(i))
            .cloned())
    }

    /// The base image: the one asked for, else Amazon's newest AL2023 (or
    /// Deep Learning GPU image) for the type's architecture; recorded.
    pub(super) async fn base_image(
        &self,
        req: &DeployRequest,
        s: &mut Session,
    ) -> CloudResult<String> {
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
        Ok(ami)
    }

    /// What the launch template says: the image, the type, the user data
    /// rendered for this stack and group, its profile, group and root.
    async fn launch_spec(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<LaunchSpec> {
        let base = self.base_image(req, s).await?;
        let gpu = req.tier == Tier::Gpu || has_nvidia_gpu(&req.instance_type);
        // The image baked from this base, once it is ready.
        let ami =
            user_data::ready_image(s.state(), &base).map_or(base.clone(), |i| i.image_id.clone());
        let script = render_user_data(req, s.state(), gpu)
            .map_err(|e| CloudError::Refused(e.to_string()))?;
        let user_data =
            user_data::encode(&script).map_err(|e| CloudError::Refused(e.to_string()))?;
        let (root_device, root_gb) = self.root_mapping(&ami).await?;
        let st = s.state();
        Ok(LaunchSpec {
            ami,
            instance_type: req.instance_type.clone(),
            user_data,
            profile: st.iam_instance_profile_name.clone().unwrap_or_default(),
            security_group: st.security_group_id.clone().unwrap_or_default(),
            root_device,
            root_gb,
        })
    }

    /// Take the stack's instance down: its group to 0 (the group, template
    /// and address stay for `deploy`), and a bare instance from before
    /// groups terminated; both waited for.
    pub(super) async fn terminate(&self, s: &mut Session) -> CloudResult<()> {
        if let Some(name) = s.state().autoscaling_group_name.clone()
            && self.describe_group(&name).await?.is_some()
        {
            self.resize_group(&name, 0).await?;
            self.wait_for(s, &format!("{name} scaling to 0"), || async {
                let group = self.describe_group(&name).await?;
                Ok(group.is_none_or(|g| g.instances().is_empty()).then_some(()))
            })
            .await?;
        }
        match s.state().instance_id.clone() {
            Some(id) => self.terminate_by_id(s, &id).await,
            None => Ok(()),
        }
    }

    /// Delete the group (its instances gone with it), the launch template
    /// with all its versions, and the stack's address.
    pub(super) async fn remove_group(&self, s: &mut Session) -> CloudResult<()> {
        if let Some(name) = s.state().autoscaling_group_name.clone() {
            self.delete_scaling_group(&name).await?;
            self.wait_for(s, &format!("{name} deleting"), || async {
                Ok(self.describe_group(&name).await?.is_none().then_some(()))
            })
            .await?;
            s.record(|st| st.autoscaling_group_name = None)?;
        }
        self.delete_launch_template(s).await?;
        self.release_address(s).await
    }

    pub(super) async fn terminate_by_id(&self, s: &mut Session, id: &str) -> CloudResult<()> {
        // Its group's scale-in may have taken it already.
        if gone(self.describe_instance(id).await?.as_ref()) {
            return Ok(());
        }
        let result = self.ec2.terminate_instances().instance_ids(id).send().await;
        if let Err(e) = result {
            let e = api_error("TerminateInstances", e);
            if code_of(&e) != Some("InvalidInstanceID.NotFound") {
                return Err(e);
            }
        }
        self.wait_terminated(s, id).await
    }

    /// Until EC2 says `id` is terminated (or no longer knows it).
    pub(super) async fn wait_terminated(&self, s: &mut Session, id: &str) -> CloudResult<()> {
        self.wait_for(s, &format!("{id} shutting-down"), || async {
            Ok(gone(self.describe_instance(id).await?.as_ref()).then_some(()))
        })
        .await
    }
}

/// Terminated, or unknown to EC2.
fn gone(i: Option<&Instance>) -> bool {
    let name = i.and_then(|i| i.state()).and_then(|st| st.name()).cloned();
    matches!(name, None | Some(InstanceStateName::Terminated))
}

/// The boot script for this stack and its group.
fn render_user_data(
    req: &DeployRequest,
    st: &crate::domain::DeploymentState,
    gpu: bool,
) -> Result<String, user_data::UserDataError> {
    // Dev: the stack's Elastic IP; behind a proxy, the ALB's or CloudFront's.
    let public_url = crate::domain::exposure::n8n_public_url(st);
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
        group: &group_name(req.stack.as_str()),
        launch_hook: LAUNCH_HOOK,
        address_allocation: st.elastic_ip_allocation_id.as_deref(),
        checks: req
            .options
            .instance_checks
            .or(st.config.as_ref().and_then(|c| c.instance_checks))
            .unwrap_or_default(),
        images: &req.image_tags(st),
        sns_topic_arn: req
            .options
            .sns_topic_arn
            .as_deref()
            .or(st.config.as_ref().and_then(|c| c.sns_topic_arn.as_deref())),
    })
}

/// How long a new instance may take to complete the launch hook: the
/// stack's own rollback timeout (a first boot pulls every image).
impl AwsCloud {
    /// The image's own root device, encrypted gp3, at least as large as its
    /// snapshot: RunInstances refuses a smaller one, and a mapping for
    /// another device name would only add a second, unused volume.
    pub(super) async fn root_mapping(&self, ami: &str) -> CloudResult<(String, i32)> {
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
        Ok((device.to_string(), root_gb(snapshot_gb)))
    }
}

fn root_gb(snapshot_gb: i32) -> i32 {
    ROOT_GB.max(snapshot_gb)
}

pub(super) fn is_live(instance: &Instance) -> bool {
    matches!(
        instance.state().and_then(|s| s.name()),
        Some(InstanceStateName::Pending | InstanceStateName::Running)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_never_smaller_than_the_images_snapshot() {
        assert_eq!(root_gb(8), 30);
        assert_eq!(root_gb(65), 65);
    }
}
