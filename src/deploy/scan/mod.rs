//! `scan`'s work, shared by the CLI and the dashboard's Orphans view: look
//! in each region and compare with the state files; adopt or forget a
//! finding under its stack's lock; delete an orphan. Each change is audited.

mod fix;
#[cfg(test)]
mod tests;

pub use fix::{Fix, apply, question};
use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::cloud::Cloud;
use crate::domain::scan::{self, Found, Inventory, Recorded, Report, Scope};
use crate::domain::{DeploymentState, StackName};
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// Asked for something that cannot be done; nothing was changed.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

/// Where each region's cloud comes from.
#[async_trait]
pub trait Regions: Sync {
    async fn cloud_in(&self, region: &str) -> Result<Arc<dyn Cloud>, String>;
}

/// What one scan saw: the report, and the resources behind it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scanned {
    pub report: Report,
    pub found: Vec<Found>,
    /// Stacks with an operation under way, and who runs it: what they
    /// make is recorded as it goes, so their findings are not acted on.
    pub busy: BTreeMap<String, String>,
}

/// The store's side of a scan: the states, this installation's id, and
/// the stacks busy now. Blocking file reads.
pub struct Survey {
    pub states: Vec<DeploymentState>,
    pub installation: String,
    pub busy: BTreeMap<String, String>,
    /// State files set aside as unreadable.
    pub warnings: Vec<String>,
}

pub fn survey(store: &Store) -> Result<Survey, ScanError> {
    let failed = |e: crate::store::StoreError| ScanError::Failed(e.to_string());
    let listing = store.list().map_err(failed)?;
    let busy = listing
        .stacks
        .iter()
        .filter_map(|s| {
            let name = StackName::parse(&s.stack_name).ok()?;
            let holder = store.lock_holder(&name)?;
            Some((s.stack_name.clone(), holder.to_string()))
        })
        .collect();
    Ok(Survey {
        installation: store.installation_id().map_err(failed)?,
        warnings: listing
            .quarantined
            .iter()
            .map(ToString::to_string)
            .collect(),
        states: listing.stacks,
        busy,
    })
}

/// Regions asked at once: every region in seconds rather than a minute,
/// without a burst of calls that AWS would throttle.
const REGIONS_AT_ONCE: usize = 6;

/// Ask each region (the first also for IAM and CloudFront) what is tagged
/// as GeuseMaker's and which recorded resources are gone, and compare.
pub async fn look(
    survey: &Survey,
    regions: &[String],
    clouds: &dyn Regions,
) -> Result<Scanned, ScanError> {
    use futures_util::stream::{self, StreamExt};
    let (states, installation) = (&survey.states, survey.installation.as_str());
    let compared = scan::scanned_states(states);
    let asked = regions.iter().enumerate().map(|(i, region)| {
        // The first region's answer also holds IAM's and CloudFront's.
        let global = i == 0;
        let recorded: Vec<Recorded> = compared
            .iter()
            .flat_map(|st| {
                let here = st.region() == region;
                scan::recorded(st)
                    .into_iter()
                    .map(|(r, _)| r)
                    .filter(move |r| if r.kind.is_global() { global } else { here })
            })
            .collect();
        let region = region.clone();
        async move {
            let cloud = clouds.cloud_in(&region).await.map_err(ScanError::Failed)?;
            cloud
                .inventory(global, &recorded)
                .await
                .map_err(|e| ScanError::Failed(format!("scanning {region}: {e}")))
        }
    });
    // Made before they are streamed: each future then owns its region.
    let asked: Vec<_> = asked.collect();
    let answers: Vec<Result<Inventory, ScanError>> = stream::iter(asked)
        .buffered(REGIONS_AT_ONCE)
        .collect()
        .await;
    let mut inventory = Inventory::default();
    for part in answers {
        let part = part?;
        inventory.found.extend(part.found);
        inventory.absent.extend(part.absent);
    }
    let scope = Scope {
        regions,
        global: !regions.is_empty(),
        installation,
    };
    Ok(Scanned {
        report: scan::build(&scope, &inventory, states),
        found: inventory.found,
        busy: survey.busy.clone(),
    })
}
