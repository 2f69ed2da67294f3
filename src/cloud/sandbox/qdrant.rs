//! Qdrant's data in the sandbox: live on each instance's block storage,
//! snapshotted to EFS every `SNAPSHOT_EVERY` and at a drain, and restored
//! from the newest snapshots by a new instance with empty storage. A write
//! after the last snapshot is lost with an instance lost without a drain,
//! as on AWS. Everything follows from the world's timestamps.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::timing;
use super::world::{Instance, World};
use crate::domain::Timestamp;

/// The timer's period (15 minutes on AWS), compressed like the rest.
pub const SNAPSHOT_EVERY: f64 = 90.0;

/// Points written to a collection on one instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollectionWrite {
    pub instance_id: String,
    pub collection: String,
    /// The collection's point count after the write.
    pub points: u64,
    pub at: Timestamp,
}

/// Collection name to point count.
pub type Collections = BTreeMap<String, u64>;

/// Record a write on the instance that runs the services at `at`; `false`
/// when none does (Qdrant is down).
pub fn write(w: &mut World, collection: &str, points: u64, at: Timestamp) -> bool {
    let speed = w.speed;
    let Some(writer) = w
        .instances
        .iter()
        .find(|i| i.writes_at(at, speed) && i.compose_up_at(speed) <= at)
    else {
        return false;
    };
    let write = CollectionWrite {
        instance_id: writer.id.clone(),
        collection: collection.to_string(),
        points,
        at,
    };
    w.qdrant_writes.push(write);
    true
}

/// What `instance`'s Qdrant holds at `t`: what its boot restored from EFS,
/// then its own writes.
pub fn collections_at(w: &World, instance: &Instance, t: Timestamp) -> Collections {
    let mut held = restored(w, instance);
    let end = instance.service_stops_at(crate::domain::Service::Qdrant, w.speed);
    for write in w
        .qdrant_writes
        .iter()
        .filter(|x| x.instance_id == instance.id && x.at <= t && end.is_none_or(|e| x.at < e))
    {
        held.insert(write.collection.clone(), write.points);
    }
    held
}

/// The newest snapshot of each collection on EFS before `instance` came up.
fn restored(w: &World, instance: &Instance) -> Collections {
    let up = instance.compose_up_at(w.speed);
    let mut newest: BTreeMap<String, (Timestamp, u64)> = BTreeMap::new();
    let earlier = w.instances.iter().take_while(|i| i.id != instance.id);
    for previous in earlier {
        for at in snapshot_times(w, previous)
            .into_iter()
            .filter(|at| *at <= up)
        {
            for (name, points) in collections_at(w, previous, at) {
                if newest.get(&name).is_none_or(|(t, _)| *t <= at) {
                    newest.insert(name, (at, points));
                }
            }
        }
    }
    newest.into_iter().map(|(n, (_, p))| (n, p)).collect()
}

/// When `instance` snapshotted: every `SNAPSHOT_EVERY` while it ran its
/// services, and once more in a drain.
fn snapshot_times(w: &World, instance: &Instance) -> Vec<Timestamp> {
    let speed = w.speed;
    let up = instance.compose_up_at(speed);
    let end = instance.service_stops_at(crate::domain::Service::Qdrant, speed);
    let mut times = Vec::new();
    let mut next = up.plus_secs(SNAPSHOT_EVERY / speed);
    while end.is_some_and(|e| next < e) && times.len() < 1_000 {
        times.push(next);
        next = next.plus_secs(SNAPSHOT_EVERY / speed);
    }
    if let Some(from) = instance.drain_from {
        let offset = timing::lat()
            .drain_markers
            .iter()
            .find(|(m, _)| *m == timing::DRAIN_QDRANT_SNAPSHOT)
            .map_or(0.0, |(_, at)| *at);
        times.push(from.plus_secs(offset / speed));
    }
    times
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::sandbox::group::{self, Ensured};

    fn t(secs: f64) -> Timestamp {
        "2026-12-02T02:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .plus_secs(secs)
    }

    fn deployed() -> World {
        let mut w = World::new(1.0);
        w.vpc = Some(crate::cloud::sandbox::world::Vpc {
            id: "vpc-0123".into(),
            subnets: vec![crate::cloud::sandbox::world::Subnet {
                id: "subnet-0a".into(),
                zone: "us-east-1a".into(),
            }],
        });
        group::template_version(&mut w, "demo", "t3.medium", true, t(0.0), "lt-0aa".into());
        match group::ensure_group(&mut w, "demo", 1, t(0.0), "i-0first".into()) {
            Ensured::Instance(_) => w,
            other => panic!("{other:?}"),
        }
    }

    fn serving(w: &World) -> Instance {
        w.current_instance().cloned().expect("an instance")
    }

    #[test]
    fn a_collection_written_before_a_drained_interruption_is_there_after_it() {
        let mut w = deployed();
        assert!(write(&mut w, "documents", 42, t(30.0)));
        let first = serving(&w);
        first_drains(&mut w, 40.0);
        w.settle(t(200.0));
        let second = serving(&w);
        assert_ne!(second.id, first.id);
        let held = collections_at(&w, &second, t(200.0));
        assert_eq!(held.get("documents"), Some(&42), "{held:?}");
    }

    #[test]
    fn a_hard_loss_loses_the_writes_since_the_last_snapshot() {
        let mut w = deployed();
        let up = serving(&w).compose_up_at(1.0);
        assert!(write(&mut w, "documents", 10, t(20.0)));
        let after_snapshot = t(0.0).secs_until(up) + SNAPSHOT_EVERY + 5.0;
        assert!(write(&mut w, "documents", 99, t(after_snapshot)));
        w.instances[0].terminated_at = Some(t(after_snapshot + 10.0));
        w.settle(t(after_snapshot + 300.0));
        let second = serving(&w);
        let held = collections_at(&w, &second, t(after_snapshot + 300.0));
        assert_eq!(
            held.get("documents"),
            Some(&10),
            "the last snapshot's count"
        );
        assert!(
            !write(&mut w, "x", 1, t(after_snapshot + 11.0)),
            "nobody writes then"
        );
    }

    fn first_drains(w: &mut World, at: f64) {
        let id = w.group.as_ref().unwrap().current.clone().unwrap();
        let instance = w.instances.iter_mut().find(|i| i.id == id).unwrap();
        instance.drain_from = Some(t(at));
        instance.unhealthy_at = Some(t(at + timing::drain_total()));
    }
}
