//! The `Cloud` trait: the domain operations a deploy, a destroy and the
//! monitor need, and its providers (`sandbox` here; `aws` against the SDK).
//!
//! Every `ensure_*` first looks for what already exists (state ids, tags,
//! creation tokens), so a re-run never duplicates, and records each id it
//! creates through the `Session` before its next call.

pub mod aws;
pub mod endpoints;
pub mod error;
pub mod group;
pub mod log_cursor;
mod request;
pub mod sandbox;
pub mod session;
pub mod session_manager;

use async_trait::async_trait;

pub use endpoints::{Endpoint, Endpoints};
pub use error::{CloudError, CloudResult};
pub use group::{GroupInstance, GroupView};
pub use request::{DeployOptions, DeployRequest, is_email, is_instance_type};
pub use session::Session;

use crate::domain::{DeploymentState, Provider, Service, Stage, Timestamp};

/// A VPC a stack could use, as the deploy wizard lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkChoice {
    pub vpc_id: String,
    pub cidr: String,
    pub name: Option<String>,
    pub is_default: bool,
    pub subnets: Vec<SubnetChoice>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SubnetChoice {
    pub subnet_id: String,
    pub zone: String,
    pub cidr: String,
    /// Instances launched here get a public address.
    pub public: bool,
}

/// An IPv4 CIDR block, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cidr(String);

