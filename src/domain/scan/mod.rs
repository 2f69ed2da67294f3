//! `scan`: what is tagged as GeuseMaker's in AWS, against the state files.
//! Pure: the cloud lists what it finds (`Inventory`), this module says
//! which of it is an orphan (tagged, in no state), what is missing (in a
//! state, gone from AWS), what drifted, and what another installation
//! manages (never an orphan, never offered for deletion).

mod drift;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashSet};

use serde::{Deserialize, Serialize};

use super::state::{DeploymentState, Provider, StackStatus};

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Kind {
    Vpc,
    SecurityGroup,
    Instance,
    LaunchTemplate,
    AutoScalingGroup,
    ElasticIp,
    FileSystem,
    LoadBalancer,
    TargetGroup,
    Role,
    Distribution,
}

impl Kind {
    /// IAM and CloudFront are global: asked once, not per region.
    pub fn is_global(self) -> bool {
        matches!(self, Self::Role | Self::Distribution)
    }
}

/// What the cloud saw of one resource, beyond its id and tags, for drift.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// A security group's inbound rules, each `PORT from SOURCE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Vec<String>>,
    /// An instance's type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// A group: the launch template version it launches, and that
    /// version's image and instance types (the template's and the mixed
    /// policy's overrides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_types: Option<Vec<String>>,
    /// A target group's registered targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<String>>,
    /// A load balancer's or a distribution's DNS name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
}

/// One resource tagged `geusemaker:managed=true`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Found {
    pub kind: Kind,
    pub id: String,
    /// `None` for a global resource.
    pub region: Option<String>,
    /// Its `Stack` tag.
    pub stack: Option<String>,
    /// Its `geusemaker:installation` tag; `None` from versions before it.
    pub installation: Option<String>,
    pub name: Option<String>,
    /// An instance's Auto Scaling group.
    pub group: Option<String>,
    pub facts: Facts,
}

/// A resource a state records, by kind and id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Recorded {
    pub kind: Kind,
    pub id: String,
}

/// What the cloud answered for one region (and, once, the global services).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub found: Vec<Found>,
    /// Of the recorded resources asked about, those AWS no longer has.
    pub absent: Vec<Recorded>,
}

/// The state field a deploy records each kind in (security groups: by role).
pub const FIELDS: &[(Kind, &str)] = &[
    (Kind::Vpc, "vpc_id"),
    (Kind::SecurityGroup, "security_group_id"),
    (Kind::SecurityGroup, "alb_security_group_id"),
    (Kind::SecurityGroup, "efs_security_group_id"),
    (Kind::Instance, "instance_id"),
    (Kind::LaunchTemplate, "launch_template_id"),
    (Kind::AutoScalingGroup, "autoscaling_group_name"),
    (Kind::ElasticIp, "elastic_ip_allocation_id"),
    (Kind::FileSystem, "efs_id"),
    (Kind::LoadBalancer, "alb_arn"),
    (Kind::TargetGroup, "target_group_arn"),
    (Kind::Role, "iam_role_name"),
    (Kind::Distribution, "cloudfront_id"),
];

/// The value of one of `FIELDS` in `state`.
pub fn field<'a>(state: &'a DeploymentState, name: &str) -> Option<&'a str> {
    let value = match name {
        "vpc_id" => &state.vpc_id,
        "security_group_id" => &state.security_group_id,
        "alb_security_group_id" => &state.alb_security_group_id,
        "efs_security_group_id" => &state.efs_security_group_id,
        "instance_id" => &state.instance_id,
        "launch_template_id" => &state.launch_template_id,
        "autoscaling_group_name" => &state.autoscaling_group_name,
        "elastic_ip_allocation_id" => &state.elastic_ip_allocation_id,
        "efs_id" => &state.efs_id,
        "alb_arn" => &state.alb_arn,
        "target_group_arn" => &state.target_group_arn,
        "iam_role_name" => &state.iam_role_name,
        "cloudfront_id" => &state.cloudfront_id,
        _ => return None,
    };
    value.as_deref()
}

/// Set (or, with `None`, clear) one of `FIELDS`.
pub fn set_field(state: &mut DeploymentState, name: &str, value: Option<String>) -> bool {
    let slot = match name {
        "vpc_id" => &mut state.vpc_id,
        "security_group_id" => &mut state.security_group_id,
        "alb_security_group_id" => &mut state.alb_security_group_id,
        "efs_security_group_id" => &mut state.efs_security_group_id,
        "instance_id" => &mut state.instance_id,
        "launch_template_id" => &mut state.launch_template_id,
        "autoscaling_group_name" => &mut state.autoscaling_group_name,
        "elastic_ip_allocation_id" => &mut state.elastic_ip_allocation_id,
        "efs_id" => &mut state.efs_id,
        "alb_arn" => &mut state.alb_arn,
        "target_group_arn" => &mut state.target_group_arn,
        "iam_role_name" => &mut state.iam_role_name,
        "cloudfront_id" => &mut state.cloudfront_id,
        _ => return false,
    };
    *slot = value;
    true
}

/// The stacks a scan compares with: AWS ones that still have resources.
pub fn scanned_states(states: &[DeploymentState]) -> Vec<&DeploymentState> {
    states
        .iter()
        .filter(|s| s.provider == Provider::Aws && s.status != StackStatus::Destroyed)
        .collect()
}

/// Every resource `state` records, with the field it is in.
pub fn recorded(state: &DeploymentState) -> Vec<(Recorded, &'static str)> {
    FIELDS
        .iter()
        .filter_map(|(kind, name)| {
            field(state, name).map(|id| {
                let r = Recorded {
                    kind: *kind,
                    id: id.to_string(),
                };
                (r, *name)
            })
        })
        .collect()
}

