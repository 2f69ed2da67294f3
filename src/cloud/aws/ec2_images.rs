//! The Image stage: a throw-away builder instance from the base image
//! (no role, so no secret; no EFS) installs Docker, compose and efs-utils,
//! pulls the pinned images and powers off; CreateImage captures it, and the
//! builder is terminated. The group launches from that image, so a
//! relaunch boots straight to the lease. A failed bake is not a failed
//! deploy: the instance then boots from the base image, as before.

use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, HttpTokensState, Image, ImageState,
    InstanceMetadataEndpointState, InstanceMetadataOptionsRequest, InstanceStateName, ResourceType,
    ShutdownBehavior, VolumeType,
};

use super::AwsCloud;
use super::ec2_images_found::{alive, baked_of, snapshot_ids};
use super::errors::{api_error, code_of};
use super::tags::{ec2_spec_with, short_name};
use crate::cloud::{CloudError, CloudResult, DeployRequest, Session};
use crate::domain::image::{self, BakedImage, Builder};
use crate::instance::user_data;

/// What tells a builder from the stack's instance.
pub(super) const ROLE_TAG: &str = "geusemaker:role";
pub(super) const BUILDER_ROLE: &str = "image-builder";
/// On an image: what it was baked from, so one found by its tags (a
/// CreateImage whose answer was lost) is recorded as it should be.
pub(super) const KEY_TAG: &str = "geusemaker:bake-key";
pub(super) const BASE_TAG: &str = "geusemaker:base-ami";
/// What the bake script prints to the console when it fails.
const FAILED_LINE: &str = "geusemaker-bake: failed: ";

/// How a builder's bake ended.
enum BuilderEnd {
    /// It powered itself off: its root holds the bake.
    PoweredOff,
    /// Its script said why it failed, or EC2 why it is gone.
    Failed(String),
}

impl AwsCloud {
    /// The Image stage's first half: a baked image of the base found, else
    /// its builder launched (the same one again after a cut-short run).
    pub(super) async fn start_bake(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        let base = self.base_image(req, s).await?;
        let key = user_data::bake_key(&base);
        if self.image_current(s, &key).await? {
            return Ok(());
        }
        if image::baked(s.state(), &key).is_some() || self.adopt_image(s, &key).await? {
            s.progress(None, "the image is being made from its builder")?;
            return Ok(());
        }
        self.ensure_builder(req, s, &base, &key).await
    }

    /// The second half: the builder's image made and available, and the
    /// builder gone. `Some(why)` when the bake was given up on.
    pub(super) async fn finish_bake(&self, s: &mut Session) -> CloudResult<Option<String>> {
        let base = s.state().ami_id.clone().unwrap_or_default();
        let key = user_data::bake_key(&base);
        if image::baked(s.state(), &key).is_none() {
            let Some(id) = s
                .state()
                .image_builder
                .as_ref()
                .and_then(|b| b.instance_id.clone())
            else {
                return Ok(Some("no builder ran".into()));
            };
            let what = format!("{id} installing Docker and pulling the images");
            let ended = self.wait_for(s, &what, || self.builder_ended(&id)).await;
            match ended {
                Ok(BuilderEnd::PoweredOff) => self.capture(s, &id, &base, &key).await?,
                Ok(BuilderEnd::Failed(why)) => return self.give_up(s, &base, why).await,
                Err(CloudError::Timeout { secs, .. }) => {
                    let why = format!("the builder {id} had not finished after {secs:.0}s");
                    return self.give_up(s, &base, why).await;
                }
                Err(e) => return Err(e),
            }
        }
        let Some(made) = image::baked(s.state(), &key).cloned() else {
            return Ok(Some("the image was not made".into()));
        };
        if !made.ready {
            let what = format!(
                "{} pending: EBS snapshotting the builder's root",
                made.image_id
            );
            let settled = self
                .wait_for(s, &what, || self.image_settled(&made.image_id))
                .await?;
            match settled {
                Ok(available) => record_ready(s, &key, &available)?,
                Err(why) => {
                    self.deregister(s, &made).await?;
                    return self.give_up(s, &base, why).await;
                }
            }
        }
        self.stop_builder(s).await?;
        s.progress(Some(1.0), format!("baked from {base}"))?;
        Ok(None)
    }

