//! A stack as a listing needs it: the few fields `list` shows, parsed without
//! building the rest of the document (a state file is mostly ids, history and
//! the rollback snapshot, which a listing never reads).

use std::ops::Deref;

use serde::{Deserialize, Serialize};

use crate::domain::lenient::{f64_or_string, opt_f64_or_string};
use crate::domain::stage::{Operation, OperationKind};
use crate::domain::state::{CostTracking, DeploymentConfig, Provider, StackStatus};
use crate::domain::{DeploymentState, Tier, Timestamp};

/// A partial `DeploymentState`: read-only, and `Store::save` does not take it,
/// so it can never overwrite the full document.
#[derive(Clone, Debug, PartialEq)]
pub struct Brief(Box<DeploymentState>);

impl Brief {
    /// The partial document, for display only: fields a listing does not read
    /// are empty, so it must never be written back (the store does not take it).
    pub fn into_partial_state(self) -> DeploymentState {
        *self.0
    }
}

impl Deref for Brief {
    type Target = DeploymentState;
    fn deref(&self) -> &DeploymentState {
        &self.0
    }
}

/// The listed fields, as read from a state file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BriefRecord {
    stack_name: String,
    status: StackStatus,
    #[serde(default)]
    tier: Option<Tier>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    provider: Provider,
    created_at: Timestamp,
    #[serde(default)]
    updated_at: Option<Timestamp>,
    #[serde(default)]
    instance_id: Option<String>,
    #[serde(default)]
    public_ip: Option<String>,
    #[serde(default)]
    n8n_url: Option<String>,
    #[serde(default)]
    efs_id: Option<String>,
    #[serde(default)]
    efs_size_bytes: Option<u64>,
    #[serde(default)]
    alb_arn: Option<String>,
    #[serde(default)]
    cost: Option<BriefCost>,
    #[serde(default)]
    config: Option<BriefConfig>,
    #[serde(default)]
    operation: Option<BriefOperation>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct BriefCost {
    #[serde(default)]
    instance_type: Option<String>,
    #[serde(default)]
    is_spot: bool,
    #[serde(default, deserialize_with = "opt_f64_or_string")]
    spot_price_per_hour: Option<f64>,
    #[serde(default, deserialize_with = "opt_f64_or_string")]
    on_demand_price_per_hour: Option<f64>,
    #[serde(default = "default_efs_price", deserialize_with = "f64_or_string")]
    efs_gb_month_price: f64,
    #[serde(default)]
    instance_start_time: Option<Timestamp>,
    #[serde(default)]
    closed_runtime_hours: f64,
    #[serde(default)]
    closed_instance_cost: f64,
}

fn default_efs_price() -> f64 {
    crate::domain::list_prices::EFS_GB_MONTH
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct BriefConfig {
    #[serde(default)]
    tier: Option<Tier>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    instance_type: Option<String>,
    #[serde(default)]
    use_spot: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct BriefOperation {
    kind: OperationKind,
    started_at: Timestamp,
    #[serde(default)]
    finished_at: Option<Timestamp>,
    #[serde(default)]
    error: Option<String>,
}

impl BriefRecord {
    pub fn from_state_json(bytes: &[u8]) -> serde_json::Result<Self> {
        serde_json::from_slice(bytes)
    }

    pub fn brief(&self) -> Brief {
        let mut state = DeploymentState::new(
            &self.stack_name,
            Tier::Dev,
            "",
            self.provider,
            self.created_at,
        );
        state.status = self.status;
        state.tier = self.tier;
        state.region = self.region.clone();
        state.updated_at = self.updated_at;
        state.instance_id = self.instance_id.clone();
        state.public_ip = self.public_ip.clone();
        state.n8n_url = self.n8n_url.clone();
        state.efs_id = self.efs_id.clone();
        state.efs_size_bytes = self.efs_size_bytes;
        state.alb_arn = self.alb_arn.clone();
        state.cost = self.cost.as_ref().map(|c| {
            let mut cost = CostTracking::new("", c.is_spot);
            cost.instance_type = c.instance_type.clone();
            cost.spot_price_per_hour = c.spot_price_per_hour;
            cost.on_demand_price_per_hour = c.on_demand_price_per_hour;
            cost.efs_gb_month_price = c.efs_gb_month_price;
            cost.instance_start_time = c.instance_start_time;
            cost.closed_runtime_hours = c.closed_runtime_hours;
            cost.closed_instance_cost = c.closed_instance_cost;
            cost
        });
        state.config = self.config.as_ref().map(|c| DeploymentConfig {
            tier: c.tier,
            region: c.region.clone(),
            instance_type: c.instance_type.clone(),
            use_spot: c.use_spot,
            ..DeploymentConfig::default()
        });
        state.operation = self.operation.as_ref().map(|op| Operation {
            finished_at: op.finished_at,
            error: op.error.clone(),
            ..Operation::new(op.kind, op.started_at, &[])
        });
        state.normalize();
        Brief(Box::new(state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cost;

    #[test]
    fn a_brief_lists_like_the_full_document() {
        let text = include_str!("../../tests/fixtures/python-geusemaker-v2-state.json");
        let brief = BriefRecord::from_state_json(text.as_bytes())
            .unwrap()
            .brief();
        let mut full: DeploymentState = serde_json::from_str(text).unwrap();
        full.normalize();
        assert_eq!(brief.stack_name, full.stack_name);
        assert_eq!(brief.tier(), full.tier());
        assert_eq!(brief.region(), full.region());
        assert_eq!(brief.instance_type(), full.instance_type());
        let now = "2026-07-02T00:00:00Z".parse().unwrap();
        assert_eq!(cost::summarize(&brief, now), cost::summarize(&full, now));
    }

    #[test]
    fn a_bad_document_is_still_an_error() {
        assert!(BriefRecord::from_state_json(b"{\"stack_name\": 1}").is_err());
        assert!(BriefRecord::from_state_json(b"{ nope").is_err());
    }
}
