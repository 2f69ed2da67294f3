//! The load balancer's listeners and rules, from the stack's exposure:
//! - automation without a certificate: 80 forwards to n8n;
//! - with one: 443 (TLS 1.2+) forwards and 80 redirects; `--public-webhooks`
//!   answers 403 on 443 except `/webhook*` and the allowed CIDRs;
//! - gpu: 80 answers 403 unless CloudFront's secret origin header is there.
//!
//! Converging rewrites each listener's default action and its rules, so a
//! change of access or of exposure lands on a running stack.

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, FixedResponseActionConfig, HttpHeaderConditionConfig,
    PathPatternConditionConfig, ProtocolEnum, RedirectActionConfig, RedirectActionStatusCodeEnum,
    RuleCondition, SourceIpConditionConfig,
};

use super::AwsCloud;
use super::errors::{api_error, code_of};
use crate::cloud::CloudResult;
use crate::domain::exposure::{self, Publish};
use crate::domain::{DeploymentState, Tier};

/// AWS's recommended policy: TLS 1.3 and 1.2 only.
pub const TLS_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/// The header CloudFront adds to every request it sends to the origin.
pub const ORIGIN_HEADER: &str = "X-Origin-Verify";
/// The stack's secret (in SSM) that CloudFront sends in `ORIGIN_HEADER`.
pub const ORIGIN_SECRET: &str = "origin-verify";

/// A new origin header value: ALB header conditions take up to 128
/// characters, and `*` and `?` are wildcards there, so alphanumerics only.
pub fn origin_secret() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 48)
}

/// ALB allows five condition values per rule.
const VALUES_PER_RULE: usize = 5;

struct ListenerPlan {
    port: i32,
    protocol: ProtocolEnum,
    default: Action,
    /// Conditions of each rule that forwards to n8n, in priority order.
    forward_when: Vec<RuleCondition>,
}

fn forward(tg: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(tg)
        .build()
}

fn forbidden() -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::FixedResponse)
        .fixed_response_config(
            FixedResponseActionConfig::builder()
                .status_code("403")
                .content_type("text/plain")
                .message_body("Forbidden")
                .build(),
        )
        .build()
}

fn redirect_to_https() -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Redirect)
        .redirect_config(
            RedirectActionConfig::builder()
                .protocol("HTTPS")
                .port("443")
                .status_code(RedirectActionStatusCodeEnum::Http301)
                .build(),
        )
        .build()
}

fn from_cidrs(cidrs: &[String]) -> Vec<RuleCondition> {
    cidrs
        .chunks(VALUES_PER_RULE)
        .map(|chunk| {
            RuleCondition::builder()
                .field("source-ip")
                .source_ip_config(
                    SourceIpConditionConfig::builder()
                        .set_values(Some(chunk.to_vec()))
                        .build(),
                )
                .build()
        })
        .collect()
}

fn plans(st: &DeploymentState, tg: &str, origin_secret: Option<&str>) -> Vec<ListenerPlan> {
    let plan = |port, protocol, default, forward_when| ListenerPlan {
        port,
        protocol,
        default,
        forward_when,
    };
    if st.tier() == Tier::Gpu {
        let header = RuleCondition::builder()
            .field("http-header")
            .http_header_config(
                HttpHeaderConditionConfig::builder()
                    .http_header_name(ORIGIN_HEADER)
                    .values(origin_secret.unwrap_or_default())
                    .build(),
            )
            .build();
        return vec![plan(80, ProtocolEnum::Http, forbidden(), vec![header])];
    }
    let has_certificate = st
        .config
        .as_ref()
        .is_some_and(|c| c.certificate_arn.is_some());
    if !has_certificate {
        return vec![plan(80, ProtocolEnum::Http, forward(tg), Vec::new())];
    }
    let https = match exposure::publish_of(st) {
        Publish::PublicWebhooks => {
            let webhooks = RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(
                    PathPatternConditionConfig::builder()
                        .values("/webhook*")
                        .build(),
                )
                .build();
            let mut when = vec![webhooks];
            when.extend(from_cidrs(&exposure::allowed_cidrs(st)));
            plan(443, ProtocolEnum::Https, forbidden(), when)
        }
        _ => plan(443, ProtocolEnum::Https, forward(tg), Vec::new()),
    };
    vec![
        https,
        plan(80, ProtocolEnum::Http, redirect_to_https(), Vec::new()),
    ]
}

impl AwsCloud {
    /// Create or rewrite the listeners and their rules. Returns their ARNs.
    pub(super) async fn ensure_listeners(
        &self,
        st: &DeploymentState,
        lb: &str,
        tg: &str,
        origin_secret: Option<&str>,
    ) -> CloudResult<Vec<String>> {
        let certificate = st.config.as_ref().and_then(|c| c.certificate_arn.clone());
        let existing = self
            .elb
            .describe_listeners()
            .load_balancer_arn(lb)
            .send()
            .await
            .map_err(|e| api_error("DescribeListeners", e))?;
        let mut arns = Vec::new();
        for plan in plans(st, tg, origin_secret) {
            let found = existing
                .listeners()
                .iter()
                .find(|l| l.port() == Some(plan.port))
                .and_then(|l| l.listener_arn())
                .map(str::to_string);
            let https = plan.protocol == ProtocolEnum::Https;
            let arn = match found {
                Some(arn) => {
                    let mut modify = self
                        .elb
                        .modify_listener()
                        .listener_arn(&arn)
                        .default_actions(plan.default.clone());
                    if https && let Some(cert) = &certificate {
                        modify = modify
                            .ssl_policy(TLS_POLICY)
                            .certificates(Certificate::builder().certificate_arn(cert).build());
                    }
                    self.settled("ModifyListener", || modify.clone().send())
                        .await?;
                    arn
                }
                None => {
                    let mut create = self
                        .elb
                        .create_listener()
                        .load_balancer_arn(lb)
                        .port(plan.port)
                        .protocol(plan.protocol.clone())
                        .default_actions(plan.default.clone());
                    if https && let Some(cert) = &certificate {
                        create = create
                            .ssl_policy(TLS_POLICY)
                            .certificates(Certificate::builder().certificate_arn(cert).build());
                    }
                    let created = self
                        .settled("CreateListener", || create.clone().send())
                        .await?;
                    created
                        .listeners()
                        .first()
                        .and_then(|l| l.listener_arn())
                        .unwrap_or_default()
                        .to_string()
                }
            };
            self.replace_rules(&arn, tg, &plan.forward_when).await?;
            arns.push(arn);
        }
        Ok(arns)
    }

