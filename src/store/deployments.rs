//! Deployment state files: load, save, list, and quarantine of files that do
//! not parse (moved aside to `<name>.corrupt-<timestamp>`, never overwritten).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use std::collections::HashMap;

use super::brief::{Brief, BriefRecord};
use super::brief_index::{BriefIndex, Entry, FileKey};
use super::{Store, StoreError, atomic, io_error};
use crate::domain::state::json;
use crate::domain::{DeploymentState, StackName};

/// A state file that did not parse and was moved aside.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{path:?} could not be read ({reason}); it was moved to {moved_to:?} and nothing else was changed. Repair it and move it back, or delete it"
)]
pub struct Quarantined {
    pub path: PathBuf,
    pub moved_to: PathBuf,
    pub reason: String,
}

#[derive(Debug)]
pub struct Listing<T = DeploymentState> {
    /// Sorted by stack name.
    pub stacks: Vec<T>,
    pub quarantined: Vec<Quarantined>,
    /// Files that could not even be read (permissions, I/O).
    pub unreadable: Vec<(PathBuf, String)>,
}

impl<T> Default for Listing<T> {
    fn default() -> Self {
        Self {
            stacks: Vec::new(),
            quarantined: Vec::new(),
            unreadable: Vec::new(),
        }
    }
}

/// Files are read and parsed on this many threads at most.
const MAX_READERS: usize = 4;

impl Store {
    pub fn load(&self, stack: &StackName) -> Result<Option<DeploymentState>, StoreError> {
        let path = self.deployment_path(stack);
        match fs::read(&path) {
            Ok(bytes) => parse_or_quarantine(&path, &bytes).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path)(e)),
        }
    }

    /// Write the state, unless it breaks a rule of seed 000 §8.7: then the
    /// file on disk is left as it was and the error names the rule.
    pub fn save(&self, state: &DeploymentState) -> Result<(), StoreError> {
        let violations = state.integrity_violations();
        if !violations.is_empty() {
            return Err(StoreError::Integrity {
                stack: state.stack_name.clone(),
                violations,
            });
        }
        let stack = StackName::parse(&state.stack_name).map_err(|e| StoreError::Io {
            path: self.deployments_dir(),
            source: io::Error::new(io::ErrorKind::InvalidInput, e),
        })?;
        let path = self.deployment_path(&stack);
        let mut bytes = serde_json::to_vec_pretty(state).map_err(|e| StoreError::Io {
            path: path.clone(),
            source: e.into(),
        })?;
        bytes.push(b'\n');
        atomic::write_atomic(&path, &bytes).map_err(io_error(&path))
    }

    /// Forget a stack. Only for stacks whose every resource is confirmed gone.
    pub fn remove(&self, stack: &StackName) -> Result<(), StoreError> {
        let path = self.deployment_path(stack);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(&path)(e)),
        }
    }

    /// Every stack, fully parsed.
    pub fn list(&self) -> Result<Listing, StoreError> {
        let mut listing = read_all(&self.state_files()?, parse_or_quarantine);
        listing
            .stacks
            .sort_by(|a, b| a.stack_name.cmp(&b.stack_name));
        Ok(listing)
    }

    /// Every stack, with only what a listing shows parsed (a state file is
    /// mostly ids, history and the rollback snapshot, which a listing never
    /// reads). A `Brief` cannot be saved.
    ///
    /// Files unchanged since the last listing come from `cache/briefs.json`
    /// (one read and a `stat` per file); only the others are opened.
    pub fn list_brief(&self) -> Result<Listing<Brief>, StoreError> {
        let index_path = self.cache_dir().join("briefs.json");
        let mut index = BriefIndex::read(&index_path);
        let before = index.entries.len();
        let mut entries = HashMap::new();
        let mut stale: Vec<PathBuf> = Vec::new();
        let mut keys: HashMap<String, FileKey> = HashMap::new();
        let dir = self.deployments_dir();
        for entry in fs::read_dir(&dir).map_err(io_error(&dir))?.flatten() {
            let path = entry.path();
            let (Some(name), true) = (file_name(&path), is_state_file(&path)) else {
                continue;
            };
            let Ok(meta) = entry.metadata() else {
                stale.push(path);
                continue;
            };
            let key = FileKey::of(&meta);
            match index.entries.remove(&name) {
                Some(cached) if cached.key == key => {
                    entries.insert(name, cached);
                }
                _ => {
                    keys.insert(name, key);
                    stale.push(path);
                }
            }
        }
        let read = read_all(&stale, parse_record_or_quarantine);
        let changed = !stale.is_empty() || entries.len() != before;
        for (name, record) in read.stacks {
            if let Some(key) = keys.remove(&name) {
                entries.insert(name, Entry { key, record });
            }
        }
        let mut listing = Listing {
            stacks: entries.values().map(|e| e.record.brief()).collect(),
            quarantined: read.quarantined,
            unreadable: read.unreadable,
        };
        if changed {
            BriefIndex::write(entries, &index_path);
        }
        listing
            .stacks
            .sort_by(|a, b| a.stack_name.cmp(&b.stack_name));
        Ok(listing)
    }

    fn state_files(&self) -> Result<Vec<PathBuf>, StoreError> {
        let dir = self.deployments_dir();
        Ok(fs::read_dir(&dir)
            .map_err(io_error(&dir))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| is_state_file(p))
            .collect())
    }
}