impl Cidr {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not an IPv4 CIDR; write it like 203.0.113.7/32");
        let (addr, bits) = text.trim().split_once('/').ok_or_else(bad)?;
        let _: std::net::Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let bits: u8 = bits.parse().map_err(|_| bad())?;
        if bits > 32 {
            return Err(bad());
        }
        Ok(Self(format!("{addr}/{bits}")))
    }

    /// The /32 of one address.
    pub fn host(addr: std::net::Ipv4Addr) -> Self {
        Self(format!("{addr}/32"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_open_to_world(&self) -> bool {
        self.0.ends_with("/0")
    }

    /// Whether `other` (an address or a block) lies within this block.
    pub fn contains(&self, other: &Cidr) -> bool {
        let parts = |c: &Cidr| -> Option<(u32, u32)> {
            let (addr, bits) = c.0.split_once('/')?;
            let addr: std::net::Ipv4Addr = addr.parse().ok()?;
            Some((u32::from(addr), bits.parse().ok()?))
        };
        let (Some((net, bits)), Some((addr, other_bits))) = (parts(self), parts(other)) else {
            return false;
        };
        let mask = if bits == 0 {
            0
        } else {
            u32::MAX << (32 - bits)
        };
        other_bits >= bits && (net & mask) == (addr & mask)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How far the instance's own boot (user data) has come, from its stage markers.
#[derive(Clone, Debug, PartialEq)]
pub struct BootProgress {
    pub done: Vec<String>,
    pub total: usize,
    /// The instance is gone or stopped: booting will not finish.
    pub instance_lost: Option<String>,
    /// False when the markers cannot be read (no SSM agent yet, no output):
    /// then the services answering is the sign the boot is over.
    pub markers_readable: bool,
    /// The boot script stopped: it will not finish, so waiting is pointless.
    pub failed: Option<crate::instance::boot::BootFailure>,
}

impl Default for BootProgress {
    fn default() -> Self {
        Self {
            done: Vec::new(),
            total: 0,
            instance_lost: None,
            markers_readable: true,
            failed: None,
        }
    }
}

impl BootProgress {
    pub fn finished(&self) -> bool {
        self.total > 0 && self.done.len() >= self.total
    }
}

/// A spot instance that AWS is taking back (or has taken back).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SpotNotice {
    pub instance_id: String,
    /// When the instance goes; `None` when it is already gone or unknown.
    pub terminate_at: Option<Timestamp>,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Prices {
    pub on_demand_per_hour: Option<f64>,
    pub spot_per_hour: Option<f64>,
    pub efs_gb_month: f64,
    /// Why each price is an estimate, when it is (a list-price fallback).
    pub on_demand_estimate: Option<String>,
    pub spot_estimate: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogQuery {
    pub since: Option<Timestamp>,
    pub tail: Option<usize>,
    pub service: Option<Service>,
}

const NO_SCAN: &str = "scan looks for tagged resources in an AWS account; this cloud has none \
                       (the sandbox keeps its stacks in its own files). Run it without --sandbox";

#[async_trait]
pub trait Cloud: Send + Sync {
    fn provider(&self) -> Provider;
    /// How long a stage usually takes here, in seconds, for the pipeline gauge.
    fn typical_secs(&self, stage: Stage) -> f64;

    /// Checks before anything is created (identity, region, instance type).
    async fn preflight(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()>;
    async fn ensure_network(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()>;
    async fn ensure_security_groups(&self, req: &DeployRequest, s: &mut Session)
    -> CloudResult<()>;
    /// EFS, encrypted, with its mount targets created: `storage_ready`
    /// waits for them, once the stages that need only the id have run.
    async fn ensure_storage(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()>;
    /// Until the stack's mount targets are available.
    async fn storage_ready(&self, _req: &DeployRequest, _s: &mut Session) -> CloudResult<()> {
        Ok(())
    }
    /// Whether they are available now (one look, no wait).
    async fn storage_available(&self, _state: &DeploymentState) -> CloudResult<bool> {
        Ok(true)
    }
    /// Instance role and profile, and the stack's secrets.
    /// The Image stage's first half: the stack's baked image of its base
    /// found, or its builder started; the deploy goes on while it bakes.
    async fn ensure_image(&self, _req: &DeployRequest, _s: &mut Session) -> CloudResult<()> {
        Ok(())
    }
    /// Its second half, after the instance: the image ready. `Some(why)`
    /// when the bake was given up on: the instance boots from the base.
    async fn image_ready(
        &self,
        _req: &DeployRequest,
        _s: &mut Session,
    ) -> CloudResult<Option<String>> {
        Ok(None)
    }
    /// One look at the bake, without waiting: a builder that has powered
    /// off is captured (CreateImage) now rather than when the deploy next
    /// waits for the image, so its snapshot is made while the boot runs.
    async fn advance_bake(&self, _s: &mut Session) -> CloudResult<()> {
        Ok(())
    }
    /// The group launches the ready baked image from now on: a template
    /// version that differs only in its image, with no instance replaced
    /// (the one serving, from the base, runs alike). What changed, if the
    /// group did.
    async fn use_image(
        &self,
        _req: &DeployRequest,
        _s: &mut Session,
    ) -> CloudResult<Option<String>> {
        Ok(None)
    }
    /// Deregister the stack's baked images, with their snapshots: those no
    /// rollback can use, or (`all`) every one, and stop a builder.
    async fn delete_images(&self, _s: &mut Session, _all: bool) -> CloudResult<()> {
        Ok(())
    }
    async fn ensure_identity(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()>;
    /// Launch (or find) the instance and wait until it runs.
    async fn ensure_instance(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()>;
    async fn ensure_load_balancer(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()>;
    async fn ensure_cdn(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()>;

    async fn boot_progress(&self, state: &DeploymentState) -> CloudResult<BootProgress>;
    /// A spot interruption of the stack's instance, noticed from outside it.
    async fn spot_notice(&self, state: &DeploymentState) -> CloudResult<Option<SpotNotice>>;
    /// How the load balancer sees the instance ("healthy", ...), if there is one.
    async fn target_health(&self, _state: &DeploymentState) -> CloudResult<Option<String>> {
        Ok(None)
    }
    /// Where to probe each service of the stack.
    async fn service_endpoints(&self, state: &DeploymentState) -> CloudResult<Endpoints>;
    /// The HTTP client of the outside probes, when this cloud has its own
    /// (an extra CA); else the process's.
    fn http(&self) -> Option<&crate::http::Http> {
        None
    }
    /// The stage markers the instances `ids` left on the stack's EFS, read
    /// on `on_instance` (which mounts it): (id, its file's text) for each
    /// found. A cloud with no instances of its own (a test's) has none.
    async fn markers_left(
        &self,
        _state: &DeploymentState,
        _on_instance: &str,
        _ids: &[String],
    ) -> CloudResult<Vec<(String, String)>> {
        Ok(Vec::new())
    }
    /// Docker's own view of each container, read on the instance: the view
    /// a rollback follows.
    async fn inside_health(
        &self,
        state: &DeploymentState,
    ) -> CloudResult<Vec<crate::instance::inside::ContainerHealth>>;
    /// Ollama's models on the stack's EFS, and those loaded now.
    async fn models(
        &self,
        _state: &DeploymentState,
    ) -> CloudResult<crate::domain::models::ModelsView> {
        Err(CloudError::Refused("this cloud cannot list models".into()))
    }
    /// Start pulling a model on the instance, in the background (again: it
    /// resumes from what is on the EFS).
    async fn start_pull(&self, _state: &DeploymentState, _name: &str) -> CloudResult<()> {
        Err(CloudError::Refused("this cloud cannot pull models".into()))
    }
    /// Where the model's pull stands, as Ollama's last progress line says.
    async fn pull_progress(
        &self,
        _state: &DeploymentState,
        _name: &str,
    ) -> CloudResult<crate::domain::models::PullProgress> {
        Err(CloudError::Refused("this cloud cannot pull models".into()))
    }
    async fn remove_model(&self, _state: &DeploymentState, _name: &str) -> CloudResult<()> {
        Err(CloudError::Refused(
            "this cloud cannot remove models".into(),
        ))
    }
    /// Restart one service's container on the stack's instance; what was done.
    async fn restart_service(
        &self,
        _state: &DeploymentState,
        service: Service,
    ) -> CloudResult<String> {
        Err(CloudError::Refused(format!(
            "this cloud cannot restart {service}"
        )))
    }
    /// Make the rules that admit n8n say exactly `cidrs` (adding what is
    /// new and revoking what is not in the set), and record the set.
    async fn set_access(&self, s: &mut Session, cidrs: &[Cidr]) -> CloudResult<()>;
    /// One of the stack's secrets, read from this machine (never through a
    /// command on the instance, whose output is kept).
    async fn read_secret(&self, state: &DeploymentState, name: &str) -> CloudResult<String>;
    async fn prices(&self, region: &str, instance_type: &str) -> CloudResult<Prices>;
    /// The VPCs of the region with their subnets, default first.
    async fn discover_networks(&self, region: &str) -> CloudResult<Vec<NetworkChoice>>;
    /// The caller's public address as a /32: what the ports open to by default.
    async fn caller_cidr(&self) -> CloudResult<Cidr>;
    /// Whether the G-instance vCPU quota allows `instance_type`: `Ok(None)`
    /// when it does (or the type is not a G type), `Ok(Some(warning))` when
    /// it cannot be read, `Err` when it is too low.
    async fn gpu_quota(&self, _instance_type: &str, _spot: bool) -> CloudResult<Option<String>> {
        Ok(None)
    }
    /// Metered size of the stack's EFS, when known.
    async fn storage_size(&self, state: &DeploymentState) -> CloudResult<Option<u64>>;
    /// Compose log lines (`service-1  | ts message`), oldest first.
    async fn read_logs(
        &self,
        state: &DeploymentState,
        query: &LogQuery,
    ) -> CloudResult<Vec<String>>;

    /// The stack's Auto Scaling group (its instances and scaling
    /// activities), when it has one.
    async fn group_view(&self, _state: &DeploymentState) -> CloudResult<Option<GroupView>> {
        Ok(None)
    }
    /// No spot capacity: the group launches on-demand from now on (its
    /// mixed policy's on-demand share to 100%); `deploy` sets spot again.
    async fn launch_on_demand(&self, _state: &DeploymentState) -> CloudResult<()> {
        Err(CloudError::Refused(
            "this cloud has no group to move to on-demand".into(),
        ))
    }
    /// Delete the group, its launch template and the stack's address; the
    /// instances are gone first (`terminate_instance`).
    async fn delete_instance_group(&self, _s: &mut Session) -> CloudResult<()> {
        Ok(())
    }

    /// Records what a deploy created but died before recording, so that a
    /// destroy removes it too; a line for each. Nothing to find by default.
    async fn adopt_unrecorded(&self, _s: &mut Session) -> CloudResult<Vec<String>> {
        Ok(Vec::new())
    }
    /// `scan`: every resource tagged `geusemaker:managed=true` in this
    /// cloud's region (and the global ones when `global`), and which of
    /// `recorded` are gone.
    async fn inventory(
        &self,
        _global: bool,
        _recorded: &[crate::domain::scan::Recorded],
    ) -> CloudResult<crate::domain::scan::Inventory> {
        Err(CloudError::Refused(NO_SCAN.into()))
    }
    /// The regions `scan --all-regions` looks in.
    async fn enabled_regions(&self) -> CloudResult<Vec<String>> {
        Err(CloudError::Refused(NO_SCAN.into()))
    }
    /// Delete an orphan `inventory` listed.
    async fn delete_orphan(&self, _found: &crate::domain::scan::Found) -> CloudResult<()> {
        Err(CloudError::Refused(NO_SCAN.into()))
    }
    async fn delete_cdn(&self, s: &mut Session) -> CloudResult<()>;
    async fn delete_load_balancer(&self, s: &mut Session) -> CloudResult<()>;
    /// Take the stack's instance down and wait until it is gone: its group
    /// set to 0 (which keeps the group, template and address for `deploy`).
    async fn terminate_instance(&self, s: &mut Session) -> CloudResult<()>;
    /// Delete the instance security group (the EFS one goes with the EFS).
    async fn delete_security_groups(&self, s: &mut Session) -> CloudResult<()>;
    /// Delete the role and profile; the secrets too when `with_secrets`.
    async fn delete_identity(&self, s: &mut Session, with_secrets: bool) -> CloudResult<()>;
    /// Delete mount targets, wait, then delete the EFS and its security group.
    async fn delete_storage(&self, s: &mut Session) -> CloudResult<()>;
    /// Delete the network, if this program created it.
    async fn delete_network(&self, s: &mut Session) -> CloudResult<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_contains_its_addresses_only() {
        let block = Cidr::parse("198.51.100.0/24").unwrap();
        assert!(block.contains(&Cidr::parse("198.51.100.7/32").unwrap()));
        assert!(!block.contains(&Cidr::parse("198.51.101.7/32").unwrap()));
        assert!(!block.contains(&Cidr::parse("198.51.0.0/16").unwrap()));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(&block));
    }
}
