//! The Orphans view's work: scan the account against the state files, and
//! adopt, forget or delete one finding (the same code as the CLI's `scan`),
//! then scan again so the view shows what is now true.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::app::clouds::Clouds;
use crate::app::msg::Msg;
use crate::cloud::Cloud;
use crate::deploy::scan::{self, Fix, Regions, Scanned};
use crate::domain::scan::state_regions;
use crate::domain::time::Clock;
use crate::store::Store;

#[async_trait]
impl Regions for Clouds {
    async fn cloud_in(&self, region: &str) -> Result<Arc<dyn Cloud>, String> {
        self.in_region(region).await.map(|ctx| ctx.cloud)
    }
}

/// What a scan needs: the clouds (or why there are none), the store, and
/// the region new stacks go to (scanned when no stack is anywhere else).
pub struct ScanWork {
    pub clouds: Result<Clouds, String>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub home_region: String,
    /// Every enabled region, as `scan --all-regions`.
    pub all_regions: bool,
}

impl ScanWork {
    async fn look(&self) -> Result<Scanned, String> {
        let clouds = self.clouds.as_ref().map_err(Clone::clone)?;
        let store = self.store.clone();
        let survey = tokio::task::spawn_blocking(move || scan::survey(&store))
            .await
            .map_err(|e| format!("the scan's task failed: {e}"))?
            .map_err(|e| e.to_string())?;
        let regions = if self.all_regions {
            let home = clouds.cloud_in(&self.home_region).await?;
            home.enabled_regions()
                .await
                .map_err(|e| format!("could not list the enabled regions: {e}"))?
        } else {
            state_regions(&survey.states, &self.home_region)
        };
        scan::look(&survey, &regions, clouds)
            .await
            .map_err(|e| e.to_string())
    }

    /// Scan, and send what it found.
    pub async fn scan(self, tx: mpsc::Sender<Msg>) {
        let result = self.look().await.map(Box::new);
        let _ = tx.send(Msg::Scanned(result)).await;
    }

    /// Scan (the account may have changed since the view's), do `fix` on
    /// `id`, say how it went, and send a fresh scan.
    pub async fn fix(self, id: String, fix: Fix, tx: mpsc::Sender<Msg>) {
        let done = match (self.look().await, &self.clouds) {
            (Ok(scanned), Ok(clouds)) => scan::apply(
                &self.store,
                self.clock.as_ref(),
                &scanned,
                &id,
                &fix,
                clouds,
            )
            .await
            .map_err(|e| e.to_string()),
            (Err(why), _) => Err(why),
            (_, Err(why)) => Err(why.clone()),
        };
        let (error, text) = match done {
            Ok(done) => (false, done),
            Err(why) => (
                true,
                format!("{} {id} was not done: {why}", fix.operation()),
            ),
        };
        let _ = tx.send(Msg::Notice { error, text }).await;
        self.scan(tx).await;
    }
}
