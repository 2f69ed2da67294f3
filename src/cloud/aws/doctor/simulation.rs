//! The permissions: every action of `assets/iam-policy.json`, simulated with
//! `iam:SimulatePrincipalPolicy` for the caller's user or role (an
//! assumed-role session's role, with its path, from `iam:GetRole`). Scoped
//! grants are simulated on their resource ARNs, in the caller's account and
//! region. A simulation covers the principal's IAM policies; organization
//! SCPs and session policies can still deny, so "allowed" is what the
//! simulation says, and what cannot be simulated is "could not verify".

use std::collections::BTreeMap;

use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum};

use super::{Caller, describe, is_denied};
use crate::cloud::CloudResult;
use crate::cloud::aws::AwsCloud;
use crate::cloud::aws::errors::api_error;
use crate::cloud::aws::permissions::{self, Policy};
use crate::domain::doctor::Check;

/// Pages of one simulation, at most: a guard against a marker that never ends.
const MAX_PAGES: usize = 50;

const CAVEAT: &str =
    "a simulation of its IAM policies: organization SCPs and session policies can still deny";

/// Whom a simulation can run for, from the caller's ARN.
#[derive(Clone, Debug, PartialEq)]
pub enum Principal {
    /// A user or role ARN, to pass as PolicySourceArn.
    Arn(String),
    /// An assumed-role session of this role: its ARN, with the role's path,
    /// comes from GetRole.
    AssumedRole(String),
    /// The root user or a federated user: nothing a simulation can show.
    NotSimulable { why: String, fix: String },
}

/// `arn:PARTITION:SERVICE::ACCOUNT:RESOURCE` as a principal to simulate.
/// moto's STS names a static-credential user `arn:aws:sts::ACCOUNT:user/NAME`:
/// a user ARN is always rewritten as IAM's.
pub fn principal_of(caller_arn: &str) -> Principal {
    let fields: Vec<&str> = caller_arn.splitn(6, ':').collect();
    let [_, partition, _, _, account, resource] = fields[..] else {
        return not_a_principal(caller_arn);
    };
    let (kind, rest) = resource.split_once('/').unwrap_or((resource, ""));
    match kind {
        "user" | "role" if !rest.is_empty() => {
            Principal::Arn(format!("arn:{partition}:iam::{account}:{resource}"))
        }
        "assumed-role" => match rest.split('/').next() {
            Some(role) if !role.is_empty() => Principal::AssumedRole(role.to_string()),
            _ => not_a_principal(caller_arn),
        },
        "root" => Principal::NotSimulable {
            why: "you are the account's root user: IAM cannot simulate it, and no IAM policy limits it (only SCPs)".into(),
            fix: "Deploy as an IAM user or role with assets/iam-policy.json attached, not as root".into(),
        },
        "federated-user" => Principal::NotSimulable {
            why: format!(
                "{caller_arn} is a federated user: its permissions are its session policy's, which a simulation cannot show"
            ),
            fix: "Run doctor with the IAM user or role credentials behind it, or compare the session policy with assets/iam-policy.json".into(),
        },
        _ => not_a_principal(caller_arn),
    }
}

fn not_a_principal(arn: &str) -> Principal {
    Principal::NotSimulable {
        why: format!("{arn:?} is not the ARN of an IAM user, role or role session"),
        fix: "Run doctor with the credentials of an IAM user or role".into(),
    }
}

/// One action's outcome.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Decision {
    Allowed,
    /// `implicitDeny` or `explicitDeny`.
    Denied(String),
}

impl Decision {
    fn from_answer(decision: &str) -> Self {
        if decision == "allowed" {
            Self::Allowed
        } else {
            Self::Denied(decision.to_string())
        }
    }
}

pub(super) enum Simulation {
    Ran {
        principal: String,
        /// Every action simulated, in the policy's order.
        actions: Vec<String>,
        decisions: BTreeMap<String, Decision>,
    },
    NotRun {
        why: String,
        fix: String,
    },
}

impl Simulation {
    /// What the simulation said of `action`; `None` when it did not say.
    pub(super) fn allows(&self, action: &str) -> Option<bool> {
        match self {
            Self::Ran { decisions, .. } => decisions.get(action).map(|d| *d == Decision::Allowed),
            Self::NotRun { .. } => None,
        }
    }

    /// The `permissions` summary, then one failed check per denied action.
    pub(super) fn checks(&self) -> Vec<Check> {
        match self {
            Self::NotRun { why, fix } => vec![Check::unverified("permissions", why, fix)],
            Self::Ran {
                principal,
                actions,
                decisions,
            } => ran_checks(principal, actions, decisions),
        }
    }
}

