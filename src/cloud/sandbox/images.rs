//! The Image stage on the sandbox, as on AWS: a builder instance bakes for
//! a while and powers off, CreateImage leaves the image pending while its
//! snapshot is made, and the builder is terminated. Destroy deregisters the
//! image and deletes its snapshot. A `bake-fails` fault makes the next
//! builder's script fail: the instance then boots from the base image.

use serde::{Deserialize, Serialize};

use super::provider::stack_of;
use super::{SandboxCloud, new_id, timing};
use crate::cloud::{CloudResult, Session};
use crate::domain::Timestamp;
use crate::domain::image::{self, BakedImage, Builder};
use crate::instance::user_data::bake_key;

/// The sandbox's base image: Amazon Linux 2023, as the resolution finds it.
pub const BASE_AMI: &str = "ami-0sandbox2023al";
/// A root volume's size, and so its image's snapshot's.
const ROOT_GB: u32 = 30;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorldBuilder {
    pub id: String,
    pub key: String,
    /// When its script powers it off (done) or fails.
    pub done_at: Timestamp,
    #[serde(default)]
    pub fails: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorldImage {
    pub id: String,
    pub key: String,
    pub snapshot_id: String,
    pub available_at: Timestamp,
}

/// Where a bake stands in the world.
enum Seen {
    Image(WorldImage),
    Builder(WorldBuilder),
    Nothing,
}

impl SandboxCloud {
    pub(super) async fn start_bake(&self, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        s.record(|st| st.ami_id = Some(BASE_AMI.into()))?;
        let key = bake_key(BASE_AMI);
        if image::baked(s.state(), &key).is_some_and(|i| i.ready) {
            s.progress(Some(1.0), "the baked image is current")?;
            return Ok(());
        }
        let wanted = key.clone();
        let speed = self.speed;
        let builder = self
            .call(
                &stack,
                "RunInstances",
                timing::lat().run_instance(),
                move |w, now| {
                    if let Some(b) = w.builder.clone().filter(|b| b.key == wanted) {
                        return b;
                    }
                    let fails = std::mem::take(&mut w.next_bake_fails);
                    let b = WorldBuilder {
                        id: new_id("i"),
                        key: wanted,
                        done_at: now.plus_secs(timing::lat().builder_bakes / speed),
                        fails,
                    };
                    w.builder = Some(b.clone());
                    b
                },
            )
            .await?;
        let now = s.now();
        s.record(|st| {
            st.image_builder = Some(Builder {
                token: String::new(),
                key,
                base_ami: BASE_AMI.into(),
                instance_id: Some(builder.id.clone()),
                started_at: now,
            });
        })?;
        s.progress(
            None,
            format!("{} baking the image from {BASE_AMI}", builder.id),
        )?;
        Ok(())
    }

    pub(super) async fn finish_bake(&self, s: &mut Session) -> CloudResult<Option<String>> {
        let stack = stack_of(s);
        let key = bake_key(BASE_AMI);
        loop {
            if image::baked(s.state(), &key).is_some_and(|i| i.ready) {
                return Ok(None);
            }
            match self.seen(&stack, &key)? {
                Seen::Image(made) => {
                    let what = format!("{} pending: snapshotting the builder's root", made.id);
                    self.wait_until(s, self.now(), made.available_at, &what)
                        .await?;
                    self.record_image(s, &made)?;
                    self.drop_builder(s).await?;
                    s.progress(Some(1.0), format!("baked from {BASE_AMI}"))?;
                }
                Seen::Builder(b) => {
                    let what = format!("{} installing Docker and pulling the images", b.id);
                    self.wait_until(s, self.now(), b.done_at, &what).await?;
                    if b.fails {
                        self.drop_builder(s).await?;
                        return Ok(Some(format!(
                            "the bake failed: images: Docker Hub rate limit reached pulling \
                             n8nio/n8n; the instance boots from {BASE_AMI}, and installs and pulls at each boot"
                        )));
                    }
                    self.capture(&stack, &key).await?;
                }
                Seen::Nothing => return Ok(Some("no builder ran".into())),
            }
        }
    }

    /// A builder that has finished, captured now; nothing to wait for.
    pub(super) async fn capture_if_done(&self, s: &mut Session) -> CloudResult<()> {
        let (stack, key) = (stack_of(s), bake_key(BASE_AMI));
        match self.seen(&stack, &key)? {
            Seen::Builder(b) if !b.fails && b.done_at <= self.now() => {
                self.capture(&stack, &key).await
            }
            _ => Ok(()),
        }
    }

    fn seen(&self, stack: &str, key: &str) -> CloudResult<Seen> {
        let w = self.world(stack)?;
        if let Some(made) = w.images.iter().find(|i| i.key == key) {
            return Ok(Seen::Image(made.clone()));
        }
        Ok(match w.builder.filter(|b| b.key == key) {
            Some(b) => Seen::Builder(b),
            None => Seen::Nothing,
        })
    }

    async fn capture(&self, stack: &str, key: &str) -> CloudResult<()> {
        let key = key.to_string();
        let speed = self.speed;
        self.call(
            stack,
            "CreateImage",
            timing::lat().delete_simple,
            move |w, now| {
                if !w.images.iter().any(|i| i.key == key) {
                    w.images.push(WorldImage {
                        id: new_id("ami"),
                        key,
                        snapshot_id: new_id("snap"),
                        available_at: now.plus_secs(timing::lat().image_becomes_available / speed),
                    });
                }
            },
        )
        .await
    }

    fn record_image(&self, s: &mut Session, made: &WorldImage) -> CloudResult<()> {
        let now = s.now();
        let baked = BakedImage {
            image_id: made.id.clone(),
            key: made.key.clone(),
            base_ami: BASE_AMI.into(),
            snapshot_ids: vec![made.snapshot_id.clone()],
            size_gb: ROOT_GB,
            ready: true,
            created_at: now,
        };
        s.record(|st| {
            st.images.retain(|i| i.image_id != baked.image_id);
            st.images.push(baked);
        })?;
        Ok(())
    }

    async fn drop_builder(&self, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        self.call(
            &stack,
            "TerminateInstances",
            timing::lat().delete_simple,
            |w, _| {
                w.builder = None;
            },
        )
        .await?;
        s.record(|st| st.image_builder = None)?;
        Ok(())
    }

    /// Deregister the images (`all`, or those no rollback uses), their
    /// snapshots deleted with them, and stop a builder.
    pub(super) async fn remove_images(&self, s: &mut Session, all: bool) -> CloudResult<()> {
        let stack = stack_of(s);
        if all && s.state().image_builder.is_some() {
            self.drop_builder(s).await?;
        }
        let going: Vec<String> = if all {
            s.state()
                .images
                .iter()
                .map(|i| i.image_id.clone())
                .collect()
        } else {
            image::unused(s.state())
                .into_iter()
                .map(|i| i.image_id)
                .collect()
        };
        for id in going {
            let gone = id.clone();
            self.call(
                &stack,
                "DeregisterImage",
                timing::lat().delete_simple,
                move |w, _| {
                    w.images.retain(|i| i.id != gone);
                },
            )
            .await?;
            s.record(|st| st.images.retain(|i| i.image_id != id))?;
        }
        Ok(())
    }
}
