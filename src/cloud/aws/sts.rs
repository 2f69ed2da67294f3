//! STS and the preflight: who we are, that the region and instance type exist,
//! and that an expensive family was asked for on purpose.

use aws_sdk_ec2::types::{InstanceTypeInfo, LocationType};

use super::AwsCloud;
use super::errors::{api_error, code_of};
use super::tags::filter;
use crate::cloud::{CloudError, CloudResult, DeployRequest, Session};

/// Families that cost tens of dollars an hour: never by accident.
const EXPENSIVE_FAMILIES: [&str; 4] = ["p4", "p5", "inf2", "trn1"];

pub fn is_expensive(instance_type: &str) -> bool {
    let family = instance_type.split('.').next().unwrap_or("");
    EXPENSIVE_FAMILIES.iter().any(|f| family.starts_with(f))
}

impl AwsCloud {
    pub(super) async fn account_id(&self) -> CloudResult<String> {
        let me = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| api_error("GetCallerIdentity", e))?;
        Ok(me.account().unwrap_or_default().to_string())
    }

    pub(super) async fn preflight_checks(
        &self,
        req: &DeployRequest,
        s: &mut Session,
    ) -> CloudResult<()> {
        s.progress(Some(0.1), "checking credentials (STS)")?;
        let account = self.account_id().await?;
        s.record(|st| st.account_id = Some(account.clone()))?;

        s.progress(Some(0.4), format!("region {}", req.region))?;
        let regions = self
            .ec2
            .describe_regions()
            .region_names(&req.region)
            .send()
            .await;
        match regions {
            Ok(r) if !r.regions().is_empty() => {}
            Ok(_) => return Err(unknown_region(&req.region)),
            Err(e) => {
                let e = api_error("DescribeRegions", e);
                return Err(match code_of(&e) {
                    Some("InvalidParameterValue") => unknown_region(&req.region),
                    _ => e,
                });
            }
        }

        if is_expensive(&req.instance_type) && !req.options.allow_expensive {
            return Err(CloudError::Refused(format!(
                "{} is an expensive instance family (tens of dollars an hour); pass --allow-expensive if you mean it",
                req.instance_type
            )));
        }
        s.progress(
            Some(0.7),
            format!("{} offered in {}", req.instance_type, req.region),
        )?;
        let offered = self
            .ec2
            .describe_instance_type_offerings()
            .location_type(LocationType::Region)
            .filters(filter("instance-type", &req.instance_type))
            .send()
            .await
            .map_err(|e| api_error("DescribeInstanceTypeOfferings", e))?;
        if offered.instance_type_offerings().is_empty() {
            return Err(CloudError::Refused(format!(
                "instance type {} is not offered in {}; pick another type or region",
                req.instance_type, req.region
            )));
        }
        let arch = self.architecture(&req.instance_type).await?;
        s.record(|st| {
            let config = st.config.get_or_insert_with(Default::default);
            config
                .extra
                .insert("architecture".into(), arch.clone().into());
        })?;
        s.progress(
            Some(1.0),
            format!(
                "account {account}, {} ({arch}) in {}",
                req.instance_type, req.region
            ),
        )?;
        Ok(())
    }

    pub(super) async fn instance_type_info(
        &self,
        instance_type: &str,
    ) -> CloudResult<Option<InstanceTypeInfo>> {
        let types = self
            .ec2
            .describe_instance_types()
            .instance_types(instance_type.into())
            .send()
            .await
            .map_err(|e| api_error("DescribeInstanceTypes", e))?;
        Ok(types.instance_types().first().cloned())
    }

    /// `x86_64` or `arm64`, as the AMI parameter names it.
    pub(super) async fn architecture(&self, instance_type: &str) -> CloudResult<String> {
        let archs: Vec<String> = self
            .instance_type_info(instance_type)
            .await?
            .as_ref()
            .and_then(|t| t.processor_info())
            .map(|p| {
                p.supported_architectures()
                    .iter()
                    .map(|a| a.as_str().to_string())
                    .collect()
            })
            .unwrap_or_default();
        Ok(
            if archs.iter().any(|a| a == "arm64") && !archs.iter().any(|a| a == "x86_64") {
                "arm64".into()
            } else {
                "x86_64".into()
            },
        )
    }
}

fn unknown_region(region: &str) -> CloudError {
    CloudError::Refused(format!(
        "region {region} does not exist or is not enabled for this account; pick another --region"
    ))
}

#[cfg(test)]
mod tests {
    use super::is_expensive;

    #[test]
    fn expensive_families_are_recognised() {
        for t in [
            "p4d.24xlarge",
            "p5.48xlarge",
            "inf2.xlarge",
            "trn1n.32xlarge",
        ] {
            assert!(is_expensive(t), "{t}");
        }
        for t in ["t3.medium", "g4dn.xlarge", "m5.large", "c7g.large"] {
            assert!(!is_expensive(t), "{t}");
        }
    }
}