fn ran_checks(
    principal: &str,
    actions: &[String],
    decisions: &BTreeMap<String, Decision>,
) -> Vec<Check> {
    let denied: Vec<(&String, &String)> = actions
        .iter()
        .filter_map(|a| match decisions.get(a) {
            Some(Decision::Denied(how)) => Some((a, how)),
            _ => None,
        })
        .collect();
    let unanswered: Vec<&str> = actions
        .iter()
        .filter(|a| !decisions.contains_key(*a))
        .map(String::as_str)
        .collect();
    let summary = if !denied.is_empty() {
        let names: Vec<&str> = denied.iter().map(|(a, _)| a.as_str()).collect();
        Check::failed(
            "permissions",
            format!(
                "{} of the {} actions that deploy and destroy use are denied to {principal}: {}",
                denied.len(),
                actions.len(),
                names.join(", ")
            ),
            format!(
                "Attach assets/iam-policy.json to {principal} (see README, \"AWS permissions\"), or allow the actions named"
            ),
        )
    } else if !unanswered.is_empty() {
        Check::unverified(
            "permissions",
            format!(
                "the simulation gave no answer for {}",
                unanswered.join(", ")
            ),
            "Run doctor again; if it persists, compare your policies with assets/iam-policy.json by hand",
        )
    } else {
        Check::ok(
            "permissions",
            format!(
                "all {} actions that deploy and destroy use are allowed to {principal} ({CAVEAT})",
                actions.len()
            ),
        )
    };
    let mut checks = vec![summary];
    checks.extend(denied.into_iter().map(|(action, how)| {
        Check::failed(
            format!("permission:{action}"),
            format!("{action} is denied to {principal} ({how})"),
            format!("Allow {action} for {principal}: it is in assets/iam-policy.json"),
        )
    }));
    checks
}

/// The policy's actions grouped by the resources to simulate them on
/// (empty: all resources).
fn batches(policy: &Policy, caller: &Caller, region: &str) -> BTreeMap<Vec<String>, Vec<String>> {
    let mut batches: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for grant in &policy.grants {
        let resources = if grant.is_scoped() {
            grant.resources_in(&caller.partition, region, &caller.account)
        } else {
            Vec::new()
        };
        batches
            .entry(resources)
            .or_default()
            .extend(grant.actions.iter().cloned());
    }
    batches
}

/// An action denied on one resource is denied.
fn merge(into: &mut BTreeMap<String, Decision>, found: Vec<(String, Decision)>) {
    for (action, decision) in found {
        let entry = into.entry(action).or_insert(Decision::Allowed);
        if *entry == Decision::Allowed {
            *entry = decision;
        }
    }
}

/// `iam:PassRole` is granted for passing the stack's role to EC2 only.
fn passed_to_ec2() -> ContextEntry {
    ContextEntry::builder()
        .context_key_name("iam:PassedToService")
        .context_key_values("ec2.amazonaws.com")
        .context_key_type(ContextKeyTypeEnum::String)
        .build()
}

fn refused(principal: &str, e: &crate::cloud::CloudError) -> Simulation {
    if is_denied(e) {
        Simulation::NotRun {
            why: format!(
                "iam:SimulatePrincipalPolicy is denied, so the permissions of {principal} cannot be checked ({})",
                describe(e)
            ),
            fix: format!(
                "Allow iam:SimulatePrincipalPolicy on {principal} (it is in assets/iam-policy.json), or compare its policies with assets/iam-policy.json by hand"
            ),
        }
    } else {
        Simulation::NotRun {
            why: format!("the simulation failed: {}", describe(e)),
            fix: "Run doctor again; if it persists, compare your policies with assets/iam-policy.json by hand".into(),
        }
    }
}

impl AwsCloud {
    pub(super) async fn simulate_policy(&self, caller: Option<&Caller>) -> Simulation {
        let Some(caller) = caller else {
            return Simulation::NotRun {
                why: "the caller is unknown, so there is no one to simulate".into(),
                fix: "Fix the identity check first".into(),
            };
        };
        let policy = match permissions::policy() {
            Ok(p) => p,
            Err(e) => {
                return Simulation::NotRun {
                    why: e.to_string(),
                    fix: "This is a bug in geusemaker-tui; please report it".into(),
                };
            }
        };
        let principal = match self.simulated_principal(caller).await {
            Ok(p) => p,
            Err(not_run) => return not_run,
        };
        let mut decisions = BTreeMap::new();
        for (resources, actions) in batches(&policy, caller, self.region()) {
            match self.simulate(&principal, &actions, &resources).await {
                Ok(found) => merge(&mut decisions, found),
                Err(e) => return refused(&principal, &e),
            }
        }
        Simulation::Ran {
            principal,
            actions: policy.actions(),
            decisions,
        }
    }

    async fn simulated_principal(&self, caller: &Caller) -> Result<String, Simulation> {
        match principal_of(&caller.arn) {
            Principal::Arn(arn) => Ok(arn),
            Principal::AssumedRole(role) => self.role_arn(&role).await,
            Principal::NotSimulable { why, fix } => Err(Simulation::NotRun { why, fix }),
        }
    }

    async fn role_arn(&self, role: &str) -> Result<String, Simulation> {
        let found = self.iam.get_role().role_name(role).send().await;
        match found {
            Ok(r) => r
                .role()
                .map(|r| r.arn().to_string())
                .ok_or_else(|| Simulation::NotRun {
                    why: format!("GetRole gave no ARN for {role}, the role of this session"),
                    fix: "Run doctor again".into(),
                }),
            Err(e) => {
                let e = api_error("GetRole", e);
                Err(Simulation::NotRun {
                    why: format!(
                        "could not read {role}, the role of this session: {}",
                        describe(&e)
                    ),
                    fix: format!(
                        "Allow iam:GetRole on {role} (it is in assets/iam-policy.json), or run doctor with credentials that may"
                    ),
                })
            }
        }
    }

