//! How long things take in the sandbox, in seconds at speed 1.0, in one of
//! two profiles. `DEMO` (the default) is AWS's shape compressed so a whole
//! dev deploy takes about 25 s; `AWS` is what AWS takes, for the README's
//! model figures (`GEUSEMAKER_SANDBOX_LATENCIES=aws`). `GEUSEMAKER_SANDBOX_SPEED`
//! divides either.

use std::sync::OnceLock;

use crate::domain::{Service, Stage};

pub const SPEED_ENV: &str = "GEUSEMAKER_SANDBOX_SPEED";
pub const LATENCIES_ENV: &str = "GEUSEMAKER_SANDBOX_LATENCIES";

/// Every latency the model has. Markers are (name, seconds after the
/// instance runs, or after the spot notice).
#[derive(Debug, Clone, Copy)]
pub struct Latencies {
    pub name: &'static str,
    pub preflight: f64,
    pub discover_vpc: f64,
    pub create_security_group: f64,
    pub create_efs: f64,
    pub efs_becomes_available: f64,
    pub create_mount_target: f64,
    pub mount_target_becomes_available: f64,
    pub create_role: f64,
    pub put_secret: f64,
    /// The instance stage's calls: the template, the address (dev), the group.
    pub launch_template: f64,
    pub allocate_address: f64,
    pub update_group: f64,
    /// From the group asked to launch to the instance running.
    pub instance_pending: f64,
    /// The image builder: boot, packages and the pulls, until it powers off.
    pub builder_bakes: f64,
    /// CreateImage: the image pending while EBS snapshots the root.
    pub image_becomes_available: f64,
    pub create_load_balancer: f64,
    pub load_balancer_provisioning: f64,
    pub create_listener: f64,
    pub create_distribution: f64,
    pub distribution_deploying: f64,
    pub terminate_instance: f64,
    pub delete_simple: f64,
    pub delete_mount_target: f64,
    pub delete_load_balancer: f64,
    pub disable_distribution: f64,
    /// From a spot interruption notice to the instance reclaimed.
    pub spot_notice: f64,
    /// From an instance lost (terminated, or marked unhealthy) to its group
    /// noticing.
    pub group_notices_loss: f64,
    /// From the lost instance gone to the group launching its replacement.
    pub group_launches_replacement: f64,
    /// A holder lost without a drain: its writer lease (an NFSv4.1 lock on
    /// EFS) is freed when the lock's lease expires.
    pub lease_expiry: f64,
    /// How long a switch's new instance may take to complete its launch
    /// hook before it is dropped (the stack's rollback timeout).
    pub switch_hook_timeout: f64,
    /// The drain on a spot notice, from the notice: n8n stopped gracefully,
    /// PostgreSQL cleanly, the rest, the lease released (then it marks
    /// itself Unhealthy). Each step writes a marker.
    pub drain_markers: [(&'static str, f64); 6],
    /// User-data stage markers, after the instance runs, from the base
    /// image, when no other instance holds the lease.
    pub boot_markers: [(&'static str, f64); 8],
    /// What a baked image saves at boot: dnf and the compose download, and
    /// the pulls of every image (they are on its root already).
    pub baked_saves_packages: f64,
    pub baked_saves_pulls: f64,
    /// From container start to ready: PostgreSQL, Qdrant, Ollama,
    /// Crawl4AI, n8n.
    pub service_ready: [f64; 5],
}

impl Latencies {
    /// The instance stage's calls together.
    pub fn run_instance(&self) -> f64 {
        self.launch_template + self.allocate_address + self.update_group
    }
}

pub const DEMO: Latencies = Latencies {
    name: "demo",
    preflight: 0.4,
    discover_vpc: 0.8,
    create_security_group: 0.5,
    create_efs: 0.6,
    efs_becomes_available: 1.2,
    create_mount_target: 0.3,
    mount_target_becomes_available: 1.8,
    create_role: 0.4,
    put_secret: 0.2,
    launch_template: 0.2,
    allocate_address: 0.1,
    update_group: 0.3,
    instance_pending: 3.0,
    builder_bakes: 6.0,
    image_becomes_available: 4.0,
    create_load_balancer: 0.8,
    load_balancer_provisioning: 5.0,
    create_listener: 0.3,
    create_distribution: 0.8,
    distribution_deploying: 24.0,
    terminate_instance: 2.5,
    delete_simple: 0.3,
    delete_mount_target: 1.2,
    delete_load_balancer: 2.0,
    disable_distribution: 8.0,
    spot_notice: 20.0,
    group_notices_loss: 30.0,
    group_launches_replacement: 2.0,
    lease_expiry: 9.0,
    switch_hook_timeout: 30.0,
    drain_markers: [
        (DRAIN_STARTED, 0.5),
        ("drain-n8n-stopped", 2.0),
        ("drain-postgres-stopped", 3.5),
        (DRAIN_QDRANT_SNAPSHOT, 3.8),
        ("lease-released", 4.0),
        ("drained", 4.2),
    ],
    boot_markers: [
        ("cloud-init", 0.5),
        ("packages", 1.5),
        ("efs-mounted", 2.5),
        ("secrets", 3.0),
        ("images-pulled", 5.0),
        (LEASE_MARKER, 5.5),
        ("compose-up", 6.0),
        // Once n8n is ready (`service_ready`), its owner is set up.
        ("owner-ready", 9.5),
    ],
    baked_saves_packages: 0.8,
    baked_saves_pulls: 1.8,
    service_ready: [1.0, 0.8, 1.5, 2.5, 3.5],
};

/// AWS's latencies, as the README's model figures use them. What AWS
/// states is marked so; the rest are typical figures (us-east-1, an empty
/// account, the pinned images ~4 GB), not promises.
pub const AWS: Latencies = Latencies {
    name: "aws",
    // STS, the quotas and two price lookups: API round trips.
    preflight: 2.0,
    discover_vpc: 1.0,
    create_security_group: 1.0,
    create_efs: 1.0,
    efs_becomes_available: 10.0,
    create_mount_target: 1.0,
    // Typically 1–2 minutes to `available` (Terraform's and alchemy's
    // waiters allow for more); mounts retry meanwhile.
    mount_target_becomes_available: 90.0,
    create_role: 1.0,
    put_secret: 0.5,
    launch_template: 0.5,
    allocate_address: 0.5,
    update_group: 0.5,
    // A group's launch activity to `running`.
    instance_pending: 45.0,
    // Builder boot ~40 s, dnf ~60 s, ~4 GB of pulls ~200 s, power-off.
    builder_bakes: 320.0,
    // A 30 GB gp3 root, ~8 GB written: the first snapshot.
    image_becomes_available: 420.0,
    create_load_balancer: 2.0,
    load_balancer_provisioning: 180.0,
    create_listener: 1.0,
    create_distribution: 2.0,
    // CloudFront: "within minutes" to every edge location.
    distribution_deploying: 300.0,
    terminate_instance: 60.0,
    delete_simple: 1.0,
    delete_mount_target: 60.0,
    delete_load_balancer: 30.0,
    disable_distribution: 300.0,
    // AWS states: "a two-minute warning before it interrupts".
    spot_notice: 120.0,
    // An instance gone by itself: the EC2 status check, about 30 s. (One
    // that marks itself Unhealthy is replaced "immediately", AWS states;
    // the model counts both alike.)
    group_notices_loss: 30.0,
    group_launches_replacement: 10.0,
    // Linux nfsd's default lease; EFS publishes none.
    lease_expiry: 90.0,
    // The stack's rollback timeout, 15 minutes by default.
    switch_hook_timeout: 900.0,
    // n8n's graceful stop, PostgreSQL's checkpoint, a bounded Qdrant
    // snapshot: inside the two minutes.
    drain_markers: [
        (DRAIN_STARTED, 1.0),
        ("drain-n8n-stopped", 12.0),
        ("drain-postgres-stopped", 18.0),
        (DRAIN_QDRANT_SNAPSHOT, 28.0),
        ("lease-released", 29.0),
        ("drained", 30.0),
    ],
    boot_markers: [
        ("cloud-init", 20.0),
        ("packages", 80.0),
        ("efs-mounted", 85.0),
        ("secrets", 87.0),
        ("images-pulled", 270.0),
        (LEASE_MARKER, 272.0),
        ("compose-up", 285.0),
        ("owner-ready", 325.0),
    ],
    baked_saves_packages: 60.0,
    baked_saves_pulls: 180.0,
    service_ready: [5.0, 3.0, 5.0, 15.0, 35.0],
};

static PROFILE: OnceLock<Latencies> = OnceLock::new();

/// The profile this process runs: `GEUSEMAKER_SANDBOX_LATENCIES`, read once
/// (`latencies_from_env` has refused a bad value at the edge).
pub fn lat() -> &'static Latencies {
    PROFILE.get_or_init(|| latencies_from_env().unwrap_or(DEMO))
}

/// Read `GEUSEMAKER_SANDBOX_LATENCIES` ("demo", the default, or "aws").
pub fn latencies_from_env() -> Result<Latencies, String> {
    latencies_named(std::env::var(LATENCIES_ENV).ok().as_deref())
}

fn latencies_named(name: Option<&str>) -> Result<Latencies, String> {
    match name.map(str::trim) {
        None | Some("demo" | "") => Ok(DEMO),
        Some("aws") => Ok(AWS),
        Some(other) => Err(format!(
            "{LATENCIES_ENV}={other:?} is not a latency profile; use demo (the default) or aws"
        )),
    }
}

/// How long a throttling fault lasts.
pub const THROTTLE_WINDOW: f64 = 12.0;
pub const DRAIN_STARTED: &str = "drain-started:spot-notice";
/// The drain's last Qdrant snapshot to EFS.
pub const DRAIN_QDRANT_SNAPSHOT: &str = "drain-qdrant-snapshot";

/// When the drain is done, after the notice.
pub fn drain_total() -> f64 {
    let markers = &lat().drain_markers;
    markers[markers.len() - 1].1
}

/// The boot marker written when the lease is taken: those after it wait as
/// long as another instance holds the lease.
pub const LEASE_MARKER: &str = "lease-taken";

/// The boot markers of an instance from the base image, or a baked one.
pub fn boot_markers(baked: bool) -> [(&'static str, f64); 8] {
    let l = lat();
    let mut markers = l.boot_markers;
    if baked {
        for (name, at) in markers.iter_mut() {
            *at -= match *name {
                "cloud-init" => 0.0,
                "packages" | "efs-mounted" | "secrets" => l.baked_saves_packages,
                _ => l.baked_saves_packages + l.baked_saves_pulls,
            };
        }
    }
    markers
}

fn marker_at(baked: bool, marker: &str) -> f64 {
    boot_markers(baked)
        .iter()
        .find(|(name, _)| *name == marker)
        .map_or(0.0, |(_, at)| *at)
}

/// From the instance running to taking the lease, when it is free.
pub fn lease_offset(baked: bool) -> f64 {
    marker_at(baked, LEASE_MARKER)
}

/// From the instance running to its boot completing the launch hook
/// (services up, n8n's owner set up): then the group has it InService.
pub fn hook_completed_after(baked: bool) -> f64 {
    marker_at(baked, "owner-ready")
}

/// From the instance running to compose up.
pub fn boot_total(baked: bool) -> f64 {
    marker_at(baked, "compose-up")
}

/// From container start to ready.
pub fn service_ready_after(service: Service) -> f64 {
    let ready = &lat().service_ready;
    match service {
        Service::Postgres => ready[0],
        Service::Qdrant => ready[1],
        Service::Ollama => ready[2],
        Service::Crawl4ai => ready[3],
        Service::N8n => ready[4],
    }
}

/// What a probe answer costs, in ms: loopback is instant, a real stack is not.
pub fn service_latency_ms(service: Service) -> u64 {
    match service {
        Service::N8n => 42,
        Service::Ollama => 21,
        Service::Qdrant => 11,
        Service::Crawl4ai => 33,
        Service::Postgres => 6,
    }
}

/// Typical duration of each deploy stage, for the pipeline gauge.
pub fn deploy_stage(stage: Stage) -> f64 {
    let l = lat();
    match stage {
        Stage::Validate => l.preflight,
        Stage::Network => l.discover_vpc,
        Stage::Security => 2.0 * l.create_security_group,
        Stage::Storage => {
            l.create_efs
                + l.efs_becomes_available
                + 2.0 * l.create_mount_target
                + l.mount_target_becomes_available
        }
        Stage::Image => l.builder_bakes + l.image_becomes_available,
        Stage::Identity => 2.0 * l.create_role + 3.0 * l.put_secret,
        Stage::Instance => l.run_instance() + l.instance_pending,
        Stage::Terminate => l.terminate_instance,
        Stage::LoadBalancer => {
            l.create_load_balancer + l.load_balancer_provisioning + 2.0 * l.create_listener
        }
        Stage::Cdn => l.create_distribution + l.distribution_deploying,
        Stage::Services => hook_completed_after(false),
        Stage::Health => service_ready_after(Service::N8n),
        Stage::Models => super::models::typical_pull_secs(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn increasing(markers: &[(&str, f64)]) -> bool {
        markers.windows(2).all(|w| w[0].1 < w[1].1)
    }

    #[test]
    fn each_profile_is_a_possible_timeline() {
        for l in [DEMO, AWS] {
            assert!(
                increasing(&l.boot_markers),
                "{}: boot markers in order",
                l.name
            );
            assert!(
                increasing(&l.drain_markers),
                "{}: drain markers in order",
                l.name
            );
            // The drain fits in the spot notice, and the lease expires
            // after a holder stops renewing, not before the drain could end.
            let drained = l.drain_markers[l.drain_markers.len() - 1].1;
            assert!(drained < l.spot_notice, "{}", l.name);
            assert!(l.lease_expiry > drained, "{}", l.name);
            // A baked boot still has every marker after the instance runs.
            let saved = l.baked_saves_packages + l.baked_saves_pulls;
            let pulled = l.boot_markers.iter().find(|(m, _)| *m == "images-pulled");
            assert!(pulled.is_some_and(|(_, at)| *at > saved), "{}", l.name);
            assert!(l.boot_markers[1].1 > l.baked_saves_packages, "{}", l.name);
            // A switch's new instance has time to boot from the base image.
            assert!(
                l.switch_hook_timeout > l.instance_pending + l.boot_markers[7].1,
                "{}",
                l.name
            );
        }
    }

    #[test]
    fn a_profile_is_chosen_by_name_and_a_bad_name_says_what_to_use() {
        assert_eq!(latencies_named(None).unwrap().name, "demo");
        assert_eq!(latencies_named(Some(" aws ")).unwrap().name, "aws");
        let e = latencies_named(Some("fast")).unwrap_err();
        assert!(e.contains("GEUSEMAKER_SANDBOX_LATENCIES=\"fast\""), "{e}");
        assert!(e.contains("demo (the default) or aws"), "{e}");
    }

    #[test]
    fn a_baked_boot_skips_the_installs_and_the_pulls_and_keeps_the_order() {
        let (base, baked) = (boot_markers(false), boot_markers(true));
        assert!(increasing(&baked));
        let l = lat();
        assert_eq!(baked[0], base[0], "cloud-init is the same");
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(base[1].1 - baked[1].1, l.baked_saves_packages));
        let saved = l.baked_saves_packages + l.baked_saves_pulls;
        assert!(close(
            hook_completed_after(false) - hook_completed_after(true),
            saved
        ));
    }
}
