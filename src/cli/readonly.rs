//! Read-only mode (`--readonly`, or `readonly: true` in the settings): the
//! commands that would change a stack, its access, its budget or the
//! settings are refused, exit 2, before anything is asked of the cloud.
//! Looking (status, logs, cost, history, connect, models, secrets,
//! forwards) and monitoring, which then only observes, still work.

use super::Failure;
use super::args::{AccessArgs, Command, ModelsArgs, ScanArgs, SettingsArgs, SettingsCommand};

/// `Err` naming what `command` would change, when it changes anything.
pub fn allowed(command: &Command) -> Result<(), Failure> {
    match changes(command) {
        None => Ok(()),
        Some(what) => Err(Failure::bad_input(format!(
            "read-only mode (--readonly, or readonly in the settings): this would {what}, so nothing was done. \
             Run it without --readonly, or `settings set readonly false` from a shell that is not read-only"
        ))),
    }
}

/// What `command` would change, if anything.
fn changes(command: &Command) -> Option<&'static str> {
    match command {
        Command::Deploy(a) if !a.plan => Some("deploy a stack"),
        Command::Update(a) if !a.plan => Some("update a stack"),
        Command::Destroy(_) => Some("destroy a stack"),
        Command::Rollback(_) => Some("replace a stack's instance"),
        Command::Restart(_) => Some("restart a container"),
        Command::Fault(_) => Some("inject a fault"),
        Command::Shell(_) => Some("open a shell that can change the instance"),
        Command::Models(ModelsArgs {
            action: Some(_), ..
        }) => Some("pull or remove a model"),
        Command::Access(AccessArgs {
            add, remove, set, ..
        }) if add.is_some() || remove.is_some() || set.is_some() => {
            Some("change who may reach n8n")
        }
        Command::Budget(b) if b.all == Some(None) && !b.clear => None,
        Command::Budget(_) => Some("change a budget"),
        Command::Scan(ScanArgs {
            action: Some(_), ..
        }) => Some("adopt, forget or delete a scanned resource"),
        Command::Settings(SettingsArgs {
            command: Some(SettingsCommand::Set { .. }),
        }) => Some("change the settings"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    fn verdict(args: &[&str]) -> Option<&'static str> {
        let cli =
            Cli::try_parse_from(std::iter::once("geusemaker-tui").chain(args.iter().copied()))
                .expect("parses");
        changes(&cli.command.expect("a command"))
    }

    #[test]
    fn every_change_is_refused_and_every_look_is_not() {
        for change in [
            &["deploy", "demo", "--yes"][..],
            &["update", "demo", "--instance-type", "t3.large"],
            &["destroy", "demo", "--force"],
            &["rollback", "demo"],
            &["restart", "demo", "n8n"],
            &["models", "demo", "pull", "llama3.2:3b"],
            &["access", "demo", "--add", "198.51.100.7/32"],
            &["budget", "demo", "20"],
            &["budget", "demo", "--clear"],
            &["settings", "set", "readonly", "false"],
            &["shell", "demo"],
            &["scan", "adopt", "sg-1", "--yes"],
            &["scan", "delete", "sg-1"],
            &["scan", "forget", "i-1"],
        ] {
            assert!(verdict(change).is_some(), "{change:?} was let through");
        }
        for look in [
            &["deploy", "demo", "--plan"][..],
            &["update", "demo", "--instance-type", "t3.large", "--plan"],
            &["status", "demo"],
            &["list"],
            &["logs", "demo"],
            &["cost", "demo"],
            &["history", "demo"],
            &["connect", "demo"],
            &["models", "demo"],
            &["access", "demo"],
            &["monitor", "demo"],
            &["settings", "get", "readonly"],
            &["completions", "bash"],
            &["scan", "--all-regions"],
        ] {
            assert_eq!(verdict(look), None, "{look:?} was refused");
        }
    }
}
