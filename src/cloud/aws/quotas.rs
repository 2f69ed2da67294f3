//! The G-instance vCPU quota, checked before anything is created: new
//! accounts have 0 there, and a gpu deploy would otherwise fail at launch.

use super::AwsCloud;
use super::errors::{api_error, code_of};
use crate::cloud::{CloudError, CloudResult};

/// Service Quotas codes of EC2's "All G and VT Spot Instance Requests" and
/// "Running On-Demand G and VT instances" (vCPUs).
const G_SPOT: &str = "L-3819A6DF";
const G_ON_DEMAND: &str = "L-DB2E81BA";

pub use crate::domain::list_prices::is_g_family;

impl AwsCloud {
    /// `Ok(None)` when the quota allows the instance; `Ok(Some(warning))` when
    /// it cannot be read (the deploy goes on); `Err` when it is too low.
    pub(super) async fn check_gpu_quota(
        &self,
        instance_type: &str,
        spot: bool,
    ) -> CloudResult<Option<String>> {
        if !is_g_family(instance_type) {
            return Ok(None);
        }
        let vcpus = self.vcpus(instance_type).await?;
        let (code, what) = if spot {
            (G_SPOT, "spot")
        } else {
            (G_ON_DEMAND, "on-demand")
        };
        let quota = self
            .quotas
            .get_service_quota()
            .service_code("ec2")
            .quota_code(code)
            .send()
            .await;
        let value = match quota {
            Ok(q) => q.quota().and_then(|q| q.value()),
            Err(e) => {
                let e = api_error("GetServiceQuota", e);
                let why = code_of(&e).unwrap_or("unreadable").to_string();
                return Ok(Some(format!(
                    "G-instance quota unknown ({why}); launching anyway"
                )));
            }
        };
        match value {
            Some(limit) if limit < f64::from(vcpus) => Err(CloudError::Refused(format!(
                "your account's {what} quota for G instances is {limit:.0} vCPUs and {instance_type} needs {vcpus}. \
                 Request an increase in Service Quotas (EC2, quota {code}), then deploy again; nothing was created"
            ))),
            Some(limit) => {
                tracing::info!(limit, vcpus, "G quota ok");
                Ok(None)
            }
            None => Ok(Some(
                "G-instance quota has no value; launching anyway".into(),
            )),
        }
    }

    async fn vcpus(&self, instance_type: &str) -> CloudResult<i32> {
        Ok(self
            .instance_type_info(instance_type)
            .await?
            .as_ref()
            .and_then(|t| t.v_cpu_info())
            .and_then(|v| v.default_v_cpus())
            .unwrap_or(4))
    }
}

#[cfg(test)]
mod tests {
    use super::is_g_family;

    #[test]
    fn g_families() {
        for t in ["g4dn.xlarge", "g5.2xlarge", "g6e.xlarge", "vt1.3xlarge"] {
            assert!(is_g_family(t), "{t}");
        }
        for t in ["t3.medium", "m5.large", "p5.48xlarge"] {
            assert!(!is_g_family(t), "{t}");
        }
    }
}
