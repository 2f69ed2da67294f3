//! Fault injection: what goes wrong in a real stack, on demand.

use std::str::FromStr;

use super::world::{ServiceEvent, ServiceEventKind, SpotNotice};
use super::{SandboxCloud, timing};
use crate::cloud::{CloudError, CloudResult};
use crate::domain::Service;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    KillService(Service),
    RestoreService(Service),
    /// The service goes over its memory limit: OOM-killed, then restarted.
    OomKill(Service),
    SpotInterruption,
    Throttle,
    /// The caller's public address changes (a new network, a DHCP lease):
    /// the stack is fine, but no longer admits this machine.
    CallerIpChanged,
    /// The instance terminated from outside (the console, another tool):
    /// its group notices and replaces it.
    TerminateInstance,
    /// The group's instance marked Unhealthy (`set-instance-health`): the
    /// group terminates and replaces it.
    MarkUnhealthy,
    /// Spot capacity for the stack's types runs out, or comes back: the
    /// group's spot launches fail meanwhile.
    NoSpotCapacity,
    SpotCapacityBack,
    /// The next instance the group launches starts but never becomes
    /// healthy (a bad version): its launch hook times out.
    NeverHealthy,
    /// The next image builder's script fails (Docker Hub's rate limit): the
    /// instance boots from the base image and pulls at each boot.
    BakeFails,
    /// The next model pull stops short (a dropped download) until it is
    /// pulled again, resuming where it stopped.
    PullStalls,
}

impl Fault {
    /// Every fault, for the TUI's menu.
    pub fn menu() -> Vec<Fault> {
        let mut all: Vec<Fault> = Service::ALL.into_iter().map(Fault::KillService).collect();
        all.extend(Service::ALL.into_iter().map(Fault::RestoreService));
        // Ollama is the one a model too big for the instance takes over.
        all.extend([
            Fault::OomKill(Service::Ollama),
            Fault::SpotInterruption,
            Fault::TerminateInstance,
            Fault::MarkUnhealthy,
            Fault::Throttle,
            Fault::CallerIpChanged,
            Fault::BakeFails,
            Fault::PullStalls,
        ]);
        all
    }

    pub fn label(self) -> String {
        match self {
            Fault::KillService(s) => format!("kill {s}"),
            Fault::RestoreService(s) => format!("restore {s}"),
            Fault::OomKill(s) => format!("OOM-kill {s}"),
            Fault::SpotInterruption => "spot interruption".into(),
            Fault::Throttle => "API throttling".into(),
            Fault::CallerIpChanged => "caller IP changed".into(),
            Fault::TerminateInstance => "instance terminated from outside".into(),
            Fault::MarkUnhealthy => "instance marked unhealthy".into(),
            Fault::NoSpotCapacity => "no spot capacity".into(),
            Fault::NeverHealthy => "next instance never healthy".into(),
            Fault::BakeFails => "next image bake fails".into(),
            Fault::PullStalls => "next model pull stalls".into(),
            Fault::SpotCapacityBack => "spot capacity back".into(),
        }
    }

    /// Parse the CLI form: `kill-service n8n`, `spot-interruption`, `throttle`.
    pub fn parse(kind: &str, service: Option<&str>) -> Result<Fault, String> {
        let named = || {
            let name = service.ok_or_else(|| {
                format!("{kind} needs a SERVICE (n8n, ollama, qdrant, crawl4ai, postgres)")
            })?;
            Service::from_str(name).map_err(|_| {
                format!("unknown service {name:?}; use n8n, ollama, qdrant, crawl4ai or postgres")
            })
        };
        let no_service = |fault| match service {
            None => Ok(fault),
            Some(extra) => Err(format!("{kind} takes no SERVICE (got {extra:?})")),
        };
        match kind {
            "kill-service" => Ok(Fault::KillService(named()?)),
            "restore-service" => Ok(Fault::RestoreService(named()?)),
            "oom-kill" => Ok(Fault::OomKill(named()?)),
            "spot-interruption" => no_service(Fault::SpotInterruption),
            "throttle" => no_service(Fault::Throttle),
            "caller-ip-changed" => no_service(Fault::CallerIpChanged),
            "terminate-instance" => no_service(Fault::TerminateInstance),
            "mark-unhealthy" => no_service(Fault::MarkUnhealthy),
            "no-spot-capacity" => no_service(Fault::NoSpotCapacity),
            "spot-capacity-back" => no_service(Fault::SpotCapacityBack),
            "never-healthy" => no_service(Fault::NeverHealthy),
            "bake-fails" => no_service(Fault::BakeFails),
            "pull-stalls" => no_service(Fault::PullStalls),
            other => Err(format!(
                "unknown fault {other:?}; use kill-service, restore-service, oom-kill, \
                 spot-interruption, throttle, caller-ip-changed, terminate-instance, \
                 mark-unhealthy, no-spot-capacity, spot-capacity-back, never-healthy, bake-fails \
                 or pull-stalls"
            )),
        }
    }
}

