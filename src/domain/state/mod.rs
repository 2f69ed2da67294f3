//! The deployment state document: a superset of seed 000 §8.2 and seed 001
//! §4.2 that also reads what the Python GeuseMaker (schema_version 2) wrote.
//! Fields this version does not know are kept in `extra` and written back.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use strum::{Display, EnumString, IntoStaticStr};

use super::lenient::{f64_or_string, opt_f64_or_string};
use super::service::Service;
use super::stage::Operation;
use super::tier::Tier;
use super::time::Timestamp;

mod integrity;
pub mod json;

pub use integrity::IntegrityViolation;
pub use json::JsonError;

/// The schema version this program writes; v2 is the Python GeuseMaker's.
pub const SCHEMA_VERSION: u32 = 2;
pub const DEFAULT_REGION: &str = "us-east-1";

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StackStatus {
    Creating,
    Running,
    Updating,
    RollingBack,
    Destroying,
    Failed,
    /// The instance was stopped (terminated) on purpose, by a budget; the
    /// EFS, secrets and network stay, and `deploy` starts it again.
    Stopped,
    /// Seed 001 calls this `terminated`.
    #[serde(alias = "terminated")]
    Destroyed,
}

impl StackStatus {
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// An operation is under way (or was cut short while under way).
    pub fn is_transitional(self) -> bool {
        matches!(
            self,
            Self::Creating | Self::Updating | Self::RollingBack | Self::Destroying
        )
    }
}

