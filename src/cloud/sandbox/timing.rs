//! How long things take in the sandbox, in seconds at speed 1.0. Shaped like
//! AWS (CloudFront is by far the slowest) but compressed so a whole dev deploy
//! takes about 20 s. `GEUSEMAKER_SANDBOX_SPEED` divides them all.

use crate::domain::{Service, Stage};

pub const SPEED_ENV: &str = "GEUSEMAKER_SANDBOX_SPEED";

pub const PREFLIGHT: f64 = 0.4;
pub const DISCOVER_VPC: f64 = 0.8;
pub const CREATE_SECURITY_GROUP: f64 = 0.5;
pub const CREATE_EFS: f64 = 0.6;
pub const EFS_BECOMES_AVAILABLE: f64 = 1.2;
pub const CREATE_MOUNT_TARGET: f64 = 0.3;
pub const MOUNT_TARGET_BECOMES_AVAILABLE: f64 = 1.8;
pub const CREATE_ROLE: f64 = 0.4;
pub const PUT_SECRET: f64 = 0.2;
pub const RUN_INSTANCE: f64 = 0.6;
/// The instance stage's calls, together `RUN_INSTANCE` on dev.
pub const LAUNCH_TEMPLATE: f64 = 0.2;
pub const ALLOCATE_ADDRESS: f64 = 0.1;
pub const UPDATE_GROUP: f64 = RUN_INSTANCE - LAUNCH_TEMPLATE - ALLOCATE_ADDRESS;
pub const INSTANCE_PENDING: f64 = 3.0;
/// The image builder: boot, packages and the pulls, until it powers off.
pub const BUILDER_BAKES: f64 = 6.0;
/// CreateImage: the image pending while EBS snapshots the root.
pub const IMAGE_BECOMES_AVAILABLE: f64 = 4.0;
pub const CREATE_LOAD_BALANCER: f64 = 0.8;
pub const LOAD_BALANCER_PROVISIONING: f64 = 5.0;
pub const CREATE_LISTENER: f64 = 0.3;
pub const CREATE_DISTRIBUTION: f64 = 0.8;
pub const DISTRIBUTION_DEPLOYING: f64 = 24.0;
pub const TERMINATE_INSTANCE: f64 = 2.5;
pub const DELETE_SIMPLE: f64 = 0.3;
pub const DELETE_MOUNT_TARGET: f64 = 1.2;
pub const DELETE_LOAD_BALANCER: f64 = 2.0;
pub const DISABLE_DISTRIBUTION: f64 = 8.0;
/// The 2-minute spot notice, compressed like everything else here.
pub const SPOT_NOTICE: f64 = 20.0;
/// From an instance lost (terminated, or marked unhealthy) to its group
/// noticing: the EC2 health check, about 30 s on AWS too.
pub const GROUP_NOTICES_LOSS: f64 = 30.0;
/// From the lost instance gone to the group launching its replacement.
pub const GROUP_LAUNCHES_REPLACEMENT: f64 = 2.0;
/// How long a throttling fault lasts.
pub const THROTTLE_WINDOW: f64 = 12.0;

/// A holder lost without a drain: its writer lease (an NFSv4.1 lock on EFS)
/// is freed when the lock's lease expires (90 s, Linux nfsd's default; EFS
/// publishes none), compressed like the rest.
pub const LEASE_EXPIRY: f64 = 9.0;
/// The drain on a spot notice, from the notice: n8n stopped gracefully,
/// PostgreSQL cleanly, the rest, the lease released (then it marks itself
/// Unhealthy). Each step writes a marker.
pub const DRAIN_MARKERS: [(&str, f64); 6] = [
    (DRAIN_STARTED, 0.5),
    ("drain-n8n-stopped", 2.0),
    ("drain-postgres-stopped", 3.5),
    (DRAIN_QDRANT_SNAPSHOT, 3.8),
    ("lease-released", 4.0),
    ("drained", 4.2),
];

pub const DRAIN_STARTED: &str = "drain-started:spot-notice";
/// How long a switch's new instance may take to complete its launch hook
/// before it is dropped (AWS: the stack's rollback timeout, 15 min).
pub const SWITCH_HOOK_TIMEOUT: f64 = 30.0;
/// The drain's last Qdrant snapshot to EFS.
pub const DRAIN_QDRANT_SNAPSHOT: &str = "drain-qdrant-snapshot";

/// When the drain is done, after the notice.
pub fn drain_total() -> f64 {
    DRAIN_MARKERS[DRAIN_MARKERS.len() - 1].1
}

/// The boot marker written when the lease is taken: those after it wait as
/// long as another instance holds the lease.
pub const LEASE_MARKER: &str = "lease-taken";

/// User-data stage markers and when each is written, after the instance
/// runs, when no other instance holds the lease.
pub const BOOT_MARKERS: [(&str, f64); 8] = [
    ("cloud-init", 0.5),
    ("packages", 1.5),
    ("efs-mounted", 2.5),
    ("secrets", 3.0),
    ("images-pulled", 5.0),
    ("lease-taken", 5.5),
    ("compose-up", COMPOSE_UP),
    // Once n8n is ready (`service_ready_after`), its owner is set up.
    ("owner-ready", COMPOSE_UP + 3.5),
];
const COMPOSE_UP: f64 = 6.0;

/// What a baked image saves at boot: dnf and the compose download, and the
/// pulls of every image (they are on its root already).
pub const BAKED_SAVES_PACKAGES: f64 = 0.8;
pub const BAKED_SAVES_PULLS: f64 = 1.8;

/// The boot markers of an instance from the base image, or a baked one.
pub fn boot_markers(baked: bool) -> [(&'static str, f64); 8] {
    let mut markers = BOOT_MARKERS;
    if baked {
        for (name, at) in markers.iter_mut() {
            *at -= match *name {
                "cloud-init" => 0.0,
                "packages" | "efs-mounted" | "secrets" => BAKED_SAVES_PACKAGES,
                _ => BAKED_SAVES_PACKAGES + BAKED_SAVES_PULLS,
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
    match service {
        Service::Postgres => 1.0,
        Service::Qdrant => 0.8,
        Service::Ollama => 1.5,
        Service::Crawl4ai => 2.5,
        Service::N8n => 3.5,
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
    match stage {
        Stage::Validate => PREFLIGHT,
        Stage::Network => DISCOVER_VPC,
        Stage::Security => 2.0 * CREATE_SECURITY_GROUP,
        Stage::Storage => {
            CREATE_EFS
                + EFS_BECOMES_AVAILABLE
                + 2.0 * CREATE_MOUNT_TARGET
                + MOUNT_TARGET_BECOMES_AVAILABLE
        }
        Stage::Image => BUILDER_BAKES + IMAGE_BECOMES_AVAILABLE,
        Stage::Identity => 2.0 * CREATE_ROLE + 3.0 * PUT_SECRET,
        Stage::Instance => RUN_INSTANCE + INSTANCE_PENDING,
        Stage::Terminate => TERMINATE_INSTANCE,
        Stage::LoadBalancer => {
            CREATE_LOAD_BALANCER + LOAD_BALANCER_PROVISIONING + 2.0 * CREATE_LISTENER
        }
        Stage::Cdn => CREATE_DISTRIBUTION + DISTRIBUTION_DEPLOYING,
        Stage::Services => BOOT_MARKERS[BOOT_MARKERS.len() - 1].1,
        Stage::Health => service_ready_after(Service::N8n),
    }
}
