//! `doctor`: is this account ready for a deploy? Read-only calls, each turned
//! into a check with what was found and what to do. A call that fails makes
//! its check "could not verify", never ok; only what would stop a deploy is
//! "failed".

mod linked_roles;
mod quotas;
mod simulation;

use super::AwsCloud;
use super::errors::{api_error, code_of};
use super::tags::filter;
use crate::cloud::CloudError;
use crate::domain::doctor::{Check, DoctorReport};

pub use simulation::{Principal, principal_of};

/// What to check the account against.
#[derive(Clone, Debug, PartialEq)]
pub struct DoctorRequest {
    /// The type a deploy would launch: its quotas and zones are checked.
    pub instance_type: String,
    /// Whether deploys go to spot first (its quota failing fails the check;
    /// the other market's only warns).
    pub spot: bool,
}

/// Who is calling, from STS.
#[derive(Clone, Debug, PartialEq)]
struct Caller {
    account: String,
    arn: String,
    partition: String,
}

impl AwsCloud {
    /// Every check, in the order the report lists them. Never fails: what
    /// cannot be checked is in the report as such.
    pub async fn doctor(&self, req: &DoctorRequest) -> DoctorReport {
        let (identity, caller) = self.identity_check().await;
        let mut checks = vec![identity, self.region_check().await];
        let simulation = self.simulate_policy(caller.as_ref()).await;
        checks.extend(simulation.checks());
        checks.push(self.default_vpc_check(&simulation).await);
        let (zones, vcpus) = self.instance_type_check(&req.instance_type).await;
        checks.extend(
            self.vcpu_quota_checks(&req.instance_type, vcpus, req.spot)
                .await,
        );
        checks.push(self.elastic_ip_check().await);
        checks.push(self.rules_per_group_check().await);
        checks.extend(self.linked_role_checks(&simulation).await);
        checks.push(zones);
        DoctorReport {
            region: self.region().to_string(),
            checks,
        }
    }

    async fn identity_check(&self) -> (Check, Option<Caller>) {
        let me = self.sts.get_caller_identity().send().await;
        let me = match me {
            Ok(me) => me,
            Err(e) => {
                let e = api_error("GetCallerIdentity", e);
                let check = Check::failed(
                    "identity",
                    format!("AWS did not accept the credentials: {}", describe(&e)),
                    "Check them with `aws sts get-caller-identity`; refresh them (`aws sso login`) or pick another --profile",
                );
                return (check, None);
            }
        };
        let arn = me.arn().unwrap_or_default().to_string();
        let caller = Caller {
            account: me.account().unwrap_or_default().to_string(),
            partition: arn.split(':').nth(1).unwrap_or("aws").to_string(),
            arn,
        };
        let check = Check::ok(
            "identity",
            format!("{} in account {}", caller.arn, caller.account),
        );
        (check, Some(caller))
    }

    /// DescribeRegions with AllRegions tells the opt-in status; where it is
    /// refused, DescribeAvailabilityZones answering shows the region works.
    async fn region_check(&self) -> Check {
        let region = self.region();
        let found = self
            .ec2
            .describe_regions()
            .all_regions(true)
            .region_names(region)
            .send()
            .await
            .map_err(|e| api_error("DescribeRegions", e));
        match found {
            Ok(r) => match r.regions().first() {
                Some(info) => opt_in_check(region, info.opt_in_status().unwrap_or_default()),
                None => unknown_region(region),
            },
            Err(e) if code_of(&e) == Some("InvalidParameterValue") => unknown_region(region),
            Err(e) => self.zones_answer(region, &e).await,
        }
    }

