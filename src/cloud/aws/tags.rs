//! Every resource is tagged `Stack=<name>`, `geusemaker:managed=true` and
//! `geusemaker:installation=<id>`; a re-run finds what exists by the first
//! two before creating anything, and `scan` tells whose it is by the third.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};

pub const STACK: &str = "Stack";
pub const MANAGED: &str = "geusemaker:managed";

/// Which installation (state directory) made the resource.
pub const INSTALLATION: &str = "geusemaker:installation";

static CURRENT_INSTALLATION: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// This process's installation id, tagged on everything it creates; set
/// once, as the state directory is opened. A process that never sets it
/// (a library user, a test) tags without it.
pub fn set_installation(id: &str) {
    let _ = CURRENT_INSTALLATION.set(id.to_string());
}

pub fn installation() -> Option<&'static str> {
    CURRENT_INSTALLATION.get().map(String::as_str)
}

pub fn pairs(stack: &str, name: &str) -> Vec<(&'static str, String)> {
    let mut tags = vec![
        (STACK, stack.to_string()),
        (MANAGED, "true".to_string()),
        ("Name", name.to_string()),
    ];
    if let Some(id) = installation() {
        tags.push((INSTALLATION, id.to_string()));
    }
    tags
}

pub fn ec2_spec(kind: ResourceType, stack: &str, name: &str) -> TagSpecification {
    ec2_spec_with(kind, stack, name, &[])
}

/// The stack's tags and `extra` ones besides.
pub fn ec2_spec_with(
    kind: ResourceType,
    stack: &str,
    name: &str,
    extra: &[(&'static str, &str)],
) -> TagSpecification {
    let extra = extra.iter().map(|(k, v)| (*k, v.to_string()));
    let tags = pairs(stack, name)
        .into_iter()
        .chain(extra)
        .map(|(k, v)| Tag::builder().key(k).value(v).build());
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(tags.collect()))
        .build()
}

pub fn filter(name: &str, value: impl Into<String>) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// What finds the stack's own resources: its name tag and the managed tag.
/// A resource tagged `Stack=<name>` by someone else is never adopted.
pub fn ours(stack: &str) -> Vec<Filter> {
    vec![
        filter(&format!("tag:{STACK}"), stack),
        filter(&format!("tag:{MANAGED}"), "true"),
    ]
}

/// Whether ELB-style tags carry the managed tag.
pub fn is_managed<'a>(mut tags: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
    tags.any(|(k, v)| k == MANAGED && v == "true")
}

/// `<stack>-<suffix>` within `limit` characters: a long stack name is
/// shortened with a hash of the whole, so the name stays unique and stable.
pub fn short_name(stack: &str, suffix: &str, limit: usize) -> String {
    let full = format!("{stack}-{suffix}");
    if full.len() <= limit {
        return full;
    }
    let keep = limit.saturating_sub(9 + suffix.len() + 1);
    let head = stack[..keep.min(stack.len())].trim_end_matches('-');
    format!("{head}-{:08x}-{suffix}", short_hash(&full))
}

pub use crate::domain::hash::short_hash;

/// IAM role and profile names: at most 64 characters.
pub fn iam_name(stack: &str, suffix: &str) -> String {
    short_name(stack, suffix, 64)
}

/// Load balancer and target group names: at most 32 characters.
pub fn elb_name(stack: &str, suffix: &str) -> String {
    short_name(stack, suffix, 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elb_names_fit_in_32_characters() {
        assert_eq!(elb_name("demo", "alb"), "demo-alb");
        let name = elb_name(&"b".repeat(40), "n8n");
        assert!(name.len() <= 32 && !name.contains("--"), "{name}");
    }

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
