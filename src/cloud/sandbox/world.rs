//! The sandbox's simulated cloud for one stack, kept in
//! `$GEUSEMAKER_HOME/sandbox/<stack>.json` so every process sees the same
//! resources, instance timeline and injected faults.

use serde::{Deserialize, Serialize};

pub use super::group::{ElasticIp, Group, LaunchTemplate};
use super::timing;
pub use super::worlds::{DEFAULT_CALLER, WorldError, Worlds};
use crate::domain::{Service, Timestamp};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub zone: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vpc {
    pub id: String,
    pub subnets: Vec<Subnet>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Efs {
    pub id: String,
    pub available_at: Timestamp,
    pub size_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MountTarget {
    pub id: String,
    pub subnet_id: String,
    pub available_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub id: String,
    pub instance_type: String,
    pub spot: bool,
    pub launched_at: Timestamp,
    pub running_at: Timestamp,
    pub private_ip: String,
    pub public_ip: String,
    #[serde(default)]
    pub terminated_at: Option<Timestamp>,
    #[serde(default)]
    pub state_reason: Option<String>,
    /// Where it runs: the group spreads over the stack's subnets.
    #[serde(default)]
    pub zone: Option<String>,
    #[serde(default)]
    pub subnet_id: Option<String>,
    /// The launch template version it was launched from.
    #[serde(default)]
    pub template_version: Option<i64>,
    /// Launched by the stack's group: when its boot completes the launch
    /// hook (owner ready) and it goes InService.
    #[serde(default)]
    pub in_service_at: Option<Timestamp>,
    /// When a user health-check marked it unhealthy.
    #[serde(default)]
    pub unhealthy_at: Option<Timestamp>,
    /// When the group took it out of service (a loss noticed, a scale-in).
    #[serde(default)]
    pub taken_out_at: Option<Timestamp>,
    /// Seconds its boot waited at "ready to start" for the writer lease,
    /// held by the instance before it.
    #[serde(default)]
    pub lease_wait_secs: f64,
    /// When a spot notice's drain began: its services stop and its lease
    /// goes at the end of `timing::lat().drain_markers`.
    #[serde(default)]
    pub drain_from: Option<Timestamp>,
    /// Its drain was a deliberate switch's (no spot notice, no Unhealthy).
    #[serde(default)]
    pub drained_for_switch: bool,
    /// A switch away from it failed: it took the lease back and started
    /// again then (one such run after a drain is modelled).
    #[serde(default)]
    pub resumed_at: Option<Timestamp>,
    /// It starts but never becomes healthy: its launch hook never completes.
    #[serde(default)]
    pub never_healthy: bool,
    /// Launched from the stack's baked image: no installs, no pulls.
    #[serde(default)]
    pub baked: bool,
}

impl Instance {
    pub fn state_at(&self, t: Timestamp) -> &'static str {
        match self.terminated_at {
            Some(end) if t >= end => "terminated",
            Some(_) => "shutting-down",
            None if t < self.running_at => "pending",
            None => "running",
        }
    }

    pub fn is_running_at(&self, t: Timestamp) -> bool {
        t >= self.running_at && self.terminated_at.is_none_or(|end| t < end)
    }

    /// When compose has started the containers.
    pub fn compose_up_at(&self, speed: f64) -> Timestamp {
        self.running_at
            .plus_secs(timing::boot_total(self.baked) / speed + self.lease_wait_secs)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub arn: String,
    pub dns_name: String,
    pub active_at: Timestamp,
    pub target_group_arn: String,
    pub listener_arn: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    pub id: String,
    pub domain: String,
    pub deployed_at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceEventKind {
    Killed,
    Restored,
    /// Over its memory limit: the kernel kills it, Docker restarts it.
    OomKilled,
    /// A user's restart (`R`, `restart`): down a moment, then starting.
    Restarted,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceEvent {
    pub at: Timestamp,
    pub service: Service,
    pub kind: ServiceEventKind,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpotNotice {
    pub instance_id: String,
    pub at: Timestamp,
    pub terminate_at: Timestamp,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct World {
    pub speed: f64,
    #[serde(default)]
    pub vpc: Option<Vpc>,
    #[serde(default)]
    pub instance_sg: Option<String>,
    #[serde(default)]
    pub efs_sg: Option<String>,
    #[serde(default)]
    pub alb_sg: Option<String>,
    #[serde(default)]
    pub efs: Option<Efs>,
    #[serde(default)]
    pub mount_targets: Vec<MountTarget>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    pub instances: Vec<Instance>,
    #[serde(default)]
    pub load_balancer: Option<LoadBalancer>,
    #[serde(default)]
    pub distribution: Option<Distribution>,
    #[serde(default)]
    pub service_events: Vec<ServiceEvent>,
    #[serde(default)]
    pub spot_notice: Option<SpotNotice>,
    /// No spot capacity for the stack's types (a fault): spot launches fail.
    #[serde(default)]
    pub spot_capacity_out: bool,
    /// The next instance launched never becomes healthy (a fault).
    #[serde(default)]
    pub next_never_healthy: bool,
    /// The stack's baked images, and the builder baking one.
    #[serde(default)]
    pub images: Vec<super::images::WorldImage>,
    #[serde(default)]
    pub builder: Option<super::images::WorldBuilder>,
    /// The next builder's script fails (a fault).
    #[serde(default)]
    pub next_bake_fails: bool,
    /// Writes to Qdrant's collections, per instance (`qdrant`).
    #[serde(default)]
    pub qdrant_writes: Vec<super::qdrant::CollectionWrite>,
    #[serde(default)]
    pub throttled_until: Option<Timestamp>,
    /// Who the stack's n8n admits (its security group's rules).
    #[serde(default)]
    pub allowed_cidrs: Vec<String>,
    /// The launch template, Auto Scaling group and (dev) Elastic IP.
    #[serde(default)]
    pub template: Option<LaunchTemplate>,
    #[serde(default)]
    pub group: Option<Group>,
    #[serde(default)]
    pub address: Option<ElasticIp>,
    /// Ollama's models on the EFS, and pulls under way.
    #[serde(default)]
    pub models: super::models::WorldModels,
}

/// Whether a service answers, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// No process listens: connection refused.
    Down,
    /// Listening, not ready (HTTP 503, Postgres "starting up").
    Starting,
    Ready,
}

impl World {
    pub fn new(speed: f64) -> Self {
        Self {
            speed,
            ..Self::default()
        }
    }

    /// The instance that is (or was last) meant to be running.
    pub fn current_instance(&self) -> Option<&Instance> {
        self.instances
            .iter()
            .rev()
            .find(|i| i.terminated_at.is_none())
            .or_else(|| self.instances.last())
    }

    pub fn live_instance_mut(&mut self) -> Option<&mut Instance> {
        self.instances
            .iter_mut()
            .rev()
            .find(|i| i.terminated_at.is_none())
    }

    pub fn is_throttled(&self, now: Timestamp) -> bool {
        self.throttled_until.is_some_and(|until| now < until)
    }

    /// A service's phase at `t`, from the instance timeline and injected faults.
    pub fn phase(&self, service: Service, t: Timestamp) -> Phase {
        let Some(instance) = self.current_instance() else {
            return Phase::Down;
        };
        let resumed = instance.resumed_at.filter(|at| t >= *at);
        let stopped = resumed.is_none()
            && instance
                .service_stops_at(service, self.speed)
                .is_some_and(|end| t >= end);
        if !instance.is_running_at(t) || stopped {
            return Phase::Down;
        }
        let ready_after = timing::service_ready_after(service) / self.speed;
        let mut started = resumed.unwrap_or_else(|| instance.compose_up_at(self.speed));
        let mut killed = false;
        for event in self.events_since(service, instance.launched_at, t) {
            match event.kind {
                ServiceEventKind::Killed => killed = true,
                // An OOM kill: Docker restarts it at once.
                ServiceEventKind::Restored
                | ServiceEventKind::OomKilled
                | ServiceEventKind::Restarted => {
                    killed = false;
                    started = event.at;
                }
            }
        }
        if killed || t < started {
            Phase::Down
        } else if t < started.plus_secs(ready_after) {
            Phase::Starting
        } else {
            Phase::Ready
        }
    }

    /// Whether `caller` gets through to n8n from outside: CloudFront admits
    /// anyone; otherwise the allowed CIDRs decide.
    pub fn admits(&self, caller: &str) -> bool {
        if self.distribution.is_some() {
            return true;
        }
        let Ok(caller) = crate::cloud::Cidr::parse(caller) else {
            return false;
        };
        self.allowed_cidrs
            .iter()
            .filter_map(|c| crate::cloud::Cidr::parse(c).ok())
            .any(|c| c.contains(&caller))
    }

    /// The phase as a probe sees it: n8n is not ready while its database is not.
    pub fn answer(&self, service: Service, t: Timestamp) -> Phase {
        let own = self.phase(service, t);
        if service == Service::N8n
            && own == Phase::Ready
            && self.phase(Service::Postgres, t) != Phase::Ready
        {
            return Phase::Starting;
        }
        own
    }

    /// What Docker on the instance would report at `t`: a container for each
    /// service once compose is up; a killed one exited, one starting up in
    /// its healthcheck's start period.
    pub fn containers(&self, t: Timestamp) -> Vec<crate::instance::inside::ContainerHealth> {
        let Some(instance) = self.current_instance().filter(|i| i.is_running_at(t)) else {
            return Vec::new();
        };
        let up = instance.compose_up_at(self.speed);
        if t < up {
            return Vec::new();
        }
        // Only a GPU instance's health script reads Ollama's /api/ps.
        let on_gpu = crate::domain::list_prices::has_nvidia_gpu(&instance.instance_type);
        let loaded = on_gpu.then(|| self.models.loaded(true));
        let tags = self.image_tags_of(instance);
        Service::ALL
            .into_iter()
            .map(|service| {
                let started = self
                    .events_since(service, instance.launched_at, t)
                    .filter(|e| e.kind != ServiceEventKind::Killed)
                    .map(|e| e.at)
                    .last()
                    .unwrap_or(up);
                let (state, health) = match self.answer(service, t) {
                    Phase::Down => ("exited", None),
                    Phase::Starting => ("running", Some("starting")),
                    Phase::Ready => ("running", Some("healthy")),
                };
                // compose up, then each restart: Docker's, a user's, an OOM kill's.
                let starts = 1 + self
                    .events_since(service, instance.launched_at, t)
                    .filter(|e| e.kind != ServiceEventKind::Killed)
                    .count() as u32;
                crate::instance::inside::ContainerHealth {
                    service,
                    image: image_running(service, &tags),
                    starts,
                    state: state.into(),
                    health: health.map(str::to_string),
                    started_at: Some(started),
                    probe_ms: Some(timing::service_latency_ms(service)),
                    failing_streak: 0,
                    oom_kills: self
                        .events_since(service, t.plus_secs(-86_400.0), t)
                        .filter(|e| e.kind == ServiceEventKind::OomKilled)
                        .map(|e| e.at)
                        .collect(),
                    loaded: loaded.clone().filter(|_| service == Service::Ollama),
                }
            })
            .collect()
    }

    /// The image tags the version `instance` was launched from runs.
    fn image_tags_of(&self, instance: &Instance) -> crate::domain::images::ImageTags {
        let versions = self.template.iter().flat_map(|t| t.versions.iter());
        versions
            .filter(|v| Some(v.number) == instance.template_version)
            .map(|v| v.image_tags.clone())
            .next()
            .unwrap_or_default()
    }

    pub fn events_since(
        &self,
        service: Service,
        from: Timestamp,
        to: Timestamp,
    ) -> impl Iterator<Item = &ServiceEvent> {
        self.service_events
            .iter()
            .filter(move |e| e.service == service && e.at >= from && e.at <= to)
    }

    /// Settle time-driven changes up to `now`: a spot notice whose time is
    /// up terminates; the group notices a lost instance and replaces it.
    /// Only the world's timestamps decide, so settling again at the same
    /// `now` (or in another process) changes nothing more.
    pub fn settle(&mut self, now: Timestamp) {
        self.models.settle(now, self.speed);
        // Each step is one event at or before `now`; a bound, not a limit.
        for _ in 0..64 {
            if !self.settle_spot_notice(now) && !super::group::step(self, now) {
                return;
            }
        }
    }

    fn settle_spot_notice(&mut self, now: Timestamp) -> bool {
        let Some(notice) = self.spot_notice.clone() else {
            return false;
        };
        if now < notice.terminate_at {
            return false;
        }
        if let Some(instance) = self
            .instances
            .iter_mut()
            .find(|i| i.id == notice.instance_id && i.terminated_at.is_none())
        {
            instance.terminated_at = Some(notice.terminate_at);
            instance.state_reason = Some(super::group::SPOT_CODE.into());
        }
        self.spot_notice = None;
        true
    }

    pub fn is_empty(&self) -> bool {
        self.vpc.is_none()
            && self.instance_sg.is_none()
            && self.efs_sg.is_none()
            && self.alb_sg.is_none()
            && self.efs.is_none()
            && self.mount_targets.is_empty()
            && self.role.is_none()
            && self.secrets.is_empty()
            && self.load_balancer.is_none()
            && self.distribution.is_none()
            && self.template.is_none()
            && self.group.is_none()
            && self.address.is_none()
            && self.instances.iter().all(|i| i.terminated_at.is_some())
    }
}

/// A world with one spot instance launched at `launched_at` and running 3 s
/// later: the starting point of the timeline tests.
#[cfg(test)]
pub fn test_world(launched_at: Timestamp) -> World {
    let mut w = World::new(1.0);
    w.instances.push(Instance {
        id: "i-1".into(),
        instance_type: "t3.medium".into(),
        spot: true,
        launched_at,
        running_at: launched_at.plus_secs(3.0),
        private_ip: "10.0.1.5".into(),
        public_ip: "203.0.113.5".into(),
        terminated_at: None,
        state_reason: None,
        zone: None,
        subnet_id: None,
        template_version: None,
        in_service_at: None,
        unhealthy_at: None,
        taken_out_at: None,
        lease_wait_secs: 0.0,
        drain_from: None,
        drained_for_switch: false,
        resumed_at: None,
        never_healthy: false,
        baked: false,
    });
    w
}

/// `repository:tag` of `service` with `tags` over the pinned ones.
fn image_running(service: Service, tags: &crate::domain::images::ImageTags) -> Option<String> {
    let pinned = crate::instance::user_data::pinned_image(service)?;
    Some(match (tags.get(service.name()), pinned.rsplit_once(':')) {
        (Some(tag), Some((repository, _))) => format!("{repository}:{tag}"),
        _ => pinned.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: f64) -> Timestamp {
        Timestamp::from_unix_millis(0).plus_secs(secs)
    }

    fn world_with_instance() -> World {
        test_world(t(0.0))
    }

    #[test]
    fn services_come_up_after_compose() {
        let w = world_with_instance();
        let up = 3.0 + timing::boot_total(false);
        assert_eq!(w.phase(Service::Postgres, t(1.0)), Phase::Down);
        assert_eq!(w.phase(Service::Postgres, t(up + 0.5)), Phase::Starting);
        assert_eq!(w.phase(Service::Postgres, t(up + 1.0)), Phase::Ready);
        assert_eq!(w.answer(Service::N8n, t(up + 10.0)), Phase::Ready);
    }

    #[test]
    fn a_killed_service_is_down_until_restored_then_restarts() {
        let mut w = world_with_instance();
        let up = 3.0 + timing::boot_total(false);
        w.service_events.push(ServiceEvent {
            at: t(up + 20.0),
            service: Service::Postgres,
            kind: ServiceEventKind::Killed,
        });
        assert_eq!(w.phase(Service::Postgres, t(up + 21.0)), Phase::Down);
        assert_eq!(
            w.answer(Service::N8n, t(up + 21.0)),
            Phase::Starting,
            "n8n is not ready without its database"
        );
        w.service_events.push(ServiceEvent {
            at: t(up + 30.0),
            service: Service::Postgres,
            kind: ServiceEventKind::Restored,
        });
        assert_eq!(w.phase(Service::Postgres, t(up + 30.5)), Phase::Starting);
        assert_eq!(w.phase(Service::Postgres, t(up + 31.5)), Phase::Ready);
    }

    #[test]
    fn a_spot_notice_terminates_when_its_time_is_up() {
        let mut w = world_with_instance();
        w.spot_notice = Some(SpotNotice {
            instance_id: "i-1".into(),
            at: t(100.0),
            terminate_at: t(120.0),
        });
        w.settle(t(110.0));
        assert!(w.instances[0].terminated_at.is_none());
        w.settle(t(121.0));
        assert_eq!(w.instances[0].terminated_at, Some(t(120.0)));
        assert_eq!(w.phase(Service::Qdrant, t(121.0)), Phase::Down);
        assert!(w.spot_notice.is_none());
    }

    #[test]
    fn worlds_persist_and_vanish_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let worlds = Worlds::new(dir.path());
        worlds
            .update("demo", 1.0, |w| w.role = Some("demo-role".into()))
            .unwrap();
        assert_eq!(
            worlds.read("demo").unwrap().unwrap().role.as_deref(),
            Some("demo-role")
        );
        worlds.update("demo", 1.0, |w| w.role = None).unwrap();
        assert!(worlds.read("demo").unwrap().is_none());
    }
}
