//! Drift: a security group rule, a launch-template setting or a target
//! that differs from what the state says. An instance type is drift only
//! when it is outside the group's allowed types.

use std::collections::{BTreeSet, HashSet};

use super::{Drift, Found, Kind, Recorded};
use crate::domain::exposure::{self, N8N_PORT};
use crate::domain::{DeploymentState, Tier};

const NFS: u16 = 2049;
/// How a CloudFront prefix-list source is compared (its id differs by region).
const PREFIX_LIST: &str = "the CloudFront prefix list";

pub(super) fn of_stack(
    st: &DeploymentState,
    found: &[Found],
    absent: &HashSet<&Recorded>,
) -> Vec<Drift> {
    let get = |kind: Kind, id: Option<&str>| {
        let id = id?;
        found.iter().find(|f| f.kind == kind && f.id == id)
    };
    let drift = |f: &Found, what: &str, expected: String, actual: String| Drift {
        stack: st.stack_name.clone(),
        kind: f.kind,
        id: f.id.clone(),
        what: what.to_string(),
        expected,
        actual,
    };
    let mut out = Vec::new();
    for role in ["instance", "alb", "efs"] {
        let id = match role {
            "instance" => st.security_group_id.as_deref(),
            "alb" => st.alb_security_group_id.as_deref(),
            _ => st.efs_security_group_id.as_deref(),
        };
        let Some(group) = get(Kind::SecurityGroup, id) else {
            continue;
        };
        let (Some(actual), Some(expected)) = (&group.facts.ingress, expected_ingress(st, role))
        else {
            continue;
        };
        let actual: BTreeSet<String> = actual.iter().map(|r| normalized(r)).collect();
        if actual != expected {
            out.push(drift(
                group,
                "inbound rules",
                join(&expected),
                join(&actual),
            ));
        }
    }

    let wanted_type = st.instance_type().map(str::to_string);
    let group = get(Kind::AutoScalingGroup, st.autoscaling_group_name.as_deref());
    let allowed: Option<Vec<String>> = group
        .and_then(|g| g.facts.allowed_types.clone())
        .filter(|t| !t.is_empty());
    if let Some(g) = group {
        if let (Some(actual), Some(expected)) =
            (g.facts.template_version, st.launch_template_version)
            && actual != expected
        {
            out.push(drift(
                g,
                "launch template version",
                expected.to_string(),
                actual.to_string(),
            ));
        }
        let images: BTreeSet<&str> = st
            .ami_id
            .iter()
            .map(String::as_str)
            .chain(st.images.iter().map(|i| i.image_id.as_str()))
            .collect();
        if let Some(image) = &g.facts.image
            && !images.is_empty()
            && !images.contains(image.as_str())
        {
            let expected: Vec<&str> = images.into_iter().collect();
            out.push(drift(g, "image", expected.join(" or "), image.clone()));
        }
        if let (Some(allowed), Some(wanted)) = (&allowed, &wanted_type)
            && !allowed.contains(wanted)
        {
            out.push(drift(
                g,
                "allowed instance types",
                format!("to include {wanted}"),
                allowed.join(", "),
            ));
        }
    }
    if let Some(instance) = get(Kind::Instance, st.instance_id.as_deref())
        && let Some(actual) = &instance.facts.instance_type
    {
        let allowed = allowed
            .clone()
            .or_else(|| wanted_type.clone().map(|t| vec![t]));
        if let Some(allowed) = allowed
            && !allowed.contains(actual)
        {
            out.push(drift(
                instance,
                "instance type",
                format!("one of {}", allowed.join(", ")),
                actual.clone(),
            ));
        }
    }
    if let Some(tg) = get(Kind::TargetGroup, st.target_group_arn.as_deref())
        && let Some(targets) = &tg.facts.targets
        && let Some(instance) = &st.instance_id
    {
        let gone = absent.contains(&Recorded {
            kind: Kind::Instance,
            id: instance.clone(),
        });
        let actual: BTreeSet<String> = targets.iter().cloned().collect();
        let expected: BTreeSet<String> = [instance.clone()].into_iter().collect();
        if !gone && actual != expected {
            out.push(drift(tg, "targets", join(&expected), join(&actual)));
        }
    }
    out
}

/// What a group's inbound rules should be, as `PORT from SOURCE`; `None`
/// when the state does not say (no allowed CIDRs recorded).
pub(super) fn expected_ingress(st: &DeploymentState, role: &str) -> Option<BTreeSet<String>> {
    let rule = |port: u16, from: &str| format!("{port} from {from}");
    let set: BTreeSet<String> = match role {
        "instance" => match &st.alb_security_group_id {
            Some(alb) if st.tier().has_load_balancer() => [rule(N8N_PORT, alb)].into(),
            _ => {
                let cidrs = exposure::allowed_cidrs(st);
                if cidrs.is_empty() {
                    return None;
                }
                cidrs.iter().map(|c| rule(N8N_PORT, c)).collect()
            }
        },
        "alb" if st.tier() == Tier::Gpu => [rule(80, PREFIX_LIST)].into(),
        "alb" => {
            if exposure::allowed_cidrs(st).is_empty() {
                return None;
            }
            exposure::exposure(st)
                .into_iter()
                .filter(|row| row.listener == "load balancer")
                .flat_map(|row| {
                    let port = row.port;
                    row.from.into_iter().map(move |from| rule(port, &from))
                })
                .collect()
        }
        _ => [rule(NFS, st.security_group_id.as_deref()?)].into(),
    };
    Some(set)
}

/// A prefix list is compared as "the CloudFront prefix list".
fn normalized(rule: &str) -> String {
    match rule.split_once(" from pl-") {
        Some((port, _)) => format!("{port} from {PREFIX_LIST}"),
        None => rule.to_string(),
    }
}

fn join(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        return "(none)".to_string();
    }
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}
