//! The AWS provider against moto, on loopback only.

mod cli;
mod crash;
mod day_two;
mod deploy;
mod doctor;
mod exposure;
mod fakes;
mod group;
mod images;
mod migration;
mod moto;
mod orphans;
mod permissions;
mod recorder;
mod scan;
mod strict;
mod switch;
mod tiers;
mod wizard;

use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;

use geusemaker::cloud::aws::{AwsCloud, AwsSettings};
use geusemaker::cloud::session::StoreSink;
use geusemaker::cloud::{Cidr, Cloud, DeployOptions, DeployRequest};
use geusemaker::deploy::{Context, DestroyOutcome, OperationError, Timing};
use geusemaker::domain::time::SystemClock;
use geusemaker::domain::{DeploymentState, StackName, Tier};
use geusemaker::store::Store;

use self::fakes::FakeServices;
use self::moto::Moto;

/// TEST-NET-2: the "caller" address the service ports open to. Never contacted.
pub const CALLER: &str = "198.51.100.7/32";

pub struct Harness {
    pub moto: Moto,
    pub home: tempfile::TempDir,
    pub store: Store,
    pub fakes: FakeServices,
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_scaled(None).await
    }

    /// A harness whose emulator runs AWS's latencies at `time_scale`.
    pub async fn start_scaled(time_scale: Option<f64>) -> Self {
        let moto = tokio::task::spawn_blocking(move || Moto::start_scaled(time_scale))
            .await
            .expect("moto");
        let home = tempfile::tempdir().expect("home");
        let store = Store::open(home.path()).expect("store");
        let fakes = FakeServices::start().await;
        Self {
            moto,
            home,
            store,
            fakes,
        }
    }

    pub async fn cloud(&self, interceptor: Option<SharedInterceptor>) -> Arc<AwsCloud> {
        self.cloud_with(interceptor.into_iter().collect()).await
    }

    pub async fn cloud_with(&self, interceptors: Vec<SharedInterceptor>) -> Arc<AwsCloud> {
        Arc::new(
            AwsCloud::connect(self.settings(), Arc::new(SystemClock), interceptors)
                .await
                .expect("connect to moto"),
        )
    }

    fn settings(&self) -> AwsSettings {
        let mut settings = AwsSettings::new("us-east-1", self.store.cache_dir());
        settings.endpoint_url = Some(self.moto.url());
        settings.credentials = Some(Credentials::new("testing", "testing", None, None, "moto"));
        settings.max_attempts = Some(1);
        settings.poll = Duration::from_millis(50);
        settings.wait_limit = Duration::from_secs(60);
        settings.settle_limit = Duration::from_secs(30);
        settings.endpoint_overrides = self.fakes.endpoints();
        settings.caller_cidr = Some(Cidr::parse(CALLER).expect("cidr"));
        settings.extra_ca = Some(self.fakes.ca_pem.clone());
        settings
    }

    /// A cloud that retries as users' does (the SDK's standard retry, 5
    /// attempts), with short backoff: for tests that inject faults.
    pub async fn retrying_cloud(&self) -> Arc<AwsCloud> {
        let mut settings = self.settings();
        settings.max_attempts = Some(5);
        Arc::new(
            AwsCloud::connect(settings, Arc::new(SystemClock), Vec::new())
                .await
                .expect("connect to the emulator"),
        )
    }

    pub async fn deploy_retrying(
        &self,
        stack: &str,
        tier: Tier,
    ) -> Result<DeploymentState, OperationError> {
        let ctx = self.context(self.retrying_cloud().await);
        let (sink, _rx) = StoreSink::new(self.store.clone());
        geusemaker::deploy::deploy(&ctx, &Self::request_for(stack, tier), Box::new(sink)).await
    }

    pub async fn destroy_retrying(&self, stack: &str, delete_data: bool) -> DestroyOutcome {
        let ctx = self.context(self.retrying_cloud().await);
        let (sink, _rx) = StoreSink::new(self.store.clone());
        let name = StackName::parse(stack).expect("name");
        geusemaker::deploy::destroy(&ctx, &name, delete_data, Box::new(sink))
            .await
            .expect("destroy")
    }

    pub fn context(&self, cloud: Arc<AwsCloud>) -> Context {
        let cloud: Arc<dyn Cloud> = cloud;
        Context {
            cloud,
            store: self.store.clone(),
            clock: Arc::new(SystemClock),
            auto_rollback: true,
            timing: Timing {
                poll: Duration::from_millis(50),
                ready_timeout: Duration::from_secs(60),
                backoff_base: Duration::from_millis(50),
            },
        }
    }

    pub fn request(stack: &str) -> DeployRequest {
        Self::request_for(stack, Tier::Dev)
    }

    pub fn request_for(stack: &str, tier: Tier) -> DeployRequest {
        DeployRequest {
            stack: StackName::parse(stack).expect("name"),
            tier,
            region: "us-east-1".into(),
            instance_type: tier.default_instance_type().into(),
            spot: true,
            options: DeployOptions {
                allow_cidr: Some(Cidr::parse(CALLER).expect("cidr")),
                ..DeployOptions::default()
            },
        }
    }

    pub async fn deploy_with(
        &self,
        stack: &str,
        interceptor: Option<SharedInterceptor>,
    ) -> Result<DeploymentState, OperationError> {
        self.deploy_tier(stack, Tier::Dev, interceptor).await
    }

    pub async fn deploy_tier(
        &self,
        stack: &str,
        tier: Tier,
        interceptor: Option<SharedInterceptor>,
    ) -> Result<DeploymentState, OperationError> {
        self.deploy_request(&Self::request_for(stack, tier), interceptor)
            .await
    }

    pub async fn deploy_request(
        &self,
        request: &DeployRequest,
        interceptor: Option<SharedInterceptor>,
    ) -> Result<DeploymentState, OperationError> {
        let (ctx, sink) = self.operating(interceptor).await;
        geusemaker::deploy::deploy(&ctx, request, sink).await
    }

    /// `update`: the request's changes to a running stack, by a switch.
    pub async fn update_request(
        &self,
        request: &DeployRequest,
        interceptor: Option<SharedInterceptor>,
    ) -> Result<DeploymentState, OperationError> {
        let (ctx, sink) = self.operating(interceptor).await;
        geusemaker::deploy::update(&ctx, request, sink).await
    }

    /// What an operation runs with: the emulator's context and a sink to the store.
    async fn operating(
        &self,
        interceptor: Option<SharedInterceptor>,
    ) -> (Context, Box<dyn geusemaker::cloud::session::StateSink>) {
        let ctx = self.context(self.cloud(interceptor).await);
        let (sink, _rx) = StoreSink::new(self.store.clone());
        (ctx, Box::new(sink))
    }

    pub async fn deploy(&self, stack: &str) -> DeploymentState {
        self.deploy_with(stack, None).await.expect("deploy")
    }

    pub async fn destroy(&self, stack: &str, delete_data: bool) -> DestroyOutcome {
        self.destroy_with(stack, delete_data, None).await
    }

    pub async fn destroy_with(
        &self,
        stack: &str,
        delete_data: bool,
        interceptor: Option<SharedInterceptor>,
    ) -> DestroyOutcome {
        let ctx = self.context(self.cloud(interceptor).await);
        let (sink, _rx) = StoreSink::new(self.store.clone());
        geusemaker::deploy::destroy(
            &ctx,
            &StackName::parse(stack).expect("name"),
            delete_data,
            Box::new(sink),
        )
        .await
        .expect("destroy")
    }

    /// An SDK config for looking at what moto holds.
    pub async fn sdk(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.moto.url())
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .load()
            .await
    }

    /// What one version of a launch template launches, as EC2 holds it.
    pub async fn template_data(
        &self,
        template_id: &str,
        version: i64,
    ) -> aws_sdk_ec2::types::ResponseLaunchTemplateData {
        let ec2 = aws_sdk_ec2::Client::new(&self.sdk().await);
        let found = ec2
            .describe_launch_template_versions()
            .launch_template_id(template_id)
            .versions(version.to_string())
            .send()
            .await
            .expect("template versions");
        found
            .launch_template_versions()
            .first()
            .and_then(|v| v.launch_template_data())
            .cloned()
            .expect("the version's data")
    }
}
