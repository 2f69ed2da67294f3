//! What every command and the dashboard start from: the state store, the
//! settings, the clock and the chosen cloud.

use std::sync::Arc;

use crate::cloud::Cloud;
use crate::cloud::aws::{AwsCloud, AwsSettings};
use crate::cloud::endpoints::{self, Endpoints};
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
    /// `n8n=HOST:PORT,...`: where to probe the services instead.
    pub service_endpoints: Option<String>,
    /// `--readonly`: refuse every change.
    pub readonly: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Bad configuration from the environment or flags.
    #[error("{0}")]
    BadInput(String),
    /// AWS could not be set up (no credentials, say); the message says what to do.
    #[error("{0}")]
    Aws(String),
}

pub use crate::domain::ROLLBACK_TIMEOUT_MINUTES;

#[derive(Clone)]
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
    pub endpoint_overrides: Endpoints,
    /// `--readonly` or the settings' `readonly`: nothing is changed.
    pub readonly: bool,
}

impl Runtime {
    pub fn open(options: &Options) -> Result<Self, RuntimeError> {
        let store = Store::open(Store::default_root()?)?;
        // Tagged on every resource this process creates (`scan` reads it back).
        crate::cloud::aws::set_installation(&store.installation_id()?);
        let (settings, quarantined) = store.settings()?;
        let notices = quarantined.into_iter().map(|q| q.to_string()).collect();
        let sandbox_speed = if options.sandbox {
            sandbox::timing::latencies_from_env().map_err(RuntimeError::BadInput)?;
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
        let endpoint_overrides = match &options.service_endpoints {
            Some(text) => endpoints::parse_overrides(text)
                .map_err(|e| RuntimeError::BadInput(e.to_string()))?,
            None => Endpoints::new(),
        };
        Ok(Self {
            endpoint_overrides,
            readonly: options.readonly || settings.readonly,
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

    pub async fn cloud(&self) -> Result<Arc<dyn Cloud>, RuntimeError> {
        self.cloud_in(&self.region).await
    }

    /// The cloud of another region (AWS clients are bound to one).
    pub async fn cloud_in(&self, region: &str) -> Result<Arc<dyn Cloud>, RuntimeError> {
        match self.provider {
            Provider::Sandbox => Ok(Arc::new(SandboxCloud::new(
                self.store.root(),
                self.clock.clone(),
                self.sandbox_speed,
            ))),
            Provider::Aws => {
                let mut settings = AwsSettings::new(region, self.store.cache_dir());
                settings.profile = self.profile.clone();
                settings.endpoint_overrides = self.endpoint_overrides.clone();
                settings.caller_cidr = caller_cidr_from_env()?;
                let aws = AwsCloud::connect(settings, self.clock.clone(), Vec::new())
                    .await
                    .map_err(|e| RuntimeError::Aws(e.to_string()))?;
                Ok(Arc::new(aws))
            }
        }
    }

    pub fn context(&self, cloud: Arc<dyn Cloud>) -> Context {
        Context {
            timing: Timing::for_provider(
                self.provider,
                self.sandbox_speed,
                ROLLBACK_TIMEOUT_MINUTES,
            ),
            cloud,
            store: self.store.clone(),
            clock: self.clock.clone(),
            auto_rollback: self.settings.auto_rollback_on_failure,
        }
    }
}

/// `us-east-1`, `ap-southeast-2`, `us-gov-west-1`: letters, dashes, a digit.
pub fn validate_region(region: &str) -> Result<(), RuntimeError> {
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

/// `GEUSEMAKER_CALLER_CIDR`: the caller's address when it is already known
/// (behind a NAT whose address checkip does not see, or in tests).
fn caller_cidr_from_env() -> Result<Option<crate::cloud::Cidr>, RuntimeError> {
    match std::env::var("GEUSEMAKER_CALLER_CIDR") {
        Ok(text) if !text.trim().is_empty() => crate::cloud::Cidr::parse(&text)
            .map(Some)
            .map_err(|e| RuntimeError::BadInput(format!("GEUSEMAKER_CALLER_CIDR: {e}"))),
        _ => Ok(None),
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
