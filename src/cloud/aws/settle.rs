//! Eventual consistency. Right after a create, AWS may answer `*.NotFound`
//! or `NoSuchEntity` for the new resource for a few seconds, and a filtered
//! describe may not list it yet
//! (<https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html>,
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency>).
//! Calls that name a resource this run just made go through `settled`.

use std::time::Duration;

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response;

use super::AwsCloud;
use super::errors::{api_error, code_of};
use crate::cloud::{CloudError, CloudResult};

/// The longest pause between two looks.
const MAX_DELAY: Duration = Duration::from_secs(5);

/// Whether `err` is AWS not showing a resource yet, rather than its absence.
pub fn not_visible_yet(err: &CloudError) -> bool {
    code_of(err).is_some_and(|code| {
        code.ends_with(".NotFound")
            || matches!(
                code,
                "NoSuchEntity" | "LoadBalancerNotFound" | "TargetGroupNotFound"
            )
    })
}

impl AwsCloud {
    /// Send until the resource the call names is visible, with backoff, for
    /// at most `settle_limit`; any other answer is returned as it is.
    pub(super) async fn settled<T, E, F, Fut>(&self, operation: &str, mut send: F) -> CloudResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, Response>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let started = tokio::time::Instant::now();
        let mut delay = self.settings.poll;
        loop {
            match send().await.map_err(|e| api_error(operation, e)) {
                Err(e) if not_visible_yet(&e) && started.elapsed() < self.settings.settle_limit => {
                    tracing::debug!(operation, error = %e, "not visible yet; looking again");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_DELAY);
                }
                other => return other,
            }
        }
    }

    /// Poll `look` (a filtered describe) until it finds something or
    /// `settle_limit` passes: a resource that exists (a create answered
    /// "duplicate") but is not listed yet.
    pub(super) async fn look_again<T, F, Fut>(&self, mut look: F) -> CloudResult<Option<T>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = CloudResult<Option<T>>>,
    {
        let started = tokio::time::Instant::now();
        let mut delay = self.settings.poll;
        loop {
            if let Some(found) = look().await? {
                return Ok(Some(found));
            }
            if started.elapsed() >= self.settings.settle_limit {
                return Ok(None);
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_DELAY);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::aws::errors::classify;

    #[test]
    fn only_missing_resources_are_waited_for() {
        for code in [
            "InvalidGroup.NotFound",
            "NoSuchEntity",
            "LoadBalancerNotFound",
        ] {
            assert!(
                not_visible_yet(&classify("X", code, String::new())),
                "{code}"
            );
        }
        for code in [
            "DependencyViolation",
            "InvalidParameterValue",
            "AccessDenied",
        ] {
            assert!(
                !not_visible_yet(&classify("X", code, String::new())),
                "{code}"
            );
        }
    }
}
