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
pub mod sandbox;
pub mod session;
pub mod session_manager;

use async_trait::async_trait;

pub use endpoints::{Endpoint, Endpoints};
pub use error::{CloudError, CloudResult};
pub use group::{GroupInstance, GroupView};
pub use session::Session;

use crate::domain::{DeploymentState, Provider, Service, StackName, Stage, Tier, Timestamp};

/// A validated deploy request.
#[derive(Clone, Debug, PartialEq)]
pub struct DeployRequest {
    pub stack: StackName,
    pub tier: Tier,
    pub region: String,
    pub instance_type: String,
    pub spot: bool,
    pub options: DeployOptions,
}

/// The less common choices of a deploy; the defaults suit most users.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeployOptions {
    /// Use this VPC instead of the default one (or a new one).
    pub vpc_id: Option<String>,
    /// Create a VPC of the stack's own even when there is a default one.
    pub new_vpc: bool,
    /// Launch in this subnet (of the VPC) rather than one picked for the type.
    pub subnet_id: Option<String>,
    /// Open the service ports to this CIDR instead of the caller's own /32.
    pub allow_cidr: Option<Cidr>,
    /// How far the automation tier's ALB is open beyond the allowed CIDRs.
    pub publish: crate::domain::exposure::Publish,
    /// The user's DNS name for n8n, covered by `certificate_arn`.
    pub domain: Option<String>,
    /// The n8n owner's e-mail (default: `owner@STACK.local`).
    pub owner_email: Option<String>,
    /// Allow the expensive instance families (p4, p5, inf2, trn1).
    pub allow_expensive: bool,
    /// Without spot capacity, launch on-demand rather than fail.
    pub fallback_on_demand: bool,
    /// An ACM certificate for the load balancer's HTTPS listener.
    pub certificate_arn: Option<String>,
    /// Launch this AMI instead of resolving one.
    pub ami_id: Option<String>,
    /// A budget to set on the stack; one already recorded stays otherwise.
    pub budget: Option<crate::domain::budget::Budget>,
    /// Deploy even when the plan's estimate is over the budget.
    pub over_budget: bool,
    /// Roll back a deploy whose services never come up (else the settings').
    pub auto_rollback: Option<bool>,
    /// How long the services may take to come up before that rollback.
    pub rollback_timeout_minutes: Option<u32>,
    /// A rollback: a fresh instance replaces the stack's current one, even
    /// on the same launch template version (prepared beside it, then
    /// switched to).
    pub replace_instance: bool,
    /// The instance's own checks (else the stack's, else the defaults).
    pub instance_checks: Option<crate::domain::settings::InstanceChecks>,
}

impl DeployOptions {
    /// What is wrong with these options for a `tier` deploy, in a sentence.
    pub fn check(&self, tier: Tier) -> Result<(), String> {
        if let Some(arn) = &self.certificate_arn {
            if !is_certificate_arn(arn) {
                return Err(format!(
                    "{arn:?} is not an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)"
                ));
            }
            if !tier.has_load_balancer() {
                return Err(format!(
                    "the {tier} tier has no load balancer to put a certificate on; use the automation tier"
                ));
            }
        }
        self.check_exposure(tier)?;
        let ids = [
            (&self.ami_id, "ami-", "an AMI"),
            (&self.vpc_id, "vpc-", "a VPC"),
            (&self.subnet_id, "subnet-", "a subnet"),
        ];
        for (id, prefix, what) in ids {
            if let Some(id) = id
                && !is_aws_id(id, prefix)
            {
                return Err(format!(
                    "{id:?} is not {what} id; they look like {prefix}0abc123def4567890"
                ));
            }
        }
        if let Some(minutes) = self.rollback_timeout_minutes
            && !(1..=120).contains(&minutes)
        {
            return Err(format!(
                "a rollback timeout of {minutes} minutes is out of range; use 1 to 120"
            ));
        }
        Ok(())
    }
}

