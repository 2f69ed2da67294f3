//! `cache/briefs.json`: the listed fields of every state file, keyed by the
//! file's inode, size and modification time, so a listing reads one file and
//! `stat`s the others instead of opening and parsing all of them. A state
//! file is written by rename, so any change gives it a new inode: an entry
//! whose key differs is simply read again. The index is a cache: unreadable,
//! missing or stale, it is rebuilt, and it is never the source of truth.

use std::collections::HashMap;
use std::fs::{self, Metadata};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::atomic;
use super::brief::BriefRecord;

const VERSION: u32 = 1;

/// What identifies one version of a state file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileKey {
    ino: u64,
    size: u64,
    mtime_ns: i128,
}

impl FileKey {
    pub fn of(meta: &Metadata) -> Self {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        Self {
            ino: inode(meta),
            size: meta.len(),
            mtime_ns,
        }
    }
}

#[cfg(unix)]
fn inode(meta: &Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_meta: &Metadata) -> u64 {
    0
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    pub key: FileKey,
    pub record: BriefRecord,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct BriefIndex {
    version: u32,
    /// By file name.
    pub entries: HashMap<String, Entry>,
}

impl BriefIndex {
    /// The index on disk, or an empty one when it is missing or unreadable.
    pub fn read(path: &Path) -> Self {
        fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Self>(&bytes).ok())
            .filter(|index| index.version == VERSION)
            .unwrap_or_default()
    }

    /// Best effort: a listing that cannot write its cache still lists.
    pub fn write(entries: HashMap<String, Entry>, path: &Path) {
        let index = Self {
            version: VERSION,
            entries,
        };
        let written = serde_json::to_vec(&index)
            .map_err(std::io::Error::other)
            .and_then(|bytes| {
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir)?;
                }
                atomic::write_atomic(path, &bytes)
            });
        if let Err(e) = written {
            tracing::debug!(error = %e, ?path, "could not write the listing index");
        }
    }
}
