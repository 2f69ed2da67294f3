//! Re-reading the state directory cheaply: only files whose size or mtime
//! changed are parsed again, so polling 1,000 stacks costs a `readdir` + `stat`s.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::time::SystemTime;

use super::deployments::{is_state_file, parse_or_quarantine};
use super::{Listing, Store, StoreError, io_error};
use crate::domain::DeploymentState;

#[derive(Debug)]
pub struct ListingCache {
    store: Store,
    files: HashMap<PathBuf, (SystemTime, u64, DeploymentState)>,
    primed: bool,
}

impl ListingCache {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            files: HashMap::new(),
            primed: false,
        }
    }

    /// The listing if anything changed since the last call (always, the first time).
    pub fn refresh(&mut self) -> Result<Option<Listing>, StoreError> {
        let dir = self.store.deployments_dir();
        let mut listing = Listing::default();
        let mut seen = HashMap::new();
        let mut changed = !self.primed;
        for entry in fs::read_dir(&dir).map_err(io_error(&dir))?.flatten() {
            let path = entry.path();
            if !is_state_file(&path) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            let stamp = (
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                meta.len(),
            );
            if let Some((mtime, len, state)) = self.files.remove(&path)
                && (mtime, len) == stamp
            {
                seen.insert(path, (mtime, len, state));
                continue;
            }
            changed = true;
            match fs::read(&path) {
                Ok(bytes) => match parse_or_quarantine(&path, &bytes) {
                    Ok(state) => {
                        seen.insert(path, (stamp.0, stamp.1, state));
                    }
                    Err(StoreError::Corrupt(q)) => listing.quarantined.push(q),
                    Err(e) => listing.unreadable.push((path, e.to_string())),
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => listing.unreadable.push((path, e.to_string())),
            }
        }
        changed |= !self.files.is_empty();
        self.files = seen;
        self.primed = true;
        if !changed {
            return Ok(None);
        }
        listing.stacks = self.files.values().map(|(_, _, s)| s.clone()).collect();
        listing
            .stacks
            .sort_by(|a, b| a.stack_name.cmp(&b.stack_name));
        Ok(Some(listing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Provider, Tier};

    #[test]
    fn reports_only_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let t = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut a = DeploymentState::new("a1", Tier::Dev, "us-east-1", Provider::Sandbox, t);
        store.save(&a).unwrap();
        let mut cache = ListingCache::new(store.clone());
        assert_eq!(cache.refresh().unwrap().unwrap().stacks.len(), 1);
        assert!(cache.refresh().unwrap().is_none(), "nothing changed");
        a.region = Some("eu-west-1".into());
        store.save(&a).unwrap();
        let changed = cache.refresh().unwrap().unwrap();
        assert_eq!(changed.stacks[0].region(), "eu-west-1");
        store
            .remove(&crate::domain::StackName::parse("a1").unwrap())
            .unwrap();
        assert!(cache.refresh().unwrap().unwrap().stacks.is_empty());
    }
}
