//! The instance's role and profile, named after the stack: SSM reaches the
//! instance (AmazonSSMManagedInstanceCore), and it may mount and write this
//! one file system and read this stack's parameters, nothing else. The
//! managed policy grants `ssm:GetParameter(s)` on every parameter; the stack
//! policy denies every parameter read outside `/geusemaker/<stack>/`, public
//! `/aws/service/*` parameters included (nothing on the instance reads one).

use aws_sdk_iam::types::Tag;

use super::AwsCloud;
use super::errors::{api_error, code_of};
use super::tags::{iam_name, pairs};
use crate::cloud::{CloudError, CloudResult, Session};

pub const SSM_CORE_POLICY: &str = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";
const INLINE_POLICY: &str = "geusemaker-stack-access";
const ASSUME_EC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The parameter reads the stack policy limits to the stack's own.
pub const PARAMETER_READS: [&str; 4] = [
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "ssm:GetParameterHistory",
];

/// The stack's parameters: those under its path, and the path itself (what
/// GetParametersByPath is authorised on).
fn stack_parameters(region: &str, account: &str, stack: &str) -> [String; 2] {
    let path = format!("arn:aws:ssm:{region}:{account}:parameter/geusemaker/{stack}");
    [format!("{path}/*"), path]
}

/// The role's own permissions: this EFS, this stack's parameters and no
/// other parameter (whatever another policy of the role allows), completing
/// the launch of its own group's instances, and on dev claiming the stack's
/// own address (a tag condition: no other address can be taken), and with
/// a topic, publishing to that topic alone.
pub struct RoleScope<'a> {
    pub region: &'a str,
    pub account: &'a str,
    pub stack: &'a str,
    pub fs_id: &'a str,
    pub dev: bool,
    pub sns_topic_arn: Option<&'a str>,
}

pub fn stack_policy(scope: &RoleScope<'_>) -> String {
    let RoleScope {
        region,
        account,
        stack,
        fs_id,
        dev,
        sns_topic_arn,
    } = *scope;
    let mut policy = base_policy(region, account, stack, fs_id);
    let group = super::autoscaling::group_name(stack);
    let mut extra = vec![serde_json::json!({
        // The boot completes its launch hook; the watchdog and a drain
        // mark the instance Unhealthy, in its own group only.
        "Sid": "OwnGroupsLaunchAndHealth",
        "Effect": "Allow",
        "Action": [
            "autoscaling:CompleteLifecycleAction",
            "autoscaling:RecordLifecycleActionHeartbeat",
            "autoscaling:SetInstanceHealth"
        ],
        "Resource": format!("arn:aws:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/{group}")
    })];
    if dev {
        let ec2 = |kind: &str| format!("arn:aws:ec2:{region}:{account}:{kind}/*");
        extra.push(serde_json::json!({
            "Sid": "ClaimThisStacksAddress",
            "Effect": "Allow",
            "Action": "ec2:AssociateAddress",
            "Resource": [ec2("elastic-ip"), ec2("instance"), ec2("network-interface")],
            "Condition": {"StringEquals": {"aws:ResourceTag/Stack": stack}}
        }));
    }
    if let Some(topic) = sns_topic_arn {
        extra.push(serde_json::json!({
            // The watchdog and a drain tell the user while no monitor runs.
            "Sid": "PublishToTheStacksTopic",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": topic
        }));
    }
    if let Some(list) = policy["Statement"].as_array_mut() {
        list.extend(extra);
    }
    policy.to_string()
}