/// The field an orphan would be recorded in, in `stack`'s state.
pub fn adopt_field(found: &Found, stack: &str) -> Option<&'static str> {
    if found.kind == Kind::SecurityGroup {
        let name = found.name.as_deref()?;
        let role = name.strip_prefix(&format!("geusemaker-{stack}-"))?;
        return match role {
            "instance" => Some("security_group_id"),
            "alb" => Some("alb_security_group_id"),
            "efs" => Some("efs_security_group_id"),
            _ => None,
        };
    }
    FIELDS
        .iter()
        .find(|(kind, _)| *kind == found.kind)
        .map(|(_, name)| *name)
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Orphan {
    pub kind: Kind,
    pub id: String,
    pub region: Option<String>,
    pub stack: Option<String>,
    pub name: Option<String>,
    /// The state field `scan adopt` would record it in, when there is one.
    pub adopt_into: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Orphan {
    pub fn of(f: &Found, adopt_into: Option<&'static str>, note: Option<String>) -> Self {
        Self {
            kind: f.kind,
            id: f.id.clone(),
            region: f.region.clone(),
            stack: f.stack.clone(),
            name: f.name.clone(),
            adopt_into,
            note,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Missing {
    pub stack: String,
    pub kind: Kind,
    pub id: String,
    pub region: Option<String>,
    /// The state field that records it (`scan forget` clears it).
    pub field: &'static str,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Drift {
    pub stack: String,
    pub kind: Kind,
    pub id: String,
    pub what: String,
    pub expected: String,
    pub actual: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Elsewhere {
    pub kind: Kind,
    pub id: String,
    pub region: Option<String>,
    pub stack: Option<String>,
    pub installation: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    pub regions: Vec<String>,
    /// Whether IAM and CloudFront were asked.
    pub global: bool,
    pub orphans: Vec<Orphan>,
    pub missing: Vec<Missing>,
    pub drift: Vec<Drift>,
    pub managed_elsewhere: Vec<Elsewhere>,
}

impl Report {
    /// Nothing to act on (what others manage is not ours to act on).
    pub fn is_clean(&self) -> bool {
        self.orphans.is_empty() && self.missing.is_empty() && self.drift.is_empty()
    }
}

/// What was scanned, and what this installation is.
pub struct Scope<'a> {
    pub regions: &'a [String],
    pub global: bool,
    pub installation: &'a str,
}

/// Compare what the cloud found with the states.
pub fn build(scope: &Scope, inventory: &Inventory, states: &[DeploymentState]) -> Report {
    let states = scanned_states(states);
    let mut known: HashSet<(Kind, String)> = HashSet::new();
    let mut groups: HashSet<&str> = HashSet::new();
    for st in &states {
        for (r, _) in recorded(st) {
            known.insert((r.kind, r.id));
        }
        if let Some(b) = st
            .image_builder
            .as_ref()
            .and_then(|b| b.instance_id.as_deref())
        {
            known.insert((Kind::Instance, b.to_string()));
        }
        if let Some(g) = &st.autoscaling_group_name {
            groups.insert(g);
        }
    }
    let local: BTreeSet<&str> = states.iter().map(|s| s.stack_name.as_str()).collect();
    let mut report = Report {
        regions: scope.regions.to_vec(),
        global: scope.global,
        ..Report::default()
    };
    for f in &inventory.found {
        let in_group = f
            .group
            .as_deref()
            .is_some_and(|g| f.kind == Kind::Instance && groups.contains(g));
        if known.contains(&(f.kind, f.id.clone())) || in_group {
            continue;
        }
        let stack_is_local = f.stack.as_deref().is_some_and(|s| local.contains(s));
        let note = match f.installation.as_deref() {
            Some(id) if id == scope.installation => None,
            Some(_) => {
                report.managed_elsewhere.push(Elsewhere {
                    kind: f.kind,
                    id: f.id.clone(),
                    region: f.region.clone(),
                    stack: f.stack.clone(),
                    installation: f.installation.clone(),
                });
                continue;
            }
            None if stack_is_local => Some(
                "no installation tag (made by an older version); its Stack tag names a stack of yours"
                    .to_string(),
            ),
            None => Some(
                "no installation tag (made by an older version) and its Stack tag names no stack of yours: \
                 it may be a teammate's, check before deleting"
                    .to_string(),
            ),
        };
        let adopt_into = f
            .stack
            .as_deref()
            .filter(|_| stack_is_local)
            .and_then(|s| adopt_field(f, s));
        report.orphans.push(Orphan::of(f, adopt_into, note));
    }
    let absent: HashSet<&Recorded> = inventory.absent.iter().collect();
    for st in &states {
        let region = st.region().to_string();
        let scanned = scope.regions.contains(&region);
        for (r, field) in recorded(st) {
            let asked = if r.kind.is_global() {
                scope.global
            } else {
                scanned
            };
            if asked && absent.contains(&r) {
                report.missing.push(Missing {
                    stack: st.stack_name.clone(),
                    region: (!r.kind.is_global()).then(|| region.clone()),
                    kind: r.kind,
                    id: r.id,
                    field,
                });
            }
        }
        if scanned {
            report
                .drift
                .extend(drift::of_stack(st, &inventory.found, &absent));
        }
    }
    report
}

/// Which regions `scan` looks in without `--region` or `--all-regions`:
/// those the AWS states use, and the current one.
pub fn state_regions(states: &[DeploymentState], current: &str) -> Vec<String> {
    let mut regions: BTreeSet<String> = scanned_states(states)
        .iter()
        .map(|s| s.region().to_string())
        .collect();
    regions.insert(current.to_string());
    regions.into_iter().collect()
}
