//! `Cloud` on AWS, with the AWS SDK for Rust. Credentials and region come
//! from the standard chain (environment, profile with SSO, web identity,
//! container, instance metadata); `AWS_ENDPOINT_URL` is honoured, so the
//! same code runs against moto in the tests. One file per service.

mod adopt;
mod autoscaling;
mod autoscaling_activities;
mod autoscaling_migrate;
mod autoscaling_switch;
mod caller_ip;
mod cloudfront;
pub mod doctor;
mod ec2_address;
mod ec2_images;
mod ec2_images_found;
mod ec2_ingress;
mod ec2_instances;
mod ec2_launch_template;
mod ec2_network;
mod ec2_own_network;
mod ec2_security;
mod ec2_spot;
mod efs;
mod elbv2;
mod elbv2_listeners;
mod elbv2_teardown;
pub mod errors;
mod iam;
#[cfg(test)]
mod iam_eval;
pub mod permissions;
pub mod pricing;
mod provider;
mod quotas;
mod scan;
mod scan_fix;
mod scan_services;
mod settle;
mod ssm;
mod ssm_ollama;
mod ssm_run;
mod sts;
mod tags;

pub use tags::{INSTALLATION, MANAGED, STACK, set_installation};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, retry::RetryConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;

use crate::cloud::endpoints::Endpoints;
use crate::cloud::{CloudError, CloudResult, Session};
use crate::domain::time::Clock;

/// How to reach AWS, and how patiently.
#[derive(Clone, Debug)]
pub struct AwsSettings {
    pub region: String,
    pub profile: Option<String>,
    /// Where to probe the services instead of the instance's address.
    pub endpoint_overrides: Endpoints,
    /// A CA (PEM) the outside probes trust besides the system's: a private
    /// CA, or a test's. `GEUSEMAKER_EXTRA_CA` does the same for a process.
    pub extra_ca: Option<Vec<u8>>,
    /// The caller's address as already known (`GEUSEMAKER_CALLER_CIDR`, or a
    /// test's): then nothing asks checkip.amazonaws.com.
    pub caller_cidr: Option<crate::cloud::Cidr>,
    /// How often to look again while waiting for a resource.
    pub poll: Duration,
    /// The longest wait for one resource (an instance to run, a mount target).
    pub wait_limit: Duration,
    /// The longest wait for a resource just created to become visible to
    /// the calls that follow (eventual consistency).
    pub settle_limit: Duration,
    /// Where prices are cached (`cache/pricing.json`).
    pub cache_dir: PathBuf,
    /// Send every call here (an emulator); `AWS_ENDPOINT_URL` works too.
    pub endpoint_url: Option<String>,
    /// Fixed credentials instead of the chain (tests against an emulator).
    pub credentials: Option<aws_credential_types::Credentials>,
    /// Attempts per call; `None` is adaptive retry with 5 attempts
    /// (or AWS_MAX_ATTEMPTS / AWS_RETRY_MODE when set).
    pub max_attempts: Option<u32>,
}

impl AwsSettings {
    pub fn new(region: &str, cache_dir: PathBuf) -> Self {
        Self {
            region: region.to_string(),
            profile: None,
            endpoint_overrides: Endpoints::new(),
            extra_ca: None,
            caller_cidr: None,
            poll: Duration::from_secs(5),
            wait_limit: Duration::from_secs(15 * 60),
            settle_limit: Duration::from_secs(2 * 60),
            cache_dir,
            endpoint_url: None,
            credentials: None,
            max_attempts: None,
        }
    }
}

pub struct AwsCloud {
    settings: AwsSettings,
    clock: Arc<dyn Clock>,
    autoscaling: aws_sdk_autoscaling::Client,
    ec2: aws_sdk_ec2::Client,
    efs: aws_sdk_efs::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
    cloudfront: aws_sdk_cloudfront::Client,
    quotas: aws_sdk_servicequotas::Client,
    iam: aws_sdk_iam::Client,
    ssm: aws_sdk_ssm::Client,
    sts: aws_sdk_sts::Client,
    pricing: aws_sdk_pricing::Client,
    /// The client of the outside probes when `settings.extra_ca` is set.
    http: Option<crate::http::Http>,
}