fn base_policy(region: &str, account: &str, stack: &str, fs_id: &str) -> serde_json::Value {
    let parameters = stack_parameters(region, account, stack);
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "MountThisFileSystem",
                "Effect": "Allow",
                "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:DescribeMountTargets"],
                "Resource": format!("arn:aws:elasticfilesystem:{region}:{account}:file-system/{fs_id}")
            },
            {
                "Sid": "ReadThisStacksSecrets",
                "Effect": "Allow",
                "Action": ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
                "Resource": parameters
            },
            {
                // AmazonSSMManagedInstanceCore allows ssm:GetParameter(s) on "*".
                "Sid": "NoOtherParameters",
                "Effect": "Deny",
                "Action": PARAMETER_READS,
                "NotResource": parameters
            }
        ]
    })
}

pub fn role_name(stack: &str) -> String {
    iam_name(stack, "geusemaker")
}

fn exists<T>(found: CloudResult<T>) -> CloudResult<bool> {
    match found {
        Ok(_) => Ok(true),
        Err(e) if is_missing(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

fn is_missing(e: &CloudError) -> bool {
    code_of(e) == Some("NoSuchEntity")
}

impl AwsCloud {
    pub(super) async fn role_exists(&self, name: &str) -> CloudResult<bool> {
        let found = self.iam.get_role().role_name(name).send().await;
        exists(found.map_err(|e| api_error("GetRole", e)))
    }

    pub(super) async fn profile_exists(&self, name: &str) -> CloudResult<bool> {
        let found = self
            .iam
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
            .await;
        exists(found.map_err(|e| api_error("GetInstanceProfile", e)))
    }

    async fn profile_roles(&self, profile: &str) -> CloudResult<Vec<String>> {
        let found = self
            .iam
            .get_instance_profile()
            .instance_profile_name(profile)
            .send()
            .await
            .map_err(|e| api_error("GetInstanceProfile", e));
        match found {
            Ok(r) => Ok(r
                .instance_profile()
                .map(|p| {
                    p.roles()
                        .iter()
                        .map(|r| r.role_name().to_string())
                        .collect()
                })
                .unwrap_or_default()),
            Err(e) if is_missing(&e) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    pub(super) async fn instance_role(&self, s: &mut Session) -> CloudResult<()> {
        let stack = s.state().stack_name.clone();
        let name = role_name(&stack);
        let tags: Vec<Tag> = pairs(&stack, &name)
            .into_iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect();
        s.progress(Some(0.0), format!("role {name}"))?;
        if let Err(e) = self
            .iam
            .get_role()
            .role_name(&name)
            .send()
            .await
            .map_err(|e| api_error("GetRole", e))
        {
            if !is_missing(&e) {
                return Err(e);
            }
            let created = self
                .iam
                .create_role()
                .role_name(&name)
                .assume_role_policy_document(ASSUME_EC2)
                .description(format!("GeuseMaker instance role for {stack}"))
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .map_err(|e| api_error("CreateRole", e));
            if let Err(e) = created
                && code_of(&e) != Some("EntityAlreadyExists")
            {
                return Err(e);
            }
        }
        s.record(|st| {
            st.iam_role_name = Some(name.clone());
            st.set_provenance("iam_role", true);
        })?;
        let request = self
            .iam
            .attach_role_policy()
            .role_name(&name)
            .policy_arn(SSM_CORE_POLICY);
        self.settled("AttachRolePolicy", || request.clone().send())
            .await?;
        let st = s.state();
        let topic = st.config.as_ref().and_then(|c| c.sns_topic_arn.clone());
        let document = stack_policy(&RoleScope {
            region: self.region(),
            account: st.account_id.as_deref().unwrap_or_default(),
            stack: &stack,
            fs_id: st.efs_id.as_deref().unwrap_or_default(),
            dev: st.tier() == crate::domain::Tier::Dev,
            sns_topic_arn: topic.as_deref(),
        });
        let request = self
            .iam
            .put_role_policy()
            .role_name(&name)
            .policy_name(INLINE_POLICY)
            .policy_document(document);
        self.settled("PutRolePolicy", || request.clone().send())
            .await?;

        s.progress(Some(0.3), format!("instance profile {name}"))?;
        let profile = self
            .iam
            .get_instance_profile()
            .instance_profile_name(&name)
            .send()
            .await;
        let has_role = match profile {
            Ok(p) => p.instance_profile().is_some_and(|p| !p.roles().is_empty()),
            Err(e) => {
                let e = api_error("GetInstanceProfile", e);
                if !is_missing(&e) {
                    return Err(e);
                }
                let created = self
                    .iam
                    .create_instance_profile()
                    .instance_profile_name(&name)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(|e| api_error("CreateInstanceProfile", e));
                if let Err(e) = created
                    && code_of(&e) != Some("EntityAlreadyExists")
                {
                    return Err(e);
                }
                false
            }
        };
        s.record(|st| st.iam_instance_profile_name = Some(name.clone()))?;
        if !has_role {
            let request = self
                .iam
                .add_role_to_instance_profile()
                .instance_profile_name(&name)
                .role_name(&name);
            let added = self
                .settled("AddRoleToInstanceProfile", || request.clone().send())
                .await;
            // A profile holds one role: LimitExceeded means an earlier call,
            // whose answer was lost, already added it.
            if let Err(e) = added
                && code_of(&e) != Some("LimitExceeded")
            {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Undo `instance_role`, tolerating what is already gone. Every policy is
    /// detached first (a role made by another tool may carry more than ours).
    pub(super) async fn delete_instance_role(&self, s: &mut Session) -> CloudResult<()> {
        let role = s.state().iam_role_name.clone();
        if let Some(profile) = s.state().iam_instance_profile_name.clone() {
            // Only the roles really in it: a cut-short deploy may not have added one.
            for role in self.profile_roles(&profile).await? {
                gone(
                    self.iam
                        .remove_role_from_instance_profile()
                        .instance_profile_name(&profile)
                        .role_name(role)
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| api_error("RemoveRoleFromInstanceProfile", e)),
                )?;
            }
            gone(
                self.iam
                    .delete_instance_profile()
                    .instance_profile_name(&profile)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| api_error("DeleteInstanceProfile", e)),
            )?;
            s.record(|st| st.iam_instance_profile_name = None)?;
        }
        let Some(role) = role else {
            return Ok(());
        };
        if let Ok(attached) = self
            .iam
            .list_attached_role_policies()
            .role_name(&role)
            .send()
            .await
        {
            for arn in attached
                .attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn())
            {
                gone(
                    self.iam
                        .detach_role_policy()
                        .role_name(&role)
                        .policy_arn(arn)
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| api_error("DetachRolePolicy", e)),
                )?;
            }
        }
        if let Ok(inline) = self.iam.list_role_policies().role_name(&role).send().await {
            for name in inline.policy_names() {
                gone(
                    self.iam
                        .delete_role_policy()
                        .role_name(&role)
                        .policy_name(name)
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| api_error("DeleteRolePolicy", e)),
                )?;
            }
        }
        gone(
            self.iam
                .delete_role()
                .role_name(&role)
                .send()
                .await
                .map(drop)
                .map_err(|e| api_error("DeleteRole", e)),
        )?;
        s.record(|st| st.iam_role_name = None)?;
        Ok(())
    }
}

/// A delete of something already gone succeeded.
fn gone(result: CloudResult<()>) -> CloudResult<()> {
    match result {
        Err(e) if is_missing(&e) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::cloud::aws::iam_eval::{Decision, evaluate, evaluate_tagged};
    use serde_json::Value;

    const MANAGED: &str = include_str!("../../../tests/fixtures/AmazonSSMManagedInstanceCore.json");
    const PARAMETERS: &str = "arn:aws:ssm:us-east-1:123456789012:parameter";

    fn managed() -> Value {
        let vendored: Value = serde_json::from_str(MANAGED).unwrap();
        assert_eq!(vendored["Arn"], SSM_CORE_POLICY);
        vendored["Document"].clone()
    }

    fn scope(dev: bool, sns_topic_arn: Option<&str>) -> Value {
        serde_json::from_str(&stack_policy(&RoleScope {
            region: "us-east-1",
            account: "123456789012",
            stack: "demo",
            fs_id: "fs-1",
            dev,
            sns_topic_arn,
        }))
        .unwrap()
    }

    fn ours() -> Value {
        scope(true, None)
    }

    #[test]
    fn the_role_publishes_to_the_stacks_topic_alone_and_to_none_without_one() {
        let topic = "arn:aws:sns:us-east-1:123456789012:alerts";
        let other = "arn:aws:sns:us-east-1:123456789012:someone-elses";
        let managed = managed();
        let with = scope(false, Some(topic));
        let both = [&managed, &with];
        assert_eq!(evaluate(&both, "sns:Publish", topic), Decision::Allow);
        assert_eq!(
            evaluate(&both, "sns:Publish", other),
            Decision::ImplicitDeny
        );
        for action in ["sns:Subscribe", "sns:SetTopicAttributes", "sns:DeleteTopic"] {
            assert_eq!(
                evaluate(&both, action, topic),
                Decision::ImplicitDeny,
                "{action}"
            );
        }
        let without = scope(false, None);
        assert_eq!(
            evaluate(&[&managed, &without], "sns:Publish", topic),
            Decision::ImplicitDeny,
            "no topic, no publish"
        );
    }

    #[test]
    fn the_role_completes_and_marks_only_its_own_group_and_claims_only_its_own_address() {
        let (managed, ours) = (managed(), ours());
        let both = [&managed, &ours];
        let group = |name: &str| {
            format!(
                "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:0b1c-2d3e:autoScalingGroupName/{name}"
            )
        };
        // The boot completes its hook; the watchdog and a drain mark the
        // instance Unhealthy: in its own group, never another's.
        for action in [
            "autoscaling:CompleteLifecycleAction",
            "autoscaling:SetInstanceHealth",
        ] {
            assert_eq!(
                evaluate(&both, action, &group("demo-geusemaker")),
                Decision::Allow,
                "{action}"
            );
            assert_eq!(
                evaluate(&both, action, &group("other-geusemaker")),
                Decision::ImplicitDeny,
                "{action}"
            );
        }
        assert_eq!(
            evaluate(
                &both,
                "autoscaling:UpdateAutoScalingGroup",
                &group("demo-geusemaker")
            ),
            Decision::ImplicitDeny,
            "the instance cannot resize its group"
        );
        let address = "arn:aws:ec2:us-east-1:123456789012:elastic-ip/eipalloc-1";
        let associate = "ec2:AssociateAddress";
        let tagged = |stack| [("Stack", stack)];
        assert_eq!(
            evaluate_tagged(&both, associate, address, &tagged("demo")),
            Decision::Allow
        );
        for other in [&tagged("other")[..], &[]] {
            assert_eq!(
                evaluate_tagged(&both, associate, address, other),
                Decision::ImplicitDeny,
                "another stack's or an untagged address: {other:?}"
            );
        }
        assert_eq!(
            evaluate_tagged(&[&managed], associate, address, &tagged("demo")),
            Decision::ImplicitDeny,
            "the managed policy alone grants no address"
        );
        let automation = scope(false, None);
        assert_eq!(
            evaluate_tagged(
                &[&managed, &automation],
                associate,
                address,
                &tagged("demo")
            ),
            Decision::ImplicitDeny,
            "only dev has an address"
        );
    }

    #[test]
    fn the_policy_names_only_this_stacks_resources() {
        let doc = ours();
        let resources: Vec<Value> = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .take(3)
            .map(|s| s.get("Resource").or(s.get("NotResource")).unwrap().clone())
            .collect();
        let stack = serde_json::json!([
            format!("{PARAMETERS}/geusemaker/demo/*"),
            format!("{PARAMETERS}/geusemaker/demo")
        ]);
        assert_eq!(
            resources,
            [
                "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-1".into(),
                stack.clone(),
                stack
            ]
        );
        assert!(!doc.to_string().contains("\"*\""), "no wildcard resource");
    }

    #[test]
    fn the_role_reads_its_own_stacks_parameters_and_no_others() {
        let (managed, ours) = (managed(), ours());
        let role = [&managed, &ours];
        let own = format!("{PARAMETERS}/geusemaker/demo/postgres-password");
        let others = [
            format!("{PARAMETERS}/geusemaker/other-stack/postgres-password"),
            format!("{PARAMETERS}/prod/db-password"),
            format!("{PARAMETERS}/geusemaker/demo-2/postgres-password"),
            "arn:aws:ssm:us-east-1::parameter/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64".into(),
        ];
        for action in [
            "ssm:GetParameter",
            "ssm:GetParameters",
            "ssm:GetParametersByPath",
        ] {
            assert_eq!(evaluate(&role, action, &own), Decision::Allow, "{action}");
            for other in &others {
                assert_eq!(
                    evaluate(&role, action, other),
                    Decision::ExplicitDeny,
                    "{action} {other}"
                );
            }
        }
        // A read by path names the path itself.
        let path = format!("{PARAMETERS}/geusemaker/demo");
        assert_eq!(
            evaluate(&role, "ssm:GetParametersByPath", &path),
            Decision::Allow
        );
        assert_eq!(
            evaluate(&role, "ssm:GetParameterHistory", &others[0]),
            Decision::ExplicitDeny
        );
        // Actions are case-insensitive: no spelling slips past the Deny.
        assert_eq!(
            evaluate(&role, "SSM:getparameter", &others[1]),
            Decision::ExplicitDeny
        );
    }

    #[test]
    fn without_the_deny_the_managed_policy_alone_would_allow_them() {
        let managed = managed();
        let mut ours = ours();
        ours["Statement"]
            .as_array_mut()
            .unwrap()
            .retain(|s| s["Effect"] != "Deny");
        let role = [&managed, &ours];
        for other in [
            format!("{PARAMETERS}/geusemaker/other-stack/postgres-password"),
            format!("{PARAMETERS}/prod/db-password"),
        ] {
            for action in ["ssm:GetParameter", "ssm:GetParameters"] {
                assert_eq!(
                    evaluate(&[&managed], action, &other),
                    Decision::Allow,
                    "{action}"
                );
                assert_eq!(evaluate(&role, action, &other), Decision::Allow, "{action}");
            }
            // Not in the managed policy (v2): no Allow reaches it either way.
            assert_eq!(
                evaluate(&role, "ssm:GetParametersByPath", &other),
                Decision::ImplicitDeny
            );
        }
    }

    #[test]
    fn what_the_ssm_agent_needs_stays_allowed() {
        let (managed, ours) = (managed(), ours());
        let role = [&managed, &ours];
        for action in [
            "ssmmessages:CreateControlChannel",
            "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenControlChannel",
            "ssmmessages:OpenDataChannel",
            "ec2messages:AcknowledgeMessage",
            "ec2messages:DeleteMessage",
            "ec2messages:FailMessage",
            "ec2messages:GetEndpoint",
            "ec2messages:GetMessages",
            "ec2messages:SendReply",
            "ssm:UpdateInstanceInformation",
            "ssm:ListInstanceAssociations",
            "ssm:GetDocument",
        ] {
            assert_eq!(evaluate(&role, action, "*"), Decision::Allow, "{action}");
        }
        let fs = "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-1";
        assert_eq!(
            evaluate(&role, "elasticfilesystem:ClientMount", fs),
            Decision::Allow
        );
        let other_fs = "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-2";
        assert_eq!(
            evaluate(&role, "elasticfilesystem:ClientMount", other_fs),
            Decision::ImplicitDeny
        );
    }
}
