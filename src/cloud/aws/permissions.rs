//! The permission policy a deployer needs, `assets/iam-policy.json`: every
//! IAM action that deploy and destroy use on every tier, and the implicit
//! ones (tagging on create, `iam:PassRole`, service-linked roles). `doctor`
//! simulates exactly these actions, read from the same file, so the two
//! cannot disagree; a test records every call of a deploy and destroy and
//! checks that the policy names its action.

use serde::Deserialize;

/// The policy document, as shipped.
pub const POLICY_JSON: &str = include_str!("../../../assets/iam-policy.json");

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("assets/iam-policy.json is not a valid policy document: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("assets/iam-policy.json allows no action")]
    Empty,
}

/// `"x"` or `["x", "y"]`, as IAM writes Action and Resource.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(one) => vec![one],
            Self::Many(many) => many,
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawStatement {
    #[serde(rename = "Sid", default)]
    sid: String,
    #[serde(rename = "Effect")]
    effect: String,
    #[serde(rename = "Action")]
    action: OneOrMany,
    #[serde(rename = "Resource")]
    resource: OneOrMany,
}

#[derive(Debug, Deserialize)]
struct RawPolicy {
    #[serde(rename = "Statement")]
    statement: Vec<RawStatement>,
}

/// An Allow statement: these actions on these resources (`*` or ARN patterns).
#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    pub sid: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

impl Grant {
    /// Whether the grant is for specific resources rather than `*`.
    pub fn is_scoped(&self) -> bool {
        self.resources.iter().any(|r| r != "*")
    }

    /// The grant's resource patterns for one account and region: the
    /// partition, region and account fields filled in where they are `*`
    /// (`arn:aws:iam::*:role/*-geusemaker` becomes
    /// `arn:aws:iam::123456789012:role/*-geusemaker`).
    pub fn resources_in(&self, partition: &str, region: &str, account: &str) -> Vec<String> {
        self.resources
            .iter()
            .map(|r| concrete_arn(r, partition, region, account))
            .collect()
    }
}

fn concrete_arn(pattern: &str, partition: &str, region: &str, account: &str) -> String {
    let mut fields: Vec<&str> = pattern.splitn(6, ':').collect();
    if fields.len() != 6 || fields[0] != "arn" {
        return pattern.to_string();
    }
    fields[1] = partition;
    // IAM ARNs have no region; S3 has no account either: only fill a wildcard.
    if fields[3] == "*" {
        fields[3] = region;
    }
    if fields[4] == "*" {
        fields[4] = account;
    }
    fields.join(":")
}

/// The policy's Allow statements.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub grants: Vec<Grant>,
}

impl Policy {
    /// Every action the policy allows, once each, sorted.
    pub fn actions(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .grants
            .iter()
            .flat_map(|g| g.actions.iter().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

/// Parse `assets/iam-policy.json` (compiled in).
pub fn policy() -> Result<Policy, PolicyError> {
    parse(POLICY_JSON)
}

pub fn parse(text: &str) -> Result<Policy, PolicyError> {
    let raw: RawPolicy = serde_json::from_str(text)?;
    let grants: Vec<Grant> = raw
        .statement
        .into_iter()
        .filter(|s| s.effect == "Allow")
        .map(|s| Grant {
            sid: s.sid,
            actions: s.action.into_vec(),
            resources: s.resource.into_vec(),
        })
        .collect();
    if grants.iter().all(|g| g.actions.is_empty()) {
        return Err(PolicyError::Empty);
    }
    Ok(Policy { grants })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_policy_parses_and_names_the_implicit_actions() {
        let policy = policy().expect("assets/iam-policy.json");
        let actions = policy.actions();
        for implicit in [
            "iam:PassRole",
            "ec2:CreateTags",
            "elasticloadbalancing:AddTags",
            "elasticfilesystem:TagResource",
            "iam:CreateServiceLinkedRole",
            "ec2:RunInstances",
            "cloudfront:CreateDistribution",
        ] {
            assert!(actions.iter().any(|a| a == implicit), "{implicit}");
        }
        assert!(
            actions.iter().all(|a| !a.contains('*')),
            "doctor simulates each action by name: no wildcards"
        );
    }

    #[test]
    fn pass_role_is_scoped_to_the_stacks_roles() {
        let policy = policy().expect("policy");
        let pass = policy
            .grants
            .iter()
            .find(|g| g.actions.iter().any(|a| a == "iam:PassRole"))
            .expect("a PassRole grant");
        assert!(pass.is_scoped());
        assert_eq!(
            pass.resources_in("aws", "eu-west-2", "123456789012"),
            ["arn:aws:iam::123456789012:role/*-geusemaker"]
        );
        // The role deploy creates matches it.
        assert!(super::super::iam::role_name("demo").ends_with("-geusemaker"));
    }

    #[test]
    fn arns_get_the_callers_partition_region_and_account() {
        assert_eq!(
            concrete_arn(
                "arn:aws:ssm:*::document/AWS-RunShellScript",
                "aws-cn",
                "cn-north-1",
                "1"
            ),
            "arn:aws-cn:ssm:cn-north-1::document/AWS-RunShellScript"
        );
        assert_eq!(
            concrete_arn("arn:aws:ec2:*:*:instance/*", "aws", "us-east-1", "123"),
            "arn:aws:ec2:us-east-1:123:instance/*"
        );
        assert_eq!(concrete_arn("*", "aws", "r", "a"), "*");
    }

    #[test]
    fn a_single_action_or_resource_may_be_a_string() {
        let p = parse(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"},
                {"Effect":"Deny","Action":"ec2:TerminateInstances","Resource":"*"}]}"#,
        )
        .expect("parses");
        assert_eq!(p.actions(), ["ec2:RunInstances"]);
        assert!(matches!(parse("{}"), Err(PolicyError::Parse(_))));
    }
}
