//! Who can reach a stack and the ways in: the exposure table (`x`), a
//! Session Manager shell (`S`), the `forward` command of a service (`f`),
//! copying a secret (`C`), and the offer to admit this machine's address
//! when a sweep finds n8n unreachable from here.

use crossterm::event::{KeyCode, KeyEvent};

use super::notify;
use crate::app::effect::Effect;
use crate::app::model::{
    CommandDialog, Model, NoticeLevel, Offer, Overlay, SECRET_NAMES, SecretPicker, UNREACHABLE,
};
use crate::cloud::Cidr;
use crate::cloud::session_manager::{
    CLI_DOCS, PLUGIN, PLUGIN_DOCS, local_url, shell_words, start_session,
};
use crate::domain::{DeploymentState, Provider, Service, StackStatus, exposure};
use crate::monitor::watch::SweepReport;

type Outcome = (Option<Overlay>, Vec<Effect>);

/// The selected stack (a copy), or a notice saying there is none.
pub(super) fn selected_or_say(model: &mut Model) -> Option<DeploymentState> {
    let state = model.selected_stack().cloned();
    if state.is_none() {
        notify(
            model,
            NoticeLevel::Warn,
            "no stack selected: deploy one with n",
        );
    }
    state
}

pub fn open_exposure(model: &mut Model) {
    let Some(state) = selected_or_say(model) else {
        return;
    };
    if state.status == StackStatus::Destroyed {
        let text = format!("{} is destroyed: nothing of it listens", state.stack_name);
        notify(model, NoticeLevel::Info, text);
        return;
    }
    model.overlay = Some(Overlay::Exposure {
        stack: state.stack_name,
        scroll: 0,
    });
}

/// `e`: the stack's operations with their stage timings, and what the
/// group and the deploys did to its instance; the audit log is read afresh.
pub fn open_events(model: &mut Model) -> Vec<Effect> {
    let Some(state) = selected_or_say(model) else {
        return Vec::new();
    };
    let stack = state.stack_name;
    model.overlay = Some(Overlay::Events {
        stack: stack.clone(),
        scroll: 0,
    });
    vec![Effect::ReadHistory { stack }]
}

/// `S`: the shell itself when the tools are here, else the command and how
/// to install what is missing.
pub fn open_shell(model: &mut Model) -> Vec<Effect> {
    let Some(state) = selected_or_say(model) else {
        return Vec::new();
    };
    let name = state.stack_name.clone();
    if state.provider == Provider::Sandbox {
        let text = format!(
            "{name} is a sandbox stack: it has no instance to log into (S opens a shell on an AWS stack)"
        );
        notify(model, NoticeLevel::Warn, text);
        return Vec::new();
    }
    let command = match start_session(&state, model.aws_profile.as_deref(), None) {
        Ok(command) => command,
        Err(why) => {
            notify(model, NoticeLevel::Warn, why);
            return Vec::new();
        }
    };
    if model.session_tools_missing.is_empty() {
        return vec![Effect::Shell {
            stack: name,
            command,
        }];
    }
    let instance = state.instance_id.as_deref().unwrap_or("the instance");
    let mut details = install_hints(&model.session_tools_missing);
    details.push("The dashboard looks for them when it starts.".into());
    details.push(format!(
        "`geusemaker-tui shell {name}` does the same from any terminal."
    ));
    model.overlay = Some(Overlay::Command(Box::new(CommandDialog {
        title: format!(" Shell on {name} "),
        intro: format!(
            "Session Manager opens a shell on {instance}: no SSH key, no open port. \
             S runs this here once its tools are installed:"
        ),
        command: shell_words(&command),
        details,
    })));
    Vec::new()
}

