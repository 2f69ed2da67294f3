//! Crash safety: abort a deploy right after its N-th AWS call (the call took
//! effect in moto, its answer never reached us), for every N, then deploy
//! again. It must finish with no duplicates, every tagged resource recorded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use geusemaker::domain::StackStatus;

use super::Harness;
use super::deploy::{file_systems, live_builders, live_instances, profiles, tagged_group_ids};

/// The crash tests deploy once per call: AWS's latencies at a tenth of the
/// other tests' scale keep them fast (the order of events is the same).
pub(super) const CRASH_TIME_SCALE: f64 = 0.001;

/// Lets `limit` calls through; the `limit`-th one's answer is replaced by an
/// error, and every later call fails before it is sent.
#[derive(Debug)]
pub(super) struct CrashAfter {
    pub(super) calls: Arc<AtomicUsize>,
    /// Each call's operation, in order: what a failure after call N names.
    pub(super) operations: Arc<Mutex<Vec<String>>>,
    limit: usize,
}

impl CrashAfter {
    pub(super) fn new(limit: usize) -> Self {
        Self {
            calls: Arc::new(AtomicUsize::new(0)),
            operations: Arc::default(),
            limit,
        }
    }
}

/// "3 DescribeInstances, 4 SendCommand, …": the calls up to and after `n`.
pub(super) fn around(operations: &Mutex<Vec<String>>, n: usize) -> String {
    let ops = operations.lock().map(|o| o.clone()).unwrap_or_default();
    ops.iter()
        .enumerate()
        .skip(n.saturating_sub(6))
        .take(8)
        .map(|(i, op)| format!("{} {op}", i + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Intercept for CrashAfter {
    fn name(&self) -> &'static str {
        "crash-after"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        // The operation's name; else its input's type, as Debug names it.
        let name = match cfg.load::<Metadata>() {
            Some(meta) => meta.name().to_string(),
            None => {
                let input = format!("{:?}", context.input());
                let end = input.find([' ', '{', '(']).unwrap_or(input.len());
                input[..end].trim_end_matches("Input").to_string()
            }
        };
        if let Ok(mut ops) = self.operations.lock() {
            ops.push(name);
        }
        if n > self.limit {
            return Err("simulated crash: the process is gone".into());
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        _: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.calls.load(Ordering::SeqCst) == self.limit {
            return Err("simulated crash just after the call".into());
        }
        Ok(())
    }
}

/// A deploy cut at call `n` failed, unless `n` was its last call this time
/// (whose failure, a best-effort lookup, it may tolerate) or it needed fewer:
/// how often a wait polls depends on AWS's timing (a profile propagating, a
/// mount target creating), so the count varies from run to run.
pub(super) fn assert_cut_short<T: std::fmt::Debug, E: std::fmt::Debug>(
    cut: &Result<T, E>,
    n: usize,
    made: usize,
    total: usize,
) {
    assert!(
        cut.is_err() || made <= n,
        "call {n} of {total}: the deploy should have been cut short ({made} calls made): {cut:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_cut_short_after_any_call_finishes_on_the_next_run() {
    let h = Harness::start_scaled(Some(CRASH_TIME_SCALE)).await;
    let _ = std::fs::remove_file(h.store.cache_dir().join("pricing.json"));
    let counter = CrashAfter::new(usize::MAX);
    let calls = counter.calls.clone();
    h.deploy_with("count", Some(SharedInterceptor::new(counter)))
        .await
        .expect("full deploy");
    let total = calls.load(Ordering::SeqCst);
    assert!(total > 20, "a deploy makes {total} calls?");
    eprintln!("a dev deploy makes {total} AWS calls");

    let sdk = h.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let efs = aws_sdk_efs::Client::new(&sdk);
    let iam = aws_sdk_iam::Client::new(&sdk);
    for n in 1..total {
        // Every run makes the same calls: no prices from the cache.
        let _ = std::fs::remove_file(h.store.cache_dir().join("pricing.json"));
        let stack = format!("crash-{n}");
        let crash = CrashAfter::new(n);
        let made = crash.calls.clone();
        let cut = h
            .deploy_with(&stack, Some(SharedInterceptor::new(crash)))
            .await;
        assert_cut_short(&cut, n, made.load(Ordering::SeqCst), total);

        let state = h
            .deploy_with(&stack, None)
            .await
            .unwrap_or_else(|e| panic!("after call {n}: {e}"));
        assert_eq!(state.status, StackStatus::Running, "after call {n}");

        let groups = tagged_group_ids(&ec2, &stack).await;
        let mut recorded = vec![
            state.security_group_id.clone().unwrap(),
            state.efs_security_group_id.clone().unwrap(),
        ];
        recorded.sort();
        assert_eq!(groups, recorded, "after call {n}: security groups");
        assert_eq!(
            file_systems(&efs, &stack).await,
            vec![state.efs_id.clone().unwrap()],
            "after call {n}: EFS"
        );
        assert_eq!(
            live_instances(&ec2, &stack).await,
            vec![state.instance_id.clone().unwrap()],
            "after call {n}: instance"
        );
        assert!(
            live_builders(&ec2, &stack).await.is_empty() && state.image_builder.is_none(),
            "after call {n}: the image's builder is left"
        );
        assert_eq!(
            profiles(&iam, &stack).await,
            vec![state.iam_instance_profile_name.clone().unwrap()],
            "after call {n}: profile"
        );
        let targets = efs
            .describe_mount_targets()
            .file_system_id(state.efs_id.as_deref().unwrap())
            .send()
            .await
            .unwrap();
        let mut in_moto: Vec<String> = targets
            .mount_targets()
            .iter()
            .map(|m| m.mount_target_id().to_string())
            .collect();
        let mut in_state = state.efs_mount_target_ids.clone();
        in_moto.sort();
        in_state.sort();
        assert_eq!(in_moto, in_state, "after call {n}: mount targets");
    }
}
