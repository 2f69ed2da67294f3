//! Every resource is tagged `Stack=<name>` and `geusemaker:managed=true`; a
//! re-run finds what exists by these tags before creating anything.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};

pub const STACK: &str = "Stack";
pub const MANAGED: &str = "geusemaker:managed";

pub fn pairs(stack: &str, name: &str) -> [(&'static str, String); 3] {
    [
        (STACK, stack.to_string()),
        (MANAGED, "true".to_string()),
        ("Name", name.to_string()),
    ]
}

pub fn ec2_spec(kind: ResourceType, stack: &str, name: &str) -> TagSpecification {
    let tags = pairs(stack, name)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build());
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(tags.collect()))
        .build()
}

pub fn filter(name: &str, value: impl Into<String>) -> Filter {
    Filter::builder().name(name).values(value).build()
}

pub fn stack_filter(stack: &str) -> Filter {
    filter(&format!("tag:{STACK}"), stack)
}

/// IAM names are at most 64 characters: long stack names are shortened with
/// a hash, so the name stays unique and stable.
pub fn iam_name(stack: &str, suffix: &str) -> String {
    let full = format!("{stack}-{suffix}");
    if full.len() <= 64 {
        return full;
    }
    let hash = full.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let keep = 64 - 9 - suffix.len() - 1;
    format!("{}-{:08x}-{suffix}", &stack[..keep], hash as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_names_fit_in_64_characters() {
        assert_eq!(iam_name("demo", "geusemaker"), "demo-geusemaker");
        let long = "a".repeat(64);
        let name = iam_name(&long, "geusemaker");
        assert!(name.len() <= 64, "{name}");
        assert_eq!(name, iam_name(&long, "geusemaker"), "stable");
        assert_ne!(name, iam_name(&format!("{}b", &long[..63]), "geusemaker"));
    }
}