    /// A builder that has powered off, captured now; nothing to wait for.
    pub(super) async fn capture_if_done(&self, s: &mut Session) -> CloudResult<()> {
        let base = s.state().ami_id.clone().unwrap_or_default();
        let key = user_data::bake_key(&base);
        let builder = s.state().image_builder.as_ref();
        let Some(id) = builder.and_then(|b| b.instance_id.clone()) else {
            return Ok(());
        };
        if image::baked(s.state(), &key).is_some() {
            return Ok(());
        }
        if let Some(BuilderEnd::PoweredOff) = self.builder_ended(&id).await? {
            self.capture(s, &id, &base, &key).await?;
        }
        Ok(())
    }

    /// The baked image recorded for `key` still there and available.
    async fn image_current(&self, s: &mut Session, key: &str) -> CloudResult<bool> {
        let Some(made) = image::baked(s.state(), key).cloned() else {
            return Ok(false);
        };
        match self.describe_image(&made.image_id).await? {
            Some(i) if i.state() == Some(&ImageState::Available) => {
                s.progress(Some(1.0), format!("{} is current", made.image_id))?;
                Ok(true)
            }
            Some(i) if i.state() == Some(&ImageState::Pending) => Ok(false),
            // Deregistered behind our back (or failed): bake again.
            _ => {
                s.record(|st| st.images.retain(|i| i.image_id != made.image_id))?;
                Ok(false)
            }
        }
    }

    /// An image of `key` a cut-short run made but never recorded.
    async fn adopt_image(&self, s: &mut Session, key: &str) -> CloudResult<bool> {
        let stack = s.state().stack_name.clone();
        let found = self.tagged_images(&stack).await?;
        let Some(made) = found
            .iter()
            .filter_map(|i| baked_of(i, s.now()))
            .find(|b| b.key == key)
        else {
            return Ok(false);
        };
        s.record(|st| st.images.push(made))?;
        Ok(true)
    }

    /// The builder of `key` running, or launched: with the token recorded
    /// first, so a retried or re-run launch gets the same instance back.
    async fn ensure_builder(
        &self,
        req: &DeployRequest,
        s: &mut Session,
        base: &str,
        key: &str,
    ) -> CloudResult<()> {
        let recorded = s.state().image_builder.clone().filter(|b| b.key == key);
        let reusable = match &recorded {
            Some(Builder {
                instance_id: Some(id),
                ..
            }) => self
                .describe_instance(id)
                .await?
                .as_ref()
                .is_some_and(alive),
            Some(_) => true,
            None => false,
        };
        let builder = match recorded.filter(|_| reusable) {
            Some(builder) => builder,
            None => {
                // Another base's builder, or one that is gone: a fresh start.
                self.stop_builder(s).await?;
                let builder = Builder {
                    token: builder_token(s.state().stack_name.as_str()),
                    key: key.to_string(),
                    base_ami: base.to_string(),
                    instance_id: None,
                    started_at: s.now(),
                };
                s.record(|st| st.image_builder = Some(builder.clone()))?;
                builder
            }
        };
        if builder.instance_id.is_some() {
            s.progress(None, "the image's builder is at work")?;
            return Ok(());
        }
        let id = self.launch_builder(req, s, &builder).await?;
        s.progress(None, format!("{id} baking the image from {base}"))?;
        s.record(|st| {
            if let Some(b) = st.image_builder.as_mut() {
                b.instance_id = Some(id);
            }
        })?;
        Ok(())
    }

