//! The baked image, against the strict emulator: a builder with no role and
//! no EFS bakes it, the group launches from it, a re-run bakes nothing, a
//! new base bakes again and deletes the image no rollback uses, a failed
//! bake leaves the deploy on the base image, and destroy leaves no image,
//! snapshot or builder.

use aws_sdk_ec2::types::{Filter, Image, Instance};

use geusemaker::domain::stage::StageStatus;
use geusemaker::domain::{DeploymentState, Stage};

use super::Harness;

fn by(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

async fn images(h: &Harness, stack: &str) -> Vec<Image> {
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    let found = ec2
        .describe_images()
        .owners("self")
        .filters(by("tag:Stack", stack))
        .send()
        .await
        .expect("describe images");
    found.images().to_vec()
}

/// The account's own snapshots (moto's public images' are not).
async fn snapshots(h: &Harness) -> Vec<String> {
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    let found = ec2
        .describe_snapshots()
        .owner_ids("self")
        .send()
        .await
        .expect("describe snapshots");
    found
        .snapshots()
        .iter()
        .filter_map(|s| s.snapshot_id().map(str::to_string))
        .collect()
}

async fn builders(h: &Harness, stack: &str) -> Vec<Instance> {
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    let found = ec2
        .describe_instances()
        .filters(by("tag:Stack", stack))
        .filters(by("tag:geusemaker:role", "image-builder"))
        .send()
        .await
        .expect("describe instances");
    found
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .cloned()
        .collect()
}

fn state_name(i: &Instance) -> &str {
    i.state().and_then(|s| s.name()).map_or("?", |n| n.as_str())
}

/// The image the group's launch template version launches.
async fn launched_image(h: &Harness, state: &DeploymentState) -> String {
    let template = state.launch_template_id.as_deref().expect("template");
    let version = state.launch_template_version.expect("version");
    let data = h.template_data(template, version).await;
    data.image_id().unwrap_or_default().to_string()
}

fn image_stage(state: &DeploymentState) -> (StageStatus, String) {
    let op = state.operation.as_ref().expect("an operation");
    let image = op.stages.iter().find(|r| r.stage == Stage::Image);
    let image = image.expect("an Image stage");
    (image.status, image.detail.clone().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_bakes_an_image_its_group_launches_and_destroy_leaves_none() {
    let h = Harness::start().await;
    let state = h.deploy("b1").await;
    assert_eq!(
        image_stage(&state).0,
        StageStatus::Done,
        "{:?}",
        image_stage(&state)
    );
    let [baked] = state.images.as_slice() else {
        panic!("one image recorded: {:?}", state.images);
    };
    assert!(baked.ready && !baked.snapshot_ids.is_empty(), "{baked:?}");
    assert_eq!(state.ami_id.as_deref(), Some(baked.base_ami.as_str()));
    assert_eq!(launched_image(&h, &state).await, baked.image_id);
    assert!(state.image_builder.is_none(), "the builder is forgotten");

    // No wait for the bake: the instance booted from the base meanwhile,
    // and the group took the image without replacing it.
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    let serving = state.instance_id.clone().expect("an instance");
    let running = ec2
        .describe_instances()
        .instance_ids(&serving)
        .send()
        .await
        .expect("describe");
    let running = &running.reservations()[0].instances()[0];
    assert_eq!(running.image_id(), Some(baked.base_ami.as_str()));
    assert_eq!(state.launch_template_version, Some(2), "v1 base, v2 baked");
    assert!(state.switches.is_empty(), "{:?}", state.switches);
    let op = state.operation.as_ref().expect("an operation");
    let ended = |stage: Stage| {
        op.stages
            .iter()
            .find(|r| r.stage == stage)
            .and_then(|r| r.finished_at)
    };
    assert!(
        ended(Stage::Image) >= ended(Stage::Health),
        "the bake went on beside the boot"
    );

    // The builder: no role (so no secret), told to stop at its own
    // shutdown, never given the EFS; terminated once captured.
    let [builder] = builders(&h, "b1").await.try_into().expect("one builder");
    assert_eq!(state_name(&builder), "terminated");
    assert!(
        builder.iam_instance_profile().is_none(),
        "the builder has a role"
    );
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    let id = builder.instance_id().unwrap_or_default();
    let user_data = ec2
        .describe_instance_attribute()
        .instance_id(id)
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
        .send()
        .await
        .expect("user data");
    let text = user_data
        .user_data()
        .and_then(|v| v.value())
        .unwrap_or_default();
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64 user data");
    let script = String::from_utf8_lossy(&raw).into_owned();
    let efs = state.efs_id.clone().expect("efs");
    assert!(
        script.contains("GeuseMaker image builder") && script.contains("systemctl poweroff"),
        "not the bake script: {script:.200}"
    );
    assert!(
        !script.contains(&efs) && !script.contains("/geusemaker/b1/"),
        "{script}"
    );

    // The image and its snapshots carry the stack's tags.
    let found = images(&h, "b1").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].image_id(), Some(baked.image_id.as_str()));
    let own = snapshots(&h).await;
    assert!(
        baked.snapshot_ids.iter().all(|s| own.contains(s)),
        "{own:?}"
    );

    // A re-run bakes nothing, makes no new version and replaces nothing.
    let again = h.deploy("b1").await;
    assert_eq!(again.images, state.images);
    assert_eq!(again.launch_template_version, state.launch_template_version);
    assert_eq!(again.instance_id, state.instance_id);
    assert!(again.switches.is_empty(), "{:?}", again.switches);
    assert_eq!(builders(&h, "b1").await.len(), 1, "no second builder");

    h.destroy("b1", false).await;
    assert!(
        images(&h, "b1").await.is_empty(),
        "the image is deregistered"
    );
    let left = snapshots(&h).await;
    assert!(
        baked.snapshot_ids.iter().all(|s| !left.contains(s)),
        "its snapshots are deleted: {left:?}"
    );
    let name = geusemaker::domain::StackName::parse("b1").expect("name");
    let store_state = h.store.load(&name).expect("load");
    assert!(store_state.is_none_or(|s| s.images.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_base_image_bakes_again_and_the_old_image_goes_with_its_snapshots() {
    let h = Harness::start().await;
    let first = h.deploy("b2").await;
    let old = first.images[0].clone();
    // Another Amazon Linux image as the base: the key changes.
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    let other = ec2
        .describe_images()
        .owners("amazon")
        .filters(by("architecture", "x86_64"))
        .filters(by("root-device-type", "ebs"))
        .send()
        .await
        .expect("images");
    let base = other
        .images()
        .iter()
        .filter_map(|i| i.image_id())
        .find(|id| Some(*id) != first.ami_id.as_deref())
        .expect("another image")
        .to_string();
    let mut request = Harness::request("b2");
    request.options.ami_id = Some(base.clone());
    let second = h.deploy_request(&request, None).await.expect("redeploy");
    let [new] = second.images.as_slice() else {
        panic!("only the new image is kept: {:?}", second.images);
    };
    assert_eq!(new.base_ami, base);
    assert_ne!(new.image_id, old.image_id);
    assert_eq!(launched_image(&h, &second).await, new.image_id);
    let ids: Vec<String> = images(&h, "b2")
        .await
        .iter()
        .filter_map(|i| i.image_id().map(str::to_string))
        .collect();
    assert_eq!(
        ids,
        std::slice::from_ref(&new.image_id),
        "the old image is deregistered"
    );
    let own = snapshots(&h).await;
    assert!(old.snapshot_ids.iter().all(|s| !own.contains(s)), "{own:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_bake_leaves_the_deploy_on_the_base_image() {
    let h = Harness::start().await;
    h.moto
        .set_instance(serde_json::json!({"instance": "*", "bake": "fail"}));
    let state = h.deploy("b3").await;
    let (status, detail) = image_stage(&state);
    assert_eq!(status, StageStatus::Skipped, "{detail}");
    assert!(detail.contains("rate limit"), "{detail}");
    assert!(state.images.is_empty());
    assert_eq!(
        launched_image(&h, &state).await,
        state.ami_id.clone().unwrap_or_default()
    );
    let all = builders(&h, "b3").await;
    assert!(all.iter().all(|b| state_name(b) == "terminated"), "{all:?}");
    assert!(images(&h, "b3").await.is_empty());
}