impl SandboxCloud {
    /// A user's restart of one service: down a moment, then starting again.
    pub fn restart(&self, stack: &str, service: Service) -> CloudResult<String> {
        let world = self.world(stack)?;
        let now = self.now();
        let Some(instance) = world.current_instance().filter(|i| i.is_running_at(now)) else {
            return Err(CloudError::Refused(format!(
                "stack {stack} has no running sandbox instance; deploy it first"
            )));
        };
        let id = instance.id.clone();
        self.update_world(stack, |w| {
            w.service_events.push(ServiceEvent {
                at: now,
                service,
                kind: ServiceEventKind::Restarted,
            })
        })?;
        Ok(format!("{service} on {id} restarted"))
    }

    /// Inject `fault` into the stack's world. Returns what happened, in words.
    pub fn inject(&self, stack: &str, fault: Fault) -> CloudResult<String> {
        let world = self.world(stack)?;
        let now = self.now();
        let live = world
            .current_instance()
            .filter(|i| i.is_running_at(now))
            .cloned();
        let refuse = |why: String| Err(CloudError::Refused(why));
        let no_instance =
            || format!("stack {stack} has no running sandbox instance; deploy it first");
        match fault {
            Fault::NoSpotCapacity | Fault::SpotCapacityBack => {
                let out = fault == Fault::NoSpotCapacity;
                self.update_world(stack, |w| w.spot_capacity_out = out)?;
                Ok(if out {
                    format!(
                        "no spot capacity for {stack}'s types: its group's spot launches fail \
                         (what runs keeps running)"
                    )
                } else {
                    format!("spot capacity is back for {stack}'s types")
                })
            }
            Fault::NeverHealthy => {
                self.update_world(stack, |w| w.next_never_healthy = true)?;
                Ok(format!(
                    "the next instance {stack}'s group launches starts and never becomes \
                     healthy; `update` it to another instance type to see the switch revert"
                ))
            }
            Fault::PullStalls => {
                self.update_world(stack, |w| w.models.next_pull_stalls = true)?;
                Ok(format!(
                    "the next model pull on {stack} stops at 40% until it is pulled again; \
                     `models {stack} pull NAME` sees the stall and retries"
                ))
            }
            Fault::BakeFails => {
                self.update_world(stack, |w| w.next_bake_fails = true)?;
                Ok(format!(
                    "the next image builder {stack} starts fails to pull its images; \
                     destroy and deploy (or change --ami-id) to see the deploy go on without it"
                ))
            }
            Fault::OomKill(service) => {
                let Some(instance) = live else {
                    return refuse(no_instance());
                };
                self.update_world(stack, |w| {
                    w.service_events.push(ServiceEvent {
                        at: now,
                        service,
                        kind: ServiceEventKind::OomKilled,
                    })
                })?;
                Ok(format!(
                    "{service} on {} went over its memory limit: OOM-killed (exit 137), \
                     Docker restarts it",
                    instance.id
                ))
            }
            Fault::KillService(service) | Fault::RestoreService(service) => {
                let Some(instance) = live else {
                    return refuse(no_instance());
                };
                let killed = world
                    .events_since(service, instance.launched_at, now)
                    .last()
                    .is_some_and(|e| e.kind == ServiceEventKind::Killed);
                let kind = match fault {
                    Fault::KillService(_) if killed => {
                        return refuse(format!(
                            "{service} is already killed; restore-service {service} brings it back"
                        ));
                    }
                    Fault::RestoreService(_) if !killed => {
                        return refuse(format!("{service} is not killed; nothing to restore"));
                    }
                    Fault::KillService(_) => ServiceEventKind::Killed,
                    _ => ServiceEventKind::Restored,
                };
                self.update_world(stack, |w| {
                    w.service_events.push(ServiceEvent {
                        at: now,
                        service,
                        kind,
                    })
                })?;
                Ok(match kind {
                    ServiceEventKind::Killed => format!(
                        "{service} on {} killed (exit 137); its health check now fails",
                        instance.id
                    ),
                    _ => format!("{service} on {} restarting", instance.id),
                })
            }
            Fault::SpotInterruption => {
                let Some(instance) = live else {
                    return refuse(no_instance());
                };
                if !instance.spot {
                    return refuse(format!(
                        "{} is on-demand; only spot instances are interrupted",
                        instance.id
                    ));
                }
                if world.spot_notice.is_some() {
                    return refuse(format!(
                        "{} already has an interruption notice",
                        instance.id
                    ));
                }
                let terminate_at = now.plus_secs(timing::lat().spot_notice / self.speed);
                let drained = now.plus_secs(timing::drain_total() / self.speed);
                let id = instance.id.clone();
                self.update_world(stack, |w| {
                    // Its spot-signal service drains, releases the lease and
                    // marks it Unhealthy: the group replaces it at once.
                    if let Some(i) = w.instances.iter_mut().find(|i| i.id == id) {
                        i.drain_from = Some(now);
                        i.unhealthy_at = Some(drained);
                    }
                    w.spot_notice = Some(SpotNotice {
                        instance_id: id,
                        at: now,
                        terminate_at,
                    })
                })?;
                Ok(format!(
                    "spot interruption notice for {}: it drains (done at {drained}) and AWS \
                     terminates it at {terminate_at}",
                    instance.id
                ))
            }
            Fault::CallerIpChanged => {
                let before = self.worlds.caller();
                let after = next_caller(&before);
                self.worlds
                    .set_caller(&after)
                    .map_err(|e| CloudError::Refused(e.to_string()))?;
                Ok(format!(
                    "this machine's public address is now {after} (was {before}); \
                     {stack} admits {}",
                    world.allowed_cidrs.join(", ")
                ))
            }
            Fault::TerminateInstance | Fault::MarkUnhealthy => {
                let Some(instance) = live else {
                    return refuse(no_instance());
                };
                self.lose_instance(stack, &instance, fault == Fault::MarkUnhealthy)
            }
            Fault::Throttle => {
                let until = now.plus_secs(timing::THROTTLE_WINDOW / self.speed);
                self.update_world(stack, |w| w.throttled_until = Some(until))?;
                Ok(format!("API calls for {stack} are throttled until {until}"))
            }
        }
    }

