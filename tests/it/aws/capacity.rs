//! No spot capacity: moto cannot say so, so an interceptor turns every spot
//! RunInstances into a harmless call and answers it the way EC2 does when a
//! zone is out of capacity.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use aws_sdk_ec2::operation::run_instances::RunInstancesInput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeSerializationInterceptorContextRef,
    BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;

use geusemaker::cloud::CloudError;
use geusemaker::cloud::session::StoreSink;
use geusemaker::deploy::OperationError;

use super::Harness;
use super::deploy::live_instances;

const NO_CAPACITY: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<Response><Errors><Error><Code>InsufficientInstanceCapacity</Code>\
<Message>We currently do not have sufficient t3.medium capacity in the Availability Zone you requested.</Message>\
</Error></Errors><RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>";

#[derive(Debug, Default)]
struct NoSpotCapacity {
    spot_call: AtomicBool,
    refused: Arc<AtomicUsize>,
}

impl Intercept for NoSpotCapacity {
    fn name(&self) -> &'static str {
        "no-spot-capacity"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let spot = context
            .input()
            .downcast_ref::<RunInstancesInput>()
            .is_some_and(|i| i.instance_market_options().is_some());
        self.spot_call.store(spot, Ordering::SeqCst);
        Ok(())
    }

    /// A refused launch launches nothing: send moto a harmless call instead.
    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.spot_call.load(Ordering::SeqCst) {
            let harmless = "Action=DescribeRegions&Version=2016-11-15";
            let request = context.request_mut();
            *request.body_mut() = SdkBody::from(harmless);
            request
                .headers_mut()
                .insert("content-length", harmless.len().to_string());
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.spot_call.swap(false, Ordering::SeqCst) {
            self.refused.fetch_add(1, Ordering::SeqCst);
            let status = StatusCode::try_from(500u16).map_err(|e| e.to_string())?;
            *context.response_mut() = Response::new(status, SdkBody::from(NO_CAPACITY));
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_zone_is_tried_then_the_deploy_says_so() {
    let h = Harness::start().await;
    let interceptor = NoSpotCapacity::default();
    let refused = interceptor.refused.clone();
    let err = h
        .deploy_with("nospot", Some(SharedInterceptor::new(interceptor)))
        .await
        .expect_err("no capacity anywhere");
    let OperationError::Stage { source, .. } = &err else {
        panic!("{err}")
    };
    assert!(
        matches!(**source, CloudError::InsufficientCapacity { .. }),
        "{err}"
    );
    let state = h.store.load(&"nospot".parse().unwrap()).unwrap().unwrap();
    assert_eq!(
        refused.load(Ordering::SeqCst),
        state.subnet_ids.len(),
        "one try per zone"
    );
    assert!(
        err.to_string().contains("no spot capacity for t3.medium"),
        "{err}"
    );
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    assert!(
        live_instances(&ec2, "nospot").await.is_empty(),
        "a refused launch leaves nothing running"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallback_on_demand_launches_on_demand() {
    let h = Harness::start().await;
    let ctx = h.context(
        h.cloud(Some(SharedInterceptor::new(NoSpotCapacity::default())))
            .await,
    );
    let mut req = Harness::request("ondemand");
    req.options.fallback_on_demand = true;
    let (sink, _rx) = StoreSink::new(h.store.clone());
    let state = geusemaker::deploy::deploy(&ctx, &req, Box::new(sink))
        .await
        .expect("deploy");
    assert!(!state.is_spot(), "recorded as on-demand");
    let sdk = h.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let ids = live_instances(&ec2, "ondemand").await;
    assert_eq!(ids.len(), 1);
    let described = ec2
        .describe_instances()
        .instance_ids(&ids[0])
        .send()
        .await
        .unwrap();
    assert!(
        described.reservations()[0].instances()[0]
            .instance_lifecycle()
            .is_none(),
        "not spot"
    );
}