/// The sources of the default credential chain, in the order it tries them.
pub const CREDENTIAL_SOURCES: &str = "environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); \
the profile in ~/.aws/config and ~/.aws/credentials (AWS_PROFILE or --profile; SSO and credential_process included); \
a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE); ECS container credentials; EC2 instance metadata (IMDS)";

impl AwsCloud {
    /// Load configuration from the standard chain and check that it yields
    /// credentials. `interceptors` are for tests (counting or failing calls).
    pub async fn connect(
        settings: AwsSettings,
        clock: Arc<dyn Clock>,
        interceptors: Vec<SharedInterceptor>,
    ) -> CloudResult<Self> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()));
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(credentials) = &settings.credentials {
            loader = loader.credentials_provider(credentials.clone());
        }
        // Adaptive retry for throttling, unless the user chose their own.
        let user_chose = std::env::var_os("AWS_RETRY_MODE").is_some()
            || std::env::var_os("AWS_MAX_ATTEMPTS").is_some();
        match settings.max_attempts {
            Some(n) => loader = loader.retry_config(RetryConfig::standard().with_max_attempts(n)),
            None if !user_chose => {
                loader = loader.retry_config(RetryConfig::adaptive().with_max_attempts(5))
            }
            None => {}
        }
        let sdk = loader.load().await;
        let Some(credentials) = sdk.credentials_provider() else {
            return Err(no_credentials("no credential provider is configured"));
        };
        if let Err(e) = credentials.provide_credentials().await {
            return Err(no_credentials(
                &aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
            ));
        }
        macro_rules! client {
            ($krate:ident $(, $region:expr)?) => {{
                let mut builder = $krate::config::Builder::from(&sdk);
                $(builder = builder.region(Region::new($region));)?
                for i in &interceptors {
                    builder.push_interceptor(i.clone());
                }
                $krate::Client::from_conf(builder.build())
            }};
        }
        let http = match &settings.extra_ca {
            Some(pem) => Some(
                crate::http::Http::with_ca(Some(pem))
                    .map_err(|e| CloudError::Refused(e.to_string()))?,
            ),
            None => None,
        };
        Ok(Self {
            http,
            autoscaling: client!(aws_sdk_autoscaling),
            ec2: client!(aws_sdk_ec2),
            efs: client!(aws_sdk_efs),
            elb: client!(aws_sdk_elasticloadbalancingv2),
            // CloudFront is global; its API lives in us-east-1.
            cloudfront: client!(aws_sdk_cloudfront, "us-east-1"),
            quotas: client!(aws_sdk_servicequotas),
            iam: client!(aws_sdk_iam),
            ssm: client!(aws_sdk_ssm),
            sts: client!(aws_sdk_sts),
            // The Pricing API answers in us-east-1 for every region.
            pricing: client!(aws_sdk_pricing, pricing::endpoint_region(&settings.region)),
            settings,
            clock,
        })
    }

    fn region(&self) -> &str {
        &self.settings.region
    }

    /// Poll `check` until it yields a value, reporting `what` as progress.
    async fn wait_for<T, F, Fut>(&self, s: &mut Session, what: &str, mut check: F) -> CloudResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = CloudResult<Option<T>>>,
    {
        let started = tokio::time::Instant::now();
        loop {
            if let Some(value) = check().await? {
                return Ok(value);
            }
            let waited = started.elapsed();
            if waited > self.settings.wait_limit {
                return Err(CloudError::Timeout {
                    what: what.to_string(),
                    secs: waited.as_secs_f64(),
                });
            }
            s.progress(None, format!("{what} ({:.0}s)", waited.as_secs_f64()))?;
            tokio::time::sleep(self.settings.poll).await;
        }
    }
}

fn no_credentials(detail: &str) -> CloudError {
    // The SDK's account of each provider goes to the log; the user gets the list.
    tracing::warn!(detail, "no AWS credentials");
    CloudError::Refused(format!(
        "No AWS credentials found. Tried, in order: {CREDENTIAL_SOURCES}. \
         Configure one (`aws configure`, `aws sso login`, or AWS_PROFILE), or try without AWS: geusemaker-tui --sandbox"
    ))
}
