//! The `:` palette's commands, drawn from the keymap (so the palette, the
//! footer and the help cannot disagree), each with the arguments it takes:
//! a stack, a service, a theme or a region. Matching is fuzzy.

use super::keymap::{self, Action, Scope};
use super::model::Model;
use crate::domain::Service;
use crate::domain::settings::ColorTheme;

/// Commands from the history shown before the rest, and kept.
pub const HISTORY_KEPT: usize = 20;

/// One line the palette offers.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// What Enter runs, e.g. "destroy demo".
    pub text: String,
    pub help: String,
    /// The action's keys, as the help shows them ("" for palette-only ones).
    pub keys: String,
    /// Run before, from the history.
    pub recent: bool,
}

/// What a command line means.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// An action, on this stack first if one is named.
    Action(Action, Option<String>),
    Select(String),
    Theme(ColorTheme),
    Region(String),
    Compact,
}

/// Actions that act on one stack take its name.
fn takes_stack(action: Action) -> bool {
    matches!(
        action,
        Action::Destroy
            | Action::Update
            | Action::Rollback
            | Action::Connect
            | Action::Exposure
            | Action::Events
            | Action::Models
            | Action::Shell
            | Action::CopySecret
            | Action::Open
            | Action::Faults
    )
}

/// Bindings the palette does not offer: moving about, and itself. The
/// number keys are offered as `logs SERVICE`.
fn offered(model: &Model, action: Action) -> bool {
    let moving = matches!(
        action,
        Action::Up
            | Action::Down
            | Action::Top
            | Action::Bottom
            | Action::PageUp
            | Action::PageDown
            | Action::Back
            | Action::Palette
            | Action::ShowService(_)
    );
    let refused = model.readonly && action.mutates();
    let needs_sandbox = action == Action::Faults && !model.is_sandbox();
    !(moving || refused || needs_sandbox)
}

/// Everything the palette can run now, history first.
pub fn candidates(model: &Model) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = model
        .palette_history
        .iter()
        .rev()
        .map(|text| Candidate {
            text: text.clone(),
            help: "run before".into(),
            keys: String::new(),
            recent: true,
        })
        .collect();
    let stacks: Vec<&str> = model.stacks.iter().map(|s| s.stack_name.as_str()).collect();
    for b in model.keymap.iter().filter(|b| offered(model, b.action)) {
        let keys = keymap::labels(b);
        let mut push = |text: String| {
            out.push(Candidate {
                text,
                help: b.help.to_string(),
                keys: keys.clone(),
                recent: false,
            })
        };
        push(b.action.name().to_string());
        if takes_stack(b.action) {
            for stack in &stacks {
                push(format!("{} {stack}", b.action.name()));
            }
        }
    }
    let extra = |text: String, help: &str| Candidate {
        text,
        help: help.to_string(),
        keys: String::new(),
        recent: false,
    };
    for stack in &stacks {
        out.push(extra(format!("select {stack}"), "Select this stack"));
    }
    out.push(extra("logs all".into(), "The Logs pane, every service"));
    for s in Service::ALL {
        out.push(extra(
            format!("logs {}", s.name()),
            "The Logs pane, one service",
        ));
    }
    for t in ColorTheme::NAMED {
        out.push(extra(
            format!("theme {}", t.name()),
            "Colours for this session",
        ));
    }
    out.push(extra(
        "compact".into(),
        "Fewer borders, more rows (or back)",
    ));
    for (region, _) in crate::domain::regions::REGIONS {
        out.push(extra(
            format!("region {region}"),
            "Where new stacks deploy (each stack keeps its own)",
        ));
    }
    out
}

