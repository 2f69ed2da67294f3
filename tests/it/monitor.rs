//! The monitor on the sandbox: a killed service or a spot interruption is
//! seen and rolled back onto the same EFS; loops and double rollbacks are not.

use std::sync::Arc;
use std::time::Duration;

use geusemaker::cloud::Cloud;
use geusemaker::cloud::sandbox::{Fault, SandboxCloud};
use geusemaker::cloud::session::StoreSink;
use geusemaker::cloud::{DeployOptions, DeployRequest};
use geusemaker::deploy::{Context, Timing};
use geusemaker::domain::state::RollbackTrigger;
use geusemaker::domain::time::SystemClock;
use geusemaker::domain::{DeploymentState, Provider, Service, StackName, StackStatus, Tier};
use geusemaker::health::policy::Policy;
use geusemaker::monitor::watch::{SweepReport, Watch};
use geusemaker::store::Store;

const SPEED: f64 = 25.0;

pub(crate) struct Sandbox {
    _dir: tempfile::TempDir,
    pub(crate) store: Store,
    pub(crate) cloud: Arc<SandboxCloud>,
    ctx: Context,
}

impl Sandbox {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let clock = Arc::new(SystemClock);
        let cloud = Arc::new(SandboxCloud::new(store.root(), clock.clone(), SPEED));
        let dyn_cloud: Arc<dyn Cloud> = cloud.clone();
        let ctx = Context {
            cloud: dyn_cloud,
            store: store.clone(),
            clock,
            timing: Timing::for_provider(Provider::Sandbox, SPEED, 15),
            auto_rollback: true,
        };
        Self {
            _dir: dir,
            store,
            cloud,
            ctx,
        }
    }

    async fn deploy(&self, stack: &str) -> DeploymentState {
        self.deploy_with(stack, DeployOptions::default()).await
    }

    pub(crate) async fn deploy_with(&self, stack: &str, options: DeployOptions) -> DeploymentState {
        let req = DeployRequest {
            stack: StackName::parse(stack).unwrap(),
            tier: Tier::Dev,
            region: "us-east-1".into(),
            instance_type: "t3.medium".into(),
            spot: true,
            options,
        };
        let (sink, _rx) = StoreSink::new(self.store.clone());
        geusemaker::deploy::deploy(&self.ctx, &req, Box::new(sink))
            .await
            .unwrap()
    }

    pub(crate) fn watch(&self, stack: &str, policy: Policy) -> Watch {
        Watch::new(self.ctx.clone(), StackName::parse(stack).unwrap(), policy)
    }

    pub(crate) fn state(&self, stack: &str) -> DeploymentState {
        self.store
            .load(&StackName::parse(stack).unwrap())
            .unwrap()
            .unwrap()
    }
}

