//! The gpu tier's CloudFront distribution, with the ALB as its custom origin:
//! viewers redirected to HTTPS, every method allowed, nothing cached (the n8n
//! UI and API are dynamic), compression on, the default certificate, and a
//! secret origin header without which the ALB answers 403. Found
//! again by its comment; removed by disabling, waiting, then deleting with
//! the ETag.

use aws_sdk_cloudfront::operation::get_distribution_config::GetDistributionConfigOutput;
use aws_sdk_cloudfront::types::{
    AllowedMethods, CachedMethods, CustomHeaders, CustomOriginConfig, DefaultCacheBehavior,
    DistributionConfig, DistributionConfigWithTags, DistributionSummary, Method, Origin,
    OriginCustomHeader, OriginProtocolPolicy, Origins, Tag, Tags, ViewerCertificate,
    ViewerProtocolPolicy,
};

use super::AwsCloud;
use super::elbv2_listeners::{ORIGIN_HEADER, ORIGIN_SECRET};
use super::errors::{api_error, code_of};
use super::tags::pairs;
use crate::cloud::{CloudError, CloudResult, Session};

/// AWS managed cache policy "CachingDisabled".
const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
/// AWS managed origin request policy "AllViewer": cookies, headers and query strings reach n8n.
const ALL_VIEWER: &str = "216adef6-5c7f-47e4-b989-5492eafa07d3";
const ORIGIN_ID: &str = "geusemaker-alb";

fn comment(stack: &str) -> String {
    format!("GeuseMaker {stack}")
}

fn bad(e: impl std::fmt::Display) -> CloudError {
    CloudError::api("CreateDistribution", "BadRequest", e.to_string())
}

fn config(
    stack: &str,
    alb_dns: &str,
    reference: &str,
    origin_secret: &str,
) -> CloudResult<DistributionConfig> {
    let all = [
        Method::Get,
        Method::Head,
        Method::Options,
        Method::Put,
        Method::Post,
        Method::Patch,
        Method::Delete,
    ];
    let cached = CachedMethods::builder()
        .quantity(2)
        .items(Method::Get)
        .items(Method::Head)
        .build()
        .map_err(bad)?;
    let allowed = AllowedMethods::builder()
        .quantity(all.len() as i32)
        .set_items(Some(all.to_vec()))
        .cached_methods(cached)
        .build()
        .map_err(bad)?;
    let origin = Origin::builder()
        .id(ORIGIN_ID)
        .domain_name(alb_dns)
        .custom_origin_config(
            CustomOriginConfig::builder()
                .http_port(80)
                .https_port(443)
                .origin_protocol_policy(OriginProtocolPolicy::HttpOnly)
                .build()
                .map_err(bad)?,
        )
        // The ALB answers 403 to any request without it.
        .custom_headers(
            CustomHeaders::builder()
                .quantity(1)
                .items(
                    OriginCustomHeader::builder()
                        .header_name(ORIGIN_HEADER)
                        .header_value(origin_secret)
                        .build()
                        .map_err(bad)?,
                )
                .build()
                .map_err(bad)?,
        )
        .build()
        .map_err(bad)?;
    let behavior = DefaultCacheBehavior::builder()
        .target_origin_id(ORIGIN_ID)
        .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
        .allowed_methods(allowed)
        .cache_policy_id(CACHING_DISABLED)
        .origin_request_policy_id(ALL_VIEWER)
        .compress(true)
        .build()
        .map_err(bad)?;
    DistributionConfig::builder()
        .caller_reference(reference)
        .comment(comment(stack))
        .enabled(true)
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .map_err(bad)?,
        )
        .default_cache_behavior(behavior)
        .viewer_certificate(
            ViewerCertificate::builder()
                .cloud_front_default_certificate(true)
                .build(),
        )
        .build()
        .map_err(bad)
}

