//! `assets/images.toml`: each service's pinned image tag and the newer tags
//! known to work, and the rules an upgrade between them obeys. PostgreSQL
//! stays on its major version (a major needs `pg_upgrade`), Qdrant moves
//! one minor version at a time (its storage is migrated one minor at a
//! time), and an n8n major version names its breaking changes.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use super::service::Service;

const CATALOGUE: &str = include_str!("../../assets/images.toml");

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceImages {
    /// The repository, `n8nio/n8n`.
    pub image: String,
    /// What a new stack runs.
    pub pinned: String,
    /// The pinned tag's release notes.
    pub notes: String,
    /// Newer tags that passed the acceptance script, oldest first.
    #[serde(default)]
    pub tested: Vec<TestedTag>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TestedTag {
    pub tag: String,
    /// Its release notes.
    pub notes: String,
    /// What breaks on the way to it (an n8n major must say).
    #[serde(default)]
    pub breaking: Option<String>,
}

/// Every service's images, by service name.
pub type Catalogue = BTreeMap<String, ServiceImages>;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ImagesError {
    #[error("assets/images.toml does not parse: {0}")]
    Parse(String),
    #[error("assets/images.toml: {0}")]
    Rule(String),
}

/// The catalogue this build ships, checked against the rules.
pub fn shipped() -> Result<Catalogue, ImagesError> {
    let catalogue = parse(CATALOGUE)?;
    check(&catalogue)?;
    Ok(catalogue)
}

pub fn parse(text: &str) -> Result<Catalogue, ImagesError> {
    basic_toml::from_str(text).map_err(|e| ImagesError::Parse(e.to_string()))
}

/// A tag's version: `v1.12.4` and `16.4-alpine` are 1.12.4 and 16.4.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    pub fn of_tag(tag: &str) -> Option<Version> {
        let bare = tag.strip_prefix('v').unwrap_or(tag);
        let numbers = bare.split('-').next()?;
        let mut parts = numbers.split('.').map(str::parse::<u32>);
        let major = parts.next()?.ok()?;
        let minor = parts.next().unwrap_or(Ok(0)).ok()?;
        let patch = parts.next().unwrap_or(Ok(0)).ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Version {
            major,
            minor,
            patch,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Whether going from `from` to `to` is allowed for `service`, and if not,
/// why.
pub fn step_allowed(service: Service, from: Version, to: Version) -> Result<(), String> {
    let name = service.name();
    if to <= from {
        return Err(format!("{name} {to} is not newer than {from}"));
    }
    match service {
        Service::Postgres if to.major != from.major => Err(format!(
            "postgres {from} → {to} changes the major version, which needs pg_upgrade; \
             only {}.x is allowed",
            from.major
        )),
        Service::Qdrant if to.major != from.major || to.minor > from.minor + 1 => Err(format!(
            "qdrant moves one minor version at a time: {from} → {to} skips one; \
             go to {}.{}.x first",
            from.major,
            from.minor + 1
        )),
        _ => Ok(()),
    }
}

/// Whether an n8n upgrade crosses a minor or major version, so a `pg_dump`
/// comes first (its migrations may leave a database the old one cannot read).
pub fn needs_database_dump(service: Service, from: Version, to: Version) -> bool {
    service == Service::N8n && (to.major, to.minor) != (from.major, from.minor)
}

/// The shipped rules over a whole catalogue: every service is listed, its
/// pinned tag is the compose file's, each tested tag links its notes and
/// is one allowed step from the one before, and an n8n major says what
/// breaks.
pub fn check(catalogue: &Catalogue) -> Result<(), ImagesError> {
    let rule = |text: String| Err(ImagesError::Rule(text));
    for service in Service::ALL {
        let name = service.name();
        let Some(images) = catalogue.get(name) else {
            return rule(format!("{name} is missing"));
        };
        let Some(mut at) = Version::of_tag(&images.pinned) else {
            return rule(format!(
                "{name}'s pinned tag {} has no version",
                images.pinned
            ));
        };
        if !images.notes.starts_with("https://") {
            return rule(format!(
                "{name} {}: notes must be an https link",
                images.pinned
            ));
        }
        for tested in &images.tested {
            let Some(to) = Version::of_tag(&tested.tag) else {
                return rule(format!("{name}'s tag {} has no version", tested.tag));
            };
            if !tested.notes.starts_with("https://") {
                return rule(format!(
                    "{name} {}: notes must be an https link",
                    tested.tag
                ));
            }
            if let Err(why) = step_allowed(service, at, to) {
                return rule(why);
            }
            if service == Service::N8n
                && to.major != at.major
                && tested
                    .breaking
                    .as_deref()
                    .is_none_or(|b| b.trim().is_empty())
            {
                return rule(format!(
                    "n8n {} is a major version: `breaking` must say what changes",
                    tested.tag
                ));
            }
            at = to;
        }
    }
    if let Some(extra) = catalogue
        .keys()
        .find(|k| !Service::ALL.iter().any(|s| s.name() == k.as_str()))
    {
        return rule(format!("{extra} is not a service of the stack"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(tag: &str) -> Version {
        Version::of_tag(tag).expect(tag)
    }

    const GOOD: &str = r#"
[n8n]
image = "n8nio/n8n"
pinned = "1.81.4"
notes = "https://example.com/n8n-1.81.4"
[[n8n.tested]]
tag = "1.91.3"
notes = "https://example.com/n8n-1.91.3"
[[n8n.tested]]
tag = "2.0.1"
notes = "https://example.com/n8n-2.0.1"
breaking = "Task runners on by default"

[ollama]
image = "ollama/ollama"
pinned = "0.5.7"
notes = "https://example.com/ollama"

[qdrant]
image = "qdrant/qdrant"
pinned = "v1.12.4"
notes = "https://example.com/qdrant"
[[qdrant.tested]]
tag = "v1.13.6"
notes = "https://example.com/qdrant-1.13.6"
[[qdrant.tested]]
tag = "v1.14.1"
notes = "https://example.com/qdrant-1.14.1"

[crawl4ai]
image = "unclecode/crawl4ai"
pinned = "0.6.3"
notes = "https://example.com/crawl4ai"

[postgres]
image = "postgres"
pinned = "16.4-alpine"
notes = "https://example.com/pg"
[[postgres.tested]]
tag = "16.8-alpine"
notes = "https://example.com/pg-16.8"
"#;

    fn broken(from: &str, to: &str) -> String {
        match check(&parse(&GOOD.replace(from, to)).expect("parses")) {
            Err(ImagesError::Rule(why)) => why,
            other => panic!("{from} → {to} passed: {other:?}"),
        }
    }

    #[test]
    fn the_shipped_file_parses_obeys_the_rules_and_pins_what_compose_runs() {
        let catalogue = shipped().expect("assets/images.toml");
        for service in Service::ALL {
            let images = &catalogue[service.name()];
            assert_eq!(
                crate::instance::user_data::pinned_image(service),
                Some(format!("{}:{}", images.image, images.pinned).as_str()),
                "images.toml and docker-compose.yml pin the same {service:?}"
            );
        }
    }

    #[test]
    fn tags_read_as_versions_whatever_their_prefix_or_suffix() {
        assert_eq!(v("v1.12.4"), v("1.12.4"));
        assert_eq!(v("16.4-alpine").to_string(), "16.4.0");
        assert_eq!(v("17"), v("17.0.0"));
        assert_eq!(Version::of_tag("latest"), None);
        assert_eq!(Version::of_tag("1.2.3.4"), None);
        assert!(v("1.100.0") > v("1.99.9"), "numbers, not text");
    }

    #[test]
    fn a_catalogue_that_keeps_the_rules_passes() {
        assert_eq!(check(&parse(GOOD).unwrap()), Ok(()));
    }

    #[test]
    fn postgres_may_not_change_its_major_version() {
        let why = broken("16.8-alpine", "17.2-alpine");
        assert!(why.contains("pg_upgrade"), "{why}");
    }

    #[test]
    fn qdrant_may_not_skip_a_minor_version() {
        let why = broken("v1.13.6", "v1.15.0");
        assert!(why.contains("one minor version at a time"), "{why}");
        assert!(
            step_allowed(Service::Qdrant, v("v1.12.4"), v("v1.13.0")).is_ok(),
            "the next minor is one step"
        );
    }

    #[test]
    fn an_n8n_major_without_its_breaking_changes_is_refused() {
        let why = broken("breaking = \"Task runners on by default\"", "");
        assert!(why.contains("breaking"), "{why}");
    }

    #[test]
    fn tags_go_forward_link_https_and_name_only_the_stacks_services() {
        assert!(broken("\"1.91.3\"", "\"1.80.0\"").contains("not newer"));
        assert!(broken("https://example.com/n8n-1.91.3", "http://x").contains("https"));
        assert!(broken("[crawl4ai]", "[crawler]").contains("crawl4ai is missing"));
        assert!(matches!(
            parse(&GOOD.replace("pinned = \"0.5.7\"", "pinned = \"0.5.7\"\ncolour = 1")),
            Err(ImagesError::Parse(_))
        ));
    }

    #[test]
    fn an_n8n_minor_or_major_is_dumped_first_and_a_patch_is_not() {
        let n8n = Service::N8n;
        assert!(needs_database_dump(n8n, v("1.81.4"), v("1.91.3")));
        assert!(needs_database_dump(n8n, v("1.81.4"), v("2.0.1")));
        assert!(!needs_database_dump(n8n, v("1.81.4"), v("1.81.9")));
        assert!(!needs_database_dump(
            Service::Ollama,
            v("0.5.7"),
            v("0.6.0")
        ));
    }
}
