//! The quotas a deploy runs into: vCPUs of the instance type's family (spot
//! and on-demand), Elastic IPs, and rules per security group.

use super::{describe, unverified_by};
use crate::cloud::CloudResult;
use crate::cloud::aws::AwsCloud;
use crate::cloud::aws::errors::api_error;
use crate::domain::doctor::{Check, CheckStatus};
use crate::domain::list_prices::is_g_family;

/// Elastic IPs a stack needs (one on the dev tier in the coming design).
const EIPS_NEEDED: f64 = 1.0;
const EIP_QUOTA: &str = "L-0263D0A3";
/// Rules the stack adds to one security group, at most: the gpu tier's
/// load balancer admits CloudFront's origin-facing prefix list, which counts
/// as its 55 entries (and a dev stack's access list is one rule a CIDR).
const RULES_NEEDED: f64 = 55.0;
const RULES_QUOTA: &str = "L-0EA8095F";

/// A family's vCPU quotas (Service Quotas, service `ec2`).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Family {
    label: &'static str,
    spot: &'static str,
    on_demand: &'static str,
}

const STANDARD: Family = Family {
    label: "Standard (A, C, D, H, I, M, R, T, Z)",
    spot: "L-34B43A08",
    on_demand: "L-1216C47A",
};
const G_AND_VT: Family = Family {
    label: "G and VT",
    spot: "L-3819A6DF",
    on_demand: "L-DB2E81BA",
};

/// Families with quotas of their own, though they start with a standard letter.
const OWN_QUOTA_PREFIXES: [&str; 6] = ["inf", "trn", "dl", "hpc", "mac", "u-"];

fn family_of(instance_type: &str) -> Option<Family> {
    let family = instance_type.split('.').next().unwrap_or("");
    if is_g_family(instance_type) {
        return Some(G_AND_VT);
    }
    if OWN_QUOTA_PREFIXES.iter().any(|p| family.starts_with(p)) {
        return None;
    }
    family
        .starts_with(['a', 'c', 'd', 'h', 'i', 'm', 'r', 't', 'z'])
        .then_some(STANDARD)
}

/// One market's vCPU check, from the quota read (or not).
fn vcpu_check(
    market: &str,
    family: Family,
    code: &str,
    instance_type: &str,
    vcpus: i32,
    quota: Option<f64>,
    preferred: bool,
) -> Check {
    let name = format!("{market}-vcpu-quota");
    let Some(limit) = quota else {
        return Check::unverified(
            name,
            format!(
                "the {market} {} vCPU quota ({code}) has no value",
                family.label
            ),
            format!("Look up EC2 quota {code} in the Service Quotas console"),
        );
    };
    let needed = f64::from(vcpus);
    let detail = format!(
        "{} {market} quota {code}: {limit:.0} vCPUs; {instance_type} needs {vcpus} (running instances of the family count against it)",
        family.label
    );
    if limit >= needed {
        return Check::ok(name, detail);
    }
    let status = if preferred {
        CheckStatus::Failed
    } else {
        CheckStatus::Warning
    };
    let also = match (preferred, market) {
        (true, _) => "",
        (false, "spot") => " (only --spot deploys need it)",
        (false, _) => " (only --on-demand and --fallback-on-demand deploys need it)",
    };
    Check::new(
        name,
        status,
        detail,
        format!(
            "Request an increase of EC2 quota {code} to at least {vcpus} in Service Quotas, or pick a smaller --instance-type{also}"
        ),
    )
}

fn room_check(name: &str, detail: String, enough: bool, fix: String) -> Check {
    if enough {
        Check::ok(name, detail)
    } else {
        Check::warning(name, detail, fix)
    }
}

impl AwsCloud {
    async fn quota_value(&self, service: &str, code: &str) -> CloudResult<Option<f64>> {
        let quota = self
            .quotas
            .get_service_quota()
            .service_code(service)
            .quota_code(code)
            .send()
            .await
            .map_err(|e| api_error("GetServiceQuota", e))?;
        Ok(quota.quota().and_then(|q| q.value()))
    }

    /// Spot and on-demand vCPUs of the type's family against its vCPUs.
    pub(super) async fn vcpu_quota_checks(
        &self,
        instance_type: &str,
        vcpus: Option<i32>,
        spot_preferred: bool,
    ) -> Vec<Check> {
        let mut checks = Vec::new();
        for (market, preferred) in [("spot", spot_preferred), ("on-demand", !spot_preferred)] {
            checks.push(
                self.market_check(instance_type, vcpus, market, preferred)
                    .await,
            );
        }
        checks
    }

