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

/// A stack's image tags that differ from the pinned ones, by service name
/// (its `config.images`): empty runs what this build pins.
pub type ImageTags = BTreeMap<String, String>;

/// What `update --images` asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum ImageAsk {
    /// Each service to its newest tested tag the rules allow.
    Tested,
    /// These services to these tags.
    Tags(Vec<(Service, String)>),
}

impl ImageAsk {
    /// `tested`, or `SERVICE=TAG` words.
    pub fn parse(words: &[String]) -> Result<ImageAsk, String> {
        if let [one] = words
            && one == "tested"
        {
            return Ok(ImageAsk::Tested);
        }
        let mut tags = Vec::new();
        for word in words {
            let Some((name, tag)) = word.split_once('=') else {
                return Err(format!(
                    "--images takes `tested` or SERVICE=TAG (n8n=1.91.3), not {word:?}"
                ));
            };
            let service: Service = name.parse().map_err(|_| {
                format!(
                    "--images {word}: {name:?} is not a service of the stack ({})",
                    Service::ALL.map(Service::name).join(", ")
                )
            })?;
            check_tag(tag).map_err(|why| format!("--images {word}: {why}"))?;
            if tags.iter().any(|(s, _)| *s == service) {
                return Err(format!("--images names {name} twice"));
            }
            tags.push((service, tag.to_string()));
        }
        Ok(ImageAsk::Tags(tags))
    }
}

/// A Docker tag: letters, digits, `_`, `.` and `-`, not starting with `.`
/// or `-`, at most 128 (Docker's own rule), and a version to check steps by.
fn check_tag(tag: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if tag.is_empty() || tag.len() > 128 || tag.starts_with(['.', '-']) || !tag.chars().all(allowed)
    {
        return Err(format!("{tag:?} is not a Docker image tag"));
    }
    if Version::of_tag(tag).is_none() {
        return Err(format!(
            "{tag:?} has no version to check the upgrade rules by; give a version tag, not a moving one"
        ));
    }
    Ok(())
}

/// One service's move from the tag it runs to another.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ImageStep {
    pub service: Service,
    /// `repository:tag` it runs now, and after.
    pub from: String,
    pub to: String,
    /// The new tag's release notes, when the catalogue lists it.
    pub notes: Option<String>,
    /// What breaks on the way (an n8n major).
    pub breaking: Option<String>,
    /// Whether the acceptance script passed on it.
    pub tested: bool,
    /// A `pg_dump` to the EFS first (an n8n minor or major).
    pub database_dump: bool,
}

/// The tag `service` runs with `tags` on a stack.
pub fn running_tag<'a>(catalogue: &'a Catalogue, tags: &'a ImageTags, service: Service) -> &'a str {
    tags.get(service.name())
        .or_else(|| catalogue.get(service.name()).map(|i| &i.pinned))
        .map_or("", String::as_str)
}

/// The stack's tags after `ask`, from its `tags`, each move checked
/// against the rules. A service already on the tag asked does not move.
pub fn resolve(
    catalogue: &Catalogue,
    tags: &ImageTags,
    ask: &ImageAsk,
) -> Result<ImageTags, String> {
    let wanted: Vec<(Service, String)> = match ask {
        ImageAsk::Tags(tags) => tags.clone(),
        ImageAsk::Tested => Service::ALL
            .into_iter()
            .filter_map(|s| newest_allowed(catalogue, tags, s).map(|t| (s, t)))
            .collect(),
    };
    let mut after = tags.clone();
    for (service, to) in wanted {
        let from = running_tag(catalogue, tags, service);
        if from == to {
            continue;
        }
        let (Some(at), Some(next)) = (Version::of_tag(from), Version::of_tag(&to)) else {
            return Err(format!(
                "{} {from} → {to}: a tag has no version",
                service.name()
            ));
        };
        step_allowed(service, at, next)?;
        if catalogue
            .get(service.name())
            .is_some_and(|i| i.pinned == to)
        {
            after.remove(service.name());
        } else {
            after.insert(service.name().to_string(), to);
        }
    }
    Ok(after)
}

