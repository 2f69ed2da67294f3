//! The image builder's user data (`assets/bake.sh`): what a baked image
//! holds (Docker, compose, efs-utils, the pinned images), and the key that
//! says when to bake again.

use super::{COMPOSE, COMPOSE_VERSION, INSTALL_PACKAGES, NETWORK_STEPS, unfilled};

const BAKE: &str = include_str!("../../../assets/bake.sh");
/// Bumped when what a baked image holds changes beyond the script itself.
const BAKE_FORMAT: &str = "bake-1";

/// The compose file's pinned images, in its order.
pub fn pinned_images() -> Vec<&'static str> {
    COMPOSE
        .lines()
        .filter_map(|l| l.trim().strip_prefix("image:"))
        .map(str::trim)
        .collect()
}

/// What a baked image is a function of: its base image, the images it
/// pulls, the compose plugin and the scripts. A change of any bakes again.
pub fn bake_key(base_ami: &str) -> String {
    let text = format!(
        "{BAKE_FORMAT}\n{base_ami}\n{}\n{COMPOSE_VERSION}\n{BAKE}\n{INSTALL_PACKAGES}\n{NETWORK_STEPS}",
        pinned_images().join(" ")
    );
    crate::domain::hash::fingerprint(&text)
}

/// The stack's image baked from `base`, once EC2 has made it: what its
/// next instance launches.
pub fn ready_image<'a>(
    state: &'a crate::domain::DeploymentState,
    base: &str,
) -> Option<&'a crate::domain::image::BakedImage> {
    crate::domain::image::baked(state, &bake_key(base)).filter(|i| i.ready)
}

/// The builder's script for `stack`'s image `key`. It names no EFS and no
/// secret: the builder has neither.
pub fn render_bake(stack: &str, key: &str) -> String {
    let script = BAKE
        .replace("{{INSTALL_PACKAGES}}\n", INSTALL_PACKAGES)
        .replace("{{NETWORK_STEPS}}\n", NETWORK_STEPS)
        .replace("{{STACK}}", stack)
        .replace("{{IMAGES}}", &pinned_images().join(" "))
        .replace("{{BAKE_KEY}}", key)
        .replace("{{COMPOSE_VERSION}}", COMPOSE_VERSION);
    debug_assert!(
        unfilled(&script).is_none(),
        "bake.sh has a placeholder left"
    );
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_pulls_every_pinned_image_and_knows_no_secret() {
        let images = pinned_images();
        assert_eq!(images.len(), 5, "{images:?}");
        assert!(images.iter().all(|i| i.contains(':')), "{images:?}");
        let script = render_bake("demo", "0123abcd");
        for image in &images {
            assert!(script.contains(image), "{image} is not pulled");
        }
        assert!(unfilled(&script).is_none());
        for never in ["ssm get-parameter", "mount -t efs", "/mnt/efs", "SECRETS"] {
            assert!(!script.contains(never), "the builder mentions {never}");
        }
    }

    #[test]
    fn a_new_base_image_bakes_again_and_the_same_one_does_not() {
        assert_eq!(bake_key("ami-1"), bake_key("ami-1"));
        assert_ne!(bake_key("ami-1"), bake_key("ami-2"));
        assert_eq!(bake_key("ami-1").len(), 16);
    }
}