    async fn market_check(
        &self,
        instance_type: &str,
        vcpus: Option<i32>,
        market: &str,
        preferred: bool,
    ) -> Check {
        let name = format!("{market}-vcpu-quota");
        let Some(vcpus) = vcpus else {
            return Check::unverified(
                name,
                format!("the vCPUs of {instance_type} are unknown (see instance-type-zones)"),
                "Fix the instance-type-zones check first",
            );
        };
        let Some(family) = family_of(instance_type) else {
            return Check::unverified(
                name,
                format!(
                    "doctor knows the vCPU quotas of the Standard and G/VT families only; {instance_type} is in neither"
                ),
                format!(
                    "Compare the {market} vCPU quota of its family in the Service Quotas console (EC2) with its {vcpus} vCPUs"
                ),
            );
        };
        let code = if market == "spot" {
            family.spot
        } else {
            family.on_demand
        };
        match self.quota_value("ec2", code).await {
            Ok(quota) => vcpu_check(market, family, code, instance_type, vcpus, quota, preferred),
            Err(e) => unverified_by(
                &name,
                &format!("could not read EC2 quota {code}"),
                "servicequotas:GetServiceQuota",
                &e,
            ),
        }
    }

    /// Elastic IPs: the quota, less those already allocated.
    pub(super) async fn elastic_ip_check(&self) -> Check {
        const NAME: &str = "elastic-ip-quota";
        let limit = match self.quota_value("ec2", EIP_QUOTA).await {
            Ok(Some(limit)) => limit,
            Ok(None) => {
                return Check::unverified(
                    NAME,
                    format!("EC2 quota {EIP_QUOTA} (Elastic IPs) has no value"),
                    format!("Look up EC2 quota {EIP_QUOTA} in the Service Quotas console"),
                );
            }
            Err(e) => {
                return unverified_by(
                    NAME,
                    &format!("could not read EC2 quota {EIP_QUOTA} (Elastic IPs)"),
                    "servicequotas:GetServiceQuota",
                    &e,
                );
            }
        };
        let used = self.ec2.describe_addresses().send().await;
        let (used, note) = match used {
            Ok(a) => (a.addresses().len() as f64, String::new()),
            Err(e) => (
                0.0,
                format!(
                    " (how many are in use is unknown: {})",
                    describe(&api_error("DescribeAddresses", e))
                ),
            ),
        };
        room_check(
            NAME,
            format!(
                "{limit:.0} Elastic IPs in {}, {used:.0} allocated; a stack needs {EIPS_NEEDED:.0}{note}",
                self.region()
            ),
            limit - used >= EIPS_NEEDED,
            format!(
                "Release an unused Elastic IP (`aws ec2 release-address`) or request an increase of EC2 quota {EIP_QUOTA}"
            ),
        )
    }

    pub(super) async fn rules_per_group_check(&self) -> Check {
        const NAME: &str = "security-group-rules-quota";
        match self.quota_value("vpc", RULES_QUOTA).await {
            Ok(Some(limit)) => room_check(
                NAME,
                format!(
                    "{limit:.0} inbound (and outbound) rules per security group; the gpu tier's \
                     load balancer group needs {RULES_NEEDED:.0} (CloudFront's origin-facing prefix list weighs 55)"
                ),
                limit >= RULES_NEEDED,
                format!(
                    "Request an increase of VPC quota {RULES_QUOTA} to at least {RULES_NEEDED:.0} in Service Quotas"
                ),
            ),
            Ok(None) => Check::unverified(
                NAME,
                format!("VPC quota {RULES_QUOTA} (rules per security group) has no value"),
                format!("Look up VPC quota {RULES_QUOTA} in the Service Quotas console"),
            ),
            Err(e) => unverified_by(
                NAME,
                &format!("could not read VPC quota {RULES_QUOTA} (rules per security group)"),
                "servicequotas:GetServiceQuota",
                &e,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_map_to_their_quota_codes() {
        assert_eq!(family_of("t3.medium"), Some(STANDARD));
        assert_eq!(family_of("m7i-flex.large"), Some(STANDARD));
        assert_eq!(family_of("g4dn.xlarge"), Some(G_AND_VT));
        assert_eq!(family_of("vt1.3xlarge"), Some(G_AND_VT));
        for own in [
            "inf2.xlarge",
            "trn1.2xlarge",
            "p5.48xlarge",
            "x2idn.large",
            "dl1.24xlarge",
        ] {
            assert_eq!(family_of(own), None, "{own}");
        }
    }

    #[test]
    fn too_few_vcpus_fail_the_preferred_market_and_warn_the_other() {
        let check = |quota, preferred| {
            vcpu_check(
                "spot",
                G_AND_VT,
                "L-3819A6DF",
                "g4dn.xlarge",
                4,
                quota,
                preferred,
            )
        };
        assert_eq!(check(Some(8.0), true).status, CheckStatus::Ok);
        let low = check(Some(0.0), true);
        assert_eq!(low.status, CheckStatus::Failed);
        assert!(low.fix.contains("L-3819A6DF to at least 4"), "{}", low.fix);
        assert_eq!(check(Some(0.0), false).status, CheckStatus::Warning);
        assert_eq!(check(None, true).status, CheckStatus::CouldNotVerify);
    }
}