    async fn launch_builder(
        &self,
        req: &DeployRequest,
        s: &mut Session,
        builder: &Builder,
    ) -> CloudResult<String> {
        let st = s.state();
        let stack = st.stack_name.clone();
        let script = user_data::render_bake(&stack, &builder.key);
        let encoded = user_data::encode(&script).map_err(|e| CloudError::Refused(e.to_string()))?;
        let (root_device, root_gb) = self.root_mapping(&builder.base_ami).await?;
        let arch = self.architecture(&req.instance_type).await?;
        let name = short_name(&stack, "image-builder", 255);
        let r = self
            .ec2
            .run_instances()
            .image_id(&builder.base_ami)
            .instance_type(builder_type(&arch).into())
            .min_count(1)
            .max_count(1)
            .client_token(&builder.token)
            .set_subnet_id(st.subnet_ids.first().cloned())
            .set_security_group_ids(st.security_group_id.clone().map(|g| vec![g]))
            .user_data(encoded)
            // Its script powers it off when done: stopped, not gone, so its
            // root volume can be captured.
            .instance_initiated_shutdown_behavior(ShutdownBehavior::Stop)
            .metadata_options(
                InstanceMetadataOptionsRequest::builder()
                    .http_tokens(HttpTokensState::Required)
                    .http_put_response_hop_limit(1)
                    .http_endpoint(InstanceMetadataEndpointState::Enabled)
                    .build(),
            )
            .block_device_mappings(
                BlockDeviceMapping::builder()
                    .device_name(root_device)
                    .ebs(
                        EbsBlockDevice::builder()
                            .volume_size(root_gb)
                            .volume_type(VolumeType::Gp3)
                            .encrypted(true)
                            .delete_on_termination(true)
                            .build(),
                    )
                    .build(),
            )
            .tag_specifications(ec2_spec_with(
                ResourceType::Instance,
                &stack,
                &name,
                &[(ROLE_TAG, BUILDER_ROLE)],
            ))
            .tag_specifications(ec2_spec_with(
                ResourceType::Volume,
                &stack,
                &name,
                &[(ROLE_TAG, BUILDER_ROLE)],
            ))
            .send()
            .await
            .map_err(|e| api_error("RunInstances", e))?;
        r.instances()
            .first()
            .and_then(|i| i.instance_id())
            .map(str::to_string)
            .ok_or_else(|| CloudError::api("RunInstances", "NoInstance", "it launched no instance"))
    }

    /// One look at the builder: powered off, failed (its console says so),
    /// gone, or still at work (`None`).
    async fn builder_ended(&self, id: &str) -> CloudResult<Option<BuilderEnd>> {
        let Some(instance) = self.describe_instance(id).await? else {
            return Ok(Some(BuilderEnd::Failed(format!(
                "the builder {id} is gone"
            ))));
        };
        match instance.state().and_then(|s| s.name()) {
            Some(InstanceStateName::Stopped) => Ok(Some(BuilderEnd::PoweredOff)),
            Some(InstanceStateName::Running) => {
                let console = self.console_lines(id, 50).await.unwrap_or_default();
                Ok(console
                    .iter()
                    .find_map(|l| l.split_once(FAILED_LINE).map(|(_, why)| why.to_string()))
                    .map(|why| BuilderEnd::Failed(format!("the bake failed: {why}"))))
            }
            Some(InstanceStateName::ShuttingDown | InstanceStateName::Terminated) => {
                let reason = instance
                    .state_reason()
                    .and_then(|r| r.message())
                    .unwrap_or("terminated");
                Ok(Some(BuilderEnd::Failed(format!(
                    "the builder {id} was terminated: {reason}"
                ))))
            }
            _ => Ok(None),
        }
    }