/// Which cloud a stack lives in. Files without the field were written for AWS.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, Display, IntoStaticStr,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Provider {
    #[default]
    Aws,
    Sandbox,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Display)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum ServiceStatus {
    Healthy,
    Unhealthy,
    Starting,
    Stopped,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceHealth {
    pub service_name: Service,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    pub status: ServiceStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check: Option<Timestamp>,
    #[serde(default)]
    pub response_time_ms: Option<u64>,
    #[serde(default)]
    pub consecutive_failures: u32,
    #[serde(default)]
    pub error_message: Option<String>,
    /// Docker's OOM kills of its container in the last 24 hours (inside view).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oom_kills: Vec<Timestamp>,
    /// The image its container runs (inside view).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// When Docker last started its container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// Times Docker started it in the last 24 hours, a user's restarts too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts: Option<u32>,
    /// Ollama on a GPU instance: the models in memory and how much of each
    /// is on the GPU (inside view, after a warm-up load).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loaded: Option<Vec<crate::domain::models::LoadedModel>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Probe rounds kept in the state, for the latency history.
pub const HEALTH_HISTORY_KEPT: usize = 30;

/// One probe round: latency per service in `Service::ALL` order, `None` for
/// a failed check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthSample {
    pub at: Timestamp,
    pub ms: Vec<Option<u64>>,
}

impl HealthSample {
    pub fn of(services: &[ServiceHealth], at: Timestamp) -> Self {
        let ms = Service::ALL
            .iter()
            .map(|s| {
                services
                    .iter()
                    .find(|h| h.service_name == *s && h.status == ServiceStatus::Healthy)
                    .and_then(|h| h.response_time_ms)
            })
            .collect();
        Self { at, ms }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RollbackTrigger {
    HealthCheckFailed,
    Timeout,
    SpotInterruption,
    Manual,
    UpdateFailed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RollbackRecord {
    pub timestamp: Timestamp,
    pub trigger: RollbackTrigger,
    #[serde(default)]
    pub resources_deleted: Vec<String>,
    #[serde(default = "yes")]
    pub efs_preserved: bool,
    #[serde(default)]
    pub success: bool,
    #[serde(default)]
    pub error_message: Option<String>,
    /// When the rollback ended; `None` while it is under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn yes() -> bool {
    true
}

fn default_efs_gb_month_price() -> f64 {
    super::list_prices::EFS_GB_MONTH
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostTracking {
    #[serde(default)]
    pub instance_type: Option<String>,
    #[serde(default)]
    pub is_spot: bool,
    #[serde(default, deserialize_with = "opt_f64_or_string")]
    pub spot_price_per_hour: Option<f64>,
    #[serde(default, deserialize_with = "opt_f64_or_string")]
    pub on_demand_price_per_hour: Option<f64>,
    #[serde(
        default = "default_efs_gb_month_price",
        deserialize_with = "f64_or_string"
    )]
    pub efs_gb_month_price: f64,
    #[serde(default, deserialize_with = "opt_f64_or_string")]
    pub estimated_monthly_cost: Option<f64>,
    #[serde(default)]
    pub instance_start_time: Option<Timestamp>,
    /// Hours as of `updated_at`, kept for readers of the seed schema;
    /// this program computes runtime from `closed_runtime_hours` + the start time.
    #[serde(default, deserialize_with = "f64_or_string")]
    pub total_runtime_hours: f64,
    #[serde(default, deserialize_with = "f64_or_string")]
    pub estimated_cost_to_date: f64,
    /// Instance hours of instances that have already ended, and what they cost.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub closed_runtime_hours: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub closed_instance_cost: f64,
    /// Why the instance price is an estimate (a fallback list price, say);
    /// `None` when it came from the provider's price source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_estimate: Option<String>,
    /// Every ended instance period, priced at its own type and market.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<InstancePeriod>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One instance's time, from launch (or start of tracking) to its end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstancePeriod {
    #[serde(default)]
    pub instance_id: Option<String>,
    #[serde(default)]
    pub instance_type: Option<String>,
    #[serde(default)]
    pub spot: bool,
    pub started_at: Timestamp,
    pub ended_at: Timestamp,
    pub hourly_rate: f64,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

impl CostTracking {
    pub fn new(instance_type: &str, is_spot: bool) -> Self {
        Self {
            instance_type: Some(instance_type.to_string()),
            is_spot,
            spot_price_per_hour: None,
            on_demand_price_per_hour: None,
            efs_gb_month_price: default_efs_gb_month_price(),
            estimated_monthly_cost: None,
            instance_start_time: None,
            total_runtime_hours: 0.0,
            estimated_cost_to_date: 0.0,
            closed_runtime_hours: 0.0,
            closed_instance_cost: 0.0,
            price_estimate: None,
            history: Vec::new(),
            extra: Map::new(),
        }
    }
}

/// The requested configuration (the Python v2 nests it as `config`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploymentConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_spot: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_rollback_on_failure: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_timeout_minutes: Option<u32>,
    /// With no spot capacity, the monitor may move the group to on-demand
    /// (`deploy --fallback-on-demand`); the next deploy asks for spot again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_on_demand: Option<bool>,
    /// Who may reach n8n (dev: the instance; automation: the ALB). Changed
    /// only by `access`; a redeploy keeps it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_cidrs: Vec<String>,
    /// Whether the automation tier's ALB is open beyond the allowed CIDRs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<super::exposure::Publish>,
    /// The user's own DNS name for n8n (its certificate covers it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_arn: Option<String>,
    /// The n8n owner's e-mail; the password is a secret in SSM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_email: Option<String>,
    /// The instance's watchdog threshold and Qdrant snapshot period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_checks: Option<crate::domain::settings::InstanceChecks>,
    /// Image tags that differ from this build's pinned ones (`update
    /// --images`), by service: what the instance's compose file runs.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub images: crate::domain::images::ImageTags,
    /// The SNS topic the instance publishes its failures and drains to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sns_topic_arn: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn schema_version() -> u32 {
    SCHEMA_VERSION
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeploymentState {
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    pub stack_name: String,
    pub status: StackStatus,
    /// Why the stack is in its status, when that needs saying (a monitor that
    /// stopped rolling back, say) and what to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// Top level in seed 000; only inside `config` in Python v2 files.
    #[serde(default)]
    pub tier: Option<Tier>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub provider: Provider,
    pub created_at: Timestamp,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internet_gateway_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_table_id: Option<String>,
    #[serde(default)]
    pub security_group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efs_security_group_id: Option<String>,
    #[serde(default)]
    pub efs_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub efs_mount_target_ids: Vec<String>,
    /// Metered size of the EFS, for the cost of keeping it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efs_size_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_role_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_instance_profile_name: Option<String>,
    /// Where the stack's secrets live (a parameter path, never a value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami_id: Option<String>,
    #[serde(default)]
    pub instance_id: Option<String>,
    /// The launch template the stack's group launches from, and the version
    /// the last deploy made (a rollback goes back to the healthy one's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_template_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_template_version: Option<i64>,
    /// The Auto Scaling group of one that keeps the instance running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling_group_name: Option<String>,
    /// Dev: the stack's Elastic IP, which each instance of the group claims
    /// at boot, so n8n's URL survives a replacement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elastic_ip_allocation_id: Option<String>,
    /// The stack's baked images (oldest first), and the builder baking one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<super::image::BakedImage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_builder: Option<super::image::Builder>,
    /// Instances the group lost and replaced, oldest first, bounded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recoveries: Vec<super::recovery::Recovery>,
    /// Deliberate switches of the instance (updates, rollbacks), newest
    /// last, bounded: each with its gap.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub switches: Vec<super::switch::Switch>,
    #[serde(default)]
    pub public_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n8n_url: Option<String>,
    #[serde(default)]
    pub alb_arn: Option<String>,
    #[serde(default)]
    pub alb_dns_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listener_arns: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alb_security_group_id: Option<String>,
    /// How the load balancer last saw the instance ("healthy", ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alb_target_health: Option<String>,
    #[serde(default)]
    pub cloudfront_id: Option<String>,
    #[serde(default)]
    pub cloudfront_domain: Option<String>,
    /// The stack's monthly budget, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<super::budget::Budget>,
    /// Where it stands against that budget, as of `updated_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_status: Option<super::budget::BudgetStatus>,
    /// The budget level last told to the user's webhook, and in which month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_told: Option<super::budget::BudgetTold>,
    /// Which resources this program created (and so may delete) and which it reused.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub resource_provenance: Map<String, Value>,

    #[serde(default)]
    pub services: Vec<ServiceHealth>,
    /// n8n as its users reach it, from where it was last checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outside: Option<super::exposure::OutsideHealth>,
    /// Recent probe rounds, oldest first, bounded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_history: Vec<HealthSample>,
    #[serde(default)]
    pub cost: Option<CostTracking>,
    #[serde(default)]
    pub last_healthy_state: Option<Value>,
    #[serde(default)]
    pub rollback_history: Vec<RollbackRecord>,
    /// The current or last operation, with per-stage timing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<DeploymentConfig>,

    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl DeploymentState {
    /// What a GB a month on this stack's EFS costs: the price recorded at
    /// deploy, else the list price.
    pub fn efs_gb_month(&self) -> f64 {
        self.cost
            .as_ref()
            .map_or(crate::domain::list_prices::EFS_GB_MONTH, |c| {
                c.efs_gb_month_price
            })
    }

    pub fn new(
        stack_name: &str,
        tier: Tier,
        region: &str,
        provider: Provider,
        now: Timestamp,
    ) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            stack_name: stack_name.to_string(),
            status: StackStatus::Creating,
            status_reason: None,
            tier: Some(tier),
            region: Some(region.to_string()),
            provider,
            created_at: now,
            updated_at: Some(now),
            account_id: None,
            vpc_id: None,
            subnet_ids: Vec::new(),
            internet_gateway_id: None,
            route_table_id: None,
            security_group_id: None,
            efs_security_group_id: None,
            efs_id: None,
            efs_mount_target_ids: Vec::new(),
            efs_size_bytes: None,
            iam_role_name: None,
            iam_instance_profile_name: None,
            secrets_path: None,
            ami_id: None,
            instance_id: None,
            launch_template_id: None,
            launch_template_version: None,
            autoscaling_group_name: None,
            elastic_ip_allocation_id: None,
            images: Vec::new(),
            image_builder: None,
            recoveries: Vec::new(),
            switches: Vec::new(),
            public_ip: None,
            private_ip: None,
            n8n_url: None,
            alb_arn: None,
            alb_dns_name: None,
            target_group_arn: None,
            listener_arns: Vec::new(),
            alb_security_group_id: None,
            alb_target_health: None,
            cloudfront_id: None,
            cloudfront_domain: None,
            budget: None,
            budget_status: None,
            budget_told: None,
            resource_provenance: Map::new(),
            services: Vec::new(),
            health_history: Vec::new(),
            outside: None,
            cost: None,
            last_healthy_state: None,
            rollback_history: Vec::new(),
            operation: None,
            config: None,
            extra: Map::new(),
        }
    }

    /// Parse a state file (this program's, seed 000's, or the Python
    /// GeuseMaker's v2) and fill in what older files keep only in `config`.
    /// An error names the offending field.
    pub fn from_json(bytes: &[u8]) -> Result<Self, JsonError> {
        let mut state: Self = json::from_slice(bytes)?;
        state.normalize();
        Ok(state)
    }

    pub fn tier(&self) -> Tier {
        self.tier
            .or_else(|| self.config.as_ref().and_then(|c| c.tier))
            .unwrap_or_default()
    }

    pub fn region(&self) -> &str {
        self.region
            .as_deref()
            .or_else(|| self.config.as_ref().and_then(|c| c.region.as_deref()))
            .unwrap_or(DEFAULT_REGION)
    }

    pub fn instance_type(&self) -> Option<&str> {
        self.cost
            .as_ref()
            .and_then(|c| c.instance_type.as_deref())
            .or_else(|| {
                self.config
                    .as_ref()
                    .and_then(|c| c.instance_type.as_deref())
            })
    }

    pub fn is_spot(&self) -> bool {
        self.cost
            .as_ref()
            .map(|c| c.is_spot)
            .or_else(|| self.config.as_ref().and_then(|c| c.use_spot))
            .unwrap_or(true)
    }

    pub fn service(&self, service: Service) -> Option<&ServiceHealth> {
        self.services.iter().find(|s| s.service_name == service)
    }

    /// Fill in top-level fields that older files keep only inside `config`,
    /// so that what this program writes is complete at the top level.
    pub fn normalize(&mut self) {
        if self.tier.is_none() {
            self.tier = Some(self.tier());
        }
        if self.region.is_none() {
            self.region = Some(self.region().to_string());
        }
    }

    /// Record who made a resource: `created` ones are ours to delete.
    pub fn set_provenance(&mut self, resource: &str, created: bool) {
        let how = if created { "created" } else { "reused" };
        self.resource_provenance
            .insert(resource.to_string(), Value::from(how));
    }

    /// Keep the latest probe round, and only the last few.
    pub fn push_health(&mut self, sample: HealthSample) {
        self.health_history.push(sample);
        let excess = self
            .health_history
            .len()
            .saturating_sub(HEALTH_HISTORY_KEPT);
        self.health_history.drain(..excess);
    }

    pub fn created(&self, resource: &str) -> bool {
        self.resource_provenance
            .get(resource)
            .and_then(Value::as_str)
            == Some("created")
    }
}

#[cfg(test)]
pub(crate) mod proptests;
#[cfg(test)]
mod tests;