/// The candidates that match `query`, best first. An empty query lists
/// the history, then every command, in order.
pub fn matches(model: &Model, query: &str) -> Vec<Candidate> {
    let all = candidates(model);
    let query = query.trim().to_lowercase();
    if query.is_empty() {
        return all;
    }
    let mut scored: Vec<(i32, usize, Candidate)> = all
        .into_iter()
        .filter(|c| !c.recent)
        .enumerate()
        .filter_map(|(i, c)| score(&query, &c.text).map(|s| (s, i, c)))
        .collect();
    scored.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(a.2.text.len().cmp(&b.2.text.len()))
            .then(a.1.cmp(&b.1))
    });
    scored.into_iter().map(|(_, _, c)| c).collect()
}

/// A subsequence match, scored: letters in a row and at word starts count
/// most, and a prefix most of all. `None`: not every letter is there.
pub fn score(query: &str, text: &str) -> Option<i32> {
    let text: Vec<char> = text.to_lowercase().chars().collect();
    let mut at = 0;
    let mut total = 0;
    let mut previous: Option<usize> = None;
    for q in query.chars() {
        let found = (at..text.len()).find(|&i| text[i] == q)?;
        total += 10;
        if previous.is_some_and(|p| p + 1 == found) {
            total += 15;
        }
        if found == 0 || matches!(text[found - 1], ' ' | '-') {
            total += 10;
        }
        total -= (found - at) as i32;
        previous = Some(found);
        at = found + 1;
    }
    let query: Vec<char> = query.chars().collect();
    if text.starts_with(&query) {
        total += 20;
    }
    Some(total)
}

/// What `line` asks for, or a sentence on why it means nothing.
pub fn parse(model: &Model, line: &str) -> Result<Command, String> {
    let mut words = line.split_whitespace();
    let name = words.next().ok_or("type a command; Esc closes")?;
    let arg = words.next().map(str::to_string);
    if let Some(extra) = words.next() {
        return Err(format!(
            "{name} takes one argument at most, not \"{extra}\""
        ));
    }
    let need = |what: &str| arg.clone().ok_or_else(|| format!("{name} needs {what}"));
    match name {
        "select" => stack_named(model, &need("a stack")?).map(Command::Select),
        "theme" => {
            let text = need("a theme: dark, light, high-contrast, color-blind, no-color")?;
            ColorTheme::parse(&text)
                .filter(|t| *t != ColorTheme::Auto)
                .map(Command::Theme)
                .ok_or_else(|| {
                    format!(
                        "no theme \"{text}\": dark, light, high-contrast, color-blind, no-color"
                    )
                })
        }
        "region" => {
            let region = need("a region, e.g. eu-west-1")?;
            let known = crate::domain::regions::REGIONS
                .iter()
                .any(|(r, _)| *r == region);
            if known {
                Ok(Command::Region(region))
            } else {
                Err(format!("{region} is not a region this product deploys to"))
            }
        }
        "compact" => Ok(Command::Compact),
        // The CLI's word for it.
        "scan" => action_command(model, Action::Orphans.name(), arg),
        "logs" => {
            let which = arg.as_deref().unwrap_or("all");
            let service = match which {
                "all" => None,
                s => Some(
                    Service::ALL
                        .into_iter()
                        .find(|x| x.name() == s)
                        .ok_or_else(|| {
                            format!(
                                "no service \"{s}\": all, n8n, ollama, qdrant, crawl4ai, postgres"
                            )
                        })?,
                ),
            };
            Ok(Command::Action(Action::ShowService(service), None))
        }
        _ => action_command(model, name, arg),
    }
}

fn action_command(model: &Model, name: &str, arg: Option<String>) -> Result<Command, String> {
    let binding = model
        .keymap
        .iter()
        .find(|b| b.action.name() == name && offered_or_refused(b.action))
        .ok_or_else(|| format!("no command \"{name}\"; Tab lists them"))?;
    let stack = match arg {
        Some(a) if takes_stack(binding.action) => Some(stack_named(model, &a)?),
        Some(a) => return Err(format!("{name} takes no argument, not \"{a}\"")),
        None => None,
    };
    Ok(Command::Action(binding.action, stack))
}

