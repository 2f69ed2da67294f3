//! The instance stage and the group through the `Cloud` trait, on the
//! system clock at a high speed: what a deploy records, what happens to a
//! stack with no monitor, and the group's removal.

use std::sync::Arc;
use std::time::Duration;

use crate::cloud::sandbox::{Fault, SandboxCloud, timing};
use crate::cloud::session::MemorySink;
use crate::cloud::{Cloud, DeployOptions, DeployRequest, Session};
use crate::domain::recovery::recoveries;
use crate::domain::time::{Clock, SystemClock};
use crate::domain::{DeploymentState, Provider, StackName, Tier};

const SPEED: f64 = 1000.0;

fn request() -> DeployRequest {
    DeployRequest {
        stack: StackName::parse("demo").unwrap(),
        tier: Tier::Dev,
        region: "us-east-1".into(),
        instance_type: "t3.medium".into(),
        spot: true,
        options: DeployOptions::default(),
    }
}

fn sandbox() -> (tempfile::TempDir, SandboxCloud, Session) {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let cloud = SandboxCloud::new(dir.path(), clock.clone(), SPEED);
    let state = DeploymentState::new(
        "demo",
        Tier::Dev,
        "us-east-1",
        Provider::Sandbox,
        clock.now(),
    );
    let s = Session::new(state, Box::new(MemorySink::default()), clock, None);
    (dir, cloud, s)
}

fn is_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .is_some_and(|hex| hex.len() == 17 && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

#[tokio::test]
async fn a_dev_deploy_records_its_group_and_a_rerun_makes_nothing_new() {
    let (_dir, cloud, mut s) = sandbox();
    let req = request();
    cloud.ensure_network(&req, &mut s).await.unwrap();
    cloud.ensure_instance(&req, &mut s).await.unwrap();
    let first = s.state().clone();
    assert_eq!(
        first.autoscaling_group_name.as_deref(),
        Some("demo-geusemaker")
    );
    assert!(
        is_id(first.launch_template_id.as_deref().unwrap(), "lt-"),
        "{first:?}"
    );
    assert_eq!(first.launch_template_version, Some(1));
    assert!(is_id(
        first.elastic_ip_allocation_id.as_deref().unwrap(),
        "eipalloc-"
    ));
    assert!(is_id(first.instance_id.as_deref().unwrap(), "i-"));
    let eip = cloud.world("demo").unwrap().address.unwrap().public_ip;
    assert_eq!(first.public_ip.as_deref(), Some(eip.as_str()));
    assert_eq!(first.n8n_url, Some(format!("http://{eip}:5678")));

    cloud.ensure_instance(&req, &mut s).await.unwrap();
    let again = s.state();
    assert_eq!(again.instance_id, first.instance_id);
    assert_eq!(again.launch_template_id, first.launch_template_id);
    assert_eq!(again.launch_template_version, Some(1));
    let view = cloud.group_view(again).await.unwrap().unwrap();
    assert_eq!((view.instances.len(), view.activities.len()), (1, 1));
}

#[tokio::test]
async fn a_spot_interruption_is_replaced_with_no_monitor_running() {
    let (_dir, cloud, mut s) = sandbox();
    let req = request();
    cloud.ensure_network(&req, &mut s).await.unwrap();
    cloud.ensure_instance(&req, &mut s).await.unwrap();
    let old = s.state().instance_id.clone().unwrap();
    let said = cloud.inject("demo", Fault::SpotInterruption).unwrap();
    assert!(said.contains(&old), "{said}");
    let whole = timing::lat().spot_notice
        + timing::lat().group_notices_loss
        + timing::lat().group_launches_replacement
        + timing::lat().instance_pending
        + timing::hook_completed_after(false);
    tokio::time::sleep(Duration::from_secs_f64(whole / SPEED + 0.2)).await;
    let view = cloud.group_view(s.state()).await.unwrap().unwrap();
    let serving = view.serving().expect("replaced and in service");
    assert_ne!(serving.instance_id, old);
    assert_eq!(
        serving.public_ip,
        s.state().public_ip,
        "the same Elastic IP"
    );
    let found = recoveries(&view.activities);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].lost_instance, old);
    assert_eq!(
        found[0].replaced_by.as_deref(),
        Some(serving.instance_id.as_str())
    );
    assert!(found[0].finished());
}

#[tokio::test]
async fn terminate_keeps_the_group_at_zero_and_deleting_it_empties_the_world() {
    let (dir, cloud, mut s) = sandbox();
    let req = request();
    cloud.ensure_instance(&req, &mut s).await.unwrap();
    cloud.terminate_instance(&mut s).await.unwrap();
    let view = cloud.group_view(s.state()).await.unwrap().unwrap();
    assert_eq!(view.desired, 0);
    assert!(view.instances.is_empty(), "{view:?}");
    assert!(
        recoveries(&view.activities).is_empty(),
        "a scale-in is no loss"
    );

    cloud.delete_instance_group(&mut s).await.unwrap();
    let st = s.state();
    assert!(st.autoscaling_group_name.is_none() && st.launch_template_id.is_none());
    assert!(st.elastic_ip_allocation_id.is_none() && st.launch_template_version.is_none());
    assert!(cloud.group_view(st).await.unwrap().is_none());
    assert!(
        !dir.path().join("sandbox/demo.json").exists(),
        "an empty world is removed"
    );
}
