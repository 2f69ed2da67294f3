//! The sandbox's Auto Scaling group of one, launched from a launch template
//! and held by a launch hook: every instance waits in `Pending:Wait` until
//! its boot completes the hook (compose up, n8n's owner set up), then goes
//! `InService`. When the instance is lost (a spot interruption, a
//! termination from outside, a failed user health-check) while the group
//! wants 1, the group notices, records AWS's own activities and launches a
//! replacement, in the other zone, with no monitor running: `settle` works
//! it all out from the world's timestamps, in any process.

use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};

use super::timing;
use super::world::{Instance, World};
use crate::domain::Timestamp;
use crate::domain::recovery::ActivityKind;

/// The hook each instance completes at the end of its boot (as on AWS).
pub const LAUNCH_HOOK: &str = "geusemaker-ready";
/// Activities kept per group (AWS's DescribeScalingActivities page).
pub const ACTIVITIES_KEPT: usize = 50;
/// EC2's state reasons, as the instance's `state_reason` codes.
pub const SPOT_CODE: &str = "Server.SpotInstanceTermination";
pub const SHUTDOWN_CODE: &str = "Client.UserInitiatedShutdown";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplateVersion {
    pub number: i64,
    pub instance_type: String,
    pub spot: bool,
    pub created_at: Timestamp,
    /// The baked image it launches, or none: the base image.
    #[serde(default)]
    pub image: Option<String>,
    /// Image tags other than the pinned ones its compose file runs.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub image_tags: crate::domain::images::ImageTags,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LaunchTemplate {
    pub id: String,
    pub name: String,
    /// Oldest first; never empty.
    pub versions: Vec<TemplateVersion>,
}

/// Dev's Elastic IP: each instance of the group claims it at boot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ElasticIp {
    pub allocation_id: String,
    pub public_ip: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    /// 0 or 1 (min = max = desired).
    pub desired: i32,
    pub hook: String,
    /// The template version it launches.
    pub version: i64,
    /// The instance the group counts as its capacity.
    #[serde(default)]
    pub current: Option<String>,
    /// When the group launches the next instance (after a loss).
    #[serde(default)]
    pub replace_at: Option<Timestamp>,
    /// Oldest first, the last `ACTIVITIES_KEPT`.
    #[serde(default)]
    pub activities: Vec<Activity>,
    /// Its mixed policy moved to 100% on-demand (no spot capacity).
    #[serde(default)]
    pub on_demand: bool,
}

/// One scaling activity as the world keeps it: its status follows from
/// `ends_at` and the clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub kind: ActivityKind,
    pub instance_id: String,
    pub cause: String,
    pub started_at: Timestamp,
    /// A launch: when its instance goes InService; a termination: when
    /// the instance is gone.
    pub ends_at: Timestamp,
    #[serde(default)]
    pub zone: Option<String>,
    #[serde(default)]
    pub instance_reason: Option<String>,
    /// A launch that made no instance (no spot capacity).
    #[serde(default)]
    pub failed: bool,
}

/// What `ensure_group` did: the group's instance, or when to look again.
#[derive(Clone, Debug, PartialEq)]
pub enum Ensured {
    Instance(Box<Instance>),
    /// A new version prepared beside the old instance, and the plan of the
    /// switch to it.
    Switched(Box<Instance>, Box<crate::domain::switch::Switch>),
    /// An instance is on its way out first (one writer on the EFS).
    WaitUntil(Timestamp, String),
}

