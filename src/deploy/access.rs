//! Changing who may reach a stack's n8n: the set of allowed CIDRs, applied
//! to its security group (and, with `--public-webhooks`, to its listener
//! rules), every address no longer in the set revoked. Audited.

use crate::cloud::Cidr;
use crate::cloud::session::StateSink;
use crate::domain::exposure::{self, Publish};
use crate::domain::{DeploymentState, StackName, StackStatus, Tier};

use super::{Context, OperationError, audit, open};

/// What to do to the set.
#[derive(Clone, Debug, PartialEq)]
pub enum AccessChange {
    Add(Cidr),
    Remove(Cidr),
    Set(Vec<Cidr>),
}

/// The set after `change`, or why it cannot be.
pub fn changed_set(current: &[String], change: &AccessChange) -> Result<Vec<Cidr>, String> {
    let mut set: Vec<Cidr> = current.iter().filter_map(|c| Cidr::parse(c).ok()).collect();
    match change {
        AccessChange::Add(cidr) => {
            if !set.contains(cidr) {
                set.push(cidr.clone());
            }
        }
        AccessChange::Remove(cidr) => {
            if !set.contains(cidr) {
                return Err(format!("{cidr} is not among the allowed CIDRs"));
            }
            set.retain(|c| c != cidr);
        }
        AccessChange::Set(cidrs) => {
            set = Vec::new();
            for cidr in cidrs {
                if !set.contains(cidr) {
                    set.push(cidr.clone());
                }
            }
        }
    }
    if set.is_empty() {
        return Err("that would leave nobody able to reach n8n; keep at least one CIDR".into());
    }
    if let Some(open) = set.iter().find(|c| c.is_open_to_world()) {
        return Err(format!(
            "{open} would open n8n to the whole internet; the automation tier's \
             --public serves it over HTTPS instead"
        ));
    }
    Ok(set)
}

/// Why the stack's access cannot be changed with a CIDR set, if so.
pub fn not_applicable(state: &DeploymentState) -> Option<String> {
    if state.tier() == Tier::Gpu {
        return Some(format!(
            "{} is a gpu stack: CloudFront serves it to the internet and its load balancer \
             admits CloudFront alone, so there is no CIDR set to change",
            state.stack_name
        ));
    }
    if exposure::publish_of(state) == Publish::Public {
        return Some(format!(
            "{} is public (--public): its load balancer admits the whole internet over HTTPS",
            state.stack_name
        ));
    }
    if matches!(
        state.status,
        StackStatus::Destroyed | StackStatus::Destroying
    ) {
        return Some(format!(
            "{} is {}: nothing to admit",
            state.stack_name, state.status
        ));
    }
    None
}

pub async fn set_access(
    ctx: &Context,
    stack: &StackName,
    change: &AccessChange,
    sink: Box<dyn StateSink>,
) -> Result<DeploymentState, OperationError> {
    let start = ctx.clock.now();
    let result = run(ctx, stack, change, sink).await;
    audit(ctx, "access", stack, start, &result);
    result
}

async fn run(
    ctx: &Context,
    stack: &StackName,
    change: &AccessChange,
    sink: Box<dyn StateSink>,
) -> Result<DeploymentState, OperationError> {
    let mut s = open(ctx, stack, "access", sink, |_| None)?;
    if let Some(why) = not_applicable(s.state()) {
        return Err(OperationError::Conflict(why));
    }
    let set = changed_set(&exposure::allowed_cidrs(s.state()), change)
        .map_err(OperationError::Conflict)?;
    ctx.cloud
        .set_access(&mut s, &set)
        .await
        .map_err(|e| OperationError::Stage {
            stage: "Access".into(),
            source: Box::new(e),
            rollback: None,
        })?;
    Ok(s.into_state())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(t: &str) -> Cidr {
        Cidr::parse(t).unwrap()
    }

    #[test]
    fn add_keeps_the_others_set_replaces_them_and_empty_is_refused() {
        let now = vec!["198.51.100.7/32".to_string()];
        let added = changed_set(&now, &AccessChange::Add(cidr("203.0.113.0/24"))).unwrap();
        assert_eq!(added, [cidr("198.51.100.7/32"), cidr("203.0.113.0/24")]);
        let set = changed_set(&now, &AccessChange::Set(vec![cidr("192.0.2.1/32")])).unwrap();
        assert_eq!(set, [cidr("192.0.2.1/32")]);
        assert!(changed_set(&now, &AccessChange::Remove(cidr("198.51.100.7/32"))).is_err());
        assert!(changed_set(&now, &AccessChange::Remove(cidr("192.0.2.9/32"))).is_err());
        assert!(changed_set(&now, &AccessChange::Add(cidr("0.0.0.0/0"))).is_err());
    }
}