/// How to install each missing tool.
fn install_hints(missing: &[&'static str]) -> Vec<String> {
    missing
        .iter()
        .map(|tool| match *tool {
            "aws" => format!("aws is not on PATH: install the AWS CLI v2, {CLI_DOCS}"),
            PLUGIN => format!("{PLUGIN} is not on PATH: install it, {PLUGIN_DOCS}"),
            other => format!("{other} is not on PATH"),
        })
        .collect()
}

/// Which secret a forwarded service asks for, in a sentence.
fn credential(service: Service) -> String {
    let secret = match service {
        Service::Postgres => "the postgres-password secret (user n8n)",
        Service::Qdrant => "the qdrant-api-key secret, sent as header api-key",
        Service::Crawl4ai => "the crawl4ai-api-token secret",
        Service::N8n => "the owner's login, the n8n-owner-password secret",
        Service::Ollama => return "No credential: Ollama has no authentication.".into(),
    };
    format!("Credential: {secret} (C copies it).")
}

/// `f` on the Health pane: the `forward` command of the service under the
/// cursor, what it runs and where the service then answers.
pub fn open_forward(model: &mut Model) {
    let Some(state) = selected_or_say(model) else {
        return;
    };
    let service = model.health_service();
    let name = state.stack_name.clone();
    if state.instance_id.is_none() || state.status == StackStatus::Destroyed {
        let text = format!("{name} has no instance running: nothing to forward");
        notify(model, NoticeLevel::Warn, text);
        return;
    }
    let port = service.port();
    let (flag, intro, mut details) = if state.provider == Provider::Sandbox {
        (
            " --sandbox",
            format!(
                "Run this in another terminal: it serves the sandbox's {service} on this \
                 machine and says where, until Ctrl-C."
            ),
            Vec::new(),
        )
    } else {
        let argv = match start_session(&state, model.aws_profile.as_deref(), Some((port, port))) {
            Ok(argv) => argv,
            Err(why) => {
                notify(model, NoticeLevel::Warn, why);
                return;
            }
        };
        let mut details = vec![
            format!("It runs: {}", shell_words(&argv)),
            format!("{service} then answers at {}", local_url(service, port)),
        ];
        details.extend(install_hints(&model.session_tools_missing));
        (
            "",
            format!(
                "Run this in another terminal: it forwards {service}'s port {port} on the \
                 instance to this machine over Session Manager, until Ctrl-C."
            ),
            details,
        )
    };
    details.push(credential(service));
    model.overlay = Some(Overlay::Command(Box::new(CommandDialog {
        title: format!(" Forward {service} of {name} "),
        intro,
        command: format!("geusemaker-tui{flag} forward {name} {service}"),
        details,
    })));
}

pub fn open_secrets(model: &mut Model) {
    let Some(state) = selected_or_say(model) else {
        return;
    };
    if !model.manages(&state) {
        let text = format!(
            "{} is an {} stack; copy its secrets from the dashboard of its cloud",
            state.stack_name, state.provider
        );
        notify(model, NoticeLevel::Warn, text);
        return;
    }
    model.overlay = Some(Overlay::Secrets(SecretPicker {
        stack: state.stack_name,
        selected: 0,
    }));
}

pub fn command_key(dialog: Box<CommandDialog>, key: KeyEvent) -> Outcome {
    match key.code {
        KeyCode::Char('y') => (None, vec![Effect::CopyToClipboard(dialog.command)]),
        KeyCode::Esc | KeyCode::Char('q' | 'n') | KeyCode::Enter => (None, Vec::new()),
        _ => (Some(Overlay::Command(dialog)), Vec::new()),
    }
}

pub fn secrets_key(model: &mut Model, mut picker: SecretPicker, key: KeyEvent) -> Outcome {
    let last = SECRET_NAMES.len() - 1;
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') => return (None, Vec::new()),
        KeyCode::Char('j') | KeyCode::Down => picker.selected = (picker.selected + 1).min(last),
        KeyCode::Char('k') | KeyCode::Up => picker.selected = picker.selected.saturating_sub(1),
        KeyCode::Enter | KeyCode::Char('y') => {
            let name = SECRET_NAMES[picker.selected.min(last)];
            let text = format!("reading {name} of {}", picker.stack);
            notify(model, NoticeLevel::Info, text);
            let effect = Effect::CopySecret {
                stack: picker.stack,
                name,
            };
            return (None, vec![effect]);
        }
        _ => {}
    }
    (Some(Overlay::Secrets(picker)), Vec::new())
}

/// A sweep found n8n healthy inside but unreachable from here, naming an
/// address the stack does not allow: offer to add it (once per address).
pub fn offer_access(model: &mut Model, report: &SweepReport) {
    if report.verdict != "unreachable" || model.overlay.is_some() {
        return;
    }
    let Some(reason) = report.notes.iter().find(|n| n.starts_with(UNREACHABLE)) else {
        return;
    };
    let Some(cidr) = suggested_cidr(reason) else {
        return;
    };
    let Some(state) = model.stacks.iter().find(|s| s.stack_name == report.stack) else {
        return;
    };
    let name = &state.stack_name;
    let allowed = exposure::allowed_cidrs(state)
        .iter()
        .filter_map(|c| Cidr::parse(c).ok())
        .any(|c| c.contains(&cidr));
    let declined = model
        .access_declined
        .contains(&(name.clone(), cidr.to_string()));
    let busy = model.busy.contains_key(name) || model.access_pending.contains(name);
    if allowed
        || declined
        || busy
        || !model.manages(state)
        || crate::deploy::access::not_applicable(state).is_some()
    {
        return;
    }
    model.overlay = Some(Overlay::Offer(Offer::Access {
        stack: name.clone(),
        cidr,
        reason: reason.clone(),
    }));
}

/// The address the sentence suggests: "... `geusemaker-tui access demo
/// --add 203.0.113.7/32`". One address (a /32) only.
fn suggested_cidr(reason: &str) -> Option<Cidr> {
    let (_, rest) = reason.split_once("--add ")?;
    let text = rest.split(|c: char| c == '`' || c.is_whitespace()).next()?;
    let cidr = Cidr::parse(text).ok()?;
    cidr.as_str().ends_with("/32").then_some(cidr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suggested_address_is_read_from_the_sentence() {
        let reason = "unreachable from here: 203.0.113.7 is not among the allowed CIDRs \
                      (198.51.100.7/32); add it with `geusemaker-tui access demo --add 203.0.113.7/32`";
        assert_eq!(
            suggested_cidr(reason),
            Some(Cidr::parse("203.0.113.7/32").unwrap())
        );
        assert_eq!(suggested_cidr("unreachable from here: timed out"), None);
        assert_eq!(
            suggested_cidr("... --add 10.0.0.0/8`"),
            None,
            "one address only"
        );
    }
}
