//! The state directory (`$GEUSEMAKER_HOME`, default `~/.geusemaker`):
//! `deployments/<stack>.json`, `config/settings.json`, `cache/`, `logs/`,
//! `locks/`, `told/` (what was told once) and `audit.jsonl` (seed 000 §8.1,
//! plus locks, told and the audit log).

pub mod atomic;
pub mod audit;
mod brief;
mod brief_index;
mod deployments;
mod installation;
mod listing_cache;
pub mod lock;
mod settings;

use std::io;
use std::path::{Path, PathBuf};

pub use brief::{Brief, BriefRecord};
pub use deployments::{Listing, Quarantined};
pub use listing_cache::ListingCache;
pub use lock::{LockError, LockHolder, StackLock};

use crate::domain::StackName;
use crate::domain::state::IntegrityViolation;

pub const HOME_ENV: &str = "GEUSEMAKER_HOME";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("could not use {path:?}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Corrupt(#[from] Quarantined),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("{path:?}: {source}. Fix the value or delete the line to use the default")]
    InvalidSettings {
        path: PathBuf,
        source: crate::domain::settings::InvalidSetting,
    },
    #[error(
        "not saving stack {stack} as running: {}; the file on disk is unchanged",
        join(.violations)
    )]
    Integrity {
        stack: String,
        violations: Vec<IntegrityViolation>,
    },
    #[error("no home directory found: set {HOME_ENV} to where GeuseMaker should keep its state")]
    NoHome,
}

fn join(violations: &[IntegrityViolation]) -> String {
    let texts: Vec<String> = violations.iter().map(ToString::to_string).collect();
    texts.join("; ")
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// `$GEUSEMAKER_HOME`, else `~/.geusemaker`.
    pub fn default_root() -> Result<PathBuf, StoreError> {
        if let Some(home) = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(home));
        }
        directories::BaseDirs::new()
            .map(|d| d.home_dir().join(".geusemaker"))
            .ok_or(StoreError::NoHome)
    }

    /// Open (creating what is missing) the state directory at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let store = Self { root: root.into() };
        for dir in [
            store.root.clone(),
            store.deployments_dir(),
            store.root.join("config"),
            store.cache_dir(),
            store.logs_dir(),
            store.locks_dir(),
        ] {
            atomic::create_private_dir(&dir).map_err(io_error(&dir))?;
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn deployments_dir(&self) -> PathBuf {
        self.root.join("deployments")
    }

    pub fn deployment_path(&self, stack: &StackName) -> PathBuf {
        self.deployments_dir().join(format!("{stack}.json"))
    }

    pub fn settings_path(&self) -> PathBuf {
        self.root.join("config").join("settings.json")
    }

    /// `config/keys.json`: actions rebound by name.
    pub fn keys_path(&self) -> PathBuf {
        self.root.join("config").join("keys.json")
    }

    /// The `:` palette's recent commands, one a line, oldest first.
    pub fn palette_history_path(&self) -> PathBuf {
        self.root.join("config").join("palette-history")
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.root.join("cache")
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    pub fn locks_dir(&self) -> PathBuf {
        self.root.join("locks")
    }

    pub fn lock_path(&self, stack: &StackName) -> PathBuf {
        self.locks_dir().join(format!("{stack}.lock"))
    }

    pub fn audit_path(&self) -> PathBuf {
        self.root.join("audit.jsonl")
    }

    /// Take the stack's operation lock, or learn who holds it.
    pub fn lock(&self, stack: &StackName, holder: &LockHolder) -> Result<StackLock, StoreError> {
        Ok(StackLock::acquire(
            &self.lock_path(stack),
            stack.as_str(),
            holder,
        )?)
    }

    /// Claim `key` for this process, once for good: `true` only for the
    /// first caller of any process (the file is created exclusively), so
    /// what several monitors see is told by one.
    pub fn claim_once(&self, key: &str) -> Result<bool, StoreError> {
        let dir = self.root.join("told");
        std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let path = dir.join(key);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io_error(&path)(e)),
        }
    }

    pub fn lock_holder(&self, stack: &StackName) -> Option<LockHolder> {
        StackLock::holder(&self.lock_path(stack))
    }

    pub fn audit(&self, entry: &audit::AuditEntry) -> Result<(), StoreError> {
        let path = self.audit_path();
        audit::append_rotating(&path, entry, audit::ROTATE_BYTES).map_err(io_error(&path))
    }
}

#[cfg(test)]
mod claim_tests {
    #[test]
    fn a_claim_is_granted_once_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::Store::open(dir.path()).unwrap();
        assert!(store.claim_once("account-budget-2026-12-warning").unwrap());
        assert!(!store.claim_once("account-budget-2026-12-warning").unwrap());
        let again = super::Store::open(dir.path()).unwrap();
        assert!(
            !again.claim_once("account-budget-2026-12-warning").unwrap(),
            "another process"
        );
        assert!(again.claim_once("account-budget-2026-12-exceeded").unwrap());
    }
}
