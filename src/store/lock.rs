//! Per-stack operation locks. The lock file names its holder (pid, host,
//! operation, start); the OS lock on it (flock) is what excludes, so a holder
//! that died releases it with its file descriptors and leaves a *stale* file.

use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::atomic::set_private_mode;
use crate::domain::time::{Timestamp, format_age};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
    pub operation: String,
    pub started_at: Timestamp,
}

impl LockHolder {
    pub fn this_process(operation: &str, now: Timestamp) -> Self {
        Self {
            pid: std::process::id(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            operation: operation.to_string(),
            started_at: now,
        }
    }
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (pid {} on {}, since {})",
            self.operation, self.pid, self.host, self.started_at
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "stack {stack} is busy: {holder}. Wait for it to finish, or stop that process and retry"
    )]
    Held { stack: String, holder: LockHolder },
    #[error(
        "stack {stack} is locked by another process (lock file {path:?} does not say which). Wait for it to finish and retry"
    )]
    HeldByUnknown { stack: String, path: PathBuf },
    #[error("could not use lock file {path:?}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// Held while it lives; dropping it clears the holder and releases the lock.
#[derive(Debug)]
pub struct StackLock {
    file: File,
    path: PathBuf,
    /// A holder that died without releasing: its operation was cut short.
    pub stale: Option<LockHolder>,
}

impl StackLock {
    pub fn acquire(path: &Path, stack: &str, holder: &LockHolder) -> Result<Self, LockError> {
        let io_err = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        set_private_mode(&mut options);
        let mut file = options.open(path).map_err(io_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(match read_holder(&mut file) {
                    Some(holder) => LockError::Held {
                        stack: stack.to_string(),
                        holder,
                    },
                    None => LockError::HeldByUnknown {
                        stack: stack.to_string(),
                        path: path.to_path_buf(),
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_err(e)),
        }
        let stale = read_holder(&mut file);
        write_holder(&mut file, holder).map_err(io_err)?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            stale,
        })
    }

    /// Who holds the lock at `path`, if anyone alive does.
    pub fn holder(path: &Path) -> Option<LockHolder> {
        let mut file = File::open(path).ok()?;
        match file.try_lock_shared() {
            Ok(()) => None,
            Err(_) => read_holder(&mut file),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StackLock {
    fn drop(&mut self) {
        // Empty means "free"; the file stays so no two processes ever lock
        // different inodes under the same name.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

fn read_holder(file: &mut File) -> Option<LockHolder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

fn write_holder(file: &mut File, holder: &LockHolder) -> io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    let line = serde_json::to_string(holder).map_err(io::Error::other)?;
    file.write_all(line.as_bytes())?;
    file.sync_all()
}

/// "deploy by pid 42 on host-a, started 3m ago": for refusals in the UI.
pub fn describe(holder: &LockHolder, now: Timestamp) -> String {
    format!(
        "{} by pid {} on {}, started {}",
        holder.operation,
        holder.pid,
        holder.host,
        format_age(holder.started_at.secs_until(now))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(op: &str) -> LockHolder {
        LockHolder::this_process(op, "2026-01-01T00:00:00Z".parse().unwrap())
    }

    #[test]
    fn a_second_locker_is_refused_with_the_holder_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.lock");
        let first = StackLock::acquire(&path, "demo", &holder("deploy")).unwrap();
        assert!(first.stale.is_none());
        let err = StackLock::acquire(&path, "demo", &holder("destroy")).unwrap_err();
        let LockError::Held { holder: h, .. } = &err else {
            panic!("expected Held, got {err:?}");
        };
        assert_eq!(h.operation, "deploy");
        assert_eq!(h.pid, std::process::id());
        let msg = err.to_string();
        assert!(msg.contains("deploy (pid") && msg.contains("busy"), "{msg}");
        assert_eq!(StackLock::holder(&path).unwrap().operation, "deploy");
        drop(first);
        assert!(StackLock::holder(&path).is_none());
        let again = StackLock::acquire(&path, "demo", &holder("destroy")).unwrap();
        assert!(again.stale.is_none(), "a released lock is not stale");
    }

    #[test]
    fn a_lock_left_by_a_dead_process_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.lock");
        // What a killed process leaves: a holder record, but no OS lock.
        let dead = LockHolder {
            pid: 999_999,
            host: "gone".into(),
            operation: "deploy".into(),
            started_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        };
        std::fs::write(&path, serde_json::to_string(&dead).unwrap()).unwrap();
        assert!(StackLock::holder(&path).is_none());
        let lock = StackLock::acquire(&path, "demo", &holder("destroy")).unwrap();
        assert_eq!(lock.stale, Some(dead));
    }
}