/// Sweep until one acts (bounded): the fakes notice a fault within ~0.2 s.
pub(crate) async fn sweep_until_action(watch: &Watch) -> SweepReport {
    for _ in 0..200 {
        let report = watch.sweep().await.unwrap();
        if report.action.is_some() {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the monitor never acted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_n8n_is_rolled_back_onto_the_same_efs() {
    let sb = Sandbox::new();
    let before = sb.deploy("mon").await;
    let watch = sb.watch("mon", Policy::default());
    let first = watch.sweep().await.unwrap();
    assert_eq!(first.verdict, "healthy");

    sb.cloud
        .inject("mon", Fault::KillService(Service::N8n))
        .unwrap();
    let report = sweep_until_action(&watch).await;
    assert_eq!(report.verdict, "rollback");
    assert!(
        report.action.as_deref().unwrap().contains("now on i-"),
        "{report:?}"
    );

    let after = sb.state("mon");
    assert_eq!(after.status, StackStatus::Running);
    assert_ne!(after.instance_id, before.instance_id, "a new instance");
    assert_eq!(after.efs_id, before.efs_id, "on the same EFS");
    let record = after.rollback_history.last().unwrap();
    assert_eq!(record.trigger, RollbackTrigger::HealthCheckFailed);
    assert!(record.success && record.efs_preserved && record.finished_at.is_some());
    assert_eq!(
        record.resources_deleted,
        vec![before.instance_id.clone().unwrap()]
    );
    assert!(!after.health_history.is_empty(), "sweeps are recorded");
    assert_eq!(
        watch.sweep().await.unwrap().verdict,
        "healthy",
        "healthy again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spot_interruption_is_healed_by_the_group_and_the_monitor_only_records_it() {
    let sb = Sandbox::new();
    let before = sb.deploy("spot").await;
    let watch = sb.watch("spot", Policy::default());
    sb.cloud.inject("spot", Fault::SpotInterruption).unwrap();
    let mut healed = None;
    for _ in 0..500 {
        let report = watch.sweep().await.unwrap();
        assert!(report.action.is_none(), "the group heals, not the monitor");
        let state = sb.state("spot");
        if state.instance_id != before.instance_id
            && state.recoveries.last().is_some_and(|r| r.finished())
        {
            healed = Some(state);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = healed.expect("the group replaced the instance and it went in service");
    assert_eq!(after.status, StackStatus::Running);
    assert_eq!(after.efs_id, before.efs_id);
    assert!(
        after.rollback_history.is_empty(),
        "{:?}",
        after.rollback_history
    );
    let recovery = after.recoveries.last().unwrap();
    assert_eq!(recovery.lost_instance, before.instance_id.clone().unwrap());
    assert_eq!(recovery.replaced_by, after.instance_id);
    assert!(recovery.signal.contains("spot"), "{recovery:?}");
    // The drain and the lease, from the markers left on EFS.
    let drain = &recovery.drain;
    let (notice, stopped, drained) = (
        drain.notice_at.expect("notice"),
        drain.stopped_at.expect("n8n stopped"),
        drain.drained_at.expect("drained"),
    );
    assert!(notice < stopped && stopped < drained, "{drain:?}");
    assert!(
        drained <= recovery.signal_at,
        "drained before the group noticed"
    );
    let lease = drain.lease_at.expect("the replacement's lease");
    let in_service = recovery.in_service_at.unwrap();
    assert!(recovery.launched_at.unwrap() < lease && lease <= in_service);
    assert_eq!(recovery.down_secs, Some(stopped.secs_until(in_service)));
    assert!(
        recovery.timeline().contains("drained in"),
        "{}",
        recovery.timeline()
    );
}

/// Sweep until `done` holds for the stack's state (bounded), returning the
/// reports' actions and notes seen on the way.
async fn sweep_until(
    sb: &Sandbox,
    watch: &Watch,
    stack: &str,
    done: impl Fn(&DeploymentState) -> bool,
) -> (DeploymentState, Vec<String>, Vec<String>) {
    let (mut actions, mut notes) = (Vec::new(), Vec::new());
    for _ in 0..1500 {
        let report = watch.sweep().await.unwrap();
        actions.extend(report.action);
        notes.extend(report.notes);
        let state = sb.state(stack);
        if done(&state) {
            return (state, actions, notes);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never done; actions {actions:?}; notes {notes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_spot_capacity_the_monitor_moves_the_group_to_on_demand_when_allowed() {
    let sb = Sandbox::new();
    let options = DeployOptions {
        fallback_on_demand: true,
        ..DeployOptions::default()
    };
    let before = sb.deploy_with("od", options).await;
    assert_eq!(
        before.config.as_ref().unwrap().fallback_on_demand,
        Some(true)
    );
    let watch = sb.watch("od", Policy::default());
    sb.cloud.inject("od", Fault::NoSpotCapacity).unwrap();
    sb.cloud.inject("od", Fault::SpotInterruption).unwrap();
    let (after, actions, _) = sweep_until(&sb, &watch, "od", |s| {
        s.instance_id != before.instance_id && s.recoveries.last().is_some_and(|r| r.finished())
    })
    .await;
    assert!(
        actions.iter().any(|a| a.contains("launches on-demand")),
        "{actions:?}"
    );
    assert!(
        !after.is_spot(),
        "the replacement is on-demand: {:?}",
        after.cost
    );
    assert_eq!(after.status, StackStatus::Running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_spot_capacity_and_no_leave_the_group_keeps_trying_spot_and_says_how() {
    let sb = Sandbox::new();
    let before = sb.deploy("sp").await;
    let watch = sb.watch("sp", Policy::default());
    sb.cloud.inject("sp", Fault::NoSpotCapacity).unwrap();
    sb.cloud.inject("sp", Fault::SpotInterruption).unwrap();
    let mut told = false;
    for _ in 0..1500 {
        let report = watch.sweep().await.unwrap();
        assert!(report.action.is_none(), "{report:?}");
        if report
            .notes
            .iter()
            .any(|n| n.contains("--fallback-on-demand"))
        {
            told = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(told, "the monitor says how to allow on-demand");
    sb.cloud.inject("sp", Fault::SpotCapacityBack).unwrap();
    let (after, actions, _) = sweep_until(&sb, &watch, "sp", |s| {
        s.instance_id != before.instance_id && s.recoveries.last().is_some_and(|r| r.finished())
    })
    .await;
    assert!(actions.is_empty(), "{actions:?}");
    assert!(after.is_spot(), "spot again once capacity is back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retry_cap_leaves_the_stack_failed_saying_why() {
    let sb = Sandbox::new();
    sb.deploy("loop").await;
    let watch = sb.watch(
        "loop",
        Policy {
            max_retries: 1,
            ..Policy::default()
        },
    );
    sb.cloud
        .inject("loop", Fault::KillService(Service::Postgres))
        .unwrap();
    sweep_until_action(&watch).await;
    sb.cloud
        .inject("loop", Fault::KillService(Service::Postgres))
        .unwrap();
    let mut stuck = None;
    for _ in 0..200 {
        let report = watch.sweep().await.unwrap();
        assert!(report.action.is_none(), "no second rollback: {report:?}");
        if report.verdict == "stuck" {
            stuck = Some(report);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stuck = stuck.expect("the monitor gave up");
    assert!(stuck.notes[0].contains("fix the cause"), "{stuck:?}");
    let state = sb.state("loop");
    assert_eq!(state.status, StackStatus::Failed);
    assert!(state.status_reason.unwrap().contains("automatic rollbacks"));
    assert_eq!(state.rollback_history.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_monitors_roll_back_once() {
    let sb = Sandbox::new();
    sb.deploy("twice").await;
    let (a, b) = (
        sb.watch("twice", Policy::default()),
        sb.watch("twice", Policy::default()),
    );
    sb.cloud
        .inject("twice", Fault::KillService(Service::N8n))
        .unwrap();
    let mut acted = 0;
    for _ in 0..200 {
        let (ra, rb) = tokio::join!(a.sweep(), b.sweep());
        acted += [ra.unwrap(), rb.unwrap()]
            .iter()
            .filter(|r| r.action.as_deref().is_some_and(|a| a.contains("now on")))
            .count();
        if acted > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the other monitor look again after the rollback: it must not act.
    for _ in 0..5 {
        let (ra, rb) = tokio::join!(a.sweep(), b.sweep());
        assert!(ra.unwrap().action.is_none() && rb.unwrap().action.is_none());
    }
    assert_eq!(acted, 1);
    assert_eq!(sb.state("twice").rollback_history.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_rollback_replaces_the_instance() {
    let sb = Sandbox::new();
    let before = sb.deploy("manual").await;
    let (sink, _rx) = StoreSink::new(sb.store.clone());
    let after = geusemaker::deploy::rollback(
        &sb.ctx,
        &StackName::parse("manual").unwrap(),
        RollbackTrigger::Manual,
        "by hand",
        Box::new(sink),
    )
    .await
    .unwrap();
    assert_eq!(after.status, StackStatus::Running);
    assert_ne!(after.instance_id, before.instance_id);
    assert_eq!(after.rollback_history[0].trigger, RollbackTrigger::Manual);
}

/// Sweep until the verdict is `verdict` (bounded): the fakes notice within ~0.2 s.
async fn sweep_until_verdict(watch: &Watch, verdict: &str) -> SweepReport {
    for _ in 0..200 {
        let report = watch.sweep().await.unwrap();
        assert!(report.action.is_none(), "acted: {report:?}");
        if report.verdict == verdict {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never {verdict}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_caller_ip_is_unreachable_from_here_and_never_a_rollback() {
    use geusemaker::cloud::Cidr;
    use geusemaker::deploy::access::{AccessChange, set_access};

    let sb = Sandbox::new();
    let before = sb.deploy("moved").await;
    let watch = sb.watch("moved", Policy::default());
    assert_eq!(watch.sweep().await.unwrap().verdict, "healthy");

    let said = sb.cloud.inject("moved", Fault::CallerIpChanged).unwrap();
    assert!(said.contains("now 198.51.100.77/32"), "{said}");
    let report = sweep_until_verdict(&watch, "unreachable").await;
    let why = report
        .notes
        .iter()
        .find(|n| n.starts_with("unreachable from here"))
        .expect("says why");
    assert!(
        why.contains("198.51.100.77 is not among the allowed CIDRs (198.51.100.23/32)"),
        "{why}"
    );
    // Many more sweeps than the rollback threshold: still no action.
    for _ in 0..6 {
        let report = watch.sweep().await.unwrap();
        assert_eq!(report.verdict, "unreachable", "{report:?}");
        assert!(report.action.is_none());
    }
    let after = sb.state("moved");
    assert_eq!(after.instance_id, before.instance_id, "no rollback");
    assert!(after.rollback_history.is_empty());
    assert!(after.outside.as_ref().is_some_and(|o| !o.reachable));

    // Admitting the new address makes it reachable again; the old one stays.
    let (sink, _rx) = StoreSink::new(sb.store.clone());
    let add = AccessChange::Add(Cidr::parse("198.51.100.77/32").unwrap());
    let changed = set_access(
        &sb.ctx,
        &StackName::parse("moved").unwrap(),
        &add,
        Box::new(sink),
    )
    .await
    .unwrap();
    assert_eq!(
        changed.config.unwrap().allowed_cidrs,
        ["198.51.100.23/32", "198.51.100.77/32"]
    );
    sweep_until_verdict(&watch, "healthy").await;
}