    /// The instance lost from outside its group: terminated, or marked
    /// unhealthy (which only a group's instance can be).
    fn lose_instance(
        &self,
        stack: &str,
        instance: &super::world::Instance,
        unhealthy: bool,
    ) -> CloudResult<String> {
        let id = instance.id.clone();
        let grouped = instance.in_group() && instance.taken_out_at.is_none();
        let replaced = if grouped {
            "; its Auto Scaling group notices and replaces it"
        } else {
            ""
        };
        if unhealthy {
            if !grouped {
                return Err(CloudError::Refused(format!(
                    "{id} is not in an Auto Scaling group: there is no group health to set"
                )));
            }
            if instance.unhealthy_at.is_some() {
                return Err(CloudError::Refused(format!("{id} is already unhealthy")));
            }
            let now = self.now();
            self.update_world(stack, |w| {
                if let Some(i) = w.instances.iter_mut().find(|i| i.id == id) {
                    i.unhealthy_at = Some(now);
                }
            })?;
            return Ok(format!(
                "{id} marked Unhealthy (as by aws autoscaling set-instance-health){replaced}"
            ));
        }
        let end = self
            .now()
            .plus_secs(timing::lat().terminate_instance / self.speed);
        self.update_world(stack, |w| {
            if let Some(i) = w.instances.iter_mut().find(|i| i.id == id) {
                i.terminated_at = Some(end);
                i.state_reason = Some(super::group::SHUTDOWN_CODE.into());
            }
            if w.spot_notice.as_ref().is_some_and(|n| n.instance_id == id) {
                w.spot_notice = None;
            }
        })?;
        Ok(format!(
            "{id} terminated from outside (as from the EC2 console) at {end}{replaced}"
        ))
    }

    /// Change the world as of now: what time has done to it first.
    pub(super) fn update_world(
        &self,
        stack: &str,
        change: impl FnOnce(&mut super::world::World),
    ) -> CloudResult<()> {
        let now = self.now();
        self.worlds
            .update(stack, self.speed, |w| {
                w.settle(now);
                change(w)
            })
            .map_err(|e| CloudError::Refused(e.to_string()))
    }
}

/// Another documentation address (198.51.100.0/24), never the one before.
fn next_caller(before: &str) -> String {
    let last: u8 = before
        .trim_end_matches("/32")
        .rsplit('.')
        .next()
        .and_then(|o| o.parse().ok())
        .unwrap_or(23);
    format!("198.51.100.{}/32", last.wrapping_add(54).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_moves_to_another_address() {
        assert_eq!(next_caller("198.51.100.23/32"), "198.51.100.77/32");
        assert_ne!(next_caller("198.51.100.77/32"), "198.51.100.77/32");
        assert_eq!(
            Fault::parse("caller-ip-changed", None),
            Ok(Fault::CallerIpChanged)
        );
    }

    #[test]
    fn parses_the_cli_forms() {
        assert_eq!(
            Fault::parse("kill-service", Some("n8n")),
            Ok(Fault::KillService(Service::N8n))
        );
        assert_eq!(Fault::parse("throttle", None), Ok(Fault::Throttle));
        assert!(
            Fault::parse("kill-service", None)
                .unwrap_err()
                .contains("needs a SERVICE")
        );
        assert!(
            Fault::parse("kill-service", Some("redis"))
                .unwrap_err()
                .contains("unknown service")
        );
        assert!(Fault::parse("throttle", Some("n8n")).is_err());
        assert!(Fault::parse("explode", None).is_err());
    }
}