/// Read and parse `paths` on a few threads; a 1,000-stack store is I/O and
/// parsing bound, and both split cleanly.
fn read_all<T: Send>(
    paths: &[PathBuf],
    parse: fn(&Path, &[u8]) -> Result<T, StoreError>,
) -> Listing<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_READERS);
    let chunk = paths.len().div_ceil(threads).max(64);
    let parts: Vec<Listing<T>> = std::thread::scope(|scope| {
        let workers: Vec<_> = paths
            .chunks(chunk)
            .map(|part| scope.spawn(move || read_some(part, parse)))
            .collect();
        workers.into_iter().filter_map(|w| w.join().ok()).collect()
    });
    let mut listing = Listing::default();
    for part in parts {
        listing.stacks.extend(part.stacks);
        listing.quarantined.extend(part.quarantined);
        listing.unreadable.extend(part.unreadable);
    }
    listing
}

fn read_some<T>(paths: &[PathBuf], parse: fn(&Path, &[u8]) -> Result<T, StoreError>) -> Listing<T> {
    let mut listing = Listing::default();
    // One buffer per thread, and no size query per file: a listing is
    // thousands of small reads.
    let mut bytes = Vec::with_capacity(16 * 1024);
    for path in paths {
        bytes.clear();
        let read = fs::File::open(path).and_then(|mut f| io::Read::read_to_end(&mut f, &mut bytes));
        match read {
            Ok(_) => match parse(path, &bytes) {
                Ok(state) => listing.stacks.push(state),
                Err(StoreError::Corrupt(q)) => listing.quarantined.push(q),
                Err(e) => listing.unreadable.push((path.clone(), e.to_string())),
            },
            // Deleted between readdir and read: another process destroyed it.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => listing.unreadable.push((path.clone(), e.to_string())),
        }
    }
    listing
}

pub(super) fn is_state_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name.ends_with(".json") && !name.starts_with('.')
}

pub(super) fn parse_or_quarantine(
    path: &Path,
    bytes: &[u8],
) -> Result<DeploymentState, StoreError> {
    match DeploymentState::from_json(bytes) {
        Ok(state) => {
            warn_violations(path, &state);
            Ok(state)
        }
        Err(e) => Err(quarantine(path, &e.to_string())?.into()),
    }
}

/// A state that breaks a rule of seed 000 §8.7 still loads (it is what the
/// cloud was left as, and `status` shows it); the log says which rule.
fn warn_violations(path: &Path, state: &DeploymentState) {
    for violation in state.integrity_violations() {
        tracing::warn!(
            ?path,
            stack = %state.stack_name,
            rule = violation.rule(),
            "loaded a state that breaks an integrity rule: {violation}"
        );
    }
}

fn parse_record_or_quarantine(
    path: &Path,
    bytes: &[u8],
) -> Result<(String, BriefRecord), StoreError> {
    match json::from_slice::<BriefRecord>(bytes) {
        Ok(record) => Ok((file_name(path).unwrap_or_default(), record)),
        Err(e) => Err(quarantine(path, &e.to_string())?.into()),
    }
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
}

