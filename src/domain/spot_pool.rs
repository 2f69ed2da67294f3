//! The instance types a spot group may launch: the chosen one and at least
//! two equivalents (the same architecture and accelerator, at least its
//! vCPUs and memory), so one type's spot capacity running out in a zone
//! does not leave the stack down.

/// Families whose same size is an equivalent: the same vCPUs and memory on
/// the same architecture (x86_64 AMD/Intel twins, the next generation).
const SIBLINGS: &[(&str, &[&str])] = &[
    ("t3", &["t3a"]),
    ("t3a", &["t3"]),
    ("m5", &["m5a", "m6i"]),
    ("m5a", &["m5", "m6a"]),
    ("m6i", &["m6a", "m5"]),
    ("m6a", &["m6i", "m5a"]),
    ("m7i", &["m7a", "m6i"]),
    ("c5", &["c5a", "c6i"]),
    ("c6i", &["c6a", "c5"]),
    ("r5", &["r5a", "r6i"]),
    ("r6i", &["r6a", "r5"]),
    ("m6g", &["m7g"]),
    ("m7g", &["m6g"]),
    ("g4dn", &["g5", "g6"]),
    ("g5", &["g6"]),
    ("g6", &["g5"]),
];

/// Sizes in order: a larger size of the same family is always an
/// equivalent (more of everything, the same architecture).
const SIZES: &[&str] = &[
    "nano", "micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge",
    "12xlarge", "16xlarge", "24xlarge", "48xlarge",
];

/// How many types a spot group launches from.
pub const POOL: usize = 3;

/// `instance_type` first, then equivalents: same-size siblings, then the
/// family's next sizes up, `POOL` in all when the family has them.
pub fn spot_pool(instance_type: &str) -> Vec<String> {
    let mut pool = vec![instance_type.to_string()];
    let Some((family, size)) = instance_type.split_once('.') else {
        return pool;
    };
    let siblings = SIBLINGS
        .iter()
        .find(|(f, _)| *f == family)
        .map(|(_, s)| *s)
        .unwrap_or_default();
    pool.extend(siblings.iter().map(|s| format!("{s}.{size}")));
    if let Some(at) = SIZES.iter().position(|s| *s == size) {
        pool.extend(SIZES[at + 1..].iter().map(|s| format!("{family}.{s}")));
    }
    pool.truncate(POOL);
    pool
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pool_has_the_chosen_type_first_and_two_equivalents() {
        assert_eq!(
            spot_pool("t3.medium"),
            ["t3.medium", "t3a.medium", "t3.large"]
        );
        assert_eq!(
            spot_pool("g4dn.xlarge"),
            ["g4dn.xlarge", "g5.xlarge", "g6.xlarge"]
        );
        assert_eq!(
            spot_pool("x2iedn.large"),
            ["x2iedn.large", "x2iedn.xlarge", "x2iedn.2xlarge"]
        );
        assert_eq!(spot_pool("t4g.medium").len(), POOL);
    }

    #[test]
    fn the_largest_size_of_an_unknown_family_stands_alone() {
        assert_eq!(spot_pool("u7i.metal"), ["u7i.metal"]);
    }
}
