//! Worlds on disk: `$GEUSEMAKER_HOME/sandbox/<stack>.json`, one per stack,
//! read by any process and changed under a short file lock.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::world::World;
use crate::store::atomic::{self, set_private_mode};

const CALLER_FILE: &str = "caller-ip";
pub const DEFAULT_CALLER: &str = "198.51.100.23/32";

/// Worlds on disk, one file per stack, changed under a short file lock.
#[derive(Clone, Debug)]
pub struct Worlds {
    dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error("sandbox state {path:?}: {source}")]
pub struct WorldError {
    pub path: PathBuf,
    pub source: io::Error,
}

impl Worlds {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn path(&self, stack: &str) -> PathBuf {
        self.dir.join(format!("{stack}.json"))
    }

    /// The caller's address as the sandbox's internet sees it: a
    /// documentation address, changed by the "caller IP changed" fault.
    pub fn caller(&self) -> String {
        fs::read_to_string(self.dir.join(CALLER_FILE))
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| DEFAULT_CALLER.to_string())
    }

    pub fn set_caller(&self, cidr: &str) -> Result<(), WorldError> {
        let path = self.dir.join(CALLER_FILE);
        fs::create_dir_all(&self.dir)
            .and_then(|()| atomic::write_atomic(&path, cidr.as_bytes()))
            .map_err(|source| WorldError { path, source })
    }

    pub fn read(&self, stack: &str) -> Result<Option<World>, WorldError> {
        let path = self.path(stack);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| WorldError {
                    path,
                    source: e.into(),
                }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(WorldError { path, source }),
        }
    }

    /// Read-modify-write under an exclusive lock; `None` removes the world.
    pub fn update<R>(
        &self,
        stack: &str,
        speed: f64,
        change: impl FnOnce(&mut World) -> R,
    ) -> Result<R, WorldError> {
        let path = self.path(stack);
        let err = |source| WorldError {
            path: path.clone(),
            source,
        };
        atomic::create_private_dir(&self.dir).map_err(err)?;
        let _guard = lock_file(&self.dir.join(format!("{stack}.lock"))).map_err(err)?;
        let mut world = self.read(stack)?.unwrap_or_else(|| World::new(speed));
        let result = change(&mut world);
        if world.is_empty() {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(err(e)),
            }
        } else {
            let bytes = serde_json::to_vec_pretty(&world).map_err(|e| err(e.into()))?;
            atomic::write_atomic(&path, &bytes).map_err(err)?;
        }
        Ok(result)
    }
}

fn lock_file(path: &Path) -> io::Result<fs::File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    set_private_mode(&mut options);
    let file = options.open(path)?;
    file.lock()?;
    Ok(file)
}