    /// Each `(action, decision)` of one simulation, over every page.
    async fn simulate(
        &self,
        principal: &str,
        actions: &[String],
        resources: &[String],
    ) -> CloudResult<Vec<(String, Decision)>> {
        let mut found = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .iam
                .simulate_principal_policy()
                .policy_source_arn(principal)
                .set_action_names(Some(actions.to_vec()))
                .set_resource_arns((!resources.is_empty()).then(|| resources.to_vec()))
                .context_entries(passed_to_ec2())
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| api_error("SimulatePrincipalPolicy", e))?;
            found.extend(page.evaluation_results().iter().map(|r| {
                (
                    r.eval_action_name().to_string(),
                    Decision::from_answer(r.eval_decision().as_str()),
                )
            }));
            match page.marker() {
                Some(next) if page.is_truncated() => marker = Some(next.to_string()),
                _ => break,
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::doctor::CheckStatus;

    #[test]
    fn users_roles_and_sessions_become_what_is_simulated() {
        assert_eq!(
            principal_of("arn:aws:iam::123456789012:user/ops/alice"),
            Principal::Arn("arn:aws:iam::123456789012:user/ops/alice".into())
        );
        assert_eq!(
            principal_of("arn:aws:sts::123456789012:user/moto"),
            Principal::Arn("arn:aws:iam::123456789012:user/moto".into()),
            "moto's STS answer"
        );
        assert_eq!(
            principal_of("arn:aws:sts::123456789012:assumed-role/Deployer/alice@example.com"),
            Principal::AssumedRole("Deployer".into())
        );
        for not in [
            "arn:aws:iam::123456789012:root",
            "arn:aws:sts::123456789012:federated-user/bob",
            "nonsense",
        ] {
            assert!(
                matches!(principal_of(not), Principal::NotSimulable { .. }),
                "{not}"
            );
        }
    }

    #[test]
    fn a_denied_action_fails_by_name_and_an_answer_missing_is_unverified() {
        let actions: Vec<String> = ["ec2:RunInstances", "ec2:CreateVpc"]
            .map(String::from)
            .into();
        let mut decisions = BTreeMap::new();
        decisions.insert("ec2:CreateVpc".to_string(), Decision::Allowed);
        let checks = ran_checks("arn:u", &actions, &decisions);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].status, CheckStatus::CouldNotVerify);
        decisions.insert(
            "ec2:RunInstances".to_string(),
            Decision::Denied("implicitDeny".into()),
        );
        let checks = ran_checks("arn:u", &actions, &decisions);
        assert_eq!(checks[0].status, CheckStatus::Failed);
        assert!(
            checks[0].detail.contains("ec2:RunInstances"),
            "{}",
            checks[0].detail
        );
        assert_eq!(checks[1].name, "permission:ec2:RunInstances");
        assert_eq!(checks[1].status, CheckStatus::Failed);
    }

    #[test]
    fn a_simulation_refused_is_could_not_verify_never_ok() {
        let e = crate::cloud::CloudError::api("SimulatePrincipalPolicy", "AccessDenied", "no");
        let checks = refused("arn:aws:iam::1:user/u", &e).checks();
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].status, CheckStatus::CouldNotVerify);
        assert!(
            checks[0]
                .detail
                .contains("iam:SimulatePrincipalPolicy is denied")
        );
        assert!(
            checks[0]
                .fix
                .starts_with("Allow iam:SimulatePrincipalPolicy")
        );
        assert_eq!(refused("arn:u", &e).allows("ec2:CreateVpc"), None);
    }

    #[test]
    fn denied_on_any_resource_is_denied() {
        let mut into = BTreeMap::new();
        merge(
            &mut into,
            vec![
                ("ssm:SendCommand".into(), Decision::Allowed),
                (
                    "ssm:SendCommand".into(),
                    Decision::Denied("implicitDeny".into()),
                ),
                ("ssm:SendCommand".into(), Decision::Allowed),
            ],
        );
        assert_eq!(
            into["ssm:SendCommand"],
            Decision::Denied("implicitDeny".into())
        );
    }

    #[test]
    fn scoped_grants_are_simulated_on_their_own_resources() {
        let policy = permissions::policy().expect("policy");
        let caller = Caller {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/u".into(),
            partition: "aws".into(),
        };
        let batches = batches(&policy, &caller, "eu-west-2");
        let pass = batches
            .iter()
            .find(|(_, actions)| actions.iter().any(|a| a == "iam:PassRole"))
            .expect("PassRole batch");
        assert_eq!(pass.0, &["arn:aws:iam::123456789012:role/*-geusemaker"]);
        assert!(
            batches[&Vec::new()].iter().any(|a| a == "ec2:RunInstances"),
            "unscoped actions on all resources"
        );
    }
}