/// AWS's clock in a cause: seconds, UTC, `Z`.
pub fn aws_time(t: Timestamp) -> String {
    t.0.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn launch_cause(t: Timestamp) -> String {
    format!(
        "At {} an instance was started in response to a difference between desired and \
         actual capacity, increasing the capacity from 0 to 1.",
        aws_time(t)
    )
}

pub fn scale_in_cause(t: Timestamp, from: i32) -> String {
    format!(
        "At {} a user request update of AutoScalingGroup constraints to min: 0, max: 0, \
         desired: 0 changing the desired capacity from {from} to 0.",
        aws_time(t)
    )
}

fn lost_cause(t: Timestamp, unhealthy: bool) -> String {
    let why = if unhealthy {
        "a user health-check"
    } else {
        "an EC2 health check indicating it has been terminated or stopped"
    };
    format!(
        "At {} an instance was taken out of service in response to {why}.",
        aws_time(t)
    )
}

fn replaced_cause(t: Timestamp) -> String {
    format!(
        "At {} an instance was taken out of service in response to a user request.",
        aws_time(t)
    )
}

/// EC2's state reason message for a code the sandbox sets.
fn reason_message(code: &str) -> String {
    match code {
        SPOT_CODE => format!("{SPOT_CODE}: Spot instance termination"),
        SHUTDOWN_CODE => format!("{SHUTDOWN_CODE}: User initiated shutdown"),
        other => other.to_string(),
    }
}

pub fn group_name(stack: &str) -> String {
    format!("{stack}-geusemaker")
}

/// The stack's Elastic IP: a documentation address (TEST-NET-3), the same
/// for a stack on every run, apart from the per-instance ones (.10 up).
pub fn address_for(stack: &str) -> String {
    format!("203.0.113.{}", 100 + super::networks::fnv(stack) % 100)
}

impl LaunchTemplate {
    pub fn latest(&self) -> &TemplateVersion {
        self.versions.last().expect("a template has a version")
    }
}

/// The template's version launching `instance_type` on that market: the
/// latest when it does, else a new one. Returns (id, version).
pub fn template_version(
    w: &mut World,
    stack: &str,
    instance_type: &str,
    spot: bool,
    now: Timestamp,
    new_id: String,
) -> (String, i64) {
    let what = Launches {
        instance_type,
        spot,
        image: None,
        image_tags: Default::default(),
    };
    template_version_of(w, stack, what, now, new_id)
}

/// What a template version launches.
pub struct Launches<'a> {
    pub instance_type: &'a str,
    pub spot: bool,
    /// A baked image, or none: the base image.
    pub image: Option<String>,
    pub image_tags: crate::domain::images::ImageTags,
}

/// The same, for a version that launches `image` (a baked one) too.
pub fn template_version_of(
    w: &mut World,
    stack: &str,
    what: Launches<'_>,
    now: Timestamp,
    new_id: String,
) -> (String, i64) {
    let version = |number| TemplateVersion {
        number,
        instance_type: what.instance_type.to_string(),
        spot: what.spot,
        created_at: now,
        image: what.image.clone(),
        image_tags: what.image_tags.clone(),
    };
    let template = w.template.get_or_insert_with(|| LaunchTemplate {
        id: new_id,
        name: group_name(stack),
        versions: vec![version(1)],
    });
    let latest = template.latest();
    if latest.instance_type != what.instance_type
        || latest.spot != what.spot
        || latest.image != what.image
        || latest.image_tags != what.image_tags
    {
        let next = latest.number + 1;
        template.versions.push(version(next));
    }
    (template.id.clone(), template.latest().number)
}

/// Versions that differ in their image alone run the same services: an
/// instance on one is current on the other.
pub(super) fn runs_alike(w: &World, a: i64, b: i64) -> bool {
    let Some(template) = &w.template else {
        return a == b;
    };
    let of = |n| template.versions.iter().find(|v| v.number == n);
    match (of(a), of(b)) {
        (Some(x), Some(y)) => {
            x.instance_type == y.instance_type && x.spot == y.spot && x.image_tags == y.image_tags
        }
        _ => a == b,
    }
}

/// The newest version that runs like `version` (an image baked since).
pub(super) fn newest_like(w: &World, version: i64) -> i64 {
    let numbers = w
        .template
        .iter()
        .flat_map(|t| t.versions.iter().map(|v| v.number));
    numbers
        .filter(|n| runs_alike(w, *n, version))
        .max()
        .unwrap_or(version)
}

impl Instance {
    /// Launched by the stack's group.
    pub fn in_group(&self) -> bool {
        self.in_service_at.is_some()
    }

