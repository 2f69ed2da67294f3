//! The sandbox account's VPCs: the same in every process and on every run
//! (ids derive from the region), so the wizard lists what the deploy uses.

use super::world::Subnet;
use crate::cloud::{CloudError, CloudResult, DeployRequest, NetworkChoice, SubnetChoice};

/// The VPCs of `region`: the default one first, then a private one.
pub fn catalogue(region: &str) -> Vec<NetworkChoice> {
    let tag = fnv(region);
    vec![
        NetworkChoice {
            vpc_id: format!("vpc-0{:016x}", tag),
            cidr: "172.31.0.0/16".into(),
            name: None,
            is_default: true,
            subnets: subnets(
                region,
                tag,
                &["172.31.0.0/20", "172.31.16.0/20", "172.31.32.0/20"],
                true,
            ),
        },
        NetworkChoice {
            vpc_id: format!("vpc-0{:016x}", tag.rotate_left(17)),
            cidr: "10.0.0.0/16".into(),
            name: Some("shared-services".into()),
            is_default: false,
            subnets: subnets(
                region,
                tag.rotate_left(17),
                &["10.0.1.0/24", "10.0.2.0/24"],
                false,
            ),
        },
    ]
}

/// What the stack gets when it asks for a VPC of its own.
pub fn own(region: &str, stack: &str) -> NetworkChoice {
    let tag = fnv(&format!("{region}/{stack}"));
    NetworkChoice {
        vpc_id: format!("vpc-0{tag:016x}"),
        cidr: "10.42.0.0/16".into(),
        name: Some(format!("{stack}-vpc")),
        is_default: false,
        subnets: subnets(region, tag, &["10.42.0.0/24", "10.42.1.0/24"], true),
    }
}

fn subnets(region: &str, tag: u64, cidrs: &[&str], public: bool) -> Vec<SubnetChoice> {
    cidrs
        .iter()
        .zip(['a', 'b', 'c'])
        .enumerate()
        .map(|(i, (cidr, zone))| SubnetChoice {
            subnet_id: format!("subnet-0{:016x}", tag.wrapping_add(i as u64 + 1)),
            zone: format!("{region}{zone}"),
            cidr: (*cidr).to_string(),
            public,
        })
        .collect()
}

/// FNV-1a: a stable hash (std's `DefaultHasher` may change between releases).
pub(super) fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The VPC the request asks for (and whether it is the stack's own).
pub(super) fn pick(req: &DeployRequest) -> CloudResult<(NetworkChoice, bool)> {
    if req.options.new_vpc {
        return Ok((own(&req.region, req.stack.as_str()), true));
    }
    let mut found = catalogue(&req.region);
    let at = match &req.options.vpc_id {
        Some(id) => found.iter().position(|n| &n.vpc_id == id).ok_or_else(|| {
            CloudError::Refused(format!(
                "VPC {id} does not exist in {}; check --vpc-id and --region",
                req.region
            ))
        })?,
        None => 0,
    };
    Ok((found.swap_remove(at), false))
}

/// Two of the VPC's subnets, the chosen one first.
pub(super) fn ordered_subnets(
    vpc: &NetworkChoice,
    chosen: Option<&str>,
) -> CloudResult<Vec<Subnet>> {
    let mut subnets: Vec<Subnet> = vpc
        .subnets
        .iter()
        .map(|n| Subnet {
            id: n.subnet_id.clone(),
            zone: n.zone.clone(),
        })
        .collect();
    if let Some(chosen) = chosen {
        let at = subnets.iter().position(|n| n.id == chosen).ok_or_else(|| {
            CloudError::Refused(format!(
                "subnet {chosen} is not in {}; choose another",
                vpc.vpc_id
            ))
        })?;
        subnets[..=at].rotate_right(1);
    }
    // Two zones, as on AWS: the instance's, and one more for capacity and an ALB.
    subnets.truncate(2);
    Ok(subnets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_region_gives_the_same_ids_and_regions_differ() {
        assert_eq!(catalogue("eu-west-1"), catalogue("eu-west-1"));
        assert_ne!(
            catalogue("eu-west-1")[0].vpc_id,
            catalogue("us-east-1")[0].vpc_id
        );
        assert!(catalogue("us-east-1")[0].is_default);
        assert_eq!(catalogue("us-east-1")[0].subnets[2].zone, "us-east-1c");
    }

    #[test]
    fn a_chosen_subnet_comes_first_and_two_zones_are_used() {
        let vpc = &catalogue("eu-west-1")[0];
        let third = vpc.subnets[2].subnet_id.clone();
        let picked = ordered_subnets(vpc, Some(&third)).unwrap();
        assert_eq!(picked.len(), 2);
        assert_eq!(picked[0].id, third);
        assert_ne!(picked[0].zone, picked[1].zone);
        assert_eq!(
            ordered_subnets(vpc, None).unwrap()[0].id,
            vpc.subnets[0].subnet_id
        );
        let why = ordered_subnets(vpc, Some("subnet-0123"))
            .unwrap_err()
            .to_string();
        assert!(
            why.contains("subnet-0123") && why.contains(&vpc.vpc_id),
            "{why}"
        );
    }
}