    async fn zones_answer(&self, region: &str, regions_error: &CloudError) -> Check {
        let zones = self
            .ec2
            .describe_availability_zones()
            .send()
            .await
            .map_err(|e| api_error("DescribeAvailabilityZones", e));
        match zones {
            Ok(z) => Check::ok(
                "region",
                format!(
                    "{region} answers ({} zones; DescribeRegions was refused: {})",
                    z.availability_zones().len(),
                    describe(regions_error)
                ),
            ),
            Err(e) if matches!(code_of(&e), Some("OptInRequired" | "AuthFailure")) => {
                Check::failed(
                    "region",
                    format!("{region} refuses the calls: {}", describe(&e)),
                    not_enabled_fix(region),
                )
            }
            Err(e) => unverified_by(
                "region",
                &format!("could not tell whether {region} is enabled"),
                "ec2:DescribeRegions",
                &e,
            ),
        }
    }

    async fn default_vpc_check(&self, simulation: &simulation::Simulation) -> Check {
        let vpcs = self
            .ec2
            .describe_vpcs()
            .filters(filter("is-default", "true"))
            .send()
            .await
            .map_err(|e| api_error("DescribeVpcs", e));
        let vpcs = match vpcs {
            Ok(v) => v,
            Err(e) => {
                return unverified_by(
                    "default-vpc",
                    "could not look for the default VPC",
                    "ec2:DescribeVpcs",
                    &e,
                );
            }
        };
        if let Some(id) = vpcs.vpcs().first().and_then(|v| v.vpc_id()) {
            return Check::ok(
                "default-vpc",
                format!("{id}: deploy uses it unless --vpc-id or --new-vpc says otherwise"),
            );
        }
        no_default_vpc(simulation.allows("ec2:CreateVpc"))
    }

    /// The type's vCPUs (for the quotas) and the zones offering it.
    async fn instance_type_check(&self, instance_type: &str) -> (Check, Option<i32>) {
        const NAME: &str = "instance-type-zones";
        let vcpus = match self.instance_type_info(instance_type).await {
            Ok(Some(info)) => info.v_cpu_info().and_then(|v| v.default_v_cpus()),
            Ok(None) => return (not_a_type(instance_type, self.region()), None),
            Err(e) if code_of(&e) == Some("InvalidInstanceType") => {
                return (not_a_type(instance_type, self.region()), None);
            }
            Err(e) => {
                let check = unverified_by(
                    NAME,
                    &format!("could not describe {instance_type}"),
                    "ec2:DescribeInstanceTypes",
                    &e,
                );
                return (check, None);
            }
        };
        let check = match self.zones_offering(instance_type).await {
            Ok(zones) => {
                let zones: Vec<&str> = zones.iter().map(String::as_str).collect();
                zones_check(instance_type, self.region(), &zones)
            }
            Err(e) => unverified_by(
                NAME,
                &format!("could not list the zones offering {instance_type}"),
                "ec2:DescribeInstanceTypeOfferings",
                &e,
            ),
        };
        (check, vcpus)
    }
}

fn opt_in_check(region: &str, status: &str) -> Check {
    match status {
        "not-opted-in" => Check::failed(
            "region",
            format!("{region} is not enabled for this account"),
            not_enabled_fix(region),
        ),
        "" => Check::ok("region", format!("{region} exists")),
        status => Check::ok("region", format!("{region} is enabled ({status})")),
    }
}

fn not_enabled_fix(region: &str) -> String {
    format!(
        "Enable {region} (AWS console: Account, AWS Regions; or `aws account enable-region --region-name {region}`), or pick another --region"
    )
}

fn unknown_region(region: &str) -> Check {
    Check::failed(
        "region",
        format!("{region} is not an AWS region this account can see"),
        "Pick another --region, like us-east-1 or eu-west-2",
    )
}

fn no_default_vpc(create_vpc_allowed: Option<bool>) -> Check {
    const NAME: &str = "default-vpc";
    match create_vpc_allowed {
        Some(true) => Check::ok(
            NAME,
            "no default VPC: deploy creates a VPC of the stack's own (ec2:CreateVpc is allowed)",
        ),
        Some(false) => Check::failed(
            NAME,
            "no default VPC, and ec2:CreateVpc is denied: deploy can neither use one nor create its own",
            "Allow ec2:CreateVpc (it is in assets/iam-policy.json), create a default VPC (`aws ec2 create-default-vpc`), or deploy with --vpc-id",
        ),
        None => Check::unverified(
            NAME,
            "no default VPC; whether deploy may create its own (ec2:CreateVpc) could not be simulated",
            "Make sure ec2:CreateVpc is allowed, create a default VPC (`aws ec2 create-default-vpc`), or deploy with --vpc-id",
        ),
    }
}