    /// When the group notices this instance is lost, and whether by a user
    /// health-check (else EC2's, seeing it terminated).
    fn loss(&self, speed: f64) -> Option<(Timestamp, bool)> {
        if self.taken_out_at.is_some() {
            return None;
        }
        let delay = timing::lat().group_notices_loss / speed;
        let ec2 = self.terminated_at.map(|end| (end.plus_secs(delay), false));
        let user = self.unhealthy_at.map(|at| (at.plus_secs(delay), true));
        match (ec2, user) {
            (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
            (a, b) => a.or(b),
        }
    }
}

impl Group {
    fn record(&mut self, activity: Activity) {
        self.activities.push(activity);
        let excess = self.activities.len().saturating_sub(ACTIVITIES_KEPT);
        self.activities.drain(..excess);
    }
}

/// One time-driven step of the group at `now`; false when there is none.
pub fn step(w: &mut World, now: Timestamp) -> bool {
    let speed = w.speed;
    let Some(group) = w.group.as_ref().filter(|g| g.desired > 0) else {
        return false;
    };
    match group.current.clone() {
        Some(id) => {
            let Some(instance) = w.instances.iter().find(|i| i.id == id) else {
                // Gone without a trace (the network's teardown): nothing to replace.
                if let Some(g) = w.group.as_mut() {
                    g.current = None;
                }
                return true;
            };
            match instance.loss(speed) {
                Some((noticed, unhealthy)) if noticed <= now => {
                    take_out(w, &id, noticed, lost_cause(noticed, unhealthy));
                    true
                }
                _ => false,
            }
        }
        None => match group.replace_at.filter(|at| *at <= now) {
            Some(at) => {
                let id = replacement_id(w, at);
                try_launch(w, at, id);
                true
            }
            None => false,
        },
    }
}

/// The group takes `id` out of service at `at` (terminating it if it still
/// runs) and plans the next launch once it is gone.
fn take_out(w: &mut World, id: &str, at: Timestamp, cause: String) {
    let speed = w.speed;
    let Some(instance) = w.instances.iter_mut().find(|i| i.id == id) else {
        return;
    };
    instance.taken_out_at = Some(at);
    if instance.terminated_at.is_none() {
        instance.terminated_at = Some(at.plus_secs(timing::lat().terminate_instance / speed));
        instance.state_reason = Some(SHUTDOWN_CODE.into());
    }
    let gone = instance.terminated_at.unwrap_or(at).max(at);
    let activity = Activity {
        kind: ActivityKind::Terminate,
        instance_id: id.to_string(),
        cause,
        started_at: at,
        ends_at: gone,
        zone: instance.zone.clone(),
        instance_reason: instance.state_reason.as_deref().map(reason_message),
        failed: false,
    };
    if w.spot_notice.as_ref().is_some_and(|n| n.instance_id == id) {
        w.spot_notice = None;
    }
    if let Some(g) = w.group.as_mut() {
        g.record(activity);
        if g.current.as_deref() == Some(id) {
            g.current = None;
        }
        g.replace_at = (g.desired > 0)
            .then(|| gone.plus_secs(timing::lat().group_launches_replacement / speed));
    }
}

/// A replacement's id: derived from the world, so every process settling
/// the same world names it alike (a read does not write the world back).
fn replacement_id(w: &World, at: Timestamp) -> String {
    let name = w.group.as_ref().map_or("", |g| g.name.as_str());
    let key = format!("{name}/{}/{}", at.unix_millis(), w.instances.len());
    format!("i-0{:016x}", super::networks::fnv(&key))
}

/// Whether the group's version launches a baked image.
pub(super) fn launches_baked(w: &World) -> bool {
    version_of(w).is_some_and(|v| v.image.is_some())
}

fn version_of(w: &World) -> Option<TemplateVersion> {
    w.group
        .as_ref()
        .and_then(|g| {
            let t = w.template.as_ref()?;
            t.versions
                .iter()
                .find(|v| v.number == g.version)
                .or(Some(t.latest()))
        })
        .cloned()
}

/// The group launches `id` at `at`, from its template version, in the zone
/// after its last instance's (the other one of two), claiming the address.
fn launch(w: &mut World, at: Timestamp, id: String) -> Instance {
    let speed = w.speed;
    let version = version_of(w);
    let subnets = w
        .vpc
        .as_ref()
        .map(|v| v.subnets.clone())
        .unwrap_or_default();
    let previous = w
        .instances
        .iter()
        .rev()
        .find(|i| i.in_group())
        .and_then(|i| i.subnet_id.clone());
    let index = previous
        .and_then(|p| subnets.iter().position(|s| s.id == p))
        .map_or(0, |i| (i + 1) % subnets.len().max(1));
    let subnet = subnets.get(index);
    let n = w.instances.len() % 200;
    let last = w.instances.last();
    let running_at = at.plus_secs(timing::lat().instance_pending / speed);
    let baked = version.as_ref().is_some_and(|v| v.image.is_some());
    let lease_wait_secs = lease_wait(w, running_at, baked);
    let instance = Instance {
        id,
        instance_type: version.as_ref().map_or_else(
            || last.map_or("t3.medium".into(), |i| i.instance_type.clone()),
            |v| v.instance_type.clone(),
        ),
        spot: version
            .as_ref()
            .map_or(last.is_some_and(|i| i.spot), |v| v.spot)
            && !w.group.as_ref().is_some_and(|g| g.on_demand),
        launched_at: at,
        running_at,
        private_ip: format!("10.0.{}.{}", 1 + index, 20 + n),
        // TEST-NET-3: documentation addresses, never a real host.
        public_ip: match &w.address {
            Some(eip) => eip.public_ip.clone(),
            None => format!("203.0.113.{}", 10 + n),
        },
        terminated_at: None,
        state_reason: None,
        zone: subnet.map(|s| s.zone.clone()),
        subnet_id: subnet.map(|s| s.id.clone()),
        template_version: version.as_ref().map(|v| v.number),
        in_service_at: Some(
            running_at.plus_secs(timing::hook_completed_after(baked) / speed + lease_wait_secs),
        ),
        unhealthy_at: None,
        taken_out_at: None,
        lease_wait_secs,
        drain_from: None,
        drained_for_switch: false,
        resumed_at: None,
        never_healthy: std::mem::take(&mut w.next_never_healthy),
        baked,
    };
    w.instances.push(instance.clone());
    if let Some(g) = w.group.as_mut() {
        g.current = Some(instance.id.clone());
        g.replace_at = None;
        g.record(Activity {
            kind: ActivityKind::Launch,
            instance_id: instance.id.clone(),
            cause: launch_cause(at),
            started_at: at,
            ends_at: instance.in_service_at.unwrap_or(running_at),
            zone: instance.zone.clone(),
            instance_reason: None,
            failed: false,
        });
    }
    instance
}

/// How long an instance running from `running_at` waits at "ready to
/// start" for the writer lease: until every earlier instance has let it go
/// (a bare one, from before groups, held it only from a migration's start).
fn lease_wait(w: &World, running_at: Timestamp, baked: bool) -> f64 {
    let ready = running_at.plus_secs(timing::lease_offset(baked) / w.speed);
    w.instances
        .iter()
        .filter_map(|i| {
            if i.in_group() || i.drain_from.is_some() || i.resumed_at.is_some() {
                i.lease_free_at(w.speed)
            } else {
                i.terminated_at
            }
        })
        .map(|free| ready.secs_until(free).max(0.0))
        .fold(0.0, f64::max)
}

/// The instances running the stack's services at `t`: one at most, or the
/// one-writer rule is broken. A bare instance (from before groups) took no
/// lease: it writes from compose up until it drains or is gone, and again
/// once it resumes.
pub fn writers_at(w: &World, t: Timestamp) -> Vec<String> {
    w.instances
        .iter()
        .filter(|i| {
            if i.in_group() {
                i.writes_at(t, w.speed)
            } else {
                let ran = i.compose_up_at(w.speed) <= t
                    && i.services_end(w.speed).is_none_or(|end| t < end);
                let again = i
                    .resumed_at
                    .is_some_and(|at| at <= t && i.terminated_at.is_none_or(|end| t < end));
                i.is_running_at(t) && (ran || again)
            }
        })
        .map(|i| i.id.clone())
        .collect()
}

pub use super::group_view::view;
use capacity::try_launch;
pub use capacity::{NO_SPOT_CAPACITY, go_on_demand};
pub use deploying::{delete, ensure_group, ensure_group_replacing, scale_in};
use switching::switch;

#[path = "group_capacity.rs"]
mod capacity;
#[path = "group_deploy.rs"]
mod deploying;
#[path = "group_switch.rs"]
mod switching;

#[cfg(test)]
#[path = "lease_tests.rs"]
mod lease_tests;
#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
