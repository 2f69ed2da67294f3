//! What a deploy from the dashboard takes from the settings, and what it
//! offers when spot has no capacity.

use crate::app::model::Offer;
use crate::cloud::{CloudError, DeployRequest};
use crate::deploy::OperationError;

/// The settings a deploy's instance is made with: its own checks, and the
/// topic it tells of failures and drains.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeployDefaults {
    pub instance_checks: Option<crate::domain::settings::InstanceChecks>,
    pub sns_topic_arn: Option<String>,
}

impl DeployDefaults {
    pub fn of(settings: &crate::domain::settings::Settings) -> Self {
        Self {
            instance_checks: Some(settings.instance_checks()),
            sns_topic_arn: settings.notify.sns_topic_arn.clone(),
        }
    }

    /// `req` with what it does not choose itself.
    pub(super) fn fill(&self, mut req: Box<DeployRequest>) -> Box<DeployRequest> {
        let options = &mut req.options;
        options.instance_checks = options.instance_checks.or(self.instance_checks);
        if options.sns_topic_arn.is_none() {
            options.sns_topic_arn = self.sns_topic_arn.clone();
        }
        req
    }
}

/// A spot deploy that found no capacity in any zone can go on-demand.
pub(super) fn on_demand_offer(
    req: &DeployRequest,
) -> impl FnOnce(&OperationError) -> Option<Offer> + Send + 'static {
    let req = req.clone();
    move |e| match e {
        OperationError::Stage { source, .. }
            if req.spot && matches!(**source, CloudError::InsufficientCapacity { .. }) =>
        {
            let mut request = req;
            request.spot = false;
            Some(Offer::OnDemand {
                reason: e.to_string(),
                request: Box::new(request),
            })
        }
        _ => None,
    }
}
