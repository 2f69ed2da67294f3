//! Seed 000 §8.7: what the record of a running stack must hold. The store
//! refuses to save a state that breaks a rule and warns when it loads one.

use super::{DeploymentState, StackStatus};
use crate::domain::Tier;
use crate::domain::stage::OperationKind;

/// A rule of seed 000 §8.7 that a state breaks; each names its rule and field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IntegrityViolation {
    #[error("rule 1 (§8.7): a running stack needs its instance, and instance_id is empty")]
    RunningWithoutInstance,
    #[error("rule 2 (§8.7): a running stack needs its EFS, and efs_id is empty")]
    RunningWithoutEfs,
    #[error("rule 3 (§8.7): a running {0} stack needs its load balancer, and alb_arn is empty")]
    TierWithoutAlb(Tier),
    #[error(
        "rule 4 (§8.7): a running gpu stack needs its CloudFront distribution, and cloudfront_id is empty"
    )]
    GpuWithoutCloudFront,
    #[error(
        "rule 5 (§8.7): a running stack's cost tracking needs its start time, and cost.instance_start_time is empty"
    )]
    RunningWithoutCostStart,
}

impl IntegrityViolation {
    /// The rule's number in seed 000 §8.7.
    pub fn rule(self) -> u8 {
        match self {
            Self::RunningWithoutInstance => 1,
            Self::RunningWithoutEfs => 2,
            Self::TierWithoutAlb(_) => 3,
            Self::GpuWithoutCloudFront => 4,
            Self::RunningWithoutCostStart => 5,
        }
    }
}

impl DeploymentState {
    /// The rules of seed 000 §8.7 this state breaks, in rule order. None
    /// apply while a stop, destroy or rollback is under way: those record
    /// each resource as it goes, and a stop has no status of its own.
    pub fn integrity_violations(&self) -> Vec<IntegrityViolation> {
        if self.status != StackStatus::Running || self.releasing() {
            return Vec::new();
        }
        let tier = self.tier();
        let no_cost_start = self
            .cost
            .as_ref()
            .is_some_and(|c| c.instance_start_time.is_none());
        [
            (
                blank(&self.instance_id),
                IntegrityViolation::RunningWithoutInstance,
            ),
            (blank(&self.efs_id), IntegrityViolation::RunningWithoutEfs),
            (
                tier.has_load_balancer() && blank(&self.alb_arn),
                IntegrityViolation::TierWithoutAlb(tier),
            ),
            (
                tier == Tier::Gpu && blank(&self.cloudfront_id),
                IntegrityViolation::GpuWithoutCloudFront,
            ),
            (no_cost_start, IntegrityViolation::RunningWithoutCostStart),
        ]
        .into_iter()
        .filter_map(|(broken, violation)| broken.then_some(violation))
        .collect()
    }

    /// An operation that takes resources away is under way.
    fn releasing(&self) -> bool {
        self.operation.as_ref().is_some_and(|op| {
            !op.is_finished() && !matches!(op.kind, OperationKind::Deploy | OperationKind::Update)
        })
    }
}

/// Missing, as the seed's `not state.instance_id` has it: absent or empty.
fn blank(id: &Option<String>) -> bool {
    id.as_deref().is_none_or(str::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::stage::Operation;
    use crate::domain::state::CostTracking;
    use crate::domain::{Provider, Timestamp};

    fn at() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    /// A running stack of `tier` with every resource its rules ask for.
    fn complete(tier: Tier) -> DeploymentState {
        let mut s = DeploymentState::new("demo", tier, "us-east-1", Provider::Sandbox, at());
        s.status = StackStatus::Running;
        s.instance_id = Some("i-1".into());
        s.efs_id = Some("fs-1".into());
        s.alb_arn = tier.has_load_balancer().then(|| "arn:alb".into());
        s.cloudfront_id = (tier == Tier::Gpu).then(|| "E1".into());
        let mut cost = CostTracking::new("t3.medium", true);
        cost.instance_start_time = Some(at());
        s.cost = Some(cost);
        s
    }

    #[test]
    fn a_complete_running_stack_breaks_no_rule() {
        for tier in Tier::ALL {
            assert_eq!(complete(tier).integrity_violations(), [], "{tier}");
        }
    }

    /// How to break a rule, on which tier, what is reported, and its field.
    type Breach = (
        fn(&mut DeploymentState),
        Tier,
        IntegrityViolation,
        &'static str,
    );

    #[test]
    fn each_rule_is_reported_with_its_number_and_field() {
        let cases: [Breach; 6] = [
            (
                |s| s.instance_id = None,
                Tier::Dev,
                IntegrityViolation::RunningWithoutInstance,
                "instance_id",
            ),
            (
                |s| s.efs_id = Some(String::new()),
                Tier::Dev,
                IntegrityViolation::RunningWithoutEfs,
                "efs_id",
            ),
            (
                |s| s.alb_arn = None,
                Tier::Automation,
                IntegrityViolation::TierWithoutAlb(Tier::Automation),
                "alb_arn",
            ),
            (
                |s| s.alb_arn = None,
                Tier::Gpu,
                IntegrityViolation::TierWithoutAlb(Tier::Gpu),
                "alb_arn",
            ),
            (
                |s| s.cloudfront_id = None,
                Tier::Gpu,
                IntegrityViolation::GpuWithoutCloudFront,
                "cloudfront_id",
            ),
            (
                |s| s.cost.as_mut().unwrap().instance_start_time = None,
                Tier::Dev,
                IntegrityViolation::RunningWithoutCostStart,
                "cost.instance_start_time",
            ),
        ];
        for (break_it, tier, expected, field) in cases {
            let mut s = complete(tier);
            break_it(&mut s);
            assert_eq!(s.integrity_violations(), [expected]);
            let text = expected.to_string();
            let rule = format!("rule {}", expected.rule());
            assert!(text.contains(&rule) && text.contains(field), "{text}");
        }
    }

    #[test]
    fn the_rules_are_about_running_stacks_at_rest() {
        let mut s = complete(Tier::Gpu);
        s.instance_id = None;
        s.cloudfront_id = None;
        s.cost = None;
        assert_eq!(
            s.integrity_violations(),
            [
                IntegrityViolation::RunningWithoutInstance,
                IntegrityViolation::GpuWithoutCloudFront
            ],
            "no cost tracking at all is not rule 5 (the seed checks it only when present)"
        );
        s.status = StackStatus::Failed;
        assert_eq!(s.integrity_violations(), []);
        s.status = StackStatus::Running;
        s.operation = Some(Operation::new(OperationKind::Stop, at(), &[]));
        assert_eq!(s.integrity_violations(), [], "a stop under way");
        s.operation = Some(Operation::new(OperationKind::Deploy, at(), &[]));
        assert_eq!(s.integrity_violations().len(), 2, "a deploy ends running");
        let mut stopped = Operation::new(OperationKind::Stop, at(), &[]);
        stopped.finished_at = Some(at());
        s.operation = Some(stopped);
        assert_eq!(s.integrity_violations().len(), 2, "a stop that is over");
    }
}
