//! An instance's timeline under the writer lease: its boot markers (those
//! from the lease on wait for it), when it took the lease, when its services
//! stopped (a drain stops them in order), and when the lease is free again.

use super::timing;
use super::world::Instance;
use crate::domain::{Service, Timestamp};

impl Instance {
    /// Its boot markers and when each is written: those from the lease on
    /// wait for it. Then, if it drained, the drain's markers.
    pub fn markers(&self, speed: f64) -> Vec<(&'static str, Timestamp)> {
        let mut wait = 0.0;
        let mut out: Vec<(&'static str, Timestamp)> = timing::boot_markers(self.baked)
            .iter()
            .map(|(name, offset)| {
                if *name == timing::LEASE_MARKER {
                    wait = self.lease_wait_secs;
                }
                (*name, self.running_at.plus_secs(offset / speed + wait))
            })
            .collect();
        if self.never_healthy {
            // Its services never get healthy: no owner, no hook.
            out.retain(|(name, _)| *name != "owner-ready");
        }
        if let Some(from) = self.drain_from {
            out.extend(timing::lat().drain_markers.iter().map(|(name, offset)| {
                let name = match *name {
                    timing::DRAIN_STARTED if self.drained_for_switch => "drain-started:switch",
                    other => other,
                };
                (name, from.plus_secs(offset / speed))
            }));
        }
        if let Some(at) = self.resumed_at {
            out.push(("resumed", at));
        }
        out
    }

    /// When it took the writer lease.
    pub fn lease_taken_at(&self, speed: f64) -> Timestamp {
        self.running_at
            .plus_secs(timing::lease_offset(self.baked) / speed + self.lease_wait_secs)
    }

    /// When `service` stopped in a drain (n8n first, then PostgreSQL, then
    /// the rest), or when the instance went.
    pub fn service_stops_at(&self, service: Service, speed: f64) -> Option<Timestamp> {
        let marker = match service {
            Service::N8n => "drain-n8n-stopped",
            Service::Postgres => "drain-postgres-stopped",
            _ => "lease-released",
        };
        let drained = self.drain_from.and_then(|from| {
            let (_, offset) = timing::lat()
                .drain_markers
                .iter()
                .find(|(m, _)| *m == marker)?;
            Some(from.plus_secs(offset / speed))
        });
        match (drained, self.terminated_at) {
            (Some(a), Some(b)) => Some(if a < b { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    /// When its services stopped: drained, or the instance gone.
    pub fn services_end(&self, speed: f64) -> Option<Timestamp> {
        let drained = self
            .drain_from
            .map(|from| from.plus_secs(timing::drain_total() / speed));
        match (drained, self.terminated_at) {
            (Some(a), Some(b)) => Some(if a < b { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    /// When another instance can take the lease: at once after a drain,
    /// else when the dead holder's lock expires.
    pub fn lease_free_at(&self, speed: f64) -> Option<Timestamp> {
        if self.resumed_at.is_some() {
            // It holds the lease again, until it is gone.
            return self
                .terminated_at
                .map(|end| end.plus_secs(timing::lat().lease_expiry / speed));
        }
        if let Some(from) = self.drain_from {
            return Some(from.plus_secs(timing::drain_total() / speed));
        }
        self.terminated_at
            .map(|end| end.plus_secs(timing::lat().lease_expiry / speed))
    }

    /// Whether it runs the stack's services at `t`: it holds the lease and
    /// has not stopped.
    pub fn writes_at(&self, t: Timestamp, speed: f64) -> bool {
        let first =
            self.lease_taken_at(speed) <= t && self.services_end(speed).is_none_or(|end| t < end);
        let again = self
            .resumed_at
            .is_some_and(|at| at <= t && self.terminated_at.is_none_or(|end| t < end));
        first || again
    }
}
