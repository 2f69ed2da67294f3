//! The service-linked roles that the first use of EFS, a load balancer, a
//! spot instance or Auto Scaling creates in the account. Missing is fine
//! when the deployer may create them (`iam:CreateServiceLinkedRole`).

use super::simulation::Simulation;
use super::unverified_by;
use crate::cloud::aws::AwsCloud;
use crate::cloud::aws::errors::{api_error, code_of};
use crate::domain::doctor::Check;

/// Role name, the service that creates it, and what uses it.
const LINKED_ROLES: [(&str, &str, &str); 4] = [
    (
        "AWSServiceRoleForAmazonElasticFileSystem",
        "elasticfilesystem.amazonaws.com",
        "EFS, on every tier",
    ),
    (
        "AWSServiceRoleForElasticLoadBalancing",
        "elasticloadbalancing.amazonaws.com",
        "the load balancer of the automation and gpu tiers",
    ),
    (
        "AWSServiceRoleForEC2Spot",
        "spot.amazonaws.com",
        "spot instances",
    ),
    (
        "AWSServiceRoleForAutoScaling",
        "autoscaling.amazonaws.com",
        "Auto Scaling",
    ),
];

const CREATE: &str = "iam:CreateServiceLinkedRole";

fn missing(role: &str, service: &str, used_by: &str, may_create: Option<bool>) -> Check {
    let name = format!("service-linked-role:{role}");
    let by_hand = format!("aws iam create-service-linked-role --aws-service-name {service}");
    match may_create {
        Some(false) => Check::failed(
            name,
            format!(
                "{role} does not exist, and {CREATE} is denied: the first use of {used_by} fails"
            ),
            format!(
                "Allow {CREATE} (it is in assets/iam-policy.json), or have an administrator run `{by_hand}`"
            ),
        ),
        Some(true) => Check::warning(
            name,
            format!("{role} will be created on first use of {used_by}; needs {CREATE}"),
            format!("Nothing to do: {CREATE} is allowed (or an administrator can run `{by_hand}`)"),
        ),
        None => Check::warning(
            name,
            format!("{role} will be created on first use of {used_by}; needs {CREATE}"),
            format!(
                "Nothing to do if {CREATE} is allowed; otherwise have an administrator run `{by_hand}`"
            ),
        ),
    }
}

impl AwsCloud {
    pub(super) async fn linked_role_checks(&self, simulation: &Simulation) -> Vec<Check> {
        let mut checks = Vec::new();
        for (role, service, used_by) in LINKED_ROLES {
            checks.push(
                self.linked_role_check(role, service, used_by, simulation)
                    .await,
            );
        }
        checks
    }

    async fn linked_role_check(
        &self,
        role: &str,
        service: &str,
        used_by: &str,
        simulation: &Simulation,
    ) -> Check {
        let found = self.iam.get_role().role_name(role).send().await;
        match found.map_err(|e| api_error("GetRole", e)) {
            Ok(_) => Check::ok(
                format!("service-linked-role:{role}"),
                format!("{role} exists ({used_by})"),
            ),
            Err(e) if code_of(&e) == Some("NoSuchEntity") => {
                missing(role, service, used_by, simulation.allows(CREATE))
            }
            Err(e) => unverified_by(
                &format!("service-linked-role:{role}"),
                &format!("could not look for {role}"),
                "iam:GetRole",
                &e,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::doctor::CheckStatus;

    #[test]
    fn a_missing_role_warns_unless_it_cannot_be_created() {
        let (role, service, used_by) = LINKED_ROLES[2];
        let warn = missing(role, service, used_by, Some(true));
        assert_eq!(warn.status, CheckStatus::Warning);
        assert!(
            warn.detail.contains("will be created on first use"),
            "{}",
            warn.detail
        );
        assert_eq!(
            missing(role, service, used_by, None).status,
            CheckStatus::Warning
        );
        let fail = missing(role, service, used_by, Some(false));
        assert_eq!(fail.status, CheckStatus::Failed);
        assert!(
            fail.fix.contains("--aws-service-name spot.amazonaws.com"),
            "{}",
            fail.fix
        );
    }
}
