//! A security group's inbound rules made to say exactly what the stack's
//! exposure says: what is missing is authorized, and anything else (an old
//! caller's /32, a port a former version opened) is revoked.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::{IpPermission, IpRange, PrefixListId, UserIdGroupPair};

use super::AwsCloud;
use super::ec2_network::ignore_gone;
use super::errors::api_error;
use super::tags::filter;
use crate::cloud::{CloudError, CloudResult};

/// Who a rule admits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Source {
    Cidr(String),
    Group(String),
    PrefixList(String),
}

/// One inbound TCP port from one source: how rules are compared.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Ingress {
    pub port: i32,
    pub source: Source,
}

impl Ingress {
    pub fn new(port: u16, source: Source) -> Self {
        Self {
            port: i32::from(port),
            source,
        }
    }

    fn permission(&self, description: &str) -> IpPermission {
        let rule = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(self.port)
            .to_port(self.port);
        let rule = match &self.source {
            Source::Cidr(cidr) => rule.ip_ranges(
                IpRange::builder()
                    .cidr_ip(cidr)
                    .description(description)
                    .build(),
            ),
            Source::Group(group) => rule.user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(group)
                    .description(description)
                    .build(),
            ),
            Source::PrefixList(list) => rule.prefix_list_ids(
                PrefixListId::builder()
                    .prefix_list_id(list)
                    .description(description)
                    .build(),
            ),
        };
        rule.build()
    }
}

/// Each (port, source) of a described rule, with the rule part that revokes
/// exactly it (moto matches descriptions too, so it is sent as described).
fn described(rule: &IpPermission) -> Vec<(Ingress, IpPermission)> {
    let (Some(from), Some(to)) = (rule.from_port(), rule.to_port()) else {
        return Vec::new();
    };
    let base = || {
        IpPermission::builder()
            .set_ip_protocol(rule.ip_protocol().map(str::to_string))
            .from_port(from)
            .to_port(to)
    };
    // A range or another protocol is never ours: keep it out of the key by
    // giving it a port no exposure uses, so it is revoked.
    let port = if from == to && rule.ip_protocol() == Some("tcp") {
        from
    } else {
        -1
    };
    let mut out = Vec::new();
    for range in rule.ip_ranges() {
        let source = Source::Cidr(range.cidr_ip().unwrap_or_default().to_string());
        out.push((
            Ingress { port, source },
            base().ip_ranges(range.clone()).build(),
        ));
    }
    for pair in rule.user_id_group_pairs() {
        let source = Source::Group(pair.group_id().unwrap_or_default().to_string());
        out.push((
            Ingress { port, source },
            base().user_id_group_pairs(pair.clone()).build(),
        ));
    }
    for list in rule.prefix_list_ids() {
        let source = Source::PrefixList(list.prefix_list_id().unwrap_or_default().to_string());
        out.push((
            Ingress { port, source },
            base().prefix_list_ids(list.clone()).build(),
        ));
    }
    for range in rule.ipv6_ranges() {
        let source = Source::Cidr(range.cidr_ipv6().unwrap_or_default().to_string());
        out.push((
            Ingress { port: -1, source },
            base().ipv6_ranges(range.clone()).build(),
        ));
    }
    out
}

/// A group's inbound rules as `scan` compares them: `PORT from SOURCE`
/// (`other from SOURCE` for a range or another protocol).
pub(super) fn rule_texts(rules: &[IpPermission]) -> Vec<String> {
    rules
        .iter()
        .flat_map(described)
        .map(|(i, _)| {
            let port = if i.port < 0 {
                "other".to_string()
            } else {
                i.port.to_string()
            };
            let (Source::Cidr(from) | Source::Group(from) | Source::PrefixList(from)) = i.source;
            format!("{port} from {from}")
        })
        .collect()
}

impl AwsCloud {
    /// Make `group`'s inbound rules exactly `wanted`. Returns how many rules
    /// were added and revoked.
    pub(super) async fn reconcile_ingress(
        &self,
        group: &str,
        wanted: &[Ingress],
        description: &str,
    ) -> CloudResult<(usize, usize)> {
        let found = self
            .settled("DescribeSecurityGroups", || {
                self.ec2.describe_security_groups().group_ids(group).send()
            })
            .await?;
        let existing: Vec<(Ingress, IpPermission)> = found
            .security_groups()
            .iter()
            .flat_map(|g| g.ip_permissions())
            .flat_map(described)
            .collect();
        let have: BTreeSet<&Ingress> = existing.iter().map(|(i, _)| i).collect();
        let stale: Vec<IpPermission> = existing
            .iter()
            .filter(|(i, _)| !wanted.contains(i))
            .map(|(_, p)| p.clone())
            .collect();
        let missing: Vec<IpPermission> = wanted
            .iter()
            .filter(|i| !have.contains(i))
            .map(|i| i.permission(description))
            .collect();
        let counts = (missing.len(), stale.len());
        // Revoke first: the group's rule quota counts what is already there.
        if !stale.is_empty() {
            let result = self
                .ec2
                .revoke_security_group_ingress()
                .group_id(group)
                .set_ip_permissions(Some(stale))
                .send()
                .await
                .map_err(|e| api_error("RevokeSecurityGroupIngress", e));
            ignore_gone(result.map(|_| ()))?;
        }
        self.authorize(group, missing).await?;
        Ok(counts)
    }

    /// The id of an AWS-managed prefix list, by name (CloudFront's origin-facing one).
    pub(super) async fn managed_prefix_list(&self, name: &str) -> CloudResult<String> {
        let found = self
            .ec2
            .describe_managed_prefix_lists()
            .filters(filter("prefix-list-name", name))
            .send()
            .await
            .map_err(|e| api_error("DescribeManagedPrefixLists", e))?;
        found
            .prefix_lists()
            .iter()
            .find(|l| l.prefix_list_name() == Some(name))
            .and_then(|l| l.prefix_list_id())
            .map(str::to_string)
            .ok_or_else(|| {
                CloudError::Refused(format!(
                    "the managed prefix list {name} is not in this region; \
                     the gpu tier admits only CloudFront through it"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_source_of_a_described_rule_is_its_own_key() {
        let rule = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(5678)
            .to_port(5678)
            .ip_ranges(IpRange::builder().cidr_ip("198.51.100.7/32").build())
            .ip_ranges(IpRange::builder().cidr_ip("203.0.113.0/24").build())
            .user_id_group_pairs(UserIdGroupPair::builder().group_id("sg-1").build())
            .build();
        let keys: Vec<Ingress> = described(&rule).into_iter().map(|(i, _)| i).collect();
        assert_eq!(
            keys,
            [
                Ingress::new(5678, Source::Cidr("198.51.100.7/32".into())),
                Ingress::new(5678, Source::Cidr("203.0.113.0/24".into())),
                Ingress::new(5678, Source::Group("sg-1".into())),
            ]
        );
        let range = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(0)
            .to_port(65535)
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        assert_eq!(described(&range)[0].0.port, -1, "a range is never wanted");
    }
}
