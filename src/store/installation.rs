//! `config/installation-id`: a random id made once per state directory.
//! Every resource this installation creates carries it as the
//! `geusemaker:installation` tag, so `scan` can tell a teammate's stacks
//! (managed elsewhere) from this machine's orphans.

use std::fs;
use std::io;

use super::{Store, StoreError, atomic, io_error};

impl Store {
    pub fn installation_path(&self) -> std::path::PathBuf {
        self.root().join("config").join("installation-id")
    }

    /// This installation's id, made (and kept) on first use.
    pub fn installation_id(&self) -> Result<String, StoreError> {
        let path = self.installation_path();
        match fs::read_to_string(&path) {
            Ok(text) if valid(text.trim()) => return Ok(text.trim().to_string()),
            // Empty or edited into something else: a new one, written atomically.
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path)(e)),
        }
        let id = format!("gm-{:016x}", rand::random::<u64>());
        atomic::write_atomic(&path, format!("{id}\n").as_bytes()).map_err(io_error(&path))?;
        Ok(id)
    }
}

/// What a tag value may hold: letters, digits, `-`, at most 64 characters.
fn valid(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_installation_id_is_made_once_and_kept() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("store");
        let first = store.installation_id().expect("id");
        assert!(first.starts_with("gm-") && valid(&first), "{first}");
        assert_eq!(store.installation_id().expect("again"), first);
        std::fs::write(store.installation_path(), "bad id!\n").expect("write");
        let fresh = store.installation_id().expect("replaced");
        assert_ne!(fresh, first);
        assert!(valid(&fresh));
    }
}
