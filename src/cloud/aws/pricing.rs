//! Prices: on-demand from the Pricing API, spot from the EC2 spot price
//! history, cached for five minutes in `cache/pricing.json` (seed 000 §8.5).
//! When either is unavailable the list price table stands in, and the price
//! is marked as an estimate, saying why.

use std::collections::BTreeMap;
use std::path::Path;

use aws_sdk_pricing::types::{Filter, FilterType};
use serde::{Deserialize, Serialize};

use super::AwsCloud;
use super::errors::api_error;
use crate::cloud::{CloudError, CloudResult, Prices};
use crate::domain::Timestamp;
use crate::domain::list_prices::{EFS_GB_MONTH, price_of};
use crate::store::atomic;

pub const CACHE_TTL_SECS: u64 = 300;

pub use crate::domain::regions::location_of;

/// The Pricing API answers only in us-east-1, eu-central-1 and ap-south-1:
/// the nearest of them to the stack's region.
pub fn endpoint_region(region: &str) -> &'static str {
    match region.split('-').next() {
        Some("eu" | "me" | "af" | "il") => "eu-central-1",
        Some("ap") => "ap-south-1",
        _ => "us-east-1",
    }
}

/// What the APIs gave, with the list price standing in for what they did
/// not, each stand-in saying why it is an estimate.
pub fn with_fallbacks(pair: PricePair, instance_type: &str) -> Prices {
    let listed = price_of(instance_type);
    let fallback = |api: &str, known: bool| {
        (!known).then(|| match listed {
            Some(_) => format!("{api} unavailable: us-east-1 list price"),
            None => format!("{api} unavailable and no list price for {instance_type}"),
        })
    };
    Prices {
        on_demand_per_hour: pair.on_demand.or(listed.map(|(od, _)| od)),
        spot_per_hour: pair.spot.or(listed.map(|(_, spot)| spot)),
        efs_gb_month: EFS_GB_MONTH,
        on_demand_estimate: fallback("Pricing API", pair.on_demand.is_some()),
        spot_estimate: fallback("spot price history", pair.spot.is_some()),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PricePair {
    pub spot: Option<f64>,
    pub on_demand: Option<f64>,
}

/// `cache/pricing.json`, in the layout of seed 000 §8.5.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PriceCache {
    pub cached_at: Option<Timestamp>,
    pub ttl_seconds: u64,
    pub data: BTreeMap<String, BTreeMap<String, PricePair>>,
}

impl PriceCache {
    pub fn read(path: &Path) -> Self {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn fresh(&self, region: &str, instance_type: &str, now: Timestamp) -> Option<PricePair> {
        let age = self.cached_at?.secs_until(now);
        if age > self.ttl_seconds as f64 {
            return None;
        }
        self.data.get(region)?.get(instance_type).copied()
    }

    pub fn store(
        mut self,
        path: &Path,
        region: &str,
        instance_type: &str,
        pair: PricePair,
        now: Timestamp,
    ) {
        if self
            .cached_at
            .is_none_or(|at| at.secs_until(now) > self.ttl_seconds as f64)
        {
            self.data.clear();
        }
        self.cached_at = Some(now);
        self.ttl_seconds = CACHE_TTL_SECS;
        self.data
            .entry(region.to_string())
            .or_default()
            .insert(instance_type.to_string(), pair);
        if let Ok(bytes) = serde_json::to_vec_pretty(&self) {
            let _ = atomic::write_atomic(path, &bytes);
        }
    }
}

/// The hourly USD price in one Pricing API product document.
pub fn on_demand_from_price_list(document: &str) -> Option<f64> {
    let doc: serde_json::Value = serde_json::from_str(document).ok()?;
    let terms = doc.get("terms")?.get("OnDemand")?.as_object()?;
    terms
        .values()
        .filter_map(|term| term.get("priceDimensions")?.as_object().cloned())
        .flat_map(|dims| dims.into_iter().map(|(_, d)| d))
        .filter(|d| d.get("unit").and_then(|u| u.as_str()) == Some("Hrs"))
        .filter_map(|d| {
            d.get("pricePerUnit")?
                .get("USD")?
                .as_str()?
                .parse::<f64>()
                .ok()
        })
        .find(|p| *p > 0.0)
}

fn term(field: &str, value: &str) -> CloudResult<Filter> {
    Filter::builder()
        .r#type(FilterType::TermMatch)
        .field(field)
        .value(value)
        .build()
        .map_err(|e| CloudError::api("GetProducts", "BadFilter", e.to_string()))
}

/// Linux, shared tenancy, no pre-installed software: the on-demand price of `instance_type`.
pub async fn on_demand_price(
    pricing: &aws_sdk_pricing::Client,
    region: &str,
    instance_type: &str,
) -> CloudResult<Option<f64>> {
    let products = pricing
        .get_products()
        .service_code("AmazonEC2")
        .filters(term("instanceType", instance_type)?)
        .filters(match location_of(region) {
            Some(location) => term("location", location)?,
            // A region newer than the table: its code is an attribute too.
            None => term("regionCode", region)?,
        })
        .filters(term("operatingSystem", "Linux")?)
        .filters(term("tenancy", "Shared")?)
        .filters(term("preInstalledSw", "NA")?)
        .filters(term("capacitystatus", "Used")?)
        .filters(term("licenseModel", "No License required")?)
        .max_results(10)
        .send()
        .await
        .map_err(|e| api_error("GetProducts", e))?;
    Ok(products
        .price_list()
        .iter()
        .find_map(|doc| on_demand_from_price_list(doc)))
}

impl AwsCloud {
    pub(super) async fn current_prices(
        &self,
        region: &str,
        instance_type: &str,
    ) -> CloudResult<Prices> {
        let path = self.settings.cache_dir.join("pricing.json");
        let cache = PriceCache::read(&path);
        let now = self.clock.now();
        let pair = match cache.fresh(region, instance_type, now) {
            Some(pair) => pair,
            None => {
                let on_demand = on_demand_price(&self.pricing, region, instance_type)
                    .await
                    .inspect_err(|e| tracing::warn!(error = %e, "on-demand price unavailable"))
                    .ok()
                    .flatten();
                let spot = self
                    .spot_price(instance_type, None)
                    .await
                    .inspect_err(|e| tracing::warn!(error = %e, "spot price unavailable"))
                    .ok()
                    .flatten();
                let pair = PricePair { spot, on_demand };
                cache.store(&path, region, instance_type, pair, now);
                pair
            }
        };
        Ok(with_fallbacks(pair, instance_type))
    }

    /// The latest spot price in `zone`; before there is one, the lowest
    /// across the region's zones (where a launch would try first).
    pub(super) async fn spot_price(
        &self,
        instance_type: &str,
        zone: Option<&str>,
    ) -> CloudResult<Option<f64>> {
        let history = self
            .ec2
            .describe_spot_price_history()
            .instance_types(instance_type.into())
            .product_descriptions("Linux/UNIX")
            .set_availability_zone(zone.map(str::to_string))
            .start_time(aws_smithy_types::DateTime::from_secs(
                self.clock.now().0.timestamp(),
            ))
            .send()
            .await
            .map_err(|e| api_error("DescribeSpotPriceHistory", e))?;
        Ok(history
            .spot_price_history()
            .iter()
            .filter_map(|p| p.spot_price()?.parse::<f64>().ok())
            // A zero is no price (moto answers 0.00): the list price stands in.
            .filter(|p| *p > 0.0)
            .fold(None, |min: Option<f64>, p| {
                Some(min.map_or(p, |m| m.min(p)))
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_pricing::operation::get_products::GetProductsOutput;
    use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, create_mock_http_client, mock};

    /// A product document as the Pricing API returns it (trimmed).
    const T3_MEDIUM: &str = r#"{"product":{"attributes":{"instanceType":"t3.medium","regionCode":"us-east-1"}},
        "terms":{"OnDemand":{"ABC.JRTCKXETXF":{"priceDimensions":{"ABC.JRTCKXETXF.6YS6EN2CT7":
        {"unit":"Hrs","pricePerUnit":{"USD":"0.0416000000"},"description":"$0.0416 per On Demand Linux t3.medium Instance Hour"}}}}}}"#;

    #[test]
    fn reads_the_hourly_price_from_a_product_document() {
        assert_eq!(on_demand_from_price_list(T3_MEDIUM), Some(0.0416));
        assert_eq!(on_demand_from_price_list("{}"), None);
        assert_eq!(on_demand_from_price_list("not json"), None);
    }

    fn client(rule: &aws_smithy_mocks::Rule) -> aws_sdk_pricing::Client {
        let config = aws_sdk_pricing::Config::builder()
            .behavior_version(aws_sdk_pricing::config::BehaviorVersion::latest())
            .region(aws_sdk_pricing::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_pricing::config::Credentials::new(
                "a", "b", None, None, "test",
            ))
            .http_client(create_mock_http_client())
            .interceptor(
                MockResponseInterceptor::new()
                    .rule_mode(RuleMode::Sequential)
                    .with_rule(rule),
            )
            .build();
        aws_sdk_pricing::Client::from_conf(config)
    }

    #[tokio::test]
    async fn asks_the_pricing_api_for_linux_shared_tenancy_in_the_region() {
        let rule = mock!(aws_sdk_pricing::Client::get_products)
            .match_requests(|req| {
                let has = |field: &str, value: &str| {
                    req.filters()
                        .iter()
                        .any(|f| f.field() == field && f.value() == value)
                };
                req.service_code() == Some("AmazonEC2")
                    && has("instanceType", "t3.medium")
                    && has("location", "EU (Ireland)")
                    && has("licenseModel", "No License required")
                    && has("capacitystatus", "Used")
                    && has("preInstalledSw", "NA")
                    && has("operatingSystem", "Linux")
                    && has("tenancy", "Shared")
            })
            .then_output(|| GetProductsOutput::builder().price_list(T3_MEDIUM).build());
        let price = on_demand_price(&client(&rule), "eu-west-1", "t3.medium")
            .await
            .unwrap();
        assert_eq!(price, Some(0.0416));
    }

    #[test]
    fn every_commercial_region_has_a_location_and_a_pricing_endpoint() {
        assert_eq!(location_of("us-east-1"), Some("US East (N. Virginia)"));
        assert_eq!(location_of("eu-west-1"), Some("EU (Ireland)"));
        assert_eq!(location_of("ap-northeast-1"), Some("Asia Pacific (Tokyo)"));
        assert_eq!(location_of("sa-east-1"), Some("South America (Sao Paulo)"));
        assert_eq!(location_of("xx-nowhere-1"), None);
        for (region, _) in crate::domain::regions::REGIONS {
            assert!(crate::runtime::validate_region(region).is_ok(), "{region}");
        }
        assert_eq!(endpoint_region("eu-west-3"), "eu-central-1");
        assert_eq!(endpoint_region("ap-southeast-2"), "ap-south-1");
        assert_eq!(endpoint_region("us-west-2"), "us-east-1");
        assert_eq!(endpoint_region("sa-east-1"), "us-east-1");
    }

    #[test]
    fn what_the_apis_did_not_give_is_a_list_price_marked_as_an_estimate() {
        let prices = with_fallbacks(
            PricePair {
                spot: Some(0.0131),
                on_demand: None,
            },
            "t3.medium",
        );
        assert_eq!(prices.spot_per_hour, Some(0.0131));
        assert_eq!(prices.spot_estimate, None, "from the spot history");
        assert_eq!(prices.on_demand_per_hour, Some(0.0416));
        assert_eq!(
            prices.on_demand_estimate.as_deref(),
            Some("Pricing API unavailable: us-east-1 list price")
        );
        let unknown = with_fallbacks(
            PricePair {
                spot: None,
                on_demand: None,
            },
            "x9.huge",
        );
        assert_eq!(unknown.on_demand_per_hour, None);
        assert!(unknown.spot_estimate.unwrap().contains("no list price"));
    }

    #[tokio::test]
    async fn no_product_means_no_price() {
        let rule = mock!(aws_sdk_pricing::Client::get_products)
            .then_output(|| GetProductsOutput::builder().build());
        let price = on_demand_price(&client(&rule), "us-east-1", "x9.huge")
            .await
            .unwrap();
        assert_eq!(price, None);
    }

    #[test]
    fn the_cache_expires_after_its_ttl() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pricing.json");
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let pair = PricePair {
            spot: Some(0.0125),
            on_demand: Some(0.0416),
        };
        PriceCache::read(&path).store(&path, "us-east-1", "t3.medium", pair, t0);
        let cache = PriceCache::read(&path);
        assert_eq!(
            cache.fresh("us-east-1", "t3.medium", t0.plus_secs(60.0)),
            Some(pair)
        );
        assert_eq!(
            cache.fresh("us-east-1", "t3.medium", t0.plus_secs(301.0)),
            None
        );
        assert_eq!(cache.fresh("eu-west-1", "t3.medium", t0), None);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("\"ttl_seconds\": 300") && text.contains("\"on_demand\": 0.0416"),
            "{text}"
        );
    }
}