impl DeployOptions {
    /// Certificates, domains and publishing, each refused with its reason.
    fn check_exposure(&self, tier: Tier) -> Result<(), String> {
        use crate::domain::exposure::Publish;
        let cert = self.certificate_arn.is_some();
        if tier == Tier::Gpu && cert {
            return Err(
                "the gpu tier serves HTTPS from CloudFront's own certificate: CloudFront \
                 checks an origin's certificate against the origin's DNS name, which is the \
                 ALB's, not on your certificate (and a viewer certificate must be in us-east-1); \
                 deploy without --certificate-arn"
                    .into(),
            );
        }
        if let Some(domain) = &self.domain {
            if !is_dns_name(domain) {
                return Err(format!("{domain:?} is not a DNS name like n8n.example.com"));
            }
            if tier != Tier::Automation || !cert {
                return Err(
                    "--domain needs the automation tier and --certificate-arn for a certificate covering it".into(),
                );
            }
        }
        if tier == Tier::Automation && cert && self.domain.is_none() {
            return Err(
                "the ALB's own DNS name (…elb.amazonaws.com) is not on your certificate, so \
                 browsers would refuse it: pass --domain n8n.example.com, a name your certificate \
                 covers, and point it (a CNAME) at the ALB"
                    .into(),
            );
        }
        if self.publish != Publish::Private && !(tier == Tier::Automation && cert) {
            return Err(
                "--public and --public-webhooks open the automation tier's load balancer to \
                 the internet, over HTTPS only: they need --tier automation, --certificate-arn \
                 and --domain"
                    .into(),
            );
        }
        if let Some(email) = &self.owner_email
            && !is_email(email)
        {
            return Err(format!(
                "{email:?} is not an e-mail address n8n accepts (name@example.com)"
            ));
        }
        Ok(())
    }
}

fn is_dns_name(name: &str) -> bool {
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    name.len() <= 253 && name.contains('.') && name.split('.').all(label)
}

/// Plain enough to go into n8n's owner setup and a shell script unquoted.
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c));
    local_ok && is_dns_name(domain)
}

fn is_certificate_arn(arn: &str) -> bool {
    arn.starts_with("arn:aws") && arn.contains(":acm:") && arn.contains(":certificate/")
}

fn is_aws_id(id: &str, prefix: &str) -> bool {
    // Lower-case hex, as seed 000's schema has it (`^vpc-[a-f0-9]+$`).
    let hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
    id.strip_prefix(prefix)
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(hex))
}

/// `family.size`, e.g. t3.medium, g4dn.xlarge, m7i-flex.large.
pub fn is_instance_type(t: &str) -> bool {
    let Some((family, size)) = t.split_once('.') else {
        return false;
    };
    let ok = |s: &str, extra: &[char]| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(&c))
    };
    ok(family, &['-']) && ok(size, &[]) && family.starts_with(|c: char| c.is_ascii_lowercase())
}

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
    /// Its second half, before the instance: the image ready. `Some(why)`
    /// when the bake was given up on: the instance boots from the base.
    async fn image_ready(
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

    #[test]
    fn instance_type_names() {
        for ok in ["t3.medium", "g4dn.xlarge", "m7i-flex.large", "p5.48xlarge"] {
            assert!(is_instance_type(ok), "{ok}");
        }
        for bad in ["", "t3", ".large", "T3.medium", "t3.", "t3.medium;rm"] {
            assert!(!is_instance_type(bad), "{bad}");
        }
    }

    #[test]
    fn options_are_checked_with_a_sentence_each() {
        let with = |f: fn(&mut DeployOptions)| {
            let mut o = DeployOptions::default();
            f(&mut o);
            o
        };
        assert!(DeployOptions::default().check(Tier::Dev).is_ok());
        let bad_vpc = with(|o| o.vpc_id = Some("vpc-xyz".into()));
        assert!(
            bad_vpc
                .check(Tier::Dev)
                .unwrap_err()
                .contains("not a VPC id")
        );
        let shouting = with(|o| o.vpc_id = Some("vpc-0ABC".into()));
        assert!(
            shouting.check(Tier::Dev).is_err(),
            "the schema's ids are lower-case"
        );
        let bad_subnet = with(|o| o.subnet_id = Some("sub-1".into()));
        assert!(
            bad_subnet
                .check(Tier::Dev)
                .unwrap_err()
                .contains("not a subnet id")
        );
        let cert = with(|o| {
            o.certificate_arn = Some("arn:aws:acm:us-east-1:123456789012:certificate/abc".into())
        });
        assert!(
            cert.check(Tier::Automation)
                .unwrap_err()
                .contains("--domain")
        );
        assert!(cert.check(Tier::Gpu).unwrap_err().contains("CloudFront"));
        let mut named = cert.clone();
        named.domain = Some("n8n.example.com".into());
        assert!(named.check(Tier::Automation).is_ok());
        let public = with(|o| o.publish = crate::domain::exposure::Publish::Public);
        assert!(
            public
                .check(Tier::Automation)
                .unwrap_err()
                .contains("HTTPS only")
        );
        named.publish = crate::domain::exposure::Publish::PublicWebhooks;
        assert!(named.check(Tier::Automation).is_ok());
        let bad_mail = with(|o| o.owner_email = Some("me@$(reboot)".into()));
        assert!(bad_mail.check(Tier::Dev).unwrap_err().contains("e-mail"));
        assert!(
            cert.check(Tier::Dev)
                .unwrap_err()
                .contains("no load balancer")
        );
        let slow = with(|o| o.rollback_timeout_minutes = Some(0));
        assert!(slow.check(Tier::Dev).unwrap_err().contains("1 to 120"));
    }
}
