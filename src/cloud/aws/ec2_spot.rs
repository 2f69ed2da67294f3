//! Spot interruptions: the spot request's status, or the instance's own
//! state reason.

use super::AwsCloud;
use super::errors::api_error;
use crate::cloud::{CloudResult, SpotNotice};
use crate::domain::Timestamp;

/// Spot request codes that mean AWS is taking the instance back.
const INTERRUPTION_CODES: [&str; 2] = ["marked-for-termination", "instance-terminated-no-capacity"];

impl AwsCloud {
    /// Whether AWS is interrupting the spot instance `id`: its spot request's
    /// status, or the instance's own state reason.
    pub(super) async fn interruption(&self, id: &str) -> CloudResult<Option<SpotNotice>> {
        let requests = self
            .ec2
            .describe_spot_instance_requests()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("instance-id")
                    .values(id)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| api_error("DescribeSpotInstanceRequests", e))?;
        for request in requests.spot_instance_requests() {
            let status = request.status();
            let code = status.and_then(|s| s.code()).unwrap_or_default();
            if INTERRUPTION_CODES.contains(&code) {
                // AWS gives two minutes' notice from the status update.
                let at = status
                    .and_then(|s| s.update_time())
                    .and_then(|t| t.to_millis().ok())
                    .map(|ms| Timestamp::from_unix_millis(ms).plus_secs(120.0));
                return Ok(Some(SpotNotice {
                    instance_id: id.to_string(),
                    terminate_at: at,
                    detail: code.to_string(),
                }));
            }
        }
        let instance = self.describe_instance(id).await?;
        let reason = instance
            .as_ref()
            .and_then(|i| i.state_reason())
            .and_then(|r| r.code())
            .unwrap_or_default();
        Ok(
            (reason == "Server.SpotInstanceTermination").then(|| SpotNotice {
                instance_id: id.to_string(),
                terminate_at: None,
                detail: format!("terminated: {reason}"),
            }),
        )
    }
}
