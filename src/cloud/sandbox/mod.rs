//! The sandbox: an in-process simulated cloud, for trying the product with no
//! AWS account and for demos. Its resources live in `$GEUSEMAKER_HOME/sandbox/`
//! so a stack deployed by one process is seen, probed, faulted and destroyed
//! by others. It is never a substitute for testing the AWS path (moto does that).

mod edge;
mod fakes;
mod networks;
pub use networks::catalogue as networks_of;
mod faults;
pub mod group;
mod group_view;
mod images;
mod launch;
mod lease;
pub mod logs;
mod models;
mod provider;
pub mod qdrant;
mod teardown;
pub mod timing;
pub mod world;
mod worlds;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use faults::Fault;

use self::fakes::FakeServices;
use self::world::{World, Worlds};
use crate::cloud::{CloudError, CloudResult};
use crate::domain::Timestamp;
use crate::domain::time::Clock;

#[derive(Debug)]
pub struct SandboxCloud {
    worlds: Worlds,
    speed: f64,
    clock: Arc<dyn Clock>,
    fakes: FakeServices,
}

/// Read `GEUSEMAKER_SANDBOX_SPEED` (a factor > 0; 1 = the normal pace).
pub fn speed_from_env() -> Result<f64, String> {
    match std::env::var(timing::SPEED_ENV) {
        Err(_) => Ok(1.0),
        Ok(text) => match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 && v <= 1000.0 => Ok(v),
            _ => Err(format!(
                "{}={text:?} is not a speed factor; use a number from 0.01 to 1000 (1 = normal)",
                timing::SPEED_ENV
            )),
        },
    }
}

impl SandboxCloud {
    pub fn new(home: &Path, clock: Arc<dyn Clock>, speed: f64) -> Self {
        let worlds = Worlds::new(home.join("sandbox"));
        Self {
            fakes: FakeServices::new(worlds.clone(), clock.clone(), speed),
            worlds,
            speed,
            clock,
        }
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Simulated time passing (scaled by the speed factor).
    async fn pause(&self, secs: f64) {
        tokio::time::sleep(Duration::from_secs_f64(secs / self.speed)).await;
    }

    /// The stack's world as of now (without writing anything).
    fn world(&self, stack: &str) -> CloudResult<World> {
        let mut world = self
            .worlds
            .read(stack)
            .map_err(|e| CloudError::Refused(e.to_string()))?
            .unwrap_or_else(|| World::new(self.speed));
        world.settle(self.now());
        Ok(world)
    }

    /// A control-plane call: it takes `secs`, may be throttled, then changes the world.
    async fn call<R>(
        &self,
        stack: &str,
        operation: &str,
        secs: f64,
        change: impl FnOnce(&mut World, Timestamp) -> R,
    ) -> CloudResult<R> {
        if self.world(stack)?.is_throttled(self.now()) {
            self.pause(0.1).await;
            return Err(CloudError::Throttled {
                operation: operation.to_string(),
            });
        }
        self.pause(secs).await;
        let now = self.now();
        self.worlds
            .update(stack, self.speed, |w| {
                w.settle(now);
                change(w, now)
            })
            .map_err(|e| CloudError::Refused(e.to_string()))
    }

    /// Wait until `ready_at`, reporting progress of `what` as the time passes.
    async fn wait_until(
        &self,
        s: &mut crate::cloud::Session,
        from: Timestamp,
        ready_at: Timestamp,
        what: &str,
    ) -> CloudResult<()> {
        let total = from.secs_until(ready_at).max(0.001);
        loop {
            let now = self.now();
            if now >= ready_at {
                return Ok(());
            }
            let done = from.secs_until(now) / total;
            s.progress(Some(done), what)?;
            let left = now.secs_until(ready_at);
            tokio::time::sleep(Duration::from_secs_f64(left.min(0.5))).await;
        }
    }
}

pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}-0{:016x}", rand::random::<u64>())
}

#[cfg(test)]
pub(crate) mod tests_support {
    pub use super::fakes::error_response;
}