    /// CreateImage of the powered-off builder, recorded as pending; one a
    /// lost answer made already is found by its name.
    async fn capture(
        &self,
        s: &mut Session,
        builder: &str,
        base: &str,
        key: &str,
    ) -> CloudResult<()> {
        let stack = s.state().stack_name.clone();
        let name = image_name(&stack, key);
        let tags = |kind| ec2_spec_with(kind, &stack, &name, &[(KEY_TAG, key), (BASE_TAG, base)]);
        let made = self
            .ec2
            .create_image()
            .instance_id(builder)
            .name(&name)
            .description(format!(
                "GeuseMaker {stack}: {base} with Docker and the stack's images"
            ))
            .tag_specifications(tags(ResourceType::Image))
            .tag_specifications(tags(ResourceType::Snapshot))
            .send()
            .await
            .map_err(|e| api_error("CreateImage", e));
        let image_id = match made {
            Ok(r) => r.image_id().unwrap_or_default().to_string(),
            Err(e) if code_of(&e) == Some("InvalidAMIName.Duplicate") => {
                if self.adopt_image(s, key).await? {
                    return Ok(());
                }
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        let made = BakedImage {
            image_id,
            key: key.to_string(),
            base_ami: base.to_string(),
            snapshot_ids: Vec::new(),
            size_gb: 0,
            ready: false,
            created_at: s.now(),
        };
        s.record(|st| st.images.push(made))
            .map_err(CloudError::from)
    }

    /// Once the image leaves `pending`: available (`Ok`) or failed (`Err`,
    /// why).
    async fn image_settled(&self, id: &str) -> CloudResult<Option<Result<Image, String>>> {
        let Some(found) = self.describe_image(id).await? else {
            return Ok(Some(Err(format!("the image {id} is gone"))));
        };
        Ok(match found.state() {
            Some(ImageState::Available) => Some(Ok(found)),
            Some(ImageState::Pending) | None => None,
            Some(other) => {
                let why = found.state_reason().and_then(|r| r.message()).unwrap_or("");
                Some(Err(format!("the image {id} is {}: {why}", other.as_str())))
            }
        })
    }

    /// The builder terminated (waited for: it is in the stack's security
    /// group) and forgotten, or one a cut-short run left, found by its tags.
    pub(super) async fn stop_builder(&self, s: &mut Session) -> CloudResult<()> {
        let recorded = s
            .state()
            .image_builder
            .as_ref()
            .and_then(|b| b.instance_id.clone());
        let stack = s.state().stack_name.clone();
        let mut ids: Vec<String> = recorded.into_iter().collect();
        for found in self.tagged_builders(&stack).await? {
            if let Some(id) = found
                .instance_id()
                .filter(|id| !ids.iter().any(|i| i == id))
            {
                ids.push(id.to_string());
            }
        }
        for id in ids {
            self.terminate_by_id(s, &id).await?;
        }
        s.record(|st| st.image_builder = None)
            .map_err(CloudError::from)
    }

    /// Give the bake up: the builder goes, and the stage says why.
    async fn give_up(
        &self,
        s: &mut Session,
        base: &str,
        why: String,
    ) -> CloudResult<Option<String>> {
        tracing::warn!(%why, "the bake was given up on");
        self.stop_builder(s).await?;
        Ok(Some(format!(
            "{why}; the instance boots from {base}, and installs and pulls at each boot"
        )))
    }
}

fn record_ready(s: &mut Session, key: &str, available: &Image) -> CloudResult<()> {
    let snapshots = snapshot_ids(available);
    let size: i32 = available
        .block_device_mappings()
        .iter()
        .filter_map(|m| m.ebs()?.volume_size())
        .sum();
    s.record(|st| {
        if let Some(made) = st.images.iter_mut().find(|i| i.key == key) {
            made.ready = true;
            made.snapshot_ids = snapshots;
            made.size_gb = size.max(0) as u32;
        }
    })
    .map_err(CloudError::from)
}

/// Unique per account and region, and the same for the same bake, so a
/// CreateImage whose answer was lost is found, not made twice.
fn image_name(stack: &str, key: &str) -> String {
    short_name(stack, &format!("geusemaker-{key}"), 128)
}

/// An idempotency token (at most 64 ASCII characters), new for each launch.
fn builder_token(stack: &str) -> String {
    use rand::distr::{Alphanumeric, SampleString};
    let head: String = stack.chars().take(20).collect();
    format!(
        "{head}-bake-{}",
        Alphanumeric.sample_string(&mut rand::rng(), 32)
    )
}

/// A small on-demand type of the stack's architecture: the bake needs no
/// GPU, and a spot reclaim would waste it.
fn builder_type(arch: &str) -> &'static str {
    if arch == "arm64" {
        "t4g.large"
    } else {
        "t3.large"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_builder_token_is_new_each_time_and_fits_ec2s_limit() {
        let long = "s".repeat(100);
        let (a, b) = (builder_token(&long), builder_token(&long));
        assert_ne!(a, b);
        assert!(a.len() <= 64 && a.is_ascii(), "{a}");
    }

    #[test]
    fn image_names_are_valid_and_stable() {
        let name = image_name(&"s".repeat(100), "0123456789abcdef");
        assert!(name.len() <= 128 && name.len() >= 3, "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./()[] '@".contains(c))
        );
        assert_eq!(name, image_name(&"s".repeat(100), "0123456789abcdef"));
    }
}