/// Move a file that does not parse out of the way, keeping every byte.
pub(super) fn quarantine(path: &Path, reason: &str) -> Result<Quarantined, StoreError> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("state");
    let mut moved_to = path.with_file_name(format!("{name}.corrupt-{stamp}"));
    let mut n = 1;
    while moved_to.exists() {
        moved_to = path.with_file_name(format!("{name}.corrupt-{stamp}-{n}"));
        n += 1;
    }
    fs::rename(path, &moved_to).map_err(io_error(path))?;
    tracing::warn!(
        ?path,
        ?moved_to,
        reason,
        "quarantined a file that does not parse"
    );
    Ok(Quarantined {
        path: path.to_path_buf(),
        moved_to,
        reason: reason.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::state::CostTracking;
    use crate::domain::{Provider, StackStatus, Tier, Timestamp};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    fn now() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn save_then_load_round_trips() {
        let (_d, store) = store();
        let state = DeploymentState::new("demo", Tier::Dev, "us-east-1", Provider::Sandbox, now());
        store.save(&state).unwrap();
        let name = StackName::parse("demo").unwrap();
        assert_eq!(store.load(&name).unwrap(), Some(state));
        assert_eq!(
            store.load(&StackName::parse("other").unwrap()).unwrap(),
            None
        );
    }

    #[test]
    fn a_corrupt_file_is_quarantined_and_the_rest_still_list() {
        let (_d, store) = store();
        let good = DeploymentState::new("good", Tier::Dev, "us-east-1", Provider::Sandbox, now());
        store.save(&good).unwrap();
        let bad = store.deployments_dir().join("bad.json");
        fs::write(&bad, b"{\"stack_name\": \"bad\", ").unwrap();

        let listing = store.list().unwrap();
        assert_eq!(listing.stacks.len(), 1);
        assert_eq!(listing.quarantined.len(), 1);
        let q = &listing.quarantined[0];
        assert!(!bad.exists());
        let name = q
            .moved_to
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(name.starts_with("bad.json.corrupt-"), "{name}");
        assert_eq!(
            fs::read(&q.moved_to).unwrap(),
            b"{\"stack_name\": \"bad\", "
        );
        assert!(q.to_string().contains("nothing else was changed"));

        // Quarantined files are not listed again, and the good one is untouched.
        let again = store.list().unwrap();
        assert!(again.quarantined.is_empty());
        assert_eq!(again.stacks, vec![good]);
    }

    #[test]
    fn the_brief_listing_follows_every_change_through_its_index() {
        let (_d, store) = store();
        let mut a = DeploymentState::new("aa", Tier::Dev, "us-east-1", Provider::Sandbox, now());
        store.save(&a).unwrap();
        let b = DeploymentState::new("bb", Tier::Gpu, "eu-west-1", Provider::Sandbox, now());
        store.save(&b).unwrap();
        let names = |store: &Store| -> Vec<(String, String)> {
            store
                .list_brief()
                .unwrap()
                .stacks
                .iter()
                .map(|s| (s.stack_name.clone(), s.status.to_string()))
                .collect()
        };
        assert_eq!(
            names(&store),
            [
                ("aa".into(), "creating".into()),
                ("bb".into(), "creating".into())
            ]
        );
        let index = store.cache_dir().join("briefs.json");
        assert!(index.exists(), "the first listing writes the index");

        // A save (a rename: a new inode) is seen; a removal too; a new file too.
        a.status = StackStatus::Running;
        a.instance_id = Some("i-1".into());
        a.efs_id = Some("fs-1".into());
        store.save(&a).unwrap();
        store.remove(&StackName::parse("bb").unwrap()).unwrap();
        let c = DeploymentState::new("cc", Tier::Dev, "us-east-1", Provider::Sandbox, now());
        store.save(&c).unwrap();
        assert_eq!(
            names(&store),
            [
                ("aa".into(), "running".into()),
                ("cc".into(), "creating".into())
            ]
        );

        // A broken index is only a cache: it is rebuilt.
        fs::write(&index, b"{ not json").unwrap();
        assert_eq!(names(&store).len(), 2);
        let rebuilt: serde_json::Value =
            serde_json::from_slice(&fs::read(&index).unwrap()).unwrap();
        assert_eq!(rebuilt["entries"].as_object().unwrap().len(), 2);

        // A corrupt state file is still quarantined, not served from the index.
        fs::write(store.deployments_dir().join("cc.json"), b"{ broken").unwrap();
        let listing = store.list_brief().unwrap();
        assert_eq!(listing.stacks.len(), 1);
        assert_eq!(listing.quarantined.len(), 1);
    }

    #[test]
    fn load_reports_a_corrupt_file() {
        let (_d, store) = store();
        fs::write(store.deployments_dir().join("demo.json"), b"not json").unwrap();
        let err = store.load(&StackName::parse("demo").unwrap()).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    }

    #[test]
    fn the_python_v2_fixture_lists() {
        let (_d, store) = store();
        fs::copy(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/python-geusemaker-v2-state.json"
            ),
            store.deployments_dir().join("stack-000.json"),
        )
        .unwrap();
        let listing = store.list().unwrap();
        assert!(listing.quarantined.is_empty());
        assert_eq!(listing.stacks[0].stack_name, "stack-000");
        assert_eq!(listing.stacks[0].tier(), Tier::Dev);
    }

    /// A running stack of `tier` with everything seed 000 §8.7 asks for.
    fn complete(tier: Tier) -> DeploymentState {
        let mut s = DeploymentState::new("demo", tier, "us-east-1", Provider::Sandbox, now());
        s.status = StackStatus::Running;
        s.instance_id = Some("i-1".into());
        s.efs_id = Some("fs-1".into());
        s.alb_arn = Some("arn:alb".into());
        s.cloudfront_id = Some("E1".into());
        let mut cost = CostTracking::new("t3.medium", true);
        cost.instance_start_time = Some(now());
        s.cost = Some(cost);
        s
    }

    /// Each rule, as (tier, how to break it, the rule's number, its field).
    type Breach = (Tier, fn(&mut DeploymentState), u8, &'static str);
    const BREACHES: [Breach; 5] = [
        (Tier::Dev, |s| s.instance_id = None, 1, "instance_id"),
        (Tier::Dev, |s| s.efs_id = None, 2, "efs_id"),
        (Tier::Automation, |s| s.alb_arn = None, 3, "alb_arn"),
        (Tier::Gpu, |s| s.cloudfront_id = None, 4, "cloudfront_id"),
        (
            Tier::Dev,
            |s| {
                if let Some(c) = s.cost.as_mut() {
                    c.instance_start_time = None;
                }
            },
            5,
            "cost.instance_start_time",
        ),
    ];

    #[test]
    fn a_save_that_breaks_a_rule_is_refused_and_names_it() {
        let (_d, store) = store();
        let name = StackName::parse("demo").unwrap();
        for (tier, breach, rule, field) in BREACHES {
            let good = complete(tier);
            store.save(&good).unwrap();
            let mut bad = good.clone();
            breach(&mut bad);
            let err = store.save(&bad).unwrap_err();
            let StoreError::Integrity { violations, .. } = &err else {
                panic!("{err:?}");
            };
            assert_eq!(
                violations.iter().map(|v| v.rule()).collect::<Vec<_>>(),
                [rule]
            );
            let text = err.to_string();
            assert!(
                text.contains(&format!("rule {rule}")) && text.contains(field),
                "{text}"
            );
            assert!(text.contains("not saving stack demo"), "{text}");
            assert_eq!(
                store.load(&name).unwrap(),
                Some(good),
                "the file is unchanged"
            );
        }
    }

    #[test]
    fn a_file_that_breaks_a_rule_still_loads_and_is_reported() {
        let (_d, store) = store();
        let name = StackName::parse("demo").unwrap();
        let path = store.deployment_path(&name);
        for (tier, breach, rule, field) in BREACHES {
            let mut bad = complete(tier);
            breach(&mut bad);
            fs::write(&path, serde_json::to_vec(&bad).unwrap()).unwrap();
            let (loaded, log) = logged(|| store.load(&name));
            let loaded = loaded.unwrap().unwrap();
            assert_eq!(
                loaded
                    .integrity_violations()
                    .iter()
                    .map(|v| v.rule())
                    .collect::<Vec<_>>(),
                [rule]
            );
            assert!(
                log.contains(&format!("rule {rule}")) && log.contains(field),
                "{log}"
            );
            let listing = store.list().unwrap();
            assert!(listing.quarantined.is_empty() && path.exists());
            assert_eq!(listing.stacks, [loaded]);
        }
    }

    #[test]
    fn a_running_state_that_keeps_every_rule_saves_and_loads_quietly() {
        let (_d, store) = store();
        for tier in Tier::ALL {
            let state = complete(tier);
            store.save(&state).unwrap();
            let (loaded, log) = logged(|| store.load(&StackName::parse("demo").unwrap()));
            assert_eq!(loaded.unwrap(), Some(state));
            assert!(!log.contains("integrity"), "{log}");
        }
    }

    /// What `f` logged (warnings and worse), with its result.
    fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
        #[derive(Clone, Default)]
        struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .finish();
        let result = tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned();
        (result, text)
    }

    #[test]
    fn temp_and_lock_files_are_not_stacks() {
        let (_d, store) = store();
        fs::write(store.deployments_dir().join(".demo.json.tmp.1.2"), b"x").unwrap();
        fs::write(store.deployments_dir().join("demo.json.corrupt-1"), b"x").unwrap();
        let listing = store.list().unwrap();
        assert!(listing.stacks.is_empty() && listing.quarantined.is_empty());
    }
}
