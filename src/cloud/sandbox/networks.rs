//! The sandbox account's VPCs: the same in every process and on every run
//! (ids derive from the region), so the wizard lists what the deploy uses.

use crate::cloud::{NetworkChoice, SubnetChoice};

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
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
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
}
