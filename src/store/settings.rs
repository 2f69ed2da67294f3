//! `config/settings.json`: written with every default on first use.

use std::fs;
use std::io;

use super::{Quarantined, Store, StoreError, atomic, deployments::quarantine, io_error};
use crate::domain::settings::Settings;

impl Store {
    /// Read the settings, writing the defaults if there is no file yet. A file
    /// that does not parse is quarantined and the defaults are used.
    pub fn settings(&self) -> Result<(Settings, Option<Quarantined>), StoreError> {
        let path = self.settings_path();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let defaults = Settings::default();
                self.save_settings(&defaults)?;
                return Ok((defaults, None));
            }
            Err(e) => return Err(io_error(&path)(e)),
        };
        match serde_json::from_slice::<Settings>(&bytes) {
            Ok(settings) => {
                settings
                    .validate()
                    .map_err(|source| StoreError::InvalidSettings {
                        path: path.clone(),
                        source,
                    })?;
                Ok((settings, None))
            }
            Err(e) => {
                let q = quarantine(&path, &e.to_string())?;
                let defaults = Settings::default();
                self.save_settings(&defaults)?;
                Ok((defaults, Some(q)))
            }
        }
    }

    pub fn save_settings(&self, settings: &Settings) -> Result<(), StoreError> {
        let path = self.settings_path();
        let mut bytes = serde_json::to_vec_pretty(settings).map_err(|e| StoreError::Io {
            path: path.clone(),
            source: e.into(),
        })?;
        bytes.push(b'\n');
        atomic::write_atomic(&path, &bytes).map_err(io_error(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_use_writes_every_default() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (settings, q) = store.settings().unwrap();
        assert!(q.is_none());
        assert_eq!(settings, Settings::default());
        let text = fs::read_to_string(store.settings_path()).unwrap();
        assert!(
            text.contains("\"consecutive_failures_threshold\": 3"),
            "{text}"
        );
    }

    #[test]
    fn an_out_of_range_value_is_refused_and_the_file_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let original = br#"{"health_check_interval_seconds": 1}"#;
        fs::write(store.settings_path(), original).unwrap();
        let err = store.settings().unwrap_err();
        assert!(
            err.to_string().contains("health_check_interval_seconds"),
            "{err}"
        );
        assert_eq!(fs::read(store.settings_path()).unwrap(), original);
    }

    #[test]
    fn a_corrupt_file_is_quarantined_and_defaults_used() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        fs::write(store.settings_path(), b"{oops").unwrap();
        let (settings, q) = store.settings().unwrap();
        assert_eq!(settings, Settings::default());
        assert!(q.unwrap().moved_to.exists());
    }
}
