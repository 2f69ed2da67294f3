//! The stack's images and builders as EC2 lists them, and their removal:
//! the images no rollback uses after a deploy, every one at destroy, with
//! the snapshots a deregistration leaves.

use aws_sdk_ec2::types::{Image, ImageState, Instance, InstanceStateName};

use super::AwsCloud;
use super::ec2_images::{BASE_TAG, BUILDER_ROLE, KEY_TAG, ROLE_TAG};
use super::errors::{api_error, code_of};
use super::tags::{filter, ours};
use crate::cloud::{CloudError, CloudResult, Session};
use crate::domain::image::{self, BakedImage, Builder};

impl AwsCloud {
    /// Deregister the stack's images (`all`, or those no rollback uses)
    /// and delete their snapshots, which a deregistration leaves, billed.
    pub(super) async fn remove_images(&self, s: &mut Session, all: bool) -> CloudResult<()> {
        if all {
            self.stop_builder(s).await?;
        }
        let going = if all {
            s.state().images.clone()
        } else {
            image::unused(s.state())
        };
        for made in going {
            self.deregister(s, &made).await?;
        }
        Ok(())
    }

    pub(super) async fn deregister(&self, s: &mut Session, made: &BakedImage) -> CloudResult<()> {
        // The snapshots to delete: recorded, or read off the image.
        let mut snapshots = made.snapshot_ids.clone();
        if let Some(found) = self.describe_image(&made.image_id).await? {
            for id in snapshot_ids(&found) {
                if !snapshots.contains(&id) {
                    snapshots.push(id);
                }
            }
            let r = self
                .ec2
                .deregister_image()
                .image_id(&made.image_id)
                .send()
                .await;
            if let Err(e) = r.map_err(|e| api_error("DeregisterImage", e))
                && !matches!(
                    code_of(&e),
                    Some("InvalidAMIID.NotFound" | "InvalidAMIID.Unavailable")
                )
            {
                return Err(e);
            }
        }
        for snapshot in &snapshots {
            let r = self
                .ec2
                .delete_snapshot()
                .snapshot_id(snapshot)
                .send()
                .await;
            if let Err(e) = r.map_err(|e| api_error("DeleteSnapshot", e))
                && code_of(&e) != Some("InvalidSnapshot.NotFound")
            {
                return Err(e);
            }
        }
        s.record(|st| st.images.retain(|i| i.image_id != made.image_id))
            .map_err(CloudError::from)
    }

    /// Before a destroy: images and a builder a cut-short run never
    /// recorded, recorded now. Returns what it found.
    pub(super) async fn find_unrecorded_images(&self, s: &mut Session) -> CloudResult<Vec<String>> {
        let stack = s.state().stack_name.clone();
        let mut found = Vec::new();
        for image in self.tagged_images(&stack).await? {
            if let Some(made) = baked_of(&image, s.now())
                && !s.state().images.iter().any(|i| i.image_id == made.image_id)
            {
                found.push(format!("image {}", made.image_id));
                s.record(|st| st.images.push(made))?;
            }
        }
        // stop_builder finds every tagged builder; one recorded is enough.
        if s.state().image_builder.is_none()
            && let Some(builder) = self.tagged_builders(&stack).await?.first()
        {
            let id = builder.instance_id().unwrap_or_default().to_string();
            found.push(format!("image builder {id}"));
            let unknown = Builder {
                token: String::new(),
                key: String::new(),
                base_ami: builder.image_id().unwrap_or_default().to_string(),
                instance_id: Some(id),
                started_at: s.now(),
            };
            s.record(|st| st.image_builder = Some(unknown))?;
        }
        Ok(found)
    }

    pub(super) async fn describe_image(&self, id: &str) -> CloudResult<Option<Image>> {
        let r = self.ec2.describe_images().image_ids(id).send().await;
        match r.map_err(|e| api_error("DescribeImages", e)) {
            Ok(r) => Ok(r.images().first().cloned()),
            Err(e) if code_of(&e) == Some("InvalidAMIID.NotFound") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The account's images tagged with the stack, pending or available.
    pub(super) async fn tagged_images(&self, stack: &str) -> CloudResult<Vec<Image>> {
        let r = self
            .ec2
            .describe_images()
            .owners("self")
            .set_filters(Some(ours(stack)))
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("state")
                    .values("pending")
                    .values("available")
                    .build(),
            )
            .send()
            .await
            .map_err(|e| api_error("DescribeImages", e))?;
        Ok(r.images().to_vec())
    }

    /// The stack's builders that are not terminated.
    pub(super) async fn tagged_builders(&self, stack: &str) -> CloudResult<Vec<Instance>> {
        let r = self
            .ec2
            .describe_instances()
            .set_filters(Some(ours(stack)))
            .filters(filter(&format!("tag:{ROLE_TAG}"), BUILDER_ROLE))
            .send()
            .await
            .map_err(|e| api_error("DescribeInstances", e))?;
        Ok(r.reservations()
            .iter()
            .flat_map(|x| x.instances())
            .filter(|i| alive(i))
            .cloned()
            .collect())
    }
}

/// Not terminated, nor on its way there.
pub(super) fn alive(i: &Instance) -> bool {
    !matches!(
        i.state().and_then(|s| s.name()),
        None | Some(InstanceStateName::ShuttingDown | InstanceStateName::Terminated)
    )
}

pub(super) fn snapshot_ids(image: &Image) -> Vec<String> {
    image
        .block_device_mappings()
        .iter()
        .filter_map(|m| m.ebs()?.snapshot_id().map(str::to_string))
        .collect()
}

/// An image found by its tags, as the state records it.
pub(super) fn baked_of(image: &Image, now: crate::domain::Timestamp) -> Option<BakedImage> {
    let tag = |key: &str| {
        image
            .tags()
            .iter()
            .find(|t| t.key() == Some(key))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    let ready = image.state() == Some(&ImageState::Available);
    Some(BakedImage {
        image_id: image.image_id()?.to_string(),
        key: tag(KEY_TAG)?,
        base_ami: tag(BASE_TAG)?,
        snapshot_ids: snapshot_ids(image),
        size_gb: image
            .block_device_mappings()
            .iter()
            .filter_map(|m| m.ebs()?.volume_size())
            .sum::<i32>()
            .max(0) as u32,
        ready,
        created_at: now,
    })
}