impl AwsCloud {
    pub(super) async fn distribution(&self, s: &mut Session) -> CloudResult<()> {
        let stack = s.state().stack_name.clone();
        let alb = s.state().alb_dns_name.clone().ok_or_else(|| {
            CloudError::Refused("CloudFront needs the load balancer first".into())
        })?;
        s.progress(Some(0.0), "distribution with the ALB as origin")?;
        let reference = caller_reference(s)?;
        let (id, domain) = match self.find_distribution(&stack).await? {
            Some(found) => {
                self.ensure_origin_header(&stack, &found.0).await?;
                found
            }
            None => {
                let secret = self.secret_value(&stack, ORIGIN_SECRET).await?;
                let tags = pairs(&stack, &comment(&stack))
                    .into_iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(bad))
                    .collect::<CloudResult<Vec<_>>>()?;
                let created = self
                    .cloudfront
                    .create_distribution_with_tags()
                    .distribution_config_with_tags(
                        DistributionConfigWithTags::builder()
                            .distribution_config(config(&stack, &alb, &reference, &secret)?)
                            .tags(Tags::builder().set_items(Some(tags)).build())
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| api_error("CreateDistribution", e))?;
                let d = created.distribution().ok_or_else(|| {
                    CloudError::api(
                        "CreateDistribution",
                        "NoAnswer",
                        "no distribution in the answer",
                    )
                })?;
                (d.id().to_string(), d.domain_name().to_string())
            }
        };
        s.record(|st| {
            st.cloudfront_id = Some(id.clone());
            st.cloudfront_domain = Some(domain.clone());
            st.n8n_url = Some(format!("https://{domain}"));
            st.set_provenance("cloudfront", true);
            // n8n starts knowing its URL; CloudFront's deploy goes on meanwhile.
        })?;
        // Not waited for here: CloudFront deploys while the instance boots,
        // and the health stage reaches n8n through it once it is deployed.
        s.progress(Some(1.0), format!("https://{domain} (deploying)"))?;
        Ok(())
    }

    /// A distribution made before the origin header existed gets it: the
    /// ALB answers 403 without it. Nothing is sent when it is there.
    async fn ensure_origin_header(&self, stack: &str, id: &str) -> CloudResult<()> {
        let secret = self.secret_value(stack, ORIGIN_SECRET).await?;
        let current = self.distribution_config(id).await?;
        let Some(mut config) = current.distribution_config().cloned() else {
            return Ok(());
        };
        let has = |o: &Origin| {
            o.custom_headers().is_some_and(|h| {
                h.items().iter().any(|i| {
                    i.header_name() == ORIGIN_HEADER && i.header_value() == secret.as_str()
                })
            })
        };
        let Some(origins) = config.origins.as_mut() else {
            return Ok(());
        };
        if origins.items().iter().all(has) {
            return Ok(());
        }
        let header = OriginCustomHeader::builder()
            .header_name(ORIGIN_HEADER)
            .header_value(&secret)
            .build()
            .map_err(bad)?;
        for origin in origins.items.iter_mut() {
            let mut items: Vec<OriginCustomHeader> = origin
                .custom_headers()
                .map(|h| h.items().to_vec())
                .unwrap_or_default();
            items.retain(|i| i.header_name() != ORIGIN_HEADER);
            items.push(header.clone());
            origin.custom_headers = Some(
                CustomHeaders::builder()
                    .quantity(items.len() as i32)
                    .set_items(Some(items))
                    .build()
                    .map_err(bad)?,
            );
        }
        self.cloudfront
            .update_distribution()
            .id(id)
            .if_match(current.e_tag().unwrap_or_default())
            .distribution_config(config)
            .send()
            .await
            .map_err(|e| api_error("UpdateDistribution", e))?;
        Ok(())
    }

    /// (id, domain) of the distribution this stack made, found by its comment.
    pub(super) async fn find_distribution(
        &self,
        stack: &str,
    ) -> CloudResult<Option<(String, String)>> {
        let wanted = comment(stack);
        let found = self.distributions_where(|d| d.comment() == wanted).await?;
        Ok(found
            .first()
            .map(|d| (d.id().to_string(), d.domain_name().to_string())))
    }

    /// Every distribution of the account that `keep` keeps, page by page.
    pub(super) async fn distributions_where(
        &self,
        keep: impl Fn(&DistributionSummary) -> bool,
    ) -> CloudResult<Vec<DistributionSummary>> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .cloudfront
                .list_distributions()
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| api_error("ListDistributions", e))?;
            let Some(list) = page.distribution_list() else {
                return Ok(out);
            };
            out.extend(list.items().iter().filter(|d| keep(d)).cloned());
            match list.next_marker() {
                Some(next) if list.is_truncated() => marker = Some(next.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// The distribution's config and its ETag.
    async fn distribution_config(&self, id: &str) -> CloudResult<GetDistributionConfigOutput> {
        self.cloudfront
            .get_distribution_config()
            .id(id)
            .send()
            .await
            .map_err(|e| api_error("GetDistributionConfig", e))
    }

    /// Whether the distribution's config is still enabled.
    async fn distribution_enabled(&self, id: &str) -> CloudResult<bool> {
        let current = self.distribution_config(id).await?;
        Ok(current.distribution_config().is_some_and(|c| c.enabled()))
    }

    async fn wait_deployed(&self, s: &mut Session, id: &str, what: &str) -> CloudResult<()> {
        self.wait_for(s, what, || async {
            let r = self
                .cloudfront
                .get_distribution()
                .id(id)
                .send()
                .await
                .map_err(|e| api_error("GetDistribution", e))?;
            let status = r
                .distribution()
                .map(|d| d.status().to_string())
                .unwrap_or_default();
            Ok((status == "Deployed").then_some(()))
        })
        .await
    }

    /// Disable, wait until deployed, delete with the current ETag.
    pub(super) async fn remove_distribution(&self, s: &mut Session) -> CloudResult<()> {
        let Some(id) = s.state().cloudfront_id.clone() else {
            return Ok(());
        };
        let current = match self.distribution_config(&id).await {
            Ok(c) => c,
            Err(e) => {
                if code_of(&e) == Some("NoSuchDistribution") {
                    s.record(|st| {
                        st.cloudfront_id = None;
                        st.cloudfront_domain = None;
                    })?;
                    return Ok(());
                }
                return Err(e);
            }
        };
        if let Some(mut config) = current.distribution_config().cloned()
            && config.enabled()
        {
            s.progress(Some(0.1), format!("disabling {id}"))?;
            config.enabled = false;
            let disabled = self
                .cloudfront
                .update_distribution()
                .id(&id)
                .if_match(current.e_tag().unwrap_or_default())
                .distribution_config(config)
                .send()
                .await
                .map_err(|e| api_error("UpdateDistribution", e));
            match disabled {
                // A retry whose first try took effect: the ETag moved on.
                Err(e) if code_of(&e) == Some("PreconditionFailed") => {
                    if self.distribution_enabled(&id).await? {
                        return Err(e);
                    }
                }
                other => other.map(drop)?,
            }
        }
        self.wait_deployed(s, &id, "disabling, waiting for Deployed")
            .await?;
        let latest = self
            .cloudfront
            .get_distribution()
            .id(&id)
            .send()
            .await
            .map_err(|e| api_error("GetDistribution", e))?;
        s.progress(Some(0.9), format!("deleting {id}"))?;
        let deleted = self
            .cloudfront
            .delete_distribution()
            .id(&id)
            .if_match(latest.e_tag().unwrap_or_default())
            .send()
            .await;
        if let Err(e) = deleted {
            let e = api_error("DeleteDistribution", e);
            if code_of(&e) != Some("NoSuchDistribution") {
                return Err(e);
            }
        }
        s.record(|st| {
            st.cloudfront_id = None;
            st.cloudfront_domain = None;
            st.extra.remove(CALLER_REFERENCE);
        })?;
        Ok(())
    }
}

const CALLER_REFERENCE: &str = "cloudfront_caller_reference";

/// One CallerReference per distribution, recorded before the create: AWS
/// never accepts a reference twice, even after a delete, and a retry after a
/// crash must send the same one.
fn caller_reference(s: &mut Session) -> CloudResult<String> {
    if let Some(known) = s
        .state()
        .extra
        .get(CALLER_REFERENCE)
        .and_then(|v| v.as_str())
    {
        return Ok(known.to_string());
    }
    let stack = s.state().stack_name.to_string();
    let fresh = format!("geusemaker-{stack}-{:016x}", rand::random::<u64>());
    s.record(|st| {
        st.extra
            .insert(CALLER_REFERENCE.into(), fresh.clone().into());
    })?;
    Ok(fresh)
}
