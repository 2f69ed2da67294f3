//! Records every operation the SDK starts, in order, as `(service, name)`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// `(service, operation)` as the SDK's `Metadata` names them.
pub type Operation = (String, String);

#[derive(Debug, Default, Clone)]
pub struct Recorder(Arc<Mutex<Vec<Operation>>>);

impl Recorder {
    /// The operations' names, in the order they were sent.
    pub fn names(&self) -> Vec<String> {
        let calls = self.0.lock().expect("recorder");
        calls.iter().map(|(_, name)| name.clone()).collect()
    }

    /// Each distinct operation once; the record starts afresh.
    pub fn take(&self) -> BTreeSet<Operation> {
        std::mem::take(&mut *self.0.lock().expect("recorder"))
            .into_iter()
            .collect()
    }

    pub fn interceptor(&self) -> Option<SharedInterceptor> {
        Some(SharedInterceptor::new(self.clone()))
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }

    // The operation's metadata is in the bag from serialization on.
    fn read_before_serialization(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, name) = cfg
            .load::<Metadata>()
            .map_or(("?", "?"), |m| (m.service(), m.name()));
        self.0
            .lock()
            .expect("recorder")
            .push((service.to_string(), name.to_string()));
        Ok(())
    }
}
