//! The automation (ALB) and gpu (ALB + CloudFront) tiers against moto:
//! what they create and tag, that a re-run creates nothing, that destroy goes
//! in dependency order and keeps the EFS, and that a deploy cut short after
//! any call finishes on the next run with nothing duplicated or orphaned.

use std::sync::atomic::Ordering;

use aws_sdk_cloudfront::Client as CloudFront;
use aws_sdk_elasticloadbalancingv2::Client as Elb;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::{Response as HttpResponse, StatusCode};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;

use geusemaker::domain::stage::StageStatus;
use geusemaker::domain::{DeploymentState, StackStatus, Stage, Tier};

use super::crash::{CrashAfter, assert_cut_short};
use super::deploy::{file_systems, live_builders, live_instances, profiles, tagged_group_ids};
use super::recorder::Recorder;
use super::{CALLER, Harness};

fn elb_tagged(tags: &[aws_sdk_elasticloadbalancingv2::types::Tag], stack: &str) -> bool {
    tags.iter()
        .any(|t| t.key() == Some("Stack") && t.value() == Some(stack))
}

/// ARNs of the stack's load balancers, from every page.
pub(super) async fn load_balancers(elb: &Elb, stack: &str) -> Vec<String> {
    let prefix = format!("{stack}-");
    let all: Vec<_> = elb
        .describe_load_balancers()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .expect("lbs");
    all.iter()
        .filter(|lb| {
            lb.load_balancer_name()
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .filter_map(|lb| lb.load_balancer_arn().map(str::to_string))
        .collect()
}

/// ARNs of the stack's target groups, from every page.
pub(super) async fn target_groups(elb: &Elb, stack: &str) -> Vec<String> {
    let prefix = format!("{stack}-");
    let all: Vec<_> = elb
        .describe_target_groups()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .expect("tgs");
    all.iter()
        .filter(|tg| {
            tg.target_group_name()
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .filter_map(|tg| tg.target_group_arn().map(str::to_string))
        .collect()
}

pub(super) async fn distributions(cf: &CloudFront, stack: &str) -> Vec<String> {
    let pages: Vec<_> = cf
        .list_distributions()
        .into_paginator()
        .send()
        .collect::<Result<_, _>>()
        .await
        .expect("distributions");
    let wanted = format!("GeuseMaker {stack}");
    pages
        .iter()
        .filter_map(|page| page.distribution_list())
        .flat_map(|list| list.items())
        .filter(|d| d.comment() == wanted)
        .map(|d| d.id().to_string())
        .collect()
}

/// Exactly one of each resource the tier makes, and each is the recorded one.
async fn assert_one_of_each_recorded(h: &Harness, stack: &str, state: &DeploymentState, at: &str) {
    let sdk = h.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let efs = aws_sdk_efs::Client::new(&sdk);
    let elb = Elb::new(&sdk);
    assert_eq!(state.status, StackStatus::Running, "{at}");
    let mut recorded = vec![
        state.security_group_id.clone().expect("sg"),
        state.efs_security_group_id.clone().expect("efs sg"),
        state.alb_security_group_id.clone().expect("alb sg"),
    ];
    recorded.sort();
    assert_eq!(
        tagged_group_ids(&ec2, stack).await,
        recorded,
        "{at}: groups"
    );
    assert_eq!(
        file_systems(&efs, stack).await,
        vec![state.efs_id.clone().expect("efs")],
        "{at}: EFS"
    );
    assert_eq!(
        live_instances(&ec2, stack).await,
        vec![state.instance_id.clone().expect("instance")],
        "{at}: instance"
    );
    assert!(
        live_builders(&ec2, stack).await.is_empty(),
        "{at}: image builder"
    );
    assert_eq!(
        load_balancers(&elb, stack).await,
        vec![state.alb_arn.clone().expect("alb")],
        "{at}: ALB"
    );
    assert_eq!(
        target_groups(&elb, stack).await,
        vec![state.target_group_arn.clone().expect("tg")],
        "{at}: target group"
    );
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(state.alb_arn.as_deref().expect("alb"))
        .send()
        .await
        .expect("listeners");
    let in_moto: Vec<String> = listeners
        .listeners()
        .iter()
        .filter_map(|l| l.listener_arn().map(str::to_string))
        .collect();
    assert_eq!(in_moto, state.listener_arns, "{at}: listeners");
    if state.tier() == Tier::Gpu {
        assert_eq!(
            distributions(&CloudFront::new(&sdk), stack).await,
            vec![state.cloudfront_id.clone().expect("distribution")],
            "{at}: distribution"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automation_puts_n8n_behind_a_tagged_alb_open_only_on_80() {
    let h = Harness::start().await;
    let state = h
        .deploy_tier("s2", Tier::Automation, None)
        .await
        .expect("deploy automation");
    assert_one_of_each_recorded(&h, "s2", &state, "automation").await;
    let dns = state.alb_dns_name.clone().expect("dns");
    assert_eq!(
        state.n8n_url.as_deref(),
        Some(format!("http://{dns}").as_str())
    );
    assert_eq!(state.listener_arns.len(), 1);

    let sdk = h.sdk().await;
    let elb = Elb::new(&sdk);
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let alb = state.alb_arn.clone().unwrap();
    let lb = elb
        .describe_load_balancers()
        .load_balancer_arns(&alb)
        .send()
        .await
        .unwrap();
    let lb = &lb.load_balancers()[0];
    assert_eq!(lb.scheme().map(|s| s.as_str()), Some("internet-facing"));
    assert_eq!(lb.availability_zones().len(), 2, "two zones");
    assert_eq!(
        lb.security_groups(),
        [state.alb_security_group_id.clone().unwrap()]
    );
    let tg = state.target_group_arn.clone().unwrap();
    let tags = elb
        .describe_tags()
        .resource_arns(&alb)
        .resource_arns(&tg)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tag_descriptions().len(), 2);
    for described in tags.tag_descriptions() {
        assert!(elb_tagged(described.tags(), "s2"), "{described:?}");
    }

    let group = elb
        .describe_target_groups()
        .target_group_arns(&tg)
        .send()
        .await
        .unwrap();
    let group = &group.target_groups()[0];
    assert_eq!(group.port(), Some(5678));
    assert_eq!(group.health_check_path(), Some("/healthz/readiness"));
    let health = elb
        .describe_target_health()
        .target_group_arn(&tg)
        .send()
        .await
        .unwrap();
    let registered: Vec<&str> = health
        .target_health_descriptions()
        .iter()
        .filter_map(|d| d.target().and_then(|t| t.id()))
        .collect();
    assert_eq!(registered, vec![state.instance_id.as_deref().unwrap()]);

    let listener = elb
        .describe_listeners()
        .load_balancer_arn(&alb)
        .send()
        .await
        .unwrap();
    let listener = &listener.listeners()[0];
    assert_eq!(listener.port(), Some(80));
    let action = &listener.default_actions()[0];
    assert_eq!(action.r#type().map(|t| t.as_str()), Some("forward"));
    assert_eq!(action.target_group_arn(), Some(tg.as_str()));

    let groups = ec2
        .describe_security_groups()
        .group_ids(state.security_group_id.clone().unwrap())
        .group_ids(state.alb_security_group_id.clone().unwrap())
        .send()
        .await
        .unwrap();
    for group in groups.security_groups() {
        let is_alb = group.group_id() == state.alb_security_group_id.as_deref();
        for rule in group.ip_permissions() {
            let port = rule.from_port();
            if is_alb {
                assert_eq!(port, Some(80), "only HTTP without a certificate");
                assert_eq!(
                    rule.ip_ranges()[0].cidr_ip(),
                    Some(CALLER),
                    "the allowed CIDRs only, never the internet over HTTP"
                );
            } else if port == Some(5678) {
                assert!(rule.ip_ranges().is_empty(), "n8n is not open to any CIDR");
                assert_eq!(
                    rule.user_id_group_pairs()[0].group_id(),
                    state.alb_security_group_id.as_deref(),
                    "n8n only from the ALB"
                );
            } else {
                panic!("the instance admits n8n's port only: {rule:?}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_certificate_443_forwards_and_80_redirects() {
    let h = Harness::start().await;
    let cert = h.moto.certificate("n8n.example.com");
    let cert = cert.as_str();
    let mut request = Harness::request_for("tls", Tier::Automation);
    request.options.certificate_arn = Some(cert.into());
    request.options.domain = Some("n8n.example.com".into());
    let state = h.deploy_request(&request, None).await.expect("deploy");
    assert_eq!(state.n8n_url.as_deref(), Some("https://n8n.example.com"));
    assert_eq!(state.listener_arns.len(), 2);

    let sdk = h.sdk().await;
    let elb = Elb::new(&sdk);
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(state.alb_arn.clone().unwrap())
        .send()
        .await
        .unwrap();
    let by_port = |port: i32| {
        listeners
            .listeners()
            .iter()
            .find(|l| l.port() == Some(port))
            .unwrap_or_else(|| panic!("no listener on {port}"))
    };
    let https = by_port(443);
    assert_eq!(https.protocol().map(|p| p.as_str()), Some("HTTPS"));
    assert_eq!(
        https.ssl_policy(),
        Some("ELBSecurityPolicy-TLS13-1-2-2021-06")
    );
    assert_eq!(https.certificates()[0].certificate_arn(), Some(cert));
    assert_eq!(
        https.default_actions()[0].r#type().map(|t| t.as_str()),
        Some("forward")
    );
    let redirect = &by_port(80).default_actions()[0];
    assert_eq!(redirect.r#type().map(|t| t.as_str()), Some("redirect"));
    let config = redirect.redirect_config().expect("redirect config");
    assert_eq!(config.protocol(), Some("HTTPS"));
    assert_eq!(config.port(), Some("443"));

    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let group = ec2
        .describe_security_groups()
        .group_ids(state.alb_security_group_id.clone().unwrap())
        .send()
        .await
        .unwrap();
    let mut ports: Vec<i32> = group.security_groups()[0]
        .ip_permissions()
        .iter()
        .filter_map(|r| r.from_port())
        .collect();
    ports.sort();
    assert_eq!(ports, vec![80, 443]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpu_fronts_the_alb_with_cloudfront_and_a_rerun_creates_nothing() {
    let h = Harness::start().await;
    let first = h
        .deploy_tier("s3", Tier::Gpu, None)
        .await
        .expect("deploy gpu");
    assert_one_of_each_recorded(&h, "s3", &first, "gpu").await;
    let domain = first.cloudfront_domain.clone().expect("domain");
    assert_eq!(
        first.n8n_url.as_deref(),
        Some(format!("https://{domain}").as_str())
    );
    assert!(first.ami_id.is_some(), "a GPU AMI was chosen");
    assert_eq!(first.instance_type(), Some("g4dn.xlarge"));

    let sdk = h.sdk().await;
    let cf = CloudFront::new(&sdk);
    let config = cf
        .get_distribution_config()
        .id(first.cloudfront_id.clone().unwrap())
        .send()
        .await
        .unwrap();
    let config = config.distribution_config().expect("config");
    let origin = &config.origins().expect("origins").items()[0];
    assert_eq!(
        Some(origin.domain_name()),
        first.alb_dns_name.as_deref(),
        "the ALB is the origin"
    );
    let behavior = config.default_cache_behavior().expect("behavior");
    assert_eq!(
        behavior.viewer_protocol_policy().as_str(),
        "redirect-to-https"
    );

    let recorder = Recorder::default();
    let second = h
        .deploy_tier("s3", Tier::Gpu, recorder.interceptor())
        .await
        .expect("re-run");
    let calls = recorder.names();
    assert!(
        calls.iter().any(|c| c == "DescribeLoadBalancers"),
        "the re-run looked: {calls:?}"
    );
    let created: Vec<String> = calls
        .into_iter()
        .filter(|n| n.starts_with("Create") || n == "RunInstances" || n == "RunInstance")
        .collect();
    assert!(created.is_empty(), "a re-run created {created:?}");
    for (a, b, what) in [
        (&first.alb_arn, &second.alb_arn, "alb"),
        (&first.target_group_arn, &second.target_group_arn, "tg"),
        (&first.cloudfront_id, &second.cloudfront_id, "distribution"),
        (&first.instance_id, &second.instance_id, "instance"),
        (&first.efs_id, &second.efs_id, "efs"),
    ] {
        assert_eq!(a, b, "{what} changed");
    }
    assert_eq!(first.listener_arns, second.listener_arns);
    assert_one_of_each_recorded(&h, "s3", &second, "re-run").await;
}

/// Answers GetServiceQuota as a new account would: 0 vCPUs of G instances.
#[derive(Debug)]
struct NewAccountQuota;

impl Intercept for NewAccountQuota {
    fn name(&self) -> &'static str {
        "new-account-quota"
    }

    fn modify_before_deserialization(
        &self,
        ctx: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Metadata>().map(|m| m.name()) == Some("GetServiceQuota") {
            let body = r#"{"Quota":{"ServiceCode":"ec2","QuotaCode":"L-3819A6DF","QuotaName":"All G and VT Spot Instance Requests","Value":0.0}}"#;
            *ctx.response_mut() =
                HttpResponse::new(StatusCode::try_from(200)?, SdkBody::from(body));
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_g_instance_quota_refuses_the_gpu_deploy_before_anything_exists() {
    let h = Harness::start().await;
    let recorder = Recorder::default();
    let ctx = h.context(
        h.cloud_with(vec![
            SharedInterceptor::new(NewAccountQuota),
            SharedInterceptor::new(recorder.clone()),
        ])
        .await,
    );
    let (sink, _rx) = geusemaker::cloud::session::StoreSink::new(h.store.clone());
    let err =
        geusemaker::deploy::deploy(&ctx, &Harness::request_for("s4", Tier::Gpu), Box::new(sink))
            .await
            .expect_err("a 0 vCPU quota must refuse");
    let message = err.to_string();
    assert!(
        message.contains("quota")
            && message.contains("0 vCPUs")
            && message.contains("nothing was created"),
        "{message}"
    );
    let calls = recorder.names();
    assert!(calls.iter().any(|c| c == "GetServiceQuota"), "{calls:?}");
    let created: Vec<&String> = calls
        .iter()
        .filter(|n| n.starts_with("Create") || n.starts_with("Run") || n.starts_with("Put"))
        .collect();
    assert!(created.is_empty(), "created {created:?} despite the quota");
}

fn position(calls: &[String], name: &str) -> usize {
    calls
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("{name} never called: {calls:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_takes_a_gpu_stack_apart_in_order_and_keeps_the_efs() {
    let h = Harness::start().await;
    let state = h
        .deploy_tier("s3", Tier::Gpu, None)
        .await
        .expect("deploy gpu");
    let recorder = Recorder::default();
    let outcome = h.destroy_with("s3", false, recorder.interceptor()).await;
    let calls = recorder.names();
    // The group goes first: it names the target group, and its instance
    // stops serving before the front door is taken away.
    let order = [
        "UpdateAutoScalingGroup",
        "DeleteAutoScalingGroup",
        "UpdateDistribution",
        "DeleteDistribution",
        "DeleteListener",
        "DeleteTargetGroup",
        "DeleteLoadBalancer",
        "DeleteSecurityGroup",
    ];
    let at: Vec<usize> = order.iter().map(|n| position(&calls, n)).collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "out of order: {:?}",
        order.iter().zip(&at).collect::<Vec<_>>()
    );

    let after = outcome.state.expect("kept");
    assert_eq!(after.status, StackStatus::Destroyed);
    assert!(after.alb_arn.is_none() && after.cloudfront_id.is_none());
    assert!(after.listener_arns.is_empty() && after.target_group_arn.is_none());
    let stages = &after.operation.as_ref().expect("operation").stages;
    let names: Vec<Stage> = stages.iter().map(|r| r.stage).collect();
    assert_eq!(
        &names[..3],
        &[Stage::Terminate, Stage::Cdn, Stage::LoadBalancer]
    );
    for record in &stages[..3] {
        assert_eq!(record.status, StageStatus::Done, "{record:?}");
        assert!(record.started_at.is_some() && record.finished_at.is_some());
    }

    let sdk = h.sdk().await;
    let elb = Elb::new(&sdk);
    assert!(load_balancers(&elb, "s3").await.is_empty(), "ALB left");
    assert!(
        target_groups(&elb, "s3").await.is_empty(),
        "target group left"
    );
    assert!(
        distributions(&CloudFront::new(&sdk), "s3").await.is_empty(),
        "distribution left"
    );
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    assert!(live_instances(&ec2, "s3").await.is_empty());
    assert_eq!(
        tagged_group_ids(&ec2, "s3").await,
        vec![state.efs_security_group_id.clone().unwrap()],
        "only the EFS and its group stay"
    );
    assert_eq!(
        file_systems(&aws_sdk_efs::Client::new(&sdk), "s3").await,
        vec![state.efs_id.clone().unwrap()]
    );
}

/// What follows a deploy cut short.
#[derive(Clone, Copy, Debug)]
enum Then {
    /// Deploy again: it finishes, with one of everything, all recorded.
    Redeploy,
    /// Destroy: everything but the EFS (and its group) goes, recorded or not.
    Destroy,
}

/// Deploys `tier` once to count its calls, then for every N cuts a fresh
/// stack's deploy short after call N and goes on as `then` says.
async fn crash_at_every_call(tier: Tier, prefix: &str, then: Then) {
    let h = Harness::start_scaled(Some(super::crash::CRASH_TIME_SCALE)).await;
    let fresh_prices = || {
        // Every run makes the same calls: no prices from the cache.
        let _ = std::fs::remove_file(h.store.cache_dir().join("pricing.json"));
    };
    fresh_prices();
    let counter = CrashAfter::new(usize::MAX);
    let calls = counter.calls.clone();
    h.deploy_tier(
        &format!("{prefix}-count"),
        tier,
        Some(SharedInterceptor::new(counter)),
    )
    .await
    .expect("full deploy");
    let total = calls.load(Ordering::SeqCst);
    assert!(total > 30, "a {tier} deploy makes {total} calls?");
    eprintln!("a {tier} deploy makes {total} AWS calls");

    for n in 1..total {
        fresh_prices();
        let stack = format!("{prefix}-{n}");
        let crash = CrashAfter::new(n);
        let made = crash.calls.clone();
        let cut = h
            .deploy_tier(&stack, tier, Some(SharedInterceptor::new(crash)))
            .await;
        assert_cut_short(&cut, n, made.load(Ordering::SeqCst), total);
        let at = format!("after call {n} of {total}");
        match then {
            Then::Redeploy => {
                let state = h
                    .deploy_tier(&stack, tier, None)
                    .await
                    .unwrap_or_else(|e| panic!("{at}: {e}"));
                assert_one_of_each_recorded(&h, &stack, &state, &at).await;
            }
            Then::Destroy => {
                let outcome = h.destroy_with(&stack, false, None).await;
                assert_only_the_efs_is_left(&h, &stack, outcome.state.as_ref(), &at).await;
            }
        }
    }
}

async fn assert_only_the_efs_is_left(
    h: &Harness,
    stack: &str,
    state: Option<&DeploymentState>,
    at: &str,
) {
    let sdk = h.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let elb = Elb::new(&sdk);
    let efs = file_systems(&aws_sdk_efs::Client::new(&sdk), stack).await;
    let kept_efs = state.and_then(|s| s.efs_id.clone());
    assert_eq!(
        efs,
        kept_efs.iter().cloned().collect::<Vec<_>>(),
        "{at}: EFS"
    );
    let kept_group = state
        .and_then(|s| s.efs_security_group_id.clone())
        .filter(|_| kept_efs.is_some());
    assert_eq!(
        tagged_group_ids(&ec2, stack).await,
        kept_group.into_iter().collect::<Vec<_>>(),
        "{at}: security groups"
    );
    assert!(
        live_instances(&ec2, stack).await.is_empty(),
        "{at}: instance"
    );
    assert!(
        live_builders(&ec2, stack).await.is_empty(),
        "{at}: image builder"
    );
    assert!(load_balancers(&elb, stack).await.is_empty(), "{at}: ALB");
    assert!(
        target_groups(&elb, stack).await.is_empty(),
        "{at}: target group"
    );
    assert!(
        distributions(&CloudFront::new(&sdk), stack)
            .await
            .is_empty(),
        "{at}: distribution"
    );
    assert!(
        profiles(&aws_sdk_iam::Client::new(&sdk), stack)
            .await
            .is_empty(),
        "{at}: instance profile"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_automation_deploy_cut_short_after_any_call_finishes_on_the_next_run() {
    crash_at_every_call(Tier::Automation, "ca", Then::Redeploy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gpu_deploy_cut_short_after_any_call_finishes_on_the_next_run() {
    crash_at_every_call(Tier::Gpu, "cg", Then::Redeploy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gpu_deploy_cut_short_after_any_call_is_destroyed_leaving_only_the_efs() {
    crash_at_every_call(Tier::Gpu, "cd", Then::Destroy).await;
}