/// What moves from `before` to `after`, service by service.
pub fn steps_between(
    catalogue: &Catalogue,
    before: &ImageTags,
    after: &ImageTags,
) -> Vec<ImageStep> {
    Service::ALL
        .into_iter()
        .filter_map(|service| {
            let images = catalogue.get(service.name())?;
            let from = running_tag(catalogue, before, service);
            let to = running_tag(catalogue, after, service);
            if from == to {
                return None;
            }
            let listed = images.tested.iter().find(|t| t.tag == to);
            let dump = match (Version::of_tag(from), Version::of_tag(to)) {
                (Some(a), Some(b)) => needs_database_dump(service, a, b),
                // No version to compare by: dump, to be safe.
                _ => service == Service::N8n,
            };
            Some(ImageStep {
                service,
                from: format!("{}:{from}", images.image),
                to: format!("{}:{to}", images.image),
                notes: listed.map(|t| t.notes.clone()),
                breaking: listed.and_then(|t| t.breaking.clone()),
                tested: listed.is_some(),
                database_dump: dump,
            })
        })
        .collect()
}

/// The newest tested tag of `service` one allowed step from what it runs.
fn newest_allowed(catalogue: &Catalogue, tags: &ImageTags, service: Service) -> Option<String> {
    let from = Version::of_tag(running_tag(catalogue, tags, service))?;
    catalogue
        .get(service.name())?
        .tested
        .iter()
        .filter(|t| {
            Version::of_tag(&t.tag).is_some_and(|to| step_allowed(service, from, to).is_ok())
        })
        .max_by_key(|t| Version::of_tag(&t.tag))
        .map(|t| t.tag.clone())
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

    fn good() -> Catalogue {
        parse(GOOD).unwrap()
    }

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tested_moves_each_service_to_its_newest_allowed_tag_one_qdrant_minor_at_a_time() {
        let none = ImageTags::new();
        let after = resolve(&good(), &none, &ImageAsk::Tested).unwrap();
        let steps = steps_between(&good(), &none, &after);
        let moved: Vec<_> = steps.iter().map(|s| s.to.as_str()).collect();
        assert_eq!(
            moved,
            [
                "n8nio/n8n:2.0.1",
                "qdrant/qdrant:v1.13.6",
                "postgres:16.8-alpine"
            ]
        );
        assert_eq!(steps[0].from, "n8nio/n8n:1.81.4");
        assert!(steps[0].database_dump && steps[0].tested);
        assert_eq!(
            steps[0].breaking.as_deref(),
            Some("Task runners on by default")
        );
        assert!(!steps[1].database_dump, "only n8n's database is dumped");
        // Run again from there: Qdrant takes its next minor, the rest stay.
        let again = resolve(&good(), &after, &ImageAsk::Tested).unwrap();
        assert_eq!(steps_between(&good(), &after, &again).len(), 1);
        assert_eq!(again["qdrant"], "v1.14.1");
        let last = resolve(&good(), &again, &ImageAsk::Tested).unwrap();
        assert_eq!(last, again, "newest tested everywhere");
    }

    #[test]
    fn a_named_tag_obeys_the_rules_and_says_whether_it_was_tested() {
        let ask = ImageAsk::parse(&words(&["n8n=1.81.9", "postgres=16.6-alpine"])).unwrap();
        let after = resolve(&good(), &ImageTags::new(), &ask).unwrap();
        let steps = steps_between(&good(), &ImageTags::new(), &after);
        assert!(steps.iter().all(|s| !s.tested && s.notes.is_none()));
        assert!(!steps[0].database_dump, "a patch needs no dump");
        assert_eq!(after["n8n"], "1.81.9");
        let refused = |w: &str| {
            let ask = ImageAsk::parse(&words(&[w])).unwrap();
            resolve(&good(), &ImageTags::new(), &ask).unwrap_err()
        };
        assert!(refused("postgres=17.2-alpine").contains("pg_upgrade"));
        assert!(refused("qdrant=v1.14.1").contains("one minor version at a time"));
        assert!(refused("n8n=1.80.0").contains("not newer"));
        // Asking for what runs moves nothing.
        let ask = ImageAsk::parse(&words(&["n8n=1.81.9"])).unwrap();
        assert_eq!(resolve(&good(), &after, &ask).unwrap(), after);
    }

    #[test]
    fn bad_image_words_are_refused_with_what_to_give() {
        let why = |w: &[&str]| ImageAsk::parse(&words(w)).unwrap_err();
        assert!(why(&["n8n"]).contains("SERVICE=TAG"));
        assert!(why(&["redis=7"]).contains("not a service"));
        assert!(why(&["n8n=latest"]).contains("no version"));
        assert!(why(&["n8n=1.2;rm"]).contains("not a Docker image tag"));
        assert!(why(&["n8n=1.9", "n8n=1.10"]).contains("twice"));
        assert_eq!(ImageAsk::parse(&words(&["tested"])), Ok(ImageAsk::Tested));
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