    /// The listener's rules become one forward rule per condition.
    async fn replace_rules(
        &self,
        listener: &str,
        tg: &str,
        forward_when: &[RuleCondition],
    ) -> CloudResult<()> {
        let rules = self
            .settled("DescribeRules", || {
                self.elb.describe_rules().listener_arn(listener).send()
            })
            .await?;
        let mut existing: Vec<_> = rules
            .rules()
            .iter()
            .filter(|r| r.is_default() != Some(true))
            .collect();
        existing.sort_by_key(|r| r.priority().and_then(|p| p.parse::<i32>().ok()));
        let have: Vec<Vec<String>> = existing
            .iter()
            .map(|r| r.conditions().iter().map(condition_key).collect())
            .collect();
        let want: Vec<Vec<String>> = forward_when
            .iter()
            .map(|c| vec![condition_key(c)])
            .collect();
        if have == want {
            return Ok(());
        }
        for rule in rules.rules() {
            if rule.is_default() == Some(true) {
                continue;
            }
            if let Some(arn) = rule.rule_arn() {
                let deleted = self
                    .elb
                    .delete_rule()
                    .rule_arn(arn)
                    .send()
                    .await
                    .map_err(|e| api_error("DeleteRule", e));
                match deleted {
                    // A retry of a delete whose answer was lost.
                    Err(e) if code_of(&e) == Some("RuleNotFound") => {}
                    other => other.map(drop)?,
                }
            }
        }
        for (priority, condition) in (1..).zip(forward_when) {
            let create = self
                .elb
                .create_rule()
                .listener_arn(listener)
                .priority(priority)
                .conditions(condition.clone())
                .actions(forward(tg));
            self.settled("CreateRule", || create.clone().send()).await?;
        }
        Ok(())
    }
}

/// A condition as compared: its field, header name and values, wherever
/// the answer puts them (the old top-level `Values` or the field's config).
fn condition_key(c: &RuleCondition) -> String {
    let mut values: Vec<&str> = c.values().iter().map(String::as_str).collect();
    let mut header = "";
    if let Some(h) = c.http_header_config() {
        header = h.http_header_name().unwrap_or_default();
        values.extend(h.values().iter().map(String::as_str));
    }
    if let Some(p) = c.path_pattern_config() {
        values.extend(p.values().iter().map(String::as_str));
    }
    if let Some(ip) = c.source_ip_config() {
        values.extend(ip.values().iter().map(String::as_str));
    }
    values.sort_unstable();
    values.dedup();
    format!(
        "{}|{header}|{}",
        c.field().unwrap_or_default(),
        values.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::state::DeploymentConfig;
    use crate::domain::{Provider, Timestamp};

    fn stack(tier: Tier, cert: bool, publish: Publish, cidrs: usize) -> DeploymentState {
        let mut s = DeploymentState::new(
            "demo",
            tier,
            "us-east-1",
            Provider::Aws,
            Timestamp::from_unix_millis(0),
        );
        s.config = Some(DeploymentConfig {
            certificate_arn: cert.then(|| "arn:aws:acm:us-east-1:1:certificate/x".into()),
            publish: Some(publish),
            allowed_cidrs: (0..cidrs).map(|i| format!("198.51.100.{i}/32")).collect(),
            ..DeploymentConfig::default()
        });
        s
    }

    fn shape(plans: &[ListenerPlan]) -> Vec<(i32, Option<ActionTypeEnum>, usize)> {
        plans
            .iter()
            .map(|p| (p.port, p.default.r#type().cloned(), p.forward_when.len()))
            .collect()
    }

    #[test]
    fn each_exposure_gets_its_listeners() {
        use ActionTypeEnum::{FixedResponse, Forward, Redirect};
        let plain = plans(
            &stack(Tier::Automation, false, Publish::Private, 1),
            "tg",
            None,
        );
        assert_eq!(shape(&plain), [(80, Some(Forward), 0)]);
        let https = plans(
            &stack(Tier::Automation, true, Publish::Public, 1),
            "tg",
            None,
        );
        assert_eq!(
            shape(&https),
            [(443, Some(Forward), 0), (80, Some(Redirect), 0)]
        );
        // Webhooks from anywhere; 7 CIDRs need two source-ip rules of 5.
        let hooks = plans(
            &stack(Tier::Automation, true, Publish::PublicWebhooks, 7),
            "tg",
            None,
        );
        assert_eq!(
            shape(&hooks),
            [(443, Some(FixedResponse), 3), (80, Some(Redirect), 0)]
        );
        let gpu = plans(
            &stack(Tier::Gpu, false, Publish::Private, 1),
            "tg",
            Some("s3cret"),
        );
        assert_eq!(shape(&gpu), [(80, Some(FixedResponse), 1)]);
        let header = gpu[0].forward_when[0].http_header_config().unwrap();
        assert_eq!(header.http_header_name(), Some(ORIGIN_HEADER));
    }
}