/// A command typed out in full is parsed even where it is not offered
/// (read-only), so that running it can say why not.
fn offered_or_refused(action: Action) -> bool {
    !matches!(action, Action::Palette | Action::ShowService(_))
}

fn stack_named(model: &Model, name: &str) -> Result<String, String> {
    model
        .stacks
        .iter()
        .find(|s| s.stack_name == name)
        .map(|s| s.stack_name.clone())
        .ok_or_else(|| format!("no stack named \"{name}\""))
}

/// The pane an action belongs to, if only one.
pub fn pane_of(model: &Model, action: Action) -> Option<super::model::Pane> {
    match model.keymap.get(action)?.scope {
        Scope::Pane(p) => Some(p),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DeploymentState, Provider, Tier, Timestamp};

    fn model() -> Model {
        let now = Timestamp::from_unix_millis(1_700_000_000_000);
        let mut m = Model::new(Provider::Sandbox, "us-east-1".into(), now);
        for name in ["demo", "prod"] {
            m.stacks.push(DeploymentState::new(
                name,
                Tier::Dev,
                "us-east-1",
                Provider::Sandbox,
                now,
            ));
        }
        m
    }

    #[test]
    fn dest_completes_to_destroy_first() {
        let m = model();
        let found = matches(&m, "dest");
        assert_eq!(found[0].text, "destroy");
        assert_eq!(found[1].text, "destroy demo");
        assert_eq!(found[0].keys, "d");
    }

    #[test]
    fn read_only_hides_what_changes_things() {
        let mut m = model();
        m.readonly = true;
        let texts: Vec<String> = candidates(&m).into_iter().map(|c| c.text).collect();
        for hidden in [
            "destroy",
            "new",
            "rollback",
            "update demo",
            "restart",
            "faults",
        ] {
            assert!(!texts.iter().any(|t| t == hidden), "{hidden} offered");
        }
        assert!(texts.iter().any(|t| t == "connect demo"));
    }

    #[test]
    fn every_offered_command_parses_to_what_it_says() {
        let m = model();
        for c in candidates(&m) {
            parse(&m, &c.text).unwrap_or_else(|e| panic!("{}: {e}", c.text));
        }
        assert_eq!(
            parse(&m, "destroy demo"),
            Ok(Command::Action(Action::Destroy, Some("demo".into())))
        );
        assert_eq!(
            parse(&m, "logs n8n"),
            Ok(Command::Action(
                Action::ShowService(Some(Service::N8n)),
                None
            ))
        );
        assert_eq!(
            parse(&m, "theme light"),
            Ok(Command::Theme(ColorTheme::Light))
        );
        assert_eq!(
            parse(&m, "region eu-west-1"),
            Ok(Command::Region("eu-west-1".into()))
        );
    }

    #[test]
    fn bad_commands_say_why() {
        let m = model();
        assert_eq!(
            parse(&m, "destroy nope"),
            Err("no stack named \"nope\"".into())
        );
        assert!(parse(&m, "explode").unwrap_err().contains("no command"));
        assert!(parse(&m, "theme pink").unwrap_err().contains("no theme"));
        assert!(
            parse(&m, "region mars-1")
                .unwrap_err()
                .contains("not a region")
        );
        assert!(
            parse(&m, "help me now")
                .unwrap_err()
                .contains("one argument")
        );
    }

    #[test]
    fn a_rebound_key_shows_in_the_palette() {
        let mut m = model();
        m.keymap = crate::app::keymap::custom::apply(br#"{"destroy": "D"}"#).0;
        assert_eq!(matches(&m, "destroy")[0].keys, "D");
    }

    #[test]
    fn scores_prefer_prefixes_and_runs() {
        assert!(score("dest", "destroy") > score("dest", "update demo stack"));
        assert!(score("con", "connect") > score("con", "secret connect"));
        assert_eq!(score("zz", "destroy"), None);
    }
}
