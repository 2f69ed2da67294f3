//! What every command and the dashboard start from: the state store, the
//! settings, the clock and the chosen cloud.

use std::sync::Arc;

use crate::cloud::Cloud;
use crate::cloud::sandbox::{self, SandboxCloud};
use crate::deploy::{Context, Timing};
use crate::domain::Provider;
use crate::domain::settings::Settings;
use crate::domain::time::{Clock, SystemClock};
use crate::store::{Store, StoreError};

/// Global flags that choose where to work.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub sandbox: bool,
    pub region: Option<String>,
    pub profile: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Bad configuration from the environment or flags.
    #[error("{0}")]
    BadInput(String),
    #[error(
        "no AWS provider in this build yet: it cannot reach AWS. Run with --sandbox to use the simulated cloud"
    )]
    NoAwsProvider,
}

pub struct Runtime {
    pub store: Store,
    pub settings: Settings,
    /// Things the user should hear about (a settings file set aside, say).
    pub notices: Vec<String>,
    pub clock: Arc<dyn Clock>,
    pub provider: Provider,
    pub region: String,
    pub profile: Option<String>,
    pub sandbox_speed: f64,
}

impl Runtime {
    pub fn open(options: &Options) -> Result<Self, RuntimeError> {
        let store = Store::open(Store::default_root()?)?;
        let (settings, quarantined) = store.settings()?;
        let notices = quarantined.into_iter().map(|q| q.to_string()).collect();
        let sandbox_speed = if options.sandbox {
            sandbox::speed_from_env().map_err(RuntimeError::BadInput)?
        } else {
            1.0
        };
        let region = options
            .region
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| settings.default_region.clone());
        validate_region(&region)?;
        Ok(Self {
            store,
            notices,
            clock: Arc::new(SystemClock),
            provider: if options.sandbox {
                Provider::Sandbox
            } else {
                Provider::Aws
            },
            region,
            profile: options
                .profile
                .clone()
                .or_else(|| settings.aws_profile.clone()),
            settings,
            sandbox_speed,
        })
    }

    pub fn cloud(&self) -> Result<Arc<dyn Cloud>, RuntimeError> {
        match self.provider {
            Provider::Sandbox => Ok(Arc::new(SandboxCloud::new(
                self.store.root(),
                self.clock.clone(),
                self.sandbox_speed,
            ))),
            Provider::Aws => Err(RuntimeError::NoAwsProvider),
        }
    }

    pub fn context(&self, cloud: Arc<dyn Cloud>) -> Context {
        Context {
            timing: Timing::for_provider(self.provider, self.sandbox_speed, 15),
            cloud,
            store: self.store.clone(),
            clock: self.clock.clone(),
        }
    }
}

/// `us-east-1`, `ap-southeast-2`, `us-gov-west-1`: letters, dashes, a digit.
fn validate_region(region: &str) -> Result<(), RuntimeError> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if ok {
        Ok(())
    } else {
        Err(RuntimeError::BadInput(format!(
            "{region:?} is not an AWS region name; use one like us-east-1 or eu-west-2"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names() {
        for ok in ["us-east-1", "ap-southeast-2", "us-gov-west-1"] {
            assert!(validate_region(ok).is_ok(), "{ok}");
        }
        for bad in ["", "useast1", "us-east", "US-EAST-1", "us-east-1a"] {
            assert!(validate_region(bad).is_err(), "{bad}");
        }
    }
}