fn not_a_type(instance_type: &str, region: &str) -> Check {
    Check::failed(
        "instance-type-zones",
        format!("{instance_type} is not an instance type in {region}"),
        "Pick another --instance-type (like t3.medium or g4dn.xlarge) or another --region",
    )
}

fn zones_check(instance_type: &str, region: &str, zones: &[&str]) -> Check {
    const NAME: &str = "instance-type-zones";
    match zones {
        [] => Check::failed(
            NAME,
            format!("{instance_type} is not offered in any zone of {region}"),
            "Pick another --instance-type or another --region",
        ),
        [one] => Check::warning(
            NAME,
            format!(
                "{instance_type} is offered only in {one}: without capacity there, no other zone can take the instance"
            ),
            "Pick a type offered in two or more zones of the region, or another --region",
        ),
        many => Check::ok(
            NAME,
            format!(
                "{instance_type} is offered in {} zones: {}",
                many.len(),
                many.join(", ")
            ),
        ),
    }
}

/// The error's code and message, without the generic hint.
fn describe(e: &CloudError) -> String {
    match e {
        CloudError::Api { code, message, .. } => format!("{code}: {message}"),
        other => other.to_string(),
    }
}

fn is_denied(e: &CloudError) -> bool {
    matches!(
        code_of(e),
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation")
    )
}

/// A check that a failed call kept from being made.
fn unverified_by(name: &str, what: &str, action: &str, e: &CloudError) -> Check {
    let fix = if is_denied(e) {
        format!("Allow {action} (it is in assets/iam-policy.json), then run doctor again")
    } else {
        "Run doctor again; if it keeps failing, check the network, the region and AWS_ENDPOINT_URL"
            .to_string()
    };
    Check::unverified(name, format!("{what}: {}", describe(e)), fix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::doctor::CheckStatus;

    #[test]
    fn an_opt_in_region_not_enabled_fails_with_how_to_enable_it() {
        let c = opt_in_check("af-south-1", "not-opted-in");
        assert_eq!(c.status, CheckStatus::Failed);
        assert!(
            c.fix.contains("enable-region --region-name af-south-1"),
            "{}",
            c.fix
        );
        assert_eq!(
            opt_in_check("us-east-1", "opt-in-not-required").status,
            CheckStatus::Ok
        );
    }

    #[test]
    fn one_zone_warns_and_none_fails() {
        assert_eq!(
            zones_check("t3.medium", "r", &[]).status,
            CheckStatus::Failed
        );
        assert_eq!(
            zones_check("t3.medium", "r", &["a"]).status,
            CheckStatus::Warning
        );
        let ok = zones_check("t3.medium", "r", &["a", "b"]);
        assert_eq!(ok.status, CheckStatus::Ok);
        assert!(ok.detail.contains("2 zones: a, b"), "{}", ok.detail);
    }

    #[test]
    fn without_a_default_vpc_the_create_vpc_permission_decides() {
        assert_eq!(no_default_vpc(Some(true)).status, CheckStatus::Ok);
        assert_eq!(no_default_vpc(Some(false)).status, CheckStatus::Failed);
        assert_eq!(no_default_vpc(None).status, CheckStatus::CouldNotVerify);
    }

    #[test]
    fn a_refused_call_says_which_action_to_allow() {
        let e = CloudError::api("DescribeVpcs", "UnauthorizedOperation", "no");
        let c = unverified_by("default-vpc", "could not look", "ec2:DescribeVpcs", &e);
        assert_eq!(c.status, CheckStatus::CouldNotVerify);
        assert!(c.fix.starts_with("Allow ec2:DescribeVpcs"), "{}", c.fix);
        assert_eq!(c.detail, "could not look: UnauthorizedOperation: no");
    }
}
